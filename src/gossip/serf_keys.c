/*
 * serf_keys: see serf_keys.h. Messages are memberlist 0.2.2's and Serf
 * 0.9.4's, word for word, since operators compare them across a mixed
 * cluster (and `serf keys` prints ours as they are).
 */
#include "gossip/serf_keys.h"

#include <stdio.h>
#include <string.h>

#include "gossip/ml_mp.h"
#include "gossip/serf_msg.h"

/* memberlist/keyring.go and serf/internal_query.go */
#define SK_MSG_SIZE "key size must be 16, 24 or 32 bytes"
#define SK_MSG_NOT_IN "Requested key is not in the keyring"
#define SK_MSG_PRIMARY "Removing the primary key is not allowed"
#define SK_MSG_NO_KR "No keyring to modify (encryption not enabled)"
#define SK_MSG_EMPTY "Keyring is empty (encryption not enabled)"

static const struct {
    const char *word;
    const char *query;
} sk_ops[] = {
    [SERF_KEYS_INSTALL] = {"install", SERF_KEYS_Q_INSTALL},
    [SERF_KEYS_USE] = {"use", SERF_KEYS_Q_USE},
    [SERF_KEYS_REMOVE] = {"remove", SERF_KEYS_Q_REMOVE},
    [SERF_KEYS_LIST] = {"list", SERF_KEYS_Q_LIST},
};
#define SK_NOPS (sizeof(sk_ops) / sizeof(sk_ops[0]))

int serf_keys_op_parse(const char *s, enum serf_keys_op *op)
{
    for (size_t i = 0; i < SK_NOPS; i++)
        if (strcmp(s, sk_ops[i].word) == 0) {
            *op = (enum serf_keys_op)i;
            return 0;
        }
    return -1;
}

const char *serf_keys_op_name(enum serf_keys_op op)
{
    return (size_t)op < SK_NOPS ? sk_ops[op].word : "?";
}

const char *serf_keys_op_query(enum serf_keys_op op)
{
    return (size_t)op < SK_NOPS ? sk_ops[op].query : "?";
}

/* Copy a C string into out[0..cap), cut if longer (messages are for people). */
static void sk_cpy(char *out, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

static bool sk_valid_len(size_t n)
{
    return n == 16 || n == 24 || n == 32;
}

int serf_keys_request_encode(enum serf_keys_op op, const char *key_b64, uint8_t *out, size_t cap,
                             size_t *len, struct weft_err *e)
{
    uint8_t key[KEYRING_KEY_MAX + 3];
    size_t klen = 0;
    if ((size_t)op >= SK_NOPS)
        return err_set(e, "serf keys: unknown operation");
    if (op != SERF_KEYS_LIST) {
        if (!key_b64 || !*key_b64)
            return err_set(e, "serf keys: %s needs a key", sk_ops[op].word);
        if (keyring_b64_decode(key_b64, key, sizeof(key), &klen, e) < 0)
            return err_prefix(e, "serf keys: bad key");
        if (!sk_valid_len(klen))
            return err_set(e, "serf keys: bad key: %s (got %zu)", SK_MSG_SIZE, klen);
    }
    struct ml_mp_out o;
    uint8_t t = SERF_KEY_REQUEST;
    ml_mp_out_init(&o, out, cap);
    ml_mp_out_raw(&o, &t, 1);
    ml_mp_out_map(&o, 1);
    ml_mp_out_key(&o, "Key");
    /* Serf decodes the base64 text: "" gives an empty, non-nil slice, which
     * go-msgpack writes as an empty raw string, not nil. */
    ml_mp_out_str(&o, key, klen);
    memset(key, 0, sizeof(key));
    return ml_mp_out_finish(&o, len, "serf key request encode", e);
}

int serf_keys_response_encode(const struct serf_keys_node_resp *r, uint8_t *out, size_t cap,
                              size_t *len, struct weft_err *e)
{
    struct ml_mp_out o;
    uint8_t t = SERF_KEY_RESPONSE;
    ml_mp_out_init(&o, out, cap);
    ml_mp_out_raw(&o, &t, 1);
    ml_mp_out_map(&o, 4);
    ml_mp_out_key(&o, "Keys");
    if (r->n_keys == 0) {
        ml_mp_out_nil(&o); /* a nil []string */
    } else {
        ml_mp_out_array(&o, r->n_keys);
        for (size_t i = 0; i < r->n_keys; i++)
            ml_mp_out_str(&o, r->keys[i], strlen(r->keys[i]));
    }
    ml_mp_out_key(&o, "Message");
    ml_mp_out_str(&o, r->message, strlen(r->message));
    ml_mp_out_key(&o, "PrimaryKey");
    ml_mp_out_str(&o, r->primary, strlen(r->primary));
    ml_mp_out_key(&o, "Result");
    ml_mp_out_bool(&o, r->result);
    return ml_mp_out_finish(&o, len, "serf key response encode", e);
}

static int sk_copy(const msgpack_object *o, char *out, size_t cap, const char *w,
                   struct weft_err *e)
{
    const uint8_t *p;
    size_t n;
    if (!ml_mp_obj_bytes(o, &p, &n))
        return err_set(e, "%s: not a string", w);
    if (n >= cap || (n && memchr(p, '\0', n)))
        return err_set(e, "%s: string of %zu bytes, limit %zu", w, n, cap - 1);
    if (n)
        memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

int serf_keys_response_decode(const uint8_t *p, size_t len, struct serf_keys_node_resp *r,
                              struct weft_err *e)
{
    static const char w[] = "serf key response";
    msgpack_unpacked u;
    const msgpack_object *keys = NULL;
    size_t used;
    int rc = -1;
    memset(r, 0, sizeof(*r));
    if (len < 1 || p[0] != SERF_KEY_RESPONSE)
        return err_set(e, "%s: type %d, want %d", w, len ? p[0] : -1, SERF_KEY_RESPONSE);
    if (ml_mp_read(&u, p + 1, len - 1, &used, w, e) < 0)
        goto out;
    if (u.data.type != MSGPACK_OBJECT_MAP) {
        err_set(e, "%s: body is not a msgpack map", w);
        goto out;
    }
    if (ml_mp_get_bool(&u.data, "Result", &r->result, w, e) < 0 ||
        ml_mp_get_str(&u.data, "Message", r->message, sizeof(r->message), w, e) < 0 ||
        ml_mp_get_str(&u.data, "PrimaryKey", r->primary, sizeof(r->primary), w, e) < 0 ||
        ml_mp_field(&u.data, "Keys", &keys, w, e) < 0)
        goto out;
    if (keys && keys->type != MSGPACK_OBJECT_NIL) {
        if (keys->type != MSGPACK_OBJECT_ARRAY) {
            err_set(e, "%s.Keys: not an array", w);
            goto out;
        }
        if (keys->via.array.size > SERF_KEYS_LIST_MAX) {
            err_set(e, "%s.Keys: %u keys, limit %d", w, keys->via.array.size, SERF_KEYS_LIST_MAX);
            goto out;
        }
        for (uint32_t i = 0; i < keys->via.array.size; i++)
            if (sk_copy(&keys->via.array.ptr[i], r->keys[i], sizeof(r->keys[i]),
                        "serf key "
                        "response.Keys",
                        e) < 0)
                goto out;
        r->n_keys = keys->via.array.size;
    }
    rc = 0;
out:
    ml_mp_done(&u);
    return rc;
}

size_t serf_keys_resp_budget(const char *from)
{
    /* [5] fixmap(5) "Flags" u32(5) "From" str16(n) "ID" u32(5) "LTime" u64(9)
     * "Payload" str16 header: 55 bytes besides the name and the payload. */
    size_t n = strlen(from);
    return n + 55 >= SERF_KEYS_RESP_LIMIT ? 0 : SERF_KEYS_RESP_LIMIT - 55 - n;
}

/* The Key of a key request ([7][{Key}]); *key points into payload. */
static int sk_request_decode(const uint8_t *payload, size_t len, const uint8_t **key, size_t *klen,
                             msgpack_unpacked *u, struct weft_err *e)
{
    static const char w[] = "serf key request";
    size_t used;
    /* Serf skips the type byte without looking at it. u is initialised
     * by ml_mp_read whatever happens, so the caller can always release it. */
    if (ml_mp_read(u, len ? payload + 1 : payload, len ? len - 1 : 0, &used, w, e) < 0)
        return -1;
    if (u->data.type != MSGPACK_OBJECT_MAP)
        return err_set(e, "%s: body is not a msgpack map", w);
    return ml_mp_get_ref(&u->data, "Key", key, klen, w, e);
}

static int sk_find(const struct keyring *kr, const uint8_t *key, size_t len)
{
    for (size_t i = 0; i < kr->n; i++)
        if (kr->lens[i] == len && memcmp(kr->keys[i], key, len) == 0)
            return (int)i;
    return -1;
}

/* Apply install/use/remove as memberlist does; fills r->result/message. */
static void sk_apply(struct keyring *kr, enum serf_keys_op op, const uint8_t *key, size_t klen,
                     struct serf_keys_node_resp *r, bool *changed)
{
    struct weft_err ke = {{0}};
    int at = sk_find(kr, key, klen);
    switch (op) {
    case SERF_KEYS_INSTALL:
        if (!sk_valid_len(klen)) {
            sk_cpy(r->message, sizeof(r->message), SK_MSG_SIZE);
            return;
        }
        if (at < 0) {
            if (keyring_add(kr, key, klen, &ke) < 0) {
                sk_cpy(r->message, sizeof(r->message), ke.msg);
                return;
            }
            *changed = true;
        }
        break;
    case SERF_KEYS_USE:
        if (at < 0) {
            sk_cpy(r->message, sizeof(r->message), SK_MSG_NOT_IN);
            return;
        }
        if (at > 0) {
            keyring_use(kr, key, klen, &ke);
            *changed = true;
        }
        break;
    case SERF_KEYS_REMOVE:
        if (at == 0) {
            sk_cpy(r->message, sizeof(r->message), SK_MSG_PRIMARY);
            return;
        }
        if (at > 0) {
            keyring_remove(kr, key, klen, &ke);
            *changed = true;
        }
        break;
    case SERF_KEYS_LIST:
        break;
    }
    r->result = true;
}

/* A list response: every key, or as many as fit in cap (Serf's truncation). */
static int sk_list(const struct keyring *kr, struct serf_keys_node_resp *r, uint8_t *resp,
                   size_t cap, size_t *resp_len, struct weft_err *e)
{
    size_t actual = kr->n;
    for (size_t i = 0; i < kr->n && i < SERF_KEYS_LIST_MAX; i++)
        keyring_b64_encode(kr->keys[i], kr->lens[i], r->keys[i], sizeof(r->keys[i]), NULL);
    r->n_keys = actual < SERF_KEYS_LIST_MAX ? actual : SERF_KEYS_LIST_MAX;
    keyring_b64_encode(kr->keys[0], kr->lens[0], r->primary, sizeof(r->primary), NULL);
    r->result = true;
    if (r->n_keys == actual && serf_keys_response_encode(r, resp, cap, resp_len, NULL) == 0)
        return 0;
    for (size_t i = r->n_keys == actual ? actual - 1 : r->n_keys;; i--) {
        r->n_keys = i;
        snprintf(r->message, sizeof(r->message),
                 "truncated key list response, showing first %zu of %zu keys", i, actual);
        if (serf_keys_response_encode(r, resp, cap, resp_len, NULL) == 0)
            return 0;
        if (i == 0)
            break;
    }
    return err_set(e, "Failed to truncate response so that it fits into message");
}

int serf_keys_handle(struct keyring *kr, const char *query_name, const uint8_t *payload, size_t len,
                     uint8_t *resp, size_t cap, size_t *resp_len, bool *changed, struct weft_err *e)
{
    enum serf_keys_op op = SERF_KEYS_LIST;
    size_t i;
    *changed = false;
    for (i = 0; i < SK_NOPS; i++)
        if (strcmp(query_name, sk_ops[i].query) == 0) {
            op = (enum serf_keys_op)i;
            break;
        }
    if (i == SK_NOPS)
        return 0;

    /* Large (40 base64 keys): static would not be reentrant; the stack is fine. */
    struct serf_keys_node_resp r;
    memset(&r, 0, sizeof(r));
    bool enabled = kr && kr->n > 0;
    if (op == SERF_KEYS_LIST) {
        /* Serf does not decode a list request's payload. */
        if (!enabled) {
            sk_cpy(r.message, sizeof(r.message), SK_MSG_EMPTY);
        } else {
            if (sk_list(kr, &r, resp, cap, resp_len, e) < 0)
                return -1;
            return 1;
        }
    } else {
        msgpack_unpacked u;
        const uint8_t *key = NULL;
        size_t klen = 0;
        if (sk_request_decode(payload, len, &key, &klen, &u, e) < 0) {
            /* Serf answers Result=false with no message. */
        } else if (!enabled) {
            sk_cpy(r.message, sizeof(r.message), SK_MSG_NO_KR);
        } else {
            sk_apply(kr, op, key, klen, &r, changed);
        }
        ml_mp_done(&u);
    }
    if (serf_keys_response_encode(&r, resp, cap, resp_len, e) < 0)
        return -1;
    return 1;
}

/* ---- the requester's summary ---- */

void serf_keys_summary_init(struct serf_keys_summary *s, enum serf_keys_op op, unsigned num_nodes)
{
    memset(s, 0, sizeof(*s));
    s->op = op;
    s->num_nodes = num_nodes;
}

/* Messages[from] = msg (a Go map: the last one wins). */
static void sk_set_msg(struct serf_keys_summary *s, const char *from, const char *msg)
{
    size_t i;
    for (i = 0; i < s->n_msgs; i++)
        if (strcmp(s->msgs[i].node, from) == 0)
            break;
    if (i == s->n_msgs) {
        if (s->n_msgs == SERF_KEYS_NODES_MAX) {
            s->dropped++;
            return;
        }
        s->n_msgs++;
        sk_cpy(s->msgs[i].node, sizeof(s->msgs[i].node), from);
    }
    sk_cpy(s->msgs[i].message, sizeof(s->msgs[i].message), msg);
}

static void sk_count(struct serf_keys_count *c, size_t *n, unsigned *dropped, const char *key)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(c[i].key, key) == 0) {
            c[i].count++;
            return;
        }
    if (*n == SERF_KEYS_DISTINCT_MAX) {
        (*dropped)++;
        return;
    }
    sk_cpy(c[*n].key, sizeof(c[*n].key), key);
    c[*n].count = 1;
    (*n)++;
}

/* Go's %v of a []byte: "[8 129 ...]", shortened past 32 bytes. */
static void sk_go_bytes(char *out, size_t cap, const uint8_t *p, size_t len)
{
    size_t o = (size_t)snprintf(out, cap, "[");
    for (size_t i = 0; i < len && i < 32 && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%u", i ? " " : "", p[i]);
    if (o < cap)
        snprintf(out + o, cap - o, "%s]", len > 32 ? " ..." : "");
}

void serf_keys_summary_add(struct serf_keys_summary *s, const char *from, const uint8_t *payload,
                           size_t len)
{
    struct serf_keys_node_resp r;
    struct weft_err e = {{0}};
    char msg[SERF_KEYS_MSG_MAX], bytes[160];
    s->num_resp++;
    if (len < 1 || payload[0] != SERF_KEY_RESPONSE) {
        sk_go_bytes(bytes, sizeof(bytes), payload, len);
        snprintf(msg, sizeof(msg), "Invalid key query response type: %s", bytes);
        sk_set_msg(s, from, msg);
        s->num_err++;
        return;
    }
    if (serf_keys_response_decode(payload, len, &r, &e) < 0) {
        sk_go_bytes(bytes, sizeof(bytes), payload, len);
        snprintf(msg, sizeof(msg), "Failed to decode key query response: %s", bytes);
        sk_set_msg(s, from, msg);
        s->num_err++;
        return;
    }
    if (!r.result) {
        sk_set_msg(s, from, r.message);
        s->num_err++;
    }
    if (r.result && r.message[0])
        sk_set_msg(s, from, r.message);
    for (size_t i = 0; i < r.n_keys; i++)
        sk_count(s->keys, &s->n_keys, &s->dropped, r.keys[i]);
    sk_count(s->primary, &s->n_primary, &s->dropped, r.primary);
}

bool serf_keys_summary_done(const struct serf_keys_summary *s)
{
    return s->num_resp >= s->num_nodes;
}

int serf_keys_summary_verdict(const struct serf_keys_summary *s, struct weft_err *e)
{
    if (s->num_err != 0)
        return err_set(e, "%u/%u nodes reported failure", s->num_err, s->num_nodes);
    if (s->num_resp != s->num_nodes)
        return err_set(e, "%u/%u nodes reported success", s->num_resp, s->num_nodes);
    return 0;
}
