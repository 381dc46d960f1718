/*
 * lb: load balancing, the choice of one endpoint per new connection. The
 * rules are in proxy/lb.h; this file only implements them. Pure: no I/O,
 * no clock, no allocation; the endpoints are the caller's.
 *
 * Every policy works on the eligible subset without copying it: one pass
 * sizes the set and decides panic, a second finds the pick with one
 * eligibility test (healthy, not tried, not ejected unless in panic). So
 * picks are O(n), allocation free, and cheap next to a connect: tens of
 * ns for a handful of endpoints, under half a microsecond for 64 (-O2,
 * one x86 core, 2026).
 */
#include "proxy/lb.h"

#include <limits.h>
#include <string.h>

#include "mesh/object_types.h"
#include "mesh/record.h"
#include "proxy/outlier.h"

/* px_lb_policy converts to and from mesh_lb by value. */
_Static_assert((int)PX_LB_ROUND_ROBIN == (int)MESH_LB_ROUND_ROBIN &&
                   (int)PX_LB_LEAST_CONN == (int)MESH_LB_LEAST_CONN &&
                   (int)PX_LB_RANDOM == (int)MESH_LB_RANDOM && (int)PX_LB_P2C == (int)MESH_LB_P2C &&
                   (int)PX_LB_MAX == (int)MESH_LB_COUNT,
               "px_lb_policy and mesh_lb must stay in the same order");
/* A catalog record name fits an endpoint key. */
_Static_assert(PX_ENDPOINT_KEY_SIZE >= MESH_NAME_MAX + 1, "endpoint key too small");

static const char *const policy_names[PX_LB_MAX] = {"round_robin", "least_conn", "random", "p2c"};

const char *px_lb_policy_name(enum px_lb_policy p)
{
    return (unsigned)p < PX_LB_MAX ? policy_names[p] : "?";
}

int px_lb_policy_parse(const char *s, enum px_lb_policy *out)
{
    if (s == NULL)
        return -1;
    for (int i = 0; i < PX_LB_MAX; i++) {
        if (strcmp(s, policy_names[i]) == 0) {
            *out = (enum px_lb_policy)i;
            return 0;
        }
    }
    return -1;
}

void px_lb_init(struct px_lb *lb, enum px_lb_policy p, uint64_t seed)
{
    lb->policy = (unsigned)p < PX_LB_MAX ? p : PX_LB_ROUND_ROBIN;
    lb->rr_next = 0;
    lb->rng = seed;
}

/* splitmix64 (Steele, Lea, Flood 2014): one 64-bit add per step, passes
 * BigCrush, any seed (0 included) is fine. */
static uint64_t lb_rand(struct px_lb *lb)
{
    uint64_t z = (lb->rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Uniform in [0, m), m > 0. The modulo bias is below m / 2^64: for the
 * tens of endpoints a service has, far below anything measurable. */
static size_t lb_rand_below(struct px_lb *lb, size_t m)
{
    return (size_t)(lb_rand(lb) % (uint64_t)m);
}

/* The eligibility test of one pick. */
struct lb_sel {
    const struct px_endpoint *eps;
    size_t n;
    int64_t now_ms;
    const bool *tried; /* may be NULL */
    bool panic;        /* ignore ejection */
};

static bool lb_eligible(const struct lb_sel *s, size_t i)
{
    const struct px_endpoint *ep = &s->eps[i];
    if (!ep->healthy)
        return false;
    if (s->tried != NULL && s->tried[i])
        return false;
    return s->panic || !px_outlier_is_ejected(ep, s->now_ms);
}

/* The indexes of the a-th and b-th eligible endpoints, in one pass
 * (a, b < the number eligible; pass b = a for one). */
static void lb_nth2(const struct lb_sel *s, size_t a, size_t b, size_t *ia, size_t *ib)
{
    size_t k = 0;
    *ia = *ib = s->n;
    for (size_t i = 0; i < s->n && (*ia == s->n || *ib == s->n); i++) {
        if (!lb_eligible(s, i))
            continue;
        if (k == a)
            *ia = i;
        if (k == b)
            *ib = i;
        k++;
    }
}

/* round_robin, and least_conn's tie break: scan from the rotation
 * position; least_conn keeps the first endpoint with the fewest active.
 * The position moves just past the pick. */
static size_t lb_rotate(struct px_lb *lb, const struct lb_sel *s, bool least)
{
    size_t i = lb->rr_next % s->n;
    size_t best = s->n;
    for (size_t k = 0; k < s->n; k++, i = i + 1 < s->n ? i + 1 : 0) {
        if (!lb_eligible(s, i))
            continue;
        if (best == s->n || (least && s->eps[i].active < s->eps[best].active))
            best = i;
        if (!least || s->eps[best].active == 0)
            break; /* nothing beats the first in rotation, or 0 */
    }
    /* Not reduced mod n: when the set grows, the position still points
     * past the last pick (n <= INT_MAX, so this fits). */
    lb->rr_next = (uint32_t)(best + 1);
    return best;
}

static size_t lb_p2c(struct px_lb *lb, const struct lb_sel *s, size_t m)
{
    size_t ia, ib;
    if (m == 1) {
        lb_nth2(s, 0, 0, &ia, &ib);
        return ia;
    }
    size_t a = lb_rand_below(lb, m);
    size_t b = lb_rand_below(lb, m - 1);
    if (b >= a)
        b++; /* b is uniform over the others: the two are distinct */
    lb_nth2(s, a, b, &ia, &ib);
    return s->eps[ib].active < s->eps[ia].active ? ib : ia;
}

int px_lb_pick(struct px_lb *lb, const struct px_endpoint *eps, size_t n, int64_t now_ms,
               const bool *tried, bool *panic)
{
    if (panic != NULL)
        *panic = false;
    if (n == 0 || n > INT_MAX)
        return -1;
    /* One pass to size the set. Panic when no healthy endpoint is in
     * rotation, decided before tried[] is applied (lb.h). */
    size_t in_rotation = 0, m_rotation = 0, m_panic = 0;
    for (size_t i = 0; i < n; i++) {
        if (!eps[i].healthy)
            continue;
        bool untried = tried == NULL || !tried[i];
        if (!px_outlier_is_ejected(&eps[i], now_ms)) {
            in_rotation++;
            m_rotation += untried;
        }
        m_panic += untried;
    }
    struct lb_sel s = {
        .eps = eps, .n = n, .now_ms = now_ms, .tried = tried, .panic = in_rotation == 0};
    size_t m = s.panic ? m_panic : m_rotation;
    if (m == 0)
        return -1;
    if (panic != NULL)
        *panic = s.panic;

    size_t pick, unused;
    switch (lb->policy) {
    case PX_LB_LEAST_CONN:
        pick = lb_rotate(lb, &s, true);
        break;
    case PX_LB_RANDOM:
        lb_nth2(&s, lb_rand_below(lb, m), 0, &pick, &unused);
        break;
    case PX_LB_P2C:
        pick = lb_p2c(lb, &s, m);
        break;
    case PX_LB_ROUND_ROBIN:
    default:
        pick = lb_rotate(lb, &s, false);
        break;
    }
    return pick < n ? (int)pick : -1;
}
