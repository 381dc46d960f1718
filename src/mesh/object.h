/*
 * object: the INI files of `weft apply` into validated config objects, each
 * with a canonical body, and back (docs/mesh.md, "Config objects").
 *
 * A file holds one object per section, [KIND NAME]:
 *
 *   [policy allow-sensors]          [upstream-defaults *]
 *   action = allow                  connect_timeout = 2s
 *   from = sensors                  lb = least_conn
 *   to = inventory
 *
 * The whole file is validated before anything is accepted: any error and
 * mesh_obj_parse() returns no object at all, with every error (up to
 * MESH_OBJ_ERRS_MAX, then a count) as "FILE:LINE: [KIND NAME] key: message".
 *
 * The body is what replication stores and compares: the object's keys in a
 * fixed order with normalized values ("connect_timeout = 5000ms" gives
 * "connect_timeout = 5s"), one "key = value" line each, so equal content
 * gives equal bytes. "[KIND NAME]\n" + body is a file of its own that
 * parses back to the same body (mesh_obj_render / mesh_obj_from_body).
 *
 * The line reader is config/inifile.c (Debian's inih, physical line
 * numbers, 197-byte lines), the name rule config's (config_name_check).
 * Pure: no I/O but mesh_obj_load_file(), no clock, no globals.
 */
#ifndef WEFT_MESH_OBJECT_H
#define WEFT_MESH_OBJECT_H

#include <stddef.h>

#include "config/config.h"
#include "core/err.h"
#include "core/sbuf.h"
#include "mesh/object_types.h"

/* Objects in one file at most. */
#define MESH_OBJ_FILE_MAX 256
/* Errors kept per file; later ones are counted ("N more errors not shown"). */
#define MESH_OBJ_ERRS_MAX 100
/* A file of 256 objects with every key set on a full line fits in 1 MiB. */
#define MESH_OBJ_FILE_BYTES_MAX (1024 * 1024)

/* The objects of one file, in file order. Owns them: mesh_obj_file_deinit. */
struct mesh_obj_file {
    struct mesh_obj *objs; /* heap array of n */
    size_t n;
};

/** "policy", "upstream-defaults" ("?" out of range). */
const char *mesh_obj_kind_name(enum mesh_obj_kind kind);
/** The kind called s. Returns 0, or -1 if there is no such kind. */
int mesh_obj_kind_parse(const char *s, enum mesh_obj_kind *out);

/**
 * Parse and validate NUL-terminated INI text; `file` names it in errors.
 * Returns 0 with every object in out (caller deinits), or -1 with out empty
 * and at least one error in errs (whose limit is set to MESH_OBJ_ERRS_MAX
 * unless the caller set one).
 */
int mesh_obj_parse(const char *file, const char *text, struct mesh_obj_file *out,
                   struct config_errs *errs);
/** mesh_obj_parse() on a file (at most MESH_OBJ_FILE_BYTES_MAX bytes of text). */
int mesh_obj_load_file(const char *path, struct mesh_obj_file *out, struct config_errs *errs);
/** Free every object; out is empty again. Safe on a zeroed struct. */
void mesh_obj_file_deinit(struct mesh_obj_file *f);

/**
 * One object from its kind, name and body (a stored or received record):
 * the body (at most MESH_OBJ_BODY_MAX bytes, no section header of its own)
 * is parsed as "[KIND NAME]\n" + body with the same rules as a file. On
 * success o->body is the canonical body, which equals `body` when that was
 * canonical. Returns 0, or -1 with the first error in e (o is then empty).
 */
int mesh_obj_from_body(const char *kind, const char *name, const char *body, size_t body_len,
                       struct mesh_obj *o, struct weft_err *e);

/** Append "[KIND NAME]\n" + body: the object as `weft get` prints it. */
void mesh_obj_render(const struct mesh_obj *o, struct sbuf *out);

/** Free what o owns; o is zeroed. Safe on a zeroed struct. */
void mesh_obj_deinit(struct mesh_obj *o);

#endif
