/* Unit tests of the store's write path (write.c) through tsdb.h: why each refused value
 * was refused (type, value, cardinality), the series limits (the store's max_series and
 * a write's max_new_series), and the refusal hook's point and field indices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "tsdb/tsdb.h"

#define S(x) ((struct tsdb_str){(x), sizeof(x) - 1})

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
  return remove(p);
}

static struct tsdb *open_db(char *dir, size_t max_series) {
  assert_non_null(mkdtemp(dir));
  struct tsdb_opts o = {.sync = TSDB_SYNC_NEVER, .max_series = max_series};
  char err[256];
  struct tsdb *db = NULL;
  assert_int_equal(tsdb_open(&db, dir, &o, err, sizeof err), 0);
  return db;
}

static void close_db(struct tsdb *db, const char *dir) {
  tsdb_close(db);
  nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

struct seen {
  size_t n, point[8], field[8];
  enum tsdb_refusal why[8];
};

static void on_refused(void *arg, size_t point, size_t field, enum tsdb_refusal why) {
  struct seen *s = arg;
  assert_true(s->n < 8);
  s->point[s->n] = point, s->field[s->n] = field, s->why[s->n] = why;
  s->n++;
}

static void refusal_reasons(void **state) {
  char dir[] = "/tmp/vigil-write-XXXXXX";
  struct tsdb *db = open_db(dir, 0);
  static char big[5000];
  memset(big, 'x', sizeof big);
  struct tsdb_field f1[] = {{S("a"), {.type = TSDB_FLOAT, .v.f = 1}},
                            {S("b"), {.type = TSDB_INT, .v.i = 2}}};
  struct tsdb_field f2[] = {{S("a"), {.type = TSDB_INT, .v.i = 3}}, /* conflict */
                            {S("s"), {.type = TSDB_STRING, .v.s = {big, sizeof big}}},
                            {S("b"), {.type = TSDB_INT, .v.i = 4}}};
  struct tsdb_point p[] = {{S("m"), NULL, 0, f1, 2, 10}, {S("m"), NULL, 0, f2, 3, 20}};
  struct seen seen = {0};
  struct tsdb_write_opts o = {.max_new_series = TSDB_NO_LIMIT, .refused = on_refused, .arg = &seen};
  struct tsdb_write_result r;
  assert_int_equal(tsdb_write_with(db, p, 2, &o, &r), 0);
  assert_int_equal(r.values, 3);
  assert_int_equal(r.refused, 2);
  assert_int_equal(r.refused_by[TSDB_REFUSED_TYPE], 1);
  assert_int_equal(r.refused_by[TSDB_REFUSED_VALUE], 1);
  assert_int_equal(r.refused_by[TSDB_REFUSED_CARDINALITY], 0);
  assert_int_equal(r.series_created, 2);
  assert_int_equal(seen.n, 2);
  assert_int_equal(seen.point[0], 1);
  assert_int_equal(seen.field[0], 0);
  assert_int_equal(seen.why[0], TSDB_REFUSED_TYPE);
  assert_int_equal(seen.point[1], 1);
  assert_int_equal(seen.field[1], 1);
  assert_int_equal(seen.why[1], TSDB_REFUSED_VALUE);
  assert_non_null(strstr(r.why, "field type conflict"));
  assert_string_equal(tsdb_refusal_name(TSDB_REFUSED_CARDINALITY), "cardinality");
  /* plain tsdb_write counts the same, without a hook */
  assert_int_equal(tsdb_write(db, &p[1], 1, &r), 0);
  assert_int_equal(r.values, 1);
  assert_int_equal(r.refused, 2);
  assert_int_equal(r.series_created, 0);
  close_db(db, dir);
}

static void series_limits(void **state) {
  char dir[] = "/tmp/vigil-write-XXXXXX";
  struct tsdb *db = open_db(dir, 4); /* the store holds at most 4 series */
  struct tsdb_field f[] = {{S("a"), {.type = TSDB_FLOAT, .v.f = 1}},
                           {S("b"), {.type = TSDB_FLOAT, .v.f = 2}},
                           {S("c"), {.type = TSDB_FLOAT, .v.f = 3}}};
  struct tsdb_tag t1 = {S("k"), S("1")}, t2 = {S("k"), S("2")};
  struct tsdb_point p1 = {S("m"), &t1, 1, f, 3, 10}, p2 = {S("m"), &t2, 1, f, 3, 10};
  struct seen seen = {0};
  /* a write may make at most 2 new series: the third field is refused */
  struct tsdb_write_opts o = {.max_new_series = 2, .refused = on_refused, .arg = &seen};
  struct tsdb_write_result r;
  assert_int_equal(tsdb_write_with(db, &p1, 1, &o, &r), 0);
  assert_int_equal(r.values, 2);
  assert_int_equal(r.series_created, 2);
  assert_int_equal(r.refused_by[TSDB_REFUSED_CARDINALITY], 1);
  assert_non_null(strstr(r.why, "series limit reached (the writer's max_series)"));
  assert_int_equal(seen.n, 1);
  assert_int_equal(seen.field[0], 2);
  assert_int_equal(seen.why[0], TSDB_REFUSED_CARDINALITY);
  /* none more for this writer: existing series are still written */
  o.max_new_series = 0;
  assert_int_equal(tsdb_write_with(db, &p1, 1, &o, &r), 0);
  assert_int_equal(r.values, 2);
  assert_int_equal(r.refused_by[TSDB_REFUSED_CARDINALITY], 1);
  /* the store's limit: 2 more series, then refusals, for every writer */
  assert_int_equal(tsdb_write(db, &p2, 1, &r), 0);
  assert_int_equal(r.values, 2);
  assert_int_equal(r.series_created, 2);
  assert_int_equal(r.refused_by[TSDB_REFUSED_CARDINALITY], 1);
  assert_non_null(strstr(r.why, "series limit reached (the store's max_series)"));
  struct tsdb_stats st;
  tsdb_stats(db, &st);
  assert_int_equal(st.series, 4);
  assert_int_equal(st.points_rejected, 3);
  tsdb_stats_free(&st);
  close_db(db, dir);
}

/* Times at the ends of int64: past TSDB_TS_FIRST..TSDB_TS_LAST a point is refused (value);
 * at the ends of that range it is written, flushed into blocks (a flush used to loop
 * for ever on a window that overflowed, or to lose a point whose window floor did), and
 * read back by a query over the whole range, a bucketed one included. */
static void time_range_edges(void **state) {
  char dir[] = "/tmp/vigil-write-XXXXXX";
  struct tsdb *db = open_db(dir, 0);
  struct tsdb_field f[] = {{S("v"), {.type = TSDB_INT, .v.i = 1}}};
  struct tsdb_point p[] = {{S("edge"), NULL, 0, f, 1, INT64_MAX - 1},
                           {S("edge"), NULL, 0, f, 1, INT64_MIN + 1},
                           {S("edge"), NULL, 0, f, 1, TSDB_TS_LAST},
                           {S("edge"), NULL, 0, f, 1, TSDB_TS_FIRST}};
  struct seen seen = {0};
  struct tsdb_write_opts o = {.max_new_series = TSDB_NO_LIMIT, .refused = on_refused, .arg = &seen};
  struct tsdb_write_result r;
  assert_int_equal(tsdb_write_with(db, p, 4, &o, &r), 0);
  assert_int_equal(r.values, 2);
  assert_int_equal(r.refused_by[TSDB_REFUSED_VALUE], 2);
  assert_non_null(strstr(r.why, "timestamp outside the store's range"));
  assert_int_equal(seen.n, 2);
  assert_int_equal(seen.point[0], 0);
  assert_int_equal(seen.point[1], 1);
  char err[256];
  assert_int_equal(tsdb_compact(db, err, sizeof err), 0);
  struct tsdb_query q = {.measurement = "edge", .from = TSDB_TIME_MIN, .to = TSDB_TIME_MAX};
  struct tsdb_result res;
  assert_int_equal(tsdb_query(db, &q, &res, err, sizeof err), 0);
  assert_int_equal(res.n_series, 1);
  assert_int_equal(res.series[0].n, 2);
  assert_true(res.series[0].ts[0] == TSDB_TS_FIRST);
  assert_true(res.series[0].ts[1] == TSDB_TS_LAST);
  tsdb_result_free(&res);
  q.every_ns = INT64_C(86400000000000);
  q.agg = TSDB_AGG_COUNT;
  assert_int_equal(tsdb_query(db, &q, &res, err, sizeof err), 0);
  assert_int_equal(res.n_series, 1);
  assert_int_equal(res.series[0].n, 2);
  tsdb_result_free(&res);
  close_db(db, dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(refusal_reasons),
      cmocka_unit_test(series_limits),
      cmocka_unit_test(time_range_edges),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
