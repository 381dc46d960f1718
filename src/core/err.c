#include "core/err.h"

#include <stdio.h>
#include <string.h>

int err_setv(struct weft_err *e, const char *fmt, va_list ap)
{
    if (e)
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    return -1;
}

int err_set(struct weft_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_setv(e, fmt, ap);
    va_end(ap);
    return -1;
}

int err_prefix(struct weft_err *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    char prefix[WEFT_ERR_MAX];
    char old[WEFT_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof(old));
    /* Too long: keep the prefix and the start of the old message, and show
     * the cut. (Checking the result is also what keeps GCC's
     * -Wformat-truncation, an error under -Werror, quiet.) */
    if (snprintf(e->msg, sizeof(e->msg), "%s: %s", prefix, old) >= (int)sizeof(e->msg))
        memcpy(e->msg + sizeof(e->msg) - 4, "...", 4);
    return -1;
}

void err_clear(struct weft_err *e)
{
    if (e)
        e->msg[0] = '\0';
}

bool err_is_set(const struct weft_err *e)
{
    return e && e->msg[0] != '\0';
}
