/*
 * point — decoded lines into store points (struct tsdb_point) without copying a
 * string: both are spans into the message buffer; only the small tag and field records
 * are copied into arrays a batch sizes once. Also the point checksum that lets a test
 * prove that what a publisher sent is what the store holds, and timestamp precision.
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

void ingest_batch_init(struct ingest_batch *b, size_t cap) {
  memset(b, 0, sizeof *b);
  b->cap = cap ? cap : 4096;
  /* room for 8 tags and 8 fields per point on average; a batch with wider points
   * just fills up sooner */
  b->tags_cap = b->cap * 8 + INGEST_MAX_TAGS;
  b->fields_cap = b->cap * 8 + INGEST_MAX_FIELDS;
  b->pts = vg_calloc(b->cap, sizeof *b->pts);
  b->tags = vg_calloc(b->tags_cap, sizeof *b->tags);
  b->fields = vg_calloc(b->fields_cap, sizeof *b->fields);
}

void ingest_batch_free(struct ingest_batch *b) {
  free(b->pts);
  free(b->tags);
  free(b->fields);
  memset(b, 0, sizeof *b);
}

void ingest_batch_reset(struct ingest_batch *b) { b->n = b->n_tags = b->n_fields = 0; }

int ingest_batch_add(struct ingest_batch *b, const struct ingest_line *line, int64_t ts) {
  if (b->n == b->cap || b->n_tags + line->n_tags > b->tags_cap ||
      b->n_fields + line->n_fields > b->fields_cap)
    return -1;
  struct tsdb_tag *tags = b->tags + b->n_tags;
  struct tsdb_field *fields = b->fields + b->n_fields;
  for (size_t i = 0; i < line->n_tags; i++) {
    tags[i].key = (struct tsdb_str){line->tags[i].key.p, line->tags[i].key.len};
    tags[i].value = (struct tsdb_str){line->tags[i].value.p, line->tags[i].value.len};
  }
  for (size_t i = 0; i < line->n_fields; i++) {
    const struct ingest_field *f = &line->fields[i];
    fields[i].key = (struct tsdb_str){f->key.p, f->key.len};
    fields[i].value.type = (enum tsdb_type)f->type;
    switch (f->type) {
    case INGEST_FLOAT: fields[i].value.v.f = f->v.f; break;
    case INGEST_INT: fields[i].value.v.i = f->v.i; break;
    case INGEST_UINT: fields[i].value.v.u = f->v.u; break;
    case INGEST_BOOL: fields[i].value.v.b = f->v.b; break;
    case INGEST_STRING: fields[i].value.v.s = (struct tsdb_str){f->v.s.p, f->v.s.len}; break;
    }
  }
  b->pts[b->n++] = (struct tsdb_point){
      .measurement = {line->measurement.p, line->measurement.len},
      .tags = tags,
      .n_tags = line->n_tags,
      .fields = fields,
      .n_fields = line->n_fields,
      .ts = line->has_ts ? line->ts : ts,
  };
  b->n_tags += line->n_tags;
  b->n_fields += line->n_fields;
  return 0;
}

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

static const struct {
  const char *name;
  int64_t mult;
} precisions[] = {{"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}};

int ingest_precision_parse(const char *s, enum ingest_precision *out) {
  for (size_t i = 0; i < VG_ARRAY_LEN(precisions); i++)
    if (strcmp(s, precisions[i].name) == 0) {
      *out = (enum ingest_precision)i;
      return 0;
    }
  return -1;
}

const char *ingest_precision_name(enum ingest_precision p) {
  return (size_t)p < VG_ARRAY_LEN(precisions) ? precisions[p].name : "?";
}

int ingest_scale_ts(int64_t ts, enum ingest_precision p, int64_t *out) {
  int64_t m = precisions[p].mult;
  if (m == 1) {
    *out = ts;
    return 0;
  }
  if (ts > INT64_MAX / m || ts < INT64_MIN / m) return -1;
  *out = ts * m;
  return 0;
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
