#!/usr/bin/env bash
# GET /metrics and `weft metrics` (docs/metrics.md), real processes on loopback:
#
#   n1 (holds the CA, [admin] listen on TCP) <--gossip + control--> n2
#   n2 offers two services: "web" (HTTP check against a Python http.server)
#   and "gone" (TCP check against a port nobody listens on).
#   openssl s_client plays a caller with a certificate of another CA, and one
#   without a certificate.
#
# Claims:
#   - the scrape is Prometheus text 0.0.4 (Content-Type), over the unix socket
#     and over the TCP listener; both pass tests/integration/prom_check.py:
#     Debian's prometheus_client parser reads the same families and values
#     as a strict reader that refuses non-contiguous families, repeated TYPE
#     lines, bad names, escapes or values (and it does refuse a broken copy);
#   - `weft metrics` prints the same families; with no agent it exits 3;
#   - counters move with their events: a caller of a foreign CA bumps
#     weft_tls_failures_total{listener="control",reason="bad_chain"} (and
#     /v1/control agrees), one without a certificate reason="no_client_cert";
#     SIGHUP bumps weft_reloads_total, a broken config on SIGHUP
#     weft_reload_failures_total; `weft apply` bumps the mesh's counters at
#     the writer and anti-entropy's at the other node; a refused admin
#     request weft_admin_errors_total;
#   - gauges tell the truth: two members alive; web healthy (1) and gone not
#     (0); each certificate's not_after is the date `openssl x509` reads.
source "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null || die "openssl is not installed"
command -v curl >/dev/null || die "curl is not installed"
CHECK=$(dirname "$0")/../prom_check.py
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null ||
    die "python3-prometheus-client is not installed (tools/deps.sh installs it)"

sock() { echo "$T/d-$1/admin.sock"; }
# scrape NODE OUT: GET /metrics over the unix socket into OUT.
scrape() { curl -fsS --unix-socket "$(sock "$1")" http://weft/metrics -o "$2"; }
# metric NODE NAME [K=V...]: one sample's value, from a fresh scrape.
metric() {
    local n=$1
    shift
    scrape "$n" "$T/m-$n.txt" && /usr/bin/python3 "$CHECK" value "$T/m-$n.txt" "$@"
}
# metric_ge NODE MIN NAME [K=V...]: the sample is at least MIN (for wait_for).
metric_ge() {
    local n=$1 min=$2 v
    shift 2
    v=$(metric "$n" "$@") || return 1
    [ "${v%.*}" -ge "$min" ]
}
control() {
    curl -fsS --unix-socket "$(sock "$1")" http://weft/v1/control |
        python3 -c 'import json,sys; print(eval(sys.argv[1], {"v": json.load(sys.stdin)}))' "$2"
}

"$WEFT" ca init --trust-domain example.org --out "$T/ca" >/dev/null
"$WEFT" ca init --trust-domain example.org --out "$T/ca-other" >/dev/null
for n in n1 n2; do "$WEFT" ca issue --ca "$T/ca" --node "$n" --out "$T/b-$n" >/dev/null; done
"$WEFT" ca issue --ca "$T/ca-other" --node x --out "$T/b-x" >/dev/null
declare -A GP CP PID
for n in n1 n2; do
    GP[$n]=$(free_port)
    CP[$n]=$(free_port)
done
AP=$(free_port)
WEB=$(free_port)
GONE=$(free_port)
python3 -m http.server "$WEB" --bind 127.0.0.1 --directory "$T" >"$T/web.log" 2>&1 &
PIDS+=("$!")
conf() {
    local n=$1
    shift
    {
        printf '[node]\nname = %s\ndata_dir = %s\ntrust_domain = example.org\n' "$n" "$T/d-$n"
        printf '[admin]\nsocket = %s/admin.sock\n' "$T/d-$n"
        [ "$n" = n1 ] && printf 'listen = 127.0.0.1:%s\n[ca]\ndir = %s\n' "$AP" "$T/ca"
        printf '[gossip]\nenabled = true\nbind = 127.0.0.1:%s\njoin = 127.0.0.1:%s\nprofile = local\n' \
            "${GP[$n]}" "${GP[n1]}"
        printf '[identity]\nbundle = %s\n[control]\nlisten = 127.0.0.1:%s\n' "$T/b-$n" "${CP[$n]}"
        local l
        for l in "$@"; do printf '%s\n' "$l"; done
    } >"$T/$n.ini"
}
start() {
    start_agent "$T/$1.ini" "$T/$1.log"
    PID[$1]=$AGENT_PID
    wait_ready "$(sock "$1")" || die "$1 did not start: $(cat "$T/$1.log")"
}
conf n1
conf n2 "[service web]" "port = $WEB" "protocol = http" "check = http" "check_path = /" \
    "check_interval = 1s" "check_timeout = 500ms" "healthy_threshold = 1" "unhealthy_threshold = 1" \
    "[service gone]" "port = $GONE" "check = tcp" "check_interval = 1s" "check_timeout = 500ms" \
    "healthy_threshold = 1" "unhealthy_threshold = 1"
start n1
start n2

# ---- the format, over both listeners -------------------------------------------
ctype=$(curl -fsS -o "$T/unix.txt" -w '%{content_type}' --unix-socket "$(sock n1)" http://weft/metrics)
check "Content-Type is the text format 0.0.4" test "$ctype" = "text/plain; version=0.0.4; charset=utf-8"
/usr/bin/python3 "$CHECK" check "$T/unix.txt" >"$T/check-unix.txt" 2>&1 &&
    pass "the unix socket scrape passes the checker ($(cat "$T/check-unix.txt"))" ||
    fail "the unix socket scrape passes the checker: $(cat "$T/check-unix.txt")"
curl -fsS "http://127.0.0.1:$AP/metrics" -o "$T/tcp.txt" || fail "scrape over TCP"
/usr/bin/python3 "$CHECK" check "$T/tcp.txt" >"$T/check-tcp.txt" 2>&1 &&
    pass "the TCP scrape passes the checker" || fail "the TCP scrape: $(cat "$T/check-tcp.txt")"
/usr/bin/python3 "$CHECK" families "$T/unix.txt" >"$T/fam-unix.txt"
/usr/bin/python3 "$CHECK" families "$T/tcp.txt" >"$T/fam-tcp.txt"
check "both listeners serve the same families" cmp -s "$T/fam-unix.txt" "$T/fam-tcp.txt"
check "the families include the agent's, TLS, control, gossip, mesh, services, identity" \
    test "$(grep -cE '^weft_(reloads_total|tls_failures_total|control_refused_total|gossip_members|mesh_records|mesh_sync_bytes_total|service_healthy|cert_not_after_seconds)$' "$T/fam-unix.txt")" = 8
# The checker can fail: a family written twice, a sample outside its family.
{ cat "$T/unix.txt"; printf '# TYPE weft_reloads_total counter\nweft_reloads_total 1\n'; } >"$T/bad1.txt"
check "the checker refuses a family written twice" bash -c '! /usr/bin/python3 "$0" check "$1"' "$CHECK" "$T/bad1.txt"
sed '0,/^weft_uptime_seconds /s/^weft_uptime_seconds \(.*\)/weft_uptime_seconds{x="1} \1/' "$T/unix.txt" >"$T/bad2.txt"
check "the checker refuses a broken label" bash -c '! /usr/bin/python3 "$0" check "$1"' "$CHECK" "$T/bad2.txt"

# ---- weft metrics -------------------------------------------------------------------
"$WEFT" metrics --admin "$(sock n1)" >"$T/cli.txt" || fail "weft metrics exit $?"
/usr/bin/python3 "$CHECK" families "$T/cli.txt" >"$T/fam-cli.txt" || fail "weft metrics output parses"
check "weft metrics prints the same families" cmp -s "$T/fam-unix.txt" "$T/fam-cli.txt"
"$WEFT" metrics --admin "127.0.0.1:$AP" >"$T/cli-tcp.txt" && /usr/bin/python3 "$CHECK" check "$T/cli-tcp.txt" >/dev/null &&
    pass "weft metrics over TCP" || fail "weft metrics over TCP"
rc=0
"$WEFT" metrics --admin "$T/nobody.sock" >/dev/null 2>&1 || rc=$?
check "weft metrics with no agent: exit 3" test "$rc" = 3

# ---- gauges ----------------------------------------------------------------------------
wait_for 200 0.05 metric_ge n1 2 weft_gossip_members status=alive &&
    pass "n1 counts two members alive" || fail "n1 counts two members alive: $(metric n1 weft_gossip_members status=alive)"
check "and none failed" test "$(metric n1 weft_gossip_members status=failed)" = 0
wait_for 200 0.05 metric_ge n2 1 weft_service_healthy service=web &&
    pass "n2: web is healthy (1)" || fail "n2: web is healthy"
gone_down() { [ "$(metric n2 weft_service_health_checks_total service=gone result=refused)" -ge 1 ] &&
    [ "$(metric n2 weft_service_healthy service=gone)" = 0 ]; }
wait_for 200 0.05 gone_down && pass "n2: gone is not (0), its checks counted as refused" ||
    fail "n2: gone is not healthy: $(grep 'service="gone"' "$T/m-n2.txt")"
check "n1 has no local service samples" bash -c '! grep -q "^weft_service_healthy{" "$0"' "$T/unix.txt"
want=$(date -d "$(openssl x509 -in "$T/b-n2/node.crt" -noout -enddate | cut -d= -f2)" +%s)
check "n2's node certificate expires when openssl x509 says ($want)" \
    test "$(metric n2 weft_cert_not_after_seconds kind=node name=n2)" = "$want"
check "the sample names its SPIFFE ID" grep -q 'spiffe_id="spiffe://example.org/node/n2"' "$T/m-n2.txt"
check "n2's trust root has a not_after" grep -q '^weft_trust_root_not_after_seconds{fingerprint="[0-9a-f]\{64\}"} [0-9]' "$T/m-n2.txt"

# ---- counters move with their events ---------------------------------------------
B0=$(metric n2 weft_tls_failures_total listener=control reason=bad_chain)
timeout 10 openssl s_client -connect "127.0.0.1:${CP[n2]}" -cert "$T/b-x/node.crt" -key "$T/b-x/node.key" \
    </dev/null >"$T/s_client-x.txt" 2>&1 || true
wait_for 200 0.05 metric_ge n2 $((B0 + 1)) weft_tls_failures_total listener=control reason=bad_chain &&
    pass "a caller of another CA: weft_tls_failures_total{reason=\"bad_chain\"} moved" ||
    fail "a caller of another CA bumps bad_chain ($B0 before): $(grep tls_failures "$T/m-n2.txt")"
check "/v1/control agrees" test "$(control n2 'v["tls"]["bad_chain"]')" = "$(metric n2 weft_tls_failures_total listener=control reason=bad_chain)"
N0=$(metric n2 weft_tls_failures_total listener=control reason=no_client_cert)
timeout 10 openssl s_client -connect "127.0.0.1:${CP[n2]}" </dev/null >"$T/s_client-none.txt" 2>&1 || true
wait_for 200 0.05 metric_ge n2 $((N0 + 1)) weft_tls_failures_total listener=control reason=no_client_cert &&
    pass "a caller without a certificate: reason=\"no_client_cert\" moved" ||
    fail "a caller without a certificate bumps no_client_cert ($N0 before)"
check "handshakes refused are counted by the control listener too" \
    metric_ge n2 2 weft_control_refused_total reason=handshake

check "no reload yet" test "$(metric n2 weft_reloads_total)" = 0
kill -HUP "${PID[n2]}"
wait_for 200 0.05 metric_ge n2 1 weft_reloads_total && pass "SIGHUP: weft_reloads_total 1" ||
    fail "SIGHUP bumps weft_reloads_total"
cp "$T/n2.ini" "$T/n2.ini.good"
printf '[gossip]\nprofile = nonsense\n' >>"$T/n2.ini"
kill -HUP "${PID[n2]}"
wait_for 200 0.05 metric_ge n2 1 weft_reload_failures_total &&
    pass "SIGHUP with a broken config: weft_reload_failures_total 1" ||
    fail "a refused reload bumps weft_reload_failures_total"
check "and weft_reloads_total stays 1" test "$(metric n2 weft_reloads_total)" = 1
cp "$T/n2.ini.good" "$T/n2.ini"

printf '[policy metrics-test]\naction = allow\nfrom = a\nto = b\n' >"$T/obj.ini"
"$WEFT" apply --wait --timeout 20s --admin "$(sock n1)" "$T/obj.ini" >"$T/apply.txt" 2>&1 ||
    fail "apply at n1: $(cat "$T/apply.txt")"
check "n1: weft_mesh_local_writes_total{result=\"applied\"} 1" \
    test "$(metric n1 weft_mesh_local_writes_total result=applied)" = 1
check "n2: the record arrived (live records >= 1)" metric_ge n2 1 weft_mesh_records state=live
wait_for 200 0.05 metric_ge n2 1 weft_mesh_sync_bytes_total role=initiator direction=received ||
    wait_for 200 0.05 metric_ge n2 1 weft_mesh_sync_bytes_total role=responder direction=received
hs=$(($(metric n1 weft_tls_handshakes_total listener=control) + $(metric n2 weft_tls_handshakes_total listener=control)))
check "the control listeners count the sync's handshakes ($hs)" test "$hs" -ge 1
check "n2: anti-entropy moved bytes" bash -c '[ "$(grep -c "^weft_mesh_sync_bytes_total{.*} [1-9]" "$0")" -ge 1 ]' "$T/m-n2.txt"

E0=$(metric n1 weft_admin_errors_total)
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST --unix-socket "$(sock n1)" http://weft/metrics)
check "POST /metrics: 405" test "$code" = 405
check "counted in weft_admin_errors_total" test "$(metric n1 weft_admin_errors_total)" = $((E0 + 1))

scrape n2 "$T/final.txt"
/usr/bin/python3 "$CHECK" check "$T/final.txt" >"$T/check-final.txt" 2>&1 &&
    pass "n2's scrape with services, TLS failures and sync passes the checker" ||
    fail "n2's final scrape: $(cat "$T/check-final.txt")"
check "no BUG logged for a bad metric" bash -c '! grep -h "BUG: /metrics" "$0" "$1"' "$T/n1.log" "$T/n2.log"
finish
