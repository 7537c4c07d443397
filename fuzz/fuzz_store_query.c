/*
 * libFuzzer target for the series selectors users type into `vigil query` and
 * /api/v1/query (store_parse_selector), one per line of the input. Times and durations
 * have their own target, fuzz_time.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/store_api.h"
#include "tsdb/tsdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  char *s = malloc(len + 1);
  memcpy(s, data, len);
  s[len] = 0;
  for (char *line = s, *next; line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    char buf[512];
    const char *m;
    struct tsdb_tag tags[8];
    size_t n;
    if (store_parse_selector(line, buf, sizeof buf, &m, tags, 8, &n) == 0) {
      if (!*m || n > 8) abort();
      for (size_t i = 0; i < n; i++)
        if (!tags[i].key.len || !tags[i].value.len) abort();
    }
  }
  free(s);
  return 0;
}
