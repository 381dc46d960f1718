/*
 * keyring: see keyring.h. Invariant: keys[0..n) are distinct and have a
 * valid AES length; keys[0] is the primary.
 */
#include "gossip/keyring.h"

#include <string.h>

/* Wipe in a way the compiler may not drop. */
static void kr_wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

void keyring_init(struct keyring *k)
{
    memset(k, 0, sizeof(*k));
}

void keyring_deinit(struct keyring *k)
{
    kr_wipe(k, sizeof(*k));
}

static int kr_find(const struct keyring *k, const uint8_t *key, size_t len)
{
    for (size_t i = 0; i < k->n; i++)
        if (k->lens[i] == len && memcmp(k->keys[i], key, len) == 0)
            return (int)i;
    return -1;
}

int keyring_add(struct keyring *k, const uint8_t *key, size_t len, struct weft_err *e)
{
    if (len != 16 && len != 24 && len != 32)
        return err_set(e, "keyring: key of %zu bytes, want 16, 24 or 32", len);
    if (kr_find(k, key, len) >= 0)
        return 0;
    if (k->n == KEYRING_MAX)
        return err_set(e, "keyring: full (%d keys)", KEYRING_MAX);
    memcpy(k->keys[k->n], key, len);
    k->lens[k->n] = (uint8_t)len;
    k->n++;
    return 0;
}

int keyring_add_base64(struct keyring *k, const char *b64, struct weft_err *e)
{
    uint8_t key[KEYRING_KEY_MAX];
    size_t len;
    if (keyring_b64_decode(b64, key, sizeof(key), &len, e) < 0)
        return err_prefix(e, "keyring");
    int rc = keyring_add(k, key, len, e);
    kr_wipe(key, sizeof(key));
    return rc;
}

int keyring_use(struct keyring *k, const uint8_t *key, size_t len, struct weft_err *e)
{
    int i = kr_find(k, key, len);
    if (i < 0)
        return err_set(e, "keyring: key not installed");
    /* memberlist's installKeys: the new primary first, the others keep their order. */
    uint8_t tmp[KEYRING_KEY_MAX];
    uint8_t tl = k->lens[i];
    memcpy(tmp, k->keys[i], KEYRING_KEY_MAX);
    for (int j = i; j > 0; j--) {
        memcpy(k->keys[j], k->keys[j - 1], KEYRING_KEY_MAX);
        k->lens[j] = k->lens[j - 1];
    }
    memcpy(k->keys[0], tmp, KEYRING_KEY_MAX);
    k->lens[0] = tl;
    kr_wipe(tmp, sizeof(tmp));
    return 0;
}

int keyring_remove(struct keyring *k, const uint8_t *key, size_t len, struct weft_err *e)
{
    int i = kr_find(k, key, len);
    if (i < 0)
        return err_set(e, "keyring: key not installed");
    if (i == 0)
        return err_set(e, "keyring: the primary key cannot be removed");
    for (size_t j = (size_t)i; j + 1 < k->n; j++) {
        memcpy(k->keys[j], k->keys[j + 1], KEYRING_KEY_MAX);
        k->lens[j] = k->lens[j + 1];
    }
    k->n--;
    kr_wipe(k->keys[k->n], KEYRING_KEY_MAX);
    k->lens[k->n] = 0;
    return 0;
}

const uint8_t *keyring_primary(const struct keyring *k, size_t *len)
{
    if (k->n == 0) {
        *len = 0;
        return NULL;
    }
    *len = k->lens[0];
    return k->keys[0];
}

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_val(char c)
{
    const char *p = c ? strchr(b64_chars, c) : NULL;
    return p ? (int)(p - b64_chars) : -1;
}

int keyring_b64_decode(const char *s, uint8_t *out, size_t cap, size_t *len, struct weft_err *e)
{
    size_t n = strlen(s);
    /* Tolerate the trailing newline of a key file. */
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        n--;
    if (n == 0 || n % 4 != 0)
        return err_set(e, "base64: length %zu is not a multiple of 4", n);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            char c = s[i + (size_t)j];
            if (c == '=' && i + 4 == n && j >= 2) {
                v[j] = 0;
                pad++;
                continue;
            }
            if (pad)
                return err_set(e, "base64: data after padding");
            v[j] = b64_val(c);
            if (v[j] < 0)
                return err_set(e, "base64: bad character at %zu", i + (size_t)j);
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        size_t nb = 3 - (size_t)pad;
        if (o + nb > cap)
            return err_set(e, "base64: more than %zu bytes", cap);
        for (size_t j = 0; j < nb; j++)
            out[o++] = (uint8_t)(w >> (16 - 8 * j));
    }
    *len = o;
    return 0;
}

int keyring_b64_encode(const uint8_t *p, size_t n, char *out, size_t cap, struct weft_err *e)
{
    size_t need = (n + 2) / 3 * 4 + 1;
    if (need > cap)
        return err_set(e, "base64: %zu bytes needed, room for %zu", need, cap);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            w |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            w |= p[i + 2];
        out[o++] = b64_chars[(w >> 18) & 63];
        out[o++] = b64_chars[(w >> 12) & 63];
        out[o++] = i + 1 < n ? b64_chars[(w >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64_chars[w & 63] : '=';
    }
    out[o] = '\0';
    return 0;
}

int keyring_format(const struct keyring *k, char *out, size_t cap, size_t *len, struct weft_err *e)
{
    size_t o = 0;
    if (cap == 0)
        return err_set(e, "keyring: no room to format");
    out[0] = '\0';
    for (size_t i = 0; i < k->n; i++) {
        if (keyring_b64_encode(k->keys[i], k->lens[i], out + o, cap - o, e) < 0)
            return err_prefix(e, "keyring: format");
        o += strlen(out + o);
        if (o + 2 > cap)
            return err_set(e, "keyring: format: %zu bytes are not enough", cap);
        out[o++] = '\n';
        out[o] = '\0';
    }
    *len = o;
    return 0;
}
