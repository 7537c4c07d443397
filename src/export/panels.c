/*
 * The panels of the "vigil — system health" dashboard, one entry each, in layout
 * order. To add a panel, add an entry; to add a row, add a "row" entry and its panels.
 * Every expression must only use metrics ex_metric_origin() knows (the unit tests
 * check it), and service panels filter on the dashboard's $service variable.
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
