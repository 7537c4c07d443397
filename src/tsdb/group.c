/*
 * group — the write path's shortcut from a point to its series. A point names one
 * series per field, all sharing the measurement and tags; the group of that prefix
 * holds its field series, so a point of three fields costs one hash and one probe
 * instead of three full keys built, hashed and compared. Under write_mu; series live
 * as long as the store, so a group's pointers never dangle.
 */
#include <string.h>

#include "tsdb/tsdb_int.h"

static struct tsdb__group **slot(struct tsdb__group **slots, size_t cap, uint64_t hash,
                                 const char *prefix, size_t len) {
  for (size_t i = hash & (cap - 1);; i = (i + 1) & (cap - 1)) {
    struct tsdb__group *g = slots[i];
    if (!g || (g->hash == hash && g->len == len && memcmp(g->prefix, prefix, len) == 0))
      return &slots[i];
  }
}

struct tsdb__group *tsdb__group_find(const struct tsdb__groups *gs, uint64_t hash,
                                     const char *prefix, size_t len) {
  return gs->cap ? *slot(gs->slots, gs->cap, hash, prefix, len) : NULL;
}

struct tsdb__group *tsdb__group_get(struct tsdb__groups *gs, uint64_t hash, const char *prefix,
                                    size_t len) {
  if ((gs->n + 1) * 2 > gs->cap) {
    size_t cap = gs->cap ? gs->cap * 2 : 256;
    struct tsdb__group **slots = vg_calloc(cap, sizeof *slots);
    for (size_t i = 0; i < gs->cap; i++)
      if (gs->slots[i])
        *slot(slots, cap, gs->slots[i]->hash, gs->slots[i]->prefix, gs->slots[i]->len) =
            gs->slots[i];
    free(gs->slots);
    gs->slots = slots;
    gs->cap = cap;
  }
  struct tsdb__group **at = slot(gs->slots, gs->cap, hash, prefix, len);
  if (!*at) {
    struct tsdb__group *g = vg_calloc(1, sizeof *g);
    g->hash = hash;
    g->prefix = vg_malloc(len ? len : 1);
    memcpy(g->prefix, prefix, len);
    g->len = len;
    *at = g;
    gs->n++;
  }
  return *at;
}

struct tsdb__series *tsdb__group_field(const struct tsdb__group *g, const char *name, size_t len) {
  for (size_t i = 0; i < g->n; i++)
    if (g->f[i].len == len && memcmp(g->f[i].name, name, len) == 0) return g->f[i].s;
  return NULL;
}

void tsdb__group_add(struct tsdb__group *g, const char *name, size_t len, struct tsdb__series *s) {
  if (g->n == g->cap) {
    g->cap = g->cap ? g->cap * 2 : 4;
    g->f = vg_realloc(g->f, g->cap * sizeof *g->f);
  }
  char *copy = vg_malloc(len ? len : 1);
  memcpy(copy, name, len);
  g->f[g->n++] = (struct tsdb__group_field){copy, len, s};
}

void tsdb__groups_free(struct tsdb__groups *gs) {
  for (size_t i = 0; i < gs->cap; i++) {
    struct tsdb__group *g = gs->slots[i];
    if (!g) continue;
    for (size_t k = 0; k < g->n; k++) free(g->f[k].name);
    free(g->f);
    free(g->prefix);
    free(g);
  }
  free(gs->slots);
  memset(gs, 0, sizeof *gs);
}
