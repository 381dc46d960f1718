/*
 * tls/: server names (SNI) and a client's per-session expected peer ID, the
 * node-to-node hop of the proxy:
 *
 *   client conf (svc/a, no accept rules of its own)
 *     tls_sess_set_sni("inventory") + tls_sess_expect_id(".../svc/inventory")
 *       --c2s--> server conf (own cert svc/srv; inventory, billing by SNI)
 *       <--s2c--
 *
 * Certificates are issued by pki/ (a fake wall clock puts the expired one in
 * the past): CA "a" (example.org) issues svc/a, svc/srv, svc/inventory,
 * svc/billing and an expired svc/old; CA "b" (example.org, in no client's
 * bundle) issues another svc/inventory; CA "c" (other.org, in the client's
 * bundle) a svc/inventory of the other trust domain.
 *
 * Each case runs on mbedTLS 3.6 (TLS 1.3 by default, TLS 1.2 forced where
 * resumption is checked) and 2.28 (TLS 1.2). Owner of everything here: the
 * test; each case frees what it makes.
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
#include "tls/tls_priv.h" /* conf->ssl: force TLS 1.2 on 3.6 */
#include "tls/tls_sess.h"

#include <event2/buffer.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HOUR INT64_C(3600)
#define DAY INT64_C(86400)
#define ID(svc) "spiffe://example.org/svc/" svc

struct pem {
    char crt[4096];
    char key[4096];
};

static struct {
    char dir[256];
    char bundle_client[8192]; /* a + c */
    char ca_a[4096];
    struct pem a, srv, inv, bill, old, inv_other_ca, inv_other_td;
} g;

static void issue(const char *sub, const char *name, int64_t at, int64_t life, struct pem *out)
{
    struct weft_err e = {{0}};
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/%s", g.dir, sub);
    fakeclock_set_wall_ms(at * 1000);
    struct pki_ca *ca = pki_ca_load(dir, &e);
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
    fakeclock_set_wall_ms(at * 1000);
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

static int group_setup(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    assert_int_equal(tls_lib_init(&e), 0);
    snprintf(g.dir, sizeof(g.dir), "%s/weft-tls-sni-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(g.dir));
    int64_t now = (int64_t)time(NULL);
    int64_t past = now - 10 * DAY;
    char ca_b[4096], ca_c[4096];
    make_ca("a", "example.org", past, g.ca_a, sizeof(g.ca_a));
    make_ca("b", "example.org", past, ca_b, sizeof(ca_b));
    make_ca("c", "other.org", past, ca_c, sizeof(ca_c));
    snprintf(g.bundle_client, sizeof(g.bundle_client), "%s%s", g.ca_a, ca_c);
    issue("a", "a", now, DAY, &g.a);
    issue("a", "srv", now, DAY, &g.srv);
    issue("a", "inventory", now, DAY, &g.inv);
    issue("a", "billing", now, DAY, &g.bill);
    issue("a", "old", now - 2 * DAY, HOUR, &g.old); /* expired a day and 23 hours ago */
    issue("b", "inventory", now, DAY, &g.inv_other_ca);
    issue("c", "inventory", now, DAY, &g.inv_other_td);
    fakeclock_set_wall_ms(now * 1000);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char p[600];
    const char *subs[] = {"a", "b", "c"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s/%s/ca.key", g.dir, subs[i]);
        unlink(p);
        snprintf(p, sizeof(p), "%s/%s/ca.crt", g.dir, subs[i]);
        unlink(p);
        snprintf(p, sizeof(p), "%s/%s", g.dir, subs[i]);
        rmdir(p);
    }
    rmdir(g.dir);
    tls_lib_deinit();
    return 0;
}

/* ---- confs and a pair of sessions over two in-memory evbuffers ---- */

/* The inbound side: own cert svc/srv, inventory and billing by name; accepts svc/a. */
static struct tls_conf *server_conf(bool sni_required)
{
    struct weft_err e = {{0}};
    struct tls_conf *conf = tls_conf_new_pem(TLS_ROLE_SERVER, g.srv.crt, g.srv.key, g.ca_a, &e);
    if (!conf)
        fail_msg("server conf: %s", e.msg);
    assert_int_equal(tls_conf_set_trust_domain(conf, "example.org", &e), 0);
    assert_int_equal(tls_conf_accept_id(conf, ID("a"), &e), 0);
    if (tls_conf_add_sni_cert(conf, "inventory", g.inv.crt, g.inv.key, &e) != 0 ||
        tls_conf_add_sni_cert(conf, "billing", g.bill.crt, g.bill.key, &e) != 0)
        fail_msg("add sni cert: %s", e.msg);
    tls_conf_sni_required(conf, sni_required);
    return conf;
}

/* The outbound side: svc/a with no accept rules (every session expects an ID). */
static struct tls_conf *client_conf(void)
{
    struct weft_err e = {{0}};
    struct tls_conf *conf =
        tls_conf_new_pem(TLS_ROLE_CLIENT, g.a.crt, g.a.key, g.bundle_client, &e);
    if (!conf)
        fail_msg("client conf: %s", e.msg);
    assert_int_equal(tls_conf_set_trust_domain(conf, "example.org", &e), 0);
    return conf;
}

/* TLS 1.2 only (mbedTLS 3.6; 2.28 speaks nothing else). */
static void force_tls12(struct tls_conf *conf)
{
#if WEFT_MBEDTLS_3
    mbedtls_ssl_conf_max_tls_version(&conf->ssl, MBEDTLS_SSL_VERSION_TLS1_2);
#else
    (void)conf;
#endif
}

struct pair {
    struct evbuffer *c2s, *s2c;
    struct tls_sess *c, *s;
    enum tls_io cio, sio;
};

/* A pair; sni and expect (either may be NULL) set on the client. */
static void pair_open(struct pair *p, struct tls_conf *cc, struct tls_conf *sc,
                      const char *peer_key, const char *sni, const char *expect)
{
    struct weft_err e = {{0}};
    memset(p, 0, sizeof(*p));
    p->c2s = evbuffer_new();
    p->s2c = evbuffer_new();
    p->c = tls_sess_new(cc, p->s2c, p->c2s, peer_key, &e);
    p->s = tls_sess_new(sc, p->c2s, p->s2c, NULL, &e);
    assert_non_null(p->c);
    assert_non_null(p->s);
    if (sni && tls_sess_set_sni(p->c, sni, &e) != 0)
        fail_msg("set sni: %s", e.msg);
    if (expect && tls_sess_expect_id(p->c, expect, &e) != 0)
        fail_msg("expect id: %s", e.msg);
    p->cio = p->sio = TLS_IO_WANT_READ;
}

static bool done(enum tls_io io)
{
    return io == TLS_IO_OK || io == TLS_IO_ERROR || io == TLS_IO_CLOSED;
}

/* Step both sides until each is done or neither moves (bounded); then let the
 * client take in what came after its handshake (a TLS 1.3 ticket, an alert). */
static void pair_handshake(struct pair *p)
{
    for (int i = 0; i < 64; i++) {
        if (!done(p->cio))
            p->cio = tls_sess_handshake(p->c);
        if (!done(p->sio))
            p->sio = tls_sess_handshake(p->s);
        if (done(p->cio) && done(p->sio))
            break;
        if (evbuffer_get_length(p->c2s) == 0 && evbuffer_get_length(p->s2c) == 0)
            break;
    }
    if (p->cio == TLS_IO_OK) {
        char buf[16];
        size_t n;
        enum tls_io io = tls_sess_read(p->c, buf, sizeof(buf), &n);
        if (io == TLS_IO_ERROR)
            p->cio = io;
    }
}

static void pair_close(struct pair *p)
{
    tls_sess_free(p->c);
    tls_sess_free(p->s);
    evbuffer_free(p->c2s);
    evbuffer_free(p->s2c);
}

/* The version of the last connection open_ok made ("TLSv1.3"). */
static char last_version[16];

/* One connection that must open: checks both IDs and the name the server saw. */
static void open_ok(struct tls_conf *cc, struct tls_conf *sc, const char *peer_key, const char *sni,
                    const char *expect, bool resumed)
{
    struct pair p;
    pair_open(&p, cc, sc, peer_key, sni, expect);
    pair_handshake(&p);
    if (p.cio != TLS_IO_OK || p.sio != TLS_IO_OK)
        fail_msg("sni %s: client %s / server %s", sni ? sni : "(none)", tls_sess_fail_msg(p.c),
                 tls_sess_fail_msg(p.s));
    assert_string_equal(tls_sess_peer_id(p.c), expect);
    assert_string_equal(tls_sess_peer_id(p.s), ID("a"));
    assert_string_equal(tls_sess_sni(p.s), sni ? sni : "");
    assert_string_equal(tls_sess_sni(p.c), sni ? sni : "");
    if (tls_sess_is_resumed(p.s) != resumed || tls_sess_is_resumed(p.c) != resumed)
        fail_msg("sni %s: resumed server %d client %d, want %d", sni ? sni : "(none)",
                 tls_sess_is_resumed(p.s), tls_sess_is_resumed(p.c), resumed);
    snprintf(last_version, sizeof(last_version), "%s", tls_sess_version(p.s));
    /* Data flows. */
    size_t n;
    char buf[8];
    assert_int_equal(tls_sess_write(p.c, "hi", 2, &n), TLS_IO_OK);
    assert_int_equal(tls_sess_read(p.s, buf, sizeof(buf), &n), TLS_IO_OK);
    assert_int_equal(n, 2);
    pair_close(&p);
}

/* ---- tests ---- */

/* The name picks the certificate; the session's expected ID accepts it. */
static void test_sni_selects_cert(void **state)
{
    (void)state;
    struct tls_conf *sc = server_conf(true);
    struct tls_conf *cc = client_conf();
    open_ok(cc, sc, NULL, "inventory", ID("inventory"), false);
    open_ok(cc, sc, NULL, "billing", ID("billing"), false);
    assert_int_equal(tls_conf_stats(sc)->handshakes, 2);
    assert_int_equal(tls_conf_stats(cc)->handshakes, 2);
    for (int f = 0; f < TLS_FAIL_MAX; f++) {
        assert_int_equal(tls_conf_stats(sc)->fail[f], 0);
        assert_int_equal(tls_conf_stats(cc)->fail[f], 0);
    }
    tls_conf_free(cc);
    tls_conf_free(sc);
}

/* Expecting svc/inventory, reaching a server that presents svc/billing. */
static void test_expect_id_mismatch(void **state)
{
    (void)state;
    struct tls_conf *sc = server_conf(true);
    struct tls_conf *cc = client_conf();
    struct pair p;
    pair_open(&p, cc, sc, NULL, "billing", ID("inventory"));
    pair_handshake(&p);
    assert_int_equal(p.cio, TLS_IO_ERROR);
    assert_int_equal(tls_sess_fail(p.c), TLS_FAIL_ID_NOT_ACCEPTED);
    assert_non_null(strstr(tls_sess_fail_msg(p.c), "expected " ID("inventory")));
    assert_int_equal(tls_conf_stats(cc)->fail[TLS_FAIL_ID_NOT_ACCEPTED], 1);
    assert_int_equal(tls_conf_stats(cc)->handshakes, 0);
    assert_int_not_equal(p.sio, TLS_IO_OK);
    pair_close(&p);

    /* The conf's own accept set does not widen a session's expectation... */
    struct weft_err e = {{0}};
    assert_int_equal(tls_conf_accept_id(cc, ID("billing"), &e), 0);
    pair_open(&p, cc, sc, NULL, "billing", ID("inventory"));
    pair_handshake(&p);
    assert_int_equal(tls_sess_fail(p.c), TLS_FAIL_ID_NOT_ACCEPTED);
    pair_close(&p);
    /* ...and without an expectation the conf's rules apply, SNI or not. */
    pair_open(&p, cc, sc, NULL, "billing", NULL);
    pair_handshake(&p);
    assert_int_equal(p.cio, TLS_IO_OK);
    assert_string_equal(tls_sess_peer_id(p.c), ID("billing"));
    pair_close(&p);
    pair_open(&p, cc, sc, NULL, "inventory", NULL);
    pair_handshake(&p);
    assert_int_equal(tls_sess_fail(p.c), TLS_FAIL_ID_NOT_ACCEPTED);
    pair_close(&p);
    assert_int_equal(tls_conf_stats(cc)->fail[TLS_FAIL_ID_NOT_ACCEPTED], 3);
    tls_conf_free(cc);
    tls_conf_free(sc);
}

/* A name with no certificate: refused when names are required, else the default. */
static void test_unknown_sni(void **state)
{
    (void)state;
    struct tls_conf *sc = server_conf(true);
    struct tls_conf *cc = client_conf();
    struct weft_err e = {{0}};
    struct pair p;
    pair_open(&p, cc, sc, NULL, "nosuch", ID("srv"));
    pair_handshake(&p);
    assert_int_equal(p.sio, TLS_IO_ERROR);
    assert_int_equal(tls_sess_fail(p.s), TLS_FAIL_UNKNOWN_SNI);
    assert_non_null(strstr(tls_sess_fail_msg(p.s), "nosuch"));
    assert_int_equal(tls_conf_stats(sc)->fail[TLS_FAIL_UNKNOWN_SNI], 1);
    assert_string_equal(tls_sess_sni(p.s), "");
    /* Refused at the ClientHello: the client gets the alert in clear. */
    assert_int_equal(p.cio, TLS_IO_ERROR);
    assert_int_equal(tls_sess_fail(p.c), TLS_FAIL_PEER_ALERT);
    pair_close(&p);

    /* Names are case-sensitive, like the service names they carry. */
    pair_open(&p, cc, sc, NULL, "Inventory", ID("inventory"));
    pair_handshake(&p);
    assert_int_equal(tls_sess_fail(p.s), TLS_FAIL_UNKNOWN_SNI);
    pair_close(&p);

    /* No name at all. */
    assert_int_equal(tls_conf_accept_id(cc, ID("srv"), &e), 0);
    pair_open(&p, cc, sc, NULL, NULL, NULL);
    pair_handshake(&p);
    assert_int_equal(p.sio, TLS_IO_ERROR);
    assert_int_equal(tls_sess_fail(p.s), TLS_FAIL_UNKNOWN_SNI);
    assert_non_null(strstr(tls_sess_fail_msg(p.s), "no server name"));
    assert_int_equal(tls_conf_stats(sc)->fail[TLS_FAIL_UNKNOWN_SNI], 3);
    assert_int_equal(tls_conf_stats(sc)->handshakes, 0);
    pair_close(&p);
    tls_conf_free(sc);

    /* Not required: the conf's own certificate, and the name is still reported. */
    sc = server_conf(false);
    open_ok(cc, sc, NULL, "nosuch", ID("srv"), false);
    open_ok(cc, sc, NULL, NULL, ID("srv"), false);
    open_ok(cc, sc, NULL, "inventory", ID("inventory"), false);
    assert_int_equal(tls_conf_stats(sc)->fail[TLS_FAIL_UNKNOWN_SNI], 0);
    tls_conf_free(sc);
    tls_conf_free(cc);
}

/*
 * Sending a name changes nothing else about verifying the server: a chain
 * of another CA, an expired certificate and another trust domain are
 * refused as without one (the server presents each under "inventory").
 */
static void test_sni_keeps_verification(void **state)
{
    (void)state;
    const struct pem *bad[] = {&g.inv_other_ca, &g.old, &g.inv_other_td};
    const enum tls_fail want[] = {TLS_FAIL_BAD_CHAIN, TLS_FAIL_EXPIRED, TLS_FAIL_TRUST_DOMAIN};
    const char *expect[] = {ID("inventory"), ID("old"), ID("inventory")};
    for (int i = 0; i < 3; i++) {
        struct weft_err e = {{0}};
        struct tls_conf *sc = tls_conf_new_pem(TLS_ROLE_SERVER, g.srv.crt, g.srv.key, g.ca_a, &e);
        assert_non_null(sc);
        assert_int_equal(tls_conf_set_trust_domain(sc, "example.org", &e), 0);
        assert_int_equal(tls_conf_accept_id(sc, ID("a"), &e), 0);
        assert_int_equal(tls_conf_add_sni_cert(sc, "inventory", bad[i]->crt, bad[i]->key, &e), 0);
        tls_conf_sni_required(sc, true);
        struct tls_conf *cc = client_conf();
        struct pair p;
        pair_open(&p, cc, sc, NULL, "inventory", expect[i]);
        pair_handshake(&p);
        assert_int_equal(p.cio, TLS_IO_ERROR);
        if (tls_sess_fail(p.c) != want[i])
            fail_msg("case %d: %s (%s)", i, tls_fail_name(tls_sess_fail(p.c)),
                     tls_sess_fail_msg(p.c));
        assert_int_equal(tls_conf_stats(cc)->fail[want[i]], 1);
        pair_close(&p);
        tls_conf_free(cc);
        tls_conf_free(sc);
    }
}

/*
 * Resumption keeps the name: the server learns it again from the resumed
 * ClientHello. Run in the default version (TLS 1.3 on 3.6, 1.2 on 2.28) and
 * with TLS 1.2 forced (3.6's 1.2 path).
 */
static void resumed_sni(bool tls12)
{
    struct tls_conf *sc = server_conf(true);
    struct tls_conf *cc = client_conf();
    if (tls12)
        force_tls12(cc);
    open_ok(cc, sc, "10.0.0.2:15443/inventory", "inventory", ID("inventory"), false);
    open_ok(cc, sc, "10.0.0.2:15443/inventory", "inventory", ID("inventory"), true);
    assert_string_equal(last_version, TLS_COMPAT_HAS_TLS13 && !tls12 ? "TLSv1.3" : "TLSv1.2");
    /* Another service on the same node: its own key, its own session. */
    open_ok(cc, sc, "10.0.0.2:15443/billing", "billing", ID("billing"), false);
    open_ok(cc, sc, "10.0.0.2:15443/billing", "billing", ID("billing"), true);
    open_ok(cc, sc, "10.0.0.2:15443/inventory", "inventory", ID("inventory"), true);
    assert_int_equal(tls_conf_stats(sc)->resumed, 3);
    assert_int_equal(tls_conf_stats(cc)->resumed, 3);

    /* A kept session is offered only under the name it was made with (3.6
     * refuses to start a TLS 1.3 resumption under another one). */
    open_ok(cc, sc, "10.0.0.2:15443/inventory", "billing", ID("billing"), false);
    open_ok(cc, sc, "10.0.0.2:15443/inventory", "billing", ID("billing"), true);
    tls_conf_free(cc);
    tls_conf_free(sc);
}

static void test_resumed_sni(void **state)
{
    (void)state;
    resumed_sni(false);
}

static void test_resumed_sni_tls12(void **state)
{
    (void)state;
    resumed_sni(true);
}

/* A client resuming without a name, once names are required: refused. */
static void test_resumed_without_sni(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    struct tls_conf *sc = server_conf(false);
    struct tls_conf *cc = client_conf();
    assert_int_equal(tls_conf_accept_id(cc, ID("srv"), &e), 0);
    open_ok(cc, sc, "k", NULL, ID("srv"), false);
    tls_conf_sni_required(sc, true);
    struct pair p;
    pair_open(&p, cc, sc, "k", NULL, NULL);
    pair_handshake(&p);
    assert_int_equal(p.sio, TLS_IO_ERROR);
    assert_int_equal(tls_sess_fail(p.s), TLS_FAIL_UNKNOWN_SNI);
    assert_true(tls_sess_is_resumed(p.c));
    assert_int_equal(tls_conf_stats(sc)->fail[TLS_FAIL_UNKNOWN_SNI], 1);
    assert_int_equal(tls_conf_stats(sc)->resumed, 0);
    pair_close(&p);
    tls_conf_free(cc);
    tls_conf_free(sc);
}

/*
 * Resuming towards an expected ID the kept session was not verified as:
 * refused and counted; the kept session is forgotten, so the next
 * connection is a full handshake, judged by the certificate.
 */
static void test_resumed_expect_mismatch(void **state)
{
    (void)state;
    const char *key = "10.0.0.2:15443/inventory";
    struct tls_conf *sc = server_conf(true);
    struct tls_conf *cc = client_conf();
    open_ok(cc, sc, key, "inventory", ID("inventory"), false);
    struct pair p;
    pair_open(&p, cc, sc, key, "inventory", ID("billing"));
    pair_handshake(&p);
    assert_int_equal(p.cio, TLS_IO_ERROR);
    assert_true(tls_sess_is_resumed(p.c));
    assert_int_equal(tls_sess_fail(p.c), TLS_FAIL_ID_NOT_ACCEPTED);
    assert_non_null(strstr(tls_sess_fail_msg(p.c), "resumed peer '" ID("inventory") "'"));
    assert_int_equal(tls_conf_stats(cc)->fail[TLS_FAIL_ID_NOT_ACCEPTED], 1);
    assert_int_equal(tls_conf_stats(cc)->resumed, 0);
    pair_close(&p);
    /* Forgotten: a full handshake, refused by the verify callback this time. */
    pair_open(&p, cc, sc, key, "inventory", ID("billing"));
    pair_handshake(&p);
    assert_int_equal(p.cio, TLS_IO_ERROR);
    assert_false(tls_sess_is_resumed(p.c));
    assert_int_equal(tls_sess_fail(p.c), TLS_FAIL_ID_NOT_ACCEPTED);
    assert_int_equal(tls_conf_stats(cc)->fail[TLS_FAIL_ID_NOT_ACCEPTED], 2);
    pair_close(&p);
    open_ok(cc, sc, key, "inventory", ID("inventory"), false);
    open_ok(cc, sc, key, "inventory", ID("inventory"), true);
    tls_conf_free(cc);
    tls_conf_free(sc);
}

/* A raw mbedTLS client as svc/a sending any bytes as its server name. */
struct raw_client {
    mbedtls_ssl_config cfg;
    mbedtls_ssl_context ssl;
    mbedtls_x509_crt crt;
    mbedtls_pk_context key;
    struct evbuffer *in, *out;
};

static int raw_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct raw_client *r = ctx;
    return evbuffer_add(r->out, buf, len) == 0 ? (int)len : -1;
}

static int raw_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct raw_client *r = ctx;
    int n = evbuffer_remove(r->in, buf, len);
    return n > 0 ? n : MBEDTLS_ERR_SSL_WANT_READ;
}

static int raw_rng(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    return tls_random(buf, len, NULL) == 0 ? 0 : -1;
}

/* The server's verdict on a client that sends name as its SNI. */
static enum tls_io raw_sni(struct tls_conf *sc, const char *name, struct tls_sess **out_s)
{
    struct weft_err e = {{0}};
    struct raw_client r;
    memset(&r, 0, sizeof(r));
    r.in = evbuffer_new();
    r.out = evbuffer_new();
    struct tls_sess *s = tls_sess_new(sc, r.out, r.in, NULL, &e);
    assert_non_null(s);
    mbedtls_ssl_config_init(&r.cfg);
    mbedtls_ssl_init(&r.ssl);
    mbedtls_x509_crt_init(&r.crt);
    mbedtls_pk_init(&r.key);
    assert_int_equal(
        mbedtls_x509_crt_parse(&r.crt, (const unsigned char *)g.a.crt, strlen(g.a.crt) + 1), 0);
    assert_int_equal(tls_compat_pk_parse_key(&r.key, (const unsigned char *)g.a.key,
                                             strlen(g.a.key) + 1, raw_rng, NULL),
                     0);
    assert_int_equal(mbedtls_ssl_config_defaults(&r.cfg, MBEDTLS_SSL_IS_CLIENT,
                                                 MBEDTLS_SSL_TRANSPORT_STREAM,
                                                 MBEDTLS_SSL_PRESET_DEFAULT),
                     0);
    mbedtls_ssl_conf_rng(&r.cfg, raw_rng, NULL);
    mbedtls_ssl_conf_authmode(&r.cfg, MBEDTLS_SSL_VERIFY_NONE);
    assert_int_equal(mbedtls_ssl_conf_own_cert(&r.cfg, &r.crt, &r.key), 0);
    assert_int_equal(mbedtls_ssl_setup(&r.ssl, &r.cfg), 0);
    assert_int_equal(mbedtls_ssl_set_hostname(&r.ssl, name), 0);
    mbedtls_ssl_set_bio(&r.ssl, &r, raw_send, raw_recv, NULL);
    enum tls_io sio = TLS_IO_WANT_READ;
    int crc = MBEDTLS_ERR_SSL_WANT_READ;
    for (int i = 0; i < 64 && !done(sio); i++) {
        if (crc == MBEDTLS_ERR_SSL_WANT_READ || crc == MBEDTLS_ERR_SSL_WANT_WRITE)
            crc = mbedtls_ssl_handshake(&r.ssl);
        sio = tls_sess_handshake(s);
    }
    mbedtls_ssl_free(&r.ssl);
    mbedtls_ssl_config_free(&r.cfg);
    mbedtls_x509_crt_free(&r.crt);
    mbedtls_pk_free(&r.key);
    evbuffer_free(r.in);
    evbuffer_free(r.out);
    *out_s = s;
    return sio;
}

/* A name weft would never send (peer input): ignored, or refused when required. */
static void test_malformed_sni(void **state)
{
    (void)state;
    const char *names[] = {"bad name", "caf\xc3\xa9", "a\nb"};
    for (int required = 0; required < 2; required++) {
        struct tls_conf *sc = server_conf(required);
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            struct tls_sess *s;
            enum tls_io io = raw_sni(sc, names[i], &s);
            if (required) {
                assert_int_equal(io, TLS_IO_ERROR);
                assert_int_equal(tls_sess_fail(s), TLS_FAIL_UNKNOWN_SNI);
                assert_non_null(strstr(tls_sess_fail_msg(s), "malformed server name"));
            } else {
                if (io != TLS_IO_OK)
                    fail_msg("%zu: %s", i, tls_sess_fail_msg(s));
                assert_string_equal(tls_sess_sni(s), "");
                assert_string_equal(tls_sess_peer_id(s), ID("a"));
            }
            tls_sess_free(s);
        }
        assert_int_equal(tls_conf_stats(sc)->fail[TLS_FAIL_UNKNOWN_SNI], required ? 3 : 0);
        tls_conf_free(sc);
    }
}

/* Misuse is an error, not a surprise. */
static void test_api_errors(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    struct tls_conf *sc = server_conf(false);
    struct tls_conf *cc = client_conf();
    assert_string_equal(tls_fail_name(TLS_FAIL_UNKNOWN_SNI), "unknown_sni");

    /* Names: bytes, length, duplicates, role, a key of another certificate. */
    char longname[TLS_SNI_MAX + 2];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    const char *bad_names[] = {"", "a b", "caf\xc3\xa9", "a/b", longname};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
        assert_int_equal(tls_conf_add_sni_cert(sc, bad_names[i], g.inv.crt, g.inv.key, &e), -1);
    assert_int_equal(tls_conf_add_sni_cert(sc, "inventory", g.inv.crt, g.inv.key, &e), -1);
    assert_non_null(strstr(e.msg, "already"));
    assert_int_equal(tls_conf_add_sni_cert(sc, "x", g.inv.crt, g.bill.key, &e), -1);
    assert_non_null(strstr(e.msg, "does not match"));
    assert_int_equal(tls_conf_add_sni_cert(sc, "x", "junk", g.inv.key, &e), -1);
    assert_int_equal(tls_conf_add_sni_cert(cc, "x", g.inv.crt, g.inv.key, &e), -1);
    longname[TLS_SNI_MAX] = '\0'; /* the longest name is fine */
    assert_int_equal(tls_conf_add_sni_cert(sc, longname, g.inv.crt, g.inv.key, &e), 0);

    /* Session settings: client only, before the handshake, checked. */
    struct pair p;
    pair_open(&p, cc, sc, NULL, NULL, NULL);
    assert_int_equal(tls_sess_set_sni(p.s, "inventory", &e), -1);
    assert_int_equal(tls_sess_expect_id(p.s, ID("inventory"), &e), -1);
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]) - 1; i++)
        assert_int_equal(tls_sess_set_sni(p.c, bad_names[i], &e), -1);
    assert_int_equal(tls_sess_expect_id(p.c, "spiffe://other.org/svc/inventory", &e), -1);
    assert_non_null(strstr(e.msg, "example.org"));
    assert_int_equal(tls_sess_expect_id(p.c, "spiffe://example.organ/svc/x", &e), -1);
    assert_int_equal(tls_sess_expect_id(p.c, "https://example.org/svc/x", &e), -1);
    assert_int_equal(tls_sess_set_sni(p.c, longname, &e), 0);
    assert_int_equal(tls_sess_set_sni(p.c, "billing", &e), 0); /* the last one counts */
    assert_int_equal(tls_sess_expect_id(p.c, ID("billing"), &e), 0);
    assert_string_equal(tls_sess_sni(p.c), ""); /* not open yet */
    p.cio = tls_sess_handshake(p.c);
    assert_int_equal(tls_sess_set_sni(p.c, "inventory", &e), -1);
    assert_non_null(strstr(e.msg, "after the handshake began"));
    assert_int_equal(tls_sess_expect_id(p.c, ID("inventory"), &e), -1);
    pair_handshake(&p);
    assert_int_equal(p.cio, TLS_IO_OK);
    assert_string_equal(tls_sess_sni(p.s), "billing");
    assert_string_equal(tls_sess_peer_id(p.c), ID("billing"));
    pair_close(&p);
    tls_conf_free(cc);
    tls_conf_free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sni_selects_cert),    cmocka_unit_test(test_expect_id_mismatch),
        cmocka_unit_test(test_unknown_sni),         cmocka_unit_test(test_sni_keeps_verification),
        cmocka_unit_test(test_resumed_sni),         cmocka_unit_test(test_resumed_sni_tls12),
        cmocka_unit_test(test_resumed_without_sni), cmocka_unit_test(test_resumed_expect_mismatch),
        cmocka_unit_test(test_malformed_sni),       cmocka_unit_test(test_api_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
