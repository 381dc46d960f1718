#!/usr/bin/env bash
# tools/bench/sim.sh: the gossip simulator at scale (tests/sim, scenario
# "spread"): for each N, gossip rounds of one join after convergence, of
# one death until every node has it (and the time until the first node
# declares it) and of one graceful leave, against memberlist's O(log N)
# references, with the peak RSS, wall time and load average.
#
# Usage: tools/bench/sim.sh [-b BUILD_DIR] [-s SEED] [-p PROFILE]
#                           [--bootstrap | --mass-join] [--force] [N...]
#
#   BUILD_DIR holds tests/sim/sim_gossip (default build-release/; build it
#   with `cmake --build build-release -j2 --target sim_gossip`). N defaults
#   to 1000 2000 (at most 20000). Each run is one process holding N SWIM
#   cores, each with a full member table: memory grows as N^2.
#
#   How the cluster is formed before the measured events:
#     mass join   (default below SIM_BOOTSTRAP_MIN = 5000, or --mass-join):
#                 node i joins a random earlier node 10 ms after node i-1
#                 until all see each other; its rounds are a column. Peak
#                 ~SIM_BYTES_PER_ENTRY (250) bytes x N^2 (measured at
#                 N = 1000..3000: the broadcast queues of a mass join).
#     bootstrap   (default from SIM_BOOTSTRAP_MIN on, or --bootstrap):
#                 `spread --bootstrap`: every table seeded with all members
#                 (swim_seed_member, no broadcast), then one push/pull
#                 interval (30 s fake) in which no suspicion or death may
#                 happen. Peak ~SIM_BOOT_BYTES_PER_ENTRY (95) bytes x N^2
#                 (measured at N = 1000..10000).
#   A run whose projected peak is over SIM_MEM_MAX_MB (default: 12288 or
#   3/4 of MemAvailable, whichever is less) is skipped unless --force;
#   every run is also bounded by `ulimit -v` at twice that budget and by
#   SIM_TIME_MAX seconds (default 900).
#
# Output: a markdown table on stdout (progress on stderr). Not a test: the
# numbers are not asserted (ctest's sim_* scenarios assert the outcomes).
set -euo pipefail
# shellcheck disable=SC2034 # used by lib.sh
bench_name=sim
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

build="build-release"
seed=1
profile=lan
force=0
mode=auto
sizes=()
while (($#)); do
  case $1 in
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 0
    ;;
  -b) build=$2; shift 2 ;;
  -s) seed=$2; shift 2 ;;
  -p) profile=$2; shift 2 ;;
  --force) force=1; shift ;;
  --bootstrap) mode=bootstrap; shift ;;
  --mass-join) mode=massjoin; shift ;;
  *) sizes+=("$1"); shift ;;
  esac
done
((${#sizes[@]})) || sizes=(1000 2000)
[[ $build = /* ]] || build="$repo_root/$build"
sim="$build/tests/sim/sim_gossip"
[[ -x $sim ]] || bdie "$sim not found: cmake --build ${build#"$repo_root"/} -j2 --target sim_gossip"

avail_mb=$(awk '/^MemAvailable:/ { printf "%d", $2 / 1024 * 3 / 4 }' /proc/meminfo)
mem_default=12288
((avail_mb > 0 && avail_mb < mem_default)) && mem_default=$avail_mb
mem_max_mb=${SIM_MEM_MAX_MB:-$mem_default}
per_entry=${SIM_BYTES_PER_ENTRY:-250}
boot_per_entry=${SIM_BOOT_BYTES_PER_ENTRY:-95}
boot_min=${SIM_BOOTSTRAP_MIN:-5000}
time_max=${SIM_TIME_MAX:-900}
tmp=$(mktemp -d /tmp/weft-bench-sim.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

load1() { awk '{ print $1 }' /proc/loadavg; }

modeflag=""
[[ $mode == bootstrap ]] && modeflag=" --bootstrap"
[[ $mode == massjoin ]] && modeflag=" --mass-join"
echo "Command: \`tools/bench/sim.sh -b ${build#"$repo_root"/} -s $seed -p $profile$modeflag ${sizes[*]}\`"
echo
echo "| N | start | mass join: rounds after the last join | one join: rounds to all | one kill: first declared dead after | that death: rounds to all | a leave: rounds to all | retransmit limit | log_(fanout+1) N | log2 N | peak RSS | wall | load (1 min) before / after |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for n in "${sizes[@]}"; do
  boot=0
  if [[ $mode == bootstrap ]] || [[ $mode == auto && $n -ge $boot_min ]]; then
    boot=1
  fi
  if ((boot)); then
    how="seeded, 30 s settle"
    b=$boot_per_entry
    args=(spread -n "$n" -s "$seed" -p "$profile" --bootstrap)
  else
    how="mass join"
    b=$per_entry
    args=(spread -n "$n" -s "$seed" -p "$profile")
  fi
  proj_mb=$(awk -v n="$n" -v b="$b" 'BEGIN { printf "%d", n * n * b / 1048576 }')
  if ((proj_mb > mem_max_mb && !force)); then
    bsay "N=$n ($how): projected peak ${proj_mb} MiB is over the ${mem_max_mb} MiB budget: skipped (--force runs it)"
    echo "| $n | $how | skipped: projected peak ${proj_mb} MiB > ${mem_max_mb} MiB budget | | | | | | | | | | |"
    continue
  fi
  l0=$(load1)
  bsay "N=$n ($how): running (projected peak ~${proj_mb} MiB, at most ${time_max} s; load $l0)"
  rc=0
  (
    ulimit -v $((2 * mem_max_mb * 1024))
    exec timeout "$time_max" "$sim" "${args[@]}"
  ) >"$tmp/out.$n" 2>&1 || rc=$?
  l1=$(load1)
  line=$(grep '^RESULT ' "$tmp/out.$n" || true)
  if [[ $rc != 0 || -z $line ]]; then
    why="exit $rc"
    [[ $rc == 124 ]] && why="over ${time_max} s"
    bsay "N=$n: failed ($why); last lines:"
    tail -n 5 "$tmp/out.$n" >&2
    echo "| $n | $how | failed: $why | | | | | | | | | | $l0 / $l1 |"
    continue
  fi
  grep -E '^spread: (seeded|n=)' "$tmp/out.$n" >&2 || true
  # RESULT k=v ...: one field per column.
  echo "$line" | awk -v how="$how" -v l0="$l0" -v l1="$l1" '{
      for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      mass = v["mass_join_rounds"] == "bootstrap" ? "-" : v["mass_join_rounds"]
      printf "| %s | %s | %s | %s | %.1f s | %s | %s | %s | %s | %s | %.0f MiB | %s s | %s / %s |\n",
        v["n"], how, mass, v["join_rounds"], v["kill_detect_ms"] / 1000,
        v["kill_spread_rounds"], v["leave_rounds"], v["retransmit_limit"], v["log_fanout_n"],
        v["log2_n"], v["rss_kib"] / 1024, v["wall_s"], l0, l1 }'
done
echo
echo "Rounds are gossip intervals (${profile}: see docs/gossip.md); a round is counted from the"
echo "event to the first 100 ms check at which every live node has it."
