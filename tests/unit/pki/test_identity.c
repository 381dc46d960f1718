/*
 * pki/identity: a node's identity loaded from an enrollment bundle written by
 * pki_bundle_write (a real CA in a temp dir, fake wall clock), checked, and
 * kept in a real store.
 *
 *   good bundle                  every field filled, issuer = the CA's fingerprint
 *   [node] name / trust_domain   refused, the message says what differs
 *   a key of another cert        refused ("does not match")
 *   bundle.crt of another CA     refused ("does not chain")
 *   expired node certificate     loads (dates are not mbedTLS's call), then
 *                                pki_identity_check_expiry refuses it with
 *                                the date and how to re-enroll
 *   store round trip             same serials and IDs; the replacement rule
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
#include "pki/identity.h"
#include "store/store.h"
#include "tls/tls.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DAY INT64_C(86400)

/* struct fixture, path(), setup and teardown: pki_fixture.h. */

/* Write a bundle for gw-01 with services web and db into out. */
static void write_bundle(const char *ca, const char *out, int node_days)
{
    struct weft_err e = {{0}};
    static const char *const svcs[] = {"web", "db"};
    struct pki_bundle_opts o = {ca, out, "gw-01", svcs, 2, node_days, 24};
    if (pki_bundle_write(&o, &e) != 0)
        fail_msg("pki_bundle_write: %s", e.msg);
}

/* Copy file src over dst. */
static void copy_file(const char *src, const char *dst)
{
    char buf[8192];
    FILE *in = fopen(src, "rb");
    assert_non_null(in);
    size_t n = fread(buf, 1, sizeof(buf), in);
    fclose(in);
    FILE *o = fopen(dst, "wb");
    assert_non_null(o);
    assert_int_equal(fwrite(buf, 1, n, o), n);
    fclose(o);
}

static void test_good(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    struct pki_ca_info info;
    write_bundle(f->ca, f->out, 90);
    assert_int_equal(pki_ca_info_read(f->ca, &info, &e), 0);

    struct pki_identity *id = pki_identity_load_dir(f->out, "gw-01", "example.org", &e);
    if (!id)
        fail_msg("%s", e.msg);
    assert_int_equal(id->nidents, 3);
    assert_int_equal(id->nroots, 1);
    assert_string_equal(id->idents[0].spiffe_id, "spiffe://example.org/node/gw-01");
    assert_string_equal(id->idents[1].spiffe_id, "spiffe://example.org/svc/db"); /* sorted */
    assert_string_equal(id->idents[2].spiffe_id, "spiffe://example.org/svc/web");
    assert_string_equal(id->roots[0].fingerprint, info.fingerprint);
    assert_int_equal(id->roots[0].not_after, info.not_after_unix);
    for (size_t i = 0; i < id->nidents; i++) {
        const struct pki_ident *it = &id->idents[i];
        assert_string_equal(it->issuer_fp, info.fingerprint);
        assert_int_equal(strlen(it->serial), 32);
        assert_int_equal(it->not_before, f->now - 60);
        assert_non_null(strstr(it->key_pem, "PRIVATE KEY"));
    }
    assert_int_equal(id->idents[0].not_after, f->now + 90 * DAY);
    assert_int_equal(id->idents[2].not_after, f->now + DAY);
    assert_int_equal(pki_identity_check_expiry(id, f->now, &e), 0);
    pki_identity_free(id);
}

static void test_mismatch(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    write_bundle(f->ca, f->out, 90);

    assert_null(pki_identity_load_dir(f->out, "gw-02", "example.org", &e));
    assert_non_null(strstr(e.msg, "node.crt is spiffe://example.org/node/gw-01: its name "
                                  "'gw-01' is not [node] name 'gw-02'"));
    assert_null(strstr(e.msg, "trust domain"));

    memset(&e, 0, sizeof(e));
    assert_null(pki_identity_load_dir(f->out, "gw-01", "other.org", &e));
    assert_non_null(strstr(e.msg, "its trust domain 'example.org' is not [node] trust_domain "
                                  "'other.org'"));
    assert_null(strstr(e.msg, "its name"));

    memset(&e, 0, sizeof(e));
    assert_null(pki_identity_load_dir(f->out, "gw-02", "other.org", &e));
    assert_non_null(strstr(e.msg, "trust_domain 'other.org', and its name 'gw-01'"));
}

static void test_wrong_key(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    char src[400], dst[400];
    write_bundle(f->ca, f->out, 90);
    path(src, sizeof(src), f->out, "node.key");
    path(dst, sizeof(dst), f->out, "svc-web.key");
    copy_file(src, dst);
    assert_null(pki_identity_load_dir(f->out, "gw-01", "example.org", &e));
    assert_non_null(strstr(e.msg, "the key of svc-web.crt does not match the certificate"));
    assert_null(strstr(e.msg, "PRIVATE"));
}

static void test_other_ca(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    char other[400], src[400], dst[400];
    write_bundle(f->ca, f->out, 90);
    path(other, sizeof(other), f->dir, "other-ca");
    assert_int_equal(pki_ca_init(other, "example.org", 30, &e), 0);
    path(src, sizeof(src), other, "ca.crt");
    path(dst, sizeof(dst), f->out, PKI_BUNDLE_TRUST);
    copy_file(src, dst);
    assert_null(pki_identity_load_dir(f->out, "gw-01", "example.org", &e));
    assert_non_null(strstr(e.msg, "node.crt (spiffe://example.org/node/gw-01) does not chain to "
                                  "a CA of bundle.crt"));
    assert_null(strchr(e.msg, '\n'));
}

static void test_expired(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    /* Issued 10 days ago for 1 day: really expired, also for mbedTLS. */
    fakeclock_set_wall_ms((f->now - 10 * DAY) * 1000);
    write_bundle(f->ca, f->out, 1);
    fakeclock_set_wall_ms(f->now * 1000);
    struct pki_identity *id = pki_identity_load_dir(f->out, "gw-01", "example.org", &e);
    if (!id)
        fail_msg("%s", e.msg);
    int64_t na = id->idents[0].not_after;
    assert_int_equal(na, f->now - 9 * DAY);
    char when[21];
    pki_identity_time_iso(na, when);
    assert_int_equal(pki_identity_check_expiry(id, f->now, &e), -1);
    assert_non_null(strstr(e.msg, "node certificate spiffe://example.org/node/gw-01 expired on"));
    assert_non_null(strstr(e.msg, when));
    assert_non_null(strstr(e.msg, "weft ca issue --ca CA_DIR --node gw-01"));
    assert_non_null(strstr(e.msg, "[identity] bundle"));
    /* The boundary: valid until not_after, expired at it. */
    assert_int_equal(pki_identity_check_expiry(id, na - 1, &e), 0);
    assert_int_equal(pki_identity_check_expiry(id, na, &e), -1);
    pki_identity_free(id);
}

static void test_store(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    char data[400], out2[400];
    path(data, sizeof(data), f->dir, "data");
    path(out2, sizeof(out2), f->dir, "bundle2");
    write_bundle(f->ca, f->out, 90);
    fakeclock_set_wall_ms((f->now + 3600) * 1000);
    write_bundle(f->ca, out2, 90); /* an hour later: a newer bundle */
    fakeclock_set_wall_ms(f->now * 1000);

    struct store *st = store_open(data, &e);
    assert_non_null(st);
    struct pki_identity *got = NULL;
    assert_int_equal(pki_identity_load_store(st, "gw-01", "example.org", &got, &e), 0);
    assert_null(got); /* empty store */

    struct pki_identity *a = pki_identity_load_dir(f->out, "gw-01", "example.org", &e);
    struct pki_identity *b = pki_identity_load_dir(out2, "gw-01", "example.org", &e);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(pki_identity_save(a, st, &e), 0);
    assert_int_equal(pki_identity_load_store(st, "gw-01", "example.org", &got, &e), 0);
    assert_non_null(got);
    assert_int_equal(got->nidents, a->nidents);
    assert_int_equal(got->nroots, 1);
    for (size_t i = 0; i < a->nidents; i++) {
        assert_string_equal(got->idents[i].spiffe_id, a->idents[i].spiffe_id);
        assert_string_equal(got->idents[i].serial, a->idents[i].serial);
        assert_string_equal(got->idents[i].key_pem, a->idents[i].key_pem);
        assert_int_equal(got->idents[i].not_after, a->idents[i].not_after);
    }
    assert_string_equal(got->roots[0].fingerprint, a->roots[0].fingerprint);

    /* The rule: same serial: keep; later not_after: replace; earlier: keep. */
    assert_int_equal(pki_identity_newer(a, got), 0);
    assert_int_equal(pki_identity_newer(b, got), 1);
    assert_int_equal(pki_identity_newer(got, b), 0);

    /* The stored copy is checked against the config like a bundle. */
    struct pki_identity *bad = NULL;
    assert_int_equal(pki_identity_load_store(st, "gw-02", "example.org", &bad, &e), -1);
    assert_null(bad);
    assert_non_null(strstr(e.msg, "the identity kept in the store"));

    /* Replacing leaves exactly the new rows. */
    assert_int_equal(pki_identity_save(b, st, &e), 0);
    pki_identity_free(got);
    assert_int_equal(pki_identity_load_store(st, "gw-01", "example.org", &got, &e), 0);
    assert_int_equal(got->nidents, 3);
    assert_string_equal(got->idents[0].serial, b->idents[0].serial);

    pki_identity_free(got);
    pki_identity_free(a);
    pki_identity_free(b);
    store_close(st);
}

static void test_missing(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    assert_null(pki_identity_load_dir(f->out, "gw-01", "example.org", &e));
    assert_non_null(strstr(e.msg, "cannot open the bundle directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good, pki_fixture_setup, pki_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_mismatch, pki_fixture_setup, pki_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key, pki_fixture_setup, pki_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_other_ca, pki_fixture_setup, pki_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_expired, pki_fixture_setup, pki_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_store, pki_fixture_setup, pki_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_missing, pki_fixture_setup, pki_fixture_teardown),
    };
    return cmocka_run_group_tests_name("pki_identity", tests, NULL, NULL);
}
