/* Unit tests of the store routes' shared parts (store_api.h): the query's argument
 * parser and the renderers the CLI uses too, and jobs run off the loop thread (job.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <pthread.h>

#include "http/store_api.h"

static int parse(struct store_query_args a, struct store_query *q, char *err) {
  return store_query_parse(&a, q, err, 300);
}

static void query_arguments_are_checked_once_for_all(void **state) {
  struct store_query q;
  char err[300];
  int64_t now = tsdb_now();
  assert_int_equal(parse((struct store_query_args){.q = "tick,sym=BTC\\,X,venue=k"}, &q, err), 0);
  assert_string_equal(q.q.measurement, "tick");
  assert_int_equal(q.q.n_tags, 2);
  assert_string_equal(q.q.tags[0].value.p, "BTC,X");
  assert_null(q.q.field);
  /* default range: the last hour */
  assert_true(q.q.to >= now && q.q.to - q.q.from == 3600 * TSDB_NS_PER_SEC);
  assert_int_equal(parse((struct store_query_args){.q = "m", .field = "v", .from = "1700000000",
                                                   .to = "1700000001.5", .every = "1m",
                                                   .agg = "max", .limit = "7"}, &q, err), 0);
  assert_string_equal(q.q.field, "v");
  assert_true(q.q.from == 1700000000 * TSDB_NS_PER_SEC);
  assert_true(q.q.to == 1700000001 * TSDB_NS_PER_SEC + TSDB_NS_PER_SEC / 2);
  assert_true(q.q.every_ns == 60 * TSDB_NS_PER_SEC);
  assert_int_equal(q.q.agg, TSDB_AGG_MAX);
  assert_int_equal(q.q.limit, 7);
  /* empty strings are absent ones */
  assert_int_equal(parse((struct store_query_args){.q = "m", .field = "", .every = "", .agg = "",
                                                   .limit = ""}, &q, err), 0);
  assert_null(q.q.field);
  static const struct {
    struct store_query_args a;
    const char *msg;
  } bad[] = {
      {{.q = NULL}, "q must be"},
      {{.q = ",x=1"}, "q must be"},
      {{.q = "m,novalue"}, "q must be"},
      {{.q = "m", .from = "yesterday"}, "bad time 'yesterday'"},
      {{.q = "m", .to = "soon"}, "bad time 'soon'"},
      {{.q = "m", .every = "0s"}, "every must be"},
      {{.q = "m", .every = "1m", .agg = "median"}, "agg must be"},
      {{.q = "m", .agg = "max"}, "agg needs every"},
      {{.q = "m", .limit = "-1"}, "limit must be"},
      {{.q = "m", .limit = "99999999999999999999999"}, "limit must be"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = 0;
    assert_int_equal(parse(bad[i].a, &q, err), -1);
    if (!strstr(err, bad[i].msg)) fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].msg);
  }
}

static void renderers_quote_and_keep_exact_values(void **state) {
  struct tsdb_tag tag = {{"sym", 3}, {"A,B", 3}};
  int64_t ts[2] = {1700000000 * TSDB_NS_PER_SEC, 1700000001 * TSDB_NS_PER_SEC};
  struct tsdb_value v[2] = {{.type = TSDB_STRING, .v.s = {"say \"hi\"", 8}},
                            {.type = TSDB_STRING, .v.s = {"plain", 5}}};
  struct tsdb_series_data d = {.key = "t,sym=A\\,B#note", .measurement = "t", .tags = &tag,
                               .n_tags = 1, .field = "note", .type = TSDB_STRING, .n = 2,
                               .ts = ts, .values = v, .raw_from = TSDB_TIME_MIN};
  struct tsdb_result r = {.series = &d, .n_series = 1, .points = 2};
  struct vg_buf b;
  vg_buf_init(&b);
  store_render_result(&r, STORE_CSV, 0, &b);
  assert_string_equal(b.data, "series,field,time,value\n"
                              "\"t,sym=A,B\",note,2023-11-14T22:13:20Z,\"say \"\"hi\"\"\"\n"
                              "\"t,sym=A,B\",note,2023-11-14T22:13:21Z,plain\n");
  vg_buf_reset(&b);
  struct tsdb_value f[2] = {{.type = TSDB_FLOAT, .v.f = 0.1}, {.type = TSDB_FLOAT, .v.f = 1e300}};
  d.values = f;
  d.type = TSDB_FLOAT;
  store_render_result(&r, STORE_JSON, 1500, &b);
  assert_non_null(strstr(b.data, "\"points\": [[1700000000000000000, 0.1], [1700000001000000000, 1e+300]]"));
  assert_non_null(strstr(b.data, "\"tags\": {\"sym\": \"A,B\"}"));
  assert_non_null(strstr(b.data, "\"elapsed_us\": 1.5}"));
  vg_buf_reset(&b);
  uint8_t fp[16];
  for (int i = 0; i < 16; i++) fp[i] = (uint8_t)(i * 17);
  store_render_fingerprint(fp, 42, &b);
  assert_string_equal(b.data, "{\"fingerprint\": \"00112233445566778899aabbccddeeff\", \"points\": 42}\n");
  enum store_format fmt;
  assert_int_equal(store_format_parse("csv", &fmt), 0);
  assert_int_equal(fmt, STORE_CSV);
  assert_int_equal(store_format_parse("xml", &fmt), -1);
  vg_buf_free(&b);
}

/* ---- jobs ---- */
struct probe {
  pthread_t loop_thread, run_thread;
  int runs, dones, frees;
};

static void probe_run(void *arg, struct http_response *resp) {
  struct probe *p = arg;
  p->run_thread = pthread_self();
  p->runs++;
  resp->status = 201;
  vg_buf_puts(&resp->body, "done");
}
static void probe_free(void *arg) { ((struct probe *)arg)->frees++; }
static void probe_done(void *arg, struct http_response *resp) {
  struct probe *p = arg;
  assert_true(pthread_equal(pthread_self(), p->loop_thread)); /* answered on the loop */
  assert_int_equal(resp->status, 201);
  assert_string_equal(resp->body.data, "done");
  p->dones++;
}

static void jobs_run_off_the_loop_and_answer_on_it(void **state) {
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  struct probe a = {.loop_thread = pthread_self()}, b = a;
  http_job_submit(&loop, probe_run, &a, probe_free, probe_done, &a);
  struct http_job *jb = http_job_submit(&loop, probe_run, &b, probe_free, probe_done, &b);
  http_job_detach(jb); /* its requester left: it runs, its answer is dropped */
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(a.runs, 1);
  assert_int_equal(a.dones, 1);
  assert_int_equal(a.frees, 1);
  assert_false(pthread_equal(a.run_thread, a.loop_thread));
  assert_int_equal(b.runs, 1);
  assert_int_equal(b.dones, 0);
  assert_int_equal(b.frees, 1);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(query_arguments_are_checked_once_for_all),
      cmocka_unit_test(renderers_quote_and_keep_exact_values),
      cmocka_unit_test(jobs_run_off_the_loop_and_answer_on_it),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
