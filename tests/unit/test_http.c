/* Unit tests of the HTTP request parser and framing (both listeners) and the log tail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/http.h"

static int parse(const char *s, struct http_request *req) {
  char err[128];
  return http_parse_request(s, strlen(s), req, err, sizeof err);
}

static void parses_a_simple_request(void **state) {
  struct http_request r;
  const char *s = "POST /api/v1/services/feed%2Dkraken/restart?n=5&follow=1 HTTP/1.1\r\n"
                  "Host: vigil\r\nContent-Length: 12\r\nAuthorization: Bearer abc\r\n\r\nbody";
  int n = parse(s, &r);
  assert_int_equal(n, (int)(strstr(s, "body") - s));
  assert_string_equal(r.method, "POST");
  assert_string_equal(r.path, "/api/v1/services/feed-kraken/restart");
  assert_string_equal(r.query, "n=5&follow=1");
  assert_int_equal(r.content_length, 12);
  assert_string_equal(r.authorization, "Bearer abc");
  char v[16];
  assert_int_equal(http_query_get(r.query, "n", v, sizeof v), 0);
  assert_string_equal(v, "5");
  assert_int_equal(http_query_get(r.query, "follow", v, sizeof v), 0);
  assert_string_equal(v, "1");
  assert_int_equal(http_query_get(r.query, "fol", v, sizeof v), -1);
}

static void needs_more_until_the_blank_line(void **state) {
  struct http_request r;
  const char *s = "GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n";
  for (size_t i = 0; i < strlen(s); i++) {
    char err[64];
    assert_int_equal(http_parse_request(s, i, &r, err, sizeof err), 0);
  }
  assert_int_equal(parse(s, &r), (int)strlen(s));
}

/* A head still arriving is refused as soon as its request line shows it is not one. */
static void refuses_garbage_before_the_head_ends(void **state) {
  struct {
    const char *part;
    int status;
  } cases[] = {
      {"hello", 400},                      /* not a method */
      {"\x16\x03\x01", 400},               /* a TLS hello */
      {"GET x", 400},                      /* not an absolute path */
      {"GET / HTTP/1.1\n", 400},           /* bare LF */
      {"GET / HTTP/1.1\r,Host: x\r\n", 400}, /* bare CR */
      {"GET / HTTP/3.0\r\nHost: x\r\n", 505},
      {"ABCDEFGHIJKLMNOPQ", 501},
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
    struct http_request r;
    int rc = parse(cases[i].part, &r);
    if (rc != -cases[i].status) fail_msg("case %zu (%s): got %d", i, cases[i].part, rc);
  }
  struct http_request r;
  assert_int_equal(parse("GET /healthz HTTP/1.1\r\nHost: x\r\n", &r), 0); /* fine so far */
  /* a complete head with a bare CR after the version is refused too */
  assert_int_equal(parse("GET / HTTP/1.1\r,Host: x\r\n\r\n", &r), -400);
}

static void frames_head_and_body(void **state) {
  const char *s = "POST /write HTTP/1.1\r\nHost: [::1]:9464\r\nExpect: 100-continue\r\n"
                  "Content-Length: 5\r\n\r\nx v=1NEXT";
  size_t head = (size_t)(strstr(s, "x v=1") - s), hl;
  struct http_request r;
  char err[128];
  for (size_t i = 0; i < head + 5; i++) {
    assert_int_equal(http_frame_request(s, i, &r, &hl, err, sizeof err), 0);
    assert_int_equal(hl, i < head ? 0 : head);
  }
  assert_int_equal(http_frame_request(s, strlen(s), &r, &hl, err, sizeof err), (int)head + 5);
  assert_string_equal(r.host, "[::1]:9464");
  assert_true(r.expect_continue);
  assert_int_equal(r.minor, 1);
  assert_int_equal(http_frame_request("GET / HTTP/1.0\r\nExpect: x\r\n\r\n", 29, &r, &hl, err,
                                      sizeof err), -417);
  assert_int_equal(http_frame_request("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 36, &r,
                                      &hl, err, sizeof err), -400);
}

static void rejects_bad_requests_with_their_status(void **state) {
  struct {
    const char *req;
    int status;
  } cases[] = {
      {"GET /../etc/passwd HTTP/1.0\r\n\r\n", 400},
      {"GET /a/%2e%2e/b HTTP/1.0\r\n\r\n", 400},
      {"GET /a%00b HTTP/1.0\r\n\r\n", 400},
      {"GET /a%zz HTTP/1.0\r\n\r\n", 400},
      {"GET relative HTTP/1.0\r\n\r\n", 400},
      {"GET / HTTP/2.0\r\n\r\n", 505},
      {"GET /\r\n\r\n", 400},
      {"get / HTTP/1.0\r\n\r\n", 400},
      {"VERYLONGMETHODNAME / HTTP/1.0\r\n\r\n", 501},
      {"GET / HTTP/1.0\r\nContent-Length: x\r\n\r\n", 400},
      {"GET / HTTP/1.0\r\nContent-Length: 99999999\r\n\r\n", 413},
      {"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
      {"GET / HTTP/1.0\r\nno colon\r\n\r\n", 400},
      {"GET / HTTP/1.0\r\n: empty\r\n\r\n", 400},
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
    struct http_request r;
    int rc = parse(cases[i].req, &r);
    if (rc != -cases[i].status) fail_msg("case %zu (%s): got %d", i, cases[i].req, rc);
  }
}

static void limits_header_count_and_size(void **state) {
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_puts(&b, "GET / HTTP/1.0\r\n");
  for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++) vg_buf_puts(&b, "X: y\r\n");
  vg_buf_puts(&b, "\r\n");
  struct http_request r;
  assert_int_equal(parse(b.data, &r), -431);
  vg_buf_reset(&b);
  vg_buf_puts(&b, "GET / HTTP/1.0\r\n");
  while (b.len < HTTP_MAX_HEAD + 10) vg_buf_puts(&b, "X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
  char err[64];
  assert_int_equal(http_parse_request(b.data, b.len, &r, err, sizeof err), -431);
  vg_buf_free(&b);
}

static char *write_tmp(const char *dir, const char *name, const char *text) {
  char *path = vg_asprintf("%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

static void tail_reads_the_last_lines_across_rotation(void **state) {
  char dir[] = "/tmp/vigil-tail-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *cur = write_tmp(dir, "s.log", "four\nfive\nsix\n");
  char *old = write_tmp(dir, "s.log.1", "one\ntwo\nthree\n");
  struct vg_buf b;
  vg_buf_init(&b);
  api_tail_file(cur, 2, &b);
  assert_string_equal(b.data, "five\nsix\n");
  vg_buf_reset(&b);
  api_tail_file(cur, 3, &b);
  assert_string_equal(b.data, "four\nfive\nsix\n");
  vg_buf_reset(&b);
  api_tail_file(cur, 5, &b);
  assert_string_equal(b.data, "two\nthree\nfour\nfive\nsix\n");
  vg_buf_reset(&b);
  api_tail_file(cur, 0, &b);
  assert_int_equal(b.len, 0);
  vg_buf_free(&b);
  unlink(cur);
  unlink(old);
  rmdir(dir);
  free(cur);
  free(old);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parses_a_simple_request),
      cmocka_unit_test(needs_more_until_the_blank_line),
      cmocka_unit_test(refuses_garbage_before_the_head_ends),
      cmocka_unit_test(frames_head_and_body),
      cmocka_unit_test(rejects_bad_requests_with_their_status),
      cmocka_unit_test(limits_header_count_and_size),
      cmocka_unit_test(tail_reads_the_last_lines_across_rotation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
