/*
 * tls/: TLS origination (tls_conf_new_origin), the client an egress upstream
 * uses towards an ordinary TLS server outside the mesh:
 *
 *   origin conf (CA file: CA one)
 *     tls_sess_set_sni("backend.test")
 *       --c2s--> server: a plain certificate (DNS SAN), no client cert asked
 *       <--s2c--          (a weft server conf with tls_conf_allow_anonymous)
 *
 * The certificates are made here with mbedTLS's writer, not by pki/ (which
 * only issues SPIFFE certificates): CA "one" issues backend.test (valid,
 * expired, not yet valid), *.wild.test, and a SPIFFE-only leaf (a URI SAN,
 * no DNS name); CA "two" (in no CA file) issues another backend.test.
 *
 * Each case runs on mbedTLS 3.6 (TLS 1.3) and 2.28 (TLS 1.2). Owner of
 * everything here: the test; each case frees what it makes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pki/x509.h"
#include "tls/tls.h"
#include "tls/tls_compat.h"
#include "tls/tls_conf.h"
#include "tls/tls_sess.h"

#include <event2/buffer.h>

#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DAY INT64_C(86400)

struct pem {
    char crt[4096];
    char key[4096];
};

static struct {
    char dir[256];
    char ca_one_path[300]; /* CA one's certificate: the CA file */
    char mixed_path[300];  /* CA one and a certificate mbedTLS cannot read */
    char junk_path[300];   /* no certificate at all */
    char ca_one[4096], ca_two[4096];
    struct pem backend, expired, future, wild, spiffe, other_ca;
} g;

/* ---- certificates ---- */

/* A subjectAltName value: one DNS name (tag [2]) and/or one URI ([6]), short. */
static size_t san_der(unsigned char *out, const char *dns, const char *uri)
{
    size_t n = 2;
    const char *v[2] = {dns, uri};
    const unsigned char tag[2] = {0x82, 0x86};
    for (int i = 0; i < 2; i++) {
        if (!v[i])
            continue;
        size_t l = strlen(v[i]);
        assert_true(l < 100);
        out[n++] = tag[i];
        out[n++] = (unsigned char)l;
        memcpy(out + n, v[i], l);
        n += l;
    }
    out[0] = 0x30;
    out[1] = (unsigned char)(n - 2);
    return n;
}

/*
 * A certificate for subject (a DN) with key, signed by issuer_key as
 * issuer (a DN; self-signed when the same), valid from `from` (unix
 * seconds, less a minute) for life seconds.
 */
static void make_cert(const char *subject, mbedtls_pk_context *key, const char *issuer,
                      mbedtls_pk_context *issuer_key, bool ca, const char *dns, const char *uri,
                      int64_t from, int64_t life, char *pem, size_t cap)
{
    struct weft_err e = {{0}};
    mbedtls_x509write_cert w;
    mbedtls_x509write_crt_init(&w);
    mbedtls_x509write_crt_set_subject_key(&w, key);
    mbedtls_x509write_crt_set_issuer_key(&w, issuer_key);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    assert_int_equal(mbedtls_x509write_crt_set_subject_name(&w, subject), 0);
    assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&w, issuer), 0);
    if (pki_x509_set_serial(&w, &e) != 0 || pki_x509_set_validity(&w, from, life, &e) != 0)
        fail_msg("cert %s: %s", subject, e.msg);
    assert_int_equal(mbedtls_x509write_crt_set_basic_constraints(&w, ca, ca ? 0 : -1), 0);
    if (ca)
        assert_int_equal(mbedtls_x509write_crt_set_key_usage(&w, MBEDTLS_X509_KU_KEY_CERT_SIGN |
                                                                     MBEDTLS_X509_KU_CRL_SIGN),
                         0);
    if (dns || uri) {
        unsigned char der[256];
        size_t n = san_der(der, dns, uri);
        assert_int_equal(mbedtls_x509write_crt_set_extension(
                             &w, MBEDTLS_OID_SUBJECT_ALT_NAME,
                             MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, der, n),
                         0);
    }
    assert_int_equal(mbedtls_x509write_crt_pem(&w, (unsigned char *)pem, cap, pki_x509_rng, NULL),
                     0);
    mbedtls_x509write_crt_free(&w);
}

static void key_new(mbedtls_pk_context *pk, char *pem, size_t cap)
{
    struct weft_err e = {{0}};
    mbedtls_pk_init(pk);
    if (pki_x509_key_generate(pk, &e) != 0)
        fail_msg("key: %s", e.msg);
    if (pem) {
        struct sbuf b;
        sbuf_init(&b);
        assert_int_equal(pki_x509_key_pem(pk, &b, &e), 0);
        snprintf(pem, cap, "%s", b.data);
        sbuf_deinit(&b);
    }
}

static void leaf(const char *cn, mbedtls_pk_context *ca_key, const char *ca_dn, const char *dns,
                 const char *uri, int64_t from, int64_t life, struct pem *out)
{
    mbedtls_pk_context k;
    key_new(&k, out->key, sizeof(out->key));
    char dn[128];
    snprintf(dn, sizeof(dn), "CN=%s,O=weft test", cn);
    make_cert(dn, &k, ca_dn, ca_key, false, dns, uri, from, life, out->crt, sizeof(out->crt));
    mbedtls_pk_free(&k);
}

static void write_file(const char *path, const char *a, const char *b)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(a, f);
    fputs(b, f);
    assert_int_equal(fclose(f), 0);
}

static int group_setup(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    assert_int_equal(tls_lib_init(&e), 0);
    snprintf(g.dir, sizeof(g.dir), "%s/weft-tls-origin-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(g.dir));
    int64_t now = (int64_t)time(NULL);
    const char *one = "CN=Test CA one,O=weft test", *two = "CN=Test CA two,O=weft test";
    mbedtls_pk_context k1, k2;
    key_new(&k1, NULL, 0);
    key_new(&k2, NULL, 0);
    make_cert(one, &k1, one, &k1, true, NULL, NULL, now - DAY, 30 * DAY, g.ca_one,
              sizeof(g.ca_one));
    make_cert(two, &k2, two, &k2, true, NULL, NULL, now - DAY, 30 * DAY, g.ca_two,
              sizeof(g.ca_two));
    leaf("backend", &k1, one, "backend.test", NULL, now, DAY, &g.backend);
    leaf("old", &k1, one, "backend.test", NULL, now - 10 * DAY, DAY, &g.expired);
    leaf("later", &k1, one, "backend.test", NULL, now + 2 * DAY, DAY, &g.future);
    leaf("wild", &k1, one, "*.wild.test", NULL, now, DAY, &g.wild);
    leaf("backend.test", &k1, one, NULL, "spiffe://example.org/svc/backend", now, DAY, &g.spiffe);
    leaf("backend", &k2, two, "backend.test", NULL, now, DAY, &g.other_ca);
    mbedtls_pk_free(&k1);
    mbedtls_pk_free(&k2);
    snprintf(g.ca_one_path, sizeof(g.ca_one_path), "%s/ca-one.pem", g.dir);
    snprintf(g.mixed_path, sizeof(g.mixed_path), "%s/mixed.pem", g.dir);
    snprintf(g.junk_path, sizeof(g.junk_path), "%s/junk.pem", g.dir);
    write_file(g.ca_one_path, g.ca_one, "");
    write_file(g.mixed_path, g.ca_one,
               "-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n");
    write_file(g.junk_path, "not a certificate\n", "");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(g.ca_one_path);
    unlink(g.mixed_path);
    unlink(g.junk_path);
    rmdir(g.dir);
    tls_lib_deinit();
    return 0;
}

/* ---- confs and a pair of sessions over two in-memory evbuffers ---- */

/* An ordinary TLS server: presents cert, asks for no client certificate. */
static struct tls_conf *server_conf(const struct pem *cert)
{
    struct weft_err e = {{0}};
    struct tls_conf *conf = tls_conf_new_pem(TLS_ROLE_SERVER, cert->crt, cert->key, g.ca_one, &e);
    if (!conf)
        fail_msg("server conf: %s", e.msg);
    assert_int_equal(tls_conf_set_trust_domain(conf, "example.org", &e), 0);
    tls_conf_allow_anonymous(conf);
    return conf;
}

static struct tls_conf *origin_conf(void)
{
    struct weft_err e = {{0}};
    struct tls_conf *conf = tls_conf_new_origin(g.ca_one_path, &e);
    if (!conf)
        fail_msg("origin conf: %s", e.msg);
    return conf;
}

struct pair {
    struct evbuffer *c2s, *s2c;
    struct tls_sess *c, *s;
    enum tls_io cio, sio;
};

static void pair_open(struct pair *p, struct tls_conf *cc, struct tls_conf *sc, const char *sni)
{
    struct weft_err e = {{0}};
    memset(p, 0, sizeof(*p));
    p->c2s = evbuffer_new();
    p->s2c = evbuffer_new();
    p->c = tls_sess_new(cc, p->s2c, p->c2s, "127.0.0.1:443/x", &e);
    if (!p->c)
        fail_msg("client session: %s", e.msg);
    p->s = tls_sess_new(sc, p->c2s, p->s2c, NULL, &e);
    assert_non_null(p->s);
    if (sni && tls_sess_set_sni(p->c, sni, &e) != 0)
        fail_msg("set sni: %s", e.msg);
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
            break;
        if (evbuffer_get_length(p->c2s) == 0 && evbuffer_get_length(p->s2c) == 0)
            break;
    }
}

static void pair_close(struct pair *p)
{
    tls_sess_free(p->c);
    tls_sess_free(p->s);
    evbuffer_free(p->c2s);
    evbuffer_free(p->s2c);
}

/* One connection that the client must refuse for reason f, counted once. */
static void refused(const struct pem *cert, const char *sni, enum tls_fail f, const char *msg_part)
{
    struct tls_conf *sc = server_conf(cert);
    struct tls_conf *cc = origin_conf();
    struct pair p;
    pair_open(&p, cc, sc, sni);
    pair_handshake(&p);
    if (p.cio != TLS_IO_ERROR || tls_sess_fail(p.c) != f)
        fail_msg("sni %s: client io %d, fail %s (%s), want %s", sni ? sni : "(none)", p.cio,
                 tls_fail_name(tls_sess_fail(p.c)), tls_sess_fail_msg(p.c), tls_fail_name(f));
    assert_int_not_equal(p.sio, TLS_IO_OK);
    if (msg_part && !strstr(tls_sess_fail_msg(p.c), msg_part))
        fail_msg("message '%s' lacks '%s'", tls_sess_fail_msg(p.c), msg_part);
    const struct tls_stats *st = tls_conf_stats(cc);
    assert_int_equal(st->handshakes, 0);
    for (int i = 0; i < TLS_FAIL_MAX; i++)
        assert_int_equal(st->fail[i], i == (int)f ? 1 : 0);
    pair_close(&p);
    tls_conf_free(cc);
    tls_conf_free(sc);
}

/* ---- tests ---- */

/* The server's certificate carries the name sent: open, data both ways. */
static void test_origin_ok(void **state)
{
    (void)state;
    struct tls_conf *sc = server_conf(&g.backend);
    struct tls_conf *cc = origin_conf();
    struct pair p;
    pair_open(&p, cc, sc, "backend.test");
    pair_handshake(&p);
    if (p.cio != TLS_IO_OK || p.sio != TLS_IO_OK)
        fail_msg("client %s / server %s", tls_sess_fail_msg(p.c), tls_sess_fail_msg(p.s));
    assert_string_equal(tls_sess_peer_id(p.c), "");
    assert_string_equal(tls_sess_sni(p.c), "backend.test");
    assert_string_equal(tls_sess_sni(p.s), "backend.test");
    assert_string_equal(tls_sess_version(p.c), TLS_COMPAT_HAS_TLS13 ? "TLSv1.3" : "TLSv1.2");
    size_t n;
    char buf[8];
    assert_int_equal(tls_sess_write(p.c, "ping", 4, &n), TLS_IO_OK);
    assert_int_equal(tls_sess_read(p.s, buf, sizeof(buf), &n), TLS_IO_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(tls_sess_write(p.s, "pong", 4, &n), TLS_IO_OK);
    assert_int_equal(tls_sess_read(p.c, buf, sizeof(buf), &n), TLS_IO_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "pong", 4);
    assert_int_equal(tls_conf_stats(cc)->handshakes, 1);
    for (int f = 0; f < TLS_FAIL_MAX; f++)
        assert_int_equal(tls_conf_stats(cc)->fail[f], 0);
    pair_close(&p);
    tls_conf_free(cc);
    tls_conf_free(sc);
}

/* Another name than the certificate's: refused as name_mismatch. */
static void test_origin_name_mismatch(void **state)
{
    (void)state;
    refused(&g.backend, "wrong.test", TLS_FAIL_NAME_MISMATCH, "not for 'wrong.test'");
    /* A name that only starts or ends like the certificate's does not match. */
    refused(&g.backend, "backend.test.evil", TLS_FAIL_NAME_MISMATCH, NULL);
    refused(&g.backend, "backend", TLS_FAIL_NAME_MISMATCH, NULL);
}

/* A wildcard DNS SAN matches one label, not two. */
static void test_origin_wildcard(void **state)
{
    (void)state;
    struct tls_conf *sc = server_conf(&g.wild);
    struct tls_conf *cc = origin_conf();
    struct pair p;
    pair_open(&p, cc, sc, "api.wild.test");
    pair_handshake(&p);
    if (p.cio != TLS_IO_OK)
        fail_msg("api.wild.test: %s", tls_sess_fail_msg(p.c));
    pair_close(&p);
    tls_conf_free(cc);
    tls_conf_free(sc);
    refused(&g.wild, "a.b.wild.test", TLS_FAIL_NAME_MISMATCH, NULL);
}

/* A chain that does not end at the CA file's certificates. */
static void test_origin_other_ca(void **state)
{
    (void)state;
    refused(&g.other_ca, "backend.test", TLS_FAIL_BAD_CHAIN, NULL);
}

static void test_origin_dates(void **state)
{
    (void)state;
    refused(&g.expired, "backend.test", TLS_FAIL_EXPIRED, NULL);
    refused(&g.future, "backend.test", TLS_FAIL_NOT_YET_VALID, NULL);
}

/* A mesh certificate (a SPIFFE ID, no DNS name; its CN is the name even). */
static void test_origin_spiffe_only(void **state)
{
    (void)state;
    refused(&g.spiffe, "backend.test", TLS_FAIL_NAME_MISMATCH, NULL);
}

/* No name: refused before anything is sent; no expected ID either. */
static void test_origin_needs_name(void **state)
{
    (void)state;
    struct tls_conf *sc = server_conf(&g.backend);
    struct tls_conf *cc = origin_conf();
    struct pair p;
    pair_open(&p, cc, sc, NULL);
    struct weft_err e = {{0}};
    assert_int_equal(tls_sess_expect_id(p.c, "spiffe://example.org/svc/backend", &e), -1);
    assert_non_null(strstr(e.msg, "server name"));
    assert_int_equal(tls_sess_handshake(p.c), TLS_IO_ERROR);
    assert_int_equal(tls_sess_fail(p.c), TLS_FAIL_NAME_MISMATCH);
    assert_non_null(strstr(tls_sess_fail_msg(p.c), "needs a server name"));
    assert_int_equal(evbuffer_get_length(p.c2s), 0);
    assert_int_equal(tls_conf_stats(cc)->fail[TLS_FAIL_NAME_MISMATCH], 1);
    /* Again: still refused, counted once. */
    assert_int_equal(tls_sess_handshake(p.c), TLS_IO_ERROR);
    assert_int_equal(tls_conf_stats(cc)->fail[TLS_FAIL_NAME_MISMATCH], 1);
    pair_close(&p);
    tls_conf_free(cc);
    tls_conf_free(sc);
}

/* The CA file: missing, no certificate, one unreadable among good ones. */
static void test_origin_ca_file(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    char missing[400];
    snprintf(missing, sizeof(missing), "%s/nope.pem", g.dir);
    assert_null(tls_conf_new_origin(missing, &e));
    assert_non_null(strstr(e.msg, missing));
    memset(&e, 0, sizeof(e));
    assert_null(tls_conf_new_origin(g.junk_path, &e));
    assert_non_null(strstr(e.msg, g.junk_path));
    memset(&e, 0, sizeof(e));
    struct tls_conf *cc = tls_conf_new_origin(g.mixed_path, &e);
    if (!cc)
        fail_msg("mixed CA file: %s", e.msg);
    /* The readable CA still verifies the server. */
    struct tls_conf *sc = server_conf(&g.backend);
    struct pair p;
    pair_open(&p, cc, sc, "backend.test");
    pair_handshake(&p);
    if (p.cio != TLS_IO_OK)
        fail_msg("mixed CA file: %s", tls_sess_fail_msg(p.c));
    pair_close(&p);
    tls_conf_free(cc);
    tls_conf_free(sc);
}

static void test_fail_name(void **state)
{
    (void)state;
    assert_string_equal(tls_fail_name(TLS_FAIL_NAME_MISMATCH), "name_mismatch");
    for (int f = 0; f < TLS_FAIL_MAX; f++)
        assert_string_not_equal(tls_fail_name((enum tls_fail)f), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_origin_ok),         cmocka_unit_test(test_origin_name_mismatch),
        cmocka_unit_test(test_origin_wildcard),   cmocka_unit_test(test_origin_other_ca),
        cmocka_unit_test(test_origin_dates),      cmocka_unit_test(test_origin_spiffe_only),
        cmocka_unit_test(test_origin_needs_name), cmocka_unit_test(test_origin_ca_file),
        cmocka_unit_test(test_fail_name),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
