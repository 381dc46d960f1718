/*
 * ml_types: memberlist 0.2.2's wire messages as C structs.
 *
 * Every message a decoder fills is caller-owned and fixed-size: names are
 * NUL-terminated in ML_NAME_MAX + 1 bytes, addresses are 4 or 16 raw bytes,
 * meta is at most ML_META_MAX bytes (memberlist's MetaMaxSize). A peer that
 * sends more gets an error, never a truncation. Field names in comments are
 * the msgpack map keys memberlist writes (its Go field names).
 */
#ifndef WEFT_GOSSIP_ML_TYPES_H
#define WEFT_GOSSIP_ML_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The first byte of every message (memberlist net.go; append-only). */
enum ml_type {
    ML_PING = 0,
    ML_INDIRECT_PING = 1,
    ML_ACK = 2,
    ML_SUSPECT = 3,
    ML_ALIVE = 4,
    ML_DEAD = 5,
    ML_PUSH_PULL = 6,
    ML_COMPOUND = 7,
    ML_USER = 8,
    ML_COMPRESS = 9,
    ML_ENCRYPT = 10,
    ML_NACK = 11,
    ML_HAS_CRC = 12,
    ML_ERR = 13,
    /* v0.3.0+ label prefix; unknown to 0.2.2 (we never send it). */
    ML_HAS_LABEL = 244,
};

/* Limits. Names: Serf/Consul names are host names; 128 is memberlist's
 * later ValidateNodeNames limit. Meta: memberlist's MetaMaxSize = 512. */
#define ML_NAME_MAX 128
#define ML_META_MAX 512
#define ML_ADDR_MAX 16
#define ML_VSN_LEN 6
/* Ack payloads carry Serf's Vivaldi coordinate (~100 bytes). */
#define ML_ACK_PAYLOAD_MAX 1024
#define ML_ERROR_MAX 256

/* Node states in push/pull (memberlist NodeStateType). */
enum ml_state { ML_STATE_ALIVE = 0, ML_STATE_SUSPECT = 1, ML_STATE_DEAD = 2, ML_STATE_LEFT = 3 };

/* Vsn = pmin, pmax, pcur, dmin, dmax, dcur. */
enum ml_vsn_index { ML_VSN_PMIN, ML_VSN_PMAX, ML_VSN_PCUR, ML_VSN_DMIN, ML_VSN_DMAX, ML_VSN_DCUR };

/* ping (0): SeqNo, Node, SourceAddr*, SourcePort*, SourceNode* (* omitempty). */
struct ml_ping {
    uint32_t seq_no;
    char node[ML_NAME_MAX + 1];
    uint8_t source_addr[ML_ADDR_MAX];
    size_t source_addr_len; /* 0, 4 or 16 */
    uint16_t source_port;
    char source_node[ML_NAME_MAX + 1];
};

/* indirectPing (1): SeqNo, Target, Port, Node, Nack, SourceAddr*, SourcePort*, SourceNode*. */
struct ml_indirect_ping {
    uint32_t seq_no;
    uint8_t target[ML_ADDR_MAX];
    size_t target_len;
    uint16_t port;
    char node[ML_NAME_MAX + 1];
    bool nack;
    uint8_t source_addr[ML_ADDR_MAX];
    size_t source_addr_len;
    uint16_t source_port;
    char source_node[ML_NAME_MAX + 1];
};

/* ack (2): SeqNo, Payload (nil when empty). */
struct ml_ack {
    uint32_t seq_no;
    uint8_t payload[ML_ACK_PAYLOAD_MAX];
    size_t payload_len;
};

/* nack (11): SeqNo. */
struct ml_nack {
    uint32_t seq_no;
};

/* suspect (3) and dead (5): Incarnation, Node, From. A dead with
 * From == Node is a graceful leave. */
struct ml_suspect {
    uint32_t incarnation;
    char node[ML_NAME_MAX + 1];
    char from[ML_NAME_MAX + 1];
};

/* alive (4): Incarnation, Node, Addr, Port, Meta, Vsn. */
struct ml_alive {
    uint32_t incarnation;
    char node[ML_NAME_MAX + 1];
    uint8_t addr[ML_ADDR_MAX];
    size_t addr_len;
    uint16_t port;
    uint8_t meta[ML_META_MAX];
    size_t meta_len;
    uint8_t vsn[ML_VSN_LEN];
    size_t vsn_len; /* 0 (nil) or 6 */
};

/* err (13): Error. */
struct ml_errmsg {
    char error[ML_ERROR_MAX];
};

/* compress (9): Algo (0 = LZW), Buf. buf points into the input. */
struct ml_compress {
    int64_t algo;
    const uint8_t *buf;
    size_t buf_len;
};

/* The header of a push/pull stream (6): Nodes, UserStateLen, Join. */
struct ml_push_pull_header {
    uint32_t nodes;
    uint32_t user_state_len;
    bool join;
};

/* One pushNodeState: Name, Addr, Port, Meta, Incarnation, State, Vsn. */
struct ml_push_node {
    char name[ML_NAME_MAX + 1];
    uint8_t addr[ML_ADDR_MAX];
    size_t addr_len;
    uint16_t port;
    uint8_t meta[ML_META_MAX];
    size_t meta_len;
    uint32_t incarnation;
    uint8_t state; /* enum ml_state */
    uint8_t vsn[ML_VSN_LEN];
    size_t vsn_len;
};

#endif
