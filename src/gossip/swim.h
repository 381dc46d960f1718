/*
 * swim: the SWIM + Lifeguard membership core, wire-compatible with
 * HashiCorp memberlist 0.2.x, as a pure state machine.
 *
 * The core never reads a clock, opens a socket or draws from a global
 * random source: each call takes the current time (`now_ms`, monotonic
 * milliseconds) and an input, updates the member table, and appends the
 * actions the caller must perform to a caller-owned struct swim_actions
 * (datagrams to send, push/pull streams to open or answer, the next
 * wake-up). Randomness comes from a PRNG seeded at swim_new(). Same seed,
 * same inputs, same outputs: this is what the simulator (tests/sim/) and the
 * unit tests (tests/unit/gossip/test_swim.c) rely on.
 *
 * Ownership: struct swim is a heap object (swim_new/swim_free) that owns its
 * member table and broadcast queue. Every pointer returned by a query is
 * valid until the next call that takes a non-const struct swim.
 *
 * See swim.c for the protocol essay and docs/gossip.md "SWIM core".
 */
#ifndef WEFT_GOSSIP_SWIM_H
#define WEFT_GOSSIP_SWIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "gossip/swim_types.h"

struct swim;
struct swim_member;

/* --- configuration --- */

/** Fill *c with a profile's numbers (memberlist's defaults for lan/wan/local). */
void swim_config_profile(struct swim_config *c, enum swim_profile p);
/** "lan", "wan", "local", "lossy" -> *p. Returns 0 or -1. */
int swim_profile_parse(const char *s, enum swim_profile *p);
/** The profile's name. */
const char *swim_profile_name(enum swim_profile p);
/** Check a config for values the core cannot run with. Returns 0 or -1 (message in e). */
int swim_config_check(const struct swim_config *c, struct weft_err *e);

/* --- actions --- */

/** An empty action list (cannot fail). */
void swim_actions_init(struct swim_actions *a);
/** Forget every action (frees stream buffers); wake_ms = INT64_MAX. */
void swim_actions_reset(struct swim_actions *a);
/** Free what the list holds. Safe after init alone. */
void swim_actions_deinit(struct swim_actions *a);

/* --- lifecycle --- */

/**
 * A new node named `name` (1..ML_NAME_MAX bytes, no NUL) reachable at
 * `addr`, knowing only itself. `incarnation` is the last incarnation this
 * node ever used (persisted by the caller; 0 the first time): the core
 * starts above it, so an incarnation is never reused across restarts.
 * `seed` seeds the PRNG. Returns NULL with a message in e (bad config or
 * name, out of memory). The caller owns the result (swim_free).
 */
struct swim *swim_new(const struct swim_config *c, const char *name, const struct swim_addr *addr,
                      uint32_t incarnation, uint64_t seed, int64_t now_ms, struct weft_err *e);
/** Free a node and everything it holds. Accepts NULL. */
void swim_free(struct swim *s);
#define SWIM_FREE(p)                                                                               \
    do {                                                                                           \
        swim_free(p);                                                                              \
        (p) = NULL;                                                                                \
    } while (0)

/* --- inputs (each resets *out, then fills it) --- */

/**
 * Join through n seed addresses: one push/pull (Join = true) stream to each.
 * The member table grows as the replies come back (swim_on_stream).
 */
void swim_join(struct swim *s, int64_t now_ms, const struct swim_addr *addrs, size_t n,
               struct swim_actions *out);
/**
 * Put a member in the table as alive at `incarnation`, reachable at `addr`,
 * with node meta `meta` (meta_len <= ML_META_MAX bytes, copied; NULL/0 for
 * none), without queuing any broadcast: what restoring a membership
 * snapshot needs, and how the simulator builds a converged cluster without
 * a mass join (tests/sim, `spread --bootstrap`). The member is then probed,
 * gossiped to and suspected like any other. An unknown name is added (at a
 * random place of the probe order, advertising our own Vsn until its own
 * alive says otherwise); a known one is updated only if `incarnation` is
 * higher than ours for it (as an alive message would be), else left as is.
 * The layer above gets notify_join for a member that was not alive,
 * notify_update for a live one whose address or meta moved. Returns 0, or
 * -1 with a message in e (bad name or address, meta too long, ourselves,
 * table full, out of memory).
 */
int swim_seed_member(struct swim *s, int64_t now_ms, const char *name, const struct swim_addr *addr,
                     uint32_t incarnation, const uint8_t *meta, size_t meta_len,
                     struct weft_err *e);
/**
 * Leave gracefully: broadcast dead-about-ourselves (From == Node), stop
 * probing, keep gossiping so the news spreads. swim_leave_is_sent() says
 * when the message has gone out at least once.
 */
void swim_leave(struct swim *s, int64_t now_ms, struct swim_actions *out);
/** Run the timers due at now_ms (probe, gossip, push/pull, suspicion, relays). */
void swim_on_timer(struct swim *s, int64_t now_ms, struct swim_actions *out);
/**
 * One plaintext datagram (after decryption) from `from`. Every message that
 * decodes is applied, even if others in the same packet do not. Returns 0,
 * or -1 if some part was bad (counted; message in e; never fatal).
 */
int swim_on_packet(struct swim *s, int64_t now_ms, const struct swim_addr *from, const uint8_t *pkt,
                   size_t len, struct swim_actions *out, struct weft_err *e);
/**
 * One push/pull stream message (plaintext, starting with its type byte 6).
 * reply == false: a request from a peer; the answer (our state) is queued as
 * a reply stream on `conn` and the peer's state merged. reply == true: the
 * answer to a stream we opened; merged. Returns 0 or -1 (bad message).
 */
int swim_on_stream(struct swim *s, int64_t now_ms, const struct swim_addr *from, bool reply,
                   uint64_t conn, const uint8_t *msg, size_t len, struct swim_actions *out,
                   struct weft_err *e);

/**
 * The outcome of a TCP fallback ping (a swim_stream with ping set): msg is
 * the plaintext message read back on connection `conn` (an ack), or NULL
 * when the connect, the write or the read failed or timed out. An ack with
 * the probe's sequence number, while that probe is still running, makes
 * the probe a success at its deadline (memberlist: "was able to connect
 * but other probes failed"). Anything else is ignored.
 */
void swim_on_tcp_ping(struct swim *s, int64_t now_ms, uint64_t conn, const uint8_t *msg, size_t len,
                      struct swim_actions *out);

/* --- queries --- */

/**
 * Install the layer above's callbacks (copied; NULL removes them). Call
 * right after swim_new; our own member is not notified (the caller knows it).
 */
void swim_set_delegate(struct swim *s, const struct swim_delegate *d);

/** Our name. */
const char *swim_name(const struct swim *s);
/** Our current incarnation (persist it: it must never go back). */
uint32_t swim_incarnation(const struct swim *s);
/** Lifeguard's local health score, 0 (healthy) .. awareness_max - 1. */
unsigned swim_awareness(const struct swim *s);
/** ProbeInterval scaled by the health score: (score + 1) * ProbeInterval. */
int64_t swim_probe_interval(const struct swim *s);
/** Whether a and b are the same IP address and port. */
bool swim_addr_eq(const struct swim_addr *a, const struct swim_addr *b);
/** Members in the table, ourselves included (memberlist's NumNodes estimate). */
size_t swim_member_count(const struct swim *s);
/** Members that are alive or suspect, ourselves included. */
size_t swim_member_count_live(const struct swim *s);
/**
 * A counter that moves whenever a member is added or dropped, or changes
 * status, incarnation or address: compare it to know when to save the
 * table (agent_gossip.c persists it for rejoin).
 */
uint64_t swim_members_version(const struct swim *s);
/** The i-th member (0 <= i < count), in probe order. */
const struct swim_member *swim_member_at(const struct swim *s, size_t i);
/** The member called name, or NULL. */
const struct swim_member *swim_member_find(const struct swim *s, const char *name);
const char *swim_member_name(const struct swim_member *m);
enum swim_status swim_member_status(const struct swim_member *m);
uint32_t swim_member_incarnation(const struct swim_member *m);
const struct swim_addr *swim_member_addr(const struct swim_member *m);
/** The member's node meta (Serf tags), *len bytes; NULL when empty. */
const uint8_t *swim_member_meta(const struct swim_member *m, size_t *len);
/** The member's Vsn: pmin, pmax, pcur, dmin, dmax, dcur (ML_VSN_LEN bytes). */
const uint8_t *swim_member_vsn(const struct swim_member *m);
/**
 * Set our own node meta (at most ML_META_MAX bytes; copied) and queue an
 * alive carrying it. Call right after swim_new. Returns 0 or -1.
 */
int swim_set_meta(struct swim *s, const uint8_t *meta, size_t len, struct weft_err *e);
/**
 * Change our node meta live (memberlist UpdateNode, Serf SetTags): take a
 * new incarnation and queue an alive carrying the meta. Returns 0 or -1.
 */
int swim_update_meta(struct swim *s, const uint8_t *meta, size_t len, struct weft_err *e);
/** Status names: "alive", "suspect", "dead", "left". */
const char *swim_status_name(enum swim_status st);
/** Messages waiting in the broadcast queue. */
size_t swim_bcast_count(const struct swim *s);
/** True once our leave message has been sent at least once. */
bool swim_leave_is_sent(const struct swim *s);
/** The counters. */
const struct swim_counters *swim_counters(const struct swim *s);

/* --- the formulas (memberlist util.go / suspicion.go), exposed for tests --- */

/** suspicionTimeout: mult * max(1, log10(max(1, n))) * interval, in ms (the Lifeguard minimum). */
int64_t swim_suspicion_min_ms(unsigned mult, size_t n, int64_t interval_ms);
/**
 * remainingSuspicionTime: the timeout after c of k expected confirmations,
 * max - log(c + 1) / log(k + 1) * (max - min), floored to ms, at least min.
 */
int64_t swim_suspicion_timeout_ms(unsigned c, unsigned k, int64_t min_ms, int64_t max_ms);
/** retransmitLimit: mult * ceil(log10(n + 1)). */
unsigned swim_retransmit_limit(unsigned mult, size_t n);
/** pushPullScale: interval * (ceil(log2 n - log2 32) + 1) once n > 32, else interval. */
int64_t swim_push_pull_scale_ms(int64_t interval_ms, size_t n);

#endif
