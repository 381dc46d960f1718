/* tls/: library setup and the random source, against 2.28 and 3.6 alike. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tls/tls.h"

#include <mbedtls/version.h>

#include <string.h>

static void test_init_idempotent(void **state)
{
    struct weft_err e = {{0}};
    assert_int_equal(tls_lib_init(&e), 0);
    assert_int_equal(tls_lib_init(&e), 0);
    tls_lib_deinit();
    tls_lib_deinit(); /* safe twice */
    assert_int_equal(tls_lib_init(&e), 0);
    tls_lib_deinit();
}

static void test_version_matches_headers(void **state)
{
    /* The library we link is the one whose headers we compiled against. */
    assert_string_equal(tls_lib_version(), MBEDTLS_VERSION_STRING);
}

static void test_random(void **state)
{
    struct weft_err e = {{0}};
    unsigned char a[32], b[32], zero[32] = {0};
    assert_int_equal(tls_random(a, sizeof(a), &e), 0); /* initialises on demand */
    assert_int_equal(tls_random(b, sizeof(b), &e), 0);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, zero, sizeof(a));
    tls_lib_deinit();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_idempotent),
        cmocka_unit_test(test_version_matches_headers),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests_name("tls_lib", tests, NULL, NULL);
}
