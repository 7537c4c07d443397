/* Unit tests of the series limits in the config: `store.max_series` and
 * `feeds.NAME.max_series` (defaults, values, 0 for none, out-of-range at line:col). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "core/core.h"

static struct vg_config *load(const char *yaml, struct cfg_diags *d) {
  cfg_diags_init(d);
  return cfg_load_string("/tmp/test.yaml", yaml, strlen(yaml), d);
}

static void defaults_and_values(void **state) {
  struct cfg_diags d;
  struct vg_config *cfg = load("state_dir: /srv/v\n"
                               "feeds:\n"
                               "  a: {bind: tcp://127.0.0.1:5558}\n"
                               "  b: {bind: tcp://127.0.0.1:5559, max_series: 3000}\n"
                               "  c: {bind: tcp://127.0.0.1:5560, max_series: 0}\n",
                               &d);
  assert_non_null(cfg);
  assert_int_equal(cfg->store.max_series, 1000000);
  assert_int_equal(cfg->feeds[0].max_series, 100000);
  assert_int_equal(cfg->feeds[1].max_series, 3000);
  assert_int_equal(cfg->feeds[2].max_series, 0);
  cfg_free(cfg);
  cfg_diags_free(&d);

  cfg = load("state_dir: /srv/v\nstore: {max_series: 0}\n", &d);
  assert_non_null(cfg);
  assert_int_equal(cfg->store.max_series, 0);
  cfg_free(cfg);
  cfg_diags_free(&d);
}

static void out_of_range(void **state) {
  struct cfg_diags d;
  struct vg_config *cfg = load("state_dir: /srv/v\n"
                               "store: {max_series: -1}\n"
                               "feeds:\n"
                               "  a: {bind: tcp://127.0.0.1:5558, max_series: lots}\n",
                               &d);
  assert_null(cfg);
  assert_int_equal(d.n, 2);
  assert_int_equal(d.items[0].pos.line, 2);
  assert_non_null(strstr(d.items[0].msg, "max_series must be between 0 and 1000000000, got '-1'"));
  assert_int_equal(d.items[1].pos.line, 4);
  assert_int_equal(d.items[1].pos.col, 47);
  assert_non_null(strstr(d.items[1].msg, "expected an integer, got 'lots'"));
  cfg_diags_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(defaults_and_values),
      cmocka_unit_test(out_of_range),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
