/*
 * The `ready` section of a service: which one probe says the service is up (tcp,
 * http, exec, log, notify, or fresh: a cache key or document updated `within` a time) and how long / how often to try. Targets are checked
 * here as far as they can be without touching the network: host:port shapes, the
 * http:// URL, and the log regex (regex.c).
 */
#include "config/config_int.h"
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

static const char *const keys[] = {"tcp", "http", "exec", "log", "notify", "fresh", "timeout", "interval", "within"};
enum { K_TCP, K_HTTP, K_EXEC, K_LOG, K_NOTIFY, K_FRESH, K_TIMEOUT, K_INTERVAL, K_WITHIN, K_N };
#define N_KINDS 6 /* the first six keys are the probes */

static const enum cfg_probe_kind kinds[N_KINDS] = {CFG_PROBE_TCP, CFG_PROBE_HTTP, CFG_PROBE_EXEC,
                                                   CFG_PROBE_LOG, CFG_PROBE_NOTIFY, CFG_PROBE_FRESH};

/* Splits "host:port" / "[v6]:port" at p; false when the shape is wrong. The port
 * is returned as text so the caller can say what was wrong with it. */
static bool split_host_port(const char *p, size_t len, size_t *host_len, const char **port,
                            size_t *port_len) {
  const char *colon;
  if (len > 0 && p[0] == '[') {
    const char *close = memchr(p, ']', len);
    if (!close || close == p + 1) return false;
    colon = close + 1;
    if (colon >= p + len || *colon != ':') return false;
  } else {
    colon = NULL;
    for (size_t i = len; i-- > 0;)
      if (p[i] == ':') {
        colon = p + i;
        break;
      }
    if (!colon || colon == p) return false;
  }
  *host_len = (size_t)(colon - p);
  *port = colon + 1;
  *port_len = len - *host_len - 1;
  return true;
}

static bool valid_port(const char *p, size_t len) {
  if (len == 0 || len > 5) return false;
  long v = 0;
  for (size_t i = 0; i < len; i++) {
    if (p[i] < '0' || p[i] > '9') return false;
    v = v * 10 + (p[i] - '0');
  }
  return v >= 1 && v <= 65535;
}

static bool check_tcp(struct cfg__ctx *c, const struct cfg__node *n, const char *s) {
  size_t host_len, port_len;
  const char *port;
  if (!split_host_port(s, strlen(s), &host_len, &port, &port_len)) {
    cfg_diag_add(c->diags, n->pos, "bad tcp address '%s': expected host:port", s);
    return false;
  }
  if (!valid_port(port, port_len)) {
    cfg_diag_add(c->diags, n->pos, "bad port '%.*s' in '%s': expected 1..65535", (int)port_len,
                 port, s);
    return false;
  }
  return true;
}

static bool check_http(struct cfg__ctx *c, const struct cfg__node *n, const char *s) {
  char err[1200];
  if (cfg__url_check(s, 0, "the http probe", err, sizeof err) == 0) return true;
  cfg_diag_add(c->diags, n->pos, "%s", err);
  return false;
}

static bool check_regex(struct cfg__ctx *c, const struct cfg__node *n, const char *s) {
  char err[128];
  if (cfg__regex_check(s, err, sizeof err) == 0) return true;
  cfg_diag_add(c->diags, n->pos, "bad regex '%s': %s", s, err);
  return false;
}

/* Reads the probe of kind key k from node n into p. */
static void parse_probe(struct cfg__ctx *c, struct cfg_probe *p, int k, const struct cfg__node *n) {
  if (k == K_EXEC) {
    char **argv = cfg__strv(c, n, "a list of strings");
    if (argv && !argv[0]) {
      cfg_diag_add(c->diags, n->pos, "exec is empty");
      vg_strv_free(argv);
      return;
    }
    if (argv) p->kind = CFG_PROBE_EXEC, p->argv = argv;
    return;
  }
  if (k == K_NOTIFY) {
    bool on = false;
    if (!cfg__bool(c, n, &on)) return;
    if (!on) cfg_diag_add(c->diags, n->pos, "notify must be true (leave out ready for no probe)");
    else p->kind = CFG_PROBE_NOTIFY;
    return;
  }
  char *s = cfg__string(c, n);
  if (!s) return;
  if (k == K_FRESH) { /* a cache key or document name: checked when the daemon runs */
    if (!s[0]) {
      cfg_diag_add(c->diags, n->pos, "fresh needs a cache key or document name");
      free(s);
      return;
    }
    p->kind = CFG_PROBE_FRESH;
    p->target = s;
    return;
  }
  bool ok = k == K_TCP ? check_tcp(c, n, s) : k == K_HTTP ? check_http(c, n, s) : check_regex(c, n, s);
  if (!ok) {
    free(s);
    return;
  }
  p->kind = kinds[k];
  p->target = s;
}

void cfg__ready_parse(struct cfg__ctx *c, struct cfg_probe *p, const struct cfg__node *n) {
  const struct cfg__pair *f[K_N];
  if (!cfg__fields(c, n, keys, K_N, f)) return;

  /* The probes in file order: pairs live in one array, so address order is file order. */
  int found[N_KINDS], nfound = 0;
  for (int k = 0; k < N_KINDS; k++) {
    if (!f[k]) continue;
    int at = nfound++;
    while (at > 0 && f[found[at - 1]] > f[k]) {
      found[at] = found[at - 1];
      at--;
    }
    found[at] = k;
  }
  if (nfound == 0) {
    cfg_diag_add(c->diags, n->pos, "ready needs one probe: tcp, http, exec, log, notify or fresh");
  } else if (nfound > 1) {
    struct vg_buf names;
    vg_buf_init(&names);
    for (int i = 0; i < nfound; i++)
      vg_buf_printf(&names, "%s%s", i ? (i == nfound - 1 ? " and " : ", ") : "", keys[found[i]]);
    cfg_diag_add(c->diags, f[found[1]]->key->pos, "ready has more than one probe (%s): keep one",
                 names.data);
    vg_buf_free(&names);
  } else {
    parse_probe(c, p, found[0], f[found[0]]->value);
  }

  if (f[K_TIMEOUT]) cfg__duration(c, f[K_TIMEOUT]->value, &p->timeout_ms);
  int64_t interval;
  if (f[K_INTERVAL] && cfg__duration(c, f[K_INTERVAL]->value, &interval)) {
    if (interval == 0) cfg_diag_add(c->diags, f[K_INTERVAL]->value->pos, "interval must be more than 0");
    else p->interval_ms = interval;
  }
  if (f[K_WITHIN]) {
    if (p->kind != CFG_PROBE_FRESH && nfound == 1)
      cfg_diag_add(c->diags, f[K_WITHIN]->key->pos, "within goes with fresh");
    int64_t w;
    if (cfg__duration(c, f[K_WITHIN]->value, &w)) {
      if (w == 0) cfg_diag_add(c->diags, f[K_WITHIN]->value->pos, "within must be more than 0");
      else p->within_ms = w;
    }
  }
}
