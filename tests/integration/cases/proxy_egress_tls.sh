#!/usr/bin/env bash
# Egress with TLS origination (docs/proxy.md, "Egress"): one agent, no mesh,
# real TLS servers we did not write, certificates made by openssl:
#
#   curl ─plain─▶ [upstream ext]   tls_sni = backend.test ══TLS══▶ nginx  (EC cert, DNS:backend.test)
#   curl ─plain─▶ [upstream wrong] tls_sni = wrong.test   ══TLS══▶ nginx
#   curl ─plain─▶ [upstream swap]  tls_ca = a file holding another CA ═▶ nginx
#   curl ─plain─▶ [upstream rsa]   TLS 1.2 ══▶ openssl s_server (RSA cert, DNS:backend.test)
#   curl ─plain─▶ [upstream rsa13] any version ══▶ openssl s_server (the same)
#
# Claims:
#   - through `ext` curl gets nginx's page; nginx saw the SNI backend.test;
#     a second connection resumes the TLS session (nginx's
#     $ssl_session_reused is "r"), in TLS 1.3 on mbedTLS 3.6 (1.2 on 2.28);
#   - `wrong` is refused by weft (the certificate is not for wrong.test):
#     curl gets no page, the upstream counts tls_failures.name_mismatch = 1
#     (connect_retries = 0: one attempt);
#   - `swap` verifies against another CA: bad_chain = 1 and no retry,
#     though connect_retries is at its default of 2 (one destination: a
#     certificate refused once is refused again); after the CA file
#     is replaced in place by the right CA and the agent reloads (SIGHUP),
#     the upstream is replaced and the same curl gets the page;
#   - a TLS 1.2 server with an RSA key (openssl s_server -tls1_2) is reached
#     with an ECDHE-RSA suite (OpenSSL would sign with RSA-PSS, which
#     mbedTLS 3.6.6 refuses in TLS 1.2: weft lists PKCS#1 first); with
#     every version allowed, TLS 1.3 on mbedTLS 3.6 (RSA-PSS there);
#   - the agent refuses to start with an unreadable tls_ca (naming the
#     file), and with an IP address and no tls_sni (no name to check).
source "$(dirname "$0")/../lib.sh"

command -v nginx >/dev/null || die "nginx is needed (tools/deps.sh installs nginx-light)"

# ---- certificates (openssl) ----
cd "$T"
mkca() { # mkca NAME
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
        -out "$1.pem" -subj "/CN=weft test $1" -days 2 2>/dev/null
}
mkleaf() { # mkleaf NAME CA KEYSPEC
    openssl req -new -newkey "$3" -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
    printf 'subjectAltName=DNS:backend.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 1 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
mkca ca
mkca ca2
mkleaf srv ca ec:<(openssl ecparam -name prime256v1)
mkleaf rsa ca rsa:2048
check "openssl: the server certificates verify against ca.pem" \
    openssl verify -CAfile ca.pem srv.pem rsa.pem
cd - >/dev/null

# ---- nginx: HTTPS on loopback ----
NG=$(free_port)
mkdir -p "$T/ng"
cat >"$T/ng/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $T/ng/nginx.pid;
error_log $T/ng/error.log;
events { worker_connections 64; }
http {
    log_format tls '\$ssl_server_name \$ssl_protocol \$ssl_session_reused \$status';
    access_log $T/ng/access.log tls;
    client_body_temp_path $T/ng/client;
    proxy_temp_path $T/ng/proxy;
    fastcgi_temp_path $T/ng/fastcgi;
    uwsgi_temp_path $T/ng/uwsgi;
    scgi_temp_path $T/ng/scgi;
    server {
        listen 127.0.0.1:$NG ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate $T/srv.pem;
        ssl_certificate_key $T/srv.key;
        location / { return 200 "hello from backend.test\n"; }
    }
}
EOF
nginx -p "$T/ng" -e "$T/ng/error.log" -c "$T/ng/nginx.conf" >"$T/ng/out" 2>&1 &
PIDS+=("$!")
wait_for 200 0.05 curl -sf -o /dev/null --cacert "$T/ca.pem" \
    --resolve "backend.test:$NG:127.0.0.1" "https://backend.test:$NG/" ||
    die "nginx did not start: $(cat "$T/ng/out" "$T/ng/error.log" 2>/dev/null)"
log "$(nginx -v 2>&1)"
: >"$T/ng/access.log"

# ---- openssl s_server: TLS 1.2 only, an RSA key ----
OS=$(free_port)
openssl s_server -accept "127.0.0.1:$OS" -cert "$T/rsa.pem" -key "$T/rsa.key" -tls1_2 -www \
    >"$T/s_server.log" 2>&1 &
PIDS+=("$!")
OS13=$(free_port)
openssl s_server -accept "127.0.0.1:$OS13" -cert "$T/rsa.pem" -key "$T/rsa.key" -www \
    >"$T/s_server13.log" 2>&1 &
PIDS+=("$!")
wait_for 200 0.05 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0' "$OS" || die "s_server did not start"
wait_for 200 0.05 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0' "$OS13" || die "s_server (all versions) did not start"

# ---- the agent ----
# The version weft speaks: TLS 1.3 on mbedTLS 3.6, TLS 1.2 on 2.28.
TLSV=TLSv1.2
"$WEFT" version | grep -q 'mbedTLS 3\.' && TLSV=TLSv1.3
UEXT=$(free_port)
UWRONG=$(free_port)
USWAP=$(free_port)
URSA=$(free_port)
URSA13=$(free_port)
cp "$T/ca2.pem" "$T/swap.pem"
egress_conf() { # egress_conf SNI_OF_WRONG
    write_config "$T/eg.ini" eg "$T/d-eg" \
        "[upstream ext]" "listen = 127.0.0.1:$UEXT" "address = 127.0.0.1:$NG" \
        "tls_ca = $T/ca.pem" "tls_sni = backend.test" \
        "[upstream wrong]" "listen = 127.0.0.1:$UWRONG" "address = 127.0.0.1:$NG" \
        "tls_ca = $T/ca.pem" "tls_sni = $1" "connect_retries = 0" \
        "[upstream swap]" "listen = 127.0.0.1:$USWAP" "address = 127.0.0.1:$NG" \
        "tls_ca = $T/swap.pem" "tls_sni = backend.test" \
        "[upstream rsa]" "listen = 127.0.0.1:$URSA" "address = 127.0.0.1:$OS" \
        "tls_ca = $T/ca.pem" "tls_sni = backend.test" \
        "[upstream rsa13]" "listen = 127.0.0.1:$URSA13" "address = 127.0.0.1:$OS13" \
        "tls_ca = $T/ca.pem" "tls_sni = backend.test"
}
egress_conf wrong.test
start_agent "$T/eg.ini" "$T/eg.log"
EG_PID=$AGENT_PID
wait_ready "$(mesh_sock eg)" || die "the agent did not start: $(tail -20 "$T/eg.log")"

get() { curl -sS --max-time 10 "http://127.0.0.1:$1/" 2>&1; }

OUT=$(get "$UEXT")
check "ext: curl gets nginx's page through weft" grep -qx "hello from backend.test" <<<"$OUT"
check "...nginx saw the SNI backend.test, $TLSV, a full handshake" grep -qx "backend.test $TLSV \. 200" "$T/ng/access.log"
OUT=$(get "$UEXT")
check "ext: again" grep -qx "hello from backend.test" <<<"$OUT"
wait_for 100 0.05 count_ge "$T/ng/access.log" . 2 || fail "nginx logged $(wc -l <"$T/ng/access.log") requests"
check "...the second connection resumed the TLS session" grep -qx "backend.test $TLSV r 200" "$T/ng/access.log"
log "nginx: $(tr '\n' ';' <"$T/ng/access.log")"
check "ext: no TLS failure counted" px_stat_eq eg up:ext tls_failures "{}"
check "ext: 2 opened" px_stat_eq eg up:ext opened 2

OUT=$(get "$UWRONG") && fail "wrong: curl got a reply: $OUT" || pass "wrong: curl gets no page ($OUT)"
check "...no page" bash -c '! grep -q hello <<<"$0"' "$OUT"
wait_for 100 0.05 px_stat_eq eg up:wrong tls_failures.name_mismatch 1 &&
    pass "wrong: counted as tls_failures.name_mismatch = 1" ||
    fail "wrong: name_mismatch $(px_stat eg up:wrong tls_failures)"
check "wrong: the log says why" grep -q "upstream wrong: 127.0.0.1:$NG: tls: name_mismatch: the server.s certificate is not for .wrong.test." "$T/eg.log"
check "wrong: nothing relayed" px_stat_eq eg up:wrong opened 0

OUT=$(get "$USWAP") && fail "swap: curl got a reply: $OUT" || pass "swap: another CA, curl gets no page"
wait_for 100 0.05 px_stat_eq eg up:swap tls_failures.bad_chain 1 &&
    pass "swap: counted as tls_failures.bad_chain = 1" ||
    fail "swap: bad_chain $(px_stat eg up:swap tls_failures)"
# curl saw the end only after the last attempt: the counters are final.
check "swap: one attempt, no retry of a refused certificate" px_stat_eq eg up:swap retries 0
check "...and no second bad_chain" px_stat_eq eg up:swap tls_failures.bad_chain 1
check "...one connect failure" px_stat_eq eg up:swap connect_failures 1

OUT=$(get "$URSA") || true
check "rsa: s_server's page through weft, TLS 1.2 with ECDHE-RSA" \
    grep -Eq 'Cipher is ECDHE-RSA-(CHACHA20-POLY1305|AES128-GCM-SHA256|AES256-GCM-SHA384)' <<<"$OUT"
grep -q "Cipher is" <<<"$OUT" || log "rsa: $OUT"
OUT=$(get "$URSA13") || true
check "rsa13: s_server's page through weft in $TLSV" grep -q "New, $TLSV, Cipher is" <<<"$OUT"
grep -q "Cipher is" <<<"$OUT" || log "rsa13: $OUT"

# ---- reload: the CA file replaced in place, and a new tls_sni ----
cp "$T/ca.pem" "$T/swap.pem"
egress_conf backend.test
kill -HUP "$EG_PID"
wait_for 100 0.05 bash -c '"$0" status --json --admin "$1" | grep -q "\"reloads\":1"' "$WEFT" \
    "$(mesh_sock eg)" || fail "the reload was not taken: $(tail -5 "$T/eg.log")"
check "reload: swap was replaced (its CA file changed)" grep -q "reload: upstream swap closed (changed)" "$T/eg.log"
check "reload: wrong was replaced (tls_sni changed)" grep -q "reload: upstream wrong closed (changed)" "$T/eg.log"
check "reload: ext was kept" bash -c '! grep -q "reload: upstream ext closed" "$0"' "$T/eg.log"
wait_for 100 0.05 bash -c 'curl -sS --max-time 10 "http://127.0.0.1:$0/" | grep -qx "hello from backend.test"' \
    "$USWAP" && pass "swap: the same curl now gets the page" || fail "swap after reload: $(get "$USWAP")"
wait_for 100 0.05 bash -c 'curl -sS --max-time 10 "http://127.0.0.1:$0/" | grep -qx "hello from backend.test"' \
    "$UWRONG" && pass "wrong, now backend.test: gets the page" || fail "wrong after reload: $(get "$UWRONG")"
stop_agent "$EG_PID"
check "the agent stops cleanly" test "$STOP_RC" -eq 0

# ---- refused at start ----
UBAD=$(free_port)
write_config "$T/bad1.ini" bad1 "$T/d-bad1" "[upstream x]" "listen = 127.0.0.1:$UBAD" \
    "address = 127.0.0.1:$NG" "tls_ca = $T/nosuch.pem" "tls_sni = backend.test"
rc=0
timeout 30 "$WEFT" agent -c "$T/bad1.ini" >"$T/bad1.log" 2>&1 || rc=$?
check "an unreadable tls_ca: the agent exits 1" test "$rc" -eq 1
check "...naming the upstream and the file" grep -q "upstream x: tls_ca: .*$T/nosuch.pem" "$T/bad1.log"
write_config "$T/bad2.ini" bad2 "$T/d-bad2" "[upstream y]" "listen = 127.0.0.1:$UBAD" \
    "address = 127.0.0.1:$NG" "tls_ca = $T/ca.pem"
rc=0
timeout 30 "$WEFT" agent -c "$T/bad2.ini" >"$T/bad2.log" 2>&1 || rc=$?
check "an IP address and no tls_sni: the agent exits 1" test "$rc" -eq 1
check "...saying to set tls_sni, with the file and line" \
    grep -q "bad2.ini:[0-9]*: \[upstream y\] tls_ca: origination needs a server name.*set tls_sni" "$T/bad2.log"
rc=0
"$WEFT" config check "$T/bad2.ini" >"$T/bad2-check.log" 2>&1 || rc=$?
check "weft config check refuses it too" test "$rc" -ne 0
check "...with the same message" grep -q "bad2.ini:[0-9]*: \[upstream y\] tls_ca: origination needs a server name" "$T/bad2-check.log"

finish
