/*
 * aead: AES-GCM sealing and opening for the layers above tls/ that must not
 * see mbedTLS (gossip/ encrypts memberlist packets with it).
 *
 * One call per message: the key schedule is built and wiped on every call.
 * That costs a few microseconds per packet at gossip rates (a handful of
 * packets per second), and keeps no key material in long-lived contexts.
 * Nonces are 12 bytes and tags 16 bytes, as memberlist uses them. The caller
 * chooses the nonce (tls_random() for a fresh one) and owns every buffer.
 */
#ifndef WEFT_TLS_AEAD_H
#define WEFT_TLS_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* GCM with a 96-bit nonce (the fast path of the spec) and a full tag. */
#define TLS_AEAD_NONCE_LEN 12
#define TLS_AEAD_TAG_LEN 16

/**
 * Encrypt in[0..inlen) with AES-GCM (keylen 16, 24 or 32) and write the
 * ciphertext followed by the 16-byte tag to out, which must hold inlen + 16
 * bytes. aad may be NULL when aadlen is 0. in and out may not overlap.
 * Returns 0, or -1 with a message in e (bad key length, library failure).
 */
int tls_aead_seal(const uint8_t *key, size_t keylen, const uint8_t nonce[TLS_AEAD_NONCE_LEN],
                  const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t inlen, uint8_t *out,
                  struct weft_err *e);

/**
 * Check and decrypt in[0..inlen) = ciphertext || 16-byte tag into out, which
 * must hold inlen - 16 bytes. Returns 0 on success; -1 when the tag does not
 * match, the input is shorter than a tag or the key length is wrong (e says
 * which). On failure out holds no plaintext (it is zeroed).
 */
int tls_aead_open(const uint8_t *key, size_t keylen, const uint8_t nonce[TLS_AEAD_NONCE_LEN],
                  const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t inlen, uint8_t *out,
                  struct weft_err *e);

#endif
