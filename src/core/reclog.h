/*
 * reclog — a segmented, checksummed record log: the one on-disk log format under the
 * store's write-ahead and series logs (src/tsdb/wal.h) and the InfluxDB sink's spool
 * (src/sink/spool.h). Each of those names its format (magic, version, file suffix);
 * framing, checksums, recovery, rotation and removal are here, once.
 *
 * On-disk format
 * --------------
 * A log is a directory of segment files named by an 8-digit lowercase hex number and
 * the format's suffix: "00000001.wal", "00000002.wal", ... All integers are little
 * endian (core/endian.h).
 *
 * Segment header, 16 bytes:
 *     0  5  magic (the format's, e.g. "VGWAL")
 *     5  2  u16 version (the format's)
 *     7  1  u8  flags (0; readers reject unknown flags)
 *     8  4  u32 segment number (must match the file name)
 *    12  4  u32 XXH32(bytes 0..11, seed 0)
 *
 * Then records, back to back, each 16 + len bytes:
 *     0  4  u32 len      payload length, <= the format's max_record
 *     4  4  u32 tag      opaque to the log (the WAL's record type, the spool's points)
 *     8  len payload
 *  8+len 8  u64 XXH3_64bits(bytes 0 .. 8+len-1, i.e. len|tag|payload)
 *
 * A record never spans segments. A segment is finished (written and fdatasync'ed)
 * before the next one is created, so only the last segment can have a torn tail when
 * the log is strict; a lenient log (the spool) syncs every record and accepts a torn
 * tail in any segment.
 *
 * Recovery (vg_reclog_open)
 *  - the first record that is short, too long or fails its checksum ends a segment:
 *    the file is truncated there (ftruncate + fsync) and a warning says what was cut
 *    ("NAME torn tail truncated": segment, offset, bytes dropped, reason). Strict logs
 *    accept this only in the last segment; elsewhere it is corruption: open fails with
 *    -EBADMSG naming segment and offset, and nothing is truncated.
 *  - a segment with a missing, short or bad header (a crash while creating it): a
 *    strict log's last segment is emptied and gets a new header; elsewhere a strict log
 *    reports corruption; a lenient log removes the segment.
 *  - a strict log's segment numbers must be contiguous (a gap is corruption).
 *
 * LSN: a record's position, (segment << 32) | byte offset of the record in its segment.
 * LSNs grow with append order and compare as integers. The synced LSN is the end of
 * the last durable record: every record with lsn < synced is on disk.
 *
 * Failures: a failed write or fdatasync makes the log refuse every write (the sticky
 * error) until it recovers: at most once per retry_ms, the next write (or
 * vg_reclog_recover) reopens the current segment, cuts it back to its last good record
 * (saying what it cut), writes what was buffered and syncs. Records the caller
 * discarded (vg_reclog_discard_from) are not written again.
 *
 * Not thread-safe: callers serialise with their own lock.
 */
#ifndef VIGIL_CORE_RECLOG_H
#define VIGIL_CORE_RECLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_RECLOG_HEADER_SIZE 16
#define VG_RECLOG_RECORD_OVERHEAD 16
/* Keeps every offset (segment size + one record) below 2^32. */
#define VG_RECLOG_MAX_SEGMENT_SIZE (1024u * 1024 * 1024)
#define VG_RECLOG_MIN_SEGMENT_SIZE 4096u

#define VG_RECLOG_LSN(seg, off) (((uint64_t)(seg) << 32) | (uint64_t)(off))
#define VG_RECLOG_LSN_SEG(lsn) ((uint32_t)((lsn) >> 32))
#define VG_RECLOG_LSN_OFF(lsn) ((uint32_t)((lsn)&0xffffffffu))

/* What distinguishes one log format from another. */
struct vg_reclog_format {
  const char *magic;   /* exactly 5 bytes */
  uint16_t version;
  uint32_t max_record; /* payload limit, <= 1 GiB */
  const char *suffix;  /* file name suffix, e.g. ".wal" (at most 11 bytes) */
  const char *name;    /* for messages, e.g. "wal" */
};

/* Called for each good record in log order; payload is valid only during the call.
 * A non-zero return stops the scan (and open), which then return that value. */
typedef int (*vg_reclog_record_fn)(void *arg, uint64_t lsn, uint32_t tag, const void *payload,
                                   uint32_t len);

/* ---- reading one segment image from memory (recovery, tests, fuzzers) ---- */
enum vg_reclog_scan_status {
  VG_RECLOG_SCAN_OK,      /* header and records good up to the end exactly */
  VG_RECLOG_SCAN_BAD_HDR, /* header short, bad magic/version/flags/number/checksum */
  VG_RECLOG_SCAN_TORN,    /* the record at good_len is short, too long or bad */
};

struct vg_reclog_scan_result {
  enum vg_reclog_scan_status status;
  size_t good_len;  /* end of the last good record (0 if BAD_HDR) */
  uint64_t records; /* good records delivered */
  uint64_t tags;    /* sum of their tags */
  char why[96];     /* for BAD_HDR / TORN: what was wrong */
};

/* Scans the segment image buf[0..len); expect_seg == 0 accepts any number. Returns 0
 * (see res->status) or the callback's non-zero value. Reads only inside buf and never
 * allocates. */
int vg_reclog_scan(const struct vg_reclog_format *f, const void *buf, size_t len,
                   uint32_t expect_seg, vg_reclog_record_fn fn, void *arg,
                   struct vg_reclog_scan_result *res);

/* The header of segment seg, for tests and tools that build segments. */
void vg_reclog_header(const struct vg_reclog_format *f, uint32_t seg,
                      uint8_t out[VG_RECLOG_HEADER_SIZE]);
/* "%08x" + suffix into out (at least 20 bytes). */
void vg_reclog_seg_name(const struct vg_reclog_format *f, uint32_t seg, char out[20]);

/* ---- the log ---- */
struct vg_reclog_opts {
  uint64_t segment_size; /* clamped to [MIN, MAX]_SEGMENT_SIZE; 0 = 64 MiB */
  bool lenient;          /* any segment may be torn; bad headers are removed (see above) */
  bool fit;              /* rotate before a record that would pass segment_size (else
                          * after the segment reached it) */
  size_t flush_at;       /* vg_reclog_append writes to the kernel once this much is
                          * buffered (0: 1 MiB) */
  uint32_t first_wanted; /* segments numbered below are removed unread (0: none) */
  const char *lockfile;  /* name of the lock file in the directory; NULL: the
                          * directory itself is flock'ed */
  uint32_t retry_ms;     /* least time between recovery attempts (0: 1000) */
  unsigned mode;         /* of the directory (files get mode & 0666); 0: 0755 */
};

struct vg_reclog_seg {
  uint32_t no;
  uint64_t size; /* bytes of the file (with its header) */
};

struct vg_reclog;

/* Opens (creating dir and parents) the log in dir, locks it, replays every record
 * through fn (may be NULL), recovers it as described above, and leaves it ready to
 * append to its last segment (a new one when there is none; its header is buffered;
 * should it fail to be created, the log opens failed and creates it when it recovers).
 * On error *out is NULL, err holds a message and the return is -EBADMSG (corruption),
 * -EBUSY (locked by another process), -errno, or the callback's value. */
int vg_reclog_open(struct vg_reclog **out, const struct vg_reclog_format *f, const char *dir,
                   const struct vg_reclog_opts *o, vg_reclog_record_fn fn, void *arg, char *err,
                   size_t errlen);

/* Writes what is buffered (without syncing), closes and frees *l, clears it. Returns 0
 * or the sticky error. */
int vg_reclog_close(struct vg_reclog **l);

/* Buffers one record (len <= max_record); *lsn (may be NULL) receives its position.
 * Writes to the kernel when the buffer is full and syncs only when rotating. The
 * payload is copied once, into the buffer. 0 or -errno (the sticky error). */
int vg_reclog_append(struct vg_reclog *l, uint32_t tag, const void *payload, uint32_t len,
                     uint64_t *lsn);

/* Writes one record straight from payload (one pwritev after the buffer, no copy);
 * the caller syncs. 0 or -errno (the sticky error). */
int vg_reclog_write(struct vg_reclog *l, uint32_t tag, const void *payload, uint32_t len,
                    uint64_t *lsn);

/* Hands what is buffered to the kernel. 0 or -errno. */
int vg_reclog_flush(struct vg_reclog *l);
/* Flushes and fdatasyncs (and the directory when a segment was created). On 0 every
 * record appended so far is durable. */
int vg_reclog_sync(struct vg_reclog *l);
/* Finishes the current segment durably and starts the next (its header buffered),
 * unless the current one holds no record. 0 or -errno. */
int vg_reclog_rotate(struct vg_reclog *l);
/* Removes the segments numbered below seg (never the current one), then fsyncs the
 * directory. 0 or -errno (not sticky: the segments stay and are removed later). */
int vg_reclog_remove_before(struct vg_reclog *l, uint32_t seg);

/* Forgets the records from lsn on (a batch its caller gave up on): they are cut from
 * the buffer, or from the file (now, or at recovery when the log has failed). Records
 * of an earlier segment than the current one cannot be forgotten; from such an lsn the
 * whole current segment is. */
void vg_reclog_discard_from(struct vg_reclog *l, uint64_t lsn);

/* After a failure: tries to recover now (force) or when retry_ms has passed since the
 * last attempt. Returns 0 when the log works (again), else the sticky error. */
int vg_reclog_recover(struct vg_reclog *l, bool force);

/* The sticky error (0 when the log works), and since when (vg_now_ms) it failed. */
int vg_reclog_error(const struct vg_reclog *l, uint64_t *since_ms);
/* Successful recoveries since open. */
uint64_t vg_reclog_recoveries(const struct vg_reclog *l);

uint64_t vg_reclog_synced_lsn(const struct vg_reclog *l);
/* Where the next record goes (its LSN, unless a rotation comes first). */
uint64_t vg_reclog_next_lsn(const struct vg_reclog *l);
uint32_t vg_reclog_current_segment(const struct vg_reclog *l);
uint32_t vg_reclog_first_segment(const struct vg_reclog *l);
/* Whether anything is appended and not yet durable. */
bool vg_reclog_dirty(const struct vg_reclog *l);
/* A duplicate of the current segment's descriptor (the caller closes it), or -errno: to
 * fdatasync what was written so far without holding the caller's lock, so that a sync
 * or rotation that follows under the lock has little left to write. */
int vg_reclog_dup_fd(const struct vg_reclog *l);
/* The directory's descriptor (for files the owner keeps beside the segments). */
int vg_reclog_dirfd(const struct vg_reclog *l);
/* The segments on disk, oldest first; valid until the next call that changes them.
 * The current segment's size counts what is buffered. */
const struct vg_reclog_seg *vg_reclog_segments(struct vg_reclog *l, size_t *n);

#endif
