/*
 * supervise — runs the services of a config: spawns them in dependency order once
 * their dependencies are ready, probes readiness, restarts them with backoff, watches
 * their watchdog pings, captures their output, and stops them in reverse order.
 *
 * Everything here runs on the loop thread (libuv); no function is thread-safe.
 * Child death arrives through SIGCHLD on the loop, never by polling.
 *
 * Service states (docs/ARCHITECTURE.md has the full table):
 *   stopped → waiting (dependencies not ready) → starting (spawned, probing readiness)
 *   → ready → stopping → stopped; a failure → backoff → starting, or fatal after
 *   too many restarts within the window (it stays down until started by hand).
 */
#ifndef VIGIL_SUPERVISE_H
#define VIGIL_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "config/config.h"

enum sv_state {
  SV_STOPPED,
  SV_WAITING,
  SV_STARTING,
  SV_READY,
  SV_STOPPING,
  SV_BACKOFF,
  SV_FATAL,
  SV_N_STATES
};

const char *sv_state_name(enum sv_state s);

struct sv_supervisor;
struct sv_service;

/* Creates a supervisor for cfg on loop and takes ownership of cfg. Creates the
 * state_dir layout it needs (run/, logs/). Starts nothing. Returns 0, or -errno with
 * a message in err. */
int sv_create(uv_loop_t *loop, struct vg_config *cfg, struct sv_supervisor **out, char *err,
              size_t errlen);

/* Starts every service, each as soon as its dependencies are ready. */
void sv_start_all(struct sv_supervisor *sv);

/* Stops every service in reverse dependency order, each bounded by its stop timeout,
 * then kills whatever descendant is left. Calls done once everything has exited. */
typedef void (*sv_done_fn)(struct sv_supervisor *sv, void *arg);
void sv_shutdown(struct sv_supervisor *sv, sv_done_fn done, void *arg);

/* Closes every handle and frees the supervisor; run the loop afterwards so the
 * close callbacks complete. Call only after shutdown is done. */
void sv_destroy(struct sv_supervisor *sv);

/* Admin commands. 0, or -ENOENT when there is no such service. start also clears a
 * fatal state; restart stops then starts, honouring the stop timeout. */
int sv_start(struct sv_supervisor *sv, const char *name);
int sv_stop(struct sv_supervisor *sv, const char *name);
int sv_restart(struct sv_supervisor *sv, const char *name);

/* What a reload did, by service name. */
struct sv_reload_report {
  char **added, **removed, **changed, **unchanged; /* NULL-terminated */
};
/* Replaces the config with cfg (taking ownership): services whose definition changed
 * are restarted, added ones started, removed ones stopped; unchanged ones are not
 * touched. */
void sv_reload(struct sv_supervisor *sv, struct vg_config *cfg, struct sv_reload_report *rep);
void sv_reload_report_free(struct sv_reload_report *rep);

const struct vg_config *sv_config(const struct sv_supervisor *sv);

/* ---- queries ---- */
size_t sv_count(const struct sv_supervisor *sv);
const struct sv_service *sv_at(const struct sv_supervisor *sv, size_t i);
const struct sv_service *sv_find(const struct sv_supervisor *sv, const char *name);

/* True when every service that should run is ready. */
bool sv_stack_ready(const struct sv_supervisor *sv);

struct sv_info {
  const char *name;
  enum sv_state state;
  pid_t pid;               /* 0 when no process */
  double uptime_seconds;   /* since the current process was spawned; 0 if none */
  double start_time;       /* unix time the current process was spawned; 0 if none */
  unsigned restarts;       /* automatic restarts since vigil started */
  unsigned admin_restarts; /* restarts asked for (sv_restart) since vigil started */
  bool has_exited;         /* whether last_exit_* are meaningful */
  int last_exit_code;      /* -1 when killed by a signal */
  int last_exit_signal;    /* 0 when it exited */
  double ready_seconds;    /* spawn → ready latency of the current/last run; <0 if never */
  double next_start_in;    /* backoff: seconds until the next attempt */
  uint64_t watchdog_pings;
  const char *reason;      /* why it is waiting, backing off or fatal; NULL when none */
  const char *status_text; /* last STATUS= the service sent, or NULL */
  const char *log_path;    /* per-service log file, or NULL */
};
void sv_info_get(const struct sv_service *svc, struct sv_info *info);

/* Fills names with the dependencies of svc that are not ready (at most max);
 * returns how many there are. */
size_t sv_waiting_on(const struct sv_service *svc, const char **names, size_t max);

/* Observes every state change (for sd_notify, metrics, tests). */
typedef void (*sv_observer_fn)(void *arg, const struct sv_service *svc, enum sv_state from,
                               enum sv_state to);
void sv_set_observer(struct sv_supervisor *sv, sv_observer_fn fn, void *arg);

/* How fresh a cache key or document is, for `ready: {fresh: NAME, within: D}`: seconds
 * since it was last updated, or -1 when there is none. Called on the loop thread. The
 * daemon sets it (the supervisor does not know the cache); without it a fresh probe
 * never succeeds and says why. */
typedef double (*sv_fresh_fn)(void *arg, const char *name);
void sv_set_fresh_check(struct sv_supervisor *sv, sv_fresh_fn fn, void *arg);

/* Live output of a service, line by line. Returns a subscription id > 0, or -ENOENT.
 * The callback gets stream "stdout"/"stderr"; line is not NUL-terminated. */
typedef void (*sv_line_fn)(void *arg, const char *stream, const char *line, size_t len);
long sv_log_subscribe(struct sv_supervisor *sv, const char *name, sv_line_fn fn, void *arg);
void sv_log_unsubscribe(struct sv_supervisor *sv, long id);

/* The file descriptors a stack of cfg needs at most: vigil's own, a reserve kept free
 * for the control socket, and per service its pipes, log file and notify socket. */
size_t sv_fd_budget(const struct vg_config *cfg);

/* ---- roles (failover) ---- */
/* A service with a role (cfg_service.role, "active" or "standby") runs only while the
 * gate allows it; services without a role are not asked. The gate is asked when the
 * service would be wanted (start, reload, sv_roles_changed) and again right before every
 * spawn; a refused spawn leaves the service stopped. It may write one "KEY=VALUE" entry
 * into env (envlen bytes; empty: none), added to the service's environment. Set by the
 * daemon; supervise knows nothing of what decides. */
typedef bool (*sv_gate_fn)(void *arg, const struct cfg_service *def, char *env, size_t envlen);
void sv_set_role_gate(struct sv_supervisor *sv, sv_gate_fn fn, void *arg);
/* Asks the gate again about every service with a role: starts those now allowed, stops
 * (stop signal, SIGKILL past their stop timeout) those no longer allowed. */
void sv_roles_changed(struct sv_supervisor *sv);

/* ---- commands (command.c): a program run once, not a service ---- */
/* Runs argv in its own session (stdout and stderr: vigil's), SIGKILLs its process group
 * after timeout_ms, and calls done(arg, status) on the loop thread with its wait status
 * (-1 when it could not be started, with the reason logged). 0, or -errno. */
typedef void (*sv_command_fn)(void *arg, int status, bool timed_out);
int sv_command(struct sv_supervisor *sv, char *const *argv, int64_t timeout_ms,
               sv_command_fn done, void *arg);

/* ---- metrics (metrics.c) ---- */
struct mt_registry;
/* Registers the supervisor's metrics (vigil_service_*, vigil_stack_ready; see
 * docs/metrics.md) in r and keeps them current: sampled at each render, the readiness
 * histogram observed as services become ready. */
void sv_metrics_register(struct sv_supervisor *sv, struct mt_registry *r);
/* Registers the same families in r without a supervisor: no series, no collector (the
 * list of every metric vigil can expose, src/export/families.c). */
void sv_metrics_describe(struct mt_registry *r);

#endif
