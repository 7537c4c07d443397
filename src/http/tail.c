/* The last lines of a (possibly rotated) log file, read backwards from its end so the
 * cost is proportional to what is asked, not to the file's size. */
#include "http/http.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Appends the last n lines of path to out; returns how many lines it appended. */
static size_t tail_one(const char *path, size_t n, struct vg_buf *out) {
  if (n == 0) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_size == 0) {
    close(fd);
    return 0;
  }
  off_t size = st.st_size, scan = size, start = 0;
  char chunk[8192];
  /* the file's final newline ends its last line; it does not begin another */
  if (pread(fd, chunk, 1, size - 1) == 1 && chunk[0] == '\n') scan--;
  size_t found = 0;
  bool complete = false;
  while (scan > 0 && !complete) {
    size_t want = scan >= (off_t)sizeof chunk ? sizeof chunk : (size_t)scan;
    scan -= (off_t)want;
    if (pread(fd, chunk, want, scan) != (ssize_t)want) break;
    for (size_t i = want; i-- > 0;) {
      if (chunk[i] == '\n' && ++found == n) {
        start = scan + (off_t)i + 1;
        complete = true;
        break;
      }
    }
  }
  if (!complete) found++; /* the file's first line has no newline before it */
  size_t len = (size_t)(size - start);
  vg_buf_reserve(out, len);
  if (pread(fd, out->data + out->len, len, start) == (ssize_t)len) {
    out->len += len;
    out->data[out->len] = '\0';
  }
  close(fd);
  return found;
}

void api_tail_file(const char *path, size_t n, struct vg_buf *out) {
  struct vg_buf cur;
  vg_buf_init(&cur);
  size_t got = tail_one(path, n, &cur);
  if (got < n) {
    /* the rotated file holds the lines before the current file's first */
    char *prev = vg_asprintf("%s.1", path);
    tail_one(prev, n - got, out);
    free(prev);
  }
  if (cur.len) vg_buf_append(out, cur.data, cur.len);
  vg_buf_free(&cur);
}
