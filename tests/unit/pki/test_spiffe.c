/*
 * pki/spiffe: building, parsing and validating weft's SPIFFE IDs. Most of
 * this file is refusals: names and trust domains that try to add path
 * segments, escapes, control bytes or other shapes must never become an ID.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config/schema.h"
#include "pki/spiffe.h"

#include <stdio.h>
#include <string.h>

static void test_format_and_parse_round_trip(void **state)
{
    struct weft_err e = {{0}};
    char id[SPIFFE_ID_MAX + 1];
    struct spiffe_id p;

    assert_int_equal(spiffe_id_format(SPIFFE_NODE, "example.org", "gw-01", id, sizeof(id), &e), 0);
    assert_string_equal(id, "spiffe://example.org/node/gw-01");
    assert_int_equal(spiffe_id_parse(id, strlen(id), &p, &e), 0);
    assert_int_equal(p.kind, SPIFFE_NODE);
    assert_string_equal(p.trust_domain, "example.org");
    assert_string_equal(p.name, "gw-01");

    assert_int_equal(
        spiffe_id_format(SPIFFE_SVC, "mesh.example-1.org", "Web_API.v2", id, sizeof(id), &e), 0);
    assert_string_equal(id, "spiffe://mesh.example-1.org/svc/Web_API.v2");
    assert_int_equal(spiffe_id_parse(id, strlen(id), &p, &e), 0);
    assert_int_equal(p.kind, SPIFFE_SVC);
    assert_string_equal(p.name, "Web_API.v2");

    assert_int_equal(spiffe_td_id_format("example.org", id, sizeof(id), &e), 0);
    assert_string_equal(id, "spiffe://example.org");
}

static void test_names_accepted(void **state)
{
    static const char *const ok[] = {
        "a", "0", "gw-01", "A.b_c-d", "x.y.z", "a-", "a_",
        /* 63 characters */
        "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123"};
    struct weft_err e = {{0}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(spiffe_name_check(SPIFFE_NODE, ok[i], &e), 0);
        assert_int_equal(spiffe_name_check(SPIFFE_SVC, ok[i], &e), 0);
    }
}

/* Each refused with a message naming the problem. */
static void test_names_refused(void **state)
{
    static const struct {
        const char *name;
        const char *why;
    } bad[] = {
        {"", "is empty"},
        {"a/b", "contains '/'"},
        {"../etc", "must start with a letter or a digit"},
        {"a..b", "must not contain '..'"},
        {"a..", "must not contain '..'"},
        {".", "must start"},
        {"..", "must start"},
        {"a%2Fb", "contains '%'"},
        {"a%2e%2e", "contains '%'"},
        {"a b", "contains ' '"},
        {"a\tb", "contains '\\x09'"},
        {"a\nb", "contains '\\x0a'"},
        {"a?x=1", "contains '?'"},
        {"a#frag", "contains '#'"},
        {"a@b", "contains '@'"},
        {"a:b", "contains ':'"},
        {"a\\b", "contains '\\x5c'"},
        {"-a", "must start"},
        {"_a", "must start"},
        {"caf\xc3\xa9", "contains '\\xc3'"},
        /* 64 characters */
        {"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234", "longer than 63"},
    };
    struct weft_err e = {{0}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&e);
        assert_int_equal(spiffe_name_check(SPIFFE_SVC, bad[i].name, &e), -1);
        if (!strstr(e.msg, bad[i].why))
            fail_msg("name #%zu: message '%s' lacks '%s'", i, e.msg, bad[i].why);
        assert_non_null(strstr(e.msg, "service name"));
        /* One line: no raw control byte from the input reaches the message. */
        assert_null(strchr(e.msg, '\n'));
        assert_null(strchr(e.msg, '\t'));
        char id[SPIFFE_ID_MAX + 1] = "x";
        assert_int_equal(
            spiffe_id_format(SPIFFE_SVC, "example.org", bad[i].name, id, sizeof(id), &e), -1);
        assert_string_equal(id, "");
    }
    assert_int_equal(spiffe_name_check(SPIFFE_NODE, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "node name"));
}

static const char *const bad_tds[] = {
    "",
    "Example.org",
    "EXAMPLE.ORG",
    "example.org.",
    ".example.org",
    "a..b",
    "-a.org",
    "a-.org",
    "a_b.org",
    "a b.org",
    "a/b",
    "example.org:8443",
    "spiffe://example.org",
    "exa%2Fmple.org",
    "xn--\n.org",
    "a.org/path",
};

static void test_trust_domains(void **state)
{
    struct weft_err e = {{0}};
    static const char *const ok[] = {"example.org", "a", "mesh-1.corp.example", "123.example"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(spiffe_trust_domain_check(ok[i], &e), 0);
    for (size_t i = 0; i < sizeof(bad_tds) / sizeof(bad_tds[0]); i++) {
        err_clear(&e);
        if (spiffe_trust_domain_check(bad_tds[i], &e) != -1)
            fail_msg("trust domain #%zu accepted", i);
        assert_non_null(strstr(e.msg, "trust domain"));
        assert_null(strchr(e.msg, '\n'));
    }
    assert_int_equal(spiffe_trust_domain_check("Example.org", &e), -1);
    assert_non_null(strstr(e.msg, "lowercase"));
    assert_int_equal(spiffe_trust_domain_check(NULL, &e), -1);

    /* Lengths: a 63-character label passes, 64 does not; 253 in all passes, 254 not. */
    char td[300];
    memset(td, 'a', 63);
    strcpy(td + 63, ".org");
    assert_int_equal(spiffe_trust_domain_check(td, &e), 0);
    memset(td, 'a', 64);
    strcpy(td + 64, ".org");
    assert_int_equal(spiffe_trust_domain_check(td, &e), -1);
    /* 4 labels of 63 + 3 dots = 255; cut to 253 and 254. */
    for (int i = 0; i < 4; i++) {
        memset(td + i * 64, 'b', 63);
        td[i * 64 + 63] = '.';
    }
    td[253] = '\0';
    assert_int_equal(spiffe_trust_domain_check(td, &e), 0);
    td[253] = 'b';
    td[254] = '\0';
    assert_int_equal(spiffe_trust_domain_check(td, &e), -1);
    assert_non_null(strstr(e.msg, "longer than 253"));
}

/* The same trust domain rule as config's node.trust_domain. */
static void test_trust_domain_agrees_with_config(void **state)
{
    static const char *const ok[] = {"example.org", "a", "mesh-1.corp.example"};
    struct weft_err e1 = {{0}}, e2 = {{0}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *v = ok[i];
        assert_int_equal(spiffe_trust_domain_check(v, &e1), 0);
        assert_int_equal(config_check_trust_domain(&v, &e2), 0);
    }
    for (size_t i = 0; i < sizeof(bad_tds) / sizeof(bad_tds[0]); i++) {
        const char *v = bad_tds[i];
        if (v[0] == '\0')
            continue; /* config: empty means "unset", refused by another rule */
        assert_int_equal(spiffe_trust_domain_check(v, &e1), -1);
        if (config_check_trust_domain(&v, &e2) != -1)
            fail_msg("config accepts trust domain #%zu", i);
    }
}

static void test_parse_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "spiffe://",
        "spiffe://example.org",
        "spiffe://example.org/",
        "spiffe://example.org/node",
        "spiffe://example.org/node/",
        "spiffe://example.org/node/a/b",
        "spiffe://example.org/node/..",
        "spiffe://example.org/node/.",
        "spiffe://example.org/node/a%2Fb",
        "spiffe://example.org/svc/a?x",
        "spiffe://example.org/svc/a#f",
        "spiffe://example.org/web/a",
        "spiffe://example.org/Node/a",
        "spiffe://example.org//node/a",
        "spiffe://Example.org/node/a",
        "spiffe://example.org:443/node/a",
        "spiffe://user@example.org/node/a",
        "SPIFFE://example.org/node/a",
        "https://example.org/node/a",
        "spiffe:/example.org/node/a",
        " spiffe://example.org/node/a",
        "spiffe://example.org/node/a ",
    };
    struct weft_err e = {{0}};
    struct spiffe_id p;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (spiffe_id_parse(bad[i], strlen(bad[i]), &p, &e) != -1)
            fail_msg("parsed #%zu: %s", i, bad[i]);
        assert_null(strchr(e.msg, '\n'));
    }
    /* An embedded NUL: the C string would look fine. */
    static const char nul[] = "spiffe://example.org/node/gw\0evil";
    assert_int_equal(spiffe_id_parse(nul, sizeof(nul) - 1, &p, &e), -1);
    assert_non_null(strstr(e.msg, "NUL"));
    /* Not NUL-terminated input is read only up to len. */
    static const char longer[] = "spiffe://example.org/node/gw-01XYZ";
    assert_int_equal(spiffe_id_parse(longer, sizeof(longer) - 4, &p, &e), 0);
    assert_string_equal(p.name, "gw-01");
    /* Over the spec's 2048 bytes. */
    char big[SPIFFE_ID_MAX + 2];
    memset(big, 'a', sizeof(big));
    memcpy(big, "spiffe://", 9);
    assert_int_equal(spiffe_id_parse(big, sizeof(big), &p, &e), -1);
    assert_non_null(strstr(e.msg, "2048"));
}

static void test_format_small_buffer(void **state)
{
    struct weft_err e = {{0}};
    char id[16] = "x";
    assert_int_equal(spiffe_id_format(SPIFFE_NODE, "example.org", "gw-01", id, sizeof(id), &e), -1);
    assert_string_equal(id, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_and_parse_round_trip),
        cmocka_unit_test(test_names_accepted),
        cmocka_unit_test(test_names_refused),
        cmocka_unit_test(test_trust_domains),
        cmocka_unit_test(test_trust_domain_agrees_with_config),
        cmocka_unit_test(test_parse_refused),
        cmocka_unit_test(test_format_small_buffer),
    };
    return cmocka_run_group_tests_name("pki_spiffe", tests, NULL, NULL);
}
