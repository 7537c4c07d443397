/* Unit tests of the tsdb write-ahead log: round trips across segments, the sync
 * policies, truncation at every byte, corruption, bounded lengths, removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "../helpers/test_files.h"
#include "tsdb/wal.h"

/* ---- helpers ---- */
static char *seg_path(const char *dir, uint32_t seg) {
  return vg_asprintf("%s/%08x.wal", dir, seg);
}

static long file_size(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return (long)st.st_size;
}

/* Records seen by a replay. */
struct seen {
  size_t n;
  uint64_t lsn[4096];
  uint32_t type[4096];
  uint32_t len[4096];
  bool content_ok;
};

/* Payload of record i: length i*7 % 150, bytes derived from i. */
static uint32_t rec_len(uint32_t i) { return (i * 7) % 150; }
static void rec_fill(uint32_t i, uint8_t *p) {
  for (uint32_t k = 0; k < rec_len(i); k++) p[k] = (uint8_t)(i * 31 + k);
}

static int collect(void *arg, uint64_t lsn, uint32_t type, const void *payload, uint32_t len) {
  struct seen *s = arg;
  assert_true(s->n < 4096);
  s->lsn[s->n] = lsn;
  s->type[s->n] = type;
  s->len[s->n] = len;
  uint8_t want[200];
  rec_fill(type, want);
  if (len != rec_len(type) || memcmp(want, payload, len) != 0) s->content_ok = false;
  s->n++;
  return 0;
}

static void seen_init(struct seen *s) {
  memset(s, 0, sizeof *s);
  s->content_ok = true;
}

static const struct tsdb__wal_opts small_segments = {
    .policy = TSDB__WAL_SYNC_EVERY, .segment_size = 4096};

/* Writes records [from, to) with type = index; stores their LSNs in lsns. */
static void append_range(struct tsdb__wal *w, uint32_t from, uint32_t to, uint64_t *lsns) {
  uint8_t p[200];
  for (uint32_t i = from; i < to; i++) {
    rec_fill(i, p);
    uint64_t lsn;
    assert_int_equal(tsdb__wal_append(w, i, p, rec_len(i), &lsn), 0);
    if (lsns) lsns[i] = lsn;
  }
}

static struct tsdb__wal *open_ok(const char *dir, const struct tsdb__wal_opts *o,
                                 struct seen *s) {
  struct tsdb__wal *w;
  char err[256];
  if (s) seen_init(s);
  int rc = tsdb__wal_open(&w, dir, o, s ? collect : NULL, s, err, sizeof err);
  if (rc != 0) fail_msg("open: %d %s", rc, err);
  return w;
}

/* ---- tests ---- */
static void round_trip_across_segments(void **state) {
  char *dir = test_tmpdir("wal");
  char *sub = vg_asprintf("%s/a/wal", dir); /* open creates the directory */
  static uint64_t lsns[600];
  struct tsdb__wal *w = open_ok(sub, &small_segments, NULL);
  append_range(w, 0, 300, lsns);
  assert_int_equal(tsdb__wal_commit(w), 0);
  append_range(w, 300, 600, lsns);
  assert_int_equal(tsdb__wal_commit(w), 0);
  assert_true(tsdb__wal_current_segment(w) >= 4);
  for (int i = 1; i < 600; i++) assert_true(lsns[i] > lsns[i - 1]);
  assert_int_equal(tsdb__wal_close(&w), 0);
  assert_null(w);

  static struct seen s;
  w = open_ok(sub, &small_segments, &s);
  assert_int_equal(s.n, 600);
  assert_true(s.content_ok);
  for (uint32_t i = 0; i < 600; i++) {
    assert_int_equal(s.type[i], i);
    assert_int_equal(s.lsn[i], lsns[i]);
  }
  /* Appending continues after the replayed records. */
  append_range(w, 600, 610, NULL);
  assert_int_equal(tsdb__wal_close(&w), 0);
  w = open_ok(sub, &small_segments, &s);
  assert_int_equal(s.n, 610);
  assert_true(s.content_ok);
  tsdb__wal_close(&w);
  free(sub);
  test_rm_rf(&dir);
}

static void sync_policies(void **state) {
  char *dir = test_tmpdir("wal");
  struct tsdb__wal_opts o = {.policy = TSDB__WAL_SYNC_EVERY};
  struct tsdb__wal *w = open_ok(dir, &o, NULL);
  append_range(w, 0, 10, NULL);
  assert_true(tsdb__wal_synced_lsn(w) < tsdb__wal_next_lsn(w));
  assert_int_equal(tsdb__wal_commit(w), 0);
  assert_int_equal(tsdb__wal_synced_lsn(w), tsdb__wal_next_lsn(w));
  tsdb__wal_close(&w);

  o.policy = TSDB__WAL_SYNC_NEVER;
  w = open_ok(dir, &o, NULL);
  append_range(w, 10, 20, NULL);
  assert_int_equal(tsdb__wal_commit(w), 0);
  assert_true(tsdb__wal_synced_lsn(w) < tsdb__wal_next_lsn(w));
  assert_int_equal(tsdb__wal_maybe_sync(w, vg_now_ms() + 1000000), 0);
  assert_true(tsdb__wal_synced_lsn(w) < tsdb__wal_next_lsn(w));
  assert_int_equal(tsdb__wal_sync(w), 0);
  assert_int_equal(tsdb__wal_synced_lsn(w), tsdb__wal_next_lsn(w));
  tsdb__wal_close(&w);

  o.policy = TSDB__WAL_SYNC_INTERVAL;
  o.interval_ms = 60000;
  w = open_ok(dir, &o, NULL);
  uint64_t t0 = vg_now_ms();
  append_range(w, 20, 30, NULL);
  assert_int_equal(tsdb__wal_commit(w), 0); /* not due yet */
  assert_true(tsdb__wal_synced_lsn(w) < tsdb__wal_next_lsn(w));
  assert_int_equal(tsdb__wal_maybe_sync(w, t0 + 10), 0);
  assert_true(tsdb__wal_synced_lsn(w) < tsdb__wal_next_lsn(w));
  assert_int_equal(tsdb__wal_maybe_sync(w, t0 + 60001), 0);
  assert_int_equal(tsdb__wal_synced_lsn(w), tsdb__wal_next_lsn(w));
  tsdb__wal_close(&w);

  static struct seen s;
  w = open_ok(dir, &o, &s);
  assert_int_equal(s.n, 30);
  assert_true(s.content_ok);
  tsdb__wal_close(&w);
  test_rm_rf(&dir);
}

/* Cuts a one-segment log at every byte: replay yields exactly the records
 * wholly before the cut, the file is truncated to them, and appending resumes. */
static void torn_tail_at_every_byte(void **state) {
  char *src = test_tmpdir("wal");
  enum { N = 8 };
  uint64_t lsns[N + 1];
  struct tsdb__wal *w = open_ok(src, NULL, NULL);
  append_range(w, 1, N + 1, lsns);
  assert_int_equal(tsdb__wal_sync(w), 0);
  uint64_t end = tsdb__wal_next_lsn(w);
  tsdb__wal_close(&w);
  char *p = seg_path(src, 1);
  struct vg_buf img;
  vg_buf_init(&img);
  test_read_file(p, &img);
  free(p);
  assert_int_equal(img.len, TSDB__WAL_LSN_OFF(end));

  static struct seen s;
  char *dir = test_tmpdir("wal");
  char *path = seg_path(dir, 1);
  for (size_t cut = 0; cut <= img.len; cut++) {
    test_write_file(path, img.data, cut);
    size_t want = 0, good = TSDB__WAL_HEADER_SIZE;
    for (uint32_t i = 1; i <= N; i++) {
      size_t rec_end = TSDB__WAL_LSN_OFF(lsns[i]) + TSDB__WAL_RECORD_OVERHEAD + rec_len(i);
      if (rec_end <= cut) {
        want = i;
        good = rec_end;
      }
    }
    w = open_ok(dir, NULL, &s);
    assert_int_equal(s.n, want);
    assert_true(s.content_ok);
    assert_int_equal(file_size(path), good);
    assert_int_equal(tsdb__wal_next_lsn(w), TSDB__WAL_LSN(1, good));
    /* The repaired log takes a new record and replays it. */
    uint8_t q[200];
    rec_fill((uint32_t)want + 1, q);
    assert_int_equal(tsdb__wal_append(w, (uint32_t)want + 1, q, rec_len((uint32_t)want + 1), NULL), 0);
    assert_int_equal(tsdb__wal_close(&w), 0);
    w = open_ok(dir, NULL, &s);
    assert_int_equal(s.n, want + 1);
    assert_true(s.content_ok);
    tsdb__wal_close(&w);
  }
  free(path);
  vg_buf_free(&img);
  test_rm_rf(&dir);
  test_rm_rf(&src);
}

/* A crash while creating the next segment leaves it empty or with part of its
 * header: the records before it all replay and the segment is reused. */
static void partial_header_of_new_segment(void **state) {
  char *dir = test_tmpdir("wal");
  struct tsdb__wal *w = open_ok(dir, &small_segments, NULL);
  append_range(w, 0, 100, NULL);
  assert_int_equal(tsdb__wal_commit(w), 0);
  uint32_t last = tsdb__wal_current_segment(w);
  tsdb__wal_close(&w);
  char *next = seg_path(dir, last + 1);
  static const char junk[TSDB__WAL_HEADER_SIZE] = "VGWAL\x01\x00\x00garbage";
  for (size_t n = 0; n <= TSDB__WAL_HEADER_SIZE; n++) {
    test_write_file(next, junk, n);
    static struct seen s;
    w = open_ok(dir, &small_segments, &s);
    assert_int_equal(s.n, 100);
    assert_int_equal(tsdb__wal_current_segment(w), last + 1);
    assert_int_equal(file_size(next), TSDB__WAL_HEADER_SIZE);
    tsdb__wal_close(&w);
  }
  free(next);
  test_rm_rf(&dir);
}

static void flip_byte(const char *path, long off) {
  struct vg_buf b;
  vg_buf_init(&b);
  test_read_file(path, &b);
  assert_true(off < (long)b.len);
  b.data[off] ^= 0x40;
  test_write_file(path, b.data, b.len);
  vg_buf_free(&b);
}

static void corruption_in_older_segment_is_reported(void **state) {
  char *dir = test_tmpdir("wal");
  static uint64_t lsns[200];
  struct tsdb__wal *w = open_ok(dir, &small_segments, NULL);
  append_range(w, 0, 200, lsns);
  tsdb__wal_close(&w);
  /* A middle record of segment 1, and one in its header. */
  int mid = 10;
  assert_int_equal(TSDB__WAL_LSN_SEG(lsns[mid + 20]), 1);
  char *p1 = seg_path(dir, 1);
  flip_byte(p1, (long)TSDB__WAL_LSN_OFF(lsns[mid]) + 9);
  struct tsdb__wal *w2;
  char err[256];
  static struct seen s;
  seen_init(&s);
  assert_int_equal(tsdb__wal_open(&w2, dir, &small_segments, collect, &s, err, sizeof err),
                   -EBADMSG);
  assert_null(w2);
  assert_int_equal(s.n, mid); /* the good records before it were seen, none after */
  char want[64];
  snprintf(want, sizeof want, "corrupt at offset %u", TSDB__WAL_LSN_OFF(lsns[mid]));
  assert_non_null(strstr(err, "00000001.wal"));
  assert_non_null(strstr(err, want));
  /* Nothing was truncated. */
  flip_byte(p1, (long)TSDB__WAL_LSN_OFF(lsns[mid]) + 9);
  w = open_ok(dir, &small_segments, &s);
  assert_int_equal(s.n, 200);
  tsdb__wal_close(&w);

  flip_byte(p1, 3);
  assert_int_equal(tsdb__wal_open(&w2, dir, &small_segments, NULL, NULL, err, sizeof err),
                   -EBADMSG);
  assert_non_null(strstr(err, "offset 0"));
  free(p1);
  test_rm_rf(&dir);
}

static void flipped_last_record_is_torn_tail(void **state) {
  char *dir = test_tmpdir("wal");
  static uint64_t lsns[200];
  struct tsdb__wal *w = open_ok(dir, &small_segments, NULL);
  append_range(w, 0, 200, lsns);
  tsdb__wal_close(&w);
  uint32_t seg = TSDB__WAL_LSN_SEG(lsns[199]);
  assert_true(seg > 1);
  char *p = seg_path(dir, seg);
  flip_byte(p, (long)TSDB__WAL_LSN_OFF(lsns[199]) + 10);
  static struct seen s;
  w = open_ok(dir, &small_segments, &s);
  assert_int_equal(s.n, 199);
  assert_true(s.content_ok);
  assert_int_equal(file_size(p), TSDB__WAL_LSN_OFF(lsns[199]));
  tsdb__wal_close(&w);
  free(p);
  test_rm_rf(&dir);
}

static void set_len(const char *path, long off, uint32_t v) {
  struct vg_buf b;
  vg_buf_init(&b);
  test_read_file(path, &b);
  for (int i = 0; i < 4; i++) b.data[off + i] = (char)(v >> (8 * i));
  test_write_file(path, b.data, b.len);
  vg_buf_free(&b);
}

static void huge_length_is_rejected(void **state) {
  /* In memory: a length past the limit stops the scan; nothing is allocated for it
   * (under ASan a 4 GiB allocation would fail loudly). */
  char *dir = test_tmpdir("wal");
  struct tsdb__wal *w = open_ok(dir, &small_segments, NULL);
  uint8_t big[3000] = {0};
  for (int i = 0; i < 3; i++)
    assert_int_equal(tsdb__wal_append(w, 0, big, sizeof big, NULL), 0);
  assert_int_equal(tsdb__wal_current_segment(w), 2);
  tsdb__wal_close(&w);
  char *p1 = seg_path(dir, 1), *p2 = seg_path(dir, 2);
  struct vg_buf b;
  vg_buf_init(&b);
  test_read_file(p1, &b);
  for (int i = 0; i < 4; i++) b.data[TSDB__WAL_HEADER_SIZE + i] = (char)0xff;
  struct tsdb__wal_scan_result r;
  assert_int_equal(tsdb__wal_scan(b.data, b.len, 1, NULL, NULL, &r), 0);
  assert_int_equal(r.status, TSDB__WAL_SCAN_TORN);
  assert_int_equal(r.good_len, TSDB__WAL_HEADER_SIZE);
  assert_non_null(strstr(r.why, "exceeds limit"));
  vg_buf_free(&b);

  /* Just over the limit in an older segment: corruption. */
  set_len(p1, TSDB__WAL_HEADER_SIZE, TSDB__WAL_MAX_RECORD + 1);
  char err[256];
  struct tsdb__wal *w2;
  assert_int_equal(tsdb__wal_open(&w2, dir, &small_segments, NULL, NULL, err, sizeof err),
                   -EBADMSG);
  assert_non_null(strstr(err, "00000001.wal"));
  assert_non_null(strstr(err, "exceeds limit"));
  /* In the last segment: a torn tail, truncated to the header. */
  set_len(p2, TSDB__WAL_HEADER_SIZE, 0xffffffffu);
  set_len(p1, TSDB__WAL_HEADER_SIZE, sizeof big);
  static struct seen s;
  seen_init(&s);
  assert_int_equal(tsdb__wal_open(&w2, dir, &small_segments, NULL, NULL, err, sizeof err), 0);
  tsdb__wal_close(&w2);
  assert_int_equal(file_size(p2), TSDB__WAL_HEADER_SIZE);
  free(p1);
  free(p2);
  test_rm_rf(&dir);
}

static void truncate_before_and_gaps(void **state) {
  char *dir = test_tmpdir("wal");
  static uint64_t lsns[400];
  struct tsdb__wal *w = open_ok(dir, &small_segments, NULL);
  append_range(w, 0, 400, lsns);
  assert_int_equal(tsdb__wal_sync(w), 0);
  uint32_t cur = tsdb__wal_current_segment(w);
  assert_true(cur >= 5);
  assert_int_equal(tsdb__wal_truncate_before(w, 3), 0);
  assert_int_equal(tsdb__wal_first_segment(w), 3);
  assert_int_equal(tsdb__wal_truncate_before(w, 1000), 0); /* never the current one */
  assert_int_equal(tsdb__wal_first_segment(w), cur);
  tsdb__wal_close(&w);
  static struct seen s;
  w = open_ok(dir, &small_segments, &s);
  assert_true(s.n > 0);
  assert_int_equal(TSDB__WAL_LSN_SEG(s.lsn[0]), cur);
  assert_int_equal(s.lsn[s.n - 1], lsns[399]);
  /* Another process cannot open a log in use. */
  struct tsdb__wal *w2;
  char err[256];
  assert_int_equal(tsdb__wal_open(&w2, dir, &small_segments, NULL, NULL, err, sizeof err),
                   -EBUSY);
  append_range(w, 0, 200, NULL);
  assert_int_equal(tsdb__wal_sync(w), 0);
  uint32_t last = tsdb__wal_current_segment(w);
  tsdb__wal_close(&w);
  assert_true(last >= cur + 2);
  char *mid = seg_path(dir, cur + 1);
  assert_int_equal(unlink(mid), 0);
  assert_int_equal(tsdb__wal_open(&w2, dir, &small_segments, NULL, NULL, err, sizeof err),
                   -EBADMSG);
  assert_non_null(strstr(err, "missing"));
  free(mid);
  test_rm_rf(&dir);
}

static int stop_at_3(void *arg, uint64_t lsn, uint32_t type, const void *p, uint32_t len) {
  int *n = arg;
  return ++*n == 3 ? 42 : 0;
}

static void replay_stops_when_the_callback_says(void **state) {
  char *dir = test_tmpdir("wal");
  struct tsdb__wal *w = open_ok(dir, NULL, NULL);
  append_range(w, 0, 5, NULL);
  tsdb__wal_close(&w);
  char err[256];
  int n = 0;
  assert_int_equal(tsdb__wal_open(&w, dir, NULL, stop_at_3, &n, err, sizeof err), 42);
  assert_null(w);
  assert_int_equal(n, 3);
  w = open_ok(dir, NULL, NULL); /* the lock was released */
  tsdb__wal_close(&w);
  test_rm_rf(&dir);
}

int main(void) {
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip_across_segments),
      cmocka_unit_test(sync_policies),
      cmocka_unit_test(torn_tail_at_every_byte),
      cmocka_unit_test(partial_header_of_new_segment),
      cmocka_unit_test(corruption_in_older_segment_is_reported),
      cmocka_unit_test(flipped_last_record_is_torn_tail),
      cmocka_unit_test(huge_length_is_rejected),
      cmocka_unit_test(truncate_before_and_gaps),
      cmocka_unit_test(replay_stops_when_the_callback_says),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
