/*
 * The monitor's metric families, defined once: the daemon registers them through
 * mon__families and `vigil export` lists them through mon_metrics_describe.
 */
#include "monitor/mon_int.h"

#include "metrics/metrics.h"

void mon__families(struct mt_registry *r, struct mon__fams *f) {
  static const char *const sev_check[] = {"severity", "check", NULL};
  static const char *const check_service[] = {"check", "service", NULL};
  static const char *const notifier[] = {"notifier", "kind", NULL};
  f->firing = mt_gauge(r, "vigil_alerts_firing", "Alerts firing now, by severity and check.", sev_check);
  f->health = mt_gauge(r, "vigil_health_status",
                       "The monitor's health: 0 healthy, 1 degraded, 2 critical.", NULL);
  f->evals = mt_counter(r, "vigil_monitor_evaluations_total", "Evaluations of the monitor's checks.", NULL);
  f->eval_seconds = mt_gauge(r, "vigil_monitor_evaluation_seconds",
                             "How long the last evaluation of the checks took.", NULL);
  f->last_eval = mt_gauge(r, "vigil_monitor_last_evaluation_timestamp_seconds",
                          "When the checks were last evaluated (Unix time).", NULL);
  f->alerts = mt_counter(r, "vigil_monitor_alerts_total",
                         "Alerts that fired, by severity and check.", sev_check);
  f->restarts = mt_counter(r, "vigil_monitor_restarts_total",
                           "Services a staleness check restarted.", check_service);
  f->exhausted = mt_gauge(r, "vigil_monitor_restarts_exhausted",
                          "1 when a staleness check gave up restarting its service (max_restarts reached).",
                          check_service);
  f->sends = mt_counter(r, "vigil_notifier_sends_total",
                        "Requests a notifier delivered (one carries every pending alert).", notifier);
  f->failures = mt_counter(r, "vigil_notifier_failures_total",
                           "Requests a notifier gave up on after its retries (their alerts were dropped).",
                           notifier);
  f->retries = mt_counter(r, "vigil_notifier_retries_total", "Failed attempts a notifier retried.", notifier);
  f->dropped = mt_counter(r, "vigil_notifier_dropped_total",
                          "Alerts dropped because a notifier's pending list was full.", notifier);
}

void mon_metrics_describe(struct mt_registry *r) {
  struct mon__fams f;
  mon__families(r, &f);
}
