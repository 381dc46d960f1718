/*
 * ml_packet: the plaintext receive path of one datagram, as memberlist's
 * ingestPacket/handleCommand run it (after decryption):
 *
 *   12 hasCrc    -> check, continue with the inner message
 *   7  compound  -> each complete part, in order
 *   9  compress  -> inflate (capped), continue with the result
 *   else         -> the caller's callback with (type, body)
 *
 * Nesting is limited to ML_PACKET_DEPTH_MAX wrappers. The inflated buffer is
 * owned here and freed before returning: callbacks must copy what they keep.
 */
#include "gossip/ml_msg.h"

#include <stdlib.h>

static int pkt_walk(const uint8_t *p, size_t len, int depth, ml_packet_fn fn, void *ctx,
                    struct weft_err *e)
{
    if (len < 1)
        return err_set(e, "packet: empty message");
    if (depth > ML_PACKET_DEPTH_MAX)
        return err_set(e, "packet: wrappers nested deeper than %d", ML_PACKET_DEPTH_MAX);
    const uint8_t *b = p + 1;
    size_t blen = len - 1;
    switch (p[0]) {
    case ML_HAS_CRC: {
        const uint8_t *m;
        size_t mlen;
        if (ml_crc_unwrap(b, blen, &m, &mlen, e) < 0)
            return -1;
        return pkt_walk(m, mlen, depth + 1, fn, ctx, e);
    }
    case ML_COMPOUND: {
        struct ml_part parts[ML_COMPOUND_MAX];
        size_t n = 0;
        int rc = ml_compound_split(b, blen, parts, ML_COMPOUND_MAX, &n, e);
        /* memberlist handles the complete parts even when some are cut. */
        for (size_t i = 0; i < n; i++) {
            struct weft_err pe = {{0}};
            if (pkt_walk(parts[i].p, parts[i].len, depth + 1, fn, ctx, &pe) < 0) {
                err_set(e, "compound part %zu: %s", i, pe.msg);
                return -1;
            }
        }
        return rc;
    }
    case ML_COMPRESS: {
        uint8_t *in;
        size_t inlen, used;
        if (ml_compress_unwrap(b, blen, ML_DECOMPRESS_MAX, &in, &inlen, &used, e) < 0)
            return -1;
        int rc = pkt_walk(in, inlen, depth + 1, fn, ctx, e);
        free(in);
        return rc;
    }
    default:
        return fn(ctx, (enum ml_type)p[0], b, blen, e);
    }
}

int ml_packet_walk(const uint8_t *pkt, size_t len, ml_packet_fn fn, void *ctx, struct weft_err *e)
{
    return pkt_walk(pkt, len, 0, fn, ctx, e);
}
