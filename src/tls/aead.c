/*
 * aead: AES-GCM through mbedtls_gcm. The gcm.h calls used here
 * (mbedtls_gcm_init/setkey/crypt_and_tag/auth_decrypt/free) have the same
 * signatures in 2.28 and 3.6, so nothing version-specific is needed; 3.6's
 * legacy gcm module does not need psa_crypto_init() either.
 */
#include "tls/aead.h"

#include <string.h>

#include <mbedtls/gcm.h>
#include <mbedtls/platform_util.h>

#include "tls/tls_compat.h"

static int aead_check_key(size_t keylen, const char *what, struct weft_err *e)
{
    if (keylen != 16 && keylen != 24 && keylen != 32)
        return err_set(e, "aead %s: key of %zu bytes, want 16, 24 or 32", what, keylen);
    return 0;
}

int tls_aead_seal(const uint8_t *key, size_t keylen, const uint8_t nonce[TLS_AEAD_NONCE_LEN],
                  const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t inlen, uint8_t *out,
                  struct weft_err *e)
{
    if (aead_check_key(keylen, "seal", e) < 0)
        return -1;
    mbedtls_gcm_context gcm;
    mbedtls_gcm_init(&gcm);
    int rc = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, (unsigned)(keylen * 8));
    if (rc == 0)
        rc = mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, inlen, nonce, TLS_AEAD_NONCE_LEN,
                                       aad, aadlen, in, out, TLS_AEAD_TAG_LEN, out + inlen);
    mbedtls_gcm_free(&gcm);
    if (rc != 0)
        return err_set(e, "aead seal: mbedtls_gcm error -0x%04x", (unsigned)-rc);
    return 0;
}

int tls_aead_open(const uint8_t *key, size_t keylen, const uint8_t nonce[TLS_AEAD_NONCE_LEN],
                  const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t inlen, uint8_t *out,
                  struct weft_err *e)
{
    if (aead_check_key(keylen, "open", e) < 0)
        return -1;
    if (inlen < TLS_AEAD_TAG_LEN)
        return err_set(e, "aead open: %zu bytes, shorter than the tag", inlen);
    size_t clen = inlen - TLS_AEAD_TAG_LEN;
    mbedtls_gcm_context gcm;
    mbedtls_gcm_init(&gcm);
    int rc = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, (unsigned)(keylen * 8));
    if (rc == 0)
        rc = mbedtls_gcm_auth_decrypt(&gcm, clen, nonce, TLS_AEAD_NONCE_LEN, aad, aadlen, in + clen,
                                      TLS_AEAD_TAG_LEN, in, out);
    mbedtls_gcm_free(&gcm);
    if (rc == MBEDTLS_ERR_GCM_AUTH_FAILED) {
        mbedtls_platform_zeroize(out, clen);
        return err_set(e, "aead open: authentication failed");
    }
    if (rc != 0) {
        mbedtls_platform_zeroize(out, clen);
        return err_set(e, "aead open: mbedtls_gcm error -0x%04x", (unsigned)-rc);
    }
    return 0;
}
