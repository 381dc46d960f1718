/*
 * agent_ca: the online CA service ([ca] dir; docs/identity.md, "The CA
 * service and renewal"). Only the node that holds the CA key runs it.
 *
 * Method `renew` on the control listener. The caller is authenticated by the
 * TLS handshake (a node certificate chaining to our roots: the listener
 * admits nothing else); here it is authorized:
 *   - the caller's ID must be spiffe://TD/node/NAME of the CA's trust domain;
 *   - "node": a new node certificate, for NAME only (the caller's own);
 *   - "services": each service must be one NAME is enrolled for: a row of
 *     the store's enrollments table, or, for a node enrolled offline (`weft
 *     ca issue`, which cannot write to this store), a proof that it holds a
 *     key of that service issued by this CA (pki/renew.h); a proof is then
 *     recorded as an enrollment, so later renewals need none.
 * All or nothing: one refused item refuses the request (counted, logged).
 * Keys never come here: the caller sends public keys; certificates are issued
 * for them with the CA's clock (agent_now_s) and lifetimes from [ca].
 *
 * Allocation: w->ca owns the loaded CA (its key wiped when freed).
 */
#include "admin/admin.h"
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/json.h"
#include "core/jsonv.h"
#include "core/log.h"
#include "ctl/ctl_server.h"
#include "pki/bundle.h"
#include "pki/ca.h"
#include "pki/ca_rotate.h"
#include "pki/identity.h"
#include "pki/issue.h"
#include "pki/renew.h"
#include "pki/spiffe.h"
#include "pki/statement.h"
#include "pki/token.h"
#include "core/units.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct agent_ca {
    struct pki_ca *ca;
    uint64_t issued;           /* certificates issued */
    uint64_t renewals;         /* renew requests served that issued something */
    uint64_t checkins;         /* renew requests that asked for nothing (check-ins) */
    uint64_t not_enrolled;     /* refused: a service the node is not enrolled for */
    uint64_t bad_request;      /* refused: not a node, another trust domain, malformed */
    uint64_t revoked;          /* refused: the caller is revoked */
    uint64_t proofs;           /* enrollments learnt from a proof of possession */
    uint64_t tokens;           /* tokens handed out */
    uint64_t enrolled;         /* nodes enrolled with a token */
    uint64_t token_refused[4]; /* by enum store_token_result (OK unused) */
    uint64_t rotations;        /* rotation steps taken */
    char signer[65];           /* fingerprint of the active root */
    struct log_ratelim rl;
};

/* Longest comma-separated list of fingerprints a node may report. */
#define CA_FPS_MAX 8
#define CA_FPS_CAP (CA_FPS_MAX * 65 + 1)

static bool ca_is_fp(const char *s)
{
    if (!s || strlen(s) != 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* Add fp to the comma list out unless it is there. */
static void ca_fps_add(char *out, const char *fp)
{
    size_t len = strlen(out);
    if (strstr(out, fp) || len + 66 > CA_FPS_CAP)
        return;
    snprintf(out + len, CA_FPS_CAP - len, "%s%s", len ? "," : "", fp);
}

/*
 * Record what a node reports (renew's "roots" and "have") as it stands after
 * this call: the certificates renewed now (node: whether "node" was asked;
 * services: by name) are issued by the active root. Malformed reports are
 * ignored (the fields are optional: an older node sends none).
 */
static int ca_record_node(struct weft *w, const char *node, const struct jsonv *body,
                          struct weft_err *e)
{
    char roots[CA_FPS_CAP] = "", issuers[CA_FPS_CAP] = "";
    const struct jsonv *r = jsonv_get(body, "roots"), *have = jsonv_get(body, "have");
    if (!r || !have || jsonv_len(r) > CA_FPS_MAX || jsonv_len(have) > PKI_BUNDLE_SERVICES_MAX + 1)
        return 0;
    for (size_t i = 0; i < jsonv_len(r); i++)
        if (ca_is_fp(jsonv_str(jsonv_at(r, i), NULL)))
            ca_fps_add(roots, jsonv_str(jsonv_at(r, i), NULL));
    for (size_t i = 0; i < jsonv_len(have); i++) {
        const struct jsonv *h = jsonv_at(have, i);
        const char *id = jsonv_str(jsonv_get(h, "id"), "");
        const char *fp = jsonv_str(jsonv_get(h, "issuer"), NULL);
        struct spiffe_id sid;
        struct weft_err ie = {{0}};
        bool renewed = false;
        if (!ca_is_fp(fp) || spiffe_id_parse(id, strlen(id), &sid, &ie) != 0)
            continue;
        if (sid.kind == SPIFFE_NODE) {
            renewed = jsonv_get(body, "node") != NULL;
        } else {
            const struct jsonv *svcs = jsonv_get(body, "services");
            for (size_t k = 0; k < jsonv_len(svcs) && !renewed; k++)
                renewed =
                    strcmp(jsonv_str(jsonv_get(jsonv_at(svcs, k), "name"), ""), sid.name) == 0;
        }
        ca_fps_add(issuers, renewed ? w->ca->signer : fp);
    }
    struct store_ca_node n = {
        .node = node, .roots = roots, .issuers = issuers, .seen_s = agent_now_s(w)};
    return store_ca_node_put(w->store, &n, e);
}

/* One service item: checked and issued into the reply. */
static int ca_renew_service(struct weft *w, const struct spiffe_id *caller, const char *caller_id,
                            const struct jsonv *it, struct json_w *j, struct weft_err *e)
{
    struct agent_ca *ca = w->ca;
    const char *name = jsonv_str(jsonv_get(it, "name"), NULL);
    const char *pub = jsonv_str(jsonv_get(it, "pubkey"), NULL);
    struct sbuf crt;
    int64_t not_after;
    if (!name || spiffe_name_check(SPIFFE_SVC, name, e) != 0) {
        ca->bad_request++;
        return name ? err_prefix(e, "service") : err_set(e, "a service item needs \"name\"");
    }
    int has = store_enroll_has(w->store, caller->name, name, e);
    if (has < 0)
        return -1;
    if (!has) {
        const char *cert = jsonv_str(jsonv_get(it, "cert"), NULL);
        const char *proof = jsonv_str(jsonv_get(it, "proof"), NULL);
        struct weft_err pe = {{0}};
        if (!cert || !proof) {
            ca->not_enrolled++;
            return err_set(e, "node %s is not enrolled for service %s", caller->name, name);
        }
        if (pki_renew_check_proof(ca->ca, cert, name, caller_id, pub, proof, &pe) != 0) {
            ca->not_enrolled++;
            return err_set(e, "node %s is not enrolled for service %s (%s)", caller->name, name,
                           pe.msg);
        }
        if (store_enroll_add(w->store, caller->name, name, "proof", agent_now_s(w), e) != 0)
            return -1;
        ca->proofs++;
        log_info(LOG_AGENT, "CA: node %s enrolled for service %s (proved it holds its key)",
                 caller->name, name);
    }
    sbuf_init(&crt);
    int rc = pki_issue_for_pubkey(ca->ca, SPIFFE_SVC, name, agent_now_s(w),
                                  w->cfg->ca.svc_ttl_ms / 1000, pub, &crt, &not_after, e);
    if (rc == 0) {
        json_obj_begin(j);
        json_kv_str(j, "name", name);
        json_kv_str(j, "cert", sbuf_str(&crt));
        json_obj_end(j);
        ca->issued++;
    } else {
        ca->bad_request++;
    }
    sbuf_deinit(&crt);
    return rc;
}

static int ca_renew(void *ud, const struct ctl_call *call, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    struct agent_ca *ca = w->ca;
    struct spiffe_id caller;
    struct json_w j;
    struct sbuf body, crt;
    int rc = -1;
    const char *td = pki_ca_trust_domain(ca->ca);
    if (spiffe_id_parse(call->peer_id, strlen(call->peer_id), &caller, e) != 0 ||
        caller.kind != SPIFFE_NODE || strcmp(caller.trust_domain, td) != 0) {
        ca->bad_request++;
        err_set(e, "renew: %s is not a node of trust domain %s", call->peer_id, td);
        goto refused;
    }
    if (agent_revoked_node(w, caller.name)) {
        ca->revoked++;
        err_set(e, "renew: node %s is revoked: re-enroll it under another name, or unrevoke it",
                caller.name);
        goto refused;
    }
    const struct jsonv *node = jsonv_get(call->body, "node");
    const struct jsonv *svcs = jsonv_get(call->body, "services");
    if ((node && jsonv_type(node) != JSONV_OBJECT) || (svcs && jsonv_type(svcs) != JSONV_ARRAY) ||
        jsonv_len(svcs) > PKI_BUNDLE_SERVICES_MAX) {
        ca->bad_request++;
        err_set(e, "renew: \"node\" must be an object and \"services\" an array of at most %d",
                PKI_BUNDLE_SERVICES_MAX);
        goto refused;
    }
    sbuf_init(&body);
    sbuf_init(&crt);
    json_w_init(&j, &body);
    json_obj_begin(&j);
    if (node) {
        int64_t not_after;
        if (pki_issue_for_pubkey(
                ca->ca, SPIFFE_NODE, caller.name, agent_now_s(w), w->cfg->ca.node_ttl_ms / 1000,
                jsonv_str(jsonv_get(node, "pubkey"), NULL), &crt, &not_after, e) != 0) {
            ca->bad_request++;
            goto fail;
        }
        ca->issued++;
        json_key(&j, "node");
        json_obj_begin(&j);
        json_kv_str(&j, "cert", sbuf_str(&crt));
        json_obj_end(&j);
    }
    json_key(&j, "services");
    json_arr_begin(&j);
    for (size_t i = 0; i < jsonv_len(svcs); i++)
        if (ca_renew_service(w, &caller, call->peer_id, jsonv_at(svcs, i), &j, e) != 0)
            goto fail;
    json_arr_end(&j);
    sbuf_reset(&crt);
    if (pki_ca_bundle_pem(ca->ca, &crt, e) != 0)
        goto fail;
    json_kv_str(&j, "bundle", sbuf_str(&crt));
    json_kv_str(&j, "signer", ca->signer);
    json_obj_end(&j);
    if (body.oom) {
        err_set(e, "out of memory");
        goto fail;
    }
    if (ca_record_node(w, caller.name, call->body, e) != 0)
        goto fail;
    sbuf_append(out, body.data, body.len);
    if (!node && jsonv_len(svcs) == 0) {
        ca->checkins++;
        rc = 0;
        goto fail; /* a check-in: the bundle and the signer, nothing issued */
    }
    ca->renewals++;
    log_info(LOG_AGENT, "CA: renewed for node %s: %s%zu service certificate%s", caller.name,
             node ? "node certificate, " : "", jsonv_len(svcs), jsonv_len(svcs) == 1 ? "" : "s");
    rc = 0;
fail:
    sbuf_deinit(&body);
    sbuf_deinit(&crt);
    if (rc == 0)
        return 0;
refused:
    log_ratelim(&ca->rl, LOG_LEVEL_WARN, LOG_AGENT, "CA: renew refused: %s", e->msg);
    return -1;
}

/* Issue a certificate for the pubkey of item NAME in arr into j; -1 if absent. */
static int ca_issue_item(struct weft *w, enum spiffe_kind kind, const char *name, const char *pub,
                         int64_t ttl_s, struct json_w *j, struct weft_err *e)
{
    struct sbuf crt;
    int64_t not_after;
    sbuf_init(&crt);
    int rc = pki_issue_for_pubkey(w->ca->ca, kind, name, agent_now_s(w), ttl_s, pub, &crt,
                                  &not_after, e);
    if (rc == 0) {
        json_obj_begin(j);
        json_kv_str(j, "name", name);
        json_kv_str(j, "cert", sbuf_str(&crt));
        json_obj_end(j);
        w->ca->issued++;
    }
    sbuf_deinit(&crt);
    return rc;
}

/* Does the request carry a valid public key for the node and each service of the token? */
static int ca_enroll_check(const struct jsonv *body, const char *svcs, struct weft_err *e)
{
    char list[PKI_TOKEN_SVCS_MAX + 1];
    const struct jsonv *items = jsonv_get(body, "services");
    if (pki_pubkey_check(jsonv_str(jsonv_path(body, "node.pubkey"), NULL), e) != 0)
        return err_prefix(e, "node");
    snprintf(list, sizeof(list), "%s", svcs);
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        const char *pub = NULL;
        for (size_t i = 0; i < jsonv_len(items) && !pub; i++)
            if (strcmp(jsonv_str(jsonv_get(jsonv_at(items, i), "name"), ""), t) == 0)
                pub = jsonv_str(jsonv_get(jsonv_at(items, i), "pubkey"), NULL);
        if (pki_pubkey_check(pub, e) != 0)
            return err_prefix(e, "service %s", t);
    }
    return 0;
}

/*
 * enroll (no client certificate needed): a new node presents a token's
 * secret and its public keys; the token is consumed atomically (once, even
 * across restarts) and the node gets its node and service certificates and
 * the trust bundle. Unknown, used and expired tokens are refused and counted.
 */
static int ca_enroll(void *ud, const struct ctl_call *call, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    struct agent_ca *ca = w->ca;
    char hash[65], node[SPIFFE_NAME_MAX + 1], svcs[PKI_TOKEN_SVCS_MAX + 1], when[21];
    int64_t at = 0, now = agent_now_s(w);
    const char *secret = jsonv_str(jsonv_get(call->body, "secret"), NULL);
    if (!secret || strlen(secret) != PKI_TOKEN_SECRET_HEX || pki_token_hash(secret, hash, e) != 0) {
        ca->token_refused[STORE_TOKEN_UNKNOWN]++;
        err_set(e, "enroll: no valid token secret");
        goto refused;
    }
    /* Check the request against the token first (peek), so a malformed
     * request does not spend it; then consume atomically (which checks
     * again: a concurrent use between the two is refused there). */
    for (int consume = 0; consume < 2; consume++) {
        int r = consume ? store_token_consume(w->store, hash, now, node, sizeof(node), svcs,
                                              sizeof(svcs), &at, e)
                        : store_token_peek(w->store, hash, now, node, sizeof(node), svcs,
                                           sizeof(svcs), &at, e);
        if (r < 0)
            goto refused;
        if (r != STORE_TOKEN_OK) {
            ca->token_refused[r]++;
            pki_identity_time_iso(at, when);
            if (r == STORE_TOKEN_UNKNOWN)
                err_set(e, "enroll: unknown enrollment token");
            else if (r == STORE_TOKEN_USED)
                err_set(e,
                        "enroll: this enrollment token was already used (on %s); ask for a new "
                        "one (weft ca token)",
                        when);
            else
                err_set(e,
                        "enroll: this enrollment token expired on %s; ask for a new one (weft "
                        "ca token)",
                        when);
            goto refused;
        }
        if (!consume && ca_enroll_check(call->body, svcs, e) != 0) {
            ca->bad_request++;
            err_prefix(e, "enroll (the token was not used)");
            goto refused;
        }
    }
    struct sbuf body, bundle;
    struct json_w j;
    int rc = -1;
    const struct jsonv *items = jsonv_get(call->body, "services");
    sbuf_init(&body);
    sbuf_init(&bundle);
    json_w_init(&j, &body);
    json_obj_begin(&j);
    json_key(&j, "node");
    if (ca_issue_item(w, SPIFFE_NODE, node, jsonv_str(jsonv_path(call->body, "node.pubkey"), NULL),
                      w->cfg->ca.node_ttl_ms / 1000, &j, e) != 0)
        goto out;
    json_key(&j, "services");
    json_arr_begin(&j);
    char list[PKI_TOKEN_SVCS_MAX + 1];
    snprintf(list, sizeof(list), "%s", svcs);
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        const char *pub = NULL;
        for (size_t i = 0; i < jsonv_len(items) && !pub; i++)
            if (strcmp(jsonv_str(jsonv_get(jsonv_at(items, i), "name"), ""), t) == 0)
                pub = jsonv_str(jsonv_get(jsonv_at(items, i), "pubkey"), NULL);
        if (!pub) {
            err_set(e, "enroll: no public key for service %s", t);
            goto out;
        }
        if (ca_issue_item(w, SPIFFE_SVC, t, pub, w->cfg->ca.svc_ttl_ms / 1000, &j, e) != 0)
            goto out;
    }
    json_arr_end(&j);
    if (pki_ca_bundle_pem(ca->ca, &bundle, e) != 0)
        goto out;
    json_kv_str(&j, "bundle", sbuf_str(&bundle));
    json_kv_str(&j, "signer", ca->signer);
    json_obj_end(&j);
    sbuf_append(out, body.data, body.len);
    ca->enrolled++;
    log_info(LOG_AGENT, "CA: node %s enrolled with a token (services: %s)", node,
             svcs[0] ? svcs : "none");
    rc = 0;
out:
    sbuf_deinit(&body);
    sbuf_deinit(&bundle);
    if (rc == 0)
        return 0;
    ca->bad_request++;
refused:
    log_ratelim(&ca->rl, LOG_LEVEL_WARN, LOG_AGENT, "CA: enroll refused: %s", e->msg);
    return -1;
}

/* POST /v1/ca/token {"node": N, "services": "a,b", "ttl": "1h", "addr": "host:port"} */
static int ca_api_token(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    struct pki_ca_info info;
    char token[PKI_TOKEN_MAX], hash[65], when[21];
    int64_t ttl_ms = 3600 * 1000;
    if (!w->ca) {
        err_set(e, "this agent holds no CA: run it where [ca] dir is set");
        return 409;
    }
    struct jsonv *b = jsonv_parse(req->body, req->body_len, e);
    if (!b)
        return 400;
    int status = 400;
    const char *node = jsonv_str(jsonv_get(b, "node"), NULL);
    const char *svcs = jsonv_str(jsonv_get(b, "services"), "");
    const char *ttl = jsonv_str(jsonv_get(b, "ttl"), NULL);
    const char *addr = jsonv_str(jsonv_get(b, "addr"), w->cfg->control.listen);
    if (!node) {
        err_set(e, "\"node\" is required");
        goto out;
    }
    if (ttl && units_parse_duration_ms(ttl, &ttl_ms, e) != 0)
        goto out;
    if (ttl_ms < 60000 || ttl_ms > INT64_C(7) * 86400000) {
        err_set(e, "ttl must be between 1m and 7d");
        goto out;
    }
    if (!addr) {
        err_set(e, "[control] listen is not set: pass the CA's control address (addr)");
        goto out;
    }
    if (pki_ca_info_read(w->cfg->ca.dir, &info, e) != 0) {
        status = 500;
        goto out;
    }
    int64_t now = agent_now_s(w), exp = now + ttl_ms / 1000;
    if (pki_token_new(info.fingerprint, node, svcs, addr, token, sizeof(token), hash, e) != 0)
        goto out;
    if (store_token_add(w->store, hash, node, svcs, now, exp, e) != 0) {
        status = 500;
        goto out;
    }
    w->ca->tokens++;
    pki_identity_time_iso(exp, when);
    log_info(LOG_AGENT, "CA: enrollment token for node %s (services: %s) until %s", node,
             svcs[0] ? svcs : "none", when);
    struct json_w j;
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_kv_str(&j, "token", token);
    json_kv_str(&j, "node", node);
    json_kv_str(&j, "services", svcs);
    json_kv_str(&j, "expires", when);
    json_kv_str(&j, "ca_fingerprint", info.fingerprint);
    json_kv_str(&j, "addr", addr);
    json_obj_end(&j);
    memset(token, 0, sizeof(token));
    status = 200;
out:
    jsonv_free(b);
    return status;
}

int agent_ca_api(struct weft *w)
{
    if (admin_route(w->admin, ADMIN_POST, "/v1/ca/token", ca_api_token, w) != 0 ||
        agent_revoke_api(w) != 0)
        return -1;
    return agent_rotate_api(w);
}

int agent_ca_start(struct weft *w, struct weft_err *e)
{
    const char *dir = w->cfg->ca.dir;
    if (!dir)
        return 0;
    struct agent_ca *ca = calloc(1, sizeof(*ca));
    if (!ca)
        return err_set(e, "out of memory");
    ca->rl = (struct log_ratelim)LOG_RATELIM_INIT(10000, 5);
    if (!(ca->ca = pki_ca_load(dir, e))) {
        free(ca);
        return err_prefix(e, "[ca] dir");
    }
    if (strcmp(pki_ca_trust_domain(ca->ca), w->cfg->node.trust_domain) != 0) {
        err_set(e, "[ca] dir %s: the CA's trust domain '%s' is not [node] trust_domain '%s'", dir,
                pki_ca_trust_domain(ca->ca), w->cfg->node.trust_domain);
        pki_ca_free(ca->ca);
        free(ca);
        return -1;
    }
    if (pki_ca_fingerprint(ca->ca, ca->signer, e) != 0) {
        pki_ca_free(ca->ca);
        free(ca);
        return -1;
    }
    w->ca = ca;
    if (!w->ctl) {
        log_warn(LOG_AGENT, "[ca] dir is set but [control] listen is not: nobody can renew here");
        return 0;
    }
    if (ctl_server_method(w->ctl, "renew", ca_renew, w) != 0 ||
        ctl_server_method_anonymous(w->ctl, "enroll", ca_enroll, w) != 0)
        return err_set(e, "cannot register the CA's methods");
    log_info(LOG_AGENT, "CA for %s: answering renew on the control listener",
             pki_ca_trust_domain(ca->ca));
    return agent_bundle_publish(w, e);
}

int agent_ca_reload(struct weft *w, struct weft_err *e)
{
    char fp[65];
    struct pki_ca *next = pki_ca_load(w->cfg->ca.dir, e);
    if (!next)
        return err_prefix(e, "[ca] dir");
    if (pki_ca_fingerprint(next, fp, e) != 0) {
        pki_ca_free(next);
        return -1;
    }
    pki_ca_free(w->ca->ca);
    w->ca->ca = next;
    memcpy(w->ca->signer, fp, sizeof(fp));
    w->ca->rotations++;
    return 0;
}

int agent_ca_bundle_pem(const struct weft *w, struct sbuf *out, struct weft_err *e)
{
    return pki_ca_bundle_pem(w->ca->ca, out, e);
}

int agent_ca_statement(struct weft *w, const char *kind, const char *name, const char *payload,
                       struct sbuf *out, struct weft_err *e)
{
    return pki_statement_sign(w->ca->ca, kind, name, payload, out, e);
}

const char *agent_ca_signer(const struct weft *w)
{
    return w->ca ? w->ca->signer : NULL;
}

void agent_ca_stop(struct weft *w)
{
    if (!w->ca)
        return;
    pki_ca_free(w->ca->ca);
    free(w->ca);
    w->ca = NULL;
}

void agent_ca_status(const struct weft *w, struct json_w *j)
{
    const struct agent_ca *ca = w->ca;
    json_key(j, "ca");
    if (!ca) {
        json_null(j);
        return;
    }
    json_obj_begin(j);
    json_kv_str(j, "trust_domain", pki_ca_trust_domain(ca->ca));
    json_kv_str(j, "signer", ca->signer);
    json_kv_uint(j, "renewals", ca->renewals);
    json_kv_uint(j, "checkins", ca->checkins);
    json_kv_uint(j, "rotation_steps", ca->rotations);
    json_kv_uint(j, "issued", ca->issued);
    json_kv_uint(j, "enrolled_by_proof", ca->proofs);
    json_kv_uint(j, "tokens", ca->tokens);
    json_kv_uint(j, "enrolled_by_token", ca->enrolled);
    json_key(j, "refused");
    json_obj_begin(j);
    json_kv_uint(j, "not_enrolled", ca->not_enrolled);
    json_kv_uint(j, "bad_request", ca->bad_request);
    json_kv_uint(j, "revoked", ca->revoked);
    json_kv_uint(j, "token_unknown", ca->token_refused[STORE_TOKEN_UNKNOWN]);
    json_kv_uint(j, "token_used", ca->token_refused[STORE_TOKEN_USED]);
    json_kv_uint(j, "token_expired", ca->token_refused[STORE_TOKEN_EXPIRED]);
    json_obj_end(j);
    json_obj_end(j);
}
