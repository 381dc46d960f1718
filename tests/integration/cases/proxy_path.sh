#!/usr/bin/env bash
# The data plane's whole path (docs/proxy.md), three agents on loopback:
#
#   curl ─▶ n1 [upstream web]   ══mTLS, SNI web══▶   n2 inbound ─▶ nginx
#   curl ─▶ n1 [upstream files] ══mTLS, SNI files══▶ n3 inbound ─▶ python3 -m http.server
#   px_peer ─▶ n1 [upstream echo] ══mTLS, SNI echo══▶ n2 or n3 ─▶ px_peer serve
#   python ─▶ n1 [upstream rev] ══mTLS, SNI rev══▶ n3 ─▶ px_peer serve --close-first
#
# n1's upstreams present svc/client (from = client).
# Claims:
#   - curl gets nginx's and http.server's files, byte for byte;
#   - 200 MB both ways through two weft hops: the far app's checksum of what
#     it got and ours of what came back both match what was sent;
#   - half-close: the client's shutdown(SHUT_WR) reaches the far app (it
#     answers "EOF <sha>" only after its read returns 0) and that answer
#     still comes back over the half-closed connection; and the other way
#     round: the app's FIN reaches the client first (after its "bye"), and
#     1 MB the client sends after that still reaches the app intact;
#   - 200 concurrent connections, each echoed;
#   - counters: for the 200 MB transfer n1 counts exactly one connection
#     opened and closed and exactly the bytes each way (200000000 in,
#     200000000 + the 70-byte EOF line out); n1's echo totals equal the sum
#     of n2's and n3's inbound echo totals; nothing is left active;
#   - no agent's VmRSS grows by more than 32 MiB over the 200 MB transfer
#     (each relayed 400 MB: a leak of a tenth of a percent per byte would
#     show; under ASan with a 1 MB quarantine, see lib.sh);
#   - the inbound presents the identity the SNI names: openssl s_client
#     (as svc/client) with -servername web verifies n2's certificate for
#     spiffe://example.org/svc/web; without a name, or with a name n2 does
#     not serve, the handshake is refused and counted as unknown_sni.
source "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null || die "openssl is not installed"
command -v curl >/dev/null || die "curl is not installed"
command -v nginx >/dev/null || die "nginx is not installed (tools/deps.sh installs nginx-light)"

asan_small_quarantine
mesh_init
mesh_node n1 client
mesh_node n2 web,echo
mesh_node n3 files,echo,rev
WEB=$(free_port)
FILES=$(free_port)
E2=$(free_port)
E3=$(free_port)
UWEB=$(free_port)
UFILES=$(free_port)
UECHO=$(free_port)
REV=$(free_port)
UREV=$(free_port)

# ---- the apps ----
mkdir -p "$T/www" "$T/ng"
head -c 300000 /dev/urandom >"$T/www/blob.bin"
cat >"$T/ng/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $T/ng/nginx.pid;
error_log $T/ng/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $T/ng/client;
    proxy_temp_path $T/ng/proxy;
    fastcgi_temp_path $T/ng/fastcgi;
    uwsgi_temp_path $T/ng/uwsgi;
    scgi_temp_path $T/ng/scgi;
    server {
        listen 127.0.0.1:$WEB;
        root $T/www;
        location = /health { return 200 "nginx ok\n"; }
    }
}
EOF
nginx -p "$T/ng" -e "$T/ng/error.log" -c "$T/ng/nginx.conf" >"$T/ng/out" 2>&1 &
PIDS+=("$!")
python3 -m http.server "$FILES" --bind 127.0.0.1 --directory "$T/www" >"$T/files.log" 2>&1 &
PIDS+=("$!")
python3 "$PX_PEER" serve "$E2" >"$T/e2.log" 2>&1 &
PIDS+=("$!")
python3 "$PX_PEER" serve "$E3" >"$T/e3.log" 2>&1 &
PIDS+=("$!")
python3 "$PX_PEER" serve "$REV" --close-first >"$T/rev.log" 2>&1 &
PIDS+=("$!")
wait_for 200 0.05 curl -sf -o /dev/null "http://127.0.0.1:$WEB/health" ||
    die "nginx did not start: $(cat "$T/ng/out" "$T/ng/error.log" 2>/dev/null)"
log "$(nginx -v 2>&1)"

# ---- the agents ----
svc() { # NAME PORT: a [service] section with a quick tcp check
    printf '%s\n' "[service $1]" "port = $2" "check = tcp" "check_interval = 1s" \
        "check_timeout = 500ms" "healthy_threshold = 1"
}
up() { # NAME PORT [LINES...]
    local n=$1 p=$2
    shift 2
    printf '%s\n' "[upstream $n]" "listen = 127.0.0.1:$p" "service = $n" "from = client" "$@"
}
mapfile -t C1 < <(up web "$UWEB"; up files "$UFILES"; up rev "$UREV"
    # 200 connections are set up at once: above the default max_pending (128).
    up echo "$UECHO" "max_pending = 256")
mapfile -t C2 < <(printf '%s\n' "[proxy]" "inbound = 127.0.0.1:${MESH_IN[n2]}"; svc web "$WEB"; svc echo "$E2")
mapfile -t C3 < <(printf '%s\n' "[proxy]" "inbound = 127.0.0.1:${MESH_IN[n3]}"; svc files "$FILES"; svc echo "$E3"; svc rev "$REV")
mesh_conf n1 "${C1[@]}"
mesh_conf n2 "${C2[@]}"
mesh_conf n3 "${C3[@]}"
for n in n1 n2 n3; do mesh_start "$n"; done
for s in web@n2 echo@n2 files@n3 echo@n3 rev@n3; do
    wait_for 300 0.1 mesh_healthy n1 "${s%@*}" "${s#*@}" || die "$s not passing at n1"
done
pass "n1's catalog has web@n2, files@n3, rev@n3, echo@n2 and echo@n3 passing"

# ---- curl through the mesh ----
get() { # PORT FILE
    curl -fsS --max-time 20 "http://127.0.0.1:$1/blob.bin" -o "$T/got-$1" && cmp -s "$T/got-$1" "$T/www/blob.bin"
}
wait_for 100 0.1 get "$UWEB" && pass "curl through the mesh to nginx (n2): the 300 kB file intact" ||
    fail "curl to nginx through the mesh: $(tail -5 "$T/n1.log")"
wait_for 100 0.1 get "$UFILES" && pass "curl through the mesh to python http.server (n3): the file intact" ||
    fail "curl to http.server through the mesh: $(tail -5 "$T/n1.log")"
curl -sS --max-time 20 "http://127.0.0.1:$UWEB/health" >"$T/health.txt" 2>&1 || true
check "nginx's own answer comes back" grep -qx "nginx ok" "$T/health.txt"

# ---- half-close ----
# px_peer serve answers "\nEOF <sha256>\n" only once its read returned 0
# (our FIN reached it), then closes; send checks that answer came back.
wait_for 50 0.1 python3 "$PX_PEER" send 127.0.0.1 "$UECHO" 1000 >"$T/hc.json" &&
    pass "half-close: the FIN reaches the far app and its answer after it comes back ($(cat "$T/hc.json"))" ||
    fail "half-close: $(cat "$T/hc.json")"
# And written out by hand, without the echo's help: nothing but our FIN
# makes the server answer.
python3 - "$UECHO" >"$T/hc2.txt" 2>&1 <<'EOF' && pass "half-close by hand: the reply follows our shutdown(SHUT_WR)" || fail "half-close by hand: $(cat "$T/hc2.txt")"
import hashlib, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"ping")
assert s.recv(4) == b"ping"
s.settimeout(0.5)
try:  # no EOF line before the FIN: the server is still reading
    early = s.recv(100)
except socket.timeout:
    early = b""
assert early == b"", early
s.settimeout(20)
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    got += b
want = b"\nEOF " + hashlib.sha256(b"ping").hexdigest().encode() + b"\n"
assert got == want, got
print("ok")
EOF

# The app closes its sending side first; the client's bytes after that
# must still reach it (the relay keeps the other direction open).
revcall() {
    python3 - "$UREV" >"$T/rev-client.txt" 2>&1 <<'EOF'
import hashlib, os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
got = b""
while True:
    b = s.recv(100)
    if not b:
        break
    got += b
assert got == b"bye\n", got
data = os.urandom(1000000)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
s.recv(1)  # the app closes once it has read everything
print("sent %d %s" % (len(data), hashlib.sha256(data).hexdigest()))
EOF
}
if wait_for 50 0.1 revcall; then
    pass "reverse half-close: the app's FIN reached the client after its bye"
    sent=$(sed -n 's/^sent //p' "$T/rev-client.txt")
    wait_for 100 0.05 grep -q "^got $sent\$" "$T/rev.log" &&
        pass "...and the 1 MB sent after it reached the app intact" ||
        fail "reverse half-close: the app got $(cat "$T/rev.log"), the client sent $sent"
else
    fail "reverse half-close: $(cat "$T/rev-client.txt")"
fi

# ---- 200 MB both ways ----
B=200000000
settled() { px_stat_eq n1 up:echo active 0 && px_stat_eq n2 in:echo active 0 && px_stat_eq n3 in:echo active 0; }
wait_for 200 0.05 settled || fail "echo connections left active before the bulk transfer"
declare -A before
snap() { # PREFIX: echo counters at n1, n2, n3
    local f
    for f in opened closed bytes_in bytes_out; do
        before[$1-n1-$f]=$(px_stat n1 up:echo "$f")
        before[$1-n2-$f]=$(px_stat n2 in:echo "$f")
        before[$1-n3-$f]=$(px_stat n3 in:echo "$f")
    done
}
snap a
declare -A R0
for n in n1 n2 n3; do R0[$n]=$(rss_kb "${MESH_PID[$n]}"); done
if timeout 600 python3 "$PX_PEER" send 127.0.0.1 "$UECHO" "$B" >"$T/bulk.json"; then
    pass "200 MB both ways through two hops, checksums match ($(cat "$T/bulk.json"))"
else
    fail "200 MB both ways: $(cat "$T/bulk.json")"
fi
wait_for 200 0.05 settled || fail "the bulk connection still active after it ended"
snap b
for n in n1 n2 n3; do
    r=$(rss_kb "${MESH_PID[$n]}")
    check "$n: VmRSS ${R0[$n]} kB before the 200 MB, $r kB after: less than 32 MiB more" \
        test "$r" -lt $((R0[$n] + 32 * 1024))
done
delta() { echo $((${before[b-$1-$2]} - ${before[a-$1-$2]})); }
check "n1 up:echo: one connection opened for the transfer ($(delta n1 opened))" test "$(delta n1 opened)" = 1
check "n1 up:echo: and closed ($(delta n1 closed))" test "$(delta n1 closed)" = 1
check "n1 up:echo: bytes_in is exactly the 200000000 sent ($(delta n1 bytes_in))" test "$(delta n1 bytes_in)" = "$B"
check "n1 up:echo: bytes_out is the echo plus the 70-byte EOF line ($(delta n1 bytes_out))" \
    test "$(delta n1 bytes_out)" = $((B + 70))
in_in=$(($(delta n2 bytes_in) + $(delta n3 bytes_in)))
in_out=$(($(delta n2 bytes_out) + $(delta n3 bytes_out)))
check "inbound (n2 + n3): the same bytes in ($in_in)" test "$in_in" = "$B"
check "inbound (n2 + n3): the same bytes out ($in_out)" test "$in_out" = $((B + 70))

# ---- 200 at once ----
timeout 300 python3 "$PX_PEER" many 127.0.0.1 "$UECHO" 200 >"$T/many.json" &&
    pass "200 concurrent connections, each echoed ($(cat "$T/many.json"))" ||
    fail "200 concurrent connections: $(cat "$T/many.json")"

# ---- the totals agree ----
wait_for 200 0.05 settled && pass "no echo connection left active at n1, n2 or n3" ||
    fail "echo connections left active"
for f in opened closed bytes_in bytes_out; do
    a=$(px_stat n1 up:echo "$f")
    b=$(($(px_stat n2 in:echo "$f") + $(px_stat n3 in:echo "$f")))
    check "echo $f: n1's upstream ($a) = n2's + n3's inbound ($b)" test "$a" = "$b"
done
check "n1 up:echo: opened = closed" test "$(px_stat n1 up:echo opened)" = "$(px_stat n1 up:echo closed)"
check "n1 up:echo: at least 202 connections" px_stat_ge n1 up:echo opened 202
check "n1 up:echo: no overflow" px_stat_eq n1 up:echo overflow 0
check "n1 up:echo: every end clean (no reset)" px_stat_eq n1 up:echo ends.closed "$(px_stat n1 up:echo closed)"
check "both echo instances got connections" bash -c 'test "$0" -gt 0 && test "$1" -gt 0' \
    "$(px_stat n2 in:echo opened)" "$(px_stat n3 in:echo opened)"

# ---- the identity the inbound presents ----
# s_client as svc/client sends an HTTP request straight to n2's inbound.
sclient() { # OUT [s_client options]
    local out=$1
    shift
    printf 'GET /health HTTP/1.0\r\n\r\n' | timeout 20 openssl s_client -connect "127.0.0.1:${MESH_IN[n2]}" \
        -CAfile "$T/b-n1/bundle.crt" -cert "$T/b-n1/svc-client.crt" -key "$T/b-n1/svc-client.key" \
        -verify_return_error -ign_eof "$@" >"$T/$out" 2>&1
}
sclient sc-web.txt -servername web && grep -q "^nginx ok" "$T/sc-web.txt" &&
    pass "s_client -servername web: the handshake verifies and nginx answers" ||
    fail "s_client -servername web: $(tail -5 "$T/sc-web.txt")"
openssl x509 -noout -ext subjectAltName <"$T/sc-web.txt" >"$T/sc-web-san.txt" 2>&1 || true
check "...n2 presented spiffe://example.org/svc/web" grep -q "URI:spiffe://example.org/svc/web$" "$T/sc-web-san.txt"
U0=$(px_stat n2 total tls_failures.unknown_sni)
# Without a name a TLS 1.3 client may finish its side of the handshake
# before the server refuses: the claim is that nothing reaches the app.
sclient sc-none.txt -noservername || true
check "s_client without -servername: nothing reaches nginx" bash -c '! grep -q "nginx ok" "$0"' "$T/sc-none.txt"
wait_for 100 0.05 px_stat_ge n2 total tls_failures.unknown_sni $((U0 + 1)) &&
    pass "...refused as unknown_sni" || fail "no name: unknown_sni not counted ($U0 before)"
sclient sc-files.txt -servername files || true
check "s_client -servername files (a service n2 does not hold): nothing reaches nginx" \
    bash -c '! grep -q "nginx ok" "$0"' "$T/sc-files.txt"
check "...the client got unrecognized_name (alert 112)" grep -Eq "unrecognized name|alert number 112" "$T/sc-files.txt"
wait_for 100 0.05 px_stat_ge n2 total tls_failures.unknown_sni $((U0 + 2)) &&
    pass "...refused as unknown_sni" || fail "unknown name: unknown_sni not counted"
check "no agent logged a BUG or a sanitizer report" bash -c \
    '! grep -hE "BUG|AddressSanitizer|runtime error" "$0" "$1" "$2"' "$T/n1.log" "$T/n2.log" "$T/n3.log"
finish
