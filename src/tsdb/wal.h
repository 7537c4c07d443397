/*
 * wal — the write-ahead log of the time-series store (module-private).
 *
 * Points are appended here before they are acknowledged. After a crash at any
 * moment, opening the log replays every record that was synced; a torn tail is
 * truncated and logged; corruption anywhere else is reported, never skipped.
 *
 * On-disk format
 * --------------
 * A core record log (src/core/reclog.h documents the segment header, the record
 * framing, the recovery rules and LSNs) in strict mode: only the last segment may have
 * a torn tail, which is truncated and logged ("wal torn tail truncated"); corruption
 * anywhere else, or a gap in the segment numbers, fails the open with -EBADMSG naming
 * the segment and offset. This log's format:
 *     magic "VGWAL", version TSDB__WAL_VERSION = 1, segment files "%08x.wal",
 *     record tag = the record type (opaque to the log, chosen by the caller),
 *     payload <= TSDB__WAL_MAX_RECORD (16 MiB).
 * (Version 1 is the format vigil has always written: moving the code to core/reclog
 * changed no byte.) A new segment is started once the current one has reached the
 * segment size (default 64 MiB), so a segment may exceed it by one record; the
 * previous segment is written and fdatasync'ed first. The directory is flock'ed.
 *
 * After a flush, the store rotates the log and removes the segments whose points are
 * all in blocks (tsdb__wal_rotate, tsdb__wal_truncate_before).
 *
 * Errors: functions return 0 or a negative errno-style code; replay/open put a
 * one-line message into the caller's buffer. A failed write or fdatasync makes the log
 * refuse every write until it recovers: at most once a second the next call (or
 * tsdb__wal_recover) reopens the last segment at its last good record, writes what was
 * buffered and syncs; it is logged once when it fails and once when it recovers. With
 * discard_failed_batch, the records appended since the last successful commit are
 * dropped when a call fails (the batch was refused, so it must not come back on
 * replay).
 */
#ifndef VIGIL_TSDB_WAL_H
#define VIGIL_TSDB_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/reclog.h"

#define TSDB__WAL_VERSION 1
#define TSDB__WAL_HEADER_SIZE VG_RECLOG_HEADER_SIZE
#define TSDB__WAL_RECORD_OVERHEAD VG_RECLOG_RECORD_OVERHEAD
#define TSDB__WAL_MAX_RECORD (16u * 1024 * 1024)
#define TSDB__WAL_DEFAULT_SEGMENT_SIZE (64u * 1024 * 1024)
#define TSDB__WAL_MAX_SEGMENT_SIZE VG_RECLOG_MAX_SEGMENT_SIZE

#define TSDB__WAL_LSN(seg, off) VG_RECLOG_LSN(seg, off)
#define TSDB__WAL_LSN_SEG(lsn) VG_RECLOG_LSN_SEG(lsn)
#define TSDB__WAL_LSN_OFF(lsn) VG_RECLOG_LSN_OFF(lsn)

enum tsdb__wal_policy {
  TSDB__WAL_SYNC_EVERY,    /* tsdb__wal_commit() syncs: one fdatasync per batch */
  TSDB__WAL_SYNC_INTERVAL, /* syncs when interval_ms has passed (maybe_sync/commit) */
  TSDB__WAL_SYNC_NEVER,    /* commit only hands data to the kernel */
};

struct tsdb__wal_opts {
  enum tsdb__wal_policy policy;
  uint32_t interval_ms;  /* for SYNC_INTERVAL */
  uint64_t segment_size; /* 0 = default; clamped to [4 KiB, MAX_SEGMENT_SIZE] */
  bool discard_failed_batch; /* see Errors above (the data log) */
};

/* Called for each record in log order. payload is valid only during the call.
 * A non-zero return stops the replay; open/replay then return that value. */
typedef int (*tsdb__wal_record_fn)(void *arg, uint64_t lsn, uint32_t type,
                                   const void *payload, uint32_t len);

/* ---- reading one segment image from memory (also used by the fuzzer) ---- */
enum tsdb__wal_scan_status {
  TSDB__WAL_SCAN_OK,      /* header and records good up to the end exactly */
  TSDB__WAL_SCAN_BAD_HDR, /* header short, bad magic/version/flags/seg/checksum */
  TSDB__WAL_SCAN_TORN,    /* a record at good_len is short, too long or bad */
};

struct tsdb__wal_scan_result {
  enum tsdb__wal_scan_status status;
  size_t good_len;   /* bytes up to the end of the last good record (0 if BAD_HDR) */
  uint64_t records;  /* records delivered to the callback */
  char why[96];      /* for BAD_HDR / TORN: what was wrong */
};

/* Scans the segment image buf[0..len). expect_seg == 0 accepts any segment
 * number. Returns 0 (see res->status) or the callback's non-zero value. Never
 * allocates in proportion to a length field. */
int tsdb__wal_scan(const void *buf, size_t len, uint32_t expect_seg, tsdb__wal_record_fn fn,
                   void *arg, struct tsdb__wal_scan_result *res);

/* ---- the log ---- */
struct tsdb__wal;

/* Opens (creating dir if needed) the log in dir, takes an exclusive lock on it,
 * replays every record through fn (may be NULL), repairs a torn tail, and leaves
 * the log ready to append. On error *out is NULL, err holds a message and the
 * return is negative: -EBADMSG for corruption, -EBUSY when locked by another
 * process, -errno for I/O, or the callback's non-zero value. */
int tsdb__wal_open(struct tsdb__wal **out, const char *dir, const struct tsdb__wal_opts *opts,
                   tsdb__wal_record_fn fn, void *arg, char *err, size_t errlen);

/* Writes what is buffered (without syncing), closes and frees *w, clears it.
 * Returns 0 or the sticky error. */
int tsdb__wal_close(struct tsdb__wal **w);

/* Buffers one record; *lsn (may be NULL) receives its position. May write to the
 * kernel (buffer full, segment switch) but syncs only when switching segments.
 * len must be <= TSDB__WAL_MAX_RECORD. Returns 0 or -errno. */
int tsdb__wal_append(struct tsdb__wal *w, uint32_t type, const void *payload, uint32_t len,
                     uint64_t *lsn);

/* Writes everything buffered and fdatasyncs it (and the directory when a
 * segment was created). On return 0 every appended record is durable. */
int tsdb__wal_sync(struct tsdb__wal *w);

/* Ends a batch according to the policy: EVERY syncs, INTERVAL syncs when due,
 * NEVER only writes to the kernel. */
int tsdb__wal_commit(struct tsdb__wal *w);

/* For SYNC_INTERVAL: syncs when interval_ms passed since the last sync and
 * something is unsynced. now_ms is vg_now_ms() time. No-op for other policies. */
int tsdb__wal_maybe_sync(struct tsdb__wal *w, uint64_t now_ms);

/* End of the last durable record (see LSN above). */
uint64_t tsdb__wal_synced_lsn(const struct tsdb__wal *w);
/* Where the next record will go (its LSN, unless a segment switch comes first). */
uint64_t tsdb__wal_next_lsn(const struct tsdb__wal *w);
/* The segment being written and the oldest segment kept. */
uint32_t tsdb__wal_current_segment(const struct tsdb__wal *w);
uint32_t tsdb__wal_first_segment(const struct tsdb__wal *w);

/* Removes the segments numbered below seg (never the current one) once their
 * content is durable elsewhere, then fsyncs the directory. Returns 0 or -errno. */
int tsdb__wal_truncate_before(struct tsdb__wal *w, uint32_t seg);

/* Finishes the current segment (written and fdatasync'ed) and starts the next, unless
 * it holds no record: afterwards every record so far is in a segment before
 * tsdb__wal_current_segment(), which truncate_before can remove. 0 or -errno. */
int tsdb__wal_rotate(struct tsdb__wal *w);

/* Hands the kernel's copy of the current segment to the disk (fdatasync) without the
 * caller's lock: call it with the lock held, it returns a descriptor to fdatasync and
 * close after releasing the lock (or -errno). Used before a rotation under write_mu. */
int tsdb__wal_dup_fd(const struct tsdb__wal *w);

/* After a failure: tries to recover now when a second has passed since the last try.
 * 0 when the log works (again), else the error. */
int tsdb__wal_recover(struct tsdb__wal *w);
/* The error that makes the log refuse writes (0: none) and since when (vg_now_ms). */
int tsdb__wal_error(const struct tsdb__wal *w, uint64_t *since_ms);
/* Recoveries since open. */
uint64_t tsdb__wal_recoveries(const struct tsdb__wal *w);

#endif
