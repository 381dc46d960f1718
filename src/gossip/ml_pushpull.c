/*
 * ml_pushpull: the push/pull state exchange (6) that memberlist runs over
 * TCP on join and every PushPullInterval:
 *
 *   06 | msgpack {Nodes, UserStateLen, Join}
 *      | Nodes x msgpack {Name, Addr, Port, Meta, Incarnation, State, Vsn}
 *      | UserStateLen raw bytes (Serf's own push/pull message)
 *
 * There is no length prefix: msgpack delimits itself. On the wire the
 * stream is usually wrapped in compress (9) and, with a key, encrypt (10);
 * those are unwrapped before this decoder (ml_msg.h, ml_crypt.h).
 * Limits: at most ML_PUSH_NODES_MAX nodes and ML_PUSH_BYTES_MAX of user
 * state, and never more than the caller's array or cap. The _alloc decoder
 * sizes the node array from the header's count (after checking it against
 * the cap and the bytes present); the caller frees it.
 */
#include "gossip/ml_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/ml_mp.h"

static int pp_node_decode(const msgpack_object *o, struct ml_push_node *n, const char *w,
                          struct weft_err *e)
{
    uint64_t v;
    memset(n, 0, sizeof(*n));
    if (o->type != MSGPACK_OBJECT_MAP)
        return err_set(e, "%s: not a msgpack map", w);
    if (ml_mp_get_str(o, "Name", n->name, sizeof(n->name), w, e) < 0 ||
        ml_mp_get_bytes(o, "Addr", n->addr, sizeof(n->addr), &n->addr_len, w, e) < 0)
        return -1;
    if (n->addr_len != 4 && n->addr_len != 16)
        return err_set(e, "%s.Addr: %zu bytes, want 4 or 16", w, n->addr_len);
    if (ml_mp_get_uint(o, "Port", UINT16_MAX, &v, w, e) < 0)
        return -1;
    n->port = (uint16_t)v;
    if (ml_mp_get_bytes(o, "Meta", n->meta, sizeof(n->meta), &n->meta_len, w, e) < 0 ||
        ml_mp_get_uint(o, "Incarnation", UINT32_MAX, &v, w, e) < 0)
        return -1;
    n->incarnation = (uint32_t)v;
    if (ml_mp_get_uint(o, "State", ML_STATE_LEFT, &v, w, e) < 0)
        return -1;
    n->state = (uint8_t)v;
    if (ml_mp_get_bytes(o, "Vsn", n->vsn, sizeof(n->vsn), &n->vsn_len, w, e) < 0)
        return -1;
    if (n->vsn_len != 0 && n->vsn_len != ML_VSN_LEN)
        return err_set(e, "%s.Vsn: %zu bytes, want %d", w, n->vsn_len, ML_VSN_LEN);
    return 0;
}

/* The header: fills *h, *off = its length. */
static int pp_header_decode(const uint8_t *b, size_t len, struct ml_push_pull_header *h,
                            size_t *off, struct weft_err *e)
{
    msgpack_unpacked u;
    size_t used = 0;
    uint64_t v;
    bool join;
    int rc = -1;
    memset(h, 0, sizeof(*h));
    if (ml_mp_read(&u, b, len, &used, "push/pull header", e) < 0)
        goto out;
    if (u.data.type != MSGPACK_OBJECT_MAP) {
        err_set(e, "push/pull header: not a msgpack map");
        goto out;
    }
    if (ml_mp_get_uint(&u.data, "Nodes", ML_PUSH_NODES_MAX, &v, "push/pull header", e) < 0)
        goto out;
    h->nodes = (uint32_t)v;
    if (ml_mp_get_uint(&u.data, "UserStateLen", ML_PUSH_BYTES_MAX, &v, "push/pull header", e) < 0)
        goto out;
    h->user_state_len = (uint32_t)v;
    if (ml_mp_get_bool(&u.data, "Join", &join, "push/pull header", e) < 0)
        goto out;
    h->join = join;
    *off = used;
    rc = 0;
out:
    ml_mp_done(&u);
    return rc;
}

/* h->nodes nodes from b + off into nodes[], then the user state. */
static int pp_nodes_decode(const uint8_t *b, size_t len, size_t off,
                           const struct ml_push_pull_header *h, struct ml_push_node *nodes,
                           const uint8_t **user_state, struct weft_err *e)
{
    msgpack_unpacked u;
    size_t used = 0;
    for (uint32_t i = 0; i < h->nodes; i++) {
        char w[48];
        snprintf(w, sizeof(w), "push/pull node %u", i);
        if (ml_mp_read(&u, b + off, len - off, &used, w, e) < 0 ||
            pp_node_decode(&u.data, &nodes[i], w, e) < 0) {
            ml_mp_done(&u);
            return -1;
        }
        ml_mp_done(&u);
        off += used;
    }
    if (h->user_state_len > len - off)
        return err_set(e, "push/pull: user state of %u bytes, %zu left", h->user_state_len,
                       len - off);
    *user_state = b + off;
    return 0;
}

int ml_push_pull_decode(const uint8_t *b, size_t len, struct ml_push_pull_header *h,
                        struct ml_push_node *nodes, size_t max, const uint8_t **user_state,
                        struct weft_err *e)
{
    size_t off = 0;
    *user_state = NULL;
    if (pp_header_decode(b, len, h, &off, e) < 0)
        return -1;
    if (h->nodes > max)
        return err_set(e, "push/pull: %u nodes, room for %zu", h->nodes, max);
    return pp_nodes_decode(b, len, off, h, nodes, user_state, e);
}

int ml_push_pull_decode_alloc(const uint8_t *b, size_t len, struct ml_push_pull_header *h,
                              struct ml_push_node **nodes, size_t max, const uint8_t **user_state,
                              struct weft_err *e)
{
    size_t off = 0;
    *nodes = NULL;
    *user_state = NULL;
    if (pp_header_decode(b, len, h, &off, e) < 0)
        return -1;
    if (h->nodes > max)
        return err_set(e, "push/pull: %u nodes, over the member limit %zu", h->nodes, max);
    /* A count the bytes cannot hold is refused before any allocation. */
    if (h->nodes > (len - off) / ML_PUSH_NODE_MIN_BYTES)
        return err_set(e, "push/pull: %u nodes announced in %zu bytes", h->nodes, len - off);
    *nodes = malloc((h->nodes ? h->nodes : 1) * sizeof(**nodes));
    if (!*nodes)
        return err_set(e, "push/pull: out of memory for %u nodes", h->nodes);
    if (pp_nodes_decode(b, len, off, h, *nodes, user_state, e) < 0) {
        free(*nodes);
        *nodes = NULL;
        return -1;
    }
    return 0;
}

int ml_push_pull_encode(bool join, const struct ml_push_node *nodes, size_t n,
                        const uint8_t *user_state, size_t ulen, uint8_t *out, size_t cap,
                        size_t *len, struct weft_err *e)
{
    if (n > ML_PUSH_NODES_MAX || ulen > ML_PUSH_BYTES_MAX)
        return err_set(e, "push/pull encode: %zu nodes, %zu bytes of user state: over limits", n,
                       ulen);
    struct ml_mp_out o;
    ml_mp_out_init(&o, out, cap);
    uint8_t t = ML_PUSH_PULL;
    ml_mp_out_raw(&o, &t, 1);
    ml_mp_out_map(&o, 3);
    /* Keys sorted by name, as go-msgpack 0.5 writes them (ml_msg.c). */
    ml_mp_out_key(&o, "Join");
    ml_mp_out_bool(&o, join);
    ml_mp_out_key(&o, "Nodes");
    ml_mp_out_uint(&o, n);
    ml_mp_out_key(&o, "UserStateLen");
    ml_mp_out_uint(&o, ulen);
    for (size_t i = 0; i < n; i++) {
        const struct ml_push_node *p = &nodes[i];
        if (p->meta_len > ML_META_MAX || p->addr_len > ML_ADDR_MAX || p->vsn_len > ML_VSN_LEN)
            return err_set(e, "push/pull encode: node %zu: field over its limit", i);
        ml_mp_out_map(&o, 7);
        ml_mp_out_key(&o, "Addr");
        ml_mp_out_bytes(&o, p->addr, p->addr_len);
        ml_mp_out_key(&o, "Incarnation");
        ml_mp_out_uint(&o, p->incarnation);
        ml_mp_out_key(&o, "Meta");
        ml_mp_out_bytes(&o, p->meta, p->meta_len);
        ml_mp_out_key(&o, "Name");
        ml_mp_out_str(&o, p->name, strlen(p->name));
        ml_mp_out_key(&o, "Port");
        ml_mp_out_uint(&o, p->port);
        ml_mp_out_key(&o, "State");
        ml_mp_out_uint(&o, p->state);
        ml_mp_out_key(&o, "Vsn");
        ml_mp_out_bytes(&o, p->vsn, p->vsn_len);
    }
    ml_mp_out_raw(&o, user_state, ulen);
    return ml_mp_out_finish(&o, len, "push/pull encode", e);
}
