/* Unit tests of core: buffers, JSON escaping, edit distance, logging formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"

static void buf_grows_and_consumes(void **state) {
  struct vg_buf b;
  vg_buf_init(&b);
  for (int i = 0; i < 1000; i++) vg_buf_printf(&b, "%d,", i);
  assert_int_equal(b.len, strlen(b.data));
  assert_memory_equal(b.data, "0,1,2,", 6);
  vg_buf_consume(&b, 4);
  assert_memory_equal(b.data, "2,3,", 4);
  vg_buf_consume(&b, b.len + 5);
  assert_int_equal(b.len, 0);
  assert_string_equal(b.data, "");
  vg_buf_free(&b);
}

static void json_strings_are_escaped(void **state) {
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_json_str(&b, "a\"b\\c\n\t\x01");
  assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\t\\u0001\"");
  vg_buf_free(&b);
}

static void edit_distance(void **state) {
  assert_int_equal(vg_edit_distance("services", "servces", 3), 1);
  assert_int_equal(vg_edit_distance("restart", "restrat", 3), 2);
  assert_int_equal(vg_edit_distance("abc", "abc", 3), 0);
  assert_int_equal(vg_edit_distance("a", "zzzzzz", 2), 3); /* capped: cap + 1 */
}

static char last_line[1024];
static void tap(const char *line, size_t len, void *arg) {
  snprintf(last_line, sizeof last_line, "%.*s", (int)len, line);
}

static void logfmt_and_json(void **state) {
  vg_log_set_tap(tap, NULL);
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_INFO);
  VG_INFO("service ready", VF_S("service", "feed a"), VF_I("pid", 42), VF_D("ready_seconds", 0.5));
  assert_non_null(strstr(last_line, " level=info msg=\"service ready\" service=\"feed a\" pid=42 ready_seconds=0.5"));
  assert_memory_equal(last_line, "ts=", 3);
  vg_log_setup(VG_LOG_JSON, VG_LOG_INFO);
  VG_WARN("x", VF_S("k", "v\"q"));
  assert_non_null(strstr(last_line, "\"level\":\"warn\",\"msg\":\"x\",\"k\":\"v\\\"q\"}"));
  last_line[0] = '\0';
  VG_DEBUG("hidden");
  assert_string_equal(last_line, "");
  vg_log_set_tap(NULL, NULL);
}

static void strv_helpers(void **state) {
  char *src[] = {"a", "b", NULL};
  char **v = vg_strv_dup(src);
  assert_int_equal(vg_strv_len(v), 2);
  assert_true(vg_strv_contains(v, "b"));
  assert_false(vg_strv_contains(v, "c"));
  vg_strv_free(v);
}

static void expect_same_as_strtod(const char *txt, bool fast) {
  double got = 0;
  bool took = vg_decimal_fast(txt, strlen(txt), &got);
  if (took != fast) fail_msg("%s: fast path %s", txt, took ? "taken" : "declined");
  if (!took) return;
  double want = strtod(txt, NULL);
  if (memcmp(&got, &want, sizeof got) != 0) fail_msg("%s: %.17g, strtod %.17g", txt, got, want);
}

/* The fast path gives strtod's double, bit for bit, or declines. */
static void decimal_fast_path(void **state) {
  (void)state;
  expect_same_as_strtod("101.12345", true);
  expect_same_as_strtod("-0", true);
  expect_same_as_strtod("-0.0", true);
  expect_same_as_strtod("0", true);
  expect_same_as_strtod(".5", true);
  expect_same_as_strtod("5.", true);
  expect_same_as_strtod("0.000000000000000000001", true);
  expect_same_as_strtod("9007199254740992", true);  /* 2^53 */
  expect_same_as_strtod("9007199254740993", false); /* 2^53 + 1: not exact */
  expect_same_as_strtod("1.00000000000000000000001", false);
  expect_same_as_strtod("0.1e3", false);
  expect_same_as_strtod("1e400", false);
  expect_same_as_strtod("", false);
  expect_same_as_strtod("-", false);
  expect_same_as_strtod(".", false);
  expect_same_as_strtod("1.2.3", false);
  expect_same_as_strtod("12a", false);
  /* random decimals of every shape a feed sends, against strtod */
  uint64_t x = 0x9e3779b97f4a7c15u;
  char txt[64];
  for (int i = 0; i < 2000000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    int nint = (int)(x % 12), nfrac = (int)((x >> 8) % 20), n = 0;
    if ((x >> 16) & 1) txt[n++] = '-';
    uint64_t y = x * 0x2545f4914f6cdd1du;
    for (int k = 0; k < nint; k++, y /= 10) txt[n++] = (char)('0' + y % 10);
    if (nfrac || !nint) txt[n++] = '.';
    for (int k = 0; k < nfrac; k++) {
      y = y * 6364136223846793005u + 1442695040888963407u;
      txt[n++] = (char)('0' + (y >> 33) % 10);
    }
    if (!nint && !nfrac) txt[n++] = '0';
    txt[n] = 0;
    double got, want = strtod(txt, NULL);
    if (vg_decimal_fast(txt, (size_t)n, &got) && memcmp(&got, &want, sizeof got) != 0)
      fail_msg("%s: %.17g, strtod %.17g", txt, got, want);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(buf_grows_and_consumes), cmocka_unit_test(json_strings_are_escaped),
      cmocka_unit_test(edit_distance), cmocka_unit_test(logfmt_and_json),
      cmocka_unit_test(strv_helpers), cmocka_unit_test(decimal_fast_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
