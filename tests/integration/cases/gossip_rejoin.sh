#!/usr/bin/env bash
# Persistence and rejoin (docs/gossip.md "Persistence and rejoin"), like
# serf's -snapshot + -rejoin, on loopback with real processes: a stock
# `serf agent` (s1) and two weft agents (w1, w2) form a cluster. w2's store
# holds the members (read with the sqlite3 CLI). kill -9 w2, restart it with
# no [gossip] join: it rejoins the stored members on its own and everyone
# sees it alive again. Then `weft leave` clears the list: restarted, w2 does
# not rejoin. serf's own reconnect (which would re-join a failed member) is
# pushed to an hour, and w1's (reconnect_interval) to a day, so that only
# weft's rejoin can bring w2 back. Skipped
# only when `serf` is absent.
source "$(dirname "$0")/../lib.sh"

if ! command -v serf >/dev/null 2>&1; then
    echo "SKIP: the serf binary is not installed (tools/deps.sh installs it)"
    exit 0
fi
command -v sqlite3 >/dev/null 2>&1 || die "the sqlite3 CLI is needed (tools/deps.sh installs it)"

# serf_sees RPC NAME STATUS: `serf members` lists NAME with STATUS.
serf_sees() {
    serf members -rpc-addr="127.0.0.1:$1" 2>/dev/null |
        awk -v n="$2" -v s="$3" '$1 == n && $3 == s { f = 1 } END { exit !f }'
}
# weft_sees SOCKET NAME STATUS: `weft members` lists NAME with STATUS.
weft_sees() {
    "$WEFT" members --admin "$1" 2>/dev/null |
        awk -v n="$2" -v s="$3" '$1 == n && $3 == s { f = 1 } END { exit !f }'
}
# rows DATADIR: the stored members as name|addr|port|status lines, by name.
rows() {
    sqlite3 "$1/weft.db" "SELECT name, addr, port, status FROM gossip_members ORDER BY name"
}
# rows_are DATADIR EXPECTED: rows equal EXPECTED (for wait_for).
rows_are() { [ "$(rows "$1" 2>/dev/null)" = "$2" ]; }

P1=$(free_port); R1=$(free_port); PW1=$(free_port); PW2=$(free_port)
D1="$T/w1"; S1="$D1/admin.sock"
D2="$T/w2"; S2="$D2/admin.sock"
printf '{"reconnect_interval": "1h"}\n' >"$T/serf.json"

serf agent -node=s1 -bind="127.0.0.1:$P1" -rpc-addr="127.0.0.1:$R1" \
    -config-file="$T/serf.json" >"$T/s1.log" 2>&1 &
SERF_PID=$!
PIDS+=("$SERF_PID")
wait_for 100 0.1 serf members -rpc-addr="127.0.0.1:$R1" >/dev/null ||
    { cat "$T/s1.log"; die "serf agent did not start"; }

write_config "$T/w1.ini" w1 "$D1" "" "[gossip]" "enabled = true" "bind = 127.0.0.1:$PW1" \
    "join = 127.0.0.1:$P1" "profile = local" "reconnect_interval = 24h"
write_config "$T/w2.ini" w2 "$D2" "" "[gossip]" "enabled = true" "bind = 127.0.0.1:$PW2" \
    "join = 127.0.0.1:$P1" "profile = local"
# The restart config: no join at all; rejoin is on by default.
write_config "$T/w2-nojoin.ini" w2 "$D2" "" "[gossip]" "enabled = true" \
    "bind = 127.0.0.1:$PW2" "profile = local"

start_agent "$T/w1.ini" "$T/w1.log"
W1_PID=$AGENT_PID
wait_ready "$S1" || { cat "$T/w1.log"; die "w1 did not become ready"; }
start_agent "$T/w2.ini" "$T/w2.log"
W2_PID=$AGENT_PID
wait_ready "$S2" || { cat "$T/w2.log"; die "w2 did not become ready"; }

check "serf sees w1 and w2 alive" wait_for 200 0.1 \
    bash -c "$(declare -f serf_sees); serf_sees $R1 w1 alive && serf_sees $R1 w2 alive"
check "w1 sees w2 alive" wait_for 200 0.1 weft_sees "$S1" w2 alive
check "w2 sees s1 and w1 alive" wait_for 200 0.1 \
    bash -c "$(declare -f weft_sees); WEFT=$WEFT; weft_sees $S2 s1 alive && weft_sees $S2 w1 alive"

# The snapshot: written within a second of the change, read with sqlite3.
EXPECT="s1|127.0.0.1|$P1|alive
w1|127.0.0.1|$PW1|alive"
check "w2's store lists s1 and w1 alive with their addresses (sqlite3)" \
    wait_for 100 0.1 rows_are "$D2" "$EXPECT"
check "the gossip_members table is in schema version 3 or later" \
    test "$(sqlite3 "$D2/weft.db" 'SELECT max(version) FROM schema_version')" -ge 3

# --- kill -9 w2: the others mark it failed; its store keeps the list ---
stop_agent "$W2_PID" 9
check "serf marks the killed w2 failed" wait_for 300 0.1 serf_sees "$R1" w2 failed
check "w1 marks the killed w2 failed" wait_for 300 0.1 weft_sees "$S1" w2 failed
check "the list survived the kill -9 (sqlite3)" rows_are "$D2" "$EXPECT"

# --- restart w2 without join: it rejoins on its own ---
start_agent "$T/w2-nojoin.ini" "$T/w2b.log"
W2_PID=$AGENT_PID
wait_ready "$S2" || { cat "$T/w2b.log"; die "w2 did not restart"; }
check "w2 logs that it rejoins the 2 stored members" \
    wait_for 50 0.1 grep -q "rejoining 2 members alive at the last run" "$T/w2b.log"
check "w2 (no join configured) sees s1 alive" wait_for 200 0.1 weft_sees "$S2" s1 alive
check "w2 sees w1 alive" wait_for 200 0.1 weft_sees "$S2" w1 alive
check "serf sees the restarted w2 alive" wait_for 200 0.1 serf_sees "$R1" w2 alive
check "w1 sees the restarted w2 alive" wait_for 200 0.1 weft_sees "$S1" w2 alive

# --- graceful leave clears the list; restarted, w2 does not rejoin ---
check "weft leave is accepted" "$WEFT" leave --admin "$S2"
rc=0
wait "$W2_PID" || rc=$?
check "w2 exits 0 after leaving" test "$rc" -eq 0
check "serf marks w2 left" wait_for 100 0.1 serf_sees "$R1" w2 left
check "the leave cleared the stored members (sqlite3: no rows)" rows_are "$D2" ""
start_agent "$T/w2-nojoin.ini" "$T/w2c.log"
W2_PID=$AGENT_PID
wait_ready "$S2" || { cat "$T/w2c.log"; die "w2 did not restart after the leave"; }
sleep 2 # a negative: give a rejoin time to (not) happen
check "after the leave w2 does not log a rejoin" bash -c '! grep -q rejoining "$0"' "$T/w2c.log"
check "after the leave w2 sees only itself" \
    bash -c '[ "$("$0" members --admin "$1" | tail -n +2 | wc -l)" -eq 1 ]' "$WEFT" "$S2"
check "serf still lists w2 left" serf_sees "$R1" w2 left
check "w1 still lists w2 left" weft_sees "$S1" w2 left
stop_agent "$W2_PID"
check "a table of w2 alone was not written (sqlite3: still no rows)" rows_are "$D2" ""
stop_agent "$W1_PID"
check "w1 exits 0 on SIGTERM" test "$STOP_RC" -eq 0
# (w2 may already be reaped from w1's table: gone after GossipToTheDeadTime.)
check "w1's store lists s1 alive at exit (sqlite3)" \
    test "$(sqlite3 "$D1/weft.db" "SELECT status FROM gossip_members WHERE name = 's1'")" = alive
check "w1's store lists w2 left, or not at all (sqlite3)" \
    bash -c 'case "$(sqlite3 "$0/weft.db" "SELECT status FROM gossip_members WHERE name = '"'w2'"'")" in left | "") ;; *) exit 1 ;; esac' "$D1"

finish
