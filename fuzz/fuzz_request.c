/* libFuzzer target: the control socket's HTTP request-head parser and query lookup. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* an exact-size heap copy, so reading one byte too far trips ASan */
  char *buf = malloc(size ? size : 1);
  if (size) memcpy(buf, data, size);
  struct http_request req;
  char err[128];
  int rc = http_parse_request(buf, size, &req, err, sizeof err);
  if (rc > 0) {
    if ((size_t)rc > size) abort();
    char v[64];
    http_query_get(req.query, "n", v, sizeof v);
    http_query_get(req.query, "follow", v, sizeof v);
    if (strstr(req.path, "/..")) abort(); /* traversal must never get through */
  }
  free(buf);
  return 0;
}
