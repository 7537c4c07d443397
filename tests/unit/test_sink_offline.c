/*
 * Tests of the InfluxDB sink with nothing listening at its url (a loopback port just
 * closed, so every connect is refused — a real network failure, not a fake): writes
 * never block, everything lands in the spool, flush times out, the metrics say so, the
 * spool is still there at the next open, close spools what is queued, a sender stuck
 * in a request makes write() move the queue to the spool itself, a second opener of
 * the same spool is refused. Delivery to a real InfluxDB is in
 * integration/test_sink_influx.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"
#include "metrics/metrics.h"
#include "sink/sink.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char *tmpdir(void) {
  const char *base = getenv("TMPDIR");
  char *d = vg_asprintf("%s/vigil-sink-XXXXXX", base && *base ? base : "/tmp");
  assert_non_null(mkdtemp(d));
  return d;
}

static void rm_rf(const char *d) {
  char *cmd = vg_asprintf("rm -rf '%s'", d);
  assert_int_equal(system(cmd), 0);
  free(cmd);
}

/* A loopback port nobody listens on (bound, then closed). */
static int refused_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

struct fixture {
  char *dir;
  char url[64];
  struct cfg_influx_sink cfg;
};

static int setup(void **state) {
  struct fixture *f = vg_calloc(1, sizeof *f);
  f->dir = tmpdir();
  snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", refused_port());
  f->cfg = (struct cfg_influx_sink){.enabled = true,
                                    .url = f->url,
                                    .db = "tick",
                                    .batch = 10,
                                    .flush_ms = 20,
                                    .timeout_ms = 1000,
                                    .spool_max = 1 << 20};
  *state = f;
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_ERROR); /* no "unavailable" warnings */
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  rm_rf(f->dir);
  free(f->dir);
  free(f);
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_INFO);
  return 0;
}

static struct sink_influx *open_ok(struct fixture *f, struct mt_registry *reg) {
  struct sink_influx *s;
  char err[256];
  int rc = sink_influx_open(&f->cfg, f->dir, reg, &s, err, sizeof err);
  if (rc != 0) print_error("open: %s\n", err);
  assert_int_equal(rc, 0);
  return s;
}

static void write_points(struct sink_influx *s, int from, int n) {
  for (int i = from; i < from + n; i++) {
    char line[128];
    int len = snprintf(line, sizeof line, "tick,k=a v=%di %d\n", i, 1000 + i);
    assert_int_equal(sink_influx_write(s, line, (size_t)len), 0);
  }
}

static void wait_queued_zero(struct sink_influx *s, struct sink_influx_stats *st) {
  for (int i = 0; i < 3000; i++) {
    sink_influx_stats(s, st);
    if (st->queued_points == 0) return;
    struct timespec ts = {0, 10 * 1000000};
    nanosleep(&ts, NULL);
  }
  fail_msg("points still queued in memory after 30 s");
}

static void test_unreachable_spools_everything(void **state) {
  struct fixture *f = *state;
  struct mt_registry *reg = mt_registry_new();
  struct sink_influx *s = open_ok(f, reg);
  write_points(s, 0, 95);
  /* blank and comment lines are not points; a missing final newline is added */
  assert_int_equal(sink_influx_write(s, "\n# c\n", 5), 0);
  assert_int_equal(sink_influx_write(s, "tick,k=b v=1i 1", 15), 0);
  assert_int_equal(sink_influx_flush(s, 200), -ETIMEDOUT);
  struct sink_influx_stats st;
  wait_queued_zero(s, &st);
  assert_int_equal(st.points_sent, 0);
  assert_true(st.retries >= 1);
  assert_int_equal(st.spool_points, 96);
  assert_true(st.spooled_batches >= 10);
  assert_true(st.spool_bytes > 96 * 10);
  assert_int_equal(st.dropped_points + st.failed_points, 0);
  assert_false(st.up);

  struct vg_buf out;
  vg_buf_init(&out);
  mt_render(reg, MT_FORMAT_TEXT, &out);
  assert_non_null(strstr(out.data, "vigil_sink_spool_points{sink=\"influx\"} 96\n"));
  assert_non_null(strstr(out.data, "vigil_sink_points_sent_total{sink=\"influx\"} 0\n"));
  assert_non_null(strstr(out.data, "vigil_sink_up{sink=\"influx\"} 0\n"));
  vg_buf_free(&out);
  sink_influx_close(&s);
  assert_null(s);

  /* the next open finds the spool */
  s = open_ok(f, NULL);
  sink_influx_stats(s, &st);
  assert_int_equal(st.spool_points, 96);
  sink_influx_close(&s);
  mt_registry_free(reg);
}

static void test_close_spools_the_queue(void **state) {
  struct fixture *f = *state;
  f->cfg.batch = 1000;
  f->cfg.flush_ms = 3600000; /* nothing leaves the queue before close */
  struct sink_influx *s = open_ok(f, NULL);
  write_points(s, 0, 7);
  struct sink_influx_stats st;
  sink_influx_stats(s, &st);
  assert_int_equal(st.queued_points, 7);
  sink_influx_close(&s);
  s = open_ok(f, NULL);
  sink_influx_stats(s, &st);
  assert_int_equal(st.spool_points, 7);
  assert_int_equal(st.queued_points, 0);
  sink_influx_close(&s);
}

/* A listener that never accepts: connects succeed (the kernel's backlog) and requests
 * get no answer, as from a hung InfluxDB. */
static int silent_listener(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 16), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

static void test_stuck_sender_spills_the_queue(void **state) {
  struct fixture *f = *state;
  int port;
  int lfd = silent_listener(&port);
  snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", port);
  f->cfg.batch = 5000;
  f->cfg.timeout_ms = 60000;
  f->cfg.spool_max = 256 << 20;
  struct sink_influx *s = open_ok(f, NULL);
  struct vg_buf chunk;
  vg_buf_init(&chunk);
  for (int i = 0; i < 1000; i++) vg_buf_printf(&chunk, "tick,k=a v=%di %d\n", i, 1000000 + i);
  /* More than the 64 MiB the queue may hold while the sender waits for an answer. */
  uint64_t total = 0;
  while (total * (chunk.len / 1000) < (72u << 20)) {
    assert_int_equal(sink_influx_write(s, chunk.data, chunk.len), 0);
    total += 1000;
  }
  struct sink_influx_stats st;
  sink_influx_stats(s, &st);
  assert_true(st.spooled_batches >= 8); /* 64 MiB in records of at most 8 MiB */
  assert_true(st.spool_points > 0);
  assert_int_equal(st.spool_points % 1000, 0); /* cut at line ends, so whole chunks */
  assert_int_equal(st.spool_points + st.queued_points, total);
  assert_int_equal(st.points_sent + st.dropped_points, 0);
  /* The listener goes: the pending request fails at once; close spools the rest. */
  close(lfd);
  sink_influx_close(&s);
  s = open_ok(f, NULL);
  sink_influx_stats(s, &st);
  assert_int_equal(st.spool_points, total);
  sink_influx_close(&s);
  vg_buf_free(&chunk);
}

static void test_one_sink_per_spool(void **state) {
  struct fixture *f = *state;
  struct sink_influx *s = open_ok(f, NULL), *again;
  char err[256];
  assert_int_equal(sink_influx_open(&f->cfg, f->dir, NULL, &again, err, sizeof err), -EBUSY);
  assert_null(again);
  assert_non_null(strstr(err, "in use by another process"));
  sink_influx_close(&s);
}

static void test_missing_password_file(void **state) {
  struct fixture *f = *state;
  f->cfg.username = "vigil";
  f->cfg.password_file = "/nonexistent/vigil-influx.pw";
  struct sink_influx *s;
  char err[256];
  assert_int_equal(sink_influx_open(&f->cfg, f->dir, NULL, &s, err, sizeof err), -EACCES);
  assert_null(s);
  assert_string_equal(err, "cannot open password_file /nonexistent/vigil-influx.pw: "
                           "No such file or directory");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_unreachable_spools_everything, setup, teardown),
      cmocka_unit_test_setup_teardown(test_close_spools_the_queue, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stuck_sender_spills_the_queue, setup, teardown),
      cmocka_unit_test_setup_teardown(test_one_sink_per_spool, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_password_file, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
