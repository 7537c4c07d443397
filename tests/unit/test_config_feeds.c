/*
 * Tests of the `feeds` section of the config (src/config/feeds.c): a feed with every
 * key, the defaults, and each problem with its exact message at its exact line:col.
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
  return cfg_load_string("test.yaml", yaml, strlen(yaml), d);
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

static void test_full_feed(void **state) {
  struct vg_config *cfg = load_ok(
      "feeds:\n"
      "  kraken:\n"
      "    connect: [tcp://127.0.0.1:5558, \"ipc:///tmp/k\"]\n"
      "    socket: sub\n"
      "    topics: [ticks, depth]\n"
      "    format: json\n"
      "    precision: ms\n"
      "    json: {measurement_key: m, measurement: ticks, time_key: ts, tags: [sym], fields: [px], ints: [seq]}\n"
      "    expect: {rate: 60/m, seq_field: seq, seq_key: sym, max_gap: 5}\n"
      "    quarantine: {keep: 7}\n"
      "    batch: 1000\n"
      "    hwm: 50000\n"
      "  oanda:\n"
      "    bind: tcp://*:5560\n"
      "    socket: pull\n");
  assert_int_equal(cfg->n_feeds, 2);
  const struct cfg_feed *f = cfg_find_feed(cfg, "kraken");
  assert_non_null(f);
  assert_int_equal(f->pos.line, 2);
  assert_false(f->bind);
  assert_string_equal(f->endpoints[0], "tcp://127.0.0.1:5558");
  assert_string_equal(f->endpoints[1], "ipc:///tmp/k");
  assert_null(f->endpoints[2]);
  assert_int_equal(f->socket, CFG_FEED_SUB);
  assert_string_equal(f->topics[1], "depth");
  assert_int_equal(f->format, CFG_FEED_JSON);
  assert_string_equal(f->precision, "ms");
  assert_string_equal(f->json_measurement_key, "m");
  assert_string_equal(f->json_measurement, "ticks");
  assert_string_equal(f->json_time_key, "ts");
  assert_string_equal(f->json_tags[0], "sym");
  assert_string_equal(f->json_fields[0], "px");
  assert_string_equal(f->json_ints[0], "seq");
  assert_true(f->expect_rate == 1.0);
  assert_string_equal(f->seq_field, "seq");
  assert_string_equal(f->seq_key[0], "sym");
  assert_int_equal(f->max_gap, 5);
  assert_int_equal(f->quarantine_keep, 7);
  assert_int_equal(f->batch, 1000);
  assert_int_equal(f->hwm, 50000);
  f = cfg_find_feed(cfg, "oanda");
  assert_true(f->bind);
  assert_int_equal(f->socket, CFG_FEED_PULL);
  assert_string_equal(f->endpoints[0], "tcp://*:5560");
  assert_int_equal(f->format, CFG_FEED_LINE);
  assert_string_equal(f->precision, "ns");
  assert_null(f->topics);
  assert_null(f->seq_field);
  assert_true(f->expect_rate == 0);
  assert_int_equal(f->quarantine_keep, 100);
  assert_null(cfg_find_feed(cfg, "nope"));
  assert_string_equal(cfg_feed_socket_name(CFG_FEED_PULL), "pull");
  assert_string_equal(cfg_feed_format_name(CFG_FEED_JSON), "json");
  cfg_free(cfg);
}

static void test_rate(void **state) {
  double r;
  assert_int_equal(cfg_parse_rate("1000/s", &r), 0);
  assert_true(r == 1000);
  assert_int_equal(cfg_parse_rate("7200/h", &r), 0);
  assert_true(r == 2);
  assert_int_equal(cfg_parse_rate("2.5", &r), 0);
  assert_true(r == 2.5);
  assert_int_equal(cfg_parse_rate("1000/d", &r), -1);
  assert_int_equal(cfg_parse_rate("/s", &r), -1);
  assert_int_equal(cfg_parse_rate("-1/s", &r), -1);
  assert_int_equal(cfg_parse_rate("fast", &r), -1);
}

struct bad {
  const char *yaml;
  int line, col;
  const char *msg;
};

static void test_bad_feeds(void **state) {
  static const struct bad cases[] = {
      {"feeds: [a]\n", 1, 8, "expected a mapping of feeds, got a list"},
      {"feeds:\n  a b: {connect: tcp://h:1}\n", 2, 3,
       "bad feed name 'a b': use up to 64 letters, digits, '_', '.' or '-', starting with a letter or digit"},
      {"feeds:\n  a: {socket: sub}\n", 2, 6, "feed 'a' needs connect: or bind: with its endpoints"},
      {"feeds:\n  a: {connect: tcp://h:1, bind: tcp://h:2}\n", 2, 27, "a feed either connects or binds, not both"},
      {"feeds:\n  a: {connect: []}\n", 2, 16, "no endpoint: give one or more, e.g. tcp://127.0.0.1:5558"},
      {"feeds:\n  a: {connect: [tcp://h:1, \"http://x\"]}\n", 2, 28,
       "bad endpoint 'http://x': expected tcp://host:port, ipc://path or inproc://name"},
      {"feeds:\n  a: {connect: \"tcp://\"}\n", 2, 16,
       "bad endpoint 'tcp://': expected tcp://host:port, ipc://path or inproc://name"},
      {"feeds:\n  a: {connect: tcp://h:1, socket: pair}\n", 2, 35, "unknown socket 'pair': expected sub or pull"},
      {"feeds:\n  a: {connect: tcp://h:1, format: csv}\n", 2, 35, "unknown format 'csv': expected line or json"},
      {"feeds:\n  a: {connect: tcp://h:1, precision: h}\n", 2, 38, "unknown precision 'h': expected ns, us, ms or s"},
      {"feeds:\n  a: {connect: tcp://h:1, socket: pull, topics: [x]}\n", 2, 41, "topics need socket: sub"},
      {"feeds:\n  a: {connect: tcp://h:1, json: {tags: [x]}}\n", 2, 27, "json: needs format: json"},
      {"feeds:\n  a: {connect: tcp://h:1, expect: {rate: fast}}\n", 2, 42,
       "bad rate 'fast': expected messages per second, minute or hour, e.g. 1000/s"},
      {"feeds:\n  a: {connect: tcp://h:1, expect: {max_gap: 1}}\n", 2, 36, "max_gap needs seq_field"},
      {"feeds:\n  a: {connect: tcp://h:1, expect: {seq_key: sym}}\n", 2, 36, "seq_key needs seq_field"},
      {"feeds:\n  a: {connect: tcp://h:1, expect: {seq_field: s, max_gap: -1}}\n", 2, 59,
       "max_gap must be 0 or more, got '-1'"},
      {"feeds:\n  a: {connect: tcp://h:1, expect: {seq_fild: s}}\n", 2, 36,
       "unknown key 'seq_fild' (did you mean 'seq_field'?)"},
      {"feeds:\n  a: {connect: tcp://h:1, batch: 0}\n", 2, 34, "batch must be between 1 and 1000000, got '0'"},
      {"feeds:\n  a: {connect: tcp://h:1, hwm: 0}\n", 2, 32, "hwm must be between 1 and 100000000, got '0'"},
      {"feeds:\n  a: {conect: tcp://h:1}\n", 2, 7, "unknown key 'conect' (did you mean 'connect'?)"},
  };
  int bad = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct cfg_diags d;
    struct vg_config *cfg = load(cases[i].yaml, &d);
    bool found = false;
    for (size_t k = 0; k < d.n; k++)
      found |= d.items[k].pos.line == cases[i].line && d.items[k].pos.col == cases[i].col &&
               strcmp(d.items[k].msg, cases[i].msg) == 0;
    if (!found || cfg) {
      print_error("case %zu:\n%s\ngot:\n", i, cases[i].yaml);
      for (size_t k = 0; k < d.n; k++)
        print_error("  %d:%d: %s\n", d.items[k].pos.line, d.items[k].pos.col, d.items[k].msg);
      bad++;
    }
    cfg_diags_free(&d);
  }
  assert_int_equal(bad, 0);
}

static void test_feeds_equal(void **state) {
  const char *base = "feeds:\n  a: {connect: tcp://h:1, expect: {seq_field: s, seq_key: [x]}}\n";
  struct vg_config *a = load_ok(base), *b = load_ok(base);
  struct vg_config *c = load_ok("feeds:\n  a: {connect: tcp://h:1, expect: {seq_field: s, seq_key: [y]}}\n");
  struct vg_config *d = load_ok("feeds:\n  a: {connect: [tcp://h:1, tcp://h:2], expect: {seq_field: s, seq_key: [x]}}\n");
  struct vg_config *e = load_ok("services: {}\n");
  assert_true(cfg_feeds_equal(a, b));
  assert_false(cfg_feeds_equal(a, c));
  assert_false(cfg_feeds_equal(a, d));
  assert_false(cfg_feeds_equal(a, e));
  assert_true(cfg_feeds_equal(e, e));
  cfg_free(a), cfg_free(b), cfg_free(c), cfg_free(d), cfg_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_feed),
      cmocka_unit_test(test_rate),
      cmocka_unit_test(test_bad_feeds),
      cmocka_unit_test(test_feeds_equal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
