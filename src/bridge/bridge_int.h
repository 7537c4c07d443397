/*
 * bridge_int.h — what the files of src/bridge/ share: the bridge's state (loop side and
 * pool side), the record of processed files (record.c), reading one scan file and
 * publishing it (scan.c), metrics (metrics.c).
 */
#ifndef VIGIL_BRIDGE_INT_H
#define VIGIL_BRIDGE_INT_H

#include "bridge/bridge.h"
#include "config/config.h"
#include "core/core.h"
#include "ingest/ingest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <uv.h>

/* ---- the record of processed files (record.c) ----
 * STATE_DIR/bridge/NAME/processed, one line per file: "NAME\tSIZE\tMTIME_NS\tSCAN\n"
 * (SCAN -1 for a quarantined file); appended, loaded into an open-addressing set. A
 * torn last line (a crash while appending) is cut off at load. */
struct bridge__rec {
  char *name;
  int64_t size, mtime, scan;
};
struct bridge__record {
  struct bridge__rec *slots;
  size_t cap, n;
  int fd;
  int64_t latest_scan;     /* the highest scan recorded, -1 */
  char *latest_name;       /* its file */
};
int bridge__record_open(struct bridge__record *r, const char *dir, char *err, size_t errlen);
void bridge__record_close(struct bridge__record *r);
const struct bridge__rec *bridge__record_find(const struct bridge__record *r, const char *name);
/* Adds (or replaces) name and appends it to the file. 0 or -errno (kept in memory). */
int bridge__record_add(struct bridge__record *r, const char *name, int64_t size, int64_t mtime, int64_t scan);
/* The two halves: in memory (the scan job's thread only), and the line in the file (any
 * thread: one write with O_APPEND) — a scan whose store write runs on a job of its own
 * is noted at once and appended once the store has it, so a crash in between reads it
 * again at the next start. */
void bridge__record_note(struct bridge__record *r, const char *name, int64_t size, int64_t mtime, int64_t scan);
int bridge__record_append(const struct bridge__record *r, const char *name, int64_t size, int64_t mtime, int64_t scan);

/* A file named by an event, with when the event came (monotonic ns). */
struct bridge__item {
  char *name;
  uint64_t t_event;
};

/* A scan's last batch on its way to the store (scan.c makes it, watch.c runs it). */
struct bridge__store_job {
  struct bridge__store_job *next;
  struct arrow_reader *r; /* keeps the batch (and its strings) alive */
  uint8_t *data;          /* the file's bytes, under r */
  struct tsdb_point *pts;
  struct tsdb_tag *tags;
  struct tsdb_field *fields;
  size_t np, nf;
  char *name;
  int64_t size, mtime, scan; /* for the record, once written */
};
void bridge__store_job_run(struct bridge *b, struct bridge__store_job *j);
void bridge__store_job_free(struct bridge__store_job *j);

struct bridge {
  struct cfg_bridge cfg; /* a deep copy */
  char source[96];       /* "bridge:NAME" */
  struct cache *cache;
  struct ingest_target target; /* the store and its sinks as asked (no cache hook) */
  ingest_latest_fn *keys_hook;  /* the cache's per-asset keys, when asked */
  uv_loop_t *loop;

  /* loop side */
  int ifd;
  uv_poll_t poll;
  uv_timer_t timer;
  int open_handles;
  bool busy, stopping, want_rescan, first;
  struct bridge__item *pend;
  size_t n_pend, cap_pend;
  uv_work_t work;
  struct bridge__store_job *made, **made_tail; /* made by the scan job in flight */
  struct bridge__store_job *store_q, **store_q_tail; /* waiting for the store */
  struct bridge__store_job *store_cur;
  uv_work_t store_work;
  bool store_busy;
  struct bridge__item *job; /* taken from pend for the job in flight */
  size_t n_job;
  bool job_rescan, job_first;

  /* pool side (one job at a time) */
  struct bridge__record rec;
  struct tsdb_point *pts;
  struct tsdb_tag *tags;
  struct tsdb_field *fields;
  size_t cap_pts, cap_fields;
  struct vg_buf doc;

  /* shared: atomics, and the last error under a mutex */
  _Atomic uint64_t scans, gaps, out_of_order, quarantined, retries, errors, assets;
  _Atomic int64_t latest_scan, latest_ts;
  pthread_mutex_t mu;
  char last_error[256];

  struct bridge__metrics *m; /* NULL without a registry */
};

/* scan.c: reads one file of the directory and publishes it. complete: seen closed or
 * renamed into place. republish: the restart's re-publication of the latest recorded
 * file (cache only, nothing counted or recorded). Returns 0 read and published (or
 * already recorded, or gone), 1 left for a later rescan (incomplete), -1 quarantined. */
int bridge__scan_file(struct bridge *b, const char *name, bool complete, uint64_t t_event, bool republish);
void bridge__set_error(struct bridge *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* metrics.c */
struct bridge__metrics;
struct bridge__metrics *bridge__metrics_new(struct mt_registry *reg, struct bridge *b);
void bridge__metrics_free(struct bridge__metrics *m);
/* after each scan or failure: the counters into the series; latency_s < 0: none */
void bridge__metrics_update(struct bridge *b, double latency_s);

#endif
