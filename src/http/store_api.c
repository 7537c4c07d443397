/*
 * store_api — the store's routes: argument parsing and rendering around the store's own
 * functions (tsdb.h). The renderers and the query's argument parser are shared with the
 * CLI, which calls the store directly when no daemon runs, so the answers are identical
 * either way.
 *
 *   GET  /api/v1/query?q=MEAS[,tag=v...]&field=F&from=T&to=T&every=D&agg=A&limit=N&format=F
 *   GET  /api/v1/query/last?q=...&field=F&format=F
 *   GET  /api/v1/store/fingerprint?q=...&field=F&from=T&to=T   (tsdb_fingerprint)
 *   GET  /api/v1/store/stats?format=json|table
 *   POST /api/v1/store/compact          flush the head, compact, apply retention, rollups
 *   POST /api/v1/store/retention        apply retention now
 *   POST /api/v1/store/import?precision=ns|us|ms|s   body: line protocol
 *   POST /write?precision=...           the same, InfluxDB 1.x compatible (204)
 *
 * format is json (default), csv or table. Times as in vg_time_parse (core/vtime.h);
 * from must be before to (except for the last values).
 *
 * Store work can be long (a compaction, an import, a query of millions of values): when
 * the transport allows it (resp->defer_loop), a route runs on the loop's thread pool and
 * the transport sends the answer when it is done (http_job_submit), so the loop keeps
 * serving everything else meanwhile.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "http/store_api.h"
#include "ingest/ingest.h"

static void err_json(struct http_response *r, int status, const char *msg) {
  r->status = status;
  r->content_type = "application/json";
  vg_buf_reset(&r->body);
  vg_buf_puts(&r->body, "{\"error\": ");
  vg_buf_json_str(&r->body, msg);
  vg_buf_puts(&r->body, "}\n");
}

/* ---- the selector: measurement[,tag=value...], backslash escapes ---- */
int store_parse_selector(const char *s, char *buf, size_t buflen, const char **measurement,
                         struct tsdb_tag *tags, size_t max_tags, size_t *n_tags) {
  size_t o = 0;
  *n_tags = 0;
  char *part = buf;
  char *key_end = NULL;
  bool first = true;
  for (const char *p = s;; p++) {
    char c = *p;
    bool end = c == 0 || c == ',';
    if (c == '\\' && p[1]) c = *++p;
    else if (end) {
      if (o >= buflen) return -1;
      buf[o++] = 0;
      if (first) {
        *measurement = part;
        if (!*part) return -1;
        first = false;
      } else {
        if (!key_end || *n_tags == max_tags || key_end == part || !key_end[1]) return -1;
        tags[*n_tags].key = (struct tsdb_str){part, (size_t)(key_end - part)};
        tags[*n_tags].value = (struct tsdb_str){key_end + 1, strlen(key_end + 1)};
        (*n_tags)++;
      }
      if (*p == 0) return 0;
      part = buf + o;
      key_end = NULL;
      continue;
    } else if (c == '=' && !first && !key_end) {
      if (o >= buflen) return -1;
      key_end = buf + o;
      buf[o++] = 0;
      continue;
    }
    if (o >= buflen) return -1;
    buf[o++] = c;
  }
}

/* Shortest decimal that reads back as the same double. */
static void put_double(struct vg_buf *b, double v, bool json) {
  if (isnan(v) || isinf(v)) {
    vg_buf_puts(b, json ? (isnan(v) ? "\"NaN\"" : v > 0 ? "\"+Inf\"" : "\"-Inf\"")
                        : (isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf"));
    return;
  }
  vg_buf_double(b, v);
}

static void put_value(struct vg_buf *b, const struct tsdb_value *v, bool json) {
  switch (v->type) {
  case TSDB_FLOAT: put_double(b, v->v.f, json); break;
  case TSDB_INT: vg_buf_printf(b, "%lld", (long long)v->v.i); break;
  case TSDB_UINT: vg_buf_printf(b, "%llu", (unsigned long long)v->v.u); break;
  case TSDB_BOOL: vg_buf_puts(b, v->v.b ? "true" : "false"); break;
  case TSDB_STRING:
    if (json) {
      char *t = vg_strndup(v->v.s.p, v->v.s.len);
      vg_buf_json_str(b, t);
      free(t);
    } else {
      vg_buf_append(b, v->v.s.p, v->v.s.len);
    }
    break;
  }
}

static void series_name(struct vg_buf *b, const struct tsdb_series_data *d) {
  vg_buf_puts(b, d->measurement);
  for (size_t i = 0; i < d->n_tags; i++) vg_buf_printf(b, ",%s=%s", d->tags[i].key.p, d->tags[i].value.p);
}

static void csv_field(struct vg_buf *b, const char *s) {
  if (!strpbrk(s, ",\"\n\r")) {
    vg_buf_puts(b, s);
    return;
  }
  vg_buf_putc(b, '"');
  for (; *s; s++) {
    if (*s == '"') vg_buf_putc(b, '"');
    vg_buf_putc(b, *s);
  }
  vg_buf_putc(b, '"');
}

void store_render_result(const struct tsdb_result *r, enum store_format f, uint64_t elapsed_ns,
                         struct vg_buf *b) {
  char t[48];
  if (f == STORE_JSON) {
    vg_buf_puts(b, "{\"series\": [");
    for (size_t i = 0; i < r->n_series; i++) {
      const struct tsdb_series_data *d = &r->series[i];
      vg_buf_puts(b, i ? ",\n  {\"measurement\": " : "\n  {\"measurement\": ");
      vg_buf_json_str(b, d->measurement);
      vg_buf_puts(b, ", \"tags\": {");
      for (size_t k = 0; k < d->n_tags; k++) {
        if (k) vg_buf_puts(b, ", ");
        vg_buf_json_str(b, d->tags[k].key.p);
        vg_buf_puts(b, ": ");
        vg_buf_json_str(b, d->tags[k].value.p);
      }
      vg_buf_puts(b, "}, \"field\": ");
      vg_buf_json_str(b, d->field);
      vg_buf_printf(b, ", \"type\": \"%s\"", tsdb_type_name(d->type));
      if (d->raw_from != TSDB_TIME_MIN) vg_buf_printf(b, ", \"raw_from\": %lld", (long long)d->raw_from);
      vg_buf_puts(b, ", \"points\": [");
      for (size_t k = 0; k < d->n; k++) {
        vg_buf_printf(b, k ? ", [%lld, " : "[%lld, ", (long long)d->ts[k]);
        put_value(b, &d->values[k], true);
        vg_buf_putc(b, ']');
      }
      vg_buf_puts(b, "]}");
    }
    vg_buf_printf(b, "%s], \"points\": %zu, \"elapsed_us\": %.1f}\n", r->n_series ? "\n" : "",
                  r->points, (double)elapsed_ns / 1e3);
    return;
  }
  if (f == STORE_CSV) {
    vg_buf_puts(b, "series,field,time,value\n");
    struct vg_buf name;
    vg_buf_init(&name);
    for (size_t i = 0; i < r->n_series; i++) {
      const struct tsdb_series_data *d = &r->series[i];
      vg_buf_reset(&name);
      series_name(&name, d);
      vg_buf_putc(&name, 0);
      for (size_t k = 0; k < d->n; k++) {
        csv_field(b, (char *)name.data);
        vg_buf_putc(b, ',');
        csv_field(b, d->field);
        vg_rfc3339_format(d->ts[k], VG_FRAC_AUTO, t, sizeof t);
        vg_buf_printf(b, ",%s,", t);
        if (d->values[k].type == TSDB_STRING) {
          char *s = vg_strndup(d->values[k].v.s.p, d->values[k].v.s.len);
          csv_field(b, s);
          free(s);
        } else {
          put_value(b, &d->values[k], false);
        }
        vg_buf_putc(b, '\n');
      }
    }
    vg_buf_free(&name);
    return;
  }
  for (size_t i = 0; i < r->n_series; i++) {
    const struct tsdb_series_data *d = &r->series[i];
    if (i) vg_buf_putc(b, '\n');
    series_name(b, d);
    vg_buf_printf(b, " %s (%s, %zu points)\n", d->field, tsdb_type_name(d->type), d->n);
    vg_buf_printf(b, "%-32s %s\n", "TIME", "VALUE");
    for (size_t k = 0; k < d->n; k++) {
      vg_rfc3339_format(d->ts[k], VG_FRAC_AUTO, t, sizeof t);
      vg_buf_printf(b, "%-32s ", t);
      put_value(b, &d->values[k], false);
      if (d->raw_from != TSDB_TIME_MIN && d->ts[k] < d->raw_from) vg_buf_puts(b, "  (rollup)");
      vg_buf_putc(b, '\n');
    }
  }
  if (!r->n_series) vg_buf_puts(b, "no series matched\n");
}

int store_format_parse(const char *s, enum store_format *f) {
  if (strcmp(s, "json") == 0) *f = STORE_JSON;
  else if (strcmp(s, "csv") == 0) *f = STORE_CSV;
  else if (strcmp(s, "table") == 0) *f = STORE_TABLE;
  else return -1;
  return 0;
}

const char *store_format_content_type(enum store_format f) {
  return f == STORE_JSON ? "application/json" : f == STORE_CSV ? "text/csv" : "text/plain";
}

static int get_fmt(const struct http_request *req, enum store_format *f, struct http_response *resp) {
  char v[16];
  *f = STORE_JSON;
  if (http_query_get(req->query, "format", v, sizeof v) < 0) return 0;
  if (store_format_parse(v, f) < 0) {
    err_json(resp, 400, "format must be json, csv or table");
    return -1;
  }
  return 0;
}

int store_query_parse(const struct store_query_args *a, struct store_query *out, char *err,
                      size_t errlen) {
  memset(out, 0, sizeof *out);
  struct tsdb_query *q = &out->q;
  if (!a->q || store_parse_selector(a->q, out->buf, sizeof out->buf, &q->measurement, out->tags,
                                    VG_ARRAY_LEN(out->tags), &q->n_tags) < 0) {
    snprintf(err, errlen, "q must be measurement[,tag=value...] (escape ',' '=' '\\' with '\\')");
    return -1;
  }
  q->tags = out->tags;
  if (a->field && *a->field) {
    if (strlen(a->field) >= sizeof out->field) {
      snprintf(err, errlen, "field name too long");
      return -1;
    }
    snprintf(out->field, sizeof out->field, "%s", a->field);
    q->field = out->field;
  }
  const char *from = a->from && *a->from ? a->from : "-1h", *to = a->to && *a->to ? a->to : "now";
  int64_t now = tsdb_now();
  struct vg_time_error te;
  const char *bad = vg_time_parse(from, now, &q->from, &te) < 0 ? from
                    : vg_time_parse(to, now, &q->to, &te) < 0   ? to
                                                                : NULL;
  if (bad) {
    snprintf(err, errlen, "bad time '%s' at column %zu: %s", bad, te.col, te.msg);
    return -1;
  }
  if (!a->last && q->to <= q->from) {
    char f[VG_TIME_LEN], t[VG_TIME_LEN];
    vg_rfc3339_format(q->from, VG_FRAC_AUTO, f, sizeof f);
    vg_rfc3339_format(q->to, VG_FRAC_AUTO, t, sizeof t);
    snprintf(err, errlen, "%s range: from %s is %s to %s", q->to < q->from ? "reversed" : "empty", f,
             q->to < q->from ? "after" : "equal", t);
    return -1;
  }
  bool every = a->every && *a->every, agg = a->agg && *a->agg;
  if (every && vg_duration_parse(a->every, 1, &q->every_ns, &te) < 0) {
    snprintf(err, errlen, "bad every '%s' at column %zu: %s", a->every, te.col, te.msg);
    return -1;
  }
  if (every && q->every_ns <= 0) {
    snprintf(err, errlen, "every must be a duration such as 1m, 5m, 1h");
    return -1;
  }
  if (agg && tsdb_agg_parse(a->agg, &q->agg) < 0) {
    snprintf(err, errlen, "agg must be one of first, last, min, max, sum, count, mean");
    return -1;
  }
  if (agg && !every) {
    snprintf(err, errlen, "agg needs every (the bucket width)");
    return -1;
  }
  if (a->limit && *a->limit) {
    char *end;
    errno = 0;
    long long l = strtoll(a->limit, &end, 10);
    if (*end || l < 0 || errno) {
      snprintf(err, errlen, "limit must be a non-negative integer");
      return -1;
    }
    q->limit = (size_t)l;
  }
  return 0;
}

/* The query's arguments from the request's query string; NULL for those absent. */
struct query_strings {
  char sel[512], field[256], from[64], to[64], every[32], agg[16], limit[24];
  struct store_query_args a;
};

static void get_args(const struct http_request *req, struct query_strings *qs) {
  memset(qs, 0, sizeof *qs);
#define ARG(name, member)                                                                    \
  qs->a.member = http_query_get(req->query, name, qs->member, sizeof qs->member) == 0 ? qs->member : NULL
  qs->a.q = http_query_get(req->query, "q", qs->sel, sizeof qs->sel) == 0 ? qs->sel : NULL;
  ARG("field", field);
  ARG("from", from);
  ARG("to", to);
  ARG("every", every);
  ARG("agg", agg);
  ARG("limit", limit);
#undef ARG
}

static void query(struct tsdb *db, const struct http_request *req, bool last,
                  struct http_response *resp) {
  struct query_strings qs;
  struct store_query sq;
  char msg[300];
  enum store_format f;
  if (get_fmt(req, &f, resp) < 0) return;
  get_args(req, &qs);
  qs.a.last = last;
  if (store_query_parse(&qs.a, &sq, msg, sizeof msg) < 0) {
    err_json(resp, 400, msg);
    return;
  }
  struct tsdb_result r;
  uint64_t t0 = vg_now_ns();
  int rc = last ? tsdb_last(db, &sq.q, &r, msg, sizeof msg) : tsdb_query(db, &sq.q, &r, msg, sizeof msg);
  if (rc < 0) {
    err_json(resp, rc == -EINVAL ? 400 : 500, msg);
    return;
  }
  uint64_t el = vg_now_ns() - t0;
  resp->content_type = store_format_content_type(f);
  store_render_result(&r, f, el, &resp->body);
  tsdb_result_free(&r);
}

void store_render_fingerprint(const uint8_t fp[16], size_t points, struct vg_buf *out) {
  vg_buf_puts(out, "{\"fingerprint\": \"");
  for (int i = 0; i < 16; i++) vg_buf_printf(out, "%02x", fp[i]);
  vg_buf_printf(out, "\", \"points\": %zu}\n", points);
}

static void fingerprint(struct tsdb *db, const struct http_request *req, struct http_response *resp) {
  struct query_strings qs;
  struct store_query sq;
  char msg[300];
  get_args(req, &qs);
  if (store_query_parse(&qs.a, &sq, msg, sizeof msg) < 0) {
    err_json(resp, 400, msg);
    return;
  }
  uint8_t fp[16];
  size_t n;
  int rc = tsdb_fingerprint(db, &sq.q, fp, &n, msg, sizeof msg);
  if (rc < 0) {
    err_json(resp, rc == -EINVAL ? 400 : 500, msg);
    return;
  }
  store_render_fingerprint(fp, n, &resp->body);
}

static void human_bytes(char *out, size_t len, double b) {
  const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (b >= 1024 && i < 4) b /= 1024, i++;
  snprintf(out, len, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

void store_render_stats(const struct tsdb_stats *s, enum store_format f, struct vg_buf *b) {
  const struct tsdb_stats st = *s;
  uint64_t points = st.block_points + st.head_points;
  double bpp = st.block_points ? (double)st.block_bytes / (double)st.block_points : 0;
  if (f == STORE_JSON) {
    vg_buf_printf(b, "{\"series\": %llu, \"points\": %llu, \"head_points\": %llu, "
                  "\"block_points\": %llu, \"blocks\": %llu, \"block_bytes\": %llu, "
                  "\"wal_bytes\": %llu, \"bytes_per_point\": %.3f, \"points_written\": %llu, "
                  "\"points_rejected\": %llu, \"wal_syncs\": %llu, \"flushes\": %llu, "
                  "\"compactions\": %llu, \"retention_drops\": %llu, \"rollup_points\": %llu, "
                  "\"queries\": %llu, \"policies\": [",
                  (unsigned long long)st.series, (unsigned long long)points,
                  (unsigned long long)st.head_points, (unsigned long long)st.block_points,
                  (unsigned long long)st.blocks, (unsigned long long)st.block_bytes,
                  (unsigned long long)st.wal_bytes, bpp, (unsigned long long)st.points_written,
                  (unsigned long long)st.points_rejected, (unsigned long long)st.wal_syncs,
                  (unsigned long long)st.flushes, (unsigned long long)st.compactions,
                  (unsigned long long)st.retention_drops, (unsigned long long)st.rollup_points,
                  (unsigned long long)st.queries);
    for (size_t i = 0; i < st.n_policies; i++) {
      const struct tsdb_policy_stats *p = &st.policies[i];
      vg_buf_printf(b, "%s{\"name\": ", i ? ", " : "");
      vg_buf_json_str(b, p->name);
      vg_buf_printf(b, ", \"duration_s\": %lld, \"series\": %llu, \"blocks\": %llu, "
                    "\"points\": %llu, \"bytes\": %llu, \"bytes_per_point\": %.3f, "
                    "\"oldest\": %lld, \"newest\": %lld}",
                    (long long)(p->duration_ns / TSDB_NS_PER_SEC), (unsigned long long)p->series,
                    (unsigned long long)p->blocks, (unsigned long long)p->points,
                    (unsigned long long)p->bytes,
                    p->points ? (double)p->bytes / (double)p->points : 0.0, (long long)p->mint,
                    (long long)p->maxt);
    }
    vg_buf_puts(b, "]}\n");
  } else {
    char hb[32], wb[32];
    human_bytes(hb, sizeof hb, (double)st.block_bytes);
    human_bytes(wb, sizeof wb, (double)st.wal_bytes);
    vg_buf_printf(b, "series %llu, points %llu (%llu in memory), blocks %llu, on disk %s "
                  "(+ log %s), %.2f bytes/point\n\n",
                  (unsigned long long)st.series, (unsigned long long)points,
                  (unsigned long long)st.head_points, (unsigned long long)st.blocks, hb, wb, bpp);
    vg_buf_printf(b, "%-16s %-10s %8s %7s %12s %11s %8s  %-20s %-20s\n", "POLICY", "DURATION",
                  "SERIES", "BLOCKS", "POINTS", "BYTES", "B/POINT", "OLDEST", "NEWEST");
    for (size_t i = 0; i < st.n_policies; i++) {
      const struct tsdb_policy_stats *p = &st.policies[i];
      char dur[32], o[48] = "-", n[48] = "-";
      if (p->duration_ns) snprintf(dur, sizeof dur, "%lldh", (long long)(p->duration_ns / 3600 / TSDB_NS_PER_SEC));
      else snprintf(dur, sizeof dur, "forever");
      if (p->duration_ns && p->duration_ns % (86400 * TSDB_NS_PER_SEC) == 0)
        snprintf(dur, sizeof dur, "%lldd", (long long)(p->duration_ns / 86400 / TSDB_NS_PER_SEC));
      if (p->points) {
        vg_rfc3339_format(p->mint, 0, o, sizeof o);
        vg_rfc3339_format(p->maxt, 0, n, sizeof n);
      }
      human_bytes(hb, sizeof hb, (double)p->bytes);
      vg_buf_printf(b, "%-16s %-10s %8llu %7llu %12llu %11s %8.2f  %-20s %-20s\n", p->name, dur,
                    (unsigned long long)p->series, (unsigned long long)p->blocks,
                    (unsigned long long)p->points, hb,
                    p->points ? (double)p->bytes / (double)p->points : 0.0, o, n);
    }
  }
}

static void stats(struct tsdb *db, const struct http_request *req, struct http_response *resp) {
  enum store_format f;
  if (get_fmt(req, &f, resp) < 0) return;
  if (f == STORE_CSV) f = STORE_TABLE; /* stats have no csv form; as before, a table */
  struct tsdb_stats st;
  tsdb_stats(db, &st);
  resp->content_type = f == STORE_JSON ? "application/json" : "text/plain";
  store_render_stats(&st, f, &resp->body);
  tsdb_stats_free(&st);
}

void store_render_compact(uint64_t elapsed_ns, struct vg_buf *out) {
  vg_buf_printf(out, "{\"ok\": true, \"action\": \"compact\", \"elapsed_ms\": %.1f}\n",
                (double)elapsed_ns / 1e6);
}

void store_render_retention(int dropped_blocks, struct vg_buf *out) {
  vg_buf_printf(out, "{\"ok\": true, \"action\": \"retention\", \"dropped_blocks\": %d}\n",
                dropped_blocks);
}

/* The import and /write routes: the body through the ingest pipeline (ingest.h). */
struct import_errors {
  size_t n;             /* lines rejected so far */
  size_t line_base;     /* the body's first line is line line_base + 1 of the caller's file */
  struct vg_buf errors; /* JSON array items, the first few */
};

static void note_error(void *arg, const struct ingest_error *e) {
  struct import_errors *c = arg;
  if (c->n++ >= 10) return;
  char m[300];
  if (e->reason == INGEST_R_TIMESTAMP)
    snprintf(m, sizeof m, "line %zu: a timestamp overflows 64-bit nanoseconds at this precision",
             e->line + c->line_base);
  else snprintf(m, sizeof m, "line %zu:%zu: %s", e->line + c->line_base, e->col, e->msg);
  if (c->errors.len) vg_buf_puts(&c->errors, ", ");
  vg_buf_json_str(&c->errors, m);
}

void store_import(const struct ingest_target *t, const char *prec, size_t first_line,
                  const char *body, size_t len, bool influx, struct http_response *resp) {
  int64_t mult = ingest_precision(prec);
  if (!mult) {
    err_json(resp, 400, "precision must be ns, us, ms or s");
    return;
  }
  struct import_errors c = {0};
  c.line_base = first_line > 1 ? first_line - 1 : 0;
  vg_buf_init(&c.errors);
  char *copy = vg_malloc(len + 1); /* the decoder rewrites escapes in place */
  memcpy(copy, body, len);
  struct ingest_loaded l;
  ingest_load_lp(t, copy, len, mult, tsdb_now(), note_error, &c, &l);
  free(copy);
  if (l.w.refused_values && c.n < 10) {
    char m[300];
    snprintf(m, sizeof m, "refused: %s", l.w.why);
    if (c.errors.len) vg_buf_puts(&c.errors, ", ");
    vg_buf_json_str(&c.errors, m);
  }
  if (l.rc < 0) {
    char m[128];
    snprintf(m, sizeof m, "the store cannot write: %s", strerror(-l.rc));
    err_json(resp, 500, m);
  } else if (influx && (l.rejected || l.w.refused_values)) {
    resp->status = 400;
    vg_buf_puts(&resp->body, "{\"error\": \"partial write: ");
    vg_buf_printf(&resp->body, "%zu lines rejected, %zu values refused\", \"details\": [",
                  l.rejected, l.w.refused_values);
    vg_buf_append(&resp->body, c.errors.data, c.errors.len);
    vg_buf_puts(&resp->body, "]}\n");
  } else if (influx) {
    resp->status = 204;
  } else {
    /* "points" counts values here, as the store's own counters do (docs/api.md) */
    vg_buf_printf(&resp->body, "{\"lines\": %zu, \"points\": %zu, \"values\": %zu, "
                  "\"rejected_lines\": %zu, \"refused_values\": %zu, \"errors\": [",
                  l.decoded, l.w.values, l.w.values, l.rejected, l.w.refused_values);
    vg_buf_append(&resp->body, c.errors.data, c.errors.len);
    vg_buf_puts(&resp->body, "]}\n");
  }
  vg_buf_free(&c.errors);
}

/* Serves one store route on the calling thread. */
static void import(const struct ingest_target *t, const struct http_request *req, const char *body,
                   struct http_response *resp, bool influx) {
  char prec[8] = "ns", fl[24] = "";
  http_query_get(req->query, "precision", prec, sizeof prec);
  http_query_get(req->query, "first_line", fl, sizeof fl);
  long long v = atoll(fl);
  store_import(t, prec, v > 1 ? (size_t)v : 1, body, req->content_length, influx, resp);
}

static void serve(const struct ingest_target *t, const struct http_request *req, const char *body,
                  struct http_response *resp) {
  struct tsdb *db = t->store;
  const char *p = req->path;
  bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
  bool post = strcmp(req->method, "POST") == 0;
  char msg[512];
  if (get && strcmp(p, "/api/v1/query") == 0) query(db, req, false, resp);
  else if (get && strcmp(p, "/api/v1/query/last") == 0) query(db, req, true, resp);
  else if (get && strcmp(p, "/api/v1/store/fingerprint") == 0) fingerprint(db, req, resp);
  else if (get && strcmp(p, "/api/v1/store/stats") == 0) stats(db, req, resp);
  else if (post && strcmp(p, "/api/v1/store/compact") == 0) {
    uint64_t t0 = vg_now_ns();
    if (tsdb_compact(db, msg, sizeof msg) < 0) err_json(resp, 500, msg);
    else store_render_compact(vg_now_ns() - t0, &resp->body);
  } else if (post && strcmp(p, "/api/v1/store/retention") == 0) {
    store_render_retention(tsdb_apply_retention(db), &resp->body);
  } else if (post && strcmp(p, "/api/v1/store/import") == 0) import(t, req, body, resp, false);
  else if (post && strcmp(p, "/write") == 0) import(t, req, body, resp, true);
  else if (strncmp(p, "/api/v1/store/", 14) == 0 && strcmp(p + 14, "stats") && strcmp(p + 14, "compact") &&
           strcmp(p + 14, "retention") && strcmp(p + 14, "import") && strcmp(p + 14, "fingerprint"))
    err_json(resp, 404, "no such route");
  else err_json(resp, 405, "method not allowed");
}

/* A route run on the thread pool: its own copies of the request and the body. */
struct store_job {
  struct ingest_target target;
  struct http_request req;
  char *body;
};

static void job_run(void *arg, struct http_response *resp) {
  struct store_job *j = arg;
  serve(&j->target, &j->req, j->body, resp);
}

static void job_free(void *arg) {
  struct store_job *j = arg;
  free(j->body);
  free(j);
}

int store_api_handle(struct tsdb *db, const struct ingest_target *ingest,
                     const struct http_request *req, const char *body, struct http_response *resp) {
  const char *p = req->path;
  bool ours = strcmp(p, "/api/v1/query") == 0 || strcmp(p, "/api/v1/query/last") == 0 ||
              strncmp(p, "/api/v1/store/", 14) == 0 || strcmp(p, "/write") == 0;
  if (!ours) return 0;
  if (!db) {
    err_json(resp, 503, "the store is disabled (store: {enabled: false})");
    return 1;
  }
  /* writes go through the daemon's pipeline when it has one (sinks, latest-value hook) */
  struct ingest_target target = ingest ? *ingest : (struct ingest_target){.store = db};
  target.store = db;
  if (!resp->defer_loop) {
    serve(&target, req, body, resp);
    return 1;
  }
  struct store_job *j = vg_calloc(1, sizeof *j);
  j->target = target;
  j->req = *req;
  j->body = vg_malloc(req->content_length + 1);
  memcpy(j->body, body, req->content_length);
  j->body[req->content_length] = '\0';
  resp->job = http_job_submit(resp->defer_loop, job_run, j, job_free, resp->defer_done,
                              resp->defer_arg);
  return 1;
}
