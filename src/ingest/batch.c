/*
 * batch — the arrays decoded points live in (ingest.h, "batches of points"). They are
 * allocated once at their full size, so a decoder writes each point's tags and fields
 * straight into their final place and no pointer ever needs fixing: a batch whose
 * arrays could run short of room for one more point says so (ingest_batch_full) and
 * is written first.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "ingest/ingest_int.h"

/* Tags and fields per point on average that a batch has room for: a feed's points
 * rarely have more; ones that do make smaller batches. */
#define PER_POINT 4

void ingest_batch_init(struct ingest_batch *b, size_t points, int64_t default_ts, int64_t ts_mult) {
  memset(b, 0, sizeof *b);
  b->cap = points ? points : 4096;
  b->cap_tags = b->cap * PER_POINT + INGEST_MAX_TAGS;
  b->cap_fields = b->cap * PER_POINT + INGEST_MAX_FIELDS;
  b->points = vg_malloc(b->cap * sizeof *b->points);
  b->tags = vg_malloc(b->cap_tags * sizeof *b->tags);
  b->fields = vg_malloc(b->cap_fields * sizeof *b->fields);
  b->series = vg_malloc(b->cap_fields * sizeof *b->series);
  b->default_ts = default_ts;
  b->ts_mult = ts_mult ? ts_mult : 1;
}

void ingest_batch_reset(struct ingest_batch *b) {
  b->n = b->n_tags = b->n_fields = 0;
  b->checksum = 0;
}

void ingest_batch_free(struct ingest_batch *b) {
  free(b->points);
  free(b->tags);
  free(b->fields);
  free(b->series);
  memset(b, 0, sizeof *b);
}

int64_t ingest_precision(const char *s) {
  if (!s || !*s || strcmp(s, "ns") == 0 || strcmp(s, "n") == 0) return 1;
  if (strcmp(s, "us") == 0 || strcmp(s, "u") == 0) return 1000;
  if (strcmp(s, "ms") == 0) return 1000000;
  if (strcmp(s, "s") == 0) return 1000000000;
  return 0;
}
