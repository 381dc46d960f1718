#!/usr/bin/env bash
# Failover (docs/proxy.md "Endpoint choice"), three agents on loopback:
#
#   px_peer send ─▶ n1 [upstream echo] ══mTLS══▶ n2 inbound ─▶ px_peer serve (echo@n2)
#                                        ╚═════▶ n3 inbound ─▶ px_peer serve (echo@n3)
#
# Every client call runs under `timeout`: a call that hangs fails the test.
# Claims:
#   A. kill -9 of the echo app on n2 (its agent lives on): within at most
#      60 calls the calls succeed again, 10 in a row, and then all of the
#      next 20; n1's /v1/proxy shows echo@n2 healthy = false (its health
#      check turned critical and the catalog carried it); n2 counted the
#      calls it could not hand to its dead app as connect failures; no call
#      hung.
#   B. the app is back and echo@n2 passing again; kill -9 of n2's agent:
#      every one of the next 20 calls succeeds — the dial to n2 fails and is
#      retried on n3 within the same client connection (n1 counts connect
#      failures and retries; outlier_failures = 1 makes the first failure
#      eject n2: ejections counted); afterwards echo@n2 is ejected or gone
#      from n1's endpoints (gossip saw n2 fail).
source "$(dirname "$0")/../lib.sh"

mesh_init
mesh_node n1 client
mesh_node n2 echo
mesh_node n3 echo
E2=$(free_port)
E3=$(free_port)
UE=$(free_port)
start_echo() { # PORT: sets ECHO_PID
    python3 "$PX_PEER" serve "$1" >>"$T/echo-$1.log" 2>&1 &
    ECHO_PID=$!
    PIDS+=("$ECHO_PID")
}
start_echo "$E2"
E2PID=$ECHO_PID
start_echo "$E3"
svc() { # PORT
    printf '%s\n' "[service echo]" "port = $1" "check = tcp" "check_interval = 1s" \
        "check_timeout = 500ms" "healthy_threshold = 1" "unhealthy_threshold = 1"
}
mesh_conf n1 "[upstream echo]" "listen = 127.0.0.1:$UE" "service = echo" "from = client" \
    "connect_timeout = 2s" "connect_retries = 2" "outlier_failures = 1"
mapfile -t C2 < <(printf '%s\n' "[proxy]" "inbound = 127.0.0.1:${MESH_IN[n2]}"; svc "$E2")
mapfile -t C3 < <(printf '%s\n' "[proxy]" "inbound = 127.0.0.1:${MESH_IN[n3]}"; svc "$E3")
mesh_conf n2 "${C2[@]}"
mesh_conf n3 "${C3[@]}"
for n in n1 n2 n3; do mesh_start "$n"; done
wait_for 300 0.1 mesh_healthy n1 echo n2 || die "echo@n2 not passing at n1"
wait_for 300 0.1 mesh_healthy n1 echo n3 || die "echo@n3 not passing at n1"

HUNG=0
# call: one small echo through n1 (20 s at most); CALL_RC is its exit code.
call() {
    CALL_RC=0
    timeout 20 python3 "$PX_PEER" send 127.0.0.1 "$UE" 2000 >"$T/call.json" 2>&1 || CALL_RC=$?
    [ "$CALL_RC" != 124 ] || HUNG=$((HUNG + 1))
    [ "$CALL_RC" = 0 ]
}
# calls N: N calls in a row, all successful.
calls() {
    local i
    for ((i = 0; i < $1; i++)); do call || return 1; done
}
calls 10 && pass "before: 10 calls through the mesh" || fail "before: a call failed: $(cat "$T/call.json")"
check "before: both instances got calls" bash -c 'test "$0" -gt 0 && test "$1" -gt 0' \
    "$(px_stat n2 in:echo opened)" "$(px_stat n3 in:echo opened)"

# ---- A. the app dies, its agent lives ----
kill -9 "$E2PID"
{ wait "$E2PID"; } 2>/dev/null || true
tries=0 ok_run=0 failed=0
while [ "$tries" -lt 60 ] && [ "$ok_run" -lt 10 ]; do
    tries=$((tries + 1))
    if call; then ok_run=$((ok_run + 1)); else ok_run=0 failed=$((failed + 1)); fi
done
[ "$ok_run" -ge 10 ] && pass "app killed: 10 calls in a row succeed again after $tries calls ($failed failed)" ||
    fail "app killed: no 10 successes in a row within 60 calls ($failed failed)"
calls 20 && pass "...and the next 20 calls all succeed" || fail "after the app's death a call failed: $(cat "$T/call.json")"
check "n1's /v1/proxy: echo@n2 healthy = false" px_stat_eq n1 ep:echo:echo@n2 healthy false
check "n1's /v1/proxy: echo@n3 healthy = true" px_stat_eq n1 ep:echo:echo@n3 healthy true
log "n2 in:echo connect_failures (calls that reached n2 after its app died): $(px_stat n2 in:echo connect_failures)"
if [ "$failed" -gt 0 ]; then
    check "the $failed failed calls: n2 counted connect failures to its local app" px_stat_ge n2 in:echo connect_failures 1
fi
check "no call hung" test "$HUNG" = 0

# ---- B. the agent dies ----
start_echo "$E2"
wait_for 300 0.1 mesh_healthy n1 echo n2 && pass "the app is back: echo@n2 passing again" ||
    die "echo@n2 not passing again"
# n1 refreshes its endpoints on a new connection: a call, then look.
sees_n2() {
    call || true
    px_stat_eq n1 ep:echo:echo@n2 healthy true
}
wait_for 50 0.1 sees_n2 || fail "n1 does not see echo@n2 healthy again"
F0=$(px_stat n1 up:echo connect_failures)
R0=$(px_stat n1 up:echo retries)
J0=$(px_stat n1 up:echo ejections)
kill -9 "${MESH_PID[n2]}"
{ wait "${MESH_PID[n2]}"; } 2>/dev/null || true
ok=0
for ((i = 0; i < 20; i++)); do call && ok=$((ok + 1)); done
check "n2's agent killed: all of the next 20 calls succeed ($ok)" test "$ok" = 20
check "...n1 counted connect failures ($F0 before, $(px_stat n1 up:echo connect_failures) after)" \
    px_stat_ge n1 up:echo connect_failures $((F0 + 1))
check "...and retried on the other instance ($R0 before, $(px_stat n1 up:echo retries) after)" \
    px_stat_ge n1 up:echo retries $((R0 + 1))
check "...and ejected echo@n2 (outlier_failures = 1) ($J0 before)" px_stat_ge n1 up:echo ejections $((J0 + 1))
check "n1's log: the ejection" grep -q "upstream echo: echo@n2 ejected" "$T/n1.log"
gone() {
    call >/dev/null || true
    case "$(px_stat n1 ep:echo:echo@n2 ejected)" in absent | true) return 0 ;; esac
    return 1
}
wait_for 100 0.1 gone && pass "n1: echo@n2 ejected or gone from the endpoints ($(px_stat n1 ep:echo:echo@n2 ejected))" ||
    fail "n1 still picks echo@n2"
check "no call hung" test "$HUNG" = 0
check "no agent logged a BUG or a sanitizer report" bash -c \
    '! grep -hE "BUG|AddressSanitizer|runtime error" "$0" "$1" "$2"' "$T/n1.log" "$T/n2.log" "$T/n3.log"
finish
