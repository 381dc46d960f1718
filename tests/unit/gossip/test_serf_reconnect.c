/*
 * serf reconnect loop (serf_reconnect, serf.go reconnect()/reap()): one
 * node "me" under a real SWIM core, members added and failed with
 * memberlist datagrams, the time a plain number (the layer reads no clock).
 * Checks Serf's probability rule (failed / alive) against the seeded PRNG
 * over many intervals, that a left member is never picked, that failed and
 * left members are reaped after their timeouts, and that a reconnect is a
 * push/pull (join) stream to the failed member's last address.
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
#include "gossip/swim.h"

#define IVL 1000 /* reconnect interval of these tests, ms */

struct node {
    struct swim *sw;
    struct serf *sf;
    struct keyring kr;
    struct swim_actions act;
};

static struct swim_addr addr_of(int host, uint16_t port)
{
    struct swim_addr a;
    memset(&a, 0, sizeof(a));
    a.ip[0] = 10;
    a.ip[3] = (uint8_t)host;
    a.ip_len = 4;
    a.port = port;
    return a;
}

static void node_init(struct node *n, uint64_t seed, int64_t timeout_ms)
{
    struct swim_config c;
    struct weft_err e = {{0}};
    struct swim_addr a = addr_of(1, 7946);
    swim_config_profile(&c, SWIM_PROFILE_LAN);
    c.push_pull_interval_ms = 0;
    c.vsn[3] = 2;
    c.vsn[4] = 5;
    c.vsn[5] = 5;
    memset(n, 0, sizeof(*n));
    keyring_init(&n->kr);
    swim_actions_init(&n->act);
    n->sw = swim_new(&c, "me", &a, 0, 42, 0, &e);
    assert_non_null(n->sw);
    struct serf_config sc;
    memset(&sc, 0, sizeof(sc));
    sc.name = "me";
    sc.addr = a;
    memcpy(sc.vsn, c.vsn, ML_VSN_LEN);
    sc.gossip_interval_ms = c.gossip_interval_ms;
    sc.retransmit_mult = c.retransmit_mult;
    sc.seed = seed;
    sc.reconnect_interval_ms = IVL;
    sc.reconnect_timeout_ms = timeout_ms;
    n->sf = serf_new(&sc, NULL, &n->kr, &e);
    assert_non_null(n->sf);
    struct swim_delegate d;
    serf_delegate(n->sf, &d);
    swim_set_delegate(n->sw, &d);
    serf_tick(n->sf, 0); /* arms the loop: first step due at IVL */
}

static void node_free(struct node *n)
{
    serf_free(n->sf);
    swim_free(n->sw);
    swim_actions_deinit(&n->act);
    keyring_deinit(&n->kr);
}

/* Member `name` at 10.0.0.host:7946 says alive. */
static void add_member(struct node *n, const char *name, int host)
{
    struct ml_alive a;
    uint8_t buf[512];
    size_t len;
    struct weft_err e = {{0}};
    struct swim_addr from = addr_of(host, 7946);
    memset(&a, 0, sizeof(a));
    a.incarnation = 1;
    snprintf(a.node, sizeof(a.node), "%s", name);
    memcpy(a.addr, from.ip, 4);
    a.addr_len = 4;
    a.port = 7946;
    const uint8_t vsn[ML_VSN_LEN] = {1, 5, 2, 2, 5, 5};
    memcpy(a.vsn, vsn, ML_VSN_LEN);
    a.vsn_len = ML_VSN_LEN;
    assert_int_equal(ml_alive_encode(&a, buf, sizeof(buf), &len, &e), 0);
    assert_int_equal(swim_on_packet(n->sw, 1, &from, buf, len, &n->act, &e), 0);
    assert_int_equal(serf_member_status(n->sf, name, NULL), SERF_ST_ALIVE);
}

/* Someone declares `name` dead: Serf marks it failed (at the last serf_tick). */
static void fail_member(struct node *n, const char *name)
{
    struct ml_suspect d;
    uint8_t buf[512];
    size_t len;
    struct weft_err e = {{0}};
    struct swim_addr from = addr_of(99, 7946);
    memset(&d, 0, sizeof(d));
    d.incarnation = 1;
    snprintf(d.node, sizeof(d.node), "%s", name);
    snprintf(d.from, sizeof(d.from), "someone");
    assert_int_equal(ml_suspect_encode(ML_DEAD, &d, buf, sizeof(buf), &len, &e), 0);
    assert_int_equal(swim_on_packet(n->sw, 2, &from, buf, len, &n->act, &e), 0);
    assert_int_equal(serf_member_status(n->sf, name, NULL), SERF_ST_FAILED);
}

/* A failed member then gets a leave intent: left (Serf: failed -> left). */
static void leave_member(struct node *n, const char *name, uint64_t lt)
{
    struct serf_leave l;
    uint8_t buf[256];
    size_t len;
    fail_member(n, name);
    memset(&l, 0, sizeof(l));
    l.ltime = lt;
    snprintf(l.node, sizeof(l.node), "%s", name);
    assert_int_equal(serf_leave_encode(&l, buf, sizeof(buf), &len, NULL), 0);
    serf_notify_msg(n->sf, buf, len);
    assert_int_equal(serf_member_status(n->sf, name, NULL), SERF_ST_LEFT);
}

/* One reconnect step at now; returns whether it reconnected (and to whom). */
static bool step(struct node *n, int64_t now, char *who)
{
    serf_tick(n->sf, now);
    who[0] = 0;
    return serf_reconnect(n->sf, n->sw, now, &n->act, who, ML_NAME_MAX + 1);
}

static void test_probability(void **state)
{
    (void)state;
    struct node n;
    char who[ML_NAME_MAX + 1];
    node_init(&n, 12345, 0);
    add_member(&n, "b", 2);
    add_member(&n, "c", 3);
    add_member(&n, "d", 4);
    add_member(&n, "x", 5);
    /* No failed member: nothing to do, and no wake-up for it. */
    assert_false(step(&n, IVL, who));
    assert_int_equal(serf_wake(n.sf), INT64_MAX);
    fail_member(&n, "x");
    /* Once per interval: the wake-up is the next interval, earlier calls do nothing. */
    assert_int_equal(serf_wake(n.sf), 2 * IVL);
    assert_false(step(&n, 2 * IVL - 1, who));
    /* 1 failed, 4 alive (me, b, c, d): p = 1/4 per interval. Seeded, so
     * deterministic; the bounds are +-5 standard deviations of 4000 draws. */
    int hits = 0;
    for (int i = 0; i < 4000; i++) {
        int64_t now = (int64_t)(2 + i) * IVL;
        if (step(&n, now, who)) {
            hits++;
            assert_string_equal(who, "x");
        }
        /* A second call within the same interval never reconnects. */
        assert_false(step(&n, now + IVL / 2, who));
    }
    assert_in_range(hits, 1000 - 140, 1000 + 140);
    assert_int_equal(serf_counters(n.sf)->reconnects, (uint64_t)hits);

    /* 3 failed, 2 alive (me, b): p = 3/2 > 1, every interval, each failed
     * member picked about a third of the time. */
    fail_member(&n, "c");
    fail_member(&n, "d");
    int picked[3] = {0, 0, 0};
    int64_t t0 = (int64_t)5000 * IVL;
    for (int i = 0; i < 3000; i++) {
        assert_true(step(&n, t0 + (int64_t)i * IVL, who));
        assert_true(who[0] == 'c' || who[0] == 'd' || who[0] == 'x');
        picked[who[0] == 'c' ? 0 : who[0] == 'd' ? 1 : 2]++;
    }
    for (int i = 0; i < 3; i++)
        assert_in_range(picked[i], 1000 - 130, 1000 + 130);
    node_free(&n);
}

static void test_never_left(void **state)
{
    (void)state;
    struct node n;
    char who[ML_NAME_MAX + 1];
    node_init(&n, 99, 0);
    add_member(&n, "b", 2);
    add_member(&n, "l", 3);
    leave_member(&n, "l", 10);
    /* Only a left member: never reconnected to, no wake-up for it. */
    for (int i = 1; i <= 200; i++)
        assert_false(step(&n, (int64_t)i * IVL, who));
    assert_int_equal(serf_wake(n.sf), INT64_MAX);
    assert_int_equal(serf_counters(n.sf)->reconnects, 0);
    /* A failed one beside it: always the failed one. Members me, b, l, x:
     * alive = 4 - 1 failed - 1 left = 2, p = 1/2. */
    add_member(&n, "x", 4);
    fail_member(&n, "x");
    int hits = 0;
    for (int i = 201; i <= 600; i++)
        if (step(&n, (int64_t)i * IVL, who)) {
            hits++;
            assert_string_equal(who, "x");
        }
    assert_in_range(hits, 200 - 60, 200 + 60);
    node_free(&n);
}

static void test_reap(void **state)
{
    (void)state;
    struct node n;
    char who[ML_NAME_MAX + 1];
    const int64_t timeout = 10 * IVL;
    node_init(&n, 7, timeout);
    add_member(&n, "b", 2);
    add_member(&n, "x", 5);
    add_member(&n, "l", 6);
    serf_tick(n.sf, 500);
    fail_member(&n, "x"); /* failed at 500 */
    leave_member(&n, "l", 10);
    assert_int_equal(serf_member_count(n.sf), 4);
    /* Kept (and reconnected to) up to the reconnect timeout... */
    serf_tick(n.sf, 500 + timeout);
    assert_int_equal(serf_member_status(n.sf, "x", NULL), SERF_ST_FAILED);
    /* ... forgotten after it; the left one stays until the tombstone timeout. */
    serf_tick(n.sf, 500 + timeout + 1);
    assert_int_equal(serf_member_status(n.sf, "x", NULL), SERF_ST_NONE);
    assert_int_equal(serf_member_status(n.sf, "l", NULL), SERF_ST_LEFT);
    assert_int_equal(serf_member_count(n.sf), 3);
    /* Nothing failed left to reconnect to. */
    for (int i = 0; i < 50; i++)
        assert_false(step(&n, 500 + timeout + 1 + (int64_t)i * IVL, who));
    assert_int_equal(serf_wake(n.sf), INT64_MAX);
    serf_tick(n.sf, 500 + SERF_REAP_MS);
    assert_int_equal(serf_member_status(n.sf, "l", NULL), SERF_ST_LEFT);
    serf_tick(n.sf, 500 + SERF_REAP_MS + 1);
    assert_int_equal(serf_member_status(n.sf, "l", NULL), SERF_ST_NONE);
    assert_int_equal(serf_member_count(n.sf), 2);
    /* The default reconnect timeout is Serf's 24 h. */
    struct node d;
    node_init(&d, 7, 0);
    add_member(&d, "y", 7);
    serf_tick(d.sf, 1000);
    fail_member(&d, "y");
    serf_tick(d.sf, 1000 + SERF_RECONNECT_TIMEOUT_MS);
    assert_int_equal(serf_member_status(d.sf, "y", NULL), SERF_ST_FAILED);
    serf_tick(d.sf, 1000 + SERF_RECONNECT_TIMEOUT_MS + 1);
    assert_int_equal(serf_member_status(d.sf, "y", NULL), SERF_ST_NONE);
    node_free(&d);
    node_free(&n);
}

static void test_push_pull(void **state)
{
    (void)state;
    struct node n;
    struct weft_err e = {{0}};
    char who[ML_NAME_MAX + 1];
    node_init(&n, 3, 0);
    add_member(&n, "x", 5);
    fail_member(&n, "x");
    /* 1 failed, 1 alive (me): p = 1, the first interval reconnects. */
    assert_false(step(&n, IVL - 1, who));
    assert_true(step(&n, IVL, who));
    assert_string_equal(who, "x");
    /* The action: one push/pull (join) stream to x's last address, carrying
     * our state (x marked dead, so x refutes) and Serf's user state. */
    assert_int_equal(n.act.npkt, 0);
    assert_int_equal(n.act.nstream, 1);
    const struct swim_stream *st = &n.act.stream[0];
    struct swim_addr want = addr_of(5, 7946);
    assert_false(st->reply);
    assert_true(st->join);
    assert_int_equal(st->to.ip_len, 4);
    assert_memory_equal(st->to.ip, want.ip, 4);
    assert_int_equal(st->to.port, 7946);
    assert_int_equal(st->buf[0], ML_PUSH_PULL);
    static struct ml_push_node nodes[8];
    struct ml_push_pull_header h;
    const uint8_t *us;
    assert_int_equal(ml_push_pull_decode(st->buf + 1, st->len - 1, &h, nodes, 8, &us, &e), 0);
    assert_true(h.join);
    assert_int_equal(h.nodes, 2);
    bool saw_dead = false;
    for (size_t i = 0; i < 2; i++)
        if (strcmp(nodes[i].name, "x") == 0)
            saw_dead = nodes[i].state == ML_STATE_DEAD;
    assert_true(saw_dead);
    assert_true(h.user_state_len > 0);
    assert_int_equal(us[0], SERF_PUSH_PULL);
    /* p = 1, so the next interval would reconnect again, but not once we leave. */
    serf_leave_intent(n.sf);
    for (int i = 2; i < 20; i++)
        assert_false(step(&n, (int64_t)i * IVL, who));
    assert_int_equal(serf_counters(n.sf)->reconnects, 1);
    node_free(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probability),
        cmocka_unit_test(test_never_left),
        cmocka_unit_test(test_reap),
        cmocka_unit_test(test_push_pull),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
