/*
 * The fencer: a small process forked by vigil at start-up that outlives nothing. vigil
 * tells it, over a pipe, the process groups of its running active services and the hard
 * deadline of its lease (sent + ttl − margin/2, CLOCK_BOOTTIME). When the deadline
 * passes without a newer one — vigil is stopped (SIGSTOP, a hung machine's scheduler,
 * a debugger) or cannot reach the store — it SIGKILLs every registered group; when the
 * pipe reaches EOF (vigil died, even by kill -9) it does the same and exits. So an active
 * service cannot outlive its lease even when vigil cannot act: what a watchdog device
 * does for Patroni, one process does here.
 *
 * The child runs only async-signal-safe system calls between fork and _exit (vigil has
 * threads): poll, read, kill, clock_gettime, sigaction, setsid, close_range.
 */
#include "failover/fo_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_GROUPS 256

/* Poll at least this often: a timeout does not count time the machine was suspended,
 * the deadline's clock does. */
#define MAX_WAIT_MS 50

static uint64_t mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t fo__now_ns(void) { return mono(); }

static void kill_all(const pid_t *groups, int n) {
  for (int i = 0; i < n; i++) {
    kill(-groups[i], SIGKILL);
    kill(groups[i], SIGKILL);
  }
}

static _Noreturn void fencer_main(int fd) {
  pid_t groups[MAX_GROUPS];
  int n = 0;
  uint64_t deadline = 0;
  bool fired = false;
  for (;;) {
    int wait_ms = -1;
    if (deadline && !fired && n > 0) {
      uint64_t now = mono();
      wait_ms = now >= deadline ? 0 : (int)((deadline - now) / 1000000u) + 1;
      if (wait_ms > MAX_WAIT_MS) wait_ms = MAX_WAIT_MS;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, wait_ms);
    if (r < 0 && errno != EINTR) _exit(1);
    if (r > 0) {
      struct fo__fence_msg m;
      ssize_t got = read(fd, &m, sizeof m);
      if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
        kill_all(groups, n); /* vigil is gone: so are its active services */
        _exit(0);
      }
      if (got != (ssize_t)sizeof m) continue;
      if (m.op == FO__FENCE_DEADLINE) {
        deadline = m.deadline_ns;
        fired = false;
      } else if (m.op == FO__FENCE_ADD && n < MAX_GROUPS && m.pid > 1) {
        groups[n++] = m.pid;
        /* a group added past the deadline is a service vigil started on a lease it had
         * lost: fire again */
        fired = false;
      } else if (m.op == FO__FENCE_DEL) {
        for (int i = 0; i < n; i++)
          if (groups[i] == m.pid) groups[i--] = groups[--n];
      } else if (m.op == FO__FENCE_CLEAR) {
        n = 0;
      }
      continue; /* read everything pending before judging the deadline */
    }
    if (deadline && n > 0 && mono() >= deadline) {
      kill_all(groups, n);
      fired = true;
    }
  }
}

int fo__fencer_start(pid_t *pid) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -errno;
  pid_t c = fork();
  if (c < 0) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    return -e;
  }
  if (c == 0) {
    /* its own session: a signal to vigil's process group (a terminal's ^Z or ^C) must
     * not stop or kill the fencer with it */
    setsid();
    struct sigaction ign = {.sa_handler = SIG_IGN}, dfl = {.sa_handler = SIG_DFL};
    for (int s = 1; s < NSIG; s++) {
      if (s == SIGKILL || s == SIGSTOP) continue;
      sigaction(s, s == SIGINT || s == SIGTERM || s == SIGHUP || s == SIGPIPE ? &ign : &dfl,
                NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (p[0] != 3) {
      dup2(p[0], 3);
    } else {
      int fl = fcntl(3, F_GETFD);
      fcntl(3, F_SETFD, fl & ~FD_CLOEXEC);
    }
    syscall(SYS_close_range, 4u, ~0u, 0u);
    prctl(PR_SET_NAME, "vigil-fencer", 0, 0, 0);
    fencer_main(3);
  }
  close(p[0]);
  /* never block the loop or the lease thread on a fencer that does not read */
  fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK);
  *pid = c;
  return p[1];
}

void fo__fence_send(int fd, int op, pid_t pid, uint64_t deadline_ns) {
  if (fd < 0) return;
  struct fo__fence_msg m = {.op = op, .pid = pid, .deadline_ns = deadline_ns};
  ssize_t n;
  do n = write(fd, &m, sizeof m);
  while (n < 0 && errno == EINTR);
}
