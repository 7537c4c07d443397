/*
 * spool.c — the InfluxDB sink's on-disk queue: the spool's format on the core record log
 * (core/reclog.h: scanning, recovery, synced appends, rotation, removal), the head file,
 * reading and acknowledging the oldest record, and the size cap. The format and the
 * rules are documented in spool.h.
 */
#include "sink/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "core/endian.h"
#include "core/file.h"
#include "core/reclog.h"

static const struct vg_reclog_format spool_format = {
    .magic = "VGSPL",
    .version = SINK__SPOOL_VERSION,
    .max_record = SINK__SPOOL_MAX_RECORD,
    .suffix = ".spool",
    .name = "influx sink: spool",
};

struct seg {
  uint32_t no;
  uint64_t size;   /* bytes in the file */
  uint64_t points; /* points of its records not yet acknowledged */
};

struct sink__spool {
  char *dir;
  struct vg_reclog *log; /* the segment files; its current one is appended to */
  int dirfd;             /* the log's */
  struct seg *segs;      /* the log's segments, ascending; the head is in segs[0] */
  size_t n, cap;
  uint32_t head_off; /* offset in segs[0] of the oldest unacknowledged record */
  uint64_t max_bytes;
  uint64_t disk_bytes;
  uint64_t dropped;
  /* The record last returned by peek (on its way to InfluxDB), where the next one
   * starts, and whether the cap removed it from disk meanwhile. */
  uint64_t peeked_id;
  uint32_t peeked_next, peeked_points;
  bool peeked, peeked_gone;
};

/* ---- scanning ---- */
struct adapt {
  sink__spool_record_fn fn;
  void *arg;
};

static int adapt_record(void *x, uint64_t lsn, uint32_t tag, const void *p, uint32_t len) {
  struct adapt *a = x;
  return a->fn(a->arg, VG_RECLOG_LSN_OFF(lsn), tag, p, len);
}

int sink__spool_scan(const void *buf, size_t len, uint32_t expect_seg, sink__spool_record_fn fn,
                     void *arg, struct sink__spool_scan_result *res) {
  struct adapt a = {fn, arg};
  struct vg_reclog_scan_result r;
  int rc = vg_reclog_scan(&spool_format, buf, len, expect_seg, fn ? adapt_record : NULL, &a, &r);
  res->status = r.status == VG_RECLOG_SCAN_OK        ? SINK__SPOOL_SCAN_OK
                : r.status == VG_RECLOG_SCAN_BAD_HDR ? SINK__SPOOL_SCAN_BAD_HDR
                                                     : SINK__SPOOL_SCAN_TORN;
  res->good_len = r.good_len;
  res->records = r.records;
  res->points = r.tags;
  memcpy(res->why, r.why, sizeof res->why);
  return rc;
}

static void seg_name(char out[20], uint32_t no) { vg_reclog_seg_name(&spool_format, no, out); }

/* ---- the head file ---- */
static void write_head(struct sink__spool *sp) {
  if (sp->n == 0) return;
  uint8_t h[16];
  memcpy(h, "VGSH", 4);
  vg_put_le32(h + 4, sp->segs[0].no);
  vg_put_le32(h + 8, sp->head_off);
  vg_put_le32(h + 12, XXH32(h, 12, 0));
  char *path = vg_asprintf("%s/head", sp->dir);
  int rc = vg_replace_file_nosync(path, h, sizeof h, 0600);
  free(path);
  /* A head that cannot be saved only means batches go again after a restart. */
  if (rc < 0)
    VG_WARN("influx sink: cannot save the spool head", VF_S("dir", sp->dir),
            VF_S("error", strerror(-rc)));
}

static bool read_head(const char *dir, uint32_t *seg, uint32_t *off) {
  uint8_t h[16];
  char *path = vg_asprintf("%s/head", dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  free(path);
  if (fd < 0) return false;
  bool ok = vg_pread_all(fd, h, sizeof h, 0) == 0 && memcmp(h, "VGSH", 4) == 0 &&
            vg_get_le32(h + 12) == XXH32(h, 12, 0);
  close(fd);
  if (ok) {
    *seg = vg_get_le32(h + 4);
    *off = vg_get_le32(h + 8);
  }
  return ok;
}

/* Head files being replaced when the process died ("head.XXXXXX.tmp"). */
static void remove_leftovers(int dirfd) {
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d && fd >= 0) close(fd);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (strncmp(e->d_name, "head.", 5) == 0 && l > 9 && strcmp(e->d_name + l - 4, ".tmp") == 0)
      unlinkat(dirfd, e->d_name, 0);
  }
  if (d) closedir(d);
}

/* ---- segments ---- */
static void push_seg(struct sink__spool *sp, struct seg s) {
  if (sp->n == sp->cap) {
    sp->cap = sp->cap ? sp->cap * 2 : 8;
    sp->segs = vg_realloc(sp->segs, sp->cap * sizeof *sp->segs);
  }
  sp->segs[sp->n++] = s;
}

/* Follows the log when it started a segment (its header is then on disk or buffered). */
static void follow_log(struct sink__spool *sp) {
  uint32_t cur = vg_reclog_current_segment(sp->log);
  if (sp->n && sp->segs[sp->n - 1].no == cur) return;
  if (sp->n == 0) sp->head_off = VG_RECLOG_HEADER_SIZE;
  push_seg(sp, (struct seg){.no = cur, .size = VG_RECLOG_HEADER_SIZE});
  sp->disk_bytes += VG_RECLOG_HEADER_SIZE;
}

/* Removes segs[0] (never the last) from disk and from the list. */
static void remove_first(struct sink__spool *sp) {
  VG_ASSERT(sp->n > 1);
  int rc = vg_reclog_remove_before(sp->log, sp->segs[1].no);
  if (rc < 0) {
    char name[20];
    seg_name(name, sp->segs[0].no);
    VG_WARN("influx sink: cannot remove a spool segment", VF_S("dir", sp->dir),
            VF_S("segment", name), VF_S("error", strerror(-rc)));
  }
  sp->disk_bytes -= sp->segs[0].size;
  memmove(sp->segs, sp->segs + 1, (sp->n - 1) * sizeof *sp->segs);
  sp->n--;
  sp->head_off = SINK__SPOOL_HEADER_SIZE;
}

/* Frees what the head has passed: whole segments, or the records of the last one,
 * which is cut back to its header so that an empty spool costs nothing on disk. */
static void reclaim(struct sink__spool *sp) {
  while (sp->n > 1 && sp->head_off >= sp->segs[0].size) remove_first(sp);
  if (sp->n == 1 && sp->head_off >= sp->segs[0].size &&
      sp->segs[0].size > SINK__SPOOL_HEADER_SIZE) {
    vg_reclog_discard_from(sp->log, VG_RECLOG_LSN(sp->segs[0].no, SINK__SPOOL_HEADER_SIZE));
    if (vg_reclog_error(sp->log, NULL) == 0) {
      sp->disk_bytes -= sp->segs[0].size - SINK__SPOOL_HEADER_SIZE;
      sp->segs[0].size = SINK__SPOOL_HEADER_SIZE;
      sp->head_off = SINK__SPOOL_HEADER_SIZE;
    }
  }
}

/* Over the cap: the oldest segments go, except the one being written. */
static void apply_cap(struct sink__spool *sp) {
  bool moved = false;
  while (sp->disk_bytes > sp->max_bytes && sp->n > 1) {
    uint64_t pts = sp->segs[0].points;
    /* The record on its way is counted when its fate is known (pop or unpeek). */
    if (sp->peeked && !sp->peeked_gone && (uint32_t)(sp->peeked_id >> 32) == sp->segs[0].no) {
      pts -= sp->peeked_points;
      sp->peeked_gone = true;
    }
    sp->dropped += pts;
    VG_WARN("influx sink: spool over its cap, oldest segment dropped", VF_S("dir", sp->dir),
            VF_I("segment", sp->segs[0].no), VF_I("points", pts),
            VF_I("spool_max", sp->max_bytes));
    remove_first(sp);
    moved = true;
  }
  if (moved) write_head(sp);
}

/* ---- open and close ---- */
struct open_scan {
  uint32_t head_seg, head_off;
  bool head_ok; /* head_off is a record boundary of head_seg */
  struct { uint32_t no; uint64_t all, after; } *pts; /* points per segment seen */
  size_t n, cap;
};

static int on_open_record(void *arg, uint64_t lsn, uint32_t points, const void *p, uint32_t len) {
  struct open_scan *o = arg;
  uint32_t no = VG_RECLOG_LSN_SEG(lsn), off = VG_RECLOG_LSN_OFF(lsn);
  if (o->n == 0 || o->pts[o->n - 1].no != no) {
    if (o->n == o->cap) o->pts = vg_realloc(o->pts, (o->cap = o->cap ? 2 * o->cap : 8) * sizeof *o->pts);
    o->pts[o->n].no = no;
    o->pts[o->n].all = o->pts[o->n].after = 0;
    o->n++;
  }
  o->pts[o->n - 1].all += points;
  if (no == o->head_seg && off == o->head_off) o->head_ok = true;
  if (no == o->head_seg && off >= o->head_off) o->pts[o->n - 1].after += points;
  return 0;
}

int sink__spool_open(struct sink__spool **out, const char *dir, uint64_t max_bytes, char *err,
                     size_t errlen) {
  *out = NULL;
  struct sink__spool *sp = vg_calloc(1, sizeof *sp);
  sp->dir = vg_strdup(dir);
  sp->dirfd = -1;
  sp->max_bytes = max_bytes;
  uint64_t seg_size = max_bytes / 8;
  if (seg_size < SINK__SPOOL_MIN_SEGMENT) seg_size = SINK__SPOOL_MIN_SEGMENT;
  if (seg_size > SINK__SPOOL_MAX_SEGMENT) seg_size = SINK__SPOOL_MAX_SEGMENT;
  uint32_t head_seg = 0, head_off = 0;
  bool have_head = read_head(dir, &head_seg, &head_off);
  struct open_scan o = {.head_seg = have_head ? head_seg : 0, .head_off = head_off};
  struct vg_reclog_opts ro = {.segment_size = seg_size,
                              .lenient = true,
                              .fit = true,
                              .first_wanted = have_head ? head_seg : 0,
                              .lockfile = "lock",
                              .mode = 0700};
  int rc = vg_reclog_open(&sp->log, &spool_format, dir, &ro, on_open_record, &o, err, errlen);
  if (rc < 0) {
    free(o.pts);
    sink__spool_close(&sp);
    return rc;
  }
  sp->dirfd = vg_reclog_dirfd(sp->log);
  remove_leftovers(sp->dirfd);
  /* a segment the log had to start is made durable now (or when the log recovers) */
  (void)vg_reclog_sync(sp->log);
  size_t n;
  const struct vg_reclog_seg *ls = vg_reclog_segments(sp->log, &n);
  sp->head_off = SINK__SPOOL_HEADER_SIZE;
  for (size_t i = 0, k = 0; i < n; i++) {
    while (k < o.n && o.pts[k].no < ls[i].no) k++;
    uint64_t all = k < o.n && o.pts[k].no == ls[i].no ? o.pts[k].all : 0;
    uint64_t after = k < o.n && o.pts[k].no == ls[i].no ? o.pts[k].after : 0;
    uint64_t size = ls[i].size < SINK__SPOOL_HEADER_SIZE ? SINK__SPOOL_HEADER_SIZE : ls[i].size;
    /* The head's segment first: from the head on; else (or a head that points nowhere)
     * all of it goes again. */
    if (i == 0 && have_head && ls[i].no == head_seg && (o.head_ok || head_off == size)) {
      sp->head_off = head_off;
      push_seg(sp, (struct seg){.no = ls[i].no, .size = size, .points = after});
    } else {
      push_seg(sp, (struct seg){.no = ls[i].no, .size = size, .points = all});
    }
    sp->disk_bytes += size;
  }
  free(o.pts);
  reclaim(sp);
  write_head(sp);
  *out = sp;
  return 0;
}

void sink__spool_close(struct sink__spool **spp) {
  struct sink__spool *sp = *spp;
  if (!sp) return;
  (void)vg_reclog_close(&sp->log);
  free(sp->segs);
  free(sp->dir);
  free(sp);
  *spp = NULL;
}

/* ---- append, peek, pop ---- */
int sink__spool_append(struct sink__spool *sp, const void *data, uint32_t len, uint32_t points) {
  VG_ASSERT(len <= SINK__SPOOL_MAX_RECORD);
  uint64_t rec = SINK__SPOOL_RECORD_OVERHEAD + (uint64_t)len;
  /* after a failed append (a full disk) every append tries the log again: appends are
   * batches, a few a second, and the first one that fits should be kept */
  if (vg_reclog_error(sp->log, NULL)) (void)vg_reclog_recover(sp->log, true);
  uint64_t at = vg_reclog_next_lsn(sp->log);
  int rc = vg_reclog_write(sp->log, points, data, len, NULL);
  if (rc == 0) rc = vg_reclog_sync(sp->log);
  follow_log(sp);
  if (rc < 0) {
    /* Nothing appended: a partial record is cut off again now (or, on a full disk,
     * when the log recovers), so the next append does not follow garbage. */
    vg_reclog_discard_from(sp->log, at);
    (void)vg_reclog_recover(sp->log, true);
    return rc;
  }
  struct seg *s = &sp->segs[sp->n - 1];
  s->size += rec;
  s->points += points;
  sp->disk_bytes += rec;
  apply_cap(sp);
  return 0;
}

/* The record at the head is damaged (found after open): the rest of its segment goes. */
static void skip_damaged(struct sink__spool *sp, const char *why) {
  struct seg *s = &sp->segs[0];
  VG_ERROR("influx sink: damaged spool record, rest of the segment dropped", VF_S("dir", sp->dir),
           VF_I("segment", s->no), VF_I("offset", sp->head_off), VF_I("points", s->points),
           VF_S("why", why));
  sp->dropped += s->points;
  s->points = 0;
  sp->head_off = (uint32_t)s->size;
  reclaim(sp);
  write_head(sp);
}

int sink__spool_peek(struct sink__spool *sp, struct vg_buf *out, uint32_t *points, uint64_t *id) {
  VG_ASSERT(!sp->peeked);
  for (;;) {
    if (sp->n == 0 || sp->head_off >= sp->segs[0].size) return 0;
    const struct seg *s = &sp->segs[0];
    char name[24];
    seg_name(name, s->no);
    int fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    uint8_t hdr[8];
    int rc = vg_pread_all(fd, hdr, sizeof hdr, sp->head_off);
    uint32_t len = vg_get_le32(hdr), pts = vg_get_le32(hdr + 4);
    const char *why = NULL;
    if (rc == 0 && (len > SINK__SPOOL_MAX_RECORD ||
                    sp->head_off + SINK__SPOOL_RECORD_OVERHEAD + (uint64_t)len > s->size))
      why = "bad record length";
    if (rc == 0 && !why) {
      vg_buf_reset(out);
      vg_buf_reserve(out, (size_t)len + 8);
      rc = vg_pread_all(fd, out->data, (size_t)len + 8, sp->head_off + 8);
      if (rc == 0) {
        XXH3_state_t *st = XXH3_createState();
        VG_ASSERT(st != NULL);
        XXH3_64bits_reset(st);
        XXH3_64bits_update(st, hdr, sizeof hdr);
        XXH3_64bits_update(st, out->data, len);
        bool good = XXH3_64bits_digest(st) == vg_get_le64((const uint8_t *)out->data + len);
        XXH3_freeState(st);
        if (!good) why = "record checksum mismatch";
      }
    }
    close(fd);
    if (rc == -EIO) why = "segment shorter than expected";
    else if (rc < 0) return rc;
    if (why) {
      skip_damaged(sp, why);
      continue;
    }
    out->len = len;
    out->data[len] = '\0';
    *points = pts;
    *id = ((uint64_t)s->no << 32) | sp->head_off;
    sp->peeked_id = *id;
    sp->peeked_next = sp->head_off + SINK__SPOOL_RECORD_OVERHEAD + len;
    sp->peeked_points = pts;
    sp->peeked = true;
    sp->peeked_gone = false;
    return 1;
  }
}

int sink__spool_pop(struct sink__spool *sp, uint64_t id) {
  VG_ASSERT(sp->peeked && id == sp->peeked_id);
  sp->peeked = false;
  if (sp->peeked_gone) return 0; /* the cap removed it from disk; it arrived anyway */
  sp->head_off = sp->peeked_next;
  sp->segs[0].points -= sp->peeked_points;
  reclaim(sp);
  write_head(sp);
  return 0;
}

void sink__spool_unpeek(struct sink__spool *sp, uint64_t id) {
  VG_ASSERT(sp->peeked && id == sp->peeked_id);
  sp->peeked = false;
  if (sp->peeked_gone) sp->dropped += sp->peeked_points;
}

uint64_t sink__spool_bytes(const struct sink__spool *sp) {
  if (sp->n == 0) return 0;
  return sp->disk_bytes - sp->n * (uint64_t)SINK__SPOOL_HEADER_SIZE -
         (sp->head_off - SINK__SPOOL_HEADER_SIZE);
}

uint64_t sink__spool_points(const struct sink__spool *sp) {
  uint64_t p = 0;
  for (size_t i = 0; i < sp->n; i++) p += sp->segs[i].points;
  return p;
}

uint64_t sink__spool_dropped(const struct sink__spool *sp) { return sp->dropped; }

uint64_t sink__spool_disk_bytes(const struct sink__spool *sp) { return sp->disk_bytes; }
