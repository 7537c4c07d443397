/*
 * Tests of the monitor (src/monitor/): the monitor: section's parsing and its errors,
 * the evaluation of each check over a table of entries (expect, critical with NaN and
 * strings, stale warn → critical with the restart flag, range, services, gaps with a
 * memo), document 001's health rules and their configurable thresholds, the alert
 * table (fire, escalate, dedup, resolve, a check that did not run keeps its alerts,
 * the bounded history), the history file (round trip, a cut at every byte, a flipped
 * bit), and the monitor's reader documents including "stopped evaluating is critical".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"
#include "../helpers/test_files.h"
#include "core/vtime.h"
#include "ingest/ingest.h"
#include "monitor/mon_int.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S 1000000000LL
#define NOW (1800000000LL * S)

/* ---- a table source ---- */
struct row {
  const char *key;
  struct tsdb_value v;
  int64_t received;
};
struct table {
  struct row *rows;
  size_t n;
  struct ingest_feed_stats feed;
  bool have_feed;
  struct cache_mirror_stats mirror;
};

static void fill(const struct row *r, struct cache_entry *e) {
  memset(e, 0, sizeof *e);
  e->key = vg_strdup(r->key);
  e->value = r->v;
  e->ts = r->received;
  e->received = r->received;
  snprintf(e->source, sizeof e->source, "feed:test");
}

static size_t t_each(void *arg, const char *glob, cache_each_fn *fn, void *fnarg) {
  struct table *t = arg;
  size_t k = 0;
  for (size_t i = 0; i < t->n; i++) {
    if (glob && fnmatch(glob, t->rows[i].key, 0) != 0) continue;
    struct cache_entry e;
    fill(&t->rows[i], &e);
    k++;
    bool go = fn(fnarg, &e);
    mon__entry_clear(&e);
    if (!go) break;
  }
  return k;
}

static int t_get(void *arg, const char *key, struct cache_entry *out) {
  struct table *t = arg;
  for (size_t i = 0; i < t->n; i++)
    if (!strcmp(t->rows[i].key, key)) {
      fill(&t->rows[i], out);
      return 0;
    }
  return -ENOENT;
}

static bool t_feed(void *arg, const char *name, struct ingest_feed_stats *out) {
  struct table *t = arg;
  if (!t->have_feed || strcmp(name, "ticks")) return false;
  *out = t->feed;
  return true;
}

static void t_mirror(void *arg, struct cache_mirror_stats *out) { *out = ((struct table *)arg)->mirror; }

static struct mon_source source(struct table *t) {
  return (struct mon_source){.arg = t, .each = t_each, .get = t_get, .feed_stats = t_feed,
                             .mirror_stats = t_mirror};
}

static struct tsdb_value F(double v) { return (struct tsdb_value){.type = TSDB_FLOAT, .v.f = v}; }

static struct vg_config *load(const char *text) {
  struct cfg_diags d;
  cfg_diags_init(&d);
  struct vg_config *cfg = cfg_load_string("t.yaml", text, strlen(text), &d);
  if (!cfg) cfg_diags_print(&d, "t.yaml", stderr);
  cfg_diags_free(&d);
  assert_non_null(cfg);
  return cfg;
}

/* The diagnostics of a config that must fail, joined by newlines. */
static char *load_err(const char *text) {
  struct cfg_diags d;
  cfg_diags_init(&d);
  struct vg_config *cfg = cfg_load_string("t.yaml", text, strlen(text), &d);
  assert_null(cfg);
  struct vg_buf b;
  vg_buf_init(&b);
  for (size_t i = 0; i < d.n; i++)
    vg_buf_printf(&b, "%d:%d: %s\n", d.items[i].pos.line, d.items[i].pos.col, d.items[i].msg);
  cfg_diags_free(&d);
  return b.data;
}

static size_t count_cat(const struct mon_eval *ev, const char *cat, int sev) {
  size_t n = 0;
  for (size_t i = 0; i < ev->n; i++)
    if (!strcmp(ev->f[i].category, cat) && (sev < 0 || ev->f[i].severity == sev)) n++;
  return n;
}

static const struct mon_finding *find(const struct mon_eval *ev, const char *key) {
  for (size_t i = 0; i < ev->n; i++)
    if (!strcmp(ev->f[i].key, key)) return &ev->f[i];
  return NULL;
}

/* ---- config ---- */

static void config_defaults_and_kinds(void **state) {
  struct vg_config *cfg = load("services:\n"
                               "  bridge: {cmd: [sleep, '100']}\n"
                               "feeds:\n"
                               "  ticks: {bind: 'tcp://127.0.0.1:5999', expect: {rate: 50/s}}\n"
                               "monitor:\n"
                               "  interval: 250ms\n"
                               "  checks:\n"
                               "    e: {expect: [a, b]}\n"
                               "    c: {critical: a}\n"
                               "    s: {stale: 'x.*', warn: 30s, critical: 60s, restart: bridge}\n"
                               "    r: {range: 'x.*', min: -1, max: 2.5, severity: critical}\n"
                               "    rt: {rate: ticks}\n"
                               "    g: {gaps: ticks, window: 1m}\n"
                               "    sv: {service: bridge, states: [ready, starting]}\n"
                               "    d: {divergence: redis, keys: 'x.*', tolerance: 0.5, allow: 0}\n"
                               "  notifiers:\n"
                               "    w: {webhook: 'http://127.0.0.1:1/hook', rate: 10/m}\n"
                               "    am: {alertmanager: 'http://127.0.0.1:9093/', min_severity: critical}\n"
                               "    x: {exec: [/bin/true]}\n");
  const struct cfg_monitor *m = cfg->monitor;
  assert_non_null(m);
  assert_int_equal(m->interval_ms, 250);
  assert_int_equal(m->stalled_ms, 750);
  assert_int_equal(m->history, 100);
  assert_int_equal(m->alert_history, 1000);
  assert_int_equal(m->degraded_stale, 3);
  assert_int_equal(m->degraded_missing, 10);
  assert_int_equal(m->n_checks, 8);
  assert_int_equal(m->checks[0].kind, CFG_CHECK_EXPECT);
  assert_string_equal(m->checks[0].keys[1], "b");
  assert_int_equal(m->checks[1].kind, CFG_CHECK_CRITICAL);
  assert_int_equal(m->checks[2].kind, CFG_CHECK_STALE);
  assert_int_equal(m->checks[2].warn_ms, 30000);
  assert_int_equal(m->checks[2].critical_ms, 60000);
  assert_string_equal(m->checks[2].restart, "bridge");
  assert_int_equal(m->checks[2].cooldown_ms, 5000); /* document 000 */
  assert_int_equal(m->checks[2].max_restarts, 3);
  assert_true(m->checks[3].min == -1 && m->checks[3].max == 2.5);
  assert_int_equal(m->checks[3].severity, CFG_SEV_CRITICAL);
  assert_true(m->checks[4].min == 50); /* the feed's expect.rate */
  assert_int_equal(m->checks[5].window_ms, 60000);
  assert_string_equal(m->checks[6].states[1], "starting");
  assert_true(m->checks[7].tolerance == 0.5 && m->checks[7].allow == 0);
  assert_int_equal(m->n_notifiers, 3);
  assert_int_equal(m->notifiers[0].kind, CFG_NOTIFY_WEBHOOK);
  assert_true(fabs(m->notifiers[0].rate - 10.0 / 60) < 1e-9);
  assert_string_equal(m->notifiers[1].url, "http://127.0.0.1:9093");
  assert_int_equal(m->notifiers[1].min_severity, CFG_SEV_CRITICAL);
  assert_int_equal(m->notifiers[2].kind, CFG_NOTIFY_EXEC);
  struct cfg_monitor *dup = cfg_monitor_dup(m);
  cfg_free(cfg);
  assert_string_equal(dup->checks[2].restart, "bridge");
  cfg_monitor_free(&dup);
  assert_null(dup);
}

static void config_errors(void **state) {
  char *e = load_err("monitor:\n"
                     "  interval: soon\n"
                     "  checks:\n"
                     "    a: {stale: 'x.*', warn: 1m, critical: 30s, restart: nobody}\n"
                     "    b: {expect: a, range: b}\n"
                     "    c: {keys: [a]}\n"
                     "    d: {critical: a, severity: loud}\n"
                     "    e: {rate: nofeed, min: 5/s}\n"
                     "    f: {divergence: disk}\n"
                     "    g: {expect: a, warn: 1s}\n"
                     "  notifiers:\n"
                     "    n: {webhook: 'ftp://x', exec: [a]}\n"
                     "    o: {webhook: 'ftp://x'}\n");
  assert_non_null(strstr(e, "2:13: bad duration 'soon'"));
  assert_non_null(strstr(e, "4:29: warn (60000ms) is past critical (30000ms)"));
  assert_non_null(strstr(e, "4:57: restart names no service: 'nobody'"));
  assert_non_null(strstr(e, "5:20: check 'b' has both expect and range"));
  assert_non_null(strstr(e, "check 'c' needs one of expect"));
  assert_non_null(strstr(e, "7:32: bad severity 'loud'"));
  assert_non_null(strstr(e, "8:15: rate names no feed: 'nofeed'"));
  assert_non_null(strstr(e, "9:21: bad divergence 'disk'"));
  assert_non_null(strstr(e, "10:20: warn does not apply to a expect check"));
  assert_non_null(strstr(e, "notifier 'n' needs exactly one of webhook, alertmanager, exec"));
  assert_non_null(strstr(e, "13:18:"));
  free(e);
}

/* ---- evaluation ---- */

static struct vg_config *exf_config(void) {
  return load("monitor:\n"
              "  checks:\n"
              "    expected: {expect: [k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11, k12, s1]}\n"
              "    acb: {critical: [c1, c2, c3]}\n"
              "    fresh: {stale: '*', warn: 30s, critical: 120s}\n"
              "    bounds: {range: 'r*', min: 0, max: 100}\n");
}

static void eval_presence_nan_and_strings(void **state) {
  struct vg_config *cfg = exf_config();
  struct row rows[] = {
      {"c1", F(1), NOW}, {"c2", F(NAN), NOW}, {"c3", F(INFINITY), NOW},
      {"k1", F(1), NOW}, {"s1", {.type = TSDB_STRING}, NOW},
  };
  struct table t = {.rows = rows, .n = VG_ARRAY_LEN(rows)};
  struct mon_source src = source(&t);
  struct mon_eval ev;
  mon_evaluate(cfg->monitor, &src, NULL, 0, NOW, &ev);
  assert_int_equal(ev.counts.expected, 16);
  assert_int_equal(ev.counts.present, 2); /* c1, k1 */
  assert_int_equal(ev.counts.missing_critical, 2);
  assert_int_equal(ev.counts.missing, 14);
  assert_int_equal(count_cat(&ev, "missing_critical", MON_CRITICAL), 2);
  assert_non_null(strstr(find(&ev, "c2")->message, "not finite (NaN)"));
  assert_non_null(strstr(find(&ev, "c3")->message, "not finite (Inf)"));
  assert_non_null(strstr(find(&ev, "s1")->message, "not numeric (string)"));
  assert_non_null(strstr(find(&ev, "k2")->message, "k2 is not present"));
  assert_int_equal(find(&ev, "k2")->severity, MON_WARNING);
  /* document 001: a missing critical key makes health critical */
  assert_int_equal(mon_health_of(cfg->monitor, &ev), MON_CRITICAL_HEALTH);
  mon_eval_free(&ev);
  /* every critical key fine: 11 expected keys missing (> 10) is degraded */
  rows[1].v = F(2);
  rows[2].v = F(3);
  mon_evaluate(cfg->monitor, &src, NULL, 0, NOW, &ev);
  assert_int_equal(ev.counts.missing, 12);
  assert_int_equal(mon_health_of(cfg->monitor, &ev), MON_DEGRADED);
  mon_eval_free(&ev);
  /* the threshold is configurable */
  cfg->monitor->degraded_missing = 12;
  mon_evaluate(cfg->monitor, &src, NULL, 0, NOW, &ev);
  assert_int_equal(mon_health_of(cfg->monitor, &ev), MON_HEALTHY);
  mon_eval_free(&ev);
  cfg->monitor->critical_on_missing_critical = false;
  rows[1].v = F(NAN); /* not critical by that rule; one more missing key: 13 > 12 */
  mon_evaluate(cfg->monitor, &src, NULL, 0, NOW, &ev);
  assert_int_equal(mon_health_of(cfg->monitor, &ev), MON_DEGRADED);
  mon_eval_free(&ev);
  cfg_free(cfg);
}

static void eval_stale_range_and_restart_flag(void **state) {
  struct vg_config *cfg = load("services:\n"
                               "  bridge: {cmd: [sleep, '100']}\n"
                               "monitor:\n"
                               "  checks:\n"
                               "    fresh: {stale: 'x.*', warn: 30s, critical: 60s, restart: bridge}\n"
                               "    one: {stale: y, warn: 10s}\n"
                               "    bounds: {range: ['x.*', y], min: 0, max: 100}\n");
  struct row rows[] = {
      {"x.a", F(1), NOW - 10 * S},  {"x.b", F(-1), NOW - 31 * S}, {"x.c", F(500), NOW - 61 * S},
      {"x.d", F(NAN), NOW - 1 * S}, {"y", F(5), NOW - 11 * S},
  };
  struct table t = {.rows = rows, .n = VG_ARRAY_LEN(rows)};
  struct mon_source src = source(&t);
  struct mon_eval ev;
  mon_evaluate(cfg->monitor, &src, NULL, 0, NOW, &ev);
  assert_int_equal(ev.counts.stale, 3);
  assert_int_equal(find(&ev, "x.b")->severity, MON_WARNING);
  assert_non_null(strstr(find(&ev, "x.b")->details, "\"staleness_seconds\":31.000"));
  const struct mon_finding *f = NULL;
  for (size_t i = 0; i < ev.n; i++)
    if (!strcmp(ev.f[i].key, "x.c") && !strcmp(ev.f[i].category, "staleness")) f = &ev.f[i];
  assert_non_null(f);
  assert_int_equal(f->severity, MON_CRITICAL);
  assert_true(ev.restart_due[0]);
  assert_false(ev.restart_due[1]);
  assert_int_equal(count_cat(&ev, "range", -1), 3); /* x.b below, x.c above, x.d NaN */
  assert_int_equal(mon_health_of(cfg->monitor, &ev), MON_HEALTHY); /* 3 stale: not more than 3 */
  mon_eval_free(&ev);
  rows[0].received = NOW - 40 * S;
  mon_evaluate(cfg->monitor, &src, NULL, 0, NOW, &ev);
  assert_int_equal(ev.counts.stale, 4);
  assert_int_equal(mon_health_of(cfg->monitor, &ev), MON_DEGRADED);
  mon_eval_free(&ev);
  cfg_free(cfg);
}

static void eval_feeds_services_backend(void **state) {
  struct vg_config *cfg = load("services:\n"
                               "  bridge: {cmd: [sleep, '100']}\n"
                               "feeds:\n"
                               "  ticks: {bind: 'tcp://127.0.0.1:5999'}\n"
                               "monitor:\n"
                               "  checks:\n"
                               "    rate: {rate: ticks, min: 100/s}\n"
                               "    gaps: {gaps: ticks, window: 10s}\n"
                               "    up: {service: bridge}\n");
  struct table t = {0};
  struct mon_source src = source(&t);
  struct mon_eval ev;
  struct mon_memo memo;
  mon__memo_init(&memo, cfg->monitor->n_checks);
  /* no feed statistics, no services: those checks did not run (their alerts stay) */
  mon_evaluate_memo(cfg->monitor, &src, NULL, 0, NOW, &memo, &ev);
  assert_int_equal(ev.n, 0);
  assert_false(ev.ran[0]);
  assert_false(ev.ran[1]);
  assert_false(ev.ran[2]);
  mon_eval_free(&ev);
  t.have_feed = true;
  t.feed.point_rate = 50;
  t.feed.seq.gaps = 2; /* from before: counted once */
  struct mon_service_state svc = {.name = (char *)"bridge", .state = "backoff"};
  mon_evaluate_memo(cfg->monitor, &src, &svc, 1, NOW, &memo, &ev);
  assert_non_null(strstr(find(&ev, "ticks")->message, "50.0 points/s, below 100.0"));
  assert_int_equal(count_cat(&ev, "gap", -1), 1);
  assert_non_null(strstr(find(&ev, "bridge")->message, "service bridge is backoff"));
  assert_int_equal(find(&ev, "bridge")->severity, MON_CRITICAL);
  mon_eval_free(&ev);
  /* past the window without a new gap: no gap finding; a new one fires again */
  t.feed.point_rate = 150;
  snprintf(svc.state, sizeof svc.state, "ready");
  mon_evaluate_memo(cfg->monitor, &src, &svc, 1, NOW + 11 * S, &memo, &ev);
  assert_int_equal(ev.n, 0);
  mon_eval_free(&ev);
  t.feed.seq.gaps = 3;
  mon_evaluate_memo(cfg->monitor, &src, &svc, 1, NOW + 12 * S, &memo, &ev);
  assert_int_equal(count_cat(&ev, "gap", -1), 1);
  mon_eval_free(&ev);
  /* a configured mirror that lost Redis: critical (document 001's lost cache backend) */
  t.mirror.configured = true;
  snprintf(t.mirror.last_error, sizeof t.mirror.last_error, "Connection refused");
  mon_evaluate_memo(cfg->monitor, &src, &svc, 1, NOW + 13 * S, &memo, &ev);
  assert_true(ev.counts.backend_lost);
  assert_non_null(strstr(find(&ev, "redis")->message, "not connected: Connection refused"));
  assert_string_equal(find(&ev, "redis")->check, MON__BACKEND_CHECK);
  assert_int_equal(mon_health_of(cfg->monitor, &ev), MON_CRITICAL_HEALTH);
  mon_eval_free(&ev);
  mon__memo_free(&memo);
  cfg_free(cfg);
}

/* A store divergence check over an empty cache: nothing to sort, nothing found (UBSan
 * stopped vigil here: qsort of a NULL array). */
static void eval_store_divergence_empty(void **state) {
  struct vg_config *cfg = load("monitor:\n  checks:\n    disk: {divergence: store, keys: 'x*'}\n");
  struct table t = {0};
  struct mon_source src = source(&t);
  src.store = (struct tsdb *)&t; /* never read: no entry to compare */
  struct mon_eval ev;
  mon_evaluate(cfg->monitor, &src, NULL, 0, NOW, &ev);
  assert_int_equal(ev.n, 0);
  assert_true(ev.ran[0]);
  mon_eval_free(&ev);
  cfg_free(cfg);
}

static void key_measurement(void **state) {
  size_t sl;
  assert_int_equal(mon__key_measurement("exf.funding_btc", &sl), 3);
  assert_int_equal(sl, 3);
  assert_int_equal(mon__key_measurement("ticks,sym=A.price", &sl), 5);
  assert_int_equal(sl, 11);
  assert_int_equal(mon__key_measurement("a\\,b,x=1.f", &sl), 4);
}

/* ---- alerts ---- */

struct changes {
  int fired, resolved, escalated;
};
static void count_change(void *arg, const struct mon_alert *a) {
  struct changes *c = arg;
  if (!a->firing) c->resolved++;
  else if (a->started == a->changed) c->fired++;
  else c->escalated++;
}

static void alerts_lifecycle(void **state) {
  struct vg_config *cfg = load("monitor:\n"
                               "  alert_history: 2\n"
                               "  checks:\n"
                               "    fresh: {stale: '*', warn: 30s, critical: 60s}\n"
                               "    exp: {expect: [a, b]}\n");
  struct row rows[] = {{"a", F(1), NOW - 31 * S}, {"b", F(1), NOW}};
  struct table t = {.rows = rows, .n = 2};
  struct mon_source src = source(&t);
  struct mon_alerts *as = mon_alerts_new((size_t)cfg->monitor->alert_history);
  struct changes ch = {0};
  struct mon_eval ev;
  mon_evaluate(cfg->monitor, &src, NULL, 0, NOW, &ev);
  assert_int_equal(mon_alerts_apply(as, cfg->monitor, &ev, count_change, &ch), 1);
  mon_eval_free(&ev);
  assert_int_equal(ch.fired, 1);
  const struct mon_alert *a = mon_alerts_at(as, 0);
  assert_string_equal(a->check, "fresh");
  assert_string_equal(a->key, "a");
  assert_int_equal(a->severity, MON_WARNING);
  uint64_t id = a->id;
  /* again: deduplicated, nothing changed */
  mon_evaluate(cfg->monitor, &src, NULL, 0, NOW + S, &ev);
  assert_int_equal(mon_alerts_apply(as, cfg->monitor, &ev, count_change, &ch), 0);
  mon_eval_free(&ev);
  /* past critical: the same alert escalates */
  mon_evaluate(cfg->monitor, &src, NULL, 0, NOW + 30 * S, &ev);
  assert_int_equal(mon_alerts_apply(as, cfg->monitor, &ev, count_change, &ch), 1);
  mon_eval_free(&ev);
  assert_int_equal(ch.escalated, 1);
  assert_int_equal(mon_alerts_count(as, true), 1);
  assert_int_equal(mon_alerts_at(as, 0)->id, id);
  assert_int_equal(mon_alerts_at(as, 0)->severity, MON_CRITICAL);
  struct vg_buf b;
  vg_buf_init(&b);
  mon_alert_json(mon_alerts_at(as, 0), &b);
  assert_non_null(strstr(b.data, "\"state\":\"firing\""));
  assert_non_null(strstr(b.data, "\"ended_at\":null"));
  assert_non_null(strstr(b.data, "\"category\":\"staleness\""));
  /* fresh data: resolved, with an end */
  rows[0].received = rows[1].received = NOW + 30 * S;
  mon_evaluate(cfg->monitor, &src, NULL, 0, NOW + 31 * S, &ev);
  assert_int_equal(mon_alerts_apply(as, cfg->monitor, &ev, count_change, &ch), 1);
  mon_eval_free(&ev);
  assert_int_equal(ch.resolved, 1);
  assert_int_equal(mon_alerts_count(as, true), 0);
  a = mon_alerts_at(as, 0);
  assert_false(a->firing);
  assert_int_equal(a->ended, NOW + 31 * S);
  assert_int_equal(a->started, NOW);
  vg_buf_reset(&b);
  mon_alert_json(a, &b);
  assert_non_null(strstr(b.data, "\"state\":\"resolved\""));
  vg_buf_free(&b);
  /* a missing key fires; a check that did not run keeps it */
  rows[1].key = "c";
  mon_evaluate(cfg->monitor, &src, NULL, 0, NOW + 32 * S, &ev);
  mon_alerts_apply(as, cfg->monitor, &ev, count_change, &ch);
  assert_int_equal(mon_alerts_count(as, true), 1);
  mon_eval_free(&ev);
  rows[1].key = "b";
  mon_evaluate(cfg->monitor, &src, NULL, 0, NOW + 33 * S, &ev);
  ev.ran[1] = false;
  mon_alerts_apply(as, cfg->monitor, &ev, count_change, &ch);
  assert_int_equal(mon_alerts_count(as, true), 1);
  ev.ran[1] = true;
  mon_alerts_apply(as, cfg->monitor, &ev, count_change, &ch);
  assert_int_equal(mon_alerts_count(as, true), 0);
  mon_eval_free(&ev);
  /* the history is bounded: 2 resolved kept */
  assert_int_equal(mon_alerts_count(as, false), 2);
  mon_alerts_free(&as);
  cfg_free(cfg);
}

/* Many keys, many alerts: the index, not a scan, finds them. */
static void alerts_many(void **state) {
  struct vg_config *cfg = load("monitor:\n  checks:\n    fresh: {stale: '*', warn: 1s}\n");
  size_t n = 20000;
  struct row *rows = vg_calloc(n, sizeof *rows);
  char **keys = vg_calloc(n, sizeof *keys);
  for (size_t i = 0; i < n; i++) {
    keys[i] = vg_asprintf("k%zu", i);
    rows[i] = (struct row){keys[i], F((double)i), NOW - 5 * S};
  }
  struct table t = {.rows = rows, .n = n};
  struct mon_source src = source(&t);
  struct mon_alerts *as = mon_alerts_new(10);
  struct mon_eval ev;
  mon_evaluate(cfg->monitor, &src, NULL, 0, NOW, &ev);
  assert_int_equal(mon_alerts_apply(as, cfg->monitor, &ev, NULL, NULL), n);
  assert_int_equal(mon_alerts_apply(as, cfg->monitor, &ev, NULL, NULL), 0);
  mon_eval_free(&ev);
  assert_int_equal(mon_alerts_count(as, true), n);
  mon_alerts_free(&as);
  for (size_t i = 0; i < n; i++) free(keys[i]);
  free(keys);
  free(rows);
  cfg_free(cfg);
}

/* ---- the history file ---- */

static struct mon_alerts *sample_alerts(void) {
  struct mon_alerts *as = mon_alerts_new(10);
  for (int i = 0; i < 5; i++) {
    char key[32], msg[64];
    snprintf(key, sizeof key, "exf.k%d \"q\"", i);
    snprintf(msg, sizeof msg, "message %d \xc3\xa9", i);
    struct mon_alert a = {.id = (uint64_t)(10 + i), .check = (char *)"fresh", .key = key,
                          .category = (char *)"staleness", .message = msg,
                          .details = (char *)"{\"staleness_seconds\":31.5,\"l\":[1,2]}",
                          .severity = i % 3, .firing = i % 2 == 0, .started = NOW + i * S,
                          .ended = i % 2 ? NOW + (i + 1) * S : 0, .changed = NOW + i * S};
    mon_alerts_restore(as, &a);
  }
  return as;
}

static void history_round_trip(void **state) {
  struct mon_alerts *as = sample_alerts();
  struct vg_buf b, b2;
  vg_buf_init(&b);
  vg_buf_init(&b2);
  mon_history_encode(as, &b);
  struct mon_alerts *back = mon_alerts_new(10);
  char why[300];
  assert_int_equal(mon_history_decode((const uint8_t *)b.data, b.len, back, why, sizeof why), 5);
  assert_string_equal(why, "");
  mon_history_encode(back, &b2);
  assert_int_equal(b.len, b2.len);
  assert_memory_equal(b.data, b2.data, b.len);
  assert_int_equal(mon_alerts_count(back, true), 3);
  const struct mon_alert *a = mon_alerts_at(back, 0);
  assert_int_equal(a->id, 14);
  assert_string_equal(a->key, "exf.k4 \"q\"");
  /* the next id goes on from the history */
  struct mon_eval ev = {.at = NOW};
  ev.ran = vg_calloc(2, sizeof *ev.ran);
  ev.restart_due = vg_calloc(2, sizeof *ev.restart_due);
  mon__add_finding(&ev, "other", "k", MON_INFO, "range", vg_strdup("m"), NULL);
  struct cfg_monitor m = {0};
  mon_alerts_apply(back, &m, &ev, NULL, NULL);
  assert_int_equal(mon_alerts_at(back, 0)->id, 15);
  mon_eval_free(&ev);
  /* a key that is not UTF-8 is written as UTF-8 (the reader takes nothing else) */
  struct mon_alerts *bad = mon_alerts_new(10);
  struct mon_alert ba = {.id = 1, .check = (char *)"c", .key = (char *)"\xff\xc3 bad", .category = (char *)"range",
                         .message = (char *)"m\x80", .details = (char *)"{}", .severity = 1};
  mon_alerts_restore(bad, &ba);
  vg_buf_reset(&b);
  mon_history_encode(bad, &b);
  mon_alerts_free(&bad);
  bad = mon_alerts_new(10);
  assert_int_equal(mon_history_decode((const uint8_t *)b.data, b.len, bad, why, sizeof why), 1);
  assert_string_equal(mon_alerts_at(bad, 0)->key, "\xef\xbf\xbd\xef\xbf\xbd bad");
  assert_string_equal(mon_alerts_at(bad, 0)->message, "m\xef\xbf\xbd");
  mon_alerts_free(&bad);
  /* on disk, through the atomic replace */
  char *dir = test_tmpdir("monhist");
  char *path = vg_asprintf("%s/alerts", dir);
  assert_int_equal(mon_history_save(as, path), 0);
  struct mon_alerts *disk = mon_alerts_new(10);
  assert_int_equal(mon_history_load(disk, path), 0);
  assert_int_equal(mon_alerts_count(disk, false), 5);
  mon_alerts_free(&disk);
  /* a missing file is an empty history */
  struct mon_alerts *none = mon_alerts_new(10);
  char *missing = vg_asprintf("%s/nope", dir);
  assert_int_equal(mon_history_load(none, missing), 0);
  assert_int_equal(mon_alerts_count(none, false), 0);
  mon_alerts_free(&none);
  free(missing);
  free(path);
  test_rm_rf(&dir);
  vg_buf_free(&b);
  vg_buf_free(&b2);
  mon_alerts_free(&as);
  mon_alerts_free(&back);
}

/* The resolved ring grows up to its bound, keeps order, then drops the oldest. */
static void alerts_ring_grows_then_wraps(void **state) {
  struct mon_alerts *as = mon_alerts_new(40);
  for (uint64_t i = 1; i <= 100; i++) {
    struct mon_alert a = {.id = i, .check = (char *)"c", .key = (char *)"k", .category = (char *)"range",
                          .message = (char *)"m", .details = (char *)"{}", .ended = (int64_t)i};
    mon_alerts_restore(as, &a);
    size_t want = i < 40 ? i : 40;
    assert_int_equal(mon_alerts_count(as, false), want);
    for (size_t k = 0; k < want; k++) assert_int_equal(mon_alerts_at(as, k)->id, i - k);
  }
  mon_alerts_free(&as);
}

static void history_cut_at_every_byte(void **state) {
  struct mon_alerts *as = sample_alerts();
  struct vg_buf b;
  vg_buf_init(&b);
  mon_history_encode(as, &b);
  /* where each record ends */
  size_t ends[6], n_ends = 0, off = 16;
  while (off < b.len) {
    uint32_t len = (uint8_t)b.data[off] | (uint8_t)b.data[off + 1] << 8 |
                   (uint32_t)(uint8_t)b.data[off + 2] << 16 | (uint32_t)(uint8_t)b.data[off + 3] << 24;
    off += 8 + len;
    ends[n_ends++] = off;
  }
  assert_int_equal(n_ends, 5);
  for (size_t cut = 0; cut <= b.len; cut++) {
    uint8_t *copy = vg_malloc(cut + 1); /* exactly cut bytes: ASan sees any overread */
    memcpy(copy, b.data, cut);
    struct mon_alerts *back = mon_alerts_new(10);
    char why[300];
    size_t got = mon_history_decode(copy, cut, back, why, sizeof why);
    size_t want = 0;
    while (want < n_ends && ends[want] <= cut) want++;
    assert_int_equal(got, want);
    assert_int_equal(mon_alerts_count(back, false), want);
    bool whole = cut >= 16 && (cut == 16 || (want && ends[want - 1] == cut));
    assert_int_equal(why[0] == '\0', whole);
    mon_alerts_free(&back);
    free(copy);
  }
  /* a flipped bit in the third record keeps the first two */
  for (size_t bit = 0; bit < 8; bit++) {
    uint8_t *copy = vg_malloc(b.len);
    memcpy(copy, b.data, b.len);
    copy[ends[1] + 12] ^= (uint8_t)(1u << bit);
    struct mon_alerts *back = mon_alerts_new(10);
    char why[300];
    assert_int_equal(mon_history_decode(copy, b.len, back, why, sizeof why), 2);
    assert_non_null(strstr(why, "fails its checksum"));
    mon_alerts_free(&back);
    free(copy);
  }
  vg_buf_free(&b);
  mon_alerts_free(&as);
}

/* ---- the monitor without a loop: on-demand evaluation, documents, stalled ---- */

static void monitor_documents(void **state) {
  struct vg_config *cfg = load("monitor:\n"
                               "  interval: 100ms\n"
                               "  history: 3\n"
                               "  checks:\n"
                               "    acb: {critical: [c1]}\n"
                               "    fresh: {stale: '*', warn: 30s}\n");
  struct row rows[] = {{"c1", F(NAN), 0}};
  rows[0].received = vg_wall_ns();
  struct table t = {.rows = rows, .n = 1};
  char *dir = test_tmpdir("mondoc");
  struct mon_deps deps = {.src = source(&t), .state_dir = dir};
  struct mon *m;
  char err[256];
  assert_int_equal(mon_open(cfg->monitor, &deps, &m, err, sizeof err), 0);
  cfg_free(cfg); /* the monitor has its own copy */
  for (int i = 0; i < 4; i++) mon_evaluate_now(m);
  struct vg_buf b;
  vg_buf_init(&b);
  assert_int_equal(mon_health_json(m, &b), MON_CRITICAL_HEALTH);
  assert_non_null(strstr(b.data, "\"status\":\"critical\""));
  assert_non_null(strstr(b.data, "c1 is not finite (NaN)"));
  assert_non_null(strstr(b.data, "\"missing_critical\":1"));
  assert_non_null(strstr(b.data, "\"firing\":1"));
  assert_non_null(strstr(b.data, "\"evaluations\":4"));
  /* the ring holds 3 */
  size_t n = 0;
  for (const char *p = b.data; (p = strstr(p, "{\"at\":")); p++) n++;
  assert_int_equal(n, 3);
  vg_buf_reset(&b);
  mon_alerts_json(m, false, MON_WARNING, &b);
  assert_string_equal(b.data, "{\"alerts\":[]}\n");
  vg_buf_reset(&b);
  mon_alerts_json(m, false, -1, &b);
  assert_non_null(strstr(b.data, "\"category\":\"missing_critical\""));
  /* stopped evaluating: critical, said as the first reason */
  struct timespec ts = {0, 400 * 1000000}; /* past stalled_after (3 intervals) */
  nanosleep(&ts, NULL);
  vg_buf_reset(&b);
  mon_health_json(m, &b);
  assert_non_null(strstr(b.data, "\"reasons\":[{\"check\":\"monitor\""));
  char **reasons;
  assert_int_equal(mon_health_get(m, &reasons), MON_CRITICAL_HEALTH);
  assert_non_null(strstr(reasons[0], "has not evaluated its checks"));
  vg_strv_free(reasons);
  /* fixed: the alert resolves; the history survives a reopen */
  rows[0].v = F(1);
  mon_evaluate_now(m);
  assert_int_equal(mon_health_get(m, &reasons), MON_HEALTHY);
  vg_strv_free(reasons);
  mon_close(&m);
  struct vg_config *cfg2 = load("monitor:\n  checks:\n    acb: {critical: [c1]}\n");
  assert_int_equal(mon_open(cfg2->monitor, &deps, &m, err, sizeof err), 0);
  vg_buf_reset(&b);
  mon_alerts_json(m, true, -1, &b);
  assert_non_null(strstr(b.data, "\"state\":\"resolved\""));
  assert_non_null(strstr(b.data, "c1 is not finite"));
  mon_close(&m);
  cfg_free(cfg2);
  vg_buf_free(&b);
  test_rm_rf(&dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(config_defaults_and_kinds),
      cmocka_unit_test(config_errors),
      cmocka_unit_test(eval_presence_nan_and_strings),
      cmocka_unit_test(eval_stale_range_and_restart_flag),
      cmocka_unit_test(eval_feeds_services_backend),
      cmocka_unit_test(eval_store_divergence_empty),
      cmocka_unit_test(key_measurement),
      cmocka_unit_test(alerts_lifecycle),
      cmocka_unit_test(alerts_many),
      cmocka_unit_test(alerts_ring_grows_then_wraps),
      cmocka_unit_test(history_round_trip),
      cmocka_unit_test(history_cut_at_every_byte),
      cmocka_unit_test(monitor_documents),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
