#!/usr/bin/env bash
# tools/bench/gossip.sh: weft's gossip side by side with serf 0.9.4, real
# processes, one network namespace per agent; ratios weft/serf.
#
# Usage: [WEFT=path] tools/bench/gossip.sh [-n LIST] [--loss LIST] [--impl LIST]
#                             [--window SEC] [--budget SEC] [--json FILE]
#
#   -n LIST         comma list of cluster sizes (default 10; e.g. 10,50,100)
#   --loss LIST     comma list of loss percentages (default 0,10,25)
#   --impl LIST     weft-lan, weft-lossy, serf-lan (default all three;
#                   weft-lossy runs only at loss > 0)
#   --window SEC    false-failure / traffic / CPU window (default 60)
#   --budget SEC    bound of every wait (convergence: + N) (default 90)
#   --json FILE     also write every number as JSON
#
#   WEFT            the weft binary (default build-netnsrel/src/weft, else
#                   build-release/src/weft); copied to the temp dir first.
#
# For each N, loss and implementation, one cluster of N agents (never two
# clusters at once), each in its namespace gb<pid>-i with eth0 = 10.78.x.y
# on a bridge in gb<pid>-0 (addresses that exist only inside): converge,
# then loss on every node's eth0 egress (tc netem if the kernel has it, else
# iptables' statistic match), a window counting false failures, bytes and
# CPU per node per second and VmRSS, then the time until a new member is
# seen by all and until a kill -9'd member is seen failed by all
# (tools/bench/gossip.py does the work; README.md explains the numbers).
#
# Needs root (namespaces, iptables), python3, iproute2, iptables and serf
# (installed with apt-get if missing; BENCH_NO_INSTALL=1 skips that).
# Output: markdown on stdout, progress on stderr. Not a test: nothing is
# asserted about the numbers. Every namespace and agent is removed on exit,
# Ctrl-C included.
set -euo pipefail
# shellcheck disable=SC2034 # used by lib.sh
bench_name=gossip
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

cmdline="tools/bench/gossip.sh${*:+ $*}"
py_args=()
while (($#)); do
  case $1 in
  -n) py_args+=(-n "${2:?}"); shift 2 ;;
  --loss | --impl | --window | --budget | --json) py_args+=("$1" "${2:?}"); shift 2 ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
  esac
done

[[ $(id -u) == 0 ]] || bdie "needs root (network namespaces, iptables)"
for t in ip iptables python3; do
  command -v "$t" >/dev/null 2>&1 || bdie "$t is missing (tools/deps.sh installs it)"
done
weft=${WEFT:-}
if [[ -z $weft ]]; then
  for b in build-netnsrel build-release; do
    if [[ -x $repo_root/$b/src/weft ]]; then weft=$repo_root/$b/src/weft; break; fi
  done
fi
[[ -n $weft && -x $weft ]] || bdie "no weft binary (build one, or set WEFT=path)"
ensure_peers
command -v serf >/dev/null 2>&1 || bdie "serf is missing"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-bench-gossip.XXXXXX")
# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
  # gossip.py removes what it made; this is for when it was killed itself.
  local kind v
  if [[ -f $tmp/state ]]; then
    while read -r kind v; do
      if [[ $kind == pid && $v =~ ^[0-9]+$ ]]; then kill -KILL "$v" 2>/dev/null || true; fi
    done <"$tmp/state"
    while read -r kind v; do
      if [[ $kind == ns && $v =~ ^gb[0-9]+-[0-9]+$ ]]; then ip netns del "$v" 2>/dev/null || true; fi
    done <"$tmp/state"
  fi
  rm -rf "$tmp"
}
py_pid=""
trap cleanup EXIT
trap '[[ -z $py_pid ]] || { kill -TERM "$py_pid" 2>/dev/null; wait "$py_pid"; }; exit 130' INT TERM

cp "$weft" "$tmp/weft"
commit=$(git -C "$repo_root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$repo_root" status --porcelain --untracked-files=no 2>/dev/null | grep -c . || true)
[[ $dirty != 0 ]] || dirty=""
load0=$(cut -d' ' -f1-3 /proc/loadavg)
bsay "$("$tmp/weft" --version 2>/dev/null | head -1) ($weft), serf $(pkg_version serf)"

echo "## gossip vs serf"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- commit: $commit${dirty:+ (+$dirty modified files in the tree)}"
echo "- command: \`$cmdline\`"
echo "- weft: $("$tmp/weft" --version 2>/dev/null | head -1); serf: $(pkg_version serf)"
machine_info
echo "- load average before: $load0"
echo
# In the background, so that a TERM or Ctrl-C reaches it through the trap
# (gossip.py then removes its agents and namespaces itself).
python3 "$bench_dir/gossip.py" --weft "$tmp/weft" --serf "$(command -v serf)" \
  --prefix "gb$$" --tmp "$tmp" --state "$tmp/state" "${py_args[@]}" &
py_pid=$!
wait "$py_pid"
py_pid=""
echo
echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
