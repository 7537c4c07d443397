/*
 * The map: every key's latest entry, in striped open-addressed tables (cache_int.h).
 * Writers hash a key, lock its stripe, update the entry in place. Readers copy entries
 * out under the stripe's lock and hand the copies on with no lock held.
 */
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL /* short keys: the inlined hash is several times cheaper than a call */
#include <xxhash.h>

#include "cache/cache_int.h"
#include "metrics/metrics.h"

uint64_t cache__hash(const char *key, size_t len) { return XXH3_64bits(key, len); }

static struct cache__stripe *stripe_of(struct cache *c, uint64_t h) {
  return &c->stripes[h >> 58]; /* 64 stripes: the top 6 bits */
}

bool cache__is_glob(const char *g) { return strpbrk(g, "*?[") != NULL; }

size_t cache__meas_len(const char *key, size_t len) {
  size_t last_dot = len;
  for (size_t i = 0; i < len; i++) {
    if (key[i] == '\\' && i + 1 < len) {
      i++;
      continue;
    }
    if (key[i] == ',') return i;
    if (key[i] == '.') last_dot = i;
  }
  return last_dot;
}

/* ---- sources ---- */

uint16_t cache__source(struct cache *c, const char *name) {
  size_t n = atomic_load_explicit(&c->n_sources, memory_order_acquire);
  for (size_t i = 0; i < n; i++)
    if (strncmp(c->sources[i], name, sizeof c->sources[i] - 1) == 0) return (uint16_t)i;
  pthread_mutex_lock(&c->sources_mu);
  n = atomic_load_explicit(&c->n_sources, memory_order_relaxed);
  size_t i = 0;
  while (i < n && strncmp(c->sources[i], name, sizeof c->sources[i] - 1) != 0) i++;
  if (i == n) {
    if (n == CACHE__MAX_SOURCES) {
      i = 0; /* "other", reserved at open */
    } else {
      snprintf(c->sources[n], sizeof c->sources[n], "%s", name);
      atomic_store_explicit(&c->n_sources, n + 1, memory_order_release);
    }
  }
  pthread_mutex_unlock(&c->sources_mu);
  return (uint16_t)i;
}

const char *cache__source_name(const struct cache *c, uint16_t i) { return c->sources[i]; }

/* ---- the table of one stripe ---- */

static size_t find_slot(const struct cache__stripe *st, const char *key, size_t len, uint64_t h) {
  size_t mask = st->cap - 1, i = h & mask;
  for (;;) {
    const struct cache__slot *sl = &st->slots[i];
    if (!sl->e || (sl->hash == h && sl->e->key_len == len && memcmp(sl->e->key, key, len) == 0))
      return i;
    i = (i + 1) & mask;
  }
}

static void grow(struct cache__stripe *st) {
  size_t ncap = st->cap ? st->cap * 2 : 64;
  struct cache__slot *old = st->slots;
  size_t ocap = st->cap;
  st->slots = vg_calloc(ncap, sizeof *st->slots);
  st->cap = ncap;
  for (size_t i = 0; i < ocap; i++) {
    if (!old[i].e) continue;
    size_t j = old[i].hash & (ncap - 1);
    while (st->slots[j].e) j = (j + 1) & (ncap - 1);
    st->slots[j] = old[i];
  }
  free(old);
}

static struct cache__entry *lookup(struct cache__stripe *st, const char *key, size_t len,
                                   uint64_t h) {
  if (!st->cap) return NULL;
  return st->slots[find_slot(st, key, len, h)].e;
}

#define ARENA_CHUNK (256 << 10)

/* The bytes an entry with a key of key_len bytes takes in its arena. */
static size_t entry_size(size_t key_len) {
  return (sizeof(struct cache__entry) + key_len + 1 + 15) & ~(size_t)15;
}

static size_t add_chunk(struct cache__stripe *st, size_t bytes) {
  st->chunks = vg_realloc(st->chunks, (st->n_chunks + 1) * sizeof *st->chunks);
  st->chunk_used = vg_realloc(st->chunk_used, (st->n_chunks + 1) * sizeof *st->chunk_used);
  st->chunks[st->n_chunks] = vg_calloc(1, bytes);
  st->chunk_used[st->n_chunks] = 0;
  return st->n_chunks++;
}

/* Zeroed memory for an entry of n bytes (entry_size) from st's arena. Entries live as
 * long as the cache, so there is no free list; they follow each other in their chunk,
 * so a walk reads them front to back (cache_each). */
static void *arena_alloc(struct cache__stripe *st, size_t n) {
  size_t ch;
  if (n > ARENA_CHUNK / 4) { /* a long key: a chunk of its own */
    ch = add_chunk(st, n);
  } else {
    if (st->cur == SIZE_MAX || ARENA_CHUNK - st->chunk_used[st->cur] < n)
      st->cur = add_chunk(st, ARENA_CHUNK);
    ch = st->cur;
  }
  void *p = st->chunks[ch] + st->chunk_used[ch];
  st->chunk_used[ch] += n;
  return p;
}

static void mark_dirty(struct cache *c, struct cache__stripe *st, struct cache__entry *e) {
  if (!c->mirror) return;
  if (e->dirty) {
    atomic_fetch_add_explicit(&c->coalesced, 1, memory_order_relaxed);
    return;
  }
  e->dirty = true;
  if (st->n_dirty == st->dirty_cap) {
    st->dirty_cap = st->dirty_cap ? st->dirty_cap * 2 : 256;
    st->dirty = vg_realloc(st->dirty, st->dirty_cap * sizeof *st->dirty);
  }
  st->dirty[st->n_dirty++] = e;
}

struct put {
  const struct tsdb_value *v;
  int64_t ts, received;
  uint16_t source;
};

/* Writes p into e (under its stripe's lock), unless p is older. */
static void update_entry(struct cache *c, struct cache__stripe *st, struct cache__entry *e,
                         const struct put *p) {
  if (p->ts < e->ts) {
    atomic_fetch_add_explicit(&c->out_of_order, 1, memory_order_relaxed);
    return;
  }
  e->value = *p->v;
  if (p->v->type == TSDB_STRING) {
    size_t n = p->v->v.s.len;
    if (n + 1 > e->str_cap) {
      e->str_cap = (uint32_t)(n + 1 < 16 ? 16 : n + 1);
      e->str = vg_realloc(e->str, e->str_cap);
    }
    memcpy(e->str, p->v->v.s.p, n);
    e->str[n] = '\0';
    e->value.v.s.p = e->str;
  }
  e->ts = p->ts;
  e->received = p->received;
  e->source = p->source;
  e->updates++;
  mark_dirty(c, st, e);
}

/* Under st's lock: the entry of key, made when new (NULL when refused: max_keys). */
static struct cache__entry *put_locked(struct cache *c, struct cache__stripe *st, const char *key,
                                       size_t len, uint64_t h, size_t meas_len,
                                       const struct put *p) {
  if (!st->cap) grow(st);
  size_t i = find_slot(st, key, len, h);
  struct cache__entry *e = st->slots[i].e;
  if (!e) {
    if (atomic_load_explicit(&c->n_keys, memory_order_relaxed) >= c->max_keys) {
      atomic_fetch_add_explicit(&c->refused_keys, 1, memory_order_relaxed);
      return NULL;
    }
    if ((st->n + 1) * 4 > st->cap * 3) {
      grow(st);
      i = find_slot(st, key, len, h);
    }
    e = arena_alloc(st, entry_size(len));
    e->hash = h;
    e->key_len = (uint32_t)len;
    e->meas_len = (uint32_t)meas_len;
    memcpy(e->key, key, len);
    e->ts = INT64_MIN;
    st->slots[i] = (struct cache__slot){h, e};
    st->n++;
    atomic_fetch_add_explicit(&c->n_keys, 1, memory_order_relaxed);
  }
  update_entry(c, st, e, p);
  return e;
}

/* ---- entries by series id ---- */

static struct cache__entry *by_series(struct cache *c, uint32_t id) {
  cache__entry_ptr *chunk =
      atomic_load_explicit(&c->by_series[id >> CACHE__ID_CHUNK_BITS], memory_order_acquire);
  if (!chunk) return NULL;
  return atomic_load_explicit(&chunk[id & ((1u << CACHE__ID_CHUNK_BITS) - 1)],
                              memory_order_acquire);
}

static void set_by_series(struct cache *c, uint32_t id, struct cache__entry *e) {
  cache__entry_ptr *_Atomic *top = &c->by_series[id >> CACHE__ID_CHUNK_BITS];
  cache__entry_ptr *chunk = atomic_load_explicit(top, memory_order_acquire);
  if (!chunk) {
    cache__entry_ptr *fresh = vg_calloc(1u << CACHE__ID_CHUNK_BITS, sizeof *fresh);
    if (atomic_compare_exchange_strong(top, &chunk, fresh)) chunk = fresh;
    else free(fresh); /* another writer made it first: chunk holds theirs */
  }
  atomic_store_explicit(&chunk[id & ((1u << CACHE__ID_CHUNK_BITS) - 1)], e, memory_order_release);
}

static void put_key(struct cache *c, const char *key, size_t len, size_t meas_len,
                    const struct put *p) {
  uint64_t h = cache__hash(key, len);
  struct cache__stripe *st = stripe_of(c, h);
  pthread_mutex_lock(&st->mu);
  put_locked(c, st, key, len, h, meas_len, p);
  pthread_mutex_unlock(&st->mu);
  atomic_fetch_add_explicit(&c->updates, 1, memory_order_relaxed);
}

/* Appends s escaped as line protocol escapes a measurement (",", " ") or a tag key or
 * value (also "="); false when the key would pass CACHE__MAX_KEY. */
static bool put_escaped(char *buf, size_t *o, struct tsdb_str s, bool tag) {
  size_t at = *o;
  for (size_t i = 0; i < s.len; i++) {
    char ch = s.p[i];
    if (at + 2 >= CACHE__MAX_KEY) return false;
    if (ch == ',' || ch == ' ' || (tag && ch == '=')) buf[at++] = '\\';
    buf[at++] = ch;
  }
  *o = at;
  return true;
}

/* One value of a batch: its entry when the store's series id names a known one, else
 * its key, built and hashed before any lock is taken. */
struct pending {
  struct cache__entry *e; /* known, or NULL: off, len, meas_len, hash, id say */
  uint32_t off, len, meas_len, id;
  uint64_t hash;
  const struct tsdb_value *v;
  int64_t ts;
};

/* The key prefix of pt (escaped measurement and tags, then '.') into prefix; its length,
 * or 0 when the key would pass CACHE__MAX_KEY; the measurement's length in *meas_len. */
static size_t build_prefix(const struct tsdb_point *pt, char *prefix, size_t *meas_len) {
  size_t o = 0;
  bool ok = put_escaped(prefix, &o, pt->measurement, false);
  *meas_len = o;
  for (size_t t = 0; ok && t < pt->n_tags; t++) {
    prefix[o++] = ',';
    ok = put_escaped(prefix, &o, pt->tags[t].key, true);
    if (ok && o + 1 < CACHE__MAX_KEY) prefix[o++] = '=';
    else ok = false;
    ok = ok && put_escaped(prefix, &o, pt->tags[t].value, true);
  }
  if (!ok) return 0;
  prefix[o++] = '.';
  return o;
}

/*
 * A batch's values are sorted by stripe first, then put one stripe lock at a time:
 * a batch of a thousand points takes each of the 64 stripes once, and in batch order
 * within a stripe, so of two values of one key with one time the later wins, as it
 * would one by one. A value whose store series the cache has seen goes straight to its
 * entry; only the others have their key built and hashed.
 */
void cache_put_points(struct cache *c, const char *source, const struct tsdb_point *pts,
                      size_t n, const struct tsdb_field *fields, const uint32_t *series) {
  if (!c || !n) return;
  size_t nvals = 0;
  for (size_t i = 0; i < n; i++) nvals += pts[i].n_fields;
  struct pending *pv = vg_malloc(nvals * sizeof *pv);
  uint32_t *order = vg_malloc(nvals * sizeof *order);
  struct vg_buf keys;
  vg_buf_init(&keys);
  size_t np = 0, refused = 0;
  uint32_t per_stripe[CACHE__STRIPES + 1] = {0};
  char prefix[CACHE__MAX_KEY + 1];
  for (size_t i = 0; i < n; i++) {
    const struct tsdb_point *pt = &pts[i];
    size_t plen = SIZE_MAX, meas_len = 0; /* SIZE_MAX: not built yet */
    for (size_t f = 0; f < pt->n_fields; f++) {
      const struct tsdb_field *fl = &pt->fields[f];
      uint32_t id = series ? series[fl - fields] : TSDB_NO_SERIES;
      struct cache__entry *e = id != TSDB_NO_SERIES ? by_series(c, id) : NULL;
      struct pending *p = &pv[np];
      if (e) {
        *p = (struct pending){.e = e, .hash = e->hash, .v = &fl->value, .ts = pt->ts};
      } else {
        if (plen == SIZE_MAX) plen = build_prefix(pt, prefix, &meas_len);
        size_t len = plen + fl->key.len;
        if (plen == 0 || len > CACHE__MAX_KEY) {
          refused++;
          continue;
        }
        size_t at = keys.len;
        vg_buf_append(&keys, prefix, plen);
        vg_buf_append(&keys, fl->key.p, fl->key.len);
        *p = (struct pending){.off = (uint32_t)at, .len = (uint32_t)len,
                              .meas_len = (uint32_t)meas_len, .id = id,
                              .hash = cache__hash(keys.data + at, len), .v = &fl->value,
                              .ts = pt->ts};
      }
      per_stripe[(p->hash >> 58) + 1]++;
      np++;
    }
  }
  /* a stable counting sort by stripe */
  for (size_t s = 1; s <= CACHE__STRIPES; s++) per_stripe[s] += per_stripe[s - 1];
  uint32_t fill[CACHE__STRIPES];
  memcpy(fill, per_stripe, sizeof fill);
  for (size_t i = 0; i < np; i++) order[fill[pv[i].hash >> 58]++] = (uint32_t)i;
  struct put p = {.received = vg_wall_ns(), .source = cache__source(c, source ? source : "")};
  for (size_t s = 0; s < CACHE__STRIPES; s++) {
    if (per_stripe[s] == per_stripe[s + 1]) continue;
    struct cache__stripe *st = &c->stripes[s];
    pthread_mutex_lock(&st->mu);
    for (uint32_t j = per_stripe[s]; j < per_stripe[s + 1]; j++) {
      const struct pending *q = &pv[order[j]];
      p.v = q->v;
      p.ts = q->ts;
      if (q->e) {
        update_entry(c, st, q->e, &p);
        continue;
      }
      struct cache__entry *e =
          put_locked(c, st, keys.data + q->off, q->len, q->hash, q->meas_len, &p);
      if (e && q->id != TSDB_NO_SERIES) set_by_series(c, q->id, e);
    }
    pthread_mutex_unlock(&st->mu);
  }
  atomic_fetch_add_explicit(&c->updates, np, memory_order_relaxed);
  if (refused) atomic_fetch_add_explicit(&c->refused_keys, refused, memory_order_relaxed);
  free(pv);
  free(order);
  vg_buf_free(&keys);
}

void cache_put(struct cache *c, const char *key, const struct tsdb_value *v, int64_t ts,
               const char *source) {
  if (!c) return;
  key = cache__resolve(c, key);
  size_t len = strlen(key);
  if (len == 0 || len > CACHE__MAX_KEY) {
    atomic_fetch_add_explicit(&c->refused_keys, 1, memory_order_relaxed);
    return;
  }
  struct put p = {.v = v, .ts = ts, .received = vg_wall_ns(),
                  .source = cache__source(c, source ? source : "")};
  put_key(c, key, len, cache__meas_len(key, len), &p);
}

/* ---- reading ---- */

void cache__copy_entry(const struct cache *c, const struct cache__entry *e,
                       struct cache_entry *out) {
  out->key = (char *)e->key;
  out->value = e->value;
  out->str = e->value.type == TSDB_STRING ? e->str : NULL;
  out->ts = e->ts;
  out->received = e->received;
  /* the names are NUL-padded arrays of the same size: a fixed copy, no formatting */
  _Static_assert(sizeof out->source == sizeof c->sources[0], "source names");
  memcpy(out->source, c->sources[e->source], sizeof out->source);
  out->updates = e->updates;
}

void cache_entry_clear(struct cache_entry *e) {
  if (!e) return;
  free(e->key);
  free(e->str);
  memset(e, 0, sizeof *e);
}

int cache_get(struct cache *c, const char *key, struct cache_entry *out) {
  memset(out, 0, sizeof *out);
  if (!c) return -ENOENT;
  key = cache__resolve(c, key);
  size_t len = strlen(key);
  uint64_t h = cache__hash(key, len);
  struct cache__stripe *st = stripe_of(c, h);
  pthread_mutex_lock(&st->mu);
  struct cache__entry *e = lookup(st, key, len, h);
  if (e) {
    cache__copy_entry(c, e, out);
    out->key = vg_strndup(e->key, e->key_len);
    if (out->str) {
      out->str = vg_strndup(e->str, e->value.v.s.len);
      out->value.v.s.p = out->str;
    }
  }
  pthread_mutex_unlock(&st->mu);
  return e ? 0 : -ENOENT;
}

double cache_age(struct cache *c, const char *key) {
  if (!c) return -1;
  key = cache__resolve(c, key);
  size_t len = strlen(key);
  uint64_t h = cache__hash(key, len);
  struct cache__stripe *st = stripe_of(c, h);
  pthread_mutex_lock(&st->mu);
  struct cache__entry *e = lookup(st, key, len, h);
  int64_t received = e ? e->received : 0;
  pthread_mutex_unlock(&st->mu);
  if (!e) return -1;
  double age = (double)(vg_wall_ns() - received) / 1e9;
  return age < 0 ? 0 : age;
}

static bool glob_match(const char *glob, size_t prefix_len, bool prefix_only, const char *key) {
  if (!glob) return true;
  if (prefix_only) return strncmp(key, glob, prefix_len) == 0;
  return fnmatch(glob, key, 0) == 0;
}

/* Entries are handed out in place, under their stripe's lock: a walk over 100,000 keys
 * copies nothing (the monitor evaluates its checks in one such walk). */
size_t cache_each(struct cache *c, const char *glob, cache_each_fn *fn, void *arg) {
  if (!c) return 0;
  if (glob && strcmp(glob, "*") == 0) glob = NULL;
  if (glob && !cache__is_glob(glob)) {
    /* one key or alias: a lookup, not a scan */
    struct cache_entry e;
    if (cache_get(c, glob, &e) < 0) return 0;
    (void)fn(arg, &e);
    cache_entry_clear(&e);
    return 1;
  }
  /* "prefix*" is the common glob: compared without fnmatch */
  size_t plen = glob ? strlen(glob) : 0;
  bool prefix_only = glob && plen && glob[plen - 1] == '*' && !strpbrk(glob, "?[\\") &&
                     strchr(glob, '*') == glob + plen - 1;
  if (prefix_only) plen--;
  size_t given = 0;
  bool go = true;
  for (size_t s = 0; s < CACHE__STRIPES && go; s++) {
    struct cache__stripe *st = &c->stripes[s];
    pthread_mutex_lock(&st->mu);
    /* the arena in allocation order, not the table in hash order: the entries are read
     * front to back, as the memory prefetcher likes */
    for (size_t ch = 0; ch < st->n_chunks && go; ch++) {
      const char *p = st->chunks[ch], *end = p + st->chunk_used[ch];
      while (p < end && go) {
        const struct cache__entry *e = (const struct cache__entry *)p;
        p += entry_size(e->key_len);
        if (!glob_match(glob, plen, prefix_only, e->key)) continue;
        struct cache_entry out;
        cache__copy_entry(c, e, &out);
        given++;
        go = fn(arg, &out);
      }
    }
    pthread_mutex_unlock(&st->mu);
  }
  /* aliases are matched by name too: give their entries under the alias's key */
  for (size_t a = 0; a < c->n_aliases && go && glob; a++) {
    if (!glob_match(glob, plen, prefix_only, c->aliases[a].name)) continue;
    if (glob_match(glob, plen, prefix_only, c->aliases[a].key)) continue; /* given already */
    struct cache_entry e;
    if (cache_get(c, c->aliases[a].key, &e) < 0) continue;
    given++;
    go = fn(arg, &e);
    cache_entry_clear(&e);
  }
  return given;
}

size_t cache_size(struct cache *c) { return c ? atomic_load(&c->n_keys) : 0; }

/* ---- the mirror's side ---- */

size_t cache__take_dirty(struct cache *c, size_t s, size_t max, cache__dirty_fn *fn, void *arg) {
  struct cache__stripe *st = &c->stripes[s];
  pthread_mutex_lock(&st->mu);
  size_t n = st->n_dirty < max ? st->n_dirty : max;
  /* from the end: the list is a stack, and what is left stays in place */
  for (size_t i = 0; i < n; i++) {
    struct cache__entry *e = st->dirty[st->n_dirty - 1 - i];
    e->dirty = false;
    fn(arg, e);
  }
  st->n_dirty -= n;
  pthread_mutex_unlock(&st->mu);
  return n;
}

void cache__redirty(struct cache *c, const char *key, size_t len, uint64_t hash) {
  struct cache__stripe *st = stripe_of(c, hash);
  pthread_mutex_lock(&st->mu);
  struct cache__entry *e = lookup(st, key, len, hash);
  if (e && !e->dirty) {
    e->dirty = true;
    if (st->n_dirty == st->dirty_cap) {
      st->dirty_cap = st->dirty_cap ? st->dirty_cap * 2 : 256;
      st->dirty = vg_realloc(st->dirty, st->dirty_cap * sizeof *st->dirty);
    }
    st->dirty[st->n_dirty++] = e;
  }
  pthread_mutex_unlock(&st->mu);
}

/* ---- open / close ---- */

int cache_open(const struct cfg_cache *cfg, struct mt_registry *reg, struct cache **out,
               char *err, size_t errlen) {
  struct cache *c = vg_calloc(1, sizeof *c);
  for (size_t s = 0; s < CACHE__STRIPES; s++) {
    pthread_mutex_init(&c->stripes[s].mu, NULL);
    c->stripes[s].cur = SIZE_MAX;
  }
  pthread_mutex_init(&c->sources_mu, NULL);
  pthread_mutex_init(&c->sdoc_mu, NULL);
  c->sources = vg_calloc(CACHE__MAX_SOURCES, sizeof *c->sources);
  snprintf(c->sources[0], sizeof c->sources[0], "other");
  atomic_store(&c->n_sources, 1);
  c->max_keys = cfg && cfg->max_keys > 0 ? (size_t)cfg->max_keys : 1000000;
  cache__docs_init(c, cfg);
  if (reg) cache__metrics_register(c, reg);
  if (cfg && (cfg->redis_host || cfg->redis_unix) &&
      cache__mirror_start(c, cfg, reg, err, errlen) < 0) {
    cache_close(&c);
    return -1;
  }
  *out = c;
  return 0;
}

void cache_close(struct cache **cp) {
  struct cache *c = *cp;
  if (!c) return;
  *cp = NULL;
  cache__mirror_stop(c);
  for (size_t s = 0; s < CACHE__STRIPES; s++) {
    struct cache__stripe *st = &c->stripes[s];
    for (size_t i = 0; i < st->cap; i++)
      if (st->slots[i].e) free(st->slots[i].e->str);
    for (size_t i = 0; i < st->n_chunks; i++) free(st->chunks[i]);
    free(st->chunks);
    free(st->chunk_used);
    free(st->slots);
    free(st->dirty);
    pthread_mutex_destroy(&st->mu);
  }
  for (size_t i = 0; i < VG_ARRAY_LEN(c->by_series); i++) free(c->by_series[i]);
  cache__docs_free(c);
  free(c->metrics);
  free(c->sources);
  pthread_mutex_destroy(&c->sources_mu);
  pthread_mutex_destroy(&c->sdoc_mu);
  free(c);
}
