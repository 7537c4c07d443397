/*
 * The daemon's monitor: a timer on the loop every monitor.interval samples the services
 * and queues an evaluation on libuv's thread pool (it reads the cache, Redis and the
 * store, which may block); the evaluation applies its findings to the alert table,
 * computes the health, keeps it in a ring, hands changed alerts to the notifier thread,
 * saves the history file, and asks the loop (uv_async) to apply the restarts that
 * staleness checks with `restart:` call for. Readers take one mutex.
 *
 * Restarts (document 000): past its critical age a stale check's service is restarted
 * through the supervisor's restart event (sv_restart), at most once per `cooldown`, at
 * most `max_restarts` times; then the monitor gives up (logged, a metric, a critical
 * alert). Data that is fresh again resets the count. Each restart shows as an alert of
 * its own (category service, key restart:SERVICE) while the data stays stale.
 */
#include "monitor/mon_int.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/vtime.h"
#include "ingest/ingest.h"
#include "metrics/metrics.h"
#include "supervise/supervise.h"

#define MAX_REASONS 1000

struct restart_state {
  int count;
  int64_t last_at;  /* monotonic ns of the last restart */
  bool due;         /* the last evaluation found the critical age passed */
  bool gave_up;
};

struct past {
  int64_t at;
  enum mon_health status;
  char *reasons; /* a JSON array's text */
};

struct mon {
  struct cfg_monitor *cfg;
  uv_loop_t *loop;
  struct sv_supervisor *sv;
  struct mon_source src;
  char *history_path;
  struct mon__fams fams;
  bool has_metrics;
  struct mon__notifier *notifier;
  uv_timer_t timer;
  uv_async_t async;
  uv_work_t work;
  bool running;     /* a pool evaluation is queued or running (loop thread only) */
  atomic_int holds; /* evaluations on demand queued or running (mon_hold) */
  bool closing;
  int64_t opened;   /* realtime ns */

  pthread_mutex_t eval_mu; /* one evaluation at a time */
  struct mon_memo memo;    /* under eval_mu */

  pthread_mutex_t mu;      /* everything below */
  struct mon_service_state *svc;
  size_t n_svc;
  bool sampled;
  struct mon_alerts *alerts;
  struct restart_state *restarts; /* per check */
  enum mon_health health;
  int64_t last_at;   /* realtime ns of the last evaluation; 0: none */
  struct mon_counts counts;
  char *reasons;     /* the last evaluation's reasons, a JSON array's text */
  struct past *ring;
  size_t ring_head, ring_n;
  uint64_t evaluations;
};

void mon__memo_init(struct mon_memo *mm, size_t n) {
  mm->init = vg_calloc(n + 1, sizeof *mm->init);
  mm->gaps = vg_calloc(n + 1, sizeof *mm->gaps);
  mm->missed = vg_calloc(n + 1, sizeof *mm->missed);
  mm->gap_at = vg_calloc(n + 1, sizeof *mm->gap_at);
}

void mon__memo_free(struct mon_memo *mm) {
  free(mm->init);
  free(mm->gaps);
  free(mm->missed);
  free(mm->gap_at);
  memset(mm, 0, sizeof *mm);
}

/* ---- an evaluation ---- */

static void reason_json(struct vg_buf *b, const char *check, int severity, const char *category,
                        const char *key, const char *message) {
  vg_buf_puts(b, "{\"check\":");
  vg_buf_json_str(b, check);
  vg_buf_printf(b, ",\"severity\":\"%s\",\"category\":", mon_severity_name(severity));
  vg_buf_json_str(b, category);
  vg_buf_puts(b, ",\"key\":");
  vg_buf_json_str(b, key);
  vg_buf_puts(b, ",\"message\":");
  vg_buf_json_str(b, message);
  vg_buf_putc(b, '}');
}

static void on_changed(void *arg, const struct mon_alert *a) {
  struct mon *m = arg;
  VG_INFO(a->firing ? "alert firing" : "alert resolved", VF_S("check", a->check), VF_S("key", a->key),
          VF_S("severity", mon_severity_name(a->severity)), VF_S("message", a->message));
  if (a->firing && a->started == a->changed && m->has_metrics) {
    const char *lv[] = {mon_severity_name(a->severity), a->check};
    mt_inc(mt_get(m->fams.alerts, lv), 1);
  }
  mon__notify_alert(m->notifier, a);
}

void mon_event(struct mon *m, int severity, const char *check, const char *category,
               const char *key, const char *message, const char *details) {
  if (!m) return;
  int64_t now = vg_wall_ns();
  struct mon_alert a = {.check = (char *)check, .key = (char *)(key ? key : ""),
                        .category = (char *)category, .message = (char *)message,
                        .details = (char *)(details ? details : "{}"), .severity = severity,
                        .firing = true, .started = now, .changed = now};
  pthread_mutex_lock(&m->mu);
  mon_alerts_event(m->alerts, &a); /* the history's copy is ended */
  pthread_mutex_unlock(&m->mu);
  on_changed(m, &a); /* logged, counted and sent as it happened: firing */
}

/* The findings about restarts, from the restart states (under mu). */
static void restart_findings(struct mon *m, struct mon_eval *ev) {
  for (size_t i = 0; i < m->cfg->n_checks; i++) {
    const struct cfg_check *k = &m->cfg->checks[i];
    struct restart_state *r = &m->restarts[i];
    if (!k->restart) continue;
    r->due = ev->restart_due[i];
    if (!r->due) {
      r->count = 0; /* the data is fresh again: a later stall gets every attempt again */
      r->gave_up = false;
      if (m->has_metrics) {
        const char *lv[] = {k->name, k->restart};
        mt_set(mt_get(m->fams.exhausted, lv), 0);
      }
      continue;
    }
    if (!r->count && !r->gave_up) continue;
    char *key = vg_asprintf("restart:%s", k->restart);
    char *msg = r->gave_up
                    ? vg_asprintf("gave up restarting %s after %d attempts; its data is still stale",
                                  k->restart, r->count)
                    : vg_asprintf("restarted %s %d of %d times; its data is still stale", k->restart,
                                  r->count, k->max_restarts);
    mon__add_finding(ev, k->name, key, r->gave_up ? MON_CRITICAL : MON_WARNING, "service", msg,
                     vg_asprintf("{\"service\":\"%s\",\"restarts\":%d,\"max_restarts\":%d,\"gave_up\":%s}",
                                 k->restart, r->count, k->max_restarts, r->gave_up ? "true" : "false"));
    free(key);
  }
}

void mon_evaluate_now(struct mon *m) {
  pthread_mutex_lock(&m->eval_mu);
  uint64_t t0 = vg_now_ns();
  pthread_mutex_lock(&m->mu);
  size_t n_svc = m->n_svc;
  bool sampled = m->sampled;
  struct mon_service_state *svc = vg_calloc(n_svc + 1, sizeof *svc);
  for (size_t i = 0; i < n_svc; i++) {
    svc[i] = m->svc[i];
    svc[i].name = vg_strdup(m->svc[i].name);
  }
  pthread_mutex_unlock(&m->mu);

  struct mon_eval ev;
  int64_t now = vg_wall_ns();
  /* before the first sample the service checks do not run (not "no such service") */
  mon_evaluate_memo(m->cfg, &m->src, m->sv && sampled ? svc : NULL, n_svc, now, &m->memo, &ev);
  for (size_t i = 0; i < n_svc; i++) free(svc[i].name);
  free(svc);

  pthread_mutex_lock(&m->mu);
  restart_findings(m, &ev);
  bool want_restart = false;
  for (size_t i = 0; i < m->cfg->n_checks; i++)
    if (m->cfg->checks[i].restart && m->restarts[i].due && !m->restarts[i].gave_up) want_restart = true;
  size_t changed = mon_alerts_apply(m->alerts, m->cfg, &ev, on_changed, m);
  enum mon_health h = mon_health_of(m->cfg, &ev);
  struct vg_buf rb;
  vg_buf_init(&rb);
  vg_buf_putc(&rb, '[');
  for (size_t i = 0; i < ev.n && i < MAX_REASONS; i++) {
    if (i) vg_buf_putc(&rb, ',');
    const struct mon_finding *f = &ev.f[i];
    reason_json(&rb, f->check, f->severity, f->category, f->key, f->message);
  }
  vg_buf_putc(&rb, ']');
  m->health = h;
  m->last_at = now;
  m->counts = ev.counts;
  m->counts.firing = mon_alerts_count(m->alerts, true);
  free(m->reasons);
  m->reasons = rb.data;
  struct past *p = &m->ring[m->ring_head];
  free(p->reasons);
  *p = (struct past){.at = now, .status = h, .reasons = vg_strdup(m->reasons)};
  m->ring_head = (m->ring_head + 1) % (size_t)m->cfg->history;
  if (m->ring_n < (size_t)m->cfg->history) m->ring_n++;
  m->evaluations++;
  if (m->has_metrics) {
    mt_clear(m->fams.firing);
    for (size_t i = 0; i < mon_alerts_count(m->alerts, true); i++) {
      const struct mon_alert *a = mon_alerts_at(m->alerts, i);
      const char *lv[] = {mon_severity_name(a->severity), a->check};
      mt_add(mt_get(m->fams.firing, lv), 1);
    }
    mt_set(mt_get(m->fams.health, NULL), (double)h);
    mt_inc(mt_get(m->fams.evals, NULL), 1);
    mt_set(mt_get(m->fams.last_eval, NULL), (double)now / 1e9);
    mt_set(mt_get(m->fams.eval_seconds, NULL), (double)(vg_now_ns() - t0) / 1e9);
  }
  mon__notify_refresh(m->notifier, m->alerts);
  /* the file is encoded under the mutex and written (fsync) outside it: readers on the
   * loop thread never wait for the disk; eval_mu keeps the writes in order */
  struct vg_buf hist;
  vg_buf_init(&hist);
  if (changed && m->history_path) mon_history_encode(m->alerts, &hist);
  pthread_mutex_unlock(&m->mu);
  if (hist.len) {
    int rc = vg_replace_file(m->history_path, hist.data, hist.len, 0640);
    if (rc < 0)
      VG_ERROR("cannot write the alert history", VF_S("path", m->history_path), VF_S("error", strerror(-rc)));
  }
  vg_buf_free(&hist);
  mon_eval_free(&ev);
  pthread_mutex_unlock(&m->eval_mu);
  if (want_restart && m->loop) uv_async_send(&m->async);
}

/* ---- on the loop thread ---- */

void mon_sample_services(struct mon *m) {
  if (!m->sv) return;
  size_t n = sv_count(m->sv);
  struct mon_service_state *v = vg_calloc(n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++) {
    struct sv_info in;
    sv_info_get(sv_at(m->sv, i), &in);
    v[i].name = vg_strdup(in.name);
    snprintf(v[i].state, sizeof v[i].state, "%s", sv_state_name(in.state));
  }
  pthread_mutex_lock(&m->mu);
  for (size_t i = 0; i < m->n_svc; i++) free(m->svc[i].name);
  free(m->svc);
  m->svc = v;
  m->n_svc = n;
  m->sampled = true;
  pthread_mutex_unlock(&m->mu);
}

static void apply_restarts(struct mon *m) {
  if (!m->sv || m->closing) return;
  int64_t now = (int64_t)vg_now_ns();
  pthread_mutex_lock(&m->mu);
  for (size_t i = 0; i < m->cfg->n_checks; i++) {
    const struct cfg_check *k = &m->cfg->checks[i];
    struct restart_state *r = &m->restarts[i];
    if (!k->restart || !r->due || r->gave_up) continue;
    if (r->count && now - r->last_at < k->cooldown_ms * 1000000LL) continue;
    const char *lv[] = {k->name, k->restart};
    if (r->count >= k->max_restarts) {
      r->gave_up = true;
      VG_ERROR("stale data: gave up restarting its producer", VF_S("check", k->name),
               VF_S("service", k->restart), VF_I("restarts", r->count));
      if (m->has_metrics) mt_set(mt_get(m->fams.exhausted, lv), 1);
      continue;
    }
    r->count++;
    r->last_at = now;
    VG_WARN("stale data: restarting its producer", VF_S("check", k->name), VF_S("service", k->restart),
            VF_I("attempt", r->count), VF_I("max", k->max_restarts));
    if (m->has_metrics) mt_inc(mt_get(m->fams.restarts, lv), 1);
    pthread_mutex_unlock(&m->mu);
    int rc = sv_restart(m->sv, k->restart);
    pthread_mutex_lock(&m->mu);
    if (rc < 0 && rc != -ESHUTDOWN)
      VG_ERROR("cannot restart the producer of stale data", VF_S("service", k->restart),
               VF_S("error", strerror(-rc)));
  }
  pthread_mutex_unlock(&m->mu);
}

static void on_async(uv_async_t *h) { apply_restarts(h->data); }

static void work_run(uv_work_t *w) { mon_evaluate_now(w->data); }

static void work_after(uv_work_t *w, int status) {
  struct mon *m = w->data;
  m->running = false;
  apply_restarts(m);
}

static void on_timer(uv_timer_t *t) {
  struct mon *m = t->data;
  if (m->running || m->closing) return; /* the previous one is still at work */
  mon_sample_services(m);
  m->running = true;
  m->work.data = m;
  if (uv_queue_work(m->loop, &m->work, work_run, work_after) < 0) m->running = false;
}

int mon_open(const struct cfg_monitor *cfg, const struct mon_deps *deps, struct mon **out, char *err,
             size_t errlen) {
  struct mon *m = vg_calloc(1, sizeof *m);
  m->cfg = cfg_monitor_dup(cfg);
  m->loop = deps->loop;
  m->sv = deps->sv;
  m->src = deps->src;
  m->opened = vg_wall_ns();
  m->alerts = mon_alerts_new((size_t)cfg->alert_history);
  m->restarts = vg_calloc(cfg->n_checks + 1, sizeof *m->restarts);
  m->ring = vg_calloc((size_t)cfg->history, sizeof *m->ring);
  m->reasons = vg_strdup("[]");
  mon__memo_init(&m->memo, cfg->n_checks);
  pthread_mutex_init(&m->mu, NULL);
  pthread_mutex_init(&m->eval_mu, NULL);
  if (deps->state_dir) {
    char *dir = vg_asprintf("%s/monitor", deps->state_dir);
    int rc = vg_mkdir_p(dir, 0750);
    if (rc < 0) {
      snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-rc));
      free(dir);
      m->src.free_arg = NULL;
      mon_close(&m);
      return -1;
    }
    m->history_path = vg_asprintf("%s/alerts", dir);
    free(dir);
    rc = mon_history_load(m->alerts, m->history_path);
    if (rc < 0) {
      snprintf(err, errlen, "cannot read %s: %s", m->history_path, strerror(-rc));
      m->src.free_arg = NULL;
      mon_close(&m);
      return -1;
    }
    if (mon_alerts_count(m->alerts, false))
      VG_INFO("alert history read", VF_S("path", m->history_path),
              VF_I("alerts", (long long)mon_alerts_count(m->alerts, false)),
              VF_I("firing", (long long)mon_alerts_count(m->alerts, true)));
  }
  if (deps->metrics) {
    mon__families(deps->metrics, &m->fams);
    m->has_metrics = true;
    mt_set(mt_get(m->fams.health, NULL), 0);
    mt_get(m->fams.evals, NULL);
  }
  m->notifier = mon__notify_start(m->cfg, m->has_metrics ? &m->fams : NULL);
  if (m->loop) {
    uv_timer_init(m->loop, &m->timer);
    m->timer.data = m;
    uv_async_init(m->loop, &m->async, on_async);
    m->async.data = m;
  }
  *out = m;
  return 0;
}

void mon_hold(struct mon *m) { atomic_fetch_add(&m->holds, 1); }
void mon_release(struct mon *m) { atomic_fetch_sub(&m->holds, 1); }

void mon_start(struct mon *m) {
  if (m->loop) uv_timer_start(&m->timer, on_timer, (uint64_t)m->cfg->interval_ms, (uint64_t)m->cfg->interval_ms);
}

static void closed(uv_handle_t *h) {}

void mon_close(struct mon **mp) {
  struct mon *m = *mp;
  if (!m) return;
  m->closing = true;
  if (m->loop) {
    uv_timer_stop(&m->timer);
    if (!uv_is_closing((uv_handle_t *)&m->timer)) uv_close((uv_handle_t *)&m->timer, closed);
    if (!uv_is_closing((uv_handle_t *)&m->async)) uv_close((uv_handle_t *)&m->async, closed);
    /* a queued evaluation must finish before m goes: run the loop until it has */
    while (m->running || atomic_load(&m->holds) > 0) uv_run(m->loop, UV_RUN_ONCE);
    uv_run(m->loop, UV_RUN_NOWAIT);
  }
  mon__notify_stop(&m->notifier);
  if (m->history_path && m->evaluations) mon_history_save(m->alerts, m->history_path);
  mon_alerts_free(&m->alerts);
  for (size_t i = 0; i < m->n_svc; i++) free(m->svc[i].name);
  free(m->svc);
  for (size_t i = 0; i < (size_t)m->cfg->history; i++) free(m->ring[i].reasons);
  free(m->ring);
  free(m->reasons);
  free(m->restarts);
  free(m->history_path);
  mon__memo_free(&m->memo);
  if (m->src.free_arg) m->src.free_arg(m->src.arg);
  cfg_monitor_free(&m->cfg);
  pthread_mutex_destroy(&m->mu);
  pthread_mutex_destroy(&m->eval_mu);
  free(m);
  *mp = NULL;
}

/* ---- readers ---- */

static void time_str(int64_t ns, char *t) { vg_rfc3339_format(ns, 3, t, VG_TIME_LEN); }

/* The stalled reason, or NULL (under mu). */
static char *stalled(struct mon *m, int64_t now) {
  int64_t since = m->last_at ? m->last_at : m->opened;
  int64_t limit = m->cfg->stalled_ms * 1000000LL + (m->last_at ? 0 : m->cfg->interval_ms * 1000000LL);
  if (now - since <= limit) return NULL;
  return m->last_at ? vg_asprintf("the monitor has not evaluated its checks for %.0fs",
                                  (double)(now - since) / 1e9)
                    : vg_asprintf("the monitor has not evaluated its checks since it started %.0fs ago",
                                  (double)(now - since) / 1e9);
}

enum mon_health mon_health_json(struct mon *m, struct vg_buf *out) {
  int64_t now = vg_wall_ns();
  pthread_mutex_lock(&m->mu);
  char *st = stalled(m, now);
  enum mon_health h = st ? MON_CRITICAL_HEALTH : m->health;
  char t[VG_TIME_LEN];
  vg_buf_printf(out, "{\"status\":\"%s\",\"evaluated_at\":", mon_health_name(h));
  if (m->last_at) {
    time_str(m->last_at, t);
    vg_buf_printf(out, "\"%s\"", t);
  } else {
    vg_buf_puts(out, "null");
  }
  vg_buf_puts(out, ",\"reasons\":");
  if (st) {
    vg_buf_putc(out, '[');
    reason_json(out, "monitor", MON_CRITICAL, "monitor", "", st);
    vg_buf_puts(out, strcmp(m->reasons, "[]") ? "," : "");
    vg_buf_puts(out, m->reasons + 1);
  } else {
    vg_buf_puts(out, m->reasons);
  }
  const struct mon_counts *c = &m->counts;
  vg_buf_printf(out,
                ",\"counts\":{\"present\":%zu,\"expected\":%zu,\"stale\":%zu,\"missing\":%zu,"
                "\"missing_critical\":%zu,\"firing\":%zu},\"evaluations\":%llu,\"interval_ms\":%lld,",
                c->present, c->expected, c->stale, c->missing, c->missing_critical,
                mon_alerts_count(m->alerts, true), (unsigned long long)m->evaluations,
                (long long)m->cfg->interval_ms);
  vg_buf_puts(out, "\"restarts\":[");
  bool first = true;
  for (size_t i = 0; i < m->cfg->n_checks; i++) {
    const struct cfg_check *k = &m->cfg->checks[i];
    if (!k->restart) continue;
    const struct restart_state *r = &m->restarts[i];
    vg_buf_printf(out, "%s{\"check\":", first ? "" : ",");
    vg_buf_json_str(out, k->name);
    vg_buf_puts(out, ",\"service\":");
    vg_buf_json_str(out, k->restart);
    vg_buf_printf(out, ",\"restarts\":%d,\"max_restarts\":%d,\"stale\":%s,\"gave_up\":%s}", r->count,
                  k->max_restarts, r->due ? "true" : "false", r->gave_up ? "true" : "false");
    first = false;
  }
  vg_buf_puts(out, "],\"history\":[");
  for (size_t i = 0; i < m->ring_n; i++) {
    size_t at = (m->ring_head + (size_t)m->cfg->history - 1 - i) % (size_t)m->cfg->history;
    const struct past *p = &m->ring[at];
    time_str(p->at, t);
    vg_buf_printf(out, "%s{\"at\":\"%s\",\"status\":\"%s\",\"reasons\":%s}", i ? "," : "", t,
                  mon_health_name(p->status), p->reasons);
  }
  vg_buf_puts(out, "]}\n");
  pthread_mutex_unlock(&m->mu);
  free(st);
  return h;
}

void mon_alerts_json(struct mon *m, bool all, int severity, struct vg_buf *out) {
  pthread_mutex_lock(&m->mu);
  vg_buf_puts(out, "{\"alerts\":[");
  size_t n = mon_alerts_count(m->alerts, !all), k = 0;
  for (size_t i = 0; i < n; i++) {
    const struct mon_alert *a = mon_alerts_at(m->alerts, i);
    if (severity >= 0 && a->severity != severity) continue;
    if (k++) vg_buf_putc(out, ',');
    mon_alert_json(a, out);
  }
  vg_buf_puts(out, "]}\n");
  pthread_mutex_unlock(&m->mu);
}

enum mon_health mon_health_get(struct mon *m, char ***reasons) {
  int64_t now = vg_wall_ns();
  pthread_mutex_lock(&m->mu);
  char *st = stalled(m, now);
  enum mon_health h = st ? MON_CRITICAL_HEALTH : m->health;
  size_t n = 0, cap = 8;
  char **v = vg_calloc(cap + 1, sizeof *v);
  if (st) v[n++] = vg_asprintf("monitor: %s", st);
  for (size_t i = 0; h != MON_HEALTHY && i < mon_alerts_count(m->alerts, true) && n < 20; i++) {
    const struct mon_alert *a = mon_alerts_at(m->alerts, i);
    if (n == cap) {
      cap *= 2;
      v = vg_realloc(v, (cap + 1) * sizeof *v);
    }
    v[n++] = vg_asprintf("monitor: %s (%s)", a->message, mon_severity_name(a->severity));
  }
  v[n] = NULL;
  pthread_mutex_unlock(&m->mu);
  free(st);
  *reasons = v;
  return h;
}
