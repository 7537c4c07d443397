/*
 * The `failover` section: this node's name, the lease (on Redis or PostgreSQL), its
 * timing, the cooldown and the promote/demote actions; and the timing rule that keeps
 * a node from acting on a lease it may have lost (docs/failover.md):
 *
 *   renew + 2 × timeout + margin ≤ ttl
 *
 * so that a holder gets at least one renewal and one retry, each bounded by `timeout`,
 * before it must begin to fence itself `margin` before the lease can expire.
 *
 *   failover:
 *     node: a
 *     lease: {redis: "127.0.0.1:6379", key: "vigil:lease"}   # or {postgres: "conninfo"}
 *     ttl: 2s
 *     renew: 500ms
 *     cooldown: 5m
 *     promote: [{redis_promote: "127.0.0.1:6380"}, {exec: [notify.sh], timeout: 5s}]
 *     demote: [{redis_replicate: {replica: "127.0.0.1:6380", primary: "10.0.0.2:6380"}}]
 */
#include "config/config_int.h"
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

static const char *const keys[] = {"node", "lease", "ttl", "renew", "timeout",
                                   "margin", "cooldown", "promote", "demote"};
enum { K_NODE, K_LEASE, K_TTL, K_RENEW, K_TIMEOUT, K_MARGIN, K_COOLDOWN, K_PROMOTE, K_DEMOTE, K_N };

static const char *const lease_keys[] = {"redis", "postgres", "key"};
enum { L_REDIS, L_POSTGRES, L_KEY, L_N };

static const char *const action_keys[] = {"redis_promote", "redis_replicate", "exec", "timeout"};
enum { A_PROMOTE, A_REPLICATE, A_EXEC, A_TIMEOUT, A_N };

static const char *const repl_keys[] = {"replica", "primary"};
enum { R_REPLICA, R_PRIMARY, R_N };

#define DEFAULT_ACTION_TIMEOUT_MS 10000

int cfg_split_hostport(const char *s, char **host, int *port) {
  const char *colon = s ? strrchr(s, ':') : NULL;
  if (!colon || colon == s || !colon[1]) return -1;
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (*end || p < 1 || p > 65535) return -1;
  *host = vg_strndup(s, (size_t)(colon - s));
  *port = (int)p;
  return 0;
}

/* A "host:port" string, or NULL after reporting. */
static char *hostport(struct cfg__ctx *c, const struct cfg__node *n, const char *what) {
  char *s = cfg__string(c, n);
  char *host = NULL;
  int port;
  if (s && cfg_split_hostport(s, &host, &port) < 0) {
    cfg_diag_add(c->diags, n->pos, "bad %s '%s': expected host:port (port 1..65535)", what, s);
    vg_freep(&s);
  }
  free(host);
  return s;
}

static void parse_lease(struct cfg__ctx *c, struct cfg_failover *fo, const struct cfg__node *n) {
  const struct cfg__pair *f[L_N];
  if (!cfg__fields(c, n, lease_keys, L_N, f)) return;
  if (f[L_REDIS] && f[L_POSTGRES]) {
    cfg_diag_add(c->diags, f[L_POSTGRES]->key->pos,
                 "a lease is on redis or on postgres, not both");
    return;
  }
  if (f[L_REDIS]) {
    fo->backend = CFG_LEASE_REDIS;
    fo->address = hostport(c, f[L_REDIS]->value, "redis address");
    if (fo->address) cfg_split_hostport(fo->address, &fo->redis_host, &fo->redis_port);
  } else if (f[L_POSTGRES]) {
    fo->backend = CFG_LEASE_POSTGRES;
    fo->conninfo = cfg__string(c, f[L_POSTGRES]->value);
    if (fo->conninfo && !fo->conninfo[0]) {
      cfg_diag_add(c->diags, f[L_POSTGRES]->value->pos, "the postgres connection string is empty");
      vg_freep(&fo->conninfo);
    }
  } else {
    cfg_diag_add(c->diags, n->pos, "the lease needs redis: HOST:PORT or postgres: CONNINFO");
  }
  if (f[L_KEY]) {
    char *k = cfg__string(c, f[L_KEY]->value);
    if (k && (!k[0] || strlen(k) > 200)) {
      cfg_diag_add(c->diags, f[L_KEY]->value->pos, "the lease key must be 1 to 200 characters");
      vg_freep(&k);
    }
    if (k) {
      free(fo->key);
      fo->key = k;
    }
  }
}

static void parse_action(struct cfg__ctx *c, struct cfg_fo_action *a, const struct cfg__node *n) {
  const struct cfg__pair *f[A_N];
  a->pos = n->pos;
  a->timeout_ms = DEFAULT_ACTION_TIMEOUT_MS;
  if (!cfg__fields(c, n, action_keys, A_N, f)) return;
  int kinds = !!f[A_PROMOTE] + !!f[A_REPLICATE] + !!f[A_EXEC];
  if (kinds != 1) {
    cfg_diag_add(c->diags, n->pos,
                 "an action is exactly one of redis_promote, redis_replicate or exec");
    return;
  }
  if (f[A_TIMEOUT] && cfg__duration(c, f[A_TIMEOUT]->value, &a->timeout_ms) &&
      a->timeout_ms <= 0)
    cfg_diag_add(c->diags, f[A_TIMEOUT]->value->pos, "an action's timeout must be above 0");
  if (f[A_PROMOTE]) {
    a->kind = CFG_FO_REDIS_PROMOTE;
    a->target = hostport(c, f[A_PROMOTE]->value, "redis address");
  } else if (f[A_REPLICATE]) {
    a->kind = CFG_FO_REDIS_REPLICATE;
    const struct cfg__pair *r[R_N];
    const struct cfg__node *v = f[A_REPLICATE]->value;
    if (!cfg__fields(c, v, repl_keys, R_N, r)) return;
    if (!r[R_REPLICA] || !r[R_PRIMARY]) {
      cfg_diag_add(c->diags, v->pos, "redis_replicate needs replica: and primary:");
      return;
    }
    a->target = hostport(c, r[R_REPLICA]->value, "redis address");
    a->primary = hostport(c, r[R_PRIMARY]->value, "redis address");
  } else {
    a->kind = CFG_FO_EXEC;
    const struct cfg__node *v = f[A_EXEC]->value;
    a->argv = cfg__strv(c, v, "a list [program, args...]");
    if (a->argv && (!a->argv[0] || !a->argv[0][0]))
      cfg_diag_add(c->diags, v->pos, "exec is empty");
  }
}

static void parse_actions(struct cfg__ctx *c, const struct cfg__node *n, struct cfg_fo_action **out,
                          size_t *n_out) {
  if (n->type != CFG__SEQ) {
    cfg__expected(c, n, "a list of actions");
    return;
  }
  *out = vg_calloc(n->n ? n->n : 1, sizeof **out);
  for (size_t i = 0; i < n->n; i++) parse_action(c, &(*out)[(*n_out)++], n->items[i]);
}

void cfg__failover_parse(struct cfg__ctx *c, struct vg_config *cfg, const struct cfg__node *n,
                         const char *dir) {
  struct cfg_failover *fo = vg_calloc(1, sizeof *fo);
  cfg->failover = fo;
  fo->pos = n->pos;
  fo->key = vg_strdup("vigil:lease");
  fo->ttl_ms = 10000;
  const struct cfg__pair *f[K_N];
  if (!cfg__fields(c, n, keys, K_N, f)) return;
  if (f[K_NODE]) {
    fo->node = cfg__string(c, f[K_NODE]->value);
    if (fo->node && !cfg__valid_name(fo->node, true)) {
      cfg_diag_add(c->diags, f[K_NODE]->value->pos,
                   "bad node name '%s': 1-64 letters, digits, '_', '-' or '.', starting with a "
                   "letter or digit", fo->node);
    }
  } else {
    cfg_diag_add(c->diags, n->pos, "failover needs node: (this host's name)");
  }
  if (f[K_LEASE]) parse_lease(c, fo, f[K_LEASE]->value);
  else cfg_diag_add(c->diags, n->pos, "failover needs a lease: {redis: HOST:PORT} or {postgres: CONNINFO}");
  bool ok = true;
  if (f[K_TTL]) ok &= cfg__duration(c, f[K_TTL]->value, &fo->ttl_ms);
  fo->renew_ms = fo->ttl_ms / 4;
  if (f[K_RENEW]) ok &= cfg__duration(c, f[K_RENEW]->value, &fo->renew_ms);
  fo->timeout_ms = fo->renew_ms / 2;
  if (f[K_TIMEOUT]) ok &= cfg__duration(c, f[K_TIMEOUT]->value, &fo->timeout_ms);
  fo->margin_ms = fo->ttl_ms / 4;
  if (f[K_MARGIN]) ok &= cfg__duration(c, f[K_MARGIN]->value, &fo->margin_ms);
  if (f[K_COOLDOWN]) ok &= cfg__duration(c, f[K_COOLDOWN]->value, &fo->cooldown_ms);
  if (f[K_PROMOTE]) parse_actions(c, f[K_PROMOTE]->value, &fo->promote, &fo->n_promote);
  if (f[K_DEMOTE]) parse_actions(c, f[K_DEMOTE]->value, &fo->demote, &fo->n_demote);
  if (!ok) return;
  struct cfg_pos at = f[K_TTL] ? f[K_TTL]->value->pos : n->pos;
  if (fo->ttl_ms < 100) {
    cfg_diag_add(c->diags, at, "ttl must be at least 100ms");
  } else if (fo->renew_ms <= 0 || fo->timeout_ms <= 0 || fo->margin_ms <= 0) {
    cfg_diag_add(c->diags, at, "renew, timeout and margin must be above 0");
  } else if (fo->renew_ms + 2 * fo->timeout_ms + fo->margin_ms > fo->ttl_ms) {
    char t[32], r[32], o[32], m[32];
    cfg__format_duration(fo->ttl_ms, t, sizeof t);
    cfg__format_duration(fo->renew_ms, r, sizeof r);
    cfg__format_duration(fo->timeout_ms, o, sizeof o);
    cfg__format_duration(fo->margin_ms, m, sizeof m);
    cfg_diag_add(c->diags, at,
                 "failover timing: renew + 2 x timeout + margin must not exceed ttl "
                 "(%s + 2 x %s + %s > %s): a holder must be able to renew and retry once "
                 "before it fences itself",
                 r, o, m, t);
  }
  (void)dir;
}

void cfg__roles_check(struct cfg__ctx *c, const struct vg_config *cfg) {
  for (size_t i = 0; i < cfg->n_services; i++) {
    const struct cfg_service *s = &cfg->services[i];
    if (!s->role) continue;
    if (!cfg->failover) {
      cfg_diag_add(c->diags, s->pos, "service '%s' has role: %s but there is no failover section",
                   s->name, s->role);
      continue;
    }
    /* a service that depends on one of another role could never start */
    for (size_t k = 0; s->depends_on && s->depends_on[k]; k++) {
      const struct cfg_service *d = cfg_find_service(cfg, s->depends_on[k]);
      if (d && d->role && strcmp(d->role, s->role) != 0)
        cfg_diag_add(c->diags, s->depends_pos[k],
                     "service '%s' (role %s) cannot depend on '%s' (role %s): they never run "
                     "on the same node at the same time",
                     s->name, s->role, d->name, d->role);
    }
  }
}

static void free_actions(struct cfg_fo_action *a, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(a[i].target);
    free(a[i].primary);
    vg_strv_free(a[i].argv);
  }
  free(a);
}

void cfg__failover_free(struct cfg_failover *fo) {
  free(fo->node);
  free(fo->address);
  free(fo->redis_host);
  free(fo->conninfo);
  free(fo->key);
  free_actions(fo->promote, fo->n_promote);
  free_actions(fo->demote, fo->n_demote);
  memset(fo, 0, sizeof *fo);
}

static char *dup_or_null(const char *s) { return s ? vg_strdup(s) : NULL; }

static char **strv_dup(char **v) {
  if (!v) return NULL;
  size_t n = vg_strv_len(v);
  char **out = vg_calloc(n + 1, sizeof *out);
  for (size_t i = 0; i < n; i++) out[i] = vg_strdup(v[i]);
  return out;
}

static struct cfg_fo_action *actions_dup(const struct cfg_fo_action *a, size_t n) {
  struct cfg_fo_action *out = vg_calloc(n ? n : 1, sizeof *out);
  for (size_t i = 0; i < n; i++) {
    out[i] = a[i];
    out[i].target = dup_or_null(a[i].target);
    out[i].primary = dup_or_null(a[i].primary);
    out[i].argv = strv_dup(a[i].argv);
  }
  return out;
}

struct cfg_failover *cfg_failover_dup(const struct cfg_failover *fo) {
  struct cfg_failover *c = vg_calloc(1, sizeof *c);
  *c = *fo;
  c->node = dup_or_null(fo->node);
  c->address = dup_or_null(fo->address);
  c->redis_host = dup_or_null(fo->redis_host);
  c->conninfo = dup_or_null(fo->conninfo);
  c->key = dup_or_null(fo->key);
  c->promote = actions_dup(fo->promote, fo->n_promote);
  c->demote = actions_dup(fo->demote, fo->n_demote);
  return c;
}

void cfg_failover_free(struct cfg_failover *fo) {
  if (!fo) return;
  cfg__failover_free(fo);
  free(fo);
}

static bool str_eq(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool strv_eq(char **a, char **b) {
  if (!a || !b) return a == b;
  size_t i = 0;
  for (; a[i] && b[i]; i++)
    if (strcmp(a[i], b[i]) != 0) return false;
  return !a[i] && !b[i];
}

static bool actions_eq(const struct cfg_fo_action *a, size_t na, const struct cfg_fo_action *b,
                       size_t nb) {
  if (na != nb) return false;
  for (size_t i = 0; i < na; i++)
    if (a[i].kind != b[i].kind || a[i].timeout_ms != b[i].timeout_ms ||
        !str_eq(a[i].target, b[i].target) || !str_eq(a[i].primary, b[i].primary) ||
        !strv_eq(a[i].argv, b[i].argv))
      return false;
  return true;
}

bool cfg_failover_equal(const struct cfg_failover *a, const struct cfg_failover *b) {
  if (!a || !b) return a == b;
  return str_eq(a->node, b->node) && a->backend == b->backend && str_eq(a->address, b->address) &&
         str_eq(a->conninfo, b->conninfo) && str_eq(a->key, b->key) && a->ttl_ms == b->ttl_ms &&
         a->renew_ms == b->renew_ms && a->timeout_ms == b->timeout_ms &&
         a->margin_ms == b->margin_ms && a->cooldown_ms == b->cooldown_ms &&
         actions_eq(a->promote, a->n_promote, b->promote, b->n_promote) &&
         actions_eq(a->demote, a->n_demote, b->demote, b->n_demote);
}
