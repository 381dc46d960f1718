/*
 * ctl_server: the control RPC listener (see ctl_server.h).
 *
 * Each connection is a small state machine driven from its bufferevent
 * callbacks (conn_drive): TLS handshake -> read frames, answer each ->
 * close once the output is flushed. A per-connection timer bounds the
 * handshake and each request. Allocation: the server owns its connections
 * (a list), each connection its bufferevent, session, plaintext buffer and
 * timer; TLS confs are reference-counted by the connections that use them.
 */
#include "ctl/ctl_server.h"

#include "core/accept_guard.h"
#include "core/addr.h"
#include "core/log.h"
#include "core/loop.h"
#include "tls/tls_conf.h"
#include "tls/tls_sess.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CTL_METHODS_MAX 16

struct ctl_confref {
    struct tls_conf *conf; /* owned */
    unsigned refs;         /* connections using it, +1 while current */
    struct ctl_confref *next;
};

struct ctl_conn {
    struct ctl_server *srv;
    struct bufferevent *bev;
    struct tls_sess *sess;
    struct ctl_confref *cref;
    struct event *timer;
    struct sbuf in; /* plaintext received, not yet a whole frame */
    uint64_t served;
    bool open;
    bool closing;
    char peer[64]; /* remote address, for logs */
    struct ctl_conn *prev, *next;
};

struct ctl_method {
    char name[CTL_METHOD_MAX + 1];
    ctl_method_fn fn;
    void *ud;
    bool anonymous; /* callable without a client certificate */
};

struct ctl_server {
    struct event_base *base;
    struct evconnlistener *listener;
    struct accept_guard *guard;
    struct ctl_confref *cur;   /* the conf for new handshakes */
    struct ctl_confref *confs; /* every conf still referenced */
    struct ctl_conn *conns;
    unsigned nconns;
    unsigned max_conns;
    int64_t handshake_ms, idle_ms;
    size_t frame_max;
    unsigned port;
    struct ctl_method methods[CTL_METHODS_MAX];
    size_t nmethods;
    struct ctl_stats stats;
    struct log_ratelim rl;
};

static void cref_put(struct ctl_server *s, struct ctl_confref *c)
{
    if (!c || --c->refs > 0)
        return;
    for (struct ctl_confref **pp = &s->confs; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    tls_conf_free(c->conf);
    free(c);
}

static struct ctl_confref *cref_new(struct ctl_server *s, struct tls_conf *conf)
{
    struct ctl_confref *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->conf = conf;
    c->refs = 1;
    c->next = s->confs;
    s->confs = c;
    return c;
}

static void refuse(struct ctl_server *s, const char *peer, enum ctl_reason r, const char *msg)
{
    s->stats.refused[r]++;
    log_ratelim(&s->rl, LOG_LEVEL_WARN, LOG_TLS, "control %s: refused (%s): %s", peer,
                ctl_reason_name(r), msg);
}

static void conn_free(struct ctl_conn *c)
{
    struct ctl_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    if (c->timer)
        event_free(c->timer);
    tls_sess_free(c->sess);
    if (c->bev)
        bufferevent_free(c->bev);
    sbuf_deinit(&c->in);
    cref_put(s, c->cref);
    free(c);
}

/* Close once what is queued (a reply, an alert, close_notify) has gone out. */
static void conn_close_later(struct ctl_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->timer)
        event_del(c->timer);
    bufferevent_disable(c->bev, EV_READ);
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

static void conn_send(struct ctl_conn *c, const struct sbuf *frame)
{
    size_t n = 0;
    if (frame->len && tls_sess_write(c->sess, frame->data, frame->len, &n) != TLS_IO_OK)
        conn_close_later(c);
}

/* Refuse the connection's input: an error reply (the peer learns why), close. */
static void conn_fail(struct ctl_conn *c, uint64_t id, enum ctl_reason r, const char *msg)
{
    struct sbuf f;
    refuse(c->srv, c->peer, r, msg);
    sbuf_init(&f);
    if (ctl_frame_reply_err(&f, id, msg, NULL) == 0)
        conn_send(c, &f);
    sbuf_deinit(&f);
    tls_sess_shutdown(c->sess);
    conn_close_later(c);
}

static const struct ctl_method *find_method(const struct ctl_server *s, const char *name)
{
    for (size_t i = 0; i < s->nmethods; i++)
        if (strcmp(s->methods[i].name, name) == 0)
            return &s->methods[i];
    return NULL;
}

/* Answer one decoded request. */
static void conn_call(struct ctl_conn *c, const struct ctl_msg *m)
{
    struct ctl_server *s = c->srv;
    struct weft_err e = {{0}};
    struct sbuf body, f;
    sbuf_init(&body);
    sbuf_init(&f);
    const struct ctl_method *meth = find_method(s, m->method);
    const char *peer_id = tls_sess_peer_id(c->sess);
    if (!meth) {
        err_set(&e, "unknown control method '%s'", m->method);
        refuse(s, c->peer, CTL_R_UNKNOWN_METHOD, e.msg);
        ctl_frame_reply_err(&f, m->id, e.msg, NULL);
    } else if (!peer_id[0] && !meth->anonymous) {
        err_set(&e, "control method '%s' needs a node certificate", m->method);
        refuse(s, c->peer, CTL_R_UNAUTHENTICATED, e.msg);
        ctl_frame_reply_err(&f, m->id, e.msg, NULL);
    } else {
        struct ctl_call call = {peer_id, m->method, m->body};
        if (meth->fn(meth->ud, &call, &body, &e) != 0) {
            if (!err_is_set(&e))
                err_set(&e, "%s failed", m->method);
            refuse(s, c->peer, CTL_R_DENIED, e.msg);
            ctl_frame_reply_err(&f, m->id, e.msg, NULL);
        } else if (ctl_frame_reply_ok(&f, m->id, body.len ? sbuf_str(&body) : NULL, s->frame_max,
                                      &e) != 0) {
            sbuf_reset(&f);
            refuse(s, c->peer, CTL_R_DENIED, e.msg);
            ctl_frame_reply_err(&f, m->id, e.msg, NULL);
        } else {
            s->stats.requests++;
        }
    }
    c->served++;
    conn_send(c, &f);
    sbuf_deinit(&body);
    sbuf_deinit(&f);
}

/* Decode and answer every whole frame in c->in. */
static void conn_frames(struct ctl_conn *c)
{
    while (!c->closing && c->in.len > 0) {
        struct ctl_msg m;
        size_t used;
        enum ctl_reason why;
        struct weft_err e = {{0}};
        enum ctl_dec d = ctl_frame_decode((const uint8_t *)c->in.data, c->in.len, c->srv->frame_max,
                                          &m, &used, &why, &e);
        if (d == CTL_DEC_MORE)
            return;
        if (d == CTL_DEC_OK && m.kind != CTL_KIND_REQUEST) {
            ctl_msg_free(&m);
            d = CTL_DEC_ERR;
            why = CTL_R_BAD_KIND;
            err_set(&e, "control frame: a reply sent to the server");
        }
        if (d == CTL_DEC_ERR) {
            conn_fail(c, 0, why, e.msg);
            return;
        }
        conn_call(c, &m);
        ctl_msg_free(&m);
        memmove(c->in.data, c->in.data + used, c->in.len - used);
        c->in.len -= used;
        c->in.data[c->in.len] = '\0';
        if (c->in.len == 0 && c->timer)
            loop_timer_add(c->timer, c->srv->idle_ms); /* the next request's deadline */
    }
}

static void conn_drive(struct ctl_conn *c)
{
    if (c->closing)
        return;
    enum tls_io io = tls_sess_handshake(c->sess);
    if (io == TLS_IO_WANT_READ || io == TLS_IO_WANT_WRITE)
        return;
    if (io != TLS_IO_OK) {
        refuse(c->srv, c->peer, CTL_R_HANDSHAKE, tls_fail_name(tls_sess_fail(c->sess)));
        conn_close_later(c);
        return;
    }
    if (!c->open) {
        c->open = true;
        c->srv->stats.accepted++;
        loop_timer_add(c->timer, c->srv->idle_ms);
        log_debug(LOG_TLS, "control %s: %s connected (%s)", c->peer, tls_sess_peer_id(c->sess),
                  tls_sess_version(c->sess));
    }
    char buf[16384];
    for (;;) {
        size_t n = 0;
        io = tls_sess_read(c->sess, buf, sizeof(buf), &n);
        if (io == TLS_IO_OK && n > 0) {
            sbuf_append(&c->in, buf, n);
            if (c->in.oom) {
                conn_close_later(c);
                return;
            }
            conn_frames(c);
            if (c->closing)
                return;
            continue;
        }
        if (io == TLS_IO_WANT_READ || io == TLS_IO_WANT_WRITE)
            return;
        if (c->in.len > 0)
            refuse(c->srv, c->peer, CTL_R_TRUNCATED, "the peer closed in the middle of a frame");
        if (io == TLS_IO_CLOSED)
            tls_sess_shutdown(c->sess);
        conn_close_later(c);
        return;
    }
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_drive(arg);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    struct ctl_conn *c = arg;
    if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        conn_free(c);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct ctl_conn *c = arg;
    if (c->closing) {
        conn_free(c);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        tls_sess_set_eof(c->sess);
        conn_drive(c);
        if (c->closing)
            return;
        if (!c->open)
            refuse(c->srv, c->peer, CTL_R_HANDSHAKE, "closed during the handshake");
        else if (c->in.len > 0)
            refuse(c->srv, c->peer, CTL_R_TRUNCATED, "the peer closed in the middle of a frame");
    }
    conn_free(c);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctl_conn *c = arg;
    if (!c->open)
        refuse(c->srv, c->peer, CTL_R_HANDSHAKE_TIMEOUT, "no complete TLS handshake in time");
    else if (c->in.len > 0 || c->served == 0)
        refuse(c->srv, c->peer, CTL_R_IDLE_TIMEOUT, "no complete request in time");
    conn_free(c);
}

static void peer_name(const struct sockaddr *sa, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        port = ntohs(a->sin_port);
        snprintf(out, cap, "%s:%u", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        port = ntohs(a->sin6_port);
        snprintf(out, cap, "[%s]:%u", host, port);
    } else {
        snprintf(out, cap, "?");
    }
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    (void)l;
    (void)len;
    struct ctl_server *s = arg;
    struct weft_err e = {{0}};
    char peer[64];
    peer_name(sa, peer, sizeof(peer));
    if (s->nconns >= s->max_conns) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%u connections open, the limit", s->nconns);
        refuse(s, peer, CTL_R_TOO_MANY_CONNS, msg);
        evutil_closesocket(fd);
        return;
    }
    struct ctl_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->srv = s;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    sbuf_init(&c->in);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    c->cref = s->cur;
    c->cref->refs++;
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev)
        evutil_closesocket(fd);
    c->timer = event_new(s->base, -1, 0, conn_timer_cb, c);
    c->sess = c->bev ? tls_sess_new(c->cref->conf, bufferevent_get_input(c->bev),
                                    bufferevent_get_output(c->bev), NULL, &e)
                     : NULL;
    if (!c->sess || !c->timer || loop_timer_add(c->timer, s->handshake_ms) != 0) {
        log_error(LOG_TLS, "control %s: cannot set up the connection: %s", peer,
                  err_is_set(&e) ? e.msg : "out of memory");
        conn_free(c);
        return;
    }
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

struct ctl_server *ctl_server_new(struct event_base *base, const struct ctl_server_opts *o,
                                  struct tls_conf *conf, struct weft_err *e)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (addr_parse(o->listen, &ss, &sl, e) != 0) {
        tls_conf_free(conf);
        err_prefix(e, "control listen");
        return NULL;
    }
    struct ctl_server *s = calloc(1, sizeof(*s));
    if (!s) {
        tls_conf_free(conf);
        err_set(e, "out of memory");
        return NULL;
    }
    s->base = base;
    s->max_conns = o->max_conns ? o->max_conns : 64;
    s->handshake_ms = o->handshake_ms > 0 ? o->handshake_ms : 10000;
    s->idle_ms = o->idle_ms > 0 ? o->idle_ms : 30000;
    s->frame_max = o->frame_max ? o->frame_max : CTL_FRAME_MAX_DEFAULT;
    s->rl = (struct log_ratelim)LOG_RATELIM_INIT(10000, 5);
    if (!(s->cur = cref_new(s, conf))) {
        tls_conf_free(conf);
        free(s);
        err_set(e, "out of memory");
        return NULL;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 64) != 0) {
        err_set(e, "control listen %s: %s", o->listen, strerror(errno));
        if (fd >= 0)
            close(fd);
        ctl_server_free(s);
        return NULL;
    }
    struct sockaddr_storage bound;
    socklen_t bl = sizeof(bound);
    if (getsockname(fd, (struct sockaddr *)&bound, &bl) == 0)
        s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    s->listener = evconnlistener_new(base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE, -1, fd);
    if (!s->listener) {
        close(fd);
        err_set(e, "control listen %s: cannot watch the socket", o->listen);
        ctl_server_free(s);
        return NULL;
    }
    char name[300];
    snprintf(name, sizeof(name), "control listen %s", o->listen);
    if (!(s->guard = accept_guard_new(s->listener, LOG_TLS, name))) {
        err_set(e, "%s: out of memory", name);
        ctl_server_free(s);
        return NULL;
    }
    return s;
}

void ctl_server_free(struct ctl_server *s)
{
    if (!s)
        return;
    accept_guard_free(s->guard);
    if (s->listener)
        evconnlistener_free(s->listener);
    while (s->conns)
        conn_free(s->conns);
    cref_put(s, s->cur);
    free(s);
}

static int server_method(struct ctl_server *s, const char *name, ctl_method_fn fn, void *ud,
                         bool anonymous)
{
    if (s->nmethods >= CTL_METHODS_MAX || !ctl_method_valid(name))
        return -1;
    struct ctl_method *m = &s->methods[s->nmethods++];
    snprintf(m->name, sizeof(m->name), "%s", name);
    m->fn = fn;
    m->ud = ud;
    m->anonymous = anonymous;
    return 0;
}

int ctl_server_method(struct ctl_server *s, const char *name, ctl_method_fn fn, void *ud)
{
    return server_method(s, name, fn, ud, false);
}

int ctl_server_method_anonymous(struct ctl_server *s, const char *name, ctl_method_fn fn, void *ud)
{
    return server_method(s, name, fn, ud, true);
}

void ctl_server_set_conf(struct ctl_server *s, struct tls_conf *conf)
{
    struct ctl_confref *c = cref_new(s, conf);
    if (!c) {
        log_error(LOG_TLS, "control: out of memory: keeping the previous TLS configuration");
        tls_conf_free(conf);
        return;
    }
    struct ctl_confref *old = s->cur;
    if (old)
        tls_conf_carry_stats(conf, old->conf);
    s->cur = c;
    cref_put(s, old);
}

unsigned ctl_server_port(const struct ctl_server *s)
{
    return s->port;
}

const struct ctl_stats *ctl_server_stats(const struct ctl_server *s)
{
    return &s->stats;
}

const struct tls_conf *ctl_server_conf(const struct ctl_server *s)
{
    return s->cur->conf;
}

unsigned ctl_server_conns(const struct ctl_server *s)
{
    return s->nconns;
}
