/*
 * dial: connect and handshake with one deadline (see dial.h).
 *
 * The connect is a non-blocking connect() whose completion shows as
 * writability (SO_ERROR says how it went); the handshake then runs from
 * read/write events through px_stream_handshake(). `done` always runs from
 * an event callback, never from px_dial_connect/accept themselves, so the
 * caller's state is consistent when it runs.
 */
#include "proxy/dial.h"

#include "proxy/stream.h"
#include "tls/tls_sess.h"

#include <event2/event.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum dial_state { DIAL_CONNECTING, DIAL_HANDSHAKE };

struct px_dial {
    struct event_base *base;
    enum dial_state state;
    int fd;        /* while connecting; then the stream's */
    int early_err; /* connect() failed at once: reported from the loop */
    struct px_stream *s;
    struct px_tlsref *tls;
    char peer_key[192];
    char sni[256];
    char expect_id[512];
    struct event *ev;    /* the fd's readiness, re-armed as wanted */
    struct event *timer; /* the deadline */
    px_dial_fn done;
    void *arg;
};

static const char *const fail_names[PX_DIAL_MAX] = {
    [PX_DIAL_OK] = "ok",   [PX_DIAL_CONNECT] = "connect", [PX_DIAL_TIMEOUT] = "timeout",
    [PX_DIAL_TLS] = "tls", [PX_DIAL_LOCAL] = "local",
};

const char *px_dial_fail_name(enum px_dial_fail f)
{
    return f < PX_DIAL_MAX ? fail_names[f] : "?";
}

static void dial_free(struct px_dial *d, bool reset)
{
    if (d->ev)
        event_free(d->ev);
    if (d->timer)
        event_free(d->timer);
    if (d->s) {
        if (reset)
            px_stream_abort(d->s);
        else
            px_stream_free(d->s);
    } else if (d->fd >= 0) {
        close(d->fd);
    }
    px_tlsref_put(d->tls);
    free(d);
}

void px_dial_cancel(struct px_dial *d)
{
    if (d)
        dial_free(d, true);
}

static void dial_finish(struct px_dial *d, enum px_dial_fail why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void dial_finish(struct px_dial *d, enum px_dial_fail why, const char *fmt, ...)
{
    struct px_dial_result res = {.fail = why, .tls_fail = TLS_FAIL_NONE, .msg = ""};
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(res.msg, sizeof(res.msg), fmt, ap);
        va_end(ap);
    }
    struct px_stream *s = NULL;
    if (why == PX_DIAL_OK) {
        s = d->s;
        d->s = NULL;
    } else if (why == PX_DIAL_TLS && d->s && d->s->tls) {
        res.tls_fail = tls_sess_fail(d->s->tls);
        snprintf(res.msg, sizeof(res.msg), "%s", tls_sess_fail_msg(d->s->tls));
    }
    px_dial_fn done = d->done;
    void *arg = d->arg;
    dial_free(d, why != PX_DIAL_OK);
    done(arg, s, &res);
}

static void on_event(evutil_socket_t fd, short what, void *arg);

static void dial_wait(struct px_dial *d, short what)
{
    event_del(d->ev);
    event_assign(d->ev, d->base, d->s ? d->s->fd : d->fd, what, on_event, d);
    event_add(d->ev, NULL);
}

static void dial_handshake(struct px_dial *d)
{
    enum px_io io = px_stream_handshake(d->s);
    if (io == PX_IO_OK) {
        dial_finish(d, PX_DIAL_OK, NULL);
        return;
    }
    if (io == PX_IO_ERROR) {
        if (d->s->tls && tls_sess_fail(d->s->tls) != TLS_FAIL_NONE)
            dial_finish(d, PX_DIAL_TLS, NULL);
        else
            dial_finish(d, PX_DIAL_CONNECT, "handshake: %s",
                        d->s->err ? strerror(d->s->err) : "connection closed");
        return;
    }
    dial_wait(d, px_stream_pending(d->s) ? EV_READ | EV_WRITE : EV_READ);
}

/* The socket is connected: make the stream, start its handshake. */
static void dial_connected(struct px_dial *d)
{
    struct weft_err e = {0};
    int fd = d->fd;
    d->fd = -1;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    d->s = px_stream_new(fd, d->tls, d->peer_key[0] ? d->peer_key : NULL, &e);
    if (!d->s) {
        dial_finish(d, PX_DIAL_LOCAL, "%s", e.msg);
        return;
    }
    if (d->s->tls && ((d->sni[0] && tls_sess_set_sni(d->s->tls, d->sni, &e) != 0) ||
                      (d->expect_id[0] && tls_sess_expect_id(d->s->tls, d->expect_id, &e) != 0))) {
        dial_finish(d, PX_DIAL_LOCAL, "%s", e.msg);
        return;
    }
    d->state = DIAL_HANDSHAKE;
    dial_handshake(d);
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct px_dial *d = arg;
    if (d->state == DIAL_CONNECTING) {
        int err = d->early_err;
        socklen_t len = sizeof(err);
        if (!err && getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err == EINPROGRESS || err == EALREADY) {
            dial_wait(d, EV_WRITE);
            return;
        }
        if (err != 0) {
            dial_finish(d, PX_DIAL_CONNECT, "connect: %s", strerror(err));
            return;
        }
        dial_connected(d);
        return;
    }
    dial_handshake(d);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct px_dial *d = arg;
    dial_finish(d, PX_DIAL_TIMEOUT, "%s timed out",
                d->state == DIAL_CONNECTING ? "connect" : "handshake");
}

static struct px_dial *dial_new(struct event_base *base, int64_t timeout_ms, px_dial_fn done,
                                void *arg, struct weft_err *e)
{
    struct px_dial *d = calloc(1, sizeof(*d));
    if (!d) {
        err_set(e, "out of memory");
        return NULL;
    }
    d->base = base;
    d->fd = -1;
    d->done = done;
    d->arg = arg;
    d->ev = event_new(base, -1, 0, on_event, d);
    d->timer = evtimer_new(base, on_timeout, d);
    if (!d->ev || !d->timer) {
        dial_free(d, true);
        err_set(e, "out of memory");
        return NULL;
    }
    struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000};
    event_add(d->timer, &tv);
    return d;
}

struct px_dial *px_dial_connect(struct event_base *base, const struct px_dial_req *req,
                                px_dial_fn done, void *arg, struct weft_err *e)
{
    struct px_dial *d = dial_new(base, req->timeout_ms, done, arg, e);
    if (!d)
        return NULL;
    d->tls = px_tlsref_get(req->tls);
    snprintf(d->peer_key, sizeof(d->peer_key), "%s", req->peer_key ? req->peer_key : "");
    snprintf(d->sni, sizeof(d->sni), "%s", req->sni ? req->sni : "");
    snprintf(d->expect_id, sizeof(d->expect_id), "%s", req->expect_id ? req->expect_id : "");
    d->fd = socket(req->addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (d->fd < 0) {
        int err = errno;
        err_set(e, "socket: %s", strerror(err));
        dial_free(d, true);
        errno = err;
        return NULL;
    }
    d->state = DIAL_CONNECTING;
    /* Connected or not, the outcome is reported from the loop: a write
     * event fires at once on a connected socket, and SO_ERROR tells. */
    if (connect(d->fd, req->addr, req->addrlen) != 0 && errno != EINPROGRESS) {
        /* Refused at once (loopback with nothing listening): reported from
         * the loop like any other connect failure. */
        d->early_err = errno;
        event_assign(d->ev, d->base, d->fd, EV_WRITE, on_event, d);
        event_active(d->ev, EV_WRITE, 0);
        return d;
    }
    dial_wait(d, EV_WRITE);
    return d;
}

struct px_dial *px_dial_accept(struct event_base *base, int fd, struct px_tlsref *tls,
                               int64_t timeout_ms, px_dial_fn done, void *arg, struct weft_err *e)
{
    struct px_dial *d = dial_new(base, timeout_ms, done, arg, e);
    if (!d) {
        close(fd);
        return NULL;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    d->tls = px_tlsref_get(tls);
    if (!(d->s = px_stream_new(fd, tls, NULL, e))) {
        dial_free(d, true);
        return NULL;
    }
    d->state = DIAL_HANDSHAKE;
    /* The client speaks first: wait for its hello. */
    dial_wait(d, EV_READ);
    return d;
}
