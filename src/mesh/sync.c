/*
 * sync: the anti-entropy messages, their strict decoders, the plan that
 * compares a page of the peer's listing with our table, and the two roles
 * (see sync.h for the exchange). JSON is written by hand with
 * json_escape() so each item can be measured against the budget before it
 * goes in; it is read with core/jsonv.
 */
#include "mesh/sync.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/jsonv.h"

static const char *const type_names[MESH_SYNC_TYPE_MAX] = {"summary", "list_req", "list",
                                                           "records"};

const char *mesh_sync_type_name(enum mesh_sync_type t)
{
    return (unsigned)t < MESH_SYNC_TYPE_MAX ? type_names[t] : "?";
}

/* ---- small helpers ------------------------------------------------------------------------- */

static const char hexd[] = "0123456789abcdef";

static void put_hex64(struct sbuf *out, uint64_t v)
{
    char h[19];
    h[0] = '"';
    for (int i = 0; i < 16; i++)
        h[1 + i] = hexd[(v >> (60 - 4 * i)) & 15];
    h[17] = '"';
    sbuf_append(out, h, 18);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* upper case is refused: one spelling per value */
}

static bool get_hex64(const struct jsonv *v, uint64_t *out)
{
    const char *s = jsonv_str(v, NULL);
    if (!s || strlen(s) != 16)
        return false;
    uint64_t x = 0;
    for (int i = 0; i < 16; i++) {
        int d = hexval(s[i]);
        if (d < 0)
            return false;
        x = x << 4 | (uint64_t)d;
    }
    *out = x;
    return true;
}

static void put_mask(struct sbuf *out, const uint8_t mask[MESH_SYNC_MASK_BYTES])
{
    char h[2 * MESH_SYNC_MASK_BYTES + 2];
    h[0] = '"';
    for (int i = 0; i < MESH_SYNC_MASK_BYTES; i++) {
        h[1 + 2 * i] = hexd[mask[i] >> 4];
        h[2 + 2 * i] = hexd[mask[i] & 15];
    }
    h[sizeof(h) - 1] = '"';
    sbuf_append(out, h, sizeof(h));
}

static bool get_mask(const struct jsonv *v, uint8_t mask[MESH_SYNC_MASK_BYTES])
{
    const char *s = jsonv_str(v, NULL);
    if (!s || strlen(s) != 2 * MESH_SYNC_MASK_BYTES)
        return false;
    for (int i = 0; i < MESH_SYNC_MASK_BYTES; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        mask[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool mask_has(const uint8_t mask[MESH_SYNC_MASK_BYTES], int b)
{
    return b >= 0 && b < MESH_BUCKETS && (mask[b / 8] & (1u << (b % 8)));
}

/* An unsigned integer member (exact; "1e3" is 1000, "1.5" is not one). */
static bool get_uint(const struct jsonv *v, uint64_t *out)
{
    uint64_t a = jsonv_uint(v, 0), b = jsonv_uint(v, 1);
    if (a != b)
        return false;
    *out = a;
    return true;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_base64(struct sbuf *out, const uint8_t *p, size_t n)
{
    char q[4];
    sbuf_append(out, "\"", 1);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        q[0] = b64[v >> 18];
        q[1] = b64[(v >> 12) & 63];
        q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? b64[v & 63] : '=';
        sbuf_append(out, q, 4);
    }
    sbuf_append(out, "\"", 1);
}

static int b64val(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

/* Strict base64 (RFC 4648, padded, no line breaks, unused bits zero) into
 * out (room for 3/4 of the text); returns the length or -1. */
static long get_base64(const char *s, uint8_t *out)
{
    size_t n = strlen(s), o = 0;
    if (n % 4)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else {
                if (pad)
                    return -1; /* data after padding */
                v[k] = b64val(s[i + k]);
                if (v[k] < 0)
                    return -1;
            }
        }
        uint32_t x =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        if ((pad == 1 && (x & 0xff)) || (pad == 2 && (x & 0xffff)))
            return -1; /* non-canonical: bits set beyond the data */
        out[o++] = (uint8_t)(x >> 16);
        if (pad < 2)
            out[o++] = (uint8_t)(x >> 8);
        if (pad < 1)
            out[o++] = (uint8_t)x;
    }
    return (long)o;
}

/* The object's members must be among `allowed` (NULL-terminated) and
 * include the first `required` of them. */
static int check_members(const struct jsonv *obj, const char *what, const char *const *allowed,
                         size_t required, struct weft_err *e)
{
    if (jsonv_type(obj) != JSONV_OBJECT)
        return err_set(e, "%s: not an object", what);
    for (size_t i = 0; i < jsonv_len(obj); i++) {
        const char *k = jsonv_key_at(obj, i);
        size_t a = 0;
        while (allowed[a] && strcmp(allowed[a], k) != 0)
            a++;
        if (!allowed[a]) {
            char shown[40];
            size_t j = 0;
            for (; k[j] && j < 32; j++)
                shown[j] = (k[j] >= 0x20 && k[j] < 0x7f) ? k[j] : '?';
            shown[j] = '\0';
            return err_set(e, "%s: unknown member \"%s%s\"", what, shown, k[j] ? "..." : "");
        }
    }
    for (size_t a = 0; a < required; a++)
        if (!jsonv_get(obj, allowed[a]))
            return err_set(e, "%s: missing \"%s\"", what, allowed[a]);
    return 0;
}

/* Parse a body: size limit, JSON, an object whose "type" is want. */
static struct jsonv *parse_body(const char *buf, size_t len, enum mesh_sync_type want,
                                struct weft_err *e)
{
    if (len > MESH_SYNC_MSG_MAX) {
        err_set(e, "sync message of %zu bytes over %d", len, MESH_SYNC_MSG_MAX);
        return NULL;
    }
    struct jsonv *root = jsonv_parse(buf, len, e);
    if (!root)
        return NULL;
    const char *t = jsonv_str(jsonv_get(root, "type"), NULL);
    if (jsonv_type(root) != JSONV_OBJECT || !t || strcmp(t, type_names[want]) != 0) {
        err_set(e, "not a sync %s message", type_names[want]);
        jsonv_free(root);
        return NULL;
    }
    return root;
}

/* Parse a body of any type: size limit, JSON, a known "type". */
static struct jsonv *parse_any(const char *buf, size_t len, enum mesh_sync_type *out,
                               struct weft_err *e)
{
    if (len > MESH_SYNC_MSG_MAX) {
        err_set(e, "sync message of %zu bytes over %d", len, MESH_SYNC_MSG_MAX);
        return NULL;
    }
    struct jsonv *root = jsonv_parse(buf, len, e);
    if (!root)
        return NULL;
    const char *t = jsonv_str(jsonv_get(root, "type"), NULL);
    for (int i = 0; t && i < MESH_SYNC_TYPE_MAX; i++)
        if (strcmp(t, type_names[i]) == 0) {
            *out = (enum mesh_sync_type)i;
            return root;
        }
    err_set(e, "sync message without a known \"type\"");
    jsonv_free(root);
    return NULL;
}

int mesh_sync_type_of(const char *buf, size_t len, enum mesh_sync_type *out, struct weft_err *e)
{
    struct jsonv *root = parse_any(buf, len, out, e);
    jsonv_free(root);
    return root ? 0 : -1;
}

/* A key from {"k":..,"n":..} (plus other allowed members checked by the caller). */
static int get_key(const struct jsonv *o, const char *what, struct mesh_sync_key *k,
                   struct weft_err *e)
{
    const char *kind = jsonv_str(jsonv_get(o, "k"), NULL);
    const char *name = jsonv_str(jsonv_get(o, "n"), NULL);
    if (!kind || !name)
        return err_set(e, "%s: \"k\" and \"n\" must be strings", what);
    if (mesh_kind_check(kind, e) < 0 || mesh_name_check(name, e) < 0)
        return err_prefix(e, "%s", what);
    memcpy(k->kind, kind, strlen(kind) + 1);
    memcpy(k->name, name, strlen(name) + 1);
    return 0;
}

static void put_key(struct sbuf *out, const char *kind, const char *name)
{
    sbuf_puts(out, "\"k\":");
    json_escape(out, kind);
    sbuf_puts(out, ",\"n\":");
    json_escape(out, name);
}

static void put_pos(struct sbuf *out, const struct mesh_sync_pos *p)
{
    sbuf_printf(out, "{\"b\":%d,", p->bucket);
    put_key(out, p->key.kind, p->key.name);
    sbuf_puts(out, "}");
}

static int get_pos(const struct jsonv *v, const char *what, struct mesh_sync_pos *p,
                   struct weft_err *e)
{
    static const char *const m[] = {"b", "k", "n", NULL};
    uint64_t b;
    if (check_members(v, what, m, 3, e) < 0)
        return -1;
    if (!get_uint(jsonv_get(v, "b"), &b) || b >= MESH_BUCKETS)
        return err_set(e, "%s: \"b\" must be a bucket 0-%d", what, MESH_BUCKETS - 1);
    if (get_key(v, what, &p->key, e) < 0)
        return -1;
    if (mesh_key_bucket(p->key.kind, p->key.name) != b)
        return err_set(e, "%s: %s/%s is not in bucket %u", what, p->key.kind, p->key.name,
                       (unsigned)b);
    p->bucket = (int)b;
    return 0;
}

static int pos_cmp(int ba, const char *ka, const char *na, int bb, const char *kb, const char *nb)
{
    if (ba != bb)
        return ba < bb ? -1 : 1;
    return mesh_key_cmp(ka, na, kb, nb);
}

static int oom(struct weft_err *e)
{
    return err_set(e, "out of memory");
}

/* ---- summary ------------------------------------------------------------------------------- */

void mesh_sync_summary_of(const struct mesh_table *t, struct mesh_sync_summary *s)
{
    s->digest = mesh_table_digest(t);
    s->count = mesh_table_count(t);
    for (unsigned b = 0; b < MESH_BUCKETS; b++)
        s->buckets[b] = mesh_table_bucket_digest(t, b);
}

int mesh_sync_summary_encode(const struct mesh_sync_summary *s, struct sbuf *out)
{
    sbuf_puts(out, "{\"type\":\"summary\",\"digest\":");
    put_hex64(out, s->digest);
    sbuf_printf(out, ",\"count\":%" PRIu64 ",\"buckets\":\"", s->count);
    for (unsigned b = 0; b < MESH_BUCKETS; b++) {
        char h[16];
        for (int i = 0; i < 16; i++)
            h[i] = hexd[(s->buckets[b] >> (60 - 4 * i)) & 15];
        sbuf_append(out, h, 16);
    }
    sbuf_puts(out, "\"}");
    return out->oom ? -1 : 0;
}

static int summary_from(const struct jsonv *root, struct mesh_sync_summary *out, struct weft_err *e)
{
    static const char *const m[] = {"type", "digest", "count", "buckets", NULL};
    if (check_members(root, "summary", m, 4, e) < 0)
        return -1;
    if (!get_hex64(jsonv_get(root, "digest"), &out->digest))
        return err_set(e, "summary: \"digest\" must be 16 lower-case hex digits");
    if (!get_uint(jsonv_get(root, "count"), &out->count))
        return err_set(e, "summary: \"count\" must be an unsigned integer");
    const char *bk = jsonv_str(jsonv_get(root, "buckets"), NULL);
    if (!bk || strlen(bk) != 16 * MESH_BUCKETS)
        return err_set(e, "summary: \"buckets\" must be %d digests of 16 hex digits", MESH_BUCKETS);
    uint64_t x = 0;
    for (unsigned b = 0; b < MESH_BUCKETS; b++) {
        uint64_t v = 0;
        for (int i = 0; i < 16; i++) {
            int d = hexval(bk[16 * b + (unsigned)i]);
            if (d < 0)
                return err_set(e, "summary: bucket %u must be 16 lower-case hex digits", b);
            v = v << 4 | (uint64_t)d;
        }
        out->buckets[b] = v;
        x ^= v;
    }
    if (x != out->digest)
        return err_set(e, "summary: \"digest\" is not the XOR of the buckets");
    return 0;
}

int mesh_sync_summary_decode(const char *buf, size_t len, struct mesh_sync_summary *out,
                             struct weft_err *e)
{
    struct jsonv *root = parse_body(buf, len, MESH_SYNC_SUMMARY, e);
    if (!root)
        return -1;
    int rc = summary_from(root, out, e);
    jsonv_free(root);
    return rc;
}

size_t mesh_sync_diff(const struct mesh_sync_summary *a, const struct mesh_sync_summary *b,
                      uint8_t mask[MESH_SYNC_MASK_BYTES])
{
    size_t n = 0;
    memset(mask, 0, MESH_SYNC_MASK_BYTES);
    for (unsigned i = 0; i < MESH_BUCKETS; i++)
        if (a->buckets[i] != b->buckets[i]) {
            mask[i / 8] |= (uint8_t)(1u << (i % 8));
            n++;
        }
    return n;
}

/* ---- listing ------------------------------------------------------------------------------- */

int mesh_sync_list_req_encode(const uint8_t mask[MESH_SYNC_MASK_BYTES],
                              const struct mesh_sync_pos *after, struct sbuf *out)
{
    sbuf_puts(out, "{\"type\":\"list_req\",\"mask\":");
    put_mask(out, mask);
    if (after && after->bucket >= 0) {
        sbuf_puts(out, ",\"after\":");
        put_pos(out, after);
    }
    sbuf_puts(out, "}");
    return out->oom ? -1 : 0;
}

static int list_req_from(const struct jsonv *root, uint8_t mask[MESH_SYNC_MASK_BYTES],
                         struct mesh_sync_pos *after, struct weft_err *e)
{
    static const char *const m[] = {"type", "mask", "after", NULL};
    if (check_members(root, "list_req", m, 2, e) < 0)
        return -1;
    if (!get_mask(jsonv_get(root, "mask"), mask))
        return err_set(e, "list_req: \"mask\" must be %d lower-case hex digits",
                       2 * MESH_SYNC_MASK_BYTES);
    memset(after, 0, sizeof(*after));
    after->bucket = -1;
    const struct jsonv *a = jsonv_get(root, "after");
    if (a && get_pos(a, "list_req: after", after, e) < 0)
        return -1;
    return 0;
}

int mesh_sync_list_req_decode(const char *buf, size_t len, uint8_t mask[MESH_SYNC_MASK_BYTES],
                              struct mesh_sync_pos *after, struct weft_err *e)
{
    struct jsonv *root = parse_body(buf, len, MESH_SYNC_LIST_REQ, e);
    if (!root)
        return -1;
    int rc = list_req_from(root, mask, after, e);
    jsonv_free(root);
    return rc;
}

/* Room kept for the closing of a list: "],\"next\":POS}". */
#define LIST_TAIL_MAX (32 + MESH_KIND_MAX * 6 + MESH_NAME_MAX * 6)

struct list_enc {
    struct sbuf *out;
    struct sbuf item;
    size_t budget, n;
    struct mesh_sync_pos last;
    bool more;
};

static int list_item(const struct mesh_record *r, void *arg)
{
    struct list_enc *le = arg;
    struct sbuf *it = &le->item;
    sbuf_reset(it);
    sbuf_puts(it, le->n ? ",{" : "{");
    put_key(it, r->kind, r->name);
    sbuf_printf(it, ",\"h\":%" PRIu64 ",\"w\":", r->hlc);
    json_escape(it, r->writer);
    sbuf_puts(it, r->deleted ? ",\"d\":true}" : ",\"d\":false}");
    if (it->oom)
        return -1;
    if (le->out->len + it->len + LIST_TAIL_MAX > le->budget) {
        le->more = true;
        return 1;
    }
    sbuf_append(le->out, it->data, it->len);
    le->n++;
    le->last.bucket = (int)mesh_key_bucket(r->kind, r->name);
    memcpy(le->last.key.kind, r->kind, strlen(r->kind) + 1);
    memcpy(le->last.key.name, r->name, strlen(r->name) + 1);
    return 0;
}

int mesh_sync_list_encode(const struct mesh_table *t, const uint8_t mask[MESH_SYNC_MASK_BYTES],
                          const struct mesh_sync_pos *after, size_t budget, struct sbuf *out,
                          struct weft_err *e)
{
    if (budget < MESH_SYNC_BUDGET_MIN)
        return err_set(e, "sync budget %zu below %d", budget, MESH_SYNC_BUDGET_MIN);
    struct sbuf body;
    sbuf_init(&body);
    struct list_enc le = {.out = &body, .budget = budget};
    sbuf_init(&le.item);
    sbuf_puts(&body, "{\"type\":\"list\",\"mask\":");
    put_mask(&body, mask);
    bool from_start = !after || after->bucket < 0;
    if (!from_start) {
        sbuf_puts(&body, ",\"after\":");
        put_pos(&body, after);
    }
    sbuf_puts(&body, ",\"entries\":[");
    int rc = mesh_table_foreach_buckets(t, mask, from_start ? -1 : after->bucket,
                                        from_start ? NULL : after->key.kind,
                                        from_start ? NULL : after->key.name, list_item, &le);
    sbuf_deinit(&le.item);
    if (rc < 0) {
        sbuf_deinit(&body);
        return oom(e);
    }
    sbuf_puts(&body, "]");
    if (le.more) {
        sbuf_puts(&body, ",\"next\":");
        put_pos(&body, &le.last);
    }
    sbuf_puts(&body, "}");
    if (body.oom) {
        sbuf_deinit(&body);
        return oom(e);
    }
    sbuf_append(out, body.data, body.len);
    sbuf_deinit(&body);
    return out->oom ? oom(e) : 0;
}

void mesh_sync_list_deinit(struct mesh_sync_list *l)
{
    free(l->entries);
    jsonv_free(l->root);
    memset(l, 0, sizeof(*l));
}

static int list_from(struct mesh_sync_list *l, struct weft_err *e)
{
    static const char *const m[] = {"type", "mask", "entries", "after", "next", NULL};
    static const char *const em[] = {"k", "n", "h", "w", "d", NULL};
    const struct jsonv *root = l->root;
    if (check_members(root, "list", m, 3, e) < 0)
        return -1;
    if (!get_mask(jsonv_get(root, "mask"), l->mask))
        return err_set(e, "list: \"mask\" must be %d lower-case hex digits",
                       2 * MESH_SYNC_MASK_BYTES);
    l->after.bucket = -1;
    if (jsonv_get(root, "after") && get_pos(jsonv_get(root, "after"), "list: after", &l->after, e))
        return -1;
    const struct jsonv *ents = jsonv_get(root, "entries");
    if (jsonv_type(ents) != JSONV_ARRAY)
        return err_set(e, "list: \"entries\" must be an array");
    size_t n = jsonv_len(ents);
    if (n) {
        l->entries = calloc(n, sizeof(*l->entries));
        if (!l->entries)
            return oom(e);
    }
    int pb = l->after.bucket;
    const char *pk = l->after.key.kind, *pn = l->after.key.name;
    for (size_t i = 0; i < n; i++) {
        const struct jsonv *o = jsonv_at(ents, i);
        struct mesh_sync_entry *en = &l->entries[i];
        char what[48];
        snprintf(what, sizeof(what), "list: entry %zu", i);
        if (check_members(o, what, em, 5, e) < 0)
            return -1;
        en->rec.kind = jsonv_str(jsonv_get(o, "k"), NULL);
        en->rec.name = jsonv_str(jsonv_get(o, "n"), NULL);
        en->rec.writer = jsonv_str(jsonv_get(o, "w"), NULL);
        const struct jsonv *d = jsonv_get(o, "d");
        if (!en->rec.kind || !en->rec.name || !en->rec.writer ||
            !get_uint(jsonv_get(o, "h"), &en->rec.hlc) || jsonv_type(d) != JSONV_BOOL)
            return err_set(e, "%s: wrong member types", what);
        en->rec.deleted = jsonv_bool(d, false);
        if (mesh_record_check(&en->rec, e) < 0)
            return err_prefix(e, "%s", what);
        en->bucket = (int)mesh_key_bucket(en->rec.kind, en->rec.name);
        if (!mask_has(l->mask, en->bucket))
            return err_set(e, "%s: bucket %d is not in the mask", what, en->bucket);
        if (pb >= 0 && pos_cmp(en->bucket, en->rec.kind, en->rec.name, pb, pk, pn) <= 0)
            return err_set(e, "%s: out of order", what);
        pb = en->bucket;
        pk = en->rec.kind;
        pn = en->rec.name;
    }
    l->n = n;
    const struct jsonv *next = jsonv_get(root, "next");
    if (next) {
        if (get_pos(next, "list: next", &l->next, e) < 0)
            return -1;
        if (n == 0 || pos_cmp(l->next.bucket, l->next.key.kind, l->next.key.name, pb, pk, pn))
            return err_set(e, "list: \"next\" is not the last entry");
        l->more = true;
    }
    return 0;
}

int mesh_sync_list_decode(const char *buf, size_t len, struct mesh_sync_list *out,
                          struct weft_err *e)
{
    memset(out, 0, sizeof(*out));
    out->root = parse_body(buf, len, MESH_SYNC_LIST, e);
    if (!out->root)
        return -1;
    return list_from(out, e);
}

/* ---- plan ---------------------------------------------------------------------------------- */

struct collect {
    const struct mesh_sync_list *l;
    struct mesh_record *v;
    int *bucket;
    size_t n, cap;
};

static int collect_one(const struct mesh_record *r, void *arg)
{
    struct collect *c = arg;
    int b = (int)mesh_key_bucket(r->kind, r->name);
    if (c->l->more && pos_cmp(b, r->kind, r->name, c->l->next.bucket, c->l->next.key.kind,
                              c->l->next.key.name) > 0)
        return 1; /* past the page */
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        struct mesh_record *v = realloc(c->v, cap * sizeof(*v));
        if (!v)
            return -1;
        c->v = v;
        int *bk = realloc(c->bucket, cap * sizeof(*bk));
        if (!bk)
            return -1;
        c->bucket = bk;
        c->cap = cap;
    }
    c->v[c->n] = *r;
    c->bucket[c->n++] = b;
    return 0;
}

static int add_key(struct mesh_sync_key **arr, size_t *n, const struct mesh_record *r)
{
    /* Grow by doubling at powers of two. */
    if ((*n & (*n - 1)) == 0) {
        size_t cap = *n ? 2 * *n : 1;
        struct mesh_sync_key *a = realloc(*arr, cap * sizeof(**arr));
        if (!a)
            return -1;
        *arr = a;
    }
    struct mesh_sync_key *k = &(*arr)[(*n)++];
    memcpy(k->kind, r->kind, strlen(r->kind) + 1);
    memcpy(k->name, r->name, strlen(r->name) + 1);
    return 0;
}

int mesh_sync_plan_make(const struct mesh_table *t, const struct mesh_sync_list *l,
                        struct mesh_sync_plan *p, struct weft_err *e)
{
    memset(p, 0, sizeof(*p));
    struct collect c = {.l = l};
    bool from_start = l->after.bucket < 0;
    int rc = mesh_table_foreach_buckets(t, l->mask, l->after.bucket,
                                        from_start ? NULL : l->after.key.kind,
                                        from_start ? NULL : l->after.key.name, collect_one, &c);
    size_t i = 0, j = 0;
    while (rc >= 0 && (i < c.n || j < l->n)) {
        int cmp;
        if (i == c.n)
            cmp = 1;
        else if (j == l->n)
            cmp = -1;
        else
            cmp = pos_cmp(c.bucket[i], c.v[i].kind, c.v[i].name, l->entries[j].bucket,
                          l->entries[j].rec.kind, l->entries[j].rec.name);
        if (cmp < 0) {
            rc = add_key(&p->push, &p->npush, &c.v[i++]);
        } else if (cmp > 0) {
            /* A tombstone we collected already would only be ignored. */
            const struct mesh_record *theirs = &l->entries[j++].rec;
            if (!theirs->deleted || theirs->hlc >= mesh_table_gc_floor(t))
                rc = add_key(&p->want, &p->nwant, theirs);
        } else {
            int newer = mesh_record_cmp(&c.v[i], &l->entries[j].rec);
            if (newer > 0)
                rc = add_key(&p->push, &p->npush, &c.v[i]);
            else if (newer < 0)
                rc = add_key(&p->want, &p->nwant, &l->entries[j].rec);
            i++;
            j++;
        }
    }
    free(c.v);
    free(c.bucket);
    if (rc < 0) {
        mesh_sync_plan_deinit(p);
        return oom(e);
    }
    return 0;
}

void mesh_sync_plan_deinit(struct mesh_sync_plan *p)
{
    free(p->want);
    free(p->push);
    memset(p, 0, sizeof(*p));
}

/* ---- records ------------------------------------------------------------------------------- */

#define RECORDS_HEAD_MAX 64 /* {"type":"records","done":N,"want":[ ... ],"records":[ ... ]} */

int mesh_sync_records_encode(const struct mesh_table *t, bool answer,
                             const struct mesh_sync_key *want, size_t nwant, size_t *wi,
                             const struct mesh_sync_key *push, size_t npush, size_t *pi,
                             size_t budget, struct sbuf *out, struct weft_err *e)
{
    if (budget < MESH_SYNC_BUDGET_MIN)
        return err_set(e, "sync budget %zu below %d", budget, MESH_SYNC_BUDGET_MIN);
    struct sbuf w, r, it;
    sbuf_init(&w);
    sbuf_init(&r);
    sbuf_init(&it);
    size_t used = RECORDS_HEAD_MAX, nw = 0, nr = 0, p0 = *pi;
    bool full = false;
    while (*wi < nwant && !full) {
        sbuf_reset(&it);
        sbuf_puts(&it, nw ? ",{" : "{");
        put_key(&it, want[*wi].kind, want[*wi].name);
        sbuf_puts(&it, "}");
        if (used + it.len > budget) {
            full = true;
            break;
        }
        sbuf_append(&w, it.data, it.len);
        used += it.len;
        nw++;
        (*wi)++;
    }
    while (*pi < npush && !full) {
        struct mesh_record rec;
        if (!mesh_table_get(t, push[*pi].kind, push[*pi].name, &rec)) {
            (*pi)++;
            continue;
        }
        sbuf_reset(&it);
        sbuf_puts(&it, nr ? ",{" : "{");
        put_key(&it, rec.kind, rec.name);
        sbuf_printf(&it, ",\"h\":%" PRIu64 ",\"w\":", rec.hlc);
        json_escape(&it, rec.writer);
        sbuf_puts(&it, rec.deleted ? ",\"d\":true" : ",\"d\":false");
        if (rec.body_len) {
            sbuf_puts(&it, ",\"b\":");
            put_base64(&it, rec.body, rec.body_len);
        }
        sbuf_puts(&it, "}");
        if (used + it.len > budget) {
            full = true;
            break;
        }
        sbuf_append(&r, it.data, it.len);
        used += it.len;
        nr++;
        (*pi)++;
    }
    int rc = 0;
    if (w.oom || r.oom || it.oom) {
        rc = oom(e);
    } else if (nw == 0 && nr == 0 && full) {
        rc = err_set(e, "sync budget %zu too small for one item", budget);
    } else {
        sbuf_printf(out, "{\"type\":\"records\",\"done\":%zu,\"want\":[",
                    answer ? *pi - p0 : (size_t)0);
        sbuf_puts(out, sbuf_str(&w));
        sbuf_puts(out, "],\"records\":[");
        sbuf_puts(out, sbuf_str(&r));
        sbuf_puts(out, "]}");
        if (out->oom)
            rc = oom(e);
    }
    sbuf_deinit(&w);
    sbuf_deinit(&r);
    sbuf_deinit(&it);
    return rc;
}

void mesh_sync_records_deinit(struct mesh_sync_records *r)
{
    free(r->want);
    free(r->recs);
    free(r->bodies);
    jsonv_free(r->root);
    memset(r, 0, sizeof(*r));
}

static int records_from(struct mesh_sync_records *r, size_t len, struct weft_err *e)
{
    static const char *const m[] = {"type", "done", "want", "records", NULL};
    static const char *const km[] = {"k", "n", NULL};
    static const char *const rm[] = {"k", "n", "h", "w", "d", "b", NULL};
    const struct jsonv *root = r->root;
    if (check_members(root, "records", m, 4, e) < 0)
        return -1;
    if (!get_uint(jsonv_get(root, "done"), &r->done))
        return err_set(e, "records: \"done\" must be an unsigned integer");
    const struct jsonv *want = jsonv_get(root, "want"), *recs = jsonv_get(root, "records");
    if (jsonv_type(want) != JSONV_ARRAY || jsonv_type(recs) != JSONV_ARRAY)
        return err_set(e, "records: \"want\" and \"records\" must be arrays");
    size_t nw = jsonv_len(want), nr = jsonv_len(recs);
    if (nw && !(r->want = calloc(nw, sizeof(*r->want))))
        return oom(e);
    if (nr && !(r->recs = calloc(nr, sizeof(*r->recs))))
        return oom(e);
    /* Room for every decoded body: 3 bytes per 4 of base64. */
    size_t room = 0;
    for (size_t i = 0; i < nr; i++)
        room += strlen(jsonv_str(jsonv_get(jsonv_at(recs, i), "b"), "")) / 4 * 3;
    if (room > len)
        return err_set(e, "records: bodies larger than the message"); /* cannot happen */
    if (room && !(r->bodies = malloc(room)))
        return oom(e);
    char what[48];
    for (size_t i = 0; i < nw; i++) {
        snprintf(what, sizeof(what), "records: want %zu", i);
        if (check_members(jsonv_at(want, i), what, km, 2, e) < 0 ||
            get_key(jsonv_at(want, i), what, &r->want[i], e) < 0)
            return -1;
    }
    r->nwant = nw;
    size_t off = 0;
    for (size_t i = 0; i < nr; i++) {
        const struct jsonv *o = jsonv_at(recs, i);
        struct mesh_record *rec = &r->recs[i];
        snprintf(what, sizeof(what), "records: record %zu", i);
        if (check_members(o, what, rm, 5, e) < 0)
            return -1;
        rec->kind = jsonv_str(jsonv_get(o, "k"), NULL);
        rec->name = jsonv_str(jsonv_get(o, "n"), NULL);
        rec->writer = jsonv_str(jsonv_get(o, "w"), NULL);
        const struct jsonv *d = jsonv_get(o, "d"), *b = jsonv_get(o, "b");
        if (!rec->kind || !rec->name || !rec->writer || !get_uint(jsonv_get(o, "h"), &rec->hlc) ||
            jsonv_type(d) != JSONV_BOOL || (b && jsonv_type(b) != JSONV_STRING))
            return err_set(e, "%s: wrong member types", what);
        rec->deleted = jsonv_bool(d, false);
        if (b) {
            const char *s = jsonv_str(b, "");
            if (strlen(s) > (MESH_BODY_MAX + 2) / 3 * 4)
                return err_set(e, "%s: body over %d bytes", what, MESH_BODY_MAX);
            long n = get_base64(s, r->bodies + off);
            if (n <= 0)
                return err_set(e, "%s: \"b\" must be non-empty, canonical base64", what);
            rec->body = r->bodies + off;
            rec->body_len = (size_t)n;
            off += (size_t)n;
        }
        if (mesh_record_check(rec, e) < 0)
            return err_prefix(e, "%s", what);
    }
    r->nrecs = nr;
    return 0;
}

int mesh_sync_records_decode(const char *buf, size_t len, struct mesh_sync_records *out,
                             struct weft_err *e)
{
    memset(out, 0, sizeof(*out));
    out->root = parse_body(buf, len, MESH_SYNC_RECORDS, e);
    if (!out->root)
        return -1;
    return records_from(out, len, e);
}

int mesh_sync_records_apply(struct mesh_table *t, const struct mesh_sync_records *r,
                            int64_t wall_ms, struct mesh_sync_stats *st, struct weft_err *e)
{
    struct mesh_sync_stats dummy;
    struct weft_err one;
    bool first = true;
    if (!st)
        st = &dummy;
    for (size_t i = 0; i < r->nrecs; i++) {
        err_clear(&one);
        switch (mesh_table_merge(t, &r->recs[i], wall_ms, &one)) {
        case MESH_MERGE_APPLIED:
            st->applied++;
            break;
        case MESH_MERGE_IGNORED:
            st->ignored++;
            break;
        case MESH_MERGE_REFUSED:
            st->refused++;
            if (first && e)
                *e = one;
            first = false;
            break;
        case MESH_MERGE_NOMEM:
            return oom(e);
        }
    }
    return 0;
}

/* ---- the responder ------------------------------------------------------------------------- */

int mesh_sync_serve(struct mesh_table *t, const char *req, size_t len, int64_t wall_ms,
                    size_t budget, struct sbuf *out, struct mesh_sync_stats *st, struct weft_err *e)
{
    enum mesh_sync_type type;
    struct jsonv *root = parse_any(req, len, &type, e);
    if (!root)
        return -1;
    int rc = -1;
    if (st) {
        st->requests++;
        st->bytes_in += len;
    }
    size_t out0 = out->len;
    switch (type) {
    case MESH_SYNC_SUMMARY: {
        struct mesh_sync_summary theirs, ours;
        uint8_t mask[MESH_SYNC_MASK_BYTES];
        if (summary_from(root, &theirs, e) < 0)
            break;
        mesh_sync_summary_of(t, &ours);
        mesh_sync_diff(&ours, &theirs, mask);
        rc = mesh_sync_list_encode(t, mask, NULL, budget, out, e);
        break;
    }
    case MESH_SYNC_LIST_REQ: {
        uint8_t mask[MESH_SYNC_MASK_BYTES];
        struct mesh_sync_pos after;
        if (list_req_from(root, mask, &after, e) < 0)
            break;
        rc = mesh_sync_list_encode(t, mask, &after, budget, out, e);
        break;
    }
    case MESH_SYNC_RECORDS: {
        struct mesh_sync_records r = {.root = root};
        size_t wi = 0, pi = 0;
        root = NULL; /* r owns it now */
        if (records_from(&r, len, e) == 0 && mesh_sync_records_apply(t, &r, wall_ms, st, NULL) == 0)
            rc = mesh_sync_records_encode(t, true, NULL, 0, &wi, r.want, r.nwant, &pi, budget, out,
                                          e);
        mesh_sync_records_deinit(&r);
        break;
    }
    default:
        err_set(e, "a sync %s message is not a request", type_names[type]);
        break;
    }
    jsonv_free(root);
    if (rc == 0 && st)
        st->bytes_out += out->len - out0;
    return rc;
}

/* ---- the initiator ------------------------------------------------------------------------- */

enum sess_state { S_START, S_WAIT_LIST, S_RECORDS, S_WAIT_RECORDS, S_DONE };

struct mesh_sync_session {
    struct mesh_table *t; /* borrowed */
    size_t budget;
    enum sess_state state;
    struct mesh_sync_plan plan;
    size_t wi, pi;              /* next want / push to send */
    size_t sent_w0;             /* wants sent in the pending records request: [sent_w0, wi) */
    struct mesh_sync_pos asked; /* the page asked for starts after this */
    uint8_t mask[MESH_SYNC_MASK_BYTES];
    bool more;
    struct mesh_sync_pos next;
    struct mesh_sync_stats st;
};

struct mesh_sync_session *mesh_sync_session_new(struct mesh_table *t, size_t budget)
{
    struct mesh_sync_session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->t = t;
    s->budget = budget ? budget : MESH_SYNC_BUDGET_DEFAULT;
    s->asked.bucket = -1;
    return s;
}

void mesh_sync_session_free(struct mesh_sync_session *s)
{
    if (!s)
        return;
    mesh_sync_plan_deinit(&s->plan);
    free(s);
}

const struct mesh_sync_stats *mesh_sync_session_stats(const struct mesh_sync_session *s)
{
    return &s->st;
}

int mesh_sync_session_next(struct mesh_sync_session *s, struct sbuf *out, struct weft_err *e)
{
    size_t out0 = out->len;
    int rc;
    switch (s->state) {
    case S_START: {
        struct mesh_sync_summary sum;
        mesh_sync_summary_of(s->t, &sum);
        rc = mesh_sync_summary_encode(&sum, out) < 0 ? oom(e) : 0;
        s->state = S_WAIT_LIST;
        break;
    }
    case S_RECORDS:
        if (s->wi < s->plan.nwant || s->pi < s->plan.npush) {
            s->sent_w0 = s->wi;
            rc = mesh_sync_records_encode(s->t, false, s->plan.want, s->plan.nwant, &s->wi,
                                          s->plan.push, s->plan.npush, &s->pi, s->budget, out, e);
            s->state = S_WAIT_RECORDS;
        } else if (s->more) {
            s->asked = s->next;
            rc = mesh_sync_list_req_encode(s->mask, &s->asked, out) < 0 ? oom(e) : 0;
            s->state = S_WAIT_LIST;
        } else {
            s->state = S_DONE;
            return 0;
        }
        break;
    case S_DONE:
        return 0;
    default:
        return err_set(e, "sync session: a reply is pending");
    }
    if (rc < 0) {
        s->state = S_DONE;
        return -1;
    }
    s->st.requests++;
    s->st.bytes_out += out->len - out0;
    return 1;
}

static bool same_pos(const struct mesh_sync_pos *a, const struct mesh_sync_pos *b)
{
    if (a->bucket < 0 || b->bucket < 0)
        return a->bucket < 0 && b->bucket < 0;
    return pos_cmp(a->bucket, a->key.kind, a->key.name, b->bucket, b->key.kind, b->key.name) == 0;
}

static int session_list(struct mesh_sync_session *s, const char *buf, size_t len,
                        struct weft_err *e)
{
    struct mesh_sync_list l;
    int rc = mesh_sync_list_decode(buf, len, &l, e);
    if (rc == 0 && s->asked.bucket >= 0 && memcmp(l.mask, s->mask, sizeof(s->mask)) != 0)
        rc = err_set(e, "list: not the buckets asked for");
    if (rc == 0 && !same_pos(&l.after, &s->asked))
        rc = err_set(e, "list: not the page asked for");
    if (rc == 0) {
        mesh_sync_plan_deinit(&s->plan);
        rc = mesh_sync_plan_make(s->t, &l, &s->plan, e);
    }
    if (rc == 0) {
        memcpy(s->mask, l.mask, sizeof(s->mask));
        s->more = l.more;
        s->next = l.next;
        s->wi = s->pi = 0;
        s->state = S_RECORDS;
    }
    mesh_sync_list_deinit(&l);
    return rc;
}

static int session_records(struct mesh_sync_session *s, const char *buf, size_t len,
                           int64_t wall_ms, struct weft_err *e)
{
    struct mesh_sync_records r;
    int rc = mesh_sync_records_decode(buf, len, &r, e);
    size_t asked = s->wi - s->sent_w0;
    if (rc == 0 && (r.done > asked || (asked > 0 && r.done == 0)))
        rc = err_set(e, "records: answered %" PRIu64 " of %zu wanted keys", r.done, asked);
    if (rc == 0 && r.nwant)
        rc = err_set(e, "records: a reply that wants records");
    if (rc == 0)
        rc = mesh_sync_records_apply(s->t, &r, wall_ms, &s->st, NULL);
    if (rc == 0) {
        s->wi = s->sent_w0 + (size_t)r.done; /* ask again for the rest */
        s->state = S_RECORDS;
    }
    mesh_sync_records_deinit(&r);
    return rc;
}

int mesh_sync_session_reply(struct mesh_sync_session *s, const char *buf, size_t len,
                            int64_t wall_ms, struct weft_err *e)
{
    int rc;
    s->st.bytes_in += len;
    if (s->state == S_WAIT_LIST)
        rc = session_list(s, buf, len, e);
    else if (s->state == S_WAIT_RECORDS)
        rc = session_records(s, buf, len, wall_ms, e);
    else
        rc = err_set(e, "sync session: no request is pending");
    if (rc < 0)
        s->state = S_DONE;
    return rc;
}
