#!/usr/bin/env bash
# The offline CA against OpenSSL: `weft ca init` + `weft ca issue` write
# certificates that `openssl verify` accepts, with exactly the extensions
# docs/identity.md promises; files have their modes; nothing is overwritten;
# bad names are refused with exit 1 and one clear line; a certificate from
# another CA does not verify. No agent is started.
#
#   $T/ca  --issue-->  $T/b (node gw-01: web, db)     $T/other-ca --> $T/ob
source "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null || die "openssl is not installed (tools/deps.sh should install it)"

# mode FILE: its permission bits, e.g. 600.
mode() { stat -c %a "$1"; }
# text FILE: openssl's view of a certificate.
text() { openssl x509 -in "$1" -noout -text; }
# san FILE: the subjectAltName values, one line, without the header.
san() { openssl x509 -in "$1" -noout -ext subjectAltName | tail -n +2 | tr -d ' '; }

"$WEFT" ca init --trust-domain example.org --out "$T/ca" >"$T/init.out"
check "ca init reports the fingerprint" grep -Eq '^fingerprint: sha256:[0-9a-f]{64}$' "$T/init.out"
check "ca dir is 0700" test "$(mode "$T/ca")" = 700
check "ca.key is 0600" test "$(mode "$T/ca/ca.key")" = 600
check "ca.crt is 0644" test "$(mode "$T/ca/ca.crt")" = 644
check "ca.key is an EC P-256 key" \
    bash -c 'openssl pkey -in "$0" -noout -text | grep -q "ASN1 OID: prime256v1"' "$T/ca/ca.key"

text "$T/ca/ca.crt" >"$T/ca.txt"
check "root: CA:TRUE, critical" grep -A1 -q 'Basic Constraints: critical' "$T/ca.txt"
check "root: CA:TRUE with pathlen 0" grep -q 'CA:TRUE, pathlen:0' "$T/ca.txt"
check "root: key usage critical, Certificate Sign, CRL Sign" \
    bash -c 'grep -A1 "Key Usage: critical" "$0" | grep -q "Certificate Sign, CRL Sign"' "$T/ca.txt"
check "root: subject key identifier" grep -q 'Subject Key Identifier' "$T/ca.txt"
check "root: URI SAN spiffe://example.org" grep -q '^ *URI:spiffe://example.org$' "$T/ca.txt"
check "root: CN names the trust domain" grep -q 'Subject: CN *= *weft root CA example.org' "$T/ca.txt"
check "root: version 3" grep -q 'Version: 3' "$T/ca.txt"
check "root: ECDSA with SHA-256" grep -q 'Signature Algorithm: ecdsa-with-SHA256' "$T/ca.txt"
serial=$(openssl x509 -in "$T/ca/ca.crt" -noout -serial | cut -d= -f2)
check "root: 128-bit positive serial (32 hex digits, top bit clear)" \
    bash -c '[[ $0 =~ ^[0-7][0-9A-F]{31}$ ]]' "$serial"
check "root: valid for 10 years, not 11" \
    bash -c 'openssl x509 -in "$0" -noout -checkend $((3649 * 86400)) &&
             ! openssl x509 -in "$0" -noout -checkend $((3651 * 86400))' "$T/ca/ca.crt"
check "root: already valid (backdated a minute)" \
    bash -c 'nb=$(openssl x509 -in "$0" -noout -startdate | cut -d= -f2);
             [ "$(date -d "$nb" +%s)" -le "$(( $(date +%s) - 30 ))" ]' "$T/ca/ca.crt"

# ca show: same fingerprint as openssl's.
"$WEFT" ca show --ca "$T/ca" >"$T/show.out"
fp=$(openssl x509 -in "$T/ca/ca.crt" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : |
    tr A-F a-f)
check "ca show: fingerprint is SHA-256 of the DER" grep -q "^fingerprint: sha256:$fp$" "$T/show.out"
check "ca show: trust domain" grep -q '^trust_domain: example.org$' "$T/show.out"

# Refuse to overwrite a CA.
cp "$T/ca/ca.key" "$T/ca.key.before"
rc=0; "$WEFT" ca init --trust-domain example.org --out "$T/ca" 2>"$T/err" || rc=$?
check "ca init over an existing CA exits 1" test "$rc" -eq 1
check "ca init over an existing CA says why" grep -q 'refusing to overwrite' "$T/err"
check "ca init over an existing CA: one line" test "$(wc -l <"$T/err")" -eq 1
check "the existing CA key is untouched" cmp -s "$T/ca/ca.key" "$T/ca.key.before"

# The bundle.
"$WEFT" ca issue --ca "$T/ca" --node gw-01 --services web,db --out "$T/b" >/dev/null
check "bundle dir is 0700" test "$(mode "$T/b")" = 700
for f in node svc-web svc-db; do
    check "$f.key is 0600" test "$(mode "$T/b/$f.key")" = 600
    check "$f.crt is 0644" test "$(mode "$T/b/$f.crt")" = 644
done
check "bundle.crt is 0644" test "$(mode "$T/b/bundle.crt")" = 644
check "bundle.crt is the CA certificate" cmp -s "$T/b/bundle.crt" "$T/ca/ca.crt"
check "manifest names the trust domain" grep -q '^trust_domain = example.org$' "$T/b/manifest.ini"
check "manifest names the node's ID" \
    grep -q '^id = spiffe://example.org/node/gw-01$' "$T/b/manifest.ini"
check "manifest lists each service" \
    bash -c 'grep -q "^\[svc.web\]$" "$0" && grep -q "^\[svc.db\]$" "$0"' "$T/b/manifest.ini"

out=$(openssl verify -CAfile "$T/ca/ca.crt" "$T/b/node.crt" "$T/b"/svc-*.crt 2>&1) || true
check "openssl verify: node and services OK" \
    test "$(grep -c ': OK$' <<<"$out")" -eq 3
check "openssl verify with bundle.crt as the trust store" \
    openssl verify -CAfile "$T/b/bundle.crt" "$T/b/node.crt"
check "openssl verify -purpose sslserver" \
    openssl verify -purpose sslserver -CAfile "$T/ca/ca.crt" "$T/b/svc-web.crt"
check "openssl verify -purpose sslclient" \
    openssl verify -purpose sslclient -CAfile "$T/ca/ca.crt" "$T/b/svc-web.crt"

for f in node:node/gw-01 svc-web:svc/web svc-db:svc/db; do
    file=${f%%:*} id=spiffe://example.org/${f#*:}
    text "$T/b/$file.crt" >"$T/$file.txt"
    check "$file: exactly one SAN, the URI $id" test "$(san "$T/b/$file.crt")" = "URI:$id"
    check "$file: no DNS SAN" bash -c '! grep -q "DNS:" "$0"' "$T/$file.txt"
    check "$file: EKU server + client auth" bash -c 'grep -A1 "X509v3 Extended Key Usage:" "$0" |
        grep -q "^ *TLS Web Server Authentication, TLS Web Client Authentication$"' "$T/$file.txt"
    check "$file: key usage critical, Digital Signature only" \
        bash -c 'grep -A1 "X509v3 Key Usage: critical" "$0" | grep -q "^ *Digital Signature$"' \
        "$T/$file.txt"
    check "$file: CA:FALSE" grep -q '^ *CA:FALSE$' "$T/$file.txt"
    check "$file: authority key identifier" grep -q 'Authority Key Identifier' "$T/$file.txt"
    check "$file: key matches the certificate" bash -c \
        'cmp -s <(openssl x509 -in "$0.crt" -noout -pubkey) <(openssl pkey -in "$0.key" -pubout)' \
        "$T/b/$file"
done
check "node and service serials differ" bash -c \
    'test "$(for f in "$0"/*.crt; do openssl x509 -in "$f" -noout -serial; done | sort -u | wc -l)" -eq 4' \
    "$T/b"

# Lifetimes: service 24 h, node 90 days.
check "service cert valid 23 h from now" openssl x509 -in "$T/b/svc-web.crt" -noout -checkend $((23 * 3600))
check "service cert expired 25 h from now" \
    bash -c '! openssl x509 -in "$0" -noout -checkend $((25 * 3600))' "$T/b/svc-web.crt"
check "node cert valid 89 days from now" openssl x509 -in "$T/b/node.crt" -noout -checkend $((89 * 86400))
check "node cert expired 91 days from now" \
    bash -c '! openssl x509 -in "$0" -noout -checkend $((91 * 86400))' "$T/b/node.crt"
"$WEFT" ca issue --ca "$T/ca" --node gw-02 --services web --node-days 10 --svc-hours 2 \
    --out "$T/b2" >/dev/null
check "--svc-hours 2: expired in 3 h" \
    bash -c '! openssl x509 -in "$0" -noout -checkend $((3 * 3600))' "$T/b2/svc-web.crt"
check "--node-days 10: valid in 9 days, not in 11" \
    bash -c 'openssl x509 -in "$0" -noout -checkend $((9 * 86400)) &&
             ! openssl x509 -in "$0" -noout -checkend $((11 * 86400))' "$T/b2/node.crt"

# Never overwrite a bundle.
cp "$T/b/node.key" "$T/node.key.before"
rc=0; "$WEFT" ca issue --ca "$T/ca" --node gw-01 --services web --out "$T/b" 2>"$T/err" || rc=$?
check "issue into an existing bundle exits 1" test "$rc" -eq 1
check "issue into an existing bundle says why" grep -q 'refusing to overwrite' "$T/err"
check "the existing node key is untouched" cmp -s "$T/b/node.key" "$T/node.key.before"

# Bad names and trust domains: exit 1, one clear line, nothing written.
bad_name() { # bad_name DESC WHAT-IN-MESSAGE ARGS...
    local desc=$1 want=$2 rc=0
    shift 2
    "$WEFT" ca issue --ca "$T/ca" --out "$T/bad" "$@" >/dev/null 2>"$T/err" || rc=$?
    check "$desc: exit 1" test "$rc" -eq 1
    check "$desc: one line naming the problem" \
        bash -c 'test "$(wc -l <"$0")" -eq 1 && grep -q -- "$1" "$0"' "$T/err" "$want"
    check "$desc: nothing written" test ! -e "$T/bad"
}
bad_name "node name with /" "node name 'a/b' contains '/'" --node a/b
bad_name "node name with .." "must not contain '..'" --node a..b
bad_name "service ../etc" "service name '../etc' must start" --node gw --services web,../etc
bad_name "service with %2F" "contains '%'" --node gw --services a%2Fb
bad_name "service with a space" "contains ' '" --node gw --services "a b"
bad_name "service with a newline" "contains '\\\\x0a'" --node gw --services $'a\nb'
bad_name "empty service" "service name is empty" --node gw --services web,
bad_name "service listed twice" "listed twice" --node gw --services web,web
bad_name "over-long node name" "longer than 63" --node "$(printf 'a%.0s' {1..64})"
bad_name "node lifetime past the CA's" "outlive" --node gw --node-days 3650
rc=0; "$WEFT" ca init --trust-domain Example.org --out "$T/bad" 2>"$T/err" || rc=$?
check "uppercase trust domain: exit 1" test "$rc" -eq 1
check "uppercase trust domain: says lowercase" grep -q "must be lowercase" "$T/err"
check "uppercase trust domain: nothing written" test ! -e "$T/bad"
rc=0; "$WEFT" ca init --trust-domain spiffe://example.org --out "$T/bad" 2>"$T/err" || rc=$?
check "trust domain with a scheme: exit 1" test "$rc" -eq 1

# Usage errors: exit 2.
for args in "ca" "ca frob" "ca init --out $T/x" "ca issue --node gw" "ca init --trust-domain a --out $T/x --days ten" "ca show"; do
    rc=0; "$WEFT" $args >/dev/null 2>&1 || rc=$?
    check "weft $args: exit 2" test "$rc" -eq 2
done
check "weft ca --help exits 0 and shows usage" \
    bash -c '"$0" ca --help | grep -q "^Usage: weft ca init"' "$WEFT"
check "weft ca issue --help exits 0" bash -c '"$0" ca issue --help | grep -q "^Usage: weft ca"' "$WEFT"
rc=0; "$WEFT" ca show --ca "$T/nowhere" 2>"$T/err" || rc=$?
check "ca show of a missing CA: exit 1, one line" \
    bash -c 'test "$0" -eq 1 && test "$(wc -l <"$1")" -eq 1' "$rc" "$T/err"

# Another CA's certificates do not verify against ours, and vice versa.
"$WEFT" ca init --trust-domain example.org --out "$T/other-ca" >/dev/null
"$WEFT" ca issue --ca "$T/other-ca" --node gw-01 --services web --out "$T/ob" >/dev/null
check "another CA's node cert fails openssl verify" \
    bash -c '! openssl verify -CAfile "$0" "$1" >/dev/null 2>&1' "$T/ca/ca.crt" "$T/ob/node.crt"
check "another CA's service cert fails openssl verify" \
    bash -c '! openssl verify -CAfile "$0" "$1" >/dev/null 2>&1' "$T/ca/ca.crt" "$T/ob/svc-web.crt"
check "our cert fails against the other CA" \
    bash -c '! openssl verify -CAfile "$0" "$1" >/dev/null 2>&1' "$T/other-ca/ca.crt" "$T/b/node.crt"

# Keys never reach the terminal.
check "no command printed key material" \
    bash -c '! grep -rq "PRIVATE KEY" "$0"/*.out "$0"/err' "$T"

finish
