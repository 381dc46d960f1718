/*
 * outbound: [upstream NAME] listeners — an app connects, an instance of the
 * service is picked, a stream to it is opened through the transport, and
 * the relay runs (docs/proxy.md, "Outbound").
 *
 * Per new connection:
 *   1. circuit breaking: past max_connections (open) or max_pending (being
 *      set up) it is refused at once (reset) and counted as overflow;
 *   2. the endpoints are refreshed from the catalog when it changed;
 *   3. pick (lb.c) among healthy, non-ejected instances not tried yet by
 *      this connection; none: counted as no_endpoint, reset;
 *   4. dial (transport.c); a failure counts against the instance (outlier.c)
 *      and, while retries remain, goes to step 3 with another instance;
 *   5. relay until both ends are done.
 * An egress upstream (address = IP:PORT) skips 2-3 and dials plain TCP, or
 * with tls_ca originates TLS: the server's certificate must verify against
 * the CA file and carry tls_sni (tls_conf_new_origin).
 */
#include "proxy/proxy_priv.h"

#include "core/addr.h"
#include "core/clock.h"
#include "proxy/lb.h"
#include "proxy/outlier.h"
#include "proxy/stream.h"
#include "proxy/transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct px_endpoint *ep_find(struct px_upstream *u, const char *key, size_t *idx)
{
    for (size_t i = 0; i < u->neps; i++) {
        if (strcmp(u->ep[i].key, key) == 0) {
            if (idx)
                *idx = i;
            return &u->ep[i];
        }
    }
    return NULL;
}

void px_upstream_free(struct px_upstream *u)
{
    if (!u)
        return;
    px_lis_free(u->lis);
    px_tlsref_put(u->client_tls);
    px_tlsref_put(u->egress_tls);
    free(u->ep);
    free(u->ep_addr);
    free(u->scratch);
    free(u);
}

/* tls_ca: the upstream's own origination conf, read now (errors at start). */
static int egress_tls_setup(struct px_upstream *u, struct weft_err *e)
{
    if (!u->c.tls_sni[0])
        return err_set(e,
                       "upstream %s: tls_ca: origination needs a server name (tls_sni) to check "
                       "in the server's certificate",
                       u->c.name);
    struct tls_conf *conf = tls_conf_new_origin(u->c.tls_ca, e);
    if (!conf)
        return err_prefix(e, "upstream %s: tls_ca", u->c.name);
    if (!(u->egress_tls = px_tlsref_new(conf)))
        return err_set(e, "out of memory");
    return 0;
}

int px_upstream_add(struct px *p, const struct px_upstream_conf *c, struct weft_err *e)
{
    for (struct px_upstream *o = p->ups; o; o = o->next)
        if (!o->removed && strcmp(o->c.name, c->name) == 0)
            return err_set(e, "upstream %s: already running", c->name);
    struct px_upstream *u = calloc(1, sizeof(*u));
    if (!u)
        return err_set(e, "out of memory");
    u->p = p;
    u->c = *c;
    px_lb_init(&u->lb, c->lb, p->rng ^ px_hash(c->name));
    if (c->address[0]) {
        if (addr_parse(c->address, &u->egress, &u->egress_len, e) != 0) {
            px_upstream_free(u);
            return err_prefix(e, "upstream %s: address", c->name);
        }
        if (c->tls_ca[0] && egress_tls_setup(u, e) != 0) {
            px_upstream_free(u);
            return -1;
        }
    } else {
        u->ep = calloc(PX_TARGETS_MAX, sizeof(*u->ep));
        u->ep_addr = calloc(PX_TARGETS_MAX, sizeof(*u->ep_addr));
        u->scratch = calloc(PX_TARGETS_MAX, sizeof(*u->scratch));
        if (!u->ep || !u->ep_addr || !u->scratch) {
            px_upstream_free(u);
            return err_set(e, "out of memory");
        }
    }
    if (!(u->lis = px_lis_new(p, c->listen, px_outbound_accept, u, NULL, e))) {
        px_upstream_free(u);
        return err_prefix(e, "upstream %s", c->name);
    }
    u->next = p->ups;
    p->ups = u;
    log_info(LOG_PROXY, "upstream %s: listening on %s for %s%s", c->name, c->listen,
             c->service[0] ? "service " : "", c->service[0] ? c->service : c->address);
    return 0;
}

int px_upstream_remove(struct px *p, const char *name)
{
    for (struct px_upstream **pp = &p->ups; *pp; pp = &(*pp)->next) {
        struct px_upstream *u = *pp;
        if (u->removed || strcmp(u->c.name, name) != 0)
            continue;
        *pp = u->next;
        px_lis_free(u->lis);
        u->lis = NULL;
        if (u->conns == 0) {
            px_upstream_free(u);
        } else {
            /* Its connections still point at it: freed with the last. */
            u->removed = true;
            u->next = NULL;
        }
        return 0;
    }
    return -1;
}

const struct px_upstream_conf *px_upstream_conf(const struct px *p, const char *name)
{
    for (const struct px_upstream *u = p->ups; u; u = u->next)
        if (strcmp(u->c.name, name) == 0)
            return &u->c;
    return NULL;
}

void px_identity_changed(struct px *p)
{
    for (struct px_upstream *u = p->ups; u; u = u->next) {
        px_tlsref_put(u->client_tls);
        u->client_tls = NULL;
    }
}

/* Merge the catalog's instances into the endpoints, keeping each one's
 * connection count and outlier state; an instance gone from the catalog
 * stays (unhealthy) while connections still use it. */
static void refresh(struct px_upstream *u)
{
    struct px *p = u->p;
    uint64_t ver = p->h.catalog_version(p->h.arg);
    if (u->have_ver && ver == u->cat_ver)
        return;
    u->have_ver = true;
    u->cat_ver = ver;
    size_t n = p->h.targets(p->h.arg, u->c.service, u->scratch, PX_TARGETS_MAX);
    bool seen[PX_TARGETS_MAX] = {false};
    for (size_t i = 0; i < n; i++) {
        const struct px_target *t = &u->scratch[i];
        size_t idx;
        struct px_endpoint *ep = ep_find(u, t->key, &idx);
        if (!ep) {
            if (u->neps >= PX_TARGETS_MAX)
                continue;
            idx = u->neps++;
            ep = &u->ep[idx];
            memset(ep, 0, sizeof(*ep));
            snprintf(ep->key, sizeof(ep->key), "%s", t->key);
        }
        ep->healthy = t->healthy;
        snprintf(u->ep_addr[idx], PX_ADDR_MAX, "%s", t->node_addr);
        seen[idx] = true;
    }
    size_t w = 0;
    for (size_t i = 0; i < u->neps; i++) {
        if (!seen[i]) {
            if (u->ep[i].active == 0)
                continue;
            u->ep[i].healthy = false;
        }
        if (w != i) {
            u->ep[w] = u->ep[i];
            memcpy(u->ep_addr[w], u->ep_addr[i], PX_ADDR_MAX);
        }
        w++;
    }
    u->neps = w;
}

static void out_fail(struct px_conn *c)
{
    px_conn_free(c);
}

static void attempt(struct px_conn *c);

/* Egress has one destination: a certificate it refused once is refused
 * again, so another attempt only doubles the failure. (A mesh retry goes to
 * another instance, which may hold another certificate.) */
static bool px_fail_is_final(const struct px_upstream *u, const struct px_dial_result *res)
{
    if (!u->c.address[0] || res->fail != PX_DIAL_TLS)
        return false;
    switch (res->tls_fail) {
    case TLS_FAIL_BAD_CHAIN:
    case TLS_FAIL_EXPIRED:
    case TLS_FAIL_NOT_YET_VALID:
    case TLS_FAIL_NAME_MISMATCH:
        return true;
    default:
        return false;
    }
}

static void on_dialed(void *arg, struct px_stream *s, const struct px_dial_result *res)
{
    struct px_conn *c = arg;
    struct px_upstream *u = c->u;
    struct px *p = c->p;
    c->dial = NULL;
    int64_t now = clock_mono_ms();
    size_t idx = 0;
    struct px_endpoint *ep = c->ep_key[0] ? ep_find(u, c->ep_key, &idx) : NULL;
    if (s) {
        if (ep)
            px_outlier_success(&u->c.outlier, ep, now);
        px_conn_relay(c, s, u->c.idle_ms);
        return;
    }
    /* This attempt failed. */
    u->st.connect_fail++;
    if (res->fail == PX_DIAL_TLS)
        u->st.tls_fail[res->tls_fail]++;
    else if (res->fail == PX_DIAL_TIMEOUT)
        u->st.timeouts++;
    if (ep) {
        if (ep->active)
            ep->active--;
        /* Our own shortage (sockets, memory) says nothing of the instance. */
        if (res->fail != PX_DIAL_LOCAL &&
            px_outlier_failure(&u->c.outlier, u->ep, u->neps, idx, now)) {
            u->st.ejections++;
            log_ratelim(&p->rl, LOG_LEVEL_WARN, LOG_PROXY, "upstream %s: %s ejected", u->c.name,
                        ep->key);
        }
    }
    log_ratelim(&p->rl, LOG_LEVEL_WARN, LOG_PROXY, "upstream %s: %s: %s: %s", u->c.name,
                c->ep_key[0] ? c->ep_key : u->c.address, px_dial_fail_name(res->fail), res->msg);
    c->ep_key[0] = '\0';
    if (c->attempts <= u->c.retries && !u->removed && !px_fail_is_final(u, res)) {
        u->st.retries++;
        attempt(c);
        return;
    }
    out_fail(c);
}

static struct px_tlsref *client_tls(struct px_upstream *u, struct weft_err *e)
{
    if (!u->client_tls)
        u->client_tls = u->p->h.client_tls(u->p->h.arg, u->c.from, e);
    return u->client_tls;
}

static void attempt(struct px_conn *c)
{
    struct px_upstream *u = c->u;
    struct px *p = c->p;
    struct weft_err e = {0};
    c->attempts++;
    if (u->c.address[0]) {
        /* With tls_ca: sessions resumed per address and name (the key must
         * fit tls_sess's 127 bytes: a long name is hashed). */
        char key[128];
        size_t al = strlen(u->c.address), sl = strlen(u->c.tls_sni);
        if (al + 1 + sl < sizeof(key)) {
            memcpy(key, u->c.address, al);
            key[al] = '/';
            memcpy(key + al + 1, u->c.tls_sni, sl + 1);
        } else {
            snprintf(key, sizeof(key), "%s/#%016llx", u->c.address,
                     (unsigned long long)px_hash(u->c.tls_sni));
        }
        struct px_dial_req req = {.addr = (struct sockaddr *)&u->egress,
                                  .addrlen = u->egress_len,
                                  .tls = u->egress_tls,
                                  .peer_key = u->egress_tls ? key : NULL,
                                  .sni = u->egress_tls ? u->c.tls_sni : NULL,
                                  .timeout_ms = u->c.connect_ms};
        if (!(c->dial = px_dial_connect(p->base, &req, on_dialed, c, &e))) {
            int err = errno;
            log_ratelim(&p->rl, LOG_LEVEL_WARN, LOG_PROXY, "upstream %s: %s", u->c.name, e.msg);
            px_lis_dial_failed(u->lis, err);
            out_fail(c);
        }
        return;
    }
    refresh(u);
    bool tried[PX_TARGETS_MAX];
    for (size_t i = 0; i < u->neps; i++) {
        tried[i] = false;
        uint64_t h = px_hash(u->ep[i].key);
        for (unsigned k = 0; k + 1 < c->attempts && k < PX_TRIED_MAX; k++)
            if (c->tried[k] == h)
                tried[i] = true;
    }
    int64_t now = clock_mono_ms();
    bool panic = false;
    int i = px_lb_pick(&u->lb, u->ep, u->neps, now, tried, &panic);
    if (i >= 0 && panic)
        u->st.panics++;
    if (i < 0) {
        u->st.no_endpoint++;
        log_ratelim(&p->rl, LOG_LEVEL_WARN, LOG_PROXY,
                    "upstream %s: no healthy instance of %s left to try", u->c.name, u->c.service);
        out_fail(c);
        return;
    }
    struct px_endpoint *ep = &u->ep[i];
    if (c->attempts - 1 < PX_TRIED_MAX)
        c->tried[c->attempts - 1] = px_hash(ep->key);
    snprintf(c->ep_key, sizeof(c->ep_key), "%s", ep->key);
    struct px_tlsref *tls = client_tls(u, &e);
    if (!tls) {
        log_ratelim(&p->rl, LOG_LEVEL_WARN, LOG_PROXY, "upstream %s: identity %s: %s", u->c.name,
                    u->c.from[0] ? u->c.from : "(node)", e.msg);
        c->ep_key[0] = '\0';
        out_fail(c);
        return;
    }
    ep->active++;
    struct px_transport_req req = {.node_addr = u->ep_addr[i],
                                   .service = u->c.service,
                                   .trust_domain = p->c.trust_domain,
                                   .tls = tls,
                                   .timeout_ms = u->c.connect_ms};
    if (!(c->dial = px_transport_open(p->base, &req, on_dialed, c, &e))) {
        int err = errno;
        ep->active--;
        px_lis_dial_failed(u->lis, err);
        log_ratelim(&p->rl, LOG_LEVEL_WARN, LOG_PROXY, "upstream %s: %s: %s", u->c.name, ep->key,
                    e.msg);
        c->ep_key[0] = '\0';
        out_fail(c);
    }
}

void px_outbound_ended(struct px_conn *c)
{
    struct px_endpoint *ep = c->ep_key[0] ? ep_find(c->u, c->ep_key, NULL) : NULL;
    if (ep && ep->active)
        ep->active--;
}

void px_outbound_accept(void *arg, int fd)
{
    struct px_upstream *u = arg;
    struct px *p = u->p;
    struct weft_err e = {0};
    if (u->st.active + u->st.pending >= u->c.max_conns || u->st.pending >= u->c.max_pending) {
        u->st.overflow++;
        log_ratelim(&p->rl, LOG_LEVEL_WARN, LOG_PROXY,
                    "upstream %s: refused: %s (%u open, %u pending)", u->c.name,
                    u->st.pending >= u->c.max_pending ? "max_pending" : "max_connections",
                    u->st.active, u->st.pending);
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
        return;
    }
    struct px_conn *c = px_conn_new(p, PX_CONN_OUT);
    if (!c) {
        close(fd);
        return;
    }
    c->u = u;
    u->conns++;
    c->st = &u->st;
    c->pending = true;
    u->st.pending++;
    if (!(c->down = px_stream_new(fd, NULL, NULL, &e))) {
        px_conn_free(c);
        return;
    }
    attempt(c);
}

void px_upstream_endpoints(struct px *p, const char *name, int64_t now_ms, px_endpoint_fn fn,
                           void *arg)
{
    for (struct px_upstream *u = p->ups; u; u = u->next) {
        if (strcmp(u->c.name, name) != 0 || u->removed)
            continue;
        if (u->c.service[0])
            refresh(u);
        for (size_t i = 0; i < u->neps; i++)
            fn(arg, &u->ep[i], u->ep_addr[i], px_outlier_is_ejected(&u->ep[i], now_ms));
    }
}
