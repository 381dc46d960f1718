/*
 * units: the config's durations ("500ms", "30s", "2m", "24h", "1h30m") and
 * sizes ("4MiB", "512KiB", "1G", "1000"), parsed strictly: a value that does
 * not parse whole is an error, never a silent prefix.
 */
#ifndef WEFT_CORE_UNITS_H
#define WEFT_CORE_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/**
 * Parse a duration into milliseconds. Units: ms, s, m, h, d; a sequence such
 * as "1h30m" adds up. A bare "0" is allowed; other bare numbers are refused
 * (ambiguous). Returns 0, or -1 with a message in e.
 */
int units_parse_duration_ms(const char *s, int64_t *out_ms, struct weft_err *e);
/**
 * Parse a size into bytes. Suffixes: B, K/KB (1000), KiB (1024), M/MB, MiB, G/GB,
 * GiB; a bare number is bytes. Returns 0, or -1 with a message in e.
 */
int units_parse_size(const char *s, uint64_t *out, struct weft_err *e);
/** Format milliseconds the shortest way that parses back ("1h30m", "500ms"). */
void units_format_duration(int64_t ms, char *buf, size_t cap);
/** Format a size as exact binary units where possible ("4MiB"), else bytes. */
void units_format_size(uint64_t bytes, char *buf, size_t cap);

#endif
