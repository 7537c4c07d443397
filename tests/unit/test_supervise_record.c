/* The record of spawned processes (record.c): the next vigil kills exactly what the
 * record names and is still alive with the same start time — never on a torn line, a
 * wrong start time or a garbled file (the reader is cut at every byte). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "supervise/sv_int.h"

static pid_t spawn_sleep(void) {
  pid_t pid = fork();
  if (pid == 0) {
    execlp("sleep", "sleep", "100", (char *)NULL);
    _exit(127);
  }
  assert_true(pid > 0);
  /* until it has exec'd, its start time is already fixed: fine to record */
  return pid;
}

static bool alive(pid_t pid) {
  int status;
  return waitpid(pid, &status, WNOHANG) == 0;
}

static void write_file(const char *path, const char *text, size_t len) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, len, f), len);
  fclose(f);
}

static void kills_only_a_whole_matching_line(void **state) {
  char path[] = "/tmp/vigil-record-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_ERROR);
  pid_t victim = spawn_sleep();
  pid_t ppid;
  unsigned long long start;
  assert_int_equal(sv__proc_stat(victim, &ppid, &start), 0);
  char *text = vg_asprintf("vigil-procs 1\n%d %llu svc\n", (int)victim, start);
  size_t len = strlen(text);
  for (size_t cut = 0; cut < len; cut++) {
    write_file(path, text, cut);
    assert_int_equal(sv__record_kill_leftovers(path), 0);
    assert_true(alive(victim));
  }
  /* the same pid started a second later is another process: left alone */
  char *other = vg_asprintf("vigil-procs 1\n%d %llu svc\n", (int)victim, start + 100);
  write_file(path, other, strlen(other));
  assert_int_equal(sv__record_kill_leftovers(path), 0);
  assert_true(alive(victim));
  /* a file of another format is not read */
  char *bad = vg_asprintf("vigil-procs 2\n%d %llu svc\n", (int)victim, start);
  write_file(path, bad, strlen(bad));
  assert_int_equal(sv__record_kill_leftovers(path), 0);
  assert_true(alive(victim));
  /* the whole line: killed */
  write_file(path, text, len);
  assert_int_equal(sv__record_kill_leftovers(path), 1);
  int status;
  assert_int_equal(waitpid(victim, &status, 0), victim);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  free(text);
  free(other);
  free(bad);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(kills_only_a_whole_matching_line)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
