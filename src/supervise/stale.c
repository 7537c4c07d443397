/*
 * stale.c — a service that keeps a cache key or document fresh (`stale: {fresh: NAME,
 * warn: 30s, restart: 60s}`, document 000's rules for the scan bridge's producer): four
 * times a second, each ready service's NAME is asked its age (the daemon's
 * sv_fresh_fn; a run is judged from when it became ready, so absent data, or data
 * its predecessor left stale, counts from then). Older than warn: logged
 * once (`service data is stale`) until fresh again. Older than restart: logged and the
 * run is ended as a failed one (the WATCHDOG event: a process alive but doing nothing
 * is what a watchdog is for), so the restart policy — delay, max_restarts in window —
 * decides what follows.
 */
#include "supervise/sv_int.h"

#define STALE_CHECK_MS 250

static void check(uv_timer_t *t) {
  struct sv_supervisor *sv = t->data;
  if (!sv->fresh_fn) return;
  uint64_t now = vg_now_ms();
  for (size_t i = 0; i < sv->n_svcs; i++) {
    struct sv_service *svc = sv->svcs[i];
    const struct cfg_service *def = svc->def;
    if (!def->stale_key || svc->state != SV_READY) {
      svc->stale_ready_ms = 0;
      svc->stale_warned = false;
      continue;
    }
    if (!svc->stale_ready_ms) svc->stale_ready_ms = now;
    double age = sv->fresh_fn(sv->fresh_arg, def->stale_key);
    double since_ready = (double)(now - svc->stale_ready_ms) / 1000.0;
    bool absent = age < 0;
    /* a run is judged from its start: the data its predecessor left stale is not its own */
    if (absent || age > since_ready) age = since_ready;
    if (def->stale_restart_ms && age * 1000.0 > (double)def->stale_restart_ms) {
      VG_WARN("service data too old: restarting", VF_S("service", def->name), VF_S("key", def->stale_key),
              VF_D("age_s", age), VF_D("restart_after_s", (double)def->stale_restart_ms / 1000.0),
              VF_S("cause", absent ? "never written during this run" : "not updated"));
      svc->stale_ready_ms = 0;
      svc->stale_warned = false;
      svc->stale_fired = true;
      sv__dispatch(svc, SV_EV_WATCHDOG);
      continue;
    }
    if (def->stale_warn_ms && age * 1000.0 > (double)def->stale_warn_ms) {
      if (!svc->stale_warned)
        VG_WARN("service data is stale", VF_S("service", def->name), VF_S("key", def->stale_key), VF_D("age_s", age),
                VF_D("warn_after_s", (double)def->stale_warn_ms / 1000.0));
      svc->stale_warned = true;
    } else if (svc->stale_warned) {
      VG_INFO("service data fresh again", VF_S("service", def->name), VF_S("key", def->stale_key), VF_D("age_s", age));
      svc->stale_warned = false;
    }
  }
}

void sv__stale_start(struct sv_supervisor *sv) {
  sv->stale_timer.data = sv;
  if (sv->fresh_fn) uv_timer_start(&sv->stale_timer, check, STALE_CHECK_MS, STALE_CHECK_MS);
  else uv_timer_stop(&sv->stale_timer);
}
