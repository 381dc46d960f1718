/*
 * store: weft's one SQLite database, <data_dir>/weft.db.
 *
 * Opened in WAL mode; every write that must survive a power cut commits with
 * synchronous=FULL before it is acknowledged. At open: take an exclusive lock
 * on the data dir (one agent per data dir), run PRAGMA integrity_check and
 * refuse a corrupt file with a clear message (never rebuilt silently), then
 * apply schema migrations in order, each in its own transaction, recording the
 * version in the schema_version table. Nobody outside store/ writes SQL.
 */
#ifndef WEFT_STORE_H
#define WEFT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct store;

/**
 * Open (creating if needed) the store in data_dir (created 0700 if missing).
 * Returns the store (caller owns: store_close), or NULL with a message in e.
 */
struct store *store_open(const char *data_dir, struct weft_err *e);
/** Close the store and release the data dir lock; accepts NULL. */
void store_close(struct store *st);

/** Path of the database file. */
const char *store_path(const struct store *st);
/** Schema version after migrations. */
int store_schema_version(const struct store *st);
/** The newest schema version this binary knows. */
int store_schema_latest(void);
/** Size of the database file plus its WAL, in bytes. */
int64_t store_size_bytes(const struct store *st);

/**
 * Read a meta value (node id, boot count, ...). Returns 1 and fills buf if
 * found, 0 if absent, -1 on error.
 */
int store_meta_get(struct store *st, const char *key, char *buf, size_t cap, struct weft_err *e);
/** Durably set a meta value. Returns 0 once it is on disk, or -1. */
int store_meta_set(struct store *st, const char *key, const char *value, struct weft_err *e);

/**
 * Durably append a test record (admin API /v1/debug/write, used by the
 * kill -9 tests). Returns 0 once committed with synchronous=FULL and fills
 * *seq with its sequence number, or -1.
 */
int store_debug_write(struct store *st, const char *key, const char *value, int64_t *seq,
                      struct weft_err *e);
/** Number of debug records. Returns -1 on error. */
int64_t store_debug_count(struct store *st, struct weft_err *e);

#endif
