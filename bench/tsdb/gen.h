/*
 * gen — the deterministic data sets of the store benchmark (bench/tsdb, docs/BENCHMARKS.md
 * "Store"). vigil's store, SQLite and InfluxDB must be fed exactly the same points, so
 * every program of the benchmark generates them here from the same sizes and seed: the
 * C programs keep them in memory, bench_tsdb_gen writes them as line protocol for the
 * InfluxDB harness.
 *
 * Prices are kept as integer cents and converted with (double)cents / 100, which is the
 * double that parsing the line protocol's "%d.%02d" text gives, so the three stores hold
 * bit-identical values.
 *
 *   walk  random-walk ticks: measurement `ticks` (or `day`), tag `symbol`, one float
 *         field `price` on a 0.01 grid (half the ticks unchanged, the rest moving 1-5
 *         cents, as in bench/tsdb/codec.c); each series on an exact grid of step_ns,
 *         the series staggered inside one step so that the whole stream is in time order.
 *   feed  a multi-field quote feed: measurement `tick`, tags `symbol`, `venue`; fields
 *         `bid`, `ask` (cents), `size` (int), `side` ("B"/"S") and `seq` (int, per
 *         venue); irregular nanosecond timestamps (exponential gaps), busy symbols
 *         ticking more often than quiet ones.
 */
#ifndef VIGIL_BENCH_TSDB_GEN_H
#define VIGIL_BENCH_TSDB_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* 2026-11-02 00:00:00 UTC: the start of every data set and of the queried day. */
#define GEN_T0 INT64_C(1793577600000000000)
#define GEN_DAY_NS (INT64_C(86400) * INT64_C(1000000000))
#define GEN_VENUES 3

/* The sizes every program of one run agrees on (same flags, same defaults). */
struct gen_sizes {
  size_t symbols;     /* walk series of the throughput data set */
  size_t per_symbol;  /* points per walk series, 1 ms apart */
  size_t feed_points; /* points (lines) of the multi-field feed */
  size_t feed_symbols;
  unsigned dense_hz;  /* the denser variant of the queried day (the plain one is 1 Hz) */
  uint64_t seed;
};

void gen_sizes_default(struct gen_sizes *s);
/* Applies one "--symbols=N", "--per-symbol=N", "--feed=N", "--feed-symbols=N",
 * "--dense-hz=N" or "--seed=N" argument. Returns 1 if arg was one of them, 0 if it is
 * not a size flag, -1 if it is one with a bad value. */
int gen_sizes_arg(struct gen_sizes *s, const char *arg);
/* The usage text of the size flags, one per line. */
extern const char gen_sizes_usage[];

/* A random-walk data set, in time order. Point i belongs to series series[i]. */
struct gen_walk {
  size_t n, n_series;
  uint32_t *series;
  int64_t *ts;
  int64_t *cents;
};
/* seed: from gen_seed(), so that the data sets of one run are different walks. */
void gen_walk_make(struct gen_walk *d, size_t n_series, size_t per_series, int64_t step_ns,
                   uint64_t seed);
void gen_walk_free(struct gen_walk *d);

struct gen_feed {
  size_t n, n_symbols;
  uint16_t *symbol, *venue;
  int64_t *ts;
  int64_t *bid, *ask; /* cents */
  int64_t *size, *seq;
  bool *buy;          /* side: "B" when true, "S" when false */
};
void gen_feed_make(struct gen_feed *d, size_t n_symbols, size_t n, uint64_t seed);
void gen_feed_free(struct gen_feed *d);

/* Series names: "T007" for walk series 7 of `ticks`; feed symbols and venues. */
void gen_symbol(char out[16], const char *prefix, size_t k);
const char *gen_feed_symbol(size_t k); /* k < 16 */
const char *gen_venue(size_t k);       /* k < GEN_VENUES */
/* The seeds of the data sets of one run, derived from sizes->seed. */
uint64_t gen_seed(const struct gen_sizes *s, const char *dataset);

/* The data sets of one run, each with its own seed:
 *   ticks  measurement `ticks`, symbols "T000"...: sizes->symbols walks, 1 ms steps;
 *   day    measurement `day`, one series of one day from GEN_T0: "D1HZ000" at 1 Hz
 *          (86,400 points), or with dense "DENSE000" at sizes->dense_hz;
 *   feed   the multi-field feed. */
#define GEN_TICKS_PREFIX "T"
void gen_ticks(struct gen_walk *d, const struct gen_sizes *s);
void gen_day(struct gen_walk *d, const struct gen_sizes *s, bool dense);
const char *gen_day_prefix(bool dense);
void gen_feed(struct gen_feed *d, const struct gen_sizes *s);

/* Line protocol. Symbols of a walk are gen_symbol(prefix, series). */
void gen_walk_lp(FILE *f, const struct gen_walk *d, const char *measurement,
                 const char *prefix);
void gen_feed_lp(FILE *f, const struct gen_feed *d);

#endif
