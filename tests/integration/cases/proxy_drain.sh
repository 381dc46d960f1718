#!/usr/bin/env bash
# Graceful drain (docs/proxy.md), three agents on loopback:
#
#   px_peer send ─▶ n1 [upstream line] ══▶ n2 inbound ─▶ px_peer serve (line: only on n2)
#   px_peer send ─▶ n1 [upstream echo] ══▶ n2 or n3 ─▶ px_peer serve (echo@n2, echo@n3)
#
# Run 1, [proxy] drain_timeout = 30s on n2 (long enough that the steps
# below finish well inside it; the claim does not depend on its length):
#   - a 4 MB echo through `line` is held half-way (px_peer send's gate) so
#     it is certainly open when n2 gets SIGTERM;
#   - n2's inbound then refuses new connections at once (connect refused);
#   - n1 stops choosing n2: once n2 is gone from n1's echo endpoints, 10
#     new calls all go to n3 with no connect failure at n1;
#   - n2 waits: still running while the transfer is held;
#   - released, the transfer finishes intact (checksums both ways), and n2
#     exits 0 after it, logging that every connection finished (it did not
#     run to its deadline);
#   - once n1's gossip has forgotten n2 (GossipToTheDeadTime) n1 still does
#     not dial it, though n2's records still say passing.
# Run 2, n2 restarted with drain_timeout = 3s and a connection that never
# finishes: n2 exits (0) on its own, logging "still open at the deadline".
# Run 3, n2 started again (drain_timeout = 30s), `weft leave` instead of
# SIGTERM, with a transfer held half-way: the same drain — the inbound
# refuses, n1 stops choosing n2, the transfer finishes intact, n2 exits 0
# logging that every connection finished.
source "$(dirname "$0")/../lib.sh"

mesh_init
mesh_node n1 client
mesh_node n2 line,echo
mesh_node n3 echo
LINE=$(free_port)
E2=$(free_port)
E3=$(free_port)
ULINE=$(free_port)
UECHO=$(free_port)
for p in "$LINE" "$E2" "$E3"; do
    python3 "$PX_PEER" serve "$p" >"$T/serve-$p.log" 2>&1 &
    PIDS+=("$!")
done
svc() { # NAME PORT
    printf '%s\n' "[service $1]" "port = $2" "check = tcp" "check_interval = 1s" \
        "check_timeout = 500ms" "healthy_threshold = 1"
}
conf_n2() { # DRAIN_TIMEOUT
    mapfile -t C2 < <(printf '%s\n' "[proxy]" "inbound = 127.0.0.1:${MESH_IN[n2]}" "drain_timeout = $1"
        svc line "$LINE"; svc echo "$E2")
    mesh_conf n2 "${C2[@]}"
}
mesh_conf n1 "[upstream line]" "listen = 127.0.0.1:$ULINE" "service = line" "from = client" \
    "[upstream echo]" "listen = 127.0.0.1:$UECHO" "service = echo" "from = client"
conf_n2 30s
mapfile -t C3 < <(printf '%s\n' "[proxy]" "inbound = 127.0.0.1:${MESH_IN[n3]}"; svc echo "$E3")
mesh_conf n3 "${C3[@]}"
for n in n1 n2 n3; do mesh_start "$n"; done
for s in line@n2 echo@n2 echo@n3; do
    wait_for 300 0.1 mesh_healthy n1 "${s%@*}" "${s#*@}" || die "$s not passing at n1"
done
call() { timeout 20 python3 "$PX_PEER" send 127.0.0.1 "$UECHO" 1000 >"$T/call.json" 2>&1; }
wait_for 50 0.1 call || die "no call through echo: $(cat "$T/call.json")"
wait_for 50 0.1 timeout 20 python3 "$PX_PEER" send 127.0.0.1 "$ULINE" 1000 >/dev/null ||
    die "no call through line"
# inbound_refuses PORT: a connect to 127.0.0.1:PORT is refused.
inbound_refuses() {
    python3 -c 'import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()
except ConnectionRefusedError:
    sys.exit(0)
sys.exit(1)' "$1"
}
# exited PID: the process is gone (reaped or a zombie we have not waited for).
exited() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# ---- run 1: a transfer in flight finishes, then n2 exits ----
python3 "$PX_PEER" send 127.0.0.1 "$ULINE" 4000000 "$T/gate" >"$T/long.json" 2>&1 &
LONG=$!
PIDS+=("$LONG")
wait_for 300 0.1 test -e "$T/gate.half" || die "the long transfer did not get half-way: $(cat "$T/long.json")"
check "n2 has the transfer open (in:line active 1)" px_stat_eq n2 in:line active 1
inbound_refuses "${MESH_IN[n2]}" && die "n2's inbound refuses before the SIGTERM"
N2=${MESH_PID[n2]}
kill -TERM "$N2"
wait_for 100 0.05 inbound_refuses "${MESH_IN[n2]}" && pass "SIGTERM: n2's inbound refuses new connections at once" ||
    fail "n2's inbound still accepts after SIGTERM"
n2_gone() {
    call || true
    case "$(px_stat n1 ep:echo:echo@n2 healthy)" in absent | false) return 0 ;; esac
    return 1
}
wait_for 100 0.1 n2_gone && pass "n1 no longer chooses echo@n2 ($(px_stat n1 ep:echo:echo@n2 healthy))" ||
    fail "n1 still has echo@n2 in rotation after n2's leave"
F0=$(px_stat n1 up:echo connect_failures)
O3=$(px_stat n3 in:echo opened)
ok=0
for ((i = 0; i < 10; i++)); do call && ok=$((ok + 1)); done
check "10 new calls all succeed ($ok)" test "$ok" = 10
check "...all 10 at n3 ($O3 before, $(px_stat n3 in:echo opened) after)" px_stat_eq n3 in:echo opened $((O3 + 10))
px_stat_eq n1 up:echo connect_failures "$F0" && pass "...without a connect failure at n1" ||
    fail "...without a connect failure at n1 ($F0 before, $(px_stat n1 up:echo connect_failures) after): $(grep -E "echo@n2|n2" "$T/n1.log" | tail -8)"
check "n2 still runs while the transfer is open" bash -c '! grep -q "^State:.*Z" /proc/$0/status && kill -0 $0' "$N2"
check "n2 logs the drain" grep -q "drain: listeners closed, 1 connection open" "$T/n2.log"
touch "$T/gate"
wait "$LONG" && pass "the transfer in flight finished intact: $(cat "$T/long.json")" ||
    fail "the transfer in flight: $(cat "$T/long.json")"
wait_for 300 0.1 exited "$N2" && pass "n2 exits after the last connection" || fail "n2 did not exit"
STOP_RC=0
exited "$N2" && { wait "$N2" || STOP_RC=$?; }
check "...with exit code 0 ($STOP_RC)" test "$STOP_RC" = 0
check "...logging that every connection finished (not the deadline)" grep -q "drain: every connection finished" "$T/n2.log"
check "...and not the deadline's line" bash -c '! grep -q "still open at the deadline" "$0"' "$T/n2.log"
# Gossip forgets a member that left after GossipToTheDeadTime (15 s with
# the local profile); its service records stay "passing" in the catalog.
# n1 must still not choose n2 then.
n2_forgotten() { ! "$WEFT" members --admin "$(mesh_sock n1)" 2>/dev/null | grep -q "^n2 "; }
wait_for 600 0.1 n2_forgotten && pass "n1's gossip forgot n2 (after GossipToTheDeadTime)" ||
    fail "n1 still lists n2 after 60 s"
F0=$(px_stat n1 up:echo connect_failures)
ok=0
for ((i = 0; i < 5; i++)); do call && ok=$((ok + 1)); done
check "...5 calls after that all succeed ($ok)" test "$ok" = 5
px_stat_eq n1 up:echo connect_failures "$F0" && pass "...and n1 does not dial the forgotten n2" ||
    fail "n1 dials n2 again once gossip forgot it ($F0 connect failures before, $(px_stat n1 up:echo connect_failures) after)"

# ---- run 2: a connection that never ends: n2 exits at its deadline ----
mv "$T/n2.log" "$T/n2-run1.log"
conf_n2 3s
mesh_start n2
N2=${MESH_PID[n2]}
wait_for 300 0.1 mesh_healthy n1 line n2 || die "line@n2 not passing again"
held_or_exited() { grep -q '"held"' "$T/held.json" || ! kill -0 "$HOLD"; }
held() {
    rm -f "$T/held.json"
    python3 "$PX_PEER" hold 127.0.0.1 "$ULINE" 1 "$T/release" >"$T/held.json" 2>&1 &
    HOLD=$!
    PIDS+=("$HOLD")
    wait_for 100 0.1 held_or_exited
    grep -q '"held": 1}' "$T/held.json" && return 0
    touch "$T/release"
    wait "$HOLD" || true
    rm -f "$T/release"
    return 1
}
# n1 may need a call or two to see n2 back: bounded tries.
wait_for 20 0.2 held || die "no connection held through line: $(cat "$T/held.json")"
check "n2 has the held connection open" px_stat_eq n2 in:line active 1
kill -TERM "$N2"
wait_for 600 0.1 exited "$N2" && pass "a connection that never ends: n2 exits on its own" ||
    fail "n2 did not exit after drain_timeout (3s)"
STOP_RC=0
exited "$N2" && { wait "$N2" || STOP_RC=$?; }
check "...with exit code 0 ($STOP_RC)" test "$STOP_RC" = 0
check "...logging the connection still open at the deadline" \
    grep -q "drain: 1 connection still open at the deadline" "$T/n2.log"
touch "$T/release"
wait "$HOLD" || true

# ---- run 3: weft leave drains the same way ----
mv "$T/n2.log" "$T/n2-run2.log"
rm -f "$T/gate" "$T/gate.half"
conf_n2 30s
mesh_start n2
N2=${MESH_PID[n2]}
wait_for 300 0.1 mesh_healthy n1 line n2 || die "line@n2 not passing again (run 3)"
# n1 may need a call or two to see n2 back: bounded tries.
long_started() {
    rm -f "$T/gate.half"
    python3 "$PX_PEER" send 127.0.0.1 "$ULINE" 4000000 "$T/gate" >"$T/long.json" 2>&1 &
    LONG=$!
    PIDS+=("$LONG")
    wait_for 300 0.1 half_or_exited
    [ -e "$T/gate.half" ] && return 0
    wait "$LONG" || true
    return 1
}
half_or_exited() { [ -e "$T/gate.half" ] || ! kill -0 "$LONG"; }
wait_for 20 0.2 long_started || die "run 3: no transfer through line: $(cat "$T/long.json")"
"$WEFT" leave --admin "$(mesh_sock n2)" >"$T/leave.txt" 2>&1 || fail "weft leave: $(cat "$T/leave.txt")"
wait_for 100 0.05 inbound_refuses "${MESH_IN[n2]}" && pass "weft leave: n2's inbound refuses new connections" ||
    fail "n2's inbound still accepts after weft leave"
wait_for 100 0.1 n2_gone && pass "weft leave: n1 no longer chooses echo@n2" || fail "n1 still chooses echo@n2 after the leave"
check "n2 still runs while the transfer is open" bash -c '! grep -q "^State:.*Z" /proc/$0/status && kill -0 $0' "$N2"
touch "$T/gate"
wait "$LONG" && pass "weft leave: the transfer in flight finished intact" ||
    fail "weft leave: the transfer in flight: $(cat "$T/long.json")"
wait_for 300 0.1 exited "$N2" && pass "weft leave: n2 exits after the last connection" || fail "n2 did not exit after weft leave"
STOP_RC=0
exited "$N2" && { wait "$N2" || STOP_RC=$?; }
check "...with exit code 0 ($STOP_RC)" test "$STOP_RC" = 0
check "...logging that every connection finished" grep -q "drain: every connection finished" "$T/n2.log"
check "no agent logged a BUG or a sanitizer report" bash -c \
    '! grep -hE "BUG|AddressSanitizer|runtime error" "$0" "$1" "$2" "$3" "$4"' \
    "$T/n1.log" "$T/n2-run1.log" "$T/n2-run2.log" "$T/n2.log" "$T/n3.log"
finish
