/*
 * Tests of the InfluxDB sink's spool: order and accounting, the head surviving a
 * reopen, recovery of a segment cut at every byte, the cap dropping the oldest
 * segments (and a dropped record that arrives after all), damage found after open,
 * a bad head file, and the lock against a second opener.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"
#include "sink/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir(void) {
  const char *base = getenv("TMPDIR");
  char *d = vg_asprintf("%s/vigil-spool-XXXXXX", base && *base ? base : "/tmp");
  assert_non_null(mkdtemp(d));
  return d;
}

static void rm_rf(const char *d) {
  char *cmd = vg_asprintf("rm -rf '%s'", d);
  assert_int_equal(system(cmd), 0);
  free(cmd);
}

static struct sink__spool *open_ok(const char *dir, uint64_t max) {
  struct sink__spool *sp;
  char err[256];
  int rc = sink__spool_open(&sp, dir, max, err, sizeof err);
  if (rc != 0) print_error("open: %s\n", err);
  assert_int_equal(rc, 0);
  return sp;
}

/* Record i: "m v=<i>i <i>\n" repeated so that it has `lines` lines. */
static void record(struct vg_buf *b, int i, int lines) {
  vg_buf_reset(b);
  for (int l = 0; l < lines; l++) vg_buf_printf(b, "m,k=%d v=%di %d\n", l, i, i);
}

static void append(struct sink__spool *sp, int i, int lines) {
  struct vg_buf b;
  vg_buf_init(&b);
  record(&b, i, lines);
  assert_int_equal(sink__spool_append(sp, b.data, (uint32_t)b.len, (uint32_t)lines), 0);
  vg_buf_free(&b);
}

/* Peeks, checks that it is record i with `lines` lines, pops. */
static void take(struct sink__spool *sp, int i, int lines) {
  struct vg_buf got, want;
  vg_buf_init(&got);
  vg_buf_init(&want);
  uint32_t pts;
  uint64_t id;
  assert_int_equal(sink__spool_peek(sp, &got, &pts, &id), 1);
  record(&want, i, lines);
  assert_int_equal(pts, lines);
  assert_int_equal(got.len, want.len);
  assert_memory_equal(got.data, want.data, want.len);
  assert_int_equal(sink__spool_pop(sp, id), 0);
  vg_buf_free(&got);
  vg_buf_free(&want);
}

static void expect_empty(struct sink__spool *sp) {
  struct vg_buf b;
  vg_buf_init(&b);
  uint32_t pts;
  uint64_t id;
  assert_int_equal(sink__spool_peek(sp, &b, &pts, &id), 0);
  assert_int_equal(sink__spool_points(sp), 0);
  assert_int_equal(sink__spool_bytes(sp), 0);
  vg_buf_free(&b);
}

static off_t file_size(const char *dir, const char *name) {
  char *p = vg_asprintf("%s/%s", dir, name);
  struct stat st;
  off_t size = stat(p, &st) == 0 ? st.st_size : -1;
  free(p);
  return size;
}

static void test_order_and_accounting(void **state) {
  char *dir = tmpdir();
  struct sink__spool *sp = open_ok(dir, 1 << 20);
  expect_empty(sp);
  for (int i = 0; i < 10; i++) append(sp, i, 3);
  assert_int_equal(sink__spool_points(sp), 30);
  uint64_t bytes = sink__spool_bytes(sp);
  assert_true(bytes > 0);
  assert_int_equal(sink__spool_disk_bytes(sp), bytes + SINK__SPOOL_HEADER_SIZE);
  for (int i = 0; i < 10; i++) take(sp, i, 3);
  expect_empty(sp);
  /* an empty spool is cut back to one segment header */
  assert_int_equal(sink__spool_disk_bytes(sp), SINK__SPOOL_HEADER_SIZE);
  assert_int_equal(file_size(dir, "00000001.spool"), SINK__SPOOL_HEADER_SIZE);
  append(sp, 42, 1);
  take(sp, 42, 1);
  assert_int_equal(sink__spool_dropped(sp), 0);
  sink__spool_close(&sp);
  assert_null(sp);
  rm_rf(dir);
  free(dir);
}

static void test_reopen_keeps_head(void **state) {
  char *dir = tmpdir();
  struct sink__spool *sp = open_ok(dir, 1 << 20);
  for (int i = 0; i < 5; i++) append(sp, i, 2);
  take(sp, 0, 2);
  take(sp, 1, 2);
  sink__spool_close(&sp);
  sp = open_ok(dir, 1 << 20);
  assert_int_equal(sink__spool_points(sp), 6);
  take(sp, 2, 2);
  append(sp, 5, 2);
  sink__spool_close(&sp);
  sp = open_ok(dir, 1 << 20);
  take(sp, 3, 2);
  take(sp, 4, 2);
  take(sp, 5, 2);
  expect_empty(sp);
  sink__spool_close(&sp);
  rm_rf(dir);
  free(dir);
}

static void test_bad_head_sends_again(void **state) {
  char *dir = tmpdir();
  struct sink__spool *sp = open_ok(dir, 1 << 20);
  for (int i = 0; i < 3; i++) append(sp, i, 1);
  take(sp, 0, 1);
  sink__spool_close(&sp);
  char *head = vg_asprintf("%s/head", dir);
  FILE *f = fopen(head, "r+b");
  assert_non_null(f);
  fputc('X', f);
  fclose(f);
  free(head);
  sp = open_ok(dir, 1 << 20);
  take(sp, 0, 1); /* at least once: the acknowledged record goes again */
  take(sp, 1, 1);
  take(sp, 2, 1);
  expect_empty(sp);
  sink__spool_close(&sp);
  rm_rf(dir);
  free(dir);
}

/* Writes img[0..len) as segment 1 of a fresh spool dir. */
static void write_image(const char *dir, const void *img, size_t len) {
  char *p = vg_asprintf("%s/00000001.spool", dir);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(img, 1, len, f), len);
  fclose(f);
  free(p);
}

static void test_cut_at_every_byte(void **state) {
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_ERROR); /* no torn-tail warnings */
  char *src = tmpdir();
  struct sink__spool *sp = open_ok(src, 1 << 20);
  size_t ends[4];
  ends[0] = SINK__SPOOL_HEADER_SIZE;
  for (int i = 0; i < 3; i++) {
    append(sp, i, i + 1);
    ends[i + 1] = (size_t)sink__spool_disk_bytes(sp);
  }
  sink__spool_close(&sp);
  struct vg_buf img;
  vg_buf_init(&img);
  char *p = vg_asprintf("%s/00000001.spool", src);
  FILE *f = fopen(p, "rb");
  assert_non_null(f);
  vg_buf_reserve(&img, ends[3] + 1);
  assert_int_equal(fread(img.data, 1, ends[3] + 1, f), ends[3]);
  fclose(f);
  free(p);

  for (size_t cut = 0; cut <= ends[3]; cut++) {
    char *dir = tmpdir();
    write_image(dir, img.data, cut);
    sp = open_ok(dir, 1 << 20);
    int whole = 0;
    while (whole < 3 && ends[whole + 1] <= cut) whole++;
    uint64_t want_points = (uint64_t)whole * (whole + 1) / 2;
    assert_int_equal(sink__spool_points(sp), want_points);
    for (int i = 0; i < whole; i++) take(sp, i, i + 1);
    expect_empty(sp);
    off_t size = file_size(dir, "00000001.spool");
    if (cut < SINK__SPOOL_HEADER_SIZE) assert_int_equal(size, -1); /* bad header: removed */
    else assert_int_equal(size, SINK__SPOOL_HEADER_SIZE);
    /* the recovered spool takes appends again */
    append(sp, 7, 1);
    take(sp, 7, 1);
    sink__spool_close(&sp);
    rm_rf(dir);
    free(dir);
  }
  vg_buf_free(&img);
  rm_rf(src);
  free(src);
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_INFO);
}

static void test_cap_drops_oldest(void **state) {
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_ERROR);
  char *dir = tmpdir();
  const uint64_t max = 64 << 10; /* segments of 8 KiB */
  struct sink__spool *sp = open_ok(dir, max);
  const int n = 200, lines = 40; /* ~700 bytes a record: 140 KiB in all */
  for (int i = 0; i < n; i++) {
    append(sp, i, lines);
    assert_true(sink__spool_disk_bytes(sp) <= max);
  }
  uint64_t dropped = sink__spool_dropped(sp);
  assert_true(dropped > 0);
  assert_int_equal(dropped % lines, 0);
  assert_int_equal(dropped + sink__spool_points(sp), (uint64_t)n * lines);
  /* what is left is the newest records, in order */
  int first = (int)(dropped / lines);
  for (int i = first; i < n; i++) take(sp, i, lines);
  expect_empty(sp);
  sink__spool_close(&sp);
  rm_rf(dir);
  free(dir);
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_INFO);
}

/* Fills the spool until the cap takes the segment of the peeked record 0. */
static uint64_t peek_then_overflow(struct sink__spool *sp, struct vg_buf *b, uint64_t *id) {
  append(sp, 0, 40);
  uint32_t pts;
  assert_int_equal(sink__spool_peek(sp, b, &pts, id), 1);
  assert_int_equal(pts, 40);
  int i = 1;
  while (sink__spool_dropped(sp) == 0) append(sp, i++, 40);
  return (uint64_t)i * 40;
}

static void test_in_flight_record_and_the_cap(void **state) {
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_ERROR);
  struct vg_buf b;
  vg_buf_init(&b);
  uint64_t id;
  /* removed from disk while on its way, then acknowledged: not dropped */
  char *dir = tmpdir();
  struct sink__spool *sp = open_ok(dir, 64 << 10);
  uint64_t total = peek_then_overflow(sp, &b, &id);
  uint64_t dropped = sink__spool_dropped(sp);
  assert_true(dropped > 0);
  assert_int_equal(sink__spool_pop(sp, id), 0);
  assert_int_equal(sink__spool_dropped(sp), dropped);
  assert_int_equal(dropped + 40 + sink__spool_points(sp), total);
  sink__spool_close(&sp);
  rm_rf(dir);
  free(dir);
  /* removed from disk while on its way, then failed: dropped after all */
  dir = tmpdir();
  sp = open_ok(dir, 64 << 10);
  total = peek_then_overflow(sp, &b, &id);
  dropped = sink__spool_dropped(sp);
  sink__spool_unpeek(sp, id);
  assert_int_equal(sink__spool_dropped(sp), dropped + 40);
  assert_int_equal(sink__spool_dropped(sp) + sink__spool_points(sp), total);
  sink__spool_close(&sp);
  rm_rf(dir);
  free(dir);
  /* failed while still on disk: stays first in line */
  dir = tmpdir();
  sp = open_ok(dir, 1 << 20);
  append(sp, 0, 2);
  append(sp, 1, 2);
  uint32_t pts;
  assert_int_equal(sink__spool_peek(sp, &b, &pts, &id), 1);
  sink__spool_unpeek(sp, id);
  take(sp, 0, 2);
  take(sp, 1, 2);
  assert_int_equal(sink__spool_dropped(sp), 0);
  sink__spool_close(&sp);
  rm_rf(dir);
  free(dir);
  vg_buf_free(&b);
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_INFO);
}

static void test_damage_after_open(void **state) {
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_ERROR);
  char *dir = tmpdir();
  struct sink__spool *sp = open_ok(dir, 1 << 20);
  append(sp, 0, 2);
  append(sp, 1, 3);
  char *p = vg_asprintf("%s/00000001.spool", dir);
  int fd = open(p, O_WRONLY);
  assert_true(fd >= 0);
  assert_int_equal(pwrite(fd, "#", 1, SINK__SPOOL_HEADER_SIZE + 8), 1);
  close(fd);
  free(p);
  expect_empty(sp);
  assert_int_equal(sink__spool_dropped(sp), 5);
  append(sp, 2, 1);
  take(sp, 2, 1);
  sink__spool_close(&sp);
  rm_rf(dir);
  free(dir);
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_INFO);
}

/* A full disk (the file size limit stands in for it, SIGXFSZ ignored): the append that
 * does not fit is refused and leaves nothing behind, and once there is room the next
 * append is kept at once, with no restart; a reopen finds exactly what was appended. */
static void test_full_disk(void **state) {
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_ERROR);
  char *dir = tmpdir();
  struct sink__spool *sp = open_ok(dir, 1 << 20);
  for (int i = 0; i < 3; i++) append(sp, i, 5);
  uint64_t disk = sink__spool_disk_bytes(sp);
  struct rlimit old, lim;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim = old;
  lim.rlim_cur = (rlim_t)disk + 100; /* less than a record of 200 lines */
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
  struct vg_buf b;
  vg_buf_init(&b);
  record(&b, 3, 200);
  for (int k = 0; k < 3; k++) {
    int rc = sink__spool_append(sp, b.data, (uint32_t)b.len, 200);
    assert_true(rc == -EFBIG || rc == -ENOSPC);
    assert_int_equal(sink__spool_points(sp), 15);
    assert_int_equal(sink__spool_disk_bytes(sp), disk);
    assert_int_equal(file_size(dir, "00000001.spool"), (off_t)disk);
  }
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, prev);
  append(sp, 4, 7);
  assert_int_equal(sink__spool_points(sp), 22);
  sink__spool_close(&sp);
  sp = open_ok(dir, 1 << 20);
  for (int i = 0; i < 3; i++) take(sp, i, 5);
  take(sp, 4, 7);
  expect_empty(sp);
  sink__spool_close(&sp);
  vg_buf_free(&b);
  rm_rf(dir);
  free(dir);
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_INFO);
}

static void test_lock(void **state) {
  char *dir = tmpdir();
  struct sink__spool *sp = open_ok(dir, 1 << 20), *again;
  char err[256];
  assert_int_equal(sink__spool_open(&again, dir, 1 << 20, err, sizeof err), -EBUSY);
  assert_null(again);
  assert_non_null(strstr(err, "in use by another process"));
  sink__spool_close(&sp);
  sp = open_ok(dir, 1 << 20);
  sink__spool_close(&sp);
  rm_rf(dir);
  free(dir);
}

static void test_scan_rejects(void **state) {
  struct sink__spool_scan_result r;
  assert_int_equal(sink__spool_scan("VGSPL", 5, 0, NULL, NULL, &r), 0);
  assert_int_equal(r.status, SINK__SPOOL_SCAN_BAD_HDR);
  assert_string_equal(r.why, "short header (5 bytes)");
  uint8_t h[16] = "VGWAL";
  assert_int_equal(sink__spool_scan(h, sizeof h, 0, NULL, NULL, &r), 0);
  assert_string_equal(r.why, "bad magic");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_order_and_accounting),
      cmocka_unit_test(test_reopen_keeps_head),
      cmocka_unit_test(test_bad_head_sends_again),
      cmocka_unit_test(test_cut_at_every_byte),
      cmocka_unit_test(test_cap_drops_oldest),
      cmocka_unit_test(test_in_flight_record_and_the_cap),
      cmocka_unit_test(test_damage_after_open),
      cmocka_unit_test(test_full_disk),
      cmocka_unit_test(test_lock),
      cmocka_unit_test(test_scan_rejects),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
