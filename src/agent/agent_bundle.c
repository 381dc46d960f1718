/*
 * agent_bundle: the trust bundle in the replicated state (docs/identity.md
 * "The trust bundle in the replicated state").
 *
 * The CA node publishes its bundle (every root it trusts) as the record
 * kind "trust-bundle", name "roots", a statement signed by the CA's key,
 * and by both keys during a rotation (pki/statement.h): at start and after
 * every rotation step. Every node takes such a record only if a root it
 * already trusts signed it (the accept hook, agent_bundle_accept), and then
 * installs the bundle as its trust roots when its own certificates still
 * chain to them (agent_bundle_changed -> a zero timer -> bundle_install):
 * stored durably, swapped in, the control listener given a new conf. So a
 * root rotation reaches nodes that never check in with the CA, as fast as
 * the mesh's state spreads; and no node, however it got into the gossip,
 * can hand others a root.
 *
 * Allocation: w->bundle_ev, a timer owned here.
 */
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "mesh/hlc.h"
#include "mesh/table.h"
#include "pki/ca.h"
#include "pki/identity.h"
#include "pki/statement.h"

#include <event2/event.h>

#include <string.h>

#define BUNDLE_KIND "trust-bundle"
#define BUNDLE_NAME "roots"

bool agent_bundle_accept(const struct weft *w, const struct mesh_record *r, struct weft_err *e)
{
    const char *payload;
    size_t len;
    struct sbuf roots;
    if (strcmp(r->name, BUNDLE_NAME) != 0)
        return err_set(e, "%s/%s: the only trust bundle record is %s/%s", r->kind, r->name,
                       BUNDLE_KIND, BUNDLE_NAME) == 0;
    if (r->deleted)
        return err_set(e, "%s/%s: a trust bundle cannot be deleted", r->kind, r->name) == 0;
    if (!w->ident)
        return err_set(e, "%s/%s: this node has no trust roots to verify it", r->kind, r->name) ==
               0;
    sbuf_init(&roots);
    int rc = pki_identity_roots_pem(w->ident, &roots, e);
    if (rc == 0)
        rc = pki_statement_verify(sbuf_str(&roots), r->kind, r->name, r->body, r->body_len,
                                  &payload, &len, e);
    sbuf_deinit(&roots);
    return rc == 0;
}

/* Install the record's bundle as our roots, if it differs and covers us. */
static void bundle_install(evutil_socket_t fd, short what, void *arg)
{
    struct weft *w = arg;
    struct mesh_record r;
    struct weft_err e = {{0}};
    (void)fd;
    (void)what;
    if (!w->ident || !mesh_table_get(agent_mesh_table(w), BUNDLE_KIND, BUNDLE_NAME, &r) ||
        r.deleted || !agent_bundle_accept(w, &r, &e)) {
        if (err_is_set(&e))
            log_warn(LOG_AGENT, "trust bundle from the mesh not taken: %s", e.msg);
        return;
    }
    const char *payload;
    size_t len;
    struct sbuf roots, pem;
    sbuf_init(&roots);
    sbuf_init(&pem);
    if (pki_identity_roots_pem(w->ident, &roots, &e) != 0 ||
        pki_statement_verify(sbuf_str(&roots), r.kind, r.name, r.body, r.body_len, &payload, &len,
                             &e) != 0) {
        log_warn(LOG_AGENT, "trust bundle from the mesh not taken: %s", e.msg);
        goto out;
    }
    sbuf_append(&pem, payload, len);
    struct pki_identity *next = pki_identity_copy(w->ident);
    if (!next)
        goto out;
    if (pki_identity_set_roots(next, sbuf_str(&pem), &e) != 0 ||
        pki_identity_check(next, w->cfg->node.name, w->cfg->node.trust_domain, &e) != 0) {
        /* E.g. a retire reached us before our re-issued certificates. */
        log_warn(LOG_AGENT,
                 "trust bundle from the mesh not taken yet: %s (this node's certificates must "
                 "chain to it first: they are re-issued at the next check-in with the CA)",
                 e.msg);
        pki_identity_free(next);
        goto out;
    }
    if (pki_identity_same_roots(next, w->ident)) {
        pki_identity_free(next);
        goto out;
    }
    size_t was = w->ident->nroots, now = next->nroots;
    if (agent_identity_replace(w, next, &e) != 0) {
        log_error(LOG_AGENT, "trust bundle from the mesh: %s", e.msg);
        goto out;
    }
    char hlc[MESH_HLC_TEXT_MAX];
    log_info(LOG_AGENT, "trust bundle from the mesh (CA statement of %s): %zu root%s, was %zu",
             mesh_hlc_format(r.hlc, hlc), now, now == 1 ? "" : "s", was);
    agent_renew_reschedule(w);
out:
    sbuf_deinit(&roots);
    sbuf_deinit(&pem);
}

void agent_bundle_changed(struct weft *w)
{
    if (!w->bundle_ev && !(w->bundle_ev = event_new(w->base, -1, 0, bundle_install, w)))
        return;
    loop_timer_add(w->bundle_ev, 0);
}

int agent_bundle_publish(struct weft *w, struct weft_err *e)
{
    struct sbuf pem, body;
    struct mesh_record cur;
    if (!w->ca || !w->mesh || !w->ident)
        return 0; /* only a CA node with an identity takes part */
    sbuf_init(&pem);
    sbuf_init(&body);
    int rc = agent_ca_bundle_pem(w, &pem, e);
    if (rc == 0 && mesh_table_get(agent_mesh_table(w), BUNDLE_KIND, BUNDLE_NAME, &cur) &&
        !cur.deleted) {
        /* Unchanged roots: no new version (a restart publishes nothing). */
        const char *payload;
        size_t len;
        struct weft_err ve = {{0}};
        if (pki_statement_verify(sbuf_str(&pem), cur.kind, cur.name, cur.body, cur.body_len,
                                 &payload, &len, &ve) == 0 &&
            len == pem.len && memcmp(payload, pem.data, len) == 0)
            goto out;
    }
    if (rc == 0)
        rc = agent_ca_statement(w, BUNDLE_KIND, BUNDLE_NAME, sbuf_str(&pem), &body, e);
    if (rc == 0) {
        struct mesh_record r = {
            .kind = BUNDLE_KIND,
            .name = BUNDLE_NAME,
            .hlc = mesh_hlc_now(mesh_table_hlc(agent_mesh_table(w)), agent_mesh_wall_ms(w)),
            .writer = agent_mesh_writer(w),
            .body = (const uint8_t *)body.data,
            .body_len = body.len};
        rc = agent_mesh_store_and_merge(w, &r, 1, e);
        if (rc == 0)
            log_info(LOG_AGENT, "CA: trust bundle published to the mesh");
    }
out:
    sbuf_deinit(&pem);
    sbuf_deinit(&body);
    return rc;
}

void agent_bundle_stop(struct weft *w)
{
    if (w->bundle_ev)
        event_free(w->bundle_ev);
    w->bundle_ev = NULL;
}
