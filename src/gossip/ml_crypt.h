/*
 * ml_crypt: memberlist 0.2.2's encryption (security.go), over tls/aead.
 *
 * A blob is
 *
 *   +---------+-------------+------------------------------+
 *   | vsn u8  | nonce (12)  | AES-GCM ciphertext + tag(16) |
 *   +---------+-------------+------------------------------+
 *
 * vsn 1 (what we send; memberlist protocol >= 2, so Serf): no padding,
 * 29 bytes of overhead. vsn 0 (protocol 1): PKCS#7 padding to 16 bytes
 * inside the encryption; accepted on receive. vsn > 1 is refused.
 *
 * UDP: the whole datagram is a blob, with no AAD (0.2.2 has no labels).
 * TCP: 0a | u32 BE length | blob, and the 5 header bytes are the AAD; the
 * length is capped at ML_PUSH_BYTES_MAX like memberlist's maxPushStateBytes.
 * Receiving tries every key of the keyring; sending uses the primary.
 */
#ifndef WEFT_GOSSIP_ML_CRYPT_H
#define WEFT_GOSSIP_ML_CRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "gossip/keyring.h"

#define ML_CRYPT_NONCE 12
#define ML_CRYPT_TAG 16
#define ML_CRYPT_OVERHEAD (1 + ML_CRYPT_NONCE + ML_CRYPT_TAG) /* vsn 1: 29 */
#define ML_CRYPT_STREAM_HDR 5

/**
 * Seal msg[0..n) as a version-1 blob with the primary key into out
 * (n + 29 bytes). nonce: NULL for a fresh random one (tls_random), or 12
 * given bytes (tests). aad may be NULL. Returns 0 or -1 (no key, room).
 */
int ml_crypt_seal(const struct keyring *kr, const uint8_t *nonce, const uint8_t *aad, size_t aadlen,
                  const uint8_t *msg, size_t n, uint8_t *out, size_t cap, size_t *len,
                  struct weft_err *e);
/**
 * Open a blob with any key of the keyring into out (at most n - 29 bytes).
 * Returns 0, or -1: too short, unknown version, no key fits, bad padding.
 */
int ml_crypt_open(const struct keyring *kr, const uint8_t *aad, size_t aadlen, const uint8_t *blob,
                  size_t n, uint8_t *out, size_t cap, size_t *len, struct weft_err *e);

/** UDP: the datagram is the blob, no AAD. */
int ml_crypt_packet_seal(const struct keyring *kr, const uint8_t *nonce, const uint8_t *msg,
                         size_t n, uint8_t *out, size_t cap, size_t *len, struct weft_err *e);
int ml_crypt_packet_open(const struct keyring *kr, const uint8_t *pkt, size_t n, uint8_t *out,
                         size_t cap, size_t *len, struct weft_err *e);

/** TCP: [0a][u32 BE blob length][blob], AAD = those 5 bytes. */
int ml_crypt_stream_seal(const struct keyring *kr, const uint8_t *nonce, const uint8_t *msg,
                         size_t n, uint8_t *out, size_t cap, size_t *len, struct weft_err *e);
/**
 * Open one encrypted stream message at in[0..n) (starting with 0a). Sets
 * *used to the bytes consumed. Fewer bytes than announced is an error here
 * (a transport reads the 5-byte header first, then exactly that many).
 */
int ml_crypt_stream_open(const struct keyring *kr, const uint8_t *in, size_t n, uint8_t *out,
                         size_t cap, size_t *len, size_t *used, struct weft_err *e);

#endif
