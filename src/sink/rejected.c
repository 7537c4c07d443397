/*
 * rejected.c — batches InfluxDB refused (4xx other than 408/429) are kept in
 * rejected.lp next to the spool, so an operator can see what was refused and why, fix
 * it and replay it (curl --data-binary @rejected.lp). Each batch is preceded by a
 * '#' line, which line protocol treats as a comment. One rotated file is kept.
 */
#include "core/file.h"
#include "sink/sink_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_REJECTED_BYTES (64 << 20)

void sink__reject_append(const char *path, const struct sink__reply *r, const char *batch,
                         size_t len, uint64_t points) {
  struct stat st;
  if (stat(path, &st) == 0 && st.st_size > MAX_REJECTED_BYTES) {
    char *old = vg_asprintf("%s.1", path);
    if (rename(path, old) != 0)
      VG_WARN("influx sink: cannot rotate the rejected file", VF_S("path", path),
              VF_S("error", strerror(errno)));
    free(old);
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    VG_ERROR("influx sink: cannot open the rejected file", VF_S("path", path),
             VF_S("error", strerror(errno)));
    return;
  }
  struct vg_buf b;
  vg_buf_init(&b);
  char when[VG_TIME_LEN];
  vg_rfc3339_format(vg_wall_ns(), 0, when, sizeof when);
  vg_buf_printf(&b, "# %s status=%ld points=%" PRIu64 " error=", when, r->status, points);
  /* The message on one line, so the comment stays one line. */
  for (const char *m = r->msg; *m; m++) vg_buf_putc(&b, *m == '\n' || *m == '\r' ? ' ' : *m);
  vg_buf_putc(&b, '\n');
  vg_buf_append(&b, batch, len);
  if (len && batch[len - 1] != '\n') vg_buf_putc(&b, '\n');
  int rc = vg_write_all(fd, b.data, b.len);
  if (rc < 0)
    VG_ERROR("influx sink: cannot write the rejected file", VF_S("path", path),
             VF_S("error", strerror(-rc)));
  close(fd);
  vg_buf_free(&b);
}
