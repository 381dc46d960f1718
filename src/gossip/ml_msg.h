/*
 * ml_msg: memberlist 0.2.2's wire format, encode and decode, without I/O.
 *
 * Conventions for every function here:
 *   - decoders take the message BODY (the bytes after the type byte) and
 *     fill a caller-owned struct; on error they return -1 with
 *     "<where>: reason" in e and the struct's content is unspecified;
 *   - encoders write the whole message (type byte + body) into the caller's
 *     out[0..cap) and set *len; too small a buffer is an error, never a
 *     truncation;
 *   - nothing a peer sends is asserted on; every length is checked.
 * Files: ml_msg.c (the msgpack bodies), ml_compound.c (7), ml_crc.c (12),
 * lzw.c + ml_msg.c (9), ml_pushpull.c (6), ml_crypt.c (10 and UDP blobs),
 * ml_packet.c (the receive path for one datagram).
 */
#ifndef WEFT_GOSSIP_ML_MSG_H
#define WEFT_GOSSIP_ML_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "gossip/ml_types.h"

/* --- simple messages (ml_msg.c) --- */

/** ping (0) body -> *m. Returns 0, or -1 ("ping.Field: reason"). */
int ml_ping_decode(const uint8_t *b, size_t len, struct ml_ping *m, struct weft_err *e);
/** *m -> [0][body] in out[0..cap); empty Source* fields are omitted. Returns 0 or -1. */
int ml_ping_encode(const struct ml_ping *m, uint8_t *out, size_t cap, size_t *len,
                   struct weft_err *e);
/** indirectPing (1) body -> *m; Target must be 4 or 16 bytes. */
int ml_indirect_ping_decode(const uint8_t *b, size_t len, struct ml_indirect_ping *m,
                            struct weft_err *e);
/** *m -> [1][body]. */
int ml_indirect_ping_encode(const struct ml_indirect_ping *m, uint8_t *out, size_t cap, size_t *len,
                            struct weft_err *e);
/** ack (2) body -> *m; Payload <= ML_ACK_PAYLOAD_MAX, copied. */
int ml_ack_decode(const uint8_t *b, size_t len, struct ml_ack *m, struct weft_err *e);
/** *m -> [2][body]; an empty payload is nil. */
int ml_ack_encode(const struct ml_ack *m, uint8_t *out, size_t cap, size_t *len,
                  struct weft_err *e);
/** nack (11) body -> *m. */
int ml_nack_decode(const uint8_t *b, size_t len, struct ml_nack *m, struct weft_err *e);
/** *m -> [11][body]. */
int ml_nack_encode(const struct ml_nack *m, uint8_t *out, size_t cap, size_t *len,
                   struct weft_err *e);
/** suspect (3) and dead (5) share one body -> *m. */
int ml_suspect_decode(const uint8_t *b, size_t len, struct ml_suspect *m, struct weft_err *e);
/** *m -> [type][body]; type must be ML_SUSPECT or ML_DEAD. */
int ml_suspect_encode(enum ml_type type, const struct ml_suspect *m, uint8_t *out, size_t cap,
                      size_t *len, struct weft_err *e);
/** alive (4) body -> *m; Addr 4/16, Meta <= 512, Vsn nil or 6 bytes. */
int ml_alive_decode(const uint8_t *b, size_t len, struct ml_alive *m, struct weft_err *e);
/** *m -> [4][body]. */
int ml_alive_encode(const struct ml_alive *m, uint8_t *out, size_t cap, size_t *len,
                    struct weft_err *e);
/** err (13) body -> *m. */
int ml_errmsg_decode(const uint8_t *b, size_t len, struct ml_errmsg *m, struct weft_err *e);
/** *m -> [13][body]. */
int ml_errmsg_encode(const struct ml_errmsg *m, uint8_t *out, size_t cap, size_t *len,
                     struct weft_err *e);
/** user (8) over UDP: the type byte then the raw user bytes. */
int ml_user_encode(const uint8_t *msg, size_t n, uint8_t *out, size_t cap, size_t *len,
                   struct weft_err *e);

/* --- compress (9) (ml_msg.c over lzw.c) --- */

/* Decompressed size cap for one packet or stream. memberlist HEAD uses
 * 40 MiB for streams; a gateway needs far less: push/pull of 1000 nodes
 * with 512-byte meta is ~700 KiB. */
#define ML_DECOMPRESS_MAX (4u * 1024 * 1024)

/** Decode the {Algo, Buf} body; *used = bytes of msgpack consumed. */
int ml_compress_decode(const uint8_t *b, size_t len, struct ml_compress *m, size_t *used,
                       struct weft_err *e);
/**
 * Decompress a compress body into a new buffer (*out, owned by the caller,
 * free() it) of at most max bytes. Unknown Algo, bad LZW or more than max
 * bytes of output -> -1.
 */
int ml_compress_unwrap(const uint8_t *b, size_t len, size_t max, uint8_t **out, size_t *outlen,
                       size_t *used, struct weft_err *e);
/** Compress in[0..n) (a whole typed message) into a type-9 message in out. */
int ml_compress_wrap(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *len,
                     struct weft_err *e);

/* --- compound (7) (ml_compound.c) --- */

/* A compound's count is a u8; lengths are u16. */
#define ML_COMPOUND_MAX 255

struct ml_part {
    const uint8_t *p; /* into the caller's buffer */
    size_t len;
};

/**
 * Split a compound body into at most max parts (pointers into b). Parts
 * announced but not present are an error here (memberlist counts them as
 * "truncated" and keeps the complete ones: *n still says how many were
 * complete when -1 is returned with a partial result).
 */
int ml_compound_split(const uint8_t *b, size_t len, struct ml_part *parts, size_t max, size_t *n,
                      struct weft_err *e);
/** Build a compound message from n (1..255) parts each < 64 KiB. */
int ml_compound_build(const struct ml_part *parts, size_t n, uint8_t *out, size_t cap, size_t *len,
                      struct weft_err *e);

/* --- CRC wrapper (12) (ml_crc.c) --- */

/** CRC-32/IEEE (the zlib/Go hash/crc32 one) of p[0..n). */
uint32_t ml_crc32(const uint8_t *p, size_t n);
/** Check a hasCrc body (u32 BE CRC of the rest, then the message). */
int ml_crc_unwrap(const uint8_t *b, size_t len, const uint8_t **msg, size_t *msglen,
                  struct weft_err *e);
/** Wrap a message: [12][crc u32 BE][msg]. out may be msg (in place, cap >= n + 5). */
int ml_crc_wrap(const uint8_t *msg, size_t n, uint8_t *out, size_t cap, size_t *len,
                struct weft_err *e);

/* --- push/pull stream (6) (ml_pushpull.c) --- */

/* Nodes in one push/pull: the decoder's hard cap (memberlist 0.2.2 has
 * none). The real refusal limit is the caller's members_max (default 4096);
 * this one only bounds what the simulator may configure. */
#define ML_PUSH_NODES_MAX 65536
/* The smallest encoded pushNodeState a decoder accepts (a map with Name and
 * a 4-byte Addr): a header announcing more nodes than the bytes can hold is
 * refused before allocating. */
#define ML_PUSH_NODE_MIN_BYTES 12
/* UserStateLen and any stream: memberlist's maxPushStateBytes (20 MiB). */
#define ML_PUSH_BYTES_MAX (20u * 1024 * 1024)

/**
 * Decode a push/pull body (after the 6): the header, then up to max nodes
 * into nodes[], then the user state that follows (a pointer into b). More
 * nodes than max, or fewer bytes than announced, is an error.
 */
int ml_push_pull_decode(const uint8_t *b, size_t len, struct ml_push_pull_header *h,
                        struct ml_push_node *nodes, size_t max, const uint8_t **user_state,
                        struct weft_err *e);
/**
 * The same, but the node array is malloc'd to the header's count (*nodes,
 * owned by the caller: free() it; NULL on error). A count above max, or
 * above what len bytes can hold, is refused before allocating.
 */
int ml_push_pull_decode_alloc(const uint8_t *b, size_t len, struct ml_push_pull_header *h,
                              struct ml_push_node **nodes, size_t max, const uint8_t **user_state,
                              struct weft_err *e);
/** Encode [6][header][nodes][user state]; h->nodes/user_state_len are taken from n and ulen. */
int ml_push_pull_encode(bool join, const struct ml_push_node *nodes, size_t n,
                        const uint8_t *user_state, size_t ulen, uint8_t *out, size_t cap,
                        size_t *len, struct weft_err *e);

/* --- the receive path of one datagram (ml_packet.c) --- */

/** Called once per leaf message; body excludes the type byte; valid during the call. */
typedef int (*ml_packet_fn)(void *ctx, enum ml_type type, const uint8_t *body, size_t len,
                            struct weft_err *e);

/* CRC, compound and compress may nest; Go does not limit it, we do. */
#define ML_PACKET_DEPTH_MAX 4

/**
 * Walk a plaintext packet: CRC (12) is checked, compound (7) split,
 * compress (9) inflated (at most ML_DECOMPRESS_MAX), and fn called for each
 * other message. Unknown types and hasLabel go to fn too (the caller
 * decides). Returns 0 if every part was good and fn returned 0; the first
 * error stops the walk.
 */
int ml_packet_walk(const uint8_t *pkt, size_t len, ml_packet_fn fn, void *ctx, struct weft_err *e);

#endif
