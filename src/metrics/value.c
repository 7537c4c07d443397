/*
 * Updating a series: lock-free. A counter's or gauge's value is the bit pattern of a
 * double in one 64-bit atomic (an add is a compare-and-swap loop); a histogram counts
 * each observation in one bucket with a plain atomic increment and adds it to its sum.
 * Relaxed ordering: a scrape needs each value to be whole, not a snapshot across values.
 */
#include "metrics/metrics_int.h"

#include <math.h>

static void add_double(_Atomic uint64_t *a, double v) {
  uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(a, &old,
                                                mt__double_to_bits(mt__bits_to_double(old) + v),
                                                memory_order_relaxed, memory_order_relaxed)) {
  }
}

void mt_inc(struct mt_series *s, double v) {
  VG_ASSERT(s && s->fam->type != MT_HISTOGRAM);
  VG_ASSERT(s->fam->type != MT_COUNTER || v >= 0);
  add_double(&s->value, v);
}

void mt_add(struct mt_series *s, double v) { mt_inc(s, v); }

void mt_set(struct mt_series *s, double v) {
  VG_ASSERT(s && s->fam->type != MT_HISTOGRAM);
  atomic_store_explicit(&s->value, mt__double_to_bits(v), memory_order_relaxed);
}

void mt_observe(struct mt_series *s, double v) {
  VG_ASSERT(s && s->fam->type == MT_HISTOGRAM);
  const struct mt_family *f = s->fam;
  /* The first bucket whose upper bound is >= v; NaN lands in +Inf, as in client_golang. */
  size_t lo = 0, hi = f->n_bounds;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (f->bounds[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  if (isnan(v)) lo = f->n_bounds;
  atomic_fetch_add_explicit(&s->buckets[lo], 1, memory_order_relaxed);
  add_double(&s->value, v);
}

double mt_value(const struct mt_series *s) {
  VG_ASSERT(s && s->fam->type != MT_HISTOGRAM);
  return mt__bits_to_double(
      atomic_load_explicit((_Atomic uint64_t *)&s->value, memory_order_relaxed));
}
