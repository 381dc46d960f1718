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
 * Serf: our tags are encoded as Serf's node meta; a graceful leave sends
 * Serf's leave intent (a user message) to every live member before
 * memberlist's dead-about-ourselves, so stock serf agents show "left", not
 * "failed"; a join sends Serf's join intent likewise.
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
#include "gossip/serf_msg.h"
#include "gossip/swim.h"

struct event_base;
struct gossip_net;

struct gossip_net_config {
    const char *name;          /* node name (1..128 bytes) */
    struct swim_addr bind;     /* 0.0.0.0 / :: allowed */
    struct swim_addr adv;      /* what peers use; a real address */
    enum swim_profile profile; /* timing */
    const struct keyring *kr;  /* NULL or empty: plaintext; copied */
    const struct serf_tag *tags;
    size_t ntags;
    uint32_t incarnation; /* the last incarnation this node used (persisted); 0 at first */
    /* Called when our incarnation changes, to persist it (may be NULL). */
    void (*on_incarnation)(void *arg, uint32_t incarnation);
    void *arg;
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

/**
 * "IP:port" (IPv4, or [IPv6]:port) -> *a. No name resolution. Returns 0 or
 * -1 with a message in e.
 */
int gossip_addr_parse(const char *s, struct swim_addr *a, struct weft_err *e);
/** *a -> "IP:port" text in buf (at least 56 bytes). */
const char *gossip_addr_str(const struct swim_addr *a, char *buf, size_t cap);

#endif
