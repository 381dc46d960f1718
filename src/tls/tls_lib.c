#include "tls/tls.h"

#include "tls/tls_compat.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/version.h>

#include <stdbool.h>

/* One DRBG per process (one event loop, no threads use it). */
static struct {
    bool ready;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    char version[32];
} g_tls;

int tls_lib_init(struct weft_err *e)
{
    if (g_tls.ready)
        return 0;
#if WEFT_MBEDTLS_3
    psa_status_t st = psa_crypto_init();
    if (st != PSA_SUCCESS)
        return err_set(e, "psa_crypto_init failed: %d", (int)st);
#endif
    mbedtls_entropy_init(&g_tls.entropy);
    mbedtls_ctr_drbg_init(&g_tls.drbg);
    static const unsigned char pers[] = "weft";
    int rc = mbedtls_ctr_drbg_seed(&g_tls.drbg, mbedtls_entropy_func, &g_tls.entropy, pers,
                                   sizeof(pers) - 1);
    if (rc != 0) {
        mbedtls_ctr_drbg_free(&g_tls.drbg);
        mbedtls_entropy_free(&g_tls.entropy);
        return err_set(e, "seeding the DRBG failed: -0x%04x", (unsigned)-rc);
    }
    g_tls.ready = true;
    return 0;
}

void tls_lib_deinit(void)
{
    if (!g_tls.ready)
        return;
    mbedtls_ctr_drbg_free(&g_tls.drbg);
    mbedtls_entropy_free(&g_tls.entropy);
#if WEFT_MBEDTLS_3
    mbedtls_psa_crypto_free();
#endif
    g_tls.ready = false;
}

const char *tls_lib_version(void)
{
    if (!g_tls.version[0])
        mbedtls_version_get_string(g_tls.version);
    return g_tls.version;
}

int tls_random(void *buf, size_t n, struct weft_err *e)
{
    if (!g_tls.ready && tls_lib_init(e) != 0)
        return -1;
    int rc = mbedtls_ctr_drbg_random(&g_tls.drbg, buf, n);
    if (rc != 0)
        return err_set(e, "DRBG failed: -0x%04x", (unsigned)-rc);
    return 0;
}
