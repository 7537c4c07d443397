/*
 * bench/cache: the latest-value cache's own costs, through its public API.
 *
 *   bench_cache put POINTS SYMBOLS
 *       ns per point of cache_put_points (2 fields a point, SYMBOLS series), against
 *       the store's tsdb_write of the same batches (a fresh store, sync never): what
 *       the cache adds to a point's way in.
 *   bench_cache mirror PORT KEYS MEASUREMENTS
 *       keys per second the Redis mirror writes: KEYS distinct keys put at once, timed
 *       until Redis has acknowledged every one (pending 0, written KEYS).
 *
 * Prints key=value lines for bench/cache/run.sh.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache.h"
#include "config/config.h"
#include "core/core.h"
#include "tsdb/tsdb.h"

#define BATCH 1000

static double now_s(void) { return (double)vg_now_ns() / 1e9; }

static int put_bench(size_t points, size_t symbols) {
  char (*syms)[16] = vg_calloc(symbols, sizeof *syms);
  for (size_t i = 0; i < symbols; i++) snprintf(syms[i], sizeof syms[i], "S%05zu", i);
  struct tsdb_tag *tags = vg_calloc(BATCH, sizeof *tags);
  struct tsdb_field *fields = vg_calloc(2 * BATCH, sizeof *fields);
  struct tsdb_point *pts = vg_calloc(BATCH, sizeof *pts);
  struct cache *c;
  char err[256];
  if (cache_open(NULL, NULL, &c, err, sizeof err) < 0) return 1;
  char dir[] = "/tmp/bench-cache-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  struct tsdb_opts o = {.sync = TSDB_SYNC_NEVER};
  struct tsdb *db;
  if (tsdb_open(&db, dir, &o, err, sizeof err) < 0) {
    fprintf(stderr, "bench: %s\n", err);
    return 1;
  }
  double t_cache = 0, t_store = 0;
  int64_t ts = 1700000000000000000LL;
  for (size_t done = 0; done < points; done += BATCH) {
    for (size_t i = 0; i < BATCH; i++) {
      size_t s = (done + i) % symbols;
      tags[i] = (struct tsdb_tag){{"sym", 3}, {syms[s], strlen(syms[s])}};
      fields[2 * i] = (struct tsdb_field){{"price", 5}, {.type = TSDB_FLOAT, .v.f = 100.0 + (double)i / 7}};
      fields[2 * i + 1] = (struct tsdb_field){{"size", 4}, {.type = TSDB_INT, .v.i = (int64_t)i}};
      pts[i] = (struct tsdb_point){{"ticks", 5}, &tags[i], 1, &fields[2 * i], 2, ts++};
    }
    double t0 = now_s();
    struct tsdb_write_result res;
    if (tsdb_write(db, pts, BATCH, &res) < 0) return 1;
    double t1 = now_s();
    cache_put_points(c, "feed:bench", pts, BATCH);
    double t2 = now_s();
    t_store += t1 - t0;
    t_cache += t2 - t1;
  }
  printf("put_points=%zu keys=%zu cache_ns_per_point=%.1f store_ns_per_point=%.1f "
         "cache_over_store=%.3f\n",
         points, cache_size(c), t_cache * 1e9 / (double)points, t_store * 1e9 / (double)points,
         t_cache / t_store);
  cache_close(&c);
  tsdb_close(db);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) return 1;
  free(syms);
  free(tags);
  free(fields);
  free(pts);
  return 0;
}

static int mirror_bench(int port, size_t keys, size_t measurements, bool timestamps) {
  struct cfg_cache cfg = {.enabled = true, .max_keys = (int64_t)keys + 1, .redis = "bench",
                          .redis_host = "127.0.0.1", .redis_port = port, .redis_prefix = "b:",
                          .redis_timeout_ms = 5000, .redis_batch = 10000,
                          .redis_timestamps = timestamps};
  struct cache *c;
  char err[256];
  if (cache_open(&cfg, NULL, &c, err, sizeof err) < 0) {
    fprintf(stderr, "bench: %s\n", err);
    return 1;
  }
  /* wait for the connection, so the clock times writing, not connecting */
  struct cache_mirror_stats ms;
  for (int i = 0; i < 500; i++) {
    cache_mirror_stats(c, &ms);
    if (ms.connected) break;
    usleep(10000);
  }
  char key[64];
  double t0 = now_s();
  for (size_t i = 0; i < keys; i++) {
    snprintf(key, sizeof key, "m%zu.f%zu", i % measurements, i / measurements);
    struct tsdb_value v = {.type = TSDB_FLOAT, .v.f = (double)i * 1.25};
    cache_put(c, key, &v, (int64_t)i, "bench");
  }
  double t1 = now_s();
  for (;;) {
    cache_mirror_stats(c, &ms);
    if (ms.keys_written >= keys && ms.pending == 0) break;
    if (now_s() - t0 > 300) {
      fprintf(stderr, "bench: the mirror wrote %llu of %zu keys in 300 s\n",
              (unsigned long long)ms.keys_written, keys);
      return 1;
    }
    usleep(200);
  }
  double t2 = now_s();
  printf("mirror_keys=%zu timestamps=%d put_s=%.3f mirror_s=%.3f keys_per_s=%.0f errors=%llu\n",
         keys, timestamps, t1 - t0, t2 - t0, (double)keys / (t2 - t0),
         (unsigned long long)ms.write_errors);
  cache_close(&c);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "put") == 0)
    return put_bench(strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10));
  if ((argc == 5 || argc == 6) && strcmp(argv[1], "mirror") == 0)
    return mirror_bench(atoi(argv[2]), strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
                        argc == 6 ? atoi(argv[5]) != 0 : true);
  fprintf(stderr, "usage: bench_cache put POINTS SYMBOLS | mirror PORT KEYS MEASUREMENTS [TS]\n");
  return 2;
}
