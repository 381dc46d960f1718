#!/usr/bin/env bash
# Serf's reconnect loop against a stock `serf agent` (serf 0.9.4) on
# loopback, without any `weft join` after the first one:
#   (a) serf frozen (SIGSTOP) until weft lists it failed: weft's reconnect
#       loop (reconnect_interval = 1s) push/pulls to the failed member — its
#       `reconnects` counter (GET /v1/gossip) grows and the log names s1 —
#       and after SIGCONT both list each other alive again;
#   (b) weft frozen until serf lists it failed, then SIGCONT: both alive again;
# and `weft query --timeout 12s` gets its reply (the CLI waits for the
# query's deadline plus a margin, no longer a fixed 10 s).
# serf's own reconnect loop is pushed out of the test (reconnect_interval =
# 1h in its config file: its log must never show "attempting reconnect"), so
# any reconnect seen is weft's. (Buffered datagrams may also carry the heal
# here, since SIGSTOP drops nothing; gossip_netns.sh is the case where only
# the loop can heal: a partition with iptables DROP.) Skipped when `serf` is
# absent.
source "$(dirname "$0")/../lib.sh"

if ! command -v serf >/dev/null 2>&1; then
    echo "SKIP: the serf binary is not installed (tools/deps.sh installs it)"
    exit 0
fi

# serf_sees NAME STATUS: `serf members` lists NAME with STATUS.
serf_sees() {
    serf members -rpc-addr="127.0.0.1:$R1" 2>/dev/null |
        awk -v n="$1" -v s="$2" '$1 == n && $3 == s { f = 1 } END { exit !f }'
}
# weft_sees NAME STATUS: `weft members` lists NAME with STATUS.
weft_sees() {
    "$WEFT" members --admin "$S" 2>/dev/null |
        awk -v n="$1" -v s="$2" '$1 == n && $3 == s { f = 1 } END { exit !f }'
}
# reconnects: weft's reconnect counter (GET /v1/gossip serf.reconnects).
reconnects() { curl -s --max-time 5 --unix-socket "$S" http://x/v1/gossip | json_get serf.reconnects; }
# reconnects_ge N: the counter is at least N.
reconnects_ge() { [ "$(reconnects)" -ge "$1" ]; }
both_alive() { weft_sees s1 alive && serf_sees w1 alive; }

P1=$(free_port)
R1=$(free_port)
P2=$(free_port)
D="$T/w"
S="$D/admin.sock"
printf '{"reconnect_interval": "1h"}\n' >"$T/serf.json"
serf agent -node=s1 -bind="127.0.0.1:$P1" -rpc-addr="127.0.0.1:$R1" -profile=local \
    -config-file="$T/serf.json" -log-level=debug >"$T/s1.log" 2>&1 &
SERF_PID=$!
PIDS+=("$SERF_PID")
wait_for 100 0.1 serf members -rpc-addr="127.0.0.1:$R1" >/dev/null ||
    { cat "$T/s1.log"; die "serf agent did not start"; }
write_config "$T/w.ini" w1 "$D" "" "[gossip]" "enabled = true" "bind = 127.0.0.1:$P2" \
    "join = 127.0.0.1:$P1" "profile = local" "reconnect_interval = 1s"
start_agent "$T/w.ini" "$T/w.log"
W_PID=$AGENT_PID
wait_ready "$S" || { cat "$T/w.log"; die "weft agent did not become ready"; }
check "joined: both list each other alive" wait_for 100 0.1 both_alive
R0=$(reconnects)
check "no reconnect while nobody is failed" test "$R0" -eq 0

# --- (a) serf frozen: weft's loop reconnects to the failed member ---
kill -STOP "$SERF_PID"
check "(a) weft lists the frozen serf failed" wait_for 300 0.1 weft_sees s1 failed
# p = failed/alive = 1/1: one push/pull per interval (1 s); wait for two.
check "(a) weft's reconnects counter grows while s1 is failed" wait_for 100 0.1 reconnects_ge 2
check "(a) weft logs its reconnect to s1" grep -q "attempting reconnect to failed member s1" "$T/w.log"
kill -CONT "$SERF_PID"
check "(a) after SIGCONT both list each other alive, no join" wait_for 300 0.1 both_alive
RA=$(reconnects)
log "reconnects after (a): $RA"

# --- (b) weft frozen: serf marks it failed, then both merge again ---
kill -STOP "$W_PID"
check "(b) serf lists the frozen weft failed" wait_for 300 0.1 serf_sees w1 failed
kill -CONT "$W_PID"
check "(b) after SIGCONT both list each other alive, no join" wait_for 300 0.1 both_alive

# --- the CLI waits for a query as long as its --timeout (once capped at 8 s) ---
Q0=$SECONDS
"$WEFT" query --admin "$S" --timeout 12s --json long-one >"$T/q.json" 2>"$T/q.err" || true
log "weft query --timeout 12s returned after $((SECONDS - Q0)) s: $(cat "$T/q.err")"
check "weft query --timeout 12s waits past the old 10 s client limit and gets serf's ack" \
    python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); sys.exit(0 if "s1" in v["acks"] and v["timeout_ms"]==12000 else 1)' "$T/q.json"
check "weft query --timeout above the agent's 60 s is a usage error" \
    bash -c '"$0" query --admin "$1" --timeout 61s x 2>/dev/null; [ $? -eq 2 ]' "$WEFT" "$S"

check "serf's own reconnect loop never ran (the reconnects were weft's)" \
    bash -c '! grep -q "attempting reconnect" "$0"' "$T/s1.log"
check "the weft agent is still running" kill -0 "$W_PID"
finish
