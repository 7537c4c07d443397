/*
 * feed — one ZeroMQ socket and the two threads that serve it. The feed thread receives
 * each message straight into a message buffer (zmq_recv copies once, nothing is
 * allocated per message), decodes it in place, every line or object straight into a
 * store point in the batch (pointing into the buffer), and hands a few thousand points
 * at a time to the writer thread, which writes them through the feed's target
 * (ingest_write: the store with the feed's series limit, then the sinks and the
 * latest-value hook) while the feed thread decodes the next ones. A batch is also
 * handed over when the socket goes quiet or 50 ms after its first point, so a slow feed
 * is not delayed.
 *
 * The hand-over is one slot: the feed thread waits while the writer still has a batch,
 * so at most two batches are in flight. There are two message buffers, used in turn: a
 * batch handed over points into the buffer being filled, so when that one is full the
 * feed thread moves to the other, after waiting for the writer if its batch points
 * there.
 *
 * Bad messages never stop a feed: each refusal is counted by reason and sampled into
 * the quarantine file. Counters are atomics read by other threads (status, metrics).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "core/core.h"
#include "ingest/ingest_int.h"

#define RECV_TIMEOUT_MS 50
#define FLUSH_AFTER_NS (50 * 1000000LL)

struct ingest_feed {
  char *name;
  struct ingest_feed_opts o; /* strings below are owned copies */
  char **endpoints, **topics, **seq_key, **json_tags, **json_fields, **json_ints;
  char *seq_field, *quarantine_path, *json_measurement_key, *json_measurement, *json_time_key;
  struct ingest_target target;
  char source[80]; /* "feed:NAME", the cache's name for where its points come from */
  void *ctx, *sock;
  pthread_t thread;
  atomic_bool stop;

  /* the feed thread's own */
  char *bufs[2], *buf, *raw; /* buf: bufs[cur]; raw: the message before decoding rewrote it */
  int cur;
  size_t buf_cap, buf_used, max_msg;
  struct ingest_batch batch; /* its checksum: of its points, added once written */
  int64_t batch_first_ns; /* monotonic, of the batch's first point */
  struct ingest_seq *seq;
  struct ingest_quarantine *q;
  const char *msg; /* the message being decoded, for the quarantine */
  size_t msg_len;
  bool msg_quarantined;
  int64_t recv_wall_ns;

  /* the hand-over to the writer thread (under wmu) */
  pthread_t writer;
  bool writer_started, writer_stop, has_pending;
  pthread_mutex_t wmu, qmu; /* qmu: the quarantine, which both threads add to */
  pthread_cond_t work, idle;
  struct ingest_batch pending;
  int pending_buf; /* the message buffer the pending batch points into */
  uint64_t refused_logged_ns; /* writer thread: when a refused batch was last logged */

  /* shared counters */
  _Atomic uint64_t messages, points, values, bytes, errors[INGEST_R_N], series, quarantined,
      batches, store_failures, checksum;
  _Atomic int64_t last_message_ns;
  _Atomic uint64_t message_rate_bits, point_rate_bits;
};

static void add(_Atomic uint64_t *c, uint64_t v) { atomic_fetch_add_explicit(c, v, memory_order_relaxed); }
static uint64_t get(_Atomic uint64_t *c) { return atomic_load_explicit(c, memory_order_relaxed); }

static void quarantine(struct ingest_feed *f, enum ingest_reason r, const char *why,
                       const char *msg, size_t len) {
  pthread_mutex_lock(&f->qmu);
  if (ingest_quarantine_add(f->q, r, why, msg, len)) add(&f->quarantined, 1);
  pthread_mutex_unlock(&f->qmu);
}

static void refuse(struct ingest_feed *f, enum ingest_reason r, const char *why) {
  add(&f->errors[r], 1);
  if (f->msg_quarantined) return; /* one sample per message is enough */
  f->msg_quarantined = true;
  quarantine(f, r, why, f->msg, f->msg_len);
}

/* Writer thread: one batch through the target, and the counters. */
static void write_batch(struct ingest_feed *f, struct ingest_batch *b) {
  size_t max_new = TSDB_NO_LIMIT;
  if (f->o.max_series) {
    uint64_t made = get(&f->series);
    max_new = made < f->o.max_series ? f->o.max_series - made : 0;
  }
  size_t n = b->n;
  struct ingest_written w;
  int rc = ingest_write(&f->target, b, max_new, &w);
  if (rc < 0) {
    add(&f->store_failures, 1);
    /* a full disk refuses every batch: one line every 10 s, the count says the rest */
    uint64_t now = vg_now_coarse_ns();
    if (!f->refused_logged_ns || now - f->refused_logged_ns >= 10 * 1000000000ull) {
      f->refused_logged_ns = now;
      VG_ERROR("feed: the store refused a batch", VF_S("feed", f->name), VF_I("points", n),
               VF_S("error", strerror(-rc)), VF_I("refused_batches", get(&f->store_failures)));
    }
  }
  add(&f->checksum, w.checksum);
  add(&f->points, w.points);
  add(&f->values, w.values);
  add(&f->series, w.series_created);
  for (int r = INGEST_R_STORE; r <= INGEST_R_CARDINALITY; r++) {
    if (!w.refused[r]) continue;
    add(&f->errors[r], w.refused[r]);
    quarantine(f, (enum ingest_reason)r, w.why, "", 0);
  }
  add(&f->batches, 1);
}

static void *writer_run(void *arg) {
  struct ingest_feed *f = arg;
  pthread_mutex_lock(&f->wmu);
  for (;;) {
    while (!f->has_pending && !f->writer_stop) pthread_cond_wait(&f->work, &f->wmu);
    if (!f->has_pending) break; /* stopping, and nothing left */
    pthread_mutex_unlock(&f->wmu);
    write_batch(f, &f->pending);
    pthread_mutex_lock(&f->wmu);
    f->has_pending = false;
    pthread_cond_signal(&f->idle);
  }
  pthread_mutex_unlock(&f->wmu);
  return NULL;
}

/* Feed thread: hands the batch to the writer (waiting while it still has the last one)
 * and goes on with the writer's emptied batch. */
static void flush(struct ingest_feed *f) {
  if (f->batch.n == 0) return;
  pthread_mutex_lock(&f->wmu);
  while (f->has_pending) pthread_cond_wait(&f->idle, &f->wmu);
  struct ingest_batch empty = f->pending;
  f->pending = f->batch;
  f->pending_buf = f->cur;
  f->has_pending = true;
  pthread_cond_signal(&f->work);
  pthread_mutex_unlock(&f->wmu);
  f->batch = empty;
}

/* Hands the batch over and starts filling the other message buffer (see the top),
 * once the writer is done with any batch that points into that one: when the buffer
 * now full made no points (comments, refusals), the batch handed over before it may
 * still be in the writer's hands. */
static void flush_and_rewind(struct ingest_feed *f) {
  flush(f);
  pthread_mutex_lock(&f->wmu);
  while (f->has_pending && f->pending_buf != f->cur) pthread_cond_wait(&f->idle, &f->wmu);
  pthread_mutex_unlock(&f->wmu);
  f->cur ^= 1;
  f->buf = f->bufs[f->cur];
  f->buf_used = 0;
}

static bool seq_of(const struct tsdb_point *l, const char *field, int64_t *seq) {
  size_t n = strlen(field);
  for (size_t i = 0; i < l->n_fields; i++) {
    const struct tsdb_field *fl = &l->fields[i];
    if (fl->key.len != n || memcmp(fl->key.p, field, n) != 0) continue;
    const struct tsdb_value *v = &fl->value;
    switch (v->type) {
    case TSDB_INT: *seq = v->v.i; return true;
    case TSDB_UINT:
      if (v->v.u > INT64_MAX) return false;
      *seq = (int64_t)v->v.u;
      return true;
    case TSDB_FLOAT:
      /* JSON numbers are floats unless mapped as ints; whole ones are fine */
      if (!(v->v.f >= -9e15 && v->v.f <= 9e15) || v->v.f != (double)(int64_t)v->v.f) return false;
      *seq = (int64_t)v->v.f;
      return true;
    default: return false;
    }
  }
  return false;
}

static void on_point(void *arg, struct ingest_batch *b, const struct tsdb_point *p,
                     const struct ingest_error *err) {
  struct ingest_feed *f = arg;
  if (err) {
    char why[200];
    snprintf(why, sizeof why, "%zu:%zu: %s", err->line, err->col, err->msg);
    refuse(f, err->reason, why);
    return;
  }
  /* summed per point, while the decoded point is at hand */
  b->checksum += ingest_point_checksum(p);
  if (b->n == 1) f->batch_first_ns = (int64_t)vg_now_coarse_ns();
  if (f->seq) {
    int64_t s;
    if (seq_of(p, f->seq_field, &s)) ingest_seq_note(f->seq, p, s, f->recv_wall_ns);
    else refuse(f, INGEST_R_SEQ, "the sequence field is missing or not an integer");
  }
  if (ingest_batch_full(b)) flush(f);
}

static void decode(struct ingest_feed *f, char *p, size_t n) {
  f->msg_len = n;
  f->msg_quarantined = false;
  /* per message, the clock the kernel keeps at each tick (ms resolution) is enough for
   * "last message at" and for dating gaps; a line without a timestamp gets the
   * precise time of its message from the batch (INGEST_TS_CLOCK) */
  f->recv_wall_ns = vg_wall_coarse_ns();
  f->batch.default_ts = INGEST_TS_CLOCK;
  add(&f->messages, 1);
  add(&f->bytes, n);
  atomic_store_explicit(&f->last_message_ns, f->recv_wall_ns, memory_order_relaxed);
  /* decoding rewrites escapes in place (and only those: without a backslash the
   * bytes stay as they are); the quarantine wants the bytes as they came */
  if (memchr(p, '\\', n)) {
    memcpy(f->raw, p, n);
    f->msg = f->raw;
  } else {
    f->msg = p;
  }
  if (f->o.format == INGEST_JSON) ingest_json_parse(p, n, &f->o.json, &f->batch, on_point, f, NULL);
  else ingest_lp_parse_batch(p, n, &f->batch, on_point, f, NULL);
}

static bool more_frames(void *sock) {
  int more = 0;
  size_t sz = sizeof more;
  return zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) == 0 && more;
}

/* Receives one message (single frame, or [topic, payload]) into the buffer and decodes
 * it. Returns 0, or -1 when nothing came (EAGAIN / interrupted). */
static int receive(struct ingest_feed *f, int flags) {
  if (f->buf_cap - f->buf_used < f->max_msg) flush_and_rewind(f);
  char *p = f->buf + f->buf_used;
  size_t room = f->buf_cap - f->buf_used;
  int n = zmq_recv(f->sock, p, room, flags);
  if (n < 0) return -1;
  int frames = 1;
  bool too_large = (size_t)n > f->max_msg;
  while (more_frames(f->sock)) {
    /* the frame before was a topic: the next one overwrites it */
    n = zmq_recv(f->sock, p, room, 0);
    if (n < 0) return -1;
    frames++;
    too_large = (size_t)n > f->max_msg;
  }
  size_t len = too_large ? f->max_msg : (size_t)n;
  if (frames > 2 || too_large) {
    f->msg = p;
    f->msg_len = len;
    f->msg_quarantined = false;
    add(&f->messages, 1);
    add(&f->bytes, (size_t)n);
    atomic_store_explicit(&f->last_message_ns, vg_wall_coarse_ns(), memory_order_relaxed);
    if (too_large) {
      char why[96];
      snprintf(why, sizeof why, "message of %d bytes, max %zu", n, f->max_msg);
      refuse(f, INGEST_R_TOO_LARGE, why);
    } else {
      char why[96];
      snprintf(why, sizeof why, "%d frames (expected 1, or 2: topic and payload)", frames);
      refuse(f, INGEST_R_FRAMES, why);
    }
    return 0;
  }
  f->buf_used += len;
  decode(f, p, len);
  return 0;
}

static void store_rate(_Atomic uint64_t *bits, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  atomic_store_explicit(bits, u, memory_order_relaxed);
}

static double load_rate(_Atomic uint64_t *bits) {
  uint64_t u = atomic_load_explicit(bits, memory_order_relaxed);
  double v;
  memcpy(&v, &u, sizeof v);
  return v;
}

static void *run(void *arg) {
  struct ingest_feed *f = arg;
  uint64_t rate_at = vg_now_coarse_ns(), msgs0 = 0, pts0 = 0;
  while (!atomic_load(&f->stop)) {
    /* with points waiting, do not block: a quiet socket means write them now */
    if (receive(f, f->batch.n ? ZMQ_DONTWAIT : 0) < 0) {
      if (f->batch.n) flush_and_rewind(f);
    } else if (f->batch.n && (int64_t)vg_now_coarse_ns() - f->batch_first_ns > FLUSH_AFTER_NS) {
      flush(f);
    }
    uint64_t now = vg_now_coarse_ns();
    if (now - rate_at >= 1000000000ull) {
      double dt = (double)(now - rate_at) / 1e9;
      uint64_t m = get(&f->messages), p = get(&f->points);
      store_rate(&f->message_rate_bits, (double)(m - msgs0) / dt);
      store_rate(&f->point_rate_bits, (double)(p - pts0) / dt);
      msgs0 = m, pts0 = p, rate_at = now;
    }
  }
  flush(f);
  return NULL;
}

static char **copy_strv(const char *const *v, size_t n) {
  char **out = vg_calloc(n + 1, sizeof *out);
  for (size_t i = 0; i < n; i++) out[i] = vg_strdup(v[i]);
  return out;
}

static char *dup_or_null(const char *s) { return s ? vg_strdup(s) : NULL; }

/* Writes what the writer still has, then stops it. */
static void stop_writer(struct ingest_feed *f) {
  if (!f->writer_started) return;
  pthread_mutex_lock(&f->wmu);
  f->writer_stop = true;
  pthread_cond_signal(&f->work);
  pthread_mutex_unlock(&f->wmu);
  pthread_join(f->writer, NULL);
  f->writer_started = false;
}

static void feed_free(struct ingest_feed *f) {
  stop_writer(f);
  if (f->sock) zmq_close(f->sock);
  if (f->ctx) zmq_ctx_term(f->ctx);
  vg_strv_free(f->endpoints);
  vg_strv_free(f->topics);
  vg_strv_free(f->seq_key);
  vg_strv_free(f->json_tags);
  vg_strv_free(f->json_fields);
  vg_strv_free(f->json_ints);
  free(f->seq_field);
  free(f->quarantine_path);
  free(f->json_measurement_key);
  free(f->json_measurement);
  free(f->json_time_key);
  free(f->name);
  free(f->bufs[0]);
  free(f->bufs[1]);
  free(f->raw);
  ingest_batch_free(&f->batch);
  ingest_batch_free(&f->pending);
  pthread_mutex_destroy(&f->wmu);
  pthread_mutex_destroy(&f->qmu);
  pthread_cond_destroy(&f->work);
  pthread_cond_destroy(&f->idle);
  ingest_seq_free(f->seq);
  ingest_quarantine_close(f->q);
  free(f);
}

int ingest_feed_start(const struct ingest_feed_opts *opts, const struct ingest_target *target,
                      struct ingest_feed **out, char *err, size_t errlen) {
  struct ingest_feed *f = vg_calloc(1, sizeof *f);
  f->o = *opts;
  f->name = vg_strdup(opts->name);
  f->o.name = f->name;
  f->endpoints = copy_strv(opts->endpoints, opts->n_endpoints);
  f->o.endpoints = (const char *const *)f->endpoints;
  f->topics = copy_strv(opts->topics, opts->n_topics);
  f->o.topics = (const char *const *)f->topics;
  f->seq_key = copy_strv(opts->seq_key, opts->n_seq_key);
  f->o.seq_key = (const char *const *)f->seq_key;
  f->json_tags = copy_strv(opts->json.tag_keys, opts->json.n_tag_keys);
  f->o.json.tag_keys = (const char *const *)f->json_tags;
  f->json_fields = copy_strv(opts->json.field_keys, opts->json.n_field_keys);
  f->o.json.field_keys = (const char *const *)f->json_fields;
  f->json_ints = copy_strv(opts->json.int_keys, opts->json.n_int_keys);
  f->o.json.int_keys = (const char *const *)f->json_ints;
  f->o.json.measurement_key = f->json_measurement_key = dup_or_null(opts->json.measurement_key);
  f->o.json.measurement = f->json_measurement = dup_or_null(opts->json.measurement);
  f->o.json.time_key = f->json_time_key = dup_or_null(opts->json.time_key);
  f->o.seq_field = f->seq_field = dup_or_null(opts->seq_field);
  f->o.quarantine_path = f->quarantine_path = dup_or_null(opts->quarantine_path);
  if (target) f->target = *target;
  snprintf(f->source, sizeof f->source, "feed:%s", f->name);
  f->target.source = f->source;

  f->buf_cap = opts->buffer_bytes ? opts->buffer_bytes : (size_t)4 << 20;
  f->max_msg = f->buf_cap / 4;
  f->buf = f->bufs[0] = vg_malloc(f->buf_cap);
  f->bufs[1] = vg_malloc(f->buf_cap);
  f->raw = vg_malloc(f->max_msg);
  ingest_batch_init(&f->batch, opts->batch_points, 0, opts->ts_mult);
  ingest_batch_init(&f->pending, opts->batch_points, 0, opts->ts_mult);
  pthread_mutex_init(&f->wmu, NULL);
  pthread_mutex_init(&f->qmu, NULL);
  pthread_cond_init(&f->work, NULL);
  pthread_cond_init(&f->idle, NULL);
  if (f->seq_field) f->seq = ingest_seq_new(opts->seq_key, opts->n_seq_key);
  f->q = ingest_quarantine_open(f->quarantine_path, opts->quarantine_keep, 0);

  f->ctx = zmq_ctx_new();
  f->sock = f->ctx ? zmq_socket(f->ctx, opts->socket == INGEST_SUB ? ZMQ_SUB : ZMQ_PULL) : NULL;
  if (!f->sock) {
    snprintf(err, errlen, "feed %s: cannot create a ZeroMQ socket: %s", f->name, zmq_strerror(zmq_errno()));
    goto fail;
  }
  int timeout = RECV_TIMEOUT_MS, linger = 0, rcvbuf = 4 << 20;
  int hwm = opts->hwm > 0 ? opts->hwm : opts->socket == INGEST_SUB ? INGEST_HWM_SUB : INGEST_HWM_PULL;
  zmq_setsockopt(f->sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
  zmq_setsockopt(f->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
  zmq_setsockopt(f->sock, ZMQ_LINGER, &linger, sizeof linger);
  zmq_setsockopt(f->sock, ZMQ_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (opts->socket == INGEST_SUB) {
    if (opts->n_topics == 0) zmq_setsockopt(f->sock, ZMQ_SUBSCRIBE, "", 0);
    for (size_t i = 0; i < opts->n_topics; i++)
      zmq_setsockopt(f->sock, ZMQ_SUBSCRIBE, f->topics[i], strlen(f->topics[i]));
  }
  for (size_t i = 0; i < opts->n_endpoints; i++) {
    int rc = opts->bind ? zmq_bind(f->sock, f->endpoints[i]) : zmq_connect(f->sock, f->endpoints[i]);
    if (rc < 0) {
      snprintf(err, errlen, "feed %s: cannot %s %s: %s", f->name, opts->bind ? "bind" : "connect",
               f->endpoints[i], zmq_strerror(zmq_errno()));
      goto fail;
    }
  }
  int rc = pthread_create(&f->writer, NULL, writer_run, f);
  if (rc) {
    snprintf(err, errlen, "feed %s: cannot start its writer thread: %s", f->name, strerror(rc));
    goto fail;
  }
  f->writer_started = true;
  rc = pthread_create(&f->thread, NULL, run, f);
  if (rc) {
    snprintf(err, errlen, "feed %s: cannot start its thread: %s", f->name, strerror(rc));
    goto fail;
  }
  /* thread names: at most 15 bytes, so the feed's name is cut */
  char tname[16];
  snprintf(tname, sizeof tname, "feed-%s", f->name);
  pthread_setname_np(f->thread, tname);
  snprintf(tname, sizeof tname, "fwrite-%s", f->name);
  pthread_setname_np(f->writer, tname);
  *out = f;
  return 0;
fail:
  feed_free(f);
  return -1;
}

void ingest_feed_stop(struct ingest_feed *f) {
  if (!f) return;
  atomic_store(&f->stop, true);
  pthread_join(f->thread, NULL); /* its last batch is handed over */
  feed_free(f);                  /* which the writer writes before it stops */
}

const char *ingest_feed_name(const struct ingest_feed *f) { return f->name; }

void ingest_feed_stats(struct ingest_feed *f, struct ingest_feed_stats *st) {
  memset(st, 0, sizeof *st);
  st->messages = get(&f->messages);
  st->points = get(&f->points);
  st->values = get(&f->values);
  st->series = get(&f->series);
  st->bytes = get(&f->bytes);
  for (int r = 0; r < INGEST_R_N; r++) st->errors[r] = get(&f->errors[r]);
  st->quarantined = get(&f->quarantined);
  st->batches = get(&f->batches);
  st->store_failures = get(&f->store_failures);
  st->checksum = get(&f->checksum);
  st->last_message_ns = atomic_load_explicit(&f->last_message_ns, memory_order_relaxed);
  st->message_rate = load_rate(&f->message_rate_bits);
  st->point_rate = load_rate(&f->point_rate_bits);
  if (f->seq) ingest_seq_read(f->seq, &st->seq, NULL, 0);
}

size_t ingest_feed_gaps(struct ingest_feed *f, struct ingest_gap *gaps, size_t max) {
  return f->seq ? ingest_seq_read(f->seq, NULL, gaps, max) : 0;
}
