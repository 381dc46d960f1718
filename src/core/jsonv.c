/*
 * jsonv: strict recursive-descent JSON reader (see jsonv.h for the contract).
 *
 * Design: one pass over the input with a cursor; each container keeps its
 * children inline in one growable array (objects also keep a parallel array
 * of keys), so a tree costs one allocation per container and per string, not
 * per node. Recursion is bounded by JSONV_MAX_DEPTH. A failed parse frees
 * whatever it built: every slot is a valid JSONV_NULL before it is filled.
 *
 * Invariants: string and key buffers are NUL-terminated valid UTF-8 without
 * embedded NULs; a JSONV_NUMBER always has a finite `d`, and `has_i` / `has_u`
 * say whether `i` / `u` hold its exact value.
 *
 * Numbers are converted with strtod(), which follows LC_NUMERIC: weft never
 * calls setlocale(), so that is the "C" locale's '.'.
 */
#include "core/jsonv.h"

#include "core/json.h"
#include "core/sbuf.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jsonv {
    enum jsonv_type type;
    union {
        bool b;
        struct {
            double d;
            int64_t i;
            uint64_t u;
            bool has_i;
            bool has_u;
        } num;
        char *s;
        struct {
            struct jsonv *items; /* n values, inline */
            char **keys;         /* objects only: n keys, same order */
            size_t n;
            size_t cap;
        } c;
    } u;
};

struct jsonv_parser {
    const unsigned char *s;
    size_t len;
    size_t pos;
    int depth;
    struct weft_err *e;
};

static int jsonv_parse_value(struct jsonv_parser *p, struct jsonv *out);

/* Fail at byte `at`. Always returns -1. */
static int jsonv_fail(struct jsonv_parser *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int jsonv_fail(struct jsonv_parser *p, size_t at, const char *fmt, ...)
{
    char why[WEFT_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return err_set(p->e, "invalid JSON at byte %zu: %s", at, why);
}

/* Describe the byte at `at` for an error message. */
static int jsonv_fail_unexpected(struct jsonv_parser *p, const char *expected)
{
    if (p->pos >= p->len)
        return jsonv_fail(p, p->pos, "unexpected end of input, expected %s", expected);
    unsigned char c = p->s[p->pos];
    if (c >= 0x21 && c < 0x7f)
        return jsonv_fail(p, p->pos, "unexpected '%c', expected %s", c, expected);
    return jsonv_fail(p, p->pos, "unexpected byte 0x%02x, expected %s", c, expected);
}

static void jsonv_skip_ws(struct jsonv_parser *p)
{
    while (p->pos < p->len) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        p->pos++;
    }
}

static void jsonv_deinit(struct jsonv *v)
{
    switch (v->type) {
    case JSONV_STRING:
        free(v->u.s);
        break;
    case JSONV_ARRAY:
    case JSONV_OBJECT:
        for (size_t i = 0; i < v->u.c.n; i++) {
            jsonv_deinit(&v->u.c.items[i]);
            if (v->u.c.keys)
                free(v->u.c.keys[i]);
        }
        free(v->u.c.items);
        free(v->u.c.keys);
        break;
    default:
        break;
    }
    v->type = JSONV_NULL;
}

void jsonv_free(struct jsonv *v)
{
    if (!v)
        return;
    jsonv_deinit(v);
    free(v);
}

/* ---- literals and numbers ---------------------------------------------- */

static int jsonv_parse_literal(struct jsonv_parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return jsonv_fail(p, p->pos, "invalid literal (expected '%s')", word);
    p->pos += n;
    return 0;
}

static bool jsonv_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/*
 * number = [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "+" / "-" ] 1*DIGIT ]
 * Checked here by hand: strtod() alone would take hex, "inf", leading '+' ...
 */
static int jsonv_parse_number(struct jsonv_parser *p, struct jsonv *out)
{
    size_t start = p->pos, i = p->pos;
    bool neg = false, integral = true;

    if (i < p->len && p->s[i] == '-') {
        neg = true;
        i++;
    }
    if (i >= p->len || !jsonv_is_digit(p->s[i]))
        return jsonv_fail(p, i, "invalid number: expected a digit");
    if (p->s[i] == '0') {
        i++;
        if (i < p->len && jsonv_is_digit(p->s[i]))
            return jsonv_fail(p, i, "invalid number: leading zero");
    } else {
        while (i < p->len && jsonv_is_digit(p->s[i]))
            i++;
    }
    if (i < p->len && p->s[i] == '.') {
        integral = false;
        i++;
        if (i >= p->len || !jsonv_is_digit(p->s[i]))
            return jsonv_fail(p, i, "invalid number: expected a digit after '.'");
        while (i < p->len && jsonv_is_digit(p->s[i]))
            i++;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        integral = false;
        i++;
        if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
            i++;
        if (i >= p->len || !jsonv_is_digit(p->s[i]))
            return jsonv_fail(p, i, "invalid number: expected a digit in the exponent");
        while (i < p->len && jsonv_is_digit(p->s[i]))
            i++;
    }

    /* strtod needs a NUL-terminated copy; the input need not have one. */
    size_t n = i - start;
    char small[64];
    char *buf = n < sizeof(small) ? small : malloc(n + 1);
    if (!buf)
        return jsonv_fail(p, start, "out of memory");
    memcpy(buf, p->s + start, n);
    buf[n] = '\0';
    double d = strtod(buf, NULL);
    if (buf != small)
        free(buf);
    if (isinf(d))
        return jsonv_fail(p, start, "number out of range");

    out->type = JSONV_NUMBER;
    out->u.num.d = d;
    out->u.num.has_i = false;
    out->u.num.has_u = false;
    if (integral) {
        /* Exact 64-bit values from the digits, not through the double. */
        uint64_t mag = 0;
        bool overflow = false;
        for (size_t k = start + (neg ? 1 : 0); k < i; k++) {
            uint64_t digit = (uint64_t)(p->s[k] - '0');
            if (mag > (UINT64_MAX - digit) / 10) {
                overflow = true;
                break;
            }
            mag = mag * 10 + digit;
        }
        if (!overflow && !neg) {
            out->u.num.u = mag;
            out->u.num.has_u = true;
            if (mag <= (uint64_t)INT64_MAX) {
                out->u.num.i = (int64_t)mag;
                out->u.num.has_i = true;
            }
        } else if (!overflow && neg && mag <= (uint64_t)INT64_MAX + 1) {
            out->u.num.i = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
            out->u.num.has_i = true;
            if (mag == 0) { /* "-0" */
                out->u.num.u = 0;
                out->u.num.has_u = true;
            }
        }
    } else {
        /* "1e3", "2.0": integral values written as floats. The bounds are
         * powers of two, exact as doubles; the upper ones are exclusive, so
         * the casts are defined, and a round trip says whether d is whole. */
        if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && (double)(int64_t)d == d) {
            out->u.num.i = (int64_t)d;
            out->u.num.has_i = true;
        }
        if (d >= 0.0 && d < 18446744073709551616.0 && (double)(uint64_t)d == d) {
            out->u.num.u = (uint64_t)d;
            out->u.num.has_u = true;
        }
    }
    p->pos = i;
    return 0;
}

/* ---- strings ------------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence at s[i] (RFC 3629 table 3-7), or 0. */
static size_t jsonv_utf8_len(const unsigned char *s, size_t i, size_t len)
{
    unsigned char c = s[i];
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* UTF-16 surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 (overlong), F5..FF */
    }
    if (len - i < need)
        return 0;
    if (s[i + 1] < lo || s[i + 1] > hi)
        return 0;
    for (size_t k = 2; k < need; k++) {
        if (s[i + k] < 0x80 || s[i + k] > 0xbf)
            return 0;
    }
    return need;
}

static size_t jsonv_utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Four hex digits at s[at]; returns 0, or -1 (error set). */
static int jsonv_hex4(struct jsonv_parser *p, size_t at, uint32_t *out)
{
    uint32_t v = 0;
    for (size_t k = 0; k < 4; k++) {
        if (at + k >= p->len)
            return jsonv_fail(p, at + k, "unexpected end of input in \\u escape");
        unsigned char c = p->s[at + k];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return jsonv_fail(p, at + k, "invalid hex digit in \\u escape");
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/*
 * Parse a string at p->pos (the opening quote) into a new NUL-terminated
 * buffer. Decoding never lengthens the text (an escape of n bytes yields at
 * most n - 2 bytes of UTF-8), so the raw span bounds the allocation.
 */
static int jsonv_parse_string(struct jsonv_parser *p, char **out)
{
    size_t i = p->pos + 1, end = i;

    /* Find the closing quote (validation happens while decoding). */
    while (end < p->len && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->len)
        return jsonv_fail(p, p->pos, "unterminated string");

    char *buf = malloc(end - i + 1);
    size_t n = 0;
    if (!buf)
        return jsonv_fail(p, p->pos, "out of memory");
    while (i < end) {
        unsigned char c = p->s[i];
        if (c < 0x20) {
            free(buf);
            return jsonv_fail(p, i, "unescaped control character 0x%02x in string", c);
        }
        if (c != '\\') {
            size_t k = jsonv_utf8_len(p->s, i, end);
            if (k == 0) {
                free(buf);
                return jsonv_fail(p, i, "invalid UTF-8 in string");
            }
            memcpy(buf + n, p->s + i, k);
            n += k;
            i += k;
            continue;
        }
        /* An escape: end - i >= 2 because the scan above skipped pairs. */
        unsigned char x = p->s[i + 1];
        uint32_t cp = 0, lo = 0; /* set by jsonv_hex4(); 0 quiets -Wmaybe-uninitialized */
        switch (x) {
        case '"':
        case '\\':
        case '/':
            buf[n++] = (char)x;
            i += 2;
            break;
        case 'b':
            buf[n++] = '\b';
            i += 2;
            break;
        case 'f':
            buf[n++] = '\f';
            i += 2;
            break;
        case 'n':
            buf[n++] = '\n';
            i += 2;
            break;
        case 'r':
            buf[n++] = '\r';
            i += 2;
            break;
        case 't':
            buf[n++] = '\t';
            i += 2;
            break;
        case 'u':
            if (jsonv_hex4(p, i + 2, &cp) < 0)
                goto fail;
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                jsonv_fail(p, i, "lone low surrogate \\u%04X", (unsigned)cp);
                goto fail;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (i + 8 > end || p->s[i + 6] != '\\' || p->s[i + 7] != 'u') {
                    jsonv_fail(p, i, "high surrogate \\u%04X not followed by a low one",
                               (unsigned)cp);
                    goto fail;
                }
                if (jsonv_hex4(p, i + 8, &lo) < 0)
                    goto fail;
                if (lo < 0xdc00 || lo > 0xdfff) {
                    jsonv_fail(p, i, "high surrogate \\u%04X not followed by a low one",
                               (unsigned)cp);
                    goto fail;
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }
            if (cp == 0) {
                jsonv_fail(p, i, "\\u0000 is not supported (strings are C strings)");
                goto fail;
            }
            n += jsonv_utf8_put(buf + n, cp);
            i += 6;
            break;
        default:
            jsonv_fail(p, i, "invalid escape '\\%c'", x >= 0x20 && x < 0x7f ? x : '?');
            goto fail;
        }
    }
    buf[n] = '\0';
    p->pos = end + 1;
    *out = buf;
    return 0;
fail:
    free(buf);
    return -1;
}

/* ---- containers --------------------------------------------------------- */

/* Append a JSONV_NULL slot to a container (and a NULL key slot to objects). */
static struct jsonv *jsonv_push(struct jsonv_parser *p, struct jsonv *c)
{
    if (c->u.c.n == c->u.c.cap) {
        size_t cap = c->u.c.cap ? c->u.c.cap * 2 : 4;
        struct jsonv *items = realloc(c->u.c.items, cap * sizeof(*items));
        if (!items)
            goto oom;
        c->u.c.items = items;
        if (c->type == JSONV_OBJECT) {
            char **keys = realloc(c->u.c.keys, cap * sizeof(*keys));
            if (!keys)
                goto oom;
            c->u.c.keys = keys;
        }
        c->u.c.cap = cap;
    }
    struct jsonv *slot = &c->u.c.items[c->u.c.n];
    memset(slot, 0, sizeof(*slot));
    slot->type = JSONV_NULL;
    if (c->type == JSONV_OBJECT)
        c->u.c.keys[c->u.c.n] = NULL;
    c->u.c.n++;
    return slot;
oom:
    jsonv_fail(p, p->pos, "out of memory");
    return NULL;
}

static int jsonv_enter(struct jsonv_parser *p)
{
    if (p->depth >= JSONV_MAX_DEPTH)
        return jsonv_fail(p, p->pos, "nesting deeper than %d", JSONV_MAX_DEPTH);
    p->depth++;
    p->pos++; /* '[' or '{' */
    return 0;
}

static int jsonv_parse_array(struct jsonv_parser *p, struct jsonv *out)
{
    if (jsonv_enter(p) < 0)
        return -1;
    out->type = JSONV_ARRAY;
    jsonv_skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        p->depth--;
        return 0;
    }
    for (;;) {
        struct jsonv *slot = jsonv_push(p, out);
        if (!slot || jsonv_parse_value(p, slot) < 0)
            return -1;
        jsonv_skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == ']') {
            p->pos++;
            p->depth--;
            return 0;
        }
        return jsonv_fail_unexpected(p, "',' or ']'");
    }
}

static int jsonv_key_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* RFC 8259 leaves duplicate names' meaning open; we refuse them. Small
 * objects compare pairwise, larger ones sort a copy of the key pointers. */
static int jsonv_check_dup_keys(struct jsonv_parser *p, const struct jsonv *obj, size_t at)
{
    size_t n = obj->u.c.n;
    char **keys = obj->u.c.keys;
    const char *dup = NULL;

    if (n <= 16) {
        for (size_t i = 1; i < n && !dup; i++) {
            for (size_t j = 0; j < i; j++) {
                if (strcmp(keys[i], keys[j]) == 0) {
                    dup = keys[i];
                    break;
                }
            }
        }
    } else {
        char **sorted = malloc(n * sizeof(*sorted));
        if (!sorted)
            return jsonv_fail(p, at, "out of memory");
        memcpy(sorted, keys, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), jsonv_key_cmp);
        for (size_t i = 1; i < n; i++) {
            if (strcmp(sorted[i - 1], sorted[i]) == 0) {
                dup = sorted[i];
                break;
            }
        }
        free(sorted);
    }
    if (dup)
        return jsonv_fail(p, at, "duplicate key \"%.64s\" in object", dup);
    return 0;
}

static int jsonv_parse_object(struct jsonv_parser *p, struct jsonv *out)
{
    size_t start = p->pos;
    if (jsonv_enter(p) < 0)
        return -1;
    out->type = JSONV_OBJECT;
    jsonv_skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        p->depth--;
        return 0;
    }
    for (;;) {
        if (p->pos >= p->len || p->s[p->pos] != '"')
            return jsonv_fail_unexpected(p, "a string key");
        struct jsonv *slot = jsonv_push(p, out);
        if (!slot)
            return -1;
        if (jsonv_parse_string(p, &out->u.c.keys[out->u.c.n - 1]) < 0)
            return -1;
        jsonv_skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':')
            return jsonv_fail_unexpected(p, "':' after an object key");
        p->pos++;
        if (jsonv_parse_value(p, slot) < 0)
            return -1;
        jsonv_skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            jsonv_skip_ws(p);
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == '}') {
            p->pos++;
            p->depth--;
            return jsonv_check_dup_keys(p, out, start);
        }
        return jsonv_fail_unexpected(p, "',' or '}'");
    }
}

/* ---- values ------------------------------------------------------------- */

static int jsonv_parse_value(struct jsonv_parser *p, struct jsonv *out)
{
    jsonv_skip_ws(p);
    if (p->pos >= p->len)
        return jsonv_fail_unexpected(p, "a value");
    switch (p->s[p->pos]) {
    case '{':
        return jsonv_parse_object(p, out);
    case '[':
        return jsonv_parse_array(p, out);
    case '"':
        if (jsonv_parse_string(p, &out->u.s) < 0)
            return -1;
        out->type = JSONV_STRING;
        return 0;
    case 't':
        if (jsonv_parse_literal(p, "true") < 0)
            return -1;
        out->type = JSONV_BOOL;
        out->u.b = true;
        return 0;
    case 'f':
        if (jsonv_parse_literal(p, "false") < 0)
            return -1;
        out->type = JSONV_BOOL;
        out->u.b = false;
        return 0;
    case 'n':
        if (jsonv_parse_literal(p, "null") < 0)
            return -1;
        out->type = JSONV_NULL;
        return 0;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        return jsonv_parse_number(p, out);
    default:
        return jsonv_fail_unexpected(p, "a value");
    }
}

struct jsonv *jsonv_parse(const char *text, size_t len, struct weft_err *e)
{
    struct jsonv_parser p = {(const unsigned char *)text, text ? len : 0, 0, 0, e};
    struct jsonv *root = calloc(1, sizeof(*root));

    if (!root) {
        err_set(e, "out of memory");
        return NULL;
    }
    root->type = JSONV_NULL;
    jsonv_skip_ws(&p);
    if (p.pos >= p.len) {
        jsonv_fail(&p, p.pos, "empty document");
        goto fail;
    }
    if (jsonv_parse_value(&p, root) < 0)
        goto fail;
    jsonv_skip_ws(&p);
    if (p.pos < p.len) {
        jsonv_fail_unexpected(&p, "end of input after the value");
        goto fail;
    }
    return root;
fail:
    jsonv_free(root);
    return NULL;
}

/* ---- accessors ---------------------------------------------------------- */

enum jsonv_type jsonv_type(const struct jsonv *v)
{
    return v ? v->type : JSONV_NULL;
}

const struct jsonv *jsonv_get(const struct jsonv *obj, const char *key)
{
    if (!obj || obj->type != JSONV_OBJECT || !key)
        return NULL;
    for (size_t i = 0; i < obj->u.c.n; i++) {
        if (strcmp(obj->u.c.keys[i], key) == 0)
            return &obj->u.c.items[i];
    }
    return NULL;
}

/* One path segment s[0..n) applied to v. */
static const struct jsonv *jsonv_step(const struct jsonv *v, const char *s, size_t n)
{
    if (!v || n == 0)
        return NULL;
    if (v->type == JSONV_OBJECT) {
        for (size_t i = 0; i < v->u.c.n; i++) {
            const char *k = v->u.c.keys[i];
            if (strncmp(k, s, n) == 0 && k[n] == '\0')
                return &v->u.c.items[i];
        }
        return NULL;
    }
    if (v->type == JSONV_ARRAY) {
        size_t idx = 0;
        for (size_t k = 0; k < n; k++) {
            if (!jsonv_is_digit((unsigned char)s[k]))
                return NULL;
            if (idx > v->u.c.n) /* already out of range: stop before overflow */
                return NULL;
            idx = idx * 10 + (size_t)(s[k] - '0');
        }
        return jsonv_at(v, idx);
    }
    return NULL;
}

const struct jsonv *jsonv_path(const struct jsonv *root, const char *dotted)
{
    if (!root || !dotted)
        return NULL;
    if (*dotted == '\0')
        return root;
    const struct jsonv *v = root;
    const char *s = dotted;
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        v = jsonv_step(v, s, n);
        if (!v || !dot)
            return v;
        s = dot + 1;
    }
}

const char *jsonv_str(const struct jsonv *v, const char *dflt)
{
    return v && v->type == JSONV_STRING ? v->u.s : dflt;
}

int64_t jsonv_int(const struct jsonv *v, int64_t dflt)
{
    return v && v->type == JSONV_NUMBER && v->u.num.has_i ? v->u.num.i : dflt;
}

uint64_t jsonv_uint(const struct jsonv *v, uint64_t dflt)
{
    return v && v->type == JSONV_NUMBER && v->u.num.has_u ? v->u.num.u : dflt;
}

double jsonv_num(const struct jsonv *v, double dflt)
{
    return v && v->type == JSONV_NUMBER ? v->u.num.d : dflt;
}

bool jsonv_bool(const struct jsonv *v, bool dflt)
{
    return v && v->type == JSONV_BOOL ? v->u.b : dflt;
}

size_t jsonv_len(const struct jsonv *v)
{
    if (!v || (v->type != JSONV_ARRAY && v->type != JSONV_OBJECT))
        return 0;
    return v->u.c.n;
}

const struct jsonv *jsonv_at(const struct jsonv *v, size_t i)
{
    if (i >= jsonv_len(v))
        return NULL;
    return &v->u.c.items[i];
}

const char *jsonv_key_at(const struct jsonv *obj, size_t i)
{
    if (!obj || obj->type != JSONV_OBJECT || i >= obj->u.c.n)
        return NULL;
    return obj->u.c.keys[i];
}

void jsonv_write(const struct jsonv *v, struct sbuf *out)
{
    switch (jsonv_type(v)) {
    case JSONV_NULL:
        sbuf_puts(out, "null");
        break;
    case JSONV_BOOL:
        sbuf_puts(out, v->u.b ? "true" : "false");
        break;
    case JSONV_NUMBER:
        if (v->u.num.has_u)
            sbuf_printf(out, "%" PRIu64, v->u.num.u);
        else if (v->u.num.has_i)
            sbuf_printf(out, "%" PRId64, v->u.num.i);
        else
            sbuf_printf(out, "%.17g", v->u.num.d);
        break;
    case JSONV_STRING:
        json_escape(out, v->u.s);
        break;
    case JSONV_ARRAY:
    case JSONV_OBJECT: {
        bool obj = v->type == JSONV_OBJECT;
        sbuf_puts(out, obj ? "{" : "[");
        for (size_t i = 0; i < v->u.c.n; i++) {
            if (i)
                sbuf_puts(out, ",");
            if (obj) {
                json_escape(out, v->u.c.keys[i]);
                sbuf_puts(out, ":");
            }
            jsonv_write(&v->u.c.items[i], out);
        }
        sbuf_puts(out, obj ? "}" : "]");
        break;
    }
    }
}
