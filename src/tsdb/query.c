/*
 * query — range queries, bucketed aggregates and last values over raw and rollup data.
 *
 * A series whose policy has dropped old blocks (retention) has raw data only from
 * `dropped_until` on. Before that, a query reads the series' rollups: for an aggregate
 * query the coarsest rule whose interval divides the bucket width, for a raw query the
 * finest rule (its mean, else its last). Buckets that start before the raw data do are
 * computed from rollups, the rest from raw points, so no bucket mixes the two.
 *
 * A fingerprint hashes what a raw query returns (series keys, types, times and values
 * as stored, never a rendering of them), for the compute engine's store inputs.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "tsdb/tsdb_int.h"
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

static const char *const agg_names[TSDB__AGG_N] = {"none", "first", "last", "min",
                                                   "max",  "sum",   "count", "mean"};

const char *tsdb_agg_name(enum tsdb_agg a) { return a < TSDB__AGG_N ? agg_names[a] : "?"; }

int tsdb_agg_parse(const char *s, enum tsdb_agg *out) {
  for (int i = 1; i < TSDB__AGG_N; i++)
    if (strcmp(s, agg_names[i]) == 0) {
      *out = (enum tsdb_agg)i;
      return 0;
    }
  if (strcmp(s, "avg") == 0) {
    *out = TSDB_AGG_MEAN;
    return 0;
  }
  return -1;
}

const char *tsdb_type_name(enum tsdb_type t) {
  static const char *const n[] = {"float", "integer", "unsigned", "boolean", "string"};
  return t <= TSDB_STRING ? n[t] : "?";
}

static void note_query(struct tsdb *db, uint64_t t0) {
  uint64_t ns = vg_now_ns() - t0;
  atomic_fetch_add(&db->queries, 1);
  atomic_fetch_add(&db->query_ns, ns);
  if (db->query_seconds) mt_observe(db->query_seconds, (double)ns / 1e9);
}

/* ---- matching ---- */
static bool series_matches(const struct tsdb__series *s, const struct tsdb_query *q) {
  if (s->rollup >= 0) return false;
  if (q->field && strcmp(q->field, s->field) != 0) return false;
  for (size_t i = 0; i < q->n_tags; i++) {
    bool found = false;
    for (size_t j = 0; j < s->n_tags && !found; j++)
      found = s->tags[j].key.len == q->tags[i].key.len &&
              memcmp(s->tags[j].key.p, q->tags[i].key.p, q->tags[i].key.len) == 0 &&
              s->tags[j].value.len == q->tags[i].value.len &&
              memcmp(s->tags[j].value.p, q->tags[i].value.p, q->tags[i].value.len) == 0;
    if (!found) return false;
  }
  return true;
}

static int cmp_series_key(const void *a, const void *b) {
  const struct tsdb__series *x = *(struct tsdb__series *const *)a,
                            *y = *(struct tsdb__series *const *)b;
  size_t m = x->keylen < y->keylen ? x->keylen : y->keylen;
  int c = memcmp(x->key, y->key, m);
  return c ? c : (x->keylen < y->keylen ? -1 : x->keylen > y->keylen);
}

static struct tsdb__series **match(struct tsdb *db, const struct tsdb_query *q, size_t *n) {
  size_t cap = 16;
  struct tsdb__series **v = vg_malloc(cap * sizeof *v);
  *n = 0;
  pthread_rwlock_rdlock(&db->map_lock);
  for (struct tsdb__series *s = tsdb__map_measurement(&db->map, q->measurement); s;
       s = s->next_in_measurement) {
    if (!series_matches(s, q)) continue;
    if (*n == cap) v = vg_realloc(v, (cap *= 2) * sizeof *v);
    v[(*n)++] = s;
  }
  pthread_rwlock_unlock(&db->map_lock);
  qsort(v, *n, sizeof *v, cmp_series_key);
  return v;
}

/* ---- results ---- */
static struct tsdb_series_data *add_series(struct tsdb_result *r, const struct tsdb__series *s,
                                           enum tsdb_type type) {
  r->series = vg_realloc(r->series, (r->n_series + 1) * sizeof *r->series);
  struct tsdb_series_data *d = &r->series[r->n_series++];
  memset(d, 0, sizeof *d);
  d->key = vg_strndup(s->key, s->keylen);
  d->measurement = vg_strdup(s->measurement);
  d->field = vg_strdup(s->field);
  d->n_tags = s->n_tags;
  d->tags = vg_calloc(s->n_tags ? s->n_tags : 1, sizeof *d->tags);
  for (size_t i = 0; i < s->n_tags; i++) {
    d->tags[i].key = (struct tsdb_str){vg_strdup(s->tags[i].key.p), s->tags[i].key.len};
    d->tags[i].value = (struct tsdb_str){vg_strdup(s->tags[i].value.p), s->tags[i].value.len};
  }
  d->type = type;
  d->raw_from = TSDB_TIME_MIN;
  return d;
}

static void push(struct tsdb_series_data *d, size_t *cap, int64_t ts, const struct tsdb_value *v) {
  if (d->n == *cap) {
    *cap = *cap ? *cap * 2 : 64;
    d->ts = vg_realloc(d->ts, *cap * sizeof *d->ts);
    d->values = vg_realloc(d->values, *cap * sizeof *d->values);
  }
  d->ts[d->n] = ts;
  d->values[d->n] = *v;
  if (v->type == TSDB_STRING) d->values[d->n].v.s.p = vg_strndup(v->v.s.p, v->v.s.len);
  d->n++;
}

void tsdb_result_free(struct tsdb_result *r) {
  for (size_t i = 0; i < r->n_series; i++) {
    struct tsdb_series_data *d = &r->series[i];
    for (size_t k = 0; k < d->n; k++)
      if (d->values[k].type == TSDB_STRING) free((void *)d->values[k].v.s.p);
    for (size_t k = 0; k < d->n_tags; k++) {
      free((void *)d->tags[k].key.p);
      free((void *)d->tags[k].value.p);
    }
    free(d->tags);
    free(d->key);
    free(d->measurement);
    free(d->field);
    free(d->ts);
    free(d->values);
  }
  free(r->series);
  memset(r, 0, sizeof *r);
}

/* ---- aggregation ---- */
struct acc {
  int64_t start;
  double first, last, min, max, sum, count;
  bool any;
};

static void acc_add(struct acc *a, double first, double last, double min, double max, double sum,
                    double count) {
  if (!a->any) {
    a->first = first;
    a->min = min;
    a->max = max;
    a->any = true;
  }
  a->last = last;
  if (min < a->min) a->min = min;
  if (max > a->max) a->max = max;
  a->sum += sum;
  a->count += count;
}

static double acc_value(const struct acc *a, enum tsdb_agg g) {
  switch (g) {
  case TSDB_AGG_FIRST: return a->first;
  case TSDB_AGG_LAST: return a->last;
  case TSDB_AGG_MIN: return a->min;
  case TSDB_AGG_MAX: return a->max;
  case TSDB_AGG_SUM: return a->sum;
  case TSDB_AGG_COUNT: return a->count;
  default: return a->count > 0 ? a->sum / a->count : NAN;
  }
}

static double num(const struct tsdb__col *c, enum tsdb_type t, size_t i) {
  switch (t) {
  case TSDB_FLOAT: return c->v.f[i];
  case TSDB_INT: return (double)c->v.i[i];
  case TSDB_UINT: return (double)c->v.u[i];
  case TSDB_BOOL: return c->v.b[i] ? 1.0 : 0.0;
  default: return NAN;
  }
}

static void emit_acc(struct tsdb_series_data *d, size_t *cap, const struct acc *a, enum tsdb_agg g) {
  if (!a->any) return;
  struct tsdb_value v = {.type = TSDB_FLOAT, .v.f = acc_value(a, g)};
  push(d, cap, a->start, &v);
}

/* Buckets raw points [.., ..) into d. */
static void agg_raw(struct tsdb_series_data *d, size_t *cap, const struct tsdb__col *c,
                    enum tsdb_type t, int64_t every, enum tsdb_agg g) {
  struct acc a = {0};
  for (size_t i = 0; i < c->n; i++) {
    int64_t b = tsdb__floor(c->ts[i], every);
    if (a.any && b != a.start) {
      emit_acc(d, cap, &a, g);
      memset(&a, 0, sizeof a);
    }
    a.start = b;
    double v = num(c, t, i);
    acc_add(&a, v, v, v, v, v, 1);
  }
  emit_acc(d, cap, &a, g);
}

/* The rollup rule to read for s: coarsest dividing every (every > 0) or finest. */
static int pick_rule(const struct tsdb *db, const struct tsdb__series *s, int64_t every) {
  if (!s->rollups) return -1;
  int best = -1;
  for (size_t i = 0; i < db->n_rollups; i++) {
    const struct tsdb__rollup *r = &db->rollups[i];
    bool any = false;
    for (int a = 0; a < TSDB__AGG_N && !any; a++) any = s->rollups[i * TSDB__AGG_N + (size_t)a];
    if (!any) continue;
    if (every && every % r->interval_ns != 0) continue;
    if (best < 0) best = (int)i;
    else if (every ? r->interval_ns > db->rollups[best].interval_ns
                   : r->interval_ns < db->rollups[best].interval_ns)
      best = (int)i;
  }
  return best;
}

/* Reads one aggregate of a rollup rule over [from, to); empty when the rule lacks it. */
static int read_rollup(struct tsdb *db, const struct tsdb__series *s, int rule, enum tsdb_agg g,
                       int64_t from, int64_t to, struct tsdb__col *out, char *err, size_t errlen) {
  struct tsdb__series *r = s->rollups[(size_t)rule * TSDB__AGG_N + g];
  if (!r) return 0;
  return tsdb__read_series(db, NULL, r, from, to, out, err, errlen);
}

/* Aggregated buckets of width every from the rollups of rule over [from, to). */
static int agg_rollup(struct tsdb *db, const struct tsdb__series *s, int rule, int64_t from,
                      int64_t to, int64_t every, enum tsdb_agg g, struct tsdb_series_data *d,
                      size_t *cap, char *err, size_t errlen) {
  static const enum tsdb_agg parts[] = {TSDB_AGG_FIRST, TSDB_AGG_LAST, TSDB_AGG_MIN,
                                        TSDB_AGG_MAX,   TSDB_AGG_SUM,  TSDB_AGG_COUNT};
  struct tsdb__col c[6];
  int rc = 0;
  /* a rollup point stands for its whole bucket: take every bucket overlapping [from, to) */
  from = tsdb__floor(from, db->rollups[rule].interval_ns);
  for (int i = 0; i < 6; i++) {
    tsdb__col_init(&c[i], false);
    bool need = g == parts[i] || (g == TSDB_AGG_MEAN && (parts[i] == TSDB_AGG_SUM ||
                                                         parts[i] == TSDB_AGG_COUNT));
    if (need && rc == 0) rc = read_rollup(db, s, rule, parts[i], from, to, &c[i], err, errlen);
  }
  /* walk the rollup buckets (timestamps are shared by every aggregate of the rule) */
  const struct tsdb__col *lead = NULL;
  for (int i = 0; i < 6 && !lead; i++)
    if (c[i].n) lead = &c[i];
  struct acc a = {0};
  size_t k[6] = {0};
  for (size_t i = 0; rc == 0 && lead && i < lead->n; i++) {
    int64_t t = lead->ts[i];
    double v[6];
    for (int p = 0; p < 6; p++) {
      while (k[p] < c[p].n && c[p].ts[k[p]] < t) k[p]++;
      v[p] = k[p] < c[p].n && c[p].ts[k[p]] == t ? c[p].v.f[k[p]] : NAN;
    }
    int64_t b = tsdb__floor(t, every);
    if (a.any && b != a.start) {
      emit_acc(d, cap, &a, g);
      memset(&a, 0, sizeof a);
    }
    a.start = b;
    acc_add(&a, v[0], v[1], isnan(v[2]) ? INFINITY : v[2], isnan(v[3]) ? -INFINITY : v[3],
            isnan(v[4]) ? 0 : v[4], isnan(v[5]) ? 0 : v[5]);
  }
  emit_acc(d, cap, &a, g);
  for (int i = 0; i < 6; i++) tsdb__col_free(&c[i], TSDB_FLOAT);
  return rc;
}

static int query_series(struct tsdb *db, const struct tsdb_query *q, struct tsdb__series *s,
                        struct tsdb_result *res, char *err, size_t errlen) {
  enum tsdb_agg g = q->agg ? q->agg : TSDB_AGG_MEAN;
  bool aggregated = q->every_ns > 0;
  if (aggregated && s->type == TSDB_STRING) {
    snprintf(err, errlen, "cannot aggregate the string field %s of %s", s->field, s->measurement);
    return -EINVAL;
  }
  int64_t raw_from = db->policies[s->policy].dropped_until;
  int rule = raw_from > q->from ? pick_rule(db, s, q->every_ns) : -1;
  int64_t split = q->from;
  if (rule >= 0) {
    split = raw_from;
    if (aggregated) split = tsdb__floor(raw_from - 1, q->every_ns) + q->every_ns;
    if (split > q->to) split = q->to;
  }
  struct tsdb_series_data *d = add_series(res, s, aggregated ? TSDB_FLOAT : s->type);
  d->raw_from = rule >= 0 ? split : TSDB_TIME_MIN;
  size_t cap = 0;
  int rc = 0;
  if (rule >= 0) {
    if (aggregated) {
      rc = agg_rollup(db, s, rule, q->from, split, q->every_ns, g, d, &cap, err, errlen);
    } else {
      enum tsdb_agg pick = s->rollups[(size_t)rule * TSDB__AGG_N + TSDB_AGG_SUM] &&
                                   s->rollups[(size_t)rule * TSDB__AGG_N + TSDB_AGG_COUNT]
                               ? TSDB_AGG_MEAN
                               : TSDB_AGG_LAST;
      rc = agg_rollup(db, s, rule, q->from, split, db->rollups[rule].interval_ns, pick, d, &cap,
                      err, errlen);
      d->type = TSDB_FLOAT;
    }
  }
  struct tsdb__col c;
  tsdb__col_init(&c, true);
  if (rc == 0 && split < q->to) rc = tsdb__read_series(db, NULL, s, split, q->to, &c, err, errlen);
  if (rc == 0) {
    if (aggregated) {
      agg_raw(d, &cap, &c, s->type, q->every_ns, g);
    } else {
      struct tsdb_value v;
      if (d->n + c.n > cap) { /* one allocation for the whole range */
        cap = d->n + c.n;
        d->ts = vg_realloc(d->ts, cap * sizeof *d->ts);
        d->values = vg_realloc(d->values, cap * sizeof *d->values);
      }
      for (size_t i = 0; i < c.n; i++) {
        tsdb__col_get(&c, s->type, i, &v);
        if (d->type == TSDB_FLOAT && s->type != TSDB_FLOAT)
          v = (struct tsdb_value){.type = TSDB_FLOAT, .v.f = num(&c, s->type, i)};
        push(d, &cap, c.ts[i], &v);
      }
    }
  }
  tsdb__col_free(&c, s->type);
  if (rc == 0 && q->limit && d->n > q->limit) { /* keep the newest */
    size_t drop = d->n - q->limit;
    for (size_t i = 0; i < drop; i++)
      if (d->values[i].type == TSDB_STRING) free((void *)d->values[i].v.s.p);
    memmove(d->ts, d->ts + drop, q->limit * sizeof *d->ts);
    memmove(d->values, d->values + drop, q->limit * sizeof *d->values);
    d->n = q->limit;
  }
  res->points += d->n;
  return rc;
}

static int check_query(const struct tsdb_query *q, char *err, size_t errlen) {
  if (!q->measurement || !*q->measurement) {
    snprintf(err, errlen, "a query needs a measurement");
    return -EINVAL;
  }
  if (q->every_ns < 0) {
    snprintf(err, errlen, "the bucket width must be positive");
    return -EINVAL;
  }
  if (q->agg >= TSDB__AGG_N) {
    snprintf(err, errlen, "unknown aggregate");
    return -EINVAL;
  }
  return 0;
}

int tsdb_query(struct tsdb *db, const struct tsdb_query *q, struct tsdb_result *out, char *err,
               size_t errlen) {
  memset(out, 0, sizeof *out);
  int rc = check_query(q, err, errlen);
  if (rc < 0) return rc;
  uint64_t t0 = vg_now_ns();
  size_t n;
  struct tsdb__series **v = match(db, q, &n);
  for (size_t i = 0; i < n && rc == 0; i++)
    if (q->from < q->to) rc = query_series(db, q, v[i], out, err, errlen);
  free(v);
  if (rc < 0) tsdb_result_free(out);
  note_query(db, t0);
  return rc;
}

/* ---- last values ---- */
/* The newest point of s in the blocks: the chunk with the greatest maxt. */
static bool block_last(struct tsdb *db, struct tsdb__series *s, int64_t *ts, struct tsdb_value *v,
                       struct tsdb__col *keep) {
  struct tsdb__blockset *bs = tsdb__blocks_get(db);
  const struct tsdb__block *best = NULL;
  const struct tsdb__block_series *bser = NULL;
  for (size_t i = 0; i < bs->n; i++) {
    const struct tsdb__block_series *x = tsdb__block_find(bs->b[i], s->key, s->keylen);
    if (!x || x->type != s->type) continue;
    if (!bser || x->chunks[x->n_chunks - 1].maxt >= bser->chunks[bser->n_chunks - 1].maxt) {
      best = bs->b[i];
      bser = x;
    }
  }
  bool found = false;
  char err[256];
  if (bser && tsdb__block_read_chunk(best, bser, bser->n_chunks - 1, keep, err, sizeof err) == 0 &&
      keep->n) {
    *ts = keep->ts[keep->n - 1];
    tsdb__col_get(keep, s->type, keep->n - 1, v);
    if (v->type == TSDB_STRING) v->v.s.p = vg_strndup(v->v.s.p, v->v.s.len);
    found = true;
  }
  tsdb__blockset_unref(bs);
  return found;
}

static void ensure_last(struct tsdb *db, struct tsdb__series *s) {
  pthread_rwlock_rdlock(&db->head_lock);
  bool checked = s->last_checked;
  pthread_rwlock_unlock(&db->head_lock);
  if (checked) return;
  struct tsdb__col keep;
  tsdb__col_init(&keep, false);
  int64_t ts = 0;
  struct tsdb_value v;
  bool found = block_last(db, s, &ts, &v, &keep);
  tsdb__col_free(&keep, s->type);
  pthread_rwlock_wrlock(&db->head_lock);
  if (!s->last_checked && found && (!s->has_last || ts > s->last_ts)) {
    if (s->has_last && s->last.type == TSDB_STRING) free((void *)s->last.v.s.p);
    s->last = v;
    s->last_ts = ts;
    s->has_last = true;
    found = false; /* ownership moved */
  }
  s->last_checked = true;
  pthread_rwlock_unlock(&db->head_lock);
  if (found && v.type == TSDB_STRING) free((void *)v.v.s.p);
}

int tsdb_last(struct tsdb *db, const struct tsdb_query *q, struct tsdb_result *out, char *err,
              size_t errlen) {
  memset(out, 0, sizeof *out);
  int rc = check_query(q, err, errlen);
  if (rc < 0) return rc;
  uint64_t t0 = vg_now_ns();
  size_t n;
  struct tsdb__series **v = match(db, q, &n);
  for (size_t i = 0; i < n; i++) {
    struct tsdb__series *s = v[i];
    ensure_last(db, s);
    pthread_rwlock_rdlock(&db->head_lock);
    if (s->has_last) {
      struct tsdb_series_data *d = add_series(out, s, s->type);
      size_t cap = 0;
      push(d, &cap, s->last_ts, &s->last);
      out->points++;
    }
    pthread_rwlock_unlock(&db->head_lock);
  }
  free(v);
  note_query(db, t0);
  return 0;
}

/* ---- fingerprints ---- */
struct fp {
  XXH3_state_t st;
  unsigned char buf[4096];
  size_t n;
};

static void fp_put(struct fp *f, const void *p, size_t len) {
  if (f->n + len > sizeof f->buf) {
    XXH3_128bits_update(&f->st, f->buf, f->n);
    f->n = 0;
  }
  if (len > sizeof f->buf) {
    XXH3_128bits_update(&f->st, p, len);
    return;
  }
  memcpy(f->buf + f->n, p, len);
  f->n += len;
}

static void fp_u64(struct fp *f, uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i)); /* little-endian everywhere */
  fp_put(f, b, 8);
}

int tsdb_fingerprint(struct tsdb *db, const struct tsdb_query *q, uint8_t out[16], size_t *points,
                     char *err, size_t errlen) {
  struct tsdb_query raw = *q;
  raw.every_ns = 0;
  raw.agg = TSDB_AGG_NONE;
  raw.limit = 0;
  struct tsdb_result r;
  int rc = tsdb_query(db, &raw, &r, err, errlen);
  if (rc < 0) return rc;
  struct fp *f = vg_malloc(sizeof *f);
  XXH3_128bits_reset(&f->st);
  f->n = 0;
  for (size_t i = 0; i < r.n_series; i++) {
    const struct tsdb_series_data *d = &r.series[i];
    if (!d->n) continue; /* a series without points in the range changes nothing */
    fp_put(f, d->key, strlen(d->key) + 1);
    fp_u64(f, (uint64_t)d->type);
    fp_u64(f, (uint64_t)d->n);
    for (size_t k = 0; k < d->n; k++) {
      const struct tsdb_value *v = &d->values[k];
      fp_u64(f, (uint64_t)d->ts[k]);
      switch (v->type) {
      case TSDB_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &v->v.f, sizeof bits);
        fp_u64(f, bits);
        break;
      }
      case TSDB_INT: fp_u64(f, (uint64_t)v->v.i); break;
      case TSDB_UINT: fp_u64(f, v->v.u); break;
      case TSDB_BOOL: fp_u64(f, v->v.b); break;
      case TSDB_STRING:
        fp_u64(f, v->v.s.len);
        fp_put(f, v->v.s.p, v->v.s.len);
        break;
      }
    }
  }
  XXH3_128bits_update(&f->st, f->buf, f->n);
  XXH128_canonical_t cn;
  XXH128_canonicalFromHash(&cn, XXH3_128bits_digest(&f->st));
  memcpy(out, cn.digest, 16);
  if (points) *points = r.points;
  free(f);
  tsdb_result_free(&r);
  return 0;
}
