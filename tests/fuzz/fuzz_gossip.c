/*
 * fuzz_gossip: the memberlist receive path of gossip/ml_msg.h on one
 * plaintext datagram or stream (what is left after decryption):
 *
 *   - ml_packet_walk(): CRC (12), compound (7), compress (9, LZW, capped),
 *     then every leaf message through its decoder: ping, indirect ping,
 *     ack, nack, suspect/dead, alive (+ Serf tags in its meta), err, and
 *     user (8) messages through the Serf decoders;
 *   - the stream path: [compress] push/pull (6) with its nodes and the
 *     Serf push/pull user state.
 *
 * Invariants: a decoder that fails says why (e is set); a message that
 * decodes re-encodes, and that encoding decodes to the same struct
 * (decode . encode is the identity on what we accept); nothing leaks.
 * Seeds: every datagram and both push/pull streams of the serf 0.9.4
 * capture (tests/data/serf-0.9.4/plain.txt), one file each.
 */
#include <string.h>

#include "fuzz.h"
#include "gossip/ml_msg.h"
#include "gossip/serf_msg.h"

static uint8_t enc[1 << 16];

/* decode(encode(m)) == m, for one message type. */
#define FUZZ_RT(type_, m_, encode_call, dec_fn)                                                    \
    do {                                                                                           \
        size_t el_;                                                                                \
        struct weft_err ee_ = {{0}};                                                               \
        static type_ again_;                                                                       \
        FUZZ_CHECK((encode_call) == 0, "re-encode failed: %s", ee_.msg);                           \
        FUZZ_CHECK(dec_fn(enc + 1, el_ - 1, &again_, &ee_) == 0, "re-decode failed: %s", ee_.msg); \
        FUZZ_CHECK(memcmp(&again_, &(m_), sizeof(again_)) == 0, "round trip differs");             \
    } while (0)

static void fuzz_tags(const uint8_t *meta, size_t len)
{
    static struct serf_tag tags[SERF_TAGS_MAX];
    size_t n;
    struct weft_err e = {{0}};
    if (serf_tags_decode(meta, len, tags, SERF_TAGS_MAX, &n, &e) < 0)
        FUZZ_CHECK(err_is_set(&e), "tags: no message");
}

static void fuzz_serf(const uint8_t *b, size_t len)
{
    struct weft_err e = {{0}};
    int rc = 0;
    if (len < 1)
        return;
    switch (b[0]) {
    case SERF_JOIN: {
        static struct serf_join m;
        if ((rc = serf_join_decode(b + 1, len - 1, &m, &e)) == 0)
            FUZZ_RT(struct serf_join, m, serf_join_encode(&m, enc, sizeof(enc), &el_, &ee_),
                    serf_join_decode);
        break;
    }
    case SERF_LEAVE: {
        static struct serf_leave m;
        if ((rc = serf_leave_decode(b + 1, len - 1, &m, &e)) == 0)
            FUZZ_RT(struct serf_leave, m, serf_leave_encode(&m, enc, sizeof(enc), &el_, &ee_),
                    serf_leave_decode);
        break;
    }
    case SERF_USER_EVENT: {
        static struct serf_user_event m;
        rc = serf_user_event_decode(b + 1, len - 1, &m, &e);
        break;
    }
    case SERF_QUERY: {
        static struct serf_query m;
        rc = serf_query_decode(b + 1, len - 1, &m, &e);
        break;
    }
    case SERF_QUERY_RESPONSE: {
        static struct serf_query_response m;
        rc = serf_query_response_decode(b + 1, len - 1, &m, &e);
        break;
    }
    case SERF_PUSH_PULL: {
        struct serf_push_pull m;
        static struct serf_status st[64];
        rc = serf_push_pull_decode(b + 1, len - 1, &m, st, 64, &e);
        break;
    }
    default:
        return;
    }
    if (rc < 0)
        FUZZ_CHECK(err_is_set(&e), "serf type %u: no message", b[0]);
}

static int on_msg(void *ctx, enum ml_type type, const uint8_t *b, size_t len, struct weft_err *e)
{
    (void)ctx;
    int rc = 0;
    switch (type) {
    case ML_PING: {
        static struct ml_ping m;
        if ((rc = ml_ping_decode(b, len, &m, e)) == 0)
            FUZZ_RT(struct ml_ping, m, ml_ping_encode(&m, enc, sizeof(enc), &el_, &ee_),
                    ml_ping_decode);
        break;
    }
    case ML_INDIRECT_PING: {
        static struct ml_indirect_ping m;
        if ((rc = ml_indirect_ping_decode(b, len, &m, e)) == 0)
            FUZZ_RT(struct ml_indirect_ping, m,
                    ml_indirect_ping_encode(&m, enc, sizeof(enc), &el_, &ee_),
                    ml_indirect_ping_decode);
        break;
    }
    case ML_ACK: {
        static struct ml_ack m;
        if ((rc = ml_ack_decode(b, len, &m, e)) == 0)
            FUZZ_RT(struct ml_ack, m, ml_ack_encode(&m, enc, sizeof(enc), &el_, &ee_),
                    ml_ack_decode);
        break;
    }
    case ML_NACK: {
        static struct ml_nack m;
        if ((rc = ml_nack_decode(b, len, &m, e)) == 0)
            FUZZ_RT(struct ml_nack, m, ml_nack_encode(&m, enc, sizeof(enc), &el_, &ee_),
                    ml_nack_decode);
        break;
    }
    case ML_SUSPECT:
    case ML_DEAD: {
        static struct ml_suspect m;
        if ((rc = ml_suspect_decode(b, len, &m, e)) == 0)
            FUZZ_RT(struct ml_suspect, m, ml_suspect_encode(type, &m, enc, sizeof(enc), &el_, &ee_),
                    ml_suspect_decode);
        break;
    }
    case ML_ALIVE: {
        static struct ml_alive m;
        if ((rc = ml_alive_decode(b, len, &m, e)) == 0) {
            FUZZ_RT(struct ml_alive, m, ml_alive_encode(&m, enc, sizeof(enc), &el_, &ee_),
                    ml_alive_decode);
            fuzz_tags(m.meta, m.meta_len);
        }
        break;
    }
    case ML_ERR: {
        static struct ml_errmsg m;
        rc = ml_errmsg_decode(b, len, &m, e);
        break;
    }
    case ML_USER:
        fuzz_serf(b, len);
        return 0;
    default:
        return 0; /* unknown types: the caller's business */
    }
    if (rc < 0)
        FUZZ_CHECK(err_is_set(e), "type %d: decoder failed without a message", (int)type);
    return rc;
}

static void fuzz_stream(const uint8_t *s, size_t len)
{
    struct weft_err e = {{0}};
    uint8_t *in = NULL;
    size_t inlen, used;
    if (len < 1)
        return;
    if (s[0] == ML_COMPRESS) {
        if (ml_compress_unwrap(s + 1, len - 1, ML_DECOMPRESS_MAX, &in, &inlen, &used, &e) < 0) {
            FUZZ_CHECK(err_is_set(&e), "compress: no message");
            return;
        }
        FUZZ_CHECK(inlen > 0 && inlen <= ML_DECOMPRESS_MAX, "bad inflated size %zu", inlen);
        s = in;
        len = inlen;
    }
    if (s[0] == ML_PUSH_PULL) {
        static struct ml_push_node nodes[64];
        struct ml_push_pull_header h;
        const uint8_t *us;
        if (ml_push_pull_decode(s + 1, len - 1, &h, nodes, 64, &us, &e) == 0) {
            FUZZ_CHECK(h.nodes <= 64, "%u nodes", h.nodes);
            FUZZ_CHECK(us + h.user_state_len <= s + len, "user state past the end");
            for (uint32_t i = 0; i < h.nodes; i++)
                fuzz_tags(nodes[i].meta, nodes[i].meta_len);
            fuzz_serf(us, h.user_state_len);
        } else {
            FUZZ_CHECK(err_is_set(&e), "push/pull: no message");
        }
        /* The sized decoder (swim_on_stream's): same verdict, an array of
         * exactly the announced count, nothing allocated on error. */
        struct ml_push_node *an = NULL;
        struct ml_push_pull_header ha;
        const uint8_t *ua;
        struct weft_err ea = {{0}};
        int ra = ml_push_pull_decode_alloc(s + 1, len - 1, &ha, &an, 64, &ua, &ea);
        FUZZ_CHECK((ra == 0) == (an != NULL), "alloc decoder: result and array disagree");
        FUZZ_CHECK(ra != 0 || ha.nodes <= 64, "alloc decoder: %u nodes", ha.nodes);
        FUZZ_CHECK(ra == 0 || err_is_set(&ea), "alloc decoder: no message");
        free(an);
    }
    free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct weft_err e = {{0}};
    if (ml_packet_walk(data, size, on_msg, NULL, &e) < 0)
        FUZZ_CHECK(err_is_set(&e), "packet walk failed without a message");
    fuzz_stream(data, size);
    return 0;
}
