/*
 * test_statement: CA-signed statements (pki/statement.h): verified by the
 * CA's root, refused when tampered with, replayed under another kind or
 * name, signed by another CA, or malformed; during a rotation signed by
 * both roots, so a node that trusts either one verifies it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/sbuf.h"
#include "pki/ca.h"
#include "pki/ca_rotate.h"
#include "pki/statement.h"
#include "pki/x509.h"
#include "pki_fixture.h"

#include <stdio.h>
#include <string.h>

static void read_pem(const char *dir, const char *file, struct sbuf *out)
{
    char p[512];
    struct weft_err e = {{0}};
    path(p, sizeof(p), dir, file);
    assert_int_equal(pki_x509_file_read(p, out, &e), 0);
}

static int verify(const char *roots, const char *kind, const char *name, const struct sbuf *body,
                  struct weft_err *e)
{
    const char *payload = NULL;
    size_t len = 0;
    int rc = pki_statement_verify(roots, kind, name, body->data, body->len, &payload, &len, e);
    if (rc == 0) {
        assert_int_equal(len, strlen("bundle-pem\n"));
        assert_memory_equal(payload, "bundle-pem\n", len);
    }
    return rc;
}

static void test_sign_verify(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    struct sbuf body, roots, other_roots;
    char other[400];
    sbuf_init(&body);
    sbuf_init(&roots);
    sbuf_init(&other_roots);
    struct pki_ca *ca = pki_ca_load(f->ca, &e);
    assert_non_null(ca);
    assert_int_equal(pki_statement_sign(ca, "trust-bundle", "roots", "bundle-pem\n", &body, &e), 0);
    read_pem(f->ca, PKI_CA_CRT_FILE, &roots);
    assert_int_equal(verify(sbuf_str(&roots), "trust-bundle", "roots", &body, &e), 0);
    /* One signature line, then the empty line. */
    assert_int_equal(strncmp(body.data, "signature = ", 12), 0);
    assert_non_null(strstr(body.data, "\n\nbundle-pem\n"));

    /* Replayed under another kind or name. */
    assert_int_equal(verify(sbuf_str(&roots), "trust-bundle", "other", &body, &e), -1);
    assert_non_null(strstr(e.msg, "does not verify"));
    assert_int_equal(verify(sbuf_str(&roots), "revocation", "roots", &body, &e), -1);
    /* Tampered payload. */
    struct sbuf bad;
    sbuf_init(&bad);
    sbuf_append(&bad, body.data, body.len);
    bad.data[bad.len - 2] ^= 1;
    assert_int_equal(verify(sbuf_str(&roots), "trust-bundle", "roots", &bad, &e), -1);
    /* Another CA's roots. */
    snprintf(other, sizeof(other), "%s/other-ca", f->dir);
    assert_int_equal(pki_ca_init(other, "example.org", 30, &e), 0);
    read_pem(other, PKI_CA_CRT_FILE, &other_roots);
    assert_int_equal(verify(sbuf_str(&other_roots), "trust-bundle", "roots", &body, &e), -1);
    assert_non_null(strstr(e.msg, "not signed by a root this node trusts"));
    /* Malformed bodies: refused with a message, never a crash. */
    static const char *const junk[] = {
        "", "\n", "payload only", "signature = zz\n\nx", "signature = \n\nx", "nope = 1\n\nx"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        struct sbuf j;
        sbuf_init(&j);
        sbuf_puts(&j, junk[i]);
        const char *pl;
        size_t pll;
        assert_int_equal(pki_statement_verify(sbuf_str(&roots), "k", "n", j.data ? j.data : "",
                                              j.len, &pl, &pll, &e),
                         -1);
        sbuf_deinit(&j);
    }
    pki_ca_free(ca);

    /* During a rotation: two signatures; either root alone verifies. */
    assert_int_equal(pki_ca_rotate_add(f->ca, 30, f->now, &e), 0);
    ca = pki_ca_load(f->ca, &e);
    assert_non_null(ca);
    assert_int_equal(pki_statement_sign(ca, "trust-bundle", "roots", "bundle-pem\n", &body, &e), 0);
    pki_ca_free(ca);
    const char *second = strstr(body.data + 1, "signature = ");
    assert_non_null(second);
    struct sbuf next;
    sbuf_init(&next);
    read_pem(f->ca, PKI_CA_NEXT_CRT_FILE, &next);
    assert_int_equal(verify(sbuf_str(&roots), "trust-bundle", "roots", &body, &e), 0);
    assert_int_equal(verify(sbuf_str(&next), "trust-bundle", "roots", &body, &e), 0);
    sbuf_deinit(&next);
    sbuf_deinit(&bad);
    sbuf_deinit(&body);
    sbuf_deinit(&roots);
    sbuf_deinit(&other_roots);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sign_verify, pki_fixture_setup, pki_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
