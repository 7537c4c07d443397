/* Unit tests of the store engine through its public API (tsdb.h): round trips of every
 * type, duplicates and disorder, recovery from the log and from blocks, compaction,
 * retention, rollups against a naive computation, last values, corruption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "../helpers/test_files.h"
#include "tsdb/tsdb.h"
#include "tsdb/tsdb_int.h"

#define S(x) ((struct tsdb_str){(x), sizeof(x) - 1})
#define SEC TSDB_NS_PER_SEC
#define HOUR (3600 * SEC)
#define DAY (24 * HOUR)

static struct tsdb *open_db(const char *dir, const struct tsdb_opts *o) {
  char err[512] = "";
  struct tsdb *db = NULL;
  int rc = tsdb_open(&db, dir, o, err, sizeof err);
  if (rc) fprintf(stderr, "open: %s\n", err);
  assert_int_equal(rc, 0);
  return db;
}

/* One float point of tick,sym=SYM price=V at ts. */
static void put(struct tsdb *db, const char *sym, int64_t ts, double v) {
  struct tsdb_tag tag = {S("sym"), {sym, strlen(sym)}};
  struct tsdb_field f = {S("price"), {.type = TSDB_FLOAT, .v.f = v}};
  struct tsdb_point p = {S("tick"), &tag, 1, &f, 1, ts};
  struct tsdb_write_result r;
  assert_int_equal(tsdb_write(db, &p, 1, &r), 0);
  assert_int_equal(r.values, 1);
}

static struct tsdb_result q_raw(struct tsdb *db, const char *sym, int64_t from, int64_t to) {
  struct tsdb_tag tag = {S("sym"), {sym, strlen(sym)}};
  struct tsdb_query q = {.measurement = "tick", .tags = &tag, .n_tags = sym ? 1 : 0,
                         .field = "price", .from = from, .to = to};
  struct tsdb_result r;
  char err[256];
  assert_int_equal(tsdb_query(db, &q, &r, err, sizeof err), 0);
  return r;
}

static void compact(struct tsdb *db) {
  char err[512] = "";
  int rc = tsdb_compact(db, err, sizeof err);
  if (rc) fprintf(stderr, "compact: %s\n", err);
  assert_int_equal(rc, 0);
}

static void every_type_round_trips(void **state) {
  char *dir = test_tmpdir("store");
  struct tsdb *db = open_db(dir, NULL);
  struct tsdb_tag tags[] = {{S("host"), S("a b,c=d")}, {S("venue"), S("x\\y")}};
  struct tsdb_field f[] = {
      {S("f"), {.type = TSDB_FLOAT, .v.f = -0.0}},
      {S("i"), {.type = TSDB_INT, .v.i = INT64_MIN}},
      {S("u"), {.type = TSDB_UINT, .v.u = UINT64_MAX}},
      {S("b"), {.type = TSDB_BOOL, .v.b = true}},
      {S("s"), {.type = TSDB_STRING, .v.s = S("hello, \"world\"")}},
  };
  struct tsdb_point p = {S("m#1"), tags, 2, f, 5, 1000};
  struct tsdb_write_result res;
  for (int round = 0; round < 3; round++) {
    assert_int_equal(tsdb_write(db, &p, 1, &res), 0);
    assert_int_equal(res.values, 5);
    struct tsdb_query q = {.measurement = "m#1", .from = 0, .to = 2000};
    struct tsdb_result r;
    char err[256];
    assert_int_equal(tsdb_query(db, &q, &r, err, sizeof err), 0);
    assert_int_equal(r.n_series, 5);
    assert_int_equal(r.points, 5);
    for (size_t i = 0; i < r.n_series; i++) {
      struct tsdb_series_data *d = &r.series[i];
      assert_int_equal(d->n, 1);
      assert_int_equal(d->ts[0], 1000);
      assert_int_equal(d->n_tags, 2);
      assert_string_equal(d->tags[0].value.p, "a b,c=d");
      assert_string_equal(d->measurement, "m#1");
      if (!strcmp(d->field, "f")) assert_true(signbit(d->values[0].v.f) && d->values[0].v.f == 0);
      if (!strcmp(d->field, "i")) assert_true(d->values[0].v.i == INT64_MIN);
      if (!strcmp(d->field, "u")) assert_true(d->values[0].v.u == UINT64_MAX);
      if (!strcmp(d->field, "b")) assert_true(d->values[0].v.b);
      if (!strcmp(d->field, "s")) assert_string_equal(d->values[0].v.s.p, "hello, \"world\"");
    }
    tsdb_result_free(&r);
    /* round 1 reads from blocks, round 2 after a reopen */
    if (round == 0) compact(db);
    if (round == 1) {
      tsdb_close(db);
      db = open_db(dir, NULL);
    }
  }
  /* a type conflict is refused with the reason, the rest of the batch goes in */
  f[0].value = (struct tsdb_value){.type = TSDB_INT, .v.i = 3};
  assert_int_equal(tsdb_write(db, &p, 1, &res), 0);
  assert_int_equal(res.values, 4);
  assert_int_equal(res.refused, 1);
  assert_non_null(strstr(res.why, "field type conflict"));
  /* again, now that the point's series are found through the write path's group */
  p.ts++;
  assert_int_equal(tsdb_write(db, &p, 1, &res), 0);
  assert_int_equal(res.values, 4);
  assert_int_equal(res.refused, 1);
  assert_non_null(strstr(res.why, "m\\#1"));
  assert_non_null(strstr(res.why, "field type conflict"));
  tsdb_close(db);
  test_rm_rf(&dir);
}

static void duplicates_and_disorder(void **state) {
  char *dir = test_tmpdir("store");
  struct tsdb *db = open_db(dir, NULL);
  int64_t base = 10 * DAY;
  /* written out of order, across a flush, with rewrites of the same timestamps */
  for (int i = 99; i >= 0; i--) put(db, "A", base + i * SEC, i);
  compact(db);
  for (int i = 0; i < 100; i += 10) put(db, "A", base + i * SEC, 1000 + i); /* overwrite */
  put(db, "A", base + 50 * SEC + 1, -1);
  for (int pass = 0; pass < 3; pass++) {
    struct tsdb_result r = q_raw(db, "A", base, base + DAY);
    assert_int_equal(r.n_series, 1);
    assert_int_equal(r.series[0].n, 101);
    for (size_t i = 1; i < r.series[0].n; i++) assert_true(r.series[0].ts[i - 1] < r.series[0].ts[i]);
    assert_true(r.series[0].values[0].v.f == 1000);
    assert_true(r.series[0].values[1].v.f == 1);
    assert_true(r.series[0].values[51].v.f == -1);
    tsdb_result_free(&r);
    if (pass == 0) compact(db);
    if (pass == 1) {
      tsdb_close(db);
      db = open_db(dir, NULL);
    }
  }
  tsdb_close(db);
  test_rm_rf(&dir);
}

static size_t count_blocks(const char *dir, const char *policy) {
  char *p = vg_asprintf("%s/blocks/%s", dir, policy);
  DIR *d = opendir(p);
  free(p);
  size_t n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strstr(e->d_name, ".blk") && !strstr(e->d_name, ".corrupt")) n++;
  if (d) closedir(d);
  return n;
}

/* A flush writes one block per window its values fall in, each series copied, sorted
 * and deduplicated one at a time: values shuffled over three windows with gaps, rewrites
 * of the same timestamps, a sorted series in one window and a string series in two. */
static void flush_writes_each_window_once(void **state) {
  char *dir = test_tmpdir("store");
  struct tsdb *db = open_db(dir, NULL);
  int64_t day = tsdb__floor(tsdb__now(), DAY) - 5 * DAY, w = 2 * HOUR;
  int64_t windows[3] = {day, day + 2 * w, day + 5 * w};
  /* A: 30 values per window, written in a scrambled order, each written twice (the
   * second write wins) */
  for (int rep = 0; rep < 2; rep++)
    for (int k = 0; k < 90; k++) {
      int j = (k * 37) % 90; /* 37 is prime to 90: a permutation */
      put(db, "A", windows[j / 30] + (j % 30) * SEC, rep * 1000 + j);
    }
  for (int k = 0; k < 50; k++) put(db, "B", windows[1] + k * SEC, k); /* one window, sorted */
  for (int k = 0; k < 2; k++) {
    struct tsdb_tag tag = {S("sym"), S("C")};
    char text[16];
    snprintf(text, sizeof text, "note %d", k);
    struct tsdb_field f = {S("note"), {.type = TSDB_STRING, .v.s = {text, strlen(text)}}};
    struct tsdb_point p = {S("tick"), &tag, 1, &f, 1, windows[2 * k] + 7 * SEC};
    assert_int_equal(tsdb_write(db, &p, 1, NULL), 0);
  }
  char err[256];
  for (int round = 0; round < 2; round++) {
    assert_int_equal(tsdb__flush(db, err, sizeof err), 0);
    assert_int_equal(count_blocks(dir, "default"), 3 * (size_t)(round + 1));
    struct tsdb_result r = q_raw(db, "A", day, day + DAY);
    assert_int_equal(r.n_series, 1);
    assert_int_equal(r.series[0].n, 90);
    for (size_t i = 0; i < 90; i++) {
      assert_true(r.series[0].ts[i] == windows[i / 30] + (int64_t)(i % 30) * SEC);
      assert_true(r.series[0].values[i].v.f == (round ? 2000 : 1000) + (double)i);
    }
    tsdb_result_free(&r);
    r = q_raw(db, "B", day, day + DAY);
    assert_int_equal(r.series[0].n, 50);
    assert_true(r.series[0].values[49].v.f == 49);
    tsdb_result_free(&r);
    struct tsdb_tag tag = {S("sym"), S("C")};
    struct tsdb_query q = {.measurement = "tick", .tags = &tag, .n_tags = 1, .field = "note",
                           .from = day, .to = day + DAY};
    assert_int_equal(tsdb_query(db, &q, &r, err, sizeof err), 0);
    assert_int_equal(r.series[0].n, 2);
    assert_true(r.series[0].values[1].v.s.len == 6 &&
                memcmp(r.series[0].values[1].v.s.p, "note 1", 6) == 0);
    tsdb_result_free(&r);
    /* the second round rewrites A in the same windows: the scratch columns are reused */
    for (int k = 0; k < 90; k++) put(db, "A", windows[k / 30] + (k % 30) * SEC, 2000 + k);
  }
  tsdb_close(db);
  test_rm_rf(&dir);
}

static void compaction_merges_windows_and_days(void **state) {
  char *dir = test_tmpdir("store");
  struct tsdb *db = open_db(dir, NULL);
  int64_t day = tsdb__floor(tsdb__now(), DAY) - 5 * DAY;
  /* three flushes into the windows of one finished day */
  for (int f = 0; f < 3; f++) {
    for (int h = 0; h < 24; h += 3) put(db, "A", day + h * HOUR + f * SEC, f * 100 + h);
    char err[256];
    assert_int_equal(tsdb__flush(db, err, sizeof err), 0);
  }
  assert_true(count_blocks(dir, "default") >= 8);
  compact(db);
  assert_int_equal(count_blocks(dir, "default"), 1);
  struct tsdb_result r = q_raw(db, "A", day, day + DAY);
  assert_int_equal(r.series[0].n, 24);
  tsdb_result_free(&r);
  struct tsdb_stats st;
  tsdb_stats(db, &st);
  assert_int_equal(st.blocks, 1);
  assert_int_equal(st.block_points, 24);
  assert_int_equal(st.head_points, 0);
  assert_true(st.compactions >= 1);
  tsdb_stats_free(&st);
  tsdb_close(db);
  test_rm_rf(&dir);
}

static void retention_drops_exactly_the_expired_blocks(void **state) {
  char *dir = test_tmpdir("store");
  struct tsdb_policy pol[] = {{.name = "short", .duration_ns = 3 * DAY, .measurement = "tick"}};
  struct tsdb_opts o = {.policies = pol, .n_policies = 1};
  struct tsdb *db = open_db(dir, &o);
  int64_t today = tsdb__floor(tsdb__now(), DAY);
  for (int d = 1; d <= 6; d++) put(db, "A", today - d * DAY + 23 * HOUR, d);
  compact(db);
  /* a block goes when its window ended at or before now - 3d: the 22h-24h windows of
   * 4, 5 and 6 days ago; that of 3 days ago ends 2 days ago, after now - 3d */
  struct tsdb_result r = q_raw(db, "A", TSDB_TIME_MIN, TSDB_TIME_MAX);
  assert_int_equal(r.series[0].n, 3);
  assert_true(r.series[0].values[0].v.f == 3);
  tsdb_result_free(&r);
  assert_int_equal(count_blocks(dir, "short"), 3);
  struct tsdb_stats st;
  tsdb_stats(db, &st);
  assert_int_equal(st.retention_drops, 3);
  tsdb_stats_free(&st);
  tsdb_close(db);
  /* what was dropped stays dropped after a reopen */
  db = open_db(dir, &o);
  r = q_raw(db, "A", TSDB_TIME_MIN, TSDB_TIME_MAX);
  assert_int_equal(r.series[0].n, 3);
  tsdb_result_free(&r);
  tsdb_close(db);
  test_rm_rf(&dir);
}

/* Rollups: data over 6 days, raw kept 2 days, rollups of 1 h kept forever; a query of
 * hourly and 6-hourly means over all of it equals the naive computation. */
static void rollups_are_seamless(void **state) {
  char *dir = test_tmpdir("store");
  struct tsdb_policy pol[] = {{.name = "raw", .duration_ns = 2 * DAY},
                              {.name = "long", .duration_ns = 0, .measurement = "nothing"}};
  struct tsdb_rollup ru[] = {{.name = "hourly", .source = "raw", .target = "long",
                              .interval_ns = HOUR}};
  struct tsdb_opts o = {.policies = pol, .n_policies = 2, .rollups = ru, .n_rollups = 1};
  struct tsdb *db = open_db(dir, &o);
  int64_t start = tsdb__floor(tsdb__now(), DAY) - 6 * DAY;
  int64_t end = tsdb__floor(tsdb__now(), HOUR) - HOUR;
  size_t n = (size_t)((end - start) / (7 * 60 * SEC));
  double *vals = vg_malloc(n * sizeof *vals);
  int64_t *ts = vg_malloc(n * sizeof *ts);
  double price = 100;
  uint64_t rng = 42;
  for (size_t i = 0; i < n; i++) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    price += ((double)(rng >> 40) / (double)(1ull << 24) - 0.5);
    ts[i] = start + (int64_t)i * 7 * 60 * SEC;
    vals[i] = price;
    put(db, "A", ts[i], price);
  }
  compact(db);
  struct tsdb_stats st;
  tsdb_stats(db, &st);
  assert_true(st.retention_drops > 0);
  assert_true(st.rollup_points > 0);
  tsdb_stats_free(&st);
  int64_t widths[] = {HOUR, 6 * HOUR};
  enum tsdb_agg aggs[] = {TSDB_AGG_MEAN, TSDB_AGG_MIN, TSDB_AGG_MAX, TSDB_AGG_COUNT,
                          TSDB_AGG_FIRST, TSDB_AGG_LAST, TSDB_AGG_SUM};
  for (int reopen = 0; reopen < 2; reopen++) {
    for (size_t w = 0; w < 2; w++)
      for (size_t a = 0; a < sizeof aggs / sizeof *aggs; a++) {
        struct tsdb_tag tag = {S("sym"), S("A")};
        struct tsdb_query q = {.measurement = "tick", .tags = &tag, .n_tags = 1, .field = "price",
                               .from = start, .to = end, .every_ns = widths[w], .agg = aggs[a]};
        struct tsdb_result r;
        char err[256];
        assert_int_equal(tsdb_query(db, &q, &r, err, sizeof err), 0);
        assert_int_equal(r.n_series, 1);
        struct tsdb_series_data *d = &r.series[0];
        assert_true(d->raw_from > start); /* the old part came from rollups */
        /* naive: walk the points bucket by bucket */
        size_t k = 0, i = 0;
        while (i < n && ts[i] < end) {
          int64_t b = tsdb__floor(ts[i], widths[w]);
          double first = vals[i], last = vals[i], mn = vals[i], mx = vals[i], sum = 0, cnt = 0;
          for (; i < n && ts[i] < b + widths[w] && ts[i] < end; i++) {
            last = vals[i];
            mn = fmin(mn, vals[i]);
            mx = fmax(mx, vals[i]);
            sum += vals[i];
            cnt++;
          }
          double want = aggs[a] == TSDB_AGG_MEAN ? sum / cnt : aggs[a] == TSDB_AGG_MIN ? mn
                      : aggs[a] == TSDB_AGG_MAX ? mx : aggs[a] == TSDB_AGG_COUNT ? cnt
                      : aggs[a] == TSDB_AGG_FIRST ? first : aggs[a] == TSDB_AGG_LAST ? last : sum;
          assert_true(k < d->n);
          assert_int_equal(d->ts[k], b);
          if (fabs(d->values[k].v.f - want) > 1e-9 * fmax(1, fabs(want))) {
            fprintf(stderr, "agg %s width %lld bucket %zu: got %.12g want %.12g\n",
                    tsdb_agg_name(aggs[a]), (long long)widths[w], k, d->values[k].v.f, want);
            fail();
          }
          k++;
        }
        assert_int_equal(k, d->n);
        tsdb_result_free(&r);
      }
    tsdb_close(db);
    db = open_db(dir, &o);
  }
  tsdb_close(db);
  free(vals);
  free(ts);
  test_rm_rf(&dir);
}

static void last_value_from_head_blocks_and_reopen(void **state) {
  char *dir = test_tmpdir("store");
  struct tsdb *db = open_db(dir, NULL);
  put(db, "A", 5 * SEC, 5);
  put(db, "A", 3 * SEC, 3); /* older: not the last */
  put(db, "B", 7 * SEC, 7);
  for (int round = 0; round < 3; round++) {
    struct tsdb_query q = {.measurement = "tick", .field = "price"};
    struct tsdb_result r;
    char err[256];
    assert_int_equal(tsdb_last(db, &q, &r, err, sizeof err), 0);
    assert_int_equal(r.n_series, 2);
    assert_int_equal(r.series[0].ts[0], 5 * SEC);
    assert_true(r.series[0].values[0].v.f == 5);
    assert_int_equal(r.series[1].ts[0], 7 * SEC);
    tsdb_result_free(&r);
    if (round == 0) compact(db);
    tsdb_close(db);
    db = open_db(dir, NULL);
  }
  tsdb_close(db);
  test_rm_rf(&dir);
}

static char *first_block(const char *dir) {
  char *p = vg_asprintf("%s/blocks/default", dir);
  DIR *d = opendir(p);
  struct dirent *e;
  char *out = NULL;
  while (d && (e = readdir(d)))
    if (!out && strstr(e->d_name, ".blk")) out = vg_asprintf("%s/%s", p, e->d_name);
  if (d) closedir(d);
  free(p);
  return out;
}

static void corrupt_blocks_are_reported_never_read(void **state) {
  char *dir = test_tmpdir("store");
  struct tsdb *db = open_db(dir, NULL);
  for (int i = 0; i < 1000; i++) put(db, "A", 100 * DAY + i * SEC, i * 0.25);
  compact(db);
  tsdb_close(db);
  char *path = first_block(dir);
  assert_non_null(path);
  struct vg_buf img;
  vg_buf_init(&img);
  FILE *f = fopen(path, "rb");
  char tmp[4096];
  size_t k;
  while ((k = fread(tmp, 1, sizeof tmp, f)) > 0) vg_buf_append(&img, tmp, k);
  fclose(f);
  /* every truncation of the file is refused by the reader */
  for (size_t len = 0; len < img.len; len++) {
    struct tsdb__block *b = NULL;
    char err[256];
    assert_int_equal(tsdb__block_parse((const uint8_t *)img.data, len, &b, err, sizeof err), -EBADMSG);
  }
  /* a flipped byte inside a chunk: the block opens, the read fails by checksum */
  img.data[40] ^= 0x55;
  f = fopen(path, "wb");
  fwrite(img.data, 1, img.len, f);
  fclose(f);
  db = open_db(dir, NULL);
  struct tsdb_tag tag = {S("sym"), S("A")};
  struct tsdb_query q = {.measurement = "tick", .tags = &tag, .n_tags = 1, .from = 0, .to = TSDB_TIME_MAX};
  struct tsdb_result r;
  char err[256];
  assert_int_equal(tsdb_query(db, &q, &r, err, sizeof err), -EBADMSG);
  assert_non_null(strstr(err, "checksum"));
  tsdb_close(db);
  /* a flipped byte in the index: the block is set aside at open, with a message */
  img.data[40] ^= 0x55;
  img.data[img.len - 40] ^= 0x01;
  f = fopen(path, "wb");
  fwrite(img.data, 1, img.len, f);
  fclose(f);
  db = open_db(dir, NULL);
  struct tsdb_stats st;
  tsdb_stats(db, &st);
  assert_int_equal(st.blocks, 0);
  tsdb_stats_free(&st);
  char *moved = vg_asprintf("%s.corrupt", path);
  assert_int_equal(access(moved, F_OK), 0);
  free(moved);
  tsdb_close(db);
  vg_buf_free(&img);
  free(path);
  test_rm_rf(&dir);
}

static void second_open_is_refused(void **state) {
  char *dir = test_tmpdir("store");
  struct tsdb *db = open_db(dir, NULL);
  struct tsdb *db2 = NULL;
  char err[256];
  assert_int_equal(tsdb_open(&db2, dir, NULL, err, sizeof err), -EBUSY);
  assert_null(db2);
  tsdb_close(db);
  test_rm_rf(&dir);
}

static void keys_escape_and_parse_back(void **state) {
  struct tsdb_tag tags[] = {{S("a,b"), S("c=d e")}, {S("k\\"), S("\x01#")}};
  struct vg_buf b;
  vg_buf_init(&b);
  tsdb__key_build(&b, S("m, x"), tags, 2, S("f#g"));
  assert_null(memchr(b.data, 0x1f, b.len));
  struct tsdb__series s = {0};
  assert_int_equal(tsdb__key_parse(&s, (char *)b.data, b.len), 0);
  assert_string_equal(s.measurement, "m, x");
  assert_int_equal(s.n_tags, 2);
  assert_string_equal(s.tags[0].key.p, "a,b");
  assert_string_equal(s.tags[0].value.p, "c=d e");
  assert_string_equal(s.tags[1].key.p, "k\\");
  assert_string_equal(s.tags[1].value.p, "\x01#");
  assert_string_equal(s.field, "f#g");
  free(s.measurement);
  free(s.field);
  for (size_t i = 0; i < s.n_tags; i++) {
    free((void *)s.tags[i].key.p);
    free((void *)s.tags[i].value.p);
  }
  free(s.tags);
  vg_buf_free(&b);
}

static void bad_options_are_refused(void **state) {
  char *dir = test_tmpdir("store");
  struct tsdb_policy pol[] = {{.name = "raw"}};
  struct tsdb_rollup ru[] = {{.name = "r", .source = "raw", .target = "nope", .interval_ns = HOUR}};
  struct tsdb_opts o = {.policies = pol, .n_policies = 1, .rollups = ru, .n_rollups = 1};
  struct tsdb *db = NULL;
  char err[256];
  assert_int_equal(tsdb_open(&db, dir, &o, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "unknown target policy 'nope'"));
  ru[0].target = "default";
  ru[0].interval_ns = 7 * HOUR;
  assert_int_equal(tsdb_open(&db, dir, &o, err, sizeof err), -EINVAL);
  assert_non_null(strstr(err, "divide a day"));
  test_rm_rf(&dir);
}


/* Two writer threads, a reader and a maintenance loop at once: every read sees whole
 * batches in order with the right values, and the counts only grow. */
struct conc {
  struct tsdb *db;
  int writer;
  int batches;
  atomic_int done;
  atomic_int bad;
};

static void *conc_writer(void *arg) {
  struct conc *c = arg;
  char sym[8];
  snprintf(sym, sizeof sym, "W%d", c->writer);
  struct tsdb_tag tag = {S("sym"), {sym, strlen(sym)}};
  struct tsdb_field f[100];
  struct tsdb_point p[100];
  for (int b = 0; b < c->batches; b++) {
    for (int i = 0; i < 100; i++) {
      int64_t k = (int64_t)b * 100 + i;
      f[i] = (struct tsdb_field){S("price"), {.type = TSDB_FLOAT, .v.f = (double)k * 0.5}};
      p[i] = (struct tsdb_point){S("tick"), &tag, 1, &f[i], 1, 50 * DAY + k * SEC};
    }
    if (tsdb_write(c->db, p, 100, NULL) != 0) atomic_fetch_add(&c->bad, 1);
  }
  atomic_fetch_add(&c->done, 1);
  return NULL;
}

static void concurrent_writers_readers_and_flushes(void **state) {
  char *dir = test_tmpdir("store");
  struct tsdb_opts o = {.sync = TSDB_SYNC_NEVER, .head_max_points = 3000, .background = true};
  struct tsdb *db = open_db(dir, &o);
  struct conc c[2] = {{.db = db, .writer = 0, .batches = 300}, {.db = db, .writer = 1, .batches = 300}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, conc_writer, &c[i]);
  size_t last[2] = {0, 0};
  int rounds = 0;
  for (bool finished = false; !finished;) {
    finished = atomic_load(&c[0].done) + atomic_load(&c[1].done) == 2; /* then one more read */
    rounds++;
    for (int w = 0; w < 2; w++) {
      char sym[8];
      snprintf(sym, sizeof sym, "W%d", w);
      struct tsdb_result r = q_raw(db, sym, TSDB_TIME_MIN, TSDB_TIME_MAX);
      size_t n = r.n_series ? r.series[0].n : 0;
      assert_true(n >= last[w]);
      assert_int_equal(n % 100, 0); /* whole batches only */
      for (size_t i = 0; i < n; i++) {
        assert_int_equal(r.series[0].ts[i], 50 * DAY + (int64_t)i * SEC);
        assert_true(r.series[0].values[i].v.f == (double)i * 0.5);
      }
      last[w] = n;
      tsdb_result_free(&r);
    }
    if (rounds % 7 == 0) {
      char err[256];
      assert_int_equal(tsdb_compact(db, err, sizeof err), 0);
    }
  }
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  assert_int_equal(atomic_load(&c[0].bad) + atomic_load(&c[1].bad), 0);
  assert_int_equal(last[0], 30000);
  assert_int_equal(last[1], 30000);
  assert_true(rounds > 1);
  struct tsdb_stats st;
  tsdb_stats(db, &st);
  assert_true(st.flushes > 1);
  tsdb_stats_free(&st);
  tsdb_close(db);
  test_rm_rf(&dir);
}

/* The state file is replaced atomically, but even a truncated one must not lose or
 * invent data: every prefix of it opens to the same points. */
static void truncated_state_file_loses_nothing(void **state) {
  char *dir = test_tmpdir("store");
  struct tsdb *db = open_db(dir, NULL);
  for (int i = 0; i < 50; i++) put(db, "A", 200 * DAY + i * HOUR, i);
  compact(db);
  for (int i = 50; i < 60; i++) put(db, "A", 200 * DAY + i * HOUR, i); /* in the log only */
  tsdb_close(db);
  char *path = vg_asprintf("%s/state", dir);
  struct vg_buf img;
  vg_buf_init(&img);
  FILE *f = fopen(path, "rb");
  char tmp[512];
  size_t k;
  while ((k = fread(tmp, 1, sizeof tmp, f)) > 0) vg_buf_append(&img, tmp, k);
  fclose(f);
  assert_true(img.len > 10);
  for (size_t len = 0; len <= img.len; len++) {
    f = fopen(path, "wb");
    fwrite(img.data, 1, len, f);
    fclose(f);
    db = open_db(dir, NULL);
    struct tsdb_result r = q_raw(db, "A", TSDB_TIME_MIN, TSDB_TIME_MAX);
    assert_int_equal(r.series[0].n, 60);
    for (size_t i = 0; i < 60; i++) assert_true(r.series[0].values[i].v.f == (double)i);
    tsdb_result_free(&r);
    tsdb_close(db);
  }
  free(path);
  vg_buf_free(&img);
  test_rm_rf(&dir);
}

/* A flush that cannot write its block keeps the frozen head in front of the values
 * written since (head segments are chained back), and the next flush writes them all,
 * once. The blocks directory is replaced by a file, which fails even for root. */
static void failed_flush_keeps_the_head(void **state) {
  (void)state;
  char *dir = test_tmpdir("store");
  struct tsdb *db = open_db(dir, NULL);
  int64_t base = tsdb__floor(tsdb__now(), DAY) - 3 * DAY;
  double sum = 0;
  for (int i = 0; i < 3000; i++) put(db, "A", base + i * SEC, i), sum += i;
  char *blocks = vg_asprintf("%s/blocks", dir), *away = vg_asprintf("%s/blocks.away", dir);
  assert_int_equal(rename(blocks, away), 0);
  FILE *f = fopen(blocks, "w");
  assert_non_null(f);
  fclose(f);
  char err[512];
  assert_true(tsdb__flush(db, err, sizeof err) < 0);
  for (int i = 3000; i < 3500; i++) put(db, "A", base + i * SEC, i), sum += i;
  struct tsdb_stats st;
  tsdb_stats(db, &st);
  assert_int_equal(st.head_points, 3500);
  tsdb_stats_free(&st);
  for (int round = 0; round < 3; round++) {
    struct tsdb_result r = q_raw(db, "A", base, base + DAY);
    assert_int_equal(r.n_series, 1);
    assert_int_equal(r.series[0].n, 3500);
    double got = 0;
    for (size_t i = 0; i < r.series[0].n; i++) {
      assert_true(r.series[0].ts[i] == base + (int64_t)i * SEC);
      got += r.series[0].values[i].v.f;
    }
    assert_true(got == sum);
    tsdb_result_free(&r);
    if (round == 0) { /* the directory back: this flush writes everything */
      assert_int_equal(unlink(blocks), 0);
      assert_int_equal(rename(away, blocks), 0);
      assert_int_equal(tsdb__flush(db, err, sizeof err), 0);
      tsdb_stats(db, &st);
      assert_int_equal(st.head_points, 0);
      assert_int_equal(st.block_points, 3500);
      tsdb_stats_free(&st);
    } else if (round == 1) {
      tsdb_close(db);
      db = open_db(dir, NULL);
    }
  }
  free(blocks);
  free(away);
  tsdb_close(db);
  test_rm_rf(&dir);
}

/* Fingerprints: of the stored data in the range, the same before and after a flush to
 * blocks (another storage, same values), changed by any new point in the range and by
 * nothing outside it. */
static void fingerprints_follow_the_stored_values(void **state) {
  char *dir = test_tmpdir("store");
  struct tsdb_opts o = {.sync = TSDB_SYNC_NEVER};
  struct tsdb *db = open_db(dir, &o);
  int64_t t0 = 1700000000 * SEC - 1700000000 * SEC % DAY;
  for (int i = 0; i < 100; i++) put(db, "BTC", t0 + i * SEC, 30000 + i * 0.25);
  put(db, "ETH", t0, 2000);
  struct tsdb_tag tag = {S("sym"), S("BTC")};
  struct tsdb_query q = {.measurement = "tick", .tags = &tag, .n_tags = 1, .from = t0,
                         .to = t0 + DAY};
  uint8_t a[16], b[16], c[16];
  size_t n = 0;
  char err[256];
  assert_int_equal(tsdb_fingerprint(db, &q, a, &n, err, sizeof err), 0);
  assert_int_equal(n, 100);
  compact(db); /* now from blocks */
  assert_int_equal(tsdb_fingerprint(db, &q, b, &n, err, sizeof err), 0);
  assert_memory_equal(a, b, 16);
  put(db, "ETH", t0 + 5 * SEC, 2001);   /* another series: no change */
  put(db, "BTC", t0 + DAY + SEC, 1);    /* the next day: no change */
  assert_int_equal(tsdb_fingerprint(db, &q, b, &n, err, sizeof err), 0);
  assert_memory_equal(a, b, 16);
  put(db, "BTC", t0 + 7 * SEC, 1.5); /* a value rewritten: a change */
  assert_int_equal(tsdb_fingerprint(db, &q, c, &n, err, sizeof err), 0);
  assert_int_equal(n, 100);
  assert_memory_not_equal(a, c, 16);
  struct tsdb_query none = q;
  none.from = t0 - DAY, none.to = t0;
  assert_int_equal(tsdb_fingerprint(db, &none, c, &n, err, sizeof err), 0);
  assert_int_equal(n, 0);
  struct tsdb_query bad = {.from = t0, .to = t0 + DAY};
  assert_int_equal(tsdb_fingerprint(db, &bad, c, &n, err, sizeof err), -EINVAL);
  tsdb_close(db);
  test_rm_rf(&dir);
}

int main(void) {
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_type_round_trips),
      cmocka_unit_test(duplicates_and_disorder),
      cmocka_unit_test(flush_writes_each_window_once),
      cmocka_unit_test(compaction_merges_windows_and_days),
      cmocka_unit_test(retention_drops_exactly_the_expired_blocks),
      cmocka_unit_test(rollups_are_seamless),
      cmocka_unit_test(last_value_from_head_blocks_and_reopen),
      cmocka_unit_test(corrupt_blocks_are_reported_never_read),
      cmocka_unit_test(second_open_is_refused),
      cmocka_unit_test(keys_escape_and_parse_back),
      cmocka_unit_test(bad_options_are_refused),
      cmocka_unit_test(concurrent_writers_readers_and_flushes),
      cmocka_unit_test(truncated_state_file_loses_nothing),
      cmocka_unit_test(failed_flush_keeps_the_head),
      cmocka_unit_test(fingerprints_follow_the_stored_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
