/*
 * sink internals shared by the files of src/sink/ (not part of the contract).
 *
 *   sink.c     open/write/flush/stats/close, the in-memory queue, the metrics
 *   sender.c   the sender thread: batching, sending, spooling, backoff
 *   client.c   libcurl: POST /write and /query, and what an answer means
 *   setup.c    CREATE DATABASE / RETENTION POLICY
 *   rejected.c the file of batches InfluxDB refused
 *   spool.c    the on-disk queue (spool.h)
 */
#ifndef VIGIL_SINK_INT_H
#define VIGIL_SINK_INT_H

#include "sink/sink.h"
#include "sink/spool.h"

#include <pthread.h>
#include <stdatomic.h>

/* Bytes of one POST at most (InfluxDB's default max-body-size is 25 MB). */
#define SINK__MAX_BATCH_BYTES (8u << 20)
/* Queued bytes in memory beyond which write() spools them itself. */
#define SINK__MAX_QUEUED_BYTES (64u << 20)
#define SINK__BACKOFF_MIN_MS 100
#define SINK__BACKOFF_MAX_MS 5000

/* ---- client.c ---- */

enum sink__outcome {
  SINK__OK,     /* 2xx (and, for a query, no statement error) */
  SINK__RETRY,  /* network error, timeout, 5xx, 408, 429: try again later */
  SINK__REJECT, /* any other answer: this request will never succeed */
};

struct sink__reply {
  long status;   /* HTTP status; 0 when there was no answer */
  char msg[512]; /* InfluxDB's error, or curl's, or "" */
};

/* What an HTTP status means for a request (0: no answer). */
enum sink__outcome sink__classify(long status);

/* InfluxDB's message in a JSON answer: the top-level "error", or the first
 * results[].error; "" when there is none. */
void sink__influx_error(const char *body, size_t len, char *msg, size_t msglen);

struct sink__client;
struct sink__client *sink__client_new(const char *url, const char *db, const char *rp,
                                      const char *username, const char *password,
                                      int64_t timeout_ms);
void sink__client_free(struct sink__client **c);
enum sink__outcome sink__client_write(struct sink__client *c, const char *body, size_t len,
                                      struct sink__reply *r);
/* POST /query with q; a 2xx whose results hold an error is SINK__REJECT. */
enum sink__outcome sink__client_query(struct sink__client *c, const char *q,
                                      struct sink__reply *r);

/* ---- setup.c ---- */

/* An InfluxQL duration for ms ("7d", "36h", "5400s"; "INF" for 0). */
void sink__influxql_duration(int64_t ms, char *buf, size_t len);
/* Creates the database and the retention policies (ALTER when one exists with other
 * settings). SINK__RETRY when InfluxDB did not answer; SINK__REJECT (logged) when it
 * refused a statement. *r gets the last answer. */
enum sink__outcome sink__setup(struct sink__client *c, const char *db,
                               const struct cfg_influx_rp *rps, size_t n_rps,
                               struct sink__reply *r);

/* ---- rejected.c ---- */

/* Appends a refused batch to path with a '#' line saying when and why; rotates the
 * file to path.1 past 64 MiB. Failures are logged, never fatal. */
void sink__reject_append(const char *path, const struct sink__reply *r, const char *batch,
                         size_t len, uint64_t points);

/* ---- the sink ---- */

enum sink__counter {
  SINK__C_POINTS_SENT,
  SINK__C_BYTES_SENT,
  SINK__C_BATCHES_SENT,
  SINK__C_RETRIES,
  SINK__C_FAILED_BATCHES,
  SINK__C_FAILED_POINTS,
  SINK__C_SPOOLED_BATCHES,
  SINK__C_N
};

struct sink_influx {
  /* copied from the config */
  char *url, *db, *rp, *username, *password;
  struct cfg_influx_rp *rps;
  size_t n_rps;
  bool create_database;
  uint64_t batch;
  int64_t flush_ms, timeout_ms;
  char *rejected_path;

  pthread_t thread;
  pthread_mutex_t mu;   /* the queue and the flags below */
  pthread_cond_t wake;  /* the sender waits on it */
  pthread_cond_t idle;  /* flush() waits on it */
  struct vg_buf queue;  /* complete lines, not yet taken by the sender */
  uint64_t queue_points;
  uint64_t queue_since_ms; /* when the oldest queued line arrived */
  int flush_waiters;
  bool stopping;
  bool busy;            /* the sender holds lines taken from the queue */
  int spilling;         /* write() calls moving a queue to the spool (sink.c, spill) */

  /* The spool. Never held together with mu: who needs to know whether the spool is
   * empty while holding mu reads spool_bytes, so a write() never waits behind a spool
   * fsync through the sender. */
  pthread_mutex_t spool_mu;
  struct sink__spool *spool;
  _Atomic uint64_t spool_bytes; /* sink__spool_bytes(), refreshed after every change */

  _Atomic uint64_t counters[SINK__C_N];
  _Atomic uint64_t queued_points; /* queue + the sender's current lines */
  _Atomic uint64_t dropped_extra; /* lost in write() when the spool failed */
  _Atomic bool up;

  struct mt_series *m_counters[SINK__C_N];
  struct mt_series *m_dropped, *m_queued, *m_spool_points, *m_spool_bytes, *m_up;
};

void *sink__sender_main(void *arg);
void sink__count(struct sink_influx *s, enum sink__counter c, uint64_t v);
/* Refreshes spool_bytes and the spool gauges after a change; spool_mu held. */
void sink__spool_gauges(struct sink_influx *s);
void sink__set_up(struct sink_influx *s, bool up);
/* Lines and points in text[0..len): complete lines, blank and '#' lines not counted. */
uint64_t sink__count_points(const char *text, size_t len);

#endif
