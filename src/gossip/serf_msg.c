/*
 * serf_msg: see serf_msg.h. Field names and order are serf/messages.go's
 * (0.9.4 and HEAD agree). Tag maps come from a Go map, whose iteration
 * order is random: two encodings of the same tags by Serf may differ in
 * order, so tags compare as sets, never as bytes.
 */
#include "gossip/serf_msg.h"

#include <stdio.h>
#include <string.h>

#include "gossip/ml_mp.h"

static int sm_open(msgpack_unpacked *u, const uint8_t *b, size_t len, const char *w,
                   struct weft_err *e)
{
    size_t used = 0;
    if (ml_mp_read(u, b, len, &used, w, e) < 0)
        return -1;
    if (u->data.type != MSGPACK_OBJECT_MAP)
        return err_set(e, "%s: body is not a msgpack map", w);
    return 0;
}

static void sm_type(struct ml_mp_out *o, enum serf_type t)
{
    uint8_t b = (uint8_t)t;
    ml_mp_out_raw(o, &b, 1);
}

int serf_join_decode(const uint8_t *b, size_t len, struct serf_join *m, struct weft_err *e)
{
    static const char w[] = "serf join";
    msgpack_unpacked u;
    int rc = -1;
    memset(m, 0, sizeof(*m));
    if (sm_open(&u, b, len, w, e) == 0 &&
        ml_mp_get_uint(&u.data, "LTime", UINT64_MAX, &m->ltime, w, e) == 0 &&
        ml_mp_get_str(&u.data, "Node", m->node, sizeof(m->node), w, e) == 0)
        rc = 0;
    ml_mp_done(&u);
    return rc;
}

int serf_join_encode(const struct serf_join *m, uint8_t *out, size_t cap, size_t *len,
                     struct weft_err *e)
{
    struct ml_mp_out o;
    ml_mp_out_init(&o, out, cap);
    sm_type(&o, SERF_JOIN);
    ml_mp_out_map(&o, 2);
    ml_mp_out_key(&o, "LTime");
    ml_mp_out_uint(&o, m->ltime);
    ml_mp_out_key(&o, "Node");
    ml_mp_out_str(&o, m->node, strlen(m->node));
    return ml_mp_out_finish(&o, len, "serf join encode", e);
}

int serf_leave_decode(const uint8_t *b, size_t len, struct serf_leave *m, struct weft_err *e)
{
    static const char w[] = "serf leave";
    msgpack_unpacked u;
    int rc = -1;
    memset(m, 0, sizeof(*m));
    if (sm_open(&u, b, len, w, e) == 0 &&
        ml_mp_get_uint(&u.data, "LTime", UINT64_MAX, &m->ltime, w, e) == 0 &&
        ml_mp_get_str(&u.data, "Node", m->node, sizeof(m->node), w, e) == 0 &&
        ml_mp_get_bool(&u.data, "Prune", &m->prune, w, e) == 0)
        rc = 0;
    ml_mp_done(&u);
    return rc;
}

int serf_leave_encode(const struct serf_leave *m, uint8_t *out, size_t cap, size_t *len,
                      struct weft_err *e)
{
    struct ml_mp_out o;
    ml_mp_out_init(&o, out, cap);
    sm_type(&o, SERF_LEAVE);
    ml_mp_out_map(&o, 3);
    ml_mp_out_key(&o, "LTime");
    ml_mp_out_uint(&o, m->ltime);
    ml_mp_out_key(&o, "Node");
    ml_mp_out_str(&o, m->node, strlen(m->node));
    ml_mp_out_key(&o, "Prune");
    ml_mp_out_bool(&o, m->prune);
    return ml_mp_out_finish(&o, len, "serf leave encode", e);
}

static int sm_payload(const msgpack_object *o, const uint8_t **p, size_t *n, const char *w,
                      struct weft_err *e)
{
    if (ml_mp_get_ref(o, "Payload", p, n, w, e) < 0)
        return -1;
    if (*n > SERF_PAYLOAD_MAX)
        return err_set(e, "%s.Payload: %zu bytes, limit %d", w, *n, SERF_PAYLOAD_MAX);
    return 0;
}

int serf_user_event_decode(const uint8_t *b, size_t len, struct serf_user_event *m,
                           struct weft_err *e)
{
    static const char w[] = "serf user event";
    msgpack_unpacked u;
    int rc = -1;
    memset(m, 0, sizeof(*m));
    if (sm_open(&u, b, len, w, e) == 0 &&
        ml_mp_get_uint(&u.data, "LTime", UINT64_MAX, &m->ltime, w, e) == 0 &&
        ml_mp_get_str(&u.data, "Name", m->name, sizeof(m->name), w, e) == 0 &&
        sm_payload(&u.data, &m->payload, &m->payload_len, w, e) == 0 &&
        ml_mp_get_bool(&u.data, "CC", &m->cc, w, e) == 0)
        rc = 0;
    ml_mp_done(&u);
    return rc;
}

int serf_user_event_encode(const struct serf_user_event *m, uint8_t *out, size_t cap, size_t *len,
                           struct weft_err *e)
{
    struct ml_mp_out o;
    ml_mp_out_init(&o, out, cap);
    sm_type(&o, SERF_USER_EVENT);
    ml_mp_out_map(&o, 4);
    ml_mp_out_key(&o, "CC");
    ml_mp_out_bool(&o, m->cc);
    ml_mp_out_key(&o, "LTime");
    ml_mp_out_uint(&o, m->ltime);
    ml_mp_out_key(&o, "Name");
    ml_mp_out_str(&o, m->name, strlen(m->name));
    ml_mp_out_key(&o, "Payload");
    ml_mp_out_bytes(&o, m->payload, m->payload_len);
    return ml_mp_out_finish(&o, len, "serf user event encode", e);
}

int serf_query_decode(const uint8_t *b, size_t len, struct serf_query *m, struct weft_err *e)
{
    static const char w[] = "serf query";
    msgpack_unpacked u;
    uint64_t v;
    int rc = -1;
    memset(m, 0, sizeof(*m));
    if (sm_open(&u, b, len, w, e) < 0)
        goto out;
    const msgpack_object *o = &u.data;
    if (ml_mp_get_uint(o, "LTime", UINT64_MAX, &m->ltime, w, e) < 0 ||
        ml_mp_get_uint(o, "ID", UINT32_MAX, &v, w, e) < 0)
        goto out;
    m->id = (uint32_t)v;
    if (ml_mp_get_bytes(o, "Addr", m->addr, sizeof(m->addr), &m->addr_len, w, e) < 0)
        goto out;
    if (m->addr_len != 0 && m->addr_len != 4 && m->addr_len != 16) {
        err_set(e, "%s.Addr: %zu bytes, want 4 or 16", w, m->addr_len);
        goto out;
    }
    if (ml_mp_get_uint(o, "Port", UINT16_MAX, &v, w, e) < 0)
        goto out;
    m->port = (uint16_t)v;
    if (ml_mp_get_str(o, "SourceNode", m->source_node, sizeof(m->source_node), w, e) < 0)
        goto out;
    const msgpack_object *f;
    if (ml_mp_field(o, "Filters", &f, w, e) < 0)
        goto out;
    if (f && f->type != MSGPACK_OBJECT_NIL) {
        if (f->type != MSGPACK_OBJECT_ARRAY) {
            err_set(e, "%s.Filters: not an array", w);
            goto out;
        }
        if (f->via.array.size > SERF_FILTERS_MAX) {
            err_set(e, "%s.Filters: %u filters, limit %d", w, f->via.array.size, SERF_FILTERS_MAX);
            goto out;
        }
        for (uint32_t i = 0; i < f->via.array.size; i++) {
            if (!ml_mp_obj_bytes(&f->via.array.ptr[i], &m->filters[i].p, &m->filters[i].len)) {
                err_set(e, "%s.Filters[%u]: not bytes", w, i);
                goto out;
            }
        }
        m->n_filters = f->via.array.size;
    }
    if (ml_mp_get_uint(o, "Flags", UINT32_MAX, &v, w, e) < 0)
        goto out;
    m->flags = (uint32_t)v;
    if (ml_mp_get_uint(o, "RelayFactor", UINT8_MAX, &v, w, e) < 0)
        goto out;
    m->relay_factor = (uint8_t)v;
    if (ml_mp_get_int(o, "Timeout", &m->timeout_ns, w, e) < 0 ||
        ml_mp_get_str(o, "Name", m->name, sizeof(m->name), w, e) < 0 ||
        sm_payload(o, &m->payload, &m->payload_len, w, e) < 0)
        goto out;
    rc = 0;
out:
    ml_mp_done(&u);
    return rc;
}

int serf_query_encode(const struct serf_query *m, uint8_t *out, size_t cap, size_t *len,
                      struct weft_err *e)
{
    if (m->n_filters > SERF_FILTERS_MAX)
        return err_set(e, "serf query encode: %zu filters", m->n_filters);
    struct ml_mp_out o;
    ml_mp_out_init(&o, out, cap);
    sm_type(&o, SERF_QUERY);
    ml_mp_out_map(&o, 11);
    ml_mp_out_key(&o, "Addr");
    ml_mp_out_bytes(&o, m->addr, m->addr_len);
    ml_mp_out_key(&o, "Filters");
    if (m->n_filters == 0) {
        ml_mp_out_nil(&o); /* a nil [][]byte */
    } else {
        ml_mp_out_array(&o, m->n_filters);
        for (size_t i = 0; i < m->n_filters; i++)
            ml_mp_out_bytes(&o, m->filters[i].p, m->filters[i].len);
    }
    ml_mp_out_key(&o, "Flags");
    ml_mp_out_uint(&o, m->flags);
    ml_mp_out_key(&o, "ID");
    ml_mp_out_uint(&o, m->id);
    ml_mp_out_key(&o, "LTime");
    ml_mp_out_uint(&o, m->ltime);
    ml_mp_out_key(&o, "Name");
    ml_mp_out_str(&o, m->name, strlen(m->name));
    ml_mp_out_key(&o, "Payload");
    ml_mp_out_bytes(&o, m->payload, m->payload_len);
    ml_mp_out_key(&o, "Port");
    ml_mp_out_uint(&o, m->port);
    ml_mp_out_key(&o, "RelayFactor");
    ml_mp_out_uint(&o, m->relay_factor);
    ml_mp_out_key(&o, "SourceNode");
    ml_mp_out_str(&o, m->source_node, strlen(m->source_node));
    ml_mp_out_key(&o, "Timeout");
    ml_mp_out_int(&o, m->timeout_ns);
    return ml_mp_out_finish(&o, len, "serf query encode", e);
}

int serf_query_response_decode(const uint8_t *b, size_t len, struct serf_query_response *m,
                               struct weft_err *e)
{
    static const char w[] = "serf query response";
    msgpack_unpacked u;
    uint64_t v;
    int rc = -1;
    memset(m, 0, sizeof(*m));
    if (sm_open(&u, b, len, w, e) < 0 ||
        ml_mp_get_uint(&u.data, "LTime", UINT64_MAX, &m->ltime, w, e) < 0 ||
        ml_mp_get_uint(&u.data, "ID", UINT32_MAX, &v, w, e) < 0)
        goto out;
    m->id = (uint32_t)v;
    if (ml_mp_get_str(&u.data, "From", m->from, sizeof(m->from), w, e) < 0 ||
        ml_mp_get_uint(&u.data, "Flags", UINT32_MAX, &v, w, e) < 0)
        goto out;
    m->flags = (uint32_t)v;
    if (sm_payload(&u.data, &m->payload, &m->payload_len, w, e) < 0)
        goto out;
    rc = 0;
out:
    ml_mp_done(&u);
    return rc;
}

int serf_query_response_encode(const struct serf_query_response *m, uint8_t *out, size_t cap,
                               size_t *len, struct weft_err *e)
{
    struct ml_mp_out o;
    ml_mp_out_init(&o, out, cap);
    sm_type(&o, SERF_QUERY_RESPONSE);
    ml_mp_out_map(&o, 5);
    ml_mp_out_key(&o, "Flags");
    ml_mp_out_uint(&o, m->flags);
    ml_mp_out_key(&o, "From");
    ml_mp_out_str(&o, m->from, strlen(m->from));
    ml_mp_out_key(&o, "ID");
    ml_mp_out_uint(&o, m->id);
    ml_mp_out_key(&o, "LTime");
    ml_mp_out_uint(&o, m->ltime);
    ml_mp_out_key(&o, "Payload");
    ml_mp_out_bytes(&o, m->payload, m->payload_len);
    return ml_mp_out_finish(&o, len, "serf query response encode", e);
}

/* Copy a msgpack string object into a bounded C string. */
static int sm_copy_str(const msgpack_object *o, char *out, size_t cap, const char *w,
                       struct weft_err *e)
{
    const uint8_t *p;
    size_t n;
    if (!ml_mp_obj_bytes(o, &p, &n))
        return err_set(e, "%s: not a string", w);
    if (n >= cap)
        return err_set(e, "%s: %zu bytes, limit %zu", w, n, cap - 1);
    if (n && memchr(p, 0, n))
        return err_set(e, "%s: NUL byte in string", w);
    if (n)
        memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

int serf_push_pull_decode(const uint8_t *b, size_t len, struct serf_push_pull *m,
                          struct serf_status *st, size_t max, struct weft_err *e)
{
    static const char w[] = "serf push/pull";
    msgpack_unpacked u;
    int rc = -1;
    memset(m, 0, sizeof(*m));
    if (sm_open(&u, b, len, w, e) < 0)
        goto out;
    const msgpack_object *o = &u.data, *f;
    if (ml_mp_get_uint(o, "LTime", UINT64_MAX, &m->ltime, w, e) < 0 ||
        ml_mp_get_uint(o, "EventLTime", UINT64_MAX, &m->event_ltime, w, e) < 0 ||
        ml_mp_get_uint(o, "QueryLTime", UINT64_MAX, &m->query_ltime, w, e) < 0 ||
        ml_mp_field(o, "StatusLTimes", &f, w, e) < 0)
        goto out;
    if (f && f->type != MSGPACK_OBJECT_NIL) {
        if (f->type != MSGPACK_OBJECT_MAP) {
            err_set(e, "%s.StatusLTimes: not a map", w);
            goto out;
        }
        if (f->via.map.size > max) {
            err_set(e, "%s.StatusLTimes: %u members, room for %zu", w, f->via.map.size, max);
            goto out;
        }
        for (uint32_t i = 0; i < f->via.map.size; i++) {
            const msgpack_object_kv *kv = &f->via.map.ptr[i];
            if (sm_copy_str(&kv->key, st[i].node, sizeof(st[i].node), w, e) < 0)
                goto out;
            if (kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
                err_set(e, "%s.StatusLTimes[%s]: not a clock", w, st[i].node);
                goto out;
            }
            st[i].ltime = kv->val.via.u64;
        }
        m->n_status = f->via.map.size;
    }
    if (ml_mp_field(o, "LeftMembers", &f, w, e) < 0)
        goto out;
    if (f && f->type == MSGPACK_OBJECT_ARRAY)
        m->n_left = f->via.array.size;
    else if (f && f->type != MSGPACK_OBJECT_NIL) {
        err_set(e, "%s.LeftMembers: not an array", w);
        goto out;
    }
    if (ml_mp_field(o, "Events", &f, w, e) < 0)
        goto out;
    if (f && f->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < f->via.array.size; i++)
            if (f->via.array.ptr[i].type != MSGPACK_OBJECT_NIL)
                m->n_events++;
    } else if (f && f->type != MSGPACK_OBJECT_NIL) {
        err_set(e, "%s.Events: not an array", w);
        goto out;
    }
    rc = 0;
out:
    ml_mp_done(&u);
    return rc;
}

int serf_tags_decode(const uint8_t *meta, size_t len, struct serf_tag *tags, size_t max, size_t *n,
                     struct weft_err *e)
{
    static const char w[] = "serf tags";
    *n = 0;
    if (len > ML_META_MAX)
        return err_set(e, "%s: %zu bytes, limit %d", w, len, ML_META_MAX);
    if (len == 0)
        return 0;
    if (meta[0] != SERF_TAG_MAGIC) {
        /* Serf protocol < 3: the meta is the role. */
        if (max < 1)
            return err_set(e, "%s: no room", w);
        if (memchr(meta, 0, len))
            return err_set(e, "%s: NUL byte in role", w);
        strcpy(tags[0].key, "role");
        memcpy(tags[0].value, meta, len);
        tags[0].value[len] = '\0';
        *n = 1;
        return 0;
    }
    msgpack_unpacked u;
    size_t used = 0;
    int rc = -1;
    if (ml_mp_read(&u, meta + 1, len - 1, &used, w, e) < 0)
        goto out;
    if (u.data.type != MSGPACK_OBJECT_MAP) {
        err_set(e, "%s: not a map", w);
        goto out;
    }
    if (u.data.via.map.size > max) {
        err_set(e, "%s: %u tags, room for %zu", w, u.data.via.map.size, max);
        goto out;
    }
    for (uint32_t i = 0; i < u.data.via.map.size; i++) {
        const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
        if (sm_copy_str(&kv->key, tags[i].key, sizeof(tags[i].key), w, e) < 0 ||
            sm_copy_str(&kv->val, tags[i].value, sizeof(tags[i].value), w, e) < 0)
            goto out;
    }
    *n = u.data.via.map.size;
    rc = 0;
out:
    ml_mp_done(&u);
    return rc;
}

int serf_tags_encode(const struct serf_tag *tags, size_t n, uint8_t *meta, size_t cap, size_t *len,
                     struct weft_err *e)
{
    struct ml_mp_out o;
    if (cap > ML_META_MAX)
        cap = ML_META_MAX;
    ml_mp_out_init(&o, meta, cap);
    uint8_t magic = SERF_TAG_MAGIC;
    ml_mp_out_raw(&o, &magic, 1);
    ml_mp_out_map(&o, n);
    for (size_t i = 0; i < n; i++) {
        ml_mp_out_str(&o, tags[i].key, strlen(tags[i].key));
        ml_mp_out_str(&o, tags[i].value, strlen(tags[i].value));
    }
    if (ml_mp_out_finish(&o, len, "serf tags encode", e) < 0)
        return err_set(e, "serf tags encode: over %zu bytes (meta limit %d)", cap, ML_META_MAX);
    return 0;
}

const char *serf_tag_get(const struct serf_tag *tags, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(tags[i].key, key) == 0)
            return tags[i].value;
    return NULL;
}
