/*
 * test_units: the config's durations and sizes. Parsing is strict (the whole
 * string or an error, never a prefix), overflow is an error, and every value
 * formats to a string that parses back to the same value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/units.h"

static void test_duration_ok(void **state)
{
    static const struct {
        const char *s;
        int64_t ms;
    } cases[] = {
        {"500ms", 500},
        {"2m", 120000},
        {"1h30m", 5400000},
        {"0", 0},
        {"0s", 0},
        {"0ms", 0},
        {"30s", 30000},
        {"24h", 86400000},
        {"1d", 86400000},
        {"1h30m15s250ms", 5415250},
        {"1m1ms", 60001},
        {"90m", 5400000},
        {"007s", 7000},
        {"9223372036854775807ms", INT64_MAX},
        {"106751991167d", INT64_C(106751991167) * 86400000},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct weft_err e = {{0}};
        int64_t ms = -1;
        if (units_parse_duration_ms(cases[k].s, &ms, &e) != 0)
            fail_msg("'%s' refused: %s", cases[k].s, e.msg);
        if (ms != cases[k].ms)
            fail_msg("'%s' = %lld, want %lld", cases[k].s, (long long)ms, (long long)cases[k].ms);
        assert_false(err_is_set(&e));
    }
}

static void test_duration_errors(void **state)
{
    static const char *const bad[] = {
        "5",                        /* bare number other than 0: ambiguous */
        "",                         /* empty */
        "10x",                      /* unknown unit */
        "-1s",                      /* negative */
        "+1s",                      /* sign */
        "1.5h",                     /* fraction */
        " 1s",                      /* spaces */
        "1s ",                      /* trailing space */
        "1 s",                      /* inner space */
        "1S",                       /* units are lowercase */
        "1sec",                     /* not a unit */
        "1mss",                     /* unit followed by letters */
        "ms",                       /* no number */
        "1h30",                     /* trailing number without unit */
        "00",                       /* bare number */
        "1h-30m",                   /* sign inside */
        "1e3ms",                    /* exponent */
        "0x10s",                    /* hex */
        "9223372036854775808ms",    /* INT64_MAX + 1 */
        "106751991168d",            /* a unit's multiple overflows */
        "9223372036854775807ms1ms", /* the sum overflows */
        "99999999999999999999999s", /* the number itself overflows */
        "153722867280913m",         /* INT64_MAX / 60000 + 1 */
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        struct weft_err e = {{0}};
        int64_t ms = 42;
        if (units_parse_duration_ms(bad[k], &ms, &e) != -1)
            fail_msg("'%s' accepted as %lld", bad[k], (long long)ms);
        assert_true(err_is_set(&e));
        assert_true(ms == 42); /* output untouched on error */
        if (bad[k][0] != '\0' && !strstr(e.msg, bad[k]))
            fail_msg("'%s': message does not quote the input: %s", bad[k], e.msg);
    }
    struct weft_err e = {{0}};
    int64_t ms = 42;
    assert_int_equal(units_parse_duration_ms(NULL, &ms, &e), -1);
    assert_string_equal(e.msg, "empty duration");
    /* A NULL error context is allowed. */
    assert_int_equal(units_parse_duration_ms("5", &ms, NULL), -1);
    /* Overflow is reported as such. */
    assert_int_equal(units_parse_duration_ms("106751991168d", &ms, &e), -1);
    assert_non_null(strstr(e.msg, "too large"));
}

static void test_size_ok(void **state)
{
    static const struct {
        const char *s;
        uint64_t v;
    } cases[] = {
        {"4MiB", 4u << 20},
        {"512KiB", 512u << 10},
        {"1000", 1000},
        {"0", 0},
        {"1G", 1000000000},
        {"1GB", 1000000000},
        {"1GiB", 1u << 30},
        {"1K", 1000},
        {"1KB", 1000},
        {"2M", 2000000},
        {"2MB", 2000000},
        {"1B", 1},
        {"0KiB", 0},
        {"3TiB", UINT64_C(3) << 40},
        {"18446744073709551615", UINT64_MAX},
        {"16777215TiB", UINT64_C(16777215) << 40},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct weft_err e = {{0}};
        uint64_t v = 1;
        if (units_parse_size(cases[k].s, &v, &e) != 0)
            fail_msg("'%s' refused: %s", cases[k].s, e.msg);
        if (v != cases[k].v)
            fail_msg("'%s' = %llu, want %llu", cases[k].s, (unsigned long long)v,
                     (unsigned long long)cases[k].v);
    }
}

static void test_size_errors(void **state)
{
    static const char *const bad[] = {
        "",
        "1X",
        "MiB",
        "-1",
        "+1",
        "1.5MiB",
        "1 MiB",
        "1mib",
        "1MiBs",
        "1Gb",
        "1kib",
        "1KiBB",
        "1iB",
        " 1",
        "1 ",
        "0x10",
        "1e3",
        "1TB",
        "1T",
        "18446744073709551616", /* the number overflows */
        "16777216TiB",          /* 2^64 */
        "18446744073709551615K",
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        struct weft_err e = {{0}};
        uint64_t v = 42;
        if (units_parse_size(bad[k], &v, &e) != -1)
            fail_msg("'%s' accepted as %llu", bad[k], (unsigned long long)v);
        assert_true(err_is_set(&e));
        assert_true(v == 42);
    }
    struct weft_err e = {{0}};
    uint64_t v = 42;
    assert_int_equal(units_parse_size(NULL, &v, &e), -1);
    assert_string_equal(e.msg, "empty size");
    assert_int_equal(units_parse_size("16777216TiB", &v, &e), -1);
    assert_non_null(strstr(e.msg, "too large"));
}

static void test_duration_format(void **state)
{
    static const struct {
        int64_t ms;
        const char *s;
    } cases[] = {
        {0, "0"},
        {1, "1ms"},
        {500, "500ms"},
        {1000, "1s"},
        {1500, "1s500ms"},
        {120000, "2m"},
        {5400000, "1h30m"},
        {86400000, "1d"},
        {90061001, "1d1h1m1s1ms"},
        {86400000 + 1, "1d1ms"},
        {INT64_MAX, "106751991167d7h12m55s807ms"},
        {-5, "0"}, /* negative durations do not exist */
    };
    char buf[64];
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        units_format_duration(cases[k].ms, buf, sizeof(buf));
        assert_string_equal(buf, cases[k].s);
        /* Round trip. */
        int64_t back = -1;
        assert_int_equal(units_parse_duration_ms(buf, &back, NULL), 0);
        assert_true(back == (cases[k].ms < 0 ? 0 : cases[k].ms));
    }
    /* Many values round-trip, not only the table. */
    for (int64_t ms = 0; ms < INT64_MAX / 8; ms = ms * 7 + 13) {
        int64_t back = -1;
        units_format_duration(ms, buf, sizeof(buf));
        assert_int_equal(units_parse_duration_ms(buf, &back, NULL), 0);
        assert_true(back == ms);
    }
    /* A short buffer truncates, NUL-terminated, without overflow (ASan). */
    char small[5];
    units_format_duration(90061001, small, sizeof(small));
    assert_string_equal(small, "1d1h");
    units_format_duration(90061001, small, 3);
    assert_string_equal(small, "1d");
}

static void test_size_format(void **state)
{
    static const struct {
        uint64_t v;
        const char *s;
    } cases[] = {
        {0, "0"},
        {1, "1"},
        {1000, "1000"},
        {1024, "1KiB"},
        {1536, "1536"}, /* not a whole KiB: bytes */
        {512u << 10, "512KiB"},
        {4u << 20, "4MiB"},
        {(4u << 20) + 1024, "4097KiB"},
        {1u << 30, "1GiB"},
        {UINT64_C(1) << 40, "1TiB"},
        {UINT64_C(1) << 50, "1024TiB"},
        {1000000000, "1000000000"},
        {UINT64_MAX, "18446744073709551615"},
    };
    char buf[64];
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        units_format_size(cases[k].v, buf, sizeof(buf));
        assert_string_equal(buf, cases[k].s);
        uint64_t back = 1;
        assert_int_equal(units_parse_size(buf, &back, NULL), 0);
        assert_true(back == cases[k].v);
    }
    for (uint64_t v = 0; v < UINT64_MAX / 5; v = v * 3 + 1024) {
        uint64_t back = 1;
        units_format_size(v, buf, sizeof(buf));
        assert_int_equal(units_parse_size(buf, &back, NULL), 0);
        assert_true(back == v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_ok),     cmocka_unit_test(test_duration_errors),
        cmocka_unit_test(test_size_ok),         cmocka_unit_test(test_size_errors),
        cmocka_unit_test(test_duration_format), cmocka_unit_test(test_size_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
