/*
 * The `compute` section: the calendar, epoch and worker slots of the compute engine,
 * and its calculations (docs/compute.md). Checked here, at config time, so that
 * `vigil check` names an unknown dependency or a dependency cycle
 * (`dependency cycle: a -> b -> c -> a`) before anything runs.
 *
 *   compute:
 *     calendar: {start: 2026-01-01}
 *     epoch: 1
 *     slots: {standard: 2, highmem: 1}
 *     memory: {standard: 256MiB, highmem: 4GiB}
 *     calcs:
 *       returns: {cmd: [./returns.sh, "{in.prices}", "{out}"], deps: [prices], code: [returns.sh]}
 */
#include "config/config_int.h"
#include "core/core.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[] = {"calendar", "epoch",   "slots",    "memory",  "backoff",
                                   "breaker",  "schedule", "on_complete", "calcs"};
enum { K_CALENDAR, K_EPOCH, K_SLOTS, K_MEMORY, K_BACKOFF, K_BREAKER, K_SCHEDULE, K_ON_COMPLETE,
       K_CALCS, K_N };

static const char *const calc_keys[] = {"cmd",     "deps",    "inputs",    "code",
                                        "history", "tags",    "timeout",   "retries",
                                        "resources", "fixture"};
enum { C_CMD, C_DEPS, C_INPUTS, C_CODE, C_HISTORY, C_TAGS, C_TIMEOUT, C_RETRIES, C_RESOURCES,
       C_FIXTURE, C_N };

static const char *const class_keys[] = {"standard", "highmem"};

int cfg_parse_date(const char *s, long *days) {
  int64_t d;
  if (vg_date_parse(s, &d, NULL) < 0 || d < 0) return -1; /* d < 0: before 1970 */
  *days = (long)d;
  return 0;
}

static char *date_value(struct cfg__ctx *c, const struct cfg__node *n) {
  char *s = cfg__string(c, n);
  long days;
  if (s && cfg_parse_date(s, &days) < 0) {
    cfg_diag_add(c->diags, n->pos, "bad date '%s': expected YYYY-MM-DD", s);
    vg_freep(&s);
  }
  return s;
}

static void parse_calendar(struct cfg__ctx *c, struct cfg_compute *cp, const struct cfg__node *n) {
  static const char *const k[] = {"start", "end"};
  const struct cfg__pair *f[2];
  if (!cfg__fields(c, n, k, 2, f)) return;
  if (!f[0]) cfg_diag_add(c->diags, n->pos, "calendar needs a start date");
  else cp->start = date_value(c, f[0]->value);
  if (f[1]) cp->end = date_value(c, f[1]->value);
  long a, b;
  if (cp->start && cp->end && cfg_parse_date(cp->start, &a) == 0 &&
      cfg_parse_date(cp->end, &b) == 0 && b < a)
    cfg_diag_add(c->diags, f[1]->value->pos, "calendar end %s is before its start %s", cp->end,
                 cp->start);
}

/* slots: {standard: N, highmem: N} or memory: {standard: SIZE, highmem: SIZE}. */
static void parse_classes(struct cfg__ctx *c, const struct cfg__node *n, int *slots,
                          int64_t *memory) {
  const struct cfg__pair *f[2];
  if (!cfg__fields(c, n, class_keys, 2, f)) return;
  for (int i = 0; i < 2; i++) {
    if (!f[i]) continue;
    long long v;
    if (slots && cfg__int(c, f[i]->value, "slots", i == 0 ? 1 : 0, 256, &v)) slots[i] = (int)v;
    if (memory) cfg__size(c, f[i]->value, &memory[i]);
  }
}

static void parse_breaker(struct cfg__ctx *c, struct cfg_compute *cp, const struct cfg__node *n) {
  static const char *const k[] = {"min_attempts", "ratio"};
  const struct cfg__pair *f[2];
  if (!cfg__fields(c, n, k, 2, f)) return;
  long long v;
  if (f[0] && cfg__int(c, f[0]->value, "min_attempts", 1, INT_MAX, &v)) cp->breaker_min = (int)v;
  if (f[1]) cfg__number(c, f[1]->value, "ratio", 0, 1, &cp->breaker_ratio);
}

static char **paths_value(struct cfg__ctx *c, const struct cfg__node *n, const char *dir) {
  char **v = cfg__strv(c, n, "a list of paths");
  for (size_t i = 0; v && v[i]; i++) {
    char *abs = cfg__join_path(dir, v[i]);
    free(v[i]);
    v[i] = abs;
  }
  return v;
}

static void parse_deps(struct cfg__ctx *c, struct cfg_calc *k, const struct cfg__node *n) {
  k->deps = cfg__strv(c, n, "a list of calculation names");
  if (!k->deps) return;
  k->deps_pos = vg_calloc(n->n + 1, sizeof *k->deps_pos);
  for (size_t i = 0; i < n->n; i++) k->deps_pos[i] = n->items[i]->pos;
}

/* Checks that every placeholder of argv is one the engine fills. */
static void check_placeholders(struct cfg__ctx *c, const struct cfg_calc *k,
                               const struct cfg__node *n) {
  for (size_t i = 0; k->argv && k->argv[i]; i++) {
    for (const char *p = strchr(k->argv[i], '{'); p; p = strchr(p + 1, '{')) {
      const char *e = strchr(p, '}');
      if (!e) break;
      size_t len = (size_t)(e - p - 1);
      if ((len == 4 && memcmp(p + 1, "date", 4) == 0) || (len == 3 && memcmp(p + 1, "out", 3) == 0))
        continue;
      if (len == 4 && memcmp(p + 1, "prev", 4) == 0) {
        if (k->history < 1)
          cfg_diag_add(c->diags, n->items[i]->pos, "{prev} needs history: 1 or more");
        continue;
      }
      if (len > 3 && memcmp(p + 1, "in.", 3) == 0) {
        char *dep = vg_strndup(p + 4, len - 3);
        if (!vg_strv_contains(k->deps, dep))
          cfg_diag_add(c->diags, n->items[i]->pos, "{in.%s}: '%s' is not in deps", dep, dep);
        free(dep);
        continue;
      }
      cfg_diag_add(c->diags, n->items[i]->pos,
                   "unknown placeholder {%.*s}: expected {date}, {out}, {prev} or {in.NAME}",
                   (int)len, p + 1);
    }
  }
}

static void parse_fixture(struct cfg__ctx *c, struct cfg_calc *k, const struct cfg__node *n,
                          const char *dir) {
  static const char *const fk[] = {"dir", "date"};
  const struct cfg__pair *f[2];
  if (n->type == CFG__SCALAR) {
    char *s = cfg__string(c, n);
    if (s) k->fixture = cfg__join_path(dir, s);
    free(s);
    return;
  }
  if (!cfg__fields(c, n, fk, 2, f)) return;
  if (!f[0]) {
    cfg_diag_add(c->diags, n->pos, "fixture needs a dir");
    return;
  }
  char *s = cfg__string(c, f[0]->value);
  if (s) k->fixture = cfg__join_path(dir, s);
  free(s);
  if (f[1]) {
    free(k->fixture_date);
    k->fixture_date = date_value(c, f[1]->value);
  }
}

static void parse_calc(struct cfg__ctx *c, struct cfg_calc *k, const struct cfg__node *n,
                       const char *dir) {
  const struct cfg__pair *f[C_N];
  if (!cfg__fields(c, n, calc_keys, C_N, f)) return;
  long long v;
  if (f[C_HISTORY] && cfg__int(c, f[C_HISTORY]->value, "history", 0, 3650, &v)) k->history = (int)v;
  if (!f[C_CMD]) {
    cfg_diag_add(c->diags, n->pos, "calculation '%s' has no cmd", k->name);
  } else {
    k->argv = cfg__strv(c, f[C_CMD]->value, "a list [program, args...]");
    if (k->argv && !k->argv[0]) cfg_diag_add(c->diags, f[C_CMD]->value->pos, "cmd is empty");
  }
  if (f[C_DEPS]) parse_deps(c, k, f[C_DEPS]->value);
  if (f[C_CMD] && k->argv) check_placeholders(c, k, f[C_CMD]->value);
  if (f[C_INPUTS]) k->inputs = cfg__strv(c, f[C_INPUTS]->value, "a list of file globs or store:SELECTOR");
  if (f[C_CODE]) k->code = paths_value(c, f[C_CODE]->value, dir);
  if (f[C_TAGS]) k->tags = cfg__strv(c, f[C_TAGS]->value, "a list of tags");
  if (f[C_TIMEOUT]) cfg__duration(c, f[C_TIMEOUT]->value, &k->timeout_ms);
  if (f[C_RETRIES] && cfg__int(c, f[C_RETRIES]->value, "retries", 0, 100, &v)) k->retries = (int)v;
  if (f[C_RESOURCES]) {
    char *s = cfg__string(c, f[C_RESOURCES]->value);
    if (s && strcmp(s, "highmem") == 0) k->highmem = true;
    else if (s && strcmp(s, "standard") != 0)
      cfg_diag_add(c->diags, f[C_RESOURCES]->value->pos,
                   "resources must be standard or highmem, not '%s'", s);
    free(s);
  }
  if (f[C_FIXTURE]) parse_fixture(c, k, f[C_FIXTURE]->value, dir);
}

static void check_deps(struct cfg__ctx *c, const struct cfg_compute *cp, const char **names,
                       const struct cfg__names *ix) {
  size_t suggested = 0;
  for (size_t i = 0; i < cp->n_calcs; i++) {
    const struct cfg_calc *k = &cp->calcs[i];
    for (size_t j = 0; k->deps && k->deps[j]; j++) {
      size_t d = cfg__names_find(ix, k->deps[j]);
      const char *hint = d == SIZE_MAX && suggested++ < CFG__MAX_SUGGEST
                             ? cfg__suggest(k->deps[j], names, cp->n_calcs)
                             : NULL;
      if (d == i)
        cfg_diag_add(c->diags, k->deps_pos[j], "calculation '%s' depends on itself (use history)",
                     k->name);
      else if (hint)
        cfg_diag_add(c->diags, k->deps_pos[j], "unknown calculation '%s' in deps (did you mean '%s'?)",
                     k->deps[j], hint);
      else if (d == SIZE_MAX)
        cfg_diag_add(c->diags, k->deps_pos[j], "unknown calculation '%s' in deps", k->deps[j]);
    }
  }
}

/* Index of every known dependency: adj[i][0..deg[i]). */
struct dgraph {
  size_t **adj, *deg;
};

static void build_graph(const struct cfg_compute *cp, const struct cfg__names *ix,
                        struct dgraph *g) {
  g->adj = vg_calloc(cp->n_calcs + 1, sizeof *g->adj);
  g->deg = vg_calloc(cp->n_calcs + 1, sizeof *g->deg);
  for (size_t i = 0; i < cp->n_calcs; i++) {
    size_t nd = vg_strv_len(cp->calcs[i].deps);
    g->adj[i] = vg_calloc(nd + 1, sizeof *g->adj[i]);
    for (size_t j = 0; j < nd; j++) {
      size_t d = cfg__names_find(ix, cp->calcs[i].deps[j]);
      if (d < cp->n_calcs && d != i) g->adj[i][g->deg[i]++] = d;
    }
  }
}

/* Kahn's algorithm over the known dependencies; what it cannot order lies on or behind a
 * cycle. Following deps from such a calculation inside that remainder must come back to a
 * node already seen: that loop is reported, starting at its member first in the file.
 * Each walk stops at a calculation an earlier walk went through (its loop is reported
 * already), so all the walks together visit every calculation once: linear. */
static void check_cycles(struct cfg__ctx *c, const struct cfg_compute *cp,
                         const struct cfg__names *ix) {
  size_t n = cp->n_calcs;
  struct dgraph g;
  build_graph(cp, ix, &g);
  size_t *left = vg_calloc(n + 1, sizeof *left), *queue = vg_calloc(n + 1, sizeof *queue);
  size_t *pos = vg_calloc(n + 1, sizeof *pos), *path = vg_calloc(n + 1, sizeof *path);
  size_t *rstart = vg_calloc(n + 2, sizeof *rstart), *walk = vg_calloc(n + 1, sizeof *walk);
  bool *done = vg_calloc(n + 1, sizeof *done);
  size_t edges = 0;
  for (size_t i = 0; i < n; i++) {
    left[i] = g.deg[i];
    edges += g.deg[i];
    for (size_t j = 0; j < g.deg[i]; j++) rstart[g.adj[i][j] + 1]++;
  }
  for (size_t i = 0; i < n; i++) rstart[i + 1] += rstart[i];
  size_t *radj = vg_calloc(edges + 1, sizeof *radj);
  size_t *fill = vg_calloc(n + 1, sizeof *fill);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < g.deg[i]; j++) {
      size_t d = g.adj[i][j];
      radj[rstart[d] + fill[d]++] = i;
    }
  size_t head = 0, tail = 0;
  for (size_t i = 0; i < n; i++)
    if (left[i] == 0) queue[tail++] = i;
  while (head < tail) {
    size_t u = queue[head++];
    done[u] = true;
    for (size_t e = rstart[u]; e < rstart[u + 1]; e++)
      if (--left[radj[e]] == 0) queue[tail++] = radj[e];
  }
  for (size_t s = 0; s < n; s++) {
    if (done[s] || walk[s]) continue;
    size_t len = 0, u = s;
    while (!walk[u]) { /* walk[u]: 1 + the start of the walk that went through u */
      walk[u] = s + 1;
      pos[u] = len;
      path[len++] = u;
      size_t next = SIZE_MAX;
      for (size_t j = 0; j < g.deg[u] && next == SIZE_MAX; j++)
        if (!done[g.adj[u][j]]) next = g.adj[u][j];
      VG_ASSERT(next != SIZE_MAX); /* what Kahn left waits on something it left */
      u = next;
    }
    if (walk[u] != s + 1) continue;
    size_t from = pos[u], first = from;
    for (size_t i = from; i < len; i++)
      if (path[i] < path[first]) first = i;
    struct vg_buf b;
    vg_buf_init(&b);
    size_t cyc = len - from;
    for (size_t i = 0; i <= cyc; i++)
      vg_buf_printf(&b, "%s%s", i ? " -> " : "",
                    cp->calcs[path[from + (first - from + i) % cyc]].name);
    cfg_diag_add(c->diags, cp->calcs[path[first]].pos, "dependency cycle: %s", b.data);
    vg_buf_free(&b);
  }
  for (size_t i = 0; i < n; i++) free(g.adj[i]);
  free(g.adj);
  free(g.deg);
  free(left);
  free(queue);
  free(pos);
  free(path);
  free(rstart);
  free(radj);
  free(fill);
  free(done);
  free(walk);
}

static void parse_calcs(struct cfg__ctx *c, struct cfg_compute *cp, const struct cfg__node *n,
                        const char *dir) {
  if (n->type != CFG__MAP) {
    cfg__expected(c, n, "a mapping of calculations");
    return;
  }
  cp->calcs = vg_calloc(n->n + 1, sizeof *cp->calcs);
  for (size_t i = 0; i < n->n; i++) {
    const struct cfg__pair *p = &n->pairs[i];
    if (p->duplicate) continue;
    if (!cfg__entry_name(c, p, "calculation", false)) continue;
    struct cfg_calc *k = &cp->calcs[cp->n_calcs++];
    k->name = vg_strdup(p->key->text);
    k->pos = p->key->pos;
    k->timeout_ms = 10 * 60 * 1000;
    k->retries = 2;
    k->fixture_date = vg_strdup("2000-01-01");
    parse_calc(c, k, p->value, dir);
  }
}

/* "HH:MM" (daily, UTC) or "every DURATION". */
static void parse_schedule(struct cfg__ctx *c, struct cfg_compute *cp, const struct cfg__node *n) {
  char *s = cfg__string(c, n);
  if (!s) return;
  int64_t ms;
  bool hhmm = strlen(s) == 5 && s[2] == ':';
  for (int i = 0; hhmm && i < 5; i++) hhmm = i == 2 || (s[i] >= '0' && s[i] <= '9');
  int h = hhmm ? (s[0] - '0') * 10 + s[1] - '0' : -1, m = hhmm ? (s[3] - '0') * 10 + s[4] - '0' : -1;
  if (strncmp(s, "every ", 6) == 0 && cfg_parse_duration(s + 6, &ms) == 0 && ms >= 1000)
    cp->schedule_every_ms = ms;
  else if (hhmm && h <= 23 && m <= 59) /* two digits each: no sign, no space */
    cp->schedule_at = h * 60 + m;
  else
    cfg_diag_add(c->diags, n->pos,
                 "bad schedule '%s': expected HH:MM (daily, UTC) or every DURATION (1s or more)", s);
  free(s);
}

void cfg__compute_parse(struct cfg__ctx *c, struct cfg_compute *cp, const struct cfg__node *n,
                        const char *dir) {
  memset(cp, 0, sizeof *cp);
  cp->pos = n->pos;
  cp->dir = vg_strdup(dir);
  cp->slots[0] = 2;
  cp->slots[1] = 1;
  cp->memory[0] = 1LL << 30;
  cp->memory[1] = 8LL << 30;
  cp->backoff_ms = 1000;
  cp->breaker_min = 10;
  cp->breaker_ratio = 0.1;
  cp->schedule_at = -1;
  const struct cfg__pair *f[K_N];
  if (!cfg__fields(c, n, keys, K_N, f)) return;
  if (!f[K_CALENDAR]) cfg_diag_add(c->diags, n->pos, "compute needs a calendar with a start date");
  else parse_calendar(c, cp, f[K_CALENDAR]->value);
  if (f[K_EPOCH]) cfg__int(c, f[K_EPOCH]->value, "epoch", 0, LLONG_MAX, &cp->epoch);
  if (f[K_SLOTS]) parse_classes(c, f[K_SLOTS]->value, cp->slots, NULL);
  if (f[K_MEMORY]) parse_classes(c, f[K_MEMORY]->value, NULL, cp->memory);
  if (f[K_BACKOFF]) cfg__duration(c, f[K_BACKOFF]->value, &cp->backoff_ms);
  if (f[K_BREAKER]) parse_breaker(c, cp, f[K_BREAKER]->value);
  if (f[K_SCHEDULE]) parse_schedule(c, cp, f[K_SCHEDULE]->value);
  if (f[K_ON_COMPLETE]) {
    char err[1200];
    cp->on_complete = cfg__string(c, f[K_ON_COMPLETE]->value);
    if (cp->on_complete &&
        cfg__url_check(cp->on_complete, CFG__URL_HTTPS, "on_complete", err, sizeof err) < 0)
      cfg_diag_add(c->diags, f[K_ON_COMPLETE]->value->pos, "%s", err);
  }
  if (f[K_CALCS]) parse_calcs(c, cp, f[K_CALCS]->value, dir);
  else cp->calcs = vg_calloc(1, sizeof *cp->calcs);
  const char **names = vg_calloc(cp->n_calcs + 1, sizeof *names);
  for (size_t i = 0; i < cp->n_calcs; i++) names[i] = cp->calcs[i].name;
  struct cfg__names ix;
  cfg__names_init(&ix, names, cp->n_calcs);
  check_deps(c, cp, names, &ix);
  check_cycles(c, cp, &ix);
  cfg__names_free(&ix);
  free(names);
}

void cfg__compute_free(struct cfg_compute *cp) {
  for (size_t i = 0; i < cp->n_calcs; i++) {
    struct cfg_calc *k = &cp->calcs[i];
    free(k->name);
    vg_strv_free(k->argv);
    vg_strv_free(k->deps);
    free(k->deps_pos);
    vg_strv_free(k->inputs);
    vg_strv_free(k->code);
    vg_strv_free(k->tags);
    free(k->fixture);
    free(k->fixture_date);
  }
  free(cp->calcs);
  free(cp->dir);
  free(cp->start);
  free(cp->end);
  free(cp->on_complete);
  memset(cp, 0, sizeof *cp);
}
