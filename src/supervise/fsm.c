/*
 * The service state machine, as a table of state × event → action (the s6-supervise
 * way): every transition a service can take is visible in one place. Actions live
 * here; the mechanics of one run (spawn, signals, probes) are in run.c.
 */
#include "supervise/sv_int.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*sv_action)(struct sv_service *svc);

static const char *const state_names[SV_N_STATES] = {
    "stopped", "waiting", "starting", "ready", "stopping", "backoff", "fatal"};

const char *sv_state_name(enum sv_state s) {
  return (unsigned)s < SV_N_STATES ? state_names[s] : "unknown";
}

enum sv_state sv__public_state(enum sv__fsm_state s) {
  if (s == SV_F_RESTARTING || s == SV_F_FAILING) return SV_STOPPING;
  return (enum sv_state)s;
}

const char *sv__fsm_state_name(enum sv__fsm_state s) {
  if (s == SV_F_RESTARTING) return "restarting";
  if (s == SV_F_FAILING) return "failing";
  return sv_state_name((enum sv_state)s);
}

void sv__set_reason(struct sv_service *svc, const char *fmt, ...) {
  free(svc->reason);
  svc->reason = NULL;
  if (!fmt) return;
  struct vg_buf b;
  vg_buf_init(&b);
  va_list ap;
  va_start(ap, fmt);
  vg_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  svc->reason = b.data;
}

void sv__set_state(struct sv_service *svc, enum sv__fsm_state to) {
  enum sv__fsm_state from_f = svc->fsm;
  if (from_f == to) return;
  svc->fsm = to;
  enum sv_state from = svc->state;
  svc->state = sv__public_state(to);
  VG_DEBUG("service state", VF_S("service", svc->name), VF_S("from", sv__fsm_state_name(from_f)),
           VF_S("to", sv__fsm_state_name(to)));
  if (to == SV_F_STOPPED || to == SV_F_FATAL) sv__logfile_idle(svc);
  struct sv_supervisor *sv = svc->sv;
  if (sv->observer && from != svc->state) sv->observer(sv->observer_arg, svc, from, svc->state);
  sv__pump(sv);
}

static void arm_timer(struct sv_service *svc, int64_t ms);

static void timer_cb(uv_timer_t *t) { sv__dispatch(t->data, SV_EV_TIMER); }

static void arm_timer(struct sv_service *svc, int64_t ms) {
  svc->timer.data = svc;
  uv_timer_start(&svc->timer, timer_cb, (uint64_t)(ms < 0 ? 0 : ms), 0);
}

/* Spawns if every dependency is ready, else waits for them. */
static void a_launch(struct sv_service *svc) {
  uv_timer_stop(&svc->timer);
  if (!sv__deps_ready(svc)) {
    sv__set_reason(svc, NULL);
    sv__set_state(svc, SV_F_WAITING);
    return;
  }
  sv__run_spawn(svc);
}

/* A start by hand (or the first one) is a fresh start: the crash history is forgotten. */
static void a_start(struct sv_service *svc) {
  svc->n_fail = svc->fail_head = 0;
  svc->backoff_step = 0;
  sv__set_reason(svc, NULL);
  a_launch(svc);
}

static void a_ready(struct sv_service *svc) {
  uv_timer_stop(&svc->timer);
  sv__probe_stop(svc);
  svc->ready_ns = vg_now_ns();
  svc->ready_seconds = (double)(svc->ready_ns - svc->spawn_ns) / 1e9;
  sv__metrics_ready(svc, svc->ready_seconds);
  sv__set_reason(svc, NULL);
  VG_INFO("service ready", VF_S("service", svc->name), VF_I("pid", svc->pid),
          VF_D("ready_seconds", svc->ready_seconds));
  sv__set_state(svc, SV_F_READY);
}

/* Signals the run to stop; then is what follows its exit. */
static void begin_stop(struct sv_service *svc, enum sv__fsm_state then) {
  sv__probe_stop(svc);
  sv__watchdog_disarm(svc);
  svc->killed = false;
  sv__run_signal(svc, svc->stop_signal);
  arm_timer(svc, svc->stop_timeout_ms);
  sv__set_state(svc, then);
}

static void a_stop_running(struct sv_service *svc) {
  VG_INFO("stopping service", VF_S("service", svc->name), VF_I("pid", svc->pid),
          VF_S("signal", sigabbrev_np(svc->stop_signal)));
  begin_stop(svc, SV_F_STOPPING);
}

/* Restart of a running service (by hand, or its definition changed): stop, then start. */
static void a_restart_running(struct sv_service *svc) {
  VG_INFO("stopping service", VF_S("service", svc->name), VF_I("pid", svc->pid),
          VF_S("signal", sigabbrev_np(svc->stop_signal)), VF_S("then", "start"));
  begin_stop(svc, SV_F_RESTARTING);
}

/* A stop already under way: only what follows it changes. */
static void a_then_start(struct sv_service *svc) { sv__set_state(svc, SV_F_RESTARTING); }
static void a_then_stop(struct sv_service *svc) { sv__set_state(svc, SV_F_STOPPING); }

static void a_kill(struct sv_service *svc) {
  VG_WARN("service did not stop in time, killing its process group",
          VF_S("service", svc->name), VF_I("pid", svc->pid),
          VF_D("stop_timeout_seconds", (double)svc->stop_timeout_ms / 1000.0));
  svc->killed = true;
  sv__run_signal(svc, SIGKILL);
}

static void a_to_stopped(struct sv_service *svc) {
  uv_timer_stop(&svc->timer);
  sv__set_reason(svc, NULL);
  sv__set_state(svc, SV_F_STOPPED);
}

static void describe_exit(const struct sv_service *svc, char *buf, size_t len) {
  if (svc->spawn_error)
    snprintf(buf, len, "%s", svc->spawn_error);
  else if (svc->last_exit_signal)
    snprintf(buf, len, "killed by SIG%s", sigabbrev_np(svc->last_exit_signal));
  else
    snprintf(buf, len, "exited with code %d", svc->last_exit_code);
}

static bool in_no_restart_codes(const struct cfg_service *def, int code) {
  for (size_t i = 0; i < def->n_no_restart_exit_codes; i++)
    if (def->no_restart_exit_codes[i] == code) return true;
  return false;
}

/* The run is over (exited, or stopped after a failure): restart now, back off, give
 * up, or stay stopped, as the restart policy says. */
static void after_run(struct sv_service *svc, bool forced_failure) {
  const struct cfg_service *def = svc->def;
  sv__run_cleanup(svc);
  char what[320];
  describe_exit(svc, what, sizeof what);

  if (svc->sv->shutting_down || !svc->want_up || svc->removed) {
    sv__set_reason(svc, NULL);
    sv__set_state(svc, SV_F_STOPPED);
    return;
  }
  bool clean = !forced_failure && !svc->last_exit_signal && svc->last_exit_code == 0;
  const struct cfg_restart *r = &def->restart;
  if (!forced_failure && !svc->last_exit_signal &&
      in_no_restart_codes(def, svc->last_exit_code)) {
    VG_INFO("service exited with a no-restart code", VF_S("service", svc->name),
            VF_I("code", svc->last_exit_code));
    sv__set_reason(svc, "%s (listed in no_restart_exit_codes)", what);
    sv__set_state(svc, SV_F_STOPPED);
    return;
  }
  if (r->policy == CFG_RESTART_NEVER || (r->policy == CFG_RESTART_ON_FAILURE && clean)) {
    sv__set_reason(svc, "%s (restart: %s)", what, cfg_restart_policy_name(r->policy));
    sv__set_state(svc, SV_F_STOPPED);
    return;
  }

  uint64_t now = vg_now_ms();
  /* A run that stayed ready long enough proves the service healthy again. */
  if (svc->ready_ns && (int64_t)((vg_now_ns() - svc->ready_ns) / 1000000u) >= r->reset_after_ms)
    svc->backoff_step = 0;
  size_t recent = sv__note_failure(svc, now);
  if (r->max_restarts > 0 && recent > (size_t)r->max_restarts) {
    sv__set_reason(svc, "gave up after %d restarts within %" PRId64 "s; last run %s",
                   r->max_restarts, r->window_ms / 1000, what);
    VG_ERROR("service failed too often, giving up until started by hand",
             VF_S("service", svc->name), VF_I("restarts", r->max_restarts),
             VF_D("window_seconds", (double)r->window_ms / 1000.0), VF_S("last_exit", what));
    sv__set_state(svc, SV_F_FATAL);
    return;
  }
  int64_t delay = sv__backoff_delay(r, svc->backoff_step, &svc->sv->seed);
  if (svc->backoff_step < 63) svc->backoff_step++;
  svc->restarts++;
  if (delay <= 0) {
    VG_INFO("restarting service", VF_S("service", svc->name), VF_S("last_exit", what));
    a_launch(svc);
    return;
  }
  svc->next_start_ms = now + (uint64_t)delay;
  VG_INFO("service will restart after backoff", VF_S("service", svc->name),
          VF_S("last_exit", what), VF_D("delay_seconds", (double)delay / 1000.0));
  if (!svc->reason) sv__set_reason(svc, "%s", what);
  arm_timer(svc, delay);
  sv__set_state(svc, SV_F_BACKOFF);
}

static void a_exit(struct sv_service *svc) {
  char what[320];
  describe_exit(svc, what, sizeof what);
  if (!svc->sv->shutting_down && svc->want_up) {
    if (svc->state == SV_STARTING && !svc->reason)
      sv__set_reason(svc, "%s before it was ready", what);
    else if (svc->state == SV_READY)
      sv__set_reason(svc, "%s", what);
    VG_WARN("service exited", VF_S("service", svc->name), VF_S("state", sv_state_name(svc->state)),
            VF_S("exit", what));
  }
  after_run(svc, false);
}

/* stopping + EXIT */
static void a_stopped(struct sv_service *svc) {
  sv__run_cleanup(svc);
  VG_INFO("service stopped", VF_S("service", svc->name), VF_I("killed", svc->killed));
  sv__set_state(svc, SV_F_STOPPED);
}

/* restarting + EXIT: start again (unless vigil is shutting down or the service went) */
static void a_relaunch(struct sv_service *svc) {
  sv__run_cleanup(svc);
  VG_INFO("service stopped", VF_S("service", svc->name), VF_I("killed", svc->killed));
  if (svc->want_up && !svc->removed && !svc->sv->shutting_down) {
    a_launch(svc);
    return;
  }
  sv__set_state(svc, SV_F_STOPPED);
}

/* failing + EXIT: the failure counts, as the restart policy says */
static void a_failed(struct sv_service *svc) { after_run(svc, true); }

/* backoff + RESTART or RELOAD: no point waiting out the delay */
static void a_launch_now(struct sv_service *svc) {
  VG_INFO("starting service now", VF_S("service", svc->name));
  a_launch(svc);
}

static void a_ready_timeout(struct sv_service *svc) {
  const char *why = svc->probe.last_error;
  sv__set_reason(svc, "not ready within %.3gs (%s %s%s%s)",
                 (double)svc->def->ready.timeout_ms / 1000.0,
                 cfg_probe_kind_name(svc->def->ready.kind),
                 svc->def->ready.target ? svc->def->ready.target : "probe",
                 why ? ": " : "", why ? why : "");
  VG_ERROR("service readiness timed out", VF_S("service", svc->name), VF_S("reason", svc->reason));
  begin_stop(svc, SV_F_FAILING);
}

static void a_watchdog(struct sv_service *svc) {
  if (svc->stale_fired) { /* stale.c: the service's data, not its watchdog */
    svc->stale_fired = false;
    sv__set_reason(svc, "stale: %s not updated within %.3gs", svc->def->stale_key,
                   (double)svc->def->stale_restart_ms / 1000.0);
    begin_stop(svc, SV_F_FAILING);
    return;
  }
  sv__set_reason(svc, "watchdog: no WATCHDOG=1 within %.3gs",
                 (double)svc->def->watchdog_ms / 1000.0);
  VG_ERROR("service missed its watchdog", VF_S("service", svc->name), VF_I("pid", svc->pid),
           VF_D("watchdog_seconds", (double)svc->def->watchdog_ms / 1000.0));
  begin_stop(svc, SV_F_FAILING);
}

#define __ NULL
/* Rows: state; columns: events in enum sv_event order. NULL: ignored. The table in
 * docs/ARCHITECTURE.md is this one; tests/unit/test_supervise_fsm.c drives every cell. */
static const sv_action actions[SV_F_N][SV_N_EVENTS] = {
    /*                 START         STOP            RESTART            RELOAD
                       DEPS_OK   READY    EXIT        TIMER            WATCHDOG */
    [SV_F_STOPPED] = {a_start, __, a_start, __,
                      __, __, __, __, __},
    [SV_F_WAITING] = {__, a_to_stopped, __, __,
                      a_launch, __, __, __, __},
    [SV_F_STARTING] = {__, a_stop_running, a_restart_running, a_restart_running,
                       __, a_ready, a_exit, a_ready_timeout, a_watchdog},
    [SV_F_READY] = {__, a_stop_running, a_restart_running, a_restart_running,
                    __, __, a_exit, __, a_watchdog},
    [SV_F_STOPPING] = {a_then_start, __, a_then_start, __,
                       __, __, a_stopped, a_kill, __},
    [SV_F_RESTARTING] = {__, a_then_stop, __, __,
                         __, __, a_relaunch, a_kill, __},
    [SV_F_FAILING] = {__, a_then_stop, a_then_start, __,
                      __, __, a_failed, a_kill, __},
    [SV_F_BACKOFF] = {__, a_to_stopped, a_launch_now, a_launch_now,
                      __, __, __, a_launch, __},
    [SV_F_FATAL] = {a_start, a_to_stopped, a_start, a_start,
                    __, __, __, __, __},
};
#undef __

void sv__dispatch(struct sv_service *svc, enum sv_event ev) {
  VG_ASSERT((unsigned)svc->fsm < SV_F_N && (unsigned)ev < SV_N_EVENTS);
  sv_action act = actions[svc->fsm][ev];
  if (act) act(svc);
}
