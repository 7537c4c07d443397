/*
 * The `cache` section: the latest-value cache's aliases and documents and its Redis
 * mirror (src/cache/, docs/cache.md):
 *
 *   cache:
 *     enabled: true
 *     max_keys: 1000000
 *     aliases:
 *       funding_btc: exf.funding_btc
 *     documents:
 *       exf_latest:
 *         keys: [funding_btc, "exf.*"]
 *         critical: [funding_btc]
 *         fresh: 120s
 *         ready_flag: _acb_ready
 *     redis: redis://127.0.0.1:6379/0
 *     redis_prefix: "vigil:"
 *     redis_ttl: 0
 */
#include "config/config_int.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_KEYS 1000000
#define DEFAULT_FRESH_MS 120000 /* document 001: STALENESS_ALERT_S */
#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_BATCH 10000
#define DEFAULT_INTERVAL_MS 10

static const char *const cache_keys[] = {
    "enabled",      "max_keys",     "aliases",   "documents",    "redis",       "redis_prefix",
    "redis_ttl",    "redis_timeout", "redis_batch", "redis_timestamps", "redis_interval",
};
enum {
  K_ENABLED, K_MAX_KEYS, K_ALIASES, K_DOCUMENTS, K_REDIS, K_PREFIX, K_TTL, K_TIMEOUT, K_BATCH, K_TS,
  K_INTERVAL, K_N
};

static const char *const doc_keys[] = {"keys", "critical", "fresh", "ready_flag"};
enum { D_KEYS, D_CRITICAL, D_FRESH, D_READY_FLAG, D_N };

void cfg__cache_defaults(struct cfg_cache *s) {
  memset(s, 0, sizeof *s);
  s->enabled = true;
  s->max_keys = DEFAULT_MAX_KEYS;
  s->redis_prefix = vg_strdup("vigil:");
  s->redis_port = 6379;
  s->redis_timeout_ms = DEFAULT_TIMEOUT_MS;
  s->redis_batch = DEFAULT_BATCH;
  s->redis_timestamps = true;
  s->redis_interval_ms = DEFAULT_INTERVAL_MS;
}

void cfg__cache_free(struct cfg_cache *s) {
  for (size_t i = 0; i < s->n_aliases; i++) {
    free(s->aliases[i].name);
    free(s->aliases[i].key);
  }
  free(s->aliases);
  for (size_t i = 0; i < s->n_docs; i++) {
    struct cfg_cache_doc *d = &s->docs[i];
    free(d->name);
    vg_strv_free(d->keys);
    vg_strv_free(d->critical);
    free(d->ready_flag);
  }
  free(s->docs);
  free(s->redis);
  free(s->redis_host);
  free(s->redis_unix);
  free(s->redis_prefix);
  memset(s, 0, sizeof *s);
}

/* A key as the cache names it: 1 to 1024 bytes, no control characters (line
 * protocol's escapes are the key's own business). */
static bool valid_key(const char *k) {
  size_t n = strlen(k);
  if (n == 0 || n > 1024) return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)k[i] < 0x20 || k[i] == 0x7f) return false;
  return true;
}

static void parse_aliases(struct cfg__ctx *c, struct cfg_cache *s, const struct cfg__node *n) {
  if (n->type != CFG__MAP) {
    cfg__expected(c, n, "a mapping of alias: key");
    return;
  }
  s->aliases = vg_calloc(n->n + 1, sizeof *s->aliases);
  for (size_t i = 0; i < n->n; i++) {
    const struct cfg__pair *p = &n->pairs[i];
    if (p->duplicate || !cfg__entry_name(c, p, "alias", true)) continue;
    char *key = cfg__string(c, p->value);
    if (!key) continue;
    if (!valid_key(key)) {
      cfg_diag_add(c->diags, p->value->pos,
                   "bad key for alias '%s': 1 to 1024 bytes, no control characters",
                   p->key->text);
      free(key);
      continue;
    }
    struct cfg_cache_alias *a = &s->aliases[s->n_aliases++];
    a->name = vg_strdup(p->key->text);
    a->key = key;
    a->pos = p->key->pos;
  }
}

static void parse_doc(struct cfg__ctx *c, struct cfg_cache_doc *d, const struct cfg__node *n) {
  const struct cfg__pair *f[D_N];
  d->fresh_ms = DEFAULT_FRESH_MS;
  if (!cfg__fields(c, n, doc_keys, D_N, f)) return;
  if (f[D_KEYS]) d->keys = cfg__strv(c, f[D_KEYS]->value, "keys");
  if (!d->keys || !d->keys[0])
    cfg_diag_add(c->diags, f[D_KEYS] ? f[D_KEYS]->value->pos : n->pos,
                 "document '%s' needs keys: a list of keys, aliases or globs", d->name);
  if (f[D_CRITICAL]) d->critical = cfg__strv(c, f[D_CRITICAL]->value, "critical");
  if (f[D_FRESH]) (void)cfg__duration(c, f[D_FRESH]->value, &d->fresh_ms);
  if (f[D_READY_FLAG]) {
    d->ready_flag = cfg__string(c, f[D_READY_FLAG]->value);
    if (d->ready_flag && (d->ready_flag[0] != '_' || !cfg__valid_name(d->ready_flag + 1, false))) {
      cfg_diag_add(c->diags, f[D_READY_FLAG]->value->pos,
                   "bad ready_flag '%s': '_' then a name (letters, digits, '_', '-')",
                   d->ready_flag);
    }
  }
  if (!d->ready_flag) d->ready_flag = vg_strdup("_ready");
}

static void parse_docs(struct cfg__ctx *c, struct cfg_cache *s, const struct cfg__node *n) {
  if (n->type != CFG__MAP) {
    cfg__expected(c, n, "a mapping of document names");
    return;
  }
  s->docs = vg_calloc(n->n + 1, sizeof *s->docs);
  for (size_t i = 0; i < n->n; i++) {
    const struct cfg__pair *p = &n->pairs[i];
    if (p->duplicate || !cfg__entry_name(c, p, "document", false)) continue;
    struct cfg_cache_doc *d = &s->docs[s->n_docs++];
    d->name = vg_strdup(p->key->text);
    d->pos = p->key->pos;
    parse_doc(c, d, p->value);
  }
}

/* "redis://HOST[:PORT][/DB]" (HOST a name, IPv4 or [IPv6]) or "unix:/PATH[?db=N]". */
static int parse_redis_url(const char *u, struct cfg_cache *s, char *err, size_t errlen) {
  long long db = 0;
  if (strncmp(u, "unix:", 5) == 0) {
    const char *path = u + 5;
    const char *q = strchr(path, '?');
    size_t plen = q ? (size_t)(q - path) : strlen(path);
    if (plen == 0 || path[0] != '/') {
      snprintf(err, errlen, "bad redis URL '%s': unix: needs an absolute socket path", u);
      return -1;
    }
    if (q && (strncmp(q, "?db=", 4) != 0 || cfg__parse_int(q + 4, &db) < 0 || db < 0 ||
              db > 1000000)) {
      snprintf(err, errlen, "bad redis URL '%s': after the path only ?db=N", u);
      return -1;
    }
    s->redis_unix = vg_strndup(path, plen);
    s->redis_db = (int)db;
    return 0;
  }
  if (strncmp(u, "redis://", 8) != 0) {
    snprintf(err, errlen, "bad redis URL '%s': expected redis://HOST[:PORT][/DB] or unix:/PATH",
             u);
    return -1;
  }
  const char *h = u + 8, *end;
  const char *rest;
  if (*h == '[') {
    end = strchr(h, ']');
    if (!end) {
      snprintf(err, errlen, "bad redis URL '%s': unclosed '['", u);
      return -1;
    }
    s->redis_host = vg_strndup(h + 1, (size_t)(end - h - 1));
    rest = end + 1;
  } else {
    end = h + strcspn(h, ":/");
    s->redis_host = vg_strndup(h, (size_t)(end - h));
    rest = end;
  }
  if (!s->redis_host[0] || strpbrk(s->redis_host, "@ \t?#")) {
    snprintf(err, errlen, "bad redis URL '%s': a host name or address is needed (no user info)",
             u);
    return -1;
  }
  if (*rest == ':') {
    long long port;
    char buf[16];
    size_t pl = strcspn(rest + 1, "/");
    if (pl == 0 || pl >= sizeof buf) goto bad_port;
    memcpy(buf, rest + 1, pl);
    buf[pl] = '\0';
    if (cfg__parse_int(buf, &port) < 0 || port < 1 || port > 65535) goto bad_port;
    s->redis_port = (int)port;
    rest += 1 + pl;
  }
  if (*rest == '/' && rest[1]) {
    if (cfg__parse_int(rest + 1, &db) < 0 || db < 0 || db > 1000000) {
      snprintf(err, errlen, "bad redis URL '%s': the database after '/' is a number", u);
      return -1;
    }
    s->redis_db = (int)db;
  } else if (*rest && strcmp(rest, "/") != 0) {
    snprintf(err, errlen, "bad redis URL '%s': unexpected '%s'", u, rest);
    return -1;
  }
  return 0;
bad_port:
  snprintf(err, errlen, "bad redis URL '%s': the port is 1 to 65535", u);
  return -1;
}

void cfg__cache_parse(struct cfg__ctx *c, struct cfg_cache *s, const struct cfg__node *n) {
  const struct cfg__pair *f[K_N];
  s->pos = n->pos;
  if (!cfg__fields(c, n, cache_keys, K_N, f)) return;
  long long v;
  if (f[K_ENABLED]) (void)cfg__bool(c, f[K_ENABLED]->value, &s->enabled);
  if (f[K_MAX_KEYS] && cfg__int(c, f[K_MAX_KEYS]->value, "max_keys", 1, 1LL << 32, &v))
    s->max_keys = v;
  if (f[K_ALIASES]) parse_aliases(c, s, f[K_ALIASES]->value);
  if (f[K_DOCUMENTS]) parse_docs(c, s, f[K_DOCUMENTS]->value);
  if (f[K_REDIS]) {
    char *u = cfg__string(c, f[K_REDIS]->value);
    char err[512];
    if (u && parse_redis_url(u, s, err, sizeof err) < 0)
      cfg_diag_add(c->diags, f[K_REDIS]->value->pos, "%s", err);
    s->redis = u;
  }
  if (f[K_PREFIX]) {
    char *p = cfg__string(c, f[K_PREFIX]->value);
    if (p) {
      free(s->redis_prefix);
      s->redis_prefix = p;
      if (strlen(p) > 128)
        cfg_diag_add(c->diags, f[K_PREFIX]->value->pos, "redis_prefix is at most 128 bytes");
    }
  }
  if (f[K_TTL]) (void)cfg__duration(c, f[K_TTL]->value, &s->redis_ttl_ms);
  if (f[K_TIMEOUT] && cfg__duration(c, f[K_TIMEOUT]->value, &s->redis_timeout_ms) &&
      s->redis_timeout_ms < 10)
    cfg_diag_add(c->diags, f[K_TIMEOUT]->value->pos, "redis_timeout is at least 10ms");
  if (f[K_BATCH] && cfg__int(c, f[K_BATCH]->value, "redis_batch", 1, 1000000, &v))
    s->redis_batch = v;
  if (f[K_TS]) (void)cfg__bool(c, f[K_TS]->value, &s->redis_timestamps);
  if (f[K_INTERVAL] && cfg__duration(c, f[K_INTERVAL]->value, &s->redis_interval_ms) &&
      s->redis_interval_ms > 10000)
    cfg_diag_add(c->diags, f[K_INTERVAL]->value->pos, "redis_interval is at most 10s");
  if (!f[K_REDIS]) {
    for (int k = K_PREFIX; k <= K_INTERVAL; k++)
      if (f[k])
        cfg_diag_add(c->diags, f[k]->key->pos, "%s has no effect without cache.redis",
                     cache_keys[k]);
  }
}
