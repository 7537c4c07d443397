/*
 * The behavioural hash (document 004's SimHash). A calculation may name a fixture: a
 * directory holding sample inputs (`in/NAME` for each dependency, `prev` for history),
 * run like a cell (cwd the config's directory) with {date} the fixture's date. Each new source
 * hash of the calculation is run once on the fixture and the hash of what it writes is
 * kept. When that output equals the one of the code its current results were made with,
 * the change is cosmetic: the new source adopts the old effective code hash, and years
 * of history are not recomputed.
 */
#include "compute/cp_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void hex(const uint8_t *h, char *out) {
  for (int i = 0; i < 8; i++) snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* Runs calc on its fixture; 0 with the output hash in sim, or -1. */
static int run_fixture(struct cp_engine *e, size_t calc, uint8_t sim[CP_HASH]) {
  const struct cfg_calc *k = e->calcs[calc].cfg;
  char h[17];
  hex(e->calcs[calc].source, h);
  char *dir = vg_asprintf("%s/fixture/%s/%s", e->root, k->name, h);
  char *out = vg_asprintf("%s/out", dir);
  char *log = vg_asprintf("%s/log", dir);
  cp__remove_tree(dir);
  int rc = vg_mkdir_p(out, 0755);
  size_t nd = vg_strv_len(k->deps);
  char **in = vg_calloc(nd + 1, sizeof *in);
  for (size_t i = 0; i < nd; i++) in[i] = vg_asprintf("%s/in/%s", k->fixture, k->deps[i]);
  char *prev = vg_asprintf("%s/prev", k->fixture);
  char **argv = cp__argv(e, calc, k->fixture_date, out, in, prev);
  struct cp__proc p;
  if (rc == 0) rc = cp__spawn(argv, e->cp->dir, log, &p);
  if (rc == 0) {
    int status;
    while (waitpid(p.pid, &status, 0) < 0 && errno == EINTR) {}
    rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
    if (rc == 0) rc = cp__hash_tree(out, sim) < 0 ? -1 : 0;
    if (rc < 0) VG_WARN("compute: fixture run failed", VF_S("calc", k->name), VF_S("log", log));
  } else {
    VG_WARN("compute: cannot run the fixture", VF_S("calc", k->name), VF_S("error", strerror(-rc)));
  }
  vg_strv_free(argv);
  vg_strv_free(in);
  free(prev);
  free(log);
  free(out);
  free(dir);
  return rc < 0 ? -1 : 0;
}

void cp__code_resolve(struct cp_engine *e, bool run) {
  for (size_t c = 0; c < e->n_calcs; c++) {
    struct cp__calc *x = &e->calcs[c];
    memcpy(x->code, x->source, CP_HASH);
    x->code_pending = false;
    if (!x->cfg->fixture || !x->selected) continue;
    uint8_t sim[CP_HASH], eff[CP_HASH];
    if (cp__ledger_code_get(e, c, x->source, sim, eff) == 0) {
      memcpy(x->code, eff, CP_HASH);
      continue;
    }
    if (!run) {
      x->code_pending = true; /* the plan says "code"; the run may find it cosmetic */
      continue;
    }
    if (run_fixture(e, c, sim) < 0) continue;
    memcpy(eff, x->source, CP_HASH);
    uint8_t last[CP_HASH], last_sim[CP_HASH], last_eff[CP_HASH];
    if (cp__ledger_last_code(e, c, last) == 0 && memcmp(last, x->source, CP_HASH) != 0 &&
        cp__ledger_code_get(e, c, last, last_sim, last_eff) == 0 &&
        memcmp(last_sim, sim, CP_HASH) == 0) {
      memcpy(eff, last, CP_HASH);
      VG_INFO("compute: code changed but the fixture output did not; history kept",
              VF_S("calc", x->cfg->name));
    }
    cp__ledger_code_put(e, c, x->source, sim, eff);
    memcpy(x->code, eff, CP_HASH);
  }
}
