/*
 * metrics.c — vigil_bridge_*: per bridge, its scans, the latest scan number and its
 * assets, gaps, out-of-order scans, quarantined files, retries, errors, the age of the
 * latest scan's data (computed when /metrics is rendered) and the time from a file's
 * event (closed or renamed into place) to the cache's update.
 */
#include "bridge/bridge_int.h"

#include "core/core.h"
#include "metrics/metrics.h"

#include <stdlib.h>

static const char *const labels[] = {"bridge", NULL};
static const double buckets[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};

struct bridge__metrics {
  struct mt_series *scans, *latest, *assets, *gaps, *ooo, *quarantined, *retries, *errors, *age, *latency;
};

static struct mt_family *fam(struct mt_registry *r, int i) {
  switch (i) {
  case 0: return mt_counter(r, "vigil_bridge_scans_total", "Scan files a bridge read and published.", labels);
  case 1: return mt_gauge(r, "vigil_bridge_latest_scan", "The latest scan number a bridge published.", labels);
  case 2: return mt_gauge(r, "vigil_bridge_assets", "Assets (rows) in the latest scan.", labels);
  case 3: return mt_counter(r, "vigil_bridge_scan_gaps_total", "Scan numbers skipped between consecutive scans.", labels);
  case 4: return mt_counter(r, "vigil_bridge_out_of_order_total", "Scans read after a newer one (not published as the latest).", labels);
  case 5: return mt_counter(r, "vigil_bridge_quarantined_total", "Files moved to the quarantine directory.", labels);
  case 6: return mt_counter(r, "vigil_bridge_retries_total", "Incomplete files left for a later rescan.", labels);
  case 7: return mt_counter(r, "vigil_bridge_errors_total", "Failures: quarantined files, unreadable directories.", labels);
  case 8: return mt_gauge(r, "vigil_bridge_data_age_seconds", "Seconds since the latest scan's timestamp (-1 before the first).", labels);
  default:
    return mt_histogram(r, "vigil_bridge_update_seconds", "From a file's event (closed or renamed) to the cache's update.",
                        labels, buckets, VG_ARRAY_LEN(buckets));
  }
}

void bridge_metrics_describe(struct mt_registry *reg) {
  for (int i = 0; i < 10; i++) fam(reg, i);
}

static void collect(struct mt_registry *r, void *arg) {
  struct bridge *b = arg;
  (void)r;
  int64_t ts = atomic_load(&b->latest_ts);
  mt_set(b->m->age, ts ? (double)(vg_wall_ns() - ts) / 1e9 : -1);
}

struct bridge__metrics *bridge__metrics_new(struct mt_registry *reg, struct bridge *b) {
  struct bridge__metrics *m = vg_calloc(1, sizeof *m);
  const char *v[] = {b->cfg.name};
  struct mt_series **s[] = {&m->scans, &m->latest, &m->assets, &m->gaps, &m->ooo, &m->quarantined,
                            &m->retries, &m->errors, &m->age, &m->latency};
  for (int i = 0; i < 10; i++) *s[i] = mt_get(fam(reg, i), v);
  mt_set(m->latest, -1);
  mt_set(m->age, -1);
  b->m = m;
  mt_add_collector(reg, collect, b);
  return m;
}

void bridge__metrics_free(struct bridge__metrics *m) { free(m); }

void bridge__metrics_update(struct bridge *b, double latency_s) {
  struct bridge__metrics *m = b->m;
  if (!m) return;
  mt_set(m->scans, (double)atomic_load(&b->scans));
  mt_set(m->latest, (double)atomic_load(&b->latest_scan));
  mt_set(m->assets, (double)atomic_load(&b->assets));
  mt_set(m->gaps, (double)atomic_load(&b->gaps));
  mt_set(m->ooo, (double)atomic_load(&b->out_of_order));
  mt_set(m->quarantined, (double)atomic_load(&b->quarantined));
  mt_set(m->retries, (double)atomic_load(&b->retries));
  mt_set(m->errors, (double)atomic_load(&b->errors));
  if (latency_s >= 0) mt_observe(m->latency, latency_s);
}
