/*
 * The exposition: Prometheus text format 0.0.4 or OpenMetrics 1.0.0, one pass over
 * the sorted families and series. Label sets were escaped when each series was
 * created, the le values when each histogram was registered, so a scrape is mostly
 * copying and formatting numbers.
 *
 * Text 0.0.4                              OpenMetrics 1.0.0
 *   # HELP x_total Requests.                # TYPE x counter
 *   # TYPE x_total counter                  # HELP x Requests.
 *   x_total{code="200"} 3                   x_total{code="200"} 3
 *                                           # EOF
 */
#include "metrics/metrics_int.h"

#include <string.h>

static void put(struct vg_buf *b, const char *s, size_t n) {
  memcpy(b->data + b->len, s, n);
  b->len += n;
}

static void put_value(struct vg_buf *b, double v) {
  char num[MT__NUM_MAX];
  put(b, num, mt__fmt_value(v, num));
}

static void put_u64(struct vg_buf *b, uint64_t u) {
  char num[MT__NUM_MAX];
  put(b, num, mt__fmt_u64(u, num));
}

static void render_metadata(const struct mt_family *f, bool om, struct vg_buf *out) {
  const char *name = om ? f->om_name : f->name;
  const char *type = mt_type_name(f->type);
  if (om) vg_buf_printf(out, "# TYPE %s %s\n", name, type);
  if (f->help) {
    vg_buf_printf(out, "# HELP %s ", name);
    mt__escape_help(out, f->help, om);
    vg_buf_putc(out, '\n');
  }
  if (!om) vg_buf_printf(out, "# TYPE %s %s\n", name, type);
}

/* name{labels} value, for counters and gauges. The sizes reserved below bound what
 * put() writes: the name, the label text, braces, space, number and newline. */
static void render_scalar(const struct mt_family *f, struct vg_buf *out) {
  size_t nlen = strlen(f->name);
  for (size_t i = 0; i < f->n_series; i++) {
    const struct mt_series *s = f->series[i];
    vg_buf_reserve(out, nlen + s->labels_len + 4 + MT__NUM_MAX);
    put(out, f->name, nlen);
    if (s->labels_len) {
      put(out, "{", 1);
      put(out, s->labels, s->labels_len);
      put(out, "}", 1);
    }
    put(out, " ", 1);
    put_value(out, mt_value(s));
    put(out, "\n", 1);
    out->data[out->len] = '\0';
  }
}

static void render_histogram(const struct mt_family *f, bool om, struct vg_buf *out) {
  size_t nlen = strlen(f->name);
  char *const *le = om ? f->le_om : f->le_text;
  for (size_t i = 0; i < f->n_series; i++) {
    const struct mt_series *s = f->series[i];
    uint64_t cum = 0;
    for (size_t k = 0; k <= f->n_bounds; k++) {
      cum += atomic_load_explicit((_Atomic uint64_t *)&s->buckets[k], memory_order_relaxed);
      size_t lelen = strlen(le[k]);
      vg_buf_reserve(out, nlen + s->labels_len + lelen + 24 + MT__NUM_MAX);
      put(out, f->name, nlen);
      put(out, "_bucket{", 8);
      if (s->labels_len) {
        put(out, s->labels, s->labels_len);
        put(out, ",", 1);
      }
      put(out, "le=\"", 4);
      put(out, le[k], lelen);
      put(out, "\"} ", 3);
      put_u64(out, cum);
      put(out, "\n", 1);
    }
    static const char *const tails[2] = {"_sum", "_count"};
    for (int t = 0; t < 2; t++) {
      size_t tlen = strlen(tails[t]);
      vg_buf_reserve(out, nlen + tlen + s->labels_len + 4 + MT__NUM_MAX);
      put(out, f->name, nlen);
      put(out, tails[t], tlen);
      if (s->labels_len) {
        put(out, "{", 1);
        put(out, s->labels, s->labels_len);
        put(out, "}", 1);
      }
      put(out, " ", 1);
      if (t == 0)
        put_value(out, mt__bits_to_double(atomic_load_explicit(
                           (_Atomic uint64_t *)&s->value, memory_order_relaxed)));
      else
        put_u64(out, cum);
      put(out, "\n", 1);
    }
    out->data[out->len] = '\0';
  }
}

void mt_render(struct mt_registry *r, enum mt_format fmt, struct vg_buf *out) {
  VG_ASSERT(r && out);
  bool om = fmt == MT_FORMAT_OPENMETRICS;
  mt__run_collectors(r);
  mt__lock(r);
  for (size_t i = 0; i < r->n_fams; i++) {
    const struct mt_family *f = r->fams[i];
    render_metadata(f, om, out);
    if (f->type == MT_HISTOGRAM) render_histogram(f, om, out);
    else render_scalar(f, out);
  }
  mt__unlock(r);
  if (om) vg_buf_puts(out, "# EOF\n");
}
