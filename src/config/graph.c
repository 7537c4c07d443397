/*
 * Checks across services: every depends_on entry names another existing service,
 * and the dependencies form no cycle (a service could then never start).
 *
 * Everything here is linear in services and edges (names resolve through a sorted
 * index), so 200,000 chained services check in well under a second. Cycles are found
 * with an iterative depth-first search in file order (services and their depends_on
 * lists as written), so a config with thousands of services cannot overflow the stack. Each back edge closes one distinct cycle, reported
 * once, at the service of the cycle that comes first in the file.
 */
#include "config/config_int.h"
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

struct graph {
  size_t n;
  size_t **adj; /* adj[i]: the services i depends on, in file order */
  size_t *deg;
};

static void check_entries(struct cfg__ctx *c, const struct vg_config *cfg, struct graph *g,
                          const char **names) {
  struct cfg__names ix;
  cfg__names_init(&ix, names, cfg->n_services);
  /* listed[k] == i + 1 once service i has listed k: a repeat is found in O(1) */
  size_t *listed = vg_calloc(g->n ? g->n : 1, sizeof *listed), suggested = 0;
  for (size_t i = 0; i < cfg->n_services; i++) {
    const struct cfg_service *s = &cfg->services[i];
    size_t n = vg_strv_len(s->depends_on);
    g->adj[i] = vg_calloc(n ? n : 1, sizeof *g->adj[i]);
    for (size_t j = 0; j < n; j++) {
      const char *dep = s->depends_on[j];
      struct cfg_pos pos = s->depends_pos[j];
      size_t k = cfg__names_find(&ix, dep);
      if (k == SIZE_MAX) {
        const char *hint = suggested++ < CFG__MAX_SUGGEST ? cfg__suggest(dep, names, cfg->n_services) : NULL;
        if (hint)
          cfg_diag_add(c->diags, pos, "unknown service '%s' in depends_on (did you mean '%s'?)",
                       dep, hint);
        else
          cfg_diag_add(c->diags, pos, "unknown service '%s' in depends_on", dep);
      } else if (k == i) {
        cfg_diag_add(c->diags, pos, "service '%s' depends on itself", s->name);
      } else if (listed[k] == i + 1) {
        cfg_diag_add(c->diags, pos, "'%s' is listed twice in depends_on", dep);
      } else {
        listed[k] = i + 1;
        g->adj[i][g->deg[i]++] = k;
      }
    }
  }
  free(listed);
  cfg__names_free(&ix);
}

enum { WHITE, GREY, BLACK };

struct frame {
  size_t node, next;
};

/* The cycle is st[from..depth) plus the edge back to `to`. It is written starting at
 * its member that comes first in the file, so the same cycle always reads the same
 * whichever service the search entered it from. */
static void report_cycle(struct cfg__ctx *c, const struct vg_config *cfg, const struct frame *st,
                         size_t depth, size_t to) {
  size_t from = depth;
  while (st[from - 1].node != to) from--;
  from--;
  size_t len = depth - from, first = 0;
  for (size_t i = 1; i < len; i++)
    if (st[from + i].node < st[from + first].node) first = i;
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_puts(&b, "dependency cycle: ");
  for (size_t i = 0; i <= len; i++)
    vg_buf_printf(&b, "%s%s", i ? " -> " : "", cfg->services[st[from + (first + i) % len].node].name);
  cfg_diag_add(c->diags, cfg->services[st[from + first].node].pos, "%s", b.data);
  vg_buf_free(&b);
}

static void find_cycles(struct cfg__ctx *c, const struct vg_config *cfg, const struct graph *g) {
  unsigned char *color = vg_calloc(g->n ? g->n : 1, 1);
  struct frame *st = vg_malloc((g->n ? g->n : 1) * sizeof *st);
  for (size_t root = 0; root < g->n; root++) {
    if (color[root] != WHITE) continue;
    size_t depth = 0;
    st[depth++] = (struct frame){root, 0};
    color[root] = GREY;
    while (depth > 0) {
      struct frame *f = &st[depth - 1];
      if (f->next == g->deg[f->node]) {
        color[f->node] = BLACK;
        depth--;
        continue;
      }
      size_t v = g->adj[f->node][f->next++];
      if (color[v] == WHITE) {
        color[v] = GREY;
        st[depth++] = (struct frame){v, 0};
      } else if (color[v] == GREY) {
        report_cycle(c, cfg, st, depth, v);
      }
    }
  }
  free(st);
  free(color);
}

void cfg__graph_check(struct cfg__ctx *c, const struct vg_config *cfg) {
  struct graph g = {.n = cfg->n_services};
  size_t n = g.n ? g.n : 1;
  g.adj = vg_calloc(n, sizeof *g.adj);
  g.deg = vg_calloc(n, sizeof *g.deg);
  const char **names = vg_calloc(n, sizeof *names);
  for (size_t i = 0; i < g.n; i++) names[i] = cfg->services[i].name;
  check_entries(c, cfg, &g, names);
  find_cycles(c, cfg, &g);
  for (size_t i = 0; i < g.n; i++) free(g.adj[i]);
  free(g.adj);
  free(g.deg);
  free(names);
}
