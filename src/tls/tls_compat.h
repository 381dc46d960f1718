/*
 * tls_compat: the ONLY place that knows which mbedTLS major version we build
 * against. weft supports 2.28 LTS (Debian 12, older firmware SDKs) and 3.6 LTS
 * (the release binary). Everything else in tls/ and pki/ codes against these
 * macros and inline helpers.
 *
 * Differences met so far:
 *   - 3.x needs psa_crypto_init() before any crypto (tls_lib_init does it);
 *   - certificate serials: 3.x takes raw bytes (set_serial_raw; the mpi
 *     setter is deprecated), 2.28 only an mpi;
 *   - mbedtls_pk_parse_key() and mbedtls_pk_check_pair(): 3.x takes an RNG
 *     (key blinding), 2.28 does not;
 *   - struct fields (e.g. mbedtls_x509_crt's ca_istrue): private in 3.x,
 *     reached through MBEDTLS_PRIVATE(); plain names in 2.28. Only tests read
 *     them (WEFT_MBEDTLS_PRIV).
 *   - TLS versions: 3.x sets them with mbedtls_ssl_conf_{min,max}_tls_version
 *     and offers TLS 1.3 (when MBEDTLS_SSL_PROTO_TLS1_3 is built in); 2.28
 *     speaks TLS 1.2 at most and takes (major, minor) pairs;
 *   - TLS 1.3 NewSessionTicket (3.x clients): ignored unless the client
 *     asks for a signal, then mbedtls_ssl_read() returns
 *     MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET once per ticket; 2.28
 *     has no such code (TLS 1.2 tickets arrive inside the handshake);
 *   - TLS 1.3 ciphersuite IDs exist in 3.x only;
 *   - mbedtls_ssl_is_handshake_over() is 3.x only (2.28: the state field);
 *   - a 3.6 client refuses to resume a TLS 1.3 session under another host
 *     name than it was made with (MBEDTLS_ERR_SSL_BAD_INPUT_DATA before the
 *     ClientHello); tls_sess.c offers a kept session only under its own SNI,
 *     on both versions. The SNI callback itself (mbedtls_ssl_conf_sni, with
 *     mbedtls_ssl_set_hs_own_cert) is the same on both.
 *   - a 3.x client offering TLS 1.3 lists RSA-PSS among its signature
 *     algorithms, and an OpenSSL server speaking TLS 1.2 then signs its
 *     ServerKeyExchange with RSA-PSS, which 3.6.6's TLS 1.2 code refuses
 *     (illegal_parameter; Mbed-TLS/mbedtls#10674, fixed after 3.6.6). An
 *     origination client (RSA servers) lists PKCS#1 v1.5 before PSS: TLS
 *     1.2 servers pick it, TLS 1.3 never uses it for a handshake signature;
 *     2.28 offers no PSS in TLS 1.2 at all;
 * Not a difference, on purpose: 3.x has writers for the subjectAltName and
 * extendedKeyUsage extensions and 2.28 has neither; pki/x509.c writes both
 * extensions' DER itself on every version, so both builds test the same code.
 */
#ifndef WEFT_TLS_COMPAT_H
#define WEFT_TLS_COMPAT_H

#include <mbedtls/version.h>

#include <mbedtls/bignum.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/ssl.h>

#include <stddef.h>
#include <stdint.h>

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define WEFT_MBEDTLS_3 1
#include <psa/crypto.h>
#else
#define WEFT_MBEDTLS_3 0
#endif

#if MBEDTLS_VERSION_NUMBER < 0x021C0000
#error "weft needs mbedTLS 2.28 or newer"
#endif

/* The proxy names the target service in the SNI (on by default in both). */
#if !defined(MBEDTLS_SSL_SERVER_NAME_INDICATION)
#error "weft needs mbedTLS built with MBEDTLS_SSL_SERVER_NAME_INDICATION"
#endif

/* A struct member that 3.x marks private (tests only). */
#if WEFT_MBEDTLS_3
#define WEFT_MBEDTLS_PRIV(member) MBEDTLS_PRIVATE(member)
#else
#define WEFT_MBEDTLS_PRIV(member) member
#endif

/** The RNG callback type mbedTLS takes (3.x names it mbedtls_f_rng_t). */
typedef int (*tls_compat_rng_fn)(void *ctx, unsigned char *buf, size_t len);

/**
 * Set a certificate's serial from len big-endian bytes (len <= 20).
 * Returns 0 or an mbedTLS error code.
 */
static inline int tls_compat_crt_set_serial(mbedtls_x509write_cert *crt, const unsigned char *buf,
                                            size_t len)
{
#if WEFT_MBEDTLS_3
    return mbedtls_x509write_crt_set_serial_raw(crt, (unsigned char *)buf, len);
#else
    mbedtls_mpi serial;
    mbedtls_mpi_init(&serial);
    int rc = mbedtls_mpi_read_binary(&serial, buf, len);
    if (rc == 0)
        rc = mbedtls_x509write_crt_set_serial(crt, &serial);
    mbedtls_mpi_free(&serial);
    return rc;
#endif
}

/**
 * Parse a private key (PEM with its NUL counted in keylen, or DER), no
 * password. rng is used by 3.x only. Returns 0 or an mbedTLS error code.
 */
static inline int tls_compat_pk_parse_key(mbedtls_pk_context *pk, const unsigned char *key,
                                          size_t keylen, tls_compat_rng_fn rng, void *rng_ctx)
{
#if WEFT_MBEDTLS_3
    return mbedtls_pk_parse_key(pk, key, keylen, NULL, 0, rng, rng_ctx);
#else
    (void)rng;
    (void)rng_ctx;
    return mbedtls_pk_parse_key(pk, key, keylen, NULL, 0);
#endif
}

/**
 * Does the private key prv belong to the public key pub (e.g. a
 * certificate's)? rng is used by 3.x only. Returns 0 if it does.
 */
static inline int tls_compat_pk_check_pair(const mbedtls_pk_context *pub,
                                           const mbedtls_pk_context *prv, tls_compat_rng_fn rng,
                                           void *rng_ctx)
{
#if WEFT_MBEDTLS_3
    return mbedtls_pk_check_pair(pub, prv, rng, rng_ctx);
#else
    (void)rng;
    (void)rng_ctx;
    return mbedtls_pk_check_pair(pub, prv);
#endif
}

/** Offer TLS 1.2 up to the newest version this mbedTLS speaks (1.3 on 3.x, if built in). */
static inline void tls_compat_conf_versions(mbedtls_ssl_config *conf)
{
#if WEFT_MBEDTLS_3
    mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    mbedtls_ssl_conf_max_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_3);
#else
    mbedtls_ssl_conf_max_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
#endif
#else
    mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
}

/* TLS 1.3 is available in this build (3.x with MBEDTLS_SSL_PROTO_TLS1_3). */
#if WEFT_MBEDTLS_3 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
#define TLS_COMPAT_HAS_TLS13 1
#else
#define TLS_COMPAT_HAS_TLS13 0
#endif

/*
 * The TLS 1.3 ciphersuites weft offers, ChaCha20-Poly1305 first, then
 * AES-GCM (as a list body: ends with a comma, or is empty on 2.28).
 */
#if TLS_COMPAT_HAS_TLS13
#define TLS_COMPAT_TLS13_SUITES                                                                    \
    MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256, MBEDTLS_TLS1_3_AES_128_GCM_SHA256,                    \
        MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
#else
#define TLS_COMPAT_TLS13_SUITES
#endif

/** Client: have TLS 1.3 NewSessionTicket messages signalled (a no-op on 2.28). */
static inline void tls_compat_conf_client_tickets(mbedtls_ssl_config *conf)
{
#if TLS_COMPAT_HAS_TLS13 && defined(MBEDTLS_SSL_SESSION_TICKETS)
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
        conf, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
#else
    (void)conf;
#endif
}

/**
 * Origination client: signature algorithms with RSA PKCS#1 v1.5 before
 * RSA-PSS (see above; ECDSA first, as mbedTLS's default). A no-op on 2.28.
 */
static inline void tls_compat_conf_origin_sig_algs(mbedtls_ssl_config *conf)
{
#if WEFT_MBEDTLS_3
    static const uint16_t algs[] = {
        MBEDTLS_TLS1_3_SIG_ECDSA_SECP256R1_SHA256, MBEDTLS_TLS1_3_SIG_ECDSA_SECP384R1_SHA384,
        MBEDTLS_TLS1_3_SIG_ECDSA_SECP521R1_SHA512, MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA256,
        MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA384,       MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA512,
        MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA256,    MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA384,
        MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA512,    MBEDTLS_TLS1_3_SIG_NONE,
    };
    mbedtls_ssl_conf_sig_algs(conf, algs);
#else
    (void)conf;
#endif
}

/** Is rc "a TLS 1.3 NewSessionTicket arrived" (never on 2.28)? */
static inline int tls_compat_is_new_ticket(int rc)
{
#if TLS_COMPAT_HAS_TLS13
    return rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET;
#else
    (void)rc;
    return 0;
#endif
}

/** Is the negotiated protocol TLS 1.3? (Only meaningful after the handshake.) */
static inline int tls_compat_is_tls13(const mbedtls_ssl_context *ssl)
{
#if TLS_COMPAT_HAS_TLS13
    return mbedtls_ssl_get_version_number(ssl) == MBEDTLS_SSL_VERSION_TLS1_3;
#else
    (void)ssl;
    return 0;
#endif
}

/** Is the handshake over? */
static inline int tls_compat_is_handshake_over(mbedtls_ssl_context *ssl)
{
#if WEFT_MBEDTLS_3
    return mbedtls_ssl_is_handshake_over(ssl);
#else
    return ssl->state == MBEDTLS_SSL_HANDSHAKE_OVER;
#endif
}

/**
 * Sign a hash with a private key into sig (cap bytes; an ECDSA P-256
 * signature is at most MBEDTLS_PK_SIGNATURE_MAX_SIZE). 2.28 takes no size
 * and trusts the buffer to be large enough. Returns 0 or an mbedTLS error.
 */
static inline int tls_compat_pk_sign(mbedtls_pk_context *pk, mbedtls_md_type_t md,
                                     const unsigned char *hash, size_t hash_len, unsigned char *sig,
                                     size_t cap, size_t *sig_len, tls_compat_rng_fn rng,
                                     void *rng_ctx)
{
#if WEFT_MBEDTLS_3
    return mbedtls_pk_sign(pk, md, hash, hash_len, sig, cap, sig_len, rng, rng_ctx);
#else
    if (cap < MBEDTLS_PK_SIGNATURE_MAX_SIZE)
        return MBEDTLS_ERR_PK_BAD_INPUT_DATA;
    return mbedtls_pk_sign(pk, md, hash, hash_len, sig, sig_len, rng, rng_ctx);
#endif
}

/** Read a private key file (PEM or DER, no password). Returns 0 or an mbedTLS error code. */
static inline int tls_compat_pk_parse_keyfile(mbedtls_pk_context *pk, const char *path,
                                              tls_compat_rng_fn rng, void *rng_ctx)
{
#if WEFT_MBEDTLS_3
    return mbedtls_pk_parse_keyfile(pk, path, NULL, rng, rng_ctx);
#else
    (void)rng;
    (void)rng_ctx;
    return mbedtls_pk_parse_keyfile(pk, path, NULL);
#endif
}

#endif
