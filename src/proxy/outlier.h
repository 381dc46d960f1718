/*
 * outlier: passive outlier ejection on connect failures, the L4 analogue of
 * Envoy's consecutive_5xx / consecutive_gateway_failure detector
 * (docs/proxy.md, "Endpoint choice").
 *
 * Pure: no I/O, no clock, no allocation, no timers. The proxy reports each
 * connect outcome with the current time; the state lives in the caller's
 * struct px_endpoint (proxy/lb_types.h). An ejection ends by time alone:
 * px_outlier_is_ejected() compares now_ms with ejected_until_ms.
 *
 * Rules:
 *   - `consecutive` failures in a row (no success between) eject the
 *     endpoint, unless that would leave more than max_percent of the n
 *     endpoints ejected at once; one endpoint may always be ejected when
 *     none is (Envoy's rule), so a pair of endpoints at 10% can still lose
 *     its bad half. Either way the count starts over: a refused ejection
 *     needs another `consecutive` failures to be tried again.
 *   - The ejection lasts base_ms * 2^ejections, capped at max_ms; each
 *     ejection raises the level `ejections` by one until the cap is
 *     reached (so a flapping endpoint stays out longer each time).
 *   - The level decays: once an ejection has ended, every clean period
 *     without a new ejection lowers it by one, where the clean period at
 *     level L is the ejection time of level L - 1 (the one that raised it
 *     to L). Decay is computed lazily when an outcome is reported.
 *   - A success resets the consecutive count. It does not end an ejection
 *     early (in panic mode ejected endpoints still get connections).
 *   - Failures of an endpoint that is ejected neither extend its ejection
 *     nor count toward the next one.
 * Invariants: ejections <= the level whose time reaches max_ms (<= 63);
 * consecutive_failures < consecutive after every call.
 */
#ifndef WEFT_PROXY_OUTLIER_H
#define WEFT_PROXY_OUTLIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/lb_types.h"

/* Defaults, with the reason: */
#define PX_OUTLIER_CONSECUTIVE_DEFAULT 5  /* Envoy's; one lost SYN is not an outage */
#define PX_OUTLIER_BASE_MS_DEFAULT 10000  /* a restarting service is back in seconds */
#define PX_OUTLIER_MAX_MS_DEFAULT 300000  /* a dead node is retried every 5 minutes */
#define PX_OUTLIER_MAX_PERCENT_DEFAULT 50 /* keep half the instances in rotation */

/** The defaults: 5 consecutive, base 10s, max 300s, 50%. */
void px_outlier_conf_default(struct px_outlier_conf *c);

/**
 * The ejection time at level `ejections` under c: base_ms * 2^ejections,
 * capped at max_ms (a max_ms below base_ms counts as base_ms; a base_ms
 * below 1 as 1).
 */
int64_t px_outlier_ejection_ms(const struct px_outlier_conf *c, uint32_t ejections);

/**
 * A connect to eps[i] failed at now_ms. Counts the failure and ejects the
 * endpoint when the rules above allow.
 * Returns true if this call ejected it (the caller counts and logs it).
 */
bool px_outlier_failure(const struct px_outlier_conf *c, struct px_endpoint *eps, size_t n,
                        size_t i, int64_t now_ms);

/** A connect to ep succeeded at now_ms: the consecutive count starts over. */
void px_outlier_success(const struct px_outlier_conf *c, struct px_endpoint *ep, int64_t now_ms);

/** Is ep ejected at now_ms? (Inline: the balancer asks for every endpoint.) */
static inline bool px_outlier_is_ejected(const struct px_endpoint *ep, int64_t now_ms)
{
    return now_ms < ep->ejected_until_ms;
}

/** How many of eps[0..n) are ejected at now_ms (for metrics). */
size_t px_outlier_count_ejected(const struct px_endpoint *eps, size_t n, int64_t now_ms);

#endif
