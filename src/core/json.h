/*
 * json: a small streaming JSON writer into an sbuf, for the admin API and
 * `--json` output. The writer tracks nesting so commas are always right;
 * strings are escaped (control characters, quotes, backslashes) and invalid
 * UTF-8 is replaced by U+FFFD, so the output is valid JSON whatever the input.
 */
#ifndef WEFT_CORE_JSON_H
#define WEFT_CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sbuf.h"

#define JSON_MAX_DEPTH 32

struct json_w {
    struct sbuf *out; /* not owned */
    int depth;
    bool need_comma[JSON_MAX_DEPTH];
};

void json_w_init(struct json_w *w, struct sbuf *out);
void json_obj_begin(struct json_w *w);
void json_obj_end(struct json_w *w);
void json_arr_begin(struct json_w *w);
void json_arr_end(struct json_w *w);
/** Write an object key; the next value call writes its value. */
void json_key(struct json_w *w, const char *key);
void json_str(struct json_w *w, const char *s); /* NULL writes null */
void json_int(struct json_w *w, int64_t v);
void json_uint(struct json_w *w, uint64_t v);
void json_bool(struct json_w *w, bool v);
void json_null(struct json_w *w);

/* Shorthands for "key": value inside an object. */
void json_kv_str(struct json_w *w, const char *key, const char *s);
void json_kv_int(struct json_w *w, const char *key, int64_t v);
void json_kv_uint(struct json_w *w, const char *key, uint64_t v);
void json_kv_bool(struct json_w *w, const char *key, bool v);

/** Append s to out as a quoted JSON string. */
void json_escape(struct sbuf *out, const char *s);

/**
 * Escape the character at s (NUL-terminated) for a JSON string body: writes
 * at most 6 bytes to out, sets *outlen, returns how many bytes of s it used.
 * Quotes, backslashes and control characters are escaped; valid UTF-8 is
 * copied; an invalid byte becomes \ufffd, so the output is always valid
 * JSON whatever a peer sent. Shared by the writer and the JSON logger.
 */
size_t json_escape_step(const char *s, char out[6], size_t *outlen);

#endif
