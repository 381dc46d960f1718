/*
 * test_outlier: passive outlier ejection (src/proxy/outlier.c). Ejection
 * after N consecutive connect failures and not before; a success starts the
 * count over; the ejection time doubles per repeat up to the cap and the
 * level decays after clean periods; the max_percent cap and the
 * at-least-one rule; an ejection ends at exactly the right time. Last, the
 * balancer and the detector together: a dead endpoint drops out of the
 * rotation and comes back on time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "proxy/lb.h"
#include "proxy/outlier.h"

#define T0 INT64_C(5000000)

static void eps_init(struct px_endpoint *eps, size_t n)
{
    memset(eps, 0, n * sizeof(*eps));
    for (size_t i = 0; i < n; i++) {
        snprintf(eps[i].key, sizeof(eps[i].key), "svc@node-%zu", i);
        eps[i].healthy = true;
    }
}

/* Fail eps[i] k times at now; returns how many of the calls ejected it. */
static int fail_n(const struct px_outlier_conf *c, struct px_endpoint *eps, size_t n, size_t i,
                  int k, int64_t now)
{
    int ejected = 0;
    for (int j = 0; j < k; j++)
        ejected += px_outlier_failure(c, eps, n, i, now);
    return ejected;
}

static void test_defaults(void **state)
{
    (void)state;
    struct px_outlier_conf c;
    px_outlier_conf_default(&c);
    assert_int_equal(c.consecutive, 5);
    assert_int_equal(c.base_ms, 10000);
    assert_int_equal(c.max_ms, 300000);
    assert_int_equal(c.max_percent, 50);
}

static void test_eject_after_consecutive(void **state)
{
    (void)state;
    struct px_outlier_conf c;
    px_outlier_conf_default(&c);
    struct px_endpoint eps[4];
    eps_init(eps, 4);
    for (int k = 0; k < 4; k++) {
        assert_false(px_outlier_failure(&c, eps, 4, 2, T0 + k));
        assert_false(px_outlier_is_ejected(&eps[2], T0 + k));
    }
    assert_int_equal(eps[2].consecutive_failures, 4);
    assert_true(px_outlier_failure(&c, eps, 4, 2, T0 + 4));
    assert_int_equal(eps[2].consecutive_failures, 0);
    assert_int_equal(eps[2].total_ejections, 1);
    assert_int_equal(eps[2].ejections, 1);
    /* Ejected for exactly base_ms: until T0 + 4 + 10000. */
    assert_int_equal(eps[2].ejected_until_ms, T0 + 4 + 10000);
    assert_true(px_outlier_is_ejected(&eps[2], T0 + 4));
    assert_true(px_outlier_is_ejected(&eps[2], T0 + 4 + 9999));
    assert_false(px_outlier_is_ejected(&eps[2], T0 + 4 + 10000));
    assert_int_equal(px_outlier_count_ejected(eps, 4, T0 + 5), 1);
    assert_int_equal(px_outlier_count_ejected(eps, 4, T0 + 4 + 10000), 0);
    /* The others are untouched. */
    for (size_t i = 0; i < 4; i++) {
        if (i == 2)
            continue;
        assert_int_equal(eps[i].consecutive_failures, 0);
        assert_false(px_outlier_is_ejected(&eps[i], T0 + 5));
    }
    /* An index out of range is ignored. */
    assert_false(px_outlier_failure(&c, eps, 4, 4, T0));
}

static void test_success_resets(void **state)
{
    (void)state;
    struct px_outlier_conf c;
    px_outlier_conf_default(&c);
    struct px_endpoint eps[2];
    eps_init(eps, 2);
    /* 4 failures, a success, 4 failures: never 5 in a row. */
    for (int round = 0; round < 10; round++) {
        assert_int_equal(fail_n(&c, eps, 2, 0, 4, T0 + round), 0);
        px_outlier_success(&c, &eps[0], T0 + round);
        assert_int_equal(eps[0].consecutive_failures, 0);
    }
    assert_false(px_outlier_is_ejected(&eps[0], T0 + 10));
    assert_int_equal(fail_n(&c, eps, 2, 0, 5, T0 + 10), 1);
    assert_true(px_outlier_is_ejected(&eps[0], T0 + 10));
    /* consecutive = 0 turns ejection off. */
    c.consecutive = 0;
    eps_init(eps, 2);
    assert_int_equal(fail_n(&c, eps, 2, 1, 1000, T0), 0);
    assert_false(px_outlier_is_ejected(&eps[1], T0));
}

/* Ejected again as soon as each ejection ends: 10s, 20s, 40s, 80s, 160s,
 * then the 300s cap. */
static void test_ejection_doubles_and_caps(void **state)
{
    (void)state;
    struct px_outlier_conf c;
    px_outlier_conf_default(&c);
    struct px_endpoint eps[3];
    eps_init(eps, 3);
    const int64_t want[] = {10000, 20000, 40000, 80000, 160000, 300000, 300000, 300000};
    int64_t now = T0;
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        assert_int_equal(fail_n(&c, eps, 3, 1, 5, now), 1);
        assert_int_equal(eps[1].ejected_until_ms - now, want[k]);
        assert_int_equal(eps[1].total_ejections, k + 1);
        now = eps[1].ejected_until_ms;
    }
    /* The level stops at the first capped one. */
    assert_int_equal(eps[1].ejections, 5);
    assert_int_equal(px_outlier_ejection_ms(&c, 0), 10000);
    assert_int_equal(px_outlier_ejection_ms(&c, 4), 160000);
    assert_int_equal(px_outlier_ejection_ms(&c, 5), 300000);
    assert_int_equal(px_outlier_ejection_ms(&c, 63), 300000);
    assert_int_equal(px_outlier_ejection_ms(&c, UINT32_MAX), 300000);
    /* Degenerate settings neither overflow nor go below 1 ms. */
    struct px_outlier_conf d = {.consecutive = 1, .base_ms = 0, .max_ms = 0, .max_percent = 100};
    assert_int_equal(px_outlier_ejection_ms(&d, 0), 1);
    assert_int_equal(px_outlier_ejection_ms(&d, 10), 1);
    d.base_ms = 500;
    d.max_ms = 100; /* below base: base wins */
    assert_int_equal(px_outlier_ejection_ms(&d, 3), 500);
    d.base_ms = 1;
    d.max_ms = INT64_MAX;
    assert_int_equal(px_outlier_ejection_ms(&d, 62), INT64_C(1) << 62);
    assert_int_equal(px_outlier_ejection_ms(&d, 63), INT64_MAX);
    assert_int_equal(px_outlier_ejection_ms(&d, 200), INT64_MAX);
    d.base_ms = INT64_MAX / 3;
    assert_int_equal(px_outlier_ejection_ms(&d, 1), INT64_MAX / 3 * 2);
    assert_int_equal(px_outlier_ejection_ms(&d, 2), INT64_MAX);
}

/* The level decays by one per clean period after the ejection ends: at
 * level L the period is the ejection time of level L - 1. */
static void test_level_decays(void **state)
{
    (void)state;
    struct px_outlier_conf c;
    px_outlier_conf_default(&c);
    struct px_endpoint eps[2];
    eps_init(eps, 2);
    /* One ejection (10s): level 1, ends at E. */
    assert_int_equal(fail_n(&c, eps, 2, 0, 5, T0), 1);
    int64_t e = eps[0].ejected_until_ms;
    /* During the ejection nothing decays. */
    px_outlier_success(&c, &eps[0], e - 1);
    assert_int_equal(eps[0].ejections, 1);
    px_outlier_success(&c, &eps[0], e + 9999);
    assert_int_equal(eps[0].ejections, 1);
    px_outlier_success(&c, &eps[0], e + 10000);
    assert_int_equal(eps[0].ejections, 0);

    /* Drive it to the cap (level 5), then let it rest. */
    int64_t now = e + 10000;
    for (int k = 0; k < 6; k++) {
        assert_int_equal(fail_n(&c, eps, 2, 0, 5, now), 1);
        now = eps[0].ejected_until_ms;
    }
    assert_int_equal(eps[0].ejections, 5);
    e = now;
    px_outlier_success(&c, &eps[0], e + 160000 - 1);
    assert_int_equal(eps[0].ejections, 5);
    px_outlier_success(&c, &eps[0], e + 160000);
    assert_int_equal(eps[0].ejections, 4);
    /* Several periods at once (a quiet endpoint reports rarely): after
     * 160 + 80 s the level is 3, so the next ejection lasts 80s. */
    assert_int_equal(fail_n(&c, eps, 2, 0, 5, e + 240000), 1);
    assert_int_equal(eps[0].ejected_until_ms - (e + 240000), 80000);
    assert_int_equal(eps[0].ejections, 4);
    /* A long rest takes it back to 0, through failures as well as
     * successes: the next ejection is base_ms again. */
    e = eps[0].ejected_until_ms;
    assert_false(px_outlier_failure(&c, eps, 2, 0, e + 3600000));
    assert_int_equal(eps[0].ejections, 0);
    assert_int_equal(fail_n(&c, eps, 2, 0, 4, e + 3600000), 1);
    assert_int_equal(eps[0].ejected_until_ms - (e + 3600000), 10000);
}

/* Failures of an ejected endpoint (panic mode sends it connections)
 * neither extend its ejection nor count toward the next. */
static void test_failures_while_ejected(void **state)
{
    (void)state;
    struct px_outlier_conf c;
    px_outlier_conf_default(&c);
    c.max_percent = 100; /* nothing but the rule under test stops a re-ejection */
    struct px_endpoint eps[2];
    eps_init(eps, 2);
    assert_int_equal(fail_n(&c, eps, 2, 0, 5, T0), 1);
    int64_t until = eps[0].ejected_until_ms;
    assert_int_equal(fail_n(&c, eps, 2, 0, 52, T0 + 100), 0);
    assert_int_equal(eps[0].ejected_until_ms, until);
    assert_int_equal(eps[0].consecutive_failures, 0);
    assert_int_equal(eps[0].total_ejections, 1);
    /* A success while ejected does not end the ejection. */
    px_outlier_success(&c, &eps[0], T0 + 200);
    assert_true(px_outlier_is_ejected(&eps[0], T0 + 200));
    /* After it ends, it takes 5 failures again. */
    assert_int_equal(fail_n(&c, eps, 2, 0, 4, until), 0);
    assert_int_equal(fail_n(&c, eps, 2, 0, 1, until), 1);
}

static void test_max_percent(void **state)
{
    (void)state;
    struct px_outlier_conf c;
    px_outlier_conf_default(&c); /* 50% */
    struct px_endpoint eps[4];
    eps_init(eps, 4);
    assert_int_equal(fail_n(&c, eps, 4, 0, 5, T0), 1);
    assert_int_equal(fail_n(&c, eps, 4, 1, 5, T0 + 1000), 1); /* 2 of 4 = 50% */
    /* A third would be 75%: not ejected, and its count starts over. */
    assert_int_equal(fail_n(&c, eps, 4, 2, 5, T0 + 2000), 0);
    assert_false(px_outlier_is_ejected(&eps[2], T0 + 2000));
    assert_int_equal(eps[2].consecutive_failures, 0);
    assert_int_equal(eps[2].total_ejections, 0);
    assert_int_equal(px_outlier_count_ejected(eps, 4, T0 + 2000), 2);
    /* Once 0's ejection has ended (T0 + 10s), there is room again. */
    assert_int_equal(fail_n(&c, eps, 4, 2, 5, T0 + 9999), 0);
    assert_int_equal(fail_n(&c, eps, 4, 2, 5, T0 + 10000), 1);
    assert_int_equal(px_outlier_count_ejected(eps, 4, T0 + 10000), 2);

    /* 0% still ejects one (the at-least-one rule), never two. */
    c.max_percent = 0;
    eps_init(eps, 4);
    assert_int_equal(fail_n(&c, eps, 4, 3, 5, T0), 1);
    assert_int_equal(fail_n(&c, eps, 4, 0, 5, T0), 0);
    /* 100%: all of them. */
    c.max_percent = 100;
    eps_init(eps, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(fail_n(&c, eps, 4, i, 5, T0), 1);
    assert_int_equal(px_outlier_count_ejected(eps, 4, T0), 4);
}

/* Two endpoints at 10%: one may always be ejected, the second not. */
static void test_at_least_one(void **state)
{
    (void)state;
    struct px_outlier_conf c;
    px_outlier_conf_default(&c);
    c.max_percent = 10;
    struct px_endpoint eps[2];
    eps_init(eps, 2);
    assert_int_equal(fail_n(&c, eps, 2, 1, 5, T0), 1);
    assert_int_equal(fail_n(&c, eps, 2, 0, 5, T0), 0);
    assert_false(px_outlier_is_ejected(&eps[0], T0));
    /* A single endpoint may be ejected too (the balancer then panics). */
    struct px_endpoint one;
    eps_init(&one, 1);
    assert_int_equal(fail_n(&c, &one, 1, 0, 5, T0), 1);
}

/* Small deterministic generator for test inputs. */
static uint32_t test_rand(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* Random outcomes on random endpoints as time goes on: the invariants of
 * outlier.h hold after every call, whatever the settings. */
static void test_invariants_random(void **state)
{
    (void)state;
    uint32_t rs = 2026;
    uint64_t all_ejections = 0;
    for (int round = 0; round < 200; round++) {
        struct px_outlier_conf c = {
            .consecutive = 1 + test_rand(&rs) % 6,
            .base_ms = 1 + test_rand(&rs) % 1000,
            .max_ms = test_rand(&rs) % 50000,
            .max_percent = test_rand(&rs) % 101,
        };
        size_t n = 1 + test_rand(&rs) % 8;
        struct px_endpoint eps[8];
        eps_init(eps, n);
        size_t cap = (size_t)c.max_percent * n / 100;
        if (cap < 1)
            cap = 1;
        uint64_t ejections_seen = 0;
        int64_t now = T0;
        for (int k = 0; k < 2000; k++) {
            now += test_rand(&rs) % 300;
            size_t i = test_rand(&rs) % n;
            int64_t until = eps[i].ejected_until_ms;
            bool was_ejected = px_outlier_is_ejected(&eps[i], now);
            if (test_rand(&rs) % 3 == 0) {
                px_outlier_success(&c, &eps[i], now);
                assert_int_equal(eps[i].consecutive_failures, 0);
            } else if (px_outlier_failure(&c, eps, n, i, now)) {
                ejections_seen++;
                assert_false(was_ejected);
                int64_t d = eps[i].ejected_until_ms - now;
                assert_true(d >= 1);
                assert_true(d <= (c.max_ms > c.base_ms ? c.max_ms : c.base_ms));
            }
            if (was_ejected)
                assert_int_equal(eps[i].ejected_until_ms, until);
            assert_true(eps[i].consecutive_failures < c.consecutive);
            assert_true(eps[i].ejections <= 63);
            assert_true(px_outlier_count_ejected(eps, n, now) <= cap);
        }
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++)
            total += eps[i].total_ejections;
        assert_int_equal(total, ejections_seen);
        all_ejections += total;
    }
    /* The walk did exercise ejection (a few per round). */
    assert_true(all_ejections > 200);
}

/*
 * The balancer and the detector together, as the proxy uses them: three
 * endpoints under round_robin, node 1 refuses every connect. A connection
 * arrives every 10 ms (fake time) for 30 s; a failure is retried on the
 * next endpoint.
 *
 *   t = 0            picks 0, 1 (fails, retried on 2), 0, 1 (fails), ...
 *   t = 90 ms        the 5th failure: 1 is ejected for 10 s; 0 and 2 take
 *                    everything, 1 is not picked once
 *   t = 10.09 s      1 is back, fails 5 more times, ejected for 20 s
 */
static void test_with_balancer(void **state)
{
    (void)state;
    struct px_outlier_conf c;
    px_outlier_conf_default(&c);
    struct px_endpoint eps[3];
    eps_init(eps, 3);
    struct px_lb lb;
    px_lb_init(&lb, PX_LB_ROUND_ROBIN, 1);
    int64_t ejected_at[2] = {0, 0};
    int ejections = 0, served = 0, picks_of_1_while_ejected = 0;
    for (int64_t now = T0; now < T0 + 30000; now += 10) {
        bool tried[3] = {false};
        bool ok = false;
        for (int attempt = 0; attempt < 2 && !ok; attempt++) {
            bool panic = true;
            int i = px_lb_pick(&lb, eps, 3, now, tried, &panic);
            assert_true(i >= 0);
            assert_false(panic);
            tried[i] = true;
            if (i == 1) {
                if (ejections > 0 && now < eps[1].ejected_until_ms)
                    picks_of_1_while_ejected++;
                if (px_outlier_failure(&c, eps, 3, 1, now)) {
                    if (ejections < 2)
                        ejected_at[ejections] = now;
                    ejections++;
                }
            } else {
                px_outlier_success(&c, &eps[i], now);
                ok = true;
            }
        }
        assert_true(ok); /* the retry always reached a live endpoint */
        served++;
    }
    assert_int_equal(picks_of_1_while_ejected, 0);
    assert_int_equal(ejections, 2);
    /* Failures at 10, 30, 50, 70 and 90 ms. */
    assert_int_equal(ejected_at[0], T0 + 90);
    assert_int_equal(eps[1].total_ejections, 2);
    /* Back at 10.09 s; 5 failures 20 ms apart, within two connections of
     * its return. */
    assert_true(ejected_at[1] >= T0 + 90 + 10000 + 4 * 20);
    assert_true(ejected_at[1] <= T0 + 90 + 10000 + 5 * 20);
    assert_int_equal(eps[1].ejected_until_ms, ejected_at[1] + 20000);
    assert_int_equal(served, 3000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),          cmocka_unit_test(test_eject_after_consecutive),
        cmocka_unit_test(test_success_resets),    cmocka_unit_test(test_ejection_doubles_and_caps),
        cmocka_unit_test(test_level_decays),      cmocka_unit_test(test_failures_while_ejected),
        cmocka_unit_test(test_max_percent),       cmocka_unit_test(test_at_least_one),
        cmocka_unit_test(test_invariants_random), cmocka_unit_test(test_with_balancer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
