#!/usr/bin/env bash
# systemd's notify protocol, with a stand-in service manager: a python
# listener on a unix datagram socket records what weft sends. READY=1 at
# start, WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 then READY=1 on
# SIGHUP, STOPPING=1 on SIGTERM. Also an abstract socket ("@name").
source "$(dirname "$0")/../lib.sh"

listen() { # listen SOCKPATH OUTFILE: record datagrams, one per line
    python3 -u - "$1" "$2" <<'PY' &
import socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + path[1:] if path.startswith("@") else path)
with open(out, "a") as f:
    f.write("LISTENING\n"); f.flush()
    while True:
        f.write(s.recv(4096).decode().replace("\n", " ") + "\n"); f.flush()
PY
    PIDS+=($!)
}

D="$T/data"
write_config "$T/a.ini" node-a "$D"
listen "$T/notify.sock" "$T/notify.txt"
wait_for 100 0.05 grep -q LISTENING "$T/notify.txt" || die "listener did not start"

# WATCHDOG_USEC=200ms: pings every 100 ms. WATCHDOG_PID is left unset.
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=200000 "$WEFT" agent -c "$T/a.ini" >"$T/a.log" 2>&1 &
AGENT_PID=$!
PIDS+=("$AGENT_PID")
wait_for 200 0.05 grep -q '^READY=1' "$T/notify.txt" && pass "READY=1 sent at start" ||
    fail "READY=1 sent at start"
check "the agent answers once READY=1 was sent" "$WEFT" status --admin "$D/admin.sock"
wait_for 200 0.05 count_ge "$T/notify.txt" "^WATCHDOG=1" 3 &&
    pass "WATCHDOG=1 sent repeatedly" || fail "WATCHDOG=1 sent repeatedly"
check "status reports the watchdog period (100 ms)" \
    bash -c '"$0" status --json --admin "$1" | grep -q "\"watchdog_ms\":100"' "$WEFT" "$D/admin.sock"

kill -HUP "$AGENT_PID"
wait_for 200 0.05 grep -q '^RELOADING=1 MONOTONIC_USEC=[0-9]' "$T/notify.txt" &&
    pass "RELOADING=1 with MONOTONIC_USEC on SIGHUP" || fail "RELOADING=1 with MONOTONIC_USEC on SIGHUP"
wait_for 200 0.05 count_ge "$T/notify.txt" "^READY=1" 2 &&
    pass "READY=1 again after the reload" || fail "READY=1 again after the reload"

stop_agent "$AGENT_PID"
check "exit 0 on SIGTERM" test "$STOP_RC" -eq 0
check "STOPPING=1 sent" grep -q '^STOPPING=1' "$T/notify.txt"
check "STOPPING=1 is the last message" test "$(tail -n 1 "$T/notify.txt")" = "STOPPING=1"

# WATCHDOG_PID naming another process: no watchdog pings from us.
: >"$T/notify.txt"
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=200000 WATCHDOG_PID=1 "$WEFT" agent -c "$T/a.ini" >"$T/b.log" 2>&1 &
AGENT_PID=$!
PIDS+=("$AGENT_PID")
wait_for 200 0.05 grep -q '^READY=1' "$T/notify.txt" || fail "READY=1 with foreign WATCHDOG_PID"
check "no watchdog when WATCHDOG_PID is another process" \
    bash -c '"$0" status --json --admin "$1" | grep -q "\"watchdog_ms\":0"' "$WEFT" "$D/admin.sock"
check "and no WATCHDOG=1 sent" bash -c '! grep -q WATCHDOG=1 "$0"' "$T/notify.txt"
stop_agent "$AGENT_PID"

# Abstract socket address.
listen "@weft-test-$$" "$T/abstract.txt"
wait_for 100 0.05 grep -q LISTENING "$T/abstract.txt" || die "abstract listener did not start"
NOTIFY_SOCKET="@weft-test-$$" "$WEFT" agent -c "$T/a.ini" >"$T/c.log" 2>&1 &
AGENT_PID=$!
PIDS+=("$AGENT_PID")
wait_for 200 0.05 grep -q '^READY=1' "$T/abstract.txt" && pass "READY=1 to an abstract socket" ||
    fail "READY=1 to an abstract socket"
stop_agent "$AGENT_PID"

# No NOTIFY_SOCKET: runs as usual.
env -u NOTIFY_SOCKET "$WEFT" agent -c "$T/a.ini" >"$T/d.log" 2>&1 &
AGENT_PID=$!
PIDS+=("$AGENT_PID")
check "runs without a service manager" wait_ready "$D/admin.sock"
stop_agent "$AGENT_PID"
check "and exits 0" test "$STOP_RC" -eq 0

finish
