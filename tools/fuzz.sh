#!/usr/bin/env bash
# tools/fuzz.sh: fuzz one of weft's parsers with clang's libFuzzer.
#
# Usage: tools/fuzz.sh TARGET [SECONDS]
#   TARGET   config, jsonv or units (tests/fuzz/fuzz_TARGET.c)
#   SECONDS  how long to fuzz (default 60)
#
# What it does:
#   1. makes sure clang and libFuzzer work: builds a one-line fuzzer, and if
#      that fails installs Debian 12's clang and libclang-rt-14-dev with
#      apt-get (as root, or through sudo);
#   2. configures build-fuzz/ (clang, RelWithDebInfo, WEFT_FUZZ=ON,
#      WEFT_SANITIZE=address;undefined) and builds fuzz_TARGET only;
#   3. fuzzes build-fuzz/corpus/TARGET/, a working copy of the checked-in
#      seeds tests/fuzz/corpus/TARGET/ (kept between runs, so runs build on
#      each other; new seeds are copied in, nothing is copied back), with
#      tests/fuzz/TARGET.dict when there is one;
#   4. prints every new crashing input (crash-*, leak-*, timeout-*, oom-*
#      under build-fuzz/crashes/TARGET/) as a hex dump, with the command that
#      reproduces it, and a summary: executions, seconds, corpus size.
#
# libFuzzer stops at the first crash. To keep going past crashes, add e.g.
#   FUZZ_ARGS='-fork=2 -ignore_crashes=1'
# Worth keeping: a new input that finds a bug becomes a seed in
# tests/fuzz/corpus/TARGET/ once the bug is fixed (the fuzz-smoke tests then
# run it on every build).
#
# Environment: FUZZ_ARGS extra libFuzzer flags; WEFT_JOBS build jobs (2).
# Exit status: 0 no new crash, 1 new crashing inputs, 2 usage or setup error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
build=$repo/build-fuzz
jobs=${WEFT_JOBS:-2}

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() { echo "fuzz.sh: $*" >&2; exit 2; }

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  usage >&2
  exit 2
fi
case $1 in -h|--help) usage; exit 0 ;; esac
target=$1
secs=${2:-60}
if ! [[ $target =~ ^[a-z0-9_]+$ ]] || [ ! -f "$repo/tests/fuzz/fuzz_$target.c" ]; then
  have=$(cd "$repo/tests/fuzz" && printf '%s ' fuzz_*.c | sed 's/fuzz_//g; s/\.c//g')
  die "unknown target '$target' (have: $have)"
fi
[[ $secs =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a positive integer, not '$secs'"

# ---- 1. clang + libFuzzer ----

# True if clang can build and link a fuzzer with the sanitizers we use.
fuzzer_works() {
  local tmp rc=0
  command -v clang >/dev/null 2>&1 || return 1
  tmp=$(mktemp -d)
  printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
    >"$tmp/t.c"
  clang -fsanitize=fuzzer,address,undefined -o "$tmp/t" "$tmp/t.c" >/dev/null 2>&1 || rc=1
  rm -rf "$tmp"
  return "$rc"
}

if ! fuzzer_works; then
  echo "fuzz.sh: clang/libFuzzer missing; installing clang libclang-rt-14-dev"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "not root and no sudo: install clang libclang-rt-14-dev"
    sudo=sudo
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
    die "apt-get update failed; cannot install clang/libFuzzer"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    clang libclang-rt-14-dev || die "apt-get install clang libclang-rt-14-dev failed"
  fuzzer_works || die "clang is installed but cannot link -fsanitize=fuzzer"
fi

# ---- 2. build ----

mkdir -p "$build"

cmake -S "$repo" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWEFT_FUZZ=ON -DWEFT_SANITIZE='address;undefined' -DWEFT_STATIC=OFF >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; die "cmake configure failed"; }
cmake --build "$build" --target "fuzz_$target" -j"$jobs"
bin=$build/tests/fuzz/fuzz_$target
[ -x "$bin" ] || die "$bin was not built"

# ---- 3. fuzz ----

seeds=$repo/tests/fuzz/corpus/$target
work=$build/corpus/$target
crashes=$build/crashes/$target
log=$build/fuzz-$target.log
mkdir -p "$work" "$crashes"
cp -n "$seeds"/* "$work"/ 2>/dev/null || true
before=$(ls "$crashes")
corpus_before=$(ls "$work" | wc -l)
dict=()
[ -f "$repo/tests/fuzz/$target.dict" ] && dict=(-dict="$repo/tests/fuzz/$target.dict")

echo "fuzz.sh: fuzz_$target for ${secs}s on $work ($corpus_before inputs)"
rc=0
# shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
(cd "$crashes" &&
  ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "${dict[@]}" ${FUZZ_ARGS:-} "$work") >"$log" 2>&1 || rc=$?

# ---- 4. report ----

grep -E '^(INFO: seed corpus|#[0-9]+[[:space:]]+(INITED|DONE))|^Done [0-9]+ runs|^stat::' "$log" || true
new=()
while IFS= read -r f; do
  [ -n "$f" ] && ! grep -qxF "$f" <<<"$before" && new+=("$f")
done < <(ls "$crashes")

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n1)
echo "fuzz.sh: fuzz_$target: ${execs:-?} executions in ${took:-?} s, corpus $corpus_before -> $(ls "$work" | wc -l) inputs, exit $rc, log $log"

if [ ${#new[@]} -eq 0 ]; then
  if [ "$rc" -ne 0 ]; then
    echo "fuzz.sh: libFuzzer failed without writing an input; see $log" >&2
    tail -n 30 "$log" >&2
    exit 2
  fi
  echo "fuzz.sh: no new crashing inputs"
  exit 0
fi

echo "fuzz.sh: ${#new[@]} new crashing input(s):"
for f in "${new[@]}"; do
  echo
  echo "== $crashes/$f ($(wc -c <"$crashes/$f") bytes)"
  xxd "$crashes/$f" | head -n 32
  echo "reproduce: $bin $crashes/$f"
done
echo
echo "== what libFuzzer said (end of $log)"
sed -n '/^==[0-9]*==ERROR\|invariant broken\|runtime error\|^==[0-9]*== ERROR/,$p' "$log" | head -n 60
exit 1
