/*
 * sender.c — the InfluxDB sink's thread. One action per turn of its loop, chosen in
 * this order: set up the database (create_database), send the oldest spooled batch,
 * send (or spool) the next batch of the lines taken from the queue. Between turns it
 * sleeps until the queue holds a batch, the oldest queued line is `flush` old, a
 * flush() or close() asks, or the backoff after a failure ends.
 *
 * While a backoff runs (InfluxDB unreachable), new batches go to the spool behind the
 * older ones. Once InfluxDB answers, the spool goes first, at the speed InfluxDB takes
 * it, while new lines wait in memory (past 64 MiB write() spools them): were each
 * spooled batch to alternate with a new one, a backlog would never shrink while the
 * feed runs as fast as InfluxDB takes batches.
 */
#include "sink/sink_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sender {
  struct sink_influx *s;
  struct sink__client *client;
  struct vg_buf work;   /* lines taken from the queue */
  size_t work_off;      /* the next batch starts here */
  struct vg_buf record; /* a spooled batch being resent */
  bool need_setup;
  uint64_t backoff_ms;  /* 0: the last request succeeded */
  uint64_t next_try_ms; /* no request to InfluxDB before (after a failure) */
  unsigned seed;
};

static bool work_left(const struct sender *x) { return x->work_off < x->work.len; }

static bool spool_empty(struct sink_influx *s) { return atomic_load(&s->spool_bytes) == 0; }

static void success(struct sender *x) {
  if (x->backoff_ms)
    VG_INFO("influx sink: InfluxDB answers again, sending the spool", VF_S("url", x->s->url));
  x->backoff_ms = 0;
  x->next_try_ms = 0;
  sink__set_up(x->s, true);
}

/* A request failed in a way worth retrying: back off, 100 ms doubling to 5 s, ±20 %
 * so that several vigils do not hammer a recovering InfluxDB in step. */
static void failure(struct sender *x, const char *what, const struct sink__reply *r) {
  sink__count(x->s, SINK__C_RETRIES, 1);
  sink__set_up(x->s, r->status != 0);
  if (x->backoff_ms == 0)
    VG_WARN("influx sink: InfluxDB unavailable, spooling and retrying", VF_S("url", x->s->url),
            VF_S("request", what), VF_I("status", r->status), VF_S("error", r->msg));
  else
    VG_DEBUG("influx sink: retry failed", VF_S("request", what), VF_I("status", r->status),
             VF_S("error", r->msg), VF_I("backoff_ms", x->backoff_ms));
  x->backoff_ms = x->backoff_ms ? x->backoff_ms * 2 : SINK__BACKOFF_MIN_MS;
  if (x->backoff_ms > SINK__BACKOFF_MAX_MS) x->backoff_ms = SINK__BACKOFF_MAX_MS;
  uint64_t jitter = x->backoff_ms / 5;
  uint64_t delay = x->backoff_ms - jitter + (uint64_t)rand_r(&x->seed) % (2 * jitter + 1);
  x->next_try_ms = vg_now_ms() + delay;
}

static void rejected(struct sender *x, const struct sink__reply *r, const char *batch, size_t len,
                     uint64_t points) {
  struct sink_influx *s = x->s;
  sink__count(s, SINK__C_FAILED_BATCHES, 1);
  sink__count(s, SINK__C_FAILED_POINTS, points);
  sink__set_up(s, true);
  VG_ERROR("influx sink: InfluxDB refused a batch; kept in the rejected file, not retried",
           VF_I("status", r->status), VF_S("error", r->msg), VF_I("points", points),
           VF_S("file", s->rejected_path));
  sink__reject_append(s->rejected_path, r, batch, len, points);
}

static void sent(struct sender *x, size_t len, uint64_t points) {
  sink__count(x->s, SINK__C_POINTS_SENT, points);
  sink__count(x->s, SINK__C_BYTES_SENT, len);
  sink__count(x->s, SINK__C_BATCHES_SENT, 1);
  success(x);
}

static void spool_batch(struct sender *x, const char *batch, size_t len, uint64_t points) {
  struct sink_influx *s = x->s;
  int rc = len > SINK__SPOOL_MAX_RECORD ? -EMSGSIZE : 0;
  pthread_mutex_lock(&s->spool_mu);
  if (rc == 0) rc = sink__spool_append(s->spool, batch, (uint32_t)len, (uint32_t)points);
  if (rc < 0) atomic_fetch_add(&s->dropped_extra, points);
  else sink__count(s, SINK__C_SPOOLED_BATCHES, 1);
  sink__spool_gauges(s);
  pthread_mutex_unlock(&s->spool_mu);
  if (rc < 0)
    VG_ERROR("influx sink: cannot spool a batch, points lost", VF_I("points", points),
             VF_S("error", strerror(-rc)));
}

/* The next batch of work: up to `batch` points and SINK__MAX_BATCH_BYTES (but at least
 * one line). Returns its length; *points gets its points. */
static size_t cut(struct sender *x, uint64_t *points) {
  const char *p = x->work.data + x->work_off;
  size_t left = x->work.len - x->work_off, i = 0;
  uint64_t n = 0;
  while (i < left && n < x->s->batch) {
    const char *nl = memchr(p + i, '\n', left - i);
    size_t end = nl ? (size_t)(nl - p) + 1 : left;
    if (i > 0 && end > SINK__MAX_BATCH_BYTES) break;
    n += sink__count_points(p + i, end - i);
    i = end;
  }
  *points = n;
  return i;
}

/* Sends the next batch of work, or spools it when InfluxDB is known to be down (a
 * backoff runs, or close() found it so) or older batches wait in the spool. */
static void next_batch(struct sender *x, bool may_send) {
  uint64_t points;
  const char *batch = x->work.data + x->work_off;
  size_t len = cut(x, &points);
  x->work_off += len;
  bool direct = may_send && !x->need_setup && vg_now_ms() >= x->next_try_ms && spool_empty(x->s);
  if (direct) {
    struct sink__reply r;
    switch (sink__client_write(x->client, batch, len, &r)) {
    case SINK__OK: sent(x, len, points); break;
    case SINK__REJECT: rejected(x, &r, batch, len, points); break;
    case SINK__RETRY:
      failure(x, "write", &r);
      spool_batch(x, batch, len, points);
      break;
    }
  } else {
    spool_batch(x, batch, len, points);
  }
  atomic_fetch_sub(&x->s->queued_points, points);
  if (x->s->m_queued) mt_set(x->s->m_queued, (double)atomic_load(&x->s->queued_points));
}

/* Sends the oldest spooled batch; it leaves the spool only after a 2xx (or a refusal,
 * which no retry would change). */
static void drain_one(struct sender *x) {
  struct sink_influx *s = x->s;
  uint32_t points;
  uint64_t id;
  pthread_mutex_lock(&s->spool_mu);
  int rc = sink__spool_peek(s->spool, &x->record, &points, &id);
  sink__spool_gauges(s);
  pthread_mutex_unlock(&s->spool_mu);
  if (rc < 0) {
    struct sink__reply r = {.status = -1};
    snprintf(r.msg, sizeof r.msg, "cannot read the spool: %s", strerror(-rc));
    failure(x, "spool", &r);
    return;
  }
  if (rc == 0) return;
  struct sink__reply r;
  enum sink__outcome o = sink__client_write(x->client, x->record.data, x->record.len, &r);
  if (o == SINK__RETRY) {
    failure(x, "write", &r);
    pthread_mutex_lock(&s->spool_mu);
    sink__spool_unpeek(s->spool, id);
    sink__spool_gauges(s);
    pthread_mutex_unlock(&s->spool_mu);
    return;
  }
  if (o == SINK__OK) sent(x, x->record.len, points);
  else rejected(x, &r, x->record.data, x->record.len, points);
  pthread_mutex_lock(&s->spool_mu);
  sink__spool_pop(s->spool, id);
  sink__spool_gauges(s);
  pthread_mutex_unlock(&s->spool_mu);
}

static void setup(struct sender *x) {
  struct sink_influx *s = x->s;
  struct sink__reply r;
  enum sink__outcome o = sink__setup(x->client, s->db, s->rps, s->n_rps, &r);
  if (o == SINK__RETRY) {
    failure(x, "setup", &r);
    return;
  }
  x->need_setup = false; /* a refusal is logged by sink__setup; writes go on regardless */
  success(x);
}

static bool queue_due(const struct sink_influx *s, uint64_t now) {
  if (s->queue_points == 0) return false;
  return s->queue_points >= s->batch || now >= s->queue_since_ms + (uint64_t)s->flush_ms ||
         s->flush_waiters > 0 || s->stopping;
}

static void take_queue(struct sender *x) {
  struct sink_influx *s = x->s;
  if (work_left(x)) {
    vg_buf_append(&x->work, s->queue.data, s->queue.len);
  } else {
    struct vg_buf t = x->work;
    x->work = s->queue;
    s->queue = t;
    x->work_off = 0;
  }
  vg_buf_reset(&s->queue);
  s->queue_points = 0;
}

static void wait_until(struct sink_influx *s, uint64_t until_ms) {
  if (until_ms == UINT64_MAX) {
    pthread_cond_wait(&s->wake, &s->mu);
    return;
  }
  struct timespec ts = {.tv_sec = (time_t)(until_ms / 1000),
                        .tv_nsec = (long)(until_ms % 1000) * 1000000};
  pthread_cond_timedwait(&s->wake, &s->mu, &ts);
}

/* Under mu: sleeps until there is something to do; returns whether to stop. */
static bool wait_for_work(struct sender *x) {
  struct sink_influx *s = x->s;
  for (;;) {
    uint64_t now = vg_now_ms();
    if (queue_due(s, now) && !work_left(x)) take_queue(x);
    s->busy = work_left(x);
    if (s->stopping) return true;
    if (work_left(x)) return false;
    bool retry_due = now >= x->next_try_ms;
    bool pending = x->need_setup || !spool_empty(s);
    if (pending && retry_due) return false;
    pthread_cond_broadcast(&s->idle);
    uint64_t until = UINT64_MAX;
    if (s->queue_points) until = s->queue_since_ms + (uint64_t)s->flush_ms;
    if (pending && x->next_try_ms < until) until = x->next_try_ms;
    wait_until(s, until);
  }
}

/* close(): what is queued gets one attempt or goes to the spool; the spool stays. */
static void finish(struct sender *x) {
  struct sink_influx *s = x->s;
  pthread_mutex_lock(&s->mu);
  if (s->queue_points) take_queue(x);
  pthread_mutex_unlock(&s->mu);
  while (work_left(x)) next_batch(x, x->backoff_ms == 0);
  pthread_mutex_lock(&s->mu);
  s->busy = false;
  pthread_cond_broadcast(&s->idle);
  pthread_mutex_unlock(&s->mu);
}

void *sink__sender_main(void *arg) {
  struct sender x = {.s = arg};
  struct sink_influx *s = x.s;
  x.client = sink__client_new(s->url, s->db, s->rp, s->username, s->password, s->timeout_ms);
  x.need_setup = s->create_database;
  x.seed = (unsigned)vg_now_ns();
  vg_buf_init(&x.work);
  vg_buf_init(&x.record);
  for (;;) {
    pthread_mutex_lock(&s->mu);
    bool stop = wait_for_work(&x);
    pthread_mutex_unlock(&s->mu);
    if (stop) break;
    bool retry_due = vg_now_ms() >= x.next_try_ms;
    if (x.need_setup && retry_due) setup(&x);
    else if (retry_due && !spool_empty(s)) drain_one(&x);
    else if (work_left(&x)) next_batch(&x, true);
  }
  finish(&x);
  sink__client_free(&x.client);
  vg_buf_free(&x.work);
  vg_buf_free(&x.record);
  return NULL;
}
