/*
 * test_lb: load balancing (src/proxy/lb.c). Each policy's distribution
 * over many picks with fixed seeds (exact rotation for round_robin, the
 * minimum for least_conn, uniform within generous bounds for random, the
 * two-choice property for p2c); unhealthy endpoints are never picked,
 * tried ones are skipped, -1 when nothing is eligible, and panic mode when
 * every healthy endpoint is ejected.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mesh/upstream_defaults.h"
#include "proxy/lb.h"

#define NOW INT64_C(1000000)
#define MAXN 8
#define SEED UINT64_C(0x5eed)

static void eps_init(struct px_endpoint *eps, size_t n)
{
    memset(eps, 0, n * sizeof(*eps));
    for (size_t i = 0; i < n; i++) {
        snprintf(eps[i].key, sizeof(eps[i].key), "svc@node-%zu", i);
        eps[i].healthy = true;
    }
}

/* Small deterministic generator for test inputs (not the one under test). */
static uint32_t test_rand(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void test_policy_names(void **state)
{
    (void)state;
    for (int p = 0; p < PX_LB_MAX; p++) {
        enum px_lb_policy got = PX_LB_MAX;
        const char *name = px_lb_policy_name((enum px_lb_policy)p);
        assert_int_equal(px_lb_policy_parse(name, &got), 0);
        assert_int_equal(got, p);
        /* The same spelling as [upstream-defaults] lb = in the mesh. */
        assert_string_equal(name, mesh_lb_name((enum mesh_lb)p));
    }
    assert_string_equal(px_lb_policy_name(PX_LB_ROUND_ROBIN), "round_robin");
    assert_string_equal(px_lb_policy_name(PX_LB_P2C), "p2c");
    assert_string_equal(px_lb_policy_name(PX_LB_MAX), "?");
    enum px_lb_policy p = PX_LB_RANDOM;
    assert_int_equal(px_lb_policy_parse("fastest", &p), -1);
    assert_int_equal(px_lb_policy_parse("", &p), -1);
    assert_int_equal(px_lb_policy_parse("Round_Robin", &p), -1);
    assert_int_equal(px_lb_policy_parse(NULL, &p), -1);
    assert_int_equal(p, PX_LB_RANDOM);
    /* An out-of-range policy falls back to round_robin. */
    struct px_lb lb;
    px_lb_init(&lb, (enum px_lb_policy)42, 1);
    assert_int_equal(lb.policy, PX_LB_ROUND_ROBIN);
}

static void test_round_robin_exact(void **state)
{
    (void)state;
    struct px_endpoint eps[4];
    eps_init(eps, 4);
    struct px_lb lb;
    px_lb_init(&lb, PX_LB_ROUND_ROBIN, SEED);
    for (int k = 0; k < 40; k++) {
        bool panic = true;
        assert_int_equal(px_lb_pick(&lb, eps, 4, NOW, NULL, &panic), k % 4);
        assert_false(panic);
    }
}

static void test_round_robin_set_changes(void **state)
{
    (void)state;
    struct px_endpoint eps[5];
    eps_init(eps, 5);
    struct px_lb lb;
    px_lb_init(&lb, PX_LB_ROUND_ROBIN, SEED);
    assert_int_equal(px_lb_pick(&lb, eps, 4, NOW, NULL, NULL), 0);
    assert_int_equal(px_lb_pick(&lb, eps, 4, NOW, NULL, NULL), 1);
    /* 2 turns unhealthy: the rotation goes on with 3, and 3 does not get
     * 2's share (fair over the remaining three). */
    eps[2].healthy = false;
    assert_int_equal(px_lb_pick(&lb, eps, 4, NOW, NULL, NULL), 3);
    int count[4] = {0};
    for (int k = 0; k < 300; k++)
        count[px_lb_pick(&lb, eps, 4, NOW, NULL, NULL)]++;
    assert_int_equal(count[0], 100);
    assert_int_equal(count[1], 100);
    assert_int_equal(count[2], 0);
    assert_int_equal(count[3], 100);
    /* The set grows (a new instance at the end): it joins the rotation
     * where the position is. Last pick was 3; next are 4, 0, 1, 3, 4. */
    eps[2].healthy = true;
    assert_int_equal(px_lb_pick(&lb, eps, 5, NOW, NULL, NULL), 4);
    assert_int_equal(px_lb_pick(&lb, eps, 5, NOW, NULL, NULL), 0);
    assert_int_equal(px_lb_pick(&lb, eps, 5, NOW, NULL, NULL), 1);
    assert_int_equal(px_lb_pick(&lb, eps, 5, NOW, NULL, NULL), 2);
    assert_int_equal(px_lb_pick(&lb, eps, 5, NOW, NULL, NULL), 3);
    /* The set shrinks below the position (next is 4, n is now 2): wraps. */
    assert_int_equal(px_lb_pick(&lb, eps, 2, NOW, NULL, NULL), 0);
    assert_int_equal(px_lb_pick(&lb, eps, 2, NOW, NULL, NULL), 1);
    assert_int_equal(px_lb_pick(&lb, eps, 2, NOW, NULL, NULL), 0);
}

static void test_least_conn_minimum(void **state)
{
    (void)state;
    struct px_endpoint eps[4];
    eps_init(eps, 4);
    struct px_lb lb;
    px_lb_init(&lb, PX_LB_LEAST_CONN, SEED);
    /* Ties between 1 and 3 (one connection each) alternate: not always
     * the lower index. */
    eps[0].active = 3;
    eps[1].active = 1;
    eps[2].active = 2;
    eps[3].active = 1;
    for (int k = 0; k < 10; k++)
        assert_int_equal(px_lb_pick(&lb, eps, 4, NOW, NULL, NULL), k % 2 ? 3 : 1);
    /* All equal: behaves as round_robin. */
    for (size_t i = 0; i < 4; i++)
        eps[i].active = 7;
    int count[4] = {0};
    for (int k = 0; k < 400; k++)
        count[px_lb_pick(&lb, eps, 4, NOW, NULL, NULL)]++;
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(count[i], 100);
    /* Random loads: the pick always has the fewest among eligible ones. */
    uint32_t rs = 99;
    for (int k = 0; k < 5000; k++) {
        for (size_t i = 0; i < 4; i++) {
            eps[i].active = test_rand(&rs) % 5;
            eps[i].healthy = test_rand(&rs) % 4 != 0;
        }
        int got = px_lb_pick(&lb, eps, 4, NOW, NULL, NULL);
        uint32_t min = UINT32_MAX;
        for (size_t i = 0; i < 4; i++)
            if (eps[i].healthy && eps[i].active < min)
                min = eps[i].active;
        if (min == UINT32_MAX) {
            assert_int_equal(got, -1);
            continue;
        }
        assert_true(got >= 0);
        assert_true(eps[got].healthy);
        assert_int_equal(eps[got].active, min);
    }
}

/* Connections that open through least_conn and never close stay balanced
 * within one. */
static void test_least_conn_balances(void **state)
{
    (void)state;
    struct px_endpoint eps[3];
    eps_init(eps, 3);
    eps[1].active = 5; /* starts loaded: gets nothing until the others catch up */
    struct px_lb lb;
    px_lb_init(&lb, PX_LB_LEAST_CONN, SEED);
    for (int k = 0; k < 10; k++) {
        int got = px_lb_pick(&lb, eps, 3, NOW, NULL, NULL);
        assert_true(got == 0 || got == 2);
        eps[got].active++;
    }
    assert_int_equal(eps[0].active, 5);
    assert_int_equal(eps[2].active, 5);
    for (int k = 0; k < 300; k++) {
        int got = px_lb_pick(&lb, eps, 3, NOW, NULL, NULL);
        eps[got].active++;
        uint32_t lo = eps[0].active, hi = eps[0].active;
        for (size_t i = 1; i < 3; i++) {
            lo = eps[i].active < lo ? eps[i].active : lo;
            hi = eps[i].active > hi ? eps[i].active : hi;
        }
        assert_true(hi - lo <= 1);
    }
}

static void test_random_uniform(void **state)
{
    (void)state;
    struct px_endpoint eps[5];
    eps_init(eps, 5);
    eps[2].healthy = false;
    struct px_lb lb, again;
    px_lb_init(&lb, PX_LB_RANDOM, SEED);
    px_lb_init(&again, PX_LB_RANDOM, SEED);
    int count[5] = {0};
    for (int k = 0; k < 10000; k++) {
        int got = px_lb_pick(&lb, eps, 5, NOW, NULL, NULL);
        /* Deterministic: the same seed gives the same picks. */
        assert_int_equal(px_lb_pick(&again, eps, 5, NOW, NULL, NULL), got);
        count[got]++;
    }
    /* Expected 2500 each; the bounds are over 10 standard deviations. */
    assert_int_equal(count[2], 0);
    for (size_t i = 0; i < 5; i++) {
        if (i == 2)
            continue;
        if (count[i] < 2050 || count[i] > 2950)
            fail_msg("endpoint %zu picked %d times of 10000", i, count[i]);
    }
    /* A different seed gives a different sequence. */
    px_lb_init(&lb, PX_LB_RANDOM, SEED + 1);
    px_lb_init(&again, PX_LB_RANDOM, SEED);
    int same = 0;
    for (int k = 0; k < 100; k++)
        same +=
            px_lb_pick(&lb, eps, 5, NOW, NULL, NULL) == px_lb_pick(&again, eps, 5, NOW, NULL, NULL);
    assert_true(same < 100);
}

static void test_p2c_two_choices(void **state)
{
    (void)state;
    struct px_endpoint eps[5];
    eps_init(eps, 5);
    struct px_lb lb;
    px_lb_init(&lb, PX_LB_P2C, SEED);
    /* Equal loads: uniform (expected 2000 each of 10000). */
    int count[5] = {0};
    for (int k = 0; k < 10000; k++)
        count[px_lb_pick(&lb, eps, 5, NOW, NULL, NULL)]++;
    for (size_t i = 0; i < 5; i++)
        if (count[i] < 1600 || count[i] > 2400)
            fail_msg("endpoint %zu picked %d times of 10000", i, count[i]);

    /* Three endpoints, loads 10, 1, 2: the most loaded is never picked; the
     * least loaded wins every pair it is in (2/3 of the picks), the middle
     * one the rest (1/3). Bounds are over 10 standard deviations. */
    eps[0].active = 10;
    eps[1].active = 1;
    eps[2].active = 2;
    memset(count, 0, sizeof(count));
    for (int k = 0; k < 10000; k++)
        count[px_lb_pick(&lb, eps, 3, NOW, NULL, NULL)]++;
    assert_int_equal(count[0], 0);
    if (count[1] < 6200 || count[1] > 7150 || count[2] < 2850 || count[2] > 3800)
        fail_msg("picks %d %d %d", count[0], count[1], count[2]);

    /* Random loads on five: the strictly most loaded endpoint is never
     * picked, and the two choices are distinct (a pick is never the worse
     * of a pair, so the least loaded gets at least 2/5 of the picks). */
    uint32_t rs = 7;
    for (int k = 0; k < 5000; k++) {
        for (size_t i = 0; i < 5; i++)
            eps[i].active = test_rand(&rs) % 10;
        int max_i = 0, n_max = 0;
        for (int i = 0; i < 5; i++) {
            if (eps[i].active > eps[max_i].active)
                max_i = i;
        }
        for (int i = 0; i < 5; i++)
            n_max += eps[i].active == eps[max_i].active;
        int got = px_lb_pick(&lb, eps, 5, NOW, NULL, NULL);
        assert_true(got >= 0 && got < 5);
        if (n_max == 1)
            assert_int_not_equal(got, max_i);
    }

    /* Two eligible: always the less loaded; one eligible: that one. */
    eps[0].active = 4;
    eps[1].active = 3;
    eps[2].healthy = false;
    for (int k = 0; k < 100; k++)
        assert_int_equal(px_lb_pick(&lb, eps, 3, NOW, NULL, NULL), 1);
    eps[1].healthy = false;
    for (int k = 0; k < 10; k++)
        assert_int_equal(px_lb_pick(&lb, eps, 3, NOW, NULL, NULL), 0);
}

/* Random health, tried and ejection patterns against every policy: a pick
 * is always eligible, and -1 exactly when nothing is. */
static void test_never_ineligible(void **state)
{
    (void)state;
    struct px_endpoint eps[MAXN];
    bool tried[MAXN];
    uint32_t rs = 12345;
    for (int p = 0; p < PX_LB_MAX; p++) {
        struct px_lb lb;
        px_lb_init(&lb, (enum px_lb_policy)p, SEED + (uint64_t)p);
        for (int k = 0; k < 4000; k++) {
            size_t n = test_rand(&rs) % (MAXN + 1);
            eps_init(eps, n);
            bool any_healthy_in = false, any_eligible = false, any_panic_ok = false;
            for (size_t i = 0; i < n; i++) {
                eps[i].healthy = test_rand(&rs) % 3 != 0;
                eps[i].active = test_rand(&rs) % 4;
                tried[i] = test_rand(&rs) % 4 == 0;
                eps[i].ejected_until_ms = test_rand(&rs) % 3 == 0 ? NOW + 1 : 0;
                bool ejected = eps[i].ejected_until_ms > NOW;
                any_healthy_in |= eps[i].healthy && !ejected;
                any_eligible |= eps[i].healthy && !ejected && !tried[i];
                any_panic_ok |= eps[i].healthy && !tried[i];
            }
            bool panic = false;
            int got = px_lb_pick(&lb, eps, n, NOW, tried, &panic);
            if (any_healthy_in) {
                assert_false(panic);
                if (!any_eligible) {
                    assert_int_equal(got, -1);
                    continue;
                }
                assert_true(got >= 0 && (size_t)got < n);
                assert_true(eps[got].healthy);
                assert_false(tried[got]);
                assert_true(eps[got].ejected_until_ms <= NOW);
            } else if (any_panic_ok) {
                assert_true(panic);
                assert_true(got >= 0 && (size_t)got < n);
                assert_true(eps[got].healthy);
                assert_false(tried[got]);
            } else {
                assert_int_equal(got, -1);
            }
        }
    }
}

static void test_none_eligible(void **state)
{
    (void)state;
    struct px_endpoint eps[3];
    eps_init(eps, 3);
    for (int p = 0; p < PX_LB_MAX; p++) {
        struct px_lb lb;
        px_lb_init(&lb, (enum px_lb_policy)p, SEED);
        bool panic = true;
        assert_int_equal(px_lb_pick(&lb, eps, 0, NOW, NULL, &panic), -1);
        assert_false(panic);
        for (size_t i = 0; i < 3; i++)
            eps[i].healthy = false;
        panic = true;
        assert_int_equal(px_lb_pick(&lb, eps, 3, NOW, NULL, &panic), -1);
        assert_false(panic);
        /* Unhealthy and ejected: still never picked, no panic. */
        eps[1].ejected_until_ms = NOW + 10;
        assert_int_equal(px_lb_pick(&lb, eps, 3, NOW, NULL, &panic), -1);
        assert_false(panic);
        eps_init(eps, 3);
    }
}

static void test_tried_skipped(void **state)
{
    (void)state;
    struct px_endpoint eps[4];
    eps_init(eps, 4);
    for (int p = 0; p < PX_LB_MAX; p++) {
        struct px_lb lb;
        px_lb_init(&lb, (enum px_lb_policy)p, SEED);
        /* A connection's retries: each pick goes to one not yet tried,
         * until all are tried. */
        for (int conn = 0; conn < 50; conn++) {
            bool tried[4] = {false};
            for (int attempt = 0; attempt < 4; attempt++) {
                int got = px_lb_pick(&lb, eps, 4, NOW, tried, NULL);
                assert_true(got >= 0 && got < 4);
                assert_false(tried[got]);
                tried[got] = true;
            }
            assert_int_equal(px_lb_pick(&lb, eps, 4, NOW, tried, NULL), -1);
        }
    }
    /* round_robin: a retry goes to the next in rotation. */
    struct px_lb lb;
    px_lb_init(&lb, PX_LB_ROUND_ROBIN, SEED);
    bool tried[4] = {false, true, false, false};
    assert_int_equal(px_lb_pick(&lb, eps, 4, NOW, tried, NULL), 0);
    assert_int_equal(px_lb_pick(&lb, eps, 4, NOW, tried, NULL), 2);
}

static void test_ejected_and_panic(void **state)
{
    (void)state;
    struct px_endpoint eps[4];
    for (int p = 0; p < PX_LB_MAX; p++) {
        struct px_lb lb;
        px_lb_init(&lb, (enum px_lb_policy)p, SEED);
        eps_init(eps, 4);
        /* 0 and 2 ejected until NOW + 100, 3 unhealthy: only 1 is picked. */
        eps[0].ejected_until_ms = NOW + 100;
        eps[2].ejected_until_ms = NOW + 100;
        eps[3].healthy = false;
        for (int k = 0; k < 50; k++) {
            bool panic = true;
            assert_int_equal(px_lb_pick(&lb, eps, 4, NOW, NULL, &panic), 1);
            assert_false(panic);
        }
        /* The ejection ends at NOW + 100 exactly: 0 and 2 are back. */
        bool seen[4] = {false};
        for (int k = 0; k < 200; k++) {
            int got = px_lb_pick(&lb, eps, 4, NOW + 100, NULL, NULL);
            assert_true(got >= 0 && got < 3);
            seen[got] = true;
        }
        assert_true(seen[0] && seen[1] && seen[2]);

        /* 1 turns unhealthy: every healthy endpoint is ejected, so panic
         * picks among the ejected healthy ones (never the unhealthy 1, 3). */
        eps[1].healthy = false;
        memset(seen, 0, sizeof(seen));
        for (int k = 0; k < 200; k++) {
            bool panic = false;
            int got = px_lb_pick(&lb, eps, 4, NOW + 99, NULL, &panic);
            assert_true(panic);
            assert_true(got == 0 || got == 2);
            seen[got] = true;
        }
        assert_true(seen[0] && seen[2]);
        /* Panic with retries: the untried ejected one, then none. */
        bool tried[4] = {true, false, false, false};
        bool panic = false;
        assert_int_equal(px_lb_pick(&lb, eps, 4, NOW, tried, &panic), 2);
        assert_true(panic);
        tried[2] = true;
        assert_int_equal(px_lb_pick(&lb, eps, 4, NOW, tried, &panic), -1);
        assert_false(panic);

        /* No panic while a healthy endpoint is in rotation, even when this
         * connection has tried it: the retry fails rather than go to an
         * ejected endpoint. */
        eps[1].healthy = true;
        bool tried1[4] = {false, true, false, false};
        panic = true;
        assert_int_equal(px_lb_pick(&lb, eps, 4, NOW, tried1, &panic), -1);
        assert_false(panic);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_names),
        cmocka_unit_test(test_round_robin_exact),
        cmocka_unit_test(test_round_robin_set_changes),
        cmocka_unit_test(test_least_conn_minimum),
        cmocka_unit_test(test_least_conn_balances),
        cmocka_unit_test(test_random_uniform),
        cmocka_unit_test(test_p2c_two_choices),
        cmocka_unit_test(test_never_ineligible),
        cmocka_unit_test(test_none_eligible),
        cmocka_unit_test(test_tried_skipped),
        cmocka_unit_test(test_ejected_and_panic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
