/*
 * hlc: the hybrid logical clock (see hlc.h). With the counter in the low
 * bits, Kulkarni's update rules reduce to integer arithmetic on the packed
 * stamp:
 *
 *   now:  l' = max(l, pt); c' = (l' == l) ? c + 1 : 0
 *         == max(last + 1, make(pt, 0))
 *   recv: l' = max(l, lm, pt); c' = ... + 1 unless pt alone is the max
 *         == max(max(last, remote) + 1, make(pt, 0))
 *
 * and a counter overflow carries into the milliseconds by itself.
 * The text form uses the proleptic Gregorian calendar in UTC, computed here
 * (days from civil and back) so it depends on no time zone or libc state.
 */
#include "mesh/hlc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void mesh_hlc_init(struct mesh_hlc *h, uint64_t persisted)
{
    h->last = persisted;
    h->max_drift_ms = MESH_HLC_MAX_DRIFT_DEFAULT_MS;
}

uint64_t mesh_hlc_make(int64_t ms, uint16_t counter)
{
    if (ms < 0)
        ms = 0;
    if ((uint64_t)ms > MESH_HLC_MS_MAX)
        ms = (int64_t)MESH_HLC_MS_MAX;
    return (uint64_t)ms << MESH_HLC_COUNTER_BITS | counter;
}

/* max(t + 1, make(pt, 0)), saturating at UINT64_MAX. */
static uint64_t advance(uint64_t t, int64_t wall_ms)
{
    uint64_t next = t == UINT64_MAX ? t : t + 1;
    uint64_t phys = mesh_hlc_make(wall_ms, 0);
    return phys > next ? phys : next;
}

uint64_t mesh_hlc_now(struct mesh_hlc *h, int64_t wall_ms)
{
    h->last = advance(h->last, wall_ms);
    return h->last;
}

int mesh_hlc_recv(struct mesh_hlc *h, uint64_t remote, int64_t wall_ms, struct weft_err *e)
{
    int64_t rms = mesh_hlc_ms(remote);
    int64_t wall = wall_ms < 0 ? 0 : wall_ms;
    if (rms > wall && rms - wall > h->max_drift_ms) {
        char txt[MESH_HLC_TEXT_MAX];
        return err_set(e,
                       "stamp %s is %" PRId64 " ms ahead of our clock (max drift %" PRId64 " ms)",
                       mesh_hlc_format(remote, txt), rms - wall, h->max_drift_ms);
    }
    h->last = advance(remote > h->last ? remote : h->last, wall_ms);
    return 0;
}

/* Days since 1970-01-01 of a civil date (y, m 1-12, d 1-31). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

char *mesh_hlc_format(uint64_t t, char out[MESH_HLC_TEXT_MAX])
{
    int64_t ms = mesh_hlc_ms(t);
    int64_t days = ms / 86400000, rem = ms % 86400000;
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    snprintf(out, MESH_HLC_TEXT_MAX, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%03uZ+%u", y, mo, d,
             (unsigned)(rem / 3600000), (unsigned)(rem / 60000 % 60), (unsigned)(rem / 1000 % 60),
             (unsigned)(rem % 1000), (unsigned)mesh_hlc_counter(t));
    return out;
}

/* Read exactly n decimal digits at *p; advances *p. */
static bool digits(const char **p, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (unsigned)(c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool lit(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

static unsigned month_days(unsigned y, unsigned m)
{
    static const unsigned md[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : md[m - 1];
}

int mesh_hlc_parse(const char *s, uint64_t *out, struct weft_err *e)
{
    const char *p = s;
    unsigned y, mo, d, h, mi, sec, ms, ctr = 0;
    if (!digits(&p, 4, &y) || !lit(&p, '-') || !digits(&p, 2, &mo) || !lit(&p, '-') ||
        !digits(&p, 2, &d) || !lit(&p, 'T') || !digits(&p, 2, &h) || !lit(&p, ':') ||
        !digits(&p, 2, &mi) || !lit(&p, ':') || !digits(&p, 2, &sec) || !lit(&p, '.') ||
        !digits(&p, 3, &ms) || !lit(&p, 'Z'))
        return err_set(e, "bad clock stamp (want YYYY-MM-DDTHH:MM:SS.mmmZ+N)");
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 ||
        sec > 59)
        return err_set(e, "bad clock stamp: date or time out of range");
    if (*p == '+') {
        p++;
        if (*p < '0' || *p > '9' || (*p == '0' && p[1] != '\0'))
            return err_set(e, "bad clock stamp: counter after '+' must be a number");
        for (ctr = 0; *p >= '0' && *p <= '9'; p++) {
            ctr = ctr * 10 + (unsigned)(*p - '0');
            if (ctr > MESH_HLC_COUNTER_MASK)
                return err_set(e, "bad clock stamp: counter over %u",
                               (unsigned)MESH_HLC_COUNTER_MASK);
        }
    }
    if (*p != '\0')
        return err_set(e, "bad clock stamp: trailing characters");
    int64_t t = days_from_civil(y, mo, d) * 86400000 + (int64_t)h * 3600000 + (int64_t)mi * 60000 +
                (int64_t)sec * 1000 + ms;
    if ((uint64_t)t > MESH_HLC_MS_MAX)
        return err_set(e, "bad clock stamp: after the clock's range");
    *out = mesh_hlc_make(t, (uint16_t)ctr);
    return 0;
}
