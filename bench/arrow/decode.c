/*
 * bench_arrow_decode FILE [N]: vigil's side of bench/arrow — the reader decoding FILE N
 * times (default 2000) from memory: open (schema, footer) and every record batch, every
 * buffer validated (first figure); then also every value read: each float64 column
 * summed, each asset name's bytes counted, the other columns' values read (second).
 * Prints one JSON line of timings in microseconds, like decode.mjs.
 */
#include "arrow/arrow.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double sink;

static int decode(const char *data, size_t n, bool touch) {
  struct arrow_reader *r;
  struct arrow_err err;
  if (arrow_open_mem(&r, data, n, NULL, &err) < 0) {
    fprintf(stderr, "bench_arrow_decode: %s\n", err.msg);
    return -1;
  }
  const struct arrow_batch *b;
  int rc;
  while ((rc = arrow_next(r, &b, &err)) > 0) {
    if (!touch) continue;
    for (uint32_t k = 0; k < b->n_columns; k++) {
      const struct arrow_array *a = &b->columns[k];
      enum arrow_type t = a->field->type;
      if (t == ARROW_FLOAT64) {
        const double *v = (const double *)(const void *)a->values; /* aligned: the reader promises */
        for (int64_t i = 0; i < a->length; i++) sink += v[i];
      } else if (t == ARROW_UTF8) {
        for (int64_t i = 0; i < a->length; i++) {
          size_t len;
          arrow_get_bytes(a, i, &len);
          sink += (double)len;
        }
      } else {
        for (int64_t i = 0; i < a->length; i++) sink += arrow_get_i64(a, i) > 0;
      }
    }
  }
  arrow_close(&r);
  if (rc < 0) fprintf(stderr, "bench_arrow_decode: %s\n", err.msg);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_arrow_decode FILE [N]\n");
    return 2;
  }
  int n = argc > 2 ? atoi(argv[2]) : 2000;
  if (n < 1) n = 1;
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  struct vg_buf in;
  vg_buf_init(&in);
  char tmp[65536];
  size_t got;
  while ((got = fread(tmp, 1, sizeof tmp, f)) > 0) vg_buf_append(&in, tmp, got);
  fclose(f);
  /* the input at an 8-aligned address, as a map of the file would be */
  char *data = aligned_alloc(64, (in.len + 63) / 64 * 64);
  memcpy(data, in.data, in.len);
  double *xs = malloc(sizeof *xs * (size_t)n);
  printf("{");
  for (int touch = 0; touch < 2; touch++) {
    for (int i = 0; i < 200; i++)
      if (decode(data, in.len, touch) < 0) return 1;
    for (int i = 0; i < n; i++) {
      double t0 = now_us();
      decode(data, in.len, touch);
      xs[i] = now_us() - t0;
    }
    qsort(xs, (size_t)n, sizeof *xs, cmp);
    printf("%s\"%s\":{\"median\":%.2f,\"p99\":%.2f}", touch ? "," : "", touch ? "read_all" : "decode", xs[n / 2],
           xs[n * 99 / 100]);
  }
  printf(",\"sink\":%s}\n", sink > 0 ? "true" : "false");
  free(xs);
  free(data);
  vg_buf_free(&in);
  return 0;
}
