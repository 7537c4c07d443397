/*
 * reclog.c — the segmented record log (reclog.h): scanning a segment image, recovery
 * on open, buffered and direct appends, syncs, rotation, removal, and recovery after a
 * failed write. The format and the rules are documented in reclog.h.
 */
#include "core/reclog.h"

#include "core/core.h"
#include "core/endian.h"
#include "core/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <xxhash.h>

#define DEFAULT_SEGMENT_SIZE (64u * 1024 * 1024)
#define DEFAULT_FLUSH_AT (1u << 20)
#define DEFAULT_RETRY_MS 1000u

struct vg_reclog {
  const struct vg_reclog_format *f;
  char *dir;
  int dirfd, lockfd;
  int fd;                     /* the current segment; -1 while its creation failed */
  uint32_t seg;               /* the current segment's number */
  struct vg_reclog_seg *segs; /* on disk, ascending; the last is the current one */
  size_t n, cap;
  uint64_t written; /* bytes of the current segment handed to the kernel: a record end */
  struct vg_buf buf; /* bytes after `written`, not yet written: whole records */
  uint64_t synced;   /* LSN: end of the last durable record */
  uint64_t seg_size;
  size_t flush_at;
  bool fit, lenient;
  bool dir_dirty; /* a segment was created since the directory was last fsync'ed */
  unsigned mode;
  int err; /* sticky: set by a failed write or sync, cleared by a recovery */
  uint64_t err_since_ms, next_try_ms, recoveries;
  uint32_t retry_ms;
};

/* ---- format ---- */
void vg_reclog_header(const struct vg_reclog_format *f, uint32_t seg,
                      uint8_t h[VG_RECLOG_HEADER_SIZE]) {
  memcpy(h, f->magic, 5);
  vg_put_le16(h + 5, f->version);
  h[7] = 0;
  vg_put_le32(h + 8, seg);
  vg_put_le32(h + 12, XXH32(h, 12, 0));
}

void vg_reclog_seg_name(const struct vg_reclog_format *f, uint32_t seg, char out[20]) {
  snprintf(out, 20, "%08x%s", seg, f->suffix);
}

static int parse_seg_name(const struct vg_reclog_format *f, const char *name, uint32_t *seg) {
  size_t sl = strlen(f->suffix);
  if (strlen(name) != 8 + sl || strcmp(name + 8, f->suffix) != 0) return -1;
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
  *seg = v;
  return 0;
}

/* Records of p[0..len), which sits at offset base of segment seg. */
static int scan_records(const struct vg_reclog_format *f, const uint8_t *p, size_t len,
                        size_t base, uint32_t seg, vg_reclog_record_fn fn, void *arg,
                        struct vg_reclog_scan_result *res) {
  size_t off = 0;
  res->status = VG_RECLOG_SCAN_OK;
  res->good_len = base;
  while (off < len) {
    size_t left = len - off;
    if (left < VG_RECLOG_RECORD_OVERHEAD) {
      res->status = VG_RECLOG_SCAN_TORN;
      snprintf(res->why, sizeof res->why, "short record header (%zu bytes)", left);
      break;
    }
    uint32_t rlen = vg_get_le32(p + off);
    uint32_t tag = vg_get_le32(p + off + 4);
    if (rlen > f->max_record) {
      res->status = VG_RECLOG_SCAN_TORN;
      snprintf(res->why, sizeof res->why, "record length %u exceeds limit", rlen);
      break;
    }
    if (left - VG_RECLOG_RECORD_OVERHEAD < rlen) {
      res->status = VG_RECLOG_SCAN_TORN;
      snprintf(res->why, sizeof res->why, "record of %u bytes cut short", rlen);
      break;
    }
    if (XXH3_64bits(p + off, 8 + (size_t)rlen) != vg_get_le64(p + off + 8 + rlen)) {
      res->status = VG_RECLOG_SCAN_TORN;
      snprintf(res->why, sizeof res->why, "record checksum mismatch");
      break;
    }
    if (fn) {
      int rc = fn(arg, VG_RECLOG_LSN(seg, base + off), tag, p + off + 8, rlen);
      if (rc != 0) return rc;
    }
    res->records++;
    res->tags += tag;
    off += VG_RECLOG_RECORD_OVERHEAD + (size_t)rlen;
    res->good_len = base + off;
  }
  return 0;
}

int vg_reclog_scan(const struct vg_reclog_format *f, const void *buf, size_t len,
                   uint32_t expect_seg, vg_reclog_record_fn fn, void *arg,
                   struct vg_reclog_scan_result *res) {
  const uint8_t *p = buf;
  memset(res, 0, sizeof *res);
  res->status = VG_RECLOG_SCAN_BAD_HDR;
  if (len < VG_RECLOG_HEADER_SIZE) {
    snprintf(res->why, sizeof res->why, "short header (%zu bytes)", len);
    return 0;
  }
  if (memcmp(p, f->magic, 5) != 0) {
    snprintf(res->why, sizeof res->why, "bad magic");
    return 0;
  }
  if (vg_get_le32(p + 12) != XXH32(p, 12, 0)) {
    snprintf(res->why, sizeof res->why, "header checksum mismatch");
    return 0;
  }
  if (vg_get_le16(p + 5) != f->version || p[7] != 0) {
    snprintf(res->why, sizeof res->why, "unsupported version %u flags %u (this vigil reads %u)",
             vg_get_le16(p + 5), p[7], f->version);
    return 0;
  }
  uint32_t seg = vg_get_le32(p + 8);
  if (expect_seg != 0 && seg != expect_seg) {
    snprintf(res->why, sizeof res->why, "header names segment %u", seg);
    return 0;
  }
  return scan_records(f, p + VG_RECLOG_HEADER_SIZE, len - VG_RECLOG_HEADER_SIZE,
                      VG_RECLOG_HEADER_SIZE, seg, fn, arg, res);
}

/* ---- segments on disk ---- */
static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Sorted segment numbers in *out (caller frees), count in *n. */
static int list_segments(const struct vg_reclog *l, uint32_t **out, size_t *n) {
  int fd = openat(l->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
    if (parse_seg_name(l->f, de->d_name, &s) != 0) continue;
    if (cnt == cap) v = vg_realloc(v, (cap *= 2) * sizeof *v);
    v[cnt++] = s;
  }
  closedir(d);
  qsort(v, cnt, sizeof *v, cmp_u32);
  *out = v;
  *n = cnt;
  return 0;
}

static void push_seg(struct vg_reclog *l, uint32_t no, uint64_t size) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 8;
    l->segs = vg_realloc(l->segs, l->cap * sizeof *l->segs);
  }
  l->segs[l->n++] = (struct vg_reclog_seg){no, size};
}

/* ---- writing ---- */
static int fail(struct vg_reclog *l, int e, const char *what) {
  if (!l->err) {
    l->err = e;
    l->err_since_ms = vg_now_ms();
    l->next_try_ms = l->err_since_ms + l->retry_ms;
    char name[20];
    vg_reclog_seg_name(l->f, l->seg, name);
    VG_ERROR("log write failed; writes are refused until it recovers", VF_S("log", l->f->name),
             VF_S("dir", l->dir), VF_S("op", what), VF_S("segment", name),
             VF_S("error", strerror(-e)));
  }
  return e;
}

static int flush_buf(struct vg_reclog *l) {
  if (l->err) return l->err;
  if (l->buf.len == 0) return 0;
  int rc = vg_pwrite_all(l->fd, l->buf.data, l->buf.len, (off_t)l->written);
  if (rc != 0) return fail(l, rc, "write");
  l->written += l->buf.len;
  vg_buf_reset(&l->buf);
  return 0;
}

static int sync_dir(struct vg_reclog *l) {
  if (!l->dir_dirty) return 0;
  if (fsync(l->dirfd) != 0) return fail(l, -errno, "fsync dir");
  l->dir_dirty = false;
  return 0;
}

static void buffer_header(struct vg_reclog *l) {
  uint8_t h[VG_RECLOG_HEADER_SIZE];
  vg_reclog_header(l->f, l->seg, h);
  vg_buf_reset(&l->buf);
  vg_buf_append(&l->buf, h, sizeof h);
}

/* Creates segment seg (truncating a leftover) as the current one, its header buffered.
 * On failure the log has failed with fd -1; recovery creates it again. */
static int start_segment(struct vg_reclog *l, uint32_t seg) {
  char name[20];
  vg_reclog_seg_name(l->f, seg, name);
  if (l->n == 0 || l->segs[l->n - 1].no != seg) push_seg(l, seg, 0);
  l->seg = seg;
  l->written = 0;
  buffer_header(l);
  l->fd = openat(l->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, l->mode & 0666);
  if (l->fd < 0) return fail(l, -errno, "create segment");
  l->dir_dirty = true;
  return 0;
}

/* Finishes the current segment durably, so only the last one can be torn. */
static int rotate_now(struct vg_reclog *l) {
  int rc = flush_buf(l);
  if (rc != 0) return rc;
  if (fdatasync(l->fd) != 0) return fail(l, -errno, "fdatasync");
  if ((rc = sync_dir(l)) != 0) return rc;
  l->synced = VG_RECLOG_LSN(l->seg, l->written);
  l->segs[l->n - 1].size = l->written;
  close(l->fd);
  l->fd = -1;
  return start_segment(l, l->seg + 1);
}

static int maybe_rotate(struct vg_reclog *l, uint32_t len) {
  uint64_t pos = l->written + l->buf.len;
  bool due = l->fit ? pos > VG_RECLOG_HEADER_SIZE &&
                          pos + VG_RECLOG_RECORD_OVERHEAD + len > l->seg_size
                    : pos > VG_RECLOG_HEADER_SIZE && pos >= l->seg_size;
  return due ? rotate_now(l) : 0;
}

static inline int check(struct vg_reclog *l) {
  return l->err ? vg_reclog_recover(l, false) : 0;
}

int vg_reclog_append(struct vg_reclog *l, uint32_t tag, const void *payload, uint32_t len,
                     uint64_t *lsn) {
  VG_ASSERT(len <= l->f->max_record);
  int rc = check(l);
  if (rc == 0) rc = maybe_rotate(l, len);
  if (rc != 0) return rc;
  if (lsn) *lsn = VG_RECLOG_LSN(l->seg, l->written + l->buf.len);
  uint8_t h[8], t[8];
  vg_put_le32(h, len);
  vg_put_le32(h + 4, tag);
  vg_buf_reserve(&l->buf, VG_RECLOG_RECORD_OVERHEAD + (size_t)len);
  size_t start = l->buf.len;
  vg_buf_append(&l->buf, h, sizeof h);
  if (len) vg_buf_append(&l->buf, payload, len);
  vg_put_le64(t, XXH3_64bits(l->buf.data + start, 8 + (size_t)len));
  vg_buf_append(&l->buf, t, sizeof t);
  if (l->buf.len >= l->flush_at) return flush_buf(l);
  return 0;
}

int vg_reclog_write(struct vg_reclog *l, uint32_t tag, const void *payload, uint32_t len,
                    uint64_t *lsn) {
  VG_ASSERT(len <= l->f->max_record);
  int rc = check(l);
  if (rc == 0) rc = maybe_rotate(l, len);
  if (rc == 0) rc = flush_buf(l);
  if (rc != 0) return rc;
  uint8_t h[8], t[8];
  vg_put_le32(h, len);
  vg_put_le32(h + 4, tag);
  XXH3_state_t *st = XXH3_createState();
  VG_ASSERT(st != NULL);
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, h, sizeof h);
  XXH3_64bits_update(st, payload, len);
  vg_put_le64(t, XXH3_64bits_digest(st));
  XXH3_freeState(st);
  struct iovec iov[3] = {{h, sizeof h}, {(void *)payload, len}, {t, sizeof t}};
  rc = vg_pwritev_all(l->fd, iov, 3, (off_t)l->written);
  if (rc != 0) return fail(l, rc, "write");
  if (lsn) *lsn = VG_RECLOG_LSN(l->seg, l->written);
  l->written += VG_RECLOG_RECORD_OVERHEAD + (uint64_t)len;
  return 0;
}

int vg_reclog_flush(struct vg_reclog *l) {
  int rc = check(l);
  return rc ? rc : flush_buf(l);
}

int vg_reclog_sync(struct vg_reclog *l) {
  int rc = check(l);
  if (rc == 0) rc = flush_buf(l);
  if (rc != 0) return rc;
  uint64_t end = VG_RECLOG_LSN(l->seg, l->written);
  if (l->synced != end || l->dir_dirty) {
    if (fdatasync(l->fd) != 0) return fail(l, -errno, "fdatasync");
    if ((rc = sync_dir(l)) != 0) return rc;
    l->synced = end;
  }
  return 0;
}

int vg_reclog_rotate(struct vg_reclog *l) {
  int rc = check(l);
  if (rc != 0) return rc;
  if (l->written + l->buf.len <= VG_RECLOG_HEADER_SIZE) return 0;
  return rotate_now(l);
}

int vg_reclog_remove_before(struct vg_reclog *l, uint32_t seg) {
  if (seg > l->seg) seg = l->seg;
  bool removed = false;
  int rc = 0;
  while (l->n > 1 && l->segs[0].no < seg) {
    char name[20];
    vg_reclog_seg_name(l->f, l->segs[0].no, name);
    if (unlinkat(l->dirfd, name, 0) != 0 && errno != ENOENT) {
      rc = -errno;
      break;
    }
    removed = true;
    memmove(l->segs, l->segs + 1, (l->n - 1) * sizeof *l->segs);
    l->n--;
  }
  if (removed && fsync(l->dirfd) != 0 && rc == 0) rc = -errno;
  return rc;
}

void vg_reclog_discard_from(struct vg_reclog *l, uint64_t lsn) {
  uint32_t seg = VG_RECLOG_LSN_SEG(lsn);
  if (seg > l->seg) return;
  uint64_t off = seg == l->seg ? VG_RECLOG_LSN_OFF(lsn) : VG_RECLOG_HEADER_SIZE;
  if (off < VG_RECLOG_HEADER_SIZE) off = VG_RECLOG_HEADER_SIZE;
  if (off >= l->written) {
    if (off - l->written < l->buf.len) l->buf.len = (size_t)(off - l->written);
    return;
  }
  /* Already with the kernel: cut from the file now, or by the recovery (which never
   * keeps more than `written`). */
  vg_buf_reset(&l->buf);
  l->written = off;
  if (l->synced > VG_RECLOG_LSN(l->seg, off)) l->synced = VG_RECLOG_LSN(l->seg, off);
  if (!l->err && ftruncate(l->fd, (off_t)off) != 0) (void)fail(l, -errno, "ftruncate");
}

/* ---- recovery after a failure ---- */

/* Reopens the current segment, keeps its good records up to `written`, writes the
 * buffer again and syncs. 0 or -errno; the log stays failed on error. */
static int repair(struct vg_reclog *l) {
  char name[20];
  vg_reclog_seg_name(l->f, l->seg, name);
  if (l->fd >= 0) close(l->fd);
  l->fd = openat(l->dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC, l->mode & 0666);
  if (l->fd < 0) return -errno;
  l->dir_dirty = true; /* the file may be new, or its entry not yet durable */
  /* What the kernel took since the last sync is read back and checked: after a failed
   * fdatasync the page cache is not to be trusted. */
  uint64_t from = VG_RECLOG_LSN_SEG(l->synced) == l->seg ? VG_RECLOG_LSN_OFF(l->synced) : 0;
  if (from > l->written) from = l->written;
  struct stat st;
  if (fstat(l->fd, &st) != 0) return -errno;
  uint64_t have = (uint64_t)st.st_size < l->written ? (uint64_t)st.st_size : l->written;
  uint64_t good = from;
  if (have > from) {
    size_t n = (size_t)(have - from);
    uint8_t *p = vg_malloc(n);
    int rc = vg_pread_all(l->fd, p, n, (off_t)from);
    struct vg_reclog_scan_result r;
    if (rc == 0 && from == 0) {
      vg_reclog_scan(l->f, p, n, l->seg, NULL, NULL, &r);
      good = r.good_len;
    } else if (rc == 0) {
      memset(&r, 0, sizeof r);
      scan_records(l->f, p, n, (size_t)from, l->seg, NULL, NULL, &r);
      good = r.good_len;
    }
    free(p);
    if (rc != 0) return rc;
  }
  if (good < l->written) {
    VG_WARN("log records lost at recovery", VF_S("log", l->f->name), VF_S("dir", l->dir),
            VF_S("segment", name), VF_I("offset", good), VF_I("bytes", l->written - good));
    if (good < VG_RECLOG_HEADER_SIZE) {
      /* the header itself is gone: the buffered records follow a new one */
      struct vg_buf keep = l->buf;
      vg_buf_init(&l->buf);
      buffer_header(l);
      vg_buf_append(&l->buf, keep.data, keep.len);
      vg_buf_free(&keep);
      good = 0;
    }
  }
  if (ftruncate(l->fd, (off_t)good) != 0) return -errno;
  l->written = good;
  /* Room for what is buffered and a little more, or the disk is still full: a log that
   * declared itself well with nothing to write would fail again at the next write. */
  if (fallocate(l->fd, FALLOC_FL_KEEP_SIZE, (off_t)good, (off_t)(l->buf.len + 4096)) != 0 &&
      errno != EOPNOTSUPP && errno != ENOSYS)
    return -errno;
  if (l->synced > VG_RECLOG_LSN(l->seg, good)) l->synced = VG_RECLOG_LSN(l->seg, good);
  if (l->buf.len) {
    int rc = vg_pwrite_all(l->fd, l->buf.data, l->buf.len, (off_t)l->written);
    if (rc != 0) {
      if (ftruncate(l->fd, (off_t)l->written) != 0) { /* recovery cuts it next time */ }
      return rc;
    }
    l->written += l->buf.len;
    vg_buf_reset(&l->buf);
  }
  if (fdatasync(l->fd) != 0 || fsync(l->dirfd) != 0) return -errno;
  l->dir_dirty = false;
  l->synced = VG_RECLOG_LSN(l->seg, l->written);
  return 0;
}

int vg_reclog_recover(struct vg_reclog *l, bool force) {
  if (!l->err) return 0;
  uint64_t now = vg_now_ms();
  if (!force && now < l->next_try_ms) return l->err;
  l->next_try_ms = now + l->retry_ms;
  int rc = repair(l);
  if (rc != 0) return l->err;
  VG_WARN("log recovered; writes resume", VF_S("log", l->f->name), VF_S("dir", l->dir),
          VF_I("failed_ms", now - l->err_since_ms), VF_S("error", strerror(-l->err)));
  l->err = 0;
  l->recoveries++;
  return 0;
}

int vg_reclog_error(const struct vg_reclog *l, uint64_t *since_ms) {
  if (since_ms) *since_ms = l->err ? l->err_since_ms : 0;
  return l->err;
}
uint64_t vg_reclog_recoveries(const struct vg_reclog *l) { return l->recoveries; }
uint64_t vg_reclog_synced_lsn(const struct vg_reclog *l) { return l->synced; }
uint64_t vg_reclog_next_lsn(const struct vg_reclog *l) {
  return VG_RECLOG_LSN(l->seg, l->written + l->buf.len);
}
uint32_t vg_reclog_current_segment(const struct vg_reclog *l) { return l->seg; }
uint32_t vg_reclog_first_segment(const struct vg_reclog *l) { return l->n ? l->segs[0].no : l->seg; }
bool vg_reclog_dirty(const struct vg_reclog *l) {
  return l->buf.len != 0 || l->synced != VG_RECLOG_LSN(l->seg, l->written) || l->dir_dirty;
}
int vg_reclog_dirfd(const struct vg_reclog *l) { return l->dirfd; }
int vg_reclog_dup_fd(const struct vg_reclog *l) {
  if (l->fd < 0) return -EBADF;
  int fd = fcntl(l->fd, F_DUPFD_CLOEXEC, 0);
  return fd < 0 ? -errno : fd;
}

const struct vg_reclog_seg *vg_reclog_segments(struct vg_reclog *l, size_t *n) {
  if (l->n) l->segs[l->n - 1].size = l->written + l->buf.len;
  *n = l->n;
  return l->segs;
}

/* ---- open and close ---- */
struct seg_scan {
  int rc; /* callback's value or negative errno */
  struct vg_reclog_scan_result res;
  uint64_t size;
};

static void scan_file(const struct vg_reclog *l, int fd, uint32_t seg, vg_reclog_record_fn fn,
                      void *arg, struct seg_scan *s) {
  struct stat st;
  memset(s, 0, sizeof *s);
  if (fstat(fd, &st) != 0) {
    s->rc = -errno;
    return;
  }
  s->size = (uint64_t)st.st_size;
  if (st.st_size == 0) {
    s->rc = vg_reclog_scan(l->f, "", 0, seg, fn, arg, &s->res);
    return;
  }
  void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (m == MAP_FAILED) {
    s->rc = -errno;
    return;
  }
  s->rc = vg_reclog_scan(l->f, m, (size_t)st.st_size, seg, fn, arg, &s->res);
  munmap(m, (size_t)st.st_size);
}

static void close_all(struct vg_reclog *l) {
  if (l->fd >= 0) close(l->fd);
  if (l->lockfd >= 0) close(l->lockfd);
  if (l->dirfd >= 0) close(l->dirfd);
  vg_buf_free(&l->buf);
  free(l->segs);
  free(l->dir);
  free(l);
}

/* Recovers the segments named in v[0..n) (see reclog.h); the last survivor becomes
 * the current segment. */
static int recover_all(struct vg_reclog *l, const uint32_t *v, size_t n, uint32_t first_wanted,
                       vg_reclog_record_fn fn, void *arg, char *err, size_t errlen) {
  const char *what = l->f->name;
  for (size_t i = 0; i < n; i++) {
    char name[20];
    vg_reclog_seg_name(l->f, v[i], name);
    bool last = i + 1 == n;
    if (v[i] < first_wanted) {
      if (unlinkat(l->dirfd, name, 0) != 0 && errno != ENOENT) {
        snprintf(err, errlen, "%s: cannot remove %s/%s: %s", what, l->dir, name, strerror(errno));
        return -errno;
      }
      continue;
    }
    if (!l->lenient && i > 0 && v[i] != v[i - 1] + 1) {
      snprintf(err, errlen, "%s: %s/%s: segments %08x..%08x are missing", what, l->dir, name,
               v[i - 1] + 1, v[i] - 1);
      return -EBADMSG;
    }
    bool writable = last || l->lenient;
    int fd = openat(l->dirfd, name, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
      int rc = -errno;
      snprintf(err, errlen, "%s: cannot open %s/%s: %s", what, l->dir, name, strerror(errno));
      return rc;
    }
    struct seg_scan s;
    scan_file(l, fd, v[i], fn, arg, &s);
    if (s.rc != 0) {
      close(fd);
      if (s.rc < 0)
        snprintf(err, errlen, "%s: cannot read %s/%s: %s", what, l->dir, name, strerror(-s.rc));
      else
        snprintf(err, errlen, "%s: replay stopped by the caller in %s/%s", what, l->dir, name);
      return s.rc;
    }
    if (s.res.status != VG_RECLOG_SCAN_OK && !last && !l->lenient) {
      close(fd);
      snprintf(err, errlen, "%s: %s/%s: corrupt at offset %zu: %s", what, l->dir, name,
               s.res.good_len, s.res.why);
      return -EBADMSG;
    }
    if (s.res.status == VG_RECLOG_SCAN_BAD_HDR && l->lenient) {
      close(fd);
      VG_WARN("log segment with a bad header removed", VF_S("log", what), VF_S("dir", l->dir),
              VF_S("segment", name), VF_S("reason", s.res.why), VF_I("bytes", s.size));
      if (unlinkat(l->dirfd, name, 0) != 0 && errno != ENOENT) {
        int rc = -errno;
        snprintf(err, errlen, "%s: cannot remove %s/%s: %s", what, l->dir, name, strerror(errno));
        return rc;
      }
      continue;
    }
    if (s.res.status != VG_RECLOG_SCAN_OK) {
      char msg[48];
      snprintf(msg, sizeof msg, "%s torn tail truncated", what);
      VG_WARN(msg, VF_S("dir", l->dir), VF_S("segment", name), VF_I("offset", s.res.good_len),
              VF_I("dropped", s.size - s.res.good_len), VF_S("reason", s.res.why));
      if (ftruncate(fd, (off_t)s.res.good_len) != 0 || fsync(fd) != 0) {
        int rc = -errno;
        snprintf(err, errlen, "%s: cannot truncate %s/%s: %s", what, l->dir, name,
                 strerror(errno));
        close(fd);
        return rc;
      }
    }
    if (s.res.good_len == 0) { /* a strict log's last segment, its header torn */
      close(fd);
      if (l->fd >= 0) close(l->fd);
      l->fd = -1;
      (void)start_segment(l, v[i]); /* on failure the log opens failed, as above */
      continue;
    }
    push_seg(l, v[i], s.res.good_len);
    if (l->fd >= 0) close(l->fd);
    l->fd = fd;
    l->seg = v[i];
    l->written = s.res.good_len;
  }
  if (l->fd < 0 && !l->err) {
    /* should this fail (a full disk), the log opens failed and makes it when it recovers */
    uint32_t next = n ? v[n - 1] + 1 : 1;
    if (next < first_wanted) next = first_wanted;
    if (next == 0) next = 1;
    (void)start_segment(l, next);
  }
  l->synced = VG_RECLOG_LSN(l->seg, l->written);
  return 0;
}

int vg_reclog_open(struct vg_reclog **out, const struct vg_reclog_format *f, const char *dir,
                   const struct vg_reclog_opts *o, vg_reclog_record_fn fn, void *arg, char *err,
                   size_t errlen) {
  *out = NULL;
  if (errlen) err[0] = '\0';
  static const struct vg_reclog_opts none;
  if (!o) o = &none;
  struct vg_reclog *l = vg_calloc(1, sizeof *l);
  l->f = f;
  l->dir = vg_strdup(dir);
  l->fd = l->lockfd = l->dirfd = -1;
  vg_buf_init(&l->buf);
  uint64_t s = o->segment_size ? o->segment_size : DEFAULT_SEGMENT_SIZE;
  if (s < VG_RECLOG_MIN_SEGMENT_SIZE) s = VG_RECLOG_MIN_SEGMENT_SIZE;
  if (s > VG_RECLOG_MAX_SEGMENT_SIZE) s = VG_RECLOG_MAX_SEGMENT_SIZE;
  l->seg_size = s;
  l->fit = o->fit;
  l->lenient = o->lenient;
  l->flush_at = o->flush_at ? o->flush_at : DEFAULT_FLUSH_AT;
  l->retry_ms = o->retry_ms ? o->retry_ms : DEFAULT_RETRY_MS;
  l->mode = o->mode ? o->mode : 0755;
  uint32_t *v = NULL;
  size_t n = 0;
  int rc = vg_mkdir_p(dir, l->mode);
  if (rc != 0) {
    snprintf(err, errlen, "%s: cannot create %s: %s", f->name, dir, strerror(-rc));
    goto fail;
  }
  l->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (l->dirfd < 0) {
    rc = -errno;
    snprintf(err, errlen, "%s: cannot open %s: %s", f->name, dir, strerror(errno));
    goto fail;
  }
  if (o->lockfile) {
    l->lockfd = openat(l->dirfd, o->lockfile, O_RDWR | O_CREAT | O_CLOEXEC, l->mode & 0666);
    rc = l->lockfd < 0 ? -errno : vg_lock_fd(l->lockfd);
  } else {
    rc = vg_lock_fd(l->dirfd);
  }
  if (rc != 0) {
    if (rc == -EBUSY)
      snprintf(err, errlen, "%s: %s is in use by another process", f->name, dir);
    else
      snprintf(err, errlen, "%s: cannot lock %s: %s", f->name, dir, strerror(-rc));
    goto fail;
  }
  if ((rc = list_segments(l, &v, &n)) != 0) {
    snprintf(err, errlen, "%s: cannot list %s: %s", f->name, dir, strerror(-rc));
    goto fail;
  }
  rc = recover_all(l, v, n, o->first_wanted, fn, arg, err, errlen);
  free(v);
  if (rc != 0) goto fail;
  *out = l;
  return 0;
fail:
  close_all(l);
  return rc;
}

int vg_reclog_close(struct vg_reclog **lp) {
  struct vg_reclog *l = *lp;
  if (!l) return 0;
  int rc = l->err ? l->err : flush_buf(l);
  close_all(l);
  *lp = NULL;
  return rc;
}
