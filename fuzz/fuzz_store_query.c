/*
 * libFuzzer target for what users type into `vigil query` and /api/v1/query: series
 * selectors (store_parse_selector), one per line of the input; then every seven lines
 * are the arguments of one query (q, field, from, to, every, agg, limit; an empty line:
 * absent) for store_query_parse, the parser the route and the CLI share. Times and
 * durations alone have their own target, fuzz_time.c.
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
  /* the lines again (NUL-ended now), seven at a time, as a query's arguments */
  size_t n_lines = 0;
  const char **lines = malloc((len + 1) * sizeof *lines);
  for (const char *p = s; p <= s + len; p += strlen(p) + 1) lines[n_lines++] = p;
  for (size_t i = 0; i < n_lines; i += 7) {
    const char *arg[7] = {0};
    for (size_t k = 0; k < 7 && i + k < n_lines; k++) arg[k] = *lines[i + k] ? lines[i + k] : NULL;
    struct store_query_args a = {arg[0], arg[1], arg[2], arg[3], arg[4], arg[5], arg[6], false};
    struct store_query q;
    char err[300] = "";
    if (store_query_parse(&a, &q, err, sizeof err) == 0) {
      if (!q.q.measurement || !*q.q.measurement || q.q.every_ns < 0 || q.q.agg >= TSDB__AGG_N ||
          (q.q.agg && !q.q.every_ns) || q.q.n_tags > 32 || q.q.to <= q.q.from)
        abort();
    } else if (!err[0]) {
      abort(); /* a refusal always says why */
    }
  }
  free(lines);
  free(s);
  return 0;
}
