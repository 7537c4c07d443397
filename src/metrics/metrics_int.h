/*
 * metrics_int.h — what the files of src/metrics/ share: the registry, family and
 * series structures, number formatting and escaping for the exposition, and the
 * collector list. Not part of the contract (that is metrics.h).
 *
 * Locking: the registry mutex guards the family array, every family's series array
 * and the collector list. A series' values are atomics and need no lock.
 */
#ifndef VIGIL_METRICS_INT_H
#define VIGIL_METRICS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "metrics/metrics.h"

struct mt__collector {
  mt_collect_fn fn;
  void *arg;
  void (*free_arg)(void *arg); /* NULL: the caller owns arg */
};

struct mt_registry {
  pthread_mutex_t mu;
  struct mt_family **fams; /* sorted by name */
  size_t n_fams, cap_fams;
  struct mt__collector *cols;
  size_t n_cols, cap_cols;
};

struct mt_family {
  struct mt_registry *reg;
  enum mt_type type;
  char *name;    /* as registered; a counter's ends in _total */
  char *om_name; /* the OpenMetrics family name: a counter's without _total */
  char *help;    /* NULL: no HELP line */
  char **labels; /* n_labels names */
  size_t n_labels;
  /* Histogram: n_bounds finite upper bounds, ascending (+Inf implied), and the le
   * label values for n_bounds + 1 buckets, the last "+Inf", in each format. */
  double *bounds;
  size_t n_bounds;
  char **le_text, **le_om;
  struct mt_series **series; /* sorted by label values, bytewise */
  size_t n_series, cap_series;
};

struct mt_series {
  struct mt_family *fam;
  char **values;  /* n_labels values */
  char *labels;   /* `a="x",b="y"`, escaped, without braces; NULL when none */
  size_t labels_len;
  /* Counter/gauge: the value; histogram: the sum. Bits of a double. */
  _Atomic uint64_t value;
  /* Histogram: n_bounds + 1 non-cumulative bucket counts, the last for +Inf. The
   * count is their total, so _count always equals the +Inf bucket. */
  _Atomic uint64_t buckets[];
};

/* Longest output of the number formatters, with the NUL. */
#define MT__NUM_MAX 32

/* A sample value: integers below 2^53 in full, other finite values as the shortest
 * digits that read back to the same double, in Go's strconv 'g' style; +Inf, -Inf,
 * NaN. Returns the length written to out (MT__NUM_MAX bytes). */
size_t mt__fmt_value(double v, char *out);
/* An le label value: Go's 'g' style (0.005, 1, 2.5, 1e+06, +Inf); for OpenMetrics
 * the canonical form, with ".0" appended to integers (1.0, 10.0). */
size_t mt__fmt_le(double v, bool openmetrics, char *out);
/* An unsigned integer in decimal. */
size_t mt__fmt_u64(uint64_t u, char *out);

/* Appends s escaped as a label value (\\, \", \n). */
void mt__escape_label(struct vg_buf *b, const char *s);
/* Appends s escaped as HELP text: \\ and \n, and \" for OpenMetrics. */
void mt__escape_help(struct vg_buf *b, const char *s, bool openmetrics);

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
bool mt__valid_metric_name(const char *s);
/* [a-zA-Z_][a-zA-Z0-9_]*, not starting with __ */
bool mt__valid_label_name(const char *s);

/* Adds a collector; free_arg(arg) runs when the registry is freed. */
void mt__add_collector(struct mt_registry *r, mt_collect_fn fn, void *arg,
                       void (*free_arg)(void *arg));
/* Runs every collector, without the registry lock held. */
void mt__run_collectors(struct mt_registry *r);

void mt__lock(struct mt_registry *r);
void mt__unlock(struct mt_registry *r);

static inline double mt__bits_to_double(uint64_t u) {
  union {
    uint64_t u;
    double d;
  } x = {.u = u};
  return x.d;
}

static inline uint64_t mt__double_to_bits(double d) {
  union {
    double d;
    uint64_t u;
  } x = {.d = d};
  return x.u;
}

#endif
