/*
 * object_kind: what object.c needs from each kind of config object, and
 * what it offers them. Private to mesh/object.c, policy.c and
 * upstream_defaults.c (and their tests).
 *
 * A kind is one struct mesh_obj_kind_ops: its keys (in body order), a
 * setter per key, a finish step for the rules that involve several keys
 * (and the required ones), and a writer of the canonical body. object.c
 * does the rest: sections, names, unknown and repeated keys, lines, the
 * error format, limits and the file-wide all-or-nothing rule.
 */
#ifndef WEFT_MESH_OBJECT_KIND_H
#define WEFT_MESH_OBJECT_KIND_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/sbuf.h"
#include "mesh/object_types.h"

/* Keys of one kind at most. */
#define MESH_OBJ_KEYS_MAX 16

/* The parse of one object, as its kind's finish step sees it. */
struct mesh_obj_ctx;

struct mesh_obj_kind_ops {
    const char *name;                          /* "policy" */
    bool name_star;                            /* NAME may also be "*" */
    const char *const keys[MESH_OBJ_KEYS_MAX]; /* body order, NULL-terminated */
    /** Set key `key` (an index into keys) from its text. 0, or -1 with e. */
    int (*set)(struct mesh_obj *o, size_t key, const char *value, struct weft_err *e);
    /** After every key: required keys, cross-key rules (mesh_obj_error). */
    void (*finish)(struct mesh_obj *o, struct mesh_obj_ctx *c);
    /** Append the canonical body (mesh_obj_body_line per key). */
    void (*body)(const struct mesh_obj *o, struct sbuf *out);
    /** Free what the kind's values own. */
    void (*deinit)(struct mesh_obj *o);
};

extern const struct mesh_obj_kind_ops mesh_policy_ops;
extern const struct mesh_obj_kind_ops mesh_upstream_defaults_ops;

/** Report an error on key `key` (its line), or on the header when key < 0. */
void mesh_obj_error(struct mesh_obj_ctx *c, int key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Was key `key` set in the section? */
bool mesh_obj_key_is_set(const struct mesh_obj_ctx *c, size_t key);
/** Report "missing (required)" on the header for each of these keys not set. */
void mesh_obj_require(struct mesh_obj_ctx *c, size_t key);

/**
 * Append one body line: "key = value\n", or "key=value\n" when the spaced
 * form would not fit a line of the INI reader (the value came from a line
 * that fit, so the compact form fits). Deterministic: it depends only on
 * the key and the value.
 */
void mesh_obj_body_line(struct sbuf *out, const char *key, const char *value);

/* Value parsers shared by the kinds (object.c). */
/** Strict decimal integer in [min, max]. 0, or -1 with "'TEXT' ..." in e. */
int mesh_obj_parse_int(const char *text, int64_t min, int64_t max, int64_t *out,
                       struct weft_err *e);
/** core/units duration in [min_ms, max_ms]. 0, or -1 with e. */
int mesh_obj_parse_duration(const char *text, int64_t min_ms, int64_t max_ms, int64_t *out,
                            struct weft_err *e);

#endif
