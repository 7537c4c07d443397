/*
 * bench_tsdb_codec — bytes per point and speed of the store's column codecs on
 * synthetic market data (docs/BENCHMARKS.md, "Store codecs"):
 *   prices   a random walk on a 0.01 grid around 30000 (half the ticks unchanged, the
 *            rest move 1-5 cents), as doubles: XOR vs decimal vs best-of-both
 *   times    int64 ns stamps: exact 1 ms grid, 1 ms with up to +-50 us jitter, and
 *            irregular (exponential gaps, mean 1 ms, ns resolution)
 *   sizes    int64 lots 1..100; symbols, 8 distinct strings
 * Usage: bench_tsdb_codec [points per chunk (1024)] [chunks (200)] [seed (1)]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/codec.h"

static uint64_t rng_state;
static uint64_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}
static double unit(void) { return (double)(rng() >> 11) / 9007199254740992.0; }

enum col { C_XOR, C_DEC, C_BEST, C_T_GRID, C_T_JITTER, C_T_IRREG, C_SIZE, C_SYM, C_N };
static const char *const col_name[C_N] = {
    "price  XOR (Gorilla)",      "price  decimal (s=2)",      "price  best (tag+min)",
    "time   1 ms grid",          "time   1 ms +-50 us jitter", "time   irregular, mean 1 ms",
    "size   int64 lots 1..100",  "symbol 8 distinct strings",
};

int main(int argc, char **argv) {
  size_t per = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
  size_t chunks = argc > 2 ? strtoul(argv[2], NULL, 10) : 200;
  rng_state = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
  if (per == 0 || chunks == 0) {
    fprintf(stderr, "usage: bench_tsdb_codec [points per chunk] [chunks] [seed]\n");
    return 2;
  }
  double *px = vg_malloc(per * sizeof *px), *pxo = vg_malloc(per * sizeof *pxo);
  int64_t *t[3], *io = vg_malloc(per * sizeof *io), *sz = vg_malloc(per * sizeof *sz);
  struct tsdb__str *sym = vg_malloc(per * sizeof *sym), *symo = vg_malloc(per * sizeof *symo);
  static const char *const names[8] = {"ESZ6", "NQZ6", "CLF7", "GCG7", "ZNH7", "6EZ6", "RTYZ6", "YMZ6"};
  for (int k = 0; k < 3; k++) t[k] = vg_malloc(per * sizeof *t[k]);
  size_t bytes[C_N] = {0};
  uint64_t enc_ns[C_N] = {0}, dec_ns[C_N] = {0};
  int64_t cents = 3000000, now = 1700000000000000000;
  struct vg_buf b;
  vg_buf_init(&b);

  for (size_t c = 0; c < chunks; c++) {
    for (size_t i = 0; i < per; i++) {
      if (rng() & 1) cents += (int64_t)(1 + rng() % 5) * (rng() & 1 ? 1 : -1);
      px[i] = (double)cents / 100;
      now += 1000000;
      t[0][i] = now;
      t[1][i] = now + (int64_t)(rng() % 100001) - 50000;
      t[2][i] = (i ? t[2][i - 1] : now) + (int64_t)(-log(1 - unit()) * 1e6);
      sz[i] = 1 + (int64_t)(rng() % 100);
      const char *nm = names[rng() % 8];
      sym[i].p = nm;
      sym[i].len = strlen(nm);
    }
    for (int col = 0; col < C_N; col++) {
      size_t n = 0;
      int rc = -1;
      vg_buf_reset(&b);
      uint64_t t0 = vg_now_ns();
      switch (col) {
      case C_XOR: tsdb__float_encode(&b, px, per); break;
      case C_DEC: VG_ASSERT(tsdb__decimal_encode(&b, px, per) == 0); break;
      case C_BEST: tsdb__float_encode_best(&b, px, per); break;
      case C_T_GRID: case C_T_JITTER: case C_T_IRREG:
        tsdb__time_encode(&b, t[col - C_T_GRID], per); break;
      case C_SIZE: tsdb__int_encode(&b, sz, per); break;
      default: VG_ASSERT(tsdb__str_encode(&b, sym, per) == 0);
      }
      uint64_t t1 = vg_now_ns();
      switch (col) {
      case C_XOR: rc = tsdb__float_decode(b.data, b.len, pxo, per, &n); break;
      case C_DEC: rc = tsdb__decimal_decode(b.data, b.len, pxo, per, &n); break;
      case C_BEST: rc = tsdb__float_decode_best(b.data, b.len, pxo, per, &n); break;
      case C_T_GRID: case C_T_JITTER: case C_T_IRREG:
        rc = tsdb__time_decode(b.data, b.len, io, per, &n);
        VG_ASSERT(rc == 0 && memcmp(io, t[col - C_T_GRID], per * 8) == 0);
        break;
      case C_SIZE:
        rc = tsdb__int_decode(b.data, b.len, io, per, &n);
        VG_ASSERT(rc == 0 && memcmp(io, sz, per * 8) == 0);
        break;
      default: rc = tsdb__str_decode(b.data, b.len, symo, per, &n);
      }
      uint64_t t2 = vg_now_ns();
      VG_ASSERT(rc == 0 && n == per);
      if (col <= C_BEST) VG_ASSERT(memcmp(pxo, px, per * 8) == 0);
      bytes[col] += b.len;
      enc_ns[col] += t1 - t0;
      dec_ns[col] += t2 - t1;
    }
  }
  double total = (double)per * (double)chunks;
  printf("%zu chunks x %zu points\n", chunks, per);
  printf("%-30s %12s %12s %12s\n", "column", "bytes/point", "enc ns/pt", "dec ns/pt");
  for (int col = 0; col < C_N; col++)
    printf("%-30s %12.3f %12.1f %12.1f\n", col_name[col], (double)bytes[col] / total,
           (double)enc_ns[col] / total, (double)dec_ns[col] / total);
  vg_buf_free(&b);
  free(px);
  free(pxo);
  free(io);
  free(sz);
  free(sym);
  free(symo);
  for (int k = 0; k < 3; k++) free(t[k]);
  return 0;
}
