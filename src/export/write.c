/* Writing generated files: atomic replacement, and the one YAML quoting rule we need. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export/export_int.h"

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* The rename is durable only once the directory entry is on disk too. */
static int fsync_parent(const char *path) {
  char *copy = vg_strdup(path);
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(copy);
  if (fd < 0) return -errno;
  int rc = fsync(fd) < 0 && errno != EINVAL ? -errno : 0;
  close(fd);
  return rc;
}

int ex_write_file(const char *path, const char *data, size_t len) {
  char *tmp = vg_asprintf("%s.tmp.%ld", path, (long)getpid());
  int rc = 0;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    rc = -errno;
    goto out;
  }
  rc = write_all(fd, data, len);
  if (rc == 0 && fsync(fd) < 0) rc = -errno;
  if (close(fd) < 0 && rc == 0) rc = -errno;
  if (rc == 0 && rename(tmp, path) < 0) rc = -errno;
  if (rc < 0) {
    unlink(tmp);
    goto out;
  }
  rc = fsync_parent(path);
out:
  free(tmp);
  return rc;
}

void ex__yaml_quote(struct vg_buf *b, const char *s) {
  vg_buf_putc(b, '\'');
  for (; *s; s++) {
    VG_ASSERT((unsigned char)*s >= 0x20);
    if (*s == '\'') vg_buf_putc(b, '\'');
    vg_buf_putc(b, *s);
  }
  vg_buf_putc(b, '\'');
}
