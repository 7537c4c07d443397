/*
 * A service's whole process tree, without cgroups (vigil may not create one: here
 * /sys/fs/cgroup is cgroup v1 and not delegated). vigil is a child subreaper, so what a
 * service leaves behind comes back to it as a child; what remains is telling whose it is.
 *
 * Every 2 s a sweep reads /proc once: each running service's descendants (including
 * those that left its process group or session) are added to its tree — the record of
 * descendants, also appended to STATE_DIR/run/procs for the next vigil — and every
 * child of vigil that is not a process vigil started (an orphan) is attributed to a
 * service: by its tree, else by the VIGIL_SERVICE its environment inherited. An orphan
 * older than its service's current run (or whose service has no run) is a leftover of
 * an ended run: killed, and logged. When a run ends, what is left of its tree is killed
 * (run.c); what its process group still holds is killed and logged at its exit.
 */
#include "supervise/sv_int.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SWEEP_MS 2000

static bool in_tree(const struct sv_service *svc, pid_t pid, unsigned long long start) {
  for (size_t i = 0; i < svc->n_tree; i++)
    if (svc->tree[i].pid == pid && sv__same_start(svc->tree[i].start_time, start)) return true;
  return false;
}

void sv__tree_add(struct sv_service *svc, pid_t pid, unsigned long long start) {
  if (in_tree(svc, pid, start)) return;
  if (svc->n_tree == VG_ARRAY_LEN(svc->tree)) {
    /* full: forget an entry that is dead, if any */
    size_t k = 0;
    for (size_t i = 0; i < svc->n_tree; i++) {
      pid_t pp;
      unsigned long long st;
      if (sv__proc_stat(svc->tree[i].pid, &pp, &st) == 0 && sv__same_start(st, svc->tree[i].start_time))
        svc->tree[k++] = svc->tree[i];
    }
    svc->n_tree = k;
    if (k == VG_ARRAY_LEN(svc->tree)) return;
  }
  svc->tree[svc->n_tree++] = (struct sv__proc){pid, start};
  sv__record_add(svc->sv, pid, start, svc->name);
}

/* The service named by VIGIL_SERVICE in pid's environment, or NULL. */
static struct sv_service *owner_by_env(struct sv_supervisor *sv, pid_t pid) {
  char path[64], buf[32768];
  snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return NULL;
  buf[n] = '\0';
  for (char *p = buf; p < buf + n; p += strlen(p) + 1)
    if (strncmp(p, "VIGIL_SERVICE=", 14) == 0) return sv__find(sv, p + 14);
  return NULL;
}

static bool is_watched(const struct sv_supervisor *sv, pid_t pid) {
  for (size_t i = 0; i < sv->n_children; i++)
    if (sv->children[i].pid == pid) return true;
  return false;
}

void sv__tree_sweep(struct sv_supervisor *sv) {
  struct sv__proc_row *rows;
  size_t n = sv__list_procs(&rows);
  /* descendants of each running service (breadth first over the table) */
  pid_t *queue = vg_calloc(n + 1, sizeof *queue);
  for (size_t s = 0; s < sv->n_svcs; s++) {
    struct sv_service *svc = sv->svcs[s];
    if (svc->pid <= 0) continue;
    size_t head = 0, tail = 0;
    queue[tail++] = svc->pid;
    while (head < tail) {
      pid_t parent = queue[head++];
      for (size_t i = 0; i < n; i++) {
        if (rows[i].ppid != parent) continue;
        sv__tree_add(svc, rows[i].pid, rows[i].start);
        if (tail < n) queue[tail++] = rows[i].pid;
      }
    }
  }
  free(queue);
  /* orphans: children of vigil it did not spawn itself */
  pid_t self = getpid();
  for (size_t i = 0; i < n; i++) {
    const struct sv__proc_row *r = &rows[i];
    if (r->ppid != self || is_watched(sv, r->pid)) continue;
    struct sv_service *owner = NULL;
    for (size_t s = 0; s < sv->n_svcs && !owner; s++)
      if (in_tree(sv->svcs[s], r->pid, r->start)) owner = sv->svcs[s];
    if (!owner) owner = owner_by_env(sv, r->pid);
    if (!owner) continue;
    if (owner->pid > 0 && r->start + 2 >= owner->start_ticks) {
      sv__tree_add(owner, r->pid, r->start); /* part of the current run */
      continue;
    }
    char cmd[256];
    sv__proc_cmdline(r->pid, cmd, sizeof cmd);
    if (kill(r->pid, SIGKILL) == 0)
      VG_WARN("killed a process its service left behind when its run ended",
              VF_S("service", owner->name), VF_I("pid", r->pid), VF_S("cmd", cmd));
  }
  free(rows);
}

static void sweep_cb(uv_timer_t *t) { sv__tree_sweep(t->data); }

void sv__tree_start(struct sv_supervisor *sv) {
  sv->sweep_timer.data = sv;
  uv_timer_start(&sv->sweep_timer, sweep_cb, SWEEP_MS, SWEEP_MS);
}

int sv__group_kill(struct sv_service *svc, pid_t pgid) {
  /* nothing left in the group (the usual case): one system call */
  if (kill(-pgid, 0) < 0) return 0;
  struct sv__proc_row *rows;
  size_t n = sv__list_procs(&rows);
  int killed = 0;
  for (size_t i = 0; i < n; i++) {
    if (rows[i].pgid != pgid) continue;
    char cmd[256];
    sv__proc_cmdline(rows[i].pid, cmd, sizeof cmd);
    VG_WARN("killing a process left in the process group of an ended run",
            VF_S("service", svc->name), VF_I("pid", rows[i].pid), VF_S("cmd", cmd));
    killed++;
    /* gone with the group: not to be killed (and logged) again with the tree */
    for (size_t k = 0; k < svc->n_tree; k++)
      if (svc->tree[k].pid == rows[i].pid) svc->tree[k] = svc->tree[--svc->n_tree];
  }
  free(rows);
  kill(-pgid, SIGKILL);
  return killed;
}
