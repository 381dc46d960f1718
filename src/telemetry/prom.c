/*
 * prom: the Prometheus text format writer (prom.h has the contract).
 * Allocation: the writer owns `seen` (the family hashes), nothing else.
 */
#include "telemetry/prom.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void prom_w_init(struct prom_w *w, struct sbuf *out)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
}

void prom_w_deinit(struct prom_w *w)
{
    free(w->seen);
    w->seen = NULL;
    w->nseen = w->capseen = 0;
}

static void prom_bug(struct prom_w *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void prom_bug(struct prom_w *w, const char *fmt, ...)
{
    va_list ap;
    if (w->bugs++ != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(w->first_bug, sizeof(w->first_bug), fmt, ap);
    va_end(ap);
}

static const char *nn(const char *s)
{
    return s ? s : "(null)";
}

static bool name_char(char c, bool first, bool colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return true;
    if (colon && c == ':')
        return true;
    return !first && c >= '0' && c <= '9';
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* (metric) or [a-zA-Z_][a-zA-Z0-9_]* (label). */
static bool name_ok(const char *s, bool colon)
{
    if (!s || !*s)
        return false;
    for (size_t i = 0; s[i]; i++)
        if (!name_char(s[i], i == 0, colon))
            return false;
    return true;
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

/* Append s escaped: \ and newline always, " too in a label value. */
static void put_escaped(struct sbuf *b, const char *s, bool quote)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), run = 0;
    for (size_t i = 0; i < n;) {
        const char *esc = NULL;
        size_t l = 1;
        if (p[i] == '\\')
            esc = "\\\\";
        else if (p[i] == '\n')
            esc = "\\n";
        else if (quote && p[i] == '"')
            esc = "\\\"";
        else if ((l = utf8_len(p + i, n - i)) == 0) {
            esc = "?";
            l = 1;
        }
        if (esc) {
            sbuf_append(b, s + i - run, run);
            sbuf_puts(b, esc);
            run = 0;
        } else
            run += l;
        i += l;
    }
    sbuf_append(b, s + n - run, run);
}

void prom_family(struct prom_w *w, const char *name, enum prom_type type, const char *help)
{
    w->family[0] = '\0';
    size_t len = name ? strlen(name) : 0;
    if (!name_ok(name, true) || strncmp(name, "weft_", 5) != 0 || len >= sizeof(w->family)) {
        prom_bug(w, "bad metric family name \"%.100s\"", nn(name));
        return;
    }
    if (type == PROM_COUNTER && (len < 6 || strcmp(name + len - 6, "_total") != 0)) {
        prom_bug(w, "counter family \"%.100s\" does not end in _total", name);
        return;
    }
    uint64_t h = name_hash(name);
    for (size_t i = 0; i < w->nseen; i++)
        if (w->seen[i] == h) {
            prom_bug(w, "family \"%.100s\" written twice (its samples must be contiguous)", name);
            return;
        }
    if (w->nseen == w->capseen) {
        size_t cap = w->capseen ? w->capseen * 2 : 64;
        uint64_t *n = realloc(w->seen, cap * sizeof(*n));
        if (!n) {
            w->out->oom = true; /* the scrape fails as a whole, like any sbuf oom */
            return;
        }
        w->seen = n;
        w->capseen = cap;
    }
    w->seen[w->nseen++] = h;
    memcpy(w->family, name, len + 1);
    w->type = type;
    if (help && *help) {
        sbuf_printf(w->out, "# HELP %s ", name);
        put_escaped(w->out, help, false);
        sbuf_puts(w->out, "\n");
    }
    sbuf_printf(w->out, "# TYPE %s %s\n", name, type == PROM_COUNTER ? "counter" : "gauge");
}

/* The name and labels of a sample, or false (nothing written) on a bug. */
static bool sample_begin(struct prom_w *w, size_t nlabels, const char *const *kv)
{
    if (!w->family[0]) {
        prom_bug(w, "a sample outside a family (none open, or it was refused)");
        return false;
    }
    if (nlabels > PROM_LABELS_MAX) {
        prom_bug(w, "more than 8 labels in family \"%.100s\"", w->family);
        return false;
    }
    for (size_t i = 0; i < nlabels; i++) {
        const char *k = kv[2 * i];
        if (!name_ok(k, false) || strncmp(k, "__", 2) == 0) {
            prom_bug(w, "bad label name \"%.100s\"", nn(k));
            return false;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(kv[2 * j], k) == 0) {
                prom_bug(w, "label \"%.100s\" given twice", k);
                return false;
            }
    }
    sbuf_puts(w->out, w->family);
    if (nlabels) {
        sbuf_puts(w->out, "{");
        for (size_t i = 0; i < nlabels; i++) {
            sbuf_printf(w->out, "%s%s=\"", i ? "," : "", kv[2 * i]);
            put_escaped(w->out, kv[2 * i + 1] ? kv[2 * i + 1] : "", true);
            sbuf_puts(w->out, "\"");
        }
        sbuf_puts(w->out, "}");
    }
    w->samples++;
    return true;
}

void prom_sample_u64(struct prom_w *w, uint64_t v, size_t nlabels, const char *const *kv)
{
    if (sample_begin(w, nlabels, kv))
        sbuf_printf(w->out, " %" PRIu64 "\n", v);
}

/* The shortest %g form that reads back as the same double. */
static void put_double(struct sbuf *b, double v)
{
    char buf[40];
    if (isnan(v)) {
        sbuf_puts(b, "NaN");
        return;
    }
    if (isinf(v)) {
        sbuf_puts(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, v);
        if (prec == 17 || strtod(buf, NULL) == v)
            break;
    }
    sbuf_puts(b, buf);
}

void prom_sample_f64(struct prom_w *w, double v, size_t nlabels, const char *const *kv)
{
    if (w->family[0] && w->type == PROM_COUNTER) {
        prom_bug(w, "a double sample in counter family \"%.100s\"", w->family);
        return;
    }
    if (!sample_begin(w, nlabels, kv))
        return;
    sbuf_puts(w->out, " ");
    put_double(w->out, v);
    sbuf_puts(w->out, "\n");
}

/* Gather the NULL-ended "k, v, k, v, ..., NULL" of a variadic call. */
static size_t collect_labels(struct prom_w *w, va_list ap, const char **kv)
{
    size_t n = 0;
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL) {
        if (n == 2 * PROM_LABELS_MAX)
            return SIZE_MAX;
        kv[n++] = k;
        kv[n++] = va_arg(ap, const char *);
    }
    (void)w;
    return n / 2;
}

void prom_u64(struct prom_w *w, uint64_t v, ...)
{
    const char *kv[2 * PROM_LABELS_MAX];
    va_list ap;
    va_start(ap, v);
    size_t n = collect_labels(w, ap, kv);
    va_end(ap);
    if (n == SIZE_MAX)
        prom_bug(w, "more than 8 labels in family \"%.100s\"", w->family);
    else
        prom_sample_u64(w, v, n, kv);
}

void prom_f64(struct prom_w *w, double v, ...)
{
    const char *kv[2 * PROM_LABELS_MAX];
    va_list ap;
    va_start(ap, v);
    size_t n = collect_labels(w, ap, kv);
    va_end(ap);
    if (n == SIZE_MAX)
        prom_bug(w, "more than 8 labels in family \"%.100s\"", w->family);
    else
        prom_sample_f64(w, v, n, kv);
}

void prom_counter(struct prom_w *w, const char *name, const char *help, uint64_t v)
{
    prom_family(w, name, PROM_COUNTER, help);
    prom_sample_u64(w, v, 0, NULL);
}

void prom_gauge(struct prom_w *w, const char *name, const char *help, double v)
{
    prom_family(w, name, PROM_GAUGE, help);
    prom_sample_f64(w, v, 0, NULL);
}

uint64_t prom_w_samples(const struct prom_w *w)
{
    return w->samples;
}

uint64_t prom_w_bugs(const struct prom_w *w)
{
    return w->bugs;
}

const char *prom_w_first_bug(const struct prom_w *w)
{
    return w->first_bug;
}
