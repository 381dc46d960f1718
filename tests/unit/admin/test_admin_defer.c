/*
 * admin/ deferred replies: a handler takes the request (admin_defer),
 * returns ADMIN_DEFERRED and answers later from the event loop; the client
 * may have gone away by then. One process: the server runs on the event
 * loop, the client is a plain unix socket driven between loop turns; every
 * wait is a bounded number of loop turns. ASan/LSan catch a use after free
 * or a leaked request.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "admin/admin.h"

#include <event2/event.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char g_dir[64];
static char g_sock[96];

struct holder {
    struct admin_pending *p;
    int gone_calls;
};

static int h_later(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    struct holder *h = ud;
    (void)out;
    (void)e;
    h->p = admin_defer(req);
    if (!h->p)
        return 503;
    /* A second call returns the same handle. */
    assert_ptr_equal(admin_defer(req), h->p);
    return ADMIN_DEFERRED;
}

static void on_gone(void *arg)
{
    ((struct holder *)arg)->gone_calls++;
}

static int client(const char *path)
{
    struct sockaddr_un sa;
    char req[256];
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", g_sock);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    int n =
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    return fd;
}

/* Turn the loop until cond() or at most `turns` times. */
static void spin(struct event_base *b, int turns, bool (*cond)(void *), void *arg)
{
    for (int i = 0; i < turns && !(cond && cond(arg)); i++)
        event_base_loop(b, EVLOOP_NONBLOCK);
}

static bool taken(void *arg)
{
    return ((struct holder *)arg)->p != NULL;
}

static bool gone(void *arg)
{
    struct holder *h = arg;
    return h->p && admin_pending_gone(h->p);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/weft-admin-defer.XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    snprintf(g_sock, sizeof(g_sock), "%s/admin.sock", g_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(g_sock);
    return rmdir(g_dir);
}

static struct admin *server(struct event_base *b, struct holder *h)
{
    struct config_admin cfg = {g_sock, NULL, 0600, false};
    struct weft_err e = {{0}};
    struct admin *a = admin_new(b, &cfg, &e);
    assert_non_null(a);
    assert_int_equal(admin_route(a, ADMIN_GET, "/v1/later", h_later, h), 0);
    return a;
}

/* The reply comes later, with the status and body the holder chose. */
static void test_deferred_reply(void **state)
{
    (void)state;
    struct event_base *b = event_base_new();
    struct holder h = {0};
    struct admin *a = server(b, &h);
    int fd = client("/v1/later");
    spin(b, 2000, taken, &h);
    assert_non_null(h.p);
    assert_int_equal(admin_pending_count(a), 1);
    assert_false(admin_pending_gone(h.p));
    /* Nothing was written yet. */
    struct pollfd pfd = {fd, POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, 0), 0);
    admin_pending_reply(h.p, 202, "{\"later\":true}", 14);
    assert_int_equal(admin_pending_count(a), 0);
    char resp[2048];
    size_t n = 0;
    for (int i = 0; i < 2000 && n + 1 < sizeof(resp); i++) {
        event_base_loop(b, EVLOOP_NONBLOCK);
        pfd.revents = 0;
        if (poll(&pfd, 1, 1) <= 0)
            continue;
        ssize_t r = recv(fd, resp + n, sizeof(resp) - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    resp[n] = '\0';
    close(fd);
    assert_non_null(strstr(resp, "HTTP/1.1 202"));
    assert_non_null(strstr(resp, "{\"later\":true}"));
    admin_free(a);
    event_base_free(b);
}

/* The client hangs up first: the holder is told, and its late reply is dropped safely. */
static void test_client_gone(void **state)
{
    (void)state;
    struct event_base *b = event_base_new();
    struct holder h = {0};
    struct admin *a = server(b, &h);
    int fd = client("/v1/later");
    spin(b, 2000, taken, &h);
    assert_non_null(h.p);
    admin_pending_on_gone(h.p, on_gone, &h);
    close(fd);
    spin(b, 2000, gone, &h);
    assert_true(admin_pending_gone(h.p));
    assert_int_equal(h.gone_calls, 1);
    admin_pending_error(h.p, 504, "too late");
    assert_int_equal(admin_pending_count(a), 0);
    spin(b, 10, NULL, NULL);
    admin_free(a);
    event_base_free(b);
}

/* The server stops with a reply pending: the client sees the connection end, the holder's handle
 * stays valid. */
static void test_free_with_pending(void **state)
{
    (void)state;
    struct event_base *b = event_base_new();
    struct holder h = {0};
    struct admin *a = server(b, &h);
    int fd = client("/v1/later");
    spin(b, 2000, taken, &h);
    assert_non_null(h.p);
    admin_free(a);
    assert_true(admin_pending_gone(h.p));
    admin_pending_reply(h.p, 200, "{}", 2);
    char resp[1024];
    assert_int_equal(recv(fd, resp, sizeof(resp), MSG_DONTWAIT), 0);
    close(fd);
    event_base_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deferred_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_with_pending, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
