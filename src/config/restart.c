/*
 * What happens when a service exits: the `restart` section (policy and backoff,
 * written either as a bare policy or as a mapping) and `no_restart_exit_codes`.
 */
#include "config/config_int.h"
#include "core/core.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[] = {"policy",      "delay",        "max_delay", "jitter",
                                   "reset_after", "max_restarts", "window"};
enum { K_POLICY, K_DELAY, K_MAX_DELAY, K_JITTER, K_RESET_AFTER, K_MAX_RESTARTS, K_WINDOW, K_N };

static void parse_policy(struct cfg__ctx *c, struct cfg_restart *r, const struct cfg__node *n) {
  static const enum cfg_restart_policy all[] = {CFG_RESTART_ALWAYS, CFG_RESTART_ON_FAILURE,
                                                CFG_RESTART_NEVER};
  char *s = cfg__string(c, n);
  if (!s) return;
  size_t i = 0;
  while (i < VG_ARRAY_LEN(all) && strcmp(s, cfg_restart_policy_name(all[i])) != 0) i++;
  if (i < VG_ARRAY_LEN(all))
    r->policy = all[i];
  else
    cfg_diag_add(c->diags, n->pos,
                 "bad restart policy '%s': expected always, on-failure or never", s);
  free(s);
}

void cfg__restart_parse(struct cfg__ctx *c, struct cfg_restart *r, const struct cfg__node *n) {
  if (n->type == CFG__SCALAR) {
    parse_policy(c, r, n);
    return;
  }
  if (n->type != CFG__MAP) {
    cfg__expected(c, n, "a policy or a mapping");
    return;
  }
  const struct cfg__pair *f[K_N];
  if (!cfg__fields(c, n, keys, K_N, f)) return;
  if (f[K_POLICY]) parse_policy(c, r, f[K_POLICY]->value);
  bool delay_ok = !f[K_DELAY] || cfg__duration(c, f[K_DELAY]->value, &r->delay_ms);
  bool max_ok = !f[K_MAX_DELAY] || cfg__duration(c, f[K_MAX_DELAY]->value, &r->max_delay_ms);
  if (f[K_JITTER]) cfg__number(c, f[K_JITTER]->value, "jitter", 0, 1, &r->jitter);
  if (f[K_RESET_AFTER]) cfg__duration(c, f[K_RESET_AFTER]->value, &r->reset_after_ms);
  long long max_restarts;
  if (f[K_MAX_RESTARTS] &&
      cfg__int(c, f[K_MAX_RESTARTS]->value, "max_restarts", 0, INT_MAX, &max_restarts))
    r->max_restarts = (int)max_restarts;
  if (f[K_WINDOW]) cfg__duration(c, f[K_WINDOW]->value, &r->window_ms);

  if (delay_ok && max_ok && r->max_delay_ms < r->delay_ms) {
    char d[32], m[32];
    cfg__format_duration(r->delay_ms, d, sizeof d);
    cfg__format_duration(r->max_delay_ms, m, sizeof m);
    if (f[K_MAX_DELAY])
      cfg_diag_add(c->diags, f[K_MAX_DELAY]->value->pos,
                   "max_delay (%s) is less than delay (%s)", m, d);
    else
      cfg_diag_add(c->diags, f[K_DELAY]->value->pos,
                   "delay (%s) is more than the default max_delay (%s): set max_delay too", d, m);
  }
}

void cfg__exit_codes_parse(struct cfg__ctx *c, struct cfg_service *s, const struct cfg__node *n) {
  if (n->type != CFG__SEQ) {
    cfg__expected(c, n, "a list of exit codes");
    return;
  }
  s->no_restart_exit_codes = vg_calloc(n->n ? n->n : 1, sizeof *s->no_restart_exit_codes);
  for (size_t i = 0; i < n->n; i++) {
    long long code;
    if (cfg__int(c, n->items[i], "exit code", 0, 255, &code))
      s->no_restart_exit_codes[s->n_no_restart_exit_codes++] = (int)code;
  }
}
