/*
 * gen — the data sets of the store benchmark (see gen.h for what they are and why they
 * are generated, not read from files).
 */
#include "gen.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

void gen_sizes_default(struct gen_sizes *s) {
  s->symbols = 8;
  s->per_symbol = 250000; /* 2 M points: a couple of seconds of InfluxDB's time */
  s->feed_points = 1000000;
  s->feed_symbols = 8;
  s->dense_hz = 10;
  s->seed = 1;
}

const char gen_sizes_usage[] =
    "  --symbols=N       walk series of the throughput data set (8)\n"
    "  --per-symbol=N    points per series, 1 ms apart (250000)\n"
    "  --feed=N          points of the multi-field feed (1000000)\n"
    "  --feed-symbols=N  symbols of the feed, at most 16 (8)\n"
    "  --dense-hz=N      rate of the dense queried day; the other is 1 Hz (10)\n"
    "  --seed=N          (1)\n";

int gen_sizes_arg(struct gen_sizes *s, const char *arg) {
  static const struct {
    const char *flag;
    size_t off;
    size_t max;
  } flags[] = {
      {"--symbols=", offsetof(struct gen_sizes, symbols), 100000},
      {"--per-symbol=", offsetof(struct gen_sizes, per_symbol), 1000000000},
      {"--feed=", offsetof(struct gen_sizes, feed_points), 1000000000},
      {"--feed-symbols=", offsetof(struct gen_sizes, feed_symbols), 16},
  };
  const char *v = NULL;
  char *end;
  for (size_t i = 0; i < VG_ARRAY_LEN(flags); i++) {
    size_t len = strlen(flags[i].flag);
    if (strncmp(arg, flags[i].flag, len) != 0) continue;
    v = arg + len;
    unsigned long long x = strtoull(v, &end, 10);
    if (*v == '\0' || *end != '\0' || x == 0 || x > flags[i].max) return -1;
    *(size_t *)(void *)((char *)s + flags[i].off) = (size_t)x;
    return 1;
  }
  if (strncmp(arg, "--dense-hz=", 11) == 0) {
    v = arg + 11;
    unsigned long x = strtoul(v, &end, 10);
    if (*v == '\0' || *end != '\0' || x < 2 || x > 1000) return -1;
    s->dense_hz = (unsigned)x;
    return 1;
  }
  if (strncmp(arg, "--seed=", 7) == 0) {
    v = arg + 7;
    s->seed = strtoull(v, &end, 10);
    return *v != '\0' && *end == '\0' ? 1 : -1;
  }
  return 0;
}

/* xorshift64*: fast, and the same sequence on every machine. State must not be 0. */
static uint64_t rng_next(uint64_t *st) {
  *st ^= *st >> 12;
  *st ^= *st << 25;
  *st ^= *st >> 27;
  return *st * 0x2545F4914F6CDD1Dull;
}
static double rng_unit(uint64_t *st) { return (double)(rng_next(st) >> 11) / 9007199254740992.0; }

uint64_t gen_seed(const struct gen_sizes *s, const char *dataset) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a of the name, mixed with the seed */
  for (const char *p = dataset; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
  uint64_t z = h ^ (s->seed + 0x9E3779B97F4A7C15ull); /* splitmix64 finaliser */
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return z ? z : 1;
}

void gen_walk_make(struct gen_walk *d, size_t n_series, size_t per_series, int64_t step_ns,
                   uint64_t seed) {
  uint64_t st = seed ? seed : 1;
  d->n_series = n_series;
  d->n = n_series * per_series;
  d->series = vg_malloc(d->n * sizeof *d->series);
  d->ts = vg_malloc(d->n * sizeof *d->ts);
  d->cents = vg_malloc(d->n * sizeof *d->cents);
  int64_t *cents = vg_malloc(n_series * sizeof *cents);
  for (size_t k = 0; k < n_series; k++) cents[k] = 3000000 + (int64_t)k * 12345;
  size_t i = 0;
  for (size_t j = 0; j < per_series; j++) {
    for (size_t k = 0; k < n_series; k++, i++) {
      if (rng_next(&st) & 1) {
        int64_t move = (int64_t)(1 + rng_next(&st) % 5);
        cents[k] += rng_next(&st) & 1 ? move : -move;
      }
      d->series[i] = (uint32_t)k;
      d->ts[i] = GEN_T0 + (int64_t)j * step_ns + (int64_t)k * (step_ns / (int64_t)n_series);
      d->cents[i] = cents[k];
    }
  }
  free(cents);
}

void gen_walk_free(struct gen_walk *d) {
  free(d->series);
  free(d->ts);
  free(d->cents);
  memset(d, 0, sizeof *d);
}

static const char *const feed_symbols[16] = {
    "ESZ6", "NQZ6", "CLF7", "GCG7", "ZNH7", "6EZ6", "RTYZ6", "YMZ6",
    "ZBH7", "SIH7", "NGF7", "HGH7", "ZCH7", "ZSF7", "6JZ6",  "VXZ6",
};
static const char *const venues[GEN_VENUES] = {"XCME", "XEUR", "XICE"};

const char *gen_feed_symbol(size_t k) { return feed_symbols[k % 16]; }
const char *gen_venue(size_t k) { return venues[k % GEN_VENUES]; }

void gen_symbol(char out[16], const char *prefix, size_t k) {
  snprintf(out, 16, "%s%03zu", prefix, k);
}

void gen_feed_make(struct gen_feed *d, size_t n_symbols, size_t n, uint64_t seed) {
  uint64_t st = seed ? seed : 1;
  VG_ASSERT(n_symbols >= 1 && n_symbols <= 16);
  d->n = n;
  d->n_symbols = n_symbols;
  d->symbol = vg_malloc(n * sizeof *d->symbol);
  d->venue = vg_malloc(n * sizeof *d->venue);
  d->ts = vg_malloc(n * sizeof *d->ts);
  d->bid = vg_malloc(n * sizeof *d->bid);
  d->ask = vg_malloc(n * sizeof *d->ask);
  d->size = vg_malloc(n * sizeof *d->size);
  d->seq = vg_malloc(n * sizeof *d->seq);
  d->buy = vg_malloc(n * sizeof *d->buy);
  int64_t mid[16], seq[GEN_VENUES] = {0};
  for (size_t k = 0; k < n_symbols; k++) mid[k] = 1000 + (int64_t)k * 37711;
  int64_t t = GEN_T0;
  for (size_t i = 0; i < n; i++) {
    /* Exponential gaps, mean 250 us (4,000 quotes/s), at least 1 ns so no two quotes
     * share a timestamp; u^2 makes symbol 0 the busiest, as on a real feed. */
    t += 1 + (int64_t)(-log(1 - rng_unit(&st)) * 250e3);
    double u = rng_unit(&st);
    size_t k = (size_t)(u * u * (double)n_symbols);
    size_t v = (size_t)(rng_next(&st) % GEN_VENUES);
    uint64_t r = rng_next(&st);
    if (r % 10 >= 6) {
      int64_t move = (int64_t)(1 + (r >> 8) % 3);
      mid[k] += (r >> 16) & 1 ? move : -move;
      if (mid[k] < 100) mid[k] = 100;
    }
    d->symbol[i] = (uint16_t)k;
    d->venue[i] = (uint16_t)v;
    d->ts[i] = t;
    d->bid[i] = mid[k];
    d->ask[i] = mid[k] + 1 + (int64_t)((r >> 20) % 3);
    d->size[i] = (r >> 24) % 10 < 7 ? 100 * (int64_t)(1 + (r >> 32) % 5)
                                     : 1 + (int64_t)((r >> 32) % 99);
    d->buy[i] = (r >> 40) & 1;
    d->seq[i] = ++seq[v];
  }
}

void gen_feed_free(struct gen_feed *d) {
  free(d->symbol);
  free(d->venue);
  free(d->ts);
  free(d->bid);
  free(d->ask);
  free(d->size);
  free(d->seq);
  free(d->buy);
  memset(d, 0, sizeof *d);
}

/* Cents as the decimal text whose parse is (double)c / 100 (prices are positive). */
static void put_cents(FILE *f, int64_t c) { fprintf(f, "%" PRId64 ".%02d", c / 100, (int)(c % 100)); }

void gen_walk_lp(FILE *f, const struct gen_walk *d, const char *measurement, const char *prefix) {
  char sym[16];
  for (size_t i = 0; i < d->n; i++) {
    gen_symbol(sym, prefix, d->series[i]);
    fprintf(f, "%s,symbol=%s price=", measurement, sym);
    put_cents(f, d->cents[i]);
    fprintf(f, " %" PRId64 "\n", d->ts[i]);
  }
}

void gen_feed_lp(FILE *f, const struct gen_feed *d) {
  for (size_t i = 0; i < d->n; i++) {
    fprintf(f, "tick,symbol=%s,venue=%s bid=", gen_feed_symbol(d->symbol[i]),
            gen_venue(d->venue[i]));
    put_cents(f, d->bid[i]);
    fputs(",ask=", f);
    put_cents(f, d->ask[i]);
    fprintf(f, ",size=%" PRId64 "i,side=\"%s\",seq=%" PRId64 "i %" PRId64 "\n", d->size[i],
            d->buy[i] ? "B" : "S", d->seq[i], d->ts[i]);
  }
}

void gen_ticks(struct gen_walk *d, const struct gen_sizes *s) {
  gen_walk_make(d, s->symbols, s->per_symbol, 1000000, gen_seed(s, "ticks"));
}

const char *gen_day_prefix(bool dense) { return dense ? "DENSE" : "D1HZ"; }

void gen_day(struct gen_walk *d, const struct gen_sizes *s, bool dense) {
  unsigned hz = dense ? s->dense_hz : 1;
  gen_walk_make(d, 1, (size_t)86400 * hz, INT64_C(1000000000) / hz,
                gen_seed(s, gen_day_prefix(dense)));
}

void gen_feed(struct gen_feed *d, const struct gen_sizes *s) {
  gen_feed_make(d, s->feed_symbols, s->feed_points, gen_seed(s, "feed"));
}
