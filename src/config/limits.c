/*
 * The `limits` section of a service: resource limits applied with setrlimit
 * before exec. Each is a count or size, or `unlimited`.
 */
#include "config/config_int.h"
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

static const char *const keys[] = {"nofile", "core", "as"};
enum { K_NOFILE, K_CORE, K_AS, K_N };

/* sized: the value may carry a size unit (core, as); nofile is a plain count. */
static void parse_limit(struct cfg__ctx *c, struct cfg_limit *l, const struct cfg__node *n,
                        bool sized) {
  char *s = cfg__string(c, n);
  if (!s) return;
  int64_t v;
  long long count;
  if (strcmp(s, "unlimited") == 0) {
    l->set = true;
    l->value = RLIM_INFINITY;
  } else if (sized && cfg__parse_size(s, &v) == 0) {
    l->set = true;
    l->value = (rlim_t)v;
  } else if (!sized && cfg__parse_int(s, &count) == 0 && count >= 0) {
    l->set = true;
    l->value = (rlim_t)count;
  } else if (sized) {
    cfg_diag_add(c->diags, n->pos, "bad limit '%s': expected a size (like 512MiB) or unlimited", s);
  } else {
    cfg_diag_add(c->diags, n->pos, "bad limit '%s': expected a number 0 or more, or unlimited", s);
  }
  free(s);
}

void cfg__limits_parse(struct cfg__ctx *c, struct cfg_limits *l, const struct cfg__node *n) {
  const struct cfg__pair *f[K_N];
  if (!cfg__fields(c, n, keys, K_N, f)) return;
  if (f[K_NOFILE]) parse_limit(c, &l->nofile, f[K_NOFILE]->value, false);
  if (f[K_CORE]) parse_limit(c, &l->core, f[K_CORE]->value, true);
  if (f[K_AS]) parse_limit(c, &l->as, f[K_AS]->value, true);
}
