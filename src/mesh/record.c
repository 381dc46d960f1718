/*
 * record: validation, the total order and the hashes of mesh records (see
 * record.h). SipHash-2-4 is written here from its specification (Aumasson
 * and Bernstein, 2012), streaming so a 16 KiB body is hashed in place.
 */
#include "mesh/record.h"

#include <string.h>

/* The fixed SipHash key: "weft mesh state\0" read as two little-endian
 * words. Public on purpose: the hashes are checksums two nodes compare,
 * not secrets; authenticated peers are the only ones that sync. */
#define KEY0 UINT64_C(0x6873656d20746665)
#define KEY1 UINT64_C(0x0065746174732068)

/* Longest quoted excerpt of a bad value in an error message. */
#define SHOW_MAX 48

/* ---- SipHash-2-4, streaming ---------------------------------------------------------------- */

struct sip {
    uint64_t v0, v1, v2, v3;
    uint8_t buf[8];
    size_t nbuf;
    uint64_t total;
};

static inline uint64_t rotl(uint64_t x, int b)
{
    return x << b | x >> (64 - b);
}

static inline void sip_round(struct sip *s)
{
    s->v0 += s->v1;
    s->v1 = rotl(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = rotl(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = rotl(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = rotl(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = rotl(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = rotl(s->v2, 32);
}

static void sip_init(struct sip *s, uint64_t k0, uint64_t k1)
{
    s->v0 = k0 ^ UINT64_C(0x736f6d6570736575);
    s->v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
    s->v2 = k0 ^ UINT64_C(0x6c7967656e657261);
    s->v3 = k1 ^ UINT64_C(0x7465646279746573);
    s->nbuf = 0;
    s->total = 0;
}

static uint64_t load_le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void sip_word(struct sip *s, uint64_t m)
{
    s->v3 ^= m;
    sip_round(s);
    sip_round(s);
    s->v0 ^= m;
}

static void sip_update(struct sip *s, const void *data, size_t n)
{
    const uint8_t *p = data;
    s->total += n;
    while (n > 0 && s->nbuf > 0) {
        s->buf[s->nbuf & 7] = *p++; /* nbuf < 8 here; the mask says so to the compiler */
        s->nbuf++;
        n--;
        if (s->nbuf == 8) {
            sip_word(s, load_le(s->buf));
            s->nbuf = 0;
        }
    }
    for (; n >= 8; p += 8, n -= 8)
        sip_word(s, load_le(p));
    memcpy(s->buf, p, n);
    s->nbuf += n;
}

static uint64_t sip_final(struct sip *s)
{
    uint64_t b = s->total << 56;
    for (size_t i = 0; i < s->nbuf; i++)
        b |= (uint64_t)s->buf[i] << (8 * i);
    sip_word(s, b);
    s->v2 ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(s);
    return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

uint64_t mesh_siphash(uint64_t k0, uint64_t k1, const void *p, size_t n)
{
    struct sip s;
    sip_init(&s, k0, k1);
    sip_update(&s, p, n);
    return sip_final(&s);
}

/* ---- hashes of keys and versions ----------------------------------------------------------- */

/* Strings go in with their NUL: none of them may contain one, so the
 * concatenation is unambiguous. */
uint64_t mesh_key_hash(const char *kind, const char *name)
{
    struct sip s;
    sip_init(&s, KEY0, KEY1);
    sip_update(&s, kind, strlen(kind) + 1);
    sip_update(&s, name, strlen(name) + 1);
    return sip_final(&s);
}

static void put_le(uint8_t out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(v >> (8 * i));
}

uint64_t mesh_record_hash(const struct mesh_record *r)
{
    struct sip s;
    uint8_t w[8];
    sip_init(&s, KEY0, KEY1);
    sip_update(&s, r->kind, strlen(r->kind) + 1);
    sip_update(&s, r->name, strlen(r->name) + 1);
    put_le(w, r->hlc);
    sip_update(&s, w, 8);
    sip_update(&s, r->writer, strlen(r->writer) + 1);
    w[0] = r->deleted ? 1 : 0;
    sip_update(&s, w, 1);
    put_le(w, r->body_len);
    sip_update(&s, w, 8);
    if (r->body_len)
        sip_update(&s, r->body, r->body_len);
    return sip_final(&s);
}

/* ---- validation ---------------------------------------------------------------------------- */

/* Quote up to SHOW_MAX bytes of s for a one-line message: printable ASCII
 * as is, anything else as \xNN; "..." when cut. */
static const char *show(const char *s, char out[SHOW_MAX * 4 + 8])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i;
    for (i = 0; s[i] && i < SHOW_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (s[i]) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

int mesh_kind_check(const char *kind, struct weft_err *e)
{
    char buf[SHOW_MAX * 4 + 8];
    size_t n = strnlen(kind, MESH_KIND_MAX + 1);
    if (n == 0)
        return err_set(e, "empty kind");
    if (n > MESH_KIND_MAX)
        return err_set(e, "kind \"%s\" longer than %d bytes", show(kind, buf), MESH_KIND_MAX);
    if (kind[0] < 'a' || kind[0] > 'z')
        return err_set(e, "kind \"%s\" must start with a letter a-z", show(kind, buf));
    for (size_t i = 0; i < n; i++) {
        char c = kind[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return err_set(e, "kind \"%s\": byte %zu is not one of a-z 0-9 -", show(kind, buf),
                           i + 1);
    }
    return 0;
}

int mesh_name_check(const char *name, struct weft_err *e)
{
    char buf[SHOW_MAX * 4 + 8];
    size_t n = strnlen(name, MESH_NAME_MAX + 1);
    if (n == 0)
        return err_set(e, "empty name");
    if (n > MESH_NAME_MAX)
        return err_set(e, "name \"%s\" longer than %d bytes", show(name, buf), MESH_NAME_MAX);
    if (name[0] == '/')
        return err_set(e, "name \"%s\" must not start with '/'", show(name, buf));
    if (strcmp(name, "*") == 0)
        return 0; /* the whole name "*": defaults for every name ([upstream-defaults *]) */
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '@' || c == '/'))
            return err_set(e, "name \"%s\": byte %zu is not one of A-Z a-z 0-9 . _ - @ /",
                           show(name, buf), i + 1);
    }
    if (strstr(name, ".."))
        return err_set(e, "name \"%s\" must not contain \"..\"", show(name, buf));
    return 0;
}

int mesh_writer_check(const char *writer, struct weft_err *e)
{
    char buf[SHOW_MAX * 4 + 8];
    size_t n = strnlen(writer, MESH_WRITER_MAX + 1);
    if (n == 0)
        return err_set(e, "empty writer");
    if (n > MESH_WRITER_MAX)
        return err_set(e, "writer \"%s\" longer than %d bytes", show(writer, buf), MESH_WRITER_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)writer[i];
        if (c < 0x21 || c > 0x7e)
            return err_set(e, "writer \"%s\": byte %zu is not printable ASCII", show(writer, buf),
                           i + 1);
    }
    return 0;
}

int mesh_record_check(const struct mesh_record *r, struct weft_err *e)
{
    if (!r->kind || !r->name || !r->writer || (r->body_len && !r->body))
        return err_set(e, "incomplete record");
    if (mesh_kind_check(r->kind, e) < 0 || mesh_name_check(r->name, e) < 0)
        return -1;
    if (mesh_writer_check(r->writer, e) < 0)
        return err_prefix(e, "%s/%s", r->kind, r->name);
    if (r->body_len > MESH_BODY_MAX)
        return err_set(e, "%s/%s: body of %zu bytes over %d", r->kind, r->name, r->body_len,
                       MESH_BODY_MAX);
    if (r->deleted && r->body_len)
        return err_set(e, "%s/%s: a tombstone with a body", r->kind, r->name);
    return 0;
}

/* ---- the order ----------------------------------------------------------------------------- */

int mesh_key_cmp(const char *kind_a, const char *name_a, const char *kind_b, const char *name_b)
{
    int c = strcmp(kind_a, kind_b);
    return c ? c : strcmp(name_a, name_b);
}

int mesh_record_cmp(const struct mesh_record *a, const struct mesh_record *b)
{
    if (a->hlc != b->hlc)
        return a->hlc < b->hlc ? -1 : 1;
    int c = strcmp(a->writer, b->writer);
    if (c)
        return c < 0 ? -1 : 1;
    if (a->deleted != b->deleted)
        return a->deleted ? 1 : -1;
    size_t n = a->body_len < b->body_len ? a->body_len : b->body_len;
    c = n ? memcmp(a->body, b->body, n) : 0;
    if (c)
        return c < 0 ? -1 : 1;
    if (a->body_len != b->body_len)
        return a->body_len < b->body_len ? -1 : 1;
    return 0;
}
