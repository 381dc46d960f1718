/*
 * swim_bcast: the transmit-limited broadcast queue (see swim_bcast.h).
 *
 * A sorted array of pointers. Order (memberlist queue.go's Less): fewer
 * transmits first; then longer messages; then newer (larger id). Taking
 * messages walks the array in order, so fresh news goes first and big
 * messages are not starved by small ones. After a take, the taken entries
 * have one more transmit: they are taken out and put back at their new
 * place by binary search.
 */
#include "gossip/swim_bcast.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool bq_before(const struct swim_bcast *a, const struct swim_bcast *b)
{
    if (a->transmits != b->transmits)
        return a->transmits < b->transmits;
    if (a->len != b->len)
        return a->len > b->len;
    return a->id > b->id;
}

/* --- the node index (linear probing on node_hash) --- */

static size_t bq_slot(const struct swim_bqueue *q, const char *node, uint64_t h)
{
    size_t i = (size_t)h & q->index_mask;
    while (q->index[i] && (q->index[i]->node_hash != h || strcmp(q->index[i]->node, node) != 0))
        i = (i + 1) & q->index_mask;
    return i;
}

/* Remove b from the index: backward-shift deletion, no tombstones. */
static void bq_index_remove(struct swim_bqueue *q, const struct swim_bcast *b)
{
    size_t i = bq_slot(q, b->node, b->node_hash);
    if (q->index[i] != b)
        return;
    q->index[i] = NULL;
    for (size_t j = (i + 1) & q->index_mask; q->index[j]; j = (j + 1) & q->index_mask) {
        size_t home = (size_t)q->index[j]->node_hash & q->index_mask;
        bool in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            q->index[i] = q->index[j];
            q->index[j] = NULL;
            i = j;
        }
    }
}

/* An index of isz (a power of two) slots over the current entries. */
static int bq_index_build(struct swim_bqueue *q, size_t isz)
{
    struct swim_bcast **ix = calloc(isz, sizeof(ix[0]));
    if (!ix)
        return -1;
    free(q->index);
    q->index = ix;
    q->index_mask = isz - 1;
    for (size_t i = 0; i < q->n; i++)
        q->index[bq_slot(q, q->v[i]->node, q->v[i]->node_hash)] = q->v[i];
    return 0;
}

/* Size the arrays for `want` entries: grow to fit, shrink to half when a
 * quarter full. Returns 0, or -1 if growing failed (nothing changed). */
static int bq_fit(struct swim_bqueue *q, size_t want)
{
    size_t vcap = q->vcap;
    while (vcap < want)
        vcap *= 2;
    while (vcap > 16 && 4 * want < vcap)
        vcap /= 2;
    if (vcap > q->cap && q->cap >= want)
        vcap = q->cap > 16 ? q->cap : 16;
    if (vcap != q->vcap) {
        struct swim_bcast **v = realloc(q->v, vcap * sizeof(v[0]));
        if (!v && vcap > q->vcap)
            return -1;
        if (v) {
            q->v = v;
            q->vcap = vcap;
        }
    }
    size_t isz = q->index_mask + 1, want_isz = 16;
    while (4 * want > 3 * want_isz)
        want_isz <<= 1;
    if (want_isz > isz || (isz > 16 && want_isz * 4 <= isz))
        if (bq_index_build(q, want_isz) < 0 && want_isz > isz)
            return -1;
    return 0;
}

/* The place of b in v (binary search: the order is total, ids are unique). */
static size_t bq_pos(const struct swim_bqueue *q, const struct swim_bcast *b)
{
    size_t lo = 0, hi = q->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (bq_before(q->v[mid], b))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void bq_remove_at(struct swim_bqueue *q, size_t i)
{
    bq_index_remove(q, q->v[i]);
    free(q->v[i]);
    memmove(&q->v[i], &q->v[i + 1], (q->n - i - 1) * sizeof(q->v[0]));
    q->n--;
}

int swim_bq_init(struct swim_bqueue *q, size_t cap)
{
    memset(q, 0, sizeof(*q));
    q->cap = cap ? cap : 1;
    q->vcap = 16;
    q->v = calloc(q->vcap, sizeof(q->v[0]));
    if (!q->v || bq_index_build(q, 16) < 0) {
        free(q->v);
        q->v = NULL;
        return -1;
    }
    q->min_len = SIZE_MAX;
    return 0;
}

void swim_bq_deinit(struct swim_bqueue *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->v[i]);
    free(q->v);
    free(q->index);
    memset(q, 0, sizeof(*q));
}

static uint64_t bq_hash(const char *name)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * UINT64_C(0x100000001b3);
    return h;
}

static void bq_insert(struct swim_bqueue *q, struct swim_bcast *b);

int swim_bq_push(struct swim_bqueue *q, const char *node, const uint8_t *msg, size_t len,
                 bool leave)
{
    int rc = 0;
    size_t nl = 0;
    while (nl < ML_NAME_MAX && node[nl])
        nl++;
    char key[ML_NAME_MAX + 1];
    memcpy(key, node, nl);
    key[nl] = '\0';
    uint64_t h = bq_hash(key);
    /* At most one entry per node: pushes keep it so. */
    struct swim_bcast *old = q->index[bq_slot(q, key, h)];
    if (old)
        bq_remove_at(q, bq_pos(q, old));
    if (q->n == q->cap) {
        bq_remove_at(q, q->n - 1);
        rc = 1;
    }
    if (bq_fit(q, q->n + 1) < 0)
        return -1;
    struct swim_bcast *b = malloc(sizeof(*b) + len + nl + 1);
    if (!b)
        return -1;
    char *name = (char *)b->msg + len;
    memcpy(name, key, nl + 1);
    b->node = name;
    b->node_hash = h;
    b->id = q->next_id++;
    b->transmits = 0;
    b->leave = leave;
    b->len = len;
    memcpy(b->msg, msg, len);
    if (len < q->min_len)
        q->min_len = len;
    /* A new entry has 0 transmits and the largest id: its place is among the
     * 0-transmit entries, by length. */
    bq_insert(q, b);
    q->index[bq_slot(q, key, h)] = b;
    return rc;
}

/* Insert b at its place in the sorted array (room for it is there). */
static void bq_insert(struct swim_bqueue *q, struct swim_bcast *b)
{
    size_t lo = 0, hi = q->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (bq_before(b, q->v[mid]))
            hi = mid;
        else
            lo = mid + 1;
    }
    memmove(&q->v[lo + 1], &q->v[lo], (q->n - lo) * sizeof(q->v[0]));
    q->v[lo] = b;
    q->n++;
}

size_t swim_bq_take(struct swim_bqueue *q, size_t room, unsigned limit, uint8_t *buf, size_t bufcap,
                    struct ml_part *parts, size_t max, bool *leave_sent)
{
    size_t idx[ML_COMPOUND_MAX];
    size_t taken = 0, used = 0, misses = 0;
    if (max > ML_COMPOUND_MAX)
        max = ML_COMPOUND_MAX;
    for (size_t i = 0; i < q->n && taken < max; i++) {
        struct swim_bcast *b = q->v[i];
        if (b->len + 2 > room || used + b->len > bufcap) {
            /* memberlist walks the whole queue for something that fits;
             * after 32 misses in a row the packet is as good as full. */
            if (++misses >= 32)
                break;
            continue;
        }
        misses = 0;
        memcpy(buf + used, b->msg, b->len);
        parts[taken].p = buf + used;
        parts[taken].len = b->len;
        used += b->len;
        room -= b->len + 2;
        idx[taken++] = i;
        b->transmits++;
        if (b->leave && leave_sent)
            *leave_sent = true;
        if (room < q->min_len + 2)
            break; /* nothing left fits */
    }
    if (taken == 0)
        return 0;
    /* Take the sent entries out (the rest keeps its order), then put back
     * those still under the limit at their new place. */
    struct swim_bcast *sent[ML_COMPOUND_MAX];
    size_t w = 0, t = 0;
    for (size_t i = 0; i < q->n; i++) {
        if (t < taken && idx[t] == i)
            sent[t++] = q->v[i];
        else
            q->v[w++] = q->v[i];
    }
    q->n = w;
    for (size_t k = 0; k < taken; k++) {
        if (sent[k]->transmits >= limit) {
            bq_index_remove(q, sent[k]);
            free(sent[k]);
        } else {
            bq_insert(q, sent[k]);
        }
    }
    bq_fit(q, q->n); /* only shrinks here: never fails */
    return taken;
}
