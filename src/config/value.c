/*
 * Typed readers over the YAML tree: each takes a node, expands the environment in
 * scalars, interprets the text and, when that fails, records one diagnostic at the
 * node (or, for an expansion problem in a single-line plain scalar, at the exact
 * column) and returns false / NULL. Callers just move on to the next key, which is
 * how every problem of a file gets reported in one pass.
 */
#include "config/config_int.h"
#include "core/core.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cfg__describe(const struct cfg__node *n, char *buf, size_t len) {
  switch (n->type) {
  case CFG__NULL: return "null";
  case CFG__SEQ: return "a list";
  case CFG__MAP: return "a mapping";
  case CFG__SCALAR: break;
  }
  int cut = n->len > 40 ? 40 : (int)n->len;
  while (cut > 0 && cut < (int)n->len && ((unsigned char)n->text[cut] & 0xc0) == 0x80) cut--;
  snprintf(buf, len, "'%.*s%s'", cut, n->text, (size_t)cut < n->len ? "..." : "");
  return buf;
}

void cfg__expected(struct cfg__ctx *c, const struct cfg__node *n, const char *what) {
  char buf[64];
  cfg_diag_add(c->diags, n->pos, "expected %s, got %s", what, cfg__describe(n, buf, sizeof buf));
}

bool cfg__fields(struct cfg__ctx *c, const struct cfg__node *n, const char *const *keys,
                 size_t nkeys, const struct cfg__pair **out) {
  for (size_t i = 0; i < nkeys; i++) out[i] = NULL;
  if (n->type != CFG__MAP) {
    cfg__expected(c, n, "a mapping");
    return false;
  }
  for (size_t i = 0; i < n->n; i++) {
    const struct cfg__pair *p = &n->pairs[i];
    if (p->duplicate) continue;
    if (p->key->type != CFG__SCALAR) {
      cfg__expected(c, p->key, "a key");
      continue;
    }
    size_t k = 0;
    while (k < nkeys && strcmp(p->key->text, keys[k]) != 0) k++;
    if (k < nkeys) {
      out[k] = p;
      continue;
    }
    const char *hint = cfg__suggest(p->key->text, keys, nkeys);
    if (strcmp(p->key->text, "<<") == 0)
      cfg_diag_add(c->diags, p->key->pos, "merge keys (<<) are not supported");
    else if (hint)
      cfg_diag_add(c->diags, p->key->pos, "unknown key '%s' (did you mean '%s'?)",
                   p->key->text, hint);
    else
      cfg_diag_add(c->diags, p->key->pos, "unknown key '%s'", p->key->text);
  }
  return true;
}

/* Columns count characters, as libfyaml's do, so a multibyte prefix counts once. */
static int chars_in(const char *s, size_t bytes) {
  int n = 0;
  for (size_t i = 0; i < bytes && s[i]; i++)
    if (((unsigned char)s[i] & 0xc0) != 0x80) n++;
  return n;
}

/* The scalar's text after environment expansion, or NULL after reporting. */
static char *expand(struct cfg__ctx *c, const struct cfg__node *n) {
  VG_ASSERT(n->type == CFG__SCALAR);
  if (memchr(n->text, '\0', n->len)) {
    cfg_diag_add(c->diags, n->pos, "a value cannot hold a NUL character");
    return NULL;
  }
  char err[256];
  size_t where = 0;
  char *s = cfg_expand_env(n->text, err, sizeof err, &where);
  if (s) return s;
  struct cfg_pos pos = n->pos;
  if (n->plain_line) pos.col += chars_in(n->text, where);
  cfg_diag_add(c->diags, pos, "%s", err);
  return NULL;
}

char *cfg__string(struct cfg__ctx *c, const struct cfg__node *n) {
  if (n->type != CFG__SCALAR) {
    cfg__expected(c, n, "a string");
    return NULL;
  }
  return expand(c, n);
}

char **cfg__strv(struct cfg__ctx *c, const struct cfg__node *n, const char *what) {
  if (n->type != CFG__SEQ) {
    cfg__expected(c, n, what);
    return NULL;
  }
  char **v = vg_calloc(n->n + 1, sizeof *v);
  bool ok = true;
  for (size_t i = 0; i < n->n; i++) {
    v[i] = cfg__string(c, n->items[i]);
    if (!v[i]) {
      ok = false;
      v[i] = vg_strdup("");
    }
  }
  if (!ok) {
    vg_strv_free(v);
    return NULL;
  }
  return v;
}

/* Expands a scalar that is expected to be `what`; NULL after reporting. */
static char *scalar_as(struct cfg__ctx *c, const struct cfg__node *n, const char *what) {
  if (n->type != CFG__SCALAR) {
    cfg__expected(c, n, what);
    return NULL;
  }
  return expand(c, n);
}

bool cfg__bool(struct cfg__ctx *c, const struct cfg__node *n, bool *out) {
  char *s = scalar_as(c, n, "true or false");
  if (!s) return false;
  bool ok = true;
  if (strcmp(s, "true") == 0) *out = true;
  else if (strcmp(s, "false") == 0) *out = false;
  else ok = false;
  if (!ok) cfg_diag_add(c->diags, n->pos, "expected true or false, got '%s'", s);
  free(s);
  return ok;
}

static bool looks_integer(const char *s) {
  const char *p = s + (*s == '-');
  return *p && strspn(p, "0123456789") == strlen(p);
}

bool cfg__int(struct cfg__ctx *c, const struct cfg__node *n, const char *what,
              long long min, long long max, long long *out) {
  char *s = scalar_as(c, n, "an integer");
  if (!s) return false;
  long long v = 0;
  bool ok = false;
  if (!looks_integer(s)) {
    cfg_diag_add(c->diags, n->pos, "expected an integer, got '%s'", s);
  } else if (cfg__parse_int(s, &v) < 0 || v < min || v > max) {
    if (max == LLONG_MAX)
      cfg_diag_add(c->diags, n->pos, "%s must be %lld or more, got '%s'", what, min, s);
    else
      cfg_diag_add(c->diags, n->pos, "%s must be between %lld and %lld, got '%s'", what, min,
                   max, s);
  } else {
    ok = true;
    *out = v;
  }
  free(s);
  return ok;
}

bool cfg__duration(struct cfg__ctx *c, const struct cfg__node *n, int64_t *ms) {
  char *s = scalar_as(c, n, "a duration");
  if (!s) return false;
  struct vg_time_error e;
  int64_t ns;
  bool ok = vg_duration_parse(s, VG_NS_PER_MS, ms, &e) == 0;
  if (!ok && vg_duration_parse(s, 1, &ns, NULL) == 0) /* finer than 1ms, or too long */
    cfg_diag_add(c->diags, n->pos, "bad duration '%s': %s", s, e.msg);
  else if (!ok)
    cfg_diag_add(c->diags, n->pos,
                 "bad duration '%s': expected a number followed by ms, s, m, h or d", s);
  free(s);
  return ok;
}

bool cfg__size(struct cfg__ctx *c, const struct cfg__node *n, int64_t *bytes) {
  char *s = scalar_as(c, n, "a size");
  if (!s) return false;
  bool ok = cfg__parse_size(s, bytes) == 0;
  if (!ok)
    cfg_diag_add(c->diags, n->pos,
                 "bad size '%s': expected a number of bytes, optionally followed by B, KB, "
                 "MB, GB, KiB, MiB or GiB",
                 s);
  free(s);
  return ok;
}

bool cfg__number(struct cfg__ctx *c, const struct cfg__node *n, const char *what,
                 double min, double max, double *out) {
  char *s = scalar_as(c, n, "a number");
  if (!s) return false;
  double v = 0;
  bool ok = false;
  if (cfg__parse_number(s, &v) < 0)
    cfg_diag_add(c->diags, n->pos, "expected a number, got '%s'", s);
  else if (!(v >= min && v <= max))
    cfg_diag_add(c->diags, n->pos, "%s must be between %g and %g, got '%s'", what, min, max, s);
  else
    ok = true;
  if (ok) *out = v == 0 ? 0.0 : v; /* no -0 */
  free(s);
  return ok;
}

bool cfg__valid_name(const char *s, bool dots) {
  size_t n = strlen(s);
  if (n == 0 || n > 64) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    if (!alnum && (i == 0 || (ch != '_' && ch != '-' && !(dots && ch == '.')))) return false;
  }
  return true;
}

bool cfg__entry_name(struct cfg__ctx *c, const struct cfg__pair *p, const char *what, bool dots) {
  if (p->key->type != CFG__SCALAR) {
    char buf[64];
    snprintf(buf, sizeof buf, "a %s name", what);
    cfg__expected(c, p->key, buf);
    return false;
  }
  if (!cfg__valid_name(p->key->text, dots))
    cfg_diag_add(c->diags, p->key->pos,
                 "bad %s name '%s': use up to 64 letters, digits, %s or '-', starting with a "
                 "letter or digit", what, p->key->text, dots ? "'_', '.'" : "'_'");
  return true;
}
