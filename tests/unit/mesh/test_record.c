/*
 * test_record: mesh records (src/mesh/record.c): what a valid key, writer
 * and record are, the one-line errors (non-printables escaped), the total
 * order, and the hashes (SipHash-2-4 against the reference vectors).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/record.h"

static void test_siphash_vectors(void **state)
{
    (void)state;
    /* The reference implementation's vectors: key 00..0f, message
     * 00 01 02 ... of length 0, 1, 7, 8, 15, 63 (siphash24 vectors.h). */
    uint8_t msg[64];
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    uint64_t k0 = UINT64_C(0x0706050403020100), k1 = UINT64_C(0x0f0e0d0c0b0a0908);
    assert_int_equal(mesh_siphash(k0, k1, msg, 0), UINT64_C(0x726fdb47dd0e0e31));
    assert_int_equal(mesh_siphash(k0, k1, msg, 1), UINT64_C(0x74f839c593dc67fd));
    assert_int_equal(mesh_siphash(k0, k1, msg, 7), UINT64_C(0xab0200f58b01d137));
    assert_int_equal(mesh_siphash(k0, k1, msg, 8), UINT64_C(0x93f5f5799a932462));
    assert_int_equal(mesh_siphash(k0, k1, msg, 15), UINT64_C(0xa129ca6149be45e5));
    assert_int_equal(mesh_siphash(k0, k1, msg, 63), UINT64_C(0x958a324ceb064572));
}

static void test_keys(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    char k32[33], k33[34], n128[129], n129[130];
    memset(k32, 'a', 32);
    k32[32] = '\0';
    memset(k33, 'a', 33);
    k33[33] = '\0';
    memset(n128, 'N', 128);
    n128[128] = '\0';
    memset(n129, 'N', 129);
    n129[129] = '\0';
    const char *good_kinds[] = {"policy", "upstream-defaults", "a", "a1-", k32};
    for (size_t i = 0; i < 5; i++)
        if (mesh_kind_check(good_kinds[i], &e) != 0)
            fail_msg("kind '%s' refused: %s", good_kinds[i], e.msg);
    const char *bad_kinds[] = {"",        "1abc",    "-a", "Policy", "po_licy",
                               "po licy", "po.licy", k33,  "\x01x"};
    for (size_t i = 0; i < 9; i++)
        if (mesh_kind_check(bad_kinds[i], &e) != -1)
            fail_msg("kind '%s' accepted", bad_kinds[i]);
    const char *good_names[] = {"allow-sensors", "A.b_c-d@e/f", "x", "a/b/c", ".hidden", n128, "*"};
    for (size_t i = 0; i < 7; i++)
        if (mesh_name_check(good_names[i], &e) != 0)
            fail_msg("name '%s' refused: %s", good_names[i], e.msg);
    const char *bad_names[] = {"",  "/abs", "a..b", "..", "a b", "a\nb",
                               "é", "a:b",  n129,   "**", "a*"};
    for (size_t i = 0; i < 11; i++)
        if (mesh_name_check(bad_names[i], &e) != -1)
            fail_msg("name '%s' accepted", bad_names[i]);
    /* Errors are one line and show non-printables escaped. */
    assert_int_equal(mesh_name_check("ab\ncd\x7f", &e), -1);
    assert_null(strchr(e.msg, '\n'));
    assert_non_null(strstr(e.msg, "ab\\x0acd\\x7f"));
    assert_non_null(strstr(e.msg, "byte 3"));
    /* Long values are cut in the message. */
    assert_int_equal(mesh_name_check(n129, &e), -1);
    assert_non_null(strstr(e.msg, "..."));
    assert_true(strlen(e.msg) < 200);
}

static void test_writer_and_record(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    char w256[257], w257[258];
    memset(w256, 'w', 256);
    w256[256] = '\0';
    memset(w257, 'w', 257);
    w257[257] = '\0';
    assert_int_equal(mesh_writer_check("spiffe://mesh.example/node/gw-1", &e), 0);
    assert_int_equal(mesh_writer_check(w256, &e), 0);
    assert_int_equal(mesh_writer_check(w257, &e), -1);
    assert_int_equal(mesh_writer_check("", &e), -1);
    assert_int_equal(mesh_writer_check("a b", &e), -1);
    assert_int_equal(mesh_writer_check("a\x80", &e), -1);
    assert_non_null(strstr(e.msg, "\\x80"));

    static uint8_t big[MESH_BODY_MAX + 1];
    struct mesh_record r = {.kind = "policy",
                            .name = "p1",
                            .hlc = 5,
                            .writer = "w",
                            .body = big,
                            .body_len = MESH_BODY_MAX};
    assert_int_equal(mesh_record_check(&r, &e), 0);
    r.body_len = MESH_BODY_MAX + 1;
    assert_int_equal(mesh_record_check(&r, &e), -1);
    assert_string_equal(e.msg, "policy/p1: body of 16385 bytes over 16384");
    r.body_len = 3;
    r.deleted = true;
    assert_int_equal(mesh_record_check(&r, &e), -1);
    assert_string_equal(e.msg, "policy/p1: a tombstone with a body");
    r.body_len = 0;
    assert_int_equal(mesh_record_check(&r, &e), 0);
    r.writer = "bad writer";
    assert_int_equal(mesh_record_check(&r, &e), -1);
    assert_non_null(strstr(e.msg, "policy/p1: writer"));
    r.writer = "w";
    r.kind = "Bad";
    assert_int_equal(mesh_record_check(&r, &e), -1);
    r.kind = NULL;
    assert_int_equal(mesh_record_check(&r, &e), -1);
}

static void test_order(void **state)
{
    (void)state;
    struct mesh_record a = {.kind = "k",
                            .name = "n",
                            .hlc = 10,
                            .writer = "b",
                            .body = (const uint8_t *)"xyz",
                            .body_len = 3};
    struct mesh_record b = a;
    assert_int_equal(mesh_record_cmp(&a, &b), 0);
    assert_false(mesh_record_newer(&a, &b));
    /* hlc first, whatever else differs. */
    b.hlc = 11;
    b.writer = "a";
    b.deleted = false;
    assert_true(mesh_record_newer(&b, &a));
    assert_true(mesh_record_cmp(&a, &b) < 0);
    /* Then writer bytes. */
    b = a;
    b.writer = "c";
    assert_true(mesh_record_newer(&b, &a));
    b.writer = "ba";
    assert_true(mesh_record_newer(&b, &a));
    /* Then a tombstone beats a live record. */
    b = a;
    b.deleted = true;
    b.body_len = 0;
    assert_true(mesh_record_newer(&b, &a));
    assert_false(mesh_record_newer(&a, &b));
    /* Then body bytes; a proper prefix sorts first. */
    b = a;
    b.body = (const uint8_t *)"xz";
    b.body_len = 2;
    assert_true(mesh_record_newer(&b, &a));
    b.body = (const uint8_t *)"xy";
    assert_true(mesh_record_newer(&a, &b));
    b.body = (const uint8_t *)"\xff";
    b.body_len = 1;
    assert_true(mesh_record_newer(&b, &a)); /* bytes compare unsigned */
    /* Antisymmetric and total over a set of small variations. */
    const char *writers[] = {"a", "b", "ab"};
    const char *bodies[] = {"", "a", "b", "ab"};
    struct mesh_record v[2 * 3 * 2 * 4];
    size_t n = 0;
    for (int h = 0; h < 2; h++)
        for (int w = 0; w < 3; w++)
            for (int d = 0; d < 2; d++)
                for (int bo = 0; bo < 4; bo++) {
                    if (d && bo)
                        continue;
                    v[n++] = (struct mesh_record){.kind = "k",
                                                  .name = "n",
                                                  .hlc = (uint64_t)h,
                                                  .writer = writers[w],
                                                  .deleted = d,
                                                  .body = (const uint8_t *)bodies[bo],
                                                  .body_len = strlen(bodies[bo])};
                }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            int c1 = mesh_record_cmp(&v[i], &v[j]), c2 = mesh_record_cmp(&v[j], &v[i]);
            assert_int_equal(c1, -c2);
            assert_int_equal(c1 == 0, i == j);
            for (size_t k = 0; k < n; k++)
                if (c1 < 0 && mesh_record_cmp(&v[j], &v[k]) < 0)
                    assert_true(mesh_record_cmp(&v[i], &v[k]) < 0);
        }
}

static void test_hashes(void **state)
{
    (void)state;
    struct mesh_record a = {.kind = "policy", .name = "p", .hlc = 1, .writer = "w"};
    uint64_t h0 = mesh_record_hash(&a);
    /* Every field changes the hash. */
    struct mesh_record b = a;
    b.hlc = 2;
    assert_int_not_equal(mesh_record_hash(&b), h0);
    b = a;
    b.writer = "x";
    assert_int_not_equal(mesh_record_hash(&b), h0);
    b = a;
    b.deleted = true;
    assert_int_not_equal(mesh_record_hash(&b), h0);
    b = a;
    b.body = (const uint8_t *)"x";
    b.body_len = 1;
    assert_int_not_equal(mesh_record_hash(&b), h0);
    b = a;
    b.name = "q";
    assert_int_not_equal(mesh_record_hash(&b), h0);
    /* Field boundaries are unambiguous: ("ab","c") vs ("a","bc"). */
    assert_int_not_equal(mesh_key_hash("ab", "c"), mesh_key_hash("a", "bc"));
    /* Buckets spread: 4096 keys fill every one of the 256 buckets. */
    int seen[256] = {0};
    char name[16];
    for (int i = 0; i < 4096; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        seen[mesh_key_bucket("policy", name)]++;
    }
    for (int b2 = 0; b2 < 256; b2++)
        assert_true(seen[b2] > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_vectors),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_writer_and_record),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_hashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
