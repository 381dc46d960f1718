#include "store/store.h"

#include "core/clock.h"
#include "core/log.h"
#include "store/migrate.h"

#include <sqlite3.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct store {
    sqlite3 *db;
    char *path;
    int lock_fd;
    int version;
    sqlite3_stmt *meta_get;
    sqlite3_stmt *meta_set;
    sqlite3_stmt *debug_put;
};

/* mkdir -p with mode 0700 for what we create; existing dirs are left alone. */
static int store_mkdirs(const char *dir, struct weft_err *e)
{
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(buf))
        return err_set(e, "data dir '%s': bad path", dir);
    memcpy(buf, dir, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return err_set(e, "creating %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return err_set(e, "creating %s: %s", buf, strerror(errno));
    return 0;
}

/* One agent per data dir: an exclusive flock on <dir>/weft.lock, held until
 * close. The lock dies with the process, so kill -9 never leaves it stale. */
static int store_lock(struct store *st, const char *dir, struct weft_err *e)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/weft.lock", dir);
    st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (st->lock_fd < 0)
        return err_set(e, "%s: %s", path, strerror(errno));
    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "?";
        ssize_t n = pread(st->lock_fd, pid, sizeof(pid) - 1, 0);
        if (n > 0) {
            pid[n] = '\0';
            pid[strcspn(pid, "\n")] = '\0';
        }
        return err_set(e, "data dir %s is in use by another weft agent (pid %s)", dir, pid);
    }
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(st->lock_fd, 0) != 0 || pwrite(st->lock_fd, pid, (size_t)len, 0) != len)
        log_warn(LOG_STORE, "%s: cannot record pid: %s", path, strerror(errno));
    return 0;
}

static int store_exec(struct store *st, const char *sql, struct weft_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        err_set(e, "%s: %s", sql, msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Refuse a damaged file with a message that says what to do; never rebuild. */
static int store_check_integrity(struct store *st, struct weft_err *e)
{
    sqlite3_stmt *stmt;
    int rc = sqlite3_prepare_v2(st->db, "PRAGMA integrity_check(8)", -1, &stmt, NULL);
    char first[256] = "";
    bool ok = false;
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            const char *row = (const char *)sqlite3_column_text(stmt, 0);
            if (row && strcmp(row, "ok") == 0)
                ok = true;
            else if (row && !first[0])
                snprintf(first, sizeof(first), "%s", row);
        }
        sqlite3_finalize(stmt);
    }
    if (rc != SQLITE_DONE && !first[0])
        snprintf(first, sizeof(first), "%s", sqlite3_errmsg(st->db));
    if (ok && !first[0])
        return 0;
    /* SQLite's report spans lines; keep the message on one. */
    for (char *p = first; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return err_set(e,
                   "database %s is corrupt (%s); weft will not rebuild it: restore it from a "
                   "backup, or move it aside to start with an empty store",
                   st->path, first[0] ? first : "integrity_check failed");
}

static int store_prepare(struct store *st, sqlite3_stmt **stmt, const char *sql, struct weft_err *e)
{
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) != SQLITE_OK)
        return err_set(e, "preparing '%s': %s", sql, sqlite3_errmsg(st->db));
    return 0;
}

struct store *store_open(const char *data_dir, struct weft_err *e)
{
    struct store *st = calloc(1, sizeof(*st));
    if (!st) {
        err_set(e, "out of memory");
        return NULL;
    }
    st->lock_fd = -1;
    if (store_mkdirs(data_dir, e) != 0 || store_lock(st, data_dir, e) != 0)
        goto fail;
    size_t len = strlen(data_dir) + sizeof("/weft.db");
    st->path = malloc(len);
    if (!st->path) {
        err_set(e, "out of memory");
        goto fail;
    }
    snprintf(st->path, len, "%s/weft.db", data_dir);

    int rc = sqlite3_open_v2(st->path, &st->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                 SQLITE_OPEN_EXRESCODE,
                             NULL);
    if (rc != SQLITE_OK) {
        err_set(e, "opening %s: %s", st->path,
                st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_busy_timeout(st->db, 1000);
    if (store_check_integrity(st, e) != 0)
        goto fail;
    /* WAL: readers never block the writer; FULL: a commit is on disk (WAL
     * fsynced) before sqlite3_step returns, so an acknowledged write survives
     * a power cut, not only a crash. */
    if (store_exec(st, "PRAGMA journal_mode=WAL", e) != 0 ||
        store_exec(st, "PRAGMA synchronous=FULL", e) != 0 ||
        store_exec(st, "PRAGMA foreign_keys=ON", e) != 0) {
        err_prefix(e, "%s", st->path);
        goto fail;
    }
    if (migrate_run(st->db, &st->version, e) != 0) {
        err_prefix(e, "%s", st->path);
        goto fail;
    }
    if (store_prepare(st, &st->meta_get, "SELECT value FROM meta WHERE key = ?1", e) != 0 ||
        store_prepare(st, &st->meta_set,
                      "INSERT INTO meta (key, value) VALUES (?1, ?2)"
                      " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                      e) != 0 ||
        store_prepare(st, &st->debug_put,
                      "INSERT INTO debug_writes (key, value, written_ms) VALUES (?1, ?2, ?3)",
                      e) != 0)
        goto fail;
    log_debug(LOG_STORE, "opened %s (schema version %d)", st->path, st->version);
    return st;
fail:
    store_close(st);
    return NULL;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    sqlite3_finalize(st->meta_get);
    sqlite3_finalize(st->meta_set);
    sqlite3_finalize(st->debug_put);
    if (st->db)
        sqlite3_close(st->db);
    if (st->lock_fd >= 0)
        close(st->lock_fd); /* releases the flock */
    free(st->path);
    free(st);
}

const char *store_path(const struct store *st)
{
    return st->path;
}

int store_schema_version(const struct store *st)
{
    return st->version;
}

int store_schema_latest(void)
{
    return migrate_latest();
}

int64_t store_size_bytes(const struct store *st)
{
    struct stat sb;
    char wal[4200];
    int64_t total = 0;
    if (stat(st->path, &sb) == 0)
        total += (int64_t)sb.st_size;
    snprintf(wal, sizeof(wal), "%s-wal", st->path);
    if (stat(wal, &sb) == 0)
        total += (int64_t)sb.st_size;
    return total;
}

/* Run a prepared write statement once; it commits (autocommit) durably. */
static int store_step_write(struct store *st, sqlite3_stmt *stmt, struct weft_err *e)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (rc != SQLITE_DONE)
        return err_set(e, "write to %s failed: %s", st->path, sqlite3_errmsg(st->db));
    return 0;
}

int store_meta_get(struct store *st, const char *key, char *buf, size_t cap, struct weft_err *e)
{
    sqlite3_bind_text(st->meta_get, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st->meta_get);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st->meta_get, 0);
        snprintf(buf, cap, "%s", v ? v : "");
        ret = 1;
    } else if (rc != SQLITE_DONE) {
        ret = err_set(e, "reading meta %s: %s", key, sqlite3_errmsg(st->db));
    }
    sqlite3_reset(st->meta_get);
    sqlite3_clear_bindings(st->meta_get);
    return ret;
}

int store_meta_set(struct store *st, const char *key, const char *value, struct weft_err *e)
{
    sqlite3_bind_text(st->meta_set, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st->meta_set, 2, value, -1, SQLITE_STATIC);
    return store_step_write(st, st->meta_set, e);
}

int store_debug_write(struct store *st, const char *key, const char *value, int64_t *seq,
                      struct weft_err *e)
{
    sqlite3_bind_text(st->debug_put, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st->debug_put, 2, value, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st->debug_put, 3, clock_wall_ms());
    if (store_step_write(st, st->debug_put, e) != 0)
        return -1;
    *seq = sqlite3_last_insert_rowid(st->db);
    return 0;
}

int64_t store_debug_count(struct store *st, struct weft_err *e)
{
    sqlite3_stmt *stmt;
    int64_t n = -1;
    if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM debug_writes", -1, &stmt, NULL) !=
        SQLITE_OK)
        return err_set(e, "%s", sqlite3_errmsg(st->db));
    if (sqlite3_step(stmt) == SQLITE_ROW)
        n = sqlite3_column_int64(stmt, 0);
    else
        err_set(e, "%s", sqlite3_errmsg(st->db));
    sqlite3_finalize(stmt);
    return n;
}
