/*
 * cipherspeed: mbedTLS's own single-core AEAD speed, for tools/bench/proxy.sh
 * to set weft's mTLS throughput beside (the same mbedTLS library the weft
 * build links; Debian's libmbedtls-dev ships no benchmark program).
 *
 *   cipherspeed [SECONDS]
 *
 * Seals 16 KiB records (a full TLS record) in a loop, with a 13-byte
 * additional data and a fresh nonce per record, for SECONDS (default 2)
 * of CPU time per AEAD: ChaCha20-Poly1305 (mbedtls_chachapoly) and
 * AES-128-GCM / AES-256-GCM (mbedtls_gcm). Prints one line per AEAD:
 * "NAME MB" per second of CPU time (MB = 10^6 bytes), so other processes on
 * a busy machine do not lower the figure. Buffers are static.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/chachapoly.h>
#include <mbedtls/gcm.h>

#define CS_REC 16384

static double cs_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned char cs_in[CS_REC], cs_out[CS_REC], cs_key[32], cs_ad[13], cs_tag[16];

static void cs_report(const char *name, uint64_t n, double dt)
{
    printf("%s %.0f\n", name, (double)n * CS_REC / dt / 1e6);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    memset(cs_in, 0xa5, sizeof(cs_in));
    memset(cs_key, 7, sizeof(cs_key));
    unsigned char nonce[12] = {0};
    uint64_t n;
    double t0;

    mbedtls_chachapoly_context cc;
    mbedtls_chachapoly_init(&cc);
    mbedtls_chachapoly_setkey(&cc, cs_key);
    for (n = 0, t0 = cs_now(); cs_now() - t0 < secs; n++) {
        memcpy(nonce, &n, sizeof(n));
        if (mbedtls_chachapoly_encrypt_and_tag(&cc, CS_REC, nonce, cs_ad, sizeof(cs_ad), cs_in,
                                               cs_out, cs_tag) != 0)
            return 1;
    }
    cs_report("CHACHA20-POLY1305", n, cs_now() - t0);
    mbedtls_chachapoly_free(&cc);

    for (unsigned bits = 128; bits <= 256; bits += 128) {
        mbedtls_gcm_context g;
        mbedtls_gcm_init(&g);
        if (mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, cs_key, bits) != 0)
            return 1;
        for (n = 0, t0 = cs_now(); cs_now() - t0 < secs; n++) {
            memcpy(nonce, &n, sizeof(n));
            if (mbedtls_gcm_crypt_and_tag(&g, MBEDTLS_GCM_ENCRYPT, CS_REC, nonce, sizeof(nonce),
                                          cs_ad, sizeof(cs_ad), cs_in, cs_out, sizeof(cs_tag),
                                          cs_tag) != 0)
                return 1;
        }
        cs_report(bits == 128 ? "AES-128-GCM" : "AES-256-GCM", n, cs_now() - t0);
        mbedtls_gcm_free(&g);
    }
    return 0;
}
