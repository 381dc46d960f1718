/*
 * table: the records of one node in a chained hash map on (kind, name), see
 * table.h. Each record is one allocation (struct entry followed by its
 * strings and body), replaced whole when a newer version arrives, so a view
 * handed out stays valid until the next change.
 *
 * Invariants:
 *   digest            == XOR of e->rec_hash over all entries
 *   bucket_digest[b]  == XOR of e->rec_hash over entries with bucket b
 *   bucket_count[b]   == number of entries with bucket b; their sum == count
 *   the chain of slot i holds exactly the entries with key_hash & mask == i
 */
#include "mesh/table.h"

#include <stdlib.h>
#include <string.h>

/* Slots double when the table holds more entries than slots. */
#define SLOTS_MIN 64

struct entry {
    struct entry *next; /* chain */
    uint64_t key_hash;
    uint64_t rec_hash;
    struct mesh_record rec; /* its pointers point into data[] */
    char data[];
};

struct mesh_table {
    struct entry **slots;
    size_t nslots; /* a power of two */
    size_t count;
    uint64_t digest;
    uint64_t bucket_digest[MESH_BUCKETS];
    size_t bucket_count[MESH_BUCKETS];
    uint64_t gc_floor;
    struct mesh_hlc hlc;
    struct mesh_table_counters ctr;
    mesh_table_accept_fn accept; /* hooks (mesh_table_set_hooks); NULL: none */
    mesh_table_applied_fn applied;
    void *hook_arg;
};

void mesh_table_set_hooks(struct mesh_table *t, mesh_table_accept_fn accept,
                          mesh_table_applied_fn applied, void *arg)
{
    t->accept = accept;
    t->applied = applied;
    t->hook_arg = arg;
}

struct mesh_table *mesh_table_new(uint64_t hlc_persisted)
{
    struct mesh_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->slots = calloc(SLOTS_MIN, sizeof(*t->slots));
    if (!t->slots) {
        free(t);
        return NULL;
    }
    t->nslots = SLOTS_MIN;
    mesh_hlc_init(&t->hlc, hlc_persisted);
    return t;
}

void mesh_table_free(struct mesh_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nslots; i++) {
        struct entry *e = t->slots[i], *next;
        for (; e; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(t->slots);
    free(t);
}

/* A copy of rec in one allocation. */
static struct entry *entry_new(const struct mesh_record *rec, uint64_t key_hash)
{
    size_t lk = strlen(rec->kind) + 1, ln = strlen(rec->name) + 1, lw = strlen(rec->writer) + 1;
    struct entry *e = malloc(sizeof(*e) + lk + ln + lw + rec->body_len);
    if (!e)
        return NULL;
    char *p = e->data;
    e->next = NULL;
    e->key_hash = key_hash;
    e->rec = *rec;
    e->rec.kind = memcpy(p, rec->kind, lk);
    p += lk;
    e->rec.name = memcpy(p, rec->name, ln);
    p += ln;
    e->rec.writer = memcpy(p, rec->writer, lw);
    p += lw;
    e->rec.body = rec->body_len ? memcpy(p, rec->body, rec->body_len) : NULL;
    e->rec_hash = mesh_record_hash(&e->rec);
    return e;
}

/* The link that points at the entry for the key (or at the NULL ending its chain). */
static struct entry **find(const struct mesh_table *t, const char *kind, const char *name,
                           uint64_t h)
{
    struct entry **pp = &t->slots[h & (t->nslots - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->key_hash == h && strcmp((*pp)->rec.kind, kind) == 0 &&
            strcmp((*pp)->rec.name, name) == 0)
            break;
    return pp;
}

/* Double the slots; on OOM keep the longer chains (still correct). */
static void grow(struct mesh_table *t)
{
    size_t n = t->nslots * 2;
    struct entry **slots = calloc(n, sizeof(*slots));
    if (!slots)
        return;
    for (size_t i = 0; i < t->nslots; i++) {
        struct entry *e = t->slots[i], *next;
        for (; e; e = next) {
            next = e->next;
            e->next = slots[e->key_hash & (n - 1)];
            slots[e->key_hash & (n - 1)] = e;
        }
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = n;
}

static void account(struct mesh_table *t, const struct entry *e, int sign)
{
    unsigned b = (unsigned)(e->key_hash >> 56);
    t->digest ^= e->rec_hash;
    t->bucket_digest[b] ^= e->rec_hash;
    if (sign > 0) {
        t->bucket_count[b]++;
        t->count++;
    } else {
        t->bucket_count[b]--;
        t->count--;
    }
}

/* Keep rec if it is newer than what the table holds (rec is valid, its
 * stamp already seen by the clock). */
static enum mesh_merge apply(struct mesh_table *t, const struct mesh_record *rec,
                             struct weft_err *e)
{
    uint64_t h = mesh_key_hash(rec->kind, rec->name);
    struct entry **pp = find(t, rec->kind, rec->name, h);
    if (rec->deleted && rec->hlc < t->gc_floor) {
        t->ctr.ignored++;
        t->ctr.expired++;
        return MESH_MERGE_IGNORED;
    }
    if (*pp && mesh_record_cmp(rec, &(*pp)->rec) <= 0) {
        t->ctr.ignored++;
        return MESH_MERGE_IGNORED;
    }
    struct entry *ne = entry_new(rec, h);
    if (!ne) {
        err_set(e, "out of memory");
        return MESH_MERGE_NOMEM;
    }
    if (*pp) {
        struct entry *old = *pp;
        account(t, old, -1);
        ne->next = old->next;
        free(old);
        *pp = ne;
    } else {
        *pp = ne;
        if (t->count + 1 > t->nslots)
            grow(t); /* relinks every entry, ne included */
    }
    account(t, ne, +1);
    t->ctr.merged++;
    if (t->applied)
        t->applied(t->hook_arg, &ne->rec);
    return MESH_MERGE_APPLIED;
}

enum mesh_merge mesh_table_merge(struct mesh_table *t, const struct mesh_record *rec,
                                 int64_t wall_ms, struct weft_err *e)
{
    if (mesh_record_check(rec, e) < 0) {
        t->ctr.refused++;
        return MESH_MERGE_REFUSED;
    }
    if (t->accept && !t->accept(t->hook_arg, rec, e)) {
        t->ctr.refused++;
        t->ctr.denied++;
        return MESH_MERGE_REFUSED;
    }
    if (mesh_hlc_recv(&t->hlc, rec->hlc, wall_ms, e) < 0) {
        err_prefix(e, "%s/%s", rec->kind, rec->name);
        t->ctr.refused++;
        t->ctr.drift++;
        return MESH_MERGE_REFUSED;
    }
    return apply(t, rec, e);
}

int mesh_table_write(struct mesh_table *t, const char *kind, const char *name, const char *writer,
                     const void *body, size_t body_len, bool deleted, int64_t wall_ms,
                     uint64_t *hlc, struct weft_err *e)
{
    struct mesh_record r = {
        .kind = kind,
        .name = name,
        .writer = writer,
        .deleted = deleted,
        .body = body,
        .body_len = body_len,
    };
    if (mesh_record_check(&r, e) < 0)
        return -1;
    r.hlc = mesh_hlc_now(&t->hlc, wall_ms);
    /* A fresh stamp is newer than anything held (the clock has seen every
     * merged stamp), so this applies unless memory runs out. */
    enum mesh_merge m = apply(t, &r, e);
    if (m != MESH_MERGE_APPLIED)
        return m == MESH_MERGE_NOMEM ? -1
                                     : err_set(e, "%s/%s: local write not applied", kind, name);
    if (hlc)
        *hlc = r.hlc;
    return 0;
}

bool mesh_table_get(const struct mesh_table *t, const char *kind, const char *name,
                    struct mesh_record *out)
{
    struct entry *en = *find(t, kind, name, mesh_key_hash(kind, name));
    if (en && out)
        *out = en->rec;
    return en != NULL;
}

size_t mesh_table_count(const struct mesh_table *t)
{
    return t->count;
}

uint64_t mesh_table_digest(const struct mesh_table *t)
{
    return t->digest;
}

uint64_t mesh_table_bucket_digest(const struct mesh_table *t, unsigned b)
{
    return b < MESH_BUCKETS ? t->bucket_digest[b] : 0;
}

size_t mesh_table_bucket_count(const struct mesh_table *t, unsigned b)
{
    return b < MESH_BUCKETS ? t->bucket_count[b] : 0;
}

struct mesh_hlc *mesh_table_hlc(struct mesh_table *t)
{
    return &t->hlc;
}

const struct mesh_table_counters *mesh_table_counters(const struct mesh_table *t)
{
    return &t->ctr;
}

uint64_t mesh_table_gc_floor(const struct mesh_table *t)
{
    return t->gc_floor;
}

size_t mesh_table_gc(struct mesh_table *t, int64_t now_ms, int64_t horizon_ms)
{
    if (horizon_ms < 0 || now_ms - horizon_ms <= 0)
        return 0;
    uint64_t cutoff = mesh_hlc_make(now_ms - horizon_ms, 0);
    if (cutoff > t->gc_floor)
        t->gc_floor = cutoff;
    size_t dropped = 0;
    for (size_t i = 0; i < t->nslots; i++) {
        struct entry **pp = &t->slots[i];
        while (*pp) {
            struct entry *en = *pp;
            if (en->rec.deleted && en->rec.hlc < t->gc_floor) {
                *pp = en->next;
                account(t, en, -1);
                free(en);
                dropped++;
            } else {
                pp = &en->next;
            }
        }
    }
    t->ctr.gcd += dropped;
    return dropped;
}

/* ---- ordered walks ------------------------------------------------------------------------- */

static int cmp_key(const void *a, const void *b)
{
    const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
    return mesh_key_cmp(x->rec.kind, x->rec.name, y->rec.kind, y->rec.name);
}

static int cmp_bucket_key(const void *a, const void *b)
{
    const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
    unsigned bx = (unsigned)(x->key_hash >> 56), by = (unsigned)(y->key_hash >> 56);
    if (bx != by)
        return bx < by ? -1 : 1;
    return mesh_key_cmp(x->rec.kind, x->rec.name, y->rec.kind, y->rec.name);
}

/* Collect the entries `keep` accepts into a sorted array, then call fn on each. */
static int walk(const struct mesh_table *t, bool (*keep)(const struct entry *, const void *),
                const void *karg, int (*cmp)(const void *, const void *), mesh_table_fn fn,
                void *arg)
{
    if (t->count == 0)
        return 0;
    const struct entry **v = malloc(t->count * sizeof(*v));
    if (!v)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < t->nslots; i++)
        for (const struct entry *en = t->slots[i]; en; en = en->next)
            if (keep(en, karg))
                v[n++] = en;
    qsort(v, n, sizeof(*v), cmp);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = fn(&v[i]->rec, arg);
    free(v);
    return rc;
}

static bool keep_kind(const struct entry *en, const void *kind)
{
    return !kind || strcmp(en->rec.kind, kind) == 0;
}

int mesh_table_foreach(const struct mesh_table *t, const char *kind, mesh_table_fn fn, void *arg)
{
    return walk(t, keep_kind, kind, cmp_key, fn, arg);
}

struct bucket_filter {
    const uint8_t *mask;
    int after_bucket;
    const char *after_kind, *after_name;
};

static bool keep_bucket(const struct entry *en, const void *arg)
{
    const struct bucket_filter *f = arg;
    int b = (int)(en->key_hash >> 56);
    if (!(f->mask[b / 8] & (1u << (b % 8))))
        return false;
    if (!f->after_kind || b > f->after_bucket)
        return true;
    return b == f->after_bucket &&
           mesh_key_cmp(en->rec.kind, en->rec.name, f->after_kind, f->after_name) > 0;
}

int mesh_table_foreach_buckets(const struct mesh_table *t, const uint8_t mask[MESH_BUCKETS / 8],
                               int after_bucket, const char *after_kind, const char *after_name,
                               mesh_table_fn fn, void *arg)
{
    struct bucket_filter f = {mask, after_bucket, after_kind, after_kind ? after_name : NULL};
    if (after_kind && !after_name)
        f.after_name = "";
    return walk(t, keep_bucket, &f, cmp_bucket_key, fn, arg);
}
