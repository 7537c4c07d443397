/*
 * cache — the latest-value cache (docs/cache.md).
 *
 * The latest value of every key that comes in, where a key is a field of a series:
 * `measurement[,tag=v…].field` (the store's series key, escaped as line protocol, a
 * dot, the field name). Each entry holds the value, its timestamp, where it came from
 * (a feed's name, "http", a bridge's name) and when vigil received it. Every point the
 * ingest pipeline takes updates it (cache_put_points is the pipeline's latest-value
 * hook); a bridge may put single keys and whole documents.
 *
 * Aliases name a key ("funding_btc: exf.funding_btc"); wherever a key is asked for, an
 * alias may be given instead. Documents are named sets of keys published as one JSON
 * object (document 001's exf_latest): configured ones are rendered from the entries on
 * demand; a bridge may also set a document's JSON whole (the latest scan).
 *
 * Thread-safety: every function may be called from any thread. Writers take one stripe
 * lock of many (keys hash to stripes), readers copy what they need out under it; a
 * reader never sees a value torn from its timestamp. Nothing is ever blocked by the
 * Redis mirror: it reads the dirty set on its own thread.
 */
#ifndef VIGIL_CACHE_H
#define VIGIL_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tsdb/tsdb.h"

struct cfg_cache;
struct mt_registry;
struct cache;

/* One entry as a reader gets it: a copy, valid until cache_entry_clear. */
struct cache_entry {
  char *key;                 /* the canonical key (an alias resolved) */
  struct tsdb_value value;   /* a string value points into str */
  char *str;                 /* owned copy of a string value, else NULL */
  int64_t ts;                /* the value's own timestamp, ns since the epoch */
  int64_t received;          /* when vigil took it, ns since the epoch (realtime) */
  char source[48];           /* "feed:NAME", "http", "bridge:NAME", "import" … */
  uint64_t updates;          /* how many times the key was written */
};
void cache_entry_clear(struct cache_entry *e);

/* Opens an empty cache with the aliases and documents of cfg (may be NULL), its
 * metrics in reg (may be NULL); starts the Redis mirror when cfg->redis is set. */
int cache_open(const struct cfg_cache *cfg, struct mt_registry *reg, struct cache **out,
               char *err, size_t errlen);
/* Stops the mirror (after one last catch-up attempt) and frees everything. */
void cache_close(struct cache **c);

/* The ingest pipeline's latest-value hook: every field of every point, as one key
 * each. A point older than the entry it would replace does not move it backwards
 * (counted). source: see struct cache_entry. series (may be NULL): the store's series
 * id of each value, series[k] for the value fields[k] (ingest_latest_fn): with them a
 * known key is found without building it. Ids must all come from one store. */
void cache_put_points(struct cache *c, const char *source, const struct tsdb_point *pts,
                      size_t n, const struct tsdb_field *fields, const uint32_t *series);
/* One key (a key or an alias). The string of a string value is copied. */
void cache_put(struct cache *c, const char *key, const struct tsdb_value *v, int64_t ts,
               const char *source);

/* The entry of key (a key or an alias): 0, or -ENOENT. */
int cache_get(struct cache *c, const char *key, struct cache_entry *out);
/* Seconds since the entry of key was received (realtime now), or -1 when absent. */
double cache_age(struct cache *c, const char *key);

/* Calls fn for every entry whose key matches glob (fnmatch, no flags; an alias name is
 * matched too and the entry given under its key); NULL or "*" for all; a glob without
 * metacharacters is one lookup. Entries are handed out in place, stripe by stripe,
 * under the stripe's lock: fn must be quick, must not call the cache, and may keep
 * nothing of e (its key and string) past the call. Stops when fn returns false.
 * Returns how many entries were given. */
typedef bool cache_each_fn(void *arg, const struct cache_entry *e);
size_t cache_each(struct cache *c, const char *glob, cache_each_fn *fn, void *arg);

/* How many keys the cache holds. */
size_t cache_size(struct cache *c);

/* ---- documents ---- */

/* Sets document name to a JSON object given whole (a bridge's latest scan), with its
 * timestamp; replaces what was there unless ts is older (returns -EALREADY then).
 * json must parse as an object: -EINVAL otherwise. With CACHE_DOC_BUILT the caller
 * vouches that its own code wrote json (a bridge's scan: hundreds of kB): only its
 * braces are checked, it is not parsed again. */
#define CACHE_DOC_BUILT 1u
int cache_doc_set(struct cache *c, const char *name, const char *json, size_t len, int64_t ts,
                  const char *source, unsigned flags);
/* The JSON text of document name (configured: rendered now from the entries, with
 * `_staleness_s`, `_ts` and the readiness flag; set whole: as set, with `_ts`). A
 * malloc'ed NUL-terminated string, or NULL (errno ENOENT) when there is no such
 * document. */
char *cache_doc_render(struct cache *c, const char *name);
/* The names of the documents (configured first, then set ones), each malloc'ed, in
 * *names; returns how many. */
size_t cache_doc_names(struct cache *c, char ***names);
/* Seconds since document name was last changed (set whole) or since the oldest of its
 * critical keys was received (configured), -1 when absent. */
double cache_doc_age(struct cache *c, const char *name);

/* ---- the Redis mirror (mirror.c) ---- */

struct cache_mirror_stats {
  bool configured;
  bool connected;
  uint64_t keys_written;     /* HSETs acknowledged by Redis */
  uint64_t keys_dropped;     /* values replaced by a newer one before they could be written */
  uint64_t write_errors;     /* replies that were errors, or writes lost with a connection */
  uint64_t reconnects;
  size_t pending;            /* keys waiting to be written */
  char last_error[160];
};
void cache_mirror_stats(struct cache *c, struct cache_mirror_stats *out);

/* Compares the cache with what Redis holds, over keys matching glob (NULL: all), on a
 * connection of its own (call it off the loop thread). Fills: keys present only in the
 * cache, only in Redis, and present in both with numeric values differing by more
 * than tolerance (absolute) or string values differing. Returns 0, or -1 with why in
 * err when Redis cannot be read (or no mirror is configured: -ENOTCONN). Lists are
 * malloc'ed, at most max names each; counts are exact. */
struct cache_diff {
  size_t only_cache, only_redis, differ;
  char **only_cache_keys, **only_redis_keys, **differ_keys;
  size_t n_only_cache_keys, n_only_redis_keys, n_differ_keys;
};
int cache_mirror_diff(struct cache *c, const char *glob, double tolerance, size_t max,
                      struct cache_diff *out, char *err, size_t errlen);
void cache_diff_free(struct cache_diff *d);

/* Metric families (for `vigil export`): vigil_cache_* */
void cache_metrics_describe(struct mt_registry *reg);

#endif
