#!/usr/bin/env bash
# mTLS against OpenSSL: tests/tools/tls_echo (tls_conf + tls_sess on a
# libevent loop) serves weft-issued certificates; `openssl s_client` is the
# independent client. Proves, on the mbedTLS the build uses (2.28: TLS 1.2
# only; 3.6: TLS 1.3 and 1.2 — tls_echo prints which):
#   - a weft-issued service certificate completes the handshake and echoes;
#   - refused, and counted under the right reason: no client certificate,
#     another CA, another trust domain (whose CA the server does trust),
#     an expired certificate, a service not in the accept set;
#   - TLS 1.2: the server's order wins, ChaCha20-Poly1305 before AES-GCM;
#     TLS 1.3: mbedTLS 3.6 takes the client's order (docs/identity.md);
#   - resumption: a second connection with -sess_in is "Reused".
#
#   openssl s_client --(127.0.0.1:PORT, mTLS)--> tls_echo --once
#      $T/b/svc-a.*            CA $T/ca (example.org)    $T/b/svc-srv.*
#      $T/x/svc-a.*            CA $T/ca2 (example.org, not trusted)
#      $T/y/svc-a.*            CA $T/ca3 (other.org, trusted: bundle = ca + ca3)
#      $T/old.*                CA $T/ca, issued two days ago for one hour (mkcert)
source "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null || die "openssl is not installed (tools/deps.sh should install it)"
: "${WEFT_BUILD_DIR:?WEFT_BUILD_DIR must point at the build directory}"
ECHO=$WEFT_BUILD_DIR/tests/tools/tls_echo
MKCERT=$WEFT_BUILD_DIR/tests/tools/mkcert
[ -x "$ECHO" ] && [ -x "$MKCERT" ] || die "tests/tools not built ($ECHO)"

"$WEFT" ca init --trust-domain example.org --out "$T/ca" >/dev/null
"$WEFT" ca issue --ca "$T/ca" --node gw-01 --services srv,a,b --out "$T/b" >/dev/null
"$WEFT" ca init --trust-domain example.org --out "$T/ca2" >/dev/null
"$WEFT" ca issue --ca "$T/ca2" --node gw-02 --services a --out "$T/x" >/dev/null
"$WEFT" ca init --trust-domain other.org --out "$T/ca3" >/dev/null
"$WEFT" ca issue --ca "$T/ca3" --node gw-03 --services a --out "$T/y" >/dev/null
"$MKCERT" leaf --ca "$T/ca" --name old --hours 1 --at -172800 --out "$T/old"
cat "$T/ca/ca.crt" "$T/ca3/ca.crt" >"$T/bundle-srv.crt"
check "mkcert: the old certificate really is expired" \
    bash -c '! openssl x509 -in "$0" -noout -checkend 0' "$T/old.crt"

OUT=$T/echo.out
"$ECHO" --cert "$T/b/svc-srv.crt" --key "$T/b/svc-srv.key" --bundle "$T/bundle-srv.crt" \
    --listen 127.0.0.1:0 --trust-domain example.org --accept spiffe://example.org/svc/a \
    --once >"$OUT" 2>"$T/echo.err" &
ECHO_PID=$!
PIDS+=("$ECHO_PID")
wait_for 200 0.05 grep -q '^listening ' "$OUT" || die "tls_echo did not start: $(cat "$T/echo.err")"
PORT=$(sed -n 's/^listening //p' "$OUT")
TLS13=$(sed -n 's/^mbedtls .* tls13=\([01]\)$/\1/p' "$OUT")
log "$(grep '^mbedtls' "$OUT"), port $PORT"
if [ "$TLS13" = 1 ]; then DEFAULT_VERSION=TLSv1.3; else DEFAULT_VERSION=TLSv1.2; fi

N=0 # connections so far: each prints exactly one line after "listening"
# client NAME CERT_PREFIX|- [s_client options...]: one connection sending
# "hello weft"; s_client's output in $T/NAME.out; waits for tls_echo's line,
# which it puts in $LINE.
client() {
    local name=$1 who=$2
    shift 2
    local certs=()
    [ "$who" = - ] || certs=(-cert "$who.crt" -key "$who.key")
    echo "hello weft" | timeout 20 openssl s_client -connect "127.0.0.1:$PORT" \
        -CAfile "$T/ca/ca.crt" -verify_return_error -ign_eof "${certs[@]}" "$@" \
        >"$T/$name.out" 2>&1 || true
    N=$((N + 1))
    wait_for 200 0.05 lines_ge "$OUT" $((N + 2)) || true
    LINE=$(sed -n "$((N + 2))p" "$OUT")
    log "$name: $LINE"
}

# --- accepted ---
client ok "$T/b/svc-a"
check "weft cert: accepted as svc/a, $DEFAULT_VERSION" \
    grep -q "^ok spiffe://example.org/svc/a $DEFAULT_VERSION " <<<"$LINE"
check "weft cert: data echoed" grep -q '^hello weft$' "$T/ok.out"
check "weft cert: s_client verified the server" grep -q 'Verify return code: 0 (ok)' "$T/ok.out"

client tls12 "$T/b/svc-a" -tls1_2 \
    -cipher 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305'
check "TLS 1.2, client offers AES-GCM first: the server picks ChaCha20-Poly1305" \
    grep -q '^ok spiffe://example.org/svc/a TLSv1.2 TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256 resumed=0$' <<<"$LINE"
check "TLS 1.2: data echoed" grep -q '^hello weft$' "$T/tls12.out"

client tls12rsa "$T/b/svc-a" -tls1_2 -cipher 'ECDHE-RSA-AES128-GCM-SHA256:AES128-GCM-SHA256'
check "TLS 1.2 without ECDHE-ECDSA: refused" grep -q '^refused protocol$' <<<"$LINE"

if [ "$TLS13" = 1 ]; then
    client tls13 "$T/b/svc-a" -tls1_3 \
        -ciphersuites 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256'
    check "TLS 1.3, both offered: ChaCha20-Poly1305" \
        grep -q '^ok spiffe://example.org/svc/a TLSv1.3 TLS1-3-CHACHA20-POLY1305-SHA256 resumed=0$' <<<"$LINE"
    check "TLS 1.3: data echoed" grep -q '^hello weft$' "$T/tls13.out"
    client tls13aes "$T/b/svc-a" -tls1_3 \
        -ciphersuites 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256'
    check "TLS 1.3, AES-GCM listed first: mbedTLS 3.6 follows the client (documented)" \
        grep -q '^ok spiffe://example.org/svc/a TLSv1.3 TLS1-3-AES-128-GCM-SHA256 resumed=0$' <<<"$LINE"
else
    client tls13 "$T/b/svc-a" -tls1_3
    check "mbedTLS 2.28: TLS 1.3 only is refused" grep -q '^refused protocol$' <<<"$LINE"
fi
client tls11 "$T/b/svc-a" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
check "TLS 1.1: refused" grep -q '^refused protocol$' <<<"$LINE"

# --- refused, each for its reason ---
client nocert -
check "no client certificate: refused no_client_cert" grep -q '^refused no_client_cert$' <<<"$LINE"
check "no client certificate: nothing echoed" bash -c '! grep -q "^hello weft$" "$0"' "$T/nocert.out"
client otherca "$T/x/svc-a"
check "another CA: refused bad_chain" grep -q '^refused bad_chain$' <<<"$LINE"
check "another CA: nothing echoed" bash -c '! grep -q "^hello weft$" "$0"' "$T/otherca.out"
client othertd "$T/y/svc-a"
check "another trust domain (trusted CA): refused trust_domain" grep -q '^refused trust_domain$' <<<"$LINE"
client expired "$T/old"
check "expired certificate: refused expired" grep -q '^refused expired$' <<<"$LINE"
check "expired certificate: nothing echoed" bash -c '! grep -q "^hello weft$" "$0"' "$T/expired.out"
client notaccepted "$T/b/svc-b"
check "svc/b is not accepted: refused id_not_accepted" grep -q '^refused id_not_accepted$' <<<"$LINE"
check "svc/b: nothing echoed" bash -c '! grep -q "^hello weft$" "$0"' "$T/notaccepted.out"

# --- resumption with the server's ticket ---
client first "$T/b/svc-a" -sess_out "$T/sess.pem"
check "first connection: full handshake" grep -q ' resumed=0$' <<<"$LINE"
check "first connection: s_client saved the session" test -s "$T/sess.pem"
client again "$T/b/svc-a" -sess_in "$T/sess.pem"
check "second connection: s_client says Reused" grep -q "^Reused, $DEFAULT_VERSION" "$T/again.out"
check "second connection: resumed=1, still svc/a" \
    grep -q "^ok spiffe://example.org/svc/a $DEFAULT_VERSION .* resumed=1$" <<<"$LINE"
check "second connection: data echoed" grep -q '^hello weft$' "$T/again.out"
client first12 "$T/b/svc-a" -tls1_2 -sess_out "$T/sess12.pem"
client again12 "$T/b/svc-a" -tls1_2 -sess_in "$T/sess12.pem"
check "TLS 1.2 ticket: Reused" grep -q '^Reused, TLSv1.2' "$T/again12.out"
check "TLS 1.2 ticket: resumed=1, still svc/a" \
    grep -q '^ok spiffe://example.org/svc/a TLSv1.2 .* resumed=1$' <<<"$LINE"

# --- the counters ---
kill -TERM "$ECHO_PID"
wait "$ECHO_PID" || true
STATS=$(grep '^stats ' "$OUT" || true)
log "$STATS"
OKS=$(grep -c '^ok ' "$OUT" || true)
check "stats: every accepted handshake counted ($OKS)" grep -q " handshakes=$OKS " <<<"$STATS"
check "stats: two resumed" grep -q ' resumed=2 ' <<<"$STATS"
for r in no_client_cert bad_chain trust_domain expired id_not_accepted; do
    check "stats: $r=1" grep -q " $r=1\( \|$\)" <<<"$STATS"
done
check "stats: protocol refusals counted" bash -c '[[ $0 =~ \ protocol=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 2 ]' "$STATS"
finish
