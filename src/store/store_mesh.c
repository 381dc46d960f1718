/*
 * store_mesh: the mesh's replicated records and their history in SQLite
 * (tables mesh_records, mesh_history; migration 5 -> 6). See store.h.
 *
 * A write is one IMMEDIATE transaction: every record's row replaced, every
 * version appended to the history, the history pruned to its newest
 * STORE_MESH_HISTORY_MAX rows, then COMMIT under synchronous=FULL. A caller
 * acknowledges a change only after this returns 0, so a crash or kill -9
 * loses nothing that was acknowledged.
 */
#include "store/store.h"
#include "store/store_priv.h"

#include <stdio.h>

static void mesh_bind(sqlite3_stmt *q, const struct store_mesh_rec *r)
{
    sqlite3_bind_text(q, 1, r->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)r->hlc);
    sqlite3_bind_text(q, 4, r->writer, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 5, r->deleted ? 1 : 0);
    /* A zero-length blob, never NULL: the column is NOT NULL. */
    sqlite3_bind_blob(q, 6, r->body_len ? r->body : "", (int)r->body_len, SQLITE_STATIC);
}

int store_mesh_put(struct store *st, const struct store_mesh_rec *recs, size_t n, int64_t now_ms,
                   struct weft_err *e)
{
    sqlite3_stmt *up = NULL, *hist = NULL, *prune = NULL;
    if (n == 0)
        return 0;
    if (store_exec(st, "BEGIN IMMEDIATE", e) != 0)
        return err_prefix(e, "storing mesh records");
    if (sqlite3_prepare_v2(st->db,
                           "INSERT OR REPLACE INTO mesh_records (kind, name, hlc, writer, deleted,"
                           " body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &up, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO mesh_history (kind, name, hlc, writer, deleted, body,"
                           " received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &hist, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "DELETE FROM mesh_history WHERE seq <= (SELECT max(seq) FROM"
                           " mesh_history) - ?1",
                           -1, &prune, NULL) != SQLITE_OK) {
        err_set(e, "preparing: %s", sqlite3_errmsg(st->db));
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        if (recs[i].hlc > (uint64_t)INT64_MAX) {
            err_set(e, "%s/%s: HLC stamp out of range", recs[i].kind, recs[i].name);
            goto fail;
        }
        mesh_bind(up, &recs[i]);
        mesh_bind(hist, &recs[i]);
        sqlite3_bind_int64(hist, 7, now_ms);
        if (store_step_write(st, up, e) != 0 || store_step_write(st, hist, e) != 0)
            goto fail;
    }
    sqlite3_bind_int64(prune, 1, STORE_MESH_HISTORY_MAX);
    if (store_step_write(st, prune, e) != 0)
        goto fail;
    sqlite3_finalize(up);
    sqlite3_finalize(hist);
    sqlite3_finalize(prune);
    if (store_exec(st, "COMMIT", e) != 0) {
        store_exec(st, "ROLLBACK", NULL);
        return err_prefix(e, "storing mesh records");
    }
    return 0;
fail:
    sqlite3_finalize(up);
    sqlite3_finalize(hist);
    sqlite3_finalize(prune);
    store_exec(st, "ROLLBACK", NULL);
    return err_prefix(e, "storing mesh records");
}

int store_mesh_gc(struct store *st, uint64_t floor, struct weft_err *e)
{
    sqlite3_stmt *q;
    if (floor > (uint64_t)INT64_MAX)
        floor = (uint64_t)INT64_MAX;
    if (sqlite3_prepare_v2(st->db, "DELETE FROM mesh_records WHERE deleted = 1 AND hlc < ?1", -1,
                           &q, NULL) != SQLITE_OK)
        return err_set(e, "collecting mesh tombstones: %s", sqlite3_errmsg(st->db));
    sqlite3_bind_int64(q, 1, (sqlite3_int64)floor);
    int rc = store_step_write(st, q, e);
    sqlite3_finalize(q);
    return rc == 0 ? 0 : err_prefix(e, "collecting mesh tombstones");
}

/* One row (columns kind, name, hlc, writer, deleted, body) as a record view. */
static void mesh_row(sqlite3_stmt *q, struct store_mesh_rec *r)
{
    r->kind = (const char *)sqlite3_column_text(q, 0);
    r->name = (const char *)sqlite3_column_text(q, 1);
    r->hlc = (uint64_t)sqlite3_column_int64(q, 2);
    r->writer = (const char *)sqlite3_column_text(q, 3);
    r->deleted = sqlite3_column_int(q, 4) != 0;
    r->body = sqlite3_column_blob(q, 5);
    r->body_len = (size_t)sqlite3_column_bytes(q, 5);
}

int store_mesh_each(struct store *st, store_mesh_fn fn, void *ud, struct weft_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT kind, name, hlc, writer, deleted, body FROM mesh_records"
                           " ORDER BY kind, name",
                           -1, &q, NULL) != SQLITE_OK)
        return err_set(e, "reading mesh records: %s", sqlite3_errmsg(st->db));
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_mesh_rec r;
        mesh_row(q, &r);
        if (fn(ud, &r) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : err_set(e, "reading mesh records: %s", sqlite3_errmsg(st->db));
}

int store_mesh_history(struct store *st, const char *kind, const char *name, size_t limit,
                       store_mesh_hist_fn fn, void *ud, struct weft_err *e)
{
    sqlite3_stmt *q;
    /* The newest `limit` matching rows, returned oldest first. */
    if (sqlite3_prepare_v2(st->db,
                           "SELECT kind, name, hlc, writer, deleted, body, received_ms FROM"
                           " (SELECT * FROM mesh_history WHERE (?1 IS NULL OR kind = ?1)"
                           "  AND (?2 IS NULL OR name = ?2) ORDER BY seq DESC LIMIT ?3)"
                           " ORDER BY seq",
                           -1, &q, NULL) != SQLITE_OK)
        return err_set(e, "reading mesh history: %s", sqlite3_errmsg(st->db));
    if (kind)
        sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
    if (kind && name)
        sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)limit);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_mesh_rec r;
        mesh_row(q, &r);
        if (fn(ud, &r, sqlite3_column_int64(q, 6)) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : err_set(e, "reading mesh history: %s", sqlite3_errmsg(st->db));
}
