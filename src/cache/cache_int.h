/*
 * cache internals shared by the files of src/cache/ (not part of the contract).
 *
 * The map is split into stripes, each an open-addressed table of entry pointers under
 * its own mutex; a key's hash picks its stripe (top bits) and its slot (low bits).
 * Entries never move and are never freed before the cache is, so the mirror's dirty
 * lists can hold pointers to them.
 */
#ifndef VIGIL_CACHE_INT_H
#define VIGIL_CACHE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "cache/cache.h"
#include "config/config.h"
#include "core/core.h"

#define CACHE__STRIPES 64
#define CACHE__MAX_SOURCES 1024
#define CACHE__MAX_KEY 1024

struct cache__entry {
  uint64_t hash;
  struct tsdb_value value; /* a string's bytes are in str */
  char *str;
  uint32_t str_cap;
  uint32_t key_len;
  uint32_t meas_len;       /* bytes of the (escaped) measurement the key starts with */
  uint16_t source;         /* index in the cache's sources */
  bool dirty;              /* waiting for the mirror */
  int64_t ts, received;
  uint64_t updates;
  char key[];              /* NUL-terminated */
};

/* A slot keeps its entry's hash beside the pointer: a probe compares hashes without
 * touching the entry (one cache miss per lookup instead of one per probe). */
struct cache__slot {
  uint64_t hash;
  struct cache__entry *e; /* NULL: empty */
};

struct cache__stripe {
  pthread_mutex_t mu;
  struct cache__slot *slots; /* power-of-two capacity */
  size_t cap, n;
  char **chunks;             /* entries are cut from chunks, freed with the cache */
  size_t *chunk_used;        /* bytes of each chunk holding entries, back to back */
  size_t n_chunks;
  size_t cur;                /* the chunk new entries go to; SIZE_MAX: none yet */
  struct cache__entry **dirty; /* entries with dirty set, in no order */
  size_t n_dirty, dirty_cap;
  char pad[64];
};

/* A document set whole (a bridge's latest scan). */
struct cache__sdoc {
  char *name;
  char *json;
  size_t len;
  int64_t ts, received;
  uint16_t source;
  bool dirty;
};

struct cache__mirror;

/* The entries by the store's series id (tsdb_write_opts.series_ids): a two-level table
 * of 2^16 chunks of 2^16 pointers, chunks made on first use; read without a lock. */
#define CACHE__ID_CHUNK_BITS 16
typedef struct cache__entry *_Atomic cache__entry_ptr;

struct cache {
  struct cache__stripe stripes[CACHE__STRIPES];
  size_t max_keys;
  atomic_size_t n_keys;

  /* sources: published entries are immutable; readers scan up to n_sources */
  char (*sources)[48];
  atomic_size_t n_sources;
  pthread_mutex_t sources_mu;

  /* aliases, sorted by name */
  struct cfg_cache_alias *aliases;
  size_t n_aliases;
  /* configured documents (copied from the config) */
  struct cfg_cache_doc *docs;
  size_t n_docs;
  /* documents set whole */
  pthread_mutex_t sdoc_mu;
  struct cache__sdoc *sdocs;
  size_t n_sdocs;
  atomic_bool docs_dirty; /* a set document changed since the mirror last looked */

  atomic_uint_fast64_t updates, out_of_order, refused_keys, coalesced;

  cache__entry_ptr *_Atomic by_series[1u << (32 - CACHE__ID_CHUNK_BITS)];

  struct cache__mirror *mirror; /* NULL without cache.redis */
  struct cache_metrics *metrics; /* NULL without a registry */
};

/* The canonical key for name (an alias resolved), or name itself. */
const char *cache__resolve(const struct cache *c, const char *name);
/* The source index for name (interned; at most CACHE__MAX_SOURCES, then "other"). */
uint16_t cache__source(struct cache *c, const char *name);
const char *cache__source_name(const struct cache *c, uint16_t i);
/* Fills out from e, key and string pointing into e (valid under e's stripe lock). */
void cache__copy_entry(const struct cache *c, const struct cache__entry *e,
                       struct cache_entry *out);
/* Takes every dirty entry of stripe s out of its dirty list, calling fn under the
 * stripe's lock (fn must only copy). */
typedef void cache__dirty_fn(void *arg, const struct cache__entry *e);
size_t cache__take_dirty(struct cache *c, size_t s, size_t max, cache__dirty_fn *fn, void *arg);
/* Marks key dirty again (a write lost with a connection); no-op when gone or dirty. */
void cache__redirty(struct cache *c, const char *key, size_t len, uint64_t hash);
uint64_t cache__hash(const char *key, size_t len);
/* Whether the glob has any fnmatch metacharacter. */
bool cache__is_glob(const char *g);
/* The measurement's length at the start of key (up to the first unescaped ',', or the
 * last unescaped '.' when there is no tag). */
size_t cache__meas_len(const char *key, size_t len);

/* documents */
void cache__docs_init(struct cache *c, const struct cfg_cache *cfg);
void cache__docs_free(struct cache *c);
/* A snapshot of the documents set whole that changed since last asked (dirty cleared):
 * name and JSON, malloc'ed; returns how many. */
size_t cache__take_dirty_docs(struct cache *c, char ***names, char ***jsons);
/* Marks the set document name dirty again (its write was lost with a connection). */
void cache__redirty_doc(struct cache *c, const char *name);
/* A value as the mirror writes it (docs/cache.md); str: a string value's bytes. */
void cache__value_text(const struct tsdb_value *v, const char *str, struct vg_buf *b);

/* the mirror (mirror.c) */
int cache__mirror_start(struct cache *c, const struct cfg_cache *cfg, struct mt_registry *reg,
                        char *err, size_t errlen);
void cache__mirror_stop(struct cache *c);

/* metrics (metrics.c) */
void cache__metrics_register(struct cache *c, struct mt_registry *reg);

#endif
