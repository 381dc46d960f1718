/*
 * fuzz_units: the duration and size parsers and formatters of core/units.h.
 *
 * The input, cut at its first NUL, is parsed both as a duration and as a
 * size (the config hands both the same kind of text). When a value parses:
 *
 *   - a duration is never negative;
 *   - format it, parse the text again: the same value (units.h: the
 *     formatter writes "the shortest way that parses back", and every
 *     duration >= 0 and every size format exactly);
 *   - formatting the reparsed value gives the same text.
 *
 * When it does not parse, the message must say why (e is set).
 *
 * The formatters also get values no text would easily reach: the first
 * 8 bytes of the input, read as a number, are formatted as a duration
 * (sign bit cleared) and as a size and must parse back to themselves; and
 * each value is formatted into a heap buffer of a small size chosen by the
 * input, which must hold a NUL-terminated prefix of the full text and not
 * one byte more (AddressSanitizer watches the end of the buffer).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/units.h"
#include "fuzz.h"

/* Enough for any int64_t duration ("106751991167d7h12m55s807ms") or size. */
#define TEXT_MAX 64

typedef void (*format_fn)(uint64_t v, char *buf, size_t cap);

static void fmt_duration(uint64_t v, char *buf, size_t cap)
{
    units_format_duration((int64_t)v, buf, cap);
}

static void fmt_size(uint64_t v, char *buf, size_t cap)
{
    units_format_size(v, buf, cap);
}

/* Format into exactly `cap` heap bytes: a NUL-terminated prefix of `full`. */
static void check_truncated(format_fn fmt, uint64_t v, const char *full, size_t cap)
{
    char *buf = malloc(cap);
    if (!buf)
        return;
    fmt(v, buf, cap);
    size_t len = strnlen(buf, cap);
    FUZZ_CHECK(len < cap, "format of %" PRIu64 " into %zu bytes is not terminated", v, cap);
    FUZZ_CHECK(strncmp(buf, full, len) == 0, "'%s' (cap %zu) is not a prefix of '%s'", buf, cap,
               full);
    free(buf);
}

static void duration_round_trip(int64_t ms, size_t small_cap)
{
    char text[TEXT_MAX], again[TEXT_MAX];
    struct weft_err e;
    int64_t back = -1;
    err_clear(&e);
    units_format_duration(ms, text, sizeof(text));
    FUZZ_CHECK(units_parse_duration_ms(text, &back, &e) == 0, "%" PRId64 " ms formats as '%s': %s",
               ms, text, e.msg);
    FUZZ_CHECK(back == ms, "%" PRId64 " ms -> '%s' -> %" PRId64 " ms", ms, text, back);
    units_format_duration(back, again, sizeof(again));
    FUZZ_CHECK(strcmp(text, again) == 0, "'%s' formats back as '%s'", text, again);
    check_truncated(fmt_duration, (uint64_t)ms, text, small_cap);
}

static void size_round_trip(uint64_t bytes, size_t small_cap)
{
    char text[TEXT_MAX], again[TEXT_MAX];
    struct weft_err e;
    uint64_t back = 0;
    err_clear(&e);
    units_format_size(bytes, text, sizeof(text));
    FUZZ_CHECK(units_parse_size(text, &back, &e) == 0, "%" PRIu64 " bytes format as '%s': %s",
               bytes, text, e.msg);
    FUZZ_CHECK(back == bytes, "%" PRIu64 " bytes -> '%s' -> %" PRIu64, bytes, text, back);
    units_format_size(back, again, sizeof(again));
    FUZZ_CHECK(strcmp(text, again) == 0, "'%s' formats back as '%s'", text, again);
    check_truncated(fmt_size, bytes, text, small_cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct weft_err e;
    int64_t ms;
    uint64_t bytes;
    /* 1..16 bytes: from "" up to most of a long duration. */
    size_t small_cap = 1 + (size ? data[size - 1] % 16 : 0);
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    err_clear(&e);
    if (units_parse_duration_ms(s, &ms, &e) == 0) {
        FUZZ_CHECK(ms >= 0, "'%s' parses as %" PRId64 " ms", s, ms);
        duration_round_trip(ms, small_cap);
    } else {
        FUZZ_CHECK(err_is_set(&e), "duration refused without a message");
    }

    err_clear(&e);
    if (units_parse_size(s, &bytes, &e) == 0)
        size_round_trip(bytes, small_cap);
    else
        FUZZ_CHECK(err_is_set(&e), "size refused without a message");

    if (size >= sizeof(uint64_t)) {
        uint64_t raw;
        memcpy(&raw, data, sizeof(raw));
        duration_round_trip((int64_t)(raw & (uint64_t)INT64_MAX), small_cap);
        size_round_trip(raw, small_cap);
    }
    free(s);
    return 0;
}
