/* Unit tests of the bridge's record of processed files (src/bridge/record.c): entries
 * survive a reopen, a rewritten file replaces its entry, the latest scan is found, and
 * the file cut at every byte reopens to exactly the whole lines before the cut, and a
 * line appended after reads back whole (the torn tail was cut). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge/bridge_int.h"
#include "core/core.h"
#include "../helpers/test_files.h"

static void test_record_roundtrip(void **state) {
  (void)state;
  char *dir = test_tmpdir("bridge-record");
  char err[256];
  struct bridge__record r;
  assert_int_equal(bridge__record_open(&r, dir, err, sizeof err), 0);
  assert_int_equal(r.latest_scan, -1);
  assert_null(bridge__record_find(&r, "a.arrow"));
  for (int i = 0; i < 200; i++) {
    char name[32];
    snprintf(name, sizeof name, "scan-%04d.arrow", i);
    assert_int_equal(bridge__record_add(&r, name, 100 + i, 1000 + i, i == 7 ? -1 : 4000 + i), 0);
  }
  bridge__record_note(&r, "noted-only.arrow", 1, 2, 9999); /* in memory: not in the file */
  assert_int_equal(bridge__record_add(&r, "scan-0005.arrow", 555, 666, 4005), 0); /* rewritten */
  bridge__record_close(&r);
  assert_int_equal(bridge__record_open(&r, dir, err, sizeof err), 0);
  assert_int_equal(r.n, 200);
  assert_null(bridge__record_find(&r, "noted-only.arrow"));
  const struct bridge__rec *e = bridge__record_find(&r, "scan-0005.arrow");
  assert_non_null(e);
  assert_int_equal(e->size, 555);
  assert_int_equal(e->mtime, 666);
  assert_int_equal(bridge__record_find(&r, "scan-0007.arrow")->scan, -1); /* quarantined */
  assert_int_equal(r.latest_scan, 4199);
  assert_string_equal(r.latest_name, "scan-0199.arrow");
  bridge__record_close(&r);
  test_rm_rf(&dir);
}

static void test_record_cut_everywhere(void **state) {
  (void)state;
  char *dir = test_tmpdir("bridge-record-cut");
  char err[256];
  struct bridge__record r;
  assert_int_equal(bridge__record_open(&r, dir, err, sizeof err), 0);
  for (int i = 0; i < 12; i++) {
    char name[32];
    snprintf(name, sizeof name, "s%d.arrow", i);
    assert_int_equal(bridge__record_add(&r, name, i, i, i), 0);
  }
  bridge__record_close(&r);
  char *path = vg_asprintf("%s/processed", dir);
  struct vg_buf full;
  vg_buf_init(&full);
  test_read_file(path, &full);
  for (size_t n = 0; n <= full.len; n++) {
    test_write_file(path, full.data, n);
    assert_int_equal(bridge__record_open(&r, dir, err, sizeof err), 0);
    size_t lines = 0;
    for (size_t i = 0; i < n; i++) lines += full.data[i] == '\n';
    assert_int_equal(r.n, lines); /* the whole lines, and nothing of a torn one */
    assert_int_equal(r.latest_scan, lines ? (int64_t)lines - 1 : -1);
    /* the torn tail is gone: a line appended now reads back whole */
    assert_int_equal(bridge__record_add(&r, "after.arrow", 7, 8, 9), 0);
    bridge__record_close(&r);
    assert_int_equal(bridge__record_open(&r, dir, err, sizeof err), 0);
    assert_int_equal(r.n, lines + 1);
    assert_non_null(bridge__record_find(&r, "after.arrow"));
    bridge__record_close(&r);
  }
  vg_buf_free(&full);
  free(path);
  test_rm_rf(&dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_record_roundtrip),
      cmocka_unit_test(test_record_cut_everywhere),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
