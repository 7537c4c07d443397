/*
 * batch — decoded line-protocol lines gathered into one tsdb_write call. The points
 * point into the caller's decoded buffer (no string is copied), so a batch is written
 * before that buffer is reused. Used by `vigil store import`, the HTTP /write and import
 * routes.
 */
#ifndef VIGIL_INGEST_BATCH_H
#define VIGIL_INGEST_BATCH_H

#include "ingest/ingest.h"
#include "tsdb/tsdb.h"

struct ingest_batch {
  struct tsdb_point *points;
  size_t n, cap;
  struct tsdb_tag *tags;     /* every point's tags, back to back */
  size_t n_tags, cap_tags;
  struct tsdb_field *fields; /* every point's fields, back to back */
  size_t n_fields, cap_fields;
  int64_t default_ts;        /* for lines without a timestamp, or INGEST_TS_CLOCK */
  int64_t ts_mult;           /* precision: 1 (ns), 1000 (us), 1e6 (ms), 1e9 (s) */
};

/* default_ts: read the wall clock when the first line without a timestamp needs it (and
 * keep that time for the next ones), so a feed whose lines carry timestamps never
 * reads the clock per message. */
#define INGEST_TS_CLOCK INT64_MIN

void ingest_batch_init(struct ingest_batch *b, int64_t default_ts, int64_t ts_mult);
void ingest_batch_reset(struct ingest_batch *b);
void ingest_batch_free(struct ingest_batch *b);
/* Adds a decoded line. -1 (nothing added) when its timestamp overflows at the precision. */
int ingest_batch_add(struct ingest_batch *b, const struct ingest_line *l);
/* The batch's points with their tag and field pointers in place, for a caller that
 * writes them itself (a feed hands them to its sink). Only ingest_batch_reset may
 * follow. */
const struct tsdb_point *ingest_batch_points(struct ingest_batch *b);
/* Writes the batch to db (tsdb_write's result) and empties it. */
int ingest_batch_write(struct ingest_batch *b, struct tsdb *db, struct tsdb_write_result *res);
/* "ns", "u"/"us", "ms", "s" (InfluxDB's names) to a multiplier; 0 when unknown. */
int64_t ingest_precision(const char *s);

#endif
