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
#include <time.h>
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

/* Reads ppid, session and start time of pid from /proc/<pid>/stat. 0 or -1. */
static int proc_stat4(pid_t pid, pid_t *ppid, pid_t *pgid, pid_t *sid,
                      unsigned long long *start) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f) return -1;
  size_t len = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[len] = '\0';
  /* the command name may hold spaces and parentheses: fields resume after the last ')' */
  char *rp = strrchr(buf, ')');
  int pp, pg, ss;
  char st;
  unsigned long long t;
  if (!rp || sscanf(rp + 1, " %c %d %d %d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                    &st, &pp, &pg, &ss, &t) != 5)
    return -1;
  if (st == 'Z') return -1; /* already dead: only a wait is left to do */
  *ppid = pp;
  *pgid = pg;
  *sid = ss;
  *start = t;
  return 0;
}

unsigned long long sv__boot_ticks(void) {
  static long hz;
  if (!hz) hz = sysconf(_SC_CLK_TCK);
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return (unsigned long long)ts.tv_sec * (unsigned long long)hz +
         (unsigned long long)ts.tv_nsec / (1000000000ull / (unsigned long long)hz);
}

bool sv__same_start(unsigned long long a, unsigned long long b) {
  return a >= b ? a - b <= 2 : b - a <= 2;
}

int sv__proc_stat(pid_t pid, pid_t *ppid, unsigned long long *start) {
  pid_t sid, pgid;
  return proc_stat4(pid, ppid, &pgid, &sid, start);
}

size_t sv__list_procs(struct sv__proc_row **rows) {
  DIR *d = opendir("/proc");
  size_t n = 0, cap = 0;
  *rows = NULL;
  if (!d) return 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    char *end;
    long pid = strtol(de->d_name, &end, 10);
    if (*end || pid <= 0) continue;
    struct sv__proc_row r = {.pid = (pid_t)pid};
    if (proc_stat4(r.pid, &r.ppid, &r.pgid, &r.sid, &r.start) < 0) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 256;
      *rows = vg_realloc(*rows, cap * sizeof **rows);
    }
    (*rows)[n++] = r;
  }
  closedir(d);
  return n;
}

static size_t list_children(pid_t self, pid_t *out, size_t max) {
  struct sv__proc_row *rows;
  size_t n = sv__list_procs(&rows), k = 0;
  for (size_t i = 0; i < n && k < max; i++)
    if (rows[i].ppid == self) out[k++] = rows[i].pid;
  free(rows);
  return k;
}

size_t sv__descendants(pid_t root, struct sv__proc *out, size_t max) {
  struct sv__proc_row *rows;
  size_t n = sv__list_procs(&rows), k = 0;
  /* breadth first: out[] doubles as the queue of parents still to expand */
  pid_t parents[256];
  size_t np = 0, head = 0;
  parents[np++] = root;
  while (head < np && k < max) {
    pid_t parent = parents[head++];
    for (size_t i = 0; i < n && k < max; i++) {
      if (rows[i].ppid != parent) continue;
      out[k++] = (struct sv__proc){rows[i].pid, rows[i].start};
      if (np < VG_ARRAY_LEN(parents)) parents[np++] = rows[i].pid;
    }
  }
  free(rows);
  return k;
}

int sv__kill_procs(const struct sv__proc *procs, size_t n) {
  int killed = 0;
  for (size_t i = 0; i < n; i++) {
    pid_t ppid;
    unsigned long long start;
    if (sv__proc_stat(procs[i].pid, &ppid, &start) == 0 && sv__same_start(start, procs[i].start_time) &&
        kill(procs[i].pid, SIGKILL) == 0)
      killed++;
  }
  return killed;
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
