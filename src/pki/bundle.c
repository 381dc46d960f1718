/*
 * bundle: write a node's enrollment bundle (see bundle.h).
 *
 * Order: validate everything (names, duplicates, lifetimes, that no target
 * file exists), then load the CA, issue every certificate in memory, and only
 * then write the files, keys first, each with O_EXCL. The private keys are
 * wiped from memory as soon as they are on disk.
 */
#include "pki/bundle.h"

#include "core/clock.h"
#include "core/sbuf.h"
#include "pki/ca.h"
#include "pki/issue.h"
#include "pki/spiffe.h"
#include "pki/x509.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* node + services, each a key and a certificate, + bundle.crt + manifest. */
#define BUNDLE_FILES_MAX (2 * (PKI_BUNDLE_SERVICES_MAX + 1) + 2)
#define BUNDLE_PATH_MAX 4096

struct bundle_file {
    char path[BUNDLE_PATH_MAX];
    const struct sbuf *data;
    unsigned mode;
};

static int opts_check(const struct pki_bundle_opts *o, struct weft_err *e)
{
    if (!o->ca_dir || !o->out_dir)
        return err_set(e, "the CA and output directories are required");
    if (spiffe_name_check(SPIFFE_NODE, o->node, e) != 0)
        return -1;
    if (o->nservices > PKI_BUNDLE_SERVICES_MAX)
        return err_set(e, "%zu services: at most %d per bundle", o->nservices,
                       PKI_BUNDLE_SERVICES_MAX);
    for (size_t i = 0; i < o->nservices; i++) {
        if (spiffe_name_check(SPIFFE_SVC, o->services[i], e) != 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(o->services[i], o->services[j]) == 0)
                return err_set(e, "service '%s' is listed twice", o->services[i]);
    }
    if (o->node_days < 1 || o->node_days > PKI_NODE_DAYS_MAX)
        return err_set(e, "node lifetime %d days: want 1 to %d", o->node_days, PKI_NODE_DAYS_MAX);
    if (o->svc_hours < 1 || o->svc_hours > PKI_SVC_HOURS_MAX)
        return err_set(e, "service lifetime %d hours: want 1 to %d", o->svc_hours,
                       PKI_SVC_HOURS_MAX);
    return 0;
}

static int file_add(struct bundle_file *f, size_t *n, const char *dir, const char *name,
                    const char *suffix, const struct sbuf *data, unsigned mode, struct weft_err *e)
{
    struct bundle_file *b = &f[(*n)++];
    int len = snprintf(b->path, sizeof(b->path), "%s/%s%s", dir, name, suffix);
    if (len < 0 || (size_t)len >= sizeof(b->path))
        return err_set(e, "path too long: %s/%s%s", dir, name, suffix);
    b->data = data;
    b->mode = mode;
    return 0;
}

static void manifest_write(struct sbuf *m, const struct pki_bundle_opts *o, const char *td,
                           const char *fp, const struct pki_leaf *leaves)
{
    char when[21];
    pki_x509_unix_iso(clock_wall_ms() / 1000, when);
    sbuf_printf(m,
                "; weft enrollment bundle, written by `weft ca issue`.\n"
                "; Keys: node.key, svc-NAME.key (0600). Trust bundle: bundle.crt.\n"
                "[bundle]\ntrust_domain = %s\nca_fingerprint = sha256:%s\ncreated = %s\n",
                td, fp, when);
    pki_x509_unix_iso(leaves[0].not_after, when);
    sbuf_printf(m, "\n[node]\nname = %s\nid = %s\nnot_after = %s\n", o->node, leaves[0].id, when);
    for (size_t i = 0; i < o->nservices; i++) {
        pki_x509_unix_iso(leaves[i + 1].not_after, when);
        sbuf_printf(m, "\n[svc.%s]\nid = %s\nnot_after = %s\n", o->services[i], leaves[i + 1].id,
                    when);
    }
}

int pki_bundle_write(const struct pki_bundle_opts *o, struct weft_err *e)
{
    struct bundle_file *files = NULL;
    struct pki_leaf *leaves = NULL;
    struct pki_ca *ca = NULL;
    struct pki_ca_info info;
    struct sbuf trust, manifest;
    size_t nfiles = 0, nleaves = 0, written = 0;
    int rc = -1;
    struct stat st;

    sbuf_init(&trust);
    sbuf_init(&manifest);
    if (opts_check(o, e) != 0)
        goto out;
    files = calloc(BUNDLE_FILES_MAX, sizeof(*files));
    leaves = calloc(o->nservices + 1, sizeof(*leaves));
    if (!files || !leaves) {
        err_set(e, "out of memory");
        goto out;
    }
    for (size_t i = 0; i <= o->nservices; i++)
        pki_leaf_init(&leaves[i]);
    nleaves = o->nservices + 1;

    /* The file list, and not one of them may exist yet. */
    if (file_add(files, &nfiles, o->out_dir, "node", ".key", &leaves[0].key_pem, 0600, e) != 0 ||
        file_add(files, &nfiles, o->out_dir, "node", ".crt", &leaves[0].crt_pem, 0644, e) != 0)
        goto out;
    for (size_t i = 0; i < o->nservices; i++) {
        char base[8 + SPIFFE_NAME_MAX];
        snprintf(base, sizeof(base), "svc-%s", o->services[i]);
        if (file_add(files, &nfiles, o->out_dir, base, ".key", &leaves[i + 1].key_pem, 0600, e) !=
                0 ||
            file_add(files, &nfiles, o->out_dir, base, ".crt", &leaves[i + 1].crt_pem, 0644, e) !=
                0)
            goto out;
    }
    if (file_add(files, &nfiles, o->out_dir, PKI_BUNDLE_TRUST, "", &trust, 0644, e) != 0 ||
        file_add(files, &nfiles, o->out_dir, PKI_BUNDLE_MANIFEST, "", &manifest, 0644, e) != 0)
        goto out;
    for (size_t i = 0; i < nfiles; i++) {
        if (lstat(files[i].path, &st) == 0) {
            err_set(e,
                    "%s already exists; refusing to overwrite (write the bundle to a new "
                    "directory)",
                    files[i].path);
            goto out;
        }
    }

    /* Everything in memory first. */
    if (!(ca = pki_ca_load(o->ca_dir, e)) || pki_ca_info_read(o->ca_dir, &info, e) != 0 ||
        pki_ca_bundle_pem(ca, &trust, e) != 0)
        goto out;
    if (pki_issue_leaf(ca, SPIFFE_NODE, o->node, (int64_t)o->node_days * 86400, &leaves[0], e) != 0)
        goto out;
    for (size_t i = 0; i < o->nservices; i++)
        if (pki_issue_leaf(ca, SPIFFE_SVC, o->services[i], (int64_t)o->svc_hours * 3600,
                           &leaves[i + 1], e) != 0)
            goto out;
    manifest_write(&manifest, o, pki_ca_trust_domain(ca), info.fingerprint, leaves);
    if (manifest.oom) {
        err_set(e, "out of memory");
        goto out;
    }

    /* Then the files. */
    if (mkdir(o->out_dir, 0700) != 0 && errno != EEXIST) {
        err_set(e, "cannot create %s: %s", o->out_dir, strerror(errno));
        goto out;
    }
    if (stat(o->out_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        err_set(e, "%s is not a directory", o->out_dir);
        goto out;
    }
    for (written = 0; written < nfiles; written++)
        if (pki_x509_file_create(files[written].path, files[written].data->data,
                                 files[written].data->len, files[written].mode, e) != 0)
            goto out;
    rc = 0;
out:
    if (rc != 0 && files) /* all or nothing: remove what this call wrote */
        for (size_t i = 0; i < written; i++)
            unlink(files[i].path);
    for (size_t i = 0; i < nleaves; i++)
        pki_leaf_deinit(&leaves[i]);
    free(leaves);
    free(files);
    pki_ca_free(ca);
    sbuf_deinit(&trust);
    sbuf_deinit(&manifest);
    return rc;
}
