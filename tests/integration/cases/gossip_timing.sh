#!/usr/bin/env bash
# [gossip] timing overrides and weft's own tags, against a stock serf 0.9.4.
#   - `weft config check` refuses a bad effective timing (probe_timeout at or
#     above the profile's probe_interval) and a reserved tag, naming
#     FILE:LINE and the key; the agent refuses to start with it.
#   - an agent with overrides shows the profile + overrides in GET
#     /v1/gossip "timing", and keeps a cluster with serf alive.
#   - weft's tags as serf sees them: ctl=<[control] listen port> and
#     id=<SPIFFE ID> on a node with an identity and a control listener;
#     neither on a node with neither.
source "$(dirname "$0")/../lib.sh"

if ! command -v serf >/dev/null 2>&1; then
    echo "SKIP: the serf binary is not installed (tools/deps.sh installs it)"
    exit 0
fi

# serf_tags RPC NAME: the tags column of NAME in `serf members`.
serf_tags() {
    serf members -rpc-addr="127.0.0.1:$1" 2>/dev/null | awk -v n="$2" '$1 == n { print $4 }'
}
serf_alive() {
    serf members -rpc-addr="127.0.0.1:$1" 2>/dev/null | awk -v n="$2" '$1 == n && $3 == "alive" { f = 1 } END { exit !f }'
}
# timing SOCKET KEY: a value of GET /v1/gossip "timing".
timing() { curl -fsS --unix-socket "$1" http://weft/v1/gossip | json_get "timing.$2"; }

# --- config check: the effective timing and the reserved tags ---
printf '[node]\nname = x\n[gossip]\nprofile = lan\n\nprobe_timeout = 2s\n' >"$T/bad.ini"
rc=0
"$WEFT" config check "$T/bad.ini" >"$T/check.out" 2>&1 || rc=$?
check "config check refuses probe_timeout >= the profile's probe_interval" test "$rc" -ne 0
check "... naming file:line and the key" \
    grep -q "bad.ini:6: gossip.probe_timeout: with profile lan: swim: probe timeout 2000 ms" "$T/check.out"
printf '[gossip]\nprofile = wan\nprobe_interval = 2s\n' >"$T/bad2.ini"
rc=0
"$WEFT" config check "$T/bad2.ini" >"$T/check2.out" 2>&1 || rc=$?
check "an interval below wan's 3s probe_timeout is refused at its line" \
    bash -c '[ "$0" -ne 0 ] && grep -q "bad2.ini:3: gossip.probe_interval:" "$1"' "$rc" "$T/check2.out"
printf '[gossip]\nprofile = wan\nprobe_interval = 4s\nprobe_timeout = 1s\n' >"$T/ok.ini"
check "an override set that fits passes" "$WEFT" config check "$T/ok.ini"
printf '[gossip]\ntags = zone=a,ctl=1\n' >"$T/bad3.ini"
rc=0
"$WEFT" config check "$T/bad3.ini" >"$T/check3.out" 2>&1 || rc=$?
check "a user tag named ctl is refused" \
    bash -c '[ "$0" -ne 0 ] && grep -q "bad3.ini:2: gossip.tags: tag .ctl. is weft.s own" "$1"' "$rc" "$T/check3.out"
write_config "$T/wbad.ini" wb "$T/wb" "[gossip]" "enabled = true" "probe_timeout = 5s"
rc=0
"$WEFT" agent -c "$T/wbad.ini" >"$T/wbad.log" 2>&1 || rc=$?
check "the agent refuses to start with it" \
    bash -c '[ "$0" -ne 0 ] && grep -q "gossip.probe_timeout" "$1"' "$rc" "$T/wbad.log"

# --- a cluster: serf s1, weft w1 (identity, control, overrides), weft w2 (neither) ---
"$WEFT" ca init --trust-domain example.org --out "$T/ca" >/dev/null
"$WEFT" ca issue --ca "$T/ca" --node w1 --out "$T/b1" >/dev/null
PS=$(free_port); RS=$(free_port); P1=$(free_port); PC=$(free_port); P2=$(free_port)
serf agent -node=s1 -bind="127.0.0.1:$PS" -rpc-addr="127.0.0.1:$RS" >"$T/s1.log" 2>&1 &
PIDS+=("$!")
wait_for 100 0.1 serf members -rpc-addr="127.0.0.1:$RS" >/dev/null || { cat "$T/s1.log"; die "serf did not start"; }

D1="$T/w1"
{
    printf '[node]\nname = w1\ndata_dir = %s\ntrust_domain = example.org\n' "$D1"
    printf '[admin]\nsocket = %s/admin.sock\n' "$D1"
    printf '[identity]\nbundle = %s\n[control]\nlisten = 127.0.0.1:%s\n' "$T/b1" "$PC"
    printf '[gossip]\nenabled = true\nbind = 127.0.0.1:%s\njoin = 127.0.0.1:%s\n' "$P1" "$PS"
    printf 'profile = lan\nprobe_interval = 1500ms\nprobe_timeout = 700ms\ngossip_nodes = 2\n'
    printf 'suspicion_mult = 5\ntags = zone=a\n'
} >"$T/w1.ini"
start_agent "$T/w1.ini" "$T/w1.log"
wait_ready "$D1/admin.sock" || { cat "$T/w1.log"; die "w1 did not start"; }
check "timing: the profile" test "$(timing "$D1/admin.sock" profile)" = lan
check "timing: probe_interval overridden (1500 ms)" test "$(timing "$D1/admin.sock" probe_interval_ms)" = 1500
check "timing: probe_timeout overridden (700 ms)" test "$(timing "$D1/admin.sock" probe_timeout_ms)" = 700
check "timing: gossip_nodes overridden (2)" test "$(timing "$D1/admin.sock" gossip_nodes)" = 2
check "timing: suspicion_mult overridden (5)" test "$(timing "$D1/admin.sock" suspicion_mult)" = 5
check "timing: gossip_interval is lan's (200 ms)" test "$(timing "$D1/admin.sock" gossip_interval_ms)" = 200
check "timing: indirect_checks is lan's (3)" test "$(timing "$D1/admin.sock" indirect_checks)" = 3
check "serf sees w1 alive" wait_for 100 0.1 serf_alive "$RS" w1
check "serf sees w1's ctl tag (the control port)" \
    bash -c 'serf members -rpc-addr="127.0.0.1:$0" | grep "^w1 " | grep -q "ctl=$1"' "$RS" "$PC"
check "serf sees w1's id tag (its SPIFFE ID)" \
    bash -c 'serf members -rpc-addr="127.0.0.1:$0" | grep "^w1 " | grep -q "id=spiffe://example.org/node/w1"' "$RS"
check "serf sees role=weft and the user tag too" \
    bash -c 'serf members -rpc-addr="127.0.0.1:$0" | grep "^w1 " | grep "role=weft" | grep -q "zone=a"' "$RS"
check "w1 lists its own ctl and id tags" \
    bash -c '"$0" members --admin "$1" --json | python3 -c "import json,sys
m=[m for m in json.load(sys.stdin)[\"members\"] if m[\"name\"]==\"w1\"][0][\"tags\"]
sys.exit(0 if m.get(\"ctl\")==sys.argv[1] and m.get(\"id\")==\"spiffe://example.org/node/w1\" else 1)" "$2"' \
    "$WEFT" "$D1/admin.sock" "$PC"

D2="$T/w2"
write_config "$T/w2.ini" w2 "$D2" "[gossip]" "enabled = true" "bind = 127.0.0.1:$P2" \
    "join = 127.0.0.1:$PS" "profile = local"
start_agent "$T/w2.ini" "$T/w2.log"
wait_ready "$D2/admin.sock" || { cat "$T/w2.log"; die "w2 did not start"; }
check "serf sees w2 alive" wait_for 100 0.1 serf_alive "$RS" w2
check "w2 (no identity, no control) has role=weft but neither ctl nor id" \
    bash -c 't=$(serf members -rpc-addr="127.0.0.1:$0" | awk "\$1 == \"w2\" { print \$4 }"); case "$t" in *role=weft*) ;; *) exit 1;; esac; case ",$t" in *,ctl=*|*,id=*) exit 1;; esac' "$RS"
check "timing: w2 shows local's numbers" test "$(timing "$D2/admin.sock" probe_timeout_ms)" = 200
check "w1 (overrides) sees w2 and s1 alive" \
    wait_for 100 0.1 bash -c '[ "$("$0" members --admin "$1" --status alive | tail -n +2 | wc -l)" -eq 3 ]' "$WEFT" "$D1/admin.sock"

finish
