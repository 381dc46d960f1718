#!/usr/bin/env bash
# `weft agent` with no -c runs on the embedded default: node named after the
# host, data in ./weft-data, admin socket in the data dir; `weft status` with
# no flags finds it there.
source "$(dirname "$0")/../lib.sh"

mkdir -p "$T/cwd"
cd "$T/cwd"
unset WEFT_ADMIN
"$WEFT" agent >"$T/a.log" 2>&1 &
AGENT_PID=$!
PIDS+=("$AGENT_PID")
wait_for 200 0.05 test -S "$T/cwd/weft-data/admin.sock" || { cat "$T/a.log"; die "no ./weft-data/admin.sock"; }
pass "the default agent serves ./weft-data/admin.sock"
check "weft status with no flags finds the default agent" "$WEFT" status
st=$("$WEFT" status --json)
check "the node is named after the host" test "$(json_get node <<<"$st")" = "$(hostname)"
check "the config source is the embedded default" test "$(json_get config.source <<<"$st")" = "<default>"
check "the data dir is ./weft-data" test "$(json_get data_dir <<<"$st")" = "./weft-data"
check "the store is in ./weft-data" test -f "$T/cwd/weft-data/weft.db"
check "config show --running matches config show of the default" \
    diff <("$WEFT" config show --running | grep -v '^;\|^#') <("$WEFT" config show | grep -v '^;\|^#')
# SIGHUP on the default re-reads the default: nothing changes, nothing fails.
kill -HUP "$AGENT_PID"
wait_for 100 0.05 bash -c '"$0" status --json | grep -q "\"reloads\":1"' "$WEFT" &&
    pass "SIGHUP on the default config reloads it" || fail "SIGHUP on the default config reloads it"
stop_agent "$AGENT_PID"
check "SIGTERM exits 0" test "$STOP_RC" -eq 0

finish
