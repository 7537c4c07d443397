/*
 * wal.c — the write-ahead log: the store's log format on the core record log
 * (core/reclog.h), its sync policies, the batch that is dropped when it fails, and
 * rotation and removal after flushes. The format is documented in wal.h.
 */
#include "tsdb/wal.h"

#include "core/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct vg_reclog_format wal_format = {
    .magic = "VGWAL",
    .version = TSDB__WAL_VERSION,
    .max_record = TSDB__WAL_MAX_RECORD,
    .suffix = ".wal",
    .name = "wal",
};

struct tsdb__wal {
  struct vg_reclog *log;
  enum tsdb__wal_policy policy;
  uint32_t interval_ms;
  uint64_t last_sync_ms;
  bool discard;       /* drop the failed batch (discard_failed_batch) */
  uint64_t batch_lsn; /* where the batch being appended began: the last commit's end */
};

int tsdb__wal_scan(const void *buf, size_t len, uint32_t expect_seg, tsdb__wal_record_fn fn,
                   void *arg, struct tsdb__wal_scan_result *res) {
  struct vg_reclog_scan_result r;
  int rc = vg_reclog_scan(&wal_format, buf, len, expect_seg, fn, arg, &r);
  res->status = r.status == VG_RECLOG_SCAN_OK        ? TSDB__WAL_SCAN_OK
                : r.status == VG_RECLOG_SCAN_BAD_HDR ? TSDB__WAL_SCAN_BAD_HDR
                                                     : TSDB__WAL_SCAN_TORN;
  res->good_len = r.good_len;
  res->records = r.records;
  memcpy(res->why, r.why, sizeof res->why);
  return rc;
}

/* A failed call: the batch in progress was refused, so its records go. */
static int failed(struct tsdb__wal *w, int rc) {
  if (rc != 0 && w->discard) vg_reclog_discard_from(w->log, w->batch_lsn);
  return rc;
}

/* The batch ended well: the next one starts here. */
static int done(struct tsdb__wal *w, int rc) {
  if (rc != 0) return failed(w, rc);
  w->batch_lsn = vg_reclog_next_lsn(w->log);
  return 0;
}

int tsdb__wal_append(struct tsdb__wal *w, uint32_t type, const void *payload, uint32_t len,
                     uint64_t *lsn) {
  int rc = vg_reclog_append(w->log, type, payload, len, lsn);
  return rc ? failed(w, rc) : 0;
}

int tsdb__wal_sync(struct tsdb__wal *w) {
  int rc = vg_reclog_sync(w->log);
  if (rc == 0) w->last_sync_ms = vg_now_ms();
  return done(w, rc);
}

int tsdb__wal_maybe_sync(struct tsdb__wal *w, uint64_t now_ms) {
  int rc = vg_reclog_error(w->log, NULL);
  if (rc) return rc;
  if (w->policy != TSDB__WAL_SYNC_INTERVAL) return 0;
  if (now_ms - w->last_sync_ms < w->interval_ms) return 0;
  if (!vg_reclog_dirty(w->log)) return 0;
  return tsdb__wal_sync(w);
}

int tsdb__wal_commit(struct tsdb__wal *w) {
  switch (w->policy) {
  case TSDB__WAL_SYNC_EVERY:
    return tsdb__wal_sync(w);
  case TSDB__WAL_SYNC_INTERVAL: {
    int rc = vg_reclog_flush(w->log);
    if (rc == 0) rc = tsdb__wal_maybe_sync(w, vg_now_ms());
    return done(w, rc);
  }
  case TSDB__WAL_SYNC_NEVER:
    return done(w, vg_reclog_flush(w->log));
  }
  VG_ASSERT(!"unknown wal policy");
}

uint64_t tsdb__wal_synced_lsn(const struct tsdb__wal *w) { return vg_reclog_synced_lsn(w->log); }
uint64_t tsdb__wal_next_lsn(const struct tsdb__wal *w) { return vg_reclog_next_lsn(w->log); }
uint32_t tsdb__wal_current_segment(const struct tsdb__wal *w) {
  return vg_reclog_current_segment(w->log);
}
uint32_t tsdb__wal_first_segment(const struct tsdb__wal *w) {
  return vg_reclog_first_segment(w->log);
}

int tsdb__wal_truncate_before(struct tsdb__wal *w, uint32_t seg) {
  int rc = vg_reclog_error(w->log, NULL);
  return rc ? rc : vg_reclog_remove_before(w->log, seg);
}

int tsdb__wal_dup_fd(const struct tsdb__wal *w) { return vg_reclog_dup_fd(w->log); }

int tsdb__wal_rotate(struct tsdb__wal *w) { return done(w, vg_reclog_rotate(w->log)); }

int tsdb__wal_recover(struct tsdb__wal *w) { return vg_reclog_recover(w->log, false); }
int tsdb__wal_error(const struct tsdb__wal *w, uint64_t *since_ms) {
  return vg_reclog_error(w->log, since_ms);
}
uint64_t tsdb__wal_recoveries(const struct tsdb__wal *w) { return vg_reclog_recoveries(w->log); }

int tsdb__wal_open(struct tsdb__wal **out, const char *dir, const struct tsdb__wal_opts *opts,
                   tsdb__wal_record_fn fn, void *arg, char *err, size_t errlen) {
  *out = NULL;
  struct vg_reclog_opts ro = {.segment_size = opts ? opts->segment_size : 0};
  struct tsdb__wal *w = vg_calloc(1, sizeof *w);
  w->policy = opts ? opts->policy : TSDB__WAL_SYNC_EVERY;
  w->interval_ms = opts ? opts->interval_ms : 0;
  w->discard = opts && opts->discard_failed_batch;
  int rc = vg_reclog_open(&w->log, &wal_format, dir, &ro, fn, arg, err, errlen);
  /* Make the (possibly new) header and directory entry durable before appending. */
  if (rc == 0 && (rc = vg_reclog_sync(w->log)) != 0) {
    snprintf(err, errlen, "wal: %s: %s", dir, strerror(-rc));
    vg_reclog_close(&w->log);
  }
  if (rc != 0) {
    free(w);
    return rc;
  }
  w->last_sync_ms = vg_now_ms();
  w->batch_lsn = vg_reclog_next_lsn(w->log);
  *out = w;
  return 0;
}

int tsdb__wal_close(struct tsdb__wal **wp) {
  struct tsdb__wal *w = *wp;
  if (!w) return 0;
  int rc = vg_reclog_close(&w->log);
  free(w);
  *wp = NULL;
  return rc;
}
