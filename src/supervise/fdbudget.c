/*
 * File descriptors as a budget. Each service holds some for its whole life (its output
 * pipes, its log file, its notify socket) and a few more while it is being spawned;
 * vigil itself needs some (listeners, the store, feeds) and keeps a reserve so that
 * the control socket can always accept `vigil status` or `vigil down`. `vigil check`
 * compares the budget with the limit; at run time a spawn that would eat into the
 * reserve is refused with a precise reason instead of failing half-way (a pipe that
 * cannot be created) or leaving the control socket unable to accept.
 */
#include "supervise/sv_int.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/resource.h>

/* vigil's own descriptors besides the services': listeners, the lock, the store's
 * files, feeds' sockets, the loop. A generous estimate. */
#define SV_FD_BASE 64
/* kept free for the control socket and HTTP connections */
#define SV_FD_RESERVE 32
/* extra while one spawn is under way: the children's ends of the two output pipes and
 * the exec report pipe */
#define SV_FD_SPAWN 4

size_t sv__fds_held(const struct cfg_service *def) {
  size_t n = 0;
  if (def->log.capture) n += 2 + (def->log.file ? 1 : 0);
  if (sv__needs_notify(def)) n += 1;
  return n;
}

size_t sv_fd_budget(const struct vg_config *cfg) {
  size_t n = SV_FD_BASE + SV_FD_RESERVE + SV_FD_SPAWN;
  for (size_t i = 0; i < cfg->n_services; i++) n += sv__fds_held(&cfg->services[i]);
  return n;
}

/* How many descriptors this process has open. */
static size_t fd_count(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return 0;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)))
    if (de->d_name[0] != '.') n++;
  closedir(d);
  return n > 0 ? n - 1 : 0; /* the directory's own fd */
}

int sv__fd_room(struct sv_supervisor *sv, const struct cfg_service *def, char *err,
                size_t errlen) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY) return 0;
  size_t limit = (size_t)rl.rlim_cur;
  /* Counting costs a directory read: only when the services' budget comes near the
   * limit (never with the usual limits, so a restart costs nothing more). */
  if (sv_fd_budget(sv->cfg) + SV_FD_BASE < limit) return 0;
  size_t open = fd_count(), need = sv__fds_held(def) + SV_FD_SPAWN;
  if (open + need + SV_FD_RESERVE <= limit) return 0;
  snprintf(err, errlen,
           "not enough file descriptors: %zu of %zu in use, a run needs %zu and %d stay "
           "reserved for the control socket (raise the limit: ulimit -n, LimitNOFILE=)",
           open, limit, need, SV_FD_RESERVE);
  return -1;
}
