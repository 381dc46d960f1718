#!/usr/bin/env bash
# tools/bench/tls.sh: weft's mTLS listener (tests/tools/tls_echo: tls_conf +
# tls_sess on libevent, mbedTLS) side by side with `openssl s_server` (and
# haproxy for idle memory), same weft-issued certificates, one run. Prints
# markdown on stdout, progress on stderr. Asserts nothing.
#
#   tools/bench/tls.sh [-t SECONDS] [-k CONNS] [-n ISSUE_RUNS]
#
# WEFT_BUILD (default build-bench/) must hold src/weft and tests/tools/tls_echo
# of a Release build:
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release \
#         -DWEFT_MBEDTLS_PREFIX=$PWD/.deps/mbedtls-3.6-amd64
#   cmake --build build-bench -j2 --target tls_echo weft
set -uo pipefail
# shellcheck disable=SC2034 # used by lib.sh
bench_name=tls
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

SECS=10 K=200 NISSUE=20
while (($#)); do
  case $1 in
    -t) SECS=$2; shift 2 ;;
    -k) K=$2; shift 2 ;;
    -n) NISSUE=$2; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) bdie "unknown argument $1" ;;
  esac
done
B=${WEFT_BUILD:-$repo_root/build-bench}
[[ -x $B/src/weft && -x $B/tests/tools/tls_echo ]] || bdie "no $B/src/weft or $B/tests/tools/tls_echo (see the header of $0)"
command -v openssl >/dev/null || bdie "openssl is not installed"
command -v python3 >/dev/null || bdie "python3 is not installed"
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
[[ -x $HAPROXY ]] || HAPROXY=

T=$(mktemp -d /tmp/weft-bench-tls.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null
  done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# binaries copied, so a rebuild during the run cannot swap them
cp "$B/src/weft" "$T/weft"; cp "$B/tests/tools/tls_echo" "$T/tls_echo"
WEFT=$T/weft ECHO=$T/tls_echo
TCK=$(getconf CLK_TCK)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
PSI0=$(awk '/^some/ { sub("total=", "", $5); print $5 }' /proc/pressure/cpu 2>/dev/null || echo)
START=$(date +%s.%N)
bsay "load average at start: $LOAD0"

"$WEFT" ca init --trust-domain example.org --out "$T/ca" >/dev/null || bdie "weft ca init failed"
"$WEFT" ca issue --ca "$T/ca" --node gw-01 --services srv,a --out "$T/b" >/dev/null || bdie "weft ca issue failed"
SCRT=$T/b/svc-srv.crt SKEY=$T/b/svc-srv.key CCRT=$T/b/svc-a.crt CKEY=$T/b/svc-a.key CA=$T/ca/ca.crt
cat "$SCRT" "$SKEY" >"$T/srv.pem"

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # utime+stime (the comm field has no spaces here)
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
anon_kb() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"; }
now() { date +%s.%N; }
# wait_port PORT: until something accepts on it (bounded: 10 s)
wait_port() {
  for _ in $(seq 200); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2).close()' "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# start_echo NAME [--once]: tls_echo in the background; sets EPID, EPORT
start_echo() {
  local out=$T/$1.out
  "$ECHO" --cert "$SCRT" --key "$SKEY" --bundle "$CA" --listen 127.0.0.1:0 \
    --trust-domain example.org --accept spiffe://example.org/svc/a "${@:2}" >"$out" 2>"$T/$1.err" &
  EPID=$!; PIDS+=("$EPID")
  for _ in $(seq 200); do grep -q '^listening ' "$out" 2>/dev/null && break; sleep 0.05; done
  EPORT=$(sed -n 's/^listening //p' "$out")
  [[ -n $EPORT ]] || bdie "tls_echo did not start: $(cat "$T/$1.err")"
}
# start_sserver NAME: openssl s_server, client certificate required; sets SPID, SPORT
start_sserver() {
  SPORT=$(free_port)
  (cd "$T" && exec openssl s_server -accept "127.0.0.1:$SPORT" -cert "$SCRT" -key "$SKEY" -CAfile "$CA" \
    -Verify 1 -verify_return_error -WWW -quiet "${@:2}" </dev/null >"$T/$1.out" 2>&1) &
  SPID=$!; PIDS+=("$SPID")
  wait_port "$SPORT" || bdie "s_server did not start: $(cat "$T/$1.out")"
}
stop_pid() {
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null
}

# the request s_time sends (-www /x): tls_echo --once echoes it and closes;
# s_server -WWW answers with the file x (its own name, for similar sizes)
printf 'GET /x HTTP/1.0\r\n\r\n' >"$T/x"

# probe PORT VERARGS...: "SUITE, GROUP" as s_client sees it
probe() {
  local port=$1; shift
  timeout 10 openssl s_client -connect "127.0.0.1:$port" -cert "$CCRT" -key "$CKEY" -CAfile "$CA" \
    -verify_return_error "$@" </dev/null 2>/dev/null |
    awk '/^New, / { s = $NF } /^Server Temp Key:/ { g = $4; sub(/,$/, "", g) }
         END { printf "%s, %s", s, g }'
}

# stime PID PORT MODE(-new|-reuse) VERARGS...: one timed s_time run.
# Sets N (connections), R (of them resumed, the 'r' marks), CPU (server s), WALL (s)
stime() {
  local pid=$1 port=$2 mode=$3; shift 3
  local t0 t1 w0 w1 out=$T/stime.out
  t0=$(ticks "$pid"); w0=$(now)
  timeout $((SECS + 30)) openssl s_time -connect "127.0.0.1:$port" "$mode" -time "$SECS" -www /x \
    -cert "$CCRT" -key "$CKEY" -CAfile "$CA" "$@" >"$out" 2>&1
  w1=$(now); t1=$(ticks "$pid")
  N=$(awk '/connections in .* real seconds/ { print $1; exit }' "$out")
  R=$(grep -E '^[*r]+$' "$out" | tr -cd 'r' | wc -c)
  CPU=$(awk -v a="$t0" -v b="$t1" -v h="$TCK" 'BEGIN { printf "%.2f", (b - a) / h }')
  WALL=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.2f", b - a }')
  [[ -n $N ]] || { bsay "s_time failed: $(tail -3 "$out")"; N=0; }
}

# ---------- handshakes ----------
bsay "handshakes: ${SECS}s per run, s_time -www /x, 2 servers x 2 versions x 2 suites x new/reuse"
start_echo echo-hs --once
start_sserver sserver-hs
EHS_PID=$EPID EHS_PORT=$EPORT SHS_PID=$SPID SHS_PORT=$SPORT
# TLS 1.2 resumption in s_server: session cache (default on) and tickets (default on)

declare -A CPUR WALLR NN RR SUITE
configs=("1.3 chacha -tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256"
  "1.3 aesgcm -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256"
  "1.2 chacha -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305"
  "1.2 aesgcm -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256")
for cfg in "${configs[@]}"; do
  read -r ver suite vargs <<<"$cfg"
  read -ra va <<<"$vargs"
  SUITE[weft,$ver,$suite]=$(probe "$EHS_PORT" "${va[@]}")
  SUITE[openssl,$ver,$suite]=$(probe "$SHS_PORT" "${va[@]}")
  for mode in new reuse; do
    for srv in weft openssl; do
      if [[ $srv == weft ]]; then pid=$EHS_PID port=$EHS_PORT; else pid=$SHS_PID port=$SHS_PORT; fi
      stime "$pid" "$port" "-$mode" "${va[@]}"
      key=$srv,$ver,$suite,$mode
      NN[$key]=$N RR[$key]=$R
      CPUR[$key]=$(awk -v n="$N" -v c="$CPU" 'BEGIN { if (c > 0) printf "%.0f", n / c; else print "n/a" }')
      WALLR[$key]=$(awk -v n="$N" -v w="$WALL" 'BEGIN { printf "%.0f", n / w }')
      bsay "$srv TLS $ver $suite $mode: $N handshakes ($R resumed), server CPU ${CPU}s, wall ${WALL}s -> ${CPUR[$key]}/CPU-s, ${WALLR[$key]}/s"
    done
  done
done
ESTATS_LINE=$(grep -c '^ok ' "$T/echo-hs.out")
ERES=$(grep -c 'resumed=1$' "$T/echo-hs.out")
EREF=$(grep -c '^refused ' "$T/echo-hs.out")
stop_pid "$EHS_PID"; stop_pid "$SHS_PID"

# ---------- idle memory ----------
# mem_run NAME PID PORT: RSS before (after 5 warm-up connections, closed) and
# with K idle mTLS connections held by tls_idle.py; sets MB MA AB AA HELD
mem_run() {
  local name=$1 pid=$2 port=$3
  for _ in 1 2 3 4 5; do probe "$port" >/dev/null; done
  sleep 0.5
  MB=$(rss_kb "$pid") AB=$(anon_kb "$pid")
  rm -f "$T/idle.fifo"; mkfifo "$T/idle.fifo"
  timeout 120 python3 "$bench_dir/tls_idle.py" 127.0.0.1 "$port" "$CCRT" "$CKEY" "$CA" "$K" \
    <"$T/idle.fifo" >"$T/idle-$name.out" 2>&1 &
  local cpid=$!
  exec 7>"$T/idle.fifo"
  for _ in $(seq 1200); do grep -q '^held ' "$T/idle-$name.out" && break; kill -0 "$cpid" 2>/dev/null || break; sleep 0.05; done
  sleep 1
  MA=$(rss_kb "$pid") AA=$(anon_kb "$pid")
  HELD=$(sed -n 's/^held //p' "$T/idle-$name.out")
  [[ -n $HELD ]] || bsay "$name: idle client failed: $(tail -2 "$T/idle-$name.out")"
  exec 7>&-
  wait "$cpid" 2>/dev/null
}
bsay "idle memory: $K idle mTLS connections per server"
start_echo echo-mem
mem_run weft "$EPID" "$EPORT"
W_MB=$MB W_MA=$MA W_AB=$AB W_AA=$AA W_HELD=$HELD
stop_pid "$EPID"
H_HELD=
if [[ -n $HAPROXY ]]; then
  HPORT=$(free_port)
  cat >"$T/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
  httpclient.ssl.verify none
defaults
  mode http
  timeout client 300s
  timeout http-request 300s
  timeout connect 5s
  timeout server 5s
frontend f
  bind 127.0.0.1:$HPORT ssl crt $T/srv.pem ca-file $CA verify required
  default_backend b
backend b
  server s 127.0.0.1:9
EOF
  "$HAPROXY" -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
  HPID=$!; PIDS+=("$HPID")
  if wait_port "$HPORT"; then
    mem_run haproxy "$HPID" "$HPORT"
    H_MB=$MB H_MA=$MA H_AB=$AB H_AA=$AA H_HELD=$HELD
  else
    bsay "haproxy did not start: $(tail -3 "$T/haproxy.log")"
  fi
  stop_pid "$HPID"
fi
per_conn() { awk -v a="$1" -v b="$2" -v k="$K" 'BEGIN { printf "%.1f", (a - b) / k }'; }

# ---------- issuance ----------
bsay "issuance: weft ca issue --services a,b,c, $NISSUE runs after 1 warm-up"
ISSUE=$(python3 - "$WEFT" "$T/ca" "$T/issue" "$NISSUE" <<'EOF'
import os, statistics, subprocess, sys, time
weft, ca, d, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
os.makedirs(d)
ts = []
for i in range(n + 1):
    t0 = time.monotonic_ns()
    r = subprocess.run([weft, "ca", "issue", "--ca", ca, "--node", "n%d" % i, "--services", "a,b,c",
                        "--out", "%s/n%d" % (d, i)], stdout=subprocess.DEVNULL, timeout=30)
    t1 = time.monotonic_ns()
    if r.returncode != 0:
        sys.exit("weft ca issue failed")
    if i:
        ts.append((t1 - t0) / 1e6)
print("%.2f %.2f %.2f" % (statistics.median(ts), min(ts), max(ts)))
EOF
)

END=$(date +%s.%N)
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
PSI1=$(awk '/^some/ { sub("total=", "", $5); print $5 }' /proc/pressure/cpu 2>/dev/null || echo)
PSIPCT=$(awk -v a="$PSI0" -v b="$PSI1" -v s="$START" -v e="$END" 'BEGIN { if (a == "" || b == "") print "n/a"; else printf "%.1f%%", (b - a) / 1e6 / (e - s) * 100 }')

# ---------- report ----------
cat <<EOF
## mTLS

Command: \`tools/bench/tls.sh -t $SECS -k $K -n $NISSUE\` ($(awk -v s="$START" -v e="$END" 'BEGIN { printf "%.0f", e - s }') s in all)

- weft: \`$B/tests/tools/tls_echo\` ($(sed -n 's/^mbedtls /mbedTLS /p' "$T/echo-hs.out" | head -1)), \`$("$WEFT" version | head -1)\`
- peer: \`$(openssl version)\`, \`openssl s_server -WWW -Verify 1 -verify_return_error\`$( [[ -n $HAPROXY ]] && printf '; %s' "$("$HAPROXY" -v | head -1 | cut -d' ' -f1-3)")
- certificates: \`weft ca init\` / \`weft ca issue\` (ECDSA P-256), server svc/srv, client svc/a
- load average at start $LOAD0, at end $LOAD1; a task waited for a CPU ${PSIPCT} of the time (PSI)

### Handshakes per second of server CPU

Client: \`openssl s_time -connect 127.0.0.1:PORT -new|-reuse -time $SECS -www /x -cert svc-a.crt -key svc-a.key -CAfile ca.crt\`
plus the version and suite flags of each row. Server CPU: utime+stime of the
server process from /proc/PID/stat (clock ticks, 1/$TCK s) across the run.

| TLS | suite asked | negotiated (weft / openssl), group | mode | weft hs | weft hs/CPU-s | weft hs/s wall | openssl hs | openssl hs/CPU-s | openssl hs/s wall | weft/openssl per CPU-s | weft/openssl wall |
|---|---|---|---|---|---|---|---|---|---|---|---|
EOF
for cfg in "${configs[@]}"; do
  read -r ver suite _ <<<"$cfg"
  for mode in new reuse; do
    kw=weft,$ver,$suite,$mode ko=openssl,$ver,$suite,$mode
    rw=${RR[$kw]} ro=${RR[$ko]}
    [[ $mode == reuse ]] && mlabel="resumed (weft ${rw}/${NN[$kw]}, openssl ${ro}/${NN[$ko]} marked r)" || mlabel=full
    printf '| %s | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$ver" "$suite" \
      "${SUITE[weft,$ver,$suite]}" "${SUITE[openssl,$ver,$suite]}" "$mlabel" \
      "${NN[$kw]}" "${CPUR[$kw]}" "${WALLR[$kw]}" "${NN[$ko]}" "${CPUR[$ko]}" "${WALLR[$ko]}" \
      "$(ratio "${CPUR[$kw]}" "${CPUR[$ko]}")" "$(ratio "${WALLR[$kw]}" "${WALLR[$ko]}")"
  done
done
cat <<EOF

tls_echo's own count over the handshake runs: $ESTATS_LINE accepted (${ERES} resumed), $EREF refused.

### Memory per idle mTLS connection

$K connections opened by \`tools/bench/tls_idle.py\` (python3 ssl, default TLS version), all
handshakes complete, then held idle 1 s. VmRSS / RssAnon of the server process
before (after 5 warm-up connections, closed) and with the $K held.

| server | held | VmRSS before KiB | VmRSS after KiB | VmRSS per conn KiB | RssAnon before KiB | RssAnon after KiB | RssAnon per conn KiB |
|---|---|---|---|---|---|---|---|
| weft tls_echo | ${W_HELD:-failed} | $W_MB | $W_MA | $(per_conn "$W_MA" "$W_MB") | $W_AB | $W_AA | $(per_conn "$W_AA" "$W_AB") |
EOF
if [[ -n $H_HELD ]]; then
  printf '| haproxy (OpenSSL 3, mode http, nbthread 1) | %s | %s | %s | %s | %s | %s | %s |\n\n' "$H_HELD" "$H_MB" "$H_MA" \
    "$(per_conn "$H_MA" "$H_MB")" "$H_AB" "$H_AA" "$(per_conn "$H_AA" "$H_AB")"
  printf 'weft / haproxy, RssAnon per connection: %s\n\n' "$(ratio "$(per_conn "$W_AA" "$W_AB")" "$(per_conn "$H_AA" "$H_AB")")"
else
  printf '\nhaproxy not installed: no peer row.\n\n'
fi
read -r IMED IMIN IMAX <<<"$ISSUE"
cat <<EOF
### Certificate issuance

\`weft ca issue --ca CA --node nI --services a,b,c --out DIR\` (node + 3 service
keys and certificates, bundle, manifest), $NISSUE runs after one warm-up, each
timed from fork to exit with python3's monotonic clock: median ${IMED} ms
(min ${IMIN}, max ${IMAX}).
EOF
