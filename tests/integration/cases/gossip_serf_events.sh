#!/usr/bin/env bash
# The Serf layer against a stock `serf agent` (Debian's serf 0.9.4) on
# loopback: user events both ways (serf's event handler writes what it gets
# to a file), queries both ways (`serf query weft-info` gets weft's JSON and
# its ack; `weft query` gets serf's ack and the response of a serf query
# handler), tag changes both ways (`serf tags -set`; weft's [gossip] tags on
# SIGHUP), the gossip counters, and a weft killed and restarted that sends
# the same event again before it hears from anyone: serf must take it as new
# (Serf's clocks are persisted), not drop it as a duplicate of the old one.
# Skipped only when `serf` is absent.
source "$(dirname "$0")/../lib.sh"

if ! command -v serf >/dev/null 2>&1; then
    echo "SKIP: the serf binary is not installed (tools/deps.sh installs it)"
    exit 0
fi

serf_sees() { # RPC NAME STATUS [TAG]
    serf members -rpc-addr="127.0.0.1:$1" 2>/dev/null |
        awk -v n="$2" -v s="$3" -v t="${4:-}" '$1 == n && $3 == s && index($4, t) { f = 1 } END { exit !f }'
}
weft_sees() { # SOCKET NAME STATUS [TAG]
    "$WEFT" members --admin "$1" 2>/dev/null |
        awk -v n="$2" -v s="$3" -v t="${4:-}" '$1 == n && $3 == s && index($4, t) { f = 1 } END { exit !f }'
}
# weft_has_event SOCKET TYPE NAME PAYLOAD: `weft events --json` lists it.
weft_has_event() {
    "$WEFT" events --admin "$1" --json 2>/dev/null | python3 -c 'import json,sys
t,n,p=sys.argv[1:4]
ev=json.load(sys.stdin)["events"]
sys.exit(0 if any(e["type"]==t and e["name"]==n and e["payload"]==p for e in ev) else 1)' "$2" "$3" "$4"
}
# file_has FILE N LINE: FILE holds LINE at least N times.
file_has() { [ -f "$1" ] && [ "$(grep -cxF -- "$3" "$1" || true)" -ge "$2" ]; }

P1=$(free_port); R1=$(free_port); P2=$(free_port)
EV="$T/serf-events.txt"
cat >"$T/on-event.sh" <<EOF
#!/bin/sh
printf '%s %s\n' "\$SERF_USER_EVENT" "\$(cat)" >>"$EV"
EOF
chmod +x "$T/on-event.sh"
serf agent -node=s1 -bind="127.0.0.1:$P1" -rpc-addr="127.0.0.1:$R1" -tag role=edge \
    -event-handler "user=$T/on-event.sh" -event-handler "query:ping-serf=echo pong-from-serf" \
    >"$T/s1.log" 2>&1 &
PIDS+=("$!")
wait_for 100 0.1 serf members -rpc-addr="127.0.0.1:$R1" >/dev/null ||
    { cat "$T/s1.log"; die "serf agent did not start"; }

D="$T/w"
S="$D/admin.sock"
write_config "$T/w.ini" w1 "$D" "" "[gossip]" "enabled = true" "bind = 127.0.0.1:$P2" \
    "join = 127.0.0.1:$P1" "profile = local" "tags = zone=a"
start_agent "$T/w.ini" "$T/w.log"
wait_ready "$S" || { cat "$T/w.log"; die "weft agent did not become ready"; }
check "serf sees weft alive" wait_for 100 0.1 serf_sees "$R1" w1 alive role=weft
check "weft sees serf alive" wait_for 100 0.1 weft_sees "$S" s1 alive role=edge
check "GET /v1/members has Serf's status" bash -c '"$0" members --admin "$1" --json |
    grep -q "\"name\":\"s1\",[^}]*\"serf_status\":\"alive\""' "$WEFT" "$S"

# --- events: weft -> serf (first: its ltime is the one a restart must not reuse), serf -> weft ---
check "weft event is accepted" "$WEFT" event --admin "$S" restart-check p1
check "serf's event handler got weft's event" wait_for 100 0.1 file_has "$EV" 1 "restart-check p1"
check "serf event is accepted" serf event -rpc-addr="127.0.0.1:$R1" deploy v1.2.3
check "weft events shows serf's event" wait_for 100 0.1 weft_has_event "$S" event deploy v1.2.3
check "weft events (table) names it" bash -c '"$0" events --admin "$1" | grep -q "deploy"' "$WEFT" "$S"
check "weft event --coalesce is accepted" "$WEFT" event --admin "$S" --coalesce cc-ev c1
check "serf got the coalescable event" wait_for 100 0.1 file_has "$EV" 1 "cc-ev c1"
check "an event over 512 bytes is refused (exit 1)" \
    bash -c '"$0" event --admin "$1" big "$(head -c 600 /dev/zero | tr "\0" x)"; [ $? -eq 1 ]' "$WEFT" "$S"

# --- queries: serf -> weft ---
serf query -rpc-addr="127.0.0.1:$R1" -format json -timeout 3s weft-info >"$T/q1.json" 2>"$T/q1.err" || true
check "serf query weft-info gets weft's ack" \
    python3 -c 'import json,sys; sys.exit(0 if "w1" in json.load(open(sys.argv[1]))["Acks"] else 1)' "$T/q1.json"
check "serf query weft-info gets weft's JSON answer" python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))["Responses"]["w1"]
v=json.loads(r)
sys.exit(0 if v["node"]=="w1" and v["role"]=="weft" and v["members"]>=2 else 1)' "$T/q1.json"
serf query -rpc-addr="127.0.0.1:$R1" -format json -timeout 2s some-query x >"$T/q2.json" 2>/dev/null || true
check "serf query (any name) is acked by weft" \
    python3 -c 'import json,sys; sys.exit(0 if "w1" in json.load(open(sys.argv[1]))["Acks"] else 1)' "$T/q2.json"
check "and weft records it with its sender" wait_for 50 0.1 bash -c \
    '"$0" events --admin "$1" --json | grep -q "\"type\":\"query\",\"ltime\":[0-9]*,\"name\":\"some-query\""' "$WEFT" "$S"
serf query -rpc-addr="127.0.0.1:$R1" -format json -timeout 2s -node s1 weft-info >"$T/q3.json" 2>/dev/null || true
check "a node filter naming only s1: weft does not ack" \
    python3 -c 'import json,sys; sys.exit(0 if "w1" not in (json.load(open(sys.argv[1]))["Acks"] or []) else 1)' "$T/q3.json"
serf query -rpc-addr="127.0.0.1:$R1" -format json -timeout 2s -tag 'zone=^a$' weft-info >"$T/q4.json" 2>/dev/null || true
check "a tag filter zone=^a\$ matching weft: weft acks" \
    python3 -c 'import json,sys; sys.exit(0 if "w1" in json.load(open(sys.argv[1]))["Acks"] else 1)' "$T/q4.json"

# --- queries: weft -> serf ---
"$WEFT" query --admin "$S" --timeout 2s --json ping-serf hello >"$T/q5.json"
check "weft query gets serf's ack" \
    python3 -c 'import json,sys; sys.exit(0 if "s1" in json.load(open(sys.argv[1]))["acks"] else 1)' "$T/q5.json"
check "weft query gets the response of serf's query handler" python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))["responses"]
sys.exit(0 if any(x["from"]=="s1" and x["payload"].strip()=="pong-from-serf" for x in r) else 1)' "$T/q5.json"
check "weft query (table) prints the ack" \
    bash -c '"$0" query --admin "$1" --timeout 1s ping-serf | grep -q "ack from .s1."' "$WEFT" "$S"
check "weft query --no-ack: no acks" bash -c '"$0" query --admin "$1" --timeout 1s --no-ack --json ping-serf |
    python3 -c "import json,sys; sys.exit(0 if json.load(sys.stdin)[\"num_acks\"]==0 else 1)"' "$WEFT" "$S"

# --- counters ---
check "GET /v1/gossip counts events and queries" bash -c 'curl -s --unix-socket "$0" http://x/v1/gossip |
    python3 -c "import json,sys
v=json.load(sys.stdin)
s=v[\"serf\"]; n=v[\"net\"]
sys.exit(0 if s[\"events_sent\"]>=2 and s[\"events_received\"]>=3 and s[\"queries_sent\"]>=1 and s[\"queries_received\"]>=3 and n[\"packets_in\"]>0 and v[\"swim\"][\"probes\"]>0 else 1)"' "$S"

# --- tags: serf -> weft, weft -> serf ---
check "serf tags -set is accepted" serf tags -rpc-addr="127.0.0.1:$R1" -set color=blue
check "weft sees serf's new tag" wait_for 100 0.1 weft_sees "$S" s1 alive color=blue
write_config "$T/w.ini" w1 "$D" "" "[gossip]" "enabled = true" "bind = 127.0.0.1:$P2" \
    "join = 127.0.0.1:$P1" "profile = local" "tags = zone=b"
kill -HUP "$AGENT_PID"
check "serf sees weft's new tag after SIGHUP" wait_for 100 0.1 serf_sees "$R1" w1 alive zone=b

# --- a restarted weft does not reuse its event clock ---
stop_agent "$AGENT_PID" 9
check "serf marks the killed weft failed" wait_for 300 0.1 serf_sees "$R1" w1 failed
write_config "$T/w2.ini" w1 "$D" "" "[gossip]" "enabled = true" "bind = 127.0.0.1:$P2" \
    "profile = local" "rejoin = false"
start_agent "$T/w2.ini" "$T/w2.log"
wait_ready "$S" || { cat "$T/w2.log"; die "weft agent did not restart"; }
# Alone, before hearing from anyone: the same event again, then join.
check "the restarted weft sends the same event again" "$WEFT" event --admin "$S" restart-check p1
check "and joins serf" "$WEFT" join --admin "$S" "127.0.0.1:$P1"
check "serf takes it as a new event (the clock went on)" wait_for 150 0.1 file_has "$EV" 2 "restart-check p1"

# --- serf's leave intent reaches weft's Serf layer: left, not failed ---
check "serf leave is accepted" serf leave -rpc-addr="127.0.0.1:$R1"
check "weft's Serf layer marks s1 left (its leave intent came first)" wait_for 100 0.1 bash -c \
    '"$0" members --admin "$1" --json | grep -q "\"name\":\"s1\",[^}]*\"serf_status\":\"left\""' "$WEFT" "$S"

stop_agent "$AGENT_PID"
finish
