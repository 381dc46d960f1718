/*
 * serf_msg: Serf 0.9.4's messages (serf/messages.go), carried as the bytes
 * of memberlist user messages (8) and as the user state of push/pull, and
 * Serf's tags in memberlist node meta.
 *
 *   user message bytes = [serf type u8][msgpack body]
 *   node meta (tags)   = [0xFF][msgpack map string -> string], <= 512 bytes
 *
 * Decoders take the body after the type byte and fill caller-owned structs.
 * Names are copied (bounded); payloads and filters are NOT copied: they
 * point into the caller's input buffer and live as long as it does.
 * Encoders write [type][body] into the caller's buffer, keys sorted by
 * name (go-msgpack 0.5's order, see ml_msg.c), with go-msgpack's habits (see ml_mp.h).
 */
#ifndef WEFT_GOSSIP_SERF_MSG_H
#define WEFT_GOSSIP_SERF_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "gossip/ml_types.h"

enum serf_type {
    SERF_LEAVE = 0,
    SERF_JOIN = 1,
    SERF_PUSH_PULL = 2,
    SERF_USER_EVENT = 3,
    SERF_QUERY = 4,
    SERF_QUERY_RESPONSE = 5,
    SERF_CONFLICT_RESPONSE = 6,
    SERF_KEY_REQUEST = 7,
    SERF_KEY_RESPONSE = 8,
    SERF_RELAY = 9,
};

/* The tag magic byte that starts node meta (Serf protocol >= 3). */
#define SERF_TAG_MAGIC 0xFF
#define SERF_TAGS_MAX 32
#define SERF_TAG_KEY_MAX 128
#define SERF_TAG_VAL_MAX ML_META_MAX
/* Query filters kept per query (Serf sends 0..2: node list and/or tag). */
#define SERF_FILTERS_MAX 8
/* Serf's hard cap on user event size (UserEventSizeLimit can't exceed it). */
#define SERF_PAYLOAD_MAX 9216

struct serf_join {
    uint64_t ltime; /* LTime */
    char node[ML_NAME_MAX + 1];
};

struct serf_leave {
    uint64_t ltime;
    char node[ML_NAME_MAX + 1];
    bool prune; /* Prune */
};

struct serf_user_event {
    uint64_t ltime;
    char name[ML_NAME_MAX + 1];
    const uint8_t *payload; /* into the input; NULL when nil */
    size_t payload_len;
    bool cc; /* CC: coalesce */
};

struct serf_ref {
    const uint8_t *p;
    size_t len;
};

/* Query flags. */
#define SERF_QUERY_ACK 1u
#define SERF_QUERY_NO_BROADCAST 2u

struct serf_query {
    uint64_t ltime;
    uint32_t id;
    uint8_t addr[ML_ADDR_MAX];
    size_t addr_len;
    uint16_t port;
    char source_node[ML_NAME_MAX + 1];
    struct serf_ref filters[SERF_FILTERS_MAX]; /* each [filter type][msgpack] */
    size_t n_filters;
    uint32_t flags;
    uint8_t relay_factor;
    int64_t timeout_ns; /* time.Duration */
    char name[ML_NAME_MAX + 1];
    const uint8_t *payload;
    size_t payload_len;
};

struct serf_query_response {
    uint64_t ltime;
    uint32_t id;
    char from[ML_NAME_MAX + 1];
    uint32_t flags;
    const uint8_t *payload;
    size_t payload_len;
};

/* Serf's push/pull user state, summarised: the member clocks are kept. */
struct serf_status {
    char node[ML_NAME_MAX + 1];
    uint64_t ltime;
};

struct serf_push_pull {
    uint64_t ltime;
    size_t n_status; /* StatusLTimes entries stored in the caller's array */
    size_t n_left;   /* LeftMembers */
    uint64_t event_ltime;
    size_t n_events; /* non-nil entries of Events */
    uint64_t query_ltime;
};

struct serf_tag {
    char key[SERF_TAG_KEY_MAX + 1];
    char value[SERF_TAG_VAL_MAX + 1];
};

/** join intent (1) body -> *m. Returns 0, or -1 ("serf join.Field: reason"). */
int serf_join_decode(const uint8_t *b, size_t len, struct serf_join *m, struct weft_err *e);
/** *m -> [1][body]. */
int serf_join_encode(const struct serf_join *m, uint8_t *out, size_t cap, size_t *len,
                     struct weft_err *e);
/** leave intent (0) body -> *m. */
int serf_leave_decode(const uint8_t *b, size_t len, struct serf_leave *m, struct weft_err *e);
/** *m -> [0][body]. */
int serf_leave_encode(const struct serf_leave *m, uint8_t *out, size_t cap, size_t *len,
                      struct weft_err *e);
/** user event (3) body -> *m; payload (<= 9 KiB) points into b. */
int serf_user_event_decode(const uint8_t *b, size_t len, struct serf_user_event *m,
                           struct weft_err *e);
/** *m -> [3][body]. */
int serf_user_event_encode(const struct serf_user_event *m, uint8_t *out, size_t cap, size_t *len,
                           struct weft_err *e);
/** query (4) body -> *m; payload and filters point into b. */
int serf_query_decode(const uint8_t *b, size_t len, struct serf_query *m, struct weft_err *e);
/** *m -> [4][body]; no filters is a nil array. */
int serf_query_encode(const struct serf_query *m, uint8_t *out, size_t cap, size_t *len,
                      struct weft_err *e);
/** query response (5) body -> *m; payload points into b. */
int serf_query_response_decode(const uint8_t *b, size_t len, struct serf_query_response *m,
                               struct weft_err *e);
/** *m -> [5][body]. */
int serf_query_response_encode(const struct serf_query_response *m, uint8_t *out, size_t cap,
                               size_t *len, struct weft_err *e);
/** Serf push/pull (2): clocks, up to max StatusLTimes entries into st[]. */
int serf_push_pull_decode(const uint8_t *b, size_t len, struct serf_push_pull *m,
                          struct serf_status *st, size_t max, struct weft_err *e);

/*
 * The whole push/pull user state (messagePushPull), for merging and for
 * sending ours. serf_push_pull_walk decodes as serf_push_pull_decode and
 * also hands each LeftMembers name and each event (Events[i].Events[j]
 * with Events[i].LTime) to the visitor (either callback may be NULL);
 * strings and payloads are valid during the call.
 */
struct serf_pp_visitor {
    void *arg;
    void (*left)(void *arg, const char *node);
    void (*event)(void *arg, uint64_t ltime, const char *name, const uint8_t *payload, size_t len);
};
int serf_push_pull_walk(const uint8_t *b, size_t len, struct serf_push_pull *m,
                        struct serf_status *st, size_t max, const struct serf_pp_visitor *v,
                        struct weft_err *e);

/* One slot of Serf's event buffer in a push/pull: n == 0 is a nil slot. */
struct serf_pp_event {
    const char *name;
    const uint8_t *payload;
    size_t len;
};
struct serf_pp_slot {
    uint64_t ltime;
    const struct serf_pp_event *ev;
    size_t n;
};
/**
 * Encode [2][messagePushPull] as serf does: StatusLTimes in the given
 * order (a Go map: any order is valid), LeftMembers an array (never nil),
 * Events an array of n_slots entries (nil for empty slots).
 */
int serf_push_pull_encode(const struct serf_push_pull *m, const struct serf_status *st,
                          size_t n_status, const char *const *left, size_t n_left,
                          const struct serf_pp_slot *slots, size_t n_slots, uint8_t *out,
                          size_t cap, size_t *len, struct weft_err *e);

/* Query filters: [0][[]string node names] and [1][{Expr, Tag}]. */
enum serf_filter_type { SERF_FILTER_NODE = 0, SERF_FILTER_TAG = 1 };
/** Node filter body (after the type byte): is `name` in the list? */
int serf_filter_nodes_has(const uint8_t *b, size_t len, const char *name, bool *found,
                          struct weft_err *e);
/** Tag filter body -> tag and expression strings. */
int serf_filter_tag_decode(const uint8_t *b, size_t len, char *tag, size_t tcap, char *expr,
                           size_t ecap, struct weft_err *e);
/** [0][names] into out. */
int serf_filter_nodes_encode(const char *const *names, size_t n, uint8_t *out, size_t cap,
                             size_t *len, struct weft_err *e);
/** [1][{Expr, Tag}] into out. */
int serf_filter_tag_encode(const char *tag, const char *expr, uint8_t *out, size_t cap, size_t *len,
                           struct weft_err *e);

/*
 * The relay message (9): [9][relayHeader{DestAddr: net.UDPAddr{IP, Port,
 * Zone}}][the message to forward, with its serf type byte].
 */
int serf_relay_encode(const uint8_t *ip, size_t ip_len, uint16_t port, const uint8_t *msg,
                      size_t mlen, uint8_t *out, size_t cap, size_t *len, struct weft_err *e);
/** Relay body (after the 9) -> destination and the inner message (into b). */
int serf_relay_decode(const uint8_t *b, size_t len, uint8_t *ip, size_t *ip_len, uint16_t *port,
                      const uint8_t **msg, size_t *mlen, struct weft_err *e);

/* A member record as _serf_conflict answers it (serf.Member). */
struct serf_member_rec {
    const char *name;
    const uint8_t *addr;
    size_t addr_len;
    uint16_t port;
    const struct serf_tag *tags;
    size_t ntags;
    int status; /* serf MemberStatus: 1 alive, 2 leaving, 3 left, 4 failed */
    uint8_t vsn[ML_VSN_LEN];
};
/** [6][Member] or [6][nil] when m is NULL (serf: the node is unknown). */
int serf_conflict_encode(const struct serf_member_rec *m, uint8_t *out, size_t cap, size_t *len,
                         struct weft_err *e);

/**
 * Decode node meta as Serf tags: 0xFF then a map of strings. Meta without
 * the magic byte is Serf protocol < 3's single "role" value: one tag
 * role=<meta>. At most max tags.
 */
int serf_tags_decode(const uint8_t *meta, size_t len, struct serf_tag *tags, size_t max, size_t *n,
                     struct weft_err *e);
/** Encode tags in the given order into meta (<= ML_META_MAX bytes). */
int serf_tags_encode(const struct serf_tag *tags, size_t n, uint8_t *meta, size_t cap, size_t *len,
                     struct weft_err *e);
/** The value of tag key in tags[0..n), or NULL. */
const char *serf_tag_get(const struct serf_tag *tags, size_t n, const char *key);

#endif
