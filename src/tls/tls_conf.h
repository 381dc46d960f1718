/*
 * tls_conf: an mTLS configuration, shared by every session of one role
 * (a listener's server side, or the client side towards peers).
 *
 * Every weft connection is mutual TLS (docs/identity.md, "mTLS"):
 *   - both sides present a certificate and both require one
 *     (MBEDTLS_SSL_VERIFY_REQUIRED on the server too);
 *   - the peer is accepted when its chain ends at the trust bundle AND its
 *     one URI SAN is a SPIFFE ID of the expected trust domain AND that ID is
 *     in the accepted set or passes the caller's predicate. With neither a
 *     set nor a predicate nobody is accepted (fail closed). Host names are
 *     never checked: identity is the SPIFFE ID alone;
 *   - TLS 1.3 and 1.2 on mbedTLS 3.6, TLS 1.2 on 2.28, nothing older;
 *     ChaCha20-Poly1305 first, AES-GCM second; TLS 1.2 with ECDHE-ECDSA only;
 *   - the server issues session tickets (mbedtls_ssl_ticket, its key rotated
 *     every TLS_TICKET_LIFETIME_S); the client keeps one session per peer key
 *     (TLS_SESS_CACHE_MAX peers, least recently used replaced) and offers it
 *     on the next connection to that peer;
 *   - server name indication (SNI) names a service, not a host: a server
 *     presents the certificate added for the name the client sent
 *     (tls_conf_add_sni_cert), else its own; with tls_conf_sni_required a
 *     client whose name matches no added one, or that sends none, is refused
 *     (TLS_FAIL_UNKNOWN_SNI). A client sends a name per session
 *     (tls_sess_set_sni) and still checks only the SPIFFE ID.
 * One exception: an origination conf (tls_conf_new_origin) is a client for
 * ordinary TLS servers outside the mesh — no certificate of our own, the
 * server's chain verified against a CA file, and the server's certificate
 * checked for the name set with tls_sess_set_sni (mbedTLS's DNS SAN / CN
 * match, TLS_FAIL_NAME_MISMATCH); no SPIFFE rules, no trust domain. A
 * session with no name is refused before anything is sent: an IP address
 * is never matched (mbedTLS 2.28 cannot, 3.6 could; both builds behave the
 * same). ECDHE-RSA suites are offered too for TLS 1.2 (public servers
 * mostly hold RSA keys); the rest is as above.
 * Certificate validity is judged against mbedTLS's own time source
 * (mbedtls_time(), the system's wall clock), not weft's core/clock.
 *
 * A conf also holds the failure counters (struct tls_stats) of its sessions.
 * Owner: the caller of tls_conf_new(); it must outlive its sessions.
 * Not thread-safe (one event loop).
 */
#ifndef WEFT_TLS_TLS_CONF_H
#define WEFT_TLS_TLS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* weft's IDs are at most 9 + 253 + 6 + 63 = 331 bytes (pki/spiffe.h); a peer ID
 * longer than this is refused rather than truncated. */
#define TLS_PEER_ID_MAX 512
/* Ticket key lifetime (rotation period) and ticket lifetime: 12 hours, half a
 * service certificate's default life; TLS 1.3 allows at most 7 days. */
#define TLS_TICKET_LIFETIME_S (12 * 3600)
/* Client sessions kept, one per peer key: a gateway talks to few peers. */
#define TLS_SESS_CACHE_MAX 16
/* A server name (SNI): a DNS name's length limit; weft sends service names
 * (at most 63 bytes, pki/spiffe.h) of the bytes A-Z a-z 0-9 . _ - */
#define TLS_SNI_MAX 253

enum tls_role { TLS_ROLE_CLIENT, TLS_ROLE_SERVER };

/** Why a handshake failed (the counters of struct tls_stats). */
enum tls_fail {
    TLS_FAIL_NONE,
    TLS_FAIL_NO_CLIENT_CERT,  /* server: the client sent no certificate */
    TLS_FAIL_BAD_CHAIN,       /* not signed by the bundle (unknown CA), or bad signature */
    TLS_FAIL_EXPIRED,         /* peer certificate (or its CA) past notAfter */
    TLS_FAIL_NOT_YET_VALID,   /* peer certificate (or its CA) before notBefore */
    TLS_FAIL_NO_SPIFFE_ID,    /* not exactly one URI SAN, or not a spiffe:// URI */
    TLS_FAIL_TRUST_DOMAIN,    /* a SPIFFE ID of another trust domain */
    TLS_FAIL_ID_NOT_ACCEPTED, /* right trust domain, ID not accepted */
    TLS_FAIL_PEER_ALERT,      /* the peer refused us (fatal alert received) */
    TLS_FAIL_PROTOCOL,        /* anything else: versions, suites, malformed records */
    TLS_FAIL_UNKNOWN_SNI,     /* server: SNI matches no added name, or none (sni_required) */
    TLS_FAIL_NAME_MISMATCH,   /* origination: the certificate is not for the name sent, or none */
    TLS_FAIL_MAX
};

/** Counters of one conf's sessions. */
struct tls_stats {
    uint64_t handshakes;         /* completed and accepted */
    uint64_t resumed;            /* of which resumed from a ticket */
    uint64_t fail[TLS_FAIL_MAX]; /* by reason; fail[TLS_FAIL_NONE] stays 0 */
};

/** A predicate on a peer's SPIFFE ID (already checked for the trust domain). */
typedef bool (*tls_accept_fn)(void *arg, const char *spiffe_id);

struct tls_conf;

/** "no_client_cert", "bad_chain", "expired", ... ("none" for TLS_FAIL_NONE). */
const char *tls_fail_name(enum tls_fail f);

/**
 * A conf for role from PEM files: our certificate (leaf first; more
 * certificates may follow), its private key, and the trust bundle.
 * The key must match the certificate. Calls tls_lib_init() if needed.
 * Returns the conf (caller owns it: tls_conf_free), or NULL with a message in e.
 */
struct tls_conf *tls_conf_new(enum tls_role role, const char *cert_pem_path,
                              const char *key_pem_path, const char *bundle_pem_path,
                              struct weft_err *e);

/** The same from NUL-terminated PEM strings (tests, enrollment). */
struct tls_conf *tls_conf_new_pem(enum tls_role role, const char *cert_pem, const char *key_pem,
                                  const char *bundle_pem, struct weft_err *e);

/**
 * A client conf for enrollment: no certificate of our own; the server's
 * chain must contain a root whose SHA-256 (of its DER) is pin_hex (64
 * lowercase hex digits) and the server's leaf must verify against that root,
 * carry a SPIFFE ID of the trust domain and pass the accept rules; checked
 * when the handshake is over, before any data is written. Returns the conf,
 * or NULL with a message in e.
 */
struct tls_conf *tls_conf_new_pinned(const char *pin_hex, struct weft_err *e);

/**
 * A client conf for TLS origination to a server outside the mesh: no
 * certificate of our own; the server's chain must verify against the
 * certificates of ca_file (PEM; a system bundle is fine: certificates
 * mbedTLS cannot parse are skipped, with a warning, as long as one parses),
 * and its certificate must carry the name each session sets with
 * tls_sess_set_sni (required: a session without one fails its first
 * handshake step as TLS_FAIL_NAME_MISMATCH). No trust domain, no accept
 * rules: the peer ID of such a session is "". Sessions are kept for
 * resumption as usual (peer key and name). Returns the conf, or NULL with
 * a message in e.
 */
struct tls_conf *tls_conf_new_origin(const char *ca_file, struct weft_err *e);

/**
 * Server: also let clients without a certificate through, with the peer ID
 * "" (for enrollment). A client that does present a certificate must still
 * pass every check. Disables session tickets on this conf.
 */
void tls_conf_allow_anonymous(struct tls_conf *conf);

/** Release a conf; accepts NULL. Its sessions must be freed first. */
void tls_conf_free(struct tls_conf *conf);

/**
 * The trust domain peers must belong to (bare: "example.org"). Required
 * before the first session. Returns 0, or -1 with a message in e.
 */
int tls_conf_set_trust_domain(struct tls_conf *conf, const char *td, struct weft_err *e);

/**
 * Accept one more peer ID (the whole URI, e.g. "spiffe://example.org/svc/a").
 * Returns 0, or -1 with a message in e.
 */
int tls_conf_accept_id(struct tls_conf *conf, const char *id, struct weft_err *e);

/**
 * Accept a comma-separated list of IDs ("spiffe://td/svc/a,spiffe://td/svc/b").
 * Returns 0, or -1 with a message in e.
 */
int tls_conf_accept_list(struct tls_conf *conf, const char *csv, struct weft_err *e);

/** Also accept IDs for which fn(arg, id) returns true (NULL removes it). */
void tls_conf_set_accept_fn(struct tls_conf *conf, tls_accept_fn fn, void *arg);

/** The role given to tls_conf_new(). */
enum tls_role tls_conf_role(const struct tls_conf *conf);

/** The counters (owned by the conf). */
const struct tls_stats *tls_conf_stats(const struct tls_conf *conf);

/**
 * Add from's counters to to's: for a conf replacing another (renewed
 * certificates), so that the counters a listener shows never go back.
 * Handshakes still finishing on `from` after this are not carried.
 */
void tls_conf_carry_stats(struct tls_conf *to, const struct tls_conf *from);

/**
 * Debug only ([debug] clock_offset): judge the peer's certificate dates by
 * weft's wall clock plus *offset_ms (read at each handshake) instead of
 * mbedTLS's clock, so agents whose certificate clocks were moved together
 * accept each other's certificates. NULL restores mbedTLS's judgement.
 */
void tls_conf_set_clock_offset(struct tls_conf *conf, const int64_t *offset_ms);

/**
 * Server: present cert_pem (a NUL-terminated PEM chain, leaf first) and
 * key_pem when a client's SNI equals name exactly (case-sensitive, like the
 * service names it carries). name is 1..TLS_SNI_MAX bytes of A-Z a-z 0-9 .
 * _ - and not added before (a renewed certificate means a new conf, as for
 * the conf's own). The key must match the certificate. The conf owns the
 * copies (freed by tls_conf_free). Client verification of the peer is not
 * changed: the same bundle and accept rules. Returns 0, or -1 with a message
 * in e.
 */
int tls_conf_add_sni_cert(struct tls_conf *conf, const char *name, const char *cert_pem,
                          const char *key_pem, struct weft_err *e);

/**
 * Server: refuse (TLS_FAIL_UNKNOWN_SNI, alert unrecognized_name) a client
 * whose SNI matches no name added with tls_conf_add_sni_cert, or that sends
 * no SNI at all (also when resuming). Off by default: such a client gets the
 * conf's own certificate.
 */
void tls_conf_sni_required(struct tls_conf *conf, bool required);

/** Client: forget the session kept for peer_key (e.g. after a certificate change). */
void tls_conf_forget_session(struct tls_conf *conf, const char *peer_key);

#endif
