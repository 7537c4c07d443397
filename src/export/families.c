/*
 * Every metric family vigil can expose, in one registry: each module registers its
 * families here through the same function it uses for its live registration (sv_,
 * tsdb_, ingest_, sink_, api_, cp_metrics_describe, and the metrics module's own), so
 * the exports read the list from where the metrics are defined, never from a copy.
 * The dashboard and the rules are checked against it (tests/unit/test_export.c), and
 * it against a live scrape of a daemon running every module (tests/integration).
 */
#include <stdio.h>
#include <string.h>

#include "bridge/bridge.h"
#include "cache/cache.h"
#include "compute/compute.h"
#include "monitor/monitor.h"
#include "export/export_int.h"
#include "failover/failover.h"
#include "http/http.h"
#include "ingest/ingest.h"
#include "metrics/metrics.h"
#include "sink/sink.h"
#include "supervise/supervise.h"
#include "tsdb/tsdb.h"

struct mt_registry *ex_metric_families(void) {
  struct mt_registry *r = mt_registry_new();
  mt_register_process(r);
  mt_register_build_info(r, VIGIL_VERSION, vg_commit());
  sv_metrics_describe(r);
  api_metrics_describe(r);
  tsdb_metrics_describe(r);
  ingest_metrics_describe(r);
  sink_metrics_describe(r);
  cache_metrics_describe(r);
  mon_metrics_describe(r);
  bridge_metrics_describe(r);
  cp_metrics_describe(r);
  fo_metrics_describe(r);
  return r;
}

/* What Prometheus adds to every target's samples itself. */
static const char *const synthetic[] = {
    "up", "scrape_duration_seconds", "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling", "scrape_series_added",
};

/* A histogram's sample name: family_bucket, _sum or _count; the family's name into
 * family (of size n). */
static bool histogram_family(const char *name, char *family, size_t n) {
  static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
  size_t len = strlen(name);
  for (size_t i = 0; i < VG_ARRAY_LEN(suffixes); i++) {
    size_t sl = strlen(suffixes[i]);
    if (len > sl && len - sl < n && strcmp(name + len - sl, suffixes[i]) == 0) {
      memcpy(family, name, len - sl);
      family[len - sl] = '\0';
      return true;
    }
  }
  return false;
}

enum ex_metric_origin ex_metric_origin(struct mt_registry *families, const char *name) {
  struct mt_family_info fi;
  /* a histogram has no sample of its bare name */
  if (mt_family_find(families, name, &fi) && fi.type != MT_HISTOGRAM) return EX_METRIC_EXPOSED;
  char family[256];
  if (histogram_family(name, family, sizeof family) && mt_family_find(families, family, &fi) &&
      fi.type == MT_HISTOGRAM)
    return EX_METRIC_EXPOSED;
  for (size_t i = 0; i < VG_ARRAY_LEN(synthetic); i++)
    if (strcmp(name, synthetic[i]) == 0) return EX_METRIC_SYNTHETIC;
  return EX_METRIC_UNKNOWN;
}

char *ex_metric_list(struct mt_registry *families) {
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_puts(&b, "");
  size_t n = mt_family_count(families);
  for (size_t i = 0; i < n; i++) {
    struct mt_family_info fi;
    mt_family_at(families, i, &fi);
    vg_buf_printf(&b, "%s\t%s\t", fi.name, mt_type_name(fi.type));
    for (size_t k = 0; k < fi.n_labels; k++) vg_buf_printf(&b, "%s%s", k ? "," : "", fi.labels[k]);
    vg_buf_printf(&b, "\t%s\n", fi.help ? fi.help : "");
  }
  return b.data;
}

int ex_check_exprs(struct mt_registry *families, char **exprs, bool synthetic_ok, char *err,
                   size_t errlen) {
  for (size_t i = 0; exprs[i]; i++) {
    char **names = NULL;
    if (ex_promql_metrics(exprs[i], &names) != 0) {
      snprintf(err, errlen, "malformed expression: %s", exprs[i]);
      vg_strv_free(names);
      return -1;
    }
    for (size_t k = 0; names && names[k]; k++) {
      enum ex_metric_origin o = ex_metric_origin(families, names[k]);
      if (o == EX_METRIC_EXPOSED || (synthetic_ok && o == EX_METRIC_SYNTHETIC)) continue;
      snprintf(err, errlen, "%s (in %s) is not a metric vigil exposes", names[k], exprs[i]);
      vg_strv_free(names);
      return -1;
    }
    vg_strv_free(names);
  }
  return 0;
}
