/*
 * libFuzzer target for the store's column codecs (src/tsdb/codec*.c). The first byte
 * picks a codec; the rest is fed to its decoder as a hostile block (it must return -1
 * or decode within the cap), and is also read as an array of values that must survive
 * encode + decode bit-exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/codec.h"

#define CAP 4096

static void check(int cond) {
  if (!cond) abort();
}

static void roundtrip(unsigned which, const uint8_t *d, size_t len) {
  struct vg_buf b;
  size_t n = len / 8, got = 0;
  vg_buf_init(&b);
  if (which == 0 || which == 1) {
    int64_t *v = malloc((n + 1) * 8), *o = malloc((n + 1) * 8);
    memcpy(v, d, n * 8);
    if (which == 0)
      tsdb__time_encode(&b, v, n);
    else
      tsdb__int_encode(&b, v, n);
    check((which == 0 ? tsdb__time_decode : tsdb__int_decode)(b.data, b.len, o, n, &got) == 0);
    check(got == n && memcmp(v, o, n * 8) == 0);
    free(v);
    free(o);
  } else if (which <= 4) {
    double *v = malloc((n + 1) * 8), *o = malloc((n + 1) * 8);
    memcpy(v, d, n * 8);
    /* small integers over a power of ten make the decimal path likely */
    if (which == 3)
      for (size_t i = 0; i < n; i++) {
        int64_t q;
        memcpy(&q, &d[i * 8], 8);
        v[i] = (double)(q >> (q & 63)) / (double)(1 + (d[i * 8] % 4) * 99);
      }
    if (which == 2) {
      tsdb__float_encode(&b, v, n);
      check(tsdb__float_decode(b.data, b.len, o, n, &got) == 0);
    } else {
      tsdb__float_encode_best(&b, v, n);
      check(tsdb__float_decode_best(b.data, b.len, o, n, &got) == 0);
    }
    check(got == n && memcmp(v, o, n * 8) == 0);
    free(v);
    free(o);
  } else if (which == 5) {
    /* strings: the input split at each byte below 0x20 */
    struct tsdb__str *s = malloc((len + 1) * sizeof *s), *o = malloc((len + 1) * sizeof *o);
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= len; i++)
      if (i == len || d[i] < 0x20) {
        s[k].p = (const char *)d + start;
        s[k++].len = i - start;
        start = i + 1;
      }
    check(tsdb__str_encode(&b, s, k) == 0);
    check(tsdb__str_decode(b.data, b.len, o, k, &got) == 0 && got == k);
    for (size_t i = 0; i < k; i++)
      check(o[i].len == s[i].len && memcmp(o[i].p, s[i].p, s[i].len) == 0);
    free(s);
    free(o);
  } else {
    uint8_t *o = malloc(len + 1);
    tsdb__bool_encode(&b, d, len);
    check(tsdb__bool_decode(b.data, b.len, o, len, &got) == 0 && got == len);
    for (size_t i = 0; i < len; i++) check(o[i] == (d[i] != 0));
    free(o);
  }
  vg_buf_free(&b);
}

static void hostile(unsigned which, const uint8_t *d, size_t len) {
  size_t got = 0;
  int rc;
  /* exact-size copy so that any over-read is caught */
  uint8_t *p = malloc(len ? len : 1);
  memcpy(p, d, len);
  switch (which) {
  case 0: {
    int64_t *o = malloc(CAP * 8);
    rc = tsdb__time_decode(p, len, o, CAP, &got);
    free(o);
    break;
  }
  case 1: {
    uint64_t *o = malloc(CAP * 8);
    rc = tsdb__uint_decode(p, len, o, CAP, &got);
    free(o);
    break;
  }
  case 2:
  case 3:
  case 4: {
    double *o = malloc(CAP * 8);
    rc = which == 2   ? tsdb__float_decode(p, len, o, CAP, &got)
         : which == 3 ? tsdb__decimal_decode(p, len, o, CAP, &got)
                      : tsdb__float_decode_best(p, len, o, CAP, &got);
    free(o);
    break;
  }
  case 5: {
    struct tsdb__str *o = malloc(CAP * sizeof *o);
    rc = tsdb__str_decode(p, len, o, CAP, &got);
    for (size_t i = 0; rc == 0 && i < got; i++)
      check(o[i].len <= TSDB__STR_MAX && o[i].p >= (const char *)p &&
            o[i].p + o[i].len <= (const char *)p + len);
    free(o);
    break;
  }
  default: {
    uint8_t *o = malloc(CAP);
    rc = tsdb__bool_decode(p, len, o, CAP, &got);
    free(o);
  }
  }
  check(rc == -1 || (rc == 0 && got <= CAP));
  free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned which = data[0] % 7;
  if (data[0] & 0x80)
    roundtrip(which, data + 1, size - 1);
  else
    hostile(which, data + 1, size - 1);
  return 0;
}
