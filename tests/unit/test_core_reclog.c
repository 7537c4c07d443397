/* Unit tests of core's durability kit: the record log (round trips, rotation by both
 * rules, a segment cut at every byte in strict and lenient logs, corruption, removal,
 * discarded batches, recovery after a write that fails for lack of space — the file
 * size limit stands in for a full disk) and the file helpers (atomic replacement, lock
 * files, little-endian helpers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"
#include "../helpers/test_files.h"
#include "core/endian.h"
#include "core/file.h"
#include "core/reclog.h"

static const struct vg_reclog_format fmt = {
    .magic = "VGTST", .version = 3, .max_record = 1 << 16, .suffix = ".log", .name = "testlog"};

/* ---- helpers ---- */
static char *seg_path(const char *dir, uint32_t seg) { return vg_asprintf("%s/%08x.log", dir, seg); }
static long file_size(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) return -1;
  return (long)st.st_size;
}

/* Record i: tag i, payload of (i * 13) % 300 bytes derived from i. */
static uint32_t rec_len(uint32_t i) { return (i * 13) % 300; }
static void rec_fill(uint32_t i, uint8_t *p) {
  for (uint32_t k = 0; k < rec_len(i); k++) p[k] = (uint8_t)(i * 17 + k);
}

struct seen {
  size_t n;
  uint32_t tag[8192];
  uint64_t lsn[8192];
  bool ok;
};
static int collect(void *arg, uint64_t lsn, uint32_t tag, const void *payload, uint32_t len) {
  struct seen *s = arg;
  assert_true(s->n < 8192);
  uint8_t want[300];
  rec_fill(tag, want);
  if (len != rec_len(tag) || memcmp(want, payload, len) != 0) s->ok = false;
  s->tag[s->n] = tag;
  s->lsn[s->n++] = lsn;
  return 0;
}

static struct vg_reclog *open_ok(const char *dir, const struct vg_reclog_opts *o, struct seen *s) {
  struct vg_reclog *l;
  char err[256];
  if (s) {
    memset(s, 0, sizeof *s);
    s->ok = true;
  }
  int rc = vg_reclog_open(&l, &fmt, dir, o, s ? collect : NULL, s, err, sizeof err);
  if (rc != 0) fail_msg("open: %d %s", rc, err);
  return l;
}

static void append_range(struct vg_reclog *l, uint32_t from, uint32_t to, bool direct,
                         uint64_t *lsns) {
  uint8_t p[300];
  for (uint32_t i = from; i < to; i++) {
    rec_fill(i, p);
    uint64_t lsn;
    if (direct) assert_int_equal(vg_reclog_write(l, i, p, rec_len(i), &lsn), 0);
    else assert_int_equal(vg_reclog_append(l, i, p, rec_len(i), &lsn), 0);
    if (lsns) lsns[i] = lsn;
  }
}

static size_t count_segments(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strlen(e->d_name) == 12 && strcmp(e->d_name + 8, ".log") == 0) n++;
  closedir(d);
  return n;
}

/* ---- tests ---- */
static void round_trip_and_rotation_rules(void **state) {
  for (int fit = 0; fit < 2; fit++) {
    for (int direct = 0; direct < 2; direct++) {
      char *dir = test_tmpdir("reclog");
      struct vg_reclog_opts o = {.segment_size = 4096, .fit = fit};
      static uint64_t lsns[800];
      struct vg_reclog *l = open_ok(dir, &o, NULL);
      append_range(l, 0, 400, direct, lsns);
      assert_int_equal(vg_reclog_sync(l), 0);
      append_range(l, 400, 800, direct, lsns);
      assert_int_equal(vg_reclog_sync(l), 0);
      assert_int_equal(vg_reclog_synced_lsn(l), vg_reclog_next_lsn(l));
      for (int i = 1; i < 800; i++) assert_true(lsns[i] > lsns[i - 1]);
      size_t n;
      const struct vg_reclog_seg *segs = vg_reclog_segments(l, &n);
      assert_true(n >= 10);
      for (size_t i = 0; i + 1 < n; i++) {
        char *p = seg_path(dir, segs[i].no);
        assert_int_equal(file_size(p), (long)segs[i].size);
        /* fit: never past the size; else: past it by less than one record */
        if (fit) assert_true(segs[i].size <= 4096);
        else assert_true(segs[i].size >= 4096 && segs[i].size < 4096 + 16 + 300);
        free(p);
      }
      assert_int_equal(vg_reclog_close(&l), 0);
      assert_null(l);
      static struct seen s;
      l = open_ok(dir, &o, &s);
      assert_int_equal(s.n, 800);
      assert_true(s.ok);
      for (uint32_t i = 0; i < 800; i++) {
        assert_int_equal(s.tag[i], i);
        assert_int_equal(s.lsn[i], lsns[i]);
      }
      vg_reclog_close(&l);
      test_rm_rf(&dir);
    }
  }
}

/* A segment cut at every byte: the records wholly before the cut replay, the file is cut
 * to them, and the log takes the next record — in a strict log (only segment) and in a
 * lenient one (the cut segment is the oldest of two). */
static void cut_at_every_byte(void **state) {
  enum { N = 9 };
  uint64_t lsns[N + 1];
  char *src = test_tmpdir("reclog");
  struct vg_reclog *l = open_ok(src, NULL, NULL);
  append_range(l, 1, N + 1, false, lsns);
  assert_int_equal(vg_reclog_sync(l), 0);
  vg_reclog_close(&l);
  char *p = seg_path(src, 1);
  struct vg_buf img;
  vg_buf_init(&img);
  test_read_file(p, &img);
  free(p);
  /* a second segment for the lenient case */
  uint8_t h[VG_RECLOG_HEADER_SIZE];
  vg_reclog_header(&fmt, 2, h);

  static struct seen s;
  for (int lenient = 0; lenient < 2; lenient++) {
    char *dir = test_tmpdir("reclog");
    char *path = seg_path(dir, 1), *path2 = seg_path(dir, 2);
    struct vg_reclog_opts o = {.lenient = lenient};
    for (size_t cut = 0; cut <= img.len; cut++) {
      test_write_file(path, img.data, cut);
      if (lenient) test_write_file(path2, h, sizeof h);
      size_t want = 0, good = VG_RECLOG_HEADER_SIZE;
      for (uint32_t i = 1; i <= N; i++) {
        size_t end = VG_RECLOG_LSN_OFF(lsns[i]) + VG_RECLOG_RECORD_OVERHEAD + rec_len(i);
        if (end <= cut) {
          want = i;
          good = end;
        }
      }
      l = open_ok(dir, &o, &s);
      assert_int_equal(s.n, want);
      assert_true(s.ok);
      assert_int_equal(vg_reclog_sync(l), 0); /* a header made again is written */
      if (lenient && cut < VG_RECLOG_HEADER_SIZE) {
        assert_int_equal(file_size(path), -1); /* a bad header: removed */
      } else {
        assert_int_equal(file_size(path), (long)good);
      }
      uint32_t cur = lenient ? 2 : 1;
      if (!lenient) assert_int_equal(vg_reclog_next_lsn(l), VG_RECLOG_LSN(1, good));
      assert_int_equal(vg_reclog_current_segment(l), cur);
      uint8_t q[300];
      uint32_t next = (uint32_t)want + 1;
      rec_fill(next, q);
      assert_int_equal(vg_reclog_append(l, next, q, rec_len(next), NULL), 0);
      assert_int_equal(vg_reclog_close(&l), 0);
      l = open_ok(dir, &o, &s);
      assert_int_equal(s.n, want + 1);
      assert_true(s.ok);
      vg_reclog_close(&l);
      unlink(path2);
    }
    free(path);
    free(path2);
    test_rm_rf(&dir);
  }
  vg_buf_free(&img);
  test_rm_rf(&src);
}

static void strict_corruption_and_gaps(void **state) {
  char *dir = test_tmpdir("reclog");
  struct vg_reclog_opts o = {.segment_size = 4096};
  static uint64_t lsns[300];
  struct vg_reclog *l = open_ok(dir, &o, NULL);
  append_range(l, 0, 300, false, lsns);
  vg_reclog_close(&l);
  char *p1 = seg_path(dir, 1);
  struct vg_buf b;
  vg_buf_init(&b);
  test_read_file(p1, &b);
  b.data[VG_RECLOG_LSN_OFF(lsns[3]) + 9] ^= 0x10;
  test_write_file(p1, b.data, b.len);
  char err[256];
  assert_int_equal(vg_reclog_open(&l, &fmt, dir, &o, NULL, NULL, err, sizeof err), -EBADMSG);
  assert_null(l);
  assert_non_null(strstr(err, "00000001.log"));
  assert_non_null(strstr(err, "corrupt at offset"));
  assert_int_equal(file_size(p1), (long)b.len); /* nothing cut */
  /* An old version is named as such. */
  b.data[VG_RECLOG_LSN_OFF(lsns[3]) + 9] ^= 0x10;
  vg_put_le16((uint8_t *)b.data + 5, 2);
  vg_put_le32((uint8_t *)b.data + 12, 0);
  struct vg_reclog_scan_result r;
  assert_int_equal(vg_reclog_scan(&fmt, b.data, b.len, 1, NULL, NULL, &r), 0);
  assert_int_equal(r.status, VG_RECLOG_SCAN_BAD_HDR);
  vg_reclog_header(&fmt, 1, (uint8_t *)b.data);
  vg_put_le16((uint8_t *)b.data + 5, 2);
  {
    uint8_t hh[VG_RECLOG_HEADER_SIZE];
    memcpy(hh, b.data, 12);
    /* recompute the header checksum over the changed version */
    struct vg_reclog_format f2 = fmt;
    f2.version = 2;
    vg_reclog_header(&f2, 1, hh);
    memcpy(b.data, hh, sizeof hh);
  }
  assert_int_equal(vg_reclog_scan(&fmt, b.data, b.len, 1, NULL, NULL, &r), 0);
  assert_int_equal(r.status, VG_RECLOG_SCAN_BAD_HDR);
  assert_non_null(strstr(r.why, "unsupported version 2"));
  assert_non_null(strstr(r.why, "reads 3"));
  vg_reclog_header(&fmt, 1, (uint8_t *)b.data);
  test_write_file(p1, b.data, b.len);
  /* A gap in the numbers. */
  l = open_ok(dir, &o, NULL);
  uint32_t cur = vg_reclog_current_segment(l);
  assert_true(cur >= 4);
  vg_reclog_close(&l);
  char *mid = seg_path(dir, 2);
  assert_int_equal(unlink(mid), 0);
  assert_int_equal(vg_reclog_open(&l, &fmt, dir, &o, NULL, NULL, err, sizeof err), -EBADMSG);
  assert_non_null(strstr(err, "missing"));
  /* A lenient log takes it, and first_wanted removes what is older unread. */
  o.lenient = true;
  o.first_wanted = 3;
  static struct seen s;
  l = open_ok(dir, &o, &s);
  assert_int_equal(file_size(p1), -1);
  assert_int_equal(vg_reclog_first_segment(l), 3);
  assert_int_equal(VG_RECLOG_LSN_SEG(s.lsn[0]), 3);
  assert_int_equal(s.tag[s.n - 1], 299);
  vg_reclog_close(&l);
  free(mid);
  free(p1);
  vg_buf_free(&b);
  test_rm_rf(&dir);
}

static void rotate_remove_and_lock(void **state) {
  char *dir = test_tmpdir("reclog");
  struct vg_reclog *l = open_ok(dir, NULL, NULL);
  assert_int_equal(vg_reclog_rotate(l), 0); /* nothing in it: stays */
  assert_int_equal(vg_reclog_current_segment(l), 1);
  append_range(l, 0, 50, false, NULL);
  assert_int_equal(vg_reclog_rotate(l), 0);
  assert_int_equal(vg_reclog_current_segment(l), 2);
  append_range(l, 50, 60, false, NULL);
  assert_int_equal(vg_reclog_remove_before(l, 2), 0);
  assert_int_equal(vg_reclog_first_segment(l), 2);
  assert_int_equal(count_segments(dir), 1);
  assert_int_equal(vg_reclog_remove_before(l, 99), 0); /* never the current one */
  assert_int_equal(count_segments(dir), 1);
  struct vg_reclog *l2;
  char err[256];
  assert_int_equal(vg_reclog_open(&l2, &fmt, dir, NULL, NULL, NULL, err, sizeof err), -EBUSY);
  assert_non_null(strstr(err, "in use"));
  vg_reclog_close(&l);
  static struct seen s;
  l = open_ok(dir, NULL, &s);
  assert_int_equal(s.n, 10);
  assert_int_equal(s.tag[0], 50);
  vg_reclog_close(&l);
  /* with a lock file */
  struct vg_reclog_opts o = {.lockfile = "lock"};
  l = open_ok(dir, &o, NULL);
  assert_int_equal(vg_reclog_open(&l2, &fmt, dir, &o, NULL, NULL, err, sizeof err), -EBUSY);
  vg_reclog_close(&l);
  test_rm_rf(&dir);
}

static void discarded_records_do_not_come_back(void **state) {
  char *dir = test_tmpdir("reclog");
  struct vg_reclog *l = open_ok(dir, NULL, NULL);
  append_range(l, 0, 10, false, NULL);
  uint64_t mark = vg_reclog_next_lsn(l);
  append_range(l, 10, 20, false, NULL);
  vg_reclog_discard_from(l, mark); /* still buffered */
  assert_int_equal(vg_reclog_next_lsn(l), mark);
  append_range(l, 20, 25, false, NULL);
  assert_int_equal(vg_reclog_flush(l), 0);
  uint64_t mark2 = vg_reclog_next_lsn(l);
  append_range(l, 25, 30, true, NULL);
  vg_reclog_discard_from(l, mark2); /* already with the kernel */
  append_range(l, 30, 32, false, NULL);
  vg_reclog_close(&l);
  static struct seen s;
  l = open_ok(dir, NULL, &s);
  assert_true(s.ok);
  assert_int_equal(s.n, 10 + 5 + 2);
  assert_int_equal(s.tag[10], 20);
  assert_int_equal(s.tag[15], 30);
  vg_reclog_close(&l);
  test_rm_rf(&dir);
}

/* The file size limit (RLIMIT_FSIZE, SIGXFSZ ignored) makes writes fail as a full disk
 * does: the log refuses writes, keeps what it buffered, and once there is room again
 * recovers by itself at its last good record; nothing synced or kept is lost. */
static void recovers_after_a_full_disk(void **state) {
  char *dir = test_tmpdir("reclog");
  struct vg_reclog_opts o = {.segment_size = 1 << 20, .retry_ms = 50, .flush_at = 4096};
  struct vg_reclog *l = open_ok(dir, &o, NULL);
  append_range(l, 0, 20, false, NULL);
  assert_int_equal(vg_reclog_sync(l), 0);
  char *p = seg_path(dir, 1);
  long before = file_size(p);
  struct rlimit old, lim;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim = old;
  lim.rlim_cur = (rlim_t)before + 1000; /* room for a few records, then full */
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
  uint32_t i = 20;
  int rc = 0;
  uint8_t q[300];
  for (; i < 400 && rc == 0; i++) {
    rec_fill(i, q);
    rc = vg_reclog_append(l, i, q, rec_len(i), NULL);
    if (rc == 0) rc = vg_reclog_sync(l);
  }
  assert_true(rc == -EFBIG || rc == -ENOSPC);
  uint32_t failed = i - 1; /* the record whose write failed: still buffered */
  assert_true(file_size(p) > before);
  uint64_t since;
  assert_int_equal(vg_reclog_error(l, &since), rc);
  assert_true(since > 0);
  /* Refused while the disk is full, whether retried early or late. */
  rec_fill(1000, q);
  assert_int_equal(vg_reclog_append(l, 1000, q, rec_len(1000), NULL), rc);
  assert_int_equal(vg_reclog_recover(l, true), rc);
  usleep(60 * 1000);
  assert_int_equal(vg_reclog_sync(l), rc);
  assert_int_equal(vg_reclog_recoveries(l), 0);
  /* Room again: the next write after retry_ms recovers. */
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, prev);
  usleep(60 * 1000);
  append_range(l, 500, 510, false, NULL);
  assert_int_equal(vg_reclog_error(l, NULL), 0);
  assert_int_equal(vg_reclog_recoveries(l), 1);
  assert_int_equal(vg_reclog_sync(l), 0);
  vg_reclog_close(&l);
  static struct seen s;
  l = open_ok(dir, &o, &s);
  assert_true(s.ok);
  assert_int_equal(s.n, failed + 1 + 10);
  for (uint32_t k = 0; k <= failed; k++) assert_int_equal(s.tag[k], k);
  assert_int_equal(s.tag[failed + 1], 500);
  vg_reclog_close(&l);
  free(p);
  test_rm_rf(&dir);
}

/* The crash test of the kit: a child appends numbered records in batches, syncing each
 * and then reporting its last number on a pipe; it is SIGKILLed at random moments
 * (segments of 4 KiB, so kills land in rotations too). Every reopen must replay the
 * records 1..n contiguously with n >= the last one reported, and the next child goes on
 * in the same log. */
static int last_tag(void *arg, uint64_t lsn, uint32_t tag, const void *p, uint32_t len) {
  uint32_t *last = arg;
  uint8_t want[300];
  rec_fill(tag, want);
  if (tag != *last + 1 || len != rec_len(tag) || memcmp(want, p, len) != 0) return 1;
  *last = tag;
  return 0;
}

static void crash_at_random_moments(void **state) {
  char *dir = test_tmpdir("reclog");
  struct vg_reclog_opts o = {.segment_size = 4096};
  uint32_t acked = 0, rnd = 20261206;
  for (int it = 0; it < 25; it++) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      struct vg_reclog *l;
      char err[256];
      uint32_t last = 0;
      if (vg_reclog_open(&l, &fmt, dir, &o, last_tag, &last, err, sizeof err) != 0) _exit(3);
      uint8_t p[300];
      for (uint32_t tag = last + 1;; tag++) {
        rec_fill(tag, p);
        if (vg_reclog_append(l, tag, p, rec_len(tag), NULL) != 0) _exit(4);
        if (tag % 5 == 0) {
          if (vg_reclog_sync(l) != 0) _exit(5);
          if (write(fds[1], &tag, sizeof tag) != (ssize_t)sizeof tag) _exit(6);
        }
      }
    }
    close(fds[1]);
    rnd = rnd * 1103515245u + 12345u;
    usleep(1000 + (rnd >> 8) % 30000);
    kill(pid, SIGKILL);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st)); /* not an early exit with an error */
    uint32_t t;
    while (read(fds[0], &t, sizeof t) == (ssize_t)sizeof t) acked = t > acked ? t : acked;
    close(fds[0]);
    struct vg_reclog *l;
    char err[256];
    uint32_t last = 0;
    int rc = vg_reclog_open(&l, &fmt, dir, &o, last_tag, &last, err, sizeof err);
    if (rc != 0) fail_msg("iteration %d: reopen: %d %s", it, rc, err);
    assert_true(last >= acked);
    vg_reclog_close(&l);
  }
  assert_true(acked > 0);
  assert_true(count_segments(dir) > 1);
  test_rm_rf(&dir);
}

static void replace_file_and_lockfile(void **state) {
  char *dir = test_tmpdir("reclog");
  char *path = vg_asprintf("%s/f", dir);
  assert_int_equal(vg_replace_file(path, "one\n", 4, 0640), 0);
  assert_int_equal(vg_replace_file(path, "second\n", 7, 0640), 0);
  struct vg_buf b;
  vg_buf_init(&b);
  test_read_file(path, &b);
  assert_int_equal(b.len, 7);
  assert_memory_equal(b.data, "second\n", 7);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0640);
  /* no temporary left behind; an aborted one leaves the file as it was */
  struct vg_tmpfile t;
  assert_int_equal(vg_tmpfile_open(&t, path, 0644), 0);
  assert_int_equal(vg_write_all(t.fd, "x", 1), 0);
  vg_tmpfile_abort(&t);
  test_read_file(path, &b);
  assert_int_equal(b.len, 7);
  DIR *d = opendir(dir);
  struct dirent *e;
  size_t n = 0;
  while ((e = readdir(d))) n += e->d_name[0] != '.';
  closedir(d);
  assert_int_equal(n, 1);
  /* a missing directory is an error, not a crash */
  char *bad = vg_asprintf("%s/no/such", dir);
  assert_int_equal(vg_replace_file(bad, "x", 1, 0644), -ENOENT);
  free(bad);

  char *lock = vg_asprintf("%s/lock", dir);
  assert_int_equal(vg_lockfile(lock, 0), -ENOENT); /* mode 0: must exist */
  int fd = vg_lockfile(lock, 0600);
  assert_true(fd >= 0);
  assert_int_equal(vg_lockfile(lock, 0600), -EBUSY);
  close(fd);
  fd = vg_lockfile(lock, 0);
  assert_true(fd >= 0);
  close(fd);
  free(lock);
  vg_buf_free(&b);
  free(path);
  test_rm_rf(&dir);
}

static void little_endian(void **state) {
  uint8_t b[8];
  vg_put_le64(b, 0x0102030405060708ull);
  assert_int_equal(b[0], 8);
  assert_int_equal(b[7], 1);
  assert_int_equal(vg_get_le64(b), 0x0102030405060708ull);
  assert_int_equal(vg_get_le32(b), 0x05060708u);
  assert_int_equal(vg_get_le16(b), 0x0708);
  vg_put_le32(b, 0xdeadbeef);
  assert_int_equal(b[0], 0xef);
  vg_put_le16(b, 0xabcd);
  assert_int_equal(b[1], 0xab);
}

int main(void) {
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip_and_rotation_rules),
      cmocka_unit_test(cut_at_every_byte),
      cmocka_unit_test(strict_corruption_and_gaps),
      cmocka_unit_test(rotate_remove_and_lock),
      cmocka_unit_test(discarded_records_do_not_come_back),
      cmocka_unit_test(recovers_after_a_full_disk),
      cmocka_unit_test(crash_at_random_moments),
      cmocka_unit_test(replace_file_and_lockfile),
      cmocka_unit_test(little_endian),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
