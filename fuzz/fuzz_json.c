/*
 * libFuzzer target for the JSON decoder (src/ingest/json.c). The input, copied to an
 * exact-size buffer so that any over-read is caught, is decoded twice: with the default
 * mapping (measurement/time members, "tags" and "fields" objects, every other member a
 * field) and with a flat mapping (tag keys, int keys, a fixed measurement). Every
 * decoded string must lie inside the buffer, tags must be sorted and distinct, floats
 * finite, every error must name a line and column inside the input (or just past it),
 * and the counts returned must match the callbacks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

static void check(int cond) {
  if (!cond) abort();
}

struct ctx {
  const char *b;
  size_t n, ok, bad, lines;
  const char *fixed; /* the map's fixed measurement, which lies outside b */
};

static void check_str(const struct ctx *c, struct tsdb_str s) {
  check(s.p >= c->b && s.len <= c->n && s.p + s.len <= c->b + c->n);
}

static void on_point(void *arg, struct ingest_batch *bt, const struct tsdb_point *l,
                     const struct ingest_error *err) {
  struct ctx *c = arg;
  check((l == NULL) != (err == NULL));
  if (err) {
    check(err->line >= 1 && err->line <= c->lines && err->col >= 1 && err->col <= c->n + 1);
    check(err->msg[0] != '\0' && memchr(err->msg, '\0', sizeof err->msg) != NULL);
    c->bad++;
    if (ingest_batch_full(bt)) ingest_batch_reset(bt);
    return;
  }
  check(l == &bt->points[bt->n - 1]);
  check(l->measurement.len > 0);
  if (l->measurement.p != c->fixed) check_str(c, l->measurement);
  check(l->n_tags <= INGEST_MAX_TAGS);
  check(l->n_fields >= 1 && l->n_fields <= INGEST_MAX_FIELDS);
  for (size_t i = 0; i < l->n_tags; i++) {
    check(l->tags[i].key.len > 0 && l->tags[i].value.len > 0);
    check_str(c, l->tags[i].key);
    check_str(c, l->tags[i].value);
    if (i) {
      struct tsdb_str a = l->tags[i - 1].key, b = l->tags[i].key;
      int r = memcmp(a.p, b.p, a.len < b.len ? a.len : b.len);
      check(r < 0 || (r == 0 && a.len < b.len));
    }
  }
  for (size_t i = 0; i < l->n_fields; i++) {
    const struct tsdb_field *f = &l->fields[i];
    check(f->key.len > 0);
    check_str(c, f->key);
    check(f->value.type <= TSDB_STRING);
    if (f->value.type == TSDB_STRING) check_str(c, f->value.v.s);
    if (f->value.type == TSDB_FLOAT) check(f->value.v.f - f->value.v.f == 0);
  }
  c->ok++;
  if (ingest_batch_full(bt)) ingest_batch_reset(bt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const tags[] = {"sym", "venue"};
  static const char *const ints[] = {"seq", "size"};
  static const char fixed[] = "ticks";
  const struct ingest_json_map maps[] = {
      {0},
      {.measurement = fixed, .time_key = "ts", .tag_keys = tags, .n_tag_keys = 2, .int_keys = ints,
       .n_int_keys = 2},
  };
  char *b = malloc(size ? size : 1);
  size_t lines = 1;
  for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
  for (size_t m = 0; m < sizeof maps / sizeof maps[0]; m++) {
    memcpy(b, data, size);
    struct ctx c = {b, size, 0, 0, lines, fixed};
    size_t rejected;
    struct ingest_batch bt; /* small, and at a precision that can overflow (ms) */
    ingest_batch_init(&bt, 3, 0, m ? 1000000 : 1);
    size_t ok = ingest_json_parse(b, size, &maps[m], &bt, on_point, &c, &rejected);
    ingest_batch_free(&bt);
    check(ok == c.ok && rejected == c.bad);
  }
  free(b);
  return 0;
}
