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
# 127.0.0.1; an IPv6 address works too): gossip binds both.
free_port() {
    python3 -c 'import socket, sys
host = sys.argv[1]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
for _ in range(1000):
    t = socket.socket(fam); t.bind((host, 0)); p = t.getsockname()[1]
    u = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        u.bind((host, p)); print(p); break
    except OSError: pass
else:
    sys.exit("free_port: no port free for both TCP and UDP after 1000 tries")' "${1:-127.0.0.1}"
}

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
