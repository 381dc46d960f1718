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

/*
 * Prepare and sign a leaf for key (its public half goes in the certificate)
 * at now for lifetime_s: id and not_after filled, the PEM into crt_pem.
 */
static int issue_core(struct pki_ca *ca, enum spiffe_kind kind, const char *name, int64_t now,
                      int64_t lifetime_s, mbedtls_pk_context *key, char *id, size_t id_cap,
                      int64_t *not_after, struct sbuf *crt_pem, struct weft_err *e)
{
    char subject[8 + SPIFFE_NAME_MAX], eb[160], when[21];
    mbedtls_x509write_cert crt;
    int rc = -1, mrc;
    const char *what = "subject";

    if (spiffe_id_format(kind, pki_ca_trust_domain(ca), name, id, id_cap, e) != 0)
        return -1;
    if (lifetime_s <= 0)
        return err_set(e, "%s: the lifetime must be positive", id);
    *not_after = now + lifetime_s;
    if (*not_after > pki_ca_not_after(ca)) {
        pki_x509_unix_iso(pki_ca_not_after(ca), when);
        return err_set(e, "%s would outlive its CA (which expires %s); ask for a shorter lifetime",
                       id, when);
    }
    snprintf(subject, sizeof(subject), "CN=%s", name);

    mbedtls_x509write_crt_init(&crt);
    mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_subject_key(&crt, key);
    if (pki_x509_set_serial(&crt, e) != 0 || pki_x509_set_validity(&crt, now, lifetime_s, e) != 0 ||
        pki_x509_set_san_uri(&crt, id, e) != 0 || pki_x509_set_eku_server_client(&crt, e) != 0)
        goto out;
    if ((mrc = mbedtls_x509write_crt_set_subject_name(&crt, subject)) != 0 ||
        /* CA:FALSE, no pathlen; not critical (mbedTLS marks it critical only for CAs). */
        (what = "basicConstraints",
         mrc = mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1)) != 0 ||
        /* Critical on both mbedTLS versions. */
        (what = "keyUsage",
         mrc = mbedtls_x509write_crt_set_key_usage(&crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE)) != 0) {
        err_set(e, "%s: %s: %s", id, what, pki_x509_strerror(mrc, eb, sizeof(eb)));
        goto out;
    }
    if (pki_ca_sign(ca, &crt, crt_pem, e) != 0) {
        err_prefix(e, "%s", id);
        goto out;
    }
    rc = 0;
out:
    mbedtls_x509write_crt_free(&crt);
    return rc;
}

int pki_issue_leaf(struct pki_ca *ca, enum spiffe_kind kind, const char *name, int64_t lifetime_s,
                   struct pki_leaf *out, struct weft_err *e)
{
    mbedtls_pk_context key;
    int rc = -1;
    mbedtls_pk_init(&key);
    if (pki_x509_key_generate(&key, e) != 0)
        goto out;
    if (issue_core(ca, kind, name, clock_wall_ms() / 1000, lifetime_s, &key, out->id,
                   sizeof(out->id), &out->not_after, &out->crt_pem, e) != 0)
        goto out;
    if (pki_x509_key_pem(&key, &out->key_pem, e) != 0) {
        err_prefix(e, "%s", out->id);
        goto out;
    }
    rc = 0;
out:
    mbedtls_pk_free(&key);
    return rc;
}

/* Parse pub_pem into key and require ECDSA P-256. */
static int pubkey_parse(mbedtls_pk_context *key, const char *pub_pem, struct weft_err *e)
{
    char eb[160];
    int mrc;
    if (!pub_pem)
        return err_set(e, "the public key is missing");
    if ((mrc = mbedtls_pk_parse_public_key(key, (const unsigned char *)pub_pem,
                                           strlen(pub_pem) + 1)) != 0)
        return err_set(e, "the public key does not parse: %s",
                       pki_x509_strerror(mrc, eb, sizeof(eb)));
    /* weft keys are P-256 (docs/identity.md); refuse anything else. */
    if (mbedtls_pk_get_type(key) != MBEDTLS_PK_ECKEY || mbedtls_pk_get_bitlen(key) != 256)
        return err_set(e, "the public key is not ECDSA P-256");
    return 0;
}

int pki_pubkey_check(const char *pub_pem, struct weft_err *e)
{
    mbedtls_pk_context key;
    mbedtls_pk_init(&key);
    int rc = pubkey_parse(&key, pub_pem, e);
    mbedtls_pk_free(&key);
    return rc;
}

int pki_issue_for_pubkey(struct pki_ca *ca, enum spiffe_kind kind, const char *name, int64_t now_s,
                         int64_t lifetime_s, const char *pub_pem, struct sbuf *crt_pem,
                         int64_t *not_after, struct weft_err *e)
{
    char id[SPIFFE_ID_MAX + 1];
    mbedtls_pk_context key;
    int rc = -1;
    mbedtls_pk_init(&key);
    if (pubkey_parse(&key, pub_pem, e) != 0)
        err_prefix(e, "%s %s", spiffe_kind_name(kind), name);
    else
        rc = issue_core(ca, kind, name, now_s, lifetime_s, &key, id, sizeof(id), not_after, crt_pem,
                        e);
    mbedtls_pk_free(&key);
    return rc;
}
