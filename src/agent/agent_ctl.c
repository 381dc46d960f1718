/*
 * agent_ctl: the agent's control RPC listener ([control] listen;
 * docs/identity.md, "The control RPC").
 *
 * The listener's TLS conf is built from the node's own identity: its node
 * certificate and key, the trust roots, the trust domain, and an accept rule
 * that admits node certificates only (spiffe://TD/node/NAME): a service
 * certificate or no certificate is refused in the handshake. Methods decide
 * authorization themselves from the caller's ID (agent_ca.c's renew).
 *
 * Serves GET /v1/control (listener, counters by reason, TLS failures).
 * Allocation: w->ctl owns the server, which owns its confs.
 */
#include "admin/admin.h"
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/json.h"
#include "core/log.h"
#include "core/units.h"
#include "ctl/ctl_server.h"
#include "pki/identity.h"
#include "tls/tls_conf.h"

#include <stdio.h>
#include <string.h>

bool agent_ctl_is_node(void *arg, const char *id)
{
    (void)arg;
    const char *p = strstr(id, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    return p && strncmp(p, "/node/", 6) == 0;
}

struct tls_conf *agent_ctl_conf(const struct weft *w, int role, struct weft_err *e)
{
    struct sbuf roots;
    const struct pki_ident *n = &w->ident->idents[0];
    sbuf_init(&roots);
    struct tls_conf *c = NULL;
    /* A CA node's listener also serves enrollment: it sends the root along
     * (new nodes check it against the token's pin) and lets callers without
     * a certificate through to the anonymous methods only. */
    bool ca_server = role == TLS_ROLE_SERVER && w->cfg->ca.dir;
    struct sbuf chain;
    sbuf_init(&chain);
    sbuf_puts(&chain, n->cert_pem);
    if (pki_identity_roots_pem(w->ident, &roots, e) == 0) {
        if (ca_server)
            sbuf_puts(&chain, sbuf_str(&roots));
        c = tls_conf_new_pem((enum tls_role)role, sbuf_str(&chain), n->key_pem, sbuf_str(&roots),
                             e);
    }
    sbuf_deinit(&roots);
    sbuf_deinit(&chain);
    if (c && ca_server)
        tls_conf_allow_anonymous(c);
    if (!c)
        return NULL;
    if (tls_conf_set_trust_domain(c, w->cfg->node.trust_domain, e) != 0) {
        tls_conf_free(c);
        return NULL;
    }
    tls_conf_set_accept_fn(c, agent_ctl_is_node, NULL);
    /* Debug: certificates issued by a moved clock are judged by it too. */
    if (w->cfg->admin.debug)
        tls_conf_set_clock_offset(c, &w->clock_offset_ms);
    return c;
}

int agent_ctl_start(struct weft *w, struct weft_err *e)
{
    const struct config_control *cc = &w->cfg->control;
    if (!cc->listen)
        return 0;
    if (!w->ident)
        return err_set(e, "[control] listen needs the node's identity: set [identity] bundle");
    struct tls_conf *conf = agent_ctl_conf(w, TLS_ROLE_SERVER, e);
    if (!conf)
        return err_prefix(e, "[control] listen %s", cc->listen);
    struct ctl_server_opts o = {
        .listen = cc->listen,
        .max_conns = (unsigned)cc->max_conns,
        .handshake_ms = cc->handshake_ms,
        .idle_ms = cc->request_ms,
        .frame_max = (size_t)cc->max_frame,
    };
    if (!(w->ctl = ctl_server_new(w->base, &o, conf, e)))
        return -1;
    log_info(LOG_AGENT, "control RPC listening on %s (port %u, mTLS, node certificates only)",
             cc->listen, ctl_server_port(w->ctl));
    return 0;
}

void agent_ctl_identity_changed(struct weft *w)
{
    struct weft_err e = {{0}};
    if (!w->ctl)
        return;
    struct tls_conf *conf = agent_ctl_conf(w, TLS_ROLE_SERVER, &e);
    if (!conf) {
        log_error(LOG_AGENT, "control: keeping the previous certificate: %s", e.msg);
        return;
    }
    ctl_server_set_conf(w->ctl, conf);
    log_info(LOG_AGENT, "control: new handshakes use node certificate %s",
             w->ident->idents[0].serial);
}

void agent_ctl_stop(struct weft *w)
{
    ctl_server_free(w->ctl);
    w->ctl = NULL;
}

static int agent_api_control(void *ud, const struct admin_req *req, struct sbuf *out,
                             struct weft_err *e)
{
    const struct weft *w = ud;
    struct json_w j;
    (void)req;
    (void)e;
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_kv_str(&j, "listen", w->ctl ? w->cfg->control.listen : NULL);
    if (w->ctl) {
        const struct ctl_stats *st = ctl_server_stats(w->ctl);
        const struct tls_stats *ts = tls_conf_stats(ctl_server_conf(w->ctl));
        json_kv_uint(&j, "port", ctl_server_port(w->ctl));
        json_kv_uint(&j, "conns", ctl_server_conns(w->ctl));
        json_kv_uint(&j, "accepted", st->accepted);
        json_kv_uint(&j, "requests", st->requests);
        json_key(&j, "refused");
        json_obj_begin(&j);
        for (int r = 1; r < CTL_R_MAX; r++)
            json_kv_uint(&j, ctl_reason_name((enum ctl_reason)r), st->refused[r]);
        json_obj_end(&j);
        json_key(&j, "tls");
        json_obj_begin(&j);
        json_kv_uint(&j, "handshakes", ts->handshakes);
        for (int f = 1; f < TLS_FAIL_MAX; f++)
            json_kv_uint(&j, tls_fail_name((enum tls_fail)f), ts->fail[f]);
        json_obj_end(&j);
    }
    agent_ca_status(w, &j);
    json_obj_end(&j);
    return 200;
}

/* POST /v1/debug/clock?advance=D: move the certificate clock ahead. */
static int agent_api_debug_clock(void *ud, const struct admin_req *req, struct sbuf *out,
                                 struct weft_err *e)
{
    struct weft *w = ud;
    char v[64];
    int64_t ms;
    if (!admin_query_get(req->query, "advance", v, sizeof(v))) {
        err_set(e, "missing ?advance=DURATION");
        return 400;
    }
    if (units_parse_duration_ms(v, &ms, e) != 0)
        return 400;
    w->clock_offset_ms += ms;
    char total[32];
    units_format_duration(w->clock_offset_ms, total, sizeof(total));
    log_warn(LOG_AGENT,
             "DEBUG: certificate clock moved ahead by %s (now %s ahead of the wall "
             "clock): never in production",
             v, total);
    agent_renew_reschedule(w);
    struct json_w j;
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_kv_int(&j, "clock_offset_ms", w->clock_offset_ms);
    json_kv_int(&j, "now", agent_now_s(w));
    json_obj_end(&j);
    return 200;
}

/* POST /v1/debug/renew[?service=NAME]: renew now (result in /v1/status). */
static int agent_api_debug_renew(void *ud, const struct admin_req *req, struct sbuf *out,
                                 struct weft_err *e)
{
    struct weft *w = ud;
    char svc[80] = "";
    admin_query_get(req->query, "service", svc, sizeof(svc));
    if (agent_renew_debug(w, svc[0] ? svc : NULL, e) != 0)
        return 409;
    sbuf_puts(out, "{\"started\":true}");
    return 202;
}

int agent_ctl_api(struct weft *w)
{
    if (admin_route(w->admin, ADMIN_GET, "/v1/control", agent_api_control, w) != 0 ||
        agent_ping_api(w) != 0 || agent_ca_api(w) != 0)
        return -1;
    if (!w->cfg->admin.debug)
        return 0;
    if (admin_route(w->admin, ADMIN_POST, "/v1/debug/clock", agent_api_debug_clock, w) != 0 ||
        admin_route(w->admin, ADMIN_POST, "/v1/debug/renew", agent_api_debug_renew, w) != 0)
        return -1;
    return 0;
}
