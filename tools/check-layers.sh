#!/usr/bin/env bash
# tools/check-layers.sh: do the #includes follow weft's layering?
#
# Usage: tools/check-layers.sh [-v] [ROOT]     (ROOT defaults to the repo)
#
# Directories are layers and dependencies point down only, as in Tor's
# .may_include + `make check-includes`. The allow-list below is the single
# place that says which module may include which; the CMake link edges
# (target_link_libraries between the weft_<subsys> libraries) must agree.
#
#   module     may include (besides itself)
#   platform   -
#   core       platform
#   config     core
#   store      core
#   tls        core platform
#   ctl        core tls          (the control RPC: frames, listener, client)
#   http       core              (HTTP/1.1 parsing over llhttp, strict)
#   gossip     core config store tls platform
#   pki        core config store tls
#   mesh       core config store http platform (replicated state, objects, services, health)
#   proxy      core config tls http mesh platform (the data plane; hooks, no store)
#   telemetry  core              (the Prometheus text writer; the agent fills it)
#   admin      core config store tls
#   agent      core config store tls ctl http gossip pki mesh proxy telemetry admin platform
#   cli        everything (so do the files directly in src/, e.g. main.c)
#
# Our own headers are included as "module/file.h" (src/ and the repo root
# are on the include path); a bare "file.h" must be next to the including
# file or be a generated header (GENERATED below). Third-party headers have
# owners too, so each dependency stays behind one module:
#   <mbedtls/...> <psa/...>  only tls/ and pki/ (X.509 writing); every
#                            2.28/3.6 difference goes through tls/tls_compat.h
#   <msgpack.h>              only gossip/ (memberlist's wire format)
#   <sqlite3.h>              only store/ (nobody else writes SQL)
#   <ini.h>                  only config/
#   <llhttp.h>               only http/ (strict HTTP/1.1 parsing)
# (cli/ and src/*.c may include everything, these too: `weft version`
# prints the library versions.)
# A new src/<dir> fails the check until it gets a line in ALLOW.
# tests/ is not checked: tests may reach into any layer.
#
# Exit status: 0 clean, 1 violations (printed as FILE:LINE: message), 2 usage.
set -euo pipefail

declare -A ALLOW=(
  [platform]=""
  [core]="platform"
  [config]="core"
  [store]="core"
  [tls]="core platform"
  [ctl]="core tls"
  [http]="core"
  [gossip]="core config store tls platform"
  [pki]="core config store tls"
  [mesh]="core config store http platform"
  [proxy]="core config tls http mesh platform"
  [telemetry]="core"
  [admin]="core config store tls"
  [agent]="core config store tls ctl http gossip pki mesh proxy telemetry admin platform"
  [cli]="*"
  [src]="*"
)
# Third-party header prefix -> the only module that may include it.
declare -A OWNER=(
  [mbedtls/]="tls pki"
  [psa/]="tls pki"
  [msgpack.h]=gossip
  [sqlite3.h]=store
  [ini.h]=config
  [llhttp.h]=http
)
# Made by CMake's configure_file into <build>/generated; leaves, any module.
GENERATED="weft_version.h"

verbose=""
[ "${1:-}" = "-v" ] && { verbose=1; shift; }
case ${1:-} in -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;; esac
root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$root"

bad=0
checked=0
fail() { printf '%s\n' "$*"; bad=$((bad + 1)); }

# module_of PATH: the layer a file belongs to.
module_of() {
  case $1 in
    platform/*) echo platform ;;
    src/*/*) local m=${1#src/}; echo "${m%%/*}" ;;
    src/*) echo src ;;
  esac
}

allowed() { # allowed FROM TO
  local from=$1 to=$2 a list
  [ "$from" = "$to" ] && return 0
  read -ra list <<<"${ALLOW[$from]}" # read -a: no glob expansion of "*"
  for a in "${list[@]}"; do
    if [ "$a" = "*" ] || [ "$a" = "$to" ]; then
      return 0
    fi
  done
  return 1
}

mapfile -t files < <(find src platform -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)
for f in "${files[@]}"; do
  from=$(module_of "$f")
  if [ -z "${ALLOW[$from]+set}" ]; then
    fail "$f:1: module '$from' has no layer rule: add it to ALLOW in tools/check-layers.sh"
    continue
  fi
  checked=$((checked + 1))
  while IFS=: read -r line text; do
    if [[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]]; then
      inc=${BASH_REMATCH[1]}
      case $inc in
        */../*|../*|./*)
          fail "$f:$line: relative include \"$inc\": write \"module/file.h\""
          continue ;;
        */*)
          to=${inc%%/*}
          if [ -z "${ALLOW[$to]+set}" ] || [ "$to" = src ]; then
            # Not a module prefix: fine only if it exists beside the file.
            [ -e "$(dirname "$f")/$inc" ] ||
              fail "$f:$line: \"$inc\" is not under a known module"
            continue
          fi ;;
        *)
          if [ -e "$(dirname "$f")/$inc" ]; then
            to=$from
          elif [[ " $GENERATED " == *" $inc "* ]]; then
            continue
          else
            fail "$f:$line: \"$inc\" not found beside the file: write \"module/$inc\""
            continue
          fi ;;
      esac
      if ! allowed "$from" "$to"; then
        fail "$f:$line: $from may not include $to (\"$inc\"); $from may include: ${ALLOW[$from]:-nothing}"
      elif [ -n "$verbose" ]; then
        echo "$f:$line: ok $from -> $to"
      fi
    elif [[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<([^\>]+)\> ]]; then
      inc=${BASH_REMATCH[1]}
      for p in "${!OWNER[@]}"; do
        if [[ $inc == "$p"* ]] && [[ " ${OWNER[$p]} " != *" $from "* ]] &&
           [ "${ALLOW[$from]}" != "*" ]; then
          fail "$f:$line: <$inc> belongs to ${OWNER[$p]} only; go through its API"
        fi
      done
    fi
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include' "$f" || true)
done

if [ "$bad" -gt 0 ]; then
  echo "check-layers: $bad violation(s) in $checked files"
  exit 1
fi
echo "check-layers: $checked files, layering ok"
