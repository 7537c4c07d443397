/* lp_encode — tsdb points to line protocol (see lp_encode.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/lp_encode.h"

static void esc(struct vg_buf *b, const char *p, size_t n, const char *special) {
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    if (!strchr(special, p[i]) || !p[i]) continue;
    vg_buf_append(b, p + start, i - start);
    vg_buf_putc(b, '\\');
    vg_buf_putc(b, p[i]);
    start = i + 1;
  }
  vg_buf_append(b, p + start, n - start);
}

size_t sink_lp_encode(struct vg_buf *out, const struct tsdb_point *pts, size_t n) {
  size_t lines = 0;
  for (size_t i = 0; i < n; i++) {
    const struct tsdb_point *p = &pts[i];
    size_t mark = out->len;
    esc(out, p->measurement.p, p->measurement.len, ", ");
    for (size_t t = 0; t < p->n_tags; t++) {
      vg_buf_putc(out, ',');
      esc(out, p->tags[t].key.p, p->tags[t].key.len, ",= ");
      vg_buf_putc(out, '=');
      esc(out, p->tags[t].value.p, p->tags[t].value.len, ",= ");
    }
    size_t fields = 0;
    for (size_t f = 0; f < p->n_fields; f++) {
      const struct tsdb_value *v = &p->fields[f].value;
      if (v->type == TSDB_FLOAT && !isfinite(v->v.f)) continue;
      vg_buf_putc(out, fields++ ? ',' : ' ');
      esc(out, p->fields[f].key.p, p->fields[f].key.len, ",= ");
      vg_buf_putc(out, '=');
      switch (v->type) {
      case TSDB_FLOAT: vg_buf_double(out, v->v.f); break;
      case TSDB_INT: vg_buf_printf(out, "%lldi", (long long)v->v.i); break;
      case TSDB_UINT: vg_buf_printf(out, "%lluu", (unsigned long long)v->v.u); break;
      case TSDB_BOOL: vg_buf_putc(out, v->v.b ? 't' : 'f'); break;
      case TSDB_STRING:
        vg_buf_putc(out, '"');
        esc(out, v->v.s.p, v->v.s.len, "\"\\");
        vg_buf_putc(out, '"');
        break;
      }
    }
    if (!fields) {
      out->len = mark; /* nothing line protocol can carry */
      if (out->data) out->data[mark] = 0;
      continue;
    }
    vg_buf_printf(out, " %lld\n", (long long)p->ts);
    lines++;
  }
  return lines;
}
