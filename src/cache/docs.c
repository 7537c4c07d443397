/*
 * Aliases and documents. An alias names a key; a configured document is a named set of
 * keys (keys, aliases or globs) rendered on demand as one JSON object with each key's
 * age and a readiness flag (document 001's exf_latest); a set document is JSON given
 * whole by a bridge, kept as given, never moved backwards in time.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache_int.h"

static int alias_cmp(const void *a, const void *b) {
  return strcmp(((const struct cfg_cache_alias *)a)->name,
                ((const struct cfg_cache_alias *)b)->name);
}

void cache__docs_init(struct cache *c, const struct cfg_cache *cfg) {
  if (!cfg) return;
  c->n_aliases = cfg->n_aliases;
  c->aliases = vg_calloc(c->n_aliases + 1, sizeof *c->aliases);
  for (size_t i = 0; i < c->n_aliases; i++) {
    c->aliases[i].name = vg_strdup(cfg->aliases[i].name);
    c->aliases[i].key = vg_strdup(cfg->aliases[i].key);
  }
  qsort(c->aliases, c->n_aliases, sizeof *c->aliases, alias_cmp);
  c->n_docs = cfg->n_docs;
  c->docs = vg_calloc(c->n_docs + 1, sizeof *c->docs);
  for (size_t i = 0; i < c->n_docs; i++) {
    const struct cfg_cache_doc *d = &cfg->docs[i];
    c->docs[i].name = vg_strdup(d->name);
    c->docs[i].keys = vg_strv_dup(d->keys);
    c->docs[i].critical = d->critical ? vg_strv_dup(d->critical) : vg_calloc(1, sizeof(char *));
    c->docs[i].fresh_ms = d->fresh_ms;
    c->docs[i].ready_flag = vg_strdup(d->ready_flag ? d->ready_flag : "_ready");
  }
}

void cache__docs_free(struct cache *c) {
  for (size_t i = 0; i < c->n_aliases; i++) {
    free(c->aliases[i].name);
    free(c->aliases[i].key);
  }
  free(c->aliases);
  for (size_t i = 0; i < c->n_docs; i++) {
    free(c->docs[i].name);
    vg_strv_free(c->docs[i].keys);
    vg_strv_free(c->docs[i].critical);
    free(c->docs[i].ready_flag);
  }
  free(c->docs);
  for (size_t i = 0; i < c->n_sdocs; i++) {
    free(c->sdocs[i].name);
    free(c->sdocs[i].json);
  }
  free(c->sdocs);
}

const char *cache__resolve(const struct cache *c, const char *name) {
  if (!c->n_aliases) return name;
  struct cfg_cache_alias k = {.name = (char *)name};
  const struct cfg_cache_alias *a = bsearch(&k, c->aliases, c->n_aliases, sizeof k, alias_cmp);
  return a ? a->key : name;
}

/* ---- documents set whole ---- */

static struct cache__sdoc *find_sdoc(struct cache *c, const char *name) {
  for (size_t i = 0; i < c->n_sdocs; i++)
    if (strcmp(c->sdocs[i].name, name) == 0) return &c->sdocs[i];
  return NULL;
}

static const struct cfg_cache_doc *find_doc(const struct cache *c, const char *name) {
  for (size_t i = 0; i < c->n_docs; i++)
    if (strcmp(c->docs[i].name, name) == 0) return &c->docs[i];
  return NULL;
}

int cache_doc_set(struct cache *c, const char *name, const char *json, size_t len, int64_t ts,
                  const char *source, unsigned flags) {
  if (!c || !name || !*name || find_doc(c, name)) return -EINVAL; /* configured: rendered */
  bool object;
  if (flags & CACHE_DOC_BUILT) {
    object = len >= 2 && json[0] == '{' && json[len - 1] == '}';
  } else {
    json_error_t jerr;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    object = o && json_is_object(o);
    json_decref(o);
  }
  if (!object) return -EINVAL;
  uint16_t src = cache__source(c, source ? source : "");
  int rc = 0;
  pthread_mutex_lock(&c->sdoc_mu);
  struct cache__sdoc *d = find_sdoc(c, name);
  if (!d) {
    c->sdocs = vg_realloc(c->sdocs, (c->n_sdocs + 1) * sizeof *c->sdocs);
    d = &c->sdocs[c->n_sdocs++];
    memset(d, 0, sizeof *d);
    d->name = vg_strdup(name);
    d->ts = INT64_MIN;
  }
  if (ts < d->ts) {
    rc = -EALREADY;
  } else {
    free(d->json);
    d->json = vg_strndup(json, len);
    d->len = len;
    d->ts = ts;
    d->received = vg_wall_ns();
    d->source = src;
    d->dirty = true;
    atomic_store(&c->docs_dirty, true);
  }
  pthread_mutex_unlock(&c->sdoc_mu);
  return rc;
}

size_t cache__take_dirty_docs(struct cache *c, char ***names, char ***jsons) {
  *names = *jsons = NULL;
  if (!atomic_exchange(&c->docs_dirty, false)) return 0;
  pthread_mutex_lock(&c->sdoc_mu);
  size_t n = 0;
  *names = vg_calloc(c->n_sdocs + 1, sizeof **names);
  *jsons = vg_calloc(c->n_sdocs + 1, sizeof **jsons);
  for (size_t i = 0; i < c->n_sdocs; i++) {
    if (!c->sdocs[i].dirty) continue;
    c->sdocs[i].dirty = false;
    (*names)[n] = vg_strdup(c->sdocs[i].name);
    (*jsons)[n] = vg_strndup(c->sdocs[i].json, c->sdocs[i].len);
    n++;
  }
  pthread_mutex_unlock(&c->sdoc_mu);
  return n;
}

void cache__redirty_doc(struct cache *c, const char *name) {
  pthread_mutex_lock(&c->sdoc_mu);
  struct cache__sdoc *d = find_sdoc(c, name);
  if (d) {
    d->dirty = true;
    atomic_store(&c->docs_dirty, true);
  }
  pthread_mutex_unlock(&c->sdoc_mu);
}

/* ---- configured documents ---- */

struct render {
  struct vg_buf vals, ages;
  int64_t now;
  bool first_val, first_age;
  const char *as; /* the name to give the next entry (an alias), or NULL for its key */
};

static void put_value(struct vg_buf *b, const struct cache_entry *e) {
  switch (e->value.type) {
  case TSDB_FLOAT:
    if (isfinite(e->value.v.f)) vg_buf_double(b, e->value.v.f);
    else vg_buf_puts(b, "null"); /* JSON has no NaN or Inf: the flag says not ready */
    break;
  case TSDB_INT: vg_buf_printf(b, "%lld", (long long)e->value.v.i); break;
  case TSDB_UINT: vg_buf_printf(b, "%llu", (unsigned long long)e->value.v.u); break;
  case TSDB_BOOL: vg_buf_puts(b, e->value.v.b ? "true" : "false"); break;
  case TSDB_STRING: vg_buf_json_str(b, e->str); break;
  }
}

static bool render_one(void *arg, const struct cache_entry *e) {
  struct render *r = arg;
  const char *name = r->as ? r->as : e->key;
  vg_buf_puts(&r->vals, r->first_val ? "" : ",");
  r->first_val = false;
  vg_buf_json_str(&r->vals, name);
  vg_buf_putc(&r->vals, ':');
  put_value(&r->vals, e);
  vg_buf_puts(&r->ages, r->first_age ? "" : ",");
  r->first_age = false;
  vg_buf_json_str(&r->ages, name);
  vg_buf_putc(&r->ages, ':');
  double age = (double)(r->now - e->received) / 1e9;
  vg_buf_printf(&r->ages, "%.3f", age < 0 ? 0 : age);
  return true;
}

/* Whether the critical key k is present, numeric, finite and no older than fresh_ms;
 * its age into *age (-1 when absent). */
static bool critical_ok(struct cache *c, const char *k, int64_t fresh_ms, int64_t now,
                        double *age) {
  struct cache_entry e;
  *age = -1;
  if (cache_get(c, k, &e) < 0) return false;
  *age = (double)(now - e.received) / 1e9;
  bool ok = (e.value.type == TSDB_FLOAT && isfinite(e.value.v.f)) || e.value.type == TSDB_INT ||
            e.value.type == TSDB_UINT;
  ok = ok && (now - e.received) <= fresh_ms * 1000000;
  cache_entry_clear(&e);
  return ok;
}

/* A buffer's text, "" when nothing was ever appended (its data is NULL then). */
static const char *text(const struct vg_buf *b) { return b->data ? b->data : ""; }

static char *render_doc(struct cache *c, const struct cfg_cache_doc *d) {
  struct render r = {.now = vg_wall_ns(), .first_val = true, .first_age = true};
  vg_buf_init(&r.vals);
  vg_buf_init(&r.ages);
  struct vg_buf missing;
  vg_buf_init(&missing);
  bool first_missing = true;
  for (char **k = d->keys; *k; k++) {
    bool alias = cache__resolve(c, *k) != *k;
    r.as = alias ? *k : NULL;
    size_t n = cache_each(c, alias ? cache__resolve(c, *k) : *k, render_one, &r);
    if (n == 0 && !cache__is_glob(*k)) {
      vg_buf_puts(&missing, first_missing ? "" : ",");
      first_missing = false;
      vg_buf_json_str(&missing, *k);
    }
  }
  bool ready = true;
  for (char **k = d->critical; *k; k++) {
    double age;
    if (!critical_ok(c, *k, d->fresh_ms, r.now, &age)) ready = false;
  }
  struct vg_buf out;
  vg_buf_init(&out);
  char ts[40];
  vg_rfc3339_format(r.now, 3, ts, sizeof ts);
  vg_buf_printf(&out, "{%s%s\"_staleness_s\":{%s},\"_missing\":[%s],\"_ts\":\"%s\",",
                text(&r.vals), r.vals.len ? "," : "", text(&r.ages), text(&missing), ts);
  vg_buf_json_str(&out, d->ready_flag);
  vg_buf_printf(&out, ":%s}", ready ? "true" : "false");
  vg_buf_free(&r.vals);
  vg_buf_free(&r.ages);
  vg_buf_free(&missing);
  return out.data;
}

char *cache_doc_render(struct cache *c, const char *name) {
  if (!c) {
    errno = ENOENT;
    return NULL;
  }
  const struct cfg_cache_doc *d = find_doc(c, name);
  if (d) return render_doc(c, d);
  char *out = NULL;
  pthread_mutex_lock(&c->sdoc_mu);
  struct cache__sdoc *s = find_sdoc(c, name);
  if (s) out = vg_strndup(s->json, s->len);
  pthread_mutex_unlock(&c->sdoc_mu);
  if (!out) errno = ENOENT;
  return out;
}

size_t cache_doc_names(struct cache *c, char ***names) {
  pthread_mutex_lock(&c->sdoc_mu);
  size_t n = 0;
  *names = vg_calloc(c->n_docs + c->n_sdocs + 1, sizeof **names);
  for (size_t i = 0; i < c->n_docs; i++) (*names)[n++] = vg_strdup(c->docs[i].name);
  for (size_t i = 0; i < c->n_sdocs; i++) (*names)[n++] = vg_strdup(c->sdocs[i].name);
  pthread_mutex_unlock(&c->sdoc_mu);
  return n;
}

double cache_doc_age(struct cache *c, const char *name) {
  if (!c) return -1;
  int64_t now = vg_wall_ns();
  const struct cfg_cache_doc *d = find_doc(c, name);
  if (d) {
    /* the oldest critical key (every key when none is critical) */
    double oldest = 0;
    char **keys = d->critical && d->critical[0] ? d->critical : d->keys;
    for (char **k = keys; *k; k++) {
      if (cache__is_glob(*k)) continue;
      double age = cache_age(c, *k);
      if (age < 0) return -1;
      if (age > oldest) oldest = age;
    }
    return oldest;
  }
  double age = -1;
  pthread_mutex_lock(&c->sdoc_mu);
  struct cache__sdoc *s = find_sdoc(c, name);
  if (s) age = (double)(now - s->received) / 1e9;
  pthread_mutex_unlock(&c->sdoc_mu);
  return age < 0 && s ? 0 : age;
}
