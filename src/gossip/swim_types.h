/*
 * swim_types: the public types of the SWIM + Lifeguard core (swim.h).
 *
 * Everything a caller of the core needs to fill or read: addresses, the
 * tunables (memberlist's Config), the profiles, member status, counters,
 * and the actions a step produces. struct swim itself stays opaque.
 */
#ifndef WEFT_GOSSIP_SWIM_TYPES_H
#define WEFT_GOSSIP_SWIM_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/ml_types.h"

/* memberlist's UDPBufferSize: the largest datagram we compose. */
#define SWIM_UDP_MAX 1400

/* A member's status (memberlist NodeStateType; same numbers as ml_state). */
enum swim_status {
    SWIM_ALIVE = ML_STATE_ALIVE,
    SWIM_SUSPECT = ML_STATE_SUSPECT,
    SWIM_DEAD = ML_STATE_DEAD, /* failed: declared dead by someone else */
    SWIM_LEFT = ML_STATE_LEFT, /* left: dead with From == Node (graceful) */
};

/* A UDP/TCP endpoint: a raw IPv4 (4 bytes) or IPv6 (16 bytes) address. */
struct swim_addr {
    uint8_t ip[ML_ADDR_MAX];
    uint8_t ip_len; /* 4 or 16 */
    uint16_t port;
};

/* The timing profiles of weft.ini's [gossip] profile. */
enum swim_profile {
    SWIM_PROFILE_LAN,   /* memberlist DefaultLANConfig */
    SWIM_PROFILE_WAN,   /* memberlist DefaultWANConfig */
    SWIM_PROFILE_LOCAL, /* memberlist DefaultLocalConfig */
    SWIM_PROFILE_LOSSY, /* weft: LAN timing, tuned for lossy radio links */
    SWIM_PROFILE_MAX
};

/*
 * The tunables, named after memberlist's Config fields. Durations in ms.
 * swim_config_profile() fills one from a profile; a caller may then change
 * single fields (tests do).
 */
struct swim_config {
    int64_t probe_interval_ms;     /* ProbeInterval */
    int64_t probe_timeout_ms;      /* ProbeTimeout: wait for a direct ack */
    int64_t gossip_interval_ms;    /* GossipInterval */
    int64_t gossip_to_dead_ms;     /* GossipToTheDeadTime; also when dead members are dropped */
    int64_t push_pull_interval_ms; /* PushPullInterval (0: no periodic push/pull) */
    unsigned indirect_checks;      /* IndirectChecks (k) */
    unsigned retransmit_mult;      /* RetransmitMult */
    unsigned suspicion_mult;       /* SuspicionMult */
    unsigned suspicion_max_mult;   /* SuspicionMaxTimeoutMult */
    unsigned awareness_max;        /* AwarenessMaxMultiplier */
    unsigned gossip_nodes;         /* GossipNodes */
    size_t udp_max;                /* UDPBufferSize, <= SWIM_UDP_MAX */
    size_t members_max;            /* member table cap, ourselves included */
    size_t bcast_max;              /* broadcast queue cap (messages) */
    uint8_t vsn[ML_VSN_LEN];       /* Vsn we advertise: pmin,pmax,pcur,dmin,dmax,dcur */
    bool disable_tcp_pings;        /* DisableTcpPings (false: the fallback ping is on) */
};

/* What happened, for metrics and tests. Peer-caused problems are counted, never asserted. */
struct swim_counters {
    uint64_t probes;           /* direct pings sent by the probe loop */
    uint64_t probe_acks;       /* probes answered (directly or through a relay) */
    uint64_t indirect_sent;    /* indirect ping requests sent */
    uint64_t nacks_received;   /* nacks for our probes */
    uint64_t relays;           /* indirect pings we relayed for others */
    uint64_t relays_dropped;   /* relay table full */
    uint64_t suspects;         /* members we marked suspect (any source) */
    uint64_t deaths;           /* members marked dead (failed) */
    uint64_t lefts;            /* members marked left */
    uint64_t refutes;          /* times we refuted a suspicion/death of ourselves */
    uint64_t gossip_packets;   /* gossip datagrams sent */
    uint64_t bcast_dropped;    /* broadcasts dropped because the queue was full */
    uint64_t members_dropped;  /* new members refused because the table was full */
    uint64_t bad_packets;      /* datagrams that failed to decode (partially or fully) */
    uint64_t actions_dropped;  /* actions that did not fit in struct swim_actions */
    uint64_t push_pulls;       /* push/pull exchanges started (joins included) */
    uint64_t push_pulls_taken; /* push/pull requests answered */
    uint64_t tcp_pings;        /* TCP fallback pings started (a probe's UDP ack was late) */
    uint64_t tcp_ping_acks;    /* ... answered with the probe's ack in time */
    uint64_t tcp_ping_saves;   /* failed UDP probes the TCP ack kept from a suspicion */
};

/* --- the delegate: the layer above (Serf), memberlist's Delegate + EventDelegate --- */

struct ml_part;
struct swim_member;

/*
 * Callbacks the core makes into the layer above (swim_set_delegate). They
 * receive data only: no I/O, no clock; they must not call back into the
 * core. Every field may be NULL.
 */
struct swim_delegate {
    void *arg;
    /* A user message (8): msg is what follows the type byte, from a
     * datagram (compound parts included) or a stream. Valid during the call. */
    void (*notify_msg)(void *arg, const uint8_t *msg, size_t len);
    /*
     * Piggyback the upper layer's broadcasts: write up to max messages, each
     * a whole user message starting with its type byte 8, into buf[0..cap)
     * and point parts[] at them; each message with its 2-byte compound
     * length must fit in room (the sum of len + 2 <= room). Returns the count.
     */
    size_t (*get_broadcasts)(void *arg, size_t room, uint8_t *buf, size_t cap,
                             struct ml_part *parts, size_t max);
    /* The user state of a push/pull we send: malloc'd into *out (the core
     * frees it); returns its length, 0 for none. */
    size_t (*local_state)(void *arg, bool join, uint8_t **out);
    /* The user state of a push/pull we received (after the nodes were merged). */
    void (*merge_remote_state)(void *arg, const uint8_t *buf, size_t len, bool join);
    /* Member notifications (memberlist NotifyJoin / NotifyLeave / NotifyUpdate):
     * join = new or back from dead/left; leave = dead or left; update =
     * alive with new meta or address. */
    void (*notify_join)(void *arg, const struct swim_member *m);
    void (*notify_leave)(void *arg, const struct swim_member *m);
    void (*notify_update)(void *arg, const struct swim_member *m);
};

/* --- actions: what the caller performs after a call into the core --- */

/* Datagrams per step. A packet of 255 pings yields 255 acks; the rest is
 * counted in actions_dropped (peers retry, SWIM tolerates loss). */
#define SWIM_ACT_PKT_MAX 64
#define SWIM_ACT_STREAM_MAX 8

/* Send one UDP datagram (plaintext; the transport encrypts). */
struct swim_packet {
    struct swim_addr to;
    size_t len;
    uint8_t buf[SWIM_UDP_MAX];
};

/*
 * One TCP stream message: a push/pull. reply == false: open a connection to
 * `to`, send buf, and hand the answer to swim_on_stream(reply = true) with
 * the same conn. reply == true: send buf back on the connection `conn` that
 * brought the request.
 * ping == true: memberlist's TCP fallback ping (probeNode's fallbackCh):
 * open a connection to `to`, send buf (a ping), read one message back
 * until deadline_ms, and hand it (plaintext, or NULL on any failure or
 * timeout) to swim_on_tcp_ping() with the same conn.
 */
struct swim_stream {
    struct swim_addr to;
    uint64_t conn;
    bool reply;
    bool join;
    bool ping;
    int64_t deadline_ms; /* ping: give up then */
    uint8_t *buf;        /* owned by struct swim_actions (malloc) */
    size_t len;
};

/*
 * The output of one call: caller-owned (swim_actions_init/_deinit), reset by
 * every call that fills it. wake_ms: when to call swim_on_timer() next at
 * the latest (a call earlier is harmless).
 */
struct swim_actions {
    size_t npkt;
    struct swim_packet pkt[SWIM_ACT_PKT_MAX];
    size_t nstream;
    struct swim_stream stream[SWIM_ACT_STREAM_MAX];
    int64_t wake_ms;
};

#endif
