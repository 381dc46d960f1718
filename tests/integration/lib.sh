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
