# tools/bench/lib.sh: shared helpers for the benchmark scripts (sourced, not run).
# shellcheck shell=bash disable=SC2034 # bench_dir, repo_root: for the scripts that source this

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$bench_dir/../.." && pwd)

# free_port: a port free on 127.0.0.1 for TCP and UDP, below the ephemeral
# range: the benchmarks open thousands of connections, whose local ports
# must not take a listener's (tools/free_port.py)
free_port() { python3 "$repo_root/tools/free_port.py"; }

bsay() { printf '%s: %s\n' "${bench_name:-bench}" "$*" >&2; }
bdie() { printf '%s: error: %s\n' "${bench_name:-bench}" "$*" >&2; exit 1; }

# human BYTES: "1234567 B (1205.6 KiB, 1.18 MiB)"
human() {
  awk -v b="$1" 'BEGIN { printf "%d B (%.1f KiB, %.2f MiB)", b, b / 1024, b / 1048576 }'
}

# ratio A B: A/B, 3 decimals below 0.1 else 2 ("n/a" if B is 0 or empty)
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) { print "n/a"; exit } r = a / b
    printf (r < 0.1 ? "%.3f" : "%.2f"), r }'
}

# ensure_peers: Debian's serf and haproxy, installed with apt-get if missing
# (skipped with BENCH_NO_INSTALL=1). The packages only add binaries; Debian's
# postinst may try to start haproxy.service, which policy-rc.d or the lack of
# systemd prevents in containers; on a real host it is stopped again below
# only if this function started it (it was not running before).
ensure_peers() {
  local missing=() p
  command -v serf >/dev/null 2>&1 || [[ -x /usr/bin/serf ]] || missing+=(serf)
  command -v haproxy >/dev/null 2>&1 || [[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)
  ((${#missing[@]})) || return 0
  if [[ ${BENCH_NO_INSTALL:-0} == 1 ]]; then
    bsay "missing ${missing[*]} (BENCH_NO_INSTALL=1: not installing)"
    return 0
  fi
  [[ $(id -u) == 0 ]] || bdie "missing ${missing[*]}; run as root or: apt-get install -y ${missing[*]}"
  bsay "installing ${missing[*]} (Debian packages)"
  local was_running=0
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet haproxy 2>/dev/null; then
    was_running=1
  fi
  if ! DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
    bsay "apt-get install failed; trying apt-get update first"
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get update >&2 || true
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
      bdie "could not install ${missing[*]}"
  fi
  for p in "${missing[@]}"; do
    if [[ $p == haproxy && $was_running == 0 ]] && command -v systemctl >/dev/null 2>&1 &&
      systemctl is-active --quiet haproxy 2>/dev/null; then
      bsay "stopping the haproxy.service the package just started"
      systemctl stop haproxy >&2 || true
    fi
  done
}

# machine_info: the machine, as markdown list items.
machine_info() {
  local cpu mem
  cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  [[ -n $cpu ]] || cpu=$(awk -F': *' '/^(Hardware|CPU part)/ { print $2; exit }' /proc/cpuinfo)
  mem=$(awk '/^MemTotal:/ { printf "%.1f GiB (%d kB)", $2 / 1048576, $2 }' /proc/meminfo)
  printf -- '- nproc: %s\n' "$(nproc)"
  printf -- '- CPU: %s\n' "${cpu:-unknown}"
  printf -- '- kernel: %s (%s)\n' "$(uname -r)" "$(uname -m)"
  printf -- '- memory: %s\n' "$mem"
  if [[ -r /etc/os-release ]]; then
    printf -- '- OS: %s (debian_version %s)\n' "$(. /etc/os-release && echo "$PRETTY_NAME")" \
      "$(cat /etc/debian_version 2>/dev/null || echo '?')"
  fi
}

# pkg_version PKG: the installed Debian version, or "not installed"
pkg_version() {
  dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"
}
