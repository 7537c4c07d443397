/*
 * One evaluation of the monitor's checks: reads the entries through a mon_source (the
 * cache, or a test's table), the feeds' statistics, the sampled service states, Redis
 * and the store, and lists what it found as findings. Pure apart from those reads: the
 * alerts (alerts.c) and the health (mon_health_of) are made from its result.
 */
#include "monitor/mon_int.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"
#include "tsdb/tsdb.h"

#define NS_PER_S 1000000000LL
/* A key received this recently may still be on its way into the store. */
#define IN_FLIGHT_NS (2 * NS_PER_S)
#define DIFF_NAMES 20
#define add mon__add_finding

const char *mon_severity_name(int s) { return cfg_severity_name(s); }

int mon_severity_parse(const char *s) {
  if (!strcmp(s, "info")) return MON_INFO;
  if (!strcmp(s, "warning")) return MON_WARNING;
  if (!strcmp(s, "critical")) return MON_CRITICAL;
  return -1;
}

const char *mon_health_name(enum mon_health h) {
  return h == MON_HEALTHY ? "healthy" : h == MON_DEGRADED ? "degraded" : "critical";
}

bool mon__is_glob(const char *s) { return strpbrk(s, "*?[") != NULL; }

void mon__entry_clear(struct cache_entry *e) {
  free(e->key);
  free(e->str);
  memset(e, 0, sizeof *e);
}

void mon__diff_free(struct cache_diff *d) {
  for (size_t i = 0; i < d->n_only_cache_keys; i++) free(d->only_cache_keys[i]);
  for (size_t i = 0; i < d->n_only_redis_keys; i++) free(d->only_redis_keys[i]);
  for (size_t i = 0; i < d->n_differ_keys; i++) free(d->differ_keys[i]);
  free(d->only_cache_keys);
  free(d->only_redis_keys);
  free(d->differ_keys);
  memset(d, 0, sizeof *d);
}

void mon__add_finding(struct mon_eval *ev, const char *check, const char *key, int severity,
                      const char *category, char *message, char *details) {
  if (ev->n == ev->cap) {
    ev->cap = ev->cap ? 2 * ev->cap : 16;
    ev->f = vg_realloc(ev->f, ev->cap * sizeof *ev->f);
  }
  ev->f[ev->n++] = (struct mon_finding){.check = vg_strdup(check),
                                        .key = vg_strdup(key),
                                        .category = vg_strdup(category),
                                        .message = message,
                                        .severity = severity,
                                        .details = details ? details : vg_strdup("{}")};
}

static int sev(const struct cfg_check *k, int dflt) { return k->severity >= 0 ? k->severity : dflt; }

static bool numeric(const struct tsdb_value *v, double *out) {
  switch (v->type) {
  case TSDB_FLOAT: *out = v->v.f; return true;
  case TSDB_INT: *out = (double)v->v.i; return true;
  case TSDB_UINT: *out = (double)v->v.u; return true;
  default: return false;
  }
}

static char *json_num(double v) {
  struct vg_buf b;
  vg_buf_init(&b);
  if (isfinite(v)) vg_buf_double(&b, v);
  else vg_buf_puts(&b, isnan(v) ? "\"NaN\"" : v > 0 ? "\"+Inf\"" : "\"-Inf\"");
  return b.data;
}

/* ---- expect and critical: exact keys (or aliases) ---- */
static void check_presence(const struct cfg_check *k, const struct mon_source *src,
                           struct mon_eval *ev, bool critical) {
  for (size_t i = 0; k->keys && k->keys[i]; i++) {
    const char *key = k->keys[i];
    struct cache_entry e;
    ev->counts.expected++;
    const char *cat = critical ? "missing_critical" : "missing";
    int s = sev(k, critical ? MON_CRITICAL : MON_WARNING);
    if (src->get(src->arg, key, &e) < 0) {
      ev->counts.missing++;
      if (critical) ev->counts.missing_critical++;
      add(ev, k->name, key, s, cat, vg_asprintf("%s is not present", key), NULL);
      continue;
    }
    double v;
    if (!numeric(&e.value, &v)) {
      ev->counts.missing++;
      if (critical) ev->counts.missing_critical++;
      add(ev, k->name, key, s, cat, vg_asprintf("%s is not numeric (%s)", key, tsdb_type_name(e.value.type)),
          vg_asprintf("{\"type\":\"%s\"}", tsdb_type_name(e.value.type)));
    } else if (critical && !isfinite(v)) {
      ev->counts.missing++;
      ev->counts.missing_critical++;
      char *num = json_num(v);
      add(ev, k->name, key, s, cat, vg_asprintf("%s is not finite (%s)", key, isnan(v) ? "NaN" : "Inf"),
          vg_asprintf("{\"value\":%s}", num));
      free(num);
    } else {
      ev->counts.present++;
    }
    mon__entry_clear(&e);
  }
}

/* ---- stale and range: globs over the entries ---- */
struct walk {
  const struct cfg_check *k;
  struct mon_eval *ev;
  size_t idx;
  int64_t now;
  bool restart_due;
};

static bool stale_one(void *arg, const struct cache_entry *e) {
  struct walk *w = arg;
  const struct cfg_check *k = w->k;
  int64_t age = w->now - e->received;
  int s = -1;
  int64_t limit = 0;
  if (k->critical_ms && age > k->critical_ms * 1000000LL) {
    s = MON_CRITICAL;
    limit = k->critical_ms;
    if (k->restart) w->restart_due = true;
  } else if (k->warn_ms && age > k->warn_ms * 1000000LL) {
    s = MON_WARNING;
    limit = k->warn_ms;
  }
  if (s < 0) return true;
  if (k->severity >= 0 && s == MON_WARNING && k->severity < s) s = k->severity;
  w->ev->counts.stale++;
  double secs = (double)age / 1e9;
  add(w->ev, k->name, e->key, s, "staleness",
      vg_asprintf("%s is stale (%.0fs, %s past %.0fs)", e->key, secs, mon_severity_name(s),
                  (double)limit / 1e3),
      vg_asprintf("{\"staleness_seconds\":%.3f,\"limit_seconds\":%.3f,\"source\":\"%s\"}", secs,
                  (double)limit / 1e3, e->source));
  return true;
}

static bool range_one(void *arg, const struct cache_entry *e) {
  struct walk *w = arg;
  const struct cfg_check *k = w->k;
  double v;
  if (!numeric(&e->value, &v)) return true; /* expect/critical say what is not numeric */
  bool low = !isnan(k->min) && !(v >= k->min), high = !isnan(k->max) && !(v <= k->max);
  if (!low && !high) return true;
  char *num = json_num(v), *mn = json_num(k->min), *mx = json_num(k->max);
  add(w->ev, k->name, e->key, sev(k, MON_WARNING), "range",
      vg_asprintf("%s = %g is %s %g", e->key, v, low ? "below" : "above", low ? k->min : k->max),
      vg_asprintf("{\"value\":%s,\"min\":%s,\"max\":%s}", num, isnan(k->min) ? "null" : mn,
                  isnan(k->max) ? "null" : mx));
  free(num);
  free(mn);
  free(mx);
  return true;
}

/* The exact keys of a stale or range check: looked up one by one. */
static void check_exact(const struct cfg_check *k, const struct mon_source *src, struct walk *w,
                        cache_each_fn *fn) {
  for (size_t i = 0; k->keys && k->keys[i]; i++) {
    if (mon__is_glob(k->keys[i])) continue;
    struct cache_entry e;
    if (src->get(src->arg, k->keys[i], &e) == 0) {
      fn(w, &e);
      mon__entry_clear(&e);
    }
  }
}

/* Every glob of every stale and range check, matched in one walk over the entries: the
 * walk (copying entries out of the cache) is the cost of an evaluation, so it is paid
 * once however many checks there are. */
struct glob_ref {
  const char *glob;
  size_t plen;    /* "prefix*": the prefix's length */
  bool all, prefix;
  size_t walk;    /* index into the walks */
};
struct multi {
  struct walk *walks;
  cache_each_fn **fns;
  struct glob_ref *g;
  size_t n_g;
};

static bool glob_ref_match(const struct glob_ref *g, const char *key) {
  if (g->all) return true;
  if (g->prefix) return strncmp(key, g->glob, g->plen) == 0;
  return fnmatch(g->glob, key, 0) == 0;
}

static bool multi_one(void *arg, const struct cache_entry *e) {
  struct multi *mu = arg;
  size_t last = SIZE_MAX;
  for (size_t i = 0; i < mu->n_g; i++) {
    const struct glob_ref *g = &mu->g[i];
    if (g->walk == last || !glob_ref_match(g, e->key)) continue;
    last = g->walk; /* globs of one check are adjacent: an entry counts once per check */
    mu->fns[g->walk](&mu->walks[g->walk], e);
  }
  return true;
}

static void check_walks(const struct cfg_monitor *m, const struct mon_source *src, struct mon_eval *ev,
                        int64_t now) {
  size_t nw = 0, ng = 0;
  for (size_t i = 0; i < m->n_checks; i++) {
    const struct cfg_check *k = &m->checks[i];
    if (k->kind != CFG_CHECK_STALE && k->kind != CFG_CHECK_RANGE) continue;
    nw++;
    for (size_t j = 0; k->keys && k->keys[j]; j++) ng += mon__is_glob(k->keys[j]);
  }
  if (!nw) return;
  struct multi mu = {.walks = vg_calloc(nw, sizeof *mu.walks), .fns = vg_calloc(nw, sizeof *mu.fns),
                     .g = vg_calloc(ng + 1, sizeof *mu.g)};
  size_t w = 0;
  for (size_t i = 0; i < m->n_checks; i++) {
    const struct cfg_check *k = &m->checks[i];
    if (k->kind != CFG_CHECK_STALE && k->kind != CFG_CHECK_RANGE) continue;
    mu.walks[w] = (struct walk){.k = k, .ev = ev, .idx = i, .now = now};
    mu.fns[w] = k->kind == CFG_CHECK_STALE ? stale_one : range_one;
    check_exact(k, src, &mu.walks[w], mu.fns[w]);
    for (size_t j = 0; k->keys && k->keys[j]; j++) {
      const char *g = k->keys[j];
      if (!mon__is_glob(g)) continue;
      size_t len = strlen(g);
      struct glob_ref *r = &mu.g[mu.n_g++];
      *r = (struct glob_ref){.glob = g, .walk = w, .all = !strcmp(g, "*")};
      r->prefix = !r->all && len && g[len - 1] == '*' && strcspn(g, "*?[\\") == len - 1;
      r->plen = len - 1;
    }
    w++;
  }
  if (mu.n_g == 1) {
    /* one glob: the cache matches it itself (a prefix without fnmatch) */
    src->each(src->arg, mu.g[0].all ? NULL : mu.g[0].glob, mu.fns[mu.g[0].walk], &mu.walks[mu.g[0].walk]);
  } else if (mu.n_g > 1) {
    bool all = false;
    for (size_t i = 0; i < mu.n_g; i++) all |= mu.g[i].all;
    /* a common prefix of every glob narrows the walk the cache makes */
    size_t common = SIZE_MAX;
    for (size_t i = 0; i < mu.n_g && !all; i++) {
      size_t lit = strcspn(mu.g[i].glob, "*?[\\");
      if (common == SIZE_MAX) common = lit;
      else {
        size_t c = 0;
        while (c < common && c < lit && mu.g[i].glob[c] == mu.g[0].glob[c]) c++;
        common = c;
      }
    }
    char *pre = NULL;
    if (!all && common && common != SIZE_MAX) {
      pre = vg_malloc(common + 2);
      memcpy(pre, mu.g[0].glob, common);
      pre[common] = '*';
      pre[common + 1] = '\0';
    }
    src->each(src->arg, pre, multi_one, &mu);
    free(pre);
  }
  for (size_t i = 0; i < nw; i++)
    if (mu.walks[i].restart_due) ev->restart_due[mu.walks[i].idx] = true;
  free(mu.walks);
  free(mu.fns);
  free(mu.g);
}

/* ---- feeds ---- */
static void check_rate(const struct cfg_check *k, const struct mon_source *src, struct mon_eval *ev,
                       size_t idx) {
  struct ingest_feed_stats st;
  if (!src->feed_stats || !src->feed_stats(src->arg, k->target, &st)) {
    ev->ran[idx] = false;
    return;
  }
  if (st.point_rate >= k->min) return;
  add(ev, k->name, k->target, sev(k, MON_WARNING), "rate",
      vg_asprintf("feed %s receives %.1f points/s, below %.1f", k->target, st.point_rate, k->min),
      vg_asprintf("{\"points_per_second\":%.3f,\"min\":%.3f}", st.point_rate, k->min));
}

static void check_gaps(const struct cfg_check *k, const struct mon_source *src, struct mon_eval *ev,
                       size_t idx, int64_t now, struct mon_memo *memo) {
  struct ingest_feed_stats st;
  if (!src->feed_stats || !src->feed_stats(src->arg, k->target, &st)) {
    ev->ran[idx] = false;
    return;
  }
  uint64_t gaps = st.seq.gaps;
  if (memo) {
    if (!memo->init[idx]) {
      memo->init[idx] = true;
      memo->gaps[idx] = gaps; /* gaps from before the monitor started count once */
      memo->gap_at[idx] = gaps ? now : 0;
      memo->missed[idx] = st.seq.missed;
    } else if (gaps > memo->gaps[idx]) {
      memo->gaps[idx] = gaps;
      memo->gap_at[idx] = now;
    }
    if (!memo->gap_at[idx] || now - memo->gap_at[idx] > k->window_ms * 1000000LL) return;
  } else if (!gaps) {
    return;
  }
  add(ev, k->name, k->target, sev(k, MON_WARNING), "gap",
      vg_asprintf("feed %s: sequence gaps within the last %llds (%llu gaps, %llu messages missed)",
                  k->target, (long long)(k->window_ms / 1000), (unsigned long long)gaps,
                  (unsigned long long)st.seq.missed),
      vg_asprintf("{\"gaps\":%llu,\"missed\":%llu}", (unsigned long long)gaps,
                  (unsigned long long)st.seq.missed));
}

/* ---- services ---- */
static void check_service(const struct cfg_check *k, const struct mon_service_state *svc, size_t n,
                          struct mon_eval *ev, size_t idx) {
  const struct mon_service_state *s = NULL;
  for (size_t i = 0; i < n && !s; i++)
    if (!strcmp(svc[i].name, k->target)) s = &svc[i];
  if (!s) {
    ev->ran[idx] = svc != NULL;
    if (svc)
      add(ev, k->name, k->target, sev(k, MON_CRITICAL), "service",
          vg_asprintf("service %s does not exist", k->target), NULL);
    return;
  }
  if (vg_strv_contains(k->states, s->state)) return;
  add(ev, k->name, k->target, sev(k, MON_CRITICAL), "service",
      vg_asprintf("service %s is %s", k->target, s->state),
      vg_asprintf("{\"state\":\"%s\"}", s->state));
}

/* ---- divergence ---- */
static void names_json(struct vg_buf *b, const char *name, char **v, size_t n, bool last) {
  vg_buf_printf(b, "\"%s\":[", name);
  for (size_t i = 0; i < n; i++) {
    if (i) vg_buf_putc(b, ',');
    vg_buf_json_str(b, v[i]);
  }
  vg_buf_puts(b, last ? "]" : "],");
}

static void diverged(const struct cfg_check *k, struct mon_eval *ev, const char *against,
                     struct cache_diff *d) {
  size_t total = d->only_cache + d->only_redis + d->differ;
  if (total <= (size_t)k->allow) return;
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_printf(&b, "{\"only_cache\":%zu,\"only_%s\":%zu,\"differ\":%zu,\"allow\":%lld,", d->only_cache,
                against, d->only_redis, d->differ, k->allow);
  names_json(&b, "only_cache_keys", d->only_cache_keys, d->n_only_cache_keys, false);
  char other[32];
  snprintf(other, sizeof other, "only_%s_keys", against);
  names_json(&b, other, d->only_redis_keys, d->n_only_redis_keys, false);
  names_json(&b, "differ_keys", d->differ_keys, d->n_differ_keys, true);
  vg_buf_putc(&b, '}');
  add(ev, k->name, against, sev(k, MON_WARNING), "divergence",
      vg_asprintf("cache and %s diverge: %zu keys (%zu only in the cache, %zu only in %s, %zu "
                  "differ; %lld allowed)",
                  against, total, d->only_cache, d->only_redis, against, d->differ, k->allow),
      b.data);
}

static void push_name(char ***v, size_t *n, size_t *count, const char *s) {
  (*count)++;
  if (*n >= DIFF_NAMES) return;
  *v = vg_realloc(*v, (*n + 1) * sizeof **v);
  (*v)[(*n)++] = vg_strdup(s);
}

static void check_redis(const struct cfg_check *k, const struct mon_source *src, struct mon_eval *ev,
                        size_t idx) {
  if (!src->mirror_diff) {
    ev->ran[idx] = false;
    return;
  }
  struct cache_diff sum = {0};
  char *const all[] = {NULL, NULL};
  char *const *globs = k->keys ? k->keys : all;
  size_t n = k->keys ? vg_strv_len(k->keys) : 1;
  for (size_t i = 0; i < n; i++) {
    struct cache_diff d = {0};
    char err[256] = "";
    if (src->mirror_diff(src->arg, globs[i], k->tolerance, DIFF_NAMES, &d, err, sizeof err) < 0) {
      ev->counts.backend_lost = true;
      add(ev, k->name, "redis", MON_CRITICAL, "connectivity",
          vg_asprintf("Redis cannot be read: %s", err[0] ? err : "not configured"), NULL);
      mon__diff_free(&d);
      mon__diff_free(&sum);
      return;
    }
    sum.only_cache += d.only_cache;
    sum.only_redis += d.only_redis;
    sum.differ += d.differ;
    size_t counted = 0; /* the counts are summed above; only the names are kept */
    for (size_t j = 0; j < d.n_only_cache_keys; j++)
      push_name(&sum.only_cache_keys, &sum.n_only_cache_keys, &counted, d.only_cache_keys[j]);
    for (size_t j = 0; j < d.n_only_redis_keys; j++)
      push_name(&sum.only_redis_keys, &sum.n_only_redis_keys, &counted, d.only_redis_keys[j]);
    for (size_t j = 0; j < d.n_differ_keys; j++)
      push_name(&sum.differ_keys, &sum.n_differ_keys, &counted, d.differ_keys[j]);
    mon__diff_free(&d);
  }
  diverged(k, ev, "redis", &sum);
  mon__diff_free(&sum);
}

/* The entries to compare with the store, grouped by measurement afterwards. */
struct copy {
  char *key;
  struct tsdb_value value; /* numbers and bools only */
  int64_t ts, received;
};
struct copies {
  struct copy *v;
  size_t n, cap;
};

static bool copy_one(void *arg, const struct cache_entry *e) {
  struct copies *cs = arg;
  /* only what the ingest pipeline took went into the store (a bridge's keys did not) */
  if (strncmp(e->source, "feed:", 5) != 0 && strcmp(e->source, "http") != 0) return true;
  if (cs->n == cs->cap) {
    cs->cap = cs->cap ? 2 * cs->cap : 64;
    cs->v = vg_realloc(cs->v, cs->cap * sizeof *cs->v);
  }
  cs->v[cs->n++] = (struct copy){.key = vg_strdup(e->key), .value = e->value, .ts = e->ts,
                                 .received = e->received};
  if (e->value.type == TSDB_STRING) cs->v[cs->n - 1].value.v.s = (struct tsdb_str){0};
  return true;
}

static int by_key(const void *a, const void *b) {
  return strcmp(((const struct copy *)a)->key, ((const struct copy *)b)->key);
}

/* The measurement of a cache key: up to the first unescaped ',', else the last '.'. */
size_t mon__key_measurement(const char *key, size_t *series_len) {
  const char *dot = strrchr(key, '.');
  size_t slen = dot ? (size_t)(dot - key) : strlen(key);
  size_t i = 0;
  for (; i < slen; i++) {
    if (key[i] == '\\' && i + 1 < slen) {
      i++;
      continue;
    }
    if (key[i] == ',') break;
  }
  if (series_len) *series_len = slen;
  return i;
}

static bool same_value(const struct tsdb_value *a, const struct tsdb_value *b, double tol) {
  double x, y;
  if (numeric(a, &x) && numeric(b, &y)) return fabs(x - y) <= tol || (isnan(x) && isnan(y));
  if (a->type == TSDB_BOOL && b->type == TSDB_BOOL) return a->v.b == b->v.b;
  return a->type == TSDB_STRING && b->type == TSDB_STRING; /* strings: presence only */
}

static void check_store(const struct cfg_check *k, const struct mon_source *src, struct mon_eval *ev,
                        size_t idx, int64_t now) {
  if (!src->store) {
    ev->ran[idx] = false;
    return;
  }
  struct copies cs = {0};
  if (k->keys) {
    for (size_t i = 0; k->keys[i]; i++) src->each(src->arg, k->keys[i], copy_one, &cs);
  } else {
    src->each(src->arg, NULL, copy_one, &cs);
  }
  if (cs.n) qsort(cs.v, cs.n, sizeof *cs.v, by_key);
  struct cache_diff d = {0};
  /* one tsdb_last per measurement: entries sorted by key keep a measurement together
   * unless names that prefix one another interleave, which only costs a repeated read */
  for (size_t i = 0; i < cs.n;) {
    size_t mlen = mon__key_measurement(cs.v[i].key, NULL);
    char *meas = vg_strndup(cs.v[i].key, mlen);
    size_t j = i;
    while (j < cs.n && strncmp(cs.v[j].key, meas, mlen) == 0 &&
           mon__key_measurement(cs.v[j].key, NULL) == mlen)
      j++;
    struct tsdb_result r = {0};
    char err[160];
    char *unesc = vg_strdup(meas); /* the store's query takes the bare name */
    size_t o = 0;
    for (size_t q = 0; unesc[q]; q++) {
      if (unesc[q] == '\\' && unesc[q + 1]) q++;
      unesc[o++] = unesc[q];
    }
    unesc[o] = '\0';
    struct tsdb_query q = {.measurement = unesc};
    int rc = tsdb_last(src->store, &q, &r, err, sizeof err);
    /* the store's keys as cache keys: "m,t=v#field" -> "m,t=v.field", sorted */
    size_t ns = rc == 0 ? r.n_series : 0;
    char **skeys = vg_calloc(ns + 1, sizeof *skeys);
    for (size_t s = 0; s < ns; s++) {
      skeys[s] = vg_strdup(r.series[s].key);
      char *hash = strrchr(skeys[s], '#');
      if (hash) *hash = '.';
    }
    for (size_t c = i; c < j; c++) {
      const struct copy *e = &cs.v[c];
      const struct tsdb_series_data *hit = NULL;
      for (size_t s = 0; s < ns && !hit; s++)
        if (!strcmp(skeys[s], e->key)) hit = &r.series[s];
      if (!hit || !hit->n) {
        if (now - e->received > IN_FLIGHT_NS) push_name(&d.only_cache_keys, &d.n_only_cache_keys, &d.only_cache, e->key);
        continue;
      }
      int64_t sts = hit->ts[hit->n - 1];
      const struct tsdb_value *sv = &hit->values[hit->n - 1];
      if (sts == e->ts && same_value(&e->value, sv, k->tolerance)) continue;
      if (sts > e->ts && now - e->received <= IN_FLIGHT_NS) continue;
      push_name(&d.differ_keys, &d.n_differ_keys, &d.differ, e->key);
    }
    for (size_t s = 0; s < ns; s++) free(skeys[s]);
    free(skeys);
    if (rc == 0) tsdb_result_free(&r);
    free(unesc);
    free(meas);
    i = j;
  }
  for (size_t i = 0; i < cs.n; i++) free(cs.v[i].key);
  free(cs.v);
  diverged(k, ev, "store", &d);
  mon__diff_free(&d);
}

/* ---- the built-in check: the cache's Redis backend ---- */
static void check_backend(const struct mon_source *src, struct mon_eval *ev, size_t idx) {
  if (!src->mirror_stats) {
    ev->ran[idx] = false;
    return;
  }
  struct cache_mirror_stats st;
  memset(&st, 0, sizeof st);
  src->mirror_stats(src->arg, &st);
  if (!st.configured || st.connected) return;
  ev->counts.backend_lost = true;
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_printf(&b, "{\"pending\":%zu,\"write_errors\":%llu,\"reconnects\":%llu,\"last_error\":",
                st.pending, (unsigned long long)st.write_errors, (unsigned long long)st.reconnects);
  vg_buf_json_str(&b, st.last_error);
  vg_buf_putc(&b, '}');
  add(ev, MON__BACKEND_CHECK, "redis", MON_CRITICAL, "connectivity",
      vg_asprintf("the cache's Redis mirror is not connected%s%s", st.last_error[0] ? ": " : "",
                  st.last_error),
      b.data);
}

void mon_evaluate_memo(const struct cfg_monitor *m, const struct mon_source *src,
                       const struct mon_service_state *services, size_t n_services, int64_t now,
                       struct mon_memo *memo, struct mon_eval *ev) {
  memset(ev, 0, sizeof *ev);
  ev->at = now;
  ev->ran = vg_calloc(m->n_checks + 1, sizeof *ev->ran);
  ev->restart_due = vg_calloc(m->n_checks + 1, sizeof *ev->restart_due);
  for (size_t i = 0; i < m->n_checks; i++) {
    const struct cfg_check *k = &m->checks[i];
    ev->ran[i] = true;
    switch (k->kind) {
    case CFG_CHECK_EXPECT: check_presence(k, src, ev, false); break;
    case CFG_CHECK_CRITICAL: check_presence(k, src, ev, true); break;
    case CFG_CHECK_STALE:
    case CFG_CHECK_RANGE: break; /* all of them in one walk, below */
    case CFG_CHECK_RATE: check_rate(k, src, ev, i); break;
    case CFG_CHECK_GAPS: check_gaps(k, src, ev, i, now, memo); break;
    case CFG_CHECK_SERVICE: check_service(k, services, n_services, ev, i); break;
    case CFG_CHECK_DIVERGENCE:
      if (!strcmp(k->target, "redis")) check_redis(k, src, ev, i);
      else check_store(k, src, ev, i, now);
      break;
    }
  }
  check_walks(m, src, ev, now);
  ev->ran[m->n_checks] = true;
  check_backend(src, ev, m->n_checks);
}

void mon_evaluate(const struct cfg_monitor *m, const struct mon_source *src,
                  const struct mon_service_state *services, size_t n_services, int64_t now,
                  struct mon_eval *ev) {
  mon_evaluate_memo(m, src, services, n_services, now, NULL, ev);
}

void mon_eval_free(struct mon_eval *ev) {
  for (size_t i = 0; i < ev->n; i++) {
    struct mon_finding *f = &ev->f[i];
    free(f->check);
    free(f->key);
    free(f->category);
    free(f->message);
    free(f->details);
  }
  free(ev->f);
  free(ev->ran);
  free(ev->restart_due);
  memset(ev, 0, sizeof *ev);
}

enum mon_health mon_health_of(const struct cfg_monitor *m, const struct mon_eval *ev) {
  const struct mon_counts *c = &ev->counts;
  if ((m->critical_on_missing_critical && c->missing_critical > 0) ||
      (m->critical_on_backend_lost && c->backend_lost))
    return MON_CRITICAL_HEALTH;
  if (c->stale > (size_t)m->degraded_stale || c->missing > (size_t)m->degraded_missing)
    return MON_DEGRADED;
  return MON_HEALTHY;
}
