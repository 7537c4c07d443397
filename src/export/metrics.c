/*
 * The metric names vigil exposes on /metrics, as the exports expect them. The dashboard
 * and the rules are checked against this list (tests), and the list against a live
 * scrape (integration tests), so a renamed metric breaks a test, not a dashboard.
 */
#include <string.h>

#include "export/export_int.h"

static const struct {
  const char *name;
  bool histogram;
} exposed[] = {
    {"vigil_build_info", false},
    {"vigil_service_up", false},
    {"vigil_service_state", false},
    {"vigil_service_restarts_total", false},
    {"vigil_service_start_time_seconds", false},
    {"vigil_service_last_exit_code", false},
    {"vigil_service_ready_seconds", true},
    {"vigil_service_watchdog_pings_total", false},
    {"vigil_stack_ready", false},
    {"vigil_http_requests_total", false},
    {"process_cpu_seconds_total", false},
    {"process_resident_memory_bytes", false},
    {"process_virtual_memory_bytes", false},
    {"process_open_fds", false},
    {"process_max_fds", false},
    {"process_start_time_seconds", false},
};

/* What Prometheus adds to every target's samples itself. */
static const char *const synthetic[] = {
    "up", "scrape_duration_seconds", "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling", "scrape_series_added",
};

static bool is_histogram_sample(const char *name, const char *family) {
  static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
  size_t n = strlen(family);
  if (strncmp(name, family, n) != 0) return false;
  for (size_t i = 0; i < VG_ARRAY_LEN(suffixes); i++)
    if (strcmp(name + n, suffixes[i]) == 0) return true;
  return false;
}

enum ex_metric_origin ex_metric_origin(const char *name) {
  for (size_t i = 0; i < VG_ARRAY_LEN(exposed); i++) {
    if (exposed[i].histogram ? is_histogram_sample(name, exposed[i].name)
                             : strcmp(name, exposed[i].name) == 0)
      return EX_METRIC_EXPOSED;
  }
  for (size_t i = 0; i < VG_ARRAY_LEN(synthetic); i++)
    if (strcmp(name, synthetic[i]) == 0) return EX_METRIC_SYNTHETIC;
  return EX_METRIC_UNKNOWN;
}
