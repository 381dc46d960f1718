/*
 * table: the in-memory set of replicated records of one node (docs/mesh.md,
 * "Replication"): at most one version per key, the greatest by
 * mesh_record_cmp, so merging is commutative, associative and idempotent.
 *
 * Besides the records the table keeps, incrementally on every change:
 *   - a digest of the whole view: the XOR of mesh_record_hash() over every
 *     record it holds; two nodes with the same digest hold the same records
 *     (up to a 64-bit hash collision);
 *   - 256 bucket digests (and counts): the same XOR over the records whose
 *     key falls in each bucket (mesh_key_bucket), so two nodes find what
 *     differs by comparing 256 numbers, then listing only those buckets
 *     (mesh/sync.h);
 *   - its hybrid logical clock: every merged stamp moves it forward, so a
 *     local write sorts after everything this node has seen;
 *   - counters for the caller's metrics.
 *
 * Tombstones are kept until mesh_table_gc() drops those older than a
 * horizon; after that the table also ignores tombstones older than the
 * horizon it collected at, so a peer that has not collected yet cannot send
 * them back.
 *
 * Ownership: the table owns copies of everything it holds (one allocation
 * per record); the views it hands out (mesh_table_get, mesh_table_foreach)
 * point into it and stay valid until the next change to the table.
 * Pure: no I/O, time passed in. Not thread-safe.
 */
#ifndef WEFT_MESH_TABLE_H
#define WEFT_MESH_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "mesh/hlc.h"
#include "mesh/record.h"

#define MESH_BUCKETS 256
/* Default tombstone horizon: 72 hours (issue 5): a node away for longer
 * may bring back records deleted while it was away (docs/mesh.md). */
#define MESH_GC_HORIZON_DEFAULT_MS (72LL * 3600 * 1000)

struct mesh_table;

enum mesh_merge {
    MESH_MERGE_APPLIED, /* new key, or newer than the version held */
    MESH_MERGE_IGNORED, /* older or equal (or a tombstone past the horizon) */
    MESH_MERGE_REFUSED, /* invalid record, or a stamp too far ahead: e says why */
    MESH_MERGE_NOMEM    /* out of memory: nothing changed */
};

struct mesh_table_counters {
    uint64_t merged;  /* applied (local writes included) */
    uint64_t ignored; /* older or equal versions */
    uint64_t refused; /* invalid or too far ahead */
    uint64_t drift;   /* of refused: stamps beyond the clock's max drift */
    uint64_t expired; /* of ignored: tombstones older than the collected horizon */
    uint64_t gcd;     /* tombstones dropped by mesh_table_gc */
    uint64_t denied;  /* of refused: the accept hook said no (a writer not allowed) */
};

/**
 * Hooks, for the agent: accept (may be NULL) judges every record merged
 * (not local writes' stamps: those are the caller's) after its validity
 * check; false refuses it (counted in refused and denied, reason in e).
 * applied (may be NULL) sees every version the table keeps, right after it
 * replaced the old one (rec points into the table: copy what you keep).
 */
typedef bool (*mesh_table_accept_fn)(void *arg, const struct mesh_record *rec, struct weft_err *e);
typedef void (*mesh_table_applied_fn)(void *arg, const struct mesh_record *rec);
void mesh_table_set_hooks(struct mesh_table *t, mesh_table_accept_fn accept,
                          mesh_table_applied_fn applied, void *arg);

/** A new, empty table whose clock starts at hlc_persisted (0 for a fresh node). NULL on OOM. */
struct mesh_table *mesh_table_new(uint64_t hlc_persisted);
/** Free the table and every record it holds. Accepts NULL. */
void mesh_table_free(struct mesh_table *t);

/**
 * Merge one version of a key (a record from a peer or from the store).
 * The record is validated (mesh_record_check) and its stamp fed to the
 * table's clock at wall time wall_ms (refused if beyond max drift).
 * Returns what happened; on MESH_MERGE_REFUSED e holds a one-line reason.
 * The table copies what it keeps; rec is not retained.
 */
enum mesh_merge mesh_table_merge(struct mesh_table *t, const struct mesh_record *rec,
                                 int64_t wall_ms, struct weft_err *e);

/**
 * A local write: stamp (kind, name) with the table's clock at wall_ms and
 * merge it (always newer than what is held). deleted writes a tombstone
 * (body must then be empty). Returns 0 and the stamp in *hlc (may be
 * NULL), or -1 with e (invalid input or out of memory).
 */
int mesh_table_write(struct mesh_table *t, const char *kind, const char *name, const char *writer,
                     const void *body, size_t body_len, bool deleted, int64_t wall_ms,
                     uint64_t *hlc, struct weft_err *e);

/** Look a key up: true and *out filled (a view into the table) if held, tombstones included. */
bool mesh_table_get(const struct mesh_table *t, const char *kind, const char *name,
                    struct mesh_record *out);

/** Records held, tombstones included. */
size_t mesh_table_count(const struct mesh_table *t);
/** The digest of the whole view (0 for an empty table). */
uint64_t mesh_table_digest(const struct mesh_table *t);
/** The digest of bucket b (0-255). */
uint64_t mesh_table_bucket_digest(const struct mesh_table *t, unsigned b);
/** Records held in bucket b. */
size_t mesh_table_bucket_count(const struct mesh_table *t, unsigned b);
/** The table's clock (to persist its last stamp, or set max drift). */
struct mesh_hlc *mesh_table_hlc(struct mesh_table *t);
/** The counters since mesh_table_new. */
const struct mesh_table_counters *mesh_table_counters(const struct mesh_table *t);

/**
 * Drop tombstones whose stamp is more than horizon_ms older than now_ms
 * (wall time), and from then on ignore incoming tombstones older than that
 * cutoff. Returns how many were dropped.
 */
size_t mesh_table_gc(struct mesh_table *t, int64_t now_ms, int64_t horizon_ms);
/** The stamp below which tombstones are ignored (0 before any gc). */
uint64_t mesh_table_gc_floor(const struct mesh_table *t);

/** Called once per record; return non-zero to stop the walk (the value is returned). */
typedef int (*mesh_table_fn)(const struct mesh_record *rec, void *arg);

/**
 * Walk the records in key order (kind, then name), tombstones included,
 * all of them or only one kind (kind NULL: all). The callback must not
 * change the table. Returns 0, the callback's non-zero value, or -1 if out
 * of memory (the walk sorts an array of pointers).
 */
int mesh_table_foreach(const struct mesh_table *t, const char *kind, mesh_table_fn fn, void *arg);

/**
 * Walk the records of the buckets set in the 256-bit mask (bit b of byte
 * b/8), in (bucket, kind, name) order (the sync listing's order), starting
 * after the position (after_bucket, after_kind, after_name) if after_kind
 * is not NULL. Same return values as mesh_table_foreach.
 */
int mesh_table_foreach_buckets(const struct mesh_table *t, const uint8_t mask[MESH_BUCKETS / 8],
                               int after_bucket, const char *after_kind, const char *after_name,
                               mesh_table_fn fn, void *arg);

#endif
