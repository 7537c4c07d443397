/*
 * Child reaping. SIGCHLD reaches the loop through a uv_signal_t (libuv's self-pipe),
 * and every exited child is collected with waitpid(-1, WNOHANG) at once; each pid
 * vigil waits on has a callback. vigil is a child subreaper, so orphaned grandchildren
 * of services come back to it: they are reaped too, and killed at shutdown.
 */
#include "supervise/sv_int.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_sigchld(uv_signal_t *h, int signum) {
  struct sv_supervisor *sv = h->data;
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    for (size_t i = 0; i < sv->n_children; i++) {
      if (sv->children[i].pid != pid) continue;
      struct sv__child_entry e = sv->children[i];
      sv->children[i] = sv->children[--sv->n_children];
      e.fn(e.arg, pid, status);
      break;
    }
  }
}

int sv__reap_init(struct sv_supervisor *sv) {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
    VG_WARN("cannot become a child subreaper; orphans of services escape",
            VF_S("error", strerror(errno)));
  uv_signal_init(sv->loop, &sv->sigchld);
  sv->sigchld.data = sv;
  return uv_signal_start(&sv->sigchld, on_sigchld, SIGCHLD);
}

void sv__reap_close(struct sv_supervisor *sv) {
  uv_signal_stop(&sv->sigchld);
  uv_close((uv_handle_t *)&sv->sigchld, NULL);
  free(sv->children);
  sv->children = NULL;
  sv->n_children = sv->cap_children = 0;
}

void sv__child_watch(struct sv_supervisor *sv, pid_t pid, sv__exit_fn fn, void *arg) {
  if (sv->n_children == sv->cap_children) {
    sv->cap_children = sv->cap_children ? sv->cap_children * 2 : 16;
    sv->children = vg_realloc(sv->children, sv->cap_children * sizeof *sv->children);
  }
  sv->children[sv->n_children++] = (struct sv__child_entry){pid, fn, arg};
}

void sv__child_forget(struct sv_supervisor *sv, pid_t pid) {
  for (size_t i = 0; i < sv->n_children; i++) {
    if (sv->children[i].pid == pid) {
      sv->children[i] = sv->children[--sv->n_children];
      return;
    }
  }
}

/* Children of this process, from /proc/<pid>/stat's ppid field. */
static size_t list_children(pid_t self, pid_t *out, size_t max) {
  DIR *d = opendir("/proc");
  if (!d) return 0;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)) && n < max) {
    char *end;
    long pid = strtol(de->d_name, &end, 10);
    if (*end || pid <= 0) continue;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f) continue;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    /* the command name may hold spaces and parentheses: the ppid follows the last ')' */
    char *rp = strrchr(buf, ')');
    int ppid;
    char st;
    if (rp && sscanf(rp + 1, " %c %d", &st, &ppid) == 2 && ppid == self) out[n++] = (pid_t)pid;
  }
  closedir(d);
  return n;
}

int sv__kill_orphans(struct sv_supervisor *sv) {
  pid_t self = getpid(), kids[256];
  int total = 0;
  /* Killing one orphan may hand its own children to us: repeat until none is left. */
  for (int round = 0; round < 50; round++) {
    size_t n = list_children(self, kids, VG_ARRAY_LEN(kids));
    if (n == 0) break;
    for (size_t i = 0; i < n; i++) {
      VG_WARN("killing leftover process", VF_I("pid", kids[i]));
      kill(kids[i], SIGKILL);
      total++;
    }
    for (size_t i = 0; i < n; i++) {
      for (int tries = 0; tries < 200; tries++) {
        int status;
        pid_t r = waitpid(kids[i], &status, WNOHANG);
        if (r == kids[i] || (r < 0 && errno == ECHILD)) break;
        usleep(5000);
      }
      sv__child_forget(sv, kids[i]);
    }
  }
  return total;
}
