/*
 * Prometheus alerting rules for vigil, one table entry per alert, rendered as the
 * rules file `promtool check rules` accepts. Annotations are Go templates evaluated
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
