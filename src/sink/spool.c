/*
 * spool.c — the InfluxDB sink's on-disk queue: segment scanning, recovery on open,
 * synced appends, reading and acknowledging the oldest record, and the size cap.
 * The format and the rules are documented in spool.h.
 */
#include "sink/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <xxhash.h>

struct seg {
  uint32_t no;
  uint64_t size;   /* bytes in the file */
  uint64_t points; /* points of its records not yet acknowledged */
};

struct sink__spool {
  char *dir;
  int dirfd, lockfd;
  int wfd;            /* the last segment, open for appending; -1 until needed */
  struct seg *segs;   /* ascending; the head is in segs[0] */
  size_t n, cap;
  uint32_t head_off;  /* offset in segs[0] of the oldest unacknowledged record */
  uint32_t next_no;   /* number of the next segment created */
  uint64_t seg_size, max_bytes;
  uint64_t disk_bytes;
  uint64_t dropped;
  /* The record last returned by peek (on its way to InfluxDB), where the next one
   * starts, and whether the cap removed it from disk meanwhile. */
  uint64_t peeked_id;
  uint32_t peeked_next, peeked_points;
  bool peeked, peeked_gone;
};

/* ---- little-endian helpers ---- */
static void put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* ---- scanning ---- */
int sink__spool_scan(const void *buf, size_t len, uint32_t expect_seg, sink__spool_record_fn fn,
                     void *arg, struct sink__spool_scan_result *res) {
  const uint8_t *p = buf;
  memset(res, 0, sizeof *res);
  res->status = SINK__SPOOL_SCAN_BAD_HDR;
  if (len < SINK__SPOOL_HEADER_SIZE) {
    snprintf(res->why, sizeof res->why, "short header (%zu bytes)", len);
    return 0;
  }
  if (memcmp(p, "VGSPL", 5) != 0) {
    snprintf(res->why, sizeof res->why, "bad magic");
    return 0;
  }
  if (get_u32(p + 12) != XXH32(p, 12, 0)) {
    snprintf(res->why, sizeof res->why, "header checksum mismatch");
    return 0;
  }
  if (get_u16(p + 5) != SINK__SPOOL_VERSION || p[7] != 0) {
    snprintf(res->why, sizeof res->why, "unsupported version %u flags %u", get_u16(p + 5), p[7]);
    return 0;
  }
  if (expect_seg != 0 && get_u32(p + 8) != expect_seg) {
    snprintf(res->why, sizeof res->why, "header names segment %u", get_u32(p + 8));
    return 0;
  }
  res->status = SINK__SPOOL_SCAN_OK;
  size_t off = SINK__SPOOL_HEADER_SIZE;
  res->good_len = off;
  while (off < len) {
    size_t left = len - off;
    if (left < SINK__SPOOL_RECORD_OVERHEAD) {
      res->status = SINK__SPOOL_SCAN_TORN;
      snprintf(res->why, sizeof res->why, "short record header (%zu bytes)", left);
      break;
    }
    uint32_t rlen = get_u32(p + off);
    uint32_t points = get_u32(p + off + 4);
    if (rlen > SINK__SPOOL_MAX_RECORD) {
      res->status = SINK__SPOOL_SCAN_TORN;
      snprintf(res->why, sizeof res->why, "record length %u exceeds limit", rlen);
      break;
    }
    if (left - SINK__SPOOL_RECORD_OVERHEAD < rlen) {
      res->status = SINK__SPOOL_SCAN_TORN;
      snprintf(res->why, sizeof res->why, "record of %u bytes cut short", rlen);
      break;
    }
    if (XXH3_64bits(p + off, 8 + (size_t)rlen) != get_u64(p + off + 8 + rlen)) {
      res->status = SINK__SPOOL_SCAN_TORN;
      snprintf(res->why, sizeof res->why, "record checksum mismatch");
      break;
    }
    if (fn) {
      int rc = fn(arg, (uint32_t)off, points, p + off + 8, rlen);
      if (rc != 0) return rc;
    }
    res->records++;
    res->points += points;
    off += SINK__SPOOL_RECORD_OVERHEAD + (size_t)rlen;
    res->good_len = off;
  }
  return 0;
}

/* ---- file helpers ---- */
static void seg_name(char out[24], uint32_t no) { snprintf(out, 24, "%08x.spool", no); }

static int parse_seg_name(const char *name, uint32_t *no) {
  if (strlen(name) != 14 || strcmp(name + 8, ".spool") != 0) return -1;
  uint32_t v = 0;
  for (int i = 0; i < 8; i++) {
    char c = name[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return -1;
    v = (v << 4) | (uint32_t)d;
  }
  if (v == 0) return -1;
  *no = v;
  return 0;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static int list_segments(int dirfd, uint32_t **out, size_t *n) {
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  DIR *d = fdopendir(fd);
  if (!d) {
    int e = -errno;
    close(fd);
    return e;
  }
  size_t cap = 16, cnt = 0;
  uint32_t *v = vg_malloc(cap * sizeof *v);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    uint32_t no;
    if (parse_seg_name(de->d_name, &no) != 0) continue;
    if (cnt == cap) v = vg_realloc(v, (cap *= 2) * sizeof *v);
    v[cnt++] = no;
  }
  closedir(d);
  qsort(v, cnt, sizeof *v, cmp_u32);
  *out = v;
  *n = cnt;
  return 0;
}

static int read_whole(int dirfd, const char *name, struct vg_buf *b) {
  int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  vg_buf_reset(b);
  for (;;) {
    vg_buf_reserve(b, 1 << 20);
    ssize_t r = read(fd, b->data + b->len, b->cap - b->len - 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = -errno;
      close(fd);
      return e;
    }
    if (r == 0) break;
    b->len += (size_t)r;
  }
  close(fd);
  return 0;
}

static int pread_all(int fd, void *p, size_t n, off_t off) {
  char *c = p;
  while (n > 0) {
    ssize_t r = pread(fd, c, n, off);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    if (r == 0) return -EIO; /* shorter than the spool believes */
    c += r;
    n -= (size_t)r;
    off += r;
  }
  return 0;
}

static int pwritev_all(int fd, struct iovec *iov, int cnt, off_t off) {
  while (cnt > 0) {
    ssize_t r = pwritev(fd, iov, cnt, off);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    off += r;
    while (cnt > 0 && (size_t)r >= iov->iov_len) {
      r -= (ssize_t)iov->iov_len;
      iov++;
      cnt--;
    }
    if (cnt > 0) {
      iov->iov_base = (char *)iov->iov_base + r;
      iov->iov_len -= (size_t)r;
    }
  }
  return 0;
}

/* ---- the head file ---- */
static void write_head(struct sink__spool *sp) {
  if (sp->n == 0) return;
  uint8_t h[16];
  memcpy(h, "VGSH", 4);
  put_u32(h + 4, sp->segs[0].no);
  put_u32(h + 8, sp->head_off);
  put_u32(h + 12, XXH32(h, 12, 0));
  int fd = openat(sp->dirfd, "head.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && write(fd, h, sizeof h) == (ssize_t)sizeof h;
  if (fd >= 0) close(fd);
  /* A head that cannot be saved only means batches go again after a restart. */
  if (!ok || renameat(sp->dirfd, "head.tmp", sp->dirfd, "head") != 0)
    VG_WARN("influx sink: cannot save the spool head", VF_S("dir", sp->dir),
            VF_S("error", strerror(errno)));
}

static bool read_head(int dirfd, uint32_t *seg, uint32_t *off) {
  uint8_t h[16];
  int fd = openat(dirfd, "head", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = read(fd, h, sizeof h) == (ssize_t)sizeof h && memcmp(h, "VGSH", 4) == 0 &&
            get_u32(h + 12) == XXH32(h, 12, 0);
  close(fd);
  if (ok) {
    *seg = get_u32(h + 4);
    *off = get_u32(h + 8);
  }
  return ok;
}

/* ---- segments ---- */
static void push_seg(struct sink__spool *sp, struct seg s) {
  if (sp->n == sp->cap) {
    sp->cap = sp->cap ? sp->cap * 2 : 8;
    sp->segs = vg_realloc(sp->segs, sp->cap * sizeof *sp->segs);
  }
  sp->segs[sp->n++] = s;
}

/* Removes segs[0] from disk and from the list. */
static void remove_first(struct sink__spool *sp) {
  char name[24];
  seg_name(name, sp->segs[0].no);
  if (sp->n == 1 && sp->wfd >= 0) {
    close(sp->wfd);
    sp->wfd = -1;
  }
  if (unlinkat(sp->dirfd, name, 0) != 0 && errno != ENOENT)
    VG_WARN("influx sink: cannot remove a spool segment", VF_S("dir", sp->dir),
            VF_S("segment", name), VF_S("error", strerror(errno)));
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
    char name[24];
    seg_name(name, sp->segs[0].no);
    int fd = sp->wfd >= 0 ? sp->wfd : openat(sp->dirfd, name, O_WRONLY | O_CLOEXEC);
    if (fd >= 0 && ftruncate(fd, SINK__SPOOL_HEADER_SIZE) == 0) {
      sp->disk_bytes -= sp->segs[0].size - SINK__SPOOL_HEADER_SIZE;
      sp->segs[0].size = SINK__SPOOL_HEADER_SIZE;
      sp->head_off = SINK__SPOOL_HEADER_SIZE;
    }
    if (fd >= 0 && fd != sp->wfd) close(fd);
  }
}

static int new_segment(struct sink__spool *sp) {
  uint32_t no = sp->next_no++;
  char name[24];
  seg_name(name, no);
  if (sp->wfd >= 0) close(sp->wfd);
  sp->wfd = openat(sp->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (sp->wfd < 0) return -errno;
  uint8_t h[SINK__SPOOL_HEADER_SIZE];
  memcpy(h, "VGSPL", 5);
  put_u16(h + 5, SINK__SPOOL_VERSION);
  h[7] = 0;
  put_u32(h + 8, no);
  put_u32(h + 12, XXH32(h, 12, 0));
  struct iovec iov = {h, sizeof h};
  int rc = pwritev_all(sp->wfd, &iov, 1, 0);
  if (rc == 0 && fdatasync(sp->wfd) != 0) rc = -errno;
  if (rc == 0 && fsync(sp->dirfd) != 0) rc = -errno;
  if (rc < 0) {
    close(sp->wfd);
    sp->wfd = -1;
    unlinkat(sp->dirfd, name, 0);
    return rc;
  }
  if (sp->n == 0) sp->head_off = SINK__SPOOL_HEADER_SIZE;
  push_seg(sp, (struct seg){.no = no, .size = SINK__SPOOL_HEADER_SIZE});
  sp->disk_bytes += SINK__SPOOL_HEADER_SIZE;
  return 0;
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
  uint32_t head_off; /* UINT32_MAX: not the head segment */
  bool head_ok;      /* head_off is a record boundary (or the end) */
  uint64_t points_after;
};

static int on_open_record(void *arg, uint32_t off, uint32_t points, const void *p, uint32_t len) {
  struct open_scan *o = arg;
  if (off == o->head_off) o->head_ok = true;
  if (off >= o->head_off) o->points_after += points;
  return 0;
}

static int recover_segment(struct sink__spool *sp, uint32_t no, bool is_head, uint32_t head_off,
                           struct vg_buf *b, char *err, size_t errlen) {
  char name[24];
  seg_name(name, no);
  int rc = read_whole(sp->dirfd, name, b);
  if (rc < 0) {
    snprintf(err, errlen, "cannot read %s/%s: %s", sp->dir, name, strerror(-rc));
    return rc;
  }
  struct open_scan o = {.head_off = is_head ? head_off : 0};
  struct sink__spool_scan_result r;
  sink__spool_scan(b->data, b->len, no, on_open_record, &o, &r);
  if (r.status == SINK__SPOOL_SCAN_BAD_HDR) {
    VG_WARN("influx sink: spool segment with a bad header removed", VF_S("dir", sp->dir),
            VF_S("segment", name), VF_S("why", r.why), VF_I("bytes", b->len));
    unlinkat(sp->dirfd, name, 0);
    return 0;
  }
  if (r.status == SINK__SPOOL_SCAN_TORN) {
    VG_WARN("influx sink: spool torn tail truncated", VF_S("dir", sp->dir), VF_S("segment", name),
            VF_I("offset", r.good_len), VF_I("bytes_dropped", b->len - r.good_len),
            VF_S("why", r.why));
    int fd = openat(sp->dirfd, name, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)r.good_len) != 0 || fsync(fd) != 0) {
      rc = -errno;
      snprintf(err, errlen, "cannot truncate %s/%s: %s", sp->dir, name, strerror(errno));
      if (fd >= 0) close(fd);
      return rc;
    }
    close(fd);
  }
  if (is_head && (o.head_ok || head_off == r.good_len)) {
    sp->head_off = head_off;
    push_seg(sp, (struct seg){.no = no, .size = r.good_len, .points = o.points_after});
  } else {
    /* Not the head segment, or a head that points nowhere: all of it goes again. */
    if (sp->n == 0) sp->head_off = SINK__SPOOL_HEADER_SIZE;
    push_seg(sp, (struct seg){.no = no, .size = r.good_len, .points = r.points});
  }
  sp->disk_bytes += r.good_len;
  return 0;
}

int sink__spool_open(struct sink__spool **out, const char *dir, uint64_t max_bytes, char *err,
                     size_t errlen) {
  *out = NULL;
  int rc = vg_mkdir_p(dir, 0700);
  if (rc < 0) {
    snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-rc));
    return rc;
  }
  struct sink__spool *sp = vg_calloc(1, sizeof *sp);
  sp->dir = vg_strdup(dir);
  sp->wfd = sp->lockfd = -1;
  sp->max_bytes = max_bytes;
  sp->seg_size = max_bytes / 8;
  if (sp->seg_size < SINK__SPOOL_MIN_SEGMENT) sp->seg_size = SINK__SPOOL_MIN_SEGMENT;
  if (sp->seg_size > SINK__SPOOL_MAX_SEGMENT) sp->seg_size = SINK__SPOOL_MAX_SEGMENT;
  uint32_t *nos = NULL;
  size_t n_nos = 0;
  struct vg_buf b;
  vg_buf_init(&b);

  sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sp->dirfd < 0) {
    rc = -errno;
    snprintf(err, errlen, "cannot open %s: %s", dir, strerror(errno));
    goto fail;
  }
  sp->lockfd = openat(sp->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (sp->lockfd < 0 || flock(sp->lockfd, LOCK_EX | LOCK_NB) != 0) {
    rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
    snprintf(err, errlen, rc == -EBUSY ? "the spool %s is in use by another process"
                                       : "cannot lock the spool %s: %s",
             dir, strerror(errno));
    goto fail;
  }
  if ((rc = list_segments(sp->dirfd, &nos, &n_nos)) < 0) {
    snprintf(err, errlen, "cannot list %s: %s", dir, strerror(-rc));
    goto fail;
  }
  uint32_t head_seg = 0, head_off = 0;
  bool have_head = read_head(sp->dirfd, &head_seg, &head_off);
  for (size_t i = 0; i < n_nos; i++) {
    char name[24];
    seg_name(name, nos[i]);
    if (have_head && nos[i] < head_seg) { /* acknowledged before the last stop */
      unlinkat(sp->dirfd, name, 0);
      continue;
    }
    bool is_head = have_head && nos[i] == head_seg && sp->n == 0;
    if ((rc = recover_segment(sp, nos[i], is_head, head_off, &b, err, errlen)) < 0) goto fail;
  }
  sp->next_no = n_nos ? nos[n_nos - 1] + 1 : (have_head ? head_seg + 1 : 1);
  if (sp->next_no == 0) sp->next_no = 1;
  if (sp->n > 0) {
    char name[24];
    seg_name(name, sp->segs[sp->n - 1].no);
    sp->wfd = openat(sp->dirfd, name, O_WRONLY | O_CLOEXEC);
    if (sp->wfd < 0) {
      rc = -errno;
      snprintf(err, errlen, "cannot open %s/%s: %s", dir, name, strerror(errno));
      goto fail;
    }
  }
  reclaim(sp);
  write_head(sp);
  free(nos);
  vg_buf_free(&b);
  *out = sp;
  return 0;
fail:
  free(nos);
  vg_buf_free(&b);
  sink__spool_close(&sp);
  return rc;
}

void sink__spool_close(struct sink__spool **spp) {
  struct sink__spool *sp = *spp;
  if (!sp) return;
  if (sp->wfd >= 0) close(sp->wfd);
  if (sp->lockfd >= 0) close(sp->lockfd);
  if (sp->dirfd >= 0) close(sp->dirfd);
  free(sp->segs);
  free(sp->dir);
  free(sp);
  *spp = NULL;
}

/* ---- append, peek, pop ---- */
int sink__spool_append(struct sink__spool *sp, const void *data, uint32_t len, uint32_t points) {
  VG_ASSERT(len <= SINK__SPOOL_MAX_RECORD);
  uint64_t rec = SINK__SPOOL_RECORD_OVERHEAD + (uint64_t)len;
  int rc;
  if (sp->n == 0 || (sp->segs[sp->n - 1].size > SINK__SPOOL_HEADER_SIZE &&
                     sp->segs[sp->n - 1].size + rec > sp->seg_size)) {
    if ((rc = new_segment(sp)) < 0) return rc;
    reclaim(sp);
  }
  struct seg *s = &sp->segs[sp->n - 1];
  uint8_t hdr[8], sum[8];
  put_u32(hdr, len);
  put_u32(hdr + 4, points);
  XXH3_state_t *st = XXH3_createState();
  VG_ASSERT(st != NULL);
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, hdr, sizeof hdr);
  XXH3_64bits_update(st, data, len);
  put_u64(sum, XXH3_64bits_digest(st));
  XXH3_freeState(st);
  struct iovec iov[3] = {{hdr, sizeof hdr}, {(void *)data, len}, {sum, sizeof sum}};
  rc = pwritev_all(sp->wfd, iov, 3, (off_t)s->size);
  if (rc == 0 && fdatasync(sp->wfd) != 0) rc = -errno;
  if (rc < 0) {
    /* Cut a partial record off, so the next append does not follow garbage. */
    if (ftruncate(sp->wfd, (off_t)s->size) != 0)
      VG_WARN("influx sink: cannot cut a failed spool append", VF_S("dir", sp->dir),
              VF_S("error", strerror(errno)));
    return rc;
  }
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
    int rc = pread_all(fd, hdr, sizeof hdr, sp->head_off);
    uint32_t len = get_u32(hdr), pts = get_u32(hdr + 4);
    const char *why = NULL;
    if (rc == 0 && (len > SINK__SPOOL_MAX_RECORD ||
                    sp->head_off + SINK__SPOOL_RECORD_OVERHEAD + (uint64_t)len > s->size))
      why = "bad record length";
    if (rc == 0 && !why) {
      vg_buf_reset(out);
      vg_buf_reserve(out, (size_t)len + 8);
      rc = pread_all(fd, out->data, (size_t)len + 8, sp->head_off + 8);
      if (rc == 0) {
        XXH3_state_t *st = XXH3_createState();
        VG_ASSERT(st != NULL);
        XXH3_64bits_reset(st);
        XXH3_64bits_update(st, hdr, sizeof hdr);
        XXH3_64bits_update(st, out->data, len);
        bool good = XXH3_64bits_digest(st) == get_u64((const uint8_t *)out->data + len);
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
