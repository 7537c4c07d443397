/*
 * The daemon's scan bridges (src/bridge/): one per entry of the config's `bridges`
 * section, writing through the daemon's ingest pipeline and cache; and the freshness
 * check the supervisor's `ready: {fresh: NAME}` probes ask (the supervisor does not
 * link the cache).
 */
#include "bridge/bridge.h"
#include "cache/cache.h"
#include "cli/cli.h"
#include "core/core.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

struct cli_bridges {
  struct bridge **b;
  size_t n;
  struct cli_feeds *feeds;
};

/* The status hook: the feeds' part, then "bridges" (document 000's status of a bridge:
 * scans, the latest scan and its age, assets, gaps, errors). */
void cli_bridges_status(void *arg, void *root) {
  struct cli_bridges *bs = arg;
  cli_feeds_status(bs->feeds, root);
  if (bs->n == 0) return;
  json_t *arr = json_array();
  for (size_t i = 0; i < bs->n; i++) {
    struct bridge_stats st;
    bridge_get_stats(bs->b[i], &st);
    json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "name", st.name, "scans", (json_int_t)st.scans,
                          "latest_scan", (json_int_t)st.latest_scan, "assets", (json_int_t)st.assets, "gaps",
                          (json_int_t)st.gaps, "out_of_order", (json_int_t)st.out_of_order, "quarantined",
                          (json_int_t)st.quarantined, "retries", (json_int_t)st.retries, "errors", (json_int_t)st.errors);
    if (st.latest_ts) json_object_set_new(o, "data_age_seconds", json_real((double)(vg_wall_ns() - st.latest_ts) / 1e9));
    if (st.last_error[0]) json_object_set_new(o, "last_error", json_string(st.last_error));
    json_array_append_new(arr, o);
  }
  json_object_set_new(root, "bridges", arr);
}

int cli_bridges_start(uv_loop_t *loop, const struct vg_config *cfg, struct cache *cache,
                      const struct ingest_target *target, struct mt_registry *reg, struct cli_feeds *feeds,
                      struct cli_bridges **out, char *err, size_t errlen) {
  struct cli_bridges *bs = vg_calloc(1, sizeof *bs);
  bs->feeds = feeds;
  bs->b = vg_calloc(cfg->n_bridges ? cfg->n_bridges : 1, sizeof *bs->b);
  struct bridge_deps deps = {.cache = cache, .target = target, .metrics = reg, .state_dir = cfg->state_dir};
  for (size_t i = 0; i < cfg->n_bridges; i++) {
    if (bridge_start(loop, &cfg->bridges[i], &deps, &bs->b[bs->n], err, errlen) < 0) {
      /* the ones started are stopped by the caller's shutdown path */
      *out = bs;
      return -1;
    }
    bs->n++;
  }
  *out = bs;
  return 0;
}

void cli_bridges_stop(struct cli_bridges *bs) {
  if (!bs) return;
  for (size_t i = 0; i < bs->n; i++) bridge_stop(bs->b[i]);
}

void cli_bridges_free(struct cli_bridges *bs) {
  if (!bs) return;
  for (size_t i = 0; i < bs->n; i++) bridge_free(bs->b[i]);
  free(bs->b);
  free(bs);
}

double cli_fresh_age(void *arg, const char *name) {
  struct cache *cache = arg;
  double age = cache_doc_age(cache, name);
  return age >= 0 ? age : cache_age(cache, name);
}
