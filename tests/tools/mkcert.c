/*
 * mkcert: certificates for tests that `weft ca` will not make on purpose:
 * validity windows in the past (really expired) or in the future (not yet
 * valid). It issues through pki/ like `weft ca issue`, with pki's wall clock
 * replaced (tests/fakes/fakeclock.c) and set to now + --at seconds, so the
 * certificate is otherwise exactly what weft issues.
 *
 *   mkcert ca   --trust-domain TD --out DIR [--at SECONDS]
 *   mkcert leaf --ca DIR --name NAME [--node] --hours H --out PREFIX [--at SECONDS]
 *               writes PREFIX.crt (0644) and PREFIX.key (0600)
 *
 * Exit 0, or 1 with one line on stderr. Test helper only: never installed.
 */
#include "fakes/fakeclock.h"
#include "pki/ca.h"
#include "pki/issue.h"
#include "tls/tls.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int write_file(const char *path, const char *data, unsigned mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        return -1;
    size_t len = strlen(data);
    ssize_t w = write(fd, data, len);
    if (fchmod(fd, mode) != 0 || close(fd) != 0 || w < 0 || (size_t)w != len)
        return -1;
    return 0;
}

static const char *arg(int argc, char **argv, const char *name)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static bool flag(int argc, char **argv, const char *name)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    struct weft_err e = {{0}};
    if (argc < 2) {
        fprintf(stderr, "usage: mkcert ca|leaf ...\n");
        return 2;
    }
    const char *at = arg(argc, argv, "--at");
    int64_t now = (int64_t)time(NULL) + (at ? strtoll(at, NULL, 10) : 0);
    fakeclock_set_wall_ms(now * 1000);
    if (tls_lib_init(&e) != 0)
        goto fail;
    const char *out = arg(argc, argv, "--out");
    if (strcmp(argv[1], "ca") == 0) {
        const char *td = arg(argc, argv, "--trust-domain");
        if (!td || !out) {
            fprintf(stderr, "mkcert ca: --trust-domain and --out are required\n");
            return 2;
        }
        if (pki_ca_init(out, td, 3650, &e) != 0)
            goto fail;
        return 0;
    }
    if (strcmp(argv[1], "leaf") == 0) {
        const char *ca_dir = arg(argc, argv, "--ca");
        const char *name = arg(argc, argv, "--name");
        const char *hours = arg(argc, argv, "--hours");
        if (!ca_dir || !name || !hours || !out) {
            fprintf(stderr, "mkcert leaf: --ca, --name, --hours and --out are required\n");
            return 2;
        }
        struct pki_ca *ca = pki_ca_load(ca_dir, &e);
        if (!ca)
            goto fail;
        struct pki_leaf leaf;
        pki_leaf_init(&leaf);
        int rc = pki_issue_leaf(ca, flag(argc, argv, "--node") ? SPIFFE_NODE : SPIFFE_SVC, name,
                                strtoll(hours, NULL, 10) * 3600, &leaf, &e);
        pki_ca_free(ca);
        if (rc == 0) {
            char path[1024];
            snprintf(path, sizeof(path), "%s.crt", out);
            rc = write_file(path, leaf.crt_pem.data, 0644);
            snprintf(path, sizeof(path), "%s.key", out);
            if (rc == 0)
                rc = write_file(path, leaf.key_pem.data, 0600);
            if (rc != 0)
                err_set(&e, "writing %s: failed", path);
        }
        pki_leaf_deinit(&leaf);
        if (rc != 0)
            goto fail;
        return 0;
    }
    fprintf(stderr, "mkcert: unknown command %s\n", argv[1]);
    return 2;
fail:
    fprintf(stderr, "mkcert: %s\n", e.msg);
    return 1;
}
