#!/usr/bin/env bash
# Cluster-wide gossip key rotation against a stock `serf agent` (serf 0.9.4,
# memberlist 0.2.2) on loopback: two weft agents and one serf agent share
# an encrypted cluster and rotate OLD -> NEW from both sides:
#   weft keyring install NEW  -> `serf keys -list` shows NEW on every node,
#                                weft's key_file holds OLD then NEW;
#   serf keys -use NEW        -> weft's key_file has NEW first;
#   weft keyring remove OLD   -> gone everywhere;
# after each step the cluster still works; a member with only NEW is
# admitted, one with only OLD is not; a restarted weft comes back with the
# rotated keyring. Refusals carry serf's messages and exit 1. `weft keygen`
# prints 32 bytes in base64 that serf accepts. Skipped only without serf.
source "$(dirname "$0")/../lib.sh"

if ! command -v serf >/dev/null 2>&1; then
    echo "SKIP: the serf binary is not installed (tools/deps.sh installs it)"
    exit 0
fi

# serf_sees RPC NAME STATUS: `serf members` lists NAME with STATUS.
serf_sees() {
    serf members -rpc-addr="127.0.0.1:$1" 2>/dev/null |
        awk -v n="$2" -v s="$3" '$1 == n && $3 == s { f = 1 } END { exit !f }'
}
# weft_alive SOCKET N: `weft members` lists N members alive.
weft_alive() {
    [ "$("$WEFT" members --admin "$1" --status alive 2>/dev/null | tail -n +2 | wc -l)" -eq "$2" ]
}
# serf_keys_show RPC KEY COUNT: `serf keys -list` shows KEY on COUNT/COUNT nodes.
serf_keys_show() {
    serf keys -list -rpc-addr="127.0.0.1:$1" 2>/dev/null |
        awk -v k="$2" -v c="[$3/$3]" '$1 == k && $2 == c { f = 1 } END { exit !f }'
}
# serf_keys_lack RPC KEY: `serf keys -list` succeeds and does not show KEY.
serf_keys_lack() {
    local out
    out=$(serf keys -list -rpc-addr="127.0.0.1:$1" 2>/dev/null) || return 1
    ! grep -qF -- "$2" <<<"$out"
}
# weft_keys_show SOCKET KEY COUNT: `weft keyring list` shows KEY on COUNT/COUNT nodes.
weft_keys_show() {
    "$WEFT" keyring list --admin "$1" 2>/dev/null |
        awk -v k="$2" -v c="[$3/$3]" '$1 == k && $2 == c { f = 1 } END { exit !f }'
}
# file_is FILE LINE...: FILE holds exactly these lines.
file_is() {
    local f=$1
    shift
    [ "$(cat "$f")" = "$(printf '%s\n' "$@")" ]
}

start_serf() { # NAME GOSSIP_PORT RPC_PORT LOG [extra args]
    local n=$1 p=$2 r=$3 l=$4
    shift 4
    serf agent -node="$n" -bind="127.0.0.1:$p" -rpc-addr="127.0.0.1:$r" "$@" >"$l" 2>&1 &
    SERF_PID=$!
    PIDS+=("$SERF_PID")
    wait_for 100 0.1 serf members -rpc-addr="127.0.0.1:$r" >/dev/null ||
        { cat "$l"; die "serf agent $n did not start"; }
}

# --- weft keygen: 32 bytes in base64, and serf takes it ---
OLD=$("$WEFT" keygen)
NEW=$("$WEFT" keygen)
check "weft keygen prints base64 of 32 bytes" \
    python3 -c 'import base64,sys; assert len(base64.b64decode(sys.argv[1], validate=True)) == 32' "$OLD"
check "two keys differ" test "$OLD" != "$NEW"
check "weft keygen takes no argument (usage, exit 2)" bash -c '"$0" keygen x 2>/dev/null; [ $? -eq 2 ]' "$WEFT"

P1=$(free_port); R1=$(free_port); P2=$(free_port); P3=$(free_port)
start_serf s1 "$P1" "$R1" "$T/s1.log" -encrypt "$OLD"
check "serf agent -encrypt accepts weft keygen's key" serf_sees "$R1" s1 alive

printf '%s\n' "$OLD" >"$T/w1.key"
printf '%s\n' "$OLD" >"$T/w2.key"
chmod 0644 "$T/w1.key"
D1="$T/w1"; S1="$D1/admin.sock"
D2="$T/w2"; S2="$D2/admin.sock"
write_config "$T/w1.ini" w1 "$D1" "" "[gossip]" "enabled = true" "bind = 127.0.0.1:$P2" \
    "join = 127.0.0.1:$P1" "profile = local" "key_file = $T/w1.key"
write_config "$T/w2.ini" w2 "$D2" "" "[gossip]" "enabled = true" "bind = 127.0.0.1:$P3" \
    "join = 127.0.0.1:$P1" "profile = local" "key_file = $T/w2.key"
start_agent "$T/w1.ini" "$T/w1.log"
W1_PID=$AGENT_PID
start_agent "$T/w2.ini" "$T/w2.log"
W2_PID=$AGENT_PID
wait_ready "$S1" || { cat "$T/w1.log"; die "w1 did not start"; }
wait_ready "$S2" || { cat "$T/w2.log"; die "w2 did not start"; }
check "serf sees w1 and w2 alive" wait_for 200 0.1 bash -c \
    "$(declare -f serf_sees); serf_sees $R1 w1 alive && serf_sees $R1 w2 alive"
check "w1 sees 3 members alive" wait_for 200 0.1 weft_alive "$S1" 3
check "w2 sees 3 members alive" wait_for 200 0.1 weft_alive "$S2" 3

# --- list, from both sides ---
check "weft keyring list: OLD on 3/3" weft_keys_show "$S1" "$OLD" 3
check "serf keys -list counts the weft nodes: OLD on 3/3" serf_keys_show "$R1" "$OLD" 3
check "weft keyring list --json: 3 answers, no error, OLD primary on 3" bash -c '
    "$0" keyring list --json --admin "$1" | python3 -c "import json,sys
v=json.load(sys.stdin)
assert v[\"ok\"] and v[\"num_nodes\"]==3 and v[\"num_resp\"]==3 and v[\"num_err\"]==0, v
assert v[\"keys\"]=={sys.argv[1]:3} and v[\"primary_keys\"]=={sys.argv[1]:3}, v" "$2"' \
    "$WEFT" "$S1" "$OLD"

# --- step 1: weft keyring install NEW ---
check "weft keyring install NEW succeeds on every node" "$WEFT" keyring install "$NEW" --admin "$S1"
check "serf keys -list: NEW on 3/3" serf_keys_show "$R1" "$NEW" 3
check "serf keys -list: OLD still on 3/3" serf_keys_show "$R1" "$OLD" 3
check "w1's key_file: OLD then NEW" file_is "$T/w1.key" "$OLD" "$NEW"
check "w2's key_file: OLD then NEW" file_is "$T/w2.key" "$OLD" "$NEW"
check "the rewritten key_file is 0600" test "$(stat -c %a "$T/w1.key")" = 600
check "no temporary file left next to it" bash -c '[ "$(ls "$0" | grep -c "w1.key.")" -eq 0 ]' "$T"
check "install again: a no-op success" "$WEFT" keyring install "$NEW" --admin "$S2"
check "the cluster still works: w2 sees 3 alive" wait_for 100 0.1 weft_alive "$S2" 3

# --- refusals, with serf's messages ---
OUT=$("$WEFT" keyring remove "$OLD" --admin "$S1" 2>&1) && RC=0 || RC=$?
check "removing the primary fails (exit 1)" test "$RC" -eq 1
check "... with memberlist's message from every node" \
    test "$(grep -c 'Removing the primary key is not allowed' <<<"$OUT")" -eq 3
check "... and serf's summary" grep -q "Error removing key: 3/3 nodes reported failure" <<<"$OUT"
UNKNOWN=$("$WEFT" keygen)
OUT=$("$WEFT" keyring use "$UNKNOWN" --admin "$S2" 2>&1) && RC=0 || RC=$?
check "using a key not installed fails (exit 1)" test "$RC" -eq 1
check "... every node says so (s1 too)" bash -c \
    'grep -q "^failed: *s1 *Requested key is not in the keyring" <<<"$0"' "$OUT"
check "a bad key is refused before anything is sent (exit 1)" bash -c \
    '"$0" keyring install not-base64 --admin "$1" 2>/dev/null; [ $? -eq 1 ]' "$WEFT" "$S1"
check "keyring with no command: usage (exit 2)" bash -c '"$0" keyring --admin "$1" 2>/dev/null; [ $? -eq 2 ]' \
    "$WEFT" "$S1"
check "keyring use without a key: usage (exit 2)" bash -c \
    '"$0" keyring use --admin "$1" 2>/dev/null; [ $? -eq 2 ]' "$WEFT" "$S1"
check "the failed ops changed no key_file" file_is "$T/w1.key" "$OLD" "$NEW"

# --- step 2: serf keys -use NEW (from serf) ---
check "serf keys -use NEW succeeds on every node, weft included" \
    serf keys -use "$NEW" -rpc-addr="127.0.0.1:$R1"
check "w1's key_file: NEW first" file_is "$T/w1.key" "$NEW" "$OLD"
check "w2's key_file: NEW first" file_is "$T/w2.key" "$NEW" "$OLD"
check "weft keyring list --json: NEW primary on 3/3" bash -c '
    "$0" keyring list --json --admin "$1" | python3 -c "import json,sys
v=json.load(sys.stdin); assert v[\"primary_keys\"]=={sys.argv[1]:3}, v" "$2"' "$WEFT" "$S2" "$NEW"
check "the cluster still works: serf sees w1 alive" serf_sees "$R1" w1 alive
check "the cluster still works: w1 sees 3 alive" wait_for 100 0.1 weft_alive "$S1" 3

# --- step 3: weft keyring remove OLD ---
check "weft keyring remove OLD succeeds on every node" "$WEFT" keyring remove "$OLD" --admin "$S2"
check "serf keys -list: OLD gone" serf_keys_lack "$R1" "$OLD"
check "serf keys -list: NEW on 3/3" serf_keys_show "$R1" "$NEW" 3
check "w1's key_file: NEW only" file_is "$T/w1.key" "$NEW"
check "w2's key_file: NEW only" file_is "$T/w2.key" "$NEW"
# serf reads weft's refusals: removing the primary from serf's side
OUT=$(serf keys -remove "$NEW" -rpc-addr="127.0.0.1:$R1" 2>&1) && RC=0 || RC=$?
check "serf keys -remove of the primary fails" test "$RC" -eq 1
check "... serf prints weft's answer for w1 and w2" bash -c \
    'for n in w1 w2; do grep -q "failed: *$n *Removing the primary key is not allowed" <<<"$0" || exit 1; done' "$OUT"
check "... and counts 3/3 failures" grep -q "3/3 nodes reported failure" <<<"$OUT"

# a member with only OLD is not admitted, one with only NEW is
P4=$(free_port); R4=$(free_port); P5=$(free_port); R5=$(free_port)
start_serf s-old "$P4" "$R4" "$T/s-old.log" -encrypt "$OLD"
check "a serf holding only OLD cannot join" bash -c \
    '! serf join -rpc-addr="127.0.0.1:$0" "127.0.0.1:$1"' "$R4" "$P2"
start_serf s-new "$P5" "$R5" "$T/s-new.log" -encrypt "$NEW"
check "a serf holding only NEW joins through weft" serf join -rpc-addr="127.0.0.1:$R5" "127.0.0.1:$P2"
check "w1 sees s-new alive (4 alive)" wait_for 200 0.1 weft_alive "$S1" 4
check "s-old is not a member anywhere" bash -c '! serf members -rpc-addr="127.0.0.1:$0" | grep -q "^s-old "' "$R1"
check "serf keys -list: NEW on 4/4" wait_for 50 0.1 serf_keys_show "$R1" "$NEW" 4

# --- restart w1: it comes back with the rotated keyring ---
stop_agent "$W1_PID"
check "w1 stopped cleanly" test "$STOP_RC" -eq 0
start_agent "$T/w1.ini" "$T/w1b.log"
W1_PID=$AGENT_PID
wait_ready "$S1" || { cat "$T/w1b.log"; die "w1 did not restart"; }
check "the restarted w1 sees 4 alive" wait_for 200 0.1 weft_alive "$S1" 4
check "weft keyring list on the restarted w1: NEW on 4/4" wait_for 50 0.1 weft_keys_show "$S1" "$NEW" 4
# serf counts w1 among its 4 members only if the restarted w1 answers (with NEW)
check "serf keys -list: NEW on 4/4, the restarted w1 answering" \
    wait_for 50 0.1 serf_keys_show "$R1" "$NEW" 4

# --- without encryption: serf's refusals ---
P6=$(free_port)
D6="$T/w6"; S6="$D6/admin.sock"
write_config "$T/w6.ini" w6 "$D6" "" "[gossip]" "enabled = true" "bind = 127.0.0.1:$P6" \
    "profile = local"
start_agent "$T/w6.ini" "$T/w6.log"
wait_ready "$S6" || { cat "$T/w6.log"; die "plaintext weft did not start"; }
OUT=$("$WEFT" keyring list --admin "$S6" 2>&1) && RC=0 || RC=$?
check "list without encryption fails (exit 1)" test "$RC" -eq 1
check "... with serf's message" grep -q "Keyring is empty (encryption not enabled)" <<<"$OUT"
OUT=$("$WEFT" keyring install "$NEW" --admin "$S6" 2>&1) && RC=0 || RC=$?
check "install without encryption fails (exit 1)" test "$RC" -eq 1
check "... with serf's message" grep -q "No keyring to modify (encryption not enabled)" <<<"$OUT"

finish
