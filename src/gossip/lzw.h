/*
 * lzw: the LZW variant of Go's compress/lzw with LSB bit order and 8-bit
 * literals, which memberlist uses for its compress message (9).
 *
 *   codes 0..255 literals, 256 clear, 257 end of data, 258.. dictionary;
 *   codes are 9 bits wide at first and widen when the next code to be
 *   defined reaches 2^width (no "early change"), up to 12 bits;
 *   bits are packed least-significant first;
 *   the writer starts with a clear code (Go >= 1.x's writer does; the
 *   captured serf 0.9.4 traffic has it), emits a clear code and starts over
 *   when code 4095 would be defined, and ends with the end code and the
 *   leftover bits in one byte.
 * The reader accepts input with or without the leading clear code, requires
 * the end code (Go reports io.ErrUnexpectedEOF otherwise), and stops with an
 * error as soon as the output would pass the caller's cap, so a
 * decompression bomb costs at most cap bytes of memory.
 */
#ifndef WEFT_GOSSIP_LZW_H
#define WEFT_GOSSIP_LZW_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/**
 * Decompress in[0..n) into a new buffer *out (malloc'd, the caller frees it;
 * NULL on error) of *outlen <= max bytes. Returns 0, or -1 on an invalid
 * code, missing end code, output over max, or allocation failure.
 */
int lzw_decompress(const uint8_t *in, size_t n, size_t max, uint8_t **out, size_t *outlen,
                   struct weft_err *e);

/**
 * Compress in[0..n) into a new buffer *out (malloc'd, the caller frees it),
 * bit for bit what Go's lzw.NewWriter(w, lzw.LSB, 8) writes. Returns 0 or -1
 * (allocation failure).
 */
int lzw_compress(const uint8_t *in, size_t n, uint8_t **out, size_t *outlen, struct weft_err *e);

#endif
