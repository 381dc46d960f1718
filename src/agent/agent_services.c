/*
 * agent_services: this node's services in the mesh's catalog (docs/mesh.md
 * "Services"). Each local service ([service NAME] in the config, or
 * registered at run time with `weft service add`) has a health checker
 * (mesh/health.h) run here, by the owning node, and is published as a
 * replicated record:
 *
 *   kind "service", name "SERVICE@NODE", writer: this node's SPIFFE ID,
 *   body: "key = value" lines in a fixed order (svc_body), health included.
 *
 * Every node holds every record, so every node knows the whole catalog
 * (`weft services`). A node may only publish its own services: a service
 * record whose NODE is not its writer's node name is refused by every
 * node (agent_mesh_sync.c's accept hook calls agent_services_may_publish).
 *
 * On start and on SIGHUP the node reconciles: configured services are
 * (re)published and checked; its own records that are in neither the
 * config nor the run-time registrations are deleted (tombstones). A
 * run-time registration survives restarts: it is its own record (source
 * "api"), read back at start.
 *
 *   GET    /v1/services                  the catalog
 *   POST   /v1/services {"name", "port", "address", "protocol", "check",
 *                        "check_path", "check_interval", "check_timeout",
 *                        "healthy_threshold", "unhealthy_threshold", "tags"}
 *   DELETE /v1/services?name=N           a run-time registration
 *
 * Allocation: w->services owns every struct svc and its checker.
 */
#include "admin/admin.h"
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/addr.h"
#include "core/json.h"
#include "core/jsonv.h"
#include "core/log.h"
#include "core/units.h"
#include "gossip/gossip_net.h"
#include "gossip/serf.h"
#include "gossip/swim.h"
#include "mesh/health.h"
#include "mesh/hlc.h"
#include "mesh/table.h"
#include "pki/spiffe.h"
#include "telemetry/prom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SVC_KIND "service"
#define SVC_MAX 64

struct svc {
    char name[SPIFFE_NAME_MAX + 1];
    char address[64];
    int port;
    char protocol[8]; /* tcp, http */
    char check[8];    /* none, tcp, http */
    char check_path[HEALTH_PATH_MAX];
    int64_t interval_ms, timeout_ms;
    int healthy, unhealthy;
    char tags[256];
    bool from_api;
    struct health *h; /* NULL: check = none */
    enum health_state state;
    char reason[160];
};

struct agent_services {
    struct weft *w;
    struct svc *svcs[SVC_MAX];
    size_t n;
    uint64_t publishes, publish_errors;
};

static const char *svc_health(const struct svc *s)
{
    if (!s->h)
        return "passing"; /* no check: taken as healthy, as Consul does */
    return health_state_name(s->state);
}

/* The record body: fixed key order, so equal content is equal bytes. */
static void svc_body(const struct weft *w, const struct svc *s, struct sbuf *out)
{
    sbuf_printf(out, "node = %s\n", w->cfg->node.name);
    sbuf_printf(out, "address = %s\n", s->address);
    sbuf_printf(out, "port = %d\n", s->port);
    sbuf_printf(out, "protocol = %s\n", s->protocol);
    sbuf_printf(out, "health = %s\n", svc_health(s));
    sbuf_printf(out, "identity = spiffe://%s/svc/%s\n", w->cfg->node.trust_domain, s->name);
    char inbound[64];
    if (agent_proxy_advertise(w, inbound, sizeof(inbound)))
        sbuf_printf(out, "inbound = %s\n", inbound);
    sbuf_printf(out, "check = %s\n", s->check);
    if (strcmp(s->check, "http") == 0)
        sbuf_printf(out, "check_path = %s\n", s->check_path);
    sbuf_printf(out, "check_interval = %lldms\n", (long long)s->interval_ms);
    sbuf_printf(out, "check_timeout = %lldms\n", (long long)s->timeout_ms);
    sbuf_printf(out, "healthy_threshold = %d\n", s->healthy);
    sbuf_printf(out, "unhealthy_threshold = %d\n", s->unhealthy);
    if (s->tags[0])
        sbuf_printf(out, "tags = %s\n", s->tags);
    sbuf_printf(out, "source = %s\n", s->from_api ? "api" : "config");
}

static void svc_key(const struct weft *w, const char *svc, char *out, size_t cap)
{
    snprintf(out, cap, "%s@%s", svc, w->cfg->node.name);
}

/* Write (or delete) this node's record of s durably. */
static int svc_publish(struct agent_services *as, const struct svc *s, bool deleted,
                       struct weft_err *e)
{
    struct weft *w = as->w;
    char key[MESH_NAME_MAX + 1];
    struct sbuf body;
    struct mesh_record cur;
    svc_key(w, s->name, key, sizeof(key));
    sbuf_init(&body);
    if (!deleted)
        svc_body(w, s, &body);
    bool have = mesh_table_get(agent_mesh_table(w), SVC_KIND, key, &cur);
    if ((deleted && (!have || cur.deleted)) ||
        (!deleted && have && !cur.deleted && cur.body_len == body.len &&
         memcmp(cur.body, body.data, body.len) == 0)) {
        sbuf_deinit(&body);
        return 0; /* nothing changes */
    }
    struct mesh_record r = {
        .kind = SVC_KIND,
        .name = key,
        .hlc = mesh_hlc_now(mesh_table_hlc(agent_mesh_table(w)), agent_mesh_wall_ms(w)),
        .writer = agent_mesh_writer(w),
        .deleted = deleted,
        .body = deleted ? NULL : (const uint8_t *)body.data,
        .body_len = deleted ? 0 : body.len};
    int rc = body.oom ? err_set(e, "out of memory") : agent_mesh_store_and_merge(w, &r, 1, e);
    sbuf_deinit(&body);
    if (rc == 0)
        as->publishes++;
    else
        as->publish_errors++;
    return rc;
}

static void svc_on_change(void *arg, struct health *h, enum health_state from, enum health_state to,
                          const char *reason)
{
    struct svc *s = NULL;
    struct agent_services *as = arg;
    struct weft_err e = {{0}};
    for (size_t i = 0; i < as->n && !s; i++)
        if (as->svcs[i]->h == h)
            s = as->svcs[i];
    if (!s)
        return;
    s->state = to;
    snprintf(s->reason, sizeof(s->reason), "%s", reason ? reason : "");
    log_info(LOG_AGENT, "service %s: %s -> %s%s%s", s->name, health_state_name(from),
             health_state_name(to), reason && *reason ? ": " : "", reason ? reason : "");
    if (svc_publish(as, s, false, &e) != 0)
        log_error(LOG_AGENT, "service %s: publishing its health: %s", s->name, e.msg);
}

static void svc_free(struct svc *s)
{
    if (!s)
        return;
    health_free(s->h);
    free(s);
}

/* Start s's checker (if any). */
static int svc_start_check(struct agent_services *as, struct svc *s, struct weft_err *e)
{
    if (strcmp(s->check, "none") == 0)
        return 0;
    struct health_params p;
    health_params_init(&p);
    snprintf(p.name, sizeof(p.name), "%s", s->name);
    p.kind = strcmp(s->check, "http") == 0 ? HEALTH_HTTP : HEALTH_TCP;
    char addr[96];
    snprintf(addr, sizeof(addr), strchr(s->address, ':') ? "[%s]:%d" : "%s:%d", s->address,
             s->port);
    if (addr_parse(addr, &p.addr, &p.addr_len, e) != 0)
        return err_prefix(e, "service %s", s->name);
    snprintf(p.path, sizeof(p.path), "%s", s->check_path[0] ? s->check_path : "/");
    p.interval_ms = s->interval_ms;
    p.timeout_ms = s->timeout_ms;
    p.healthy_threshold = (unsigned)s->healthy;
    p.unhealthy_threshold = (unsigned)s->unhealthy;
    if (!(s->h = health_new(as->w->base, &p, svc_on_change, as, e)) || health_start(s->h, e) != 0)
        return err_prefix(e, "service %s: health check", s->name);
    return 0;
}

static struct svc *svc_from_config(const struct config_service *c)
{
    struct svc *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    snprintf(s->name, sizeof(s->name), "%s", c->name);
    snprintf(s->address, sizeof(s->address), "%s", c->address ? c->address : "127.0.0.1");
    s->port = c->port;
    snprintf(s->protocol, sizeof(s->protocol), "%s",
             c->protocol == CONFIG_SVC_HTTP ? "http" : "tcp");
    snprintf(s->check, sizeof(s->check), "%s",
             c->check == CONFIG_CHECK_NONE   ? "none"
             : c->check == CONFIG_CHECK_HTTP ? "http"
                                             : "tcp");
    snprintf(s->check_path, sizeof(s->check_path), "%s", c->check_path ? c->check_path : "/");
    s->interval_ms = c->check_interval_ms;
    s->timeout_ms = c->check_timeout_ms;
    s->healthy = c->healthy_threshold;
    s->unhealthy = c->unhealthy_threshold;
    snprintf(s->tags, sizeof(s->tags), "%s", c->tags ? c->tags : "");
    return s;
}

/* A run-time registration from a JSON object (the API, or a stored record's fields). */
static struct svc *svc_from_json(const struct jsonv *b, struct weft_err *e)
{
    struct svc *s = calloc(1, sizeof(*s));
    if (!s) {
        err_set(e, "out of memory");
        return NULL;
    }
    const char *name = jsonv_str(jsonv_get(b, "name"), NULL);
    const char *addr = jsonv_str(jsonv_get(b, "address"), "127.0.0.1");
    const char *proto = jsonv_str(jsonv_get(b, "protocol"), "tcp");
    const char *check = jsonv_str(jsonv_get(b, "check"), "tcp");
    const char *path = jsonv_str(jsonv_get(b, "check_path"), "/");
    const char *ival = jsonv_str(jsonv_get(b, "check_interval"), "10s");
    const char *tout = jsonv_str(jsonv_get(b, "check_timeout"), "2s");
    const char *tags = jsonv_str(jsonv_get(b, "tags"), "");
    int64_t port = jsonv_int(jsonv_get(b, "port"), 0);
    int64_t hth = jsonv_int(jsonv_get(b, "healthy_threshold"), 2);
    int64_t uth = jsonv_int(jsonv_get(b, "unhealthy_threshold"), 3);
    struct sockaddr_storage ss;
    socklen_t sl;
    char probe[96];
    if (!name || spiffe_name_check(SPIFFE_SVC, name, e) != 0) {
        if (!name)
            err_set(e, "\"name\" is required");
        goto bad;
    }
    snprintf(s->name, sizeof(s->name), "%s", name);
    if (port < 1 || port > 65535) {
        err_set(e, "port: want 1 to 65535");
        goto bad;
    }
    snprintf(probe, sizeof(probe), strchr(addr, ':') ? "[%s]:1" : "%s:1", addr);
    if (strlen(addr) >= sizeof(s->address) || addr_parse(probe, &ss, &sl, e) != 0) {
        err_set(e, "address '%s': want an IP address", addr);
        goto bad;
    }
    if (strcmp(proto, "tcp") != 0 && strcmp(proto, "http") != 0) {
        err_set(e, "protocol: want tcp or http");
        goto bad;
    }
    if (strcmp(check, "none") != 0 && strcmp(check, "tcp") != 0 && strcmp(check, "http") != 0) {
        err_set(e, "check: want none, tcp or http");
        goto bad;
    }
    if (path[0] != '/' || strlen(path) >= sizeof(s->check_path) || strpbrk(path, " \t\r\n")) {
        err_set(e, "check_path: want a path starting with / and no spaces");
        goto bad;
    }
    if (units_parse_duration_ms(ival, &s->interval_ms, e) != 0 ||
        units_parse_duration_ms(tout, &s->timeout_ms, e) != 0)
        goto bad;
    if (s->interval_ms < 1000 || s->interval_ms > 3600000 || s->timeout_ms < 1 ||
        s->timeout_ms >= s->interval_ms) {
        err_set(e, "check_interval 1s-1h, check_timeout below it");
        goto bad;
    }
    if (hth < 1 || hth > 10 || uth < 1 || uth > 10) {
        err_set(e, "thresholds: want 1 to 10");
        goto bad;
    }
    if (strlen(tags) >= sizeof(s->tags) || strpbrk(tags, "\r\n")) {
        err_set(e, "tags: at most %zu bytes on one line", sizeof(s->tags) - 1);
        goto bad;
    }
    snprintf(s->address, sizeof(s->address), "%s", addr);
    s->port = (int)port;
    snprintf(s->protocol, sizeof(s->protocol), "%s", proto);
    snprintf(s->check, sizeof(s->check), "%s", check);
    snprintf(s->check_path, sizeof(s->check_path), "%s", path);
    s->healthy = (int)hth;
    s->unhealthy = (int)uth;
    snprintf(s->tags, sizeof(s->tags), "%s", tags);
    s->from_api = true;
    return s;
bad:
    free(s);
    return NULL;
}

static struct svc *svc_find(struct agent_services *as, const char *name, size_t *idx)
{
    for (size_t i = 0; i < as->n; i++)
        if (strcmp(as->svcs[i]->name, name) == 0) {
            if (idx)
                *idx = i;
            return as->svcs[i];
        }
    return NULL;
}

/* Take s (owned) into the list, start its check and publish it. */
static int svc_add(struct agent_services *as, struct svc *s, struct weft_err *e)
{
    if (as->n == SVC_MAX) {
        svc_free(s);
        return err_set(e, "at most %d services per node", SVC_MAX);
    }
    as->svcs[as->n++] = s;
    if (svc_start_check(as, s, e) != 0 || svc_publish(as, s, false, e) != 0)
        return -1;
    return 0;
}

static void svc_remove_at(struct agent_services *as, size_t i, bool unpublish)
{
    struct weft_err e = {{0}};
    struct svc *s = as->svcs[i];
    if (unpublish && svc_publish(as, s, true, &e) != 0)
        log_error(LOG_AGENT, "service %s: withdrawing it: %s", s->name, e.msg);
    svc_free(s);
    as->svcs[i] = as->svcs[--as->n];
}

/* ---- body parsing (our own records read back at start; the catalog API) ---- */

/* The value of key in a "k = v" body, into out; false if absent. */
static bool body_get(const uint8_t *body, size_t len, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    const char *p = (const char *)body, *end = p + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (ll > kl + 3 && memcmp(p, key, kl) == 0 && memcmp(p + kl, " = ", 3) == 0) {
            snprintf(out, cap, "%.*s", (int)(ll - kl - 3), p + kl + 3);
            return true;
        }
        p += ll + 1;
    }
    return false;
}

struct own_walk {
    struct agent_services *as;
    char suffix[SPIFFE_NAME_MAX + 2];
};

/* At start: bring back run-time registrations; withdraw stale config ones. */
static int svc_own_record(const struct mesh_record *r, void *arg)
{
    struct own_walk *ow = arg;
    struct agent_services *as = ow->as;
    size_t nl = strlen(r->name), sl = strlen(ow->suffix);
    if (r->deleted || nl <= sl || strcmp(r->name + nl - sl, ow->suffix) != 0)
        return 0;
    char svc[SPIFFE_NAME_MAX + 1], src[16] = "";
    snprintf(svc, sizeof(svc), "%.*s", (int)(nl - sl), r->name);
    if (svc_find(as, svc, NULL))
        return 0; /* configured: already (re)published */
    body_get(r->body, r->body_len, "source", src, sizeof(src));
    if (strcmp(src, "api") != 0) {
        /* Removed from the config while the agent was down. */
        struct svc tmp = {0};
        struct weft_err e = {{0}};
        snprintf(tmp.name, sizeof(tmp.name), "%s", svc);
        if (svc_publish(as, &tmp, true, &e) != 0)
            log_error(LOG_AGENT, "service %s: withdrawing it: %s", svc, e.msg);
        else
            log_info(LOG_AGENT, "service %s: no longer configured, withdrawn", svc);
        return 0;
    }
    /* Re-register from the record: its fields as JSON for svc_from_json. */
    static const char *const keys[] = {"address",        "protocol",      "check", "check_path",
                                       "check_interval", "check_timeout", "tags"};
    char v[300];
    struct sbuf js;
    struct json_w j;
    struct weft_err e = {{0}};
    sbuf_init(&js);
    json_w_init(&j, &js);
    json_obj_begin(&j);
    json_kv_str(&j, "name", svc);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (body_get(r->body, r->body_len, keys[i], v, sizeof(v)))
            json_kv_str(&j, keys[i], v);
    if (body_get(r->body, r->body_len, "port", v, sizeof(v)))
        json_kv_int(&j, "port", strtol(v, NULL, 10));
    if (body_get(r->body, r->body_len, "healthy_threshold", v, sizeof(v)))
        json_kv_int(&j, "healthy_threshold", strtol(v, NULL, 10));
    if (body_get(r->body, r->body_len, "unhealthy_threshold", v, sizeof(v)))
        json_kv_int(&j, "unhealthy_threshold", strtol(v, NULL, 10));
    json_obj_end(&j);
    struct jsonv *b = jsonv_parse(js.data, js.len, &e);
    struct svc *s = b ? svc_from_json(b, &e) : NULL;
    jsonv_free(b);
    sbuf_deinit(&js);
    if (!s || svc_add(as, s, &e) != 0)
        log_error(LOG_AGENT, "service %s (registered at run time): %s", svc, e.msg);
    return 0;
}

int agent_services_start(struct weft *w, struct weft_err *e)
{
    struct agent_services *as = calloc(1, sizeof(*as));
    if (!as)
        return err_set(e, "out of memory");
    as->w = w;
    w->services = as;
    for (size_t i = 0; i < w->cfg->services.n; i++) {
        struct svc *s = svc_from_config(config_service_at(w->cfg, i));
        if (!s)
            return err_set(e, "out of memory");
        if (svc_add(as, s, e) != 0)
            return -1;
    }
    struct own_walk ow = {.as = as};
    snprintf(ow.suffix, sizeof(ow.suffix), "@%s", w->cfg->node.name);
    if (mesh_table_foreach(agent_mesh_table(w), SVC_KIND, svc_own_record, &ow) < 0)
        return err_set(e, "out of memory");
    if (as->n)
        log_info(LOG_AGENT, "services: %zu local service%s published", as->n,
                 as->n == 1 ? "" : "s");
    return 0;
}

void agent_services_stop(struct weft *w)
{
    struct agent_services *as = w->services;
    if (!as)
        return;
    for (size_t i = 0; i < as->n; i++)
        svc_free(as->svcs[i]);
    free(as);
    w->services = NULL;
}

void agent_services_reload(struct weft *w)
{
    struct agent_services *as = w->services;
    struct weft_err e = {{0}};
    if (!as)
        return;
    /* Configured services that went away or changed: stop them. */
    for (size_t i = as->n; i-- > 0;) {
        struct svc *s = as->svcs[i];
        if (s->from_api)
            continue;
        const struct config_service *c = config_service_find(w->cfg, s->name);
        struct svc *now = c ? svc_from_config(c) : NULL;
        bool same = now && strcmp(now->address, s->address) == 0 && now->port == s->port &&
                    strcmp(now->protocol, s->protocol) == 0 && strcmp(now->check, s->check) == 0 &&
                    strcmp(now->check_path, s->check_path) == 0 &&
                    now->interval_ms == s->interval_ms && now->timeout_ms == s->timeout_ms &&
                    now->healthy == s->healthy && now->unhealthy == s->unhealthy &&
                    strcmp(now->tags, s->tags) == 0;
        free(now);
        if (!same) {
            log_info(LOG_AGENT, "SIGHUP: service %s %s", s->name, c ? "changed" : "removed");
            svc_remove_at(as, i, c == NULL);
        }
    }
    /* New or changed ones: start them. A run-time one of the same name yields. */
    for (size_t i = 0; i < w->cfg->services.n; i++) {
        const struct config_service *c = config_service_at(w->cfg, i);
        size_t idx;
        struct svc *old = svc_find(as, c->name, &idx);
        if (old && !old->from_api)
            continue;
        if (old)
            svc_remove_at(as, idx, false);
        struct svc *s = svc_from_config(c);
        if (!s || svc_add(as, s, &e) != 0)
            log_error(LOG_AGENT, "SIGHUP: service %s: %s", c->name, s ? e.msg : "out of memory");
        else
            log_info(LOG_AGENT, "SIGHUP: service %s published", c->name);
    }
}

bool agent_services_may_publish(const struct weft *w, const struct mesh_record *r,
                                struct weft_err *e)
{
    struct spiffe_id id;
    const char *at = strrchr(r->name, '@');
    if (!at || at == r->name || !at[1])
        return err_set(e, "service record %s: not SERVICE@NODE", r->name) == 0;
    if (spiffe_id_parse(r->writer, strlen(r->writer), &id, e) != 0 || id.kind != SPIFFE_NODE ||
        strcmp(id.trust_domain, w->cfg->node.trust_domain) != 0 || strcmp(id.name, at + 1) != 0)
        return err_set(e, "service record %s written by %s: a node publishes only its own", r->name,
                       r->writer) == 0;
    return true;
}

/* ---- admin API ------------------------------------------------------------------ */

struct catalog_walk {
    struct weft *w;
    struct json_w *j;
};

/* Gossip's view of the node publishing a record: its records say what the
 * node last wrote ("passing" stays after it left or failed); this says
 * whether the node is still there: alive, suspect, failed, left, or
 * unknown once reaped. NULL without gossip. */
static const char *catalog_node_status(struct weft *w, const char *node)
{
    if (!w->gossip)
        return NULL;
    const struct swim_member *m = swim_member_find(gossip_net_swim(w->gossip), node);
    if (m)
        return agent_gossip_status_name(swim_member_status(m));
    /* SWIM forgets a departed member soon (GossipToTheDeadTime); Serf's
     * table keeps it, left or failed, until it is reaped. */
    enum serf_mstatus st = serf_member_status(gossip_net_serf(w->gossip), node, NULL);
    return st != SERF_ST_NONE ? serf_status_name(st) : "unknown";
}

static int svc_catalog_one(const struct mesh_record *r, void *arg)
{
    struct catalog_walk *cw = arg;
    struct json_w *j = cw->j;
    static const char *const keys[] = {"node",     "address", "protocol", "health",
                                       "identity", "check",   "tags",     "source"};
    char v[300];
    if (r->deleted)
        return 0;
    const char *at = strrchr(r->name, '@');
    json_obj_begin(j);
    snprintf(v, sizeof(v), "%.*s", at ? (int)(at - r->name) : (int)strlen(r->name), r->name);
    json_kv_str(j, "service", v);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        json_kv_str(j, keys[i], body_get(r->body, r->body_len, keys[i], v, sizeof(v)) ? v : NULL);
    json_kv_int(j, "port",
                body_get(r->body, r->body_len, "port", v, sizeof(v)) ? strtol(v, NULL, 10) : 0);
    json_kv_str(j, "node_status",
                body_get(r->body, r->body_len, "node", v, sizeof(v)) ? catalog_node_status(cw->w, v)
                                                                     : NULL);
    char hlc[MESH_HLC_TEXT_MAX];
    json_kv_str(j, "hlc", mesh_hlc_format(r->hlc, hlc));
    json_obj_end(j);
    return 0;
}

static int svc_api_list(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    struct json_w j;
    (void)req;
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_key(&j, "services");
    json_arr_begin(&j);
    struct catalog_walk cw = {w, &j};
    if (mesh_table_foreach(agent_mesh_table(w), SVC_KIND, svc_catalog_one, &cw) < 0) {
        err_set(e, "out of memory");
        return 500;
    }
    json_arr_end(&j);
    json_obj_end(&j);
    return 200;
}

static int svc_api_add(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    struct agent_services *as = w->services;
    struct jsonv *b = jsonv_parse(req->body, req->body_len, e);
    if (!b)
        return 400;
    struct svc *s = svc_from_json(b, e);
    jsonv_free(b);
    if (!s)
        return 400;
    size_t idx;
    struct svc *old = svc_find(as, s->name, &idx);
    if (old && !old->from_api) {
        err_set(e, "service %s is configured ([service %s]): change the config and reload", s->name,
                s->name);
        svc_free(s);
        return 409;
    }
    if (old)
        svc_remove_at(as, idx, false);
    char name[sizeof(s->name)];
    snprintf(name, sizeof(name), "%s", s->name);
    if (svc_add(as, s, e) != 0)
        return 500;
    log_info(LOG_AGENT, "service %s registered at run time", name);
    sbuf_printf(out, "{\"registered\":\"%s\"}", name);
    return 200;
}

static int svc_api_remove(void *ud, const struct admin_req *req, struct sbuf *out,
                          struct weft_err *e)
{
    struct weft *w = ud;
    struct agent_services *as = w->services;
    char name[SPIFFE_NAME_MAX + 1];
    size_t idx;
    if (!admin_query_get(req->query, "name", name, sizeof(name))) {
        err_set(e, "?name= is required");
        return 400;
    }
    struct svc *s = svc_find(as, name, &idx);
    if (!s) {
        err_set(e, "no local service %s", name);
        return 404;
    }
    if (!s->from_api) {
        err_set(e, "service %s is configured ([service %s]): remove it from the config and reload",
                name, name);
        return 409;
    }
    svc_remove_at(as, idx, true);
    log_info(LOG_AGENT, "service %s removed", name);
    sbuf_printf(out, "{\"removed\":\"%s\"}", name);
    return 200;
}

int agent_services_api(struct weft *w)
{
    if (admin_route(w->admin, ADMIN_GET, "/v1/services", svc_api_list, w) != 0 ||
        admin_route(w->admin, ADMIN_POST, "/v1/services", svc_api_add, w) != 0 ||
        admin_route(w->admin, ADMIN_DELETE, "/v1/services", svc_api_remove, w) != 0)
        return -1;
    return 0;
}

/* ---- GET /metrics: the weft_service_* families (docs/metrics.md) -------------------------- */

void agent_services_metrics(struct weft *w, struct prom_w *pw)
{
    const struct agent_services *as = w->services;
    size_t n = as ? as->n : 0;
    prom_family(pw, "weft_service_healthy", PROM_GAUGE,
                "1 if this node's service passes its health check (or has none), else 0.");
    for (size_t i = 0; i < n; i++)
        prom_u64(pw, strcmp(svc_health(as->svcs[i]), "passing") == 0, "service", as->svcs[i]->name,
                 NULL);
    prom_family(pw, "weft_service_health_checks_total", PROM_COUNTER,
                "Health checks run for this node's services, by result.");
    for (size_t i = 0; i < n; i++) {
        const struct health_counters *hc = as->svcs[i]->h ? health_counters(as->svcs[i]->h) : NULL;
        for (int r = 0; hc && r < HEALTH_RESULT_MAX; r++)
            prom_u64(pw, hc->by_result[r], "service", as->svcs[i]->name, "result",
                     health_result_name((enum health_result)r), NULL);
    }
    prom_family(pw, "weft_service_health_changes_total", PROM_COUNTER,
                "Health state changes of this node's services.");
    for (size_t i = 0; i < n; i++)
        if (as->svcs[i]->h)
            prom_u64(pw, health_counters(as->svcs[i]->h)->changes, "service", as->svcs[i]->name,
                     NULL);
    prom_family(pw, "weft_service_publishes_total", PROM_COUNTER,
                "Catalog records of this node's services written, by outcome.");
    if (as) {
        prom_u64(pw, as->publishes, "result", "ok", NULL);
        prom_u64(pw, as->publish_errors, "result", "error", NULL);
    }
}

bool agent_services_body_get(const uint8_t *body, size_t len, const char *key, char *out,
                             size_t cap)
{
    return body_get(body, len, key, out, cap);
}

bool agent_services_local(const struct weft *w, const char *name, char *address, size_t cap,
                          int *port)
{
    const struct agent_services *as = w->services;
    for (size_t i = 0; as && i < as->n; i++) {
        if (strcmp(as->svcs[i]->name, name) == 0) {
            snprintf(address, cap, "%s", as->svcs[i]->address);
            *port = as->svcs[i]->port;
            return true;
        }
    }
    return false;
}
