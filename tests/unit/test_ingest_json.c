/*
 * Unit tests of the JSON decoder (src/ingest/json.c): the mapping of objects to points
 * (measurement, time, tags and fields objects, flat keys, int keys, defaults), every
 * string escape, the syntax errors with their line and column, mapping errors that
 * leave the other objects alone, arrays and newline-delimited objects, and every
 * truncation of a valid message in an exact-size buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

#include "../helpers/test_line.h"

#define MAXP 16

struct got {
  struct test_line lines[MAXP];
  struct ingest_error errs[MAXP];
  size_t n_lines, n_errs;
};

static void collect(void *arg, struct ingest_batch *b, const struct tsdb_point *p,
                    const struct ingest_error *err) {
  struct got *g = arg;
  if (p && g->n_lines < MAXP) test_line_of(&g->lines[g->n_lines++], p);
  if (err && g->n_errs < MAXP) g->errs[g->n_errs++] = *err;
  if (ingest_batch_full(b)) ingest_batch_reset(b);
}

/* Decodes text from an exact-size heap copy (kept alive in *keep for the spans). */
static size_t run(const char *text, const struct ingest_json_map *m, struct got *g, char **keep) {
  size_t n = strlen(text), rejected = 0;
  char *b = malloc(n ? n : 1);
  memcpy(b, text, n);
  memset(g, 0, sizeof *g);
  struct ingest_batch bt;
  ingest_batch_init(&bt, 3, TEST_NO_TS, 1);
  size_t ok = ingest_json_parse(b, n, m, &bt, collect, g, &rejected);
  ingest_batch_free(&bt);
  assert_int_equal(ok, g->n_lines);
  assert_int_equal(rejected, g->n_errs);
  *keep = b;
  return ok;
}

static void assert_span(struct tsdb_str s, const char *want) {
  assert_int_equal(s.len, strlen(want));
  assert_memory_equal(s.p, want, s.len);
}

static void test_full_object(void **state) {
  struct got g;
  char *b;
  run("{\"measurement\":\"quotes\",\"tags\":{\"venue\":\"EBS\",\"sym\":\"EURUSD\"},"
      "\"fields\":{\"bid\":1.0841,\"ok\":true,\"note\":\"x\",\"skip\":null},\"time\":1700000000000000000}",
      NULL, &g, &b);
  assert_int_equal(g.n_lines, 1);
  struct test_line *l = &g.lines[0];
  assert_span(l->measurement, "quotes");
  assert_int_equal(l->n_tags, 2);
  assert_span(l->tags[0].key, "sym"); /* sorted */
  assert_span(l->tags[0].value, "EURUSD");
  assert_span(l->tags[1].key, "venue");
  assert_int_equal(l->n_fields, 3);
  assert_span(l->fields[0].key, "bid");
  assert_int_equal(l->fields[0].value.type, TSDB_FLOAT);
  assert_true(l->fields[0].value.v.f == 1.0841);
  assert_int_equal(l->fields[1].value.type, TSDB_BOOL);
  assert_true(l->fields[1].value.v.b);
  assert_int_equal(l->fields[2].value.type, TSDB_STRING);
  assert_span(l->fields[2].value.v.s, "x");
  assert_true(l->has_ts);
  assert_int_equal(l->ts, 1700000000000000000LL);
  free(b);
}

static void test_flat_mapping(void **state) {
  static const char *const tags[] = {"sym", "venue"};
  static const char *const ints[] = {"seq", "size"};
  struct ingest_json_map m = {.measurement_key = "m", .measurement = "ticks", .time_key = "ts",
                              .tag_keys = tags, .n_tag_keys = 2, .int_keys = ints, .n_int_keys = 2};
  struct got g;
  char *b;
  run("{\"sym\":\"BTC/USD\",\"venue\":7,\"price\":101.5,\"size\":-3,\"seq\":42,\"ts\":5}\n"
      "{\"m\":\"other\",\"sym\":\"X\",\"price\":1}\n",
      &m, &g, &b);
  assert_int_equal(g.n_lines, 2);
  struct test_line *l = &g.lines[0];
  assert_span(l->measurement, "ticks");
  assert_span(l->tags[1].value, "7"); /* a number's text as a tag value */
  assert_int_equal(l->n_fields, 3);
  assert_int_equal(l->fields[1].value.type, TSDB_INT);
  assert_int_equal(l->fields[1].value.v.i, -3);
  assert_int_equal(l->fields[2].value.v.i, 42);
  assert_int_equal(l->ts, 5);
  assert_span(g.lines[1].measurement, "other");
  assert_false(g.lines[1].has_ts);
  assert_int_equal(g.lines[1].fields[0].value.type, TSDB_FLOAT);
  free(b);

  /* only the listed field keys are fields; the others are ignored */
  static const char *const fields[] = {"price"};
  struct ingest_json_map m2 = {.measurement = "t", .field_keys = fields, .n_field_keys = 1};
  run("{\"price\":2,\"junk\":{\"deep\":[1,2,{\"x\":null}]},\"other\":\"s\"}", &m2, &g, &b);
  assert_int_equal(g.n_lines, 1);
  assert_int_equal(g.lines[0].n_fields, 1);
  free(b);
}

static void test_escapes(void **state) {
  struct got g;
  char *b;
  run("{\"measurement\":\"m\\\"q\\\\\\/\",\"fields\":{\"s\":\"a\\b\\f\\n\\r\\tz\\u00e9\\u20ac\\ud83d\\ude00\"}}",
      NULL, &g, &b);
  assert_int_equal(g.n_lines, 1);
  assert_span(g.lines[0].measurement, "m\"q\\/");
  assert_span(g.lines[0].fields[0].value.v.s, "a\b\f\n\r\tz\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  free(b);
  /* raw UTF-8 passes through */
  run("{\"measurement\":\"\xc3\xa9t\xc3\xa9\",\"fields\":{\"f\":1}}", NULL, &g, &b);
  assert_span(g.lines[0].measurement, "\xc3\xa9t\xc3\xa9");
  free(b);
}

static void test_arrays_and_empty(void **state) {
  struct got g;
  char *b;
  run("[{\"measurement\":\"a\",\"f\":1},{\"measurement\":\"b\",\"f\":2}] [] \n {\"measurement\":\"c\",\"f\":3}",
      NULL, &g, &b);
  assert_int_equal(g.n_lines, 3);
  assert_span(g.lines[2].measurement, "c");
  free(b);
  run("  \n ", NULL, &g, &b);
  assert_int_equal(g.n_lines + g.n_errs, 0);
  free(b);
}

struct bad {
  const char *text;
  size_t line, col;
  const char *msg;
  bool mapping;
};

static void test_errors(void **state) {
  static const struct bad cases[] = {
      {"{\"f\":1}", 1, 1, "no measurement (key 'measurement')", true},
      {"{\"measurement\":\"m\"}", 1, 1, "no fields", true},
      {"{\"measurement\":1,\"f\":1}", 1, 16, "measurement must be a string", true},
      {"{\"measurement\":\"\",\"f\":1}", 1, 16, "empty measurement", true},
      {"{\"measurement\":\"m\",\"time\":1.5,\"f\":1}", 1, 27, "time 'time' must be an integer", true},
      {"{\"measurement\":\"m\",\"time\":\"now\",\"f\":1}", 1, 27, "time 'time' must be an integer", true},
      {"{\"measurement\":\"m\",\"time\":9223372036854775808,\"f\":1}", 1, 27, "time out of range (int64)", true},
      {"{\"measurement\":\"m\",\"f\":[1]}", 1, 24, "field 'f' is an array", true},
      {"{\"measurement\":\"m\",\"f\":1e999}", 1, 24, "float out of range in field 'f'", true},
      {"{\"measurement\":\"m\",\"tags\":{\"t\":true},\"f\":1}", 1, 32, "tag 't' must be a string or a number", true},
      {"{\"measurement\":\"m\",\"tags\":{\"t\":\"a\",\"t\":\"b\"},\"f\":1}", 1, 40, "duplicate tag key 't'", true},
      {"{\"measurement\":\"m\",\"tags\":{\"t\":\"\"},\"f\":1}", 1, 32, "empty value for tag 't'", true},
      {"{\"measurement\":\"m\",\"\":1}", 1, 23, "empty field key", true},
      {"{\"measurement\":\"m\",\"f\":1", 1, 25, "unexpected end of input: expected ',' or '}'", false},
      {"{\"measurement\":\"m\" \"f\":1}", 1, 20, "expected ',' or '}'", false},
      {"{\"measurement\":\"m\",\"f\":01}", 1, 25, "expected ',' or '}'", false},
      {"{\"measurement\":\"m\",\"f\":-}", 1, 25, "invalid number: expected a digit", false},
      {"{\"measurement\":\"m\",\"f\":1.}", 1, 26, "invalid number: expected a digit after '.'", false},
      {"{\"measurement\":\"m\",\"f\":1e}", 1, 26, "invalid number: expected a digit in the exponent", false},
      {"{\"measurement\":\"m\",\"f\":tru}", 1, 24, "unexpected 't': expected a value", false},
      {"{\"measurement\":\"m\",\"f\":\"a\\x\"}", 1, 26, "invalid escape '\\'x''", false},
      {"{\"measurement\":\"m\",\"f\":\"\\u12G4\"}", 1, 29, "invalid \\u escape: expected a hex digit", false},
      {"{\"measurement\":\"m\",\"f\":\"\\ud800\"}", 1, 25, "unpaired surrogate in \\u escape", false},
      {"{\"measurement\":\"m\",\"f\":\"\\u0000\"}", 1, 25, "\\u0000 is not allowed", false},
      {"{\"measurement\":\"m\",\"f\":\"a\tb\"}", 1, 26, "control character in a string (byte 0x09)", false},
      {"{\"measurement\":\"m\",\"f\":\"\xff\"}", 1, 25, "invalid UTF-8", false},
      {"{\"measurement\":\"m\",\"f\":\"abc", 1, 24, "unterminated string", false},
      {"{1:2}", 1, 2, "expected a string key", false},
      {"{\"a\" 1}", 1, 6, "expected ':' after a key", false},
      {"[1]", 1, 2, "expected an object, got '1'", false},
      {"\n\n  x", 3, 3, "expected an object or an array of objects, got 'x'", false},
      /* positions stay those of the message although escapes were rewritten before them */
      {"{\"measurement\":\"m\",\"f\":\"a\\nb\",\"g\":tru}", 1, 35, "unexpected 't': expected a value", false},
      {"{\"measurement\":\"m\\n\",\n\"f\":[\n1]}", 2, 5, "field 'f' is an array", true},
      {"\n{\n\"f\":1\n}", 2, 1, "no measurement (key 'measurement')", true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct got g;
    char *b;
    run(cases[i].text, NULL, &g, &b);
    if (g.n_errs != 1 || g.errs[0].line != cases[i].line || g.errs[0].col != cases[i].col ||
        strcmp(g.errs[0].msg, cases[i].msg) != 0 || (g.errs[0].reason == INGEST_R_SCHEMA) != cases[i].mapping) {
      print_error("case %zu %s: got %zu errors, first %zu:%zu %s (mapping %d)\n", i, cases[i].text,
                  g.n_errs, g.n_errs ? g.errs[0].line : 0, g.n_errs ? g.errs[0].col : 0,
                  g.n_errs ? g.errs[0].msg : "", g.n_errs ? g.errs[0].reason == INGEST_R_SCHEMA : -1);
      fail();
    }
    free(b);
  }
}

static void test_deep_nesting(void **state) {
  char text[400];
  size_t o = (size_t)snprintf(text, sizeof text, "{\"measurement\":\"m\",\"f\":1,\"x\":");
  for (int i = 0; i < 100; i++) text[o++] = '[';
  text[o] = '\0';
  struct got g;
  char *b;
  static const char *const fields[] = {"f"};
  struct ingest_json_map m = {.field_keys = fields, .n_field_keys = 1};
  run(text, &m, &g, &b);
  assert_int_equal(g.n_errs, 1);
  assert_string_equal(g.errs[0].msg, "nesting deeper than 64");
  free(b);
}

/* A mapping problem in one object leaves the others; a syntax error ends the message. */
static void test_recovery(void **state) {
  struct got g;
  char *b;
  run("{\"measurement\":\"a\",\"f\":1}\n{\"f\":2}\n{\"measurement\":\"c\",\"f\":3}\n{\"measurement\":", NULL, &g, &b);
  assert_int_equal(g.n_lines, 2);
  assert_int_equal(g.n_errs, 2);
  assert_true(g.errs[0].reason == INGEST_R_SCHEMA);
  assert_int_equal(g.errs[0].line, 2);
  assert_false(g.errs[1].reason == INGEST_R_SCHEMA);
  assert_int_equal(g.errs[1].line, 4);
  free(b);
}

static void test_truncations(void **state) {
  const char *text = "[{\"measurement\":\"q\\u00e9\",\"tags\":{\"s\":\"A\"},\"fields\":{\"p\":1.5e3,\"b\":false},\"time\":-12}]";
  size_t n = strlen(text);
  for (size_t cut = 0; cut <= n; cut++) {
    char *b = malloc(cut ? cut : 1);
    memcpy(b, text, cut);
    struct got g;
    memset(&g, 0, sizeof g);
    size_t rejected;
    struct ingest_batch bt;
    ingest_batch_init(&bt, 3, TEST_NO_TS, 1);
    size_t ok = ingest_json_parse(b, cut, NULL, &bt, collect, &g, &rejected);
    ingest_batch_free(&bt);
    /* every cut but the whole is refused; one cutting only the closing ']' still
     * holds a complete object */
    assert_int_equal(rejected, cut != 0 && cut != n);
    assert_int_equal(ok, cut >= n - 1);
    free(b);
  }
}

static void test_precision(void **state) {
  assert_int_equal(ingest_precision("ns"), 1);
  assert_int_equal(ingest_precision("us"), 1000);
  assert_int_equal(ingest_precision("ms"), 1000000);
  assert_int_equal(ingest_precision("s"), 1000000000);
  assert_int_equal(ingest_precision("h"), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_object),  cmocka_unit_test(test_flat_mapping),
      cmocka_unit_test(test_escapes),      cmocka_unit_test(test_arrays_and_empty),
      cmocka_unit_test(test_errors),       cmocka_unit_test(test_deep_nesting),
      cmocka_unit_test(test_recovery),     cmocka_unit_test(test_truncations),
      cmocka_unit_test(test_precision),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
