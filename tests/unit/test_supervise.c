/* Unit tests of the supervisor's pure parts: backoff arithmetic and the restart window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "supervise/sv_int.h"

static struct cfg_restart restart(int64_t delay, int64_t max_delay, double jitter) {
  struct cfg_restart r = {.policy = CFG_RESTART_ALWAYS, .delay_ms = delay, .max_delay_ms = max_delay,
                          .jitter = jitter, .reset_after_ms = 60000, .max_restarts = 3,
                          .window_ms = 10000};
  return r;
}

static void backoff_doubles_up_to_the_cap(void **state) {
  struct cfg_restart r = restart(100, 1000, 0);
  uint64_t seed = 1;
  int64_t want[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (unsigned i = 0; i < VG_ARRAY_LEN(want); i++)
    assert_int_equal(sv__backoff_delay(&r, i, &seed), want[i]);
  assert_int_equal(sv__backoff_delay(&r, 63, &seed), 1000); /* no overflow at huge steps */
}

static void zero_delay_means_immediate(void **state) {
  struct cfg_restart r = restart(0, 1000, 0.5);
  uint64_t seed = 7;
  for (unsigned i = 0; i < 10; i++) assert_int_equal(sv__backoff_delay(&r, i, &seed), 0);
}

static void jitter_stays_within_its_fraction(void **state) {
  struct cfg_restart r = restart(1000, 1000, 0.2);
  uint64_t seed = 42;
  int64_t lo = INT64_MAX, hi = 0;
  for (int i = 0; i < 10000; i++) {
    int64_t d = sv__backoff_delay(&r, 0, &seed);
    assert_true(d >= 800 && d <= 1200);
    if (d < lo) lo = d;
    if (d > hi) hi = d;
  }
  /* and it does spread: a jitter that never moves would be a defect */
  assert_true(lo < 850 && hi > 1150);
}

static void window_counts_only_recent_failures(void **state) {
  struct cfg_service def = {.restart = restart(100, 1000, 0)};
  struct sv_service svc = {.def = &def};
  assert_int_equal(sv__note_failure(&svc, 1000), 1);
  assert_int_equal(sv__note_failure(&svc, 2000), 2);
  assert_int_equal(sv__note_failure(&svc, 3000), 3);
  assert_int_equal(sv__note_failure(&svc, 4000), 4); /* > max_restarts (3): fatal */
  /* failures older than the 10 s window no longer count */
  assert_int_equal(sv__note_failure(&svc, 12500), 3);
  assert_int_equal(sv__note_failure(&svc, 30000), 1);
  free(svc.fail_ms);
}

static void window_history_resets_when_the_limit_changes(void **state) {
  struct cfg_service def = {.restart = restart(100, 1000, 0)};
  struct sv_service svc = {.def = &def};
  sv__note_failure(&svc, 1000);
  sv__note_failure(&svc, 1001);
  def.restart.max_restarts = 5;
  assert_int_equal(sv__note_failure(&svc, 1002), 1);
  free(svc.fail_ms);
}

static void state_names_are_stable(void **state) {
  const char *want[] = {"stopped", "waiting", "starting", "ready", "stopping", "backoff", "fatal"};
  for (int s = 0; s < SV_N_STATES; s++) assert_string_equal(sv_state_name((enum sv_state)s), want[s]);
  assert_string_equal(sv_state_name(SV_N_STATES), "unknown");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(backoff_doubles_up_to_the_cap),
      cmocka_unit_test(zero_delay_means_immediate),
      cmocka_unit_test(jitter_stays_within_its_fraction),
      cmocka_unit_test(window_counts_only_recent_failures),
      cmocka_unit_test(window_history_resets_when_the_limit_changes),
      cmocka_unit_test(state_names_are_stable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
