/*
 * agent_mesh_sync: anti-entropy between agents (docs/mesh.md "The
 * exchange"): mesh/sync.h's exchange carried by the control RPC, method
 * `mesh.sync`, over mTLS with node certificates on both sides, so only
 * authenticated nodes of the trust domain take part (a holder of the gossip
 * key alone cannot: it has no node certificate).
 *
 * Who syncs with whom: every node publishes its table's digest in its
 * gossip tags (mesh=<16 hex>, agent_gossip.c). Each tick (1 s) a node with
 * no exchange in flight picks, at random, one live weft member whose
 * digest differs from its own and whose control port it knows (tag ctl),
 * and runs one exchange with it (pull what the peer has newer, push what
 * it has newer). A peer that fails is skipped for a while (2 s doubling to
 * 60 s). Equal digests mean equal tables: nothing moves.
 *
 * Durability: records merged from a peer (either side) are collected by the
 * table's applied hook and stored (one transaction, synchronous=FULL)
 * before the handler returns, so the responder's reply, which tells the
 * initiator its push was taken, leaves only once the records are on disk.
 *
 * Allocation: w->mesh_sync owns the session in flight, its client conf and
 * buffers, the peer backoff table and the batch being collected.
 */
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/jsonv.h"
#include "core/log.h"
#include "core/loop.h"
#include "ctl/ctl_client.h"
#include "ctl/ctl_server.h"
#include "gossip/gossip_net.h"
#include "gossip/serf_msg.h"
#include "gossip/swim.h"
#include "mesh/sync.h"
#include "mesh/table.h"
#include "store/store.h"
#include "telemetry/prom.h"
#include "tls/tls_conf.h"

#include <event2/event.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNC_TICK_MS 1000
#define SYNC_BACKOFF_MIN_MS 2000
#define SYNC_BACKOFF_MAX_MS 60000
#define SYNC_PEERS_MAX 64 /* peers remembered for backoff */

/* One record merged from a peer, owned until stored. */
struct sync_row {
    char *kind, *name, *writer;
    uint8_t *body;
    size_t body_len;
    uint64_t hlc;
    bool deleted;
};

struct sync_peer {
    char name[128];
    int64_t retry_at_ms; /* monotonic; 0 = no backoff */
    int64_t backoff_ms;
    bool untrusted; /* the last exchange failed in the TLS handshake */
    /* After a successful exchange: the peer's tag and our digest when it
     * ended. While both are unchanged the tables were equal then and the
     * peer's tag is only stale (gossip has not spread its new one yet):
     * no new exchange. */
    char done_tag[17];
    char done_ours[17];
};

struct agent_mesh_sync {
    struct weft *w;
    struct event *tick;
    /* the exchange in flight (initiator) */
    struct mesh_sync_session *sess;
    struct ctl_client_call *call;
    struct tls_conf *conf;
    char peer[128];
    char peer_tag[17]; /* the peer's digest tag when the exchange began */
    char addr[300];
    int64_t started_ms;
    /* records merged during one serve or reply, stored before returning */
    bool collecting;
    struct sync_row *rows;
    size_t nrows, caprows;
    bool oom;
    struct sync_peer peers[SYNC_PEERS_MAX];
    /* counters */
    uint64_t sessions_ok, sessions_failed, served, serve_refused, store_errors;
    uint64_t records_in, records_out;
    struct mesh_sync_stats in;  /* as responder: requests served, their bytes, merges */
    struct mesh_sync_stats out; /* as initiator: every session's requests and bytes, summed */
    char last_peer[128], last_error[WEFT_ERR_MAX];
    int64_t last_ok_ms; /* wall */
    struct log_ratelim rl;
};

/* ---- the applied hook: collect, then store ------------------------------------------ */

static char *sync_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void sync_rows_clear(struct agent_mesh_sync *s)
{
    for (size_t i = 0; i < s->nrows; i++) {
        free(s->rows[i].kind);
        free(s->rows[i].name);
        free(s->rows[i].writer);
        free(s->rows[i].body);
    }
    s->nrows = 0;
    s->oom = false;
}

static void sync_on_applied(void *arg, const struct mesh_record *r)
{
    struct agent_mesh_sync *s = arg;
    if (strcmp(r->kind, "trust-bundle") == 0)
        agent_bundle_changed(s->w);
    if (!s->collecting)
        return; /* a local write: stored by agent_mesh before it merged */
    if (s->nrows == s->caprows) {
        size_t cap = s->caprows ? s->caprows * 2 : 64;
        struct sync_row *n = realloc(s->rows, cap * sizeof(*n));
        if (!n) {
            s->oom = true;
            return;
        }
        s->rows = n;
        s->caprows = cap;
    }
    struct sync_row *row = &s->rows[s->nrows];
    *row = (struct sync_row){.kind = sync_dup(r->kind),
                             .name = sync_dup(r->name),
                             .writer = sync_dup(r->writer),
                             .body = r->body_len ? malloc(r->body_len) : NULL,
                             .body_len = r->body_len,
                             .hlc = r->hlc,
                             .deleted = r->deleted};
    if (row->body)
        memcpy(row->body, r->body, r->body_len);
    s->nrows++;
    if (!row->kind || !row->name || !row->writer || (r->body_len && !row->body))
        s->oom = true;
}

/* [mesh] writers: a record whose writer may not originate changes is refused;
 * a service record only from the node it names. */
static bool sync_accept(void *arg, const struct mesh_record *r, struct weft_err *e)
{
    struct agent_mesh_sync *s = arg;
    bool ok;
    /* The catalog: a node publishes its own services, writers or not. */
    if (strcmp(r->kind, "service") == 0)
        ok = agent_services_may_publish(s->w, r, e);
    /* The trust bundle and revocations: only what the CA signed. */
    else if (strcmp(r->kind, "trust-bundle") == 0)
        ok = agent_bundle_accept(s->w, r, e);
    else if (strcmp(r->kind, "revocation") == 0)
        ok = agent_revoke_accept(s->w, r, e);
    /* Nothing else from a revoked writer. */
    else if (agent_revoked_id(s->w, r->writer))
        ok = err_set(e, "%s/%s: its writer %s is revoked", r->kind, r->name, r->writer) == 0;
    else
        ok = agent_mesh_may_write(s->w, r->writer, e) == 0;
    if (!ok)
        log_ratelim(&s->rl, LOG_LEVEL_WARN, LOG_AGENT, "mesh: record refused: %s", e->msg);
    return ok;
}

/* Store what the last serve/reply merged. Returns 0, or -1 with e. */
static int sync_persist(struct agent_mesh_sync *s, struct weft_err *e)
{
    int rc = 0;
    if (s->oom) {
        rc = err_set(e, "out of memory while collecting merged records");
    } else if (s->nrows) {
        struct store_mesh_rec *recs = calloc(s->nrows, sizeof(*recs));
        if (!recs) {
            rc = err_set(e, "out of memory");
        } else {
            for (size_t i = 0; i < s->nrows; i++)
                recs[i] = (struct store_mesh_rec){.kind = s->rows[i].kind,
                                                  .name = s->rows[i].name,
                                                  .hlc = s->rows[i].hlc,
                                                  .writer = s->rows[i].writer,
                                                  .deleted = s->rows[i].deleted,
                                                  .body = s->rows[i].body,
                                                  .body_len = s->rows[i].body_len};
            rc = store_mesh_put(s->w->store, recs, s->nrows, clock_wall_ms(), e);
            free(recs);
        }
        if (rc != 0)
            s->store_errors++;
        else
            s->records_in += s->nrows;
        agent_mesh_changed(s->w);
    }
    sync_rows_clear(s);
    return rc;
}

/* ---- the responder: ctl method mesh.sync ------------------------------------------- */

static int sync_method(void *ud, const struct ctl_call *call, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    struct agent_mesh_sync *s = w->mesh_sync;
    struct sbuf req;
    if (agent_revoked_id(w, call->peer_id)) {
        s->serve_refused++;
        log_ratelim(&s->rl, LOG_LEVEL_WARN, LOG_AGENT, "mesh: sync from %s refused: revoked",
                    call->peer_id);
        return err_set(e, "mesh.sync: %s is revoked", call->peer_id);
    }
    sbuf_init(&req);
    if (call->body)
        jsonv_write(call->body, &req);
    s->collecting = true;
    int rc = mesh_sync_serve(agent_mesh_table(w), sbuf_str(&req), req.len, agent_mesh_wall_ms(s->w),
                             MESH_SYNC_BUDGET_DEFAULT, out, &s->in, e);
    s->collecting = false;
    sbuf_deinit(&req);
    struct weft_err pe = {{0}};
    if (sync_persist(s, &pe) != 0) {
        /* The peer must not take our reply as a durable acceptance. */
        sbuf_reset(out);
        log_ratelim(&s->rl, LOG_LEVEL_ERROR, LOG_AGENT, "mesh: storing synced records: %s", pe.msg);
        return err_set(e, "mesh.sync: this node could not store the records: %s", pe.msg);
    }
    if (rc != 0) {
        s->serve_refused++;
        log_ratelim(&s->rl, LOG_LEVEL_WARN, LOG_AGENT, "mesh: sync from %s refused: %s",
                    call->peer_id, e->msg);
        return -1;
    }
    s->served++;
    return 0;
}

/* ---- the initiator ------------------------------------------------------------------- */

static struct sync_peer *sync_peer_slot(struct agent_mesh_sync *s, const char *name)
{
    struct sync_peer *free_slot = NULL, *oldest = &s->peers[0];
    for (size_t i = 0; i < SYNC_PEERS_MAX; i++) {
        struct sync_peer *p = &s->peers[i];
        if (strcmp(p->name, name) == 0)
            return p;
        if (!p->name[0] && !free_slot)
            free_slot = p;
        if (p->retry_at_ms < oldest->retry_at_ms)
            oldest = p;
    }
    struct sync_peer *p = free_slot ? free_slot : oldest;
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    return p;
}

static const struct sync_peer *sync_peer_find(const struct agent_mesh_sync *s, const char *name)
{
    for (size_t i = 0; s && i < SYNC_PEERS_MAX; i++)
        if (strcmp(s->peers[i].name, name) == 0)
            return &s->peers[i];
    return NULL;
}

static void sync_end(struct agent_mesh_sync *s, bool ok, const char *err)
{
    struct sync_peer *p = sync_peer_slot(s, s->peer);
    const struct mesh_sync_stats *sst = mesh_sync_session_stats(s->sess);
    /* Failed sessions moved bytes too. */
    s->out.requests += sst->requests;
    s->out.bytes_out += sst->bytes_out;
    s->out.bytes_in += sst->bytes_in;
    if (ok) {
        snprintf(p->done_tag, sizeof(p->done_tag), "%s", s->peer_tag);
        agent_mesh_tag(s->w, p->done_ours, sizeof(p->done_ours));
        const struct mesh_sync_stats *st = mesh_sync_session_stats(s->sess);
        s->sessions_ok++;
        s->last_ok_ms = clock_wall_ms();
        p->backoff_ms = 0;
        p->retry_at_ms = 0;
        p->untrusted = false;
        log_debug(LOG_AGENT,
                  "mesh: synced with %s in %" PRId64 " ms: %" PRIu64 " requests, %" PRIu64
                  " bytes out, %" PRIu64 " in",
                  s->peer, clock_mono_ms() - s->started_ms, st->requests, st->bytes_out,
                  st->bytes_in);
    } else {
        s->sessions_failed++;
        snprintf(s->last_error, sizeof(s->last_error), "%s: %s", s->peer, err);
        p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : SYNC_BACKOFF_MIN_MS;
        if (p->backoff_ms > SYNC_BACKOFF_MAX_MS)
            p->backoff_ms = SYNC_BACKOFF_MAX_MS;
        p->retry_at_ms = clock_mono_ms() + p->backoff_ms;
        /* A member whose certificate we cannot trust (or who cannot trust
         * ours) is not part of this mesh: --wait does not wait for it. */
        p->untrusted = strstr(err, "TLS handshake refused") != NULL;
        log_ratelim(&s->rl, LOG_LEVEL_WARN, LOG_AGENT,
                    "mesh: sync with %s failed (retrying in %" PRId64 " s): %s", s->peer,
                    p->backoff_ms / 1000, err);
    }
    snprintf(s->last_peer, sizeof(s->last_peer), "%s", s->peer);
    mesh_sync_session_free(s->sess);
    s->sess = NULL;
    tls_conf_free(s->conf);
    s->conf = NULL;
}

static void sync_step(struct agent_mesh_sync *s);

static void sync_done(void *ud, bool ok, const struct jsonv *body, const char *err)
{
    struct agent_mesh_sync *s = ud;
    struct weft_err e = {{0}};
    s->call = NULL;
    if (!ok) {
        sync_end(s, false, err);
        return;
    }
    struct sbuf text;
    sbuf_init(&text);
    jsonv_write(body, &text);
    s->collecting = true;
    int rc =
        mesh_sync_session_reply(s->sess, sbuf_str(&text), text.len, agent_mesh_wall_ms(s->w), &e);
    s->collecting = false;
    sbuf_deinit(&text);
    struct weft_err pe = {{0}};
    if (sync_persist(s, &pe) != 0) {
        sync_end(s, false, pe.msg);
        return;
    }
    if (rc != 0) {
        sync_end(s, false, e.msg);
        return;
    }
    sync_step(s);
}

static void sync_step(struct agent_mesh_sync *s)
{
    struct weft *w = s->w;
    struct weft_err e = {{0}};
    struct sbuf body;
    sbuf_init(&body);
    int rc = mesh_sync_session_next(s->sess, &body, &e);
    if (rc <= 0) {
        sync_end(s, rc == 0, e.msg);
        sbuf_deinit(&body);
        return;
    }
    const struct config_control *cc = &w->cfg->control;
    struct ctl_client_opts o = {
        .handshake_ms = cc->handshake_ms,
        .request_ms = cc->request_ms,
        .frame_max = (size_t)cc->max_frame,
    };
    s->call = ctl_client_call(w->base, s->conf, s->addr, "mesh.sync", sbuf_str(&body), &o,
                              sync_done, s, &e);
    sbuf_deinit(&body);
    if (!s->call)
        sync_end(s, false, e.msg);
}

/* A live weft member's name, "ip:ctlport" and mesh digest tag; 0 if usable. */
static int sync_member(const struct swim_member *m, char *addr, size_t cap, char mesh[17])
{
    struct serf_tag tags[SERF_TAGS_MAX];
    size_t n = 0, mlen = 0;
    struct weft_err e = {{0}};
    char ip[INET6_ADDRSTRLEN];
    if (swim_member_status(m) != SWIM_ALIVE)
        return -1;
    const uint8_t *meta = swim_member_meta(m, &mlen);
    if (!meta || serf_tags_decode(meta, mlen, tags, SERF_TAGS_MAX, &n, &e) != 0)
        return -1;
    const char *role = serf_tag_get(tags, n, "role");
    const char *ctl = serf_tag_get(tags, n, "ctl");
    const char *dig = serf_tag_get(tags, n, "mesh");
    if (!role || strcmp(role, "weft") != 0 || !dig)
        return -1;
    snprintf(mesh, 17, "%s", dig);
    if (!ctl)
        return 1; /* a weft member without a control listener: cannot sync */
    const struct swim_addr *a = swim_member_addr(m);
    if (!inet_ntop(a->ip_len == 4 ? AF_INET : AF_INET6, a->ip, ip, sizeof(ip)))
        return 1;
    snprintf(addr, cap, a->ip_len == 4 ? "%s:%s" : "[%s]:%s", ip, ctl);
    return 0;
}

void agent_mesh_peers_behind(struct weft *w, size_t *members, size_t *behind, char *names,
                             size_t cap)
{
    char ours[17], addr[300], dig[17];
    *members = 1;
    *behind = 0;
    names[0] = '\0';
    if (!w->gossip)
        return;
    agent_mesh_tag(w, ours, sizeof(ours));
    const struct swim *sw = gossip_net_swim(w->gossip);
    for (size_t i = 0; i < swim_member_count(sw); i++) {
        const struct swim_member *m = swim_member_at(sw, i);
        if (strcmp(swim_member_name(m), swim_name(sw)) == 0 ||
            sync_member(m, addr, sizeof(addr), dig) < 0)
            continue;
        const struct sync_peer *p = sync_peer_find(w->mesh_sync, swim_member_name(m));
        if ((p && p->untrusted) || agent_revoked_node(w, swim_member_name(m)))
            continue;
        (*members)++;
        if (strcmp(dig, ours) != 0) {
            size_t len = strlen(names);
            if (len + strlen(swim_member_name(m)) + 3 < cap)
                snprintf(names + len, cap - len, "%s%s", len ? ", " : "", swim_member_name(m));
            (*behind)++;
        }
    }
}

static void sync_on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct agent_mesh_sync *s = arg;
    struct weft *w = s->w;
    (void)fd;
    (void)what;
    loop_timer_add(s->tick, SYNC_TICK_MS);
    if (s->sess || !w->gossip || !w->ident)
        return;
    char ours[17], addr[300], dig[17];
    const char *pick = NULL;
    char pick_addr[300] = "";
    size_t seen = 0;
    int64_t now = clock_mono_ms();
    agent_mesh_tag(w, ours, sizeof(ours));
    const struct swim *sw = gossip_net_swim(w->gossip);
    for (size_t i = 0; i < swim_member_count(sw); i++) {
        const struct swim_member *m = swim_member_at(sw, i);
        const char *name = swim_member_name(m);
        if (strcmp(name, swim_name(sw)) == 0 || sync_member(m, addr, sizeof(addr), dig) != 0 ||
            strcmp(dig, ours) == 0 || agent_revoked_node(w, name))
            continue;
        struct sync_peer *p = sync_peer_slot(s, name);
        if (p->retry_at_ms > now ||
            (strcmp(p->done_tag, dig) == 0 && strcmp(p->done_ours, ours) == 0))
            continue;
        /* Reservoir sampling: a uniform pick among the candidates. */
        if ((uint64_t)clock_mono_us() % ++seen == 0) {
            pick = name;
            snprintf(pick_addr, sizeof(pick_addr), "%s", addr);
            snprintf(s->peer_tag, sizeof(s->peer_tag), "%s", dig);
        }
    }
    if (!pick)
        return;
    struct weft_err e = {{0}};
    snprintf(s->peer, sizeof(s->peer), "%s", pick);
    snprintf(s->addr, sizeof(s->addr), "%s", pick_addr);
    s->started_ms = now;
    if (!(s->conf = agent_ctl_conf(w, TLS_ROLE_CLIENT, &e)) ||
        !(s->sess = mesh_sync_session_new(agent_mesh_table(w), MESH_SYNC_BUDGET_DEFAULT))) {
        snprintf(s->last_error, sizeof(s->last_error), "%s", e.msg[0] ? e.msg : "out of memory");
        tls_conf_free(s->conf);
        s->conf = NULL;
        return;
    }
    sync_step(s);
}

/* ---- start / stop / status ----------------------------------------------------------- */

int agent_mesh_sync_start(struct weft *w, struct weft_err *e)
{
    struct agent_mesh_sync *s = calloc(1, sizeof(*s));
    if (!s)
        return err_set(e, "out of memory");
    s->w = w;
    s->rl = (struct log_ratelim)LOG_RATELIM_INIT(10000, 5);
    w->mesh_sync = s;
    mesh_table_set_hooks(agent_mesh_table(w), sync_accept, sync_on_applied, s);
    if (w->ctl && ctl_server_method(w->ctl, "mesh.sync", sync_method, w) != 0)
        return err_set(e, "cannot register the mesh.sync method");
    if (!(s->tick = event_new(w->base, -1, 0, sync_on_tick, s)))
        return err_set(e, "out of memory");
    loop_timer_add(s->tick, SYNC_TICK_MS);
    return 0;
}

void agent_mesh_sync_stop(struct weft *w)
{
    struct agent_mesh_sync *s = w->mesh_sync;
    if (!s)
        return;
    ctl_client_cancel(s->call);
    mesh_sync_session_free(s->sess);
    tls_conf_free(s->conf);
    if (s->tick)
        event_free(s->tick);
    sync_rows_clear(s);
    free(s->rows);
    free(s);
    w->mesh_sync = NULL;
}

void agent_mesh_sync_status(const struct weft *w, struct json_w *j)
{
    const struct agent_mesh_sync *s = w->mesh_sync;
    json_key(j, "sync");
    if (!s) {
        json_null(j);
        return;
    }
    json_obj_begin(j);
    json_kv_uint(j, "sessions_ok", s->sessions_ok);
    json_kv_uint(j, "sessions_failed", s->sessions_failed);
    json_kv_uint(j, "served", s->served);
    json_kv_uint(j, "served_refused", s->serve_refused);
    json_kv_uint(j, "records_stored", s->records_in);
    json_kv_uint(j, "store_errors", s->store_errors);
    json_kv_uint(j, "merged_applied", s->in.applied);
    json_kv_uint(j, "merged_ignored", s->in.ignored);
    json_kv_uint(j, "merged_refused", s->in.refused);
    /* Request and reply bodies (JSON, before TLS and framing): as initiator
     * (every session, failed ones too) and as responder. */
    json_kv_uint(j, "requests_sent", s->out.requests);
    json_kv_uint(j, "bytes_sent", s->out.bytes_out);
    json_kv_uint(j, "bytes_received", s->out.bytes_in);
    json_kv_uint(j, "requests_served", s->in.requests);
    json_kv_uint(j, "served_bytes_in", s->in.bytes_in);
    json_kv_uint(j, "served_bytes_out", s->in.bytes_out);
    json_kv_bool(j, "in_flight", s->sess != NULL);
    json_kv_str(j, "last_peer", s->last_peer[0] ? s->last_peer : NULL);
    json_kv_str(j, "last_error", s->last_error[0] ? s->last_error : NULL);
    json_obj_end(j);
}

/* ---- GET /metrics: the weft_mesh_sync_* families (docs/metrics.md) ----------------------- */

void agent_mesh_sync_metrics(struct weft *w, struct prom_w *pw)
{
    const struct agent_mesh_sync *s = w->mesh_sync;
    prom_family(pw, "weft_mesh_sync_sessions_total", PROM_COUNTER,
                "Anti-entropy exchanges this node started, by outcome.");
    if (s) {
        prom_u64(pw, s->sessions_ok, "result", "ok", NULL);
        prom_u64(pw, s->sessions_failed, "result", "failed", NULL);
    }
    prom_family(pw, "weft_mesh_sync_served_total", PROM_COUNTER,
                "Anti-entropy requests from peers, by outcome.");
    if (s) {
        prom_u64(pw, s->served, "result", "ok", NULL);
        prom_u64(pw, s->serve_refused, "result", "refused", NULL);
    }
    prom_family(pw, "weft_mesh_sync_in_flight", PROM_GAUGE,
                "1 while an exchange started by this node is running.");
    if (s)
        prom_u64(pw, s->sess != NULL, NULL);
    prom_family(pw, "weft_mesh_sync_records_stored_total", PROM_COUNTER,
                "Records received by anti-entropy and stored.");
    if (s)
        prom_u64(pw, s->records_in, NULL);
    prom_family(pw, "weft_mesh_sync_store_errors_total", PROM_COUNTER,
                "Records received by anti-entropy that could not be stored.");
    if (s)
        prom_u64(pw, s->store_errors, NULL);
    prom_family(pw, "weft_mesh_sync_merged_total", PROM_COUNTER,
                "Records pushed to this node by peers, by merge outcome.");
    if (s) {
        prom_u64(pw, s->in.applied, "result", "applied", NULL);
        prom_u64(pw, s->in.ignored, "result", "ignored", NULL);
        prom_u64(pw, s->in.refused, "result", "refused", NULL);
    }
    prom_family(pw, "weft_mesh_sync_requests_total", PROM_COUNTER,
                "Anti-entropy request bodies, sent as initiator or served as responder.");
    if (s) {
        prom_u64(pw, s->out.requests, "role", "initiator", NULL);
        prom_u64(pw, s->in.requests, "role", "responder", NULL);
    }
    prom_family(pw, "weft_mesh_sync_bytes_total", PROM_COUNTER,
                "Anti-entropy body bytes (JSON, before framing and TLS), by role and direction.");
    if (s) {
        prom_u64(pw, s->out.bytes_out, "role", "initiator", "direction", "sent", NULL);
        prom_u64(pw, s->out.bytes_in, "role", "initiator", "direction", "received", NULL);
        prom_u64(pw, s->in.bytes_out, "role", "responder", "direction", "sent", NULL);
        prom_u64(pw, s->in.bytes_in, "role", "responder", "direction", "received", NULL);
    }
}
