/*
 * ingest_int — what the files of src/ingest share and nothing else uses: the step that
 * makes a decoded point part of its batch (its time checked and scaled).
 */
#ifndef VIGIL_INGEST_INT_H
#define VIGIL_INGEST_INT_H

#include <stdio.h>

#include "ingest/ingest.h"


/* Makes p, decoded into b's free tail (b->points[b->n], its tags and fields at
 * b->n_tags and b->n_fields), the batch's last point: its time gets the batch's
 * precision, or the default time when the point had none. -1 with err filled (reason
 * timestamp; err->line is the caller's to set) when the time leaves int64 nanoseconds;
 * then the batch is unchanged. */
static inline int ingest__batch_commit(struct ingest_batch *b, struct tsdb_point *p, bool has_ts,
                                       struct ingest_error *err) {
  if (!has_ts) {
    if (b->default_ts == INGEST_TS_CLOCK) b->default_ts = vg_wall_ns();
    p->ts = b->default_ts;
  } else if (b->ts_mult != 1) {
    if (p->ts > INT64_MAX / b->ts_mult || p->ts < INT64_MIN / b->ts_mult) {
      err->line = err->col = 1;
      err->reason = INGEST_R_TIMESTAMP;
      snprintf(err->msg, sizeof err->msg, "timestamp out of range at this precision (int64 nanoseconds)");
      return -1;
    }
    p->ts *= b->ts_mult;
  }
  b->n++;
  b->n_tags += p->n_tags;
  b->n_fields += p->n_fields;
  return 0;
}

#endif
