/*
 * gossip/lzw: Go's compress/lzw (LSB, 8-bit literals) both ways.
 *  - every LZW buffer serf 0.9.4 sent in the capture (UDP and the push/pull
 *    streams) inflates, and our compressor gives back Go's exact bytes;
 *  - hand-derived outputs of Go's writer for tiny inputs;
 *  - long inputs that cross the 4095-code reset, round trip;
 *  - a decompression bomb stops at the cap; broken streams are refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "gossip/lzw.h"
#include "gossip/ml_msg.h"

#include "capture.h"

static void roundtrip(const uint8_t *in, size_t n)
{
    struct weft_err e = {{0}};
    uint8_t *z, *back;
    size_t zl, bl;
    assert_int_equal(lzw_compress(in, n, &z, &zl, &e), 0);
    assert_int_equal(lzw_decompress(z, zl, n + 1, &back, &bl, &e), 0);
    assert_int_equal(bl, n);
    if (n)
        assert_memory_equal(back, in, n);
    free(z);
    free(back);
}

/* The Buf of a compress body, found in a captured message. */
static int find_buf(const uint8_t *m, size_t len, struct ml_compress *c)
{
    struct weft_err e = {{0}};
    size_t used;
    if (len > 5 && m[0] == ML_HAS_CRC) {
        m += 5;
        len -= 5;
    }
    if (len < 2 || m[0] != ML_COMPRESS)
        return -1;
    return ml_compress_decode(m + 1, len - 1, c, &used, &e);
}

static void test_capture_buffers(void **state)
{
    (void)state;
    static struct capture c;
    int seen = 0;
    for (int f = 0; f < 1; f++) {
        assert_int_equal(cap_load(&c, "plain.txt"), 0);
        for (size_t i = 0; i < c.n; i++) {
            struct ml_compress cm;
            if (find_buf(c.rec[i].data, c.rec[i].len, &cm) < 0)
                continue;
            struct weft_err e = {{0}};
            uint8_t *out, *z, *again;
            size_t ol, zl, al;
            assert_int_equal(cm.algo, 0);
            assert_int_equal(lzw_decompress(cm.buf, cm.buf_len, 1 << 20, &out, &ol, &e), 0);
            assert_true(ol > 0);
            /* Go's writer is deterministic: ours writes the same bytes. */
            assert_int_equal(lzw_compress(out, ol, &z, &zl, &e), 0);
            assert_int_equal(zl, cm.buf_len);
            assert_memory_equal(z, cm.buf, zl);
            assert_int_equal(lzw_decompress(z, zl, ol, &again, &al, &e), 0);
            assert_int_equal(al, ol);
            assert_memory_equal(again, out, ol);
            /* One byte less of cap than needed: refused. */
            uint8_t *x;
            size_t xl;
            assert_int_equal(lzw_decompress(cm.buf, cm.buf_len, ol - 1, &x, &xl, &e), -1);
            assert_null(x);
            /* Every truncation is refused (the end code is missing). */
            for (size_t cut = 0; cut < cm.buf_len; cut++) {
                assert_int_equal(lzw_decompress(cm.buf, cut, 1 << 20, &x, &xl, &e), -1);
            }
            free(out);
            free(z);
            free(again);
            seen++;
        }
        cap_free(&c);
    }
    /* 2 push/pull streams + the compressed gossip datagrams. */
    assert_true(seen >= 3);
}

static void test_go_known_outputs(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    uint8_t *z;
    size_t zl;
    /* Empty input: clear (256) + eof (257), 9 bits each, LSB first. */
    static const uint8_t empty[] = {0x00, 0x03, 0x02};
    assert_int_equal(lzw_compress(NULL, 0, &z, &zl, &e), 0);
    assert_int_equal(zl, sizeof(empty));
    assert_memory_equal(z, empty, zl);
    free(z);
    /* "a": clear, 'a' (0x61), eof; the code after 'a' is still 9 bits. */
    static const uint8_t one[] = {0x00, 0xc3, 0x04, 0x04};
    assert_int_equal(lzw_compress((const uint8_t *)"a", 1, &z, &zl, &e), 0);
    assert_int_equal(zl, sizeof(one));
    assert_memory_equal(z, one, zl);
    uint8_t *out;
    size_t ol;
    assert_int_equal(lzw_decompress(z, zl, 16, &out, &ol, &e), 0);
    assert_int_equal(ol, 1);
    assert_int_equal(out[0], 'a');
    free(out);
    free(z);
    /* Without the leading clear code (older writers) it still decodes. */
    static const uint8_t noclear[] = {0x61, 0x02, 0x02};
    assert_int_equal(lzw_decompress(noclear, sizeof(noclear), 16, &out, &ol, &e), 0);
    assert_int_equal(ol, 1);
    assert_int_equal(out[0], 'a');
    free(out);
}

static void test_long_inputs(void **state)
{
    (void)state;
    static uint8_t buf[300000];
    /* Incompressible: crosses the 4095-code reset many times. */
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    roundtrip(buf, sizeof(buf));
    /* Very compressible: long KwKwK chains. */
    memset(buf, 'z', sizeof(buf));
    roundtrip(buf, sizeof(buf));
    /* Text-like with a small alphabet. */
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)("abcab"[i % 5] + (i / 7000) % 3);
    roundtrip(buf, sizeof(buf));
    for (size_t n = 0; n < 300; n++)
        roundtrip(buf, n);
}

static void test_bomb_and_garbage(void **state)
{
    (void)state;
    struct weft_err e = {{0}};
    /* 8 MiB of zeros compresses to ~100 KiB... keep it smaller: 2 MiB. */
    size_t big = 2u << 20;
    uint8_t *zeros = calloc(1, big);
    uint8_t *z, *out;
    size_t zl, ol;
    assert_int_equal(lzw_compress(zeros, big, &z, &zl, &e), 0);
    assert_true(zl < big / 50);
    assert_int_equal(lzw_decompress(z, zl, 64 * 1024, &out, &ol, &e), -1);
    assert_null(out);
    assert_non_null(strstr(e.msg, "limit"));
    /* The memberlist wrapper refuses it at its cap too. */
    static uint8_t msg[1 << 20];
    size_t ml, used;
    uint8_t *inner;
    size_t il;
    assert_int_equal(ml_compress_wrap(zeros, big, msg, sizeof(msg), &ml, &e), 0);
    assert_int_equal(ml_compress_unwrap(msg + 1, ml - 1, 1 << 20, &inner, &il, &used, &e), -1);
    assert_int_equal(ml_compress_unwrap(msg + 1, ml - 1, big, &inner, &il, &used, &e), 0);
    assert_int_equal(il, big);
    free(inner);
    free(z);
    free(zeros);
    /* Invalid codes: a code above the next free one, right at the start. */
    static const uint8_t bad1[] = {0x00, 0x05, 0x04, 0x00}; /* clear, 258+... */
    assert_int_equal(lzw_decompress(bad1, sizeof(bad1), 100, &out, &ol, &e), -1);
    /* Garbage never crashes; it decodes or is refused. */
    uint8_t g[64];
    uint32_t x = 7;
    for (int round = 0; round < 2000; round++) {
        for (size_t i = 0; i < sizeof(g); i++) {
            x = x * 1664525u + 1013904223u;
            g[i] = (uint8_t)(x >> 24);
        }
        if (lzw_decompress(g, (size_t)(x % sizeof(g)), 4096, &out, &ol, &e) == 0)
            free(out);
    }
    /* Compress bodies that are not LZW / not msgpack. */
    uint8_t algo1[] = {0x82, 0xa4, 'A', 'l', 'g', 'o', 0x01, 0xa3, 'B', 'u', 'f', 0xc0};
    assert_int_equal(ml_compress_unwrap(algo1, sizeof(algo1), 100, &inner, &il, &used, &e), -1);
    assert_non_null(strstr(e.msg, "Algo"));
    algo1[6] = 0;
    assert_int_equal(ml_compress_unwrap(algo1, sizeof(algo1), 100, &inner, &il, &used, &e), -1);
    assert_int_equal(ml_compress_unwrap(algo1, 3, 100, &inner, &il, &used, &e), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_buffers),
        cmocka_unit_test(test_go_known_outputs),
        cmocka_unit_test(test_long_inputs),
        cmocka_unit_test(test_bomb_and_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
