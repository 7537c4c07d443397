/*
 * The supervisor's metrics. Most are samples of its state, refreshed by a collector
 * at each render (so they cannot drift from what `vigil status` says); the readiness
 * latency is a histogram observed the moment a service becomes ready.
 */
#include "supervise/sv_int.h"

#include "metrics/metrics.h"

#include <stdlib.h>

struct sv_metrics {
  struct mt_family *up, *state, *restarts, *start_time, *last_exit, *pings, *stack_ready;
};

static const double ready_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                       1,     2.5,  5,     10,   30,  60};

static void collect(struct mt_registry *r, void *arg) {
  struct sv_supervisor *sv = arg;
  struct sv_metrics *m = sv->metrics;
  struct mt_family *fams[] = {m->up, m->state, m->restarts, m->start_time, m->last_exit, m->pings};
  /* rebuilt from scratch: a service removed by a reload leaves no stale series */
  for (size_t i = 0; i < VG_ARRAY_LEN(fams); i++) mt_clear(fams[i]);
  for (size_t i = 0; i < sv->n_svcs; i++) {
    struct sv_info in;
    sv_info_get(sv->svcs[i], &in);
    const char *name[] = {in.name};
    mt_set(mt_get(m->up, name), in.state == SV_READY);
    for (int s = 0; s < SV_N_STATES; s++) {
      const char *labels[] = {in.name, sv_state_name((enum sv_state)s)};
      mt_set(mt_get(m->state, labels), in.state == (enum sv_state)s);
    }
    mt_set(mt_get(m->restarts, name), in.restarts);
    mt_set(mt_get(m->start_time, name), in.start_time);
    double code = -1;
    if (in.has_exited) code = in.last_exit_signal ? 128 + in.last_exit_signal : in.last_exit_code;
    mt_set(mt_get(m->last_exit, name), code);
    mt_set(mt_get(m->pings, name), (double)in.watchdog_pings);
  }
  mt_set(mt_get(m->stack_ready, NULL), sv_stack_ready(sv));
}

/* The families, defined once for the daemon and for sv_metrics_describe. */
static struct mt_family *families(struct mt_registry *r, struct sv_metrics *m) {
  static const char *const svc[] = {"service", NULL};
  static const char *const svc_state[] = {"service", "state", NULL};
  m->up = mt_gauge(r, "vigil_service_up", "Whether the service is ready (1) or not (0).", svc);
  m->state = mt_gauge(r, "vigil_service_state",
                      "The service's state: 1 for the current one, 0 for the others.", svc_state);
  m->restarts = mt_counter(r, "vigil_service_restarts_total",
                           "Automatic restarts of the service since vigil started.", svc);
  m->start_time = mt_gauge(r, "vigil_service_start_time_seconds",
                           "Unix time the service's current process was started; 0 when none.", svc);
  m->last_exit = mt_gauge(r, "vigil_service_last_exit_code",
                          "Exit code of the service's last process (128+signal when killed by a "
                          "signal; -1 before the first exit).", svc);
  m->pings = mt_counter(r, "vigil_service_watchdog_pings_total",
                        "WATCHDOG=1 messages received from the service.", svc);
  m->stack_ready = mt_gauge(r, "vigil_stack_ready",
                            "Whether every service that should run is ready (1) or not (0).", NULL);
  return mt_histogram(r, "vigil_service_ready_seconds",
                      "Time from spawning the service to its readiness probe succeeding.", svc,
                      ready_buckets, VG_ARRAY_LEN(ready_buckets));
}

void sv_metrics_describe(struct mt_registry *r) {
  struct sv_metrics m;
  families(r, &m);
}

void sv_metrics_register(struct sv_supervisor *sv, struct mt_registry *r) {
  struct sv_metrics *m = vg_calloc(1, sizeof *m);
  sv->m_ready = families(r, m);
  free(sv->metrics);
  sv->metrics = m;
  mt_add_collector(r, collect, sv);
}

void sv__metrics_ready(struct sv_service *svc, double seconds) {
  if (!svc->sv->m_ready) return;
  const char *name[] = {svc->name};
  mt_observe(mt_get(svc->sv->m_ready, name), seconds);
}

void sv__metrics_forget(struct sv_service *svc) {
  if (!svc->sv->m_ready) return;
  const char *name[] = {svc->name};
  mt_remove(svc->sv->m_ready, name);
}
