/*
 * serf_keys: Serf 0.9.4's cluster-wide keyring operations (serf/keymanager.go,
 * serf/internal_query.go), as pure encode/decode/handle functions; no I/O.
 *
 * An operation is an internal Serf query sent to every member, the sender
 * included: `_serf_install-key`, `_serf_use-key`, `_serf_remove-key`,
 * `_serf_list-keys`. On the wire (go-msgpack, keys sorted by name):
 *
 *   request payload  = [7 key request][{Key: []byte}]     (list: Key = "")
 *   response payload = [8 key response]
 *                      [{Keys: []string|nil, Message: string,
 *                        PrimaryKey: string, Result: bool}]
 *
 * List responses carry the keys in base64, primary first; a list too big
 * for the response budget is truncated the way Serf does it (Message says
 * "truncated key list response, showing first N of M keys").
 *
 * The requester gathers responses in a struct serf_keys_summary (Serf's
 * KeyResponse): messages per node, NumNodes / NumResp / NumErr, and how
 * many nodes hold each key (and, for list, each primary key).
 *
 * Ownership: everything is caller-owned; nothing here allocates.
 */
#ifndef WEFT_GOSSIP_SERF_KEYS_H
#define WEFT_GOSSIP_SERF_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "gossip/keyring.h"
#include "gossip/ml_types.h"

enum serf_keys_op { SERF_KEYS_INSTALL, SERF_KEYS_USE, SERF_KEYS_REMOVE, SERF_KEYS_LIST };

/* The internal query names. */
#define SERF_KEYS_Q_INSTALL "_serf_install-key"
#define SERF_KEYS_Q_USE "_serf_use-key"
#define SERF_KEYS_Q_REMOVE "_serf_remove-key"
#define SERF_KEYS_Q_LIST "_serf_list-keys"

/* Serf's QueryResponseSizeLimit default: a whole query response message
 * (type byte + msgpack) must fit in it. */
#define SERF_KEYS_RESP_LIMIT 1024
/* Room for a request payload: [7] + a map of one 32-byte key. */
#define SERF_KEYS_REQ_MAX 64

/** "install" / "use" / "remove" / "list" -> *op. Returns 0, or -1 (unknown). */
int serf_keys_op_parse(const char *s, enum serf_keys_op *op);
/** The op's word ("install", ...). */
const char *serf_keys_op_name(enum serf_keys_op op);
/** The op's internal query name ("_serf_install-key", ...). */
const char *serf_keys_op_query(enum serf_keys_op op);

/**
 * The query payload for an operation. key_b64 is the key in standard
 * base64 (16, 24 or 32 bytes once decoded); ignored (may be NULL) for
 * list, which sends an empty Key as Serf does. Returns 0 with the payload
 * in out[0..*len), or -1 with a message (bad base64, bad key size).
 */
int serf_keys_request_encode(enum serf_keys_op op, const char *key_b64, uint8_t *out, size_t cap,
                             size_t *len, struct weft_err *e);

/**
 * Answer a key query as Serf does. kr NULL or empty means encryption is
 * off ("No keyring to modify (encryption not enabled)"; list: "Keyring is
 * empty (encryption not enabled)"). Refusals are Result=false responses
 * with memberlist's message (bad key size, use of a key not installed,
 * removing the primary); installing a key already there and removing one
 * that is absent succeed without a change, as in memberlist.
 *
 * cap bounds the response payload: pass the room the query response leaves
 * (see serf_keys_resp_budget); a list that does not fit is truncated.
 *
 * Returns 1 when query_name is one of the four key queries: resp[0..*resp_len)
 * is the response payload, *changed tells whether the keyring changed; e
 * holds why a request was malformed (for the log; the response, as Serf's,
 * then says Result=false with an empty Message). Returns 0 when the query
 * is not a key query (nothing written), -1 when resp is too small.
 */
int serf_keys_handle(struct keyring *kr, const char *query_name, const uint8_t *payload, size_t len,
                     uint8_t *resp, size_t cap, size_t *resp_len, bool *changed,
                     struct weft_err *e);

/**
 * The largest key response payload that keeps the query response message
 * (type 5: LTime, ID, From, Flags, Payload) within SERF_KEYS_RESP_LIMIT,
 * for a responder named `from` (conservative: the widest LTime and ID).
 */
size_t serf_keys_resp_budget(const char *from);

/* One node's decoded response (nodeKeyResponse). */
#define SERF_KEYS_MSG_MAX 256
#define SERF_KEYS_LIST_MAX 40 /* Serf: QueryResponseSizeLimit / minEncodedKeyLength */

struct serf_keys_node_resp {
    bool result;
    char message[SERF_KEYS_MSG_MAX];
    char keys[SERF_KEYS_LIST_MAX][KEYRING_B64_MAX];
    size_t n_keys;
    char primary[KEYRING_B64_MAX];
};

/**
 * Decode a response payload ([8][body]). Returns 0, or -1 with a message
 * (wrong type byte, bad msgpack, a key longer than a base64 AES key).
 */
int serf_keys_response_decode(const uint8_t *p, size_t len, struct serf_keys_node_resp *r,
                              struct weft_err *e);
/** Encode *r as a response payload ([8][body]). */
int serf_keys_response_encode(const struct serf_keys_node_resp *r, uint8_t *out, size_t cap,
                              size_t *len, struct weft_err *e);

/* The requester's summary (Serf's KeyResponse). Bounded: messages of more
 * than SERF_KEYS_NODES_MAX nodes, or more than SERF_KEYS_DISTINCT_MAX
 * distinct keys, are counted in `dropped` but not kept. */
#define SERF_KEYS_NODES_MAX 64
#define SERF_KEYS_DISTINCT_MAX 64

struct serf_keys_node_msg {
    char node[ML_NAME_MAX + 1];
    char message[SERF_KEYS_MSG_MAX];
};

struct serf_keys_count {
    char key[KEYRING_B64_MAX];
    unsigned count;
};

struct serf_keys_summary {
    enum serf_keys_op op;
    unsigned num_nodes; /* members the requester knows alive */
    unsigned num_resp;
    unsigned num_err;
    struct serf_keys_node_msg msgs[SERF_KEYS_NODES_MAX];
    size_t n_msgs;
    struct serf_keys_count keys[SERF_KEYS_DISTINCT_MAX];
    size_t n_keys;
    /* Serf counts every decoded response's PrimaryKey, "" included (the
     * other ops leave it empty); kept as Serf does. */
    struct serf_keys_count primary[SERF_KEYS_DISTINCT_MAX];
    size_t n_primary;
    unsigned dropped;
};

/** Start a summary for num_nodes members (cannot fail). */
void serf_keys_summary_init(struct serf_keys_summary *s, enum serf_keys_op op, unsigned num_nodes);
/** Count one node's response payload, as Serf's streamKeyResp does. */
void serf_keys_summary_add(struct serf_keys_summary *s, const char *from, const uint8_t *payload,
                           size_t len);
/** True once every node has answered (Serf stops waiting then). */
bool serf_keys_summary_done(const struct serf_keys_summary *s);
/**
 * Serf's verdict: 0 when every node answered without error; else -1 with
 * "N/M nodes reported failure" or "N/M nodes reported success" in e.
 */
int serf_keys_summary_verdict(const struct serf_keys_summary *s, struct weft_err *e);

#endif
