/* Unit tests of the config's `store` section: defaults, a full section, and every
 * mistake reported at its line:col. */
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

static void defaults(void **state) {
  struct cfg_diags d;
  struct vg_config *cfg = load("state_dir: /srv/v\nservices: {}\n", &d);
  assert_non_null(cfg);
  assert_true(cfg->store.enabled);
  assert_string_equal(cfg->store.dir, "/srv/v/store");
  assert_int_equal(cfg->store.sync, CFG_SYNC_BATCH);
  assert_int_equal(cfg->store.block_ms, 2 * 3600 * 1000);
  assert_int_equal(cfg->store.n_policies, 0);
  cfg_free(cfg);
  cfg_diags_free(&d);
}

static void full_section(void **state) {
  const char *y = "state_dir: /srv/v\n"
                  "store:\n"
                  "  dir: /data/ticks\n"
                  "  sync: interval\n"
                  "  sync_interval: 50ms\n"
                  "  block: 1h\n"
                  "  head_max_points: 100000\n"
                  "  retention:\n"
                  "    - {name: ticks, duration: 7d, measurement: \"tick*\", tags: {venue: \"k*\"}}\n"
                  "    - {name: archive, duration: 365d}\n"
                  "  rollups:\n"
                  "    - {name: t1m, from: ticks, to: archive, every: 1m, aggregates: [mean, max]}\n"
                  "services: {}\n";
  struct cfg_diags d;
  struct vg_config *cfg = load(y, &d);
  for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%d:%d: %s\n", d.items[i].pos.line, d.items[i].pos.col, d.items[i].msg);
  assert_non_null(cfg);
  const struct cfg_store *s = &cfg->store;
  assert_string_equal(s->dir, "/data/ticks");
  assert_int_equal(s->sync, CFG_SYNC_INTERVAL);
  assert_int_equal(s->sync_interval_ms, 50);
  assert_int_equal(s->block_ms, 3600000);
  assert_int_equal(s->head_max_points, 100000);
  assert_int_equal(s->n_policies, 2);
  assert_string_equal(s->policies[0].name, "ticks");
  assert_int_equal(s->policies[0].duration_ms, 7LL * 86400000);
  assert_string_equal(s->policies[0].measurement, "tick*");
  assert_string_equal(s->policies[0].tag_keys[0], "venue");
  assert_string_equal(s->policies[0].tag_values[0], "k*");
  assert_null(s->policies[0].tag_keys[1]);
  assert_int_equal(s->n_rollups, 1);
  assert_string_equal(s->rollups[0].from, "ticks");
  assert_int_equal(s->rollups[0].every_ms, 60000);
  assert_int_equal(s->rollups[0].aggs, (1u << 7) | (1u << 4)); /* mean, max in tsdb's order */
  cfg_free(cfg);
  cfg_diags_free(&d);
}

static void mistakes_are_positioned(void **state) {
  const char *y = "store:\n"
                  "  sync: sometimes\n"
                  "  block: 7h\n"
                  "  retention:\n"
                  "    - {name: ticks, duration: 7x}\n"
                  "    - {name: \"bad name\"}\n"
                  "    - {name: ticks}\n"
                  "  rollups:\n"
                  "    - {name: r, from: tiks, to: ticks, every: 7m, aggregates: [mean, avrage]}\n"
                  "    - {name: s, from: ticks, to: ticks, every: 1m}\n"
                  "  retension: []\n"
                  "services: {}\n";
  struct cfg_diags d;
  struct vg_config *cfg = load(y, &d);
  assert_null(cfg);
  const char *want[] = {
      "2:9: bad sync policy 'sometimes': expected batch, interval or never",
      "3:10: block must be at least 1m and divide a day",
      "5:31: bad duration '7x'",
      "6:14: bad retention policy name 'bad name'",
      "7:14: retention policy 'ticks' is defined twice",
      "9:23: rollup 'r': unknown retention policy 'tiks' (did you mean 'ticks'?)",
      "9:47: rollup 'r': 'every' must divide a day",
      "9:70: unknown aggregate 'avrage'",
      "10:34: rollup 's': 'from' and 'to' must differ",
      "11:3: unknown key 'retension' (did you mean 'retention'?)",
  };
  size_t n = sizeof want / sizeof *want;
  assert_int_equal(d.n, n);
  for (size_t i = 0; i < n; i++) {
    char got[400];
    snprintf(got, sizeof got, "%d:%d: %s", d.items[i].pos.line, d.items[i].pos.col, d.items[i].msg);
    if (strncmp(got, want[i], strlen(want[i])) != 0) {
      fprintf(stderr, "diag %zu: got '%s', want prefix '%s'\n", i, got, want[i]);
      fail();
    }
  }
  cfg_diags_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(defaults),
      cmocka_unit_test(full_section),
      cmocka_unit_test(mistakes_are_positioned),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
