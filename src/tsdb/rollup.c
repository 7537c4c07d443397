/*
 * rollup — downsampling: every interval, the numeric series of a source policy are
 * aggregated into rollup series kept in a target policy with its own retention.
 *
 * A rollup series is an ordinary series whose key is its raw series' key followed by
 * "\x1f" rule "." aggregate, holding one float per bucket at the bucket's start. Rules
 * keep first/last/min/max/sum/count (mean is sum/count, so it can be re-aggregated).
 * Rollup points go through the normal write path, so they are logged, flushed and
 * compacted like everything else, and rewriting a bucket replaces it (same timestamp).
 *
 * Each rule computes the buckets that ended before now, from where it stopped
 * (done_until); a write into an already computed bucket moves dirty_from back so the
 * next pass recomputes from there: late data is never silently left out.
 */
#include <math.h>
#include <string.h>

#include "tsdb/tsdb_int.h"

/* Under write_mu. */
void tsdb__rollup_note_write(struct tsdb *db, const struct tsdb__series *s, int64_t ts) {
  for (size_t i = 0; i < db->n_rollups; i++) {
    struct tsdb__rollup *r = &db->rollups[i];
    if (r->source == s->policy && ts < r->done_until && ts < r->dirty_from) r->dirty_from = ts;
  }
}

struct bucket {
  int64_t start;
  double first, last, min, max, sum;
  uint64_t count;
};

static double as_double(const struct tsdb__col *c, enum tsdb_type t, size_t i) {
  switch (t) {
  case TSDB_FLOAT: return c->v.f[i];
  case TSDB_INT: return (double)c->v.i[i];
  case TSDB_UINT: return (double)c->v.u[i];
  default: return NAN;
  }
}

static double bucket_value(const struct bucket *b, enum tsdb_agg a) {
  switch (a) {
  case TSDB_AGG_FIRST: return b->first;
  case TSDB_AGG_LAST: return b->last;
  case TSDB_AGG_MIN: return b->min;
  case TSDB_AGG_MAX: return b->max;
  case TSDB_AGG_SUM: return b->sum;
  case TSDB_AGG_COUNT: return (double)b->count;
  default: return b->count ? b->sum / (double)b->count : NAN;
  }
}

/* Writes the buckets of one series for every stored aggregate. */
static int emit(struct tsdb *db, size_t rule, const struct tsdb__series *s,
                const struct bucket *b, size_t n) {
  const struct tsdb__rollup *r = &db->rollups[rule];
  struct tsdb_point *pts = vg_malloc((n ? n : 1) * sizeof *pts);
  struct tsdb_field *fields = vg_malloc((n ? n : 1) * sizeof *fields);
  int rc = 0;
  for (int a = TSDB_AGG_FIRST; a < TSDB__AGG_N && rc == 0; a++) {
    if (!(r->aggs & (1u << a))) continue;
    for (size_t i = 0; i < n; i++) {
      fields[i] = (struct tsdb_field){{s->field, strlen(s->field)},
                                      {.type = TSDB_FLOAT, .v.f = bucket_value(&b[i], (enum tsdb_agg)a)}};
      pts[i] = (struct tsdb_point){{s->measurement, strlen(s->measurement)}, s->tags, s->n_tags,
                                   &fields[i], 1, b[i].start};
    }
    struct tsdb_write_result res;
    rc = tsdb__write_internal(db, pts, n, &res, (int16_t)rule, (uint8_t)a);
    atomic_fetch_add(&db->rollup_points, res.values);
  }
  free(pts);
  free(fields);
  return rc;
}

/* Aggregates col (sorted) into buckets of width w. */
static size_t aggregate(const struct tsdb__col *c, enum tsdb_type t, int64_t w, struct bucket **out,
                        size_t *cap) {
  size_t n = 0;
  for (size_t i = 0; i < c->n; i++) {
    int64_t start = tsdb__floor(c->ts[i], w);
    double v = as_double(c, t, i);
    if (!n || (*out)[n - 1].start != start) {
      if (n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        *out = vg_realloc(*out, *cap * sizeof **out);
      }
      (*out)[n++] = (struct bucket){start, v, v, v, v, 0, 0};
    }
    struct bucket *b = &(*out)[n - 1];
    b->last = v;
    if (v < b->min) b->min = v;
    if (v > b->max) b->max = v;
    b->sum += v;
    b->count++;
  }
  return n;
}

static int run_rule(struct tsdb *db, size_t rule, int64_t now) {
  struct tsdb__rollup *r = &db->rollups[rule];
  pthread_mutex_lock(&db->write_mu);
  int64_t from = r->done_until < r->dirty_from ? r->done_until : r->dirty_from;
  r->dirty_from = TSDB_TIME_MAX;
  pthread_mutex_unlock(&db->write_mu);
  int64_t end = tsdb__floor(now, r->interval_ns);
  if (from != TSDB_TIME_MIN) from = tsdb__floor(from, r->interval_ns);
  if (from >= end) return 0;

  /* the raw numeric series of the source policy */
  pthread_rwlock_rdlock(&db->map_lock);
  struct tsdb__series **v = vg_malloc((db->map.n + 1) * sizeof *v);
  size_t n = 0;
  for (size_t i = 0; i < db->map.cap; i++) {
    struct tsdb__series *s = db->map.slots[i];
    if (s && s->rollup < 0 && s->policy == r->source && s->type <= TSDB_UINT) v[n++] = s;
  }
  pthread_rwlock_unlock(&db->map_lock);

  int rc = 0;
  struct bucket *b = NULL;
  size_t cap = 0;
  struct tsdb__col col;
  tsdb__col_init(&col, true);
  char err[256];
  /* a day (or one bucket, if wider) at a time keeps memory bounded */
  int64_t step = r->interval_ns > TSDB__DAY_NS ? r->interval_ns : TSDB__DAY_NS;
  for (size_t i = 0; i < n && rc == 0; i++) {
    int64_t lo = from;
    if (lo == TSDB_TIME_MIN) {
      tsdb__col_free(&col, v[i]->type);
      /* find the first point: read everything before end once (first run only) */
      rc = tsdb__read_series(db, NULL, v[i], TSDB_TIME_MIN, end, &col, err, sizeof err);
      if (rc < 0 || !col.n) continue;
      lo = tsdb__floor(col.ts[0], r->interval_ns);
    }
    for (int64_t t = lo; t < end && rc == 0; t = t > end - step ? end : t + step) {
      int64_t hi = t > end - step ? end : t + step;
      tsdb__col_free(&col, v[i]->type);
      rc = tsdb__read_series(db, NULL, v[i], t, hi, &col, err, sizeof err);
      if (rc == 0 && col.n) {
        size_t nb = aggregate(&col, v[i]->type, r->interval_ns, &b, &cap);
        rc = emit(db, rule, v[i], b, nb);
      }
    }
  }
  tsdb__col_free(&col, TSDB_FLOAT);
  free(b);
  free(v);
  if (rc < 0) {
    VG_ERROR("store: rollup failed; it will be retried", VF_S("rule", r->name), VF_S("error", err));
    pthread_mutex_lock(&db->write_mu);
    if (from < r->dirty_from) r->dirty_from = from;
    pthread_mutex_unlock(&db->write_mu);
    return rc;
  }
  pthread_mutex_lock(&db->write_mu);
  if (end > r->done_until) r->done_until = end;
  pthread_mutex_unlock(&db->write_mu);
  return 0;
}

int tsdb__rollups_run(struct tsdb *db, int64_t now) {
  int rc = 0;
  for (size_t i = 0; i < db->n_rollups; i++) {
    int r = run_rule(db, i, now);
    if (r < 0) rc = r;
  }
  /* the rollup points must be durable before the watermarks that say they exist */
  if (db->n_rollups && tsdb_sync(db) == 0) (void)tsdb__write_state(db);
  return rc;
}
