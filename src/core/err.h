/*
 * err: one error convention for all of weft.
 *
 * Functions return 0 / -1 (or NULL) and put a human-readable message in a
 * struct weft_err that the caller owns (Redis anet's `char *err`, Tarantool's
 * diag). The buffer is fixed-size so that filling it never allocates or fails.
 */
#ifndef WEFT_CORE_ERR_H
#define WEFT_CORE_ERR_H

#include <stdarg.h>
#include <stdbool.h>

/* 512 bytes: room for a path, a config line reference and a reason. */
#define WEFT_ERR_MAX 512

struct weft_err {
    char msg[WEFT_ERR_MAX];
};

/** Set the message (printf-style). Accepts e == NULL (message dropped). Returns -1. */
int err_set(struct weft_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Same, taking a va_list. Returns -1. */
int err_setv(struct weft_err *e, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/** Prefix the current message with "prefix: " (for adding context while unwinding). */
int err_prefix(struct weft_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Empty the message. */
void err_clear(struct weft_err *e);
/** True if a message is set. */
bool err_is_set(const struct weft_err *e);

#endif
