#include "core/json.h"

#include <stdio.h>

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

void json_escape(struct sbuf *out, const char *s)
{
    sbuf_puts(out, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            sbuf_puts(out, "\\\"");
            break;
        case '\\':
            sbuf_puts(out, "\\\\");
            break;
        case '\n':
            sbuf_puts(out, "\\n");
            break;
        case '\r':
            sbuf_puts(out, "\\r");
            break;
        case '\t':
            sbuf_puts(out, "\\t");
            break;
        default:
            if (*p < 0x20)
                sbuf_printf(out, "\\u%04x", *p);
            else
                sbuf_append(out, p, 1);
        }
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
