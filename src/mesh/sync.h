/*
 * sync: anti-entropy between two nodes' tables (docs/mesh.md, "The
 * exchange"), as pure functions that make and read JSON bodies. The bodies
 * ride the control RPC (one method; frames <= 64 KiB), so every message has
 * a byte budget and long answers come in pages.
 *
 * One exchange, initiator A (who saw a different digest) and responder B:
 *
 *   A -> B  summary   {"type":"summary","digest":"<hex16>","count":N,
 *                      "buckets":"<hex16 x 256>"}   (4 KiB of hex)
 *   B -> A  list      {"type":"list","mask":"<hex64>","after":POS?,
 *                      "next":POS?,"entries":[{"k":kind,"n":name,"h":hlc,
 *                      "w":writer,"d":bool}, ...]}
 *           B's versions in the buckets whose digests differ (the mask),
 *           in (bucket, kind, name) order, as many as fit; "next" (the
 *           last entry's position) when there are more.
 *   A: for the page's range, want = keys where B's version is newer
 *      (but not tombstones older than A's GC floor, which A would ignore),
 *      push = keys where A's is newer or B has none (mesh_sync_plan).
 *   A -> B  records   {"type":"records","done":0,"want":[{"k","n"}...],
 *                      "records":[{"k","n","h","w","d","b":base64}...]}
 *           B merges the pushed records and answers
 *   B -> A  records   {"type":"records","done":D,"want":[],"records":[...]}
 *           the first D wanted keys answered (those B holds, in order), as
 *           many as fit; A asks again for the rest.
 *   A -> B  list_req  {"type":"list_req","mask":"<hex64>","after":POS}
 *           for the next page, until a list comes without "next".
 *
 *   POS = {"b":bucket,"k":kind,"n":name}
 *   mask: 32 bytes in lower-case hex; bucket b is bit (b % 8) of byte b / 8
 *   hlc: the stamp as a JSON integer (exact to 2^64 - 1 with core/jsonv)
 *
 * Both directions move in one exchange (A pulls what B has newer and
 * pushes what it has newer). Every record is merged through
 * mesh_table_merge, so a malicious or stale page can only offer versions
 * that lose to newer ones.
 *
 * Decoders are strict: the whole body or a one-line error (unknown or
 * missing members, wrong types, bad keys or records, entries out of order
 * or outside the mask, bodies over MESH_SYNC_MSG_MAX). The caller counts
 * refusals; nothing here crashes on any input (tests/fuzz/fuzz_sync.c).
 *
 * The initiator's side is a small state machine (struct mesh_sync_session)
 * and the responder's one function (mesh_sync_serve), so the agent's glue
 * only moves bytes. Every page and batch moves forward (a listing's
 * entries come after the position asked for, a records reply answers at
 * least one wanted key), but a peer that keeps inventing keys can keep a
 * session going: the glue bounds an exchange (in time, or in requests
 * with mesh_sync_session_stats).
 *
 * Ownership: decoded messages own their JSON tree and decoded bodies
 * (..._deinit); the records they hold point into them. Sessions own their
 * plan; tables are borrowed.
 */
#ifndef WEFT_MESH_SYNC_H
#define WEFT_MESH_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/sbuf.h"
#include "mesh/record.h"
#include "mesh/table.h"

/* Largest body a decoder accepts: the control RPC's frame limit. */
#define MESH_SYNC_MSG_MAX (64 * 1024)
/* Default budget for a body we write: the frame limit less room for the
 * RPC envelope ({"id":..,"method":..,"body":...}). */
#define MESH_SYNC_BUDGET_DEFAULT (60 * 1024)
/* A record's JSON at its largest: 16 KiB of body in base64 (21848 bytes),
 * the key, a writer whose 256 bytes are all escaped, the stamp. */
#define MESH_SYNC_RECORD_JSON_MAX (23 * 1024)
/* Smallest budget accepted: one largest record plus the envelope of a
 * records message, and more than a summary (~5 KiB). */
#define MESH_SYNC_BUDGET_MIN (24 * 1024)
#define MESH_SYNC_MASK_BYTES (MESH_BUCKETS / 8)

/** A key, copied (for plans and positions). */
struct mesh_sync_key {
    char kind[MESH_KIND_MAX + 1];
    char name[MESH_NAME_MAX + 1];
};

/** A position in listing order: (bucket, kind, name); bucket -1 is "before everything". */
struct mesh_sync_pos {
    int bucket;
    struct mesh_sync_key key;
};

enum mesh_sync_type {
    MESH_SYNC_SUMMARY,
    MESH_SYNC_LIST_REQ,
    MESH_SYNC_LIST,
    MESH_SYNC_RECORDS,
    MESH_SYNC_TYPE_MAX
};

/** "summary", "list_req", "list", "records". */
const char *mesh_sync_type_name(enum mesh_sync_type t);

/* ---- summary ------------------------------------------------------------------------------- */

struct mesh_sync_summary {
    uint64_t digest;
    uint64_t count;
    uint64_t buckets[MESH_BUCKETS];
};

/** The summary of a table. */
void mesh_sync_summary_of(const struct mesh_table *t, struct mesh_sync_summary *s);
/** Append the summary body to out. Returns 0, or -1 if out ran out of memory. */
int mesh_sync_summary_encode(const struct mesh_sync_summary *s, struct sbuf *out);
/** Decode a summary body. Returns 0, or -1 with a one-line error. */
int mesh_sync_summary_decode(const char *buf, size_t len, struct mesh_sync_summary *out,
                             struct weft_err *e);
/** Set in mask the buckets whose digests differ; returns how many. */
size_t mesh_sync_diff(const struct mesh_sync_summary *a, const struct mesh_sync_summary *b,
                      uint8_t mask[MESH_SYNC_MASK_BYTES]);

/* ---- listing ------------------------------------------------------------------------------- */

/** Append a list_req body (after: the previous page's next). Returns 0 or -1 (OOM). */
int mesh_sync_list_req_encode(const uint8_t mask[MESH_SYNC_MASK_BYTES],
                              const struct mesh_sync_pos *after, struct sbuf *out);
/** Decode a list_req body. Returns 0, or -1 with a one-line error. */
int mesh_sync_list_req_decode(const char *buf, size_t len, uint8_t mask[MESH_SYNC_MASK_BYTES],
                              struct mesh_sync_pos *after, struct weft_err *e);

/** One entry of a listing: a version without its body. Points into the message. */
struct mesh_sync_entry {
    struct mesh_record rec; /* body NULL, body_len 0 */
    int bucket;
};

/** A decoded list body. */
struct mesh_sync_list {
    uint8_t mask[MESH_SYNC_MASK_BYTES];
    struct mesh_sync_pos after; /* the page starts after this (bucket -1: at the start) */
    bool more;                  /* there is a next page */
    struct mesh_sync_pos next;  /* ...starting after this (the last entry), if more */
    struct mesh_sync_entry *entries;
    size_t n;
    struct jsonv *root; /* owned */
};

/**
 * Append a list body: the table's versions in the mask's buckets after
 * `after` (NULL: from the start), as many as fit in budget bytes (at least
 * one). Returns 0, or -1 with e (budget below MESH_SYNC_BUDGET_MIN, OOM).
 */
int mesh_sync_list_encode(const struct mesh_table *t, const uint8_t mask[MESH_SYNC_MASK_BYTES],
                          const struct mesh_sync_pos *after, size_t budget, struct sbuf *out,
                          struct weft_err *e);
/** Decode a list body into *out (mesh_sync_list_deinit after, also on error). */
int mesh_sync_list_decode(const char *buf, size_t len, struct mesh_sync_list *out,
                          struct weft_err *e);
/** Free what a list owns; safe on a zeroed or failed one. */
void mesh_sync_list_deinit(struct mesh_sync_list *l);

/* ---- plan ---------------------------------------------------------------------------------- */

/** What to pull and push after one page of the peer's listing. Owns its arrays. */
struct mesh_sync_plan {
    struct mesh_sync_key *want; /* the peer's version is newer, or ours is missing */
    size_t nwant;
    struct mesh_sync_key *push; /* ours is newer, or theirs is missing */
    size_t npush;
};

/**
 * Compare the page with the table over the page's range (the mask's
 * buckets, after l->after, up to and including l->next when l->more).
 * Returns 0, or -1 if out of memory. mesh_sync_plan_deinit after.
 */
int mesh_sync_plan_make(const struct mesh_table *t, const struct mesh_sync_list *l,
                        struct mesh_sync_plan *p, struct weft_err *e);
void mesh_sync_plan_deinit(struct mesh_sync_plan *p);

/* ---- records ------------------------------------------------------------------------------- */

/** A decoded records body. */
struct mesh_sync_records {
    uint64_t done; /* in a reply: how many of the request's wanted keys it answers */
    struct mesh_sync_key *want;
    size_t nwant;
    struct mesh_record *recs; /* point into root and bodies */
    size_t nrecs;
    uint8_t *bodies;    /* owned: every decoded body, end to end */
    struct jsonv *root; /* owned */
};

/**
 * Append a records body: keys want[*wi..] and the table's records for keys
 * push[*pi..] (keys the table does not hold are skipped) while they fit in
 * budget; advances *wi and *pi past what went in. The wanted keys go
 * first; at least one item goes in if any is left. "done" is 0, or with
 * answer set (the responder answering a request's wanted keys, passed as
 * push) the number of push keys consumed.
 * Returns 0, or -1 with e (budget too small, OOM).
 */
int mesh_sync_records_encode(const struct mesh_table *t, bool answer,
                             const struct mesh_sync_key *want, size_t nwant, size_t *wi,
                             const struct mesh_sync_key *push, size_t npush, size_t *pi,
                             size_t budget, struct sbuf *out, struct weft_err *e);
/** Decode a records body into *out (mesh_sync_records_deinit after, also on error). */
int mesh_sync_records_decode(const char *buf, size_t len, struct mesh_sync_records *out,
                             struct weft_err *e);
void mesh_sync_records_deinit(struct mesh_sync_records *r);

/** What merging a batch did. */
struct mesh_sync_stats {
    uint64_t applied, ignored, refused;
    uint64_t requests, bytes_out, bytes_in; /* sessions: messages and body bytes */
};

/**
 * Merge every record of r into t at wall_ms; counts into *st (may be NULL).
 * The first refusal's reason is left in e (the rest are only counted).
 * Returns 0, or -1 if out of memory.
 */
int mesh_sync_records_apply(struct mesh_table *t, const struct mesh_sync_records *r,
                            int64_t wall_ms, struct mesh_sync_stats *st, struct weft_err *e);

/** The "type" of a body (to dispatch), or -1 with e if there is none. */
int mesh_sync_type_of(const char *buf, size_t len, enum mesh_sync_type *out, struct weft_err *e);

/* ---- the two roles ------------------------------------------------------------------------- */

/**
 * The responder: answer one request body (summary, list_req or records)
 * from the peer with a reply body in out, merging pushed records at
 * wall_ms. Returns 0, or -1 with e (malformed request: count and answer
 * with an RPC error).
 */
int mesh_sync_serve(struct mesh_table *t, const char *req, size_t len, int64_t wall_ms,
                    size_t budget, struct sbuf *out, struct mesh_sync_stats *st,
                    struct weft_err *e);

struct mesh_sync_session;

/** A new exchange driven from table t (borrowed; must outlive the session). NULL on OOM. */
struct mesh_sync_session *mesh_sync_session_new(struct mesh_table *t, size_t budget);
void mesh_sync_session_free(struct mesh_sync_session *s);

/**
 * The next request body to send, in out. Returns 1 (send it, then hand the
 * reply to mesh_sync_session_reply), 0 (the exchange is over), or -1 with e.
 */
int mesh_sync_session_next(struct mesh_sync_session *s, struct sbuf *out, struct weft_err *e);

/**
 * The reply to the last request. Returns 0, or -1 with e: a malformed or
 * unexpected reply ends the session (count it; start afresh later).
 */
int mesh_sync_session_reply(struct mesh_sync_session *s, const char *buf, size_t len,
                            int64_t wall_ms, struct weft_err *e);

/** What the session moved and merged so far. */
const struct mesh_sync_stats *mesh_sync_session_stats(const struct mesh_sync_session *s);

#endif
