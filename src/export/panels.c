/*
 * The panels of the "vigil — system health" dashboard, one entry each, in layout
 * order. To add a panel, add an entry; to add a row, add a "row" entry and its panels.
 * Every expression must only use metrics of the families every module registers
 * (ex_metric_families; the unit tests and `vigil export` check it), and service panels
 * filter on the dashboard's $service variable. Panels use no `> 0`-style filters that
 * would leave them empty on a healthy stack, so a test can ask that each returns data.
 */
#include "export/export_int.h"

/* The $service variable as a label matcher. */
#define SVC "service=~\"$service\""
/* One state's share of the state code: 0 or its code. */
#define STATE_CODE(name, code) "vigil_service_state{" SVC ",state=\"" name "\"} * " #code

/* Codes follow the order of sv_state (src/supervise/fsm.c); stopped is 0. */
const struct ex__state ex__states[] = {
    {"stopped", "text"},        {"waiting", "blue"},   {"starting", "yellow"},
    {"ready", "green"},         {"stopping", "purple"}, {"backoff", "orange"},
    {"fatal", "red"},
};
const size_t ex__n_states = VG_ARRAY_LEN(ex__states);

const struct ex__panel ex__panels[] = {
    {.type = "row", .title = "Stack"},
    {.type = "stat", .title = "Stack ready", .w = 4, .h = 4, .look = EX__LOOK_READY,
     .description = "1 when every service that should run is ready.",
     .q = {{"vigil_stack_ready", "{{instance}}"}}},
    {.type = "stat", .title = "Services up", .unit = "percentunit", .w = 4, .h = 4,
     .look = EX__LOOK_RATIO,
     .description = "Share of the selected services that are ready.",
     .q = {{"sum(vigil_service_up{" SVC "}) / count(vigil_service_up{" SVC "})", "up"}}},
    {.type = "stat", .title = "Restarts in range", .unit = "short", .w = 4, .h = 4,
     .description = "Automatic restarts of the selected services over the dashboard's time range.",
     .q = {{"sum(increase(vigil_service_restarts_total{" SVC "}[$__range]))", "restarts"}}},
    {.type = "stat", .title = "vigil uptime", .unit = "s", .w = 4, .h = 4,
     .description = "Time since the vigil daemon started.",
     .q = {{"time() - process_start_time_seconds{job=\"" EX_JOB "\"}", "{{instance}}"}}},
    {.type = "stat", .title = "vigil version", .w = 8, .h = 4, .look = EX__LOOK_NAME,
     .description = "Version and commit of the running vigil.",
     .q = {{"vigil_build_info", "{{version}} ({{commit}})"}}},

    {.type = "row", .title = "Services"},
    {.type = "table", .title = "Service state", .w = 8, .h = 8, .look = EX__LOOK_STATE_TABLE,
     .description = "The current state of each service.",
     .q = {{"vigil_service_state{" SVC "} == 1", NULL}}},
    {.type = "state-timeline", .title = "State history", .w = 16, .h = 8,
     .look = EX__LOOK_STATE_CODE,
     .description = "Each service's state over time.",
     .q = {{"max by (instance, service) (" STATE_CODE("waiting", 1) " or " STATE_CODE("starting", 2)
            " or " STATE_CODE("ready", 3) " or " STATE_CODE("stopping", 4) " or "
            STATE_CODE("backoff", 5) " or " STATE_CODE("fatal", 6) ")",
            "{{service}}"}}},
    {.type = "timeseries", .title = "Restarts", .unit = "short", .w = 12, .h = 8,
     .description = "Automatic restarts per service in each interval.",
     .q = {{"increase(vigil_service_restarts_total{" SVC "}[$__rate_interval])", "{{service}}"}}},
    {.type = "timeseries", .title = "Uptime", .unit = "s", .w = 12, .h = 8,
     .description = "Time since each service's current process started (none while it is down).",
     .q = {{"time() - (vigil_service_start_time_seconds{" SVC "} > 0)", "{{service}}"}}},
    {.type = "timeseries", .title = "Readiness latency (spawn to ready)", .unit = "s", .w = 12,
     .h = 8, .description = "Median and 95th percentile of the time from spawn to ready, over 5m.",
     .q = {{"histogram_quantile(0.5, sum by (le, service) "
            "(rate(vigil_service_ready_seconds_bucket{" SVC "}[5m])))",
            "{{service}} p50"},
           {"histogram_quantile(0.95, sum by (le, service) "
            "(rate(vigil_service_ready_seconds_bucket{" SVC "}[5m])))",
            "{{service}} p95"}}},
    {.type = "timeseries", .title = "Watchdog pings", .unit = "hertz", .w = 12, .h = 8,
     .description = "WATCHDOG=1 pings per second received from each service.",
     .q = {{"rate(vigil_service_watchdog_pings_total{" SVC "}[$__rate_interval])",
            "{{service}}"}}},
    {.type = "stat", .title = "Last exit code", .w = 24, .h = 4,
     .description = "Exit code of each service's last process.",
     .q = {{"vigil_service_last_exit_code{" SVC "}", "{{service}}"}}},

    {.type = "row", .title = "Feeds"},
    {.type = "timeseries", .title = "Messages per second against expect", .unit = "short", .w = 12,
     .h = 8,
     .description = "Messages each feed receives per second, and the rate its expect.rate says it "
                    "should (feeds with an expectation).",
     .q = {{"sum by (instance, feed) (rate(vigil_feed_messages_total[$__rate_interval]))",
            "{{feed}}"},
           {"vigil_feed_expected_messages_per_second", "{{feed}} expected"}}},
    {.type = "timeseries", .title = "Sequence gaps", .unit = "short", .w = 12, .h = 8,
     .description = "Forward jumps of a sequence number, and the messages they skipped, in each "
                    "interval (feeds with expect.seq_field).",
     .q = {{"increase(vigil_feed_gaps_total[$__rate_interval])", "{{feed}} gaps"},
           {"increase(vigil_feed_missed_messages_total[$__rate_interval])", "{{feed}} missed"}}},
    {.type = "timeseries", .title = "Refusals", .unit = "short", .w = 12, .h = 8,
     .description = "Lines, objects or messages each feed refused in each interval, by reason; "
                    "samples are in STATE_DIR/quarantine/FEED.log.",
     .q = {{"sum by (instance, feed, reason) "
            "(increase(vigil_feed_decode_errors_total[$__rate_interval]))",
            "{{feed}} {{reason}}"}}},
    {.type = "timeseries", .title = "Last message age", .unit = "s", .w = 12, .h = 8,
     .description = "Time since each feed's last message (none before its first).",
     .q = {{"time() - (vigil_feed_last_message_timestamp_seconds > 0)", "{{feed}}"}}},

    {.type = "row", .title = "Store"},
    {.type = "timeseries", .title = "Points written", .unit = "short", .w = 6, .h = 8,
     .description = "Field values written to the store per second, and those it refused.",
     .q = {{"rate(vigil_store_values_written_total[$__rate_interval])", "written {{instance}}"},
           {"rate(vigil_store_values_refused_total[$__rate_interval])", "rejected {{instance}}"}}},
    {.type = "timeseries", .title = "Bytes per point", .unit = "bytes", .w = 6, .h = 8,
     .description = "Block bytes over block points per retention policy: what compression "
                    "achieves (empty before the policy's first flush).",
     .q = {{"vigil_store_policy_bytes / vigil_store_policy_values", "{{policy}}"}}},
    {.type = "timeseries", .title = "Flush lag", .unit = "s", .w = 6, .h = 8,
     .description = "Time since the head was last flushed into blocks: it grows until a flush "
                    "(every 5 minutes, or sooner when the head fills).",
     .q = {{"time() - vigil_store_last_flush_timestamp_seconds", "{{instance}}"}}},
    {.type = "timeseries", .title = "Points in memory", .unit = "short", .w = 6, .h = 8,
     .description = "Points in the head, written to the log but not yet in blocks.",
     .q = {{"vigil_store_head_points", "{{instance}}"}}},
    {.type = "timeseries", .title = "Disk", .unit = "bytes", .w = 12, .h = 8,
     .description = "Bytes of block files, and of the write-ahead and series logs.",
     .q = {{"vigil_store_block_bytes", "blocks {{instance}}"},
           {"vigil_store_wal_bytes", "log {{instance}}"}}},
    {.type = "timeseries", .title = "Query latency", .unit = "s", .w = 12, .h = 8,
     .description = "95th percentile of store query latency over 5m (empty without queries).",
     .q = {{"histogram_quantile(0.95, sum by (le, instance) "
            "(rate(vigil_store_query_duration_seconds_bucket[5m])))",
            "p95 {{instance}}"}}},

    {.type = "row", .title = "InfluxDB sink"},
    {.type = "stat", .title = "Sink up", .w = 4, .h = 8, .look = EX__LOOK_UP,
     .description = "Whether the last request to the sink's server got an answer.",
     .q = {{"vigil_sink_up", "{{sink}}"}}},
    {.type = "timeseries", .title = "Points sent", .unit = "short", .w = 10, .h = 8,
     .description = "Points the server acknowledged per second.",
     .q = {{"rate(vigil_sink_points_sent_total[$__rate_interval])", "{{sink}}"}}},
    {.type = "timeseries", .title = "Spool depth", .unit = "short", .w = 10, .h = 8,
     .description = "Points waiting: in the on-disk spool (not yet acknowledged) and in memory.",
     .q = {{"vigil_sink_spool_points", "{{sink}} spooled"},
           {"vigil_sink_queued_points", "{{sink}} in memory"}}},
    {.type = "timeseries", .title = "Drops, refusals, retries", .unit = "short", .w = 12, .h = 8,
     .description = "In each interval: points dropped from a full spool (lost), batches the "
                    "server refused (kept in rejected.lp) and requests retried.",
     .q = {{"increase(vigil_sink_dropped_points_total[$__rate_interval])", "{{sink}} points dropped"},
           {"increase(vigil_sink_failed_batches_total[$__rate_interval])", "{{sink}} batches refused"},
           {"increase(vigil_sink_retries_total[$__rate_interval])", "{{sink}} retries"}}},
    {.type = "timeseries", .title = "Spool bytes", .unit = "bytes", .w = 12, .h = 8,
     .description = "Bytes in the spool, against its spool_max.",
     .q = {{"vigil_sink_spool_bytes", "{{sink}}"}}},

    {.type = "row", .title = "Data monitor"},
    {.type = "stat", .title = "Data health", .unit = "short", .w = 4, .h = 4,
     .description = "The monitor's health of the latest values (docs/monitor.md): 0 healthy, "
                    "1 degraded, 2 critical. `vigil health` says why.",
     .q = {{"vigil_health_status", "health"}}},
    {.type = "timeseries", .title = "Alerts firing", .unit = "short", .w = 8, .h = 8,
     .description = "The monitor's alerts firing, by severity.",
     .q = {{"sum by (instance, severity) (vigil_alerts_firing)", "{{severity}}"}}},
    {.type = "timeseries", .title = "Evaluation time", .unit = "s", .w = 6, .h = 8,
     .description = "How long the last evaluation of the checks took (a walk over the cache, "
                    "Redis and the store).",
     .q = {{"vigil_monitor_evaluation_seconds", "evaluation"}}},
    {.type = "timeseries", .title = "Notifier requests", .unit = "short", .w = 6, .h = 8,
     .description = "Requests each notifier delivered, and those it gave up on (alerts lost).",
     .q = {{"increase(vigil_notifier_sends_total[$__rate_interval])", "{{notifier}} sent"},
           {"increase(vigil_notifier_failures_total[$__rate_interval])", "{{notifier}} failed"}}},

    {.type = "row", .title = "Compute"},
    {.type = "stat", .title = "Last run", .unit = "s", .w = 4, .h = 4,
     .description = "Time since the last compute run finished.",
     .q = {{"time() - vigil_compute_last_run_timestamp_seconds", "ago"}}},
    {.type = "stat", .title = "Last run took", .unit = "s", .w = 4, .h = 4,
     .q = {{"vigil_compute_last_run_duration_seconds", "took"}}},
    {.type = "stat", .title = "Breakers tripped (last run)", .unit = "short", .w = 4, .h = 4,
     .description = "Calculations whose circuit breaker the last run tripped.",
     .q = {{"vigil_compute_last_run_breaker_trips", "tripped"}}},
    {.type = "stat", .title = "Cells of the last run", .unit = "short", .w = 12, .h = 4,
     .description = "How the last run settled its cells: ran (a new result), stable (ran, same "
                    "result), uptodate, dead, blocked, impossible.",
     .q = {{"vigil_compute_last_run_cells", "{{state}}"}}},
    {.type = "timeseries", .title = "Attempts by status", .unit = "short", .w = 12, .h = 8,
     .description = "Finished attempts in each interval: done, crashed, timeout, dataerr, memory, "
                    "interrupted, abandoned.",
     .q = {{"sum by (instance, status) (increase(vigil_compute_attempts_total[$__rate_interval]))",
            "{{status}}"}}},
    {.type = "timeseries", .title = "Breaker trips", .unit = "short", .w = 12, .h = 8,
     .description = "Circuit-breaker trips per calculation, over every run in the ledger.",
     .q = {{"vigil_compute_breaker_trips_total", "{{calc}}"}}},

    {.type = "row", .title = "vigil process"},
    {.type = "timeseries", .title = "CPU", .unit = "percentunit", .w = 6, .h = 8,
     .description = "CPU time used by the vigil daemon per second.",
     .q = {{"rate(process_cpu_seconds_total{job=\"" EX_JOB "\"}[1m])", "{{instance}}"}}},
    {.type = "timeseries", .title = "Resident memory", .unit = "bytes", .w = 6, .h = 8,
     .q = {{"process_resident_memory_bytes{job=\"" EX_JOB "\"}", "{{instance}}"}}},
    {.type = "timeseries", .title = "Open file descriptors", .unit = "short", .w = 6, .h = 8,
     .description = "Descriptors in use against the limit.",
     .q = {{"process_open_fds{job=\"" EX_JOB "\"}", "open {{instance}}"},
           {"process_max_fds{job=\"" EX_JOB "\"}", "max {{instance}}"}}},
    {.type = "timeseries", .title = "HTTP requests", .unit = "reqps", .w = 6, .h = 8,
     .description = "Requests per second to vigil's HTTP listeners, by status code.",
     .q = {{"sum by (listener, code) (rate(vigil_http_requests_total{job=\"" EX_JOB
            "\"}[$__rate_interval]))",
            "{{listener}} {{code}}"}}},
};
const size_t ex__n_panels = VG_ARRAY_LEN(ex__panels);
