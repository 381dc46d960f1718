#!/usr/bin/env bash
# [service NAME] sections with the real binary: `weft config check` reports
# every error as FILE:LINE: [service NAME] key: message and exits 1; `config
# show` prints the services; a running agent reloads them on SIGHUP (added,
# removed, changed keys are reported, none needs a restart) and refuses a
# file with a bad service, keeping the old config.
source "$(dirname "$0")/../lib.sh"

D="$T/data"

# ---- weft config check / show -------------------------------------------
cat >"$T/bad.ini" <<'INI'
[service web]
port = 0
protocol = udp

[service db]
address = localhost

[service web]
port = 80
INI
rc=0
"$WEFT" config check "$T/bad.ini" >"$T/check.out" 2>&1 || rc=$?
check "config check exits 1 on bad services" test "$rc" -eq 1
check "a value error names file, line, section and key" \
    grep -qF "$T/bad.ini:2: [service web] port: '0' is out of range (1..65535)" "$T/check.out"
check "every error is reported" \
    grep -qF "$T/bad.ini:3: [service web] protocol: 'udp' is not one of: tcp, http" "$T/check.out"
check "a missing port is reported on the header's line" \
    grep -qF "$T/bad.ini:5: [service db] port: missing (required)" "$T/check.out"
check "host names are refused" \
    grep -qF "$T/bad.ini:6: [service db] address: 'localhost' is not an IP address" "$T/check.out"
check "a repeated service is refused" \
    grep -qF "$T/bad.ini:8: [service web]: duplicate section (first at line 1)" "$T/check.out"

write_config "$T/a.ini" node-a "$D" "" "[service web]" "port = 8080" "check = http"
check "config check accepts a good file" "$WEFT" config check "$T/a.ini"
"$WEFT" config show "$T/a.ini" >"$T/show.out"
check "config show prints the service" grep -qx '\[service web\]' "$T/show.out"
check "with its computed check_path" grep -qx 'check_path = /' "$T/show.out"
check "and its defaults" grep -qx 'check_interval = 10s' "$T/show.out"

# ---- a running agent ----------------------------------------------------
start_agent "$T/a.ini" "$T/a.log"
wait_ready "$D/admin.sock" || { cat "$T/a.log"; die "agent did not become ready"; }
check "the running config shows the service" \
    bash -c '"$0" config show --running --admin "$1" | grep -qx "\[service web\]"' "$WEFT" "$D/admin.sock"

# SIGHUP: web's port changes, db is added.
write_config "$T/a.ini" node-a "$D" "" "[service web]" "port = 8081" "check = http" \
    "[service db]" "port = 5432"
kill -HUP "$AGENT_PID"
wait_for 100 0.05 bash -c '"$0" status --json --admin "$1" | grep -q "\"reloads\":1"' "$WEFT" "$D/admin.sock" &&
    pass "SIGHUP reloads the services" || fail "SIGHUP reloads the services"
check "the reload names the changed key and the new service" \
    grep -qF "changed: [service web] port, [service db] (added)" "$T/a.log"
check "services need no restart" bash -c '! grep -q "restart: .*service" "$0"' "$T/a.log"
check "the running config has the new service" \
    bash -c '"$0" config show --running --admin "$1" | grep -qx "\[service db\]"' "$WEFT" "$D/admin.sock"
check "and the new port" \
    bash -c '"$0" config show --running --admin "$1" | grep -qx "port = 8081"' "$WEFT" "$D/admin.sock"

# SIGHUP: db is removed.
write_config "$T/a.ini" node-a "$D" "" "[service web]" "port = 8081" "check = http"
kill -HUP "$AGENT_PID"
wait_for 100 0.05 grep -qF "changed: [service db] (removed)" "$T/a.log" &&
    pass "a removed service is reported" || fail "a removed service is reported"

# SIGHUP with a bad service: refused, the running services stay.
write_config "$T/a.ini" node-a "$D" "" "[service web]" "port = 8081" "check = http" \
    "check_interval = 1s"
kill -HUP "$AGENT_PID"
wait_for 100 0.05 bash -c '"$0" status --json --admin "$1" | grep -q "\"reload_failures\":1"' "$WEFT" "$D/admin.sock" &&
    pass "a bad service on SIGHUP is refused" || fail "a bad service on SIGHUP is refused"
check "the log says which line and key" \
    grep -qF "$T/a.ini:11: [service web] check_interval: check_timeout (2s) must be less than check_interval (1s)" "$T/a.log"
check "the old services keep running" \
    bash -c '"$0" config show --running --admin "$1" | grep -qx "check_interval = 10s"' "$WEFT" "$D/admin.sock"

stop_agent "$AGENT_PID"
check "SIGTERM exits 0" test "$STOP_RC" -eq 0
finish
