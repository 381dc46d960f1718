/*
 * x509: the certificate-writing helpers that ca.c and issue.c share: the RNG
 * adapter, P-256 key generation, serials, validity times, the two extensions
 * weft writes as DER itself (subjectAltName with one URI, extendedKeyUsage),
 * files created with a fixed mode and never overwritten, and fingerprints.
 *
 * Internal to pki/: other layers use ca.h, issue.h and bundle.h. Keys pass
 * through here as mbedtls_pk_context or PEM buffers and are never logged.
 */
#ifndef WEFT_PKI_X509_H
#define WEFT_PKI_X509_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/sbuf.h"

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

/* 128 random bits, top bit clear (positive), next bit set (always 16 bytes). */
#define PKI_SERIAL_LEN 16
/* PEM of a P-256 key or a weft certificate fits easily (a cert is ~700 bytes). */
#define PKI_PEM_MAX 4096
/* "YYYYMMDDhhmmss", the form x509write_crt_set_validity takes, and its NUL. */
#define PKI_TIME_LEN 15
/* Backdating notBefore absorbs small clock differences between machines. */
#define PKI_BACKDATE_S 60

/** The RNG callback for mbedTLS: tls_random() behind the mbedTLS signature. */
int pki_x509_rng(void *ctx, unsigned char *buf, size_t len);

/**
 * Generate an ECDSA P-256 key into an initialised, empty pk. Returns 0, or -1
 * with a message in e.
 */
int pki_x509_key_generate(mbedtls_pk_context *pk, struct weft_err *e);

/** The key as PEM ("EC PRIVATE KEY") into out (cleared first). Returns 0 or -1. */
int pki_x509_key_pem(mbedtls_pk_context *pk, struct sbuf *out, struct weft_err *e);

/** Set a fresh random serial (see PKI_SERIAL_LEN). Returns 0 or -1. */
int pki_x509_set_serial(mbedtls_x509write_cert *crt, struct weft_err *e);

/**
 * Format unix seconds (UTC) as "YYYYMMDDhhmmss"; years 1950-9999 only.
 * Computed without time_t, so 32-bit targets work past 2038. Returns 0 or -1.
 */
int pki_x509_time_format(int64_t unix_s, char out[PKI_TIME_LEN], struct weft_err *e);

/**
 * Validity from now_s - PKI_BACKDATE_S to now_s + lifetime_s (now_s: unix
 * seconds, the caller's one reading of the wall clock). Returns 0 or -1.
 */
int pki_x509_set_validity(mbedtls_x509write_cert *crt, int64_t now_s, int64_t lifetime_s,
                          struct weft_err *e);

/** Add subjectAltName with exactly one URI (not critical: the subject is set). */
int pki_x509_set_san_uri(mbedtls_x509write_cert *crt, const char *uri, struct weft_err *e);

/** Add extendedKeyUsage serverAuth + clientAuth (not critical). Returns 0 or -1. */
int pki_x509_set_eku_server_client(mbedtls_x509write_cert *crt, struct weft_err *e);

/**
 * Create path with exactly mode (not widened or narrowed by the umask),
 * refusing to replace an existing file (O_EXCL), write data, fsync. On
 * failure the partial file is removed. Returns 0 or -1.
 */
int pki_x509_file_create(const char *path, const void *data, size_t len, unsigned mode,
                         struct weft_err *e);

/** Read a whole (small: < 1 MiB) file into out, NUL-terminated. Returns 0 or -1. */
int pki_x509_file_read(const char *path, struct sbuf *out, struct weft_err *e);

/** SHA-256 of der as 64 lowercase hex digits into out[65]. Returns 0 or -1. */
int pki_x509_sha256_hex(const unsigned char *der, size_t len, char out[65], struct weft_err *e);

/** An X.509 time as "YYYY-MM-DDThh:mm:ssZ" into out[21]. */
void pki_x509_time_iso(const mbedtls_x509_time *t, char out[21]);
/** Unix seconds as "YYYY-MM-DDThh:mm:ssZ" into out[21] (years 0-9999). */
void pki_x509_unix_iso(int64_t unix_s, char out[21]);
/** An X.509 time (UTC) as seconds since the epoch. */
int64_t pki_x509_time_unix(const mbedtls_x509_time *t);

/** An mbedTLS error code as "-0xNNNN (text)" for messages, into buf. */
const char *pki_x509_strerror(int rc, char *buf, size_t cap);

#endif
