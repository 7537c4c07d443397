/*
 * libFuzzer target: the latest-value cache's parsers and matchers — keys, aliases and
 * globs given by users (cache_each, cache_get, documents' key lists), documents set as
 * JSON by bridges (cache_doc_set), and rendering. The first line is a document's key
 * list (space-separated keys, aliases or globs); then one operation per line:
 *   p KEY VALUE   put (a number, else a string)
 *   g GLOB        match and get
 *   d NAME JSON   set a document whole
 *   r NAME        render a document
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"
#include "config/config.h"
#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool count(void *arg, const struct cache_entry *e) {
  ++*(size_t *)arg;
  return e->key != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';
  char *save = NULL, *line = strtok_r(text, "\n", &save);
  char *keys[9] = {0};
  size_t nk = 0;
  if (line) {
    char *s2 = NULL;
    for (char *k = strtok_r(line, " ", &s2); k && nk < 8; k = strtok_r(NULL, " ", &s2))
      keys[nk++] = k;
  }
  if (!nk) keys[nk++] = "*";
  struct cfg_cache_alias al = {.name = "al", .key = keys[0]};
  struct cfg_cache_doc d = {.name = "doc", .keys = keys, .critical = keys, .fresh_ms = 1000,
                            .ready_flag = "_ok"};
  struct cfg_cache cfg = {.max_keys = 64, .aliases = &al, .n_aliases = 1, .docs = &d, .n_docs = 1};
  struct cache *c;
  char err[200];
  if (cache_open(&cfg, NULL, &c, err, sizeof err) < 0) abort();
  int64_t ts = 0;
  for (line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char op = line[0];
    char *arg = line[0] ? line + 1 : line;
    while (*arg == ' ') arg++;
    char *sp = strchr(arg, ' ');
    if (sp) *sp++ = '\0';
    if (op == 'p' && sp) {
      char *end;
      double f = strtod(sp, &end);
      struct tsdb_value v = *end ? (struct tsdb_value){.type = TSDB_STRING,
                                                        .v.s = {sp, strlen(sp) > 4096 ? 4096 : strlen(sp)}}
                                 : (struct tsdb_value){.type = TSDB_FLOAT, .v.f = f};
      cache_put(c, arg, &v, ts++ % 7, "fuzz");
    } else if (op == 'g') {
      size_t n = 0;
      (void)cache_each(c, arg, count, &n);
      struct cache_entry e;
      if (cache_get(c, arg, &e) == 0) cache_entry_clear(&e);
      (void)cache_age(c, arg);
    } else if (op == 'd' && sp) {
      (void)cache_doc_set(c, arg, sp, strlen(sp), ts++ % 5, "fuzz", 0);
    } else if (op == 'r') {
      free(cache_doc_render(c, arg));
      (void)cache_doc_age(c, arg);
    }
  }
  free(cache_doc_render(c, "doc"));
  cache_close(&c);
  free(text);
  return 0;
}
