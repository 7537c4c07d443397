/*
 * Diagnostics: the list of problems found in a config, each with a position, and
 * the "did you mean" suggestion used by the messages about unknown names.
 */
#include "config/config_int.h"
#include "core/core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Messages quote text from the file; keep each on one line and of sane length. */
#define MAX_MSG 400

void cfg_diags_init(struct cfg_diags *d) {
  d->items = NULL;
  d->n = d->cap = 0;
}

void cfg_diags_free(struct cfg_diags *d) {
  for (size_t i = 0; i < d->n; i++) free(d->items[i].msg);
  free(d->items);
  cfg_diags_init(d);
}

static char *sanitize(const char *s) {
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_reserve(&b, strlen(s));
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (b.len >= MAX_MSG && (*p & 0xc0) != 0x80) {
      vg_buf_puts(&b, "...");
      break;
    }
    if (*p == '\n') vg_buf_puts(&b, "\\n");
    else if (*p == '\t') vg_buf_puts(&b, "\\t");
    else if (*p < 0x20 || *p == 0x7f) vg_buf_printf(&b, "\\x%02x", *p);
    else vg_buf_putc(&b, (char)*p);
  }
  return b.data;
}

void cfg_diag_add(struct cfg_diags *d, struct cfg_pos pos, const char *fmt, ...) {
  if (d->n == d->cap) {
    d->cap = d->cap ? 2 * d->cap : 8;
    d->items = vg_realloc(d->items, d->cap * sizeof *d->items);
  }
  va_list ap;
  va_start(ap, fmt);
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  d->items[d->n].pos = pos;
  d->items[d->n].msg = sanitize(b.data ? b.data : "");
  d->n++;
  vg_buf_free(&b);
}

void cfg_diags_print(const struct cfg_diags *d, const char *file, void *stream) {
  FILE *f = stream;
  for (size_t i = 0; i < d->n; i++) {
    const struct cfg_diag *g = &d->items[i];
    if (g->pos.line > 0) fprintf(f, "%s:%d:%d: %s\n", file, g->pos.line, g->pos.col, g->msg);
    else fprintf(f, "%s: %s\n", file, g->msg);
  }
}

struct ranked {
  struct cfg_diag d;
  size_t i;
};

static int ranked_cmp(const void *pa, const void *pb) {
  const struct ranked *a = pa, *b = pb;
  if (a->d.pos.line != b->d.pos.line) return a->d.pos.line < b->d.pos.line ? -1 : 1;
  if (a->d.pos.col != b->d.pos.col) return a->d.pos.col < b->d.pos.col ? -1 : 1;
  return a->i < b->i ? -1 : a->i > b->i;
}

void cfg__diags_sort(struct cfg_diags *d, size_t from) {
  if (d->n <= from + 1) return;
  size_t n = d->n - from;
  struct ranked *r = vg_malloc(n * sizeof *r);
  for (size_t i = 0; i < n; i++) r[i] = (struct ranked){d->items[from + i], i};
  qsort(r, n, sizeof *r, ranked_cmp);
  for (size_t i = 0; i < n; i++) d->items[from + i] = r[i].d;
  free(r);
}

/* A word is suggested when it is within 2 edits, or within a third of the length of
 * what was typed, and the edits do not replace the whole of it. */
const char *cfg__suggest(const char *word, const char *const *words, size_t n) {
  size_t len = strlen(word);
  size_t cap = len / 3 > 2 ? len / 3 : 2;
  if (cap >= len) cap = len ? len - 1 : 0;
  const char *best = NULL;
  size_t best_d = cap + 1;
  for (size_t i = 0; i < n; i++) {
    size_t dist = vg_edit_distance(word, words[i], cap);
    if (dist < best_d) {
      best = words[i];
      best_d = dist;
    }
  }
  return best;
}
