/*
 * Prometheus alerting rules for vigil, one table entry per alert, rendered as the
 * rules file `promtool check rules` accepts: the supervisor's, then those of the
 * feeds, the store, the InfluxDB sink, compute and failover. Annotations are Go templates evaluated
 * by Prometheus ({{ $labels.service }}, {{ $value }}).
 */
#include <string.h>

#include "export/export_int.h"

struct rule {
  const char *alert;
  const char *expr;
  const char *for_;     /* a Prometheus duration */
  const char *severity; /* warning or critical */
  const char *summary;
  const char *description;
};

static const struct rule rules[] = {
    {"VigilAbsent", "absent(up{job=\"" EX_JOB "\"} == 1)", "1m", "critical",
     "vigil is not being scraped",
     "No successful scrape of job " EX_JOB " for 1 minute: the vigil daemon is down or its "
     "HTTP listener cannot be reached, and no other vigil alert can fire meanwhile."},
    /* A service stopped on purpose (vigil stop, or one that exited under restart: never)
     * is not down. */
    {"VigilServiceDown",
     "(vigil_service_up == 0) unless on (job, instance, service) "
     "(vigil_service_state{state=\"stopped\"} == 1)",
     "2m", "critical", "Service {{ $labels.service }} is not ready",
     "{{ $labels.service }} on {{ $labels.instance }} has not been ready for 2 minutes "
     "(waiting on a dependency, starting, backing off or fatal); see `vigil status`."},
    {"VigilServiceFatal", "vigil_service_state{state=\"fatal\"} == 1", "0m", "critical",
     "Service {{ $labels.service }} is fatal",
     "vigil gave up restarting {{ $labels.service }} on {{ $labels.instance }} after too "
     "many restarts; it stays down until `vigil start {{ $labels.service }}`."},
    {"VigilServiceRestartingOften", "increase(vigil_service_restarts_total[15m]) > 3", "0m",
     "warning", "Service {{ $labels.service }} restarts often",
     "{{ $labels.service }} on {{ $labels.instance }} restarted {{ $value | printf \"%.0f\" }} "
     "times in 15 minutes; see `vigil logs {{ $labels.service }}`."},
    {"VigilStackNotReady", "vigil_stack_ready == 0", "5m", "warning",
     "The vigil stack on {{ $labels.instance }} is not ready",
     "Not every service that should run on {{ $labels.instance }} has been ready for 5 "
     "minutes; see `vigil status`."},

    /* feeds */
    {"VigilFeedSilent", "time() - vigil_feed_last_message_timestamp_seconds > 60", "1m",
     "critical", "Feed {{ $labels.feed }} receives nothing",
     "Feed {{ $labels.feed }} on {{ $labels.instance }} has received no message for over "
     "2 minutes (or none since vigil started): its publisher is down or unreachable."},
    {"VigilFeedBelowExpectedRate",
     "rate(vigil_feed_messages_total[5m]) < on (job, instance, feed) "
     "0.5 * vigil_feed_expected_messages_per_second",
     "5m", "warning", "Feed {{ $labels.feed }} is below half its expected rate",
     "Feed {{ $labels.feed }} on {{ $labels.instance }} has received "
     "{{ $value | printf \"%.1f\" }} messages per second for 10 minutes, less than half of "
     "its expect.rate."},
    {"VigilFeedGaps", "increase(vigil_feed_missed_messages_total[10m]) > 0", "0m", "warning",
     "Feed {{ $labels.feed }} misses messages",
     "Sequence numbers of feed {{ $labels.feed }} on {{ $labels.instance }} skipped "
     "{{ $value | printf \"%.0f\" }} messages in 10 minutes; `vigil status` lists the gaps."},
    {"VigilFeedRefusing",
     "sum by (job, instance, feed) (increase(vigil_feed_decode_errors_total[10m])) > 0", "0m",
     "warning", "Feed {{ $labels.feed }} refuses input",
     "Feed {{ $labels.feed }} on {{ $labels.instance }} refused "
     "{{ $value | printf \"%.0f\" }} lines or messages in 10 minutes; samples are in "
     "STATE_DIR/quarantine/{{ $labels.feed }}.log."},

    /* scan bridges (docs/bridge.md) */
    {"VigilBridgeScanGaps", "increase(vigil_bridge_scan_gaps_total[10m]) > 0", "0m", "warning",
     "Bridge {{ $labels.bridge }} misses scans",
     "Scan numbers read by bridge {{ $labels.bridge }} on {{ $labels.instance }} skipped "
     "{{ $value | printf \"%.0f\" }} scans in 10 minutes."},
    {"VigilBridgeDataStale", "vigil_bridge_data_age_seconds > 60", "1m", "critical",
     "Bridge {{ $labels.bridge }} has no fresh scan",
     "The latest scan of bridge {{ $labels.bridge }} on {{ $labels.instance }} is "
     "{{ $value | printf \"%.0f\" }} s old."},
    {"VigilBridgeQuarantining", "increase(vigil_bridge_quarantined_total[10m]) > 0", "0m", "warning",
     "Bridge {{ $labels.bridge }} quarantines files",
     "Bridge {{ $labels.bridge }} on {{ $labels.instance }} moved "
     "{{ $value | printf \"%.0f\" }} unreadable files to its quarantine directory in 10 minutes "
     "(each with a .reason file)."},

    /* the store */
    {"VigilStoreFlushLagging",
     "(time() - vigil_store_last_flush_timestamp_seconds > 900) and vigil_store_head_points > 0",
     "5m", "warning", "The store on {{ $labels.instance }} does not flush",
     "The store on {{ $labels.instance }} holds points in memory and has not flushed them "
     "into blocks for over 20 minutes (it flushes every 5); see vigil's log for flush errors."},
    {"VigilStoreRefusingValues", "increase(vigil_store_values_refused_total[10m]) > 0", "0m",
     "warning", "The store on {{ $labels.instance }} refuses points",
     "The store on {{ $labels.instance }} refused {{ $value | printf \"%.0f\" }} field values "
     "in 10 minutes (a type conflict or a bad value)."},
    {"VigilStoreCorruptBlocks", "vigil_store_corrupt_blocks_total > 0", "0m", "critical",
     "The store on {{ $labels.instance }} has corrupt blocks",
     "{{ $value | printf \"%.0f\" }} blocks or chunks of the store on {{ $labels.instance }} "
     "failed their checksum since vigil started and are not read: that data is missing from "
     "queries."},

    /* the InfluxDB sink */
    {"VigilSinkDown", "vigil_sink_up == 0", "5m", "warning",
     "InfluxDB does not answer {{ $labels.instance }}",
     "The {{ $labels.sink }} sink on {{ $labels.instance }} has had no answer from its server "
     "for 5 minutes; points go to the spool until it is back."},
    {"VigilSinkDroppingPoints", "increase(vigil_sink_dropped_points_total[10m]) > 0", "0m",
     "critical", "The {{ $labels.sink }} sink drops points",
     "The spool of the {{ $labels.sink }} sink on {{ $labels.instance }} is full: "
     "{{ $value | printf \"%.0f\" }} points were dropped in 10 minutes and will never reach "
     "the server."},
    {"VigilSinkRejectedBatches", "increase(vigil_sink_failed_batches_total[10m]) > 0", "0m",
     "warning", "The server refuses batches of the {{ $labels.sink }} sink",
     "The server refused {{ $value | printf \"%.0f\" }} batches of the {{ $labels.sink }} sink "
     "on {{ $labels.instance }} in 10 minutes; they are kept in rejected.lp, not retried."},
    {"VigilSinkSpoolNotDraining", "vigil_sink_spool_points > 0 and vigil_sink_up == 1", "15m",
     "warning", "The {{ $labels.sink }} spool does not drain",
     "The spool of the {{ $labels.sink }} sink on {{ $labels.instance }} has held points for "
     "15 minutes although its server answers."},

    /* the monitor (docs/monitor.md) */
    {"VigilDataHealthCritical", "vigil_health_status == 2", "1m", "critical",
     "The latest values on {{ $labels.instance }} cannot be trusted",
     "The monitor on {{ $labels.instance }} has found the data critical for a minute (a "
     "critical key missing or not finite, the cache's Redis lost, or the monitor stalled); "
     "`vigil health` says why."},
    {"VigilMonitorStalled", "time() - vigil_monitor_last_evaluation_timestamp_seconds > 600", "0m",
     "warning", "The monitor on {{ $labels.instance }} does not evaluate",
     "The monitor on {{ $labels.instance }} has not evaluated its checks for over 10 minutes."},
    {"VigilNotifierFailing", "increase(vigil_notifier_failures_total[15m]) > 0", "0m", "warning",
     "The {{ $labels.notifier }} notifier drops alerts",
     "The {{ $labels.notifier }} notifier ({{ $labels.kind }}) on {{ $labels.instance }} gave up "
     "on {{ $value | printf \"%.0f\" }} requests in 15 minutes; their alerts were not delivered."},

    /* compute */
    {"VigilComputeBreakerTripped", "vigil_compute_last_run_breaker_trips > 0", "0m", "warning",
     "The last compute run tripped a circuit breaker",
     "The last compute run on {{ $labels.instance }} stopped dispatching "
     "{{ $value | printf \"%.0f\" }} calculations whose cells kept failing; see vigil's log "
     "and `vigil compute report`."},
    {"VigilComputeDeadCells", "vigil_compute_last_run_cells{state=\"dead\"} > 0", "0m", "warning",
     "The last compute run left dead cells",
     "The last compute run on {{ $labels.instance }} left {{ $value | printf \"%.0f\" }} cells "
     "dead; `vigil compute dead` lists them."},
    {"VigilComputeRunOverdue", "time() - vigil_compute_last_run_timestamp_seconds > 93600", "0m",
     "warning", "No compute run finished for over 26 hours",
     "The last compute run on {{ $labels.instance }} finished over 26 hours ago: a daily "
     "schedule missed its run, or runs do not finish."},

    /* failover (docs/failover.md): across the nodes of one job */
    {"VigilFailoverNoActive", "sum by (job) (vigil_failover_role{role=\"active\"}) == 0", "1m",
     "critical", "No vigil node is active",
     "No node of {{ $labels.job }} has held the failover lease for a minute: the lease store "
     "is unreachable, or the cooldown holds the standbys back; see `vigil failover status`."},
    {"VigilFailoverSeveralActive", "sum by (job) (vigil_failover_role{role=\"active\"}) > 1",
     "1m", "critical", "More than one vigil node says it is active",
     "{{ $value | printf \"%.0f\" }} nodes of {{ $labels.job }} report the active role: "
     "they cannot all hold the lease (two lease stores? the same node name twice?)."},
    {"VigilFailoverHappened", "increase(vigil_failover_transitions_total{to=\"active\"}[10m]) > 0",
     "0m", "critical", "vigil failed over to {{ $labels.instance }}",
     "{{ $labels.instance }} became the active node in the last 10 minutes; its log line "
     "`failover: transition` gives the reason and duration."},
    {"VigilFailoverLeaseErrors", "increase(vigil_failover_lease_failures_total[5m]) > 0", "0m",
     "warning", "vigil cannot always reach its failover lease",
     "{{ $labels.instance }} failed {{ $value | printf \"%.0f\" }} lease operations in 5 "
     "minutes (store unreachable or slow past `timeout`); an active node fences itself "
     "when it cannot renew."},
};

char *ex_rules_yaml(void) {
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_puts(&b, "# Prometheus alerting rules for vigil, written by `vigil export prometheus-rules`.\n"
                  "# Check them with: promtool check rules FILE\n"
                  "groups:\n"
                  "  - name: " EX_JOB "\n"
                  "    rules:\n");
  for (size_t i = 0; i < VG_ARRAY_LEN(rules); i++) {
    const struct rule *r = &rules[i];
    vg_buf_printf(&b, "      - alert: %s\n        expr: ", r->alert);
    ex__yaml_quote(&b, r->expr);
    vg_buf_printf(&b, "\n        for: %s\n        labels:\n          severity: %s\n"
                      "        annotations:\n          summary: ", r->for_, r->severity);
    ex__yaml_quote(&b, r->summary);
    vg_buf_puts(&b, "\n          description: ");
    ex__yaml_quote(&b, r->description);
    vg_buf_putc(&b, '\n');
  }
  return b.data;
}

char **ex_rules_exprs(void) {
  char **v = vg_calloc(VG_ARRAY_LEN(rules) + 1, sizeof *v);
  for (size_t i = 0; i < VG_ARRAY_LEN(rules); i++) v[i] = vg_strdup(rules[i].expr);
  return v;
}
