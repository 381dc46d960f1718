/*
 * agent_enroll: a new node enrolls online with a one-time token ([identity]
 * token; docs/identity.md, "Online enrollment").
 *
 * The token (pki/token.h) names the node, its services, the CA's control
 * address and the SHA-256 pin of the CA's root. The node makes one key pair
 * per certificate (private keys never leave it), connects with a client conf
 * that has no certificate and accepts the server only if its chain holds the
 * pinned root and its leaf is a node of our trust domain
 * (tls_conf_new_pinned), and calls `enroll` with the token's secret and the
 * public keys. The reply's certificates and trust bundle are assembled into
 * an identity, checked like a bundle, and stored durably before use.
 *
 * Allocation: everything is local to agent_enroll(); private keys are wiped.
 */
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/json.h"
#include "core/jsonv.h"
#include "core/log.h"
#include "core/loop.h"
#include "ctl/ctl_client.h"
#include "pki/identity.h"
#include "pki/renew.h"
#include "pki/token.h"
#include "tls/tls_conf.h"

#include <event2/event.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct enroll_state {
    bool done, late, ok;
    char err[WEFT_ERR_MAX];
    struct sbuf reply_text; /* what we use of the reply, as JSON text (owned) */
};

/* The reply body arrives borrowed: keep the pieces we need as text. */
static void enroll_done(void *ud, bool ok, const struct jsonv *body, const char *err)
{
    struct enroll_state *st = ud;
    st->done = true;
    st->ok = ok;
    snprintf(st->err, sizeof(st->err), "%s", err ? err : "");
    if (!ok)
        return;
    /* Re-serialize what we use: node cert, service certs, bundle. */
    struct json_w j;
    json_w_init(&j, &st->reply_text);
    json_obj_begin(&j);
    json_kv_str(&j, "node", jsonv_str(jsonv_path(body, "node.cert"), ""));
    json_kv_str(&j, "bundle", jsonv_str(jsonv_get(body, "bundle"), ""));
    json_key(&j, "services");
    json_obj_begin(&j);
    const struct jsonv *svcs = jsonv_get(body, "services");
    for (size_t i = 0; i < jsonv_len(svcs); i++) {
        const char *name = jsonv_str(jsonv_get(jsonv_at(svcs, i), "name"), NULL);
        if (name)
            json_kv_str(&j, name, jsonv_str(jsonv_get(jsonv_at(svcs, i), "cert"), ""));
    }
    json_obj_end(&j);
    json_obj_end(&j);
}

static void enroll_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ((struct enroll_state *)arg)->late = true;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void key_wipe(struct sbuf *k)
{
    if (k->data)
        memset(k->data, 0, k->cap);
    sbuf_deinit(k);
}

int agent_enroll(struct weft *w, struct pki_identity **out, struct weft_err *e)
{
    struct pki_token t;
    struct enroll_state st = {0};
    struct sbuf keys[PKI_BUNDLE_SERVICES_MAX + 1], pub, body;
    char *names[PKI_BUNDLE_SERVICES_MAX];
    size_t nsvc = 0, nkeys = 0;
    struct tls_conf *conf = NULL;
    struct pki_identity *id = NULL;
    int rc = -1;
    sbuf_init(&pub);
    sbuf_init(&body);
    sbuf_init(&st.reply_text);
    if (pki_token_parse(w->cfg->identity.token, &t, e) != 0)
        return err_prefix(e, "[identity] token");
    if (strcmp(t.node, w->cfg->node.name) != 0) {
        err_set(e, "[identity] token enrolls node '%s', but [node] name is '%s'", t.node,
                w->cfg->node.name);
        goto out;
    }
    const char *addr = w->cfg->identity.ca ? w->cfg->identity.ca : t.addr;
    for (char *save = NULL, *s = strtok_r(t.services, ",", &save);
         s && nsvc < PKI_BUNDLE_SERVICES_MAX; s = strtok_r(NULL, ",", &save))
        names[nsvc++] = s;
    qsort(names, nsvc, sizeof(names[0]), name_cmp);

    struct json_w j;
    json_w_init(&j, &body);
    json_obj_begin(&j);
    json_kv_str(&j, "secret", t.secret);
    for (size_t i = 0; i <= nsvc; i++) {
        sbuf_init(&keys[i]);
        nkeys++;
        if (pki_renew_keypair(&keys[i], &pub, e) != 0)
            goto out;
        if (i == 0) {
            json_key(&j, "node");
            json_obj_begin(&j);
            json_kv_str(&j, "pubkey", sbuf_str(&pub));
            json_obj_end(&j);
            json_key(&j, "services");
            json_arr_begin(&j);
        } else {
            json_obj_begin(&j);
            json_kv_str(&j, "name", names[i - 1]);
            json_kv_str(&j, "pubkey", sbuf_str(&pub));
            json_obj_end(&j);
        }
    }
    json_arr_end(&j);
    json_obj_end(&j);

    if (!(conf = tls_conf_new_pinned(t.fingerprint, e)) ||
        tls_conf_set_trust_domain(conf, w->cfg->node.trust_domain, e) != 0)
        goto out;
    tls_conf_set_accept_fn(conf, agent_ctl_is_node, NULL);
    if (w->cfg->admin.debug)
        tls_conf_set_clock_offset(conf, &w->clock_offset_ms);
    struct ctl_client_opts o = {
        .handshake_ms = w->cfg->control.handshake_ms,
        .request_ms = w->cfg->control.request_ms,
        .frame_max = (size_t)w->cfg->control.max_frame,
    };
    log_info(LOG_AGENT, "enrolling node %s with the CA at %s (pinned sha256:%.16s...)", t.node,
             addr, t.fingerprint);
    struct ctl_client_call *call =
        ctl_client_call(w->base, conf, addr, "enroll", sbuf_str(&body), &o, enroll_done, &st, e);
    if (!call)
        goto out;
    struct event *deadline = event_new(w->base, -1, 0, enroll_deadline, &st);
    if (!deadline || loop_timer_add(deadline, w->cfg->identity.start_wait_ms) != 0) {
        if (deadline)
            event_free(deadline);
        ctl_client_cancel(call);
        err_set(e, "out of memory");
        goto out;
    }
    while (!st.done && !st.late)
        event_base_loop(w->base, EVLOOP_ONCE);
    event_free(deadline);
    if (!st.done) {
        ctl_client_cancel(call);
        err_set(e, "enrollment: no answer from the CA at %s within %lld ms", addr,
                (long long)w->cfg->identity.start_wait_ms);
        goto out;
    }
    if (!st.ok) {
        err_set(e, "enrollment refused: %s", st.err);
        goto out;
    }
    struct jsonv *r = jsonv_parse(st.reply_text.data, st.reply_text.len, e);
    if (!r)
        goto out;
    id = pki_identity_new();
    int bad = !id || pki_identity_add(id, SPIFFE_NODE, t.node, jsonv_str(jsonv_get(r, "node"), ""),
                                      sbuf_str(&keys[0]), e) != 0;
    for (size_t i = 0; !bad && i < nsvc; i++) {
        const char *c = jsonv_str(jsonv_get(jsonv_get(r, "services"), names[i]), NULL);
        if (!c) {
            err_set(e, "enrollment: the CA sent no certificate for service %s", names[i]);
            bad = 1;
        } else if (pki_identity_add(id, SPIFFE_SVC, names[i], c, sbuf_str(&keys[i + 1]), e) != 0) {
            bad = 1;
        }
    }
    if (!bad && (pki_identity_set_roots(id, jsonv_str(jsonv_get(r, "bundle"), ""), e) != 0 ||
                 pki_identity_check(id, w->cfg->node.name, w->cfg->node.trust_domain, e) != 0 ||
                 pki_identity_save(id, w->store, e) != 0)) {
        err_prefix(e, "enrollment");
        bad = 1;
    }
    jsonv_free(r);
    if (bad)
        goto out;
    log_info(LOG_AGENT, "enrolled node %s with a token: %zu service certificate%s, stored", t.node,
             nsvc, nsvc == 1 ? "" : "s");
    *out = id;
    id = NULL;
    rc = 0;
out:
    for (size_t i = 0; i < nkeys; i++)
        key_wipe(&keys[i]);
    memset(&t, 0, sizeof(t));
    if (body.data)
        memset(body.data, 0, body.cap);
    sbuf_deinit(&body);
    sbuf_deinit(&pub);
    sbuf_deinit(&st.reply_text);
    pki_identity_free(id);
    tls_conf_free(conf);
    return rc;
}
