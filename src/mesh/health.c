/*
 * health: one service's checks on the event loop (see health.h).
 *
 * Each check is a small state machine driven by two events, `io` on the
 * socket and `deadline`; `tick` schedules the next check:
 *
 *   IDLE --tick--> CONNECTING --writable, SO_ERROR 0--> (tcp) pass
 *                      |                                (http) SENDING --> READING
 *                      +-- refused / error --> fail          |                |
 *   any phase --deadline--> fail (timeout)                   HEAD: status --> pass|fail
 *                                                            ERROR / EOF  --> fail
 *   check_end(): close, count, thresholds, maybe the callback, next tick.
 *
 * Free from inside the callback: `in_cb` is set around the call, and a
 * free then only marks the checker dying; check_end() finishes the job
 * after the callback returns. Every other path frees at once (nothing of
 * ours is on the stack between events).
 */
#include "mesh/health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/units.h"
#include "http/http_parse.h"

/* One read: the head cap is the parser's (8 KiB), this is just the step. */
#define HEALTH_READ_STEP 2048
/* The request: start line, Host, two fixed fields, under this. */
#define HEALTH_REQ_MAX (HEALTH_PATH_MAX + HEALTH_HOST_MAX + 128)

enum check_phase { PH_IDLE, PH_CONNECTING, PH_SENDING, PH_READING };

struct health {
    struct event_base *base;
    struct health_params p;
    health_change_fn cb;
    void *arg;

    enum health_state state;
    struct health_counters cnt;
    enum health_result last_result;
    char last_reason[200];

    struct event *tick;     /* next check */
    struct event *deadline; /* this check's timeout */
    struct event *io;       /* this check's socket; NULL between checks */
    int fd;
    enum check_phase phase;
    bool started;
    bool in_cb;
    bool dying;
    int64_t check_start_ms;
    uint64_t rng;

    char req[HEALTH_REQ_MAX];
    size_t req_len, req_sent;
    bool got_bytes;
    struct log_ratelim bad_rl; /* bad responses: one warning a minute */
    struct http_parse parse;   /* last: large */
};

static const char *const state_names[] = {"unknown", "passing", "critical"};

static const char *const result_names[] = {
#define HEALTH_RESULT_NAME(id, name) name,
    HEALTH_RESULTS(HEALTH_RESULT_NAME)
#undef HEALTH_RESULT_NAME
};

const char *health_state_name(enum health_state s)
{
    return (unsigned)s < HEALTH_STATE_MAX ? state_names[s] : "?";
}

const char *health_result_name(enum health_result r)
{
    return (unsigned)r < HEALTH_RESULT_MAX ? result_names[r] : "?";
}

void health_params_init(struct health_params *p)
{
    memset(p, 0, sizeof *p);
    p->kind = HEALTH_TCP;
    snprintf(p->path, sizeof p->path, "/");
    p->interval_ms = 10000;
    p->timeout_ms = 2000;
    p->healthy_threshold = 2;
    p->unhealthy_threshold = 3;
    p->jitter_pct = 10;
}

/* Visible ASCII only: what goes into the request line or Host verbatim. */
static bool is_vchar_str(const char *s, bool allow_hash)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || (!allow_hash && c == '#'))
            return false;
    }
    return true;
}

int health_params_validate(const struct health_params *p, struct weft_err *e)
{
    if (p->kind != HEALTH_TCP && p->kind != HEALTH_HTTP)
        return err_set(e, "check: unknown kind %d", (int)p->kind);
    if (p->addr_len == 0 || p->addr_len > sizeof p->addr ||
        (p->addr.ss_family != AF_INET && p->addr.ss_family != AF_INET6))
        return err_set(e, "check: no address to check");
    if (p->interval_ms < 10)
        return err_set(e, "check: interval must be at least 10ms");
    if (p->timeout_ms < 1 || p->timeout_ms > p->interval_ms)
        return err_set(e, "check: timeout must be between 1ms and the interval");
    if (p->healthy_threshold < 1 || p->healthy_threshold > 100 || p->unhealthy_threshold < 1 ||
        p->unhealthy_threshold > 100)
        return err_set(e, "check: thresholds must be 1-100");
    if (p->jitter_pct > 50)
        return err_set(e, "check: jitter must be at most 50%%");
    if (p->kind == HEALTH_HTTP) {
        if (p->path[0] != '/' || !is_vchar_str(p->path, false))
            return err_set(e, "check: path must start with / and hold no spaces, "
                              "control bytes or #");
        if (!is_vchar_str(p->host, true))
            return err_set(e, "check: host must hold no spaces or control bytes");
    }
    return 0;
}

/* ---- small helpers ---- */

static uint64_t rng_next(struct health *h)
{
    /* xorshift64*: enough to spread timers, nothing secret rides on it. */
    h->rng ^= h->rng >> 12;
    h->rng ^= h->rng << 25;
    h->rng ^= h->rng >> 27;
    return h->rng * 2685821657736338717ULL;
}

static void addr_text(const struct health_params *p, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (p->addr.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&p->addr;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        snprintf(buf, cap, "[%s]:%u", ip, ntohs(a->sin6_port));
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&p->addr;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        snprintf(buf, cap, "%s:%u", ip, ntohs(a->sin_port));
    }
}

static void check_close(struct health *h)
{
    if (h->io) {
        event_free(h->io);
        h->io = NULL;
    }
    if (h->fd >= 0) {
        close(h->fd);
        h->fd = -1;
    }
    if (h->deadline)
        event_del(h->deadline);
    h->phase = PH_IDLE;
}

static void health_destroy(struct health *h)
{
    check_close(h);
    if (h->tick)
        event_free(h->tick);
    if (h->deadline)
        event_free(h->deadline);
    free(h);
}

/* ---- scheduling and results ---- */

static void schedule_next(struct health *h)
{
    int64_t delay = h->p.interval_ms;
    if (h->p.jitter_pct > 0) {
        int64_t span = h->p.interval_ms * (int64_t)h->p.jitter_pct / 100;
        if (span > 0)
            delay += (int64_t)(rng_next(h) % (uint64_t)(2 * span + 1)) - span;
    }
    /* From the start of the check just done, so a slow answer does not
     * stretch the period. */
    delay -= clock_mono_ms() - h->check_start_ms;
    if (delay < 0)
        delay = 0;
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)((delay % 1000) * 1000)};
    event_add(h->tick, &tv);
}

static void set_state(struct health *h, enum health_state to, const char *reason)
{
    enum health_state from = h->state;
    h->state = to;
    h->cnt.changes++;
    log_debug(LOG_AGENT, "health %s: %s -> %s: %s", h->p.name, health_state_name(from),
              health_state_name(to), reason);
    if (h->cb) {
        h->in_cb = true;
        h->cb(h->arg, h, from, to, reason);
        h->in_cb = false;
    }
}

static void check_end(struct health *h, enum health_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void check_end(struct health *h, enum health_result r, const char *fmt, ...)
{
    va_list ap;
    bool pass = r == HEALTH_RESULT_PASS;
    bool was_pass = h->cnt.checks > 0 && h->last_result == HEALTH_RESULT_PASS;

    check_close(h);
    va_start(ap, fmt);
    vsnprintf(h->last_reason, sizeof h->last_reason, fmt, ap);
    va_end(ap);
    h->cnt.consecutive = (h->cnt.checks > 0 && pass == was_pass) ? h->cnt.consecutive + 1 : 1;
    h->cnt.checks++;
    h->cnt.by_result[r]++;
    if (pass)
        h->cnt.passes++;
    else
        h->cnt.failures++;
    h->last_result = r;
    log_debug(LOG_AGENT, "health %s: check %s: %s", h->p.name, health_result_name(r),
              h->last_reason);

    if (pass && h->state != HEALTH_PASSING && h->cnt.consecutive >= h->p.healthy_threshold)
        set_state(h, HEALTH_PASSING, h->last_reason);
    else if (!pass && h->state != HEALTH_CRITICAL && h->cnt.consecutive >= h->p.unhealthy_threshold)
        set_state(h, HEALTH_CRITICAL, h->last_reason);
    if (h->dying) {
        health_destroy(h);
        return;
    }
    if (h->started)
        schedule_next(h);
}

/* ---- the check ---- */

static void on_io(evutil_socket_t fd, short what, void *arg);

static int io_wait(struct health *h, short what)
{
    if (h->io)
        event_free(h->io);
    h->io = event_new(h->base, h->fd, what, on_io, h);
    return h->io ? event_add(h->io, NULL) : -1;
}

static void http_begin(struct health *h)
{
    char host[HEALTH_HOST_MAX + 64];
    int n;
    struct http_parse_opts opts = {0}; /* body dropped; 8 KiB / 64 fields of head */

    if (h->p.host[0])
        snprintf(host, sizeof host, "%s", h->p.host);
    else
        addr_text(&h->p, host, sizeof host);
    n = snprintf(h->req, sizeof h->req,
                 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: weft-health\r\nAccept: */*\r\n"
                 "Connection: close\r\n\r\n",
                 h->p.path, host);
    h->req_len = n < 0 ? 0 : ((size_t)n < sizeof h->req ? (size_t)n : sizeof h->req - 1);
    h->req_sent = 0;
    h->got_bytes = false;
    http_parse_init(&h->parse, HTTP_PARSE_RESPONSE, &opts);
    h->phase = PH_SENDING;
    if (io_wait(h, EV_WRITE) != 0)
        check_end(h, HEALTH_RESULT_CONNECT, "event setup failed");
}

static void on_connected(struct health *h)
{
    if (h->p.kind == HEALTH_TCP) {
        check_end(h, HEALTH_RESULT_PASS, "connected");
        return;
    }
    http_begin(h);
}

static void connect_failed(struct health *h, int err)
{
    if (err == ECONNREFUSED)
        check_end(h, HEALTH_RESULT_REFUSED, "connect refused");
    else
        check_end(h, HEALTH_RESULT_CONNECT, "connect: %s", strerror(err));
}

/* The parser refused the answer: counted by check_end(), and a warning
 * at most once a minute per service (the service's output is input). */
static void response_refused(struct health *h)
{
    char where[80];
    addr_text(&h->p, where, sizeof where);
    log_ratelim(&h->bad_rl, LOG_LEVEL_WARN, LOG_AGENT, "health %s: bad response from %s: %s: %s",
                h->p.name, where, http_refusal_name(h->parse.reason), h->parse.errmsg);
    check_end(h, HEALTH_RESULT_BAD_RESPONSE, "bad response: %s: %s",
              http_refusal_name(h->parse.reason), h->parse.errmsg);
}

/* The answer so far: returns true when the check ended. */
static bool http_feed(struct health *h, const char *buf, size_t n)
{
    size_t off = 0;
    for (int guard = 0; guard < 64; guard++) {
        size_t used = 0;
        enum http_parse_status st = http_parse_feed(&h->parse, buf + off, n - off, &used);
        off += used;
        switch (st) {
        case HTTP_PARSE_HEAD: {
            unsigned status = h->parse.msg.status;
            if (status < 200)
                continue; /* 1xx: the real answer follows */
            if (status <= 399)
                check_end(h, HEALTH_RESULT_PASS, "HTTP %u", status);
            else
                check_end(h, HEALTH_RESULT_HTTP_STATUS, "HTTP %u", status);
            return true;
        }
        case HTTP_PARSE_DONE:
            http_parse_next(&h->parse); /* a 1xx ended */
            continue;
        case HTTP_PARSE_ERROR:
            response_refused(h);
            return true;
        case HTTP_PARSE_MORE:
            return false;
        }
    }
    check_end(h, HEALTH_RESULT_BAD_RESPONSE, "bad response: too many interim answers");
    return true;
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
    struct health *h = arg;
    (void)what;

    if (h->phase == PH_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err != 0) {
            connect_failed(h, err);
            return;
        }
        on_connected(h);
        return;
    }
    if (h->phase == PH_SENDING) {
        ssize_t w = send(fd, h->req + h->req_sent, h->req_len - h->req_sent, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            check_end(h, HEALTH_RESULT_CLOSED, "sending the request: %s", strerror(errno));
            return;
        }
        h->req_sent += (size_t)w;
        if (h->req_sent == h->req_len) {
            h->phase = PH_READING;
            if (io_wait(h, EV_READ | EV_PERSIST) != 0)
                check_end(h, HEALTH_RESULT_CONNECT, "event setup failed");
        }
        return;
    }
    if (h->phase == PH_READING) {
        char buf[HEALTH_READ_STEP];
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            check_end(h, h->got_bytes ? HEALTH_RESULT_BAD_RESPONSE : HEALTH_RESULT_CLOSED,
                      "reading the response: %s", strerror(errno));
            return;
        }
        if (r == 0) {
            if (!h->got_bytes) {
                check_end(h, HEALTH_RESULT_CLOSED, "connection closed without a response");
                return;
            }
            if (http_parse_finish(&h->parse) == HTTP_PARSE_ERROR)
                response_refused(h);
            else
                check_end(h, HEALTH_RESULT_BAD_RESPONSE,
                          "bad response: connection closed before the head ended");
            return;
        }
        h->got_bytes = true;
        http_feed(h, buf, (size_t)r);
    }
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct health *h = arg;
    char d[32];
    (void)fd;
    (void)what;
    units_format_duration(h->p.timeout_ms, d, sizeof d);
    check_end(h, HEALTH_RESULT_TIMEOUT, "timeout after %s", d);
}

static void check_begin(struct health *h)
{
    int fd, rc;

    h->check_start_ms = clock_mono_ms();
    fd = socket(h->p.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        check_end(h, HEALTH_RESULT_CONNECT, "socket: %s", strerror(errno));
        return;
    }
    h->fd = fd;
    h->phase = PH_CONNECTING;
    struct timeval tv = {(time_t)(h->p.timeout_ms / 1000),
                         (suseconds_t)((h->p.timeout_ms % 1000) * 1000)};
    event_add(h->deadline, &tv);
    rc = connect(fd, (const struct sockaddr *)&h->p.addr, h->p.addr_len);
    if (rc == 0) {
        on_connected(h);
        return;
    }
    if (errno != EINPROGRESS && errno != EINTR) {
        connect_failed(h, errno);
        return;
    }
    if (io_wait(h, EV_WRITE) != 0)
        check_end(h, HEALTH_RESULT_CONNECT, "event setup failed");
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    check_begin(arg);
}

/* ---- API ---- */

struct health *health_new(struct event_base *base, const struct health_params *params,
                          health_change_fn cb, void *arg, struct weft_err *e)
{
    struct health *h;
    if (health_params_validate(params, e) != 0)
        return NULL;
    h = calloc(1, sizeof *h);
    if (!h) {
        err_set(e, "out of memory");
        return NULL;
    }
    h->base = base;
    h->p = *params;
    h->cb = cb;
    h->arg = arg;
    h->fd = -1;
    h->state = HEALTH_UNKNOWN;
    h->bad_rl = (struct log_ratelim)LOG_RATELIM_INIT(60000, 1);
    h->tick = evtimer_new(base, on_tick, h);
    h->deadline = evtimer_new(base, on_deadline, h);
    if (!h->tick || !h->deadline) {
        health_destroy(h);
        err_set(e, "out of memory");
        return NULL;
    }
    h->rng =
        params->seed ? params->seed : ((uint64_t)clock_mono_us() ^ ((uint64_t)(uintptr_t)h << 17));
    if (h->rng == 0)
        h->rng = 0x9e3779b97f4a7c15ULL;
    return h;
}

int health_start(struct health *h, struct weft_err *e)
{
    if (h->started)
        return err_set(e, "health %s: already started", h->p.name);
    h->started = true;
    /* The first check now, from the loop: the callback never runs inside
     * health_start(). */
    event_active(h->tick, EV_TIMEOUT, 0);
    return 0;
}

void health_stop(struct health *h)
{
    if (!h)
        return;
    h->started = false;
    event_del(h->tick);
    check_close(h);
}

void health_free(struct health *h)
{
    if (!h)
        return;
    if (h->in_cb) {
        /* check_end() frees it when the callback returns. */
        h->dying = true;
        h->started = false;
        event_del(h->tick);
        return;
    }
    health_destroy(h);
}

enum health_state health_state(const struct health *h)
{
    return h->state;
}

const struct health_counters *health_counters(const struct health *h)
{
    return &h->cnt;
}

const char *health_last_reason(const struct health *h)
{
    return h->last_reason;
}

const struct health_params *health_params(const struct health *h)
{
    return &h->p;
}
