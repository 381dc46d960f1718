/*
 * agent_serf: the agent's side of the Serf layer (docs/gossip.md "The Serf
 * layer", docs/api.md):
 *   POST /v1/event?name=N[&coalesce=1]   body = payload: a Serf user event
 *   GET  /v1/events                      the last 256 user events and queries received
 *   POST /v1/query?name=N[&timeout=D][&ack=0]  body = payload: a Serf query;
 *                                        the reply waits for the query's deadline
 *                                        (a deferred admin reply) and lists the
 *                                        acks and responses
 *   GET  /v1/gossip                      gossip counters (SWIM core, transport, Serf)
 * and the persistence of Serf's Lamport clocks in the store (meta key
 * gossip_clocks = "member event query"), so a restarted node never reuses an
 * ltime (its next event is not taken as old or as a duplicate).
 *
 * Ownership: a running query's state (struct serf_q) is malloc'd here and
 * freed when its deadline passes or its client goes away.
 */
#include "admin/admin.h"
#include "agent/agent_types.h"
#include "core/json.h"
#include "core/log.h"
#include "core/units.h"
#include "gossip/gossip_net.h"
#include "store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest query we let a client wait for (the CLI's own limit is lower). */
#define SERF_Q_TIMEOUT_MAX_MS 60000
/* Responses kept per query: more are counted, not listed. */
#define SERF_Q_RESP_MAX 256

/* ---- clocks --------------------------------------------------------------- */

void agent_serf_clocks_load(struct weft *w, struct serf_clocks *c)
{
    char buf[96];
    struct weft_err e = {{0}};
    memset(c, 0, sizeof(*c));
    if (store_meta_get(w->store, "gossip_clocks", buf, sizeof(buf), &e) == 1) {
        unsigned long long m, ev, q;
        if (sscanf(buf, "%llu %llu %llu", &m, &ev, &q) == 3) {
            c->member = m;
            c->event = ev;
            c->query = q;
        }
    }
}

void agent_serf_clocks_save(void *arg, const struct serf_clocks *c)
{
    struct weft *w = arg;
    char buf[96];
    struct weft_err e = {{0}};
    snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64 " %" PRIu64, c->member, c->event, c->query);
    if (store_meta_set(w->store, "gossip_clocks", buf, &e) != 0)
        log_warn(LOG_AGENT, "gossip: cannot save the Serf clocks: %s", e.msg);
}

/* ---- helpers -------------------------------------------------------------- */

static int gossip_off(struct weft_err *e)
{
    err_set(e, "gossip is off in this agent ([gossip] enabled = false)");
    return 409;
}

/* Is p[0..n) UTF-8 text without control characters other than tab/newline? */
static bool is_text(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
                return false;
            i++;
            continue;
        }
        size_t k;
        uint32_t min;
        if ((c & 0xe0) == 0xc0) {
            k = 1;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2;
            min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3;
            min = 0x10000;
        } else {
            return false;
        }
        if (i + k >= n)
            return false;
        uint32_t cp = c & (0x3fu >> k);
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + j] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

/* "payload": the text (or null when binary) and "payload_base64" always. */
static void json_payload(struct json_w *j, const uint8_t *p, size_t n)
{
    json_key(j, "payload");
    if (n == 0) {
        json_str(j, "");
    } else if (is_text(p, n)) {
        char *t = malloc(n + 1);
        if (t) {
            memcpy(t, p, n);
            t[n] = '\0';
        }
        json_str(j, t);
        free(t);
    } else {
        json_null(j);
    }
    size_t cap = (n + 2) / 3 * 4 + 1;
    char *b = malloc(cap);
    if (b && keyring_b64_encode(p, n, b, cap, NULL) == 0)
        json_kv_str(j, "payload_base64", b);
    else
        json_kv_str(j, "payload_base64", "");
    free(b);
}

/* ---- POST /v1/event -------------------------------------------------------- */

static int api_event(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    char name[ML_NAME_MAX + 2], cc[8];
    if (!w->gossip)
        return gossip_off(e);
    if (!admin_query_get(req->query, "name", name, sizeof(name)) || !name[0]) {
        err_set(e, "missing query parameter: name");
        return 400;
    }
    bool coalesce = admin_query_get(req->query, "coalesce", cc, sizeof(cc)) &&
                    (strcmp(cc, "1") == 0 || strcmp(cc, "true") == 0);
    if (gossip_net_event(w->gossip, name, (const uint8_t *)req->body, req->body_len, coalesce, e) !=
        0)
        return 400;
    struct serf_clocks ck;
    serf_clocks(gossip_net_serf(w->gossip), &ck);
    struct json_w j;
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_kv_str(&j, "event", name);
    json_kv_uint(&j, "ltime", ck.event - 1);
    json_kv_bool(&j, "coalesce", coalesce);
    json_obj_end(&j);
    return 200;
}

/* ---- GET /v1/events -------------------------------------------------------- */

static int api_events(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    (void)req;
    if (!w->gossip)
        return gossip_off(e);
    struct json_w j;
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_key(&j, "events");
    json_arr_begin(&j);
    size_t n = gossip_net_events_count(w->gossip);
    for (size_t i = 0; i < n; i++) {
        const struct gossip_event_rec *r = gossip_net_events_at(w->gossip, i);
        json_obj_begin(&j);
        json_kv_str(&j, "type", r->query ? "query" : "event");
        json_kv_uint(&j, "ltime", r->ltime);
        json_kv_str(&j, "name", r->name);
        json_payload(&j, r->payload, r->len);
        json_kv_str(&j, "from", r->from);
        if (!r->query)
            json_kv_bool(&j, "coalesce", r->coalesce);
        json_kv_int(&j, "time_ms", r->wall_ms);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_obj_end(&j);
    return 200;
}

/* ---- POST /v1/query (deferred) ----------------------------------------------- */

struct serf_q {
    struct weft *w;
    struct admin_pending *p;
    char name[ML_NAME_MAX + 1];
    int64_t timeout_ms;
    struct sbuf acks;  /* JSON array items */
    struct sbuf resps; /* JSON array items */
    size_t nacks, nresps, dropped;
};

static void q_free(struct serf_q *q)
{
    sbuf_deinit(&q->acks);
    sbuf_deinit(&q->resps);
    free(q);
}

static void q_item(struct sbuf *b, const struct gossip_query_resp *r, bool resp)
{
    struct sbuf one;
    struct json_w j;
    sbuf_init(&one);
    json_w_init(&j, &one);
    if (resp) {
        json_obj_begin(&j);
        json_kv_str(&j, "from", r->from);
        json_payload(&j, r->payload, r->len);
        json_obj_end(&j);
    } else {
        json_str(&j, r->from);
    }
    sbuf_printf(b, "%s%s", b->len ? "," : "", sbuf_str(&one));
    sbuf_deinit(&one);
}

static void q_cb(void *arg, const struct gossip_query_resp *r)
{
    struct serf_q *q = arg;
    if (r) {
        if (q->nacks + q->nresps >= SERF_Q_RESP_MAX) {
            q->dropped++;
            return;
        }
        if (r->ack) {
            q_item(&q->acks, r, false);
            q->nacks++;
        } else {
            q_item(&q->resps, r, true);
            q->nresps++;
        }
        return;
    }
    /* Deadline: the reply. */
    struct sbuf b;
    sbuf_init(&b);
    struct json_w j;
    json_w_init(&j, &b);
    json_obj_begin(&j);
    json_kv_str(&j, "query", q->name);
    json_kv_int(&j, "timeout_ms", q->timeout_ms);
    json_kv_uint(&j, "num_acks", q->nacks);
    json_kv_uint(&j, "num_responses", q->nresps);
    json_kv_uint(&j, "dropped", q->dropped);
    json_obj_end(&j);
    /* Splice the arrays in before the closing brace. */
    if (b.len && !b.oom) {
        b.len--;
        sbuf_printf(&b, ",\"acks\":[%s],\"responses\":[%s]}", sbuf_str(&q->acks),
                    sbuf_str(&q->resps));
    }
    if (b.oom)
        admin_pending_error(q->p, 503, "out of memory");
    else
        admin_pending_reply(q->p, 200, sbuf_str(&b), b.len);
    sbuf_deinit(&b);
    q_free(q);
}

/* The client went away: stop collecting, free everything. */
static void q_gone(void *arg)
{
    struct serf_q *q = arg;
    if (q->w->gossip)
        gossip_net_query_forget(q->w->gossip, q);
    admin_pending_reply(q->p, 499, "{}", 2);
    q_free(q);
}

static int api_query(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    char name[ML_NAME_MAX + 2], tbuf[32], abuf[8];
    int64_t timeout = 0;
    (void)out;
    if (!w->gossip)
        return gossip_off(e);
    if (!admin_query_get(req->query, "name", name, sizeof(name)) || !name[0]) {
        err_set(e, "missing query parameter: name");
        return 400;
    }
    if (admin_query_get(req->query, "timeout", tbuf, sizeof(tbuf)) &&
        (units_parse_duration_ms(tbuf, &timeout, e) != 0 || timeout < 0 ||
         timeout > SERF_Q_TIMEOUT_MAX_MS)) {
        if (!err_is_set(e))
            err_set(e, "timeout %s not in [0, 60s]", tbuf);
        return 400;
    }
    bool ack = !(admin_query_get(req->query, "ack", abuf, sizeof(abuf)) &&
                 (strcmp(abuf, "0") == 0 || strcmp(abuf, "false") == 0));
    struct serf_q *q = calloc(1, sizeof(*q));
    if (!q) {
        err_set(e, "out of memory");
        return 503;
    }
    q->w = w;
    memcpy(q->name, name, sizeof(q->name) - 1); /* gossip_net_query refuses a longer name */
    sbuf_init(&q->acks);
    sbuf_init(&q->resps);
    q->timeout_ms =
        timeout ? timeout
                : serf_default_query_timeout_ms(gossip_net_serf(w->gossip),
                                                swim_member_count(gossip_net_swim(w->gossip)));
    if (!(q->p = admin_defer(req))) {
        q_free(q);
        err_set(e, "out of memory");
        return 503;
    }
    if (gossip_net_query(w->gossip, name, (const uint8_t *)req->body, req->body_len, timeout, ack,
                         q_cb, q, e) != 0) {
        /* Not started: answer now through the pending handle. */
        admin_pending_error(q->p, 400, e->msg);
        q_free(q);
        return ADMIN_DEFERRED;
    }
    admin_pending_on_gone(q->p, q_gone, q);
    return ADMIN_DEFERRED;
}

/* ---- GET /v1/gossip ----------------------------------------------------------- */

static int api_gossip(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    (void)req;
    if (!w->gossip)
        return gossip_off(e);
    const struct swim_counters *c = swim_counters(gossip_net_swim(w->gossip));
    const struct serf *sf = gossip_net_serf(w->gossip);
    const struct serf_counters *sc = serf_counters(sf);
    struct gossip_net_stats st;
    struct serf_clocks ck;
    gossip_net_stats(w->gossip, &st);
    serf_clocks(sf, &ck);
    struct json_w j;
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_kv_str(&j, "node", swim_name(gossip_net_swim(w->gossip)));
    agent_gossip_timing_json(w, &j);
    json_key(&j, "swim");
    json_obj_begin(&j);
    json_kv_uint(&j, "probes", c->probes);
    json_kv_uint(&j, "acks", c->probe_acks);
    json_kv_uint(&j, "nacks", c->nacks_received);
    json_kv_uint(&j, "indirect_probes", c->indirect_sent);
    json_kv_uint(&j, "suspects", c->suspects);
    json_kv_uint(&j, "refutes", c->refutes);
    json_kv_uint(&j, "deaths", c->deaths);
    json_kv_uint(&j, "lefts", c->lefts);
    json_kv_uint(&j, "gossip_packets", c->gossip_packets);
    json_kv_uint(&j, "push_pulls", c->push_pulls);
    json_kv_uint(&j, "push_pulls_taken", c->push_pulls_taken);
    json_kv_uint(&j, "tcp_pings", c->tcp_pings);
    json_kv_uint(&j, "tcp_ping_acks", c->tcp_ping_acks);
    json_kv_uint(&j, "tcp_ping_saves", c->tcp_ping_saves);
    json_kv_uint(&j, "incarnation", swim_incarnation(gossip_net_swim(w->gossip)));
    json_obj_end(&j);
    json_key(&j, "net");
    json_obj_begin(&j);
    json_kv_uint(&j, "packets_in", st.packets_in);
    json_kv_uint(&j, "packets_out", st.packets_out);
    json_kv_uint(&j, "bytes_in", st.bytes_in);
    json_kv_uint(&j, "bytes_out", st.bytes_out);
    json_obj_end(&j);
    json_key(&j, "drops");
    json_obj_begin(&j);
    json_kv_uint(&j, "decrypt", st.drop_decrypt);
    json_kv_uint(&j, "decode", st.drop_decode);
    json_kv_uint(&j, "stream", st.drop_stream);
    json_kv_uint(&j, "too_many_streams", st.drop_conns);
    json_kv_uint(&j, "send", st.drop_send);
    json_kv_uint(&j, "relays_full", c->relays_dropped);
    json_kv_uint(&j, "broadcast_queue_full", c->bcast_dropped + sc->bcast_dropped);
    json_kv_uint(&j, "members_full", c->members_dropped + sc->members_dropped);
    json_kv_uint(&j, "actions_full", c->actions_dropped);
    json_kv_uint(&j, "serf_bad_messages", sc->bad_messages);
    json_kv_uint(&j, "serf_outbox_full", sc->outbox_dropped);
    json_obj_end(&j);
    json_key(&j, "serf");
    json_obj_begin(&j);
    json_kv_uint(&j, "member_clock", ck.member);
    json_kv_uint(&j, "event_clock", ck.event);
    json_kv_uint(&j, "query_clock", ck.query);
    json_kv_uint(&j, "events_sent", sc->events_sent);
    json_kv_uint(&j, "events_received", sc->events_received);
    json_kv_uint(&j, "events_duplicate", sc->events_dup);
    json_kv_uint(&j, "events_old", sc->events_old);
    json_kv_uint(&j, "queries_sent", sc->queries_sent);
    json_kv_uint(&j, "queries_received", sc->queries_received);
    json_kv_uint(&j, "queries_duplicate", sc->queries_dup);
    json_kv_uint(&j, "queries_old", sc->queries_old);
    json_kv_uint(&j, "queries_filtered", sc->queries_filtered);
    json_kv_uint(&j, "acks_sent", sc->acks_sent);
    json_kv_uint(&j, "responses_sent", sc->responses_sent);
    json_kv_uint(&j, "acks_received", sc->acks_received);
    json_kv_uint(&j, "responses_received", sc->responses_received);
    json_kv_uint(&j, "intents_received", sc->intents_received);
    json_kv_uint(&j, "relays", sc->relays);
    json_kv_uint(&j, "reconnects", sc->reconnects);
    json_obj_end(&j);
    json_obj_end(&j);
    return 200;
}

int agent_serf_register(struct weft *w)
{
    if (admin_route(w->admin, ADMIN_POST, "/v1/event", api_event, w) != 0 ||
        admin_route(w->admin, ADMIN_GET, "/v1/events", api_events, w) != 0 ||
        admin_route(w->admin, ADMIN_POST, "/v1/query", api_query, w) != 0 ||
        admin_route(w->admin, ADMIN_GET, "/v1/gossip", api_gossip, w) != 0)
        return -1;
    return 0;
}
