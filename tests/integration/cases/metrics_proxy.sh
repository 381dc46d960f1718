#!/usr/bin/env bash
# The data plane's metrics (docs/metrics.md), real processes on loopback:
#
#   curl --> n1 [upstream web] 127.0.0.1:UP ==mTLS==> n2 [proxy] inbound --> python http.server
#   openssl s_client (a certificate of another CA) --> n2 inbound
#
# Claims:
#   - with the proxy on, both scrapes (n1 with an upstream, n2 with an
#     inbound service) pass tests/integration/prom_check.py (prometheus_client
#     and the strict reader agree), proxy families included;
#   - three requests through the mesh: n1 counts three connections opened
#     and closed for upstream web, n2 three for inbound service web, none
#     left active; the bytes back to the caller are at least the three
#     bodies; n2's inbound listener counts its handshakes
#     (listener="proxy_inbound");
#   - a caller of another CA: n2 counts
#     weft_tls_failures_total{listener="proxy_inbound",reason="bad_chain"}.
source "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null || die "openssl is not installed"
command -v curl >/dev/null || die "curl is not installed"
CHECK=$(dirname "$0")/../prom_check.py
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null ||
    die "python3-prometheus-client is not installed (tools/deps.sh installs it)"

sock() { echo "$T/d-$1/admin.sock"; }
scrape() { curl -fsS --unix-socket "$(sock "$1")" http://weft/metrics -o "$2"; }
metric() {
    local n=$1
    shift
    scrape "$n" "$T/m-$n.txt" && /usr/bin/python3 "$CHECK" value "$T/m-$n.txt" "$@"
}
metric_eq() { # NODE WANT NAME [K=V...]
    local n=$1 want=$2 v
    shift 2
    v=$(metric "$n" "$@") || return 1
    [ "$v" = "$want" ]
}
metric_ge() { # NODE MIN NAME [K=V...]
    local n=$1 min=$2 v
    shift 2
    v=$(metric "$n" "$@") || return 1
    [ "${v%.*}" -ge "$min" ]
}

"$WEFT" ca init --trust-domain example.org --out "$T/ca" >/dev/null
"$WEFT" ca init --trust-domain example.org --out "$T/ca-other" >/dev/null
"$WEFT" ca issue --ca "$T/ca" --node n1 --out "$T/b-n1" >/dev/null
"$WEFT" ca issue --ca "$T/ca" --node n2 --services web --out "$T/b-n2" >/dev/null
"$WEFT" ca issue --ca "$T/ca-other" --node x --out "$T/b-x" >/dev/null
declare -A GP CP
for n in n1 n2; do
    GP[$n]=$(free_port)
    CP[$n]=$(free_port)
done
IN=$(free_port)
UP=$(free_port)
WEB=$(free_port)
head -c 20000 /dev/urandom | base64 >"$T/body.txt"
SIZE=$(stat -c %s "$T/body.txt")
python3 -m http.server "$WEB" --bind 127.0.0.1 --directory "$T" >"$T/web.log" 2>&1 &
PIDS+=("$!")
conf() {
    local n=$1
    shift
    {
        printf '[node]\nname = %s\ndata_dir = %s\ntrust_domain = example.org\n' "$n" "$T/d-$n"
        printf '[admin]\nsocket = %s/admin.sock\n' "$T/d-$n"
        printf '[gossip]\nenabled = true\nbind = 127.0.0.1:%s\njoin = 127.0.0.1:%s\nprofile = local\n' \
            "${GP[$n]}" "${GP[n1]}"
        printf '[identity]\nbundle = %s\n[control]\nlisten = 127.0.0.1:%s\n' "$T/b-$n" "${CP[$n]}"
        local l
        for l in "$@"; do printf '%s\n' "$l"; done
    } >"$T/$n.ini"
}
conf n1 "[upstream web]" "listen = 127.0.0.1:$UP" "service = web"
conf n2 "[proxy]" "inbound = 127.0.0.1:$IN" "[service web]" "port = $WEB" "protocol = http" \
    "check = http" "check_path = /" "check_interval = 1s" "check_timeout = 500ms" \
    "healthy_threshold = 1"
for n in n1 n2; do
    start_agent "$T/$n.ini" "$T/$n.log"
    wait_ready "$(sock "$n")" || die "$n did not start: $(cat "$T/$n.log")"
done

# The first request waits for the catalog (web healthy, known at n1).
get() { curl -fsS "http://127.0.0.1:$UP/body.txt" -o "$T/got.txt" && cmp -s "$T/got.txt" "$T/body.txt"; }
wait_for 300 0.1 get || die "no request through the mesh: $(tail -5 "$T/n1.log")"
get && get && pass "three requests through the mesh" || fail "three requests through the mesh"

scrape n1 "$T/n1.txt"
/usr/bin/python3 "$CHECK" check "$T/n1.txt" >"$T/c1.txt" 2>&1 &&
    pass "n1's scrape with an upstream passes the checker ($(cat "$T/c1.txt"))" ||
    fail "n1's scrape: $(cat "$T/c1.txt")"
scrape n2 "$T/n2.txt"
/usr/bin/python3 "$CHECK" check "$T/n2.txt" >"$T/c2.txt" 2>&1 &&
    pass "n2's scrape with an inbound service passes the checker ($(cat "$T/c2.txt"))" ||
    fail "n2's scrape: $(cat "$T/c2.txt")"

# Every connection was tried until one worked: whatever connections the
# first request's retries opened, the three that passed are counted.
wait_for 200 0.05 metric_eq n1 0 weft_upstream_connections_active upstream=web &&
    pass "n1: no upstream connection left active" || fail "n1: upstream connections left active"
opened=$(metric n1 weft_upstream_connections_opened_total upstream=web)
check "n1: at least three upstream connections opened ($opened)" test "$opened" -ge 3
check "n1: as many closed as opened" metric_eq n1 "$opened" weft_upstream_connections_closed_total upstream=web
wait_for 200 0.05 metric_eq n2 0 weft_inbound_connections_active service=web &&
    pass "n2: no inbound connection left active" || fail "n2: inbound connections left active"
check "n2: the same number of inbound connections opened for web" \
    metric_eq n2 "$opened" weft_inbound_connections_opened_total service=web
check "n1: the bytes back to the caller cover the three bodies (3 x $SIZE)" \
    metric_ge n1 $((3 * SIZE)) weft_upstream_bytes_out_total upstream=web
check "n2: so do the inbound's" metric_ge n2 $((3 * SIZE)) weft_inbound_bytes_out_total service=web
check "n2: the inbound listener counts its handshakes" \
    metric_ge n2 1 weft_tls_handshakes_total listener=proxy_inbound

B0=$(metric n2 weft_tls_failures_total listener=proxy_inbound reason=bad_chain)
timeout 10 openssl s_client -connect "127.0.0.1:$IN" -servername web -cert "$T/b-x/node.crt" \
    -key "$T/b-x/node.key" </dev/null >"$T/s_client.txt" 2>&1 || true
wait_for 200 0.05 metric_ge n2 $((B0 + 1)) weft_tls_failures_total listener=proxy_inbound reason=bad_chain &&
    pass "a caller of another CA: n2 counts bad_chain on listener proxy_inbound" ||
    fail "a caller of another CA: bad_chain on proxy_inbound ($B0 before): $(grep proxy_inbound "$T/m-n2.txt")"
check "no BUG logged for a bad metric" bash -c '! grep -h "BUG: /metrics" "$0" "$1"' "$T/n1.log" "$T/n2.log"
finish
