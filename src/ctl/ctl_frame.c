/*
 * ctl_frame: encode and decode control RPC frames (see ctl_frame.h).
 * Allocation: a decoded message owns its jsonv tree; encoders append to the
 * caller's sbuf.
 */
#include "ctl/ctl_frame.h"

#include "core/json.h"
#include "core/jsonv.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *ctl_reason_name(enum ctl_reason r)
{
    static const char *const names[CTL_R_MAX] = {
        "none",           "too_many_conns", "handshake",       "handshake_timeout",
        "idle_timeout",   "bad_magic",      "bad_version",     "bad_kind",
        "too_large",      "bad_json",       "bad_message",     "truncated",
        "unknown_method", "denied",         "unauthenticated",
    };
    return (unsigned)r < CTL_R_MAX ? names[r] : "?";
}

bool ctl_method_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > CTL_METHOD_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return false;
    }
    return true;
}

void ctl_msg_free(struct ctl_msg *m)
{
    if (!m)
        return;
    jsonv_free(m->root);
    memset(m, 0, sizeof(*m));
}

__attribute__((format(printf, 4, 5))) static enum ctl_dec
dec_err(enum ctl_reason *why, enum ctl_reason r, struct weft_err *e, const char *fmt, ...)
{
    va_list ap;
    *why = r;
    va_start(ap, fmt);
    err_setv(e, fmt, ap);
    va_end(ap);
    return CTL_DEC_ERR;
}

/* The payload's shape: an object with an integral id, then per kind. */
static enum ctl_dec dec_payload(struct ctl_msg *m, enum ctl_reason *why, struct weft_err *e)
{
    const struct jsonv *root = m->root;
    if (jsonv_type(root) != JSONV_OBJECT)
        return dec_err(why, CTL_R_BAD_MESSAGE, e, "control frame: payload is not an object");
    const struct jsonv *id = jsonv_get(root, "id");
    if (jsonv_type(id) != JSONV_NUMBER || jsonv_uint(id, UINT64_MAX) == UINT64_MAX)
        return dec_err(why, CTL_R_BAD_MESSAGE, e,
                       "control frame: \"id\" must be a non-negative integer");
    m->id = jsonv_uint(id, 0);
    const struct jsonv *body = jsonv_get(root, "body");
    if (body && jsonv_type(body) != JSONV_OBJECT)
        return dec_err(why, CTL_R_BAD_MESSAGE, e, "control frame: \"body\" must be an object");
    m->body = body;
    if (m->kind == CTL_KIND_REQUEST) {
        const char *method = jsonv_str(jsonv_get(root, "method"), NULL);
        if (!ctl_method_valid(method))
            return dec_err(why, CTL_R_BAD_MESSAGE, e,
                           "control frame: \"method\" must be 1-32 of a-z 0-9 _ .");
        m->method = method;
        return CTL_DEC_OK;
    }
    const struct jsonv *ok = jsonv_get(root, "ok");
    if (jsonv_type(ok) != JSONV_BOOL)
        return dec_err(why, CTL_R_BAD_MESSAGE, e,
                       "control frame: a reply needs \"ok\": true or false");
    m->ok = jsonv_bool(ok, false);
    if (!m->ok) {
        m->error = jsonv_str(jsonv_get(root, "error"), NULL);
        if (!m->error)
            return dec_err(why, CTL_R_BAD_MESSAGE, e,
                           "control frame: an error reply needs \"error\"");
    }
    return CTL_DEC_OK;
}

enum ctl_dec ctl_frame_decode(const uint8_t *buf, size_t len, size_t max, struct ctl_msg *out,
                              size_t *used, enum ctl_reason *why, struct weft_err *e)
{
    memset(out, 0, sizeof(*out));
    *used = 0;
    *why = CTL_R_NONE;
    /* Judge what is there as early as possible: a wrong magic or version
     * is refused from its first bytes. */
    if ((len >= 1 && buf[0] != 'W') || (len >= 2 && buf[1] != 'C'))
        return dec_err(why, CTL_R_BAD_MAGIC, e, "not a weft control frame (bad magic)");
    if (len >= 3 && buf[2] != CTL_VERSION)
        return dec_err(why, CTL_R_BAD_VERSION, e,
                       "unsupported control protocol version %u (this weft speaks version %d)",
                       (unsigned)buf[2], CTL_VERSION);
    if (len >= 4 && buf[3] != CTL_KIND_REQUEST && buf[3] != CTL_KIND_REPLY)
        return dec_err(why, CTL_R_BAD_KIND, e, "control frame: unknown kind byte 0x%02x",
                       (unsigned)buf[3]);
    if (len < CTL_HDR_LEN)
        return CTL_DEC_MORE;
    uint64_t plen = ((uint64_t)buf[4] << 24) | ((uint64_t)buf[5] << 16) | ((uint64_t)buf[6] << 8) |
                    (uint64_t)buf[7];
    if (plen > max) {
        return dec_err(why, CTL_R_TOO_LARGE, e,
                       "control frame too large: %" PRIu64 " bytes, the limit is %zu", plen, max);
    }
    if (len - CTL_HDR_LEN < plen)
        return CTL_DEC_MORE;
    out->kind = (enum ctl_kind)buf[3];
    struct weft_err je = {{0}};
    out->root = jsonv_parse((const char *)buf + CTL_HDR_LEN, (size_t)plen, &je);
    if (!out->root)
        return dec_err(why, CTL_R_BAD_JSON, e, "control frame: %s", je.msg);
    enum ctl_dec d = dec_payload(out, why, e);
    if (d != CTL_DEC_OK) {
        ctl_msg_free(out);
        return d;
    }
    *used = CTL_HDR_LEN + (size_t)plen;
    return CTL_DEC_OK;
}

void ctl_frame_header(struct sbuf *out, enum ctl_kind kind, size_t len)
{
    uint8_t h[CTL_HDR_LEN] = {'W',
                              'C',
                              CTL_VERSION,
                              (uint8_t)kind,
                              (uint8_t)(len >> 24),
                              (uint8_t)(len >> 16),
                              (uint8_t)(len >> 8),
                              (uint8_t)len};
    sbuf_append(out, h, sizeof(h));
}

/* Header + payload; payload is complete JSON text. */
static int frame_put(struct sbuf *out, enum ctl_kind kind, const struct sbuf *payload, size_t max,
                     struct weft_err *e)
{
    if (payload->oom)
        return err_set(e, "out of memory");
    if (payload->len > max)
        return err_set(e, "control message too large: %zu bytes, limit %zu", payload->len, max);
    ctl_frame_header(out, kind, payload->len);
    sbuf_append(out, payload->data, payload->len);
    return out->oom ? err_set(e, "out of memory") : 0;
}

int ctl_frame_request(struct sbuf *out, uint64_t id, const char *method, const char *body_json,
                      size_t max, struct weft_err *e)
{
    if (!ctl_method_valid(method))
        return err_set(e, "invalid control method name");
    struct sbuf p;
    sbuf_init(&p);
    sbuf_printf(&p, "{\"id\":%" PRIu64 ",\"method\":\"%s\",\"body\":%s}", id, method,
                body_json ? body_json : "{}");
    int rc = frame_put(out, CTL_KIND_REQUEST, &p, max, e);
    sbuf_deinit(&p);
    return rc;
}

int ctl_frame_reply_ok(struct sbuf *out, uint64_t id, const char *body_json, size_t max,
                       struct weft_err *e)
{
    struct sbuf p;
    sbuf_init(&p);
    sbuf_printf(&p, "{\"id\":%" PRIu64 ",\"ok\":true,\"body\":%s}", id,
                body_json ? body_json : "{}");
    int rc = frame_put(out, CTL_KIND_REPLY, &p, max, e);
    sbuf_deinit(&p);
    return rc;
}

int ctl_frame_reply_err(struct sbuf *out, uint64_t id, const char *msg, struct weft_err *e)
{
    struct sbuf p;
    sbuf_init(&p);
    sbuf_printf(&p, "{\"id\":%" PRIu64 ",\"ok\":false,\"error\":", id);
    json_escape(&p, msg ? msg : "error");
    sbuf_puts(&p, "}");
    int rc = frame_put(out, CTL_KIND_REPLY, &p, SIZE_MAX, e);
    sbuf_deinit(&p);
    return rc;
}
