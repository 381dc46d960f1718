/*
 * inbound: the node's one mTLS port (docs/proxy.md, "Inbound").
 *
 * Per connection: past [proxy] max_connections it is refused at once
 * (overflow); otherwise the TLS handshake runs (the server conf presents
 * the certificate the SNI names and requires a client certificate of the
 * trust domain); then the SNI names the target service and the client's
 * verified SPIFFE ID is the caller; the agent's hook decides (local service?
 * revoked? policy?). Refusals reset the connection and are counted per
 * service; an allowed caller is connected to the service's local address
 * and relayed.
 */
#include "proxy/proxy_priv.h"

#include "proxy/stream.h"
#include "tls/tls_sess.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const verdict_names[PX_IN_MAX] = {
    [PX_IN_ALLOW] = "allow",
    [PX_IN_NO_SERVICE] = "no_service",
    [PX_IN_DENIED] = "denied",
    [PX_IN_REVOKED] = "revoked",
};

/* The counters of inbound service name ("-" when the table is full). */
static struct px_insvc *insvc(struct px *p, const char *name)
{
    for (size_t i = 0; i < p->n_in_svcs; i++)
        if (strcmp(p->in_svcs[i].name, name) == 0)
            return &p->in_svcs[i];
    if (p->n_in_svcs + 1 >= PX_INBOUND_SVCS) {
        /* The last slot collects everything past the table. */
        struct px_insvc *s = &p->in_svcs[PX_INBOUND_SVCS - 1];
        if (!s->name[0]) {
            snprintf(s->name, sizeof(s->name), "-");
            s->rl = (struct log_ratelim)LOG_RATELIM_INIT(10000, 10);
        }
        if (p->n_in_svcs < PX_INBOUND_SVCS)
            p->n_in_svcs = PX_INBOUND_SVCS;
        return s;
    }
    struct px_insvc *s = &p->in_svcs[p->n_in_svcs++];
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->rl = (struct log_ratelim)LOG_RATELIM_INIT(10000, 10);
    return s;
}

static void on_local(void *arg, struct px_stream *s, const struct px_dial_result *res)
{
    struct px_conn *c = arg;
    c->dial = NULL;
    if (!s) {
        c->st->connect_fail++;
        if (res->fail == PX_DIAL_TIMEOUT)
            c->st->timeouts++;
        log_ratelim(&c->p->rl, LOG_LEVEL_WARN, LOG_PROXY, "inbound %s: local service: %s: %s",
                    c->svc->name, px_dial_fail_name(res->fail), res->msg);
        px_conn_free(c);
        return;
    }
    px_conn_relay(c, s, c->p->c.idle_ms);
}

static void on_handshake(void *arg, struct px_stream *s, const struct px_dial_result *res)
{
    struct px_conn *c = arg;
    struct px *p = c->p;
    c->dial = NULL;
    if (!s) {
        p->in_total.connect_fail++;
        if (res->fail == PX_DIAL_TLS)
            p->in_total.tls_fail[res->tls_fail]++;
        else if (res->fail == PX_DIAL_TIMEOUT)
            p->in_total.timeouts++;
        /* TLS refusals are logged by tls/ already. */
        if (res->fail != PX_DIAL_TLS)
            log_ratelim(&p->rl, LOG_LEVEL_WARN, LOG_PROXY, "inbound: handshake: %s: %s",
                        px_dial_fail_name(res->fail), res->msg);
        px_conn_free(c);
        return;
    }
    c->down = s;
    const char *sni = tls_sess_sni(s->tls);
    const char *caller = tls_sess_peer_id(s->tls);
    c->svc = insvc(p, sni[0] ? sni : "-");
    c->st = &c->svc->st;
    c->st->pending++;
    c->pending = true;
    struct sockaddr_storage addr;
    socklen_t len = 0;
    char why[256] = "";
    enum px_in_verdict v = p->h.inbound(p->h.arg, sni, caller, &addr, &len, why, sizeof(why));
    if (v != PX_IN_ALLOW) {
        if (v == PX_IN_DENIED)
            c->st->denied++;
        else if (v == PX_IN_REVOKED)
            c->st->revoked++;
        else
            c->st->no_endpoint++;
        snprintf(c->svc->last_refused, sizeof(c->svc->last_refused), "%.100s: %s%s%.120s", caller,
                 verdict_names[v], why[0] ? ": " : "", why);
        log_ratelim(&c->svc->rl, LOG_LEVEL_WARN, LOG_PROXY, "inbound %s: %s refused: %s%s%s",
                    c->svc->name, caller, verdict_names[v], why[0] ? ": " : "", why);
        px_conn_free(c);
        return;
    }
    struct weft_err e = {0};
    struct px_dial_req req = {
        .addr = (struct sockaddr *)&addr, .addrlen = len, .timeout_ms = p->c.connect_ms};
    if (!(c->dial = px_dial_connect(p->base, &req, on_local, c, &e))) {
        int err = errno;
        log_ratelim(&p->rl, LOG_LEVEL_WARN, LOG_PROXY, "inbound %s: %s", c->svc->name, e.msg);
        px_lis_dial_failed(p->in_lis, err);
        px_conn_free(c);
    }
}

void px_inbound_accept(void *arg, int fd)
{
    struct px *p = arg;
    if (p->in_active >= p->c.max_conns || !p->in_tls) {
        p->in_total.overflow++;
        log_ratelim(&p->rl, LOG_LEVEL_WARN, LOG_PROXY, "inbound: refused: max_connections (%u)",
                    p->in_active);
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
        return;
    }
    struct px_conn *c = px_conn_new(p, PX_CONN_IN);
    if (!c) {
        close(fd);
        return;
    }
    p->in_active++;
    c->st = &p->in_total;
    struct weft_err e = {0};
    if (!(c->dial =
              px_dial_accept(p->base, fd, p->in_tls, p->c.handshake_ms, on_handshake, c, &e))) {
        log_ratelim(&p->rl, LOG_LEVEL_WARN, LOG_PROXY, "inbound: %s", e.msg);
        px_conn_free(c);
    }
}
