/*
 * sink.c — the InfluxDB sink's handle: open (config copy, password, spool, metrics,
 * sender thread), write (the in-memory queue, spilled to the spool when it grows too
 * large), flush, stats and close. The sending itself is in sender.c.
 */
#include "sink/lp_encode.h"
#include "sink/sink_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
/* curl_global_init is not thread-safe: once, before any sender thread exists. */
static void init_curl(void) { VG_ASSERT(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK); }

uint64_t sink__count_points(const char *text, size_t len) {
  uint64_t n = 0;
  size_t i = 0;
  while (i < len) {
    const char *nl = memchr(text + i, '\n', len - i);
    size_t end = nl ? (size_t)(nl - text) : len;
    size_t j = i;
    while (j < end && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r')) j++;
    if (j < end && text[j] != '#') n++;
    i = end + 1;
  }
  return n;
}

void sink__count(struct sink_influx *s, enum sink__counter c, uint64_t v) {
  atomic_fetch_add(&s->counters[c], v);
  if (s->m_counters[c]) mt_inc(s->m_counters[c], (double)v);
}

void sink__spool_gauges(struct sink_influx *s) {
  uint64_t bytes = sink__spool_bytes(s->spool);
  atomic_store(&s->spool_bytes, bytes);
  if (!s->m_spool_points) return;
  mt_set(s->m_spool_points, (double)sink__spool_points(s->spool));
  mt_set(s->m_spool_bytes, (double)bytes);
  mt_set(s->m_dropped, (double)(sink__spool_dropped(s->spool) + atomic_load(&s->dropped_extra)));
}

void sink__set_up(struct sink_influx *s, bool up) {
  atomic_store(&s->up, up);
  if (s->m_up) mt_set(s->m_up, up ? 1 : 0);
}

/* The families, defined once for the sink and for sink_metrics_describe; the series of
 * sink="influx" when s is not NULL. */
static void register_metrics(struct sink_influx *s, struct mt_registry *r) {
  static const char *const labels[] = {"sink", NULL};
  static const char *const values[] = {"influx"};
  static const struct {
    const char *name, *help;
  } counters[SINK__C_N] = {
      [SINK__C_POINTS_SENT] = {"vigil_sink_points_sent_total",
                               "Points InfluxDB acknowledged with a 2xx."},
      [SINK__C_BYTES_SENT] = {"vigil_sink_sent_bytes_total",
                              "Bytes of line protocol InfluxDB acknowledged."},
      [SINK__C_BATCHES_SENT] = {"vigil_sink_batches_sent_total",
                                "Batches InfluxDB acknowledged."},
      [SINK__C_RETRIES] = {"vigil_sink_retries_total",
                           "Requests that failed (no answer, 5xx, 408, 429) and are retried."},
      [SINK__C_FAILED_BATCHES] = {"vigil_sink_failed_batches_total",
                                  "Batches InfluxDB refused (4xx); kept in rejected.lp."},
      [SINK__C_FAILED_POINTS] = {"vigil_sink_failed_points_total",
                                 "Points in batches InfluxDB refused."},
      [SINK__C_SPOOLED_BATCHES] = {"vigil_sink_spooled_batches_total",
                                   "Batches written to the on-disk spool."},
  };
  struct mt_family *counter[SINK__C_N];
  for (int c = 0; c < SINK__C_N; c++)
    counter[c] = mt_counter(r, counters[c].name, counters[c].help, labels);
  struct mt_family *dropped = mt_counter(r, "vigil_sink_dropped_points_total",
                                         "Points dropped from the spool past spool_max.", labels);
  struct mt_family *queued =
      mt_gauge(r, "vigil_sink_queued_points", "Points in memory, not yet sent or spooled.", labels);
  struct mt_family *spool_points =
      mt_gauge(r, "vigil_sink_spool_points", "Points in the spool, not yet acknowledged.", labels);
  struct mt_family *spool_bytes =
      mt_gauge(r, "vigil_sink_spool_bytes", "Bytes in the spool, not yet acknowledged.", labels);
  struct mt_family *up = mt_gauge(
      r, "vigil_sink_up", "1 when the last request to the sink's server got an answer.", labels);
  if (!s) return;
  for (int c = 0; c < SINK__C_N; c++) s->m_counters[c] = mt_get(counter[c], values);
  s->m_dropped = mt_get(dropped, values);
  s->m_queued = mt_get(queued, values);
  s->m_spool_points = mt_get(spool_points, values);
  s->m_spool_bytes = mt_get(spool_bytes, values);
  s->m_up = mt_get(up, values);
}

void sink_metrics_describe(struct mt_registry *r) { register_metrics(NULL, r); }

/* The password file's first line. */
static char *read_password(const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "re");
  if (!f) {
    snprintf(err, errlen, "cannot open password_file %s: %s", path, strerror(errno));
    return NULL;
  }
  char line[1024];
  char *pw = fgets(line, sizeof line, f) ? vg_strdup(line) : vg_strdup("");
  fclose(f);
  pw[strcspn(pw, "\r\n")] = '\0';
  return pw;
}

static void free_sink(struct sink_influx *s) {
  free(s->url);
  free(s->db);
  free(s->rp);
  free(s->username);
  free(s->password);
  for (size_t i = 0; i < s->n_rps; i++) free(s->rps[i].name);
  free(s->rps);
  free(s->rejected_path);
  vg_buf_free(&s->queue);
  sink__spool_close(&s->spool);
  free(s);
}

int sink_influx_open(const struct cfg_influx_sink *cfg, const char *state_dir,
                     struct mt_registry *metrics, struct sink_influx **out, char *err,
                     size_t errlen) {
  VG_ASSERT(cfg->enabled && cfg->url && cfg->db);
  *out = NULL;
  pthread_once(&curl_once, init_curl);
  struct sink_influx *s = vg_calloc(1, sizeof *s);
  s->url = vg_strdup(cfg->url);
  s->db = vg_strdup(cfg->db);
  s->rp = cfg->retention_policy ? vg_strdup(cfg->retention_policy) : NULL;
  s->username = cfg->username ? vg_strdup(cfg->username) : NULL;
  s->rps = vg_calloc(cfg->n_rps ? cfg->n_rps : 1, sizeof *s->rps);
  for (size_t i = 0; i < cfg->n_rps; i++) {
    s->rps[i] = cfg->rps[i];
    s->rps[i].name = vg_strdup(cfg->rps[i].name);
  }
  s->n_rps = cfg->n_rps;
  s->create_database = cfg->create_database;
  s->batch = (uint64_t)cfg->batch;
  s->flush_ms = cfg->flush_ms;
  s->timeout_ms = cfg->timeout_ms;
  vg_buf_init(&s->queue);
  int rc;
  if (cfg->password_file && !(s->password = read_password(cfg->password_file, err, errlen))) {
    rc = -EACCES;
    goto fail;
  }
  char *dir = vg_asprintf("%s/spool/influx", state_dir);
  s->rejected_path = vg_asprintf("%s/rejected.lp", dir);
  rc = sink__spool_open(&s->spool, dir, (uint64_t)cfg->spool_max, err, errlen);
  free(dir);
  if (rc < 0) goto fail;
  if (metrics) register_metrics(s, metrics);
  sink__spool_gauges(s);
  if (sink__spool_points(s->spool))
    VG_INFO("influx sink: spool from an earlier run will be sent first",
            VF_I("points", sink__spool_points(s->spool)),
            VF_I("bytes", sink__spool_bytes(s->spool)));

  pthread_mutex_init(&s->mu, NULL);
  pthread_mutex_init(&s->spool_mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s->wake, &ca);
  pthread_cond_init(&s->idle, &ca);
  pthread_condattr_destroy(&ca);
  if ((rc = pthread_create(&s->thread, NULL, sink__sender_main, s)) != 0) {
    snprintf(err, errlen, "cannot start the influx sink thread: %s", strerror(rc));
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->spool_mu);
    rc = -rc;
    goto fail;
  }
  *out = s;
  return 0;
fail:
  free_sink(s);
  return rc;
}

/* The queue grew past SINK__MAX_QUEUED_BYTES: the sender is busy (stuck in a slow
 * request, or sending a backlog from the spool), so this thread spools the queue
 * (taken out under mu) itself. */
static int spill(struct sink_influx *s, struct vg_buf *lines, uint64_t points) {
  pthread_mutex_lock(&s->spool_mu);
  int rc = 0;
  size_t off = 0;
  while (off < lines->len && rc == 0) {
    /* Records are bounded: cut at a line end below the record limit. */
    size_t n = lines->len - off;
    if (n > SINK__MAX_BATCH_BYTES) {
      const char *p = lines->data + off;
      size_t cut = SINK__MAX_BATCH_BYTES;
      while (cut > 0 && p[cut - 1] != '\n') cut--;
      n = cut ? cut : n;
    }
    if (n > SINK__SPOOL_MAX_RECORD) {
      rc = -EMSGSIZE;
      break;
    }
    uint64_t pts = sink__count_points(lines->data + off, n);
    rc = sink__spool_append(s->spool, lines->data + off, (uint32_t)n, (uint32_t)pts);
    if (rc == 0) {
      sink__count(s, SINK__C_SPOOLED_BATCHES, 1);
      points -= pts;
      off += n;
    }
  }
  if (rc < 0) atomic_fetch_add(&s->dropped_extra, points); /* what is left of the queue */
  sink__spool_gauges(s);
  pthread_mutex_unlock(&s->spool_mu);
  if (rc < 0)
    VG_ERROR("influx sink: cannot spool the queue, points lost", VF_I("points", points),
             VF_S("error", strerror(-rc)));
  return rc;
}

int sink_influx_write(struct sink_influx *s, const char *lines, size_t len) {
  uint64_t points = sink__count_points(lines, len);
  if (points == 0) return 0;
  struct vg_buf spilled = {0};
  uint64_t spilled_points = 0;
  pthread_mutex_lock(&s->mu);
  if (s->queue_points == 0) s->queue_since_ms = vg_now_ms();
  vg_buf_append(&s->queue, lines, len);
  if (lines[len - 1] != '\n') vg_buf_putc(&s->queue, '\n');
  s->queue_points += points;
  atomic_fetch_add(&s->queued_points, points);
  /* The first queued points start the sender's flush timer; a full batch goes now. */
  if (s->queue_points == points || s->queue_points >= s->batch) pthread_cond_signal(&s->wake);
  if (s->queue.len > SINK__MAX_QUEUED_BYTES) {
    spilled = s->queue;
    spilled_points = s->queue_points;
    vg_buf_init(&s->queue);
    s->queue_points = 0;
    s->spilling++;
  }
  pthread_mutex_unlock(&s->mu);
  int rc = 0;
  if (spilled_points) {
    rc = spill(s, &spilled, spilled_points);
    atomic_fetch_sub(&s->queued_points, spilled_points);
    vg_buf_free(&spilled);
    /* The sender drains the spool when InfluxDB is back. */
    pthread_mutex_lock(&s->mu);
    s->spilling--;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
  }
  if (s->m_queued) mt_set(s->m_queued, (double)atomic_load(&s->queued_points));
  return rc;
}

int sink_influx_write_points(struct sink_influx *s, const struct tsdb_point *pts, size_t n) {
  struct vg_buf b;
  vg_buf_init(&b);
  sink_lp_encode(&b, pts, n);
  int rc = b.len ? sink_influx_write(s, (const char *)b.data, b.len) : 0;
  vg_buf_free(&b);
  return rc;
}

/* mu held. */
static bool idle(struct sink_influx *s) {
  return s->queue_points == 0 && !s->busy && s->spilling == 0 &&
         atomic_load(&s->spool_bytes) == 0;
}

int sink_influx_flush(struct sink_influx *s, int64_t timeout_ms) {
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (timeout_ms % 1000) * 1000000;
  if (deadline.tv_nsec >= 1000000000) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000;
  }
  int rc = 0;
  pthread_mutex_lock(&s->mu);
  s->flush_waiters++;
  pthread_cond_signal(&s->wake);
  while (!idle(s)) {
    if (pthread_cond_timedwait(&s->idle, &s->mu, &deadline) == ETIMEDOUT) {
      rc = idle(s) ? 0 : -ETIMEDOUT;
      break;
    }
  }
  s->flush_waiters--;
  pthread_mutex_unlock(&s->mu);
  return rc;
}

void sink_influx_stats(struct sink_influx *s, struct sink_influx_stats *out) {
  memset(out, 0, sizeof *out);
  out->points_sent = atomic_load(&s->counters[SINK__C_POINTS_SENT]);
  out->bytes_sent = atomic_load(&s->counters[SINK__C_BYTES_SENT]);
  out->batches_sent = atomic_load(&s->counters[SINK__C_BATCHES_SENT]);
  out->retries = atomic_load(&s->counters[SINK__C_RETRIES]);
  out->failed_batches = atomic_load(&s->counters[SINK__C_FAILED_BATCHES]);
  out->failed_points = atomic_load(&s->counters[SINK__C_FAILED_POINTS]);
  out->spooled_batches = atomic_load(&s->counters[SINK__C_SPOOLED_BATCHES]);
  out->queued_points = atomic_load(&s->queued_points);
  out->up = atomic_load(&s->up);
  pthread_mutex_lock(&s->spool_mu);
  out->dropped_points = sink__spool_dropped(s->spool) + atomic_load(&s->dropped_extra);
  out->spool_points = sink__spool_points(s->spool);
  out->spool_bytes = sink__spool_bytes(s->spool);
  pthread_mutex_unlock(&s->spool_mu);
}

void sink_influx_close(struct sink_influx **sp) {
  struct sink_influx *s = *sp;
  if (!s) return;
  pthread_mutex_lock(&s->mu);
  s->stopping = true;
  pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->mu);
  VG_ASSERT(pthread_join(s->thread, NULL) == 0);
  pthread_cond_destroy(&s->wake);
  pthread_cond_destroy(&s->idle);
  pthread_mutex_destroy(&s->mu);
  pthread_mutex_destroy(&s->spool_mu);
  free_sink(s);
  *sp = NULL;
}
