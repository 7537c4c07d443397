/*
 * codec_float — doubles by Gorilla XOR (Pelkonen et al., VLDB 2015, section 4.1.2),
 * bit-exact: NaN payloads, ±Inf, -0.0 and subnormals come back with the same bits.
 *
 * Format:
 *   count            uvarint
 *   bit stream (MSB first), when count > 0:
 *     bits(v[0])     64 bits (IEEE 754 binary64 pattern)
 *     for i >= 1, X = bits(v[i]) ^ bits(v[i-1]):
 *       '0'                                    X = 0
 *       '10' + (64 - L - T) bits               X's meaningful bits fit in the window
 *                                              (L leading, T trailing zeros) set by the
 *                                              last '11'; invalid before any '11'
 *       '11' + L: 6 bits + (M-1): 6 bits + M bits   new window: L leading zeros, M
 *                                              meaningful bits, T = 64 - L - M;
 *                                              L + M > 64 is invalid
 *   zero padding to the next byte
 * Gorilla caps L at 31 to fit 5 bits; with 6 bits no cap is needed.
 */
#include <string.h>

#include "tsdb/codec.h"

static uint64_t dbits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

static double bitsd(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

void tsdb__float_encode(struct vg_buf *out, const double *v, size_t n) {
  struct tsdb__bitw w;
  tsdb__put_uvarint(out, n);
  if (n == 0) return;
  tsdb__bitw_init(&w, out);
  uint64_t prev = dbits(v[0]);
  tsdb__bitw_put(&w, prev, 64);
  unsigned wl = 0, wt = 0;
  int have_window = 0;
  for (size_t i = 1; i < n; i++) {
    uint64_t cur = dbits(v[i]);
    uint64_t x = cur ^ prev;
    prev = cur;
    if (x == 0) {
      tsdb__bitw_put(&w, 0, 1);
      continue;
    }
    unsigned l = (unsigned)__builtin_clzll(x), t = (unsigned)__builtin_ctzll(x);
    if (have_window && l >= wl && t >= wt) {
      tsdb__bitw_put(&w, 2, 2);
      tsdb__bitw_put(&w, x >> wt, 64 - wl - wt);
      continue;
    }
    unsigned m = 64 - l - t;
    tsdb__bitw_put(&w, 3, 2);
    tsdb__bitw_put(&w, l, 6);
    tsdb__bitw_put(&w, m - 1, 6);
    tsdb__bitw_put(&w, x >> t, m);
    wl = l;
    wt = t;
    have_window = 1;
  }
  tsdb__bitw_flush(&w);
}

int tsdb__float_decode(const void *p, size_t len, double *out, size_t cap, size_t *n) {
  struct tsdb__bitr r;
  size_t count;
  uint64_t x;
  if (tsdb__block_begin(p, len, cap, &count, &r) < 0) return -1;
  if (count > 0) {
    uint64_t prev;
    if (tsdb__bitr_get(&r, 64, &prev) < 0) return -1;
    out[0] = bitsd(prev);
    unsigned wl = 0, wt = 0;
    int have_window = 0;
    for (size_t i = 1; i < count; i++) {
      if (tsdb__bitr_get(&r, 1, &x) < 0) return -1;
      if (x == 1) {
        uint64_t c, bits;
        if (tsdb__bitr_get(&r, 1, &c) < 0) return -1;
        if (c == 1) {
          uint64_t l, m1;
          if (tsdb__bitr_get(&r, 6, &l) < 0 || tsdb__bitr_get(&r, 6, &m1) < 0) return -1;
          if (l + m1 + 1 > 64) return -1;
          wl = (unsigned)l;
          wt = 64 - wl - (unsigned)(m1 + 1);
          have_window = 1;
        } else if (!have_window) {
          return -1;
        }
        if (tsdb__bitr_get(&r, 64 - wl - wt, &bits) < 0) return -1;
        /* wt < 64 always: the window holds at least one bit. */
        prev ^= bits << wt;
      }
      out[i] = bitsd(prev);
    }
  }
  if (tsdb__bitr_finish(&r) < 0) return -1;
  *n = count;
  return 0;
}
