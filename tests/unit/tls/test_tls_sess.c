/*
 * tls/tls_conf + tls_sess: mTLS handshakes over in-memory evbuffers, the
 * client and the server stepped alternately (the idea of mbedTLS's
 * ssl_helpers), with certificates issued by pki/ for real: an expired one is
 * really expired (issued with a fake wall clock in the past), since mbedTLS
 * judges validity with its own time source (the system clock).
 *
 *   client conf --c2s evbuffer--> server conf
 *               <--s2c evbuffer--
 *
 *   CA "a" (example.org): svc/a (the client), svc/srv (the server), svc/b
 *                         (not accepted), svc/old (expired), svc/soon (not
 *                         yet valid)
 *   CA "b" (example.org, not in any bundle): svc/a
 *   CA "c" (other.org, in the server's bundle): svc/a
 *
 * Built against mbedTLS 2.28 (TLS 1.2) and 3.6 (TLS 1.3): the expectations
 * on version and ciphersuite follow TLS_COMPAT_HAS_TLS13.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fakes/fakeclock.h"
#include "pki/ca.h"
#include "pki/issue.h"
#include "tls/tls.h"
#include "tls/tls_compat.h"
#include "tls/tls_conf.h"
#include "tls/tls_sess.h"

#include <event2/buffer.h>
#include <mbedtls/md.h>
#include <mbedtls/x509_crt.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HOUR INT64_C(3600)
#define DAY INT64_C(86400)

struct pem {
    char crt[4096];
    char key[4096];
};

static struct {
    char dir[256];
    char ca_a[4096], ca_c[4096];
    char bundle_srv[8192]; /* a + c */
    struct pem a, srv, b, old, soon, other_ca_a, other_td_a;
} g;

static void set_wall(int64_t unix_s)
{
    fakeclock_set_wall_ms(unix_s * 1000);
}

static void issue(const char *cadir, const char *name, int64_t at, int64_t life, struct pem *out)
{
    struct weft_err e = {{0}};
    set_wall(at);
    struct pki_ca *ca = pki_ca_load(cadir, &e);
    assert_non_null(ca);
    struct pki_leaf leaf;
    pki_leaf_init(&leaf);
    if (pki_issue_leaf(ca, SPIFFE_SVC, name, life, &leaf, &e) != 0)
        fail_msg("issue %s: %s", name, e.msg);
    snprintf(out->crt, sizeof(out->crt), "%s", leaf.crt_pem.data);
    snprintf(out->key, sizeof(out->key), "%s", leaf.key_pem.data);
    pki_leaf_deinit(&leaf);
    pki_ca_free(ca);
}

static void make_ca(const char *sub, const char *td, int64_t at, char *pem, size_t cap)
{
    struct weft_err e = {{0}};
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/%s", g.dir, sub);
    set_wall(at);
    if (pki_ca_init(dir, td, 3650, &e) != 0)
        fail_msg("ca init: %s", e.msg);
    struct pki_ca *ca = pki_ca_load(dir, &e);
    assert_non_null(ca);
    struct sbuf b;
    sbuf_init(&b);
    assert_int_equal(pki_ca_bundle_pem(ca, &b, &e), 0);
    snprintf(pem, cap, "%s", b.data);
    sbuf_deinit(&b);
    pki_ca_free(ca);
}

static void rm_tree(const char *dir)
{
    char p[600];
    const char *subs[] = {"a", "b", "c"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s/%s/ca.key", dir, subs[i]);
        unlink(p);
        snprintf(p, sizeof(p), "%s/%s/ca.crt", dir, subs[i]);
        unlink(p);
        snprintf(p, sizeof(p), "%s/%s", dir, subs[i]);
        rmdir(p);
    }
    rmdir(dir);
}

static int group_setup(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    assert_int_equal(tls_lib_init(&e), 0);
    snprintf(g.dir, sizeof(g.dir), "%s/weft-tls-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(g.dir));
    int64_t now = (int64_t)time(NULL);
    int64_t past = now - 10 * DAY;
    char ca_b[4096];
    make_ca("a", "example.org", past, g.ca_a, sizeof(g.ca_a));
    make_ca("b", "example.org", past, ca_b, sizeof(ca_b));
    make_ca("c", "other.org", past, g.ca_c, sizeof(g.ca_c));
    snprintf(g.bundle_srv, sizeof(g.bundle_srv), "%s%s", g.ca_a, g.ca_c);
    char a[300], b[300], c[300];
    snprintf(a, sizeof(a), "%s/a", g.dir);
    snprintf(b, sizeof(b), "%s/b", g.dir);
    snprintf(c, sizeof(c), "%s/c", g.dir);
    issue(a, "a", now, DAY, &g.a);
    issue(a, "srv", now, DAY, &g.srv);
    issue(a, "b", now, DAY, &g.b);
    issue(a, "old", now - 2 * DAY, HOUR, &g.old); /* expired a day and 23 hours ago */
    issue(a, "soon", now + DAY, HOUR, &g.soon);   /* valid from tomorrow */
    issue(b, "a", now, DAY, &g.other_ca_a);
    issue(c, "a", now, DAY, &g.other_td_a);
    set_wall(now);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    rm_tree(g.dir);
    tls_lib_deinit();
    return 0;
}

/* ---- a client and a server over two in-memory evbuffers ---- */

struct pair {
    struct evbuffer *c2s, *s2c;
    struct tls_sess *c, *s;
    enum tls_io cio, sio;
};

static struct tls_conf *server_conf(const char *accept)
{
    struct weft_err e = {{0}};
    struct tls_conf *conf =
        tls_conf_new_pem(TLS_ROLE_SERVER, g.srv.crt, g.srv.key, g.bundle_srv, &e);
    if (!conf)
        fail_msg("server conf: %s", e.msg);
    assert_int_equal(tls_conf_set_trust_domain(conf, "example.org", &e), 0);
    if (accept)
        assert_int_equal(tls_conf_accept_list(conf, accept, &e), 0);
    return conf;
}

static struct tls_conf *client_conf(const struct pem *who, const char *accept)
{
    struct weft_err e = {{0}};
    struct tls_conf *conf = tls_conf_new_pem(TLS_ROLE_CLIENT, who->crt, who->key, g.ca_a, &e);
    if (!conf)
        fail_msg("client conf: %s", e.msg);
    assert_int_equal(tls_conf_set_trust_domain(conf, "example.org", &e), 0);
    assert_int_equal(tls_conf_accept_list(conf, accept, &e), 0);
    return conf;
}

static void pair_open(struct pair *p, struct tls_conf *cc, struct tls_conf *sc)
{
    struct weft_err e = {{0}};
    memset(p, 0, sizeof(*p));
    p->c2s = evbuffer_new();
    p->s2c = evbuffer_new();
    p->c = tls_sess_new(cc, p->s2c, p->c2s, "srv:15443", &e);
    p->s = tls_sess_new(sc, p->c2s, p->s2c, NULL, &e);
    assert_non_null(p->c);
    assert_non_null(p->s);
    p->cio = p->sio = TLS_IO_WANT_READ;
}

static bool done(enum tls_io io)
{
    return io == TLS_IO_OK || io == TLS_IO_ERROR || io == TLS_IO_CLOSED;
}

/* Step both sides until each is done or neither moves (bounded). */
static void pair_handshake(struct pair *p)
{
    for (int i = 0; i < 64; i++) {
        if (!done(p->cio))
            p->cio = tls_sess_handshake(p->c);
        if (!done(p->sio))
            p->sio = tls_sess_handshake(p->s);
        if (done(p->cio) && done(p->sio))
            return;
        if (evbuffer_get_length(p->c2s) == 0 && evbuffer_get_length(p->s2c) == 0 && !done(p->cio) &&
            !done(p->sio))
            return;
    }
}

/* After the handshake: let the client take in what the server sent after
 * (TLS 1.3 tickets, or an alert) without data to read. */
static enum tls_io client_drain(struct pair *p)
{
    char buf[64];
    size_t n;
    return tls_sess_read(p->c, buf, sizeof(buf), &n);
}

static void pair_close(struct pair *p)
{
    tls_sess_free(p->c);
    tls_sess_free(p->s);
    evbuffer_free(p->c2s);
    evbuffer_free(p->s2c);
}

/* ---- tests ---- */

static void test_valid_pair(void **state)
{
    (void)state;
    struct tls_conf *sc = server_conf("spiffe://example.org/svc/a");
    struct tls_conf *cc = client_conf(&g.a, "spiffe://example.org/svc/srv");
    struct pair p;
    pair_open(&p, cc, sc);
    pair_handshake(&p);
    assert_int_equal(p.cio, TLS_IO_OK);
    assert_int_equal(p.sio, TLS_IO_OK);
    assert_int_equal(tls_sess_state(p.s), TLS_SESS_OPEN);
    assert_string_equal(tls_sess_state_name(tls_sess_state(p.s)), "open");
    assert_string_equal(tls_sess_peer_id(p.s), "spiffe://example.org/svc/a");
    assert_string_equal(tls_sess_peer_id(p.c), "spiffe://example.org/svc/srv");
    assert_false(tls_sess_is_resumed(p.s));
    assert_false(tls_sess_is_resumed(p.c));
#if TLS_COMPAT_HAS_TLS13
    assert_string_equal(tls_sess_version(p.s), "TLSv1.3");
    assert_string_equal(tls_sess_ciphersuite(p.s), "TLS1-3-CHACHA20-POLY1305-SHA256");
#else
    assert_string_equal(tls_sess_version(p.s), "TLSv1.2");
    assert_string_equal(tls_sess_ciphersuite(p.s), "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256");
#endif
    assert_string_equal(tls_sess_ciphersuite(p.c), tls_sess_ciphersuite(p.s));

    /* Data both ways, larger than one record. */
    static char big[40000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    size_t n = 0;
    assert_int_equal(tls_sess_write(p.c, big, sizeof(big), &n), TLS_IO_OK);
    assert_int_equal(n, sizeof(big));
    static char got[40000];
    size_t have = 0;
    while (have < sizeof(got)) {
        enum tls_io io = tls_sess_read(p.s, got + have, sizeof(got) - have, &n);
        assert_int_equal(io, TLS_IO_OK);
        have += n;
    }
    assert_memory_equal(got, big, sizeof(big));
    assert_int_equal(tls_sess_read(p.s, got, sizeof(got), &n), TLS_IO_WANT_READ);
    assert_int_equal(tls_sess_write(p.s, "pong", 4, &n), TLS_IO_OK);
    enum tls_io io;
    do { /* the client may first meet a TLS 1.3 ticket */
        io = tls_sess_read(p.c, got, sizeof(got), &n);
    } while (io == TLS_IO_OK && n == 0);
    assert_int_equal(io, TLS_IO_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(got, "pong", 4);

    /* close_notify: the server sees a clean close. */
    assert_int_equal(tls_sess_shutdown(p.c), TLS_IO_OK);
    assert_int_equal(tls_sess_state(p.c), TLS_SESS_CLOSED);
    assert_int_equal(tls_sess_read(p.s, got, sizeof(got), &n), TLS_IO_CLOSED);
    assert_int_equal(tls_sess_state(p.s), TLS_SESS_CLOSED);

    assert_int_equal(tls_conf_stats(sc)->handshakes, 1);
    assert_int_equal(tls_conf_stats(cc)->handshakes, 1);
    for (int f = 0; f < TLS_FAIL_MAX; f++)
        assert_int_equal(tls_conf_stats(sc)->fail[f], 0);
    pair_close(&p);
    tls_conf_free(cc);
    tls_conf_free(sc);
}

/* The server refuses the client for `want`, counts it once; the client ends failed. */
static void refused_by_server(const struct pem *client, enum tls_fail want)
{
    struct tls_conf *sc = server_conf("spiffe://example.org/svc/a");
    struct tls_conf *cc = client_conf(client, "spiffe://example.org/svc/srv");
    struct pair p;
    pair_open(&p, cc, sc);
    pair_handshake(&p);
    assert_int_equal(p.sio, TLS_IO_ERROR);
    assert_int_equal(tls_sess_state(p.s), TLS_SESS_FAILED);
    assert_int_equal(tls_sess_fail(p.s), want);
    assert_int_equal(tls_conf_stats(sc)->fail[want], 1);
    assert_int_equal(tls_conf_stats(sc)->handshakes, 0);
    assert_string_equal(tls_sess_peer_id(p.s), "");
    /* The client learns it from the server's alert. In TLS 1.3 its own
     * handshake is over first, and the alert comes under the handshake keys
     * while it expects application keys: it sees a bad record MAC. */
    if (p.cio == TLS_IO_OK)
        p.cio = client_drain(&p);
    assert_int_equal(p.cio, TLS_IO_ERROR);
    if (TLS_COMPAT_HAS_TLS13)
        assert_true(tls_sess_fail(p.c) == TLS_FAIL_PEER_ALERT ||
                    tls_sess_fail(p.c) == TLS_FAIL_PROTOCOL);
    else
        assert_int_equal(tls_sess_fail(p.c), TLS_FAIL_PEER_ALERT);
    pair_close(&p);
    tls_conf_free(cc);
    tls_conf_free(sc);
}

static void test_expired(void **state)
{
    (void)state;
    refused_by_server(&g.old, TLS_FAIL_EXPIRED);
}

static void test_not_yet_valid(void **state)
{
    (void)state;
    refused_by_server(&g.soon, TLS_FAIL_NOT_YET_VALID);
}

static void test_wrong_ca(void **state)
{
    (void)state;
    refused_by_server(&g.other_ca_a, TLS_FAIL_BAD_CHAIN);
}

static void test_wrong_trust_domain(void **state)
{
    (void)state;
    /* other.org's CA is in the server's bundle: the chain is good, the ID is not. */
    refused_by_server(&g.other_td_a, TLS_FAIL_TRUST_DOMAIN);
}

static void test_id_not_accepted(void **state)
{
    (void)state;
    refused_by_server(&g.b, TLS_FAIL_ID_NOT_ACCEPTED);
}

/* The client checks the server the same way. */
static void test_client_refuses_server(void **state)
{
    (void)state;
    struct tls_conf *sc = server_conf("spiffe://example.org/svc/a");
    struct tls_conf *cc = client_conf(&g.a, "spiffe://example.org/svc/other");
    struct pair p;
    pair_open(&p, cc, sc);
    pair_handshake(&p);
    assert_int_equal(p.cio, TLS_IO_ERROR);
    assert_int_equal(tls_sess_fail(p.c), TLS_FAIL_ID_NOT_ACCEPTED);
    assert_int_equal(tls_conf_stats(cc)->fail[TLS_FAIL_ID_NOT_ACCEPTED], 1);
    assert_int_equal(p.sio, TLS_IO_ERROR);
    if (TLS_COMPAT_HAS_TLS13) /* see refused_by_server */
        assert_true(tls_sess_fail(p.s) == TLS_FAIL_PEER_ALERT ||
                    tls_sess_fail(p.s) == TLS_FAIL_PROTOCOL);
    else
        assert_int_equal(tls_sess_fail(p.s), TLS_FAIL_PEER_ALERT);
    pair_close(&p);
    tls_conf_free(cc);
    tls_conf_free(sc);
}

/* A raw mbedTLS client with no certificate at all: reads s2c, writes c2s. */
struct raw_io {
    struct evbuffer *in, *out;
};

static int raw_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct raw_io *io = ctx;
    return evbuffer_add(io->out, buf, len) == 0 ? (int)len : -1;
}

static int raw_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct raw_io *io = ctx;
    int n = evbuffer_remove(io->in, buf, len);
    return n > 0 ? n : MBEDTLS_ERR_SSL_WANT_READ;
}

static int raw_rng(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    return tls_random(buf, len, NULL) == 0 ? 0 : -1;
}

static void test_no_client_cert(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    struct tls_conf *sc = server_conf("spiffe://example.org/svc/a");
    struct evbuffer *c2s = evbuffer_new(), *s2c = evbuffer_new();
    struct tls_sess *s = tls_sess_new(sc, c2s, s2c, NULL, &e);
    assert_non_null(s);
    mbedtls_ssl_config cfg;
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config_init(&cfg);
    mbedtls_ssl_init(&ssl);
    assert_int_equal(mbedtls_ssl_config_defaults(&cfg, MBEDTLS_SSL_IS_CLIENT,
                                                 MBEDTLS_SSL_TRANSPORT_STREAM,
                                                 MBEDTLS_SSL_PRESET_DEFAULT),
                     0);
    mbedtls_ssl_conf_rng(&cfg, raw_rng, NULL);
    mbedtls_ssl_conf_authmode(&cfg, MBEDTLS_SSL_VERIFY_NONE);
    assert_int_equal(mbedtls_ssl_setup(&ssl, &cfg), 0);
    struct raw_io io = {s2c, c2s};
    mbedtls_ssl_set_bio(&ssl, &io, raw_send, raw_recv, NULL);
    enum tls_io sio = TLS_IO_WANT_READ;
    int crc = MBEDTLS_ERR_SSL_WANT_READ;
    for (int i = 0; i < 64 && sio != TLS_IO_ERROR; i++) {
        if (crc == MBEDTLS_ERR_SSL_WANT_READ || crc == MBEDTLS_ERR_SSL_WANT_WRITE)
            crc = mbedtls_ssl_handshake(&ssl);
        else if (crc == 0) { /* TLS 1.3: the client is done before the server refuses */
            unsigned char b[16];
            crc = mbedtls_ssl_read(&ssl, b, sizeof(b));
            if (crc == MBEDTLS_ERR_SSL_WANT_READ)
                crc = 0;
        }
        sio = tls_sess_handshake(s);
    }
    assert_int_equal(sio, TLS_IO_ERROR);
    assert_int_equal(tls_sess_fail(s), TLS_FAIL_NO_CLIENT_CERT);
    assert_int_equal(tls_conf_stats(sc)->fail[TLS_FAIL_NO_CLIENT_CERT], 1);
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_config_free(&cfg);
    tls_sess_free(s);
    evbuffer_free(c2s);
    evbuffer_free(s2c);
    tls_conf_free(sc);
}

/* Accept rules that a test can change between connections. */
static bool accept_flag;
static bool accept_if_flag(void *arg, const char *id)
{
    (void)arg;
    return accept_flag && strcmp(id, "spiffe://example.org/svc/a") == 0;
}

/* One connection's worth: handshake, the client picks up a TLS 1.3 ticket. */
static void connect_once(struct tls_conf *cc, struct tls_conf *sc, struct pair *p)
{
    pair_open(p, cc, sc);
    pair_handshake(p);
    if (p->cio == TLS_IO_OK && p->sio == TLS_IO_OK)
        assert_int_equal(client_drain(p), TLS_IO_WANT_READ);
}

static void test_resumption(void **state)
{
    (void)state;
    struct tls_conf *sc = server_conf(NULL);
    accept_flag = true;
    tls_conf_set_accept_fn(sc, accept_if_flag, NULL);
    struct tls_conf *cc = client_conf(&g.a, "spiffe://example.org/svc/srv");
    struct pair p;

    connect_once(cc, sc, &p);
    assert_int_equal(p.sio, TLS_IO_OK);
    assert_false(tls_sess_is_resumed(p.s));
    pair_close(&p);

    /* Same peer key: the ticket is offered and taken; both sides know who. */
    connect_once(cc, sc, &p);
    assert_int_equal(p.cio, TLS_IO_OK);
    assert_int_equal(p.sio, TLS_IO_OK);
    assert_true(tls_sess_is_resumed(p.s));
    assert_true(tls_sess_is_resumed(p.c));
    assert_string_equal(tls_sess_peer_id(p.s), "spiffe://example.org/svc/a");
    assert_string_equal(tls_sess_peer_id(p.c), "spiffe://example.org/svc/srv");
    size_t n;
    char buf[8];
    assert_int_equal(tls_sess_write(p.c, "hi", 2, &n), TLS_IO_OK);
    assert_int_equal(tls_sess_read(p.s, buf, sizeof(buf), &n), TLS_IO_OK);
    assert_int_equal(n, 2);
    pair_close(&p);
    assert_int_equal(tls_conf_stats(sc)->handshakes, 2);
    assert_int_equal(tls_conf_stats(sc)->resumed, 1);
    assert_int_equal(tls_conf_stats(cc)->resumed, 1);

    /* The rules changed: a resumed session is checked again and refused. */
    accept_flag = false;
    connect_once(cc, sc, &p);
    assert_int_equal(p.sio, TLS_IO_ERROR);
    assert_int_equal(tls_sess_fail(p.s), TLS_FAIL_ID_NOT_ACCEPTED);
    assert_int_equal(tls_conf_stats(sc)->fail[TLS_FAIL_ID_NOT_ACCEPTED], 1);
    assert_int_equal(tls_conf_stats(sc)->resumed, 1);
    pair_close(&p);

    /* A forgotten session means a full handshake. */
    accept_flag = true;
    tls_conf_forget_session(cc, "srv:15443");
    connect_once(cc, sc, &p);
    assert_int_equal(p.sio, TLS_IO_OK);
    assert_false(tls_sess_is_resumed(p.s));
    pair_close(&p);

    /* Another server conf (other ticket keys, e.g. after a restart) cannot
     * open the ticket the client holds: a full handshake, not a failure. */
    struct tls_conf *sc2 = server_conf(NULL);
    tls_conf_set_accept_fn(sc2, accept_if_flag, NULL);
    connect_once(cc, sc2, &p);
    assert_int_equal(p.cio, TLS_IO_OK);
    assert_int_equal(p.sio, TLS_IO_OK);
    assert_false(tls_sess_is_resumed(p.s));
    assert_false(tls_sess_is_resumed(p.c));
    assert_string_equal(tls_sess_peer_id(p.s), "spiffe://example.org/svc/a");
    pair_close(&p);
    tls_conf_free(sc2);
    tls_conf_free(cc);
    tls_conf_free(sc);
}

/* Files and refusals of tls_conf_new. */
static void test_conf_errors(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    assert_null(tls_conf_new(TLS_ROLE_SERVER, "/nonexistent.crt", "/x.key", "/b.crt", &e));
    assert_non_null(strstr(e.msg, "/nonexistent.crt"));
    /* A key of another certificate. */
    assert_null(tls_conf_new_pem(TLS_ROLE_SERVER, g.srv.crt, g.a.key, g.ca_a, &e));
    assert_non_null(strstr(e.msg, "does not match"));
    struct tls_conf *c = tls_conf_new_pem(TLS_ROLE_CLIENT, g.a.crt, g.a.key, g.ca_a, &e);
    assert_non_null(c);
    struct evbuffer *b = evbuffer_new();
    assert_null(tls_sess_new(c, b, b, NULL, &e)); /* no trust domain yet */
    assert_int_equal(tls_conf_set_trust_domain(c, "Example.org", &e), -1);
    assert_int_equal(tls_conf_accept_id(c, "https://example.org/svc/a", &e), -1);
    evbuffer_free(b);
    tls_conf_free(c);
    tls_conf_free(NULL);
    assert_string_equal(tls_fail_name(TLS_FAIL_EXPIRED), "expired");
    assert_string_equal(tls_fail_name(TLS_FAIL_MAX), "?");
}

/* SHA-256 of the first certificate of pem, as hex (a pin). */
static void pin_of(const char *pem, char out[65])
{
    mbedtls_x509_crt c;
    unsigned char md[32];
    mbedtls_x509_crt_init(&c);
    assert_int_equal(mbedtls_x509_crt_parse(&c, (const unsigned char *)pem, strlen(pem) + 1), 0);
    assert_int_equal(
        mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), c.raw.p, c.raw.len, md), 0);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    mbedtls_x509_crt_free(&c);
}

/* A server that sends its CA along and lets clients without a certificate in. */
static struct tls_conf *enroll_server_conf(void)
{
    struct weft_err e = {{0}};
    char chain[8192];
    snprintf(chain, sizeof(chain), "%s%s", g.srv.crt, g.ca_a);
    struct tls_conf *conf = tls_conf_new_pem(TLS_ROLE_SERVER, chain, g.srv.key, g.ca_a, &e);
    if (!conf)
        fail_msg("server conf: %s", e.msg);
    assert_int_equal(tls_conf_set_trust_domain(conf, "example.org", &e), 0);
    assert_int_equal(tls_conf_accept_list(conf, "spiffe://example.org/svc/a", &e), 0);
    tls_conf_allow_anonymous(conf);
    return conf;
}

static struct tls_conf *pinned_conf(const char *pin, const char *accept)
{
    struct weft_err e = {{0}};
    struct tls_conf *conf = tls_conf_new_pinned(pin, &e);
    if (!conf)
        fail_msg("pinned conf: %s", e.msg);
    assert_int_equal(tls_conf_set_trust_domain(conf, "example.org", &e), 0);
    assert_int_equal(tls_conf_accept_list(conf, accept, &e), 0);
    return conf;
}

/* Enrollment: a client without a certificate, pinned to the CA's fingerprint. */
static void test_pinned_anonymous(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    char pin[65], other_pin[65];
    pin_of(g.ca_a, pin);
    pin_of(g.ca_c, other_pin);
    struct tls_conf *sc = enroll_server_conf();
    struct pair p;

    /* The right pin: both sides open, the server sees no ID, the client the server's. */
    struct tls_conf *cc = pinned_conf(pin, "spiffe://example.org/svc/srv");
    pair_open(&p, cc, sc);
    pair_handshake(&p);
    assert_int_equal(p.cio, TLS_IO_OK);
    assert_int_equal(p.sio, TLS_IO_OK);
    assert_string_equal(tls_sess_peer_id(p.s), "");
    assert_string_equal(tls_sess_peer_id(p.c), "spiffe://example.org/svc/srv");
    pair_close(&p);
    tls_conf_free(cc);

    /* Another pin: refused by the client before any data. */
    cc = pinned_conf(other_pin, "spiffe://example.org/svc/srv");
    pair_open(&p, cc, sc);
    pair_handshake(&p);
    assert_int_equal(p.cio, TLS_IO_ERROR);
    assert_int_equal(tls_sess_fail(p.c), TLS_FAIL_BAD_CHAIN);
    assert_non_null(strstr(tls_sess_fail_msg(p.c), "does not hold the pinned CA"));
    pair_close(&p);
    tls_conf_free(cc);

    /* The right pin, but the server's ID is not accepted. */
    cc = pinned_conf(pin, "spiffe://example.org/svc/other");
    pair_open(&p, cc, sc);
    pair_handshake(&p);
    assert_int_equal(p.cio, TLS_IO_ERROR);
    assert_int_equal(tls_sess_fail(p.c), TLS_FAIL_ID_NOT_ACCEPTED);
    pair_close(&p);
    tls_conf_free(cc);

    /* A server that sends only its leaf cannot be pinned. */
    struct tls_conf *leaf_only = server_conf("spiffe://example.org/svc/a");
    tls_conf_allow_anonymous(leaf_only);
    cc = pinned_conf(pin, "spiffe://example.org/svc/srv");
    pair_open(&p, cc, leaf_only);
    pair_handshake(&p);
    assert_int_equal(tls_sess_fail(p.c), TLS_FAIL_BAD_CHAIN);
    pair_close(&p);
    tls_conf_free(cc);
    tls_conf_free(leaf_only);

    /* With anonymous callers allowed, a client that does present a
     * certificate is still checked: accepted, expired, another CA. */
    cc = client_conf(&g.a, "spiffe://example.org/svc/srv");
    pair_open(&p, cc, sc);
    pair_handshake(&p);
    assert_int_equal(p.sio, TLS_IO_OK);
    assert_string_equal(tls_sess_peer_id(p.s), "spiffe://example.org/svc/a");
    pair_close(&p);
    tls_conf_free(cc);
    const struct pem *bad[] = {&g.old, &g.other_ca_a, &g.b};
    const enum tls_fail want[] = {TLS_FAIL_EXPIRED, TLS_FAIL_BAD_CHAIN, TLS_FAIL_ID_NOT_ACCEPTED};
    for (int i = 0; i < 3; i++) {
        cc = tls_conf_new_pem(TLS_ROLE_CLIENT, bad[i]->crt, bad[i]->key, g.ca_a, &e);
        assert_non_null(cc);
        assert_int_equal(tls_conf_set_trust_domain(cc, "example.org", &e), 0);
        assert_int_equal(tls_conf_accept_list(cc, "spiffe://example.org/svc/srv", &e), 0);
        pair_open(&p, cc, sc);
        pair_handshake(&p);
        assert_int_equal(p.sio, TLS_IO_ERROR);
        if (tls_sess_fail(p.s) != want[i])
            fail_msg("case %d: %s", i, tls_fail_name(tls_sess_fail(p.s)));
        pair_close(&p);
        tls_conf_free(cc);
    }
    tls_conf_free(sc);

    /* Bad pins. */
    assert_null(tls_conf_new_pinned("abc", &e));
    assert_null(tls_conf_new_pinned(NULL, &e));
    char upper[65];
    snprintf(upper, sizeof(upper), "%s", pin);
    upper[0] = 'G';
    assert_null(tls_conf_new_pinned(upper, &e));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pinned_anonymous), cmocka_unit_test(test_valid_pair),
        cmocka_unit_test(test_expired),          cmocka_unit_test(test_not_yet_valid),
        cmocka_unit_test(test_wrong_ca),         cmocka_unit_test(test_wrong_trust_domain),
        cmocka_unit_test(test_id_not_accepted),  cmocka_unit_test(test_client_refuses_server),
        cmocka_unit_test(test_no_client_cert),   cmocka_unit_test(test_resumption),
        cmocka_unit_test(test_conf_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
