/*
 * test_sbuf: the growable string. It must stay NUL-terminated after every
 * append, grow across many doublings, keep binary bytes, and after an
 * allocation failure (oom) ignore further appends.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/sbuf.h"

static void test_init_empty(void **state)
{
    struct sbuf b;
    sbuf_init(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_false(b.oom);
    assert_string_equal(sbuf_str(&b), "");
    sbuf_reset(&b); /* safe before any append */
    assert_string_equal(sbuf_str(&b), "");
    sbuf_deinit(&b); /* safe after init alone */
    sbuf_deinit(&b); /* and twice */
    assert_null(b.data);
}

static void test_append(void **state)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_append(&b, "", 0);
    assert_non_null(b.data); /* an empty append still gives a C string */
    assert_string_equal(sbuf_str(&b), "");
    sbuf_puts(&b, "hello");
    sbuf_append(&b, ", world!!", 7);
    sbuf_printf(&b, " %d-%s", 42, "x");
    sbuf_printf(&b, "%s", "");
    assert_string_equal(sbuf_str(&b), "hello, world 42-x");
    assert_int_equal(b.len, strlen("hello, world 42-x"));
    assert_true(b.cap > b.len);
    sbuf_deinit(&b);
}

static void test_binary(void **state)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_append(&b, "a\0b", 3);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "a\0b\0", 4);
    sbuf_deinit(&b);
}

static void test_growth(void **state)
{
    struct sbuf b;
    char chunk[100];
    sbuf_init(&b);
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (char)('a' + i % 26);
    /* 1000 appends of 100 bytes cross many reallocations; check every byte. */
    for (int i = 0; i < 1000; i++) {
        sbuf_append(&b, chunk, sizeof(chunk));
        assert_int_equal(b.len, (size_t)(i + 1) * sizeof(chunk));
        assert_int_equal(b.data[b.len], '\0');
    }
    for (size_t i = 0; i < b.len; i++)
        assert_int_equal(b.data[i], chunk[i % sizeof(chunk)]);
    assert_false(b.oom);

    /* One printf much longer than the current spare room. */
    sbuf_reset(&b);
    sbuf_printf(&b, "[%0*d]", 200000, 7);
    assert_int_equal(b.len, 200002);
    assert_int_equal(b.data[0], '[');
    assert_int_equal(b.data[200000], '7');
    assert_int_equal(b.data[200001], ']');
    assert_int_equal(b.data[200002], '\0');
    sbuf_deinit(&b);
}

static void test_printf_boundaries(void **state)
{
    /* Land exactly on, one below and one above the capacity. */
    for (size_t n = 60; n < 70; n++) {
        struct sbuf b;
        sbuf_init(&b);
        sbuf_printf(&b, "%0*d", (int)n, 1);
        assert_int_equal(b.len, n);
        assert_int_equal(strlen(sbuf_str(&b)), n);
        assert_true(b.cap >= n + 1);
        sbuf_printf(&b, "%s", "xy");
        assert_int_equal(strlen(sbuf_str(&b)), n + 2);
        sbuf_deinit(&b);
    }
}

static void test_reset(void **state)
{
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "some text");
    size_t cap = b.cap;
    sbuf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(sbuf_str(&b), "");
    assert_int_equal(b.cap, cap); /* capacity kept for reuse */
    sbuf_puts(&b, "new");
    assert_string_equal(sbuf_str(&b), "new");
    sbuf_deinit(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
}

static void test_oom_sticky(void **state)
{
    /* After a failed allocation appends are ignored and the content stays a
     * valid C string, so callers check oom once at the end. Simulated by
     * setting the flag as sbuf_reserve() does. */
    struct sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "kept");
    b.oom = true;
    sbuf_puts(&b, " lost");
    sbuf_append(&b, "x", 1);
    sbuf_printf(&b, "%d", 5);
    assert_string_equal(sbuf_str(&b), "kept");
    assert_int_equal(b.len, 4);
    sbuf_deinit(&b);
    assert_false(b.oom); /* deinit re-initialises */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_empty),
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_printf_boundaries),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_oom_sticky),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
