/*
 * admin/: the HTTP server, its route table and reply conventions. A forked
 * child serves (admin_new + event loop); the parent is the client, over the
 * same blocking client the CLI uses (cli/client.c is not linked here, so a
 * minimal raw-socket client below keeps this test inside admin's layer).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "admin/admin.h"
#include "core/json.h"

#include <event2/event.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[64];
static char g_sock[96];

static int h_echo(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    char v[64];
    struct json_w w;
    (void)ud;
    (void)e;
    json_w_init(&w, out);
    json_obj_begin(&w);
    json_kv_str(&w, "path", req->path);
    json_kv_int(&w, "body_len", (int64_t)req->body_len);
    if (admin_query_get(req->query, "x", v, sizeof(v)))
        json_kv_str(&w, "x", v);
    json_obj_end(&w);
    return 200;
}

static int h_fail(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    (void)ud;
    (void)req;
    (void)out;
    err_set(e, "it \"broke\"");
    return 500;
}

static int h_quit(void *ud, const struct admin_req *req, struct sbuf *out, struct weft_err *e)
{
    (void)req;
    (void)e;
    /* Exit a little later, so the reply is written before the loop ends. */
    struct timeval soon = {0, 50000};
    sbuf_puts(out, "{}");
    event_base_loopexit(ud, &soon);
    return 200;
}

/* Child: serve until /quit, then free everything (ASan checks leaks). */
static void serve(int ready_fd)
{
    struct event_base *base = event_base_new();
    struct config_admin cfg = {g_sock, NULL, 0660, false};
    struct weft_err e = {{0}};
    struct admin *a = admin_new(base, &cfg, &e);
    if (!a) {
        fprintf(stderr, "admin_new: %s\n", e.msg);
        _exit(2);
    }
    admin_route(a, ADMIN_GET, "/v1/echo", h_echo, NULL);
    admin_route(a, ADMIN_POST, "/v1/echo", h_echo, NULL);
    admin_route(a, ADMIN_GET, "/v1/fail", h_fail, NULL);
    admin_route(a, ADMIN_POST, "/quit", h_quit, base);
    if (write(ready_fd, "r", 1) != 1)
        _exit(3);
    close(ready_fd);
    /* Never outlive a parent whose assertion failed before /quit. */
    struct timeval limit = {30, 0};
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    admin_free(a);
    event_base_free(base);
    _exit(0);
}

static pid_t start_server(void)
{
    int p[2];
    char c;
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        serve(p[1]);
    }
    close(p[1]);
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    return pid;
}

/* Send raw bytes, read the whole reply (Connection: close). */
static int http(const char *req, size_t req_len, char *resp, size_t cap)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", g_sock);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    size_t off = 0;
    while (off < req_len) {
        ssize_t w = send(fd, req + off, req_len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the server may close early on an oversized body */
        off += (size_t)w;
    }
    size_t n = 0;
    for (int i = 0; i < 500 && n + 1 < cap; i++) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        ssize_t r = recv(fd, resp + n, cap - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    resp[n] = '\0';
    close(fd);
    int code = 0;
    sscanf(resp, "HTTP/1.%*d %d", &code);
    return code;
}

static int get(const char *method, const char *path, char *resp, size_t cap)
{
    char req[512];
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                     method, path);
    return http(req, (size_t)n, resp, cap);
}

static void stop_server(pid_t pid)
{
    char resp[1024];
    int status;
    assert_int_equal(get("POST", "/quit", resp, sizeof(resp)), 200);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static int setup(void **state)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/weft-admin-test.XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    snprintf(g_sock, sizeof(g_sock), "%s/admin.sock", g_dir);
    return 0;
}

static int teardown(void **state)
{
    unlink(g_sock);
    return rmdir(g_dir);
}

static void test_routes_and_errors(void **state)
{
    char resp[4096];
    pid_t pid = start_server();
    struct stat sb;
    assert_int_equal(stat(g_sock, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0660);

    assert_int_equal(get("GET", "/v1/echo?x=a%20b", resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "Content-Type: application/json"));
    assert_non_null(strstr(resp, "\"path\":\"/v1/echo\""));
    assert_non_null(strstr(resp, "\"x\":\"a b\""));

    assert_int_equal(get("GET", "/v1/nope", resp, sizeof(resp)), 404);
    assert_non_null(strstr(resp, "{\"error\":\"no such endpoint\"}"));
    assert_int_equal(get("DELETE", "/v1/echo", resp, sizeof(resp)), 405);
    /* A method evhttp is not told to accept: 501 Not Implemented. */
    assert_int_equal(get("PATCH", "/v1/echo", resp, sizeof(resp)), 501);
    assert_int_equal(get("GET", "/v1/fail", resp, sizeof(resp)), 500);
    assert_non_null(strstr(resp, "{\"error\":\"it \\\"broke\\\"\"}"));
    /* A percent-encoded path is decoded before routing. */
    assert_int_equal(get("GET", "/v1/%65cho", resp, sizeof(resp)), 200);
    stop_server(pid);
    assert_int_equal(access(g_sock, F_OK), -1); /* removed at free */
}

static void test_body_limits(void **state)
{
    char resp[4096];
    pid_t pid = start_server();
    const char *small = "POST /v1/echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                        "Content-Length: 5\r\n\r\nhello";
    assert_int_equal(http(small, strlen(small), resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "\"body_len\":5"));

    /* Past the 1 MiB cap: refused, not buffered. */
    size_t big = (2u << 20);
    char *req = malloc(big + 256);
    assert_non_null(req);
    int h = snprintf(req, 256,
                     "POST /v1/echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     big);
    memset(req + h, 'a', big);
    assert_int_equal(http(req, (size_t)h + big, resp, sizeof(resp)), 413);
    free(req);

    /* Garbage instead of HTTP: the server survives it. */
    const char *junk = "\x01\x02 not http at all\r\n\r\n";
    http(junk, strlen(junk), resp, sizeof(resp));
    assert_int_equal(get("GET", "/v1/echo", resp, sizeof(resp)), 200);
    stop_server(pid);
}

static void test_stale_and_live_socket(void **state)
{
    struct weft_err e = {{0}};
    /* A stale socket file (nobody listening) is replaced. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", g_sock);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    pid_t pid = start_server();

    /* A live one is refused. */
    struct event_base *base = event_base_new();
    struct config_admin cfg = {g_sock, NULL, 0660, false};
    struct admin *a = admin_new(base, &cfg, &e);
    assert_null(a);
    assert_non_null(strstr(e.msg, "served by another process"));
    event_base_free(base);
    stop_server(pid);

    /* A regular file in the way is refused, not deleted. */
    FILE *f = fopen(g_sock, "w");
    assert_non_null(f);
    fclose(f);
    base = event_base_new();
    assert_null(admin_new(base, &cfg, &e));
    assert_non_null(strstr(e.msg, "is not a socket"));
    assert_int_equal(access(g_sock, F_OK), 0);
    event_base_free(base);
}

static void test_query_get(void **state)
{
    char buf[16];
    assert_int_equal(admin_query_get("a=1&key=x%2Fy&b=2", "key", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "x/y");
    assert_int_equal(admin_query_get("a=1", "key", buf, sizeof(buf)), 0);
    assert_int_equal(admin_query_get(NULL, "key", buf, sizeof(buf)), 0);
    assert_int_equal(admin_query_get("key=0123456789abcdefXYZ", "key", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "0123456789abcde"); /* truncated, terminated */
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routes_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_and_live_socket, setup, teardown),
        cmocka_unit_test(test_query_get),
    };
    return cmocka_run_group_tests_name("admin", tests, NULL, NULL);
}
