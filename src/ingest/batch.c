/* batch — decoded lines into tsdb points without copying strings (see batch.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "ingest/batch.h"

void ingest_batch_init(struct ingest_batch *b, int64_t default_ts, int64_t ts_mult) {
  memset(b, 0, sizeof *b);
  b->default_ts = default_ts;
  b->ts_mult = ts_mult ? ts_mult : 1;
}

void ingest_batch_reset(struct ingest_batch *b) { b->n = b->n_tags = b->n_fields = 0; }

void ingest_batch_free(struct ingest_batch *b) {
  free(b->points);
  free(b->tags);
  free(b->fields);
  memset(b, 0, sizeof *b);
}

int64_t ingest_precision(const char *s) {
  if (!s || !*s || strcmp(s, "ns") == 0 || strcmp(s, "n") == 0) return 1;
  if (strcmp(s, "us") == 0 || strcmp(s, "u") == 0) return 1000;
  if (strcmp(s, "ms") == 0) return 1000000;
  if (strcmp(s, "s") == 0) return 1000000000;
  return 0;
}

static struct tsdb_str span(struct ingest_str s) { return (struct tsdb_str){s.p, s.len}; }

int ingest_batch_add(struct ingest_batch *b, const struct ingest_line *l) {
  int64_t ts;
  if (!l->has_ts) {
    if (b->default_ts == INGEST_TS_CLOCK) b->default_ts = vg_wall_ns();
    ts = b->default_ts;
  } else {
    if (l->ts > INT64_MAX / b->ts_mult || l->ts < INT64_MIN / b->ts_mult) return -1;
    ts = l->ts * b->ts_mult;
  }
  if (b->n == b->cap) {
    b->cap = b->cap ? b->cap * 2 : 1024;
    b->points = vg_realloc(b->points, b->cap * sizeof *b->points);
  }
  if (b->n_tags + l->n_tags > b->cap_tags) {
    while (b->n_tags + l->n_tags > b->cap_tags) b->cap_tags = b->cap_tags ? b->cap_tags * 2 : 1024;
    b->tags = vg_realloc(b->tags, b->cap_tags * sizeof *b->tags);
  }
  if (b->n_fields + l->n_fields > b->cap_fields) {
    while (b->n_fields + l->n_fields > b->cap_fields)
      b->cap_fields = b->cap_fields ? b->cap_fields * 2 : 1024;
    b->fields = vg_realloc(b->fields, b->cap_fields * sizeof *b->fields);
  }
  /* tags and fields are kept as offsets while the arrays may still move;
   * ingest_batch_write turns them into pointers */
  struct tsdb_point *p = &b->points[b->n++];
  p->measurement = span(l->measurement);
  p->n_tags = l->n_tags;
  p->n_fields = l->n_fields;
  p->ts = ts;
  p->tags = (const struct tsdb_tag *)(uintptr_t)b->n_tags;
  p->fields = (const struct tsdb_field *)(uintptr_t)b->n_fields;
  for (size_t i = 0; i < l->n_tags; i++)
    b->tags[b->n_tags++] = (struct tsdb_tag){span(l->tags[i].key), span(l->tags[i].value)};
  for (size_t i = 0; i < l->n_fields; i++) {
    const struct ingest_field *f = &l->fields[i];
    struct tsdb_field *o = &b->fields[b->n_fields++];
    o->key = span(f->key);
    o->value.type = (enum tsdb_type)f->type;
    switch (f->type) {
    case INGEST_FLOAT: o->value.v.f = f->v.f; break;
    case INGEST_INT: o->value.v.i = f->v.i; break;
    case INGEST_UINT: o->value.v.u = f->v.u; break;
    case INGEST_BOOL: o->value.v.b = f->v.b; break;
    case INGEST_STRING: o->value.v.s = span(f->v.s); break;
    }
  }
  return 0;
}

const struct tsdb_point *ingest_batch_points(struct ingest_batch *b) {
  for (size_t i = 0; i < b->n; i++) {
    struct tsdb_point *p = &b->points[i];
    p->tags = b->tags + (uintptr_t)p->tags;
    p->fields = b->fields + (uintptr_t)p->fields;
  }
  return b->points;
}

int ingest_batch_write(struct ingest_batch *b, struct tsdb *db, struct tsdb_write_result *res) {
  ingest_batch_points(b);
  int rc = b->n ? tsdb_write(db, b->points, b->n, res) : 0;
  if (!b->n && res) memset(res, 0, sizeof *res);
  ingest_batch_reset(b);
  return rc;
}
