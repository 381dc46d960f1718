#!/usr/bin/env bash
# The trust bundle in the replicated state (docs/identity.md "The trust
# bundle in the replicated state"): a CA node and two nodes that never
# check in with the CA (no [identity] ca), real processes on loopback with
# gossip and control listeners.
#
# Claims: the CA publishes its bundle as a signed record and every node
# holds it; after `weft ca rotate add` the two nodes trust both roots,
# learnt from the mesh alone; a record forged in one node's store (signed
# by another CA, stamped newer) is refused by the others (counted), who
# keep their roots.
source "$(dirname "$0")/../lib.sh"

command -v sqlite3 >/dev/null || die "sqlite3 is not installed"
py() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
sock() { echo "$T/d-$1/admin.sock"; }
mesh() { curl -fsS --unix-socket "$(sock "$1")" http://weft/v1/mesh >"$T/mesh-$1.json" && py "$T/mesh-$1.json" "$2"; }
nroots() { "$WEFT" certs --json --admin "$(sock "$1")" >"$T/certs-$1.json" && py "$T/certs-$1.json" 'len(v["trust_roots"])'; }
roots_eq() { [ "$(nroots "$1")" = "$2" ]; }
has_bundle() {
    curl -fsS --unix-socket "$(sock "$1")" "http://weft/v1/mesh/objects?kind=trust-bundle" >"$T/tb-$1.json" &&
        [ "$(py "$T/tb-$1.json" 'len(v["objects"])')" = 1 ]
}
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f; }

"$WEFT" ca init --trust-domain example.org --out "$T/ca" >/dev/null
"$WEFT" ca init --trust-domain example.org --out "$T/evil" >/dev/null
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
        printf '[admin]\nsocket = %s/admin.sock\n' "$T/d-$n"
        printf '[gossip]\nenabled = true\nbind = 127.0.0.1:%s\njoin = 127.0.0.1:%s\nprofile = local\n' \
            "${GP[$n]}" "${GP[ca1]}"
        printf '[identity]\nbundle = %s\n' "$T/b-$n"
        local l
        for l in "$@"; do printf '%s\n' "$l"; done
        printf '[control]\nlisten = 127.0.0.1:%s\n' "${CP[$n]}"
    } >"$T/$n.ini"
}
start() {
    start_agent "$T/$1.ini" "$T/$1.log"
    PID[$1]=$AGENT_PID
    wait_ready "$(sock "$1")" || die "$1 did not start: $(cat "$T/$1.log")"
}
conf ca1 "ca = 127.0.0.1:${CP[ca1]}" "[ca]" "dir = $T/ca"
conf n2
conf n3
for n in ca1 n2 n3; do start "$n"; done
check "the CA published its bundle" grep -q "CA: trust bundle published to the mesh" "$T/ca1.log"
for n in n2 n3; do
    wait_for 300 0.1 has_bundle "$n" && pass "$n holds the CA's trust-bundle record" ||
        fail "$n holds the trust-bundle record"
    check "$n trusts one root" roots_eq "$n" 1
done

# ---- add: the nodes learn the new root from the mesh alone ----------------------
"$WEFT" ca rotate add --admin "$(sock ca1)" >"$T/add.txt" 2>&1 || fail "rotate add: $(cat "$T/add.txt")"
for n in n2 n3; do
    wait_for 300 0.1 roots_eq "$n" 2 && pass "$n trusts both roots, from the mesh" ||
        fail "$n trusts both roots: $(tail -3 "$T/$n.log")"
    check "$n logs the bundle from the mesh" grep -q "trust bundle from the mesh (CA statement" "$T/$n.log"
    check "$n never called the CA" bash -c '! grep -q "renewing\|check-in" "$0"' "$T/$n.log"
done
NEW_FP=$(fp "$T/ca/next.crt")
check "n2's new root is the CA's next.crt" grep -q "$NEW_FP" "$T/certs-n2.json"

# ---- a forged bundle in n3's store reaches nobody --------------------------------
stop_agent "${PID[n3]}" TERM
openssl x509 -in "$T/evil/ca.crt" >"$T/evil.pem"
# Signed by the evil CA's key over the right message would still be refused (not a
# trusted root); a garbage signature by the real root's fingerprint is refused too.
EVIL_FP=$(fp "$T/evil/ca.crt")
BODY=$(printf 'signature = %s 3045022100aa\n\n%s\n' "$EVIL_FP" "$(cat "$T/evil.pem")")
HLC=$(( ($(date +%s) * 1000 + 60000) * 65536 ))
sqlite3 "$T/d-n3/weft.db" "UPDATE mesh_records SET body = CAST('$BODY' AS BLOB), hlc = $HLC, writer = 'spiffe://example.org/node/ca1' WHERE kind = 'trust-bundle'" ||
    die "could not forge the record"
D0=$(mesh n2 'v["table"]["denied"]')
start n3
denied_more() { [ "$(mesh "$1" 'v["table"]["denied"]')" -gt "$2" ]; }
wait_for 300 0.1 denied_more n2 "$D0" && pass "n2 refuses the forged bundle n3 pushes (counted)" ||
    fail "n2 refuses the forged bundle: $(cat "$T/mesh-n2.json")"
check "n2 still trusts the CA's two roots" roots_eq n2 2
check "n2 does not trust the forged root" bash -c '! grep -q "$0" "$1"' "$EVIL_FP" "$T/certs-n2.json"
check "ca1 still trusts its two roots" roots_eq ca1 2
check "the refusal is logged" grep -q "not signed by a root this node trusts" "$T/n2.log"
finish
