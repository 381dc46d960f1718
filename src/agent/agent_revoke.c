/*
 * agent_revoke: revoked node identities in the replicated state
 * (docs/identity.md "Revoking a node").
 *
 * The CA node publishes one record per revoked node: kind "revocation",
 * name NODE, a statement signed by the CA (pki/statement.h) whose payload
 * is "node = NODE\nrevoked = yes|no\nreason = ...\n". Unrevoking publishes
 * "revoked = no" (a newer signed version), never a tombstone: a tombstone
 * carries no signature, so anyone could forge one.
 *
 * Every node takes such a record only if a root it trusts signed it (the
 * accept hook), and then refuses the revoked node everywhere the mesh
 * meets it: its control calls (ping, mesh.sync, the CA's renew) are
 * refused and counted, its records are refused on arrival, and it is never
 * picked for anti-entropy. (Handshakes are still completed: the proxy's
 * listeners will consult the same set.)
 *
 *   POST /v1/ca/revoke {"node": N, "reason": R, "revoked": true|false}   (CA node)
 *
 * Allocation: nothing outlives a call.
 */
#include "admin/admin.h"
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/json.h"
#include "core/jsonv.h"
#include "core/log.h"
#include "mesh/hlc.h"
#include "mesh/table.h"
#include "pki/identity.h"
#include "pki/spiffe.h"
#include "pki/statement.h"

#include <stdio.h>
#include <string.h>

#define REVOKE_KIND "revocation"

/* The payload's "revoked = yes" for node, from a verified record. */
static bool revoke_payload_says(const char *payload, size_t len, const char *node)
{
    char want[SPIFFE_NAME_MAX + 16];
    snprintf(want, sizeof(want), "node = %s\n", node);
    size_t wl = strlen(want);
    return len >= wl && memcmp(payload, want, wl) == 0 && len - wl >= strlen("revoked = yes\n") &&
           memcmp(payload + wl, "revoked = yes\n", strlen("revoked = yes\n")) == 0;
}

/* Verify r against our roots; the payload in *p / *len. */
static int revoke_verify(const struct weft *w, const struct mesh_record *r, const char **p,
                         size_t *len, struct weft_err *e)
{
    struct sbuf roots;
    if (!w->ident)
        return err_set(e, "%s/%s: this node has no trust roots to verify it", r->kind, r->name);
    sbuf_init(&roots);
    int rc = pki_identity_roots_pem(w->ident, &roots, e);
    if (rc == 0)
        rc = pki_statement_verify(sbuf_str(&roots), r->kind, r->name, r->body, r->body_len, p, len,
                                  e);
    sbuf_deinit(&roots);
    return rc;
}

bool agent_revoke_accept(const struct weft *w, const struct mesh_record *r, struct weft_err *e)
{
    const char *p;
    size_t len;
    char want[SPIFFE_NAME_MAX + 16];
    if (r->deleted)
        return err_set(e, "%s/%s: a revocation cannot be deleted, only replaced", r->kind,
                       r->name) == 0;
    if (revoke_verify(w, r, &p, &len, e) != 0)
        return false;
    snprintf(want, sizeof(want), "node = %s\n", r->name);
    if (len < strlen(want) || memcmp(p, want, strlen(want)) != 0)
        return err_set(e, "%s/%s: the statement names another node", r->kind, r->name) == 0;
    return true;
}

bool agent_revoked_node(struct weft *w, const char *node)
{
    struct mesh_record r;
    struct mesh_table *t = agent_mesh_table(w);
    if (!t || !node || !mesh_table_get(t, REVOKE_KIND, node, &r) || r.deleted)
        return false;
    /* The table holds only records the accept hook verified, or our own
     * store's; the payload is at the end of the body. */
    const char *p = memmem(r.body, r.body_len, "\n\nnode = ", 9);
    if (!p)
        return false;
    p += 2;
    return revoke_payload_says(p, r.body_len - (size_t)(p - (const char *)r.body), node);
}

bool agent_revoked_id(struct weft *w, const char *spiffe_id)
{
    struct spiffe_id id;
    struct weft_err e = {{0}};
    if (!spiffe_id || spiffe_id_parse(spiffe_id, strlen(spiffe_id), &id, &e) != 0 ||
        id.kind != SPIFFE_NODE)
        return false;
    return agent_revoked_node(w, id.name);
}

/* POST /v1/ca/revoke {"node", "reason", "revoked"} */
static int revoke_api(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    if (!w->ca) {
        err_set(e, "this agent holds no CA: run it where [ca] dir is set");
        return 409;
    }
    if (!w->ident || !w->mesh) {
        err_set(e, "the CA node needs [identity] to publish revocations");
        return 409;
    }
    struct jsonv *b = jsonv_parse(req->body, req->body_len, e);
    if (!b)
        return 400;
    int status = 400;
    const char *node = jsonv_str(jsonv_get(b, "node"), NULL);
    const char *reason = jsonv_str(jsonv_get(b, "reason"), "");
    bool revoked = jsonv_bool(jsonv_get(b, "revoked"), true);
    struct sbuf payload, body;
    sbuf_init(&payload);
    sbuf_init(&body);
    if (!node || spiffe_name_check(SPIFFE_NODE, node, e) != 0) {
        if (!node)
            err_set(e, "\"node\" is required");
        goto out;
    }
    if (strpbrk(reason, "\r\n") || strlen(reason) > 200) {
        err_set(e, "reason: one line of at most 200 bytes");
        goto out;
    }
    if (revoked && strcmp(node, w->cfg->node.name) == 0) {
        err_set(e, "the CA node cannot revoke itself");
        goto out;
    }
    sbuf_printf(&payload, "node = %s\nrevoked = %s\nreason = %s\n", node, revoked ? "yes" : "no",
                reason);
    status = 500;
    if (agent_ca_statement(w, REVOKE_KIND, node, sbuf_str(&payload), &body, e) != 0)
        goto out;
    struct mesh_record r = {
        .kind = REVOKE_KIND,
        .name = node,
        .hlc = mesh_hlc_now(mesh_table_hlc(agent_mesh_table(w)), agent_mesh_wall_ms(w)),
        .writer = agent_mesh_writer(w),
        .body = (const uint8_t *)body.data,
        .body_len = body.len};
    if (agent_mesh_store_and_merge(w, &r, 1, e) != 0)
        goto out;
    log_warn(LOG_AGENT, "CA: node %s %s%s%s", node, revoked ? "revoked" : "no longer revoked",
             reason[0] ? ": " : "", reason);
    sbuf_printf(out, "{\"node\":\"%s\",\"revoked\":%s}", node, revoked ? "true" : "false");
    status = 200;
out:
    sbuf_deinit(&payload);
    sbuf_deinit(&body);
    jsonv_free(b);
    return status;
}

int agent_revoke_api(struct weft *w)
{
    return admin_route(w->admin, ADMIN_POST, "/v1/ca/revoke", revoke_api, w);
}
