/*
 * Tests of the `bridges` section (src/config/bridges.c), the `fresh` readiness probe and
 * the `stale` rule of a service: every key, the defaults, and each problem with its
 * message at its line:col.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config/config.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct vg_config *load(const char *yaml, struct cfg_diags *d) {
  cfg_diags_init(d);
  return cfg_load_string("/tmp/test.yaml", yaml, strlen(yaml), d);
}

static struct vg_config *load_ok(const char *yaml) {
  struct cfg_diags d;
  struct vg_config *cfg = load(yaml, &d);
  for (size_t i = 0; i < d.n; i++)
    print_error("unexpected: %d:%d: %s\n", d.items[i].pos.line, d.items[i].pos.col, d.items[i].msg);
  assert_int_equal(d.n, 0);
  assert_non_null(cfg);
  cfg_diags_free(&d);
  return cfg;
}

/* The config must be refused with msg (a substring) at line:col. */
static void load_bad(const char *yaml, int line, int col, const char *msg) {
  struct cfg_diags d;
  struct vg_config *cfg = load(yaml, &d);
  assert_null(cfg);
  bool found = false;
  for (size_t i = 0; i < d.n; i++) {
    if (d.items[i].pos.line == line && d.items[i].pos.col == col && strstr(d.items[i].msg, msg)) found = true;
  }
  if (!found) {
    for (size_t i = 0; i < d.n; i++) print_error("got %d:%d: %s\n", d.items[i].pos.line, d.items[i].pos.col, d.items[i].msg);
    fail_msg("wanted %d:%d: %s", line, col, msg);
  }
  cfg_diags_free(&d);
}

static void test_full_bridge(void **state) {
  (void)state;
  struct vg_config *cfg = load_ok("bridges:\n"
                                  "  eigen:\n"
                                  "    dir: ./scans\n"
                                  "    glob: \"scan-*.arrow\"\n"
                                  "    key: asset\n"
                                  "    values: [e0, e1]\n"
                                  "    scan: scan\n"
                                  "    time: ts\n"
                                  "    document: latest_eigen_scan\n"
                                  "    keys: true\n"
                                  "    store: true\n"
                                  "    measurement: eigen_scan\n"
                                  "    rescan: 2s\n"
                                  "    settle: 500ms\n"
                                  "    quarantine: /var/q\n"
                                  "  minimal:\n"
                                  "    dir: /data/x\n"
                                  "    key: k\n"
                                  "    scan: n\n"
                                  "    document: d\n");
  assert_int_equal(cfg->n_bridges, 2);
  const struct cfg_bridge *b = &cfg->bridges[0];
  assert_string_equal(b->name, "eigen");
  assert_string_equal(b->dir, "/tmp/scans");
  assert_string_equal(b->glob, "scan-*.arrow");
  assert_string_equal(b->key, "asset");
  assert_string_equal(b->values[1], "e1");
  assert_null(b->values[2]);
  assert_string_equal(b->time, "ts");
  assert_string_equal(b->document, "latest_eigen_scan");
  assert_true(b->keys && b->store);
  assert_string_equal(b->measurement, "eigen_scan");
  assert_int_equal(b->rescan_ms, 2000);
  assert_int_equal(b->settle_ms, 500);
  assert_string_equal(b->quarantine, "/var/q");
  b = &cfg->bridges[1];
  assert_string_equal(b->glob, "*.arrow");
  assert_null(b->values);
  assert_null(b->time);
  assert_false(b->keys || b->store);
  assert_string_equal(b->measurement, "minimal");
  assert_int_equal(b->rescan_ms, 5000);
  assert_int_equal(b->settle_ms, 2000);
  assert_string_equal(b->quarantine, "/data/x/quarantine");
  cfg_free(cfg);
}

static void test_bridge_problems(void **state) {
  (void)state;
  load_bad("bridges:\n  a:\n    key: k\n    scan: s\n    document: d\n", 3, 5, "needs dir");
  load_bad("bridges:\n  a:\n    dir: x\n    scan: s\n    document: d\n", 3, 5, "needs key");
  load_bad("bridges:\n  a:\n    dir: x\n    key: k\n    document: d\n", 3, 5, "needs scan");
  load_bad("bridges:\n  a:\n    dir: x\n    key: k\n    scan: s\n", 3, 5, "goes nowhere");
  load_bad("bridges:\n  a:\n    dir: x\n    key: k\n    scan: k\n    keys: true\n", 3, 5, "column 'k' is used twice");
  load_bad("bridges:\n  a:\n    dir: x\n    key: k\n    scan: s\n    keys: true\n    rescan: 10ms\n", 7, 13,
           "rescan must be at least 100ms");
  load_bad("bridges:\n  a:\n    dir: x\n    key: k\n    scan: s\n    keys: true\n    values: []\n", 7, 13, "values is empty");
  load_bad("bridges:\n  a:\n    dir: \"\"\n    key: k\n    scan: s\n    keys: true\n", 3, 10, "dir is empty");
  load_bad("bridges:\n  a:\n    dir: x\n    key: k\n    scan: s\n    keys: true\n    colour: red\n", 7, 5, "unknown key 'colour'");
  load_bad("bridges: [a]\n", 1, 10, "a mapping of bridges");
}

static void test_fresh_and_stale(void **state) {
  (void)state;
  struct vg_config *cfg = load_ok("services:\n"
                                  "  strategy:\n"
                                  "    cmd: [s]\n"
                                  "    ready: {fresh: latest_eigen_scan, within: 10s, interval: 50ms}\n"
                                  "  scanner:\n"
                                  "    cmd: [p]\n"
                                  "    stale: {fresh: latest_eigen_scan, warn: 1s, restart: 2s}\n"
                                  "  other:\n"
                                  "    cmd: [o]\n"
                                  "    ready: {fresh: k}\n"
                                  "    stale: {fresh: k}\n");
  const struct cfg_service *s = &cfg->services[0];
  assert_int_equal(s->ready.kind, CFG_PROBE_FRESH);
  assert_string_equal(s->ready.target, "latest_eigen_scan");
  assert_int_equal(s->ready.within_ms, 10000);
  assert_string_equal(cfg_probe_kind_name(s->ready.kind), "fresh");
  assert_null(s->stale_key);
  s = &cfg->services[1];
  assert_string_equal(s->stale_key, "latest_eigen_scan");
  assert_int_equal(s->stale_warn_ms, 1000);
  assert_int_equal(s->stale_restart_ms, 2000);
  s = &cfg->services[2];
  assert_int_equal(s->ready.within_ms, 30000);
  assert_int_equal(s->stale_warn_ms, 30000);
  assert_int_equal(s->stale_restart_ms, 60000);
  cfg_free(cfg);
  load_bad("services:\n  a:\n    cmd: [a]\n    ready: {tcp: \"h:1\", within: 3s}\n", 4, 25, "within goes with fresh");
  load_bad("services:\n  a:\n    cmd: [a]\n    ready: {fresh: \"\"}\n", 4, 20, "fresh needs a cache key");
  load_bad("services:\n  a:\n    cmd: [a]\n    ready: {fresh: k, within: 0s}\n", 4, 31, "within must be more than 0");
  load_bad("services:\n  a:\n    cmd: [a]\n    stale: {warn: 1s}\n", 4, 12, "stale needs fresh");
  load_bad("services:\n  a:\n    cmd: [a]\n    stale: {fresh: k, warn: 3s, restart: 1s}\n", 4, 12, "warn after restart");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_bridge),
      cmocka_unit_test(test_bridge_problems),
      cmocka_unit_test(test_fresh_and_stale),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
