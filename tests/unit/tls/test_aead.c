/*
 * tls/aead: AES-GCM known answers from the GCM specification's test cases
 * (McGrew & Viega, "The Galois/Counter Mode of Operation", the vectors NIST's
 * GCMVS also uses), then tamper and key-length checks. Run against mbedTLS
 * 2.28 and 3.6 alike.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls/aead.h"

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

struct kat {
    const char *key, *iv, *pt, *aad, *ct, *tag;
};

static const struct kat kats[] = {
    /* Test Case 2: AES-128, zero key, one zero block, no AAD. */
    {"00000000000000000000000000000000", "000000000000000000000000",
     "00000000000000000000000000000000", "", "0388dace60b6a392f328c2b971b2fe78",
     "ab6e47d42cec13bdf53a67b21257bddf"},
    /* Test Case 4: AES-128, 60-byte plaintext, 20 bytes of AAD. */
    {"feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6"
     "b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84"
     "aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    /* Test Case 16: AES-256 (memberlist's usual key size), with AAD. */
    {"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6"
     "b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b105682"
     "8838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

static void test_known_answers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
        uint8_t key[32], iv[12], pt[64], aad[32], ct[64], tag[16], out[80], back[64];
        size_t kl = unhex(kats[i].key, key);
        unhex(kats[i].iv, iv);
        size_t pl = unhex(kats[i].pt, pt);
        size_t al = unhex(kats[i].aad, aad);
        size_t cl = unhex(kats[i].ct, ct);
        unhex(kats[i].tag, tag);
        assert_int_equal(pl, cl);
        struct weft_err e = {{0}};
        assert_int_equal(tls_aead_seal(key, kl, iv, al ? aad : NULL, al, pt, pl, out, &e), 0);
        assert_memory_equal(out, ct, cl);
        assert_memory_equal(out + cl, tag, 16);
        assert_int_equal(tls_aead_open(key, kl, iv, al ? aad : NULL, al, out, cl + 16, back, &e),
                         0);
        assert_memory_equal(back, pt, pl);
    }
}

static void test_tamper_and_bad_input(void **state)
{
    (void)state;
    const struct kat *k = &kats[2];
    uint8_t key[32], iv[12], pt[64], aad[32], out[80], back[64];
    size_t kl = unhex(k->key, key);
    unhex(k->iv, iv);
    size_t pl = unhex(k->pt, pt);
    size_t al = unhex(k->aad, aad);
    struct weft_err e = {{0}};
    assert_int_equal(tls_aead_seal(key, kl, iv, aad, al, pt, pl, out, &e), 0);
    /* One flipped bit anywhere: ciphertext, tag, AAD, nonce or key. */
    out[3] ^= 1;
    assert_int_equal(tls_aead_open(key, kl, iv, aad, al, out, pl + 16, back, &e), -1);
    assert_non_null(strstr(e.msg, "authentication failed"));
    out[3] ^= 1;
    out[pl + 15] ^= 0x80;
    assert_int_equal(tls_aead_open(key, kl, iv, aad, al, out, pl + 16, back, &e), -1);
    out[pl + 15] ^= 0x80;
    aad[0] ^= 1;
    assert_int_equal(tls_aead_open(key, kl, iv, aad, al, out, pl + 16, back, &e), -1);
    aad[0] ^= 1;
    assert_int_equal(tls_aead_open(key, kl, iv, NULL, 0, out, pl + 16, back, &e), -1);
    iv[11] ^= 1;
    assert_int_equal(tls_aead_open(key, kl, iv, aad, al, out, pl + 16, back, &e), -1);
    iv[11] ^= 1;
    key[31] ^= 1;
    assert_int_equal(tls_aead_open(key, kl, iv, aad, al, out, pl + 16, back, &e), -1);
    key[31] ^= 1;
    assert_int_equal(tls_aead_open(key, kl, iv, aad, al, out, pl + 16, back, &e), 0);
    /* Shorter than a tag, bad key sizes. */
    assert_int_equal(tls_aead_open(key, kl, iv, NULL, 0, out, 15, back, &e), -1);
    assert_non_null(strstr(e.msg, "shorter than the tag"));
    assert_int_equal(tls_aead_seal(key, 20, iv, NULL, 0, pt, pl, out, &e), -1);
    assert_int_equal(tls_aead_open(key, 0, iv, NULL, 0, out, pl + 16, back, &e), -1);
    /* Empty plaintext: the output is the tag alone. */
    assert_int_equal(tls_aead_seal(key, 16, iv, NULL, 0, pt, 0, out, &e), 0);
    assert_int_equal(tls_aead_open(key, 16, iv, NULL, 0, out, 16, back, &e), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_tamper_and_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
