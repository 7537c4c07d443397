/*
 * Tests of the `sinks` section of the config: a full InfluxDB sink, its defaults, and
 * one test per bad value with its exact message at its exact line:col.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config/config.h"
#include "core/core.h"

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
    print_error("unexpected: %d:%d: %s\n", d.items[i].pos.line, d.items[i].pos.col,
                d.items[i].msg);
  assert_int_equal(d.n, 0);
  assert_non_null(cfg);
  cfg_diags_free(&d);
  return cfg;
}

struct want {
  int line, col;
  const char *msg;
};

/* Fails with exactly the diagnostics w[0..n), in order; prints the difference if not. */
static bool check_diags(const char *yaml, const struct want *w, size_t n) {
  struct cfg_diags d;
  struct vg_config *cfg = load(yaml, &d);
  assert_null(cfg);
  bool same = d.n == n;
  for (size_t i = 0; same && i < n; i++)
    same = d.items[i].pos.line == w[i].line && d.items[i].pos.col == w[i].col &&
           strcmp(d.items[i].msg, w[i].msg) == 0;
  if (!same) {
    print_error("for:\n%s\ngot:\n", yaml);
    for (size_t i = 0; i < d.n; i++)
      print_error("  %d:%d: %s\n", d.items[i].pos.line, d.items[i].pos.col, d.items[i].msg);
    print_error("want:\n");
    for (size_t i = 0; i < n; i++) print_error("  %d:%d: %s\n", w[i].line, w[i].col, w[i].msg);
  }
  cfg_diags_free(&d);
  return same;
}

/* An influx sink with url and db, followed by the given lines (indented 4). */
#define INFLUX(lines) \
  "services: {}\nsinks:\n  influx:\n    url: http://127.0.0.1:8086\n    db: tick\n" lines

static const char full_yaml[] =
    "services: {}\n"
    "sinks:\n"
    "  influx:\n"
    "    url: http://influx.local:8086/base/\n"
    "    db: tick\n"
    "    retention_policy: high_frequency\n"
    "    retention_policies:\n"
    "      - {name: default, duration: 30d, default: true}\n"
    "      - {name: high_frequency, duration: 7d}\n"
    "      - name: long_term\n"
    "        duration: 365d\n"
    "        default: false\n"
    "      - {name: forever, duration: inf}\n"
    "    create_database: true\n"
    "    batch: 2000\n"
    "    flush: 250ms\n"
    "    timeout: 5s\n"
    "    spool_max: 256MiB\n"
    "    username: vigil\n"
    "    password_file: ../secrets/influx.pw\n";

static void test_full(void **state) {
  struct vg_config *cfg = load_ok(full_yaml);
  const struct cfg_influx_sink *i = &cfg->sinks.influx;
  assert_true(i->enabled);
  assert_int_equal(i->pos.line, 4);
  assert_int_equal(i->pos.col, 5);
  assert_string_equal(i->url, "http://influx.local:8086/base");
  assert_string_equal(i->db, "tick");
  assert_string_equal(i->retention_policy, "high_frequency");
  assert_int_equal(i->n_rps, 4);
  assert_string_equal(i->rps[0].name, "default");
  assert_int_equal(i->rps[0].duration_ms, 30LL * 86400000);
  assert_true(i->rps[0].is_default);
  assert_string_equal(i->rps[1].name, "high_frequency");
  assert_int_equal(i->rps[1].duration_ms, 7LL * 86400000);
  assert_false(i->rps[1].is_default);
  assert_string_equal(i->rps[2].name, "long_term");
  assert_int_equal(i->rps[2].duration_ms, 365LL * 86400000);
  assert_int_equal(i->rps[2].pos.line, 10);
  assert_string_equal(i->rps[3].name, "forever");
  assert_int_equal(i->rps[3].duration_ms, 0);
  assert_true(i->create_database);
  assert_int_equal(i->batch, 2000);
  assert_int_equal(i->flush_ms, 250);
  assert_int_equal(i->timeout_ms, 5000);
  assert_int_equal(i->spool_max, 256LL << 20);
  assert_string_equal(i->username, "vigil");
  assert_string_equal(i->password_file, "/secrets/influx.pw");
  cfg_free(cfg);
}

static void test_defaults(void **state) {
  struct vg_config *cfg = load_ok("services: {}\n");
  assert_false(cfg->sinks.influx.enabled);
  assert_null(cfg->sinks.influx.url);
  cfg_free(cfg);

  cfg = load_ok(INFLUX(""));
  const struct cfg_influx_sink *i = &cfg->sinks.influx;
  assert_true(i->enabled);
  assert_string_equal(i->url, "http://127.0.0.1:8086");
  assert_string_equal(i->db, "tick");
  assert_null(i->retention_policy);
  assert_int_equal(i->n_rps, 0);
  assert_false(i->create_database);
  assert_int_equal(i->batch, 5000);
  assert_int_equal(i->flush_ms, 1000);
  assert_int_equal(i->timeout_ms, 10000);
  assert_int_equal(i->spool_max, 1LL << 30);
  assert_null(i->username);
  assert_null(i->password_file);
  cfg_free(cfg);

  cfg = load_ok("services: {}\nsinks: {}\n");
  assert_false(cfg->sinks.influx.enabled);
  cfg_free(cfg);
}

static void test_env_expansion(void **state) {
  setenv("VIGIL_TEST_INFLUX", "http://10.0.0.5:8086", 1);
  struct vg_config *cfg = load_ok("services: {}\nsinks:\n  influx: {url: \"${VIGIL_TEST_INFLUX}\", "
                                  "db: \"${VIGIL_TEST_DB:-tick}\"}\n");
  assert_string_equal(cfg->sinks.influx.url, "http://10.0.0.5:8086");
  assert_string_equal(cfg->sinks.influx.db, "tick");
  cfg_free(cfg);
  unsetenv("VIGIL_TEST_INFLUX");
}

static const struct {
  const char *yaml;
  int line, col;
  const char *msg;
} bad[] = {
    {"services: {}\nsinks: [influx]\n", 2, 8, "expected a mapping, got a list"},
    {"services: {}\nsinks:\n  infux: {}\n", 3, 3, "unknown key 'infux' (did you mean 'influx'?)"},
    {"services: {}\nsinks:\n  influx: on\n", 3, 11, "expected a mapping, got 'on'"},
    {"services: {}\nsinks:\n  influx:\n    db: tick\n", 4, 5, "sinks.influx needs url"},
    {"services: {}\nsinks:\n  influx:\n    url: http://h\n", 4, 5, "sinks.influx needs db"},
    {INFLUX("    bach: 10\n"), 6, 5, "unknown key 'bach' (did you mean 'batch'?)"},
    {"services: {}\nsinks:\n  influx: {url: \"ftp://h\", db: tick}\n", 3, 17,
     "bad url 'ftp://h': expected http://host[:port][/path] or https://..."},
    {"services: {}\nsinks:\n  influx: {url: \"http://\", db: tick}\n", 3, 17,
     "bad url 'http://': expected http://host[:port][/path] or https://..."},
    {"services: {}\nsinks:\n  influx: {url: \"http://h/w?x=1\", db: tick}\n", 3, 17,
     "bad url 'http://h/w?x=1': expected http://host[:port][/path] or https://..."},
    {"services: {}\nsinks:\n  influx: {url: \"http://h\", db: \"t ick\"}\n", 3, 33,
     "bad database name 't ick': use 1 to 128 letters, digits, '_', '.' or '-'"},
    {"services: {}\nsinks:\n  influx: {url: \"http://h\", db: \"\"}\n", 3, 33,
     "bad database name '': use 1 to 128 letters, digits, '_', '.' or '-'"},
    {INFLUX("    retention_policy: \"a;b\"\n"), 6, 23,
     "bad retention policy name 'a;b': use 1 to 128 letters, digits, '_', '.' or '-'"},
    {INFLUX("    retention_policies: {name: x}\n"), 6, 25,
     "expected a list of retention policies, got a mapping"},
    {INFLUX("    retention_policies: [x]\n"), 6, 26, "expected a mapping, got 'x'"},
    {INFLUX("    retention_policies:\n      - {duration: 7d}\n"), 7, 9,
     "a retention policy needs a name"},
    {INFLUX("    retention_policies:\n      - {name: a}\n"), 7, 9,
     "a retention policy needs a duration"},
    {INFLUX("    retention_policies:\n      - {name: a, duration: 30m}\n"), 7, 29,
     "a retention policy lasts at least 1h (or 0 / inf for ever), got '30m'"},
    {INFLUX("    retention_policies:\n      - {name: a, duration: 7days}\n"), 7, 29,
     "bad duration '7days': expected a number followed by ms, s, m, h or d"},
    {INFLUX("    retention_policies:\n      - {name: a, duration: 7d, default: yes}\n"), 7, 42,
     "expected true or false, got 'yes'"},
    {INFLUX("    retention_policies:\n      - {name: a, duration: 7d, dflt: true}\n"), 7, 33,
     "unknown key 'dflt'"},
    {INFLUX("    retention_policies:\n      - {name: a, duration: 7d}\n"
            "      - {name: a, duration: 30d}\n"),
     8, 9, "retention policy 'a' is listed twice"},
    {INFLUX("    retention_policies:\n      - {name: a, duration: 7d, default: true}\n"
            "      - {name: b, duration: 30d, default: true}\n"),
     8, 9, "only one retention policy can be the default (already: line 7)"},
    {INFLUX("    create_database: 1\n"), 6, 22, "expected true or false, got '1'"},
    {INFLUX("    batch: 0\n"), 6, 12, "batch must be between 1 and 1000000, got '0'"},
    {INFLUX("    batch: many\n"), 6, 12, "expected an integer, got 'many'"},
    {INFLUX("    flush: 0\n"), 6, 12, "flush must be more than 0"},
    {INFLUX("    flush: soon\n"), 6, 12,
     "bad duration 'soon': expected a number followed by ms, s, m, h or d"},
    {INFLUX("    timeout: 0\n"), 6, 14, "timeout must be more than 0"},
    {INFLUX("    spool_max: 1KiB\n"), 6, 16, "spool_max must be at least 64KiB"},
    {INFLUX("    spool_max: lots\n"), 6, 16,
     "bad size 'lots': expected a number of bytes, optionally followed by B, KB, MB, GB, KiB, "
     "MiB or GiB"},
    {INFLUX("    username: vigil\n"), 6, 5, "username needs password_file"},
    {INFLUX("    password_file: /x\n"), 6, 5, "password_file needs username"},
    {INFLUX("    username: \"\"\n    password_file: /x\n"), 6, 15, "username is empty"},
    {INFLUX("    username: u\n    password_file: \"\"\n"), 7, 20, "password_file is empty"},
};

static void test_bad_values(void **state) {
  size_t failed = 0;
  for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
    struct want w = {bad[i].line, bad[i].col, bad[i].msg};
    failed += !check_diags(bad[i].yaml, &w, 1);
  }
  assert_int_equal(failed, 0);
}

static void test_many_problems(void **state) {
  static const char yaml[] = "services: {}\n"
                             "sinks:\n"
                             "  influx:\n"
                             "    url: localhost:8086\n"
                             "    batch: -1\n"
                             "    retention_policies:\n"
                             "      - {name: \"x y\", duration: 1m}\n";
  static const struct want w[] = {
      {4, 5, "sinks.influx needs db"},
      {4, 10, "bad url 'localhost:8086': expected http://host[:port][/path] or https://..."},
      {5, 12, "batch must be between 1 and 1000000, got '-1'"},
      {7, 16, "bad retention policy name 'x y': use 1 to 128 letters, digits, '_', '.' or '-'"},
      {7, 33, "a retention policy lasts at least 1h (or 0 / inf for ever), got '1m'"},
  };
  assert_true(check_diags(yaml, w, VG_ARRAY_LEN(w)));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_env_expansion),
      cmocka_unit_test(test_bad_values),
      cmocka_unit_test(test_many_problems),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
