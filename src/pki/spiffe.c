/*
 * spiffe: see spiffe.h for the rules. Everything here is pure string work
 * (no I/O, no allocation), so it is cheap to unit-test and fuzz.
 */
#include "pki/spiffe.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define SPIFFE_SCHEME "spiffe://"
#define SPIFFE_SCHEME_LEN (sizeof(SPIFFE_SCHEME) - 1)
/* How much of a refused input a message shows; enough to recognise it. */
#define SHOW_MAX 64

/*
 * Quote untrusted bytes for a message: printable ASCII as is, anything else
 * as \xNN, at most SHOW_MAX input bytes ("..." after). out must hold
 * 4 * SHOW_MAX + 4 bytes.
 */
static const char *show(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && i < SHOW_MAX && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    if (len > SHOW_MAX && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}
#define SHOW_CAP (4 * SHOW_MAX + 8)

static bool is_lower_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(unsigned char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

const char *spiffe_kind_name(enum spiffe_kind kind)
{
    return kind == SPIFFE_NODE ? "node" : "svc";
}

static const char *kind_label(enum spiffe_kind kind)
{
    return kind == SPIFFE_NODE ? "node name" : "service name";
}

/* The trust domain rule on len bytes (need not be NUL-terminated). */
static int td_check(const char *td, size_t len, struct weft_err *e)
{
    char b[SHOW_CAP], c1[SHOW_CAP];
    if (len == 0)
        return err_set(e, "trust domain is empty");
    if (len > SPIFFE_TD_MAX)
        return err_set(e, "trust domain '%s' is longer than %d characters",
                       show(td, len, b, sizeof(b)), SPIFFE_TD_MAX);
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)td[i] : '.';
        if (c == '.') {
            if (label == 0)
                return err_set(e,
                               "trust domain '%s' has an empty label (leading, trailing "
                               "or double dot)",
                               show(td, len, b, sizeof(b)));
            if (td[i - 1] == '-' || td[i - label] == '-')
                return err_set(e, "trust domain '%s' has a label that starts or ends with '-'",
                               show(td, len, b, sizeof(b)));
            label = 0;
            continue;
        }
        if (++label > 63)
            return err_set(e, "trust domain '%s' has a label longer than 63 characters",
                           show(td, len, b, sizeof(b)));
        if (c >= 'A' && c <= 'Z')
            return err_set(e, "trust domain '%s' must be lowercase", show(td, len, b, sizeof(b)));
        if (!is_lower_alnum(c) && c != '-')
            return err_set(e, "trust domain '%s' contains '%s' (allowed: a-z 0-9 - .)",
                           show(td, len, b, sizeof(b)), show(td + i, 1, c1, sizeof(c1)));
    }
    return 0;
}

int spiffe_trust_domain_check(const char *td, struct weft_err *e)
{
    if (!td)
        return err_set(e, "trust domain is empty");
    if (strncmp(td, SPIFFE_SCHEME, SPIFFE_SCHEME_LEN) == 0)
        return err_set(e, "trust domain: write the bare name, without spiffe://");
    return td_check(td, strlen(td), e);
}

/* The name rule on len bytes (need not be NUL-terminated). */
static int name_check(enum spiffe_kind kind, const char *s, size_t len, struct weft_err *e)
{
    char b[SHOW_CAP], c1[SHOW_CAP];
    if (len == 0)
        return err_set(e, "%s is empty", kind_label(kind));
    if (len > SPIFFE_NAME_MAX)
        return err_set(e, "%s '%s' is longer than %d characters", kind_label(kind),
                       show(s, len, b, sizeof(b)), SPIFFE_NAME_MAX);
    if (!is_alnum((unsigned char)s[0]))
        return err_set(e, "%s '%s' must start with a letter or a digit", kind_label(kind),
                       show(s, len, b, sizeof(b)));
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alnum(c) && c != '.' && c != '_' && c != '-')
            return err_set(e, "%s '%s' contains '%s' (allowed: A-Z a-z 0-9 . _ -)",
                           kind_label(kind), show(s, len, b, sizeof(b)),
                           show(s + i, 1, c1, sizeof(c1)));
        if (c == '.' && i + 1 < len && s[i + 1] == '.')
            return err_set(e, "%s '%s' must not contain '..'", kind_label(kind),
                           show(s, len, b, sizeof(b)));
    }
    return 0;
}

int spiffe_name_check(enum spiffe_kind kind, const char *name, struct weft_err *e)
{
    if (!name)
        return err_set(e, "%s is empty", kind_label(kind));
    return name_check(kind, name, strlen(name), e);
}

int spiffe_id_format(enum spiffe_kind kind, const char *td, const char *name, char *out, size_t cap,
                     struct weft_err *e)
{
    if (cap > 0)
        out[0] = '\0';
    if (spiffe_trust_domain_check(td, e) != 0 || spiffe_name_check(kind, name, e) != 0)
        return -1;
    int n = snprintf(out, cap, SPIFFE_SCHEME "%s/%s/%s", td, spiffe_kind_name(kind), name);
    if (n < 0 || (size_t)n >= cap || n > SPIFFE_ID_MAX) {
        if (cap > 0)
            out[0] = '\0';
        return err_set(e, "SPIFFE ID for '%s' does not fit", name);
    }
    return 0;
}

int spiffe_td_id_format(const char *td, char *out, size_t cap, struct weft_err *e)
{
    if (cap > 0)
        out[0] = '\0';
    if (spiffe_trust_domain_check(td, e) != 0)
        return -1;
    int n = snprintf(out, cap, SPIFFE_SCHEME "%s", td);
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0)
            out[0] = '\0';
        return err_set(e, "SPIFFE ID for trust domain '%s' does not fit", td);
    }
    return 0;
}

int spiffe_id_parse(const char *uri, size_t len, struct spiffe_id *out, struct weft_err *e)
{
    char b[SHOW_CAP];
    memset(out, 0, sizeof(*out));
    if (len > SPIFFE_ID_MAX)
        return err_set(e, "SPIFFE ID is longer than %d bytes", SPIFFE_ID_MAX);
    if (memchr(uri, '\0', len))
        return err_set(e, "SPIFFE ID '%s' contains a NUL byte", show(uri, len, b, sizeof(b)));
    if (len < SPIFFE_SCHEME_LEN || memcmp(uri, SPIFFE_SCHEME, SPIFFE_SCHEME_LEN) != 0)
        return err_set(e, "'%s' is not a SPIFFE ID (must start with spiffe://)",
                       show(uri, len, b, sizeof(b)));
    const char *td = uri + SPIFFE_SCHEME_LEN, *end = uri + len;
    const char *slash = memchr(td, '/', (size_t)(end - td));
    if (!slash)
        return err_set(e, "SPIFFE ID '%s' has no path (want /node/NAME or /svc/NAME)",
                       show(uri, len, b, sizeof(b)));
    if (td_check(td, (size_t)(slash - td), e) != 0)
        return err_prefix(e, "SPIFFE ID");
    const char *kind = slash + 1;
    const char *slash2 = memchr(kind, '/', (size_t)(end - kind));
    size_t klen = slash2 ? (size_t)(slash2 - kind) : 0;
    if (slash2 && klen == 4 && memcmp(kind, "node", 4) == 0)
        out->kind = SPIFFE_NODE;
    else if (slash2 && klen == 3 && memcmp(kind, "svc", 3) == 0)
        out->kind = SPIFFE_SVC;
    else
        return err_set(e, "SPIFFE ID '%s': path must be /node/NAME or /svc/NAME",
                       show(uri, len, b, sizeof(b)));
    const char *name = slash2 + 1;
    size_t nlen = (size_t)(end - name);
    if (name_check(out->kind, name, nlen, e) != 0)
        return err_prefix(e, "SPIFFE ID");
    memcpy(out->trust_domain, td, (size_t)(slash - td));
    memcpy(out->name, name, nlen);
    return 0;
}
