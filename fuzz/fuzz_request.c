/* libFuzzer target: the HTTP request framing both listeners use (request.c): the head
 * parser, early refusal of a bad request line, the Content-Length body, and the query
 * lookup. Besides memory safety it checks that a request which frames completely is
 * never refused on any prefix (a client sending it slowly must not get an error), that
 * the framed length is head + body, and that traversal never gets through. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Frames an exact-size heap copy of data[0..n), so reading one byte too far trips ASan. */
static int frame(const uint8_t *data, size_t n, struct http_request *req, size_t *head_len) {
  char *buf = malloc(n ? n : 1);
  if (n) memcpy(buf, data, n);
  char err[160];
  int rc = http_frame_request(buf, n, req, head_len, err, sizeof err);
  if (rc < 0 && (rc < -599 || rc > -400 || !err[0])) abort(); /* a 4xx/5xx with a reason */
  free(buf);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct http_request req;
  size_t head_len;
  int rc = frame(data, size, &req, &head_len);
  if (rc > 0) {
    if ((size_t)rc > size || (size_t)rc != head_len + req.content_length) abort();
    if (req.content_length > HTTP_MAX_BODY || head_len > HTTP_MAX_HEAD) abort();
    if (req.path[0] != '/' || strstr(req.path, "/..") || strstr(req.path, "//")) abort();
    if (req.minor != 0 && req.minor != 1) abort();
    char v[64];
    http_query_get(req.query, "n", v, sizeof v);
    http_query_get(req.query, "follow", v, sizeof v);
    /* every prefix of a complete request asks for more, never refuses */
    for (size_t k = 0; k <= 40; k++) {
      size_t cut = k < 32 ? (size_t)rc * k / 32 : (size_t)rc - (40 - k) % (size_t)rc;
      if (k == 33) cut = head_len > 0 ? head_len - 1 : 0;
      if (k == 34) cut = head_len;
      if (cut >= (size_t)rc) continue;
      struct http_request r2;
      size_t h2;
      if (frame(data, cut, &r2, &h2) != 0) abort();
      if (h2 && h2 != head_len) abort();
    }
  } else if (rc == 0 && head_len > size) {
    abort();
  }
  return 0;
}
