/*
 * agent_renew: the node renews its certificates online ([identity] ca;
 * docs/identity.md, "The CA service and renewal").
 *
 * When: each certificate at pki_renew_at() (2/3 of its lifetime, minus a
 * per-certificate jitter of up to 1/30 of it), judged by agent_now_s() (the
 * wall clock plus the debug offset). One timer, armed for the earliest such
 * point; when it fires every certificate that is due is renewed in one
 * `renew` call over the control RPC, authenticated with the node
 * certificate. A failure retries with pki_renew_backoff_ms() (2 s doubling
 * to 5 min), never later than the next due point.
 *
 * At start (before READY): whatever is due (expired while the node was off,
 * or past 2/3) is renewed first, waiting at most [identity] start_wait; if
 * the CA cannot be reached the agent starts with what it has, logs so, shows
 * it in /v1/status and keeps retrying.
 *
 * How: a new key pair per certificate is made here (the private key never
 * leaves the node; pki/renew.h); the request carries the public keys, and for
 * each service the current certificate with a proof of possession. The reply's
 * certificates replace the old ones in a copy of the identity, which is
 * checked (chain, SPIFFE IDs, keys), stored durably, and only then swapped in
 * (agent_identity_replace); new handshakes of the control listener then use
 * a renewed node certificate.
 *
 * Allocation: w->renew owns its timers, the call in flight, its client conf
 * and the pending new keys (wiped when released).
 */
#include "agent/agent_types.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/jsonv.h"
#include "core/log.h"
#include "core/loop.h"
#include "ctl/ctl_client.h"
#include "pki/bundle.h"
#include "pki/identity.h"
#include "pki/renew.h"
#include "tls/tls_conf.h"

#include <event2/event.h>

#include <stdlib.h>
#include <string.h>

/* One certificate being renewed: where it goes and its new private key. */
struct renew_pend {
    size_t idx; /* in w->ident->idents; SIZE_MAX: a debug request for a service not held */
    struct sbuf key_pem;
};

struct agent_renew {
    struct weft *w;
    struct event *timer;
    struct event *checkin; /* every [identity] check_interval (jittered) */
    struct ctl_client_call *call;
    struct tls_conf *conf; /* the client conf of the call in flight */
    struct renew_pend pend[PKI_BUNDLE_SERVICES_MAX + 2];
    size_t npend;
    unsigned failures; /* in a row */
    uint64_t ok, failed;
    char last_error[WEFT_ERR_MAX];
    int64_t last_ok_s; /* agent clock, 0: never */
    int64_t next_s;    /* when the timer fires (agent clock), 0: not armed */
    const char *start; /* "not_needed", "ok", "failed" */
    char signer[65];   /* the CA's signing root as last heard, "" unknown */
    uint64_t checkins;
    uint64_t bundle_updates;
};

static void renew_pend_clear(struct agent_renew *r)
{
    for (size_t i = 0; i < r->npend; i++) {
        struct sbuf *k = &r->pend[i].key_pem;
        if (k->data)
            memset(k->data, 0, k->cap);
        sbuf_deinit(k);
    }
    r->npend = 0;
}

/*
 * When is it due (agent clock)? At its renewal point, or now if the CA signs
 * with another root we trust (a root rotation was activated: every
 * certificate is re-issued from the new root).
 */
static int64_t renew_due_at(const struct agent_renew *r, const struct pki_identity *id,
                            const struct pki_ident *it)
{
    if (r->signer[0] && strcmp(it->issuer_fp, r->signer) != 0 &&
        pki_identity_has_root(id, r->signer))
        return 0;
    return pki_renew_at(it->not_before, it->not_after, it->serial);
}

/* The earliest renewal point of the identity (agent clock). */
static int64_t renew_next_due(const struct agent_renew *r, const struct pki_identity *id)
{
    int64_t best = INT64_MAX;
    for (size_t i = 0; i < id->nidents; i++) {
        int64_t at = renew_due_at(r, id, &id->idents[i]);
        if (at < best)
            best = at;
    }
    return best;
}

static void renew_arm(struct agent_renew *r, int64_t delay_s)
{
    if (delay_s < 0)
        delay_s = 0;
    r->next_s = agent_now_s(r->w) + delay_s;
    loop_timer_add(r->timer, delay_s * 1000);
}

/* Arm the timer for the next due point, or for the backoff after failures. */
static void renew_schedule(struct agent_renew *r)
{
    int64_t now = agent_now_s(r->w);
    int64_t due = renew_next_due(r, r->w->ident) - now;
    if (r->failures) {
        int64_t back = pki_renew_backoff_ms(r->failures) / 1000;
        if (due > back)
            due = back;
    }
    renew_arm(r, due);
}

static void renew_failed(struct agent_renew *r, const char *msg)
{
    r->failed++;
    r->failures++;
    snprintf(r->last_error, sizeof(r->last_error), "%s", msg);
    log_error(LOG_AGENT, "certificate renewal failed (%u in a row), retrying in %lld s: %s",
              r->failures, (long long)(pki_renew_backoff_ms(r->failures) / 1000), msg);
}

/* Take the reply's certificates into a copy of the identity and install it. */
static int renew_apply(struct agent_renew *r, const struct jsonv *body, struct weft_err *e)
{
    struct weft *w = r->w;
    struct pki_identity *next = pki_identity_copy(w->ident);
    const struct jsonv *svcs = jsonv_get(body, "services");
    size_t renewed = 0;
    if (!next)
        return err_set(e, "out of memory");
    for (size_t i = 0; i < r->npend; i++) {
        const struct renew_pend *p = &r->pend[i];
        if (p->idx == SIZE_MAX)
            continue; /* debug: a service we do not hold; nothing to install */
        const struct pki_ident *it = &w->ident->idents[p->idx];
        const char *cert = NULL;
        if (it->kind == SPIFFE_NODE) {
            cert = jsonv_str(jsonv_path(body, "node.cert"), NULL);
        } else {
            for (size_t k = 0; k < jsonv_len(svcs) && !cert; k++)
                if (strcmp(jsonv_str(jsonv_get(jsonv_at(svcs, k), "name"), ""), it->name) == 0)
                    cert = jsonv_str(jsonv_get(jsonv_at(svcs, k), "cert"), NULL);
        }
        if (!cert) {
            pki_identity_free(next);
            return err_set(e, "the CA's reply has no certificate for %s", it->spiffe_id);
        }
        if (pki_identity_set_pem(next, p->idx, cert, sbuf_str(&p->key_pem), e) != 0) {
            pki_identity_free(next);
            return -1;
        }
        renewed++;
    }
    const char *bundle = jsonv_str(jsonv_get(body, "bundle"), NULL);
    if ((bundle && pki_identity_set_roots(next, bundle, e) != 0) ||
        pki_identity_check(next, w->cfg->node.name, w->cfg->node.trust_domain, e) != 0) {
        pki_identity_free(next);
        return err_prefix(e, "the CA's reply");
    }
    const char *signer = jsonv_str(jsonv_get(body, "signer"), "");
    if (strlen(signer) == 64 && pki_identity_has_root(next, signer))
        memcpy(r->signer, signer, sizeof(r->signer));
    bool roots_changed = !pki_identity_same_roots(next, w->ident);
    if (roots_changed) {
        char list[3 * 20 + 8] = "";
        for (size_t i = 0; i < next->nroots && i < 3; i++) {
            size_t len = strlen(list);
            snprintf(list + len, sizeof(list) - len, "%s%.16s", i ? ", " : "",
                     next->roots[i].fingerprint);
        }
        log_info(LOG_AGENT, "trust bundle from the CA: %zu root%s (%s%s), was %zu", next->nroots,
                 next->nroots == 1 ? "" : "s", list, next->nroots > 3 ? ", ..." : "",
                 w->ident->nroots);
        r->bundle_updates++;
    }
    if (renewed == 0) {
        if (!roots_changed) {
            pki_identity_free(next);
            return 0;
        }
        return agent_identity_replace(w, next, e);
    }
    /* Log each new certificate before the swap (next is consumed by it). */
    int64_t now = agent_now_s(w);
    for (size_t i = 0; i < r->npend; i++) {
        if (r->pend[i].idx == SIZE_MAX)
            continue;
        const struct pki_ident *it = &next->idents[r->pend[i].idx];
        char when[21];
        pki_identity_time_iso(it->not_after, when);
        log_info(LOG_AGENT, "renewed %s: serial %s, expires %s", it->spiffe_id, it->serial, when);
        if (pki_renew_at(it->not_before, it->not_after, it->serial) <= now)
            log_warn(LOG_AGENT,
                     "%s is already past its renewal point by this node's clock: is the clock "
                     "ahead of the CA's?",
                     it->spiffe_id);
    }
    if (agent_identity_replace(w, next, e) != 0)
        return -1;
    /* A certificate just renewed and still not from the signer would be due
     * again at once: report it, so the retry backs off instead of looping. */
    for (size_t i = 0; i < r->npend; i++) {
        const struct pki_ident *it =
            r->pend[i].idx == SIZE_MAX ? NULL : &w->ident->idents[r->pend[i].idx];
        if (it && renew_due_at(r, w->ident, it) <= now)
            return err_set(e,
                           "the CA issued %s from root %.16s..., not from the signing root it "
                           "names (%.16s...)",
                           it->spiffe_id, it->issuer_fp, r->signer);
    }
    return 0;
}

static void renew_done(void *ud, bool ok, const struct jsonv *body, const char *err)
{
    struct agent_renew *r = ud;
    struct weft_err e = {{0}};
    r->call = NULL;
    tls_conf_free(r->conf);
    r->conf = NULL;
    if (!ok) {
        renew_failed(r, err);
    } else if (renew_apply(r, body, &e) != 0) {
        renew_failed(r, e.msg);
    } else {
        r->ok++;
        r->failures = 0;
        r->last_error[0] = '\0';
        r->last_ok_s = agent_now_s(r->w);
    }
    renew_pend_clear(r);
    renew_schedule(r);
}

/* Add one service item (new key, and a proof when we hold the service). */
static int renew_add_svc(struct agent_renew *r, struct json_w *j, size_t idx, const char *name,
                         struct weft_err *e)
{
    const struct pki_identity *id = r->w->ident;
    if (r->npend >= sizeof(r->pend) / sizeof(r->pend[0]))
        return err_set(e, "too many certificates to renew at once");
    struct renew_pend *p = &r->pend[r->npend];
    struct sbuf pub, proof;
    sbuf_init(&p->key_pem);
    sbuf_init(&pub);
    sbuf_init(&proof);
    p->idx = idx;
    r->npend++;
    int rc = pki_renew_keypair(&p->key_pem, &pub, e);
    if (rc == 0 && idx != SIZE_MAX)
        rc = pki_renew_prove(id->idents[idx].key_pem, id->idents[0].spiffe_id, sbuf_str(&pub),
                             &proof, e);
    if (rc == 0) {
        json_obj_begin(j);
        json_kv_str(j, "name", name);
        json_kv_str(j, "pubkey", sbuf_str(&pub));
        if (idx != SIZE_MAX) {
            json_kv_str(j, "cert", id->idents[idx].cert_pem);
            json_kv_str(j, "proof", sbuf_str(&proof));
        }
        json_obj_end(j);
    }
    sbuf_deinit(&pub);
    sbuf_deinit(&proof);
    return rc;
}

/*
 * Start a renew call for what is due (all = everything; extra_svc: also a
 * service we may not hold, for the debug endpoint). Returns 1 if a call was
 * started, 0 if nothing was due, -1 on a local error (message in e).
 */
static int renew_begin(struct agent_renew *r, bool all, const char *extra_svc, bool checkin,
                       struct weft_err *e)
{
    struct weft *w = r->w;
    const struct pki_identity *id = w->ident;
    int64_t now = agent_now_s(w);
    struct sbuf body, pub;
    struct json_w j;
    int rc = -1;
    if (r->call)
        return err_set(e, "a renewal is already in flight");
    sbuf_init(&body);
    sbuf_init(&pub);
    json_w_init(&j, &body);
    json_obj_begin(&j);
    const struct pki_ident *n = &id->idents[0];
    /* What we trust and hold, for the CA's view of a root rotation. */
    json_key(&j, "roots");
    json_arr_begin(&j);
    for (size_t i = 0; i < id->nroots; i++)
        json_str(&j, id->roots[i].fingerprint);
    json_arr_end(&j);
    json_key(&j, "have");
    json_arr_begin(&j);
    for (size_t i = 0; i < id->nidents; i++) {
        json_obj_begin(&j);
        json_kv_str(&j, "id", id->idents[i].spiffe_id);
        json_kv_str(&j, "issuer", id->idents[i].issuer_fp);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    if (all || renew_due_at(r, id, n) <= now) {
        struct renew_pend *p = &r->pend[r->npend++];
        sbuf_init(&p->key_pem);
        p->idx = 0;
        if (pki_renew_keypair(&p->key_pem, &pub, e) != 0)
            goto out;
        json_key(&j, "node");
        json_obj_begin(&j);
        json_kv_str(&j, "pubkey", sbuf_str(&pub));
        json_obj_end(&j);
    }
    json_key(&j, "services");
    json_arr_begin(&j);
    for (size_t i = 1; i < id->nidents; i++) {
        const struct pki_ident *it = &id->idents[i];
        if ((all || renew_due_at(r, id, it) <= now) && renew_add_svc(r, &j, i, it->name, e) != 0)
            goto out;
    }
    if (extra_svc && renew_add_svc(r, &j, SIZE_MAX, extra_svc, e) != 0)
        goto out;
    json_arr_end(&j);
    json_obj_end(&j);
    if (r->npend == 0 && !checkin) {
        rc = 0;
        goto out;
    }
    if (!(r->conf = agent_ctl_conf(w, TLS_ROLE_CLIENT, e)))
        goto out;
    const struct config_control *cc = &w->cfg->control;
    struct ctl_client_opts o = {
        .handshake_ms = cc->handshake_ms,
        .request_ms = cc->request_ms,
        .frame_max = (size_t)cc->max_frame,
    };
    if (!(r->call = ctl_client_call(w->base, r->conf, w->cfg->identity.ca, "renew", sbuf_str(&body),
                                    &o, renew_done, r, e))) {
        tls_conf_free(r->conf);
        r->conf = NULL;
        goto out;
    }
    if (r->npend)
        log_info(LOG_AGENT, "renewing %zu certificate%s with the CA at %s", r->npend,
                 r->npend == 1 ? "" : "s", w->cfg->identity.ca);
    else
        r->checkins++;
    rc = 1;
out:
    if (rc != 1)
        renew_pend_clear(r);
    sbuf_deinit(&body);
    sbuf_deinit(&pub);
    return rc;
}

static void renew_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct agent_renew *r = arg;
    struct weft_err e = {{0}};
    (void)fd;
    (void)what;
    r->next_s = 0;
    int rc = renew_begin(r, false, NULL, false, &e);
    if (rc < 0) {
        renew_failed(r, e.msg);
        renew_schedule(r);
    } else if (rc == 0) {
        renew_schedule(r);
    }
}

/* The next check-in: check_interval, minus up to a tenth (spread). */
static void renew_checkin_arm(struct agent_renew *r, int64_t ms)
{
    int64_t spread = ms / 10;
    if (spread > 0)
        ms -= clock_mono_us() % spread;
    loop_timer_add(r->checkin, ms);
}

/*
 * Check in with the CA: a renew call carrying whatever is due (often
 * nothing), our roots and our certificates' issuers; the reply brings the
 * current bundle and signing root (renew_apply). Skipped while a call is in
 * flight: that call does the same.
 */
static void renew_on_checkin(evutil_socket_t fd, short what, void *arg)
{
    struct agent_renew *r = arg;
    struct weft_err e = {{0}};
    (void)fd;
    (void)what;
    if (!r->call) {
        event_del(r->timer);
        if (renew_begin(r, false, NULL, true, &e) < 0) {
            renew_failed(r, e.msg);
            renew_schedule(r);
        }
    }
    renew_checkin_arm(r, r->w->cfg->identity.check_interval_ms);
}

/* Start: wake the loop when the start_wait is over. */
static void renew_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(bool *)arg = true;
}

int agent_renew_start(struct weft *w, struct weft_err *e)
{
    if (!w->cfg->identity.ca || !w->ident)
        return 0;
    struct agent_renew *r = calloc(1, sizeof(*r));
    if (!r)
        return err_set(e, "out of memory");
    r->w = w;
    r->start = "not_needed";
    w->renew = r;
    if (!(r->timer = event_new(w->base, -1, 0, renew_on_timer, r)) ||
        !(r->checkin = event_new(w->base, -1, 0, renew_on_checkin, r)))
        return err_set(e, "out of memory");
    int rc = renew_begin(r, false, NULL, false, e);
    if (rc < 0)
        return err_prefix(e, "renewal at start");
    if (rc == 1) {
        /* Before READY: run the loop until the call is done or start_wait
         * (the admin API answers meanwhile: say so). */
        r->start = "in_progress";
        bool late = false;
        struct event *deadline = event_new(w->base, -1, 0, renew_on_deadline, &late);
        if (!deadline || loop_timer_add(deadline, w->cfg->identity.start_wait_ms) != 0) {
            if (deadline)
                event_free(deadline);
            return err_set(e, "out of memory");
        }
        uint64_t ok0 = r->ok;
        while (r->call && !late)
            event_base_loop(w->base, EVLOOP_ONCE);
        event_free(deadline);
        if (r->call) {
            ctl_client_cancel(r->call);
            r->call = NULL;
            tls_conf_free(r->conf);
            r->conf = NULL;
            renew_pend_clear(r);
            char msg[WEFT_ERR_MAX];
            snprintf(msg, sizeof(msg), "no answer from the CA at %s within %lld ms",
                     w->cfg->identity.ca, (long long)w->cfg->identity.start_wait_ms);
            renew_failed(r, msg);
        }
        r->start = r->ok > ok0 ? "ok" : "failed";
        if (r->ok == ok0) {
            log_error(LOG_AGENT,
                      "could not renew the due certificates before start (%s): starting with "
                      "what this node has and retrying in the background",
                      r->last_error);
        }
        event_del(r->timer);
    }
    renew_schedule(r);
    /* The first check-in right after READY, then every check_interval. */
    loop_timer_add(r->checkin, 0);
    return 0;
}

void agent_renew_stop(struct weft *w)
{
    struct agent_renew *r = w->renew;
    if (!r)
        return;
    ctl_client_cancel(r->call);
    tls_conf_free(r->conf);
    renew_pend_clear(r);
    if (r->timer)
        event_free(r->timer);
    if (r->checkin)
        event_free(r->checkin);
    free(r);
    w->renew = NULL;
}

void agent_renew_reschedule(struct weft *w)
{
    struct agent_renew *r = w->renew;
    if (!r || r->call)
        return;
    event_del(r->timer);
    renew_schedule(r);
}

int agent_renew_debug(struct weft *w, const char *service, struct weft_err *e)
{
    struct agent_renew *r = w->renew;
    if (!r)
        return err_set(e, "no renewal: [identity] ca is not set");
    event_del(r->timer);
    int rc = renew_begin(r, service == NULL, service, false, e);
    if (rc != 1)
        renew_schedule(r);
    return rc < 0 ? -1 : 0;
}

void agent_renew_status(const struct weft *w, struct json_w *j)
{
    const struct agent_renew *r = w->renew;
    char t[21];
    json_key(j, "renewal");
    if (!r) {
        json_null(j);
        return;
    }
    json_obj_begin(j);
    json_kv_str(j, "ca", w->cfg->identity.ca);
    json_kv_str(j, "at_start", r->start);
    json_kv_uint(j, "ok", r->ok);
    json_kv_uint(j, "failed", r->failed);
    json_kv_str(j, "last_error", r->last_error[0] ? r->last_error : NULL);
    if (r->last_ok_s) {
        pki_identity_time_iso(r->last_ok_s, t);
        json_kv_str(j, "last_ok", t);
    } else {
        json_kv_str(j, "last_ok", NULL);
    }
    json_kv_bool(j, "in_flight", r->call != NULL);
    json_kv_uint(j, "checkins", r->checkins);
    json_kv_uint(j, "bundle_updates", r->bundle_updates);
    json_kv_str(j, "signer", r->signer[0] ? r->signer : NULL);
    if (r->next_s && !r->call) {
        pki_identity_time_iso(r->next_s, t);
        json_kv_str(j, "next", t);
    } else {
        json_kv_str(j, "next", NULL);
    }
    json_obj_end(j);
}
