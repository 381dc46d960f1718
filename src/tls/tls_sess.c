/*
 * tls_sess: an mbedTLS context over two evbuffers (see tls_sess.h).
 *
 * Invariants:
 *   - the BIO callbacks never block: recv takes what `in` holds, or says
 *     WANT_READ (or EOF once tls_sess_set_eof() was called); send appends
 *     all of a record to `out` (an evbuffer grows; backpressure is the
 *     relay's job, by watermarks on the bufferevent);
 *   - the peer is checked twice over. During a full handshake the verify
 *     callback runs on the leaf (depth 0): it reads the one URI SAN from the
 *     raw subjectAltName entries (mbedTLS 2.28 cannot decode URI SANs; both
 *     versions keep each entry's tag and bytes) and applies the conf's trust
 *     domain and accept rules, marking the leaf BADCERT_OTHER when they fail,
 *     so mbedTLS refuses the handshake with an alert. A resumed handshake
 *     sends no certificate (the callback does not run: that is how
 *     resumption is detected, the same on 2.28 and 3.6), so the ID comes from
 *     the ticket (server) or the cached session (client) and the same rules
 *     are applied again before the session opens;
 *   - a session's expected ID (client, tls_sess_expect_id) takes the place
 *     of the conf's accept set and predicate in both checks, never of the
 *     trust-domain rule or the chain checks;
 *   - an origination conf (tls_conf_new_origin) is the exception to the two
 *     points above and below: no SPIFFE ID at all, and the name is what is
 *     checked. The verify callback leaves mbedTLS's verdict alone
 *     (BADCERT_CN_MISMATCH counts as TLS_FAIL_NAME_MISMATCH), and a session
 *     without a name is refused before its first byte;
 *   - server names (SNI) never take part in verification. A client that
 *     sends one has mbedTLS compare it with the server's certificate, which
 *     flags the leaf BADCERT_CN_MISMATCH; the verify callback clears exactly
 *     that flag at depth 0 and only then. A server learns the name in
 *     mbedTLS's SNI callback, which runs on every ClientHello, resumed or
 *     not, on 2.28 and 3.6 (TLS 1.2 and 1.3 alike);
 *   - a client offers its kept session when the first handshake step runs
 *     (after tls_sess_set_sni), and only if it was made with the same name:
 *     mbedTLS 3.6 refuses to start a TLS 1.3 resumption under another name;
 *   - every refusal is counted once, by reason, in the conf's stats, and
 *     logged rate-limited (a peer can trigger it);
 *   - conf->active points at this session only during an mbedTLS call, for
 *     the server's ticket callbacks (tls_conf.c).
 */
#include "tls/tls_sess.h"

#include "core/clock.h"

#include "tls/tls_priv.h"

#include <event2/buffer.h>

#include <mbedtls/error.h>
#include <mbedtls/md.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tls_sess {
    struct tls_conf *conf;
    mbedtls_ssl_context ssl;
    struct evbuffer *in;
    struct evbuffer *out;
    bool eof;
    bool verify_called; /* a certificate was received: a full handshake */
    bool resumed;
    bool started;   /* the first handshake step ran (the kept session is offered then) */
    bool sni_fail;  /* server: the SNI callback refused the name */
    bool rd_closed; /* the peer's close_notify (or EOF) was read: no more plaintext in */
    bool wr_closed; /* our close_notify was sent: no more plaintext out */
    enum tls_sess_state state;
    enum tls_fail fail;
    enum tls_fail id_fail; /* what the verify callback found wrong with the ID */
    char fail_msg[640];
    char peer_key[128];
    char peer_id[TLS_PEER_ID_MAX + 1];   /* accepted ID (full handshake or resumed) */
    char ticket_id[TLS_PEER_ID_MAX + 1]; /* server: from the ticket; client: the cache */
    char expect_id[TLS_PEER_ID_MAX + 1]; /* client: the one ID accepted ("" = the conf's rules) */
    char sni[TLS_SNI_MAX + 1];           /* client: the name sent; server: the name received */
};

static const char *const state_names[TLS_SESS_STATE_MAX] = {
    [TLS_SESS_HANDSHAKE] = "handshake",
    [TLS_SESS_OPEN] = "open",
    [TLS_SESS_CLOSED] = "closed",
    [TLS_SESS_FAILED] = "failed",
};

const char *tls_sess_state_name(enum tls_sess_state st)
{
    if ((unsigned)st >= TLS_SESS_STATE_MAX)
        return "?";
    return state_names[st];
}

static const char *role_name(const struct tls_sess *s)
{
    return s->conf->role == TLS_ROLE_SERVER ? "server" : "client";
}

/* The only place the state changes. HANDSHAKE -> OPEN | FAILED; OPEN -> CLOSED | FAILED. */
static void sess_set_state(struct tls_sess *s, enum tls_sess_state to)
{
    log_debug(LOG_TLS, "tls %s %p: %s -> %s", role_name(s), (void *)s,
              tls_sess_state_name(s->state), tls_sess_state_name(to));
    s->state = to;
}

/* ---- BIO over evbuffers ---- */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct tls_sess *s = ctx;
    if (len > (size_t)INT32_MAX)
        len = (size_t)INT32_MAX;
    if (evbuffer_add(s->out, buf, len) != 0)
        return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    return (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct tls_sess *s = ctx;
    if (len > (size_t)INT32_MAX)
        len = (size_t)INT32_MAX;
    int n = evbuffer_remove(s->in, buf, len);
    if (n > 0)
        return n;
    if (s->eof)
        return 0; /* mbedTLS: the transport was closed */
    return MBEDTLS_ERR_SSL_WANT_READ;
}

/* ---- the peer's SPIFFE ID ---- */

/* Copy a URI for a log line: printable ASCII kept, anything else as \xNN. */
static void escape(const unsigned char *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    out[o] = '\0';
}

/*
 * The one URI SAN of crt, NUL-terminated into id. Returns TLS_FAIL_NONE, or
 * TLS_FAIL_NO_SPIFFE_ID when there is not exactly one URI SAN, it is not
 * spiffe://, is too long or holds a byte outside printable ASCII.
 */
static enum tls_fail cert_spiffe_id(const mbedtls_x509_crt *crt, char id[TLS_PEER_ID_MAX + 1],
                                    char *why, size_t whycap)
{
    const mbedtls_x509_buf *uri = NULL;
    unsigned n = 0;
    for (const mbedtls_x509_sequence *q = &crt->subject_alt_names; q && q->buf.p; q = q->next) {
        if (q->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 6)) {
            uri = &q->buf;
            n++;
        }
    }
    id[0] = '\0';
    if (n != 1) {
        snprintf(why, whycap, "%u URI SANs (want exactly one)", n);
        return TLS_FAIL_NO_SPIFFE_ID;
    }
    if (uri->len < 10 || uri->len > TLS_PEER_ID_MAX || memcmp(uri->p, "spiffe://", 9) != 0) {
        char esc[96];
        escape(uri->p, uri->len < 20 ? uri->len : 20, esc, sizeof(esc));
        snprintf(why, whycap, "URI SAN '%s...' of %zu bytes is not a SPIFFE ID", esc,
                 (size_t)uri->len);
        return TLS_FAIL_NO_SPIFFE_ID;
    }
    for (size_t i = 0; i < uri->len; i++) {
        if (uri->p[i] < 0x21 || uri->p[i] > 0x7e) {
            snprintf(why, whycap, "URI SAN holds byte 0x%02x", uri->p[i]);
            return TLS_FAIL_NO_SPIFFE_ID;
        }
    }
    memcpy(id, uri->p, uri->len);
    id[uri->len] = '\0';
    return TLS_FAIL_NONE;
}

/* An X.509 time (UTC) as unix seconds, without time_t (civil-date arithmetic). */
static int64_t sess_x509_unix(const mbedtls_x509_time *t)
{
    int64_t y = t->year - (t->mon <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (t->mon + (t->mon > 2 ? -3 : 9)) + 2) / 5 + t->day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + t->hour * 3600 + t->min * 60 + t->sec;
}

/* Debug clock: replace mbedTLS's date verdict with one by weft's clock + offset. */
static void sess_judge_dates(const struct tls_conf *conf, const mbedtls_x509_crt *crt,
                             uint32_t *flags)
{
    int64_t now = (clock_wall_ms() + *conf->clock_offset_ms) / 1000;
    *flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
    if (now > sess_x509_unix(&crt->valid_to))
        *flags |= MBEDTLS_X509_BADCERT_EXPIRED;
    if (now < sess_x509_unix(&crt->valid_from))
        *flags |= MBEDTLS_X509_BADCERT_FUTURE;
}

/* The peer's ID against the session's expected ID, or else the conf's rules. */
static enum tls_fail sess_check_id(const struct tls_sess *s, const char *id)
{
    if (!s->expect_id[0])
        return tls_conf_check_id(s->conf, id);
    enum tls_fail f = tls_conf_check_td(s->conf, id);
    if (f == TLS_FAIL_NONE && strcmp(id, s->expect_id) != 0)
        f = TLS_FAIL_ID_NOT_ACCEPTED;
    return f;
}

/* Server with sni_required: did the client send a name we have a certificate for? */
static bool sess_sni_missing(const struct tls_sess *s)
{
    return s->conf->role == TLS_ROLE_SERVER && s->conf->sni_required && !s->sni[0];
}

static int sess_verify(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    struct tls_sess *s = ctx;
    s->verify_called = true;
    if (s->conf->clock_offset_ms)
        sess_judge_dates(s->conf, crt, flags);
    /* Origination: the chain and the host name, as mbedTLS judges them. */
    if (depth != 0 || s->conf->origin)
        return 0;
    /* Our SNI is a service name, not the certificate's: mbedTLS's name
     * check is the one thing not wanted (identity is the SPIFFE ID). */
    if (s->conf->role == TLS_ROLE_CLIENT && s->sni[0])
        *flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH;
    if (sess_sni_missing(s)) {
        s->id_fail = TLS_FAIL_UNKNOWN_SNI;
        snprintf(s->fail_msg, sizeof(s->fail_msg), "no server name (SNI) sent");
        *flags |= MBEDTLS_X509_BADCERT_OTHER;
        return 0;
    }
    char id[TLS_PEER_ID_MAX + 1];
    char why[160] = "";
    enum tls_fail f = cert_spiffe_id(crt, id, why, sizeof(why));
    if (f == TLS_FAIL_NONE)
        f = sess_check_id(s, id);
    if (f != TLS_FAIL_NONE) {
        s->id_fail = f;
        if (why[0])
            snprintf(s->fail_msg, sizeof(s->fail_msg), "%s", why);
        else if (s->expect_id[0] && f == TLS_FAIL_ID_NOT_ACCEPTED)
            snprintf(s->fail_msg, sizeof(s->fail_msg), "peer %.300s, expected %.300s", id,
                     s->expect_id);
        else
            snprintf(s->fail_msg, sizeof(s->fail_msg), "peer %.520s", id);
        *flags |= MBEDTLS_X509_BADCERT_OTHER;
        return 0;
    }
    snprintf(s->peer_id, sizeof(s->peer_id), "%s", id);
    return 0;
}

/* ---- failures ---- */

static enum tls_fail sess_classify(struct tls_sess *s, int rc)
{
    if (s->sni_fail)
        return TLS_FAIL_UNKNOWN_SNI;
    if (rc == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE)
        return TLS_FAIL_NO_CLIENT_CERT;
    uint32_t v = mbedtls_ssl_get_verify_result(&s->ssl);
    if (v == UINT32_MAX)
        v = 0;
    if (v & MBEDTLS_X509_BADCERT_MISSING)
        return TLS_FAIL_NO_CLIENT_CERT;
    if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED || v != 0) {
        if (v & (MBEDTLS_X509_BADCERT_NOT_TRUSTED | MBEDTLS_X509_BADCERT_REVOKED |
                 MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK |
                 MBEDTLS_X509_BADCERT_BAD_KEY | MBEDTLS_X509_BADCERT_SKIP_VERIFY))
            return TLS_FAIL_BAD_CHAIN;
        if (v & MBEDTLS_X509_BADCERT_EXPIRED)
            return TLS_FAIL_EXPIRED;
        if (v & MBEDTLS_X509_BADCERT_FUTURE)
            return TLS_FAIL_NOT_YET_VALID;
        /* Only an origination client keeps this flag (see sess_verify). */
        if (v & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
            snprintf(s->fail_msg, sizeof(s->fail_msg), "the server's certificate is not for '%s'",
                     s->sni);
            return TLS_FAIL_NAME_MISMATCH;
        }
        if (s->id_fail != TLS_FAIL_NONE)
            return s->id_fail;
        return TLS_FAIL_BAD_CHAIN; /* key usage, extended key usage, ... */
    }
    if (rc == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE)
        return TLS_FAIL_PEER_ALERT;
    return TLS_FAIL_PROTOCOL;
}

/* Record a failure: state FAILED, one count, one rate-limited line. */
static enum tls_io sess_fail(struct tls_sess *s, enum tls_fail f, int rc)
{
    if (s->state == TLS_SESS_FAILED)
        return TLS_IO_ERROR;
    s->fail = f;
    s->conf->stats.fail[f]++;
    char detail[sizeof(s->fail_msg)];
    snprintf(detail, sizeof(detail), "%s", s->fail_msg);
    if (rc != 0) {
        char text[96];
        mbedtls_strerror(rc, text, sizeof(text));
        if (detail[0])
            snprintf(s->fail_msg, sizeof(s->fail_msg), "%s: %.400s (-0x%04x %s)", tls_fail_name(f),
                     detail, (unsigned)-rc, text);
        else
            snprintf(s->fail_msg, sizeof(s->fail_msg), "%s (-0x%04x %s)", tls_fail_name(f),
                     (unsigned)-rc, text);
    } else {
        snprintf(s->fail_msg, sizeof(s->fail_msg), "%s: %.560s", tls_fail_name(f), detail);
    }
    char esc[sizeof(s->fail_msg) * 4];
    escape((const unsigned char *)s->fail_msg, strlen(s->fail_msg), esc, sizeof(esc));
    log_ratelim(&s->conf->fail_log, LOG_LEVEL_WARN, LOG_TLS, "tls %s: refused: %s", role_name(s),
                esc);
    sess_set_state(s, TLS_SESS_FAILED);
    return TLS_IO_ERROR;
}

/* ---- lifecycle ---- */

struct tls_sess *tls_sess_new(struct tls_conf *conf, struct evbuffer *in, struct evbuffer *out,
                              const char *peer_key, struct weft_err *e)
{
    if (!conf->trust_domain[0] && !conf->origin) {
        err_set(e, "tls session: the conf has no trust domain");
        return NULL;
    }
    if (peer_key && strlen(peer_key) >= sizeof(((struct tls_sess *)0)->peer_key)) {
        err_set(e, "tls session: peer key longer than %zu bytes",
                sizeof(((struct tls_sess *)0)->peer_key) - 1);
        return NULL;
    }
    struct tls_sess *s = calloc(1, sizeof(*s));
    if (!s) {
        err_set(e, "tls session: out of memory");
        return NULL;
    }
    s->conf = conf;
    s->in = in;
    s->out = out;
    s->state = TLS_SESS_HANDSHAKE;
    mbedtls_ssl_init(&s->ssl);
    int rc = mbedtls_ssl_setup(&s->ssl, &conf->ssl);
    if (rc != 0) {
        char text[96];
        mbedtls_strerror(rc, text, sizeof(text));
        err_set(e, "tls session: setup: -0x%04x (%s)", (unsigned)-rc, text);
        tls_sess_free(s);
        return NULL;
    }
    mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
    mbedtls_ssl_set_verify(&s->ssl, sess_verify, s);
    if (conf->role == TLS_ROLE_CLIENT) {
        /* No host name check, ever: identity is the SPIFFE ID. mbedTLS 3.6.3+
         * refuses to verify without this explicit "none". */
        mbedtls_ssl_set_hostname(&s->ssl, NULL);
        if (peer_key)
            snprintf(s->peer_key, sizeof(s->peer_key), "%s", peer_key);
    }
    return s;
}

/* Client settings that must precede the first handshake step. */
static int sess_check_unstarted(const struct tls_sess *s, const char *what, struct weft_err *e)
{
    if (s->conf->role != TLS_ROLE_CLIENT)
        return err_set(e, "tls session: %s is for a client", what);
    if (s->started || s->state != TLS_SESS_HANDSHAKE)
        return err_set(e, "tls session: %s after the handshake began", what);
    return 0;
}

int tls_sess_set_sni(struct tls_sess *s, const char *name, struct weft_err *e)
{
    if (sess_check_unstarted(s, "a server name", e) != 0)
        return -1;
    if (!name || !tls_conf_sni_name_ok(name, strlen(name)))
        return err_set(e, "tls session: server name must be 1-%d bytes of A-Z a-z 0-9 . _ -",
                       TLS_SNI_MAX);
    int rc = mbedtls_ssl_set_hostname(&s->ssl, name);
    if (rc != 0) {
        char text[96];
        mbedtls_strerror(rc, text, sizeof(text));
        return err_set(e, "tls session: server name: -0x%04x (%s)", (unsigned)-rc, text);
    }
    snprintf(s->sni, sizeof(s->sni), "%s", name);
    return 0;
}

int tls_sess_expect_id(struct tls_sess *s, const char *spiffe_id, struct weft_err *e)
{
    if (sess_check_unstarted(s, "an expected peer ID", e) != 0)
        return -1;
    if (s->conf->origin)
        return err_set(e, "tls session: an origination session checks a server name, not an ID");
    size_t n = spiffe_id ? strlen(spiffe_id) : 0;
    if (n < 10 || n > TLS_PEER_ID_MAX || tls_conf_check_td(s->conf, spiffe_id) != TLS_FAIL_NONE)
        return err_set(e,
                       "tls session: the expected peer ID must be a spiffe:// URI of trust "
                       "domain %s, at most %d bytes",
                       s->conf->trust_domain, TLS_PEER_ID_MAX);
    memcpy(s->expect_id, spiffe_id, n + 1);
    return 0;
}

/* Client, first handshake step: offer the session kept for this peer key. */
static void sess_offer_kept(struct tls_sess *s)
{
    if (s->conf->role != TLS_ROLE_CLIENT || !s->peer_key[0])
        return;
    struct tls_cache_entry *c = tls_conf_cache_find(s->conf, s->peer_key);
    if (!c)
        return;
    if (strcmp(c->sni, s->sni) != 0) {
        log_debug(LOG_TLS, "tls client: session for %s made with another server name", s->peer_key);
        return;
    }
    if (mbedtls_ssl_set_session(&s->ssl, &c->session) == 0)
        snprintf(s->ticket_id, sizeof(s->ticket_id), "%s", c->peer_id);
}

void tls_sess_free(struct tls_sess *s)
{
    if (!s)
        return;
    if (s->conf->active == s)
        s->conf->active = NULL;
    mbedtls_ssl_free(&s->ssl);
    free(s);
}

void tls_sess_set_eof(struct tls_sess *s)
{
    s->eof = true;
}

/*
 * WANT_READ does not always mean "no input": mbedTLS 3.6 returns it after
 * noticing a TLS 1.3 NewSessionTicket it holds back for the next call, and
 * records may still be buffered. Calling again then makes progress without
 * a new read event, so the loops below retry while this is true, at most
 * TLS_SESS_PASSES times per call (a work budget: one session cannot hold
 * the loop).
 */
#define TLS_SESS_PASSES 16

static bool sess_has_input(const struct tls_sess *s)
{
    return evbuffer_get_length(s->in) > 0 || mbedtls_ssl_check_pending(&s->ssl);
}

/* Client: keep the session for the next connection to this peer. */
static void sess_keep(struct tls_sess *s)
{
    if (s->conf->role != TLS_ROLE_CLIENT || !s->peer_key[0])
        return;
    if (tls_conf_cache_store(s->conf, s->peer_key, s->peer_id, s->sni, &s->ssl) != 0)
        log_debug(LOG_TLS, "tls client: session for %s not kept", s->peer_key);
}

/*
 * Pinned client: the server's chain must hold the pinned root, its leaf must
 * verify against it, and carry an accepted SPIFFE ID. Returns TLS_FAIL_NONE
 * (peer_id set) or the reason (fail_msg set).
 */
static enum tls_fail sess_check_pinned(struct tls_sess *s)
{
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&s->ssl);
    const mbedtls_md_info_t *sha = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    mbedtls_x509_crt root;
    enum tls_fail f = TLS_FAIL_BAD_CHAIN;
    uint32_t flags = 0;
    char why[160] = "";
    mbedtls_x509_crt_init(&root);
    snprintf(s->fail_msg, sizeof(s->fail_msg), "the server's chain does not hold the pinned CA");
    for (const mbedtls_x509_crt *c = peer; c && c->raw.p; c = c->next) {
        unsigned char md[32];
        if (sha && mbedtls_md(sha, c->raw.p, c->raw.len, md) == 0 &&
            memcmp(md, s->conf->pin, sizeof(md)) == 0) {
            if (mbedtls_x509_crt_parse_der(&root, c->raw.p, c->raw.len) != 0)
                break;
            if (mbedtls_x509_crt_verify((mbedtls_x509_crt *)peer, &root, NULL, NULL, &flags,
                                        sess_verify, s) != 0 ||
                flags != 0) {
                snprintf(s->fail_msg, sizeof(s->fail_msg),
                         "the server's certificate does not verify against the pinned CA "
                         "(flags 0x%x)",
                         (unsigned)flags);
                f = (flags & MBEDTLS_X509_BADCERT_EXPIRED)  ? TLS_FAIL_EXPIRED
                    : (flags & MBEDTLS_X509_BADCERT_FUTURE) ? TLS_FAIL_NOT_YET_VALID
                    : s->id_fail != TLS_FAIL_NONE           ? s->id_fail
                                                            : TLS_FAIL_BAD_CHAIN;
                break;
            }
            f = s->peer_id[0] ? TLS_FAIL_NONE : TLS_FAIL_NO_SPIFFE_ID;
            break;
        }
    }
    (void)why;
    mbedtls_x509_crt_free(&root);
    return f;
}

/* The handshake is over: establish and check the peer's ID, then open. */
static enum tls_io sess_established(struct tls_sess *s)
{
    if (sess_sni_missing(s)) {
        /* Resumed or anonymous: no verify callback refused it earlier. */
        snprintf(s->fail_msg, sizeof(s->fail_msg), "no server name (SNI) sent");
        mbedtls_ssl_send_alert_message(&s->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                       MBEDTLS_SSL_ALERT_MSG_UNRECOGNIZED_NAME);
        return sess_fail(s, TLS_FAIL_UNKNOWN_SNI, 0);
    }
    if (s->conf->pinned) {
        enum tls_fail f = sess_check_pinned(s);
        if (f != TLS_FAIL_NONE) {
            mbedtls_ssl_send_alert_message(&s->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                           MBEDTLS_SSL_ALERT_MSG_BAD_CERT);
            return sess_fail(s, f, 0);
        }
        s->conf->stats.handshakes++;
        sess_set_state(s, TLS_SESS_OPEN);
        return TLS_IO_OK;
    }
    if (s->conf->origin) {
        /* VERIFY_REQUIRED: mbedTLS checked the chain and the name; a resumed
         * session was verified under the same peer key and name. */
        s->resumed = !s->verify_called;
        s->conf->stats.handshakes++;
        if (s->resumed)
            s->conf->stats.resumed++;
        sess_set_state(s, TLS_SESS_OPEN);
        if (!tls_compat_is_tls13(&s->ssl))
            sess_keep(s);
        return TLS_IO_OK;
    }
    if (s->conf->anonymous_ok) {
        /* VERIFY_OPTIONAL: mbedTLS let a failed verification through. */
        uint32_t v = mbedtls_ssl_get_verify_result(&s->ssl);
        if (s->verify_called && v != 0) {
            mbedtls_ssl_send_alert_message(&s->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                           MBEDTLS_SSL_ALERT_MSG_BAD_CERT);
            return sess_fail(s, sess_classify(s, MBEDTLS_ERR_X509_CERT_VERIFY_FAILED), 0);
        }
        if (!s->verify_called) {
            s->peer_id[0] = '\0';
            s->conf->stats.handshakes++;
            sess_set_state(s, TLS_SESS_OPEN);
            return TLS_IO_OK;
        }
    }
    s->resumed = !s->verify_called;
    if (s->resumed) {
        /* No certificate was exchanged; the ID the ticket carries (server)
         * or the one the kept session was verified as (client). */
        enum tls_fail f = TLS_FAIL_NO_SPIFFE_ID;
        if (s->ticket_id[0])
            f = sess_check_id(s, s->ticket_id);
        if (f != TLS_FAIL_NONE) {
            if (s->expect_id[0])
                snprintf(s->fail_msg, sizeof(s->fail_msg), "resumed peer '%.300s', expected %.300s",
                         s->ticket_id, s->expect_id);
            else
                snprintf(s->fail_msg, sizeof(s->fail_msg), "resumed peer '%.520s'", s->ticket_id);
            mbedtls_ssl_send_alert_message(&s->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                           MBEDTLS_SSL_ALERT_MSG_ACCESS_DENIED);
            /* The kept session cannot pass any more: the next connection
             * does a full handshake, judged afresh. */
            if (s->conf->role == TLS_ROLE_CLIENT && s->peer_key[0])
                tls_conf_forget_session(s->conf, s->peer_key);
            return sess_fail(s, f, 0);
        }
        snprintf(s->peer_id, sizeof(s->peer_id), "%s", s->ticket_id);
    } else if (!s->peer_id[0]) {
        /* VERIFY_REQUIRED and a callback that accepted: cannot happen. */
        snprintf(s->fail_msg, sizeof(s->fail_msg), "no peer ID after a full handshake");
        return sess_fail(s, TLS_FAIL_PROTOCOL, 0);
    }
    s->conf->stats.handshakes++;
    if (s->resumed)
        s->conf->stats.resumed++;
    sess_set_state(s, TLS_SESS_OPEN);
    /* TLS 1.2 tickets arrive inside the handshake; 1.3 ones later (read). */
    if (!tls_compat_is_tls13(&s->ssl))
        sess_keep(s);
    return TLS_IO_OK;
}

enum tls_io tls_sess_handshake(struct tls_sess *s)
{
    switch (s->state) {
    case TLS_SESS_OPEN:
        return TLS_IO_OK;
    case TLS_SESS_CLOSED:
        return TLS_IO_CLOSED;
    case TLS_SESS_FAILED:
        return TLS_IO_ERROR;
    case TLS_SESS_HANDSHAKE:
    case TLS_SESS_STATE_MAX:
        break;
    }
    if (!s->started) {
        s->started = true;
        if (s->conf->origin && !s->sni[0]) {
            /* Nothing to check the certificate against: refuse, send nothing. */
            snprintf(s->fail_msg, sizeof(s->fail_msg),
                     "origination needs a server name (none set)");
            return sess_fail(s, TLS_FAIL_NAME_MISMATCH, 0);
        }
        sess_offer_kept(s);
    }
    int rc;
    for (int pass = 0;; pass++) {
        s->conf->active = s;
        rc = mbedtls_ssl_handshake(&s->ssl);
        s->conf->active = NULL;
        if (rc != MBEDTLS_ERR_SSL_WANT_READ || pass + 1 >= TLS_SESS_PASSES || !sess_has_input(s))
            break;
    }
    if (rc == MBEDTLS_ERR_SSL_WANT_READ)
        return TLS_IO_WANT_READ;
    if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
        return TLS_IO_WANT_WRITE;
    if (rc != 0)
        return sess_fail(s, sess_classify(s, rc), rc);
    return sess_established(s);
}

/*
 * Half-close: the state turns CLOSED when either side's close_notify goes
 * by, but the other direction keeps working until its own close_notify
 * (the proxy relays a TCP half-close this way): reading stays possible
 * after our tls_sess_shutdown(), writing after the peer's close_notify.
 */
static enum tls_io sess_ready(struct tls_sess *s, bool for_read)
{
    if (s->state == TLS_SESS_CLOSED)
        return (for_read ? s->rd_closed : s->wr_closed) ? TLS_IO_CLOSED : TLS_IO_OK;
    return tls_sess_handshake(s);
}

enum tls_io tls_sess_read(struct tls_sess *s, void *buf, size_t cap, size_t *n)
{
    *n = 0;
    enum tls_io io = sess_ready(s, true);
    if (io != TLS_IO_OK)
        return io;
    for (int pass = 0; pass < TLS_SESS_PASSES; pass++) {
        s->conf->active = s;
        int rc = mbedtls_ssl_read(&s->ssl, buf, cap);
        s->conf->active = NULL;
        if (rc > 0) {
            *n = (size_t)rc;
            return TLS_IO_OK;
        }
        if (rc == MBEDTLS_ERR_SSL_WANT_READ) {
            if (sess_has_input(s))
                continue;
            return TLS_IO_WANT_READ;
        }
        if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
            return TLS_IO_WANT_WRITE;
        if (tls_compat_is_new_ticket(rc)) {
            sess_keep(s);
            continue;
        }
        if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF) {
            s->rd_closed = true;
            if (s->state != TLS_SESS_CLOSED)
                sess_set_state(s, TLS_SESS_CLOSED);
            return TLS_IO_CLOSED;
        }
        snprintf(s->fail_msg, sizeof(s->fail_msg), "read");
        return sess_fail(
            s, rc == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE ? TLS_FAIL_PEER_ALERT : TLS_FAIL_PROTOCOL,
            rc);
    }
    /* Budget spent with input left: the caller calls again (a deferred
     * event), as after any partial read. */
    return TLS_IO_WANT_READ;
}

enum tls_io tls_sess_write(struct tls_sess *s, const void *buf, size_t len, size_t *n)
{
    *n = 0;
    enum tls_io io = sess_ready(s, false);
    if (io != TLS_IO_OK)
        return io;
    const unsigned char *p = buf;
    while (*n < len) {
        int rc = mbedtls_ssl_write(&s->ssl, p + *n, len - *n);
        if (rc > 0) {
            *n += (size_t)rc;
            continue;
        }
        if (rc == MBEDTLS_ERR_SSL_WANT_READ)
            return TLS_IO_WANT_READ;
        if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
            return TLS_IO_WANT_WRITE;
        snprintf(s->fail_msg, sizeof(s->fail_msg), "write");
        return sess_fail(s, TLS_FAIL_PROTOCOL, rc);
    }
    return TLS_IO_OK;
}

enum tls_io tls_sess_shutdown(struct tls_sess *s)
{
    if (s->state == TLS_SESS_FAILED)
        return TLS_IO_ERROR;
    if (s->wr_closed || (s->state == TLS_SESS_CLOSED && !s->rd_closed))
        return TLS_IO_OK;
    int rc = mbedtls_ssl_close_notify(&s->ssl);
    s->wr_closed = true;
    if (s->state != TLS_SESS_CLOSED)
        sess_set_state(s, TLS_SESS_CLOSED);
    return rc == 0 ? TLS_IO_OK : TLS_IO_ERROR;
}

enum tls_sess_state tls_sess_state(const struct tls_sess *s)
{
    return s->state;
}

enum tls_fail tls_sess_fail(const struct tls_sess *s)
{
    return s->fail;
}

const char *tls_sess_fail_msg(const struct tls_sess *s)
{
    return s->fail == TLS_FAIL_NONE ? "" : s->fail_msg;
}

const char *tls_sess_peer_id(const struct tls_sess *s)
{
    return s->state == TLS_SESS_OPEN || s->state == TLS_SESS_CLOSED ? s->peer_id : "";
}

const char *tls_sess_version(const struct tls_sess *s)
{
    return s->state == TLS_SESS_OPEN || s->state == TLS_SESS_CLOSED
               ? mbedtls_ssl_get_version(&s->ssl)
               : "";
}

const char *tls_sess_ciphersuite(const struct tls_sess *s)
{
    if (s->state != TLS_SESS_OPEN && s->state != TLS_SESS_CLOSED)
        return "";
    const char *name = mbedtls_ssl_get_ciphersuite(&s->ssl);
    return name ? name : "";
}

const char *tls_sess_sni(const struct tls_sess *s)
{
    return s->state == TLS_SESS_OPEN || s->state == TLS_SESS_CLOSED ? s->sni : "";
}

bool tls_sess_is_resumed(const struct tls_sess *s)
{
    return s->resumed;
}

/* ---- for tls_conf.c's ticket callbacks ---- */

const char *tls_sess_priv_peer_id(const struct tls_sess *s)
{
    /* A full handshake: the verified ID; a resumed one: the ticket's. */
    return s->peer_id[0] ? s->peer_id : s->ticket_id;
}

void tls_sess_priv_set_ticket_id(struct tls_sess *s, const char *id)
{
    snprintf(s->ticket_id, sizeof(s->ticket_id), "%s", id);
}

int tls_sess_priv_sni_cb(void *p, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len)
{
    struct tls_conf *conf = p;
    struct tls_sess *s = conf->active;
    if (!s || &s->ssl != ssl)
        return -1; /* not inside tls_sess_handshake: cannot happen */
    /* Again on a second ClientHello (after a HelloRetryRequest). */
    s->sni[0] = '\0';
    s->sni_fail = false;
    if (!tls_conf_sni_name_ok((const char *)name, len)) {
        /* Not a name weft sends: ignored as if absent, unless one is required. */
        char esc[96];
        escape(name, len < 20 ? len : 20, esc, sizeof(esc));
        log_debug(LOG_TLS, "tls server: ignoring server name '%s...' of %zu bytes", esc, len);
        if (!conf->sni_required)
            return 0;
        s->sni_fail = true;
        snprintf(s->fail_msg, sizeof(s->fail_msg), "malformed server name '%s...' of %zu bytes",
                 esc, len);
        return -1;
    }
    memcpy(s->sni, name, len);
    s->sni[len] = '\0';
    const struct tls_sni_cert *c = tls_conf_sni_find(conf, s->sni);
    if (c)
        return mbedtls_ssl_set_hs_own_cert(ssl, (mbedtls_x509_crt *)&c->chain,
                                           (mbedtls_pk_context *)&c->key) == 0
                   ? 0
                   : -1;
    if (!conf->sni_required)
        return 0; /* the conf's own certificate */
    s->sni_fail = true;
    snprintf(s->fail_msg, sizeof(s->fail_msg), "no certificate for server name '%s'", s->sni);
    s->sni[0] = '\0';
    return -1;
}
