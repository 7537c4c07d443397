/*
 * bridge — the scan bridge (docs/bridge.md): a directory where a scanner writes Arrow
 * IPC files (one scan each: a row per asset, a scan-number column, value columns),
 * watched through the loop (inotify: a file closed after writing or renamed into
 * place) and rescanned periodically; every new scan goes to the latest-value cache (a
 * JSON document of the latest scan, per-asset keys) and the store (points through the
 * ingest pipeline, so scans are queryable, downsampled and retained like ticks).
 *
 * Files: only complete files are read. One seen closed or renamed into place is
 * complete; one found by a rescan that fails to read is retried until it is `settle`
 * old (a writer may still be at it), then quarantined: moved to the quarantine
 * directory beside a NAME.reason file saying why. Every file read (or quarantined) is
 * recorded in STATE_DIR/bridge/NAME/processed (one line each: name, size, mtime, scan
 * number), so a restart does not read it again; at start the latest recorded scan is
 * published to the cache again (not to the store, which has it) when its file is less
 * than 60 s old (the cache dates entries by their arrival: older data must not look
 * fresh to a `ready: {fresh: ...}` probe). A scan older than the
 * latest does not move the document back (counted as out of order); a scan number that
 * skips numbers counts the missing ones as gaps.
 *
 * Threads: the watch, the timer and the bookkeeping are the loop's; reading files and
 * writing to the cache and the store is done on libuv's thread pool, one job at a time
 * per bridge (the cache, the store and the pipeline are thread-safe). Counters are
 * atomics, shared with the metrics collector and the status.
 */
#ifndef VIGIL_BRIDGE_H
#define VIGIL_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct uv_loop_s uv_loop_t;
struct cfg_bridge;
struct cache;
struct ingest_target;
struct mt_registry;
struct bridge;

struct bridge_deps {
  struct cache *cache;                 /* may be NULL: no document, no keys */
  const struct ingest_target *target;  /* the pipeline (store, sinks, cache hook); may be NULL */
  struct mt_registry *metrics;         /* may be NULL */
  const char *state_dir;
};

/* Starts bridge cfg (copied) on loop: creates the quarantine and state directories,
 * loads the record, starts watching and the first scan. 0, or -1 with err (nothing
 * started). deps' parts must outlive the bridge. */
int bridge_start(uv_loop_t *loop, const struct cfg_bridge *cfg, const struct bridge_deps *deps,
                 struct bridge **out, char *err, size_t errlen);
/* Stops watching (closes its handles; a file being read is finished). Call on the loop
 * thread, then run the loop until it has no more work, then bridge_free. */
void bridge_stop(struct bridge *b);
void bridge_free(struct bridge *b);

struct bridge_stats {
  const char *name;
  uint64_t scans;          /* files read and published */
  int64_t latest_scan;     /* -1 before the first */
  int64_t latest_ts;       /* ns since the epoch of the latest scan, 0 before the first */
  uint64_t assets;         /* rows (assets) of the latest scan */
  uint64_t gaps;           /* scan numbers skipped */
  uint64_t out_of_order;   /* scans older than (or equal to) the latest when read */
  uint64_t quarantined;
  uint64_t retries;        /* incomplete files left for later */
  uint64_t errors;         /* any failure: quarantined files, unreadable directories */
  char last_error[256];
};
/* A snapshot; any thread. */
void bridge_get_stats(struct bridge *b, struct bridge_stats *out);

/* Metric families (for `vigil export`): vigil_bridge_* */
void bridge_metrics_describe(struct mt_registry *reg);

#endif
