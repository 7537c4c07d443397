/* Unit tests of the line-protocol encoder: what it writes, the decoder reads back as the
 * same points (escapes, every type, extremes), and what the protocol cannot carry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>

#include "ingest/ingest.h"
#include "sink/lp_encode.h"

#define S(x) ((struct tsdb_str){(x), sizeof(x) - 1})

static void round_trip(void **state) {
  struct tsdb_tag tags[] = {{S("a b"), S("x,y=z")}, {S("venue"), S("kraken")}};
  struct tsdb_field f[] = {
      {S("px"), {.type = TSDB_FLOAT, .v.f = 30123.37}},
      {S("q=1"), {.type = TSDB_INT, .v.i = INT64_MIN}},
      {S("u"), {.type = TSDB_UINT, .v.u = UINT64_MAX}},
      {S("ok"), {.type = TSDB_BOOL, .v.b = true}},
      {S("side"), {.type = TSDB_STRING, .v.s = S("say \"hi\" \\ bye")}},
      {S("tiny"), {.type = TSDB_FLOAT, .v.f = 5e-324}},
  };
  struct tsdb_point p = {S("tick, x"), tags, 2, f, 6, -1234567890123456789LL};
  struct vg_buf b;
  vg_buf_init(&b);
  assert_int_equal(sink_lp_encode(&b, &p, 1), 1);
  assert_int_equal(b.data[b.len - 1], '\n');
  struct tsdb_point l;
  struct tsdb_tag tags_back[INGEST_MAX_TAGS];
  struct tsdb_field fields_back[INGEST_MAX_FIELDS];
  bool has_ts;
  struct ingest_error e;
  int rc = ingest_lp_parse_line(b.data, b.len - 1, &l, tags_back, fields_back, &has_ts, &e);
  if (rc) fprintf(stderr, "%s at %zu: %s\n", b.data, e.col, e.msg);
  assert_int_equal(rc, 0);
  assert_int_equal(l.measurement.len, 7);
  assert_memory_equal(l.measurement.p, "tick, x", 7);
  assert_int_equal(l.n_tags, 2);
  assert_memory_equal(l.tags[0].value.p, "x,y=z", 5);
  assert_int_equal(l.n_fields, 6);
  assert_true(l.fields[0].value.v.f == 30123.37);
  assert_memory_equal(l.fields[1].key.p, "q=1", 3);
  assert_true(l.fields[1].value.v.i == INT64_MIN);
  assert_true(l.fields[2].value.v.u == UINT64_MAX);
  assert_true(l.fields[3].value.v.b);
  assert_int_equal(l.fields[4].value.v.s.len, strlen("say \"hi\" \\ bye"));
  assert_memory_equal(l.fields[4].value.v.s.p, "say \"hi\" \\ bye", l.fields[4].value.v.s.len);
  assert_true(l.fields[5].value.v.f == 5e-324);
  assert_true(has_ts && l.ts == -1234567890123456789LL);
  vg_buf_free(&b);
}

static void what_cannot_be_carried(void **state) {
  struct tsdb_field f[] = {{S("a"), {.type = TSDB_FLOAT, .v.f = NAN}},
                           {S("b"), {.type = TSDB_FLOAT, .v.f = 1.5}}};
  struct tsdb_point p[] = {{S("m"), NULL, 0, f, 2, 7}, {S("m"), NULL, 0, f, 1, 8}};
  struct vg_buf b;
  vg_buf_init(&b);
  assert_int_equal(sink_lp_encode(&b, p, 2), 1);
  assert_string_equal(b.data, "m b=1.5 7\n");
  vg_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip),
      cmocka_unit_test(what_cannot_be_carried),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
