/*
 * sbuf: a growable, always NUL-terminated byte string. The sbuf owns its
 * buffer: sbuf_init() (cannot fail) then sbuf_deinit(). An allocation failure
 * sets `oom` and later appends are ignored, so callers check once at the end.
 */
#ifndef WEFT_CORE_SBUF_H
#define WEFT_CORE_SBUF_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf {
    char *data; /* NUL-terminated when len > 0 or after any append */
    size_t len;
    size_t cap;
    bool oom;
};

void sbuf_init(struct sbuf *b);
void sbuf_deinit(struct sbuf *b);
void sbuf_reset(struct sbuf *b);
void sbuf_append(struct sbuf *b, const void *p, size_t n);
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** The content as a C string ("" when empty); valid until the next append. */
const char *sbuf_str(const struct sbuf *b);

#endif
