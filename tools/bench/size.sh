#!/usr/bin/env bash
# tools/bench/size.sh: size of the stripped static weft binary, per architecture,
# against the 4 MiB budget and against Debian's serf and haproxy binaries.
#
# Usage: tools/bench/size.sh [BINARY_OR_BUILD_DIR...]
#
#   Each argument is a weft binary, or a build dir holding src/weft (or weft).
#   Default: build-release/src/weft build-arm64/src/weft build-armhf/src/weft
#   (relative to the repository root); missing ones are skipped with a note.
#
#   For each binary: `file` output, size in B/KiB/MiB, share of the 4 MiB
#   budget. A binary that is not stripped is measured as is and also after
#   `strip` of a temporary copy (the matching cross strip for ARM), and the
#   stripped size is the one compared. The x86_64 binary is compared with
#   /usr/bin/serf and /usr/sbin/haproxy (installed with apt-get if missing;
#   BENCH_NO_INSTALL=1 to skip): the binary alone, and the binary plus the
#   shared libraries it loads other than glibc's (ldd), since weft carries
#   its libraries inside. Ratios are weft/peer (below 1: weft is smaller).
#
# Output: markdown on stdout (notes on stderr). Exit 0 unless nothing at all
# could be measured. Not a test: no size is asserted.
set -euo pipefail
# shellcheck disable=SC2034 # used by lib.sh
bench_name=size
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

case ${1:-} in -h | --help)
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit 0
  ;;
esac

budget=$((4 * 1024 * 1024))
tmp=$(mktemp -d /tmp/weft-bench-size.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

cmdline="tools/bench/size.sh${*:+ $*}"
if (($# == 0)); then
  set -- "$repo_root/build-release/src/weft" "$repo_root/build-arm64/src/weft" "$repo_root/build-armhf/src/weft"
fi

ensure_peers

# resolve ARG: the weft binary an argument names, or empty.
resolve() {
  local a=$1
  if [[ -d $a ]]; then
    if [[ -f $a/src/weft ]]; then echo "$a/src/weft"; elif [[ -f $a/weft ]]; then echo "$a/weft"; fi
  elif [[ -f $a ]]; then
    echo "$a"
  fi
}

# arch_of FILE_OUTPUT: x86_64 | arm64 | armhf | other
arch_of() {
  case $1 in
  *x86-64*) echo x86_64 ;;
  *aarch64*) echo arm64 ;;
  *"ARM, EABI"*) echo armhf ;;
  *) echo other ;;
  esac
}

strip_for() {
  case $1 in
  x86_64) command -v strip || true ;;
  arm64) command -v aarch64-linux-gnu-strip || true ;;
  armhf) command -v arm-linux-gnueabihf-strip || true ;;
  esac
}

declare -A size_of=()
rows=()
files=()
measured=0
for a in "$@"; do
  bin=$(resolve "$a")
  if [[ -z $bin ]]; then
    bsay "skipped: $a (no weft binary there; not built in this tree yet?)"
    rows+=("| ${a#"$repo_root"/} | - | not measured in this run: no binary there | | |")
    continue
  fi
  f=$(file -b "$bin")
  arch=$(arch_of "$f")
  link=dynamic
  [[ $f == *"statically linked"* || $f == *"static-pie linked"* ]] && link=static
  raw=$(stat -c %s "$bin")
  size=$raw
  stripped=yes
  if [[ $f == *"not stripped"* ]]; then
    stripped=no
    s=$(strip_for "$arch")
    if [[ -n $s ]]; then
      cp "$bin" "$tmp/w" && "$s" -o "$tmp/w.s" "$tmp/w" && size=$(stat -c %s "$tmp/w.s") && stripped="no ($raw B as built; a stripped copy is measured)"
    else
      stripped="no (no strip for $arch: unstripped size used)"
    fi
  fi
  measured=1
  size_of[$arch]=$size
  files+=("$bin: $f")
  pct=$(awk -v s="$size" -v b="$budget" 'BEGIN { printf "%.1f%%", 100 * s / b }')
  verdict="within"
  ((size > budget)) && verdict="OVER"
  rows+=("| ${bin#"$repo_root"/} | $arch | $(human "$size") | $link, stripped: $stripped | $pct ($verdict) |")
done

# Peers: binary alone, and with their non-glibc shared libraries.
glibc_re='/(libc|libm|libpthread|libdl|librt|libresolv|ld-linux[^/]*)\.so'
peer_rows=()
declare -A peer_bin=() peer_all=()
for p in serf:/usr/bin/serf haproxy:/usr/sbin/haproxy; do
  name=${p%%:*} path=${p#*:}
  if [[ ! -x $path ]]; then
    bsay "peer $name not found at $path: not compared"
    continue
  fi
  f=$(file -b "$(readlink -f "$path")")
  bsz=$(stat -L -c %s "$path")
  libs=0 nlibs=0 libnames=()
  if [[ $f == *"dynamically linked"* ]]; then
    while read -r lib; do
      [[ -n $lib && -f $lib ]] || continue
      [[ $lib =~ $glibc_re ]] && continue
      libs=$((libs + $(stat -L -c %s "$lib")))
      nlibs=$((nlibs + 1))
      libnames+=("$(basename "$lib")")
    done < <(ldd "$path" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | xargs -r -n1 readlink -f | sort -u)
  fi
  peer_bin[$name]=$bsz
  peer_all[$name]=$((bsz + libs))
  files+=("$path: $f")
  peer_rows+=("| $name $(pkg_version "$name") | $path | $(human "$bsz") | $(human $((bsz + libs))) | $nlibs${libnames[*]:+: ${libnames[*]}} |")
done

echo "## Binary size"
echo
echo "Command: \`$cmdline\`"
echo
echo "| weft binary | arch | size | linkage | share of the 4 MiB budget |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
if ((${#peer_rows[@]})); then
  echo "Peers (Debian packages, x86_64; \"with libs\" adds the shared libraries ldd resolves, glibc excluded):"
  echo
  echo "| peer | path | binary | binary + non-glibc libs | non-glibc libs |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${peer_rows[@]}"
  echo
  if [[ -n ${size_of[x86_64]:-} ]]; then
    w=${size_of[x86_64]}
    echo "Ratios, weft x86_64 / peer (below 1: weft is smaller):"
    echo
    echo "| peer | weft / peer binary | weft / (peer binary + libs) |"
    echo "|---|---|---|"
    for name in serf haproxy; do
      [[ -n ${peer_bin[$name]:-} ]] || continue
      echo "| $name | $(ratio "$w" "${peer_bin[$name]}") | $(ratio "$w" "${peer_all[$name]}") |"
    done
    echo
  else
    echo "No x86_64 weft binary measured: no ratios to the (x86_64) peers."
    echo
  fi
fi
echo "\`file\` output:"
echo
echo '```'
printf '%s\n' "${files[@]}" | sed "s#$repo_root/##g"
echo '```'

((measured)) || bsay "no weft binary found: only the peers were measured"
exit 0
