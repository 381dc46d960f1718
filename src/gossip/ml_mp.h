/*
 * ml_mp: msgpack as go-msgpack speaks it for memberlist and Serf (internal
 * to gossip/; no other layer sees <msgpack.h>).
 *
 * Reading: ml_mp_read() first walks the bytes itself (ml_mp_scan) to check
 * that one complete object is there, no deeper than ML_MP_DEPTH_MAX and
 * with every array/map count no larger than the bytes left (each element
 * takes at least one byte), so msgpack-c's unpacker can never be asked to
 * allocate more than a small multiple of the input. Only then is the object
 * unpacked into a msgpack_unpacked (a zone the caller owns and releases with
 * ml_mp_done()). Strings inside point into the caller's input buffer.
 *
 * Field access follows go-msgpack's struct decoding: a struct is a map keyed
 * by field names (raw/str or bin keys), unknown keys are ignored, a missing
 * key leaves the zero value, nil is the zero value of any field, and every
 * integer width and signedness is accepted when the value fits.
 *
 * Writing: a packer over a fixed caller buffer (ml_mp_out); an overflow is
 * remembered and reported once at the end. Strings and []byte are written
 * as go-msgpack does with WriteExt=false: raw (fixstr / str16 / str32, never
 * str8 nor bin), nil for an empty []byte, unsigned integers in the smallest
 * unsigned form.
 */
#ifndef WEFT_GOSSIP_ML_MP_H
#define WEFT_GOSSIP_ML_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "core/err.h"

/* Nesting the messages need is 3 (Serf push/pull events); 16 is generous. */
#define ML_MP_DEPTH_MAX 16

/**
 * Check that buf[0..len) starts with one complete, bounded msgpack object.
 * Sets *used to its size. Returns 0, or -1 with "where: reason" in e.
 */
int ml_mp_scan(const uint8_t *buf, size_t len, size_t *used, const char *where, struct weft_err *e);

/**
 * Scan then unpack one object from buf into *u (initialised here; release
 * with ml_mp_done() whatever the result). Sets *used to the bytes consumed.
 */
int ml_mp_read(msgpack_unpacked *u, const uint8_t *buf, size_t len, size_t *used, const char *where,
               struct weft_err *e);
/** Release what ml_mp_read() allocated. */
void ml_mp_done(msgpack_unpacked *u);

/** The value of map key `name`, or NULL if absent. Fails (-1) if o is not a map. */
int ml_mp_field(const msgpack_object *o, const char *name, const msgpack_object **val,
                const char *where, struct weft_err *e);

/* Typed getters for a map field; absent or nil -> zero. They check the
 * type and the range and fail with "where.Name: reason". */
int ml_mp_get_uint(const msgpack_object *map, const char *name, uint64_t max, uint64_t *out,
                   const char *where, struct weft_err *e);
int ml_mp_get_int(const msgpack_object *map, const char *name, int64_t *out, const char *where,
                  struct weft_err *e);
int ml_mp_get_bool(const msgpack_object *map, const char *name, bool *out, const char *where,
                   struct weft_err *e);
/** Copy raw/str/bin bytes into out[0..cap), *len set. Too long -> error. */
int ml_mp_get_bytes(const msgpack_object *map, const char *name, uint8_t *out, size_t cap,
                    size_t *len, const char *where, struct weft_err *e);
/** Raw/str/bin bytes without copying (pointer into the input); nil -> NULL, 0. */
int ml_mp_get_ref(const msgpack_object *map, const char *name, const uint8_t **out, size_t *len,
                  const char *where, struct weft_err *e);
/** A string into out[0..cap) NUL-terminated: at most cap-1 bytes, no NUL inside. */
int ml_mp_get_str(const msgpack_object *map, const char *name, char *out, size_t cap,
                  const char *where, struct weft_err *e);
/** An object's bytes if it is raw/str/bin/nil. Returns false otherwise. */
bool ml_mp_obj_bytes(const msgpack_object *o, const uint8_t **p, size_t *len);

/* A packer writing into a fixed buffer. */
struct ml_mp_out {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool overflow;
    msgpack_packer pk;
};

/** Start writing at out->buf[0] (cannot fail). */
void ml_mp_out_init(struct ml_mp_out *o, uint8_t *buf, size_t cap);
/** Append raw bytes outside msgpack (type bytes, headers). */
void ml_mp_out_raw(struct ml_mp_out *o, const void *p, size_t n);
/** A go-msgpack raw string: fixstr, str16 or str32; never str8. */
void ml_mp_out_str(struct ml_mp_out *o, const void *p, size_t n);
/** A []byte: nil when empty (a nil Go slice), else a raw string. */
void ml_mp_out_bytes(struct ml_mp_out *o, const void *p, size_t n);
/** A map key (raw string). */
void ml_mp_out_key(struct ml_mp_out *o, const char *name);
void ml_mp_out_uint(struct ml_mp_out *o, uint64_t v);
void ml_mp_out_int(struct ml_mp_out *o, int64_t v);
void ml_mp_out_bool(struct ml_mp_out *o, bool v);
void ml_mp_out_nil(struct ml_mp_out *o);
void ml_mp_out_map(struct ml_mp_out *o, size_t n);
void ml_mp_out_array(struct ml_mp_out *o, size_t n);
/** 0 with *len = bytes written, or -1 "where: output buffer too small". */
int ml_mp_out_finish(struct ml_mp_out *o, size_t *len, const char *where, struct weft_err *e);

#endif
