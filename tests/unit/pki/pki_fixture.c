#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pki_fixture.h"

#include "fakes/fakeclock.h"
#include "pki/ca.h"
#include "tls/tls.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void path(char *out, size_t cap, const char *dir, const char *file)
{
    int n = snprintf(out, cap, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= cap)
        fail_msg("path too long: %s/%s", dir, file);
}

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[600];
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        path(p, sizeof(p), dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_rf(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int pki_fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct weft_err e = {{0}};
    const char *tmp = getenv("TMPDIR");
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "%s/weft-pki-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    path(f->ca, sizeof(f->ca), f->dir, "ca");
    path(f->out, sizeof(f->out), f->dir, "bundle");
    f->now = (int64_t)time(NULL);
    fakeclock_set_wall_ms(f->now * 1000);
    if (pki_ca_init(f->ca, "example.org", 3650, &e) != 0) {
        fprintf(stderr, "setup: %s\n", e.msg);
        rm_rf(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

int pki_fixture_teardown(void **state)
{
    struct fixture *f = *state;
    rm_rf(f->dir);
    free(f);
    tls_lib_deinit();
    return 0;
}
