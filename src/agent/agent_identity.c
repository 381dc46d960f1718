/*
 * agent_identity: the agent holds its identity (docs/identity.md, "The
 * agent's identity").
 *
 * At start, when [identity] bundle is set: the bundle directory and the
 * store's copy are both read and checked (pki/identity.h); the one to use is
 * chosen (the store's, unless the bundle's node certificate is a different
 * one that expires no earlier), an expired node certificate stops the start,
 * and a chosen bundle is written to the store before the agent is ready.
 * Then, at start and once a day: a warning from PKI_IDENT_WARN_S before the
 * node certificate expires, and one per expired service certificate.
 *
 * Serves GET /v1/certs and the "identity" object of /v1/status. Keys never
 * leave pki/ and the store: nothing here logs or serves them.
 */
#include "admin/admin.h"
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/units.h"
#include "pki/identity.h"

#include <event2/event.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define AGENT_IDENT_CHECK_MS (24 * 3600 * 1000)

int64_t agent_now_s(const struct weft *w)
{
    return (clock_wall_ms() + w->clock_offset_ms) / 1000;
}

/* [debug] clock_offset: honoured only with [admin] debug, and loudly. */
static void agent_ident_clock_offset(struct weft *w)
{
    int64_t off = w->cfg->debug.clock_offset_ms;
    char d[32];
    if (!off)
        return;
    units_format_duration(off, d, sizeof(d));
    if (!w->cfg->admin.debug) {
        log_warn(LOG_AGENT, "[debug] clock_offset = %s ignored: it needs [admin] debug = true", d);
        return;
    }
    w->clock_offset_ms = off;
    log_warn(LOG_AGENT,
             "DEBUG: certificates are judged and issued by a clock %s ahead of the wall clock "
             "([debug] clock_offset): never in production",
             d);
}

/* The expiry warnings: node soon to expire (or expired, while running),
 * expired services. */
static void agent_ident_warn(const struct weft *w)
{
    const struct pki_identity *id = w->ident;
    int64_t now = agent_now_s(w);
    char when[21];
    const struct pki_ident *n = &id->idents[0];
    pki_identity_time_iso(n->not_after, when);
    if (n->not_after <= now)
        log_error(LOG_AGENT,
                  "node certificate %s expired on %s: re-enroll this node (weft ca issue "
                  "--ca CA_DIR --node %s ..., then point [identity] bundle at it)",
                  n->spiffe_id, when, n->name);
    else if (n->not_after - now <= PKI_IDENT_WARN_S)
        log_warn(LOG_AGENT,
                 "node certificate %s expires on %s (in %lld h): re-enroll this node (weft ca "
                 "issue --ca CA_DIR --node %s ..., then point [identity] bundle at it)",
                 n->spiffe_id, when, (long long)((n->not_after - now) / 3600), n->name);
    for (size_t i = 1; i < id->nidents; i++) {
        const struct pki_ident *s = &id->idents[i];
        if (s->not_after > now)
            continue;
        pki_identity_time_iso(s->not_after, when);
        if (w->cfg->identity.ca)
            log_warn(LOG_AGENT,
                     "service certificate %s expired on %s; renewing it with the CA at %s",
                     s->spiffe_id, when, w->cfg->identity.ca);
        else
            log_warn(LOG_AGENT,
                     "service certificate %s expired on %s; not renewed: set [identity] ca to "
                     "renew online, or issue a new bundle",
                     s->spiffe_id, when);
    }
}

static void agent_ident_on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    agent_ident_warn(arg);
}

/* Does dir exist? 1 yes, 0 no (ENOENT), -1 another error. */
static int agent_ident_dir_exists(const char *dir, struct weft_err *e)
{
    struct stat sb;
    if (stat(dir, &sb) == 0)
        return 1;
    if (errno == ENOENT)
        return 0;
    return err_set(e, "[identity] bundle %s: %s", dir, strerror(errno));
}

static int agent_ident_timer(struct weft *w, struct weft_err *e)
{
    agent_ident_warn(w);
    w->ev_ident = event_new(w->base, -1, EV_PERSIST, agent_ident_on_timer, w);
    if (!w->ev_ident || loop_timer_add(w->ev_ident, AGENT_IDENT_CHECK_MS) != 0)
        return err_set(e, "cannot arm the daily certificate check");
    return 0;
}

/* [identity] token without a bundle: the store's identity, or enroll once. */
static int agent_ident_from_token(struct weft *w, struct weft_err *e)
{
    const char *node = w->cfg->node.name, *td = w->cfg->node.trust_domain;
    if (pki_identity_load_store(w->store, node, td, &w->ident, e) != 0)
        return -1;
    if (w->ident && pki_identity_check_expiry(w->ident, agent_now_s(w), e) != 0) {
        /* Re-enrollment: the operator put a (new) token in the config. */
        log_warn(LOG_AGENT, "%s; enrolling again with [identity] token", e->msg);
        err_clear(e);
        pki_identity_free(w->ident);
        w->ident = NULL;
    }
    if (w->ident) {
        w->ident_source = "store";
        log_info(LOG_AGENT,
                 "identity %s from the store: already enrolled, [identity] token is no longer "
                 "used",
                 w->ident->idents[0].spiffe_id);
    } else {
        if (agent_enroll(w, &w->ident, e) != 0)
            return -1;
        w->ident_source = "enrollment";
    }
    if (pki_identity_check_expiry(w->ident, agent_now_s(w), e) != 0)
        return -1;
    return agent_ident_timer(w, e);
}

int agent_identity_start(struct weft *w, struct weft_err *e)
{
    const char *dir = w->cfg->identity.bundle;
    const char *node = w->cfg->node.name, *td = w->cfg->node.trust_domain;
    struct pki_identity *disk = NULL, *stored = NULL;
    struct weft_err se = {{0}};
    char when[21];
    agent_ident_clock_offset(w);
    if (!dir && !w->cfg->identity.token)
        return 0; /* no [identity]: the agent runs without one */
    if (!dir)
        return agent_ident_from_token(w, e);

    int exists = agent_ident_dir_exists(dir, e);
    if (exists < 0)
        return -1;
    if (exists && !(disk = pki_identity_load_dir(dir, node, td, e)))
        return -1;
    if (pki_identity_load_store(w->store, node, td, &stored, &se) != 0) {
        if (!disk) {
            err_set(e, "%s", se.msg);
            return -1;
        }
        log_warn(LOG_AGENT, "%s; replacing it with bundle %s", se.msg, dir);
    }
    if (!disk && !stored)
        return err_set(e,
                       "[identity] bundle %s does not exist and the store holds no identity: "
                       "issue one with `weft ca issue --ca CA_DIR --node %s --out DIR`",
                       dir, node);

    bool from_disk = disk && (!stored || pki_identity_newer(disk, stored));
    if (disk && stored && !from_disk &&
        strcmp(disk->idents[0].serial, stored->idents[0].serial) != 0) {
        pki_identity_time_iso(disk->idents[0].not_after, when);
        log_warn(LOG_AGENT,
                 "bundle %s is older than the identity in the store (its node certificate "
                 "expires on %s, earlier): keeping the store's",
                 dir, when);
    }
    w->ident = from_disk ? disk : stored;
    pki_identity_free(from_disk ? stored : disk);
    w->ident_source = from_disk ? "bundle" : "store";
    if (!exists)
        log_info(LOG_AGENT, "bundle %s is gone: using the identity kept in the store", dir);

    if (pki_identity_check_expiry(w->ident, agent_now_s(w), e) != 0)
        return -1;
    if (from_disk && pki_identity_save(w->ident, w->store, e) != 0)
        return -1;

    const struct pki_ident *n = &w->ident->idents[0];
    pki_identity_time_iso(n->not_after, when);
    log_info(
        LOG_AGENT, "identity %s (serial %s, expires %s, %zu service%s, %zu root%s) from %s%s%s",
        n->spiffe_id, n->serial, when, w->ident->nidents - 1, w->ident->nidents == 2 ? "" : "s",
        w->ident->nroots, w->ident->nroots == 1 ? "" : "s", from_disk ? "bundle " : "the store",
        from_disk ? dir : "", from_disk && stored ? " (replaces the store's)" : "");
    return agent_ident_timer(w, e);
}

int agent_identity_replace(struct weft *w, struct pki_identity *id, struct weft_err *e)
{
    if (pki_identity_save(id, w->store, e) != 0) {
        pki_identity_free(id);
        return err_prefix(e, "storing the renewed identity");
    }
    /* The control listener's conf holds the node certificate and the roots. */
    bool node_changed = strcmp(id->idents[0].serial, w->ident->idents[0].serial) != 0 ||
                        !pki_identity_same_roots(id, w->ident);
    pki_identity_free(w->ident);
    w->ident = id;
    w->ident_source = "renewal";
    if (node_changed)
        agent_ctl_identity_changed(w);
    agent_proxy_identity_changed(w); /* service certificates change too */
    return 0;
}

void agent_identity_reload(struct weft *w)
{
    const char *dir = w->cfg->identity.bundle;
    const char *node = w->cfg->node.name, *td = w->cfg->node.trust_domain;
    struct weft_err e = {{0}};
    char when[21];
    if (!dir)
        return;
    if (!w->ident) {
        log_warn(LOG_AGENT,
                 "SIGHUP: [identity] bundle %s is set but the agent started without "
                 "an identity: restart to take it",
                 dir);
        return;
    }
    struct pki_identity *disk = pki_identity_load_dir(dir, node, td, &e);
    if (!disk) {
        log_error(LOG_AGENT, "SIGHUP: %s; keeping the running identity", e.msg);
        return;
    }
    const struct pki_ident *d = &disk->idents[0];
    if (strcmp(d->serial, w->ident->idents[0].serial) == 0) {
        log_info(LOG_AGENT, "SIGHUP: bundle %s holds the running node certificate: nothing to do",
                 dir);
        pki_identity_free(disk);
        return;
    }
    if (!pki_identity_newer(disk, w->ident)) {
        pki_identity_time_iso(d->not_after, when);
        log_warn(LOG_AGENT,
                 "SIGHUP: bundle %s is older than the running identity (its node certificate "
                 "expires on %s, earlier): keeping the running one",
                 dir, when);
        pki_identity_free(disk);
        return;
    }
    if (pki_identity_check_expiry(disk, agent_now_s(w), &e) != 0) {
        log_error(LOG_AGENT, "SIGHUP: bundle %s: %s; keeping the running identity", dir, e.msg);
        pki_identity_free(disk);
        return;
    }
    char serial[PKI_IDENT_SERIAL_MAX];
    snprintf(serial, sizeof(serial), "%s", d->serial);
    size_t nsvc = disk->nidents - 1;
    if (agent_identity_replace(w, disk, &e) != 0) {
        log_error(LOG_AGENT, "SIGHUP: %s; keeping the running identity", e.msg);
        return;
    }
    w->ident_source = "bundle";
    log_info(LOG_AGENT, "SIGHUP: identity replaced from bundle %s (node serial %s, %zu service%s)",
             dir, serial, nsvc, nsvc == 1 ? "" : "s");
    agent_renew_reschedule(w);
}

void agent_identity_stop(struct weft *w)
{
    if (w->ev_ident)
        event_free(w->ev_ident);
    w->ev_ident = NULL;
    pki_identity_free(w->ident);
    w->ident = NULL;
}

/* The identity whose certificate expires first, or NULL. */
static const struct pki_ident *agent_ident_soonest(const struct pki_identity *id)
{
    const struct pki_ident *best = NULL;
    for (size_t i = 0; id && i < id->nidents; i++)
        if (!best || id->idents[i].not_after < best->not_after)
            best = &id->idents[i];
    return best;
}

void agent_identity_status(const struct weft *w, struct json_w *j)
{
    json_key(j, "identity");
    if (!w->ident) {
        json_null(j);
        return;
    }
    int64_t now = agent_now_s(w);
    const struct pki_ident *s = agent_ident_soonest(w->ident);
    char when[21];
    size_t expired = 0;
    for (size_t i = 0; i < w->ident->nidents; i++)
        expired += w->ident->idents[i].not_after <= now;
    pki_identity_time_iso(s->not_after, when);
    json_obj_begin(j);
    json_kv_str(j, "node", w->ident->idents[0].spiffe_id);
    json_kv_str(j, "source", w->ident_source);
    json_kv_uint(j, "services", (uint64_t)(w->ident->nidents - 1));
    json_kv_uint(j, "expired", (uint64_t)expired);
    json_kv_str(j, "soonest", s->spiffe_id);
    json_kv_str(j, "soonest_not_after", when);
    json_kv_int(j, "soonest_seconds_left", s->not_after - now);
    agent_renew_status(w, j);
    json_obj_end(j);
}

static int agent_api_certs(void *ud, const struct admin_req *req, struct sbuf *out,
                           struct weft_err *e)
{
    const struct weft *w = ud;
    const struct pki_identity *id = w->ident;
    struct json_w j;
    char t[21];
    int64_t now = agent_now_s(w);
    (void)req;
    (void)e;
    json_w_init(&j, out);
    json_obj_begin(&j);
    json_kv_str(&j, "source", id ? w->ident_source : NULL);
    json_key(&j, "identities");
    json_arr_begin(&j);
    for (size_t i = 0; id && i < id->nidents; i++) {
        const struct pki_ident *it = &id->idents[i];
        json_obj_begin(&j);
        json_kv_str(&j, "kind", spiffe_kind_name(it->kind));
        json_kv_str(&j, "name", it->name);
        json_kv_str(&j, "spiffe_id", it->spiffe_id);
        json_kv_str(&j, "serial", it->serial);
        pki_identity_time_iso(it->not_before, t);
        json_kv_str(&j, "not_before", t);
        pki_identity_time_iso(it->not_after, t);
        json_kv_str(&j, "not_after", t);
        json_kv_int(&j, "seconds_left", it->not_after - now);
        json_kv_str(&j, "issuer_fingerprint", it->issuer_fp);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_key(&j, "trust_roots");
    json_arr_begin(&j);
    for (size_t i = 0; id && i < id->nroots; i++) {
        const struct pki_root *r = &id->roots[i];
        json_obj_begin(&j);
        json_kv_str(&j, "subject", r->subject);
        json_kv_str(&j, "fingerprint", r->fingerprint);
        pki_identity_time_iso(r->not_after, t);
        json_kv_str(&j, "not_after", t);
        json_kv_int(&j, "seconds_left", r->not_after - now);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_obj_end(&j);
    return 200;
}

int agent_identity_api(struct weft *w)
{
    if (admin_route(w->admin, ADMIN_GET, "/v1/certs", agent_api_certs, w) != 0)
        return -1;
    return agent_ctl_api(w);
}
