/*
 * The `store` section: the embedded time-series store (docs/store.md).
 *
 *   store:
 *     dir: store                # under state_dir unless absolute
 *     sync: batch               # batch | interval | never
 *     sync_interval: 100ms
 *     block: 2h                 # head window flushed to one block; divides a day
 *     head_max_points: 8000000
 *     max_series: 1000000       # new series past it are refused (cardinality); 0: none
 *     retention:
 *       - {name: ticks, duration: 7d, measurement: "tick*", tags: {venue: "kraken*"}}
 *     rollups:
 *       - {name: ticks_1m, from: ticks, to: archive, every: 1m,
 *          aggregates: [mean, min, max, first, last]}
 */
#include "config/config_int.h"
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

static const char *const keys[] = {"enabled", "dir", "sync", "sync_interval", "block",
                                   "head_max_points", "max_series", "retention", "rollups"};
enum { K_ENABLED, K_DIR, K_SYNC, K_SYNC_INTERVAL, K_BLOCK, K_HEAD_MAX, K_MAX_SERIES, K_RETENTION,
       K_ROLLUPS, K_N };

static const char *const pol_keys[] = {"name", "duration", "measurement", "tags"};
enum { P_NAME, P_DURATION, P_MEASUREMENT, P_TAGS, P_N };

static const char *const ru_keys[] = {"name", "from", "to", "every", "aggregates"};
enum { R_NAME, R_FROM, R_TO, R_EVERY, R_AGGS, R_N };

static const char *const agg_names[] = {"first", "last", "min", "max", "sum", "count", "mean"};

void cfg__store_defaults(struct cfg_store *s, const char *state_dir) {
  memset(s, 0, sizeof *s);
  s->enabled = true;
  s->dir = state_dir ? cfg__join_path(state_dir, "store") : NULL;
  s->sync = CFG_SYNC_BATCH;
  s->sync_interval_ms = 100;
  s->block_ms = 2 * 3600 * 1000;
  s->head_max_points = 8000000;
  s->max_series = 1000000;
}

void cfg__store_free(struct cfg_store *s) {
  free(s->dir);
  for (size_t i = 0; i < s->n_policies; i++) {
    struct cfg_store_policy *p = &s->policies[i];
    free(p->name);
    free(p->measurement);
    vg_strv_free(p->tag_keys);
    vg_strv_free(p->tag_values);
  }
  free(s->policies);
  for (size_t i = 0; i < s->n_rollups; i++) {
    free(s->rollups[i].name);
    free(s->rollups[i].from);
    free(s->rollups[i].to);
  }
  free(s->rollups);
  memset(s, 0, sizeof *s);
}

static bool good_name(const char *s) {
  if (!*s || strlen(s) > 60) return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_' || *s == '-'))
      return false;
  return true;
}

static char *name_field(struct cfg__ctx *c, const struct cfg__pair *p, const struct cfg__node *owner,
                        const char *what) {
  if (!p) {
    cfg_diag_add(c->diags, owner->pos, "%s needs a name", what);
    return NULL;
  }
  char *s = cfg__string(c, p->value);
  if (s && !good_name(s)) {
    cfg_diag_add(c->diags, p->value->pos,
                 "bad %s name '%s': use 1-60 letters, digits, '_' or '-'", what, s);
    free(s);
    return NULL;
  }
  return s;
}

static void parse_policy(struct cfg__ctx *c, struct cfg_store *s, const struct cfg__node *n) {
  const struct cfg__pair *f[P_N];
  if (!cfg__fields(c, n, pol_keys, P_N, f)) return;
  struct cfg_store_policy p = {.pos = n->pos};
  p.name = name_field(c, f[P_NAME], n, "retention policy");
  if (!p.name) return;
  for (size_t i = 0; i < s->n_policies; i++)
    if (strcmp(s->policies[i].name, p.name) == 0) {
      cfg_diag_add(c->diags, f[P_NAME]->value->pos, "retention policy '%s' is defined twice", p.name);
      free(p.name);
      return;
    }
  if (f[P_DURATION] && !cfg__duration(c, f[P_DURATION]->value, &p.duration_ms)) p.duration_ms = 0;
  if (f[P_MEASUREMENT]) p.measurement = cfg__string(c, f[P_MEASUREMENT]->value);
  p.tag_keys = vg_calloc(1, sizeof *p.tag_keys);
  p.tag_values = vg_calloc(1, sizeof *p.tag_values);
  if (f[P_TAGS]) {
    const struct cfg__node *t = f[P_TAGS]->value;
    if (t->type != CFG__MAP) {
      cfg__expected(c, t, "a mapping of tag: glob");
    } else {
      p.tag_keys = vg_realloc(p.tag_keys, (t->n + 1) * sizeof *p.tag_keys);
      p.tag_values = vg_realloc(p.tag_values, (t->n + 1) * sizeof *p.tag_values);
      size_t k = 0;
      for (size_t i = 0; i < t->n; i++) {
        char *v = cfg__string(c, t->pairs[i].value);
        if (!v) continue;
        p.tag_keys[k] = vg_strdup(t->pairs[i].key->text);
        p.tag_values[k++] = v;
      }
      p.tag_keys[k] = p.tag_values[k] = NULL;
    }
  }
  s->policies = vg_realloc(s->policies, (s->n_policies + 1) * sizeof *s->policies);
  s->policies[s->n_policies++] = p;
}

static bool known_policy(const struct cfg_store *s, const char *name) {
  if (strcmp(name, "default") == 0) return true;
  for (size_t i = 0; i < s->n_policies; i++)
    if (strcmp(s->policies[i].name, name) == 0) return true;
  return false;
}

static void parse_rollup(struct cfg__ctx *c, struct cfg_store *s, const struct cfg__node *n) {
  const struct cfg__pair *f[R_N];
  if (!cfg__fields(c, n, ru_keys, R_N, f)) return;
  struct cfg_store_rollup r = {.pos = n->pos};
  r.name = name_field(c, f[R_NAME], n, "rollup");
  if (!r.name) return;
  const char *ends[2] = {"from", "to"};
  char **dst[2] = {&r.from, &r.to};
  for (int e = 0; e < 2; e++) {
    const struct cfg__pair *p = f[e == 0 ? R_FROM : R_TO];
    if (!p) {
      cfg_diag_add(c->diags, n->pos, "rollup '%s' needs '%s' (a retention policy)", r.name, ends[e]);
      continue;
    }
    char *v = cfg__string(c, p->value);
    if (v && !known_policy(s, v)) {
      const char *names[64];
      size_t k = 0;
      names[k++] = "default";
      for (size_t i = 0; i < s->n_policies && k < 64; i++) names[k++] = s->policies[i].name;
      const char *hint = cfg__suggest(v, names, k);
      cfg_diag_add(c->diags, p->value->pos, "rollup '%s': unknown retention policy '%s'%s%s%s",
                   r.name, v, hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
      free(v);
      v = NULL;
    }
    *dst[e] = v;
  }
  if (r.from && r.to && strcmp(r.from, r.to) == 0)
    cfg_diag_add(c->diags, f[R_TO]->value->pos, "rollup '%s': 'from' and 'to' must differ", r.name);
  if (!f[R_EVERY]) {
    cfg_diag_add(c->diags, n->pos, "rollup '%s' needs 'every' (the bucket width)", r.name);
  } else if (cfg__duration(c, f[R_EVERY]->value, &r.every_ms) &&
             (r.every_ms <= 0 || 86400000 % r.every_ms != 0)) {
    cfg_diag_add(c->diags, f[R_EVERY]->value->pos,
                 "rollup '%s': 'every' must divide a day (1s, 1m, 5m, 1h, 1d ...)", r.name);
  }
  if (f[R_AGGS]) {
    char **v = cfg__strv(c, f[R_AGGS]->value, "a list of aggregates");
    for (size_t i = 0; v && v[i]; i++) {
      size_t a = 0;
      while (a < VG_ARRAY_LEN(agg_names) && strcmp(v[i], agg_names[a]) != 0) a++;
      if (a == VG_ARRAY_LEN(agg_names)) {
        const char *hint = cfg__suggest(v[i], agg_names, VG_ARRAY_LEN(agg_names));
        struct cfg_pos pos = f[R_AGGS]->value->type == CFG__SEQ && i < f[R_AGGS]->value->n
                                 ? f[R_AGGS]->value->items[i]->pos
                                 : f[R_AGGS]->value->pos;
        cfg_diag_add(c->diags, pos, "unknown aggregate '%s'%s%s%s (one of first, last, min, "
                     "max, sum, count, mean)", v[i], hint ? " (did you mean '" : "",
                     hint ? hint : "", hint ? "'?)" : "");
      } else {
        r.aggs |= 1u << (a + 1); /* tsdb's enum order: none first */
      }
    }
    vg_strv_free(v);
  }
  s->rollups = vg_realloc(s->rollups, (s->n_rollups + 1) * sizeof *s->rollups);
  s->rollups[s->n_rollups++] = r;
}

void cfg__store_parse(struct cfg__ctx *c, struct cfg_store *s, const struct cfg__node *n,
                      const char *state_dir) {
  const struct cfg__pair *f[K_N];
  s->pos = n->pos;
  if (!cfg__fields(c, n, keys, K_N, f)) return;
  if (f[K_ENABLED]) cfg__bool(c, f[K_ENABLED]->value, &s->enabled);
  if (f[K_DIR]) {
    char *d = cfg__string(c, f[K_DIR]->value);
    if (d && !*d) cfg_diag_add(c->diags, f[K_DIR]->value->pos, "store dir is empty");
    else if (d && state_dir) {
      free(s->dir);
      s->dir = cfg__join_path(state_dir, d);
    }
    free(d);
  }
  if (f[K_SYNC]) {
    char *v = cfg__string(c, f[K_SYNC]->value);
    if (v && strcmp(v, "batch") == 0) s->sync = CFG_SYNC_BATCH;
    else if (v && strcmp(v, "interval") == 0) s->sync = CFG_SYNC_INTERVAL;
    else if (v && strcmp(v, "never") == 0) s->sync = CFG_SYNC_NEVER;
    else if (v)
      cfg_diag_add(c->diags, f[K_SYNC]->value->pos,
                   "bad sync policy '%s': expected batch, interval or never", v);
    free(v);
  }
  if (f[K_SYNC_INTERVAL] && cfg__duration(c, f[K_SYNC_INTERVAL]->value, &s->sync_interval_ms) &&
      (s->sync_interval_ms < 1 || s->sync_interval_ms > 60000))
    cfg_diag_add(c->diags, f[K_SYNC_INTERVAL]->value->pos, "sync_interval must be 1ms..1m");
  if (f[K_BLOCK] && cfg__duration(c, f[K_BLOCK]->value, &s->block_ms) &&
      (s->block_ms < 60000 || 86400000 % s->block_ms != 0))
    cfg_diag_add(c->diags, f[K_BLOCK]->value->pos,
                 "block must be at least 1m and divide a day (e.g. 1h, 2h, 6h)");
  if (f[K_HEAD_MAX]) {
    long long v;
    if (cfg__int(c, f[K_HEAD_MAX]->value, "head_max_points", 1000, 1000000000LL, &v))
      s->head_max_points = (uint64_t)v;
  }
  if (f[K_MAX_SERIES]) {
    long long v;
    if (cfg__int(c, f[K_MAX_SERIES]->value, "max_series", 0, 1000000000LL, &v))
      s->max_series = (uint64_t)v;
  }
  if (f[K_RETENTION]) {
    const struct cfg__node *l = f[K_RETENTION]->value;
    if (l->type != CFG__SEQ) cfg__expected(c, l, "a list of retention policies");
    else
      for (size_t i = 0; i < l->n; i++) parse_policy(c, s, l->items[i]);
  }
  if (f[K_ROLLUPS]) {
    const struct cfg__node *l = f[K_ROLLUPS]->value;
    if (l->type != CFG__SEQ) cfg__expected(c, l, "a list of rollups");
    else
      for (size_t i = 0; i < l->n; i++) parse_rollup(c, s, l->items[i]);
  }
}
