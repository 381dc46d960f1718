/*
 * serf layer (serf.c): one node "me" (10.0.0.1:7946) driven by hand with
 * synthetic times and Serf messages, under a real SWIM core (members are
 * added with alive datagrams, so the core's join/leave notifications reach
 * the layer as they do in the agent). What it sends directly (acks,
 * responses) is read from its outbox; what it gossips, from its broadcast
 * queues (serf_get_broadcasts). Also: Serf's push/pull user state, round
 * trip between two nodes and byte for byte against serf 0.9.4's capture.
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

#include "capture.h"

/* --- the upcalls, recorded --- */

#define REC_MAX 64
struct rec {
    bool query, ack;
    uint64_t ltime, qid;
    char name[ML_NAME_MAX + 1];
    char from[ML_NAME_MAX + 1];
    char payload[256];
};
static struct rec users[REC_MAX], resps[REC_MAX];
static size_t nusers, nresps, ndone, nkeys;
static uint64_t done_qid;

static void on_user(void *arg, const struct serf_rec *r)
{
    (void)arg;
    assert_true(nusers < REC_MAX);
    struct rec *x = &users[nusers++];
    memset(x, 0, sizeof(*x));
    x->query = r->query;
    x->ltime = r->ltime;
    snprintf(x->name, sizeof(x->name), "%s", r->name);
    snprintf(x->from, sizeof(x->from), "%s", r->from);
    snprintf(x->payload, sizeof(x->payload), "%.*s", (int)r->len, (const char *)r->payload);
}

static int answer(void *arg, const char *name, const uint8_t *payload, size_t len, uint8_t *resp,
                  size_t cap, size_t *rlen)
{
    (void)arg;
    (void)payload;
    (void)len;
    if (strcmp(name, "info") != 0)
        return 0;
    *rlen = (size_t)snprintf((char *)resp, cap, "{\"ok\":1}");
    return 1;
}

static void on_response(void *arg, uint64_t qid, const char *from, const uint8_t *payload,
                        size_t len, bool ack)
{
    (void)arg;
    assert_true(nresps < REC_MAX);
    struct rec *x = &resps[nresps++];
    memset(x, 0, sizeof(*x));
    x->qid = qid;
    x->ack = ack;
    snprintf(x->from, sizeof(x->from), "%s", from);
    snprintf(x->payload, sizeof(x->payload), "%.*s", (int)len, (const char *)payload);
}

static void on_done(void *arg, uint64_t qid)
{
    (void)arg;
    ndone++;
    done_qid = qid;
}

static void on_keys(void *arg)
{
    (void)arg;
    nkeys++;
}

/* --- a node: swim core + serf layer --- */

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

static void node_init(struct node *n, const char *name, int host, struct serf_clocks clocks)
{
    struct swim_config c;
    struct weft_err e = {{0}};
    struct swim_addr a = addr_of(host, 7946);
    swim_config_profile(&c, SWIM_PROFILE_LAN);
    c.push_pull_interval_ms = 0;
    c.vsn[3] = 2;
    c.vsn[4] = 5;
    c.vsn[5] = 5;
    memset(n, 0, sizeof(*n));
    keyring_init(&n->kr);
    swim_actions_init(&n->act);
    n->sw = swim_new(&c, name, &a, 0, 42, 0, &e);
    assert_non_null(n->sw);
    struct serf_config sc;
    struct serf_hooks h = {NULL, on_user, answer, on_response, on_done, on_keys};
    memset(&sc, 0, sizeof(sc));
    sc.name = name;
    sc.addr = a;
    memcpy(sc.vsn, c.vsn, ML_VSN_LEN);
    sc.gossip_interval_ms = c.gossip_interval_ms;
    sc.retransmit_mult = c.retransmit_mult;
    sc.clocks = clocks;
    sc.seed = 7;
    n->sf = serf_new(&sc, &h, &n->kr, &e);
    assert_non_null(n->sf);
    struct serf_tag tags[2] = {{"role", "weft"}, {"zone", "eu-west"}};
    serf_set_tags(n->sf, tags, 2);
    struct swim_delegate d;
    serf_delegate(n->sf, &d);
    swim_set_delegate(n->sw, &d);
    serf_tick(n->sf, 0);
}

static void node_free(struct node *n)
{
    serf_free(n->sf);
    swim_free(n->sw);
    swim_actions_deinit(&n->act);
    keyring_deinit(&n->kr);
}

/* Member `name` at 10.0.0.host says alive (the core notifies the layer). */
static void add_member(struct node *n, const char *name, int host, uint32_t inc)
{
    struct ml_alive a;
    uint8_t buf[512];
    size_t len;
    struct weft_err e = {{0}};
    struct swim_addr from = addr_of(host, 7946);
    memset(&a, 0, sizeof(a));
    a.incarnation = inc;
    snprintf(a.node, sizeof(a.node), "%s", name);
    memcpy(a.addr, from.ip, 4);
    a.addr_len = 4;
    a.port = 7946;
    const uint8_t vsn[ML_VSN_LEN] = {1, 5, 2, 2, 5, 5};
    memcpy(a.vsn, vsn, ML_VSN_LEN);
    a.vsn_len = ML_VSN_LEN;
    assert_int_equal(ml_alive_encode(&a, buf, sizeof(buf), &len, &e), 0);
    assert_int_equal(swim_on_packet(n->sw, 1, &from, buf, len, &n->act, &e), 0);
}

/* Member `name` is declared dead by someone (failed, or left when graceful). */
static void kill_member(struct node *n, const char *name, uint32_t inc, bool graceful)
{
    struct ml_suspect d;
    uint8_t buf[512];
    size_t len;
    struct weft_err e = {{0}};
    struct swim_addr from = addr_of(99, 7946);
    memset(&d, 0, sizeof(d));
    d.incarnation = inc;
    snprintf(d.node, sizeof(d.node), "%s", name);
    snprintf(d.from, sizeof(d.from), "%s", graceful ? name : "someone");
    assert_int_equal(ml_suspect_encode(ML_DEAD, &d, buf, sizeof(buf), &len, &e), 0);
    assert_int_equal(swim_on_packet(n->sw, 2, &from, buf, len, &n->act, &e), 0);
}

static void reset_recs(void)
{
    nusers = nresps = ndone = nkeys = 0;
}

/* --- message builders --- */

static size_t join_msg(const char *node, uint64_t lt, uint8_t *buf)
{
    struct serf_join j;
    size_t len;
    memset(&j, 0, sizeof(j));
    j.ltime = lt;
    snprintf(j.node, sizeof(j.node), "%s", node);
    assert_int_equal(serf_join_encode(&j, buf, 256, &len, NULL), 0);
    return len;
}

static size_t leave_msg(const char *node, uint64_t lt, uint8_t *buf)
{
    struct serf_leave l;
    size_t len;
    memset(&l, 0, sizeof(l));
    l.ltime = lt;
    snprintf(l.node, sizeof(l.node), "%s", node);
    assert_int_equal(serf_leave_encode(&l, buf, 256, &len, NULL), 0);
    return len;
}

static size_t event_msg(const char *name, const char *payload, uint64_t lt, uint8_t *buf)
{
    struct serf_user_event u;
    size_t len;
    memset(&u, 0, sizeof(u));
    u.ltime = lt;
    snprintf(u.name, sizeof(u.name), "%s", name);
    u.payload = (const uint8_t *)payload;
    u.payload_len = strlen(payload);
    assert_int_equal(serf_user_event_encode(&u, buf, 1024, &len, NULL), 0);
    return len;
}

static size_t query_msg(const char *name, uint64_t lt, uint32_t id, uint32_t flags,
                        const struct serf_ref *filters, size_t nf, uint8_t *buf)
{
    struct serf_query q;
    size_t len;
    memset(&q, 0, sizeof(q));
    q.ltime = lt;
    q.id = id;
    q.addr[0] = 10;
    q.addr[3] = 50;
    q.addr_len = 4;
    q.port = 7946;
    snprintf(q.source_node, sizeof(q.source_node), "asker");
    for (size_t i = 0; i < nf; i++)
        q.filters[i] = filters[i];
    q.n_filters = nf;
    q.flags = flags;
    q.timeout_ns = 1000000000;
    snprintf(q.name, sizeof(q.name), "%s", name);
    assert_int_equal(serf_query_encode(&q, buf, 1024, &len, NULL), 0);
    return len;
}

/* Decode the outbox's responses: how many, and the i-th. */
static size_t outbox_resp(struct node *n, size_t i, struct serf_query_response *r)
{
    size_t cnt;
    const struct serf_send *o = serf_outbox(n->sf, &cnt);
    if (i < cnt && r) {
        assert_int_equal(o[i].buf[0], ML_USER);
        assert_int_equal(o[i].buf[1], SERF_QUERY_RESPONSE);
        assert_int_equal(serf_query_response_decode(o[i].buf + 2, o[i].len - 2, r, NULL), 0);
    }
    return cnt;
}

/* Everything in the broadcast queues, as serf types in order. */
static size_t drain_bcasts(struct node *n, uint8_t *types, size_t max)
{
    size_t got = 0;
    for (int round = 0; round < 64; round++) {
        uint8_t buf[SWIM_UDP_MAX];
        struct ml_part parts[ML_COMPOUND_MAX];
        size_t k = serf_get_broadcasts(n->sf, 1398, buf, sizeof(buf), parts, ML_COMPOUND_MAX);
        if (k == 0)
            break;
        for (size_t i = 0; i < k && round == 0; i++) {
            assert_int_equal(parts[i].p[0], ML_USER);
            if (got < max)
                types[got++] = parts[i].p[1];
        }
    }
    return got;
}

/* ------------------------------------------------------------------ */

static void test_clocks(void **state)
{
    (void)state;
    struct node n;
    reset_recs();
    /* Fresh: every clock starts at 1. */
    node_init(&n, "me", 1, (struct serf_clocks){0, 0, 0});
    struct serf_clocks c;
    serf_clocks(n.sf, &c);
    assert_int_equal(c.member, 1);
    assert_int_equal(c.event, 1);
    assert_int_equal(c.query, 1);
    /* Witness on receive: a join intent at 10 moves the member clock to 11. */
    uint8_t buf[1024];
    size_t len = join_msg("far", 10, buf);
    serf_notify_msg(n.sf, buf, len);
    serf_clocks(n.sf, &c);
    assert_int_equal(c.member, 11);
    /* An older one does not move it back. */
    len = join_msg("far2", 3, buf);
    serf_notify_msg(n.sf, buf, len);
    serf_clocks(n.sf, &c);
    assert_int_equal(c.member, 11);
    /* Our event takes the current time, then the clock moves on. */
    assert_int_equal(serf_user_event(n.sf, "e", (const uint8_t *)"x", 1, false, NULL), 0);
    serf_clocks(n.sf, &c);
    assert_int_equal(c.event, 2);
    assert_int_equal(users[0].ltime, 1);
    node_free(&n);

    /* Restarted with persisted clocks: above them, and older news is not taken. */
    reset_recs();
    node_init(&n, "me", 1, (struct serf_clocks){40, 30, 20});
    serf_clocks(n.sf, &c);
    assert_int_equal(c.member, 41);
    assert_int_equal(c.event, 31);
    assert_int_equal(c.query, 21);
    len = event_msg("old", "p", 30, buf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(nusers, 0);
    assert_int_equal(serf_counters(n.sf)->events_old, 1);
    len = event_msg("new", "p", 31, buf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(nusers, 1);
    len = query_msg("oldq", 20, 5, SERF_QUERY_ACK, NULL, 0, buf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(outbox_resp(&n, 0, NULL), 0);
    assert_int_equal(serf_counters(n.sf)->queries_old, 1);
    /* Our own event after the restart: a new ltime, above the old ones. */
    assert_int_equal(serf_user_event(n.sf, "again", NULL, 0, false, NULL), 0);
    assert_int_equal(users[1].ltime, 32);
    node_free(&n);
}

static void test_intents(void **state)
{
    (void)state;
    struct node n;
    uint8_t buf[256], types[64];
    uint64_t lt;
    reset_recs();
    node_init(&n, "me", 1, (struct serf_clocks){0, 0, 0});
    /* A join intent about a node we do not know yet: kept, rebroadcast once. */
    size_t len = join_msg("b", 5, buf);
    serf_notify_msg(n.sf, buf, len);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(drain_bcasts(&n, types, 64), 1);
    assert_int_equal(types[0], SERF_JOIN);
    /* ... and applied when the member appears. */
    add_member(&n, "b", 2, 1);
    assert_int_equal(serf_member_status(n.sf, "b", &lt), SERF_ST_ALIVE);
    assert_int_equal(lt, 5);
    /* An older leave is ignored; a newer one makes it leaving, then left. */
    len = leave_msg("b", 4, buf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(serf_member_status(n.sf, "b", &lt), SERF_ST_ALIVE);
    len = leave_msg("b", 6, buf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(serf_member_status(n.sf, "b", &lt), SERF_ST_LEAVING);
    assert_int_equal(lt, 6);
    kill_member(&n, "b", 1, true);
    assert_int_equal(serf_member_status(n.sf, "b", NULL), SERF_ST_LEFT);
    /* A leave intent before the member is known: it appears leaving. */
    len = leave_msg("c", 9, buf);
    serf_notify_msg(n.sf, buf, len);
    add_member(&n, "c", 3, 1);
    assert_int_equal(serf_member_status(n.sf, "c", &lt), SERF_ST_LEAVING);
    assert_int_equal(lt, 9);
    /* Failed without an intent; a late leave intent turns failed into left. */
    add_member(&n, "d", 4, 1);
    kill_member(&n, "d", 1, false);
    assert_int_equal(serf_member_status(n.sf, "d", NULL), SERF_ST_FAILED);
    len = leave_msg("d", 20, buf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(serf_member_status(n.sf, "d", NULL), SERF_ST_LEFT);
    /* The recent-intents buffer forgets after 5 minutes. */
    drain_bcasts(&n, types, 64);
    len = join_msg("late", 30, buf);
    serf_notify_msg(n.sf, buf, len);
    serf_tick(n.sf, SERF_INTENT_TIMEOUT_MS + 10);
    add_member(&n, "late", 5, 1);
    assert_int_equal(serf_member_status(n.sf, "late", &lt), SERF_ST_ALIVE);
    assert_int_equal(lt, 0);
    /* A leave intent about us while we run: refuted with a join of ours. */
    drain_bcasts(&n, types, 64);
    len = leave_msg("me", 100, buf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(serf_member_status(n.sf, "me", NULL), SERF_ST_ALIVE);
    size_t nt = drain_bcasts(&n, types, 64);
    assert_int_equal(nt, 1);
    assert_int_equal(types[0], SERF_JOIN);
    /* Our graceful leave: the intent is queued and marked sent once it goes out. */
    serf_leave_intent(n.sf);
    assert_false(serf_leave_sent(n.sf));
    assert_int_equal(serf_member_status(n.sf, "me", NULL), SERF_ST_LEAVING);
    drain_bcasts(&n, types, 64);
    assert_true(serf_leave_sent(n.sf));
    node_free(&n);
}

static void test_events(void **state)
{
    (void)state;
    struct node n;
    uint8_t buf[1024], types[64];
    reset_recs();
    node_init(&n, "me", 1, (struct serf_clocks){0, 0, 0});
    size_t len = event_msg("deploy", "v1", 7, buf);
    serf_notify_msg(n.sf, buf, len);
    serf_notify_msg(n.sf, buf, len); /* duplicate: same ltime, name, payload */
    assert_int_equal(nusers, 1);
    assert_string_equal(users[0].name, "deploy");
    assert_string_equal(users[0].payload, "v1");
    assert_int_equal(users[0].ltime, 7);
    assert_int_equal(serf_counters(n.sf)->events_dup, 1);
    /* Same ltime, another payload: a different event. */
    len = event_msg("deploy", "v2", 7, buf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(nusers, 2);
    /* New events are rebroadcast, duplicates are not. */
    assert_int_equal(drain_bcasts(&n, types, 64), 2);
    assert_int_equal(types[0], SERF_USER_EVENT);
    /* Too old: more than 512 below the clock. */
    len = event_msg("far", "x", 1000, buf);
    serf_notify_msg(n.sf, buf, len);
    len = event_msg("ancient", "x", 400, buf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(nusers, 3);
    assert_int_equal(serf_counters(n.sf)->events_old, 1);
    /* Size limit: name + payload <= 512. */
    char big[600];
    memset(big, 'x', sizeof(big));
    struct weft_err e = {{0}};
    assert_int_equal(serf_user_event(n.sf, "big", (const uint8_t *)big, 510, false, &e), -1);
    assert_non_null(strstr(e.msg, "512"));
    /* Garbage is counted, never fatal. */
    uint8_t junk[4] = {SERF_USER_EVENT, 0xc1, 0xc1, 0xc1};
    serf_notify_msg(n.sf, junk, sizeof(junk));
    assert_int_equal(serf_counters(n.sf)->bad_messages, 1);
    node_free(&n);
}

static void test_queries_in(void **state)
{
    (void)state;
    struct node n;
    uint8_t buf[1024], types[64];
    struct serf_query_response r;
    reset_recs();
    node_init(&n, "me", 1, (struct serf_clocks){0, 0, 0});
    /* Ack asked: an ack to the query's addr:port, then the answer of the hook. */
    size_t len = query_msg("info", 3, 77, SERF_QUERY_ACK, NULL, 0, buf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(outbox_resp(&n, 0, &r), 2);
    assert_int_equal(r.flags, SERF_QUERY_ACK);
    assert_int_equal(r.id, 77);
    assert_int_equal(r.ltime, 3);
    assert_string_equal(r.from, "me");
    size_t cnt;
    const struct serf_send *o = serf_outbox(n.sf, &cnt);
    assert_int_equal(o[0].to.port, 7946);
    assert_int_equal(o[0].to.ip[3], 50);
    outbox_resp(&n, 1, &r);
    assert_int_equal(r.flags, 0);
    assert_int_equal(r.payload_len, 8);
    assert_memory_equal(r.payload, "{\"ok\":1}", 8);
    assert_int_equal(nusers, 1);
    assert_true(users[0].query);
    assert_string_equal(users[0].from, "asker");
    /* Rebroadcast once; the same (ltime, id) again is a duplicate. */
    serf_outbox_clear(n.sf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(outbox_resp(&n, 0, NULL), 0);
    assert_int_equal(drain_bcasts(&n, types, 64), 1);
    assert_int_equal(types[0], SERF_QUERY);
    /* Same ltime, another id: a new query. No ack asked: no ack; not "info": no answer. */
    len = query_msg("other", 3, 78, 0, NULL, 0, buf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(outbox_resp(&n, 0, NULL), 0);
    assert_int_equal(nusers, 2);
    /* Node filter that does not name us: no ack, not recorded, still rebroadcast. */
    uint8_t f1[128], f2[128];
    size_t f1l, f2l;
    const char *names[] = {"x", "y"};
    assert_int_equal(serf_filter_nodes_encode(names, 2, f1, sizeof(f1), &f1l, NULL), 0);
    struct serf_ref fr = {f1, f1l};
    len = query_msg("info", 4, 1, SERF_QUERY_ACK, &fr, 1, buf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(outbox_resp(&n, 0, NULL), 0);
    assert_int_equal(nusers, 2);
    assert_int_equal(serf_counters(n.sf)->queries_filtered, 1);
    assert_int_equal(drain_bcasts(&n, types, 64), 2);
    /* Node filter naming us + tag filter (an unanchored regexp) that matches. */
    const char *me[] = {"a", "me"};
    assert_int_equal(serf_filter_nodes_encode(me, 2, f1, sizeof(f1), &f1l, NULL), 0);
    assert_int_equal(serf_filter_tag_encode("zone", "eu-", f2, sizeof(f2), &f2l, NULL), 0);
    struct serf_ref frs[2] = {{f1, f1l}, {f2, f2l}};
    len = query_msg("info", 5, 1, SERF_QUERY_ACK, frs, 2, buf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(outbox_resp(&n, 0, NULL), 2);
    serf_outbox_clear(n.sf);
    /* A tag filter that does not match, and one on a tag we do not have. */
    assert_int_equal(serf_filter_tag_encode("zone", "^us-", f2, sizeof(f2), &f2l, NULL), 0);
    struct serf_ref ft = {f2, f2l};
    len = query_msg("info", 6, 1, SERF_QUERY_ACK, &ft, 1, buf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(serf_filter_tag_encode("rack", ".+", f2, sizeof(f2), &f2l, NULL), 0);
    ft.len = f2l;
    len = query_msg("info", 7, 1, SERF_QUERY_ACK, &ft, 1, buf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(outbox_resp(&n, 0, NULL), 0);
    /* No-broadcast flag: answered but not rebroadcast. */
    drain_bcasts(&n, types, 64);
    len = query_msg("info", 8, 1, SERF_QUERY_ACK | SERF_QUERY_NO_BROADCAST, NULL, 0, buf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(outbox_resp(&n, 0, NULL), 2);
    assert_int_equal(drain_bcasts(&n, types, 64), 0);
    serf_outbox_clear(n.sf);
    /* Internal: _serf_ping is acked only; _serf_conflict answers with the member. */
    len = query_msg("_serf_ping", 9, 1, SERF_QUERY_ACK, NULL, 0, buf);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(outbox_resp(&n, 0, &r), 1);
    assert_int_equal(r.flags, SERF_QUERY_ACK);
    serf_outbox_clear(n.sf);
    add_member(&n, "b", 2, 1);
    struct serf_query q;
    memset(&q, 0, sizeof(q));
    q.ltime = 10;
    q.id = 2;
    q.addr[0] = 10;
    q.addr[3] = 50;
    q.addr_len = 4;
    q.port = 7946;
    snprintf(q.name, sizeof(q.name), "_serf_conflict");
    q.payload = (const uint8_t *)"b";
    q.payload_len = 1;
    assert_int_equal(serf_query_encode(&q, buf, sizeof(buf), &len, NULL), 0);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(outbox_resp(&n, 0, &r), 1);
    assert_int_equal(r.payload[0], SERF_CONFLICT_RESPONSE);
    assert_non_null(memmem(r.payload, r.payload_len, "Name", 4));
    serf_outbox_clear(n.sf);
    /* RelayFactor 1: the ack also goes through b, wrapped in a relay (9). */
    memset(&q, 0, sizeof(q));
    q.ltime = 11;
    q.id = 3;
    q.addr[0] = 10;
    q.addr[3] = 50;
    q.addr_len = 4;
    q.port = 7946;
    q.flags = SERF_QUERY_ACK;
    q.relay_factor = 1;
    snprintf(q.name, sizeof(q.name), "_serf_ping");
    assert_int_equal(serf_query_encode(&q, buf, sizeof(buf), &len, NULL), 0);
    serf_notify_msg(n.sf, buf, len);
    o = serf_outbox(n.sf, &cnt);
    assert_int_equal(cnt, 2);
    assert_int_equal(o[0].to.ip[3], 50);
    assert_int_equal(o[1].to.ip[3], 2); /* b */
    assert_int_equal(o[1].buf[1], SERF_RELAY);
    {
        uint8_t ip[ML_ADDR_MAX];
        size_t ipl, ml;
        uint16_t port;
        const uint8_t *m;
        assert_int_equal(
            serf_relay_decode(o[1].buf + 2, o[1].len - 2, ip, &ipl, &port, &m, &ml, NULL), 0);
        assert_int_equal(ipl, 4);
        assert_int_equal(ip[3], 50);
        assert_int_equal(port, 7946);
        assert_int_equal(m[0], SERF_QUERY_RESPONSE);
    }
    serf_outbox_clear(n.sf);
    /* Relay (9): the inner message is forwarded to the destination. */
    uint8_t inner[64], relay[256];
    size_t il, rl;
    struct serf_query_response ir;
    memset(&ir, 0, sizeof(ir));
    snprintf(ir.from, sizeof(ir.from), "zz");
    assert_int_equal(serf_query_response_encode(&ir, inner, sizeof(inner), &il, NULL), 0);
    const uint8_t dst[4] = {10, 0, 0, 77};
    assert_int_equal(serf_relay_encode(dst, 4, 9999, inner, il, relay, sizeof(relay), &rl, NULL),
                     0);
    serf_notify_msg(n.sf, relay, rl);
    o = serf_outbox(n.sf, &cnt);
    assert_int_equal(cnt, 1);
    assert_int_equal(o[0].to.port, 9999);
    assert_int_equal(o[0].to.ip[3], 77);
    assert_int_equal(o[0].len, il + 1);
    assert_memory_equal(o[0].buf + 1, inner, il);
    node_free(&n);
}

static void test_queries_out(void **state)
{
    (void)state;
    struct node n;
    uint8_t buf[1024], types[64];
    reset_recs();
    node_init(&n, "me", 1, (struct serf_clocks){0, 0, 0});
    add_member(&n, "b", 2, 1);
    /* Serf's default timeout: GossipInterval (200) * 16 * ceil(log10(n + 1)). */
    assert_int_equal(serf_default_query_timeout_ms(n.sf, 2), 3200);
    assert_int_equal(serf_default_query_timeout_ms(n.sf, 10), 6400);
    serf_tick(n.sf, 1000);
    uint64_t qid;
    int64_t deadline;
    assert_int_equal(serf_query(n.sf, "info", (const uint8_t *)"hi", 2, 0, true, 2, NULL, 0, &qid,
                                &deadline, NULL),
                     0);
    assert_int_equal(deadline, 1000 + 3200);
    assert_int_equal(serf_wake(n.sf), deadline);
    /* Our own ack and answer come back without a round trip. */
    assert_int_equal(nresps, 2);
    assert_true(resps[0].ack);
    assert_string_equal(resps[0].from, "me");
    assert_false(resps[1].ack);
    assert_string_equal(resps[1].payload, "{\"ok\":1}");
    /* The query is gossiped. */
    assert_int_equal(drain_bcasts(&n, types, 64), 1);
    assert_int_equal(types[0], SERF_QUERY);
    struct serf_clocks c;
    serf_clocks(n.sf, &c);
    assert_int_equal(c.query, 2);
    /* A response with an id we never used is ignored. */
    struct serf_query_response r;
    struct serf_query q;
    size_t len;
    memset(&r, 0, sizeof(r));
    r.ltime = 1;
    r.id = 12345;
    r.flags = SERF_QUERY_ACK;
    snprintf(r.from, sizeof(r.from), "b");
    assert_int_equal(serf_query_response_encode(&r, buf, sizeof(buf), &len, NULL), 0);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(nresps, 2);
    /* A second query; its random id is read back from its broadcast. */
    serf_query_cancel(n.sf, qid);
    reset_recs();
    assert_int_equal(
        serf_query(n.sf, "noanswer", NULL, 0, 500, true, 2, NULL, 0, &qid, &deadline, NULL), 0);
    uint8_t pb[SWIM_UDP_MAX];
    struct ml_part pp[ML_COMPOUND_MAX];
    size_t k = serf_get_broadcasts(n.sf, 1398, pb, sizeof(pb), pp, ML_COMPOUND_MAX);
    assert_int_equal(k, 1);
    assert_int_equal(serf_query_decode(pp[0].p + 2, pp[0].len - 2, &q, NULL), 0);
    assert_string_equal(q.name, "noanswer");
    assert_int_equal(q.ltime, 2);
    assert_int_equal(q.timeout_ns, 500 * 1000000LL);
    assert_int_equal(q.flags, SERF_QUERY_ACK);
    assert_int_equal(q.port, 7946);
    assert_int_equal(nresps, 1); /* our own ack; no answer for that name */
    r.ltime = q.ltime;
    r.id = q.id;
    for (int i = 0; i < 2; i++) {
        r.flags = SERF_QUERY_ACK;
        r.payload = NULL;
        r.payload_len = 0;
        assert_int_equal(serf_query_response_encode(&r, buf, sizeof(buf), &len, NULL), 0);
        serf_notify_msg(n.sf, buf, len);
        r.flags = 0;
        r.payload = (const uint8_t *)"pong";
        r.payload_len = 4;
        assert_int_equal(serf_query_response_encode(&r, buf, sizeof(buf), &len, NULL), 0);
        serf_notify_msg(n.sf, buf, len);
    }
    assert_int_equal(nresps, 3);
    assert_true(resps[1].ack);
    assert_string_equal(resps[1].from, "b");
    assert_false(resps[2].ack);
    assert_string_equal(resps[2].payload, "pong");
    assert_int_equal(resps[2].qid, qid);
    /* The deadline ends it: done once, later responses ignored. */
    serf_tick(n.sf, deadline - 1);
    assert_int_equal(ndone, 0);
    serf_tick(n.sf, deadline);
    assert_int_equal(ndone, 1);
    assert_int_equal(done_qid, qid);
    serf_notify_msg(n.sf, buf, len);
    assert_int_equal(nresps, 3);
    assert_int_equal(serf_wake(n.sf), INT64_MAX);
    node_free(&n);
}

/* Push/pull user state: node a's state merged into node b. */
static void test_push_pull_roundtrip(void **state)
{
    (void)state;
    struct node a, b;
    uint8_t buf[256];
    reset_recs();
    node_init(&a, "a", 1, (struct serf_clocks){0, 0, 0});
    add_member(&a, "x", 2, 1);
    add_member(&a, "gone", 3, 1);
    size_t len = join_msg("x", 12, buf);
    serf_notify_msg(a.sf, buf, len);
    len = leave_msg("gone", 14, buf);
    serf_notify_msg(a.sf, buf, len);
    kill_member(&a, "gone", 1, true);
    assert_int_equal(serf_member_status(a.sf, "gone", NULL), SERF_ST_LEFT);
    assert_int_equal(serf_user_event(a.sf, "ev1", (const uint8_t *)"p1", 2, false, NULL), 0);
    assert_int_equal(serf_user_event(a.sf, "ev2", NULL, 0, false, NULL), 0);
    uint8_t *st = NULL;
    size_t sl = serf_local_state(a.sf, false, &st);
    assert_true(sl > 512);
    assert_int_equal(st[0], SERF_PUSH_PULL);
    struct serf_push_pull pp;
    struct serf_status ss[8];
    assert_int_equal(serf_push_pull_decode(st + 1, sl - 1, &pp, ss, 8, NULL), 0);
    assert_int_equal(pp.n_status, 3);
    assert_int_equal(pp.n_left, 1);
    assert_int_equal(pp.n_events, 2);
    assert_int_equal(pp.event_ltime, 3);

    reset_recs();
    node_init(&b, "b", 5, (struct serf_clocks){0, 0, 0});
    add_member(&b, "x", 2, 1);
    add_member(&b, "gone", 3, 1);
    serf_merge_remote_state(b.sf, st, sl, false);
    struct serf_clocks c;
    serf_clocks(b.sf, &c);
    /* a's clock 15 witnessed as 14, then the left member's intent at 14 + 1. */
    assert_int_equal(c.member, 16);
    assert_int_equal(c.event, 3);
    uint64_t lt;
    assert_int_equal(serf_member_status(b.sf, "x", &lt), SERF_ST_ALIVE);
    assert_int_equal(lt, 12);
    assert_int_equal(serf_member_status(b.sf, "gone", &lt), SERF_ST_LEAVING);
    assert_int_equal(lt, 15); /* LeftMembers: one past the status ltime (14) */
    assert_int_equal(nusers, 2);
    assert_string_equal(users[0].name, "ev1");
    assert_string_equal(users[0].payload, "p1");
    /* Merged again: nothing new. */
    serf_merge_remote_state(b.sf, st, sl, false);
    assert_int_equal(nusers, 2);
    node_free(&b);

    /* A join we started: the peer's events are not replayed (eventMinTime). */
    reset_recs();
    node_init(&b, "b", 5, (struct serf_clocks){0, 0, 0});
    serf_join_start(b.sf);
    serf_merge_remote_state(b.sf, st, sl, true);
    assert_int_equal(nusers, 0);
    node_free(&b);
    free(st);
    node_free(&a);
}

/* serf 0.9.4's push/pull user state from the capture: decoded and re-encoded byte for byte. */
struct ppcap {
    struct serf_pp_slot slots[SERF_EVENT_BUFFER];
    struct serf_pp_event ev[SERF_EVENT_BUFFER][4];
    char names[SERF_EVENT_BUFFER][4][ML_NAME_MAX + 1];
    uint8_t payloads[SERF_EVENT_BUFFER][4][64];
    char left[8][ML_NAME_MAX + 1];
    size_t nleft;
};

static void cap_left(void *arg, const char *node)
{
    struct ppcap *c = arg;
    assert_true(c->nleft < 8);
    snprintf(c->left[c->nleft++], ML_NAME_MAX + 1, "%s", node);
}

static void cap_event(void *arg, uint64_t ltime, const char *name, const uint8_t *p, size_t len)
{
    struct ppcap *c = arg;
    size_t i = ltime % SERF_EVENT_BUFFER;
    struct serf_pp_slot *s = &c->slots[i];
    assert_true(s->n < 4 && len <= 64);
    s->ltime = ltime;
    snprintf(c->names[i][s->n], ML_NAME_MAX + 1, "%s", name);
    memcpy(c->payloads[i][s->n], p, len);
    c->ev[i][s->n].name = c->names[i][s->n];
    c->ev[i][s->n].payload = len ? c->payloads[i][s->n] : NULL;
    c->ev[i][s->n].len = len;
    s->ev = c->ev[i];
    s->n++;
}

static void test_push_pull_capture(void **state)
{
    (void)state;
    static struct capture cap;
    static struct ppcap pc;
    assert_int_equal(cap_load(&cap, "plain.txt"), 0);
    size_t checked = 0;
    for (int dir = 0; dir < 2; dir++) {
        /* The one push/pull: its client port talks to alpha (33946). */
        int cport = -1;
        for (size_t i = 0; i < cap.n && cport < 0; i++)
            if (cap.rec[i].tcp && cap.rec[i].dport == 33946)
                cport = cap.rec[i].sport;
        assert_true(cport > 0);
        int sp = dir ? 33946 : cport, dp = dir ? cport : 33946;
        uint8_t *s = NULL;
        size_t len = 0;
        for (size_t i = 0; i < cap.n; i++) {
            const struct cap_rec *r = &cap.rec[i];
            if (!r->tcp || r->sport != sp || r->dport != dp)
                continue;
            s = realloc(s, len + r->len);
            memcpy(s + len, r->data, r->len);
            len += r->len;
        }
        assert_non_null(s);
        uint8_t *in = NULL;
        size_t inlen, used;
        struct weft_err e = {{0}};
        assert_int_equal(s[0], ML_COMPRESS);
        assert_int_equal(
            ml_compress_unwrap(s + 1, len - 1, ML_DECOMPRESS_MAX, &in, &inlen, &used, &e), 0);
        static struct ml_push_node nodes[64];
        struct ml_push_pull_header h;
        const uint8_t *us;
        assert_int_equal(ml_push_pull_decode(in + 1, inlen - 1, &h, nodes, 64, &us, &e), 0);
        assert_true(h.user_state_len > 0);
        assert_int_equal(us[0], SERF_PUSH_PULL);
        memset(&pc, 0, sizeof(pc));
        struct serf_push_pull pp;
        struct serf_status st[16];
        struct serf_pp_visitor v = {&pc, cap_left, cap_event};
        assert_int_equal(serf_push_pull_walk(us + 1, h.user_state_len - 1, &pp, st, 16, &v, &e), 0);
        assert_true(pp.n_status >= 1);
        const char *left[8];
        for (size_t i = 0; i < pc.nleft; i++)
            left[i] = pc.left[i];
        uint8_t out[16384];
        size_t ol;
        assert_int_equal(serf_push_pull_encode(&pp, st, pp.n_status, left, pc.nleft, pc.slots,
                                               SERF_EVENT_BUFFER, out, sizeof(out), &ol, &e),
                         0);
        assert_int_equal(ol, h.user_state_len);
        assert_memory_equal(out, us, ol);
        checked++;
        free(in);
        free(s);
    }
    assert_int_equal(checked, 2);
    cap_free(&cap);
}

/* Broadcasts fit the room they are given; intents go before queries and events. */
static void test_broadcast_room(void **state)
{
    (void)state;
    struct node n;
    uint8_t buf[256];
    reset_recs();
    node_init(&n, "me", 1, (struct serf_clocks){0, 0, 0});
    assert_int_equal(serf_user_event(n.sf, "e", (const uint8_t *)"payload", 7, false, NULL), 0);
    size_t len = join_msg("z", 3, buf);
    serf_notify_msg(n.sf, buf, len);
    uint8_t out[SWIM_UDP_MAX];
    struct ml_part parts[8];
    /* Too little room for anything. */
    assert_int_equal(serf_get_broadcasts(n.sf, 10, out, sizeof(out), parts, 8), 0);
    /* Room for the join intent only (its length + 2). */
    size_t k = serf_get_broadcasts(n.sf, len + 1 + 2, out, sizeof(out), parts, 8);
    assert_int_equal(k, 1);
    assert_int_equal(parts[0].p[1], SERF_JOIN);
    assert_int_equal(parts[0].len, len + 1);
    k = serf_get_broadcasts(n.sf, 1398, out, sizeof(out), parts, 8);
    assert_int_equal(k, 2);
    assert_int_equal(parts[0].p[1], SERF_JOIN);
    assert_int_equal(parts[1].p[1], SERF_USER_EVENT);
    node_free(&n);
}

/* The core's delegate hooks: broadcasts piggybacked on gossip, user state in push/pull,
 * user messages from a stream. */
struct user_seen {
    size_t users;
    uint8_t serf_type;
};

static int find_user(void *ctx, enum ml_type t, const uint8_t *b, size_t len, struct weft_err *e)
{
    struct user_seen *u = ctx;
    (void)e;
    if (t == ML_USER && len > 0) {
        u->users++;
        u->serf_type = b[0];
    }
    return 0;
}

static void test_swim_hooks(void **state)
{
    (void)state;
    struct node n;
    struct weft_err e = {{0}};
    reset_recs();
    node_init(&n, "me", 1, (struct serf_clocks){0, 0, 0});
    add_member(&n, "b", 2, 1);
    assert_int_equal(serf_user_event(n.sf, "hello", (const uint8_t *)"w", 1, false, NULL), 0);
    /* The next gossip round carries the event as a user message. */
    struct user_seen u = {0, 0};
    for (int64_t t = 10; t < 2000 && u.users == 0; t += 50) {
        swim_on_timer(n.sw, t, &n.act);
        for (size_t i = 0; i < n.act.npkt; i++)
            assert_int_equal(ml_packet_walk(n.act.pkt[i].buf, n.act.pkt[i].len, find_user, &u, &e),
                             0);
    }
    assert_true(u.users >= 1);
    assert_int_equal(u.serf_type, SERF_USER_EVENT);
    /* A join's push/pull carries Serf's user state. */
    struct swim_addr seed = addr_of(9, 7946);
    swim_join(n.sw, 2000, &seed, 1, &n.act);
    assert_int_equal(n.act.nstream, 1);
    static struct ml_push_node nodes[8];
    struct ml_push_pull_header h;
    const uint8_t *us;
    assert_int_equal(ml_push_pull_decode(n.act.stream[0].buf + 1, n.act.stream[0].len - 1, &h,
                                         nodes, 8, &us, &e),
                     0);
    assert_true(h.join);
    assert_true(h.user_state_len > 512);
    assert_int_equal(us[0], SERF_PUSH_PULL);
    /* A reliable user message (stream) reaches the layer. */
    uint8_t msg[256];
    msg[0] = ML_USER;
    size_t len = event_msg("by-stream", "s", 50, msg + 1);
    assert_int_equal(swim_on_stream(n.sw, 2100, &seed, false, 1, msg, len + 1, &n.act, &e), 0);
    assert_string_equal(users[nusers - 1].name, "by-stream");
    node_free(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clocks),
        cmocka_unit_test(test_intents),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_queries_in),
        cmocka_unit_test(test_queries_out),
        cmocka_unit_test(test_push_pull_roundtrip),
        cmocka_unit_test(test_push_pull_capture),
        cmocka_unit_test(test_broadcast_room),
        cmocka_unit_test(test_swim_hooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
