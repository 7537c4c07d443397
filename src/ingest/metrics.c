/*
 * The feeds' metrics: a collector that copies each feed's counters into the registry
 * at scrape time, so /metrics, `vigil status` and `vigil validate` read the same
 * atomics and cannot drift apart. Names are in docs/metrics.md.
 */
#include <stdlib.h>

#include "core/core.h"
#include "ingest/ingest.h"
#include "metrics/metrics.h"

struct ingest_metrics {
  struct ingest_feed *const *feeds;
  size_t n;
  struct mt_family *messages, *points, *values, *series, *bytes, *errors, *gaps, *missed, *last, *rate,
      *quarantined, *expect;
};

static void collect(struct mt_registry *r, void *arg) {
  struct ingest_metrics *m = arg;
  for (size_t i = 0; i < m->n; i++) {
    struct ingest_feed_stats st;
    ingest_feed_stats(m->feeds[i], &st);
    const char *feed[] = {ingest_feed_name(m->feeds[i])};
    mt_set(mt_get(m->messages, feed), (double)st.messages);
    mt_set(mt_get(m->points, feed), (double)st.points);
    mt_set(mt_get(m->values, feed), (double)st.values);
    mt_set(mt_get(m->series, feed), (double)st.series);
    mt_set(mt_get(m->bytes, feed), (double)st.bytes);
    mt_set(mt_get(m->gaps, feed), (double)st.seq.gaps);
    mt_set(mt_get(m->missed, feed), (double)st.seq.missed);
    mt_set(mt_get(m->quarantined, feed), (double)st.quarantined);
    mt_set(mt_get(m->rate, feed), st.message_rate);
    mt_set(mt_get(m->last, feed), (double)st.last_message_ns / 1e9);
    for (int k = 0; k < INGEST_R_N; k++) {
      const char *lv[] = {feed[0], ingest_reason_name((enum ingest_reason)k)};
      mt_set(mt_get(m->errors, lv), (double)st.errors[k]);
    }
  }
}

/* The families, defined once for the feeds and for ingest_metrics_describe. */
static void families(struct mt_registry *r, struct ingest_metrics *m) {
  static const char *const feed[] = {"feed", NULL};
  static const char *const feed_reason[] = {"feed", "reason", NULL};
  m->messages = mt_counter(r, "vigil_feed_messages_total", "Messages received by the feed.", feed);
  m->points = mt_counter(r, "vigil_feed_points_total",
                         "Points (lines, objects) the feed wrote: the store took every value.", feed);
  m->values = mt_counter(r, "vigil_feed_values_total", "Values (fields of points) the feed wrote.", feed);
  m->series = mt_counter(r, "vigil_feed_series_created_total",
                         "Series the feed created in the store (its max_series counts these).", feed);
  m->bytes = mt_counter(r, "vigil_feed_bytes_total", "Payload bytes received by the feed.", feed);
  m->errors = mt_counter(r, "vigil_feed_decode_errors_total",
                         "Points (or, for frames and too_large, messages) the feed refused, by reason.",
                         feed_reason);
  m->gaps = mt_counter(r, "vigil_feed_gaps_total", "Jumps forward in a sequence number of the feed.", feed);
  m->missed = mt_counter(r, "vigil_feed_missed_messages_total",
                         "Sequence numbers skipped by those jumps: messages the feed never saw.", feed);
  m->quarantined = mt_counter(r, "vigil_feed_quarantined_total",
                              "Refused messages sampled into the feed's quarantine file.", feed);
  m->rate = mt_gauge(r, "vigil_feed_messages_per_second",
                     "Messages received per second over the last second.", feed);
  m->last = mt_gauge(r, "vigil_feed_last_message_timestamp_seconds",
                     "Unix time of the feed's last message; 0 before the first.", feed);
  m->expect = mt_gauge(r, "vigil_feed_expected_messages_per_second",
                       "The feed's expect.rate in the config: messages per second it should receive.",
                       feed);
}

void ingest_metrics_describe(struct mt_registry *r) {
  struct ingest_metrics m;
  families(r, &m);
}

struct ingest_metrics *ingest_metrics_register(struct mt_registry *r, struct ingest_feed *const *feeds,
                                               size_t n) {
  struct ingest_metrics *m = vg_calloc(1, sizeof *m);
  m->feeds = feeds;
  m->n = n;
  families(r, m);
  mt_add_collector(r, collect, m);
  return m;
}

void ingest_metrics_expect(struct ingest_metrics *m, size_t i, double per_second) {
  VG_ASSERT(i < m->n);
  const char *feed[] = {ingest_feed_name(m->feeds[i])};
  mt_set(mt_get(m->expect, feed), per_second);
}

void ingest_metrics_free(struct ingest_metrics *m) { free(m); }
