/*
 * test_accept_guard: a listener out of descriptors pauses instead of
 * spinning, and serves again once descriptors are free. Real sockets on
 * loopback; the process's own RLIMIT_NOFILE is lowered to run out.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "core/accept_guard.h"
#include "core/loop.h"

struct fix {
    struct event_base *base;
    struct evconnlistener *l;
    struct accept_guard *g;
    struct sockaddr_in addr;
    int accepted;
};

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    (void)l;
    (void)sa;
    (void)len;
    struct fix *f = arg;
    f->accepted++;
    close(fd);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the loop until *flag >= want or ms passed (bounded). */
static void run_until(struct fix *f, const int *flag, int want, int ms)
{
    int64_t end = now_ms() + ms;
    while (*flag < want && now_ms() < end) {
        struct timeval tv = {0, 20 * 1000};
        event_base_loopexit(f->base, &tv);
        event_base_dispatch(f->base);
    }
}

static void fix_open(struct fix *f)
{
    memset(f, 0, sizeof(*f));
    f->base = loop_new();
    assert_non_null(f->base);
    f->addr.sin_family = AF_INET;
    f->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->l = evconnlistener_new_bind(f->base, on_accept, f, LEV_OPT_CLOSE_ON_FREE, 16,
                                   (struct sockaddr *)&f->addr, sizeof(f->addr));
    assert_non_null(f->l);
    socklen_t len = sizeof(f->addr);
    assert_int_equal(getsockname(evconnlistener_get_fd(f->l), (struct sockaddr *)&f->addr, &len),
                     0);
    f->g = accept_guard_new(f->l, LOG_CORE, "test listener");
    assert_non_null(f->g);
}

static void fix_close(struct fix *f)
{
    accept_guard_free(f->g);
    evconnlistener_free(f->l);
    event_base_free(f->base);
}

static int client(const struct fix *f)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c >= 0);
    assert_int_equal(connect(c, (const struct sockaddr *)&f->addr, sizeof(f->addr)), 0);
    return c;
}

static void test_shortage(void **state)
{
    (void)state;
    assert_true(accept_guard_shortage(EMFILE));
    assert_true(accept_guard_shortage(ENFILE));
    assert_true(accept_guard_shortage(ENOBUFS));
    assert_true(accept_guard_shortage(ENOMEM));
    assert_false(accept_guard_shortage(ECONNABORTED));
    assert_false(accept_guard_shortage(EINVAL));
    assert_false(accept_guard_shortage(0));
}

/* Out of descriptors: one pause per PAUSE_MS, not a spin; then it serves. */
static void test_emfile_pauses_then_resumes(void **state)
{
    (void)state;
    struct fix f;
    fix_open(&f);
    int c1 = client(&f);
    run_until(&f, &f.accepted, 1, 2000);
    assert_int_equal(f.accepted, 1);

    /* Use every descriptor this process may open. */
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int top = fcntl(0, F_DUPFD, 0);
    assert_true(top >= 0);
    close(top);
    struct rlimit low = {(rlim_t)top + 48, old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int c2 = socket(AF_INET, SOCK_STREAM, 0); /* the client's, before running out */
    assert_true(c2 >= 0);
    int held[64], nheld = 0;
    while (nheld < 64) {
        int d = dup(0);
        if (d < 0) {
            assert_int_equal(errno, EMFILE);
            break;
        }
        held[nheld++] = d;
    }
    assert_true(nheld < 64);
    assert_int_equal(connect(c2, (const struct sockaddr *)&f.addr, sizeof(f.addr)), 0);

    /* The queued connection makes the listener readable; accept() fails.
     * Over 150 ms (less than one pause) the guard has paused once, where an
     * unguarded listener calls accept() again on every loop pass. */
    int64_t t0 = now_ms();
    int never = 0;
    run_until(&f, &never, 1, 150);
    int64_t took = now_ms() - t0;
    assert_int_equal(f.accepted, 1);
    assert_true(accept_guard_pauses(f.g) >= 1);
    if (took < ACCEPT_GUARD_PAUSE_MS - 50) /* a stalled test machine proves nothing here */
        assert_int_equal(accept_guard_pauses(f.g), 1);

    /* Descriptors free again: the listener resumes by itself. */
    for (int i = 0; i < nheld; i++)
        close(held[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    run_until(&f, &f.accepted, 2, 3000);
    assert_int_equal(f.accepted, 2);
    close(c1);
    close(c2);
    fix_close(&f);
}

/* A pause asked for by the owner (a connection that could not get its
 * other socket): nothing is accepted until the pause ends. */
static void test_explicit_pause(void **state)
{
    (void)state;
    struct fix f;
    fix_open(&f);
    accept_guard_pause(f.g, "socket", EMFILE);
    int64_t t0 = now_ms();
    int c = client(&f);
    event_base_loop(f.base, EVLOOP_NONBLOCK);
    if (now_ms() - t0 < ACCEPT_GUARD_PAUSE_MS - 50)
        assert_int_equal(f.accepted, 0);
    run_until(&f, &f.accepted, 1, 3000);
    assert_int_equal(f.accepted, 1);
    assert_int_equal(accept_guard_pauses(f.g), 1);
    accept_guard_pause(NULL, "socket", EMFILE); /* accepted, nothing done */
    close(c);
    fix_close(&f);
}

/* Guards are found by listener: freeing one leaves the other working. */
static void test_two_guards(void **state)
{
    (void)state;
    struct fix a, b;
    fix_open(&a);
    fix_open(&b);
    accept_guard_free(a.g);
    a.g = NULL;
    accept_guard_pause(b.g, "socket", ENFILE);
    assert_int_equal(accept_guard_pauses(b.g), 1);
    assert_int_equal(accept_guard_pauses(NULL), 0);
    int c = client(&b);
    run_until(&b, &b.accepted, 1, 3000);
    assert_int_equal(b.accepted, 1);
    close(c);
    fix_close(&b);
    fix_close(&a);
}

int main(void)
{
    loop_lib_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shortage),
        cmocka_unit_test(test_emfile_pauses_then_resumes),
        cmocka_unit_test(test_explicit_pause),
        cmocka_unit_test(test_two_guards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
