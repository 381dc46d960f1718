/*
 * ctl_client: one control RPC call over mTLS (see ctl_client.h).
 *
 * States: CONNECT -> HANDSHAKE -> WAIT (request sent) -> done. One timer,
 * re-armed per phase. Allocation: the call owns its bufferevent, session,
 * timer and buffers, and frees them all in call_finish().
 */
#include "ctl/ctl_client.h"

#include "core/addr.h"
#include "core/jsonv.h"
#include "core/loop.h"
#include "core/sbuf.h"
#include "ctl/ctl_frame.h"
#include "tls/tls_conf.h"
#include "tls/tls_sess.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum call_phase { PH_CONNECT, PH_HANDSHAKE, PH_WAIT };

struct ctl_client_call {
    struct event_base *base;
    struct tls_conf *conf;
    struct bufferevent *bev;
    struct tls_sess *sess;
    struct event *timer;
    enum call_phase phase;
    struct sbuf req; /* the request frame */
    struct sbuf in;  /* plaintext of the reply */
    char addr[80];
    size_t frame_max;
    int64_t handshake_ms, request_ms;
    ctl_client_done_fn fn;
    void *ud;
};

static void call_free(struct ctl_client_call *c)
{
    if (c->timer)
        event_free(c->timer);
    tls_sess_free(c->sess);
    if (c->bev)
        bufferevent_free(c->bev);
    sbuf_deinit(&c->req);
    sbuf_deinit(&c->in);
    free(c);
}

void ctl_client_cancel(struct ctl_client_call *c)
{
    if (c)
        call_free(c);
}

/* Free the call, then report. */
static void call_finish(struct ctl_client_call *c, bool ok, const struct jsonv *body,
                        const char *err)
{
    ctl_client_done_fn fn = c->fn;
    void *ud = c->ud;
    if (c->sess && tls_sess_state(c->sess) == TLS_SESS_OPEN)
        tls_sess_shutdown(c->sess);
    /* Free first: the callback may free the conf or start another call. body
     * and err live in the caller's frame, not in c. */
    call_free(c);
    fn(ud, ok, body, err);
}

/* Fail the call with "control ADDR: <message>". */
__attribute__((format(printf, 2, 3))) static void call_failf(struct ctl_client_call *c,
                                                             const char *fmt, ...)
{
    struct weft_err e = {{0}};
    va_list ap;
    va_start(ap, fmt);
    err_setv(&e, fmt, ap);
    va_end(ap);
    err_prefix(&e, "control %s", c->addr);
    call_finish(c, false, NULL, e.msg);
}

/* A whole reply in c->in? Returns true when the call is finished (and freed). */
static bool call_reply(struct ctl_client_call *c)
{
    struct ctl_msg m;
    size_t used;
    enum ctl_reason why;
    struct weft_err e = {{0}};
    enum ctl_dec d =
        ctl_frame_decode((const uint8_t *)c->in.data, c->in.len, c->frame_max, &m, &used, &why, &e);
    if (d == CTL_DEC_MORE)
        return false;
    if (d == CTL_DEC_ERR) {
        call_failf(c, "bad reply: %s", e.msg);
        return true;
    }
    if (m.kind != CTL_KIND_REPLY) {
        ctl_msg_free(&m);
        call_failf(c, "bad reply: %s", "a request instead of a reply");
        return true;
    }
    if (m.ok) {
        call_finish(c, true, m.body, NULL);
    } else {
        char msg[WEFT_ERR_MAX];
        snprintf(msg, sizeof(msg), "%s", m.error);
        ctl_msg_free(&m);
        call_finish(c, false, NULL, msg);
        return true;
    }
    ctl_msg_free(&m);
    return true;
}

static void call_drive(struct ctl_client_call *c)
{
    enum tls_io io;
    if (c->phase == PH_HANDSHAKE) {
        io = tls_sess_handshake(c->sess);
        if (io == TLS_IO_WANT_READ || io == TLS_IO_WANT_WRITE)
            return;
        if (io != TLS_IO_OK) {
            const char *m = tls_sess_fail_msg(c->sess);
            call_failf(c, "TLS handshake refused: %s",
                       m && *m ? m : tls_fail_name(tls_sess_fail(c->sess)));
            return;
        }
        size_t n = 0;
        if (tls_sess_write(c->sess, c->req.data, c->req.len, &n) != TLS_IO_OK) {
            call_failf(c, "%s", "cannot send the request");
            return;
        }
        c->phase = PH_WAIT;
        loop_timer_add(c->timer, c->request_ms);
    }
    char buf[16384];
    for (;;) {
        size_t n = 0;
        io = tls_sess_read(c->sess, buf, sizeof(buf), &n);
        if (io == TLS_IO_OK && n > 0) {
            sbuf_append(&c->in, buf, n);
            if (c->in.oom) {
                call_failf(c, "%s", "out of memory");
                return;
            }
            if (call_reply(c))
                return;
            continue;
        }
        if (io == TLS_IO_WANT_READ || io == TLS_IO_WANT_WRITE)
            return;
        call_failf(c, "%s",
                   c->in.len ? "the server closed in the middle of the reply"
                             : "the server closed the connection without a reply");
        return;
    }
}

static void call_read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    call_drive(arg);
}

static void call_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct ctl_client_call *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        c->phase = PH_HANDSHAKE;
        loop_timer_add(c->timer, c->handshake_ms);
        call_drive(c); /* the ClientHello */
        return;
    }
    if (c->phase == PH_CONNECT) {
        call_failf(c, "cannot connect: %s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return;
    }
    if (what & BEV_EVENT_EOF) {
        tls_sess_set_eof(c->sess);
        call_drive(c);
        return;
    }
    call_failf(c, "%s", "connection error");
}

static void call_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctl_client_call *c = arg;
    static const char *const what_s[] = {"connect", "TLS handshake", "reply"};
    call_failf(c, "timed out waiting for the %s", what_s[c->phase]);
}

struct ctl_client_call *ctl_client_call(struct event_base *base, struct tls_conf *conf,
                                        const char *addr, const char *method, const char *body_json,
                                        const struct ctl_client_opts *o, ctl_client_done_fn fn,
                                        void *ud, struct weft_err *e)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    static const struct ctl_client_opts dflt = {0};
    if (!o)
        o = &dflt;
    if (addr_parse(addr, &ss, &sl, e) != 0) {
        err_prefix(e, "control address");
        return NULL;
    }
    struct ctl_client_call *c = calloc(1, sizeof(*c));
    if (!c) {
        err_set(e, "out of memory");
        return NULL;
    }
    c->base = base;
    c->conf = conf;
    c->fn = fn;
    c->ud = ud;
    c->frame_max = o->frame_max ? o->frame_max : CTL_FRAME_MAX_DEFAULT;
    c->handshake_ms = o->handshake_ms > 0 ? o->handshake_ms : 10000;
    c->request_ms = o->request_ms > 0 ? o->request_ms : 30000;
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    sbuf_init(&c->req);
    sbuf_init(&c->in);
    if (ctl_frame_request(&c->req, 1, method, body_json, c->frame_max, e) != 0) {
        call_free(c);
        return NULL;
    }
    c->timer = event_new(base, -1, 0, call_timer_cb, c);
    c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!c->timer || !c->bev) {
        err_set(e, "out of memory");
        call_free(c);
        return NULL;
    }
    c->sess =
        tls_sess_new(conf, bufferevent_get_input(c->bev), bufferevent_get_output(c->bev), addr, e);
    if (!c->sess) {
        call_free(c);
        return NULL;
    }
    bufferevent_setcb(c->bev, call_read_cb, NULL, call_event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (loop_timer_add(c->timer, o->connect_ms > 0 ? o->connect_ms : 5000) != 0 ||
        bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, (int)sl) != 0) {
        err_set(e, "control %s: cannot connect", addr);
        call_free(c);
        return NULL;
    }
    return c;
}
