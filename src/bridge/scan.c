/*
 * scan.c — one scan file into the cache and the store (on the thread pool).
 *
 * The file is read into memory (not mapped: see below) and decoded with the Arrow
 * reader (src/arrow/, every buffer checked).
 * Its columns are found by name: the key (utf8, large_utf8, or a dictionary of them),
 * the scan number (any integer), the time (a timestamp of any unit, or int64 ns;
 * without one, the file's mtime), the values (the configured ones, else every numeric
 * or bool column but those). Each row becomes a point MEASUREMENT,KEY=asset with the
 * row's values as fields, written through the ingest pipeline (the store, the sinks,
 * and the cache's per-asset keys, as configured) batch by batch; the whole scan
 * becomes one JSON document:
 *   {"scan":4228,"ts":"2026-12-06T13:00:00.000Z","file":"scan-4228.arrow","assets":500,
 *    "values":{"A0000":{"e0":0.12,...},...}}
 * set in the cache when its scan number is above the latest seen.
 */
#include "bridge/bridge_int.h"

#include "arrow/arrow.h"
#include "cache/cache.h"
#include "core/core.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

void bridge__set_error(struct bridge *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&b->mu);
  vsnprintf(b->last_error, sizeof b->last_error, fmt, ap);
  pthread_mutex_unlock(&b->mu);
  va_end(ap);
}

struct cols {
  int key, scan, time;
  int vals[256];
  size_t n_vals;
};

static int find_col(const struct arrow_schema *s, const char *name) {
  for (uint32_t k = 0; k < s->n_fields; k++)
    if (strcmp(s->fields[k].name, name) == 0) return (int)k;
  return -1;
}

static bool is_int(enum arrow_type t) { return t >= ARROW_INT8 && t <= ARROW_UINT64; }
static bool is_num(enum arrow_type t) { return t == ARROW_BOOL || (t >= ARROW_INT8 && t <= ARROW_FLOAT64); }

/* The columns of cfg in schema s: 0, or -1 with why. */
static int map_columns(const struct cfg_bridge *cfg, const struct arrow_schema *s, struct cols *c, char *why, size_t len) {
  c->key = find_col(s, cfg->key);
  c->scan = find_col(s, cfg->scan);
  c->time = cfg->time ? find_col(s, cfg->time) : -1;
  c->n_vals = 0;
  if (c->key < 0) return snprintf(why, len, "no key column '%s'", cfg->key), -1;
  const struct arrow_field *kf = &s->fields[c->key];
  if (kf->type != ARROW_UTF8 && kf->type != ARROW_LARGE_UTF8)
    return snprintf(why, len, "key column '%s' is not text", cfg->key), -1;
  if (c->scan < 0) return snprintf(why, len, "no scan column '%s'", cfg->scan), -1;
  if (!is_int(s->fields[c->scan].type) || s->fields[c->scan].dictionary)
    return snprintf(why, len, "scan column '%s' is not an integer", cfg->scan), -1;
  if (cfg->time) {
    if (c->time < 0) return snprintf(why, len, "no time column '%s'", cfg->time), -1;
    enum arrow_type t = s->fields[c->time].type;
    if ((t != ARROW_TIMESTAMP && t != ARROW_INT64) || s->fields[c->time].dictionary)
      return snprintf(why, len, "time column '%s' is neither a timestamp nor int64 ns", cfg->time), -1;
  }
  if (cfg->values) {
    for (size_t i = 0; cfg->values[i]; i++) {
      int k = find_col(s, cfg->values[i]);
      if (k < 0) return snprintf(why, len, "no value column '%s'", cfg->values[i]), -1;
      if (!is_num(s->fields[k].type) || s->fields[k].dictionary)
        return snprintf(why, len, "value column '%s' is not numeric", cfg->values[i]), -1;
      if (c->n_vals == VG_ARRAY_LEN(c->vals)) return snprintf(why, len, "more than 256 value columns"), -1;
      c->vals[c->n_vals++] = k;
    }
  } else {
    for (uint32_t k = 0; k < s->n_fields; k++) {
      if ((int)k == c->key || (int)k == c->scan || (int)k == c->time) continue;
      if (!is_num(s->fields[k].type) || s->fields[k].dictionary) continue;
      if (c->n_vals == VG_ARRAY_LEN(c->vals)) return snprintf(why, len, "more than 256 value columns"), -1;
      c->vals[c->n_vals++] = (int)k;
    }
  }
  if (c->n_vals == 0) return snprintf(why, len, "no value columns"), -1;
  return 0;
}

static int64_t time_ns(const struct arrow_array *a, int64_t i) {
  static const int64_t mult[] = {1000000000, 1000000, 1000, 1};
  int64_t v = arrow_get_i64(a, i);
  if (a->field->type != ARROW_TIMESTAMP) return v;
  int64_t m = mult[a->field->unit];
  if (v > INT64_MAX / m || v < INT64_MIN / m) return v > 0 ? INT64_MAX : INT64_MIN;
  return v * m;
}

static void value_of(const struct arrow_array *a, int64_t i, struct tsdb_value *v) {
  enum arrow_type t = a->field->type;
  if (t == ARROW_BOOL) {
    v->type = TSDB_BOOL;
    v->v.b = arrow_get_bool(a, i);
  } else if (t == ARROW_UINT64) {
    v->type = TSDB_UINT;
    v->v.u = arrow_get_u64(a, i);
  } else if (is_int(t)) {
    v->type = TSDB_INT;
    v->v.i = arrow_get_i64(a, i);
  } else {
    v->type = TSDB_FLOAT;
    v->v.f = arrow_get_f64(a, i);
  }
}

/* A value into the document: numbers as the shortest of %.16g/%.17g that reads back
 * exactly (most doubles of a scan need 16 or 17 digits: two tries at most, where the
 * generic renderer starts at 15), whole numbers as integers; the rest as arrow renders. */
static void put_value(struct vg_buf *doc, const struct arrow_array *a, int64_t i) {
  enum arrow_type t = a->field->type;
  if (t != ARROW_FLOAT64 && t != ARROW_FLOAT32) {
    arrow_format_json(doc, a, i);
    return;
  }
  double v = arrow_get_f64(a, i);
  if (!(v - v == 0)) {
    arrow_format_json(doc, a, i); /* NaN, infinities: strings */
    return;
  }
  char buf[40];
  if (v == (double)(int64_t)v && v > -1e15 && v < 1e15) {
    snprintf(buf, sizeof buf, "%lld", (long long)v);
  } else {
    snprintf(buf, sizeof buf, "%.16g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, sizeof buf, "%.17g", v);
  }
  vg_buf_puts(doc, buf);
}

static void reserve(struct bridge *b, size_t rows, size_t vals) {
  if (rows > b->cap_pts) {
    b->cap_pts = rows;
    b->pts = vg_realloc(b->pts, rows * sizeof *b->pts);
    b->tags = vg_realloc(b->tags, rows * sizeof *b->tags);
  }
  if (rows * vals > b->cap_fields) {
    b->cap_fields = rows * vals;
    b->fields = vg_realloc(b->fields, b->cap_fields * sizeof *b->fields);
  }
}

/* Moves the file to the quarantine directory with a NAME.reason beside it. */
static void quarantine(struct bridge *b, const char *path, const char *name, const struct stat *st, const char *why) {
  int rc = vg_mkdir_p(b->cfg.quarantine, 0750);
  char *dst = vg_asprintf("%s/%s", b->cfg.quarantine, name);
  if (rc < 0 || rename(path, dst) < 0)
    VG_ERROR("bridge: cannot quarantine a file", VF_S("bridge", b->cfg.name), VF_S("file", path),
             VF_S("error", strerror(rc < 0 ? -rc : errno)));
  char *rpath = vg_asprintf("%s.reason", dst);
  char ts[VG_TIME_LEN];
  vg_rfc3339_format(vg_wall_ns(), 3, ts, sizeof ts);
  char *text = vg_asprintf("%s %s: %s\n", ts, name, why);
  FILE *f = fopen(rpath, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
  VG_WARN("bridge: file quarantined", VF_S("bridge", b->cfg.name), VF_S("file", name), VF_S("reason", why),
          VF_S("to", dst));
  bridge__set_error(b, "%s: %s", name, why);
  bridge__record_add(&b->rec, name, (int64_t)st->st_size, (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec, -1);
  atomic_fetch_add(&b->quarantined, 1);
  atomic_fetch_add(&b->errors, 1);
  free(text);
  free(rpath);
  free(dst);
}

#define MAX_FILE (1ull << 30)
#define REPUBLISH_WITHIN_NS (60 * 1000000000ll) /* document 000's "stale" */

/* The file at path (st: its stat) into a heap buffer; 0 or -errno with why. */
static int read_whole(const char *path, const struct stat *st, uint8_t **out, size_t *size, char *why, size_t len) {
  if ((uint64_t)st->st_size > MAX_FILE) {
    snprintf(why, len, "%lld bytes, more than a scan file may have (1 GiB)", (long long)st->st_size);
    return -EFBIG;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(why, len, "cannot open: %s", strerror(errno));
    return -errno;
  }
  size_t cap = (size_t)st->st_size, n = 0;
  uint8_t *buf = vg_malloc(cap ? cap : 1);
  for (;;) {
    if (n == cap) { /* it grew since the stat: read what is there now */
      if (cap >= MAX_FILE) break;
      cap = cap ? 2 * cap : 4096;
      buf = vg_realloc(buf, cap);
    }
    ssize_t got = read(fd, buf + n, cap - n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int e = errno;
      snprintf(why, len, "cannot read: %s", strerror(e));
      close(fd);
      free(buf);
      return -e;
    }
    if (got == 0) break;
    n += (size_t)got;
  }
  close(fd);
  *out = buf;
  *size = n;
  return 0;
}

static void write_arrays(struct bridge *b, const char *name, struct tsdb_point *pts, struct tsdb_tag *tags,
                         struct tsdb_field *fields, size_t np, size_t nf) {
  struct ingest_written w;
  struct ingest_batch ib = {.points = pts, .n = np, .cap = np, .tags = tags, .n_tags = np, .cap_tags = np,
                            .fields = fields, .n_fields = nf, .cap_fields = nf};
  int wr = ingest_write(&b->target, &ib, TSDB_NO_LIMIT, &w);
  if (wr < 0 || w.why[0]) bridge__set_error(b, "%s: the store refused points: %s", name, w.why[0] ? w.why : strerror(-wr));
}

static void write_points(struct bridge *b, const char *name, size_t np, size_t nf) {
  write_arrays(b, name, b->pts, b->tags, b->fields, np, nf);
}

void bridge__store_job_run(struct bridge *b, struct bridge__store_job *j) {
  write_arrays(b, j->name, j->pts, j->tags, j->fields, j->np, j->nf);
  bridge__record_append(&b->rec, j->name, j->size, j->mtime, j->scan);
}

void bridge__store_job_free(struct bridge__store_job *j) {
  arrow_close(&j->r);
  free(j->data);
  free(j->pts);
  free(j->tags);
  free(j->fields);
  free(j->name);
  free(j);
}

int bridge__scan_file(struct bridge *b, const char *name, bool complete, uint64_t t_event, bool republish) {
  const struct cfg_bridge *cfg = &b->cfg;
  uint64_t t_start = vg_now_ns(), t_built = 0, t_published = 0, t_keys = 0;
  if (name[0] == '.' || strpbrk(name, "\t\n/") || fnmatch(cfg->glob, name, 0) != 0) return 0;
  char *path = vg_asprintf("%s/%s", cfg->dir, name);
  struct stat st;
  if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) { /* gone (renamed away) or not a file */
    free(path);
    return 0;
  }
  int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  /* a restart publishes the latest scan again only while it is fresh: the cache dates
   * what it takes by its arrival, and `ready: {fresh: ...}` must not pass on old data */
  if (republish && vg_wall_ns() - mtime > REPUBLISH_WITHIN_NS) {
    VG_INFO("bridge: the latest recorded scan is old, not published again", VF_S("bridge", cfg->name),
            VF_S("file", name), VF_D("age_s", (double)(vg_wall_ns() - mtime) / 1e9));
    free(path);
    return 0;
  }
  const struct bridge__rec *seen = bridge__record_find(&b->rec, name);
  if (!republish && seen && seen->size == (int64_t)st.st_size && seen->mtime == mtime) {
    free(path);
    return 0;
  }
  struct arrow_reader *r = NULL;
  struct arrow_err err = {0};
  char why[400] = "";
  struct cols c = {.key = -1};
  /* read, not mapped: a producer that truncates or rewrites a file in place while it is
   * read would make a mapped read fault (SIGBUS) and take the daemon down */
  uint8_t *data = NULL;
  size_t size = 0;
  int rc = read_whole(path, &st, &data, &size, why, sizeof why);
  if (rc == 0) {
    rc = arrow_open_mem(&r, data, size, NULL, &err);
    if (rc < 0) snprintf(why, sizeof why, "%s", err.msg);
    else if (map_columns(cfg, arrow_schema(r), &c, why, sizeof why) < 0) rc = -EINVAL;
  }

  int64_t scan = INT64_MIN, ts = 0, rows = 0;
  size_t defer_np = 0, defer_nf = 0;
  struct bridge__store_job *deferred = NULL;
  struct vg_buf *doc = &b->doc;
  vg_buf_reset(doc);
  vg_buf_puts(doc, ",\"values\":{");
  bool wrote_points = false;
  const struct arrow_batch *batch;
  while (rc >= 0 && (rc = arrow_next(r, &batch, &err)) > 0) {
    const struct arrow_schema *s = arrow_schema(r);
    const struct arrow_array *key = &batch->columns[c.key], *sc = &batch->columns[c.scan];
    const struct arrow_array *tc = c.time >= 0 ? &batch->columns[c.time] : NULL;
    reserve(b, (size_t)batch->length, c.n_vals);
    size_t np = 0, nf = 0;
    /* the points first (no formatting: cheap), for the keys */
    for (int64_t i = 0; i < batch->length; i++) {
      if (arrow_is_null(key, i) || arrow_is_null(sc, i)) continue;
      int64_t sn = sc->field->type == ARROW_UINT64 && arrow_get_u64(sc, i) > INT64_MAX ? INT64_MAX : arrow_get_i64(sc, i);
      if (sn > scan) scan = sn;
      int64_t t = tc && !arrow_is_null(tc, i) ? time_ns(tc, i) : mtime;
      if (t > ts) ts = t;
      size_t klen;
      const uint8_t *k = key->dict ? arrow_get_bytes(key->dict, arrow_get_i64(key, i), &klen) : arrow_get_bytes(key, i, &klen);
      size_t first = nf;
      for (size_t j = 0; j < c.n_vals; j++) {
        const struct arrow_array *a = &batch->columns[c.vals[j]];
        if (arrow_is_null(a, i)) continue;
        const char *fname = s->fields[c.vals[j]].name;
        struct tsdb_field *f = &b->fields[nf++];
        f->key = (struct tsdb_str){fname, strlen(fname)};
        value_of(a, i, &f->value);
        /* NaN and infinities stay in the document, not in the points */
        if (f->value.type == TSDB_FLOAT && !(f->value.v.f - f->value.v.f == 0)) nf--;
      }
      if (nf == first) continue;
      b->tags[np] = (struct tsdb_tag){{cfg->key, strlen(cfg->key)}, {(const char *)k, klen}};
      b->pts[np] = (struct tsdb_point){.measurement = {cfg->measurement, strlen(cfg->measurement)},
                                       .tags = &b->tags[np], .n_tags = 1, .fields = &b->fields[first],
                                       .n_fields = nf - first, .ts = t};
      np++;
    }
    if (np && b->keys_hook) b->keys_hook(b->target.cache_arg, b->source, b->pts, np, b->fields, NULL);
    t_keys = vg_now_ns();
    /* then the document's rows */
    for (int64_t i = 0; cfg->document && i < batch->length; i++) {
      if (arrow_is_null(key, i) || arrow_is_null(sc, i)) continue;
      if (rows) vg_buf_putc(doc, ',');
      rows++;
      arrow_format_json(doc, key, i);
      vg_buf_puts(doc, ":{");
      for (size_t j = 0; j < c.n_vals; j++) {
        const struct arrow_array *a = &batch->columns[c.vals[j]];
        if (j) vg_buf_putc(doc, ',');
        vg_buf_json_str(doc, s->fields[c.vals[j]].name);
        vg_buf_putc(doc, ':');
        if (arrow_is_null(a, i)) vg_buf_puts(doc, "null");
        else put_value(doc, a, i);
      }
      vg_buf_putc(doc, '}');
    }
    if (!cfg->document)
      for (int64_t i = 0; i < batch->length; i++) rows += !arrow_is_null(key, i) && !arrow_is_null(sc, i);
    /* the per-asset keys went first, straight into the cache (nothing waits for the
     * store); a file's last batch goes to the store after the document is published,
     * so the latest scan reaches the cache first */
    if (np && b->target.store && !republish && arrow_is_file(r) && batch->index == arrow_batch_count(r) - 1) {
      defer_np = np;
      defer_nf = nf;
    } else if (np && b->target.store && !republish) {
      write_points(b, name, np, nf);
      wrote_points = true;
    }
  }
  if (rc == 0 && scan == INT64_MIN) {
    rc = -EINVAL;
    snprintf(why, sizeof why, "no rows with a key and a scan number");
  }
  if (rc < 0 && !why[0]) snprintf(why, sizeof why, "%s", err.msg);
  if (rc == -ENOENT) { /* renamed away since the stat: nothing to do */
    free(path);
    return 0;
  }
  if (rc < 0) {
    arrow_close(&r);
    free(data);
    int64_t age_ms = (vg_wall_ns() - mtime) / 1000000;
    int out = -1;
    if (republish) {
      VG_WARN("bridge: cannot publish the latest recorded scan again", VF_S("bridge", cfg->name), VF_S("file", name),
              VF_S("error", why));
      out = 0;
    } else if (!wrote_points && !complete && age_ms < cfg->settle_ms) {
      atomic_fetch_add(&b->retries, 1); /* a writer may still be at it: later */
      out = 1;
    } else {
      quarantine(b, path, name, &st, why);
    }
    free(path);
    bridge__metrics_update(b, -1);
    return out;
  }
  /* the document, when this scan is the newest */
  int64_t latest = atomic_load(&b->latest_scan);
  if (!republish) {
    if (latest >= 0 && scan <= latest) {
      atomic_fetch_add(&b->out_of_order, 1);
      VG_INFO("bridge: scan older than the latest, not published as latest", VF_S("bridge", cfg->name),
              VF_S("file", name), VF_I("scan", scan), VF_I("latest", latest));
    } else if (latest >= 0 && scan > latest + 1) {
      atomic_fetch_add(&b->gaps, (uint64_t)(scan - latest - 1));
      VG_WARN("bridge: gap in scan numbers", VF_S("bridge", cfg->name), VF_I("after", latest), VF_I("got", scan),
              VF_I("missing", scan - latest - 1));
    }
  }
  t_built = vg_now_ns();
  if (republish || latest < 0 || scan > latest) {
    char tbuf[VG_TIME_LEN];
    vg_rfc3339_format(ts, 3, tbuf, sizeof tbuf);
    struct vg_buf full;
    vg_buf_init(&full);
    vg_buf_printf(&full, "{\"scan\":%lld,\"ts\":\"%s\",\"file\":", (long long)scan, tbuf);
    vg_buf_json_str(&full, name);
    vg_buf_printf(&full, ",\"assets\":%lld", (long long)rows);
    vg_buf_append(&full, doc->data, doc->len);
    vg_buf_puts(&full, "}}");
    if (b->cache && cfg->document) {
      int dr = cache_doc_set(b->cache, cfg->document, full.data, full.len, ts, b->source,
                             CACHE_DOC_BUILT); /* written just above */
      if (dr < 0 && dr != -EALREADY) bridge__set_error(b, "%s: the cache refused the document: %s", name, strerror(-dr));
    }
    vg_buf_free(&full);
    atomic_store(&b->latest_scan, scan);
    atomic_store(&b->latest_ts, ts);
    atomic_store(&b->assets, (uint64_t)rows);
  }
  t_published = vg_now_ns();
  double latency = t_event && !republish ? (double)(vg_now_ns() - t_event) / 1e9 : -1;
  if (defer_np) {
    /* the store gets the last batch on a job of its own (watch.c), so a store that
     * stalls (a flush) does not hold up the next scan's way into the cache; the job owns
     * the file's bytes, the reader (the batch's strings) and the point arrays */
    struct bridge__store_job *j = vg_calloc(1, sizeof *j);
    *j = (struct bridge__store_job){.r = r, .data = data, .pts = b->pts, .tags = b->tags, .fields = b->fields,
                                    .np = defer_np, .nf = defer_nf, .name = vg_strdup(name)};
    b->pts = NULL;
    b->tags = NULL;
    b->fields = NULL;
    b->cap_pts = b->cap_fields = 0;
    r = NULL;
    data = NULL;
    *b->made_tail = j;
    b->made_tail = &j->next;
    deferred = j;
  }
  arrow_close(&r);
  free(data);
  if (!republish) {
    if (deferred) { /* appended by the store job */
      deferred->size = (int64_t)st.st_size;
      deferred->mtime = mtime;
      deferred->scan = scan;
      bridge__record_note(&b->rec, name, (int64_t)st.st_size, mtime, scan);
    } else {
      bridge__record_add(&b->rec, name, (int64_t)st.st_size, mtime, scan);
    }
    atomic_fetch_add(&b->scans, 1);
    VG_DEBUG("bridge: scan read", VF_S("bridge", cfg->name), VF_S("file", name), VF_I("scan", scan), VF_I("assets", rows),
             VF_D("event_to_cache_us", latency >= 0 ? latency * 1e6 : -1),
             VF_D("event_to_keys_us", t_event && t_keys ? (double)(t_keys - t_event) / 1e3 : -1),
             VF_D("queued_us", t_event ? (double)(t_start - t_event) / 1e3 : -1),
             VF_D("read_us", (double)(t_built - t_start) / 1e3), VF_D("publish_us", (double)(t_published - t_built) / 1e3),
             VF_D("store_us", (double)(vg_now_ns() - t_published) / 1e3));
  }
  free(path);
  bridge__metrics_update(b, latency);
  return 0;
}
