/*
 * lzw: see lzw.h for the format. The decoder keeps the dictionary as
 * prefix/suffix arrays (prefix[c] < c always holds for defined codes, so
 * every chain walk ends within 4096 steps); the encoder keeps an open-
 * addressing hash of (prefix code, byte) -> code, 16384 slots (64 KiB,
 * malloc'd per call: compression runs a few times per second at most).
 */
#include "gossip/lzw.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LZW_LIT 8
#define LZW_CLEAR 256u
#define LZW_EOF 257u
#define LZW_MAX_WIDTH 12
#define LZW_MAX_CODE 4095u
#define LZW_INVALID 0xffffu

/* A growable output with a hard cap. */
struct lzw_out {
    uint8_t *p;
    size_t len, cap, max;
};

static int lzw_out_put(struct lzw_out *o, const uint8_t *p, size_t n, struct weft_err *e)
{
    if (n > o->max - o->len)
        return err_set(e, "lzw: output over the %zu-byte limit", o->max);
    if (n > o->cap - o->len) {
        size_t nc = o->cap ? o->cap : 256;
        while (nc - o->len < n)
            nc = nc > o->max / 2 ? o->max : nc * 2;
        uint8_t *q = realloc(o->p, nc);
        if (!q)
            return err_set(e, "lzw: out of memory");
        o->p = q;
        o->cap = nc;
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
    return 0;
}

int lzw_decompress(const uint8_t *in, size_t n, size_t max, uint8_t **out, size_t *outlen,
                   struct weft_err *e)
{
    uint16_t prefix[4096];
    uint8_t suffix[4096];
    uint8_t stack[4096];
    struct lzw_out o = {NULL, 0, 0, max};
    unsigned width = LZW_LIT + 1, hi = LZW_EOF, overflow = 1u << width;
    unsigned last = LZW_INVALID;
    uint32_t bits = 0;
    unsigned nbits = 0;
    size_t pos = 0;
    bool done = false;

    memset(prefix, 0, sizeof(prefix));
    memset(suffix, 0, sizeof(suffix));
    *out = NULL;
    *outlen = 0;
    while (!done) {
        while (nbits < width) {
            if (pos >= n) {
                err_set(e, "lzw: input ends before the end code");
                goto fail;
            }
            bits |= (uint32_t)in[pos++] << nbits;
            nbits += 8;
        }
        unsigned code = bits & ((1u << width) - 1);
        bits >>= width;
        nbits -= width;

        if (code < LZW_CLEAR) {
            uint8_t b = (uint8_t)code;
            if (lzw_out_put(&o, &b, 1, e) < 0)
                goto fail;
            if (last != LZW_INVALID) {
                suffix[hi] = b;
                prefix[hi] = (uint16_t)last;
            }
        } else if (code == LZW_CLEAR) {
            width = LZW_LIT + 1;
            hi = LZW_EOF;
            overflow = 1u << width;
            last = LZW_INVALID;
            continue;
        } else if (code == LZW_EOF) {
            done = true;
            break;
        } else if (code <= hi) {
            size_t i = sizeof(stack);
            unsigned c = code;
            if (code == hi) {
                if (last == LZW_INVALID) {
                    err_set(e, "lzw: code %u refers to no entry", code);
                    goto fail;
                }
                /* KwKwK: the last string plus its own first byte. */
                c = last;
                while (c >= LZW_CLEAR)
                    c = prefix[c];
                stack[--i] = (uint8_t)c;
                c = last;
            }
            while (c >= LZW_CLEAR) {
                if (i == 0) {
                    err_set(e, "lzw: dictionary chain too long");
                    goto fail;
                }
                stack[--i] = suffix[c];
                c = prefix[c];
            }
            if (i == 0) {
                err_set(e, "lzw: dictionary chain too long");
                goto fail;
            }
            stack[--i] = (uint8_t)c;
            if (lzw_out_put(&o, stack + i, sizeof(stack) - i, e) < 0)
                goto fail;
            if (last != LZW_INVALID) {
                suffix[hi] = (uint8_t)c;
                prefix[hi] = (uint16_t)last;
            }
        } else {
            err_set(e, "lzw: invalid code %u (next free %u)", code, hi);
            goto fail;
        }
        last = code;
        hi++;
        if (hi >= overflow) {
            if (width == LZW_MAX_WIDTH) {
                /* Dictionary full: no new entries until a clear code. */
                last = LZW_INVALID;
                hi--;
            } else {
                width++;
                overflow = 1u << width;
            }
        }
    }
    if (o.len == 0) {
        /* Nothing decoded: hand back an empty, freeable buffer. */
        o.p = malloc(1);
        if (!o.p)
            return err_set(e, "lzw: out of memory");
    }
    *out = o.p;
    *outlen = o.len;
    return 0;
fail:
    free(o.p);
    return -1;
}

/* --- encoder --- */

#define LZW_TABLE 16384u /* 4 * 4096 slots, as Go sizes it */
#define LZW_TMASK (LZW_TABLE - 1)

struct lzw_enc {
    uint32_t *table; /* key << 12 | code; 0 = empty (code 0 is never stored) */
    uint8_t *out;
    size_t len;
    uint32_t bits;
    unsigned nbits, width, hi, overflow;
};

static void lzw_emit(struct lzw_enc *w, unsigned code)
{
    w->bits |= (uint32_t)code << w->nbits;
    w->nbits += w->width;
    while (w->nbits >= 8) {
        w->out[w->len++] = (uint8_t)w->bits;
        w->bits >>= 8;
        w->nbits -= 8;
    }
}

/* Next implied code; true when the dictionary was full and got reset. */
static bool lzw_inc_hi(struct lzw_enc *w)
{
    w->hi++;
    if (w->hi == w->overflow) {
        w->width++;
        w->overflow <<= 1;
    }
    if (w->hi == LZW_MAX_CODE) {
        lzw_emit(w, LZW_CLEAR);
        w->width = LZW_LIT + 1;
        w->hi = LZW_EOF;
        w->overflow = LZW_CLEAR << 1;
        memset(w->table, 0, LZW_TABLE * sizeof(uint32_t));
        return true;
    }
    return false;
}

int lzw_compress(const uint8_t *in, size_t n, uint8_t **out, size_t *outlen, struct weft_err *e)
{
    struct lzw_enc w = {0};
    *out = NULL;
    *outlen = 0;
    /* At most one code (<= 12 bits) per input byte, plus clear codes (one
     * per ~3800 codes), the end code and a partial byte. */
    if (n > (SIZE_MAX - 64) / 2)
        return err_set(e, "lzw: input too large");
    w.out = malloc(2 * n + 64);
    w.table = calloc(LZW_TABLE, sizeof(uint32_t));
    if (!w.out || !w.table) {
        free(w.out);
        free(w.table);
        return err_set(e, "lzw: out of memory");
    }
    w.width = LZW_LIT + 1;
    w.hi = LZW_EOF;
    w.overflow = 1u << w.width;
    lzw_emit(&w, LZW_CLEAR);
    if (n > 0) {
        unsigned code = in[0];
        for (size_t i = 1; i < n; i++) {
            uint32_t key = (uint32_t)code << 8 | in[i];
            uint32_t h = ((key >> 12) ^ key) & LZW_TMASK;
            bool hit = false;
            for (uint32_t t = w.table[h]; t != 0; t = w.table[h]) {
                if (key == t >> 12) {
                    code = t & LZW_MAX_CODE;
                    hit = true;
                    break;
                }
                h = (h + 1) & LZW_TMASK;
            }
            if (hit)
                continue;
            lzw_emit(&w, code);
            code = in[i];
            if (lzw_inc_hi(&w))
                continue;
            /* h is the first free slot of this key's probe sequence. */
            w.table[h] = key << 12 | w.hi;
        }
        lzw_emit(&w, code);
        (void)lzw_inc_hi(&w);
    }
    lzw_emit(&w, LZW_EOF);
    if (w.nbits > 0)
        w.out[w.len++] = (uint8_t)w.bits;
    free(w.table);
    *out = w.out;
    *outlen = w.len;
    return 0;
}
