/*
 * wal.c — the write-ahead log: segment scanning, recovery on open, buffered
 * appends, sync policies and segment removal. The format is documented in wal.h.
 */
#include "tsdb/wal.h"

#include "core/core.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

/* Buffered bytes beyond which append writes to the kernel. */
#define WAL_FLUSH_AT (1u << 20)

struct tsdb__wal {
  char *dir;
  int dirfd;
  int fd;             /* current segment, -1 if none */
  uint32_t seg;       /* current segment number */
  uint32_t first_seg; /* oldest segment on disk */
  uint64_t written;   /* bytes of the current segment handed to the kernel */
  struct vg_buf buf;  /* bytes after `written`, not yet written */
  uint64_t synced;    /* LSN: end of the last durable record */
  uint64_t seg_size;
  enum tsdb__wal_policy policy;
  uint32_t interval_ms;
  uint64_t last_sync_ms;
  bool dir_dirty; /* a segment was created since the directory was last fsync'ed */
  int err;        /* sticky: set by a failed write or sync */
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

static void encode_header(uint8_t h[TSDB__WAL_HEADER_SIZE], uint32_t seg) {
  memcpy(h, "VGWAL", 5);
  put_u16(h + 5, TSDB__WAL_VERSION);
  h[7] = 0;
  put_u32(h + 8, seg);
  put_u32(h + 12, XXH32(h, 12, 0));
}

/* ---- scanning ---- */
int tsdb__wal_scan(const void *buf, size_t len, uint32_t expect_seg, tsdb__wal_record_fn fn,
                   void *arg, struct tsdb__wal_scan_result *res) {
  const uint8_t *p = buf;
  memset(res, 0, sizeof *res);
  res->status = TSDB__WAL_SCAN_BAD_HDR;
  if (len < TSDB__WAL_HEADER_SIZE) {
    snprintf(res->why, sizeof res->why, "short header (%zu bytes)", len);
    return 0;
  }
  if (memcmp(p, "VGWAL", 5) != 0) {
    snprintf(res->why, sizeof res->why, "bad magic");
    return 0;
  }
  if (get_u32(p + 12) != XXH32(p, 12, 0)) {
    snprintf(res->why, sizeof res->why, "header checksum mismatch");
    return 0;
  }
  if (get_u16(p + 5) != TSDB__WAL_VERSION || p[7] != 0) {
    snprintf(res->why, sizeof res->why, "unsupported version %u flags %u", get_u16(p + 5),
             p[7]);
    return 0;
  }
  uint32_t seg = get_u32(p + 8);
  if (expect_seg != 0 && seg != expect_seg) {
    snprintf(res->why, sizeof res->why, "header names segment %u", seg);
    return 0;
  }

  res->status = TSDB__WAL_SCAN_OK;
  size_t off = TSDB__WAL_HEADER_SIZE;
  res->good_len = off;
  while (off < len) {
    size_t left = len - off;
    if (left < TSDB__WAL_RECORD_OVERHEAD) {
      res->status = TSDB__WAL_SCAN_TORN;
      snprintf(res->why, sizeof res->why, "short record header (%zu bytes)", left);
      break;
    }
    uint32_t rlen = get_u32(p + off);
    uint32_t type = get_u32(p + off + 4);
    if (rlen > TSDB__WAL_MAX_RECORD) {
      res->status = TSDB__WAL_SCAN_TORN;
      snprintf(res->why, sizeof res->why, "record length %u exceeds limit", rlen);
      break;
    }
    if (left - TSDB__WAL_RECORD_OVERHEAD < rlen) {
      res->status = TSDB__WAL_SCAN_TORN;
      snprintf(res->why, sizeof res->why, "record of %u bytes cut short", rlen);
      break;
    }
    if (XXH3_64bits(p + off, 8 + (size_t)rlen) != get_u64(p + off + 8 + rlen)) {
      res->status = TSDB__WAL_SCAN_TORN;
      snprintf(res->why, sizeof res->why, "record checksum mismatch");
      break;
    }
    if (fn) {
      int rc = fn(arg, TSDB__WAL_LSN(seg, off), type, p + off + 8, rlen);
      if (rc != 0) return rc;
    }
    res->records++;
    off += TSDB__WAL_RECORD_OVERHEAD + (size_t)rlen;
    res->good_len = off;
  }
  return 0;
}

/* ---- directory listing ---- */
static int parse_seg_name(const char *name, uint32_t *seg) {
  if (strlen(name) != 12 || strcmp(name + 8, ".wal") != 0) return -1;
  uint32_t v = 0;
  for (int i = 0; i < 8; i++) {
    char c = name[i];
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      return -1;
    v = (v << 4) | (uint32_t)d;
  }
  if (v == 0) return -1;
  *seg = v;
  return 0;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Sorted segment numbers in *segs (caller frees), count in *n. */
static int list_segments(int dirfd, uint32_t **segs, size_t *n) {
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
    uint32_t s;
    if (parse_seg_name(de->d_name, &s) != 0) continue;
    if (cnt == cap) {
      cap *= 2;
      v = vg_realloc(v, cap * sizeof *v);
    }
    v[cnt++] = s;
  }
  closedir(d);
  qsort(v, cnt, sizeof *v, cmp_u32);
  *segs = v;
  *n = cnt;
  return 0;
}

static void seg_name(char out[16], uint32_t seg) { snprintf(out, 16, "%08x.wal", seg); }

/* ---- writing ---- */
static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t r = write(fd, c, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    c += r;
    n -= (size_t)r;
  }
  return 0;
}

static int fail(struct tsdb__wal *w, int e, const char *what) {
  if (!w->err) {
    w->err = e;
    VG_ERROR("wal write failed, log unusable until reopened", VF_S("dir", w->dir),
             VF_S("op", what), VF_I("segment", w->seg), VF_S("error", strerror(-e)));
  }
  return e;
}

static int flush_buf(struct tsdb__wal *w) {
  if (w->err) return w->err;
  if (w->buf.len == 0) return 0;
  int rc = write_all(w->fd, w->buf.data, w->buf.len);
  if (rc != 0) return fail(w, rc, "write");
  w->written += w->buf.len;
  vg_buf_reset(&w->buf);
  return 0;
}

static int sync_dir(struct tsdb__wal *w) {
  if (!w->dir_dirty) return 0;
  if (fsync(w->dirfd) != 0) return fail(w, -errno, "fsync dir");
  w->dir_dirty = false;
  return 0;
}

/* Creates segment seg (truncating a leftover) with its header buffered. */
static int start_segment(struct tsdb__wal *w, uint32_t seg) {
  char name[16];
  seg_name(name, seg);
  int fd = openat(w->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(w, -errno, "create segment");
  w->fd = fd;
  w->seg = seg;
  w->written = 0;
  w->dir_dirty = true;
  uint8_t h[TSDB__WAL_HEADER_SIZE];
  encode_header(h, seg);
  vg_buf_reset(&w->buf);
  vg_buf_append(&w->buf, h, sizeof h);
  return 0;
}

/* Finishes the current segment durably, so only the last one can be torn. */
static int switch_segment(struct tsdb__wal *w) {
  int rc = flush_buf(w);
  if (rc != 0) return rc;
  if (fdatasync(w->fd) != 0) return fail(w, -errno, "fdatasync");
  if ((rc = sync_dir(w)) != 0) return rc;
  w->synced = TSDB__WAL_LSN(w->seg, w->written);
  close(w->fd);
  w->fd = -1;
  return start_segment(w, w->seg + 1);
}

int tsdb__wal_append(struct tsdb__wal *w, uint32_t type, const void *payload, uint32_t len,
                     uint64_t *lsn) {
  VG_ASSERT(len <= TSDB__WAL_MAX_RECORD);
  if (w->err) return w->err;
  uint64_t pos = w->written + w->buf.len;
  if (pos >= w->seg_size && pos > TSDB__WAL_HEADER_SIZE) {
    int rc = switch_segment(w);
    if (rc != 0) return rc;
    pos = w->written + w->buf.len;
  }
  if (lsn) *lsn = TSDB__WAL_LSN(w->seg, pos);

  uint8_t h[8], t[8];
  put_u32(h, len);
  put_u32(h + 4, type);
  vg_buf_reserve(&w->buf, TSDB__WAL_RECORD_OVERHEAD + (size_t)len);
  size_t start = w->buf.len;
  vg_buf_append(&w->buf, h, sizeof h);
  if (len) vg_buf_append(&w->buf, payload, len);
  put_u64(t, XXH3_64bits(w->buf.data + start, 8 + (size_t)len));
  vg_buf_append(&w->buf, t, sizeof t);

  if (w->buf.len >= WAL_FLUSH_AT) return flush_buf(w);
  return 0;
}

int tsdb__wal_sync(struct tsdb__wal *w) {
  int rc = flush_buf(w);
  if (rc != 0) return rc;
  uint64_t end = TSDB__WAL_LSN(w->seg, w->written);
  if (w->synced != end || w->dir_dirty) {
    if (fdatasync(w->fd) != 0) return fail(w, -errno, "fdatasync");
    if ((rc = sync_dir(w)) != 0) return rc;
    w->synced = end;
  }
  w->last_sync_ms = vg_now_ms();
  return 0;
}

int tsdb__wal_maybe_sync(struct tsdb__wal *w, uint64_t now_ms) {
  if (w->err) return w->err;
  if (w->policy != TSDB__WAL_SYNC_INTERVAL) return 0;
  if (now_ms - w->last_sync_ms < w->interval_ms) return 0;
  if (w->buf.len == 0 && w->synced == TSDB__WAL_LSN(w->seg, w->written)) return 0;
  return tsdb__wal_sync(w);
}

int tsdb__wal_commit(struct tsdb__wal *w) {
  switch (w->policy) {
  case TSDB__WAL_SYNC_EVERY:
    return tsdb__wal_sync(w);
  case TSDB__WAL_SYNC_INTERVAL: {
    int rc = flush_buf(w);
    if (rc != 0) return rc;
    return tsdb__wal_maybe_sync(w, vg_now_ms());
  }
  case TSDB__WAL_SYNC_NEVER:
    return flush_buf(w);
  }
  VG_ASSERT(!"unknown wal policy");
}

uint64_t tsdb__wal_synced_lsn(const struct tsdb__wal *w) { return w->synced; }
uint64_t tsdb__wal_next_lsn(const struct tsdb__wal *w) {
  return TSDB__WAL_LSN(w->seg, w->written + w->buf.len);
}
uint32_t tsdb__wal_current_segment(const struct tsdb__wal *w) { return w->seg; }
uint32_t tsdb__wal_first_segment(const struct tsdb__wal *w) { return w->first_seg; }

int tsdb__wal_truncate_before(struct tsdb__wal *w, uint32_t seg) {
  if (w->err) return w->err;
  if (seg > w->seg) seg = w->seg;
  bool removed = false;
  while (w->first_seg < seg) {
    char name[16];
    seg_name(name, w->first_seg);
    if (unlinkat(w->dirfd, name, 0) != 0 && errno != ENOENT) return -errno;
    removed = true;
    w->first_seg++;
  }
  if (removed && fsync(w->dirfd) != 0) return -errno;
  return 0;
}

/* ---- open and recovery ---- */
struct seg_scan {
  int rc;                             /* callback's value or negative errno */
  struct tsdb__wal_scan_result res;
  uint64_t size;
};

static void scan_file(int fd, uint32_t seg, tsdb__wal_record_fn fn, void *arg,
                      struct seg_scan *s) {
  struct stat st;
  memset(s, 0, sizeof *s);
  if (fstat(fd, &st) != 0) {
    s->rc = -errno;
    return;
  }
  s->size = (uint64_t)st.st_size;
  if (st.st_size == 0) {
    s->rc = tsdb__wal_scan("", 0, seg, fn, arg, &s->res);
    return;
  }
  void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (m == MAP_FAILED) {
    s->rc = -errno;
    return;
  }
  s->rc = tsdb__wal_scan(m, (size_t)st.st_size, seg, fn, arg, &s->res);
  munmap(m, (size_t)st.st_size);
}

static void clamp_opts(struct tsdb__wal *w, const struct tsdb__wal_opts *o) {
  w->policy = o ? o->policy : TSDB__WAL_SYNC_EVERY;
  w->interval_ms = o ? o->interval_ms : 0;
  uint64_t s = o && o->segment_size ? o->segment_size : TSDB__WAL_DEFAULT_SEGMENT_SIZE;
  if (s < 4096) s = 4096;
  if (s > TSDB__WAL_MAX_SEGMENT_SIZE) s = TSDB__WAL_MAX_SEGMENT_SIZE;
  w->seg_size = s;
}

int tsdb__wal_open(struct tsdb__wal **out, const char *dir, const struct tsdb__wal_opts *opts,
                   tsdb__wal_record_fn fn, void *arg, char *err, size_t errlen) {
  *out = NULL;
  if (errlen) err[0] = '\0';
  uint32_t *segs = NULL;
  size_t nseg = 0;
  int rc;
  struct tsdb__wal *w = vg_calloc(1, sizeof *w);
  w->dir = vg_strdup(dir);
  w->fd = -1;
  vg_buf_init(&w->buf);
  clamp_opts(w, opts);

  if ((rc = vg_mkdir_p(dir, 0755)) != 0) {
    snprintf(err, errlen, "wal: cannot create %s: %s", dir, strerror(-rc));
    goto fail_free;
  }
  w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (w->dirfd < 0) {
    rc = -errno;
    snprintf(err, errlen, "wal: cannot open %s: %s", dir, strerror(errno));
    goto fail_free;
  }
  if (flock(w->dirfd, LOCK_EX | LOCK_NB) != 0) {
    rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
    snprintf(err, errlen, "wal: %s is in use by another process", dir);
    goto fail_dir;
  }
  if ((rc = list_segments(w->dirfd, &segs, &nseg)) != 0) {
    snprintf(err, errlen, "wal: cannot list %s: %s", dir, strerror(-rc));
    goto fail_dir;
  }

  for (size_t i = 0; i < nseg; i++) {
    char name[16];
    seg_name(name, segs[i]);
    bool last = i + 1 == nseg;
    if (i > 0 && segs[i] != segs[i - 1] + 1) {
      rc = -EBADMSG;
      snprintf(err, errlen, "wal: %s/%s: segments %08x..%08x are missing", dir, name,
               segs[i - 1] + 1, segs[i] - 1);
      goto fail_segs;
    }
    int fd = openat(w->dirfd, name, (last ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
      rc = -errno;
      snprintf(err, errlen, "wal: cannot open %s/%s: %s", dir, name, strerror(errno));
      goto fail_segs;
    }
    struct seg_scan s;
    scan_file(fd, segs[i], fn, arg, &s);
    if (s.rc != 0) {
      close(fd);
      rc = s.rc;
      if (rc < 0)
        snprintf(err, errlen, "wal: cannot read %s/%s: %s", dir, name, strerror(-rc));
      else
        snprintf(err, errlen, "wal: replay stopped by the caller in %s/%s", dir, name);
      goto fail_segs;
    }
    if (!last) {
      close(fd);
      if (s.res.status != TSDB__WAL_SCAN_OK) {
        rc = -EBADMSG;
        snprintf(err, errlen, "wal: %s/%s: corrupt at offset %zu: %s", dir, name,
                 s.res.good_len, s.res.why);
        goto fail_segs;
      }
      continue;
    }
    /* The last segment: a bad tail is what a crash leaves behind. */
    if (s.res.status != TSDB__WAL_SCAN_OK) {
      VG_WARN("wal torn tail truncated", VF_S("dir", dir), VF_S("segment", name),
              VF_I("offset", s.res.good_len), VF_I("dropped", s.size - s.res.good_len),
              VF_S("reason", s.res.why));
      if (ftruncate(fd, (off_t)s.res.good_len) != 0 || fsync(fd) != 0) {
        rc = -errno;
        snprintf(err, errlen, "wal: cannot truncate %s/%s: %s", dir, name, strerror(errno));
        close(fd);
        goto fail_segs;
      }
    }
    if (s.res.good_len == 0) {
      close(fd);
      if ((rc = start_segment(w, segs[i])) != 0) goto fail_io;
    } else {
      if (lseek(fd, (off_t)s.res.good_len, SEEK_SET) < 0) {
        rc = -errno;
        close(fd);
        goto fail_io;
      }
      w->fd = fd;
      w->seg = segs[i];
      w->written = s.res.good_len;
    }
  }
  if (nseg == 0 && (rc = start_segment(w, 1)) != 0) goto fail_io;
  w->first_seg = nseg ? segs[0] : 1;
  free(segs);
  segs = NULL;
  /* Make the (possibly new) header and directory entry durable before appending. */
  if ((rc = tsdb__wal_sync(w)) != 0) goto fail_io;
  *out = w;
  return 0;

fail_io:
  snprintf(err, errlen, "wal: %s: %s", dir, strerror(-rc));
fail_segs:
  free(segs);
  if (w->fd >= 0) close(w->fd);
fail_dir:
  close(w->dirfd);
fail_free:
  vg_buf_free(&w->buf);
  free(w->dir);
  free(w);
  return rc;
}

int tsdb__wal_close(struct tsdb__wal **wp) {
  struct tsdb__wal *w = *wp;
  if (!w) return 0;
  int rc = flush_buf(w);
  if (w->fd >= 0) close(w->fd);
  close(w->dirfd);
  vg_buf_free(&w->buf);
  free(w->dir);
  free(w);
  *wp = NULL;
  return rc;
}
