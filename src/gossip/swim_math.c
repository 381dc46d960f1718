/*
 * swim_math: memberlist's scaling formulas (util.go, suspicion.go), kept
 * apart so the unit tests can check the exact numbers.
 *
 * Floating point is used exactly where memberlist uses it (log10, log,
 * log2) and the results are floored to whole milliseconds the way Go floors
 * to a time.Duration, so a weft node and a Go node under the same config
 * compute the same timeouts.
 */
#include "gossip/swim.h"

#include <math.h>

int64_t swim_suspicion_min_ms(unsigned mult, size_t n, int64_t interval_ms)
{
    /* nodeScale := max(1, log10(max(1, n))); Go keeps 3 decimals:
     * Duration(mult) * Duration(nodeScale*1000) * interval / 1000 (in ns). */
    double scale = log10(n > 1 ? (double)n : 1.0);
    if (scale < 1.0)
        scale = 1.0;
    int64_t scale1000 = (int64_t)(scale * 1000.0);
    int64_t ns = (int64_t)mult * scale1000 * (interval_ms * 1000000) / 1000;
    return ns / 1000000;
}

int64_t swim_suspicion_timeout_ms(unsigned c, unsigned k, int64_t min_ms, int64_t max_ms)
{
    /* With k == 0 no confirmation is expected: memberlist starts the timer
     * at min and never changes it. */
    if (k == 0)
        return min_ms;
    if (c > k)
        c = k;
    double frac = log((double)c + 1.0) / log((double)k + 1.0);
    double raw = (double)max_ms / 1000.0 - frac * ((double)(max_ms - min_ms) / 1000.0);
    int64_t t = (int64_t)floor(1000.0 * raw);
    return t < min_ms ? min_ms : t;
}

unsigned swim_retransmit_limit(unsigned mult, size_t n)
{
    double scale = ceil(log10((double)n + 1.0));
    return mult * (unsigned)scale;
}

int64_t swim_push_pull_scale_ms(int64_t interval_ms, size_t n)
{
    /* pushPullScaleThreshold = 32 nodes. */
    if (n <= 32)
        return interval_ms;
    double mult = ceil(log2((double)n) - log2(32.0)) + 1.0;
    return (int64_t)mult * interval_ms;
}
