#!/usr/bin/env bash
# Joins retried while alone (docs/gossip.md "Joining"): gateways booting
# together after a power cut start in any order.
#
#   a: [gossip] join = b's port, started while nothing listens there
#   b: started after a has retried at least once (no join of its own)
#   c: [gossip] join = a stock `serf agent`'s port, started before serf
#
# Claims: a's first join fails and a says it is retrying; once b is up, a
# and b see each other alive without anything else done, and a logs that it
# joined after its retries; a stock serf agent started after c sees c alive
# (c's retried push/pull is memberlist's own join).
source "$(dirname "$0")/../lib.sh"

members_alive() { # SOCKET NAME: `weft members` shows NAME alive
    "$WEFT" members --admin "$1" 2>/dev/null | awk -v n="$2" '$1 == n && $3 == "alive" { f = 1 } END { exit !f }'
}

PA=$(free_port)
PB=$(free_port)
write_config "$T/a.ini" a "$T/d-a" "[gossip]" "enabled = true" "bind = 127.0.0.1:$PA" \
    "join = 127.0.0.1:$PB" "profile = local"
write_config "$T/b.ini" b "$T/d-b" "[gossip]" "enabled = true" "bind = 127.0.0.1:$PB" \
    "profile = local"
start_agent "$T/a.ini" "$T/a.log"
A_PID=$AGENT_PID
wait_ready "$T/d-a/admin.sock" || die "a did not start: $(tail -5 "$T/a.log")"
wait_for 100 0.1 count_ge "$T/a.log" "no other live member: joining 1 address again (retry 1)" 1 &&
    pass "a's seed is not up: a retries its join" || fail "a did not retry: $(tail -5 "$T/a.log")"
check "a is alone meanwhile" bash -c '! "$0" members --admin "$1" | grep -q "^b "' "$WEFT" "$T/d-a/admin.sock"

start_agent "$T/b.ini" "$T/b.log"
wait_ready "$T/d-b/admin.sock" || die "b did not start: $(tail -5 "$T/b.log")"
wait_for 300 0.1 members_alive "$T/d-b/admin.sock" a &&
    pass "b, started later and joining no one, sees a alive" || fail "b does not see a"
check "a sees b alive" wait_for 100 0.1 members_alive "$T/d-a/admin.sock" b
wait_for 400 0.1 count_ge "$T/a.log" "gossip: joined after [0-9]* retr" 1 &&
    pass "a logs that it joined after its retries" || fail "no 'joined after' line: $(tail -5 "$T/a.log")"

# ---- against a stock serf agent that starts after us ----
if command -v serf >/dev/null 2>&1; then
    PS=$(free_port)
    RS=$(free_port)
    PC=$(free_port)
    write_config "$T/c.ini" c "$T/d-c" "[gossip]" "enabled = true" "bind = 127.0.0.1:$PC" \
        "join = 127.0.0.1:$PS" "profile = local"
    start_agent "$T/c.ini" "$T/c.log"
    wait_ready "$T/d-c/admin.sock" || die "c did not start: $(tail -5 "$T/c.log")"
    wait_for 100 0.1 count_ge "$T/c.log" "no other live member: joining 1 address again" 1 ||
        fail "c did not retry"
    serf agent -node=s1 -bind="127.0.0.1:$PS" -rpc-addr="127.0.0.1:$RS" >"$T/s1.log" 2>&1 &
    PIDS+=("$!")
    wait_for 300 0.1 bash -c 'serf members -rpc-addr="127.0.0.1:$0" 2>/dev/null | grep -q "^c .* alive"' "$RS" &&
        pass "a stock serf agent started after c sees c alive" ||
        fail "serf does not see c: $(serf members -rpc-addr="127.0.0.1:$RS" 2>&1)"
    check "c sees serf alive" wait_for 100 0.1 members_alive "$T/d-c/admin.sock" s1
else
    log "serf is not installed: the stock-serf part is skipped"
fi
kill -0 "$A_PID" && pass "a is still running" || fail "a died"
finish
