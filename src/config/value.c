/*
 * value: parse, format, compare, copy and free one config value by type.
 *
 * Parsing is strict: the whole text must be the value ("30s x", "0660x" and
 * "info debug" are errors, never a silent prefix), and error messages quote
 * the text so a line like "FILE:12: log.level: 'verbose' is not one of: ..."
 * needs no other context. A value is parsed into a temporary, checked
 * (bounds, then the row's check), and only then stored, so a failed parse
 * leaves the field as it was.
 *
 * Formatting is the inverse: config_value_format(x) parses back to x. The
 * round trip holds because parsed strings can never hold what the INI reader
 * strips (leading/trailing blanks, " ;comment", newlines) and control
 * characters are refused.
 */
#include "config/schema.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/units.h"

/* A parsed value before it is stored; k->size bytes of it are copied. */
union config_value {
    char *s;
    bool b;
    int i;
    int32_t i32;
    int64_t i64;
    uint64_t u64;
    unsigned u;
    uint32_t u32;
};

static bool type_is_string(enum config_type t)
{
    return t == CONFIG_T_STRING || t == CONFIG_T_PATH || t == CONFIG_T_ADDRESS;
}

/* Empty text: unset for OPTIONAL and COMPUTED keys, an error otherwise. */
static int parse_empty(const struct config_key *k, union config_value *v, struct weft_err *e)
{
    if (!(k->flags & (CONFIG_KEY_OPTIONAL | CONFIG_KEY_COMPUTED)))
        return err_set(e, "must not be empty");
    v->s = NULL;
    return 0;
}

static int parse_text(const struct config_key *k, const char *text, union config_value *v,
                      struct weft_err *e)
{
    if (!*text)
        return parse_empty(k, v, e);
    for (const char *p = text; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return err_set(e, "'%s' contains a control character", text);
    }
    /* "key =;x" gives ";x" (inih wants a blank before an inline comment);
     * such a value could not be written back by config show, and is far more
     * likely a misplaced comment than a real value. */
    if (text[0] == ';' || text[0] == '#')
        return err_set(e, "'%s': a value must not start with '%c'", text, text[0]);
    if (k->type == CONFIG_T_PATH && text[0] == '~')
        return err_set(e, "'%s': '~' is not expanded here; write the full path", text);
    if (k->type == CONFIG_T_ADDRESS) {
        char host[256];
        unsigned port;
        if (config_addr_split(text, host, sizeof(host), &port, e) != 0)
            return -1;
    }
    v->s = strdup(text);
    if (!v->s)
        return err_set(e, "out of memory");
    return 0;
}

static int parse_bool(const char *text, bool *out, struct weft_err *e)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(text, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(text, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return err_set(e, "'%s' is not a boolean (true/false, yes/no, on/off, 1/0)", text);
}

static int parse_enum(const struct config_key *k, const char *text, int *out, struct weft_err *e)
{
    const struct config_enum *c = k->choices;
    if (c->parse(text, out) == 0)
        return 0;
    char list[256];
    size_t n = 0;
    list[0] = '\0';
    for (int i = 0; i < c->count && n < sizeof(list); i++)
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", c->name(i));
    return err_set(e, "'%s' is not one of: %s", text, list);
}

/* Strict decimal integer, optional '-', nothing else. */
static int parse_int64(const char *text, int64_t *out, struct weft_err *e)
{
    const char *p = text;
    bool neg = *p == '-';
    uint64_t v = 0;
    if (neg)
        p++;
    if (!isdigit((unsigned char)*p))
        return err_set(e, "'%s' is not an integer", text);
    for (; isdigit((unsigned char)*p); p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return err_set(e, "'%s' is out of range", text);
        v = v * 10 + d;
    }
    if (*p)
        return err_set(e, "'%s' is not an integer", text);
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return err_set(e, "'%s' is out of range", text);
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return err_set(e, "'%s' is out of range", text);
        *out = (int64_t)v;
    }
    return 0;
}

static int parse_mode(const char *text, unsigned *out, struct weft_err *e)
{
    size_t n = strlen(text);
    unsigned v = 0;
    if (n < 3 || n > 4)
        return err_set(e, "'%s' is not an octal mode (expected e.g. 0660)", text);
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '7')
            return err_set(e, "'%s' is not an octal mode (expected e.g. 0660)", text);
        v = v * 8 + (unsigned)(text[i] - '0');
    }
    if (v > 0777)
        return err_set(e, "'%s': only permission bits (at most 0777) are allowed", text);
    *out = v;
    return 0;
}

static void domain_list(char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < LOG_DOMAIN_MAX && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "",
                              log_domain_name((enum log_domain)i));
}

/* "core, tls" -> bits. Items are trimmed; empty items and repeats are errors. */
static int parse_domains(const char *text, uint32_t *out, struct weft_err *e)
{
    uint32_t mask = 0;
    const char *p = text;
    if (!*text) {
        *out = 0;
        return 0;
    }
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[64];
        while (len && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len && isspace((unsigned char)p[len - 1]))
            len--;
        if (len == 0)
            return err_set(e, "'%s' has an empty item", text);
        if (len >= sizeof(item))
            len = sizeof(item) - 1;
        memcpy(item, p, len);
        item[len] = '\0';
        enum log_domain d;
        if (log_domain_parse(item, &d) != 0) {
            char list[256];
            domain_list(list, sizeof(list));
            return err_set(e, "'%s' is not a log domain (%s)", item, list);
        }
        if (mask & (1u << d))
            return err_set(e, "'%s' is listed twice", item);
        mask |= 1u << d;
        if (!end)
            break;
        p = end + 1;
    }
    *out = mask;
    return 0;
}

int config_addr_split(const char *s, char *host, size_t host_cap, unsigned *port,
                      struct weft_err *e)
{
    const char *hs, *ps;
    size_t hlen;
    bool v6 = s[0] == '[';
    if (v6) {
        const char *rb = strchr(s, ']');
        if (!rb)
            return err_set(e, "'%s': missing ']' after the IPv6 address", s);
        hs = s + 1;
        hlen = (size_t)(rb - hs);
        if (rb[1] != ':')
            return err_set(e, "'%s' has no port (expected [address]:port)", s);
        ps = rb + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon)
            return err_set(e, "'%s' has no port (expected host:port)", s);
        if (memchr(s, ':', (size_t)(colon - s)))
            return err_set(e, "'%s': write IPv6 addresses in brackets, e.g. [::1]:9901", s);
        hs = s;
        hlen = (size_t)(colon - s);
        ps = colon + 1;
    }
    if (hlen == 0)
        return err_set(e, "'%s' has no host (expected host:port)", s);
    if (hlen >= host_cap)
        return err_set(e, "'%s': host is too long", s);
    memcpy(host, hs, hlen);
    host[hlen] = '\0';

    if (v6) {
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1)
            return err_set(e, "'%s': '%s' is not an IPv6 address", s, host);
    } else if (strspn(host, "0123456789.") == hlen) {
        struct in_addr a4;
        if (inet_pton(AF_INET, host, &a4) != 1)
            return err_set(e, "'%s': '%s' is not an IPv4 address", s, host);
    } else if (config_dns_name_check(host, false, e) != 0) {
        return err_prefix(e, "'%s'", s);
    }

    size_t plen = strlen(ps);
    unsigned v = 0;
    if (plen == 0 || plen > 5 || strspn(ps, "0123456789") != plen)
        return err_set(e, "'%s': port '%s' is not a number", s, ps);
    for (size_t i = 0; i < plen; i++)
        v = v * 10 + (unsigned)(ps[i] - '0');
    if (v < 1 || v > 65535)
        return err_set(e, "'%s': port must be 1-65535", s);
    *port = v;
    return 0;
}

static void release(const struct config_key *k, union config_value *v)
{
    if (type_is_string(k->type))
        free(v->s);
}

static int check_bounds(const struct config_key *k, const char *text, const union config_value *v,
                        struct weft_err *e)
{
    char lo[32], hi[32];
    switch (k->type) {
    case CONFIG_T_DURATION:
        if ((k->min || k->max) && (v->i64 < k->min || v->i64 > k->max)) {
            units_format_duration(k->min, lo, sizeof(lo));
            units_format_duration(k->max, hi, sizeof(hi));
            return err_set(e, "'%s' is out of range (%s..%s)", text, lo, hi);
        }
        return 0;
    case CONFIG_T_SIZE:
        if ((k->min || k->max) && (v->u64 < (uint64_t)k->min || v->u64 > (uint64_t)k->max)) {
            units_format_size((uint64_t)k->min, lo, sizeof(lo));
            units_format_size((uint64_t)k->max, hi, sizeof(hi));
            return err_set(e, "'%s' is out of range (%s..%s)", text, lo, hi);
        }
        return 0;
    default:
        return 0;
    }
}

int config_value_parse(const struct config_key *k, const char *text, void *field,
                       struct weft_err *e)
{
    union config_value v;
    int rc = -1;
    memset(&v, 0, sizeof(v));
    if (!*text && (k->type == CONFIG_T_DURATION || k->type == CONFIG_T_INT) &&
        (k->flags & CONFIG_KEY_OPTIONAL)) {
        /* Unset: CONFIG_UNSET in the field's width (config_types.h). */
        if (k->size == sizeof(int32_t))
            v.i32 = CONFIG_UNSET;
        else
            v.i64 = CONFIG_UNSET;
        memcpy(field, &v, k->size);
        return 0;
    }
    switch (k->type) {
    case CONFIG_T_STRING:
    case CONFIG_T_PATH:
    case CONFIG_T_ADDRESS:
        rc = parse_text(k, text, &v, e);
        break;
    case CONFIG_T_BOOL:
        rc = parse_bool(text, &v.b, e);
        break;
    case CONFIG_T_ENUM:
        rc = parse_enum(k, text, &v.i, e);
        break;
    case CONFIG_T_DURATION:
        rc = units_parse_duration_ms(text, &v.i64, e);
        break;
    case CONFIG_T_SIZE:
        rc = units_parse_size(text, &v.u64, e);
        break;
    case CONFIG_T_INT: {
        int64_t x = 0;
        rc = parse_int64(text, &x, e);
        if (rc == 0 && (x < k->min || x > k->max))
            rc =
                err_set(e, "'%s' is out of range (%" PRId64 "..%" PRId64 ")", text, k->min, k->max);
        /* A 4-byte field has bounds within int32 (test_config checks the table). */
        if (k->size == sizeof(int32_t))
            v.i32 = rc == 0 ? (int32_t)x : 0;
        else
            v.i64 = x;
        break;
    }
    case CONFIG_T_MODE:
        rc = parse_mode(text, &v.u, e);
        break;
    case CONFIG_T_DOMAINS:
        rc = parse_domains(text, &v.u32, e);
        break;
    case CONFIG_T_MAX:
        rc = err_set(e, "bad type");
        break;
    }
    if (rc == 0)
        rc = check_bounds(k, text, &v, e);
    if (rc == 0 && k->check)
        rc = k->check(&v, e);
    if (rc != 0) {
        release(k, &v);
        return -1;
    }
    config_value_free(k, field);
    memcpy(field, &v, k->size);
    return 0;
}

void config_value_format(const struct config_key *k, const void *field, struct sbuf *out)
{
    union config_value v;
    char buf[64];
    memset(&v, 0, sizeof(v));
    memcpy(&v, field, k->size);
    if ((k->flags & CONFIG_KEY_OPTIONAL) &&
        ((k->type == CONFIG_T_DURATION && v.i64 == CONFIG_UNSET) ||
         (k->type == CONFIG_T_INT && (k->size == sizeof(int32_t) ? v.i32 : v.i64) == CONFIG_UNSET)))
        return; /* unset: written back as empty */
    switch (k->type) {
    case CONFIG_T_STRING:
    case CONFIG_T_PATH:
    case CONFIG_T_ADDRESS:
        sbuf_puts(out, v.s ? v.s : "");
        break;
    case CONFIG_T_BOOL:
        sbuf_puts(out, v.b ? "true" : "false");
        break;
    case CONFIG_T_ENUM:
        sbuf_puts(out, k->choices->name(v.i));
        break;
    case CONFIG_T_DURATION:
        units_format_duration(v.i64, buf, sizeof(buf));
        sbuf_puts(out, buf);
        break;
    case CONFIG_T_SIZE:
        units_format_size(v.u64, buf, sizeof(buf));
        sbuf_puts(out, buf);
        break;
    case CONFIG_T_INT:
        sbuf_printf(out, "%" PRId64, k->size == sizeof(int32_t) ? (int64_t)v.i32 : v.i64);
        break;
    case CONFIG_T_MODE:
        sbuf_printf(out, "0%03o", v.u);
        break;
    case CONFIG_T_DOMAINS: {
        bool first = true;
        for (int d = 0; d < LOG_DOMAIN_MAX; d++) {
            if (v.u32 & (1u << d)) {
                sbuf_printf(out, "%s%s", first ? "" : ", ", log_domain_name((enum log_domain)d));
                first = false;
            }
        }
        break;
    }
    case CONFIG_T_MAX:
        break;
    }
}

bool config_value_equal(const struct config_key *k, const void *a, const void *b)
{
    if (type_is_string(k->type)) {
        const char *sa = *(char *const *)a, *sb = *(char *const *)b;
        if (!sa || !sb)
            return sa == sb;
        return strcmp(sa, sb) == 0;
    }
    return memcmp(a, b, k->size) == 0;
}

int config_value_copy(const struct config_key *k, void *dst, const void *src)
{
    if (type_is_string(k->type)) {
        const char *s = *(char *const *)src;
        char *copy = NULL;
        if (s && !(copy = strdup(s)))
            return -1;
        config_value_free(k, dst);
        *(char **)dst = copy;
        return 0;
    }
    memmove(dst, src, k->size);
    return 0;
}

void config_value_free(const struct config_key *k, void *field)
{
    if (type_is_string(k->type)) {
        free(*(char **)field);
        *(char **)field = NULL;
        return;
    }
    memset(field, 0, k->size);
}
