/*
 * test_renew: online renewal's pieces (pki/renew.h, pki_issue_for_pubkey).
 *
 * The schedule with the fake wall clock: a certificate issued "now" for
 * 24 h renews at exactly 2/3 of its lifetime minus a jitter that stays in
 * [0, lifetime/30], is the same for the same serial and differs across
 * serials; the backoff doubles from 2 s to its 5 min cap. Issuing for a
 * public key: the certificate carries that key and the caller's clock, and
 * chains to the CA; a non-P-256 or garbage key is refused. Proofs of
 * possession: accepted for the right service, node and new key; refused for
 * another node, another new key, another service, a key of another
 * certificate, a certificate of another CA, bad hex.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/clock.h"
#include "fakes/fakeclock.h"
#include "pki/ca.h"
#include "pki/issue.h"
#include "pki/renew.h"
#include "pki/x509.h"
#include "tls/tls_compat.h"
#include "pki_fixture.h"

#include <mbedtls/x509_crt.h>

#include <stdio.h>
#include <string.h>

#define HOUR INT64_C(3600)
#define DAY INT64_C(86400)

static void test_schedule(void **state)
{
    struct fixture *f = *state;
    /* Exact point: 2/3 of the lifetime when the jitter is 0; with a
     * 24 h lifetime the jitter is at most 48 minutes. */
    int64_t nb = f->now, na = f->now + 24 * HOUR;
    assert_int_equal(pki_renew_jitter_max(24 * HOUR), 48 * 60);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    char serial[40];
    for (int i = 0; i < 2000; i++) {
        snprintf(serial, sizeof(serial), "%032x", (unsigned)i * 2654435761u);
        int64_t at = pki_renew_at(nb, na, serial);
        assert_true(at <= nb + 16 * HOUR);
        assert_true(at >= nb + 16 * HOUR - 48 * 60);
        assert_int_equal(at, pki_renew_at(nb, na, serial)); /* stable */
        lo = at < lo ? at : lo;
        hi = at > hi ? at : hi;
    }
    /* The jitter spreads: over 2000 serials both ends of the window are near. */
    assert_true(hi - lo > 40 * 60);
    /* Odd lifetimes: floor(2 * life / 3), no overflow for long ones. */
    assert_int_equal(pki_renew_at(0, 5, ""), 3); /* jitter max 0 under 30 s */
    assert_int_equal(pki_renew_at(0, 3, "00"), 2);
    assert_int_equal(pki_renew_at(7, 7 + 29, "ff"), 7 + 19);
    int64_t far = INT64_C(100) * 365 * DAY;
    assert_true(pki_renew_at(0, far, "ab") <= far / 3 * 2);
    assert_true(pki_renew_at(0, far, "ab") >= far / 3 * 2 - far / 30);
    /* A degenerate certificate is due at once. */
    assert_int_equal(pki_renew_at(100, 100, "x"), 100);

    /* A real certificate issued at the fake "now": due exactly from its
     * point on, judged by the (fake) wall clock as the agent does. */
    struct weft_err e = {{0}};
    struct pki_ca *ca = pki_ca_load(f->ca, &e);
    assert_non_null(ca);
    struct pki_leaf leaf;
    pki_leaf_init(&leaf);
    assert_int_equal(pki_issue_leaf(ca, SPIFFE_SVC, "web", 24 * HOUR, &leaf, &e), 0);
    mbedtls_x509_crt c;
    mbedtls_x509_crt_init(&c);
    assert_int_equal(
        mbedtls_x509_crt_parse(&c, (const unsigned char *)leaf.crt_pem.data, leaf.crt_pem.len + 1),
        0);
    char hex[80];
    for (size_t i = 0; i < c.serial.len && 2 * i + 2 < sizeof(hex); i++)
        snprintf(hex + 2 * i, 3, "%02x", c.serial.p[i]);
    int64_t from = pki_x509_time_unix(&c.valid_from), to = pki_x509_time_unix(&c.valid_to);
    assert_int_equal(from, f->now - PKI_BACKDATE_S);
    assert_int_equal(to, f->now + 24 * HOUR);
    int64_t at = pki_renew_at(from, to, hex);
    int64_t life = to - from;
    assert_true(at <= from + life * 2 / 3 && at >= from + life * 2 / 3 - life / 30);
    fakeclock_set_wall_ms((at - 1) * 1000);
    assert_false(pki_renew_at(from, to, hex) <= clock_wall_ms() / 1000);
    fakeclock_set_wall_ms(at * 1000);
    assert_true(pki_renew_at(from, to, hex) <= clock_wall_ms() / 1000);
    mbedtls_x509_crt_free(&c);
    pki_leaf_deinit(&leaf);
    pki_ca_free(ca);
}

static void test_backoff(void **state)
{
    (void)state;
    assert_int_equal(pki_renew_backoff_ms(1), 2000);
    assert_int_equal(pki_renew_backoff_ms(2), 4000);
    assert_int_equal(pki_renew_backoff_ms(3), 8000);
    assert_int_equal(pki_renew_backoff_ms(8), 256000);
    assert_int_equal(pki_renew_backoff_ms(9), PKI_RENEW_BACKOFF_MAX_MS);
    assert_int_equal(pki_renew_backoff_ms(1000), PKI_RENEW_BACKOFF_MAX_MS);
}

/* A new key pair and a certificate for its public key, issued at `at`. */
static void issue_pub(struct pki_ca *ca, enum spiffe_kind kind, const char *name, int64_t at,
                      struct sbuf *key, struct sbuf *crt)
{
    struct weft_err e = {{0}};
    struct sbuf pub;
    int64_t na;
    sbuf_init(&pub);
    if (pki_renew_keypair(key, &pub, &e) != 0)
        fail_msg("keypair: %s", e.msg);
    assert_non_null(strstr(sbuf_str(&pub), "-----BEGIN PUBLIC KEY-----"));
    if (pki_issue_for_pubkey(ca, kind, name, at, DAY, sbuf_str(&pub), crt, &na, &e) != 0)
        fail_msg("issue: %s", e.msg);
    assert_int_equal(na, at + DAY);
    sbuf_deinit(&pub);
}

static void test_issue_for_pubkey(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    struct pki_ca *ca = pki_ca_load(f->ca, &e);
    assert_non_null(ca);
    struct sbuf key, crt;
    sbuf_init(&key);
    sbuf_init(&crt);
    int64_t at = f->now + 10 * DAY; /* the caller's clock, not the wall clock */
    issue_pub(ca, SPIFFE_SVC, "web", at, &key, &crt);

    mbedtls_x509_crt c;
    mbedtls_x509_crt_init(&c);
    assert_int_equal(mbedtls_x509_crt_parse(&c, (const unsigned char *)crt.data, crt.len + 1), 0);
    assert_int_equal(pki_x509_time_unix(&c.valid_from), at - PKI_BACKDATE_S);
    assert_int_equal(pki_x509_time_unix(&c.valid_to), at + DAY);
    assert_int_equal(pki_ca_verify_leaf(ca, &c, &e), 0);
    /* The certificate carries the caller's key. */
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    assert_int_equal(tls_compat_pk_parse_key(&pk, (const unsigned char *)key.data, key.len + 1,
                                             pki_x509_rng, NULL),
                     0);
    assert_int_equal(tls_compat_pk_check_pair(&c.pk, &pk, pki_x509_rng, NULL), 0);
    mbedtls_pk_free(&pk);
    mbedtls_x509_crt_free(&c);

    int64_t na;
    assert_int_equal(pki_issue_for_pubkey(ca, SPIFFE_SVC, "web", at, DAY, "garbage", &crt, &na, &e),
                     -1);
    assert_non_null(strstr(e.msg, "does not parse"));
    assert_int_equal(pki_issue_for_pubkey(ca, SPIFFE_SVC, "web", at, DAY, NULL, &crt, &na, &e), -1);
    assert_int_equal(pki_issue_for_pubkey(ca, SPIFFE_SVC, "a/b", at, DAY, "x", &crt, &na, &e), -1);
    /* Never past the CA. */
    struct sbuf pub;
    sbuf_init(&pub);
    assert_int_equal(pki_renew_keypair(&key, &pub, &e), 0);
    assert_int_equal(
        pki_issue_for_pubkey(ca, SPIFFE_SVC, "web", at, 36500 * DAY, sbuf_str(&pub), &crt, &na, &e),
        -1);
    assert_non_null(strstr(e.msg, "outlive its CA"));
    sbuf_deinit(&pub);
    sbuf_deinit(&key);
    sbuf_deinit(&crt);
    pki_ca_free(ca);
}

static void test_proof(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    struct pki_ca *ca = pki_ca_load(f->ca, &e);
    assert_non_null(ca);
    struct sbuf key, crt, key2, crt2, pub, pub2, sig;
    sbuf_init(&key);
    sbuf_init(&crt);
    sbuf_init(&key2);
    sbuf_init(&crt2);
    sbuf_init(&pub);
    sbuf_init(&pub2);
    sbuf_init(&sig);
    /* The service's current certificate, long expired: still a proof. */
    issue_pub(ca, SPIFFE_SVC, "web", f->now - 30 * DAY, &key, &crt);
    issue_pub(ca, SPIFFE_SVC, "db", f->now, &key2, &crt2);
    assert_int_equal(pki_renew_keypair(&key2, &pub, &e), 0);
    assert_int_equal(pki_renew_keypair(&key2, &pub2, &e), 0);
    const char *n1 = "spiffe://example.org/node/n1";

    assert_int_equal(pki_renew_prove(sbuf_str(&key), n1, sbuf_str(&pub), &sig, &e), 0);
    if (pki_renew_check_proof(ca, sbuf_str(&crt), "web", n1, sbuf_str(&pub), sbuf_str(&sig), &e))
        fail_msg("good proof refused: %s", e.msg);
    /* Bound to the caller and to the new key. */
    assert_int_equal(pki_renew_check_proof(ca, sbuf_str(&crt), "web",
                                           "spiffe://example.org/node/n2", sbuf_str(&pub),
                                           sbuf_str(&sig), &e),
                     -1);
    assert_non_null(strstr(e.msg, "does not verify"));
    assert_int_equal(
        pki_renew_check_proof(ca, sbuf_str(&crt), "web", n1, sbuf_str(&pub2), sbuf_str(&sig), &e),
        -1);
    /* Another service's certificate does not prove web. */
    assert_int_equal(
        pki_renew_check_proof(ca, sbuf_str(&crt2), "web", n1, sbuf_str(&pub), sbuf_str(&sig), &e),
        -1);
    assert_non_null(strstr(e.msg, "is not spiffe://example.org/svc/web"));
    /* Signed with the key of another certificate. */
    struct sbuf sig2;
    sbuf_init(&sig2);
    assert_int_equal(pki_renew_prove(sbuf_str(&key2), n1, sbuf_str(&pub), &sig2, &e), 0);
    assert_int_equal(
        pki_renew_check_proof(ca, sbuf_str(&crt), "web", n1, sbuf_str(&pub), sbuf_str(&sig2), &e),
        -1);
    /* Malformed. */
    assert_int_equal(pki_renew_check_proof(ca, sbuf_str(&crt), "web", n1, sbuf_str(&pub), "zz", &e),
                     -1);
    assert_non_null(strstr(e.msg, "hex"));
    assert_int_equal(pki_renew_check_proof(ca, sbuf_str(&crt), "web", n1, sbuf_str(&pub), "", &e),
                     -1);
    assert_int_equal(
        pki_renew_check_proof(ca, "not a cert", "web", n1, sbuf_str(&pub), sbuf_str(&sig), &e), -1);
    assert_int_equal(pki_renew_check_proof(ca, NULL, "web", n1, sbuf_str(&pub), sbuf_str(&sig), &e),
                     -1);

    /* A certificate of another CA (same trust domain) proves nothing. */
    char other[400];
    path(other, sizeof(other), f->dir, "other");
    assert_int_equal(pki_ca_init(other, "example.org", 10, &e), 0);
    struct pki_ca *oca = pki_ca_load(other, &e);
    assert_non_null(oca);
    struct sbuf okey, ocrt, osig;
    sbuf_init(&okey);
    sbuf_init(&ocrt);
    sbuf_init(&osig);
    issue_pub(oca, SPIFFE_SVC, "web", f->now, &okey, &ocrt);
    assert_int_equal(pki_renew_prove(sbuf_str(&okey), n1, sbuf_str(&pub), &osig, &e), 0);
    assert_int_equal(
        pki_renew_check_proof(ca, sbuf_str(&ocrt), "web", n1, sbuf_str(&pub), sbuf_str(&osig), &e),
        -1);
    assert_non_null(strstr(e.msg, "not issued by this CA"));
    pki_ca_free(oca);
    sbuf_deinit(&okey);
    sbuf_deinit(&ocrt);
    sbuf_deinit(&osig);

    sbuf_deinit(&sig2);
    sbuf_deinit(&key);
    sbuf_deinit(&crt);
    sbuf_deinit(&key2);
    sbuf_deinit(&crt2);
    sbuf_deinit(&pub);
    sbuf_deinit(&pub2);
    sbuf_deinit(&sig);
    pki_ca_free(ca);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schedule, pki_fixture_setup, pki_fixture_teardown),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test_setup_teardown(test_issue_for_pubkey, pki_fixture_setup,
                                        pki_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_proof, pki_fixture_setup, pki_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
