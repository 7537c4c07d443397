/*
 * A program run once on behalf of the daemon (failover's exec hooks): spawned like a
 * service (own session, parent-death signal, on the loop thread), reaped through the
 * supervisor's SIGCHLD table, its process group SIGKILLed past its timeout.
 */
#include "supervise/sv_int.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

struct sv__command {
  struct sv_supervisor *sv;
  pid_t pid;
  bool timed_out;
  uv_timer_t timer;
  sv_command_fn done;
  void *arg;
};

static void command_free(uv_handle_t *h) { free(h->data); }

static void on_timeout(uv_timer_t *t) {
  struct sv__command *c = t->data;
  c->timed_out = true;
  kill(-c->pid, SIGKILL);
  kill(c->pid, SIGKILL);
}

static void on_exit_status(void *arg, pid_t pid, int status) {
  struct sv__command *c = arg;
  uv_timer_stop(&c->timer);
  kill(-pid, SIGKILL); /* nothing of it outlives it */
  c->done(c->arg, status, c->timed_out);
  uv_close((uv_handle_t *)&c->timer, command_free);
}

int sv_command(struct sv_supervisor *sv, char *const *argv, int64_t timeout_ms,
               sv_command_fn done, void *arg) {
  char err[256] = "";
  struct sv__spawn_req req = {.argv = argv, .envp = environ, .stdout_fd = -1, .stderr_fd = -1,
                              .new_session = true};
  VG_ASSERT(pthread_equal(pthread_self(), sv->loop_thread));
  pid_t pid = sv__spawn(&req, err, sizeof err);
  if (pid < 0) {
    VG_ERROR("cannot run command", VF_S("cmd", argv[0]), VF_S("error", err));
    return (int)pid;
  }
  if (err[0]) VG_ERROR("cannot run command", VF_S("cmd", argv[0]), VF_S("error", err));
  struct sv__command *c = vg_calloc(1, sizeof *c);
  c->sv = sv;
  c->pid = pid;
  c->done = done;
  c->arg = arg;
  uv_timer_init(sv->loop, &c->timer);
  c->timer.data = c;
  uv_timer_start(&c->timer, on_timeout, (uint64_t)(timeout_ms > 0 ? timeout_ms : 1), 0);
  sv__child_watch(sv, pid, on_exit_status, c);
  return 0;
}
