#!/usr/bin/env bash
# The agent's log: text by default; [log] format = json gives one valid JSON
# object per line; with stderr connected to the journal (JOURNAL_STREAM names
# our stderr's device:inode) text lines carry <N> priority prefixes instead
# of timestamps; [log] debug = store turns on debug for one domain only.
source "$(dirname "$0")/../lib.sh"

D="$T/data"
run_once() { # run_once LOGFILE [env...]: start, wait ready, stop
    local log=$1
    shift
    env "$@" "$WEFT" agent -c "$T/a.ini" >"$log" 2>&1 &
    AGENT_PID=$!
    PIDS+=("$AGENT_PID")
    wait_ready "$D/admin.sock" || { cat "$log"; die "agent not ready"; }
    stop_agent "$AGENT_PID"
}

write_config "$T/a.ini" node-a "$D"
run_once "$T/text.log"
check "text lines: timestamp, level, domain, function, message" \
    grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z info  agent: agent_run: node node-a ready' "$T/text.log"

write_config "$T/a.ini" node-a "$D" "" "[log]" "format = json"
run_once "$T/json.log"
check "json: every line is one JSON object with ts, level, domain, func, msg" \
    python3 -c 'import json,sys
n=0
for line in open(sys.argv[1]):
    o=json.loads(line)
    assert set(o)=={"ts","level","domain","func","msg"}, o
    n+=1
assert n>=3, n' "$T/json.log"
check "json: the ready line is there" grep -q '"msg":"node node-a ready' "$T/json.log"

# journald: JOURNAL_STREAM must name the fd we write to; a file stands in.
write_config "$T/a.ini" node-a "$D"
: >"$T/journal.log"
js=$(stat -c '%d:%i' "$T/journal.log")
run_once "$T/journal.log" JOURNAL_STREAM="$js"
check "journald: lines start with a priority prefix" grep -q '^<6>agent: agent_run: node node-a ready' "$T/journal.log"
check "journald: no timestamp of our own" bash -c '! grep -Eq "^<[0-9]>[0-9]{4}-" "$0"' "$T/journal.log"
run_once "$T/notjournal.log" JOURNAL_STREAM="1:1"
check "a JOURNAL_STREAM naming another file changes nothing" bash -c '! grep -q "^<" "$0"' "$T/notjournal.log"

# debug for one domain only.
write_config "$T/a.ini" node-a "$D" "" "[log]" "debug = store"
run_once "$T/debug.log"
check "debug = store: store debug lines appear" grep -q 'debug store: ' "$T/debug.log"
check "debug = store: no debug lines from other domains" bash -c '! grep -E "debug (agent|admin|config|core):" "$0"' "$T/debug.log"

finish
