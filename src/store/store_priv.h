/*
 * store_priv: what the store's files share (store.c, store_mesh.c). Private
 * to store/: nobody else sees the database handle.
 */
#ifndef WEFT_STORE_PRIV_H
#define WEFT_STORE_PRIV_H

#include <sqlite3.h>

#include "core/err.h"
#include "store/store.h"

struct store {
    sqlite3 *db;
    char *path;
    int lock_fd;
    int version;
    sqlite3_stmt *meta_get;
    sqlite3_stmt *meta_set;
    sqlite3_stmt *debug_put;
};

/** Run SQL without results (BEGIN, COMMIT, ...). Returns 0, or -1 with e set. */
int store_exec(struct store *st, const char *sql, struct weft_err *e);
/** Run a prepared write statement once (reset after); outside a transaction
 * it commits (autocommit) durably. Returns 0, or -1 with e set. */
int store_step_write(struct store *st, sqlite3_stmt *stmt, struct weft_err *e);

#endif
