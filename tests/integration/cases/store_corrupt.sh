#!/usr/bin/env bash
# A corrupt database is refused at start with a clear message, and left
# exactly as it was (never rebuilt); a database from a newer weft is refused.
source "$(dirname "$0")/../lib.sh"

D="$T/data"
write_config "$T/a.ini" node-a "$D"
start_agent "$T/a.ini" "$T/a.log"
wait_ready "$D/admin.sock" || die "agent not ready"
stop_agent "$AGENT_PID"
check "clean shutdown leaves a valid database" test "$(sqlite3 "$D/weft.db" 'PRAGMA integrity_check')" = ok

# Grow the file so it has pages to damage, then overwrite page 2 with junk.
sqlite3 "$D/weft.db" "CREATE TABLE filler(x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i<2000) INSERT INTO filler SELECT randomblob(200) FROM c;"
cp "$D/weft.db" "$T/good.db"
pagesize=$(sqlite3 "$D/weft.db" 'PRAGMA page_size')
head -c "$pagesize" /dev/urandom | dd of="$D/weft.db" bs="$pagesize" seek=3 conv=notrunc status=none
sum_before=$(sha256sum <"$D/weft.db")

rc=0; "$WEFT" agent -c "$T/a.ini" >"$T/b.log" 2>&1 || rc=$?
check "a corrupt database: the agent exits 1" test "$rc" -eq 1
check "and says the database is corrupt and what to do" \
    grep -q "database $D/weft.db is corrupt.*will not rebuild it" "$T/b.log"
check "the file is left exactly as it was" test "$(sha256sum <"$D/weft.db")" = "$sum_before"

# Not a database at all.
head -c 8192 /dev/urandom >"$D/weft.db"
rm -f "$D/weft.db-wal" "$D/weft.db-shm"
rc=0; "$WEFT" agent -c "$T/a.ini" >"$T/c.log" 2>&1 || rc=$?
check "a file that is not a database: exit 1" test "$rc" -eq 1
check "and a clear message" grep -q "is corrupt (file is not a database)" "$T/c.log"

# A schema from a newer weft.
cp "$T/good.db" "$D/weft.db"
sqlite3 "$D/weft.db" "INSERT INTO schema_version VALUES (999, 0)"
rc=0; "$WEFT" agent -c "$T/a.ini" >"$T/d.log" 2>&1 || rc=$?
check "a newer schema: exit 1" test "$rc" -eq 1
check "and says downgrades are not supported" grep -q "newer than this weft knows" "$T/d.log"

finish
