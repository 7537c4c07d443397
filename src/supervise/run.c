/*
 * One run of a service: spawn it with its pipes, notify socket and timers; signal its
 * process group; clean up after it; and its watchdog.
 */
#include "supervise/sv_int.h"

#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_exit_status(void *arg, pid_t pid, int status) {
  struct sv_service *svc = arg;
  VG_ASSERT(svc->pid == pid);
  svc->pid = 0;
  svc->has_exited = true;
  if (WIFSIGNALED(status)) {
    svc->last_exit_code = -1;
    svc->last_exit_signal = WTERMSIG(status);
  } else {
    svc->last_exit_code = WEXITSTATUS(status);
    svc->last_exit_signal = 0;
  }
  /* What the main process leaves behind in its group has lost its parent; like
   * systemd's control-group kill, nothing of an old run may linger into the next. */
  sv__group_kill(svc, pid);
  sv__dispatch(svc, SV_EV_EXIT);
}

/* No process could be started (out of processes, memory or descriptors): a failed run,
 * described by err. */
static void spawn_failed(struct sv_service *svc, const char *err) {
  svc->spawn_error = vg_strdup(err);
  sv__set_reason(svc, "%s", err);
  VG_ERROR("cannot start service", VF_S("service", svc->name), VF_S("error", err));
  svc->has_exited = true;
  svc->last_exit_code = 127;
  svc->last_exit_signal = 0;
  sv__set_state(svc, SV_F_STARTING);
  sv__dispatch(svc, SV_EV_EXIT);
}

void sv__run_spawn(struct sv_service *svc) {
  const struct cfg_service *def = svc->def;
  char err[256] = "";
  struct sv__spawn_req req = {
      .argv = def->argv, .cwd = def->cwd, .limits = &def->limits,
      .stdout_fd = -1, .stderr_fd = -1, .new_session = true};

  /* The role gate is asked at the last moment: a node that lost its lease since the
   * service was wanted (a restart after a crash, say) must not start it again. */
  char role_env[128] = "";
  if (!sv__gate_allows(svc->sv, def, role_env, sizeof role_env)) {
    svc->want_up = false;
    sv__set_reason(svc, "role %s: not for this node now", def->role);
    VG_INFO("service not started: its role is not this node's", VF_S("service", svc->name),
            VF_S("role", def->role));
    sv__set_state(svc, SV_F_STOPPED);
    return;
  }
  /* a new run: what explained the last one no longer applies */
  sv__set_reason(svc, NULL);
  vg_freep(&svc->spawn_error);
  if (sv__fd_room(svc->sv, def, err, sizeof err) < 0) {
    spawn_failed(svc, err);
    return;
  }
  if (sv__needs_notify(def) && svc->notify_fd < 0 && sv__notify_open(svc, err, sizeof err) < 0) {
    VG_ERROR("cannot create notify socket", VF_S("service", svc->name), VF_S("error", err));
  }
  sv__notify_drain(svc);
  if (sv__resolve_ids(def, &req, err, sizeof err) < 0) {
    /* not a crash of the service: a configuration fact that retrying will not fix */
    sv__set_reason(svc, "%s", err);
    VG_ERROR("cannot start service", VF_S("service", svc->name), VF_S("error", err));
    sv__set_state(svc, SV_F_FATAL);
    return;
  }
  if (def->log.capture) {
    if (def->log.file && svc->log_fd < 0) sv__logfile_open(svc);
    req.stdout_fd = sv__stream_open(svc, "stdout");
    req.stderr_fd = req.stdout_fd < 0 ? -1 : sv__stream_open(svc, "stderr");
    if (req.stdout_fd < 0 || req.stderr_fd < 0) {
      /* never a child with vigil's own stdout: a failed run, with why */
      snprintf(err, sizeof err, "cannot create output pipes: %s", strerror(errno));
      if (req.stdout_fd >= 0) close(req.stdout_fd);
      spawn_failed(svc, err);
      return;
    }
  }
  req.envp = sv__build_env(svc, role_env);

  svc->killed = false;
  svc->n_tree = 0;
  svc->ready_ns = 0;
  svc->ready_seconds = -1;
  svc->stop_signal = def->stop.signal;
  svc->stop_timeout_ms = def->stop.timeout_ms;
  svc->spawn_ns = vg_now_ns();
  svc->spawn_wall = vg_wall_seconds();
  svc->start_ticks = sv__boot_ticks(); /* the child's start time, without reading /proc */
  VG_ASSERT(pthread_equal(pthread_self(), svc->sv->loop_thread));
  pid_t pid = sv__spawn(&req, err, sizeof err);

  if (req.stdout_fd >= 0) close(req.stdout_fd);
  if (req.stderr_fd >= 0) close(req.stderr_fd);
  vg_strv_free(req.envp);

  if (pid < 0) {
    spawn_failed(svc, err);
    return;
  }
  svc->pid = pid;
  sv__child_watch(svc->sv, pid, on_exit_status, svc);
  sv__record_add(svc->sv, pid, svc->start_ticks, svc->name);
  if (err[0]) {
    /* exec failed: the child exits 127 and the exit event takes it from here; the exit
     * is described by this error, not by a code the service never returned */
    svc->spawn_error = vg_strdup(err);
    sv__set_reason(svc, "%s", err);
    VG_ERROR("cannot start service", VF_S("service", svc->name), VF_S("error", err));
    sv__set_state(svc, SV_F_STARTING);
    return;
  }
  VG_INFO("service started", VF_S("service", svc->name), VF_I("pid", pid));
  sv__set_state(svc, SV_F_STARTING);
  if (svc->fsm != SV_F_STARTING) return; /* an observer acted on it */
  sv__watchdog_arm(svc);
  if (def->ready.kind == CFG_PROBE_NONE) {
    sv__dispatch(svc, SV_EV_READY);
    return;
  }
  sv__ready_timeout_arm(svc);
  sv__probe_start(svc);
}

static void ready_timeout_cb(uv_timer_t *t) { sv__dispatch(t->data, SV_EV_TIMER); }

void sv__ready_timeout_arm(struct sv_service *svc) {
  svc->timer.data = svc;
  uv_timer_start(&svc->timer, ready_timeout_cb, (uint64_t)svc->def->ready.timeout_ms, 0);
}

void sv__run_signal(struct sv_service *svc, int sig) {
  if (svc->pid <= 0) return;
  /* Remember every descendant while the tree is still intact: one that left the
   * process group (setsid) is out of reach of the group signal, and once its parent
   * is gone nothing ties it to this service any more. */
  struct sv__proc now[64];
  size_t n = sv__descendants(svc->pid, now, VG_ARRAY_LEN(now));
  for (size_t i = 0; i < n; i++) sv__tree_add(svc, now[i].pid, now[i].start_time);
  /* The service leads its own session; if it moved itself to another process group,
   * signal it directly as well. */
  if (getpgid(svc->pid) != svc->pid) kill(svc->pid, sig);
  kill(-svc->pid, sig);
}

void sv__run_cleanup(struct sv_service *svc) {
  if (svc->n_tree) {
    int n = 0;
    for (size_t i = 0; i < svc->n_tree; i++) {
      char cmd[256];
      sv__proc_cmdline(svc->tree[i].pid, cmd, sizeof cmd);
      if (sv__kill_procs(&svc->tree[i], 1)) {
        n++;
        VG_WARN("killed a process the service left outside its process group",
                VF_S("service", svc->name), VF_I("pid", svc->tree[i].pid), VF_S("cmd", cmd));
      }
    }
    if (n) VG_WARN("killed processes the service left outside its process group",
                   VF_S("service", svc->name), VF_I("count", n));
    svc->n_tree = 0;
  }
  uv_timer_stop(&svc->timer);
  sv__probe_stop(svc);
  sv__watchdog_disarm(svc);
}

static void watchdog_cb(uv_timer_t *t) { sv__dispatch(t->data, SV_EV_WATCHDOG); }

void sv__watchdog_arm(struct sv_service *svc) {
  if (svc->def->watchdog_ms <= 0) return;
  svc->wd_timer.data = svc;
  uv_timer_start(&svc->wd_timer, watchdog_cb, (uint64_t)svc->def->watchdog_ms, 0);
}

void sv__watchdog_ping(struct sv_service *svc) {
  svc->wd_pings++;
  if (svc->state == SV_STARTING || svc->state == SV_READY) sv__watchdog_arm(svc);
}

void sv__watchdog_disarm(struct sv_service *svc) { uv_timer_stop(&svc->wd_timer); }
