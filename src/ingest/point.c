/*
 * point — the point checksum that lets a test prove that what a publisher sent is what
 * the store holds (ingest.h gives the canonical bytes), and the names of the reasons a
 * feed refuses something. Lines become store points in batch.c.
 */
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "core/core.h"
#include "ingest/ingest.h"

_Static_assert((int)INGEST_FLOAT == (int)TSDB_FLOAT && (int)INGEST_INT == (int)TSDB_INT &&
                   (int)INGEST_UINT == (int)TSDB_UINT && (int)INGEST_BOOL == (int)TSDB_BOOL &&
                   (int)INGEST_STRING == (int)TSDB_STRING,
               "ingest and tsdb value types are numbered alike");

/* The canonical bytes of one field value, after the series prefix already in b[0..n):
 * field \0 ts type value (ts and numbers as 8 little-endian bytes, a bool as one byte,
 * a string as its bytes). Returns the new length, or 0 when it does not fit. */
static size_t put_value(char *b, size_t n, size_t cap, const char *field, size_t flen, int64_t ts,
                        const struct tsdb_value *v) {
  size_t need = n + flen + 1 + 8 + 1 + (v->type == TSDB_STRING ? v->v.s.len : 8);
  if (need > cap) return 0;
  memcpy(b + n, field, flen), n += flen;
  b[n++] = '\0';
  uint64_t u = (uint64_t)ts, x = 0;
  for (int i = 0; i < 8; i++) b[n++] = (char)(u >> (8 * i));
  b[n++] = (char)v->type;
  switch (v->type) {
  case TSDB_FLOAT: memcpy(&x, &v->v.f, 8); break;
  case TSDB_INT: x = (uint64_t)v->v.i; break;
  case TSDB_UINT: x = v->v.u; break;
  case TSDB_BOOL: b[n++] = v->v.b ? 1 : 0; return n;
  case TSDB_STRING: memcpy(b + n, v->v.s.p, v->v.s.len); return n + v->v.s.len;
  }
  for (int i = 0; i < 8; i++) b[n++] = (char)(x >> (8 * i));
  return n;
}

/* measurement \0 (key \0 value \0)... into b; 0 when it does not fit. */
static size_t put_series(char *b, size_t cap, const char *m, size_t mlen, const struct tsdb_tag *tags,
                         size_t n_tags) {
  size_t n = 0;
  if (mlen + 1 > cap) return 0;
  memcpy(b, m, mlen), n = mlen;
  b[n++] = '\0';
  for (size_t i = 0; i < n_tags; i++) {
    if (n + tags[i].key.len + tags[i].value.len + 2 > cap) return 0;
    memcpy(b + n, tags[i].key.p, tags[i].key.len), n += tags[i].key.len;
    b[n++] = '\0';
    memcpy(b + n, tags[i].value.p, tags[i].value.len), n += tags[i].value.len;
    b[n++] = '\0';
  }
  return n;
}

/* The same bytes through the streaming interface, for a point too large for the stack. */
static uint64_t slow_checksum(const char *m, size_t mlen, const struct tsdb_tag *tags, size_t n_tags,
                              const char *field, size_t flen, int64_t ts, const struct tsdb_value *v) {
  XXH3_state_t st;
  char tail[32];
  XXH3_64bits_reset(&st);
  XXH3_64bits_update(&st, m, mlen);
  XXH3_64bits_update(&st, "", 1);
  for (size_t i = 0; i < n_tags; i++) {
    XXH3_64bits_update(&st, tags[i].key.p, tags[i].key.len);
    XXH3_64bits_update(&st, "", 1);
    XXH3_64bits_update(&st, tags[i].value.p, tags[i].value.len);
    XXH3_64bits_update(&st, "", 1);
  }
  XXH3_64bits_update(&st, field, flen);
  struct tsdb_value head = *v;
  if (v->type == TSDB_STRING) head.v.s.len = 0;
  size_t n = put_value(tail, 0, sizeof tail, "", 0, ts, &head);
  XXH3_64bits_update(&st, tail, n);
  if (v->type == TSDB_STRING) XXH3_64bits_update(&st, v->v.s.p, v->v.s.len);
  return XXH3_64bits_digest(&st);
}

uint64_t ingest_value_checksum(const char *measurement, size_t mlen, const struct tsdb_tag *tags,
                               size_t n_tags, const char *field, size_t flen, int64_t ts,
                               const struct tsdb_value *v) {
  char b[1024];
  size_t n = put_series(b, sizeof b, measurement, mlen, tags, n_tags);
  size_t end = n ? put_value(b, n, sizeof b, field, flen, ts, v) : 0;
  if (!end) return slow_checksum(measurement, mlen, tags, n_tags, field, flen, ts, v);
  return XXH3_64bits(b, end);
}

uint64_t ingest_point_checksum(const struct tsdb_point *p) {
  char b[1024];
  uint64_t sum = 0;
  size_t n = put_series(b, sizeof b, p->measurement.p, p->measurement.len, p->tags, p->n_tags);
  for (size_t i = 0; i < p->n_fields; i++) {
    const struct tsdb_field *f = &p->fields[i];
    size_t end = n ? put_value(b, n, sizeof b, f->key.p, f->key.len, p->ts, &f->value) : 0;
    sum += end ? XXH3_64bits(b, end)
               : slow_checksum(p->measurement.p, p->measurement.len, p->tags, p->n_tags, f->key.p,
                               f->key.len, p->ts, &f->value);
  }
  return sum;
}

static struct tsdb_value value_of(const struct ingest_field *f) {
  struct tsdb_value v = {.type = (enum tsdb_type)f->type};
  switch (f->type) {
  case INGEST_FLOAT: v.v.f = f->v.f; break;
  case INGEST_INT: v.v.i = f->v.i; break;
  case INGEST_UINT: v.v.u = f->v.u; break;
  case INGEST_BOOL: v.v.b = f->v.b; break;
  case INGEST_STRING: v.v.s = (struct tsdb_str){f->v.s.p, f->v.s.len}; break;
  }
  return v;
}

uint64_t ingest_line_checksum(const struct ingest_line *l, int64_t ts) {
  struct tsdb_tag tags[INGEST_MAX_TAGS];
  struct tsdb_field fields[INGEST_MAX_FIELDS];
  for (size_t i = 0; i < l->n_tags; i++)
    tags[i] = (struct tsdb_tag){{l->tags[i].key.p, l->tags[i].key.len}, {l->tags[i].value.p, l->tags[i].value.len}};
  for (size_t i = 0; i < l->n_fields; i++)
    fields[i] = (struct tsdb_field){{l->fields[i].key.p, l->fields[i].key.len}, value_of(&l->fields[i])};
  struct tsdb_point p = {{l->measurement.p, l->measurement.len}, tags, l->n_tags, fields, l->n_fields, ts};
  return ingest_point_checksum(&p);
}

static const char *const reason_names[INGEST_R_N] = {
    [INGEST_R_SYNTAX] = "syntax",       [INGEST_R_SCHEMA] = "schema",
    [INGEST_R_TIMESTAMP] = "timestamp", [INGEST_R_SEQ] = "seq",
    [INGEST_R_FRAMES] = "frames",       [INGEST_R_TOO_LARGE] = "too_large",
    [INGEST_R_STORE] = "store",
};

const char *ingest_reason_name(enum ingest_reason r) {
  return (size_t)r < INGEST_R_N ? reason_names[r] : "unknown";
}
