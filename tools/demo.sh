#!/usr/bin/env bash
# The newcomer's first command: install what is needed, build the release
# binary, start an agent on a throw-away data dir and show what it does.
# Usage (as root on Debian 12): bash tools/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

bash tools/deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release \
    -DWEFT_MBEDTLS_PREFIX="$ROOT/.deps/mbedtls-3.6-amd64" >/dev/null
cmake --build build-release -j"$(nproc)" --target weft
WEFT=$ROOT/build-release/src/weft

DEMO=$(mktemp -d /tmp/weft-demo.XXXXXX)
AGENT=
cleanup() {
    [ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
    rm -rf "$DEMO"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "weft version"
"$WEFT" version

cat >"$DEMO/weft.ini" <<INI
[node]
name = demo-gw
data_dir = $DEMO/data
trust_domain = demo.example

[log]
level = info

[admin]
socket = $DEMO/admin.sock
INI
step "weft config check $DEMO/weft.ini"
"$WEFT" config check "$DEMO/weft.ini"

step "weft agent -c $DEMO/weft.ini (in the background; its log follows)"
"$WEFT" agent -c "$DEMO/weft.ini" 2>&1 | sed -u 's/^/  agent| /' &
sleep 0.05
AGENT=$(pgrep -n -f "weft agent -c $DEMO/weft.ini" || true)
for _ in $(seq 1 100); do
    "$WEFT" status --admin "$DEMO/admin.sock" >/dev/null 2>&1 && break
    sleep 0.05
done

step "weft status"
"$WEFT" status --admin "$DEMO/admin.sock"

step "a bad edit, then SIGHUP: refused, the old config keeps running"
sed -i 's/^level = info$/level = loud/' "$DEMO/weft.ini"
"$WEFT" config check "$DEMO/weft.ini" || true
kill -HUP "$AGENT"
for _ in $(seq 1 100); do
    "$WEFT" status --admin "$DEMO/admin.sock" | grep -q '1 refused' && break
    sleep 0.05
done
"$WEFT" status --admin "$DEMO/admin.sock"

step "SIGTERM: drain and exit 0"
kill -TERM "$AGENT"
for _ in $(seq 1 100); do
    kill -0 "$AGENT" 2>/dev/null || break
    sleep 0.05
done
AGENT=
wait 2>/dev/null || true
echo "agent stopped; demo done. More: weft --help, README.md, docs/."
