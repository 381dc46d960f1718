#include "core/json.h"

#include <stdio.h>
#include <string.h>

void json_w_init(struct json_w *w, struct sbuf *out)
{
    w->out = out;
    w->depth = 0;
    w->need_comma[0] = false;
}

/* Before a value or key: a comma unless first in its container. A value after
 * a key never takes a comma: json_key() clears need_comma for it. */
static void json_sep(struct json_w *w)
{
    if (w->need_comma[w->depth])
        sbuf_puts(w->out, ",");
    w->need_comma[w->depth] = true;
}

static void json_open(struct json_w *w, const char *c)
{
    json_sep(w);
    sbuf_puts(w->out, c);
    if (w->depth + 1 < JSON_MAX_DEPTH)
        w->depth++;
    w->need_comma[w->depth] = false;
}

static void json_close(struct json_w *w, const char *c)
{
    if (w->depth > 0)
        w->depth--;
    sbuf_puts(w->out, c);
}

void json_obj_begin(struct json_w *w)
{
    json_open(w, "{");
}

void json_obj_end(struct json_w *w)
{
    json_close(w, "}");
}

void json_arr_begin(struct json_w *w)
{
    json_open(w, "[");
}

void json_arr_end(struct json_w *w)
{
    json_close(w, "]");
}

/* Length of the valid UTF-8 sequence at p (2..4), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *p)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    /* No overlong forms, no surrogates, nothing above U+10FFFF. */
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

size_t json_escape_step(const char *s, char out[6], size_t *outlen)
{
    const unsigned char *p = (const unsigned char *)s;
    static const char hex[] = "0123456789abcdef";
    char esc = 0;
    switch (*p) {
    case '"':
        esc = '"';
        break;
    case '\\':
        esc = '\\';
        break;
    case '\n':
        esc = 'n';
        break;
    case '\r':
        esc = 'r';
        break;
    case '\t':
        esc = 't';
        break;
    default:
        break;
    }
    if (esc) {
        out[0] = '\\';
        out[1] = esc;
        *outlen = 2;
        return 1;
    }
    if (*p < 0x20) {
        memcpy(out, "\\u00", 4);
        out[4] = hex[*p >> 4];
        out[5] = hex[*p & 0xf];
        *outlen = 6;
        return 1;
    }
    if (*p < 0x80) {
        out[0] = (char)*p;
        *outlen = 1;
        return 1;
    }
    size_t n = utf8_seq_len(p);
    if (n == 0) {
        memcpy(out, "\\ufffd", 6);
        *outlen = 6;
        return 1;
    }
    memcpy(out, p, n);
    *outlen = n;
    return n;
}

void json_escape(struct sbuf *out, const char *s)
{
    char tmp[6];
    size_t len;
    sbuf_puts(out, "\"");
    while (*s) {
        s += json_escape_step(s, tmp, &len);
        sbuf_append(out, tmp, len);
    }
    sbuf_puts(out, "\"");
}

void json_key(struct json_w *w, const char *key)
{
    json_sep(w);
    json_escape(w->out, key);
    sbuf_puts(w->out, ":");
    /* The value that follows belongs to this key: no comma before it. */
    w->need_comma[w->depth] = false;
}

void json_str(struct json_w *w, const char *s)
{
    json_sep(w);
    if (s)
        json_escape(w->out, s);
    else
        sbuf_puts(w->out, "null");
}

void json_int(struct json_w *w, int64_t v)
{
    json_sep(w);
    sbuf_printf(w->out, "%lld", (long long)v);
}

void json_uint(struct json_w *w, uint64_t v)
{
    json_sep(w);
    sbuf_printf(w->out, "%llu", (unsigned long long)v);
}

void json_bool(struct json_w *w, bool v)
{
    json_sep(w);
    sbuf_puts(w->out, v ? "true" : "false");
}

void json_null(struct json_w *w)
{
    json_sep(w);
    sbuf_puts(w->out, "null");
}

void json_kv_str(struct json_w *w, const char *key, const char *s)
{
    json_key(w, key);
    json_str(w, s);
}

void json_kv_int(struct json_w *w, const char *key, int64_t v)
{
    json_key(w, key);
    json_int(w, v);
}

void json_kv_uint(struct json_w *w, const char *key, uint64_t v)
{
    json_key(w, key);
    json_uint(w, v);
}

void json_kv_bool(struct json_w *w, const char *key, bool v)
{
    json_key(w, key);
    json_bool(w, v);
}
