#!/usr/bin/env bash
# Revoking a node (docs/identity.md "Revoking a node"): a CA node (which
# renews through its own listener) and three nodes, real processes on
# loopback with gossip and control listeners; n3 renews with the CA.
#
# Claims: `weft ca revoke --node n3` reaches the other nodes as a CA-signed
# record; then n2 refuses n3's ping (and n3's mesh.sync: n3's writes no
# longer reach n2), n3 is left out of --wait, and the CA refuses n3's
# renewal, each counted; `weft ca unrevoke` lets n3 back in and its writes
# flow again. (n3 itself is cut off: nobody syncs with it, so it need not
# hold the record.)
source "$(dirname "$0")/../lib.sh"

command -v sqlite3 >/dev/null || die "sqlite3 is not installed"
py() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
sock() { echo "$T/d-$1/admin.sock"; }
mesh() { curl -fsS --unix-socket "$(sock "$1")" http://weft/v1/mesh >"$T/mesh-$1.json" && py "$T/mesh-$1.json" "$2"; }
has_obj() { "$WEFT" get --admin "$(sock "$1")" "$2" "$3" >/dev/null 2>&1; }
has_revocation() {
    curl -fsS --unix-socket "$(sock "$1")" "http://weft/v1/mesh/objects?kind=revocation" >"$T/rv-$1.json" &&
        [ "$(py "$T/rv-$1.json" 'len(v["objects"])')" = 1 ]
}
same_digest() { [ "$(mesh "$1" 'v["digest"]')" = "$(mesh "$2" 'v["digest"]')" ]; }

"$WEFT" ca init --trust-domain example.org --out "$T/ca" >/dev/null
declare -A GP CP PID
for n in ca1 n2 n3; do
    GP[$n]=$(free_port)
    CP[$n]=$(free_port)
    "$WEFT" ca issue --ca "$T/ca" --node "$n" --out "$T/b-$n" >/dev/null
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
"$WEFT" ping --admin "$(sock n2)" "127.0.0.1:${CP[n3]}" >/dev/null && pass "before: n2 pings n3" || fail "before: n2 pings n3"

# ---- revoke n3 ------------------------------------------------------------------
"$WEFT" ca revoke --admin "$(sock ca1)" --node n3 --reason "lost in the field" >"$T/rv.txt" 2>&1 ||
    fail "ca revoke: $(cat "$T/rv.txt")"
check "ca revoke prints the node" grep -q "node n3: revoked" "$T/rv.txt"
wait_for 300 0.1 has_revocation n2 && pass "n2 holds the revocation" || fail "n2 holds the revocation"
rc=0
"$WEFT" ping --admin "$(sock n3)" "127.0.0.1:${CP[n2]}" >"$T/ping-rev.txt" 2>&1 || rc=$?
check "n2 refuses n3's ping (exit 1)" test "$rc" = 1
check "...saying it is revoked" grep -q "n3 is revoked" "$T/ping-rev.txt"
# n3's writes do not reach n2 any more.
printf '[policy from-n3]\naction = allow\nfrom = a\nto = b\n' >"$T/p3.ini"
"$WEFT" apply --admin "$(sock n3)" "$T/p3.ini" >/dev/null || fail "apply at n3 (its own store)"
sync_refused() { [ "$(mesh n2 'v["sync"]["served_refused"]')" -gt 0 ]; }
wait_for 300 0.1 sync_refused && pass "n2 refuses n3's mesh.sync (counted)" || fail "n2 refuses n3's mesh.sync"
check "n2 does not hold n3's write" bash -c '! "$0" get --admin "$1" policy from-n3' "$WEFT" "$(sock n2)"
# A write at n2 converges with ca1 without waiting for n3.
printf '[policy from-n2]\naction = allow\nfrom = a\nto = b\n' >"$T/p2.ini"
"$WEFT" apply --wait --timeout 20s --admin "$(sock n2)" "$T/p2.ini" >"$T/w2.txt" 2>&1 &&
    pass "apply --wait at n2 leaves the revoked n3 out" || fail "apply --wait at n2: $(cat "$T/w2.txt")"
check "...counting 2 members" grep -q "^converged: 2 members" "$T/w2.txt"
# The CA refuses n3's renewal.
curl -fsS -X POST --unix-socket "$(sock n3)" "http://weft/v1/debug/renew" >/dev/null
ca_revoked() { [ "$(curl -fsS --unix-socket "$(sock ca1)" http://weft/v1/control | py /dev/stdin 'v["ca"]["refused"]["revoked"]')" -ge 1 ]; }
wait_for 300 0.1 ca_revoked && pass "the CA refuses n3's renewal (counted)" || fail "the CA refuses n3's renewal"

# ---- unrevoke -------------------------------------------------------------------
"$WEFT" ca unrevoke --admin "$(sock ca1)" --node n3 >"$T/unrv.txt" 2>&1 || fail "ca unrevoke: $(cat "$T/unrv.txt")"
check "ca unrevoke prints it" grep -q "node n3: no longer revoked" "$T/unrv.txt"
wait_for 300 0.1 has_obj n2 policy from-n3 && pass "after unrevoke n3's write reaches n2" ||
    fail "after unrevoke n3's write reaches n2"
wait_for 300 0.1 same_digest n2 n3 && pass "n2 and n3 converge again" || fail "n2 and n3 converge again"
"$WEFT" ping --admin "$(sock n3)" "127.0.0.1:${CP[n2]}" >/dev/null && pass "n3 pings n2 again" ||
    fail "n3 pings n2 again"
finish
