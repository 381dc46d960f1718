/*
 * issue: leaf certificates (see issue.h). Builds the to-be-signed
 * certificate with mbedTLS's writer plus pki/x509.c's own SAN and EKU
 * extensions, then hands it to pki_ca_sign().
 */
#include "pki/issue.h"

#include "core/clock.h"
#include "pki/x509.h"

#include <mbedtls/platform_util.h>

#include <stdio.h>
#include <string.h>

void pki_leaf_init(struct pki_leaf *leaf)
{
    memset(leaf, 0, sizeof(*leaf));
    sbuf_init(&leaf->key_pem);
    sbuf_init(&leaf->crt_pem);
}

void pki_leaf_deinit(struct pki_leaf *leaf)
{
    if (leaf->key_pem.data)
        mbedtls_platform_zeroize(leaf->key_pem.data, leaf->key_pem.cap);
    sbuf_deinit(&leaf->key_pem);
    sbuf_deinit(&leaf->crt_pem);
    leaf->id[0] = '\0';
}

int pki_issue_leaf(struct pki_ca *ca, enum spiffe_kind kind, const char *name, int64_t lifetime_s,
                   struct pki_leaf *out, struct weft_err *e)
{
    char subject[8 + SPIFFE_NAME_MAX], eb[160], when[21];
    mbedtls_pk_context key;
    mbedtls_x509write_cert crt;
    int rc = -1, mrc;
    const char *what = "subject";

    if (spiffe_id_format(kind, pki_ca_trust_domain(ca), name, out->id, sizeof(out->id), e) != 0)
        return -1;
    if (lifetime_s <= 0)
        return err_set(e, "%s: the lifetime must be positive", out->id);
    int64_t now = clock_wall_ms() / 1000;
    out->not_after = now + lifetime_s;
    if (out->not_after > pki_ca_not_after(ca)) {
        pki_x509_unix_iso(pki_ca_not_after(ca), when);
        return err_set(e, "%s would outlive its CA (which expires %s); ask for a shorter lifetime",
                       out->id, when);
    }
    snprintf(subject, sizeof(subject), "CN=%s", name);

    mbedtls_pk_init(&key);
    mbedtls_x509write_crt_init(&crt);
    if (pki_x509_key_generate(&key, e) != 0)
        goto out;
    mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_subject_key(&crt, &key);
    if (pki_x509_set_serial(&crt, e) != 0 || pki_x509_set_validity(&crt, now, lifetime_s, e) != 0 ||
        pki_x509_set_san_uri(&crt, out->id, e) != 0 || pki_x509_set_eku_server_client(&crt, e) != 0)
        goto out;
    if ((mrc = mbedtls_x509write_crt_set_subject_name(&crt, subject)) != 0 ||
        /* CA:FALSE, no pathlen; not critical (mbedTLS marks it critical only for CAs). */
        (what = "basicConstraints",
         mrc = mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1)) != 0 ||
        /* Critical on both mbedTLS versions. */
        (what = "keyUsage",
         mrc = mbedtls_x509write_crt_set_key_usage(&crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE)) != 0) {
        err_set(e, "%s: %s: %s", out->id, what, pki_x509_strerror(mrc, eb, sizeof(eb)));
        goto out;
    }
    if (pki_ca_sign(ca, &crt, &out->crt_pem, e) != 0 ||
        pki_x509_key_pem(&key, &out->key_pem, e) != 0) {
        err_prefix(e, "%s", out->id);
        goto out;
    }
    rc = 0;
out:
    mbedtls_x509write_crt_free(&crt);
    mbedtls_pk_free(&key);
    return rc;
}
