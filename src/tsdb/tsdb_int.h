/*
 * tsdb_int.h — what the store's files share (module-private). The public API is tsdb.h.
 *
 * Locks, always taken in this order:
 *   write_mu   serialises writers: the log, series creation, the series map's shape
 *   flush_mu   one flush/compaction/retention/rollup pass at a time
 *   map_lock   rwlock over the series map (writers take it to insert; queries to look)
 *   head_lock  rwlock over every series' head, frozen head and last value, and over
 *              the published block set (so a query sees blocks and heads as one state)
 * Blocks are immutable and reference counted; a query keeps the set it started with.
 */
#ifndef VIGIL_TSDB_INT_H
#define VIGIL_TSDB_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/core.h"
#include "tsdb/tsdb.h"
#include "tsdb/wal.h"

#define TSDB__DAY_NS (INT64_C(86400) * TSDB_NS_PER_SEC)
#define TSDB__CHUNK_MAX 8192 /* points per chunk in a block */

/* ---- columns: a growable array of (ts, value) of one type (col.c) ---- */
struct tsdb__col {
  int64_t *ts;
  union {
    double *f;
    int64_t *i;
    uint64_t *u;
    uint8_t *b;
    struct tsdb_str *s; /* owned copies (head) or spans into a decoded chunk */
    void *any;
  } v;
  size_t n, cap;
  bool owns_strings;
};
void tsdb__col_init(struct tsdb__col *c, bool owns_strings);
void tsdb__col_free(struct tsdb__col *c, enum tsdb_type t);
/* Empties c and keeps its arrays for the next values of the same type. */
void tsdb__col_clear(struct tsdb__col *c, enum tsdb_type t);
void tsdb__col_push(struct tsdb__col *c, enum tsdb_type t, int64_t ts, const struct tsdb_value *v);
/* Makes room for extra more points (one allocation instead of a doubling series). */
void tsdb__col_reserve(struct tsdb__col *c, enum tsdb_type t, size_t extra);
void tsdb__col_get(const struct tsdb__col *c, enum tsdb_type t, size_t i, struct tsdb_value *v);
size_t tsdb__type_size(enum tsdb_type t);

/* ---- heads: the values written since the last flush, in segments (head.c) ----
 * A head is a chain of fixed-size segments, so it grows without copying. A series'
 * first segment is small (malloc); the others come from the store's segment pool,
 * which maps them in slabs with MAP_POPULATE and takes them back at each flush: a
 * store that ingests steadily reuses the same memory and takes no page faults on its
 * write path (a fault costs 10-20 us on some VMs; a populated page about 1 us). */
struct tsdb__seg {
  struct tsdb__seg *next;
  uint32_t n, cap;
  bool pooled;   /* from the pool (else malloc) */
  int64_t ts[];  /* cap timestamps, then cap values of the series' type */
};
struct tsdb__head {
  struct tsdb__seg *first, *last;
  size_t n;
  int64_t min, max; /* the smallest and largest ts (when n > 0) */
};
struct tsdb__segpool {
  pthread_mutex_t mu;
  struct tsdb__seg *free;
  size_t n_free, n_total; /* pooled segments: free, and mapped in all */
  void **slabs;
  size_t n_slabs;
};
void tsdb__segpool_init(struct tsdb__segpool *p);
void tsdb__segpool_destroy(struct tsdb__segpool *p); /* after every head is freed */
void tsdb__head_push(struct tsdb__segpool *p, struct tsdb__head *h, enum tsdb_type t, int64_t ts,
                     const struct tsdb_value *v);
/* Frees the head's strings and gives its segments back to p (with p NULL, pooled
 * segments are left to tsdb__segpool_destroy). The head is empty after. */
void tsdb__head_free(struct tsdb__segpool *p, struct tsdb__head *h, enum tsdb_type t);
/* Appends the values with from <= ts < to to out, in write order. */
void tsdb__head_copy_range(struct tsdb__col *out, const struct tsdb__head *h, enum tsdb_type t,
                           int64_t from, int64_t to);
/* Appends every value of h to out (bulk copies; out reserved once). */
void tsdb__head_to_col(struct tsdb__col *out, const struct tsdb__head *h, enum tsdb_type t);
/* The smallest ts >= from in h; TSDB_TIME_MAX when there is none. */
int64_t tsdb__head_next_ts(const struct tsdb__head *h, int64_t from);
/* Puts the whole of front before h (front is left empty). */
void tsdb__head_prepend(struct tsdb__head *h, struct tsdb__head *front);

/* ---- series (series.c) ---- */
struct tsdb__series {
  uint32_t id;
  uint64_t hash;
  char *key; /* canonical key; rollup series: base key "\x1f" rule "." agg */
  size_t keylen;
  char *measurement;
  struct tsdb_tag *tags; /* owned, NUL-terminated copies */
  size_t n_tags;
  char *field;
  enum tsdb_type type;
  uint16_t policy;    /* index into db->policies */
  int16_t rollup;     /* -1: raw; else index of the rule */
  uint8_t agg;        /* rollup series: the aggregate */
  struct tsdb__series *base;     /* rollup series: its raw series */
  struct tsdb__series **rollups; /* raw series: [n_rollups * TSDB__AGG_N], lazily */
  /* under head_lock */
  struct tsdb__head head, frozen;
  bool has_last, last_checked;
  int64_t last_ts;
  struct tsdb_value last; /* a string value is an owned copy */
  struct tsdb__series *next_in_measurement;
};

/* Escapes one key component into b: backslash before the separators and '\\', control
 * bytes as \xNN, so distinct series never share a key. */
void tsdb__key_escape(struct vg_buf *b, const char *p, size_t n, const char *special);
/* measurement,tag=v,...#field */
void tsdb__key_build(struct vg_buf *b, struct tsdb_str measurement, const struct tsdb_tag *tags,
                     size_t n_tags, struct tsdb_str field);
/* Parses a canonical key back into its parts (owned strings in s). 0 or -1. */
int tsdb__key_parse(struct tsdb__series *s, const char *key, size_t len);

/* The write path's cache from a point's prefix (escaped measurement and tags) to the
 * series of its fields (group.c). Under write_mu. */
struct tsdb__group_field {
  char *name; /* the field name as points give it (unescaped), not NUL-terminated */
  size_t len;
  struct tsdb__series *s;
};
struct tsdb__group {
  uint64_t hash;
  char *prefix;
  size_t len, n, cap;
  struct tsdb__group_field *f;
};
struct tsdb__groups {
  struct tsdb__group **slots;
  size_t n, cap;
};
struct tsdb__group *tsdb__group_find(const struct tsdb__groups *gs, uint64_t hash,
                                     const char *prefix, size_t len);
/* The group of prefix, created empty when new. */
struct tsdb__group *tsdb__group_get(struct tsdb__groups *gs, uint64_t hash, const char *prefix,
                                    size_t len);
struct tsdb__series *tsdb__group_field(const struct tsdb__group *g, const char *name, size_t len);
void tsdb__group_add(struct tsdb__group *g, const char *name, size_t len, struct tsdb__series *s);
void tsdb__groups_free(struct tsdb__groups *gs);

struct tsdb__meas { /* the series of one measurement, newest first */
  char *name;
  uint64_t hash;
  struct tsdb__series *first;
};

struct tsdb__map {
  struct tsdb__meas *meas;
  size_t meas_cap, meas_n;
  struct tsdb__series **slots;
  size_t cap, n;
  struct tsdb__series **by_id; /* id -> series */
  size_t by_id_cap;
  uint32_t next_id;
};
void tsdb__map_init(struct tsdb__map *m);
void tsdb__map_free(struct tsdb__map *m);
struct tsdb__series *tsdb__map_get(const struct tsdb__map *m, uint64_t hash, const char *key,
                                   size_t len);
void tsdb__map_put(struct tsdb__map *m, struct tsdb__series *s); /* assigns s->id if 0 */
void tsdb__series_free(struct tsdb__series *s);
/* The first series of a measurement (follow next_in_measurement), or NULL. */
struct tsdb__series *tsdb__map_measurement(const struct tsdb__map *m, const char *name);

/* ---- blocks (block.c): one immutable file per policy and time window ---- */
struct tsdb__chunk_ref {
  int64_t mint, maxt;
  uint32_t count;
  uint64_t off, tlen, vlen, sum;
};
struct tsdb__block_series {
  const char *key; /* points into the mapped index copy */
  size_t keylen;
  enum tsdb_type type;
  struct tsdb__chunk_ref *chunks;
  size_t n_chunks;
  uint64_t points;
};
struct tsdb__block {
  atomic_int refs;
  char *path;
  uint16_t policy;
  int64_t wstart, wlen; /* the window */
  uint64_t seq;         /* creation order: a later block wins on equal timestamps */
  uint64_t points, bytes;
  int64_t mint, maxt;
  const uint8_t *map;   /* the whole file, mapped read-only */
  size_t map_len;
  struct tsdb__block_series *series; /* sorted by key */
  size_t n_series;
  char *keys; /* storage for the series keys */
  bool doomed; /* unlink when the last reference goes */
};

/* A series' data for the writer: a column sorted by ts without duplicates. */
struct tsdb__block_input {
  const char *key;
  size_t keylen;
  enum tsdb_type type;
  const struct tsdb__col *col;
  size_t from, to; /* the slice [from, to) of col */
};
/* Fills *in with the next series (keys strictly increasing); 1, 0 at the end, or -errno. */
typedef int (*tsdb__block_next_fn)(void *arg, struct tsdb__block_input *in);
/* Writes a block file at path (tmp + fsync + rename + dir fsync) from the series next
 * yields; each input only has to stay valid until the next call. */
int tsdb__block_write(const char *path, int64_t wstart, int64_t wlen, uint64_t seq,
                      tsdb__block_next_fn next, void *arg, char *err, size_t errlen);
/* Maps and checks a block (footer, index checksum, every bound). -EBADMSG if corrupt. */
int tsdb__block_open(const char *path, struct tsdb__block **out, char *err, size_t errlen);
/* Parses an in-memory block image (fuzzing; the image must outlive the block). */
int tsdb__block_parse(const uint8_t *buf, size_t len, struct tsdb__block **out, char *err,
                      size_t errlen);
void tsdb__block_ref(struct tsdb__block *b);
void tsdb__block_unref(struct tsdb__block *b);
const struct tsdb__block_series *tsdb__block_find(const struct tsdb__block *b, const char *key,
                                                  size_t keylen);
/* Decodes one chunk (checksum first) and appends its points to col. -EBADMSG if bad. */
int tsdb__block_read_chunk(const struct tsdb__block *b, const struct tsdb__block_series *s,
                           size_t chunk, struct tsdb__col *col, char *err, size_t errlen);

struct tsdb__blockset {
  atomic_int refs;
  struct tsdb__block **b; /* sorted by seq */
  size_t n;
};
struct tsdb__blockset *tsdb__blockset_new(struct tsdb__block **b, size_t n); /* takes refs */
void tsdb__blockset_unref(struct tsdb__blockset *s);

/* ---- the store ---- */
struct tsdb__policy {
  char *name;
  int64_t duration_ns;
  char *measurement;
  struct tsdb_tag *tags;
  size_t n_tags;
  int64_t dropped_until; /* raw data before this was dropped by retention */
};

struct tsdb__rollup {
  char *name;
  uint16_t source, target;
  int64_t interval_ns;
  unsigned aggs;      /* stored aggregates (mean is kept as sum + count) */
  int64_t done_until; /* buckets before this are computed */
  int64_t dirty_from; /* a late write touched a computed bucket at or after this */
};

struct tsdb {
  char *dir;
  struct tsdb_opts opts;
  int lock_fd;
  pthread_mutex_t write_mu, flush_mu;
  pthread_rwlock_t map_lock, head_lock;
  struct tsdb__segpool segs; /* the heads' memory */
  struct tsdb__map map;
  struct tsdb__groups groups; /* under write_mu */
  struct tsdb__wal *wal, *series_log;
  bool series_dirty; /* the series log has records not yet synced */
  struct tsdb__policy *policies;
  size_t n_policies;
  struct tsdb__rollup *rollups;
  size_t n_rollups;
  struct tsdb__blockset *blocks; /* under head_lock */
  uint64_t next_seq;
  uint64_t checkpoint_lsn;
  uint64_t head_points; /* under head_lock */
  _Atomic uint64_t last_flush_ms; /* read by the metrics collector */
  /* the flush's sorted copy of one series at a time, one per type, kept between
   * flushes so steady ingest reuses the memory instead of faulting pages in (under
   * flush_mu) */
  struct tsdb__col flush_cols[TSDB_STRING + 1];
  /* scratch of the writer (under write_mu) */
  struct vg_buf wal_buf, key_buf;
  struct tsdb__pending *pending;
  size_t n_pending, cap_pending;
  /* background thread */
  pthread_t thread;
  bool thread_started, stopping, kick;
  pthread_cond_t cond;
  pthread_mutex_t cond_mu;
  struct mt_series *query_seconds; /* histogram, once metrics are registered */
  void *metrics_state;             /* the collector's state (metrics.c) */
  /* counters */
  atomic_uint_fast64_t points_written, points_rejected, wal_syncs, flushes, compactions,
      retention_drops, rollup_points, queries, query_ns, corrupt_blocks, wal_bytes;
  /* the logs' health (db.c), mirrored for readers that must not wait on write_mu */
  atomic_int log_err;                  /* 0 or the negative errno that refuses writes */
  atomic_uint_fast64_t log_err_since;  /* vg_now_ms() of the failure */
  atomic_uint_fast64_t log_recoveries; /* of both logs, since open */
  uint64_t recoveries_flushed;         /* log_recoveries at the last flush (write_mu) */
  uint64_t flush_err_logged_ms;        /* rate limit of the flush/compaction error line */
};

/* A resolved value waiting to go into the head (writer scratch). */
struct tsdb__pending {
  struct tsdb__series *s;
  int64_t ts;
  struct tsdb_value v;
};

/* WAL record types */
enum { TSDB__REC_SERIES = 1, TSDB__REC_SAMPLES = 2 };

/* write.c */
struct tsdb__series *tsdb__series_get_or_create(struct tsdb *db, const char *key, size_t len,
                                                enum tsdb_type type, bool log);
int tsdb__write_internal(struct tsdb *db, const struct tsdb_point *pts, size_t n,
                         struct tsdb_write_result *res, int16_t rollup, uint8_t agg);
void tsdb__head_apply(struct tsdb *db, struct tsdb__series *s, int64_t ts,
                      const struct tsdb_value *v);
/* Opens the series log, loads the blocks, then replays the data log. */
int tsdb__replay(struct tsdb *db, char *err, size_t errlen);
uint16_t tsdb__policy_for(const struct tsdb *db, const struct tsdb__series *s);

/* flush.c */
int tsdb__flush(struct tsdb *db, char *err, size_t errlen);
/* Merges closed windows' blocks (force: also the open windows'). */
int tsdb__compact_blocks(struct tsdb *db, bool force, char *err, size_t errlen);
int tsdb__retention(struct tsdb *db, int64_t now);
int tsdb__load_blocks(struct tsdb *db, char *err, size_t errlen);
char *tsdb__block_path(const struct tsdb *db, uint16_t policy, int64_t wstart, int64_t wlen,
                       uint64_t seq);
int tsdb__write_state(struct tsdb *db);

/* rollup.c */
int tsdb__rollups_run(struct tsdb *db, int64_t now);
void tsdb__rollup_note_write(struct tsdb *db, const struct tsdb__series *s, int64_t ts);

/* read.c: every point of one series in [from, to), sorted, deduplicated. */
int tsdb__read_series(struct tsdb *db, struct tsdb__blockset *bs, struct tsdb__series *s,
                      int64_t from, int64_t to, struct tsdb__col *out, char *err, size_t errlen);
/* Sorts a column by time (stable) and keeps the last of equal timestamps. */
void tsdb__sort_dedupe(struct tsdb__col *c, enum tsdb_type t);
/* Snapshot of the block set (caller unrefs). */
struct tsdb__blockset *tsdb__blocks_get(struct tsdb *db);

int64_t tsdb__now(void);
int64_t tsdb__floor(int64_t t, int64_t step);

#endif
