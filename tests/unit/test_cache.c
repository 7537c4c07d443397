/*
 * Unit tests of the latest-value cache (src/cache/): keys from points (escaping, every
 * field), the newest value wins and an older one is counted, strings copied, aliases,
 * globs (prefix, fnmatch, a single key, an alias's name), max_keys, documents (render,
 * readiness on NaN, Inf, strings, staleness; set whole, never backwards, JSON checked),
 * and writers on many threads against readers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>

#include "cache/cache.h"
#include "config/config.h"
#include "core/core.h"

#define S(x) ((struct tsdb_str){x, sizeof(x) - 1})

static struct cache *open_plain(void) {
  struct cache *c;
  char err[200];
  assert_int_equal(cache_open(NULL, NULL, &c, err, sizeof err), 0);
  return c;
}

static struct tsdb_value fv(double f) { return (struct tsdb_value){.type = TSDB_FLOAT, .v.f = f}; }

static void keys_from_points(void **state) {
  struct cache *c = open_plain();
  struct tsdb_tag tags[] = {{S("sym"), S("BTC USD")}, {S("venue"), S("a,b=c")}};
  struct tsdb_field fields[] = {{S("price"), fv(101.5)},
                                {S("size"), {.type = TSDB_INT, .v.i = 3}},
                                {S("note"), {.type = TSDB_STRING, .v.s = S("hello")}}};
  struct tsdb_point p = {S("tr ades"), tags, 2, fields, 3, 1000};
  cache_put_points(c, "feed:x", &p, 1, fields, NULL);
  assert_int_equal(cache_size(c), 3);
  struct cache_entry e;
  assert_int_equal(cache_get(c, "tr\\ ades,sym=BTC\\ USD,venue=a\\,b\\=c.price", &e), 0);
  assert_true(e.value.type == TSDB_FLOAT && e.value.v.f == 101.5);
  assert_int_equal(e.ts, 1000);
  assert_string_equal(e.source, "feed:x");
  assert_true(e.received > 0);
  cache_entry_clear(&e);
  assert_int_equal(cache_get(c, "tr\\ ades,sym=BTC\\ USD,venue=a\\,b\\=c.note", &e), 0);
  assert_int_equal(e.value.type, TSDB_STRING);
  assert_string_equal(e.str, "hello");
  assert_ptr_equal(e.value.v.s.p, e.str); /* the copy, not the caller's bytes */
  cache_entry_clear(&e);
  assert_int_equal(cache_get(c, "nope", &e), -ENOENT);
  assert_true(cache_age(c, "nope") < 0);
  cache_close(&c);
  assert_null(c);
}

/* With the store's series ids, known keys are found by id: values land on the keys
 * the points name, new ids are learnt, and an id seen before needs no key. */
static void by_series_id(void **state) {
  struct cache *c = open_plain();
  struct tsdb_tag tag = {S("sym"), S("A")};
  struct tsdb_field fields[] = {{S("px"), fv(1)}, {S("qty"), fv(2)}, {S("px"), fv(3)}};
  struct tsdb_tag tag2 = {S("sym"), S("B")};
  struct tsdb_point pts[] = {{S("t"), &tag, 1, &fields[0], 2, 10}, {S("t"), &tag2, 1, &fields[2], 1, 10}};
  uint32_t ids[] = {70000, 5, TSDB_NO_SERIES}; /* ids past the first chunk too */
  cache_put_points(c, "feed:x", pts, 2, fields, ids);
  assert_int_equal(cache_size(c), 3);
  /* the same ids again, new values: through the id table */
  fields[0].value = fv(11);
  fields[1].value = fv(12);
  fields[2].value = fv(13);
  pts[0].ts = pts[1].ts = 20;
  cache_put_points(c, "feed:x", pts, 2, fields, ids);
  assert_int_equal(cache_size(c), 3);
  struct cache_entry e;
  assert_int_equal(cache_get(c, "t,sym=A.px", &e), 0);
  assert_true(e.value.v.f == 11);
  assert_int_equal(e.updates, 2);
  cache_entry_clear(&e);
  assert_int_equal(cache_get(c, "t,sym=A.qty", &e), 0);
  assert_true(e.value.v.f == 12);
  cache_entry_clear(&e);
  assert_int_equal(cache_get(c, "t,sym=B.px", &e), 0);
  assert_true(e.value.v.f == 13);
  cache_entry_clear(&e);
  /* an older value by id is refused like one by key */
  fields[0].value = fv(-1);
  pts[0].ts = 5;
  cache_put_points(c, "feed:x", pts, 1, fields, ids);
  assert_int_equal(cache_get(c, "t,sym=A.px", &e), 0);
  assert_true(e.value.v.f == 11);
  cache_entry_clear(&e);
  cache_close(&c);
}

static void newest_wins(void **state) {
  struct cache *c = open_plain();
  struct tsdb_value v = fv(1);
  cache_put(c, "m.a", &v, 100, "http");
  v = fv(2);
  cache_put(c, "m.a", &v, 50, "http"); /* older: ignored */
  struct cache_entry e;
  assert_int_equal(cache_get(c, "m.a", &e), 0);
  assert_true(e.value.v.f == 1);
  assert_int_equal(e.updates, 1);
  cache_entry_clear(&e);
  v = fv(3);
  cache_put(c, "m.a", &v, 100, "bridge:b"); /* the same time: a rewrite, taken */
  assert_int_equal(cache_get(c, "m.a", &e), 0);
  assert_true(e.value.v.f == 3);
  assert_string_equal(e.source, "bridge:b");
  cache_entry_clear(&e);
  /* a string grows and shrinks in place */
  struct tsdb_value sv = {.type = TSDB_STRING, .v.s = S("a long string value")};
  cache_put(c, "m.s", &sv, 1, NULL);
  sv.v.s = S("x");
  cache_put(c, "m.s", &sv, 2, NULL);
  assert_int_equal(cache_get(c, "m.s", &e), 0);
  assert_string_equal(e.str, "x");
  assert_int_equal(e.value.v.s.len, 1);
  cache_entry_clear(&e);
  cache_close(&c);
}

struct seen {
  size_t n;
  char keys[64][64];
};
static bool see(void *arg, const struct cache_entry *e) {
  struct seen *s = arg;
  if (s->n < 64) snprintf(s->keys[s->n], sizeof s->keys[0], "%s", e->key);
  s->n++;
  return true;
}
static bool stop_at_two(void *arg, const struct cache_entry *e) {
  return ++((struct seen *)arg)->n < 2;
}

static void globs_and_aliases(void **state) {
  struct cfg_cache cfg = {.max_keys = 5};
  struct cfg_cache_alias al[] = {{.name = "btc", .key = "t,sym=BTC.price"},
                                 {.name = "zz", .key = "absent.x"}};
  cfg.aliases = al;
  cfg.n_aliases = 2;
  struct cache *c;
  char err[200];
  assert_int_equal(cache_open(&cfg, NULL, &c, err, sizeof err), 0);
  struct tsdb_value v = fv(1);
  cache_put(c, "t,sym=BTC.price", &v, 1, NULL);
  cache_put(c, "t,sym=ETH.price", &v, 1, NULL);
  cache_put(c, "t,sym=ETH.size", &v, 1, NULL);
  cache_put(c, "u.x", &v, 1, NULL);
  cache_put(c, "btc", &v, 2, NULL); /* through the alias */
  struct seen s = {0};
  assert_int_equal(cache_each(c, NULL, see, &s), 4);
  s.n = 0;
  assert_int_equal(cache_each(c, "t,*", see, &s), 3);
  s.n = 0;
  assert_int_equal(cache_each(c, "t,*.price", see, &s), 2);
  s.n = 0;
  assert_int_equal(cache_each(c, "u.x", see, &s), 1);
  s.n = 0;
  assert_int_equal(cache_each(c, "btc", see, &s), 1);
  assert_string_equal(s.keys[0], "t,sym=BTC.price");
  s.n = 0;
  assert_int_equal(cache_each(c, "b*", see, &s), 1); /* the alias's name matches */
  s.n = 0;
  assert_int_equal(cache_each(c, "zz", see, &s), 0);
  s.n = 0;
  assert_int_equal(cache_each(c, NULL, stop_at_two, &s), 2);
  struct cache_entry e;
  assert_int_equal(cache_get(c, "btc", &e), 0);
  assert_int_equal(e.ts, 2);
  assert_string_equal(e.key, "t,sym=BTC.price");
  cache_entry_clear(&e);
  /* max_keys: the fifth key is taken, the sixth refused, old keys still update */
  cache_put(c, "k5", &v, 1, NULL);
  cache_put(c, "k6", &v, 1, NULL);
  assert_int_equal(cache_size(c), 5);
  assert_int_equal(cache_get(c, "k6", &e), -ENOENT);
  v = fv(9);
  cache_put(c, "u.x", &v, 5, NULL);
  assert_int_equal(cache_get(c, "u.x", &e), 0);
  assert_true(e.value.v.f == 9);
  cache_entry_clear(&e);
  cache_close(&c);
}

static json_t *render(struct cache *c, const char *name) {
  char *s = cache_doc_render(c, name);
  assert_non_null(s);
  json_error_t je;
  json_t *j = json_loads(s, 0, &je);
  if (!j) fail_msg("not JSON: %s (%s)", s, je.text);
  free(s);
  return j;
}

static void documents(void **state) {
  char *keys[] = {"a", "m.*", NULL};
  char *crit[] = {"a", "m.b", NULL};
  struct cfg_cache_doc d = {.name = "doc", .keys = keys, .critical = crit, .fresh_ms = 60000,
                            .ready_flag = "_go"};
  struct cfg_cache_alias al = {.name = "a", .key = "m.a"};
  struct cfg_cache cfg = {.max_keys = 100, .aliases = &al, .n_aliases = 1, .docs = &d, .n_docs = 1};
  struct cache *c;
  char err[200];
  assert_int_equal(cache_open(&cfg, NULL, &c, err, sizeof err), 0);
  json_t *j = render(c, "doc");
  assert_false(json_is_true(json_object_get(j, "_go")));
  assert_int_equal(json_array_size(json_object_get(j, "_missing")), 1); /* a; globs are not */
  json_decref(j);
  int64_t now = vg_wall_ns();
  struct tsdb_value v = fv(1.5);
  cache_put(c, "m.a", &v, now, NULL);
  v = fv(NAN);
  cache_put(c, "m.b", &v, now, NULL);
  j = render(c, "doc");
  assert_true(json_is_null(json_object_get(j, "m.b"))); /* JSON has no NaN */
  assert_false(json_is_true(json_object_get(j, "_go")));
  assert_true(json_real_value(json_object_get(j, "a")) == 1.5);
  json_decref(j);
  v = fv(INFINITY);
  cache_put(c, "m.b", &v, now + 1, NULL);
  j = render(c, "doc");
  assert_false(json_is_true(json_object_get(j, "_go")));
  json_decref(j);
  struct tsdb_value sv = {.type = TSDB_STRING, .v.s = S("7")};
  cache_put(c, "m.b", &sv, now + 2, NULL); /* a string is not numeric */
  j = render(c, "doc");
  assert_false(json_is_true(json_object_get(j, "_go")));
  json_decref(j);
  v = (struct tsdb_value){.type = TSDB_INT, .v.i = 7};
  cache_put(c, "m.b", &v, now + 3, NULL);
  j = render(c, "doc");
  assert_true(json_is_true(json_object_get(j, "_go")));
  assert_non_null(json_object_get(json_object_get(j, "_staleness_s"), "a"));
  assert_non_null(json_object_get(j, "_ts"));
  json_decref(j);
  assert_true(cache_doc_age(c, "doc") >= 0);

  /* set whole: JSON objects only, never backwards, a configured name is not settable */
  assert_int_equal(cache_doc_set(c, "scan", "[1]", 3, 10, "bridge:b", 0), -EINVAL);
  assert_int_equal(cache_doc_set(c, "scan", "{\"n\":", 5, 10, "bridge:b", 0), -EINVAL);
  assert_int_equal(cache_doc_set(c, "doc", "{}", 2, 10, "bridge:b", 0), -EINVAL);
  assert_int_equal(cache_doc_set(c, "scan", "{\"n\":2}", 7, 20, "bridge:b", 0), 0);
  assert_int_equal(cache_doc_set(c, "scan", "{\"n\":1}", 7, 10, "bridge:b", 0), -EALREADY);
  /* built by the caller: braces checked, not parsed */
  assert_int_equal(cache_doc_set(c, "scan", "[1]", 3, 30, "bridge:b", CACHE_DOC_BUILT), -EINVAL);
  assert_int_equal(cache_doc_set(c, "scan", "{\"n\":3}", 7, 30, "bridge:b", CACHE_DOC_BUILT), 0);
  j = render(c, "scan");
  assert_int_equal(json_integer_value(json_object_get(j, "n")), 3);
  json_decref(j);
  char **names;
  size_t n = cache_doc_names(c, &names);
  assert_int_equal(n, 2);
  assert_string_equal(names[0], "doc");
  assert_string_equal(names[1], "scan");
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  errno = 0;
  assert_null(cache_doc_render(c, "nope"));
  assert_int_equal(errno, ENOENT);
  assert_true(cache_doc_age(c, "nope") < 0);
  cache_close(&c);
}

/* ---- threads ---- */

struct worker {
  struct cache *c;
  int id;
};

static void *writer(void *arg) {
  struct worker *w = arg;
  char key[32];
  for (int i = 0; i < 20000; i++) {
    snprintf(key, sizeof key, "w%d.k%d", w->id, i % 500);
    struct tsdb_value v = fv(i);
    cache_put(w->c, key, &v, i, "t");
  }
  return NULL;
}

static bool check_entry(void *arg, const struct cache_entry *e) {
  /* a value is never torn from its time: each was written as value == ts */
  assert_true(e->value.v.f == (double)e->ts);
  ++*(size_t *)arg;
  return true;
}

static void threads(void **state) {
  struct cache *c = open_plain();
  pthread_t th[4];
  struct worker w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (struct worker){c, i};
    pthread_create(&th[i], NULL, writer, &w[i]);
  }
  for (int r = 0; r < 50; r++) {
    size_t n = 0;
    (void)cache_each(c, "w*", check_entry, &n);
  }
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  assert_int_equal(cache_size(c), 2000);
  struct cache_entry e;
  assert_int_equal(cache_get(c, "w3.k499", &e), 0);
  assert_true(e.value.v.f == 19999);
  assert_int_equal(e.updates, 40);
  cache_entry_clear(&e);
  cache_close(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(keys_from_points), cmocka_unit_test(by_series_id),
      cmocka_unit_test(newest_wins),
      cmocka_unit_test(globs_and_aliases), cmocka_unit_test(documents),
      cmocka_unit_test(threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
