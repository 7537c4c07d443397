/*
 * bench/monitor: the cost of one evaluation of the monitor's checks over 100,000 keys
 * (target: < 2 ms), in two settings side by side:
 *   - over the real latest-value cache, against its floor: one bare walk over the same
 *     cache (cache_each with a callback that does nothing, the copy-out included); the
 *     monitor cannot be cheaper than reading every entry once;
 *   - over a table of the same entries handed out in place (no copy): the monitor's own
 *     work, its checks and findings.
 *
 * The checks are document 001's: 29 expected keys, 9 critical ones, staleness over
 * every key (warn 30 s, critical 120 s) and a range over every key. Cases: all fresh
 * (the steady state), and 1 % of the keys stale (findings and alerts made).
 *
 *   bench_monitor_eval [KEYS] [RUNS]     (defaults 100000, 50; the median is printed)
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache/cache.h"
#include "config/config.h"
#include "core/core.h"
#include "core/vtime.h"
#include "monitor/mon_int.h"

static const char *const exf[] = {
    "funding_btc", "funding_eth", "oi_btc", "oi_eth", "ls_btc", "ls_eth", "ls_top", "taker",
    "basis", "imbal_btc", "imbal_eth", "spread", "dvol_btc", "dvol_eth", "fund_dbt_btc",
    "fund_dbt_eth", "vix", "dxy", "us10y", "sp500", "fedfunds", "fng", "hashrate", "tvl",
    "liq_vol_24h", "liq_long_ratio", "liq_z_score", "liq_percentile"};

static volatile int64_t sink;
static bool nothing(void *arg, const struct cache_entry *e) {
  (*(size_t *)arg)++;
  sink += e->received; /* read the entry, as a check would */
  return true;
}

/* The same entries in an array, handed out without a copy. */
struct table {
  struct cache_entry *v;
  size_t n;
};
static size_t t_each(void *arg, const char *glob, cache_each_fn *fn, void *fnarg) {
  struct table *t = arg;
  size_t plen = glob ? strlen(glob) : 0, k = 0;
  bool prefix = glob && plen && glob[plen - 1] == '*' && strcspn(glob, "*?[\\") == plen - 1;
  for (size_t i = 0; i < t->n; i++) {
    if (glob && (prefix ? strncmp(t->v[i].key, glob, plen - 1) != 0 : fnmatch(glob, t->v[i].key, 0) != 0))
      continue;
    k++;
    if (!fn(fnarg, &t->v[i])) break;
  }
  return k;
}
static int t_get(void *arg, const char *key, struct cache_entry *out) {
  struct table *t = arg;
  for (size_t i = 0; i < t->n; i++) /* the looked-up keys come first */
    if (!strcmp(t->v[i].key, key)) {
      *out = t->v[i];
      out->key = vg_strdup(t->v[i].key);
      out->str = NULL;
      return 0;
    }
  return -ENOENT;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return v[n / 2];
}

static size_t c_each(void *arg, const char *glob, cache_each_fn *fn, void *fnarg) {
  return cache_each(arg, glob, fn, fnarg);
}
static int c_get(void *arg, const char *key, struct cache_entry *out) {
  return cache_get(arg, key, out);
}

int main(int argc, char **argv) {
  size_t keys = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
  int runs = argc > 2 ? atoi(argv[2]) : 50;
  struct vg_buf y;
  vg_buf_init(&y);
  vg_buf_puts(&y, "monitor:\n  checks:\n    expected: {expect: [");
  for (size_t i = 0; i < VG_ARRAY_LEN(exf); i++) vg_buf_printf(&y, "%sexf.%s", i ? ", " : "", exf[i]);
  vg_buf_puts(&y, "]}\n    acb: {critical: [exf.funding_btc, exf.funding_eth, exf.dvol_btc, "
                  "exf.dvol_eth, exf.fng, exf.vix, exf.ls_btc, exf.taker, exf.oi_btc]}\n"
                  "    fresh: {stale: '*', warn: 30s, critical: 120s}\n"
                  "    bounds: {range: '*', min: -1000000000, max: 1000000000}\n");
  struct cfg_diags d;
  cfg_diags_init(&d);
  struct vg_config *cfg = cfg_load_string("bench.yaml", y.data, y.len, &d);
  if (!cfg) {
    cfg_diags_print(&d, "bench.yaml", stderr);
    return 1;
  }
  struct cache *c;
  char err[256];
  if (cache_open(&cfg->cache, NULL, &c, err, sizeof err) < 0) {
    fprintf(stderr, "bench: %s\n", err);
    return 1;
  }
  int64_t now = vg_wall_ns();
  for (size_t i = 0; i < keys; i++) {
    char key[64];
    if (i < VG_ARRAY_LEN(exf)) snprintf(key, sizeof key, "exf.%s", exf[i]);
    else snprintf(key, sizeof key, "ticks,sym=S%06zu.price", i);
    struct tsdb_value v = {.type = TSDB_FLOAT, .v.f = (double)i * 0.5};
    cache_put(c, key, &v, now, "feed:bench");
  }
  struct mon_source src = {.arg = c, .each = c_each, .get = c_get};
  double *t = calloc((size_t)runs, sizeof *t);
  /* the floor: one walk (the evaluation makes one for all its glob checks) */
  for (int r = 0; r < runs; r++) {
    size_t n = 0;
    uint64_t t0 = vg_now_ns();
    cache_each(c, NULL, nothing, &n);
    t[r] = (double)(vg_now_ns() - t0) / 1e6;
  }
  double floor_ms = median(t, runs);
  struct mon_eval ev;
  size_t findings = 0;
  for (int r = 0; r < runs; r++) {
    uint64_t t0 = vg_now_ns();
    mon_evaluate(cfg->monitor, &src, NULL, 0, vg_wall_ns(), &ev);
    t[r] = (double)(vg_now_ns() - t0) / 1e6;
    findings = ev.n;
    mon_eval_free(&ev);
  }
  double fresh_ms = median(t, runs);
  /* the monitor's own work: the same entries, handed out in place */
  struct table tb = {.v = calloc(keys, sizeof *tb.v), .n = keys};
  for (size_t i = 0; i < keys; i++) {
    char key[64];
    if (i < VG_ARRAY_LEN(exf)) snprintf(key, sizeof key, "exf.%s", exf[i]);
    else snprintf(key, sizeof key, "ticks,sym=S%06zu.price", i);
    tb.v[i] = (struct cache_entry){.key = vg_strdup(key), .value = {.type = TSDB_FLOAT, .v.f = (double)i},
                                   .ts = now, .received = vg_wall_ns()};
    snprintf(tb.v[i].source, sizeof tb.v[i].source, "feed:bench");
  }
  struct mon_source tsrc = {.arg = &tb, .each = t_each, .get = t_get};
  for (int r = 0; r < runs; r++) {
    uint64_t t0 = vg_now_ns();
    mon_evaluate(cfg->monitor, &tsrc, NULL, 0, vg_wall_ns(), &ev);
    t[r] = (double)(vg_now_ns() - t0) / 1e6;
    mon_eval_free(&ev);
  }
  double own_ms = median(t, runs);
  size_t n_tfloor = 0;
  for (int r = 0; r < runs; r++) {
    uint64_t t0 = vg_now_ns();
    t_each(&tb, NULL, nothing, &n_tfloor);
    t[r] = (double)(vg_now_ns() - t0) / 1e6;
  }
  double tfloor_ms = median(t, runs);
  /* 1 % stale: every key but 1 % written again 150 ms later; warn between the two ages */
  struct mon_alerts *as = mon_alerts_new(1000);
  struct timespec pause = {0, 150000000};
  nanosleep(&pause, NULL);
  int64_t rewrite_at = vg_wall_ns();
  for (size_t i = 0; i < keys; i++) {
    if (i >= 100 && i < 100 + keys / 100) continue;
    char key[64];
    if (i < VG_ARRAY_LEN(exf)) snprintf(key, sizeof key, "exf.%s", exf[i]);
    else snprintf(key, sizeof key, "ticks,sym=S%06zu.price", i);
    struct tsdb_value v = {.type = TSDB_FLOAT, .v.f = 1};
    cache_put(c, key, &v, now + 1, "feed:bench"); /* newer than the first: taken */
  }
  int64_t fresh_at = vg_wall_ns();
  /* between the rewritten keys' age (the rewrite took fresh_at - rewrite_at) and the 1 %'s
   * (150 ms more) */
  cfg->monitor->checks[2].warn_ms = (fresh_at - rewrite_at) / 1000000 + 20 + 75;
  cfg->monitor->checks[2].critical_ms = 1000000000;
  for (int r = 0; r < runs; r++) {
    size_t n = 0;
    uint64_t t0 = vg_now_ns();
    cache_each(c, NULL, nothing, &n);
    t[r] = (double)(vg_now_ns() - t0) / 1e6;
  }
  double floor2_ms = median(t, runs);
  size_t stale_findings = 0;
  for (int r = 0; r < runs; r++) {
    uint64_t t0 = vg_now_ns();
    /* evaluated as of 20 ms after the rewrite: the 1 % are over 150 ms old, the rest not */
    mon_evaluate(cfg->monitor, &src, NULL, 0, fresh_at + 20000000, &ev);
    mon_alerts_apply(as, cfg->monitor, &ev, NULL, NULL);
    t[r] = (double)(vg_now_ns() - t0) / 1e6;
    stale_findings = ev.n;
    mon_eval_free(&ev);
  }
  double stale_ms = median(t, runs);
  printf("bench/monitor: %zu keys, %d runs each, medians\n", keys, runs);
  printf("  the monitor's own work (entries handed out in place, no copy):\n");
  printf("    floor: one bare walk over the table                       %8.3f ms\n", tfloor_ms);
  printf("    one evaluation, every key fresh                            %8.3f ms  (target < 2 ms: %s)\n",
         own_ms, own_ms < 2 ? "met" : "NOT met");
  printf("  over the real cache (cache_each: entries in place, under their stripe's lock):\n");
  printf("    floor: one bare walk over the cache (cache_each)           %8.3f ms\n", floor_ms);
  printf("    one evaluation, every key fresh (%zu findings)              %8.3f ms  (%.2fx the floor; target < 2 ms: %s)\n",
         findings, fresh_ms, fresh_ms / floor_ms, fresh_ms < 2 ? "met" : "NOT met");
  printf("    one evaluation + alerts, %zu keys stale (warning)        %8.3f ms  (%.2fx the floor)\n",
         stale_findings, stale_ms, stale_ms / floor2_ms);
  printf("    (its floor, walked again after the rewrite                %8.3f ms)\n", floor2_ms);
  mon_alerts_free(&as);
  for (size_t i = 0; i < keys; i++) free(tb.v[i].key);
  free(tb.v);
  free(t);
  cache_close(&c);
  cfg_free(cfg);
  cfg_diags_free(&d);
  vg_buf_free(&y);
  return 0;
}
