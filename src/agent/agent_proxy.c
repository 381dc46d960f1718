/*
 * agent_proxy: the data plane's glue (docs/proxy.md) — builds the proxy
 * (src/proxy/) from [proxy] and [upstream NAME], and answers its hooks from
 * what the agent holds:
 *
 *   - targets:   the catalog's SERVICE@NODE records (their `inbound` and
 *                `health` lines), revoked nodes left out;
 *   - client_tls: a client conf with the certificate of the `from` service
 *                (or the node's), accepting service IDs of the trust domain
 *                (each dial narrows it to its target's ID);
 *   - inbound:   revoked caller? local service? then the replicated policy
 *                (mesh_policy_decide; no match and no [policy default]:
 *                [proxy] default_action).
 * The inbound server conf presents the certificate of the service the SNI
 * names (every service identity the node holds), and requires SNI.
 *
 * Owner: w->proxy (struct agent_proxy) owns the px, the inbound conf
 * reference and the policy cache.
 */
#include "agent/agent_types.h"

#include "admin/admin.h"
#include "config/config.h"
#include "config/schema.h"
#include "core/addr.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/sbuf.h"
#include "gossip/gossip_net.h"
#include "gossip/swim.h"
#include "mesh/object.h"
#include "mesh/policy.h"
#include "mesh/table.h"
#include "pki/identity.h"
#include "proxy/lb.h"
#include "proxy/proxy.h"
#include "proxy/stream.h"
#include "telemetry/prom.h"
#include "tls/tls_conf.h"

#include <event2/event.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Policy objects considered per decision; more are logged and ignored. */
#define AP_POLICIES_MAX 1024

struct agent_proxy {
    struct weft *w;
    struct px *px;
    struct px_tlsref *server; /* the inbound conf (a reference) */
    /* The policies, parsed once per table digest. */
    bool pol_valid;
    uint64_t pol_digest;
    struct mesh_obj *objs; /* grown as needed, at most AP_POLICIES_MAX */
    const struct mesh_obj **ptrs;
    size_t nobjs, cap;
    /* Graceful drain. */
    struct event *drain_ev;
    int64_t drain_until_ms;
    void (*drain_done)(struct weft *w);
};

/* ---- addresses ---- */

/* "IP:PORT" of ss into out. */
static void addr_format(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "";
    unsigned port;
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
        snprintf(out, cap, "[%s]:%u", ip, port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        port = ntohs(a->sin_port);
        snprintf(out, cap, "%s:%u", ip, port);
    }
}

static bool addr_is_any(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
}

static void addr_set_port(struct sockaddr_storage *ss, unsigned port)
{
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

static unsigned addr_port(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)ss)->sin6_port)
                                     : ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

bool agent_proxy_advertise(const struct weft *w, char *out, size_t cap)
{
    const struct config_proxy *pc = &w->cfg->proxy;
    if (!pc->inbound)
        return false;
    struct weft_err e = {0};
    struct sockaddr_storage in, ss;
    socklen_t len;
    if (pc->advertise) {
        snprintf(out, cap, "%s", pc->advertise);
        return true;
    }
    if (addr_parse(pc->inbound, &in, &len, &e) != 0)
        return false;
    if (!addr_is_any(&in)) {
        addr_format(&in, out, cap);
        return true;
    }
    /* A wildcard bind: the address gossip advertises, with inbound's port. */
    const char *g = w->cfg->gossip.advertise ? w->cfg->gossip.advertise : w->cfg->gossip.bind;
    if (g && addr_parse(g, &ss, &len, &e) == 0 && !addr_is_any(&ss)) {
        addr_set_port(&ss, addr_port(&in));
        addr_format(&ss, out, cap);
        return true;
    }
    snprintf(out, cap, "127.0.0.1:%u", addr_port(&in));
    return true;
}

/* ---- TLS confs ---- */

static bool accept_any(void *arg, const char *id)
{
    (void)arg;
    (void)id;
    return true; /* the trust domain was checked; policy decides */
}

static bool accept_svc(void *arg, const char *id)
{
    (void)arg;
    const char *p = strstr(id, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    return p && strncmp(p, "/svc/", 5) == 0;
}

static const struct pki_ident *ident_find(const struct weft *w, const char *service)
{
    if (!w->ident)
        return NULL;
    if (!service || !*service)
        return &w->ident->idents[0];
    for (size_t i = 1; i < w->ident->nidents; i++) {
        const struct pki_ident *id = &w->ident->idents[i];
        if (id->kind == SPIFFE_SVC && strcmp(id->name, service) == 0)
            return id;
    }
    return NULL;
}

static struct tls_conf *conf_make(const struct weft *w, enum tls_role role,
                                  const struct pki_ident *own, struct weft_err *e)
{
    struct sbuf roots;
    sbuf_init(&roots);
    struct tls_conf *c = NULL;
    if (pki_identity_roots_pem(w->ident, &roots, e) == 0)
        c = tls_conf_new_pem(role, own->cert_pem, own->key_pem, sbuf_str(&roots), e);
    sbuf_deinit(&roots);
    if (!c)
        return NULL;
    if (tls_conf_set_trust_domain(c, w->cfg->node.trust_domain, e) != 0) {
        tls_conf_free(c);
        return NULL;
    }
    if (w->cfg->admin.debug)
        tls_conf_set_clock_offset(c, &w->clock_offset_ms);
    return c;
}

static struct px_tlsref *server_conf(const struct weft *w, struct weft_err *e)
{
    struct tls_conf *c = conf_make(w, TLS_ROLE_SERVER, &w->ident->idents[0], e);
    if (!c)
        return NULL;
    tls_conf_set_accept_fn(c, accept_any, NULL);
    for (size_t i = 1; i < w->ident->nidents; i++) {
        const struct pki_ident *id = &w->ident->idents[i];
        if (id->kind == SPIFFE_SVC &&
            tls_conf_add_sni_cert(c, id->name, id->cert_pem, id->key_pem, e) != 0) {
            tls_conf_free(c);
            return NULL;
        }
    }
    tls_conf_sni_required(c, true);
    struct px_tlsref *r = px_tlsref_new(c);
    if (!r)
        err_set(e, "out of memory");
    return r;
}

static struct px_tlsref *hook_client_tls(void *arg, const char *identity, struct weft_err *e)
{
    struct agent_proxy *ap = arg;
    const struct pki_ident *own = ident_find(ap->w, identity);
    if (!own) {
        err_set(e, "this node holds no certificate for service %s", identity);
        return NULL;
    }
    struct tls_conf *c = conf_make(ap->w, TLS_ROLE_CLIENT, own, e);
    if (!c)
        return NULL;
    tls_conf_set_accept_fn(c, accept_svc, NULL);
    struct px_tlsref *r = px_tlsref_new(c);
    if (!r)
        err_set(e, "out of memory");
    return r;
}

/* ---- the catalog ---- */

struct targets_walk {
    struct agent_proxy *ap;
    const char *service;
    size_t slen;
    struct px_target *out;
    size_t cap, n;
};

static int target_visit(const struct mesh_record *r, void *arg)
{
    struct targets_walk *tw = arg;
    if (r->deleted || strncmp(r->name, tw->service, tw->slen) != 0 || r->name[tw->slen] != '@')
        return 0;
    if (tw->n >= tw->cap)
        return 1;
    char node[128], health[32], inbound[PX_ADDR_MAX];
    if (!agent_services_body_get(r->body, r->body_len, "inbound", inbound, sizeof(inbound)) ||
        !agent_services_body_get(r->body, r->body_len, "node", node, sizeof(node)) ||
        !agent_services_body_get(r->body, r->body_len, "health", health, sizeof(health)))
        return 0; /* a node without [proxy] inbound cannot be reached */
    if (agent_revoked_node(tw->ap->w, node))
        return 0;
    /* A node that left the gossip pool (or failed) gets no new connections
     * even before its records say so: that is how a draining node sheds its
     * callers. Nor does a node gossip does not know (any more): a member
     * that left is forgotten after GossipToTheDeadTime while its records,
     * still "passing", stay in the catalog. */
    struct gossip_net *g = tw->ap->w->gossip;
    const struct swim_member *m = g ? swim_member_find(gossip_net_swim(g), node) : NULL;
    if (g && (!m || swim_member_status(m) == SWIM_LEFT || swim_member_status(m) == SWIM_DEAD))
        return 0;
    struct px_target *t = &tw->out[tw->n++];
    snprintf(t->key, sizeof(t->key), "%s", r->name);
    snprintf(t->node_addr, sizeof(t->node_addr), "%s", inbound);
    t->healthy = strcmp(health, "passing") == 0;
    return 0;
}

static size_t hook_targets(void *arg, const char *service, struct px_target *out, size_t cap)
{
    struct agent_proxy *ap = arg;
    struct mesh_table *t = agent_mesh_table(ap->w);
    if (!t)
        return 0;
    struct targets_walk tw = {ap, service, strlen(service), out, cap, 0};
    mesh_table_foreach(t, "service", target_visit, &tw);
    return tw.n;
}

/* The catalog's digest mixed with gossip's member-table version: either
 * changing makes the upstreams refresh. O(1) per new connection. */
static uint64_t hook_catalog_version(void *arg)
{
    struct agent_proxy *ap = arg;
    struct mesh_table *t = agent_mesh_table(ap->w);
    uint64_t v = t ? mesh_table_digest(t) : 0;
    if (ap->w->gossip)
        v ^= (swim_members_version(gossip_net_swim(ap->w->gossip)) + 1) * 0x9e3779b97f4a7c15ULL;
    return v;
}

/* ---- policy ---- */

static void policies_clear(struct agent_proxy *ap)
{
    for (size_t i = 0; i < ap->nobjs; i++)
        mesh_obj_deinit(&ap->objs[i]);
    ap->nobjs = 0;
    ap->pol_valid = false;
}

static int policy_visit(const struct mesh_record *r, void *arg)
{
    struct agent_proxy *ap = arg;
    if (r->deleted)
        return 0;
    if (ap->nobjs >= AP_POLICIES_MAX) {
        static struct log_ratelim rl = LOG_RATELIM_INIT(60000, 1);
        log_ratelim(&rl, LOG_LEVEL_WARN, LOG_PROXY, "proxy: more than %d policies; ignoring %s",
                    AP_POLICIES_MAX, r->name);
        return 0;
    }
    if (ap->nobjs == ap->cap) {
        size_t cap = ap->cap ? ap->cap * 2 : 16;
        struct mesh_obj *objs = realloc(ap->objs, cap * sizeof(*objs));
        const struct mesh_obj **ptrs = objs ? realloc(ap->ptrs, cap * sizeof(*ptrs)) : NULL;
        if (objs)
            ap->objs = objs;
        if (!objs || !ptrs)
            return -1; /* out of memory: decide with what is there */
        ap->ptrs = ptrs;
        ap->cap = cap;
    }
    struct weft_err e = {0};
    struct mesh_obj *o = &ap->objs[ap->nobjs];
    memset(o, 0, sizeof(*o));
    if (mesh_obj_from_body(r->kind, r->name, (const char *)r->body, r->body_len, o, &e) != 0) {
        /* Records were checked when accepted; a bad one here is a bug. */
        log_warn(LOG_PROXY, "proxy: policy %s: %s", r->name, e.msg);
        return 0;
    }
    ap->nobjs++;
    return 0;
}

static void policies_refresh(struct agent_proxy *ap)
{
    struct mesh_table *t = agent_mesh_table(ap->w);
    uint64_t d = t ? mesh_table_digest(t) : 0;
    if (ap->pol_valid && d == ap->pol_digest)
        return;
    policies_clear(ap);
    if (t)
        mesh_table_foreach(t, "policy", policy_visit, ap);
    for (size_t i = 0; i < ap->nobjs; i++) /* objs may have moved while growing */
        ap->ptrs[i] = &ap->objs[i];
    ap->pol_digest = d;
    ap->pol_valid = true;
}

static enum px_in_verdict hook_inbound(void *arg, const char *service, const char *caller_id,
                                       struct sockaddr_storage *addr, socklen_t *len, char *why,
                                       size_t cap)
{
    struct agent_proxy *ap = arg;
    struct weft *w = ap->w;
    if (agent_revoked_id(w, caller_id)) {
        snprintf(why, cap, "its node is revoked");
        return PX_IN_REVOKED;
    }
    char host[64], hp[96];
    int port = 0;
    if (!agent_services_local(w, service, host, sizeof(host), &port)) {
        snprintf(why, cap, "no local service %s", service);
        return PX_IN_NO_SERVICE;
    }
    policies_refresh(ap);
    struct mesh_policy_decision d;
    mesh_policy_decide(ap->ptrs, ap->nobjs, w->cfg->node.trust_domain, caller_id, service, &d);
    enum mesh_action act = d.action;
    if (!d.by)
        act = w->cfg->proxy.default_action == CONFIG_ACTION_DENY ? MESH_ACTION_DENY
                                                                 : MESH_ACTION_ALLOW;
    if (act == MESH_ACTION_DENY) {
        if (d.by)
            snprintf(why, cap, "policy %s", d.by->name);
        else
            snprintf(why, cap, "[proxy] default_action = deny");
        return PX_IN_DENIED;
    }
    struct weft_err e = {0};
    snprintf(hp, sizeof(hp), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    if (addr_parse(hp, addr, len, &e) != 0) {
        snprintf(why, cap, "local address %s: %s", hp, e.msg);
        return PX_IN_NO_SERVICE;
    }
    return PX_IN_ALLOW;
}

/* ---- lifecycle ---- */

static void upstream_conf(const struct weft *w, const struct config_upstream *cu,
                          struct px_upstream_conf *uc)
{
    memset(uc, 0, sizeof(*uc));
    snprintf(uc->name, sizeof(uc->name), "%s", cu->name);
    snprintf(uc->listen, sizeof(uc->listen), "%s", cu->listen);
    snprintf(uc->service, sizeof(uc->service), "%s", cu->service ? cu->service : "");
    snprintf(uc->address, sizeof(uc->address), "%s", cu->address ? cu->address : "");
    snprintf(uc->from, sizeof(uc->from), "%s", cu->from ? cu->from : "");
    static const enum px_lb_policy lbs[] = {
        [CONFIG_LB_ROUND_ROBIN] = PX_LB_ROUND_ROBIN,
        [CONFIG_LB_LEAST_CONN] = PX_LB_LEAST_CONN,
        [CONFIG_LB_RANDOM] = PX_LB_RANDOM,
        [CONFIG_LB_P2C] = PX_LB_P2C,
    };
    uc->lb = lbs[cu->lb];
    uc->connect_ms = cu->connect_timeout_ms;
    uc->retries = (uint32_t)cu->connect_retries;
    uc->idle_ms = cu->idle_timeout_ms;
    uc->max_conns = (uint32_t)cu->max_connections;
    uc->max_pending = (uint32_t)cu->max_pending;
    uc->outlier.consecutive = (uint32_t)cu->outlier_failures;
    uc->outlier.base_ms = cu->outlier_ejection_ms;
    uc->outlier.max_ms = cu->outlier_max_ejection_ms;
    uc->outlier.max_percent = (uint32_t)cu->outlier_max_percent;
    if (cu->tls_ca) {
        /* The path and the file's identity: a reload sees either change. */
        snprintf(uc->tls_ca, sizeof(uc->tls_ca), "%s", cu->tls_ca);
        snprintf(uc->tls_sni, sizeof(uc->tls_sni), "%s", cu->tls_sni ? cu->tls_sni : "");
        struct stat sb;
        if (stat(cu->tls_ca, &sb) == 0) {
            uc->tls_ca_mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
            uc->tls_ca_size = (int64_t)sb.st_size;
            uc->tls_ca_ino = (uint64_t)sb.st_ino;
        }
    }
    (void)w;
}

static const struct config_kind *upstream_kind(void)
{
    int i = config_schema_kind("upstream");
    return i < 0 ? NULL : &config_kinds[i];
}

int agent_proxy_start(struct weft *w, struct weft_err *e)
{
    const struct config_proxy *pc = &w->cfg->proxy;
    const struct config_kind *kd = upstream_kind();
    size_t nup = w->cfg->upstreams.n;
    if (!pc->inbound && nup == 0)
        return 0;
    bool need_ident = pc->inbound != NULL;
    for (size_t i = 0; kd && i < nup; i++) {
        const struct config_upstream *cu = config_kind_item(kd, &w->cfg->upstreams, i);
        if (cu->service)
            need_ident = true;
        if (cu->tls_ca && strlen(cu->tls_ca) >= PX_PATH_MAX)
            return err_set(e, "[upstream %s] tls_ca: a path of at most %d bytes", cu->name,
                           PX_PATH_MAX - 1);
    }
    if (need_ident && !w->ident)
        return err_set(e, "[proxy] and mesh upstreams need the node's identity: set [identity]");
    struct agent_proxy *ap = calloc(1, sizeof(*ap));
    if (!ap)
        return err_set(e, "out of memory");
    ap->w = w;
    w->proxy = ap;
    struct px_conf c = {
        .buffer = (size_t)pc->buffer,
        .handshake_ms = pc->handshake_timeout_ms,
        .connect_ms = pc->connect_timeout_ms,
        .idle_ms = pc->idle_timeout_ms,
        .max_conns = (uint32_t)pc->max_connections,
    };
    snprintf(c.trust_domain, sizeof(c.trust_domain), "%s", w->cfg->node.trust_domain);
    struct px_hooks h = {
        .arg = ap,
        .targets = hook_targets,
        .catalog_version = hook_catalog_version,
        .client_tls = hook_client_tls,
        .inbound = hook_inbound,
    };
    if (!(ap->px = px_new(w->base, &c, &h, e)))
        goto fail;
    if (pc->inbound) {
        if (!(ap->server = server_conf(w, e)))
            goto fail;
        if (px_inbound_start(ap->px, pc->inbound, ap->server, e) != 0)
            goto fail;
        char adv[64] = "";
        agent_proxy_advertise(w, adv, sizeof(adv));
        log_info(LOG_PROXY, "proxy: inbound on %s (advertised as %s)", pc->inbound, adv);
    }
    for (size_t i = 0; kd && i < nup; i++) {
        struct px_upstream_conf uc;
        upstream_conf(w, config_kind_item(kd, &w->cfg->upstreams, i), &uc);
        if (uc.from[0] && !ident_find(w, uc.from)) {
            err_set(e, "[upstream %s] from = %s: this node holds no certificate for service %s",
                    uc.name, uc.from, uc.from);
            goto fail;
        }
        if (px_upstream_add(ap->px, &uc, e) != 0)
            goto fail;
    }
    /* A local service without its certificate cannot be reached: say so. */
    const struct config_kind *sk = NULL;
    int si = config_schema_kind("service");
    if (si >= 0)
        sk = &config_kinds[si];
    for (size_t i = 0; pc->inbound && sk && i < w->cfg->services.n; i++) {
        const struct config_service *cs = config_kind_item(sk, &w->cfg->services, i);
        if (!ident_find(w, cs->name))
            log_warn(LOG_PROXY,
                     "proxy: service %s has no certificate in this node's identity: callers "
                     "will be refused (unknown_sni); issue it with --services",
                     cs->name);
    }
    return 0;
fail:
    agent_proxy_stop(w);
    return -1;
}

void agent_proxy_stop(struct weft *w)
{
    struct agent_proxy *ap = w->proxy;
    if (!ap)
        return;
    px_free(ap->px);
    px_tlsref_put(ap->server);
    if (ap->drain_ev)
        event_free(ap->drain_ev);
    policies_clear(ap);
    free(ap->objs);
    free(ap->ptrs);
    free(ap);
    w->proxy = NULL;
}

void agent_proxy_identity_changed(struct weft *w)
{
    struct agent_proxy *ap = w->proxy;
    if (!ap || !w->ident)
        return;
    px_identity_changed(ap->px);
    if (!ap->server)
        return;
    struct weft_err e = {0};
    struct px_tlsref *fresh = server_conf(w, &e);
    if (!fresh) {
        log_error(LOG_PROXY, "proxy: new certificates not taken by the inbound: %s", e.msg);
        return;
    }
    tls_conf_carry_stats(fresh->conf, ap->server->conf);
    px_inbound_set_tls(ap->px, fresh);
    px_tlsref_put(ap->server);
    ap->server = fresh;
}

struct names {
    char v[CONFIG_UPSTREAMS_MAX][PX_NAME_MAX];
    size_t n;
};

static void name_collect(void *arg, const char *name, const struct px_stats *st)
{
    (void)st;
    struct names *ns = arg;
    if (ns->n < CONFIG_UPSTREAMS_MAX)
        snprintf(ns->v[ns->n++], PX_NAME_MAX, "%s", name);
}

void agent_proxy_reload(struct weft *w)
{
    struct agent_proxy *ap = w->proxy;
    const struct config_kind *kd = upstream_kind();
    if (!ap || !kd)
        return;
    const struct config_list *l = &w->cfg->upstreams;
    struct px_upstream_conf uc;
    /* Close what is gone or changed (its open connections run on)... */
    struct names running = {.n = 0};
    px_upstreams_each(ap->px, name_collect, &running);
    for (size_t i = 0; i < running.n; i++) {
        const struct config_upstream *cu = config_list_find(kd, l, running.v[i]);
        if (cu) {
            upstream_conf(w, cu, &uc);
            const struct px_upstream_conf *cur = px_upstream_conf(ap->px, uc.name);
            if (cur && memcmp(cur, &uc, sizeof(uc)) == 0)
                continue;
        }
        px_upstream_remove(ap->px, running.v[i]);
        log_info(LOG_PROXY, "reload: upstream %s closed%s", running.v[i], cu ? " (changed)" : "");
    }
    /* ...then open what is new or changed. */
    for (size_t i = 0; i < l->n; i++) {
        upstream_conf(w, config_kind_item(kd, l, i), &uc);
        if (px_upstream_conf(ap->px, uc.name))
            continue;
        struct weft_err e = {0};
        if (uc.service[0] && !w->ident)
            log_error(LOG_PROXY, "reload: upstream %s needs the node's identity", uc.name);
        else if (px_upstream_add(ap->px, &uc, &e) != 0)
            log_error(LOG_PROXY, "reload: %s", e.msg);
    }
}

/* ---- drain ---- */

static void drain_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct weft *w = arg;
    struct agent_proxy *ap = w->proxy;
    size_t open = px_open_count(ap->px);
    int64_t now = clock_mono_ms();
    if (open > 0 && now < ap->drain_until_ms) {
        loop_timer_add(ap->drain_ev, 100);
        return;
    }
    if (open > 0) {
        log_warn(LOG_PROXY, "drain: %zu connection%s still open at the deadline: reset", open,
                 open == 1 ? "" : "s");
        px_abort_all(ap->px);
    } else {
        log_info(LOG_PROXY, "drain: every connection finished");
    }
    void (*done)(struct weft *) = ap->drain_done;
    ap->drain_done = NULL;
    if (done)
        done(w);
}

void agent_proxy_drain(struct weft *w, void (*done)(struct weft *w))
{
    struct agent_proxy *ap = w->proxy;
    if (!ap) {
        done(w);
        return;
    }
    if (ap->drain_done)
        return; /* already draining */
    px_stop_accepting(ap->px);
    size_t open = px_open_count(ap->px);
    log_info(LOG_PROXY, "drain: listeners closed, %zu connection%s open, waiting up to %lld ms",
             open, open == 1 ? "" : "s", (long long)w->cfg->proxy.drain_timeout_ms);
    ap->drain_done = done;
    ap->drain_until_ms = clock_mono_ms() + w->cfg->proxy.drain_timeout_ms;
    if (!ap->drain_ev && !(ap->drain_ev = evtimer_new(w->base, drain_check, w))) {
        px_abort_all(ap->px);
        ap->drain_done = NULL;
        done(w);
        return;
    }
    event_active(ap->drain_ev, EV_TIMEOUT, 0);
}

/* ---- GET /v1/proxy ---- */

static void stats_json(struct json_w *j, const struct px_stats *st)
{
    json_kv_uint(j, "opened", st->opened);
    json_kv_uint(j, "closed", st->closed);
    json_kv_uint(j, "active", st->active);
    json_kv_uint(j, "pending", st->pending);
    json_kv_uint(j, "bytes_in", st->bytes_in);
    json_kv_uint(j, "bytes_out", st->bytes_out);
    json_kv_uint(j, "connect_failures", st->connect_fail);
    json_kv_uint(j, "timeouts", st->timeouts);
    json_kv_uint(j, "retries", st->retries);
    json_kv_uint(j, "no_endpoint", st->no_endpoint);
    json_kv_uint(j, "overflow", st->overflow);
    json_kv_uint(j, "ejections", st->ejections);
    json_kv_uint(j, "panics", st->panics);
    json_kv_uint(j, "denied", st->denied);
    json_kv_uint(j, "revoked", st->revoked);
    json_key(j, "tls_failures");
    json_obj_begin(j);
    for (int f = 1; f < TLS_FAIL_MAX; f++)
        if (st->tls_fail[f])
            json_kv_uint(j, tls_fail_name((enum tls_fail)f), st->tls_fail[f]);
    json_obj_end(j);
    json_key(j, "ends");
    json_obj_begin(j);
    for (int k = 0; k < PX_END_MAX; k++)
        json_kv_uint(j, px_relay_end_name((enum px_relay_end)k), st->end[k]);
    json_obj_end(j);
}

struct ep_json {
    struct json_w *j;
};

static void endpoint_json(void *arg, const struct px_endpoint *ep, const char *node_addr,
                          bool ejected)
{
    struct json_w *j = ((struct ep_json *)arg)->j;
    json_obj_begin(j);
    json_kv_str(j, "key", ep->key);
    json_kv_str(j, "address", node_addr);
    json_kv_bool(j, "healthy", ep->healthy);
    json_kv_bool(j, "ejected", ejected);
    json_kv_uint(j, "active", ep->active);
    json_kv_uint(j, "consecutive_failures", ep->consecutive_failures);
    json_kv_uint(j, "ejections", ep->total_ejections);
    json_obj_end(j);
}

struct up_json {
    struct weft *w;
    struct json_w *j;
};

static void upstream_json(void *arg, const char *name, const struct px_stats *st)
{
    struct up_json *uj = arg;
    struct json_w *j = uj->j;
    const struct px_upstream_conf *c = px_upstream_conf(uj->w->proxy->px, name);
    json_obj_begin(j);
    json_kv_str(j, "name", name);
    if (c) {
        json_kv_str(j, "listen", c->listen);
        json_kv_str(j, "service", c->service[0] ? c->service : NULL);
        json_kv_str(j, "address", c->address[0] ? c->address : NULL);
        json_kv_str(j, "from", c->from[0] ? c->from : NULL);
        json_kv_str(j, "lb", px_lb_policy_name(c->lb));
    }
    stats_json(j, st);
    json_key(j, "endpoints");
    json_arr_begin(j);
    struct ep_json ej = {j};
    px_upstream_endpoints(uj->w->proxy->px, name, clock_mono_ms(), endpoint_json, &ej);
    json_arr_end(j);
    json_obj_end(j);
}

static void inbound_json(void *arg, const char *name, const struct px_stats *st)
{
    struct up_json *uj = arg;
    struct json_w *j = uj->j;
    json_obj_begin(j);
    json_kv_str(j, "service", name);
    const char *last = px_inbound_last_refused(uj->w->proxy->px, name);
    json_kv_str(j, "last_refused", last[0] ? last : NULL);
    stats_json(j, st);
    json_obj_end(j);
}

static int proxy_api_get(void *ud, const struct admin_req *req, struct sbuf *out,
                         struct weft_err *e)
{
    struct weft *w = ud;
    (void)req;
    (void)e;
    struct json_w j;
    json_w_init(&j, out);
    json_obj_begin(&j);
    struct agent_proxy *ap = w->proxy;
    json_kv_bool(&j, "enabled", ap != NULL);
    if (ap) {
        char adv[64];
        json_kv_str(&j, "inbound", w->cfg->proxy.inbound);
        json_kv_str(&j, "advertise", agent_proxy_advertise(w, adv, sizeof(adv)) ? adv : NULL);
        json_kv_uint(&j, "open", px_open_count(ap->px));
        json_kv_bool(&j, "draining", ap->drain_done != NULL);
        struct up_json uj = {w, &j};
        json_key(&j, "upstreams");
        json_arr_begin(&j);
        px_upstreams_each(ap->px, upstream_json, &uj);
        json_arr_end(&j);
        json_key(&j, "inbound_total");
        json_obj_begin(&j);
        stats_json(&j, px_inbound_total(ap->px));
        json_obj_end(&j);
        json_key(&j, "inbound_services");
        json_arr_begin(&j);
        px_inbound_each(ap->px, inbound_json, &uj);
        json_arr_end(&j);
    }
    json_obj_end(&j);
    return 200;
}

int agent_proxy_api(struct weft *w)
{
    return admin_route(w->admin, ADMIN_GET, "/v1/proxy", proxy_api_get, w);
}

/* ---- GET /metrics ---- */

struct prom_walk {
    struct prom_w *pw;
    const char *label; /* "upstream" or "service" */
    int field;
};

enum {
    APF_OPENED,
    APF_CLOSED,
    APF_ACTIVE,
    APF_PENDING,
    APF_BYTES_IN,
    APF_BYTES_OUT,
    APF_CONNECT_FAIL,
    APF_TIMEOUTS,
    APF_RETRIES,
    APF_NO_ENDPOINT,
    APF_OVERFLOW,
    APF_EJECTIONS,
    APF_PANICS,
    APF_DENIED,
    APF_REVOKED,
    APF_MAX
};

static const struct {
    const char *suffix;
    bool gauge;
    const char *help;
} prom_fields[APF_MAX] = {
    [APF_OPENED] = {"connections_opened_total", false, "Connections that started relaying."},
    [APF_CLOSED] = {"connections_closed_total", false, "Relays that ended."},
    [APF_ACTIVE] = {"connections_active", true, "Connections relaying now."},
    [APF_PENDING] = {"connections_pending", true, "Connections being set up now."},
    [APF_BYTES_IN] = {"bytes_in_total", false, "Bytes from the caller towards the service."},
    [APF_BYTES_OUT] = {"bytes_out_total", false, "Bytes from the service back to the caller."},
    [APF_CONNECT_FAIL] = {"connect_failures_total", false, "Dial attempts that failed."},
    [APF_TIMEOUTS] = {"connect_timeouts_total", false, "Dial attempts past their deadline."},
    [APF_RETRIES] = {"retries_total", false, "Dial attempts after the first."},
    [APF_NO_ENDPOINT] = {"no_endpoint_total", false, "Connections refused: no instance to try."},
    [APF_OVERFLOW] = {"overflow_total", false,
                      "Connections refused at once: max_connections or max_pending."},
    [APF_EJECTIONS] = {"ejections_total", false, "Instances ejected after connect failures."},
    [APF_PANICS] = {"panics_total", false,
                    "Picks among ejected instances, every healthy one being ejected."},
    [APF_DENIED] = {"policy_denials_total", false, "Callers refused by policy."},
    [APF_REVOKED] = {"revoked_total", false, "Callers refused: their node is revoked."},
};

static uint64_t prom_value(const struct px_stats *st, int f)
{
    switch (f) {
    case APF_OPENED:
        return st->opened;
    case APF_CLOSED:
        return st->closed;
    case APF_ACTIVE:
        return st->active;
    case APF_PENDING:
        return st->pending;
    case APF_BYTES_IN:
        return st->bytes_in;
    case APF_BYTES_OUT:
        return st->bytes_out;
    case APF_CONNECT_FAIL:
        return st->connect_fail;
    case APF_TIMEOUTS:
        return st->timeouts;
    case APF_RETRIES:
        return st->retries;
    case APF_NO_ENDPOINT:
        return st->no_endpoint;
    case APF_OVERFLOW:
        return st->overflow;
    case APF_EJECTIONS:
        return st->ejections;
    case APF_PANICS:
        return st->panics;
    case APF_DENIED:
        return st->denied;
    case APF_REVOKED:
        return st->revoked;
    default:
        return 0;
    }
}

static void prom_one(void *arg, const char *name, const struct px_stats *st)
{
    struct prom_walk *pk = arg;
    prom_u64(pk->pw, prom_value(st, pk->field), pk->label, name, NULL);
}

static void prom_tls_one(void *arg, const char *name, const struct px_stats *st)
{
    struct prom_walk *pk = arg;
    for (int f = 1; f < TLS_FAIL_MAX; f++)
        if (st->tls_fail[f])
            prom_u64(pk->pw, st->tls_fail[f], pk->label, name, "reason",
                     tls_fail_name((enum tls_fail)f), NULL);
}

static void prom_end_one(void *arg, const char *name, const struct px_stats *st)
{
    struct prom_walk *pk = arg;
    for (int k = 0; k < PX_END_MAX; k++)
        prom_u64(pk->pw, st->end[k], pk->label, name, "end",
                 px_relay_end_name((enum px_relay_end)k), NULL);
}

const struct tls_stats *agent_proxy_inbound_tls(const struct weft *w)
{
    return w->proxy && w->proxy->server ? tls_conf_stats(w->proxy->server->conf) : NULL;
}

void agent_proxy_metrics(struct weft *w, struct prom_w *pw)
{
    struct agent_proxy *ap = w->proxy;
    if (!ap)
        return;
    static const struct {
        const char *prefix, *label;
        bool inbound;
    } sides[] = {{"weft_upstream_", "upstream", false}, {"weft_inbound_", "service", true}};
    for (size_t s = 0; s < 2; s++) {
        struct prom_walk pk = {pw, sides[s].label, 0};
        char name[96];
        for (int f = 0; f < APF_MAX; f++) {
            if (!sides[s].inbound && (f == APF_DENIED || f == APF_REVOKED))
                continue;
            if (sides[s].inbound && (f == APF_RETRIES || f == APF_EJECTIONS || f == APF_PANICS))
                continue;
            snprintf(name, sizeof(name), "%s%s", sides[s].prefix, prom_fields[f].suffix);
            prom_family(pw, name, prom_fields[f].gauge ? PROM_GAUGE : PROM_COUNTER,
                        prom_fields[f].help);
            pk.field = f;
            if (sides[s].inbound)
                px_inbound_each(ap->px, prom_one, &pk);
            else
                px_upstreams_each(ap->px, prom_one, &pk);
        }
        snprintf(name, sizeof(name), "%stls_failures_total", sides[s].prefix);
        prom_family(pw, name, PROM_COUNTER, "TLS handshakes that failed, by reason.");
        if (sides[s].inbound)
            px_inbound_each(ap->px, prom_tls_one, &pk);
        else
            px_upstreams_each(ap->px, prom_tls_one, &pk);
        snprintf(name, sizeof(name), "%sconnection_ends_total", sides[s].prefix);
        prom_family(pw, name, PROM_COUNTER, "Relays that ended, by how.");
        if (sides[s].inbound)
            px_inbound_each(ap->px, prom_end_one, &pk);
        else
            px_upstreams_each(ap->px, prom_end_one, &pk);
    }
    const struct px_stats *t = px_inbound_total(ap->px);
    prom_family(pw, "weft_inbound_refused_total", PROM_COUNTER,
                "Inbound connections refused before the service was known, by reason.");
    prom_u64(pw, t->overflow, "reason", "overflow", NULL);
    prom_u64(pw, t->timeouts, "reason", "handshake_timeout", NULL);
    for (int f = 1; f < TLS_FAIL_MAX; f++)
        prom_u64(pw, t->tls_fail[f], "reason", tls_fail_name((enum tls_fail)f), NULL);
}
