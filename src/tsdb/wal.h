/*
 * wal — the write-ahead log of the time-series store (module-private).
 *
 * Points are appended here before they are acknowledged. After a crash at any
 * moment, opening the log replays every record that was synced; a torn tail is
 * truncated and logged; corruption anywhere else is reported, never skipped.
 *
 * On-disk format
 * --------------
 * A log is a directory of segment files named by an 8-digit lowercase hex
 * number: "00000001.wal", "00000002.wal", ... Numbers are contiguous; the first
 * may be > 1 after tsdb__wal_truncate_before(). All integers are little endian.
 *
 * Segment header, 16 bytes:
 *     0  5  magic "VGWAL"
 *     5  2  u16 version (TSDB__WAL_VERSION = 1)
 *     7  1  u8  flags (0; readers reject unknown flags)
 *     8  4  u32 segment number (must match the file name)
 *    12  4  u32 XXH32(bytes 0..11, seed 0)
 *
 * Then records, back to back, each 16 + len bytes:
 *     0  4  u32 len      payload length, <= TSDB__WAL_MAX_RECORD (16 MiB)
 *     4  4  u32 type     opaque to the log, chosen by the caller
 *     8  len payload
 *  8+len 8  u64 XXH3_64bits(bytes 0 .. 8+len-1, i.e. len|type|payload)
 *
 * A new segment is started when the current one has reached the segment size
 * (default 64 MiB); a record never spans segments, so a segment may exceed the
 * size by one record. The previous segment is written and fdatasync'ed before
 * the next one is created, so only the last segment can have a torn tail.
 *
 * Recovery rules (tsdb__wal_open):
 *  - last segment: the first record that is short, too long or fails its
 *    checksum ends the log; the file is truncated there (ftruncate + fsync) and
 *    a warning gives the segment, offset and bytes dropped. A missing, partial
 *    or bad header in the last segment (crash while creating it) makes it an
 *    empty torn segment: it is truncated to zero and a new header written.
 *  - any other segment: a bad header, a bad record or trailing bytes are
 *    corruption: open fails with -EBADMSG and a message naming the segment
 *    and offset. A gap in the segment numbers is corruption too.
 *
 * LSN: a record's position, (segment << 32) | byte offset of the record in its
 * segment. LSNs grow with append order and compare as integers. The synced LSN
 * is the end of the last durable record: every record with lsn < synced is on
 * disk.
 *
 * Errors: functions return 0 or a negative errno-style code; replay/open put a
 * one-line message into the caller's buffer. A failed write or fdatasync makes
 * the log unusable (every later call returns the same error): after fsync
 * failure the page cache state is unknown, so only a reopen (replay) is safe.
 */
#ifndef VIGIL_TSDB_WAL_H
#define VIGIL_TSDB_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TSDB__WAL_VERSION 1
#define TSDB__WAL_HEADER_SIZE 16
#define TSDB__WAL_RECORD_OVERHEAD 16
#define TSDB__WAL_MAX_RECORD (16u * 1024 * 1024)
#define TSDB__WAL_DEFAULT_SEGMENT_SIZE (64u * 1024 * 1024)
/* Keeps every offset (segment size + one record) below 2^32. */
#define TSDB__WAL_MAX_SEGMENT_SIZE (1024u * 1024 * 1024)

#define TSDB__WAL_LSN(seg, off) (((uint64_t)(seg) << 32) | (uint64_t)(off))
#define TSDB__WAL_LSN_SEG(lsn) ((uint32_t)((lsn) >> 32))
#define TSDB__WAL_LSN_OFF(lsn) ((uint32_t)((lsn)&0xffffffffu))

enum tsdb__wal_policy {
  TSDB__WAL_SYNC_EVERY,    /* tsdb__wal_commit() syncs: one fdatasync per batch */
  TSDB__WAL_SYNC_INTERVAL, /* syncs when interval_ms has passed (maybe_sync/commit) */
  TSDB__WAL_SYNC_NEVER,    /* commit only hands data to the kernel */
};

struct tsdb__wal_opts {
  enum tsdb__wal_policy policy;
  uint32_t interval_ms;  /* for SYNC_INTERVAL */
  uint64_t segment_size; /* 0 = default; clamped to [4 KiB, MAX_SEGMENT_SIZE] */
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

#endif
