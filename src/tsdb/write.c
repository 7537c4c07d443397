/*
 * write — the write path: resolve each field to its series (creating it and logging its
 * key in the series log), encode the batch as one write-ahead-log record, commit it by
 * the sync policy, then add the values to the series heads. Also the replay that rebuilds
 * the heads from the logs at open.
 *
 * Log records (payload of a tsdb__wal record):
 *   series log, TSDB__REC_SERIES: uv id | u8 type | key bytes
 *   data log,   TSDB__REC_SAMPLES: samples to the end, each:
 *               uv series id | sv ts - previous ts (0 before the first) | value
 *               (float: 8 bytes LE bits; int: sv; uint: uv; bool: 1 byte; string: uv len | bytes)
 */
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "tsdb/codec.h"
#include "tsdb/tsdb_int.h"

static bool tags_match(const struct tsdb_tag *want, size_t n_want, const struct tsdb_tag *have,
                       size_t n_have) {
  for (size_t i = 0; i < n_want; i++) {
    bool found = false;
    for (size_t j = 0; j < n_have && !found; j++)
      found = strcmp(want[i].key.p, have[j].key.p) == 0 &&
              fnmatch(want[i].value.p, have[j].value.p, 0) == 0;
    if (!found) return false;
  }
  return true;
}

uint16_t tsdb__policy_for(const struct tsdb *db, const struct tsdb__series *s) {
  if (s->rollup >= 0) return db->rollups[s->rollup].target;
  for (size_t i = 1; i < db->n_policies; i++) {
    const struct tsdb__policy *p = &db->policies[i];
    if (p->measurement && fnmatch(p->measurement, s->measurement, 0) != 0) continue;
    if (!tags_match(p->tags, p->n_tags, s->tags, s->n_tags)) continue;
    return (uint16_t)i;
  }
  return 0;
}

/* Rollup series keys end in "\x1f" rule "." agg. */
static void parse_rollup_suffix(struct tsdb *db, struct tsdb__series *s) {
  s->rollup = -1;
  const char *sep = memchr(s->key, 0x1f, s->keylen);
  if (!sep) return;
  const char *rule = sep + 1;
  const char *dot = memrchr(rule, '.', s->keylen - (size_t)(rule - s->key));
  if (!dot) return;
  size_t rlen = (size_t)(dot - rule);
  for (size_t i = 0; i < db->n_rollups; i++) {
    if (strlen(db->rollups[i].name) != rlen || memcmp(db->rollups[i].name, rule, rlen) != 0)
      continue;
    char agg[16];
    size_t alen = s->keylen - (size_t)(dot + 1 - s->key);
    if (alen >= sizeof agg) return;
    memcpy(agg, dot + 1, alen);
    agg[alen] = 0;
    enum tsdb_agg a;
    if (tsdb_agg_parse(agg, &a) < 0) return;
    s->rollup = (int16_t)i;
    s->agg = (uint8_t)a;
    size_t blen = (size_t)(sep - s->key);
    s->base = tsdb__map_get(&db->map, XXH3_64bits(s->key, blen), s->key, blen);
    if (s->base) {
      if (!s->base->rollups)
        s->base->rollups = vg_calloc(db->n_rollups * TSDB__AGG_N, sizeof *s->base->rollups);
      s->base->rollups[(size_t)i * TSDB__AGG_N + a] = s;
    }
    return;
  }
}

/* Under write_mu (or during open). */
struct tsdb__series *tsdb__series_get_or_create(struct tsdb *db, const char *key, size_t len,
                                                enum tsdb_type type, bool log) {
  uint64_t h = XXH3_64bits(key, len);
  struct tsdb__series *s = tsdb__map_get(&db->map, h, key, len);
  if (s) return s;
  s = vg_calloc(1, sizeof *s);
  s->hash = h;
  s->key = vg_strndup(key, len);
  s->keylen = len;
  s->type = type;
  if (tsdb__key_parse(s, key, len) < 0) {
    tsdb__series_free(s);
    return NULL;
  }
  parse_rollup_suffix(db, s);
  s->policy = tsdb__policy_for(db, s);
  pthread_rwlock_wrlock(&db->map_lock);
  tsdb__map_put(&db->map, s);
  pthread_rwlock_unlock(&db->map_lock);
  if (log && db->series_log) {
    struct vg_buf b;
    vg_buf_init(&b);
    tsdb__put_uvarint(&b, s->id);
    vg_buf_putc(&b, (char)type);
    vg_buf_append(&b, key, len);
    (void)tsdb__wal_append(db->series_log, TSDB__REC_SERIES, b.data, (uint32_t)b.len, NULL);
    vg_buf_free(&b);
    db->series_dirty = true;
  }
  return s;
}

static size_t uvarint(uint8_t *o, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    o[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  o[n++] = (uint8_t)v;
  return n;
}

/* One sample of a SAMPLES record, written in place (the write path's hot loop). */
static void put_sample(struct vg_buf *b, uint32_t id, int64_t dts, const struct tsdb_value *v) {
  vg_buf_reserve(b, 40 + (v->type == TSDB_STRING ? v->v.s.len : 0));
  uint8_t *o = (uint8_t *)b->data + b->len;
  size_t n = uvarint(o, id);
  n += uvarint(o + n, tsdb__zigzag((uint64_t)dts));
  switch (v->type) {
  case TSDB_FLOAT: {
    uint64_t bits;
    memcpy(&bits, &v->v.f, 8);
    for (int i = 0; i < 8; i++) o[n++] = (uint8_t)(bits >> (8 * i));
    break;
  }
  case TSDB_INT: n += uvarint(o + n, tsdb__zigzag((uint64_t)v->v.i)); break;
  case TSDB_UINT: n += uvarint(o + n, v->v.u); break;
  case TSDB_BOOL: o[n++] = v->v.b ? 1 : 0; break;
  case TSDB_STRING:
    n += uvarint(o + n, v->v.s.len);
    memcpy(o + n, v->v.s.p, v->v.s.len);
    n += v->v.s.len;
    break;
  }
  b->len += n;
  b->data[b->len] = '\0';
}

static void set_last(struct tsdb__series *s, int64_t ts, const struct tsdb_value *v) {
  if (s->has_last && ts < s->last_ts) return;
  if (s->has_last && s->last.type == TSDB_STRING) free((void *)s->last.v.s.p);
  s->last = *v;
  if (v->type == TSDB_STRING) s->last.v.s.p = vg_strndup(v->v.s.p, v->v.s.len);
  s->last_ts = ts;
  s->has_last = true;
}

/* Under head_lock (write) or during open. */
void tsdb__head_apply(struct tsdb *db, struct tsdb__series *s, int64_t ts,
                      const struct tsdb_value *v) {
  tsdb__head_push(&db->segs, &s->head, s->type, ts, v);
  set_last(s, ts, v);
  db->head_points++;
}

static const char *const refusal_names[TSDB__REFUSED_N] = {
    [TSDB_REFUSED_TYPE] = "type", [TSDB_REFUSED_VALUE] = "value",
    [TSDB_REFUSED_CARDINALITY] = "cardinality"};

const char *tsdb_refusal_name(enum tsdb_refusal r) {
  return (size_t)r < TSDB__REFUSED_N ? refusal_names[r] : "unknown";
}

/* Counts a refused value (the field f of the point i) and tells the caller's hook; the
 * first one's reason is kept: "KEY: why". */
static void refuse(struct tsdb_write_result *r, const struct tsdb_write_opts *o, size_t i,
                   size_t f, enum tsdb_refusal why, const char *key, size_t klen,
                   const char *text, const char *a, const char *b) {
  if (r->refused++ == 0)
    snprintf(r->why, sizeof r->why, "%.*s: %s%s%s%s", (int)(klen < 80 ? klen : 80), key, text,
             a, *b ? ", the point has " : "", b);
  r->refused_by[why]++;
  if (o && o->refused) o->refused(o->arg, i, f, why);
}

static int write_points(struct tsdb *db, const struct tsdb_point *pts, size_t n,
                        const struct tsdb_write_opts *o, struct tsdb_write_result *res,
                        int16_t rollup, uint8_t agg) {
  struct tsdb_write_result local;
  if (!res) res = &local;
  memset(res, 0, sizeof *res);
  size_t may_create = o ? o->max_new_series : TSDB_NO_LIMIT;
  pthread_mutex_lock(&db->write_mu);
  vg_buf_reset(&db->wal_buf);
  db->n_pending = 0;
  int64_t prev_ts = 0;
  struct vg_buf *kb = &db->key_buf;
  uint32_t *ids = o ? o->series_ids : NULL;
  size_t v = 0; /* the value's index in the batch, for ids */
  if (ids) {
    size_t nv = 0;
    for (size_t i = 0; i < n; i++) nv += pts[i].n_fields;
    for (size_t i = 0; i < nv; i++) ids[i] = TSDB_NO_SERIES; /* until written */
  }
  for (size_t i = 0; i < n; i++) {
    const struct tsdb_point *p = &pts[i];
    vg_buf_reset(kb);
    tsdb__key_build(kb, p->measurement, p->tags, p->n_tags, (struct tsdb_str){"", 0});
    size_t prefix = kb->len - 1; /* without the '#' */
    /* raw points find their field series through the prefix's group (group.c) */
    uint64_t gh = rollup < 0 ? XXH3_64bits(kb->data, prefix) : 0;
    struct tsdb__group *g =
        rollup < 0 ? tsdb__group_find(&db->groups, gh, (char *)kb->data, prefix) : NULL;
    if (rollup < 0 && (p->ts < TSDB_TS_FIRST || p->ts > TSDB_TS_LAST)) {
      for (size_t f = 0; f < p->n_fields; f++)
        refuse(res, o, i, f, TSDB_REFUSED_VALUE, (char *)kb->data, prefix,
               "timestamp outside the store's range (1677-09-29 to 2262-04-03)", "", "");
      v += p->n_fields;
      continue;
    }
    for (size_t f = 0; f < p->n_fields; f++, v++) {
      const struct tsdb_field *fd = &p->fields[f];
      struct tsdb__series *s = g ? tsdb__group_field(g, fd->key.p, fd->key.len) : NULL;
      if (!s || s->type != fd->value.type ||
          (fd->value.type == TSDB_STRING && fd->value.v.s.len > TSDB__STR_MAX)) {
        /* the full key: to create the series, or to name it in a refusal */
        kb->len = prefix;
        vg_buf_putc(kb, '#');
        tsdb__key_escape(kb, fd->key.p, fd->key.len, ", #");
        if (rollup >= 0)
          vg_buf_printf(kb, "\x1f%s.%s", db->rollups[rollup].name, tsdb_agg_name((enum tsdb_agg)agg));
        if (fd->value.type == TSDB_STRING && fd->value.v.s.len > TSDB__STR_MAX) {
          refuse(res, o, i, f, TSDB_REFUSED_VALUE, (char *)kb->data, kb->len,
                 "string value longer than 4096 bytes", "", "");
          continue;
        }
        if (p->measurement.len == 0 || fd->key.len == 0) {
          refuse(res, o, i, f, TSDB_REFUSED_VALUE, (char *)kb->data, kb->len,
                 "empty measurement or field name", "", "");
          continue;
        }
        if (!s) {
          struct tsdb__series *known =
              tsdb__map_get(&db->map, XXH3_64bits(kb->data, kb->len), (char *)kb->data, kb->len);
          /* a new series: within the write's and the store's limits (rollup series
           * follow their source's and are never refused) */
          if (!known && rollup < 0 &&
              (res->series_created == may_create ||
               (db->opts.max_series && db->map.n >= db->opts.max_series))) {
            refuse(res, o, i, f, TSDB_REFUSED_CARDINALITY, (char *)kb->data, kb->len,
                   res->series_created == may_create ? "series limit reached (the writer's max_series)"
                                                     : "series limit reached (the store's max_series)",
                   "", "");
            continue;
          }
          s = known ? known
                    : tsdb__series_get_or_create(db, (char *)kb->data, kb->len, fd->value.type, true);
          if (!s) {
            refuse(res, o, i, f, TSDB_REFUSED_VALUE, (char *)kb->data, kb->len, "bad series key", "", "");
            continue;
          }
          if (!known) res->series_created++;
          if (rollup < 0) {
            if (!g) g = tsdb__group_get(&db->groups, gh, (char *)kb->data, prefix);
            tsdb__group_add(g, fd->key.p, fd->key.len, s);
          }
        }
        if (s->type != fd->value.type) {
          refuse(res, o, i, f, TSDB_REFUSED_TYPE, (char *)kb->data, kb->len,
                 "field type conflict: the series holds ", tsdb_type_name(s->type),
                 tsdb_type_name(fd->value.type));
          continue;
        }
      }
      if (db->n_pending == db->cap_pending) {
        db->cap_pending = db->cap_pending ? db->cap_pending * 2 : 1024;
        db->pending = vg_realloc(db->pending, db->cap_pending * sizeof *db->pending);
      }
      db->pending[db->n_pending++] = (struct tsdb__pending){s, p->ts, fd->value};
      if (ids) ids[v] = s->id;
      put_sample(&db->wal_buf, s->id, (int64_t)((uint64_t)p->ts - (uint64_t)prev_ts), &fd->value);
      prev_ts = p->ts;
    }
  }
  int rc = 0;
  if (db->n_pending) {
    uint64_t synced = tsdb__wal_synced_lsn(db->wal);
    if (db->series_dirty) {
      rc = tsdb__wal_commit(db->series_log);
      if (rc == 0 && db->opts.sync != TSDB_SYNC_NEVER) rc = tsdb__wal_sync(db->series_log);
      db->series_dirty = rc != 0;
    }
    if (rc == 0) rc = tsdb__wal_append(db->wal, TSDB__REC_SAMPLES, db->wal_buf.data,
                                       (uint32_t)db->wal_buf.len, NULL);
    /* rollup points can be recomputed: one sync at the end of a rollup pass does */
    if (rc == 0 && rollup < 0) rc = tsdb__wal_commit(db->wal);
    if (rc == 0) {
      atomic_fetch_add(&db->wal_bytes, db->wal_buf.len + TSDB__WAL_RECORD_OVERHEAD);
      if (tsdb__wal_synced_lsn(db->wal) != synced) atomic_fetch_add(&db->wal_syncs, 1);
      pthread_rwlock_wrlock(&db->head_lock);
      for (size_t i = 0; i < db->n_pending; i++) {
        struct tsdb__pending *q = &db->pending[i];
        tsdb__head_apply(db, q->s, q->ts, &q->v);
        if (q->s->rollup < 0) tsdb__rollup_note_write(db, q->s, q->ts);
      }
      pthread_rwlock_unlock(&db->head_lock);
      res->values = db->n_pending;
    } else {
      snprintf(res->why, sizeof res->why, "write-ahead log: %s", strerror(-rc));
    }
  }
  uint64_t head = db->head_points;
  pthread_mutex_unlock(&db->write_mu);
  if (rollup < 0) atomic_fetch_add(&db->points_written, res->values); /* rollups: own counter */
  atomic_fetch_add(&db->points_rejected, res->refused);
  if (rc == 0 && head >= db->opts.head_max_points) {
    if (db->thread_started) {
      pthread_mutex_lock(&db->cond_mu);
      db->kick = true;
      pthread_cond_signal(&db->cond);
      pthread_mutex_unlock(&db->cond_mu);
    } else {
      char err[256];
      (void)tsdb__flush(db, err, sizeof err);
    }
  }
  return rc;
}

int tsdb__write_internal(struct tsdb *db, const struct tsdb_point *pts, size_t n,
                         struct tsdb_write_result *res, int16_t rollup, uint8_t agg) {
  return write_points(db, pts, n, NULL, res, rollup, agg);
}

int tsdb_write(struct tsdb *db, const struct tsdb_point *pts, size_t n,
               struct tsdb_write_result *res) {
  return write_points(db, pts, n, NULL, res, -1, 0);
}

int tsdb_write_with(struct tsdb *db, const struct tsdb_point *pts, size_t n,
                    const struct tsdb_write_opts *o, struct tsdb_write_result *res) {
  return write_points(db, pts, n, o, res, -1, 0);
}

/* ---- replay ---- */
struct replay {
  struct tsdb *db;
  uint64_t records, samples, unknown;
};

static int on_series(void *arg, uint64_t lsn, uint32_t type, const void *payload, uint32_t len) {
  struct replay *r = arg;
  const uint8_t *p = payload;
  size_t pos = 0;
  uint64_t id;
  if (type != TSDB__REC_SERIES || tsdb__get_uvarint(p, len, &pos, &id) < 0 || pos >= len ||
      p[pos] > TSDB_STRING || id == 0 || id > UINT32_MAX) {
    VG_WARN("store: skipping a malformed series-log record", VF_I("lsn", (int64_t)lsn));
    return 0;
  }
  enum tsdb_type t = (enum tsdb_type)p[pos++];
  const char *key = (const char *)p + pos;
  size_t klen = len - pos;
  uint64_t h = XXH3_64bits(key, klen);
  if (tsdb__map_get(&r->db->map, h, key, klen)) return 0;
  struct tsdb__series *s = vg_calloc(1, sizeof *s);
  s->id = (uint32_t)id;
  s->hash = h;
  s->key = vg_strndup(key, klen);
  s->keylen = klen;
  s->type = t;
  if (tsdb__key_parse(s, key, klen) < 0) {
    tsdb__series_free(s);
    return 0;
  }
  parse_rollup_suffix(r->db, s);
  s->policy = tsdb__policy_for(r->db, s);
  tsdb__map_put(&r->db->map, s);
  return 0;
}

static int on_samples(void *arg, uint64_t lsn, uint32_t type, const void *payload, uint32_t len) {
  struct replay *r = arg;
  struct tsdb *db = r->db;
  if (lsn < db->checkpoint_lsn || type != TSDB__REC_SAMPLES) return 0;
  r->records++;
  const uint8_t *p = payload;
  size_t pos = 0;
  int64_t ts = 0;
  while (pos < len) {
    uint64_t id, zd;
    if (tsdb__get_uvarint(p, len, &pos, &id) < 0 || tsdb__get_uvarint(p, len, &pos, &zd) < 0)
      goto bad;
    ts = (int64_t)((uint64_t)ts + tsdb__unzigzag(zd));
    struct tsdb__series *s = id < db->map.by_id_cap ? db->map.by_id[id] : NULL;
    if (!s) {
      r->unknown++;
      return 0; /* the rest of the record cannot be decoded without the type */
    }
    struct tsdb_value v = {.type = s->type};
    uint64_t u;
    switch (s->type) {
    case TSDB_FLOAT:
      if (len - pos < 8) goto bad;
      u = 0;
      for (int i = 7; i >= 0; i--) u = (u << 8) | p[pos + (size_t)i];
      memcpy(&v.v.f, &u, 8);
      pos += 8;
      break;
    case TSDB_INT:
      if (tsdb__get_uvarint(p, len, &pos, &u) < 0) goto bad;
      v.v.i = (int64_t)tsdb__unzigzag(u);
      break;
    case TSDB_UINT:
      if (tsdb__get_uvarint(p, len, &pos, &v.v.u) < 0) goto bad;
      break;
    case TSDB_BOOL:
      if (pos >= len) goto bad;
      v.v.b = p[pos++] != 0;
      break;
    case TSDB_STRING:
      if (tsdb__get_uvarint(p, len, &pos, &u) < 0 || u > len - pos) goto bad;
      v.v.s = (struct tsdb_str){(const char *)p + pos, (size_t)u};
      pos += u;
      break;
    }
    tsdb__head_apply(db, s, ts, &v);
    r->samples++;
  }
  return 0;
bad:
  VG_WARN("store: a log record does not decode; its remaining samples are skipped",
          VF_I("lsn", (int64_t)lsn));
  return 0;
}

int tsdb__replay(struct tsdb *db, char *err, size_t errlen) {
  struct replay r = {.db = db};
  struct tsdb__wal_opts wo = {.policy = TSDB__WAL_SYNC_EVERY};
  char *sdir = vg_asprintf("%s/series", db->dir);
  int rc = tsdb__wal_open(&db->series_log, sdir, &wo, on_series, &r, err, errlen);
  free(sdir);
  if (rc < 0) return rc;
  rc = tsdb__load_blocks(db, err, errlen);
  if (rc < 0) return rc;
  wo.policy = db->opts.sync == TSDB_SYNC_BATCH      ? TSDB__WAL_SYNC_EVERY
              : db->opts.sync == TSDB_SYNC_INTERVAL ? TSDB__WAL_SYNC_INTERVAL
                                                    : TSDB__WAL_SYNC_NEVER;
  wo.interval_ms = db->opts.sync_interval_ms;
  wo.discard_failed_batch = true; /* a refused batch must not come back on replay */
  char *wdir = vg_asprintf("%s/wal", db->dir);
  rc = tsdb__wal_open(&db->wal, wdir, &wo, on_samples, &r, err, errlen);
  free(wdir);
  if (rc < 0) return rc;
  if (r.unknown)
    VG_WARN("store: log records name series missing from the series log; skipped",
            VF_I("records", (int64_t)r.unknown));
  if (r.records)
    VG_INFO("store: replayed the write-ahead log", VF_I("records", (int64_t)r.records),
            VF_I("points", (int64_t)r.samples));
  return 0;
}
