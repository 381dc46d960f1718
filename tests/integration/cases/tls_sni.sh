#!/usr/bin/env bash
# Server names (SNI) against OpenSSL: tests/tools/tls_echo with certificates
# by name (tls_conf_add_sni_cert) and names required (tls_conf_sni_required);
# `openssl s_client -servername` is the independent client. Proves, on the
# mbedTLS the build uses (2.28: TLS 1.2; 3.6: TLS 1.3 and 1.2):
#   - the name picks the certificate the server presents (s_client verifies
#     it and shows its subject), and tls_sess_sni() reports it;
#   - an unknown name, and no name at all, are refused as unknown_sni, with
#     the unrecognized_name alert (112) for an unknown one, and counted;
#   - resumption (s_client -sess_in, TLS 1.3 and 1.2 tickets) still reports
#     the name: mbedTLS runs the SNI callback on resumed ClientHellos too;
#     a ticket resumed without a name is refused once the handshake is over.
#
#   openssl s_client -servername NAME --(127.0.0.1:PORT, mTLS)--> tls_echo --once
#      $T/a.*  (svc/a)                   own $T/srv.*, by name $T/inventory.*,
#      all from CA $T/ca (mkcert)        $T/billing.*; --sni-required
source "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null || die "openssl is not installed (tools/deps.sh should install it)"
: "${WEFT_BUILD_DIR:?WEFT_BUILD_DIR must point at the build directory}"
ECHO=$WEFT_BUILD_DIR/tests/tools/tls_echo
MKCERT=$WEFT_BUILD_DIR/tests/tools/mkcert
[ -x "$ECHO" ] && [ -x "$MKCERT" ] || die "tests/tools not built ($ECHO)"

"$MKCERT" ca --trust-domain example.org --out "$T/ca"
for n in a srv inventory billing; do
    "$MKCERT" leaf --ca "$T/ca" --name "$n" --hours 24 --out "$T/$n"
done

OUT=$T/echo.out
"$ECHO" --cert "$T/srv.crt" --key "$T/srv.key" --bundle "$T/ca/ca.crt" \
    --listen 127.0.0.1:0 --trust-domain example.org --accept spiffe://example.org/svc/a \
    --sni-cert "inventory:$T/inventory.crt:$T/inventory.key" \
    --sni-cert "billing:$T/billing.crt:$T/billing.key" --sni-required \
    --once >"$OUT" 2>"$T/echo.err" &
ECHO_PID=$!
PIDS+=("$ECHO_PID")
wait_for 200 0.05 grep -q '^listening ' "$OUT" || die "tls_echo did not start: $(cat "$T/echo.err")"
PORT=$(sed -n 's/^listening //p' "$OUT")
TLS13=$(sed -n 's/^mbedtls .* tls13=\([01]\)$/\1/p' "$OUT")
log "$(grep '^mbedtls' "$OUT"), port $PORT"
if [ "$TLS13" = 1 ]; then DEFAULT_VERSION=TLSv1.3; else DEFAULT_VERSION=TLSv1.2; fi

N=0 # connections so far: each prints exactly one line after the two header lines
# client NAME [s_client options...]: one connection as svc/a sending "hello
# weft"; s_client's output in $T/NAME.out; tls_echo's line in $LINE.
client() {
    local name=$1
    shift
    echo "hello weft" | timeout 20 openssl s_client -connect "127.0.0.1:$PORT" \
        -CAfile "$T/ca/ca.crt" -verify_return_error -ign_eof \
        -cert "$T/a.crt" -key "$T/a.key" "$@" >"$T/$name.out" 2>&1 || true
    N=$((N + 1))
    wait_for 200 0.05 lines_ge "$OUT" $((N + 2)) || true
    LINE=$(sed -n "$((N + 2))p" "$OUT")
    log "$name: $LINE"
}
# subject_cn FILE NAME: s_client's output shows the server certificate's CN.
subject_cn() { grep -Eq "^subject=.*CN ?= ?$2\$" "$1"; }

# --- the name picks the certificate ---
client inventory -servername inventory
check "SNI inventory: accepted, svc/a, $DEFAULT_VERSION, sni=inventory" \
    grep -q "^ok spiffe://example.org/svc/a $DEFAULT_VERSION .* resumed=0 sni=inventory$" <<<"$LINE"
check "SNI inventory: s_client verified the inventory certificate" \
    bash -c 'grep -q "Verify return code: 0 (ok)" "$0" && grep -Eq "^subject=.*CN ?= ?inventory$" "$0"' \
    "$T/inventory.out"
check "SNI inventory: data echoed" grep -q '^hello weft$' "$T/inventory.out"
client billing -servername billing
check "SNI billing: sni=billing" grep -q ' sni=billing$' <<<"$LINE"
check "SNI billing: the billing certificate" subject_cn "$T/billing.out" billing

# --- refused: an unknown name, no name ---
client unknown -servername nosuch
check "SNI nosuch: refused unknown_sni" grep -q '^refused unknown_sni$' <<<"$LINE"
check "SNI nosuch: s_client got unrecognized_name (alert 112)" \
    grep -Eq 'unrecognized name|alert number 112' "$T/unknown.out"
check "SNI nosuch: nothing echoed" bash -c '! grep -q "^hello weft$" "$0"' "$T/unknown.out"
client noname -noservername
check "no SNI: refused unknown_sni" grep -q '^refused unknown_sni$' <<<"$LINE"
check "no SNI: nothing echoed" bash -c '! grep -q "^hello weft$" "$0"' "$T/noname.out"

# --- resumption keeps the name ---
client first -servername inventory -sess_out "$T/sess.pem"
check "first connection: full handshake" grep -q ' resumed=0 sni=inventory$' <<<"$LINE"
client again -servername inventory -sess_in "$T/sess.pem"
check "resumed ($DEFAULT_VERSION): s_client says Reused" grep -q "^Reused, $DEFAULT_VERSION" "$T/again.out"
check "resumed ($DEFAULT_VERSION): resumed=1 sni=inventory" \
    grep -q "^ok spiffe://example.org/svc/a $DEFAULT_VERSION .* resumed=1 sni=inventory$" <<<"$LINE"
client first12 -tls1_2 -servername billing -sess_out "$T/sess12.pem"
client again12 -tls1_2 -servername billing -sess_in "$T/sess12.pem"
check "resumed (TLS 1.2 ticket): Reused" grep -q '^Reused, TLSv1.2' "$T/again12.out"
check "resumed (TLS 1.2 ticket): resumed=1 sni=billing" \
    grep -q '^ok spiffe://example.org/svc/a TLSv1.2 .* resumed=1 sni=billing$' <<<"$LINE"
client again12noname -tls1_2 -noservername -sess_in "$T/sess12.pem"
check "the TLS 1.2 ticket without a name: resumed, then refused unknown_sni" \
    bash -c 'grep -q "^refused unknown_sni$" <<<"$0" && grep -q "^Reused, TLSv1.2" "$1"' \
    "$LINE" "$T/again12noname.out"
check "the TLS 1.2 ticket without a name: s_client got alert 112, nothing echoed" \
    bash -c 'grep -Eq "unrecognized name|alert number 112" "$0" && ! grep -q "^hello weft$" "$0"' \
    "$T/again12noname.out"

# --- the counters ---
kill -TERM "$ECHO_PID"
wait "$ECHO_PID" || true
STATS=$(grep '^stats ' "$OUT" || true)
log "$STATS"
check "stats: three unknown_sni refusals" grep -q ' unknown_sni=3\( \|$\)' <<<"$STATS"
check "stats: six handshakes, two resumed" grep -q ' handshakes=6 resumed=2 ' <<<"$STATS"
finish
