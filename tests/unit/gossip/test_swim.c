/*
 * swim core: one node ("me", 10.0.0.1:7946) driven by hand with synthetic
 * times and packets; everything it sends is decoded back with the wire
 * layer (ml_packet_walk), so these tests also check what goes on the wire.
 *
 *   test  ──alive/suspect/dead/ack/nack/ping──▶  swim "me"  ──actions──▶  test
 *
 * Members are "m1".."m9" at 10.0.0.11.. (added with alive messages).
 * Periodic push/pull is off (interval 0) so only datagrams appear.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/ml_msg.h"
#include "gossip/swim.h"

/* --- what the node sent, decoded --- */

struct seen {
    enum ml_type type;
    struct swim_addr to;
    uint32_t seq;
    uint32_t inc;
    bool nack;
    char node[ML_NAME_MAX + 1];
    char from[ML_NAME_MAX + 1];
};

#define SEEN_MAX 4096
static struct seen seen[SEEN_MAX];
static size_t nseen;
static const struct swim_addr *cur_to;

static int collect(void *ctx, enum ml_type t, const uint8_t *b, size_t len, struct weft_err *e)
{
    struct seen *s = &seen[nseen];
    assert_true(nseen < SEEN_MAX);
    memset(s, 0, sizeof(*s));
    s->type = t;
    s->to = *cur_to;
    switch (t) {
    case ML_PING: {
        struct ml_ping p;
        assert_int_equal(ml_ping_decode(b, len, &p, e), 0);
        s->seq = p.seq_no;
        strcpy(s->node, p.node);
        break;
    }
    case ML_INDIRECT_PING: {
        struct ml_indirect_ping p;
        assert_int_equal(ml_indirect_ping_decode(b, len, &p, e), 0);
        s->seq = p.seq_no;
        s->nack = p.nack;
        strcpy(s->node, p.node);
        break;
    }
    case ML_ACK: {
        struct ml_ack a;
        assert_int_equal(ml_ack_decode(b, len, &a, e), 0);
        s->seq = a.seq_no;
        break;
    }
    case ML_NACK: {
        struct ml_nack a;
        assert_int_equal(ml_nack_decode(b, len, &a, e), 0);
        s->seq = a.seq_no;
        break;
    }
    case ML_ALIVE: {
        struct ml_alive a;
        assert_int_equal(ml_alive_decode(b, len, &a, e), 0);
        s->inc = a.incarnation;
        strcpy(s->node, a.node);
        break;
    }
    case ML_SUSPECT:
    case ML_DEAD: {
        struct ml_suspect m;
        assert_int_equal(ml_suspect_decode(b, len, &m, e), 0);
        s->inc = m.incarnation;
        strcpy(s->node, m.node);
        strcpy(s->from, m.from);
        break;
    }
    default:
        fail_msg("unexpected message type %d", t);
    }
    nseen++;
    return 0;
}

static struct swim_actions act;

/* Decode every datagram of act into seen[] (appending). */
static void absorb(void)
{
    for (size_t i = 0; i < act.npkt; i++) {
        struct weft_err e = {{0}};
        cur_to = &act.pkt[i].to;
        assert_true(act.pkt[i].len <= SWIM_UDP_MAX);
        if (ml_packet_walk(act.pkt[i].buf, act.pkt[i].len, collect, NULL, &e) < 0)
            fail_msg("bad packet from the core: %s", e.msg);
    }
}

static size_t count(enum ml_type t, const char *node)
{
    size_t c = 0;
    for (size_t i = 0; i < nseen; i++)
        c += seen[i].type == t && (!node || strcmp(seen[i].node, node) == 0);
    return c;
}

static const struct seen *find(enum ml_type t, const char *node)
{
    for (size_t i = 0; i < nseen; i++)
        if (seen[i].type == t && (!node || strcmp(seen[i].node, node) == 0))
            return &seen[i];
    return NULL;
}

/* --- building input --- */

static struct swim_addr maddr(unsigned i)
{
    struct swim_addr a = {{10, 0, 0, (uint8_t)(10 + i)}, 4, 7946};
    return a;
}

static struct swim *me;
static int64_t now;
static bool auto_ack = true; /* answer every ping "me" sends, at once */
static size_t ping_cursor;   /* next_ping(): pings before this index were taken */

static void deliver(const struct swim_addr *from, const uint8_t *b, size_t len)
{
    struct weft_err e = {{0}};
    assert_int_equal(swim_on_packet(me, now, from, b, len, &act, &e), 0);
    absorb();
}

static void send_alive(unsigned i, uint32_t inc)
{
    struct ml_alive a;
    uint8_t buf[2048];
    size_t len;
    memset(&a, 0, sizeof(a));
    a.incarnation = inc;
    snprintf(a.node, sizeof(a.node), "m%u", i);
    struct swim_addr ad = maddr(i);
    memcpy(a.addr, ad.ip, 4);
    a.addr_len = 4;
    a.port = ad.port;
    const uint8_t vsn[6] = {1, 5, 2, 2, 5, 4};
    memcpy(a.vsn, vsn, 6);
    a.vsn_len = 6;
    assert_int_equal(ml_alive_encode(&a, buf, sizeof(buf), &len, NULL), 0);
    deliver(&ad, buf, len);
}

static void send_susp(enum ml_type t, const char *node, uint32_t inc, const char *from)
{
    struct ml_suspect m;
    uint8_t buf[512];
    size_t len;
    memset(&m, 0, sizeof(m));
    m.incarnation = inc;
    strcpy(m.node, node);
    strcpy(m.from, from);
    assert_int_equal(ml_suspect_encode(t, &m, buf, sizeof(buf), &len, NULL), 0);
    struct swim_addr ad = maddr(1);
    deliver(&ad, buf, len);
}

static void send_ack(const struct swim_addr *from, uint32_t seq)
{
    struct ml_ack a = {.seq_no = seq};
    uint8_t buf[64];
    size_t len;
    assert_int_equal(ml_ack_encode(&a, buf, sizeof(buf), &len, NULL), 0);
    deliver(from, buf, len);
}

static void send_nack(const struct swim_addr *from, uint32_t seq)
{
    struct ml_nack a = {.seq_no = seq};
    uint8_t buf[64];
    size_t len;
    assert_int_equal(ml_nack_encode(&a, buf, sizeof(buf), &len, NULL), 0);
    deliver(from, buf, len);
}

/* Run the timers at time t; with auto_ack, every ping "me" sent is acked
 * at once by its target. Returns the index in seen[] where t's output starts. */
static size_t step(int64_t t)
{
    now = t;
    size_t start = nseen;
    swim_on_timer(me, now, &act);
    absorb();
    if (auto_ack) {
        size_t end = nseen;
        for (size_t i = start; i < end; i++)
            if (seen[i].type == ML_PING && strcmp(seen[i].node, "") != 0) {
                struct swim_addr to = seen[i].to;
                send_ack(&to, seen[i].seq);
            }
    }
    return start;
}

/* Step in 10 ms ticks through (now, t]. */
static void run_to(int64_t t)
{
    while (now < t)
        step(now + 10 < t ? now + 10 : t);
}

static enum swim_status status_of(const char *name)
{
    const struct swim_member *m = swim_member_find(me, name);
    assert_non_null(m);
    return swim_member_status(m);
}

static uint32_t inc_of(const char *name)
{
    return swim_member_incarnation(swim_member_find(me, name));
}

/* "me" with LAN timing and members m1..m<n>, all alive at incarnation 1. */
static int setup_n(void **state, unsigned n)
{
    struct swim_config cfg;
    struct weft_err e = {{0}};
    swim_config_profile(&cfg, SWIM_PROFILE_LAN);
    cfg.push_pull_interval_ms = 0;
    struct swim_addr a = {{10, 0, 0, 1}, 4, 7946};
    now = 0;
    nseen = 0;
    ping_cursor = 0;
    auto_ack = true;
    swim_actions_init(&act);
    me = swim_new(&cfg, "me", &a, 0, 42, now, &e);
    assert_non_null(me);
    for (unsigned i = 1; i <= n; i++)
        send_alive(i, 1);
    assert_int_equal(swim_member_count(me), n + 1);
    return 0;
}

static int setup9(void **state)
{
    return setup_n(state, 9);
}

static int teardown(void **state)
{
    SWIM_FREE(me);
    swim_actions_deinit(&act);
    return 0;
}

/* --- the formulas --- */

static void test_formulas(void **state)
{
    /* suspicionTimeout: 4 * max(1, log10 n) * 1 s, Go's 3 decimals. */
    assert_int_equal(swim_suspicion_min_ms(4, 1, 1000), 4000);
    assert_int_equal(swim_suspicion_min_ms(4, 10, 1000), 4000);
    assert_int_equal(swim_suspicion_min_ms(4, 100, 1000), 8000);
    assert_int_equal(swim_suspicion_min_ms(4, 500, 1000), 10792); /* log10 500 = 2.698.. */
    assert_int_equal(swim_suspicion_min_ms(6, 1000, 5000), 90000);
    /* remainingSuspicionTime, min 4 s, max 24 s, k = 2. */
    assert_int_equal(swim_suspicion_timeout_ms(0, 2, 4000, 24000), 24000);
    assert_int_equal(swim_suspicion_timeout_ms(1, 2, 4000, 24000), 11381);
    assert_int_equal(swim_suspicion_timeout_ms(2, 2, 4000, 24000), 4000);
    assert_int_equal(swim_suspicion_timeout_ms(0, 0, 4000, 24000), 4000);
    /* retransmitLimit: 4 * ceil(log10(n + 1)). */
    assert_int_equal(swim_retransmit_limit(4, 1), 4);
    assert_int_equal(swim_retransmit_limit(4, 9), 4);
    assert_int_equal(swim_retransmit_limit(4, 10), 8);
    assert_int_equal(swim_retransmit_limit(4, 99), 8);
    assert_int_equal(swim_retransmit_limit(4, 100), 12);
    /* pushPullScale above 32 nodes. */
    assert_int_equal(swim_push_pull_scale_ms(30000, 32), 30000);
    assert_int_equal(swim_push_pull_scale_ms(30000, 33), 60000);
    assert_int_equal(swim_push_pull_scale_ms(30000, 64), 60000);
    assert_int_equal(swim_push_pull_scale_ms(30000, 65), 90000);
}

static void test_profiles(void **state)
{
    struct swim_config c;
    enum swim_profile p;
    assert_int_equal(swim_profile_parse("wan", &p), 0);
    assert_int_equal(p, SWIM_PROFILE_WAN);
    assert_int_equal(swim_profile_parse("bogus", &p), -1);
    swim_config_profile(&c, SWIM_PROFILE_LAN);
    assert_int_equal(c.probe_interval_ms, 1000);
    assert_int_equal(c.probe_timeout_ms, 500);
    assert_int_equal(c.suspicion_mult, 4);
    assert_int_equal(c.gossip_interval_ms, 200);
    swim_config_profile(&c, SWIM_PROFILE_WAN);
    assert_int_equal(c.probe_interval_ms, 5000);
    assert_int_equal(c.probe_timeout_ms, 3000);
    assert_int_equal(c.suspicion_mult, 6);
    assert_int_equal(c.gossip_nodes, 4);
    swim_config_profile(&c, SWIM_PROFILE_LOCAL);
    assert_int_equal(c.probe_timeout_ms, 200);
    assert_int_equal(c.indirect_checks, 1);
    assert_int_equal(c.suspicion_mult, 3);
    swim_config_profile(&c, SWIM_PROFILE_LOSSY);
    assert_int_equal(c.indirect_checks, 5);
    assert_int_equal(swim_config_check(&c, NULL), 0);
    c.probe_timeout_ms = c.probe_interval_ms;
    assert_int_equal(swim_config_check(&c, NULL), -1);
}

/* --- probing --- */

/* The next probe ping "me" sends (one already sent and not yet taken
 * first), stepping time in 10 ms ticks. */

static struct seen next_ping(void)
{
    if (ping_cursor > nseen)
        ping_cursor = nseen;
    for (int i = 0; i < 1000; i++) {
        for (; ping_cursor < nseen; ping_cursor++)
            if (seen[ping_cursor].type == ML_PING)
                return seen[ping_cursor++];
        step(now + 10);
    }
    fail_msg("no probe");
    struct seen none = {0};
    return none;
}

static void test_probe_round_robin(void **state)
{
    /* Two full passes: each member exactly once per pass (the order is
     * reshuffled in between). */
    for (int pass = 0; pass < 2; pass++) {
        unsigned hits[10] = {0};
        for (int k = 0; k < 9; k++) {
            struct seen p = next_ping();
            unsigned idx = 0;
            assert_int_equal(sscanf(p.node, "m%u", &idx), 1);
            assert_true(idx >= 1 && idx <= 9);
            hits[idx]++;
        }
        for (unsigned i = 1; i <= 9; i++)
            assert_int_equal(hits[i], 1);
    }
    assert_int_equal(swim_counters(me)->probe_acks, 18);
    assert_int_equal(swim_awareness(me), 0);
}

static void test_probe_indirect_and_nack(void **state)
{
    auto_ack = false;
    struct seen p = next_ping();
    int64_t t0 = now;
    /* No ack: at ProbeTimeout, k = 3 indirect pings with the same seq, to
     * three different alive members other than the target, asking for nacks. */
    size_t s0 = step(t0 + 499);
    assert_int_equal(count(ML_INDIRECT_PING, NULL), 0);
    s0 = step(t0 + 500);
    const struct seen *ind[3];
    size_t ni = 0;
    for (size_t k = s0; k < nseen; k++)
        if (seen[k].type == ML_INDIRECT_PING) {
            assert_true(ni < 3);
            ind[ni++] = &seen[k];
        }
    assert_int_equal(ni, 3);
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(ind[k]->seq, p.seq);
        assert_string_equal(ind[k]->node, p.node);
        assert_true(ind[k]->nack);
        assert_int_not_equal(ind[k]->to.ip[3], p.to.ip[3]);
        for (size_t j = 0; j < k; j++)
            assert_int_not_equal(ind[k]->to.ip[3], ind[j]->to.ip[3]);
    }
    /* One relay answers with a nack, two stay silent. */
    struct swim_addr r0 = ind[0]->to;
    send_nack(&r0, p.seq);
    assert_int_equal(swim_counters(me)->nacks_received, 1);
    /* At the end of the probe interval: suspect, and the health score goes
     * up by the 2 missing nacks. */
    step(t0 + 999);
    assert_int_equal(status_of(p.node), SWIM_ALIVE);
    step(t0 + 1000);
    assert_int_equal(status_of(p.node), SWIM_SUSPECT);
    assert_int_equal(swim_awareness(me), 2);
    assert_int_equal(swim_probe_interval(me), 3000);
}

/*
 * memberlist probeNode's TCP fallback: at ProbeTimeout, alongside the
 * indirect pings, the same ping (same seq, same target name) goes out as a
 * stream action with the probe's deadline. A TCP ack with that seq on that
 * conn keeps the target from being suspected at the deadline; a wrong seq,
 * a wrong conn or a failure (NULL) does not. Without it: suspect.
 */
static void test_probe_tcp_fallback(void **state)
{
    auto_ack = false;
    struct seen p = next_ping();
    int64_t t0 = now;
    step(t0 + 499);
    assert_int_equal(act.nstream, 0);
    step(t0 + 500);
    assert_int_equal(count(ML_INDIRECT_PING, NULL), 3);
    assert_int_equal(act.nstream, 1);
    const struct swim_stream *st = &act.stream[0];
    assert_true(st->ping);
    assert_false(st->reply);
    assert_int_equal(st->to.ip[3], p.to.ip[3]);
    assert_int_equal(st->deadline_ms, t0 + 1000);
    assert_int_equal(st->buf[0], ML_PING);
    struct ml_ping pg;
    assert_int_equal(ml_ping_decode(st->buf + 1, st->len - 1, &pg, NULL), 0);
    assert_int_equal(pg.seq_no, p.seq);
    assert_string_equal(pg.node, p.node);
    uint64_t conn = st->conn;
    assert_int_equal(swim_counters(me)->tcp_pings, 1);
    uint8_t buf[64];
    size_t len;
    /* Ignored: a failure report, a wrong seq, a wrong conn, not an ack. */
    swim_on_tcp_ping(me, now, conn, NULL, 0, &act);
    struct ml_ack a = {.seq_no = p.seq + 1};
    assert_int_equal(ml_ack_encode(&a, buf, sizeof(buf), &len, NULL), 0);
    swim_on_tcp_ping(me, now, conn, buf, len, &act);
    a.seq_no = p.seq;
    assert_int_equal(ml_ack_encode(&a, buf, sizeof(buf), &len, NULL), 0);
    swim_on_tcp_ping(me, now, conn + 1, buf, len, &act);
    uint8_t junk[2] = {ML_ACK, 0xc1};
    swim_on_tcp_ping(me, now, conn, junk, sizeof(junk), &act);
    assert_int_equal(swim_counters(me)->tcp_ping_acks, 0);
    /* The real ack: alive at the deadline, the health score unchanged. */
    swim_on_tcp_ping(me, now + 20, conn, buf, len, &act);
    assert_int_equal(swim_counters(me)->tcp_ping_acks, 1);
    step(t0 + 1000);
    assert_int_equal(status_of(p.node), SWIM_ALIVE);
    assert_int_equal(swim_counters(me)->tcp_ping_saves, 1);
    assert_int_equal(swim_counters(me)->suspects, 0);
    assert_int_equal(swim_awareness(me), 0);
    /* A late ack for that finished probe changes nothing. */
    swim_on_tcp_ping(me, now, conn, buf, len, &act);
    assert_int_equal(swim_counters(me)->tcp_ping_acks, 1);
    /* The next probe, without any answer: suspected as before. */
    struct seen q = next_ping();
    int64_t t1 = now;
    step(t1 + 500);
    assert_int_equal(act.nstream, 1);
    assert_true(act.stream[0].ping);
    assert_int_not_equal(act.stream[0].conn, conn);
    step(t1 + 1000);
    assert_int_equal(status_of(q.node), SWIM_SUSPECT);
    assert_int_equal(swim_counters(me)->tcp_ping_saves, 1);
    /* A push/pull in the slot the ping used is not a ping. */
    struct swim_addr seed = maddr(1);
    swim_join(me, now, &seed, 1, &act);
    assert_int_equal(act.nstream, 1);
    assert_false(act.stream[0].ping);
    assert_int_equal(act.stream[0].buf[0], ML_PUSH_PULL);
}

/* DisableTcpPings: no stream at ProbeTimeout. */
static void test_probe_tcp_disabled(void **state)
{
    SWIM_FREE(me);
    swim_actions_deinit(&act);
    struct swim_config cfg;
    struct weft_err e = {{0}};
    swim_config_profile(&cfg, SWIM_PROFILE_LAN);
    cfg.push_pull_interval_ms = 0;
    cfg.disable_tcp_pings = true;
    struct swim_addr a = {{10, 0, 0, 1}, 4, 7946};
    swim_actions_init(&act);
    me = swim_new(&cfg, "me", &a, 0, 42, now, &e);
    assert_non_null(me);
    for (unsigned i = 1; i <= 9; i++)
        send_alive(i, 1);
    auto_ack = false;
    next_ping();
    int64_t t0 = now;
    step(t0 + 500);
    assert_int_equal(act.nstream, 0);
    assert_int_equal(swim_counters(me)->tcp_pings, 0);
}

static void test_probe_indirect_ack(void **state)
{
    auto_ack = false;
    struct seen p = next_ping();
    int64_t t0 = now;
    size_t s0 = step(t0 + 500);
    const struct seen *ind = NULL;
    for (size_t k = s0; k < nseen && !ind; k++)
        if (seen[k].type == ML_INDIRECT_PING)
            ind = &seen[k];
    assert_non_null(ind);
    /* The relay forwards the target's ack with our seq: the probe succeeds. */
    struct swim_addr r = ind->to;
    now = t0 + 700;
    send_ack(&r, p.seq);
    step(t0 + 2000);
    assert_int_equal(status_of(p.node), SWIM_ALIVE);
    assert_int_equal(swim_awareness(me), 0);
    assert_int_equal(swim_counters(me)->probe_acks, 1);
}

static void test_awareness_scales_probe(void **state)
{
    /* Failing probes with no relay able to nack: +1 each, up to max - 1 = 7. */
    auto_ack = false;
    unsigned expect = 0;
    for (int i = 0; i < 3; i++) {
        struct seen p = next_ping();
        int64_t t0 = now;
        int64_t interval = swim_probe_interval(me);
        assert_int_equal(interval, 1000 * (int64_t)(expect + 1));
        /* Relays nack: only the missing nacks count (3 here). */
        step(t0 + interval - 1);
        assert_int_equal(status_of(p.node), SWIM_ALIVE);
        step(t0 + interval);
        assert_int_equal(status_of(p.node), SWIM_SUSPECT);
        expect = expect + 3 > 7 ? 7 : expect + 3;
        assert_int_equal(swim_awareness(me), expect);
    }
    assert_int_equal(swim_probe_interval(me), 8000);
    /* Acks bring it down by one per successful probe. */
    struct seen pending = next_ping(); /* sent as the last failure ended */
    send_ack(&pending.to, pending.seq);
    auto_ack = true;
    for (int i = 0; i < 2; i++)
        next_ping();
    assert_int_equal(swim_awareness(me), 4);
    /* Being suspected ourselves raises it (refute). */
    send_susp(ML_SUSPECT, "me", swim_incarnation(me), "m1");
    assert_int_equal(swim_awareness(me), 5);
}

/* --- suspicion timing --- */

static void test_suspect_to_dead_no_confirm(void **state)
{
    /* n = 10: k = 4 - 2 = 2; min = 4 s, max = 6 * min = 24 s. */
    now = 100;
    send_susp(ML_SUSPECT, "m5", 1, "m1");
    int64_t t0 = now;
    assert_int_equal(status_of("m5"), SWIM_SUSPECT);
    run_to(t0 + 23999);
    assert_int_equal(status_of("m5"), SWIM_SUSPECT);
    step(t0 + 24000);
    assert_int_equal(status_of("m5"), SWIM_DEAD);
    /* ... and we told everyone: a dead about m5 from us went out. */
    run_to(now + 1000);
    const struct seen *d = find(ML_DEAD, "m5");
    assert_non_null(d);
    assert_string_equal(d->from, "me");
    assert_int_equal(swim_counters(me)->deaths, 1);
}

static void test_suspect_to_dead_confirmed(void **state)
{
    now = 100;
    send_susp(ML_SUSPECT, "m5", 1, "m1");
    int64_t t0 = now;
    /* The accuser again: not independent, no change. */
    now = t0 + 500;
    send_susp(ML_SUSPECT, "m5", 1, "m1");
    /* A second accuser at +1 s: 1 of 2 confirmations -> 11.381 s. */
    now = t0 + 1000;
    send_susp(ML_SUSPECT, "m5", 1, "m2");
    run_to(t0 + 11380);
    assert_int_equal(status_of("m5"), SWIM_SUSPECT);
    step(t0 + 11381);
    assert_int_equal(status_of("m5"), SWIM_DEAD);
}

static void test_suspect_two_confirmations(void **state)
{
    now = 100;
    send_susp(ML_SUSPECT, "m5", 1, "m1");
    int64_t t0 = now;
    now = t0 + 10;
    send_susp(ML_SUSPECT, "m5", 1, "m2");
    now = t0 + 20;
    send_susp(ML_SUSPECT, "m5", 1, "m3");
    /* k reached: the minimum, 4 s after the suspicion started. */
    run_to(t0 + 3999);
    assert_int_equal(status_of("m5"), SWIM_SUSPECT);
    step(t0 + 4000);
    assert_int_equal(status_of("m5"), SWIM_DEAD);
}

static void test_buddy_probe(void **state)
{
    /* A suspect is probed with ping + suspect in one datagram, so it
     * learns of the suspicion at once. */
    now = 100;
    send_susp(ML_SUSPECT, "m5", 1, "m1");
    for (int i = 0; i < 3000; i++) {
        size_t s0 = step(now + 10);
        for (size_t k = s0; k < nseen; k++) {
            if (seen[k].type != ML_PING || strcmp(seen[k].node, "m5") != 0)
                continue;
            assert_true(k + 1 < nseen);
            assert_int_equal(seen[k + 1].type, ML_SUSPECT);
            assert_string_equal(seen[k + 1].node, "m5");
            assert_string_equal(seen[k + 1].from, "me");
            assert_int_equal(seen[k + 1].to.ip[3], seen[k].to.ip[3]);
            return;
        }
    }
    fail_msg("m5 was never probed");
}

static void test_suspect_cleared_by_alive(void **state)
{
    now = 100;
    send_susp(ML_SUSPECT, "m5", 1, "m1");
    /* The same incarnation does not clear it; a higher one does. */
    send_alive(5, 1);
    assert_int_equal(status_of("m5"), SWIM_SUSPECT);
    send_alive(5, 2);
    assert_int_equal(status_of("m5"), SWIM_ALIVE);
    run_to(100 + 30000);
    assert_int_equal(status_of("m5"), SWIM_ALIVE);
}

static void test_old_news_ignored(void **state)
{
    send_alive(3, 5);
    assert_int_equal(inc_of("m3"), 5);
    send_alive(3, 4);
    assert_int_equal(inc_of("m3"), 5);
    send_susp(ML_SUSPECT, "m3", 4, "m1");
    assert_int_equal(status_of("m3"), SWIM_ALIVE);
    send_susp(ML_DEAD, "m3", 4, "m1");
    assert_int_equal(status_of("m3"), SWIM_ALIVE);
    send_susp(ML_SUSPECT, "m3", 5, "m1");
    assert_int_equal(status_of("m3"), SWIM_SUSPECT);
    send_alive(3, 5);
    assert_int_equal(status_of("m3"), SWIM_SUSPECT);
    send_alive(3, 6);
    assert_int_equal(status_of("m3"), SWIM_ALIVE);
    /* Unknown members: suspect/dead about them are ignored. */
    send_susp(ML_SUSPECT, "ghost", 9, "m1");
    assert_null(swim_member_find(me, "ghost"));
}

static void test_refute(void **state)
{
    uint32_t inc = swim_incarnation(me);
    assert_int_equal(inc, 1); /* started above the caller's 0 */
    send_susp(ML_SUSPECT, "me", inc, "m1");
    assert_int_equal(swim_incarnation(me), inc + 1);
    assert_int_equal(status_of("me"), SWIM_ALIVE);
    /* Accused with a higher incarnation: we go above it. */
    send_susp(ML_DEAD, "me", 7, "m2");
    assert_int_equal(swim_incarnation(me), 8);
    assert_int_equal(swim_counters(me)->refutes, 2);
    /* An older accusation is ignored. */
    send_susp(ML_SUSPECT, "me", 3, "m2");
    assert_int_equal(swim_incarnation(me), 8);
    /* The refutation is gossiped: alive about us at 8 (the 2 queued before it was invalidated). */
    nseen = 0;
    run_to(now + 1000);
    const struct seen *a = find(ML_ALIVE, "me");
    assert_non_null(a);
    assert_int_equal(a->inc, 8);
    for (size_t i = 0; i < nseen; i++)
        if (seen[i].type == ML_ALIVE && strcmp(seen[i].node, "me") == 0)
            assert_int_equal(seen[i].inc, 8);
}

static void test_incarnation_never_reused(void **state)
{
    struct swim_config cfg;
    swim_config_profile(&cfg, SWIM_PROFILE_LAN);
    struct swim_addr a = {{10, 0, 0, 2}, 4, 7946};
    struct swim *s = swim_new(&cfg, "other", &a, 41, 1, 0, NULL);
    assert_non_null(s);
    assert_int_equal(swim_incarnation(s), 42);
    swim_free(s);
    swim_free(NULL);
}

/* --- broadcasts --- */

static void drain(void)
{
    for (int i = 0; i < 200 && swim_bcast_count(me) > 0; i++)
        step(now + 200);
    assert_int_equal(swim_bcast_count(me), 0);
}

static void test_retransmit_limit(void **state)
{
    drain();
    /* n = 10: limit 4 * ceil(log10 11) = 8 transmissions. */
    send_alive(4, 9);
    assert_int_equal(swim_bcast_count(me), 1);
    nseen = 0;
    for (int i = 0; i < 100; i++)
        step(now + 200);
    size_t sent = 0;
    for (size_t i = 0; i < nseen; i++)
        sent += seen[i].type == ML_ALIVE && strcmp(seen[i].node, "m4") == 0 && seen[i].inc == 9;
    assert_int_equal(sent, 8);
    assert_int_equal(swim_bcast_count(me), 0);
}

static void test_invalidation(void **state)
{
    drain();
    send_alive(4, 9);
    send_susp(ML_SUSPECT, "m4", 9, "m2");
    /* One queued message about m4: the suspect replaced the alive. */
    assert_int_equal(swim_bcast_count(me), 1);
    nseen = 0;
    for (int i = 0; i < 100; i++)
        step(now + 200);
    assert_int_equal(count(ML_ALIVE, "m4"), 0);
    assert_true(count(ML_SUSPECT, "m4") >= 8);
}

/* --- answering others --- */

static void test_answers_ping_and_relays(void **state)
{
    drain();
    auto_ack = false;
    /* A ping for us: an ack to its SourceAddr. */
    struct ml_ping p;
    memset(&p, 0, sizeof(p));
    p.seq_no = 77;
    strcpy(p.node, "me");
    struct swim_addr src = maddr(3);
    memcpy(p.source_addr, src.ip, 4);
    p.source_addr_len = 4;
    p.source_port = 7946;
    strcpy(p.source_node, "m3");
    uint8_t buf[512];
    size_t len;
    assert_int_equal(ml_ping_encode(&p, buf, sizeof(buf), &len, NULL), 0);
    struct swim_addr other = maddr(8); /* arrives from elsewhere (NAT): SourceAddr wins */
    nseen = 0;
    deliver(&other, buf, len);
    const struct seen *a = find(ML_ACK, NULL);
    assert_non_null(a);
    assert_int_equal(a->seq, 77);
    assert_int_equal(a->to.ip[3], src.ip[3]);
    /* A ping for another name: no answer. */
    strcpy(p.node, "someone-else");
    assert_int_equal(ml_ping_encode(&p, buf, sizeof(buf), &len, NULL), 0);
    nseen = 0;
    deliver(&src, buf, len);
    assert_int_equal(count(ML_ACK, NULL), 0);

    /* An indirect ping: we ping the target with our own seq... */
    struct ml_indirect_ping ip;
    memset(&ip, 0, sizeof(ip));
    ip.seq_no = 555;
    struct swim_addr tgt = maddr(6);
    memcpy(ip.target, tgt.ip, 4);
    ip.target_len = 4;
    ip.port = 7946;
    strcpy(ip.node, "m6");
    ip.nack = true;
    assert_int_equal(ml_indirect_ping_encode(&ip, buf, sizeof(buf), &len, NULL), 0);
    nseen = 0;
    deliver(&src, buf, len);
    const struct seen *rp = find(ML_PING, "m6");
    assert_non_null(rp);
    assert_int_equal(rp->to.ip[3], tgt.ip[3]);
    uint32_t our = rp->seq;
    /* ...and forward its ack with the requester's seq. */
    nseen = 0;
    send_ack(&tgt, our);
    a = find(ML_ACK, NULL);
    assert_non_null(a);
    assert_int_equal(a->seq, 555);
    assert_int_equal(a->to.ip[3], src.ip[3]);

    /* No ack from the target within ProbeTimeout: a nack. */
    ip.seq_no = 556;
    assert_int_equal(ml_indirect_ping_encode(&ip, buf, sizeof(buf), &len, NULL), 0);
    deliver(&src, buf, len);
    int64_t t0 = now;
    nseen = 0;
    step(t0 + 499);
    assert_null(find(ML_NACK, NULL));
    step(t0 + 500);
    const struct seen *nk = find(ML_NACK, NULL);
    assert_non_null(nk);
    assert_int_equal(nk->seq, 556);
    assert_int_equal(swim_counters(me)->relays, 2);
}

static void test_garbage_counted(void **state)
{
    const uint8_t junk[] = {ML_ALIVE, 0xc1, 0xff, 0x00};
    struct weft_err e = {{0}};
    struct swim_addr from = maddr(1);
    assert_int_equal(swim_on_packet(me, now, &from, junk, sizeof(junk), &act, &e), -1);
    assert_true(err_is_set(&e));
    assert_int_equal(swim_counters(me)->bad_packets, 1);
    assert_int_equal(swim_on_packet(me, now, &from, junk, 0, &act, &e), -1);
    assert_int_equal(swim_on_stream(me, now, &from, false, 1, junk, sizeof(junk), &act, &e), -1);
    assert_int_equal(swim_member_count(me), 10);
}

/* --- leave --- */

static void test_leave_is_left_not_failed(void **state)
{
    send_susp(ML_DEAD, "m2", 1, "m2");
    assert_int_equal(status_of("m2"), SWIM_LEFT);
    send_susp(ML_DEAD, "m3", 1, "m1");
    assert_int_equal(status_of("m3"), SWIM_DEAD);
    assert_int_equal(swim_counters(me)->lefts, 1);
    assert_int_equal(swim_counters(me)->deaths, 1);
    /* Neither is probed any more, and they go from the table after
     * GossipToTheDeadTime (at the end of a probe pass). */
    run_to(now + 45000);
    assert_null(swim_member_find(me, "m2"));
    assert_null(swim_member_find(me, "m3"));
    assert_int_equal(swim_member_count(me), 8);
}

static void test_own_leave(void **state)
{
    drain();
    nseen = 0;
    swim_leave(me, now, &act);
    assert_int_equal(status_of("me"), SWIM_LEFT);
    assert_false(swim_leave_is_sent(me));
    run_to(now + 400);
    assert_true(swim_leave_is_sent(me));
    const struct seen *d = find(ML_DEAD, "me");
    assert_non_null(d);
    assert_string_equal(d->from, "me");
    /* No more probes after the leave; a suspicion of us is not refuted. */
    nseen = 0;
    run_to(now + 5000);
    assert_int_equal(count(ML_PING, NULL), 0);
    uint32_t inc = swim_incarnation(me);
    send_susp(ML_SUSPECT, "me", inc, "m1");
    assert_int_equal(swim_incarnation(me), inc);
}

/* --- push/pull (join) --- */

static void test_join_push_pull(void **state)
{
    /* Our join opens one push/pull (Join = true) per seed, and the reply's
     * members are merged: alive -> alive, dead -> suspect, left -> left. */
    struct swim_addr seed = maddr(20);
    swim_join(me, now, &seed, 1, &act);
    assert_int_equal(act.nstream, 1);
    assert_true(act.stream[0].join);
    assert_false(act.stream[0].reply);
    struct ml_push_pull_header h;
    static struct ml_push_node nodes[32];
    const uint8_t *user;
    assert_int_equal(ml_push_pull_decode(act.stream[0].buf + 1, act.stream[0].len - 1, &h, nodes,
                                         32, &user, NULL),
                     0);
    assert_int_equal(h.nodes, 10);
    uint64_t conn = act.stream[0].conn;
    memset(nodes, 0, sizeof(nodes));
    const char *names[3] = {"p1", "p2", "m1"};
    const uint8_t states[3] = {ML_STATE_ALIVE, ML_STATE_LEFT, ML_STATE_DEAD};
    for (int i = 0; i < 3; i++) {
        strcpy(nodes[i].name, names[i]);
        nodes[i].addr[0] = 10;
        nodes[i].addr[3] = (uint8_t)(100 + i);
        nodes[i].addr_len = 4;
        nodes[i].port = 7946;
        nodes[i].incarnation = i == 1 ? 3 : 1;
        nodes[i].state = states[i];
    }
    /* p2 must be known before its "left" means anything. */
    nodes[1].state = ML_STATE_ALIVE;
    nodes[1].incarnation = 2;
    uint8_t buf[4096];
    size_t len;
    assert_int_equal(ml_push_pull_encode(true, nodes, 3, NULL, 0, buf, sizeof(buf), &len, NULL), 0);
    assert_int_equal(swim_on_stream(me, now, &seed, true, conn, buf, len, &act, NULL), 0);
    nodes[1].state = ML_STATE_LEFT;
    nodes[1].incarnation = 3;
    assert_int_equal(ml_push_pull_encode(true, nodes, 3, NULL, 0, buf, sizeof(buf), &len, NULL), 0);
    /* A request from a peer: we answer on its conn before merging. */
    assert_int_equal(swim_on_stream(me, now, &seed, false, 99, buf, len, &act, NULL), 0);
    assert_int_equal(act.nstream, 1);
    assert_true(act.stream[0].reply);
    assert_int_equal(act.stream[0].conn, 99);
    assert_int_equal(status_of("p1"), SWIM_ALIVE);
    assert_int_equal(status_of("p2"), SWIM_LEFT);
    assert_int_equal(status_of("m1"), SWIM_SUSPECT);
    swim_actions_reset(&act);
}

/* --- seeding (swim_seed_member): a restored table, no broadcast --- */

static unsigned seed_joins, seed_updates; /* notify_join, notify_update calls */

static void seed_on_join(void *arg, const struct swim_member *m)
{
    (void)arg;
    (void)m;
    seed_joins++;
}

static void seed_on_update(void *arg, const struct swim_member *m)
{
    (void)arg;
    (void)m;
    seed_updates++;
}

/* "me" alone, then m1..m9 seeded alive at incarnation 3 (not told by anyone). */
static int setup_seeded(void **state)
{
    assert_int_equal(setup_n(state, 0), 0);
    struct swim_delegate d = {.notify_join = seed_on_join, .notify_update = seed_on_update};
    swim_set_delegate(me, &d);
    seed_joins = seed_updates = 0;
    size_t q0 = swim_bcast_count(me);
    uint64_t v0 = swim_members_version(me);
    for (unsigned i = 1; i <= 9; i++) {
        char name[16];
        struct swim_addr a = maddr(i);
        struct weft_err e = {{0}};
        snprintf(name, sizeof(name), "m%u", i);
        assert_int_equal(swim_seed_member(me, now, name, &a, 3, NULL, 0, &e), 0);
    }
    /* Nothing queued: the table grew, the version moved, the layer above knows. */
    assert_int_equal(swim_bcast_count(me), q0);
    assert_true(swim_members_version(me) > v0);
    assert_int_equal(seed_joins, 9);
    assert_int_equal(seed_updates, 0);
    return 0;
}

static void test_seed_member(void **state)
{
    (void)state;
    assert_int_equal(swim_member_count(me), 10);
    assert_int_equal(swim_member_count_live(me), 10);
    for (unsigned i = 1; i <= 9; i++) {
        char name[16];
        snprintf(name, sizeof(name), "m%u", i);
        const struct swim_member *m = swim_member_find(me, name);
        assert_non_null(m);
        assert_int_equal(swim_member_status(m), SWIM_ALIVE);
        assert_int_equal(swim_member_incarnation(m), 3);
        assert_int_equal(swim_member_addr(m)->ip[3], 10 + i);
        assert_null(swim_member_meta(m, &(size_t){0}));
    }

    /* Probed like any member: two full passes, each once per pass, acked;
     * and over those 20 s nobody's alive but our own goes on the wire. */
    for (int pass = 0; pass < 2; pass++) {
        unsigned hits[10] = {0};
        for (int k = 0; k < 9; k++) {
            struct seen p = next_ping();
            unsigned idx = 0;
            assert_int_equal(sscanf(p.node, "m%u", &idx), 1);
            assert_true(idx >= 1 && idx <= 9);
            hits[idx]++;
        }
        for (unsigned i = 1; i <= 9; i++)
            assert_int_equal(hits[i], 1);
    }
    assert_int_equal(swim_counters(me)->probe_acks, 18);
    assert_int_equal(swim_counters(me)->suspects, 0);
    for (size_t i = 0; i < nseen; i++)
        if (seen[i].type == ML_ALIVE)
            assert_string_equal(seen[i].node, "me");

    /* A higher incarnation updates quietly; an equal or lower one is old news. */
    size_t q0 = swim_bcast_count(me);
    struct swim_addr moved = maddr(40);
    const uint8_t tags[3] = {1, 2, 3};
    assert_int_equal(swim_seed_member(me, now, "m1", &moved, 5, tags, 3, NULL), 0);
    const struct swim_member *m1 = swim_member_find(me, "m1");
    assert_int_equal(swim_member_incarnation(m1), 5);
    assert_int_equal(swim_member_addr(m1)->ip[3], 50);
    size_t ml = 0;
    assert_non_null(swim_member_meta(m1, &ml));
    assert_int_equal(ml, 3);
    struct swim_addr back = maddr(1);
    assert_int_equal(swim_seed_member(me, now, "m1", &back, 5, NULL, 0, NULL), 0);
    assert_int_equal(swim_member_addr(swim_member_find(me, "m1"))->ip[3], 50);
    assert_int_equal(swim_bcast_count(me), q0);
    assert_int_equal(seed_joins, 9); /* an update is not a join */
    assert_int_equal(seed_updates, 1);

    /* A seeded member is news like any other afterwards: a suspicion about
     * it applies (and a lower incarnation's does not). */
    send_susp(ML_SUSPECT, "m2", 2, "m3");
    assert_int_equal(status_of("m2"), SWIM_ALIVE);
    send_susp(ML_SUSPECT, "m2", 3, "m3");
    assert_int_equal(status_of("m2"), SWIM_SUSPECT);

    /* Refused: ourselves, an empty name, a bad address, too much meta. */
    struct weft_err e = {{0}};
    struct swim_addr a = maddr(30);
    assert_int_equal(swim_seed_member(me, now, "me", &a, 9, NULL, 0, &e), -1);
    assert_non_null(strstr(e.msg, "ourselves"));
    assert_int_equal(swim_seed_member(me, now, "", &a, 1, NULL, 0, &e), -1);
    struct swim_addr bad = a;
    bad.ip_len = 5;
    assert_int_equal(swim_seed_member(me, now, "m30", &bad, 1, NULL, 0, &e), -1);
    static uint8_t big[ML_META_MAX + 1];
    assert_int_equal(swim_seed_member(me, now, "m30", &a, 1, big, sizeof(big), &e), -1);
    assert_null(swim_member_find(me, "m30"));
    assert_int_equal(swim_member_count(me), 10);
}

/* --- memory: the table grows to use, push/pull sized from its header --- */

/* A push/pull stream message of n alive nodes "<prefix><i>" (malloc'd). */
static uint8_t *pp_alive(const char *prefix, unsigned first, unsigned n, size_t *len)
{
    struct ml_push_node *nodes = calloc(n ? n : 1, sizeof(*nodes));
    size_t cap = 64 + (size_t)n * 96;
    uint8_t *buf = malloc(cap);
    assert_non_null(nodes);
    assert_non_null(buf);
    for (unsigned i = 0; i < n; i++) {
        snprintf(nodes[i].name, sizeof(nodes[i].name), "%s%u", prefix, first + i);
        nodes[i].addr[0] = 10;
        nodes[i].addr[1] = 9;
        nodes[i].addr[2] = (uint8_t)((first + i) >> 8);
        nodes[i].addr[3] = (uint8_t)(first + i);
        nodes[i].addr_len = 4;
        nodes[i].port = 7946;
        nodes[i].incarnation = 1;
        nodes[i].state = ML_STATE_ALIVE;
        nodes[i].vsn_len = ML_VSN_LEN;
    }
    assert_int_equal(ml_push_pull_encode(false, nodes, n, NULL, 0, buf, cap, len, NULL), 0);
    free(nodes);
    return buf;
}

static void test_table_sized_to_use(void **state)
{
    (void)state;
    struct swim_config cfg;
    struct weft_err e = {{0}};
    struct swim_actions out;
    struct swim_addr a = {{10, 0, 0, 1}, 4, 7946}, from = {{10, 9, 0, 1}, 4, 7946};
    swim_config_profile(&cfg, SWIM_PROFILE_LAN);
    cfg.push_pull_interval_ms = 0;
    cfg.members_max = 50;
    swim_actions_init(&out);
    struct swim *s = swim_new(&cfg, "me", &a, 0, 7, 0, &e);
    assert_non_null(s);
    uint64_t v0 = swim_members_version(s);
    size_t len;

    /* More nodes than members_max: refused before any merge, counted. */
    uint8_t *big = pp_alive("q", 0, 60, &len);
    assert_int_equal(swim_on_stream(s, 0, &from, true, 1, big, len, &out, &e), -1);
    assert_non_null(strstr(e.msg, "over the member limit 50"));
    assert_int_equal(swim_counters(s)->bad_packets, 1);
    assert_int_equal(swim_member_count(s), 1);
    assert_int_equal(swim_members_version(s), v0);
    free(big);

    /* 40 fit: the table grows past its first 16 slots, every name is found
     * through the rehashed index, and the version moved. */
    uint8_t *ok = pp_alive("q", 0, 40, &len);
    assert_int_equal(swim_on_stream(s, 0, &from, true, 2, ok, len, &out, &e), 0);
    free(ok);
    assert_int_equal(swim_member_count(s), 41);
    assert_int_equal(swim_member_count_live(s), 41);
    for (unsigned i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof(name), "q%u", i);
        const struct swim_member *m = swim_member_find(s, name);
        assert_non_null(m);
        assert_string_equal(swim_member_name(m), name);
        assert_int_equal(swim_member_addr(m)->ip[3], i);
    }
    assert_true(swim_members_version(s) > v0);

    /* 20 more: the cap (50, ourselves included) takes 9, drops 11. */
    uint8_t *more = pp_alive("q", 40, 20, &len);
    assert_int_equal(swim_on_stream(s, 0, &from, true, 3, more, len, &out, &e), 0);
    free(more);
    assert_int_equal(swim_member_count(s), 50);
    assert_int_equal(swim_counters(s)->members_dropped, 11);
    assert_null(swim_member_find(s, "q49"));

    /* Twelve suspects at once (the timer table grows past its first 8), one
     * refuted: the other eleven die when their timers run out. */
    for (unsigned i = 0; i < 12; i++) {
        struct ml_suspect m;
        uint8_t b[512];
        size_t bl;
        memset(&m, 0, sizeof(m));
        m.incarnation = 1;
        snprintf(m.node, sizeof(m.node), "q%u", i);
        snprintf(m.from, sizeof(m.from), "q%u", 20 + i);
        assert_int_equal(ml_suspect_encode(ML_SUSPECT, &m, b, sizeof(b), &bl, NULL), 0);
        assert_int_equal(swim_on_packet(s, 10, &from, b, bl, &out, NULL), 0);
    }
    assert_int_equal(swim_counters(s)->suspects, 12);
    assert_int_equal(swim_member_status(swim_member_find(s, "q3")), SWIM_SUSPECT);
    struct ml_alive al;
    uint8_t b[512];
    size_t bl;
    memset(&al, 0, sizeof(al));
    al.incarnation = 2;
    snprintf(al.node, sizeof(al.node), "q3");
    al.addr[0] = 10;
    al.addr_len = 4;
    al.port = 7946;
    assert_int_equal(ml_alive_encode(&al, b, sizeof(b), &bl, NULL), 0);
    assert_int_equal(swim_on_packet(s, 20, &from, b, bl, &out, NULL), 0);
    assert_int_equal(swim_member_status(swim_member_find(s, "q3")), SWIM_ALIVE);
    /* (Nobody answers our probes here, so others are suspected too: only
     * these twelve are checked.) */
    for (int64_t t = 100; t <= 60000; t += 100)
        swim_on_timer(s, t, &out);
    for (unsigned i = 0; i < 12; i++) {
        char name[16];
        snprintf(name, sizeof(name), "q%u", i);
        assert_int_equal(swim_member_status(swim_member_find(s, name)),
                         i == 3 ? SWIM_ALIVE : SWIM_DEAD);
    }
    assert_true(swim_counters(s)->deaths >= 11);
    swim_actions_deinit(&out);
    swim_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formulas),
        cmocka_unit_test(test_profiles),
        cmocka_unit_test(test_incarnation_never_reused),
        cmocka_unit_test(test_table_sized_to_use),
        cmocka_unit_test_setup_teardown(test_probe_round_robin, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_probe_indirect_and_nack, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_probe_indirect_ack, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_awareness_scales_probe, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_suspect_to_dead_no_confirm, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_suspect_to_dead_confirmed, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_suspect_two_confirmations, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_buddy_probe, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_suspect_cleared_by_alive, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_old_news_ignored, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_refute, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_retransmit_limit, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_invalidation, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_answers_ping_and_relays, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_probe_tcp_fallback, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_probe_tcp_disabled, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_counted, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_leave_is_left_not_failed, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_own_leave, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_join_push_pull, setup9, teardown),
        cmocka_unit_test_setup_teardown(test_seed_member, setup_seeded, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
