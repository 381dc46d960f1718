/*
 * keyring: memberlist's encryption keys. keys[0] is the primary key, the
 * one used to encrypt; every key is tried to decrypt (so a cluster can
 * rotate: install everywhere, switch primary, remove the old one). Keys are
 * AES-128/192/256 keys of 16, 24 or 32 bytes, given as standard base64
 * (what `serf keygen` and `weft keygen` print). The keyring is embedded and
 * caller-owned: keyring_init() / keyring_deinit() (wipes the keys).
 */
#ifndef WEFT_GOSSIP_KEYRING_H
#define WEFT_GOSSIP_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Installed keys at once: a rotation needs 2; Serf sets no limit. */
#define KEYRING_MAX 16
#define KEYRING_KEY_MAX 32
/* 32 bytes -> 44 base64 characters + NUL. */
#define KEYRING_B64_MAX 45

struct keyring {
    uint8_t keys[KEYRING_MAX][KEYRING_KEY_MAX];
    uint8_t lens[KEYRING_MAX];
    size_t n;
};

/** Empty keyring (cannot fail). */
void keyring_init(struct keyring *k);
/** Wipe every key. Safe after init alone. */
void keyring_deinit(struct keyring *k);
/** Add a key (16/24/32 bytes); the first one added is the primary. Adding a key already there is a
 * no-op. */
int keyring_add(struct keyring *k, const uint8_t *key, size_t len, struct weft_err *e);
/** keyring_add() of a base64 key. */
int keyring_add_base64(struct keyring *k, const char *b64, struct weft_err *e);
/** Make an installed key the primary: it moves to the front, the others keep their order
 * (memberlist's UseKey). */
int keyring_use(struct keyring *k, const uint8_t *key, size_t len, struct weft_err *e);
/** Remove a key; the primary cannot be removed (as in memberlist). A key not installed is an
 * error here (serf_keys maps it to memberlist's silent no-op). */
int keyring_remove(struct keyring *k, const uint8_t *key, size_t len, struct weft_err *e);
/** The primary key, or NULL when the keyring is empty. */
const uint8_t *keyring_primary(const struct keyring *k, size_t *len);

/**
 * The keyring as the text of a key file: one base64 key per line, the
 * primary first (what [gossip] key_file holds). Returns 0 with the text
 * (NUL-terminated) in out[0..*len), or -1 if it does not fit.
 */
int keyring_format(const struct keyring *k, char *out, size_t cap, size_t *len, struct weft_err *e);

/** Decode standard base64 (with padding) into out[0..cap). */
int keyring_b64_decode(const char *s, uint8_t *out, size_t cap, size_t *len, struct weft_err *e);
/** Encode p[0..n) as standard base64 into out[0..cap), NUL-terminated. */
int keyring_b64_encode(const uint8_t *p, size_t n, char *out, size_t cap, struct weft_err *e);

#endif
