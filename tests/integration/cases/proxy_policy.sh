#!/usr/bin/env bash
# Inbound policy (docs/proxy.md, docs/mesh.md "Policy evaluation"), three
# agents on loopback:
#
#   curl ─▶ n1 [upstream web]       from = client ══▶ n2 inbound ─▶ python3 -m http.server
#   curl ─▶ n1 [upstream web-other] from = other  ══▶ n2 (same service web)
#   curl ─▶ n1 [upstream web-node]  (node's ID)   ══▶ n2
#   weft apply at n3 (neither caller nor callee)
#
# n2 has [proxy] default_action = deny. Claims:
#   - with no policy nothing passes: curl gets an empty reply or a reset
#     (not a timeout), n2 counts policy denials for web and logs a line
#     naming the caller's SPIFFE ID;
#   - `weft apply` at n3 of [policy x] from = client, to = web, allow: the
#     same curl passes, without restarting anything (n2 is the same
#     process);
#   - callers with another identity (svc/other; the node's own ID) stay
#     denied, and are counted;
#   - a deny for client at priority 200 applied at n3: denied again;
#   - a caller whose certificate comes from another CA (a separate `weft ca
#     init`) is refused at the handshake: bad_chain counted on n2's inbound
#     (and on weft_tls_failures_total{listener="proxy_inbound"}), nothing
#     reaches the app.
source "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null || die "openssl is not installed"
command -v curl >/dev/null || die "curl is not installed"

mesh_init
mesh_node n1 client,other
mesh_node n2 web
mesh_node n3
WEB=$(free_port)
U1=$(free_port)
U2=$(free_port)
U3=$(free_port)
mkdir -p "$T/www"
echo "hello through the mesh" >"$T/www/hello.txt"
python3 -m http.server "$WEB" --bind 127.0.0.1 --directory "$T/www" >"$T/web.log" 2>&1 &
PIDS+=("$!")

mesh_conf n1 "[upstream web]" "listen = 127.0.0.1:$U1" "service = web" "from = client" \
    "[upstream web-other]" "listen = 127.0.0.1:$U2" "service = web" "from = other" \
    "[upstream web-node]" "listen = 127.0.0.1:$U3" "service = web"
mesh_conf n2 "[proxy]" "inbound = 127.0.0.1:${MESH_IN[n2]}" "default_action = deny" \
    "[service web]" "port = $WEB" "check = tcp" "check_interval = 1s" "check_timeout = 500ms" \
    "healthy_threshold = 1"
mesh_conf n3
for n in n1 n2 n3; do mesh_start "$n"; done
N2PID=${MESH_PID[n2]}
wait_for 300 0.1 mesh_healthy n1 web n2 || die "web@n2 not passing at n1"

# get PORT: one request; CURL_RC is curl's exit code.
get() {
    CURL_RC=0
    curl -sS --max-time 20 "http://127.0.0.1:$1/hello.txt" -o "$T/got.txt" 2>"$T/curl.err" || CURL_RC=$?
    [ "$CURL_RC" = 0 ] && grep -qx "hello through the mesh" "$T/got.txt"
}
denied() { ! get "$1"; }
# An empty reply (52) or a receive error (56), never a timeout (28): the
# refusal is immediate.
refused_now() { [ "$CURL_RC" = 52 ] || [ "$CURL_RC" = 56 ]; }
apply_at() { # NODE FILE
    "$WEFT" apply --admin "$(mesh_sock "$1")" "$2" >"$T/apply.txt" 2>&1 || fail "apply $2: $(cat "$T/apply.txt")"
}

# ---- default deny ----
get "$U1" && fail "default_action = deny: a request passed" ||
    pass "default_action = deny: the request does not pass (curl exit $CURL_RC)"
check "...the caller sees an empty reply or a reset, not a timeout ($(cat "$T/curl.err"))" refused_now
wait_for 100 0.05 px_stat_ge n2 in:web denied 1 && pass "n2 counts a policy denial for web" ||
    fail "n2: no policy denial counted for web"
wait_for 100 0.05 grep -q "inbound web: spiffe://example.org/svc/client refused: denied" "$T/n2.log" &&
    pass "n2 logs the refusal naming the caller" || fail "n2's log names the refused caller"
check "...and the reason: the default action" grep -q "refused: denied: \[proxy\] default_action = deny" "$T/n2.log"
check "n2: nothing opened to web" px_stat_eq n2 in:web opened 0

# ---- an allow, applied at another node ----
printf '[policy x]\nfrom = client\nto = web\naction = allow\n' >"$T/allow.ini"
apply_at n3 "$T/allow.ini"
wait_for 300 0.1 get "$U1" && pass "allow applied at n3: the same curl passes" ||
    fail "allow applied at n3: still refused (curl exit $CURL_RC)"
check "...without a restart (n2 is the same process)" kill -0 "$N2PID"
check "...n2 counts the connection opened" px_stat_ge n2 in:web opened 1

# ---- other identities stay denied ----
D0=$(px_stat n2 in:web denied)
get "$U2" && fail "from = other passed" || pass "a caller as svc/other stays denied (curl exit $CURL_RC)"
get "$U3" && fail "the node's identity passed" || pass "a caller with the node's ID stays denied (curl exit $CURL_RC)"
wait_for 100 0.05 px_stat_ge n2 in:web denied $((D0 + 2)) && pass "...both counted as denials" ||
    fail "denials for other identities: $D0 before, $(px_stat n2 in:web denied) after"
get "$U1" && pass "client still passes" || fail "client no longer passes"

# ---- a deny with a higher priority ----
printf '[policy y]\nfrom = client\nto = web\naction = deny\npriority = 200\n' >"$T/deny.ini"
apply_at n3 "$T/deny.ini"
wait_for 300 0.1 denied "$U1" && pass "deny at priority 200 applied at n3: client denied again" ||
    fail "deny at priority 200: client still passes"
# The deciding policy, from the status (the log is rate-limited per service:
# the polling above may have spent its budget).
last_refused_y() { px_stat n2 in:web last_refused | grep -q "spiffe://example.org/svc/client: denied: policy y"; }
wait_for 100 0.05 last_refused_y &&
    pass "n2 names the deciding policy (y) and the caller in /v1/proxy" ||
    fail "n2's last refusal does not name policy y: $(px_stat n2 in:web last_refused)"

# ---- another CA ----
"$WEFT" ca init --trust-domain example.org --out "$T/ca-other" >/dev/null
"$WEFT" ca issue --ca "$T/ca-other" --node x --services client --out "$T/b-x" >/dev/null
B0=$(px_stat n2 total tls_failures.bad_chain)
printf 'GET /hello.txt HTTP/1.0\r\n\r\n' | timeout 20 openssl s_client -connect "127.0.0.1:${MESH_IN[n2]}" \
    -servername web -cert "$T/b-x/svc-client.crt" -key "$T/b-x/svc-client.key" -ign_eof \
    >"$T/foreign.txt" 2>&1 || true
check "a caller of another CA: nothing reaches the app" bash -c '! grep -q "hello through" "$0"' "$T/foreign.txt"
wait_for 100 0.05 px_stat_ge n2 total tls_failures.bad_chain $((B0 + 1)) &&
    pass "...refused at the handshake: bad_chain counted on n2's inbound" ||
    fail "a caller of another CA: bad_chain not counted ($B0 before)"
curl -fsS --max-time 10 --unix-socket "$(mesh_sock n2)" http://weft/metrics -o "$T/m2.txt" || fail "scrape n2"
check "...and in weft_tls_failures_total{listener=\"proxy_inbound\",reason=\"bad_chain\"}" \
    grep -Eq '^weft_tls_failures_total\{listener="proxy_inbound",reason="bad_chain"\} [1-9]' "$T/m2.txt"
check "n2 is still the same process" kill -0 "$N2PID"
check "no agent logged a BUG or a sanitizer report" bash -c \
    '! grep -hE "BUG|AddressSanitizer|runtime error" "$0" "$1" "$2"' "$T/n1.log" "$T/n2.log" "$T/n3.log"
finish
