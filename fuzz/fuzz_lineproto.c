/*
 * libFuzzer target for the line-protocol decoder (src/ingest/lineproto.c). The input,
 * copied to an exact-size buffer so that any over-read is caught, is decoded as one
 * line and, from a second copy, as a batch of store points (a small batch, reset each
 * time it is full). Every decoded string must lie inside the buffer, every error must
 * name a column inside the line (or just past it), and the single-line and batch
 * decoders must agree on an input without line breaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

static void check(int cond) {
  if (!cond) abort();
}

static void check_str(struct tsdb_str s, const char *b, size_t n) {
  check(s.p >= b && s.len <= n && s.p + s.len <= b + n);
}

static void check_line(const struct tsdb_point *l, const char *b, size_t n) {
  check(l->measurement.len > 0);
  check_str(l->measurement, b, n);
  check(l->n_tags <= INGEST_MAX_TAGS);
  check(l->n_fields >= 1 && l->n_fields <= INGEST_MAX_FIELDS);
  for (size_t i = 0; i < l->n_tags; i++) {
    check(l->tags[i].key.len > 0 && l->tags[i].value.len > 0);
    check_str(l->tags[i].key, b, n);
    check_str(l->tags[i].value, b, n);
    if (i) {
      struct tsdb_str a = l->tags[i - 1].key, c = l->tags[i].key;
      int r = memcmp(a.p, c.p, a.len < c.len ? a.len : c.len);
      check(r < 0 || (r == 0 && a.len < c.len)); /* sorted, no duplicates */
    }
  }
  for (size_t i = 0; i < l->n_fields; i++) {
    const struct tsdb_field *f = &l->fields[i];
    check(f->key.len > 0);
    check_str(f->key, b, n);
    check(f->value.type <= TSDB_STRING);
    if (f->value.type == TSDB_STRING) check_str(f->value.v.s, b, n);
    if (f->value.type == TSDB_FLOAT) check(f->value.v.f - f->value.v.f == 0); /* finite */
  }
}

struct ctx {
  const char *b;
  size_t n, ok, bad;
};

static void on_line(void *arg, struct ingest_batch *bt, const struct tsdb_point *line,
                    const struct ingest_error *err) {
  struct ctx *c = arg;
  check((line == NULL) != (err == NULL));
  if (line) {
    check(line == &bt->points[bt->n - 1]);
    check_line(line, c->b, c->n);
    c->ok++;
  } else {
    check(err->line >= 1 && err->col >= 1 && err->msg[0] != '\0');
    check(memchr(err->msg, '\0', sizeof err->msg) != NULL);
    c->bad++;
  }
  if (ingest_batch_full(bt)) ingest_batch_reset(bt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct tsdb_point line;
  struct tsdb_tag tags[INGEST_MAX_TAGS];
  struct tsdb_field fields[INGEST_MAX_FIELDS];
  bool has_ts;
  struct ingest_error err;
  char *b = malloc(size ? size : 1);
  int rc;

  memcpy(b, data, size);
  rc = ingest_lp_parse_line(b, size, &line, tags, fields, &has_ts, &err);
  check(rc >= -1 && rc <= 1);
  if (rc == 0) check_line(&line, b, size);
  if (rc == -1) {
    check(err.line == 1 && err.col >= 1 && err.col <= size + 1);
    check(memchr(err.msg, '\0', sizeof err.msg) != NULL && err.msg[0] != '\0');
  }

  memcpy(b, data, size);
  struct ctx c = {b, size, 0, 0};
  size_t rejected;
  struct ingest_batch bt;
  ingest_batch_init(&bt, 3, 0, 1);
  size_t ok = ingest_lp_parse_batch(b, size, &bt, on_line, &c, &rejected);
  ingest_batch_free(&bt);
  check(ok == c.ok && rejected == c.bad);
  if (!memchr(data, '\n', size)) {
    /* one line (a trailing '\r' aside): the batch must agree with the single decoder */
    bool cr = size > 0 && data[size - 1] == '\r';
    if (!cr) check(ok == (rc == 0) && rejected == (rc == -1));
  }
  free(b);
  return 0;
}
