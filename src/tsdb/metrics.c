/* metrics — the store's vigil_store_* metrics, read from its counters at scrape time. */
#include "metrics/metrics.h"
#include "tsdb/tsdb_int.h"

struct store_metrics {
  struct tsdb *db;
  struct mt_family *points, *rejected, *series, *head, *blocks, *bytes, *wal_bytes, *syncs,
      *flushes, *last_flush, *compactions, *drops, *rollups, *corrupt, *policy_bytes, *policy_points,
      *recoveries, *writable;
};

static void collect(struct mt_registry *r, void *arg) {
  (void)r;
  struct store_metrics *m = arg;
  struct tsdb_stats st;
  tsdb_stats(m->db, &st);
  mt_set(mt_get(m->points, NULL), (double)st.points_written);
  mt_set(mt_get(m->rejected, NULL), (double)st.points_rejected);
  mt_set(mt_get(m->series, NULL), (double)st.series);
  mt_set(mt_get(m->head, NULL), (double)st.head_points);
  mt_set(mt_get(m->blocks, NULL), (double)st.blocks);
  mt_set(mt_get(m->bytes, NULL), (double)st.block_bytes);
  mt_set(mt_get(m->wal_bytes, NULL), (double)st.wal_bytes);
  mt_set(mt_get(m->syncs, NULL), (double)st.wal_syncs);
  mt_set(mt_get(m->flushes, NULL), (double)st.flushes);
  /* last_flush_ms is on the monotonic clock: its age, taken from the wall clock */
  uint64_t age_ms = vg_now_ms() - atomic_load(&m->db->last_flush_ms);
  mt_set(mt_get(m->last_flush, NULL), vg_wall_seconds() - (double)age_ms / 1e3);
  mt_set(mt_get(m->compactions, NULL), (double)st.compactions);
  mt_set(mt_get(m->drops, NULL), (double)st.retention_drops);
  mt_set(mt_get(m->rollups, NULL), (double)st.rollup_points);
  mt_set(mt_get(m->corrupt, NULL), (double)atomic_load(&m->db->corrupt_blocks));
  mt_set(mt_get(m->recoveries, NULL), (double)st.wal_recoveries);
  mt_set(mt_get(m->writable, NULL), st.writable ? 1.0 : 0.0);
  for (size_t i = 0; i < st.n_policies; i++) {
    const char *l[] = {st.policies[i].name};
    mt_set(mt_get(m->policy_bytes, l), (double)st.policies[i].bytes);
    mt_set(mt_get(m->policy_points, l), (double)st.policies[i].points);
  }
  tsdb_stats_free(&st);
}

static const double query_buckets[] = {1e-6, 1e-5, 1e-4, 1e-3, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};

/* The families, defined once for the store and for tsdb_metrics_describe. */
static struct mt_family *families(struct mt_registry *reg, struct store_metrics *m) {
  static const char *const pol[] = {"policy", NULL};
  m->points = mt_counter(reg, "vigil_store_values_written_total", "Field values written to the store.", NULL);
  m->rejected = mt_counter(reg, "vigil_store_values_refused_total",
                           "Field values refused (type conflict, bad value, time range, series limit).", NULL);
  m->series = mt_gauge(reg, "vigil_store_series", "Series known to the store.", NULL);
  m->head = mt_gauge(reg, "vigil_store_head_points", "Points in memory, not yet in blocks.", NULL);
  m->blocks = mt_gauge(reg, "vigil_store_blocks", "Block files.", NULL);
  m->bytes = mt_gauge(reg, "vigil_store_block_bytes", "Bytes of block files on disk.", NULL);
  m->wal_bytes = mt_gauge(reg, "vigil_store_wal_bytes", "Bytes of the write-ahead and series logs.", NULL);
  m->syncs = mt_counter(reg, "vigil_store_wal_syncs_total", "fdatasync calls on the write-ahead log.", NULL);
  m->flushes = mt_counter(reg, "vigil_store_flushes_total", "Head flushes into blocks.", NULL);
  m->last_flush = mt_gauge(reg, "vigil_store_last_flush_timestamp_seconds",
                           "Unix time the head was last flushed into blocks (or the store opened).",
                           NULL);
  m->compactions = mt_counter(reg, "vigil_store_compactions_total", "Block merges.", NULL);
  m->drops = mt_counter(reg, "vigil_store_retention_dropped_blocks_total",
                        "Blocks removed because their policy's retention expired.", NULL);
  m->rollups = mt_counter(reg, "vigil_store_rollup_points_total", "Rollup points written.", NULL);
  m->corrupt = mt_counter(reg, "vigil_store_corrupt_blocks_total",
                          "Blocks or chunks that failed a checksum and were not read.", NULL);
  m->recoveries = mt_counter(reg, "vigil_store_wal_recoveries_total",
                              "Times the store's log recovered by itself after failed writes "
                              "(a full disk, an I/O error).", NULL);
  m->writable = mt_gauge(reg, "vigil_store_writable",
                         "1 while the store takes writes, 0 while its log refuses them.", NULL);
  m->policy_bytes = mt_gauge(reg, "vigil_store_policy_bytes", "Block bytes per retention policy.", pol);
  m->policy_points = mt_gauge(reg, "vigil_store_policy_values", "Values in blocks per retention policy.", pol);
  return mt_histogram(reg, "vigil_store_query_duration_seconds",
                      "Latency of store queries (range and last value).", NULL, query_buckets,
                      sizeof query_buckets / sizeof *query_buckets);
}

void tsdb_metrics_describe(struct mt_registry *reg) {
  struct store_metrics m;
  families(reg, &m);
}

void tsdb_register_metrics(struct tsdb *db, struct mt_registry *reg) {
  /* freed by tsdb_close: close the store only after the last render of the registry */
  struct store_metrics *m = vg_calloc(1, sizeof *m);
  free(db->metrics_state);
  db->metrics_state = m;
  m->db = db;
  db->query_seconds = mt_get(families(reg, m), NULL);
  mt_add_collector(reg, collect, m);
}
