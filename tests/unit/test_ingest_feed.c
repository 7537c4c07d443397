/*
 * Unit tests of what a feed is made of: sequence-gap tracking (in order, gaps, late,
 * resets, per-key independence, the recent ring), the quarantine's bounds and escaping,
 * the point checksum's order independence, the batch's conversion of lines into store
 * points, and a real feed on an ipc:// PULL socket fed by a PUSH socket in this
 * process: single-frame and [topic, payload] messages, bad lines counted and
 * quarantined while the good ones are written, gaps counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "ingest/ingest.h"
#include <xxhash.h>

#include "../helpers/test_line.h"

static struct test_line line_of(const char *sym) {
  struct test_line l;
  memset(&l, 0, sizeof l);
  l.measurement = (struct tsdb_str){"ticks", 5};
  l.tags[0] = (struct tsdb_tag){{"sym", 3}, {sym, strlen(sym)}};
  l.n_tags = 1;
  l.fields[0].key = (struct tsdb_str){"seq", 3};
  l.fields[0].value.type = TSDB_INT;
  l.n_fields = 1;
  return l;
}

static uint64_t note(struct ingest_seq *s, const struct test_line *l, int64_t seq, int64_t wall) {
  struct tsdb_point p = test_point(l);
  return ingest_seq_note(s, &p, seq, wall);
}

static void test_seq(void **state) {
  struct ingest_seq *s = ingest_seq_new(NULL, 0);
  struct test_line a = line_of("A"), b = line_of("B");
  assert_int_equal(note(s, &a, 10, 1), 0); /* first: starts the key */
  assert_int_equal(note(s, &a, 11, 2), 0);
  assert_int_equal(note(s, &b, 1, 3), 0);
  assert_int_equal(note(s, &a, 15, 4), 3); /* 12, 13, 14 missed */
  assert_int_equal(note(s, &b, 2, 5), 0);
  assert_int_equal(note(s, &a, 15, 6), 0); /* duplicate: late */
  assert_int_equal(note(s, &a, 13, 7), 0); /* out of order: late */
  assert_int_equal(note(s, &a, 1, 8), 0);  /* publisher restart */
  assert_int_equal(note(s, &a, 2, 9), 0);
  assert_int_equal(note(s, &b, 100, 10), 97);
  struct ingest_seq_counts c;
  struct ingest_gap g[4];
  size_t n = ingest_seq_read(s, &c, g, 4);
  assert_int_equal(c.gaps, 2);
  assert_int_equal(c.missed, 100);
  assert_int_equal(c.late, 2);
  assert_int_equal(c.resets, 1);
  assert_int_equal(c.keys, 2);
  assert_int_equal(n, 2);
  assert_string_equal(g[0].key, "ticks,sym=B"); /* newest first */
  assert_int_equal(g[0].after, 2);
  assert_int_equal(g[0].got, 100);
  assert_int_equal(g[0].wall_ns, 10);
  assert_string_equal(g[1].key, "ticks,sym=A");
  ingest_seq_free(s);
}

/* Many keys (the table grows) and a key on one tag among several. */
static void test_seq_many_keys(void **state) {
  static const char *const key[] = {"sym"};
  struct ingest_seq *s = ingest_seq_new(key, 1);
  static char names[5000][8];
  for (int round = 0; round < 3; round++)
    for (int i = 0; i < 5000; i++) {
      snprintf(names[i], sizeof names[i], "S%d", i);
      struct test_line p = line_of(names[i]);
      p.measurement = (struct tsdb_str){"t", 1};
      p.tags[1] = p.tags[0];
      p.tags[0] = (struct tsdb_tag){{"side", 4}, {round ? "b" : "a", 1}}; /* not part of the key */
      p.n_tags = 2;
      int64_t seq = round == 2 && i == 4999 ? 5 : round + 1;
      note(s, &p, seq, 0);
    }
  struct ingest_seq_counts c;
  struct ingest_gap g;
  assert_int_equal(ingest_seq_read(s, &c, &g, 1), 1);
  assert_int_equal(c.keys, 5000);
  assert_int_equal(c.gaps, 1);
  assert_int_equal(c.missed, 2);
  assert_string_equal(g.key, "t,sym=S4999");
  ingest_seq_free(s);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

static void test_quarantine(void **state) {
  char dir[] = "/tmp/vigil-q-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof path, "%s/quarantine/feed.log", dir);
  struct ingest_quarantine *q = ingest_quarantine_open(path, 3, 0);
  assert_true(ingest_quarantine_add(q, INGEST_R_SYNTAX, "1:2: bad \"x\"", "a\\b\n\x01\xff\"", 7));
  for (int i = 0; i < 2500; i++) ingest_quarantine_add(q, INGEST_R_SYNTAX, "again", "x", 1);
  assert_true(ingest_quarantine_add(q, INGEST_R_FRAMES, "3 frames", "y", 1));
  /* 3 first + one in every 1000 after them (the 1003rd and 2003rd) + the frames one */
  assert_int_equal(ingest_quarantine_written(q), 6);
  ingest_quarantine_close(q);
  char *text = slurp(path);
  assert_int_equal(count_lines(text), 6);
  assert_non_null(strstr(text, "reason=syntax error=\"1:2: bad \\\"x\\\"\" bytes=7 raw=a\\\\b\\n\\x01\\xff\\\"\n"));
  assert_non_null(strstr(text, "reason=frames error=\"3 frames\" bytes=1 raw=y\n"));
  unlink(path);
  snprintf(path, sizeof path, "%s/quarantine", dir);
  rmdir(path);
  rmdir(dir);
}

static void on_point(void *arg, struct ingest_batch *b, const struct tsdb_point *p,
                     const struct ingest_error *err) {
  assert_null(err);
  assert_non_null(p);
  assert_false(ingest_batch_full(b));
}

/* The checksum does not depend on the order of points, but on every value; the
 * canonical bytes are as documented. */
static void test_checksum(void **state) {
  char text[] = "m,b=2,a=1 x=1.5,y=2i,s=\"q\\\"\" 10\nm,a=1,b=2 z=t\nn u=3u 12\n";
  char shuffled[] = "n u=3u 12\nm,a=1,b=2 z=t\nm,b=2,a=1 x=1.5,y=2i,s=\"q\\\"\" 10\n";
  struct ingest_batch b1, b2;
  ingest_batch_init(&b1, 0, 77, 1);
  ingest_batch_init(&b2, 0, 77, 1);
  ingest_lp_parse_batch(text, strlen(text), &b1, on_point, NULL, NULL);
  ingest_lp_parse_batch(shuffled, strlen(shuffled), &b2, on_point, NULL, NULL);
  assert_int_equal(b1.n, 3);
  const struct tsdb_point *p1 = b1.points, *p2 = b2.points;
  assert_int_equal(p1[1].ts, 77); /* no timestamp: the batch's default */
  uint64_t s1 = 0, s2 = 0;
  for (size_t i = 0; i < 3; i++) s1 += ingest_point_checksum(&p1[i]);
  for (size_t i = 0; i < 3; i++) s2 += ingest_point_checksum(&p2[i]);
  assert_true(s1 == s2);

  /* one value by hand, as ingest.h defines it */
  struct test_line l;
  struct ingest_error e;
  char one[] = "m,a=1 x=1.5 10";
  assert_int_equal(test_parse_line(one, strlen(one), &l, &e), 0);
  uint64_t seed = XXH3_64bits("m", 1);
  seed = XXH3_64bits_withSeed("a", 1, seed);
  seed = XXH3_64bits_withSeed("1", 1, seed);
  uint64_t k = XXH3_64bits_withSeed("x", 1, seed);
  unsigned char tv[16] = {10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f};
  uint64_t want = XXH3_64bits_withSeed(tv, sizeof tv, k + TSDB_FLOAT);
  struct tsdb_point lp = test_point(&l);
  assert_true(ingest_point_checksum(&lp) == want);
  struct tsdb_tag tag = {{"a", 1}, {"1", 1}};
  struct tsdb_value v = {.type = TSDB_FLOAT, .v.f = 1.5};
  assert_true(ingest_value_checksum("m", 1, &tag, 1, "x", 1, 10, &v) == want);
  v.v.f = 1.5000000000000002;
  assert_true(ingest_value_checksum("m", 1, &tag, 1, "x", 1, 10, &v) != want);
  /* the same bits as another type are another value */
  struct tsdb_value iv = {.type = TSDB_INT};
  memcpy(&iv.v.i, &(double){1.5}, 8);
  assert_true(ingest_value_checksum("m", 1, &tag, 1, "x", 1, 10, &iv) != want);
  /* where a tag's key ends and its value starts matters */
  struct tsdb_tag moved = {{"a1", 2}, {"x", 1}}, orig = {{"a", 1}, {"1x", 2}};
  v.v.f = 1.5;
  assert_true(ingest_value_checksum("m", 1, &moved, 1, "x", 1, 10, &v) !=
              ingest_value_checksum("m", 1, &orig, 1, "x", 1, 10, &v));
  /* a string value is hashed by its bytes */
  struct tsdb_value sv = {.type = TSDB_STRING, .v.s = {"xy", 2}};
  unsigned char stv[16] = {10};
  uint64_t sh = XXH3_64bits("xy", 2);
  memcpy(stv + 8, &sh, 8); /* little-endian host, as the CI's */
  assert_true(ingest_value_checksum("m", 1, &tag, 1, "x", 1, 10, &sv) ==
              XXH3_64bits_withSeed(stv, sizeof stv, k + TSDB_STRING));
  ingest_batch_free(&b1);
  ingest_batch_free(&b2);
}

/* ---- a real feed ---- */

struct sink {
  pthread_mutex_t mu;
  size_t points, writes, cached;
  uint64_t checksum;
};

static void sink_write(void *arg, const struct tsdb_point *pts, size_t n) {
  struct sink *s = arg;
  pthread_mutex_lock(&s->mu);
  s->points += n;
  s->writes++;
  for (size_t i = 0; i < n; i++) s->checksum += ingest_point_checksum(&pts[i]);
  pthread_mutex_unlock(&s->mu);
}

static void sink_cache(void *arg, const char *source, const struct tsdb_point *pts, size_t n) {
  struct sink *s = arg;
  pthread_mutex_lock(&s->mu);
  /* the feed names itself to the cache, whatever its target said */
  if (strncmp(source, "feed:", 5) == 0) s->cached += n;
  pthread_mutex_unlock(&s->mu);
}

static void wait_messages(struct ingest_feed *f, uint64_t n) {
  struct ingest_feed_stats st;
  for (int i = 0; i < 500; i++) {
    ingest_feed_stats(f, &st);
    if (st.messages >= n) return;
    usleep(10000);
  }
  fail_msg("feed saw %llu messages, expected %llu", (unsigned long long)st.messages, (unsigned long long)n);
}

static void test_feed(void **state) {
  char dir[] = "/tmp/vigil-feed-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char ep[128], qpath[128];
  snprintf(ep, sizeof ep, "ipc://%s/sock", dir);
  snprintf(qpath, sizeof qpath, "%s/q/f.log", dir);
  const char *eps[] = {ep};
  struct ingest_feed_opts o = {.name = "f", .socket = INGEST_PULL, .bind = true, .endpoints = eps,
                               .n_endpoints = 1, .seq_field = "seq", .quarantine_path = qpath,
                               .batch_points = 4};
  struct sink s = {.mu = PTHREAD_MUTEX_INITIALIZER};
  struct ingest_target sink = {.sinks = sink_write, .sinks_arg = &s, .cache = sink_cache, .cache_arg = &s};
  struct ingest_feed *f;
  char err[256];
  assert_int_equal(ingest_feed_start(&o, &sink, &f, err, sizeof err), 0);
  assert_string_equal(ingest_feed_name(f), "f");

  void *ctx = zmq_ctx_new(), *push = zmq_socket(ctx, ZMQ_PUSH);
  assert_int_equal(zmq_connect(push, ep), 0);
  char msg[256];
  uint64_t want = 0;
  for (int i = 1; i <= 20; i++) {
    if (i == 7) continue; /* a gap of one */
    int n = snprintf(msg, sizeof msg, "q,sym=A px=%d.5,seq=%di %d\nq,sym=B px=1,seq=%di %d", i, i, i, i, i);
    if (i % 2) {
      assert_int_equal(zmq_send(push, "q", 1, ZMQ_SNDMORE), 1);
    }
    assert_int_equal(zmq_send(push, msg, (size_t)n, 0), n);
    want++;
  }
  zmq_send(push, "q,sym=A px=1 seq=21i", 20, 0); /* bad: the timestamp */
  zmq_send(push, "a", 1, ZMQ_SNDMORE);
  zmq_send(push, "b", 1, ZMQ_SNDMORE);
  zmq_send(push, "c", 1, 0); /* three frames */
  zmq_send(push, "q,sym=C px=1", 12, 0); /* no seq field: stored, counted */
  want += 3;
  wait_messages(f, want);
  usleep(200000); /* the idle flush */
  struct ingest_feed_stats st;
  ingest_feed_stats(f, &st);
  assert_int_equal(st.messages, want);
  assert_int_equal(st.points, 19 * 2 + 1);
  assert_int_equal(st.errors[INGEST_R_SYNTAX], 1);
  assert_int_equal(st.errors[INGEST_R_FRAMES], 1);
  assert_int_equal(st.errors[INGEST_R_SEQ], 1);
  assert_int_equal(st.quarantined, 3);
  assert_int_equal(st.seq.gaps, 2); /* A and B each missed 7 */
  assert_int_equal(st.seq.missed, 2);
  assert_true(st.last_message_ns > 0);
  struct ingest_gap g[4];
  assert_int_equal(ingest_feed_gaps(f, g, 4), 2);
  assert_int_equal(g[0].after, 6);
  assert_int_equal(g[0].got, 8);
  pthread_mutex_lock(&s.mu);
  assert_int_equal(s.points, st.points);
  assert_int_equal(s.cached, st.points);
  assert_true(s.checksum == st.checksum);
  pthread_mutex_unlock(&s.mu);
  zmq_close(push);
  zmq_ctx_term(ctx);
  ingest_feed_stop(f);

  char *text = slurp(qpath);
  assert_int_equal(count_lines(text), 3);
  assert_non_null(strstr(text, "reason=syntax error=\"1:14: invalid timestamp: expected a digit\""));
  assert_non_null(strstr(text, "reason=frames"));
  assert_non_null(strstr(text, "reason=seq"));
  unlink(qpath);
  char p[160];
  snprintf(p, sizeof p, "%s/q", dir);
  rmdir(p);
  rmdir(dir);
}

/* A sink slower than the feed: the feed thread fills its small message buffers many
 * times over while the writer still holds a batch pointing into one, also with
 * messages that make no points. Every point must reach the sink as it was sent (the
 * checksum over the sent lines). */
static void slow_sink_write(void *arg, const struct tsdb_point *pts, size_t n) {
  usleep(2000);
  sink_write(arg, pts, n);
}

static void test_feed_slow_sink(void **state) {
  char dir[] = "/tmp/vigil-feed-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char ep[128];
  snprintf(ep, sizeof ep, "ipc://%s/sock", dir);
  const char *eps[] = {ep};
  struct ingest_feed_opts o = {.name = "slow", .socket = INGEST_PULL, .bind = true,
                               .endpoints = eps, .n_endpoints = 1, .batch_points = 64,
                               .buffer_bytes = 4096};
  struct sink s = {.mu = PTHREAD_MUTEX_INITIALIZER};
  struct ingest_target sink = {.sinks = slow_sink_write, .sinks_arg = &s};
  struct ingest_feed *f;
  char err[256];
  assert_int_equal(ingest_feed_start(&o, &sink, &f, err, sizeof err), 0);
  void *ctx = zmq_ctx_new(), *push = zmq_socket(ctx, ZMQ_PUSH);
  assert_int_equal(zmq_connect(push, ep), 0);
  uint64_t want_sum = 0;
  const int n = 5000;
  for (int i = 0; i < n; i++) {
    char msg[128], copy[128];
    int len = snprintf(msg, sizeof msg, "t,sym=S%d px=%d.25,seq=%di %d", i % 7, i, i, 1000 + i);
    memcpy(copy, msg, (size_t)len);
    struct test_line l;
    struct ingest_error e;
    assert_int_equal(test_parse_line(copy, (size_t)len, &l, &e), 0);
    struct tsdb_point lp = test_point(&l);
    want_sum += ingest_point_checksum(&lp);
    assert_int_equal(zmq_send(push, msg, (size_t)len, 0), len);
    if (i % 500 == 499) {
      /* messages without points (comments) fill whole buffers while the writer still
       * holds the last batch: the feed thread must not go back to that batch's buffer */
      char comment[200];
      memset(comment, 'c', sizeof comment);
      comment[0] = '#';
      for (int k = 0; k < 60; k++) assert_int_equal(zmq_send(push, comment, sizeof comment, 0), 200);
    }
  }
  struct ingest_feed_stats st;
  for (int i = 0; i < 1000; i++) {
    ingest_feed_stats(f, &st);
    if (st.points >= (uint64_t)n) break;
    usleep(10000);
  }
  assert_int_equal(st.points, n);
  assert_true(st.checksum == want_sum);
  pthread_mutex_lock(&s.mu);
  assert_int_equal(s.points, n);
  assert_true(s.checksum == want_sum);
  assert_true(s.writes >= (size_t)n / 64);
  pthread_mutex_unlock(&s.mu);
  zmq_close(push);
  zmq_ctx_term(ctx);
  ingest_feed_stop(f);
  char p[160];
  snprintf(p, sizeof p, "%s/sock", dir);
  unlink(p);
  rmdir(dir);
}

static void test_feed_bad_endpoint(void **state) {
  const char *eps[] = {"tcp://nonsense"};
  struct ingest_feed_opts o = {.name = "x", .socket = INGEST_SUB, .endpoints = eps, .n_endpoints = 1, .bind = true};
  struct ingest_feed *f = NULL;
  char err[256];
  assert_int_equal(ingest_feed_start(&o, NULL, &f, err, sizeof err), -1);
  assert_non_null(strstr(err, "feed x: cannot bind tcp://nonsense"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seq),        cmocka_unit_test(test_seq_many_keys),
      cmocka_unit_test(test_quarantine), cmocka_unit_test(test_checksum),
      cmocka_unit_test(test_feed),       cmocka_unit_test(test_feed_slow_sink),
      cmocka_unit_test(test_feed_bad_endpoint),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
