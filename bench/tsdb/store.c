/*
 * bench_tsdb_store — vigil's side of the store benchmark (docs/BENCHMARKS.md, "Store"):
 * the data sets of gen.h written through the public API (tsdb.h) into a fresh store in
 * a temp dir, as bench_tsdb_sqlite and bench/tsdb/influx.py write them into theirs.
 *
 *   write  the ticks in batches of 5,000 points per tsdb_write, by one thread and then
 *          by two (disjoint series), for each sync policy asked for (--sync=never,batch);
 *          the feed by one thread. Each run into a fresh store; the clock runs from the
 *          first tsdb_write to the return of the last one (the points are in the log,
 *          committed by the policy, and in the head).
 *   size   after tsdb_compact: block bytes (tsdb_stats) and every file of the store
 *          directory, per point, for the ticks and the feed.
 *   last   tsdb_last of one ticks series, result freed, --last-n times.
 *   range  tsdb_query of one day of one series (1 Hz: 86,400 points; and the dense
 *          variant), every value read, result freed.
 *
 * Every answer is checked against the generated data. Prints "result ..." lines (common.h).
 * Usage: bench_tsdb_store [size flags] [--dir=BASE] [--sync=never,batch] [--last-n=N]
 *        [--range-n=N]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "core/core.h"
#include "gen.h"
#include "tsdb/tsdb.h"

#define S(lit) ((struct tsdb_str){(lit), sizeof(lit) - 1})

static const char *const sync_names[] = {
    [TSDB_SYNC_BATCH] = "batch", [TSDB_SYNC_INTERVAL] = "interval", [TSDB_SYNC_NEVER] = "never"};

static struct tsdb_str str_of(const char *s) { return (struct tsdb_str){s, strlen(s)}; }

static struct tsdb *open_store(const char *dir, enum tsdb_sync sync) {
  struct tsdb_opts o = {.sync = sync, .background = true};
  struct tsdb *db;
  char err[256];
  int rc = tsdb_open(&db, dir, &o, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "bench_tsdb_store: %s: %s\n", dir, err);
    exit(1);
  }
  return db;
}

static void write_batch(struct tsdb *db, const struct tsdb_point *pts, size_t n,
                        size_t values) {
  struct tsdb_write_result res;
  int rc = tsdb_write(db, pts, n, &res);
  if (rc != 0 || res.refused != 0 || res.values != values) {
    fprintf(stderr, "bench_tsdb_store: tsdb_write: rc %d, %zu accepted, %zu refused: %s\n", rc,
            res.values, res.refused, res.refused ? res.why : "");
    exit(1);
  }
}

/* One writer thread of a walk: the series s with s % parts == part, in time order. */
struct writer {
  struct tsdb *db;
  const struct gen_walk *d;
  struct tsdb_str measurement;
  char (*symbols)[16]; /* the symbol of each series, made before the clock starts */
  unsigned part, parts;
};

static void *write_walk(void *arg) {
  struct writer *w = arg;
  struct tsdb_point *pts = vg_malloc(BENCH_BATCH * sizeof *pts);
  struct tsdb_tag *tags = vg_malloc(BENCH_BATCH * sizeof *tags);
  struct tsdb_field *fields = vg_malloc(BENCH_BATCH * sizeof *fields);
  size_t n = 0;
  for (size_t i = 0; i < w->d->n; i++) {
    uint32_t s = w->d->series[i];
    if (s % w->parts != w->part) continue;
    tags[n] = (struct tsdb_tag){S("symbol"), str_of(w->symbols[s])};
    fields[n] = (struct tsdb_field){S("price"),
                                    {.type = TSDB_FLOAT, .v.f = (double)w->d->cents[i] / 100}};
    pts[n] = (struct tsdb_point){w->measurement, &tags[n], 1, &fields[n], 1, w->d->ts[i]};
    if (++n == BENCH_BATCH) {
      write_batch(w->db, pts, n, n);
      n = 0;
    }
  }
  if (n) write_batch(w->db, pts, n, n);
  free(pts);
  free(tags);
  free(fields);
  return NULL;
}

static char (*symbols_of(const struct gen_walk *d, const char *prefix))[16] {
  char(*sym)[16] = vg_malloc(d->n_series * sizeof *sym);
  for (size_t k = 0; k < d->n_series; k++) gen_symbol(sym[k], prefix, k);
  return sym;
}

/* Writes d with `threads` threads at once; returns the wall time in seconds and, in
 * *cpu_s when not NULL, the CPU time of the process meanwhile. */
static double write_walk_all(struct tsdb *db, const struct gen_walk *d, const char *measurement,
                             const char *prefix, unsigned threads, double *cpu_s) {
  char(*sym)[16] = symbols_of(d, prefix);
  struct writer w[2];
  pthread_t tid[2];
  VG_ASSERT(threads >= 1 && threads <= 2);
  uint64_t c0 = bench_cpu_ns(), t0 = bench_now_ns();
  for (unsigned k = 0; k < threads; k++) {
    w[k] = (struct writer){db, d, str_of(measurement), sym, k, threads};
    VG_ASSERT(pthread_create(&tid[k], NULL, write_walk, &w[k]) == 0);
  }
  for (unsigned k = 0; k < threads; k++) pthread_join(tid[k], NULL);
  double sec = (double)(bench_now_ns() - t0) / 1e9;
  if (cpu_s) *cpu_s = (double)(bench_cpu_ns() - c0) / 1e9;
  free(sym);
  return sec;
}

static void compact(struct tsdb *db) {
  char err[256];
  if (tsdb_compact(db, err, sizeof err) != 0) {
    fprintf(stderr, "bench_tsdb_store: tsdb_compact: %s\n", err);
    exit(1);
  }
}

static void print_size(struct tsdb *db, const char *dir, const char *data, size_t points,
                       size_t values) {
  compact(db);
  struct tsdb_stats st;
  tsdb_stats(db, &st);
  uint64_t dir_bytes = bench_dir_bytes(dir);
  printf("result sys=vigil what=size data=%s points=%zu values=%zu bytes=%llu "
         "bytes_per_point=%.3f dir_bytes=%llu wal_bytes=%llu head_points=%llu blocks=%llu\n",
         data, points, values, (unsigned long long)st.block_bytes,
         (double)st.block_bytes / (double)points, (unsigned long long)dir_bytes,
         (unsigned long long)st.wal_bytes, (unsigned long long)st.head_points,
         (unsigned long long)st.blocks);
  fflush(stdout);
  tsdb_stats_free(&st);
}

static void run_query(struct tsdb *db, const struct tsdb_query *q, bool last,
                      struct tsdb_result *r) {
  char err[256];
  int rc = last ? tsdb_last(db, q, r, err, sizeof err) : tsdb_query(db, q, r, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "bench_tsdb_store: query: %s\n", err);
    exit(1);
  }
}

static void bench_last(struct tsdb *db, const struct gen_walk *d, uint32_t series, size_t n) {
  char sym[16];
  gen_symbol(sym, GEN_TICKS_PREFIX, series);
  int64_t want_ts = 0, want_cents = 0;
  for (size_t i = 0; i < d->n; i++)
    if (d->series[i] == series) want_ts = d->ts[i], want_cents = d->cents[i];
  struct tsdb_tag tag = {S("symbol"), str_of(sym)};
  struct tsdb_query q = {.measurement = "ticks", .tags = &tag, .n_tags = 1, .field = "price",
                         .from = TSDB_TIME_MIN, .to = TSDB_TIME_MAX};
  uint64_t *ns = vg_malloc(n * sizeof *ns);
  for (size_t i = 0; i < n; i++) {
    struct tsdb_result r;
    uint64_t t0 = bench_now_ns();
    run_query(db, &q, true, &r);
    VG_ASSERT(r.n_series == 1 && r.series[0].n == 1);
    int64_t ts = r.series[0].ts[0];
    double v = r.series[0].values[0].v.f;
    tsdb_result_free(&r);
    ns[i] = bench_now_ns() - t0;
    VG_ASSERT(ts == want_ts && v == (double)want_cents / 100);
  }
  double med, p99;
  bench_summary(ns, n, &med, &p99);
  printf("result sys=vigil what=last data=ticks series=%s n=%zu median_us=%.2f p99_us=%.2f\n",
         sym, n, med / 1e3, p99 / 1e3);
  fflush(stdout);
  free(ns);
}

static void bench_range(struct tsdb *db, const char *name, const char *symbol, size_t want,
                        size_t n) {
  struct tsdb_tag tag = {S("symbol"), str_of(symbol)};
  struct tsdb_query q = {.measurement = "day", .tags = &tag, .n_tags = 1, .field = "price",
                         .from = GEN_T0, .to = GEN_T0 + GEN_DAY_NS};
  uint64_t *ns = vg_malloc(n * sizeof *ns);
  for (size_t i = 0; i < n; i++) {
    struct tsdb_result r;
    uint64_t t0 = bench_now_ns();
    run_query(db, &q, false, &r);
    VG_ASSERT(r.n_series == 1);
    /* Every value is read out, as a caller would (and as the SQLite side does). */
    const struct tsdb_series_data *s = &r.series[0];
    double sum = 0;
    for (size_t j = 0; j < s->n; j++) sum += (double)s->ts[j] + s->values[j].v.f;
    size_t got = s->n;
    tsdb_result_free(&r);
    ns[i] = bench_now_ns() - t0;
    VG_ASSERT(got == want && sum != 0);
  }
  double med, p99;
  bench_summary(ns, n, &med, &p99);
  printf("result sys=vigil what=range data=%s points=%zu n=%zu median_ms=%.3f p99_ms=%.3f\n",
         name, want, n, med / 1e6, p99 / 1e6);
  fflush(stdout);
  free(ns);
}

static void bench_ticks(const char *base, const struct gen_sizes *s, const enum tsdb_sync *syncs,
                        size_t n_syncs, size_t last_n, size_t range_n) {
  struct gen_walk d;
  gen_ticks(&d, s);
  for (size_t k = 0; k < n_syncs; k++) {
    for (unsigned threads = 1; threads <= 2; threads++) {
      char *dir = bench_mkdtemp(base, "vigil-store");
      struct tsdb *db = open_store(dir, syncs[k]);
      double cpu, sec = write_walk_all(db, &d, "ticks", GEN_TICKS_PREFIX, threads, &cpu);
      printf("result sys=vigil what=write data=ticks threads=%u sync=%s points=%zu "
             "seconds=%.3f pps=%.0f cpu_s=%.3f cpu_ns_per_point=%.0f\n", threads,
             sync_names[syncs[k]], d.n, sec, (double)d.n / sec, cpu, cpu * 1e9 / (double)d.n);
      fflush(stdout);
      /* Sizes and queries once, on the first policy's one-writer store. */
      if (k == 0 && threads == 1) {
        print_size(db, dir, "ticks", d.n, d.n);
        for (int dense = 0; dense <= 1; dense++) {
          struct gen_walk day;
          gen_day(&day, s, dense);
          write_walk_all(db, &day, "day", gen_day_prefix(dense), 1, NULL);
          gen_walk_free(&day);
        }
        compact(db);
        struct tsdb_stats st;
        tsdb_stats(db, &st);
        printf("# queried store: %llu series, %llu blocks, %llu block points, %llu head points\n",
               (unsigned long long)st.series, (unsigned long long)st.blocks,
               (unsigned long long)st.block_points, (unsigned long long)st.head_points);
        tsdb_stats_free(&st);
        char sym[16];
        bench_last(db, &d, (uint32_t)(s->symbols / 2), last_n);
        gen_symbol(sym, gen_day_prefix(false), 0);
        bench_range(db, "day1hz", sym, 86400, range_n);
        gen_symbol(sym, gen_day_prefix(true), 0);
        bench_range(db, "dense", sym, (size_t)86400 * s->dense_hz, range_n / 4 + 1);
      }
      tsdb_close(db);
      bench_rm_rf(dir);
      free(dir);
    }
  }
  gen_walk_free(&d);
}

static void bench_feed(const char *base, const struct gen_sizes *s, enum tsdb_sync sync) {
  struct gen_feed d;
  gen_feed(&d, s);
  char *dir = bench_mkdtemp(base, "vigil-store");
  struct tsdb *db = open_store(dir, sync);
  struct tsdb_point *pts = vg_malloc(BENCH_BATCH * sizeof *pts);
  struct tsdb_tag(*tags)[2] = vg_malloc(BENCH_BATCH * sizeof *tags);
  struct tsdb_field(*fields)[5] = vg_malloc(BENCH_BATCH * sizeof *fields);
  uint64_t c0 = bench_cpu_ns(), t0 = bench_now_ns();
  size_t n = 0;
  for (size_t i = 0; i < d.n; i++) {
    tags[n][0] = (struct tsdb_tag){S("symbol"), str_of(gen_feed_symbol(d.symbol[i]))};
    tags[n][1] = (struct tsdb_tag){S("venue"), str_of(gen_venue(d.venue[i]))};
    fields[n][0] = (struct tsdb_field){S("bid"), {.type = TSDB_FLOAT, .v.f = (double)d.bid[i] / 100}};
    fields[n][1] = (struct tsdb_field){S("ask"), {.type = TSDB_FLOAT, .v.f = (double)d.ask[i] / 100}};
    fields[n][2] = (struct tsdb_field){S("size"), {.type = TSDB_INT, .v.i = d.size[i]}};
    fields[n][3] = (struct tsdb_field){
        S("side"), {.type = TSDB_STRING, .v.s = d.buy[i] ? S("B") : S("S")}};
    fields[n][4] = (struct tsdb_field){S("seq"), {.type = TSDB_INT, .v.i = d.seq[i]}};
    pts[n] = (struct tsdb_point){S("tick"), tags[n], 2, fields[n], 5, d.ts[i]};
    if (++n == BENCH_BATCH || i == d.n - 1) {
      write_batch(db, pts, n, n * 5);
      n = 0;
    }
  }
  double sec = (double)(bench_now_ns() - t0) / 1e9, cpu = (double)(bench_cpu_ns() - c0) / 1e9;
  printf("result sys=vigil what=write data=feed threads=1 sync=%s points=%zu seconds=%.3f "
         "pps=%.0f cpu_s=%.3f cpu_ns_per_point=%.0f\n", sync_names[sync], d.n, sec,
         (double)d.n / sec, cpu, cpu * 1e9 / (double)d.n);
  fflush(stdout);
  print_size(db, dir, "feed", d.n, d.n * 5);
  tsdb_close(db);
  bench_rm_rf(dir);
  free(dir);
  free(pts);
  free(tags);
  free(fields);
  gen_feed_free(&d);
}

/* "never,batch" -> the policies in that order; 0 or -1. */
static int parse_syncs(const char *s, enum tsdb_sync *out, size_t *n) {
  *n = 0;
  while (*s && *n < 3) {
    size_t len = strcspn(s, ",");
    size_t k;
    for (k = 0; k < VG_ARRAY_LEN(sync_names); k++)
      if (strlen(sync_names[k]) == len && strncmp(s, sync_names[k], len) == 0) break;
    if (k == VG_ARRAY_LEN(sync_names)) return -1;
    out[(*n)++] = (enum tsdb_sync)k;
    s += len + (s[len] == ',');
  }
  return *n > 0 && !*s ? 0 : -1;
}

static int usage(void) {
  fprintf(stderr, "usage: bench_tsdb_store [--dir=BASE] [--sync=never,batch] [--last-n=N] "
                  "[--range-n=N] [size flags]\n%s", gen_sizes_usage);
  return 2;
}

int main(int argc, char **argv) {
  vg_malloc_tune(); /* as vigil does at start (src/cli/main.c) */
  struct gen_sizes s;
  gen_sizes_default(&s);
  const char *base = NULL;
  enum tsdb_sync syncs[3] = {TSDB_SYNC_NEVER, TSDB_SYNC_BATCH};
  size_t n_syncs = 2, last_n = 10000, range_n = 20;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int rc = gen_sizes_arg(&s, a);
    if (rc < 0) return usage();
    if (rc > 0) continue;
    if (strncmp(a, "--dir=", 6) == 0) base = a + 6;
    else if (strncmp(a, "--sync=", 7) == 0) {
      if (parse_syncs(a + 7, syncs, &n_syncs) != 0) return usage();
    } else if (strncmp(a, "--last-n=", 9) == 0 && (last_n = strtoul(a + 9, NULL, 10)) > 0) {}
    else if (strncmp(a, "--range-n=", 10) == 0 && (range_n = strtoul(a + 10, NULL, 10)) > 0) {}
    else return usage();
  }
  printf("# vigil %s (%s), tsdb, %d points per tsdb_write, background thread on\n",
         VIGIL_VERSION, vg_commit(), BENCH_BATCH);
  bench_ticks(base, &s, syncs, n_syncs, last_n, range_n);
  bench_feed(base, &s, syncs[0]);
  return 0;
}
