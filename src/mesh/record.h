/*
 * record: one replicated record of the mesh's state (docs/mesh.md,
 * "Replication"): what it holds, what makes it valid, and the total order
 * that decides which of two versions of a key wins.
 *
 *   key      kind  1-32 of a-z 0-9 -, starting with a letter   ("policy")
 *            name  1-128 of A-Z a-z 0-9 . _ - @ /, no "..", not starting
 *                  with '/'                                    ("allow-sensors"),
 *                  or "*" alone (an object for every name)
 *   hlc      the writer's hybrid logical clock stamp (mesh/hlc.h)
 *   writer   the writing node's identity (a SPIFFE ID), 1-256 printable
 *            ASCII bytes; opaque here
 *   deleted  a tombstone: the key was deleted (the body is then empty)
 *   body     at most 16 KiB, opaque here (canonical text made by the
 *            config objects)
 *
 * The order (mesh_record_cmp) compares hlc, then writer bytes, then a
 * tombstone over a live record, then body bytes; two versions that compare
 * equal are identical. Keeping the greatest version of each key is
 * therefore commutative, associative and idempotent: every node that has
 * seen the same set of versions holds the same one, whatever the order in
 * which they arrived.
 *
 * struct mesh_record is a view: it points at strings and bytes it does not
 * own (a table entry, a decoded message, the caller's buffers). Whoever
 * keeps a record copies it (mesh/table.c does).
 *
 * The hashes (SipHash-2-4 under a fixed, public key, so every node computes
 * the same values) feed the table's digests and buckets; they are part of
 * the sync protocol and must not change without a protocol version.
 */
#ifndef WEFT_MESH_RECORD_H
#define WEFT_MESH_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define MESH_KIND_MAX 32
#define MESH_NAME_MAX 128
#define MESH_WRITER_MAX 256
/* 16 KiB: a config object is a few hundred bytes; this bounds one record's
 * share of a 64 KiB control RPC frame (base64 makes it ~22 KiB). */
#define MESH_BODY_MAX (16 * 1024)

struct mesh_record {
    const char *kind;   /* NUL-terminated, not owned */
    const char *name;   /* NUL-terminated, not owned */
    uint64_t hlc;       /* mesh/hlc.h stamp */
    const char *writer; /* NUL-terminated, not owned */
    bool deleted;       /* tombstone; body_len is then 0 */
    const uint8_t *body;
    size_t body_len;
};

/** Is kind valid? Returns 0, or -1 with a one-line error (non-printables escaped). */
int mesh_kind_check(const char *kind, struct weft_err *e);
/** Is name valid? Returns 0, or -1 with a one-line error. */
int mesh_name_check(const char *name, struct weft_err *e);
/** Is writer valid (1-256 bytes of 0x21-0x7e)? Returns 0, or -1 with an error. */
int mesh_writer_check(const char *writer, struct weft_err *e);
/**
 * Is the whole record valid: key, writer, body size, empty body on a
 * tombstone? Returns 0, or -1 with a one-line error naming the key when it
 * is itself valid ("policy/allow-x: body of 20000 bytes over 16384").
 */
int mesh_record_check(const struct mesh_record *r, struct weft_err *e);

/** Compare keys: kind, then name, bytewise. <0, 0, >0 like strcmp. */
int mesh_key_cmp(const char *kind_a, const char *name_a, const char *kind_b, const char *name_b);

/**
 * The total order on versions of one key: hlc, then writer bytes, then
 * tombstone over live, then body bytes (a proper prefix sorts first).
 * Returns <0, 0 or >0; 0 only when the versions are identical.
 */
int mesh_record_cmp(const struct mesh_record *a, const struct mesh_record *b);

/** Is a newer than b (a wins the merge)? */
static inline bool mesh_record_newer(const struct mesh_record *a, const struct mesh_record *b)
{
    return mesh_record_cmp(a, b) > 0;
}

/** 64-bit hash of a key (kind, name); its top byte is the key's bucket. */
uint64_t mesh_key_hash(const char *kind, const char *name);
/** The bucket (0-255) of a key: two nodes compare digests bucket by bucket. */
static inline unsigned mesh_key_bucket(const char *kind, const char *name)
{
    return (unsigned)(mesh_key_hash(kind, name) >> 56);
}
/** 64-bit hash of a whole version: key, hlc, writer, deleted, body. */
uint64_t mesh_record_hash(const struct mesh_record *r);

/** SipHash-2-4 of p[0..n) under the 128-bit key (k0, k1). Exposed for tests. */
uint64_t mesh_siphash(uint64_t k0, uint64_t k1, const void *p, size_t n);

#endif
