/*
 * agent_rotate: root rotation driven by the online CA (docs/identity.md
 * "Root rotation"). pki/ca_rotate.c moves the files; this file decides
 * whether the mesh is ready for the next step, takes it, and reloads the CA.
 *
 *   GET  /v1/ca/rotation                    where the rotation is, per node
 *   POST /v1/ca/rotate {"step": "add" | "activate" | "retire",
 *                       "days": N, "force": false}
 *
 * Readiness comes from what each node last reported with `renew` (its
 * periodic check-in: the roots it trusts and the roots its certificates
 * chain to; table ca_nodes): `activate` waits until every node the CA knows
 * trusts the next root, `retire` until every node's certificates all chain
 * to the active one. A node that never reported (enrolled, silent) blocks
 * both: `force` overrides, and the answer names the nodes that block.
 *
 * Allocation: nothing outlives a request.
 */
#include "admin/admin.h"
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/json.h"
#include "core/jsonv.h"
#include "core/log.h"
#include "pki/ca_rotate.h"
#include "pki/identity.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Is fp one of the comma-separated fingerprints in list? */
static bool rot_list_has(const char *list, const char *fp)
{
    size_t n = strlen(fp);
    for (const char *p = list; p && *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && memcmp(p, fp, n) == 0)
            return true;
        p = c ? c + 1 : NULL;
    }
    return false;
}

/* Does every fingerprint of list equal fp (and is there one)? */
static bool rot_list_only(const char *list, const char *fp)
{
    return list[0] && strcmp(list, fp) == 0;
}

struct rot_walk {
    const struct pki_ca_rotation *rot;
    struct json_w *j; /* NULL: count only */
    size_t nodes, blocking;
    char first_blocking[8][64];
};

/* Is node n ready for the step after phase? */
static bool rot_node_ready(const struct pki_ca_rotation *rot, const struct store_ca_node *n)
{
    if (rot->phase == PKI_CA_ADDED)
        return rot_list_has(n->roots, rot->roots[1].fingerprint);
    if (rot->phase == PKI_CA_ACTIVATED)
        return rot_list_only(n->issuers, rot->roots[0].fingerprint);
    return true;
}

static void rot_json_fps(struct json_w *j, const char *key, const char *list)
{
    char one[65];
    json_key(j, key);
    json_arr_begin(j);
    for (const char *p = list; p && *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        snprintf(one, sizeof(one), "%.*s", (int)(len < 64 ? len : 64), p);
        json_str(j, one);
        p = c ? c + 1 : NULL;
    }
    json_arr_end(j);
}

static int rot_each(void *ud, const struct store_ca_node *n)
{
    struct rot_walk *rw = ud;
    bool ready = rot_node_ready(rw->rot, n);
    rw->nodes++;
    if (!ready) {
        if (rw->blocking < sizeof(rw->first_blocking) / sizeof(rw->first_blocking[0]))
            snprintf(rw->first_blocking[rw->blocking], sizeof(rw->first_blocking[0]), "%s",
                     n->node);
        rw->blocking++;
    }
    if (!rw->j)
        return 0;
    char t[21];
    json_obj_begin(rw->j);
    json_kv_str(rw->j, "node", n->node);
    if (n->seen_s) {
        pki_identity_time_iso(n->seen_s, t);
        json_kv_str(rw->j, "seen", t);
    } else {
        json_kv_str(rw->j, "seen", NULL);
    }
    rot_json_fps(rw->j, "trusts", n->roots);
    rot_json_fps(rw->j, "issued_by", n->issuers);
    json_kv_bool(rw->j, "ready", ready);
    json_obj_end(rw->j);
    return 0;
}

static const char *rot_next_step(enum pki_ca_phase p)
{
    return p == PKI_CA_ADDED ? "activate" : p == PKI_CA_ACTIVATED ? "retire" : "add";
}

/* The rotation's state as JSON into out. */
static int rot_status(struct weft *w, const struct pki_ca_rotation *rot, struct sbuf *out,
                      struct weft_err *e)
{
    struct json_w j;
    struct rot_walk rw = {.rot = rot, .j = &j};
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_kv_str(&j, "phase", pki_ca_phase_name(rot->phase));
    json_kv_str(&j, "next_step", rot_next_step(rot->phase));
    json_key(&j, "roots");
    json_arr_begin(&j);
    for (size_t i = 0; i < rot->nroots; i++) {
        json_obj_begin(&j);
        json_kv_str(&j, "role", rot->roles[i]);
        json_kv_str(&j, "fingerprint", rot->roots[i].fingerprint);
        json_kv_str(&j, "subject", rot->roots[i].subject);
        json_kv_str(&j, "not_after", rot->roots[i].not_after);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_key(&j, "nodes");
    json_arr_begin(&j);
    if (store_ca_node_each(w->store, rot_each, &rw, e) != 0)
        return -1;
    json_arr_end(&j);
    json_kv_bool(&j, "ready", rw.blocking == 0);
    json_kv_uint(&j, "waiting_for", rw.blocking);
    json_obj_end(&j);
    return out->oom ? err_set(e, "out of memory") : 0;
}

static int rot_api_status(void *ud, const struct admin_req *req, struct sbuf *out,
                          struct weft_err *e)
{
    struct weft *w = ud;
    struct pki_ca_rotation rot;
    (void)req;
    if (!w->ca) {
        err_set(e, "this agent holds no CA: run it where [ca] dir is set");
        return 409;
    }
    if (pki_ca_rotation_read(w->cfg->ca.dir, &rot, e) != 0 || rot_status(w, &rot, out, e) != 0)
        return 500;
    return 200;
}

/* Refuse a step the mesh is not ready for (unless forced): 0 ready, 409. */
static int rot_gate(struct weft *w, const struct pki_ca_rotation *rot, bool force,
                    struct weft_err *e)
{
    struct rot_walk rw = {.rot = rot};
    if (store_ca_node_each(w->store, rot_each, &rw, e) != 0)
        return 500;
    if (rw.blocking == 0)
        return 0;
    char names[600] = "";
    for (size_t i = 0; i < rw.blocking && i < 8; i++) {
        size_t len = strlen(names);
        snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "", rw.first_blocking[i]);
    }
    if (force) {
        log_warn(LOG_AGENT, "CA: root rotation step forced although %zu node%s not ready: %s%s",
                 rw.blocking, rw.blocking == 1 ? " is" : "s are", names,
                 rw.blocking > 8 ? ", ..." : "");
        return 0;
    }
    err_set(e,
            "%zu of %zu node%s not ready for %s (%s: %s%s): wait for their next check-in "
            "([identity] check_interval), see `weft ca rotate status`, or force it",
            rw.blocking, rw.nodes, rw.nodes == 1 ? " is" : "s are", rot_next_step(rot->phase),
            rot->phase == PKI_CA_ADDED ? "not trusting the next root yet"
                                       : "holding certificates of the previous root",
            names, rw.blocking > 8 ? ", ..." : "");
    return 409;
}

static int rot_api_step(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct weft *w = ud;
    struct pki_ca_rotation rot;
    if (!w->ca) {
        err_set(e, "this agent holds no CA: run it where [ca] dir is set");
        return 409;
    }
    if (w->ident && !w->cfg->identity.ca) {
        err_set(e, "this node would not learn the new root: set [identity] ca to its own "
                   "[control] listen, so it renews and checks in like every other node");
        return 409;
    }
    struct jsonv *b = jsonv_parse(req->body, req->body_len, e);
    if (!b)
        return 400;
    int status = 400;
    const char *step = jsonv_str(jsonv_get(b, "step"), "");
    bool force = jsonv_bool(jsonv_get(b, "force"), false);
    int64_t days = jsonv_int(jsonv_get(b, "days"), PKI_CA_DAYS_DEFAULT);
    const char *dir = w->cfg->ca.dir;
    if (pki_ca_rotation_read(dir, &rot, e) != 0) {
        status = 500;
        goto out;
    }
    int rc;
    if (strcmp(step, "add") == 0) {
        if (days < 1 || days > PKI_CA_DAYS_MAX) {
            err_set(e, "days: want 1 to %d", PKI_CA_DAYS_MAX);
            goto out;
        }
        rc = pki_ca_rotate_add(dir, (int)days, agent_now_s(w), e);
    } else if (strcmp(step, "activate") == 0 || strcmp(step, "retire") == 0) {
        bool act = step[0] == 'a';
        if (rot.phase != (act ? PKI_CA_ADDED : PKI_CA_ACTIVATED)) {
            err_set(e, "nothing to %s: the rotation phase is %s (next step: %s)", step,
                    pki_ca_phase_name(rot.phase), rot_next_step(rot.phase));
            status = 409;
            goto out;
        }
        if ((status = rot_gate(w, &rot, force, e)) != 0)
            goto out;
        status = 400;
        rc = act ? pki_ca_rotate_activate(dir, e) : pki_ca_rotate_retire(dir, e);
    } else {
        err_set(e, "\"step\" must be add, activate or retire");
        goto out;
    }
    if (rc != 0 || agent_ca_reload(w, e) != 0 || pki_ca_rotation_read(dir, &rot, e) != 0) {
        status = 500;
        goto out;
    }
    log_info(LOG_AGENT, "CA: root rotation: %s done; phase %s, signing with %.16s...", step,
             pki_ca_phase_name(rot.phase), agent_ca_signer(w));
    /* Nodes learn the new bundle from the mesh too (agent_bundle.c). */
    struct weft_err be = {{0}};
    if (agent_bundle_publish(w, &be) != 0)
        log_error(LOG_AGENT, "CA: publishing the trust bundle to the mesh: %s", be.msg);
    status = rot_status(w, &rot, out, e) == 0 ? 200 : 500;
out:
    jsonv_free(b);
    return status;
}

int agent_rotate_api(struct weft *w)
{
    if (admin_route(w->admin, ADMIN_GET, "/v1/ca/rotation", rot_api_status, w) != 0 ||
        admin_route(w->admin, ADMIN_POST, "/v1/ca/rotate", rot_api_step, w) != 0)
        return -1;
    return 0;
}
