#!/usr/bin/env bash
# Online renewal over the control RPC: a CA node ([ca] dir, [control] listen)
# and nodes with [identity] ca, real processes on loopback, time moved with
# the debug clock ([debug] clock_offset at start, POST /v1/debug/clock).
#
#   $T/ca --weft ca issue--> b-ca (ca1), b-n1 (n1: a), b-n2 (n2: a), b-n3 (n3)
#   agent ca1: [ca] dir, [control] listen $P, [identity] ca = itself
#   agent n1:  [identity] ca = $P                 renews at 2/3 (clock moved)
#   agent n2:  started 10 days "later"            renews before READY
#   agent n3:  started 100 days "later"           node certificate expired
#
# Checked against things weft did not write: `openssl verify` (the renewed
# certificates chain to ca.crt), `openssl x509` (serials, dates, public keys
# against the stored private keys), `openssl s_client` (no client
# certificate: renew refused; a service certificate; an unknown protocol
# version), sqlite3
# (the CA's enrollment record), and the sd_notify listener of sd_notify.sh
# (READY=1 only after the renewal). The control listener's TLS counters
# carry over when its certificate is replaced (a counter never goes back).
source "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null || die "openssl is not installed"
command -v sqlite3 >/dev/null || die "sqlite3 is not installed"

py() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# conf FILE NAME [lines...]: a node of example.org with debug endpoints.
conf() {
    local f=$1 name=$2
    shift 2
    {
        printf '[node]\nname = %s\ndata_dir = %s\ntrust_domain = example.org\n' "$name" "$T/d-$name"
        printf '[admin]\nsocket = %s/admin.sock\ndebug = true\n' "$T/d-$name"
        local l
        for l in "$@"; do printf '%s\n' "$l"; done
    } >"$f"
}
sock() { echo "$T/d-$1/admin.sock"; }
status() { "$WEFT" status --json --admin "$(sock "$1")" >"$T/st-$1.json" && py "$T/st-$1.json" "$2"; }
control() { curl -fsS --unix-socket "$(sock "$1")" http://weft/v1/control >"$T/ctl-$1.json" && py "$T/ctl-$1.json" "$2"; }
certs() { "$WEFT" certs --json --admin "$(sock "$1")" >"$T/certs-$1.json" && py "$T/certs-$1.json" "$2"; }
advance() { curl -fsS -X POST --unix-socket "$(sock "$1")" "http://weft/v1/debug/clock?advance=$2" >/dev/null; }
# stored NODE KIND NAME: that certificate's PEM from the node's store.
stored() {
    sqlite3 "file:$T/d-$1/weft.db?mode=ro" \
        "SELECT cert_pem FROM identities WHERE kind = '$2' AND name = '$3'" >"$T/$1-$2-$3.pem"
    echo "$T/$1-$2-$3.pem"
}
stored_key() {
    sqlite3 "file:$T/d-$1/weft.db?mode=ro" \
        "SELECT key_pem FROM identities WHERE kind = '$2' AND name = '$3'" >"$T/$1-$2-$3.key"
    echo "$T/$1-$2-$3.key"
}
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }
iso_end() { date -u -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ; }
# Predicates for wait_for (evaluated on every try).
ge() { [ "$(status "$1" "$2")" -ge "$3" ]; }
ctl_ge() { [ "$(control "$1" "$2")" -ge "$3" ]; }
serial_is_not() { [ "$(certs "$1" "v[\"identities\"][$2][\"serial\"]")" != "$3" ]; }

"$WEFT" ca init --trust-domain example.org --out "$T/ca" >/dev/null
for spec in ca1: n1:a n2:a n3:; do
    n=${spec%%:*} s=${spec#*:}
    "$WEFT" ca issue --ca "$T/ca" --node "$n" ${s:+--services "$s"} --out "$T/b-$n" >/dev/null
done
P=$(free_port)
NOW=$(date +%s)

# ---- the CA node ------------------------------------------------------------
conf "$T/ca1.ini" ca1 "[identity]" "bundle = $T/b-ca1" "ca = 127.0.0.1:$P" \
    "[control]" "listen = 127.0.0.1:$P" "[ca]" "dir = $T/ca"
start_agent "$T/ca1.ini" "$T/ca1.log"
CA_PID=$AGENT_PID
wait_ready "$(sock ca1)" || die "CA node did not start: $(cat "$T/ca1.log")"
check "CA node: control listener up" grep -q "control RPC listening on 127.0.0.1:$P" "$T/ca1.log"
check "CA node: answering renew" grep -q "CA for example.org: answering renew" "$T/ca1.log"
check "/v1/control shows the CA" test "$(control ca1 'v["ca"]["trust_domain"]')" = example.org

# ---- n1: renewal at 2/3 -----------------------------------------------------
conf "$T/n1.ini" n1 "[identity]" "bundle = $T/b-n1" "ca = 127.0.0.1:$P"
start_agent "$T/n1.ini" "$T/n1.log"
N1_PID=$AGENT_PID
wait_ready "$(sock n1)" || die "n1 did not start: $(cat "$T/n1.log")"
check "n1: nothing due at start" test "$(status n1 'v["identity"]["renewal"]["at_start"]')" = not_needed
OLD_A=$(serial "$T/b-n1/svc-a.crt")
OLD_NODE=$(serial "$T/b-n1/node.crt")
check "n1: serves the bundle's svc a" test "$(certs n1 'v["identities"][1]["serial"]')" = "$OLD_A"

# 17 h later: past 2/3 of the 24 h service certificate, the 90 d node certificate is not due.
advance ca1 17h
advance n1 17h
wait_for 200 0.05 ge n1 'v["identity"]["renewal"]["ok"]' 1 &&
    pass "n1: renewed after the clock passed 2/3" || fail "n1: renewed after the clock passed 2/3: $(cat "$T/n1.log")"
NEW_A=$(certs n1 'v["identities"][1]["serial"]')
check "n1: svc a has a new serial" test "$NEW_A" != "$OLD_A"
check "n1: the node certificate was not due" test "$(certs n1 'v["identities"][0]["serial"]')" = "$OLD_NODE"
A_PEM=$(stored n1 svc a)
check "n1: the store holds the new certificate" test "$(serial "$A_PEM")" = "$NEW_A"
AT=$((NOW + 17 * 3600 + 60))
check "openssl verify accepts the renewed certificate (at the moved time)" \
    openssl verify -attime "$AT" -purpose sslclient -CAfile "$T/ca/ca.crt" "$A_PEM"
check "weft certs shows the new expiry" test "$(certs n1 'v["identities"][1]["not_after"]')" = "$(iso_end "$A_PEM")"
check "the new expiry is later than the bundle's" \
    test "$(date -d "$(iso_end "$A_PEM")" +%s)" -gt "$(date -d "$(iso_end "$T/b-n1/svc-a.crt")" +%s)"
# The key was made on n1: the stored key matches the certificate, and it is a new key.
KEY=$(stored_key n1 svc a)
check "n1: the stored key matches the renewed certificate" test \
    "$(openssl pkey -in "$KEY" -pubout)" = "$(openssl x509 -in "$A_PEM" -noout -pubkey)"
check "n1: the renewed certificate has a new key" test \
    "$(openssl x509 -in "$A_PEM" -noout -pubkey)" != "$(openssl x509 -in "$T/b-n1/svc-a.crt" -noout -pubkey)"
check "the CA never saw a private key" bash -c '! grep -q "PRIVATE KEY" "$0"' "$T/ca1.log"
check "CA: n1 enrolled for a by proof of possession" test \
    "$(sqlite3 "file:$T/d-ca1/weft.db?mode=ro" "SELECT node || ':' || service || ':' || source FROM enrollments")" = "n1:a:proof"
check "n1: next renewal planned" test "$(status n1 'v["identity"]["renewal"]["next"]')" != None

# n1 asks for service b, which it was never enrolled for: refused and counted.
curl -fsS -X POST --unix-socket "$(sock n1)" "http://weft/v1/debug/renew?service=b" >/dev/null
wait_for 200 0.05 ge n1 'v["identity"]["renewal"]["failed"]' 1 &&
    pass "n1: a request for service b fails" || fail "n1: a request for service b fails"
check "n1: status says it is not enrolled for b" \
    test "$(status n1 '"node n1 is not enrolled for service b" in v["identity"]["renewal"]["last_error"]')" = True
check "CA: counted not_enrolled" test "$(control ca1 'v["ca"]["refused"]["not_enrolled"]')" -ge 1
check "CA: counted as a denied request" test "$(control ca1 'v["refused"]["denied"]')" -ge 1
check "n1: still holds only svc a" test "$(certs n1 'len(v["identities"])')" = 2

# ---- the control listener against openssl s_client ---------------------------
# Without a client certificate the handshake succeeds (the CA node serves
# enrollment to new nodes), but renew is refused: it needs a node certificate.
printf 'WC\001Q\000\000\000\043{"id":7,"method":"renew","body":{}}' |
    timeout 10 openssl s_client -quiet -connect "127.0.0.1:$P" >"$T/s_client-nocert.txt" 2>&1 || true
check "s_client without a client certificate cannot call renew" \
    grep -q "control method 'renew' needs a node certificate" "$T/s_client-nocert.txt"
check "counted as unauthenticated" test "$(control ca1 'v["refused"]["unauthenticated"]')" -ge 1
check "and nothing was issued to it" test "$(control ca1 'v["ca"]["renewals"]')" = 1
# A service certificate is not a node certificate: refused in the handshake.
timeout 10 openssl s_client -connect "127.0.0.1:$P" -cert "$T/b-n1/svc-a.crt" -key "$T/b-n1/svc-a.key" \
    </dev/null >"$T/s_client-svc.txt" 2>&1 || true
wait_for 200 0.05 ctl_ge ca1 'v["tls"]["id_not_accepted"]' 1 &&
    pass "s_client with a service certificate: refused (id_not_accepted)" ||
    fail "s_client with a service certificate: refused (id_not_accepted)"
# A node certificate gets through; a frame of version 2 is answered with a clear error.
printf 'WC\002Q\000\000\000\002{}' | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$P" \
    -cert "$T/b-n3/node.crt" -key "$T/b-n3/node.key" >"$T/s_client-v2.txt" 2>&1 || true
check "s_client with a node certificate: version 2 refused with a clear error" \
    grep -q "unsupported control protocol version 2 (this weft speaks version 1)" "$T/s_client-v2.txt"
check "counted as bad_version" test "$(control ca1 'v["refused"]["bad_version"]')" -ge 1
check "the CA node still answers" "$WEFT" status --admin "$(sock ca1)"

# ---- n2: asleep for 10 days, renews before READY ------------------------------
advance ca1 10d
listen_notify() {
    python3 -u - "$1" "$2" <<'PY' &
import socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a") as f:
    f.write("LISTENING\n"); f.flush()
    while True:
        f.write(s.recv(4096).decode().replace("\n", " ") + "\n"); f.flush()
PY
    PIDS+=($!)
}
listen_notify "$T/notify.sock" "$T/notify.txt"
wait_for 100 0.05 grep -q LISTENING "$T/notify.txt" || die "notify listener did not start"
conf "$T/n2.ini" n2 "[identity]" "bundle = $T/b-n2" "ca = 127.0.0.1:$P" "[debug]" "clock_offset = 10d17h"
NOTIFY_SOCKET="$T/notify.sock" "$WEFT" agent -c "$T/n2.ini" >"$T/n2.log" 2>&1 &
N2_PID=$!
PIDS+=("$N2_PID")
wait_for 200 0.05 grep -q '^READY=1' "$T/notify.txt" && pass "n2: READY=1" || fail "n2: READY=1: $(cat "$T/n2.log")"
check "n2: the debug clock offset is logged at warn" grep -q "warn .*DEBUG: certificates are judged and issued by a clock 10d17h ahead" "$T/n2.log"
check "n2: the expired service certificate was seen" grep -q "service certificate spiffe://example.org/svc/a expired on" "$T/n2.log"
R=$(grep -n "renewed spiffe://example.org/svc/a" "$T/n2.log" | head -1 | cut -d: -f1)
Y=$(grep -n "node n2 ready in" "$T/n2.log" | head -1 | cut -d: -f1)
check "n2: renewed before it reported ready" test -n "$R" -a -n "$Y" -a "${R:-0}" -lt "${Y:-0}"
check "n2: status says the renewal at start worked" test "$(status n2 'v["identity"]["renewal"]["at_start"]')" = ok
check "n2: nothing expired any more" test "$(status n2 'v["identity"]["expired"]')" = 0
A2=$(stored n2 svc a)
check "openssl verify accepts n2's renewed certificate" \
    openssl verify -attime "$((NOW + 10 * 86400 + 17 * 3600 + 60))" -CAfile "$T/ca/ca.crt" "$A2"
check "n2: a new serial" test "$(serial "$A2")" != "$(serial "$T/b-n2/svc-a.crt")"
stop_agent "$N2_PID"

# ---- n2 again, the CA unreachable: starts anyway, says so, keeps retrying ----
conf "$T/n2b.ini" n2 "[identity]" "bundle = $T/b-n2" "ca = 127.0.0.1:$(free_port)" "start_wait = 2s" \
    "[debug]" "clock_offset = 12d"
start_agent "$T/n2b.ini" "$T/n2b.log"
wait_ready "$(sock n2)" || die "n2 did not start without its CA: $(cat "$T/n2b.log")"
check "n2 without its CA: started, said so" grep -q "could not renew the due certificates before start" "$T/n2b.log"
check "n2 without its CA: status at_start failed" test "$(status n2 'v["identity"]["renewal"]["at_start"]')" = failed
check "n2 without its CA: last_error names the CA" \
    bash -c '[[ "$1" == *"cannot connect"* ]]' _ "$(status n2 'v["identity"]["renewal"]["last_error"]')"
wait_for 200 0.05 ge n2 'v["identity"]["renewal"]["failed"]' 2 &&
    pass "n2 without its CA: keeps retrying" || fail "n2 without its CA: keeps retrying"
stop_agent "$AGENT_PID"

# ---- n3: the node certificate expired while it was off -----------------------
conf "$T/n3.ini" n3 "[identity]" "bundle = $T/b-n3" "ca = 127.0.0.1:$P" "[debug]" "clock_offset = 100d"
set +e
"$WEFT" agent -c "$T/n3.ini" >"$T/n3.log" 2>&1
RC=$?
set -e
check "n3: exit 1" test "$RC" -eq 1
END3=$(iso_end "$T/b-n3/node.crt")
check "n3: says exactly that the node certificate expired, and how to re-enroll" grep -qF \
    "the node certificate spiffe://example.org/node/n3 expired on $END3; re-enroll this node: on the CA's machine run \`weft ca issue --ca CA_DIR --node n3 [--services ...] --out DIR\`" \
    "$T/n3.log"

# ---- node certificates renew at 2/3 of 90 days, the CA node's own too --------
HS0=$(control ca1 'v["tls"]["handshakes"]')
advance ca1 51d
advance n1 61d
wait_for 300 0.05 serial_is_not n1 0 "$OLD_NODE" &&
    pass "n1: node certificate renewed at 2/3 of 90 days" || fail "n1: node certificate renewed: $(tail -5 "$T/n1.log")"
N1NODE=$(stored n1 node n1)
check "openssl verify accepts n1's renewed node certificate" \
    openssl verify -attime "$((NOW + 61 * 86400 + 17 * 3600 + 60))" -purpose sslclient -CAfile "$T/ca/ca.crt" "$N1NODE"
wait_for 300 0.05 serial_is_not ca1 0 "$(serial "$T/b-ca1/node.crt")" &&
    pass "ca1: its own node certificate renewed (through its own listener)" || fail "ca1: own node certificate renewed"
wait_for 200 0.05 grep -q "control: new handshakes use node certificate" "$T/ca1.log" &&
    pass "ca1: the control listener took the new certificate" || fail "ca1: the control listener took the new certificate"
HS1=$(control ca1 'v["tls"]["handshakes"]')
[ "$HS0" -gt 0 ] && [ "$HS1" -ge "$HS0" ] &&
    pass "ca1: the control listener's TLS counters went on across the switch ($HS0 -> $HS1)" ||
    fail "ca1: TLS handshakes went from $HS0 to $HS1 across the certificate switch"
# A call after the switch still works (n1 renews everything on demand).
F=$(status n1 'v["identity"]["renewal"]["ok"]')
curl -fsS -X POST --unix-socket "$(sock n1)" "http://weft/v1/debug/renew" >/dev/null
wait_for 200 0.05 ge n1 'v["identity"]["renewal"]["ok"]' "$((F + 1))" &&
    pass "n1: renewal through the listener's new certificate" || fail "n1: renewal after the CA's switch"

stop_agent "$N1_PID"
check "n1: exit 0" test "$STOP_RC" -eq 0
stop_agent "$CA_PID"
check "ca1: exit 0" test "$STOP_RC" -eq 0
finish
