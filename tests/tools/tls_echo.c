/*
 * tls_echo: an mTLS echo server for the integration tests, built on
 * tls_conf/tls_sess over libevent bufferevents (the same glue the proxy's
 * inbound listener will use).
 *
 *   tls_echo --cert C --key K --bundle B --listen 127.0.0.1:PORT
 *            --trust-domain TD --accept spiffe://TD/svc/a[,...] [--once]
 *            [--sni-cert NAME:CERT:KEY]... [--sni-required]
 *
 * stdout, one line each (line-buffered, for the tests to wait on):
 *   listening PORT
 *   mbedtls VERSION tls13=0|1
 *   ok <peer SPIFFE ID> <TLSv1.x> <ciphersuite> resumed=0|1    (per accepted connection)
 *      ... sni=<name the client sent, or "-">                  (appended with --sni-cert)
 *   refused <reason>                                            (per refused one)
 *   stats handshakes=N resumed=N <reason>=N ...                 (on SIGTERM, then exit 0)
 * With --once, the server sends close_notify after echoing the first chunk,
 * so `openssl s_client -ign_eof` ends by itself. --sni-cert presents CERT
 * (PEM file) to clients whose SNI is NAME (tls_conf_add_sni_cert);
 * --sni-required refuses other names and none (tls_conf_sni_required).
 *
 * Each connection is a tiny state machine driven from the bufferevent
 * callbacks (conn_drive): handshake -> echo -> close after flushing.
 */
#include "core/log.h"
#include "tls/tls.h"
#include "tls/tls_compat.h"
#include "tls/tls_conf.h"
#include "tls/tls_sess.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct echo {
    struct event_base *base;
    struct tls_conf *conf;
    bool once;
    bool sni; /* report the SNI on "ok" lines */
};

struct conn {
    struct echo *echo;
    struct bufferevent *bev;
    struct tls_sess *sess;
    bool reported;
    bool closing; /* free once the output is flushed */
};

static void conn_free(struct conn *c)
{
    tls_sess_free(c->sess);
    bufferevent_free(c->bev);
    free(c);
}

/*
 * Close after what is queued (an alert, a close_notify) has gone out: the
 * write callback frees the connection once the output is empty. Never frees
 * here, so callers may still look at c.
 */
static void conn_close_later(struct conn *c)
{
    c->closing = true;
    bufferevent_disable(c->bev, EV_READ);
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

static void conn_drive(struct conn *c)
{
    enum tls_io io = tls_sess_handshake(c->sess);
    if (io == TLS_IO_WANT_READ || io == TLS_IO_WANT_WRITE)
        return;
    if (io != TLS_IO_OK) {
        if (!c->reported)
            printf("refused %s\n", tls_fail_name(tls_sess_fail(c->sess)));
        c->reported = true;
        conn_close_later(c);
        return;
    }
    if (!c->reported) {
        const char *sni = tls_sess_sni(c->sess);
        printf("ok %s %s %s resumed=%d%s%s\n", tls_sess_peer_id(c->sess), tls_sess_version(c->sess),
               tls_sess_ciphersuite(c->sess), tls_sess_is_resumed(c->sess) ? 1 : 0,
               c->echo->sni ? " sni=" : "", c->echo->sni ? (sni[0] ? sni : "-") : "");
        c->reported = true;
    }
    char buf[4096];
    for (;;) {
        size_t n = 0;
        io = tls_sess_read(c->sess, buf, sizeof(buf), &n);
        if (io == TLS_IO_OK && n > 0) {
            size_t w;
            if (tls_sess_write(c->sess, buf, n, &w) != TLS_IO_OK) {
                conn_close_later(c);
                return;
            }
            if (c->echo->once) {
                tls_sess_shutdown(c->sess);
                conn_close_later(c);
                return;
            }
            continue;
        }
        if (io == TLS_IO_WANT_READ || io == TLS_IO_WANT_WRITE)
            return;
        if (io == TLS_IO_CLOSED)
            tls_sess_shutdown(c->sess); /* answer close_notify */
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
    (void)bev;
    struct conn *c = arg;
    if (c->closing && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        conn_free(c);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct conn *c = arg;
    if (c->closing) {
        conn_free(c);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        tls_sess_set_eof(c->sess);
        conn_drive(c);
        if (!c->closing) {
            if (!c->reported)
                printf("refused eof\n");
            conn_free(c);
        }
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        if (!c->reported)
            printf("refused socket_error\n");
        conn_free(c);
    }
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    (void)l;
    (void)sa;
    (void)len;
    struct echo *echo = arg;
    struct weft_err e = {{0}};
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->echo = echo;
    c->bev = bufferevent_socket_new(echo->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->sess = c->bev ? tls_sess_new(echo->conf, bufferevent_get_input(c->bev),
                                    bufferevent_get_output(c->bev), NULL, &e)
                     : NULL;
    if (!c->sess) {
        fprintf(stderr, "tls_echo: %s\n", e.msg);
        if (c->bev)
            bufferevent_free(c->bev);
        else
            evutil_closesocket(fd);
        free(c);
        return;
    }
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void term_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    struct echo *echo = arg;
    const struct tls_stats *st = tls_conf_stats(echo->conf);
    printf("stats handshakes=%llu resumed=%llu", (unsigned long long)st->handshakes,
           (unsigned long long)st->resumed);
    for (int f = 1; f < TLS_FAIL_MAX; f++)
        printf(" %s=%llu", tls_fail_name((enum tls_fail)f), (unsigned long long)st->fail[f]);
    printf("\n");
    event_base_loopbreak(echo->base);
}

/* A whole file as a NUL-terminated string (caller frees), or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len - 1, f);
        if (len + 1 < cap)
            break;
        char *grown = realloc(buf, cap * 2);
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    if (buf)
        buf[len] = '\0';
    if (ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* --sni-cert NAME:CERT:KEY. Returns 0, or -1 with a message in e. */
static int add_sni_cert(struct tls_conf *conf, const char *spec, struct weft_err *e)
{
    char copy[1024], *cert_path, *key_path;
    snprintf(copy, sizeof(copy), "%s", spec);
    if (!(cert_path = strchr(copy, ':')) || !(key_path = strchr(cert_path + 1, ':')))
        return err_set(e, "--sni-cert %s: want NAME:CERT:KEY", spec);
    *cert_path++ = '\0';
    *key_path++ = '\0';
    char *cert = slurp(cert_path), *key = slurp(key_path);
    int rc = -1;
    if (!cert || !key)
        err_set(e, "--sni-cert %s: cannot read %s", spec, cert ? key_path : cert_path);
    else
        rc = tls_conf_add_sni_cert(conf, copy, cert, key, e);
    free(cert);
    free(key);
    return rc;
}

static const char *opt(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

int main(int argc, char **argv)
{
    struct weft_err e = {{0}};
    const char *cert = opt(argc, argv, "--cert"), *key = opt(argc, argv, "--key");
    const char *bundle = opt(argc, argv, "--bundle"), *listen = opt(argc, argv, "--listen");
    const char *td = opt(argc, argv, "--trust-domain"), *accept = opt(argc, argv, "--accept");
    if (!cert || !key || !bundle || !listen || !td || !accept) {
        fprintf(stderr, "usage: tls_echo --cert C --key K --bundle B --listen 127.0.0.1:PORT "
                        "--trust-domain TD --accept ID[,ID...] [--once] "
                        "[--sni-cert NAME:CERT:KEY]... [--sni-required]\n");
        return 2;
    }
    struct echo echo = {0};
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--once") == 0)
            echo.once = true;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    log_set_level(LOG_LEVEL_WARN);

    /* IPv4 HOST:PORT; port 0 picks a free one (printed). */
    struct sockaddr_in sin = {0};
    char host[64];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof(host)) {
        fprintf(stderr, "tls_echo: bad --listen %s\n", listen);
        return 2;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    long port = strtol(colon + 1, NULL, 10);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (port < 0 || port > 65535 || inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        fprintf(stderr, "tls_echo: bad --listen %s\n", listen);
        return 2;
    }
    echo.conf = tls_conf_new(TLS_ROLE_SERVER, cert, key, bundle, &e);
    if (!echo.conf || tls_conf_set_trust_domain(echo.conf, td, &e) != 0 ||
        tls_conf_accept_list(echo.conf, accept, &e) != 0) {
        fprintf(stderr, "tls_echo: %s\n", e.msg);
        tls_conf_free(echo.conf);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sni-required") == 0) {
            tls_conf_sni_required(echo.conf, true);
            echo.sni = true;
        }
        if (strcmp(argv[i], "--sni-cert") == 0 && i + 1 < argc) {
            echo.sni = true;
            if (add_sni_cert(echo.conf, argv[++i], &e) != 0) {
                fprintf(stderr, "tls_echo: %s\n", e.msg);
                tls_conf_free(echo.conf);
                return 1;
            }
        }
    }
    echo.base = event_base_new();
    struct evconnlistener *l = evconnlistener_new_bind(
        echo.base, accept_cb, &echo, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
        (struct sockaddr *)&sin, (int)sizeof(sin));
    if (!l) {
        fprintf(stderr, "tls_echo: cannot listen on %s\n", listen);
        return 1;
    }
    struct sockaddr_in bound;
    socklen_t blen = sizeof(bound);
    getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&bound, &blen);
    printf("mbedtls %s tls13=%d\n", tls_lib_version(), TLS_COMPAT_HAS_TLS13);
    printf("listening %u\n", (unsigned)ntohs(bound.sin_port));
    struct event *term = evsignal_new(echo.base, SIGTERM, term_cb, &echo);
    event_add(term, NULL);
    event_base_dispatch(echo.base);
    event_free(term);
    evconnlistener_free(l);
    event_base_free(echo.base);
    tls_conf_free(echo.conf);
    tls_lib_deinit();
    return 0;
}
