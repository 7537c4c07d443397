/* The failover fencer (src/failover/fencer.c) against real processes: it SIGKILLs the
 * registered process groups when the deadline passes without a newer one or when its
 * pipe closes (vigil gone), and spares groups removed or deadlines extended. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "failover/fo_int.h"

/* A child in a session of its own (so its pid is its process group), sleeping. */
static pid_t sleeper(void) {
  pid_t p = fork();
  assert_true(p >= 0);
  if (p == 0) {
    setsid();
    /* not the fencer's pipe (a service execs, and the pipe is close-on-exec) */
    syscall(SYS_close_range, 3u, ~0u, 0u);
    for (;;) pause();
  }
  return p;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

/* The wait status of pid once it exits within ms, or -1 when it is still running. */
static int exited_within(pid_t pid, int ms) {
  for (int i = 0; i < ms; i++) {
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) return st;
    sleep_ms(1);
  }
  return -1;
}

static void killed_at_the_deadline(void **state) {
  pid_t fencer;
  int fd = fo__fencer_start(&fencer);
  assert_true(fd >= 0);
  pid_t a = sleeper(), b = sleeper();
  fo__fence_send(fd, FO__FENCE_ADD, a, 0);
  fo__fence_send(fd, FO__FENCE_ADD, b, 0);
  fo__fence_send(fd, FO__FENCE_DEL, b, 0); /* b is no longer an active service */
  fo__fence_send(fd, FO__FENCE_DEADLINE, 0, fo__now_ns() + 300 * (uint64_t)VG_NS_PER_MS);
  /* extended before it passes: still running afterwards */
  sleep_ms(150);
  fo__fence_send(fd, FO__FENCE_DEADLINE, 0, fo__now_ns() + 400 * (uint64_t)VG_NS_PER_MS);
  assert_int_equal(exited_within(a, 250), -1);
  /* then not renewed: killed */
  int st = exited_within(a, 10000);
  assert_true(st != -1);
  assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  assert_int_equal(exited_within(b, 100), -1);
  kill(b, SIGKILL);
  assert_true(exited_within(b, 10000) != -1);
  close(fd);
  st = exited_within(fencer, 10000);
  assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void killed_when_vigil_goes(void **state) {
  pid_t fencer;
  int fd = fo__fencer_start(&fencer);
  assert_true(fd >= 0);
  pid_t a = sleeper();
  fo__fence_send(fd, FO__FENCE_ADD, a, 0);
  fo__fence_send(fd, FO__FENCE_DEADLINE, 0, fo__now_ns() + 60 * (uint64_t)VG_NS_PER_SEC);
  assert_int_equal(exited_within(a, 100), -1);
  close(fd); /* what the kernel does when vigil dies, even by kill -9 */
  int st = exited_within(a, 10000);
  assert_true(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  assert_true(exited_within(fencer, 10000) != -1);
}

static void a_group_added_late_is_killed(void **state) {
  pid_t fencer;
  int fd = fo__fencer_start(&fencer);
  assert_true(fd >= 0);
  fo__fence_send(fd, FO__FENCE_DEADLINE, 0, fo__now_ns() + 50 * (uint64_t)VG_NS_PER_MS);
  sleep_ms(120);
  /* a service started past the deadline (a lease already lost): killed at once */
  pid_t a = sleeper();
  fo__fence_send(fd, FO__FENCE_ADD, a, 0);
  int st = exited_within(a, 10000);
  assert_true(st != -1 && WIFSIGNALED(st));
  /* CLEAR forgets every group */
  fo__fence_send(fd, FO__FENCE_DEADLINE, 0, fo__now_ns() + 200 * (uint64_t)VG_NS_PER_MS);
  pid_t b = sleeper();
  fo__fence_send(fd, FO__FENCE_ADD, b, 0);
  fo__fence_send(fd, FO__FENCE_CLEAR, 0, 0);
  assert_int_equal(exited_within(b, 400), -1); /* past the deadline: nothing to kill */
  close(fd);
  assert_true(exited_within(fencer, 10000) != -1);
  assert_int_equal(exited_within(b, 100), -1);
  kill(b, SIGKILL);
  assert_true(exited_within(b, 10000) != -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(killed_at_the_deadline),
      cmocka_unit_test(killed_when_vigil_goes),
      cmocka_unit_test(a_group_added_late_is_killed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
