/*
 * gossip_net: the transport of the gossip subsystem and its minimal Serf
 * layer, the libevent glue around the pure SWIM core (swim.h).
 *
 * One UDP socket and one TCP listener on the same port (memberlist's
 * NetTransport): datagrams are decrypted (when a keyring is set) and handed
 * to swim_on_packet; push/pull streams are framed (plain 6, compress 9,
 * encrypt 10), size-capped, timed out, unwrapped and handed to
 * swim_on_stream. What the core emits is sealed and sent the same way. The
 * core's wake_ms drives one timer.
 *
 * Serf: the transport drives the Serf layer (serf.h): our tags are Serf's
 * node meta; join and leave intents, user events and queries travel in
 * Serf's broadcast queues piggybacked on gossip; a graceful leave gossips
 * the leave intent first, so stock serf agents show "left", not "failed".
 * The agent sees received events and queries (a ring of the last 256),
 * sends its own, and runs queries with a callback per ack / response.
 * Serf's reconnect loop (serf_reconnect) runs on the same timer: a failed
 * member gets a push/pull now and then, so healed partitions merge again.
 *
 * Ownership: struct gossip_net (gossip_net_new/_free) owns the core, the
 * sockets, the connections and the keyring copy. Not thread-safe.
 */
#ifndef WEFT_GOSSIP_GOSSIP_NET_H
#define WEFT_GOSSIP_GOSSIP_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "gossip/keyring.h"
#include "gossip/serf.h"
#include "gossip/serf_msg.h"
#include "gossip/swim.h"

struct event_base;
struct gossip_net;

struct gossip_net_config {
    const char *name;          /* node name (1..128 bytes) */
    struct swim_addr bind;     /* 0.0.0.0 / :: allowed */
    struct swim_addr adv;      /* what peers use; a real address */
    enum swim_profile profile; /* timing */
    /* The effective timing (gossip_timing.c); NULL: the profile's. Copied. */
    const struct swim_config *timing;
    const struct keyring *kr; /* NULL or empty: plaintext; copied */
    const struct serf_tag *tags;
    size_t ntags;
    uint32_t incarnation; /* the last incarnation this node used (persisted); 0 at first */
    /* Called when our incarnation changes, to persist it (may be NULL). */
    void (*on_incarnation)(void *arg, uint32_t incarnation);
    void *arg;
    /* Serf's Lamport clocks as last persisted (zero the first time), and
     * the callback that persists them when they move (may be NULL). */
    struct serf_clocks clocks;
    void (*on_clocks)(void *arg, const struct serf_clocks *c);
    /* A key query (_serf_install-key, ...) changed the live keyring (may be NULL). */
    void (*on_keys_changed)(void *arg, const struct keyring *kr);
    /* The member table changed (a member came or went, or changed status or
     * address): called after the step that changed it (may be NULL). */
    void (*on_members)(void *arg);
    /* Serf's reconnect loop: how often a failed member may get a push/pull,
     * and how long failed members are kept (0: Serf's 30 s / 24 h). */
    int64_t reconnect_interval_ms;
    int64_t reconnect_timeout_ms;
};

/* One ack or response to a query of ours; r == NULL: done (deadline). */
struct gossip_query_resp {
    const char *from;
    const uint8_t *payload;
    size_t len;
    bool ack;
};
typedef void (*gossip_query_cb)(void *arg, const struct gossip_query_resp *r);

/* A user event or user query we received (or sent), newest last. */
#define GOSSIP_EVENTS_RING 256
struct gossip_event_rec {
    bool query;
    uint64_t ltime;
    char name[ML_NAME_MAX + 1];
    uint8_t *payload; /* owned by the ring; NULL when empty */
    size_t len;
    char from[ML_NAME_MAX + 1]; /* query: the sender; event: "" */
    bool coalesce;
    int64_t wall_ms; /* when we received it */
};

/* Transport counters (the core's are in swim_counters, Serf's in serf_counters). */
struct gossip_net_stats {
    uint64_t packets_in, packets_out, bytes_in, bytes_out;
    uint64_t drop_decrypt; /* datagrams that failed to open */
    uint64_t drop_decode;  /* datagrams the core could not fully decode */
    uint64_t drop_stream;  /* streams refused (framing, crypto, size, timeout) */
    uint64_t drop_conns;   /* streams refused because too many were open */
    uint64_t drop_send;    /* datagrams the kernel refused */
};

/** Open the sockets and start the core. Returns NULL with a message in e. */
struct gossip_net *gossip_net_new(struct event_base *base, const struct gossip_net_config *c,
                                  struct weft_err *e);
/** Close everything. Accepts NULL. */
void gossip_net_free(struct gossip_net *g);
/** Join through n seeds (push/pull to each) and send Serf's join intent. */
void gossip_net_join(struct gossip_net *g, const struct swim_addr *addrs, size_t n);
/**
 * Leave gracefully: Serf's leave intent to every live member, then the
 * memberlist leave; done(arg) is called once the leave has been gossiped
 * (or after a bound of a few seconds).
 */
void gossip_net_leave(struct gossip_net *g, void (*done)(void *arg), void *arg);
/** The core, for queries (members). Valid until gossip_net_free. */
const struct swim *gossip_net_swim(const struct gossip_net *g);
/** Datagrams and streams refused (bad crypto, framing, size, timeouts). */
uint64_t gossip_net_bad(const struct gossip_net *g);
/** The Serf layer (clocks, counters, member statuses). */
const struct serf *gossip_net_serf(const struct gossip_net *g);
/** Transport counters. */
void gossip_net_stats(const struct gossip_net *g, struct gossip_net_stats *st);

/**
 * Send a Serf user event (name + payload <= 512 bytes, Serf's default
 * UserEventSizeLimit). Returns 0 or -1 with a message in e.
 */
int gossip_net_event(struct gossip_net *g, const char *name, const uint8_t *payload, size_t len,
                     bool coalesce, struct weft_err *e);
/**
 * Send a Serf query; cb gets every ack (when want_ack) and every response,
 * once per node, then NULL at the deadline (timeout_ms, 0 = Serf's
 * default). cb may be called before this returns (our own ack).
 */
int gossip_net_query(struct gossip_net *g, const char *name, const uint8_t *payload, size_t len,
                     int64_t timeout_ms, bool want_ack, gossip_query_cb cb, void *arg,
                     struct weft_err *e);
/** Drop every pending query callback with this arg (the requester went away). */
void gossip_net_query_forget(struct gossip_net *g, void *arg);
/** Received user events and queries: how many are kept, and the i-th, oldest first. */
size_t gossip_net_events_count(const struct gossip_net *g);
const struct gossip_event_rec *gossip_net_events_at(const struct gossip_net *g, size_t i);
/** Change our tags live (Serf SetTags: new incarnation + alive). */
int gossip_net_set_tags(struct gossip_net *g, const struct serf_tag *tags, size_t n,
                        struct weft_err *e);
/** The live keyring (key queries change it; on_keys_changed tells). */
struct keyring *gossip_net_keyring(struct gossip_net *g);

/**
 * "IP:port" (IPv4, or [IPv6]:port) -> *a. No name resolution. Returns 0 or
 * -1 with a message in e.
 */
int gossip_addr_parse(const char *s, struct swim_addr *a, struct weft_err *e);
/** *a -> "IP:port" text in buf (at least 56 bytes). */
const char *gossip_addr_str(const struct swim_addr *a, char *buf, size_t cap);

#endif
