/*
 * test_ca_rotate: root rotation in a CA directory (pki/ca_rotate.h): the
 * three steps, what a loaded CA trusts and signs with in each phase, the
 * refusals, and recovery from a crash between any two file moves
 * (simulated by making the intermediate state by hand).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/sbuf.h"
#include "pki/ca.h"
#include "pki/ca_rotate.h"
#include "pki/issue.h"
#include "pki/renew.h"
#include "pki/x509.h"
#include "pki_fixture.h"

#include <mbedtls/x509_crt.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int exists(const char *dir, const char *file)
{
    char p[512];
    struct stat st;
    path(p, sizeof(p), dir, file);
    return lstat(p, &st) == 0;
}

/* SHA-256 fingerprint of the first certificate in dir/file. */
static void file_fp(const char *dir, const char *file, char out[65])
{
    struct pki_ca_info info;
    struct weft_err e = {{0}};
    assert_int_equal(pki_ca_info_read_file(dir, file, &info, &e), 0);
    memcpy(out, info.fingerprint, 65);
}

/* How many certificates the loaded CA's bundle holds. */
static int bundle_count(struct pki_ca *ca)
{
    struct sbuf pem;
    struct weft_err e = {{0}};
    mbedtls_x509_crt chain;
    int n = 0;
    sbuf_init(&pem);
    assert_int_equal(pki_ca_bundle_pem(ca, &pem, &e), 0);
    mbedtls_x509_crt_init(&chain);
    assert_int_equal(mbedtls_x509_crt_parse(&chain, (const unsigned char *)pem.data, pem.len + 1),
                     0);
    for (mbedtls_x509_crt *c = &chain; c && c->raw.p; c = c->next)
        n++;
    mbedtls_x509_crt_free(&chain);
    sbuf_deinit(&pem);
    return n;
}

/* A leaf issued by ca, parsed. */
static void issue_leaf(struct pki_ca *ca, int64_t now, mbedtls_x509_crt *leaf)
{
    struct sbuf key, pub, crt;
    struct weft_err e = {{0}};
    int64_t not_after;
    sbuf_init(&key);
    sbuf_init(&pub);
    sbuf_init(&crt);
    assert_int_equal(pki_renew_keypair(&key, &pub, &e), 0);
    assert_int_equal(pki_issue_for_pubkey(ca, SPIFFE_NODE, "n1", now, 3600, sbuf_str(&pub), &crt,
                                          &not_after, &e),
                     0);
    mbedtls_x509_crt_init(leaf);
    assert_int_equal(mbedtls_x509_crt_parse(leaf, (const unsigned char *)crt.data, crt.len + 1), 0);
    sbuf_deinit(&key);
    sbuf_deinit(&pub);
    sbuf_deinit(&crt);
}

static void test_three_steps(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    struct pki_ca_rotation rot;
    char old_fp[65], new_fp[65], fp[65];
    mbedtls_x509_crt old_leaf, new_leaf;

    file_fp(f->ca, PKI_CA_CRT_FILE, old_fp);
    struct pki_ca *ca = pki_ca_load(f->ca, &e);
    assert_non_null(ca);
    issue_leaf(ca, f->now, &old_leaf);
    pki_ca_free(ca);
    assert_int_equal(pki_ca_rotation_read(f->ca, &rot, &e), 0);
    assert_int_equal(rot.phase, PKI_CA_STEADY);
    assert_int_equal(rot.nroots, 1);

    /* Nothing to activate or retire yet. */
    assert_int_equal(pki_ca_rotate_activate(f->ca, &e), -1);
    assert_non_null(strstr(e.msg, "no next root to activate (rotation phase: steady)"));
    assert_int_equal(pki_ca_rotate_retire(f->ca, &e), -1);
    assert_non_null(strstr(e.msg, "no previous root to retire"));

    /* add: trusted, not signing. */
    assert_int_equal(pki_ca_rotate_add(f->ca, 3650, f->now, &e), 0);
    assert_true(exists(f->ca, PKI_CA_NEXT_KEY_FILE) && exists(f->ca, PKI_CA_NEXT_CRT_FILE));
    char p[512];
    struct stat st;
    path(p, sizeof(p), f->ca, PKI_CA_NEXT_KEY_FILE);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    file_fp(f->ca, PKI_CA_NEXT_CRT_FILE, new_fp);
    assert_string_not_equal(new_fp, old_fp);
    assert_int_equal(pki_ca_rotation_read(f->ca, &rot, &e), 0);
    assert_int_equal(rot.phase, PKI_CA_ADDED);
    assert_int_equal(rot.nroots, 2);
    assert_string_equal(rot.roles[1], "next");
    assert_string_equal(rot.roots[1].trust_domain, "example.org");
    assert_string_not_equal(rot.roots[0].subject, rot.roots[1].subject);
    assert_int_equal(pki_ca_rotate_add(f->ca, 3650, f->now, &e), -1);
    assert_non_null(strstr(e.msg, "activate the next root first"));
    assert_int_equal(pki_ca_rotate_retire(f->ca, &e), -1);
    ca = pki_ca_load(f->ca, &e);
    assert_non_null(ca);
    assert_int_equal(bundle_count(ca), 2);
    assert_int_equal(pki_ca_fingerprint(ca, fp, &e), 0);
    assert_string_equal(fp, old_fp);
    assert_int_equal(pki_ca_verify_leaf(ca, &old_leaf, &e), 0);
    pki_ca_free(ca);

    /* activate: the new root signs, the old one is still trusted. */
    assert_int_equal(pki_ca_rotate_activate(f->ca, &e), 0);
    assert_false(exists(f->ca, PKI_CA_JOURNAL_FILE));
    assert_false(exists(f->ca, PKI_CA_NEXT_KEY_FILE) || exists(f->ca, PKI_CA_NEXT_CRT_FILE));
    file_fp(f->ca, PKI_CA_CRT_FILE, fp);
    assert_string_equal(fp, new_fp);
    file_fp(f->ca, PKI_CA_PREV_CRT_FILE, fp);
    assert_string_equal(fp, old_fp);
    assert_int_equal(pki_ca_rotation_read(f->ca, &rot, &e), 0);
    assert_int_equal(rot.phase, PKI_CA_ACTIVATED);
    assert_string_equal(rot.roles[1], "previous");
    ca = pki_ca_load(f->ca, &e); /* also proves ca.key matches the new ca.crt */
    assert_non_null(ca);
    assert_int_equal(bundle_count(ca), 2);
    assert_int_equal(pki_ca_fingerprint(ca, fp, &e), 0);
    assert_string_equal(fp, new_fp);
    issue_leaf(ca, f->now, &new_leaf);
    assert_int_equal(pki_ca_verify_leaf(ca, &new_leaf, &e), 0);
    assert_int_equal(pki_ca_verify_leaf(ca, &old_leaf, &e), 0); /* proofs of old certificates */
    pki_ca_free(ca);

    /* retire: the old key deleted, its certificate kept aside. */
    assert_int_equal(pki_ca_rotate_retire(f->ca, &e), 0);
    assert_false(exists(f->ca, PKI_CA_PREV_KEY_FILE) || exists(f->ca, PKI_CA_PREV_CRT_FILE));
    char retired[64];
    snprintf(retired, sizeof(retired), "%s/%.16s.crt", PKI_CA_RETIRED_DIR, old_fp);
    file_fp(f->ca, retired, fp);
    assert_string_equal(fp, old_fp);
    assert_int_equal(pki_ca_rotation_read(f->ca, &rot, &e), 0);
    assert_int_equal(rot.phase, PKI_CA_STEADY);
    ca = pki_ca_load(f->ca, &e);
    assert_non_null(ca);
    assert_int_equal(bundle_count(ca), 1);
    assert_int_equal(pki_ca_verify_leaf(ca, &new_leaf, &e), 0);
    assert_int_equal(pki_ca_verify_leaf(ca, &old_leaf, &e), -1);
    pki_ca_free(ca);

    /* And a second rotation can start. */
    assert_int_equal(pki_ca_rotate_add(f->ca, 10, f->now, &e), 0);
    mbedtls_x509_crt_free(&old_leaf);
    mbedtls_x509_crt_free(&new_leaf);
}

static void write_journal(const char *dir, const char *step)
{
    char p[512];
    path(p, sizeof(p), dir, PKI_CA_JOURNAL_FILE);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fprintf(fp, "%s\n", step);
    fclose(fp);
}

static void do_link(const char *dir, const char *a, const char *b)
{
    char pa[512], pb[512];
    path(pa, sizeof(pa), dir, a);
    path(pb, sizeof(pb), dir, b);
    assert_int_equal(link(pa, pb), 0);
}

static void do_rename(const char *dir, const char *a, const char *b)
{
    char pa[512], pb[512];
    path(pa, sizeof(pa), dir, a);
    path(pb, sizeof(pb), dir, b);
    assert_int_equal(rename(pa, pb), 0);
}

/* After a (simulated) crash in activate, loading finishes it. */
static void check_activated(const char *dir, const char *old_fp, const char *new_fp)
{
    struct weft_err e = {{0}};
    char fp[65];
    struct pki_ca *ca = pki_ca_load(dir, &e);
    assert_non_null(ca);
    assert_int_equal(pki_ca_fingerprint(ca, fp, &e), 0);
    assert_string_equal(fp, new_fp);
    assert_int_equal(bundle_count(ca), 2);
    pki_ca_free(ca);
    file_fp(dir, PKI_CA_PREV_CRT_FILE, fp);
    assert_string_equal(fp, old_fp);
    assert_false(exists(dir, PKI_CA_JOURNAL_FILE));
    assert_false(exists(dir, PKI_CA_NEXT_KEY_FILE) || exists(dir, PKI_CA_NEXT_CRT_FILE));
}

static void test_crash_in_activate(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    char old_fp[65], new_fp[65];
    file_fp(f->ca, PKI_CA_CRT_FILE, old_fp);

    /* 1: the journal written, nothing moved. */
    assert_int_equal(pki_ca_rotate_add(f->ca, 3650, f->now, &e), 0);
    file_fp(f->ca, PKI_CA_NEXT_CRT_FILE, new_fp);
    write_journal(f->ca, "activate");
    check_activated(f->ca, old_fp, new_fp);
    assert_int_equal(pki_ca_rotate_retire(f->ca, &e), 0);

    /* 2: prev.key linked, prev.crt not yet. */
    file_fp(f->ca, PKI_CA_CRT_FILE, old_fp);
    assert_int_equal(pki_ca_rotate_add(f->ca, 3650, f->now, &e), 0);
    file_fp(f->ca, PKI_CA_NEXT_CRT_FILE, new_fp);
    write_journal(f->ca, "activate");
    do_link(f->ca, PKI_CA_KEY_FILE, PKI_CA_PREV_KEY_FILE);
    check_activated(f->ca, old_fp, new_fp);
    assert_int_equal(pki_ca_rotate_retire(f->ca, &e), 0);

    /* 3: the worst moment: ca.key is new, ca.crt still old. */
    file_fp(f->ca, PKI_CA_CRT_FILE, old_fp);
    assert_int_equal(pki_ca_rotate_add(f->ca, 3650, f->now, &e), 0);
    file_fp(f->ca, PKI_CA_NEXT_CRT_FILE, new_fp);
    write_journal(f->ca, "activate");
    do_link(f->ca, PKI_CA_KEY_FILE, PKI_CA_PREV_KEY_FILE);
    do_link(f->ca, PKI_CA_CRT_FILE, PKI_CA_PREV_CRT_FILE);
    do_rename(f->ca, PKI_CA_NEXT_KEY_FILE, PKI_CA_KEY_FILE);
    struct pki_ca_rotation rot;
    assert_int_equal(pki_ca_rotation_read(f->ca, &rot, &e), 0); /* recovers too */
    assert_int_equal(rot.phase, PKI_CA_ACTIVATED);
    check_activated(f->ca, old_fp, new_fp);

    /* 4: every move done, only the journal left. */
    assert_int_equal(pki_ca_rotate_retire(f->ca, &e), 0);
    file_fp(f->ca, PKI_CA_CRT_FILE, old_fp);
    assert_int_equal(pki_ca_rotate_add(f->ca, 3650, f->now, &e), 0);
    file_fp(f->ca, PKI_CA_NEXT_CRT_FILE, new_fp);
    assert_int_equal(pki_ca_rotate_activate(f->ca, &e), 0);
    write_journal(f->ca, "activate");
    check_activated(f->ca, old_fp, new_fp);
}

static void test_crash_in_retire_and_add(void **state)
{
    struct fixture *f = *state;
    struct weft_err e = {{0}};
    char old_fp[65], retired[64];
    file_fp(f->ca, PKI_CA_CRT_FILE, old_fp);
    assert_int_equal(pki_ca_rotate_add(f->ca, 3650, f->now, &e), 0);
    assert_int_equal(pki_ca_rotate_activate(f->ca, &e), 0);

    /* retire interrupted after the key was deleted: loading finishes it. */
    write_journal(f->ca, "retire");
    char p[512];
    path(p, sizeof(p), f->ca, PKI_CA_PREV_KEY_FILE);
    assert_int_equal(unlink(p), 0);
    struct pki_ca *ca = pki_ca_load(f->ca, &e);
    assert_non_null(ca);
    assert_int_equal(bundle_count(ca), 1);
    pki_ca_free(ca);
    snprintf(retired, sizeof(retired), "%s/%.16s.crt", PKI_CA_RETIRED_DIR, old_fp);
    assert_true(exists(f->ca, retired));
    assert_false(exists(f->ca, PKI_CA_JOURNAL_FILE) || exists(f->ca, PKI_CA_PREV_CRT_FILE));

    /* add interrupted before next.crt: a leftover key, the phase is steady,
     * and add starts over. */
    path(p, sizeof(p), f->ca, PKI_CA_NEXT_KEY_FILE);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("leftover\n", fp);
    fclose(fp);
    struct pki_ca_rotation rot;
    assert_int_equal(pki_ca_rotation_read(f->ca, &rot, &e), 0);
    assert_int_equal(rot.phase, PKI_CA_STEADY);
    assert_int_equal(pki_ca_rotate_add(f->ca, 3650, f->now, &e), 0);
    assert_int_equal(pki_ca_rotate_activate(f->ca, &e), 0); /* the new key matches */
    ca = pki_ca_load(f->ca, &e);
    assert_non_null(ca);
    pki_ca_free(ca);

    /* A journal naming something unknown stops the load, says what. */
    write_journal(f->ca, "explode");
    assert_null(pki_ca_load(f->ca, &e));
    assert_non_null(strstr(e.msg, "names an unknown step 'explode'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_three_steps, pki_fixture_setup, pki_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_crash_in_activate, pki_fixture_setup,
                                        pki_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_crash_in_retire_and_add, pki_fixture_setup,
                                        pki_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
