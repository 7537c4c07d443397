/*
 * Driver of the InfluxDB sink for integration/test_sink_influx.py, standing in for the
 * ZeroMQ ingest until it exists: loads a vigil config, opens its sinks.influx, feeds it
 * and reports what the sink says.
 *
 *   sink_writer CONFIG gen N [START [TS0_NS [CHUNK [PAUSE_MS]]]] [threads=T] [hold]
 *       writes points START..START+N-1, CHUNK lines per write call (default 100) with
 *       PAUSE_MS between calls (default 0):
 *           tick,src=sink_writer,k=<i mod 8> v=<i>i,x=<i*0.5> <TS0_NS + i*1000>
 *       so a test knows the count and sum(v) to expect. TS0_NS defaults to now. With
 *       threads=T, T threads write interleaved shares of the range at the same time,
 *       as ingest threads would.
 *   sink_writer CONFIG stdin      one write call per line read from stdin
 *   sink_writer CONFIG drain      writes nothing: sends what an earlier run spooled
 *
 * Then flushes (at most 120 s) and prints "sent=N", a "stats ..." line and the
 * vigil_sink_* metrics; exits 0 when everything was delivered, 3 when the flush timed
 * out. With `hold` it instead prints "queued=0" once every point has been sent or
 * spooled and then sleeps until killed (the test SIGKILLs it).
 */
#include "config/config.h"
#include "core/core.h"
#include "metrics/metrics.h"
#include "sink/sink.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

struct gen {
  struct sink_influx *s;
  uint64_t n, start, ts0, chunk;
  long pause_ms;
  uint64_t thread, threads; /* this writer takes the chunks thread, thread+threads, ... */
};

static void *gen(void *arg) {
  const struct gen *g = arg;
  struct vg_buf b;
  vg_buf_init(&b);
  uint64_t end = g->start + g->n;
  for (uint64_t first = g->start + g->thread * g->chunk; first < end;
       first += g->threads * g->chunk) {
    vg_buf_reset(&b);
    for (uint64_t i = first; i < first + g->chunk && i < end; i++)
      vg_buf_printf(&b, "tick,src=sink_writer,k=%" PRIu64 " v=%" PRIu64 "i,x=%.1f %" PRIu64 "\n",
                    i % 8, i, (double)i * 0.5, g->ts0 + i * 1000);
    int rc = sink_influx_write(g->s, b.data, b.len);
    if (rc < 0) fprintf(stderr, "sink_writer: write: %s\n", strerror(-rc));
    if (g->pause_ms) sleep_ms(g->pause_ms);
  }
  vg_buf_free(&b);
  return NULL;
}

static void gen_threads(struct gen g) {
  pthread_t t[64];
  struct gen each[64];
  for (uint64_t i = 0; i < g.threads; i++) {
    each[i] = g;
    each[i].thread = i;
    VG_ASSERT(pthread_create(&t[i], NULL, gen, &each[i]) == 0);
  }
  for (uint64_t i = 0; i < g.threads; i++) pthread_join(t[i], NULL);
}

static void from_stdin(struct sink_influx *s) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) > 0) sink_influx_write(s, line, (size_t)n);
  free(line);
}

static void report(struct sink_influx *s, struct mt_registry *reg, bool flushed) {
  struct sink_influx_stats st;
  sink_influx_stats(s, &st);
  printf("sent=%" PRIu64 "\n", st.points_sent);
  printf("stats points_sent=%" PRIu64 " batches_sent=%" PRIu64 " bytes_sent=%" PRIu64
         " retries=%" PRIu64 " failed_batches=%" PRIu64 " failed_points=%" PRIu64
         " spooled_batches=%" PRIu64 " dropped_points=%" PRIu64 " queued_points=%" PRIu64
         " spool_points=%" PRIu64 " spool_bytes=%" PRIu64 " up=%d flushed=%d\n",
         st.points_sent, st.batches_sent, st.bytes_sent, st.retries, st.failed_batches,
         st.failed_points, st.spooled_batches, st.dropped_points, st.queued_points,
         st.spool_points, st.spool_bytes, st.up, flushed);
  struct vg_buf out;
  vg_buf_init(&out);
  mt_render(reg, MT_FORMAT_TEXT, &out);
  for (char *line = strtok(out.data, "\n"); line; line = strtok(NULL, "\n"))
    if (strncmp(line, "vigil_sink_", 11) == 0) printf("%s\n", line);
  vg_buf_free(&out);
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: sink_writer CONFIG gen N [START [TS0 [CHUNK [PAUSE_MS]]]] "
                    "[threads=T] [hold] | stdin | drain\n");
    return 2;
  }
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_INFO);
  struct cfg_diags d;
  cfg_diags_init(&d);
  struct vg_config *cfg = cfg_load(argv[1], &d);
  if (!cfg) {
    cfg_diags_print(&d, argv[1], stderr);
    return 2;
  }
  cfg_diags_free(&d);
  if (!cfg->sinks.influx.enabled) {
    fprintf(stderr, "sink_writer: %s has no sinks.influx\n", argv[1]);
    return 2;
  }
  struct mt_registry *reg = mt_registry_new();
  struct sink_influx *s;
  char err[512];
  if (sink_influx_open(&cfg->sinks.influx, cfg->state_dir, reg, &s, err, sizeof err) < 0) {
    fprintf(stderr, "sink_writer: %s\n", err);
    return 1;
  }
  bool hold = false;
  uint64_t threads = 1;
  int args = argc;
  for (; args > 3; args--) {
    if (strcmp(argv[args - 1], "hold") == 0) hold = true;
    else if (strncmp(argv[args - 1], "threads=", 8) == 0) threads = strtoull(argv[args - 1] + 8, NULL, 10);
    else break;
  }
  if (threads < 1 || threads > 64) {
    fprintf(stderr, "sink_writer: threads must be 1..64\n");
    return 2;
  }
  if (strcmp(argv[2], "gen") == 0 && args >= 4) {
    struct gen g = {.s = s, .threads = threads};
    g.n = strtoull(argv[3], NULL, 10);
    g.start = args > 4 ? strtoull(argv[4], NULL, 10) : 0;
    g.ts0 = args > 5 ? strtoull(argv[5], NULL, 10) : (uint64_t)(vg_wall_seconds() * 1e9);
    g.chunk = args > 6 ? strtoull(argv[6], NULL, 10) : 100;
    g.pause_ms = args > 7 ? strtol(argv[7], NULL, 10) : 0;
    if (!g.chunk) g.chunk = 1;
    gen_threads(g);
  } else if (strcmp(argv[2], "stdin") == 0) {
    from_stdin(s);
  } else if (strcmp(argv[2], "drain") != 0) {
    fprintf(stderr, "sink_writer: unknown mode '%s'\n", argv[2]);
    return 2;
  }
  printf("written\n");
  fflush(stdout);
  if (hold) {
    struct sink_influx_stats st;
    do {
      sleep_ms(20);
      sink_influx_stats(s, &st);
    } while (st.queued_points > 0);
    printf("queued=0 spool_points=%" PRIu64 " dropped_points=%" PRIu64 "\n", st.spool_points,
           st.dropped_points);
    fflush(stdout);
    for (;;) pause();
  }
  bool flushed = sink_influx_flush(s, 120000) == 0;
  report(s, reg, flushed);
  sink_influx_close(&s);
  mt_registry_free(reg);
  cfg_free(cfg);
  return flushed ? 0 : 3;
}
