/*
 * proxy: the proxy object — its lifecycle, listeners, connection list and
 * counters (see proxy.h). The outbound and inbound paths are in
 * outbound.c and inbound.c.
 */
#include "proxy/proxy_priv.h"

#include "core/accept_guard.h"
#include "core/addr.h"
#include "core/clock.h"
#include "core/loop.h"
#include "proxy/stream.h"

#include <event2/event.h>
#include <event2/listener.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Connections waiting in the kernel's accept queue per listener. */
#define PX_BACKLOG 1024
/* Empty pipes kept for splicing bursts: each is two descriptors. */
#define PX_PIPES_KEPT 32

uint64_t px_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

struct px *px_new(struct event_base *base, const struct px_conf *c, const struct px_hooks *h,
                  struct weft_err *e)
{
    struct px *p = calloc(1, sizeof(*p));
    if (!p) {
        err_set(e, "out of memory");
        return NULL;
    }
    p->base = base;
    p->c = *c;
    p->h = *h;
    p->rng = (uint64_t)clock_mono_us() ^ ((uint64_t)getpid() << 32);
    p->rl = (struct log_ratelim)LOG_RATELIM_INIT(10000, 10);
    if (px_pipe_pool_init(&p->pipes, PX_PIPES_KEPT) != 0) {
        free(p);
        err_set(e, "out of memory");
        return NULL;
    }
    return p;
}

void px_free(struct px *p)
{
    if (!p)
        return;
    px_stop_accepting(p);
    px_abort_all(p);
    while (p->ups) {
        struct px_upstream *u = p->ups;
        p->ups = u->next;
        px_upstream_free(u);
    }
    px_tlsref_put(p->in_tls);
    px_pipe_pool_deinit(&p->pipes);
    free(p);
}

/* ---- connections ---- */

struct px_conn *px_conn_new(struct px *p, enum px_conn_kind kind)
{
    struct px_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->p = p;
    c->kind = kind;
    c->next = p->conns;
    if (p->conns)
        p->conns->prev = c;
    p->conns = c;
    p->nconns++;
    return c;
}

void px_conn_free(struct px_conn *c)
{
    struct px *p = c->p;
    if (c->prev)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    p->nconns--;
    px_dial_cancel(c->dial);
    px_stream_abort(c->down);
    if (c->pending && c->st->pending)
        c->st->pending--;
    if (c->kind == PX_CONN_IN && p->in_active)
        p->in_active--;
    if (c->u) {
        c->u->conns--;
        if (c->u->removed && c->u->conns == 0)
            px_upstream_free(c->u);
    }
    free(c);
}

void px_conn_relay_bytes(void *arg, uint64_t up, uint64_t down)
{
    struct px_conn *c = arg;
    c->st->bytes_in += up - c->bytes_up;
    c->st->bytes_out += down - c->bytes_down;
    c->bytes_up = up;
    c->bytes_down = down;
}

static void conn_relay_done(void *arg, const struct px_relay_result *res)
{
    struct px_conn *c = arg;
    c->relay = NULL; /* freed by the relay itself */
    px_conn_relay_bytes(c, res->bytes_up, res->bytes_down);
    c->st->closed++;
    c->st->end[res->end]++;
    if (c->st->active)
        c->st->active--;
    log_debug(LOG_PROXY, "proxy %s %s: %s, %llu bytes in, %llu out",
              c->kind == PX_CONN_OUT ? "upstream" : "inbound",
              c->kind == PX_CONN_OUT ? c->u->c.name : (c->svc ? c->svc->name : "-"),
              px_relay_end_name(res->end), (unsigned long long)res->bytes_up,
              (unsigned long long)res->bytes_down);
    if (c->kind == PX_CONN_OUT)
        px_outbound_ended(c);
    px_conn_free(c);
}

void px_conn_relay(struct px_conn *c, struct px_stream *up, int64_t idle_ms)
{
    struct weft_err e = {0};
    struct px_relay_params rp = {
        .buffer = c->p->c.buffer, .idle_ms = idle_ms, .splice = true, .pipes = &c->p->pipes};
    struct px_stream *down = c->down;
    c->down = NULL;
    c->st->opened++;
    c->st->active++;
    if (c->pending && c->st->pending)
        c->st->pending--;
    c->pending = false;
    c->relay = px_relay_new(c->p->base, down, up, &rp, conn_relay_done, px_conn_relay_bytes, c, &e);
    if (!c->relay) {
        log_ratelim(&c->p->rl, LOG_LEVEL_WARN, LOG_PROXY, "proxy: relay: %s", e.msg);
        struct px_relay_result res = {.end = PX_END_ABORTED};
        conn_relay_done(c, &res);
    }
}

/* ---- listeners ---- */

struct px_lis {
    struct px *p;
    struct evconnlistener *l;
    struct accept_guard *guard;
    px_accept_fn cb;
    void *arg;
};

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    (void)l;
    (void)sa;
    (void)len;
    struct px_lis *pl = arg;
    pl->cb(pl->arg, fd);
}

void px_lis_dial_failed(struct px_lis *pl, int err)
{
    if (pl && accept_guard_shortage(err))
        accept_guard_pause(pl->guard, "socket", err);
}

void px_lis_free(struct px_lis *pl)
{
    if (!pl)
        return;
    accept_guard_free(pl->guard);
    if (pl->l)
        evconnlistener_free(pl->l);
    free(pl);
}

struct px_lis *px_lis_new(struct px *p, const char *addr, px_accept_fn cb, void *arg,
                          unsigned *port, struct weft_err *e)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (addr_parse(addr, &ss, &len, e) != 0)
        return NULL;
    struct px_lis *pl = calloc(1, sizeof(*pl));
    if (!pl) {
        err_set(e, "out of memory");
        return NULL;
    }
    pl->p = p;
    pl->cb = cb;
    pl->arg = arg;
    pl->l = evconnlistener_new_bind(
        p->base, on_accept, pl, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        PX_BACKLOG, (struct sockaddr *)&ss, (int)len);
    if (!pl->l) {
        err_set(e, "listen on %s: %s", addr, strerror(errno));
        px_lis_free(pl);
        return NULL;
    }
    char name[PX_ADDR_MAX + 16];
    snprintf(name, sizeof(name), "proxy listener %s", addr);
    if (!(pl->guard = accept_guard_new(pl->l, LOG_PROXY, name))) {
        err_set(e, "out of memory");
        px_lis_free(pl);
        return NULL;
    }
    if (port) {
        struct sockaddr_storage b;
        socklen_t bl = sizeof(b);
        *port = 0;
        if (getsockname(evconnlistener_get_fd(pl->l), (struct sockaddr *)&b, &bl) == 0)
            *port = ntohs(b.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&b)->sin6_port
                                                  : ((struct sockaddr_in *)&b)->sin_port);
    }
    return pl;
}

void px_stop_accepting(struct px *p)
{
    px_lis_free(p->in_lis);
    p->in_lis = NULL;
    for (struct px_upstream *u = p->ups; u; u = u->next) {
        px_lis_free(u->lis);
        u->lis = NULL;
    }
}

size_t px_open_count(const struct px *p)
{
    return p->nconns;
}

void px_abort_all(struct px *p)
{
    while (p->conns) {
        struct px_conn *c = p->conns;
        if (c->relay)
            px_relay_abort(c->relay); /* its end frees c */
        else
            px_conn_free(c);
    }
}

/* ---- inbound ---- */

int px_inbound_start(struct px *p, const char *inbound, struct px_tlsref *tls, struct weft_err *e)
{
    p->in_lis = px_lis_new(p, inbound, px_inbound_accept, p, &p->in_port, e);
    if (!p->in_lis)
        return err_prefix(e, "[proxy] inbound");
    px_inbound_set_tls(p, tls);
    return 0;
}

void px_inbound_set_tls(struct px *p, struct px_tlsref *tls)
{
    px_tlsref_get(tls);
    px_tlsref_put(p->in_tls);
    p->in_tls = tls;
}

unsigned px_inbound_port(const struct px *p)
{
    return p->in_lis ? p->in_port : 0;
}

void px_upstreams_each(const struct px *p, px_stats_fn fn, void *arg)
{
    for (const struct px_upstream *u = p->ups; u; u = u->next)
        if (!u->removed)
            fn(arg, u->c.name, &u->st);
}

void px_inbound_each(const struct px *p, px_stats_fn fn, void *arg)
{
    for (size_t i = 0; i < p->n_in_svcs; i++)
        fn(arg, p->in_svcs[i].name, &p->in_svcs[i].st);
}

const char *px_inbound_last_refused(const struct px *p, const char *name)
{
    for (size_t i = 0; i < p->n_in_svcs; i++)
        if (strcmp(p->in_svcs[i].name, name) == 0)
            return p->in_svcs[i].last_refused;
    return "";
}

const struct px_stats *px_inbound_total(const struct px *p)
{
    return &p->in_total;
}

const struct tls_stats *px_inbound_tls_stats(const struct px *p)
{
    return p->in_tls ? tls_conf_stats(p->in_tls->conf) : NULL;
}
