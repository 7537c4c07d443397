/*
 * read — every point of one series in a time range, from the blocks, the frozen head
 * being flushed and the live head, merged in time order. Equal timestamps keep the
 * value written last: sources are gathered oldest first (blocks by sequence, then the
 * frozen head, then the head, each in write order) and a stable sort keeps the last.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/tsdb_int.h"

struct tsdb__blockset *tsdb__blocks_get(struct tsdb *db) {
  pthread_rwlock_rdlock(&db->head_lock);
  struct tsdb__blockset *bs = db->blocks;
  atomic_fetch_add(&bs->refs, 1);
  pthread_rwlock_unlock(&db->head_lock);
  return bs;
}

/* Appends the points of the sorted column in (a decoded chunk) within [from, to): cut
 * by binary search and copied in bulk; strings one by one (out may own them). */
static void copy_range(struct tsdb__col *out, const struct tsdb__col *in, enum tsdb_type t,
                       int64_t from, int64_t to) {
  if (t != TSDB_STRING) {
    size_t lo = 0, hi = in->n;
    while (lo < hi) { /* first ts >= from */
      size_t mid = (lo + hi) / 2;
      if (in->ts[mid] < from) lo = mid + 1;
      else hi = mid;
    }
    size_t a = lo;
    hi = in->n;
    while (lo < hi) { /* first ts >= to */
      size_t mid = (lo + hi) / 2;
      if (in->ts[mid] < to) lo = mid + 1;
      else hi = mid;
    }
    size_t n = lo - a, sz = tsdb__type_size(t);
    tsdb__col_reserve(out, t, n);
    memcpy(out->ts + out->n, in->ts + a, n * sizeof *in->ts);
    memcpy((char *)out->v.any + out->n * sz, (const char *)in->v.any + a * sz, n * sz);
    out->n += n;
    return;
  }
  struct tsdb_value v;
  for (size_t i = 0; i < in->n; i++) {
    if (in->ts[i] < from || in->ts[i] >= to) continue;
    tsdb__col_get(in, t, i, &v);
    tsdb__col_push(out, t, in->ts[i], &v);
  }
}

struct order {
  int64_t ts;
  size_t idx;
};

static int cmp_order(const void *a, const void *b) {
  const struct order *x = a, *y = b;
  if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sorts col by time (stable) and keeps the last of equal timestamps. */
void tsdb__sort_dedupe(struct tsdb__col *c, enum tsdb_type t) {
  bool sorted = true;
  for (size_t i = 1; i < c->n && sorted; i++) sorted = c->ts[i - 1] < c->ts[i];
  if (sorted) return;
  struct order *o = vg_malloc(c->n * sizeof *o);
  for (size_t i = 0; i < c->n; i++) o[i] = (struct order){c->ts[i], i};
  qsort(o, c->n, sizeof *o, cmp_order);
  struct tsdb__col out;
  tsdb__col_init(&out, false);
  struct tsdb_value v;
  for (size_t i = 0; i < c->n; i++) {
    if (i + 1 < c->n && o[i + 1].ts == o[i].ts) {
      if (t == TSDB_STRING && c->owns_strings) free((void *)c->v.s[o[i].idx].p);
      continue;
    }
    tsdb__col_get(c, t, o[i].idx, &v);
    tsdb__col_push(&out, t, o[i].ts, &v); /* moves string ownership */
  }
  free(o);
  bool owns = c->owns_strings;
  free(c->ts);
  free(c->v.any);
  *c = out;
  c->owns_strings = owns;
}

int tsdb__read_series(struct tsdb *db, struct tsdb__blockset *bs_in, struct tsdb__series *s,
                      int64_t from, int64_t to, struct tsdb__col *out, char *err, size_t errlen) {
  struct tsdb__col mem;
  tsdb__col_init(&mem, true);
  pthread_rwlock_rdlock(&db->head_lock);
  struct tsdb__blockset *bs = bs_in ? bs_in : db->blocks;
  atomic_fetch_add(&bs->refs, 1);
  tsdb__head_copy_range(&mem, &s->frozen, s->type, from, to);
  tsdb__head_copy_range(&mem, &s->head, s->type, from, to);
  pthread_rwlock_unlock(&db->head_lock);

  int rc = 0;
  struct tsdb__col tmp;
  tsdb__col_init(&tmp, false);
  /* size the output once: a day of ticks is one allocation, not twenty reallocs */
  size_t total = mem.n;
  for (size_t i = 0; i < bs->n; i++) {
    const struct tsdb__block *b = bs->b[i];
    if (b->maxt < from || b->mint >= to) continue;
    const struct tsdb__block_series *bsr = tsdb__block_find(b, s->key, s->keylen);
    for (size_t c = 0; bsr && c < bsr->n_chunks; c++)
      if (bsr->chunks[c].maxt >= from && bsr->chunks[c].mint < to) total += bsr->chunks[c].count;
  }
  tsdb__col_reserve(out, s->type, total);
  for (size_t i = 0; i < bs->n && rc == 0; i++) {
    const struct tsdb__block *b = bs->b[i];
    if (b->maxt < from || b->mint >= to) continue;
    const struct tsdb__block_series *bsr = tsdb__block_find(b, s->key, s->keylen);
    if (!bsr) continue;
    if (bsr->type != s->type) continue; /* an older life of the key; never mixed */
    for (size_t c = 0; c < bsr->n_chunks && rc == 0; c++) {
      const struct tsdb__chunk_ref *r = &bsr->chunks[c];
      if (r->maxt < from || r->mint >= to) continue;
      if (r->mint >= from && r->maxt < to && s->type != TSDB_STRING) {
        rc = tsdb__block_read_chunk(b, bsr, c, out, err, errlen); /* whole chunk: in place */
        continue;
      }
      tmp.n = 0;
      rc = tsdb__block_read_chunk(b, bsr, c, &tmp, err, errlen);
      if (rc == 0) copy_range(out, &tmp, s->type, from, to);
    }
  }
  tsdb__col_free(&tmp, s->type);
  if (rc == 0) {
    struct tsdb_value v;
    for (size_t i = 0; i < mem.n; i++) {
      tsdb__col_get(&mem, s->type, i, &v);
      tsdb__col_push(out, s->type, mem.ts[i], &v);
    }
    tsdb__sort_dedupe(out, s->type);
  } else {
    atomic_fetch_add(&db->corrupt_blocks, 1);
  }
  tsdb__col_free(&mem, s->type);
  tsdb__blockset_unref(bs);
  return rc;
}
