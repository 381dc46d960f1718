#!/usr/bin/env bash
# tools/test.sh: the full weft test run, the same locally and in CI (.ci/run).
#
# Usage: tools/test.sh [--no-deps] [--fail-fast] [--clean] [STAGE...]
#
# Stages, in order (default: all of them):
#   layers      tools/check-layers.sh: #includes follow the layering (fast fail)
#   deps        tools/deps.sh [--cross], tools/sysroot.sh arm64 armhf
#               (skipped with --no-deps; quick when everything is there)
#   release     build-release/:    Release, static, mbedTLS 3.6 (Debian 13's,
#               .deps/mbedtls-3.6-<arch>); checks `file` says statically
#               linked; full ctest
#   asan        build-asan/:       Debug, WEFT_SANITIZE=address;undefined,
#               mbedTLS 3.6; full ctest
#   mbedtls2    build-mbedtls2/:   RelWithDebInfo, dynamic, Debian 12's own
#               mbedTLS 2.28; full ctest
#   arm64       build-arm64/:      cross Release static, mbedTLS 3.6 for arm64;
#               `weft version` and ctest -L "unit|fuzz-smoke" (unit tests and fuzz corpora) under qemu-aarch64-static
#   armhf       build-armhf/:      the same for 32-bit ARM (qemu-arm-static);
#               its mbedTLS 3.6 is trixie's source built for Debian 12's
#               32-bit time_t (see tools/sysroot.sh)
#
# Build directories are reused (incremental); --clean removes them first.
# After a failed layers or deps stage nothing else runs; a failed build
# stage does not stop the later ones (one log shows every broken
# configuration) unless --fail-fast. The run ends with a summary: each
# stage's result, wall time and ctest result line. Exit status 0 only if
# every stage passed.
#
# Environment: WEFT_JOBS (default 2) for cmake --build -j and ctest -j.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"

all_stages=(layers deps release asan mbedtls2 arm64 armhf)
jobs=${WEFT_JOBS:-2}
hostarch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
mbedtls36=$repo/.deps/mbedtls-3.6-$hostarch

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

deps=1 failfast="" clean="" stages=()
while [ $# -gt 0 ]; do
  case $1 in
    --no-deps) deps="" ;;
    --fail-fast) failfast=1 ;;
    --clean) clean=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; echo "test.sh: unknown option $1" >&2; exit 2 ;;
    *)
      [[ " ${all_stages[*]} " == *" $1 "* ]] || { echo "test.sh: unknown stage $1" >&2; exit 2; }
      stages+=("$1") ;;
  esac
  shift
done
if [ ${#stages[@]} -eq 0 ]; then
  stages=("${all_stages[@]}")
else # keep the canonical order whatever the command line said
  sel=" ${stages[*]} "; stages=()
  for s in "${all_stages[@]}"; do [[ $sel == *" $s "* ]] && stages+=("$s"); done
fi
[ -n "$deps" ] || stages=("${stages[@]/deps}")
want() { [[ " ${stages[*]} " == *" $1 "* ]]; }

# Two runs in one checkout would build into the same build-*/ directories.
mkdir -p "$repo/.deps"
exec 8>"$repo/.deps/.test.lock"
if ! flock -n 8; then
  echo "test.sh: waiting for another tools/test.sh in $repo to finish"
  flock 8
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

# Sanitizer reports should say where; -fno-sanitize-recover=all (Deps) aborts.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}

hms() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# ---- stage bodies (each runs in a subshell with set -e) ----

stage_layers() {
  local rc=0
  "$here/check-layers.sh" >"$results/layers.out" || rc=$?
  cat "$results/layers.out"
  tail -n1 "$results/layers.out" >"$results/layers.line"
  return "$rc"
}

stage_deps() {
  local cross=()
  if want arm64 || want armhf; then cross=(--cross); fi
  "$here/deps.sh" "${cross[@]}"
  local a archs=()
  for a in arm64 armhf; do want "$a" && archs+=("$a"); done
  if [ ${#archs[@]} -gt 0 ]; then
    "$here/sysroot.sh" "${archs[@]}"
  fi
}

# build NAME CMAKE_ARGS...: configure and build build-NAME/.
build() {
  local name=$1; shift
  local dir=$repo/build-$name
  [ -z "$clean" ] || rm -rf "$dir"
  echo "cmake configure failed" >"$results/$name.line"
  cmake -S "$repo" -B "$dir" "$@"
  echo "build failed" >"$results/$name.line"
  cmake --build "$dir" -j"$jobs"
  rm -f "$results/$name.line"
}

# run_ctest NAME [CTEST_ARGS...]: ctest in build-NAME/, summary line kept.
run_ctest() {
  local name=$1; shift
  local dir=$repo/build-$name rc=0
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --no-tests=ignore "$@") 2>&1 |
    tee "$dir/ctest.log" || rc=$?
  { grep -E '^[0-9]+% tests passed|^No tests were found' "$dir/ctest.log" | tail -n1 || true
    sed -n '/^The following tests FAILED:/,/^$/p' "$dir/ctest.log" |
      sed -n 's/^[[:space:]]*\([0-9]\{1,\} - .*\)/failed: \1/p'
  } >"$results/$name.line"
  [ -s "$results/$name.line" ] || echo "ctest printed no summary" >"$results/$name.line"
  return "$rc"
}

# check_binary NAME PATTERN: `file` must match, e.g. "statically linked".
check_binary() {
  local bin=$repo/build-$1/src/weft desc
  desc=$(file -b "$bin")
  echo "file: $desc"
  if ! grep -Eq "$2" <<<"$desc"; then
    echo "build-$1/src/weft is not what we ship: $desc" | tee "$results/$1.line" >&2
    return 1
  fi
}

stage_release() {
  build release -DCMAKE_BUILD_TYPE=Release -DWEFT_STATIC=ON -DWEFT_SANITIZE= \
    -DWEFT_MBEDTLS_PREFIX="$mbedtls36"
  check_binary release 'statically linked|static-pie linked'
  "$repo/build-release/src/weft" version
  run_ctest release
}

stage_asan() {
  build asan -DCMAKE_BUILD_TYPE=Debug -DWEFT_STATIC=OFF -DWEFT_SANITIZE='address;undefined' \
    -DWEFT_MBEDTLS_PREFIX="$mbedtls36"
  run_ctest asan
}

stage_mbedtls2() {
  build mbedtls2 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_STATIC=OFF -DWEFT_SANITIZE= \
    -DWEFT_MBEDTLS_PREFIX=
  "$repo/build-mbedtls2/src/weft" version
  run_ctest mbedtls2
}

# stage_cross ARCH TRIPLET QEMU FILE_PATTERN
stage_cross() {
  local arch=$1 triplet=$2 qemu=$3 pattern=$4
  build "$arch" -DCMAKE_TOOLCHAIN_FILE="$repo/toolchains/$triplet.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DWEFT_STATIC=ON -DWEFT_SANITIZE= \
    -DWEFT_MBEDTLS_PREFIX="$repo/.deps/mbedtls-3.6-$arch"
  check_binary "$arch" "$pattern.*statically linked|statically linked.*$pattern"
  "$qemu" -L "/usr/$triplet" "$repo/build-$arch/src/weft" version
  run_ctest "$arch" -L 'unit|fuzz-smoke|sim'
}
stage_arm64() { stage_cross arm64 aarch64-linux-gnu qemu-aarch64-static 'ARM aarch64'; }
stage_armhf() { stage_cross armhf arm-linux-gnueabihf qemu-arm-static 'ARM, EABI5'; }

# ---- driver ----

declare -A status secs
failed=() t_all=$SECONDS
n=0 total=0
for s in "${stages[@]}"; do [ -n "$s" ] && total=$((total + 1)); done
for s in "${stages[@]}"; do
  [ -n "$s" ] || continue
  n=$((n + 1))
  printf '\n======== [%d/%d] %s ======== (%s)\n' "$n" "$total" "$s" "$(date -u +%H:%M:%SZ)"
  t0=$SECONDS
  set +e
  # fd 8 closed: an agent a test leaves behind must not keep the lock.
  ( set -e; exec 8>&-; "stage_$s" )
  rc=$?
  set -e
  secs[$s]=$((SECONDS - t0))
  if [ "$rc" -eq 0 ]; then status[$s]=ok; else status[$s]=FAILED; failed+=("$s"); fi
  printf -- '-------- %s: %s in %s\n' "$s" "${status[$s]}" "$(hms "${secs[$s]}")"
  if [ "$rc" -ne 0 ]; then
    case $s in layers|deps) break ;; esac
    [ -z "$failfast" ] || break
  fi
done

printf '\n======== weft test summary: %d stage(s), %s ========\n' "$total" "$(hms $((SECONDS - t_all)))"
for s in "${stages[@]}"; do
  [ -n "$s" ] || continue
  line=""
  [ -f "$results/$s.line" ] && line=$(head -n1 "$results/$s.line")
  printf '%-11s %-8s %7s  %s\n' "$s" "${status[$s]:-skipped}" \
    "$( [ -n "${secs[$s]:-}" ] && hms "${secs[$s]}" )" "$line"
  [ -f "$results/$s.line" ] && sed '1d; s/^/                              /' "$results/$s.line"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "======== FAILED: ${failed[*]} ========"
  exit 1
fi
echo "======== all stages passed ========"
