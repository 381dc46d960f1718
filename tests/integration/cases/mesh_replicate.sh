#!/usr/bin/env bash
# The replicated config objects (docs/mesh.md), real processes on loopback:
# five agents of one CA, gossiping (profile local) with control listeners,
# and one agent of another CA in the same gossip cluster.
#
# Claims:
#   - `weft apply` at one node, --wait: every node holds the objects; `weft
#     get` prints them as INI `weft apply` takes back; `weft history` names
#     the writer; sqlite3 finds them in each node's store;
#   - a file with errors is refused whole (FILE:LINE: messages), nothing
#     applied (the digest does not move);
#   - concurrent writes at different nodes (and a conflict on one key, the
#     later stamp winning everywhere) converge; a delete replicates;
#   - kill -9 right after `weft apply` returns: the restarted node still
#     holds the write, and so does everyone;
#   - a node that was down catches up when it returns;
#   - the node of another CA never receives the records, and the handshakes
#     it attempts are refused and counted (bad_chain) by the others.
source "$(dirname "$0")/../lib.sh"

command -v sqlite3 >/dev/null || die "sqlite3 is not installed"

py() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
sock() { echo "$T/d-$1/admin.sock"; }
mesh() { curl -fsS --unix-socket "$(sock "$1")" http://weft/v1/mesh >"$T/mesh-$1.json" && py "$T/mesh-$1.json" "$2"; }
control() { curl -fsS --unix-socket "$(sock "$1")" http://weft/v1/control >"$T/ctl-$1.json" && py "$T/ctl-$1.json" "$2"; }
digest() { mesh "$1" 'v["digest"]'; }
same_digest() {
    local d n
    d=$(digest "$1") || return 1
    shift
    for n in "$@"; do [ "$(digest "$n")" = "$d" ] || return 1; done
}
has_obj() { "$WEFT" get --admin "$(sock "$1")" "$2" "$3" >/dev/null 2>&1; }
all_have() {
    local k=$1 name=$2 n
    shift 2
    for n in "$@"; do has_obj "$n" "$k" "$name" || return 1; done
}
none_have() {
    local k=$1 name=$2 n
    shift 2
    for n in "$@"; do ! has_obj "$n" "$k" "$name" || return 1; done
}
stored_count() { sqlite3 "file:$T/d-$1/weft.db?mode=ro" "SELECT count(*) FROM mesh_records WHERE deleted = 0"; }

"$WEFT" ca init --trust-domain example.org --out "$T/ca" >/dev/null
"$WEFT" ca init --trust-domain example.org --out "$T/ca-other" >/dev/null
declare -A GP CP PID
NODES="n1 n2 n3 n4 n5"
for n in $NODES x; do
    GP[$n]=$(free_port)
    CP[$n]=$(free_port)
done
for n in $NODES; do "$WEFT" ca issue --ca "$T/ca" --node "$n" --out "$T/b-$n" >/dev/null; done
"$WEFT" ca issue --ca "$T/ca-other" --node x --out "$T/b-x" >/dev/null
conf() {
    local n=$1
    {
        printf '[node]\nname = %s\ndata_dir = %s\ntrust_domain = example.org\n' "$n" "$T/d-$n"
        printf '[admin]\nsocket = %s/admin.sock\n' "$T/d-$n"
        printf '[gossip]\nenabled = true\nbind = 127.0.0.1:%s\njoin = 127.0.0.1:%s\nprofile = local\n' \
            "${GP[$n]}" "${GP[n1]}"
        printf '[identity]\nbundle = %s\n[control]\nlisten = 127.0.0.1:%s\n' "$T/b-$n" "${CP[$n]}"
    } >"$T/$n.ini"
}
start() {
    conf "$1"
    start_agent "$T/$1.ini" "$T/$1.log"
    PID[$1]=$AGENT_PID
    wait_ready "$(sock "$1")" || die "$1 did not start: $(cat "$T/$1.log")"
}
for n in $NODES x; do start "$n"; done
members_alive() { [ "$("$WEFT" members --admin "$(sock "$1")" --status alive --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["members"]))')" -ge "$2" ]; }
wait_for 300 0.1 members_alive n5 6 || die "the cluster did not form: $(tail -3 "$T/n5.log")"
check "every node starts with the same (empty) state" same_digest n1 n2 n3 n4 n5

# ---- apply at n1, --wait --------------------------------------------------------
cat >"$T/objs.ini" <<'INI'
[policy default]
action = deny

[policy allow-sensors]
action = allow
from = sensor-reader, spiffe://example.org/node/n2
to = telemetry

[upstream-defaults telemetry]
connect_timeout = 2s
lb = least_conn

[upstream-defaults *]
connect_retries = 2
INI
"$WEFT" apply --wait --timeout 20s --admin "$(sock n1)" "$T/objs.ini" >"$T/apply1.txt" 2>&1 ||
    fail "apply --wait at n1: $(cat "$T/apply1.txt")"
check "apply lists each object as created" test "$(grep -c ': created$' "$T/apply1.txt")" = 4
check "apply --wait: the five mesh members hold it (x, of another CA, is not one)" \
    grep -q "^converged: 5 members" "$T/apply1.txt"
for n in $NODES; do
    check "$n holds policy allow-sensors" has_obj "$n" policy allow-sensors
done
"$WEFT" get --admin "$(sock n4)" policy allow-sensors >"$T/get.ini"
check "weft get prints the section" grep -q '^\[policy allow-sensors\]$' "$T/get.ini"
check "weft get names the writer" grep -q "written by spiffe://example.org/node/n1" "$T/get.ini"
# What get prints, apply takes back: unchanged.
"$WEFT" apply --admin "$(sock n4)" "$T/get.ini" >"$T/apply-back.txt" 2>&1 || fail "re-apply of get's output"
check "get's output applied back is unchanged" grep -q "policy allow-sensors: unchanged" "$T/apply-back.txt"
"$WEFT" history --admin "$(sock n5)" policy allow-sensors >"$T/hist.txt"
check "history at n5 shows the write by n1" grep -q "write .*policy allow-sensors.*spiffe://example.org/node/n1" "$T/hist.txt"
check "n3's store holds the 4 objects (sqlite3)" test "$(stored_count n3)" = 4
check "[upstream-defaults *] reached n5" has_obj n5 upstream-defaults '*'


# ---- a bad file is refused whole ------------------------------------------------
D0=$(digest n2)
cat >"$T/bad.ini" <<'INI'
[policy fine]
action = allow
from = a
to = b

[policy broken]
action = maybe
to = b

[nonsense thing]
x = 1
INI
rc=0
"$WEFT" apply --admin "$(sock n2)" "$T/bad.ini" >"$T/bad.txt" 2>&1 || rc=$?
check "a bad file: exit 1" test "$rc" = 1
check "the error names file and line of the bad action" grep -q "bad.ini:7:" "$T/bad.txt"
check "the error names the unknown kind's line" grep -q "bad.ini:10:" "$T/bad.txt"
check "nothing applied: not even the good object" bash -c '! "$0" get --admin "$1" policy fine' "$WEFT" "$(sock n2)"
check "nothing applied: the digest did not move" test "$(digest n2)" = "$D0"

# ---- concurrent writes at several nodes, a conflict, a delete --------------------
for n in n2 n3 n4; do
    printf '[policy from-%s]\naction = allow\nfrom = *\nto = svc-%s\n' "$n" "$n" >"$T/w-$n.ini"
    printf '[upstream-defaults shared]\nconnect_retries = %s\n' "${n#n}" >"$T/c-$n.ini"
done
APPLIES=()
for n in n2 n3 n4; do
    "$WEFT" apply --admin "$(sock "$n")" "$T/w-$n.ini" >/dev/null &
    APPLIES+=("$!")
done
for p in "${APPLIES[@]}"; do wait "$p" || fail "a concurrent apply failed"; done
for n in n2 n3 n4; do "$WEFT" apply --admin "$(sock "$n")" "$T/c-$n.ini" >/dev/null; done
wait_for 300 0.1 same_digest n1 n2 n3 n4 n5 && pass "concurrent writes at three nodes converge" ||
    fail "concurrent writes converge: $(for n in $NODES; do echo "$n $(digest $n)"; done)"
check "n1 holds the three new policies" all_have policy from-n4 n1 n5
check "the conflict on upstream-defaults shared: the last write (n4's) wins everywhere" \
    bash -c 'for n in n1 n2 n3 n4 n5; do "$0" get --admin "$1/d-$n/admin.sock" upstream-defaults shared | grep -q "^connect_retries = 4$" || exit 1; done' "$WEFT" "$T"
"$WEFT" delete --admin "$(sock n5)" policy from-n2 >/dev/null || fail "delete at n5"
wait_for 300 0.1 none_have policy from-n2 n1 n2 n3 n4 n5 && pass "a delete at n5 reaches every node" ||
    fail "a delete at n5 reaches every node"
rc=0
"$WEFT" delete --admin "$(sock n5)" policy from-n2 >/dev/null 2>&1 || rc=$?
check "deleting it again: exit 1" test "$rc" = 1

# ---- kill -9 right after an acknowledged apply ---------------------------------
printf '[policy durable]\naction = allow\nfrom = a\nto = b\n' >"$T/durable.ini"
"$WEFT" apply --admin "$(sock n3)" "$T/durable.ini" >/dev/null && kill -9 "${PID[n3]}"
wait "${PID[n3]}" 2>/dev/null || true
check "the acknowledged write is in n3's store after kill -9 (sqlite3)" \
    test "$(sqlite3 "file:$T/d-n3/weft.db?mode=ro" "SELECT count(*) FROM mesh_records WHERE name = 'durable'")" = 1
start n3
check "n3 restarted holds it" has_obj n3 policy durable
wait_for 300 0.1 all_have policy durable n1 n2 n4 n5 && pass "and it reaches every node" ||
    fail "the write made before kill -9 reaches every node"

# ---- a node that was down catches up ---------------------------------------------
stop_agent "${PID[n5]}" TERM
printf '[policy while-away]\naction = deny\nfrom = *\nto = x\n' >"$T/away.ini"
"$WEFT" apply --admin "$(sock n1)" "$T/away.ini" >/dev/null || fail "apply while n5 is down"
start n5
wait_for 300 0.1 has_obj n5 policy while-away && pass "n5, down during a write, catches up" ||
    fail "n5 catches up"
wait_for 300 0.1 same_digest n1 n2 n3 n4 n5 && pass "all five converge again" || fail "all five converge again"
check "sync counts the bodies it moved" test "$(mesh n5 'v["sync"]["bytes_sent"] + v["sync"]["served_bytes_in"]')" -gt 0

# ---- the node of another CA -----------------------------------------------------
check "x (another CA) holds none of it" bash -c '! "$0" get --admin "$1" policy allow-sensors' "$WEFT" "$(sock x)"
# x and a mesh node each refuse the other's certificate: the listener counts
# x's attempts as refused handshakes (in TLS 1.3 x aborts once it has judged
# our certificate), and our own attempts toward x fail on x's certificate
# (bad_chain) and mark it untrusted.
tls_refused() { [ "$(control "$1" 'v["refused"]["handshake"]')" -gt 0 ]; }
wait_for 300 0.1 tls_refused n1 && pass "n1's listener refused and counted x's handshakes" ||
    fail "n1's listener refused and counted x's handshakes: $(cat "$T/ctl-n1.json")"
check "a mesh node's own attempts toward x fail on x's certificate" \
    bash -c 'for n in n1 n2 n3 n4 n5; do curl -fsS --unix-socket "$0/d-$n/admin.sock" http://weft/v1/mesh | grep -q "x: .*bad_chain" && exit 0; done; exit 1' "$T"
check "x counts failed syncs" test "$(mesh x 'v["sync"]["sessions_failed"]')" -ge 1
check "x's digest is not the mesh's" test "$(digest x)" != "$(digest n1)"
check "no node took a record from x" test "$(mesh n1 'v["table"]["refused"]')" = 0
finish
