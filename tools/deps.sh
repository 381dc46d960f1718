#!/usr/bin/env bash
# tools/deps.sh: everything weft needs to build and test, on Debian 12 (bookworm).
#
# Usage: tools/deps.sh [--cross] [--bench] [--all] [--no-apt] [--refresh] [-h]
#
#   (no flag)  host packages for the native build and the whole test suite:
#              compiler, CMake, Debian 12's libevent 2.1 / inih 55 / SQLite /
#              mbedTLS 2.28 / msgpack-c 4.0 / cmocka, llhttp 8.1 (node-llhttp: C
#              sources, arch: all; cmake/Deps.cmake compiles them, the cross
#              builds too), and the tools the tests call (sqlite3,
#              curl, python3, ip, tc, iptables (partitions in network
#              namespaces), ps, systemd-analyze, clang-format, nginx (health
#              checks against a real HTTP server), python3-prometheus-client
#              (the official text-format parser reads GET /metrics));
#              then Debian 13 (trixie)'s libmbedtls-dev 3.6, unpacked into
#              <repo>/.deps/mbedtls-3.6-<host arch> (for -DWEFT_MBEDTLS_PREFIX).
#   --cross    also the arm64/armhf cross compilers (their glibc lands in
#              /usr/<triplet>) and qemu-user-static to run ARM test binaries.
#              The ARM libraries themselves come from tools/sysroot.sh ARCH.
#   --bench    also serf, haproxy, hyperfine, iperf3 and wrk (tools/bench/,
#              interop tests).
#   --all      --cross --bench.
#   --no-apt   skip the host packages (no root needed); only fetch .deps/.
#   --refresh  re-read trixie's index and re-unpack mbedTLS 3.6 if a newer
#              3.6.x was published (normally a present .deps/ copy is kept).
#
# Idempotent and quiet when there is nothing to do: host packages that are
# already installed are not touched (so no `apt-get update` either; nothing
# gets upgraded behind your back), and the 3.6 prefix is skipped when its
# .weft-stamp names the wanted package (see tools/sysroot.sh, which does the
# fetch with an apt state of its own under .deps/apt-trixie/: the host's
# /var/lib/apt is neither used nor changed by it).
#
# Installing host packages needs root; everything else runs as any user.
# Non-interactive (CI=true, no stdin): apt never asks.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Native build + the whole test suite. debian-archive-keyring: verifies the
# private trixie/bookworm indexes of tools/sysroot.sh. nginx-light: a real
# HTTP server for the health check tests, which start their own on a free
# port (where systemd runs, Debian also starts its nginx service on port 80
# at install: `systemctl disable --now nginx` if you do not want that).
base_pkgs=(
  build-essential cmake pkg-config
  libevent-dev libinih-dev libsqlite3-dev libmbedtls-dev libcmocka-dev
  libmsgpack-dev
  node-llhttp
  sqlite3 curl openssl clang-format python3 iproute2 procps iptables
  python3-prometheus-client
  systemd file
  serf
  nginx-light
  debian-archive-keyring
)
# libc6-dev-*-cross is only a Recommends of the cross gcc, and we install
# without recommends: name it, or the cross compiler has no <stdio.h>.
cross_pkgs=(
  gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf
  libc6-dev-arm64-cross libc6-dev-armhf-cross
  qemu-user-static
)
bench_pkgs=(serf haproxy hyperfine iperf3 wrk)

say() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

# missing PKG...: the ones dpkg does not list as installed.
missing() {
  local p
  for p in "$@"; do
    if [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" != "ii " ]; then
      echo "$p"
    fi
  done
}

install_host() {
  local want=("$@") todo
  mapfile -t todo < <(missing "${want[@]}")
  if [ ${#todo[@]} -eq 0 ]; then
    say "host packages: all ${#want[@]} installed"
    return 0
  fi
  say "host packages to install: ${todo[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    die "installing packages needs root (run it with sudo, or pass --no-apt to skip them)"
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q </dev/null
  # --no-install-recommends: the containers and gateways we build on stay
  # small; everything needed is named above.
  apt-get install -y -q --no-install-recommends "${todo[@]}" </dev/null
  mapfile -t todo < <(missing "${want[@]}")
  [ ${#todo[@]} -eq 0 ] || die "still missing after apt-get install: ${todo[*]}"
}

main() {
  local cross="" bench="" apt=1 refresh=()
  while [ $# -gt 0 ]; do
    case $1 in
      --cross) cross=1 ;;
      --bench) bench=1 ;;
      --all) cross=1; bench=1 ;;
      --no-apt) apt="" ;;
      --refresh) refresh=(--refresh) ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown argument $1" ;;
    esac
    shift
  done
  command -v dpkg >/dev/null || die "this script is for Debian 12 (no dpkg here)"
  if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091
    . /etc/os-release
    [ "${VERSION_CODENAME:-}" = bookworm ] ||
      say "warning: written for Debian 12 (bookworm), this is ${PRETTY_NAME:-unknown}"
  fi

  local pkgs=("${base_pkgs[@]}")
  [ -z "$cross" ] || pkgs+=("${cross_pkgs[@]}")
  [ -z "$bench" ] || pkgs+=("${bench_pkgs[@]}")
  if [ -n "$apt" ]; then
    install_host "${pkgs[@]}"
  fi

  # Debian 13's mbedTLS 3.6 for the host architecture (firmware targets 3.6;
  # Debian 12 ships 2.28). The ARM prefixes come with tools/sysroot.sh.
  "$here/sysroot.sh" "${refresh[@]}" --mbedtls-only "$(dpkg --print-architecture)"
}

main "$@"
