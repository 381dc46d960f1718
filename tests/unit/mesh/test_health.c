/*
 * test_health: the health checker (src/mesh/health.c) on a real libevent
 * loop against servers on loopback that this test runs in the same loop:
 *
 *   health --tcp--> listener that accepts          pass
 *   health --tcp--> a port nobody listens on       connect refused
 *   health --tcp--> listener with a full backlog   timeout (SYNs dropped)
 *   health --http-> tiny server answering 200 / 503 / garbage / a folded
 *                   header / half a head then nothing / a close
 *
 * Waits are bounded loops over event_base_loop(EVLOOP_ONCE) with a wall
 * clock cap; nothing asserts on how long anything took. The thresholds are
 * checked through the counters at the moment of the change: exactly N
 * results in a row, not N-1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/clock.h"
#include "http/http_parse.h"
#include "mesh/health.h"

/* ---- a tiny server in the test's loop ---- */

#define SRV_CONNS 64

struct srv_conn {
    struct srv *s;
    int fd;
    struct event *ev;
    char buf[2048];
    size_t len;
    bool answered;
};

struct srv {
    struct event_base *base;
    int lfd;
    int port;
    struct event *lev;
    const char *resp; /* sent once the request's head is in; NULL: never answer */
    bool keep_open;   /* after answering */
    unsigned accepted;
    unsigned requests;
    char last_req[2048];
    struct srv_conn *conns[SRV_CONNS];
};

static int listen_on(int *port, int backlog)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, backlog), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void conn_read(evutil_socket_t fd, short what, void *arg)
{
    struct srv_conn *c = arg;
    ssize_t r;
    (void)what;
    r = recv(fd, c->buf + c->len, sizeof c->buf - 1 - c->len, 0);
    if (r <= 0) {
        event_del(c->ev);
        return;
    }
    c->len += (size_t)r;
    c->buf[c->len] = '\0';
    if (c->answered || !strstr(c->buf, "\r\n\r\n"))
        return;
    c->s->requests++;
    snprintf(c->s->last_req, sizeof c->s->last_req, "%s", c->buf);
    if (!c->s->resp)
        return; /* silent */
    c->answered = true;
    assert_int_equal(send(fd, c->s->resp, strlen(c->s->resp), MSG_NOSIGNAL),
                     (ssize_t)strlen(c->s->resp));
    if (!c->s->keep_open) {
        event_del(c->ev);
        shutdown(fd, SHUT_RDWR);
    }
}

static void srv_accept(evutil_socket_t lfd, short what, void *arg)
{
    struct srv *s = arg;
    struct srv_conn *c;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    (void)what;
    if (fd < 0)
        return;
    assert_true(s->accepted < SRV_CONNS);
    c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->s = s;
    c->fd = fd;
    c->ev = event_new(s->base, fd, EV_READ | EV_PERSIST, conn_read, c);
    event_add(c->ev, NULL);
    s->conns[s->accepted++] = c;
}

static struct srv *srv_new(struct event_base *base, const char *resp)
{
    struct srv *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->base = base;
    s->resp = resp;
    s->lfd = listen_on(&s->port, 16);
    evutil_make_socket_nonblocking(s->lfd);
    s->lev = event_new(base, s->lfd, EV_READ | EV_PERSIST, srv_accept, s);
    event_add(s->lev, NULL);
    return s;
}

static void srv_free(struct srv *s)
{
    for (unsigned i = 0; i < s->accepted; i++) {
        event_free(s->conns[i]->ev);
        close(s->conns[i]->fd);
        free(s->conns[i]);
    }
    event_free(s->lev);
    close(s->lfd);
    free(s);
}

/* A port with nobody listening: bound, never listened on, kept bound. */
static int closed_port(int *fd_out)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *fd_out = fd;
    return ntohs(a.sin_port);
}

/* ---- the checker side ---- */

struct watch {
    int changes;
    enum health_state from[8], to[8];
    char reason[8][200];
    uint64_t checks_at[8];
    unsigned consecutive_at[8];
    uint64_t by_result_at[8][HEALTH_RESULT_MAX];
    bool free_in_cb;
    struct health **hp;
};

static void on_change(void *arg, struct health *h, enum health_state from, enum health_state to,
                      const char *reason)
{
    struct watch *w = arg;
    const struct health_counters *c = health_counters(h);
    int i = w->changes < 8 ? w->changes : 7;
    w->from[i] = from;
    w->to[i] = to;
    snprintf(w->reason[i], sizeof w->reason[i], "%s", reason);
    w->checks_at[i] = c->checks;
    w->consecutive_at[i] = c->consecutive;
    memcpy(w->by_result_at[i], c->by_result, sizeof c->by_result);
    w->changes++;
    if (w->free_in_cb) {
        health_free(h);
        *w->hp = NULL;
    }
}

static void params_for(struct health_params *p, enum health_kind kind, int port)
{
    struct sockaddr_in *a = (struct sockaddr_in *)&p->addr;
    health_params_init(p);
    snprintf(p->name, sizeof p->name, "svc");
    p->kind = kind;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    p->addr_len = sizeof *a;
    snprintf(p->path, sizeof p->path, "/health");
    /* Generous: loopback under sanitizers on a busy machine. The
     * timeout tests set their own short one. */
    p->interval_ms = 1000;
    p->timeout_ms = 1000;
    p->healthy_threshold = 1;
    p->unhealthy_threshold = 1;
    p->jitter_pct = 0;
}

/* Run the loop until *changes reaches want (or 20 s of wall clock). */
static void run_until(struct event_base *base, const int *changes, int want)
{
    int64_t end = clock_mono_ms() + 20000;
    while (*changes < want && clock_mono_ms() < end)
        event_base_loop(base, EVLOOP_ONCE);
    assert_true(*changes >= want);
}

/* Run the loop until cond(arg) holds (bounded). */
static void run_while(struct event_base *base, bool (*cond)(void *), void *arg)
{
    int64_t end = clock_mono_ms() + 20000;
    while (cond(arg) && clock_mono_ms() < end)
        event_base_loop(base, EVLOOP_ONCE);
    assert_false(cond(arg));
}

/* One checker until its first change; returns the new state. */
static enum health_state first_change(struct event_base *base, const struct health_params *p,
                                      struct watch *w)
{
    struct weft_err e = {{0}};
    struct health *h = health_new(base, p, on_change, w, &e);
    enum health_state st;
    assert_non_null(h);
    assert_int_equal(health_state(h), HEALTH_UNKNOWN);
    assert_int_equal(health_start(h, &e), 0);
    assert_int_equal(w->changes, 0); /* never from inside health_start */
    run_until(base, &w->changes, 1);
    st = health_state(h);
    assert_int_equal(w->from[0], HEALTH_UNKNOWN);
    assert_int_equal(w->to[0], st);
    health_free(h);
    return st;
}

static void test_tcp_pass_and_refused(void **state)
{
    struct event_base *base = event_base_new();
    struct health_params p;
    struct watch w = {0};
    struct srv *s = srv_new(base, NULL);
    int cfd, port;
    (void)state;

    params_for(&p, HEALTH_TCP, s->port);
    assert_int_equal(first_change(base, &p, &w), HEALTH_PASSING);
    assert_string_equal(w.reason[0], "connected");

    port = closed_port(&cfd);
    memset(&w, 0, sizeof w);
    params_for(&p, HEALTH_TCP, port);
    assert_int_equal(first_change(base, &p, &w), HEALTH_CRITICAL);
    assert_string_equal(w.reason[0], "connect refused");
    assert_int_equal(w.by_result_at[0][HEALTH_RESULT_REFUSED], 1);
    close(cfd);
    srv_free(s);
    event_base_free(base);
}

/* SYNs to a listener whose accept queue is full are dropped (Linux): the
 * connect never completes, so the check times out. */
static void test_tcp_timeout(void **state)
{
    struct event_base *base = event_base_new();
    struct health_params p;
    struct watch w = {0};
    int port, lfd = listen_on(&port, 0);
    int fill[4];
    struct sockaddr_in a = {.sin_family = AF_INET};
    (void)state;

    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Fill the queue (backlog 0 still queues one); never accept. */
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        connect(fill[i], (struct sockaddr *)&a, sizeof a);
    }
    params_for(&p, HEALTH_TCP, port);
    p.timeout_ms = 100;
    p.interval_ms = 100;
    assert_int_equal(first_change(base, &p, &w), HEALTH_CRITICAL);
    assert_string_equal(w.reason[0], "timeout after 100ms");
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(lfd);
    event_base_free(base);
}

struct http_case {
    const char *resp;
    bool keep_open;
    enum health_state want;
    const char *reason_prefix;
    enum health_result result;
};

static void test_http_answers(void **state)
{
    static const struct http_case cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, HEALTH_PASSING, "HTTP 200",
         HEALTH_RESULT_PASS},
        {"HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n", false, HEALTH_PASSING,
         "HTTP 301", HEALTH_RESULT_PASS},
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", false, HEALTH_PASSING,
         "HTTP 204", HEALTH_RESULT_PASS},
        {"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", false, HEALTH_CRITICAL,
         "HTTP 503", HEALTH_RESULT_HTTP_STATUS},
        {"HTTP/1.0 404 Not Found\r\n\r\n", false, HEALTH_CRITICAL, "HTTP 404",
         HEALTH_RESULT_HTTP_STATUS},
        {"garbage\r\n\r\n", false, HEALTH_CRITICAL, "bad response: version",
         HEALTH_RESULT_BAD_RESPONSE},
        /* A 200 whose head folds a line is still refused. */
        {"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", false, HEALTH_CRITICAL,
         "bad response: obs_fold", HEALTH_RESULT_BAD_RESPONSE},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", false,
         HEALTH_CRITICAL, "bad response: content_length", HEALTH_RESULT_BAD_RESPONSE},
        /* Half a head, then the server closes. */
        {"HTTP/1.1 200 OK\r\nContent-", false, HEALTH_CRITICAL, "bad response: truncated",
         HEALTH_RESULT_BAD_RESPONSE},
        /* Closed without a byte. */
        {"", false, HEALTH_CRITICAL, "connection closed without a response", HEALTH_RESULT_CLOSED},
        /* Half a head, then nothing (slow): the deadline. */
        {"HTTP/1.1 200 OK\r\n", true, HEALTH_CRITICAL, "timeout after 100ms",
         HEALTH_RESULT_TIMEOUT},
        /* Reads the request, never answers. */
        {NULL, true, HEALTH_CRITICAL, "timeout after 100ms", HEALTH_RESULT_TIMEOUT},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct http_case *c = &cases[i];
        struct event_base *base = event_base_new();
        struct srv *s = srv_new(base, c->resp);
        struct health_params p;
        struct watch w = {0};

        s->keep_open = c->keep_open;
        params_for(&p, HEALTH_HTTP, s->port);
        if (c->result == HEALTH_RESULT_TIMEOUT) {
            p.timeout_ms = 100;
            p.interval_ms = 100;
        }
        if (first_change(base, &p, &w) != c->want)
            fail_msg("case %zu: state %s (%s)", i, health_state_name(w.to[0]), w.reason[0]);
        if (strncmp(w.reason[0], c->reason_prefix, strlen(c->reason_prefix)) != 0)
            fail_msg("case %zu: reason \"%s\", wanted \"%s...\"", i, w.reason[0], c->reason_prefix);
        assert_int_equal(w.by_result_at[0][c->result], 1);
        /* The request: strict HTTP/1.1 with Host and Connection: close. */
        {
            struct http_parse rp;
            size_t used, n = 0;
            const char *v;
            http_parse_init(&rp, HTTP_PARSE_REQUEST, NULL);
            assert_int_equal(s->requests, 1);
            assert_int_equal(http_parse_feed(&rp, s->last_req, strlen(s->last_req), &used),
                             HTTP_PARSE_HEAD);
            assert_int_equal(rp.msg.method, HTTP_GET);
            assert_int_equal(rp.msg.version_minor, 1);
            assert_int_equal(rp.msg.target_len, 7);
            assert_memory_equal(rp.msg.buf + rp.msg.target_off, "/health", 7);
            v = http_msg_header(&rp.msg, "host", &n);
            assert_non_null(v);
            assert_true(n > 10 && memcmp(v, "127.0.0.1:", 10) == 0);
            v = http_msg_header(&rp.msg, "connection", &n);
            assert_non_null(v);
            assert_int_equal(n, 5);
            assert_memory_equal(v, "close", 5);
            assert_false(rp.msg.keep_alive);
        }
        srv_free(s);
        event_base_free(base);
    }
}

/* Exactly N in a row flips the state, not N-1; and back. */
static void test_thresholds(void **state)
{
    struct event_base *base = event_base_new();
    struct srv *s = srv_new(base, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    struct health_params p;
    struct watch w = {0};
    struct weft_err e = {{0}};
    struct health *h;
    const struct health_counters *c;
    (void)state;

    params_for(&p, HEALTH_HTTP, s->port);
    p.interval_ms = 300;
    p.timeout_ms = 300;
    p.healthy_threshold = 3;
    p.unhealthy_threshold = 4;
    p.jitter_pct = 20;
    p.seed = 42;
    h = health_new(base, &p, on_change, &w, &e);
    assert_non_null(h);
    assert_int_equal(health_start(h, &e), 0);
    run_until(base, &w.changes, 1);
    assert_int_equal(w.to[0], HEALTH_PASSING);
    assert_int_equal(w.checks_at[0], 3);
    assert_int_equal(w.consecutive_at[0], 3);
    assert_int_equal(w.by_result_at[0][HEALTH_RESULT_PASS], 3);

    /* The service starts failing: four 503s in a row, no fewer. */
    s->resp = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
    run_until(base, &w.changes, 2);
    assert_int_equal(w.from[1], HEALTH_PASSING);
    assert_int_equal(w.to[1], HEALTH_CRITICAL);
    assert_string_equal(w.reason[1], "HTTP 503");
    assert_int_equal(w.consecutive_at[1], 4);
    assert_int_equal(w.by_result_at[1][HEALTH_RESULT_HTTP_STATUS], 4);

    /* And recovers: three passes. */
    s->resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    run_until(base, &w.changes, 3);
    assert_int_equal(w.to[2], HEALTH_PASSING);
    assert_int_equal(w.consecutive_at[2], 3);
    c = health_counters(h);
    assert_int_equal(c->changes, 3);
    assert_int_equal(c->checks, c->passes + c->failures);
    assert_int_equal(c->failures, c->by_result[HEALTH_RESULT_HTTP_STATUS]);
    assert_string_equal(health_last_reason(h), "HTTP 200");
    health_free(h);
    srv_free(s);
    event_base_free(base);
}

/* A result that alternates never reaches a threshold of 2. */
static void test_flapping_stays_unknown(void **state)
{
    struct event_base *base = event_base_new();
    struct srv *s = srv_new(base, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    struct health_params p;
    struct watch w = {0};
    struct weft_err e = {{0}};
    struct health *h;
    uint64_t seen = 0;
    (void)state;

    params_for(&p, HEALTH_HTTP, s->port);
    p.interval_ms = 200;
    p.timeout_ms = 200;
    p.healthy_threshold = 2;
    p.unhealthy_threshold = 2;
    h = health_new(base, &p, on_change, &w, &e);
    assert_non_null(h);
    assert_int_equal(health_start(h, &e), 0);
    /* Flip the answer after every check, for 10 checks. */
    for (int i = 0; i < 10; i++) {
        int64_t end = clock_mono_ms() + 20000;
        while (health_counters(h)->checks == seen && clock_mono_ms() < end)
            event_base_loop(base, EVLOOP_ONCE);
        seen = health_counters(h)->checks;
        assert_int_equal(seen, (uint64_t)i + 1);
        s->resp = (seen % 2) ? "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"
                             : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    }
    assert_int_equal(w.changes, 0);
    assert_int_equal(health_state(h), HEALTH_UNKNOWN);
    assert_int_equal(health_counters(h)->consecutive, 1);
    health_free(h);
    srv_free(s);
    event_base_free(base);
}

static bool srv_no_request(void *arg)
{
    return ((struct srv *)arg)->requests == 0;
}

static bool srv_no_accept(void *arg)
{
    return ((struct srv *)arg)->accepted == 0;
}

/* Free at every point: never started, before the first check ran, while
 * connecting, while reading an answer, from inside the callback. ASan
 * and LSan watch; the loop runs on after each free. */
static void test_free_anywhere(void **state)
{
    struct event_base *base = event_base_new();
    struct health_params p;
    struct watch w = {0};
    struct weft_err e = {{0}};
    struct health *h;
    struct srv *s;
    int port, lfd, fill[4];
    struct sockaddr_in a = {.sin_family = AF_INET};
    (void)state;

    health_free(NULL);
    s = srv_new(base, "HTTP/1.1 200 OK\r\n"); /* half a head, kept open */
    s->keep_open = true;
    params_for(&p, HEALTH_HTTP, s->port);

    h = health_new(base, &p, on_change, &w, &e);
    assert_non_null(h);
    health_free(h); /* never started */

    h = health_new(base, &p, on_change, &w, &e);
    assert_int_equal(health_start(h, &e), 0);
    health_free(h); /* first check pending */
    event_base_loop(base, EVLOOP_NONBLOCK);

    /* In flight, reading: the server has sent half a head. */
    h = health_new(base, &p, on_change, &w, &e);
    assert_int_equal(health_start(h, &e), 0);
    run_while(base, srv_no_request, s);
    event_base_loop(base, EVLOOP_NONBLOCK);
    health_free(h);
    event_base_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(w.changes, 0);
    srv_free(s);

    /* In flight, connecting: a full accept queue drops the SYN. */
    lfd = listen_on(&port, 0);
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        connect(fill[i], (struct sockaddr *)&a, sizeof a);
    }
    params_for(&p, HEALTH_TCP, port);
    h = health_new(base, &p, on_change, &w, &e);
    assert_int_equal(health_start(h, &e), 0);
    event_base_loop(base, EVLOOP_NONBLOCK); /* the check starts connecting */
    health_free(h);
    event_base_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(w.changes, 0);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(lfd);

    /* From inside the change callback. */
    s = srv_new(base, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    params_for(&p, HEALTH_HTTP, s->port);
    p.interval_ms = 100;
    p.timeout_ms = 100;
    memset(&w, 0, sizeof w);
    w.free_in_cb = true;
    w.hp = &h;
    h = health_new(base, &p, on_change, &w, &e);
    assert_int_equal(health_start(h, &e), 0);
    run_until(base, &w.changes, 1);
    assert_null(h);
    /* No further check happens: the server sees no new connection. */
    {
        unsigned before = s->accepted;
        int64_t end = clock_mono_ms() + 200;
        while (clock_mono_ms() < end)
            event_base_loop(base, EVLOOP_NONBLOCK);
        assert_int_equal(s->accepted, before);
        assert_int_equal(w.changes, 1);
    }
    (void)srv_no_accept;
    srv_free(s);
    event_base_free(base);
}

/* health_stop() cancels the check in flight; start again works. */
static void test_stop(void **state)
{
    struct event_base *base = event_base_new();
    struct srv *s = srv_new(base, NULL); /* never answers */
    struct health_params p;
    struct watch w = {0};
    struct weft_err e = {{0}};
    struct health *h;
    (void)state;

    s->keep_open = true;
    params_for(&p, HEALTH_HTTP, s->port);
    p.timeout_ms = 100;
    p.interval_ms = 100;
    h = health_new(base, &p, on_change, &w, &e);
    assert_int_equal(health_start(h, &e), 0);
    assert_int_equal(health_start(h, &e), -1); /* already */
    run_while(base, srv_no_request, s);
    health_stop(h);
    {
        int64_t end = clock_mono_ms() + 300;
        while (clock_mono_ms() < end)
            event_base_loop(base, EVLOOP_NONBLOCK);
    }
    assert_int_equal(health_counters(h)->checks, 0); /* the timeout never fired */
    assert_int_equal(w.changes, 0);
    assert_int_equal(health_start(h, &e), 0);
    run_until(base, &w.changes, 1);
    assert_string_equal(w.reason[0], "timeout after 100ms");
    health_free(h);
    srv_free(s);
    event_base_free(base);
}

static void test_params(void **state)
{
    struct health_params p;
    struct weft_err e = {{0}};
    (void)state;
    params_for(&p, HEALTH_HTTP, 80);
    assert_int_equal(health_params_validate(&p, &e), 0);
    p.timeout_ms = p.interval_ms + 1;
    assert_int_equal(health_params_validate(&p, &e), -1);
    assert_non_null(strstr(e.msg, "timeout"));
    params_for(&p, HEALTH_HTTP, 80);
    snprintf(p.path, sizeof p.path, "health");
    assert_int_equal(health_params_validate(&p, &e), -1);
    snprintf(p.path, sizeof p.path, "/a b");
    assert_int_equal(health_params_validate(&p, &e), -1);
    snprintf(p.path, sizeof p.path, "/a\r\nX: y");
    assert_int_equal(health_params_validate(&p, &e), -1);
    params_for(&p, HEALTH_HTTP, 80);
    snprintf(p.host, sizeof p.host, "a b");
    assert_int_equal(health_params_validate(&p, &e), -1);
    params_for(&p, HEALTH_TCP, 80);
    p.healthy_threshold = 0;
    assert_int_equal(health_params_validate(&p, &e), -1);
    params_for(&p, HEALTH_TCP, 80);
    p.addr_len = 0;
    assert_int_equal(health_params_validate(&p, &e), -1);
    assert_null(health_new(NULL, &p, NULL, NULL, &e));
    params_for(&p, HEALTH_TCP, 80);
    p.jitter_pct = 51;
    assert_int_equal(health_params_validate(&p, &e), -1);
    health_params_init(&p);
    assert_int_equal(p.interval_ms, 10000);
    assert_int_equal(p.timeout_ms, 2000);
    assert_int_equal(p.healthy_threshold, 2);
    assert_int_equal(p.unhealthy_threshold, 3);
    assert_string_equal(health_state_name(HEALTH_CRITICAL), "critical");
    assert_string_equal(health_result_name(HEALTH_RESULT_BAD_RESPONSE), "bad_response");
    assert_string_equal(health_result_name(HEALTH_RESULT_MAX), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params),        cmocka_unit_test(test_tcp_pass_and_refused),
        cmocka_unit_test(test_tcp_timeout),   cmocka_unit_test(test_http_answers),
        cmocka_unit_test(test_thresholds),    cmocka_unit_test(test_flapping_stays_unknown),
        cmocka_unit_test(test_free_anywhere), cmocka_unit_test(test_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
