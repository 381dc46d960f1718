/*
 * ca_rotate: the file moves of root rotation (see ca_rotate.h). Keys are
 * renamed or hard-linked, never read here: ca.c stays the only code that
 * parses the CA key.
 */
#include "pki/ca_rotate.h"

#include "pki/x509.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_CAP 4096

static int rot_path(char out[PATH_CAP], const char *dir, const char *file, struct weft_err *e)
{
    int n = snprintf(out, PATH_CAP, "%s/%s", dir, file);
    if (n < 0 || n >= PATH_CAP)
        return err_set(e, "path too long: %s/%s", dir, file);
    return 0;
}

/* 1 if dir/file exists, 0 if not, -1 on a path error. */
static int rot_exists(const char *dir, const char *file, struct weft_err *e)
{
    char p[PATH_CAP];
    struct stat st;
    if (rot_path(p, dir, file, e) != 0)
        return -1;
    return lstat(p, &st) == 0;
}

static int rot_fsync_dir(const char *dir, struct weft_err *e)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return err_set(e, "cannot sync %s: %s", dir, strerror(err));
    }
    close(fd);
    return 0;
}

static int rot_rename(const char *dir, const char *from, const char *to, struct weft_err *e)
{
    char a[PATH_CAP], b[PATH_CAP];
    if (rot_path(a, dir, from, e) != 0 || rot_path(b, dir, to, e) != 0)
        return -1;
    if (rename(a, b) != 0)
        return err_set(e, "cannot rename %s to %s: %s", a, b, strerror(errno));
    return 0;
}

/* Hard-link from as to unless to exists (idempotent). */
static int rot_link(const char *dir, const char *from, const char *to, struct weft_err *e)
{
    char a[PATH_CAP], b[PATH_CAP];
    if (rot_path(a, dir, from, e) != 0 || rot_path(b, dir, to, e) != 0)
        return -1;
    if (link(a, b) != 0 && errno != EEXIST)
        return err_set(e, "cannot link %s to %s: %s", a, b, strerror(errno));
    return 0;
}

static int rot_unlink(const char *dir, const char *file, struct weft_err *e)
{
    char p[PATH_CAP];
    if (rot_path(p, dir, file, e) != 0)
        return -1;
    if (unlink(p) != 0 && errno != ENOENT)
        return err_set(e, "cannot remove %s: %s", p, strerror(errno));
    return 0;
}

/* Durably write the journal naming step, before any move. */
static int rot_journal_write(const char *dir, const char *step, struct weft_err *e)
{
    char line[32];
    int n = snprintf(line, sizeof(line), "%s\n", step);
    if (rot_unlink(dir, PKI_CA_JOURNAL_FILE ".tmp", e) != 0)
        return -1;
    char tmp[PATH_CAP];
    if (rot_path(tmp, dir, PKI_CA_JOURNAL_FILE ".tmp", e) != 0 ||
        pki_x509_file_create(tmp, line, (size_t)n, 0600, e) != 0 ||
        rot_rename(dir, PKI_CA_JOURNAL_FILE ".tmp", PKI_CA_JOURNAL_FILE, e) != 0)
        return -1;
    return rot_fsync_dir(dir, e);
}

/* The step named by the journal into step (empty: none). */
static int rot_journal_read(const char *dir, char *step, size_t cap, struct weft_err *e)
{
    char p[PATH_CAP];
    step[0] = '\0';
    if (rot_path(p, dir, PKI_CA_JOURNAL_FILE, e) != 0)
        return -1;
    FILE *f = fopen(p, "re");
    if (!f)
        return errno == ENOENT ? 0 : err_set(e, "cannot read %s: %s", p, strerror(errno));
    if (!fgets(step, (int)cap, f))
        step[0] = '\0';
    fclose(f);
    step[strcspn(step, "\n")] = '\0';
    return 0;
}

static int rot_journal_done(const char *dir, struct weft_err *e)
{
    if (rot_fsync_dir(dir, e) != 0 || rot_unlink(dir, PKI_CA_JOURNAL_FILE, e) != 0)
        return -1;
    return rot_fsync_dir(dir, e);
}

/*
 * activate, idempotent: keep the old pair as prev.* (hard links, so ca.*
 * is never missing), then move next.key and next.crt over ca.*. Between
 * the two renames ca.key is new and ca.crt old: only the journal tells, and
 * recovery finishes the second rename.
 */
static int rot_do_activate(const char *dir, struct weft_err *e)
{
    int has_next_key = rot_exists(dir, PKI_CA_NEXT_KEY_FILE, e);
    if (has_next_key < 0)
        return -1;
    if (has_next_key) {
        if (rot_link(dir, PKI_CA_KEY_FILE, PKI_CA_PREV_KEY_FILE, e) != 0 ||
            rot_link(dir, PKI_CA_CRT_FILE, PKI_CA_PREV_CRT_FILE, e) != 0 ||
            rot_fsync_dir(dir, e) != 0 ||
            rot_rename(dir, PKI_CA_NEXT_KEY_FILE, PKI_CA_KEY_FILE, e) != 0)
            return -1;
    }
    int has_next_crt = rot_exists(dir, PKI_CA_NEXT_CRT_FILE, e);
    if (has_next_crt < 0)
        return -1;
    if (has_next_crt && rot_rename(dir, PKI_CA_NEXT_CRT_FILE, PKI_CA_CRT_FILE, e) != 0)
        return -1;
    return rot_journal_done(dir, e);
}

/* retire, idempotent: delete prev.key, move prev.crt to retired/FP.crt. */
static int rot_do_retire(const char *dir, struct weft_err *e)
{
    if (rot_unlink(dir, PKI_CA_PREV_KEY_FILE, e) != 0)
        return -1;
    int has_prev = rot_exists(dir, PKI_CA_PREV_CRT_FILE, e);
    if (has_prev < 0)
        return -1;
    if (has_prev) {
        struct pki_ca_info info;
        char sub[PATH_CAP], to[80];
        if (pki_ca_info_read_file(dir, PKI_CA_PREV_CRT_FILE, &info, e) != 0 ||
            rot_path(sub, dir, PKI_CA_RETIRED_DIR, e) != 0)
            return -1;
        if (mkdir(sub, 0700) != 0 && errno != EEXIST)
            return err_set(e, "cannot create %s: %s", sub, strerror(errno));
        snprintf(to, sizeof(to), "%s/%.16s.crt", PKI_CA_RETIRED_DIR, info.fingerprint);
        if (rot_rename(dir, PKI_CA_PREV_CRT_FILE, to, e) != 0 || rot_fsync_dir(sub, e) != 0)
            return -1;
    }
    return rot_journal_done(dir, e);
}

int pki_ca_rotate_recover(const char *dir, struct weft_err *e)
{
    char step[32];
    if (rot_journal_read(dir, step, sizeof(step), e) != 0)
        return -1;
    if (!step[0])
        return 0;
    int rc;
    if (strcmp(step, "activate") == 0)
        rc = rot_do_activate(dir, e);
    else if (strcmp(step, "retire") == 0)
        rc = rot_do_retire(dir, e);
    else
        return err_set(e, "%s/%s names an unknown step '%s'", dir, PKI_CA_JOURNAL_FILE, step);
    if (rc != 0)
        return err_prefix(e, "finishing the interrupted root rotation step '%s'", step);
    return 1;
}

const char *pki_ca_phase_name(enum pki_ca_phase p)
{
    switch (p) {
    case PKI_CA_ADDED:
        return "added";
    case PKI_CA_ACTIVATED:
        return "activated";
    default:
        return "steady";
    }
}

int pki_ca_rotation_read(const char *dir, struct pki_ca_rotation *out, struct weft_err *e)
{
    memset(out, 0, sizeof(*out));
    if (pki_ca_rotate_recover(dir, e) < 0 || pki_ca_info_read(dir, &out->roots[0], e) != 0)
        return -1;
    out->roles[0] = "active";
    out->nroots = 1;
    int next = rot_exists(dir, PKI_CA_NEXT_CRT_FILE, e);
    int prev = rot_exists(dir, PKI_CA_PREV_CRT_FILE, e);
    if (next < 0 || prev < 0)
        return -1;
    if (next && prev)
        return err_set(e, "%s holds both %s and %s: not a state rotation leaves", dir,
                       PKI_CA_NEXT_CRT_FILE, PKI_CA_PREV_CRT_FILE);
    if (next || prev) {
        const char *file = next ? PKI_CA_NEXT_CRT_FILE : PKI_CA_PREV_CRT_FILE;
        if (pki_ca_info_read_file(dir, file, &out->roots[1], e) != 0)
            return -1;
        out->roles[1] = next ? "next" : "previous";
        out->nroots = 2;
        out->phase = next ? PKI_CA_ADDED : PKI_CA_ACTIVATED;
    }
    return 0;
}

int pki_ca_rotate_add(const char *dir, int days, int64_t now_s, struct weft_err *e)
{
    struct pki_ca_rotation rot;
    if (pki_ca_rotation_read(dir, &rot, e) != 0)
        return -1;
    if (rot.phase != PKI_CA_STEADY)
        return err_set(e, "a rotation is already under way (%s): %s", pki_ca_phase_name(rot.phase),
                       rot.phase == PKI_CA_ADDED ? "activate the next root first"
                                                 : "retire the previous root first");
    /* Leftovers of an add that a crash interrupted before next.crt. */
    if (rot_unlink(dir, PKI_CA_NEXT_KEY_FILE ".tmp", e) != 0 ||
        rot_unlink(dir, PKI_CA_NEXT_CRT_FILE ".tmp", e) != 0 ||
        rot_unlink(dir, PKI_CA_NEXT_KEY_FILE, e) != 0)
        return -1;
    if (pki_ca_new_root(dir, PKI_CA_NEXT_KEY_FILE ".tmp", PKI_CA_NEXT_CRT_FILE ".tmp",
                        rot.roots[0].trust_domain, days, now_s, e) != 0)
        return -1;
    if (rot_rename(dir, PKI_CA_NEXT_KEY_FILE ".tmp", PKI_CA_NEXT_KEY_FILE, e) != 0 ||
        rot_rename(dir, PKI_CA_NEXT_CRT_FILE ".tmp", PKI_CA_NEXT_CRT_FILE, e) != 0)
        return -1;
    return rot_fsync_dir(dir, e);
}

int pki_ca_rotate_activate(const char *dir, struct weft_err *e)
{
    struct pki_ca_rotation rot;
    if (pki_ca_rotation_read(dir, &rot, e) != 0)
        return -1;
    if (rot.phase != PKI_CA_ADDED)
        return err_set(e, "no next root to activate (rotation phase: %s)",
                       pki_ca_phase_name(rot.phase));
    int has_key = rot_exists(dir, PKI_CA_NEXT_KEY_FILE, e);
    if (has_key <= 0)
        return has_key < 0 ? -1
                           : err_set(e, "%s/%s is missing: the next root has no key", dir,
                                     PKI_CA_NEXT_KEY_FILE);
    if (rot_journal_write(dir, "activate", e) != 0)
        return -1;
    return rot_do_activate(dir, e);
}

int pki_ca_rotate_retire(const char *dir, struct weft_err *e)
{
    struct pki_ca_rotation rot;
    if (pki_ca_rotation_read(dir, &rot, e) != 0)
        return -1;
    if (rot.phase != PKI_CA_ACTIVATED)
        return err_set(e, "no previous root to retire (rotation phase: %s)",
                       pki_ca_phase_name(rot.phase));
    if (rot_journal_write(dir, "retire", e) != 0)
        return -1;
    return rot_do_retire(dir, e);
}
