/*
 * test_jsonv: the strict JSON reader. Valid documents must come back with
 * every value exact (64-bit integers, escapes, UTF-8); every invalid one must
 * be refused with the byte offset of the first problem, without leaks (the
 * suite runs under ASan/LSan in CI).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonv.h"
#include "core/sbuf.h"

/* Parse a NUL-terminated document that must be valid. */
static struct jsonv *parse_ok(const char *text)
{
    struct weft_err e = {{0}};
    struct jsonv *v = jsonv_parse(text, strlen(text), &e);
    if (!v)
        fail_msg("'%s' refused: %s", text, e.msg);
    return v;
}

/* Parse text[0..len) that must be refused at byte `at`. */
static void parse_bad_n(const char *text, size_t len, size_t at)
{
    struct weft_err e = {{0}};
    char want[64];
    struct jsonv *v = jsonv_parse(text, len, &e);
    if (v) {
        jsonv_free(v);
        fail_msg("'%.*s' accepted", (int)len, text);
    }
    snprintf(want, sizeof(want), "invalid JSON at byte %zu: ", at);
    if (strncmp(e.msg, want, strlen(want)) != 0)
        fail_msg("'%.*s': want offset %zu, got \"%s\"", (int)len, text, at, e.msg);
}

static void parse_bad(const char *text, size_t at)
{
    parse_bad_n(text, strlen(text), at);
}

static void test_scalars(void **state)
{
    struct jsonv *v = parse_ok("null");
    assert_int_equal(jsonv_type(v), JSONV_NULL);
    jsonv_free(v);

    v = parse_ok(" \t\r\ntrue\n");
    assert_int_equal(jsonv_type(v), JSONV_BOOL);
    assert_true(jsonv_bool(v, false));
    jsonv_free(v);

    v = parse_ok("false");
    assert_false(jsonv_bool(v, true));
    jsonv_free(v);

    v = parse_ok("\"hi\"");
    assert_int_equal(jsonv_type(v), JSONV_STRING);
    assert_string_equal(jsonv_str(v, NULL), "hi");
    jsonv_free(v);

    v = parse_ok("\"\"");
    assert_string_equal(jsonv_str(v, NULL), "");
    jsonv_free(v);
}

struct num_case {
    const char *text;
    double d;
    bool has_i;
    int64_t i;
    bool has_u;
    uint64_t u;
};

static void test_numbers(void **state)
{
    static const struct num_case cases[] = {
        {"0", 0.0, true, 0, true, 0},
        {"-0", -0.0, true, 0, true, 0},
        {"42", 42.0, true, 42, true, 42},
        {"-7", -7.0, true, -7, false, 0},
        {"1.5", 1.5, false, 0, false, 0},
        {"-1.25e-3", -1.25e-3, false, 0, false, 0},
        {"1e3", 1000.0, true, 1000, true, 1000},
        {"1E+2", 100.0, true, 100, true, 100},
        {"2.0", 2.0, true, 2, true, 2},
        {"0.5e1", 5.0, true, 5, true, 5},
        {"9223372036854775807", 9223372036854775807.0, true, INT64_MAX, true, (uint64_t)INT64_MAX},
        {"-9223372036854775808", -9223372036854775808.0, true, INT64_MIN, false, 0},
        {"9223372036854775808", 9223372036854775808.0, false, 0, true, (uint64_t)INT64_MAX + 1},
        {"18446744073709551615", 18446744073709551615.0, false, 0, true, UINT64_MAX},
        {"18446744073709551616", 18446744073709551616.0, false, 0, false, 0},
        {"-9223372036854775809", -9223372036854775809.0, false, 0, false, 0},
        {"1e30", 1e30, false, 0, false, 0},
        {"1e-400", 0.0, true, 0, true, 0}, /* underflow to 0 is fine */
        {"1.7976931348623157e308", 1.7976931348623157e308, false, 0, false, 0},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const struct num_case *c = &cases[k];
        struct jsonv *v = parse_ok(c->text);
        assert_int_equal(jsonv_type(v), JSONV_NUMBER);
        if (jsonv_num(v, -1.0) != c->d)
            fail_msg("%s: num %.17g", c->text, jsonv_num(v, -1.0));
        if (c->has_i)
            assert_true(jsonv_int(v, 12345) == c->i);
        else
            assert_true(jsonv_int(v, 12345) == 12345);
        if (c->has_u)
            assert_true(jsonv_uint(v, 12345) == c->u);
        else
            assert_true(jsonv_uint(v, 12345) == 12345);
        jsonv_free(v);
    }
}

static void test_long_numbers(void **state)
{
    /* Longer than the parser's on-stack copy: the heap path. */
    char buf[512];
    memset(buf, '0', sizeof(buf));
    buf[0] = '1';
    buf[101] = '\0'; /* 1e100 */
    struct jsonv *v = parse_ok(buf);
    assert_true(jsonv_num(v, 0) == 1e100);
    assert_true(jsonv_int(v, -1) == -1);
    jsonv_free(v);

    memcpy(buf, "0.", 2);
    memset(buf + 2, '0', 150);
    memcpy(buf + 152, "25", 3);
    v = parse_ok(buf);
    assert_true(jsonv_num(v, 1) > 0 && jsonv_num(v, 1) < 1e-140);
    jsonv_free(v);

    memset(buf, '9', 400);
    buf[0] = '[';
    buf[399] = ']';
    buf[400] = '\0';
    v = jsonv_parse(buf, 400, NULL);
    assert_null(v); /* 1e397: out of double's range */
}

static void test_containers(void **state)
{
    struct jsonv *v = parse_ok("{\"store\": {\"schema_version\": 3, \"path\": \"/var/lib/weft\"},"
                               " \"members\": [{\"name\": \"a\"}, {\"name\": \"b\", \"up\": true}],"
                               " \"empty\": {}, \"none\": [], \"nil\": null}");
    assert_int_equal(jsonv_type(v), JSONV_OBJECT);
    assert_int_equal(jsonv_len(v), 5);
    assert_string_equal(jsonv_key_at(v, 0), "store");
    assert_string_equal(jsonv_key_at(v, 4), "nil");
    assert_null(jsonv_key_at(v, 5));
    assert_int_equal(jsonv_type(jsonv_at(v, 4)), JSONV_NULL);
    assert_non_null(jsonv_at(v, 4));
    assert_null(jsonv_at(v, 5));

    const struct jsonv *store = jsonv_get(v, "store");
    assert_ptr_equal(store, jsonv_at(v, 0));
    assert_int_equal(jsonv_int(jsonv_get(store, "schema_version"), -1), 3);
    assert_string_equal(jsonv_str(jsonv_get(store, "path"), ""), "/var/lib/weft");
    assert_null(jsonv_get(store, "nope"));

    const struct jsonv *m = jsonv_get(v, "members");
    assert_int_equal(jsonv_type(m), JSONV_ARRAY);
    assert_int_equal(jsonv_len(m), 2);
    assert_null(jsonv_key_at(m, 0));
    assert_null(jsonv_get(m, "name"));
    assert_string_equal(jsonv_str(jsonv_get(jsonv_at(m, 1), "name"), NULL), "b");
    assert_null(jsonv_at(m, 2));

    assert_int_equal(jsonv_type(jsonv_get(v, "empty")), JSONV_OBJECT);
    assert_int_equal(jsonv_len(jsonv_get(v, "empty")), 0);
    assert_int_equal(jsonv_type(jsonv_get(v, "none")), JSONV_ARRAY);
    assert_int_equal(jsonv_len(jsonv_get(v, "none")), 0);

    /* Paths. */
    assert_int_equal(jsonv_int(jsonv_path(v, "store.schema_version"), -1), 3);
    assert_ptr_equal(jsonv_path(v, ""), v);
    assert_ptr_equal(jsonv_path(v, "store"), store);
    assert_string_equal(jsonv_str(jsonv_path(v, "members.1.name"), NULL), "b");
    assert_true(jsonv_bool(jsonv_path(v, "members.1.up"), false));
    assert_null(jsonv_path(v, "members.2.name"));
    assert_null(jsonv_path(v, "members.x"));
    assert_null(jsonv_path(v, "members.-1"));
    assert_null(jsonv_path(v, "members.99999999999999999999999999"));
    assert_null(jsonv_path(v, "store.schema_version.x"));
    assert_null(jsonv_path(v, "store..schema_version"));
    assert_null(jsonv_path(v, ".store"));
    assert_null(jsonv_path(v, "store."));
    assert_null(jsonv_path(v, "sto"));
    assert_null(jsonv_path(v, "storex"));
    assert_null(jsonv_path(NULL, "store"));
    assert_null(jsonv_path(v, NULL));
    jsonv_free(v);
}

static void test_defaults(void **state)
{
    struct jsonv *v = parse_ok("{\"s\": \"x\", \"n\": 1.5, \"b\": true, \"z\": null}");
    const struct jsonv *s = jsonv_get(v, "s"), *n = jsonv_get(v, "n"), *b = jsonv_get(v, "b");

    /* Wrong type, absent (NULL) and not-a-container all give the default. */
    assert_string_equal(jsonv_str(n, "d"), "d");
    assert_string_equal(jsonv_str(NULL, "d"), "d");
    assert_null(jsonv_str(b, NULL));
    assert_true(jsonv_int(s, 7) == 7);
    assert_true(jsonv_int(n, 7) == 7);
    assert_true(jsonv_int(NULL, 7) == 7);
    assert_true(jsonv_uint(b, 7) == 7);
    assert_true(jsonv_num(s, 2.5) == 2.5);
    assert_true(jsonv_num(n, 0) == 1.5);
    assert_true(jsonv_num(NULL, 2.5) == 2.5);
    assert_true(jsonv_bool(s, true));
    assert_false(jsonv_bool(jsonv_get(v, "z"), false));
    assert_false(jsonv_bool(NULL, false));
    assert_int_equal(jsonv_type(NULL), JSONV_NULL);
    assert_int_equal(jsonv_len(s), 0);
    assert_int_equal(jsonv_len(NULL), 0);
    assert_null(jsonv_at(s, 0));
    assert_null(jsonv_at(NULL, 0));
    assert_null(jsonv_key_at(NULL, 0));
    assert_null(jsonv_get(s, "x"));
    assert_null(jsonv_get(NULL, "x"));
    assert_null(jsonv_get(v, NULL));
    jsonv_free(v);
    jsonv_free(NULL);
}

static void test_string_escapes(void **state)
{
    struct jsonv *v = parse_ok("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t\"");
    assert_string_equal(jsonv_str(v, NULL), "q\" b\\ s/ \b\f\n\r\t");
    jsonv_free(v);

    /* \u escapes: 1, 2, 3 and 4 UTF-8 bytes (the last via a surrogate pair). */
    v = parse_ok("\"\\u0041\\u00e9\\u20AC\\uD83D\\uDE00\\u001f\\uFFFF\\uDBFF\\uDFFF\"");
    assert_string_equal(jsonv_str(v, NULL), "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x1f"
                                            "\xef\xbf\xbf\xf4\x8f\xbf\xbf");
    jsonv_free(v);

    /* Raw UTF-8 passes through unchanged; so does DEL. */
    v = parse_ok("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f\"");
    assert_string_equal(jsonv_str(v, NULL), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f");
    jsonv_free(v);

    /* Keys are decoded the same way. */
    v = parse_ok("{\"k\\u00e9y\\n\": 1}");
    assert_string_equal(jsonv_key_at(v, 0), "k\xc3\xa9y\n");
    assert_int_equal(jsonv_int(jsonv_get(v, "k\xc3\xa9y\n"), 0), 1);
    jsonv_free(v);
}

static void test_invalid(void **state)
{
    static const struct {
        const char *text;
        size_t at;
    } cases[] = {
        /* Structure. */
        {"", 0},
        {"   ", 3},
        {"[1,]", 3},
        {"[,1]", 1},
        {"[1 2]", 3},
        {"[1", 2},
        {"[", 1},
        {"{", 1},
        {"{\"a\":1,}", 7},
        {"{a:1}", 1},
        {"{\"a\" 1}", 5},
        {"{\"a\":}", 5},
        {"{\"a\":1 \"b\":2}", 7},
        {"{\"a\",1}", 4},
        {"{1:2}", 1},
        {"]", 0},
        {"}", 0},
        {":", 0},
        /* Trailing garbage. */
        {"1 2", 2},
        {"{} x", 3},
        {"[1]]", 3},
        {"truex", 4},
        {"\"a\"\"b\"", 3},
        /* Literals. */
        {"tru", 0},
        {"nul", 0},
        {"True", 0},
        {"NULL", 0},
        {"fals", 0},
        {"nan", 0},
        {"NaN", 0},
        {"Infinity", 0},
        {"-Infinity", 1},
        {"undefined", 0},
        {"'a'", 0},
        {"//c\n1", 0},
        {"/*c*/1", 0},
        /* Numbers. */
        {"01", 1},
        {"-01", 2},
        {"00", 1},
        {"-", 1},
        {"+1", 0},
        {"1.", 2},
        {".5", 0},
        {"1.e3", 2},
        {"1e", 2},
        {"1e+", 3},
        {"1E-x", 3},
        {"0x10", 1},
        {"1e400", 0},
        {"-1e400", 0},
        {"[1.5e999]", 1},
        /* Strings. */
        {"\"abc", 0},
        {"\"abc\\\"", 0},
        {"\"a\x01\"", 2},
        {"\"a\tb\"", 2},
        {"\"a\nb\"", 2},
        {"\"\\x\"", 1},
        {"\"\\U0041\"", 1},
        {"\"\\'\"", 1},
        {"\"\\u12G4\"", 5},
        {"\"\\u12\"", 5},
        {"\"\\u\"", 3},
        {"\"ab\\uD800\"", 3},
        {"\"\\uD800x\"", 1},
        {"\"\\uD800\\u0041\"", 1},
        {"\"\\uD800\\uD800\"", 1},
        {"\"\\uD800\\n\"", 1},
        {"\"\\uDC00\"", 1},
        {"\"\\uDFFF\\uD800\"", 1},
        {"\"\\uD83D\\uDE0\"", 12},
        {"\"\\u0000\"", 1},
        {"\"x\\uD800\\u0000\"", 2},
        /* Invalid UTF-8, in strings and outside them. */
        {"\xef\xbb\xbf{}", 0}, /* BOM */
        {"\"\x80\"", 1},
        {"\"a\xbf\"", 2},
        {"\"\xc0\xaf\"", 1},         /* overlong '/' */
        {"\"\xc1\xbf\"", 1},         /* overlong */
        {"\"\xe0\x80\xaf\"", 1},     /* overlong */
        {"\"\xf0\x80\x80\xaf\"", 1}, /* overlong */
        {"\"\xed\xa0\x80\"", 1},     /* UTF-16 surrogate D800 */
        {"\"\xed\xbf\xbf\"", 1},     /* surrogate DFFF */
        {"\"\xf4\x90\x80\x80\"", 1}, /* U+110000 */
        {"\"\xf5\x80\x80\x80\"", 1},
        {"\"\xff\"", 1},
        {"\"\xc3\"", 1},         /* truncated */
        {"\"\xe2\x82\"", 1},     /* truncated */
        {"\"\xc3\x28\"", 1},     /* bad continuation */
        {"\"\xe2\x28\xa1\"", 1}, /* bad continuation */
        {"[\xc3\xa9]", 1},
        /* Duplicate keys (offset: the object's '{'). */
        {"{\"a\":1,\"a\":2}", 0},
        {"[0, {\"a\":1,\"b\":{\"a\":1},\"b\":2}]", 4},
        {"{\"\\u0061\":1,\"a\":2}", 0},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
        parse_bad(cases[k].text, cases[k].at);

    /* Bytes the C string literals above cannot show. */
    parse_bad_n("[1,2]\0", 6, 5);
    parse_bad_n("\"a\0b\"", 5, 2);
    parse_bad_n("\0", 1, 0);
    parse_bad_n(NULL, 5, 0);

    /* No error context: refused all the same. */
    assert_null(jsonv_parse("[1,", 3, NULL));
}

static void test_message(void **state)
{
    struct weft_err e = {{0}};
    assert_null(jsonv_parse("[1, 2,]", 7, &e));
    assert_string_equal(e.msg, "invalid JSON at byte 6: unexpected ']', expected a value");
    assert_null(jsonv_parse("{\"x\": 1", 7, &e));
    assert_string_equal(e.msg,
                        "invalid JSON at byte 7: unexpected end of input, expected ',' or '}'");
    assert_null(jsonv_parse("{\"x\":1,\"x\":2}", 13, &e));
    assert_string_equal(e.msg, "invalid JSON at byte 0: duplicate key \"x\" in object");
    assert_null(jsonv_parse("1\x01", 2, &e));
    assert_string_equal(e.msg,
                        "invalid JSON at byte 1: unexpected byte 0x01, expected end of input "
                        "after the value");
}

static void test_length_not_nul(void **state)
{
    /* The input need not be NUL-terminated: only len bytes are read. */
    const char text[] = "[1,2]garbage";
    struct jsonv *v = jsonv_parse(text, 5, NULL);
    assert_non_null(v);
    assert_int_equal(jsonv_len(v), 2);
    jsonv_free(v);

    char exact[4] = {'"', 'a', 'b', '"'}; /* no NUL anywhere */
    v = jsonv_parse(exact, sizeof(exact), NULL);
    assert_string_equal(jsonv_str(v, NULL), "ab");
    jsonv_free(v);

    char num[2] = {'1', '2'};
    v = jsonv_parse(num, sizeof(num), NULL);
    assert_true(jsonv_int(v, 0) == 12);
    jsonv_free(v);

    parse_bad_n("\"ab\"", 3, 0);
    parse_bad_n("true", 3, 0);
    parse_bad_n("\"\\u00e9\"", 6, 0);
}

static void test_depth(void **state)
{
    char buf[2 * (JSONV_MAX_DEPTH + 1) + 1];
    size_t n;

    /* Exactly the limit: accepted. */
    for (n = 0; n < JSONV_MAX_DEPTH; n++)
        buf[n] = '[';
    for (size_t k = 0; k < JSONV_MAX_DEPTH; k++)
        buf[n++] = ']';
    struct jsonv *v = jsonv_parse(buf, n, NULL);
    assert_non_null(v);
    const struct jsonv *p = v;
    for (int d = 1; d < JSONV_MAX_DEPTH; d++)
        p = jsonv_at(p, 0);
    assert_int_equal(jsonv_type(p), JSONV_ARRAY);
    assert_int_equal(jsonv_len(p), 0);
    jsonv_free(v);

    /* One more: refused where the 65th container opens. */
    for (n = 0; n <= JSONV_MAX_DEPTH; n++)
        buf[n] = '[';
    for (size_t k = 0; k <= JSONV_MAX_DEPTH; k++)
        buf[n++] = ']';
    parse_bad_n(buf, n, JSONV_MAX_DEPTH);

    /* Objects count too. */
    char obj[8 * (JSONV_MAX_DEPTH + 1) + 8];
    n = 0;
    for (int d = 0; d <= JSONV_MAX_DEPTH; d++)
        n += (size_t)snprintf(obj + n, sizeof(obj) - n, "{\"a\":");
    n += (size_t)snprintf(obj + n, sizeof(obj) - n, "1");
    for (int d = 0; d <= JSONV_MAX_DEPTH; d++)
        obj[n++] = '}';
    parse_bad_n(obj, n, (size_t)JSONV_MAX_DEPTH * 5);

    /* Deep nesting of a big document does not blow up (the limit holds). */
    size_t big = 100000;
    char *deep = malloc(big);
    assert_non_null(deep);
    memset(deep, '[', big);
    parse_bad_n(deep, big, JSONV_MAX_DEPTH);
    free(deep);
}

static void test_large(void **state)
{
    /* Many members: growth, and the sorted duplicate check (> 16 keys). */
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    buf[n++] = '{';
    for (int i = 0; i < 5000; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s\"k%d\":[%d,\"v%d\"]", i ? "," : "", i, i, i);
    buf[n++] = '}';
    struct jsonv *v = jsonv_parse(buf, n, NULL);
    assert_non_null(v);
    assert_int_equal(jsonv_len(v), 5000);
    assert_string_equal(jsonv_key_at(v, 4321), "k4321");
    assert_true(jsonv_int(jsonv_path(v, "k4999.0"), -1) == 4999);
    assert_string_equal(jsonv_str(jsonv_path(v, "k17.1"), NULL), "v17");
    jsonv_free(v);

    /* The same with one duplicate near the end. */
    n -= 1;
    n += (size_t)snprintf(buf + n, cap - n, ",\"k4998\":0}");
    parse_bad_n(buf, n, 0);
    free(buf);
}

/* jsonv_write gives text that parses to the same tree, and is compact. */
static void test_write_round_trip(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{}",
        "[]",
        "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"x\\\"y\\n\\u0001\u00e9\"}}",
        "[18446744073709551615,-9223372036854775808,0.5,1e300,-0.0001]",
        "{\"h\":281474976710655,\"s\":\"\\ud83d\\ude00\"}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct weft_err e = {{0}};
        struct sbuf a, b;
        sbuf_init(&a);
        sbuf_init(&b);
        struct jsonv *v = jsonv_parse(docs[i], strlen(docs[i]), &e);
        assert_non_null(v);
        jsonv_write(v, &a);
        struct jsonv *w = jsonv_parse(a.data, a.len, &e);
        assert_non_null(w);
        jsonv_write(w, &b);
        assert_string_equal(sbuf_str(&a), sbuf_str(&b)); /* a fixed point */
        assert_null(strchr(sbuf_str(&a), ' '));
        jsonv_free(v);
        jsonv_free(w);
        sbuf_deinit(&a);
        sbuf_deinit(&b);
    }
    struct weft_err e = {{0}};
    struct sbuf a;
    sbuf_init(&a);
    struct jsonv *v = jsonv_parse("{\"k\":[1,\"two\"],\"u\":18446744073709551615}", 40, &e);
    assert_non_null(v);
    jsonv_write(v, &a);
    assert_string_equal(sbuf_str(&a), "{\"k\":[1,\"two\"],\"u\":18446744073709551615}");
    assert_true(jsonv_uint(jsonv_get(v, "u"), 0) == UINT64_MAX);
    jsonv_free(v);
    sbuf_deinit(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_round_trip),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_long_numbers),
        cmocka_unit_test(test_containers),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_string_escapes),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_message),
        cmocka_unit_test(test_length_not_nul),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
