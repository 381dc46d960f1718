#include "core/units.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

struct unit {
    const char *name;
    uint64_t mult;
};

/* Longest names first so "ms" is not read as "m" + "s". */
static const struct unit duration_units[] = {{"ms", 1},      {"s", 1000},     {"m", 60000},
                                             {"h", 3600000}, {"d", 86400000}, {NULL, 0}};

static const struct unit size_units[] = {{"KiB", 1ull << 10},
                                         {"MiB", 1ull << 20},
                                         {"GiB", 1ull << 30},
                                         {"TiB", 1ull << 40},
                                         {"KB", 1000ull},
                                         {"MB", 1000000ull},
                                         {"GB", 1000000000ull},
                                         {"K", 1000ull},
                                         {"M", 1000000ull},
                                         {"G", 1000000000ull},
                                         {"B", 1},
                                         {NULL, 0}};

/* Read decimal digits; refuses overflow. Returns chars consumed, 0 if none. */
static size_t read_uint(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; isdigit((unsigned char)s[i]); i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *out = v;
    return i;
}

static const struct unit *match_unit(const struct unit *tab, const char *s, size_t *len)
{
    for (const struct unit *u = tab; u->name; u++) {
        size_t n = strlen(u->name);
        if (strncmp(s, u->name, n) == 0 && !isalpha((unsigned char)s[n])) {
            *len = n;
            return u;
        }
    }
    return NULL;
}

int units_parse_duration_ms(const char *s, int64_t *out_ms, struct weft_err *e)
{
    uint64_t total = 0;
    const char *p = s;
    if (!s || !*s)
        return err_set(e, "empty duration");
    if (strcmp(s, "0") == 0) {
        *out_ms = 0;
        return 0;
    }
    while (*p) {
        uint64_t v;
        size_t n = read_uint(p, &v), ulen;
        if (n == 0)
            return err_set(e, "'%s' is not a duration (expected e.g. 500ms, 30s, 2m, 24h)", s);
        p += n;
        const struct unit *u = match_unit(duration_units, p, &ulen);
        if (!u)
            return err_set(e, "'%s': missing or unknown unit (ms, s, m, h, d)", s);
        if (v > (uint64_t)INT64_MAX / u->mult || total > (uint64_t)INT64_MAX - v * u->mult)
            return err_set(e, "'%s': duration too large", s);
        total += v * u->mult;
        p += ulen;
    }
    *out_ms = (int64_t)total;
    return 0;
}

int units_parse_size(const char *s, uint64_t *out, struct weft_err *e)
{
    uint64_t v;
    size_t n, ulen = 0;
    if (!s || !*s)
        return err_set(e, "empty size");
    n = read_uint(s, &v);
    if (n == 0)
        return err_set(e, "'%s' is not a size (expected e.g. 4MiB, 512KiB, 1000)", s);
    if (s[n] == '\0') {
        *out = v;
        return 0;
    }
    const struct unit *u = match_unit(size_units, s + n, &ulen);
    if (!u || s[n + ulen] != '\0')
        return err_set(e, "'%s': unknown size unit (B, KiB, MiB, GiB, KB, MB, GB)", s);
    if (v > UINT64_MAX / u->mult)
        return err_set(e, "'%s': size too large", s);
    *out = v * u->mult;
    return 0;
}

void units_format_duration(int64_t ms, char *buf, size_t cap)
{
    static const struct unit order[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000},
                                        {"s", 1000},     {"ms", 1},      {NULL, 0}};
    size_t n = 0;
    if (ms <= 0) {
        snprintf(buf, cap, "0");
        return;
    }
    buf[0] = '\0';
    for (const struct unit *u = order; u->name && n < cap; u++) {
        uint64_t q = (uint64_t)ms / u->mult;
        if (q) {
            n += (size_t)snprintf(buf + n, cap - n, "%llu%s", (unsigned long long)q, u->name);
            ms -= (int64_t)(q * u->mult);
        }
    }
}

void units_format_size(uint64_t bytes, char *buf, size_t cap)
{
    static const struct unit order[] = {{"TiB", 1ull << 40},
                                        {"GiB", 1ull << 30},
                                        {"MiB", 1ull << 20},
                                        {"KiB", 1ull << 10},
                                        {NULL, 0}};
    for (const struct unit *u = order; u->name; u++) {
        if (bytes >= u->mult && bytes % u->mult == 0) {
            snprintf(buf, cap, "%llu%s", (unsigned long long)(bytes / u->mult), u->name);
            return;
        }
    }
    snprintf(buf, cap, "%llu", (unsigned long long)bytes);
}
