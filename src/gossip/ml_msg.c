/*
 * ml_msg: the msgpack bodies of memberlist's simple messages, and the
 * compress (9) wrapper.
 *
 * Decoding goes through ml_mp (bounded scan, then msgpack-c), field by
 * name. Encoding writes the fields in go-msgpack's order (below) with go-msgpack's
 * habits (ml_mp.h), so for the messages memberlist 0.2.2 sends the output is
 * byte for byte what it would send: omitempty fields (the ping Source*) are
 * left out when empty, other empty []byte are nil.
 *
 * Key order: go-msgpack 0.5 (hashicorp/go-msgpack, which memberlist 0.2.2
 * and serf 0.9.4 use) writes struct fields SORTED BY NAME (byte order), not
 * in declaration order: alive is {Addr, Incarnation, Meta, Node, Port, Vsn}
 * on the wire. Every encoder here writes its keys in that sorted order;
 * the captures in tests/data/serf-0.9.4 check it byte for byte.
 */
#include "gossip/ml_msg.h"

#include <stdlib.h>
#include <string.h>

#include "gossip/lzw.h"
#include "gossip/ml_mp.h"

/* An IP is 4 or 16 bytes; nothing (nil) only where allowed. */
static int msg_check_addr(size_t n, bool allow_empty, const char *where, const char *name,
                          struct weft_err *e)
{
    if (n == 4 || n == 16 || (n == 0 && allow_empty))
        return 0;
    return err_set(e, "%s.%s: address of %zu bytes, want 4 or 16", where, name, n);
}

static int msg_check_vsn(size_t n, const char *where, struct weft_err *e)
{
    if (n == 0 || n == ML_VSN_LEN)
        return 0;
    return err_set(e, "%s.Vsn: %zu bytes, want %d", where, n, ML_VSN_LEN);
}

/* Decoder prologue: one map at b, the unpacked root in *root. */
static int msg_open(msgpack_unpacked *u, const uint8_t *b, size_t len, const char *where,
                    struct weft_err *e)
{
    size_t used = 0;
    if (ml_mp_read(u, b, len, &used, where, e) < 0)
        return -1;
    if (u->data.type != MSGPACK_OBJECT_MAP)
        return err_set(e, "%s: body is not a msgpack map", where);
    return 0;
}

int ml_ping_decode(const uint8_t *b, size_t len, struct ml_ping *m, struct weft_err *e)
{
    static const char w[] = "ping";
    msgpack_unpacked u;
    uint64_t v;
    int rc = -1;
    memset(m, 0, sizeof(*m));
    if (msg_open(&u, b, len, w, e) < 0)
        goto out;
    const msgpack_object *o = &u.data;
    if (ml_mp_get_uint(o, "SeqNo", UINT32_MAX, &v, w, e) < 0)
        goto out;
    m->seq_no = (uint32_t)v;
    if (ml_mp_get_str(o, "Node", m->node, sizeof(m->node), w, e) < 0 ||
        ml_mp_get_bytes(o, "SourceAddr", m->source_addr, sizeof(m->source_addr),
                        &m->source_addr_len, w, e) < 0 ||
        msg_check_addr(m->source_addr_len, true, w, "SourceAddr", e) < 0 ||
        ml_mp_get_uint(o, "SourcePort", UINT16_MAX, &v, w, e) < 0)
        goto out;
    m->source_port = (uint16_t)v;
    if (ml_mp_get_str(o, "SourceNode", m->source_node, sizeof(m->source_node), w, e) < 0)
        goto out;
    rc = 0;
out:
    ml_mp_done(&u);
    return rc;
}

static void msg_out_source(struct ml_mp_out *o, const uint8_t *addr, size_t alen, uint16_t port,
                           const char *node)
{
    if (alen) {
        ml_mp_out_key(o, "SourceAddr");
        ml_mp_out_str(o, addr, alen);
    }
    if (node[0]) {
        ml_mp_out_key(o, "SourceNode");
        ml_mp_out_str(o, node, strlen(node));
    }
    if (port) {
        ml_mp_out_key(o, "SourcePort");
        ml_mp_out_uint(o, port);
    }
}

static size_t msg_source_fields(size_t alen, uint16_t port, const char *node)
{
    return (alen != 0) + (port != 0) + (node[0] != '\0');
}

int ml_ping_encode(const struct ml_ping *m, uint8_t *out, size_t cap, size_t *len,
                   struct weft_err *e)
{
    struct ml_mp_out o;
    ml_mp_out_init(&o, out, cap);
    uint8_t t = ML_PING;
    ml_mp_out_raw(&o, &t, 1);
    ml_mp_out_map(&o, 2 + msg_source_fields(m->source_addr_len, m->source_port, m->source_node));
    ml_mp_out_key(&o, "Node");
    ml_mp_out_str(&o, m->node, strlen(m->node));
    ml_mp_out_key(&o, "SeqNo");
    ml_mp_out_uint(&o, m->seq_no);
    msg_out_source(&o, m->source_addr, m->source_addr_len, m->source_port, m->source_node);
    return ml_mp_out_finish(&o, len, "ping encode", e);
}

int ml_indirect_ping_decode(const uint8_t *b, size_t len, struct ml_indirect_ping *m,
                            struct weft_err *e)
{
    static const char w[] = "indirect ping";
    msgpack_unpacked u;
    uint64_t v;
    int rc = -1;
    memset(m, 0, sizeof(*m));
    if (msg_open(&u, b, len, w, e) < 0)
        goto out;
    const msgpack_object *o = &u.data;
    if (ml_mp_get_uint(o, "SeqNo", UINT32_MAX, &v, w, e) < 0)
        goto out;
    m->seq_no = (uint32_t)v;
    if (ml_mp_get_bytes(o, "Target", m->target, sizeof(m->target), &m->target_len, w, e) < 0 ||
        msg_check_addr(m->target_len, false, w, "Target", e) < 0 ||
        ml_mp_get_uint(o, "Port", UINT16_MAX, &v, w, e) < 0)
        goto out;
    m->port = (uint16_t)v;
    if (ml_mp_get_str(o, "Node", m->node, sizeof(m->node), w, e) < 0 ||
        ml_mp_get_bool(o, "Nack", &m->nack, w, e) < 0 ||
        ml_mp_get_bytes(o, "SourceAddr", m->source_addr, sizeof(m->source_addr),
                        &m->source_addr_len, w, e) < 0 ||
        msg_check_addr(m->source_addr_len, true, w, "SourceAddr", e) < 0 ||
        ml_mp_get_uint(o, "SourcePort", UINT16_MAX, &v, w, e) < 0)
        goto out;
    m->source_port = (uint16_t)v;
    if (ml_mp_get_str(o, "SourceNode", m->source_node, sizeof(m->source_node), w, e) < 0)
        goto out;
    rc = 0;
out:
    ml_mp_done(&u);
    return rc;
}

int ml_indirect_ping_encode(const struct ml_indirect_ping *m, uint8_t *out, size_t cap, size_t *len,
                            struct weft_err *e)
{
    struct ml_mp_out o;
    ml_mp_out_init(&o, out, cap);
    uint8_t t = ML_INDIRECT_PING;
    ml_mp_out_raw(&o, &t, 1);
    ml_mp_out_map(&o, 5 + msg_source_fields(m->source_addr_len, m->source_port, m->source_node));
    ml_mp_out_key(&o, "Nack");
    ml_mp_out_bool(&o, m->nack);
    ml_mp_out_key(&o, "Node");
    ml_mp_out_str(&o, m->node, strlen(m->node));
    ml_mp_out_key(&o, "Port");
    ml_mp_out_uint(&o, m->port);
    ml_mp_out_key(&o, "SeqNo");
    ml_mp_out_uint(&o, m->seq_no);
    msg_out_source(&o, m->source_addr, m->source_addr_len, m->source_port, m->source_node);
    ml_mp_out_key(&o, "Target");
    ml_mp_out_bytes(&o, m->target, m->target_len);
    return ml_mp_out_finish(&o, len, "indirect ping encode", e);
}

int ml_ack_decode(const uint8_t *b, size_t len, struct ml_ack *m, struct weft_err *e)
{
    static const char w[] = "ack";
    msgpack_unpacked u;
    uint64_t v;
    int rc = -1;
    memset(m, 0, sizeof(*m));
    if (msg_open(&u, b, len, w, e) < 0)
        goto out;
    if (ml_mp_get_uint(&u.data, "SeqNo", UINT32_MAX, &v, w, e) < 0)
        goto out;
    m->seq_no = (uint32_t)v;
    if (ml_mp_get_bytes(&u.data, "Payload", m->payload, sizeof(m->payload), &m->payload_len, w, e) <
        0)
        goto out;
    rc = 0;
out:
    ml_mp_done(&u);
    return rc;
}

int ml_ack_encode(const struct ml_ack *m, uint8_t *out, size_t cap, size_t *len, struct weft_err *e)
{
    struct ml_mp_out o;
    ml_mp_out_init(&o, out, cap);
    uint8_t t = ML_ACK;
    ml_mp_out_raw(&o, &t, 1);
    ml_mp_out_map(&o, 2);
    ml_mp_out_key(&o, "Payload");
    ml_mp_out_bytes(&o, m->payload, m->payload_len);
    ml_mp_out_key(&o, "SeqNo");
    ml_mp_out_uint(&o, m->seq_no);
    return ml_mp_out_finish(&o, len, "ack encode", e);
}

int ml_nack_decode(const uint8_t *b, size_t len, struct ml_nack *m, struct weft_err *e)
{
    static const char w[] = "nack";
    msgpack_unpacked u;
    uint64_t v;
    int rc = -1;
    memset(m, 0, sizeof(*m));
    if (msg_open(&u, b, len, w, e) < 0 || ml_mp_get_uint(&u.data, "SeqNo", UINT32_MAX, &v, w, e))
        goto out;
    m->seq_no = (uint32_t)v;
    rc = 0;
out:
    ml_mp_done(&u);
    return rc;
}

int ml_nack_encode(const struct ml_nack *m, uint8_t *out, size_t cap, size_t *len,
                   struct weft_err *e)
{
    struct ml_mp_out o;
    ml_mp_out_init(&o, out, cap);
    uint8_t t = ML_NACK;
    ml_mp_out_raw(&o, &t, 1);
    ml_mp_out_map(&o, 1);
    ml_mp_out_key(&o, "SeqNo");
    ml_mp_out_uint(&o, m->seq_no);
    return ml_mp_out_finish(&o, len, "nack encode", e);
}

int ml_suspect_decode(const uint8_t *b, size_t len, struct ml_suspect *m, struct weft_err *e)
{
    static const char w[] = "suspect/dead";
    msgpack_unpacked u;
    uint64_t v;
    int rc = -1;
    memset(m, 0, sizeof(*m));
    if (msg_open(&u, b, len, w, e) < 0 ||
        ml_mp_get_uint(&u.data, "Incarnation", UINT32_MAX, &v, w, e) < 0)
        goto out;
    m->incarnation = (uint32_t)v;
    if (ml_mp_get_str(&u.data, "Node", m->node, sizeof(m->node), w, e) < 0 ||
        ml_mp_get_str(&u.data, "From", m->from, sizeof(m->from), w, e) < 0)
        goto out;
    rc = 0;
out:
    ml_mp_done(&u);
    return rc;
}

int ml_suspect_encode(enum ml_type type, const struct ml_suspect *m, uint8_t *out, size_t cap,
                      size_t *len, struct weft_err *e)
{
    if (type != ML_SUSPECT && type != ML_DEAD)
        return err_set(e, "suspect encode: type %d is neither suspect nor dead", (int)type);
    struct ml_mp_out o;
    ml_mp_out_init(&o, out, cap);
    uint8_t t = (uint8_t)type;
    ml_mp_out_raw(&o, &t, 1);
    ml_mp_out_map(&o, 3);
    ml_mp_out_key(&o, "From");
    ml_mp_out_str(&o, m->from, strlen(m->from));
    ml_mp_out_key(&o, "Incarnation");
    ml_mp_out_uint(&o, m->incarnation);
    ml_mp_out_key(&o, "Node");
    ml_mp_out_str(&o, m->node, strlen(m->node));
    return ml_mp_out_finish(&o, len, "suspect encode", e);
}

int ml_alive_decode(const uint8_t *b, size_t len, struct ml_alive *m, struct weft_err *e)
{
    static const char w[] = "alive";
    msgpack_unpacked u;
    uint64_t v;
    int rc = -1;
    memset(m, 0, sizeof(*m));
    if (msg_open(&u, b, len, w, e) < 0)
        goto out;
    const msgpack_object *o = &u.data;
    if (ml_mp_get_uint(o, "Incarnation", UINT32_MAX, &v, w, e) < 0)
        goto out;
    m->incarnation = (uint32_t)v;
    if (ml_mp_get_str(o, "Node", m->node, sizeof(m->node), w, e) < 0 ||
        ml_mp_get_bytes(o, "Addr", m->addr, sizeof(m->addr), &m->addr_len, w, e) < 0 ||
        msg_check_addr(m->addr_len, false, w, "Addr", e) < 0 ||
        ml_mp_get_uint(o, "Port", UINT16_MAX, &v, w, e) < 0)
        goto out;
    m->port = (uint16_t)v;
    if (ml_mp_get_bytes(o, "Meta", m->meta, sizeof(m->meta), &m->meta_len, w, e) < 0 ||
        ml_mp_get_bytes(o, "Vsn", m->vsn, sizeof(m->vsn), &m->vsn_len, w, e) < 0 ||
        msg_check_vsn(m->vsn_len, w, e) < 0)
        goto out;
    rc = 0;
out:
    ml_mp_done(&u);
    return rc;
}

int ml_alive_encode(const struct ml_alive *m, uint8_t *out, size_t cap, size_t *len,
                    struct weft_err *e)
{
    if (m->meta_len > ML_META_MAX || m->addr_len > ML_ADDR_MAX || m->vsn_len > ML_VSN_LEN)
        return err_set(e, "alive encode: field over its limit");
    struct ml_mp_out o;
    ml_mp_out_init(&o, out, cap);
    uint8_t t = ML_ALIVE;
    ml_mp_out_raw(&o, &t, 1);
    ml_mp_out_map(&o, 6);
    ml_mp_out_key(&o, "Addr");
    ml_mp_out_bytes(&o, m->addr, m->addr_len);
    ml_mp_out_key(&o, "Incarnation");
    ml_mp_out_uint(&o, m->incarnation);
    ml_mp_out_key(&o, "Meta");
    ml_mp_out_bytes(&o, m->meta, m->meta_len);
    ml_mp_out_key(&o, "Node");
    ml_mp_out_str(&o, m->node, strlen(m->node));
    ml_mp_out_key(&o, "Port");
    ml_mp_out_uint(&o, m->port);
    ml_mp_out_key(&o, "Vsn");
    ml_mp_out_bytes(&o, m->vsn, m->vsn_len);
    return ml_mp_out_finish(&o, len, "alive encode", e);
}

int ml_errmsg_decode(const uint8_t *b, size_t len, struct ml_errmsg *m, struct weft_err *e)
{
    static const char w[] = "err";
    msgpack_unpacked u;
    int rc = -1;
    memset(m, 0, sizeof(*m));
    if (msg_open(&u, b, len, w, e) < 0 ||
        ml_mp_get_str(&u.data, "Error", m->error, sizeof(m->error), w, e) < 0)
        goto out;
    rc = 0;
out:
    ml_mp_done(&u);
    return rc;
}

int ml_errmsg_encode(const struct ml_errmsg *m, uint8_t *out, size_t cap, size_t *len,
                     struct weft_err *e)
{
    struct ml_mp_out o;
    ml_mp_out_init(&o, out, cap);
    uint8_t t = ML_ERR;
    ml_mp_out_raw(&o, &t, 1);
    ml_mp_out_map(&o, 1);
    ml_mp_out_key(&o, "Error");
    ml_mp_out_str(&o, m->error, strlen(m->error));
    return ml_mp_out_finish(&o, len, "err encode", e);
}

int ml_user_encode(const uint8_t *msg, size_t n, uint8_t *out, size_t cap, size_t *len,
                   struct weft_err *e)
{
    if (n >= cap)
        return err_set(e, "user encode: output buffer of %zu bytes too small", cap);
    out[0] = ML_USER;
    if (n)
        memcpy(out + 1, msg, n);
    *len = n + 1;
    return 0;
}

int ml_compress_decode(const uint8_t *b, size_t len, struct ml_compress *m, size_t *used,
                       struct weft_err *e)
{
    static const char w[] = "compress";
    msgpack_unpacked u;
    int rc = -1;
    memset(m, 0, sizeof(*m));
    if (ml_mp_read(&u, b, len, used, w, e) < 0)
        goto out;
    if (u.data.type != MSGPACK_OBJECT_MAP) {
        err_set(e, "%s: body is not a msgpack map", w);
        goto out;
    }
    if (ml_mp_get_int(&u.data, "Algo", &m->algo, w, e) < 0 ||
        ml_mp_get_ref(&u.data, "Buf", &m->buf, &m->buf_len, w, e) < 0)
        goto out;
    rc = 0;
out:
    ml_mp_done(&u);
    return rc;
}

int ml_compress_unwrap(const uint8_t *b, size_t len, size_t max, uint8_t **out, size_t *outlen,
                       size_t *used, struct weft_err *e)
{
    struct ml_compress c;
    *out = NULL;
    *outlen = 0;
    if (ml_compress_decode(b, len, &c, used, e) < 0)
        return -1;
    if (c.algo != 0)
        return err_set(e, "compress: unknown Algo %lld (only 0, LZW)", (long long)c.algo);
    if (lzw_decompress(c.buf, c.buf_len, max, out, outlen, e) < 0)
        return err_prefix(e, "compress");
    if (*outlen == 0) {
        free(*out);
        *out = NULL;
        return err_set(e, "compress: empty payload");
    }
    return 0;
}

int ml_compress_wrap(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *len,
                     struct weft_err *e)
{
    uint8_t *z = NULL;
    size_t zlen = 0;
    if (lzw_compress(in, n, &z, &zlen, e) < 0)
        return err_prefix(e, "compress");
    struct ml_mp_out o;
    ml_mp_out_init(&o, out, cap);
    uint8_t t = ML_COMPRESS;
    ml_mp_out_raw(&o, &t, 1);
    ml_mp_out_map(&o, 2);
    ml_mp_out_key(&o, "Algo");
    ml_mp_out_uint(&o, 0);
    ml_mp_out_key(&o, "Buf");
    ml_mp_out_bytes(&o, z, zlen);
    free(z);
    return ml_mp_out_finish(&o, len, "compress encode", e);
}
