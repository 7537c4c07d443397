/*
 * bench_tsdb_sqlite — the SQLite anchor of the store benchmark (docs/BENCHMARKS.md,
 * "Store"): the same data sets as bench_tsdb_store (gen.h), in SQLite at its usual
 * settings for this job: WAL journal, synchronous=NORMAL (no fsync per commit, as
 * vigil's `never`), prepared inserts bound per row, one transaction per 5,000 points.
 *
 *   ticks  table ticks(series_id, ts, value) with an index on (series_id, ts)
 *          (--layout=index), or the same as a WITHOUT ROWID table keyed by
 *          (series_id, ts) (--layout=clustered), one writer then two (one connection
 *          per thread, disjoint series; SQLite itself lets one write at a time)
 *   feed   table feed(series_id, ts, bid, ask, size, side, seq), one row per quote
 *
 * Then bytes per point after a checkpoint and VACUUM (page_count * page_size), the
 * latency of the last value of one series (ORDER BY ts DESC LIMIT 1, served by the
 * index) and of the points of one day of one series. Prints "result ..." lines (common.h).
 * Usage: bench_tsdb_sqlite [size flags] [--dir=BASE] [--layout=index|clustered]
 *        [--last-n=N] [--range-n=N]
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "core/core.h"
#include "gen.h"

#define DAY_SERIES 1000 /* series ids of the queried days; the ticks are 0..symbols-1 */

static bool clustered;

static void check(sqlite3 *db, int rc, const char *what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return;
  fprintf(stderr, "bench_tsdb_sqlite: %s: %s\n", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  exit(1);
}

static void exec(sqlite3 *db, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    fprintf(stderr, "bench_tsdb_sqlite: %s: %s\n", sql, msg);
    exit(1);
  }
}

static sqlite3 *open_db(const char *path) {
  sqlite3 *db;
  check(NULL, sqlite3_open(path, &db), path);
  /* Two writers wait for each other's transaction rather than fail with SQLITE_BUSY. */
  sqlite3_busy_timeout(db, 600000);
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, "PRAGMA synchronous=NORMAL");
  return db;
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st;
  check(db, sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL), sql);
  return st;
}

static void create_ticks(sqlite3 *db) {
  if (clustered)
    exec(db, "CREATE TABLE ticks(series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL "
             "NOT NULL, PRIMARY KEY(series_id, ts)) WITHOUT ROWID");
  else
    exec(db, "CREATE TABLE ticks(series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL "
             "NOT NULL); CREATE INDEX ticks_series_ts ON ticks(series_id, ts)");
}

struct writer {
  const char *path;
  const struct gen_walk *d;
  uint32_t series_base;
  unsigned part, parts; /* this thread writes the series s with s % parts == part */
};

static void *write_walk(void *arg) {
  struct writer *w = arg;
  sqlite3 *db = open_db(w->path);
  sqlite3_stmt *ins = prepare(db, "INSERT INTO ticks(series_id, ts, value) VALUES(?1, ?2, ?3)");
  size_t in_tx = 0;
  for (size_t i = 0; i < w->d->n; i++) {
    if (w->d->series[i] % w->parts != w->part) continue;
    if (in_tx == 0) exec(db, "BEGIN IMMEDIATE");
    sqlite3_bind_int64(ins, 1, w->series_base + w->d->series[i]);
    sqlite3_bind_int64(ins, 2, w->d->ts[i]);
    sqlite3_bind_double(ins, 3, (double)w->d->cents[i] / 100);
    check(db, sqlite3_step(ins), "insert");
    sqlite3_reset(ins);
    if (++in_tx == BENCH_BATCH) {
      exec(db, "COMMIT");
      in_tx = 0;
    }
  }
  if (in_tx) exec(db, "COMMIT");
  sqlite3_finalize(ins);
  check(db, sqlite3_close(db), "close");
  return NULL;
}

/* Writes d with `threads` connections at once; returns the wall time in seconds and, in
 * *cpu_s when not NULL, the CPU time of the process meanwhile. */
static double write_ticks(const char *path, const struct gen_walk *d, uint32_t series_base,
                          unsigned threads, double *cpu_s) {
  struct writer w[2];
  pthread_t tid[2];
  VG_ASSERT(threads >= 1 && threads <= 2);
  uint64_t c0 = bench_cpu_ns(), t0 = bench_now_ns();
  for (unsigned k = 0; k < threads; k++) {
    w[k] = (struct writer){path, d, series_base, k, threads};
    VG_ASSERT(pthread_create(&tid[k], NULL, write_walk, &w[k]) == 0);
  }
  for (unsigned k = 0; k < threads; k++) pthread_join(tid[k], NULL);
  if (cpu_s) *cpu_s = (double)(bench_cpu_ns() - c0) / 1e9;
  return (double)(bench_now_ns() - t0) / 1e9;
}

/* Bytes the data takes at rest: the log folded into the file, free pages dropped. */
static uint64_t db_bytes(sqlite3 *db) {
  exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  exec(db, "VACUUM");
  exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_stmt *st = prepare(db, "SELECT page_count * page_size FROM pragma_page_count(), "
                                 "pragma_page_size()");
  check(db, sqlite3_step(st), "page_count");
  uint64_t bytes = (uint64_t)sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return bytes;
}

static void bench_last(sqlite3 *db, const struct gen_walk *d, uint32_t series, size_t n) {
  sqlite3_stmt *st = prepare(db, "SELECT ts, value FROM ticks WHERE series_id = ?1 "
                                 "ORDER BY ts DESC LIMIT 1");
  int64_t want_ts = 0, want_cents = 0;
  for (size_t i = 0; i < d->n; i++)
    if (d->series[i] == series) want_ts = d->ts[i], want_cents = d->cents[i];
  uint64_t *ns = vg_malloc(n * sizeof *ns);
  for (size_t i = 0; i < n; i++) {
    uint64_t t0 = bench_now_ns();
    sqlite3_bind_int64(st, 1, series);
    VG_ASSERT(sqlite3_step(st) == SQLITE_ROW);
    int64_t ts = sqlite3_column_int64(st, 0);
    double v = sqlite3_column_double(st, 1);
    sqlite3_reset(st);
    ns[i] = bench_now_ns() - t0;
    VG_ASSERT(ts == want_ts && v == (double)want_cents / 100);
  }
  double med, p99;
  bench_summary(ns, n, &med, &p99);
  char sym[16];
  gen_symbol(sym, GEN_TICKS_PREFIX, series);
  printf("result sys=sqlite what=last data=ticks layout=%s series=%s n=%zu median_us=%.2f "
         "p99_us=%.2f\n", clustered ? "clustered" : "index", sym, n, med / 1e3, p99 / 1e3);
  sqlite3_finalize(st);
  free(ns);
}

static void bench_range(sqlite3 *db, const char *name, uint32_t series, size_t want, size_t n) {
  sqlite3_stmt *st = prepare(db, "SELECT ts, value FROM ticks WHERE series_id = ?1 AND "
                                 "ts >= ?2 AND ts < ?3");
  uint64_t *ns = vg_malloc(n * sizeof *ns);
  for (size_t i = 0; i < n; i++) {
    uint64_t t0 = bench_now_ns();
    sqlite3_bind_int64(st, 1, series);
    sqlite3_bind_int64(st, 2, GEN_T0);
    sqlite3_bind_int64(st, 3, GEN_T0 + GEN_DAY_NS);
    size_t got = 0;
    double sum = 0;
    int rc;
    /* Every row is read out, as a caller would: the query is not done at the first row. */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      sum += (double)sqlite3_column_int64(st, 0) + sqlite3_column_double(st, 1);
      got++;
    }
    check(db, rc, "range");
    sqlite3_reset(st);
    ns[i] = bench_now_ns() - t0;
    VG_ASSERT(got == want && sum != 0);
  }
  double med, p99;
  bench_summary(ns, n, &med, &p99);
  printf("result sys=sqlite what=range data=%s layout=%s points=%zu n=%zu median_ms=%.3f "
         "p99_ms=%.3f\n", name, clustered ? "clustered" : "index", want, n, med / 1e6, p99 / 1e6);
  sqlite3_finalize(st);
  free(ns);
}

static void bench_ticks(const char *base, const struct gen_sizes *s, size_t last_n,
                        size_t range_n) {
  struct gen_walk d;
  gen_ticks(&d, s);
  const char *layout = clustered ? "clustered" : "index";
  for (unsigned threads = 1; threads <= 2; threads++) {
    char *dir = bench_mkdtemp(base, "sqlite"), *path = vg_asprintf("%s/ticks.db", dir);
    sqlite3 *db = open_db(path);
    create_ticks(db);
    double cpu, sec = write_ticks(path, &d, 0, threads, &cpu);
    printf("result sys=sqlite what=write data=ticks threads=%u sync=normal layout=%s points=%zu "
           "seconds=%.3f pps=%.0f cpu_s=%.3f cpu_ns_per_point=%.0f\n", threads, layout, d.n,
           sec, (double)d.n / sec, cpu, cpu * 1e9 / (double)d.n);
    fflush(stdout);
    if (threads == 1) {
      uint64_t bytes = db_bytes(db);
      printf("result sys=sqlite what=size data=ticks layout=%s points=%zu values=%zu bytes=%llu "
             "bytes_per_point=%.3f\n", layout, d.n, d.n, (unsigned long long)bytes,
             (double)bytes / (double)d.n);
      struct gen_walk day[2];
      for (int dense = 0; dense <= 1; dense++) {
        gen_day(&day[dense], s, dense);
        write_ticks(path, &day[dense], DAY_SERIES + (uint32_t)dense, 1, NULL);
      }
      exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
      bench_last(db, &d, (uint32_t)(s->symbols / 2), last_n);
      bench_range(db, "day1hz", DAY_SERIES, day[0].n, range_n);
      bench_range(db, "dense", DAY_SERIES + 1, day[1].n, range_n / 4 + 1);
      for (int dense = 0; dense <= 1; dense++) gen_walk_free(&day[dense]);
    }
    check(db, sqlite3_close(db), "close");
    bench_rm_rf(dir);
    free(path);
    free(dir);
  }
  gen_walk_free(&d);
}

static void bench_feed(const char *base, const struct gen_sizes *s) {
  struct gen_feed d;
  gen_feed(&d, s);
  char *dir = bench_mkdtemp(base, "sqlite"), *path = vg_asprintf("%s/feed.db", dir);
  sqlite3 *db = open_db(path);
  if (clustered)
    exec(db, "CREATE TABLE feed(series_id INTEGER NOT NULL, ts INTEGER NOT NULL, bid REAL, "
             "ask REAL, size INTEGER, side TEXT, seq INTEGER, PRIMARY KEY(series_id, ts)) "
             "WITHOUT ROWID");
  else
    exec(db, "CREATE TABLE feed(series_id INTEGER NOT NULL, ts INTEGER NOT NULL, bid REAL, "
             "ask REAL, size INTEGER, side TEXT, seq INTEGER); "
             "CREATE INDEX feed_series_ts ON feed(series_id, ts)");
  sqlite3_stmt *ins = prepare(db, "INSERT INTO feed VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  uint64_t c0 = bench_cpu_ns(), t0 = bench_now_ns();
  for (size_t i = 0; i < d.n; i++) {
    if (i % BENCH_BATCH == 0) exec(db, "BEGIN IMMEDIATE");
    /* One series per (symbol, venue): the tag set of the line-protocol point. */
    sqlite3_bind_int64(ins, 1, (int64_t)d.symbol[i] * GEN_VENUES + d.venue[i]);
    sqlite3_bind_int64(ins, 2, d.ts[i]);
    sqlite3_bind_double(ins, 3, (double)d.bid[i] / 100);
    sqlite3_bind_double(ins, 4, (double)d.ask[i] / 100);
    sqlite3_bind_int64(ins, 5, d.size[i]);
    sqlite3_bind_text(ins, 6, d.buy[i] ? "B" : "S", 1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 7, d.seq[i]);
    check(db, sqlite3_step(ins), "insert");
    sqlite3_reset(ins);
    if (i % BENCH_BATCH == BENCH_BATCH - 1 || i == d.n - 1) exec(db, "COMMIT");
  }
  double sec = (double)(bench_now_ns() - t0) / 1e9, cpu = (double)(bench_cpu_ns() - c0) / 1e9;
  sqlite3_finalize(ins);
  const char *layout = clustered ? "clustered" : "index";
  printf("result sys=sqlite what=write data=feed threads=1 sync=normal layout=%s points=%zu "
         "seconds=%.3f pps=%.0f cpu_s=%.3f cpu_ns_per_point=%.0f\n", layout, d.n, sec,
         (double)d.n / sec, cpu, cpu * 1e9 / (double)d.n);
  uint64_t bytes = db_bytes(db);
  printf("result sys=sqlite what=size data=feed layout=%s points=%zu values=%zu bytes=%llu "
         "bytes_per_point=%.3f\n", layout, d.n, d.n * 5, (unsigned long long)bytes,
         (double)bytes / (double)d.n);
  check(db, sqlite3_close(db), "close");
  bench_rm_rf(dir);
  free(path);
  free(dir);
  gen_feed_free(&d);
}

static int usage(void) {
  fprintf(stderr, "usage: bench_tsdb_sqlite [--dir=BASE] [--layout=index|clustered] "
                  "[--last-n=N] [--range-n=N] [size flags]\n%s", gen_sizes_usage);
  return 2;
}

int main(int argc, char **argv) {
  struct gen_sizes s;
  gen_sizes_default(&s);
  const char *base = NULL;
  size_t last_n = 10000, range_n = 20;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int rc = gen_sizes_arg(&s, a);
    if (rc < 0) return usage();
    if (rc > 0) continue;
    if (strncmp(a, "--dir=", 6) == 0) base = a + 6;
    else if (strcmp(a, "--layout=index") == 0) clustered = false;
    else if (strcmp(a, "--layout=clustered") == 0) clustered = true;
    else if (strncmp(a, "--last-n=", 9) == 0 && (last_n = strtoul(a + 9, NULL, 10)) > 0) {}
    else if (strncmp(a, "--range-n=", 10) == 0 && (range_n = strtoul(a + 10, NULL, 10)) > 0) {}
    else return usage();
  }
  printf("# sqlite %s, journal_mode=WAL, synchronous=NORMAL, %d rows per transaction\n",
         sqlite3_libversion(), BENCH_BATCH);
  bench_ticks(base, &s, last_n, range_n);
  bench_feed(base, &s);
  return 0;
}
