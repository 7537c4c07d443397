/*
 * vigil compute plan: classify every selected cell of the range without running
 * anything. Calculations are visited in topological order and dates in ascending order,
 * so every dependency (and every previous date a history needs) is decided first.
 */
#include "compute/cp_int.h"

#include <stdlib.h>
#include <string.h>

static void detail(struct cp_engine *e, const struct cp__cell *x, struct vg_buf *b, bool json) {
  const char *key = NULL;
  const char *val = NULL;
  if (x->cls == CP_RERUN) key = "reason", val = cp_reason_name((enum cp_reason)x->reason);
  else if (x->cls == CP_IMPOSSIBLE && x->missing) key = "missing", val = x->missing;
  else if (x->why != SIZE_MAX) key = x->cls == CP_IMPOSSIBLE ? "upstream" : "dependency",
                               val = e->calcs[x->why].cfg->name;
  if (!key) return;
  if (json) {
    vg_buf_printf(b, ",\"%s\":", key);
    vg_buf_json_str(b, val);
  } else {
    vg_buf_printf(b, " (%s: %s)", key, val);
  }
}

int cp_plan(struct cp_engine *e, bool json, struct vg_buf *out, size_t counts[CP_N_CLASSES]) {
  struct cp__cell *cells = cp__cells_new(e);
  size_t tot[CP_N_CLASSES] = {0};
  struct cp__key k;
  for (size_t oi = 0; oi < e->n_calcs; oi++) {
    size_t c = e->order[oi];
    if (!e->calcs[c].selected) continue;
    for (long d = e->from; d <= e->to; d++) {
      cp__classify(e, cells, c, d, &k);
      tot[cells[CP_CELL(e, c, d)].cls]++;
    }
  }
  if (json) vg_buf_puts(out, "{\"cells\":[");
  bool first = true;
  /* listed by date, then calculation order: how a desk reads a catch-up */
  for (long d = e->from; d <= e->to; d++) {
    char ds[16];
    cp_format_date(d, ds);
    for (size_t oi = 0; oi < e->n_calcs; oi++) {
      size_t c = e->order[oi];
      struct cp__cell *x = &cells[CP_CELL(e, c, d)];
      if (!e->calcs[c].selected || x->cls == CP_UPTODATE) continue;
      if (json) {
        vg_buf_printf(out, "%s{\"date\":\"%s\",\"calc\":", first ? "" : ",", ds);
        vg_buf_json_str(out, e->calcs[c].cfg->name);
        vg_buf_printf(out, ",\"class\":\"%s\",\"pass\":%d", cp_class_name((enum cp_class)x->cls),
                      e->calcs[c].pass);
        detail(e, x, out, true);
        vg_buf_putc(out, '}');
      } else {
        vg_buf_printf(out, "%s  %-24s %s", ds, e->calcs[c].cfg->name,
                      cp_class_name((enum cp_class)x->cls));
        detail(e, x, out, false);
        vg_buf_putc(out, '\n');
      }
      first = false;
    }
  }
  char from[16], to[16];
  cp_format_date(e->from, from);
  cp_format_date(e->to, to);
  size_t total = 0;
  for (int i = 0; i < CP_N_CLASSES; i++) total += tot[i];
  if (json) {
    vg_buf_printf(out, "],\"from\":\"%s\",\"to\":\"%s\",\"total\":%zu,\"totals\":{", from, to, total);
    for (int i = 0; i < CP_N_CLASSES; i++)
      vg_buf_printf(out, "%s\"%s\":%zu", i ? "," : "", cp_class_name((enum cp_class)i), tot[i]);
    vg_buf_puts(out, "}}\n");
  } else {
    vg_buf_printf(out, "%s..%s: %zu cells:", from, to, total);
    for (int i = 0; i < CP_N_CLASSES; i++)
      vg_buf_printf(out, " %zu %s%s", tot[i], cp_class_name((enum cp_class)i),
                    i + 1 < CP_N_CLASSES ? "," : "\n");
  }
  if (counts) memcpy(counts, tot, sizeof tot);
  cp__cells_free(e, cells);
  return 0;
}
