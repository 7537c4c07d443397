/*
 * The engine's lifetime: index the calculations, hash their code, open the ledger, and
 * fix the range and selection a plan or run covers.
 */
#include "compute/cp_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

/* The source hash of a calculation: its cleaned code files and its argv template, so
 * that a changed command line also counts as a code change. */
static int hash_sources(struct cp__calc *c) {
  XXH3_state_t st;
  XXH3_128bits_reset(&st);
  for (size_t i = 0; c->cfg->argv && c->cfg->argv[i]; i++)
    XXH3_128bits_update(&st, c->cfg->argv[i], strlen(c->cfg->argv[i]) + 1);
  for (size_t i = 0; c->cfg->code && c->cfg->code[i]; i++) {
    uint8_t h[CP_HASH];
    int rc = cp_code_hash_file(c->cfg->code[i], h);
    if (rc < 0) {
      snprintf(c->code_err, sizeof c->code_err, "calculation '%s': cannot read code %s: %s",
               c->cfg->name, c->cfg->code[i], strerror(-rc));
      return rc;
    }
    XXH3_128bits_update(&st, h, sizeof h);
  }
  XXH128_canonical_t cn;
  XXH128_canonicalFromHash(&cn, XXH3_128bits_digest(&st));
  memcpy(c->source, cn.digest, CP_HASH);
  memcpy(c->code, c->source, CP_HASH);
  c->code_ok = true;
  return 0;
}

struct cp_engine *cp_open(const struct vg_config *cfg, char *err, size_t errlen) {
  if (!cfg->compute) {
    snprintf(err, errlen, "%s has no compute section", cfg->path);
    return NULL;
  }
  struct cp_engine *e = vg_calloc(1, sizeof *e);
  e->cfg = cfg;
  e->cp = cfg->compute;
  e->lock_fd = -1;
  e->root = vg_asprintf("%s/compute", cfg->state_dir);
  e->n_calcs = e->cp->n_calcs;
  e->calcs = vg_calloc(e->n_calcs + 1, sizeof *e->calcs);
  for (size_t i = 0; i < e->n_calcs; i++) e->calcs[i].cfg = &e->cp->calcs[i];
  VG_ASSERT(cfg_parse_date(e->cp->start, &e->start) == 0);
  int rc = vg_mkdir_p(e->root, 0755);
  if (rc < 0) {
    snprintf(err, errlen, "cannot create %s: %s", e->root, strerror(-rc));
    goto fail;
  }
  if (cp__graph_build(e, err, errlen) < 0) goto fail;
  for (size_t i = 0; i < e->n_calcs; i++)
    if (hash_sources(&e->calcs[i]) < 0) {
      snprintf(err, errlen, "%s", e->calcs[i].code_err);
      goto fail;
    }
  if (cp__ledger_open(e, err, errlen) < 0) goto fail;
  return e;
fail:
  cp_close(e);
  return NULL;
}

void cp_close(struct cp_engine *e) {
  if (!e) return;
  cp__ledger_close(e);
  if (e->lock_fd >= 0) close(e->lock_fd);
  for (size_t i = 0; i < e->n_calcs; i++) {
    free(e->calcs[i].deps);
    free(e->calcs[i].rdeps);
  }
  free(e->calcs);
  free(e->order);
  free(e->rows);
  free(e->root);
  free(e);
}

static int parse_day(const char *s, const char *what, long *out, char *err, size_t errlen) {
  if (cfg_parse_date(s, out) == 0) return 0;
  snprintf(err, errlen, "bad %s date '%s': expected YYYY-MM-DD", what, s);
  return -EINVAL;
}

int cp_configure(struct cp_engine *e, const struct cp_options *o, char *err, size_t errlen) {
  long end;
  if (e->cp->end) VG_ASSERT(cfg_parse_date(e->cp->end, &end) == 0);
  else end = cp_today() - 1;
  e->from = e->start;
  e->to = end;
  if (o && o->from && parse_day(o->from, "--from", &e->from, err, errlen) < 0) return -EINVAL;
  if (o && o->to && parse_day(o->to, "--to", &e->to, err, errlen) < 0) return -EINVAL;
  if (o && o->from && o->to && e->to < e->from) {
    snprintf(err, errlen, "reversed range: --from %s is after --to %s", o->from, o->to);
    return -EINVAL;
  }
  if (e->from < e->start) e->from = e->start; /* nothing exists before the calendar */
  if (e->cp->end && e->to > end) e->to = end;  /* nor after its end */
  if (e->to < e->from) e->to = e->from - 1;    /* an empty range */
  e->n_dates = (size_t)(e->to - e->from + 1);
  if (cp__select(e, o ? o->select : NULL, err, errlen) < 0) return -EINVAL;
  cp__code_resolve(e, false);
  if (cp__ledger_load(e) < 0) {
    snprintf(err, errlen, "cannot read the ledger: %s", sqlite3_errmsg(e->db));
    return -EIO;
  }
  return 0;
}
