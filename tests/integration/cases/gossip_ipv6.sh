#!/usr/bin/env bash
# Gossip over IPv6 loopback, with a stock serf 0.9.4: two weft agents bind
# and advertise [::1]:PORT, a serf agent (-bind [::1]:PORT) joins them; all
# three list each other alive at ::1 with the right ports, in `weft members
# --json` and `serf members`. Then the NAT case: a weft agent bound to
# 0.0.0.0 advertising another address (127.0.0.2, also loopback on Linux)
# is seen by serf and weft at the advertised address, not the bound one.
# Exits 77 (skipped) when ::1 cannot be bound; 0 with a SKIP line when serf
# is not installed.
source "$(dirname "$0")/../lib.sh"

if ! python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
    echo "SKIP: ::1 is not available (no IPv6 loopback)"
    exit 77
fi
if ! command -v serf >/dev/null 2>&1; then
    echo "SKIP: the serf binary is not installed (tools/deps.sh installs it)"
    exit 0
fi

# serf_sees RPC NAME ADDR STATUS: `serf members` lists NAME at ADDR with STATUS.
serf_sees() {
    serf members -rpc-addr="127.0.0.1:$1" 2>/dev/null |
        awk -v n="$2" -v a="$3" -v s="$4" '$1 == n && $2 == a && $3 == s { f = 1 } END { exit !f }'
}
# weft_sees SOCKET NAME ADDR PORT STATUS: `weft members --json` has NAME at ADDR:PORT with STATUS.
weft_sees() {
    "$WEFT" members --admin "$1" --json 2>/dev/null | python3 -c 'import json,sys
n,a,p,s=sys.argv[1:]
ok=[m for m in json.load(sys.stdin)["members"]
    if m["name"]==n and m["addr"]==a and str(m["port"])==p and m["status"]==s]
sys.exit(0 if ok else 1)' "$2" "$3" "$4" "$5"
}

P1=$(free_port ::1); P2=$(free_port ::1); PS=$(free_port ::1); RS=$(free_port 127.0.0.1)
D1="$T/w1"; D2="$T/w2"
write_config "$T/w1.ini" w1 "$D1" "[gossip]" "enabled = true" "bind = [::1]:$P1" "profile = local"
write_config "$T/w2.ini" w2 "$D2" "[gossip]" "enabled = true" "bind = [::1]:$P2" \
    "join = [::1]:$P1" "profile = local"
start_agent "$T/w1.ini" "$T/w1.log"
W1=$AGENT_PID
wait_ready "$D1/admin.sock" || { cat "$T/w1.log"; die "w1 did not start"; }
start_agent "$T/w2.ini" "$T/w2.log"
wait_ready "$D2/admin.sock" || { cat "$T/w2.log"; die "w2 did not start"; }
check "w1 logs its IPv6 advertise address" grep -q "advertise \[::1\]:$P1" "$T/w1.log"
check "w1 sees w2 alive at [::1]:$P2" wait_for 100 0.1 weft_sees "$D1/admin.sock" w2 ::1 "$P2" alive
check "w2 sees w1 alive at [::1]:$P1" wait_for 100 0.1 weft_sees "$D2/admin.sock" w1 ::1 "$P1" alive

serf agent -node=s1 -bind="[::1]:$PS" -rpc-addr="127.0.0.1:$RS" -tag role=edge >"$T/s1.log" 2>&1 &
PIDS+=("$!")
wait_for 100 0.1 serf members -rpc-addr="127.0.0.1:$RS" >/dev/null || { cat "$T/s1.log"; die "serf did not start"; }
check "serf joins w1 over IPv6" serf join -rpc-addr="127.0.0.1:$RS" "[::1]:$P1"
check "serf sees w1 alive at [::1]:$P1" wait_for 100 0.1 serf_sees "$RS" w1 "[::1]:$P1" alive
check "serf sees w2 alive at [::1]:$P2 (through w1)" wait_for 100 0.1 serf_sees "$RS" w2 "[::1]:$P2" alive
check "serf sees itself at [::1]:$PS" serf_sees "$RS" s1 "[::1]:$PS" alive
check "w1 sees s1 alive at [::1]:$PS" wait_for 100 0.1 weft_sees "$D1/admin.sock" s1 ::1 "$PS" alive
check "w2 sees s1 alive at [::1]:$PS" wait_for 100 0.1 weft_sees "$D2/admin.sock" s1 ::1 "$PS" alive
check "w2 sees w1 still alive" weft_sees "$D2/admin.sock" w1 ::1 "$P1" alive
check "serf's members carry weft's tags" \
    bash -c 'serf members -rpc-addr="127.0.0.1:$0" | grep "^w2 " | grep -q role=weft' "$RS"

# --- NAT: bind 0.0.0.0, advertise another address: peers see the advertised one ---
P3=$(free_port 0.0.0.0); P4=$(free_port 127.0.0.1); R4=$(free_port 127.0.0.1)
serf agent -node=s2 -bind="127.0.0.1:$P4" -rpc-addr="127.0.0.1:$R4" >"$T/s2.log" 2>&1 &
PIDS+=("$!")
wait_for 100 0.1 serf members -rpc-addr="127.0.0.1:$R4" >/dev/null || { cat "$T/s2.log"; die "serf s2 did not start"; }
D3="$T/w3"
write_config "$T/w3.ini" w3 "$D3" "[gossip]" "enabled = true" "bind = 0.0.0.0:$P3" \
    "advertise = 127.0.0.2:$P3" "join = 127.0.0.1:$P4" "profile = local"
start_agent "$T/w3.ini" "$T/w3.log"
wait_ready "$D3/admin.sock" || { cat "$T/w3.log"; die "w3 did not start"; }
check "serf sees w3 alive at the advertised 127.0.0.2:$P3" \
    wait_for 100 0.1 serf_sees "$R4" w3 "127.0.0.2:$P3" alive
check "w3 lists itself at the advertised address" weft_sees "$D3/admin.sock" w3 127.0.0.2 "$P3" alive
check "w3 sees s2 alive" wait_for 100 0.1 weft_sees "$D3/admin.sock" s2 127.0.0.1 "$P4" alive
# serf reaches w3 at 127.0.0.2 (probes answered): it stays alive, never suspect/failed.
check "serf keeps w3 alive while probing the advertised address" \
    bash -c 'for i in $(seq 30); do serf members -rpc-addr="127.0.0.1:$0" | grep -q "^w3 .* alive" || exit 1; sleep 0.1; done' "$R4"

finish
