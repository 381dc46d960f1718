/*
 * jsonv: a small, strict JSON reader (RFC 8259) that builds a tree, for the
 * CLI to read the admin API's replies. It is the reading half of core/json.h.
 *
 * Strict means a document is accepted whole or refused with the byte offset
 * of the first problem: no comments, no trailing commas, no trailing garbage,
 * no leading zeros, no NaN/Infinity, no numbers outside double's range, no
 * raw control characters in strings, no invalid UTF-8 (overlong forms, UTF-16
 * surrogates, > U+10FFFF), no lone surrogate escapes, no byte order mark, no
 * duplicate keys in an object, nesting at most JSONV_MAX_DEPTH. Strings are
 * decoded to NUL-terminated UTF-8 (\uXXXX and surrogate pairs included), so
 * "\u0000" is refused: a C string could not carry it.
 *
 * Ownership: jsonv_parse() returns a tree the caller frees with jsonv_free();
 * every pointer the accessors return (nodes, strings, keys) points into that
 * tree and lives exactly as long as it.
 *
 * The accessors are NULL-tolerant and take a default, so reading a reply is
 * one line per field and a missing or mistyped field yields the default:
 *
 *     int64_t v = jsonv_int(jsonv_path(root, "store.schema_version"), -1);
 */
#ifndef WEFT_CORE_JSONV_H
#define WEFT_CORE_JSONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Containers nested deeper than this are refused: the parser recurses, and
 * the admin API's replies are a few levels deep. */
#define JSONV_MAX_DEPTH 64

enum jsonv_type { JSONV_NULL, JSONV_BOOL, JSONV_NUMBER, JSONV_STRING, JSONV_ARRAY, JSONV_OBJECT };

/* A node of the tree; opaque (jsonv.c). */
struct jsonv;

/**
 * Parse exactly one JSON value from text[0..len) (no NUL terminator needed).
 * @param e  receives "invalid JSON at byte N: reason" on failure (may be NULL).
 * @retval the root node, owned by the caller (jsonv_free()).
 * @retval NULL on a syntax error, a limit or out of memory; message in e.
 */
struct jsonv *jsonv_parse(const char *text, size_t len, struct weft_err *e);

/** Free a tree returned by jsonv_parse(). Accepts NULL. */
void jsonv_free(struct jsonv *v);

struct sbuf;
/**
 * Write v back as compact JSON text, appended to out: object members in
 * their order, strings escaped as core/json does, integers exactly, other
 * numbers with 17 significant digits. jsonv_parse() of the text gives an
 * equal tree. (The control RPC hands a method its body parsed; a module
 * whose decoder reads text gets it back this way.)
 */
void jsonv_write(const struct jsonv *v, struct sbuf *out);

/** Returns v's type; JSONV_NULL also for v == NULL (an absent value). */
enum jsonv_type jsonv_type(const struct jsonv *v);

/**
 * Returns the value of member `key` of object `obj`, or NULL if obj is NULL,
 * not an object, or has no such member.
 */
const struct jsonv *jsonv_get(const struct jsonv *obj, const char *key);

/**
 * Follow a dotted path of object keys from root ("store.schema_version"); a
 * segment of decimal digits applied to an array indexes it ("members.0.name").
 * Keys containing '.' cannot be reached this way (use jsonv_get()).
 * Returns root for "", NULL if any step is missing or of the wrong type, or
 * if the path has an empty segment ("a..b", ".a", "a.").
 */
const struct jsonv *jsonv_path(const struct jsonv *root, const char *dotted);

/** Returns the string's UTF-8 contents, or dflt unless v is a string. */
const char *jsonv_str(const struct jsonv *v, const char *dflt);

/**
 * Returns v as an int64_t if it is a number with an integral value in int64_t
 * range ("42", "-7", "1e3", "2.0"); dflt otherwise (not a number, "1.5",
 * "1e30"). Never saturates or truncates.
 */
int64_t jsonv_int(const struct jsonv *v, int64_t dflt);

/**
 * Like jsonv_int() for uint64_t, for the counters json_uint() writes: the full
 * 0..UINT64_MAX range of integer literals is exact. dflt for negatives.
 */
uint64_t jsonv_uint(const struct jsonv *v, uint64_t dflt);

/** Returns the number as a double (nearest value), or dflt unless v is a number. */
double jsonv_num(const struct jsonv *v, double dflt);

/** Returns the boolean, or dflt unless v is true or false. */
bool jsonv_bool(const struct jsonv *v, bool dflt);

/** Returns the number of elements of an array or members of an object; 0 otherwise. */
size_t jsonv_len(const struct jsonv *v);

/**
 * Returns element i of an array, or the value of member i of an object (in
 * document order); NULL if i is out of range or v is neither.
 */
const struct jsonv *jsonv_at(const struct jsonv *v, size_t i);

/** Returns the key of member i of an object (document order); NULL otherwise. */
const char *jsonv_key_at(const struct jsonv *obj, size_t i);

#endif
