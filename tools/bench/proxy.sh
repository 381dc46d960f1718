#!/usr/bin/env bash
# tools/bench/proxy.sh: the data plane (docs/proxy.md) beside haproxy, one
# run, one machine, the same backends (nginx serving a 1 KiB file, an
# iperf3 server), every path measured one after the other:
#
#   direct        client -> backend
#   weft          client -> weft [upstream] address = backend (one plain hop)
#   haproxy       client -> haproxy mode tcp -> backend       (one plain hop)
#   weft mTLS     client -> weft n1 [upstream] service = S ==mTLS==> weft n2
#                 [proxy] inbound -> backend                  (two hops)
#   haproxy mTLS  client -> haproxy A mode tcp, server ... ssl crt ca-file
#                 verify required ==mTLS==> haproxy B bind ... ssl crt
#                 ca-file verify required -> backend          (two hops)
#
# Measures: bulk throughput (iperf3, one stream), HTTP req/s through the
# hop(s) (wrk, keep-alive), latency p50/p99/p99.9 at fixed rates with an
# open-loop generator (tools/bench/loadgen.c: latency from when a request
# was due) and the proxies' CPU per 1000 req/s (/proc/PID/stat), resident
# memory per idle proxied connection, mbedTLS's own AEAD speed
# (tools/bench/cipherspeed.c). Markdown on stdout, progress on stderr.
# Asserts nothing.
#
# Usage: tools/bench/proxy.sh [-t SECONDS] [-r RATES] [-d SECONDS] [-n ROUNDS]
#                             [-m COUNTS] [-c CONNS] [--syscalls]
#
#   -t SECONDS   each iperf3 and wrk run (default 10)
#   -r RATES     comma list of request rates for the latency runs
#                (default 100,1000,5000)
#   -d SECONDS   each latency run, after a 1 s warm-up (default 5)
#   -n ROUNDS    latency rounds, the paths interleaved (default 3): the
#                table gives the median of the rounds' percentiles
#   -m COUNTS    comma list of idle connection counts (default 1000,10000;
#                "" skips the memory runs)
#   -c CONNS     wrk's and loadgen's connections (default 16; wrk: 1 thread)
#   --syscalls   after the measured runs, one more iperf3 run (5 s) through
#                each weft path with strace attached to the weft process(es)
#                for 2 s: read/write calls and the mean bytes per call; and
#                a 2 s wrk run through the plain hop (weft, haproxy) under
#                strace: syscalls per request (strace slows the relay:
#                these runs are not measurements)
#
#   WEFT_BUILD   a Release build holding src/weft (default build-pxbench/,
#                else build-release/):
#     cmake -S . -B build-pxbench -DCMAKE_BUILD_TYPE=Release -DWEFT_STATIC=ON \
#           -DWEFT_SANITIZE= -DWEFT_MBEDTLS_PREFIX=$PWD/.deps/mbedtls-3.6-amd64
#     cmake --build build-pxbench -j2 --target weft
#   MBEDTLS      the mbedTLS prefix cipherspeed.c is built against (default
#                .deps/mbedtls-3.6-amd64/usr, the one the build above links)
#
# Needs nginx, haproxy, iperf3, wrk, openssl, python3, cc; iperf3 and wrk
# are installed with apt-get when missing (root; BENCH_NO_INSTALL=1 skips
# it). Raises the open-file limit to 65536 (root can; else the memory runs
# above the limit are skipped). Everything listens on 127.0.0.1 (fresh
# ports); every process and the temp dir are removed on exit, Ctrl-C
# included. About 14 minutes with the defaults on 2 busy cores (the 9,800
# idle mTLS connections of each pair take most of the memory part).
set -uo pipefail
# shellcheck disable=SC2034 # used by lib.sh
bench_name=proxy
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,/^set -uo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
cmdline="tools/bench/proxy.sh${*:+ $*}"
SECS=10 RATES=100,1000,5000 LSECS=5 ROUNDS=3 MEMS=1000,10000 CONNS=16 SYSCALLS=0
while (($#)); do
  case $1 in
  -t) SECS=${2:?}; shift 2 ;;
  -r) RATES=${2:?}; shift 2 ;;
  -d) LSECS=${2:?}; shift 2 ;;
  -n) ROUNDS=${2:?}; shift 2 ;;
  -m) MEMS=${2?}; shift 2 ;;
  -c) CONNS=${2:?}; shift 2 ;;
  --syscalls) SYSCALLS=1; shift ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
  esac
done

B=${WEFT_BUILD:-}
if [[ -z $B ]]; then
  for b in build-pxbench build-release; do
    [[ -x $repo_root/$b/src/weft ]] && { B=$repo_root/$b; break; }
  done
fi
[[ -n $B && -x $B/src/weft ]] || bdie "no weft build (see the header of $0)"
MBEDTLS=${MBEDTLS:-$repo_root/.deps/mbedtls-3.6-amd64/usr}

need=()
command -v iperf3 >/dev/null || need+=(iperf3)
command -v wrk >/dev/null || need+=(wrk)
if ((${#need[@]})); then
  [[ ${BENCH_NO_INSTALL:-0} != 1 && $(id -u) == 0 ]] ||
    bdie "missing ${need[*]}: apt-get install -y ${need[*]} (or run as root)"
  bsay "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q --no-install-recommends "${need[@]}" >&2 ||
    bdie "could not install ${need[*]}"
fi
for c in nginx haproxy openssl python3 cc ss; do
  command -v "$c" >/dev/null || [[ -x /usr/sbin/$c ]] || bdie "$c is not installed"
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

# The open-file limit: 10,000 idle connections are 20,000 descriptors in a
# one-hop proxy, and the holder and nginx hold 10,000 each.
ulimit -Hn 65536 2>/dev/null || true
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
# haproxy refuses to start when maxconn needs more descriptors than the
# limit (two per connection plus its listeners)
HMAXCONN=$(((NOFILE - 300) / 2))

T=$(mktemp -d /tmp/weft-bench-proxy.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null
  done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cp "$B/src/weft" "$T/weft"
WEFT=$T/weft
cc -O2 -Wall -Wextra -o "$T/loadgen" "$bench_dir/loadgen.c" || bdie "cannot build loadgen.c"
CS=""
lib=$(find "$MBEDTLS/lib" -name libmbedcrypto.a 2>/dev/null | head -1)
if [[ -n $lib ]] && cc -O2 -Wall -Wextra -I"$MBEDTLS/include" -o "$T/cipherspeed" \
  "$bench_dir/cipherspeed.c" "$lib"; then
  CS=$T/cipherspeed
else
  bsay "cannot build cipherspeed.c against $MBEDTLS: no cipher speed row"
fi

TCK=$(getconf CLK_TCK)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
PSI0=$(awk '/^some/ { sub("total=", "", $5); print $5 }' /proc/pressure/cpu 2>/dev/null || echo)
START=$(date +%s.%N)
commit=$(git -C "$repo_root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$repo_root" status --porcelain --untracked-files=no 2>/dev/null | grep -c . || true)
[[ $dirty != 0 ]] || dirty=""

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; } # utime+stime
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
now() { date +%s.%N; }
# sum_ticks PID...: utime+stime summed
sum_ticks() { local s=0 p; for p in "$@"; do s=$((s + $(ticks "$p"))); done; echo "$s"; }
sum_fds() { local s=0 p; for p in "$@"; do s=$((s + $(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l))); done; echo "$s"; }
sum_rss() { local s=0 p; for p in "$@"; do s=$((s + $(rss_kb "$p"))); done; echo "$s"; }
# wait_port PORT: until something accepts on it (bounded: 10 s)
wait_port() {
  for _ in $(seq 200); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2).close()' "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
# established PORT: server-side established TCP connections on PORT
established() { ss -Htn state established "( sport = :$1 )" 2>/dev/null | wc -l; }

# ---------- backends ----------
P_NGX=$(free_port) P_IPF=$(free_port)
mkdir -p "$T/www" "$T/nginx"
head -c 1024 /dev/urandom | base64 -w 0 | head -c 1024 >"$T/www/1k"
# nginx's worker runs as nobody when started by root: it must read the file
chmod a+rx "$T" "$T/www"
chmod a+r "$T/www/1k"
cat >"$T/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 65536;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
daemon off;
events { worker_connections 30000; }
http {
  access_log off;
  client_body_temp_path $T/nginx; proxy_temp_path $T/nginx; fastcgi_temp_path $T/nginx;
  uwsgi_temp_path $T/nginx; scgi_temp_path $T/nginx;
  keepalive_requests 10000000;
  keepalive_timeout 600s;
  client_header_timeout 600s;
  server { listen 127.0.0.1:$P_NGX; root $T/www; }
}
EOF
"$NGINX" -c "$T/nginx.conf" -p "$T/nginx" >"$T/nginx/out.log" 2>&1 &
PIDS+=("$!")
iperf3 -s -B 127.0.0.1 -p "$P_IPF" >"$T/iperf3-server.log" 2>&1 &
PIDS+=("$!")
wait_port "$P_NGX" || bdie "nginx did not start: $(cat "$T/nginx/error.log" "$T/nginx/out.log")"
wait_port "$P_IPF" || bdie "iperf3 -s did not start: $(cat "$T/iperf3-server.log")"

# ---------- certificates ----------
"$WEFT" ca init --trust-domain example.org --out "$T/ca" >/dev/null || bdie "weft ca init failed"
"$WEFT" ca issue --ca "$T/ca" --node n1 --services client --out "$T/b-n1" >/dev/null || bdie "weft ca issue failed"
"$WEFT" ca issue --ca "$T/ca" --node n2 --services web,iperf --out "$T/b-n2" >/dev/null || bdie "weft ca issue failed"
CA=$T/ca/ca.crt
cat "$T/b-n1/svc-client.crt" "$T/b-n1/svc-client.key" >"$T/client.pem"
cat "$T/b-n2/svc-web.crt" "$T/b-n2/svc-web.key" >"$T/web.pem"

# ---------- weft: n1 (caller, both kinds of upstream), n2 (inbound) ----------
G1=$(free_port) G2=$(free_port) C1=$(free_port) C2=$(free_port) IN=$(free_port)
PE_W=$(free_port) PE_I=$(free_port) PM_W=$(free_port) PM_I=$(free_port)
LIM="max_connections = 100000
max_pending = 20000"
wconf() { # NAME GOSSIP CONTROL EXTRA
  cat >"$T/$1.ini" <<EOF
[node]
name = $1
data_dir = $T/d-$1
trust_domain = example.org
[admin]
socket = $T/d-$1/admin.sock
[log]
level = warn
[gossip]
enabled = true
bind = 127.0.0.1:$2
join = 127.0.0.1:$G1
profile = local
[identity]
bundle = $T/b-$1
[control]
listen = 127.0.0.1:$3
$4
EOF
}
wconf n1 "$G1" "$C1" "[upstream eweb]
listen = 127.0.0.1:$PE_W
address = 127.0.0.1:$P_NGX
$LIM
[upstream eiperf]
listen = 127.0.0.1:$PE_I
address = 127.0.0.1:$P_IPF
$LIM
[upstream mweb]
listen = 127.0.0.1:$PM_W
service = web
from = client
$LIM
[upstream miperf]
listen = 127.0.0.1:$PM_I
service = iperf
from = client
$LIM"
wconf n2 "$G2" "$C2" "[proxy]
inbound = 127.0.0.1:$IN
max_connections = 100000
[service web]
port = $P_NGX
check = none
[service iperf]
port = $P_IPF
check = none"
# stop_pid PID: TERM, a bounded wait, KILL
stop_pid() {
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  # forget it: the cleanup must not signal a PID the system reused
  local keep=() q
  for q in "${PIDS[@]}"; do [[ $q == "$1" ]] || keep+=("$q"); done
  PIDS=("${keep[@]}")
}
# start_wefts: (re)start n1 and n2 on their data dirs; sets W1 W2; returns
# once the mesh path carries a request and n1 sees miperf's endpoint
start_wefts() {
  local n p
  [[ -z ${W1:-} ]] || { stop_pid "$W1"; stop_pid "$W2"; }
  for n in n1 n2; do
    mkdir -p "$T/d-$n"
    "$WEFT" agent -c "$T/$n.ini" >>"$T/$n.log" 2>&1 &
    PIDS+=("$!")
    if [[ $n == n1 ]]; then W1=$!; else W2=$!; fi
  done
  for p in "$PE_W" "$PE_I" "$PM_W" "$PM_I" "$IN"; do
    wait_port "$p" || bdie "weft did not listen on $p: $(tail -n 5 "$T/n1.log" "$T/n2.log")"
  done
  wait_mesh
}
# the mesh path works once n1's catalog has n2's services
wait_mesh() {
for _ in $(seq 300); do
  curl -fsS -m 2 "http://127.0.0.1:$PM_W/1k" -o /dev/null 2>/dev/null && break
  sleep 0.1
done
curl -fsS -m 2 "http://127.0.0.1:$PM_W/1k" -o /dev/null ||
  bdie "no request through the weft mesh path: $(tail -n 5 "$T/n1.log" "$T/n2.log")"
for _ in $(seq 300); do
  curl -fsS --unix-socket "$T/d-n1/admin.sock" http://weft/v1/proxy 2>/dev/null |
    python3 -c 'import json,sys
d = json.load(sys.stdin)
ups = d.get("upstreams", [])
ok = [u for u in ups if u.get("name") == "miperf" and any(e.get("healthy") for e in u.get("endpoints", []))]
sys.exit(0 if ok else 1)' 2>/dev/null && break
  sleep 0.1
done
}
W1="" W2=""
start_wefts

# ---------- haproxy: one plain hop; the mTLS pair A -> B ----------
H_W=$(free_port) H_I=$(free_port) HS_W=$(free_port) HS_I=$(free_port) HA_W=$(free_port) HA_I=$(free_port) HB_W=$(free_port) HB_I=$(free_port)
hglobal() {
  cat <<EOF
global
  nbthread 1
  maxconn $HMAXCONN
  # splice-auto's pipes take descriptors too (default maxconn / 4 pairs)
  maxpipes 64
  httpclient.ssl.verify none
  log stderr format raw local0 info
defaults
  mode tcp
  timeout client 600s
  timeout server 600s
  timeout connect 5s
EOF
}
{
  hglobal
  cat <<EOF
frontend fw
  bind 127.0.0.1:$H_W
  default_backend bw
backend bw
  server s 127.0.0.1:$P_NGX
frontend fi
  bind 127.0.0.1:$H_I
  default_backend bi
backend bi
  server s 127.0.0.1:$P_IPF
frontend fws
  bind 127.0.0.1:$HS_W
  option splice-auto
  default_backend bws
backend bws
  option splice-auto
  server s 127.0.0.1:$P_NGX
frontend fis
  bind 127.0.0.1:$HS_I
  option splice-auto
  default_backend bis
backend bis
  option splice-auto
  server s 127.0.0.1:$P_IPF
EOF
} >"$T/hp.cfg"
# The client side offers weft's own TLS 1.3 order (ChaCha20 first, as
# weft's client does), so both pairs run the same suite.
HSUITES=TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384
{
  hglobal
  cat <<EOF
frontend fw
  bind 127.0.0.1:$HA_W
  default_backend bw
backend bw
  server s 127.0.0.1:$HB_W ssl crt $T/client.pem ca-file $CA verify required ssl-min-ver TLSv1.3 ciphersuites $HSUITES
frontend fi
  bind 127.0.0.1:$HA_I
  default_backend bi
backend bi
  server s 127.0.0.1:$HB_I ssl crt $T/client.pem ca-file $CA verify required ssl-min-ver TLSv1.3 ciphersuites $HSUITES
EOF
} >"$T/ha.cfg"
{
  hglobal
  cat <<EOF
frontend fw
  bind 127.0.0.1:$HB_W ssl crt $T/web.pem ca-file $CA verify required
  log global
  log-format "suite %sslv %sslc"
  default_backend bw
backend bw
  server s 127.0.0.1:$P_NGX
frontend fi
  bind 127.0.0.1:$HB_I ssl crt $T/web.pem ca-file $CA verify required
  log global
  log-format "suite %sslv %sslc"
  default_backend bi
backend bi
  server s 127.0.0.1:$P_IPF
EOF
} >"$T/hb.cfg"
# start_haproxies: (re)start the three; sets HP HA HB
start_haproxies() {
  local h p
  [[ -z ${HP:-} ]] || { stop_pid "$HP"; stop_pid "$HA"; stop_pid "$HB"; }
  for h in hp ha hb; do
    "$HAPROXY" -db -f "$T/$h.cfg" >>"$T/$h.log" 2>&1 &
    PIDS+=("$!")
    case $h in hp) HP=$! ;; ha) HA=$! ;; hb) HB=$! ;; esac
  done
  for p in "$H_W" "$H_I" "$HS_W" "$HS_I" "$HA_W" "$HA_I" "$HB_W" "$HB_I"; do
    wait_port "$p" || bdie "haproxy did not listen on $p: $(tail -n 3 "$T/hp.log" "$T/ha.log" "$T/hb.log")"
  done
}
HP="" HA="" HB=""
start_haproxies
curl -fsS -m 5 "http://127.0.0.1:$HA_W/1k" -o /dev/null ||
  bdie "no request through the haproxy mTLS pair: $(tail -n 5 "$T/ha.log" "$T/hb.log")"
curl -fsS -m 5 "http://127.0.0.1:$H_W/1k" -o /dev/null || bdie "no request through haproxy"
curl -fsS -m 5 "http://127.0.0.1:$PE_W/1k" -o /dev/null || bdie "no request through weft's egress upstream"

# ---------- cipher suites ----------
# weft: what n2's inbound negotiates with a client offering weft's order
W_SUITE=$(timeout 10 openssl s_client -connect "127.0.0.1:$IN" -servername web \
  -cert "$T/b-n1/svc-client.crt" -key "$T/b-n1/svc-client.key" -CAfile "$CA" \
  -ciphersuites "$HSUITES" </dev/null 2>/dev/null |
  awk '/^New, / { s = $2 " " $NF } /^Server Temp Key:/ { g = $4; sub(/,$/, "", g) } END { print s ", " g }')
# weft's own client: mbedTLS walks the ClientHello's list in TLS 1.3
# (docs/identity.md), and weft's list starts with ChaCha20.
H_SUITE=$(grep -m1 '^suite ' "$T/hb.log" | cut -d' ' -f2-)
bsay "suites: weft inbound ($HSUITES offered): $W_SUITE; haproxy B logged: $H_SUITE"

# ---------- the paths ----------
# name|port of the 1k file|port of iperf3|proxy pids. "haproxy splice" is
# the same haproxy process with option splice-auto (weft splices plain
# relays by itself); the memory runs skip it (pipes are kernel memory).
set_paths() {
  PATHS=(
    "direct|$P_NGX|$P_IPF|"
    "weft|$PE_W|$PE_I|$W1"
    "haproxy|$H_W|$H_I|$HP"
    "haproxy splice|$HS_W|$HS_I|$HP"
    "weft mTLS|$PM_W|$PM_I|$W1 $W2"
    "haproxy mTLS|$HA_W|$HA_I|$HA $HB"
  )
}
set_paths
declare -A TMAX TPUT TCPU RPS RCPU RERR LAT LCPU MEM MHELD MFD

# ---------- throughput (iperf3) ----------
for row in "${PATHS[@]}"; do
  IFS='|' read -r name _ pi pids <<<"$row"
  read -ra pp <<<"$pids"
  bsay "iperf3 -t $SECS through $name"
  pt0=()
  for p in "${pp[@]}"; do pt0+=("$(ticks "$p")"); done
  t0=$(sum_ticks "${pp[@]}"); w0=$(now)
  timeout $((SECS + 30)) iperf3 -c 127.0.0.1 -p "$pi" -t "$SECS" -P 1 -J >"$T/iperf.json" 2>"$T/iperf.err"
  w1=$(now); t1=$(sum_ticks "${pp[@]}")
  TPUT[$name]=$(python3 -c 'import json,sys
try:
    d = json.load(open(sys.argv[1])); print("%.0f" % (d["end"]["sum_received"]["bits_per_second"] / 1e6))
except Exception:
    print("failed")' "$T/iperf.json")
  [[ ${TPUT[$name]} != failed ]] || bsay "iperf3 through $name failed: $(head -c 300 "$T/iperf.json") $(cat "$T/iperf.err")"
  TCPU[$name]=$(awk -v a="$t0" -v b="$t1" -v h="$TCK" -v w0="$w0" -v w1="$w1" 'BEGIN { printf "%.0f", (b - a) / h / (w1 - w0) * 100 }')
  # the busiest process's share of a core, for MB per CPU-second
  TMAX[$name]=0
  for i in "${!pp[@]}"; do
    c=$(awk -v a="${pt0[$i]}" -v b="$(ticks "${pp[$i]}")" -v h="$TCK" -v w0="$w0" -v w1="$w1" 'BEGIN { printf "%.0f", (b - a) / h / (w1 - w0) * 100 }')
    ((c > TMAX[$name])) && TMAX[$name]=$c
    ((${#pp[@]} > 1)) && TCPU[$name]+=" (${c}%)"
  done
  bsay "  ${TPUT[$name]} Mbit/s, proxy CPU ${TCPU[$name]}% of a core"
done

# ---------- req/s (wrk) ----------
for row in "${PATHS[@]}"; do
  IFS='|' read -r name pw _ pids <<<"$row"
  read -ra pp <<<"$pids"
  bsay "wrk -t1 -c$CONNS -d${SECS}s through $name"
  t0=$(sum_ticks "${pp[@]}"); w0=$(now)
  timeout $((SECS + 30)) wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$pw/1k" >"$T/wrk.out" 2>&1
  w1=$(now); t1=$(sum_ticks "${pp[@]}")
  RPS[$name]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$T/wrk.out")
  RERR[$name]=$(awk '/Socket errors|Non-2xx/ { $1 = $1; printf "%s; ", $0 }' "$T/wrk.out")
  [[ -n ${RPS[$name]} ]] || { bsay "wrk through $name failed: $(tail -n 3 "$T/wrk.out")"; RPS[$name]=failed; }
  RCPU[$name]=$(awk -v a="$t0" -v b="$t1" -v h="$TCK" -v w0="$w0" -v w1="$w1" 'BEGIN { printf "%.0f", (b - a) / h / (w1 - w0) * 100 }')
  bsay "  ${RPS[$name]} req/s, proxy CPU ${RCPU[$name]}% of a core ${RERR[$name]}"
done

# ---------- latency at fixed rates (loadgen, open loop) ----------
# ROUNDS rounds, each path once per round at each rate (interleaved, so a
# burst of load elsewhere on the machine hits one round of one path, not all
# of its samples); the table gives the median of the rounds' percentiles.
# "haproxy splice" is left out: splice matters for bulk, not for 1 KiB.
IFS=, read -ra rates <<<"$RATES"
declare -A LT LW
for r in "${rates[@]}"; do
  for ((round = 1; round <= ROUNDS; round++)); do
    for row in "${PATHS[@]}"; do
      IFS='|' read -r name pw _ pids <<<"$row"
      [[ $name != "haproxy splice" ]] || continue
      read -ra pp <<<"$pids"
      bsay "loadgen $r req/s for ${LSECS}s (+1 s warm-up) through $name, round $round of $ROUNDS"
      t0=$(sum_ticks "${pp[@]}"); w0=$(now)
      out=$(timeout $((LSECS + 30)) "$T/loadgen" 127.0.0.1 "$pw" /1k "$r" "$LSECS" "$CONNS" 1 2>&1 | tail -1)
      w1=$(now); t1=$(sum_ticks "${pp[@]}")
      LAT[$r,$name,$round]=$out
      LT[$r,$name]=$((${LT[$r,$name]:-0} + t1 - t0))
      LW[$r,$name]=$(awk -v a="${LW[$r,$name]:-0}" -v w0="$w0" -v w1="$w1" 'BEGIN { print a + w1 - w0 }')
      bsay "  $out"
    done
  done
  for row in "${PATHS[@]}"; do
    IFS='|' read -r name _ _ _ <<<"$row"
    # CPU seconds per wall second (a share of one core) per 1000 req/s
    [[ -n ${LT[$r,$name]:-} ]] && LCPU[$r,$name]=$(awk -v t="${LT[$r,$name]}" -v h="$TCK" -v w="${LW[$r,$name]}" -v r="$r" \
      'BEGIN { printf "%.1f", t / h / w * 100 / (r / 1000) }')
  done
done
# lat_field KEY ROUND FIELD: a field of one round's loadgen line (p50_us ...)
lat_field() { sed -n "s/.*\b$3=\([^ ]*\).*/\1/p" <<<"${LAT[$1,$2]:-}"; }
# lat_med KEY FIELD: the median over the rounds (the lower middle if even)
lat_med() {
  local i
  for ((i = 1; i <= ROUNDS; i++)); do lat_field "$1" "$i" "$2"; done |
    sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.0f", v[int((NR + 1) / 2)] }'
}
# lat_sum KEY FIELD: summed over the rounds; lat_range KEY FIELD: "min-max"
lat_sum() {
  local i
  for ((i = 1; i <= ROUNDS; i++)); do lat_field "$1" "$i" "$2"; done | awk '{ s += $1 } END { print s + 0 }'
}
lat_range() {
  local i
  for ((i = 1; i <= ROUNDS; i++)); do lat_field "$1" "$i" "$2"; done |
    sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { if (NR) printf "%.0f-%.0f", a, b }'
}

# ---------- memory per idle proxied connection ----------
# hold.py PORT BACKEND_PORT N BASE: open N connections in batches of 250,
# each batch waited for until the backend holds BASE + as many; prints
# "held N" (or "failed: the backend holds K of M") and keeps them until
# stdin closes.
cat >"$T/hold.py" <<'EOF'
import socket, subprocess, sys, time
port, bport, n, base = (int(a) for a in sys.argv[1:5])
def est():
    out = subprocess.run(["ss", "-Htn", "state", "established", "( sport = :%d )" % bport],
                         capture_output=True, text=True).stdout
    return len(out.splitlines())
socks = []
while len(socks) < n:
    for _ in range(min(250, n - len(socks))):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError as e:
            print("failed: the backend holds %d of %d (connect: %s)" % (est() - base, len(socks), e), flush=True)
            sys.stdin.read()
            sys.exit(1)
        socks.append(s)
    deadline = time.monotonic() + 20
    while est() < base + len(socks):
        if time.monotonic() > deadline:
            # keep them open: the proxy is measured as it is now
            print("failed: the backend holds %d of %d" % (est() - base, len(socks)), flush=True)
            sys.stdin.read()
            sys.exit(1)
        time.sleep(0.05)
print("held %d" % len(socks), flush=True)
sys.stdin.read()
EOF
IFS=, read -ra mems <<<"$MEMS"
mems_done=() MEMCAP=""
for m in "${mems[@]}"; do
  [[ -n $m ]] || continue
  if ((m * 2 + 300 > NOFILE)); then
    # a proxy holds two descriptors per connection: the most that fits
    m=$(((NOFILE - 300) / 2 / 100 * 100))
    bsay "open-file limit $NOFILE: $m idle connections instead of the asked count"
    MEMCAP="the open-file limit is $NOFILE here (the hard limit; raising it needs CAP_SYS_RESOURCE), and a one-hop proxy holds at least two descriptors per connection: the largest count is $m"
  fi
  mems_done+=("$m")
  for mrow in "${PATHS[@]}"; do
    IFS='|' read -r name _ _ pids <<<"$mrow"
    [[ -n $pids && $name != "haproxy splice" ]] || continue
    # fresh processes, so memory freed by earlier runs is not reused
    # (that would hide growth); then the path's current pids
    case $name in weft*) start_wefts ;; *) start_haproxies ;; esac
    set_paths
    for row in "${PATHS[@]}"; do [[ ${row%%|*} == "$name" ]] && break; done
    IFS='|' read -r name pw _ pids <<<"$row"
    read -ra pp <<<"$pids"
    sleep 1
    base=$(established "$P_NGX")
    before=$(sum_rss "${pp[@]}") fd0=$(sum_fds "${pp[@]}")
    bsay "$m idle connections through $name (backend holds $base)"
    rm -f "$T/hold.fifo"; mkfifo "$T/hold.fifo"
    timeout 600 python3 "$T/hold.py" "$pw" "$P_NGX" "$m" "$base" <"$T/hold.fifo" >"$T/hold.out" 2>&1 &
    hpid=$!
    exec 7>"$T/hold.fifo"
    for _ in $(seq 3000); do
      grep -q '^held \|^failed' "$T/hold.out" && break
      kill -0 "$hpid" 2>/dev/null || break
      sleep 0.1
    done
    sleep 1
    after=$(sum_rss "${pp[@]}") fd1=$(sum_fds "${pp[@]}")
    held=$(sed -n 's/^held //p' "$T/hold.out")
    if [[ -n $held ]]; then
      MEM[$m,$name]=$(awk -v a="$after" -v b="$before" -v n="$held" 'BEGIN { printf "%.1f", (a - b) / n }')
      MHELD[$m,$name]="$before -> $after"
    else
      MEM[$m,$name]="failed: $(sed -n 's/^failed: //p' "$T/hold.out")"
      MHELD[$m,$name]="$before -> $after"
      bsay "  failed: $(tail -n 2 "$T/hold.out")"
    fi
    # per connection the backend holds (a failed run: as far as it got)
    [[ -n $held ]] || held=$(sed -n 's/^failed: the backend holds \([0-9]*\) .*/\1/p' "$T/hold.out")
    MFD[$m,$name]=$(awk -v a="$fd1" -v b="$fd0" -v n="${held:-0}" 'BEGIN { if (n > 0) printf "%.1f", (a - b) / n; else print "n/a" }')
    # weft's log lines about it (the logs of restarted agents are appended)
    [[ $name != weft* ]] || grep -h -i 'too many\|EMFILE' "$T/n1.log" "$T/n2.log" 2>/dev/null |
      tail -n 2 | while read -r l; do bsay "  log: $l"; done
    bsay "  VmRSS $before -> $after KiB: ${MEM[$m,$name]} KiB per connection"
    exec 7>&-
    wait "$hpid" 2>/dev/null
    # until the backend is back to its base (bounded: 60 s)
    for _ in $(seq 600); do (($(established "$P_NGX") <= base)) && break; sleep 0.1; done
  done
done

# ---------- syscalls of the relay (optional, not a measurement) ----------
# strace_run NAME PORT PID...: iperf3 for 5 s; strace each PID for 2 s in
# the middle; per PID "syscall calls mean-bytes" lines into SC[NAME]
declare -A SC
strace_run() {
  local name=$1 port=$2 p ipid
  shift 2
  timeout 40 iperf3 -c 127.0.0.1 -p "$port" -t 5 -P 1 >/dev/null 2>&1 &
  ipid=$!
  sleep 1.5
  for p in "$@"; do
    timeout -s INT 2 strace -qq -p "$p" -e trace=read,write,readv,writev,recvfrom,sendto,recvmsg,sendmsg,splice,epoll_wait \
      -o "$T/strace.$p" 2>/dev/null &
  done
  wait "$ipid" 2>/dev/null
  sleep 0.5
  for p in "$@"; do
    SC[$name]+="$(awk -v pid="$p" -F'[(=]' '{ n = $1; r = $NF + 0; c[n]++; if (r > 0) b[n] += r }
      END { for (k in c) printf "pid %s: %s x%d, mean %d B; ", pid, k, c[k], (k ~ /epoll/ ? 0 : b[k] / c[k]) }' "$T/strace.$p")"
  done
}
# strace_wrk NAME PORT PID...: syscalls per request of a 2 s wrk run with
# strace attached to the PIDs throughout; into SC[NAME (wrk)]
strace_wrk() {
  local name=$1 port=$2 p reqs
  shift 2
  local sp=()
  for p in "$@"; do
    strace -qq -p "$p" -e trace=read,write,readv,writev,recvfrom,sendto,splice,epoll_wait,epoll_ctl \
      -o "$T/strace.$p" 2>/dev/null &
    sp+=("$!")
  done
  sleep 0.5
  timeout 30 wrk -t1 -c"$CONNS" -d2s "http://127.0.0.1:$port/1k" >"$T/wrk-strace.out" 2>&1
  for p in "${sp[@]}"; do kill -INT "$p" 2>/dev/null; done
  for p in "${sp[@]}"; do wait "$p" 2>/dev/null; done
  reqs=$(awk '/requests in/ { print $1; exit }' "$T/wrk-strace.out")
  local key="$name (wrk, ${reqs:-?} requests)"
  for p in "$@"; do
    SC[$key]+="$(awk -v pid="$p" -v n="${reqs:-0}" -F'[(=]' '{ c[$1]++ }
      END { for (k in c) if (n > 0) printf "pid %s: %s %.2f per request; ", pid, k, c[k] / n }' "$T/strace.$p")"
  done
}
if [[ $SYSCALLS == 1 ]] && command -v strace >/dev/null; then
  bsay "syscalls under strace (not a measurement)"
  strace_run "weft" "$PE_I" "$W1"
  strace_run "weft mTLS" "$PM_I" "$W1" "$W2"
  strace_wrk "weft" "$PE_W" "$W1"
  strace_wrk "haproxy" "$H_W" "$HP"
fi

# ---------- cipher speed ----------
declare -A CSPEED
if [[ -n $CS ]]; then
  bsay "mbedTLS AEAD speed, 2 s each"
  while read -r a v; do CSPEED[$a]=$v; done < <("$CS" 2)
fi
# OpenSSL's (haproxy's library) for context: openssl speed, 16 KiB, 2 s
declare -A OSPEED
for a in chacha20-poly1305 aes-128-gcm aes-256-gcm; do
  OSPEED[$a]=$(timeout 30 openssl speed -evp "$a" -seconds 2 -bytes 16384 2>/dev/null |
    awk 'END { v = $NF; sub(/k$/, "", v); printf "%.0f", v / 1000 }')
done

END=$(date +%s.%N)
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
PSI1=$(awk '/^some/ { sub("total=", "", $5); print $5 }' /proc/pressure/cpu 2>/dev/null || echo)
PSIPCT=$(awk -v a="$PSI0" -v b="$PSI1" -v s="$START" -v e="$END" 'BEGIN { if (a == "" || b == "") print "n/a"; else printf "%.1f%%", (b - a) / 1e6 / (e - s) * 100 }')

# ---------- report ----------
# nratio A B: ratio, or n/a unless both are numbers (a failed run)
nratio() {
  if [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]]; then ratio "$1" "$2"; else echo n/a; fi
}
# weft_of PATH: the weft path a haproxy row is compared with ("weft / this")
weft_of() {
  case $1 in
  haproxy | "haproxy splice") echo weft ;;
  "haproxy mTLS") echo "weft mTLS" ;;
  esac
}
mb() { awk -v v="$1" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.0f", v / 8; else print v }'; } # Mbit/s -> MB/s
cat <<EOF
## Data plane

- date: $(date -u '+%Y-%m-%d %H:%M UTC') ($(awk -v s="$START" -v e="$END" 'BEGIN { printf "%.0f", e - s }') s in all)
- commit: $commit${dirty:+ (+$dirty modified files in the tree)}
- command: \`$cmdline\`
- weft: \`$("$WEFT" --version | head -1)\` (${B#"$repo_root"/}); $("$WEFT" --version | sed -n 's/^dependencies: //p')
- peers: $("$HAPROXY" -v | head -1 | cut -d' ' -f1-3) (\`nbthread 1\`, \`mode tcp\`; \`option splice-auto\` only in the \`haproxy splice\` row), $("$NGINX" -v 2>&1 | sed 's/^nginx version: //') (1 worker, the backend), $(iperf3 -v | head -1 | cut -d' ' -f1-2), wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }'), $(openssl version | cut -d' ' -f1-2)
EOF
machine_info
cat <<EOF
- open-file limit: $NOFILE (\`ulimit -n\`; haproxy \`maxconn $HMAXCONN\`)
- load average at start $LOAD0, at end $LOAD1; a task waited for a CPU ${PSIPCT} of the time (PSI)
- suites: weft pair TLS 1.3 \`$W_SUITE\` (n2's inbound to \`openssl s_client\` offering weft's order); haproxy pair \`${H_SUITE:-not logged}\` (logged by haproxy B)

### Throughput and requests per second

iperf3: \`iperf3 -c 127.0.0.1 -p PORT -t $SECS -P 1\` (one stream, client to
server), received rate. wrk: \`wrk -t1 -c$CONNS -d${SECS}s http://127.0.0.1:PORT/1k\`
(keep-alive, a 1,024-byte file from nginx). Proxy CPU: utime+stime of the
proxy process(es) over the run, in % of one core (for a pair: the sum, and
each process in parentheses: n1 or haproxy A first).

| path | iperf3 Mbit/s | / direct | weft / this | proxy CPU | wrk req/s | / direct | weft / this | proxy CPU |
|---|---|---|---|---|---|---|---|---|
EOF
for row in "${PATHS[@]}"; do
  IFS='|' read -r name _ _ _ <<<"$row"
  w=$(weft_of "$name")
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "${TPUT[$name]}" \
    "$(ratio "${TPUT[$name]}" "${TPUT[direct]}")" "$([[ -n $w ]] && nratio "${TPUT[$w]}" "${TPUT[$name]}")" \
    "$(sed -E 's/([0-9]+)( |$)/\1%\2/' <<<"${TCPU[$name]}")" "${RPS[$name]}" "$(ratio "${RPS[$name]}" "${RPS[direct]}")" \
    "$([[ -n $w ]] && nratio "${RPS[$w]}" "${RPS[$name]}")" "${RCPU[$name]}%"
done
errs=$(for k in "${!RERR[@]}"; do [[ -n ${RERR[$k]} ]] && printf '%s ' "$k"; done)
[[ -z $errs ]] || printf '\nwrk errors: %s\n' "$(for k in "${!RERR[@]}"; do [[ -n ${RERR[$k]} ]] && printf '%s: %s' "$k" "${RERR[$k]}"; done)"
cat <<EOF

### Latency at fixed rates (open loop)

\`loadgen 127.0.0.1 PORT /1k RATE $LSECS $CONNS 1\`: $CONNS keep-alive
connections, one request in flight on each, requests due on a fixed
schedule and timed from when they were due (queueing counted); the first
second is a warm-up, not recorded. $ROUNDS rounds, the paths interleaved
within each; the percentiles are the **median of the rounds'** (n and
errors: summed; the p99 range: lowest-highest round). Microseconds;
"added" is the path's median percentile minus direct's at the same rate.
CPU: the proxy process(es), % of one core per 1000 req/s, over all rounds
with their warm-ups.

| rate | path | n | errors | p50 | p99 | p99 range | p99.9 | max | added p50 | added p99 | added p99.9 | proxy CPU per 1000 req/s |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
EOF
for r in "${rates[@]}"; do
  for row in "${PATHS[@]}"; do
    IFS='|' read -r name _ _ _ <<<"$row"
    [[ $name != "haproxy splice" ]] || continue
    k=$r,$name d=$r,direct
    add() { awk -v a="$(lat_med "$k" "$1")" -v b="$(lat_med "$d" "$1")" 'BEGIN { if (a == "" || b == "") print "n/a"; else printf "%.0f", a - b }'; }
    cpu=${LCPU[$k]:-?}%
    [[ $name == direct ]] && cpu=-
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$r" "$name" \
      "$(lat_sum "$k" n)" "$(lat_sum "$k" errors)" "$(lat_med "$k" p50_us)" \
      "$(lat_med "$k" p99_us)" "$(lat_range "$k" p99_us)" "$(lat_med "$k" p999_us)" "$(lat_med "$k" max_us)" \
      "$(add p50_us)" "$(add p99_us)" "$(add p999_us)" "$cpu"
  done
done
cat <<EOF

### Resident memory per idle proxied connection

N connections opened through the path in batches of 250 (each batch
waited for until nginx holds it: for the pairs, the TLS handshake is
done; a batch not held within 20 s ends the run as failed), held idle
1 s; VmRSS of the proxy process(es) (summed for a pair) before and
after, divided by N; the proxies are restarted before each row (so
memory freed by earlier runs is not reused). Descriptors: entries in
/proc/PID/fd, after minus before, per connection held.${MEMCAP:+ Asked for $MEMS; $MEMCAP.}

| N | path | VmRSS before -> after KiB | KiB per connection | weft / this | descriptors per connection |
|---|---|---|---|---|---|
EOF
for m in "${mems_done[@]}"; do
  for row in "${PATHS[@]}"; do
    IFS='|' read -r name _ _ pids <<<"$row"
    [[ -n $pids && $name != "haproxy splice" ]] || continue
    w=$(weft_of "$name")
    printf '| %s | %s | %s | %s | %s | %s |\n' "$m" "$name" "${MHELD[$m,$name]:-skipped}" "${MEM[$m,$name]:-skipped}" \
      "$([[ -n $w ]] && nratio "${MEM[$m,$w]:-}" "${MEM[$m,$name]:-}")" "${MFD[$m,$name]:-}"
  done
done
if [[ $SYSCALLS == 1 ]] && ((${#SC[@]})); then
  printf '\n### Syscalls of the relay (under strace, which slows it: counts, not speeds)\n\n'
  for k in "${!SC[@]}"; do printf -- '- %s: %s\n' "$k" "${SC[$k]}"; done
fi
if [[ -n $CS ]]; then
  wcpu=$(awk -v t="$(mb "${TPUT[weft mTLS]}")" -v c="${TMAX[weft mTLS]:-0}" 'BEGIN { if (c > 0 && t ~ /^[0-9.]+$/) printf "%.0f", t / c * 100 }')
  cat <<EOF

### mbedTLS's own AEAD speed, one core

\`tools/bench/cipherspeed.c\` against \`${lib#"$repo_root"/}\`: 16 KiB records
sealed in a loop for 2 s of CPU time each; MB (10^6 bytes) per CPU-second.
The weft mTLS iperf3 row above: $(mb "${TPUT[weft mTLS]}") MB/s of wall time
(n1 seals, n2 opens, each in its own process); its busiest weft process used
${TMAX[weft mTLS]:-?}% of a core, so it moved ${wcpu:-n/a} MB per CPU-second of that process.
The haproxy pair: $(mb "${TPUT[haproxy mTLS]}") MB/s (busiest process ${TMAX[haproxy mTLS]:-?}%).

| AEAD | mbedTLS MB per CPU-s | weft mTLS iperf3 MB/s (wall) / this | weft MB per CPU-s of its busiest process / this | OpenSSL (\`openssl speed -evp\`, 16 KiB) MB/s |
|---|---|---|---|---|
EOF
  for a in CHACHA20-POLY1305 AES-128-GCM AES-256-GCM; do
    lc=$(tr '[:upper:]' '[:lower:]' <<<"$a")
    printf '| %s | %s | %s | %s | %s |\n' "$a" "${CSPEED[$a]:-n/a}" "$(ratio "$(mb "${TPUT[weft mTLS]}")" "${CSPEED[$a]:-}")" \
      "$(ratio "$wcpu" "${CSPEED[$a]:-}")" "${OSPEED[$lc]:-n/a}"
  done
fi
