#!/usr/bin/env bash
# The service catalog (docs/mesh.md "The service catalog"): three agents on
# loopback, gossiping, with control listeners. n2 runs an HTTP service
# (python3 -m http.server) declared in its config with an http check; n3
# registers a TCP service at run time (`weft service add`).
#
# Claims: every node lists both, with node, address, port, protocol and
# identity; both turn passing; when the HTTP server is killed every node
# shows it critical, and passing again once it is back; a run-time
# registration survives its node's restart, and while its node is stopped
# the others show node_status failed next to the record's last health;
# `weft service remove` withdraws
# it everywhere; a configured service cannot be removed at run time.
source "$(dirname "$0")/../lib.sh"

sock() { echo "$T/d-$1/admin.sock"; }
svc_field() {
    "$WEFT" services --json --admin "$(sock "$1")" >"$T/svcs-$1.json" 2>/dev/null &&
        python3 -c 'import json,sys
v=json.load(open(sys.argv[1]))
m=[s for s in v["services"] if s["service"]==sys.argv[2] and s["node"]==sys.argv[3]]
print(m[0][sys.argv[4]] if m else "absent")' "$T/svcs-$1.json" "$2" "$3" "$4"
}
everywhere() { # SERVICE NODE FIELD VALUE
    local n
    for n in n1 n2 n3; do [ "$(svc_field "$n" "$1" "$2" "$3")" = "$4" ] || return 1; done
}

"$WEFT" ca init --trust-domain example.org --out "$T/ca" >/dev/null
declare -A GP CP PID
for n in n1 n2 n3; do
    GP[$n]=$(free_port)
    CP[$n]=$(free_port)
    "$WEFT" ca issue --ca "$T/ca" --node "$n" --out "$T/b-$n" >/dev/null
done
WEB=$(free_port)
ECHO=$(free_port)
conf() {
    local n=$1
    shift
    {
        printf '[node]\nname = %s\ndata_dir = %s\ntrust_domain = example.org\n' "$n" "$T/d-$n"
        printf '[admin]\nsocket = %s/admin.sock\n' "$T/d-$n"
        printf '[gossip]\nenabled = true\nbind = 127.0.0.1:%s\njoin = 127.0.0.1:%s\nprofile = local\n' \
            "${GP[$n]}" "${GP[n1]}"
        printf '[identity]\nbundle = %s\n[control]\nlisten = 127.0.0.1:%s\n' "$T/b-$n" "${CP[$n]}"
        local l
        for l in "$@"; do printf '%s\n' "$l"; done
    } >"$T/$n.ini"
}
start() {
    start_agent "$T/$1.ini" "$T/$1.log"
    PID[$1]=$AGENT_PID
    wait_ready "$(sock "$1")" || die "$1 did not start: $(cat "$T/$1.log")"
}
start_web() {
    python3 -m http.server "$WEB" --bind 127.0.0.1 --directory "$T" >"$T/web.log" 2>&1 &
    WEB_PID=$!
    PIDS+=("$WEB_PID")
}
start_web
python3 -m http.server "$ECHO" --bind 127.0.0.1 --directory "$T" >"$T/echo.log" 2>&1 &
PIDS+=("$!")
conf n1
conf n2 "[service web]" "port = $WEB" "protocol = http" "check = http" "check_path = /" \
    "check_interval = 1s" "check_timeout = 500ms" "healthy_threshold = 1" "unhealthy_threshold = 2" \
    "tags = zone=a"
conf n3
for n in n1 n2 n3; do start "$n"; done

"$WEFT" service add --admin "$(sock n3)" echo --port "$ECHO" --check tcp --interval 1s \
    --timeout 500ms --healthy 1 --unhealthy 2 >"$T/add.txt" 2>&1 || fail "service add: $(cat "$T/add.txt")"

wait_for 300 0.1 everywhere web n2 health passing && pass "web@n2 is passing at every node" ||
    fail "web@n2 passing everywhere: $(cat "$T"/svcs-n1.json)"
wait_for 300 0.1 everywhere echo n3 health passing && pass "echo@n3 (run-time) is passing at every node" ||
    fail "echo@n3 passing everywhere"
check "web: port" everywhere web n2 port "$WEB"
check "web: protocol http" everywhere web n2 protocol http
check "web: address" everywhere web n2 address 127.0.0.1
check "web: identity" everywhere web n2 identity spiffe://example.org/svc/web
check "echo: source api" everywhere echo n3 source api
check "echo: its node is alive in gossip" everywhere echo n3 node_status alive
"$WEFT" services --admin "$(sock n1)" >"$T/table.txt"
check "weft services prints a table with both" bash -c 'grep -q "^web .* n2 .*passing *alive" "$0" && grep -q "^echo .* n3 " "$0"' "$T/table.txt"

# ---- the HTTP service dies, then comes back ------------------------------------
kill -9 "$WEB_PID"
wait "$WEB_PID" 2>/dev/null || true
wait_for 300 0.1 everywhere web n2 health critical && pass "killed: web@n2 turns critical at every node" ||
    fail "web@n2 critical everywhere after the kill"
check "n2 logs the reason" grep -q "service web: passing -> critical" "$T/n2.log"
start_web
wait_for 300 0.1 everywhere web n2 health passing && pass "restarted: web@n2 passing again everywhere" ||
    fail "web@n2 passing again"

# ---- run-time registrations: survive a restart, removable; configured ones are not ----
stop_agent "${PID[n3]}" TERM
# Its records stay as n3 last wrote them; gossip says it is gone. (n3 has
# no [proxy]: SIGTERM stops it without a gossip leave, so it is failed.)
gone_elsewhere() { [ "$(svc_field n1 echo n3 node_status)" = failed ] && [ "$(svc_field n2 echo n3 node_status)" = failed ]; }
wait_for 300 0.1 gone_elsewhere && pass "n3 stopped: echo@n3 shows node_status failed at n1 and n2" ||
    fail "echo@n3 node_status after n3 stopped: $(svc_field n1 echo n3 node_status)"
check "...its last health is still in the record" test "$(svc_field n1 echo n3 health)" = passing
"$WEFT" services --admin "$(sock n1)" >"$T/table2.txt"
check "...and weft services shows it in the MEMBER column" grep -q "^echo .* n3 .*passing *failed" "$T/table2.txt"
start n3
wait_for 300 0.1 everywhere echo n3 health passing && pass "echo@n3 survives n3's restart" ||
    fail "echo@n3 survives the restart"
wait_for 300 0.1 everywhere echo n3 node_status alive && pass "n3 back: alive again everywhere" ||
    fail "echo@n3 node_status after the restart: $(svc_field n1 echo n3 node_status)"
rc=0
"$WEFT" service remove --admin "$(sock n2)" web >"$T/rm-web.txt" 2>&1 || rc=$?
check "a configured service cannot be removed at run time (exit 1)" test "$rc" = 1
check "...and the message says to change the config" grep -q "remove it from the config" "$T/rm-web.txt"
"$WEFT" service remove --admin "$(sock n3)" echo >/dev/null || fail "service remove echo"
wait_for 300 0.1 everywhere echo n3 health absent && pass "a removed service disappears everywhere" ||
    fail "removed echo disappears"

# ---- SIGHUP: a service dropped from the config is withdrawn ----------------------
conf n2
kill -HUP "${PID[n2]}"
wait_for 300 0.1 everywhere web n2 health absent && pass "web dropped from n2's config disappears everywhere" ||
    fail "web withdrawn after SIGHUP"
finish
