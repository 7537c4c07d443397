/*
 * Pathological configs (issue 17 item 13), generated here: nesting beyond
 * CFG__MAX_DEPTH is refused at once with its line:col (ten million brackets took
 * 17 s and 3.6 GB before), brackets that do not nest (quoted, commented, in block
 * scalars) are not counted, and dependency chains of 200,000 services or calculations
 * are checked in linear time (they took minutes), cycles included. No wall-clock
 * assertion: the test's ctest timeout is the bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "core/core.h"

static struct vg_config *load(const struct vg_buf *b, struct cfg_diags *d) {
  cfg_diags_init(d);
  return cfg_load_string("gen.yaml", b->data, b->len, d);
}

static void print_diags(const struct cfg_diags *d, size_t max) {
  for (size_t i = 0; i < d->n && i < max; i++)
    print_error("%d:%d: %.200s\n", d->items[i].pos.line, d->items[i].pos.col, d->items[i].msg);
}

/* yaml must fail with exactly one diagnostic, at line:col, saying msg. */
static void one_diag(const struct vg_buf *b, int line, int col, const char *msg) {
  struct cfg_diags d;
  struct vg_config *cfg = load(b, &d);
  if (d.n != 1 || d.items[0].pos.line != line || d.items[0].pos.col != col ||
      strcmp(d.items[0].msg, msg) != 0) {
    print_error("want %d:%d: %s, got %zu:\n", line, col, msg, d.n);
    print_diags(&d, 5);
  }
  assert_null(cfg);
  assert_int_equal(d.n, 1);
  assert_int_equal(d.items[0].pos.line, line);
  assert_int_equal(d.items[0].pos.col, col);
  assert_string_equal(d.items[0].msg, msg);
  cfg_diags_free(&d);
}

static bool mentions_nesting(const struct cfg_diags *d) {
  for (size_t i = 0; i < d->n; i++)
    if (strstr(d->items[i].msg, "nesting")) return true;
  return false;
}

static void ten_megabytes_of_brackets(void **state) {
  enum { N = 5 * 1000 * 1000 };
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_reserve(&b, 2 * N + 2);
  memset(b.data, '[', N);
  memset(b.data + N, ']', N);
  b.len = 2 * N;
  vg_buf_putc(&b, '\n');
  one_diag(&b, 1, 65, "nesting deeper than 64 levels");
  /* the same as a value, and with mappings */
  vg_buf_reset(&b);
  vg_buf_puts(&b, "services:\n  a: {cmd: [x], env: ");
  for (int i = 0; i < 1000000; i++) vg_buf_puts(&b, "{a: ");
  one_diag(&b, 2, 22 + 4 * 63, "nesting deeper than 64 levels"); /* the 64th '{' of env */
  vg_buf_free(&b);
}

static void deep_block_nesting(void **state) {
  struct vg_buf b;
  vg_buf_init(&b);
  for (int i = 0; i < 100; i++) vg_buf_printf(&b, "%*sk%d:\n", i, "", i);
  vg_buf_printf(&b, "%*s- x\n", 100, "");
  one_diag(&b, 65, 65, "nesting deeper than 64 levels");
  vg_buf_free(&b);
}

static void sixty_four_levels_are_fine(void **state) {
  struct vg_buf b;
  vg_buf_init(&b);
  /* the root mapping, then 63 sequences: 64 levels */
  vg_buf_puts(&b, "services: ");
  for (int i = 0; i < 63; i++) vg_buf_putc(&b, '[');
  for (int i = 0; i < 63; i++) vg_buf_putc(&b, ']');
  vg_buf_putc(&b, '\n');
  struct cfg_diags d;
  struct vg_config *cfg = load(&b, &d);
  assert_null(cfg); /* services must be a mapping, but the YAML itself is fine */
  assert_true(d.n > 0);
  assert_false(mentions_nesting(&d));
  cfg_diags_free(&d);
  vg_buf_free(&b);
}

static void brackets_that_do_not_nest(void **state) {
  struct vg_buf b;
  vg_buf_init(&b);
  char many[201];
  memset(many, '[', 200);
  many[200] = 0;
  vg_buf_printf(&b,
                "# %s\n"
                "services:\n"
                "  a:\n"
                "    cmd: [sh, -c, \"echo %s\\\" {{{\", 'it''s %s']  # %s\n"
                "    env:\n"
                "      A: |\n"
                "        %s\n"
                "        %s\n"
                "      B: plain%s\n"
                "  b:\n"
                "    cmd:\n"
                "      - >\n"
                "        %s\n"
                "      - it's%s # %s\n",
                many, many, many, many, many, many, many, many, many, many);
  struct cfg_diags d;
  struct vg_config *cfg = load(&b, &d);
  if (!cfg) print_diags(&d, 5);
  assert_non_null(cfg);
  assert_int_equal(cfg->n_services, 2);
  assert_int_equal(strlen(cfg->services[0].argv[3]), 205);
  cfg_free(cfg);
  cfg_diags_free(&d);
  vg_buf_free(&b);
}

enum { CHAIN = 200 * 1000 };

static void service_chain(struct vg_buf *b, bool cycle) {
  vg_buf_reset(b);
  vg_buf_puts(b, "services:\n");
  for (int i = 0; i < CHAIN; i++) {
    vg_buf_printf(b, "  s%d: {cmd: [x]", i);
    if (i) vg_buf_printf(b, ", depends_on: [s%d]", i - 1);
    else if (cycle) vg_buf_printf(b, ", depends_on: [s%d]", CHAIN - 1);
    vg_buf_puts(b, "}\n");
  }
}

static void two_hundred_thousand_services(void **state) {
  struct vg_buf b;
  vg_buf_init(&b);
  service_chain(&b, false);
  struct cfg_diags d;
  struct vg_config *cfg = load(&b, &d);
  print_diags(&d, 5);
  assert_non_null(cfg);
  assert_int_equal(cfg->n_services, CHAIN);
  cfg_free(cfg);
  cfg_diags_free(&d);
  service_chain(&b, true);
  cfg = load(&b, &d);
  assert_null(cfg);
  assert_int_equal(d.n, 1);
  assert_int_equal(d.items[0].pos.line, 2);
  assert_non_null(strstr(d.items[0].msg, "dependency cycle: s0 -> s199999 -> s199998 -> "));
  cfg_diags_free(&d);
  /* every dependency unknown: each named, the costly suggestions bounded */
  vg_buf_reset(&b);
  vg_buf_puts(&b, "services:\n");
  for (int i = 0; i < CHAIN; i++) vg_buf_printf(&b, "  s%d: {cmd: [x], depends_on: [t%d]}\n", i, i);
  cfg = load(&b, &d);
  assert_null(cfg);
  assert_int_equal(d.n, CHAIN);
  assert_string_equal(d.items[0].msg, "unknown service 't0' in depends_on (did you mean 's0'?)");
  assert_string_equal(d.items[CHAIN - 1].msg, "unknown service 't199999' in depends_on");
  cfg_diags_free(&d);
  vg_buf_free(&b);
}

static void calc_chain(struct vg_buf *b, int back_to) {
  vg_buf_reset(b);
  vg_buf_puts(b, "compute:\n  calendar: {start: 2026-01-01}\n  calcs:\n");
  for (int i = 0; i < CHAIN; i++) {
    vg_buf_printf(b, "    c%d: {cmd: [x, \"{out}\"]", i);
    if (i) vg_buf_printf(b, ", deps: [c%d]", i - 1);
    else if (back_to >= 0) vg_buf_printf(b, ", deps: [c%d]", back_to);
    vg_buf_puts(b, "}\n");
  }
}

static void two_hundred_thousand_calculations(void **state) {
  struct vg_buf b;
  vg_buf_init(&b);
  calc_chain(&b, -1);
  struct cfg_diags d;
  struct vg_config *cfg = load(&b, &d);
  print_diags(&d, 5);
  assert_non_null(cfg);
  assert_int_equal(cfg->compute->n_calcs, CHAIN);
  cfg_free(cfg);
  cfg_diags_free(&d);
  /* a cycle through all of them */
  calc_chain(&b, CHAIN - 1);
  cfg = load(&b, &d);
  assert_null(cfg);
  assert_int_equal(d.n, 1);
  assert_int_equal(d.items[0].pos.line, 4);
  assert_non_null(strstr(d.items[0].msg, "dependency cycle: c0 -> c199999 -> c199998 -> "));
  cfg_diags_free(&d);
  /* a short cycle at the end of a long chain: each walk stops where an earlier one went */
  calc_chain(&b, 1);
  cfg = load(&b, &d);
  assert_null(cfg);
  if (d.n != 1) print_diags(&d, 5);
  assert_int_equal(d.n, 1);
  assert_string_equal(d.items[0].msg, "dependency cycle: c0 -> c1 -> c0");
  cfg_diags_free(&d);
  vg_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ten_megabytes_of_brackets),
      cmocka_unit_test(deep_block_nesting),
      cmocka_unit_test(sixty_four_levels_are_fine),
      cmocka_unit_test(brackets_that_do_not_nest),
      cmocka_unit_test(two_hundred_thousand_services),
      cmocka_unit_test(two_hundred_thousand_calculations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
