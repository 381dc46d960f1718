/*
 * ml_mp: the bounded msgpack reader and the fixed-buffer writer described in
 * ml_mp.h. The scan is recursive with an explicit depth limit, so a hostile
 * packet of nested arrays cannot exhaust the stack.
 */
#include "gossip/ml_mp.h"

#include <string.h>

static uint64_t mp_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Scan one object at buf[*pos]; advances *pos. */
static int mp_scan_obj(const uint8_t *buf, size_t len, size_t *pos, int depth, const char *where,
                       struct weft_err *e)
{
    if (depth > ML_MP_DEPTH_MAX)
        return err_set(e, "%s: msgpack nested deeper than %d", where, ML_MP_DEPTH_MAX);
    if (*pos >= len)
        return err_set(e, "%s: msgpack truncated at byte %zu", where, *pos);
    uint8_t t = buf[(*pos)++];
    size_t left = len - *pos;
    uint64_t skip = 0, elems = 0;
    size_t hdr = 0;

    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
        return 0;
    if ((t & 0xf0) == 0x80) {
        elems = 2u * (t & 0x0fu);
    } else if ((t & 0xf0) == 0x90) {
        elems = t & 0x0fu;
    } else if ((t & 0xe0) == 0xa0) {
        skip = t & 0x1fu;
    } else {
        switch (t) {
        case 0xc4: /* bin8 */
        case 0xd9: /* str8 */
            hdr = 1;
            break;
        case 0xc5:
        case 0xda:
            hdr = 2;
            break;
        case 0xc6:
        case 0xdb:
            hdr = 4;
            break;
        case 0xc7: /* ext8: len, type */
        case 0xc8:
        case 0xc9:
            hdr = t == 0xc7 ? 1 : t == 0xc8 ? 2 : 4;
            if (left < hdr + 1)
                return err_set(e, "%s: msgpack truncated at byte %zu", where, *pos);
            skip = mp_be(buf + *pos, hdr) + 1;
            *pos += hdr;
            hdr = 0;
            break;
        case 0xca:
        case 0xce:
        case 0xd2:
            skip = 4;
            break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
            skip = 8;
            break;
        case 0xcc:
        case 0xd0:
            skip = 1;
            break;
        case 0xcd:
        case 0xd1:
            skip = 2;
            break;
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
            skip = 1 + (1u << (t - 0xd4)); /* type + 1/2/4/8/16 */
            break;
        case 0xdc:
        case 0xdd:
        case 0xde:
        case 0xdf: {
            size_t n = (t == 0xdc || t == 0xde) ? 2 : 4;
            if (left < n)
                return err_set(e, "%s: msgpack truncated at byte %zu", where, *pos);
            elems = mp_be(buf + *pos, n);
            if (t >= 0xde)
                elems *= 2;
            *pos += n;
            break;
        }
        default: /* 0xc1: never used */
            return err_set(e, "%s: invalid msgpack byte 0x%02x at %zu", where, t, *pos - 1);
        }
        if (hdr) {
            if (left < hdr)
                return err_set(e, "%s: msgpack truncated at byte %zu", where, *pos);
            skip = mp_be(buf + *pos, hdr);
            *pos += hdr;
        }
    }
    left = len - *pos;
    if (skip > left)
        return err_set(e, "%s: msgpack value of %llu bytes, %zu left", where,
                       (unsigned long long)skip, left);
    *pos += (size_t)skip;
    if (elems > len - *pos)
        return err_set(e, "%s: msgpack container of %llu elements, only %zu bytes left", where,
                       (unsigned long long)elems, len - *pos);
    for (uint64_t i = 0; i < elems; i++)
        if (mp_scan_obj(buf, len, pos, depth + 1, where, e) < 0)
            return -1;
    return 0;
}

int ml_mp_scan(const uint8_t *buf, size_t len, size_t *used, const char *where, struct weft_err *e)
{
    size_t pos = 0;
    if (mp_scan_obj(buf, len, &pos, 0, where, e) < 0)
        return -1;
    *used = pos;
    return 0;
}

int ml_mp_read(msgpack_unpacked *u, const uint8_t *buf, size_t len, size_t *used, const char *where,
               struct weft_err *e)
{
    msgpack_unpacked_init(u);
    size_t n = 0;
    if (ml_mp_scan(buf, len, &n, where, e) < 0)
        return -1;
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack_next(u, (const char *)buf, n, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != n)
        return err_set(e, "%s: msgpack unpack failed (%d)", where, (int)rc);
    *used = n;
    return 0;
}

void ml_mp_done(msgpack_unpacked *u)
{
    msgpack_unpacked_destroy(u);
}

bool ml_mp_obj_bytes(const msgpack_object *o, const uint8_t **p, size_t *len)
{
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        *p = (const uint8_t *)o->via.str.ptr;
        *len = o->via.str.size;
        return true;
    case MSGPACK_OBJECT_BIN:
        *p = (const uint8_t *)o->via.bin.ptr;
        *len = o->via.bin.size;
        return true;
    case MSGPACK_OBJECT_NIL:
        *p = NULL;
        *len = 0;
        return true;
    default:
        return false;
    }
}

int ml_mp_field(const msgpack_object *o, const char *name, const msgpack_object **val,
                const char *where, struct weft_err *e)
{
    *val = NULL;
    if (o->type != MSGPACK_OBJECT_MAP)
        return err_set(e, "%s: expected a msgpack map", where);
    size_t nl = strlen(name);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const uint8_t *k;
        size_t kl;
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_NIL || !ml_mp_obj_bytes(&kv->key, &k, &kl))
            continue;
        if (kl == nl && memcmp(k, name, nl) == 0) {
            *val = &kv->val; /* the last one wins, like a Go decoder */
        }
    }
    return 0;
}

int ml_mp_get_uint(const msgpack_object *map, const char *name, uint64_t max, uint64_t *out,
                   const char *where, struct weft_err *e)
{
    const msgpack_object *v = NULL;
    *out = 0;
    if (ml_mp_field(map, name, &v, where, e) < 0)
        return -1;
    if (!v || v->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (v->via.u64 > max)
            return err_set(e, "%s.%s: %llu out of range (max %llu)", where, name,
                           (unsigned long long)v->via.u64, (unsigned long long)max);
        *out = v->via.u64;
        return 0;
    }
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return err_set(e, "%s.%s: negative value", where, name);
    return err_set(e, "%s.%s: not an integer", where, name);
}

int ml_mp_get_int(const msgpack_object *map, const char *name, int64_t *out, const char *where,
                  struct weft_err *e)
{
    const msgpack_object *v = NULL;
    *out = 0;
    if (ml_mp_field(map, name, &v, where, e) < 0)
        return -1;
    if (!v || v->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (v->via.u64 > (uint64_t)INT64_MAX)
            return err_set(e, "%s.%s: out of range", where, name);
        *out = (int64_t)v->via.u64;
        return 0;
    }
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = v->via.i64;
        return 0;
    }
    return err_set(e, "%s.%s: not an integer", where, name);
}

int ml_mp_get_bool(const msgpack_object *map, const char *name, bool *out, const char *where,
                   struct weft_err *e)
{
    const msgpack_object *v = NULL;
    *out = false;
    if (ml_mp_field(map, name, &v, where, e) < 0)
        return -1;
    if (!v || v->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (v->type != MSGPACK_OBJECT_BOOLEAN)
        return err_set(e, "%s.%s: not a bool", where, name);
    *out = v->via.boolean;
    return 0;
}

int ml_mp_get_ref(const msgpack_object *map, const char *name, const uint8_t **out, size_t *len,
                  const char *where, struct weft_err *e)
{
    const msgpack_object *v = NULL;
    *out = NULL;
    *len = 0;
    if (ml_mp_field(map, name, &v, where, e) < 0)
        return -1;
    if (!v)
        return 0;
    if (!ml_mp_obj_bytes(v, out, len))
        return err_set(e, "%s.%s: not a string or bytes", where, name);
    return 0;
}

int ml_mp_get_bytes(const msgpack_object *map, const char *name, uint8_t *out, size_t cap,
                    size_t *len, const char *where, struct weft_err *e)
{
    const uint8_t *p;
    size_t n;
    if (ml_mp_get_ref(map, name, &p, &n, where, e) < 0)
        return -1;
    if (n > cap)
        return err_set(e, "%s.%s: %zu bytes, limit %zu", where, name, n, cap);
    if (n)
        memcpy(out, p, n);
    *len = n;
    return 0;
}

int ml_mp_get_str(const msgpack_object *map, const char *name, char *out, size_t cap,
                  const char *where, struct weft_err *e)
{
    const uint8_t *p;
    size_t n;
    if (ml_mp_get_ref(map, name, &p, &n, where, e) < 0)
        return -1;
    if (n >= cap)
        return err_set(e, "%s.%s: %zu bytes, limit %zu", where, name, n, cap - 1);
    if (n && memchr(p, 0, n))
        return err_set(e, "%s.%s: NUL byte in string", where, name);
    if (n)
        memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static int mp_out_write(void *data, const char *buf, size_t len)
{
    struct ml_mp_out *o = data;
    if (o->overflow || len > o->cap - o->len) {
        o->overflow = true;
        return -1;
    }
    memcpy(o->buf + o->len, buf, len);
    o->len += len;
    return 0;
}

void ml_mp_out_init(struct ml_mp_out *o, uint8_t *buf, size_t cap)
{
    o->buf = buf;
    o->cap = cap;
    o->len = 0;
    o->overflow = false;
    msgpack_packer_init(&o->pk, o, mp_out_write);
}

void ml_mp_out_raw(struct ml_mp_out *o, const void *p, size_t n)
{
    if (n)
        (void)mp_out_write(o, p, n);
}

void ml_mp_out_str(struct ml_mp_out *o, const void *p, size_t n)
{
    (void)msgpack_pack_v4raw(&o->pk, n);
    if (n)
        (void)msgpack_pack_v4raw_body(&o->pk, p, n);
}

void ml_mp_out_bytes(struct ml_mp_out *o, const void *p, size_t n)
{
    if (n == 0)
        ml_mp_out_nil(o);
    else
        ml_mp_out_str(o, p, n);
}

void ml_mp_out_key(struct ml_mp_out *o, const char *name)
{
    ml_mp_out_str(o, name, strlen(name));
}

void ml_mp_out_uint(struct ml_mp_out *o, uint64_t v)
{
    (void)msgpack_pack_uint64(&o->pk, v);
}

void ml_mp_out_int(struct ml_mp_out *o, int64_t v)
{
    /* go-msgpack 0.5 writes non-negative signed ints in unsigned forms. */
    if (v >= 0)
        (void)msgpack_pack_uint64(&o->pk, (uint64_t)v);
    else
        (void)msgpack_pack_int64(&o->pk, v);
}

void ml_mp_out_bool(struct ml_mp_out *o, bool v)
{
    if (v)
        (void)msgpack_pack_true(&o->pk);
    else
        (void)msgpack_pack_false(&o->pk);
}

void ml_mp_out_nil(struct ml_mp_out *o)
{
    (void)msgpack_pack_nil(&o->pk);
}

void ml_mp_out_map(struct ml_mp_out *o, size_t n)
{
    (void)msgpack_pack_map(&o->pk, n);
}

void ml_mp_out_array(struct ml_mp_out *o, size_t n)
{
    (void)msgpack_pack_array(&o->pk, n);
}

int ml_mp_out_finish(struct ml_mp_out *o, size_t *len, const char *where, struct weft_err *e)
{
    if (o->overflow)
        return err_set(e, "%s: output buffer of %zu bytes too small", where, o->cap);
    *len = o->len;
    return 0;
}
