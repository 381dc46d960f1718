#!/usr/bin/env bash
# SIGHUP reloads the identity: [identity] bundle pointed at a newer bundle,
# or new content at the same path, replaces the running identity (and the
# store's copy); an older bundle and a broken one are logged and ignored,
# the agent keeps running on what it has. Checked with openssl (serials) and
# sqlite3 (the store).
source "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null || die "openssl is not installed"
command -v sqlite3 >/dev/null || die "sqlite3 is not installed"

serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }
conf() {
    printf '[node]\nname = gw-01\ndata_dir = %s\ntrust_domain = example.org\n[admin]\nsocket = %s/admin.sock\n[identity]\nbundle = %s\n' \
        "$T/d" "$T/d" "$1" >"$T/a.ini"
}
running_serial() {
    "$WEFT" certs --json --admin "$T/d/admin.sock" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["identities"][0]["serial"])'
}
serial_is() { [ "$(running_serial)" = "$1" ]; }

"$WEFT" ca init --trust-domain example.org --out "$T/ca" >/dev/null
"$WEFT" ca issue --ca "$T/ca" --node gw-01 --services web --out "$T/b1" >/dev/null
"$WEFT" ca issue --ca "$T/ca" --node gw-01 --services web,db --node-days 91 --out "$T/b2" >/dev/null
"$WEFT" ca issue --ca "$T/ca" --node gw-01 --services web --node-days 30 --out "$T/b0" >/dev/null
"$WEFT" ca issue --ca "$T/ca" --node gw-01 --node-days 92 --out "$T/b3" >/dev/null

conf "$T/b1"
start_agent "$T/a.ini" "$T/a.log"
wait_ready "$T/d/admin.sock" || die "agent did not start: $(cat "$T/a.log")"
check "start: the identity of b1" serial_is "$(serial "$T/b1/node.crt")"

# A newer bundle at a new path.
conf "$T/b2"
kill -HUP "$AGENT_PID"
wait_for 200 0.05 serial_is "$(serial "$T/b2/node.crt")" &&
    pass "SIGHUP: the newer bundle b2 replaces the running identity" || fail "SIGHUP: b2 taken: $(tail -3 "$T/a.log")"
check "SIGHUP: logged" grep -q "SIGHUP: identity replaced from bundle $T/b2 (node serial $(serial "$T/b2/node.crt"), 2 services)" "$T/a.log"
check "SIGHUP: the store holds b2 (and its new service db)" test \
    "$(sqlite3 "file:$T/d/weft.db?mode=ro" "SELECT group_concat(kind || ':' || name || ':' || serial) FROM identities")" = \
    "node:gw-01:$(serial "$T/b2/node.crt"),svc:db:$(serial "$T/b2/svc-db.crt"),svc:web:$(serial "$T/b2/svc-web.crt")"

# An older bundle: kept out.
conf "$T/b0"
kill -HUP "$AGENT_PID"
wait_for 200 0.05 grep -q "SIGHUP: bundle $T/b0 is older than the running identity" "$T/a.log" &&
    pass "SIGHUP: an older bundle is refused" || fail "SIGHUP: an older bundle is refused"
check "SIGHUP: still b2" serial_is "$(serial "$T/b2/node.crt")"

# A broken bundle (a key of another certificate): logged, kept out.
cp -r "$T/b3" "$T/bx"
cp "$T/b1/node.key" "$T/bx/node.key"
conf "$T/bx"
kill -HUP "$AGENT_PID"
wait_for 200 0.05 grep -q "SIGHUP: .*; keeping the running identity" "$T/a.log" &&
    pass "SIGHUP: a broken bundle is logged" || fail "SIGHUP: a broken bundle is logged"
check "SIGHUP: still b2 after the broken bundle" serial_is "$(serial "$T/b2/node.crt")"
check "the agent still answers" "$WEFT" status --admin "$T/d/admin.sock"

# New content at the same path (b2's directory now holds b3).
conf "$T/b2"
kill -HUP "$AGENT_PID"
wait_for 200 0.05 grep -q "SIGHUP: bundle $T/b2 holds the running node certificate" "$T/a.log" &&
    pass "SIGHUP: the same bundle again: nothing to do" || fail "SIGHUP: the same bundle again"
rm -rf "$T/b2" && cp -r "$T/b3" "$T/b2"
kill -HUP "$AGENT_PID"
wait_for 200 0.05 serial_is "$(serial "$T/b3/node.crt")" &&
    pass "SIGHUP: new content at the same path is taken" || fail "SIGHUP: new content at the same path"
check "the service dropped by the new bundle is gone" test \
    "$("$WEFT" certs --json --admin "$T/d/admin.sock" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["identities"]))')" = 1

# A restart after all that starts from the store's copy (b3).
stop_agent "$AGENT_PID"
check "exit 0" test "$STOP_RC" -eq 0
rm -rf "$T/b2"
start_agent "$T/a.ini" "$T/a2.log"
wait_ready "$T/d/admin.sock" || die "agent did not restart: $(cat "$T/a2.log")"
check "restart: the store's copy (b3)" serial_is "$(serial "$T/b3/node.crt")"
stop_agent "$AGENT_PID"
finish
