/*
 * monitor internals shared by the files of src/monitor/ (not part of the contract).
 */
#ifndef VIGIL_MON_INT_H
#define VIGIL_MON_INT_H

#include "monitor/monitor.h"

/* The built-in check every evaluation runs when the cache has a Redis mirror: its
 * connection (document 001: a lost cache backend is critical). */
#define MON__BACKEND_CHECK "cache_backend"

/* What an evaluation remembers from the previous ones, per check (gaps). */
struct mon_memo {
  bool *init;
  uint64_t *gaps, *missed;
  int64_t *gap_at;
};
void mon__memo_init(struct mon_memo *mm, size_t n_checks);
void mon__memo_free(struct mon_memo *mm);

/* mon_evaluate with a memo (may be NULL: gaps fire while any gap was ever seen). */
void mon_evaluate_memo(const struct cfg_monitor *m, const struct mon_source *src,
                       const struct mon_service_state *services, size_t n_services, int64_t now,
                       struct mon_memo *memo, struct mon_eval *ev);

bool mon__is_glob(const char *s);
/* Adds a finding; message and details (a JSON object's text, NULL: {}) are taken. */
void mon__add_finding(struct mon_eval *ev, const char *check, const char *key, int severity,
                      const char *category, char *message, char *details);
/* Frees what a source's get and mirror_diff gave (plain malloc'ed strings). */
void mon__entry_clear(struct cache_entry *e);
void mon__diff_free(struct cache_diff *d);
/* The length of the measurement at the start of a cache key (escapes honoured); the
 * series part (before the field's '.') in *series_len. */
size_t mon__key_measurement(const char *key, size_t *series_len);

/* The name of a check by its index in the config (n_checks: the built-in one). */
const char *mon__check_name(const struct cfg_monitor *m, size_t i);

/* Metric families (metrics.c) */
struct mt_family;
struct mon__fams {
  struct mt_family *firing, *health, *evals, *eval_seconds, *last_eval, *alerts, *restarts,
      *exhausted, *sends, *failures, *retries, *dropped;
};
void mon__families(struct mt_registry *r, struct mon__fams *f);

/* Notifiers (notify.c): a thread that sends changed alerts. */
struct mon__notifier;
/* fams may be NULL (no metrics). */
struct mon__notifier *mon__notify_start(const struct cfg_monitor *cfg, const struct mon__fams *fams);
void mon__notify_alert(struct mon__notifier *n, const struct mon_alert *a);
/* Alertmanager forgets alerts not re-sent: the firing ones again, every minute. */
void mon__notify_refresh(struct mon__notifier *n, const struct mon_alerts *as);
void mon__notify_stop(struct mon__notifier **n);

/* A JSON payload of alerts in Alertmanager's /api/v2/alerts shape. */
void mon__am_payload(const struct mon_alert *const *alerts, size_t n, struct vg_buf *out);

#endif
