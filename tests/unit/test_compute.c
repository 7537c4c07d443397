/*
 * Tests of the compute module without child processes: cleaned code hashes (comments and
 * formatting ignored, real changes seen), dates, the compute config section (cycle
 * message, unknown dependency, placeholders, at exact line:col), selection and plans over
 * a ledger in a temporary state directory. Runs of real calculation programs are in
 * tests/integration/test_compute*.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "compute/compute.h"
#include "config/config.h"
#include "core/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool same_hash(const char *lang, const char *a, const char *b) {
  uint8_t ha[16], hb[16];
  cp_code_hash_buf(lang, a, strlen(a), ha);
  cp_code_hash_buf(lang, b, strlen(b), hb);
  return memcmp(ha, hb, 16) == 0;
}

static void test_code_hash_shell(void **state) {
  (void)state;
  const char *base = "#!/bin/sh\nset -e\nawk '{print $1*2}' \"$1\" > \"$2/out\"\n";
  assert_true(same_hash("sh", base,
                        "#!/bin/sh\n# doubles prices\n\nset -e   # stop on error\n"
                        "awk   '{print $1*2}'  \"$1\" >   \"$2/out\"\n\n"));
  /* a '#' inside quotes or ${#x} is not a comment */
  assert_false(same_hash("sh", "echo '# not a comment'\n", "echo '\n"));
  assert_false(same_hash("sh", "echo ${#x}\n", "echo ${\n"));
  /* a real change */
  assert_false(same_hash("sh", base, "#!/bin/sh\nset -e\nawk '{print $1*3}' \"$1\" > \"$2/out\"\n"));
  /* line breaks separate commands: joining two lines is a change */
  assert_false(same_hash("sh", "a\nb\n", "a b\n"));
  /* the shebang is kept */
  assert_false(same_hash("sh", "#!/bin/sh\nx\n", "#!/bin/bash\nx\n"));
}

static void test_code_hash_c(void **state) {
  (void)state;
  const char *base = "int main(void){return 1+2;}\n";
  assert_true(same_hash("c", base,
                        "/* the answer */\nint main ( void )\n{\n  // add\n  return 1 + 2;\n}\n"));
  assert_false(same_hash("c", base, "int main(void){return 1+3;}\n"));
  assert_false(same_hash("c", "char *s = \"a  b\";", "char *s = \"a b\";"));
  assert_false(same_hash("c", "int ab;", "int a b;"));
  assert_true(same_hash("c", "char *s = \"/* x */\";", "char *s =\n\"/* x */\"; /* y */"));
}

static void test_code_hash_python(void **state) {
  (void)state;
  const char *base = "def f(x):\n    return x * 2\n";
  assert_true(same_hash("py", base, "# helper\ndef f(x):  # doubles\n    # body\n    return x  *  2\n\n"));
  /* indentation is syntax */
  assert_false(same_hash("py", "if a:\n    b\nc\n", "if a:\n    b\n    c\n"));
  /* unknown languages are hashed as they are */
  assert_false(same_hash("txt", "a  b", "a b"));
}

static void test_dates(void **state) {
  (void)state;
  long d;
  char buf[16];
  assert_int_equal(cfg_parse_date("1970-01-01", &d), 0);
  assert_int_equal(d, 0);
  assert_int_equal(cfg_parse_date("2024-02-29", &d), 0);
  cp_format_date(d, buf);
  assert_string_equal(buf, "2024-02-29");
  cp_format_date(d + 1, buf);
  assert_string_equal(buf, "2024-03-01");
  assert_int_equal(cfg_parse_date("2023-02-29", &d), -1);
  assert_int_equal(cfg_parse_date("2023-13-01", &d), -1);
  assert_int_equal(cfg_parse_date("2023-1-01", &d), -1);
  for (long x = 0; x < 30000; x += 7) {
    long back;
    cp_format_date(x, buf);
    assert_int_equal(cfg_parse_date(buf, &back), 0);
    assert_int_equal(back, x);
  }
}

/* Loads yaml; returns the diagnostics joined as "line:col: msg\n". */
static char *diags_of(const char *yaml) {
  struct cfg_diags d;
  cfg_diags_init(&d);
  struct vg_config *cfg = cfg_load_string("t.yaml", yaml, strlen(yaml), &d);
  struct vg_buf b;
  vg_buf_init(&b);
  for (size_t i = 0; i < d.n; i++)
    vg_buf_printf(&b, "%d:%d: %s\n", d.items[i].pos.line, d.items[i].pos.col, d.items[i].msg);
  cfg_diags_free(&d);
  cfg_free(cfg);
  return b.data ? b.data : vg_strdup("");
}

static void test_config_cycle(void **state) {
  (void)state;
  char *m = diags_of("compute:\n"
                     "  calendar: {start: 2026-01-01}\n"
                     "  calcs:\n"
                     "    x: {cmd: [true]}\n"
                     "    a: {cmd: [true], deps: [c]}\n"
                     "    b: {cmd: [true], deps: [a]}\n"
                     "    c: {cmd: [true], deps: [b, x]}\n"
                     "    d: {cmd: [true], deps: [a]}\n");
  assert_string_equal(m, "5:5: dependency cycle: a -> c -> b -> a\n");
  free(m);
}

/* on_complete goes to libcurl: only an http(s) URL passes vigil check */
static void test_config_on_complete_url(void **state) {
  (void)state;
  static const char *const bad[][2] = {
      {"not a url", "3:16: bad url 'not a url': expected http://host[:port][/path] or https://...\n"},
      {"file:///etc/passwd",
       "3:16: bad url 'file:///etc/passwd': expected http://host[:port][/path] or https://...\n"},
      {"gopher://h:70/x", "3:16: bad url 'gopher://h:70/x': expected http://host[:port][/path] or https://...\n"},
      {"http://user@h/x", "3:16: bad url 'http://user@h/x': expected http://host[:port][/path] or https://...\n"},
      {"http://h:0/x", "3:16: bad port '0' in 'http://h:0/x': expected 1..65535\n"},
      {"http://127.0.0.1:8080/hooks/compute?k=v", ""},
      {"https://[::1]/hook", ""},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *yaml = vg_asprintf("compute:\n"
                             "  calendar: {start: 2026-01-01}\n"
                             "  on_complete: \"%s\"\n"
                             "  calcs:\n"
                             "    x: {cmd: [true]}\n", bad[i][0]);
    char *m = diags_of(yaml);
    assert_string_equal(m, bad[i][1]);
    free(m);
    free(yaml);
  }
}

static void test_config_problems(void **state) {
  (void)state;
  char *m = diags_of("compute:\n"
                     "  calendar: {start: 2026-02-30}\n"
                     "  slots: {standard: 0}\n"
                     "  calcs:\n"
                     "    prices: {cmd: [true, \"{in.x}\", \"{when}\"], deps: [price]}\n"
                     "    vol: {cmd: [true, \"{prev}\"], deps: [prices], resources: big}\n"
                     "    risk: {cmd: [true], deps: [risk], tag: [a]}\n");
  assert_string_equal(m, "2:21: bad date '2026-02-30': expected YYYY-MM-DD\n"
                         "3:21: slots must be between 1 and 256, got '0'\n"
                         "5:26: {in.x}: 'x' is not in deps\n"
                         "5:36: unknown placeholder {when}: expected {date}, {out}, {prev} or {in.NAME}\n"
                         "5:54: unknown calculation 'price' in deps (did you mean 'prices'?)\n"
                         "6:23: {prev} needs history: 1 or more\n"
                         "6:61: resources must be standard or highmem, not 'big'\n"
                         "7:32: calculation 'risk' depends on itself (use history)\n"
                         "7:39: unknown key 'tag' (did you mean 'tags'?)\n");
  free(m);
}

/* A config in a fresh directory; returns the engine configured for the whole range. */
struct fx {
  char dir[64];
  struct vg_config *cfg;
  struct cp_engine *e;
};

static void fx_open(struct fx *f, const char *calcs, const char *select) {
  snprintf(f->dir, sizeof f->dir, "/tmp/vigil-cp-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  char *yaml = vg_asprintf("state_dir: ./state\ncompute:\n  calendar: {start: 2026-01-01, end: "
                           "2026-01-03}\n  calcs:\n%s",
                           calcs);
  char *path = vg_asprintf("%s/vigil.yaml", f->dir);
  FILE *fp = fopen(path, "w");
  fputs(yaml, fp);
  fclose(fp);
  char *data = vg_asprintf("%s/in-2026-01-02", f->dir);
  fp = fopen(data, "w");
  fclose(fp);
  struct cfg_diags d;
  cfg_diags_init(&d);
  f->cfg = cfg_load(path, &d);
  assert_int_equal(d.n, 0);
  cfg_diags_free(&d);
  char err[256];
  f->e = cp_open(f->cfg, err, sizeof err);
  assert_non_null(f->e);
  struct cp_options o = {.select = select};
  assert_int_equal(cp_configure(f->e, &o, err, sizeof err), 0);
  free(yaml);
  free(path);
  free(data);
}

static void fx_close(struct fx *f) {
  cp_close(f->e);
  cfg_free(f->cfg);
  char *cmd = vg_asprintf("rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  free(cmd);
}

static const char graph[] = "    src: {cmd: [true], inputs: [\"in-{date}\"], tags: [fx]}\n"
                            "    other: {cmd: [true]}\n"
                            "    mid: {cmd: [true, \"{in.src}\"], deps: [src]}\n"
                            "    top: {cmd: [true], deps: [mid, other], history: 1}\n";

static void test_plan_impossible_propagates(void **state) {
  (void)state;
  struct fx f;
  fx_open(&f, graph, NULL);
  struct vg_buf out;
  vg_buf_init(&out);
  size_t n[CP_N_CLASSES];
  assert_int_equal(cp_plan(f.e, false, &out, n), 0);
  /* only 2026-01-02 has its input: src, mid, top impossible on the 1st and 3rd, and top
   * on the 2nd too (its history needs the 1st); other (independent) runnable every day */
  assert_int_equal(n[CP_IMPOSSIBLE], 7);
  assert_int_equal(n[CP_RUNNABLE], 5);
  assert_non_null(strstr(out.data, "2026-01-01  src                      impossible (missing: in-2026-01-01)"));
  assert_non_null(strstr(out.data, "2026-01-03  top                      impossible (upstream: mid)"));
  assert_non_null(strstr(out.data, "2026-01-02  top                      impossible (upstream: top)"));
  assert_non_null(strstr(out.data, "2026-01-02  mid                      runnable"));
  assert_non_null(strstr(out.data, "12 cells: 0 uptodate, 5 runnable, 0 rerun, 0 blocked, 7 impossible"));
  vg_buf_free(&out);
  fx_close(&f);
}

static void test_plan_selection(void **state) {
  (void)state;
  struct fx f;
  size_t n[CP_N_CLASSES];
  struct vg_buf out;
  vg_buf_init(&out);
  fx_open(&f, graph, "tag:fx");
  assert_int_equal(cp_plan(f.e, true, &out, n), 0);
  assert_non_null(strstr(out.data, "\"total\":3,"));
  fx_close(&f);
  vg_buf_reset(&out);
  fx_open(&f, graph, "+mid");
  assert_int_equal(cp_plan(f.e, false, &out, n), 0);
  assert_non_null(strstr(out.data, ": 6 cells:"));
  fx_close(&f);
  vg_buf_reset(&out);
  fx_open(&f, graph, "src+");
  assert_int_equal(cp_plan(f.e, false, &out, n), 0);
  assert_non_null(strstr(out.data, ": 9 cells:"));
  fx_close(&f);
  vg_buf_reset(&out);
  /* the range stays inside the calendar */
  fx_open(&f, graph, NULL);
  char err[128];
  struct cp_options o = {.from = "2025-12-01", .to = "2026-02-01"};
  assert_int_equal(cp_configure(f.e, &o, err, sizeof err), 0);
  assert_int_equal(cp_plan(f.e, false, &out, n), 0);
  assert_non_null(strstr(out.data, "2026-01-01..2026-01-03: 12 cells:"));
  o = (struct cp_options){.from = "2026-1-1"};
  assert_int_equal(cp_configure(f.e, &o, err, sizeof err), -EINVAL);
  assert_string_equal(err, "bad --from date '2026-1-1': expected YYYY-MM-DD");
  fx_close(&f);
  vg_buf_reset(&out);
  /* a dependency outside the selection that was never computed blocks */
  fx_open(&f, graph, "top");
  assert_int_equal(cp_plan(f.e, false, &out, n), 0);
  assert_non_null(strstr(out.data, "2026-01-02  top                      blocked (dependency: mid)"));
  fx_close(&f);
  vg_buf_free(&out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_code_hash_shell),
      cmocka_unit_test(test_code_hash_c),
      cmocka_unit_test(test_code_hash_python),
      cmocka_unit_test(test_dates),
      cmocka_unit_test(test_config_cycle),
      cmocka_unit_test(test_config_on_complete_url),
      cmocka_unit_test(test_config_problems),
      cmocka_unit_test(test_plan_impossible_propagates),
      cmocka_unit_test(test_plan_selection),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
