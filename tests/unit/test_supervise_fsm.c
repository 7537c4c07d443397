/* The service state machine, driven through every state × event pair with real
 * processes (sleep) on a real libuv loop: each case brings a fresh supervisor's service
 * into a state the way vigil does, fires one event the way vigil does (the admin calls
 * for start/stop/restart, a real reload, a real SIGKILL for an exit, the internal
 * dispatch for what timers, probes and the watchdog deliver) and checks the state the
 * table says it goes to. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "supervise/sv_int.h"

enum { ST_STOPPED, ST_WAITING, ST_STARTING, ST_READY, ST_STOPPING, ST_RESTARTING, ST_FAILING,
       ST_BACKOFF, ST_FATAL, N_ST };

static const enum sv__fsm_state fsm_of[N_ST] = {
    SV_F_STOPPED, SV_F_WAITING, SV_F_STARTING, SV_F_READY, SV_F_STOPPING,
    SV_F_RESTARTING, SV_F_FAILING, SV_F_BACKOFF, SV_F_FATAL};

#define S_ SV_F_STOPPED
#define W_ SV_F_WAITING
#define ST SV_F_STARTING
#define R_ SV_F_READY
#define SP SV_F_STOPPING
#define RS SV_F_RESTARTING
#define FL SV_F_FAILING
#define BO SV_F_BACKOFF
#define FA SV_F_FATAL
/* Where each pair leads; columns in enum sv_event order: START STOP RESTART RELOAD
 * DEPS_OK READY EXIT TIMER WATCHDOG. The same table as docs/ARCHITECTURE.md. */
static const enum sv__fsm_state want[N_ST][SV_N_EVENTS] = {
    [ST_STOPPED] = {ST, S_, ST, S_, S_, S_, S_, S_, S_},
    [ST_WAITING] = {W_, S_, W_, W_, ST, W_, W_, W_, W_},
    [ST_STARTING] = {ST, SP, RS, RS, ST, R_, BO, FL, FL},
    [ST_READY] = {R_, SP, RS, RS, R_, R_, BO, R_, FL},
    [ST_STOPPING] = {RS, SP, RS, SP, SP, SP, S_, SP, SP},
    [ST_RESTARTING] = {RS, SP, RS, RS, RS, RS, ST, RS, RS},
    [ST_FAILING] = {FL, SP, RS, FL, FL, FL, BO, FL, FL},
    [ST_BACKOFF] = {BO, S_, ST, ST, BO, BO, BO, ST, BO},
    [ST_FATAL] = {ST, S_, ST, ST, FA, FA, FA, FA, FA},
};

static char state_dir[256];
static uv_loop_t loop;
static struct sv_supervisor *sv;
static struct sv_service *svc, *dep;
static uv_timer_t tick;

/* svc depends on dep; both are sleeps whose readiness (notify) only the test declares.
 * max_restarts 1: a second failure within the hour is fatal. */
static struct vg_config *config(const char *version) {
  char *yaml = vg_asprintf(
      "state_dir: %s\n"
      "services:\n"
      "  dep:\n"
      "    cmd: [sleep, '1000']\n"
      "    ready: {notify: true, timeout: 1h}\n"
      "    log: {echo: false}\n"
      "  svc:\n"
      "    cmd: [sleep, '1000']\n"
      "    env: {VERSION: '%s'}\n"
      "    depends_on: [dep]\n"
      "    ready: {notify: true, timeout: 1h}\n"
      "    restart: {delay: 1h, max_delay: 1h, max_restarts: 1, window: 1h}\n"
      "    stop: {timeout: 1h}\n"
      "    log: {echo: false}\n",
      state_dir, version);
  struct cfg_diags d;
  cfg_diags_init(&d);
  struct vg_config *cfg = cfg_load_string("fsm.yaml", yaml, strlen(yaml), &d);
  if (!cfg) cfg_diags_print(&d, "fsm.yaml", stderr);
  cfg_diags_free(&d);
  free(yaml);
  assert_non_null(cfg);
  return cfg;
}

static void tick_cb(uv_timer_t *t) {}

/* Runs the loop until pred holds (10 s at most). */
static void run_until(bool (*pred)(void)) {
  for (int i = 0; i < 1000 && !pred(); i++) uv_run(&loop, UV_RUN_ONCE);
  assert_true(pred());
}

static pid_t old_pid;
static bool pid_changed(void) { return svc->pid != old_pid; }

/* A real exit: SIGKILL the process, let SIGCHLD reach the loop. Without a process the
 * event is delivered as the reaper would (only to see it is ignored). */
static void fire_exit(void) {
  if (svc->pid <= 0) {
    sv__dispatch(svc, SV_EV_EXIT);
    return;
  }
  old_pid = svc->pid;
  kill(svc->pid, SIGKILL);
  run_until(pid_changed);
}

static bool is_fsm(enum sv__fsm_state s) { return svc->fsm == s; }
static bool at_stopped(void) { return is_fsm(SV_F_STOPPED); }

static void fire(enum sv_event ev) {
  switch (ev) {
  case SV_EV_START: sv_start(sv, "svc"); break;
  case SV_EV_STOP: sv_stop(sv, "svc"); break;
  case SV_EV_RESTART: sv_restart(sv, "svc"); break;
  case SV_EV_RELOAD: {
    struct sv_reload_report rep;
    sv_reload(sv, config("2"), &rep);
    sv_reload_report_free(&rep);
    break;
  }
  case SV_EV_DEPS_OK:
    /* what delivers it: the dependency becomes ready, the pump sees it */
    if (svc->fsm == SV_F_WAITING) sv__dispatch(dep, SV_EV_READY);
    else sv__dispatch(svc, SV_EV_DEPS_OK);
    break;
  case SV_EV_EXIT: fire_exit(); break;
  default: sv__dispatch(svc, ev); break;
  }
}

static void enter(int st) {
  switch (st) {
  case ST_STOPPED:
    enter(ST_STARTING);
    sv_stop(sv, "svc");
    old_pid = svc->pid;
    run_until(at_stopped);
    break;
  case ST_WAITING: sv_start_all(sv); break;
  case ST_STARTING:
    sv_start_all(sv);
    sv__dispatch(dep, SV_EV_READY);
    break;
  case ST_READY:
    enter(ST_STARTING);
    sv__dispatch(svc, SV_EV_READY);
    break;
  case ST_STOPPING:
    enter(ST_READY);
    sv_stop(sv, "svc");
    break;
  case ST_RESTARTING:
    enter(ST_READY);
    sv_restart(sv, "svc");
    break;
  case ST_FAILING:
    enter(ST_STARTING);
    sv__dispatch(svc, SV_EV_TIMER); /* the readiness timeout */
    break;
  case ST_BACKOFF:
    enter(ST_FAILING);
    fire_exit();
    break;
  case ST_FATAL:
    enter(ST_BACKOFF);
    sv__dispatch(svc, SV_EV_TIMER); /* backoff over: starting again */
    assert_int_equal(svc->fsm, SV_F_STARTING);
    fire_exit();                    /* a second failure within the window */
    break;
  }
  assert_int_equal(svc->fsm, fsm_of[st]);
}

static bool done;
static void on_done(struct sv_supervisor *s, void *arg) { done = true; }
static bool is_done(void) { return done; }

static int setup(void **state) {
  snprintf(state_dir, sizeof state_dir, "/tmp/vigil-fsm-XXXXXX");
  assert_non_null(mkdtemp(state_dir));
  assert_int_equal(uv_loop_init(&loop), 0);
  uv_timer_init(&loop, &tick);
  uv_timer_start(&tick, tick_cb, 10, 10); /* so that UV_RUN_ONCE returns */
  char err[256];
  assert_int_equal(sv_create(&loop, config("1"), &sv, err, sizeof err), 0);
  svc = (struct sv_service *)sv_find(sv, "svc");
  dep = (struct sv_service *)sv_find(sv, "dep");
  done = false;
  return 0;
}

static int teardown(void **state) {
  sv_shutdown(sv, on_done, NULL);
  run_until(is_done);
  sv_destroy(sv);
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  char *cmd = vg_asprintf("rm -rf '%s'", state_dir);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  return 0;
}

struct pair {
  int st;
  enum sv_event ev;
};

static void drive(void **state) {
  const struct pair *p = *state;
  enter(p->st);
  fire(p->ev);
  if (svc->fsm != want[p->st][p->ev])
    fail_msg("%s + event %d: went to %s, the table says %s", sv__fsm_state_name(fsm_of[p->st]),
             (int)p->ev, sv__fsm_state_name(svc->fsm), sv__fsm_state_name(want[p->st][p->ev]));
  /* what the outside sees follows the machine */
  assert_int_equal(svc->state, sv__public_state(svc->fsm));
}

static void restarting_then_stopped_by_shutdown_stays_down(void **state) {
  enter(ST_RESTARTING);
  sv_shutdown(sv, on_done, NULL);
  run_until(is_done);
  assert_int_equal(svc->fsm, SV_F_STOPPED);
  assert_int_equal(svc->pid, 0);
}

static void fatal_start_forgets_the_history(void **state) {
  enter(ST_FATAL);
  sv_start(sv, "svc");
  assert_int_equal(svc->n_fail, 0);
  assert_int_equal(svc->backoff_step, 0);
}

int main(void) {
  static struct pair pairs[N_ST][SV_N_EVENTS];
  static const char *const ev_names[SV_N_EVENTS] = {"START", "STOP", "RESTART", "RELOAD",
                                                    "DEPS_OK", "READY", "EXIT", "TIMER",
                                                    "WATCHDOG"};
  static char names[N_ST][SV_N_EVENTS][48];
  struct CMUnitTest tests[N_ST * SV_N_EVENTS + 2];
  size_t n = 0;
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_ERROR);
  for (int s = 0; s < N_ST; s++)
    for (int e = 0; e < SV_N_EVENTS; e++) {
      pairs[s][e] = (struct pair){s, (enum sv_event)e};
      snprintf(names[s][e], sizeof names[s][e], "%s + %s", sv__fsm_state_name(fsm_of[s]), ev_names[e]);
      tests[n++] = (struct CMUnitTest){names[s][e], drive, setup, teardown, &pairs[s][e]};
    }
  tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(
      restarting_then_stopped_by_shutdown_stays_down, setup, teardown);
  tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(fatal_start_forgets_the_history,
                                                                  setup, teardown);
  return _cmocka_run_group_tests("supervise_fsm", tests, n, NULL, NULL);
}
