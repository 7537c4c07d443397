/*
 * Tests of the InfluxDB sink's pure parts: what an HTTP status means (retry or not),
 * InfluxDB's error message in an answer, InfluxQL durations and point counting. The
 * sink against a real InfluxDB is tested in integration/test_sink_influx.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"
#include "sink/sink_int.h"

#include <string.h>

static void test_classify(void **state) {
  assert_int_equal(sink__classify(200), SINK__OK);
  assert_int_equal(sink__classify(204), SINK__OK);
  assert_int_equal(sink__classify(0), SINK__RETRY); /* no answer */
  assert_int_equal(sink__classify(500), SINK__RETRY);
  assert_int_equal(sink__classify(503), SINK__RETRY);
  assert_int_equal(sink__classify(408), SINK__RETRY);
  assert_int_equal(sink__classify(429), SINK__RETRY);
  assert_int_equal(sink__classify(400), SINK__REJECT);
  assert_int_equal(sink__classify(401), SINK__REJECT);
  assert_int_equal(sink__classify(404), SINK__REJECT);
  assert_int_equal(sink__classify(413), SINK__REJECT);
  assert_int_equal(sink__classify(301), SINK__REJECT);
}

static void test_influx_error(void **state) {
  char msg[64];
  const char *a = "{\"error\":\"unable to parse 'x': missing fields\"}\n";
  sink__influx_error(a, strlen(a), msg, sizeof msg);
  assert_string_equal(msg, "unable to parse 'x': missing fields");
  const char *b = "{\"results\":[{\"statement_id\":0},{\"statement_id\":1,"
                  "\"error\":\"retention policy already exists\"}]}";
  sink__influx_error(b, strlen(b), msg, sizeof msg);
  assert_string_equal(msg, "retention policy already exists");
  const char *c = "{\"results\":[{\"statement_id\":0}]}";
  sink__influx_error(c, strlen(c), msg, sizeof msg);
  assert_string_equal(msg, "");
  sink__influx_error("<html>", 6, msg, sizeof msg);
  assert_string_equal(msg, "");
  const char *longer = "{\"error\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"}";
  sink__influx_error(longer, strlen(longer), msg, sizeof msg);
  assert_int_equal(strlen(msg), sizeof msg - 1);
}

static void test_durations(void **state) {
  char buf[32];
  sink__influxql_duration(0, buf, sizeof buf);
  assert_string_equal(buf, "INF");
  sink__influxql_duration(7LL * 86400000, buf, sizeof buf);
  assert_string_equal(buf, "7d");
  sink__influxql_duration(36LL * 3600000, buf, sizeof buf);
  assert_string_equal(buf, "36h");
  sink__influxql_duration(5400000, buf, sizeof buf);
  assert_string_equal(buf, "5400s");
  sink__influxql_duration(3600500, buf, sizeof buf);
  assert_string_equal(buf, "3600500ms");
}

static void test_count_points(void **state) {
  assert_int_equal(sink__count_points("", 0), 0);
  assert_int_equal(sink__count_points("m v=1 1\n", 8), 1);
  assert_int_equal(sink__count_points("m v=1 1", 7), 1); /* no final newline */
  const char *t = "m v=1 1\n\n# comment\n  \r\nm v=2 2\r\n  # indented comment\nm v=3 3\n";
  assert_int_equal(sink__count_points(t, strlen(t)), 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_classify),
      cmocka_unit_test(test_influx_error),
      cmocka_unit_test(test_durations),
      cmocka_unit_test(test_count_points),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
