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
    return serf_push_pull_walk(b, len, m, st, max, NULL, e);
}

/* One Events entry (userEvents{Events, LTime}) to the visitor. */
static int sm_pp_events(const msgpack_object *ev, const struct serf_pp_visitor *v, const char *w,
                        struct weft_err *e)
{
    uint64_t lt;
    const msgpack_object *f;
    if (ev->type != MSGPACK_OBJECT_MAP)
        return err_set(e, "%s.Events[]: not a map", w);
    if (ml_mp_get_uint(ev, "LTime", UINT64_MAX, &lt, w, e) < 0 ||
        ml_mp_field(ev, "Events", &f, w, e) < 0)
        return -1;
    if (!f || f->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (f->type != MSGPACK_OBJECT_ARRAY)
        return err_set(e, "%s.Events[].Events: not an array", w);
    for (uint32_t i = 0; i < f->via.array.size; i++) {
        const msgpack_object *ue = &f->via.array.ptr[i];
        char name[ML_NAME_MAX + 1];
        const uint8_t *p;
        size_t n;
        if (ue->type != MSGPACK_OBJECT_MAP)
            return err_set(e, "%s.Events[].Events[]: not a map", w);
        if (ml_mp_get_str(ue, "Name", name, sizeof(name), w, e) < 0 ||
            sm_payload(ue, &p, &n, w, e) < 0)
            return -1;
        if (v && v->event)
            v->event(v->arg, lt, name, p, n);
    }
    return 0;
}

int serf_push_pull_walk(const uint8_t *b, size_t len, struct serf_push_pull *m,
                        struct serf_status *st, size_t max, const struct serf_pp_visitor *v,
                        struct weft_err *e)
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
    if (f && f->type == MSGPACK_OBJECT_ARRAY) {
        m->n_left = f->via.array.size;
        for (uint32_t i = 0; i < f->via.array.size && v && v->left; i++) {
            char node[ML_NAME_MAX + 1];
            if (sm_copy_str(&f->via.array.ptr[i], node, sizeof(node), w, e) < 0)
                goto out;
            v->left(v->arg, node);
        }
    } else if (f && f->type != MSGPACK_OBJECT_NIL) {
        err_set(e, "%s.LeftMembers: not an array", w);
        goto out;
    }
    if (ml_mp_field(o, "Events", &f, w, e) < 0)
        goto out;
    if (f && f->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < f->via.array.size; i++) {
            if (f->via.array.ptr[i].type == MSGPACK_OBJECT_NIL)
                continue;
            m->n_events++;
            if (sm_pp_events(&f->via.array.ptr[i], v, w, e) < 0)
                goto out;
        }
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

int serf_push_pull_encode(const struct serf_push_pull *m, const struct serf_status *st,
                          size_t n_status, const char *const *left, size_t n_left,
                          const struct serf_pp_slot *slots, size_t n_slots, uint8_t *out,
                          size_t cap, size_t *len, struct weft_err *e)
{
    struct ml_mp_out o;
    ml_mp_out_init(&o, out, cap);
    sm_type(&o, SERF_PUSH_PULL);
    ml_mp_out_map(&o, 6);
    ml_mp_out_key(&o, "EventLTime");
    ml_mp_out_uint(&o, m->event_ltime);
    ml_mp_out_key(&o, "Events");
    ml_mp_out_array(&o, n_slots);
    for (size_t i = 0; i < n_slots; i++) {
        if (slots[i].n == 0) {
            ml_mp_out_nil(&o);
            continue;
        }
        ml_mp_out_map(&o, 2);
        ml_mp_out_key(&o, "Events");
        ml_mp_out_array(&o, slots[i].n);
        for (size_t j = 0; j < slots[i].n; j++) {
            const struct serf_pp_event *ev = &slots[i].ev[j];
            ml_mp_out_map(&o, 2);
            ml_mp_out_key(&o, "Name");
            ml_mp_out_str(&o, ev->name, strlen(ev->name));
            ml_mp_out_key(&o, "Payload");
            ml_mp_out_bytes(&o, ev->payload, ev->len);
        }
        ml_mp_out_key(&o, "LTime");
        ml_mp_out_uint(&o, slots[i].ltime);
    }
    ml_mp_out_key(&o, "LTime");
    ml_mp_out_uint(&o, m->ltime);
    ml_mp_out_key(&o, "LeftMembers");
    ml_mp_out_array(&o, n_left);
    for (size_t i = 0; i < n_left; i++)
        ml_mp_out_str(&o, left[i], strlen(left[i]));
    ml_mp_out_key(&o, "QueryLTime");
    ml_mp_out_uint(&o, m->query_ltime);
    ml_mp_out_key(&o, "StatusLTimes");
    ml_mp_out_map(&o, n_status);
    for (size_t i = 0; i < n_status; i++) {
        ml_mp_out_str(&o, st[i].node, strlen(st[i].node));
        ml_mp_out_uint(&o, st[i].ltime);
    }
    return ml_mp_out_finish(&o, len, "serf push/pull encode", e);
}

int serf_filter_nodes_has(const uint8_t *b, size_t len, const char *name, bool *found,
                          struct weft_err *e)
{
    static const char w[] = "serf node filter";
    msgpack_unpacked u;
    size_t used = 0, nl = strlen(name);
    int rc = -1;
    *found = false;
    if (ml_mp_read(&u, b, len, &used, w, e) < 0)
        goto out;
    if (u.data.type == MSGPACK_OBJECT_NIL) {
        rc = 0;
        goto out;
    }
    if (u.data.type != MSGPACK_OBJECT_ARRAY) {
        err_set(e, "%s: not an array", w);
        goto out;
    }
    for (uint32_t i = 0; i < u.data.via.array.size; i++) {
        const uint8_t *p;
        size_t n;
        if (!ml_mp_obj_bytes(&u.data.via.array.ptr[i], &p, &n)) {
            err_set(e, "%s: not a string", w);
            goto out;
        }
        if (n == nl && memcmp(p, name, n) == 0)
            *found = true;
    }
    rc = 0;
out:
    ml_mp_done(&u);
    return rc;
}

int serf_filter_tag_decode(const uint8_t *b, size_t len, char *tag, size_t tcap, char *expr,
                           size_t ecap, struct weft_err *e)
{
    static const char w[] = "serf tag filter";
    msgpack_unpacked u;
    int rc = -1;
    if (sm_open(&u, b, len, w, e) == 0 && ml_mp_get_str(&u.data, "Tag", tag, tcap, w, e) == 0 &&
        ml_mp_get_str(&u.data, "Expr", expr, ecap, w, e) == 0)
        rc = 0;
    ml_mp_done(&u);
    return rc;
}

int serf_filter_nodes_encode(const char *const *names, size_t n, uint8_t *out, size_t cap,
                             size_t *len, struct weft_err *e)
{
    struct ml_mp_out o;
    uint8_t t = SERF_FILTER_NODE;
    ml_mp_out_init(&o, out, cap);
    ml_mp_out_raw(&o, &t, 1);
    ml_mp_out_array(&o, n);
    for (size_t i = 0; i < n; i++)
        ml_mp_out_str(&o, names[i], strlen(names[i]));
    return ml_mp_out_finish(&o, len, "serf node filter encode", e);
}

int serf_filter_tag_encode(const char *tag, const char *expr, uint8_t *out, size_t cap, size_t *len,
                           struct weft_err *e)
{
    struct ml_mp_out o;
    uint8_t t = SERF_FILTER_TAG;
    ml_mp_out_init(&o, out, cap);
    ml_mp_out_raw(&o, &t, 1);
    ml_mp_out_map(&o, 2);
    ml_mp_out_key(&o, "Expr");
    ml_mp_out_str(&o, expr, strlen(expr));
    ml_mp_out_key(&o, "Tag");
    ml_mp_out_str(&o, tag, strlen(tag));
    return ml_mp_out_finish(&o, len, "serf tag filter encode", e);
}

int serf_relay_encode(const uint8_t *ip, size_t ip_len, uint16_t port, const uint8_t *msg,
                      size_t mlen, uint8_t *out, size_t cap, size_t *len, struct weft_err *e)
{
    struct ml_mp_out o;
    ml_mp_out_init(&o, out, cap);
    sm_type(&o, SERF_RELAY);
    ml_mp_out_map(&o, 1);
    ml_mp_out_key(&o, "DestAddr");
    ml_mp_out_map(&o, 3);
    ml_mp_out_key(&o, "IP");
    ml_mp_out_bytes(&o, ip, ip_len);
    ml_mp_out_key(&o, "Port");
    ml_mp_out_int(&o, port);
    ml_mp_out_key(&o, "Zone");
    ml_mp_out_str(&o, "", 0);
    ml_mp_out_raw(&o, msg, mlen);
    return ml_mp_out_finish(&o, len, "serf relay encode", e);
}

int serf_relay_decode(const uint8_t *b, size_t len, uint8_t *ip, size_t *ip_len, uint16_t *port,
                      const uint8_t **msg, size_t *mlen, struct weft_err *e)
{
    static const char w[] = "serf relay";
    msgpack_unpacked u;
    size_t used = 0;
    int64_t pv = 0;
    const msgpack_object *d;
    int rc = -1;
    if (ml_mp_read(&u, b, len, &used, w, e) < 0)
        goto out;
    if (u.data.type != MSGPACK_OBJECT_MAP) {
        err_set(e, "%s: header is not a map", w);
        goto out;
    }
    if (ml_mp_field(&u.data, "DestAddr", &d, w, e) < 0)
        goto out;
    if (!d || d->type != MSGPACK_OBJECT_MAP) {
        err_set(e, "%s.DestAddr: not a map", w);
        goto out;
    }
    if (ml_mp_get_bytes(d, "IP", ip, ML_ADDR_MAX, ip_len, w, e) < 0 ||
        ml_mp_get_int(d, "Port", &pv, w, e) < 0)
        goto out;
    if ((*ip_len != 4 && *ip_len != 16) || pv <= 0 || pv > 65535) {
        err_set(e, "%s.DestAddr: bad address", w);
        goto out;
    }
    *port = (uint16_t)pv;
    *msg = b + used;
    *mlen = len - used;
    if (*mlen == 0) {
        err_set(e, "%s: no message", w);
        goto out;
    }
    rc = 0;
out:
    ml_mp_done(&u);
    return rc;
}

int serf_conflict_encode(const struct serf_member_rec *m, uint8_t *out, size_t cap, size_t *len,
                         struct weft_err *e)
{
    struct ml_mp_out o;
    ml_mp_out_init(&o, out, cap);
    sm_type(&o, SERF_CONFLICT_RESPONSE);
    if (!m) {
        ml_mp_out_nil(&o);
        return ml_mp_out_finish(&o, len, "serf conflict encode", e);
    }
    ml_mp_out_map(&o, 11);
    ml_mp_out_key(&o, "Addr");
    ml_mp_out_bytes(&o, m->addr, m->addr_len);
    ml_mp_out_key(&o, "DelegateCur");
    ml_mp_out_uint(&o, m->vsn[5]);
    ml_mp_out_key(&o, "DelegateMax");
    ml_mp_out_uint(&o, m->vsn[4]);
    ml_mp_out_key(&o, "DelegateMin");
    ml_mp_out_uint(&o, m->vsn[3]);
    ml_mp_out_key(&o, "Name");
    ml_mp_out_str(&o, m->name, strlen(m->name));
    ml_mp_out_key(&o, "Port");
    ml_mp_out_uint(&o, m->port);
    ml_mp_out_key(&o, "ProtocolCur");
    ml_mp_out_uint(&o, m->vsn[2]);
    ml_mp_out_key(&o, "ProtocolMax");
    ml_mp_out_uint(&o, m->vsn[1]);
    ml_mp_out_key(&o, "ProtocolMin");
    ml_mp_out_uint(&o, m->vsn[0]);
    ml_mp_out_key(&o, "Status");
    ml_mp_out_int(&o, m->status);
    ml_mp_out_key(&o, "Tags");
    ml_mp_out_map(&o, m->ntags);
    for (size_t i = 0; i < m->ntags; i++) {
        ml_mp_out_str(&o, m->tags[i].key, strlen(m->tags[i].key));
        ml_mp_out_str(&o, m->tags[i].value, strlen(m->tags[i].value));
    }
    return ml_mp_out_finish(&o, len, "serf conflict encode", e);
}
