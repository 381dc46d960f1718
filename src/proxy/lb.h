/*
 * lb: load balancing, the choice of one endpoint of a service for a new
 * connection (docs/proxy.md, "Endpoint choice").
 *
 * Pure: no I/O, no clock, no allocation. The caller keeps the endpoints
 * (proxy/lb_types.h) and passes the time in; randomness comes from a
 * seeded splitmix64 state in struct px_lb, so a test with a fixed seed
 * sees the same picks every run. The caller seeds it from a real random
 * source in the agent.
 *
 * Eligible endpoints: healthy, not ejected at now_ms (proxy/outlier.h) and
 * not already tried by this connection (tried[i], for connect retries).
 * Unhealthy endpoints are never picked. When every healthy endpoint is
 * ejected ("panic", as Envoy calls it), ejection is ignored: the healthy
 * untried endpoints are picked among rather than refusing the connection,
 * and the pick says so. Whether to panic is decided before tried[] is
 * applied: if some healthy endpoint is not ejected but all such have been
 * tried, the pick fails (-1) rather than send a retry to an ejected one.
 *
 * Policies (the same names as [upstream-defaults] lb =):
 *   round_robin  the first eligible endpoint at or after the rotation
 *                position; the position then moves just past it. Exact
 *                rotation over a fixed set; when endpoints come, go or turn
 *                ineligible the rotation continues from where it was (no
 *                endpoint is favoured for being after an ineligible one).
 *   least_conn   the eligible endpoint with the fewest `active`; ties go to
 *                the first in rotation order (and move the position), so
 *                equal endpoints share the load instead of index 0 taking it.
 *   random       uniform over the eligible endpoints.
 *   p2c          two distinct eligible endpoints chosen uniformly, the one
 *                with fewer `active` wins (the first drawn on a tie): the
 *                "power of two choices" (Mitzenmacher; Envoy, Finagle). It
 *                never picks the strictly most loaded of three or more.
 * Each pick is O(n) with n the number of endpoints; n is a service's
 * instances, tens at most on a fleet of gateways.
 */
#ifndef WEFT_PROXY_LB_H
#define WEFT_PROXY_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/lb_types.h"

/** "round_robin", "least_conn", "random", "p2c"; "?" out of range. */
const char *px_lb_policy_name(enum px_lb_policy p);

/** Parse a policy name. Returns 0 and sets *out, or -1 (unknown or NULL). */
int px_lb_policy_parse(const char *s, enum px_lb_policy *out);

/** A balancer with policy p (out of range: round_robin), rotation at 0, PRNG seeded with seed. */
void px_lb_init(struct px_lb *lb, enum px_lb_policy p, uint64_t seed);

/**
 * Pick an endpoint among eps[0..n) for a new connection (or a retry).
 * @param tried  n flags, true for endpoints this connection already tried;
 *               NULL = none tried
 * @param panic  if not NULL, set to true when every healthy endpoint is
 *               ejected and the pick ignored ejection, else false
 * Returns the index, or -1 when no endpoint is eligible (none healthy,
 * all healthy ones tried, n == 0 or n > INT_MAX).
 */
int px_lb_pick(struct px_lb *lb, const struct px_endpoint *eps, size_t n, int64_t now_ms,
               const bool *tried, bool *panic);

#endif
