#!/usr/bin/env bash
# Limits of the data plane (docs/proxy.md), two agents on loopback:
#
#   px_peer ─▶ n1 [upstream lim]  max_connections = 5 ══▶ n2 ─▶ px_peer serve (echo)
#   px_peer ─▶ n1 [upstream idle] idle_timeout = 2s   ══▶ n2 ─▶ px_peer serve (echo)
#   px_peer push ─▶ n1 [upstream sink] ══▶ n2 ─▶ px_peer serve --slow 1000000 (sink)
#   px_peer push ─▶ n1 [upstream bulk] ══▶ n2 ─▶ px_peer serve --slow 25000000 (bulk)
#
# Claims:
#   - circuit breaking: with 5 connections open through `lim`, a 6th is
#     refused at once (a reset or EOF, no data; px_peer's probe waits at
#     most 10 s) and counted as overflow; once the 5 are closed new ones
#     pass;
#   - slow reader: a fast writer pushes towards 1 GB into a reader taking
#     1 MB/s, for 30 s (then the writer stops: at 1 MB/s the gigabyte could
#     not drain). Both agents' VmRSS, sampled every 0.5 s during the push,
#     stays under its value before the push + 32 MiB, while the reader
#     keeps receiving bytes. Why 32 MiB: the budget of one relayed
#     connection is about 2 x ([proxy] buffer 64 KiB + a 16 KiB read chunk)
#     plus mbedTLS's record buffers (~40 KB) per agent, well under 1 MiB;
#     32 MiB leaves room for allocator and sanitizer slack and is still
#     far below what an agent that read without backpressure would hold
#     (the writer fills any buffer at hundreds of MB/s). Under ASan the
#     agents run with a 1 MB quarantine (lib.sh asan_small_quarantine):
#     with the default 256 MB, RSS grows by what was freed, leak or not;
#   - and 1 GB really pushed: into a reader taking 25 MB/s (slower than
#     the two hops under ASan, ~40 MB/s one way) the whole gigabyte goes
#     through, n2 counts exactly 1000000000 bytes in, and the same RSS
#     bound holds in every sample;
#   - idle: a connection through `idle` that goes silent is closed by weft
#     (eof or reset at the client) and counted as ends.idle.
source "$(dirname "$0")/../lib.sh"

asan_small_quarantine
mesh_init
mesh_node n1 client
mesh_node n2 echo,sink,bulk
ECHO=$(free_port)
SINK=$(free_port)
ULIM=$(free_port)
UIDLE=$(free_port)
USINK=$(free_port)
BULK=$(free_port)
UBULK=$(free_port)
python3 "$PX_PEER" serve "$ECHO" >"$T/echo.log" 2>&1 &
PIDS+=("$!")
python3 "$PX_PEER" serve "$SINK" --slow 1000000 >"$T/sink.log" 2>&1 &
PIDS+=("$!")
python3 "$PX_PEER" serve "$BULK" --slow 25000000 >"$T/bulk.log" 2>&1 &
PIDS+=("$!")

mesh_conf n1 "[upstream lim]" "listen = 127.0.0.1:$ULIM" "service = echo" "from = client" \
    "max_connections = 5" \
    "[upstream idle]" "listen = 127.0.0.1:$UIDLE" "service = echo" "from = client" "idle_timeout = 2s" \
    "[upstream sink]" "listen = 127.0.0.1:$USINK" "service = sink" "from = client" \
    "[upstream bulk]" "listen = 127.0.0.1:$UBULK" "service = bulk" "from = client"
mesh_conf n2 "[proxy]" "inbound = 127.0.0.1:${MESH_IN[n2]}" \
    "[service echo]" "port = $ECHO" "check = tcp" "check_interval = 1s" "check_timeout = 500ms" \
    "healthy_threshold = 1" \
    "[service sink]" "port = $SINK" "check = tcp" "check_interval = 1s" "check_timeout = 500ms" \
    "healthy_threshold = 1" \
    "[service bulk]" "port = $BULK" "check = tcp" "check_interval = 1s" "check_timeout = 500ms" \
    "healthy_threshold = 1"
for n in n1 n2; do mesh_start "$n"; done
wait_for 300 0.1 mesh_healthy n1 echo n2 || die "echo@n2 not passing at n1"
wait_for 300 0.1 mesh_healthy n1 sink n2 || die "sink@n2 not passing at n1"
wait_for 300 0.1 mesh_healthy n1 bulk n2 || die "bulk@n2 not passing at n1"
probe() { timeout 30 python3 "$PX_PEER" probe 127.0.0.1 "$1" >"$T/probe.json" 2>&1; }
wait_for 50 0.1 probe "$ULIM" || die "no call through lim: $(cat "$T/probe.json")"

# ---- max_connections ----
wait_for 100 0.05 px_stat_eq n1 up:lim active 0 || fail "lim: the first probe still active"
python3 "$PX_PEER" hold 127.0.0.1 "$ULIM" 5 "$T/release" >"$T/hold.json" 2>&1 &
HOLD=$!
PIDS+=("$HOLD")
wait_for 300 0.1 grep -q '"held": 5}' "$T/hold.json" && pass "5 connections open through lim, each echoed" ||
    fail "holding 5: $(cat "$T/hold.json")"
check "n1: lim has 5 active" px_stat_eq n1 up:lim active 5
O0=$(px_stat n1 up:lim overflow)
probe "$ULIM" && fail "the 6th connection was echoed: $(cat "$T/probe.json")" ||
    pass "the 6th connection is refused at once: $(cat "$T/probe.json")"
check "...with a reset or an EOF, no data" grep -Eq '"result": "(reset|eof)", "got": 0' "$T/probe.json"
check "...counted as overflow ($O0 before)" px_stat_eq n1 up:lim overflow $((O0 + 1))
check "n1's log says why" grep -q "upstream lim: refused: max_connections (5 open" "$T/n1.log"
check "the 5 held are still 5 active" px_stat_eq n1 up:lim active 5
touch "$T/release"
wait "$HOLD" || fail "hold exited $?"
wait_for 100 0.05 px_stat_eq n1 up:lim active 0 && pass "the 5 closed: none active" || fail "lim: still active after closing"
timeout 60 python3 "$PX_PEER" many 127.0.0.1 "$ULIM" 5 >"$T/many.json" 2>&1 &&
    pass "then 5 at once pass again ($(cat "$T/many.json"))" || fail "5 after closing: $(cat "$T/many.json")"
check "no new overflow" px_stat_eq n1 up:lim overflow $((O0 + 1))

# ---- idle_timeout ----
I0=$(px_stat n1 up:idle ends.idle)
timeout 60 python3 "$PX_PEER" idle 127.0.0.1 "$UIDLE" 30 >"$T/idle.json" 2>&1 &&
    pass "a silent connection through idle (idle_timeout = 2s) is closed by weft: $(cat "$T/idle.json")" ||
    fail "idle: $(cat "$T/idle.json")"
wait_for 100 0.05 px_stat_ge n1 up:idle ends.idle $((I0 + 1)) && pass "...counted as ends.idle" ||
    fail "idle end not counted ($I0 before)"

# ---- slow reader, fast writer ----
LIMIT_KB=$((32 * 1024))
# push_sampled UPSTREAM SERVICE BYTES SECONDS: px_peer push through
# UPSTREAM (stopping after SECONDS), sampling both agents' VmRSS every 0.5 s
# while it runs (at most 600 samples). Sets SAMPLES, OVER (samples past
# start + LIMIT_KB), B_FIRST / B_LAST (n2's inbound bytes_in for SERVICE at
# the first sample and after the push); the push's JSON in $T/push-UPSTREAM.json.
push_sampled() {
    local up=$1 svc=$2 port
    declare -gA R0 RMAX
    local n r i
    for n in n1 n2; do
        R0[$n]=$(rss_kb "${MESH_PID[$n]}")
        RMAX[$n]=${R0[$n]}
    done
    port=$(px_stat n1 "up:$up" listen)
    timeout $(($4 + 120)) python3 "$PX_PEER" push 127.0.0.1 "${port##*:}" "$3" "$4" >"$T/push-$up.json" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    SAMPLES=0 OVER=0 B_FIRST=
    for ((i = 0; i < 600; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        for n in n1 n2; do
            r=$(rss_kb "${MESH_PID[$n]}")
            [ "$r" -le "${RMAX[$n]}" ] || RMAX[$n]=$r
            if [ "$r" -gt $((R0[$n] + LIMIT_KB)) ]; then
                OVER=$((OVER + 1))
                [ "$OVER" -gt 5 ] || log "$n: VmRSS $r kB > ${R0[$n]} + $LIMIT_KB kB"
            fi
        done
        [ -n "$B_FIRST" ] || B_FIRST=$(px_stat n2 "in:$svc" bytes_in)
        SAMPLES=$((SAMPLES + 1))
        sleep 0.5
    done
    wait "$pid" || fail "push through $up exited $?: $(cat "$T/push-$up.json")"
    B_LAST=$(px_stat n2 "in:$svc" bytes_in)
    log "push through $up: $(cat "$T/push-$up.json"); $SAMPLES samples"
    for n in n1 n2; do
        log "$n: VmRSS before ${R0[$n]} kB, max during the push ${RMAX[$n]} kB (+$((RMAX[$n] - R0[$n])) kB)"
    done
}
# 1 MB/s: the writer wants 1 GB in, the reader cannot take it; 30 s.
push_sampled sink sink 1000000000 30
check "1 MB/s reader: the push ran (at least 10 samples: $SAMPLES)" test "$SAMPLES" -ge 10
check "1 MB/s reader: both agents' VmRSS stayed under before + 32 MiB in every sample" test "$OVER" = 0
check "1 MB/s reader: it kept receiving during the push ($B_FIRST -> $B_LAST bytes at n2)" \
    test "$B_LAST" -gt $((B_FIRST + 5000000))
check "1 MB/s reader: the writer was held back (it did not get 1 GB in)" grep -q '"done": false' "$T/push-sink.json"
# 25 MB/s: slower than the mesh (about 40 MB/s one way under ASan here),
# so backpressure still holds the writer, and the whole 1 GB goes through.
push_sampled bulk bulk 1000000000 240
check "25 MB/s reader: the whole 1 GB was pushed" grep -q '"done": true' "$T/push-bulk.json"
check "25 MB/s reader: both agents' VmRSS stayed under before + 32 MiB in every sample ($SAMPLES)" \
    test "$OVER" = 0
wait_for 300 0.1 px_stat_eq n2 in:bulk bytes_in 1000000000 &&
    pass "25 MB/s reader: n2 relayed exactly 1000000000 bytes to it" ||
    fail "25 MB/s reader: n2 relayed $(px_stat n2 in:bulk bytes_in) bytes"
check "no agent logged a BUG or a sanitizer report" bash -c \
    '! grep -hE "BUG|AddressSanitizer|runtime error" "$0" "$1"' "$T/n1.log" "$T/n2.log"
finish
