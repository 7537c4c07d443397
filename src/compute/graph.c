/*
 * The calculation graph: indices of dependencies and dependents, topological passes
 * (Kahn; the config already refused cycles), and the selection of calculations a plan
 * or run covers (`tag:T`, `calc`, `+calc` with upstream, `calc+` with downstream).
 */
#include "compute/cp_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names are looked up often while building; a sorted index keeps 1,000s of calcs cheap. */
struct name_ix {
  const char *name;
  size_t i;
};

static int cmp_name(const void *a, const void *b) {
  return strcmp(((const struct name_ix *)a)->name, ((const struct name_ix *)b)->name);
}

size_t cp__find_calc(const struct cp_engine *e, const char *name) {
  for (size_t i = 0; i < e->n_calcs; i++)
    if (strcmp(e->calcs[i].cfg->name, name) == 0) return i;
  return SIZE_MAX;
}

static size_t find_fast(const struct name_ix *ix, size_t n, const char *name) {
  struct name_ix key = {.name = name};
  const struct name_ix *hit = bsearch(&key, ix, n, sizeof *ix, cmp_name);
  return hit ? hit->i : SIZE_MAX;
}

int cp__graph_build(struct cp_engine *e, char *err, size_t errlen) {
  size_t n = e->n_calcs;
  struct name_ix *ix = vg_calloc(n + 1, sizeof *ix);
  for (size_t i = 0; i < n; i++) ix[i] = (struct name_ix){e->calcs[i].cfg->name, i};
  qsort(ix, n, sizeof *ix, cmp_name);
  size_t *nr = vg_calloc(n + 1, sizeof *nr);
  for (size_t i = 0; i < n; i++) {
    struct cp__calc *c = &e->calcs[i];
    size_t nd = vg_strv_len(c->cfg->deps);
    c->deps = vg_calloc(nd + 1, sizeof *c->deps);
    for (size_t j = 0; j < nd; j++) {
      size_t d = find_fast(ix, n, c->cfg->deps[j]);
      VG_ASSERT(d != SIZE_MAX); /* the config checked every name */
      c->deps[c->n_deps++] = d;
      nr[d]++;
    }
  }
  for (size_t i = 0; i < n; i++) e->calcs[i].rdeps = vg_calloc(nr[i] + 1, sizeof(size_t));
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < e->calcs[i].n_deps; j++) {
      struct cp__calc *d = &e->calcs[e->calcs[i].deps[j]];
      d->rdeps[d->n_rdeps++] = i;
    }
  /* Kahn, pass by pass */
  size_t *left = nr; /* reuse: remaining deps per calc */
  for (size_t i = 0; i < n; i++) left[i] = e->calcs[i].n_deps;
  e->order = vg_calloc(n + 1, sizeof *e->order);
  size_t head = 0, tail = 0;
  for (size_t i = 0; i < n; i++)
    if (left[i] == 0) e->order[tail++] = i;
  while (head < tail) {
    size_t u = e->order[head++];
    for (size_t j = 0; j < e->calcs[u].n_rdeps; j++) {
      size_t v = e->calcs[u].rdeps[j];
      if (e->calcs[v].pass < e->calcs[u].pass + 1) e->calcs[v].pass = e->calcs[u].pass + 1;
      if (--left[v] == 0) e->order[tail++] = v;
    }
  }
  free(nr);
  free(ix);
  if (tail != n) {
    snprintf(err, errlen, "the calculations hold a dependency cycle");
    return -EINVAL;
  }
  return 0;
}

static void mark(struct cp_engine *e, size_t c, bool up, bool *seen) {
  /* iterative: graphs of thousands of calcs must not recurse deeply. A calc is marked
   * seen when pushed, so it is pushed once and the stack never holds more than n. */
  size_t *stack = vg_calloc(e->n_calcs + 1, sizeof *stack), sp = 0;
  if (seen[c]) {
    free(stack);
    return;
  }
  seen[c] = true;
  stack[sp++] = c;
  while (sp) {
    size_t u = stack[--sp];
    e->calcs[u].selected = true;
    size_t n = up ? e->calcs[u].n_deps : e->calcs[u].n_rdeps;
    const size_t *next = up ? e->calcs[u].deps : e->calcs[u].rdeps;
    for (size_t j = 0; j < n; j++)
      if (!seen[next[j]]) {
        seen[next[j]] = true;
        stack[sp++] = next[j];
      }
  }
  free(stack);
}

int cp__select(struct cp_engine *e, const char *spec, char *err, size_t errlen) {
  for (size_t i = 0; i < e->n_calcs; i++) e->calcs[i].selected = !spec || !*spec;
  if (!spec || !*spec) return 0;
  char *copy = vg_strdup(spec), *save = NULL;
  bool *up = vg_calloc(e->n_calcs + 1, 1), *down = vg_calloc(e->n_calcs + 1, 1);
  int rc = 0;
  for (char *t = strtok_r(copy, ",", &save); t && rc == 0; t = strtok_r(NULL, ",", &save)) {
    if (strncmp(t, "tag:", 4) == 0) {
      bool any = false;
      for (size_t i = 0; i < e->n_calcs; i++)
        if (vg_strv_contains(e->calcs[i].cfg->tags, t + 4)) e->calcs[i].selected = any = true;
      if (!any) {
        snprintf(err, errlen, "no calculation has the tag '%s'", t + 4);
        rc = -EINVAL;
      }
      continue;
    }
    bool with_up = t[0] == '+', with_down = t[0] && t[strlen(t) - 1] == '+';
    if (with_up) t++;
    if (with_down) t[strlen(t) - 1] = '\0';
    size_t c = cp__find_calc(e, t);
    if (c == SIZE_MAX) {
      snprintf(err, errlen, "unknown calculation '%s' in --select", t);
      rc = -EINVAL;
      continue;
    }
    e->calcs[c].selected = true;
    if (with_up) mark(e, c, true, up);
    if (with_down) mark(e, c, false, down);
  }
  free(up);
  free(down);
  free(copy);
  return rc;
}
