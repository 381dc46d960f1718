/* core/addr: numeric host:port parsing for the admin API and its client. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static void test_ipv4(void **state)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct weft_err e = {{0}};
    assert_int_equal(addr_parse("127.0.0.1:9901", &ss, &len, &e), 0);
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    assert_int_equal(a->sin_family, AF_INET);
    assert_int_equal(ntohs(a->sin_port), 9901);
    assert_int_equal(ntohl(a->sin_addr.s_addr), 0x7f000001);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_int_equal(addr_parse("localhost:1", &ss, &len, &e), 0);
    assert_int_equal(ntohl(a->sin_addr.s_addr), 0x7f000001);
}

static void test_ipv6(void **state)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct weft_err e = {{0}};
    assert_int_equal(addr_parse("[::1]:65535", &ss, &len, &e), 0);
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
    assert_int_equal(a->sin6_family, AF_INET6);
    assert_int_equal(ntohs(a->sin6_port), 65535);
    assert_memory_equal(&a->sin6_addr, &in6addr_loopback, sizeof(in6addr_loopback));
}

static void test_errors(void **state)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct weft_err e = {{0}};
    static const char *const bad[] = {
        "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:-1",   "127.0.0.1:8x", "::1:80",
        "[::1]80",   "[::1",       "example.com:80",  "[127.0.0.1]:80", ":80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&e);
        if (addr_parse(bad[i], &ss, &len, &e) != -1)
            fail_msg("accepted '%s'", bad[i]);
        assert_true(err_is_set(&e));
    }
    err_clear(&e);
    assert_int_equal(addr_parse("example.com:80", &ss, &len, &e), -1);
    assert_non_null(strstr(e.msg, "names are not resolved"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
