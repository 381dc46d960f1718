#!/usr/bin/env bash
# Five weft agents, each in its own network namespace (wft<pid>-1..5, eth0 =
# 10.77.0.i, plugged into a bridge in wft<pid>-0; the addresses exist only
# inside the namespaces), profile lossy:
#   (a) they form one cluster: every node lists 5 alive;
#   (b) 10 % loss on every link (tc netem, + 10±5 ms delay; or, on kernels
#       without netem, iptables' statistic match, loss only) for a window: no live
#       node is ever listed failed by anyone (members polled all along), and
#       a kill -9'd node is still seen failed by all four others;
#   (c) an iptables partition {1,2} | {3,4,5}: each side lists the other
#       failed; after the rules are removed, first a bounded wait for the
#       cluster to heal by itself, then (second, labelled assertion) one
#       `weft join` across keeps (or, without the loop, brings) it at 5
#       alive everywhere.
# memberlist itself never probes nor push/pulls a dead member: (c) heals by
# itself only through weft's Serf reconnect loop (serf.go reconnect(): every
# reconnect_interval, 2 s here, a random failed member gets a push/pull);
# SELF_HEAL below says which outcome is asserted.
# Skipped (exit 77, ctest SKIP_RETURN_CODE) when not root, without `ip netns`,
# or `iptables` (tools/deps.sh installs iproute2 and iptables).
source "$(dirname "$0")/../lib.sh"

# 1: weft reconnects to failed members by itself (its Serf reconnect loop,
# [gossip] reconnect_interval), and the self-heal is asserted. 0 (for a build
# without the loop): the test asserts that it does not pretend to heal.
SELF_HEAL=${WEFT_TEST_SELF_HEAL:-1}

if ! netns_usable; then
    echo "SKIP: needs root and a working \`ip netns\` (network namespaces)"
    exit 77
fi
if ! command -v iptables >/dev/null 2>&1; then
    echo "SKIP: \`iptables\` is not installed (tools/deps.sh installs it)"
    exit 77
fi

netns_reap_stale wft # namespaces of earlier runs that were killed outright
NS="wft$$"
NET=10.77.0
N=5
trap 'cleanup; netns_cleanup' EXIT
trap 'exit 143' TERM INT HUP # (so the EXIT trap runs then too)
netns_star "$NS" "$N" "$NET"

PORT=7946
declare -a NPID SOCK
start_node() { # I: start node I (joining node 1, except node 1 itself)
    local i=$1 join=()
    [ "$i" -eq 1 ] || join=("join = $NET.1:$PORT")
    write_config "$T/n$i.ini" "n$i" "$T/n$i" "" "[gossip]" "enabled = true" \
        "bind = $NET.$i:$PORT" "profile = lossy" "reconnect_interval = 2s" "${join[@]}"
    start_agent_in "$NS-$i" "$T/n$i.ini" "$T/n$i.log"
    NPID[i]=$AGENT_PID
    SOCK[i]="$T/n$i/admin.sock"
    wait_ready "${SOCK[$i]}" || { cat "$T/n$i.log"; die "node n$i did not become ready"; }
}

# members I: `weft members` of node I, as "name status" lines.
members() { "$WEFT" members --admin "${SOCK[$1]}" 2>/dev/null | awk 'NR > 1 { print $1, $3 }'; }
# sees I NAME STATUS: node I lists NAME with STATUS.
sees() { members "$1" | grep -qx "$2 $3"; }
# all_see STATUS NAME I...: each node I lists NAME with STATUS.
all_see() {
    local st=$1 name=$2 i
    shift 2
    for i in "$@"; do sees "$i" "$name" "$st" || return 1; done
}
# n_alive I: how many members node I lists alive.
n_alive() { members "$1" | grep -c ' alive$' || true; }
# all_alive COUNT I...: each node I lists COUNT members alive.
all_alive() {
    local want=$1 i
    shift
    for i in "$@"; do [ "$(n_alive "$i")" -eq "$want" ] || return 1; done
}
# record_failed LIVE... : append to $FF (default $T/false_failed) every
# "observer member" where an observer in LIVE lists a member of LIVE as
# failed (one `weft members` per observer).
record_failed() {
    local i live=" ${*/#/n} "
    for i in "$@"; do
        members "$i" | awk -v o="n$i" -v live="$live" \
            '$2 == "failed" && index(live, " " $1 " ") { print o, $1 }' >>"${FF:-$T/false_failed}" ||
            true
    done
}
ALL=(1 2 3 4 5)

# --- (a) one cluster ---
for i in "${ALL[@]}"; do start_node "$i"; done
check "(a) every node lists 5 members alive" wait_for 300 0.1 all_alive 5 "${ALL[@]}"

# --- (b) loss on every link, lossy profile ---
loss() { # on|off
    local i
    for i in "${ALL[@]}"; do
        if [ "$1" = on ]; then netns_loss "$NS-$i" 10 10 5; else netns_loss_off "$NS-$i"; fi
    done
}
loss on
log "loss applied with $NETNS_LOSS_HOW$([ "$NETNS_LOSS_HOW" = netem ] || echo ' (no netem in this kernel: loss only, no delay)')"
: >"$T/false_failed"
# The observation window: ~20 s of polling every node (each round also takes
# the time of 5 `weft members` calls). Bounded by rounds and by time.
start=$SECONDS
for ((r = 0; r < 200 && SECONDS - start < 20; r++)); do
    record_failed "${ALL[@]}"
    sleep 0.2
done
log "loss window: $r polling rounds in $((SECONDS - start)) s"
check "(b) 10% loss: no live node listed failed during the window" test ! -s "$T/false_failed"
[ -s "$T/false_failed" ] && sort -u "$T/false_failed" | sed 's/^/#   observer, member listed failed: /'

stop_agent "${NPID[5]}" 9
LIVE=(1 2 3 4)
: >"$T/false_failed"
seen_dead() { record_failed "${LIVE[@]}"; all_see failed n5 "${LIVE[@]}"; }
check "(b) 10% loss: the kill -9'd n5 is listed failed by all four others" \
    wait_for 300 0.2 seen_dead
check "(b) 10% loss: no live node listed failed meanwhile" test ! -s "$T/false_failed"
# The detector itself detects: with n5 counted as live, n1 reports it.
FF="$T/selfcheck" record_failed 1 5
check "(self-check) the false-failure detector reports the dead n5" test -s "$T/selfcheck"
loss off

# n5 back (same data dir: above its last incarnation) for the partition.
start_node 5
check "n5 restarted: every node lists 5 alive again" wait_for 300 0.1 all_alive 5 "${ALL[@]}"

# --- (c) partition {1,2} | {3,4,5} ---
A=(1 2)
B=(3 4 5)
cut() { # -A|-D: add or remove the DROP rules on every node
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
# side_sees STATUS: each side lists every node of the other side with STATUS,
# and its own side alive.
side_sees() {
    local i j
    for i in "${A[@]}"; do
        for j in "${B[@]}"; do sees "$i" "n$j" "$1" && sees "$j" "n$i" "$1" || return 1; done
    done
    all_see alive n1 "${A[@]}" && all_see alive n2 "${A[@]}" &&
        all_see alive n3 "${B[@]}" && all_see alive n4 "${B[@]}" && all_see alive n5 "${B[@]}"
}
cut -A
check "(c) partition 2|3: each side lists the other failed, its own alive" \
    wait_for 300 0.2 side_sees failed
# The partition lasts 5 s more: the deaths just declared are still in the
# broadcast queues (6 sends each in lossy at n = 5, ~1 s of gossip), and
# memberlist gossips to members dead for < 30 s; lifting the cut while they
# are queued could let a refutation cross by luck. Part of the scenario,
# not a synchronisation.
sleep 5
cut -D

# Self-heal: bounded wait of 35 s (longer than one push/pull interval, 30 s,
# at which memberlist would exchange state with a member it still knows).
start=$SECONDS
healed=0
for ((r = 0; r < 140 && SECONDS - start < 35; r++)); do
    if all_alive 5 "${ALL[@]}"; then healed=1; break; fi
    sleep 0.25
done
log "after removing the rules: healed by itself = $healed (waited $((SECONDS - start)) s)"
log "n1 lists: $(members 1 | tr '\n' ',')"
log "n3 lists: $(members 3 | tr '\n' ',')"
if [ "$SELF_HEAL" = 1 ]; then
    check "(c) the cluster heals to 5 alive everywhere by itself" test "$healed" -eq 1
else
    check "(c) known gap: no self-heal without a Serf reconnect loop (flip SELF_HEAL when it lands)" \
        test "$healed" -eq 0
fi

# Second, labelled assertion: a `weft join` across the healed link.
check "(c, with weft join) n1 joins n3 across" "$WEFT" join --admin "${SOCK[1]}" "$NET.3:$PORT"
check "(c, with weft join) the cluster is 5 alive everywhere" \
    wait_for 300 0.2 all_alive 5 "${ALL[@]}"

finish
