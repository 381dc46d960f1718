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

#include <stdbool.h>
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

/**
 * One stored identity (a node or service certificate and its key). In a row
 * handed to a callback the strings are borrowed from SQLite for the call only.
 */
struct store_ident {
    const char *kind; /* "node" or "svc" */
    const char *name;
    const char *spiffe_id;
    const char *cert_pem;
    const char *key_pem; /* never logged: it leaves the store only to pki/ */
    int64_t not_before;  /* unix seconds */
    int64_t not_after;
    const char *serial;    /* hex */
    const char *issuer_fp; /* SHA-256 hex of the issuer's DER */
};

/** One trust root (a CA certificate of the trust bundle). */
struct store_root {
    const char *fingerprint; /* SHA-256 hex of the DER */
    const char *cert_pem;
    int64_t not_after; /* unix seconds */
};

/**
 * Durably replace the whole identity (every row of both tables) in one
 * transaction: afterwards the store holds exactly these rows, or, on failure,
 * what it held before. Returns 0 once committed, or -1.
 */
int store_identity_replace(struct store *st, const struct store_ident *idents, size_t nidents,
                           const struct store_root *roots, size_t nroots, struct weft_err *e);

/** Called once per row; return 0 to go on, -1 to stop (store_*_each returns -1). */
typedef int (*store_ident_fn)(void *ud, const struct store_ident *row);
typedef int (*store_root_fn)(void *ud, const struct store_root *row);

/** Every stored identity, node first, then services by name. Returns 0 or -1. */
int store_identity_each(struct store *st, store_ident_fn fn, void *ud, struct weft_err *e);
/** Every stored trust root, by fingerprint. Returns 0 or -1. */
int store_root_each(struct store *st, store_root_fn fn, void *ud, struct weft_err *e);

/**
 * One known gossip member, as plain strings (store/ knows nothing of gossip):
 * addr is a textual IPv4 or IPv6 address, status "alive", "suspect", "dead"
 * or "left". In a row handed to a callback the strings are borrowed from
 * SQLite for the call only.
 */
struct store_member {
    const char *name;
    const char *addr;
    unsigned port; /* 1..65535 */
    const char *status;
    int64_t updated_ms; /* unix ms of the write (filled by the store; ignored on input) */
};

/**
 * Durably replace every gossip_members row with these (n = 0 clears the
 * table) in one transaction. Returns 0 once committed, or -1 (the table
 * holds what it held before).
 */
int store_members_replace(struct store *st, const struct store_member *rows, size_t n,
                          struct weft_err *e);

typedef int (*store_member_fn)(void *ud, const struct store_member *row);
/** Every stored gossip member, by name. Returns 0 or -1. */
int store_members_each(struct store *st, store_member_fn fn, void *ud, struct weft_err *e);

/*
 * The online CA's enrollments (CA node only): which node may hold which
 * service certificates. Names are plain strings (store/ knows nothing of
 * SPIFFE); source says how it was learnt ("proof", "token").
 */
/** Durably record node -> service (kept if already there). Returns 0 or -1. */
int store_enroll_add(struct store *st, const char *node, const char *service, const char *source,
                     int64_t now_s, struct weft_err *e);
/** Is node enrolled for service? 1 yes, 0 no, -1 error. */
int store_enroll_has(struct store *st, const char *node, const char *service, struct weft_err *e);

/** What the CA last heard from a node (table ca_nodes). */
struct store_ca_node {
    const char *node;
    const char *roots;   /* comma-separated SHA-256 hex fingerprints it trusts */
    const char *issuers; /* comma-separated fingerprints its certificates chain to */
    int64_t seen_s;
};
/** Record (replace) what node reported: durable before it returns. */
int store_ca_node_put(struct store *st, const struct store_ca_node *n, struct weft_err *e);
/**
 * Call fn for every node the CA knows, by name: those in ca_nodes, and the
 * enrolled ones it never heard from (roots, issuers "" and seen_s 0).
 * fn returning non-zero stops the walk. Returns 0, or -1 with e set.
 */
int store_ca_node_each(struct store *st, int (*fn)(void *ud, const struct store_ca_node *n),
                       void *ud, struct weft_err *e);

/*
 * The mesh's replicated records (store_mesh.c; docs/mesh.md). The store
 * keeps what it is given: which version wins is mesh/'s decision, made
 * before the write.
 */
struct store_mesh_rec {
    const char *kind;
    const char *name;
    uint64_t hlc; /* the writer's HLC stamp (< 2^63) */
    const char *writer;
    bool deleted;
    const void *body;
    size_t body_len;
};
/* History rows kept (the newest); older ones are pruned by store_mesh_put. */
#define STORE_MESH_HISTORY_MAX 10000
/**
 * Durably write n records (each replaces its key's row) and append each to
 * the history, in one transaction committed with synchronous=FULL: all or
 * nothing, on disk when this returns 0. Returns 0, or -1 with e set.
 */
int store_mesh_put(struct store *st, const struct store_mesh_rec *recs, size_t n, int64_t now_ms,
                   struct weft_err *e);
/** Delete the tombstones stamped below floor (collected by mesh/'s GC); live rows stay. */
int store_mesh_gc(struct store *st, uint64_t floor, struct weft_err *e);
typedef int (*store_mesh_fn)(void *ud, const struct store_mesh_rec *r);
/** Every record, by key; fn returning non-zero stops. Returns 0, or -1 with e set. */
int store_mesh_each(struct store *st, store_mesh_fn fn, void *ud, struct weft_err *e);
typedef int (*store_mesh_hist_fn)(void *ud, const struct store_mesh_rec *r, int64_t received_ms);
/**
 * The history, oldest first, of one key (kind and name), of one kind (name
 * NULL) or of everything (kind NULL): the newest limit rows of it.
 */
int store_mesh_history(struct store *st, const char *kind, const char *name, size_t limit,
                       store_mesh_hist_fn fn, void *ud, struct weft_err *e);

/** Durably record a one-time token: hash (hex of the secret's SHA-256), what it grants. */
int store_token_add(struct store *st, const char *hash, const char *node, const char *services,
                    int64_t now_s, int64_t expires_s, struct weft_err *e);

enum store_token_result {
    STORE_TOKEN_OK,      /* consumed now: node and services filled */
    STORE_TOKEN_UNKNOWN, /* no such token */
    STORE_TOKEN_USED,    /* consumed before (the time in *used_s) */
    STORE_TOKEN_EXPIRED  /* past its expiry (in *used_s) */
};

/**
 * Consume a token atomically (one IMMEDIATE transaction, committed with
 * synchronous=FULL before it returns): it works once, also across restarts.
 * On STORE_TOKEN_OK node[node_cap] and services[svc_cap] get what it grants
 * and, in the same transaction, every (node, service) is recorded in
 * enrollments with source "token". Returns the result, or -1 on error.
 */
int store_token_consume(struct store *st, const char *hash, int64_t now_s, char *node,
                        size_t node_cap, char *services, size_t svc_cap, int64_t *when_s,
                        struct weft_err *e);
/** The same lookup without consuming (to check a request before spending the token). */
int store_token_peek(struct store *st, const char *hash, int64_t now_s, char *node, size_t node_cap,
                     char *services, size_t svc_cap, int64_t *when_s, struct weft_err *e);

#endif
