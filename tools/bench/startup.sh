#!/usr/bin/env bash
# tools/bench/startup.sh: start-to-ready time and idle memory of `weft agent`,
# side by side with haproxy and serf in one run; ratios weft/peer.
#
# Usage: [WEFT=path] tools/bench/startup.sh [-n RUNS] [--warmup N] [--idle SEC]
#                              [--timeout SEC] [--targets LIST] [--json FILE]
#
#   -n RUNS         measured runs per program (default 20)
#   --warmup N      warm-up rounds, thrown away (default 1)
#   --idle SEC      idle time after ready before memory is read (default 1)
#   --timeout SEC   bound of every wait: ready, exit (default 10)
#   --targets LIST  comma list of floor, weft-fresh, weft-existing, haproxy,
#                   haproxy-lean, serf, serf-snapshot (default: all)
#   --json FILE     also write every sample as JSON
#
#   WEFT            the weft binary (default build-release/src/weft); when it
#                   is missing the weft rows are skipped with a note.
#
# Programs (each started from scratch per run, fresh temp dir, fresh ports,
# all on 127.0.0.1):
#   weft-fresh      weft agent -c CONFIG, empty data dir    ready: READY=1
#   weft-existing   the same, second start on a data dir    ready: READY=1
#                   made by one earlier clean start/stop
#   haproxy         haproxy -Ws -f CONFIG (master-worker,   ready: READY=1
#                   1 frontend, maxconn 1024, else defaults)
#   haproxy-lean    the same plus nbthread 1 and            ready: READY=1
#                   httpclient.ssl.verify none (no load of
#                   the system CA store at start)
#   serf            serf agent -bind=127.0.0.1:P            ready: its RPC
#                   -rpc-addr=127.0.0.1:R                   port accepts
#   serf-snapshot   the same with -snapshot=FILE, second    ready: its RPC
#                   start (same name, ports, snapshot)      port accepts
#   floor           a static C program that sends READY=1   ready: READY=1
#                   at once: the cost of fork/exec/notify
# The timing is done by one python3 process that takes the monotonic clock,
# forks/execs the program, and listens on $NOTIFY_SOCKET itself (startup.py).
# Peers are installed with apt-get if missing (BENCH_NO_INSTALL=1 to skip).
#
# Output: markdown (machine, table, ratios) on stdout, progress on stderr.
# Not a test: nothing is asserted about the numbers; exit 0 unless the
# harness itself failed.
set -euo pipefail
# shellcheck disable=SC2034 # used by lib.sh
bench_name=startup
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

cmdline="tools/bench/startup.sh${*:+ $*}"
[[ -n ${WEFT:-} ]] && cmdline="WEFT=$WEFT $cmdline"
py_args=()
while (($#)); do
  case $1 in
  -n | --runs) py_args+=(--runs "${2:?}"); shift 2 ;;
  --warmup | --idle | --timeout | --targets | --json) py_args+=("$1" "${2:?}"); shift 2 ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
  esac
done

weft=${WEFT:-$repo_root/build-release/src/weft}
[[ -x $weft ]] || { bsay "no weft binary at $weft: weft rows skipped (build it, or set WEFT=path)"; weft=""; }

py=$(command -v python3 || true)
[[ -x /usr/bin/python3 ]] && py=/usr/bin/python3
[[ -n $py ]] || bdie "python3 is needed (apt-get install -y python3)"

ensure_peers

tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-bench-startup.XXXXXX")
# shellcheck disable=SC2317 # (called by the traps)
cleanup() {
  # startup.py reaps what it starts; this is for when it was killed itself.
  local pg
  if [[ -f $tmp/pgids ]]; then
    while read -r pg; do
      if [[ $pg =~ ^[0-9]+$ ]]; then kill -KILL -- "-$pg" 2>/dev/null || true; fi
    done <"$tmp/pgids"
  fi
  rm -rf "$tmp"
}
pypid=
# shellcheck disable=SC2317 # (called by the traps)
on_signal() {
  # startup.py stops what it started when told to (every wait in it is bounded).
  if [[ -n $pypid ]]; then
    kill -TERM "$pypid" 2>/dev/null || true
    wait "$pypid" 2>/dev/null || true
  fi
  exit 130
}
trap cleanup EXIT
trap on_signal INT TERM HUP

echo "# weft startup benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
machine_info
if [[ -n $weft ]]; then
  # Measure a private copy: a rebuild of the tree during the run cannot swap it.
  cp "$weft" "$tmp/weft"
  wv=$("$tmp/weft" version 2>/dev/null || echo 'version unknown')
  echo "- weft: ${weft#"$repo_root"/}: ${wv%%$'\n'*}, $(stat -c %s "$weft") bytes, $(file -b "$weft" | cut -d, -f1-4)"
  weft=$tmp/weft
else
  echo "- weft: not measured in this run (no binary)"
fi
sv=$(serf version 2>/dev/null || echo '?')
echo "- haproxy: $(pkg_version haproxy) (Debian package), serf: $(pkg_version serf) (Debian package; \`serf version\`: ${sv%%$'\n'*})"
echo "- temp dir (data dirs, sockets): $(dirname "$tmp") on $(findmnt -no FSTYPE -T "$tmp" 2>/dev/null || df --output=fstype "$tmp" | tail -1)"
echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# Bounded overall: every wait inside is bounded by --timeout; this is the backstop.
# In the background so that a signal to this script is handled at once.
timeout --kill-after=10 3600 "$py" "$bench_dir/startup.py" --tmp "$tmp" ${weft:+--weft "$weft"} \
  --command "$cmdline" "${py_args[@]}" &
pypid=$!
rc=0
wait "$pypid" || rc=$?
pypid=
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)."
exit $rc
