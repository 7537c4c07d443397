/*
 * The supervisor: the set of services, their ordering (start when dependencies are
 * ready, stop after dependents have stopped), admin commands, reload and shutdown.
 * sv__pump() re-evaluates the ordering after every state change.
 */
#include "supervise/sv_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct sv_service *service_new(struct sv_supervisor *sv, const struct cfg_service *def) {
  struct sv_service *svc = vg_calloc(1, sizeof *svc);
  svc->sv = sv;
  svc->name = vg_strdup(def->name);
  svc->def = def;
  svc->state = SV_STOPPED;
  svc->fsm = SV_F_STOPPED;
  svc->ready_seconds = -1;
  svc->notify_fd = -1;
  svc->log_fd = -1;
  uv_timer_init(sv->loop, &svc->timer);
  uv_timer_init(sv->loop, &svc->probe_timer);
  uv_timer_init(sv->loop, &svc->wd_timer);
  svc->timer.data = svc->probe_timer.data = svc->wd_timer.data = svc;
  if (sv->n_svcs == sv->cap_svcs) {
    sv->cap_svcs = sv->cap_svcs ? sv->cap_svcs * 2 : 16;
    sv->svcs = vg_realloc(sv->svcs, sv->cap_svcs * sizeof *sv->svcs);
  }
  sv->svcs[sv->n_svcs++] = svc;
  return svc;
}

void sv__handle_closed(uv_handle_t *h) {
  struct sv_service *svc = h->data;
  if (--svc->pending_closes > 0) return;
  free(svc->name);
  free(svc->fail_ms);
  free(svc->reason);
  free(svc->status_text);
  free(svc->spawn_error);
  free(svc->probe.last_error);
  free(svc);
}

/* Releases a service that has no process; the memory goes once libuv closed its handles. */
static void service_free(struct sv_service *svc) {
  VG_ASSERT(svc->pid == 0);
  sv__probe_stop(svc);
  sv__probe_forget_regex(svc);
  sv__streams_close(svc);
  sv__logfile_close(svc);
  svc->pending_closes += 3;
  uv_close((uv_handle_t *)&svc->timer, sv__handle_closed);
  uv_close((uv_handle_t *)&svc->probe_timer, sv__handle_closed);
  uv_close((uv_handle_t *)&svc->wd_timer, sv__handle_closed);
  sv__notify_close(svc);
}

static void remove_service(struct sv_supervisor *sv, size_t i) {
  struct sv_service *svc = sv->svcs[i];
  sv__metrics_forget(svc);
  memmove(&sv->svcs[i], &sv->svcs[i + 1], (sv->n_svcs - i - 1) * sizeof *sv->svcs);
  sv->n_svcs--;
  service_free(svc);
}

int sv_create(uv_loop_t *loop, struct vg_config *cfg, struct sv_supervisor **out, char *err,
              size_t errlen) {
  struct sv_supervisor *sv = vg_calloc(1, sizeof *sv);
  sv->loop = loop;
  sv->loop_thread = pthread_self();
  sv->cfg = cfg;
  sv->run_dir = vg_asprintf("%s/run", cfg->state_dir);
  sv->log_dir = vg_asprintf("%s/logs", cfg->state_dir);
  sv->seed = vg_now_ns() ^ ((uint64_t)getpid() << 32);
  sv->next_sub_id = 1;
  int rc;
  if ((rc = vg_mkdir_p(sv->run_dir, 0711)) < 0 || (rc = vg_mkdir_p(sv->log_dir, 0750)) < 0) {
    snprintf(err, errlen, "cannot create %s: %s", rc == 0 ? sv->log_dir : cfg->state_dir,
             strerror(-rc));
    goto fail;
  }
  sv->record_fd = -1;
  if ((rc = sv__record_open(sv)) < 0)
    VG_WARN("cannot write the record of processes; a vigil killed with -9 may leave some behind",
            VF_S("path", sv->record_path), VF_S("error", strerror(-rc)));
  if ((rc = sv__reap_init(sv)) < 0) {
    snprintf(err, errlen, "cannot watch SIGCHLD: %s", uv_strerror(rc));
    goto fail;
  }
  uv_timer_init(loop, &sv->sweep_timer);
  uv_timer_init(loop, &sv->stale_timer);
  for (size_t i = 0; i < cfg->n_services; i++) service_new(sv, &cfg->services[i]);
  *out = sv;
  return 0;
fail:
  free(sv->run_dir);
  free(sv->log_dir);
  free(sv);
  cfg_free(cfg);
  return rc < 0 ? rc : -EINVAL;
}

void sv_destroy(struct sv_supervisor *sv) {
  bool clean = true;
  for (size_t i = 0; i < sv->n_svcs; i++) clean &= sv->svcs[i]->pid == 0;
  sv__record_close(sv, clean);
  while (sv->n_svcs) remove_service(sv, sv->n_svcs - 1);
  free(sv->svcs);
  while (sv->subs) {
    struct sv__log_sub *s = sv->subs;
    sv->subs = s->next;
    free(s->service);
    free(s);
  }
  sv__reap_close(sv);
  free(sv->metrics);
  uv_close((uv_handle_t *)&sv->sweep_timer, NULL);
  uv_close((uv_handle_t *)&sv->stale_timer, NULL);
  for (size_t i = 0; i < sv->n_retired; i++) cfg_free(sv->retired[i]);
  free(sv->retired);
  cfg_free(sv->cfg);
  free(sv->run_dir);
  free(sv->log_dir);
  /* the handles embedded in sv close on the next loop turn; free after they have */
  uv_run(sv->loop, UV_RUN_NOWAIT);
  free(sv);
}

struct sv_service *sv__find(struct sv_supervisor *sv, const char *name) {
  for (size_t i = 0; i < sv->n_svcs; i++)
    if (!sv->svcs[i]->removed && strcmp(sv->svcs[i]->name, name) == 0) return sv->svcs[i];
  return NULL;
}

bool sv__deps_ready(const struct sv_service *svc) {
  return sv_waiting_on(svc, NULL, 0) == 0;
}

size_t sv_waiting_on(const struct sv_service *svc, const char **names, size_t max) {
  size_t n = 0;
  for (size_t i = 0; svc->def->depends_on && svc->def->depends_on[i]; i++) {
    const struct sv_service *dep = sv__find(svc->sv, svc->def->depends_on[i]);
    if (dep && dep->state == SV_READY) continue;
    if (n < max) names[n] = svc->def->depends_on[i];
    n++;
  }
  return n;
}

static bool has_process_or_starting(const struct sv_service *s) {
  return s->pid > 0 || s->state == SV_STARTING || s->state == SV_READY || s->state == SV_STOPPING;
}

/* True while a service that depends on svc still runs: svc must outlive it. */
static bool dependents_alive(const struct sv_supervisor *sv, const struct sv_service *svc) {
  for (size_t i = 0; i < sv->n_svcs; i++) {
    const struct sv_service *o = sv->svcs[i];
    if (o->def && vg_strv_contains(o->def->depends_on, svc->name) && has_process_or_starting(o))
      return true;
  }
  return false;
}

static bool config_in_use(const struct sv_supervisor *sv, const struct vg_config *cfg) {
  for (size_t i = 0; i < sv->n_svcs; i++) {
    const struct cfg_service *d = sv->svcs[i]->def;
    if (d >= cfg->services && d < cfg->services + cfg->n_services) return true;
  }
  return false;
}

static void free_retired_configs(struct sv_supervisor *sv) {
  for (size_t i = 0; i < sv->n_retired;) {
    if (config_in_use(sv, sv->retired[i])) {
      i++;
      continue;
    }
    cfg_free(sv->retired[i]);
    sv->retired[i] = sv->retired[--sv->n_retired];
  }
}

static void shutdown_finish(struct sv_supervisor *sv) {
  int n = sv__kill_orphans(sv);
  if (n) VG_WARN("killed processes left behind by services", VF_I("count", n));
  sv_done_fn done = sv->done_fn;
  sv->done_fn = NULL;
  if (done) done(sv, sv->done_arg);
}

void sv__pump(struct sv_supervisor *sv) {
  if (sv->in_pump) {
    sv->pump_again = true;
    return;
  }
  sv->in_pump = true;
  do {
    sv->pump_again = false;
    for (size_t i = 0; i < sv->n_svcs; i++) {
      struct sv_service *svc = sv->svcs[i];
      bool stopping_all = sv->shutting_down || svc->removed;
      if (stopping_all) {
        if (svc->fsm != SV_F_STOPPED && svc->fsm != SV_F_STOPPING && svc->fsm != SV_F_FATAL &&
            !dependents_alive(sv, svc))
          sv__dispatch(svc, SV_EV_STOP);
      } else if (svc->want_up && svc->state == SV_WAITING && sv__deps_ready(svc)) {
        sv__dispatch(svc, SV_EV_DEPS_OK);
      }
    }
    for (size_t i = 0; i < sv->n_svcs; i++) {
      struct sv_service *svc = sv->svcs[i];
      if (svc->removed && svc->pid == 0 &&
          (svc->state == SV_STOPPED || svc->state == SV_FATAL)) {
        VG_INFO("service removed", VF_S("service", svc->name));
        remove_service(sv, i);
        sv->pump_again = true;
        break;
      }
    }
  } while (sv->pump_again);
  sv->in_pump = false;
  if (sv->n_retired) free_retired_configs(sv);

  if (sv->shutting_down && sv->done_fn) {
    for (size_t i = 0; i < sv->n_svcs; i++)
      if (sv->svcs[i]->pid > 0 || sv->svcs[i]->state == SV_STOPPING) return;
    shutdown_finish(sv);
  }
}

bool sv__gate_allows(struct sv_supervisor *sv, const struct cfg_service *def, char *env,
                     size_t envlen) {
  if (envlen) env[0] = '\0';
  if (!def->role || !sv->gate) return true;
  return sv->gate(sv->gate_arg, def, env, envlen);
}

static bool gate_ok(struct sv_supervisor *sv, const struct cfg_service *def) {
  char env[128];
  return sv__gate_allows(sv, def, env, sizeof env);
}

void sv_set_role_gate(struct sv_supervisor *sv, sv_gate_fn fn, void *arg) {
  sv->gate = fn;
  sv->gate_arg = arg;
}

void sv_roles_changed(struct sv_supervisor *sv) {
  if (sv->shutting_down) return;
  for (size_t i = 0; i < sv->n_svcs; i++) {
    struct sv_service *svc = sv->svcs[i];
    if (svc->removed || !svc->def->role) continue;
    bool allowed = gate_ok(sv, svc->def);
    if (allowed && !svc->want_up) {
      svc->want_up = true;
      sv__dispatch(svc, SV_EV_START);
    } else if (!allowed && (svc->want_up || svc->pid > 0)) {
      svc->want_up = false;
      sv__dispatch(svc, SV_EV_STOP);
    }
  }
  sv__pump(sv);
}

void sv_start_all(struct sv_supervisor *sv) {
  /* Every service is wanted before the first is started: a service that is ready the
   * moment it is spawned must not make the stack look ready while the others are not
   * even wanted yet (that announced READY=1 with the first service, not the last). */
  for (size_t i = 0; i < sv->n_svcs; i++) sv->svcs[i]->want_up = gate_ok(sv, sv->svcs[i]->def);
  for (size_t i = 0; i < sv->n_svcs; i++) {
    struct sv_service *svc = sv->svcs[i];
    if (svc->want_up) sv__dispatch(svc, SV_EV_START);
  }
  sv__tree_start(sv);
  sv__pump(sv);
}

void sv_shutdown(struct sv_supervisor *sv, sv_done_fn done, void *arg) {
  if (!sv->shutting_down) VG_INFO("stopping all services", VF_I("services", sv->n_svcs));
  sv->shutting_down = true;
  sv->done_fn = done;
  sv->done_arg = arg;
  for (size_t i = 0; i < sv->n_svcs; i++) sv->svcs[i]->want_up = false;
  sv__pump(sv);
}

/* The admin commands set the goal and hand the event to the state machine: what it
 * means in each state is the table's business (fsm.c). */
static int admin(struct sv_supervisor *sv, const char *name, enum sv_event ev) {
  struct sv_service *svc = sv__find(sv, name);
  if (!svc) return -ENOENT;
  if (ev != SV_EV_STOP && sv->shutting_down) return -ESHUTDOWN;
  if (ev != SV_EV_STOP && !gate_ok(sv, svc->def)) return -EPERM;
  svc->want_up = ev != SV_EV_STOP;
  sv__dispatch(svc, ev);
  sv__pump(sv);
  return 0;
}

int sv_start(struct sv_supervisor *sv, const char *name) { return admin(sv, name, SV_EV_START); }

int sv_stop(struct sv_supervisor *sv, const char *name) { return admin(sv, name, SV_EV_STOP); }

int sv_restart(struct sv_supervisor *sv, const char *name) {
  int rc = admin(sv, name, SV_EV_RESTART);
  if (rc == 0) sv__find(sv, name)->admin_restarts++;
  return rc;
}

static void push_name(char ***v, size_t *n, const char *name) {
  *v = vg_realloc(*v, (*n + 2) * sizeof **v);
  (*v)[(*n)++] = vg_strdup(name);
  (*v)[*n] = NULL;
}

void sv_reload(struct sv_supervisor *sv, struct vg_config *cfg, struct sv_reload_report *rep) {
  size_t na = 0, nr = 0, nc = 0, nu = 0;
  memset(rep, 0, sizeof *rep);
  struct vg_config *old = sv->cfg;
  sv->cfg = cfg;
  for (size_t i = 0; i < sv->n_svcs; i++) {
    struct sv_service *svc = sv->svcs[i];
    if (svc->removed) continue;
    const struct cfg_service *def = cfg_find_service(cfg, svc->name);
    if (!def) {
      push_name(&rep->removed, &nr, svc->name);
      svc->removed = true;
      svc->want_up = false;
      continue;
    }
    bool changed = def->fingerprint != svc->def->fingerprint;
    svc->def = def;
    if (!changed) {
      push_name(&rep->unchanged, &nu, svc->name);
      continue;
    }
    push_name(&rep->changed, &nc, svc->name);
    sv__probe_forget_regex(svc);
    /* a changed definition starts from a clean restart history */
    svc->n_fail = svc->fail_head = 0;
    svc->backoff_step = 0;
    if (svc->fsm == SV_F_FATAL) svc->want_up = true; /* a new definition gets a new chance */
    if (!gate_ok(sv, def)) {
      /* a role this node does not play (now): stopped, not restarted */
      svc->want_up = false;
      sv__dispatch(svc, SV_EV_STOP);
      continue;
    }
    if (def->role && !svc->want_up && svc->fsm == SV_F_STOPPED) {
      svc->want_up = true;
      sv__dispatch(svc, SV_EV_START);
      continue;
    }
    sv__dispatch(svc, SV_EV_RELOAD);
  }
  for (size_t i = 0; i < cfg->n_services; i++) {
    const struct cfg_service *def = &cfg->services[i];
    if (sv__find(sv, def->name)) continue;
    push_name(&rep->added, &na, def->name);
    struct sv_service *svc = service_new(sv, def);
    if (!sv->shutting_down && gate_ok(sv, def)) {
      svc->want_up = true;
      sv__dispatch(svc, SV_EV_START);
    }
  }
  sv->retired = vg_realloc(sv->retired, (sv->n_retired + 1) * sizeof *sv->retired);
  sv->retired[sv->n_retired++] = old;
  sv__pump(sv); /* frees old once no removed service points into it */
}

void sv_reload_report_free(struct sv_reload_report *rep) {
  vg_strv_free(rep->added);
  vg_strv_free(rep->removed);
  vg_strv_free(rep->changed);
  vg_strv_free(rep->unchanged);
  memset(rep, 0, sizeof *rep);
}

const struct vg_config *sv_config(const struct sv_supervisor *sv) { return sv->cfg; }

size_t sv_count(const struct sv_supervisor *sv) { return sv->n_svcs; }

const struct sv_service *sv_at(const struct sv_supervisor *sv, size_t i) {
  return i < sv->n_svcs ? sv->svcs[i] : NULL;
}

const struct sv_service *sv_find(const struct sv_supervisor *sv, const char *name) {
  return sv__find((struct sv_supervisor *)sv, name);
}

bool sv_stack_ready(const struct sv_supervisor *sv) {
  for (size_t i = 0; i < sv->n_svcs; i++) {
    const struct sv_service *svc = sv->svcs[i];
    if (svc->want_up && !svc->removed && svc->state != SV_READY) return false;
  }
  return true;
}

void sv_info_get(const struct sv_service *svc, struct sv_info *info) {
  memset(info, 0, sizeof *info);
  info->name = svc->name;
  info->state = svc->state;
  info->pid = svc->pid;
  if (svc->pid > 0) {
    info->uptime_seconds = (double)(vg_now_ns() - svc->spawn_ns) / 1e9;
    info->start_time = svc->spawn_wall;
  }
  info->restarts = svc->restarts;
  info->admin_restarts = svc->admin_restarts;
  info->has_exited = svc->has_exited;
  info->last_exit_code = svc->last_exit_code;
  info->last_exit_signal = svc->last_exit_signal;
  info->ready_seconds = svc->ready_seconds;
  if (svc->state == SV_BACKOFF) {
    uint64_t now = vg_now_ms();
    info->next_start_in = svc->next_start_ms > now ? (double)(svc->next_start_ms - now) / 1000.0 : 0;
  }
  info->watchdog_pings = svc->wd_pings;
  info->reason = svc->reason;
  if (svc->state == SV_STARTING && !info->reason) info->reason = svc->probe.last_error;
  info->status_text = svc->status_text;
  info->log_path = svc->log_path;
}

void sv_set_fresh_check(struct sv_supervisor *sv, sv_fresh_fn fn, void *arg) {
  sv->fresh_fn = fn;
  sv->fresh_arg = arg;
  sv__stale_start(sv);
}

void sv_set_observer(struct sv_supervisor *sv, sv_observer_fn fn, void *arg) {
  sv->observer = fn;
  sv->observer_arg = arg;
}

long sv_log_subscribe(struct sv_supervisor *sv, const char *name, sv_line_fn fn, void *arg) {
  if (!sv__find(sv, name)) return -ENOENT;
  struct sv__log_sub *s = vg_calloc(1, sizeof *s);
  s->id = sv->next_sub_id++;
  s->service = vg_strdup(name);
  s->fn = fn;
  s->arg = arg;
  s->next = sv->subs;
  sv->subs = s;
  return s->id;
}

void sv_log_unsubscribe(struct sv_supervisor *sv, long id) {
  for (struct sv__log_sub **pp = &sv->subs; *pp; pp = &(*pp)->next) {
    if ((*pp)->id == id) {
      struct sv__log_sub *s = *pp;
      *pp = s->next;
      free(s->service);
      free(s);
      return;
    }
  }
}
