/*
 * The calculation graph at sizes and shapes the small fixtures of test_compute.c do
 * not reach: selecting the upstream or downstream of a calculation in a dense graph
 * (every calculation depends on every earlier one). The search's stack held one entry
 * per calculation, but a calculation was pushed once per edge reaching it before it
 * was visited: 40 calculations pushed 780 entries into 41 slots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "compute/compute.h"
#include "config/config.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 40 };

static void plan_cells(const char *select, size_t want) {
  char dir[] = "/tmp/vigil-cpg-XXXXXX";
  assert_non_null(mkdtemp(dir));
  struct vg_buf y;
  vg_buf_init(&y);
  vg_buf_printf(&y, "state_dir: %s/state\ncompute:\n  calendar: {start: 2026-01-01, end: 2026-01-03}\n"
                "  calcs:\n", dir);
  for (int i = 0; i < N; i++) {
    vg_buf_printf(&y, "    c%d: {cmd: [\"true\"], deps: [", i);
    for (int j = 0; j < i; j++) vg_buf_printf(&y, "%sc%d", j ? ", " : "", j);
    vg_buf_puts(&y, "]}\n");
  }
  struct cfg_diags d;
  cfg_diags_init(&d);
  struct vg_config *cfg = cfg_load_string("dense.yaml", y.data, y.len, &d);
  for (size_t i = 0; i < d.n; i++) print_error("%d:%d: %s\n", d.items[i].pos.line, d.items[i].pos.col, d.items[i].msg);
  assert_non_null(cfg);
  char err[256];
  struct cp_engine *e = cp_open(cfg, err, sizeof err);
  if (!e) print_error("%s\n", err);
  assert_non_null(e);
  struct cp_options o = {.select = select};
  assert_int_equal(cp_configure(e, &o, err, sizeof err), 0);
  struct vg_buf out;
  vg_buf_init(&out);
  size_t n[CP_N_CLASSES];
  assert_int_equal(cp_plan(e, false, &out, n), 0);
  char total[64];
  snprintf(total, sizeof total, ": %zu cells:", want);
  if (!strstr(out.data, total)) print_error("%s", out.data);
  assert_non_null(strstr(out.data, total));
  vg_buf_free(&out);
  cp_close(e);
  cfg_free(cfg);
  cfg_diags_free(&d);
  vg_buf_free(&y);
  char *cmd = vg_asprintf("rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
  free(cmd);
}

static void dense_graph_selection(void **state) {
  plan_cells("+c39", N * 3);  /* everything is upstream of the last */
  plan_cells("c0+", N * 3);   /* and downstream of the first */
  plan_cells("+c9", 10 * 3);
  plan_cells("c30+", 10 * 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(dense_graph_selection)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
