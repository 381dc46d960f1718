/*
 * tls_compat: the ONLY place that knows which mbedTLS major version we build
 * against. weft supports 2.28 LTS (Debian 12, older firmware SDKs) and 3.6 LTS
 * (the release binary). Everything else in tls/ codes against these macros.
 */
#ifndef WEFT_TLS_COMPAT_H
#define WEFT_TLS_COMPAT_H

#include <mbedtls/version.h>

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define WEFT_MBEDTLS_3 1
#include <psa/crypto.h>
#else
#define WEFT_MBEDTLS_3 0
#endif

#if MBEDTLS_VERSION_NUMBER < 0x021C0000
#error "weft needs mbedTLS 2.28 or newer"
#endif

#endif
