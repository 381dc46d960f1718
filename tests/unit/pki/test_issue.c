/*
 * pki/ca, issue, bundle: every certificate weft writes is parsed back with
 * mbedTLS (the same library version it was written with: 2.28 in one build,
 * 3.6 in the other) and checked field by field: the one URI SAN, extended
 * and plain key usage, CA flags, serial length and sign, the exact validity
 * window (fake wall clock), the chain (mbedtls_x509_crt_verify), and the
 * files: modes, no overwrite, nothing left behind on failure.
 *
 *   CA dir (ca.key, ca.crt) --sign--> node.crt, svc-*.crt   (one temp dir per test)
 *   other CA dir ------------------> a leaf that must not verify
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fakes/fakeclock.h"
#include "pki_fixture.h"
#include "pki/bundle.h"
#include "pki/ca.h"
#include "pki/issue.h"
#include "pki/x509.h"
#include "tls/tls.h"
#include "tls/tls_compat.h"

#include <mbedtls/oid.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DAY INT64_C(86400)

/* struct fixture, path(), setup and teardown: pki_fixture.h. */

static void crt_parse(mbedtls_x509_crt *crt, const char *pem)
{
    mbedtls_x509_crt_init(crt);
    int rc = mbedtls_x509_crt_parse(crt, (const unsigned char *)pem, strlen(pem) + 1);
    if (rc != 0)
        fail_msg("mbedtls_x509_crt_parse: -0x%04x", (unsigned)-rc);
}

static void crt_parse_file(mbedtls_x509_crt *crt, const char *file)
{
    mbedtls_x509_crt_init(crt);
    int rc = mbedtls_x509_crt_parse_file(crt, file);
    if (rc != 0)
        fail_msg("%s: -0x%04x", file, (unsigned)-rc);
}

/* Exactly one SAN, a URI, equal to want. */
static void assert_one_uri_san(const mbedtls_x509_crt *crt, const char *want)
{
    size_t n = 0;
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s && s->buf.p; s = s->next) {
        n++;
        assert_int_equal(s->buf.tag, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 6); /* URI, not DNS (2) */
        assert_int_equal(s->buf.len, strlen(want));
        assert_memory_equal(s->buf.p, want, strlen(want));
    }
    assert_int_equal(n, 1);
}

static size_t seq_len(const mbedtls_x509_sequence *s)
{
    size_t n = 0;
    for (; s && s->buf.p; s = s->next)
        n++;
    return n;
}

static void assert_serial_ok(const mbedtls_x509_crt *crt)
{
    assert_int_equal(crt->serial.len, PKI_SERIAL_LEN); /* 128 bits, no 0x00 pad */
    assert_int_equal(crt->serial.p[0] & 0x80, 0);      /* positive */
    assert_int_not_equal(crt->serial.p[0], 0);         /* minimal encoding */
}

static void assert_window(const mbedtls_x509_crt *crt, int64_t from, int64_t to)
{
    assert_int_equal(pki_x509_time_unix(&crt->valid_from), from);
    assert_int_equal(pki_x509_time_unix(&crt->valid_to), to);
}

static void test_root(void **state)
{
    struct fixture *f = *state;
    char p[400];
    mbedtls_x509_crt root;
    path(p, sizeof(p), f->ca, PKI_CA_CRT_FILE);
    crt_parse_file(&root, p);
    assert_int_equal(root.version, 3);
    assert_int_equal(root.WEFT_MBEDTLS_PRIV(ca_istrue), 1);
    assert_int_equal(root.WEFT_MBEDTLS_PRIV(max_pathlen), 1); /* mbedTLS stores pathlen + 1 */
    assert_int_equal(root.WEFT_MBEDTLS_PRIV(key_usage),
                     MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN);
    assert_one_uri_san(&root, "spiffe://example.org");
    assert_serial_ok(&root);
    assert_window(&root, f->now - PKI_BACKDATE_S, f->now + 3650 * DAY);
    assert_int_equal(mbedtls_pk_get_type(&root.pk), MBEDTLS_PK_ECKEY);
    assert_int_equal(mbedtls_pk_get_bitlen(&root.pk), 256);
    char dn[256];
    assert_true(mbedtls_x509_dn_gets(dn, sizeof(dn), &root.subject) > 0);
    assert_string_equal(dn, "CN=weft root CA example.org");
    assert_int_equal(root.subject_raw.len, root.issuer_raw.len); /* self-signed */
    assert_memory_equal(root.subject_raw.p, root.issuer_raw.p, root.issuer_raw.len);
    /* It verifies against itself as the trust anchor. */
    uint32_t flags = 0;
    assert_int_equal(mbedtls_x509_crt_verify(&root, &root, NULL, NULL, &flags, NULL, NULL), 0);

    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    path(p, sizeof(p), f->ca, PKI_CA_KEY_FILE);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(stat(f->ca, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);

    /* ca show: fingerprint is SHA-256 of the DER. */
    struct pki_ca_info info;
    struct weft_err e = {{0}};
    char fp[65];
    assert_int_equal(pki_ca_info_read(f->ca, &info, &e), 0);
    assert_int_equal(pki_x509_sha256_hex(root.raw.p, root.raw.len, fp, &e), 0);
    assert_string_equal(info.fingerprint, fp);
    assert_string_equal(info.trust_domain, "example.org");
    assert_int_equal(info.not_after_unix, f->now + 3650 * DAY);
    mbedtls_x509_crt_free(&root);
}

static void test_leaf(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    struct pki_ca *ca = pki_ca_load(f->ca, &e);
    assert_non_null(ca);
    assert_string_equal(pki_ca_trust_domain(ca), "example.org");

    struct pki_leaf a, b;
    pki_leaf_init(&a);
    pki_leaf_init(&b);
    assert_int_equal(pki_issue_leaf(ca, SPIFFE_SVC, "web", 24 * 3600, &a, &e), 0);
    assert_int_equal(pki_issue_leaf(ca, SPIFFE_NODE, "gw-01", 90 * DAY, &b, &e), 0);
    assert_string_equal(a.id, "spiffe://example.org/svc/web");
    assert_string_equal(b.id, "spiffe://example.org/node/gw-01");
    assert_int_equal(a.not_after, f->now + 24 * 3600);

    mbedtls_x509_crt leaf, leaf2, root;
    char p[400];
    crt_parse(&leaf, a.crt_pem.data);
    crt_parse(&leaf2, b.crt_pem.data);
    path(p, sizeof(p), f->ca, PKI_CA_CRT_FILE);
    crt_parse_file(&root, p);

    assert_int_equal(leaf.version, 3);
    assert_one_uri_san(&leaf, "spiffe://example.org/svc/web");
    assert_one_uri_san(&leaf2, "spiffe://example.org/node/gw-01");
    /* Key usage: digitalSignature only; never a CA. */
    assert_int_equal(leaf.WEFT_MBEDTLS_PRIV(key_usage), MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
    assert_int_equal(mbedtls_x509_crt_check_key_usage(&leaf, MBEDTLS_X509_KU_DIGITAL_SIGNATURE), 0);
    assert_int_not_equal(mbedtls_x509_crt_check_key_usage(&leaf, MBEDTLS_X509_KU_KEY_CERT_SIGN), 0);
    assert_int_equal(leaf.WEFT_MBEDTLS_PRIV(ca_istrue), 0);
    assert_true(leaf.WEFT_MBEDTLS_PRIV(ext_types) & MBEDTLS_X509_EXT_BASIC_CONSTRAINTS);
    /* EKU: exactly serverAuth and clientAuth. */
    assert_int_equal(seq_len(&leaf.ext_key_usage), 2);
    assert_int_equal(mbedtls_x509_crt_check_extended_key_usage(
                         &leaf, MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)),
                     0);
    assert_int_equal(mbedtls_x509_crt_check_extended_key_usage(
                         &leaf, MBEDTLS_OID_CLIENT_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)),
                     0);
    assert_int_not_equal(
        mbedtls_x509_crt_check_extended_key_usage(&leaf, MBEDTLS_OID_CODE_SIGNING,
                                                  MBEDTLS_OID_SIZE(MBEDTLS_OID_CODE_SIGNING)),
        0);
    /* Serials: 128-bit, positive, and not the same twice. */
    assert_serial_ok(&leaf);
    assert_serial_ok(&leaf2);
    assert_memory_not_equal(leaf.serial.p, leaf2.serial.p, PKI_SERIAL_LEN);
    /* Lifetimes: service 24 h, node 90 days, both backdated one minute. */
    assert_window(&leaf, f->now - PKI_BACKDATE_S, f->now + 24 * 3600);
    assert_window(&leaf2, f->now - PKI_BACKDATE_S, f->now + 90 * DAY);
    /* Issuer = the root's subject, byte for byte. */
    assert_int_equal(leaf.issuer_raw.len, root.subject_raw.len);
    assert_memory_equal(leaf.issuer_raw.p, root.subject_raw.p, root.subject_raw.len);
    char dn[128];
    assert_true(mbedtls_x509_dn_gets(dn, sizeof(dn), &leaf.subject) > 0);
    assert_string_equal(dn, "CN=web");

    /* The chain verifies, for serverAuth and clientAuth profiles alike. */
    uint32_t flags = 0;
    assert_int_equal(mbedtls_x509_crt_verify(&leaf, &root, NULL, NULL, &flags, NULL, NULL), 0);
    assert_int_equal(mbedtls_x509_crt_verify(&leaf2, &root, NULL, NULL, &flags, NULL, NULL), 0);

    /* The key in the PEM is the certificate's, a P-256 key. */
    mbedtls_pk_context key;
    mbedtls_pk_init(&key);
    assert_int_equal(tls_compat_pk_parse_key(&key, (const unsigned char *)a.key_pem.data,
                                             a.key_pem.len + 1, pki_x509_rng, NULL),
                     0);
    assert_int_equal(tls_compat_pk_check_pair(&leaf.pk, &key, pki_x509_rng, NULL), 0);
    assert_int_equal(mbedtls_pk_get_bitlen(&key), 256);
    assert_int_not_equal(tls_compat_pk_check_pair(&leaf2.pk, &key, pki_x509_rng, NULL), 0);
    mbedtls_pk_free(&key);

    mbedtls_x509_crt_free(&leaf);
    mbedtls_x509_crt_free(&leaf2);
    mbedtls_x509_crt_free(&root);
    pki_leaf_deinit(&a);
    pki_leaf_deinit(&b);
    pki_leaf_deinit(&b); /* safe twice */
    pki_ca_free(ca);
    pki_ca_free(NULL);
}

static void test_leaf_refusals(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    char other[400];
    struct pki_ca *ca = pki_ca_load(f->ca, &e);
    struct pki_leaf l;
    assert_non_null(ca);
    pki_leaf_init(&l);
    assert_int_equal(pki_issue_leaf(ca, SPIFFE_SVC, "a/b", 3600, &l, &e), -1);
    assert_non_null(strstr(e.msg, "contains '/'"));
    assert_int_equal(pki_issue_leaf(ca, SPIFFE_SVC, "web", 0, &l, &e), -1);
    /* A leaf never outlives its CA. */
    path(other, sizeof(other), f->dir, "short-ca");
    assert_int_equal(pki_ca_init(other, "example.org", 1, &e), 0);
    struct pki_ca *shortca = pki_ca_load(other, &e);
    assert_non_null(shortca);
    assert_int_equal(pki_issue_leaf(shortca, SPIFFE_NODE, "gw", 90 * DAY, &l, &e), -1);
    assert_non_null(strstr(e.msg, "outlive"));
    assert_int_equal(pki_issue_leaf(shortca, SPIFFE_SVC, "web", 3600, &l, &e), 0);

    /* A leaf of one CA does not verify against another. */
    mbedtls_x509_crt leaf, root;
    char p[500];
    crt_parse(&leaf, l.crt_pem.data);
    path(p, sizeof(p), f->ca, PKI_CA_CRT_FILE);
    crt_parse_file(&root, p);
    uint32_t flags = 0;
    assert_int_not_equal(mbedtls_x509_crt_verify(&leaf, &root, NULL, NULL, &flags, NULL, NULL), 0);
    assert_true(flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED);
    mbedtls_x509_crt_free(&leaf);
    mbedtls_x509_crt_free(&root);
    pki_leaf_deinit(&l);
    pki_ca_free(shortca);
    pki_ca_free(ca);
}

static void test_ca_refusals(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    char p[400], q[400];
    struct sbuf before, after;
    sbuf_init(&before);
    sbuf_init(&after);
    path(p, sizeof(p), f->ca, PKI_CA_KEY_FILE);
    assert_int_equal(pki_x509_file_read(p, &before, &e), 0);
    /* Never overwrite a CA; the key is untouched. */
    assert_int_equal(pki_ca_init(f->ca, "example.org", 10, &e), -1);
    assert_non_null(strstr(e.msg, "refusing to overwrite"));
    assert_int_equal(pki_x509_file_read(p, &after, &e), 0);
    assert_string_equal(before.data, after.data);
    /* Bad trust domain or lifetime: nothing created. */
    path(q, sizeof(q), f->dir, "ca2");
    assert_int_equal(pki_ca_init(q, "Example.org", 10, &e), -1);
    assert_non_null(strstr(e.msg, "lowercase"));
    assert_int_equal(pki_ca_init(q, "example.org", 0, &e), -1);
    assert_int_equal(pki_ca_init(q, "example.org", PKI_CA_DAYS_MAX + 1, &e), -1);
    assert_int_not_equal(access(q, F_OK), 0);
    /* A key that does not match the certificate is refused at load. */
    assert_int_equal(pki_ca_init(q, "example.org", 10, &e), 0);
    path(p, sizeof(p), q, PKI_CA_KEY_FILE);
    unlink(p);
    path(q, sizeof(q), f->ca, PKI_CA_KEY_FILE);
    assert_int_equal(pki_x509_file_create(p, before.data, before.len, 0600, &e), 0);
    path(q, sizeof(q), f->dir, "ca2");
    assert_null(pki_ca_load(q, &e));
    assert_non_null(strstr(e.msg, "does not belong"));
    assert_null(pki_ca_load(f->dir, &e)); /* no ca.crt */
    assert_non_null(strstr(e.msg, "no CA in"));
    sbuf_deinit(&before);
    sbuf_deinit(&after);
}

static void test_bundle(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    static const char *const svcs[] = {"web", "db"};
    struct pki_bundle_opts o = {f->ca, f->out, "gw-01", svcs, 2, 90, 24};
    assert_int_equal(pki_bundle_write(&o, &e), 0);

    static const struct {
        const char *file;
        unsigned mode;
    } want[] = {{"node.key", 0600},    {"node.crt", 0644},    {"svc-web.key", 0600},
                {"svc-web.crt", 0644}, {"svc-db.key", 0600},  {"svc-db.crt", 0644},
                {"bundle.crt", 0644},  {"manifest.ini", 0644}};
    char p[400];
    struct stat st;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        path(p, sizeof(p), f->out, want[i].file);
        assert_int_equal(stat(p, &st), 0);
        if ((st.st_mode & 07777) != want[i].mode)
            fail_msg("%s: mode %o", want[i].file, st.st_mode & 07777);
    }
    assert_int_equal(stat(f->out, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);

    mbedtls_x509_crt trust, node, db;
    path(p, sizeof(p), f->out, "bundle.crt");
    crt_parse_file(&trust, p);
    path(p, sizeof(p), f->out, "node.crt");
    crt_parse_file(&node, p);
    path(p, sizeof(p), f->out, "svc-db.crt");
    crt_parse_file(&db, p);
    assert_one_uri_san(&node, "spiffe://example.org/node/gw-01");
    assert_one_uri_san(&db, "spiffe://example.org/svc/db");
    assert_window(&node, f->now - PKI_BACKDATE_S, f->now + 90 * DAY);
    assert_window(&db, f->now - PKI_BACKDATE_S, f->now + 24 * 3600);
    uint32_t flags = 0;
    assert_int_equal(mbedtls_x509_crt_verify(&node, &trust, NULL, NULL, &flags, NULL, NULL), 0);
    assert_int_equal(mbedtls_x509_crt_verify(&db, &trust, NULL, NULL, &flags, NULL, NULL), 0);
    mbedtls_x509_crt_free(&trust);
    mbedtls_x509_crt_free(&node);
    mbedtls_x509_crt_free(&db);

    struct sbuf m;
    sbuf_init(&m);
    path(p, sizeof(p), f->out, "manifest.ini");
    assert_int_equal(pki_x509_file_read(p, &m, &e), 0);
    assert_non_null(strstr(m.data, "trust_domain = example.org\n"));
    assert_non_null(strstr(m.data, "[node]\nname = gw-01\nid = spiffe://example.org/node/gw-01\n"));
    assert_non_null(strstr(m.data, "[svc.db]\nid = spiffe://example.org/svc/db\n"));
    assert_null(strstr(m.data, "PRIVATE KEY")); /* no key material outside the .key files */
    sbuf_deinit(&m);

    /* Again into the same dir: refused before anything is written. */
    assert_int_equal(pki_bundle_write(&o, &e), -1);
    assert_non_null(strstr(e.msg, "refusing to overwrite"));
}

static void test_bundle_refusals(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    static const char *const dup[] = {"web", "web"};
    static const char *const bad[] = {"web", "../x"};
    static const char *const one[] = {"web"};
    struct pki_bundle_opts o = {f->ca, f->out, "gw-01", dup, 2, 90, 24};
    assert_int_equal(pki_bundle_write(&o, &e), -1);
    assert_non_null(strstr(e.msg, "twice"));
    o.services = bad;
    assert_int_equal(pki_bundle_write(&o, &e), -1);
    assert_non_null(strstr(e.msg, "service name '../x'"));
    o.services = one;
    o.nservices = 1;
    o.node = "gw/01";
    assert_int_equal(pki_bundle_write(&o, &e), -1);
    assert_non_null(strstr(e.msg, "node name"));
    o.node = "gw-01";
    o.node_days = 0;
    assert_int_equal(pki_bundle_write(&o, &e), -1);
    o.node_days = 90;
    o.svc_hours = PKI_SVC_HOURS_MAX + 1;
    assert_int_equal(pki_bundle_write(&o, &e), -1);
    o.svc_hours = 24;
    assert_int_not_equal(access(f->out, F_OK), 0); /* nothing was created */
    /* A node lifetime past the CA's: refused, and nothing left behind. */
    char shortca[400];
    path(shortca, sizeof(shortca), f->dir, "short-ca");
    assert_int_equal(pki_ca_init(shortca, "example.org", 30, &e), 0);
    o.ca_dir = shortca;
    assert_int_equal(pki_bundle_write(&o, &e), -1);
    assert_non_null(strstr(e.msg, "outlive"));
    assert_int_not_equal(access(f->out, F_OK), 0);
}

static void test_time_format(void **state)
{
    struct weft_err e = {{0}};
    char t[PKI_TIME_LEN], iso[21];
    assert_int_equal(pki_x509_time_format(0, t, &e), 0);
    assert_string_equal(t, "19700101000000");
    assert_int_equal(pki_x509_time_format(1700000000, t, &e), 0);
    assert_string_equal(t, "20231114221320");
    /* Past 2038 with no time_t involved (32-bit ARM). */
    assert_int_equal(pki_x509_time_format(INT64_C(4102444799), t, &e), 0);
    assert_string_equal(t, "20991231235959");
    assert_int_equal(pki_x509_time_format(INT64_C(951782400), t, &e), 0); /* leap day */
    assert_string_equal(t, "20000229000000");
    assert_int_equal(pki_x509_time_format(INT64_C(253402300800), t, &e), -1); /* year 10000 */
    pki_x509_unix_iso(1700000000, iso);
    assert_string_equal(iso, "2023-11-14T22:13:20Z");
    mbedtls_x509_time xt = {2099, 12, 31, 23, 59, 59};
    assert_int_equal(pki_x509_time_unix(&xt), INT64_C(4102444799));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_root, pki_fixture_setup, pki_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_leaf, pki_fixture_setup, pki_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_leaf_refusals, pki_fixture_setup,
                                        pki_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_ca_refusals, pki_fixture_setup, pki_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bundle, pki_fixture_setup, pki_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bundle_refusals, pki_fixture_setup,
                                        pki_fixture_teardown),
        cmocka_unit_test(test_time_format),
    };
    return cmocka_run_group_tests_name("pki_issue", tests, NULL, NULL);
}
