/*
 * A quiet cluster stays quiet: NN (8) SWIM cores, each with the Serf layer on
 * top (as gossip_net wires them), on a fake zero-delay network driven by a
 * fake clock. They join through node 0 (push/pull + Serf join intent, like
 * gossip_net_join), converge, and let the retransmit limits run out. Then,
 * over a window of several push/pull intervals with no loss and nothing new
 * to say, every broadcast queue (the core's and Serf's three) must stay
 * empty and no node may send a single gossip datagram: memberlist's gossip()
 * sends only while broadcasts are queued, so a converged cluster sends only
 * probes (ping/ack) and push/pulls. Counters, not time.
 *
 * Ownership: the network's datagram queue and stream copies are malloc'd
 * here and freed as they are delivered; nodes are torn down at the end.
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
#include "gossip/serf.h"
#include "gossip/serf_msg.h"
#include "gossip/swim.h"

#define NN 8
#define QMAX 8192

struct node {
    char name[8];
    struct swim_addr addr;
    struct swim *sw;
    struct serf *sf;
    struct keyring kr;
    struct swim_actions act;
    int64_t wake;
    uint64_t udp_sent; /* every datagram, probes included */
};

struct dgram {
    int from, to;
    bool stream, reply, join;
    uint64_t conn;
    size_t len;
    uint8_t *buf;
};

/* A request stream in flight: the global conn id maps back to its opener. */
struct pend {
    int from;
    uint64_t conn;
    bool join;
};

static struct node nodes[NN];
static struct dgram *q;
static size_t qhead, qtail;
static struct pend pends[QMAX];
static uint64_t next_gid = 1;
static int64_t now;

static struct swim_addr addr_of(int i)
{
    struct swim_addr a;
    memset(&a, 0, sizeof(a));
    a.ip[0] = 10;
    a.ip[3] = (uint8_t)(i + 1);
    a.ip_len = 4;
    a.port = 7946;
    return a;
}

static int index_of(const struct swim_addr *a)
{
    int i = a->ip[3] - 1;
    assert_true(i >= 0 && i < NN);
    return i;
}

static void enqueue(struct dgram d, const uint8_t *buf)
{
    assert_true(qtail - qhead < QMAX);
    d.buf = malloc(d.len);
    assert_non_null(d.buf);
    memcpy(d.buf, buf, d.len);
    q[qtail++ % QMAX] = d;
}

/* Perform what node i asked for (gossip_net's gnet_apply, on the fake net). */
static void apply(int i)
{
    struct node *n = &nodes[i];
    struct swim_actions *a = &n->act;
    for (size_t k = 0; k < a->npkt; k++) {
        struct dgram d = {i, index_of(&a->pkt[k].to), false, false, false, 0, a->pkt[k].len, NULL};
        n->udp_sent++;
        enqueue(d, a->pkt[k].buf);
    }
    for (size_t k = 0; k < a->nstream; k++) {
        const struct swim_stream *s = &a->stream[k];
        if (s->ping)
            continue; /* no loss here: a TCP fallback ping would be a bug */
        if (s->reply) {
            assert_true(s->conn < next_gid);
            const struct pend *p = &pends[s->conn % QMAX];
            struct dgram d = {i, p->from, true, true, p->join, p->conn, s->len, NULL};
            enqueue(d, s->buf);
        } else {
            uint64_t gid = next_gid++;
            pends[gid % QMAX] = (struct pend){i, s->conn, s->join};
            struct dgram d = {i, index_of(&s->to), true, false, s->join, gid, s->len, NULL};
            enqueue(d, s->buf);
        }
    }
    n->wake = a->wake_ms;
    swim_actions_reset(a);
    size_t nout;
    const struct serf_send *so = serf_outbox(n->sf, &nout);
    for (size_t k = 0; k < nout; k++) {
        struct dgram d = {i, index_of(&so[k].to), false, false, false, 0, so[k].len, NULL};
        n->udp_sent++;
        enqueue(d, so[k].buf);
    }
    serf_outbox_clear(n->sf);
    if (serf_wake(n->sf) < n->wake)
        n->wake = serf_wake(n->sf);
}

static void deliver(struct dgram *d)
{
    struct node *n = &nodes[d->to];
    struct weft_err e = {{0}};
    struct swim_addr from = addr_of(d->from);
    serf_tick(n->sf, now);
    if (d->stream)
        (void)swim_on_stream(n->sw, now, &from, d->reply, d->conn, d->buf, d->len, &n->act, &e);
    else
        (void)swim_on_packet(n->sw, now, &from, d->buf, d->len, &n->act, &e);
    apply(d->to);
    free(d->buf);
}

/* Run the cluster until `until` (fake ms): deliver everything due, then jump
 * to the earliest wake-up. Bounded by the time and by a step count. */
static void run_until(int64_t until)
{
    for (unsigned steps = 0; steps < 10000000; steps++) {
        while (qhead != qtail)
            deliver(&q[qhead++ % QMAX]);
        int64_t next = INT64_MAX;
        for (int i = 0; i < NN; i++)
            if (nodes[i].wake < next)
                next = nodes[i].wake;
        if (next > until) {
            now = until;
            return;
        }
        if (next > now)
            now = next;
        for (int i = 0; i < NN; i++) {
            if (nodes[i].wake > now)
                continue;
            serf_tick(nodes[i].sf, now);
            swim_on_timer(nodes[i].sw, now, &nodes[i].act);
            apply(i);
        }
    }
    fail_msg("run_until: too many steps");
}

static void node_init(int i)
{
    struct node *n = &nodes[i];
    struct swim_config c;
    struct weft_err e = {{0}};
    swim_config_profile(&c, SWIM_PROFILE_LAN);
    c.vsn[3] = 2;
    c.vsn[4] = 5;
    c.vsn[5] = 5;
    memset(n, 0, sizeof(*n));
    snprintf(n->name, sizeof(n->name), "n%d", i);
    n->addr = addr_of(i);
    keyring_init(&n->kr);
    swim_actions_init(&n->act);
    n->sw = swim_new(&c, n->name, &n->addr, 0, 100 + (uint64_t)i, now, &e);
    assert_non_null(n->sw);
    struct serf_tag tags[2] = {{"role", "weft"}, {"dc", "dc1"}};
    uint8_t meta[ML_META_MAX];
    size_t mlen;
    assert_int_equal(serf_tags_encode(tags, 2, meta, sizeof(meta), &mlen, &e), 0);
    assert_int_equal(swim_set_meta(n->sw, meta, mlen, &e), 0);
    struct serf_config sc;
    memset(&sc, 0, sizeof(sc));
    sc.name = n->name;
    sc.addr = n->addr;
    memcpy(sc.vsn, c.vsn, ML_VSN_LEN);
    sc.gossip_interval_ms = c.gossip_interval_ms;
    sc.retransmit_mult = c.retransmit_mult;
    sc.bcast_max = c.bcast_max;
    sc.members_max = c.members_max;
    sc.seed = 7 + (uint64_t)i;
    n->sf = serf_new(&sc, NULL, &n->kr, &e);
    assert_non_null(n->sf);
    serf_tick(n->sf, now);
    serf_set_tags(n->sf, tags, 2);
    struct swim_delegate d;
    serf_delegate(n->sf, &d);
    swim_set_delegate(n->sw, &d);
    swim_on_timer(n->sw, now, &n->act);
    apply(i);
}

/* gossip_net_join: push/pull to the seed, then Serf's join intent. */
static void node_join(int i, int seed)
{
    struct node *n = &nodes[i];
    struct swim_addr a = addr_of(seed);
    serf_tick(n->sf, now);
    serf_join_start(n->sf);
    swim_join(n->sw, now, &a, 1, &n->act);
    serf_join_intent(n->sf);
    apply(i);
}

static size_t queued(void)
{
    size_t t = 0;
    for (int i = 0; i < NN; i++)
        t += swim_bcast_count(nodes[i].sw) + serf_bcast_count(nodes[i].sf);
    return t;
}

static uint64_t gossip_sent(void)
{
    uint64_t t = 0;
    for (int i = 0; i < NN; i++)
        t += swim_counters(nodes[i].sw)->gossip_packets;
    return t;
}

static void test_quiet_after_convergence(void **state)
{
    (void)state;
    q = calloc(QMAX, sizeof(*q));
    assert_non_null(q);
    now = 1000;
    for (int i = 0; i < NN; i++)
        node_init(i);
    for (int i = 1; i < NN; i++)
        node_join(i, 0);
    /* Converge and let every retransmit limit run out: a minute is ~300
     * gossip rounds, far beyond 4 * ceil(log10(NN + 1)) = 4 transmits
     * (with NN = 100 the queues are empty ~6 s after the joins). */
    run_until(now + 60000);
    for (int i = 0; i < NN; i++) {
        assert_int_equal(swim_member_count_live(nodes[i].sw), NN);
        for (int j = 0; j < NN; j++)
            assert_int_equal(serf_member_status(nodes[i].sf, nodes[j].name, NULL), SERF_ST_ALIVE);
    }
    uint64_t g0 = gossip_sent();
    uint64_t pp0 = 0, udp0 = 0;
    for (int i = 0; i < NN; i++) {
        pp0 += swim_counters(nodes[i].sw)->push_pulls;
        udp0 += nodes[i].udp_sent;
    }
    assert_true(g0 > 0); /* the joins were gossiped */
    /* The quiet window: five LAN push/pull intervals (30 s each). */
    for (int k = 0; k < 15; k++) {
        run_until(now + 10000);
        if (queued() != 0 || gossip_sent() != g0)
            print_error("t=%lld: %zu queued, %llu gossip datagrams in the quiet window\n",
                        (long long)now, queued(), (unsigned long long)(gossip_sent() - g0));
        assert_int_equal(queued(), 0);
        assert_int_equal(gossip_sent(), g0);
    }
    uint64_t pp1 = 0, udp1 = 0;
    for (int i = 0; i < NN; i++) {
        pp1 += swim_counters(nodes[i].sw)->push_pulls;
        udp1 += nodes[i].udp_sent;
        assert_int_equal(swim_member_count_live(nodes[i].sw), NN);
        assert_int_equal(swim_counters(nodes[i].sw)->suspects, 0);
    }
    /* The window did see push/pulls and probes (the test can see traffic). */
    assert_true(pp1 > pp0);
    assert_true(udp1 > udp0);
    for (int i = 0; i < NN; i++) {
        serf_free(nodes[i].sf);
        swim_free(nodes[i].sw);
        swim_actions_deinit(&nodes[i].act);
        keyring_deinit(&nodes[i].kr);
    }
    while (qhead != qtail)
        free(q[qhead++ % QMAX].buf);
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quiet_after_convergence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
