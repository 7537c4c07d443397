/*
 * The cache's metrics: counters kept as atomics where the work happens, copied into the
 * registry by a collector at render time.
 */
#include <stdlib.h>

#include "cache/cache_int.h"
#include "metrics/metrics.h"

enum {
  M_KEYS, M_UPDATES, M_OUT_OF_ORDER, M_REFUSED, M_MIRROR_UP, M_WRITTEN, M_COALESCED, M_ERRORS,
  M_RECONNECTS, M_PENDING, M_N
};

static const struct {
  const char *name, *help;
  bool gauge;
} families[M_N] = {
    [M_KEYS] = {"vigil_cache_keys", "Keys in the latest-value cache.", true},
    [M_UPDATES] = {"vigil_cache_updates_total", "Values written into the cache.", false},
    [M_OUT_OF_ORDER] = {"vigil_cache_out_of_order_total",
                        "Values older than the cached one for their key, not taken.", false},
    [M_REFUSED] = {"vigil_cache_refused_total",
                   "Values refused: a new key past cache.max_keys, or a key over 1024 bytes.",
                   false},
    [M_MIRROR_UP] = {"vigil_cache_mirror_up", "1 while the Redis mirror is connected.", true},
    [M_WRITTEN] = {"vigil_cache_mirror_written_total", "Keys written to Redis.", false},
    [M_COALESCED] = {"vigil_cache_mirror_coalesced_total",
                     "Values replaced by a newer one before the mirror wrote them.", false},
    [M_ERRORS] = {"vigil_cache_mirror_errors_total",
                  "Redis error replies to the mirror's writes.", false},
    [M_RECONNECTS] = {"vigil_cache_mirror_reconnects_total",
                      "Times the mirror connected again after losing Redis.", false},
    [M_PENDING] = {"vigil_cache_mirror_pending", "Keys changed and not yet written to Redis.",
                   true},
};

struct cache_metrics {
  struct mt_series *s[M_N];
};

/* The families, and their series unless only describing (an export lists no series). */
static struct cache_metrics *register_families(struct mt_registry *r, bool series) {
  static const char *const none[] = {NULL};
  struct cache_metrics *m = vg_calloc(1, sizeof *m);
  for (int i = 0; i < M_N; i++) {
    struct mt_family *f = families[i].gauge ? mt_gauge(r, families[i].name, families[i].help, none)
                                            : mt_counter(r, families[i].name, families[i].help,
                                                         none);
    if (series) m->s[i] = mt_get(f, NULL);
  }
  return m;
}

void cache_metrics_describe(struct mt_registry *r) { free(register_families(r, false)); }

static void collect(struct mt_registry *r, void *arg) {
  struct cache *c = arg;
  (void)r;
  struct cache_metrics *m = c->metrics;
  mt_set(m->s[M_KEYS], (double)atomic_load(&c->n_keys));
  mt_set(m->s[M_UPDATES], (double)atomic_load(&c->updates));
  mt_set(m->s[M_OUT_OF_ORDER], (double)atomic_load(&c->out_of_order));
  mt_set(m->s[M_REFUSED], (double)atomic_load(&c->refused_keys));
  struct cache_mirror_stats ms;
  cache_mirror_stats(c, &ms);
  mt_set(m->s[M_MIRROR_UP], ms.connected ? 1 : 0);
  mt_set(m->s[M_WRITTEN], (double)ms.keys_written);
  mt_set(m->s[M_COALESCED], (double)ms.keys_dropped);
  mt_set(m->s[M_ERRORS], (double)ms.write_errors);
  mt_set(m->s[M_RECONNECTS], (double)ms.reconnects);
  mt_set(m->s[M_PENDING], (double)ms.pending);
}

void cache__metrics_register(struct cache *c, struct mt_registry *reg) {
  c->metrics = register_families(reg, true);
  mt_add_collector(reg, collect, c);
}
