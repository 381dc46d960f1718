/*
 * test_prom: the Prometheus text writer (src/telemetry/prom.c).
 *
 * Exact output for small sets (the format is line-exact), escaping of HELP
 * text and label values, a family without samples, counter values past
 * 2^53 printed exactly, doubles that read back equal, and every kind of
 * caller bug refused without breaking the text around it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "telemetry/prom.h"

struct fx {
    struct sbuf b;
    struct prom_w w;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    sbuf_init(&f->b);
    prom_w_init(&f->w, &f->b);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    prom_w_deinit(&f->w);
    sbuf_deinit(&f->b);
    free(f);
    return 0;
}

static void test_exact_small_set(void **state)
{
    struct fx *f = *state;
    prom_counter(&f->w, "weft_reloads_total", "Configuration reloads applied.", 3);
    prom_family(&f->w, "weft_tls_failures_total", PROM_COUNTER, "TLS handshakes refused.");
    prom_u64(&f->w, 1, "listener", "control", "reason", "bad_chain", NULL);
    prom_u64(&f->w, 0, "listener", "control", "reason", "expired", NULL);
    prom_gauge(&f->w, "weft_uptime_seconds", "Seconds since start.", 12.5);
    prom_family(&f->w, "weft_build_info", PROM_GAUGE, NULL);
    prom_f64(&f->w, 1, "version", "0.1.0", NULL);
    assert_string_equal(sbuf_str(&f->b),
                        "# HELP weft_reloads_total Configuration reloads applied.\n"
                        "# TYPE weft_reloads_total counter\n"
                        "weft_reloads_total 3\n"
                        "# HELP weft_tls_failures_total TLS handshakes refused.\n"
                        "# TYPE weft_tls_failures_total counter\n"
                        "weft_tls_failures_total{listener=\"control\",reason=\"bad_chain\"} 1\n"
                        "weft_tls_failures_total{listener=\"control\",reason=\"expired\"} 0\n"
                        "# HELP weft_uptime_seconds Seconds since start.\n"
                        "# TYPE weft_uptime_seconds gauge\n"
                        "weft_uptime_seconds 12.5\n"
                        "# TYPE weft_build_info gauge\n"
                        "weft_build_info{version=\"0.1.0\"} 1\n");
    assert_int_equal(prom_w_samples(&f->w), 5);
    assert_int_equal(prom_w_bugs(&f->w), 0);
    assert_string_equal(prom_w_first_bug(&f->w), "");
}

static void test_family_without_samples(void **state)
{
    struct fx *f = *state;
    prom_family(&f->w, "weft_service_healthy", PROM_GAUGE, "1 if healthy.");
    prom_counter(&f->w, "weft_x_total", NULL, 0);
    assert_string_equal(sbuf_str(&f->b), "# HELP weft_service_healthy 1 if healthy.\n"
                                         "# TYPE weft_service_healthy gauge\n"
                                         "# TYPE weft_x_total counter\n"
                                         "weft_x_total 0\n");
    assert_int_equal(prom_w_bugs(&f->w), 0);
}

static void test_escaping(void **state)
{
    struct fx *f = *state;
    /* HELP: backslash and newline escaped, a quote is not. */
    prom_family(&f->w, "weft_a", PROM_GAUGE, "a \\ b\nc \"q\"");
    /* Label values: backslash, quote and newline. */
    prom_f64(&f->w, 2, "path", "C:\\dir\\\"x\"\nend", NULL);
    /* An empty and a NULL value, UTF-8 kept, invalid bytes replaced. */
    prom_f64(&f->w, 3, "a", "", "b", NULL, "c", "caf\xc3\xa9", "d", "x\xff\xc3(y\xed\xa0\x80",
             NULL);
    assert_string_equal(sbuf_str(&f->b), "# HELP weft_a a \\\\ b\\nc \"q\"\n"
                                         "# TYPE weft_a gauge\n"
                                         "weft_a{path=\"C:\\\\dir\\\\\\\"x\\\"\\nend\"} 2\n"
                                         "weft_a{a=\"\",b=\"\",c=\"caf\xc3\xa9\",d=\"x?"
                                         "?(y?"
                                         "??\"} 3\n");
    assert_int_equal(prom_w_bugs(&f->w), 0);
}

static void test_big_values(void **state)
{
    struct fx *f = *state;
    prom_family(&f->w, "weft_big_total", PROM_COUNTER, NULL);
    prom_u64(&f->w, UINT64_MAX, NULL);
    prom_u64(&f->w, (1ULL << 53) + 1, "k", "v", NULL); /* not a double */
    prom_family(&f->w, "weft_g", PROM_GAUGE, NULL);
    prom_f64(&f->w, 0.1, "k", "a", NULL);
    prom_f64(&f->w, 1e300, "k", "b", NULL);
    prom_f64(&f->w, -0.5, "k", "c", NULL);
    prom_f64(&f->w, 1776000000, "k", "d", NULL);
    prom_f64(&f->w, NAN, "k", "e", NULL);
    prom_f64(&f->w, INFINITY, "k", "f", NULL);
    prom_f64(&f->w, -INFINITY, "k", "g", NULL);
    prom_u64(&f->w, 42, "k", "h", NULL); /* a gauge may take an integer */
    assert_string_equal(sbuf_str(&f->b), "# TYPE weft_big_total counter\n"
                                         "weft_big_total 18446744073709551615\n"
                                         "weft_big_total{k=\"v\"} 9007199254740993\n"
                                         "# TYPE weft_g gauge\n"
                                         "weft_g{k=\"a\"} 0.1\n"
                                         "weft_g{k=\"b\"} 1e+300\n"
                                         "weft_g{k=\"c\"} -0.5\n"
                                         "weft_g{k=\"d\"} 1776000000\n"
                                         "weft_g{k=\"e\"} NaN\n"
                                         "weft_g{k=\"f\"} +Inf\n"
                                         "weft_g{k=\"g\"} -Inf\n"
                                         "weft_g{k=\"h\"} 42\n");
}

/* Doubles: the shortest text that reads back as the same value. */
static void test_double_round_trip(void **state)
{
    static const double v[] = {1.0 / 3,
                               2.0 / 3,
                               123456.789,
                               1e-310,
                               0.30000000000000004,
                               9007199254740993.0,
                               1.7976931348623157e308};
    struct fx *f = *state;
    prom_family(&f->w, "weft_rt", PROM_GAUGE, NULL);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        sbuf_reset(&f->b);
        prom_f64(&f->w, v[i], NULL);
        const char *s = sbuf_str(&f->b);
        assert_true(strncmp(s, "weft_rt ", 8) == 0);
        assert_true(strtod(s + 8, NULL) == v[i]);
        assert_true(strlen(s) <= 8 + 24 + 1);
    }
}

/* Each bug is refused, counted, and the text around it stays valid. */
static void test_bugs_refused(void **state)
{
    struct fx *f = *state;
    prom_counter(&f->w, "reloads_total", NULL, 1); /* no weft_ prefix */
    assert_string_equal(prom_w_first_bug(&f->w), "bad metric family name \"reloads_total\"");
    prom_counter(&f->w, "weft_bad-name_total", NULL, 1);
    prom_counter(&f->w, "weft_9_total", NULL, 1); /* fine: a digit after the first */
    prom_counter(&f->w, "weft_reloads", NULL, 1); /* counter without _total */
    prom_family(&f->w, "weft_ok", PROM_GAUGE, NULL);
    prom_u64(&f->w, 1, "__reserved", "x", NULL);
    prom_u64(&f->w, 1, "9lives", "x", NULL);
    prom_u64(&f->w, 1, "a:b", "x", NULL); /* colons only in metric names */
    prom_u64(&f->w, 1, "k", "1", "k", "2", NULL);
    prom_u64(&f->w, 1, "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "6", "g", "7", "h",
             "8", "i", "9", NULL);
    prom_u64(&f->w, 7, "fine", "yes", NULL);
    prom_family(&f->w, "weft_c_total", PROM_COUNTER, NULL);
    prom_f64(&f->w, 1.5, NULL);                      /* a counter takes integers */
    prom_family(&f->w, "weft_ok", PROM_GAUGE, NULL); /* a second time */
    prom_u64(&f->w, 8, NULL);
    assert_string_equal(sbuf_str(&f->b), "# TYPE weft_9_total counter\n"
                                         "weft_9_total 1\n"
                                         "# TYPE weft_ok gauge\n"
                                         "weft_ok{fine=\"yes\"} 7\n"
                                         "# TYPE weft_c_total counter\n");
    /* 3 bad families (each also drops its sample), 5 bad label sets, the
     * double in a counter, the repeated family and its sample. */
    assert_int_equal(prom_w_bugs(&f->w), 3 * 2 + 5 + 1 + 2);
    assert_int_equal(prom_w_samples(&f->w), 2);
}

static void test_sample_before_any_family(void **state)
{
    struct fx *f = *state;
    prom_u64(&f->w, 1, NULL);
    assert_int_equal(f->b.len, 0);
    assert_int_equal(prom_w_bugs(&f->w), 1);
}

/* Many families: the repeated-family check still finds a repeat. */
static void test_many_families(void **state)
{
    struct fx *f = *state;
    char name[64];
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof(name), "weft_f%d_total", i);
        prom_counter(&f->w, name, "h", (uint64_t)i);
    }
    assert_int_equal(prom_w_bugs(&f->w), 0);
    prom_counter(&f->w, "weft_f250_total", "h", 1);
    assert_int_equal(prom_w_bugs(&f->w), 2);
    assert_non_null(strstr(sbuf_str(&f->b), "weft_f499_total 499\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exact_small_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_family_without_samples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_double_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bugs_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sample_before_any_family, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_families, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
