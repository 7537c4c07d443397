/*
 * forward — where the feeds' points go under `vigil up`: into the store, and, when
 * `sinks.influx` is configured, to InfluxDB as line protocol with explicit timestamps
 * (so the sink's retries cannot duplicate a point). Both are thread-safe: every feed's
 * writer thread calls forward_write. The latest-value cache hook is for the monitor to fill.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core.h"
#include "ingest/ingest.h"
#include "ingest/lp_encode.h"
#include "sink/sink.h"
#include "tsdb/tsdb.h"

struct cli_forward {
  struct tsdb *store;
  struct sink_influx *influx;
};

static int forward_write(void *arg, const struct tsdb_point *pts, size_t n,
                         struct tsdb_write_result *res) {
  struct cli_forward *f = arg;
  int rc = 0;
  if (f->store) {
    rc = tsdb_write(f->store, pts, n, res);
  } else if (res) {
    memset(res, 0, sizeof *res);
    for (size_t i = 0; i < n; i++) res->points += pts[i].n_fields;
  }
  if (f->influx) {
    struct vg_buf b;
    vg_buf_init(&b);
    ingest_lp_encode(&b, pts, n);
    if (b.len) (void)sink_influx_write(f->influx, (const char *)b.data, b.len); /* counted there */
    vg_buf_free(&b);
  }
  return rc;
}

int cli_forward_open(const struct vg_config *cfg, struct tsdb *store, struct mt_registry *reg,
                     struct cli_forward **out, char *err, size_t errlen) {
  struct cli_forward *f = vg_calloc(1, sizeof *f);
  f->store = store;
  if (cfg->sinks.influx.enabled &&
      sink_influx_open(&cfg->sinks.influx, cfg->state_dir, reg, &f->influx, err, errlen) < 0) {
    free(f);
    return -1;
  }
  *out = f;
  return 0;
}

struct ingest_sink cli_forward_sink(struct cli_forward *f) {
  bool any = f && (f->store || f->influx);
  return (struct ingest_sink){.write = any ? forward_write : NULL, .write_arg = f};
}

void cli_forward_close(struct cli_forward *f) {
  if (!f) return;
  if (f->influx) sink_influx_close(&f->influx); /* sends what is queued, or spools it */
  free(f);
}
