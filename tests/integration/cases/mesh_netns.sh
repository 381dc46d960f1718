#!/usr/bin/env bash
# The replicated config objects (docs/mesh.md) across real links: five weft
# agents, each in its own network namespace (wmn<pid>-1..5, eth0 = 10.78.0.i
# on a bridge in wmn<pid>-0; the addresses exist only inside), one CA,
# gossip and [control] on each node's namespace address.
#
# Gossip profile lan (memberlist's DefaultLANConfig): veth links between
# namespaces are a LAN, and lan's 500 ms probe timeout and 3 indirect probes
# ride out the 10 % loss of (4) and the CPU load of five ASan agents on a
# shared machine, where local's 200 ms / 1 relay would flap; a partition is
# still seen (suspect, then failed) within seconds. reconnect_interval = 2 s (instead of 30 s)
# so the healed partition merges within the test's bounded waits.
#
# Claims:
#   (1) `weft apply --wait` at one node: `weft get` at each of the five holds it;
#   (2) an iptables partition {n1,n2} | {n3,n4,n5} (every packet between the
#       sides dropped, both directions: gossip UDP/TCP and control TCP):
#       writes on both sides (an object per side, and one object written on
#       both, first at n3, then at n2); while cut, each side converges on its
#       own (equal digests inside, different across, nothing crosses); after
#       the rules go, all five reach one digest, hold both sides' objects,
#       and the conflict resolves to the later stamp (n2's; n2 < n3 as
#       writer IDs, so a tie-break by writer would pick the other) everywhere;
#   (3) kill -9 of n3 in the middle of a stream of `weft apply` calls against
#       it (3 clients in a loop each, 8 objects a file): every object of
#       every apply that returned 0 is in n3's store (sqlite3, n3 down), no
#       file is there in part, and they are in n3 restarted and, after
#       convergence, at all five;
#   (4) 10 % loss (iptables statistic, both directions) on n5's link: a
#       write at n1 still reaches n5, and one at n5 reaches the others (the
#       DROP rule's counters show packets were lost);
#   (5) the catalog across the namespaces: n4's [service web] (python3 -m
#       http.server inside n4's namespace, an http check) is listed passing
#       at all five, and critical at all five once the server is killed.
# Skipped (exit 77, ctest SKIP_RETURN_CODE) when not root, without `ip
# netns`, or `iptables`.
source "$(dirname "$0")/../lib.sh"

if ! netns_usable; then
    echo "SKIP: needs root and a working \`ip netns\` (network namespaces)"
    exit 77
fi
if ! command -v iptables >/dev/null 2>&1; then
    echo "SKIP: \`iptables\` is not installed (tools/deps.sh installs it)"
    exit 77
fi
command -v sqlite3 >/dev/null || die "sqlite3 is not installed"

netns_reap_stale wmn # namespaces of earlier runs that were killed outright
NS="wmn$$"
NET=10.78.0
trap 'cleanup; netns_cleanup' EXIT
trap 'exit 143' TERM INT HUP # (so the EXIT trap runs then too)
netns_star "$NS" 5 "$NET"

GPORT=7946
CPORT=7947
WEBPORT=8080
# n4's service: a real HTTP server inside n4's namespace.
ip netns exec "$NS-4" python3 -m http.server "$WEBPORT" --bind "$NET.4" --directory "$T" \
    >"$T/web.log" 2>&1 &
WEB_PID=$!
PIDS+=("$WEB_PID")
ALL=(1 2 3 4 5)
"$WEFT" ca init --trust-domain example.org --out "$T/ca" >/dev/null
for i in "${ALL[@]}"; do "$WEFT" ca issue --ca "$T/ca" --node "n$i" --out "$T/b-$i" >/dev/null; done

declare -a NPID
sock() { echo "$T/d-$1/admin.sock"; }
start_node() { # I: start node I in its namespace (joining node 1, except node 1)
    local i=$1 join=""
    [ "$i" -eq 1 ] || join="join = $NET.1:$GPORT"
    {
        printf '[node]\nname = n%s\ndata_dir = %s\ntrust_domain = example.org\n' "$i" "$T/d-$i"
        printf '[admin]\nsocket = %s\n' "$(sock "$i")"
        printf '[gossip]\nenabled = true\nbind = %s:%s\nprofile = lan\nreconnect_interval = 2s\n%s\n' \
            "$NET.$i" "$GPORT" "$join"
        printf '[identity]\nbundle = %s\n' "$T/b-$i"
        printf '[control]\nlisten = %s:%s\nhandshake_timeout = 5s\nrequest_timeout = 10s\n' \
            "$NET.$i" "$CPORT"
        [ "$i" -ne 4 ] || printf '[service web]\naddress = %s\nport = %s\nprotocol = http\ncheck = http\ncheck_interval = 1s\ncheck_timeout = 500ms\nhealthy_threshold = 1\nunhealthy_threshold = 2\n' \
            "$NET.4" "$WEBPORT"
    } >"$T/n$i.ini"
    start_agent_in "$NS-$i" "$T/n$i.ini" "$T/n$i.log"
    NPID[i]=$AGENT_PID
    wait_ready "$(sock "$i")" || die "n$i did not start: $(tail -5 "$T/n$i.log")"
}

# py FILE EXPR: EXPR evaluated with v = the JSON in FILE.
py() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
digest() {
    curl -fsS --unix-socket "$(sock "$1")" http://weft/v1/mesh >"$T/mesh-$1.json" &&
        py "$T/mesh-$1.json" 'v["digest"]'
}
# same_digest I...: nodes I... report one digest.
same_digest() {
    local d i
    d=$(digest "$1") || return 1
    shift
    for i in "$@"; do [ "$(digest "$i")" = "$d" ] || return 1; done
}
has_obj() { "$WEFT" get --admin "$(sock "$1")" "$2" "$3" >/dev/null 2>&1; }
# all_have KIND NAME I...: / none_have: each node I holds (none holds) it live.
all_have() {
    local k=$1 name=$2 i
    shift 2
    for i in "$@"; do has_obj "$i" "$k" "$name" || return 1; done
}
none_have() {
    local k=$1 name=$2 i
    shift 2
    for i in "$@"; do ! has_obj "$i" "$k" "$name" || return 1; done
}
# obj_field I KIND NAME FIELD: FIELD (writer, hlc, body) of the live object at node I.
obj_field() {
    "$WEFT" get --json --admin "$(sock "$1")" "$2" "$3" >"$T/get-$1.json" 2>/dev/null &&
        py "$T/get-$1.json" "v[\"objects\"][0][\"$4\"]"
}
# conflict_is WRITER VALUE I...: each node I holds upstream-defaults
# conflict as written by node WRITER with connect_retries = VALUE.
conflict_is() {
    local wr=$1 val=$2 i body
    shift 2
    for i in "$@"; do
        [ "$(obj_field "$i" upstream-defaults conflict writer)" = "spiffe://example.org/node/n$wr" ] &&
            body=$(obj_field "$i" upstream-defaults conflict body) &&
            grep -qx "connect_retries = $val" <<<"$body" || return 1
    done
}
members() { "$WEFT" members --admin "$(sock "$1")" 2>/dev/null | awk 'NR > 1 { print $1, $3 }'; }
sees() { members "$1" | grep -qx "$2 $3"; }
all_alive() { # COUNT I...: each node I lists COUNT members alive
    local want=$1 i
    shift
    for i in "$@"; do [ "$(members "$i" | grep -c ' alive$' || true)" -eq "$want" ] || return 1; done
}
policy_file() { printf '[policy %s]\naction = allow\nfrom = *\nto = %s\n' "$1" "${2:-svc}" >"$T/$1.ini"; }
apply_at() { "$WEFT" apply --admin "$(sock "$1")" "$T/$2.ini" >/dev/null; }

# ---- (1) one cluster; apply at one node reaches all five ------------------------------
for i in "${ALL[@]}"; do start_node "$i"; done
wait_for 150 0.2 all_alive 5 "${ALL[@]}" || die "the cluster did not form: $(members 1 | tr '\n' ,)"
wait_for 300 0.1 same_digest "${ALL[@]}" && pass "(1) every node reaches the same state (n4's service record)" ||
    fail "(1) every node reaches the same state"
policy_file first
"$WEFT" apply --wait --timeout 30s --admin "$(sock 2)" "$T/first.ini" >"$T/apply1.txt" 2>&1 ||
    fail "(1) apply --wait at n2: $(cat "$T/apply1.txt")"
for i in "${ALL[@]}"; do
    check "(1) after apply --wait at n2, weft get at n$i holds policy first" has_obj "$i" policy first
done

# web_is STATE I...: each node I lists web@n4 with health STATE.
web_is() {
    local want=$1 i
    shift
    for i in "$@"; do
        "$WEFT" services --json --admin "$(sock "$i")" >"$T/svcs-$i.json" 2>/dev/null || return 1
        [ "$(py "$T/svcs-$i.json" '[s["health"] for s in v["services"] if s["service"] == "web" and s["node"] == "n4"]')" = "['$want']" ] || return 1
    done
}
wait_for 300 0.1 web_is passing "${ALL[@]}" && pass "(1) the catalog: web@n4 is passing at all five" ||
    fail "(1) the catalog: web@n4 passing at all five"
log "(1) done at $SECONDS s"

# ---- (2) partition {1,2} | {3,4,5} -------------------------------------------------------
A=(1 2)
B=(3 4 5)
cut() { # -A|-D: add or remove DROP rules for every packet between the sides
    local i j
    for i in "${A[@]}"; do
        for j in "${B[@]}"; do
            ip netns exec "$NS-$i" iptables "$1" INPUT -s "$NET.$j" -j DROP
            ip netns exec "$NS-$i" iptables "$1" OUTPUT -d "$NET.$j" -j DROP
            ip netns exec "$NS-$j" iptables "$1" INPUT -s "$NET.$i" -j DROP
            ip netns exec "$NS-$j" iptables "$1" OUTPUT -d "$NET.$i" -j DROP
        done
    done
}
# split: each side lists every node of the other suspect or failed (so the
# writes below land in a partition both sides know about; on the side of
# two, a suspicion gets one confirmation where lan wants two, so it turns
# failed only near its longest timeout, and sync already skips a suspect).
down() { sees "$1" "$2" suspect || sees "$1" "$2" failed; }
split() {
    local i j
    for i in "${A[@]}"; do
        for j in "${B[@]}"; do down "$i" "n$j" && down "$j" "n$i" || return 1; done
    done
}
cut -A
wait_for 150 0.2 split && pass "(2) partitioned: each side lists the other suspect or failed" ||
    fail "(2) partitioned: n1 lists $(members 1 | tr '\n' ,) n3 lists $(members 3 | tr '\n' ,)"

policy_file side-a
policy_file side-b
printf '[upstream-defaults conflict]\nconnect_retries = 3\n' >"$T/conflict-b.ini"
printf '[upstream-defaults conflict]\nconnect_retries = 2\n' >"$T/conflict-a.ini"
apply_at 1 side-a || fail "(2) apply at n1 while cut"
apply_at 4 side-b || fail "(2) apply at n4 while cut"
apply_at 3 conflict-b || fail "(2) apply of the conflict at n3 while cut"
apply_at 2 conflict-a || fail "(2) apply of the conflict at n2 while cut"
# hlc_after X Y: stamp X (mesh_hlc_format: ...Z+counter) is later than Y.
hlc_after() {
    python3 -c 'import sys
k = lambda s: (s.split("Z+")[0], int(s.split("Z+")[1]))
sys.exit(0 if k(sys.argv[1]) > k(sys.argv[2]) else 1)' "$1" "$2"
}
HLC_A=$(obj_field 2 upstream-defaults conflict hlc) || HLC_A=
HLC_B=$(obj_field 3 upstream-defaults conflict hlc) || HLC_B=
log "conflict stamps: n3 (first) $HLC_B, n2 (second) $HLC_A"
check "(2) the second write of the conflict (n2's) carries the later stamp" hlc_after "$HLC_A" "$HLC_B"

side_a_done() { same_digest 1 2 && all_have policy side-a 1 2 && conflict_is 2 2 1 2; }
side_b_done() { same_digest 3 4 5 && all_have policy side-b 3 4 5 && conflict_is 3 3 3 4 5; }
wait_for 100 0.1 side_a_done && pass "(2) cut: side {n1,n2} converges on its own writes" ||
    fail "(2) cut: side {n1,n2} converges: n1 $(digest 1) n2 $(digest 2)"
wait_for 100 0.1 side_b_done && pass "(2) cut: side {n3,n4,n5} converges on its own writes" ||
    fail "(2) cut: side {n3,n4,n5} converges: n3 $(digest 3) n4 $(digest 4) n5 $(digest 5)"
check "(2) cut: the two sides' digests differ" test "$(digest 1)" != "$(digest 3)"
check "(2) cut: side-b did not cross to {n1,n2}" none_have policy side-b 1 2
check "(2) cut: side-a did not cross to {n3,n4,n5}" none_have policy side-a 3 4 5

cut -D
healed=0
start=$SECONDS
wait_for 300 0.1 same_digest "${ALL[@]}" && healed=1
log "healed: one digest at all five $((SECONDS - start)) s after the rules went"
check "(2) healed: all five converge to one digest" test "$healed" = 1
check "(2) healed: side-a's write is at all five" all_have policy side-a "${ALL[@]}"
check "(2) healed: side-b's write is at all five" all_have policy side-b "${ALL[@]}"
check "(2) healed: the conflict resolves to the later write (n2's) everywhere" \
    conflict_is 2 2 "${ALL[@]}"

log "(2) done at $SECONDS s"

# ---- (3) kill -9 of n3 in the middle of a stream of applies ---------------------------
# Three clients apply in a loop each, so that applies are in flight at every
# stage when the kill lands. Each apply is one file of 8 objects
# (stream-L-K-1..8: one transaction); $T/acked gets the names of every
# object of each apply that returned 0, $T/refused the failed applies.
: >"$T/acked"
: >"$T/refused"
stream() { # L: client L's loop, until $T/stop (at most 300 applies)
    local l=$1 k j
    for ((k = 1; k <= 300; k++)); do
        [ -e "$T/stop" ] && break
        for ((j = 1; j <= 8; j++)); do
            printf '[policy stream-%d-%d-%d]\naction = allow\nfrom = *\nto = s%d\n\n' "$l" "$k" "$j" "$j"
        done >"$T/s-$l-$k.ini"
        if "$WEFT" apply --admin "$(sock 3)" "$T/s-$l-$k.ini" >/dev/null 2>&1; then
            for ((j = 1; j <= 8; j++)); do echo "stream-$l-$k-$j"; done >>"$T/acked"
        else
            echo "$l-$k" >>"$T/refused"
        fi
    done
}
LOOPS=()
for l in 1 2 3; do
    stream "$l" &
    LOOPS+=("$!")
    PIDS+=("$!")
done
wait_for 400 0.05 lines_ge "$T/acked" 160 || fail "(3) the stream of applies did not get going"
stop_agent "${NPID[3]}" 9
# The loop goes on against the dead node until it has seen a few refusals.
wait_for 400 0.05 lines_ge "$T/refused" 3 || fail "(3) the applies after the kill were not refused"
touch "$T/stop"
for p in "${LOOPS[@]}"; do wait "$p" || true; done
log "stream: $(($(wc -l <"$T/acked") / 8)) applies acknowledged, $(wc -l <"$T/refused") refused" \
    "(first refused, client-apply: $(head -3 "$T/refused" | tr '\n' ' '))"
check "(3) the kill cut the stream: acknowledged applies, then refused ones" \
    bash -c '[ "$(wc -l <"$0")" -ge 160 ] && [ -s "$1" ]' "$T/acked" "$T/refused"
# missing: the acknowledged names not in the list on stdin, one a line.
missing() { sort -u | comm -23 <(sort -u "$T/acked") -; }
# torn: the applies of which the list on stdin holds some objects but not all 8.
torn() { sed 's/-[0-9]*$//' | sort | uniq -c | awk '$1 != 8 { print $2 }'; }
stored_stream() {
    sqlite3 "file:$T/d-3/weft.db?mode=ro" \
        "SELECT name FROM mesh_records WHERE kind = 'policy' AND deleted = 0 AND name LIKE 'stream-%'"
}
live_stream() { # I: the stream objects node I holds live
    "$WEFT" get --json --admin "$(sock "$1")" policy >"$T/pol-$1.json" &&
        py "$T/pol-$1.json" '"\n".join(o["name"] for o in v["objects"] if o["name"].startswith("stream-"))'
}
all_acked_at() { # I...: each node I holds every acknowledged object
    local i
    for i in "$@"; do
        live_stream "$i" >"$T/live-$i" || return 1
        [ -z "$(missing <"$T/live-$i")" ] || return 1
    done
}
stored_stream >"$T/stored-3" || fail "(3) sqlite3 cannot read n3's store"
log "in n3's store but never acknowledged (in flight at the kill; allowed): $(sort -u "$T/stored-3" |
    comm -13 <(sort -u "$T/acked") - | tr '\n' ' ')"
check "(3) every acknowledged apply is in n3's store after kill -9 (sqlite3, n3 down)" \
    test -z "$(missing <"$T/stored-3")"
check "(3) no apply is in n3's store in part (a file is one transaction)" \
    test -z "$(torn <"$T/stored-3")"
start_node 3
check "(3) n3 restarted holds every acknowledged object" all_acked_at 3
wait_for 200 0.1 all_acked_at "${ALL[@]}" && pass "(3) every acknowledged object reaches all five" ||
    fail "(3) every acknowledged object reaches all five: missing at n1: $(missing <"$T/live-1" | head -3)"
check "(3) and all five converge to one digest" wait_for 200 0.1 same_digest "${ALL[@]}"

log "(3) done at $SECONDS s"

# ---- (4) 10 % loss on n5's link --------------------------------------------------------
# iptables' statistic match (this kernel may lack sch_netem), on eth0 both
# ways, in a chain of its own.
ip netns exec "$NS-5" iptables -N MESHLOSS
ip netns exec "$NS-5" iptables -A MESHLOSS -m statistic --mode random --probability 0.10 -j DROP
ip netns exec "$NS-5" iptables -A INPUT -i eth0 -j MESHLOSS
ip netns exec "$NS-5" iptables -A OUTPUT -o eth0 -j MESHLOSS
dropped() { ip netns exec "$NS-5" iptables -L MESHLOSS -v -x -n | awk '$3 == "DROP" { print $1 }'; }
policy_file lossy-in
policy_file lossy-out
apply_at 1 lossy-in || fail "(4) apply at n1"
wait_for 300 0.1 has_obj 5 policy lossy-in && pass "(4) 10% loss: a write at n1 reaches n5" ||
    fail "(4) 10% loss: a write at n1 reaches n5"
apply_at 5 lossy-out || fail "(4) apply at n5"
wait_for 200 0.1 all_have policy lossy-out 1 2 3 4 && pass "(4) 10% loss: a write at n5 reaches the others" ||
    fail "(4) 10% loss: a write at n5 reaches the others"
log "loss: $(dropped) packets dropped on n5's link"
check "(4) the loss was real: the DROP rule dropped packets" test "$(dropped)" -gt 0
check "(4) all five converge to one digest under the loss" wait_for 200 0.1 same_digest "${ALL[@]}"
ip netns exec "$NS-5" iptables -F MESHLOSS
log "(4) done at $SECONDS s"

# ---- (5) the service dies: every namespace sees it ------------------------------------------
kill -9 "$WEB_PID"
wait "$WEB_PID" 2>/dev/null || true
wait_for 300 0.1 web_is critical "${ALL[@]}" && pass "(5) web@n4 killed: critical at all five" ||
    fail "(5) web@n4 critical at all five"

finish
