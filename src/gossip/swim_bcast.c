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

static void bq_remove_at(struct swim_bqueue *q, size_t i)
{
    free(q->v[i]);
    memmove(&q->v[i], &q->v[i + 1], (q->n - i - 1) * sizeof(q->v[0]));
    q->n--;
}

int swim_bq_init(struct swim_bqueue *q, size_t cap)
{
    memset(q, 0, sizeof(*q));
    q->v = calloc(cap ? cap : 1, sizeof(q->v[0]));
    if (!q->v)
        return -1;
    q->cap = cap ? cap : 1;
    q->min_len = SIZE_MAX;
    return 0;
}

void swim_bq_deinit(struct swim_bqueue *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->v[i]);
    free(q->v);
    memset(q, 0, sizeof(*q));
}

static uint64_t bq_hash(const char *name)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * UINT64_C(0x100000001b3);
    return h;
}

int swim_bq_push(struct swim_bqueue *q, const char *node, const uint8_t *msg, size_t len,
                 bool leave)
{
    int rc = 0;
    uint64_t h = bq_hash(node);
    for (size_t i = 0; i < q->n; i++) {
        if (q->v[i]->node_hash == h && strcmp(q->v[i]->node, node) == 0) {
            bq_remove_at(q, i);
            break; /* at most one entry per node: pushes keep it so */
        }
    }
    if (q->n == q->cap) {
        bq_remove_at(q, q->n - 1);
        rc = 1;
    }
    struct swim_bcast *b = malloc(sizeof(*b) + len);
    if (!b)
        return -1;
    size_t nl = strlen(node);
    if (nl > ML_NAME_MAX)
        nl = ML_NAME_MAX;
    memcpy(b->node, node, nl);
    b->node[nl] = '\0';
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
    size_t j = q->n;
    while (j > 0 && bq_before(b, q->v[j - 1])) {
        q->v[j] = q->v[j - 1];
        j--;
    }
    q->v[j] = b;
    q->n++;
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
        if (sent[k]->transmits >= limit)
            free(sent[k]);
        else
            bq_insert(q, sent[k]);
    }
    return taken;
}
