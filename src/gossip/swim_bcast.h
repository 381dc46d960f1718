/*
 * swim_bcast: the piggyback broadcast queue (memberlist's
 * TransmitLimitedQueue), internal to the SWIM core.
 *
 * Each entry is one encoded message (alive, suspect, dead, user) about one
 * node. Entries are kept sorted the way memberlist's btree orders them:
 * fewest transmits first, then larger messages, then newer ones. A message
 * is sent at most `limit` times (RetransmitMult * ceil(log10(n + 1))), then
 * dropped. A new message about a node invalidates (removes) the queued one
 * about the same node: only the latest news travels.
 *
 * Bounded: at most `cap` entries; when full, the entry with the most
 * transmits (the end of the order) is dropped. Entries are malloc'd, sized
 * to their message and node name, owned by the queue. The arrays are sized
 * to use: they start small, double as entries come and halve when the
 * queue drains, so an idle node holds a few hundred bytes, not cap slots.
 * A hash index by node makes the invalidation of a push O(1) (plus a
 * binary search for the entry's place), not a walk of the queue.
 */
#ifndef WEFT_GOSSIP_SWIM_BCAST_H
#define WEFT_GOSSIP_SWIM_BCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/ml_msg.h"

struct swim_bcast {
    const char *node;   /* invalidation key: the node the message is about (after msg) */
    uint64_t node_hash; /* FNV-1a of node: compared before the name */
    uint64_t id;        /* insertion order: larger is newer */
    unsigned transmits;
    bool leave; /* our own leave message: swim notes when it went out */
    size_t len;
    uint8_t msg[]; /* the whole typed message */
};

struct swim_bqueue {
    struct swim_bcast **v; /* sorted, vcap slots */
    size_t n;
    size_t vcap;
    size_t cap;                /* the bound (bcast_max) */
    struct swim_bcast **index; /* by node: open addressing, at most 3/4 full */
    size_t index_mask;
    uint64_t next_id;
    size_t min_len; /* a lower bound of every entry's length: a take stops below it */
};

/** An empty queue of at most cap entries. Returns 0 or -1 (no memory). */
int swim_bq_init(struct swim_bqueue *q, size_t cap);
/** Free every entry. Safe after a failed init. */
void swim_bq_deinit(struct swim_bqueue *q);
/**
 * Queue msg[0..len) about node, invalidating the queued one about the same
 * node. Returns 0, 1 if an older entry had to be dropped for room, or -1
 * (no memory; the message is lost, which gossip tolerates).
 */
int swim_bq_push(struct swim_bqueue *q, const char *node, const uint8_t *msg, size_t len,
                 bool leave);
/**
 * Take messages for one packet: in queue order, every message whose len + 2
 * (its compound length field) fits in the room left, at most max of them.
 * Copies them to buf[0..bufcap) and points parts[] at the copies. Each taken
 * message counts one transmit; those reaching limit leave the queue.
 * Returns the number taken; *leave_sent is set if our leave went out.
 */
size_t swim_bq_take(struct swim_bqueue *q, size_t room, unsigned limit, uint8_t *buf, size_t bufcap,
                    struct ml_part *parts, size_t max, bool *leave_sent);

#endif
