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

#include <stddef.h>

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define WEFT_MBEDTLS_3 1
#include <psa/crypto.h>
#else
#define WEFT_MBEDTLS_3 0
#endif

#if MBEDTLS_VERSION_NUMBER < 0x021C0000
#error "weft needs mbedTLS 2.28 or newer"
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

#endif
