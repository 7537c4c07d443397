/*
 * codec_int — int64 and uint64 columns: delta, zig-zag, then bit packing in blocks of
 * 64 values with one width per block.
 *
 * Format:
 *   count            uvarint
 *   bit stream (MSB first), when count > 0:
 *     first          width (7 bits, 0..64; 65..127 are invalid), then width bits of
 *                    zigzag(v[0])
 *     for each block of up to 64 of the count - 1 deltas (the last may be short):
 *       width        7 bits, 0..64
 *       values       (block size) x width bits: zigzag(v[i] - v[i-1])
 *   zero padding to the next byte
 * Deltas are taken mod 2^64 so any input, INT64_MIN..MAX or 0..UINT64_MAX, round-trips;
 * a uint64 column is the same bits as an int64 one.
 *
 * Why this and not Simple-8b or varints: the deltas of a column (prices in ticks,
 * sizes, sequence numbers) are of similar magnitude within a short run, so one width
 * per 64 values costs 7 bits of overhead per block and then exactly the bits needed,
 * with no per-value selector or continuation bits (a varint spends at least 8 bits on
 * a 1-bit delta). The first value has a width of its own so that it does not widen
 * the first block. A constant column is width 0, 7 bits per 64 values. The price is that
 * one outlier widens its whole block; 64 keeps that damage local at small overhead.
 * Simple-8b cannot store values above 60 bits without an escape; this has no such
 * case, and its decoder is a single loop with nothing to validate but the width.
 */
#include "tsdb/codec.h"

#define BLOCK 64

static unsigned width_of(uint64_t x) {
  return x == 0 ? 0 : 64 - (unsigned)__builtin_clzll(x);
}

void tsdb__uint_encode(struct vg_buf *out, const uint64_t *v, size_t n) {
  struct tsdb__bitw w;
  tsdb__put_uvarint(out, n);
  if (n == 0) return;
  tsdb__bitw_init(&w, out);
  uint64_t first = tsdb__zigzag(v[0]);
  tsdb__bitw_put(&w, width_of(first), 7);
  tsdb__bitw_put(&w, first, width_of(first));
  for (size_t i = 1; i < n; i += BLOCK) {
    size_t m = n - i < BLOCK ? n - i : BLOCK;
    uint64_t zz[BLOCK];
    uint64_t all = 0;
    for (size_t j = 0; j < m; j++) {
      zz[j] = tsdb__zigzag(v[i + j] - v[i + j - 1]);
      all |= zz[j];
    }
    unsigned width = width_of(all);
    tsdb__bitw_put(&w, width, 7);
    for (size_t j = 0; j < m; j++) tsdb__bitw_put(&w, zz[j], width);
  }
  tsdb__bitw_flush(&w);
}

/* Reads a 7-bit width then that many bits. */
static int get_wide(struct tsdb__bitr *r, unsigned *width, uint64_t *x) {
  uint64_t wd;
  if (tsdb__bitr_get(r, 7, &wd) < 0 || wd > 64) return -1;
  *width = (unsigned)wd;
  return x ? tsdb__bitr_get(r, *width, x) : 0;
}

int tsdb__uint_decode(const void *p, size_t len, uint64_t *out, size_t cap, size_t *n) {
  struct tsdb__bitr r;
  size_t count;
  unsigned width;
  uint64_t x;
  if (tsdb__block_begin(p, len, cap, &count, &r) < 0) return -1;
  if (count > 0) {
    if (get_wide(&r, &width, &x) < 0) return -1;
    uint64_t prev = tsdb__unzigzag(x);
    out[0] = prev;
    for (size_t i = 1; i < count; i += BLOCK) {
      size_t m = count - i < BLOCK ? count - i : BLOCK;
      if (get_wide(&r, &width, NULL) < 0) return -1;
      for (size_t j = 0; j < m; j++) {
        if (tsdb__bitr_get(&r, width, &x) < 0) return -1;
        prev += tsdb__unzigzag(x);
        out[i + j] = prev;
      }
    }
  }
  if (tsdb__bitr_finish(&r) < 0) return -1;
  *n = count;
  return 0;
}

/* C11 6.5p7 lets an int64_t object be accessed through its unsigned counterpart. */
void tsdb__int_encode(struct vg_buf *out, const int64_t *v, size_t n) {
  tsdb__uint_encode(out, (const uint64_t *)v, n);
}

int tsdb__int_decode(const void *p, size_t len, int64_t *out, size_t cap, size_t *n) {
  return tsdb__uint_decode(p, len, (uint64_t *)out, cap, n);
}
