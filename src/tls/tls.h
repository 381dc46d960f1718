/*
 * tls: mbedTLS glue. This step holds the library setup and the random source;
 * the mTLS contexts and TLS over libevent arrive with the identity work.
 */
#ifndef WEFT_TLS_TLS_H
#define WEFT_TLS_TLS_H

#include <stddef.h>

#include "core/err.h"

/**
 * Initialise the crypto library once per process: psa_crypto_init() on
 * mbedTLS 3.x (required before any TLS), and the DRBG seeded from the OS.
 * Returns 0, or -1 with a message in e.
 */
int tls_lib_init(struct weft_err *e);
/** Release what tls_lib_init() set up. Safe if it was never called. */
void tls_lib_deinit(void);
/** mbedTLS's version string of the library linked in ("3.6.6"). */
const char *tls_lib_version(void);
/** Fill buf with n cryptographically random bytes. Returns 0 or -1. */
int tls_random(void *buf, size_t n, struct weft_err *e);

#endif
