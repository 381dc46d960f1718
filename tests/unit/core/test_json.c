/*
 * test_json: the streaming JSON writer. Commas and nesting must come out
 * right however containers and keys are mixed, strings must be escaped so
 * that any C string survives, and whatever the writer produces must read
 * back through the strict reader (core/jsonv.h) with the same values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/jsonv.h"

/* A writer over a fresh sbuf; the test calls sbuf_deinit(&t->out). */
struct jt {
    struct sbuf out;
    struct json_w w;
};

static void jt_init(struct jt *t)
{
    sbuf_init(&t->out);
    json_w_init(&t->w, &t->out);
}

/* The output must be valid JSON; returns the tree (caller frees). */
static struct jsonv *jt_parse(const struct jt *t)
{
    struct weft_err e = {{0}};
    struct jsonv *v = jsonv_parse(t->out.data, t->out.len, &e);
    if (!v)
        fail_msg("writer produced invalid JSON (%s): %s", e.msg, sbuf_str(&t->out));
    return v;
}

static void test_empty_containers(void **state)
{
    struct jt t;
    jt_init(&t);
    json_obj_begin(&t.w);
    json_obj_end(&t.w);
    assert_string_equal(sbuf_str(&t.out), "{}");
    sbuf_reset(&t.out);
    json_w_init(&t.w, &t.out);
    json_arr_begin(&t.w);
    json_arr_end(&t.w);
    assert_string_equal(sbuf_str(&t.out), "[]");
    sbuf_deinit(&t.out);
}

static void test_object_values(void **state)
{
    struct jt t;
    jt_init(&t);
    json_obj_begin(&t.w);
    json_kv_str(&t.w, "s", "x");
    json_kv_int(&t.w, "i", -5);
    json_kv_uint(&t.w, "u", UINT64_MAX);
    json_kv_bool(&t.w, "t", true);
    json_kv_bool(&t.w, "f", false);
    json_kv_str(&t.w, "n", NULL);
    json_key(&t.w, "z");
    json_null(&t.w);
    json_key(&t.w, "min");
    json_int(&t.w, INT64_MIN);
    json_obj_end(&t.w);
    assert_string_equal(sbuf_str(&t.out),
                        "{\"s\":\"x\",\"i\":-5,\"u\":18446744073709551615,\"t\":true,"
                        "\"f\":false,\"n\":null,\"z\":null,\"min\":-9223372036854775808}");

    struct jsonv *v = jt_parse(&t);
    assert_string_equal(jsonv_str(jsonv_get(v, "s"), NULL), "x");
    assert_true(jsonv_int(jsonv_get(v, "i"), 0) == -5);
    assert_true(jsonv_uint(jsonv_get(v, "u"), 0) == UINT64_MAX);
    assert_true(jsonv_bool(jsonv_get(v, "t"), false));
    assert_false(jsonv_bool(jsonv_get(v, "f"), true));
    assert_int_equal(jsonv_type(jsonv_get(v, "n")), JSONV_NULL);
    assert_non_null(jsonv_get(v, "n"));
    assert_true(jsonv_int(jsonv_get(v, "min"), 0) == INT64_MIN);
    jsonv_free(v);
    sbuf_deinit(&t.out);
}

static void test_nesting_commas(void **state)
{
    struct jt t;
    jt_init(&t);
    json_obj_begin(&t.w);
    json_key(&t.w, "a");
    json_arr_begin(&t.w);
    json_int(&t.w, 1);
    json_int(&t.w, 2);
    json_obj_begin(&t.w);
    json_key(&t.w, "b");
    json_arr_begin(&t.w);
    json_arr_end(&t.w);
    json_kv_int(&t.w, "c", 3);
    json_obj_end(&t.w);
    json_arr_begin(&t.w);
    json_arr_end(&t.w);
    json_str(&t.w, "d");
    json_arr_end(&t.w);
    json_key(&t.w, "e");
    json_obj_begin(&t.w);
    json_key(&t.w, "f");
    json_obj_begin(&t.w);
    json_obj_end(&t.w);
    json_obj_end(&t.w);
    json_kv_bool(&t.w, "g", true);
    json_obj_end(&t.w);
    assert_string_equal(sbuf_str(&t.out),
                        "{\"a\":[1,2,{\"b\":[],\"c\":3},[],\"d\"],\"e\":{\"f\":{}},\"g\":true}");
    struct jsonv *v = jt_parse(&t);
    assert_true(jsonv_int(jsonv_path(v, "a.2.c"), 0) == 3);
    assert_string_equal(jsonv_str(jsonv_path(v, "a.4"), NULL), "d");
    assert_int_equal(jsonv_type(jsonv_path(v, "e.f")), JSONV_OBJECT);
    jsonv_free(v);
    sbuf_deinit(&t.out);

    /* Arrays of arrays. */
    jt_init(&t);
    json_arr_begin(&t.w);
    json_arr_begin(&t.w);
    json_arr_end(&t.w);
    json_arr_begin(&t.w);
    json_uint(&t.w, 1);
    json_arr_end(&t.w);
    json_arr_begin(&t.w);
    json_arr_begin(&t.w);
    json_int(&t.w, 2);
    json_bool(&t.w, false);
    json_null(&t.w);
    json_arr_end(&t.w);
    json_arr_end(&t.w);
    json_arr_end(&t.w);
    assert_string_equal(sbuf_str(&t.out), "[[],[1],[[2,false,null]]]");
    sbuf_deinit(&t.out);
}

/* N nested arrays with siblings at every level: container d holds
 * [d, <container d+1>, 100 + d + 1]; the innermost holds [N - 1]. */
static void write_nested(struct jt *t, int n)
{
    for (int d = 0; d < n; d++) {
        json_arr_begin(&t->w);
        json_int(&t->w, d);
    }
    for (int d = n - 1; d >= 0; d--) {
        json_arr_end(&t->w);
        if (d > 0)
            json_int(&t->w, 100 + d);
    }
}

static void test_deep(void **state)
{
    /* The deepest nesting the writer tracks: need_comma[] has one slot for
     * the top level and one per open container. */
    const int n = JSON_MAX_DEPTH - 1;
    struct jt t;
    jt_init(&t);
    write_nested(&t, n);
    struct jsonv *v = jt_parse(&t);
    assert_int_equal(jsonv_type(v), JSONV_ARRAY);
    const struct jsonv *p = v;
    for (int d = 0; d < n; d++) {
        assert_int_equal(jsonv_len(p), d + 1 < n ? 3 : 1);
        assert_true(jsonv_int(jsonv_at(p, 0), -1) == d);
        if (d + 1 < n)
            assert_true(jsonv_int(jsonv_at(p, 2), -1) == 100 + d + 1);
        p = jsonv_at(p, 1);
    }
    jsonv_free(v);
    sbuf_deinit(&t.out);
}

static void test_escape(void **state)
{
    struct sbuf b;
    sbuf_init(&b);
    json_escape(&b, "q\" b\\ n\n r\r t\t \x01\x1f\x7f /");
    assert_string_equal(sbuf_str(&b), "\"q\\\" b\\\\ n\\n r\\r t\\t \\u0001\\u001f\x7f /\"");
    sbuf_reset(&b);
    json_escape(&b, "");
    assert_string_equal(sbuf_str(&b), "\"\"");
    sbuf_reset(&b);
    /* UTF-8 passes through unchanged. */
    json_escape(&b, "caf\xc3\xa9 \xf0\x9f\x98\x80");
    assert_string_equal(sbuf_str(&b), "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
    sbuf_reset(&b);
    /* Invalid UTF-8 (stray continuation, truncated sequence, overlong form,
     * surrogate) becomes U+FFFD: the output stays valid JSON. */
    json_escape(&b, "a\x80"
                    "b\xc3 \xc0\xaf \xed\xa0\x80");
    assert_string_equal(sbuf_str(&b), "\"a\\ufffdb\\ufffd \\ufffd\\ufffd "
                                      "\\ufffd\\ufffd\\ufffd\"");
    struct weft_err e = {{0}};
    struct jsonv *v = jsonv_parse(b.data, b.len, &e);
    assert_non_null(v);
    jsonv_free(v);
    sbuf_deinit(&b);
}

static void test_roundtrip_strings(void **state)
{
    /* Every byte 0x01..0x7f, plus multi-byte UTF-8, in a value and in a key. */
    char all[200];
    size_t n = 0;
    for (int c = 1; c < 0x80; c++)
        all[n++] = (char)c;
    memcpy(all + n, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10); /* with its NUL */

    struct jt t;
    jt_init(&t);
    json_obj_begin(&t.w);
    json_kv_str(&t.w, all, all);
    json_kv_str(&t.w, "k\"ey", "v\\al\nue");
    json_obj_end(&t.w);
    struct jsonv *v = jt_parse(&t);
    assert_string_equal(jsonv_key_at(v, 0), all);
    assert_string_equal(jsonv_str(jsonv_get(v, all), NULL), all);
    assert_string_equal(jsonv_str(jsonv_get(v, "k\"ey"), NULL), "v\\al\nue");
    jsonv_free(v);
    sbuf_deinit(&t.out);
}

static void test_roundtrip_document(void **state)
{
    /* Something shaped like an admin API reply. */
    struct jt t;
    jt_init(&t);
    json_obj_begin(&t.w);
    json_kv_str(&t.w, "node", "n1");
    json_key(&t.w, "store");
    json_obj_begin(&t.w);
    json_kv_int(&t.w, "schema_version", 7);
    json_kv_str(&t.w, "path", "/var/lib/weft/weft.db");
    json_obj_end(&t.w);
    json_key(&t.w, "members");
    json_arr_begin(&t.w);
    for (int i = 0; i < 50; i++) {
        char name[16];
        snprintf(name, sizeof(name), "m%d", i);
        json_obj_begin(&t.w);
        json_kv_str(&t.w, "name", name);
        json_kv_uint(&t.w, "incarnation", (uint64_t)i * 1000000007u);
        json_kv_bool(&t.w, "alive", i % 3 != 0);
        json_key(&t.w, "tags");
        json_arr_begin(&t.w);
        for (int k = 0; k < i % 4; k++)
            json_str(&t.w, "t");
        json_arr_end(&t.w);
        json_obj_end(&t.w);
    }
    json_arr_end(&t.w);
    json_obj_end(&t.w);

    struct jsonv *v = jt_parse(&t);
    assert_string_equal(jsonv_str(jsonv_get(v, "node"), NULL), "n1");
    assert_true(jsonv_int(jsonv_path(v, "store.schema_version"), -1) == 7);
    assert_int_equal(jsonv_len(jsonv_get(v, "members")), 50);
    for (size_t i = 0; i < 50; i++) {
        const struct jsonv *m = jsonv_at(jsonv_get(v, "members"), i);
        char name[16];
        snprintf(name, sizeof(name), "m%zu", i);
        assert_string_equal(jsonv_str(jsonv_get(m, "name"), NULL), name);
        assert_true(jsonv_uint(jsonv_get(m, "incarnation"), 0) == (uint64_t)i * 1000000007u);
        assert_true(jsonv_bool(jsonv_get(m, "alive"), false) == (i % 3 != 0));
        assert_int_equal(jsonv_len(jsonv_get(m, "tags")), i % 4);
    }
    jsonv_free(v);
    sbuf_deinit(&t.out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_containers),
        cmocka_unit_test(test_object_values),
        cmocka_unit_test(test_nesting_commas),
        cmocka_unit_test(test_deep),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_roundtrip_strings),
        cmocka_unit_test(test_roundtrip_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
