/*
 * tls_conf: building the mbedTLS config of one role (see tls_conf.h), the
 * accepted-ID check, the server's ticket callbacks and certificates by
 * server name (the SNI callback itself is in tls_sess.c: it fills in the
 * session), and the client's session cache.
 *
 * Tickets. mbedtls_ssl_ticket encrypts the serialised session under a key it
 * rotates every TLS_TICKET_LIFETIME_S. A TLS 1.2 session carries the peer's
 * certificate, but a TLS 1.3 one does not (mbedTLS 3.6 serialises no
 * certificate for 1.3), so a resumed 1.3 server would not know who the client
 * is. weft therefore wraps each ticket:
 *
 *   +--------+--------------------------+-----------+----------------+-----+
 *   | len u16| mbedtls_ssl_ticket blob  | nonce (12)| sealed peer ID | tag |
 *   +--------+--------------------------+-----------+----------------+-----+
 *   \______ additional data ___________/            AES-256-GCM, id_key
 *
 * The ID is sealed (a ticket travels in clear in a TLS 1.3 ClientHello, and
 * the ID must not leak where the certificate itself is encrypted) and bound
 * to the inner ticket (the whole prefix is the additional data). id_key is
 * random per conf, so tickets die with the process, as the inner ones do.
 * On resumption the ID is checked again against the current accept rules.
 */
#include "tls/tls_conf.h"

#include "tls/aead.h"
#include "tls/tls.h"
#include "tls/tls_priv.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/error.h>
#include <mbedtls/platform_util.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fail_names[TLS_FAIL_MAX] = {
    [TLS_FAIL_NONE] = "none",
    [TLS_FAIL_NO_CLIENT_CERT] = "no_client_cert",
    [TLS_FAIL_BAD_CHAIN] = "bad_chain",
    [TLS_FAIL_EXPIRED] = "expired",
    [TLS_FAIL_NOT_YET_VALID] = "not_yet_valid",
    [TLS_FAIL_NO_SPIFFE_ID] = "no_spiffe_id",
    [TLS_FAIL_TRUST_DOMAIN] = "trust_domain",
    [TLS_FAIL_ID_NOT_ACCEPTED] = "id_not_accepted",
    [TLS_FAIL_PEER_ALERT] = "peer_alert",
    [TLS_FAIL_PROTOCOL] = "protocol",
    [TLS_FAIL_UNKNOWN_SNI] = "unknown_sni",
    [TLS_FAIL_NAME_MISMATCH] = "name_mismatch",
};

const char *tls_fail_name(enum tls_fail f)
{
    if ((unsigned)f >= TLS_FAIL_MAX)
        return "?";
    return fail_names[f];
}

/* mbedTLS's RNG callback over weft's one DRBG. */
static int conf_rng(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    if (tls_random(buf, len, NULL) != 0)
        return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
    return 0;
}

static const char *conf_strerror(int rc, char *buf, size_t cap)
{
    char text[128];
    mbedtls_strerror(rc, text, sizeof(text));
    snprintf(buf, cap, "-0x%04x (%s)", (unsigned)-rc, text);
    return buf;
}

/* ---- tickets (server) ---- */

#define TICKET_OVERHEAD (2 + TLS_AEAD_NONCE_LEN + TLS_AEAD_TAG_LEN)

static int conf_ticket_write(void *p, const mbedtls_ssl_session *session, unsigned char *start,
                             const unsigned char *end, size_t *tlen, uint32_t *lifetime)
{
    struct tls_conf *conf = p;
    const char *id = conf->active ? tls_sess_priv_peer_id(conf->active) : "";
    size_t idlen = strlen(id);
    if (idlen == 0 || end < start || (size_t)(end - start) < TICKET_OVERHEAD + idlen)
        return MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL;
    size_t inner = 0;
    int rc = mbedtls_ssl_ticket_write(&conf->ticket, session, start + 2,
                                      end - TLS_AEAD_NONCE_LEN - TLS_AEAD_TAG_LEN - idlen, &inner,
                                      lifetime);
    if (rc != 0)
        return rc;
    if (inner > 0xffff)
        return MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL;
    start[0] = (unsigned char)(inner >> 8);
    start[1] = (unsigned char)inner;
    unsigned char *nonce = start + 2 + inner;
    if (tls_random(nonce, TLS_AEAD_NONCE_LEN, NULL) != 0)
        return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
    if (tls_aead_seal(conf->id_key, sizeof(conf->id_key), nonce, start, 2 + inner,
                      (const uint8_t *)id, idlen, nonce + TLS_AEAD_NONCE_LEN, NULL) != 0)
        return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
    *tlen = TICKET_OVERHEAD + inner + idlen;
    return 0;
}

static int conf_ticket_parse(void *p, mbedtls_ssl_session *session, unsigned char *buf, size_t len)
{
    struct tls_conf *conf = p;
    if (len < TICKET_OVERHEAD)
        return MBEDTLS_ERR_SSL_INVALID_MAC;
    size_t inner = ((size_t)buf[0] << 8) | buf[1];
    if (inner > len - TICKET_OVERHEAD)
        return MBEDTLS_ERR_SSL_INVALID_MAC;
    size_t idlen = len - TICKET_OVERHEAD - inner;
    if (idlen == 0 || idlen > TLS_PEER_ID_MAX)
        return MBEDTLS_ERR_SSL_INVALID_MAC;
    char id[TLS_PEER_ID_MAX + 1];
    const unsigned char *nonce = buf + 2 + inner;
    if (tls_aead_open(conf->id_key, sizeof(conf->id_key), nonce, buf, 2 + inner,
                      nonce + TLS_AEAD_NONCE_LEN, idlen + TLS_AEAD_TAG_LEN, (uint8_t *)id,
                      NULL) != 0)
        return MBEDTLS_ERR_SSL_INVALID_MAC;
    id[idlen] = '\0';
    if (memchr(id, '\0', idlen) != NULL)
        return MBEDTLS_ERR_SSL_INVALID_MAC;
    /* mbedtls_ssl_ticket_parse decrypts in place: after the ID was opened. */
    int rc = mbedtls_ssl_ticket_parse(&conf->ticket, session, buf + 2, inner);
    if (rc != 0)
        return rc;
    if (conf->active)
        tls_sess_priv_set_ticket_id(conf->active, id);
    return 0;
}

/* ---- construction ---- */

static struct tls_conf *conf_alloc(enum tls_role role, struct weft_err *e)
{
    if (tls_lib_init(e) != 0)
        return NULL;
    struct tls_conf *conf = calloc(1, sizeof(*conf));
    if (!conf) {
        err_set(e, "tls conf: out of memory");
        return NULL;
    }
    conf->role = role;
    mbedtls_ssl_config_init(&conf->ssl);
    mbedtls_x509_crt_init(&conf->own_chain);
    mbedtls_pk_init(&conf->own_key);
    mbedtls_x509_crt_init(&conf->bundle);
    mbedtls_ssl_ticket_init(&conf->ticket);
    conf->fail_log = (struct log_ratelim)LOG_RATELIM_INIT(10000, 5);
    return conf;
}

/* Everything after the certificates are loaded: the mbedTLS config proper. */
static int conf_setup(struct tls_conf *conf, struct weft_err *e)
{
    char eb[192];
    int rc;
    if (conf->origin && conf->bundle.version == 0)
        return err_set(e, "tls conf: no CA certificate");
    if (!conf->pinned && !conf->origin) {
        if (conf->own_chain.version == 0)
            return err_set(e, "tls conf: no certificate");
        if (conf->bundle.version == 0)
            return err_set(e, "tls conf: empty trust bundle");
        rc = tls_compat_pk_check_pair(&conf->own_chain.pk, &conf->own_key, conf_rng, NULL);
        if (rc != 0)
            return err_set(e, "tls conf: the key does not match the certificate: %s",
                           conf_strerror(rc, eb, sizeof(eb)));
    }
    int endpoint = conf->role == TLS_ROLE_SERVER ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT;
    rc = mbedtls_ssl_config_defaults(&conf->ssl, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
                                     MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc != 0)
        return err_set(e, "tls conf: defaults: %s", conf_strerror(rc, eb, sizeof(eb)));
    mbedtls_ssl_conf_rng(&conf->ssl, conf_rng, NULL);
    /* Mutual authentication both ways; no host name is ever set or checked.
     * A pinned client (enrollment) has no certificate yet and checks the
     * server's chain itself once the handshake is over (tls_sess.c). An
     * origination client has none either, and mbedTLS checks the server's
     * chain and host name (the SNI) itself. */
    if (conf->pinned) {
        mbedtls_ssl_conf_authmode(&conf->ssl, MBEDTLS_SSL_VERIFY_NONE);
    } else if (conf->origin) {
        mbedtls_ssl_conf_authmode(&conf->ssl, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_ca_chain(&conf->ssl, &conf->bundle, NULL);
        tls_compat_conf_origin_sig_algs(&conf->ssl);
    } else {
        mbedtls_ssl_conf_authmode(&conf->ssl, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_ca_chain(&conf->ssl, &conf->bundle, NULL);
        rc = mbedtls_ssl_conf_own_cert(&conf->ssl, &conf->own_chain, &conf->own_key);
        if (rc != 0)
            return err_set(e, "tls conf: own certificate: %s", conf_strerror(rc, eb, sizeof(eb)));
    }
    tls_compat_conf_versions(&conf->ssl);
    /*
     * ChaCha20-Poly1305 first: constant-time and fast in software on ARM
     * cores without AES instructions (most edge gateways); AES-GCM second,
     * for peers (and x86) that prefer it. TLS 1.2 with ECDHE-ECDSA only:
     * weft keys are P-256, and every 1.2 suite has forward secrecy.
     */
    static const int suites[] = {
        TLS_COMPAT_TLS13_SUITES MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        0,
    };
    /*
     * Origination talks to servers weft did not set up, which mostly hold
     * RSA keys: their TLS 1.2 suites follow, in the same order (still
     * ECDHE and AEAD only). TLS 1.3 suites do not depend on the key.
     */
    static const int origin_suites[] = {
        TLS_COMPAT_TLS13_SUITES MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
#if defined(MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED)
        MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
#endif
        0,
    };
    _Static_assert(sizeof(suites) <= sizeof(conf->ciphersuites), "ciphersuite table too small");
    _Static_assert(sizeof(origin_suites) <= sizeof(conf->ciphersuites),
                   "ciphersuite table too small");
    if (conf->origin)
        memcpy(conf->ciphersuites, origin_suites, sizeof(origin_suites));
    else
        memcpy(conf->ciphersuites, suites, sizeof(suites));
    mbedtls_ssl_conf_ciphersuites(&conf->ssl, conf->ciphersuites);
    if (conf->role == TLS_ROLE_SERVER) {
        rc = mbedtls_ssl_ticket_setup(&conf->ticket, conf_rng, NULL, MBEDTLS_CIPHER_AES_256_GCM,
                                      TLS_TICKET_LIFETIME_S);
        if (rc != 0)
            return err_set(e, "tls conf: ticket setup: %s", conf_strerror(rc, eb, sizeof(eb)));
        conf->ticket_ready = true;
        if (tls_random(conf->id_key, sizeof(conf->id_key), e) != 0)
            return -1;
        mbedtls_ssl_conf_session_tickets_cb(&conf->ssl, conf_ticket_write, conf_ticket_parse, conf);
        /* Always: the session learns the name even with no certificate added. */
        mbedtls_ssl_conf_sni(&conf->ssl, tls_sess_priv_sni_cb, conf);
    } else {
        mbedtls_ssl_conf_session_tickets(&conf->ssl, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
        tls_compat_conf_client_tickets(&conf->ssl);
        conf->cache = calloc(TLS_SESS_CACHE_MAX, sizeof(*conf->cache));
        if (!conf->cache)
            return err_set(e, "tls conf: out of memory");
        for (size_t i = 0; i < TLS_SESS_CACHE_MAX; i++)
            mbedtls_ssl_session_init(&conf->cache[i].session);
    }
    return 0;
}

struct tls_conf *tls_conf_new(enum tls_role role, const char *cert_pem_path,
                              const char *key_pem_path, const char *bundle_pem_path,
                              struct weft_err *e)
{
    char eb[192];
    struct tls_conf *conf = conf_alloc(role, e);
    if (!conf)
        return NULL;
    int rc = mbedtls_x509_crt_parse_file(&conf->own_chain, cert_pem_path);
    if (rc != 0) {
        err_set(e, "tls conf: certificate %s: %s", cert_pem_path,
                conf_strerror(rc, eb, sizeof(eb)));
        goto fail;
    }
    rc = tls_compat_pk_parse_keyfile(&conf->own_key, key_pem_path, conf_rng, NULL);
    if (rc != 0) {
        err_set(e, "tls conf: key %s: %s", key_pem_path, conf_strerror(rc, eb, sizeof(eb)));
        goto fail;
    }
    rc = mbedtls_x509_crt_parse_file(&conf->bundle, bundle_pem_path);
    if (rc != 0) {
        err_set(e, "tls conf: trust bundle %s: %s", bundle_pem_path,
                conf_strerror(rc, eb, sizeof(eb)));
        goto fail;
    }
    if (conf_setup(conf, e) != 0)
        goto fail;
    return conf;
fail:
    tls_conf_free(conf);
    return NULL;
}

struct tls_conf *tls_conf_new_pem(enum tls_role role, const char *cert_pem, const char *key_pem,
                                  const char *bundle_pem, struct weft_err *e)
{
    char eb[192];
    struct tls_conf *conf = conf_alloc(role, e);
    if (!conf)
        return NULL;
    /* PEM parsers want the terminating NUL counted. */
    int rc = mbedtls_x509_crt_parse(&conf->own_chain, (const unsigned char *)cert_pem,
                                    strlen(cert_pem) + 1);
    if (rc != 0) {
        err_set(e, "tls conf: certificate: %s", conf_strerror(rc, eb, sizeof(eb)));
        goto fail;
    }
    rc = tls_compat_pk_parse_key(&conf->own_key, (const unsigned char *)key_pem,
                                 strlen(key_pem) + 1, conf_rng, NULL);
    if (rc != 0) {
        err_set(e, "tls conf: key: %s", conf_strerror(rc, eb, sizeof(eb)));
        goto fail;
    }
    rc = mbedtls_x509_crt_parse(&conf->bundle, (const unsigned char *)bundle_pem,
                                strlen(bundle_pem) + 1);
    if (rc != 0) {
        err_set(e, "tls conf: trust bundle: %s", conf_strerror(rc, eb, sizeof(eb)));
        goto fail;
    }
    if (conf_setup(conf, e) != 0)
        goto fail;
    return conf;
fail:
    tls_conf_free(conf);
    return NULL;
}

void tls_conf_free(struct tls_conf *conf)
{
    if (!conf)
        return;
    if (conf->cache) {
        for (size_t i = 0; i < TLS_SESS_CACHE_MAX; i++)
            mbedtls_ssl_session_free(&conf->cache[i].session);
        free(conf->cache);
    }
    for (size_t i = 0; i < conf->n_accept; i++)
        free(conf->accept[i]);
    free(conf->accept);
    while (conf->sni_certs) {
        struct tls_sni_cert *c = conf->sni_certs;
        conf->sni_certs = c->next;
        mbedtls_x509_crt_free(&c->chain);
        mbedtls_pk_free(&c->key);
        free(c);
    }
    mbedtls_ssl_ticket_free(&conf->ticket);
    mbedtls_ssl_config_free(&conf->ssl);
    mbedtls_x509_crt_free(&conf->own_chain);
    mbedtls_pk_free(&conf->own_key);
    mbedtls_x509_crt_free(&conf->bundle);
    mbedtls_platform_zeroize(conf->id_key, sizeof(conf->id_key));
    free(conf);
}

/* ---- accepted peers ---- */

int tls_conf_set_trust_domain(struct tls_conf *conf, const char *td, struct weft_err *e)
{
    size_t n = strlen(td);
    if (n == 0 || n >= sizeof(conf->trust_domain))
        return err_set(e, "tls conf: trust domain of %zu bytes", n);
    for (size_t i = 0; i < n; i++) {
        char c = td[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return err_set(e, "tls conf: trust domain has a byte 0x%02x outside [a-z0-9.-]",
                           (unsigned)(unsigned char)c);
    }
    memcpy(conf->trust_domain, td, n + 1);
    return 0;
}

int tls_conf_accept_id(struct tls_conf *conf, const char *id, struct weft_err *e)
{
    size_t n = strlen(id);
    if (n < 10 || n > TLS_PEER_ID_MAX || strncmp(id, "spiffe://", 9) != 0)
        return err_set(e, "tls conf: accepted ID must be a spiffe:// URI of at most %d bytes",
                       TLS_PEER_ID_MAX);
    char **grown = realloc(conf->accept, (conf->n_accept + 1) * sizeof(*grown));
    if (!grown)
        return err_set(e, "tls conf: out of memory");
    conf->accept = grown;
    char *copy = malloc(n + 1);
    if (!copy)
        return err_set(e, "tls conf: out of memory");
    memcpy(copy, id, n + 1);
    conf->accept[conf->n_accept++] = copy;
    return 0;
}

int tls_conf_accept_list(struct tls_conf *conf, const char *csv, struct weft_err *e)
{
    const char *p = csv;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char id[TLS_PEER_ID_MAX + 1];
        if (n > TLS_PEER_ID_MAX)
            return err_set(e, "tls conf: accepted ID longer than %d bytes", TLS_PEER_ID_MAX);
        memcpy(id, p, n);
        id[n] = '\0';
        if (n > 0 && tls_conf_accept_id(conf, id, e) != 0)
            return -1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

void tls_conf_set_accept_fn(struct tls_conf *conf, tls_accept_fn fn, void *arg)
{
    conf->accept_fn = fn;
    conf->accept_arg = arg;
}

enum tls_role tls_conf_role(const struct tls_conf *conf)
{
    return conf->role;
}

const struct tls_stats *tls_conf_stats(const struct tls_conf *conf)
{
    return &conf->stats;
}

void tls_conf_carry_stats(struct tls_conf *to, const struct tls_conf *from)
{
    if (!to || !from || to == from)
        return;
    to->stats.handshakes += from->stats.handshakes;
    to->stats.resumed += from->stats.resumed;
    for (int f = 0; f < TLS_FAIL_MAX; f++)
        to->stats.fail[f] += from->stats.fail[f];
}

enum tls_fail tls_conf_check_td(const struct tls_conf *conf, const char *id)
{
    size_t tdlen = strlen(conf->trust_domain);
    if (strncmp(id, "spiffe://", 9) != 0)
        return TLS_FAIL_NO_SPIFFE_ID;
    if (tdlen == 0 || strncmp(id + 9, conf->trust_domain, tdlen) != 0 ||
        (id[9 + tdlen] != '/' && id[9 + tdlen] != '\0'))
        return TLS_FAIL_TRUST_DOMAIN;
    return TLS_FAIL_NONE;
}

enum tls_fail tls_conf_check_id(const struct tls_conf *conf, const char *id)
{
    enum tls_fail f = tls_conf_check_td(conf, id);
    if (f != TLS_FAIL_NONE)
        return f;
    for (size_t i = 0; i < conf->n_accept; i++)
        if (strcmp(conf->accept[i], id) == 0)
            return TLS_FAIL_NONE;
    if (conf->accept_fn && conf->accept_fn(conf->accept_arg, id))
        return TLS_FAIL_NONE;
    return TLS_FAIL_ID_NOT_ACCEPTED;
}

/* ---- client session cache ---- */

struct tls_cache_entry *tls_conf_cache_find(struct tls_conf *conf, const char *peer_key)
{
    if (!conf->cache || !peer_key)
        return NULL;
    for (size_t i = 0; i < TLS_SESS_CACHE_MAX; i++) {
        struct tls_cache_entry *c = &conf->cache[i];
        if (c->used && strcmp(c->peer_key, peer_key) == 0) {
            c->last_use = ++conf->use_clock;
            return c;
        }
    }
    return NULL;
}

int tls_conf_cache_store(struct tls_conf *conf, const char *peer_key, const char *peer_id,
                         const char *sni, mbedtls_ssl_context *ssl)
{
    if (!conf->cache || !peer_key || strlen(peer_key) >= sizeof(conf->cache[0].peer_key))
        return -1;
    struct tls_cache_entry *slot = NULL;
    for (size_t i = 0; i < TLS_SESS_CACHE_MAX && !slot; i++)
        if (conf->cache[i].used && strcmp(conf->cache[i].peer_key, peer_key) == 0)
            slot = &conf->cache[i];
    for (size_t i = 0; i < TLS_SESS_CACHE_MAX && !slot; i++)
        if (!conf->cache[i].used)
            slot = &conf->cache[i];
    if (!slot) { /* least recently used */
        slot = &conf->cache[0];
        for (size_t i = 1; i < TLS_SESS_CACHE_MAX; i++)
            if (conf->cache[i].last_use < slot->last_use)
                slot = &conf->cache[i];
    }
    mbedtls_ssl_session_free(&slot->session);
    mbedtls_ssl_session_init(&slot->session);
    slot->used = false;
    if (mbedtls_ssl_get_session(ssl, &slot->session) != 0)
        return -1;
    snprintf(slot->peer_key, sizeof(slot->peer_key), "%s", peer_key);
    snprintf(slot->peer_id, sizeof(slot->peer_id), "%s", peer_id);
    snprintf(slot->sni, sizeof(slot->sni), "%s", sni);
    slot->used = true;
    slot->last_use = ++conf->use_clock;
    return 0;
}

void tls_conf_forget_session(struct tls_conf *conf, const char *peer_key)
{
    struct tls_cache_entry *c = tls_conf_cache_find(conf, peer_key);
    if (!c)
        return;
    mbedtls_ssl_session_free(&c->session);
    mbedtls_ssl_session_init(&c->session);
    c->used = false;
}

/* ---- certificates by server name (server) ---- */

bool tls_conf_sni_name_ok(const char *name, size_t n)
{
    if (n == 0 || n > TLS_SNI_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

const struct tls_sni_cert *tls_conf_sni_find(const struct tls_conf *conf, const char *name)
{
    for (const struct tls_sni_cert *c = conf->sni_certs; c; c = c->next)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

int tls_conf_add_sni_cert(struct tls_conf *conf, const char *name, const char *cert_pem,
                          const char *key_pem, struct weft_err *e)
{
    char eb[192];
    if (conf->role != TLS_ROLE_SERVER)
        return err_set(e, "tls conf: certificates by server name are for a server");
    if (!name || !tls_conf_sni_name_ok(name, strlen(name)))
        return err_set(e, "tls conf: server name must be 1-%d bytes of A-Z a-z 0-9 . _ -",
                       TLS_SNI_MAX);
    if (tls_conf_sni_find(conf, name))
        return err_set(e, "tls conf: server name '%s' already has a certificate", name);
    struct tls_sni_cert *c = calloc(1, sizeof(*c));
    if (!c)
        return err_set(e, "tls conf: out of memory");
    snprintf(c->name, sizeof(c->name), "%s", name);
    mbedtls_x509_crt_init(&c->chain);
    mbedtls_pk_init(&c->key);
    /* PEM parsers want the terminating NUL counted. */
    int rc =
        mbedtls_x509_crt_parse(&c->chain, (const unsigned char *)cert_pem, strlen(cert_pem) + 1);
    if (rc != 0) {
        err_set(e, "tls conf: certificate for '%s': %s", name, conf_strerror(rc, eb, sizeof(eb)));
        goto fail;
    }
    rc = tls_compat_pk_parse_key(&c->key, (const unsigned char *)key_pem, strlen(key_pem) + 1,
                                 conf_rng, NULL);
    if (rc != 0) {
        err_set(e, "tls conf: key for '%s': %s", name, conf_strerror(rc, eb, sizeof(eb)));
        goto fail;
    }
    rc = tls_compat_pk_check_pair(&c->chain.pk, &c->key, conf_rng, NULL);
    if (rc != 0) {
        err_set(e, "tls conf: the key for '%s' does not match its certificate: %s", name,
                conf_strerror(rc, eb, sizeof(eb)));
        goto fail;
    }
    c->next = conf->sni_certs;
    conf->sni_certs = c;
    return 0;
fail:
    mbedtls_x509_crt_free(&c->chain);
    mbedtls_pk_free(&c->key);
    free(c);
    return -1;
}

void tls_conf_sni_required(struct tls_conf *conf, bool required)
{
    conf->sni_required = required;
}

void tls_conf_set_clock_offset(struct tls_conf *conf, const int64_t *offset_ms)
{
    conf->clock_offset_ms = offset_ms;
}

struct tls_conf *tls_conf_new_pinned(const char *pin_hex, struct weft_err *e)
{
    struct tls_conf *conf = conf_alloc(TLS_ROLE_CLIENT, e);
    if (!conf)
        return NULL;
    conf->pinned = true;
    for (size_t i = 0; i < 32; i++) {
        unsigned v;
        if (!pin_hex || strlen(pin_hex) != 64 || sscanf(pin_hex + 2 * i, "%2x", &v) != 1 ||
            !strchr("0123456789abcdef", pin_hex[2 * i]) ||
            !strchr("0123456789abcdef", pin_hex[2 * i + 1])) {
            err_set(e, "tls conf: the pin must be 64 lowercase hex digits (SHA-256)");
            tls_conf_free(conf);
            return NULL;
        }
        conf->pin[i] = (unsigned char)v;
    }
    if (conf_setup(conf, e) != 0) {
        tls_conf_free(conf);
        return NULL;
    }
    return conf;
}

struct tls_conf *tls_conf_new_origin(const char *ca_file, struct weft_err *e)
{
    char eb[192];
    struct tls_conf *conf = conf_alloc(TLS_ROLE_CLIENT, e);
    if (!conf)
        return NULL;
    conf->origin = true;
    /* A PEM bundle: a positive count is of certificates that did not parse
     * while others did (system bundles hold a few mbedTLS cannot read). */
    int rc = mbedtls_x509_crt_parse_file(&conf->bundle, ca_file);
    if (rc < 0) {
        err_set(e, "tls conf: CA file %s: %s", ca_file, conf_strerror(rc, eb, sizeof(eb)));
        goto fail;
    }
    if (conf->bundle.version == 0) {
        err_set(e, "tls conf: CA file %s: no certificate could be read", ca_file);
        goto fail;
    }
    if (rc > 0)
        log_warn(LOG_TLS, "tls conf: CA file %s: %d certificate%s skipped (not readable)", ca_file,
                 rc, rc == 1 ? "" : "s");
    if (conf_setup(conf, e) != 0)
        goto fail;
    return conf;
fail:
    tls_conf_free(conf);
    return NULL;
}

void tls_conf_allow_anonymous(struct tls_conf *conf)
{
    conf->anonymous_ok = true;
    mbedtls_ssl_conf_authmode(&conf->ssl, MBEDTLS_SSL_VERIFY_OPTIONAL);
    /* No resumption: a resumed session could not tell anonymous from a
     * verified peer whose ID the ticket carries. */
    mbedtls_ssl_conf_session_tickets_cb(&conf->ssl, NULL, NULL, NULL);
}
