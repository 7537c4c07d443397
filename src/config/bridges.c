/*
 * The `bridges` section: each bridge watches a directory for Arrow IPC files written
 * by a scanner and pushes every new scan into the cache and the store (src/bridge/,
 * docs/bridge.md). Only the shape is checked here; the columns are checked against
 * each file's schema when it is read.
 *
 *   bridges:
 *     eigen:
 *       dir: ./scans               # relative to the config's directory
 *       glob: "*.arrow"            # default *.arrow
 *       key: asset                 # the key column (utf8, or dictionary of utf8)
 *       values: [e0, e1]           # default: every numeric column but scan and time
 *       scan: scan                 # the scan-number column (integer)
 *       time: ts                   # the timestamp column (default: the file's mtime)
 *       document: latest_eigen_scan  # the latest scan as one JSON document; optional
 *       keys: true                 # per-asset cache keys MEASUREMENT,KEY=asset.field
 *       store: true                # the same as points in the store
 *       measurement: eigen_scan    # default: the bridge's name
 *       rescan: 5s                 # periodic rescan besides inotify; default 5s
 *       settle: 2s                 # a file found by a rescan is complete once this
 *                                  # old (no close or rename seen); default 2s
 *       quarantine: DIR            # default DIR/quarantine
 */
#include "config/config_int.h"
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

static const char *const keys[] = {"dir", "glob", "key", "values", "scan", "time", "document", "keys",
                                   "store", "measurement", "rescan", "settle", "quarantine"};
enum { K_DIR, K_GLOB, K_KEY, K_VALUES, K_SCAN, K_TIME, K_DOC, K_KEYS, K_STORE, K_MEAS, K_RESCAN, K_SETTLE,
       K_QUARANTINE, K_N };

static char *nonempty(struct cfg__ctx *c, const struct cfg__pair *p) {
  char *s = cfg__string(c, p->value);
  if (s && !s[0]) {
    cfg_diag_add(c->diags, p->value->pos, "%s is empty", p->key->text);
    free(s);
    return NULL;
  }
  return s;
}

static void parse_bridge(struct cfg__ctx *c, struct cfg_bridge *b, const struct cfg__node *n, const char *dir) {
  const struct cfg__pair *f[K_N];
  if (!cfg__fields(c, n, keys, K_N, f)) return;
  if (!f[K_DIR]) cfg_diag_add(c->diags, n->pos, "bridge '%s' needs dir: the directory the scanner writes to", b->name);
  else {
    char *d = nonempty(c, f[K_DIR]);
    if (d) {
      if (d[0] != '/' && !dir)
        cfg_diag_add(c->diags, f[K_DIR]->value->pos, "cannot resolve the relative dir '%s': the config's directory is unknown", d);
      else b->dir = cfg__join_path(dir ? dir : "/", d);
      free(d);
    }
  }
  if (f[K_GLOB]) {
    char *g = nonempty(c, f[K_GLOB]);
    if (g) {
      free(b->glob);
      b->glob = g;
    }
  }
  if (!f[K_KEY]) cfg_diag_add(c->diags, n->pos, "bridge '%s' needs key: the column naming each row's asset", b->name);
  else b->key = nonempty(c, f[K_KEY]);
  if (f[K_VALUES]) {
    b->values = cfg__strv(c, f[K_VALUES]->value, "a list of column names");
    if (b->values && !b->values[0]) cfg_diag_add(c->diags, f[K_VALUES]->value->pos, "values is empty (leave it out for every numeric column)");
  }
  if (!f[K_SCAN]) cfg_diag_add(c->diags, n->pos, "bridge '%s' needs scan: the scan-number column", b->name);
  else b->scan = nonempty(c, f[K_SCAN]);
  if (f[K_TIME]) b->time = nonempty(c, f[K_TIME]);
  if (f[K_DOC]) b->document = nonempty(c, f[K_DOC]);
  if (f[K_KEYS]) cfg__bool(c, f[K_KEYS]->value, &b->keys);
  if (f[K_STORE]) cfg__bool(c, f[K_STORE]->value, &b->store);
  if (f[K_MEAS]) {
    char *m = nonempty(c, f[K_MEAS]);
    if (m) {
      free(b->measurement);
      b->measurement = m;
    }
  }
  if (f[K_RESCAN] && cfg__duration(c, f[K_RESCAN]->value, &b->rescan_ms) && b->rescan_ms < 100)
    cfg_diag_add(c->diags, f[K_RESCAN]->value->pos, "rescan must be at least 100ms");
  if (f[K_SETTLE]) cfg__duration(c, f[K_SETTLE]->value, &b->settle_ms);
  if (f[K_QUARANTINE]) {
    char *q = nonempty(c, f[K_QUARANTINE]);
    if (q) {
      b->quarantine = cfg__join_path(dir ? dir : "/", q);
      free(q);
    }
  }
  if (!b->quarantine && b->dir) b->quarantine = vg_asprintf("%s/quarantine", b->dir);
  if (!b->document && !b->keys && !b->store)
    cfg_diag_add(c->diags, n->pos, "bridge '%s' goes nowhere: set document, keys: true or store: true", b->name);
  const char *cols[] = {b->key, b->scan, b->time};
  for (int i = 0; i < 3; i++)
    for (int j = i + 1; j < 3; j++)
      if (cols[i] && cols[j] && strcmp(cols[i], cols[j]) == 0)
        cfg_diag_add(c->diags, n->pos, "bridge '%s': column '%s' is used twice", b->name, cols[i]);
}

void cfg__bridges_parse(struct cfg__ctx *c, struct vg_config *cfg, const struct cfg__node *n, const char *dir) {
  if (n->type != CFG__MAP) {
    cfg__expected(c, n, "a mapping of bridges");
    return;
  }
  cfg->bridges = vg_calloc(n->n ? n->n : 1, sizeof *cfg->bridges);
  for (size_t i = 0; i < n->n; i++) {
    const struct cfg__pair *p = &n->pairs[i];
    if (p->duplicate) continue;
    if (!cfg__entry_name(c, p, "bridge", false)) continue;
    struct cfg_bridge *b = &cfg->bridges[cfg->n_bridges++];
    memset(b, 0, sizeof *b);
    b->name = vg_strdup(p->key->text);
    b->glob = vg_strdup("*.arrow");
    b->measurement = vg_strdup(b->name);
    b->rescan_ms = 5000;
    b->settle_ms = 2000;
    parse_bridge(c, b, p->value, dir);
  }
}

void cfg__bridge_free(struct cfg_bridge *b) {
  free(b->name);
  free(b->dir);
  free(b->glob);
  free(b->key);
  vg_strv_free(b->values);
  free(b->scan);
  free(b->time);
  free(b->document);
  free(b->measurement);
  free(b->quarantine);
}
