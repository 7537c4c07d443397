/*
 * Validation of the `ready: {log: REGEX}` expression.
 *
 * regcomp(3) is the judge of syntax, but glibc's compile time explodes on short
 * patterns: a bounded repetition copies its operand (a{1000}{1000} takes seconds and
 * gigabytes), `+` copies it too (twenty stacked a++++ take seconds, forty exhaust
 * memory), and stacked or nested `*` and `?` make its epsilon closures blow up.
 * So before regcomp the pattern's size is estimated with each bound multiplying its
 * operand by the bound and each `*`, `+` and `?` by two, and patterns beyond a
 * limit no readiness regex needs are refused.
 */
#include "config/config_int.h"
#include "core/core.h"

#include <regex.h>
#include <stdio.h>
#include <string.h>

#define MAX_ELEMENTS 1000 /* estimated; a readiness regex is a line or less */
#define MAX_GROUP_DEPTH 256

struct est {
  const char *p;
  int depth;
};

static uint64_t sat_add(uint64_t a, uint64_t b) {
  return a + b > MAX_ELEMENTS ? MAX_ELEMENTS + 1 : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b) {
  if (a == 0 || b == 0) return 0;
  return a > MAX_ELEMENTS / b ? MAX_ELEMENTS + 1 : a * b;
}

static uint64_t number(const char **p) {
  uint64_t v = 0;
  for (; **p >= '0' && **p <= '9'; (*p)++)
    if (v <= MAX_ELEMENTS) v = v * 10 + (uint64_t)(**p - '0');
  return v;
}

/* A bound {m}, {m,} or {m,n} at e->p: the number of copies it makes of its operand.
 * Anything else is left for regcomp to judge (false, nothing consumed). */
static bool bound(struct est *e, uint64_t *copies) {
  const char *p = e->p + 1;
  if (*p < '0' || *p > '9') return false;
  uint64_t m = number(&p), n = m;
  if (*p == ',') {
    p++;
    n = (*p >= '0' && *p <= '9') ? number(&p) : m + 1;
  }
  if (*p != '}') return false;
  e->p = p + 1;
  *copies = (m > n ? m : n) ? (m > n ? m : n) : 1;
  return true;
}

/* Skips a bracket expression, including [:class:], [.coll.] and [=equiv=] in it. */
static void skip_bracket(struct est *e) {
  const char *p = e->p + 1;
  if (*p == '^') p++;
  if (*p == ']') p++;
  while (*p && *p != ']') {
    if (p[0] == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
      char close = p[1];
      const char *q = p + 2;
      while (*q && !(q[0] == close && q[1] == ']')) q++;
      p = *q ? q + 2 : q;
    } else {
      p++;
    }
  }
  e->p = *p ? p + 1 : p;
}

static uint64_t alternation(struct est *e);

static uint64_t sequence(struct est *e) {
  uint64_t total = 0, atom = 0;
  for (;;) {
    char c = *e->p;
    uint64_t copies;
    if (c == '\0' || c == '|' || c == ')') break;
    if (c == '{' && bound(e, &copies)) {
      atom = sat_mul(atom, copies);
      continue;
    }
    if (c == '*' || c == '+' || c == '?') {
      atom = sat_mul(atom, 2);
      e->p++;
      continue;
    }
    total = sat_add(total, atom);
    atom = 1;
    if (c == '(') {
      e->p++;
      atom = alternation(e);
      if (*e->p == ')') e->p++;
    } else if (c == '[') {
      skip_bracket(e);
    } else {
      e->p += (c == '\\' && e->p[1]) ? 2 : 1;
    }
  }
  return sat_add(total, atom);
}

static uint64_t alternation(struct est *e) {
  if (++e->depth > MAX_GROUP_DEPTH) {
    e->p += strlen(e->p);
    return MAX_ELEMENTS + 1;
  }
  uint64_t total = sequence(e);
  while (*e->p == '|') {
    e->p++;
    total = sat_add(total, sequence(e));
  }
  e->depth--;
  return total;
}

static bool too_large(const char *re) {
  struct est e = {.p = re};
  uint64_t n = 0;
  while (*e.p) {
    n = sat_add(n, alternation(&e));
    if (*e.p == ')') e.p++; /* unbalanced: regcomp reports it */
  }
  return n > MAX_ELEMENTS;
}

int cfg__regex_check(const char *re, char *err, size_t errlen) {
  if (too_large(re)) {
    snprintf(err, errlen, "too large once its repetitions are expanded (limit %d elements)",
             MAX_ELEMENTS);
    return -1;
  }
  regex_t r;
  int rc = regcomp(&r, re, REG_EXTENDED | REG_NOSUB);
  if (rc == 0) {
    regfree(&r);
    return 0;
  }
  regerror(rc, &r, err, errlen);
  return -1;
}
