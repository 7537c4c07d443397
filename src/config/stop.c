/*
 * The `stop` section of a service: the signal that asks it to stop and how long
 * to wait before SIGKILL.
 */
#include "config/config_int.h"
#include "core/core.h"

#include <stdlib.h>

static const char *const keys[] = {"signal", "timeout"};
enum { K_SIGNAL, K_TIMEOUT, K_N };

void cfg__stop_parse(struct cfg__ctx *c, struct cfg_stop *st, const struct cfg__node *n) {
  const struct cfg__pair *f[K_N];
  if (!cfg__fields(c, n, keys, K_N, f)) return;
  if (f[K_SIGNAL]) {
    char *s = cfg__string(c, f[K_SIGNAL]->value);
    int sig = s ? cfg_parse_signal(s) : -1;
    if (s && sig < 0)
      cfg_diag_add(c->diags, f[K_SIGNAL]->value->pos,
                   "bad signal '%s': expected a name like TERM or SIGTERM, or a number 1..64", s);
    if (sig > 0) st->signal = sig;
    free(s);
  }
  if (f[K_TIMEOUT]) cfg__duration(c, f[K_TIMEOUT]->value, &st->timeout_ms);
}
