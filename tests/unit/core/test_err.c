/*
 * test_err: the error context. err_set() fills it, err_prefix() adds context
 * while unwinding, and neither overflows the fixed buffer however long the
 * pieces are (an over-long result ends in "...").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/err.h"

static void test_set_clear(void **state)
{
    struct weft_err e = {{0}};
    assert_false(err_is_set(&e));
    assert_int_equal(err_set(&e, "bad %s at %d", "key", 3), -1);
    assert_true(err_is_set(&e));
    assert_string_equal(e.msg, "bad key at 3");
    err_clear(&e);
    assert_false(err_is_set(&e));
    assert_string_equal(e.msg, "");

    /* NULL contexts are accepted everywhere. */
    assert_int_equal(err_set(NULL, "x"), -1);
    assert_int_equal(err_prefix(NULL, "x"), -1);
    err_clear(NULL);
    assert_false(err_is_set(NULL));
}

static void test_prefix(void **state)
{
    struct weft_err e = {{0}};
    err_set(&e, "no such file");
    assert_int_equal(err_prefix(&e, "%s:%d", "weft.ini", 12), -1);
    assert_string_equal(e.msg, "weft.ini:12: no such file");
    err_prefix(&e, "config");
    assert_string_equal(e.msg, "config: weft.ini:12: no such file");
}

static void test_long(void **state)
{
    struct weft_err e = {{0}};
    char big[2 * WEFT_ERR_MAX];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';

    /* err_set truncates to the buffer. */
    err_set(&e, "%s", big);
    assert_int_equal(strlen(e.msg), WEFT_ERR_MAX - 1);

    /* A prefix on a full message: the prefix survives, the cut is shown. */
    err_prefix(&e, "ctx");
    assert_int_equal(strlen(e.msg), WEFT_ERR_MAX - 1);
    assert_memory_equal(e.msg, "ctx: aaa", 8);
    assert_string_equal(e.msg + WEFT_ERR_MAX - 4, "...");

    /* An over-long prefix alone. */
    err_set(&e, "reason");
    err_prefix(&e, "%s", big);
    assert_int_equal(strlen(e.msg), WEFT_ERR_MAX - 1);
    assert_string_equal(e.msg + WEFT_ERR_MAX - 4, "...");

    /* Exactly full: no marker. */
    memset(big, 'b', WEFT_ERR_MAX - 1 - 5);
    big[WEFT_ERR_MAX - 1 - 5] = '\0';
    err_set(&e, "%s", big);
    err_prefix(&e, "abc");
    assert_int_equal(strlen(e.msg), WEFT_ERR_MAX - 1);
    assert_int_equal(e.msg[WEFT_ERR_MAX - 2], 'b');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_clear),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
