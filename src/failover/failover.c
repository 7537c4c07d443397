/*
 * The loop side of failover: the node's role as a small state machine fed by the lease
 * thread's events, the supervisor's role gate, the promote/demote actions, self-fencing
 * timers, the status and the switchover.
 *
 *   none/standby ──acquired──▶ promoting: standby services stop, promote actions run
 *   promoting ──actions done──▶ active: active services start (VIGIL_FENCING_TOKEN)
 *   promoting/active ──lost, not renewed by ttl − margin, switchover──▶ demoting:
 *        active services stop (SIGKILL at ttl − margin/2 at the latest), demote actions
 *        run, the lease is released (for the switchover's target)
 *   demoting ──done──▶ standby: standby services start, the node may acquire again
 *
 * A node acquires only from standby (or none, at start-up), never while it still has
 * active services stopping, so the terms of one node never overlap either.
 */
#include "failover/fo_int.h"

#include "metrics/metrics.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct fo_failover {
  uv_loop_t *loop;
  const struct cfg_failover *cfg;
  struct sv_supervisor *sv;
  struct fo__thread th;
  uv_async_t async;
  uv_timer_t fence_timer; /* ttl − margin after the last renewal sent: begin to fence */
  uv_timer_t kill_timer;  /* ttl − margin/2: SIGKILL what is left */
  bool handles_open;

  enum fo_role role;
  uint64_t token;          /* of the current (or last) term */
  uint64_t last_sent_ns;   /* monotonic time of the last successful acquire/renew request */
  uint64_t decided_ns;     /* when the running transition was decided */
  char reason[160];
  enum fo_role from;       /* for the transition being made */
  bool transition_open;    /* a promotion waiting for its services to be ready */
  char handover[140];      /* the release at the end of a demotion */

  /* the action runner */
  const struct cfg_fo_action *actions;
  size_t n_actions, next_action;
  bool actions_running, actions_done;
  bool actions_cancel;     /* a demotion came while promote actions ran: stop after this one */
  bool work_busy;          /* a Redis action is on libuv's thread pool */
  uv_work_t work;
  char work_err[256];
  int work_rc;

  /* what the store said last (standby) */
  struct fo__view view;
  uint64_t view_ns;
  char last_error[200];

  /* the last transition */
  struct {
    bool set;
    double at;
    char from[16], to[16], reason[160];
    int64_t duration_ms;
    uint64_t token;
  } last;

  int fencer_fd;
  pid_t fencer_pid;
  pid_t fenced[64];        /* groups the fencer knows */
  size_t n_fenced;

  fo_transition_fn on_transition;
  void *transition_arg;

  struct mt_family *m_role, *m_token, *m_renewals, *m_failures, *m_transitions, *m_duration;
};

static const char *const role_names[] = {"none", "standby", "promoting", "active", "demoting"};

const char *fo_role_name(enum fo_role r) { return role_names[r]; }

/* active, standby or none: what the API's "role" says */
static const char *public_role(enum fo_role r) {
  return r == FO_ACTIVE ? "active" : r == FO_NONE ? "none" : "standby";
}

static bool is_role(const struct cfg_service *def, const char *role) {
  return def->role && strcmp(def->role, role) == 0;
}

/* ---- the gate ---- */

static bool gate(void *arg, const struct cfg_service *def, char *env, size_t envlen) {
  struct fo_failover *fo = arg;
  if (is_role(def, "standby")) return fo->role == FO_NONE || fo->role == FO_STANDBY;
  /* active: only in a term whose lease is still safely ours */
  if (fo->role != FO_ACTIVE || fo->token == 0) return false;
  uint64_t soft = fo->last_sent_ns + (uint64_t)(fo->cfg->ttl_ms - fo->cfg->margin_ms) * VG_NS_PER_MS;
  if (fo__now_ns() >= soft) return false;
  snprintf(env, envlen, "VIGIL_FENCING_TOKEN=%llu", (unsigned long long)fo->token);
  return true;
}

/* ---- services of a role ---- */

/* How many services of role still have a process. */
static size_t running(struct fo_failover *fo, const char *role) {
  size_t n = 0;
  for (size_t i = 0; i < sv_count(fo->sv); i++) {
    struct sv_info in;
    sv_info_get(sv_at(fo->sv, i), &in);
    const struct cfg_service *d = cfg_find_service(sv_config(fo->sv), in.name);
    if (d && is_role(d, role) && (in.pid > 0 || in.state == SV_STOPPING)) n++;
  }
  return n;
}

/* Whether every active service that is wanted is ready (or has given up). */
static bool actives_up(struct fo_failover *fo) {
  for (size_t i = 0; i < sv_count(fo->sv); i++) {
    struct sv_info in;
    sv_info_get(sv_at(fo->sv, i), &in);
    const struct cfg_service *d = cfg_find_service(sv_config(fo->sv), in.name);
    if (d && is_role(d, "active") && in.state != SV_READY && in.state != SV_FATAL) return false;
  }
  return true;
}

static void kill_actives(struct fo_failover *fo) {
  for (size_t i = 0; i < sv_count(fo->sv); i++) {
    struct sv_info in;
    sv_info_get(sv_at(fo->sv, i), &in);
    const struct cfg_service *d = cfg_find_service(sv_config(fo->sv), in.name);
    if (d && is_role(d, "active") && in.pid > 0) {
      VG_WARN("failover: killing an active service at the fencing deadline", VF_S("service", in.name),
              VF_I("pid", in.pid));
      kill(-in.pid, SIGKILL);
      kill(in.pid, SIGKILL);
    }
  }
}

/* Tells the fencer the process groups of the active services now running. */
static void sync_fencer(struct fo_failover *fo) {
  pid_t now[64];
  size_t n = 0;
  for (size_t i = 0; i < sv_count(fo->sv) && n < VG_ARRAY_LEN(now); i++) {
    struct sv_info in;
    sv_info_get(sv_at(fo->sv, i), &in);
    const struct cfg_service *d = cfg_find_service(sv_config(fo->sv), in.name);
    if (d && is_role(d, "active") && in.pid > 0) now[n++] = in.pid;
  }
  for (size_t i = 0; i < fo->n_fenced;) {
    bool keep = false;
    for (size_t k = 0; k < n && !keep; k++) keep = now[k] == fo->fenced[i];
    if (keep) {
      i++;
      continue;
    }
    fo__fence_send(fo->fencer_fd, FO__FENCE_DEL, fo->fenced[i], 0);
    fo->fenced[i] = fo->fenced[--fo->n_fenced];
  }
  for (size_t k = 0; k < n; k++) {
    bool known = false;
    for (size_t i = 0; i < fo->n_fenced && !known; i++) known = fo->fenced[i] == now[k];
    if (known || fo->n_fenced == VG_ARRAY_LEN(fo->fenced)) continue;
    fo__fence_send(fo->fencer_fd, FO__FENCE_ADD, now[k], 0);
    fo->fenced[fo->n_fenced++] = now[k];
  }
}

/* ---- transitions ---- */

static void finish_transition(struct fo_failover *fo, enum fo_role to) {
  int64_t ms = (int64_t)((fo__now_ns() - fo->decided_ns) / VG_NS_PER_MS);
  fo->last.set = true;
  fo->last.at = vg_wall_seconds();
  snprintf(fo->last.from, sizeof fo->last.from, "%s", public_role(fo->from));
  snprintf(fo->last.to, sizeof fo->last.to, "%s", public_role(to));
  snprintf(fo->last.reason, sizeof fo->last.reason, "%s", fo->reason);
  fo->last.duration_ms = ms;
  fo->last.token = fo->token;
  VG_INFO("failover: transition", VF_S("node", fo->cfg->node), VF_S("from", fo->last.from),
          VF_S("to", fo->last.to), VF_I("token", (long long)fo->token), VF_I("duration_ms", ms),
          VF_S("reason", fo->reason));
  if (fo->m_transitions) {
    const char *labels[] = {fo->last.to};
    mt_inc(mt_get(fo->m_transitions, labels), 1);
    mt_set(mt_get(fo->m_duration, NULL), (double)ms / 1000.0);
  }
  if (fo->on_transition) {
    struct fo_transition t = {.node = fo->cfg->node, .from = fo->last.from, .to = fo->last.to,
                              .reason = fo->last.reason, .token = fo->token, .at = fo->last.at,
                              .duration_ms = ms};
    fo->on_transition(fo->transition_arg, &t);
  }
}

static void progress(struct fo_failover *fo);

/* ---- actions: one after the other; a failure is logged and the next one runs ---- */

static void run_next_action(struct fo_failover *fo);

static void action_done(struct fo_failover *fo, const struct cfg_fo_action *a, bool ok,
                        const char *why) {
  const char *what = a->kind == CFG_FO_EXEC ? a->argv[0]
                     : a->kind == CFG_FO_REDIS_PROMOTE ? "redis_promote" : "redis_replicate";
  if (ok) VG_INFO("failover: action done", VF_S("action", what), VF_S("node", fo->cfg->node));
  else VG_ERROR("failover: action failed", VF_S("action", what), VF_S("error", why));
  fo->next_action++;
  if (fo->actions_cancel) {
    fo->actions_cancel = false;
    fo->actions_running = fo->actions_done = false;
    progress(fo);
    return;
  }
  run_next_action(fo);
}

static void command_done(void *arg, int status, bool timed_out) {
  struct fo_failover *fo = arg;
  const struct cfg_fo_action *a = &fo->actions[fo->next_action];
  char why[96] = "";
  if (timed_out) snprintf(why, sizeof why, "killed after its timeout");
  else if (status < 0) snprintf(why, sizeof why, "could not be started");
  else if (WIFSIGNALED(status)) snprintf(why, sizeof why, "killed by signal %d", WTERMSIG(status));
  else if (WEXITSTATUS(status)) snprintf(why, sizeof why, "exited with code %d", WEXITSTATUS(status));
  action_done(fo, a, !why[0], why);
}

static void redis_work(uv_work_t *w) {
  struct fo_failover *fo = w->data;
  const struct cfg_fo_action *a = &fo->actions[fo->next_action];
  fo->work_rc = fo__redis_replicaof(a->target, a->kind == CFG_FO_REDIS_REPLICATE ? a->primary : NULL,
                                    a->timeout_ms, fo->work_err, sizeof fo->work_err);
}

static void redis_after(uv_work_t *w, int status) {
  struct fo_failover *fo = w->data;
  fo->work_busy = false;
  action_done(fo, &fo->actions[fo->next_action], fo->work_rc == 0, fo->work_err);
}

static void run_next_action(struct fo_failover *fo) {
  if (fo->next_action >= fo->n_actions) {
    fo->actions_running = false;
    fo->actions_done = true;
    progress(fo);
    return;
  }
  const struct cfg_fo_action *a = &fo->actions[fo->next_action];
  if (a->kind == CFG_FO_EXEC) {
    if (sv_command(fo->sv, a->argv, a->timeout_ms, command_done, fo) < 0) command_done(fo, -1, false);
    return;
  }
  fo->work.data = fo;
  fo->work_err[0] = '\0';
  fo->work_busy = true;
  uv_queue_work(fo->loop, &fo->work, redis_work, redis_after);
}

static void start_actions(struct fo_failover *fo, const struct cfg_fo_action *a, size_t n) {
  fo->actions = a;
  fo->n_actions = n;
  fo->next_action = 0;
  fo->actions_running = true;
  fo->actions_done = false;
  run_next_action(fo);
}

/* ---- the state machine ---- */

static void set_role(struct fo_failover *fo, enum fo_role r) {
  fo->role = r;
  fo__thread_set_may_acquire(&fo->th, r == FO_NONE || r == FO_STANDBY);
}

static void kill_cb(uv_timer_t *t) {
  struct fo_failover *fo = t->data;
  if (fo->role == FO_DEMOTING) kill_actives(fo);
}

/* The hard deadline of a demotion: nothing of the term may run at ttl − margin/2 after
 * the last successful renewal. true when it has already passed. */
static bool arm_kill(struct fo_failover *fo) {
  uint64_t hard = fo->last_sent_ns + (uint64_t)(fo->cfg->ttl_ms - fo->cfg->margin_ms / 2) * VG_NS_PER_MS;
  uint64_t now = fo__now_ns();
  uv_timer_start(&fo->kill_timer, kill_cb, hard > now ? (hard - now) / VG_NS_PER_MS : 0, 0);
  return hard <= now;
}

static void demote(struct fo_failover *fo, const char *reason, const char *handover) {
  if (fo->role != FO_PROMOTING && fo->role != FO_ACTIVE) return;
  if (fo->transition_open) fo->transition_open = false;
  fo->from = FO_ACTIVE;
  fo->decided_ns = fo__now_ns();
  snprintf(fo->reason, sizeof fo->reason, "%s", reason);
  snprintf(fo->handover, sizeof fo->handover, "%s", handover ? handover : "");
  VG_WARN("failover: demoting", VF_S("node", fo->cfg->node), VF_I("token", (long long)fo->token),
          VF_S("reason", reason));
  /* promote actions still running finish their current step, then the demotion goes on */
  if (fo->actions_running) fo->actions_cancel = true;
  fo->actions_done = false;
  set_role(fo, FO_DEMOTING);
  uv_timer_stop(&fo->fence_timer);
  bool late = arm_kill(fo);
  sv_roles_changed(fo->sv);
  if (late) kill_actives(fo);
  progress(fo);
}

static void fence_cb(uv_timer_t *t) {
  struct fo_failover *fo = t->data;
  demote(fo, "the lease was not renewed in time (ttl - margin)", NULL);
}

static void arm_fence(struct fo_failover *fo) {
  uint64_t soft = fo->last_sent_ns + (uint64_t)(fo->cfg->ttl_ms - fo->cfg->margin_ms) * VG_NS_PER_MS;
  uint64_t now = fo__now_ns();
  uv_timer_start(&fo->fence_timer, fence_cb, soft > now ? (soft - now) / VG_NS_PER_MS + 1 : 0, 0);
}

/* Moves a transition on once what it waits for is done. */
static void progress(struct fo_failover *fo) {
  switch (fo->role) {
  case FO_PROMOTING:
    if (running(fo, "standby") > 0 || fo->actions_running) return;
    if (!fo->actions_done) {
      start_actions(fo, fo->cfg->promote, fo->cfg->n_promote);
      return;
    }
    set_role(fo, FO_ACTIVE);
    fo->transition_open = true;
    sv_roles_changed(fo->sv);
    /* fall through: with no active service, the promotion is complete now */
    if (fo->role != FO_ACTIVE) return;
    /* FALLTHROUGH */
  case FO_ACTIVE:
    if (fo->transition_open && actives_up(fo)) {
      fo->transition_open = false;
      finish_transition(fo, FO_ACTIVE);
    }
    return;
  case FO_DEMOTING:
    if (running(fo, "active") > 0 || fo->actions_running) return;
    if (!fo->actions_done) {
      fo__fence_send(fo->fencer_fd, FO__FENCE_CLEAR, 0, 0);
      fo->n_fenced = 0;
      start_actions(fo, fo->cfg->demote, fo->cfg->n_demote);
      return;
    }
    uv_timer_stop(&fo->kill_timer);
    fo__thread_release(&fo->th, fo->handover);
    /* who holds it now is for the next round to tell */
    memset(&fo->view, 0, sizeof fo->view);
    fo->view.token = fo->token;
    set_role(fo, FO_STANDBY);
    sv_roles_changed(fo->sv);
    finish_transition(fo, FO_STANDBY);
    return;
  default:
    return;
  }
}

static void on_event(struct fo_failover *fo, const struct fo__ev *ev) {
  switch (ev->kind) {
  case FO__EV_ACQUIRED:
    fo->last_error[0] = '\0';
    if (fo->role != FO_NONE && fo->role != FO_STANDBY) {
      /* cannot happen (the thread acquires only when allowed); give it back */
      fo__thread_release(&fo->th, "");
      return;
    }
    fo->from = fo->role;
    fo->token = ev->token;
    fo->last_sent_ns = ev->sent_ns;
    fo->decided_ns = fo__now_ns();
    fo->view = ev->view;
    snprintf(fo->reason, sizeof fo->reason, "lease acquired");
    VG_INFO("failover: lease acquired; promoting", VF_S("node", fo->cfg->node),
            VF_I("token", (long long)ev->token));
    fo->actions_running = fo->actions_done = false;
    set_role(fo, FO_PROMOTING);
    arm_fence(fo);
    sv_roles_changed(fo->sv);
    progress(fo);
    return;
  case FO__EV_RENEWED:
    fo->last_error[0] = '\0';
    if (fo->role == FO_DEMOTING) {
      /* still ours while the services stop (a switchover, say): their stop timeouts
       * may run as long as the lease is renewed */
      if (ev->sent_ns > fo->last_sent_ns) fo->last_sent_ns = ev->sent_ns;
      if (uv_is_active((uv_handle_t *)&fo->kill_timer)) arm_kill(fo);
      return;
    }
    if (fo->role != FO_PROMOTING && fo->role != FO_ACTIVE) return;
    if (ev->sent_ns > fo->last_sent_ns) fo->last_sent_ns = ev->sent_ns;
    arm_fence(fo);
    return;
  case FO__EV_LOST:
    snprintf(fo->last_error, sizeof fo->last_error, "%s", ev->msg);
    demote(fo, "the lease was lost (renewal refused)", NULL);
    return;
  case FO__EV_ERROR:
    if (strcmp(fo->last_error, ev->msg) != 0)
      VG_WARN("failover: lease store error", VF_S("node", fo->cfg->node), VF_S("error", ev->msg),
              VF_S("role", fo_role_name(fo->role)));
    snprintf(fo->last_error, sizeof fo->last_error, "%s", ev->msg);
    if (fo->role == FO_NONE) {
      /* the store cannot be reached at start-up: this node is a standby until it can */
      fo->from = FO_NONE;
      set_role(fo, FO_STANDBY);
      sv_roles_changed(fo->sv);
    }
    return;
  case FO__EV_VIEW:
    fo->last_error[0] = '\0';
    fo->view = ev->view;
    fo->view_ns = fo__now_ns();
    if (fo->role == FO_NONE) {
      fo->from = FO_NONE;
      set_role(fo, FO_STANDBY);
      sv_roles_changed(fo->sv);
      snprintf(fo->reason, sizeof fo->reason, "another node holds the lease");
      fo->decided_ns = fo__now_ns();
      finish_transition(fo, FO_STANDBY);
    }
    return;
  case FO__EV_RELEASED:
    return;
  }
}

static void async_cb(uv_async_t *a) {
  struct fo_failover *fo = a->data;
  struct fo__ev ev;
  while (fo__thread_pop(&fo->th, &ev)) on_event(fo, &ev);
}

void fo_service_changed(struct fo_failover *fo, const struct sv_service *svc) {
  sync_fencer(fo);
  progress(fo);
}

/* ---- lifetime ---- */

int fo_create(uv_loop_t *loop, const struct vg_config *cfg, struct sv_supervisor *sv,
              struct fo_failover **out, char *err, size_t errlen) {
  /* a copy: a reload frees the config the daemon started with */
  const struct cfg_failover *fc = cfg_failover_dup(cfg->failover);
  struct fo_failover *fo = vg_calloc(1, sizeof *fo);
  fo->loop = loop;
  fo->cfg = fc;
  fo->sv = sv;
  fo->role = FO_NONE;
  fo->fencer_fd = -1;
  struct fo__thread *t = &fo->th;
  t->fencer_fd = -1;
  t->may_acquire = true;
  t->renew_ms = fc->renew_ms;
  t->margin_ms = fc->margin_ms;
  t->params = (struct fo__lease_params){.node = fc->node, .key = fc->key, .ttl_ms = fc->ttl_ms,
                                        .timeout_ms = fc->timeout_ms, .cooldown_ms = fc->cooldown_ms};
  if (fc->backend == CFG_LEASE_REDIS) fo__redis_backend(&t->backend, fc);
  else fo__pg_backend(&t->backend, fc);
  t->async = &fo->async;
  uv_async_init(loop, &fo->async, async_cb);
  fo->async.data = fo;
  uv_timer_init(loop, &fo->fence_timer);
  uv_timer_init(loop, &fo->kill_timer);
  fo->fence_timer.data = fo->kill_timer.data = fo;
  fo->handles_open = true;
  sv_set_role_gate(sv, gate, fo);
  (void)err;
  (void)errlen;
  *out = fo;
  return 0;
}

int fo_start(struct fo_failover *fo, char *err, size_t errlen) {
  int fd = fo__fencer_start(&fo->fencer_pid);
  if (fd < 0) {
    snprintf(err, errlen, "cannot start the fencer: %s", strerror(-fd));
    return fd;
  }
  fo->fencer_fd = fd;
  fo->th.fencer_fd = fd;
  int rc = fo__thread_start(&fo->th);
  if (rc < 0) {
    snprintf(err, errlen, "cannot start the lease thread: %s", strerror(-rc));
    return rc;
  }
  VG_INFO("failover: started", VF_S("node", fo->cfg->node), VF_S("backend", fo->th.backend.name),
          VF_S("key", fo->cfg->key), VF_I("ttl_ms", fo->cfg->ttl_ms),
          VF_I("renew_ms", fo->cfg->renew_ms), VF_I("fencer_pid", fo->fencer_pid));
  return 0;
}

void fo_set_transition_cb(struct fo_failover *fo, fo_transition_fn fn, void *arg) {
  fo->on_transition = fn;
  fo->transition_arg = arg;
}

void fo_stop(struct fo_failover *fo) {
  /* every service has stopped: the lease (if held) goes to the others now */
  if (fo->th.started) fo__thread_stop(&fo->th, true);
  uv_timer_stop(&fo->fence_timer);
  uv_timer_stop(&fo->kill_timer);
  if (fo->fencer_fd >= 0) {
    fo__fence_send(fo->fencer_fd, FO__FENCE_CLEAR, 0, 0);
    close(fo->fencer_fd); /* the fencer exits on EOF */
    fo->fencer_fd = -1;
    fo->th.fencer_fd = -1;
    /* reaped here, so the supervisor's last sweep does not take it for a leftover */
    for (int i = 0; i < 1000; i++) {
      int st;
      pid_t r = waitpid(fo->fencer_pid, &st, WNOHANG);
      if (r == fo->fencer_pid || (r < 0 && errno == ECHILD)) break;
      usleep(1000);
    }
  }
}

void fo_destroy(struct fo_failover *fo) {
  if (!fo) return;
  if (fo->th.started) fo_stop(fo);
  while (fo->work_busy) uv_run(fo->loop, UV_RUN_ONCE); /* a Redis action, bounded by its timeout */
  if (fo->handles_open) {
    uv_close((uv_handle_t *)&fo->async, NULL);
    uv_close((uv_handle_t *)&fo->fence_timer, NULL);
    uv_close((uv_handle_t *)&fo->kill_timer, NULL);
    uv_run(fo->loop, UV_RUN_NOWAIT);
  }
  cfg_failover_free((struct cfg_failover *)fo->cfg);
  free(fo);
}

/* ---- the API ---- */

int fo_switchover(struct fo_failover *fo, const char *to, char *err, size_t errlen) {
  if (fo->role != FO_ACTIVE) {
    snprintf(err, errlen, "node %s is %s, not active: run the switchover on the active node%s%s",
             fo->cfg->node, fo_role_name(fo->role), fo->view.holder[0] ? " (" : "",
             fo->view.holder[0] ? fo->view.holder : "");
    if (fo->view.holder[0]) strncat(err, ")", errlen - strlen(err) - 1);
    return -1;
  }
  if (to && strcmp(to, fo->cfg->node) == 0) {
    snprintf(err, errlen, "node %s is already active", to);
    return -1;
  }
  char handover[140];
  if (to) snprintf(handover, sizeof handover, "+%s", to);
  else snprintf(handover, sizeof handover, "-%s", fo->cfg->node);
  char why[200];
  snprintf(why, sizeof why, "switchover to %s", to ? to : "any other node");
  demote(fo, why, handover);
  return 0;
}

static void json_str(struct vg_buf *b, const char *key, const char *v, bool comma) {
  vg_buf_printf(b, "\"%s\": ", key);
  if (v) vg_buf_json_str(b, v);
  else vg_buf_puts(b, "null");
  if (comma) vg_buf_puts(b, ", ");
}

void fo_status_json(struct fo_failover *fo, struct vg_buf *out) {
  bool mine = fo->role == FO_PROMOTING || fo->role == FO_ACTIVE || fo->role == FO_DEMOTING;
  uint64_t now = fo__now_ns();
  const char *holder = NULL;
  uint64_t token = 0;
  int64_t expires = -1;
  if (mine) {
    holder = fo->cfg->node;
    token = fo->token;
    uint64_t exp = fo->last_sent_ns + (uint64_t)fo->cfg->ttl_ms * VG_NS_PER_MS;
    expires = exp > now ? (int64_t)((exp - now) / VG_NS_PER_MS) : 0;
  } else if (fo->view.holder[0]) {
    holder = fo->view.holder;
    token = fo->view.token;
    int64_t age = (int64_t)((now - fo->view_ns) / VG_NS_PER_MS);
    expires = fo->view.expires_in_ms >= 0 ? fo->view.expires_in_ms - age : -1;
    if (expires < 0 && fo->view.expires_in_ms >= 0) expires = 0;
  } else {
    token = fo->view.token > fo->token ? fo->view.token : fo->token;
  }
  vg_buf_puts(out, "{");
  json_str(out, "node", fo->cfg->node, true);
  json_str(out, "role", public_role(fo->role), true);
  json_str(out, "state", fo_role_name(fo->role), true);
  json_str(out, "holder", holder, true);
  vg_buf_printf(out, "\"token\": %llu, ", (unsigned long long)token);
  vg_buf_puts(out, "\"lease\": {");
  json_str(out, "backend", fo->th.backend.name, true);
  json_str(out, "key", fo->cfg->key, true);
  vg_buf_printf(out, "\"ttl_ms\": %lld, \"renew_ms\": %lld, \"margin_ms\": %lld, ",
                (long long)fo->cfg->ttl_ms, (long long)fo->cfg->renew_ms, (long long)fo->cfg->margin_ms);
  if (expires >= 0) vg_buf_printf(out, "\"expires_in_ms\": %lld, ", (long long)expires);
  else vg_buf_puts(out, "\"expires_in_ms\": null, ");
  vg_buf_printf(out, "\"cooldown_ms\": %lld, ", (long long)fo->cfg->cooldown_ms);
  vg_buf_printf(out, "\"cooldown_left_ms\": %lld, ", (long long)(mine ? 0 : fo->view.cooldown_ms));
  vg_buf_printf(out, "\"renewals\": %llu, \"failures\": %llu, ",
                (unsigned long long)atomic_load(&fo->th.renewals),
                (unsigned long long)atomic_load(&fo->th.failures));
  json_str(out, "error", fo->last_error[0] ? fo->last_error : NULL, false);
  vg_buf_puts(out, "}, \"last_transition\": ");
  if (!fo->last.set) {
    vg_buf_puts(out, "null");
  } else {
    char at[VG_TIME_LEN];
    vg_rfc3339_format((int64_t)(fo->last.at * 1e9), 3, at, sizeof at);
    vg_buf_puts(out, "{");
    json_str(out, "at", at, true);
    json_str(out, "from", fo->last.from, true);
    json_str(out, "to", fo->last.to, true);
    vg_buf_printf(out, "\"duration_ms\": %lld, \"token\": %llu, ", (long long)fo->last.duration_ms,
                  (unsigned long long)fo->last.token);
    json_str(out, "reason", fo->last.reason, false);
    vg_buf_puts(out, "}");
  }
  vg_buf_puts(out, "}\n");
}

/* ---- metrics ---- */

static void families(struct mt_registry *r, struct fo_failover *fo) {
  static const char *const role[] = {"role", NULL};
  static const char *const to[] = {"to", NULL};
  struct mt_family *f[6];
  f[0] = mt_gauge(r, "vigil_failover_role",
                  "This node's failover role: 1 for the current one (active, standby, none).", role);
  f[1] = mt_gauge(r, "vigil_failover_fencing_token",
                  "The fencing token of this node's current or last term as lease holder.", NULL);
  f[2] = mt_counter(r, "vigil_failover_lease_renewals_total",
                    "Successful renewals of the lease by this node.", NULL);
  f[3] = mt_counter(r, "vigil_failover_lease_failures_total",
                    "Lease operations that failed (store unreachable or a renewal refused).", NULL);
  f[4] = mt_counter(r, "vigil_failover_transitions_total",
                    "Completed role transitions of this node, by the role reached.", to);
  f[5] = mt_gauge(r, "vigil_failover_last_transition_duration_seconds",
                  "How long the last transition took, from the decision to the services "
                  "started (promotion) or stopped (demotion).", NULL);
  if (fo) {
    fo->m_role = f[0];
    fo->m_token = f[1];
    fo->m_renewals = f[2];
    fo->m_failures = f[3];
    fo->m_transitions = f[4];
    fo->m_duration = f[5];
  }
}

static void collect(struct mt_registry *r, void *arg) {
  struct fo_failover *fo = arg;
  static const char *const roles[] = {"active", "standby", "none"};
  for (size_t i = 0; i < VG_ARRAY_LEN(roles); i++) {
    const char *labels[] = {roles[i]};
    mt_set(mt_get(fo->m_role, labels), strcmp(public_role(fo->role), roles[i]) == 0);
  }
  mt_set(mt_get(fo->m_token, NULL), (double)fo->token);
  struct mt_series *s = mt_get(fo->m_renewals, NULL);
  mt_inc(s, (double)atomic_load(&fo->th.renewals) - mt_value(s));
  s = mt_get(fo->m_failures, NULL);
  mt_inc(s, (double)atomic_load(&fo->th.failures) - mt_value(s));
}

void fo_metrics_register(struct fo_failover *fo, struct mt_registry *r) {
  families(r, fo);
  /* both transitions exist from the start, at 0, so increase() sees the first one */
  static const char *const to[][1] = {{"active"}, {"standby"}};
  for (size_t i = 0; i < VG_ARRAY_LEN(to); i++) (void)mt_get(fo->m_transitions, to[i]);
  mt_add_collector(r, collect, fo);
}

void fo_metrics_describe(struct mt_registry *r) { families(r, NULL); }
