/* Unit tests of export: the PromQL metric-name extractor, the dashboard JSON, the alert
 * rules, the scrape job and writing the Grafana files. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/core.h"
#include "export/export.h"
#include "metrics/metrics.h"

/* The names ex_promql_metrics finds in expr, comma-separated ("" for none). */
static char *names_of(const char *expr, int *rc) {
  char **names = NULL;
  *rc = ex_promql_metrics(expr, &names);
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_puts(&b, "");
  for (size_t i = 0; names && names[i]; i++) vg_buf_printf(&b, "%s%s", i ? "," : "", names[i]);
  vg_strv_free(names);
  return b.data;
}

static void promql_metric_names(void **state) {
  static const struct {
    const char *expr, *want;
  } cases[] = {
      {"vigil_stack_ready", "vigil_stack_ready"},
      {"vigil_stack_ready == 0", "vigil_stack_ready"},
      {"absent(up{job=\"vigil\"} == 1)", "up"},
      {"sum(a{service=~\"$service\"}) / count(a{service=~\"$service\"})", "a"},
      {"histogram_quantile(0.95, sum by (le, service) (rate(h_bucket{s=\"x\"}[5m])))", "h_bucket"},
      {"sum(rate(x[1m])) by (instance) / on (instance) group_left (job) y", "x,y"},
      {"time() - (start > 0)", "start"},
      {"a and b or c unless on(i) d", "a,b,c,d"},
      {"SUM BY (le) (A) + Bool", "A"},
      {"x offset 5m + y @ start()", "x,y"},
      {"increase(r_total[$__rate_interval]) > 3", "r_total"},
      {"rate(m{a=\"}{([\"}[5m:30s])", "m"},
      {"label_replace(q, \"dst\", \"$1\", \"src\", \"(.*)\")", "q"},
      {"1e-3 * w + .5 + 0x1f + Inf - nan", "w"},
      {"count_values(\"v\", k) # a comment naming nothing_here", "k"},
      {"ns:recorded:rate5m{a='b\\'c'}", "ns:recorded:rate5m"},
      {"max without(job) (z) + ${var} + [[other]]", "z"},
      {"time()", ""},
      {"a + a + b", "a,b"},
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
    int rc;
    char *got = names_of(cases[i].expr, &rc);
    if (rc != 0 || strcmp(got, cases[i].want) != 0)
      fail_msg("%s: got [%s] rc %d, want [%s]", cases[i].expr, got, rc, cases[i].want);
    free(got);
  }
  static const char *const malformed[] = {
      "rate(x[5m)", "sum(x", "x)", "x{a=\"b}", "x]", "a{b=\"c\"", "\"open", "x[5m]}",
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(malformed); i++) {
    int rc;
    free(names_of(malformed[i], &rc));
    if (rc != -1) fail_msg("%s: accepted", malformed[i]);
  }
}

static void metric_origins(void **state) {
  struct mt_registry *f = ex_metric_families();
  assert_int_equal(ex_metric_origin(f, "vigil_service_up"), EX_METRIC_EXPOSED);
  assert_int_equal(ex_metric_origin(f, "process_open_fds"), EX_METRIC_EXPOSED);
  assert_int_equal(ex_metric_origin(f, "vigil_service_ready_seconds_bucket"), EX_METRIC_EXPOSED);
  assert_int_equal(ex_metric_origin(f, "vigil_service_ready_seconds_sum"), EX_METRIC_EXPOSED);
  assert_int_equal(ex_metric_origin(f, "vigil_service_ready_seconds_count"), EX_METRIC_EXPOSED);
  /* a histogram has no sample of its bare name, a counter no buckets */
  assert_int_equal(ex_metric_origin(f, "vigil_service_ready_seconds"), EX_METRIC_UNKNOWN);
  assert_int_equal(ex_metric_origin(f, "vigil_service_restarts_total_bucket"), EX_METRIC_UNKNOWN);
  assert_int_equal(ex_metric_origin(f, "up"), EX_METRIC_SYNTHETIC);
  assert_int_equal(ex_metric_origin(f, "vigil_service_upp"), EX_METRIC_UNKNOWN);
  assert_int_equal(ex_metric_origin(f, "service"), EX_METRIC_UNKNOWN);
  assert_int_equal(ex_metric_origin(f, "_bucket"), EX_METRIC_UNKNOWN);
  /* every module's families are there, not a hand-kept list of some */
  static const char *const each_module[] = {
      "vigil_build_info",          "process_cpu_seconds_total",
      "vigil_stack_ready",         "vigil_http_requests_total",
      "vigil_store_block_bytes",   "vigil_store_last_flush_timestamp_seconds",
      "vigil_store_query_duration_seconds_bucket",
      "vigil_feed_gaps_total",     "vigil_feed_expected_messages_per_second",
      "vigil_sink_spool_points",   "vigil_sink_failed_batches_total",
      "vigil_compute_breaker_trips_total", "vigil_compute_last_run_cells",
      "vigil_compute_attempt_duration_seconds_count",
      "vigil_failover_role",       "vigil_failover_lease_renewals_total",
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(each_module); i++)
    if (ex_metric_origin(f, each_module[i]) != EX_METRIC_EXPOSED)
      fail_msg("%s is not among the families", each_module[i]);
  mt_registry_free(f);
}

static void metric_list_is_every_family(void **state) {
  struct mt_registry *f = ex_metric_families();
  char *list = ex_metric_list(f);
  size_t lines = 0;
  for (const char *p = list; (p = strchr(p, '\n')); p++) lines++;
  assert_int_equal(lines, mt_family_count(f));
  assert_non_null(strstr(list, "vigil_feed_decode_errors_total\tcounter\tfeed,reason\t"
                               "Points (or, for frames and too_large, messages) the feed refused, by reason.\n"));
  assert_non_null(strstr(list, "vigil_stack_ready\tgauge\t\t"));
  assert_non_null(strstr(list, "vigil_service_ready_seconds\thistogram\tservice\t"));
  /* listing the families made no series but the build info */
  struct vg_buf out;
  vg_buf_init(&out);
  mt_render(f, MT_FORMAT_TEXT, &out);
  for (const char *p = out.data; p && *p; p = strchr(p, '\n') + 1) {
    if (*p != '#' && strncmp(p, "vigil_build_info{", 17) != 0 && strncmp(p, "process_", 8) != 0)
      fail_msg("a series in the family list: %.60s", p);
    if (!strchr(p, '\n')) break;
  }
  vg_buf_free(&out);
  free(list);
  mt_registry_free(f);
}

/* Every expression is one line, well formed, and selects only metrics vigil exposes
 * (or, when synthetic_ok, that Prometheus adds). */
static void check_exprs(char **exprs, bool synthetic_ok) {
  assert_non_null(exprs);
  assert_true(vg_strv_len(exprs) > 0);
  struct mt_registry *f = ex_metric_families();
  for (size_t i = 0; exprs[i]; i++) {
    assert_null(strchr(exprs[i], '\n'));
    char **names = NULL;
    if (ex_promql_metrics(exprs[i], &names) != 0) fail_msg("malformed: %s", exprs[i]);
    if (vg_strv_len(names) == 0) fail_msg("no metric in: %s", exprs[i]);
    for (size_t k = 0; names[k]; k++) {
      enum ex_metric_origin o = ex_metric_origin(f, names[k]);
      if (!(o == EX_METRIC_EXPOSED || (synthetic_ok && o == EX_METRIC_SYNTHETIC)))
        fail_msg("%s (in %s) is not a metric vigil exposes", names[k], exprs[i]);
    }
    vg_strv_free(names);
  }
  char err[512];
  if (ex_check_exprs(f, exprs, synthetic_ok, err, sizeof err) != 0) fail_msg("%s", err);
  mt_registry_free(f);
}

static void check_exprs_names_the_culprit(void **state) {
  struct mt_registry *f = ex_metric_families();
  char err[512];
  char *ok[] = {"rate(vigil_feed_messages_total[1m])", "up", NULL};
  assert_int_equal(ex_check_exprs(f, ok, true, err, sizeof err), 0);
  assert_int_equal(ex_check_exprs(f, ok, false, err, sizeof err), -1);
  assert_string_equal(err, "up (in up) is not a metric vigil exposes");
  char *bad[] = {"vigil_feed_messages_total", "sum(vigil_feeds_total) by (feed)", NULL};
  assert_int_equal(ex_check_exprs(f, bad, true, err, sizeof err), -1);
  assert_non_null(strstr(err, "vigil_feeds_total (in sum(vigil_feeds_total) by (feed))"));
  char *malformed[] = {"rate(x[5m)", NULL};
  assert_int_equal(ex_check_exprs(f, malformed, true, err, sizeof err), -1);
  assert_non_null(strstr(err, "malformed"));
  mt_registry_free(f);
}

static void expressions_use_known_metrics(void **state) {
  char **d = ex_grafana_exprs();
  check_exprs(d, false);
  vg_strv_free(d);
  char **r = ex_rules_exprs();
  check_exprs(r, true);
  vg_strv_free(r);
}

static void rules_hold_every_alert(void **state) {
  char *y = ex_rules_yaml();
  assert_non_null(strstr(y, "groups:\n  - name: vigil\n    rules:\n"));
  static const char *const alerts[] = {
      "VigilAbsent",          "VigilServiceDown",          "VigilServiceFatal",
      "VigilServiceRestartingOften", "VigilStackNotReady", "VigilFeedSilent",
      "VigilFeedBelowExpectedRate",  "VigilFeedGaps",      "VigilFeedRefusing",
      "VigilBridgeScanGaps", "VigilBridgeDataStale", "VigilBridgeQuarantining",
      "VigilStoreFlushLagging",      "VigilStoreRefusingValues", "VigilStoreCorruptBlocks",
      "VigilSinkDown",        "VigilSinkDroppingPoints",   "VigilSinkRejectedBatches",
      "VigilSinkSpoolNotDraining",   "VigilComputeBreakerTripped", "VigilComputeDeadCells",
      "VigilComputeRunOverdue", "VigilDataHealthCritical", "VigilMonitorStalled",
      "VigilNotifierFailing", "VigilFailoverNoActive", "VigilFailoverSeveralActive",
      "VigilFailoverHappened", "VigilFailoverLeaseErrors"};
  for (size_t i = 0; i < VG_ARRAY_LEN(alerts); i++) {
    char *want = vg_asprintf("      - alert: %s\n        expr: '", alerts[i]);
    if (!strstr(y, want)) fail_msg("no alert %s in:\n%s", alerts[i], y);
    free(want);
  }
  assert_non_null(strstr(y, "expr: 'absent(up{job=\"vigil\"} == 1)'\n        for: 1m\n"));
  assert_non_null(strstr(y, "expr: 'increase(vigil_service_restarts_total[15m]) > 3'"));
  assert_non_null(strstr(y, "{{ $labels.service }}"));
  /* every rule has for, a severity and both annotations */
  size_t n_alert = 0, n_for = 0, n_sev = 0, n_sum = 0, n_desc = 0;
  for (const char *p = y; (p = strstr(p, "- alert: ")); p++) n_alert++;
  for (const char *p = y; (p = strstr(p, "\n        for: ")); p++) n_for++;
  for (const char *p = y; (p = strstr(p, "severity: ")); p++) {
    assert_true(strncmp(p + 10, "warning\n", 8) == 0 || strncmp(p + 10, "critical\n", 9) == 0);
    n_sev++;
  }
  for (const char *p = y; (p = strstr(p, "\n          summary: '")); p++) n_sum++;
  for (const char *p = y; (p = strstr(p, "\n          description: '")); p++) n_desc++;
  assert_int_equal(n_alert, VG_ARRAY_LEN(alerts));
  assert_int_equal(n_for, n_alert);
  assert_int_equal(n_sev, n_alert);
  assert_int_equal(n_sum, n_alert);
  assert_int_equal(n_desc, n_alert);
  char **exprs = ex_rules_exprs();
  assert_int_equal(vg_strv_len(exprs), n_alert);
  vg_strv_free(exprs);
  free(y);
}

static void assert_datasource(json_t *ds, const char *uid) {
  assert_true(json_is_object(ds));
  assert_string_equal(json_string_value(json_object_get(ds, "type")), "prometheus");
  assert_string_equal(json_string_value(json_object_get(ds, "uid")), uid);
}

/* Parses the dashboard for uid and checks its shape; returns its expressions in panel
 * order (vg_strv_free). */
static char **check_dashboard(const char *uid) {
  char *text = ex_grafana_dashboard(strcmp(uid, EX_DATASOURCE_UID) == 0 ? NULL : uid);
  json_error_t je;
  json_t *d = json_loads(text, 0, &je);
  if (!d) fail_msg("dashboard is not JSON: %s at %d:%d", je.text, je.line, je.column);
  assert_string_equal(json_string_value(json_object_get(d, "uid")), "vigil-system-health");
  assert_string_equal(json_string_value(json_object_get(d, "title")), "vigil \xe2\x80\x94 system health");
  json_int_t schema = json_integer_value(json_object_get(d, "schemaVersion"));
  assert_true(schema >= 36 && schema <= 39);
  assert_string_equal(json_string_value(json_object_get(d, "refresh")), "10s");
  assert_string_equal(json_string_value(json_object_get(json_object_get(d, "time"), "from")), "now-1h");

  json_t *vars = json_object_get(json_object_get(d, "templating"), "list");
  assert_int_equal(json_array_size(vars), 1);
  json_t *v = json_array_get(vars, 0);
  assert_string_equal(json_string_value(json_object_get(v, "name")), "service");
  assert_string_equal(json_string_value(json_object_get(v, "query")),
                      "label_values(vigil_service_up, service)");
  assert_true(json_is_true(json_object_get(v, "multi")));
  assert_true(json_is_true(json_object_get(v, "includeAll")));
  assert_datasource(json_object_get(v, "datasource"), uid);

  json_t *panels = json_object_get(d, "panels");
  size_t n = json_array_size(panels);
  assert_true(n > 0);
  char **exprs = vg_calloc(1, sizeof *exprs);
  size_t n_exprs = 0, n_graphs = 0;
  int *ids = vg_calloc(n, sizeof *ids);
  for (size_t i = 0; i < n; i++) {
    json_t *p = json_array_get(panels, i);
    const char *type = json_string_value(json_object_get(p, "type"));
    assert_non_null(type);
    assert_non_null(json_string_value(json_object_get(p, "title")));
    ids[i] = (int)json_integer_value(json_object_get(p, "id"));
    for (size_t k = 0; k < i; k++) assert_int_not_equal(ids[k], ids[i]);
    json_t *g = json_object_get(p, "gridPos");
    json_int_t x = json_integer_value(json_object_get(g, "x")),
               w = json_integer_value(json_object_get(g, "w")),
               h = json_integer_value(json_object_get(g, "h"));
    assert_true(json_is_integer(json_object_get(g, "y")));
    assert_true(x >= 0 && w > 0 && h > 0 && x + w <= 24);
    /* no two panels overlap */
    for (size_t k = 0; k < i; k++) {
      json_t *o = json_object_get(json_array_get(panels, k), "gridPos");
      json_int_t ox = json_integer_value(json_object_get(o, "x")),
                 oy = json_integer_value(json_object_get(o, "y")),
                 ow = json_integer_value(json_object_get(o, "w")),
                 oh = json_integer_value(json_object_get(o, "h")),
                 y = json_integer_value(json_object_get(g, "y"));
      bool overlap = x < ox + ow && ox < x + w && y < oy + oh && oy < y + h;
      if (overlap) fail_msg("panels %zu and %zu overlap", k, i);
    }
    if (strcmp(type, "row") == 0) continue; /* a row holds no queries */
    n_graphs++;
    assert_datasource(json_object_get(p, "datasource"), uid);
    json_t *targets = json_object_get(p, "targets");
    assert_true(json_array_size(targets) > 0);
    for (size_t t = 0; t < json_array_size(targets); t++) {
      json_t *target = json_array_get(targets, t);
      assert_datasource(json_object_get(target, "datasource"), uid);
      assert_non_null(json_string_value(json_object_get(target, "refId")));
      const char *expr = json_string_value(json_object_get(target, "expr"));
      assert_non_null(expr);
      exprs = vg_realloc(exprs, (n_exprs + 2) * sizeof *exprs);
      exprs[n_exprs++] = vg_strdup(expr);
      exprs[n_exprs] = NULL;
    }
  }
  assert_true(n_graphs >= 10);
  free(ids);
  json_decref(d);
  free(text);
  return exprs;
}

static void dashboard_shape(void **state) {
  char **from_json = check_dashboard(EX_DATASOURCE_UID);
  char **listed = ex_grafana_exprs();
  assert_int_equal(vg_strv_len(from_json), vg_strv_len(listed));
  for (size_t i = 0; listed[i]; i++) assert_string_equal(from_json[i], listed[i]);
  /* the panels the dashboard promises */
  static const char *const wanted[] = {
      "vigil_stack_ready", "sum(vigil_service_up", "vigil_service_state{", "== 1",
      "increase(vigil_service_restarts_total", "time() - (vigil_service_start_time_seconds",
      "histogram_quantile(0.5, sum by (le, service) (rate(vigil_service_ready_seconds_bucket",
      "histogram_quantile(0.95,", "rate(vigil_service_watchdog_pings_total",
      "rate(process_cpu_seconds_total{job=\"vigil\"}[1m])", "process_resident_memory_bytes",
      "process_open_fds", "process_max_fds"};
  for (size_t w = 0; w < VG_ARRAY_LEN(wanted); w++) {
    bool found = false;
    for (size_t i = 0; listed[i] && !found; i++) found = strstr(listed[i], wanted[w]) != NULL;
    if (!found) fail_msg("no expression has %s", wanted[w]);
  }
  vg_strv_free(listed);
  vg_strv_free(from_json);
}

/* The dashboard has a row per module, whose every query uses that module's metrics,
 * with the panels issue 12 asks for; and the rules cover every module too. */
static void dashboard_and_rules_cover_every_module(void **state) {
  static const struct {
    const char *row, *prefix;
    const char *wanted[6];
  } modules[] = {
      {"Feeds", "vigil_feed_",
       {"vigil_feed_expected_messages_per_second", "vigil_feed_gaps_total",
        "vigil_feed_decode_errors_total", "time() - (vigil_feed_last_message_timestamp_seconds"}},
      {"Store", "vigil_store_",
       {"vigil_store_values_written_total", "vigil_store_policy_bytes / vigil_store_policy_values",
        "time() - vigil_store_last_flush_timestamp_seconds"}},
      {"InfluxDB sink", "vigil_sink_",
       {"vigil_sink_spool_points", "vigil_sink_dropped_points_total",
        "vigil_sink_failed_batches_total"}},
      {"Compute", "vigil_compute_",
       {"vigil_compute_last_run_cells", "vigil_compute_breaker_trips_total",
        "vigil_compute_last_run_timestamp_seconds"}},
  };
  char *text = ex_grafana_dashboard(NULL);
  json_error_t je;
  json_t *d = json_loads(text, 0, &je);
  assert_non_null(d);
  json_t *panels = json_object_get(d, "panels");
  for (size_t m = 0; m < VG_ARRAY_LEN(modules); m++) {
    size_t i = 0, n = json_array_size(panels), n_panels = 0;
    for (; i < n; i++) {
      json_t *p = json_array_get(panels, i);
      if (strcmp(json_string_value(json_object_get(p, "type")), "row") == 0 &&
          strcmp(json_string_value(json_object_get(p, "title")), modules[m].row) == 0)
        break;
    }
    if (i == n) fail_msg("no row %s", modules[m].row);
    bool found[6] = {false};
    for (i++; i < n; i++) {
      json_t *p = json_array_get(panels, i);
      if (strcmp(json_string_value(json_object_get(p, "type")), "row") == 0) break;
      n_panels++;
      json_t *targets = json_object_get(p, "targets");
      for (size_t t = 0; t < json_array_size(targets); t++) {
        const char *expr = json_string_value(json_object_get(json_array_get(targets, t), "expr"));
        if (!strstr(expr, modules[m].prefix))
          fail_msg("row %s: %s uses no %s metric", modules[m].row, expr, modules[m].prefix);
        for (size_t w = 0; modules[m].wanted[w]; w++)
          if (strstr(expr, modules[m].wanted[w])) found[w] = true;
      }
    }
    assert_true(n_panels >= 3);
    for (size_t w = 0; modules[m].wanted[w]; w++)
      if (!found[w]) fail_msg("row %s: no panel with %s", modules[m].row, modules[m].wanted[w]);
  }
  json_decref(d);
  free(text);
  char **rules = ex_rules_exprs();
  for (size_t m = 0; m < VG_ARRAY_LEN(modules); m++) {
    size_t n = 0;
    for (size_t i = 0; rules[i]; i++) n += strstr(rules[i], modules[m].prefix) != NULL;
    if (n < 3) fail_msg("%zu rules on %s metrics", n, modules[m].prefix);
  }
  vg_strv_free(rules);
}

static void datasource_uid_everywhere(void **state) {
  vg_strv_free(check_dashboard("foo"));
  char *text = ex_grafana_dashboard("foo");
  assert_null(strstr(text, EX_DATASOURCE_UID));
  assert_null(strstr(text, "${DS_"));
  free(text);
  char *ds = ex_grafana_datasource_yaml("foo", "https://prom.example:9090/");
  assert_non_null(strstr(ds, "    type: prometheus\n    uid: 'foo'\n"));
  assert_non_null(strstr(ds, "    url: 'https://prom.example:9090/'\n"));
  assert_non_null(strstr(ds, "isDefault: false"));
  assert_non_null(strstr(ds, "access: proxy"));
  free(ds);
  ds = ex_grafana_datasource_yaml(NULL, NULL);
  assert_non_null(strstr(ds, "uid: '" EX_DATASOURCE_UID "'"));
  assert_non_null(strstr(ds, "url: 'http://127.0.0.1:9090'"));
  free(ds);
}

static void validation(void **state) {
  assert_true(ex_uid_valid("vigil-prometheus"));
  assert_true(ex_uid_valid("P1809F7CD0C75ACF3"));
  assert_false(ex_uid_valid(""));
  assert_false(ex_uid_valid("a b"));
  assert_false(ex_uid_valid("a'b"));
  assert_false(ex_uid_valid("0123456789012345678901234567890123456789x"));
  assert_true(ex_url_valid("http://127.0.0.1:9090"));
  assert_true(ex_url_valid("https://prom.example/prefix"));
  assert_false(ex_url_valid("ftp://x"));
  assert_false(ex_url_valid("http://"));
  assert_false(ex_url_valid("http:///path"));
  assert_false(ex_url_valid("http://a b"));
  assert_false(ex_url_valid("http://a'b"));
  assert_true(ex_target_valid("127.0.0.1:9464"));
  assert_true(ex_target_valid("feed-host.example:1"));
  assert_true(ex_target_valid("[::1]:65535"));
  assert_true(ex_target_valid(":9464"));
  assert_false(ex_target_valid("127.0.0.1"));
  assert_false(ex_target_valid("127.0.0.1:0"));
  assert_false(ex_target_valid("127.0.0.1:65536"));
  assert_false(ex_target_valid("127.0.0.1:94x"));
  assert_false(ex_target_valid("::1:9464"));
  assert_false(ex_target_valid("[::1:9464"));
  assert_false(ex_target_valid("[]:9464"));
  assert_false(ex_target_valid("a b:9464"));
  assert_false(ex_target_valid("a'b:9464"));
}

static void scrape_job(void **state) {
  char *y = ex_scrape_yaml("127.0.0.1:9464");
  assert_non_null(strstr(y, "\n- job_name: vigil\n  scrape_interval: 15s\n"));
  assert_non_null(strstr(y, "    - targets: ['127.0.0.1:9464']\n"));
  assert_null(strstr(y, "every interface"));
  free(y);
  y = ex_scrape_yaml("0.0.0.0:9500");
  assert_non_null(strstr(y, "targets: ['127.0.0.1:9500']"));
  assert_non_null(strstr(y, "every interface"));
  free(y);
  y = ex_scrape_yaml(":9501");
  assert_non_null(strstr(y, "targets: ['127.0.0.1:9501']"));
  free(y);
  y = ex_scrape_yaml("[::1]:9502");
  assert_non_null(strstr(y, "targets: ['[::1]:9502']"));
  free(y);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) fail_msg("cannot open %s", path);
  struct vg_buf b;
  vg_buf_init(&b);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) vg_buf_append(&b, chunk, n);
  fclose(f);
  vg_buf_puts(&b, "");
  return b.data;
}

static size_t count_entries(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static void grafana_files(void **state) {
  char tmpl[] = "/tmp/vigil-export-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  char *out = vg_asprintf("%s/grafana/nested", tmpl);
  struct ex_grafana_opts o = {.datasource_uid = "ds-1", .prometheus_url = "http://prom:9090"};
  char err[256] = "";
  assert_int_equal(ex_grafana_write(out, &o, err, sizeof err), 0);

  char *dash = vg_asprintf("%s/dashboards/vigil-system-health.json", out);
  char *ds = vg_asprintf("%s/provisioning/datasources/vigil.yaml", out);
  char *prov = vg_asprintf("%s/provisioning/dashboards/vigil.yaml", out);
  char *text = slurp(dash);
  json_error_t je;
  json_t *d = json_loads(text, 0, &je);
  assert_non_null(d);
  json_decref(d);
  assert_non_null(strstr(text, "\"uid\": \"ds-1\""));
  free(text);
  text = slurp(ds);
  assert_non_null(strstr(text, "uid: 'ds-1'"));
  assert_non_null(strstr(text, "url: 'http://prom:9090'"));
  free(text);
  char real[PATH_MAX];
  assert_non_null(realpath(out, real));
  char *want = vg_asprintf("      path: '%s/dashboards'\n", real);
  text = slurp(prov);
  assert_non_null(strstr(text, want));
  assert_non_null(strstr(text, "    folder: vigil\n"));
  assert_non_null(strstr(text, "    type: file\n"));
  free(text);
  free(want);

  /* rewriting replaces the files and leaves no temp files behind */
  assert_int_equal(ex_grafana_write(out, &(struct ex_grafana_opts){0}, err, sizeof err), 0);
  text = slurp(ds);
  assert_non_null(strstr(text, "uid: 'vigil-prometheus'"));
  free(text);
  char *sub = vg_asprintf("%s/dashboards", out);
  assert_int_equal(count_entries(sub), 1);
  free(sub);

  /* a file where a directory should be */
  char *blocker = vg_asprintf("%s/file", tmpl);
  assert_int_equal(ex_write_file(blocker, "x", 1), 0);
  char *bad = vg_asprintf("%s/sub", blocker);
  assert_true(ex_grafana_write(bad, &o, err, sizeof err) < 0);
  assert_non_null(strstr(err, blocker));

  assert_int_equal(unlink(dash), 0);
  assert_int_equal(unlink(ds), 0);
  assert_int_equal(unlink(prov), 0);
  assert_int_equal(unlink(blocker), 0);
  static const char *const dirs[] = {"/provisioning/datasources", "/provisioning/dashboards",
                                     "/provisioning", "/dashboards", ""};
  for (size_t i = 0; i < VG_ARRAY_LEN(dirs); i++) {
    char *p = vg_asprintf("%s%s", out, dirs[i]);
    assert_int_equal(rmdir(p), 0);
    free(p);
  }
  char *parent = vg_asprintf("%s/grafana", tmpl);
  assert_int_equal(rmdir(parent), 0);
  assert_int_equal(rmdir(tmpl), 0);
  free(parent);
  free(bad);
  free(blocker);
  free(dash);
  free(ds);
  free(prov);
  free(out);
}

static void write_file_replaces(void **state) {
  char tmpl[] = "/tmp/vigil-export-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  char *path = vg_asprintf("%s/rules.yml", tmpl);
  assert_int_equal(ex_write_file(path, "first version\n", 14), 0);
  assert_int_equal(ex_write_file(path, "second\n", 7), 0);
  char *text = slurp(path);
  assert_string_equal(text, "second\n");
  free(text);
  assert_int_equal(count_entries(tmpl), 1);
  char *missing = vg_asprintf("%s/no/such/dir", tmpl);
  assert_int_equal(ex_write_file(missing, "x", 1), -ENOENT);
  assert_int_equal(count_entries(tmpl), 1);
  assert_int_equal(unlink(path), 0);
  assert_int_equal(rmdir(tmpl), 0);
  free(missing);
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(promql_metric_names),
      cmocka_unit_test(metric_origins),
      cmocka_unit_test(metric_list_is_every_family),
      cmocka_unit_test(check_exprs_names_the_culprit),
      cmocka_unit_test(expressions_use_known_metrics),
      cmocka_unit_test(rules_hold_every_alert),
      cmocka_unit_test(dashboard_shape),
      cmocka_unit_test(dashboard_and_rules_cover_every_module),
      cmocka_unit_test(datasource_uid_everywhere),
      cmocka_unit_test(validation),
      cmocka_unit_test(scrape_job),
      cmocka_unit_test(grafana_files),
      cmocka_unit_test(write_file_replaces),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
