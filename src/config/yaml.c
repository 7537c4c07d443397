/*
 * The YAML text as a small tree of cfg__node, each with its 1-based line and column.
 *
 * libfyaml 0.7's document API gives no position for mappings and sequences, so the
 * tree is built here from the parser's events, which all carry marks. Building it
 * ourselves also lets every mapping report all its duplicate keys (libfyaml's
 * document builder stops at the first) and keeps libfyaml's own diagnostics off
 * stderr: they are collected and turned into cfg diagnostics.
 *
 * libfyaml 0.7.12 decodes single-quoted scalars with consecutive '' escapes wrongly
 * ('x''''y' gives x''' instead of x''y) and leaks memory doing so, so those are
 * decoded here from the source text, which the marks locate exactly.
 *
 * Nesting stops at CFG__MAX_DEPTH mappings and sequences: flow brackets are counted in
 * one pass before libfyaml starts (check_flow_depth), and every other way of nesting
 * is refused at the first event beyond the limit.
 *
 * An alias shares the anchored node instead of copying it, so a "billion laughs"
 * document stays small; anchors are registered only once their node is complete,
 * which makes recursive aliases unknown rather than cyclic.
 */
#include "config/config_int.h"
#include "core/core.h"

#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>

struct anchor {
  char *name;
  struct cfg__node *node;
};

struct open {
  struct cfg__node *node;
  struct cfg__node *key; /* mapping: the key waiting for its value */
  char *anchor;          /* registered when the node closes */
};

struct builder {
  const char *text; /* the input, which marks index */
  size_t len;
  struct cfg_diags *diags;
  struct cfg__doc *doc;
  struct open *stack;
  size_t depth, stack_cap;
  struct anchor *anchors;
  size_t n_anchors, anchors_cap;
  struct cfg_pos last; /* end of the last event that had a position */
  bool seen_doc;
};

static struct cfg_pos pos_of(const struct fy_mark *m) {
  return (struct cfg_pos){.line = m->line + 1, .col = m->column + 1};
}

static struct cfg__node *node_new(struct builder *b, enum cfg__type type, struct cfg_pos pos) {
  struct cfg__node *n = vg_calloc(1, sizeof *n);
  n->type = type;
  n->pos = pos;
  n->next = b->doc->all;
  b->doc->all = n;
  return n;
}

static char *token_text(struct fy_token *t, size_t *len) {
  size_t n = 0;
  const char *s = t ? fy_token_get_text(t, &n) : NULL;
  if (!s) n = 0;
  char *p = vg_malloc(n + 1);
  if (n) memcpy(p, s, n);
  p[n] = '\0';
  *len = n;
  return p;
}

/* The value of a single-quoted scalar from its source s[0..n) (between the quotes):
 * '' is a quote, and a line break with the blanks around it folds to a space, or
 * to n-1 newlines for n breaks in a row (YAML 1.2, 7.3.2). */
static char *unquote_single(const char *s, size_t n, size_t *len) {
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_reserve(&b, n);
  size_t i = 0;
  while (i < n) {
    if (s[i] == '\'' && i + 1 < n && s[i + 1] == '\'') {
      vg_buf_putc(&b, '\'');
      i += 2;
    } else if (s[i] == ' ' || s[i] == '\t') {
      size_t j = i;
      while (j < n && (s[j] == ' ' || s[j] == '\t')) j++;
      if (j == n || (s[j] != '\n' && s[j] != '\r')) vg_buf_append(&b, s + i, j - i);
      i = j;
    } else if (s[i] == '\n' || s[i] == '\r') {
      size_t breaks = 0;
      while (i < n) {
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') i += 2, breaks++;
        else if (s[i] == '\n' || s[i] == '\r') i++, breaks++;
        else if (s[i] == ' ' || s[i] == '\t') i++;
        else break;
      }
      if (breaks == 1) vg_buf_putc(&b, ' ');
      for (size_t k = 1; k < breaks; k++) vg_buf_putc(&b, '\n');
    } else {
      vg_buf_putc(&b, s[i++]);
    }
  }
  vg_buf_append(&b, "", 0);
  *len = b.len;
  return b.data;
}

static bool plain_null(const char *s, size_t len) {
  static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
  for (size_t i = 0; i < VG_ARRAY_LEN(nulls); i++)
    if (len == strlen(nulls[i]) && memcmp(s, nulls[i], len) == 0) return true;
  return false;
}

/* Every byte is valid UTF-8 and no control character other than tab, LF and CR
 * appears. libfyaml silently drops or nulls such bytes, so they are caught first. */
static int check_bytes(struct builder *b, const char *text, size_t len) {
  const unsigned char *s = (const unsigned char *)text;
  int line = 1, col = 1;
  size_t i = 0;
  if (len >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf) i = 3;
  while (i < len) {
    unsigned c = s[i];
    size_t k = 0;
    unsigned min = 0, cp = 0;
    if (c < 0x80) k = 1, cp = c;
    else if ((c & 0xe0) == 0xc0) k = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0) k = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0) k = 4, cp = c & 0x07, min = 0x10000;
    bool ok = k > 0 && i + k <= len;
    for (size_t j = 1; ok && j < k; j++) {
      ok = (s[i + j] & 0xc0) == 0x80;
      cp = cp << 6 | (s[i + j] & 0x3f);
    }
    ok = ok && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    struct cfg_pos pos = {line, col};
    if (!ok) {
      cfg_diag_add(b->diags, pos, "invalid UTF-8 byte 0x%02x", c);
      return -1;
    }
    if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7f) {
      cfg_diag_add(b->diags, pos, "control character 0x%02x is not allowed", cp);
      return -1;
    }
    if (cp == '\n') line++, col = 1;
    else col++;
    i += k;
  }
  return 0;
}

/* Refuses flow collections ([ and {) nested deeper than CFG__MAX_DEPTH before libfyaml
 * sees them: its scanner keeps every token of a flow collection that could still turn
 * out to be an implicit key, so ten million '[' took 17 s and 3.6 GB before the first
 * event. One pass, no allocation. Inside a flow collection every bracket counts; in
 * block context only one where a node can start (the start, or after ": ", "- ", "? ");
 * quoted scalars, comments and block scalars (| and >) are skipped. What this misses
 * is still caught, more slowly, at the parser's events. */
static int check_flow_depth(struct builder *b, const char *s, size_t len) {
  int line = 1, col = 0, line_indent = 0, depth = 0;
  char prev = 0;          /* last non-blank character outside scalars and comments */
  bool blank = true;      /* a blank (or the start) came after prev */
  bool at_indent = true;  /* only blanks so far on this line */
  int skip_indent = -1;   /* in a block scalar: lines indented more than this */
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '\n') {
      line++, col = 0, line_indent = 0, at_indent = blank = true;
      continue;
    }
    if ((c & 0xc0) != 0x80) col++;
    if (c == ' ' || c == '\t' || c == '\r') {
      if (at_indent) line_indent++;
      blank = true;
      continue;
    }
    if (at_indent) {
      at_indent = false;
      if (skip_indent >= 0 && line_indent > skip_indent) { /* block scalar content */
        while (i + 1 < len && s[i + 1] != '\n') i++;
        continue;
      }
      skip_indent = -1;
    }
    bool node_start = !prev || (depth > 0 && strchr("[{,", prev)) || (blank && strchr(":-?", prev));
    char now = c;
    if (c == '#' && blank) {
      while (i + 1 < len && s[i + 1] != '\n') i++;
      continue;
    } else if ((c == '"' || c == '\'') && node_start) {
      for (i++; i < len; i++) {
        if (s[i] == '\n') line++, col = 0;
        else if ((s[i] & 0xc0) != 0x80) col++;
        if (c == '"' && s[i] == '\\' && i + 1 < len && s[i + 1] != '\n') i++, col++;
        else if (s[i] == c && c == '\'' && i + 1 < len && s[i + 1] == '\'') i++, col++;
        else if (s[i] == c) break;
      }
      now = 'x';
    } else if ((c == '|' || c == '>') && node_start && depth == 0) {
      skip_indent = line_indent;
      while (i + 1 < len && s[i + 1] != '\n') i++;
    } else if ((c == '[' || c == '{') && (depth > 0 || node_start)) {
      if (++depth > CFG__MAX_DEPTH) {
        cfg_diag_add(b->diags, (struct cfg_pos){line, col}, "nesting deeper than %d levels",
                     CFG__MAX_DEPTH);
        return -1;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      depth--;
      now = 'x';
    } else if (depth == 0 && strchr("[]{},", c)) {
      now = 'x'; /* part of a plain scalar */
    }
    prev = now;
    blank = false;
  }
  return 0;
}

static void push(struct builder *b, struct cfg__node *n, char *anchor) {
  if (b->depth == b->stack_cap) {
    b->stack_cap = b->stack_cap ? 2 * b->stack_cap : 16;
    b->stack = vg_realloc(b->stack, b->stack_cap * sizeof *b->stack);
  }
  b->stack[b->depth++] = (struct open){.node = n, .key = NULL, .anchor = anchor};
}

static void add_anchor(struct builder *b, char *name, struct cfg__node *n) {
  if (!name) return;
  if (b->n_anchors == b->anchors_cap) {
    b->anchors_cap = b->anchors_cap ? 2 * b->anchors_cap : 8;
    b->anchors = vg_realloc(b->anchors, b->anchors_cap * sizeof *b->anchors);
  }
  b->anchors[b->n_anchors++] = (struct anchor){.name = name, .node = n};
}

/* A redefined anchor replaces the earlier one for the aliases that follow. */
static struct cfg__node *find_anchor(struct builder *b, const char *name) {
  for (size_t i = b->n_anchors; i-- > 0;)
    if (strcmp(b->anchors[i].name, name) == 0) return b->anchors[i].node;
  return NULL;
}

static void attach(struct builder *b, struct cfg__node *n) {
  if (b->depth == 0) {
    b->doc->root = n;
    return;
  }
  struct open *o = &b->stack[b->depth - 1];
  struct cfg__node *parent = o->node;
  if (parent->type == CFG__SEQ) {
    if (parent->n == parent->cap) {
      parent->cap = parent->cap ? 2 * parent->cap : 4;
      parent->items = vg_realloc(parent->items, parent->cap * sizeof *parent->items);
    }
    parent->items[parent->n++] = n;
  } else if (!o->key) {
    o->key = n;
  } else {
    if (parent->n == parent->cap) {
      parent->cap = parent->cap ? 2 * parent->cap : 4;
      parent->pairs = vg_realloc(parent->pairs, parent->cap * sizeof *parent->pairs);
    }
    parent->pairs[parent->n++] = (struct cfg__pair){.key = o->key, .value = n};
    o->key = NULL;
  }
}

static int cmp_keys(const void *pa, const void *pb, void *arg) {
  const struct cfg__pair *pairs = arg;
  size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
  const struct cfg__node *ka = pairs[a].key, *kb = pairs[b].key;
  size_t n = ka->len < kb->len ? ka->len : kb->len;
  int r = memcmp(ka->text, kb->text, n);
  if (r == 0 && ka->len != kb->len) r = ka->len < kb->len ? -1 : 1;
  if (r == 0) r = a < b ? -1 : 1;
  return r;
}

static bool same_text(const struct cfg__node *a, const struct cfg__node *b) {
  return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
}

/* Reports every key that repeats an earlier one, at the repeat. Sorting by (key,
 * index) keeps this O(n log n) for very large mappings; each run of equal keys
 * starts with the first occurrence. */
static void check_duplicates(struct builder *b, struct cfg__node *map) {
  size_t *idx = vg_malloc(map->n * sizeof *idx);
  size_t m = 0;
  for (size_t i = 0; i < map->n; i++)
    if (map->pairs[i].key->type == CFG__SCALAR) idx[m++] = i;
  qsort_r(idx, m, sizeof *idx, cmp_keys, map->pairs);
  size_t run = 0;
  for (size_t i = 1; i < m; i++) {
    const struct cfg__node *first = map->pairs[idx[run]].key, *k = map->pairs[idx[i]].key;
    if (!same_text(first, k)) {
      run = i;
      continue;
    }
    map->pairs[idx[i]].duplicate = true;
    cfg_diag_add(b->diags, k->pos, "duplicate key '%s' (first at line %d)", k->text,
                 first->pos.line);
  }
  free(idx);
}

static char *anchor_of(struct fy_token *t) {
  size_t len;
  return t ? token_text(t, &len) : NULL;
}

static struct cfg__node *scalar(struct builder *b, struct fy_event *e) {
  struct fy_token *t = e->scalar.value;
  /* An empty value ("key:") comes without a token or a mark. */
  const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
  struct cfg_pos pos = m ? pos_of(m) : b->last;
  enum fy_scalar_style style = t ? fy_token_scalar_style(t) : FYSS_PLAIN;
  /* The mark of a quoted scalar is just past its opening quote; point at the quote. */
  if (m && (style == FYSS_SINGLE_QUOTED || style == FYSS_DOUBLE_QUOTED) && pos.col > 1) pos.col--;
  struct cfg__node *n = node_new(b, CFG__SCALAR, pos);
  const struct fy_mark *end = t ? fy_token_end_mark(t) : NULL;
  if (style == FYSS_SINGLE_QUOTED && m && end && m->input_pos <= end->input_pos &&
      end->input_pos <= b->len)
    n->text = unquote_single(b->text + m->input_pos, end->input_pos - m->input_pos, &n->len);
  else
    n->text = token_text(t, &n->len);
  if (style == FYSS_PLAIN && plain_null(n->text, n->len)) n->type = CFG__NULL;
  n->plain_line = style == FYSS_PLAIN && m && end && m->line == end->line;
  return n;
}

/* Handles one event; returns -1 when the tree cannot be built further. */
static int on_event(struct builder *b, struct fy_event *e) {
  const struct fy_mark *start = fy_event_start_mark(e);
  struct cfg_pos pos = start ? pos_of(start) : b->last;
  struct cfg__node *n;
  switch (e->type) {
  case FYET_DOCUMENT_START:
    if (b->seen_doc) {
      cfg_diag_add(b->diags, pos, "the config must be a single YAML document");
      return -1;
    }
    b->seen_doc = true;
    break;
  case FYET_SCALAR:
    n = scalar(b, e);
    attach(b, n);
    add_anchor(b, anchor_of(e->scalar.anchor), n);
    break;
  case FYET_ALIAS: {
    char *name = anchor_of(e->alias.anchor);
    n = name ? find_anchor(b, name) : NULL;
    if (!n) cfg_diag_add(b->diags, pos, "unknown alias '*%s'", name ? name : "");
    free(name);
    if (!n) return -1;
    attach(b, n);
    break;
  }
  case FYET_SEQUENCE_START:
  case FYET_MAPPING_START: {
    bool seq = e->type == FYET_SEQUENCE_START;
    if (b->depth == CFG__MAX_DEPTH) {
      cfg_diag_add(b->diags, pos, "nesting deeper than %d levels", CFG__MAX_DEPTH);
      return -1;
    }
    n = node_new(b, seq ? CFG__SEQ : CFG__MAP, pos);
    attach(b, n);
    push(b, n, anchor_of(seq ? e->sequence_start.anchor : e->mapping_start.anchor));
    break;
  }
  case FYET_SEQUENCE_END:
  case FYET_MAPPING_END: {
    VG_ASSERT(b->depth > 0);
    struct open o = b->stack[--b->depth];
    if (o.node->type == CFG__MAP) check_duplicates(b, o.node);
    add_anchor(b, o.anchor, o.node);
    break;
  }
  default:
    break;
  }
  const struct fy_mark *end = fy_event_end_mark(e);
  if (end) b->last = pos_of(end);
  return 0;
}

static void discard_output(struct fy_diag *diag, void *user, const char *buf, size_t len) {}

/* Turns libfyaml's collected errors into diagnostics; says something even when
 * libfyaml failed without one. */
static void syntax_errors(struct builder *b, struct fy_diag *diag) {
  size_t before = b->diags->n;
  void *it = NULL;
  struct fy_diag_error *err;
  while ((err = fy_diag_errors_iterate(diag, &it)) != NULL) {
    if (err->type < FYET_ERROR) continue;
    struct cfg_pos pos = b->last;
    if (err->line > 0 && err->column > 0) pos = (struct cfg_pos){err->line, err->column};
    cfg_diag_add(b->diags, pos, "YAML syntax error: %s", err->msg ? err->msg : "invalid YAML");
  }
  if (b->diags->n == before) cfg_diag_add(b->diags, b->last, "YAML syntax error");
}

int cfg__yaml_parse(const char *text, size_t len, struct cfg_diags *diags,
                    struct cfg__doc *doc) {
  struct builder b = {.text = text, .len = len, .diags = diags, .doc = doc, .last = {1, 1}};
  doc->root = doc->all = NULL;
  if (check_bytes(&b, text, len) < 0) return -1;
  if (check_flow_depth(&b, text, len) < 0) return -1;

  struct fy_diag_cfg dcfg;
  fy_diag_cfg_default(&dcfg);
  dcfg.fp = NULL;
  dcfg.output_fn = discard_output;
  dcfg.colorize = false;
  struct fy_diag *diag = fy_diag_create(&dcfg);
  VG_ASSERT(diag != NULL);
  fy_diag_set_collect_errors(diag, true);
  struct fy_parse_cfg pcfg = {
      .flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_JSON_NONE, .diag = diag};
  struct fy_parser *p = fy_parser_create(&pcfg);
  VG_ASSERT(p != NULL);
  int rc = fy_parser_set_string(p, len ? text : "", len);
  VG_ASSERT(rc == 0);

  struct fy_event *e;
  while (rc == 0 && (e = fy_parser_parse(p)) != NULL) {
    rc = on_event(&b, e);
    fy_parser_event_free(p, e);
  }
  if (rc == 0 && fy_parser_get_stream_error(p)) {
    syntax_errors(&b, diag);
    rc = -1;
  }
  fy_parser_destroy(p);
  fy_diag_destroy(diag);

  for (size_t i = 0; i < b.depth; i++) free(b.stack[i].anchor);
  free(b.stack);
  for (size_t i = 0; i < b.n_anchors; i++) free(b.anchors[i].name);
  free(b.anchors);
  if (rc < 0) {
    cfg__yaml_free(doc);
    return -1;
  }
  return 0;
}

void cfg__yaml_free(struct cfg__doc *doc) {
  struct cfg__node *n = doc->all;
  while (n) {
    struct cfg__node *next = n->next;
    free(n->text);
    free(n->items);
    free(n->pairs);
    free(n);
    n = next;
  }
  doc->root = doc->all = NULL;
}
