/*
 * The `monitor` section: integrity checks over the latest-value cache, the health rules
 * and the notifiers of alerts (src/monitor/, docs/monitor.md):
 *
 *   monitor:
 *     interval: 60s
 *     history: 100            # past evaluations kept
 *     alert_history: 1000     # alerts kept, also across restarts
 *     health: {degraded_stale: 3, degraded_missing: 10}
 *     checks:
 *       acb: {critical: [funding_btc, vix]}
 *       fresh: {stale: "exf.*", warn: 30s, critical: 60s, restart: bridge}
 *       mirror: {divergence: redis, keys: "exf.*", allow: 3}
 *     notifiers:
 *       ops: {webhook: http://127.0.0.1:8080/hook, min_severity: warning}
 *
 * A check is a mapping holding exactly one of the kind keys (expect, critical, stale,
 * range, rate, gaps, service, divergence); in a stale check `critical` is an age.
 */
#include "config/config_int.h"
#include "core/core.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const mon_keys[] = {"interval", "stalled_after", "history", "alert_history",
                                       "health",   "checks",        "notifiers"};
enum { M_INTERVAL, M_STALLED, M_HISTORY, M_ALERT_HISTORY, M_HEALTH, M_CHECKS, M_NOTIFIERS, M_N };

static const char *const health_keys[] = {"critical_on_missing_critical",
                                          "critical_on_backend_lost", "degraded_stale",
                                          "degraded_missing"};
enum { H_MISSING_CRIT, H_BACKEND, H_STALE, H_MISSING, H_N };

static const char *const check_keys[] = {
    "expect", "critical", "stale",  "range",        "rate",     "gaps",   "service",
    "divergence", "keys", "warn",   "min",          "max",      "window", "states",
    "tolerance", "allow", "severity", "restart",    "cooldown", "max_restarts",
};
enum {
  C_EXPECT, C_CRITICAL, C_STALE, C_RANGE, C_RATE, C_GAPS, C_SERVICE, C_DIVERGENCE, C_KEYS,
  C_WARN, C_MIN, C_MAX, C_WINDOW, C_STATES, C_TOLERANCE, C_ALLOW, C_SEVERITY, C_RESTART,
  C_COOLDOWN, C_MAX_RESTARTS, C_N
};

static const char *const notifier_keys[] = {"webhook", "alertmanager", "exec",    "min_severity",
                                            "rate",    "retries",      "timeout", "backoff",
                                            "resolved"};
enum { N_WEBHOOK, N_AM, N_EXEC, N_MIN_SEV, N_RATE, N_RETRIES, N_TIMEOUT, N_BACKOFF, N_RESOLVED, N_N };

static const char *const severity_names[] = {"info", "warning", "critical"};

static const char *const state_names[] = {"stopped",  "waiting", "starting", "ready",
                                          "stopping", "backoff", "fatal"};

/* A key list: one string or a list of strings; NULL after reporting. */
static char **key_list(struct cfg__ctx *c, const struct cfg__node *n, const char *what) {
  char **v = NULL;
  if (n->type == CFG__SCALAR) {
    char *s = cfg__string(c, n);
    if (!s) return NULL;
    v = vg_calloc(2, sizeof *v);
    v[0] = s;
  } else {
    v = cfg__strv(c, n, what);
  }
  if (!v) return NULL;
  for (size_t i = 0; v[i]; i++)
    if (!v[i][0]) {
      cfg_diag_add(c->diags, n->pos, "an empty key in %s", what);
      vg_strv_free(v);
      return NULL;
    }
  if (!v[0]) {
    cfg_diag_add(c->diags, n->pos, "%s names no key", what);
    vg_strv_free(v);
    return NULL;
  }
  return v;
}

static bool severity(struct cfg__ctx *c, const struct cfg__node *n, int *out) {
  char *s = cfg__string(c, n);
  if (!s) return false;
  for (int i = 0; i < (int)VG_ARRAY_LEN(severity_names); i++)
    if (strcmp(s, severity_names[i]) == 0) {
      *out = i;
      free(s);
      return true;
    }
  cfg_diag_add(c->diags, n->pos, "bad severity '%s': expected info, warning or critical", s);
  free(s);
  return false;
}

/* Keys each kind takes besides its own and severity. */
static bool allowed_for(enum cfg_check_kind k, int key) {
  switch (key) {
  case C_SEVERITY: return true;
  case C_KEYS: return k == CFG_CHECK_DIVERGENCE;
  case C_WARN: case C_RESTART: case C_COOLDOWN: case C_MAX_RESTARTS:
    return k == CFG_CHECK_STALE;
  case C_CRITICAL: return k == CFG_CHECK_STALE || k == CFG_CHECK_CRITICAL;
  case C_MIN: return k == CFG_CHECK_RANGE || k == CFG_CHECK_RATE;
  case C_MAX: return k == CFG_CHECK_RANGE;
  case C_WINDOW: return k == CFG_CHECK_GAPS;
  case C_STATES: return k == CFG_CHECK_SERVICE;
  case C_TOLERANCE: case C_ALLOW: return k == CFG_CHECK_DIVERGENCE;
  default: return false;
  }
}

static void parse_check(struct cfg__ctx *c, const struct vg_config *cfg, struct cfg_check *k,
                        const struct cfg__node *n) {
  const struct cfg__pair *f[C_N];
  if (!cfg__fields(c, n, check_keys, C_N, f)) return;
  static const int kinds[] = {C_EXPECT, C_STALE, C_RANGE, C_RATE, C_GAPS, C_SERVICE, C_DIVERGENCE};
  int kind_key = -1;
  for (size_t i = 0; i < VG_ARRAY_LEN(kinds); i++) {
    if (!f[kinds[i]]) continue;
    if (kind_key >= 0) {
      cfg_diag_add(c->diags, f[kinds[i]]->key->pos, "check '%s' has both %s and %s: one kind per check",
                   k->name, check_keys[kind_key], check_keys[kinds[i]]);
      return;
    }
    kind_key = kinds[i];
  }
  if (kind_key < 0 && f[C_CRITICAL]) kind_key = C_CRITICAL;
  if (kind_key < 0) {
    cfg_diag_add(c->diags, n->pos,
                 "check '%s' needs one of expect, critical, stale, range, rate, gaps, service, "
                 "divergence", k->name);
    return;
  }
  switch (kind_key) {
  case C_EXPECT: k->kind = CFG_CHECK_EXPECT; break;
  case C_CRITICAL: k->kind = CFG_CHECK_CRITICAL; break;
  case C_STALE: k->kind = CFG_CHECK_STALE; break;
  case C_RANGE: k->kind = CFG_CHECK_RANGE; break;
  case C_RATE: k->kind = CFG_CHECK_RATE; break;
  case C_GAPS: k->kind = CFG_CHECK_GAPS; break;
  case C_SERVICE: k->kind = CFG_CHECK_SERVICE; break;
  default: k->kind = CFG_CHECK_DIVERGENCE; break;
  }
  for (int i = 0; i < C_N; i++)
    if (f[i] && i != kind_key && !allowed_for(k->kind, i))
      cfg_diag_add(c->diags, f[i]->key->pos, "%s does not apply to a %s check", check_keys[i],
                   check_keys[kind_key]);
  const struct cfg__node *kn = f[kind_key]->value;
  if (f[C_SEVERITY]) severity(c, f[C_SEVERITY]->value, &k->severity);
  switch (k->kind) {
  case CFG_CHECK_EXPECT:
  case CFG_CHECK_CRITICAL:
  case CFG_CHECK_STALE:
  case CFG_CHECK_RANGE:
    k->keys = key_list(c, kn, check_keys[kind_key]);
    break;
  case CFG_CHECK_RATE:
  case CFG_CHECK_GAPS:
  case CFG_CHECK_SERVICE:
  case CFG_CHECK_DIVERGENCE:
    k->target = cfg__string(c, kn);
    break;
  }
  if (k->kind == CFG_CHECK_STALE) {
    if (f[C_WARN]) cfg__duration(c, f[C_WARN]->value, &k->warn_ms);
    if (f[C_CRITICAL]) cfg__duration(c, f[C_CRITICAL]->value, &k->critical_ms);
    if (!f[C_WARN] && !f[C_CRITICAL])
      cfg_diag_add(c->diags, n->pos, "stale check '%s' needs warn or critical (an age)", k->name);
    if (k->warn_ms && k->critical_ms && k->warn_ms > k->critical_ms)
      cfg_diag_add(c->diags, f[C_WARN]->value->pos, "warn (%lldms) is past critical (%lldms)",
                   (long long)k->warn_ms, (long long)k->critical_ms);
    if (f[C_RESTART]) {
      k->restart = cfg__string(c, f[C_RESTART]->value);
      if (k->restart && !cfg_find_service(cfg, k->restart))
        cfg_diag_add(c->diags, f[C_RESTART]->value->pos, "restart names no service: '%s'",
                     k->restart);
      if (!k->critical_ms)
        cfg_diag_add(c->diags, f[C_RESTART]->key->pos,
                     "restart needs a critical age (the restart happens past it)");
    }
    if (f[C_COOLDOWN]) cfg__duration(c, f[C_COOLDOWN]->value, &k->cooldown_ms);
    long long v;
    if (f[C_MAX_RESTARTS] && cfg__int(c, f[C_MAX_RESTARTS]->value, "max_restarts", 1, 1000000, &v))
      k->max_restarts = (int)v;
  }
  if (k->kind == CFG_CHECK_RANGE) {
    if (f[C_MIN]) cfg__number(c, f[C_MIN]->value, "min", -DBL_MAX, DBL_MAX, &k->min);
    if (f[C_MAX]) cfg__number(c, f[C_MAX]->value, "max", -DBL_MAX, DBL_MAX, &k->max);
    if (!f[C_MIN] && !f[C_MAX])
      cfg_diag_add(c->diags, n->pos, "range check '%s' needs min or max", k->name);
    else if (k->min > k->max)
      cfg_diag_add(c->diags, f[C_MIN]->value->pos, "min is above max");
  }
  if (k->kind == CFG_CHECK_RATE || k->kind == CFG_CHECK_GAPS) {
    if (k->target && !cfg_find_feed(cfg, k->target))
      cfg_diag_add(c->diags, kn->pos, "%s names no feed: '%s'", check_keys[kind_key], k->target);
    if (k->kind == CFG_CHECK_RATE && f[C_MIN]) {
      char *s = cfg__string(c, f[C_MIN]->value);
      if (s && cfg_parse_rate(s, &k->min) < 0)
        cfg_diag_add(c->diags, f[C_MIN]->value->pos,
                     "bad rate '%s': expected points per second, minute or hour, e.g. 100/s", s);
      free(s);
    } else if (k->kind == CFG_CHECK_RATE && k->target) {
      const struct cfg_feed *fd = cfg_find_feed(cfg, k->target);
      if (fd && fd->expect_rate > 0) k->min = fd->expect_rate;
      else if (fd)
        cfg_diag_add(c->diags, n->pos,
                     "rate check '%s' needs min: feed '%s' has no expect.rate", k->name, k->target);
    }
    if (f[C_WINDOW]) cfg__duration(c, f[C_WINDOW]->value, &k->window_ms);
  }
  if (k->kind == CFG_CHECK_SERVICE) {
    if (k->target && !cfg_find_service(cfg, k->target))
      cfg_diag_add(c->diags, kn->pos, "service names no service: '%s'", k->target);
    if (f[C_STATES]) {
      k->states = key_list(c, f[C_STATES]->value, "states");
      for (size_t i = 0; k->states && k->states[i]; i++) {
        bool ok = false;
        for (size_t j = 0; j < VG_ARRAY_LEN(state_names); j++) ok |= !strcmp(k->states[i], state_names[j]);
        if (!ok)
          cfg_diag_add(c->diags, f[C_STATES]->value->pos,
                       "bad state '%s': expected stopped, waiting, starting, ready, stopping, "
                       "backoff or fatal", k->states[i]);
      }
    } else {
      k->states = vg_calloc(2, sizeof *k->states);
      k->states[0] = vg_strdup("ready");
    }
  }
  if (k->kind == CFG_CHECK_DIVERGENCE) {
    if (k->target && strcmp(k->target, "redis") != 0 && strcmp(k->target, "store") != 0)
      cfg_diag_add(c->diags, kn->pos, "bad divergence '%s': expected redis or store", k->target);
    if (f[C_KEYS]) k->keys = key_list(c, f[C_KEYS]->value, "keys");
    if (f[C_TOLERANCE]) cfg__number(c, f[C_TOLERANCE]->value, "tolerance", 0, DBL_MAX, &k->tolerance);
    if (f[C_ALLOW]) cfg__int(c, f[C_ALLOW]->value, "allow", 0, LLONG_MAX, &k->allow);
  }
}

static void parse_checks(struct cfg__ctx *c, const struct vg_config *cfg, struct cfg_monitor *m,
                         const struct cfg__node *n) {
  if (n->type != CFG__MAP) {
    cfg__expected(c, n, "a mapping of checks");
    return;
  }
  m->checks = vg_calloc(n->n ? n->n : 1, sizeof *m->checks);
  for (size_t i = 0; i < n->n; i++) {
    const struct cfg__pair *p = &n->pairs[i];
    if (p->duplicate) continue;
    if (!cfg__entry_name(c, p, "check", true)) continue;
    struct cfg_check *k = &m->checks[m->n_checks++];
    k->name = vg_strdup(p->key->text);
    k->pos = p->key->pos;
    k->severity = -1;
    k->cooldown_ms = 5000;
    k->max_restarts = 3;
    k->min = NAN;
    k->max = NAN;
    k->window_ms = 300000;
    k->allow = 3;
    parse_check(c, cfg, k, p->value);
  }
}

static void parse_notifier(struct cfg__ctx *c, struct cfg_notifier *nt, const struct cfg__node *n) {
  const struct cfg__pair *f[N_N];
  if (!cfg__fields(c, n, notifier_keys, N_N, f)) return;
  int kinds = !!f[N_WEBHOOK] + !!f[N_AM] + !!f[N_EXEC];
  if (kinds != 1) {
    cfg_diag_add(c->diags, n->pos, "notifier '%s' needs exactly one of webhook, alertmanager, exec",
                 nt->name);
    return;
  }
  if (f[N_EXEC]) {
    nt->kind = CFG_NOTIFY_EXEC;
    nt->argv = key_list(c, f[N_EXEC]->value, "exec");
  } else {
    const struct cfg__pair *u = f[N_WEBHOOK] ? f[N_WEBHOOK] : f[N_AM];
    nt->kind = f[N_WEBHOOK] ? CFG_NOTIFY_WEBHOOK : CFG_NOTIFY_ALERTMANAGER;
    nt->url = cfg__string(c, u->value);
    char err[1200];
    if (nt->url && cfg__url_check(nt->url, CFG__URL_HTTPS | (f[N_AM] ? CFG__URL_NO_QUERY : 0),
                                  "the notifier", err, sizeof err) < 0)
      cfg_diag_add(c->diags, u->value->pos, "%s", err);
    if (nt->url && f[N_AM]) {
      size_t len = strlen(nt->url);
      while (len > 0 && nt->url[len - 1] == '/') nt->url[--len] = '\0';
    }
  }
  if (f[N_MIN_SEV]) severity(c, f[N_MIN_SEV]->value, &nt->min_severity);
  if (f[N_RATE]) {
    char *s = cfg__string(c, f[N_RATE]->value);
    if (s && (cfg_parse_rate(s, &nt->rate) < 0 || nt->rate <= 0))
      cfg_diag_add(c->diags, f[N_RATE]->value->pos,
                   "bad rate '%s': expected sends per second, minute or hour, e.g. 10/m", s);
    free(s);
  }
  long long v;
  if (f[N_RETRIES] && cfg__int(c, f[N_RETRIES]->value, "retries", 0, 100, &v)) nt->retries = (int)v;
  if (f[N_TIMEOUT]) cfg__duration(c, f[N_TIMEOUT]->value, &nt->timeout_ms);
  if (f[N_BACKOFF]) cfg__duration(c, f[N_BACKOFF]->value, &nt->backoff_ms);
  if (f[N_RESOLVED]) cfg__bool(c, f[N_RESOLVED]->value, &nt->resolved);
  if (nt->timeout_ms <= 0) {
    if (f[N_TIMEOUT]) cfg_diag_add(c->diags, f[N_TIMEOUT]->value->pos, "timeout must be above 0");
    nt->timeout_ms = 5000;
  }
}

static void parse_notifiers(struct cfg__ctx *c, struct cfg_monitor *m, const struct cfg__node *n) {
  if (n->type != CFG__MAP) {
    cfg__expected(c, n, "a mapping of notifiers");
    return;
  }
  m->notifiers = vg_calloc(n->n ? n->n : 1, sizeof *m->notifiers);
  for (size_t i = 0; i < n->n; i++) {
    const struct cfg__pair *p = &n->pairs[i];
    if (p->duplicate) continue;
    if (!cfg__entry_name(c, p, "notifier", true)) continue;
    struct cfg_notifier *nt = &m->notifiers[m->n_notifiers++];
    nt->name = vg_strdup(p->key->text);
    nt->pos = p->key->pos;
    nt->min_severity = CFG_SEV_WARNING;
    nt->rate = 1;
    nt->retries = 3;
    nt->timeout_ms = 5000;
    nt->backoff_ms = 500;
    nt->resolved = true;
    parse_notifier(c, nt, p->value);
  }
}

void cfg__monitor_parse(struct cfg__ctx *c, const struct vg_config *cfg, struct cfg_monitor *m,
                        const struct cfg__node *n) {
  m->pos = n->pos;
  m->interval_ms = 60000;
  m->history = 100;
  m->alert_history = 1000;
  m->critical_on_missing_critical = true;
  m->critical_on_backend_lost = true;
  m->degraded_stale = 3;
  m->degraded_missing = 10;
  if (n->type == CFG__NULL) {
    m->stalled_ms = 3 * m->interval_ms;
    return;
  }
  const struct cfg__pair *f[M_N];
  if (!cfg__fields(c, n, mon_keys, M_N, f)) return;
  if (f[M_INTERVAL] && cfg__duration(c, f[M_INTERVAL]->value, &m->interval_ms) &&
      m->interval_ms < 10) {
    cfg_diag_add(c->diags, f[M_INTERVAL]->value->pos, "interval must be 10ms or more");
    m->interval_ms = 10;
  }
  m->stalled_ms = 3 * m->interval_ms;
  if (f[M_STALLED] && cfg__duration(c, f[M_STALLED]->value, &m->stalled_ms) &&
      m->stalled_ms < m->interval_ms)
    cfg_diag_add(c->diags, f[M_STALLED]->value->pos, "stalled_after must be at least the interval");
  long long v;
  if (f[M_HISTORY] && cfg__int(c, f[M_HISTORY]->value, "history", 1, 100000, &v)) m->history = (int)v;
  if (f[M_ALERT_HISTORY] && cfg__int(c, f[M_ALERT_HISTORY]->value, "alert_history", 1, 100000, &v))
    m->alert_history = (int)v;
  if (f[M_HEALTH]) {
    const struct cfg__pair *h[H_N];
    if (cfg__fields(c, f[M_HEALTH]->value, health_keys, H_N, h)) {
      if (h[H_MISSING_CRIT]) cfg__bool(c, h[H_MISSING_CRIT]->value, &m->critical_on_missing_critical);
      if (h[H_BACKEND]) cfg__bool(c, h[H_BACKEND]->value, &m->critical_on_backend_lost);
      if (h[H_STALE]) cfg__int(c, h[H_STALE]->value, "degraded_stale", 0, LLONG_MAX, &m->degraded_stale);
      if (h[H_MISSING])
        cfg__int(c, h[H_MISSING]->value, "degraded_missing", 0, LLONG_MAX, &m->degraded_missing);
    }
  }
  if (f[M_CHECKS]) parse_checks(c, cfg, m, f[M_CHECKS]->value);
  if (f[M_NOTIFIERS]) parse_notifiers(c, m, f[M_NOTIFIERS]->value);
}

void cfg__monitor_free(struct cfg_monitor *m) {
  for (size_t i = 0; i < m->n_checks; i++) {
    struct cfg_check *k = &m->checks[i];
    free(k->name);
    vg_strv_free(k->keys);
    free(k->target);
    free(k->restart);
    vg_strv_free(k->states);
  }
  free(m->checks);
  for (size_t i = 0; i < m->n_notifiers; i++) {
    free(m->notifiers[i].name);
    free(m->notifiers[i].url);
    vg_strv_free(m->notifiers[i].argv);
  }
  free(m->notifiers);
  memset(m, 0, sizeof *m);
}

const char *cfg_severity_name(int s) {
  return s >= 0 && s < (int)VG_ARRAY_LEN(severity_names) ? severity_names[s] : "warning";
}

static char *dup_or_null(const char *s) { return s ? vg_strdup(s) : NULL; }
static char **strv_dup_or_null(char **v) { return v ? vg_strv_dup(v) : NULL; }

struct cfg_monitor *cfg_monitor_dup(const struct cfg_monitor *m) {
  struct cfg_monitor *c = vg_calloc(1, sizeof *c);
  *c = *m;
  c->checks = vg_calloc(m->n_checks + 1, sizeof *c->checks);
  for (size_t i = 0; i < m->n_checks; i++) {
    struct cfg_check *k = &c->checks[i];
    *k = m->checks[i];
    k->name = dup_or_null(k->name);
    k->keys = strv_dup_or_null(k->keys);
    k->target = dup_or_null(k->target);
    k->restart = dup_or_null(k->restart);
    k->states = strv_dup_or_null(k->states);
  }
  c->notifiers = vg_calloc(m->n_notifiers + 1, sizeof *c->notifiers);
  for (size_t i = 0; i < m->n_notifiers; i++) {
    struct cfg_notifier *n = &c->notifiers[i];
    *n = m->notifiers[i];
    n->name = dup_or_null(n->name);
    n->url = dup_or_null(n->url);
    n->argv = strv_dup_or_null(n->argv);
  }
  return c;
}

void cfg_monitor_free(struct cfg_monitor **m) {
  if (!*m) return;
  cfg__monitor_free(*m);
  free(*m);
  *m = NULL;
}
