/*
 * statement: CA-signed statements for the replicated state (statement.h).
 */
#include "pki/statement.h"

#include "pki/ca.h"
#include "pki/x509.h"
#include "tls/tls.h"

#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define STATEMENT_TAG "weft-statement-v1\n"
#define STATEMENT_SIGS_MAX 4

static int stmt_hash(const char *kind, const char *name, const void *payload, size_t len,
                     unsigned char md[32], struct weft_err *e)
{
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    mbedtls_md_context_t ctx;
    int rc = -1;
    mbedtls_md_init(&ctx);
    if (info && mbedtls_md_setup(&ctx, info, 0) == 0 && mbedtls_md_starts(&ctx) == 0 &&
        mbedtls_md_update(&ctx, (const unsigned char *)STATEMENT_TAG, strlen(STATEMENT_TAG)) == 0 &&
        mbedtls_md_update(&ctx, (const unsigned char *)kind, strlen(kind)) == 0 &&
        mbedtls_md_update(&ctx, (const unsigned char *)"\n", 1) == 0 &&
        mbedtls_md_update(&ctx, (const unsigned char *)name, strlen(name)) == 0 &&
        mbedtls_md_update(&ctx, (const unsigned char *)"\n", 1) == 0 &&
        mbedtls_md_update(&ctx, (const unsigned char *)payload, len) == 0 &&
        mbedtls_md_finish(&ctx, md) == 0)
        rc = 0;
    mbedtls_md_free(&ctx);
    return rc == 0 ? 0 : err_set(e, "SHA-256 failed");
}

int pki_statement_sign(struct pki_ca *ca, const char *kind, const char *name, const char *payload,
                       struct sbuf *out, struct weft_err *e)
{
    unsigned char md[32];
    sbuf_reset(out);
    if (stmt_hash(kind, name, payload, strlen(payload), md, e) != 0 ||
        pki_ca_sign_digest(ca, md, out, e) != 0)
        return -1;
    sbuf_puts(out, "\n");
    sbuf_puts(out, payload);
    return out->oom ? err_set(e, "out of memory") : 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The trusted root whose fingerprint is fp, or NULL. */
static const mbedtls_x509_crt *stmt_root(const mbedtls_x509_crt *roots, const char *fp)
{
    struct weft_err e = {{0}};
    char have[65];
    for (const mbedtls_x509_crt *c = roots; c && c->raw.p; c = c->next)
        if (pki_x509_sha256_hex(c->raw.p, c->raw.len, have, &e) == 0 && strcmp(have, fp) == 0)
            return c;
    return NULL;
}

int pki_statement_verify(const char *roots_pem, const char *kind, const char *name,
                         const void *body, size_t len, const char **payload, size_t *payload_len,
                         struct weft_err *e)
{
    const char *p = body, *end = p + len;
    const char *sigs[STATEMENT_SIGS_MAX];
    size_t siglens[STATEMENT_SIGS_MAX], nsig = 0;
    /* Signature lines up to the empty line. */
    for (;;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return err_set(e, "%s/%s: not a signed statement (no empty line)", kind, name);
        if (nl == p) {
            p = nl + 1;
            break;
        }
        static const char pre[] = "signature = ";
        if ((size_t)(nl - p) <= sizeof(pre) - 1 || memcmp(p, pre, sizeof(pre) - 1) != 0)
            return err_set(e, "%s/%s: not a signed statement (a line is not 'signature = ...')",
                           kind, name);
        if (nsig == STATEMENT_SIGS_MAX)
            return err_set(e, "%s/%s: more than %d signatures", kind, name, STATEMENT_SIGS_MAX);
        sigs[nsig] = p + sizeof(pre) - 1;
        siglens[nsig] = (size_t)(nl - sigs[nsig]);
        nsig++;
        p = nl + 1;
    }
    if (nsig == 0)
        return err_set(e, "%s/%s: an unsigned statement", kind, name);
    if (tls_lib_init(e) != 0)
        return -1;
    unsigned char md[32];
    if (stmt_hash(kind, name, p, (size_t)(end - p), md, e) != 0)
        return -1;
    mbedtls_x509_crt roots;
    mbedtls_x509_crt_init(&roots);
    int rc = -1;
    if (!roots_pem || mbedtls_x509_crt_parse(&roots, (const unsigned char *)roots_pem,
                                             strlen(roots_pem) + 1) != 0) {
        err_set(e, "%s/%s: no trusted roots to verify it with", kind, name);
        goto out;
    }
    bool known = false;
    for (size_t i = 0; i < nsig && rc != 0; i++) {
        char fp[65];
        unsigned char sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
        const char *s = sigs[i];
        size_t l = siglens[i];
        if (l < 66 || s[64] != ' ')
            continue;
        memcpy(fp, s, 64);
        fp[64] = '\0';
        const mbedtls_x509_crt *root = stmt_root(&roots, fp);
        if (!root)
            continue;
        known = true;
        size_t hl = l - 65, n = hl / 2;
        if (hl % 2 || n > sizeof(sig))
            continue;
        bool ok = true;
        for (size_t k = 0; k < n && ok; k++) {
            int hi = hexval(s[65 + 2 * k]), lo = hexval(s[66 + 2 * k]);
            ok = hi >= 0 && lo >= 0;
            sig[k] = (unsigned char)((hi << 4) | (lo & 15));
        }
        if (ok && mbedtls_pk_verify((mbedtls_pk_context *)&root->pk, MBEDTLS_MD_SHA256, md,
                                    sizeof(md), sig, n) == 0)
            rc = 0;
    }
    if (rc != 0) {
        err_set(e,
                known ? "%s/%s: the signature by a trusted root does not verify"
                      : "%s/%s: not signed by a root this node trusts",
                kind, name);
        goto out;
    }
    *payload = p;
    *payload_len = (size_t)(end - p);
out:
    mbedtls_x509_crt_free(&roots);
    return rc;
}
