/*
 * pipeline — the one way points get in (ingest.h, "the way into the store and the
 * sinks"): a batch of decoded points is written to the store with the source's series
 * limit, counted in points and values, and what the store took goes on to the sinks
 * and the latest-value hook. Feeds call ingest_write from their writer threads; HTTP
 * /write and `vigil store import` call ingest_load_lp, which decodes and writes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "ingest/ingest_int.h"

/* The store's refusals of one write, as they are reported. */
struct refusals {
  struct ingest_batch *b;
  struct ingest_written *w;
  uint8_t *drop; /* per value of b->fields: refused; allocated at the first refusal */
  size_t last;   /* the point of the last refusal: a point is counted once */
};

static void on_refused(void *arg, size_t point, size_t field, enum tsdb_refusal why) {
  struct refusals *r = arg;
  const struct tsdb_point *p = &r->b->points[point];
  if (!r->drop) r->drop = vg_calloc(r->b->n_fields, 1);
  r->drop[(size_t)(p->fields - r->b->fields) + field] = 1;
  if (point != r->last) {
    r->last = point;
    r->w->refused[why == TSDB_REFUSED_CARDINALITY ? INGEST_R_CARDINALITY : INGEST_R_STORE]++;
  }
  const struct tsdb_field *f = &p->fields[field];
  r->w->checksum -= ingest_value_checksum(p->measurement.p, p->measurement.len, p->tags,
                                          p->n_tags, f->key.p, f->key.len, p->ts, &f->value);
}

/* Leaves the refused values out of their points, and points left with none out of the
 * batch. Returns how many points remain. */
static size_t drop_refused(struct ingest_batch *b, const uint8_t *drop) {
  size_t np = 0;
  for (size_t i = 0; i < b->n; i++) {
    struct tsdb_point p = b->points[i];
    size_t base = (size_t)(p.fields - b->fields), k = 0;
    struct tsdb_field *fs = b->fields + base;
    for (size_t f = 0; f < p.n_fields; f++)
      if (!drop[base + f]) fs[k++] = fs[f];
    p.n_fields = k;
    if (k) b->points[np++] = p;
  }
  return np;
}

int ingest_write(const struct ingest_target *t, struct ingest_batch *b, size_t max_new_series,
                 struct ingest_written *w) {
  memset(w, 0, sizeof *w);
  w->checksum = b->checksum;
  size_t n = b->n;
  int rc = 0;
  if (n && t && t->store) {
    struct refusals r = {.b = b, .w = w, .last = SIZE_MAX};
    struct tsdb_write_opts o = {.max_new_series = max_new_series, .refused = on_refused, .arg = &r};
    struct tsdb_write_result res;
    rc = tsdb_write_with(t->store, b->points, n, &o, &res);
    if (rc < 0) {
      memset(w, 0, sizeof *w);
      w->refused[INGEST_R_STORE] = n;
      snprintf(w->why, sizeof w->why, "the store cannot write: %s", strerror(-rc));
      free(r.drop);
      ingest_batch_reset(b);
      return rc;
    }
    w->values = res.values;
    w->refused_values = res.refused;
    w->series_created = res.series_created;
    w->points = n - w->refused[INGEST_R_STORE] - w->refused[INGEST_R_CARDINALITY];
    if (res.refused) memcpy(w->why, res.why, sizeof w->why);
    if (r.drop) {
      n = drop_refused(b, r.drop);
      free(r.drop);
    }
  } else {
    w->points = n;
    w->values = b->n_fields;
  }
  if (n && t && t->sinks) t->sinks(t->sinks_arg, b->points, n);
  if (n && t && t->cache) t->cache(t->cache_arg, t->source, b->points, n);
  ingest_batch_reset(b);
  return rc;
}

/* ---- a buffer of line protocol from one source ---- */

struct load {
  const struct ingest_target *t;
  struct ingest_loaded *out;
  void (*on_error)(void *arg, const struct ingest_error *e);
  void *arg;
};

static void add_written(struct ingest_written *sum, const struct ingest_written *w) {
  sum->points += w->points;
  sum->values += w->values;
  for (int r = 0; r < INGEST_R_N; r++) sum->refused[r] += w->refused[r];
  sum->refused_values += w->refused_values;
  sum->series_created += w->series_created;
  if (!sum->why[0] && w->why[0]) memcpy(sum->why, w->why, sizeof sum->why);
}

static void load_write(struct load *l, struct ingest_batch *b) {
  struct ingest_written w;
  int rc = ingest_write(l->t, b, TSDB_NO_LIMIT, &w);
  if (rc < 0 && !l->out->rc) l->out->rc = rc;
  add_written(&l->out->w, &w);
}

static void load_point(void *arg, struct ingest_batch *b, const struct tsdb_point *p,
                       const struct ingest_error *err) {
  struct load *l = arg;
  if (!p) {
    l->out->rejected++;
    if (l->on_error) l->on_error(l->arg, err);
    return;
  }
  l->out->decoded++;
  if (ingest_batch_full(b)) load_write(l, b);
}

void ingest_load_lp(const struct ingest_target *t, char *buf, size_t len, int64_t ts_mult,
                    int64_t default_ts,
                    void (*on_error)(void *arg, const struct ingest_error *e), void *arg,
                    struct ingest_loaded *out) {
  memset(out, 0, sizeof *out);
  struct load l = {t, out, on_error, arg};
  struct ingest_batch b;
  ingest_batch_init(&b, 5000, default_ts, ts_mult);
  ingest_lp_parse_batch(buf, len, &b, load_point, &l, NULL);
  if (b.n) load_write(&l, &b);
  ingest_batch_free(&b);
}
