/*
 * fork + exec of a child with its own session (so the whole process group can be
 * signalled), its stdio, rlimits, working directory and identity.
 *
 * Everything the child needs is prepared before fork: between fork and exec the child
 * only makes async-signal-safe calls, so it is safe even when other threads hold locks.
 * A close-on-exec pipe reports an exec failure (stage + errno) back to the parent,
 * which therefore returns only once the child has exec'd or failed to.
 */
#include "supervise/sv_int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

enum spawn_stage {
  ST_STDIO, ST_SESSION, ST_LIMITS, ST_CWD, ST_GROUPS, ST_GID, ST_UID, ST_PDEATH, ST_EXEC
};
static const char *const stage_names[] = {
    "redirect stdio", "create session", "set limits", "chdir", "set groups",
    "setgid", "setuid", "set the parent-death signal", "exec"};

struct spawn_report {
  int stage;
  int err;
};

static _Noreturn void child_fail(int fd, int stage) {
  struct spawn_report r = {stage, errno};
  ssize_t n = write(fd, &r, sizeof r);
  (void)n;
  _exit(127);
}

static void apply_limit(int fd, int resource, const struct cfg_limit *l) {
  if (!l->set) return;
  struct rlimit rl = {l->value, l->value};
  if (setrlimit(resource, &rl) < 0) child_fail(fd, ST_LIMITS);
}

static _Noreturn void child(const struct sv__spawn_req *req, int errfd,
                            const gid_t *groups, int ngroups) {
  /* Default dispositions and an empty mask: the exec'd program must not inherit
   * vigil's ignored signals (SIGPIPE) or the all-blocked mask set around fork. */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);

  if (req->new_session && setsid() < 0) child_fail(errfd, ST_SESSION);

  int devnull = open("/dev/null", O_RDWR);
  if (devnull < 0) child_fail(errfd, ST_STDIO);
  if (dup2(devnull, 0) < 0) child_fail(errfd, ST_STDIO);
  if (dup2(req->stdout_fd >= 0 ? req->stdout_fd : (req->stdout_fd == -2 ? devnull : 1), 1) < 0)
    child_fail(errfd, ST_STDIO);
  if (dup2(req->stderr_fd >= 0 ? req->stderr_fd : (req->stderr_fd == -2 ? devnull : 2), 2) < 0)
    child_fail(errfd, ST_STDIO);
  if (devnull > 2) close(devnull);
  /* Nothing of vigil's (sockets, the lock, other children's pipes) leaks into the
   * child, even an fd some library opened without O_CLOEXEC. */
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

  if (req->limits) {
    apply_limit(errfd, RLIMIT_NOFILE, &req->limits->nofile);
    apply_limit(errfd, RLIMIT_CORE, &req->limits->core);
    apply_limit(errfd, RLIMIT_AS, &req->limits->as);
  }
  if (req->cwd && chdir(req->cwd) < 0) child_fail(errfd, ST_CWD);
  if (req->set_ids) {
    if (setgroups((size_t)ngroups, groups) < 0) child_fail(errfd, ST_GROUPS);
    if (setgid(req->gid) < 0) child_fail(errfd, ST_GID);
    if (setuid(req->uid) < 0) child_fail(errfd, ST_UID);
  }
  /* The service dies with vigil (even by kill -9): no copy outlives it to run beside
   * the next vigil's. Set last, since a change of credentials clears it; it is tied to
   * the thread that spawned (the loop thread, which lives as long as vigil). If vigil
   * died before this took effect, the child is an orphan already: give up. A program
   * that drops it (setuid binaries do) is covered by the record of pids (record.c). */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) child_fail(errfd, ST_PDEATH);
  if (getppid() != req->parent) _exit(127);
  execvpe(req->argv[0], req->argv, req->envp ? req->envp : environ);
  child_fail(errfd, ST_EXEC);
}

pid_t sv__spawn(const struct sv__spawn_req *req, char *err, size_t errlen) {
  err[0] = '\0';
  gid_t groups[64];
  int ngroups = 0;
  if (req->set_ids) {
    ngroups = (int)VG_ARRAY_LEN(groups);
    if (getgrouplist(req->user ? req->user : "root", req->gid, groups, &ngroups) < 0)
      ngroups = 1, groups[0] = req->gid; /* more than 64 groups: keep the primary one */
  }
  struct sv__spawn_req r0 = *req;
  r0.parent = getpid();
  req = &r0;
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0) {
    snprintf(err, errlen, "pipe: %s", strerror(errno));
    return -errno;
  }
  /* Block every signal across fork so no handler of vigil's runs in the child
   * before it has reset them. */
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  /* vfork: the child borrows vigil's memory until it execs, so spawning costs the same
   * however large vigil's address space is (fork copies the page tables). Safe here:
   * the child only makes system calls and ends in exec or _exit, and vigil is
   * suspended meanwhile, as glibc's posix_spawn does. */
  pid_t pid = vfork();
  if (pid == 0) child(req, pfd[1], groups, ngroups);
  int fork_errno = errno;
  sigprocmask(SIG_SETMASK, &old, NULL);
  close(pfd[1]);
  if (pid < 0) {
    close(pfd[0]);
    snprintf(err, errlen, "fork: %s", strerror(fork_errno));
    return -fork_errno;
  }
  struct spawn_report r;
  ssize_t n;
  do n = read(pfd[0], &r, sizeof r);
  while (n < 0 && errno == EINTR);
  close(pfd[0]);
  if (n == (ssize_t)sizeof r) {
    const char *stage = (unsigned)r.stage < VG_ARRAY_LEN(stage_names) ? stage_names[r.stage] : "?";
    if (r.stage == ST_EXEC)
      snprintf(err, errlen, "cannot execute %s: %s", req->argv[0], strerror(r.err));
    else if (r.stage == ST_CWD)
      snprintf(err, errlen, "cannot chdir to '%s': %s", req->cwd, strerror(r.err));
    else
      snprintf(err, errlen, "cannot %s: %s", stage, strerror(r.err));
  }
  return pid;
}

int sv__resolve_ids(const struct cfg_service *def, struct sv__spawn_req *req, char *err,
                    size_t errlen) {
  req->set_ids = false;
  req->user = NULL;
  if (!def->user && !def->group) return 0;
  if (geteuid() != 0) return 0; /* documented: identities only apply when vigil is root */
  uid_t uid = 0;
  gid_t gid = 0;
  if (def->user) {
    struct passwd *pw = getpwnam(def->user);
    if (!pw) {
      snprintf(err, errlen, "unknown user '%s'", def->user);
      return -1;
    }
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  if (def->group) {
    struct group *gr = getgrnam(def->group);
    if (!gr) {
      snprintf(err, errlen, "unknown group '%s'", def->group);
      return -1;
    }
    gid = gr->gr_gid;
  }
  req->set_ids = true;
  req->uid = uid;
  req->gid = gid;
  req->user = def->user;
  return 0;
}

static bool env_is(const char *entry, const char *name) {
  size_t n = strlen(name);
  return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

static bool env_name_in(const char *entry, char *const *list) {
  for (size_t i = 0; list && list[i]; i++) {
    const char *eq = strchr(list[i], '=');
    size_t n = eq ? (size_t)(eq - list[i]) : strlen(list[i]);
    if (strncmp(entry, list[i], n) == 0 && entry[n] == '=') return true;
  }
  return false;
}

char **sv__build_env(const struct sv_service *svc, const char *extra) {
  const struct cfg_service *def = svc->def;
  /* Variables systemd gives vigil itself; a child must never see vigil's own. */
  static const char *const vigil_only[] = {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
                                           "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"};
  size_t n_env = vg_strv_len(environ), n_def = vg_strv_len(def->env);
  char **out = vg_calloc(n_env + n_def + 6, sizeof *out);
  size_t k = 0;
  for (size_t i = 0; i < n_env; i++) {
    const char *e = environ[i];
    bool skip = false;
    for (size_t j = 0; j < VG_ARRAY_LEN(vigil_only) && !skip; j++) skip = env_is(e, vigil_only[j]);
    if (def->clear_env && !env_is(e, "PATH")) skip = true;
    if (env_name_in(e, def->env) || env_is(e, "VIGIL_SERVICE") || env_is(e, "VIGIL_FENCING_TOKEN"))
      skip = true;
    if (!skip) out[k++] = vg_strdup(e);
  }
  for (size_t i = 0; i < n_def; i++) out[k++] = vg_strdup(def->env[i]);
  out[k++] = vg_asprintf("VIGIL_SERVICE=%s", svc->name);
  if (svc->notify_path && sv__needs_notify(def)) out[k++] = vg_asprintf("NOTIFY_SOCKET=%s", svc->notify_path);
  if (def->watchdog_ms > 0)
    out[k++] = vg_asprintf("WATCHDOG_USEC=%lld", (long long)def->watchdog_ms * 1000);
  if (extra && extra[0]) out[k++] = vg_strdup(extra);
  out[k] = NULL;
  return out;
}
