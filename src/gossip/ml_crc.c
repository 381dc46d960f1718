/*
 * ml_crc: memberlist's hasCrc wrapper (12), sent to peers whose protocol
 * max is >= 5:
 *
 *   +----+------------------------+-----------------+
 *   | 0c | CRC-32/IEEE u32 BE     | message ...     |
 *   +----+------------------------+-----------------+
 *
 * The CRC covers the message only (not the 0c nor itself). CRC-32/IEEE is
 * the reflected 0xEDB88320 polynomial with init and final xor 0xFFFFFFFF
 * (Go's crc32.ChecksumIEEE, zlib's crc32); a 1 KiB table built on first use.
 */
#include "gossip/ml_msg.h"

#include <string.h>

static uint32_t crc_table[256];
static int crc_ready;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    crc_ready = 1;
}

uint32_t ml_crc32(const uint8_t *p, size_t n)
{
    /* The table is the same whoever builds it: a race writes equal values. */
    if (!crc_ready)
        crc_init();
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

int ml_crc_unwrap(const uint8_t *b, size_t len, const uint8_t **msg, size_t *msglen,
                  struct weft_err *e)
{
    if (len < 4)
        return err_set(e, "crc: %zu bytes, shorter than the checksum", len);
    uint32_t want = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    uint32_t got = ml_crc32(b + 4, len - 4);
    if (want != got)
        return err_set(e, "crc: checksum 0x%08x, computed 0x%08x", want, got);
    *msg = b + 4;
    *msglen = len - 4;
    return 0;
}

int ml_crc_wrap(const uint8_t *msg, size_t n, uint8_t *out, size_t cap, size_t *len,
                struct weft_err *e)
{
    if (cap < 5 || n > cap - 5)
        return err_set(e, "crc wrap: output buffer of %zu bytes too small", cap);
    uint32_t c = ml_crc32(msg, n);
    /* Move first: out may be msg itself (wrapping in place). */
    memmove(out + 5, msg, n);
    out[0] = ML_HAS_CRC;
    out[1] = (uint8_t)(c >> 24);
    out[2] = (uint8_t)(c >> 16);
    out[3] = (uint8_t)(c >> 8);
    out[4] = (uint8_t)c;
    *len = n + 5;
    return 0;
}
