/*
 * codec_time — int64 nanosecond timestamps: delta-of-delta with bucketed prefix codes,
 * as in Gorilla (Pelkonen et al., VLDB 2015, section 4.1.1), with buckets widened for
 * nanoseconds.
 *
 * Format:
 *   count            uvarint
 *   bit stream (MSB first), when count > 0:
 *     t[0]           64 bits, two's complement
 *     for i >= 1: D = zigzag(d[i] - d[i-1]) where d[i] = t[i] - t[i-1], d[0] = 0,
 *     all mod 2^64 (so equal, decreasing and INT64_MIN/MAX neighbours are fine):
 *       '0'                      D = 0
 *       '10'    + 12 bits of D   |dod| <= ~2 us      (jitter on a us-regular feed)
 *       '110'   + 22 bits of D   |dod| <= ~2.1 ms    (ms ticks arriving irregularly)
 *       '1110'  + 32 bits of D   |dod| <= ~2.1 s
 *       '11110' + 44 bits of D   |dod| <= ~2.4 h
 *       '11111' + 64 bits of D   anything
 *   zero padding to the next byte
 * A feed stamped on an exact 1 ms (or 1 us) grid costs 1 bit per point; Gorilla's
 * second-resolution buckets (7/9/12/32 bits) would put every nanosecond jitter of a
 * real clock in the 32-bit bucket.
 */
#include "tsdb/codec.h"

static const unsigned bucket_bits[] = {12, 22, 32, 44, 64};
#define NBUCKETS (sizeof bucket_bits / sizeof bucket_bits[0])

void tsdb__time_encode(struct vg_buf *out, const int64_t *t, size_t n) {
  struct tsdb__bitw w;
  tsdb__put_uvarint(out, n);
  if (n == 0) return;
  tsdb__bitw_init(&w, out);
  tsdb__bitw_put(&w, (uint64_t)t[0], 64);
  uint64_t prev = (uint64_t)t[0], pdelta = 0;
  for (size_t i = 1; i < n; i++) {
    uint64_t delta = (uint64_t)t[i] - prev;
    uint64_t zz = tsdb__zigzag(delta - pdelta);
    prev = (uint64_t)t[i];
    pdelta = delta;
    if (zz == 0) {
      tsdb__bitw_put(&w, 0, 1);
      continue;
    }
    unsigned b = 0;
    while (b + 1 < NBUCKETS && (zz >> bucket_bits[b]) != 0) b++;
    /* b+1 one bits, then a zero unless it is the last bucket. */
    if (b + 1 < NBUCKETS)
      tsdb__bitw_put(&w, ((1u << (b + 1)) - 1) << 1, b + 2);
    else
      tsdb__bitw_put(&w, (1u << NBUCKETS) - 1, NBUCKETS);
    tsdb__bitw_put(&w, zz, bucket_bits[b]);
  }
  tsdb__bitw_flush(&w);
}

int tsdb__time_decode(const void *p, size_t len, int64_t *out, size_t cap, size_t *n) {
  struct tsdb__bitr r;
  size_t count;
  uint64_t x;
  if (tsdb__block_begin(p, len, cap, &count, &r) < 0) return -1;
  if (count > 0) {
    if (tsdb__bitr_get(&r, 64, &x) < 0) return -1;
    out[0] = (int64_t)x;
    uint64_t prev = x, pdelta = 0;
    for (size_t i = 1; i < count; i++) {
      unsigned ones = 0;
      for (;;) {
        if (tsdb__bitr_get(&r, 1, &x) < 0) return -1;
        if (x == 0) break;
        if (++ones == NBUCKETS) break;
      }
      uint64_t zz = 0;
      if (ones > 0 && tsdb__bitr_get(&r, bucket_bits[ones - 1], &zz) < 0) return -1;
      pdelta += tsdb__unzigzag(zz);
      prev += pdelta;
      out[i] = (int64_t)prev;
    }
  }
  if (tsdb__bitr_finish(&r) < 0) return -1;
  *n = count;
  return 0;
}
