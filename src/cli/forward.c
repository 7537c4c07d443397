/*
 * forward — where ingested points go under `vigil up`: the ingest pipeline's target
 * (ingest.h): the store, and, when `sinks.influx` is configured, InfluxDB, which the
 * sink is given as points and encodes as line protocol with explicit timestamps (so
 * its retries cannot duplicate a point). Both are thread-safe: every feed's writer
 * thread writes through it. Then the latest-value cache (src/cache/), which every
 * point the store took updates, with the name of where it came from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"
#include "cli/cli.h"
#include "core/core.h"
#include "ingest/ingest.h"
#include "sink/sink.h"
#include "tsdb/tsdb.h"

struct cli_forward {
  struct tsdb *store;
  struct sink_influx *influx;
  struct cache *cache;
};

static void to_cache(void *arg, const char *source, const struct tsdb_point *pts, size_t n) {
  struct cli_forward *f = arg;
  cache_put_points(f->cache, source, pts, n);
}

static void to_influx(void *arg, const struct tsdb_point *pts, size_t n) {
  struct cli_forward *f = arg;
  (void)sink_influx_write_points(f->influx, pts, n); /* counted there */
}

int cli_forward_open(const struct vg_config *cfg, struct tsdb *store, struct cache *cache,
                     struct mt_registry *reg, struct cli_forward **out, char *err, size_t errlen) {
  struct cli_forward *f = vg_calloc(1, sizeof *f);
  f->store = store;
  f->cache = cache;
  if (cfg->sinks.influx.enabled &&
      sink_influx_open(&cfg->sinks.influx, cfg->state_dir, reg, &f->influx, err, errlen) < 0) {
    free(f);
    return -1;
  }
  *out = f;
  return 0;
}

struct ingest_target cli_forward_target(struct cli_forward *f) {
  if (!f) return (struct ingest_target){0};
  return (struct ingest_target){.store = f->store,
                                .sinks = f->influx ? to_influx : NULL,
                                .sinks_arg = f,
                                .cache = f->cache ? to_cache : NULL,
                                .cache_arg = f,
                                .source = "http"};
}

void cli_forward_close(struct cli_forward *f) {
  if (!f) return;
  if (f->influx) sink_influx_close(&f->influx); /* sends what is queued, or spools it */
  free(f);
}
