#!/usr/bin/env bash
# tools/sysroot.sh: unpacked Debian -dev packages for cross builds, no root needed.
#
# Usage:
#   tools/sysroot.sh [--refresh] ARCH...          ARCH = arm64 | armhf
#   tools/sysroot.sh [--refresh] --mbedtls-only ARCH...   (any Debian arch; deps.sh uses amd64)
#
# For each ARCH this fills two directories under <repo>/.deps/:
#
#   sysroot-ARCH/       Debian 12 (bookworm + bookworm-updates) -dev packages of
#                       that architecture and the runtime libraries their .so
#                       links point at: libevent, inih, SQLite, msgpack-c
#                       (gossip/; libmsgpackc.a is linked), cmocka.
#                       toolchains/*.cmake put it in CMAKE_FIND_ROOT_PATH.
#   mbedtls-3.6-ARCH/   Debian 13 (trixie)'s libmbedtls-dev 3.6 (static archives
#                       and headers only), for -DWEFT_MBEDTLS_PREFIX=. On armhf
#                       it is trixie's source package built here with Debian
#                       12's ABI (32-bit time_t): see mbedtls_prefix below.
#
# glibc and the C runtime are NOT here: they come from Debian's cross
# toolchain in /usr/<triplet> (tools/deps.sh --cross), which is also the
# prefix qemu-user gets with -L. So this is not a CMAKE_SYSROOT.
#
# How: `apt-get download` with an apt state of its own per suite and arch
# (.deps/apt-<suite>/<arch>/: sources.list, lists, caches; the status file is
# /dev/null), then `dpkg -x`. Nothing is installed, the host's /var/lib/apt
# and dpkg database are never read or written, and no multiarch
# (dpkg --add-architecture) is needed. bookworm-security is deliberately left
# out: its armhf index has been seen failing with a size mismatch on the
# mirror, and nothing here needs it for a build (the runtime libraries only
# serve the cross unit tests under qemu).
#
# Idempotent and safe to run twice at once (a lock in .deps/): each result directory holds a .weft-stamp naming the package
# set and the versions unpacked; when the stamp matches the wanted set the
# step is skipped without touching the network. --refresh re-reads the
# indexes and rebuilds a directory only if a version changed. A directory is
# built in a temporary sibling and renamed into place, so an interrupted run
# never leaves a half-filled one behind.
#
# Environment: WEFT_DEPS_DIR (default <repo>/.deps), WEFT_DEBIAN_MIRROR
# (default http://deb.debian.org/debian).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
deps=${WEFT_DEPS_DIR:-$repo/.deps}
mirror=${WEFT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# Bump when the layout of the result changes, so old stamps stop matching.
format=1

# The cross sysroot's packages (Debian 12). libevent-dev's .so links point
# into all five runtime packages; inih's -dev also depends on the C++
# libinireader0, which weft does not use. cmocka ships no .a: the test
# executables link libcmocka.so.0 and run it from here under qemu.
sysroot_pkgs=(
  libevent-dev libevent-2.1-7 libevent-core-2.1-7 libevent-extra-2.1-7
  libevent-pthreads-2.1-7 libevent-openssl-2.1-7
  libinih-dev libinih1
  libsqlite3-dev libsqlite3-0
  libmsgpack-dev libmsgpackc2
  libcmocka-dev libcmocka0
)
mbedtls_pkgs=(libmbedtls-dev)

say() { printf 'sysroot: %s\n' "$*"; }
die() { printf 'sysroot: error: %s\n' "$*" >&2; exit 1; }

# apt_private NAME ARCH apt-get|apt-cache ARGS...
# Runs an apt tool against the private state in $deps/apt-<NAME>/<ARCH>.
apt_private() {
  local name=$1 arch=$2 tool=$3; shift 3
  local d=$deps/apt-$name/$arch
  # -o APT::Sandbox::User=root: apt would otherwise drop to _apt for the
  # download and warn that _apt cannot write our root-owned directories.
  local sandbox=()
  [ "$(id -u)" -eq 0 ] && sandbox=(-o APT::Sandbox::User=root)
  "$tool" -q \
    -o Dir::State="$d/state" -o Dir::Cache="$d/cache" -o Dir::Etc="$d/etc" \
    -o Dir::Etc::SourceList="$d/etc/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null \
    -o Dir::State::status=/dev/null \
    -o APT::Architecture="$arch" -o APT::Architectures::="$arch" \
    -o Acquire::Languages=none "${sandbox[@]}" "$@"
}

# apt_setup NAME ARCH TYPES SUITE...: write the private sources.list and
# update. TYPES is "deb" or "deb deb-src".
apt_setup() {
  local name=$1 arch=$2 types=$3; shift 3
  local d=$deps/apt-$name/$arch s t
  [ -r "$keyring" ] || die "$keyring missing: apt-get install debian-archive-keyring"
  mkdir -p "$d/etc" "$d/state/lists/partial" "$d/cache/archives/partial"
  : >"$d/etc/sources.list.new"
  for s in "$@"; do
    for t in $types; do
      echo "$t [arch=$arch signed-by=$keyring] $mirror $s main" >>"$d/etc/sources.list.new"
    done
  done
  mv "$d/etc/sources.list.new" "$d/etc/sources.list"
  say "apt-get update ($name, $arch: $*)"
  apt_private "$name" "$arch" apt-get update >"$d/update.log" 2>&1 ||
    { cat "$d/update.log" >&2; die "apt-get update failed for $name/$arch"; }
  # apt-get update exits 0 even when an index could not be fetched; the
  # "W:"/"E:" lines say so. A missing index would make downloads fail later
  # with a less helpful message, so stop here.
  if grep -E '^(E|W): ' "$d/update.log" | grep -vi 'unsandboxed' >&2; then
    die "apt-get update for $name/$arch reported problems (see above)"
  fi
}

# apt_versions NAME ARCH PKG...: "pkg version" lines of the candidates.
apt_versions() {
  local name=$1 arch=$2 p v; shift 2
  for p in "$@"; do
    v=$(apt_private "$name" "$arch" apt-cache policy "$p" 2>/dev/null |
        awk '/Candidate:/ { print $2; exit }')
    if [ -z "$v" ] || [ "$v" = "(none)" ]; then
      die "$p has no candidate in $name/$arch"
    fi
    echo "$p $v"
  done
}

# unpack NAME ARCH DEST STAMP_HEAD PKG...: download PKG... from the private
# apt NAME/ARCH and dpkg -x them into a fresh DEST (via DEST.tmp).
unpack() {
  local name=$1 arch=$2 dest=$3 head=$4; shift 4
  local d=$deps/apt-$name/$arch versions deb
  versions=$(apt_versions "$name" "$arch" "$@")
  if [ -f "$dest/.weft-stamp" ] &&
     [ "$(cat "$dest/.weft-stamp")" = "$(printf '%s\n%s' "$head" "$versions")" ]; then
    say "$(basename "$dest"): up to date after refresh"
    return 0
  fi
  rm -rf "$d/debs" "$dest.tmp"
  mkdir -p "$d/debs" "$dest.tmp"
  say "apt-get download ($name, $arch): $*"
  (cd "$d/debs" && apt_private "$name" "$arch" apt-get download "$@" >"$d/download.log" 2>&1) ||
    { cat "$d/download.log" >&2; die "apt-get download failed for $name/$arch"; }
  for deb in "$d"/debs/*.deb; do
    dpkg -x "$deb" "$dest.tmp"
  done
  printf '%s\n%s\n' "$head" "$versions" >"$dest.tmp/.weft-stamp"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
}

# fix_links ROOT: make the root self-contained.
#  - merged /usr: a lib/ or bin/ that some package unpacked at the top moves
#    under usr/ and becomes a symlink, so /lib/... and /usr/lib/... agree;
#  - absolute symlinks (libfoo.so -> /lib/<triplet>/libfoo.so.1) are
#    rewritten relative, so they resolve inside ROOT and not on the host.
fix_links() {
  local root=$1 top link target rel
  for top in lib bin sbin; do
    if [ -d "$root/$top" ] && [ ! -L "$root/$top" ]; then
      mkdir -p "$root/usr/$top"
      cp -a "$root/$top/." "$root/usr/$top/"
      rm -rf "${root:?}/$top"
      ln -s "usr/$top" "$root/$top"
    fi
  done
  while IFS= read -r -d '' link; do
    target=$(readlink "$link")
    case $target in
      /*)
        rel=$(realpath -m --relative-to="$(dirname "$link")" "$root$target")
        ln -sfn "$rel" "$link"
        ;;
    esac
  done < <(find "$root" -type l -print0)
}

# mbedtls_from_source ARCH DEST STAMP_HEAD: build trixie's mbedtls source
# package for ARCH the Debian 12 way (see mbedtls_prefix) into DEST.
mbedtls_from_source() {
  local arch=$1 dest=$2 head=$3
  local d=$deps/apt-trixie/$arch triplet gnu cc dsc v
  triplet=$(dpkg-architecture -a"$arch" -qDEB_HOST_MULTIARCH 2>/dev/null)
  gnu=$(dpkg-architecture -a"$arch" -qDEB_HOST_GNU_TYPE 2>/dev/null)
  cc=$gnu-gcc
  command -v "$cc" >/dev/null || die "$cc not found: run tools/deps.sh --cross"
  v=$(apt_versions trixie "$arch" libmbedtls-dev | awk '{ print $2 }')
  case $v in 3.6.*) ;; *) die "trixie's libmbedtls-dev is $v for $arch, not 3.6.x" ;; esac
  if [ -f "$dest/.weft-stamp" ] &&
     [ "$(cat "$dest/.weft-stamp")" = "$(printf '%s\n%s' "$head" "libmbedtls-dev $v (built from source)")" ]; then
    say "$(basename "$dest"): up to date after refresh"
    return 0
  fi
  rm -rf "$d/src" "$dest.tmp"
  mkdir -p "$d/src"
  say "apt-get source (trixie): mbedtls for libmbedtls-dev $v"
  (cd "$d/src" && apt_private trixie "$arch" apt-get source --download-only mbedtls >"$d/download.log" 2>&1) ||
    { cat "$d/download.log" >&2; die "apt-get source mbedtls failed"; }
  dsc=$(ls "$d"/src/mbedtls_*.dsc)
  # apt already checked the files against the signed Sources index.
  dpkg-source --no-check -x "$dsc" "$d/src/tree" >"$d/src/unpack.log" 2>&1 ||
    { cat "$d/src/unpack.log" >&2; die "dpkg-source -x failed"; }
  (
    cd "$d/src/tree"
    # The same configuration debian/rules applies before building.
    for opt in MBEDTLS_DEPRECATED_WARNING MBEDTLS_THREADING_C MBEDTLS_THREADING_PTHREAD \
               MBEDTLS_CMAC_C MBEDTLS_SSL_DTLS_SRTP; do
      python3 scripts/config.py set "$opt"
    done
    # Debian 12's dpkg-buildflags for armhf, minus -g (Debian strips the
    # debug info of its .a files too); no _TIME_BITS=64 on purpose.
    say "building mbedTLS $v for $arch with $cc (Debian 12 ABI)"
    CFLAGS="-O2 -fstack-protector-strong -Wformat -Werror=format-security -D_FORTIFY_SOURCE=2" \
    cmake -S . -B build -DCMAKE_BUILD_TYPE=None \
      -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_C_COMPILER="$cc" \
      -DCMAKE_INSTALL_PREFIX="$dest.tmp/usr" -DCMAKE_INSTALL_LIBDIR="lib/$triplet" \
      -DUSE_STATIC_MBEDTLS_LIBRARY=ON -DUSE_SHARED_MBEDTLS_LIBRARY=OFF \
      -DENABLE_PROGRAMS=OFF -DENABLE_TESTING=OFF -DGEN_FILES=OFF \
      -DMBEDTLS_FATAL_WARNINGS=OFF >../configure.log 2>&1 ||
      { cat ../configure.log >&2; exit 1; }
    cmake --build build -j"$(nproc)" >../build.log 2>&1 || { tail -50 ../build.log >&2; exit 1; }
    cmake --install build >../install.log 2>&1 || { cat ../install.log >&2; exit 1; }
  ) || die "building mbedTLS $v for $arch failed (logs in $d/src)"
  printf '%s\n%s\n' "$head" "libmbedtls-dev $v (built from source)" >"$dest.tmp/.weft-stamp"
  rm -rf "$dest" "$d/src/tree"
  mv "$dest.tmp" "$dest"
}

# mbedtls_prefix ARCH [refresh]: Debian 13's libmbedtls-dev 3.6 for ARCH.
#
# 64-bit architectures take trixie's binary package as is. On 32-bit ARM,
# trixie moved to a 64-bit time_t (the "t64" transition: its libmbedtls .a
# calls __time64, __gmtime64_r ...) while Debian 12, its libevent and our
# cross glibc keep a 32-bit time_t: mixing them would give weft and mbedTLS
# different layouts for mbedtls_ssl_session, mbedtls_ssl_ticket_key ... and a
# different calling convention for mbedtls_x509_time_gmtime(). So there we
# build trixie's *source* package (same version, same debian/rules
# configuration) with the Debian 12 cross compiler and ABI instead.
# cmake/Deps.cmake refuses a prefix whose ABI does not match the build.
mbedtls_prefix() {
  local arch=$1 refresh=${2:-} dest=$deps/mbedtls-3.6-$1 head how types=deb
  case $arch in
    armhf|armel) how=source; types="deb deb-src" ;;
    *) how=binary ;;
  esac
  head="weft mbedtls-3.6 format=$format how=$how pkgs=${mbedtls_pkgs[*]}"
  if [ -z "$refresh" ] && [ -f "$dest/.weft-stamp" ] &&
     [ "$(head -n1 "$dest/.weft-stamp")" = "$head" ]; then
    say "$(basename "$dest"): $(sed -n 2p "$dest/.weft-stamp") (stamp ok, skipped)"
    return 0
  fi
  apt_setup trixie "$arch" "$types" trixie
  if [ "$how" = source ]; then
    mbedtls_from_source "$arch" "$dest" "$head"
  else
    local v
    v=$(apt_versions trixie "$arch" libmbedtls-dev | awk '{ print $2 }')
    case $v in
      3.6.*) ;;
      *) die "trixie's libmbedtls-dev is $v for $arch, not 3.6.x" ;;
    esac
    unpack trixie "$arch" "$dest" "$head" "${mbedtls_pkgs[@]}"
  fi
  # Only the static archives are used (Deps.cmake links the prefix with
  # STATIC_ONLY); the .so links point at runtime packages we do not fetch.
  find "$dest" -xtype l -delete
  fix_links "$dest"
  say "$(basename "$dest"): $(sed -n 2p "$dest/.weft-stamp")"
}

# sysroot ARCH [refresh]: Debian 12's -dev packages for ARCH.
sysroot() {
  local arch=$1 refresh=${2:-} dest=$deps/sysroot-$1 head
  head="weft sysroot format=$format pkgs=${sysroot_pkgs[*]}"
  if [ -z "$refresh" ] && [ -f "$dest/.weft-stamp" ] &&
     [ "$(head -n1 "$dest/.weft-stamp")" = "$head" ]; then
    say "$(basename "$dest"): stamp ok, skipped"
    return 0
  fi
  apt_setup bookworm "$arch" deb bookworm bookworm-updates
  unpack bookworm "$arch" "$dest" "$head" "${sysroot_pkgs[@]}"
  fix_links "$dest"
  local broken
  # libINIReader.so (inih's C++ API) points at libinireader0, not fetched.
  broken=$(cd "$dest" && { find . -xtype l -name '*.so*' | grep -v INIReader || true; })
  [ -z "$broken" ] || die "dangling library links in $dest: $broken"
  say "$(basename "$dest"): ${#sysroot_pkgs[@]} packages, $(du -sh "$dest" | cut -f1)"
}

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

main() {
  local refresh="" only="" archs=() a
  while [ $# -gt 0 ]; do
    case $1 in
      --refresh) refresh=1 ;;
      --mbedtls-only) only=1 ;;
      -h|--help) usage; exit 0 ;;
      -*) usage >&2; die "unknown option $1" ;;
      *) archs+=("$1") ;;
    esac
    shift
  done
  [ ${#archs[@]} -gt 0 ] || { usage >&2; exit 2; }
  for a in "${archs[@]}"; do
    if [ -z "$only" ]; then
      case $a in arm64|armhf) ;; *) die "ARCH must be arm64 or armhf, not $a" ;; esac
    fi
    case $a in *[!a-z0-9]*) die "bad architecture name $a" ;; esac
  done
  command -v apt-get >/dev/null || die "needs apt-get and dpkg (Debian)"
  command -v dpkg >/dev/null || die "needs apt-get and dpkg (Debian)"
  mkdir -p "$deps"
  # One fetch at a time: tools/test.sh may run in two shells of one checkout.
  exec 9>"$deps/.sysroot.lock"
  if ! flock -n 9; then
    say "waiting for another tools/sysroot.sh to finish"
    flock 9
  fi
  for a in "${archs[@]}"; do
    mbedtls_prefix "$a" "$refresh"
    [ -n "$only" ] || sysroot "$a" "$refresh"
  done
  # The indexes (~20 MB per suite and arch) are only needed again for
  # --refresh, which downloads them anew; the logs and .debs stay.
  rm -rf "$deps"/apt-*/*/state/lists "$deps"/apt-*/*/cache
}

main "$@"
