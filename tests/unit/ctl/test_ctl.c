/*
 * test_ctl: the control RPC (src/ctl/).
 *
 * Frames: round trips, every truncation point (MORE, never a crash), and
 * each refusal with its reason and message (bad magic, unknown version,
 * unknown kind, a too-large length refused from the header alone, bad
 * JSON, wrong shapes).
 *
 * Server and client on loopback inside one event loop, with node
 * certificates from a fresh CA (pki/): a call reaches the method with the
 * caller's SPIFFE ID; unknown methods and handler refusals come back as
 * error replies and are counted; a raw TLS client sending garbage, a
 * version-2 frame, an oversized length, half a frame then EOF is answered
 * or dropped and counted, never a crash; the connection limit, the
 * handshake and idle timeouts; a client call to a closed port fails.
 * Every wait is bounded by a guard timer that fails the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/jsonv.h"
#include "core/loop.h"
#include "ctl/ctl_client.h"
#include "ctl/ctl_frame.h"
#include "ctl/ctl_server.h"
#include "pki/ca.h"
#include "pki/issue.h"
#include "tls/tls.h"
#include "tls/tls_conf.h"
#include "tls/tls_sess.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <mbedtls/md.h>
#include <mbedtls/x509_crt.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct {
    char dir[256];
    char ca[4096];
    char srv_crt[4096], srv_key[4096];
    char cli_crt[4096], cli_key[4096];
} g;

/* ---- frames ---- */

static void decode_ok(const struct sbuf *f, struct ctl_msg *m)
{
    size_t used;
    enum ctl_reason why;
    struct weft_err e = {{0}};
    enum ctl_dec d = ctl_frame_decode((const uint8_t *)f->data, f->len, CTL_FRAME_MAX_DEFAULT, m,
                                      &used, &why, &e);
    if (d != CTL_DEC_OK)
        fail_msg("decode: %s", e.msg);
    assert_int_equal(used, f->len);
}

static void test_frame_roundtrip(void **state)
{
    (void)state;
    struct sbuf f;
    struct ctl_msg m;
    struct weft_err e = {{0}};
    sbuf_init(&f);
    assert_int_equal(ctl_frame_request(&f, 7, "renew", "{\"a\":1}", CTL_FRAME_MAX_DEFAULT, &e), 0);
    assert_memory_equal(f.data, "WC\x01Q", 4);
    assert_int_equal(((uint8_t)f.data[6] << 8) | (uint8_t)f.data[7], f.len - CTL_HDR_LEN);
    decode_ok(&f, &m);
    assert_int_equal(m.kind, CTL_KIND_REQUEST);
    assert_int_equal(m.id, 7);
    assert_string_equal(m.method, "renew");
    assert_int_equal(jsonv_int(jsonv_get(m.body, "a"), 0), 1);
    ctl_msg_free(&m);

    /* Every truncation of a valid frame asks for more, never more. */
    for (size_t n = 0; n < f.len; n++) {
        size_t used = 99;
        enum ctl_reason why;
        assert_int_equal(ctl_frame_decode((const uint8_t *)f.data, n, CTL_FRAME_MAX_DEFAULT, &m,
                                          &used, &why, &e),
                         CTL_DEC_MORE);
        assert_int_equal(used, 0);
    }

    sbuf_reset(&f);
    assert_int_equal(ctl_frame_reply_ok(&f, 9, NULL, CTL_FRAME_MAX_DEFAULT, &e), 0);
    decode_ok(&f, &m);
    assert_int_equal(m.kind, CTL_KIND_REPLY);
    assert_true(m.ok);
    assert_int_equal(m.id, 9);
    ctl_msg_free(&m);

    sbuf_reset(&f);
    assert_int_equal(ctl_frame_reply_err(&f, 3, "no \"quotes\"\nnewline", &e), 0);
    decode_ok(&f, &m);
    assert_false(m.ok);
    assert_string_equal(m.error, "no \"quotes\"\nnewline");
    ctl_msg_free(&m);

    /* Encoders refuse what the decoder would. */
    sbuf_reset(&f);
    assert_int_equal(ctl_frame_request(&f, 1, "Bad/Name", NULL, CTL_FRAME_MAX_DEFAULT, &e), -1);
    assert_int_equal(
        ctl_frame_request(&f, 1, "x", "{\"big\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", 16, &e), -1);
    assert_non_null(strstr(e.msg, "too large"));
    sbuf_deinit(&f);
}

static void refused(const void *buf, size_t len, size_t max, enum ctl_reason want,
                    const char *msg_part)
{
    struct ctl_msg m;
    size_t used;
    enum ctl_reason why = CTL_R_NONE;
    struct weft_err e = {{0}};
    assert_int_equal(ctl_frame_decode(buf, len, max, &m, &used, &why, &e), CTL_DEC_ERR);
    if (why != want)
        fail_msg("reason %s, wanted %s (%s)", ctl_reason_name(why), ctl_reason_name(want), e.msg);
    if (!strstr(e.msg, msg_part))
        fail_msg("message '%s' lacks '%s'", e.msg, msg_part);
    assert_null(strchr(e.msg, '\n'));
    assert_null(m.root);
}

static void frame_with(const char *payload, char kind, struct sbuf *out)
{
    sbuf_reset(out);
    ctl_frame_header(out, (enum ctl_kind)kind, strlen(payload));
    sbuf_puts(out, payload);
}

static void test_frame_refusals(void **state)
{
    (void)state;
    struct sbuf f;
    sbuf_init(&f);
    refused("G", 1, 100, CTL_R_BAD_MAGIC, "bad magic");
    refused("GET / HTTP/1.1\r\n\r\n", 18, 100, CTL_R_BAD_MAGIC, "bad magic");
    refused("WC\x02Q\0\0\0\2{}", 10, 100, CTL_R_BAD_VERSION,
            "unsupported control protocol version 2 (this weft speaks version 1)");
    refused("WC\x00", 3, 100, CTL_R_BAD_VERSION, "version 0");
    refused("WC\x01Z", 4, 100, CTL_R_BAD_KIND, "kind byte 0x5a");
    /* Refused from the header alone: the payload never needs to arrive. */
    refused("WC\x01Q\x00\x01\x00\x01", 8, 65536, CTL_R_TOO_LARGE,
            "65537 bytes, the limit is 65536");
    refused("WC\x01Q\xff\xff\xff\xff", 8, 65536, CTL_R_TOO_LARGE, "4294967295 bytes");
    frame_with("{\"id\":1,", 'Q', &f);
    refused(f.data, f.len, 100, CTL_R_BAD_JSON, "invalid JSON");
    frame_with("[1]", 'Q', &f);
    refused(f.data, f.len, 100, CTL_R_BAD_MESSAGE, "not an object");
    frame_with("{\"method\":\"x\"}", 'Q', &f);
    refused(f.data, f.len, 100, CTL_R_BAD_MESSAGE, "\"id\"");
    frame_with("{\"id\":-1,\"method\":\"x\"}", 'Q', &f);
    refused(f.data, f.len, 100, CTL_R_BAD_MESSAGE, "\"id\"");
    frame_with("{\"id\":1.5,\"method\":\"x\"}", 'Q', &f);
    refused(f.data, f.len, 100, CTL_R_BAD_MESSAGE, "\"id\"");
    frame_with("{\"id\":1}", 'Q', &f);
    refused(f.data, f.len, 100, CTL_R_BAD_MESSAGE, "\"method\"");
    frame_with("{\"id\":1,\"method\":\"../etc\"}", 'Q', &f);
    refused(f.data, f.len, 100, CTL_R_BAD_MESSAGE, "\"method\"");
    frame_with("{\"id\":1,\"method\":\"x\",\"body\":[]}", 'Q', &f);
    refused(f.data, f.len, 100, CTL_R_BAD_MESSAGE, "\"body\"");
    frame_with("{\"id\":1}", 'R', &f);
    refused(f.data, f.len, 100, CTL_R_BAD_MESSAGE, "\"ok\"");
    frame_with("{\"id\":1,\"ok\":false}", 'R', &f);
    refused(f.data, f.len, 100, CTL_R_BAD_MESSAGE, "\"error\"");
    /* A NUL inside the payload is just a byte the JSON reader refuses. */
    sbuf_reset(&f);
    ctl_frame_header(&f, CTL_KIND_REQUEST, 3);
    sbuf_append(&f, "{\0}", 3);
    refused(f.data, f.len, 100, CTL_R_BAD_JSON, "invalid JSON");
    for (int r = 0; r < CTL_R_MAX; r++)
        assert_string_not_equal(ctl_reason_name((enum ctl_reason)r), "?");
    sbuf_deinit(&f);
}

/* Two frames back to back: the first is decoded, the rest stays. */
static void test_frame_pipelined(void **state)
{
    (void)state;
    struct sbuf f;
    struct ctl_msg m;
    size_t used;
    enum ctl_reason why;
    struct weft_err e = {{0}};
    sbuf_init(&f);
    ctl_frame_request(&f, 1, "a", NULL, 1000, &e);
    size_t first = f.len;
    ctl_frame_request(&f, 2, "b", NULL, 1000, &e);
    assert_int_equal(ctl_frame_decode((const uint8_t *)f.data, f.len, 1000, &m, &used, &why, &e),
                     CTL_DEC_OK);
    assert_int_equal(used, first);
    assert_string_equal(m.method, "a");
    ctl_msg_free(&m);
    assert_int_equal(
        ctl_frame_decode((const uint8_t *)f.data + used, f.len - used, 1000, &m, &used, &why, &e),
        CTL_DEC_OK);
    assert_string_equal(m.method, "b");
    ctl_msg_free(&m);
    sbuf_deinit(&f);
}

/* ---- server and client in one loop ---- */

struct world {
    struct event_base *base;
    struct ctl_server *srv;
    struct tls_conf *cconf;
    char addr[64];
    struct event *guard;
    bool guard_fired;
};

static void guard_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct world *w = arg;
    w->guard_fired = true;
    event_base_loopbreak(w->base);
}

/* Run the loop until *flag or 10 s (a failure). */
static void run_until(struct world *w, const bool *flag)
{
    loop_timer_add(w->guard, 10000);
    while (!*flag && !w->guard_fired)
        event_base_loop(w->base, EVLOOP_ONCE);
    event_del(w->guard);
    if (w->guard_fired)
        fail_msg("timed out waiting");
}

static int m_echo(void *ud, const struct ctl_call *call, struct sbuf *out, struct weft_err *e)
{
    (void)ud;
    (void)e;
    sbuf_printf(out, "{\"peer\":\"%s\",\"x\":%lld}", call->peer_id,
                (long long)jsonv_int(jsonv_get(call->body, "x"), -1));
    return 0;
}

static int m_deny(void *ud, const struct ctl_call *call, struct sbuf *out, struct weft_err *e)
{
    (void)ud;
    (void)out;
    return err_set(e, "%s may not do this", call->peer_id);
}

static struct tls_conf *conf_of(enum tls_role role, const char *crt, const char *key)
{
    struct weft_err e = {{0}};
    struct tls_conf *c = tls_conf_new_pem(role, crt, key, g.ca, &e);
    if (!c)
        fail_msg("conf: %s", e.msg);
    assert_int_equal(tls_conf_set_trust_domain(c, "example.org", &e), 0);
    assert_int_equal(tls_conf_accept_list(c,
                                          role == TLS_ROLE_SERVER ? "spiffe://example.org/node/cli"
                                                                  : "spiffe://example.org/node/srv",
                                          &e),
                     0);
    return c;
}

static void world_open(struct world *w, const struct ctl_server_opts *o_in)
{
    struct weft_err e = {{0}};
    struct ctl_server_opts o = *o_in;
    memset(w, 0, sizeof(*w));
    w->base = loop_new();
    assert_non_null(w->base);
    o.listen = "127.0.0.1:0";
    w->srv = ctl_server_new(w->base, &o, conf_of(TLS_ROLE_SERVER, g.srv_crt, g.srv_key), &e);
    if (!w->srv)
        fail_msg("server: %s", e.msg);
    assert_int_equal(ctl_server_method(w->srv, "echo", m_echo, NULL), 0);
    assert_int_equal(ctl_server_method(w->srv, "deny", m_deny, NULL), 0);
    assert_int_equal(ctl_server_method(w->srv, "Bad", m_deny, NULL), -1);
    snprintf(w->addr, sizeof(w->addr), "127.0.0.1:%u", ctl_server_port(w->srv));
    w->cconf = conf_of(TLS_ROLE_CLIENT, g.cli_crt, g.cli_key);
    w->guard = event_new(w->base, -1, 0, guard_cb, w);
}

static void world_close(struct world *w)
{
    ctl_server_free(w->srv);
    tls_conf_free(w->cconf);
    event_free(w->guard);
    event_base_free(w->base);
}

struct result {
    bool done, ok;
    char err[WEFT_ERR_MAX];
    char peer[128];
    int64_t x;
};

static void on_done(void *ud, bool ok, const struct jsonv *body, const char *err)
{
    struct result *r = ud;
    r->done = true;
    r->ok = ok;
    snprintf(r->err, sizeof(r->err), "%s", err ? err : "");
    snprintf(r->peer, sizeof(r->peer), "%s", jsonv_str(jsonv_get(body, "peer"), ""));
    r->x = jsonv_int(jsonv_get(body, "x"), -1);
}

static void call(struct world *w, const char *method, const char *body, struct result *r)
{
    struct weft_err e = {{0}};
    memset(r, 0, sizeof(*r));
    if (!ctl_client_call(w->base, w->cconf, w->addr, method, body, NULL, on_done, r, &e))
        fail_msg("call: %s", e.msg);
    run_until(w, &r->done);
}

static void test_call(void **state)
{
    (void)state;
    struct world w;
    struct result r;
    struct ctl_server_opts o = {0};
    world_open(&w, &o);
    call(&w, "echo", "{\"x\":42}", &r);
    assert_true(r.ok);
    assert_string_equal(r.peer, "spiffe://example.org/node/cli");
    assert_int_equal(r.x, 42);
    call(&w, "nope", NULL, &r);
    assert_false(r.ok);
    assert_string_equal(r.err, "unknown control method 'nope'");
    call(&w, "deny", NULL, &r);
    assert_false(r.ok);
    assert_string_equal(r.err, "spiffe://example.org/node/cli may not do this");
    const struct ctl_stats *st = ctl_server_stats(w.srv);
    assert_int_equal(st->requests, 1);
    assert_int_equal(st->accepted, 3);
    assert_int_equal(st->refused[CTL_R_UNKNOWN_METHOD], 1);
    assert_int_equal(st->refused[CTL_R_DENIED], 1);

    /* A replaced conf serves new handshakes; nothing leaks (ASan). */
    ctl_server_set_conf(w.srv, conf_of(TLS_ROLE_SERVER, g.srv_crt, g.srv_key));
    call(&w, "echo", "{\"x\":1}", &r);
    assert_true(r.ok);
    world_close(&w);
}

/* A TLS client that sends raw plaintext bytes and collects what comes back. */
struct raw {
    struct bufferevent *bev;
    struct tls_sess *sess;
    const void *send;
    size_t send_len;
    int want_frames;        /* done once this many whole frames came back (0: at close) */
    bool notify_after_send; /* send close_notify right after the bytes */
    bool closing;
    bool sent, done;
    struct sbuf got;
};

static int frames_in(const struct sbuf *got)
{
    int n = 0;
    size_t off = 0;
    for (;;) {
        struct ctl_msg m;
        size_t used;
        enum ctl_reason why;
        if (ctl_frame_decode((const uint8_t *)got->data + off, got->len - off, 65536, &m, &used,
                             &why, NULL) != CTL_DEC_OK)
            return n;
        ctl_msg_free(&m);
        off += used;
        n++;
    }
}

static void raw_drive(struct raw *r)
{
    if (r->done)
        return;
    enum tls_io io = tls_sess_handshake(r->sess);
    if (io == TLS_IO_WANT_READ || io == TLS_IO_WANT_WRITE)
        return;
    if (io != TLS_IO_OK) {
        r->done = true;
        return;
    }
    if (!r->sent) {
        size_t n;
        r->sent = true;
        if (r->send_len)
            tls_sess_write(r->sess, r->send, r->send_len, &n);
        if (r->notify_after_send) {
            /* Done once the bytes and the close_notify are on the wire. */
            tls_sess_shutdown(r->sess);
            r->closing = true;
            bufferevent_trigger(r->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS);
            return;
        }
    }
    char buf[4096];
    for (;;) {
        size_t n = 0;
        io = tls_sess_read(r->sess, buf, sizeof(buf), &n);
        if (io == TLS_IO_OK && n > 0) {
            sbuf_append(&r->got, buf, n);
            if (r->want_frames && frames_in(&r->got) >= r->want_frames) {
                r->done = true;
                return;
            }
            continue;
        }
        if (io == TLS_IO_WANT_READ || io == TLS_IO_WANT_WRITE)
            return;
        r->done = true;
        return;
    }
}

static void raw_read_cb(struct bufferevent *bev, void *arg)
{
    struct raw *r = arg;
    (void)bev;
    if (!r->closing)
        raw_drive(r);
}

static void raw_write_cb(struct bufferevent *bev, void *arg)
{
    struct raw *r = arg;
    if (r->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        r->done = true;
}

static void raw_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct raw *r = arg;
    if (what & BEV_EVENT_CONNECTED) {
        raw_drive(r);
        return;
    }
    tls_sess_set_eof(r->sess);
    raw_drive(r);
    r->done = true;
}

static void raw_open(struct world *w, struct raw *r, const void *bytes, size_t len)
{
    struct weft_err e = {{0}};
    struct sockaddr_in sin = {0};
    memset(r, 0, sizeof(*r));
    r->send = bytes;
    r->send_len = len;
    sbuf_init(&r->got);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)ctl_server_port(w->srv));
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    r->bev = bufferevent_socket_new(w->base, -1, BEV_OPT_CLOSE_ON_FREE);
    r->sess = tls_sess_new(w->cconf, bufferevent_get_input(r->bev), bufferevent_get_output(r->bev),
                           NULL, &e);
    assert_non_null(r->sess);
    bufferevent_setcb(r->bev, raw_read_cb, raw_write_cb, raw_event_cb, r);
    bufferevent_enable(r->bev, EV_READ | EV_WRITE);
    assert_int_equal(bufferevent_socket_connect(r->bev, (struct sockaddr *)&sin, sizeof(sin)), 0);
}

static void raw_close(struct raw *r, struct sbuf *got)
{
    tls_sess_free(r->sess);
    bufferevent_free(r->bev);
    sbuf_reset(got);
    sbuf_append(got, r->got.data ? r->got.data : "", r->got.len);
    sbuf_deinit(&r->got);
}

/* Connect, send bytes once the handshake is done, wait for want_frames
 * replies (0: for the server to close). */
static void raw_exchange(struct world *w, const void *bytes, size_t len, int want_frames,
                         struct sbuf *got)
{
    struct raw r;
    raw_open(w, &r, bytes, len);
    r.want_frames = want_frames;
    run_until(w, &r.done);
    raw_close(&r, got);
}

/* The error reply the server sent before closing. */
static void expect_error_reply(const struct sbuf *got, const char *part)
{
    struct ctl_msg m;
    size_t used;
    enum ctl_reason why;
    struct weft_err e = {{0}};
    if (ctl_frame_decode((const uint8_t *)got->data, got->len, 65536, &m, &used, &why, &e) !=
        CTL_DEC_OK)
        fail_msg("no error reply (%zu bytes): %s", got->len, e.msg);
    assert_false(m.ok);
    if (!strstr(m.error, part))
        fail_msg("error '%s' lacks '%s'", m.error, part);
    ctl_msg_free(&m);
}

/* A plain TCP connection that says nothing. */
static int tcp_connect(unsigned port)
{
    struct sockaddr_in sin = {0};
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    return fd;
}

struct count_wait {
    struct world *w;
    const uint64_t *counter;
    uint64_t want;
    bool reached;
    struct event *poll;
};

static void count_poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct count_wait *c = arg;
    if (*c->counter >= c->want) {
        c->reached = true;
        event_del(c->poll);
    }
}

struct conns_wait {
    struct world *w;
    unsigned want;
    bool reached;
    struct event *poll;
};

static void conns_poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conns_wait *c = arg;
    if (ctl_server_conns(c->w->srv) == c->want) {
        c->reached = true;
        event_del(c->poll);
    }
}

/* Run the loop until the server has exactly want connections (bounded). */
static void wait_conns(struct world *w, unsigned want)
{
    struct conns_wait c = {w, want, false, NULL};
    c.poll = event_new(w->base, -1, EV_PERSIST, conns_poll_cb, &c);
    loop_timer_add(c.poll, 10);
    run_until(w, &c.reached);
    event_free(c.poll);
}

/* Run the loop until *counter >= want (bounded by the guard). */
static void wait_count(struct world *w, const uint64_t *counter, uint64_t want)
{
    struct count_wait c = {w, counter, want, false, NULL};
    c.poll = event_new(w->base, -1, EV_PERSIST, count_poll_cb, &c);
    loop_timer_add(c.poll, 10);
    run_until(w, &c.reached);
    event_free(c.poll);
}

static void test_garbage(void **state)
{
    (void)state;
    struct world w;
    struct sbuf got;
    struct ctl_server_opts o = {0};
    sbuf_init(&got);
    world_open(&w, &o);
    const struct ctl_stats *st = ctl_server_stats(w.srv);

    raw_exchange(&w, "GET / HTTP/1.1\r\n\r\n", 18, 0, &got);
    expect_error_reply(&got, "bad magic");
    assert_int_equal(st->refused[CTL_R_BAD_MAGIC], 1);

    raw_exchange(&w, "WC\x02Q\0\0\0\2{}", 10, 0, &got);
    expect_error_reply(&got, "unsupported control protocol version 2");
    assert_int_equal(st->refused[CTL_R_BAD_VERSION], 1);

    raw_exchange(&w, "WC\x01Q\x7f\xff\xff\xff", 8, 0, &got);
    expect_error_reply(&got, "too large");
    assert_int_equal(st->refused[CTL_R_TOO_LARGE], 1);

    raw_exchange(&w, "WC\x01Q\0\0\0\x05{]]]}", 13, 0, &got);
    expect_error_reply(&got, "invalid JSON");
    assert_int_equal(st->refused[CTL_R_BAD_JSON], 1);

    raw_exchange(&w, "WC\x01R\0\0\0\x12{\"id\":1,\"ok\":true}", 26, 0, &got);
    expect_error_reply(&got, "reply sent to the server");
    assert_int_equal(st->refused[CTL_R_BAD_KIND], 1);

    /* Half a frame, then our side closes: counted as truncated. */
    {
        /* The bytes and the close_notify travel in order on one stream, so
         * the server always sees the half frame first. */
        struct raw r;
        raw_open(&w, &r, "WC\x01Q\0\0\0\x20{\"id\"", 13);
        r.notify_after_send = true;
        run_until(&w, &r.done);
        raw_close(&r, &got);
        assert_int_equal(got.len, 0);
        wait_count(&w, &st->refused[CTL_R_TRUNCATED], 1);
    }
    /* Two requests in one write are both answered, in order. */
    struct sbuf two;
    struct weft_err e = {{0}};
    sbuf_init(&two);
    ctl_frame_request(&two, 1, "echo", "{\"x\":1}", 65536, &e);
    ctl_frame_request(&two, 2, "echo", "{\"x\":2}", 65536, &e);
    raw_exchange(&w, two.data, two.len, 2, &got);
    struct ctl_msg m;
    size_t used;
    enum ctl_reason why;
    assert_int_equal(
        ctl_frame_decode((const uint8_t *)got.data, got.len, 65536, &m, &used, &why, &e),
        CTL_DEC_OK);
    assert_int_equal(m.id, 1);
    ctl_msg_free(&m);
    assert_int_equal(ctl_frame_decode((const uint8_t *)got.data + used, got.len - used, 65536, &m,
                                      &used, &why, &e),
                     CTL_DEC_OK);
    assert_int_equal(m.id, 2);
    assert_int_equal(jsonv_int(jsonv_get(m.body, "x"), 0), 2);
    ctl_msg_free(&m);
    sbuf_deinit(&two);

    /* After all of that the server still answers. */
    struct result r;
    call(&w, "echo", "{\"x\":5}", &r);
    assert_true(r.ok);
    sbuf_deinit(&got);
    world_close(&w);
}

static void test_limits(void **state)
{
    (void)state;
    struct world w;
    struct result r;
    /* The handshake timeout must leave room for a real handshake on a slow
     * machine (qemu-user runs this test for the ARM builds): 300 ms was
     * shorter than one ECDSA handshake there. */
    struct ctl_server_opts o = {.max_conns = 1, .handshake_ms = 3000, .idle_ms = 3000};
    world_open(&w, &o);
    const struct ctl_stats *st = ctl_server_stats(w.srv);

    /* One silent connection holds the only slot: a call is refused. */
    int fd = tcp_connect(ctl_server_port(w.srv));
    call(&w, "echo", NULL, &r);
    assert_false(r.ok);
    assert_int_equal(st->refused[CTL_R_TOO_MANY_CONNS], 1);
    /* The silent one never completes a handshake: dropped and counted. */
    wait_count(&w, &st->refused[CTL_R_HANDSHAKE_TIMEOUT], 1);
    close(fd);
    wait_conns(&w, 0);
    call(&w, "echo", NULL, &r);
    assert_true(r.ok);
    wait_conns(&w, 0);

    /* Garbage instead of a ClientHello: a handshake failure. */
    fd = tcp_connect(ctl_server_port(w.srv));
    assert_int_equal(write(fd, "hello\r\n\r\n\r\n\r\n", 13), 13);
    wait_count(&w, &st->refused[CTL_R_HANDSHAKE], 1);
    close(fd);
    world_close(&w);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    struct world w;
    struct sbuf got;
    struct ctl_server_opts o = {.idle_ms = 200};
    sbuf_init(&got);
    world_open(&w, &o);
    /* Handshake, then only a header: the request never completes. */
    raw_exchange(&w, "WC\x01Q\0\0\0\x20", 8, 0, &got);
    assert_int_equal(ctl_server_stats(w.srv)->refused[CTL_R_IDLE_TIMEOUT], 1);
    sbuf_deinit(&got);
    world_close(&w);
}

static void test_connect_refused(void **state)
{
    (void)state;
    struct world w;
    struct result r;
    struct ctl_server_opts o = {0};
    world_open(&w, &o);
    /* A port nobody listens on (the server's, once it is gone). */
    unsigned port = ctl_server_port(w.srv);
    ctl_server_free(w.srv);
    w.srv = NULL;
    snprintf(w.addr, sizeof(w.addr), "127.0.0.1:%u", port);
    call(&w, "echo", NULL, &r);
    assert_false(r.ok);
    assert_non_null(strstr(r.err, "cannot connect"));
    struct weft_err e = {{0}};
    assert_null(ctl_client_call(w.base, w.cconf, "nohost", "echo", NULL, NULL, on_done, &r, &e));
    assert_non_null(strstr(e.msg, "control address"));
    world_close(&w);
}

/* Callers without a certificate: only anonymous methods answer them. */
static void test_anonymous(void **state)
{
    (void)state;
    struct world w;
    struct result r;
    struct weft_err e = {{0}};
    struct ctl_server_opts o = {0};
    world_open(&w, &o);
    /* The listener sends its CA along and lets certificate-less callers in. */
    char chain[8192];
    snprintf(chain, sizeof(chain), "%s%s", g.srv_crt, g.ca);
    struct tls_conf *sc = tls_conf_new_pem(TLS_ROLE_SERVER, chain, g.srv_key, g.ca, &e);
    assert_non_null(sc);
    assert_int_equal(tls_conf_set_trust_domain(sc, "example.org", &e), 0);
    assert_int_equal(tls_conf_accept_list(sc, "spiffe://example.org/node/cli", &e), 0);
    tls_conf_allow_anonymous(sc);
    ctl_server_set_conf(w.srv, sc);
    assert_int_equal(ctl_server_method_anonymous(w.srv, "hello", m_echo, NULL), 0);
    /* A pinned client without a certificate (what enrollment uses). */
    mbedtls_x509_crt ca;
    unsigned char md[32];
    char pin[65];
    mbedtls_x509_crt_init(&ca);
    assert_int_equal(mbedtls_x509_crt_parse(&ca, (const unsigned char *)g.ca, strlen(g.ca) + 1), 0);
    assert_int_equal(
        mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), ca.raw.p, ca.raw.len, md), 0);
    for (int i = 0; i < 32; i++)
        snprintf(pin + 2 * i, 3, "%02x", md[i]);
    mbedtls_x509_crt_free(&ca);
    struct tls_conf *anon = tls_conf_new_pinned(pin, &e);
    assert_non_null(anon);
    assert_int_equal(tls_conf_set_trust_domain(anon, "example.org", &e), 0);
    assert_int_equal(tls_conf_accept_list(anon, "spiffe://example.org/node/srv", &e), 0);
    struct tls_conf *mtls = w.cconf;
    w.cconf = anon;
    call(&w, "hello", "{\"x\":3}", &r);
    assert_true(r.ok);
    assert_string_equal(r.peer, "");
    assert_int_equal(r.x, 3);
    call(&w, "echo", NULL, &r);
    assert_false(r.ok);
    assert_string_equal(r.err, "control method 'echo' needs a node certificate");
    assert_int_equal(ctl_server_stats(w.srv)->refused[CTL_R_UNAUTHENTICATED], 1);
    /* A caller with a node certificate still reaches every method. */
    w.cconf = mtls;
    call(&w, "echo", "{\"x\":4}", &r);
    assert_true(r.ok);
    assert_string_equal(r.peer, "spiffe://example.org/node/cli");
    tls_conf_free(anon);
    world_close(&w);
}

/* ---- setup ---- */

static void issue_node(struct pki_ca *ca, const char *name, char *crt, char *key)
{
    struct weft_err e = {{0}};
    struct pki_leaf leaf;
    pki_leaf_init(&leaf);
    if (pki_issue_leaf(ca, SPIFFE_NODE, name, 3600, &leaf, &e) != 0)
        fail_msg("issue: %s", e.msg);
    snprintf(crt, 4096, "%s", sbuf_str(&leaf.crt_pem));
    snprintf(key, 4096, "%s", sbuf_str(&leaf.key_pem));
    pki_leaf_deinit(&leaf);
}

static int group_setup(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    char p[300];
    loop_lib_init();
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(tls_lib_init(&e), 0);
    snprintf(g.dir, sizeof(g.dir), "%s/weft-ctl-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(g.dir));
    if (pki_ca_init(g.dir, "example.org", 1, &e) != 0)
        fail_msg("ca: %s", e.msg);
    struct pki_ca *ca = pki_ca_load(g.dir, &e);
    assert_non_null(ca);
    struct sbuf b;
    sbuf_init(&b);
    pki_ca_bundle_pem(ca, &b, &e);
    snprintf(g.ca, sizeof(g.ca), "%s", sbuf_str(&b));
    sbuf_deinit(&b);
    issue_node(ca, "srv", g.srv_crt, g.srv_key);
    issue_node(ca, "cli", g.cli_crt, g.cli_key);
    pki_ca_free(ca);
    snprintf(p, sizeof(p), "%s/ca.key", g.dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/ca.crt", g.dir);
    unlink(p);
    rmdir(g.dir);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tls_lib_deinit();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_roundtrip), cmocka_unit_test(test_frame_refusals),
        cmocka_unit_test(test_frame_pipelined), cmocka_unit_test(test_call),
        cmocka_unit_test(test_garbage),         cmocka_unit_test(test_limits),
        cmocka_unit_test(test_idle_timeout),    cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_anonymous),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
