/*
 * A sorted index of names (services, calculations) to their positions in the config,
 * so that resolving every dependency of n entries costs O(n log n) instead of a
 * linear search per dependency (200,000 chained services took minutes).
 */
#include "config/config_int.h"
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

static int cmp(const void *pa, const void *pb) {
  const struct cfg__name *a = pa, *b = pb;
  int r = strcmp(a->name, b->name);
  return r ? r : a->i < b->i ? -1 : a->i > b->i;
}

void cfg__names_init(struct cfg__names *ix, const char *const *names, size_t n) {
  ix->n = n;
  ix->v = vg_malloc((n ? n : 1) * sizeof *ix->v);
  for (size_t i = 0; i < n; i++) ix->v[i] = (struct cfg__name){names[i], i};
  qsort(ix->v, n, sizeof *ix->v, cmp);
}

size_t cfg__names_find(const struct cfg__names *ix, const char *name) {
  size_t lo = 0, hi = ix->n; /* the first entry not below name */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(ix->v[mid].name, name) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < ix->n && strcmp(ix->v[lo].name, name) == 0 ? ix->v[lo].i : SIZE_MAX;
}

void cfg__names_free(struct cfg__names *ix) {
  free(ix->v);
  ix->v = NULL;
  ix->n = 0;
}
