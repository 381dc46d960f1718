/*
 * tls_priv: what tls_conf.c and tls_sess.c share, private to tls/.
 *
 * The conf owns the mbedTLS config, our certificate and key, the bundle, the
 * certificates by SNI and the ticket context (server), the client session
 * cache and the counters. The
 * ticket callbacks get only the conf, so while a session calls into mbedTLS
 * the conf points at it (`active`): one event loop, no threads, and the
 * pointer is set and cleared around each mbedTLS call (tls_sess.c).
 */
#ifndef WEFT_TLS_TLS_PRIV_H
#define WEFT_TLS_TLS_PRIV_H

#include "tls/tls_compat.h"
#include "tls/tls_conf.h"

#include "core/log.h"

#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ticket.h>

#include <stdint.h>

struct tls_sess;

/** A client session kept for resumption, with the ID it was verified as. */
struct tls_cache_entry {
    bool used;
    uint64_t last_use; /* conf->use_clock at the last store or offer */
    char peer_key[128];
    char peer_id[TLS_PEER_ID_MAX + 1];
    char sni[TLS_SNI_MAX + 1]; /* the name sent when it was made ("" none) */
    mbedtls_ssl_session session;
};

/** A server certificate chosen by SNI; a list node owned by the conf. */
struct tls_sni_cert {
    struct tls_sni_cert *next;
    char name[TLS_SNI_MAX + 1];
    mbedtls_x509_crt chain;
    mbedtls_pk_context key;
};

struct tls_conf {
    enum tls_role role;
    mbedtls_ssl_config ssl;
    mbedtls_x509_crt own_chain;
    mbedtls_pk_context own_key;
    mbedtls_x509_crt bundle;
    bool ticket_ready;
    mbedtls_ssl_ticket_context ticket;
    /* AES-256-GCM key sealing the peer ID into a TLS ticket (server). */
    unsigned char id_key[32];
    char trust_domain[256];
    char **accept; /* accepted IDs, malloc'ed; n_accept of them */
    size_t n_accept;
    tls_accept_fn accept_fn;
    void *accept_arg;
    struct tls_cache_entry *cache; /* TLS_SESS_CACHE_MAX entries (client) */
    uint64_t use_clock;
    const int64_t *clock_offset_ms; /* debug: judge validity by the wall clock + this */
    bool anonymous_ok;              /* server: clients without a certificate get peer ID "" */
    bool pinned;                    /* client: no own cert, server chain must reach pin */
    bool origin;                    /* client: no own cert, host name checked, no SPIFFE rules */
    bool sni_required;              /* server: refuse an unknown or missing SNI */
    struct tls_sni_cert *sni_certs; /* server: certificates by SNI (a short list) */
    unsigned char pin[32];          /* SHA-256 of the root's DER */
    struct tls_stats stats;
    struct log_ratelim fail_log;
    struct tls_sess *active; /* the session inside an mbedTLS call (see above) */
    int ciphersuites[16];
};

/**
 * Check a peer ID against the conf: trust domain, then the set or the
 * predicate. Returns TLS_FAIL_NONE or the reason.
 */
enum tls_fail tls_conf_check_id(const struct tls_conf *conf, const char *id);

/** The trust-domain half of tls_conf_check_id: TLS_FAIL_NONE, _NO_SPIFFE_ID or _TRUST_DOMAIN. */
enum tls_fail tls_conf_check_td(const struct tls_conf *conf, const char *id);

/** Is name (n bytes) a server name weft sends and takes: 1..TLS_SNI_MAX of A-Z a-z 0-9 . _ - */
bool tls_conf_sni_name_ok(const char *name, size_t n);

/** The certificate added for SNI name (server), or NULL. */
const struct tls_sni_cert *tls_conf_sni_find(const struct tls_conf *conf, const char *name);

/** The kept session for peer_key, or NULL (client). Marks it used. */
struct tls_cache_entry *tls_conf_cache_find(struct tls_conf *conf, const char *peer_key);
/** Keep ssl's session for peer_key, verified as peer_id, made with SNI sni (client). 0 or -1. */
int tls_conf_cache_store(struct tls_conf *conf, const char *peer_key, const char *peer_id,
                         const char *sni, mbedtls_ssl_context *ssl);

/** The ID sealed into the current server ticket: set by tls_sess.c (conf->active). */
const char *tls_sess_priv_peer_id(const struct tls_sess *s);
/** Store the ID unsealed from a ticket into the active session. */
void tls_sess_priv_set_ticket_id(struct tls_sess *s, const char *id);

/**
 * mbedTLS's SNI callback (server; p is the conf, whose active session is
 * ssl's): records the name in the session and picks the certificate.
 */
int tls_sess_priv_sni_cb(void *p, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len);

#endif
