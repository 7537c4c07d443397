/*
 * The Redis mirror: a thread of its own takes the keys that changed (the stripes'
 * dirty lists) and writes them to Redis in pipelined rounds, never blocking a writer.
 * While Redis is down nothing piles up but the dirty flags: a key changed a thousand
 * times is written once, with its latest value, when Redis is back (the values it
 * skipped are counted as coalesced). A round lost with its connection is marked dirty
 * again and rewritten after the reconnect.
 *
 * Layout (docs/cache.md), PREFIX = cache.redis_prefix ("vigil:"):
 *   PREFIX MEAS           hash: field = the key after its measurement ("funding_btc",
 *                         "sym=BTC.price"), value = the value as text
 *   PREFIX MEAS ":ts"     hash: the same fields, the values' timestamps in ns
 *   PREFIX "doc:" NAME    string: a document's JSON
 * Values: floats in the shortest text that reads back exactly ("nan", "inf", "-inf"),
 * integers in decimal, booleans "true"/"false", strings as they are.
 */
#include <errno.h>
#include <fnmatch.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "cache/cache_int.h"
#include "metrics/metrics.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define IDLE_MS 5
#define DOC_RENDER_MS 250
#define FIELDS_PER_HSET 512

struct cache__mirror {
  struct cache *c;
  pthread_t thread;
  bool started;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop;
  /* settings */
  char *host, *unix_path, *prefix;
  int port, db;
  int64_t ttl_ms, timeout_ms, interval_ms;
  size_t batch;
  bool timestamps;
  redisContext *ctx;
  /* what the thread reports */
  atomic_bool connected;
  atomic_uint_fast64_t written, errors, reconnects;
  char last_error[160]; /* under mu */
  int64_t docs_rendered_at;
  uint64_t updates_at_render;
};

/* ---- values as text ---- */

void cache__value_text(const struct tsdb_value *v, const char *str, struct vg_buf *b) {
  switch (v->type) {
  case TSDB_FLOAT:
    if (isnan(v->v.f)) vg_buf_puts(b, "nan");
    else if (isinf(v->v.f)) vg_buf_puts(b, v->v.f > 0 ? "inf" : "-inf");
    else vg_buf_double(b, v->v.f);
    break;
  case TSDB_INT: vg_buf_printf(b, "%lld", (long long)v->v.i); break;
  case TSDB_UINT: vg_buf_printf(b, "%llu", (unsigned long long)v->v.u); break;
  case TSDB_BOOL: vg_buf_puts(b, v->v.b ? "true" : "false"); break;
  case TSDB_STRING: vg_buf_append(b, str, v->v.s.len); break;
  }
}

/* ---- connecting ---- */

static void set_error(struct cache__mirror *m, const char *what, const char *why) {
  pthread_mutex_lock(&m->mu);
  snprintf(m->last_error, sizeof m->last_error, "%s: %s", what, why);
  pthread_mutex_unlock(&m->mu);
}

static struct timeval tv_of(int64_t ms) {
  return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

/* A connection to the configured Redis with the database selected, or NULL (why in
 * err). Shared by the mirror thread and the diff. */
static redisContext *connect_redis(const struct cache__mirror *m, char *err, size_t errlen) {
  struct timeval tv = tv_of(m->timeout_ms);
  redisContext *ctx = m->unix_path ? redisConnectUnixWithTimeout(m->unix_path, tv)
                                   : redisConnectWithTimeout(m->host, m->port, tv);
  if (!ctx || ctx->err) {
    snprintf(err, errlen, "connect: %s", ctx ? ctx->errstr : "out of memory");
    if (ctx) redisFree(ctx);
    return NULL;
  }
  redisSetTimeout(ctx, tv);
  if (m->db) {
    redisReply *r = redisCommand(ctx, "SELECT %d", m->db);
    bool ok = r && r->type != REDIS_REPLY_ERROR;
    snprintf(err, errlen, "SELECT %d: %s", m->db, r && r->str ? r->str : ctx->errstr);
    freeReplyObject(r);
    if (!ok) {
      redisFree(ctx);
      return NULL;
    }
  }
  return ctx;
}

/* ---- one round ---- */

struct item {
  size_t key_off, key_len, meas_len, val_off, val_len;
  uint64_t hash;
  int64_t ts;
  struct tsdb_value v; /* a string's bytes at val_off until formatted */
};

struct round {
  struct cache__mirror *m;
  struct vg_buf bytes;
  struct item *items;
  size_t n, cap;
};

static void take_one(void *arg, const struct cache__entry *e) {
  struct round *r = arg;
  if (r->n == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 1024;
    r->items = vg_realloc(r->items, r->cap * sizeof *r->items);
  }
  struct item *it = &r->items[r->n++];
  it->key_off = r->bytes.len;
  it->key_len = e->key_len;
  it->meas_len = e->meas_len;
  it->hash = e->hash;
  it->ts = e->ts;
  vg_buf_append(&r->bytes, e->key, e->key_len);
  /* copied raw under the stripe's lock; formatted after it is released */
  it->v = e->value;
  it->val_off = r->bytes.len;
  if (e->value.type == TSDB_STRING) vg_buf_append(&r->bytes, e->str, e->value.v.s.len);
  it->val_len = r->bytes.len - it->val_off;
}

/* Formats every item's value as text at the end of the round's bytes. */
static void format_values(struct round *r) {
  for (size_t i = 0; i < r->n; i++) {
    struct item *it = &r->items[i];
    if (it->v.type == TSDB_STRING) continue; /* already text */
    it->val_off = r->bytes.len;
    cache__value_text(&it->v, NULL, &r->bytes);
    it->val_len = r->bytes.len - it->val_off;
  }
}

static const char *bytes_at(const struct round *r, size_t off) { return r->bytes.data + off; }

/* Orders items by measurement (arg: the round). */
static int item_cmp(const void *a, const void *b, void *arg) {
  const struct round *r = arg;
  const struct item *x = a, *y = b;
  size_t n = x->meas_len < y->meas_len ? x->meas_len : y->meas_len;
  int c = memcmp(bytes_at(r, x->key_off), bytes_at(r, y->key_off), n);
  if (c) return c;
  return (x->meas_len > y->meas_len) - (x->meas_len < y->meas_len);
}

/* The field of an item: its key after the measurement and the ',' or '.' after it. */
static void field_of(const struct round *r, const struct item *it, const char **p, size_t *n) {
  size_t skip = it->meas_len < it->key_len ? it->meas_len + 1 : it->key_len;
  *p = bytes_at(r, it->key_off) + skip;
  *n = it->key_len - skip;
}

struct cmds {
  const char **argv;
  size_t *argvlen;
  size_t cap;
  struct vg_buf text; /* hash names and timestamps; offsets fixed up before sending */
};

/* Appends the commands of items [a, b) (one measurement) to ctx's output buffer;
 * returns how many commands were appended. */
static size_t append_measurement(struct cache__mirror *m, struct round *r, size_t a, size_t b,
                                 struct cmds *cm) {
  size_t sent = 0;
  char hash[CACHE__MAX_KEY + 160], tshash[CACHE__MAX_KEY + 164];
  const struct item *first = &r->items[a];
  int hl = snprintf(hash, sizeof hash, "%s%.*s", m->prefix, (int)first->meas_len,
                    bytes_at(r, first->key_off));
  int tl = snprintf(tshash, sizeof tshash, "%s:ts", hash);
  for (size_t from = a; from < b; from += FIELDS_PER_HSET) {
    size_t to = from + FIELDS_PER_HSET < b ? from + FIELDS_PER_HSET : b;
    size_t need = 2 + 2 * (to - from);
    if (need > cm->cap) {
      cm->cap = need;
      cm->argv = vg_realloc(cm->argv, need * sizeof *cm->argv);
      cm->argvlen = vg_realloc(cm->argvlen, need * sizeof *cm->argvlen);
    }
    for (int pass = 0; pass < (m->timestamps ? 2 : 1); pass++) {
      cm->argv[0] = "HSET";
      cm->argvlen[0] = 4;
      cm->argv[1] = pass ? tshash : hash;
      cm->argvlen[1] = (size_t)(pass ? tl : hl);
      char tsbuf[FIELDS_PER_HSET][24];
      size_t k = 2;
      for (size_t i = from; i < to; i++) {
        const struct item *it = &r->items[i];
        field_of(r, it, &cm->argv[k], &cm->argvlen[k]);
        k++;
        if (pass) {
          cm->argvlen[k] = (size_t)snprintf(tsbuf[i - from], sizeof tsbuf[0], "%lld",
                                            (long long)it->ts);
          cm->argv[k] = tsbuf[i - from];
        } else {
          cm->argv[k] = bytes_at(r, it->val_off);
          cm->argvlen[k] = it->val_len;
        }
        k++;
      }
      /* hiredis copies the arguments into its output buffer here */
      redisAppendCommandArgv(m->ctx, (int)k, cm->argv, cm->argvlen);
      sent++;
    }
  }
  if (m->ttl_ms > 0) {
    redisAppendCommand(m->ctx, "PEXPIRE %b %lld", hash, (size_t)hl, (long long)m->ttl_ms);
    sent++;
    if (m->timestamps) {
      redisAppendCommand(m->ctx, "PEXPIRE %b %lld", tshash, (size_t)tl, (long long)m->ttl_ms);
      sent++;
    }
  }
  return sent;
}

static void disconnect(struct cache__mirror *m, const char *why) {
  if (m->ctx) {
    set_error(m, "redis", why);
    VG_WARN("cache mirror lost its Redis connection", VF_S("error", why));
    redisFree(m->ctx);
    m->ctx = NULL;
  }
  atomic_store(&m->connected, false);
}

/* Reads n replies; false when the connection failed (the round is then lost). */
static bool read_replies(struct cache__mirror *m, size_t n) {
  for (size_t i = 0; i < n; i++) {
    redisReply *reply = NULL;
    if (redisGetReply(m->ctx, (void **)&reply) != REDIS_OK) {
      disconnect(m, m->ctx->errstr[0] ? m->ctx->errstr : "no reply");
      return false;
    }
    if (reply && reply->type == REDIS_REPLY_ERROR) {
      atomic_fetch_add(&m->errors, 1);
      set_error(m, "redis", reply->str);
    }
    freeReplyObject(reply);
  }
  return true;
}

/* Documents: the set ones that changed, the configured ones every DOC_RENDER_MS while
 * keys change. Returns how many commands were appended. */
static size_t append_docs(struct cache__mirror *m, char ***names, char ***jsons, size_t *nset) {
  struct cache *c = m->c;
  size_t sent = 0;
  *nset = cache__take_dirty_docs(c, names, jsons);
  for (size_t i = 0; i < *nset; i++) {
    char key[512];
    int kl = snprintf(key, sizeof key, "%sdoc:%s", m->prefix, (*names)[i]);
    if (m->ttl_ms > 0)
      redisAppendCommand(m->ctx, "SET %b %s PX %lld", key, (size_t)kl, (*jsons)[i],
                         (long long)m->ttl_ms);
    else redisAppendCommand(m->ctx, "SET %b %s", key, (size_t)kl, (*jsons)[i]);
    sent++;
  }
  int64_t now = (int64_t)vg_now_ms();
  uint64_t updates = atomic_load(&c->updates);
  if (c->n_docs && updates != m->updates_at_render && now - m->docs_rendered_at >= DOC_RENDER_MS) {
    m->docs_rendered_at = now;
    m->updates_at_render = updates;
    for (size_t i = 0; i < c->n_docs; i++) {
      char *json = cache_doc_render(c, c->docs[i].name);
      char key[512];
      int kl = snprintf(key, sizeof key, "%sdoc:%s", m->prefix, c->docs[i].name);
      redisAppendCommand(m->ctx, "SET %b %s", key, (size_t)kl, json);
      free(json);
      sent++;
    }
  }
  return sent;
}

/* One round: take up to batch dirty keys, write them; returns the keys taken. */
static size_t round_once(struct cache__mirror *m, struct round *r, struct cmds *cm) {
  struct cache *c = m->c;
  r->n = 0;
  vg_buf_reset(&r->bytes);
  size_t budget = m->batch;
  for (size_t s = 0; s < CACHE__STRIPES && budget; s++) {
    size_t got = cache__take_dirty(c, s, budget, take_one, r);
    budget -= got;
  }
  format_values(r);
  char **names = NULL, **jsons = NULL;
  size_t nset = 0;
  size_t cmds = append_docs(m, &names, &jsons, &nset);
  if (r->n) qsort_r(r->items, r->n, sizeof *r->items, item_cmp, r);
  for (size_t a = 0; a < r->n;) {
    size_t b = a + 1;
    while (b < r->n && item_cmp(&r->items[a], &r->items[b], r) == 0) b++;
    cmds += append_measurement(m, r, a, b, cm);
    a = b;
  }
  bool ok = cmds == 0 || read_replies(m, cmds);
  if (ok) {
    atomic_fetch_add(&m->written, r->n);
  } else {
    /* lost with the connection: written again, with whatever is latest, after the
     * reconnect */
    for (size_t i = 0; i < r->n; i++)
      cache__redirty(c, bytes_at(r, r->items[i].key_off), r->items[i].key_len, r->items[i].hash);
    for (size_t i = 0; i < nset; i++) cache__redirty_doc(c, names[i]);
    m->updates_at_render = 0;
  }
  for (size_t i = 0; i < nset; i++) {
    free(names[i]);
    free(jsons[i]);
  }
  free(names);
  free(jsons);
  return r->n + nset;
}

/* Sleeps ms or until stopped; true when stopped. */
static bool nap(struct cache__mirror *m, int64_t ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (ms % 1000) * 1000000;
  if (until.tv_nsec >= 1000000000) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&m->mu);
  if (!m->stop) pthread_cond_timedwait(&m->cv, &m->mu, &until);
  bool stop = m->stop;
  pthread_mutex_unlock(&m->mu);
  return stop;
}

static bool stopping(struct cache__mirror *m) {
  pthread_mutex_lock(&m->mu);
  bool stop = m->stop;
  pthread_mutex_unlock(&m->mu);
  return stop;
}

static void *mirror_main(void *arg) {
  struct cache__mirror *m = arg;
  struct round r = {.m = m};
  vg_buf_init(&r.bytes);
  struct cmds cm = {0};
  int64_t backoff = BACKOFF_MIN_MS;
  bool was_connected = false;
  for (;;) {
    bool stop = stopping(m);
    if (!m->ctx) {
      char err[200];
      m->ctx = connect_redis(m, err, sizeof err);
      if (!m->ctx) {
        set_error(m, "redis", err);
        if (stop || nap(m, backoff)) break;
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
        continue;
      }
      if (was_connected) atomic_fetch_add(&m->reconnects, 1);
      was_connected = true;
      backoff = BACKOFF_MIN_MS;
      atomic_store(&m->connected, true);
      VG_INFO("cache mirror connected to Redis");
    }
    uint64_t started = vg_now_ms();
    size_t n = round_once(m, &r, &cm);
    if (stop) break; /* one last round done */
    /* a round that took less than the batch waits out the interval: a key changing a
     * thousand times a second is written interval-often, its latest value each time
     * (Redis's CPU is spent on values someone can read, not on every tick) */
    uint64_t spent = vg_now_ms() - started;
    int64_t wait = n == 0 ? IDLE_MS
                 : n < m->batch && (int64_t)spent < m->interval_ms ? m->interval_ms - (int64_t)spent
                 : 0;
    if (wait > 0 && nap(m, wait)) {
      if (m->ctx) (void)round_once(m, &r, &cm);
      break;
    }
  }
  if (m->ctx) redisFree(m->ctx);
  m->ctx = NULL;
  atomic_store(&m->connected, false);
  vg_buf_free(&r.bytes);
  free(r.items);
  free(cm.argv);
  free(cm.argvlen);
  return NULL;
}

int cache__mirror_start(struct cache *c, const struct cfg_cache *cfg, struct mt_registry *reg,
                        char *err, size_t errlen) {
  struct cache__mirror *m = vg_calloc(1, sizeof *m);
  m->c = c;
  pthread_mutex_init(&m->mu, NULL);
  pthread_cond_init(&m->cv, NULL);
  m->host = cfg->redis_host ? vg_strdup(cfg->redis_host) : NULL;
  m->unix_path = cfg->redis_unix ? vg_strdup(cfg->redis_unix) : NULL;
  m->prefix = vg_strdup(cfg->redis_prefix ? cfg->redis_prefix : "vigil:");
  m->port = cfg->redis_port;
  m->db = cfg->redis_db;
  m->ttl_ms = cfg->redis_ttl_ms;
  m->timeout_ms = cfg->redis_timeout_ms > 0 ? cfg->redis_timeout_ms : 2000;
  m->batch = cfg->redis_batch > 0 ? (size_t)cfg->redis_batch : 10000;
  m->interval_ms = cfg->redis_interval_ms;
  m->timestamps = cfg->redis_timestamps;
  c->mirror = m;
  int rc = pthread_create(&m->thread, NULL, mirror_main, m);
  if (rc) {
    snprintf(err, errlen, "cannot start the cache mirror thread: %s", strerror(rc));
    return -1;
  }
  m->started = true;
  (void)reg;
  return 0;
}

void cache__mirror_stop(struct cache *c) {
  struct cache__mirror *m = c->mirror;
  if (!m) return;
  if (m->started) {
    pthread_mutex_lock(&m->mu);
    m->stop = true;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
  }
  free(m->host);
  free(m->unix_path);
  free(m->prefix);
  pthread_mutex_destroy(&m->mu);
  pthread_cond_destroy(&m->cv);
  free(m);
  c->mirror = NULL;
}

void cache_mirror_stats(struct cache *c, struct cache_mirror_stats *out) {
  memset(out, 0, sizeof *out);
  struct cache__mirror *m = c ? c->mirror : NULL;
  if (!m) return;
  out->configured = true;
  out->connected = atomic_load(&m->connected);
  out->keys_written = atomic_load(&m->written);
  out->keys_dropped = atomic_load(&c->coalesced);
  out->write_errors = atomic_load(&m->errors);
  out->reconnects = atomic_load(&m->reconnects);
  for (size_t s = 0; s < CACHE__STRIPES; s++) {
    pthread_mutex_lock(&c->stripes[s].mu);
    out->pending += c->stripes[s].n_dirty;
    pthread_mutex_unlock(&c->stripes[s].mu);
  }
  pthread_mutex_lock(&m->mu);
  snprintf(out->last_error, sizeof out->last_error, "%s", m->last_error);
  pthread_mutex_unlock(&m->mu);
}

/* ---- the diff ---- */

struct kv {
  char *meas, *field, *key, *val;
  bool numeric;
  bool young; /* the cache's value may not have reached Redis yet: not compared */
  double num;
};

static int kv_cmp(const void *a, const void *b) {
  const struct kv *x = a, *y = b;
  int c = strcmp(x->meas, y->meas);
  return c ? c : strcmp(x->field, y->field);
}

struct collect {
  struct kv *v;
  size_t n, cap;
};

static bool parse_num(const char *s, double *out) {
  if (!*s) return false;
  if (strcmp(s, "nan") == 0) {
    *out = NAN;
    return true;
  }
  char *end;
  *out = strtod(s, &end);
  return *end == '\0';
}

static void kv_add(struct collect *col, const char *meas, size_t ml, const char *field,
                   const char *key, const char *val) {
  if (col->n == col->cap) {
    col->cap = col->cap ? col->cap * 2 : 256;
    col->v = vg_realloc(col->v, col->cap * sizeof *col->v);
  }
  struct kv *k = &col->v[col->n++];
  k->meas = vg_strndup(meas, ml);
  k->field = vg_strdup(field);
  k->key = vg_strdup(key);
  k->val = vg_strdup(val);
  k->numeric = parse_num(val, &k->num);
}

/* Entries younger than this may not have reached Redis yet: not compared. */
#define DIFF_SETTLE_NS 1000000000LL

static bool collect_entry(void *arg, const struct cache_entry *e) {
  struct collect *col = arg;
  size_t len = strlen(e->key), ml = cache__meas_len(e->key, len);
  struct vg_buf v;
  vg_buf_init(&v);
  cache__value_text(&e->value, e->str, &v);
  kv_add(col, e->key, ml, ml < len ? e->key + ml + 1 : "", e->key, v.data);
  col->v[col->n - 1].young = vg_wall_ns() - e->received < DIFF_SETTLE_NS;
  vg_buf_free(&v);
  return true;
}

static void kv_free(struct collect *col) {
  for (size_t i = 0; i < col->n; i++) {
    free(col->v[i].meas);
    free(col->v[i].field);
    free(col->v[i].key);
    free(col->v[i].val);
  }
  free(col->v);
}

static void note(char ***list, size_t *n, size_t max, size_t *count, const char *key) {
  (*count)++;
  if (*n >= max) return;
  *list = vg_realloc(*list, (*n + 1) * sizeof **list);
  (*list)[(*n)++] = vg_strdup(key);
}

static bool values_differ(const struct kv *a, const struct kv *b, double tol) {
  if (a->numeric && b->numeric) {
    if (isnan(a->num) || isnan(b->num)) return isnan(a->num) != isnan(b->num);
    if (a->num == b->num) return false;
    return fabs(a->num - b->num) > tol;
  }
  return strcmp(a->val, b->val) != 0;
}

/* HGETALL of hash into col (meas given). -1 on a connection error. */
static int hgetall(redisContext *ctx, const char *hash, const char *meas, const char *glob,
                   struct collect *col, char *err, size_t errlen) {
  redisReply *r = redisCommand(ctx, "HGETALL %s", hash);
  if (!r) {
    snprintf(err, errlen, "HGETALL %s: %s", hash, ctx->errstr);
    return -1;
  }
  if (r->type == REDIS_REPLY_ARRAY) {
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
      const char *field = r->element[i]->str, *val = r->element[i + 1]->str;
      if (!field || !val) continue;
      char *key = vg_asprintf("%s%s%s", meas, strchr(field, '=') ? "," : ".", field);
      if (!glob || fnmatch(glob, key, 0) == 0) kv_add(col, meas, strlen(meas), field, key, val);
      free(key);
    }
  }
  freeReplyObject(r);
  return 0;
}

int cache_mirror_diff(struct cache *c, const char *glob, double tolerance, size_t max,
                      struct cache_diff *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  struct cache__mirror *m = c ? c->mirror : NULL;
  if (!m) {
    snprintf(err, errlen, "no Redis mirror is configured (cache.redis)");
    return -ENOTCONN;
  }
  if (glob && strcmp(glob, "*") == 0) glob = NULL;
  redisContext *ctx = connect_redis(m, err, errlen);
  if (!ctx) return -1;
  struct collect mine = {0}, theirs = {0};
  (void)cache_each(c, glob, collect_entry, &mine);
  /* every hash under the prefix that is not a timestamp or document key */
  size_t plen = strlen(m->prefix);
  int rc = 0;
  char cursor[32] = "0";
  do {
    redisReply *r = redisCommand(ctx, "SCAN %s MATCH %s* COUNT 1000", cursor, m->prefix);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
      snprintf(err, errlen, "SCAN: %s", r && r->str ? r->str : ctx->errstr);
      freeReplyObject(r);
      rc = -1;
      break;
    }
    snprintf(cursor, sizeof cursor, "%s", r->element[0]->str ? r->element[0]->str : "0");
    for (size_t i = 0; i < r->element[1]->elements && rc == 0; i++) {
      const char *k = r->element[1]->element[i]->str;
      size_t kl = k ? strlen(k) : 0;
      if (!k || kl <= plen || strncmp(k + plen, "doc:", 4) == 0 ||
          (kl > 3 && strcmp(k + kl - 3, ":ts") == 0))
        continue;
      redisReply *t = redisCommand(ctx, "TYPE %s", k);
      bool hash = t && t->str && strcmp(t->str, "hash") == 0;
      freeReplyObject(t);
      if (hash) rc = hgetall(ctx, k, k + plen, glob, &theirs, err, errlen);
    }
    freeReplyObject(r);
  } while (rc == 0 && strcmp(cursor, "0") != 0);
  redisFree(ctx);
  if (rc == 0) {
    if (mine.n) qsort(mine.v, mine.n, sizeof *mine.v, kv_cmp);
    if (theirs.n) qsort(theirs.v, theirs.n, sizeof *theirs.v, kv_cmp);
    size_t i = 0, j = 0;
    while (i < mine.n || j < theirs.n) {
      int cmp = i == mine.n ? 1 : j == theirs.n ? -1 : kv_cmp(&mine.v[i], &theirs.v[j]);
      if (cmp < 0) {
        if (!mine.v[i].young)
          note(&out->only_cache_keys, &out->n_only_cache_keys, max, &out->only_cache, mine.v[i].key);
        i++;
      } else if (cmp > 0) {
        note(&out->only_redis_keys, &out->n_only_redis_keys, max, &out->only_redis,
             theirs.v[j].key);
        j++;
      } else {
        if (!mine.v[i].young && values_differ(&mine.v[i], &theirs.v[j], tolerance))
          note(&out->differ_keys, &out->n_differ_keys, max, &out->differ, mine.v[i].key);
        i++;
        j++;
      }
    }
  }
  kv_free(&mine);
  kv_free(&theirs);
  return rc;
}

void cache_diff_free(struct cache_diff *d) {
  for (size_t i = 0; i < d->n_only_cache_keys; i++) free(d->only_cache_keys[i]);
  for (size_t i = 0; i < d->n_only_redis_keys; i++) free(d->only_redis_keys[i]);
  for (size_t i = 0; i < d->n_differ_keys; i++) free(d->differ_keys[i]);
  free(d->only_cache_keys);
  free(d->only_redis_keys);
  free(d->differ_keys);
  memset(d, 0, sizeof *d);
}
