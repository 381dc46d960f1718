#!/usr/bin/env bash
# tools/bench/mesh.sh: the replicated control plane (docs/mesh.md), real
# agents on loopback: how long a change made with `weft apply` at one node
# takes to reach all N nodes, the bytes it moves, and what a node that
# missed 1,000 changes costs when it returns; then the simulator
# (tests/sim/sim_mesh) for context.
#
# Usage: [WEFT=path] tools/bench/mesh.sh [-n LIST] [--changes K] [--missed M]
#                                        [--idle SEC] [--budget SEC]
#                                        [--sim-nodes LIST] [--json FILE]
#
#   -n LIST          comma list of cluster sizes (default 10,50)
#   --changes K      changes per N, for the p50 and max (default 10)
#   --missed M       objects a stopped node misses (default 1000; 0: skip)
#   --idle SEC       idle window for the gossip and CPU baseline (default 10)
#   --budget SEC     bound of every wait (default 60)
#   --sim-nodes LIST comma list of N for `sim_mesh converge` (default 1000;
#                    "" skips it); each run is bounded by SIM_TIME_MAX
#                    seconds (default 240). `sim_mesh rejoin` (10 nodes,
#                    1,000 missed writes) always runs when sim_mesh exists.
#   --json FILE      also write every real-process number as JSON
#
#   WEFT             the weft binary (default build-meshbench/src/weft, else
#                    build-release/src/weft: a Release build; 50 agents of
#                    an ASan build do not fit 2 cores); copied to the temp
#                    dir first. sim_mesh is looked up next to it
#                    (BUILD/tests/sim/sim_mesh).
#
# No root needed: every agent listens on 127.0.0.1 (fresh ports). Each node
# has its own CA-issued bundle, gossip profile `local`, a [control]
# listener; node 1 is the join target and the writer. tools/bench/mesh.py
# does the work (README.md explains the numbers). Output: markdown on
# stdout, progress on stderr. Not a test: nothing is asserted about the
# numbers. Every agent and the temp dir are removed on exit, Ctrl-C included.
set -euo pipefail
# shellcheck disable=SC2034 # used by lib.sh
bench_name=mesh
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

cmdline="tools/bench/mesh.sh${*:+ $*}"
py_args=()
sim_nodes=1000
while (($#)); do
  case $1 in
  -n) py_args+=(-n "${2:?}"); shift 2 ;;
  --changes | --missed | --idle | --budget | --json) py_args+=("$1" "${2:?}"); shift 2 ;;
  --sim-nodes) sim_nodes=$2; shift 2 ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
  esac
done

command -v python3 >/dev/null 2>&1 || bdie "python3 is missing"
weft=${WEFT:-}
if [[ -z $weft ]]; then
  for b in build-meshbench build-release; do
    if [[ -x $repo_root/$b/src/weft ]]; then weft=$repo_root/$b/src/weft; break; fi
  done
fi
[[ -n $weft && -x $weft ]] || bdie "no weft binary (build one, or set WEFT=path)"
sim=$(dirname "$(dirname "$weft")")/tests/sim/sim_mesh
time_max=${SIM_TIME_MAX:-240}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-bench-mesh.XXXXXX")
# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
  # mesh.py stops its agents itself; this is for when it was killed.
  local kind v
  if [[ -f $tmp/state ]]; then
    while read -r kind v; do
      if [[ $kind == pid && $v =~ ^[0-9]+$ ]]; then kill -KILL "$v" 2>/dev/null || true; fi
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
bsay "$("$tmp/weft" --version 2>/dev/null | head -1) ($weft)"

echo "## mesh control plane"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- commit: $commit${dirty:+ (+$dirty modified files in the tree)}"
echo "- command: \`$cmdline\`"
echo "- weft: $("$tmp/weft" --version 2>/dev/null | head -1) ($weft)"
machine_info
echo "- load average before: $load0"
echo
# In the background, so that a TERM or Ctrl-C reaches it through the trap.
python3 "$bench_dir/mesh.py" --weft "$tmp/weft" --tmp "$tmp" --state "$tmp/state" \
  "${py_args[@]}" &
py_pid=$!
wait "$py_pid"
py_pid=""
echo
echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ ! -x $sim ]]; then
  bsay "no $sim: the simulator is skipped (cmake --build BUILD -j2 --target sim_mesh)"
  exit 0
fi
echo
echo "Simulator (\`${sim#"$repo_root"/}\`, seed 1, one process, fake clock):"
echo
# sim_line ARGS...: run sim_mesh bounded in time; its summary line, or why not.
sim_line() {
  local rc=0 t0 t1
  t0=$(date +%s.%N)
  timeout "$time_max" "$sim" "$@" >"$tmp/sim.out" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  if [[ $rc != 0 ]]; then
    [[ $rc == 124 ]] && echo "- \`sim_mesh $*\`: over ${time_max} s, stopped" ||
      echo "- \`sim_mesh $*\`: failed (exit $rc): $(tail -n 1 "$tmp/sim.out")"
    return 0
  fi
  grep -v '^RESULT ' "$tmp/sim.out" | sed -e "s/^/- \`sim_mesh $*\`: /" -e 's/$/ (wall '"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f s", b - a }')"')/' | head -n 3
}
sim_line rejoin -n 10 -w 1000 -s 1
IFS=, read -r -a sims <<<"$sim_nodes"
for n in "${sims[@]}"; do
  [[ -n $n ]] || continue
  bsay "sim_mesh converge -n $n (at most ${time_max} s)"
  sim_line converge -n "$n" -s 1
done
