/*
 * quarantine — a bounded sample of the messages a feed refused, kept so that someone
 * can see what was wrong with them: the first `keep` of each reason, then one in every
 * 1000 (a new kind of damage later in the day still shows up), never more than
 * max_bytes in the file. One record per line:
 *
 *   2026-11-23T06:50:00.123Z reason=syntax error="1:5: missing field set" bytes=42 raw=m,t=v\x00
 *
 * The raw bytes are escaped (\\ \n \r \t \" and \xHH for anything else outside
 * printable ASCII) and cut at 4096 bytes. Only the feed's own thread writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "ingest/ingest.h"

#define RAW_MAX 4096

struct ingest_quarantine {
  FILE *f;
  size_t keep, max_bytes, size;
  uint64_t seen[INGEST_R_N];
  uint64_t written;
};

struct ingest_quarantine *ingest_quarantine_open(const char *path, size_t keep, size_t max_bytes) {
  struct ingest_quarantine *q = vg_calloc(1, sizeof *q);
  q->keep = keep ? keep : 100;
  q->max_bytes = max_bytes ? max_bytes : (size_t)16 << 20;
  if (path) {
    char *dir = vg_strdup(path), *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
      *slash = '\0';
      vg_mkdir_p(dir, 0750);
    }
    free(dir);
    q->f = fopen(path, "ae");
    if (!q->f) VG_WARN("cannot open the quarantine file", VF_S("path", path), VF_S("error", strerror(errno)));
    else {
      fseek(q->f, 0, SEEK_END);
      long at = ftell(q->f);
      q->size = at > 0 ? (size_t)at : 0;
    }
  }
  return q;
}

void ingest_quarantine_close(struct ingest_quarantine *q) {
  if (!q) return;
  if (q->f) fclose(q->f);
  free(q);
}

uint64_t ingest_quarantine_written(const struct ingest_quarantine *q) { return q->written; }

static void put_escaped(struct vg_buf *b, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = p[i];
    switch (c) {
    case '\\': vg_buf_puts(b, "\\\\"); break;
    case '\n': vg_buf_puts(b, "\\n"); break;
    case '\r': vg_buf_puts(b, "\\r"); break;
    case '\t': vg_buf_puts(b, "\\t"); break;
    case '"': vg_buf_puts(b, "\\\""); break;
    default:
      if (c < 0x20 || c >= 0x7f) vg_buf_printf(b, "\\x%02x", c);
      else vg_buf_putc(b, (char)c);
    }
  }
}

bool ingest_quarantine_add(struct ingest_quarantine *q, enum ingest_reason r, const char *msg,
                           const void *raw, size_t len) {
  uint64_t nth = q->seen[r]++;
  if (!q->f || (nth >= q->keep && (nth - q->keep) % 1000 != 999) || q->size >= q->max_bytes)
    return false;
  char when[VG_TIME_LEN];
  vg_rfc3339_format(vg_wall_ns(), 3, when, sizeof when);
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_printf(&b, "%s reason=%s error=\"", when, ingest_reason_name(r));
  put_escaped(&b, (const unsigned char *)msg, strlen(msg));
  vg_buf_printf(&b, "\" bytes=%zu raw=", len);
  put_escaped(&b, raw, len > RAW_MAX ? RAW_MAX : len);
  if (len > RAW_MAX) vg_buf_puts(&b, "...");
  vg_buf_putc(&b, '\n');
  bool ok = fwrite(b.data, 1, b.len, q->f) == b.len && fflush(q->f) == 0;
  q->size += b.len;
  vg_buf_free(&b);
  if (ok) q->written++;
  return ok;
}
