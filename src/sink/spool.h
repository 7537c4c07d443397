/*
 * spool — the InfluxDB sink's on-disk queue of batches InfluxDB has not yet
 * acknowledged (module-private). Batches go here while InfluxDB is unreachable and
 * are sent again, oldest first, when it is back; the spool survives a restart.
 *
 * On-disk format
 * --------------
 * A spool is a directory holding segment files named by an 8-digit lowercase hex
 * number, "00000001.spool", "00000002.spool", ..., a `head` file and a `lock` file
 * (flock'ed while open). All integers are little endian.
 *
 * The segments are a core record log (src/core/reclog.h documents the segment header,
 * the record framing and the recovery) in lenient mode. This log's format:
 *     magic "VGSPL", version SINK__SPOOL_VERSION = 1 (the format vigil has always
 *     written: moving the code to core/reclog changed no byte),
 *     one record = one batch: tag = the number of lines of line protocol in it,
 *     payload = the batch, complete lines each ending in '\n', <= SINK__SPOOL_MAX_RECORD.
 *
 * A new segment is started before a record that would take the current one past the
 * segment size; a record never spans segments. Each append is fdatasync'ed before it
 * counts as spooled, so a power cut loses nothing spooled; a crash while appending
 * leaves a torn tail. A failed append (a full disk) leaves nothing behind: the partial
 * record is cut off, at once or when the log recovers, which every append tries first.
 *
 * `head`, 16 bytes: magic "VGSH", u32 segment, u32 offset of the oldest record not yet
 * acknowledged, u32 XXH32(bytes 0..11). Replaced atomically after each acknowledged
 * record (vg_replace_file_nosync: head.XXXXXX.tmp, rename), without fsync: a head that goes back after a power cut only
 * makes batches go again, which InfluxDB absorbs (a point with the same series and
 * timestamp overwrites itself). A missing or bad head means "the start of the oldest
 * segment".
 *
 * Recovery (sink__spool_open): in every segment, the first record that is short, too
 * long or fails its checksum ends that segment: the file is truncated there and a
 * warning names the segment, offset and bytes dropped. A segment with a bad header
 * (a crash while creating it) is removed. Segments wholly before the head are removed.
 *
 * The cap: when the segment files together exceed max_bytes after an append, the
 * oldest segments are removed (never the one being written) and the points they still
 * held are counted as dropped — except a record peeked and on its way to InfluxDB,
 * counted only if it then fails (so the count is exact and only goes up).
 *
 * Not thread-safe: the sink serialises calls with its own mutex.
 */
#ifndef VIGIL_SINK_SPOOL_H
#define VIGIL_SINK_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define SINK__SPOOL_VERSION 1
#define SINK__SPOOL_HEADER_SIZE 16
#define SINK__SPOOL_RECORD_OVERHEAD 16
#define SINK__SPOOL_MAX_RECORD (16u * 1024 * 1024)
#define SINK__SPOOL_MAX_SEGMENT (64u * 1024 * 1024)
#define SINK__SPOOL_MIN_SEGMENT (4u * 1024)

/* ---- reading one segment image from memory (open and the fuzzer) ---- */
enum sink__spool_scan_status {
  SINK__SPOOL_SCAN_OK,      /* header and records good up to the end exactly */
  SINK__SPOOL_SCAN_BAD_HDR, /* header short, bad magic/version/flags/number/checksum */
  SINK__SPOOL_SCAN_TORN,    /* the record at good_len is short, too long or bad */
};

struct sink__spool_scan_result {
  enum sink__spool_scan_status status;
  size_t good_len;  /* end of the last good record (0 if BAD_HDR) */
  uint64_t records; /* good records */
  uint64_t points;  /* sum of their point counts */
  char why[96];     /* for BAD_HDR / TORN: what was wrong */
};

/* Called for each good record in order; off is the record's offset in the segment.
 * payload is valid only during the call. A non-zero return stops the scan. */
typedef int (*sink__spool_record_fn)(void *arg, uint32_t off, uint32_t points,
                                     const void *payload, uint32_t len);

/* Scans the segment image buf[0..len); expect_seg == 0 accepts any number. Returns 0
 * (see res->status) or the callback's non-zero value. Reads only inside buf and never
 * allocates. */
int sink__spool_scan(const void *buf, size_t len, uint32_t expect_seg, sink__spool_record_fn fn,
                     void *arg, struct sink__spool_scan_result *res);

/* ---- the spool ---- */
struct sink__spool;

/* Opens (creating dir and parents) the spool in dir, locks it against a second
 * opener, recovers it as described above. The segment size is max_bytes / 8 within
 * [MIN_SEGMENT, MAX_SEGMENT]. On error *out is NULL, err holds a message and the
 * return is -EBUSY (another process has it) or -errno. */
int sink__spool_open(struct sink__spool **out, const char *dir, uint64_t max_bytes, char *err,
                     size_t errlen);
void sink__spool_close(struct sink__spool **sp);

/* Appends one batch (len <= SINK__SPOOL_MAX_RECORD) and syncs it, then applies the cap.
 * Returns 0 or -errno (nothing appended: a partial record is cut off again). */
int sink__spool_append(struct sink__spool *sp, const void *data, uint32_t len, uint32_t points);

/* Copies the oldest record into out (replacing its content). Returns 1 with *points
 * and *id set, 0 when the spool is empty, or -errno. A record found damaged on disk
 * since open is skipped with the rest of its segment (counted as dropped, logged).
 * A peeked record is on its way: the caller ends that with pop or unpeek before the
 * next peek. */
int sink__spool_peek(struct sink__spool *sp, struct vg_buf *out, uint32_t *points, uint64_t *id);

/* The peeked record id was acknowledged: it leaves the spool. If the cap removed it
 * from disk meanwhile, it is not counted as dropped: it arrived. Returns 0 or -errno. */
int sink__spool_pop(struct sink__spool *sp, uint64_t id);

/* The peeked record id could not be sent: it stays first in line, or, if the cap
 * removed it from disk meanwhile, its points are counted as dropped now. */
void sink__spool_unpeek(struct sink__spool *sp, uint64_t id);

/* What the spool holds (records not yet acknowledged; bytes with their framing), and
 * the points dropped by the cap or by damage since open. */
uint64_t sink__spool_bytes(const struct sink__spool *sp);
uint64_t sink__spool_points(const struct sink__spool *sp);
uint64_t sink__spool_dropped(const struct sink__spool *sp);
/* Bytes of segment files on disk (what the cap applies to). */
uint64_t sink__spool_disk_bytes(const struct sink__spool *sp);

#endif
