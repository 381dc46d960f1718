/*
 * agent_mesh: the control plane's state on this node (docs/mesh.md): the
 * replicated records (mesh/table.h) loaded from and written to the store,
 * the config objects users write through the admin API, and the digest
 * this node publishes in its gossip tags. Anti-entropy with peers is
 * agent_mesh_sync.c.
 *
 *   POST   /v1/mesh/apply   {"file", "text", "wait_ms"}  an objects file, all or nothing
 *   GET    /v1/mesh/objects?kind=K[&name=N]               live objects
 *   DELETE /v1/mesh/objects?kind=K&name=N                 a tombstone
 *   GET    /v1/mesh/history[?kind=K[&name=N]][&limit=N]   accepted versions
 *   GET    /v1/mesh                                       digest, counts, counters
 *   (and the weft_mesh_* families of GET /metrics: agent_mesh_metrics)
 *
 * Durability: a write is stamped with the table's hybrid logical clock,
 * stored (store_mesh_put: one transaction, synchronous=FULL) and only then
 * merged into the table and acknowledged. A crash before the commit loses
 * an unacknowledged write; after it, nothing.
 *
 * Allocation: w->mesh owns the table, its timers and the pending --wait
 * requests (each freed when answered, or at stop).
 */
#include "admin/admin.h"
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/jsonv.h"
#include "core/log.h"
#include "core/loop.h"
#include "mesh/hlc.h"
#include "mesh/object.h"
#include "mesh/table.h"
#include "pki/identity.h"
#include "pki/spiffe.h"
#include "store/store.h"
#include "telemetry/prom.h"

#include <event2/event.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tags follow the digest at most this often (a burst of writes, one update). */
#define MESH_TAG_DEBOUNCE_MS 200
/* Tombstones are collected this often. */
#define MESH_GC_EVERY_MS (10 * 60 * 1000)
/* --wait checks the members' digests this often. */
#define MESH_WAIT_POLL_MS 100

struct mesh_wait {
    struct agent_mesh *m;
    struct mesh_wait *next;
    struct admin_pending *pend;
    struct event *timer;
    int64_t deadline_ms; /* monotonic */
    char *reply;         /* the apply's answer, sent once converged */
};

struct agent_mesh {
    struct weft *w;
    struct mesh_table *table;
    char writer[SPIFFE_ID_MAX + 1];
    uint64_t published; /* the digest in our tags */
    bool tag_armed;
    struct event *tag_timer;
    struct event *gc_timer;
    struct mesh_wait *waits;
    uint64_t applies, deletes, unchanged, store_errors, gcd;
};

int64_t agent_mesh_wall_ms(const struct weft *w)
{
    /* The wall clock, plus the debug offset ([debug] clock_offset, POST
     * /v1/debug/clock; zero unless [admin] debug): tests move a node's
     * certificates and its mesh stamps together, as real time would. */
    return clock_wall_ms() + w->clock_offset_ms;
}

const char *agent_mesh_writer(const struct weft *w)
{
    return w->mesh->writer;
}

struct mesh_table *agent_mesh_table(struct weft *w)
{
    return w->mesh ? w->mesh->table : NULL;
}

/* ---- tags ------------------------------------------------------------------------ */

static void mesh_on_tag_timer(evutil_socket_t fd, short what, void *arg)
{
    struct agent_mesh *m = arg;
    (void)fd;
    (void)what;
    m->tag_armed = false;
    uint64_t d = mesh_table_digest(m->table);
    if (d == m->published)
        return;
    m->published = d;
    agent_gossip_retag(m->w);
}

void agent_mesh_changed(struct weft *w)
{
    struct agent_mesh *m = w->mesh;
    if (!m || m->tag_armed || !w->gossip)
        return;
    m->tag_armed = true;
    loop_timer_add(m->tag_timer, MESH_TAG_DEBOUNCE_MS);
}

/* ---- durable writes ---------------------------------------------------------------- */

int agent_mesh_store_and_merge(struct weft *w, const struct mesh_record *recs, size_t n,
                               struct weft_err *e)
{
    struct agent_mesh *m = w->mesh;
    struct store_mesh_rec *rows = calloc(n ? n : 1, sizeof(*rows));
    if (!rows)
        return err_set(e, "out of memory");
    for (size_t i = 0; i < n; i++)
        rows[i] = (struct store_mesh_rec){.kind = recs[i].kind,
                                          .name = recs[i].name,
                                          .hlc = recs[i].hlc,
                                          .writer = recs[i].writer,
                                          .deleted = recs[i].deleted,
                                          .body = recs[i].body,
                                          .body_len = recs[i].body_len};
    int rc = store_mesh_put(w->store, rows, n, clock_wall_ms(), e);
    free(rows);
    if (rc != 0) {
        m->store_errors++;
        return -1;
    }
    int64_t now = agent_mesh_wall_ms(w);
    for (size_t i = 0; i < n; i++) {
        struct weft_err me = {{0}};
        /* Stored, so accepted: never refused for drift here (the caller
         * checked it before storing). */
        int64_t at = mesh_hlc_ms(recs[i].hlc) > now ? mesh_hlc_ms(recs[i].hlc) : now;
        if (mesh_table_merge(m->table, &recs[i], at, &me) == MESH_MERGE_NOMEM)
            return err_set(e, "out of memory");
    }
    agent_mesh_changed(w);
    return 0;
}

/* ---- start / stop --------------------------------------------------------------- */

static int mesh_load_one(void *ud, const struct store_mesh_rec *r)
{
    struct agent_mesh *m = ud;
    struct weft_err e = {{0}};
    struct mesh_record rec = {.kind = r->kind,
                              .name = r->name,
                              .hlc = r->hlc,
                              .writer = r->writer,
                              .deleted = r->deleted,
                              .body = r->body,
                              .body_len = r->body_len};
    /* Our own store: judged at the record's own time, so a clock that went
     * back across a reboot (no RTC) refuses nothing and the HLC moves past. */
    int64_t now = agent_mesh_wall_ms(m->w);
    int64_t at = mesh_hlc_ms(r->hlc) > now ? mesh_hlc_ms(r->hlc) : now;
    enum mesh_merge rc = mesh_table_merge(m->table, &rec, at, &e);
    if (rc == MESH_MERGE_NOMEM)
        return -1;
    if (rc == MESH_MERGE_REFUSED)
        log_warn(LOG_AGENT, "mesh: stored record %s/%s ignored: %s", r->kind, r->name, e.msg);
    return 0;
}

static void mesh_on_gc(evutil_socket_t fd, short what, void *arg);

int agent_mesh_start(struct weft *w, struct weft_err *e)
{
    struct agent_mesh *m = calloc(1, sizeof(*m));
    if (!m)
        return err_set(e, "out of memory");
    m->w = w;
    w->mesh = m;
    if (w->ident)
        snprintf(m->writer, sizeof(m->writer), "%s", w->ident->idents[0].spiffe_id);
    else if (spiffe_id_format(SPIFFE_NODE, w->cfg->node.trust_domain, w->cfg->node.name, m->writer,
                              sizeof(m->writer), e) != 0)
        return err_prefix(e, "mesh: the writer identity");
    if (!(m->table = mesh_table_new(0)) ||
        !(m->tag_timer = event_new(w->base, -1, 0, mesh_on_tag_timer, m)) ||
        !(m->gc_timer = event_new(w->base, -1, EV_PERSIST, mesh_on_gc, m)))
        return err_set(e, "out of memory");
    if (store_mesh_each(w->store, mesh_load_one, m, e) != 0)
        return err_prefix(e, "mesh: loading the records");
    m->published = mesh_table_digest(m->table);
    loop_timer_add(m->gc_timer, MESH_GC_EVERY_MS);
    log_info(LOG_AGENT, "mesh: %zu records, digest %016" PRIx64 ", writing as %s",
             mesh_table_count(m->table), m->published, m->writer);
    return 0;
}

static void mesh_wait_free(struct mesh_wait *wt)
{
    for (struct mesh_wait **pp = &wt->m->waits; *pp; pp = &(*pp)->next)
        if (*pp == wt) {
            *pp = wt->next;
            break;
        }
    if (wt->timer)
        event_free(wt->timer);
    free(wt->reply);
    free(wt);
}

void agent_mesh_stop(struct weft *w)
{
    struct agent_mesh *m = w->mesh;
    if (!m)
        return;
    agent_mesh_sync_stop(w);
    while (m->waits) {
        admin_pending_error(m->waits->pend, 503, "the agent is stopping");
        mesh_wait_free(m->waits);
    }
    if (m->tag_timer)
        event_free(m->tag_timer);
    if (m->gc_timer)
        event_free(m->gc_timer);
    mesh_table_free(m->table);
    free(m);
    w->mesh = NULL;
}

void agent_mesh_tag(const struct weft *w, char *out, size_t cap)
{
    snprintf(out, cap, "%016" PRIx64, w->mesh ? mesh_table_digest(w->mesh->table) : 0);
}

/* ---- tombstone collection --------------------------------------------------------- */

struct gc_walk {
    uint64_t floor;
    struct mesh_record *dead;
    size_t n, cap;
};

static void mesh_on_gc(evutil_socket_t fd, short what, void *arg)
{
    struct agent_mesh *m = arg;
    (void)fd;
    (void)what;
    size_t n = mesh_table_gc(m->table, agent_mesh_wall_ms(m->w), m->w->cfg->mesh.gc_horizon_ms);
    if (n == 0)
        return;
    m->gcd += n;
    /* The store keeps tombstones until their horizon too: drop those at or
     * below the collected floor (the table's record of what it forgot). */
    struct weft_err e = {{0}};
    if (store_mesh_gc(m->w->store, mesh_table_gc_floor(m->table), &e) != 0)
        log_warn(LOG_AGENT, "mesh: collecting stored tombstones: %s", e.msg);
    log_info(LOG_AGENT, "mesh: collected %zu tombstone%s older than the horizon", n,
             n == 1 ? "" : "s");
    agent_mesh_changed(m->w);
}

/* ---- admin API ------------------------------------------------------------------- */

/* "2026-11-25T23:01:02.345Z" from an HLC stamp's wall part. */
static void mesh_when(uint64_t hlc, char out[32])
{
    char iso[21];
    int64_t ms = mesh_hlc_ms(hlc);
    pki_identity_time_iso(ms / 1000, iso);
    snprintf(out, 32, "%.19s.%03dZ", iso, (int)(ms % 1000));
}

static void mesh_json_record(struct json_w *j, const struct mesh_record *r)
{
    char when[32], hlc[MESH_HLC_TEXT_MAX];
    mesh_when(r->hlc, when);
    json_kv_str(j, "kind", r->kind);
    json_kv_str(j, "name", r->name);
    json_kv_str(j, "hlc", mesh_hlc_format(r->hlc, hlc));
    json_kv_str(j, "at", when);
    json_kv_str(j, "writer", r->writer);
}

/* Is (kind, name) held and live? Its record in *out. */
static bool mesh_live(const struct agent_mesh *m, const char *kind, const char *name,
                      struct mesh_record *out)
{
    return mesh_table_get(m->table, kind, name, out) && !out->deleted;
}

static int mesh_api_status(void *ud, const struct admin_req *req, struct sbuf *out,
                           struct weft_err *e)
{
    struct weft *w = ud;
    struct agent_mesh *m = w->mesh;
    struct json_w j;
    char tag[17];
    (void)req;
    (void)e;
    const struct mesh_table_counters *c = mesh_table_counters(m->table);
    json_w_init(&j, out);
    json_obj_begin(&j);
    agent_mesh_tag(w, tag, sizeof(tag));
    json_kv_str(&j, "digest", tag);
    json_kv_uint(&j, "records", mesh_table_count(m->table));
    json_kv_str(&j, "writer", m->writer);
    json_kv_uint(&j, "applies", m->applies);
    json_kv_uint(&j, "deletes", m->deletes);
    json_kv_uint(&j, "unchanged", m->unchanged);
    json_kv_uint(&j, "store_errors", m->store_errors);
    json_key(&j, "table");
    json_obj_begin(&j);
    json_kv_uint(&j, "merged", c->merged);
    json_kv_uint(&j, "ignored", c->ignored);
    json_kv_uint(&j, "refused", c->refused);
    json_kv_uint(&j, "drift", c->drift);
    json_kv_uint(&j, "denied", c->denied);
    json_kv_uint(&j, "expired", c->expired);
    json_kv_uint(&j, "gc", c->gcd);
    json_obj_end(&j);
    agent_mesh_sync_status(w, &j);
    json_obj_end(&j);
    return 200;
}

/* ---- --wait: until every live member's digest is ours ---- */

static void mesh_wait_check(evutil_socket_t fd, short what, void *arg)
{
    struct mesh_wait *wt = arg;
    (void)fd;
    (void)what;
    size_t members = 0, behind = 0;
    char lag[200] = "";
    agent_mesh_peers_behind(wt->m->w, &members, &behind, lag, sizeof(lag));
    if (behind == 0) {
        /* The apply's answer, with the members that hold it. */
        struct sbuf out;
        char tag[17];
        sbuf_init(&out);
        sbuf_append(&out, wt->reply, strlen(wt->reply) - 1); /* drop the closing brace */
        agent_mesh_tag(wt->m->w, tag, sizeof(tag));
        sbuf_printf(&out, ",\"members\":%zu,\"converged\":true}", members);
        admin_pending_reply(wt->pend, 200, out.data, out.len);
        sbuf_deinit(&out);
        mesh_wait_free(wt);
        return;
    }
    if (clock_mono_ms() >= wt->deadline_ms) {
        char msg[400];
        snprintf(msg, sizeof(msg),
                 "written and durable here, but %zu of %zu members do not hold it yet: %s", behind,
                 members, lag);
        admin_pending_error(wt->pend, 504, msg);
        mesh_wait_free(wt);
        return;
    }
    loop_timer_add(wt->timer, MESH_WAIT_POLL_MS);
}

static int mesh_wait_start(struct agent_mesh *m, const struct admin_req *req, int64_t wait_ms,
                           struct sbuf *reply, struct weft_err *e)
{
    struct mesh_wait *wt = calloc(1, sizeof(*wt));
    if (!wt || !(wt->reply = strdup(sbuf_str(reply)))) {
        free(wt);
        return err_set(e, "out of memory");
    }
    wt->m = m;
    wt->deadline_ms = clock_mono_ms() + wait_ms;
    if (!(wt->timer = event_new(m->w->base, -1, 0, mesh_wait_check, wt)) ||
        !(wt->pend = admin_defer(req))) {
        if (wt->timer)
            event_free(wt->timer);
        free(wt->reply);
        free(wt);
        return err_set(e, "out of memory");
    }
    wt->next = m->waits;
    m->waits = wt;
    /* Tags first (the debounce), then the members' answers. */
    loop_timer_add(wt->timer, MESH_TAG_DEBOUNCE_MS + MESH_WAIT_POLL_MS);
    return 0;
}

/* POST /v1/mesh/apply {"file": NAME, "text": INI, "wait_ms": N} */
static int mesh_api_apply(void *ud, const struct admin_req *req, struct sbuf *out,
                          struct weft_err *e)
{
    struct weft *w = ud;
    struct agent_mesh *m = w->mesh;
    struct mesh_obj_file f = {0};
    struct config_errs errs;
    struct mesh_record *recs = NULL;
    const char **change = NULL;
    int status = 400;
    config_errs_init(&errs);
    config_errs_set_limit(&errs, MESH_OBJ_ERRS_MAX);
    struct jsonv *b = jsonv_parse(req->body, req->body_len, e);
    if (!b)
        return 400;
    const char *file = jsonv_str(jsonv_get(b, "file"), "-");
    const char *text = jsonv_str(jsonv_get(b, "text"), NULL);
    int64_t wait_ms = jsonv_int(jsonv_get(b, "wait_ms"), 0);
    if (!text) {
        err_set(e, "\"text\" (the objects file) is required");
        goto out;
    }
    if (wait_ms < 0 || wait_ms > 600000) {
        err_set(e, "wait_ms: want 0 to 600000");
        goto out;
    }
    if (agent_mesh_may_write(w, m->writer, e) != 0) {
        status = 403;
        goto out;
    }
    if (mesh_obj_parse(file, text, &f, &errs) != 0 || errs.n || errs.dropped) {
        struct json_w j;
        json_w_init(&j, out);
        json_obj_begin(&j);
        char msg[300];
        snprintf(msg, sizeof(msg), "%s: %zu error%s, nothing applied", file, errs.n + errs.dropped,
                 errs.n + errs.dropped == 1 ? "" : "s");
        json_kv_str(&j, "error", msg);
        json_key(&j, "errors");
        json_arr_begin(&j);
        for (size_t i = 0; i < errs.n; i++)
            json_str(&j, errs.lines[i]);
        if (errs.dropped) {
            snprintf(msg, sizeof(msg), "(%zu more not shown)", errs.dropped);
            json_str(&j, msg);
        }
        json_arr_end(&j);
        json_obj_end(&j);
        goto out;
    }
    if (f.n == 0) {
        err_set(e, "%s holds no objects", file);
        goto out;
    }
    status = 500;
    recs = calloc(f.n, sizeof(*recs));
    change = calloc(f.n, sizeof(*change));
    if (!recs || !change) {
        err_set(e, "out of memory");
        goto out;
    }
    size_t n = 0;
    int64_t now = agent_mesh_wall_ms(w);
    for (size_t i = 0; i < f.n; i++) {
        const struct mesh_obj *o = &f.objs[i];
        const char *kind = mesh_obj_kind_name(o->kind);
        struct mesh_record cur;
        if (mesh_live(m, kind, o->name, &cur) && cur.body_len == o->body_len &&
            memcmp(cur.body, o->body, o->body_len) == 0) {
            change[i] = "unchanged";
            continue;
        }
        change[i] =
            mesh_table_get(m->table, kind, o->name, &cur) && !cur.deleted ? "updated" : "created";
        recs[n++] = (struct mesh_record){.kind = kind,
                                         .name = o->name,
                                         .hlc = mesh_hlc_now(mesh_table_hlc(m->table), now),
                                         .writer = m->writer,
                                         .body = (const uint8_t *)o->body,
                                         .body_len = o->body_len};
    }
    if (n && agent_mesh_store_and_merge(w, recs, n, e) != 0)
        goto out;
    m->applies += n;
    m->unchanged += f.n - n;
    log_info(LOG_AGENT, "mesh: applied %s: %zu object%s written, %zu unchanged", file, n,
             n == 1 ? "" : "s", f.n - n);
    struct json_w j;
    char tag[17];
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_key(&j, "objects");
    json_arr_begin(&j);
    for (size_t i = 0; i < f.n; i++) {
        struct mesh_record r;
        json_obj_begin(&j);
        mesh_table_get(m->table, mesh_obj_kind_name(f.objs[i].kind), f.objs[i].name, &r);
        mesh_json_record(&j, &r);
        json_kv_str(&j, "change", change[i]);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    agent_mesh_tag(w, tag, sizeof(tag));
    json_kv_str(&j, "digest", tag);
    json_obj_end(&j);
    status = 200;
    if (wait_ms > 0) {
        if (mesh_wait_start(m, req, wait_ms, out, e) != 0) {
            status = 500;
            goto out;
        }
        status = ADMIN_DEFERRED;
    }
out:
    free(recs);
    free(change);
    mesh_obj_file_deinit(&f);
    config_errs_deinit(&errs);
    jsonv_free(b);
    return status;
}

struct get_walk {
    const char *name; /* NULL: all of the kind */
    struct json_w *j;
    size_t n;
};

static int mesh_get_one(const struct mesh_record *r, void *arg)
{
    struct get_walk *g = arg;
    if (r->deleted || (g->name && strcmp(g->name, r->name) != 0))
        return 0;
    struct mesh_obj o;
    struct weft_err e = {{0}};
    struct sbuf ini;
    sbuf_init(&ini);
    json_obj_begin(g->j);
    mesh_json_record(g->j, r);
    sbuf_append(&ini, r->body, r->body_len);
    json_kv_str(g->j, "body", sbuf_str(&ini));
    sbuf_reset(&ini);
    if (mesh_obj_from_body(r->kind, r->name, (const char *)r->body, r->body_len, &o, &e) == 0) {
        mesh_obj_render(&o, &ini);
        mesh_obj_deinit(&o);
        json_kv_str(g->j, "ini", sbuf_str(&ini));
    } else {
        /* A kind this version does not know (a newer writer): shown raw. */
        json_kv_str(g->j, "ini", NULL);
    }
    json_obj_end(g->j);
    sbuf_deinit(&ini);
    g->n++;
    return 0;
}

/* GET /v1/mesh/objects?kind=K[&name=N] */
static int mesh_api_get(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    char kind[MESH_KIND_MAX + 1] = "", name[MESH_NAME_MAX + 1] = "";
    bool has_name = admin_query_get(req->query, "name", name, sizeof(name));
    if (!admin_query_get(req->query, "kind", kind, sizeof(kind)) || !kind[0]) {
        err_set(e, "?kind= is required");
        return 400;
    }
    struct json_w j;
    struct get_walk g = {.name = has_name ? name : NULL, .j = &j};
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_key(&j, "objects");
    json_arr_begin(&j);
    if (mesh_table_foreach(w->mesh->table, kind, mesh_get_one, &g) < 0) {
        err_set(e, "out of memory");
        return 500;
    }
    json_arr_end(&j);
    json_obj_end(&j);
    return 200;
}

/* DELETE /v1/mesh/objects?kind=K&name=N */
static int mesh_api_delete(void *ud, const struct admin_req *req, struct sbuf *out,
                           struct weft_err *e)
{
    struct weft *w = ud;
    struct agent_mesh *m = w->mesh;
    char kind[MESH_KIND_MAX + 1] = "", name[MESH_NAME_MAX + 1] = "";
    struct mesh_record cur;
    if (!admin_query_get(req->query, "kind", kind, sizeof(kind)) ||
        !admin_query_get(req->query, "name", name, sizeof(name))) {
        err_set(e, "?kind= and &name= are required");
        return 400;
    }
    if (!mesh_live(m, kind, name, &cur)) {
        err_set(e, "no %s %s", kind, name);
        return 404;
    }
    if (agent_mesh_may_write(w, m->writer, e) != 0)
        return 403;
    struct mesh_record t = {.kind = kind,
                            .name = name,
                            .hlc = mesh_hlc_now(mesh_table_hlc(m->table), agent_mesh_wall_ms(w)),
                            .writer = m->writer,
                            .deleted = true};
    if (agent_mesh_store_and_merge(w, &t, 1, e) != 0)
        return 500;
    m->deletes++;
    log_info(LOG_AGENT, "mesh: deleted %s %s", kind, name);
    struct json_w j;
    json_w_init(&j, out);
    json_obj_begin(&j);
    mesh_json_record(&j, &t);
    json_kv_bool(&j, "deleted", true);
    json_obj_end(&j);
    return 200;
}

static int mesh_hist_one(void *ud, const struct store_mesh_rec *r, int64_t received_ms)
{
    struct json_w *j = ud;
    struct mesh_record rec = {.kind = r->kind, .name = r->name, .hlc = r->hlc, .writer = r->writer};
    char when[32];
    json_obj_begin(j);
    mesh_json_record(j, &rec);
    json_kv_bool(j, "deleted", r->deleted);
    mesh_when(mesh_hlc_make(received_ms, 0), when);
    json_kv_str(j, "received", when);
    json_obj_end(j);
    return 0;
}

/* GET /v1/mesh/history[?kind=K[&name=N]][&limit=N] */
static int mesh_api_history(void *ud, const struct admin_req *req, struct sbuf *out,
                            struct weft_err *e)
{
    struct weft *w = ud;
    char kind[MESH_KIND_MAX + 1] = "", name[MESH_NAME_MAX + 1] = "", lim[16] = "";
    bool has_kind = admin_query_get(req->query, "kind", kind, sizeof(kind)) && kind[0];
    bool has_name = admin_query_get(req->query, "name", name, sizeof(name)) && name[0];
    long limit =
        admin_query_get(req->query, "limit", lim, sizeof(lim)) ? strtol(lim, NULL, 10) : 50;
    if (limit < 1 || limit > STORE_MESH_HISTORY_MAX) {
        err_set(e, "limit: want 1 to %d", STORE_MESH_HISTORY_MAX);
        return 400;
    }
    struct json_w j;
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_key(&j, "history");
    json_arr_begin(&j);
    if (store_mesh_history(w->store, has_kind ? kind : NULL, has_kind && has_name ? name : NULL,
                           (size_t)limit, mesh_hist_one, &j, e) != 0)
        return 500;
    json_arr_end(&j);
    json_obj_end(&j);
    return 200;
}

int agent_mesh_api(struct weft *w)
{
    if (admin_route(w->admin, ADMIN_GET, "/v1/mesh", mesh_api_status, w) != 0 ||
        admin_route(w->admin, ADMIN_POST, "/v1/mesh/apply", mesh_api_apply, w) != 0 ||
        admin_route(w->admin, ADMIN_GET, "/v1/mesh/objects", mesh_api_get, w) != 0 ||
        admin_route(w->admin, ADMIN_DELETE, "/v1/mesh/objects", mesh_api_delete, w) != 0 ||
        admin_route(w->admin, ADMIN_GET, "/v1/mesh/history", mesh_api_history, w) != 0)
        return -1;
    return 0;
}

/*
 * [mesh] writers: a comma-separated list of node names or node SPIFFE IDs
 * that may originate changes; empty, every node of the trust domain. A
 * name matches spiffe://<our trust domain>/node/<name>.
 */
int agent_mesh_may_write(const struct weft *w, const char *writer, struct weft_err *e)
{
    const char *list = w->cfg->mesh.writers;
    char id[SPIFFE_ID_MAX + 1];
    if (!list || !*list)
        return 0;
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ", ");
        if (len == 0)
            break;
        if (strncmp(p, "spiffe://", 9) == 0)
            snprintf(id, sizeof(id), "%.*s", (int)len, p);
        else
            snprintf(id, sizeof(id), "spiffe://%s/node/%.*s", w->cfg->node.trust_domain, (int)len,
                     p);
        if (strcmp(id, writer) == 0)
            return 0;
        p += len;
    }
    return err_set(e, "%s may not change the mesh's config ([mesh] writers)", writer);
}

/* ---- GET /metrics: the weft_mesh_* families (docs/metrics.md) ---------------------------- */

static int mesh_count_tombstone(const struct mesh_record *r, void *arg)
{
    if (r->deleted)
        ++*(size_t *)arg;
    return 0;
}

void agent_mesh_metrics(struct weft *w, struct prom_w *pw)
{
    const struct agent_mesh *m = w->mesh;
    const struct mesh_table_counters *c = m ? mesh_table_counters(m->table) : NULL;
    size_t tomb = 0;
    if (m)
        mesh_table_foreach(m->table, NULL, mesh_count_tombstone, &tomb);
    prom_family(pw, "weft_mesh_records", PROM_GAUGE,
                "Replicated records held, live ones and tombstones (deletes kept until gc).");
    if (m) {
        prom_u64(pw, mesh_table_count(m->table) - tomb, "state", "live", NULL);
        prom_u64(pw, tomb, "state", "tombstone", NULL);
    }
    prom_family(pw, "weft_mesh_local_writes_total", PROM_COUNTER,
                "Objects written at this node through the API, by outcome.");
    if (m) {
        prom_u64(pw, m->applies, "result", "applied", NULL);
        prom_u64(pw, m->deletes, "result", "deleted", NULL);
        prom_u64(pw, m->unchanged, "result", "unchanged", NULL);
    }
    prom_family(pw, "weft_mesh_store_errors_total", PROM_COUNTER,
                "Writes of records to the store that failed (nothing merged).");
    if (m)
        prom_u64(pw, m->store_errors, NULL);
    prom_family(pw, "weft_mesh_merges_total", PROM_COUNTER,
                "Record versions offered to the table (local and replicated), by outcome.");
    if (c) {
        prom_u64(pw, c->merged, "result", "merged", NULL);
        prom_u64(pw, c->ignored, "result", "ignored", NULL);
        prom_u64(pw, c->refused, "result", "refused", NULL);
    }
    prom_family(pw, "weft_mesh_merges_refused_total", PROM_COUNTER,
                "Of the refused versions: those refused for clock drift or by the writer rules.");
    if (c) {
        prom_u64(pw, c->drift, "reason", "drift", NULL);
        prom_u64(pw, c->denied, "reason", "denied", NULL);
    }
    prom_family(pw, "weft_mesh_merges_expired_total", PROM_COUNTER,
                "Of the ignored versions: tombstones older than the collected horizon.");
    if (c)
        prom_u64(pw, c->expired, NULL);
    prom_family(pw, "weft_mesh_tombstones_collected_total", PROM_COUNTER,
                "Tombstones dropped by garbage collection ([mesh] gc_horizon).");
    if (c)
        prom_u64(pw, c->gcd, NULL);
}
