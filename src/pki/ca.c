/*
 * ca: the offline CA (see ca.h). The private key lives in struct pki_ca
 * while a command runs and nowhere else; it is never logged, and the memory
 * that held it (PEM text, the pk context) is wiped before it is released.
 *
 * Trust domain of a loaded CA: taken from its certificate's spiffe://TD URI
 * SAN, not from the command line, so `weft ca issue` cannot mint IDs for a
 * trust domain the root does not name.
 */
#include "pki/ca.h"

#include "pki/ca_rotate.h"

#include "core/clock.h"
#include "pki/x509.h"
#include "tls/tls.h"
#include "tls/tls_compat.h"

#include <mbedtls/asn1.h>
#include <mbedtls/pem.h>
#include <mbedtls/platform_util.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "weft root CA " + a 253-byte trust domain + "CN=" fits. */
#define CA_SUBJECT_MAX 300

struct pki_ca {
    mbedtls_pk_context key; /* the root's private key: wiped by pki_ca_free */
    mbedtls_x509_crt crt;   /* every certificate in ca.crt; the first is ours */
    char trust_domain[SPIFFE_TD_MAX + 1];
    /* During a rotation, the other root's key (next.key or prev.key) and
     * certificate: statements are signed by both (pki_ca_sign_digests), so
     * a node that trusts either root can verify them. */
    bool has_other;
    mbedtls_pk_context other_key;
    mbedtls_x509_crt other_crt;
};

static int path_join(char *out, size_t cap, const char *dir, const char *file, struct weft_err *e)
{
    int n = snprintf(out, cap, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= cap)
        return err_set(e, "path too long: %s/%s", dir, file);
    return 0;
}

/* mkdir dir 0700 unless it exists as a directory. */
static int dir_ensure(const char *dir, struct weft_err *e)
{
    struct stat st;
    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return err_set(e, "cannot create %s: %s", dir, strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return err_set(e, "%s exists and is not a directory", dir);
    return 0;
}

/*
 * The trust domain named by a certificate: its one spiffe://TD URI SAN.
 * Works on 2.28 and 3.6 alike: both keep each GeneralName's raw bytes and
 * tag in crt->subject_alt_names, whether or not they decode that type.
 */
static int crt_trust_domain(const mbedtls_x509_crt *crt, char *out, size_t cap, struct weft_err *e)
{
    static const char scheme[] = "spiffe://";
    const size_t slen = sizeof(scheme) - 1;
    int found = 0;
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s && s->buf.p; s = s->next) {
        if (s->buf.tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 6))
            continue;
        if (found++)
            return err_set(e, "the CA certificate has more than one URI SAN");
        if (s->buf.len <= slen || s->buf.len - slen >= cap || memcmp(s->buf.p, scheme, slen) != 0)
            return err_set(e, "the CA certificate's URI SAN is not spiffe://TRUST-DOMAIN");
        if (memchr(s->buf.p, '\0', s->buf.len))
            return err_set(e, "the CA certificate's URI SAN contains a NUL byte");
        memcpy(out, s->buf.p + slen, s->buf.len - slen);
        out[s->buf.len - slen] = '\0';
    }
    if (!found)
        return err_set(e, "the CA certificate has no spiffe://TRUST-DOMAIN URI SAN");
    if (spiffe_trust_domain_check(out, e) != 0)
        return err_prefix(e, "CA certificate");
    return 0;
}

/* Build the self-signed root for td into crt_pem, signed by key. */
static int root_write(mbedtls_pk_context *key, const char *td, int days, const char *ou,
                      struct sbuf *crt_pem, struct weft_err *e)
{
    char subject[CA_SUBJECT_MAX], uri[SPIFFE_ID_MAX + 1], eb[160];
    unsigned char pem[PKI_PEM_MAX];
    mbedtls_x509write_cert crt;
    int rc = -1, mrc;

    if (spiffe_td_id_format(td, uri, sizeof(uri), e) != 0)
        return -1;
    if (ou)
        snprintf(subject, sizeof(subject), "CN=weft root CA %s,OU=%s", td, ou);
    else
        snprintf(subject, sizeof(subject), "CN=weft root CA %s", td);
    mbedtls_x509write_crt_init(&crt);
    mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&crt, key);
    mbedtls_x509write_crt_set_issuer_key(&crt, key);
    if (pki_x509_set_serial(&crt, e) != 0 ||
        pki_x509_set_validity(&crt, clock_wall_ms() / 1000, (int64_t)days * 86400, e) != 0 ||
        pki_x509_set_san_uri(&crt, uri, e) != 0)
        goto out;
    const char *what = "subject";
    if ((mrc = mbedtls_x509write_crt_set_subject_name(&crt, subject)) != 0 ||
        (what = "issuer", mrc = mbedtls_x509write_crt_set_issuer_name(&crt, subject)) != 0 ||
        /* pathlen 0: this root signs leaves, never another CA. Critical. */
        (what = "basicConstraints",
         mrc = mbedtls_x509write_crt_set_basic_constraints(&crt, 1, 0)) != 0 ||
        (what = "subjectKeyIdentifier",
         mrc = mbedtls_x509write_crt_set_subject_key_identifier(&crt)) != 0 ||
        /* mbedTLS marks keyUsage critical on both versions. */
        (what = "keyUsage",
         mrc = mbedtls_x509write_crt_set_key_usage(&crt, MBEDTLS_X509_KU_KEY_CERT_SIGN |
                                                             MBEDTLS_X509_KU_CRL_SIGN)) != 0 ||
        (what = "signature",
         mrc = mbedtls_x509write_crt_pem(&crt, pem, sizeof(pem), pki_x509_rng, NULL)) != 0) {
        err_set(e, "root certificate: %s: %s", what, pki_x509_strerror(mrc, eb, sizeof(eb)));
        goto out;
    }
    sbuf_reset(crt_pem);
    sbuf_puts(crt_pem, (const char *)pem);
    rc = crt_pem->oom ? err_set(e, "out of memory") : 0;
out:
    mbedtls_x509write_crt_free(&crt);
    return rc;
}

/*
 * Make a root key and certificate for td into kpath and cpath (both must be
 * absent; O_EXCL). ou: an extra subject attribute (rotated roots carry their
 * creation time there, so two roots of one trust domain never share a
 * subject), or NULL. On failure nothing is left behind.
 */
static int ca_create(const char *kpath, const char *cpath, const char *td, int days, const char *ou,
                     struct weft_err *e)
{
    mbedtls_pk_context key;
    struct sbuf kpem, cpem;
    int rc = -1;

    mbedtls_pk_init(&key);
    sbuf_init(&kpem);
    sbuf_init(&cpem);
    if (pki_x509_key_generate(&key, e) != 0 || root_write(&key, td, days, ou, &cpem, e) != 0 ||
        pki_x509_key_pem(&key, &kpem, e) != 0)
        goto out;
    if (pki_x509_file_create(kpath, kpem.data, kpem.len, 0600, e) != 0)
        goto out;
    if (pki_x509_file_create(cpath, cpem.data, cpem.len, 0644, e) != 0) {
        unlink(kpath); /* a key without its certificate is no CA */
        goto out;
    }
    rc = 0;
out:
    if (kpem.data)
        mbedtls_platform_zeroize(kpem.data, kpem.cap);
    sbuf_deinit(&kpem);
    sbuf_deinit(&cpem);
    mbedtls_pk_free(&key);
    return rc;
}

int pki_ca_init(const char *dir, const char *td, int days, struct weft_err *e)
{
    char kpath[4096], cpath[4096];
    struct stat st;

    if (spiffe_trust_domain_check(td, e) != 0)
        return -1;
    if (days < 1 || days > PKI_CA_DAYS_MAX)
        return err_set(e, "--days %d: want 1 to %d", days, PKI_CA_DAYS_MAX);
    if (path_join(kpath, sizeof(kpath), dir, PKI_CA_KEY_FILE, e) != 0 ||
        path_join(cpath, sizeof(cpath), dir, PKI_CA_CRT_FILE, e) != 0)
        return -1;
    /* Checked before the (slow) key generation; O_EXCL below closes the race. */
    if (lstat(kpath, &st) == 0 || lstat(cpath, &st) == 0)
        return err_set(e, "%s already holds a CA (%s or %s exists); refusing to overwrite it", dir,
                       PKI_CA_KEY_FILE, PKI_CA_CRT_FILE);
    if (tls_lib_init(e) != 0 || dir_ensure(dir, e) != 0)
        return -1;
    return ca_create(kpath, cpath, td, days, NULL, e);
}

int pki_ca_new_root(const char *dir, const char *key_file, const char *crt_file, const char *td,
                    int days, int64_t now_s, struct weft_err *e)
{
    char kpath[4096], cpath[4096], ou[32];
    if (days < 1 || days > PKI_CA_DAYS_MAX)
        return err_set(e, "--days %d: want 1 to %d", days, PKI_CA_DAYS_MAX);
    if (path_join(kpath, sizeof(kpath), dir, key_file, e) != 0 ||
        path_join(cpath, sizeof(cpath), dir, crt_file, e) != 0 || tls_lib_init(e) != 0)
        return -1;
    pki_x509_unix_iso(now_s, ou);
    return ca_create(kpath, cpath, td, days, ou, e);
}

/* Parse file of dir (ca.crt, next.crt, prev.crt) into crt (initialised by
 * the caller; certificates are appended) and check it. */
static int ca_crt_load_file(const char *dir, const char *file, mbedtls_x509_crt *crt, char *td,
                            size_t td_cap, struct weft_err *e)
{
    char path[4096], eb[160];
    if (path_join(path, sizeof(path), dir, file, e) != 0)
        return -1;
    int rc = mbedtls_x509_crt_parse_file(crt, path);
    if (rc != 0) {
        if (access(path, F_OK) != 0)
            return err_set(e, "no CA in %s: %s: %s", dir, PKI_CA_CRT_FILE, strerror(errno));
        return err_set(e, "%s: not a valid certificate: %s", path,
                       pki_x509_strerror(rc, eb, sizeof(eb)));
    }
    if (mbedtls_x509_crt_check_key_usage(crt, MBEDTLS_X509_KU_KEY_CERT_SIGN) != 0)
        return err_set(e, "%s: not a CA certificate (no keyCertSign)", path);
    if (crt_trust_domain(crt, td, td_cap, e) != 0)
        return err_prefix(e, "%s", path);
    return 0;
}

static int ca_crt_load(const char *dir, mbedtls_x509_crt *crt, char *td, size_t td_cap,
                       struct weft_err *e)
{
    return ca_crt_load_file(dir, PKI_CA_CRT_FILE, crt, td, td_cap, e);
}

/*
 * The other roots a CA in rotation trusts (ca_rotate.h): next.crt (added,
 * not yet signing) and prev.crt (signed before, not yet retired), appended
 * to the chain after the active root. Each must be a root of the same trust
 * domain.
 */
static int ca_extra_roots(const char *dir, mbedtls_x509_crt *chain, const char *td,
                          struct weft_err *e)
{
    static const char *const files[] = {PKI_CA_NEXT_CRT_FILE, PKI_CA_PREV_CRT_FILE};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[4096], other[SPIFFE_TD_MAX + 1];
        mbedtls_x509_crt one;
        if (path_join(path, sizeof(path), dir, files[i], e) != 0)
            return -1;
        if (access(path, F_OK) != 0)
            continue;
        mbedtls_x509_crt_init(&one);
        int rc = ca_crt_load_file(dir, files[i], &one, other, sizeof(other), e);
        mbedtls_x509_crt_free(&one);
        if (rc != 0)
            return -1;
        if (strcmp(other, td) != 0)
            return err_set(e, "%s is for trust domain '%s', not '%s'", path, other, td);
        if (mbedtls_x509_crt_parse_file(chain, path) != 0)
            return err_set(e, "%s: not a valid certificate", path);
    }
    return 0;
}

/*
 * The other root of a rotation with its key, if both files are there:
 * next.* (added) or prev.* (activated, not retired). A prev.crt without
 * its key (retire interrupted after the key went) is trusted but signs
 * nothing.
 */
static int ca_other_load(struct pki_ca *ca, const char *dir, struct weft_err *e)
{
    static const char *const pairs[][2] = {{PKI_CA_NEXT_KEY_FILE, PKI_CA_NEXT_CRT_FILE},
                                           {PKI_CA_PREV_KEY_FILE, PKI_CA_PREV_CRT_FILE}};
    char kpath[4096], cpath[4096], eb[160];
    for (size_t i = 0; i < 2; i++) {
        if (path_join(kpath, sizeof(kpath), dir, pairs[i][0], e) != 0 ||
            path_join(cpath, sizeof(cpath), dir, pairs[i][1], e) != 0)
            return -1;
        if (access(kpath, F_OK) != 0 || access(cpath, F_OK) != 0)
            continue;
        struct sbuf pem;
        sbuf_init(&pem);
        int rc = pki_x509_file_read(kpath, &pem, e);
        if (rc == 0 &&
            (rc = tls_compat_pk_parse_key(&ca->other_key, (const unsigned char *)pem.data,
                                          pem.len + 1, pki_x509_rng, NULL)) != 0)
            err_set(e, "%s: not a valid private key: %s", kpath,
                    pki_x509_strerror(rc, eb, sizeof(eb)));
        if (pem.data)
            mbedtls_platform_zeroize(pem.data, pem.cap);
        sbuf_deinit(&pem);
        if (rc != 0)
            return -1;
        if (mbedtls_x509_crt_parse_file(&ca->other_crt, cpath) != 0 ||
            tls_compat_pk_check_pair(&ca->other_crt.pk, &ca->other_key, pki_x509_rng, NULL) != 0)
            return err_set(e, "%s does not belong to %s", kpath, cpath);
        ca->has_other = true;
        return 0;
    }
    return 0;
}

struct pki_ca *pki_ca_load(const char *dir, struct weft_err *e)
{
    char path[4096], eb[160];
    struct sbuf pem;
    struct pki_ca *ca = calloc(1, sizeof(*ca));
    if (!ca) {
        err_set(e, "out of memory");
        return NULL;
    }
    mbedtls_pk_init(&ca->key);
    mbedtls_x509_crt_init(&ca->crt);
    mbedtls_pk_init(&ca->other_key);
    mbedtls_x509_crt_init(&ca->other_crt);
    sbuf_init(&pem);
    if (tls_lib_init(e) != 0 || pki_ca_rotate_recover(dir, e) < 0 ||
        ca_crt_load(dir, &ca->crt, ca->trust_domain, sizeof(ca->trust_domain), e) != 0 ||
        ca_extra_roots(dir, &ca->crt, ca->trust_domain, e) != 0 ||
        path_join(path, sizeof(path), dir, PKI_CA_KEY_FILE, e) != 0 ||
        pki_x509_file_read(path, &pem, e) != 0)
        goto fail;
    /* The NUL counts for PEM input. */
    int rc = tls_compat_pk_parse_key(&ca->key, (const unsigned char *)pem.data, pem.len + 1,
                                     pki_x509_rng, NULL);
    if (rc != 0) {
        err_set(e, "%s: not a valid private key: %s", path, pki_x509_strerror(rc, eb, sizeof(eb)));
        goto fail;
    }
    if (tls_compat_pk_check_pair(&ca->crt.pk, &ca->key, pki_x509_rng, NULL) != 0) {
        err_set(e, "%s does not belong to %s/%s", path, dir, PKI_CA_CRT_FILE);
        goto fail;
    }
    if (ca_other_load(ca, dir, e) != 0)
        goto fail;
    mbedtls_platform_zeroize(pem.data, pem.cap);
    sbuf_deinit(&pem);
    return ca;
fail:
    if (pem.data)
        mbedtls_platform_zeroize(pem.data, pem.cap);
    sbuf_deinit(&pem);
    pki_ca_free(ca);
    return NULL;
}

void pki_ca_free(struct pki_ca *ca)
{
    if (!ca)
        return;
    mbedtls_pk_free(&ca->key); /* zeroizes the key material */
    mbedtls_x509_crt_free(&ca->crt);
    mbedtls_pk_free(&ca->other_key);
    mbedtls_x509_crt_free(&ca->other_crt);
    mbedtls_platform_zeroize(ca, sizeof(*ca));
    free(ca);
}

const char *pki_ca_trust_domain(const struct pki_ca *ca)
{
    return ca->trust_domain;
}

int pki_ca_fingerprint(const struct pki_ca *ca, char out[65], struct weft_err *e)
{
    return pki_x509_sha256_hex(ca->crt.raw.p, ca->crt.raw.len, out, e);
}

int64_t pki_ca_not_after(const struct pki_ca *ca)
{
    return pki_x509_time_unix(&ca->crt.valid_to);
}

int pki_ca_bundle_pem(const struct pki_ca *ca, struct sbuf *out, struct weft_err *e)
{
    unsigned char pem[PKI_PEM_MAX];
    size_t olen;
    for (const mbedtls_x509_crt *c = &ca->crt; c && c->raw.p; c = c->next) {
        int rc =
            mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n",
                                     c->raw.p, c->raw.len, pem, sizeof(pem), &olen);
        if (rc != 0)
            return err_set(e, "writing the trust bundle failed");
        sbuf_puts(out, (const char *)pem);
    }
    if (out->oom)
        return err_set(e, "out of memory");
    return 0;
}

int pki_ca_sign(struct pki_ca *ca, struct mbedtls_x509write_cert *crt, struct sbuf *out,
                struct weft_err *e)
{
    char issuer[CA_SUBJECT_MAX + 64], eb[160];
    unsigned char pem[PKI_PEM_MAX];
    const char *what = "issuer";
    int rc;
    if (mbedtls_x509_dn_gets(issuer, sizeof(issuer), &ca->crt.subject) < 0)
        return err_set(e, "the CA's subject name is too long");
    mbedtls_x509write_crt_set_issuer_key(crt, &ca->key);
    mbedtls_x509write_crt_set_md_alg(crt, MBEDTLS_MD_SHA256);
    if ((rc = mbedtls_x509write_crt_set_issuer_name(crt, issuer)) != 0 ||
        (what = "authorityKeyIdentifier",
         rc = mbedtls_x509write_crt_set_authority_key_identifier(crt)) != 0 ||
        (what = "signature",
         rc = mbedtls_x509write_crt_pem(crt, pem, sizeof(pem), pki_x509_rng, NULL)) != 0)
        return err_set(e, "signing: %s: %s", what, pki_x509_strerror(rc, eb, sizeof(eb)));
    sbuf_reset(out);
    sbuf_puts(out, (const char *)pem);
    return out->oom ? err_set(e, "out of memory") : 0;
}

int pki_ca_info_read(const char *dir, struct pki_ca_info *out, struct weft_err *e)
{
    return pki_ca_info_read_file(dir, PKI_CA_CRT_FILE, out, e);
}

int pki_ca_info_read_file(const char *dir, const char *file, struct pki_ca_info *out,
                          struct weft_err *e)
{
    mbedtls_x509_crt crt;
    int rc = -1;
    memset(out, 0, sizeof(*out));
    mbedtls_x509_crt_init(&crt);
    if (tls_lib_init(e) != 0 ||
        ca_crt_load_file(dir, file, &crt, out->trust_domain, sizeof(out->trust_domain), e) != 0 ||
        pki_x509_sha256_hex(crt.raw.p, crt.raw.len, out->fingerprint, e) != 0)
        goto done;
    if (mbedtls_x509_dn_gets(out->subject, sizeof(out->subject), &crt.subject) < 0)
        snprintf(out->subject, sizeof(out->subject), "?");
    pki_x509_time_iso(&crt.valid_from, out->not_before);
    pki_x509_time_iso(&crt.valid_to, out->not_after);
    out->not_after_unix = pki_x509_time_unix(&crt.valid_to);
    rc = 0;
done:
    mbedtls_x509_crt_free(&crt);
    return rc;
}

/* Keep every verdict except the dates: validity is judged by the caller. */
static int ca_verify_nodates(void *ud, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    (void)ud;
    (void)crt;
    (void)depth;
    *flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
    return 0;
}

int pki_ca_verify_leaf(struct pki_ca *ca, struct mbedtls_x509_crt *leaf, struct weft_err *e)
{
    uint32_t flags = 0;
    char eb[160];
    int rc = mbedtls_x509_crt_verify(leaf, &ca->crt, NULL, NULL, &flags, ca_verify_nodates, NULL);
    if (rc != 0 || flags != 0)
        return err_set(e, "not issued by this CA (%s, flags 0x%x)",
                       pki_x509_strerror(rc, eb, sizeof(eb)), (unsigned)flags);
    return 0;
}

int pki_ca_sign_digest(struct pki_ca *ca, const unsigned char md[32], struct sbuf *out,
                       struct weft_err *e)
{
    struct {
        mbedtls_pk_context *key;
        const mbedtls_x509_crt *crt;
    } signers[2] = {{&ca->key, &ca->crt}, {&ca->other_key, &ca->other_crt}};
    size_t n = ca->has_other ? 2 : 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
        size_t siglen = 0;
        char fp[65], eb[160];
        int rc = tls_compat_pk_sign(signers[i].key, MBEDTLS_MD_SHA256, md, 32, sig, sizeof(sig),
                                    &siglen, pki_x509_rng, NULL);
        if (rc != 0)
            return err_set(e, "signing: %s", pki_x509_strerror(rc, eb, sizeof(eb)));
        if (pki_x509_sha256_hex(signers[i].crt->raw.p, signers[i].crt->raw.len, fp, e) != 0)
            return -1;
        sbuf_printf(out, "signature = %s ", fp);
        for (size_t k = 0; k < siglen; k++)
            sbuf_printf(out, "%02x", sig[k]);
        sbuf_puts(out, "\n");
    }
    return out->oom ? err_set(e, "out of memory") : 0;
}
