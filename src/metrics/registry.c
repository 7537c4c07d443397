/*
 * The registry: families kept sorted by name, each with its series kept sorted by
 * label values, so that rendering is one pass in order. Both arrays are searched by
 * bisection and grown by insertion under the registry mutex; registering and the
 * first mt_get of a label set are rare, rendering is frequent.
 */
#include "metrics/metrics_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void mt__lock(struct mt_registry *r) { VG_ASSERT(pthread_mutex_lock(&r->mu) == 0); }

void mt__unlock(struct mt_registry *r) { VG_ASSERT(pthread_mutex_unlock(&r->mu) == 0); }

struct mt_registry *mt_registry_new(void) {
  struct mt_registry *r = vg_calloc(1, sizeof *r);
  VG_ASSERT(pthread_mutex_init(&r->mu, NULL) == 0);
  return r;
}

static void series_free(struct mt_series *s) {
  for (size_t i = 0; i < s->fam->n_labels; i++) free(s->values[i]);
  free(s->values);
  free(s->labels);
  free(s);
}

static void family_free(struct mt_family *f) {
  for (size_t i = 0; i < f->n_series; i++) series_free(f->series[i]);
  free(f->series);
  for (size_t i = 0; i < f->n_labels; i++) free(f->labels[i]);
  free(f->labels);
  if (f->le_text) {
    for (size_t i = 0; i <= f->n_bounds; i++) {
      free(f->le_text[i]);
      free(f->le_om[i]);
    }
  }
  free(f->le_text);
  free(f->le_om);
  free(f->bounds);
  free(f->name);
  free(f->om_name);
  free(f->help);
  free(f);
}

void mt_registry_free(struct mt_registry *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_fams; i++) family_free(r->fams[i]);
  free(r->fams);
  for (size_t i = 0; i < r->n_cols; i++)
    if (r->cols[i].free_arg) r->cols[i].free_arg(r->cols[i].arg);
  free(r->cols);
  pthread_mutex_destroy(&r->mu);
  free(r);
}

/* ---- families ---- */

/* Index of the family named name, or where it would go; *found says which. */
static size_t family_find(const struct mt_registry *r, const char *name, bool *found) {
  size_t lo = 0, hi = r->n_fams;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(r->fams[mid]->name, name);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  *found = false;
  return lo;
}

static size_t count_labels(const char *const *labels) {
  size_t n = 0;
  while (labels && labels[n]) n++;
  return n;
}

/* The checks of metrics.h: names and labels by the Prometheus rules, no label twice,
 * no le on a histogram, counters ending in _total, buckets ascending. */
static void check_definition(enum mt_type type, const char *name, const char *const *labels,
                             const double *buckets, size_t n_buckets) {
  VG_ASSERT(mt__valid_metric_name(name));
  size_t n = count_labels(labels);
  for (size_t i = 0; i < n; i++) {
    VG_ASSERT(mt__valid_label_name(labels[i]));
    VG_ASSERT(type != MT_HISTOGRAM || strcmp(labels[i], "le") != 0);
    for (size_t j = 0; j < i; j++) VG_ASSERT(strcmp(labels[i], labels[j]) != 0);
  }
  if (type == MT_COUNTER) {
    size_t len = strlen(name);
    VG_ASSERT(len > 6 && strcmp(name + len - 6, "_total") == 0);
  }
  for (size_t i = 0; i < n_buckets; i++) {
    VG_ASSERT(!isnan(buckets[i]));
    VG_ASSERT(i == 0 || buckets[i] > buckets[i - 1]);
  }
}

/* A second registration must say what the first said (the help may differ). */
static void check_same(const struct mt_family *f, enum mt_type type, const char *const *labels,
                       const double *buckets, size_t n_bounds) {
  VG_ASSERT(f->type == type);
  VG_ASSERT(count_labels(labels) == f->n_labels);
  for (size_t i = 0; i < f->n_labels; i++) VG_ASSERT(strcmp(labels[i], f->labels[i]) == 0);
  VG_ASSERT(n_bounds == f->n_bounds);
  for (size_t i = 0; i < n_bounds; i++) VG_ASSERT(buckets[i] == f->bounds[i]);
}

static char *le_string(double v, bool openmetrics) {
  char buf[MT__NUM_MAX];
  mt__fmt_le(v, openmetrics, buf);
  return vg_strdup(buf);
}

static struct mt_family *family_new(struct mt_registry *r, enum mt_type type, const char *name,
                                    const char *help, const char *const *labels,
                                    const double *buckets, size_t n_bounds) {
  struct mt_family *f = vg_calloc(1, sizeof *f);
  f->reg = r;
  f->type = type;
  f->name = vg_strdup(name);
  f->om_name = type == MT_COUNTER ? vg_strndup(name, strlen(name) - 6) : vg_strdup(name);
  f->help = help ? vg_strdup(help) : NULL;
  f->n_labels = count_labels(labels);
  f->labels = vg_calloc(f->n_labels ? f->n_labels : 1, sizeof *f->labels);
  for (size_t i = 0; i < f->n_labels; i++) f->labels[i] = vg_strdup(labels[i]);
  if (type == MT_HISTOGRAM) {
    f->n_bounds = n_bounds;
    f->bounds = vg_calloc(n_bounds ? n_bounds : 1, sizeof *f->bounds);
    if (n_bounds) memcpy(f->bounds, buckets, n_bounds * sizeof *buckets);
    f->le_text = vg_calloc(n_bounds + 1, sizeof *f->le_text);
    f->le_om = vg_calloc(n_bounds + 1, sizeof *f->le_om);
    for (size_t i = 0; i <= n_bounds; i++) {
      double b = i < n_bounds ? buckets[i] : INFINITY;
      f->le_text[i] = le_string(b, false);
      f->le_om[i] = le_string(b, true);
    }
  }
  return f;
}

static struct mt_family *family_register(struct mt_registry *r, enum mt_type type,
                                         const char *name, const char *help,
                                         const char *const *labels, const double *buckets,
                                         size_t n_buckets) {
  VG_ASSERT(r);
  check_definition(type, name, labels, buckets, n_buckets);
  /* +Inf is implied; a caller that spells it out gets the same family. */
  if (n_buckets && isinf(buckets[n_buckets - 1]) && buckets[n_buckets - 1] > 0) n_buckets--;
  mt__lock(r);
  bool found;
  size_t at = family_find(r, name, &found);
  struct mt_family *f;
  if (found) {
    f = r->fams[at];
    check_same(f, type, labels, buckets, n_buckets);
  } else {
    f = family_new(r, type, name, help, labels, buckets, n_buckets);
    if (r->n_fams == r->cap_fams) {
      r->cap_fams = r->cap_fams ? 2 * r->cap_fams : 16;
      r->fams = vg_realloc(r->fams, r->cap_fams * sizeof *r->fams);
    }
    memmove(r->fams + at + 1, r->fams + at, (r->n_fams - at) * sizeof *r->fams);
    r->fams[at] = f;
    r->n_fams++;
  }
  mt__unlock(r);
  return f;
}

struct mt_family *mt_counter(struct mt_registry *r, const char *name, const char *help,
                             const char *const *labels) {
  return family_register(r, MT_COUNTER, name, help, labels, NULL, 0);
}

struct mt_family *mt_gauge(struct mt_registry *r, const char *name, const char *help,
                           const char *const *labels) {
  return family_register(r, MT_GAUGE, name, help, labels, NULL, 0);
}

struct mt_family *mt_histogram(struct mt_registry *r, const char *name, const char *help,
                               const char *const *labels, const double *buckets,
                               size_t n_buckets) {
  VG_ASSERT(buckets || n_buckets == 0);
  return family_register(r, MT_HISTOGRAM, name, help, labels, buckets, n_buckets);
}

/* ---- series ---- */

static int values_cmp(char *const *a, const char *const *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int c = strcmp(a[i], b[i]); /* compares as unsigned char: bytewise */
    if (c) return c;
  }
  return 0;
}

static size_t series_find(const struct mt_family *f, const char *const *values, bool *found) {
  size_t lo = 0, hi = f->n_series;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = values_cmp(f->series[mid]->values, values, f->n_labels);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  *found = false;
  return lo;
}

static void check_values(const struct mt_family *f, const char *const *values) {
  VG_ASSERT(f);
  VG_ASSERT(f->n_labels == 0 || values);
  for (size_t i = 0; i < f->n_labels; i++) VG_ASSERT(values[i]);
}

static struct mt_series *series_new(struct mt_family *f, const char *const *values) {
  size_t nb = f->type == MT_HISTOGRAM ? f->n_bounds + 1 : 0;
  struct mt_series *s = vg_malloc(sizeof *s + nb * sizeof s->buckets[0]);
  s->fam = f;
  s->values = vg_calloc(f->n_labels ? f->n_labels : 1, sizeof *s->values);
  struct vg_buf b;
  vg_buf_init(&b);
  for (size_t i = 0; i < f->n_labels; i++) {
    s->values[i] = vg_strdup(values[i]);
    if (i) vg_buf_putc(&b, ',');
    vg_buf_puts(&b, f->labels[i]);
    vg_buf_append(&b, "=\"", 2);
    mt__escape_label(&b, values[i]);
    vg_buf_putc(&b, '"');
  }
  s->labels = b.data;
  s->labels_len = b.len;
  atomic_init(&s->value, mt__double_to_bits(0.0));
  for (size_t i = 0; i < nb; i++) atomic_init(&s->buckets[i], 0);
  return s;
}

struct mt_series *mt_get(struct mt_family *f, const char *const *values) {
  check_values(f, values);
  mt__lock(f->reg);
  bool found;
  size_t at = series_find(f, values, &found);
  struct mt_series *s;
  if (found) {
    s = f->series[at];
  } else {
    s = series_new(f, values);
    if (f->n_series == f->cap_series) {
      f->cap_series = f->cap_series ? 2 * f->cap_series : 8;
      f->series = vg_realloc(f->series, f->cap_series * sizeof *f->series);
    }
    memmove(f->series + at + 1, f->series + at, (f->n_series - at) * sizeof *f->series);
    f->series[at] = s;
    f->n_series++;
  }
  mt__unlock(f->reg);
  return s;
}

void mt_remove(struct mt_family *f, const char *const *values) {
  check_values(f, values);
  mt__lock(f->reg);
  bool found;
  size_t at = series_find(f, values, &found);
  if (found) {
    series_free(f->series[at]);
    f->n_series--;
    memmove(f->series + at, f->series + at + 1, (f->n_series - at) * sizeof *f->series);
  }
  mt__unlock(f->reg);
}

void mt_clear(struct mt_family *f) {
  VG_ASSERT(f);
  mt__lock(f->reg);
  for (size_t i = 0; i < f->n_series; i++) series_free(f->series[i]);
  f->n_series = 0;
  mt__unlock(f->reg);
}

/* ---- collectors ---- */

void mt__add_collector(struct mt_registry *r, mt_collect_fn fn, void *arg,
                       void (*free_arg)(void *arg)) {
  VG_ASSERT(r && fn);
  mt__lock(r);
  if (r->n_cols == r->cap_cols) {
    r->cap_cols = r->cap_cols ? 2 * r->cap_cols : 4;
    r->cols = vg_realloc(r->cols, r->cap_cols * sizeof *r->cols);
  }
  r->cols[r->n_cols++] = (struct mt__collector){.fn = fn, .arg = arg, .free_arg = free_arg};
  mt__unlock(r);
}

void mt_add_collector(struct mt_registry *r, mt_collect_fn fn, void *arg) {
  mt__add_collector(r, fn, arg, NULL);
}

void mt__run_collectors(struct mt_registry *r) {
  /* A copy, so that the collectors run unlocked (they call mt_get and friends) and a
   * collector added meanwhile does not move the array under us. */
  mt__lock(r);
  size_t n = r->n_cols;
  struct mt__collector *cols = NULL;
  if (n) {
    cols = vg_malloc(n * sizeof *cols);
    memcpy(cols, r->cols, n * sizeof *cols);
  }
  mt__unlock(r);
  for (size_t i = 0; i < n; i++) cols[i].fn(r, cols[i].arg);
  free(cols);
}

/* ---- listing ---- */

static void family_info(const struct mt_family *f, struct mt_family_info *out) {
  *out = (struct mt_family_info){.type = f->type,
                                 .name = f->name,
                                 .help = f->help,
                                 .labels = (const char *const *)f->labels,
                                 .n_labels = f->n_labels};
}

size_t mt_family_count(struct mt_registry *r) {
  mt__lock(r);
  size_t n = r->n_fams;
  mt__unlock(r);
  return n;
}

void mt_family_at(struct mt_registry *r, size_t i, struct mt_family_info *out) {
  mt__lock(r);
  VG_ASSERT(i < r->n_fams);
  family_info(r->fams[i], out);
  mt__unlock(r);
}

bool mt_family_find(struct mt_registry *r, const char *name, struct mt_family_info *out) {
  mt__lock(r);
  bool found;
  size_t at = family_find(r, name, &found);
  if (found) family_info(r->fams[at], out);
  mt__unlock(r);
  return found;
}

const char *mt_type_name(enum mt_type t) {
  switch (t) {
  case MT_COUNTER: return "counter";
  case MT_GAUGE: return "gauge";
  case MT_HISTOGRAM: return "histogram";
  }
  VG_ASSERT(!"unknown metric type");
  return NULL;
}
