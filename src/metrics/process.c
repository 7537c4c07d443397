/*
 * The process_* metrics every Prometheus client library exposes, with the names and
 * HELP texts of client_golang and client_python, read from Linux's /proc at each
 * render:
 *   /proc/self/stat   utime + stime (CPU seconds), starttime, vsize, rss
 *   /proc/stat        btime, once: starttime counts clock ticks from boot
 *   /proc/self/fd     open descriptors (the directory's own included, as the
 *                     client libraries count it)
 *   getrlimit         RLIMIT_NOFILE soft limit
 * A file that cannot be read leaves its metrics at their last value.
 */
#include "metrics/metrics_int.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct proc_state {
  struct mt_series *cpu, *rss, *vsz, *fds, *max_fds, *start;
  double boot_time; /* unix seconds; < 0 when /proc/stat had none */
  double ticks;     /* clock ticks per second */
  double page_size;
};

/* Reads up to cap-1 bytes of a /proc file into buf; returns the length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n <= 0) break;
    len += (size_t)n;
    if (len == cap - 1) break;
  }
  close(fd);
  buf[len] = '\0';
  return (ssize_t)len;
}

static double read_boot_time(void) {
  char buf[16384];
  if (read_small("/proc/stat", buf, sizeof buf) < 0) return -1;
  const char *p = strstr(buf, "\nbtime ");
  return p ? strtod(p + 7, NULL) : -1;
}

/* Fields of /proc/self/stat after "pid (comm) ": 0 is field 3 (state) in proc(5). */
enum { F_UTIME = 11, F_STIME = 12, F_STARTTIME = 19, F_VSIZE = 20, F_RSS = 21, F_COUNT };

static void collect_stat(struct proc_state *st) {
  char buf[2048];
  if (read_small("/proc/self/stat", buf, sizeof buf) < 0) return;
  /* comm may hold spaces and parentheses; it ends at the last ')'. */
  char *p = strrchr(buf, ')');
  if (!p) return;
  p++;
  const char *field[F_COUNT];
  for (int i = 0; i < F_COUNT; i++) {
    while (*p == ' ') p++;
    if (!*p) return;
    field[i] = p;
    while (*p && *p != ' ') p++;
  }
  double utime = strtod(field[F_UTIME], NULL), stime = strtod(field[F_STIME], NULL);
  mt_set(st->cpu, (utime + stime) / st->ticks);
  mt_set(st->vsz, strtod(field[F_VSIZE], NULL));
  mt_set(st->rss, strtod(field[F_RSS], NULL) * st->page_size);
  if (st->boot_time >= 0)
    mt_set(st->start, st->boot_time + strtod(field[F_STARTTIME], NULL) / st->ticks);
}

static void collect_fds(struct proc_state *st) {
  DIR *d = opendir("/proc/self/fd");
  if (d) {
    double n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
      if (e->d_name[0] != '.') n++;
    closedir(d);
    mt_set(st->fds, n);
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) mt_set(st->max_fds, (double)rl.rlim_cur);
}

static void collect(struct mt_registry *r, void *arg) {
  struct proc_state *st = arg;
  collect_stat(st);
  collect_fds(st);
}

void mt_register_process(struct mt_registry *r) {
  struct proc_state *st = vg_calloc(1, sizeof *st);
  st->cpu = mt_get(mt_counter(r, "process_cpu_seconds_total",
                              "Total user and system CPU time spent in seconds.", NULL),
                   NULL);
  st->rss = mt_get(mt_gauge(r, "process_resident_memory_bytes", "Resident memory size in bytes.",
                            NULL),
                   NULL);
  st->vsz = mt_get(mt_gauge(r, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                            NULL),
                   NULL);
  st->fds = mt_get(mt_gauge(r, "process_open_fds", "Number of open file descriptors.", NULL),
                   NULL);
  st->max_fds = mt_get(
      mt_gauge(r, "process_max_fds", "Maximum number of open file descriptors.", NULL), NULL);
  st->start = mt_get(mt_gauge(r, "process_start_time_seconds",
                              "Start time of the process since unix epoch in seconds.", NULL),
                     NULL);
  long tck = sysconf(_SC_CLK_TCK);
  long page = sysconf(_SC_PAGESIZE);
  st->ticks = tck > 0 ? (double)tck : 100;
  st->page_size = page > 0 ? (double)page : 4096;
  st->boot_time = read_boot_time();
  mt__add_collector(r, collect, st, free);
}
