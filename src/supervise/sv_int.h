/* Private to src/supervise/: the structs behind the opaque handles and the functions
 * the files of this module call across one another (prefix sv__). */
#ifndef VIGIL_SV_INT_H
#define VIGIL_SV_INT_H

#include <pthread.h>
#include <regex.h>

#include "core/core.h"
#include "supervise/supervise.h"

/* States of the service state machine (fsm.c): the public ones (enum sv_state, same
 * values), plus the two kinds of stopping that decide what follows the stop. Each
 * shows as "stopping" outside. */
enum sv__fsm_state {
  SV_F_STOPPED = SV_STOPPED,
  SV_F_WAITING = SV_WAITING,
  SV_F_STARTING = SV_STARTING,
  SV_F_READY = SV_READY,
  SV_F_STOPPING = SV_STOPPING, /* stopping, to stay stopped */
  SV_F_BACKOFF = SV_BACKOFF,
  SV_F_FATAL = SV_FATAL,
  SV_F_RESTARTING,             /* stopping, to start again (restart, changed definition) */
  SV_F_FAILING,                /* stopping after a failure (watchdog, readiness timeout):
                                  then the restart policy */
  SV_F_N
};
/* The public state a machine state shows as. */
enum sv_state sv__public_state(enum sv__fsm_state s);
/* The name of a machine state (for tests and debug logs). */
const char *sv__fsm_state_name(enum sv__fsm_state s);

/* Events of the service state machine (fsm.c). */
enum sv_event {
  SV_EV_START,    /* should run (initial start, vigil start) */
  SV_EV_STOP,     /* should not run (vigil stop, shutdown, removed by reload) */
  SV_EV_RESTART,  /* should run a fresh process (vigil restart) */
  SV_EV_RELOAD,   /* the definition changed (reload): a running service restarts */
  SV_EV_DEPS_OK,  /* every dependency is ready */
  SV_EV_READY,    /* readiness probe succeeded */
  SV_EV_EXIT,     /* the main process exited */
  SV_EV_TIMER,    /* the state timer fired: ready timeout, stop timeout or backoff over */
  SV_EV_WATCHDOG, /* no WATCHDOG=1 within the watchdog interval */
  SV_N_EVENTS
};

/* One captured output stream (stdout or stderr) of one run of a service. It may
 * outlive the run (EOF can come after the exit), so it points back to its service
 * and is detached when the service goes away. */
struct sv__stream {
  uv_pipe_t pipe;
  struct sv_service *svc;
  const char *name; /* "stdout" / "stderr" */
  struct vg_buf line;
  struct sv__stream *next; /* in svc->streams */
};

enum sv__probe_step { SV_PROBE_IDLE, SV_PROBE_CONNECTING, SV_PROBE_WAIT_REPLY, SV_PROBE_EXEC };

struct sv__probe {
  enum sv__probe_step step;
  uv_tcp_t *tcp;          /* current tcp/http attempt, owned until closed */
  pid_t exec_pid;         /* exec probe in flight */
  regex_t log_re;
  bool log_re_ok;
  unsigned attempts;
  char *last_error;       /* why the last attempt failed, for status */
};

struct sv__log_sub {
  long id;
  char *service;
  sv_line_fn fn;
  void *arg;
  struct sv__log_sub *next;
};

struct sv_service {
  struct sv_supervisor *sv;
  char *name;
  const struct cfg_service *def; /* points into sv->cfg (or a retired config while a
                                    removed service stops); replaced on reload */
  enum sv_state state;    /* what the outside sees: sv__public_state(fsm) */
  enum sv__fsm_state fsm; /* the machine's state */
  bool want_up;          /* the goal the operator (or the config) set, not a state: the
                            restart policy reads it when a run ends */
  bool removed;          /* dropped by reload: freed once stopped */

  /* the current run */
  pid_t pid;             /* 0 when no process */
  unsigned long long start_ticks; /* its start time (sv__boot_ticks), for the record */
  uint64_t spawn_ns;
  double spawn_wall;     /* unix time of the spawn, for vigil_service_start_time_seconds */
  uint64_t ready_ns;
  double ready_seconds;  /* <0: never ready */
  int stop_signal;       /* copied at spawn so a reload cannot change a running stop */
  int64_t stop_timeout_ms;
  bool killed;           /* SIGKILL sent during this stop */
  struct sv__proc {
    pid_t pid;
    unsigned long long start_time; /* from /proc: tells a live pid from a reused one */
  } tree[64];              /* descendants snapshotted when a stop began */
  size_t n_tree;

  /* history */
  unsigned restarts;
  unsigned admin_restarts; /* sv_restart calls (the page's restart button, vigil restart) */
  bool has_exited;
  int last_exit_code, last_exit_signal;
  unsigned backoff_step;
  uint64_t *fail_ms;     /* ring of recent failure times for max_restarts/window */
  size_t n_fail, fail_cap, fail_head;
  uint64_t next_start_ms;
  char *reason;
  char *status_text;
  char *spawn_error;     /* why the last run could not exec (its exit 127 is vigil's), or NULL */

  uv_timer_t timer;      /* the state timer */
  uv_timer_t probe_timer;
  uint64_t stale_ready_ms; /* when the run was first seen ready by the staleness check */
  bool stale_warned;
  bool stale_fired;        /* the next WATCHDOG event is the staleness check's */
  uv_timer_t wd_timer;
  uint64_t wd_pings;

  int notify_fd;         /* per-service NOTIFY_SOCKET, kept across runs */
  char *notify_path;
  uv_poll_t notify_poll;

  struct sv__probe probe;
  struct sv__stream *streams; /* open output pipes, of this run and draining ones */

  char *log_path;        /* per-service log file, NULL when disabled */
  int log_fd;
  int64_t log_size;

  int pending_closes;    /* handles still closing; freed when it reaches 0 */
};

struct sv_child;
typedef void (*sv__exit_fn)(void *arg, pid_t pid, int status);

struct sv_supervisor {
  uv_loop_t *loop;
  struct vg_config *cfg;
  /* configs replaced by a reload that removed services still stopping: their
   * definitions stay valid until the last of those services is gone */
  struct vg_config **retired;
  size_t n_retired;
  struct sv_service **svcs;
  size_t n_svcs, cap_svcs;
  char *run_dir, *log_dir;
  pthread_t loop_thread; /* every spawn happens here: the parent-death signal is tied
                            to the spawning thread */
  char *record_path;     /* record.c */
  int record_fd;
  size_t record_lines;

  uv_signal_t sigchld;
  /* pid → exit callback for every child vigil waits on (services and exec probes) */
  struct sv__child_entry {
    pid_t pid;
    sv__exit_fn fn;
    void *arg;
  } *children;
  size_t n_children, cap_children;

  bool shutting_down;
  sv_done_fn done_fn;
  void *done_arg;
  uv_timer_t sweep_timer;
  bool in_pump;
  bool pump_again;

  sv_observer_fn observer;
  void *observer_arg;
  sv_fresh_fn fresh_fn;
  void *fresh_arg;
  uv_timer_t stale_timer; /* stale.c: each service's `stale` key, 4 times a second */
  sv_gate_fn gate;       /* roles (failover), NULL: every service runs */
  void *gate_arg;
  struct mt_family *m_ready; /* vigil_service_ready_seconds, NULL until registered */
  struct sv_metrics *metrics; /* the sampled families (metrics.c) */

  struct sv__log_sub *subs;
  long next_sub_id;
  uint64_t seed;
};

/* metrics.c */
/* Records a readiness latency (no-op before sv_metrics_register). */
void sv__metrics_ready(struct sv_service *svc, double seconds);
/* Drops the series of a service that goes away. */
void sv__metrics_forget(struct sv_service *svc);

/* fsm.c */
void sv__dispatch(struct sv_service *svc, enum sv_event ev);
void sv__set_state(struct sv_service *svc, enum sv__fsm_state to);
void sv__set_reason(struct sv_service *svc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* supervisor.c */
/* Whether the role gate lets def run now (true without a role or a gate); env as for
 * sv_gate_fn. */
bool sv__gate_allows(struct sv_supervisor *sv, const struct cfg_service *def, char *env,
                     size_t envlen);
void sv__pump(struct sv_supervisor *sv);
bool sv__deps_ready(const struct sv_service *svc);
struct sv_service *sv__find(struct sv_supervisor *sv, const char *name);

/* reap.c */
int sv__reap_init(struct sv_supervisor *sv);
void sv__reap_close(struct sv_supervisor *sv);
void sv__child_watch(struct sv_supervisor *sv, pid_t pid, sv__exit_fn fn, void *arg);
void sv__child_forget(struct sv_supervisor *sv, pid_t pid);
/* Kills (SIGKILL) and reaps every remaining descendant of vigil (they are its
 * children through PR_SET_CHILD_SUBREAPER). Returns how many were found. */
int sv__kill_orphans(struct sv_supervisor *sv);
/* A live process: pid, parent, session, start time (clock ticks after boot). */
struct sv__proc_row {
  pid_t pid, ppid, pgid, sid;
  unsigned long long start;
};
/* Now, in the unit of /proc's start times (clock ticks of CLOCK_BOOTTIME): read just
 * before a spawn it gives the child's start time without reading /proc. */
unsigned long long sv__boot_ticks(void);
/* Whether two start times name the same process (the boot clock read around a spawn
 * may differ from the kernel's by a tick or two; a pid is never reused that fast). */
bool sv__same_start(unsigned long long a, unsigned long long b);
/* Every live process (zombies excluded); *rows is the caller's to free. */
size_t sv__list_procs(struct sv__proc_row **rows);
/* ppid and start time of a live process from /proc; 0, or -1 when gone or a zombie. */
int sv__proc_stat(pid_t pid, pid_t *ppid, unsigned long long *start);
/* Snapshots up to max descendants of root (children, grandchildren, …). */
size_t sv__descendants(pid_t root, struct sv__proc *out, size_t max);
/* SIGKILLs each process still alive with the same start time; returns how many. */
int sv__kill_procs(const struct sv__proc *procs, size_t n);

/* tree.c: a service's descendants (see the file's comment) */
/* Adds a descendant to svc's tree (and the record), unless known. */
void sv__tree_add(struct sv_service *svc, pid_t pid, unsigned long long start);
/* One pass over /proc: trees updated, leftovers of ended runs killed and logged. */
void sv__tree_sweep(struct sv_supervisor *sv);
/* Starts the periodic sweep. */
void sv__tree_start(struct sv_supervisor *sv);
/* SIGKILLs what is left in process group pgid after its leader's exit, logging each
 * process; returns how many there were. */
int sv__group_kill(struct sv_service *svc, pid_t pgid);
/* A process's command line, spaces between arguments ("?" when unreadable). */
void sv__proc_cmdline(pid_t pid, char *buf, size_t len);

/* fdbudget.c */
/* Descriptors a service holds while it exists (pipes, log file, notify socket). */
size_t sv__fds_held(const struct cfg_service *def);
/* 0 when spawning def leaves the reserve free, else -1 with why in err. */
int sv__fd_room(struct sv_supervisor *sv, const struct cfg_service *def, char *err,
                size_t errlen);

/* record.c: STATE_DIR/run/procs, what a killed vigil leaves for the next to clean */
/* Kills every live process the record at path names (and the members of the
 * sessions its services led), logging each; returns how many. */
int sv__record_kill_leftovers(const char *path);
/* Cleans up after a previous vigil, then starts a fresh record. 0 or -errno. */
int sv__record_open(struct sv_supervisor *sv);
void sv__record_add(struct sv_supervisor *sv, pid_t pid, unsigned long long start,
                    const char *name);
/* clean: every process is gone, the record is removed. */
void sv__record_close(struct sv_supervisor *sv, bool clean);

/* spawn.c: everything the child needs, prepared before fork so the child allocates
 * nothing. */
struct sv__spawn_req {
  char *const *argv;
  char **envp;
  const char *cwd;
  bool set_ids;
  uid_t uid;
  gid_t gid;
  const char *user; /* for initgroups */
  const struct cfg_limits *limits;
  int stdout_fd, stderr_fd; /* an fd, -1: inherit vigil's, -2: /dev/null */
  bool new_session;
  pid_t parent;     /* set by sv__spawn: the child checks it is still vigil's */
};
/* Builds the environment for svc: vigil's (unless clear_env), then the service's env,
 * NOTIFY_SOCKET, WATCHDOG_USEC and extra (a "KEY=VALUE" from the role gate, or ""). */
char **sv__build_env(const struct sv_service *svc, const char *extra);
/* Forks and execs. Returns the pid (> 0) once the child has exec'd, or -errno with a
 * message in err when it could not (the child, if any, exits 127 and is reaped by the
 * caller's watch). */
pid_t sv__spawn(const struct sv__spawn_req *req, char *err, size_t errlen);
/* Resolves user/group names to ids; 0 or -1 with a message. */
int sv__resolve_ids(const struct cfg_service *def, struct sv__spawn_req *req, char *err,
                    size_t errlen);

/* run.c: starting and stopping one run of a service */
void sv__run_spawn(struct sv_service *svc);
void sv__run_signal(struct sv_service *svc, int sig);
void sv__run_cleanup(struct sv_service *svc);
void sv__ready_timeout_arm(struct sv_service *svc);

/* backoff.c (pure) */
/* The delay before restart number step (0-based): delay·2^step capped at max_delay,
 * then jittered by ±jitter·delay using *seed. */
int64_t sv__backoff_delay(const struct cfg_restart *r, unsigned step, uint64_t *seed);
/* Records a failure at now_ms; returns how many failures fall within the window. */
size_t sv__note_failure(struct sv_service *svc, uint64_t now_ms);

/* probe.c */
void sv__probe_start(struct sv_service *svc);
void sv__probe_stop(struct sv_service *svc);
void sv__probe_log_line(struct sv_service *svc, const char *line, size_t len);
void sv__probe_notify_ready(struct sv_service *svc);
/* Frees the compiled log regex (the definition changed or the service goes away). */
void sv__probe_forget_regex(struct sv_service *svc);

/* notify.c */
/* Whether def needs a notify socket (notify readiness or a watchdog). */
bool sv__needs_notify(const struct cfg_service *def);
int sv__notify_open(struct sv_service *svc, char *err, size_t errlen);
void sv__notify_drain(struct sv_service *svc);
void sv__notify_close(struct sv_service *svc);

/* the staleness of what services keep fresh (stale.c) */
void sv__stale_start(struct sv_supervisor *sv);

/* watchdog (run.c) */
void sv__watchdog_arm(struct sv_service *svc);
void sv__watchdog_ping(struct sv_service *svc);
void sv__watchdog_disarm(struct sv_service *svc);

/* logcap.c */
/* Creates a pipe for stream name; returns the child's write end or -1 with errno. */
int sv__stream_open(struct sv_service *svc, const char *name);
/* Closes every stream of svc (it is going away); unread output is dropped. */
void sv__streams_close(struct sv_service *svc);
void sv__logfile_open(struct sv_service *svc);
void sv__logfile_close(struct sv_service *svc);
/* Closes the log file of a service at rest (stopped or fatal) once nothing can write to
 * it (no process, no stream draining): it holds no descriptor. Reopened at the next spawn. */
void sv__logfile_idle(struct sv_service *svc);

/* handles (supervisor.c) */
void sv__handle_closed(uv_handle_t *h);

#endif
