/*
 * tsdb — vigil's embedded time-series store. The rest of vigil uses nothing else.
 *
 * Model (InfluxDB line protocol's): a point is a measurement, a tag set, a field set and
 * a nanosecond timestamp. A *series* is measurement + sorted tags + one field; it has one
 * value type for its whole life (float, int, uint, bool or string).
 *
 * Write path: tsdb_write() appends the batch to the write-ahead log (one record), commits
 * it by the sync policy, and adds the points to the in-memory head. A background thread
 * flushes the head into immutable compressed block files (one per retention policy and
 * time window), compacts small windows into larger ones, drops expired blocks and
 * computes rollups. Recovery after a crash replays the log past the last flush.
 *
 * Duplicates and disorder: points may arrive in any time order. Two points of one series
 * with the same timestamp are one point: the last one written wins (as in InfluxDB).
 *
 * Retention policies are named, with a duration and series matchers; a series belongs to
 * the first policy that matches it when it is created (else to "default": keep forever).
 * Rollups aggregate a source policy's series every interval into a target policy; a query
 * reads raw data where it still exists and rollups before that, transparently.
 *
 * Threads: any number of threads may call tsdb_write and the query functions at once.
 * Queries see a consistent snapshot and hold locks only to copy head data.
 *
 * Errors: functions that can fail return 0 or a negative errno-style code and, where they
 * take (err, errlen), a one-line message. The on-disk format is in docs/store.md.
 */
#ifndef VIGIL_TSDB_H
#define VIGIL_TSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TSDB_NS_PER_SEC INT64_C(1000000000)
#define TSDB_TIME_MIN INT64_MIN
#define TSDB_TIME_MAX INT64_MAX
/* The times a point may have: int64 ns less 8 days at each end (1677-09-29 to
 * 2262-04-03), so that every window arithmetic on them (blocks, days, rollups) stays
 * within int64; a point outside is refused (TSDB_REFUSED_VALUE). */
#define TSDB_TS_FIRST (INT64_MIN + 8 * 86400 * INT64_C(1000000000))
#define TSDB_TS_LAST (INT64_MAX - 8 * 86400 * INT64_C(1000000000))

/* ---- values and points ---- */

struct tsdb_str { /* a byte span; not NUL-terminated */
  const char *p;
  size_t len;
};

enum tsdb_type { TSDB_FLOAT, TSDB_INT, TSDB_UINT, TSDB_BOOL, TSDB_STRING };

struct tsdb_value {
  enum tsdb_type type;
  union {
    double f;
    int64_t i;
    uint64_t u;
    bool b;
    struct tsdb_str s; /* at most 4096 bytes */
  } v;
};

struct tsdb_tag {
  struct tsdb_str key, value;
};

struct tsdb_field {
  struct tsdb_str key;
  struct tsdb_value value;
};

struct tsdb_point {
  struct tsdb_str measurement;
  const struct tsdb_tag *tags; /* sorted by key, bytewise, keys distinct */
  size_t n_tags;
  const struct tsdb_field *fields;
  size_t n_fields; /* >= 1 */
  int64_t ts;      /* nanoseconds since the epoch */
};

const char *tsdb_type_name(enum tsdb_type t);

/* ---- opening ---- */

enum tsdb_sync {
  TSDB_SYNC_BATCH,    /* fdatasync before tsdb_write returns: nothing acknowledged is lost */
  TSDB_SYNC_INTERVAL, /* fdatasync every sync_interval_ms: a crash loses at most that */
  TSDB_SYNC_NEVER,    /* the kernel decides: survives kill -9, not a power loss */
};

struct tsdb_policy {
  const char *name;
  int64_t duration_ns;          /* 0 = keep forever */
  const char *measurement;      /* glob (fnmatch); NULL matches every measurement */
  const struct tsdb_tag *tags;  /* each tag must be present with a value matching the glob */
  size_t n_tags;
};

enum tsdb_agg {
  TSDB_AGG_NONE = 0,
  TSDB_AGG_FIRST,
  TSDB_AGG_LAST,
  TSDB_AGG_MIN,
  TSDB_AGG_MAX,
  TSDB_AGG_SUM,
  TSDB_AGG_COUNT,
  TSDB_AGG_MEAN,
  TSDB__AGG_N
};
const char *tsdb_agg_name(enum tsdb_agg a);
int tsdb_agg_parse(const char *s, enum tsdb_agg *out); /* 0 or -1 */

struct tsdb_rollup {
  const char *name;
  const char *source;  /* policy whose numeric series are rolled up */
  const char *target;  /* policy the rollups are kept in (its own retention) */
  int64_t interval_ns; /* bucket width; divides a day */
  unsigned aggs;       /* bit (1u << TSDB_AGG_x) for each aggregate kept */
};

struct tsdb_opts {
  enum tsdb_sync sync;          /* default TSDB_SYNC_BATCH */
  uint32_t sync_interval_ms;    /* for TSDB_SYNC_INTERVAL; default 100 */
  int64_t block_ns;             /* head window flushed to one block; default 2h */
  size_t head_max_points;       /* flush earlier when the head holds more; default 8M */
  size_t max_series;            /* refuse values that would make more series; 0: no limit */
  bool background;              /* run the flush/compact/retention/rollup thread */
  const struct tsdb_policy *policies;
  size_t n_policies;
  const struct tsdb_rollup *rollups;
  size_t n_rollups;
};

struct tsdb;

/* Opens (creating) the store in dir: takes its lock, checks every block's footer and
 * index checksums, replays the log. -EBUSY when another process has it open. */
int tsdb_open(struct tsdb **out, const char *dir, const struct tsdb_opts *opts, char *err,
              size_t errlen);
/* Flushes nothing (the log has it all), stops the background thread, frees. */
void tsdb_close(struct tsdb *db);

/* ---- writing ---- */

/* Why the store refused a value. */
enum tsdb_refusal {
  TSDB_REFUSED_TYPE,        /* the series holds another type */
  TSDB_REFUSED_VALUE,       /* a string over 4096 bytes, an empty name, a bad series key,
                             * a time outside TSDB_TS_FIRST..TSDB_TS_LAST */
  TSDB_REFUSED_CARDINALITY, /* a new series past a series limit (max_series, max_new_series) */
  TSDB__REFUSED_N
};
const char *tsdb_refusal_name(enum tsdb_refusal r); /* "type", "value", "cardinality" */

/* Counted in values: one value is one field of one point (a series holds values). */
struct tsdb_write_result {
  size_t values;                       /* values written */
  size_t refused;                      /* values refused (never written) */
  size_t refused_by[TSDB__REFUSED_N];  /* the same by reason */
  size_t series_created;               /* new series this write made */
  char why[160];                       /* the first refusal, when refused > 0 */
};

/* Called once per refused value, in the order of the points (point: its index in pts,
 * field: in its fields), under the store's write lock: it must not call the store. */
typedef void tsdb_refused_fn(void *arg, size_t point, size_t field, enum tsdb_refusal why);

struct tsdb_write_opts {
  size_t max_new_series;    /* series this write may create; TSDB_NO_LIMIT: any */
  tsdb_refused_fn *refused; /* NULL: only counted in the result */
  void *arg;
  /* NULL, or room for every value of the batch: the series id of each value, in the
   * order of the points and their fields (TSDB_NO_SERIES for a refused one). Ids are
   * the store's, stable for its life: a caller may index what it keeps per series by
   * them (the latest-value cache does). */
  uint32_t *series_ids;
};
#define TSDB_NO_SERIES UINT32_MAX
#define TSDB_NO_LIMIT SIZE_MAX

/* Writes a batch. Returns 0 once the batch is in the log and committed by the sync
 * policy (some values may have been refused: see res), or -errno on a log failure
 * (then nothing of the batch was accepted). res may be NULL. A value that would make a
 * new series past tsdb_opts.max_series is refused (TSDB_REFUSED_CARDINALITY). */
int tsdb_write(struct tsdb *db, const struct tsdb_point *pts, size_t n,
               struct tsdb_write_result *res);
/* The same with a limit on the new series and a hook for each refusal (o may be NULL). */
int tsdb_write_with(struct tsdb *db, const struct tsdb_point *pts, size_t n,
                    const struct tsdb_write_opts *o, struct tsdb_write_result *res);

/* Makes everything written so far durable (fdatasync), whatever the policy. */
int tsdb_sync(struct tsdb *db);

/* Flushes the head into blocks, compacts, applies retention and rollups now. */
int tsdb_compact(struct tsdb *db, char *err, size_t errlen);

/* Drops the blocks every policy's retention has expired now; returns how many. */
int tsdb_apply_retention(struct tsdb *db);

/* ---- reading ---- */

struct tsdb_query {
  const char *measurement;      /* exact name */
  const struct tsdb_tag *tags;  /* each must match exactly; sorted or not */
  size_t n_tags;
  const char *field;            /* NULL: every field */
  int64_t from, to;             /* [from, to) in ns */
  int64_t every_ns;             /* 0: raw points; else one point per bucket */
  enum tsdb_agg agg;            /* with every_ns; default mean */
  size_t limit;                 /* per series, 0 = none; raw queries keep the newest */
};

/* One series of a result. Raw: values have the series' type. Aggregated: floats, except
 * count (uint) and first/last/min/max of ints/uints (their type). */
struct tsdb_series_data {
  char *key;           /* "measurement,tag=v,...#field" (line-protocol escaping) */
  char *measurement;
  struct tsdb_tag *tags; /* owned by the result */
  size_t n_tags;
  char *field;
  enum tsdb_type type;
  size_t n;
  int64_t *ts;
  struct tsdb_value *values; /* strings point into storage owned by the result */
  int64_t raw_from;    /* where raw data starts; before it values came from rollups */
};

struct tsdb_result {
  struct tsdb_series_data *series; /* sorted by key */
  size_t n_series;
  size_t points;
  void *_arena;
};

/* Runs a query. 0 (possibly with no series), or -EINVAL with err for a bad query. */
int tsdb_query(struct tsdb *db, const struct tsdb_query *q, struct tsdb_result *out,
               char *err, size_t errlen);
/* The last point of each matching series (from/to/every/agg/limit ignored). */
int tsdb_last(struct tsdb *db, const struct tsdb_query *q, struct tsdb_result *out,
              char *err, size_t errlen);
void tsdb_result_free(struct tsdb_result *r);

/* A 128-bit fingerprint of what the raw query q returns (every_ns, agg and limit are
 * ignored): each series' key and type, and its points' times and values as stored,
 * hashed in the result's order. Equal data, equal fingerprint, whatever renders it;
 * any change of a point in the range changes it. *points (may be NULL): how many
 * points were hashed (0: the range holds none). 0, or -EINVAL with err. */
int tsdb_fingerprint(struct tsdb *db, const struct tsdb_query *q, uint8_t out[16], size_t *points,
                     char *err, size_t errlen);

/* ---- statistics ---- */

struct tsdb_policy_stats {
  char name[64];
  int64_t duration_ns;
  uint64_t series, blocks, points, bytes;
  int64_t mint, maxt;  /* of the data in blocks; 0 when none */
};

struct tsdb_stats {
  uint64_t series;
  uint64_t head_points;
  uint64_t block_points;
  uint64_t blocks;
  uint64_t block_bytes;
  uint64_t wal_bytes;
  /* counters since open */
  uint64_t points_written, points_rejected, wal_syncs, flushes, compactions,
      retention_drops, rollup_points, queries;
  uint64_t query_ns_total; /* sum of query latencies */
  uint64_t wal_recoveries; /* times a failed log recovered by itself (disk full, I/O error) */
  bool writable;           /* false while the logs refuse writes (tsdb_health) */
  struct tsdb_policy_stats *policies; /* n_policies entries, "default" first */
  size_t n_policies;
};
void tsdb_stats(struct tsdb *db, struct tsdb_stats *st);
void tsdb_stats_free(struct tsdb_stats *st);

/* Whether the store takes writes: 0, or the negative errno that makes its logs refuse
 * them (a full disk: -ENOSPC) with "write-ahead log: No space left on device for 12s"
 * in why. The store retries by itself about once a second and takes writes again as
 * soon as the log can be written (docs/store.md, "Durability"). Thread-safe. */
int tsdb_health(struct tsdb *db, char *why, size_t len);

/* ---- times: parsed and formatted by core (core/vtime.h) ---- */
/* Wall-clock now in ns. */
int64_t tsdb_now(void);

/* ---- metrics ---- */
struct mt_registry;
/* Registers vigil_store_* metrics (points written, bytes, WAL syncs, compactions,
 * retention drops, query latency) that read db's counters at scrape time. */
void tsdb_register_metrics(struct tsdb *db, struct mt_registry *reg);
/* Registers the same families in reg without a store: no series, no collector (the
 * list of every metric vigil can expose, src/export/families.c). */
void tsdb_metrics_describe(struct mt_registry *reg);

#endif
