/*
 * bench_metrics_scrape [RENDERS]: how long one scrape of a large registry takes.
 *
 * Builds 10,000 series — 100 families x 100 label sets {service, feed}: 50 counter
 * families with integer values, 49 gauge families with fractional values of 16-17
 * significant digits (k * 0.37 + d / 7: the slow path of the number formatter, the
 * worst case) and one histogram family with the 13 buckets of
 * vigil_service_ready_seconds — then renders the registry RENDERS times (default 200)
 * in each format into a reused buffer, as the HTTP handler does, and prints the
 * median and 99th percentile render time and the size of the output. A last line
 * renders the same registry with short decimal gauges (k * 0.25), the usual case.
 * Run through bench/metrics/run.sh; method and figures in docs/BENCHMARKS.md.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"

#define FAMILIES 100
#define SERVICES 10
#define FEEDS 10

static struct mt_registry *build(bool long_floats) {
  struct mt_registry *r = mt_registry_new();
  static const char *const labels[] = {"service", "feed", NULL};
  static const double ready[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                 1,     2.5,  5,     10,   30,  60};
  for (int fi = 0; fi < FAMILIES; fi++) {
    char name[64];
    struct mt_family *f;
    if (fi < 50) {
      snprintf(name, sizeof name, "vigil_bench_events_%02d_total", fi);
      f = mt_counter(r, name, "Events seen by the bench.", labels);
    } else if (fi < 99) {
      snprintf(name, sizeof name, "vigil_bench_level_%02d", fi);
      f = mt_gauge(r, name, "A level the bench sets.", labels);
    } else {
      f = mt_histogram(r, "vigil_bench_latency_seconds", "Latency the bench observes.", labels,
                       ready, sizeof ready / sizeof ready[0]);
    }
    for (int s = 0; s < SERVICES; s++) {
      for (int d = 0; d < FEEDS; d++) {
        char svc[32], feed[32];
        snprintf(svc, sizeof svc, "md-handler-%02d", s);
        snprintf(feed, sizeof feed, "feed-%c", 'a' + d);
        struct mt_series *se = mt_get(f, (const char *[]){svc, feed});
        int k = fi * 100 + s * 10 + d;
        if (fi < 50) mt_inc(se, (double)k * 37);
        else if (fi < 99) mt_set(se, long_floats ? k * 0.37 + d / 7.0 : k * 0.25);
        else
          for (int o = 0; o < 20; o++) mt_observe(se, (o + 1) * 0.0173 * (s + 1));
      }
    }
  }
  return r;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void run(struct mt_registry *r, enum mt_format fmt, const char *label, const char *gauges,
                int n) {
  struct vg_buf b;
  vg_buf_init(&b);
  double *ms = vg_malloc((size_t)n * sizeof *ms);
  for (int i = 0; i < 5; i++) { /* warm the buffer and the caches */
    vg_buf_reset(&b);
    mt_render(r, fmt, &b);
  }
  for (int i = 0; i < n; i++) {
    vg_buf_reset(&b);
    uint64_t t0 = vg_now_ns();
    mt_render(r, fmt, &b);
    ms[i] = (double)(vg_now_ns() - t0) / 1e6;
  }
  qsort(ms, (size_t)n, sizeof *ms, cmp_double);
  size_t p99 = (size_t)((n - 1) * 0.99 + 0.5);
  printf("format=%s gauges=%s series=%d renders=%d median_ms=%.3f p99_ms=%.3f max_ms=%.3f "
         "bytes=%zu\n",
         label, gauges, FAMILIES * SERVICES * FEEDS, n, ms[n / 2], ms[p99], ms[n - 1], b.len);
  free(ms);
  vg_buf_free(&b);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200;
  if (n < 1) {
    fprintf(stderr, "usage: %s [RENDERS]\n", argv[0]);
    return 2;
  }
  uint64_t t0 = vg_now_ns();
  struct mt_registry *r = build(true);
  printf("# registry: %d families x %d label sets, built in %.1f ms\n", FAMILIES,
         SERVICES * FEEDS, (double)(vg_now_ns() - t0) / 1e6);
  run(r, MT_FORMAT_TEXT, "text", "17-digit", n);
  run(r, MT_FORMAT_OPENMETRICS, "openmetrics", "17-digit", n);
  mt_registry_free(r);
  r = build(false);
  run(r, MT_FORMAT_TEXT, "text", "short", n);
  mt_registry_free(r);
  return 0;
}
