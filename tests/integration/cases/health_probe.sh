#!/usr/bin/env bash
# Health checks (src/mesh/health.c, through tests/tools/health_probe)
# against HTTP servers we did not write:
#
#   health_probe --http--> python3 -m http.server   / -> 200 passing, /missing -> 404 critical
#   health_probe --http--> nginx (if installed)      /health -> 200, /down (return 503)
#   health_probe --tcp/--http--> python3 -m http.server, then kill -9 it:
#                        passing, then critical after exactly --unhealthy
#                        consecutive failures ("connect refused")
#
# All on 127.0.0.1, fresh ports, everything killed on exit. The probe prints
# "change FROM -> TO: REASON (checks=N consecutive=N)"; the test waits for
# those lines (bounded) and never asserts on timing.
source "$(dirname "$0")/../lib.sh"

: "${WEFT_BUILD_DIR:?WEFT_BUILD_DIR must point at the build directory}"
PROBE=$WEFT_BUILD_DIR/tests/tools/health_probe
[ -x "$PROBE" ] || die "tests/tools not built ($PROBE)"
command -v python3 >/dev/null || die "python3 is not installed (tools/deps.sh installs it)"

# start_probe NAME ARGS...: health_probe in the background, output in $T/NAME.out.
start_probe() {
    local name=$1
    shift
    "$PROBE" "$@" >"$T/$name.out" 2>"$T/$name.err" &
    PIDS+=("$!")
    eval "PROBE_${name}=$!"
}

# wait_line NAME REGEX: the probe NAME printed a line matching REGEX (~20 s).
wait_line() {
    wait_for 400 0.05 grep -qE -- "$2" "$T/$1.out" ||
        { log "$1 printed: $(cat "$T/$1.out" "$T/$1.err")"; return 1; }
}

# --- python3 -m http.server ---
mkdir -p "$T/www"
echo hello >"$T/www/index.html"
PY_PORT=$(free_port)
(cd "$T/www" && exec python3 -m http.server "$PY_PORT" --bind 127.0.0.1) >"$T/py.log" 2>&1 &
PY_PID=$!
PIDS+=("$PY_PID")
wait_for 200 0.05 curl -sf -o /dev/null "http://127.0.0.1:$PY_PORT/" ||
    die "python3 -m http.server did not start: $(cat "$T/py.log")"

start_probe py_ok --http "127.0.0.1:$PY_PORT" --path / --interval 100ms --timeout 100ms \
    --healthy 2 --unhealthy 3
check "python http.server: / turns passing after 2 checks (HTTP 200)" \
    wait_line py_ok '^change unknown -> passing: HTTP 200 \(checks=2 consecutive=2\)$'

start_probe py_404 --http "127.0.0.1:$PY_PORT" --path /missing --interval 100ms \
    --timeout 100ms --healthy 2 --unhealthy 2
check "python http.server: /missing turns critical after 2 checks (HTTP 404)" \
    wait_line py_404 '^change unknown -> critical: HTTP 404 \(checks=2 consecutive=2\)$'

start_probe py_tcp --tcp "127.0.0.1:$PY_PORT" --interval 100ms --timeout 100ms \
    --healthy 1 --unhealthy 3
check "python http.server: tcp check passing" \
    wait_line py_tcp '^change unknown -> passing: connected'

# The server dies: exactly 3 failed checks in a row, then critical.
kill -9 "$PY_PID"
wait "$PY_PID" 2>/dev/null || true
check "killed server: http check critical after exactly 3 refused connects" \
    wait_line py_ok '^change passing -> critical: connect refused \(checks=[0-9]+ consecutive=3\)$'
check "killed server: tcp check critical after exactly 3 refused connects" \
    wait_line py_tcp '^change passing -> critical: connect refused \(checks=[0-9]+ consecutive=3\)$'
check "killed server: the 404 check stays critical (no second change)" \
    test "$(grep -c '^change' "$T/py_404.out")" -eq 1

# --- a probe that ends by itself: the summary line ---
"$PROBE" --http "127.0.0.1:$PY_PORT" --interval 50ms --timeout 50ms --max-checks 2 \
    >"$T/once.out" 2>&1 || fail "health_probe --max-checks exited $?"
check "summary: 2 checks, both refused" \
    grep -q '^done checks=2 passes=0 failures=2 .*refused=2' "$T/once.out"
"$PROBE" --http "127.0.0.1:$PY_PORT" --path 'no-slash' >/dev/null 2>"$T/bad.err" &&
    fail "a path without / was accepted"
check "bad params: a clear error" grep -q 'path must start with /' "$T/bad.err"

# --- nginx ---
if command -v nginx >/dev/null; then
    NG_PORT=$(free_port)
    mkdir -p "$T/ng"
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
        listen 127.0.0.1:$NG_PORT;
        location = /health { return 200 "ok\n"; }
        location = /down { return 503; }
        location = /moved { return 302 /health; }
    }
}
EOF
    nginx -p "$T/ng" -e "$T/ng/error.log" -c "$T/ng/nginx.conf" >"$T/ng/out" 2>&1 &
    NG_PID=$!
    PIDS+=("$NG_PID")
    wait_for 200 0.05 curl -sf -o /dev/null "http://127.0.0.1:$NG_PORT/health" ||
        die "nginx did not start: $(cat "$T/ng/out" "$T/ng/error.log" 2>/dev/null)"
    log "$(nginx -v 2>&1)"
    start_probe ng_ok --http "127.0.0.1:$NG_PORT" --path /health --interval 100ms \
        --timeout 100ms --healthy 2 --unhealthy 2
    start_probe ng_503 --http "127.0.0.1:$NG_PORT" --path /down --interval 100ms \
        --timeout 100ms --healthy 2 --unhealthy 2
    start_probe ng_302 --http "127.0.0.1:$NG_PORT" --path /moved --host example.org \
        --interval 100ms --timeout 100ms --healthy 1 --unhealthy 1
    check "nginx: /health passing (HTTP 200)" \
        wait_line ng_ok '^change unknown -> passing: HTTP 200 \(checks=2 consecutive=2\)$'
    check "nginx: return 503 critical (HTTP 503)" \
        wait_line ng_503 '^change unknown -> critical: HTTP 503 \(checks=2 consecutive=2\)$'
    check "nginx: a redirect counts as passing (HTTP 302)" \
        wait_line ng_302 '^change unknown -> passing: HTTP 302'
else
    log "nginx not installed (tools/deps.sh installs nginx-light): nginx cases skipped"
fi

finish
