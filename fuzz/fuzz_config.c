/*
 * libFuzzer target for the config loader: any byte string must either load into a
 * config or yield diagnostics — never crash, leak, hang or print — and what comes
 * out must hold the loader's invariants (checked with VG_ASSERT, so a violation is
 * a crash the fuzzer keeps).
 */
#include "config/config.h"
#include "core/core.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_diags(const struct cfg_diags *d) {
  static FILE *devnull;
  if (!devnull) devnull = fopen("/dev/null", "w");
  VG_ASSERT(devnull != NULL);
  for (size_t i = 0; i < d->n; i++) {
    const struct cfg_diag *g = &d->items[i];
    VG_ASSERT(g->pos.line >= 1 && g->pos.col >= 1);
    VG_ASSERT(g->msg[0] != '\0' && strchr(g->msg, '\n') == NULL);
    /* Sorted by position. */
    if (i > 0) {
      const struct cfg_pos p = d->items[i - 1].pos;
      VG_ASSERT(p.line < g->pos.line || (p.line == g->pos.line && p.col <= g->pos.col));
    }
  }
  cfg_diags_print(d, "fuzz.yaml", devnull);
}

static void check_config(const struct vg_config *cfg) {
  VG_ASSERT(cfg->state_dir != NULL && cfg->state_dir[0] == '/');
  for (size_t i = 0; i < cfg->n_services; i++) {
    const struct cfg_service *s = &cfg->services[i];
    VG_ASSERT(cfg_find_service(cfg, s->name) == s);
    VG_ASSERT(s->argv != NULL && s->argv[0] != NULL && s->argv[0][0] != '\0');
    VG_ASSERT(!s->shell || vg_strv_len(s->argv) == 3);
    for (size_t j = 0; s->depends_on && s->depends_on[j]; j++) {
      const struct cfg_service *dep = cfg_find_service(cfg, s->depends_on[j]);
      VG_ASSERT(dep != NULL && dep != s);
    }
    VG_ASSERT(s->ready.interval_ms > 0);
    VG_ASSERT((s->ready.kind == CFG_PROBE_EXEC) == (s->ready.argv != NULL));
    VG_ASSERT(s->restart.max_delay_ms >= s->restart.delay_ms);
    VG_ASSERT(s->restart.jitter >= 0 && s->restart.jitter <= 1);
    VG_ASSERT(s->stop.signal >= 1 && s->stop.signal <= 64);
    VG_ASSERT(s->log.max_bytes > 0 && s->log.keep >= 0 && s->log.keep <= 100);
    for (size_t j = 0; j < s->n_no_restart_exit_codes; j++)
      VG_ASSERT(s->no_restart_exit_codes[j] >= 0 && s->no_restart_exit_codes[j] <= 255);
    VG_ASSERT(strcmp(cfg_probe_kind_name(s->ready.kind), "unknown") != 0);
    VG_ASSERT(strcmp(cfg_restart_policy_name(s->restart.policy), "unknown") != 0);
  }
}

/* Short inputs also go straight to the scalar parsers, which see only text the YAML
 * reader lets through otherwise. */
static void fuzz_scalars(const uint8_t *data, size_t size) {
  if (size > 256) return;
  char *s = vg_strndup((const char *)data, size);
  int64_t ms;
  if (cfg_parse_duration(s, &ms) == 0) VG_ASSERT(ms >= 0);
  int sig = cfg_parse_signal(s);
  VG_ASSERT(sig == -1 || (sig >= 1 && sig <= 64));
  char err[256];
  size_t where = 0;
  char *x = cfg_expand_env(s, err, sizeof err, &where);
  if (!x) VG_ASSERT(where < strlen(s) && err[0] != '\0');
  free(x);
  free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct cfg_diags d;
  cfg_diags_init(&d);
  struct vg_config *cfg = cfg_load_string("fuzz.yaml", (const char *)data, size, &d);
  VG_ASSERT((cfg == NULL) == (d.n > 0));
  check_diags(&d);
  if (cfg) check_config(cfg);
  cfg_free(cfg);
  cfg_diags_free(&d);
  fuzz_scalars(data, size);
  return 0;
}
