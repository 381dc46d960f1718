#!/usr/bin/env bash
# One agent from start to stop: status through every way of finding it, the
# admin socket's mode, one agent per data dir, SIGHUP reload (good and bad
# file), SIGTERM drains and exits 0.
source "$(dirname "$0")/../lib.sh"

D="$T/data"
# A free loopback port, from the kernel.
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
write_config "$T/a.ini" node-a "$D" "listen = 127.0.0.1:$PORT"

start_agent "$T/a.ini" "$T/a.log"
wait_ready "$D/admin.sock" || { cat "$T/a.log"; die "agent did not become ready"; }
pass "agent answers on its admin socket"

out=$("$WEFT" status --admin "$D/admin.sock")
check "status names the node" grep -q '^node: *node-a (id [0-9a-f-]\{36\})' <<<"$out"
check "status shows the store and its schema" grep -q "^store: *$D/weft.db (schema [0-9]" <<<"$out"
check "WEFT_ADMIN finds the agent" env WEFT_ADMIN="$D/admin.sock" "$WEFT" status
check "-c FILE finds the agent" "$WEFT" status -c "$T/a.ini"
check "the loopback TCP listener answers" "$WEFT" status --admin "127.0.0.1:$PORT"
check "curl (an independent client) gets the status JSON" \
    bash -c 'curl -sf --unix-socket "$0/admin.sock" http://weft/v1/status | grep -q "\"node\":\"node-a\""' "$D"
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$D/admin.sock" http://weft/v1/nothing)
check "unknown endpoint is 404" test "$code" = 404
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE --unix-socket "$D/admin.sock" http://weft/v1/status)
check "wrong method is 405" test "$code" = 405
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --unix-socket "$D/admin.sock" "http://weft/v1/debug/write?key=a")
check "debug endpoints are off by default" test "$code" = 404
check "admin socket mode is 0660" test "$(stat -c %a "$D/admin.sock")" = 660
check "data dir is private (0700)" test "$(stat -c %a "$D")" = 700
check "database file is private (0600)" test "$(stat -c %a "$D/weft.db")" = 600
id1=$("$WEFT" status --json --admin "$D/admin.sock" | json_get node_id)

# A second agent on the same data dir is refused, and the first is unharmed.
write_config "$T/b.ini" node-b "$D"
rc=0; "$WEFT" agent -c "$T/b.ini" >"$T/b.log" 2>&1 || rc=$?
check "second agent on the same data dir exits 1" test "$rc" -eq 1
check "and says the data dir is in use" grep -q "in use by another weft agent (pid $AGENT_PID)" "$T/b.log"
check "first agent still answers" "$WEFT" status --admin "$D/admin.sock"

# SIGHUP with a valid change: log level goes live.
write_config "$T/a.ini" node-a "$D" "listen = 127.0.0.1:$PORT" "" "[log]" "level = debug"
kill -HUP "$AGENT_PID"
wait_for 100 0.05 bash -c '"$0" status --json --admin "$1" | grep -q "\"reloads\":1"' "$WEFT" "$D/admin.sock" &&
    pass "SIGHUP reloads a valid file" || fail "SIGHUP reloads a valid file"
check "the new log level is live" \
    bash -c '"$0" status --json --admin "$1" | grep -q "\"level\":\"debug\""' "$WEFT" "$D/admin.sock"
check "the running config shows it" \
    bash -c '"$0" config show --running --admin "$1" | grep -Eq "^level *= *debug$"' "$WEFT" "$D/admin.sock"

# SIGHUP with a non-reloadable change: kept, and said so.
write_config "$T/a.ini" node-renamed "$D" "listen = 127.0.0.1:$PORT" "" "[log]" "level = debug"
kill -HUP "$AGENT_PID"
wait_for 100 0.05 grep -q "restart: node.name" "$T/a.log" &&
    pass "a non-reloadable change is reported as needing a restart" ||
    fail "a non-reloadable change is reported as needing a restart"
check "the node keeps its name until restart" \
    bash -c '"$0" status --json --admin "$1" | grep -q "\"node\":\"node-a\""' "$WEFT" "$D/admin.sock"

# SIGHUP with a broken file: refused, old config kept, reason given.
printf '[log]\nlevel = chatty\n' >"$T/a.ini"
kill -HUP "$AGENT_PID"
wait_for 100 0.05 bash -c '"$0" status --json --admin "$1" | grep -q "\"reload_failures\":1"' "$WEFT" "$D/admin.sock" &&
    pass "a bad file on SIGHUP is refused" || fail "a bad file on SIGHUP is refused"
check "the log says which line and key" grep -q "$T/a.ini:2: log.level: " "$T/a.log"
st=$("$WEFT" status --json --admin "$D/admin.sock")
check "the old config keeps running" grep -q '"level":"debug"' <<<"$st"
check "status shows the refused reload's error" grep -q 'a.ini:2: log.level' <<<"$st"

# SIGTERM: exit 0, socket removed.
stop_agent "$AGENT_PID"
check "SIGTERM exits 0" test "$STOP_RC" -eq 0
check "the admin socket is removed" test ! -e "$D/admin.sock"
check "the log says it stopped" grep -q "stopped" "$T/a.log"

# Restart: same node id, boot count 2.
write_config "$T/a.ini" node-a "$D"
start_agent "$T/a.ini" "$T/a2.log"
wait_ready "$D/admin.sock" || die "agent did not restart"
st=$("$WEFT" status --json --admin "$D/admin.sock")
check "the node id survives a restart" test "$(json_get node_id <<<"$st")" = "$id1"
check "boot count is 2" test "$(json_get boot_count <<<"$st")" = 2
kill -INT "$AGENT_PID"
rc=0; wait "$AGENT_PID" || rc=$?
check "SIGINT exits 0" test "$rc" -eq 0

finish
