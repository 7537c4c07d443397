/*
 * Unit tests of the store's column codecs (src/tsdb/codec*.c, bits.c): edge values,
 * property tests on thousands of random arrays against the input itself (and, for the
 * decimal scale detector, a brute-force reference through printf), and every decoder
 * fed every truncation and a few hundred byte flips of valid encodings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/codec.h"

/* ---- helpers ---- */

static uint64_t rng_state;
static void rng_seed(uint64_t s) { rng_state = s ? s : 1; }
static uint64_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}
static uint64_t rng_below(uint64_t n) { return n ? rng() % n : 0; }

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

enum kind { K_TIME, K_FLOAT, K_DECIMAL, K_BEST, K_INT, K_UINT, K_STR, K_BOOL, K_COUNT };

static size_t elem_size(enum kind k) {
  switch (k) {
  case K_STR: return sizeof(struct tsdb__str);
  case K_BOOL: return 1;
  default: return 8;
  }
}

/* Decodes into a buffer of exactly cap elements, so ASan sees any overrun. */
static int decode_any(enum kind k, const void *p, size_t len, size_t cap, size_t *n, void **outp) {
  void *out = malloc(cap ? cap * elem_size(k) : 1);
  int rc = -1;
  switch (k) {
  case K_TIME: rc = tsdb__time_decode(p, len, out, cap, n); break;
  case K_FLOAT: rc = tsdb__float_decode(p, len, out, cap, n); break;
  case K_DECIMAL: rc = tsdb__decimal_decode(p, len, out, cap, n); break;
  case K_BEST: rc = tsdb__float_decode_best(p, len, out, cap, n); break;
  case K_INT: rc = tsdb__int_decode(p, len, out, cap, n); break;
  case K_UINT: rc = tsdb__uint_decode(p, len, out, cap, n); break;
  case K_STR: rc = tsdb__str_decode(p, len, out, cap, n); break;
  case K_BOOL: rc = tsdb__bool_decode(p, len, out, cap, n); break;
  default: fail();
  }
  if (outp)
    *outp = out;
  else
    free(out);
  return rc;
}

/* Every strict prefix fails; a few hundred byte flips fail or decode within cap. */
static void check_hostile(enum kind k, const struct vg_buf *enc, size_t n) {
  size_t got;
  for (size_t cut = 0; cut < enc->len; cut++) {
    /* a copy of exactly cut bytes, so a read past the end is an ASan error */
    char *p = malloc(cut ? cut : 1);
    memcpy(p, enc->data, cut);
    assert_int_equal(decode_any(k, p, cut, n + 4, &got, NULL), -1);
    free(p);
  }
  char *p = malloc(enc->len ? enc->len : 1);
  for (int i = 0; i < 300 && enc->len > 0; i++) {
    memcpy(p, enc->data, enc->len);
    int flips = 1 + (int)rng_below(3);
    for (int f = 0; f < flips; f++) p[rng_below(enc->len)] ^= (char)(1 + rng_below(255));
    got = SIZE_MAX;
    if (decode_any(k, p, enc->len, n + 4, &got, NULL) == 0) assert_true(got <= n + 4);
  }
  free(p);
  /* one trailing byte too many is rejected */
  char *q = malloc(enc->len + 1);
  memcpy(q, enc->data, enc->len);
  q[enc->len] = 0;
  assert_int_equal(decode_any(k, q, enc->len + 1, n + 4, &got, NULL), -1);
  free(q);
}

static size_t roundtrip(enum kind k, const void *v, size_t n, int hostile) {
  struct vg_buf b;
  void *out;
  size_t got = SIZE_MAX;
  vg_buf_init(&b);
  switch (k) {
  case K_TIME: tsdb__time_encode(&b, v, n); break;
  case K_FLOAT: tsdb__float_encode(&b, v, n); break;
  case K_DECIMAL: assert_int_equal(tsdb__decimal_encode(&b, v, n), 0); break;
  case K_BEST: tsdb__float_encode_best(&b, v, n); break;
  case K_INT: tsdb__int_encode(&b, v, n); break;
  case K_UINT: tsdb__uint_encode(&b, v, n); break;
  case K_STR: assert_int_equal(tsdb__str_encode(&b, v, n), 0); break;
  case K_BOOL: tsdb__bool_encode(&b, v, n); break;
  default: fail();
  }
  assert_int_equal(decode_any(k, b.data, b.len, n, &got, &out), 0);
  assert_int_equal(got, n);
  if (k == K_STR) {
    const struct tsdb__str *a = v, *o = out;
    for (size_t i = 0; i < n; i++) {
      assert_int_equal(a[i].len, o[i].len);
      if (a[i].len) assert_memory_equal(a[i].p, o[i].p, a[i].len);
    }
  } else if (k == K_BOOL) {
    const uint8_t *a = v, *o = out;
    for (size_t i = 0; i < n; i++) assert_int_equal(a[i] != 0, o[i]);
  } else if (n > 0) {
    /* bit-exact, so NaN payloads and -0.0 count */
    assert_memory_equal(v, out, n * 8);
  }
  free(out);
  if (n > 0) {
    /* a cap one short of the count is refused */
    assert_int_equal(decode_any(k, b.data, b.len, n - 1, &got, NULL), -1);
  }
  if (hostile) check_hostile(k, &b, n);
  size_t len = b.len;
  vg_buf_free(&b);
  return len;
}

/* ---- bits ---- */

static void bits_and_varints(void **state) {
  struct vg_buf b;
  struct tsdb__bitw w;
  struct tsdb__bitr r;
  uint64_t x;
  size_t pos = 0;
  vg_buf_init(&b);
  tsdb__bitw_init(&w, &b);
  tsdb__bitw_put(&w, 1, 1);
  tsdb__bitw_put(&w, UINT64_MAX, 64);
  tsdb__bitw_put(&w, 0x5, 3);
  tsdb__bitw_put(&w, 0, 0);
  tsdb__bitw_put(&w, 0x8000000000000001ull, 64);
  tsdb__bitw_flush(&w);
  assert_int_equal(b.len, 17);
  assert_int_equal((uint8_t)b.data[0], 0xff);
  tsdb__bitr_init(&r, (const uint8_t *)b.data, b.len);
  assert_int_equal(tsdb__bitr_get(&r, 1, &x), 0);
  assert_int_equal(x, 1);
  assert_int_equal(tsdb__bitr_get(&r, 64, &x), 0);
  assert_true(x == UINT64_MAX);
  assert_int_equal(tsdb__bitr_get(&r, 3, &x), 0);
  assert_int_equal(x, 5);
  assert_int_equal(tsdb__bitr_get(&r, 64, &x), 0);
  assert_true(x == 0x8000000000000001ull);
  assert_int_equal(tsdb__bitr_finish(&r), 0);
  assert_int_equal(tsdb__bitr_get(&r, 8, &x), -1);
  vg_buf_reset(&b);

  uint64_t vals[] = {0, 1, 127, 128, 300, UINT32_MAX, UINT64_MAX - 1, UINT64_MAX};
  for (size_t i = 0; i < VG_ARRAY_LEN(vals); i++) tsdb__put_uvarint(&b, vals[i]);
  for (size_t i = 0; i < VG_ARRAY_LEN(vals); i++) {
    assert_int_equal(tsdb__get_uvarint((const uint8_t *)b.data, b.len, &pos, &x), 0);
    assert_true(x == vals[i]);
  }
  assert_int_equal(pos, b.len);
  assert_int_equal(tsdb__get_uvarint((const uint8_t *)b.data, b.len, &pos, &x), -1);
  /* 2^64 does not fit: a 10th byte of 2 is refused */
  const uint8_t over[10] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02};
  pos = 0;
  assert_int_equal(tsdb__get_uvarint(over, sizeof over, &pos, &x), -1);
  for (int64_t d = -5; d <= 5; d++) assert_true((int64_t)tsdb__unzigzag(tsdb__zigzag((uint64_t)d)) == d);
  assert_true(tsdb__zigzag((uint64_t)INT64_MIN) == UINT64_MAX);
  vg_buf_free(&b);
}

/* ---- edge values ---- */

static void time_edges(void **state) {
  int64_t one[] = {INT64_MIN};
  int64_t ext[] = {INT64_MAX, INT64_MIN, INT64_MAX, 0, -1, INT64_MIN, INT64_MIN, 1, INT64_MAX};
  int64_t eq[] = {5, 5, 5, 5, 5};
  int64_t dec[] = {1700000000000000000, 1699999999999999999, 1699999000000000000, 0, -1700000000000000000};
  int64_t ms[1000], us[1000];
  for (int i = 0; i < 1000; i++) {
    ms[i] = 1700000000000000000 + (int64_t)i * 1000000;
    us[i] = 1700000000000000000 + (int64_t)i * 1000 + (i % 7 == 0 ? 3 : 0);
  }
  roundtrip(K_TIME, NULL, 0, 1);
  roundtrip(K_TIME, one, 1, 1);
  roundtrip(K_TIME, ext, VG_ARRAY_LEN(ext), 1);
  roundtrip(K_TIME, eq, VG_ARRAY_LEN(eq), 1);
  roundtrip(K_TIME, dec, VG_ARRAY_LEN(dec), 1);
  /* a regular 1 ms feed costs about one bit a point after the first two */
  assert_true(roundtrip(K_TIME, ms, 1000, 0) < 1 + 8 + 5 + 1000 / 8 + 2);
  roundtrip(K_TIME, us, 1000, 0);
}

static const uint64_t float_edge_bits[] = {
    0x7ff8000000000000ull, /* quiet NaN */
    0x7ff8000000000001ull, /* NaN with payload */
    0xfff8dead0000beefull, /* negative NaN with payload */
    0x7ff0000000000001ull, /* signalling NaN */
    0x7ff0000000000000ull, /* +Inf */
    0xfff0000000000000ull, /* -Inf */
    0x8000000000000000ull, /* -0.0 */
    0x0000000000000000ull, /* +0.0 */
    0x0000000000000001ull, /* smallest subnormal */
    0x000fffffffffffffull, /* largest subnormal */
    0x800fffffffffffffull, /* negative subnormal */
    0x0010000000000000ull, /* DBL_MIN */
    0x7fefffffffffffffull, /* DBL_MAX */
    0xffefffffffffffffull, /* -DBL_MAX */
    0x3ff0000000000000ull, /* 1.0 */
    0x3ff0000000000000ull, /* repeated */
    0xffffffffffffffffull,
};

static void float_edges(void **state) {
  double v[VG_ARRAY_LEN(float_edge_bits)];
  for (size_t i = 0; i < VG_ARRAY_LEN(v); i++) v[i] = bitsd(float_edge_bits[i]);
  assert_true(v[11] == DBL_MIN && v[12] == DBL_MAX);
  roundtrip(K_FLOAT, NULL, 0, 1);
  roundtrip(K_BEST, NULL, 0, 1);
  for (size_t i = 0; i < VG_ARRAY_LEN(v); i++) {
    roundtrip(K_FLOAT, &v[i], 1, 1);
    roundtrip(K_BEST, &v[i], 1, 0);
  }
  roundtrip(K_FLOAT, v, VG_ARRAY_LEN(v), 1);
  roundtrip(K_BEST, v, VG_ARRAY_LEN(v), 1);
  /* every ordered pair, so each XOR shape (full width, one bit, window reuse) occurs */
  for (size_t i = 0; i < VG_ARRAY_LEN(v); i++)
    for (size_t j = 0; j < VG_ARRAY_LEN(v); j++) {
      double pair[3] = {v[i], v[j], v[i]};
      roundtrip(K_FLOAT, pair, 3, 0);
    }
}

static void decimal_scale_edges(void **state) {
  double a[] = {1.5, 2.25, -3};
  double b[] = {0.1};
  double c[] = {1, 2, 3, -7, 0};
  double d[] = {30000.01, 30000.02, 29999.99};
  double nine[] = {123.456789012};
  double ten[] = {0.1234567891};
  double big[] = {9.2e18, -9223372036854775808.0};
  double huge[] = {1e19};
  double scaled_huge[] = {1e10, 0.5}; /* 1e10 alone fits, but 0.5 needs s=1 -> 1e11 fits */
  double too_big_at_scale[] = {1e18, 0.5}; /* 1e19 at s=1 does not fit int64 */
  assert_int_equal(tsdb__decimal_scale(NULL, 0), 0);
  assert_int_equal(tsdb__decimal_scale(a, 3), 2);
  assert_int_equal(tsdb__decimal_scale(b, 1), 1);
  assert_int_equal(tsdb__decimal_scale(c, 5), 0);
  assert_int_equal(tsdb__decimal_scale(d, 3), 2);
  assert_int_equal(tsdb__decimal_scale(nine, 1), 9);
  assert_int_equal(tsdb__decimal_scale(ten, 1), -1);
  assert_int_equal(tsdb__decimal_scale(big, 2), 0);
  assert_int_equal(tsdb__decimal_scale(huge, 1), -1);
  assert_int_equal(tsdb__decimal_scale(scaled_huge, 2), 1);
  assert_int_equal(tsdb__decimal_scale(too_big_at_scale, 2), -1);
  for (size_t i = 0; i < 8; i++) {
    double e = bitsd(float_edge_bits[i]);
    assert_int_equal(tsdb__decimal_scale(&e, 1), i == 7 ? 0 : -1); /* only +0.0 fits */
    double mixed[2] = {1.25, e};
    assert_int_equal(tsdb__decimal_scale(mixed, 2), i == 7 ? 2 : -1);
  }
  double sub = bitsd(1), dmax = DBL_MAX;
  assert_int_equal(tsdb__decimal_scale(&sub, 1), -1);
  assert_int_equal(tsdb__decimal_scale(&dmax, 1), -1);
  struct vg_buf buf;
  vg_buf_init(&buf);
  assert_int_equal(tsdb__decimal_encode(&buf, ten, 1), -1);
  assert_int_equal(buf.len, 0);
  vg_buf_free(&buf);
  roundtrip(K_DECIMAL, NULL, 0, 1);
  roundtrip(K_DECIMAL, a, 3, 1);
  roundtrip(K_DECIMAL, d, 3, 1);
  roundtrip(K_DECIMAL, nine, 1, 1);
  roundtrip(K_DECIMAL, big, 2, 1);
  roundtrip(K_BEST, d, 3, 1);
  roundtrip(K_BEST, ten, 1, 1);
  /* a scale above 9 and an unknown tag are refused */
  const uint8_t bad_scale[] = {10, 0}, bad_tag[] = {2, 0};
  double out[2];
  size_t n;
  assert_int_equal(tsdb__decimal_decode(bad_scale, sizeof bad_scale, out, 1, &n), -1);
  assert_int_equal(tsdb__float_decode_best(bad_tag, sizeof bad_tag, out, 1, &n), -1);
  /* a '10' window reuse before any '11' is refused: count 2, 64 bits, then '10' and
   * 64 bits of the (then empty, so full-width) window and padding: well-formed but
   * for the missing window */
  uint8_t reuse[1 + 8 + 9] = {2};
  reuse[9] = 0x80;
  assert_int_equal(tsdb__float_decode(reuse, sizeof reuse, out, 2, &n), -1);
}

static void int_edges(void **state) {
  int64_t s[] = {INT64_MIN, INT64_MAX, INT64_MIN, 0, -1, 1, INT64_MAX, INT64_MAX, INT64_MIN};
  uint64_t u[] = {UINT64_MAX, 0, UINT64_MAX, 1, UINT64_MAX - 1, (uint64_t)1 << 63};
  int64_t c[200];
  for (int i = 0; i < 200; i++) c[i] = 42;
  roundtrip(K_INT, NULL, 0, 1);
  roundtrip(K_UINT, NULL, 0, 1);
  roundtrip(K_INT, &s[0], 1, 1);
  roundtrip(K_UINT, &u[0], 1, 1);
  roundtrip(K_INT, s, VG_ARRAY_LEN(s), 1);
  roundtrip(K_UINT, u, VG_ARRAY_LEN(u), 1);
  /* a constant: first width-6 block, then width 0 per 64 values */
  assert_true(roundtrip(K_INT, c, 200, 1) <= 1 + 8);
  /* a width above 64 is refused */
  const uint8_t bad[] = {1, 0x82};
  size_t n;
  int64_t out[1];
  assert_int_equal(tsdb__int_decode(bad, sizeof bad, out, 1, &n), -1);
}

static void str_edges(void **state) {
  static char longest[TSDB__STR_MAX + 1];
  memset(longest, 'x', sizeof longest);
  struct tsdb__str s[] = {
      {"", 0}, {"ESZ6", 4}, {"", 0}, {"a\0b", 3}, {"ESZ6", 4}, {longest, TSDB__STR_MAX},
      {"a\0c", 3}, {"ESZ6", 4},
  };
  roundtrip(K_STR, NULL, 0, 1);
  roundtrip(K_STR, s, 1, 1);
  roundtrip(K_STR, s, VG_ARRAY_LEN(s), 1);
  struct tsdb__str over = {longest, TSDB__STR_MAX + 1};
  struct vg_buf b;
  vg_buf_init(&b);
  assert_int_equal(tsdb__str_encode(&b, &over, 1), -1);
  assert_int_equal(b.len, 0);
  /* a dictionary entry longer than the limit is refused by the decoder too */
  tsdb__put_uvarint(&b, 1);
  tsdb__put_uvarint(&b, 1);
  tsdb__put_uvarint(&b, TSDB__STR_MAX + 1);
  vg_buf_append(&b, longest, TSDB__STR_MAX + 1);
  int64_t zero = 0;
  tsdb__int_encode(&b, &zero, 1);
  struct tsdb__str out[1];
  size_t n;
  assert_int_equal(tsdb__str_decode(b.data, b.len, out, 1, &n), -1);
  /* an index past the dictionary is refused */
  vg_buf_reset(&b);
  tsdb__put_uvarint(&b, 1);
  tsdb__put_uvarint(&b, 1);
  tsdb__put_uvarint(&b, 1);
  vg_buf_putc(&b, 'a');
  int64_t one = 1;
  tsdb__int_encode(&b, &one, 1);
  assert_int_equal(tsdb__str_decode(b.data, b.len, out, 1, &n), -1);
  vg_buf_free(&b);
}

static void bool_edges(void **state) {
  uint8_t v[77];
  for (int i = 0; i < 77; i++) v[i] = (uint8_t)(i % 3 == 0 ? 0 : i);
  roundtrip(K_BOOL, NULL, 0, 1);
  roundtrip(K_BOOL, v, 1, 1);
  assert_int_equal(roundtrip(K_BOOL, v, 77, 1), 1 + 10);
}

/* ---- property tests ---- */

#define ROUNDS 2000
#define MAXN 300

static void time_property(void **state) {
  int64_t t[MAXN];
  rng_seed(1);
  for (int r = 0; r < ROUNDS; r++) {
    size_t n = rng_below(MAXN + 1);
    int shape = (int)rng_below(5);
    uint64_t x = rng(), step = rng_below(4) == 0 ? rng() : 1000000;
    for (size_t i = 0; i < n; i++) {
      switch (shape) {
      case 0: x += step; break;                                    /* regular */
      case 1: x += step + rng_below(2001) - 1000; break;           /* jitter */
      case 2: x = rng(); break;                                    /* random bits */
      case 3: break;                                               /* constant */
      default: x += (rng_below(3) == 0 ? -(uint64_t)1 : 1) * rng_below(1u << 30); /* mixed */
      }
      t[i] = (int64_t)x;
    }
    roundtrip(K_TIME, t, n, r % 50 == 0);
  }
}

/* Brute-force reference for the scale: print with s digits, read the digits back as
 * an integer q, and check that q or a near neighbour divides back to v. */
static int ref_scale(const double *v, size_t n) {
  static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
  for (int s = 0; s <= 9; s++) {
    size_t i;
    for (i = 0; i < n; i++) {
      if (!isfinite(v[i]) || dbits(v[i]) == 0x8000000000000000ull) break;
      char buf[400], digits[400];
      snprintf(buf, sizeof buf, "%.*f", s, v[i]);
      size_t k = 0;
      for (const char *c = buf; *c; c++)
        if (*c != '.') digits[k++] = *c;
      digits[k] = 0;
      errno = 0;
      long long q = strtoll(digits, NULL, 10);
      if (errno == ERANGE) break;
      /* above 2^53 (double)q rounds too, so neighbours of q can divide back to v */
      int hit = 0;
      for (long long d = -8; d <= 8 && !hit; d++) {
        long long c;
        if (!__builtin_add_overflow(q, d, &c)) hit = dbits((double)c / p10[s]) == dbits(v[i]);
      }
      if (!hit) break;
    }
    if (i == n) return s;
  }
  return -1;
}

static void decimal_property(void **state) {
  double v[MAXN];
  int wins = 0;
  rng_seed(2);
  for (int r = 0; r < ROUNDS; r++) {
    size_t n = rng_below(MAXN + 1);
    int shape = (int)rng_below(6);
    int s = (int)rng_below(10);
    int64_t q = (int64_t)rng_below(10000000) - 5000000;
    double p10 = 1;
    for (int k = 0; k < s; k++) p10 *= 10;
    for (size_t i = 0; i < n; i++) {
      switch (shape) {
      case 0: q += (int64_t)rng_below(11) - 5; v[i] = (double)q / p10; break; /* walk */
      case 1: v[i] = (double)q / p10; break;                                /* constant */
      case 2: v[i] = bitsd(rng()); break;                                   /* random bits */
      case 3: /* mixed scales: each value its own number of digits */
        s = (int)rng_below(10);
        p10 = 1;
        for (int k = 0; k < s; k++) p10 *= 10;
        v[i] = (double)((int64_t)rng_below(1000000000) - 500000000) / p10;
        break;
      case 4: v[i] = (double)(int64_t)(rng() >> rng_below(64)) / p10; break; /* large */
      default: v[i] = (double)rng_below(1000) / 7.0; break;                 /* no scale */
      }
      if (rng_below(500) == 0) v[i] = bitsd(float_edge_bits[rng_below(VG_ARRAY_LEN(float_edge_bits))]);
    }
    int got = tsdb__decimal_scale(v, n);
    assert_int_equal(got, ref_scale(v, n));
    if (got >= 0) roundtrip(K_DECIMAL, v, n, r % 50 == 0);
    roundtrip(K_FLOAT, v, n, r % 50 == 1);
    roundtrip(K_BEST, v, n, r % 50 == 2);
    if (got >= 0) wins++;
  }
  assert_true(wins > ROUNDS / 4);
}

static void int_property(void **state) {
  int64_t v[MAXN];
  rng_seed(3);
  for (int r = 0; r < ROUNDS; r++) {
    size_t n = rng_below(MAXN + 1);
    int shape = (int)rng_below(4);
    uint64_t x = rng();
    for (size_t i = 0; i < n; i++) {
      switch (shape) {
      case 0: x += rng_below(101) - 50; break;
      case 1: break;
      case 2: x = rng(); break;
      default: x = rng() >> rng_below(64); break;
      }
      v[i] = (int64_t)x;
    }
    roundtrip(r % 2 ? K_INT : K_UINT, v, n, r % 50 == 0);
  }
}

static void str_property(void **state) {
  struct tsdb__str s[MAXN];
  static char pool[MAXN][24];
  rng_seed(4);
  for (int r = 0; r < ROUNDS / 4; r++) {
    size_t n = rng_below(MAXN + 1), distinct = 1 + rng_below(r % 2 ? 8 : MAXN);
    for (size_t i = 0; i < n; i++) {
      size_t k = rng_below(distinct);
      int len = snprintf(pool[i], sizeof pool[i], "SYM%zu", k * 7919);
      s[i].p = pool[i];
      s[i].len = (size_t)len - rng_below(2);
    }
    roundtrip(K_STR, s, n, r % 50 == 0);
  }
}

static void bool_property(void **state) {
  uint8_t v[MAXN];
  rng_seed(5);
  for (int r = 0; r < ROUNDS / 4; r++) {
    size_t n = rng_below(MAXN + 1);
    for (size_t i = 0; i < n; i++) v[i] = (uint8_t)rng();
    roundtrip(K_BOOL, v, n, r % 50 == 0);
  }
}

/* Prices on a 0.01 grid: the decimal codec beats XOR by a wide margin. */
static void decimal_beats_xor_on_prices(void **state) {
  enum { N = 1000 };
  double v[N];
  int64_t cents = 3000000;
  rng_seed(6);
  for (int i = 0; i < N; i++) {
    cents += (int64_t)rng_below(11) - 5;
    v[i] = (double)cents / 100;
  }
  struct vg_buf x, d, b;
  vg_buf_init(&x);
  vg_buf_init(&d);
  vg_buf_init(&b);
  tsdb__float_encode(&x, v, N);
  assert_int_equal(tsdb__decimal_encode(&d, v, N), 0);
  tsdb__float_encode_best(&b, v, N);
  assert_true(d.len * 4 < x.len);
  assert_int_equal(b.len, d.len + 1);
  assert_int_equal(b.data[0], TSDB__FLOAT_TAG_DECIMAL);
  vg_buf_free(&x);
  vg_buf_free(&d);
  vg_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bits_and_varints),
      cmocka_unit_test(time_edges),
      cmocka_unit_test(float_edges),
      cmocka_unit_test(decimal_scale_edges),
      cmocka_unit_test(int_edges),
      cmocka_unit_test(str_edges),
      cmocka_unit_test(bool_edges),
      cmocka_unit_test(time_property),
      cmocka_unit_test(decimal_property),
      cmocka_unit_test(int_property),
      cmocka_unit_test(str_property),
      cmocka_unit_test(bool_property),
      cmocka_unit_test(decimal_beats_xor_on_prices),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
