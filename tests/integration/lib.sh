# Helpers for integration tests: each case sources this file.
#
# Every test gets its own temp dir ($T) removed on exit, kills what it
# started, and waits by polling with a bounded number of tries (never a bare
# sleep as a synchronisation). $WEFT is the binary under test (set by ctest).
set -euo pipefail

: "${WEFT:?WEFT must point at the weft binary}"
T=$(mktemp -d "${TMPDIR:-/tmp}/weft-test.$$.XXXXXX")
PIDS=()
FAILS=0
PASSES=0

cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && wait "$p" 2>/dev/null || true
    done
    rm -rf "$T"
}
trap cleanup EXIT

log() { printf '# %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*"
    FAILS=$((FAILS + 1))
}
pass() {
    printf 'ok: %s\n' "$*"
    PASSES=$((PASSES + 1))
}
# check DESC CMD...: pass if CMD succeeds.
check() {
    local desc=$1
    shift
    if "$@" >/dev/null; then pass "$desc"; else fail "$desc"; fi
}
# finish: the closing line, and the exit code.
finish() {
    echo "$PASSES passed, $FAILS failed"
    [ "$FAILS" -eq 0 ]
}
die() {
    printf 'FATAL: %s\n' "$*"
    FAILS=$((FAILS + 1))
    finish || true
    exit 1
}

# wait_for TRIES DELAY CMD...: run CMD until it succeeds, at most TRIES times.
wait_for() {
    local tries=$1 delay=$2 i
    shift 2
    for ((i = 0; i < tries; i++)); do
        if "$@" 2>/dev/null; then return 0; fi
        sleep "$delay"
    done
    return 1
}

# write_config FILE NAME DATADIR [extra lines...]: a minimal agent config.
write_config() {
    local f=$1 name=$2 dir=$3
    shift 3
    {
        printf '[node]\nname = %s\ndata_dir = %s\n\n[admin]\nsocket = %s/admin.sock\n' \
            "$name" "$dir" "$dir"
        local l
        for l in "$@"; do printf '%s\n' "$l"; done
    } >"$f"
}

# start_agent CONFIG LOGFILE: start an agent in the background; sets AGENT_PID.
start_agent() {
    "$WEFT" agent -c "$1" >"$2" 2>&1 &
    AGENT_PID=$!
    PIDS+=("$AGENT_PID")
}

# wait_ready SOCKET: until `weft status` answers (at most ~10 s).
wait_ready() {
    wait_for 200 0.05 "$WEFT" status --admin "$1" >/dev/null
}

# stop_agent PID [SIGNAL]: signal (default TERM) and wait; exit code in STOP_RC.
# (Not in a $(...) subshell: only this shell can wait for its children.)
stop_agent() {
    STOP_RC=0
    kill -"${2:-TERM}" "$1"
    wait "$1" || STOP_RC=$?
}

# json_get JSON PATH: a value from JSON on stdin, e.g. json_get config.reloads
json_get() {
    python3 -c 'import json,sys
v=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v=v[k]
print("null" if v is None else v)' "$1"
}

# count_ge FILE REGEX N: FILE has at least N lines matching REGEX (for wait_for).
count_ge() { [ "$(grep -c -- "$2" "$1" 2>/dev/null || true)" -ge "$3" ]; }
# lines_ge FILE N: FILE has at least N lines (for wait_for).
lines_ge() { [ "$(wc -l <"$1")" -ge "$2" ]; }

# free_port [HOST]: a port free for both TCP and UDP on HOST (default
# 127.0.0.1; an IPv6 address works too; gossip binds both), below the
# kernel's ephemeral range (tools/free_port.py says why).
FREE_PORT_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tools" && pwd)/free_port.py
free_port() { python3 "$FREE_PORT_PY" "${1:-127.0.0.1}"; }

# --- network namespaces (root only; see gossip_netns.sh) ---
NETNS_LIST=()
# netns_usable: we are root and `ip netns` can create and delete a namespace.
netns_usable() {
    [ "$(id -u)" -eq 0 ] || return 1
    command -v ip >/dev/null 2>&1 || return 1
    local probe="wftprobe$$"
    ip netns add "$probe" 2>/dev/null || return 1
    ip netns del "$probe" 2>/dev/null || return 1
}
# netns_star PREFIX N NET: namespaces PREFIX-1..N, each with eth0 = NET.i/24
# (e.g. NET = 10.77.0), plugged into bridge br0 in namespace PREFIX-0 (port
# pI). Nothing is routed out: the addresses exist only inside. Every name goes
# into NETNS_LIST for netns_cleanup.
netns_star() {
    local pre=$1 n=$2 net=$3 i ns
    NETNS_LIST+=("$pre-0")
    ip netns add "$pre-0"
    ip -n "$pre-0" link add br0 type bridge
    ip -n "$pre-0" link set br0 up
    for ((i = 1; i <= n; i++)); do
        ns="$pre-$i"
        NETNS_LIST+=("$ns")
        ip netns add "$ns"
        ip -n "$pre-0" link add "p$i" type veth peer name eth0 netns "$ns"
        ip -n "$pre-0" link set "p$i" master br0 up
        ip -n "$ns" addr add "$net.$i/24" dev eth0
        ip -n "$ns" link set eth0 up
        ip -n "$ns" link set lo up
    done
}
# netns_cleanup: delete every namespace in NETNS_LIST (kill what runs in them
# first: a namespace whose processes live on is only unnamed, not gone).
netns_cleanup() {
    local ns
    for ns in "${NETNS_LIST[@]:-}"; do
        [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
    done
    NETNS_LIST=()
}
# start_agent_in NS CONFIG LOGFILE: start_agent inside namespace NS.
start_agent_in() {
    ip netns exec "$1" "$WEFT" agent -c "$2" >"$3" 2>&1 &
    AGENT_PID=$!
    PIDS+=("$AGENT_PID")
}
# netns_loss NS PCT [DELAY_MS JITTER_MS]: drop PCT % of the packets leaving
# NS's eth0 (and delay them), with `tc netem` when the kernel has it; else
# (no CONFIG_NET_SCH_NETEM) with iptables' statistic match in a chain of its
# own (WEFTLOSS), loss only, no delay. Sets NETNS_LOSS_HOW to "netem" or
# "iptables".
netns_loss() {
    local ns=$1 pct=$2 delay=${3:-0} jitter=${4:-0}
    if ip netns exec "$ns" tc qdisc add dev eth0 root netem \
        delay "${delay}ms" "${jitter}ms" loss "${pct}%" 2>/dev/null; then
        NETNS_LOSS_HOW=netem
        return 0
    fi
    if ! ip netns exec "$ns" iptables -N WEFTLOSS 2>/dev/null; then
        ip netns exec "$ns" iptables -F WEFTLOSS
    fi
    ip netns exec "$ns" iptables -C OUTPUT -o eth0 -j WEFTLOSS 2>/dev/null ||
        ip netns exec "$ns" iptables -A OUTPUT -o eth0 -j WEFTLOSS
    ip netns exec "$ns" iptables -A WEFTLOSS -m statistic --mode random \
        --probability "$(awk -v x="$pct" 'BEGIN { printf "%.4f", x / 100 }')" -j DROP
    NETNS_LOSS_HOW=iptables
}
# netns_loss_off NS: undo netns_loss.
netns_loss_off() {
    ip netns exec "$1" tc qdisc del dev eth0 root 2>/dev/null || true
    ip netns exec "$1" iptables -F WEFTLOSS 2>/dev/null || true
}
# netns_reap_stale PREFIX: delete namespaces PREFIX<pid>-<n> left behind by an
# earlier run that was killed before its trap ran (SIGKILL, e.g. a ctest
# timeout): only when process <pid> is gone and nothing runs inside.
netns_reap_stale() {
    local ns pid
    for ns in $(ip netns list 2>/dev/null | awk -v p="$1" 'index($1, p) == 1 { print $1 }'); do
        pid=${ns#"$1"}
        pid=${pid%%-*}
        [[ $pid =~ ^[0-9]+$ ]] || continue
        [ "$pid" != "$$" ] || continue
        kill -0 "$pid" 2>/dev/null && continue
        [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] || continue
        ip netns del "$ns" 2>/dev/null || true
    done
}

# --- a mesh on loopback for the proxy tests (cases/proxy_*.sh) ---
# mesh_init: a CA in $T/ca (trust domain example.org); the first mesh_node
# is the one the others join.
mesh_init() {
    declare -gA MESH_GP MESH_CP MESH_IN MESH_PID
    MESH_FIRST=
    "$WEFT" ca init --trust-domain example.org --out "$T/ca" >/dev/null
}
# mesh_node NAME [SERVICES]: NAME's bundle ($T/b-NAME, with the service
# identities SERVICES, comma-separated) and its ports: gossip MESH_GP[NAME],
# control MESH_CP[NAME], proxy inbound MESH_IN[NAME].
mesh_node() {
    local n=$1 svcs=${2:-}
    "$WEFT" ca issue --ca "$T/ca" --node "$n" ${svcs:+--services "$svcs"} --out "$T/b-$n" >/dev/null
    MESH_GP[$n]=$(free_port)
    MESH_CP[$n]=$(free_port)
    MESH_IN[$n]=$(free_port)
    [ -n "$MESH_FIRST" ] || MESH_FIRST=$n
}
# mesh_sock NAME: the admin socket of NAME.
mesh_sock() { echo "$T/d-$1/admin.sock"; }
# mesh_conf NAME [LINES...]: $T/NAME.ini: [node], [admin], [gossip] (local
# profile, joining the first node), [identity], [control], then LINES
# (e.g. "[proxy]" "inbound = 127.0.0.1:${MESH_IN[n2]}").
mesh_conf() {
    local n=$1 l
    shift
    {
        printf '[node]\nname = %s\ndata_dir = %s\ntrust_domain = example.org\n' "$n" "$T/d-$n"
        printf '[admin]\nsocket = %s/admin.sock\n' "$T/d-$n"
        printf '[gossip]\nenabled = true\nbind = 127.0.0.1:%s\njoin = 127.0.0.1:%s\nprofile = local\n' \
            "${MESH_GP[$n]}" "${MESH_GP[$MESH_FIRST]}"
        printf '[identity]\nbundle = %s\n[control]\nlisten = 127.0.0.1:%s\n' "$T/b-$n" "${MESH_CP[$n]}"
        for l in "$@"; do printf '%s\n' "$l"; done
    } >"$T/$n.ini"
}
# mesh_start NAME: start NAME's agent (log $T/NAME.log), wait until it
# answers; its pid in MESH_PID[NAME].
mesh_start() {
    start_agent "$T/$1.ini" "$T/$1.log"
    MESH_PID[$1]=$AGENT_PID
    wait_ready "$(mesh_sock "$1")" || die "$1 did not start: $(tail -20 "$T/$1.log")"
}
# mesh_healthy AT SERVICE NODE: AT's catalog has SERVICE@NODE passing.
mesh_healthy() {
    "$WEFT" services --json --admin "$(mesh_sock "$1")" 2>/dev/null | python3 -c 'import json,sys
v=json.load(sys.stdin)
sys.exit(0 if any(s["service"]==sys.argv[1] and s["node"]==sys.argv[2] and s["health"]=="passing"
                  for s in v["services"]) else 1)' "$2" "$3"
}
# px_stat NODE WHERE FIELD: a counter from NODE's GET /v1/proxy. WHERE is
# "up:NAME" (an upstream), "in:SERVICE" (an inbound service; 0 before its
# first call), "total" (inbound_total) or "ep:NAME:KEY" (upstream NAME's
# endpoint KEY, e.g. echo@n2; "absent" if unknown). FIELD may be a dotted
# path: ends.idle, tls_failures.bad_chain (0 when absent).
px_stat() {
    curl -fsS --max-time 10 --unix-socket "$(mesh_sock "$1")" http://weft/v1/proxy 2>/dev/null |
        python3 -c 'import json,sys
v=json.load(sys.stdin)
where, field = sys.argv[1], sys.argv[2]
kind, _, name = where.partition(":")
if kind == "up":
    o = [u for u in v["upstreams"] if u["name"] == name][0]
elif kind == "in":
    m = [s for s in v["inbound_services"] if s["service"] == name]
    o = m[0] if m else {}
elif kind == "ep":
    up, _, key = name.partition(":")
    m = [e for e in [u for u in v["upstreams"] if u["name"] == up][0]["endpoints"] if e["key"] == key]
    if not m:
        print("absent"); sys.exit(0)
    o = m[0]
else:
    o = v["inbound_total"] if kind == "total" else v
for k in field.split("."):
    o = o.get(k, 0) if isinstance(o, dict) else 0
print(str(o).lower() if isinstance(o, bool) else o)' "$2" "$3"
}
# px_stat_ge NODE WHERE FIELD MIN / px_stat_eq NODE WHERE FIELD WANT (for wait_for).
px_stat_ge() {
    local v
    v=$(px_stat "$1" "$2" "$3") && [[ $v =~ ^[0-9]+$ ]] && [ "$v" -ge "$4" ]
}
px_stat_eq() { [ "$(px_stat "$1" "$2" "$3")" = "$4" ]; }
# The proxy tests' far ends (echo server, checksummed sender, ...): run as
# python3 "$PX_PEER" serve PORT & (so $! is python's own pid).
PX_PEER=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)/px_peer.py
# rss_kb PID: the process's resident memory (VmRSS), in kB.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# asan_small_quarantine: for tests that measure RSS. Under ASan freed
# memory is held in a quarantine (256 MB by default) before reuse, so RSS
# grows with the bytes a process has freed, leak or not; 1 MB keeps RSS
# honest (use-after-free detection only looks back 1 MB). No effect on a
# build without ASan. Call before starting the agents.
asan_small_quarantine() {
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"
}
