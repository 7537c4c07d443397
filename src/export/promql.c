/*
 * A metric-name extractor for PromQL: just enough of a lexer to tell the metric
 * names of an expression from its functions, keywords, labels, strings, durations and
 * Grafana variables. It is how the tests hold the dashboard and the rules to the
 * metrics vigil really exposes; it is not a parser and accepts much that Prometheus
 * would not.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "export/export_int.h"

/* Words that are never metric names where they stand (PromQL keywords are
 * case-insensitive). Functions need no list: they are followed by '('. */
static const char *const keywords[] = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "and", "or", "unless", "atan2", "bool", "offset",
    "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan",
};

/* Keywords followed by a parenthesised list of label names. */
static const char *const grouping[] = {"by", "without", "on", "ignoring", "group_left",
                                       "group_right"};

static bool in_list(const char *const *list, size_t n, const char *w, size_t len) {
  for (size_t i = 0; i < n; i++)
    if (strlen(list[i]) == len && strncasecmp(list[i], w, len) == 0) return true;
  return false;
}

static bool ident_start(char c) { return isalpha((unsigned char)c) || c == '_' || c == ':'; }
static bool ident_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == ':'; }

static const char *skip_space(const char *p) {
  while (*p && isspace((unsigned char)*p)) p++;
  return p;
}

/* p at an opening quote; returns the character after the closing one, or NULL. */
static const char *skip_string(const char *p) {
  char q = *p++;
  for (; *p && *p != q; p++)
    if (*p == '\\' && q != '`' && p[1]) p++;
  return *p ? p + 1 : NULL;
}

/* p at '{', '[' or '('; returns the character after the matching close, or NULL.
 * Strings inside are skipped; other brackets inside must balance. */
static const char *skip_group(const char *p) {
  char stack[64];
  size_t depth = 0;
  do {
    char c = *p;
    if (c == '\0') return NULL;
    if (c == '"' || c == '\'' || c == '`') {
      if (!(p = skip_string(p))) return NULL;
      continue;
    }
    if (c == '{' || c == '[' || c == '(') {
      if (depth == sizeof stack) return NULL;
      stack[depth++] = c == '{' ? '}' : c == '[' ? ']' : ')';
    } else if (c == '}' || c == ']' || c == ')') {
      if (depth == 0 || stack[depth - 1] != c) return NULL;
      depth--;
    }
    p++;
  } while (depth > 0);
  return p;
}

static void add_name(char ***names, const char *w, size_t len) {
  size_t n = 0;
  if (*names)
    for (; (*names)[n]; n++)
      if (strlen((*names)[n]) == len && strncmp((*names)[n], w, len) == 0) return;
  *names = vg_realloc(*names, (n + 2) * sizeof **names);
  (*names)[n] = vg_strndup(w, len);
  (*names)[n + 1] = NULL;
}

int ex_promql_metrics(const char *expr, char ***names) {
  const char *p = expr;
  int parens = 0;
  while (*p) {
    char c = *p;
    if (isspace((unsigned char)c)) {
      p++;
    } else if (c == '#') {
      while (*p && *p != '\n') p++;
    } else if (c == '"' || c == '\'' || c == '`') {
      if (!(p = skip_string(p))) return -1;
    } else if (c == '{' || c == '[') {
      /* label matchers, a range or subquery, a ${var} or [[var]] */
      if (!(p = skip_group(p))) return -1;
    } else if (c == '$') {
      p++;
      while (ident_char(*p)) p++;
    } else if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)p[1]))) {
      /* a number (1e-3, 0x1f, .5) or a duration (5m, 1h30m) */
      while (isalnum((unsigned char)*p) || *p == '.' ||
             ((*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E') &&
              isdigit((unsigned char)p[1])))
        p++;
    } else if (ident_start(c)) {
      const char *w = p;
      while (ident_char(*p)) p++;
      size_t len = (size_t)(p - w);
      const char *next = skip_space(p);
      if (in_list(grouping, VG_ARRAY_LEN(grouping), w, len)) {
        if (*next == '(' && !(p = skip_group(next))) return -1;
      } else if (*next != '(' && !in_list(keywords, VG_ARRAY_LEN(keywords), w, len)) {
        add_name(names, w, len);
      }
    } else {
      if (c == '(') parens++;
      if (c == ')' && --parens < 0) return -1;
      if (c == '}' || c == ']') return -1;
      p++;
    }
  }
  return parens == 0 ? 0 : -1;
}
