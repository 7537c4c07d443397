/*
 * The `sinks` section: where vigil forwards market data. For now one sink, InfluxDB 1.x
 * over HTTP (src/sink/, docs/sinks.md):
 *
 *   sinks:
 *     influx:
 *       url: http://127.0.0.1:8086
 *       db: tick
 *       retention_policy: default
 *       retention_policies:
 *         - {name: default, duration: 30d, default: true}
 *         - {name: high_frequency, duration: 7d}
 *       create_database: true
 *       batch: 5000
 *       flush: 1s
 */
#include "config/config_int.h"
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_BATCH 5000
#define MAX_BATCH 1000000
#define DEFAULT_FLUSH_MS 1000
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_SPOOL_MAX (1LL << 30)
/* Below this the spool could not hold even a few batches of ticks. */
#define MIN_SPOOL_MAX (64LL << 10)
/* InfluxDB refuses shorter retention policies. */
#define MIN_RP_DURATION_MS 3600000LL

static const char *const sinks_keys[] = {"influx"};
enum { S_INFLUX, S_N };

static const char *const influx_keys[] = {
    "url",   "db",    "retention_policy", "retention_policies", "create_database",
    "batch", "flush", "timeout",          "spool_max",          "username",
    "password_file",
};
enum {
  K_URL, K_DB, K_RP, K_RPS, K_CREATE, K_BATCH, K_FLUSH, K_TIMEOUT, K_SPOOL_MAX, K_USERNAME,
  K_PASSWORD_FILE, K_N
};

static const char *const rp_keys[] = {"name", "duration", "default"};
enum { R_NAME, R_DURATION, R_DEFAULT, R_N };

void cfg__sinks_defaults(struct cfg_sinks *s) {
  memset(s, 0, sizeof *s);
  struct cfg_influx_sink *i = &s->influx;
  i->batch = DEFAULT_BATCH;
  i->flush_ms = DEFAULT_FLUSH_MS;
  i->timeout_ms = DEFAULT_TIMEOUT_MS;
  i->spool_max = DEFAULT_SPOOL_MAX;
}

void cfg__sinks_free(struct cfg_sinks *s) {
  struct cfg_influx_sink *i = &s->influx;
  free(i->url);
  free(i->db);
  free(i->retention_policy);
  for (size_t k = 0; k < i->n_rps; k++) free(i->rps[k].name);
  free(i->rps);
  free(i->username);
  free(i->password_file);
  memset(s, 0, sizeof *s);
}

/* Database and policy names go into InfluxQL and URLs: a plain set keeps both simple. */
static bool valid_influx_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 128) return false;
  for (size_t k = 0; k < n; k++) {
    char ch = s[k];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.';
    if (!ok) return false;
  }
  return true;
}

/* A name read from n, or NULL after reporting; what is "database" or "retention policy". */
static char *influx_name(struct cfg__ctx *c, const struct cfg__node *n, const char *what) {
  char *s = cfg__string(c, n);
  if (s && !valid_influx_name(s)) {
    cfg_diag_add(c->diags, n->pos,
                 "bad %s name '%s': use 1 to 128 letters, digits, '_', '.' or '-'", what, s);
    free(s);
    return NULL;
  }
  return s;
}

/* http:// or https:// with a host; the trailing slash is dropped so paths can be added. */
static char *parse_url(struct cfg__ctx *c, const struct cfg__node *n) {
  char *s = cfg__string(c, n);
  if (!s) return NULL;
  char err[1200];
  if (cfg__url_check(s, CFG__URL_HTTPS | CFG__URL_NO_QUERY, "sinks.influx", err, sizeof err) < 0) {
    cfg_diag_add(c->diags, n->pos, "%s", err);
    free(s);
    return NULL;
  }
  size_t len = strlen(s);
  while (len > 0 && s[len - 1] == '/') s[--len] = '\0';
  return s;
}

static void parse_rp(struct cfg__ctx *c, struct cfg_influx_rp *rp, const struct cfg__node *n) {
  const struct cfg__pair *f[R_N];
  rp->pos = n->pos;
  if (!cfg__fields(c, n, rp_keys, R_N, f)) return;
  if (f[R_NAME]) rp->name = influx_name(c, f[R_NAME]->value, "retention policy");
  else cfg_diag_add(c->diags, n->pos, "a retention policy needs a name");
  if (f[R_DURATION]) {
    const struct cfg__node *d = f[R_DURATION]->value;
    int64_t ms;
    if (d->type == CFG__SCALAR && strcmp(d->text, "inf") == 0) rp->duration_ms = 0;
    else if (cfg__duration(c, d, &ms)) {
      if (ms != 0 && ms < MIN_RP_DURATION_MS)
        cfg_diag_add(c->diags, d->pos,
                     "a retention policy lasts at least 1h (or 0 / inf for ever), got '%s'",
                     d->text);
      else rp->duration_ms = ms;
    }
  } else {
    cfg_diag_add(c->diags, n->pos, "a retention policy needs a duration");
  }
  if (f[R_DEFAULT]) cfg__bool(c, f[R_DEFAULT]->value, &rp->is_default);
}

static void parse_rps(struct cfg__ctx *c, struct cfg_influx_sink *i, const struct cfg__node *n) {
  if (n->type != CFG__SEQ) {
    cfg__expected(c, n, "a list of retention policies");
    return;
  }
  i->rps = vg_calloc(n->n ? n->n : 1, sizeof *i->rps);
  const struct cfg_influx_rp *first_default = NULL;
  for (size_t k = 0; k < n->n; k++) {
    struct cfg_influx_rp *rp = &i->rps[i->n_rps++];
    parse_rp(c, rp, n->items[k]);
    for (size_t j = 0; rp->name && j + 1 < i->n_rps; j++)
      if (i->rps[j].name && strcmp(i->rps[j].name, rp->name) == 0)
        cfg_diag_add(c->diags, rp->pos, "retention policy '%s' is listed twice", rp->name);
    if (rp->is_default && first_default)
      cfg_diag_add(c->diags, rp->pos,
                   "only one retention policy can be the default (already: line %d)",
                   first_default->pos.line);
    else if (rp->is_default)
      first_default = rp;
  }
}

static void parse_int_key(struct cfg__ctx *c, const struct cfg__pair *p, const char *what,
                          long long min, long long max, int64_t *out) {
  long long v;
  if (p && cfg__int(c, p->value, what, min, max, &v)) *out = v;
}

/* A duration that must be more than zero. */
static void parse_positive_duration(struct cfg__ctx *c, const struct cfg__pair *p,
                                    const char *what, int64_t *out) {
  int64_t ms;
  if (!p || !cfg__duration(c, p->value, &ms)) return;
  if (ms <= 0) cfg_diag_add(c->diags, p->value->pos, "%s must be more than 0", what);
  else *out = ms;
}

static void parse_influx(struct cfg__ctx *c, struct cfg_influx_sink *i, const struct cfg__node *n,
                         const char *dir) {
  const struct cfg__pair *f[K_N];
  i->enabled = true;
  i->pos = n->pos;
  if (!cfg__fields(c, n, influx_keys, K_N, f)) return;
  if (f[K_URL]) i->url = parse_url(c, f[K_URL]->value);
  else cfg_diag_add(c->diags, n->pos, "sinks.influx needs url");
  if (f[K_DB]) i->db = influx_name(c, f[K_DB]->value, "database");
  else cfg_diag_add(c->diags, n->pos, "sinks.influx needs db");
  if (f[K_RP]) i->retention_policy = influx_name(c, f[K_RP]->value, "retention policy");
  if (f[K_RPS]) parse_rps(c, i, f[K_RPS]->value);
  if (f[K_CREATE]) cfg__bool(c, f[K_CREATE]->value, &i->create_database);
  parse_int_key(c, f[K_BATCH], "batch", 1, MAX_BATCH, &i->batch);
  parse_positive_duration(c, f[K_FLUSH], "flush", &i->flush_ms);
  parse_positive_duration(c, f[K_TIMEOUT], "timeout", &i->timeout_ms);
  int64_t size;
  if (f[K_SPOOL_MAX] && cfg__size(c, f[K_SPOOL_MAX]->value, &size)) {
    if (size < MIN_SPOOL_MAX)
      cfg_diag_add(c->diags, f[K_SPOOL_MAX]->value->pos, "spool_max must be at least 64KiB");
    else i->spool_max = size;
  }
  if (f[K_USERNAME]) {
    i->username = cfg__string(c, f[K_USERNAME]->value);
    if (i->username && !i->username[0])
      cfg_diag_add(c->diags, f[K_USERNAME]->value->pos, "username is empty");
  }
  if (f[K_PASSWORD_FILE]) {
    char *s = cfg__string(c, f[K_PASSWORD_FILE]->value);
    if (s && !s[0]) cfg_diag_add(c->diags, f[K_PASSWORD_FILE]->value->pos, "password_file is empty");
    else if (s) i->password_file = cfg__join_path(dir ? dir : "/", s);
    free(s);
  }
  if (f[K_USERNAME] && !f[K_PASSWORD_FILE])
    cfg_diag_add(c->diags, f[K_USERNAME]->key->pos, "username needs password_file");
  if (f[K_PASSWORD_FILE] && !f[K_USERNAME])
    cfg_diag_add(c->diags, f[K_PASSWORD_FILE]->key->pos, "password_file needs username");
}

void cfg__sinks_parse(struct cfg__ctx *c, struct cfg_sinks *s, const struct cfg__node *n,
                      const char *dir) {
  const struct cfg__pair *f[S_N];
  if (!cfg__fields(c, n, sinks_keys, S_N, f)) return;
  if (f[S_INFLUX]) parse_influx(c, &s->influx, f[S_INFLUX]->value, dir);
}
