/*
 * serf: Serf 0.9.4's layer as a pure state machine (see serf.h and
 * docs/gossip.md "The Serf layer").
 *
 * Lamport clocks (lamport.go): Time() is the counter, Increment() returns
 * the new value, Witness(v) sets the counter to v + 1 when v >= counter.
 * A new node starts each clock at 1, then witnesses the persisted values
 * (Serf's snapshot), and sets its minimum event and query times one above
 * them, so a restarted node neither reuses an ltime nor replays old news.
 *
 * Deviations from Serf, on purpose:
 *  - the query tag filter is matched with POSIX regcomp(REG_EXTENDED), not
 *    Go's RE2: the common subset (anchors, classes, alternation,
 *    repetition) agrees; Perl classes like \d and (?i) do not exist here
 *    and make the filter not match;
 *  - bounds: events per event-buffer slot, query ids per slot, recent
 *    intents and our queries in flight are capped (serf.h);
 *  - only the node that called serf_join_start() applies the minimum event
 *    time of a join push/pull (Serf: eventJoinIgnore during Join());
 *  - the reconnect loop (serf_reconnect) stops once we leave; Serf's runs
 *    until shutdown.
 */
#include "gossip/serf.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/ml_msg.h"
#include "gossip/serf_keys.h"
#include "gossip/swim.h"
#include "gossip/swim_bcast.h"

#define SERF_INTERNAL_PREFIX "_serf_"
/* How long after serf_join_start() a join push/pull sets the minimum event time. */
#define SERF_JOIN_IGNORE_MS 15000

struct serf_mem {
    char name[ML_NAME_MAX + 1];
    uint64_t hash;
    enum serf_mstatus status;
    uint64_t status_ltime;
    int64_t leave_ms;
    struct swim_addr addr;
    uint8_t vsn[ML_VSN_LEN];
    uint8_t *meta; /* malloc'd node meta (tags); NULL when empty */
    size_t meta_len;
};

struct serf_intent {
    char node[ML_NAME_MAX + 1];
    uint64_t hash;
    enum serf_type type;
    uint64_t ltime;
    int64_t wall_ms;
};

struct serf_ev {
    char *name;
    uint8_t *payload;
    size_t len;
};

struct serf_evslot {
    uint64_t ltime;
    size_t n; /* 0: empty */
    size_t cap;
    struct serf_ev *ev; /* malloc'd, grown up to SERF_SLOT_EVENTS_MAX */
};

struct serf_qslot {
    uint64_t ltime;
    size_t n;
    uint32_t ids[SERF_SLOT_IDS_MAX];
};

struct serf_hashset {
    uint64_t *v;
    size_t n, cap;
};

struct serf_myq {
    bool used;
    uint64_t qid;
    uint64_t ltime;
    uint32_t id;
    int64_t deadline_ms;
    struct serf_hashset acks, resps;
};

struct serf {
    char name[ML_NAME_MAX + 1];
    struct swim_addr addr;
    uint8_t vsn[ML_VSN_LEN];
    int64_t gossip_interval_ms;
    unsigned retransmit_mult;
    size_t members_max;
    struct serf_hooks h;
    struct keyring *kr;
    uint64_t rng;
    int64_t now;
    int64_t reconnect_interval_ms, reconnect_timeout_ms;
    int64_t reconnect_next_ms; /* 0: not armed yet (the first serf_tick arms it) */

    struct serf_clocks clk;
    uint64_t event_min, query_min;
    bool leaving;
    bool leave_sent;
    int64_t join_ignore_until;

    struct serf_mem **mem;
    size_t n_mem;
    struct serf_intent *intents; /* grown on demand up to SERF_INTENTS_MAX */
    size_t n_intents, cap_intents;
    struct serf_evslot *evs; /* SERF_EVENT_BUFFER */
    struct serf_qslot *qs;   /* SERF_QUERY_BUFFER */
    struct serf_myq myq[SERF_QUERIES_MAX];
    uint64_t next_qid;

    struct swim_bqueue bq_intent, bq_query, bq_event;
    uint64_t bkey;

    struct serf_send *out; /* SERF_OUTBOX_MAX */
    size_t n_out;

    struct serf_tag *tags; /* SERF_TAGS_MAX */
    size_t ntags;

    struct serf_counters ctr;
};

/* ---- small helpers ------------------------------------------------------ */

static uint64_t hash_name(const char *p)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (; *p; p++)
        h = (h ^ (unsigned char)*p) * UINT64_C(0x100000001b3);
    return h;
}

static uint64_t rng_next(struct serf *s)
{
    uint64_t z = (s->rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void witness(uint64_t *clock, uint64_t v)
{
    if (v >= *clock)
        *clock = v + 1;
}

static bool hs_add(struct serf_hashset *hs, uint64_t h)
{
    for (size_t i = 0; i < hs->n; i++)
        if (hs->v[i] == h)
            return false;
    if (hs->n == hs->cap) {
        size_t nc = hs->cap ? hs->cap * 2 : 16;
        uint64_t *v = realloc(hs->v, nc * sizeof(*v));
        if (!v)
            return false;
        hs->v = v;
        hs->cap = nc;
    }
    hs->v[hs->n++] = h;
    return true;
}

static void hs_free(struct serf_hashset *hs)
{
    free(hs->v);
    memset(hs, 0, sizeof(*hs));
}

static bool addr_same(const struct swim_addr *a, const uint8_t *ip, size_t ip_len, uint16_t port)
{
    return a->ip_len == ip_len && a->port == port && memcmp(a->ip, ip, ip_len) == 0;
}

/* ---- members ------------------------------------------------------------- */

static struct serf_mem *mem_find(const struct serf *s, const char *name)
{
    uint64_t h = hash_name(name);
    for (size_t i = 0; i < s->n_mem; i++)
        if (s->mem[i]->hash == h && strcmp(s->mem[i]->name, name) == 0)
            return s->mem[i];
    return NULL;
}

static struct serf_mem *mem_add(struct serf *s, const char *name)
{
    if (s->n_mem >= s->members_max) {
        s->ctr.members_dropped++;
        return NULL;
    }
    struct serf_mem *m = calloc(1, sizeof(*m));
    if (!m) {
        s->ctr.members_dropped++;
        return NULL;
    }
    snprintf(m->name, sizeof(m->name), "%s", name);
    m->hash = hash_name(name);
    s->mem[s->n_mem++] = m;
    return m;
}

static void mem_set_meta(struct serf_mem *m, const uint8_t *meta, size_t len)
{
    free(m->meta);
    m->meta = NULL;
    m->meta_len = 0;
    if (len && (m->meta = malloc(len))) {
        memcpy(m->meta, meta, len);
        m->meta_len = len;
    }
}

static void mem_from_swim(struct serf_mem *m, const struct swim_member *sm)
{
    size_t ml;
    const uint8_t *meta = swim_member_meta(sm, &ml);
    m->addr = *swim_member_addr(sm);
    memcpy(m->vsn, swim_member_vsn(sm), ML_VSN_LEN);
    mem_set_meta(m, meta, ml);
}

/* ---- intents buffer (upsertIntent / recentIntent) ------------------------ */

static struct serf_intent *intent_find(struct serf *s, const char *node)
{
    uint64_t h = hash_name(node);
    for (size_t i = 0; i < s->n_intents; i++)
        if (s->intents[i].hash == h && strcmp(s->intents[i].node, node) == 0)
            return &s->intents[i];
    return NULL;
}

static bool intent_upsert(struct serf *s, const char *node, enum serf_type t, uint64_t ltime)
{
    struct serf_intent *in = intent_find(s, node);
    if (in && ltime <= in->ltime)
        return false;
    if (!in) {
        if (s->n_intents == SERF_INTENTS_MAX) {
            /* Full: the oldest one goes. */
            size_t old = 0;
            for (size_t i = 1; i < s->n_intents; i++)
                if (s->intents[i].wall_ms < s->intents[old].wall_ms)
                    old = i;
            s->intents[old] = s->intents[--s->n_intents];
        }
        if (s->n_intents == s->cap_intents) {
            size_t nc = s->cap_intents ? 2 * s->cap_intents : 16;
            if (nc > SERF_INTENTS_MAX)
                nc = SERF_INTENTS_MAX;
            struct serf_intent *v = realloc(s->intents, nc * sizeof(*v));
            if (!v)
                return false;
            s->intents = v;
            s->cap_intents = nc;
        }
        in = &s->intents[s->n_intents++];
        snprintf(in->node, sizeof(in->node), "%s", node);
        in->hash = hash_name(node);
    }
    in->type = t;
    in->ltime = ltime;
    in->wall_ms = s->now;
    return true;
}

/* ---- output -------------------------------------------------------------- */

static void out_send(struct serf *s, const uint8_t *ip, size_t ip_len, uint16_t port,
                     const uint8_t *msg, size_t len);

/* Queue a serf message ([serf type][body]) on q, framed as a user message. */
static void queue_bcast(struct serf *s, struct swim_bqueue *q, const uint8_t *msg, size_t len,
                        bool leave)
{
    uint8_t buf[SWIM_UDP_MAX + 1];
    char key[32];
    if (len + 1 > sizeof(buf)) {
        s->ctr.bcast_dropped++;
        return;
    }
    buf[0] = ML_USER;
    memcpy(buf + 1, msg, len);
    /* A unique key: Serf's broadcasts never invalidate each other. */
    snprintf(key, sizeof(key), "\x01serf%llu", (unsigned long long)++s->bkey);
    if (swim_bq_push(q, key, buf, len + 1, leave) != 0)
        s->ctr.bcast_dropped++;
}

/* ---- intents (handleNodeJoinIntent / handleNodeLeaveIntent) -------------- */

static bool handle_join_intent(struct serf *s, const struct serf_join *j);

static void broadcast_join(struct serf *s, uint64_t ltime)
{
    struct serf_join j;
    uint8_t buf[256];
    size_t len;
    memset(&j, 0, sizeof(j));
    j.ltime = ltime;
    snprintf(j.node, sizeof(j.node), "%s", s->name);
    witness(&s->clk.member, ltime);
    handle_join_intent(s, &j);
    if (serf_join_encode(&j, buf, sizeof(buf), &len, NULL) == 0)
        queue_bcast(s, &s->bq_intent, buf, len, false);
}

static bool handle_join_intent(struct serf *s, const struct serf_join *j)
{
    witness(&s->clk.member, j->ltime);
    struct serf_mem *m = mem_find(s, j->node);
    if (!m)
        return intent_upsert(s, j->node, SERF_JOIN, j->ltime);
    if (j->ltime <= m->status_ltime)
        return false;
    m->status_ltime = j->ltime;
    if (m->status == SERF_ST_LEAVING)
        m->status = SERF_ST_ALIVE;
    return true;
}

static bool handle_leave_intent(struct serf *s, const struct serf_leave *l)
{
    witness(&s->clk.member, l->ltime);
    struct serf_mem *m = mem_find(s, l->node);
    if (!m)
        return intent_upsert(s, l->node, SERF_LEAVE, l->ltime);
    if (l->ltime <= m->status_ltime)
        return false;
    if (strcmp(l->node, s->name) == 0 && !s->leaving) {
        /* Refute an older leave intent about us. */
        broadcast_join(s, s->clk.member);
        return false;
    }
    switch (m->status) {
    case SERF_ST_ALIVE:
        m->status = SERF_ST_LEAVING;
        m->status_ltime = l->ltime;
        return true;
    case SERF_ST_FAILED:
        m->status = SERF_ST_LEFT;
        m->status_ltime = l->ltime;
        return true;
    default:
        return false;
    }
}

/* ---- user events (handleUserEvent) --------------------------------------- */

static void slot_clear(struct serf_evslot *sl)
{
    for (size_t i = 0; i < sl->n; i++) {
        free(sl->ev[i].name);
        free(sl->ev[i].payload);
    }
    sl->n = 0;
}

static bool handle_user_event(struct serf *s, uint64_t ltime, const char *name,
                              const uint8_t *payload, size_t len, bool cc)
{
    witness(&s->clk.event, ltime);
    if (ltime < s->event_min) {
        s->ctr.events_old++;
        return false;
    }
    uint64_t cur = s->clk.event;
    if (cur > SERF_EVENT_BUFFER && ltime < cur - SERF_EVENT_BUFFER) {
        s->ctr.events_old++;
        return false;
    }
    struct serf_evslot *sl = &s->evs[ltime % SERF_EVENT_BUFFER];
    if (sl->n && sl->ltime == ltime) {
        for (size_t i = 0; i < sl->n; i++) {
            if (strcmp(sl->ev[i].name, name) == 0 && sl->ev[i].len == len &&
                (len == 0 || memcmp(sl->ev[i].payload, payload, len) == 0)) {
                s->ctr.events_dup++;
                return false;
            }
        }
    } else {
        slot_clear(sl);
        sl->ltime = ltime;
    }
    if (sl->n == SERF_SLOT_EVENTS_MAX) {
        s->ctr.events_dup++;
        return false;
    }
    if (sl->n == sl->cap) {
        size_t nc = sl->cap ? 2 * sl->cap : 2;
        if (nc > SERF_SLOT_EVENTS_MAX)
            nc = SERF_SLOT_EVENTS_MAX;
        struct serf_ev *v = realloc(sl->ev, nc * sizeof(*v));
        if (!v)
            return false;
        sl->ev = v;
        sl->cap = nc;
    }
    struct serf_ev *ev = &sl->ev[sl->n];
    ev->name = strdup(name);
    ev->payload = len ? malloc(len) : NULL;
    if (!ev->name || (len && !ev->payload)) {
        free(ev->name);
        free(ev->payload);
        return false;
    }
    if (len)
        memcpy(ev->payload, payload, len);
    ev->len = len;
    sl->n++;
    s->ctr.events_received++;
    if (s->h.on_user) {
        struct serf_rec r = {false, ltime, name, payload, len, "", cc};
        s->h.on_user(s->h.arg, &r);
    }
    return true;
}

/* ---- queries (handleQuery, shouldProcessQuery, Respond, relayResponse) --- */

static bool should_process(struct serf *s, const struct serf_query *q)
{
    for (size_t i = 0; i < q->n_filters; i++) {
        const uint8_t *f = q->filters[i].p;
        size_t fl = q->filters[i].len;
        struct weft_err e = {{0}};
        if (fl < 1)
            return false;
        if (f[0] == SERF_FILTER_NODE) {
            bool found;
            if (serf_filter_nodes_has(f + 1, fl - 1, s->name, &found, &e) != 0 || !found)
                return false;
        } else if (f[0] == SERF_FILTER_TAG) {
            char tag[SERF_TAG_KEY_MAX + 1], expr[512];
            if (serf_filter_tag_decode(f + 1, fl - 1, tag, sizeof(tag), expr, sizeof(expr), &e) !=
                0)
                return false;
            const char *v = serf_tag_get(s->tags, s->ntags, tag);
            regex_t re;
            if (regcomp(&re, expr, REG_EXTENDED | REG_NOSUB) != 0)
                return false;
            int rc = regexec(&re, v ? v : "", 0, NULL, 0);
            regfree(&re);
            if (rc != 0)
                return false;
        } else {
            return false;
        }
    }
    return true;
}

static bool want_relay(const struct serf *s, const struct serf_mem *m)
{
    return m->status == SERF_ST_ALIVE && m->vsn[ML_VSN_PMAX] >= 5 && strcmp(m->name, s->name) != 0;
}

/* relayResponse: the response also through relay_factor random members. */
static void relay_response(struct serf *s, uint8_t factor, const struct serf_query *q,
                           const uint8_t *msg, size_t len)
{
    if (factor == 0 || s->n_mem < (size_t)factor + 1)
        return;
    uint8_t buf[SWIM_UDP_MAX];
    size_t blen;
    if (serf_relay_encode(q->addr, q->addr_len, q->port, msg, len, buf, sizeof(buf), &blen, NULL) !=
        0)
        return;
    struct serf_mem *pick[256];
    size_t got = 0;
    for (size_t t = 0; t < 3 * s->n_mem && got < factor; t++) {
        struct serf_mem *m = s->mem[rng_next(s) % s->n_mem];
        bool dup = false;
        for (size_t k = 0; k < got; k++)
            dup = dup || pick[k] == m;
        if (!dup && want_relay(s, m))
            pick[got++] = m;
    }
    for (size_t k = 0; k < got; k++) {
        out_send(s, pick[k]->addr.ip, pick[k]->addr.ip_len, pick[k]->addr.port, buf, blen);
        s->ctr.relays++;
    }
}

static void respond(struct serf *s, const struct serf_query *q, uint32_t flags,
                    const uint8_t *payload, size_t len)
{
    struct serf_query_response r;
    uint8_t buf[SWIM_UDP_MAX];
    size_t blen;
    memset(&r, 0, sizeof(r));
    r.ltime = q->ltime;
    r.id = q->id;
    snprintf(r.from, sizeof(r.from), "%s", s->name);
    r.flags = flags;
    r.payload = payload;
    r.payload_len = len;
    if (serf_query_response_encode(&r, buf, sizeof(buf), &blen, NULL) != 0 ||
        blen > SERF_QUERY_RESPONSE_SIZE_LIMIT) {
        s->ctr.outbox_dropped++;
        return;
    }
    if (q->addr_len != 4 && q->addr_len != 16) {
        s->ctr.bad_messages++; /* nowhere to answer */
        return;
    }
    out_send(s, q->addr, q->addr_len, q->port, buf, blen);
    relay_response(s, q->relay_factor, q, buf, blen);
    if (flags & SERF_QUERY_ACK)
        s->ctr.acks_sent++;
    else
        s->ctr.responses_sent++;
}

static void handle_conflict(struct serf *s, const struct serf_query *q)
{
    char node[ML_NAME_MAX + 1];
    uint8_t buf[SERF_QUERY_RESPONSE_SIZE_LIMIT];
    size_t len;
    if (q->payload_len == 0 || q->payload_len > ML_NAME_MAX)
        return;
    memcpy(node, q->payload, q->payload_len);
    node[q->payload_len] = '\0';
    if (strcmp(node, s->name) == 0)
        return;
    const struct serf_mem *m = mem_find(s, node);
    struct serf_tag *tags = NULL;
    size_t nt = 0;
    struct serf_member_rec rec;
    if (m) {
        tags = calloc(SERF_TAGS_MAX, sizeof(*tags));
        if (!tags || (m->meta_len &&
                      serf_tags_decode(m->meta, m->meta_len, tags, SERF_TAGS_MAX, &nt, NULL) != 0))
            nt = 0;
        memset(&rec, 0, sizeof(rec));
        rec.name = m->name;
        rec.addr = m->addr.ip;
        rec.addr_len = m->addr.ip_len;
        rec.port = m->addr.port;
        rec.tags = tags;
        rec.ntags = nt;
        rec.status = (int)m->status;
        memcpy(rec.vsn, m->vsn, ML_VSN_LEN);
    }
    if (serf_conflict_encode(m ? &rec : NULL, buf, sizeof(buf), &len, NULL) == 0)
        respond(s, q, 0, buf, len);
    free(tags);
}

static void handle_internal(struct serf *s, const struct serf_query *q)
{
    const char *op = q->name + strlen(SERF_INTERNAL_PREFIX);
    if (strcmp(op, "ping") == 0)
        return; /* the ack is the answer */
    if (strcmp(op, "conflict") == 0) {
        handle_conflict(s, q);
        return;
    }
    uint8_t resp[SERF_QUERY_RESPONSE_SIZE_LIMIT];
    size_t rlen = 0;
    bool changed = false;
    struct weft_err e = {{0}};
    size_t cap = serf_keys_resp_budget(s->name);
    if (cap > sizeof(resp))
        cap = sizeof(resp);
    int rc = serf_keys_handle(s->kr, q->name, q->payload, q->payload_len, resp, cap, &rlen,
                              &changed, &e);
    if (rc == 1) {
        respond(s, q, 0, resp, rlen);
        if (changed && s->h.on_keys_changed)
            s->h.on_keys_changed(s->h.arg);
    } else if (rc < 0) {
        s->ctr.bad_messages++; /* a malformed key request: no answer, as serf */
    }
}

static bool handle_query(struct serf *s, const struct serf_query *q)
{
    witness(&s->clk.query, q->ltime);
    if (q->ltime < s->query_min) {
        s->ctr.queries_old++;
        return false;
    }
    uint64_t cur = s->clk.query;
    if (cur > SERF_QUERY_BUFFER && q->ltime < cur - SERF_QUERY_BUFFER) {
        s->ctr.queries_old++;
        return false;
    }
    struct serf_qslot *sl = &s->qs[q->ltime % SERF_QUERY_BUFFER];
    if (sl->n && sl->ltime == q->ltime) {
        for (size_t i = 0; i < sl->n; i++) {
            if (sl->ids[i] == q->id) {
                s->ctr.queries_dup++;
                return false;
            }
        }
    } else {
        sl->n = 0;
        sl->ltime = q->ltime;
    }
    if (sl->n < SERF_SLOT_IDS_MAX)
        sl->ids[sl->n++] = q->id;
    s->ctr.queries_received++;
    bool rebroadcast = !(q->flags & SERF_QUERY_NO_BROADCAST);
    if (!should_process(s, q)) {
        s->ctr.queries_filtered++;
        return rebroadcast;
    }
    if (q->flags & SERF_QUERY_ACK)
        respond(s, q, SERF_QUERY_ACK, NULL, 0);
    if (strncmp(q->name, SERF_INTERNAL_PREFIX, strlen(SERF_INTERNAL_PREFIX)) == 0) {
        handle_internal(s, q);
        return rebroadcast;
    }
    if (s->h.on_user) {
        struct serf_rec r = {true,           q->ltime,       q->name, q->payload,
                             q->payload_len, q->source_node, false};
        s->h.on_user(s->h.arg, &r);
    }
    if (s->h.answer) {
        uint8_t resp[SERF_QUERY_RESPONSE_SIZE_LIMIT];
        size_t rlen = 0;
        if (s->h.answer(s->h.arg, q->name, q->payload, q->payload_len, resp, sizeof(resp) - 256,
                        &rlen) == 1)
            respond(s, q, 0, resp, rlen);
    }
    return rebroadcast;
}

static void handle_response(struct serf *s, const struct serf_query_response *r)
{
    for (size_t i = 0; i < SERF_QUERIES_MAX; i++) {
        struct serf_myq *q = &s->myq[i];
        if (!q->used || q->ltime != r->ltime || q->id != r->id)
            continue;
        bool ack = (r->flags & SERF_QUERY_ACK) != 0;
        if (!hs_add(ack ? &q->acks : &q->resps, hash_name(r->from)))
            return;
        if (ack)
            s->ctr.acks_received++;
        else
            s->ctr.responses_received++;
        if (s->h.on_response)
            s->h.on_response(s->h.arg, q->qid, r->from, r->payload, r->payload_len, ack);
        return;
    }
}

/* ---- output to an address ------------------------------------------------ */

static void out_send(struct serf *s, const uint8_t *ip, size_t ip_len, uint16_t port,
                     const uint8_t *msg, size_t len)
{
    if (addr_same(&s->addr, ip, ip_len, port)) {
        /* To ourselves (our own query's ack or answer): no round trip. */
        serf_notify_msg(s, msg, len);
        return;
    }
    if (s->n_out >= SERF_OUTBOX_MAX || len + 1 > SWIM_UDP_MAX) {
        s->ctr.outbox_dropped++;
        return;
    }
    struct serf_send *o = &s->out[s->n_out++];
    memset(&o->to, 0, sizeof(o->to));
    memcpy(o->to.ip, ip, ip_len);
    o->to.ip_len = (uint8_t)ip_len;
    o->to.port = port;
    o->buf[0] = ML_USER;
    memcpy(o->buf + 1, msg, len);
    o->len = len + 1;
}

/* ---- the delegate ---------------------------------------------------------- */

void serf_notify_msg(struct serf *s, const uint8_t *msg, size_t len)
{
    struct weft_err e = {{0}};
    bool rb = false;
    struct swim_bqueue *q = &s->bq_intent;
    if (len < 1)
        return;
    const uint8_t *b = msg + 1;
    size_t bl = len - 1;
    switch (msg[0]) {
    case SERF_LEAVE: {
        struct serf_leave l;
        if (serf_leave_decode(b, bl, &l, &e) != 0)
            goto bad;
        s->ctr.intents_received++;
        rb = handle_leave_intent(s, &l);
        break;
    }
    case SERF_JOIN: {
        struct serf_join j;
        if (serf_join_decode(b, bl, &j, &e) != 0)
            goto bad;
        s->ctr.intents_received++;
        rb = handle_join_intent(s, &j);
        break;
    }
    case SERF_USER_EVENT: {
        struct serf_user_event u;
        if (serf_user_event_decode(b, bl, &u, &e) != 0)
            goto bad;
        rb = handle_user_event(s, u.ltime, u.name, u.payload, u.payload_len, u.cc);
        q = &s->bq_event;
        break;
    }
    case SERF_QUERY: {
        struct serf_query qm;
        if (serf_query_decode(b, bl, &qm, &e) != 0)
            goto bad;
        rb = handle_query(s, &qm);
        q = &s->bq_query;
        break;
    }
    case SERF_QUERY_RESPONSE: {
        struct serf_query_response r;
        if (serf_query_response_decode(b, bl, &r, &e) != 0)
            goto bad;
        handle_response(s, &r);
        break;
    }
    case SERF_RELAY: {
        uint8_t ip[ML_ADDR_MAX];
        size_t ipl;
        uint16_t port;
        const uint8_t *inner;
        size_t il;
        if (serf_relay_decode(b, bl, ip, &ipl, &port, &inner, &il, &e) != 0)
            goto bad;
        s->ctr.relays++;
        out_send(s, ip, ipl, port, inner, il);
        break;
    }
    default:
        /* Serf logs and drops unknown types (newer versions' messages). */
        return;
    }
    if (rb)
        queue_bcast(s, q, msg, len, false);
    return;
bad:
    s->ctr.bad_messages++;
}

size_t serf_get_broadcasts(struct serf *s, size_t room, uint8_t *buf, size_t cap,
                           struct ml_part *parts, size_t max)
{
    unsigned limit = swim_retransmit_limit(s->retransmit_mult, s->n_mem);
    struct swim_bqueue *qs[3] = {&s->bq_intent, &s->bq_query, &s->bq_event};
    size_t n = 0, off = 0;
    for (int i = 0; i < 3 && n < max; i++) {
        if (qs[i]->n == 0)
            continue;
        size_t got = swim_bq_take(qs[i], room, limit, buf + off, cap - off, parts + n, max - n,
                                  &s->leave_sent);
        for (size_t k = 0; k < got; k++) {
            off += parts[n + k].len;
            room -= parts[n + k].len + 2;
        }
        n += got;
        if (room < 4)
            break;
    }
    return n;
}

size_t serf_local_state(struct serf *s, bool join, uint8_t **out)
{
    (void)join;
    *out = NULL;
    struct serf_status *st = malloc((s->n_mem + 1) * sizeof(*st));
    const char **left = malloc((s->n_mem + 1) * sizeof(*left));
    struct serf_pp_slot *slots = calloc(SERF_EVENT_BUFFER, sizeof(*slots));
    struct serf_pp_event *evs = calloc(SERF_EVENT_BUFFER * SERF_SLOT_EVENTS_MAX, sizeof(*evs));
    size_t nl = 0, cap = 128 + SERF_EVENT_BUFFER * 16, len = 0;
    if (!st || !left || !slots || !evs)
        goto out;
    for (size_t i = 0; i < s->n_mem; i++) {
        const struct serf_mem *m = s->mem[i];
        snprintf(st[i].node, sizeof(st[i].node), "%s", m->name);
        st[i].ltime = m->status_ltime;
        cap += 2 * strlen(m->name) + 24;
        if (m->status == SERF_ST_LEFT)
            left[nl++] = m->name;
    }
    for (size_t i = 0; i < SERF_EVENT_BUFFER; i++) {
        const struct serf_evslot *sl = &s->evs[i];
        slots[i].ltime = sl->ltime;
        slots[i].n = sl->n;
        slots[i].ev = &evs[i * SERF_SLOT_EVENTS_MAX];
        for (size_t k = 0; k < sl->n; k++) {
            evs[i * SERF_SLOT_EVENTS_MAX + k].name = sl->ev[k].name;
            evs[i * SERF_SLOT_EVENTS_MAX + k].payload = sl->ev[k].payload;
            evs[i * SERF_SLOT_EVENTS_MAX + k].len = sl->ev[k].len;
            cap += strlen(sl->ev[k].name) + sl->ev[k].len + 32;
        }
    }
    struct serf_push_pull pp = {0};
    pp.ltime = s->clk.member;
    pp.event_ltime = s->clk.event;
    pp.query_ltime = s->clk.query;
    *out = malloc(cap);
    if (*out && serf_push_pull_encode(&pp, st, s->n_mem, left, nl, slots, SERF_EVENT_BUFFER, *out,
                                      cap, &len, NULL) != 0) {
        free(*out);
        *out = NULL;
        len = 0;
    }
out:
    free(st);
    free(left);
    free(slots);
    free(evs);
    return len;
}

struct merge_ctx {
    struct serf *s;
    const struct serf_status *st;
    size_t n_st;
    uint64_t *left;
    size_t n_left, cap_left;
};

static void merge_left(void *arg, const char *node)
{
    struct merge_ctx *c = arg;
    struct serf_leave l;
    memset(&l, 0, sizeof(l));
    snprintf(l.node, sizeof(l.node), "%s", node);
    for (size_t i = 0; i < c->n_st; i++)
        if (strcmp(c->st[i].node, node) == 0)
            l.ltime = c->st[i].ltime;
    l.ltime++;
    handle_leave_intent(c->s, &l);
    if (c->n_left == c->cap_left) {
        size_t nc = c->cap_left ? 2 * c->cap_left : 16;
        uint64_t *v = realloc(c->left, nc * sizeof(*v));
        if (!v)
            return;
        c->left = v;
        c->cap_left = nc;
    }
    c->left[c->n_left++] = hash_name(node);
}

static void merge_event(void *arg, uint64_t ltime, const char *name, const uint8_t *payload,
                        size_t len)
{
    struct merge_ctx *c = arg;
    handle_user_event(c->s, ltime, name, payload, len, false);
}

void serf_merge_remote_state(struct serf *s, const uint8_t *buf, size_t len, bool join)
{
    struct weft_err e = {{0}};
    struct serf_push_pull pp;
    if (len < 1 || buf[0] != SERF_PUSH_PULL)
        return;
    size_t max = s->members_max;
    struct serf_status *st = malloc(max * sizeof(*st));
    if (!st)
        return;
    struct merge_ctx c = {s, st, 0, NULL, 0, 0};
    if (serf_push_pull_decode(buf + 1, len - 1, &pp, st, max, &e) != 0) {
        s->ctr.bad_messages++;
        free(st);
        return;
    }
    c.n_st = pp.n_status;
    if (pp.ltime > 0)
        witness(&s->clk.member, pp.ltime - 1);
    if (pp.event_ltime > 0)
        witness(&s->clk.event, pp.event_ltime - 1);
    if (pp.query_ltime > 0)
        witness(&s->clk.query, pp.query_ltime - 1);
    struct serf_pp_visitor v = {&c, merge_left, NULL};
    (void)serf_push_pull_walk(buf + 1, len - 1, &pp, st, max, &v, &e);
    for (size_t i = 0; i < c.n_st; i++) {
        uint64_t h = hash_name(st[i].node);
        bool is_left = false;
        for (size_t k = 0; k < c.n_left && !is_left; k++)
            is_left = c.left[k] == h;
        if (is_left)
            continue;
        struct serf_join j;
        memset(&j, 0, sizeof(j));
        j.ltime = st[i].ltime;
        memcpy(j.node, st[i].node, sizeof(j.node));
        handle_join_intent(s, &j);
    }
    if (join && s->now < s->join_ignore_until && pp.event_ltime > s->event_min)
        s->event_min = pp.event_ltime;
    struct serf_pp_visitor ve = {&c, NULL, merge_event};
    (void)serf_push_pull_walk(buf + 1, len - 1, &pp, st, max, &ve, &e);
    free(c.left);
    free(st);
}

static void dg_notify_msg(void *arg, const uint8_t *msg, size_t len)
{
    serf_notify_msg(arg, msg, len);
}

static size_t dg_get_broadcasts(void *arg, size_t room, uint8_t *buf, size_t cap,
                                struct ml_part *parts, size_t max)
{
    return serf_get_broadcasts(arg, room, buf, cap, parts, max);
}

static size_t dg_local_state(void *arg, bool join, uint8_t **out)
{
    return serf_local_state(arg, join, out);
}

static void dg_merge(void *arg, const uint8_t *buf, size_t len, bool join)
{
    serf_merge_remote_state(arg, buf, len, join);
}

/* handleNodeJoin */
static void dg_join(void *arg, const struct swim_member *sm)
{
    struct serf *s = arg;
    const char *name = swim_member_name(sm);
    struct serf_mem *m = mem_find(s, name);
    if (!m) {
        if (!(m = mem_add(s, name)))
            return;
        m->status = SERF_ST_ALIVE;
        const struct serf_intent *in = intent_find(s, name);
        if (in && in->type == SERF_JOIN)
            m->status_ltime = in->ltime;
        if (in && in->type == SERF_LEAVE) {
            m->status = SERF_ST_LEAVING;
            m->status_ltime = in->ltime;
        }
    } else {
        m->status = SERF_ST_ALIVE;
        m->leave_ms = 0;
    }
    mem_from_swim(m, sm);
}

/* handleNodeLeave */
static void dg_leave(void *arg, const struct swim_member *sm)
{
    struct serf *s = arg;
    struct serf_mem *m = mem_find(s, swim_member_name(sm));
    if (!m)
        return;
    if (m->status == SERF_ST_LEAVING)
        m->status = SERF_ST_LEFT;
    else if (m->status == SERF_ST_ALIVE)
        m->status = SERF_ST_FAILED;
    else
        return;
    m->leave_ms = s->now;
}

/* handleNodeUpdate */
static void dg_update(void *arg, const struct swim_member *sm)
{
    struct serf *s = arg;
    struct serf_mem *m = mem_find(s, swim_member_name(sm));
    if (m)
        mem_from_swim(m, sm);
}

void serf_delegate(struct serf *s, struct swim_delegate *d)
{
    memset(d, 0, sizeof(*d));
    d->arg = s;
    d->notify_msg = dg_notify_msg;
    d->get_broadcasts = dg_get_broadcasts;
    d->local_state = dg_local_state;
    d->merge_remote_state = dg_merge;
    d->notify_join = dg_join;
    d->notify_leave = dg_leave;
    d->notify_update = dg_update;
}

/* ---- lifecycle ------------------------------------------------------------ */

struct serf *serf_new(const struct serf_config *c, const struct serf_hooks *h, struct keyring *kr,
                      struct weft_err *e)
{
    size_t nl = strlen(c->name);
    if (nl == 0 || nl > ML_NAME_MAX) {
        err_set(e, "serf: node name of %zu bytes", nl);
        return NULL;
    }
    struct serf *s = calloc(1, sizeof(*s));
    if (!s) {
        err_set(e, "serf: out of memory");
        return NULL;
    }
    memcpy(s->name, c->name, nl + 1);
    s->addr = c->addr;
    memcpy(s->vsn, c->vsn, ML_VSN_LEN);
    s->gossip_interval_ms = c->gossip_interval_ms > 0 ? c->gossip_interval_ms : 200;
    s->retransmit_mult = c->retransmit_mult ? c->retransmit_mult : 4;
    s->members_max = c->members_max ? c->members_max : 4096;
    if (h)
        s->h = *h;
    s->kr = kr;
    s->rng = c->seed;
    s->reconnect_interval_ms =
        c->reconnect_interval_ms > 0 ? c->reconnect_interval_ms : SERF_RECONNECT_INTERVAL_MS;
    s->reconnect_timeout_ms =
        c->reconnect_timeout_ms > 0 ? c->reconnect_timeout_ms : SERF_RECONNECT_TIMEOUT_MS;
    size_t bmax = c->bcast_max ? c->bcast_max : 4096;
    s->mem = calloc(s->members_max, sizeof(*s->mem));
    s->evs = calloc(SERF_EVENT_BUFFER, sizeof(*s->evs));
    s->qs = calloc(SERF_QUERY_BUFFER, sizeof(*s->qs));
    s->out = calloc(SERF_OUTBOX_MAX, sizeof(*s->out));
    s->tags = calloc(SERF_TAGS_MAX, sizeof(*s->tags));
    if (!s->mem || !s->evs || !s->qs || !s->out || !s->tags ||
        swim_bq_init(&s->bq_intent, bmax) != 0 || swim_bq_init(&s->bq_query, bmax) != 0 ||
        swim_bq_init(&s->bq_event, bmax) != 0) {
        err_set(e, "serf: out of memory");
        serf_free(s);
        return NULL;
    }
    /* Clocks start at 1 (a join ltime of 0 means nothing), then witness
     * the persisted ones; older news than those is not taken again. */
    s->clk.member = s->clk.event = s->clk.query = 1;
    witness(&s->clk.member, c->clocks.member);
    witness(&s->clk.event, c->clocks.event);
    witness(&s->clk.query, c->clocks.query);
    if (c->clocks.event)
        s->event_min = c->clocks.event + 1;
    if (c->clocks.query)
        s->query_min = c->clocks.query + 1;
    struct serf_mem *self = mem_add(s, s->name);
    if (!self) {
        err_set(e, "serf: out of memory");
        serf_free(s);
        return NULL;
    }
    self->status = SERF_ST_ALIVE;
    self->addr = c->addr;
    memcpy(self->vsn, c->vsn, ML_VSN_LEN);
    return s;
}

void serf_free(struct serf *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_mem; i++) {
        free(s->mem[i]->meta);
        free(s->mem[i]);
    }
    if (s->evs)
        for (size_t i = 0; i < SERF_EVENT_BUFFER; i++) {
            slot_clear(&s->evs[i]);
            free(s->evs[i].ev);
        }
    for (size_t i = 0; i < SERF_QUERIES_MAX; i++) {
        hs_free(&s->myq[i].acks);
        hs_free(&s->myq[i].resps);
    }
    swim_bq_deinit(&s->bq_intent);
    swim_bq_deinit(&s->bq_query);
    swim_bq_deinit(&s->bq_event);
    free(s->mem);
    free(s->intents);
    free(s->evs);
    free(s->qs);
    free(s->out);
    free(s->tags);
    free(s);
}

void serf_set_tags(struct serf *s, const struct serf_tag *tags, size_t n)
{
    if (n > SERF_TAGS_MAX)
        n = SERF_TAGS_MAX;
    memcpy(s->tags, tags, n * sizeof(*tags));
    s->ntags = n;
    uint8_t meta[ML_META_MAX];
    size_t ml;
    if (serf_tags_encode(tags, n, meta, sizeof(meta), &ml, NULL) == 0)
        mem_set_meta(s->mem[0], meta, ml);
}

void serf_join_start(struct serf *s)
{
    s->join_ignore_until = s->now + SERF_JOIN_IGNORE_MS;
}

void serf_tick(struct serf *s, int64_t now_ms)
{
    s->now = now_ms;
    if (s->reconnect_next_ms == 0)
        s->reconnect_next_ms = now_ms + s->reconnect_interval_ms;
    for (size_t i = 0; i < SERF_QUERIES_MAX; i++) {
        struct serf_myq *q = &s->myq[i];
        if (!q->used || now_ms < q->deadline_ms)
            continue;
        uint64_t qid = q->qid;
        q->used = false;
        hs_free(&q->acks);
        hs_free(&q->resps);
        if (s->h.on_done)
            s->h.on_done(s->h.arg, qid);
    }
    for (size_t i = 0; i < s->n_intents;) {
        if (now_ms - s->intents[i].wall_ms > SERF_INTENT_TIMEOUT_MS)
            s->intents[i] = s->intents[--s->n_intents];
        else
            i++;
    }
    /* handleReap: failed members after the reconnect timeout, left ones
     * after the tombstone timeout. */
    for (size_t i = 1; i < s->n_mem;) {
        struct serf_mem *m = s->mem[i];
        int64_t timeout = m->status == SERF_ST_FAILED ? s->reconnect_timeout_ms : SERF_REAP_MS;
        if ((m->status == SERF_ST_LEFT || m->status == SERF_ST_FAILED) && m->leave_ms &&
            now_ms - m->leave_ms > timeout) {
            free(m->meta);
            free(m);
            s->mem[i] = s->mem[--s->n_mem];
        } else {
            i++;
        }
    }
}

int64_t serf_wake(const struct serf *s)
{
    int64_t w = INT64_MAX;
    for (size_t i = 0; i < SERF_QUERIES_MAX; i++)
        if (s->myq[i].used && s->myq[i].deadline_ms < w)
            w = s->myq[i].deadline_ms;
    if (s->reconnect_next_ms && s->reconnect_next_ms < w)
        for (size_t i = 1; i < s->n_mem; i++)
            if (s->mem[i]->status == SERF_ST_FAILED) {
                w = s->reconnect_next_ms;
                break;
            }
    return w;
}

bool serf_reconnect(struct serf *s, struct swim *sw, int64_t now_ms, struct swim_actions *act,
                    char *name, size_t cap)
{
    if (s->reconnect_next_ms == 0 || now_ms < s->reconnect_next_ms)
        return false;
    /* Once per interval, as Serf's time.After loop (late calls do not catch up). */
    s->reconnect_next_ms = now_ms + s->reconnect_interval_ms;
    /* Not while we leave (Serf keeps trying until shutdown; a leaving weft
     * has no use for the other side's state). */
    if (s->leaving)
        return false;
    size_t n_failed = 0, n_left = 0;
    for (size_t i = 1; i < s->n_mem; i++) {
        if (s->mem[i]->status == SERF_ST_FAILED)
            n_failed++;
        else if (s->mem[i]->status == SERF_ST_LEFT)
            n_left++;
    }
    if (n_failed == 0)
        return false;
    /* prob = numFailed / numAlive; skip when a uniform [0,1) draw is above it. */
    size_t n_alive = s->n_mem - n_failed - n_left;
    if (n_alive == 0)
        n_alive = 1;
    double draw = (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
    if (draw > (double)n_failed / (double)n_alive)
        return false;
    size_t pick = (size_t)(rng_next(s) % n_failed);
    struct serf_mem *m = NULL;
    for (size_t i = 1; i < s->n_mem; i++)
        if (s->mem[i]->status == SERF_ST_FAILED && pick-- == 0) {
            m = s->mem[i];
            break;
        }
    if (!m || m->addr.ip_len == 0)
        return false;
    s->ctr.reconnects++;
    if (name)
        snprintf(name, cap, "%s", m->name);
    swim_join(sw, now_ms, &m->addr, 1, act);
    return true;
}

void serf_join_intent(struct serf *s)
{
    broadcast_join(s, s->clk.member);
}

void serf_leave_intent(struct serf *s)
{
    struct serf_leave l;
    uint8_t buf[256];
    size_t len;
    memset(&l, 0, sizeof(l));
    l.ltime = s->clk.member;
    snprintf(l.node, sizeof(l.node), "%s", s->name);
    s->clk.member++;
    s->leaving = true;
    handle_leave_intent(s, &l);
    if (!serf_has_alive_members(s)) {
        s->leave_sent = true;
        return;
    }
    if (serf_leave_encode(&l, buf, sizeof(buf), &len, NULL) == 0)
        queue_bcast(s, &s->bq_intent, buf, len, true);
    else
        s->leave_sent = true;
}

bool serf_leave_sent(const struct serf *s)
{
    return s->leave_sent;
}

bool serf_has_alive_members(const struct serf *s)
{
    for (size_t i = 1; i < s->n_mem; i++)
        if (s->mem[i]->status == SERF_ST_ALIVE || s->mem[i]->status == SERF_ST_LEAVING)
            return true;
    return false;
}

int serf_user_event(struct serf *s, const char *name, const uint8_t *payload, size_t len,
                    bool coalesce, struct weft_err *e)
{
    struct serf_user_event u;
    uint8_t buf[SWIM_UDP_MAX];
    size_t blen;
    size_t nl = strlen(name);
    if (nl == 0 || nl > ML_NAME_MAX)
        return err_set(e, "event name of %zu bytes (1..%d)", nl, ML_NAME_MAX);
    if (nl + len > SERF_USER_EVENT_SIZE_LIMIT)
        return err_set(e, "user event exceeds configured limit of %d bytes before encoding",
                       SERF_USER_EVENT_SIZE_LIMIT);
    memset(&u, 0, sizeof(u));
    u.ltime = s->clk.event;
    memcpy(u.name, name, nl + 1);
    u.payload = payload;
    u.payload_len = len;
    u.cc = coalesce;
    if (serf_user_event_encode(&u, buf, sizeof(buf), &blen, e) != 0)
        return -1;
    if (blen > SERF_USER_EVENT_SIZE_LIMIT)
        return err_set(e, "encoded user event exceeds limit of %d bytes after encoding",
                       SERF_USER_EVENT_SIZE_LIMIT);
    s->clk.event++;
    handle_user_event(s, u.ltime, name, payload, len, coalesce);
    queue_bcast(s, &s->bq_event, buf, blen, false);
    s->ctr.events_sent++;
    return 0;
}

int64_t serf_default_query_timeout_ms(const struct serf *s, size_t n_members)
{
    return s->gossip_interval_ms *
           (int64_t)swim_retransmit_limit(SERF_QUERY_TIMEOUT_MULT, n_members);
}

int serf_query(struct serf *s, const char *name, const uint8_t *payload, size_t len,
               int64_t timeout_ms, bool want_ack, size_t n_members, const struct serf_ref *filters,
               size_t n_filters, uint64_t *qid, int64_t *deadline_ms, struct weft_err *e)
{
    struct serf_query q;
    uint8_t buf[SWIM_UDP_MAX];
    size_t blen, nl = strlen(name);
    if (nl == 0 || nl > ML_NAME_MAX)
        return err_set(e, "query name of %zu bytes (1..%d)", nl, ML_NAME_MAX);
    if (n_filters > SERF_FILTERS_MAX)
        return err_set(e, "%zu query filters (max %d)", n_filters, SERF_FILTERS_MAX);
    if (timeout_ms < 0)
        return err_set(e, "negative query timeout");
    if (timeout_ms == 0)
        timeout_ms = serf_default_query_timeout_ms(s, n_members);
    struct serf_myq *mq = NULL;
    for (size_t i = 0; i < SERF_QUERIES_MAX && !mq; i++)
        if (!s->myq[i].used)
            mq = &s->myq[i];
    if (!mq)
        return err_set(e, "%d queries in flight already", SERF_QUERIES_MAX);
    memset(&q, 0, sizeof(q));
    q.ltime = s->clk.query;
    q.id = (uint32_t)(rng_next(s) & 0x7fffffff);
    memcpy(q.addr, s->addr.ip, s->addr.ip_len);
    q.addr_len = s->addr.ip_len;
    q.port = s->addr.port;
    snprintf(q.source_node, sizeof(q.source_node), "%s", s->name);
    for (size_t i = 0; i < n_filters; i++)
        q.filters[i] = filters[i];
    q.n_filters = n_filters;
    q.flags = want_ack ? SERF_QUERY_ACK : 0;
    q.timeout_ns = timeout_ms * 1000000;
    memcpy(q.name, name, nl + 1);
    q.payload = payload;
    q.payload_len = len;
    if (serf_query_encode(&q, buf, sizeof(buf), &blen, e) != 0)
        return -1;
    if (blen > SERF_QUERY_SIZE_LIMIT)
        return err_set(e, "query exceeds limit of %d bytes", SERF_QUERY_SIZE_LIMIT);
    memset(mq, 0, sizeof(*mq));
    mq->used = true;
    mq->qid = ++s->next_qid;
    mq->ltime = q.ltime;
    mq->id = q.id;
    mq->deadline_ms = s->now + timeout_ms;
    *qid = mq->qid;
    *deadline_ms = mq->deadline_ms;
    s->ctr.queries_sent++;
    handle_query(s, &q);
    queue_bcast(s, &s->bq_query, buf, blen, false);
    return 0;
}

void serf_query_cancel(struct serf *s, uint64_t qid)
{
    for (size_t i = 0; i < SERF_QUERIES_MAX; i++) {
        if (s->myq[i].used && s->myq[i].qid == qid) {
            s->myq[i].used = false;
            hs_free(&s->myq[i].acks);
            hs_free(&s->myq[i].resps);
        }
    }
}

const struct serf_send *serf_outbox(const struct serf *s, size_t *n)
{
    *n = s->n_out;
    return s->out;
}

void serf_outbox_clear(struct serf *s)
{
    s->n_out = 0;
}

void serf_clocks(const struct serf *s, struct serf_clocks *c)
{
    *c = s->clk;
}

const struct serf_counters *serf_counters(const struct serf *s)
{
    return &s->ctr;
}

size_t serf_bcast_count(const struct serf *s)
{
    return s->bq_intent.n + s->bq_query.n + s->bq_event.n;
}

enum serf_mstatus serf_member_status(const struct serf *s, const char *name, uint64_t *ltime)
{
    const struct serf_mem *m = mem_find(s, name);
    if (ltime)
        *ltime = m ? m->status_ltime : 0;
    return m ? m->status : SERF_ST_NONE;
}

size_t serf_member_count(const struct serf *s)
{
    return s->n_mem;
}

const char *serf_status_name(enum serf_mstatus st)
{
    switch (st) {
    case SERF_ST_NONE:
        return "none";
    case SERF_ST_ALIVE:
        return "alive";
    case SERF_ST_LEAVING:
        return "leaving";
    case SERF_ST_LEFT:
        return "left";
    case SERF_ST_FAILED:
        return "failed";
    }
    return "?";
}
