/*
 * driver: a main() for the fuzz targets when they are not built with
 * libFuzzer, so that ctest runs each target over its checked-in corpus
 * (tests/fuzz/corpus/<target>/) on every build, natively and under qemu in
 * cross builds, with no fuzzer installed.
 *
 *   fuzz_<target> PATH...
 *
 * Each PATH is a file or a directory; a directory contributes its regular
 * files (not its subdirectories, not dot files) in name order, so runs are
 * reproducible. Every input is read into a buffer of exactly its size (the
 * sanitizers then catch a read one byte past it, as under libFuzzer) and
 * passed to LLVMFuzzerTestOneInput() once. The input's name is printed
 * before it runs, so a crash in the ctest log names the file that caused it.
 *
 * Exit status: 0 after at least one input ran; 1 if a path could not be
 * read or there was nothing to run (a missing corpus must not pass as an
 * empty one). A broken invariant aborts the process (see fuzz.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static const char *prog = "fuzz";
static unsigned long inputs_run;

/* Read `path` whole and run it. Returns 0, or -1 (message printed). */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        if (len == cap) {
            uint8_t *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf || failed) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, buf ? "read error" : "out of memory");
        free(buf);
        return -1;
    }
    /* Exactly len bytes (at least 1 for malloc): a read past the end is caught. */
    uint8_t *input = realloc(buf, len ? len : 1);
    if (!input) {
        free(buf);
        fprintf(stderr, "%s: %s: out of memory\n", prog, path);
        return -1;
    }
    printf("  %s (%zu bytes)\n", path, len);
    fflush(stdout);
    LLVMFuzzerTestOneInput(input, len);
    free(input);
    inputs_run++;
    return 0;
}

static int skip_dot(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

/* Run every regular file of a directory, in name order. */
static int run_dir(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, skip_dot, alphasort);
    int rc = 0;
    if (n < 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        struct stat st;
        size_t len = strlen(dir) + 1 + strlen(names[i]->d_name) + 1;
        char *path = malloc(len);
        if (!path) {
            rc = -1;
        } else {
            size_t dlen = strlen(dir);
            bool slash = dlen > 0 && dir[dlen - 1] == '/';
            snprintf(path, len, "%s%s%s", dir, slash ? "" : "/", names[i]->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && run_file(path) != 0)
                rc = -1;
        }
        free(path);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;
    const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
    if (argc > 0)
        prog = slash ? slash + 1 : argv[0];
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", prog);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "%s: %s: %s\n", prog, argv[i], strerror(errno));
            rc = 1;
        } else if (S_ISDIR(st.st_mode)) {
            if (run_dir(argv[i]) != 0)
                rc = 1;
        } else if (run_file(argv[i]) != 0) {
            rc = 1;
        }
    }
    printf("%s: ran %lu inputs\n", prog, inputs_run);
    if (inputs_run == 0) {
        fprintf(stderr, "%s: no inputs found\n", prog);
        rc = 1;
    }
    return rc;
}
