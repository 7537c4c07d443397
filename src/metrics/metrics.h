/*
 * metrics — a registry of counters, gauges and histograms with label sets, rendered in
 * the Prometheus text format 0.0.4 or OpenMetrics 1.0.0.
 *
 * Threads: registering families and looking up series take a mutex (both are rare:
 * at start-up, or once per new label set); mt_inc/mt_set/mt_add/mt_observe on a
 * series are lock-free atomics, cheap from any thread. Rendering takes the mutex and
 * reads the atomics; collectors run first, on the rendering thread.
 *
 * Output is sorted (families by name, series by label values) and stable, so two
 * scrapes of an idle process differ only in values. Names follow docs/metrics.md.
 */
#ifndef VIGIL_METRICS_H
#define VIGIL_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/core.h"

enum mt_type { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };
enum mt_format { MT_FORMAT_TEXT, MT_FORMAT_OPENMETRICS };

struct mt_registry;
struct mt_family;
struct mt_series;

struct mt_registry *mt_registry_new(void);
void mt_registry_free(struct mt_registry *r);

/* Registers a family, or returns the existing one of that name. labels is a
 * NULL-terminated list of label names (NULL for none). A name or label that breaks
 * the Prometheus rules, or a second registration with another type or label set, is
 * a programming error: VG_ASSERT. Counter names end in _total (the OpenMetrics
 * family name drops it). Histogram buckets: ascending upper bounds, +Inf implied. */
struct mt_family *mt_counter(struct mt_registry *r, const char *name, const char *help,
                             const char *const *labels);
struct mt_family *mt_gauge(struct mt_registry *r, const char *name, const char *help,
                           const char *const *labels);
struct mt_family *mt_histogram(struct mt_registry *r, const char *name, const char *help,
                               const char *const *labels, const double *buckets,
                               size_t n_buckets);

/* The series of family f for these label values (as many as label names; NULL when
 * the family has none), created at zero on first use. The pointer stays valid until
 * the series is removed or the registry freed. Values may hold any bytes; they are
 * escaped on output. */
struct mt_series *mt_get(struct mt_family *f, const char *const *values);
/* Removes one series (e.g. a service dropped by a reload); no-op when absent. Its
 * pointer then dangles: the caller must first make sure no other thread still updates
 * the series through a saved pointer (the registry cannot know of those). */
void mt_remove(struct mt_family *f, const char *const *values);
/* Removes every series of f (a collector that rebuilds a family each scrape). */
void mt_clear(struct mt_family *f);

/* Counter: add v ≥ 0. Gauge: set or add. A collector mirroring a monotonic source may
 * mt_set a counter. Histogram: one observation. All atomic. */
void mt_inc(struct mt_series *s, double v);
void mt_set(struct mt_series *s, double v);
void mt_add(struct mt_series *s, double v);
void mt_observe(struct mt_series *s, double v);
/* Current value of a counter or gauge (tests, collectors). */
double mt_value(const struct mt_series *s);

/* What a registered family is, for code that lists families rather than renders
 * them (the exports, tests). Strings are the registry's: valid until it is freed. */
struct mt_family_info {
  enum mt_type type;
  const char *name; /* as registered; a counter's ends in _total */
  const char *help; /* NULL: none */
  const char *const *labels;
  size_t n_labels;
};
/* How many families r holds. */
size_t mt_family_count(struct mt_registry *r);
/* The i-th family of r in name order (i < mt_family_count(r)). */
void mt_family_at(struct mt_registry *r, size_t i, struct mt_family_info *out);
/* The family registered under name; false when there is none. */
bool mt_family_find(struct mt_registry *r, const char *name, struct mt_family_info *out);
/* "counter", "gauge", "histogram": the # TYPE word of the text format. */
const char *mt_type_name(enum mt_type t);

/* A function run before each render, to refresh what is sampled rather than counted
 * (process stats, supervisor state). */
typedef void (*mt_collect_fn)(struct mt_registry *r, void *arg);
void mt_add_collector(struct mt_registry *r, mt_collect_fn fn, void *arg);

/* Runs the collectors, then appends the exposition to out. OpenMetrics ends in # EOF. */
void mt_render(struct mt_registry *r, enum mt_format fmt, struct vg_buf *out);
/* The format a scraper asks for in its Accept header (NULL: text). */
enum mt_format mt_negotiate(const char *accept);
/* "text/plain; version=0.0.4; charset=utf-8" or the OpenMetrics type. */
const char *mt_content_type(enum mt_format fmt);

/* process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds,
 * process_start_time_seconds — read from /proc/self at each render. */
void mt_register_process(struct mt_registry *r);
/* vigil_build_info{version,commit} 1 */
void mt_register_build_info(struct mt_registry *r, const char *version, const char *commit);

#endif
