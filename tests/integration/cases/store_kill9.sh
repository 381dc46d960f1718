#!/usr/bin/env bash
# No acknowledged write is lost when the agent is killed with SIGKILL in the
# middle of a stream of writes, many times over. A writer sends durable
# writes through the admin API (POST /v1/debug/write, on with
# [admin] debug = true) and records each one the agent acknowledged; after
# each kill, sqlite3 (not weft) checks that every acknowledged write is in
# the database and that PRAGMA integrity_check says ok.
source "$(dirname "$0")/../lib.sh"

ROUNDS=${WEFT_KILL9_ROUNDS:-12}
D="$T/data"
write_config "$T/a.ini" node-a "$D" "debug = true"
: >"$T/acked"

writer() { # writer ROUND: write until the agent dies; log acknowledged keys
    local r=$1 i=0 reply
    while ((i < 100000)); do
        reply=$(curl -s --max-time 5 -X POST --unix-socket "$D/admin.sock" \
            "http://weft/v1/debug/write?key=r$r-$i&value=v$i") || return 0
        case "$reply" in *'"seq":'*) echo "r$r-$i" >>"$T/acked" ;; *) return 0 ;; esac
        i=$((i + 1))
    done
}

for ((round = 1; round <= ROUNDS; round++)); do
    start_agent "$T/a.ini" "$T/agent.$round.log"
    wait_ready "$D/admin.sock" || { cat "$T/agent.$round.log"; die "round $round: agent not ready"; }
    before=$(wc -l <"$T/acked")
    writer "$round" &
    WPID=$!
    # Kill after a varying number of acknowledged writes (5..40), mid-stream.
    target=$((before + 5 + (round * 7) % 36))
    wait_for 400 0.025 lines_ge "$T/acked" "$target" ||
        die "round $round: writes are not being acknowledged"
    kill -9 "$AGENT_PID"
    wait "$AGENT_PID" 2>/dev/null || true
    wait "$WPID" 2>/dev/null || true

    ic=$(sqlite3 "$D/weft.db" 'PRAGMA integrity_check')
    [ "$ic" = ok ] || fail "round $round: integrity_check says: $ic"
    sqlite3 "$D/weft.db" 'SELECT key FROM debug_writes' | sort >"$T/present"
    missing=$(sort "$T/acked" | comm -23 - "$T/present" | wc -l)
    [ "$missing" -eq 0 ] || fail "round $round: $missing acknowledged writes lost"
done
total=$(wc -l <"$T/acked")
log "$ROUNDS kills, $total acknowledged writes"
check "every acknowledged write survived $ROUNDS kill -9s" \
    test "$(sort "$T/acked" | comm -23 - <(sqlite3 "$D/weft.db" 'SELECT key FROM debug_writes' | sort) | wc -l)" -eq 0
check "integrity_check ok after the last kill" test "$(sqlite3 "$D/weft.db" 'PRAGMA integrity_check')" = ok
check "at least $((ROUNDS * 5)) writes were acknowledged" test "$total" -ge $((ROUNDS * 5))

# And the agent starts again on that database.
start_agent "$T/a.ini" "$T/agent.final.log"
check "the agent restarts on the database" wait_ready "$D/admin.sock"
check "its boot count counts every start" \
    bash -c '"$0" status --json --admin "$1" | grep -q "\"boot_count\":$2"' "$WEFT" "$D/admin.sock" $((ROUNDS + 1))
stop_agent "$AGENT_PID"

finish
