/*
 * monitor — whether the latest values can be trusted (docs/monitor.md).
 *
 * The checks of the config's `monitor:` section run over the latest-value cache (keys
 * present and numeric, critical keys finite, staleness with warn and critical ages,
 * value ranges), over the feeds (rate, sequence gaps), the services (state) and the
 * cache's copies (Redis, the store's last values). Each evaluation gives findings; a
 * finding is an alert keyed by (check, key) that fires, may change severity, and is
 * resolved when an evaluation of its check no longer finds it. Health (healthy,
 * degraded, critical, with every reason) follows document 001's rules by default.
 * Alerts go to notifiers (webhook, Alertmanager, exec) from a thread of their own, and
 * are kept in a bounded history at STATE_DIR/monitor/alerts (history.c documents the
 * format) that a restart reads back.
 *
 * Threads: mon_open, mon_start and mon_close run on the loop thread, which also applies
 * restarts (a staleness check's `restart:`) and samples the services. An evaluation runs
 * on libuv's thread pool (it reads the cache, Redis and the store, which may block);
 * readers (mon_health_json, mon_alerts_json) may run on any thread: the results are
 * behind one mutex.
 */
#ifndef VIGIL_MONITOR_H
#define VIGIL_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cache/cache.h"
#include "config/config.h"
#include "core/core.h"

struct mt_registry;
struct sv_supervisor;
struct ingest_feed;
struct ingest_feed_stats;
struct tsdb;

enum mon_severity { MON_INFO, MON_WARNING, MON_CRITICAL };
enum mon_health { MON_HEALTHY, MON_DEGRADED, MON_CRITICAL_HEALTH };
const char *mon_severity_name(int s);
int mon_severity_parse(const char *s); /* -1 when unknown */
const char *mon_health_name(enum mon_health h);

/* ---- where an evaluation reads from (a cache, or a test's table) ---- */
struct mon_source {
  void *arg;
  /* every entry whose key matches glob (NULL: all); see cache_each */
  size_t (*each)(void *arg, const char *glob, cache_each_fn *fn, void *fnarg);
  /* one key or alias: 0 or -ENOENT; out's key and str are malloc'ed (freed with free) */
  int (*get)(void *arg, const char *key, struct cache_entry *out);
  /* optional: the Redis mirror's state (NULL: no mirror) */
  void (*mirror_stats)(void *arg, struct cache_mirror_stats *out);
  /* optional: see cache_mirror_diff; the lists and names are malloc'ed (freed with free) */
  int (*mirror_diff)(void *arg, const char *glob, double tolerance, size_t max,
                     struct cache_diff *out, char *err, size_t errlen);
  /* optional: a feed's statistics by name; false when there is no such feed */
  bool (*feed_stats)(void *arg, const char *name, struct ingest_feed_stats *out);
  /* optional: the store divergence reads this store */
  struct tsdb *store;
  /* optional: frees arg when the monitor closes */
  void (*free_arg)(void *arg);
};
/* The source over a real cache (its mirror included) and the daemon's feeds. */
void mon_source_cache(struct mon_source *src, struct cache *c, struct ingest_feed *const *feeds,
                      size_t n_feeds, struct tsdb *store);

/* ---- one evaluation, pure (eval.c) ---- */

/* A finding: what one check found wrong about one key (or the check's target). */
struct mon_finding {
  char *check, *key, *category, *message;
  int severity;
  char *details; /* a JSON object's text */
};

struct mon_counts {
  size_t present, expected, stale, missing, missing_critical, firing;
  bool backend_lost;
};

struct mon_eval {
  int64_t at; /* realtime ns */
  struct mon_finding *f;
  size_t n, cap;
  bool *ran;  /* per check of the config: whether it ran (a check that did not keeps its alerts) */
  struct mon_counts counts;
  /* stale checks with a restart: whether the critical age was passed, per check */
  bool *restart_due;
};

/* The states of services, sampled on the loop thread for an evaluation. */
struct mon_service_state {
  char *name;
  char state[16];
};

/* Evaluates every check of m at now (realtime ns) into ev (which the caller frees with
 * mon_eval_free). services: the sampled states (may be NULL). */
void mon_evaluate(const struct cfg_monitor *m, const struct mon_source *src,
                  const struct mon_service_state *services, size_t n_services, int64_t now,
                  struct mon_eval *ev);
void mon_eval_free(struct mon_eval *ev);
/* The health of an evaluation under m's rules; reasons are the findings. */
enum mon_health mon_health_of(const struct cfg_monitor *m, const struct mon_eval *ev);

/* ---- alerts (alerts.c) ---- */
struct mon_alert {
  uint64_t id;
  char *check, *key, *category, *message, *details; /* details: a JSON object's text */
  int severity;
  bool firing;
  int64_t started, ended; /* realtime ns; ended 0 while firing */
  int64_t changed;        /* last change (fired, severity, resolved) */
};
void mon_alert_clear(struct mon_alert *a);

/* The alert table: current alerts by (check, key), and the bounded history. */
struct mon_alerts;
struct mon_alerts *mon_alerts_new(size_t max_history);
void mon_alerts_free(struct mon_alerts **as);
/* Applies an evaluation: new findings fire, changed ones update, and the firing alerts
 * of checks that ran but found nothing resolve. Each alert that changed is given to
 * changed_fn (may be NULL). Returns how many changed. */
typedef void mon_changed_fn(void *arg, const struct mon_alert *a);
size_t mon_alerts_apply(struct mon_alerts *as, const struct cfg_monitor *m, const struct mon_eval *ev,
                        mon_changed_fn *changed_fn, void *arg);
size_t mon_alerts_count(const struct mon_alerts *as, bool firing_only);
/* The i-th alert, newest first (firing and resolved alike). */
const struct mon_alert *mon_alerts_at(const struct mon_alerts *as, size_t i);
/* Adds a copy of a as an event: an alert that fired and ended at once (a failover), kept
 * in the history, never in the firing set; a->id is set. */
void mon_alerts_event(struct mon_alerts *as, struct mon_alert *a);
/* Adds a copy of a (from the history file); used by mon_history_load. */
void mon_alerts_restore(struct mon_alerts *as, const struct mon_alert *a);
/* One alert as a JSON object (the shape of /api/v1/alerts), appended to out. */
void mon_alert_json(const struct mon_alert *a, struct vg_buf *out);

/* ---- the alert history file (history.c) ---- */
/* Encodes every alert of as into out (the whole file). */
void mon_history_encode(const struct mon_alerts *as, struct vg_buf *out);
/* Decodes a history file's bytes into as. Returns how many alerts were read; a bad
 * header, record or checksum stops the read there, with where and why in why (when
 * why[0] is set the rest of the file was dropped). Never reads past len. */
size_t mon_history_decode(const uint8_t *p, size_t len, struct mon_alerts *as, char *why,
                          size_t whylen);
/* Writes as to path atomically (vg_replace_file). 0 or -errno. */
int mon_history_save(const struct mon_alerts *as, const char *path);
/* Reads path into as (a missing file is an empty history). 0, or -errno when the
 * file exists but cannot be read; a damaged tail is logged and dropped. */
int mon_history_load(struct mon_alerts *as, const char *path);

/* ---- the daemon's monitor (monitor.c) ---- */
struct mon;
struct mon_deps {
  uv_loop_t *loop;
  struct sv_supervisor *sv;       /* the services (restarts, states); may be NULL */
  struct mon_source src;
  struct mt_registry *metrics;    /* may be NULL */
  const char *state_dir;          /* the history file lives in STATE_DIR/monitor/ */
};
/* Opens the monitor of cfg (copied) and reads its history; its first evaluation runs
 * at mon_start. 0 or -1 with err. */
int mon_open(const struct cfg_monitor *cfg, const struct mon_deps *deps, struct mon **out,
             char *err, size_t errlen);
void mon_start(struct mon *m);
/* Stops the timer, waits for a running evaluation and the notifier thread (which
 * sends what it holds within its timeouts), saves the history, frees everything. */
void mon_close(struct mon **m);
/* Evaluates now, on the calling thread (any thread but the loop's, or the loop's when
 * nothing blocks: tests, `vigil health --now` through a job). */
void mon_evaluate_now(struct mon *m);
/* Samples the services' states for the next evaluation (loop thread only; the timer
 * does it before each of its evaluations). */
void mon_sample_services(struct mon *m);
/* Work that will call the monitor later from the pool (an evaluation on demand) holds
 * it: mon_close runs the loop until every hold is released. */
void mon_hold(struct mon *m);
void mon_release(struct mon *m);

/* The JSON documents of /api/v1/health and /api/v1/alerts (COMMON.md's shapes).
 * severity: -1 for all; all: resolved ones too. Returns the health. */
enum mon_health mon_health_json(struct mon *m, struct vg_buf *out);
void mon_alerts_json(struct mon *m, bool all, int severity, struct vg_buf *out);
/* The current health and one line per reason (for /readyz), malloc'ed into *reasons. */
enum mon_health mon_health_get(struct mon *m, char ***reasons);

/* Raises an event from outside the checks (a failover transition): logged, counted,
 * given to the notifiers as firing, kept in the history as fired and ended at once.
 * Any thread. details: a JSON object's text, or NULL. */
void mon_event(struct mon *m, int severity, const char *check, const char *category,
               const char *key, const char *message, const char *details);

/* Metric families: vigil_alerts_firing, vigil_health_status, vigil_monitor_* */
void mon_metrics_describe(struct mt_registry *reg);

#endif
