/*
 * serf: the Serf 0.9.4 layer above the SWIM core (serf/serf.go, delegate.go,
 * event_delegate.go, query.go, internal_query.go), as a pure state machine.
 *
 * What it keeps: the three Lamport clocks (member, event, query) with
 * witness-on-receive; a member table with each member's status (alive,
 * leaving, left, failed) and status ltime, fed by the core's notifications
 * and by join/leave intents; the recent-intents buffer for intents about
 * members not known yet (5 minutes); Serf's 512-slot event buffer (dedupe
 * by ltime + name + payload, a minimum event time set on join and after a
 * restart); the 512-slot query buffer (dedupe by ltime + id); our own
 * queries in flight (acks and responses collected once per node until the
 * deadline); three retransmit-limited broadcast queues (intents, queries,
 * events) that the core drains into its datagrams (swim_delegate); Serf's
 * reconnect loop (serf_reconnect: now and then a push/pull to a random
 * failed member) and the reaping of failed and left members.
 *
 * Like the core it never reads a clock nor touches a socket: serf_tick()
 * gives it the time (monotonic ms) before each batch of inputs, and the
 * datagrams it wants sent directly (query acks, responses, relays) wait in
 * an outbox (serf_outbox / serf_outbox_clear). Upcalls (a user event or
 * query arrived, a response for one of our queries, a query is done, the
 * keyring changed) go through struct serf_hooks.
 *
 * Ownership: struct serf is a heap object (serf_new / serf_free) owning its
 * tables and queues. The keyring it is given stays the caller's; key queries
 * (_serf_*-key) change it in place through serf_keys_handle().
 */
#ifndef WEFT_GOSSIP_SERF_H
#define WEFT_GOSSIP_SERF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "gossip/keyring.h"
#include "gossip/serf_msg.h"
#include "gossip/swim_types.h"

/* serf.DefaultConfig() numbers. */
#define SERF_EVENT_BUFFER 512
#define SERF_QUERY_BUFFER 512
#define SERF_INTENT_TIMEOUT_MS (5 * 60 * 1000)
#define SERF_QUERY_TIMEOUT_MULT 16
#define SERF_QUERY_SIZE_LIMIT 1024
#define SERF_QUERY_RESPONSE_SIZE_LIMIT 1024
#define SERF_USER_EVENT_SIZE_LIMIT 512
/* Bounds of our own (not Serf's): queries of ours in flight, datagrams in
 * the outbox per step, events kept per event-buffer slot, query ids per
 * query-buffer slot, recent intents. */
#define SERF_QUERIES_MAX 64
#define SERF_OUTBOX_MAX 64
#define SERF_SLOT_EVENTS_MAX 16
#define SERF_SLOT_IDS_MAX 32
#define SERF_INTENTS_MAX 1024
/* Left members are forgotten after Serf's TombstoneTimeout (24 h); failed
 * ones after the reconnect timeout (ReconnectTimeout, 24 h by default). */
#define SERF_REAP_MS (24LL * 3600 * 1000)
/* Serf's ReconnectInterval and ReconnectTimeout defaults. */
#define SERF_RECONNECT_INTERVAL_MS 30000
#define SERF_RECONNECT_TIMEOUT_MS SERF_REAP_MS

/* serf.MemberStatus */
enum serf_mstatus {
    SERF_ST_NONE = 0,
    SERF_ST_ALIVE = 1,
    SERF_ST_LEAVING = 2,
    SERF_ST_LEFT = 3,
    SERF_ST_FAILED = 4,
};

struct serf_clocks {
    uint64_t member; /* clock: join/leave intents */
    uint64_t event;  /* eventClock: user events */
    uint64_t query;  /* queryClock: queries */
};

struct serf_config {
    const char *name;      /* our node name */
    struct swim_addr addr; /* advertised: a query's Addr/Port, where answers come */
    uint8_t vsn[ML_VSN_LEN];
    int64_t gossip_interval_ms;
    unsigned retransmit_mult;
    size_t bcast_max;              /* per queue */
    size_t members_max;            /* member table cap */
    struct serf_clocks clocks;     /* the last persisted ones; zero the first time */
    uint64_t seed;                 /* query ids, relay and reconnect picks */
    int64_t reconnect_interval_ms; /* 0: SERF_RECONNECT_INTERVAL_MS */
    int64_t reconnect_timeout_ms;  /* 0: SERF_RECONNECT_TIMEOUT_MS */
};

/* A received user event or user query (not the internal _serf_ ones). */
struct serf_rec {
    bool query;
    uint64_t ltime;
    const char *name;
    const uint8_t *payload;
    size_t len;
    const char *from; /* query: SourceNode; event: "" (Serf events carry no sender) */
    bool coalesce;    /* event: CC */
};

struct serf_hooks {
    void *arg;
    /* A new (deduplicated, not too old) user event or query. */
    void (*on_user)(void *arg, const struct serf_rec *r);
    /* Answer a user query: return 1 with resp[0..*rlen) filled (<= cap), 0 for none. */
    int (*answer)(void *arg, const char *name, const uint8_t *payload, size_t len, uint8_t *resp,
                  size_t cap, size_t *rlen);
    /* An ack or a response (once per node) for our query qid. */
    void (*on_response)(void *arg, uint64_t qid, const char *from, const uint8_t *payload,
                        size_t len, bool ack);
    /* Our query qid passed its deadline (its last upcall). */
    void (*on_done)(void *arg, uint64_t qid);
    /* A key query changed the keyring (the caller persists it). */
    void (*on_keys_changed)(void *arg);
};

/* A datagram to send as is: [8 user][serf message]. */
struct serf_send {
    struct swim_addr to;
    size_t len;
    uint8_t buf[SWIM_UDP_MAX];
};

struct serf_counters {
    uint64_t events_sent, events_received, events_dup, events_old;
    uint64_t queries_sent, queries_received, queries_dup, queries_old, queries_filtered;
    uint64_t responses_sent, acks_sent, responses_received, acks_received;
    uint64_t intents_received, relays;
    uint64_t reconnects; /* push/pulls to a failed member (serf_reconnect) */
    uint64_t bad_messages, outbox_dropped, bcast_dropped, members_dropped;
};

struct serf;
struct swim;

/** A new Serf layer for node c->name. Returns NULL with a message in e. */
struct serf *serf_new(const struct serf_config *c, const struct serf_hooks *h, struct keyring *kr,
                      struct weft_err *e);
/** Free it. Accepts NULL. */
void serf_free(struct serf *s);
/** The callbacks to hand to swim_set_delegate (they point at s). */
void serf_delegate(struct serf *s, struct swim_delegate *d);
/** Our tags (for tag filters and _serf_conflict); copied. */
void serf_set_tags(struct serf *s, const struct serf_tag *tags, size_t n);
/** The current time for the inputs that follow (expires our queries, reaps intents). */
void serf_tick(struct serf *s, int64_t now_ms);
/** When serf_tick is due next (a query deadline, a reconnect), or INT64_MAX. */
int64_t serf_wake(const struct serf *s);
/**
 * Serf's reconnect loop (serf.go reconnect()), one step: once per reconnect
 * interval, with probability failed / alive (alive = members - failed -
 * left, at least 1), pick a random failed member (never a left one) and
 * push/pull to its last address through the core (swim_join into act, which
 * it resets). Never after serf_leave_intent(). Returns true when it did (its
 * name in name[0..cap) when name is not NULL), false otherwise (act
 * untouched). Call after serf_tick(now_ms).
 */
bool serf_reconnect(struct serf *s, struct swim *sw, int64_t now_ms, struct swim_actions *act,
                    char *name, size_t cap);

/** A join of ours starts: its push/pull answers set the minimum event time (old events are not
 * replayed). */
void serf_join_start(struct serf *s);
/** Broadcast our join intent (after a memberlist join). */
void serf_join_intent(struct serf *s);
/** Queue our leave intent; serf_leave_sent() says when it went out once. */
void serf_leave_intent(struct serf *s);
bool serf_leave_sent(const struct serf *s);
/** Members alive or leaving other than us (Serf's hasAliveMembers). */
bool serf_has_alive_members(const struct serf *s);

/** Send a user event (name + payload <= 512 bytes, as Serf's default limit). */
int serf_user_event(struct serf *s, const char *name, const uint8_t *payload, size_t len,
                    bool coalesce, struct weft_err *e);
/**
 * Send a query. timeout_ms 0: Serf's default, GossipInterval * 16 *
 * ceil(log10(n_members + 1)). Filters are encoded filters (or NULL). *qid
 * identifies it in the hooks; *deadline_ms when it ends.
 */
int serf_query(struct serf *s, const char *name, const uint8_t *payload, size_t len,
               int64_t timeout_ms, bool want_ack, size_t n_members, const struct serf_ref *filters,
               size_t n_filters, uint64_t *qid, int64_t *deadline_ms, struct weft_err *e);
/** Forget a query of ours (no more upcalls for it). */
void serf_query_cancel(struct serf *s, uint64_t qid);
/** Serf's DefaultQueryTimeout for n members. */
int64_t serf_default_query_timeout_ms(const struct serf *s, size_t n_members);

/** The datagrams waiting to be sent; clear after sending. */
const struct serf_send *serf_outbox(const struct serf *s, size_t *n);
void serf_outbox_clear(struct serf *s);

/** The clocks' current values (persist them). */
void serf_clocks(const struct serf *s, struct serf_clocks *c);
const struct serf_counters *serf_counters(const struct serf *s);
/** Messages waiting in Serf's three broadcast queues (intents, queries, events). */
size_t serf_bcast_count(const struct serf *s);
/** Our view of member `name`: status and status ltime; SERF_ST_NONE if unknown. */
enum serf_mstatus serf_member_status(const struct serf *s, const char *name, uint64_t *ltime);
/** Members in the table (Serf's NumNodes), left and failed included. */
size_t serf_member_count(const struct serf *s);
const char *serf_status_name(enum serf_mstatus st);

/* The delegate entry points, also callable directly (tests). */
void serf_notify_msg(struct serf *s, const uint8_t *msg, size_t len);
size_t serf_local_state(struct serf *s, bool join, uint8_t **out);
void serf_merge_remote_state(struct serf *s, const uint8_t *buf, size_t len, bool join);
size_t serf_get_broadcasts(struct serf *s, size_t room, uint8_t *buf, size_t cap,
                           struct ml_part *parts, size_t max);

#endif
