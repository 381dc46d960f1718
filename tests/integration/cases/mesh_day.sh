#!/usr/bin/env bash
# A node off for a day catches up (issue: control plane), with the debug
# clock ([admin] debug; docs/identity.md "Time, and the debug clock"): the
# running nodes move a day ahead together (POST /v1/debug/clock) and keep
# writing; the node that was off restarts a day later ([debug]
# clock_offset = 1d). Real processes on loopback: a CA node (renewing
# through its own listener) and n2, n3 with gossip, control listeners and
# [identity] ca.
#
# Claims: n3, whose 24 h service certificate expired while it was off,
# renews it before READY; it then holds what was written during its day
# off, a delete made meanwhile reaches it, and all three converge; the
# stamps of the day's writes are a day later than the first write's.
source "$(dirname "$0")/../lib.sh"

py() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
sock() { echo "$T/d-$1/admin.sock"; }
mesh() { curl -fsS --unix-socket "$(sock "$1")" http://weft/v1/mesh >"$T/mesh-$1.json" && py "$T/mesh-$1.json" "$2"; }
same_digest() { [ "$(mesh "$1" 'v["digest"]')" = "$(mesh "$2" 'v["digest"]')" ]; }
has_obj() { "$WEFT" get --admin "$(sock "$1")" "$2" "$3" >/dev/null 2>&1; }
advance() { curl -fsS -X POST --unix-socket "$(sock "$1")" "http://weft/v1/debug/clock?advance=$2" >/dev/null; }

"$WEFT" ca init --trust-domain example.org --out "$T/ca" >/dev/null
declare -A GP CP PID
for spec in ca1: n2: n3:web; do
    n=${spec%%:*} s=${spec#*:}
    GP[$n]=$(free_port)
    CP[$n]=$(free_port)
    "$WEFT" ca issue --ca "$T/ca" --node "$n" ${s:+--services "$s"} --out "$T/b-$n" >/dev/null
done
conf() {
    local n=$1
    shift
    {
        printf '[node]\nname = %s\ndata_dir = %s\ntrust_domain = example.org\n' "$n" "$T/d-$n"
        printf '[admin]\nsocket = %s/admin.sock\ndebug = true\n' "$T/d-$n"
        printf '[gossip]\nenabled = true\nbind = 127.0.0.1:%s\njoin = 127.0.0.1:%s\nprofile = local\n' \
            "${GP[$n]}" "${GP[ca1]}"
        printf '[identity]\nbundle = %s\nca = 127.0.0.1:%s\n' "$T/b-$n" "${CP[ca1]}"
        printf '[control]\nlisten = 127.0.0.1:%s\n' "${CP[$n]}"
        local l
        for l in "$@"; do printf '%s\n' "$l"; done
    } >"$T/$n.ini"
}
start() {
    start_agent "$T/$1.ini" "$T/$1.log"
    PID[$1]=$AGENT_PID
    wait_ready "$(sock "$1")" || die "$1 did not start: $(cat "$T/$1.log")"
}
conf ca1 "[ca]" "dir = $T/ca"
conf n2
conf n3
for n in ca1 n2 n3; do start "$n"; done

printf '[policy before]\naction = allow\nfrom = a\nto = b\n[policy doomed]\naction = deny\nfrom = *\nto = c\n' >"$T/p0.ini"
"$WEFT" apply --wait --timeout 20s --admin "$(sock n2)" "$T/p0.ini" >"$T/a0.txt" 2>&1 ||
    fail "apply --wait before: $(cat "$T/a0.txt")"
check "n3 holds the first write" has_obj n3 policy before

# ---- n3 is off for a day ------------------------------------------------------------
stop_agent "${PID[n3]}" TERM
advance ca1 1d
advance n2 1d
printf '[policy during]\naction = allow\nfrom = x\nto = y\n' >"$T/p1.ini"
"$WEFT" apply --admin "$(sock n2)" "$T/p1.ini" >/dev/null || fail "apply during the day off"
"$WEFT" delete --admin "$(sock ca1)" policy doomed >/dev/null || fail "delete during the day off"
conf n3 "[debug]" "clock_offset = 1d"
start n3
# The admin API answers while the start renews (before READY): wait for
# the verdict rather than read it once.
at_start() { "$WEFT" status --json --admin "$(sock n3)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["identity"]["renewal"]["at_start"])'; }
at_start_done() { [ "$(at_start)" != in_progress ]; }
wait_for 300 0.1 at_start_done || fail "n3's start renewal never finished"
check "n3 renewed its expired service certificate before READY" test "$(at_start)" = ok
wait_for 300 0.1 has_obj n3 policy during && pass "n3 holds the write of its day off" ||
    fail "n3 holds the write of its day off: $(tail -3 "$T/n3.log")"
wait_for 300 0.1 bash -c '! "$0" get --admin "$1" policy doomed' "$WEFT" "$(sock n3)" &&
    pass "the delete of its day off reaches n3" || fail "the delete reaches n3"
wait_for 300 0.1 same_digest n2 n3 && wait_for 300 0.1 same_digest ca1 n3 &&
    pass "all three converge" || fail "all three converge"
# The day shows in the stamps (HLC wall part, in ms).
"$WEFT" get --json --admin "$(sock n3)" policy before >"$T/g0.json"
"$WEFT" get --json --admin "$(sock n3)" policy during >"$T/g1.json"
t0=$(py "$T/g0.json" 'v["objects"][0]["at"]')
t1=$(py "$T/g1.json" 'v["objects"][0]["at"]')
d=$(( $(date -u -d "${t1%.*}" +%s) - $(date -u -d "${t0%.*}" +%s) ))
check "the day's write is stamped a day later ($d s)" test "$d" -ge 86400
finish
