/*
 * fuzz_jsonv: jsonv_parse() on arbitrary bytes, then a walk of the tree.
 *
 * The input is passed as is (jsonv_parse takes a length, not a C string),
 * so a NUL byte inside is just another byte the parser must refuse.
 *
 * Refused input: the message must be "invalid JSON at byte N: ..." with N
 * inside the input (or "out of memory").
 *
 * Accepted input: every node is visited with every accessor, so the
 * sanitizers see each read of the tree, and the promises of jsonv.h and the
 * invariants of jsonv.c are checked on the way:
 *
 *   - accessors agree with jsonv_type(): jsonv_str only for strings,
 *     jsonv_num / _int / _uint only for numbers, jsonv_bool only for booleans,
 *     jsonv_len / _at / _key_at only for containers (keys only for objects);
 *   - numbers are finite, and an exact integer (jsonv_int / jsonv_uint
 *     return it) is the same number as the double: (double)i == d;
 *   - strings and keys are valid UTF-8 (no overlong forms, no surrogates,
 *     nothing above U+10FFFF);
 *   - no duplicate keys: jsonv_get(obj, key_at(i)) is member i;
 *   - jsonv_path() reaches member i by its key (keys without a '.') and
 *     element i by its index, reaches a node several levels down by the
 *     dotted path that leads there, and refuses empty segments;
 *   - nesting is at most JSONV_MAX_DEPTH.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/jsonv.h"
#include "fuzz.h"

/* Paths tried on every document: the CLI's own, and malformed ones. */
static const char *const fixed_paths[] = {
    "node",
    "store.schema_version",
    "members.0.name",
    "config.reloads.ok",
    "0",
    "0.0",
    "1",
    "a.b.c",
    "18446744073709551616",
    "00",
    "a..b",
    ".a",
    "a.",
    ".",
    "..",
};

/* Room for a path built from the document (longer ones are not tried). */
#define PATH_MAX_LEN 512

/* True if s is valid UTF-8 (RFC 3629: shortest form, no surrogates, <= U+10FFFF). */
static bool utf8_valid(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned char c = *s;
        size_t need;
        uint32_t cp;
        if (c < 0x80) {
            s++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t k = 1; k <= need; k++) {
            if ((s[k] & 0xc0) != 0x80) /* also stops at the NUL */
                return false;
            cp = cp << 6 | (s[k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        s += need + 1;
    }
    return true;
}

/* Scalars: each accessor answers for its own type only. */
static void check_scalar(const struct jsonv *v, enum jsonv_type t)
{
    const char *s = jsonv_str(v, NULL);
    FUZZ_CHECK((s != NULL) == (t == JSONV_STRING), "jsonv_str on type %d", (int)t);
    if (s)
        FUZZ_CHECK(utf8_valid(s), "string is not valid UTF-8");

    bool b0 = jsonv_bool(v, false), b1 = jsonv_bool(v, true);
    FUZZ_CHECK((b0 == b1) == (t == JSONV_BOOL), "jsonv_bool on type %d", (int)t);

    double d = jsonv_num(v, NAN);
    FUZZ_CHECK(!isnan(d) == (t == JSONV_NUMBER), "jsonv_num on type %d", (int)t);
    if (t == JSONV_NUMBER)
        FUZZ_CHECK(isfinite(d), "number %g is not finite", d);

    /* A default of 0 and of 1 differ only when there is no value. */
    int64_t i0 = jsonv_int(v, 0), i1 = jsonv_int(v, 1);
    uint64_t u0 = jsonv_uint(v, 0), u1 = jsonv_uint(v, 1);
    bool has_i = i0 == i1, has_u = u0 == u1;
    FUZZ_CHECK(!has_i || t == JSONV_NUMBER, "jsonv_int on type %d", (int)t);
    FUZZ_CHECK(!has_u || t == JSONV_NUMBER, "jsonv_uint on type %d", (int)t);
    if (has_i)
        FUZZ_CHECK((double)i0 == d, "int %" PRId64 " is not the number %.17g", i0, d);
    if (has_u)
        FUZZ_CHECK((double)u0 == d, "uint %" PRIu64 " is not the number %.17g", u0, d);
    if (has_i && has_u)
        FUZZ_CHECK(i0 >= 0 && (uint64_t)i0 == u0, "int %" PRId64 " vs uint %" PRIu64, i0, u0);
}

static void walk(const struct jsonv *v, int depth)
{
    enum jsonv_type t = jsonv_type(v);
    size_t n = jsonv_len(v);
    char idx[32];

    FUZZ_CHECK(v != NULL, "NULL node inside the tree");
    FUZZ_CHECK(depth <= JSONV_MAX_DEPTH, "nesting %d deeper than JSONV_MAX_DEPTH", depth);
    check_scalar(v, t);
    if (t != JSONV_ARRAY && t != JSONV_OBJECT) {
        FUZZ_CHECK(n == 0 && !jsonv_at(v, 0) && !jsonv_key_at(v, 0), "scalar with members");
        FUZZ_CHECK(!jsonv_get(v, "") && !jsonv_path(v, "0"), "scalar with members");
        return;
    }
    FUZZ_CHECK(depth < JSONV_MAX_DEPTH, "container at depth %d", depth);
    for (size_t i = 0; i < n; i++) {
        const struct jsonv *child = jsonv_at(v, i);
        const char *key = jsonv_key_at(v, i);
        FUZZ_CHECK(child != NULL, "jsonv_at(%zu) of %zu is NULL", i, n);
        FUZZ_CHECK((key != NULL) == (t == JSONV_OBJECT), "jsonv_key_at on type %d", (int)t);
        if (key) {
            FUZZ_CHECK(utf8_valid(key), "key is not valid UTF-8");
            FUZZ_CHECK(jsonv_get(v, key) == child, "key %zu is a duplicate", i);
            if (*key && !strchr(key, '.'))
                FUZZ_CHECK(jsonv_path(v, key) == child, "jsonv_path misses key %zu", i);
        } else {
            snprintf(idx, sizeof(idx), "%zu", i);
            FUZZ_CHECK(jsonv_path(v, idx) == child, "jsonv_path misses element %zu", i);
        }
        walk(child, depth + 1);
    }
    FUZZ_CHECK(!jsonv_at(v, n) && !jsonv_key_at(v, n), "member past the end");
    snprintf(idx, sizeof(idx), "%zu", n);
    if (t == JSONV_ARRAY)
        FUZZ_CHECK(!jsonv_path(v, idx), "jsonv_path finds element %zu of %zu", n, n);
}

/*
 * Follow the last member of every container down from the root, writing
 * the dotted path on the way; jsonv_path() must land on the same node.
 * Stops at a key it cannot spell as a path segment.
 */
static void check_deep_path(const struct jsonv *root)
{
    char path[PATH_MAX_LEN];
    size_t len = 0;
    const struct jsonv *v = root;
    path[0] = '\0';
    while (jsonv_len(v) > 0) {
        size_t last = jsonv_len(v) - 1;
        const char *key = jsonv_key_at(v, last);
        char seg[32];
        if (!key) {
            snprintf(seg, sizeof(seg), "%zu", last);
            key = seg;
        }
        size_t klen = strlen(key);
        if (klen == 0 || strchr(key, '.') || len + 1 + klen + 1 > sizeof(path))
            break;
        if (len)
            path[len++] = '.';
        memcpy(path + len, key, klen + 1);
        len += klen;
        v = jsonv_at(v, last);
        FUZZ_CHECK(jsonv_path(root, path) == v, "jsonv_path(\"%s\") misses its node", path);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct weft_err e;
    err_clear(&e);
    struct jsonv *root = jsonv_parse((const char *)data, size, &e);
    if (!root) {
        size_t at;
        if (strcmp(e.msg, "out of memory") == 0)
            return 0;
        FUZZ_CHECK(sscanf(e.msg, "invalid JSON at byte %zu:", &at) == 1, "message: %s", e.msg);
        FUZZ_CHECK(at <= size, "error at byte %zu of a %zu-byte input", at, size);
        return 0;
    }
    FUZZ_CHECK(!err_is_set(&e), "accepted with an error set: %s", e.msg);
    walk(root, 0);
    check_deep_path(root);
    FUZZ_CHECK(jsonv_path(root, "") == root, "jsonv_path(\"\") is not the root");
    for (size_t i = 0; i < sizeof(fixed_paths) / sizeof(fixed_paths[0]); i++) {
        const struct jsonv *v = jsonv_path(root, fixed_paths[i]);
        const char *p = fixed_paths[i];
        size_t plen = strlen(p);
        bool empty_segment = p[0] == '.' || p[plen - 1] == '.' || strstr(p, "..");
        FUZZ_CHECK(!(v && empty_segment), "jsonv_path(\"%s\") accepts an empty segment", p);
        if (v)
            walk(v, 0);
    }
    jsonv_free(root);
    return 0;
}
