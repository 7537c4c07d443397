/* Unit tests of metrics: the exact exposition in both formats, escaping, number
 * formatting, order, removal, re-registration, content negotiation, threads, the
 * process collector, the assertions on misuse, and promtool's verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "metrics/metrics_int.h" /* mt__fmt_value, for the round-trip sweep */

/* Renders r; the caller frees the result. */
static char *render(struct mt_registry *r, enum mt_format fmt) {
  struct vg_buf b;
  vg_buf_init(&b);
  mt_render(r, fmt, &b);
  char *s = vg_strdup(b.data ? b.data : "");
  vg_buf_free(&b);
  return s;
}

/* The value of the first sample line that starts with `line` (name and labels). */
static double sample(const char *text, const char *line) {
  size_t n = strlen(line);
  for (const char *p = text; p; p = strchr(p, '\n')) {
    if (*p == '\n') p++;
    if (strncmp(p, line, n) == 0 && p[n] == ' ') return strtod(p + n + 1, NULL);
  }
  fail_msg("no sample %s in:\n%s", line, text);
  return 0;
}

static struct mt_registry *sample_registry(void) {
  struct mt_registry *r = mt_registry_new();
  static const char *const req_labels[] = {"listener", "code", NULL};
  struct mt_family *req = mt_counter(r, "vigil_test_requests_total", "Requests served.", req_labels);
  mt_inc(mt_get(req, (const char *[]){"tcp", "200"}), 3);
  mt_inc(mt_get(req, (const char *[]){"control", "404"}), 1);
  struct mt_family *up = mt_gauge(r, "vigil_test_up", "Whether the test is up.", NULL);
  mt_set(mt_get(up, NULL), 1);
  static const char *const lat_labels[] = {"service", NULL};
  static const double bounds[] = {0.005, 0.5, 1, 2.5};
  struct mt_family *lat = mt_histogram(r, "vigil_test_latency_seconds", "Spawn to ready.",
                                       lat_labels, bounds, 4);
  struct mt_series *a = mt_get(lat, (const char *[]){"a"});
  mt_observe(a, 0.0009765625);
  mt_observe(a, 0.25);
  mt_observe(a, 0.75);
  mt_observe(a, 3);
  mt_get(lat, (const char *[]){"b"});
  return r;
}

static const char SAMPLE_TEXT[] =
    "# HELP vigil_test_latency_seconds Spawn to ready.\n"
    "# TYPE vigil_test_latency_seconds histogram\n"
    "vigil_test_latency_seconds_bucket{service=\"a\",le=\"0.005\"} 1\n"
    "vigil_test_latency_seconds_bucket{service=\"a\",le=\"0.5\"} 2\n"
    "vigil_test_latency_seconds_bucket{service=\"a\",le=\"1\"} 3\n"
    "vigil_test_latency_seconds_bucket{service=\"a\",le=\"2.5\"} 3\n"
    "vigil_test_latency_seconds_bucket{service=\"a\",le=\"+Inf\"} 4\n"
    "vigil_test_latency_seconds_sum{service=\"a\"} 4.0009765625\n"
    "vigil_test_latency_seconds_count{service=\"a\"} 4\n"
    "vigil_test_latency_seconds_bucket{service=\"b\",le=\"0.005\"} 0\n"
    "vigil_test_latency_seconds_bucket{service=\"b\",le=\"0.5\"} 0\n"
    "vigil_test_latency_seconds_bucket{service=\"b\",le=\"1\"} 0\n"
    "vigil_test_latency_seconds_bucket{service=\"b\",le=\"2.5\"} 0\n"
    "vigil_test_latency_seconds_bucket{service=\"b\",le=\"+Inf\"} 0\n"
    "vigil_test_latency_seconds_sum{service=\"b\"} 0\n"
    "vigil_test_latency_seconds_count{service=\"b\"} 0\n"
    "# HELP vigil_test_requests_total Requests served.\n"
    "# TYPE vigil_test_requests_total counter\n"
    "vigil_test_requests_total{listener=\"control\",code=\"404\"} 1\n"
    "vigil_test_requests_total{listener=\"tcp\",code=\"200\"} 3\n"
    "# HELP vigil_test_up Whether the test is up.\n"
    "# TYPE vigil_test_up gauge\n"
    "vigil_test_up 1\n";

static const char SAMPLE_OPENMETRICS[] =
    "# TYPE vigil_test_latency_seconds histogram\n"
    "# HELP vigil_test_latency_seconds Spawn to ready.\n"
    "vigil_test_latency_seconds_bucket{service=\"a\",le=\"0.005\"} 1\n"
    "vigil_test_latency_seconds_bucket{service=\"a\",le=\"0.5\"} 2\n"
    "vigil_test_latency_seconds_bucket{service=\"a\",le=\"1.0\"} 3\n"
    "vigil_test_latency_seconds_bucket{service=\"a\",le=\"2.5\"} 3\n"
    "vigil_test_latency_seconds_bucket{service=\"a\",le=\"+Inf\"} 4\n"
    "vigil_test_latency_seconds_sum{service=\"a\"} 4.0009765625\n"
    "vigil_test_latency_seconds_count{service=\"a\"} 4\n"
    "vigil_test_latency_seconds_bucket{service=\"b\",le=\"0.005\"} 0\n"
    "vigil_test_latency_seconds_bucket{service=\"b\",le=\"0.5\"} 0\n"
    "vigil_test_latency_seconds_bucket{service=\"b\",le=\"1.0\"} 0\n"
    "vigil_test_latency_seconds_bucket{service=\"b\",le=\"2.5\"} 0\n"
    "vigil_test_latency_seconds_bucket{service=\"b\",le=\"+Inf\"} 0\n"
    "vigil_test_latency_seconds_sum{service=\"b\"} 0\n"
    "vigil_test_latency_seconds_count{service=\"b\"} 0\n"
    "# TYPE vigil_test_requests counter\n"
    "# HELP vigil_test_requests Requests served.\n"
    "vigil_test_requests_total{listener=\"control\",code=\"404\"} 1\n"
    "vigil_test_requests_total{listener=\"tcp\",code=\"200\"} 3\n"
    "# TYPE vigil_test_up gauge\n"
    "# HELP vigil_test_up Whether the test is up.\n"
    "vigil_test_up 1\n"
    "# EOF\n";

static void text_exposition_is_exact(void **state) {
  struct mt_registry *r = sample_registry();
  char *text = render(r, MT_FORMAT_TEXT);
  assert_string_equal(text, SAMPLE_TEXT);
  char *again = render(r, MT_FORMAT_TEXT);
  assert_string_equal(again, text); /* stable */
  free(again);
  free(text);
  mt_registry_free(r);
}

static void openmetrics_exposition_is_exact(void **state) {
  struct mt_registry *r = sample_registry();
  char *text = render(r, MT_FORMAT_OPENMETRICS);
  assert_string_equal(text, SAMPLE_OPENMETRICS);
  free(text);
  mt_registry_free(r);
}

static void render_appends(void **state) {
  struct mt_registry *r = sample_registry();
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_puts(&b, "before\n");
  mt_render(r, MT_FORMAT_TEXT, &b);
  assert_int_equal(b.len, strlen("before\n") + strlen(SAMPLE_TEXT));
  assert_string_equal(b.data + 7, SAMPLE_TEXT);
  vg_buf_free(&b);
  mt_registry_free(r);
}

static void labels_and_help_are_escaped(void **state) {
  struct mt_registry *r = mt_registry_new();
  static const char *const labels[] = {"v", NULL};
  struct mt_family *f =
      mt_gauge(r, "vigil_test_escape", "Back\\slash, \"quotes\" and\nnewline.", labels);
  mt_set(mt_get(f, (const char *[]){"a\\b\"c\nd"}), 1);
  char *text = render(r, MT_FORMAT_TEXT);
  assert_string_equal(text, "# HELP vigil_test_escape Back\\\\slash, \"quotes\" and\\nnewline.\n"
                            "# TYPE vigil_test_escape gauge\n"
                            "vigil_test_escape{v=\"a\\\\b\\\"c\\nd\"} 1\n");
  free(text);
  text = render(r, MT_FORMAT_OPENMETRICS);
  assert_string_equal(text, "# TYPE vigil_test_escape gauge\n"
                            "# HELP vigil_test_escape Back\\\\slash, \\\"quotes\\\" and\\nnewline.\n"
                            "vigil_test_escape{v=\"a\\\\b\\\"c\\nd\"} 1\n"
                            "# EOF\n");
  free(text);
  mt_registry_free(r);
}

/* The text a value renders as, in a one-gauge registry without help. */
static void assert_value_renders(double v, const char *want) {
  struct mt_registry *r = mt_registry_new();
  mt_set(mt_get(mt_gauge(r, "g", NULL, NULL), NULL), v);
  char *text = render(r, MT_FORMAT_TEXT);
  char line[128];
  snprintf(line, sizeof line, "# TYPE g gauge\ng %s\n", want);
  assert_string_equal(text, line);
  free(text);
  mt_registry_free(r);
}

static void special_values_and_shortest_digits(void **state) {
  assert_value_renders(0, "0");
  assert_value_renders(-0.0, "0");
  assert_value_renders(1, "1");
  assert_value_renders(-1, "-1");
  assert_value_renders(1024, "1024");
  assert_value_renders(123456789012, "123456789012");
  assert_value_renders(9007199254740991.0, "9007199254740991"); /* 2^53 - 1 */
  assert_value_renders(9007199254740992.0, "9.007199254740992e+15");
  assert_value_renders(1e21, "1e+21");
  assert_value_renders(0.1, "0.1");
  assert_value_renders(0.1 + 0.2, "0.30000000000000004");
  assert_value_renders(1.0 / 3, "0.3333333333333333");
  assert_value_renders(-2.5, "-2.5");
  assert_value_renders(123456.5, "123456.5");
  assert_value_renders(1234567.5, "1.2345675e+06");
  assert_value_renders(0.0001, "0.0001");
  assert_value_renders(0.00001, "1e-05");
  assert_value_renders(1.5e-7, "1.5e-07");
  assert_value_renders(1.5e300, "1.5e+300");
  assert_value_renders(5e-324, "5e-324");
  assert_value_renders(DBL_MAX, "1.7976931348623157e+308");
  assert_value_renders(INFINITY, "+Inf");
  assert_value_renders(-INFINITY, "-Inf");
  assert_value_renders(NAN, "NaN");
}

/* s reads back as v, and (unless v is an integer, written in full) no shorter
 * decimal would. */
static void assert_round_trip_shortest(double v) {
  char s[MT__NUM_MAX];
  size_t len = mt__fmt_value(v, s);
  assert_true(len < MT__NUM_MAX && strlen(s) == len);
  if (strtod(s, NULL) != v) fail_msg("%s does not read back as %.17g", s, v);
  if (v == floor(v) && fabs(v) < 9007199254740992.0) return;
  int n = 0;
  bool leading = true;
  for (const char *p = s; *p && *p != 'e'; p++) {
    if (*p < '0' || *p > '9') continue;
    if (leading && *p == '0') continue;
    leading = false;
    n++;
  }
  if (n > 1) {
    char shorter[40];
    snprintf(shorter, sizeof shorter, "%.*e", n - 2, v);
    if (strtod(shorter, NULL) == v) fail_msg("%s is not the shortest: %s", s, shorter);
  }
}

/* Doubles of every kind read back as themselves, in the fewest digits. */
static void values_round_trip(void **state) {
  uint64_t x = 0x9e3779b97f4a7c15u;
  for (int i = 0; i < 100000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    double any = mt__bits_to_double(x); /* mostly huge or tiny magnitudes */
    if (isfinite(any)) assert_round_trip_shortest(any);
    assert_round_trip_shortest((double)(x % 100000000) / 1000.0); /* 12345.678 */
    assert_round_trip_shortest((double)(x % 1000000000) / 1e9);   /* ns to seconds */
    assert_round_trip_shortest((double)(x >> 20) / (double)(x % 1000 + 1)); /* 16-17 digits */
    assert_round_trip_shortest(mt__bits_to_double(x & 0x800fffffffffffffu)); /* subnormal */
  }
}

static void le_values_like_go_and_openmetrics(void **state) {
  struct mt_registry *r = mt_registry_new();
  static const double bounds[] = {1e-5, 0.005, 1, 2.5, 100000, 1e6, INFINITY};
  mt_get(mt_histogram(r, "h_seconds", "H.", NULL, bounds, VG_ARRAY_LEN(bounds)), NULL);
  char *text = render(r, MT_FORMAT_TEXT);
  assert_non_null(strstr(text, "h_seconds_bucket{le=\"1e-05\"} 0\n"
                               "h_seconds_bucket{le=\"0.005\"} 0\n"
                               "h_seconds_bucket{le=\"1\"} 0\n"
                               "h_seconds_bucket{le=\"2.5\"} 0\n"
                               "h_seconds_bucket{le=\"100000\"} 0\n"
                               "h_seconds_bucket{le=\"1e+06\"} 0\n"
                               "h_seconds_bucket{le=\"+Inf\"} 0\n"
                               "h_seconds_sum 0\n"
                               "h_seconds_count 0\n"));
  free(text);
  text = render(r, MT_FORMAT_OPENMETRICS);
  assert_non_null(strstr(text, "h_seconds_bucket{le=\"1e-05\"} 0\n"
                               "h_seconds_bucket{le=\"0.005\"} 0\n"
                               "h_seconds_bucket{le=\"1.0\"} 0\n"
                               "h_seconds_bucket{le=\"2.5\"} 0\n"
                               "h_seconds_bucket{le=\"100000.0\"} 0\n"
                               "h_seconds_bucket{le=\"1e+06\"} 0\n"
                               "h_seconds_bucket{le=\"+Inf\"} 0\n"));
  free(text);
  mt_registry_free(r);
}

static void histogram_buckets_hold_their_upper_bound(void **state) {
  struct mt_registry *r = mt_registry_new();
  static const double bounds[] = {1, 2};
  struct mt_series *s = mt_get(mt_histogram(r, "h", NULL, NULL, bounds, 2), NULL);
  mt_observe(s, 1); /* le="1" is inclusive */
  mt_observe(s, 1.5);
  mt_observe(s, 2);
  mt_observe(s, 7);
  mt_observe(s, -3);
  char *text = render(r, MT_FORMAT_TEXT);
  assert_string_equal(text, "# TYPE h histogram\n"
                            "h_bucket{le=\"1\"} 2\n"
                            "h_bucket{le=\"2\"} 4\n"
                            "h_bucket{le=\"+Inf\"} 5\n"
                            "h_sum 8.5\n"
                            "h_count 5\n");
  free(text);
  mt_registry_free(r);
}

static void output_is_sorted_bytewise(void **state) {
  struct mt_registry *r = mt_registry_new();
  mt_get(mt_gauge(r, "zz", NULL, NULL), NULL);
  static const char *const k[] = {"k", NULL};
  struct mt_family *s = mt_gauge(r, "m", NULL, k);
  const char *order[] = {"b", "a", "\xc3\xa9", "c", "B", "aa", "", "\x7f"};
  for (size_t i = 0; i < VG_ARRAY_LEN(order); i++) mt_get(s, (const char *[]){order[i]});
  static const char *const xy[] = {"x", "y", NULL};
  struct mt_family *two = mt_gauge(r, "aa", NULL, xy);
  mt_get(two, (const char *[]){"a", "z"});
  mt_get(two, (const char *[]){"b", ""});
  mt_get(two, (const char *[]){"a", "b"});
  mt_get(two, (const char *[]){"", "x"});
  char *text = render(r, MT_FORMAT_TEXT);
  assert_string_equal(text, "# TYPE aa gauge\n"
                            "aa{x=\"\",y=\"x\"} 0\n"
                            "aa{x=\"a\",y=\"b\"} 0\n"
                            "aa{x=\"a\",y=\"z\"} 0\n"
                            "aa{x=\"b\",y=\"\"} 0\n"
                            "# TYPE m gauge\n"
                            "m{k=\"\"} 0\n"
                            "m{k=\"B\"} 0\n"
                            "m{k=\"a\"} 0\n"
                            "m{k=\"aa\"} 0\n"
                            "m{k=\"b\"} 0\n"
                            "m{k=\"c\"} 0\n"
                            "m{k=\"\x7f\"} 0\n"
                            "m{k=\"\xc3\xa9\"} 0\n"
                            "# TYPE zz gauge\n"
                            "zz 0\n");
  free(text);
  mt_registry_free(r);
}

static void remove_and_clear(void **state) {
  struct mt_registry *r = mt_registry_new();
  static const char *const k[] = {"k", NULL};
  struct mt_family *f = mt_gauge(r, "g", "G.", k);
  mt_set(mt_get(f, (const char *[]){"a"}), 1);
  mt_set(mt_get(f, (const char *[]){"b"}), 2);
  mt_set(mt_get(f, (const char *[]){"c"}), 3);
  mt_remove(f, (const char *[]){"b"});
  mt_remove(f, (const char *[]){"nope"});
  char *text = render(r, MT_FORMAT_TEXT);
  assert_string_equal(text, "# HELP g G.\n# TYPE g gauge\ng{k=\"a\"} 1\ng{k=\"c\"} 3\n");
  free(text);
  mt_clear(f);
  text = render(r, MT_FORMAT_TEXT);
  assert_string_equal(text, "# HELP g G.\n# TYPE g gauge\n");
  free(text);
  assert_true(mt_value(mt_get(f, (const char *[]){"a"})) == 0); /* created anew */
  text = render(r, MT_FORMAT_OPENMETRICS);
  assert_string_equal(text, "# TYPE g gauge\n# HELP g G.\ng{k=\"a\"} 0\n# EOF\n");
  free(text);
  mt_registry_free(r);
}

static void registering_again_returns_the_family(void **state) {
  struct mt_registry *r = mt_registry_new();
  static const char *const k[] = {"service", NULL};
  static const double b[] = {0.1, 1};
  static const double b_inf[] = {0.1, 1, INFINITY};
  struct mt_family *c = mt_counter(r, "x_total", "X.", k);
  mt_inc(mt_get(c, (const char *[]){"a"}), 2);
  assert_ptr_equal(mt_counter(r, "x_total", "X again.", k), c);
  assert_true(mt_value(mt_get(c, (const char *[]){"a"})) == 2);
  struct mt_family *g = mt_gauge(r, "y", "Y.", NULL);
  assert_ptr_equal(mt_gauge(r, "y", "Y.", NULL), g);
  struct mt_family *h = mt_histogram(r, "z_seconds", "Z.", k, b, 2);
  assert_ptr_equal(mt_histogram(r, "z_seconds", "Z.", k, b_inf, 3), h);
  assert_ptr_equal(mt_get(c, (const char *[]){"a"}), mt_get(c, (const char *[]){"a"}));
  mt_registry_free(r);
}

static void counters_gauges_and_values(void **state) {
  struct mt_registry *r = mt_registry_new();
  struct mt_series *c = mt_get(mt_counter(r, "c_total", NULL, NULL), NULL);
  struct mt_series *g = mt_get(mt_gauge(r, "g", NULL, NULL), NULL);
  mt_inc(c, 1);
  mt_inc(c, 0.5);
  mt_add(c, 2);
  assert_true(mt_value(c) == 3.5);
  mt_set(c, 10); /* a collector mirroring a monotonic source */
  assert_true(mt_value(c) == 10);
  mt_set(g, 5);
  mt_add(g, -7);
  mt_inc(g, 0.25);
  assert_true(mt_value(g) == -1.75);
  mt_registry_free(r);
}

static int collector_calls;
static void collect_things(struct mt_registry *r, void *arg) {
  struct mt_family *f = arg;
  collector_calls++;
  mt_clear(f); /* rebuilt at every scrape */
  char v[16];
  snprintf(v, sizeof v, "%d", collector_calls);
  mt_set(mt_get(f, (const char *[]){v}), collector_calls);
}

static void collectors_run_before_render(void **state) {
  struct mt_registry *r = mt_registry_new();
  static const char *const k[] = {"n", NULL};
  struct mt_family *f = mt_gauge(r, "things", NULL, k);
  collector_calls = 0;
  mt_add_collector(r, collect_things, f);
  char *text = render(r, MT_FORMAT_TEXT);
  assert_string_equal(text, "# TYPE things gauge\nthings{n=\"1\"} 1\n");
  free(text);
  text = render(r, MT_FORMAT_TEXT);
  assert_string_equal(text, "# TYPE things gauge\nthings{n=\"2\"} 2\n");
  free(text);
  mt_registry_free(r);
}

static void build_info(void **state) {
  struct mt_registry *r = mt_registry_new();
  mt_register_build_info(r, "0.1.0", "abc123def456");
  char *text = render(r, MT_FORMAT_TEXT);
  assert_string_equal(text, "# HELP vigil_build_info A metric with a constant '1' value labeled "
                            "by version and commit from which vigil was built.\n"
                            "# TYPE vigil_build_info gauge\n"
                            "vigil_build_info{version=\"0.1.0\",commit=\"abc123def456\"} 1\n");
  free(text);
  mt_registry_free(r);
}

static void negotiation(void **state) {
  assert_int_equal(mt_negotiate(NULL), MT_FORMAT_TEXT);
  assert_int_equal(mt_negotiate(""), MT_FORMAT_TEXT);
  assert_int_equal(mt_negotiate("*/*"), MT_FORMAT_TEXT);
  assert_int_equal(mt_negotiate("text/plain"), MT_FORMAT_TEXT);
  assert_int_equal(mt_negotiate("text/plain;version=0.0.4"), MT_FORMAT_TEXT);
  assert_int_equal(mt_negotiate("application/openmetrics-text"), MT_FORMAT_OPENMETRICS);
  assert_int_equal(mt_negotiate("application/openmetrics-text; version=1.0.0; charset=utf-8"),
                   MT_FORMAT_OPENMETRICS);
  assert_int_equal(mt_negotiate("APPLICATION/OpenMetrics-Text; Version=\"1.0.0\""),
                   MT_FORMAT_OPENMETRICS);
  /* Prometheus 2.x */
  assert_int_equal(mt_negotiate("application/openmetrics-text;version=1.0.0,application/"
                                "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;"
                                "q=0.5,*/*;q=0.1"),
                   MT_FORMAT_OPENMETRICS);
  /* Prometheus 3.x */
  assert_int_equal(
      mt_negotiate("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
                   "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;"
                   "escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"),
      MT_FORMAT_OPENMETRICS);
  /* Prometheus with scrape_protocols: [PrometheusText0.0.4] */
  assert_int_equal(mt_negotiate("text/plain;version=0.0.4;q=0.5,*/*;q=0.1"), MT_FORMAT_TEXT);
  assert_int_equal(mt_negotiate("application/openmetrics-text;version=0.0.1"), MT_FORMAT_TEXT);
  assert_int_equal(mt_negotiate("application/openmetrics-text;version=2.0.0"), MT_FORMAT_TEXT);
  assert_int_equal(mt_negotiate("text/plain;q=1, application/openmetrics-text;q=0.5"),
                   MT_FORMAT_TEXT);
  assert_int_equal(mt_negotiate("text/plain;q=0.5, application/openmetrics-text;q=0.5"),
                   MT_FORMAT_OPENMETRICS);
  assert_int_equal(mt_negotiate("application/openmetrics-text;version=1.0.0;q=0.2,text/plain;q=0.3"),
                   MT_FORMAT_TEXT);
  assert_int_equal(mt_negotiate("application/openmetrics-text;q=0"), MT_FORMAT_TEXT);
  assert_int_equal(mt_negotiate("application/openmetrics-text;q=bogus"), MT_FORMAT_TEXT);
  assert_int_equal(mt_negotiate("application/openmetrics-text;q=0.1, */*"), MT_FORMAT_TEXT);
  assert_int_equal(mt_negotiate("application/openmetrics-text;q=0.1, text/*;q=0.05, */*"),
                   MT_FORMAT_OPENMETRICS);
  assert_int_equal(mt_negotiate("application/openmetrics-textual"), MT_FORMAT_TEXT);
  assert_int_equal(mt_negotiate(" , ,application/openmetrics-text ,"), MT_FORMAT_OPENMETRICS);
  assert_string_equal(mt_content_type(MT_FORMAT_TEXT), "text/plain; version=0.0.4; charset=utf-8");
  assert_string_equal(mt_content_type(MT_FORMAT_OPENMETRICS),
                      "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

/* ---- threads ---- */

struct hammer {
  struct mt_series *c, *h;
};

static void *hammer_one_series(void *p) {
  struct hammer *hm = p;
  for (int i = 0; i < 100000; i++) {
    mt_inc(hm->c, 1);
    mt_observe(hm->h, i % 2 ? 0.5 : 2);
  }
  return NULL;
}

static void four_threads_on_one_series(void **state) {
  struct mt_registry *r = mt_registry_new();
  static const double b[] = {1};
  struct hammer hm = {
      .c = mt_get(mt_counter(r, "c_total", NULL, NULL), NULL),
      .h = mt_get(mt_histogram(r, "h", NULL, NULL, b, 1), NULL),
  };
  pthread_t t[4];
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, hammer_one_series, &hm), 0);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  assert_true(mt_value(hm.c) == 400000);
  char *text = render(r, MT_FORMAT_TEXT);
  assert_string_equal(text, "# TYPE c_total counter\n"
                            "c_total 400000\n"
                            "# TYPE h histogram\n"
                            "h_bucket{le=\"1\"} 200000\n"
                            "h_bucket{le=\"+Inf\"} 400000\n"
                            "h_sum 500000\n"
                            "h_count 400000\n");
  free(text);
  mt_registry_free(r);
}

struct creator {
  struct mt_family *f;
  int id;
};

static void *create_series(void *p) {
  struct creator *c = p;
  for (int j = 0; j < 500; j++) {
    char v[32];
    snprintf(v, sizeof v, "t%d-%03d", c->id, j);
    mt_inc(mt_get(c->f, (const char *[]){v}), 1);
    mt_inc(mt_get(c->f, (const char *[]){"shared"}), 1);
  }
  return NULL;
}

static void *render_meanwhile(void *p) {
  struct mt_registry *r = p;
  for (int i = 0; i < 20; i++) free(render(r, MT_FORMAT_TEXT));
  return NULL;
}

static void threads_create_series_concurrently(void **state) {
  struct mt_registry *r = mt_registry_new();
  static const char *const k[] = {"k", NULL};
  struct mt_family *f = mt_counter(r, "made_total", NULL, k);
  struct creator c[4];
  pthread_t t[5];
  for (int i = 0; i < 4; i++) {
    c[i] = (struct creator){.f = f, .id = i};
    assert_int_equal(pthread_create(&t[i], NULL, create_series, &c[i]), 0);
  }
  assert_int_equal(pthread_create(&t[4], NULL, render_meanwhile, r), 0);
  for (int i = 0; i < 5; i++) pthread_join(t[i], NULL);
  assert_true(mt_value(mt_get(f, (const char *[]){"shared"})) == 2000);
  char *text = render(r, MT_FORMAT_TEXT);
  /* 2001 series, in order, each at 1 but the shared one */
  int n = 0;
  char prev[64] = "";
  for (char *line = strchr(text, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
    char *end = strchr(line, '\n');
    char cur[64];
    snprintf(cur, sizeof cur, "%.*s", (int)(end - line), line);
    assert_true(strcmp(prev, cur) < 0);
    snprintf(prev, sizeof prev, "%s", cur);
    n++;
  }
  assert_int_equal(n, 2001);
  assert_true(sample(text, "made_total{k=\"t3-499\"}") == 1);
  free(text);
  mt_registry_free(r);
}

/* ---- process ---- */

static void process_metrics_are_plausible(void **state) {
  struct mt_registry *r = mt_registry_new();
  mt_register_process(r);
  char *text = render(r, MT_FORMAT_TEXT);
  static const char *const meta[] = {
      "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
      "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ",
      "# HELP process_max_fds Maximum number of open file descriptors.\n"
      "# TYPE process_max_fds gauge\nprocess_max_fds ",
      "# HELP process_open_fds Number of open file descriptors.\n"
      "# TYPE process_open_fds gauge\nprocess_open_fds ",
      "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
      "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes ",
      "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
      "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds ",
      "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
      "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes ",
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(meta); i++) assert_non_null(strstr(text, meta[i]));
  double cpu = sample(text, "process_cpu_seconds_total");
  double rss = sample(text, "process_resident_memory_bytes");
  double vsz = sample(text, "process_virtual_memory_bytes");
  double fds = sample(text, "process_open_fds");
  double max_fds = sample(text, "process_max_fds");
  double start = sample(text, "process_start_time_seconds");
  double now = vg_wall_seconds();
  assert_true(cpu >= 0 && cpu < 3600);
  assert_true(rss > 100 * 1024 && rss < 1e12);
  assert_true(vsz >= rss);
  assert_true(fds >= 3 && fds <= max_fds);
  assert_true(start > now - 3600 && start < now + 2);
  free(text);

  /* Ten more descriptors show up as ten more. */
  int extra[10];
  for (int i = 0; i < 10; i++) assert_true((extra[i] = open("/dev/null", O_RDONLY)) >= 0);
  text = render(r, MT_FORMAT_TEXT);
  assert_true(sample(text, "process_open_fds") == fds + 10);
  free(text);
  for (int i = 0; i < 10; i++) close(extra[i]);
  mt_registry_free(r);
}

/* ---- misuse is a VG_ASSERT, in a child so the abort does not end the run ---- */

static void misuse(int which) {
  struct mt_registry *r = mt_registry_new();
  static const char *const dunder[] = {"__reserved", NULL};
  static const char *const dash[] = {"a-b", NULL};
  static const char *const le[] = {"le", NULL};
  static const char *const twice[] = {"a", "a", NULL};
  static const char *const k[] = {"k", NULL};
  static const double down[] = {1, 0.5};
  switch (which) {
  case 0: mt_counter(r, "1bad_total", NULL, NULL); break;
  case 1: mt_gauge(r, "bad-name", NULL, NULL); break;
  case 2: mt_gauge(r, "g", NULL, dunder); break;
  case 3: mt_gauge(r, "g", NULL, dash); break;
  case 4: mt_histogram(r, "h", NULL, le, NULL, 0); break;
  case 5: mt_gauge(r, "g", NULL, twice); break;
  case 6: mt_counter(r, "requests", NULL, NULL); break;
  case 7: mt_histogram(r, "h", NULL, NULL, down, 2); break;
  case 8:
    mt_gauge(r, "x_total", NULL, NULL);
    mt_counter(r, "x_total", NULL, NULL);
    break;
  case 9:
    mt_gauge(r, "g", NULL, NULL);
    mt_gauge(r, "g", NULL, k);
    break;
  case 10: mt_inc(mt_get(mt_counter(r, "c_total", NULL, NULL), NULL), -1); break;
  case 11: mt_observe(mt_get(mt_gauge(r, "g", NULL, NULL), NULL), 1); break;
  case 12: mt_get(mt_gauge(r, "g", NULL, k), NULL); break;
  case 13: mt_gauge(r, "", NULL, NULL); break;
  }
  mt_registry_free(r);
}

static void misuse_aborts(void **state) {
  for (int which = 0; which <= 13; which++) {
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 2);
      misuse(which);
      _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
      fail_msg("misuse case %d did not abort (status %d)", which, status);
  }
}

/* ---- promtool ---- */

static void promtool_accepts_the_text_format(void **state) {
  if (system("command -v promtool >/dev/null 2>&1") != 0) {
    printf("note: promtool not installed; skipping `promtool check metrics`\n");
    return;
  }
  struct mt_registry *r = sample_registry();
  mt_register_process(r);
  mt_register_build_info(r, "0.1.0", "abc123def456");
  static const char *const k[] = {"service", NULL};
  mt_set(mt_get(mt_gauge(r, "vigil_test_escape", "Back\\slash, \"quotes\" and\nnewline.", k),
                (const char *[]){"a\\b\"c\nd"}),
         NAN);
  char *text = render(r, MT_FORMAT_TEXT);
  char in[] = "/tmp/vigil-test-metrics-XXXXXX";
  int fd = mkstemp(in);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  char cmd[256], out[64] = "";
  snprintf(cmd, sizeof cmd, "promtool check metrics <%s 2>&1", in);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = '\0';
  int rc = pclose(p);
  unlink(in);
  if (rc != 0 || n != 0) fail_msg("promtool check metrics: exit %d: %s\n%s", rc, out, text);
  free(text);
  mt_registry_free(r);
}

static void families_are_listed_in_name_order(void **state) {
  struct mt_registry *r = mt_registry_new();
  assert_int_equal(mt_family_count(r), 0);
  static const char *const labels[] = {"feed", "reason", NULL};
  static const double b[] = {1, 2};
  mt_gauge(r, "b_gauge", "A gauge.", NULL);
  mt_counter(r, "a_total", "A counter.", labels);
  mt_histogram(r, "c_seconds", NULL, NULL, b, 2);
  assert_int_equal(mt_family_count(r), 3);
  struct mt_family_info fi;
  mt_family_at(r, 0, &fi);
  assert_string_equal(fi.name, "a_total");
  assert_int_equal(fi.type, MT_COUNTER);
  assert_string_equal(fi.help, "A counter.");
  assert_int_equal(fi.n_labels, 2);
  assert_string_equal(fi.labels[0], "feed");
  assert_string_equal(fi.labels[1], "reason");
  mt_family_at(r, 1, &fi);
  assert_string_equal(fi.name, "b_gauge");
  assert_int_equal(fi.n_labels, 0);
  mt_family_at(r, 2, &fi);
  assert_string_equal(fi.name, "c_seconds");
  assert_null(fi.help);
  assert_string_equal(mt_type_name(fi.type), "histogram");
  assert_true(mt_family_find(r, "b_gauge", &fi));
  assert_string_equal(mt_type_name(fi.type), "gauge");
  assert_false(mt_family_find(r, "b", &fi));
  assert_false(mt_family_find(r, "a", &fi));
  /* listing creates no series: the exposition holds only HELP and TYPE lines */
  struct vg_buf out;
  vg_buf_init(&out);
  mt_render(r, MT_FORMAT_TEXT, &out);
  assert_null(strstr(out.data, "\na_total"));
  vg_buf_free(&out);
  mt_registry_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(text_exposition_is_exact),
      cmocka_unit_test(openmetrics_exposition_is_exact),
      cmocka_unit_test(render_appends),
      cmocka_unit_test(labels_and_help_are_escaped),
      cmocka_unit_test(special_values_and_shortest_digits),
      cmocka_unit_test(values_round_trip),
      cmocka_unit_test(le_values_like_go_and_openmetrics),
      cmocka_unit_test(histogram_buckets_hold_their_upper_bound),
      cmocka_unit_test(output_is_sorted_bytewise),
      cmocka_unit_test(remove_and_clear),
      cmocka_unit_test(registering_again_returns_the_family),
      cmocka_unit_test(families_are_listed_in_name_order),
      cmocka_unit_test(counters_gauges_and_values),
      cmocka_unit_test(collectors_run_before_render),
      cmocka_unit_test(build_info),
      cmocka_unit_test(negotiation),
      cmocka_unit_test(four_threads_on_one_series),
      cmocka_unit_test(threads_create_series_concurrently),
      cmocka_unit_test(process_metrics_are_plausible),
      cmocka_unit_test(misuse_aborts),
      cmocka_unit_test(promtool_accepts_the_text_format),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
