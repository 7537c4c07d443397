/*
 * store_writer — drives the store for the crash test (integration/test_store_crash.py).
 *
 *   store_writer write DIR   open the store (sync: batch, a small head so it flushes and
 *                            compacts often), find the last batch already stored, then
 *                            write numbered batches forever, printing each batch number
 *                            once tsdb_write has returned (= synced); first it prints
 *                            "start B", B the last batch already in the store
 *   store_writer check DIR N every batch 1..N must be there, exactly; batch N+1 may be
 *                            there (it was in flight); nothing else may be
 *
 * Batch b holds one point per series s (0..SERIES-1) at ts(b) = BASE + b seconds with
 * the value value(b, s), so any lost, duplicated, altered or invented point is caught.
 * Exit: 0 ok, 1 a check failed or the store would not open, 2 usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "tsdb/tsdb.h"

#define SERIES 16
#define BASE (INT64_C(1700000000) * TSDB_NS_PER_SEC) /* long ago: windows close, days compact */

static double value(int64_t b, int s) { return (double)((b * 7919 + s * 104729) % 1000003) / 100.0; }
static int64_t ts(int64_t b) { return BASE + b * 60 * TSDB_NS_PER_SEC; } /* 2 h = 120 batches */

static struct tsdb *open_store(const char *dir, bool background) {
  struct tsdb_opts o = {.sync = TSDB_SYNC_BATCH, .head_max_points = 2000, .background = background};
  struct tsdb *db = NULL;
  char err[512];
  if (tsdb_open(&db, dir, &o, err, sizeof err) < 0) {
    fprintf(stderr, "store_writer: %s\n", err);
    return NULL;
  }
  return db;
}

static int read_series(struct tsdb *db, int s, struct tsdb_result *r) {
  char sym[16], err[512];
  snprintf(sym, sizeof sym, "s%02d", s);
  struct tsdb_tag tag = {{"sym", 3}, {sym, strlen(sym)}};
  struct tsdb_query q = {.measurement = "crash", .tags = &tag, .n_tags = 1, .field = "v",
                         .from = TSDB_TIME_MIN, .to = TSDB_TIME_MAX};
  if (tsdb_query(db, &q, r, err, sizeof err) < 0) {
    fprintf(stderr, "store_writer: query: %s\n", err);
    return -1;
  }
  return 0;
}

static int do_write(const char *dir) {
  struct tsdb *db = open_store(dir, true);
  if (!db) return 1;
  struct tsdb_result r;
  if (read_series(db, 0, &r) < 0) return 1;
  int64_t b = r.n_series && r.series[0].n ? (r.series[0].ts[r.series[0].n - 1] - BASE) / (60 * TSDB_NS_PER_SEC) : 0;
  tsdb_result_free(&r);
  /* batch b is durable, though maybe never reported (killed before its line) */
  printf("start %" PRId64 "\n", b);
  fflush(stdout);
  char syms[SERIES][8];
  struct tsdb_tag tags[SERIES];
  struct tsdb_field fields[SERIES];
  struct tsdb_point pts[SERIES];
  for (int s = 0; s < SERIES; s++) {
    snprintf(syms[s], sizeof syms[s], "s%02d", s);
    tags[s] = (struct tsdb_tag){{"sym", 3}, {syms[s], strlen(syms[s])}};
  }
  for (;;) {
    b++;
    for (int s = 0; s < SERIES; s++) {
      fields[s] = (struct tsdb_field){{"v", 1}, {.type = TSDB_FLOAT, .v.f = value(b, s)}};
      pts[s] = (struct tsdb_point){{"crash", 5}, &tags[s], 1, &fields[s], 1, ts(b)};
    }
    if (tsdb_write(db, pts, SERIES, NULL) < 0) {
      fprintf(stderr, "store_writer: write failed\n");
      return 1;
    }
    printf("%" PRId64 "\n", b);
    fflush(stdout);
  }
}

static int do_check(const char *dir, int64_t n) {
  struct tsdb *db = open_store(dir, false);
  if (!db) return 1;
  int bad = 0;
  int64_t max_seen = 0;
  for (int s = 0; s < SERIES && !bad; s++) {
    struct tsdb_result r;
    if (read_series(db, s, &r) < 0) return 1;
    const struct tsdb_series_data *d = r.n_series ? &r.series[0] : NULL;
    size_t cnt = d ? d->n : 0;
    if (cnt < (size_t)n || cnt > (size_t)n + 1) {
      fprintf(stderr, "series %d: %zu points, expected %" PRId64 " or one more\n", s, cnt, n);
      bad = 1;
    }
    for (size_t i = 0; i < cnt && !bad; i++) {
      int64_t b = (int64_t)i + 1;
      if (d->ts[i] != ts(b) || d->values[i].v.f != value(b, s)) {
        fprintf(stderr, "series %d point %zu: wrong time or value\n", s, i);
        bad = 1;
      }
    }
    if (cnt > (size_t)max_seen) max_seen = (int64_t)cnt;
    tsdb_result_free(&r);
  }
  struct tsdb_stats st;
  tsdb_stats(db, &st);
  printf("max=%" PRId64 " blocks=%llu\n", max_seen, (unsigned long long)st.blocks);
  tsdb_stats_free(&st);
  tsdb_close(db);
  return bad;
}

int main(int argc, char **argv) {
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_WARN);
  if (argc == 3 && strcmp(argv[1], "write") == 0) return do_write(argv[2]);
  if (argc == 4 && strcmp(argv[1], "check") == 0) return do_check(argv[2], atoll(argv[3]));
  fprintf(stderr, "usage: store_writer write DIR | check DIR N\n");
  return 2;
}
