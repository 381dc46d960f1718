#!/usr/bin/env bash
# memberlist's TCP fallback ping, weft -> a stock `serf agent` (0.9.4), in a
# network namespace of its own (wtp<pid>, loopback only, so fixed ports and
# iptables rules touch nothing else):
#   (a) weft and serf list each other alive; no TCP ping while UDP works;
#   (b) iptables drops every UDP datagram to serf's port: weft's probes of
#       serf get no UDP ack, so at ProbeTimeout weft also pings serf over TCP
#       (weft's only peer: no indirect probes); serf answers, weft counts the
#       acks (GET /v1/gossip swim.tcp_ping_acks / tcp_ping_saves) and keeps
#       serf alive, with no suspicion, over several probe rounds;
#   (c) the control: TCP to serf's port dropped too: now weft suspects serf
#       and lists it failed (the TCP answers were what kept it alive).
# Skipped (exit 77) when not root, without `ip netns`, iptables or serf.
source "$(dirname "$0")/../lib.sh"

if ! netns_usable; then
    echo "SKIP: needs root and a working \`ip netns\` (network namespaces)"
    exit 77
fi
if ! command -v iptables >/dev/null 2>&1 || ! command -v serf >/dev/null 2>&1; then
    echo "SKIP: needs \`iptables\` and \`serf\` (tools/deps.sh installs them)"
    exit 77
fi

netns_reap_stale wtp
NS="wtp$$"
NETNS_LIST+=("$NS")
trap 'cleanup; netns_cleanup' EXIT
trap 'exit 143' TERM INT HUP
ip netns add "$NS"
ip -n "$NS" link set lo up

D="$T/w"
S="$D/admin.sock"
gossip() { curl -s --max-time 5 --unix-socket "$S" http://x/v1/gossip; }
ctr() { gossip | json_get "swim.$1"; }
ctr_ge() { [ "$(ctr "$1")" -ge "$2" ]; }
serf_sees() {
    ip netns exec "$NS" serf members -rpc-addr=127.0.0.1:7373 2>/dev/null |
        awk -v n="$1" -v s="$2" '$1 == n && $3 == s { f = 1 } END { exit !f }'
}
weft_sees() {
    "$WEFT" members --admin "$S" 2>/dev/null |
        awk -v n="$1" -v s="$2" '$1 == n && $3 == s { f = 1 } END { exit !f }'
}
both_alive() { weft_sees s1 alive && serf_sees w1 alive; }

ip netns exec "$NS" serf agent -node=s1 -bind=127.0.0.1:7946 -rpc-addr=127.0.0.1:7373 \
    -log-level=debug >"$T/s1.log" 2>&1 &
PIDS+=("$!")
wait_for 100 0.1 ip netns exec "$NS" serf members -rpc-addr=127.0.0.1:7373 ||
    { cat "$T/s1.log"; die "serf agent did not start"; }
write_config "$T/w.ini" w1 "$D" "" "[gossip]" "enabled = true" "bind = 127.0.0.1:7947" \
    "join = 127.0.0.1:7946" "profile = lan"
ip netns exec "$NS" "$WEFT" agent -c "$T/w.ini" >"$T/w.log" 2>&1 &
PIDS+=("$!")
wait_ready "$S" || { cat "$T/w.log"; die "weft agent did not become ready"; }

# --- (a) ---
check "(a) weft and serf list each other alive" wait_for 100 0.1 both_alive
# Five LAN probe rounds with UDP working: no fallback needed.
P0=$(ctr acks)
wait_for 100 0.1 ctr_ge acks $((P0 + 5)) || true
check "(a) no TCP ping while UDP acks come" test "$(ctr tcp_pings)" -eq 0

# --- (b) UDP to serf dropped ---
ip netns exec "$NS" iptables -A OUTPUT -p udp --dport 7946 -j DROP
check "(b) weft pings serf over TCP" wait_for 150 0.1 ctr_ge tcp_pings 3
check "(b) serf answers weft's TCP pings" wait_for 150 0.1 ctr_ge tcp_ping_acks 3
check "(b) the TCP acks save the probes" wait_for 150 0.1 ctr_ge tcp_ping_saves 3
check "(b) weft never suspected serf" test "$(ctr suspects)" -eq 0
check "(b) weft lists serf alive" weft_sees s1 alive
log "(b) $(gossip | python3 -c 'import json,sys; s=json.load(sys.stdin)["swim"]; print({k: s[k] for k in ("probes","acks","tcp_pings","tcp_ping_acks","tcp_ping_saves","suspects")})')"
grep -q "Was able to connect to w1 but other probes failed" "$T/s1.log" &&
    log "(b) serf fell back to TCP pings to weft too, and weft answered"

# --- (c) the control: TCP dropped as well ---
ip netns exec "$NS" iptables -A OUTPUT -p tcp --dport 7946 -j DROP
check "(c) without TCP either, weft suspects serf" wait_for 200 0.1 ctr_ge suspects 1
check "(c) ... and lists it failed" wait_for 300 0.1 weft_sees s1 failed
finish
