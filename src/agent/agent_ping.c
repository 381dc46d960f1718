/*
 * agent_ping: `ping` between agents over the control RPC, a diagnostic of
 * mutual trust (docs/identity.md "The control RPC").
 *
 *   ctl method ping               answered by every control listener:
 *                                 {"id": our node SPIFFE ID, "node": name}
 *   POST /v1/control/ping {"addr": "host:port"}
 *                                 this agent calls ping there with its node
 *                                 certificate (the handshake checks the
 *                                 peer's chain and node ID); the reply, once
 *                                 the call is over: {"addr", "peer", "ms"},
 *                                 or 502 with the reason
 *
 * Allocation: each call in flight is a struct ping_call on w->pings (freed
 * in ping_done, or by agent_ping_stop), which owns its tls conf. A client
 * that hangs up meanwhile only loses the reply: the call is bounded by the
 * control timeouts.
 */
#include "admin/admin.h"
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/jsonv.h"
#include "ctl/ctl_client.h"
#include "ctl/ctl_server.h"
#include "pki/identity.h"
#include "tls/tls_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ping_method(void *ud, const struct ctl_call *call, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    struct json_w j;
    if (agent_revoked_id(w, call->peer_id))
        return err_set(e, "ping: %s is revoked", call->peer_id);
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_kv_str(&j, "id", w->ident->idents[0].spiffe_id);
    json_kv_str(&j, "node", w->cfg->node.name);
    json_obj_end(&j);
    return 0;
}

struct ping_call {
    struct weft *w;
    struct ping_call *next; /* on w->pings */
    struct admin_pending *pend;
    struct ctl_client_call *call;
    struct tls_conf *conf;
    int64_t start_us;
    char addr[280];
};

static void ping_free(struct ping_call *p)
{
    for (struct ping_call **pp = &p->w->pings; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    tls_conf_free(p->conf);
    free(p);
}

static void ping_done(void *ud, bool ok, const struct jsonv *body, const char *err)
{
    struct ping_call *p = ud;
    double ms = (double)(clock_mono_us() - p->start_us) / 1000.0;
    p->call = NULL;
    if (!ok) {
        char msg[WEFT_ERR_MAX + 300];
        snprintf(msg, sizeof(msg), "ping %s: %s", p->addr, err);
        admin_pending_error(p->pend, 502, msg);
    } else {
        struct sbuf out;
        struct json_w j;
        sbuf_init(&out);
        json_w_init(&j, &out);
        json_obj_begin(&j);
        json_kv_str(&j, "addr", p->addr);
        json_kv_str(&j, "peer", jsonv_str(jsonv_get(body, "id"), NULL));
        json_kv_int(&j, "us", (int64_t)(ms * 1000.0));
        json_obj_end(&j);
        admin_pending_reply(p->pend, 200, out.data, out.len);
        sbuf_deinit(&out);
    }
    ping_free(p);
}

static int ping_api(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    (void)out;
    if (!w->ident) {
        err_set(e, "this agent has no identity: set [identity]");
        return 409;
    }
    struct jsonv *b = jsonv_parse(req->body, req->body_len, e);
    if (!b)
        return 400;
    const char *addr = jsonv_str(jsonv_get(b, "addr"), NULL);
    struct ping_call *p = NULL;
    int status = 400;
    if (!addr || strlen(addr) >= sizeof(p->addr)) {
        err_set(e, "\"addr\" (host:port) is required");
        goto out;
    }
    status = 500;
    if (!(p = calloc(1, sizeof(*p)))) {
        err_set(e, "out of memory");
        goto out;
    }
    p->w = w;
    p->next = w->pings;
    w->pings = p;
    snprintf(p->addr, sizeof(p->addr), "%s", addr);
    if (!(p->conf = agent_ctl_conf(w, TLS_ROLE_CLIENT, e)))
        goto out;
    const struct config_control *cc = &w->cfg->control;
    struct ctl_client_opts o = {
        .handshake_ms = cc->handshake_ms,
        .request_ms = cc->request_ms,
        .frame_max = (size_t)cc->max_frame,
    };
    p->start_us = clock_mono_us();
    if (!(p->pend = admin_defer(req))) {
        err_set(e, "out of memory");
        goto out;
    }
    if (!(p->call = ctl_client_call(w->base, p->conf, addr, "ping", NULL, &o, ping_done, p, e))) {
        admin_pending_error(p->pend, 400, e->msg);
        ping_free(p);
        jsonv_free(b);
        return ADMIN_DEFERRED;
    }
    jsonv_free(b);
    return ADMIN_DEFERRED;
out:
    if (p)
        ping_free(p);
    jsonv_free(b);
    return status;
}

int agent_ping_start(struct weft *w, struct weft_err *e)
{
    if (w->ctl && ctl_server_method(w->ctl, "ping", ping_method, w) != 0)
        return err_set(e, "cannot register the ping method");
    return 0;
}

int agent_ping_api(struct weft *w)
{
    return admin_route(w->admin, ADMIN_POST, "/v1/control/ping", ping_api, w);
}

void agent_ping_stop(struct weft *w)
{
    while (w->pings) {
        struct ping_call *p = w->pings;
        ctl_client_cancel(p->call);
        admin_pending_error(p->pend, 503, "the agent is stopping");
        ping_free(p);
    }
}
