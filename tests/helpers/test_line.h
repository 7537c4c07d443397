/*
 * test_line — a decoded point with room of its own for its tags and fields, the way the
 * ingest tests and fuzz targets look at one: the decoders write a point's tags and
 * fields into arrays the caller gives (ingest.h), and a batch callback's point lives
 * only until the batch is reset. Header only.
 */
#ifndef VIGIL_TEST_LINE_H
#define VIGIL_TEST_LINE_H

#include <string.h>

#include "ingest/ingest.h"

/* The default time of the tests' batches: a point that has it had no timestamp. */
#define TEST_NO_TS (INT64_MIN + 7)

struct test_line {
  struct tsdb_str measurement;
  struct tsdb_tag tags[INGEST_MAX_TAGS];
  size_t n_tags;
  struct tsdb_field fields[INGEST_MAX_FIELDS];
  size_t n_fields;
  int64_t ts;
  bool has_ts;
};

/* ingest_lp_parse_line into *l. */
static inline int test_parse_line(char *b, size_t n, struct test_line *l, struct ingest_error *e) {
  struct tsdb_point p;
  int rc = ingest_lp_parse_line(b, n, &p, l->tags, l->fields, &l->has_ts, e);
  l->measurement = p.measurement;
  l->n_tags = p.n_tags;
  l->n_fields = p.n_fields;
  l->ts = p.ts;
  return rc;
}

/* A copy of a batch's point (decoded with TEST_NO_TS as the default time). */
static inline void test_line_of(struct test_line *l, const struct tsdb_point *p) {
  l->measurement = p->measurement;
  l->n_tags = p->n_tags;
  l->n_fields = p->n_fields;
  memcpy(l->tags, p->tags, p->n_tags * sizeof *p->tags);
  memcpy(l->fields, p->fields, p->n_fields * sizeof *p->fields);
  l->has_ts = p->ts != TEST_NO_TS;
  l->ts = l->has_ts ? p->ts : 0;
}

/* The point of *l (pointing into it). */
static inline struct tsdb_point test_point(const struct test_line *l) {
  return (struct tsdb_point){l->measurement, l->tags, l->n_tags, l->fields, l->n_fields, l->ts};
}

#endif
