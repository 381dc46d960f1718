#!/usr/bin/env bash
# The proxy out of file descriptors (docs/proxy.md "Relay"): one agent with
# an egress upstream to a px_peer echo server, started with `ulimit -n 64`.
#
#   px_peer hold (120 connections) ─▶ weft [upstream eg] ─▶ px_peer serve (echo)
#
# Claims:
#   - when accept() fails for want of descriptors, or the connection just
#     accepted cannot get a socket for its other side (which of the two runs
#     out first depends on how many descriptors are open at start), the
#     listener pauses instead of spinning: over the whole hold the agent logs
#     "Too many open files" at most a few times per pause (bounded here at
#     200 lines; without the pause it was ~150,000 lines a second);
#   - the admin listeners (unix socket and TCP port) pause the same way when
#     a client knocks while descriptors are out: libevent's own "Error from
#     accept() call" (its log line for an unguarded listener, once per spin)
#     never appears;
#   - the agent stays up while out of descriptors, and its admin API
#     answers once they are free again;
#   - the connections it did take are relayed (they echo);
#   - once the held connections close, a new connection is relayed again
#     (the listener resumed by itself);
#   - connections that carried a message or two hold no splice pipes: with
#     64 descriptors the agent holds more than 10 at once (two pipes each,
#     four descriptors, would have allowed fewer than 10).
source "$(dirname "$0")/../lib.sh"

ECHO=$(free_port)
UP=$(free_port)
ADM=$(free_port)
python3 "$PX_PEER" serve "$ECHO" >"$T/echo.log" 2>&1 &
PIDS+=("$!")
write_config "$T/a.ini" a "$T/d-a" "listen = 127.0.0.1:$ADM" "[upstream eg]" "listen = 127.0.0.1:$UP" \
    "address = 127.0.0.1:$ECHO" "max_connections = 1000" "max_pending = 1000"
(
    ulimit -n 64
    exec "$WEFT" agent -c "$T/a.ini"
) >"$T/a.log" 2>&1 &
AGENT_PID=$!
PIDS+=("$AGENT_PID")
wait_ready "$T/d-a/admin.sock" || die "agent did not start: $(tail -20 "$T/a.log")"
wait_for 100 0.1 python3 "$PX_PEER" probe 127.0.0.1 "$UP" >/dev/null ||
    die "the echo upstream does not answer"

python3 "$PX_PEER" hold 127.0.0.1 "$UP" 120 "$T/stop" 2 >"$T/hold.json" 2>"$T/hold.err" &
HOLD=$!
PIDS+=("$HOLD")
wait_for 200 0.1 test -s "$T/hold.json" || die "hold did not report: $(cat "$T/hold.err")"
held=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["held"])' "$T/hold.json")
log "held: $held of 120 echoed through the agent"
# Keep the overload for a while (the pause is 250 ms: several rounds), and
# knock on both admin listeners meanwhile: each connection waits in the
# kernel's queue while accept() fails for want of a descriptor.
python3 - "$T/d-a/admin.sock" "$ADM" <<'PY' &
import socket, sys, time
u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
u.connect(sys.argv[1])
t = socket.create_connection(("127.0.0.1", int(sys.argv[2])), 5)
time.sleep(1.5)
u.close()
t.close()
PY
KNOCK=$!
PIDS+=("$KNOCK")
for _ in $(seq 1 20); do
    kill -0 "$AGENT_PID" || break
    sleep 0.1
done
wait "$KNOCK" || fail "could not connect to the admin listeners"
check "the agent is alive while out of descriptors" kill -0 "$AGENT_PID"
[ "$held" -gt 10 ] && pass "more than 10 connections held with 64 descriptors ($held)" ||
    fail "only $held connections held with 64 descriptors"
[ "$held" -lt 120 ] && pass "the descriptor limit was reached ($held < 120)" ||
    fail "all 120 held: the limit was never reached, nothing was tested"
floods=$(grep -c "Too many open files" "$T/a.log" || true)
[ "$floods" -le 200 ] && pass "accept failures logged $floods times (bounded: the listener pauses)" ||
    fail "accept failures logged $floods times: the listener spins"
for l in "admin socket $T/d-a/admin.sock" "admin listen 127.0.0.1:$ADM"; do
    grep -qF "$l: accept: Too many open files: pausing this listener" "$T/a.log" &&
        pass "$l paused out of descriptors" ||
        fail "$l did not pause: $(grep -i "admin\\|accept" "$T/a.log" | tail -3)"
done
spins=$(grep -c "Error from accept() call" "$T/a.log" || true)
[ "$spins" -eq 0 ] && pass "no unguarded accept() failure from libevent" ||
    fail "libevent logged $spins unguarded accept() failures: a listener spins"
grep -q "pausing this listener" "$T/a.log" && pass "the pause is logged" ||
    fail "no 'pausing this listener' line: $(grep -i "accept\\|too many" "$T/a.log" | tail -3)"

touch "$T/stop"
wait_for 300 0.1 sh -c "! kill -0 $HOLD 2>/dev/null" || fail "hold did not stop"
wait_for 100 0.1 python3 "$PX_PEER" probe 127.0.0.1 "$UP" >"$T/probe.json" &&
    pass "after the overload a new connection is relayed again" ||
    fail "no connection relayed after the overload: $(cat "$T/probe.json")"
"$WEFT" status --admin "$T/d-a/admin.sock" >/dev/null && pass "the admin API answers" ||
    fail "the admin API does not answer"
finish
