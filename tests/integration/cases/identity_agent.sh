#!/usr/bin/env bash
# The agent holds its identity: `weft ca init` + `weft ca issue` make a bundle,
# an agent with [identity] bundle checks it, copies it into its store and
# serves it on /v1/certs (`weft certs`) without a key anywhere but the store;
# a restart uses the store's copy after the bundle is gone; a newer bundle
# replaces it, an older one does not; a node certificate close to its expiry
# and expired service certificates are warned about; an expired node
# certificate and a bundle of another node name or trust domain stop the
# start with exit 1 and one message.
#
#   $T/ca --issue--> $T/b (gw-01: web, db)  --> agent $T/d (started 3 times)
#         --issue--> $T/b2 (later)          --> replaces the store's copy
#   $T/bx: $T/b2 with node.crt/key issued two days ago for an hour (mkcert)
source "$(dirname "$0")/../lib.sh"

MKCERT=$WEFT_BUILD_DIR/tests/tools/mkcert
[ -x "$MKCERT" ] || die "tests/tools not built ($MKCERT)"
command -v sqlite3 >/dev/null || die "sqlite3 is not installed"
command -v openssl >/dev/null || die "openssl is not installed"

mode() { stat -c %a "$1"; }
# conf FILE NAME DATADIR [BUNDLE]: an agent config in trust domain example.org.
conf() {
    {
        printf '[node]\nname = %s\ndata_dir = %s\ntrust_domain = example.org\n' "$2" "$3"
        printf '[admin]\nsocket = %s/admin.sock\n' "$3"
        [ -z "${4:-}" ] || printf '[identity]\nbundle = %s\n' "$4"
    } >"$1"
}
# enddate FILE: a certificate's notAfter as YYYY-MM-DDThh:mm:ssZ.
enddate() {
    date -u -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ
}
# serial FILE: a certificate's serial, lowercase hex.
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }
# py JSON-FILE EXPR: evaluate a python expression over the parsed JSON `v`.
py() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

"$WEFT" ca init --trust-domain example.org --out "$T/ca" >/dev/null
"$WEFT" ca issue --ca "$T/ca" --node gw-01 --services web,db --out "$T/b" >/dev/null

# ---- no [identity]: as before ----------------------------------------------
conf "$T/n.ini" gw-01 "$T/n"
start_agent "$T/n.ini" "$T/n.log"
wait_ready "$T/n/admin.sock" || die "agent without [identity] did not become ready"
"$WEFT" status --json --admin "$T/n/admin.sock" >"$T/n-status.json"
check "without [identity]: status identity is null" test "$(py "$T/n-status.json" 'v["identity"]')" = None
check "without [identity]: weft status says none" \
    bash -c '"$0" status --admin "$1" | grep -q "^identity: *none"' "$WEFT" "$T/n/admin.sock"
check "without [identity]: weft certs says so" \
    bash -c '"$0" certs --admin "$1" | grep -q "no identity"' "$WEFT" "$T/n/admin.sock"
stop_agent "$AGENT_PID"

# ---- first start: the bundle goes into the store --------------------------
D=$T/d
conf "$T/a.ini" gw-01 "$D" "$T/b"
start_agent "$T/a.ini" "$T/a.log"
wait_ready "$D/admin.sock" || die "agent with [identity] did not become ready: $(cat "$T/a.log")"
check "log: identity from the bundle" grep -q "identity spiffe://example.org/node/gw-01 .*from bundle $T/b" "$T/a.log"

"$WEFT" certs --admin "$D/admin.sock" >"$T/certs.txt"
"$WEFT" certs --json --admin "$D/admin.sock" >"$T/certs.json"
"$WEFT" status --json --admin "$D/admin.sock" >"$T/status.json"
check "weft certs lists the node" grep -q "node  spiffe://example.org/node/gw-01 " "$T/certs.txt"
check "weft status shows the node's identity" \
    bash -c '"$0" status --admin "$1" | grep -q "^identity: *spiffe://example.org/node/gw-01 ("' "$WEFT" "$D/admin.sock"
check "weft certs lists svc web" grep -q "svc   spiffe://example.org/svc/web " "$T/certs.txt"
check "weft certs lists svc db" grep -q "svc   spiffe://example.org/svc/db " "$T/certs.txt"
check "weft certs shows the node's expiry" grep -q "node/gw-01 .*$(enddate "$T/b/node.crt")" "$T/certs.txt"
check "weft certs lists the trust root" grep -q "CN=weft root CA example.org" "$T/certs.txt"
check "json: three identities, node first" \
    test "$(py "$T/certs.json" '[i["spiffe_id"] for i in v["identities"]]')" = \
    "['spiffe://example.org/node/gw-01', 'spiffe://example.org/svc/db', 'spiffe://example.org/svc/web']"
check "json: node not_after = openssl's" \
    test "$(py "$T/certs.json" 'v["identities"][0]["not_after"]')" = "$(enddate "$T/b/node.crt")"
check "json: svc web not_after = openssl's" \
    test "$(py "$T/certs.json" 'v["identities"][2]["not_after"]')" = "$(enddate "$T/b/svc-web.crt")"
check "json: node serial = openssl's" \
    test "$(py "$T/certs.json" 'v["identities"][0]["serial"]')" = "$(serial "$T/b/node.crt")"
check "json: node has about 90 days left" \
    test "$(py "$T/certs.json" '89*86400 < v["identities"][0]["seconds_left"] <= 90*86400')" = True
check "json: services about 24 h" \
    test "$(py "$T/certs.json" 'all(23*3600 < i["seconds_left"] <= 24*3600 for i in v["identities"][1:])')" = True
fp=$(openssl x509 -in "$T/ca/ca.crt" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f')
check "json: issuer fingerprint = the CA's" \
    test "$(py "$T/certs.json" 'set(i["issuer_fingerprint"] for i in v["identities"])')" = "{'$fp'}"
check "json: trust root fingerprint and expiry" \
    test "$(py "$T/certs.json" '(v["trust_roots"][0]["fingerprint"], v["trust_roots"][0]["not_after"])')" = \
    "('$fp', '$(enddate "$T/ca/ca.crt")')"
check "status: identity.node" test "$(py "$T/status.json" 'v["identity"]["node"]')" = spiffe://example.org/node/gw-01
check "status: soonest expiry is a service" \
    bash -c '[[ $0 == spiffe://example.org/svc/* ]]' "$(py "$T/status.json" 'v["identity"]["soonest"]')"
check "status: 2 services, none expired" \
    test "$(py "$T/status.json" '(v["identity"]["services"], v["identity"]["expired"])')" = "(2, 0)"

# Keys: in the store only.
check "store: three keys" test "$(sqlite3 "$D/weft.db" \
    "SELECT count(*) FROM identities WHERE key_pem LIKE '%PRIVATE KEY%'")" = 3
check "store: the node key is the bundle's" test "$(sqlite3 "$D/weft.db" \
    "SELECT key_pem FROM identities WHERE kind = 'node'")" = "$(cat "$T/b/node.key")"
check "store: one trust root" test "$(sqlite3 "$D/weft.db" "SELECT fingerprint FROM trust_roots")" = "$fp"
check "store: weft.db is 0600" test "$(mode "$D/weft.db")" = 600
check "store: data dir is 0700" test "$(mode "$D")" = 700
"$WEFT" config show -c "$T/a.ini" >"$T/config.txt"
for f in "$T/a.log" "$T/certs.txt" "$T/certs.json" "$T/status.json" "$T/config.txt"; do
    check "no PRIVATE KEY in $(basename "$f")" bash -c '! grep -q "PRIVATE KEY" "$0"' "$f"
    for k in node svc-web svc-db; do
        b64=$(sed -n 2p "$T/b/$k.key")
        check "no base64 of $k.key in $(basename "$f")" bash -c '! grep -qF "$1" "$0"' "$f" "${b64:0:40}"
    done
done
stop_agent "$AGENT_PID"
check "agent stopped cleanly" test "$STOP_RC" = 0

# ---- restart without the bundle: the store's copy -------------------------
mv "$T/b" "$T/b.gone"
start_agent "$T/a.ini" "$T/a2.log"
wait_ready "$D/admin.sock" || die "restart without the bundle failed: $(cat "$T/a2.log")"
"$WEFT" certs --json --admin "$D/admin.sock" >"$T/certs2.json"
check "restart: identity from the store" test "$(py "$T/certs2.json" 'v["source"]')" = store
check "restart: same node serial" \
    test "$(py "$T/certs2.json" 'v["identities"][0]["serial"]')" = "$(serial "$T/b.gone/node.crt")"
check "restart: log says the bundle is gone" grep -q "bundle $T/b is gone" "$T/a2.log"
check "restart: no PRIVATE KEY in the log" bash -c '! grep -q "PRIVATE KEY" "$0"' "$T/a2.log"
stop_agent "$AGENT_PID"

# ---- a newer bundle replaces the store's copy -----------------------------
sleep 1 # a later notAfter, to the second
"$WEFT" ca issue --ca "$T/ca" --node gw-01 --services web --out "$T/b2" >/dev/null
conf "$T/a.ini" gw-01 "$D" "$T/b2"
start_agent "$T/a.ini" "$T/a3.log"
wait_ready "$D/admin.sock" || die "restart with a newer bundle failed: $(cat "$T/a3.log")"
"$WEFT" certs --json --admin "$D/admin.sock" >"$T/certs3.json"
check "newer bundle: used" test "$(py "$T/certs3.json" 'v["source"]')" = bundle
check "newer bundle: its node serial" \
    test "$(py "$T/certs3.json" 'v["identities"][0]["serial"]')" = "$(serial "$T/b2/node.crt")"
check "newer bundle: its services only (db is gone)" \
    test "$(py "$T/certs3.json" 'len(v["identities"])')" = 2
check "newer bundle: the store holds it" test "$(sqlite3 "$D/weft.db" \
    "SELECT serial FROM identities WHERE kind = 'node'")" = "$(serial "$T/b2/node.crt")"
stop_agent "$AGENT_PID"

# ---- an older bundle does not roll the store back -------------------------
conf "$T/a.ini" gw-01 "$D" "$T/b.gone"
start_agent "$T/a.ini" "$T/a4.log"
wait_ready "$D/admin.sock" || die "restart with an older bundle failed: $(cat "$T/a4.log")"
"$WEFT" certs --json --admin "$D/admin.sock" >"$T/certs4.json"
check "older bundle: the store's copy is kept" \
    test "$(py "$T/certs4.json" 'v["identities"][0]["serial"]')" = "$(serial "$T/b2/node.crt")"
check "older bundle: a warning says so" grep -q "is older than the identity in the store" "$T/a4.log"
stop_agent "$AGENT_PID"

# ---- an expired node certificate: exit 1, one message ---------------------
cp -a "$T/b2" "$T/bx"
rm -f "$T/bx/node.crt" "$T/bx/node.key"
"$MKCERT" leaf --ca "$T/ca" --name gw-01 --node --hours 1 --at -172800 --out "$T/bx/node"
conf "$T/x.ini" gw-01 "$T/dx" "$T/bx"
rc=0
"$WEFT" agent -c "$T/x.ini" >"$T/x.log" 2>&1 || rc=$?
check "expired node certificate: exit 1" test "$rc" = 1
check "expired: one message with the date" \
    test "$(grep -c "expired on $(enddate "$T/bx/node.crt")" "$T/x.log")" = 1
check "expired: it says how to re-enroll" grep -q "weft ca issue --ca CA_DIR --node gw-01" "$T/x.log"
check "expired: ... and [identity] bundle" grep -q "point \[identity\] bundle at it" "$T/x.log"
check "expired: exactly one error line" test "$(grep -ci "error" "$T/x.log")" = 1
check "expired: nothing stored" test "$(sqlite3 "$T/dx/weft.db" "SELECT count(*) FROM identities")" = 0

# ---- expiring soon and expired services: warnings, the agent runs ---------
"$WEFT" ca issue --ca "$T/ca" --node gw-01 --services web,db --node-days 3 --out "$T/bs" >/dev/null
rm -f "$T/bs/svc-web.crt" "$T/bs/svc-web.key"
"$MKCERT" leaf --ca "$T/ca" --name web --hours 1 --at -172800 --out "$T/bs/svc-web"
conf "$T/s.ini" gw-01 "$T/ds" "$T/bs"
start_agent "$T/s.ini" "$T/s.log"
wait_ready "$T/ds/admin.sock" || die "agent with an expired service did not start: $(cat "$T/s.log")"
"$WEFT" status --json --admin "$T/ds/admin.sock" >"$T/s-status.json"
"$WEFT" certs --admin "$T/ds/admin.sock" >"$T/s-certs.txt"
check "node expiring in 3 days: warned" \
    grep -q "warn .*node certificate spiffe://example.org/node/gw-01 expires on $(enddate "$T/bs/node.crt")" "$T/s.log"
check "expired service: warned, with the date" \
    grep -q "warn .*service certificate spiffe://example.org/svc/web expired on $(enddate "$T/bs/svc-web.crt")" "$T/s.log"
check "expired service: without [identity] ca, says how to renew" \
    grep -q "service certificate spiffe://example.org/svc/web expired on .*; not renewed: set \[identity\] ca to renew online, or issue a new bundle" "$T/s.log"
check "expired service: counted in /v1/status" test "$(py "$T/s-status.json" 'v["identity"]["expired"]')" = 1
check "expired service: soonest is svc web" \
    test "$(py "$T/s-status.json" 'v["identity"]["soonest"]')" = spiffe://example.org/svc/web
check "expired service: weft certs says EXPIRED" grep -q "svc/web .*EXPIRED" "$T/s-certs.txt"
stop_agent "$AGENT_PID"

# ---- a bundle for another node name: exit 1, what differs -----------------
conf "$T/m.ini" gw-02 "$T/dm" "$T/b2"
rc=0
"$WEFT" agent -c "$T/m.ini" >"$T/m.log" 2>&1 || rc=$?
check "other node name: exit 1" test "$rc" = 1
check "other node name: the message says what differs" \
    grep -q "node.crt is spiffe://example.org/node/gw-01: its name 'gw-01' is not \[node\] name 'gw-02'" "$T/m.log"

# ---- another trust domain --------------------------------------------------
sed 's/trust_domain = example.org/trust_domain = other.org/' "$T/m.ini" | sed 's/gw-02/gw-01/' >"$T/t.ini"
rc=0
"$WEFT" agent -c "$T/t.ini" >"$T/t.log" 2>&1 || rc=$?
check "other trust domain: exit 1" test "$rc" = 1
check "other trust domain: the message says what differs" \
    grep -q "its trust domain 'example.org' is not \[node\] trust_domain 'other.org'" "$T/t.log"

finish
