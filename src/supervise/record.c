/*
 * The record of the processes vigil started, STATE_DIR/run/procs, so that the next
 * vigil of the same state_dir can find what a vigil killed with -9 left behind.
 *
 * Services normally die with vigil (PR_SET_PDEATHSIG, spawn.c), but a program may drop
 * that signal (setuid binaries reset it) and a service's own children never had it.
 * So every spawned service and every descendant vigil learns of is appended here as
 * one text line; at start-up, before anything is spawned, each recorded process that
 * is still alive with the same start time is killed, with every member of the
 * sessions the recorded services led (their children that did not leave the session).
 *
 * Format (text, append-only; a torn last line is ignored):
 *   vigil-procs 1
 *   PID START_TICKS NAME        one line per process (START_TICKS from /proc/PID/stat)
 * A start time tells a live process from a later one that reuses its pid. The file is
 * rewritten (temp file + rename) with only the live processes when it has grown, and
 * removed after a clean shutdown.
 */
#include "supervise/sv_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECORD_HEADER "vigil-procs 1\n"

struct rec_entry {
  pid_t pid;
  unsigned long long start;
  char name[128];
};

/* Parses the record at path; returns the entries (caller frees) and their count. */
static size_t record_read(const char *path, struct rec_entry **out) {
  *out = NULL;
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  char line[256];
  size_t n = 0, cap = 0;
  if (!fgets(line, sizeof line, f) || strcmp(line, RECORD_HEADER) != 0) {
    fclose(f);
    return 0;
  }
  while (fgets(line, sizeof line, f)) {
    size_t len = strlen(line);
    if (len == 0 || line[len - 1] != '\n') break; /* torn tail */
    struct rec_entry e;
    int pid;
    if (sscanf(line, "%d %llu %127s", &pid, &e.start, e.name) != 3 || pid <= 1) continue;
    e.pid = pid;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      *out = vg_realloc(*out, cap * sizeof **out);
    }
    (*out)[n++] = e;
  }
  fclose(f);
  return n;
}

void sv__proc_cmdline(pid_t pid, char *buf, size_t len) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;
  if (fd >= 0) close(fd);
  if (n <= 0) {
    snprintf(buf, len, "?");
    return;
  }
  for (ssize_t i = 0; i < n - 1; i++)
    if (buf[i] == '\0') buf[i] = ' ';
  buf[n] = '\0';
}

static void kill_leftover(pid_t pid, const char *name, const char *why) {
  char cmd[256];
  sv__proc_cmdline(pid, cmd, sizeof cmd);
  if (kill(pid, SIGKILL) == 0)
    VG_WARN("killed a process left behind by a previous vigil of this state_dir",
            VF_S("service", name), VF_I("pid", pid), VF_S("cmd", cmd), VF_S("found", why));
}

int sv__record_kill_leftovers(const char *path) {
  struct rec_entry *e;
  size_t n = record_read(path, &e);
  if (n == 0) {
    free(e);
    return 0;
  }
  struct sv__proc_row *rows;
  size_t nr = sv__list_procs(&rows);
  pid_t self = getpid();
  int killed = 0;
  pid_t *victims = vg_calloc(nr + 1, sizeof *victims);
  for (size_t i = 0; i < nr; i++) {
    const struct sv__proc_row *r = &rows[i];
    if (r->pid == self) continue;
    /* the processes vigil now spawns are not leftovers (none yet: this runs first) */
    for (size_t k = 0; k < n; k++) {
      /* the recorded process itself, or a member of the session it led that started
       * after it (a later session with a reused id would have started later than its
       * own leader, which is then not the recorded one: the leader check below) */
      bool same = r->pid == e[k].pid && sv__same_start(r->start, e[k].start);
      bool member = r->sid == e[k].pid && r->pid != e[k].pid && r->start + 2 >= e[k].start;
      if (member) {
        /* the session's leader, if alive, must be the recorded one */
        for (size_t j = 0; j < nr; j++)
          if (rows[j].pid == e[k].pid && !sv__same_start(rows[j].start, e[k].start)) member = false;
      }
      if (!same && !member) continue;
      kill_leftover(r->pid, e[k].name, same ? "recorded" : "in the session of a recorded service");
      victims[killed++] = r->pid;
      break;
    }
  }
  /* they are not our children: wait until they are gone (or zombies) before spawning
   * the new copies, so two never run side by side */
  for (int tries = 0; tries < 200; tries++) {
    bool alive = false;
    for (int i = 0; i < killed && !alive; i++) {
      pid_t ppid;
      unsigned long long st;
      alive = sv__proc_stat(victims[i], &ppid, &st) == 0;
    }
    if (!alive) break;
    usleep(5000);
  }
  free(victims);
  free(rows);
  free(e);
  return killed;
}

static void write_header(int fd) {
  ssize_t w = write(fd, RECORD_HEADER, sizeof RECORD_HEADER - 1);
  (void)w;
}

int sv__record_open(struct sv_supervisor *sv) {
  sv->record_path = vg_asprintf("%s/procs", sv->run_dir);
  int n = sv__record_kill_leftovers(sv->record_path);
  if (n) VG_WARN("killed processes left behind by a previous vigil", VF_I("count", n));
  sv->record_fd = open(sv->record_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (sv->record_fd < 0) return -errno;
  write_header(sv->record_fd);
  sv->record_lines = 0;
  return 0;
}

static void append(int fd, pid_t pid, unsigned long long start, const char *name) {
  char line[256];
  int len = snprintf(line, sizeof line, "%d %llu %.127s\n", (int)pid, start, name);
  ssize_t w = write(fd, line, (size_t)len);
  (void)w;
}

/* Rewrites the record with only what runs now: the services' processes and the
 * descendants last seen of each. */
static void compact(struct sv_supervisor *sv) {
  char *tmp = vg_asprintf("%s.tmp", sv->record_path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    free(tmp);
    return;
  }
  write_header(fd);
  size_t lines = 0;
  for (size_t i = 0; i < sv->n_svcs; i++) {
    const struct sv_service *svc = sv->svcs[i];
    if (svc->pid > 0) append(fd, svc->pid, svc->start_ticks, svc->name), lines++;
    for (size_t k = 0; k < svc->n_tree; k++)
      append(fd, svc->tree[k].pid, svc->tree[k].start_time, svc->name), lines++;
  }
  if (rename(tmp, sv->record_path) == 0) {
    close(sv->record_fd);
    sv->record_fd = fd;
    sv->record_lines = lines;
  } else {
    close(fd);
    unlink(tmp);
  }
  free(tmp);
}

void sv__record_add(struct sv_supervisor *sv, pid_t pid, unsigned long long start,
                    const char *name) {
  if (sv->record_fd < 0) return;
  append(sv->record_fd, pid, start, name);
  if (++sv->record_lines > 256 + 8 * sv->n_svcs) compact(sv);
}

void sv__record_close(struct sv_supervisor *sv, bool clean) {
  if (sv->record_fd >= 0) close(sv->record_fd);
  sv->record_fd = -1;
  /* after a clean shutdown nothing of ours runs: nothing for the next vigil to find */
  if (clean && sv->record_path) unlink(sv->record_path);
  vg_freep(&sv->record_path);
}
