/*
 * renew: key pairs and proofs of possession for online renewal (renew.h).
 * Allocation: mbedTLS contexts live on the stack and are freed here; key
 * bytes passing through local buffers are wiped.
 */
#include "pki/renew.h"

#include "pki/ca.h"
#include "pki/spiffe.h"
#include "pki/x509.h"
#include "tls/tls_compat.h"

#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>

#include <stdio.h>
#include <string.h>

#define RENEW_PROOF_TAG "weft-renew-v1\n"

int64_t pki_renew_jitter_max(int64_t lifetime_s)
{
    return lifetime_s > 0 ? lifetime_s / 30 : 0;
}

int64_t pki_renew_at(int64_t not_before, int64_t not_after, const char *serial)
{
    int64_t life = not_after - not_before;
    if (life <= 0)
        return not_before;
    /* FNV-1a of the serial: random across certificates (serials are), fixed for one. */
    uint64_t h = UINT64_C(1469598103934665603);
    for (const char *p = serial ? serial : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * UINT64_C(1099511628211);
    int64_t jitter = (int64_t)(h % (uint64_t)(pki_renew_jitter_max(life) + 1));
    return not_before + life / 3 * 2 + (life % 3) * 2 / 3 - jitter;
}

int64_t pki_renew_backoff_ms(unsigned failures)
{
    int64_t ms = PKI_RENEW_BACKOFF_MIN_MS;
    for (unsigned i = 1; i < failures && ms < PKI_RENEW_BACKOFF_MAX_MS; i++)
        ms *= 2;
    return ms < PKI_RENEW_BACKOFF_MAX_MS ? ms : PKI_RENEW_BACKOFF_MAX_MS;
}

int pki_renew_keypair(struct sbuf *key_pem, struct sbuf *pub_pem, struct weft_err *e)
{
    mbedtls_pk_context pk;
    unsigned char buf[PKI_PEM_MAX];
    char eb[160];
    int rc = -1, mrc;
    mbedtls_pk_init(&pk);
    if (pki_x509_key_generate(&pk, e) != 0 || pki_x509_key_pem(&pk, key_pem, e) != 0)
        goto out;
    if ((mrc = mbedtls_pk_write_pubkey_pem(&pk, buf, sizeof(buf))) != 0) {
        err_set(e, "writing the public key: %s", pki_x509_strerror(mrc, eb, sizeof(eb)));
        goto out;
    }
    sbuf_reset(pub_pem);
    sbuf_puts(pub_pem, (const char *)buf);
    rc = pub_pem->oom ? err_set(e, "out of memory") : 0;
out:
    mbedtls_pk_free(&pk);
    return rc;
}

/* SHA-256 of the proof message into md[32]. */
static int proof_hash(const char *node_id, const char *pub_pem, unsigned char md[32],
                      struct weft_err *e)
{
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    mbedtls_md_context_t ctx;
    int rc = -1;
    mbedtls_md_init(&ctx);
    if (info && mbedtls_md_setup(&ctx, info, 0) == 0 && mbedtls_md_starts(&ctx) == 0 &&
        mbedtls_md_update(&ctx, (const unsigned char *)RENEW_PROOF_TAG, strlen(RENEW_PROOF_TAG)) ==
            0 &&
        mbedtls_md_update(&ctx, (const unsigned char *)node_id, strlen(node_id)) == 0 &&
        mbedtls_md_update(&ctx, (const unsigned char *)"\n", 1) == 0 &&
        mbedtls_md_update(&ctx, (const unsigned char *)pub_pem, strlen(pub_pem)) == 0 &&
        mbedtls_md_finish(&ctx, md) == 0)
        rc = 0;
    mbedtls_md_free(&ctx);
    return rc == 0 ? 0 : err_set(e, "SHA-256 failed");
}

int pki_renew_prove(const char *key_pem, const char *node_id, const char *pub_pem,
                    struct sbuf *sig_hex, struct weft_err *e)
{
    mbedtls_pk_context pk;
    unsigned char md[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    size_t siglen = 0;
    char eb[160];
    int rc = -1, mrc;
    mbedtls_pk_init(&pk);
    if ((mrc = tls_compat_pk_parse_key(&pk, (const unsigned char *)key_pem, strlen(key_pem) + 1,
                                       pki_x509_rng, NULL)) != 0) {
        err_set(e, "the service key does not parse: %s", pki_x509_strerror(mrc, eb, sizeof(eb)));
        goto out;
    }
    if (proof_hash(node_id, pub_pem, md, e) != 0)
        goto out;
    if ((mrc = tls_compat_pk_sign(&pk, MBEDTLS_MD_SHA256, md, sizeof(md), sig, sizeof(sig), &siglen,
                                  pki_x509_rng, NULL)) != 0) {
        err_set(e, "signing the proof: %s", pki_x509_strerror(mrc, eb, sizeof(eb)));
        goto out;
    }
    sbuf_reset(sig_hex);
    for (size_t i = 0; i < siglen; i++)
        sbuf_printf(sig_hex, "%02x", sig[i]);
    rc = sig_hex->oom ? err_set(e, "out of memory") : 0;
out:
    mbedtls_pk_free(&pk);
    return rc;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The one URI SAN of crt into out; -1 if there is not exactly one. */
static int renew_uri_san(const mbedtls_x509_crt *crt, char *out, size_t cap)
{
    size_t n = 0;
    const mbedtls_x509_sequence *uri = NULL;
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s && s->buf.p; s = s->next) {
        n++;
        if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 6))
            uri = s;
    }
    if (n != 1 || !uri || uri->buf.len >= cap || memchr(uri->buf.p, '\0', uri->buf.len))
        return -1;
    memcpy(out, uri->buf.p, uri->buf.len);
    out[uri->buf.len] = '\0';
    return 0;
}

int pki_renew_check_proof(struct pki_ca *ca, const char *cert_pem, const char *svc_name,
                          const char *node_id, const char *pub_pem, const char *sig_hex,
                          struct weft_err *e)
{
    mbedtls_x509_crt crt;
    unsigned char md[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    char want[SPIFFE_ID_MAX + 1], got[SPIFFE_ID_MAX + 1], eb[160];
    size_t hl = sig_hex ? strlen(sig_hex) : 0;
    int rc = -1, mrc;
    mbedtls_x509_crt_init(&crt);
    if (!cert_pem || !pub_pem || hl == 0 || hl % 2 || hl / 2 > sizeof(sig)) {
        err_set(e, "service %s: incomplete proof", svc_name);
        goto out;
    }
    for (size_t i = 0; i < hl / 2; i++) {
        int hi = hexval(sig_hex[2 * i]), lo = hexval(sig_hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            err_set(e, "service %s: the proof's signature is not lowercase hex", svc_name);
            goto out;
        }
        sig[i] = (unsigned char)(hi << 4 | lo);
    }
    if ((mrc = mbedtls_x509_crt_parse(&crt, (const unsigned char *)cert_pem,
                                      strlen(cert_pem) + 1)) != 0) {
        err_set(e, "service %s: the proof's certificate does not parse: %s", svc_name,
                pki_x509_strerror(mrc, eb, sizeof(eb)));
        goto out;
    }
    if (pki_ca_verify_leaf(ca, &crt, e) != 0) {
        err_prefix(e, "service %s: the proof's certificate", svc_name);
        goto out;
    }
    if (spiffe_id_format(SPIFFE_SVC, pki_ca_trust_domain(ca), svc_name, want, sizeof(want), e) != 0)
        goto out;
    if (renew_uri_san(&crt, got, sizeof(got)) != 0 || strcmp(got, want) != 0) {
        err_set(e, "service %s: the proof's certificate is not %s", svc_name, want);
        goto out;
    }
    if (proof_hash(node_id, pub_pem, md, e) != 0)
        goto out;
    if ((mrc = mbedtls_pk_verify(&crt.pk, MBEDTLS_MD_SHA256, md, sizeof(md), sig, hl / 2)) != 0) {
        err_set(e, "service %s: the proof's signature does not verify", svc_name);
        goto out;
    }
    rc = 0;
out:
    mbedtls_x509_crt_free(&crt);
    return rc;
}
