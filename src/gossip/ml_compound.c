/*
 * ml_compound: memberlist's compound message (7), several messages in one
 * datagram:
 *
 *   +----+-------+------------------+------------------+-----+--------+-----+
 *   | 07 | count | len[0] u16 BE    | len[1] u16 BE    | ... | part 0 | ... |
 *   +----+-------+------------------+------------------+-----+--------+-----+
 *
 * Each part is a whole typed message. The split hands out pointers into the
 * caller's buffer; nothing is copied. Bytes after the last part are ignored
 * (memberlist does the same).
 */
#include "gossip/ml_msg.h"

#include <string.h>

int ml_compound_split(const uint8_t *b, size_t len, struct ml_part *parts, size_t max, size_t *n,
                      struct weft_err *e)
{
    *n = 0;
    if (len < 1)
        return err_set(e, "compound: missing count byte");
    size_t count = b[0];
    if (len - 1 < 2 * count)
        return err_set(e, "compound: %zu parts announced, lengths truncated", count);
    if (count > max)
        return err_set(e, "compound: %zu parts, room for %zu", count, max);
    const uint8_t *lens = b + 1;
    size_t off = 1 + 2 * count;
    for (size_t i = 0; i < count; i++) {
        size_t pl = (size_t)lens[2 * i] << 8 | lens[2 * i + 1];
        if (pl > len - off)
            return err_set(e, "compound: part %zu of %zu truncated (%zu bytes, %zu left)", i, count,
                           pl, len - off);
        parts[i].p = b + off;
        parts[i].len = pl;
        off += pl;
        *n = i + 1;
    }
    return 0;
}

int ml_compound_build(const struct ml_part *parts, size_t n, uint8_t *out, size_t cap, size_t *len,
                      struct weft_err *e)
{
    if (n == 0 || n > ML_COMPOUND_MAX)
        return err_set(e, "compound build: %zu parts (1..%d)", n, ML_COMPOUND_MAX);
    size_t need = 2 + 2 * n;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].len > UINT16_MAX)
            return err_set(e, "compound build: part %zu of %zu bytes", i, parts[i].len);
        need += parts[i].len;
    }
    if (need > cap)
        return err_set(e, "compound build: %zu bytes needed, room for %zu", need, cap);
    out[0] = ML_COMPOUND;
    out[1] = (uint8_t)n;
    size_t off = 2 + 2 * n;
    for (size_t i = 0; i < n; i++) {
        out[2 + 2 * i] = (uint8_t)(parts[i].len >> 8);
        out[3 + 2 * i] = (uint8_t)parts[i].len;
        if (parts[i].len)
            memcpy(out + off, parts[i].p, parts[i].len);
        off += parts[i].len;
    }
    *len = off;
    return 0;
}
