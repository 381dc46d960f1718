#include "store/store.h"

#include "core/clock.h"
#include "core/log.h"
#include "store/migrate.h"
#include "store/store_priv.h"

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

int store_exec(struct store *st, const char *sql, struct weft_err *e)
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

int store_step_write(struct store *st, sqlite3_stmt *stmt, struct weft_err *e)
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

/* Bind a row of identities (1-9) to an INSERT statement. */
static void store_bind_ident(sqlite3_stmt *stmt, const struct store_ident *r)
{
    sqlite3_bind_text(stmt, 1, r->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, r->spiffe_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, r->cert_pem, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, r->key_pem, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 6, r->not_before);
    sqlite3_bind_int64(stmt, 7, r->not_after);
    sqlite3_bind_text(stmt, 8, r->serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 9, r->issuer_fp, -1, SQLITE_STATIC);
}

int store_identity_replace(struct store *st, const struct store_ident *idents, size_t nidents,
                           const struct store_root *roots, size_t nroots, struct weft_err *e)
{
    sqlite3_stmt *ins_id = NULL, *ins_root = NULL;
    if (store_exec(st, "BEGIN IMMEDIATE", e) != 0)
        return -1;
    if (store_exec(st, "DELETE FROM identities", e) != 0 ||
        store_exec(st, "DELETE FROM trust_roots", e) != 0)
        goto fail;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO identities (kind, name, spiffe_id, cert_pem, key_pem,"
                           " not_before, not_after, serial, issuer_fp)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                           -1, &ins_id, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO trust_roots (fingerprint, cert_pem, not_after)"
                           " VALUES (?1, ?2, ?3)",
                           -1, &ins_root, NULL) != SQLITE_OK) {
        err_set(e, "preparing identity writes: %s", sqlite3_errmsg(st->db));
        goto fail;
    }
    for (size_t i = 0; i < nidents; i++) {
        store_bind_ident(ins_id, &idents[i]);
        if (store_step_write(st, ins_id, e) != 0)
            goto fail;
    }
    for (size_t i = 0; i < nroots; i++) {
        sqlite3_bind_text(ins_root, 1, roots[i].fingerprint, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins_root, 2, roots[i].cert_pem, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins_root, 3, roots[i].not_after);
        if (store_step_write(st, ins_root, e) != 0)
            goto fail;
    }
    sqlite3_finalize(ins_id);
    sqlite3_finalize(ins_root);
    return store_exec(st, "COMMIT", e) == 0 ? 0 : (store_exec(st, "ROLLBACK", NULL), -1);
fail:
    sqlite3_finalize(ins_id);
    sqlite3_finalize(ins_root);
    store_exec(st, "ROLLBACK", NULL);
    return err_prefix(e, "storing the identity");
}

int store_identity_each(struct store *st, store_ident_fn fn, void *ud, struct weft_err *e)
{
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT kind, name, spiffe_id, cert_pem, key_pem, not_before, not_after,"
                           " serial, issuer_fp FROM identities"
                           " ORDER BY kind = 'svc', name",
                           -1, &stmt, NULL) != SQLITE_OK)
        return err_set(e, "reading identities: %s", sqlite3_errmsg(st->db));
    int rc, ret = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_ident r = {
            .kind = (const char *)sqlite3_column_text(stmt, 0),
            .name = (const char *)sqlite3_column_text(stmt, 1),
            .spiffe_id = (const char *)sqlite3_column_text(stmt, 2),
            .cert_pem = (const char *)sqlite3_column_text(stmt, 3),
            .key_pem = (const char *)sqlite3_column_text(stmt, 4),
            .not_before = sqlite3_column_int64(stmt, 5),
            .not_after = sqlite3_column_int64(stmt, 6),
            .serial = (const char *)sqlite3_column_text(stmt, 7),
            .issuer_fp = (const char *)sqlite3_column_text(stmt, 8),
        };
        if (fn(ud, &r) != 0) {
            ret = err_set(e, "reading identities: stopped at %s", r.spiffe_id ? r.spiffe_id : "?");
            break;
        }
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = err_set(e, "reading identities: %s", sqlite3_errmsg(st->db));
    sqlite3_finalize(stmt);
    return ret;
}

int store_root_each(struct store *st, store_root_fn fn, void *ud, struct weft_err *e)
{
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT fingerprint, cert_pem, not_after FROM trust_roots"
                           " ORDER BY fingerprint",
                           -1, &stmt, NULL) != SQLITE_OK)
        return err_set(e, "reading trust roots: %s", sqlite3_errmsg(st->db));
    int rc, ret = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_root r = {
            .fingerprint = (const char *)sqlite3_column_text(stmt, 0),
            .cert_pem = (const char *)sqlite3_column_text(stmt, 1),
            .not_after = sqlite3_column_int64(stmt, 2),
        };
        if (fn(ud, &r) != 0) {
            ret = err_set(e, "reading trust roots: stopped");
            break;
        }
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = err_set(e, "reading trust roots: %s", sqlite3_errmsg(st->db));
    sqlite3_finalize(stmt);
    return ret;
}

int store_members_replace(struct store *st, const struct store_member *rows, size_t n,
                          struct weft_err *e)
{
    sqlite3_stmt *ins = NULL;
    int64_t now = clock_wall_ms();
    if (store_exec(st, "BEGIN IMMEDIATE", e) != 0)
        return err_prefix(e, "storing gossip members");
    if (store_exec(st, "DELETE FROM gossip_members", e) != 0)
        goto fail;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO gossip_members (name, addr, port, status, updated_ms)"
                           " VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &ins, NULL) != SQLITE_OK) {
        err_set(e, "preparing: %s", sqlite3_errmsg(st->db));
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(ins, 1, rows[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, rows[i].addr, -1, SQLITE_STATIC);
        sqlite3_bind_int(ins, 3, (int)rows[i].port);
        sqlite3_bind_text(ins, 4, rows[i].status, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 5, now);
        if (store_step_write(st, ins, e) != 0)
            goto fail;
    }
    sqlite3_finalize(ins);
    return store_exec(st, "COMMIT", e) == 0 ? 0 : (store_exec(st, "ROLLBACK", NULL), -1);
fail:
    sqlite3_finalize(ins);
    store_exec(st, "ROLLBACK", NULL);
    return err_prefix(e, "storing gossip members");
}

int store_members_each(struct store *st, store_member_fn fn, void *ud, struct weft_err *e)
{
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT name, addr, port, status, updated_ms FROM gossip_members"
                           " ORDER BY name",
                           -1, &stmt, NULL) != SQLITE_OK)
        return err_set(e, "reading gossip members: %s", sqlite3_errmsg(st->db));
    int rc, ret = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_member r = {
            .name = (const char *)sqlite3_column_text(stmt, 0),
            .addr = (const char *)sqlite3_column_text(stmt, 1),
            .port = (unsigned)sqlite3_column_int(stmt, 2),
            .status = (const char *)sqlite3_column_text(stmt, 3),
            .updated_ms = sqlite3_column_int64(stmt, 4),
        };
        if (fn(ud, &r) != 0) {
            ret = err_set(e, "reading gossip members: stopped at %s", r.name ? r.name : "?");
            break;
        }
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = err_set(e, "reading gossip members: %s", sqlite3_errmsg(st->db));
    sqlite3_finalize(stmt);
    return ret;
}

int store_enroll_add(struct store *st, const char *node, const char *service, const char *source,
                     int64_t now_s, struct weft_err *e)
{
    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT OR IGNORE INTO enrollments (node, service, source, created)"
                           " VALUES (?1, ?2, ?3, ?4)",
                           -1, &ins, NULL) != SQLITE_OK)
        return err_set(e, "recording enrollment: %s", sqlite3_errmsg(st->db));
    sqlite3_bind_text(ins, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, service, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 4, now_s);
    int rc = store_step_write(st, ins, e);
    sqlite3_finalize(ins);
    return rc == 0 ? 0 : err_prefix(e, "recording enrollment");
}

int store_enroll_has(struct store *st, const char *node, const char *service, struct weft_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM enrollments WHERE node = ?1 AND service = ?2", -1,
                           &q, NULL) != SQLITE_OK)
        return err_set(e, "reading enrollments: %s", sqlite3_errmsg(st->db));
    sqlite3_bind_text(q, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, service, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return err_set(e, "reading enrollments: %s", sqlite3_errmsg(st->db));
}

int store_ca_node_put(struct store *st, const struct store_ca_node *n, struct weft_err *e)
{
    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT OR REPLACE INTO ca_nodes (node, roots, issuers, seen)"
                           " VALUES (?1, ?2, ?3, ?4)",
                           -1, &ins, NULL) != SQLITE_OK)
        return err_set(e, "recording node state: %s", sqlite3_errmsg(st->db));
    sqlite3_bind_text(ins, 1, n->node, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, n->roots, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, n->issuers, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 4, n->seen_s);
    int rc = store_step_write(st, ins, e);
    sqlite3_finalize(ins);
    return rc == 0 ? 0 : err_prefix(e, "recording node state");
}

int store_ca_node_each(struct store *st, int (*fn)(void *ud, const struct store_ca_node *n),
                       void *ud, struct weft_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT node, roots, issuers, seen FROM ca_nodes UNION ALL"
                           " SELECT DISTINCT node, '', '', 0 FROM enrollments"
                           "  WHERE node NOT IN (SELECT node FROM ca_nodes)"
                           " ORDER BY 1",
                           -1, &q, NULL) != SQLITE_OK)
        return err_set(e, "reading node states: %s", sqlite3_errmsg(st->db));
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_ca_node n = {
            .node = (const char *)sqlite3_column_text(q, 0),
            .roots = (const char *)sqlite3_column_text(q, 1),
            .issuers = (const char *)sqlite3_column_text(q, 2),
            .seen_s = sqlite3_column_int64(q, 3),
        };
        if (fn(ud, &n) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : err_set(e, "reading node states: %s", sqlite3_errmsg(st->db));
}

int store_token_add(struct store *st, const char *hash, const char *node, const char *services,
                    int64_t now_s, int64_t expires_s, struct weft_err *e)
{
    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO tokens (hash, node, services, created, expires, used)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
                           -1, &ins, NULL) != SQLITE_OK)
        return err_set(e, "recording token: %s", sqlite3_errmsg(st->db));
    sqlite3_bind_text(ins, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, node, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, services, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 4, now_s);
    sqlite3_bind_int64(ins, 5, expires_s);
    int rc = store_step_write(st, ins, e);
    sqlite3_finalize(ins);
    return rc == 0 ? 0 : err_prefix(e, "recording token");
}

/* Record each service of a comma-separated list for node (inside a transaction). */
static int token_enroll(struct store *st, const char *node, const char *services, int64_t now_s,
                        struct weft_err *e)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", services);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (store_enroll_add(st, node, t, "token", now_s, e) != 0)
            return -1;
    return 0;
}

/* Look a token up, and with consume mark it used and record its enrollments. */
static int token_take(struct store *st, const char *hash, int64_t now_s, char *node,
                      size_t node_cap, char *services, size_t svc_cap, int64_t *when_s,
                      bool consume, struct weft_err *e)
{
    sqlite3_stmt *q = NULL;
    int result = -1;
    if (store_exec(st, "BEGIN IMMEDIATE", e) != 0)
        return err_prefix(e, "consuming token");
    if (sqlite3_prepare_v2(st->db,
                           "SELECT node, services, expires, used FROM tokens WHERE hash = ?1", -1,
                           &q, NULL) != SQLITE_OK) {
        err_set(e, "reading tokens: %s", sqlite3_errmsg(st->db));
        goto fail;
    }
    sqlite3_bind_text(q, 1, hash, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_DONE) {
        result = STORE_TOKEN_UNKNOWN;
    } else if (rc != SQLITE_ROW) {
        err_set(e, "reading tokens: %s", sqlite3_errmsg(st->db));
        goto fail;
    } else if (sqlite3_column_type(q, 3) != SQLITE_NULL) {
        *when_s = sqlite3_column_int64(q, 3);
        result = STORE_TOKEN_USED;
    } else if (sqlite3_column_int64(q, 2) <= now_s) {
        *when_s = sqlite3_column_int64(q, 2);
        result = STORE_TOKEN_EXPIRED;
    } else {
        snprintf(node, node_cap, "%s", (const char *)sqlite3_column_text(q, 0));
        snprintf(services, svc_cap, "%s", (const char *)sqlite3_column_text(q, 1));
        result = STORE_TOKEN_OK;
    }
    sqlite3_finalize(q);
    q = NULL;
    if (result == STORE_TOKEN_OK && consume) {
        if (sqlite3_prepare_v2(st->db, "UPDATE tokens SET used = ?2 WHERE hash = ?1", -1, &q,
                               NULL) != SQLITE_OK) {
            err_set(e, "consuming token: %s", sqlite3_errmsg(st->db));
            goto fail;
        }
        sqlite3_bind_text(q, 1, hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, now_s);
        if (store_step_write(st, q, e) != 0 || token_enroll(st, node, services, now_s, e) != 0)
            goto fail;
        sqlite3_finalize(q);
        q = NULL;
    }
    if (store_exec(st, "COMMIT", e) != 0)
        goto fail;
    return result;
fail:
    sqlite3_finalize(q);
    store_exec(st, "ROLLBACK", NULL);
    return err_prefix(e, "consuming token");
}

int store_token_consume(struct store *st, const char *hash, int64_t now_s, char *node,
                        size_t node_cap, char *services, size_t svc_cap, int64_t *when_s,
                        struct weft_err *e)
{
    return token_take(st, hash, now_s, node, node_cap, services, svc_cap, when_s, true, e);
}

int store_token_peek(struct store *st, const char *hash, int64_t now_s, char *node, size_t node_cap,
                     char *services, size_t svc_cap, int64_t *when_s, struct weft_err *e)
{
    return token_take(st, hash, now_s, node, node_cap, services, svc_cap, when_s, false, e);
}
