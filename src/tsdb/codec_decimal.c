/*
 * codec_decimal — doubles that are decimals (prices, sizes in lots), stored as scaled
 * integers; and tsdb__float_encode_best, which picks this or XOR per block.
 *
 * A price such as 30012.37 has no short binary form, so XOR sees noise in the low
 * mantissa bits of every tick (about 50-60 bits a point on a random walk). The same
 * column as cents is a walk of small integers, a few bits a point.
 *
 * Scale: the smallest s in 0..9 such that every v in the block is (double)r / 10^s
 * for an int64 r, with v finite, not -0.0 and |v * 10^s| < 2^63. r is
 * llround(v * 10^s), or, where that product rounded the wrong way, the integer nearest
 * the exact product (fma gives its rounding error); a check by printf("%.*f") of the
 * same rule is the reference in the unit test.
 * Decoding computes (double)r / 10^s, the same correctly rounded IEEE division, so the
 * round trip is bit-exact (this relies on FLT_EVAL_METHOD 0, as on x86-64 and arm64).
 *
 * Decimal format:
 *   scale            1 byte, 0..9
 *   integers         a codec_int block of r[i] = llround(v[i] * 10^s)
 *
 * Best format:
 *   tag              1 byte: 0 = XOR (a codec_float block follows),
 *                            1 = decimal (a decimal block follows)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/codec.h"

static const double pow10_tab[TSDB__DECIMAL_MAX_SCALE + 1] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

/* The integer nearest x (|x| < 2^63), ties either way: below 2^52 adding and taking
 * away 1.5 * 2^52 leaves x rounded to an integer, and from 2^52 up a double is one.
 * Inline arithmetic where llround is a call into libm, and fits() runs per value. */
static long long nearest(double x) {
  const double magic = 6755399441055744.0; /* 1.5 * 2^52 */
  if (x > -4503599627370496.0 && x < 4503599627370496.0) {
    return (long long)((x + magic) - magic); /* IEEE arithmetic: not folded back to x */
  }
  return (long long)x;
}

/* Whether v is exactly (double)r / 10^s for an int64 r, returned in *r. */
static int fits(double v, int s, long long *r) {
  if (!isfinite(v) || (v == 0 && signbit(v))) return 0;
  double p = pow10_tab[s];
  double x = v * p;
  if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0)) return 0;
  long long q = nearest(x);
  if ((double)q / p == v) {
    *r = q;
    return 1;
  }
  /* The product rounded away from the decimal: 44254650.05739591 * 1e8 comes out as
   * ...591.5, which llround takes to ...592. x + e is the exact product; the nearest
   * integer to it is the one that divides back to v if any does. */
  double e = fma(v, p, -x);
  long long base = q, adj = nearest(e);
  if (__builtin_add_overflow(base, adj, &base)) return 0;
  for (long long d = -1; d <= 1; d++) {
    long long c;
    if (__builtin_add_overflow(base, d, &c) || c == q) continue;
    if ((double)c / p == v) {
      *r = c;
      return 1;
    }
  }
  return 0;
}

/* The smallest scale at which every value fits, with the values at that scale in q
 * (when q is not NULL); -1 when none does. No scale below the largest per-value minimum
 * can fit every value; the values are converted at that scale, and only if one does
 * not fit there is a larger one tried. */
static int scale_and_convert(const double *v, size_t n, int64_t *q) {
  long long r;
  int s = 0;
  for (size_t i = 0; i < n; i++) {
    while (s <= TSDB__DECIMAL_MAX_SCALE && !fits(v[i], s, &r)) s++;
    if (s > TSDB__DECIMAL_MAX_SCALE) return -1;
  }
  for (size_t i = 0; i < n; i++) {
    if (fits(v[i], s, &r)) {
      if (q) q[i] = r;
      continue;
    }
    if (++s > TSDB__DECIMAL_MAX_SCALE) return -1;
    i = (size_t)-1; /* start again at the larger scale */
  }
  return s;
}

int tsdb__decimal_scale(const double *v, size_t n) { return scale_and_convert(v, n, NULL); }

int tsdb__decimal_encode(struct vg_buf *out, const double *v, size_t n) {
  int64_t *q = vg_malloc((n ? n : 1) * sizeof *q);
  int s = scale_and_convert(v, n, q);
  if (s >= 0) {
    vg_buf_putc(out, (char)s);
    tsdb__int_encode(out, q, n);
  }
  free(q);
  return s < 0 ? -1 : 0;
}

int tsdb__decimal_decode(const void *p, size_t len, double *out, size_t cap, size_t *n) {
  const uint8_t *b = p;
  size_t count;
  if (len < 1 || b[0] > TSDB__DECIMAL_MAX_SCALE) return -1;
  if (tsdb__block_count(b + 1, len - 1, &count) < 0 || count > cap) return -1;
  int64_t *q = vg_malloc((count ? count : 1) * sizeof *q);
  int rc = tsdb__int_decode(b + 1, len - 1, q, count, n);
  if (rc == 0)
    for (size_t i = 0; i < count; i++) out[i] = (double)q[i] / pow10_tab[b[0]];
  free(q);
  return rc;
}

void tsdb__float_encode_best(struct vg_buf *out, const double *v, size_t n) {
  struct vg_buf dec, xr;
  vg_buf_init(&dec);
  vg_buf_init(&xr);
  tsdb__float_encode(&xr, v, n);
  if (tsdb__decimal_encode(&dec, v, n) == 0 && dec.len <= xr.len) {
    vg_buf_putc(out, TSDB__FLOAT_TAG_DECIMAL);
    vg_buf_append(out, dec.data, dec.len);
  } else {
    vg_buf_putc(out, TSDB__FLOAT_TAG_XOR);
    vg_buf_append(out, xr.data, xr.len);
  }
  vg_buf_free(&dec);
  vg_buf_free(&xr);
}

int tsdb__float_decode_best(const void *p, size_t len, double *out, size_t cap, size_t *n) {
  const uint8_t *b = p;
  if (len < 1) return -1;
  switch (b[0]) {
  case TSDB__FLOAT_TAG_XOR:
    return tsdb__float_decode(b + 1, len - 1, out, cap, n);
  case TSDB__FLOAT_TAG_DECIMAL:
    return tsdb__decimal_decode(b + 1, len - 1, out, cap, n);
  default:
    return -1;
  }
}
