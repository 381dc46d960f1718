/*
 * test_relay: the L4 relay over real loopback TCP connections.
 *
 *   app_a ══TCP══ down ─┐                    ┌─ up ══TCP══ app_b
 *                       └──── px_relay ──────┘
 *
 * The test holds app_a and app_b and runs the event loop in bounded steps.
 * Claims: bytes pass both ways intact; a half-close passes and the other
 * direction keeps flowing; a slow reader holds the relay's memory to its
 * budget and loses nothing; a reset on one side resets the other; an idle
 * relay ends by its timeout; request/response traffic costs no read() that
 * only says EAGAIN (this executable links with --wrap=read to count them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "proxy/relay.h"
#include "proxy/stream.h"

#include <event2/buffer.h>
#include <event2/event.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct fix {
    struct event_base *base;
    int app_a, app_b;
    struct px_stream *down, *up;
    struct px_relay *r;
    bool done;
    struct px_relay_result res;
};

/* read() as the relay's streams call it, counting the calls that found
 * nothing (EAGAIN) on the descriptors being watched. */
ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __wrap_read(int fd, void *buf, size_t n);
static int g_watch[2] = {-1, -1};
static unsigned g_futile_reads;

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
    ssize_t r = __real_read(fd, buf, n);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
        (fd == g_watch[0] || fd == g_watch[1]))
        g_futile_reads++;
    return r;
}

/* A connected loopback TCP pair: fds[0] the client, fds[1] the accepted side. */
static void tcp_pair(int fds[2])
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(l >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(l, 1), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
    fds[0] = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fds[0], (struct sockaddr *)&a, sizeof(a)), 0);
    fds[1] = accept(l, NULL, NULL);
    assert_true(fds[1] >= 0);
    close(l);
}

static void on_done(void *arg, const struct px_relay_result *res)
{
    struct fix *f = arg;
    f->done = true;
    f->res = *res;
    f->r = NULL;
}

/* Each test runs twice: copying through buffers, and with splice(2). */
static bool g_splice;

static void setup_fix(struct fix *f, size_t buffer, int64_t idle_ms)
{
    memset(f, 0, sizeof(*f));
    f->base = event_base_new();
    assert_non_null(f->base);
    int p1[2], p2[2];
    tcp_pair(p1);
    tcp_pair(p2);
    f->app_a = p1[0];
    f->app_b = p2[1];
    struct weft_err e = {0};
    f->down = px_stream_new(p1[1], NULL, NULL, &e);
    f->up = px_stream_new(p2[0], NULL, NULL, &e);
    assert_non_null(f->down);
    assert_non_null(f->up);
    struct px_relay_params p = {.buffer = buffer, .idle_ms = idle_ms, .splice = g_splice};
    f->r = px_relay_new(f->base, f->down, f->up, &p, on_done, NULL, f, &e);
    assert_non_null(f->r);
    /* Linux has splice: the relay must use it when asked. */
    assert_int_equal(px_relay_is_splice(f->r), g_splice);
    fcntl(f->app_a, F_SETFL, O_NONBLOCK);
    fcntl(f->app_b, F_SETFL, O_NONBLOCK);
}

static void teardown_fix(struct fix *f)
{
    if (f->r)
        px_relay_abort(f->r);
    close(f->app_a);
    close(f->app_b);
    event_base_free(f->base);
}

/* Run the loop a bounded number of non-blocking turns. */
static void spin(struct fix *f, int turns)
{
    for (int i = 0; i < turns; i++) {
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        if (f->done)
            return;
    }
}

/* Run (blocking turns, bounded) until done or `turns` passed. */
static void run_until_done(struct fix *f, int turns)
{
    for (int i = 0; i < turns && !f->done; i++)
        event_base_loop(f->base, EVLOOP_ONCE);
}

/* Read what fd has within a bounded number of loop turns, into buf. */
static size_t drain(struct fix *f, int fd, char *buf, size_t cap, size_t want, bool *eof)
{
    size_t got = 0;
    *eof = false;
    for (int i = 0; i < 20000 && got < want && !*eof; i++) {
        spin(f, 1);
        ssize_t n = recv(fd, buf + got, cap - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0)
            *eof = true;
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
            break;
        else
            usleep(100);
    }
    return got;
}

static void test_both_ways(void **state)
{
    g_splice = *(bool *)*state;
    struct fix f;
    setup_fix(&f, 64 * 1024, 0);
    char buf[64];
    bool eof;
    assert_int_equal(send(f.app_a, "ping", 4, 0), 4);
    assert_int_equal(drain(&f, f.app_b, buf, sizeof(buf), 4, &eof), 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(send(f.app_b, "pong!", 5, 0), 5);
    assert_int_equal(drain(&f, f.app_a, buf, sizeof(buf), 5, &eof), 5);
    assert_memory_equal(buf, "pong!", 5);
    assert_false(f.done);
    /* Small messages are copied, never spliced: fewer syscalls. */
    assert_int_equal(px_relay_spliced(f.r), 0);
    teardown_fix(&f);
}

/* Request/response, one message in flight: each wake-up is for one socket;
 * the other one, found empty before, is not read again (a read() that can
 * only say EAGAIN is a syscall per message: haproxy makes none). */
static void test_no_futile_reads(void **state)
{
    g_splice = *(bool *)*state;
    struct fix f;
    setup_fix(&f, 64 * 1024, 0);
    g_watch[0] = f.down->fd;
    g_watch[1] = f.up->fd;
    char req[100], resp[1200], buf[2048];
    memset(req, 'q', sizeof(req));
    memset(resp, 'r', sizeof(resp));
    bool eof;
    spin(&f, 4); /* the start: each side read once, found empty */
    g_futile_reads = 0;
    enum { ROUNDS = 50 };
    for (int i = 0; i < ROUNDS; i++) {
        assert_int_equal(send(f.app_a, req, sizeof(req), 0), (ssize_t)sizeof(req));
        assert_int_equal(drain(&f, f.app_b, buf, sizeof(buf), sizeof(req), &eof), sizeof(req));
        assert_int_equal(send(f.app_b, resp, sizeof(resp), 0), (ssize_t)sizeof(resp));
        assert_int_equal(drain(&f, f.app_a, buf, sizeof(buf), sizeof(resp), &eof), sizeof(resp));
    }
    /* Before the readiness flag: two per round (one per wake-up). A read
     * that races a message's second segment may still find nothing. */
    assert_true(g_futile_reads <= ROUNDS / 10);
    assert_false(f.done);
    g_watch[0] = g_watch[1] = -1;
    teardown_fix(&f);
}

static void test_half_close(void **state)
{
    g_splice = *(bool *)*state;
    struct fix f;
    setup_fix(&f, 64 * 1024, 0);
    char buf[64];
    bool eof;
    assert_int_equal(send(f.app_a, "req", 3, 0), 3);
    assert_int_equal(shutdown(f.app_a, SHUT_WR), 0);
    /* b sees the bytes and then the end... */
    assert_int_equal(drain(&f, f.app_b, buf, sizeof(buf), sizeof(buf), &eof), 3);
    assert_true(eof);
    /* ...and can still answer: the other direction flows. */
    assert_int_equal(send(f.app_b, "reply", 5, 0), 5);
    assert_int_equal(shutdown(f.app_b, SHUT_WR), 0);
    assert_int_equal(drain(&f, f.app_a, buf, sizeof(buf), sizeof(buf), &eof), 5);
    assert_true(eof);
    assert_memory_equal(buf, "reply", 5);
    run_until_done(&f, 100);
    assert_true(f.done);
    assert_int_equal(f.res.end, PX_END_CLOSED);
    assert_int_equal(f.res.bytes_up, 3);
    assert_int_equal(f.res.bytes_down, 5);
    teardown_fix(&f);
}

static void test_slow_reader(void **state)
{
    g_splice = *(bool *)*state;
    struct fix f;
    const size_t cap = 16 * 1024;
    setup_fix(&f, cap, 0);
    /* a writes far more than the kernel buffers and the relay can hold;
     * b reads nothing for a while. */
    static char chunk[64 * 1024];
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (char)(i * 7 + 3);
    size_t written = 0;
    for (int i = 0; i < 4000; i++) {
        ssize_t n = send(f.app_a, chunk, sizeof(chunk), 0);
        if (n > 0)
            written += (size_t)n;
        spin(&f, 2);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && i > 200)
            break;
    }
    assert_true(written > 4 * 1024 * 1024); /* the kernel buffers alone hold less */
    /* A bulk between plain sockets splices (when asked to). */
    if (g_splice)
        assert_true(px_relay_spliced(f.r) > 0);
    else
        assert_int_equal(px_relay_spliced(f.r), 0);
    /* The relay holds at most its budget: cap of unsent bytes to up, plus
     * one read chunk in down's input. */
    assert_true(px_stream_pending(f.up) <= cap + PX_STREAM_CHUNK);
    assert_true(evbuffer_get_length(f.down->rx) <= PX_STREAM_CHUNK);
    assert_false(f.done);
    /* Now b reads everything: nothing was lost, in order. */
    assert_int_equal(shutdown(f.app_a, SHUT_WR), 0);
    size_t got = 0;
    bool eof = false, same = true;
    char *buf = malloc(256 * 1024);
    for (int i = 0; i < 200000 && !eof; i++) {
        spin(&f, 1);
        ssize_t n = recv(f.app_b, buf, 256 * 1024, 0);
        if (n > 0) {
            for (ssize_t k = 0; k < n; k++)
                if (buf[k] != chunk[(got + (size_t)k) % sizeof(chunk)])
                    same = false;
            got += (size_t)n;
        } else if (n == 0) {
            eof = true;
        } else {
            usleep(50);
        }
    }
    free(buf);
    assert_true(eof);
    assert_true(same);
    assert_int_equal(got, written);
    teardown_fix(&f);
}

static void test_reset_passes_on(void **state)
{
    g_splice = *(bool *)*state;
    struct fix f;
    setup_fix(&f, 64 * 1024, 0);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(f.app_b, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(f.app_b);
    f.app_b = -1;
    run_until_done(&f, 100);
    assert_true(f.done);
    assert_int_equal(f.res.end, PX_END_RESET_UP);
    /* a sees a reset, not a clean end. */
    char buf[8];
    ssize_t n = -1;
    for (int i = 0; i < 1000; i++) {
        n = recv(f.app_a, buf, sizeof(buf), 0);
        if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            break;
        usleep(1000);
    }
    assert_int_equal(n, -1);
    assert_int_equal(errno, ECONNRESET);
    teardown_fix(&f);
}

static void test_idle_timeout(void **state)
{
    g_splice = *(bool *)*state;
    struct fix f;
    setup_fix(&f, 64 * 1024, 50);
    run_until_done(&f, 1000);
    assert_true(f.done);
    assert_int_equal(f.res.end, PX_END_IDLE);
    teardown_fix(&f);
}

int main(void)
{
    static bool copy = false, splice = true;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_both_ways, &copy),
        cmocka_unit_test_prestate(test_no_futile_reads, &copy),
        cmocka_unit_test_prestate(test_half_close, &copy),
        cmocka_unit_test_prestate(test_slow_reader, &copy),
        cmocka_unit_test_prestate(test_reset_passes_on, &copy),
        cmocka_unit_test_prestate(test_idle_timeout, &copy),
        cmocka_unit_test_prestate(test_both_ways, &splice),
        cmocka_unit_test_prestate(test_no_futile_reads, &splice),
        cmocka_unit_test_prestate(test_half_close, &splice),
        cmocka_unit_test_prestate(test_slow_reader, &splice),
        cmocka_unit_test_prestate(test_reset_passes_on, &splice),
        cmocka_unit_test_prestate(test_idle_timeout, &splice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
