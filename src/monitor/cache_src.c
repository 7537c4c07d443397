/*
 * The monitor's source over the daemon's latest-value cache (src/cache/), its Redis
 * mirror, the feeds and the store. What the cache gives is copied into plain malloc'ed
 * strings, which is what the monitor's evaluation frees.
 */
#include "monitor/mon_int.h"

#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

/* ---- the source over the cache ---- */
struct cache_src {
  struct cache *cache;
  struct ingest_feed **feeds;
  size_t n_feeds;
};

static size_t cs_each(void *arg, const char *glob, cache_each_fn *fn, void *fnarg) {
  return cache_each(((struct cache_src *)arg)->cache, glob, fn, fnarg);
}
static int cs_get(void *arg, const char *key, struct cache_entry *out) {
  struct cache_entry e;
  int rc = cache_get(((struct cache_src *)arg)->cache, key, &e);
  if (rc < 0) return rc;
  *out = e; /* the monitor frees with free(): copies of what the cache allocated */
  out->key = vg_strdup(e.key);
  out->str = e.str ? vg_strdup(e.str) : NULL;
  if (out->str && out->value.type == TSDB_STRING) out->value.v.s.p = out->str;
  cache_entry_clear(&e);
  return 0;
}
static void cs_mirror_stats(void *arg, struct cache_mirror_stats *out) {
  cache_mirror_stats(((struct cache_src *)arg)->cache, out);
}
static char **copy_names(char **v, size_t n) {
  char **c = vg_calloc(n + 1, sizeof *c);
  for (size_t i = 0; i < n; i++) c[i] = vg_strdup(v[i]);
  return c;
}

static int cs_mirror_diff(void *arg, const char *glob, double tol, size_t max, struct cache_diff *out,
                          char *err, size_t errlen) {
  struct cache_diff d;
  memset(&d, 0, sizeof d);
  int rc = cache_mirror_diff(((struct cache_src *)arg)->cache, glob, tol, max, &d, err, errlen);
  *out = d;
  out->only_cache_keys = copy_names(d.only_cache_keys, d.n_only_cache_keys);
  out->only_redis_keys = copy_names(d.only_redis_keys, d.n_only_redis_keys);
  out->differ_keys = copy_names(d.differ_keys, d.n_differ_keys);
  cache_diff_free(&d);
  return rc;
}
static bool cs_feed_stats(void *arg, const char *name, struct ingest_feed_stats *out) {
  struct cache_src *cs = arg;
  for (size_t i = 0; i < cs->n_feeds; i++)
    if (!strcmp(ingest_feed_name(cs->feeds[i]), name)) {
      ingest_feed_stats(cs->feeds[i], out);
      return true;
    }
  return false;
}
static void cs_free(void *arg) {
  struct cache_src *cs = arg;
  free(cs->feeds);
  free(cs);
}

void mon_source_cache(struct mon_source *src, struct cache *c, struct ingest_feed *const *feeds,
                      size_t n_feeds, struct tsdb *store) {
  struct cache_src *cs = vg_calloc(1, sizeof *cs);
  cs->cache = c;
  cs->feeds = vg_calloc(n_feeds + 1, sizeof *cs->feeds);
  if (n_feeds) memcpy(cs->feeds, feeds, n_feeds * sizeof *feeds);
  cs->n_feeds = n_feeds;
  *src = (struct mon_source){.arg = cs,
                             .each = cs_each,
                             .get = cs_get,
                             .mirror_stats = cs_mirror_stats,
                             .mirror_diff = cs_mirror_diff,
                             .feed_stats = cs_feed_stats,
                             .store = store,
                             .free_arg = cs_free};
}

