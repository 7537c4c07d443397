/* col — growable (timestamp, value) columns of one type: the head of a series and the
 * decoded form of a chunk share this shape. */
#include <string.h>

#include "tsdb/tsdb_int.h"

size_t tsdb__type_size(enum tsdb_type t) {
  switch (t) {
  case TSDB_FLOAT: return sizeof(double);
  case TSDB_INT: return sizeof(int64_t);
  case TSDB_UINT: return sizeof(uint64_t);
  case TSDB_BOOL: return sizeof(uint8_t);
  case TSDB_STRING: return sizeof(struct tsdb_str);
  }
  return 8;
}

void tsdb__col_init(struct tsdb__col *c, bool owns_strings) {
  memset(c, 0, sizeof *c);
  c->owns_strings = owns_strings;
}

void tsdb__col_free(struct tsdb__col *c, enum tsdb_type t) {
  if (t == TSDB_STRING && c->owns_strings)
    for (size_t i = 0; i < c->n; i++) free((void *)c->v.s[i].p);
  free(c->ts);
  free(c->v.any);
  bool owns = c->owns_strings;
  tsdb__col_init(c, owns);
}

void tsdb__col_clear(struct tsdb__col *c, enum tsdb_type t) {
  if (t == TSDB_STRING && c->owns_strings)
    for (size_t i = 0; i < c->n; i++) free((void *)c->v.s[i].p);
  c->n = 0;
}

void tsdb__col_reserve(struct tsdb__col *c, enum tsdb_type t, size_t extra) {
  if (c->n + extra <= c->cap) return;
  size_t cap = c->cap ? c->cap : 64;
  while (cap < c->n + extra) cap *= 2;
  c->ts = vg_realloc(c->ts, cap * sizeof *c->ts);
  c->v.any = vg_realloc(c->v.any, cap * tsdb__type_size(t));
  c->cap = cap;
}

static void grow(struct tsdb__col *c, enum tsdb_type t) { tsdb__col_reserve(c, t, 1); }

void tsdb__col_push(struct tsdb__col *c, enum tsdb_type t, int64_t ts, const struct tsdb_value *v) {
  if (c->n == c->cap) grow(c, t);
  size_t i = c->n++;
  c->ts[i] = ts;
  switch (t) {
  case TSDB_FLOAT: c->v.f[i] = v->v.f; break;
  case TSDB_INT: c->v.i[i] = v->v.i; break;
  case TSDB_UINT: c->v.u[i] = v->v.u; break;
  case TSDB_BOOL: c->v.b[i] = v->v.b; break;
  case TSDB_STRING:
    if (c->owns_strings) {
      char *p = vg_malloc(v->v.s.len + 1);
      memcpy(p, v->v.s.p, v->v.s.len);
      p[v->v.s.len] = 0;
      c->v.s[i] = (struct tsdb_str){p, v->v.s.len};
    } else {
      c->v.s[i] = v->v.s;
    }
    break;
  }
}

void tsdb__col_get(const struct tsdb__col *c, enum tsdb_type t, size_t i, struct tsdb_value *v) {
  v->type = t;
  switch (t) {
  case TSDB_FLOAT: v->v.f = c->v.f[i]; break;
  case TSDB_INT: v->v.i = c->v.i[i]; break;
  case TSDB_UINT: v->v.u = c->v.u[i]; break;
  case TSDB_BOOL: v->v.b = c->v.b[i] != 0; break;
  case TSDB_STRING: v->v.s = c->v.s[i]; break;
  }
}
