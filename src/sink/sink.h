/*
 * sink — forwarding market data to the stores the desk already runs. For now one
 * sink: InfluxDB 1.x over HTTP (docs/sinks.md has the config, the delivery guarantees,
 * the spool format and the metrics).
 *
 * From an ingest thread it is three calls:
 *
 *     struct sink_influx *s;
 *     char err[256];
 *     if (sink_influx_open(&cfg->sinks.influx, cfg->state_dir, registry, &s, err,
 *                          sizeof err) < 0)
 *       ... err says why ...
 *     sink_influx_write(s, lines, len);   // any thread, any time; never waits on the network
 *     sink_influx_write_points(s, pts, n); // the same for store points
 *     sink_influx_close(&s);              // what is queued is sent, or spooled to disk
 *
 * The sink owns a sender thread. write() only appends to an in-memory queue (under a
 * mutex held for a memcpy); the sender cuts it into batches of `batch` points (or
 * whatever arrived within `flush`), POSTs each to {url}/write?db=DB[&rp=RP]&precision=ns
 * over one keep-alive connection, and
 *   - on 2xx counts it sent;
 *   - on a network error, a timeout, 5xx, 408 or 429 writes it to the spool
 *     (STATE_DIR/spool/influx/) and retries the spool, oldest first, with exponential
 *     backoff (100 ms doubling to 5 s); during the backoff new batches join the spool
 *     behind the older ones, and once InfluxDB answers the spool is sent first while
 *     new lines wait in memory;
 *   - on any other 4xx logs InfluxDB's message, counts the batch failed and appends it
 *     to STATE_DIR/spool/influx/rejected.lp: a bad batch is never retried.
 * A spooled batch is removed only after a 2xx. Past spool_max the oldest spooled
 * batches are dropped and their points counted (dropped_points). When queued data in
 * memory passes 64 MiB (the sender is stuck in a slow request), write() moves it to
 * the spool itself, so memory stays bounded and nothing waits on InfluxDB.
 *
 * Exactly once: each line must carry an explicit nanosecond timestamp. InfluxDB
 * stores one point per series and timestamp, so a batch sent twice (a timeout after
 * InfluxDB applied it, a restart before the spool head was saved) leaves the same
 * points. With that, every point written is stored exactly once unless it is counted
 * in dropped_points or failed_points.
 *
 * With create_database, the sender first runs CREATE DATABASE and CREATE (or ALTER)
 * RETENTION POLICY for each configured policy, retrying like a write while InfluxDB is
 * unreachable; batches wait in the spool meanwhile.
 */
#ifndef VIGIL_SINK_H
#define VIGIL_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "metrics/metrics.h"
#include "tsdb/tsdb.h"

struct sink_influx;

struct sink_influx_stats {
  uint64_t points_sent, bytes_sent, batches_sent; /* acknowledged with a 2xx */
  uint64_t retries;          /* requests that failed and will be tried again */
  uint64_t failed_batches;   /* rejected by InfluxDB (4xx): in rejected.lp, not retried */
  uint64_t failed_points;
  uint64_t spooled_batches;  /* batches written to the spool */
  uint64_t dropped_points;   /* removed from the spool past spool_max, never sent */
  uint64_t queued_points;    /* in memory, not yet sent or spooled */
  uint64_t spool_points;     /* in the spool, not yet acknowledged */
  uint64_t spool_bytes;
  bool up;                   /* the last request to InfluxDB got an answer */
};

/*
 * Opens the sink for cfg (which must be enabled) and starts its sender thread. The
 * spool lives in state_dir/spool/influx (created; a spool left by an earlier run is
 * sent first). metrics may be NULL; otherwise the vigil_sink_* families are registered
 * in it with the label sink="influx" (docs/sinks.md). cfg is copied: the caller may
 * free it after the call. InfluxDB need not be reachable. Returns 0, or a negative
 * errno with a message in err: -EBUSY when another process has the spool, -errno when
 * password_file or the spool cannot be read.
 */
int sink_influx_open(const struct cfg_influx_sink *cfg, const char *state_dir,
                     struct mt_registry *metrics, struct sink_influx **out, char *err,
                     size_t errlen);
/* Registers the vigil_sink_* families in r without a sink: no series (the list of every
 * metric vigil can expose, src/export/families.c). */
void sink_metrics_describe(struct mt_registry *r);

/*
 * Queues lines[0..len): one or more complete lines of line protocol, each with a
 * nanosecond timestamp (a missing final '\n' is added). Blank and '#' lines are not
 * points and are not counted. Thread-safe; copies the data and returns without
 * waiting for the network. Returns 0, or -errno when the data had to go to the spool
 * (memory full, see above) and the spool could not take it: those points are counted
 * in dropped_points.
 */
int sink_influx_write(struct sink_influx *s, const char *lines, size_t len);

/*
 * The same for store points (the ingest pipeline's sinks hook): each becomes one line
 * with its nanosecond timestamp (lp_encode.h: NaN and infinities, which line protocol
 * cannot carry, are left out). Thread-safe; the points are read during the call only.
 */
int sink_influx_write_points(struct sink_influx *s, const struct tsdb_point *pts, size_t n);

/*
 * Asks for everything queued to be sent now, and waits until nothing is queued in
 * memory, in flight or in the spool, or until timeout_ms passes. Returns 0 or
 * -ETIMEDOUT (what is left stays queued and is sent later).
 */
int sink_influx_flush(struct sink_influx *s, int64_t timeout_ms);

/* A consistent-enough snapshot of the counters (each read atomically). */
void sink_influx_stats(struct sink_influx *s, struct sink_influx_stats *out);

/*
 * Stops the sender: what is queued in memory gets one attempt (and goes to the spool
 * if InfluxDB does not take it, or if the spool already holds older batches); the
 * spool is left for the next open. Frees *s and clears it. The metric series stay in
 * the registry with their last values.
 */
void sink_influx_close(struct sink_influx **s);

#endif
