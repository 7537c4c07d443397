/* store_open — the config's `store` section turned into tsdb options, for `vigil up` and
 * for the store verbs when no daemon is running. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core.h"
#include "tsdb/tsdb.h"

#define MS_NS INT64_C(1000000)

static int store_open(const struct vg_config *cfg, bool background, bool quiet_busy,
                      struct tsdb **out) {
  const struct cfg_store *s = &cfg->store;
  struct tsdb_policy *pol = vg_calloc(s->n_policies + 1, sizeof *pol);
  size_t n_tags = 0;
  for (size_t i = 0; i < s->n_policies; i++) n_tags += vg_strv_len(s->policies[i].tag_keys);
  struct tsdb_tag *tags = vg_calloc(n_tags + 1, sizeof *tags);
  struct tsdb_tag *t = tags;
  for (size_t i = 0; i < s->n_policies; i++) {
    const struct cfg_store_policy *p = &s->policies[i];
    pol[i] = (struct tsdb_policy){.name = p->name, .duration_ns = p->duration_ms * MS_NS,
                                  .measurement = p->measurement, .tags = t};
    for (size_t k = 0; p->tag_keys[k]; k++, t++) {
      *t = (struct tsdb_tag){{p->tag_keys[k], strlen(p->tag_keys[k])},
                             {p->tag_values[k], strlen(p->tag_values[k])}};
      pol[i].n_tags++;
    }
  }
  struct tsdb_rollup *ru = vg_calloc(s->n_rollups + 1, sizeof *ru);
  for (size_t i = 0; i < s->n_rollups; i++)
    ru[i] = (struct tsdb_rollup){.name = s->rollups[i].name, .source = s->rollups[i].from,
                                 .target = s->rollups[i].to,
                                 .interval_ns = s->rollups[i].every_ms * MS_NS,
                                 .aggs = s->rollups[i].aggs};
  struct tsdb_opts o = {
      .sync = s->sync == CFG_SYNC_BATCH      ? TSDB_SYNC_BATCH
              : s->sync == CFG_SYNC_INTERVAL ? TSDB_SYNC_INTERVAL
                                             : TSDB_SYNC_NEVER,
      .sync_interval_ms = (uint32_t)s->sync_interval_ms,
      .block_ns = s->block_ms * MS_NS,
      .head_max_points = s->head_max_points,
      .max_series = s->max_series,
      .background = background,
      .policies = pol,
      .n_policies = s->n_policies,
      .rollups = ru,
      .n_rollups = s->n_rollups,
  };
  char err[512];
  int rc = tsdb_open(out, s->dir, &o, err, sizeof err);
  if (rc < 0 && !(quiet_busy && rc == -EBUSY)) fprintf(stderr, "vigil: store %s: %s\n", s->dir, err);
  free(pol);
  free(tags);
  free(ru);
  return rc;
}

int cli_store_open(const struct vg_config *cfg, bool background, struct tsdb **out) {
  return store_open(cfg, background, false, out);
}

int cli_store_try_open(const struct vg_config *cfg, struct tsdb **out) {
  return store_open(cfg, false, true, out);
}
