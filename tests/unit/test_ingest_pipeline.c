/*
 * Unit tests of the ingest pipeline (src/ingest/pipeline.c) over a real store: a point
 * with a refused value is counted refused and never written, under its reason (store,
 * cardinality), its values' checksums leave the batch's, its other values are written;
 * the sinks and the cache hook are given only what the store took; a source's series
 * limit; ingest_load_lp's counts; and without a store every point is written.
 */
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

#include "ingest/ingest.h"

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
  return remove(p);
}

struct got {
  size_t calls, points, values;
  uint64_t checksum;
};

static void take(void *arg, const struct tsdb_point *pts, size_t n) {
  struct got *g = arg;
  g->calls++;
  g->points += n;
  for (size_t i = 0; i < n; i++) {
    g->values += pts[i].n_fields;
    g->checksum += ingest_point_checksum(&pts[i]);
  }
}

/* The latest-value hook: as take, once the source is the target's. */
static void take_latest(void *arg, const char *source, const struct tsdb_point *pts, size_t n) {
  if (strcmp(source, "test") == 0) take(arg, pts, n);
}

static void keep(void *arg, struct ingest_batch *b, const struct tsdb_point *p,
                 const struct ingest_error *err) {
  assert_null(err);
  b->checksum += ingest_point_checksum(p);
}

/* Decodes text (a copy kept in *buf) into b, summing the checksums as a feed does. */
static void decode(struct ingest_batch *b, const char *text, char **buf) {
  *buf = strdup(text);
  ingest_lp_parse_batch(*buf, strlen(*buf), b, keep, NULL, NULL);
}

static void refused_never_written(void **state) {
  char dir[] = "/tmp/vigil-pipe-XXXXXX";
  assert_non_null(mkdtemp(dir));
  struct tsdb_opts o = {.sync = TSDB_SYNC_NEVER};
  char err[256], *buf, *buf2;
  struct tsdb *db;
  assert_int_equal(tsdb_open(&db, dir, &o, err, sizeof err), 0);
  struct got sinks = {0}, cache = {0};
  struct ingest_target t = {db, take, &sinks, take_latest, &cache, "test"};
  struct ingest_batch b;
  ingest_batch_init(&b, 0, 0, 1);

  decode(&b, "m,k=1 a=1,b=2i 10\nm,k=2 a=1 10\n", &buf);
  struct ingest_written w;
  assert_int_equal(ingest_write(&t, &b, TSDB_NO_LIMIT, &w), 0);
  assert_int_equal(b.n, 0); /* reset */
  assert_int_equal(w.points, 2);
  assert_int_equal(w.values, 3);
  assert_int_equal(w.series_created, 3);
  uint64_t first = w.checksum;
  assert_true(first == sinks.checksum);

  /* k=1: b conflicts (a float now), a is written; k=2: a conflicts, its only value;
   * k=3: new, fine */
  decode(&b, "m,k=1 a=2,b=2.5 20\nm,k=2 a=\"x\" 20\nm,k=3 a=3 20\n", &buf2);
  uint64_t all = b.checksum;
  memset(&sinks, 0, sizeof sinks);
  memset(&cache, 0, sizeof cache);
  assert_int_equal(ingest_write(&t, &b, TSDB_NO_LIMIT, &w), 0);
  assert_int_equal(w.points, 1);
  assert_int_equal(w.refused[INGEST_R_STORE], 2);
  assert_int_equal(w.refused[INGEST_R_CARDINALITY], 0);
  assert_int_equal(w.values, 2);
  assert_int_equal(w.refused_values, 2);
  assert_true(w.checksum != all);
  assert_non_null(strstr(w.why, "field type conflict"));
  /* the sinks and the cache get k=1 without b, and k=3: what the store took */
  assert_int_equal(sinks.points, 2);
  assert_int_equal(sinks.values, 2);
  assert_true(sinks.checksum == w.checksum);
  assert_int_equal(cache.points, 2);

  /* a source's series limit: one new series allowed */
  char *buf3;
  decode(&b, "m,k=4 a=1 30\nm,k=5 a=1 30\nm,k=1 a=5 30\n", &buf3);
  assert_int_equal(ingest_write(&t, &b, 1, &w), 0);
  assert_int_equal(w.points, 2);
  assert_int_equal(w.series_created, 1);
  assert_int_equal(w.refused[INGEST_R_CARDINALITY], 1);
  assert_non_null(strstr(w.why, "max_series"));

  /* a buffer from one source: decoded, written, counted */
  char text[] = "m,k=1 a=7 40\nm,k=1 a=\"no\" 41\nbad line\nm,k=9 a=1 4000000000000000000\n";
  struct ingest_loaded l;
  ingest_load_lp(&t, text, strlen(text), 1000, 0, NULL, NULL, &l);
  assert_int_equal(l.rc, 0);
  assert_int_equal(l.decoded, 2);
  assert_int_equal(l.rejected, 2); /* the bad line, and a time past int64 ns in us */
  assert_int_equal(l.w.points, 1);
  assert_int_equal(l.w.refused[INGEST_R_STORE], 1);

  ingest_batch_free(&b);
  free(buf);
  free(buf2);
  free(buf3);
  tsdb_close(db);
  nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void without_a_store(void **state) {
  struct got sinks = {0};
  struct ingest_target t = {.sinks = take, .sinks_arg = &sinks};
  struct ingest_batch b;
  char *buf;
  ingest_batch_init(&b, 0, 0, 1);
  decode(&b, "m a=1,b=2 1\nm a=\"x\" 2\n", &buf);
  struct ingest_written w;
  assert_int_equal(ingest_write(&t, &b, 0, &w), 0);
  assert_int_equal(w.points, 2);
  assert_int_equal(w.values, 3);
  assert_int_equal(sinks.values, 3);
  assert_true(sinks.checksum == w.checksum);
  ingest_batch_free(&b);
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(refused_never_written),
      cmocka_unit_test(without_a_store),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
