#!/usr/bin/env bash
# Online enrollment with one-time tokens: `weft ca token` asks the CA node's
# agent for a token; a new node with only [identity] token makes its keys,
# checks the CA's TLS chain against the token's pin, gets its certificates
# and runs. The token works once (also after a CA restart), expires, and a
# wrong pin is refused before the secret is sent. Checked with openssl
# (verify, x509, pkey) and sqlite3 (the CA keeps only the token's hash).
#
#   $T/ca --issue--> b-ca1   agent ca1: [ca] dir, [control] listen $P
#   weft ca token --node n4 --services a,b   ->  agent n4: [identity] token
source "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null || die "openssl is not installed"
command -v sqlite3 >/dev/null || die "sqlite3 is not installed"

py() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# conf FILE NAME DATADIR [lines...]
conf() {
    local f=$1 name=$2 d=$3
    shift 3
    {
        printf '[node]\nname = %s\ndata_dir = %s\ntrust_domain = example.org\n' "$name" "$d"
        printf '[admin]\nsocket = %s/admin.sock\ndebug = true\n' "$d"
        local l
        for l in "$@"; do printf '%s\n' "$l"; done
    } >"$f"
}
control() { curl -fsS --unix-socket "$T/ca1/admin.sock" http://weft/v1/control >"$T/ctl.json" && py "$T/ctl.json" "$1"; }
token() { "$WEFT" ca token --admin "$T/ca1/admin.sock" "$@" 2>>"$T/token.err"; }
# enroll NAME DATADIR TOKEN: run an agent that must fail; its exit code in RC, log in DATADIR.log.
enroll_fails() {
    conf "$T/$1.ini" "$1" "$2" "[identity]" "token = $3" "start_wait = 5s"
    set +e
    "$WEFT" agent -c "$T/$1.ini" >"$2.log" 2>&1
    RC=$?
    set -e
}

"$WEFT" ca init --trust-domain example.org --out "$T/ca" >/dev/null
"$WEFT" ca issue --ca "$T/ca" --node ca1 --out "$T/b-ca1" >/dev/null
FP=$("$WEFT" ca show --ca "$T/ca" | sed -n 's/^fingerprint: sha256://p')
P=$(free_port)
conf "$T/ca1.ini" ca1 "$T/ca1" "[identity]" "bundle = $T/b-ca1" "ca = 127.0.0.1:$P" \
    "[control]" "listen = 127.0.0.1:$P" "[ca]" "dir = $T/ca"
start_agent "$T/ca1.ini" "$T/ca1.log"
CA_PID=$AGENT_PID
wait_ready "$T/ca1/admin.sock" || die "CA node did not start: $(cat "$T/ca1.log")"

# ---- a token -----------------------------------------------------------------
TOK=$(token --node n4 --services b,a --ttl 1h)
check "the token names the version, the CA's pin, the node, services and address" \
    bash -c '[[ "$0" =~ ^weft1:[0-9a-f]{32}:'"$FP"':n4:b,a:127\.0\.0\.1:'"$P"'$ ]]' "$TOK"
check "weft ca token says what it is on stderr" grep -q "one-time token for node n4 (services: b,a), valid until" "$T/token.err"
SECRET=$(echo "$TOK" | cut -d: -f2)
HASH=$(printf '%s' "$SECRET" | sha256sum | cut -d' ' -f1)
check "the CA stores the token's hash, not the secret" test \
    "$(sqlite3 "file:$T/ca1/weft.db?mode=ro" "SELECT hash || ' ' || node || ' ' || services FROM tokens")" = "$HASH n4 b,a"
check "the secret is nowhere in the CA's store or log" \
    bash -c '! grep -q "$0" "$1"/weft.db* "$2"' "$SECRET" "$T/ca1" "$T/ca1.log"

# ---- a wrong pin: refused before anything is sent; the token stays usable -----
BADTOK=$(echo "$TOK" | sed "s/:$FP:/:$(printf '%064d' 0):/")
enroll_fails n4 "$T/n4x" "$BADTOK"
check "wrong pin: exit 1" test "$RC" -eq 1
check "wrong pin: says the CA's chain does not hold the pinned CA" \
    grep -q "enrollment refused: control 127.0.0.1:$P: TLS handshake refused: bad_chain: the server's chain does not hold the pinned CA" "$T/n4x.log"
check "wrong pin: the token was not consumed" test \
    "$(sqlite3 "file:$T/ca1/weft.db?mode=ro" "SELECT used IS NULL FROM tokens")" = 1
check "wrong pin: no identity stored" test \
    "$(sqlite3 "file:$T/n4x/weft.db?mode=ro" "SELECT count(*) FROM identities")" = 0

# ---- a malformed enroll request (openssl s_client, no certificate) --------------
# checked against the token before it is spent: refused, the token stays unused.
python3 -c 'import json,struct,sys
p=json.dumps({"id":1,"method":"enroll","body":{"secret":sys.argv[1],"node":{"pubkey":"garbage"}}}).encode()
sys.stdout.buffer.write(b"WC\x01Q"+struct.pack(">I",len(p))+p)' "$SECRET" >"$T/enroll-bad.bin"
timeout 10 openssl s_client -quiet -connect "127.0.0.1:$P" <"$T/enroll-bad.bin" >"$T/enroll-bad.txt" 2>&1 || true
check "a malformed enroll request is refused before the token is spent" \
    grep -q "enroll (the token was not used): node: the public key does not parse" "$T/enroll-bad.txt"
check "and the token is still unused" test \
    "$(sqlite3 "file:$T/ca1/weft.db?mode=ro" "SELECT used IS NULL FROM tokens")" = 1

# ---- the token works once ------------------------------------------------------
conf "$T/n4.ini" n4 "$T/n4" "[identity]" "token = $TOK" "ca = 127.0.0.1:$P"
start_agent "$T/n4.ini" "$T/n4.log"
N4_PID=$AGENT_PID
wait_ready "$T/n4/admin.sock" || die "n4 did not enroll: $(cat "$T/n4.log")"
"$WEFT" certs --json --admin "$T/n4/admin.sock" >"$T/n4-certs.json"
check "n4: identity from enrollment" test "$(py "$T/n4-certs.json" 'v["source"]')" = enrollment
check "n4: node and both services, by name" test \
    "$(py "$T/n4-certs.json" '",".join(i["spiffe_id"] for i in v["identities"])')" = \
    "spiffe://example.org/node/n4,spiffe://example.org/svc/a,spiffe://example.org/svc/b"
check "n4: the trust root is the CA" test "$(py "$T/n4-certs.json" 'v["trust_roots"][0]["fingerprint"]')" = "$FP"
for k in node:n4 svc:a svc:b; do
    sqlite3 "file:$T/n4/weft.db?mode=ro" "SELECT cert_pem FROM identities WHERE kind='${k%%:*}' AND name='${k#*:}'" >"$T/n4-${k#*:}.crt"
    sqlite3 "file:$T/n4/weft.db?mode=ro" "SELECT key_pem FROM identities WHERE kind='${k%%:*}' AND name='${k#*:}'" >"$T/n4-${k#*:}.key"
    check "openssl verify: n4's $k certificate chains to the CA" openssl verify -CAfile "$T/ca/ca.crt" "$T/n4-${k#*:}.crt"
    check "n4's $k key (made on n4) matches its certificate" test \
        "$(openssl pkey -in "$T/n4-${k#*:}.key" -pubout)" = "$(openssl x509 -in "$T/n4-${k#*:}.crt" -noout -pubkey)"
done
check "the CA never saw a private key" bash -c '! grep -q "PRIVATE KEY" "$0"' "$T/ca1.log"
check "CA: enrollment recorded by the token" test \
    "$(sqlite3 "file:$T/ca1/weft.db?mode=ro" "SELECT group_concat(node || ':' || service || ':' || source) FROM enrollments")" = "n4:a:token,n4:b:token"
check "CA: counted" test "$(control 'v["ca"]["enrolled_by_token"]')" = 1
# n4 renews with what the token granted (no proof needed: the record exists).
curl -fsS -X POST --unix-socket "$T/n4/admin.sock" http://weft/v1/debug/renew >/dev/null
ok_renew() { [ "$("$WEFT" status --json --admin "$T/n4/admin.sock" | python3 -c 'import json,sys; print(json.load(sys.stdin)["identity"]["renewal"]["ok"])')" -ge 1 ]; }
wait_for 200 0.05 ok_renew && pass "n4: renews online after enrolling" || fail "n4: renews online: $(tail -3 "$T/n4.log")"
set +e
"$WEFT" ca token --node x --admin "$T/n4/admin.sock" >"$T/noca.out" 2>"$T/noca.err"
RC=$?
set -e
check "weft ca token against a node without the CA: exit 1, says so" \
    bash -c '[ "$0" -eq 1 ] && grep -q "holds no CA" "$1" && [ ! -s "$2" ]' "$RC" "$T/noca.err" "$T/noca.out"
stop_agent "$N4_PID"
# A restart uses the store; the token is not used again.
start_agent "$T/n4.ini" "$T/n4b.log"
N4_PID=$AGENT_PID
wait_ready "$T/n4/admin.sock" || die "n4 did not restart: $(cat "$T/n4b.log")"
check "n4 restarted: from the store, token no longer used" grep -q "already enrolled, \[identity\] token is no longer used" "$T/n4b.log"
stop_agent "$N4_PID"

# ---- second use refused, also after the CA restarts ------------------------------
enroll_fails n4 "$T/n4again" "$TOK"
check "second use: exit 1" test "$RC" -eq 1
check "second use: refused as already used" grep -q "enrollment refused: enroll: this enrollment token was already used (on " "$T/n4again.log"
stop_agent "$CA_PID"
start_agent "$T/ca1.ini" "$T/ca1b.log"
CA_PID=$AGENT_PID
wait_ready "$T/ca1/admin.sock" || die "CA node did not restart: $(cat "$T/ca1b.log")"
enroll_fails n4 "$T/n4again2" "$TOK"
check "second use after a CA restart: refused" grep -q "this enrollment token was already used" "$T/n4again2.log"
check "counted token_used" test "$(control 'v["ca"]["refused"]["token_used"]')" = 1

# ---- an expired token ----------------------------------------------------------------
TOK2=$(token --node n6 --ttl 1m)
curl -fsS -X POST --unix-socket "$T/ca1/admin.sock" "http://weft/v1/debug/clock?advance=2m" >/dev/null
enroll_fails n6 "$T/n6" "$TOK2"
check "expired token: exit 1" test "$RC" -eq 1
check "expired token: says it expired" grep -q "enrollment refused: enroll: this enrollment token expired on " "$T/n6.log"
check "counted token_expired" test "$(control 'v["ca"]["refused"]["token_expired"]')" = 1

# ---- an unknown secret, a token for another node name -----------------------------
FAKE=$(echo "$TOK" | sed "s/:$SECRET:/:$(printf '%032d' 7):/")
enroll_fails n4 "$T/n4fake" "$FAKE"
check "unknown token: refused" grep -q "enroll: unknown enrollment token" "$T/n4fake.log"
TOK3=$(token --node n7)
enroll_fails n8 "$T/n8" "$TOK3"
check "a token for n7 used by n8: refused locally" grep -q "\[identity\] token enrolls node 'n7', but \[node\] name is 'n8'" "$T/n8.log"
enroll_fails n9 "$T/n9" nonsense
check "bad token text: exit 1 with one clear line" \
    bash -c '[ "$0" -eq 1 ] && grep -q "\[identity\] token: not a weft enrollment token" "$1"' "$RC" "$T/n9.log"

# ---- re-enrollment: n4's node certificate expired while it was off -------------
# 100 days later (CA and n4 moved together), the stored identity is expired:
# a new token enrolls n4 again instead of stopping the start.
# The CA node renews its own node certificate at 2/3 (through its own
# listener) on the way, as it would over those 100 days.
ca_serial() { "$WEFT" certs --json --admin "$T/ca1/admin.sock" | python3 -c 'import json,sys; print(json.load(sys.stdin)["identities"][0]["serial"])'; }
CA_SERIAL=$(ca_serial)
curl -fsS -X POST --unix-socket "$T/ca1/admin.sock" "http://weft/v1/debug/clock?advance=61d" >/dev/null
ca_renewed() { [ "$(ca_serial)" != "$CA_SERIAL" ]; }
wait_for 200 0.05 ca_renewed || die "the CA node did not renew its node certificate: $(tail -3 "$T/ca1b.log")"
curl -fsS -X POST --unix-socket "$T/ca1/admin.sock" "http://weft/v1/debug/clock?advance=39d" >/dev/null
TOK4=$(token --node n4 --services a)
conf "$T/n4c.ini" n4 "$T/n4" "[identity]" "token = $TOK4" "[debug]" "clock_offset = 100d2m"
start_agent "$T/n4c.ini" "$T/n4c.log"
N4_PID=$AGENT_PID
wait_ready "$T/n4/admin.sock" || die "n4 did not re-enroll: $(cat "$T/n4c.log")"
check "n4 100 days later: says its node certificate expired, enrolls again" \
    grep -q "the node certificate spiffe://example.org/node/n4 expired on .*; enrolling again with \[identity\] token" "$T/n4c.log"
"$WEFT" certs --json --admin "$T/n4/admin.sock" >"$T/n4c-certs.json"
check "n4 re-enrolled: a new node certificate, only service a now" test \
    "$(py "$T/n4c-certs.json" '",".join(i["spiffe_id"] for i in v["identities"]) + " " + v["source"]')" = \
    "spiffe://example.org/node/n4,spiffe://example.org/svc/a enrollment"
stop_agent "$N4_PID"

stop_agent "$CA_PID"
check "ca1: exit 0" test "$STOP_RC" -eq 0
finish
