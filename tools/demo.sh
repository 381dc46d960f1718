#!/usr/bin/env bash
# The newcomer's first command: install what is needed, build the release
# binary, and run a small mesh on this machine's loopback:
#
#   a CA ──issues──▶ gw-a (caller: sensors)   gw-b (web: HTTP)   gw-c (echo: TCP)
#   gw-a's apps call 127.0.0.1:PORTS ══mTLS══▶ gw-b / gw-c inbound ──▶ the services
#
# Three agents gossip, replicate policies, health-check their services and
# proxy requests between them over mutual TLS; the policy denies by default.
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
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$DEMO"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Poll a command (bounded: 30 s).
until_ok() {
    for _ in $(seq 1 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "demo: timed out waiting for: $*" >&2
    return 1
}
# A free TCP port on loopback.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

step "weft version"
"$WEFT" version | head -n 1

step "a CA for trust domain demo.example, and an enrollment bundle per gateway"
"$WEFT" ca init --trust-domain demo.example --out "$DEMO/ca" >/dev/null
"$WEFT" ca issue --ca "$DEMO/ca" --node gw-a --services sensors --out "$DEMO/b-gw-a" >/dev/null
"$WEFT" ca issue --ca "$DEMO/ca" --node gw-b --services web --out "$DEMO/b-gw-b" >/dev/null
"$WEFT" ca issue --ca "$DEMO/ca" --node gw-c --services echo --out "$DEMO/b-gw-c" >/dev/null
"$WEFT" ca show --ca "$DEMO/ca"

declare -A GP CP IP
for n in gw-a gw-b gw-c; do GP[$n]=$(port); CP[$n]=$(port); IP[$n]=$(port); done
WEB=$(port)
ECHO=$(port)
UP_WEB=$(port)
UP_ECHO=$(port)
UP_WEB_AS_NODE=$(port)

conf() { # NODE EXTRA...
    local n=$1
    shift
    {
        printf '[node]\nname = %s\ndata_dir = %s/d-%s\ntrust_domain = demo.example\n' "$n" "$DEMO" "$n"
        printf '[log]\nlevel = warn\n'
        printf '[admin]\nsocket = %s/%s.sock\n' "$DEMO" "$n"
        printf '[gossip]\nenabled = true\nbind = 127.0.0.1:%s\njoin = 127.0.0.1:%s\nprofile = local\n' \
            "${GP[$n]}" "${GP[gw-a]}"
        printf '[identity]\nbundle = %s/b-%s\n' "$DEMO" "$n"
        printf '[control]\nlisten = 127.0.0.1:%s\n' "${CP[$n]}"
        printf '[proxy]\ninbound = 127.0.0.1:%s\ndefault_action = deny\n' "${IP[$n]}"
        printf '%s\n' "$@"
    } >"$DEMO/$n.ini"
}
conf gw-a "[upstream web]" "listen = 127.0.0.1:$UP_WEB" "service = web" "from = sensors" \
    "[upstream echo]" "listen = 127.0.0.1:$UP_ECHO" "service = echo" "from = sensors" \
    "[upstream web-as-node]" "listen = 127.0.0.1:$UP_WEB_AS_NODE" "service = web"
conf gw-b "[service web]" "port = $WEB" "protocol = http" "check = http" "check_path = /" \
    "check_interval = 1s" "check_timeout = 500ms" "healthy_threshold = 1"
conf gw-c "[service echo]" "port = $ECHO" "check = tcp" "check_interval = 1s" \
    "check_timeout = 500ms" "healthy_threshold = 1"

step "the services: an HTTP server on gw-b, a TCP echo on gw-c (loopback only)"
mkdir -p "$DEMO/www"
echo "hello from gw-b's web service" >"$DEMO/www/index.html"
python3 -m http.server "$WEB" --bind 127.0.0.1 --directory "$DEMO/www" >"$DEMO/web.log" 2>&1 &
PIDS+=($!)
python3 "$ROOT/tests/tools/px_peer.py" serve "$ECHO" >"$DEMO/echo.log" 2>&1 &
PIDS+=($!)
echo "web on 127.0.0.1:$WEB, echo on 127.0.0.1:$ECHO"

step "three agents: gw-a (calls web and echo), gw-b (serves web), gw-c (serves echo)"
# gw-a first: the others join through it.
for n in gw-a gw-b gw-c; do
    "$WEFT" agent -c "$DEMO/$n.ini" >"$DEMO/$n.log" 2>&1 &
    PIDS+=($!)
    until_ok "$WEFT" status --admin "$DEMO/$n.sock"
done
sock() { echo "$DEMO/$1.sock"; }
services_up() { [ "$("$WEFT" services --admin "$(sock gw-a)" | grep -c passing)" -ge 2 ]; }
until_ok services_up
"$WEFT" members --admin "$(sock gw-a)"
echo
"$WEFT" services --admin "$(sock gw-a)"

step "gw-a's app calls web through the mesh: denied (default_action = deny, no policy yet)"
if curl -sS -m 5 "http://127.0.0.1:$UP_WEB/" 2>&1; then echo "(unexpected: it passed)"; fi

step "weft apply at gw-c: sensors may call web and echo (replicates to every node)"
cat >"$DEMO/policies.ini" <<INI
[policy sensors-to-web]
from = sensors
to = web
action = allow

[policy sensors-to-echo]
from = sensors
to = echo
action = allow
INI
cat "$DEMO/policies.ini"
"$WEFT" apply "$DEMO/policies.ini" --wait --admin "$(sock gw-c)"

step "gw-a -> web (HTTP through mTLS, as spiffe://demo.example/svc/sensors)"
until_ok curl -sf -m 5 "http://127.0.0.1:$UP_WEB/"
curl -sS -m 5 "http://127.0.0.1:$UP_WEB/"

step "gw-a -> echo (TCP through mTLS): 1 MB both ways, checksums compared"
python3 "$ROOT/tests/tools/px_peer.py" send 127.0.0.1 "$UP_ECHO" 1000000

step "the same web service called without 'from' (as gw-a's node identity): still denied"
if curl -sS -m 5 "http://127.0.0.1:$UP_WEB_AS_NODE/" 2>&1; then echo "(unexpected: it passed)"; fi

step "what the proxies counted (weft metrics)"
"$WEFT" metrics --admin "$(sock gw-a)" |
    grep -E '^weft_upstream_(connections_opened|bytes_in)_total' || true
"$WEFT" metrics --admin "$(sock gw-b)" |
    grep -E '^weft_inbound_(connections_opened|policy_denials)_total' || true
"$WEFT" metrics --admin "$(sock gw-b)" | grep -E '^weft_tls_(handshakes|resumed)_total\{listener="proxy_inbound"' || true

step "SIGTERM: each agent leaves the gossip pool, drains and exits"
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
PIDS=()
echo "demo done. More: README.md, docs/proxy.md, docs/mesh.md, weft --help."
