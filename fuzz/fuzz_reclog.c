/*
 * libFuzzer target for core's record log as a writer: the input is a program of
 * operations (buffered and direct appends of fuzzed lengths, flushes, syncs, rotations,
 * marks and discards back to a mark, segment removal, close and reopen) run against a
 * real directory with small segments, strict or lenient, rotating by either rule.
 * After every reopen and at the end, the replay must be exactly the model's records
 * (tags and payloads, in order) — nothing lost, nothing discarded come back — and every
 * LSN must grow. The segment reader itself is fuzzed by fuzz_wal and fuzz_spool.
 */
#include "core/core.h"
#include "core/reclog.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct vg_reclog_format fmt = {
    .magic = "VGFZZ", .version = 1, .max_record = 4096, .suffix = ".fz", .name = "fuzzlog"};

#define MAXREC 4096

struct model {
  uint32_t tag[MAXREC];
  uint64_t lsn[MAXREC];
  size_t n;
  uint32_t first_seg; /* records of segments below were removed */
};

struct check {
  const struct model *m;
  size_t i, skipped;
  uint64_t prev;
};

static void fill(uint32_t tag, uint8_t *p, uint32_t len) {
  for (uint32_t k = 0; k < len; k++) p[k] = (uint8_t)(tag * 29 + k);
}
static uint32_t len_of(uint32_t tag, uint8_t b) { return (uint32_t)b * 7 % 700 + (tag & 1); }

static int on_record(void *arg, uint64_t lsn, uint32_t tag, const void *payload, uint32_t len) {
  struct check *c = arg;
  const struct model *m = c->m;
  /* records of removed segments are gone from the model's front */
  while (c->i < m->n && VG_RECLOG_LSN_SEG(m->lsn[c->i]) < m->first_seg) c->i++;
  VG_ASSERT(c->i < m->n);
  VG_ASSERT(tag == m->tag[c->i]);
  VG_ASSERT(c->i == 0 || lsn > c->prev);
  uint8_t want[1024];
  VG_ASSERT(len <= sizeof want);
  fill(tag, want, len);
  VG_ASSERT(memcmp(want, payload, len) == 0);
  c->prev = lsn;
  c->i++;
  return 0;
}

static char *dir;

static void clear_dir(void) {
  DIR *d = opendir(dir);
  VG_ASSERT(d != NULL);
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') {
      char *p = vg_asprintf("%s/%s", dir, e->d_name);
      unlink(p);
      free(p);
    }
  closedir(d);
}

static struct vg_reclog *reopen(const struct vg_reclog_opts *o, struct model *m) {
  struct vg_reclog *l;
  char err[256];
  struct check c = {.m = m};
  int rc = vg_reclog_open(&l, &fmt, dir, o, on_record, &c, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "open: %d %s\n", rc, err);
    VG_ASSERT(!"open failed");
  }
  while (c.i < m->n && VG_RECLOG_LSN_SEG(m->lsn[c.i]) < m->first_seg) c.i++;
  VG_ASSERT(c.i == m->n); /* every record came back */
  return l;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir) {
    vg_log_setup(VG_LOG_LOGFMT, VG_LOG_ERROR);
    const char *base = getenv("TMPDIR");
    dir = vg_asprintf("%s/vigil-fuzz-reclog-XXXXXX", base && *base ? base : "/tmp");
    VG_ASSERT(mkdtemp(dir) != NULL);
  }
  if (size < 1) return 0;
  clear_dir();
  static struct model m;
  memset(&m, 0, sizeof m);
  struct vg_reclog_opts o = {.segment_size = 4096, .fit = data[0] & 1, .lenient = data[0] & 2,
                             .flush_at = 512};
  struct vg_reclog *l = reopen(&o, &m);
  uint64_t mark = vg_reclog_next_lsn(l);
  uint32_t next_tag = 1;
  uint8_t payload[1024];
  for (size_t i = 1; i < size && m.n < MAXREC - 1; i++) {
    uint8_t op = data[i] % 8, arg = i + 1 < size ? data[i + 1] : 0;
    switch (op) {
    case 0:
    case 1: { /* buffered or direct append */
      uint32_t tag = next_tag++, len = len_of(tag, arg);
      fill(tag, payload, len);
      uint64_t lsn;
      int rc = op == 0 ? vg_reclog_append(l, tag, payload, len, &lsn)
                       : vg_reclog_write(l, tag, payload, len, &lsn);
      VG_ASSERT(rc == 0);
      VG_ASSERT(m.n == 0 || lsn > m.lsn[m.n - 1]);
      m.tag[m.n] = tag;
      m.lsn[m.n++] = lsn;
      i++;
      break;
    }
    case 2:
      VG_ASSERT(vg_reclog_sync(l) == 0);
      VG_ASSERT(vg_reclog_synced_lsn(l) == vg_reclog_next_lsn(l));
      break;
    case 3:
      VG_ASSERT(vg_reclog_flush(l) == 0);
      break;
    case 4:
      VG_ASSERT(vg_reclog_rotate(l) == 0);
      break;
    case 5: { /* discard back to the mark */
      uint32_t cur = vg_reclog_current_segment(l);
      uint64_t from = VG_RECLOG_LSN_SEG(mark) == cur ? mark : VG_RECLOG_LSN(cur, 0);
      vg_reclog_discard_from(l, mark);
      while (m.n && m.lsn[m.n - 1] >= from) m.n--;
      VG_ASSERT(vg_reclog_error(l, NULL) == 0);
      break;
    }
    case 6:
      mark = vg_reclog_next_lsn(l);
      break;
    case 7:
      if (arg & 1) { /* remove what is before the current segment */
        uint32_t cur = vg_reclog_current_segment(l);
        VG_ASSERT(vg_reclog_remove_before(l, cur) == 0);
        m.first_seg = cur;
        VG_ASSERT(vg_reclog_first_segment(l) == cur);
      } else {
        VG_ASSERT(vg_reclog_close(&l) == 0);
        l = reopen(&o, &m);
        mark = vg_reclog_next_lsn(l);
      }
      i++;
      break;
    }
  }
  VG_ASSERT(vg_reclog_close(&l) == 0);
  l = reopen(&o, &m);
  vg_reclog_close(&l);
  return 0;
}
