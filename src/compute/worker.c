/*
 * Starting a calculation: its argv with the placeholders filled, spawned with
 * posix_spawn (vfork-like: the cost does not grow with vigil's memory) in a session of
 * its own so that a timeout can kill its whole process group, stdout and stderr into the
 * attempt's log file, stdin from /dev/null, cwd the config's directory.
 */
#include "compute/cp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static void put_subst(struct vg_buf *b, const char *arg, const char *date, const char *out,
                      char *const *dep_names, char *const *in, const char *prev) {
  for (const char *p = arg; *p;) {
    if (*p == '{') {
      const char *e = strchr(p, '}');
      size_t len = e ? (size_t)(e - p - 1) : 0;
      const char *val = NULL;
      if (e && len == 4 && !memcmp(p + 1, "date", 4)) val = date;
      else if (e && len == 3 && !memcmp(p + 1, "out", 3)) val = out;
      else if (e && len == 4 && !memcmp(p + 1, "prev", 4)) val = prev ? prev : "";
      else if (e && len > 3 && !memcmp(p + 1, "in.", 3))
        for (size_t i = 0; dep_names && dep_names[i] && !val; i++)
          if (strlen(dep_names[i]) == len - 3 && !memcmp(dep_names[i], p + 4, len - 3))
            val = in[i] ? in[i] : "";
      if (val) {
        vg_buf_puts(b, val);
        p = e + 1;
        continue;
      }
    }
    vg_buf_putc(b, *p++);
  }
}

char **cp__argv(const struct cp_engine *e, size_t calc, const char *date, const char *out,
                char *const *in, const char *prev) {
  const struct cfg_calc *k = e->calcs[calc].cfg;
  size_t n = vg_strv_len(k->argv);
  char **argv = vg_calloc(n + 1, sizeof *argv);
  for (size_t i = 0; i < n; i++) {
    struct vg_buf b;
    vg_buf_init(&b);
    put_subst(&b, k->argv[i], date, out, k->deps, in, prev);
    argv[i] = b.data ? b.data : vg_strdup("");
  }
  return argv;
}

int cp__spawn(char *const *argv, const char *cwd, const char *log, struct cp__proc *p) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&at);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addchdir_np(&fa, cwd);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&at, &none);
  /* SIGCHLD is blocked, not ignored, in vigil; reset every disposition for the child */
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                    POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) return -rc;
  p->pid = pid;
  p->started_ns = (int64_t)vg_now_ns();
  return 0;
}
