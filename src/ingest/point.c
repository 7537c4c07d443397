/*
 * point — the point checksum that lets a test prove that what a publisher sent is what
 * the store holds (ingest.h defines it), and the names of the reasons a
 * feed refuses something.
 */
#include <stdlib.h>
#include <string.h>
/* inlined: a feed hashes every value it writes, and on short inputs a call costs as
 * much as the hash */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/core.h"
#include "ingest/ingest.h"

/* The checksum hashes its parts where they lie, chaining the seeds, rather than
 * copying them into one buffer first: a hash that reads bytes just written by smaller
 * stores waits for them (store forwarding fails), which cost more than the hashing. */

/* The seed of a series' value hashes (see ingest.h). */
static uint64_t series_seed(const char *m, size_t mlen, const struct tsdb_tag *tags, size_t n_tags) {
  uint64_t h = XXH3_64bits(m, mlen);
  for (size_t i = 0; i < n_tags; i++) {
    h = XXH3_64bits_withSeed(tags[i].key.p, tags[i].key.len, h);
    h = XXH3_64bits_withSeed(tags[i].value.p, tags[i].value.len, h);
  }
  return h;
}

/* The hash of one value of the series whose seed is given (see ingest.h); x is the
 * value as 64 bits (a string's: the hash of its bytes). */
static uint64_t value_hash_bits(uint64_t seed, const char *field, size_t flen, int64_t ts,
                                enum tsdb_type type, uint64_t x) {
  uint64_t k = XXH3_64bits_withSeed(field, flen, seed);
  uint64_t tv[2] = {(uint64_t)ts, x};
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
  tv[0] = __builtin_bswap64(tv[0]), tv[1] = __builtin_bswap64(tv[1]);
#endif
  return XXH3_64bits_withSeed(tv, sizeof tv, k + (uint64_t)type);
}

static uint64_t value_hash(uint64_t seed, const char *field, size_t flen, int64_t ts,
                           const struct tsdb_value *v) {
  uint64_t x = 0;
  switch (v->type) {
  case TSDB_FLOAT: memcpy(&x, &v->v.f, 8); break;
  case TSDB_INT: x = (uint64_t)v->v.i; break;
  case TSDB_UINT: x = v->v.u; break;
  case TSDB_BOOL: x = v->v.b ? 1 : 0; break;
  case TSDB_STRING: x = XXH3_64bits(v->v.s.p, v->v.s.len); break;
  }
  return value_hash_bits(seed, field, flen, ts, v->type, x);
}

uint64_t ingest_value_checksum(const char *measurement, size_t mlen, const struct tsdb_tag *tags,
                               size_t n_tags, const char *field, size_t flen, int64_t ts,
                               const struct tsdb_value *v) {
  return value_hash(series_seed(measurement, mlen, tags, n_tags), field, flen, ts, v);
}

uint64_t ingest_point_checksum(const struct tsdb_point *p) {
  uint64_t seed = series_seed(p->measurement.p, p->measurement.len, p->tags, p->n_tags), sum = 0;
  for (size_t i = 0; i < p->n_fields; i++) {
    const struct tsdb_field *f = &p->fields[i];
    sum += value_hash(seed, f->key.p, f->key.len, p->ts, &f->value);
  }
  return sum;
}

static const char *const reason_names[INGEST_R_N] = {
    [INGEST_R_SYNTAX] = "syntax",       [INGEST_R_SCHEMA] = "schema",
    [INGEST_R_TIMESTAMP] = "timestamp", [INGEST_R_SEQ] = "seq",
    [INGEST_R_FRAMES] = "frames",       [INGEST_R_TOO_LARGE] = "too_large",
    [INGEST_R_STORE] = "store",         [INGEST_R_CARDINALITY] = "cardinality",
};

const char *ingest_reason_name(enum ingest_reason r) {
  return (size_t)r < INGEST_R_N ? reason_names[r] : "unknown";
}
