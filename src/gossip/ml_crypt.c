/*
 * ml_crypt: see ml_crypt.h. gossip/ never includes mbedTLS: the cipher is
 * tls/aead.h, the nonce comes from tls_random().
 */
#include "gossip/ml_crypt.h"

#include <string.h>

#include "gossip/ml_msg.h"
#include "tls/aead.h"
#include "tls/tls.h"

int ml_crypt_seal(const struct keyring *kr, const uint8_t *nonce, const uint8_t *aad, size_t aadlen,
                  const uint8_t *msg, size_t n, uint8_t *out, size_t cap, size_t *len,
                  struct weft_err *e)
{
    size_t klen;
    const uint8_t *key = keyring_primary(kr, &klen);
    if (!key)
        return err_set(e, "encrypt: keyring is empty");
    if (cap < ML_CRYPT_OVERHEAD || n > cap - ML_CRYPT_OVERHEAD)
        return err_set(e, "encrypt: output buffer of %zu bytes too small for %zu", cap, n);
    out[0] = 1;
    if (nonce)
        memcpy(out + 1, nonce, ML_CRYPT_NONCE);
    else if (tls_random(out + 1, ML_CRYPT_NONCE, e) < 0)
        return err_prefix(e, "encrypt");
    if (tls_aead_seal(key, klen, out + 1, aad, aadlen, msg, n, out + 1 + ML_CRYPT_NONCE, e) < 0)
        return err_prefix(e, "encrypt");
    *len = n + ML_CRYPT_OVERHEAD;
    return 0;
}

int ml_crypt_open(const struct keyring *kr, const uint8_t *aad, size_t aadlen, const uint8_t *blob,
                  size_t n, uint8_t *out, size_t cap, size_t *len, struct weft_err *e)
{
    if (n < 1)
        return err_set(e, "decrypt: empty payload");
    if (blob[0] > 1)
        return err_set(e, "decrypt: unsupported encryption version %u", blob[0]);
    /* vsn 0 carries at least one block of padding. */
    size_t min = ML_CRYPT_OVERHEAD + (blob[0] == 0 ? 16 : 0);
    if (n < min)
        return err_set(e, "decrypt: %zu bytes, too small to decrypt (min %zu)", n, min);
    size_t clen = n - ML_CRYPT_OVERHEAD;
    if (clen > cap)
        return err_set(e, "decrypt: output buffer of %zu bytes too small for %zu", cap, clen);
    if (kr->n == 0)
        return err_set(e, "decrypt: keyring is empty");
    const uint8_t *nonce = blob + 1;
    const uint8_t *ct = blob + 1 + ML_CRYPT_NONCE;
    for (size_t i = 0; i < kr->n; i++) {
        struct weft_err ke = {{0}};
        if (tls_aead_open(kr->keys[i], kr->lens[i], nonce, aad, aadlen, ct, n - 1 - ML_CRYPT_NONCE,
                          out, &ke) < 0)
            continue;
        if (blob[0] == 0) {
            uint8_t pad = out[clen - 1];
            if (pad == 0 || pad > 16 || pad > clen)
                return err_set(e, "decrypt: bad PKCS#7 padding %u", pad);
            for (size_t j = clen - pad; j < clen; j++)
                if (out[j] != pad)
                    return err_set(e, "decrypt: bad PKCS#7 padding");
            clen -= pad;
        }
        *len = clen;
        return 0;
    }
    return err_set(e, "decrypt: no installed key decrypts the message (%zu tried)", kr->n);
}

int ml_crypt_packet_seal(const struct keyring *kr, const uint8_t *nonce, const uint8_t *msg,
                         size_t n, uint8_t *out, size_t cap, size_t *len, struct weft_err *e)
{
    return ml_crypt_seal(kr, nonce, NULL, 0, msg, n, out, cap, len, e);
}

int ml_crypt_packet_open(const struct keyring *kr, const uint8_t *pkt, size_t n, uint8_t *out,
                         size_t cap, size_t *len, struct weft_err *e)
{
    return ml_crypt_open(kr, NULL, 0, pkt, n, out, cap, len, e);
}

int ml_crypt_stream_seal(const struct keyring *kr, const uint8_t *nonce, const uint8_t *msg,
                         size_t n, uint8_t *out, size_t cap, size_t *len, struct weft_err *e)
{
    if (n > ML_PUSH_BYTES_MAX)
        return err_set(e, "encrypt stream: %zu bytes over the %u limit", n, ML_PUSH_BYTES_MAX);
    if (cap < ML_CRYPT_STREAM_HDR)
        return err_set(e, "encrypt stream: output buffer too small");
    uint32_t blen = (uint32_t)(n + ML_CRYPT_OVERHEAD);
    out[0] = ML_ENCRYPT;
    out[1] = (uint8_t)(blen >> 24);
    out[2] = (uint8_t)(blen >> 16);
    out[3] = (uint8_t)(blen >> 8);
    out[4] = (uint8_t)blen;
    size_t bl = 0;
    if (ml_crypt_seal(kr, nonce, out, ML_CRYPT_STREAM_HDR, msg, n, out + ML_CRYPT_STREAM_HDR,
                      cap - ML_CRYPT_STREAM_HDR, &bl, e) < 0)
        return -1;
    *len = ML_CRYPT_STREAM_HDR + bl;
    return 0;
}

int ml_crypt_stream_open(const struct keyring *kr, const uint8_t *in, size_t n, uint8_t *out,
                         size_t cap, size_t *len, size_t *used, struct weft_err *e)
{
    if (n < ML_CRYPT_STREAM_HDR)
        return err_set(e, "decrypt stream: %zu bytes, header is 5", n);
    if (in[0] != ML_ENCRYPT)
        return err_set(e, "decrypt stream: type %u, not encrypt (10)", in[0]);
    uint32_t blen = (uint32_t)in[1] << 24 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 8 | in[4];
    if (blen > ML_PUSH_BYTES_MAX)
        return err_set(e, "decrypt stream: %u bytes announced, limit %u", blen, ML_PUSH_BYTES_MAX);
    if (blen > n - ML_CRYPT_STREAM_HDR)
        return err_set(e, "decrypt stream: %u bytes announced, %zu present", blen,
                       n - ML_CRYPT_STREAM_HDR);
    if (ml_crypt_open(kr, in, ML_CRYPT_STREAM_HDR, in + ML_CRYPT_STREAM_HDR, blen, out, cap, len,
                      e) < 0)
        return -1;
    *used = ML_CRYPT_STREAM_HDR + blen;
    return 0;
}
