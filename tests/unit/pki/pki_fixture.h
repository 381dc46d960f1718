/*
 * pki_fixture: what the pki unit tests share: a temp dir with a fresh CA
 * (trust domain example.org) and a place for bundles, and the fake wall
 * clock pinned at the real "now" (mbedtls_x509_crt_verify checks validity
 * against the real clock, but the test must know the window exactly).
 */
#ifndef WEFT_TESTS_PKI_FIXTURE_H
#define WEFT_TESTS_PKI_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

struct fixture {
    char dir[256]; /* the temp dir of this test, removed at teardown */
    char ca[300];  /* the CA made for every test */
    char out[300]; /* where bundles go */
    int64_t now;   /* fake wall clock, unix seconds */
};

/** dir/file into out; fails the test if it does not fit. */
void path(char *out, size_t cap, const char *dir, const char *file);
/** cmocka group setup/teardown: *state is a struct fixture. */
int pki_fixture_setup(void **state);
int pki_fixture_teardown(void **state);

#endif
