/*
 * file.c — durable writes, atomic replacement and lock files (file.h). One copy of each
 * mechanism, so that every file vigil writes gets the same care.
 */
#include "core/file.h"

#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int vg_write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (w == 0) return -EIO;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

int vg_pwrite_all(int fd, const void *p, size_t n, off_t off) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = pwrite(fd, c, n, off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (w == 0) return -EIO;
    c += w;
    n -= (size_t)w;
    off += w;
  }
  return 0;
}

int vg_pwritev_all(int fd, struct iovec *iov, int cnt, off_t off) {
  while (cnt > 0 && iov->iov_len == 0) {
    iov++;
    cnt--;
  }
  while (cnt > 0) {
    ssize_t r = pwritev(fd, iov, cnt, off);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    if (r == 0) return -EIO;
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

int vg_pread_all(int fd, void *p, size_t n, off_t off) {
  char *c = p;
  while (n > 0) {
    ssize_t r = pread(fd, c, n, off);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    if (r == 0) return -EIO;
    c += r;
    n -= (size_t)r;
    off += r;
  }
  return 0;
}

int vg_fsync_parent(const char *path) {
  char *copy = vg_strdup(path);
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(copy);
  if (fd < 0) return -errno;
  int rc = fsync(fd) < 0 && errno != EINVAL ? -errno : 0;
  close(fd);
  return rc;
}

int vg_tmpfile_open(struct vg_tmpfile *t, const char *path, unsigned mode) {
  t->path = vg_strdup(path);
  t->tmp = vg_asprintf("%s.XXXXXX.tmp", path);
  t->fd = mkostemps(t->tmp, 4, O_CLOEXEC);
  int rc = t->fd < 0 ? -errno : 0;
  /* mkostemps makes 0600; the caller's mode, as open(2) would give it */
  if (rc == 0 && fchmod(t->fd, (mode_t)mode) < 0) rc = -errno;
  if (rc < 0) vg_tmpfile_abort(t);
  return rc;
}

void vg_tmpfile_abort(struct vg_tmpfile *t) {
  if (t->fd >= 0) {
    close(t->fd);
    unlink(t->tmp);
  }
  t->fd = -1;
  vg_freep(&t->tmp);
  vg_freep(&t->path);
}

int vg_tmpfile_commit(struct vg_tmpfile *t) {
  int rc = fdatasync(t->fd) < 0 ? -errno : 0;
  if (close(t->fd) < 0 && rc == 0) rc = -errno;
  t->fd = -1;
  if (rc == 0 && rename(t->tmp, t->path) < 0) rc = -errno;
  if (rc < 0) unlink(t->tmp);
  else rc = vg_fsync_parent(t->path);
  vg_freep(&t->tmp);
  vg_freep(&t->path);
  return rc;
}

int vg_replace_file(const char *path, const void *data, size_t len, unsigned mode) {
  struct vg_tmpfile t;
  int rc = vg_tmpfile_open(&t, path, mode);
  if (rc < 0) return rc;
  rc = vg_write_all(t.fd, data, len);
  if (rc < 0) {
    vg_tmpfile_abort(&t);
    return rc;
  }
  return vg_tmpfile_commit(&t);
}

int vg_replace_file_nosync(const char *path, const void *data, size_t len, unsigned mode) {
  struct vg_tmpfile t;
  int rc = vg_tmpfile_open(&t, path, mode);
  if (rc < 0) return rc;
  rc = vg_write_all(t.fd, data, len);
  if (close(t.fd) < 0 && rc == 0) rc = -errno;
  t.fd = -1;
  if (rc == 0 && rename(t.tmp, t.path) < 0) rc = -errno;
  if (rc < 0) unlink(t.tmp);
  vg_freep(&t.tmp);
  vg_freep(&t.path);
  return rc;
}

int vg_lock_fd(int fd) {
  while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    if (errno == EINTR) continue;
    return errno == EWOULDBLOCK ? -EBUSY : -errno;
  }
  return 0;
}

int vg_lockfile(const char *path, unsigned mode) {
  int fd = open(path, O_RDWR | O_CLOEXEC | (mode ? O_CREAT : 0), (mode_t)mode);
  if (fd < 0) return -errno;
  int rc = vg_lock_fd(fd);
  if (rc < 0) {
    close(fd);
    return rc;
  }
  return fd;
}
