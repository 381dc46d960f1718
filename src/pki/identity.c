/*
 * identity: load a node's certificates and keys from an enrollment bundle or
 * from the store, check them, and save them to the store (identity.h).
 */
#include "pki/identity.h"

#include "pki/bundle.h"
#include "pki/x509.h"
#include "store/store.h"
#include "tls/tls_compat.h"

#include <mbedtls/pem.h>
#include <mbedtls/platform_util.h>

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A heap copy of s (NULL on failure). */
static char *ident_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Free a key buffer after wiping it. */
static void ident_key_free(char *key)
{
    if (!key)
        return;
    mbedtls_platform_zeroize(key, strlen(key));
    free(key);
}

void pki_identity_free(struct pki_identity *id)
{
    if (!id)
        return;
    for (size_t i = 0; i < id->nidents; i++) {
        free(id->idents[i].cert_pem);
        ident_key_free(id->idents[i].key_pem);
    }
    for (size_t i = 0; i < id->nroots; i++)
        free(id->roots[i].cert_pem);
    free(id->idents);
    free(id->roots);
    free(id);
}

void pki_identity_time_iso(int64_t unix_s, char out[21])
{
    pki_x509_unix_iso(unix_s, out);
}

/* Append an empty entry to id->idents; NULL when out of memory. */
static struct pki_ident *ident_add(struct pki_identity *id)
{
    struct pki_ident *n = realloc(id->idents, (id->nidents + 1) * sizeof(*n));
    if (!n)
        return NULL;
    id->idents = n;
    memset(&n[id->nidents], 0, sizeof(*n));
    return &n[id->nidents++];
}

static struct pki_root *root_add(struct pki_identity *id)
{
    struct pki_root *n = realloc(id->roots, (id->nroots + 1) * sizeof(*n));
    if (!n)
        return NULL;
    id->roots = n;
    memset(&n[id->nroots], 0, sizeof(*n));
    return &n[id->nroots++];
}

/* Read dir/file into a new heap string (*out, caller owns). */
static int ident_read(const char *dir, const char *file, char **out, struct weft_err *e)
{
    char path[4200];
    struct sbuf b;
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    sbuf_init(&b);
    int rc = pki_x509_file_read(path, &b, e);
    if (rc == 0 && !(*out = ident_strdup(sbuf_str(&b))))
        rc = err_set(e, "out of memory");
    if (b.data)
        mbedtls_platform_zeroize(b.data, b.cap);
    sbuf_deinit(&b);
    return rc;
}

/* One certificate/key pair of a bundle dir into a new entry. */
static int ident_read_pair(struct pki_identity *id, const char *dir, enum spiffe_kind kind,
                           const char *name, struct weft_err *e)
{
    char crt[128], key[128];
    struct pki_ident *it = ident_add(id);
    if (!it)
        return err_set(e, "out of memory");
    it->kind = kind;
    snprintf(it->name, sizeof(it->name), "%s", name);
    if (kind == SPIFFE_NODE) {
        snprintf(crt, sizeof(crt), "node.crt");
        snprintf(key, sizeof(key), "node.key");
    } else {
        snprintf(crt, sizeof(crt), "svc-%s.crt", name);
        snprintf(key, sizeof(key), "svc-%s.key", name);
    }
    if (ident_read(dir, crt, &it->cert_pem, e) != 0 || ident_read(dir, key, &it->key_pem, e) != 0)
        return -1;
    return 0;
}

static int ident_name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The service names of dir (from svc-NAME.crt), sorted, into names[]. */
static int ident_list_services(const char *dir, char **names, size_t *n, struct weft_err *e)
{
    DIR *d = opendir(dir);
    if (!d)
        return err_set(e, "cannot open the bundle directory %s: %s", dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    *n = 0;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len <= 8 || strncmp(de->d_name, "svc-", 4) != 0 ||
            strcmp(de->d_name + len - 4, ".crt") != 0)
            continue;
        if (*n == PKI_BUNDLE_SERVICES_MAX) {
            rc = err_set(e, "%s holds more than %d services", dir, PKI_BUNDLE_SERVICES_MAX);
            break;
        }
        char name[SPIFFE_NAME_MAX + 8];
        snprintf(name, sizeof(name), "%.*s", (int)(len - 8), de->d_name + 4);
        if (spiffe_name_check(SPIFFE_SVC, name, e) != 0) {
            rc = err_prefix(e, "%s", dir);
            break;
        }
        if (!(names[*n] = ident_strdup(name))) {
            rc = err_set(e, "out of memory");
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (rc == 0)
        qsort(names, *n, sizeof(*names), ident_name_cmp);
    return rc;
}

/* Split a PEM bundle into one root entry per certificate. */
static int ident_roots_from_pem(struct pki_identity *id, const char *pem, const char *what,
                                struct weft_err *e)
{
    mbedtls_x509_crt chain;
    char eb[128];
    mbedtls_x509_crt_init(&chain);
    int rc = mbedtls_x509_crt_parse(&chain, (const unsigned char *)pem, strlen(pem) + 1);
    if (rc != 0) {
        mbedtls_x509_crt_free(&chain);
        return err_set(e, "%s: not a PEM certificate bundle: %s", what,
                       pki_x509_strerror(rc, eb, sizeof(eb)));
    }
    for (const mbedtls_x509_crt *c = &chain; c && c->raw.p; c = c->next) {
        unsigned char out[PKI_PEM_MAX];
        size_t olen = 0;
        struct pki_root *r = root_add(id);
        if (!r) {
            rc = err_set(e, "out of memory");
            break;
        }
        if ((rc = mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n",
                                           "-----END CERTIFICATE-----\n", c->raw.p, c->raw.len, out,
                                           sizeof(out), &olen)) != 0) {
            rc = err_set(e, "%s: %s", what, pki_x509_strerror(rc, eb, sizeof(eb)));
            break;
        }
        if (!(r->cert_pem = ident_strdup((const char *)out))) {
            rc = err_set(e, "out of memory");
            break;
        }
    }
    mbedtls_x509_crt_free(&chain);
    return rc;
}

struct pki_identity *pki_identity_load_dir(const char *dir, const char *node, const char *td,
                                           struct weft_err *e)
{
    struct pki_identity *id = calloc(1, sizeof(*id));
    char *names[PKI_BUNDLE_SERVICES_MAX];
    size_t nnames = 0;
    char *trust = NULL;
    if (!id) {
        err_set(e, "out of memory");
        return NULL;
    }
    int rc = ident_list_services(dir, names, &nnames, e);
    if (rc == 0)
        rc = ident_read_pair(id, dir, SPIFFE_NODE, node, e);
    for (size_t i = 0; rc == 0 && i < nnames; i++)
        rc = ident_read_pair(id, dir, SPIFFE_SVC, names[i], e);
    if (rc == 0)
        rc = ident_read(dir, PKI_BUNDLE_TRUST, &trust, e);
    if (rc == 0)
        rc = ident_roots_from_pem(id, trust, PKI_BUNDLE_TRUST, e);
    if (rc == 0 && (rc = pki_identity_check(id, node, td, e)) != 0)
        err_prefix(e, "bundle %s", dir);
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(trust);
    if (rc != 0) {
        pki_identity_free(id);
        return NULL;
    }
    return id;
}

/* The file an entry comes from, for messages. */
static void ident_file(const struct pki_ident *it, char *buf, size_t cap)
{
    if (it->kind == SPIFFE_NODE)
        snprintf(buf, cap, "node.crt");
    else
        snprintf(buf, cap, "svc-%s.crt", it->name);
}

/* The verify callback: remember the top of the chain (the trusted root). */
struct ident_top {
    char fp[65];
    int depth;
};

static int ident_verify_cb(void *ud, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    struct ident_top *top = ud;
    (void)flags;
    if (depth > top->depth) {
        top->depth = depth;
        if (pki_x509_sha256_hex(crt->raw.p, crt->raw.len, top->fp, NULL) != 0)
            top->fp[0] = '\0';
    }
    return 0;
}

/* The one URI SAN of crt into out; -1 if there is not exactly one. */
static int ident_uri_san(const mbedtls_x509_crt *crt, char *out, size_t cap)
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

/* Check one entry against the roots; fill its derived fields. */
static int ident_check_one(struct pki_ident *it, mbedtls_x509_crt *roots, const char *node,
                           const char *td, struct weft_err *e)
{
    mbedtls_x509_crt crt;
    mbedtls_pk_context key;
    char file[96], eb[128];
    struct spiffe_id sid;
    int rc = -1;
    ident_file(it, file, sizeof(file));
    mbedtls_x509_crt_init(&crt);
    mbedtls_pk_init(&key);
    int mrc =
        mbedtls_x509_crt_parse(&crt, (const unsigned char *)it->cert_pem, strlen(it->cert_pem) + 1);
    if (mrc != 0) {
        err_set(e, "%s: not a PEM certificate: %s", file, pki_x509_strerror(mrc, eb, sizeof(eb)));
        goto out;
    }
    if (ident_uri_san(&crt, it->spiffe_id, sizeof(it->spiffe_id)) != 0) {
        err_set(e, "%s: not a weft certificate (it must carry exactly one URI SAN)", file);
        goto out;
    }
    if (spiffe_id_parse(it->spiffe_id, strlen(it->spiffe_id), &sid, e) != 0) {
        err_prefix(e, "%s", file);
        goto out;
    }
    if (sid.kind != it->kind) {
        err_set(e, "%s is %s, not a %s identity", file, it->spiffe_id, spiffe_kind_name(it->kind));
        goto out;
    }
    bool td_bad = strcmp(sid.trust_domain, td) != 0;
    bool name_bad =
        it->kind == SPIFFE_NODE ? strcmp(sid.name, node) != 0 : strcmp(sid.name, it->name) != 0;
    if (td_bad || name_bad) {
        char why[600];
        int off = 0;
        if (td_bad)
            off =
                snprintf(why, sizeof(why), "its trust domain '%s' is not [node] trust_domain '%s'",
                         sid.trust_domain, td);
        if (name_bad)
            snprintf(why + off, sizeof(why) - (size_t)off, "%sits name '%s' is not %s '%s'",
                     off ? ", and " : "", sid.name,
                     it->kind == SPIFFE_NODE ? "[node] name" : "the file's",
                     it->kind == SPIFFE_NODE ? node : it->name);
        err_set(e, "%s is %s: %s", file, it->spiffe_id, why);
        goto out;
    }
    if (it->kind == SPIFFE_SVC)
        snprintf(it->name, sizeof(it->name), "%s", sid.name);

    struct ident_top top = {.fp = "", .depth = 0};
    uint32_t flags = 0;
    mrc = mbedtls_x509_crt_verify(&crt, roots, NULL, NULL, &flags, ident_verify_cb, &top);
    /* Dates are judged against weft's clock (pki_identity_check_expiry). */
    flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
    if ((mrc != 0 && flags != 0) || (mrc != 0 && mrc != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) ||
        top.depth < 1) {
        char info[256];
        if (mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags) < 0)
            snprintf(info, sizeof(info), "verification failed");
        for (char *p = info; *p; p++)
            if (*p == '\n')
                *p = p[1] ? ';' : '\0';
        err_set(e, "%s (%s) does not chain to a CA of %s: %s", file, it->spiffe_id,
                PKI_BUNDLE_TRUST, info[0] ? info : "not trusted");
        goto out;
    }
    snprintf(it->issuer_fp, sizeof(it->issuer_fp), "%s", top.fp);

    mrc = tls_compat_pk_parse_key(&key, (const unsigned char *)it->key_pem, strlen(it->key_pem) + 1,
                                  pki_x509_rng, NULL);
    if (mrc != 0) {
        err_set(e, "the key of %s is not a PEM private key: %s", file,
                pki_x509_strerror(mrc, eb, sizeof(eb)));
        goto out;
    }
    if (tls_compat_pk_check_pair(&crt.pk, &key, pki_x509_rng, NULL) != 0) {
        err_set(e, "the key of %s does not match the certificate", file);
        goto out;
    }
    it->not_before = pki_x509_time_unix(&crt.valid_from);
    it->not_after = pki_x509_time_unix(&crt.valid_to);
    size_t sl = crt.serial.len < (PKI_IDENT_SERIAL_MAX - 1) / 2 ? crt.serial.len
                                                                : (PKI_IDENT_SERIAL_MAX - 1) / 2;
    for (size_t i = 0; i < sl; i++)
        snprintf(it->serial + 2 * i, 3, "%02x", crt.serial.p[i]);
    it->serial[2 * sl] = '\0';
    rc = 0;
out:
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&crt);
    return rc;
}

int pki_identity_check(struct pki_identity *id, const char *node, const char *td,
                       struct weft_err *e)
{
    mbedtls_x509_crt roots;
    char eb[128];
    int rc = 0;
    if (id->nidents == 0 || id->idents[0].kind != SPIFFE_NODE)
        return err_set(e, "no node certificate");
    if (id->nroots == 0)
        return err_set(e, "%s holds no certificate", PKI_BUNDLE_TRUST);
    mbedtls_x509_crt_init(&roots);
    for (size_t i = 0; rc == 0 && i < id->nroots; i++) {
        struct pki_root *r = &id->roots[i];
        int mrc = mbedtls_x509_crt_parse(&roots, (const unsigned char *)r->cert_pem,
                                         strlen(r->cert_pem) + 1);
        if (mrc != 0) {
            rc = err_set(e, "%s: %s", PKI_BUNDLE_TRUST, pki_x509_strerror(mrc, eb, sizeof(eb)));
            break;
        }
        const mbedtls_x509_crt *c = &roots;
        while (c->next && c->next->raw.p)
            c = c->next;
        rc = pki_x509_sha256_hex(c->raw.p, c->raw.len, r->fingerprint, e);
        if (mbedtls_x509_dn_gets(r->subject, sizeof(r->subject), &c->subject) < 0)
            r->subject[0] = '\0';
        r->not_after = pki_x509_time_unix(&c->valid_to);
    }
    for (size_t i = 0; rc == 0 && i < id->nidents; i++)
        rc = ident_check_one(&id->idents[i], &roots, node, td, e);
    mbedtls_x509_crt_free(&roots);
    return rc;
}

/* store_identity_each callback: one stored row into the identity. */
static int ident_from_row(void *ud, const struct store_ident *row)
{
    struct pki_identity *id = ud;
    enum spiffe_kind kind = strcmp(row->kind, "node") == 0 ? SPIFFE_NODE : SPIFFE_SVC;
    if (!row->name || !row->cert_pem || !row->key_pem ||
        (kind == SPIFFE_NODE) != (id->nidents == 0))
        return -1; /* one node, first (the query orders it so) */
    struct pki_ident *it = ident_add(id);
    if (!it)
        return -1;
    it->kind = kind;
    snprintf(it->name, sizeof(it->name), "%s", row->name);
    it->cert_pem = ident_strdup(row->cert_pem);
    it->key_pem = ident_strdup(row->key_pem);
    return it->cert_pem && it->key_pem ? 0 : -1;
}

static int root_from_row(void *ud, const struct store_root *row)
{
    struct pki_identity *id = ud;
    struct pki_root *r = root_add(id);
    if (!r || !row->cert_pem)
        return -1;
    r->cert_pem = ident_strdup(row->cert_pem);
    return r->cert_pem ? 0 : -1;
}

int pki_identity_load_store(struct store *st, const char *node, const char *td,
                            struct pki_identity **out, struct weft_err *e)
{
    struct pki_identity *id = calloc(1, sizeof(*id));
    *out = NULL;
    if (!id)
        return err_set(e, "out of memory");
    if (store_identity_each(st, ident_from_row, id, e) != 0 ||
        store_root_each(st, root_from_row, id, e) != 0) {
        pki_identity_free(id);
        return -1;
    }
    if (id->nidents == 0) {
        pki_identity_free(id);
        return 0;
    }
    if (pki_identity_check(id, node, td, e) != 0) {
        pki_identity_free(id);
        return err_prefix(e, "the identity kept in the store");
    }
    *out = id;
    return 0;
}

int pki_identity_save(const struct pki_identity *id, struct store *st, struct weft_err *e)
{
    struct store_ident *rows = calloc(id->nidents, sizeof(*rows));
    struct store_root *roots = calloc(id->nroots, sizeof(*roots));
    int rc;
    if (!rows || !roots) {
        free(rows);
        free(roots);
        return err_set(e, "out of memory");
    }
    for (size_t i = 0; i < id->nidents; i++) {
        const struct pki_ident *it = &id->idents[i];
        rows[i] = (struct store_ident){
            .kind = spiffe_kind_name(it->kind),
            .name = it->name,
            .spiffe_id = it->spiffe_id,
            .cert_pem = it->cert_pem,
            .key_pem = it->key_pem,
            .not_before = it->not_before,
            .not_after = it->not_after,
            .serial = it->serial,
            .issuer_fp = it->issuer_fp,
        };
    }
    for (size_t i = 0; i < id->nroots; i++)
        roots[i] = (struct store_root){.fingerprint = id->roots[i].fingerprint,
                                       .cert_pem = id->roots[i].cert_pem,
                                       .not_after = id->roots[i].not_after};
    rc = store_identity_replace(st, rows, id->nidents, roots, id->nroots, e);
    free(rows);
    free(roots);
    return rc;
}

int pki_identity_newer(const struct pki_identity *disk, const struct pki_identity *stored)
{
    const struct pki_ident *d = &disk->idents[0], *s = &stored->idents[0];
    if (strcmp(d->serial, s->serial) == 0)
        return 0;
    return d->not_after >= s->not_after;
}

int pki_identity_check_expiry(const struct pki_identity *id, int64_t now_s, struct weft_err *e)
{
    const struct pki_ident *n = &id->idents[0];
    char when[21];
    if (n->not_after > now_s)
        return 0;
    pki_identity_time_iso(n->not_after, when);
    return err_set(e,
                   "the node certificate %s expired on %s; re-enroll this node: on the CA's "
                   "machine run `weft ca issue --ca CA_DIR --node %s [--services ...] --out DIR`, "
                   "copy DIR here and point [identity] bundle at it, then start again; or "
                   "enroll online: on the CA node run `weft ca token --node %s [--services ...]` "
                   "and set [identity] token to what it prints (without [identity] bundle)",
                   n->spiffe_id, when, n->name, n->name);
}

struct pki_identity *pki_identity_copy(const struct pki_identity *id)
{
    struct pki_identity *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    for (size_t i = 0; i < id->nidents; i++) {
        struct pki_ident *it = ident_add(c);
        if (!it)
            goto fail;
        *it = id->idents[i];
        it->cert_pem = ident_strdup(id->idents[i].cert_pem);
        it->key_pem = ident_strdup(id->idents[i].key_pem);
        if (!it->cert_pem || !it->key_pem)
            goto fail;
    }
    for (size_t i = 0; i < id->nroots; i++) {
        struct pki_root *r = root_add(c);
        if (!r)
            goto fail;
        *r = id->roots[i];
        if (!(r->cert_pem = ident_strdup(id->roots[i].cert_pem)))
            goto fail;
    }
    return c;
fail:
    pki_identity_free(c);
    return NULL;
}

int pki_identity_set_pem(struct pki_identity *id, size_t i, const char *cert_pem,
                         const char *key_pem, struct weft_err *e)
{
    char *c = ident_strdup(cert_pem), *k = ident_strdup(key_pem);
    if (!c || !k) {
        free(c);
        ident_key_free(k);
        return err_set(e, "out of memory");
    }
    free(id->idents[i].cert_pem);
    ident_key_free(id->idents[i].key_pem);
    id->idents[i].cert_pem = c;
    id->idents[i].key_pem = k;
    return 0;
}

int pki_identity_set_roots(struct pki_identity *id, const char *bundle_pem, struct weft_err *e)
{
    struct pki_identity tmp = {0};
    if (ident_roots_from_pem(&tmp, bundle_pem, "trust bundle", e) != 0 || tmp.nroots == 0) {
        for (size_t i = 0; i < tmp.nroots; i++)
            free(tmp.roots[i].cert_pem);
        free(tmp.roots);
        return tmp.nroots == 0 && !err_is_set(e) ? err_set(e, "empty trust bundle") : -1;
    }
    for (size_t i = 0; i < id->nroots; i++)
        free(id->roots[i].cert_pem);
    free(id->roots);
    id->roots = tmp.roots;
    id->nroots = tmp.nroots;
    return 0;
}

bool pki_identity_has_root(const struct pki_identity *id, const char *fp)
{
    for (size_t i = 0; i < id->nroots; i++)
        if (strcmp(id->roots[i].fingerprint, fp) == 0)
            return true;
    return false;
}

bool pki_identity_same_roots(const struct pki_identity *a, const struct pki_identity *b)
{
    if (a->nroots != b->nroots)
        return false;
    for (size_t i = 0; i < a->nroots; i++)
        if (!pki_identity_has_root(b, a->roots[i].fingerprint))
            return false;
    return true;
}

int pki_identity_roots_pem(const struct pki_identity *id, struct sbuf *out, struct weft_err *e)
{
    for (size_t i = 0; i < id->nroots; i++)
        sbuf_puts(out, id->roots[i].cert_pem);
    return out->oom ? err_set(e, "out of memory") : 0;
}

struct pki_identity *pki_identity_new(void)
{
    return calloc(1, sizeof(struct pki_identity));
}

int pki_identity_add(struct pki_identity *id, enum spiffe_kind kind, const char *name,
                     const char *cert_pem, const char *key_pem, struct weft_err *e)
{
    struct pki_ident *it = ident_add(id);
    if (!it)
        return err_set(e, "out of memory");
    it->kind = kind;
    snprintf(it->name, sizeof(it->name), "%s", name);
    it->cert_pem = ident_strdup(cert_pem);
    it->key_pem = ident_strdup(key_pem);
    return it->cert_pem && it->key_pem ? 0 : err_set(e, "out of memory");
}
