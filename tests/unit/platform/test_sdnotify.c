/* platform/linux/sdnotify.c against a real unix datagram socket. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "platform/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int bind_dgram(const char *path, int abstract)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    socklen_t len;
    if (abstract) {
        memcpy(sa.sun_path + 1, path, strlen(path));
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path));
    } else {
        unlink(path);
        memcpy(sa.sun_path, path, strlen(path));
        len = sizeof(sa);
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
    return fd;
}

static void recv_expect(int fd, const char *want)
{
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static void test_notify_path(void **state)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/weft-notify-%ld.sock", (long)getpid());
    int fd = bind_dgram(path, 0);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(pf_sd_notify("READY=1\nSTATUS=running"), 1);
    recv_expect(fd, "READY=1\nSTATUS=running");
    close(fd);
    unlink(path);
    /* Nobody listening any more: an error, not a crash. */
    assert_int_equal(pf_sd_notify("WATCHDOG=1"), -1);
}

static void test_notify_abstract(void **state)
{
    char name[64], env[70];
    snprintf(name, sizeof(name), "weft-notify-test-%ld", (long)getpid());
    int fd = bind_dgram(name, 1);
    snprintf(env, sizeof(env), "@%s", name);
    setenv("NOTIFY_SOCKET", env, 1);
    assert_int_equal(pf_sd_notify("STOPPING=1"), 1);
    recv_expect(fd, "STOPPING=1");
    close(fd);
}

static void test_notify_absent_or_bad(void **state)
{
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(pf_sd_notify("READY=1"), 0);
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    assert_int_equal(pf_sd_notify("READY=1"), -1);
    unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog_usec(void **state)
{
    char pid[32];
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    assert_int_equal(pf_sd_watchdog_usec(), 0);
    setenv("WATCHDOG_USEC", "30000000", 1);
    assert_int_equal(pf_sd_watchdog_usec(), 30000000);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    assert_int_equal(pf_sd_watchdog_usec(), 30000000);
    setenv("WATCHDOG_PID", "1", 1); /* meant for another process */
    assert_int_equal(pf_sd_watchdog_usec(), 0);
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "12abc", 1);
    assert_int_equal(pf_sd_watchdog_usec(), 0);
    setenv("WATCHDOG_USEC", "", 1);
    assert_int_equal(pf_sd_watchdog_usec(), 0);
    unsetenv("WATCHDOG_USEC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_path),
        cmocka_unit_test(test_notify_abstract),
        cmocka_unit_test(test_notify_absent_or_bad),
        cmocka_unit_test(test_watchdog_usec),
    };
    return cmocka_run_group_tests_name("sdnotify", tests, NULL, NULL);
}
