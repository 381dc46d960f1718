/*
 * outlier: passive outlier ejection on connect failures. The rules are in
 * proxy/outlier.h; this file only implements them. Pure: no I/O, no clock,
 * no allocation; the endpoints are the caller's.
 *
 * The ejection level is the exponent of the doubling: level L ejects for
 * base * 2^L, capped. The level stops rising at the first level whose time
 * reaches the cap, so it never exceeds 63 and a capped endpoint decays out
 * of the cap after one clean period.
 */
#include "proxy/outlier.h"

void px_outlier_conf_default(struct px_outlier_conf *c)
{
    c->consecutive = PX_OUTLIER_CONSECUTIVE_DEFAULT;
    c->base_ms = PX_OUTLIER_BASE_MS_DEFAULT;
    c->max_ms = PX_OUTLIER_MAX_MS_DEFAULT;
    c->max_percent = PX_OUTLIER_MAX_PERCENT_DEFAULT;
}

int64_t px_outlier_ejection_ms(const struct px_outlier_conf *c, uint32_t ejections)
{
    int64_t d = c->base_ms > 0 ? c->base_ms : 1;
    int64_t cap = c->max_ms > d ? c->max_ms : d;
    /* Doubling stops at the cap, so d never overflows: d < cap <= INT64_MAX
     * and d is doubled only while d <= cap / 2. */
    for (uint32_t k = 0; k < ejections && d < cap; k++)
        d = d <= cap / 2 ? d * 2 : cap;
    return d < cap ? d : cap;
}

size_t px_outlier_count_ejected(const struct px_endpoint *eps, size_t n, int64_t now_ms)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += px_outlier_is_ejected(&eps[i], now_ms);
    return k;
}

/* Lower the level by one per clean period since decay_from_ms (the end of
 * the last ejection, then of the last decay step). Bounded: at most
 * `ejections` (<= 63) steps. */
static void outlier_decay(const struct px_outlier_conf *c, struct px_endpoint *ep, int64_t now_ms)
{
    if (px_outlier_is_ejected(ep, now_ms))
        return;
    while (ep->ejections > 0) {
        int64_t period = px_outlier_ejection_ms(c, ep->ejections - 1);
        if (now_ms - ep->decay_from_ms < period)
            break;
        ep->decay_from_ms += period;
        ep->ejections--;
    }
}

/* May one more of eps[0..n) be ejected at now_ms? */
static bool outlier_may_eject(const struct px_outlier_conf *c, const struct px_endpoint *eps,
                              size_t n, int64_t now_ms)
{
    uint64_t ejected = px_outlier_count_ejected(eps, n, now_ms);
    if (ejected == 0)
        return true; /* one may always be ejected (Envoy) */
    return (ejected + 1) * 100 <= (uint64_t)c->max_percent * n;
}

bool px_outlier_failure(const struct px_outlier_conf *c, struct px_endpoint *eps, size_t n,
                        size_t i, int64_t now_ms)
{
    if (i >= n || c->consecutive == 0)
        return false;
    struct px_endpoint *ep = &eps[i];
    if (px_outlier_is_ejected(ep, now_ms))
        return false;
    outlier_decay(c, ep, now_ms);
    if (++ep->consecutive_failures < c->consecutive)
        return false;
    ep->consecutive_failures = 0;
    if (!outlier_may_eject(c, eps, n, now_ms))
        return false;
    int64_t d = px_outlier_ejection_ms(c, ep->ejections);
    ep->ejected_until_ms = now_ms <= INT64_MAX - d ? now_ms + d : INT64_MAX;
    ep->decay_from_ms = ep->ejected_until_ms;
    if (px_outlier_ejection_ms(c, ep->ejections) < px_outlier_ejection_ms(c, ep->ejections + 1))
        ep->ejections++;
    ep->total_ejections++;
    return true;
}

void px_outlier_success(const struct px_outlier_conf *c, struct px_endpoint *ep, int64_t now_ms)
{
    ep->consecutive_failures = 0;
    outlier_decay(c, ep, now_ms);
}
