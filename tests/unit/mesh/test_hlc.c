/*
 * test_hlc: the hybrid logical clock (src/mesh/hlc.c). Stamps never go back
 * whatever the wall clock does, a received stamp pulls the clock past it
 * unless it is beyond the max drift, the counter carries into the
 * milliseconds, and the text form round-trips.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mesh/hlc.h"

/* 2026-11-25T23:01:02.345Z */
#define T0 INT64_C(1795647662345)

static void test_now_monotonic_under_steps_back(void **state)
{
    (void)state;
    struct mesh_hlc h;
    mesh_hlc_init(&h, 0);
    uint64_t a = mesh_hlc_now(&h, T0);
    assert_int_equal(mesh_hlc_ms(a), T0);
    assert_int_equal(mesh_hlc_counter(a), 0);
    /* Same millisecond: the counter counts. */
    uint64_t b = mesh_hlc_now(&h, T0);
    assert_true(b > a);
    assert_int_equal(mesh_hlc_ms(b), T0);
    assert_int_equal(mesh_hlc_counter(b), 1);
    /* The wall clock steps back an hour: ms stays, counter counts on. */
    uint64_t c = mesh_hlc_now(&h, T0 - 3600000);
    assert_true(c > b);
    assert_int_equal(mesh_hlc_ms(c), T0);
    assert_int_equal(mesh_hlc_counter(c), 2);
    /* Forward again: counter resets. */
    uint64_t d = mesh_hlc_now(&h, T0 + 5);
    assert_int_equal(mesh_hlc_ms(d), T0 + 5);
    assert_int_equal(mesh_hlc_counter(d), 0);
    /* A random walk of the wall clock, back and forth: strictly increasing. */
    srand(7);
    uint64_t prev = d;
    int64_t wall = T0;
    for (int i = 0; i < 100000; i++) {
        wall += (rand() % 2001) - 1000;
        uint64_t t = mesh_hlc_now(&h, wall);
        if (t <= prev)
            fail_msg("step %d: %llu after %llu", i, (unsigned long long)t,
                     (unsigned long long)prev);
        prev = t;
    }
    assert_int_equal(mesh_hlc_last(&h), prev);
}

static void test_persisted_start(void **state)
{
    (void)state;
    struct mesh_hlc h;
    uint64_t saved = mesh_hlc_make(T0 + 60000, 9);
    mesh_hlc_init(&h, saved);
    /* After a restart with a clock behind the saved stamp. */
    uint64_t t = mesh_hlc_now(&h, T0);
    assert_true(t > saved);
    assert_int_equal(mesh_hlc_ms(t), T0 + 60000);
    assert_int_equal(mesh_hlc_counter(t), 10);
}

static void test_counter_overflow_carries(void **state)
{
    (void)state;
    struct mesh_hlc h;
    mesh_hlc_init(&h, mesh_hlc_make(T0, 0xfffe));
    uint64_t a = mesh_hlc_now(&h, T0);
    assert_int_equal(mesh_hlc_counter(a), 0xffff);
    uint64_t b = mesh_hlc_now(&h, T0);
    assert_true(b > a);
    assert_int_equal(mesh_hlc_ms(b), T0 + 1);
    assert_int_equal(mesh_hlc_counter(b), 0);
    /* The same through recv. */
    mesh_hlc_init(&h, 0);
    assert_int_equal(mesh_hlc_recv(&h, mesh_hlc_make(T0, 0xffff), T0, NULL), 0);
    assert_int_equal(mesh_hlc_last(&h), mesh_hlc_make(T0 + 1, 0));
    /* Saturation at the end of the range: never wraps to 0. */
    mesh_hlc_init(&h, UINT64_MAX);
    assert_int_equal(mesh_hlc_now(&h, T0), UINT64_MAX);
    /* make() clamps. */
    assert_int_equal(mesh_hlc_make(-5, 3), 3);
    assert_int_equal(mesh_hlc_ms(mesh_hlc_make(INT64_MAX, 0)), (int64_t)MESH_HLC_MS_MAX);
}

static void test_recv(void **state)
{
    (void)state;
    struct mesh_hlc h;
    mesh_hlc_init(&h, 0);
    mesh_hlc_now(&h, T0);
    /* A peer 2 s ahead: our next stamp sorts after its stamp. */
    uint64_t remote = mesh_hlc_make(T0 + 2000, 4);
    assert_int_equal(mesh_hlc_recv(&h, remote, T0 + 1, NULL), 0);
    uint64_t t = mesh_hlc_now(&h, T0 + 2);
    assert_true(t > remote);
    assert_int_equal(mesh_hlc_ms(t), T0 + 2000);
    /* An older remote stamp does not move the clock back. */
    uint64_t last = mesh_hlc_last(&h);
    assert_int_equal(mesh_hlc_recv(&h, mesh_hlc_make(T0 - 50000, 0), T0 + 3, NULL), 0);
    assert_true(mesh_hlc_last(&h) > last);
    assert_int_equal(mesh_hlc_ms(mesh_hlc_last(&h)), T0 + 2000);
    /* Our wall clock passes everything: physical time wins, counter 0. */
    assert_int_equal(mesh_hlc_recv(&h, remote, T0 + 10000, NULL), 0);
    assert_int_equal(mesh_hlc_last(&h), mesh_hlc_make(T0 + 10000, 0));
}

static void test_drift_refused(void **state)
{
    (void)state;
    struct mesh_hlc h;
    struct weft_err e = {{0}};
    mesh_hlc_init(&h, 0);
    assert_int_equal(h.max_drift_ms, 600000);
    uint64_t before = mesh_hlc_now(&h, T0);
    /* Exactly at the limit: accepted. */
    assert_int_equal(mesh_hlc_recv(&h, mesh_hlc_make(T0 + 600000, 0), T0, &e), 0);
    /* One millisecond beyond: refused, clock unchanged. */
    mesh_hlc_init(&h, before);
    assert_int_equal(mesh_hlc_recv(&h, mesh_hlc_make(T0 + 600001, 0), T0, &e), -1);
    assert_non_null(strstr(e.msg, "600001 ms ahead"));
    assert_int_equal(mesh_hlc_last(&h), before);
    /* Settable. */
    h.max_drift_ms = 1000;
    assert_int_equal(mesh_hlc_recv(&h, mesh_hlc_make(T0 + 1001, 0), T0, &e), -1);
    assert_int_equal(mesh_hlc_recv(&h, mesh_hlc_make(T0 + 1000, 7), T0, &e), 0);
    /* A year ahead: refused. */
    assert_int_equal(mesh_hlc_recv(&h, mesh_hlc_make(T0 + 365LL * 86400000, 0), T0, &e), -1);
}

static void test_text(void **state)
{
    (void)state;
    char buf[MESH_HLC_TEXT_MAX];
    struct weft_err e = {{0}};
    uint64_t t;
    assert_string_equal(mesh_hlc_format(mesh_hlc_make(T0, 3), buf), "2026-11-25T23:01:02.345Z+3");
    assert_string_equal(mesh_hlc_format(0, buf), "1970-01-01T00:00:00.000Z+0");
    assert_string_equal(mesh_hlc_format(mesh_hlc_make(951782400000, 65535), buf),
                        "2000-02-29T00:00:00.000Z+65535");
    assert_int_equal(mesh_hlc_parse("2026-11-25T23:01:02.345Z+3", &t, &e), 0);
    assert_int_equal(t, mesh_hlc_make(T0, 3));
    assert_int_equal(mesh_hlc_parse("2026-11-25T23:01:02.345Z", &t, &e), 0);
    assert_int_equal(t, mesh_hlc_make(T0, 0));
    /* Round trips over many stamps (leap years, month ends). */
    srand(3);
    for (int i = 0; i < 20000; i++) {
        int64_t ms = ((int64_t)rand() << 20 ^ rand()) % INT64_C(253402300799999);
        uint64_t s = mesh_hlc_make(ms, (uint16_t)rand());
        uint64_t back;
        mesh_hlc_format(s, buf);
        if (mesh_hlc_parse(buf, &back, &e) != 0 || back != s)
            fail_msg("%s did not round-trip: %s", buf, e.msg);
    }
    static const char *const bad[] = {
        "",
        "2026-11-25",
        "2026-11-25T23:01:02Z",
        "2026-11-25T23:01:02.345",
        "2026-11-25T23:01:02.345Z+",
        "2026-11-25T23:01:02.345Z+01",
        "2026-11-25T23:01:02.345Z+65536",
        "2026-11-25T23:01:02.345Z+3x",
        "2026-11-25T23:01:02.345Z-3",
        "2026-13-25T23:01:02.345Z",
        "2026-02-29T23:01:02.345Z",
        "2026-11-31T00:00:00.000Z",
        "2026-11-25T24:00:00.000Z",
        "2026-11-25T23:60:00.000Z",
        "1969-12-31T23:59:59.999Z",
        " 2026-11-25T23:01:02.345Z",
        "2026-11-25t23:01:02.345Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&e);
        if (mesh_hlc_parse(bad[i], &t, &e) != -1)
            fail_msg("'%s' accepted", bad[i]);
        assert_true(err_is_set(&e));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_now_monotonic_under_steps_back),
        cmocka_unit_test(test_persisted_start),
        cmocka_unit_test(test_counter_overflow_carries),
        cmocka_unit_test(test_recv),
        cmocka_unit_test(test_drift_refused),
        cmocka_unit_test(test_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
