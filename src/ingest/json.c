/*
 * json — the JSON decoder of feeds: objects into store points, each decoded straight
 * into its place in a batch (batch.c), mapped by the keys of struct ingest_json_map
 * (ingest.h). A small tokenizer over the message bytes, in
 * place and without allocating: string escapes are removed by rewriting the buffer
 * (an escape is never shorter than what it stands for), numbers are checked against
 * the JSON grammar before strtod sees a bounded copy, and nesting is limited, so a
 * hostile message costs no more than its length.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "ingest/ingest_int.h"

#define MAX_DEPTH 64

struct js {
  char *b;
  size_t len, pos;
  struct ingest_error *err;
  /* Lines are counted as whitespace is skipped: once strings are unescaped in place,
   * a "\n" escape has become a newline byte, so the buffer can no longer be scanned. */
  size_t line, line_start; /* 1-based line number of pos, and the offset it starts at */
  size_t at_line, at_col;  /* when set (at_line > 0), the position the next jfail uses */
};

static int jfail(struct js *s, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int jfail(struct js *s, size_t at, const char *fmt, ...) {
  va_list ap;
  if (at > s->len) at = s->len;
  if (s->at_line) {
    s->err->line = s->at_line;
    s->err->col = s->at_col;
    s->at_line = 0;
  } else {
    /* syntax errors are on the current line; mapping problems pass their position in
     * at_line/at_col */
    s->err->line = s->line;
    s->err->col = at >= s->line_start ? at - s->line_start + 1 : 1;
  }
  s->err->reason = INGEST_R_SYNTAX;
  va_start(ap, fmt);
  vsnprintf(s->err->msg, sizeof s->err->msg, fmt, ap);
  va_end(ap);
  return -1;
}

/* A printable excerpt of a name for messages: at most 32 bytes, controls as '?'. */
struct quoted {
  char s[40];
};
static struct quoted quote(struct tsdb_str str) {
  struct quoted q;
  size_t take = str.len > 32 ? 32 : str.len, o = 0;
  while (take > 0 && take < str.len && ((unsigned char)str.p[take] & 0xC0) == 0x80) take--;
  for (size_t i = 0; i < take; i++) {
    unsigned char c = (unsigned char)str.p[i];
    q.s[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
  }
  if (take < str.len) memcpy(q.s + o, "...", 3), o += 3;
  q.s[o] = '\0';
  return q;
}

static struct quoted byte_at(const struct js *s, size_t i) {
  struct quoted q;
  unsigned char c = (unsigned char)s->b[i];
  if (c >= 0x20 && c < 0x7f) snprintf(q.s, sizeof q.s, "'%c'", c);
  else snprintf(q.s, sizeof q.s, "byte 0x%02x", c);
  return q;
}

static void ws(struct js *s) {
  while (s->pos < s->len) {
    char c = s->b[s->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    if (c == '\n') s->line++, s->line_start = s->pos + 1;
    s->pos++;
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int hex4(struct js *s, size_t at, unsigned *out) {
  unsigned v = 0;
  if (s->len - at < 4) return jfail(s, at, "truncated \\u escape");
  for (size_t i = 0; i < 4; i++) {
    int h = hexval(s->b[at + i]);
    if (h < 0) return jfail(s, at + i, "invalid \\u escape: expected a hex digit");
    v = v << 4 | (unsigned)h;
  }
  *out = v;
  return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) return o[0] = (char)cp, 1;
  if (cp < 0x800) return o[0] = (char)(0xC0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3F)), 2;
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | cp >> 12);
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | cp >> 18);
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Length of the valid UTF-8 sequence at p[0..n) (p[0] >= 0x80), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n) {
  unsigned c = p[0], lo = 0x80, hi = 0xBF;
  size_t k;
  if (c >= 0xC2 && c <= 0xDF) k = 1;
  else if (c == 0xE0) k = 2, lo = 0xA0;
  else if (c == 0xED) k = 2, hi = 0x9F;
  else if (c >= 0xE1 && c <= 0xEF) k = 2;
  else if (c == 0xF0) k = 3, lo = 0x90;
  else if (c == 0xF4) k = 3, hi = 0x8F;
  else if (c >= 0xF1 && c <= 0xF3) k = 3;
  else return 0;
  if (n - 1 < k || p[1] < lo || p[1] > hi) return 0;
  for (size_t j = 2; j <= k; j++)
    if ((p[j] & 0xC0) != 0x80) return 0;
  return k + 1;
}

/* A string at the '"' at s->pos; unescaped in place into *out. */
static int jstring(struct js *s, struct tsdb_str *out) {
  char *b = s->b;
  size_t q0 = s->pos, i = q0 + 1, o = q0 + 1;
  for (;;) {
    if (i >= s->len) return jfail(s, q0, "unterminated string");
    unsigned char c = (unsigned char)b[i];
    if (c == '"') break;
    if (c < 0x20) return jfail(s, i, "control character in a string (byte 0x%02x)", c);
    if (c >= 0x80) {
      size_t k = utf8_seq((const unsigned char *)b + i, s->len - i);
      if (!k) return jfail(s, i, "invalid UTF-8");
      memmove(b + o, b + i, k);
      o += k, i += k;
      continue;
    }
    if (c != '\\') {
      b[o++] = b[i++];
      continue;
    }
    if (i + 1 >= s->len) return jfail(s, q0, "unterminated string");
    char e = b[i + 1], r = 0;
    switch (e) {
    case '"': case '\\': case '/': r = e; break;
    case 'b': r = '\b'; break;
    case 'f': r = '\f'; break;
    case 'n': r = '\n'; break;
    case 'r': r = '\r'; break;
    case 't': r = '\t'; break;
    default: break;
    }
    if (r) {
      b[o++] = r;
      i += 2;
      continue;
    }
    if (e != 'u') return jfail(s, i, "invalid escape '\\%s'", byte_at(s, i + 1).s);
    unsigned cp, lo;
    if (hex4(s, i + 2, &cp)) return -1;
    size_t used = 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (s->len - i < 12 || b[i + 6] != '\\' || b[i + 7] != 'u')
        return jfail(s, i, "unpaired surrogate in \\u escape");
      if (hex4(s, i + 8, &lo)) return -1;
      if (lo < 0xDC00 || lo > 0xDFFF) return jfail(s, i, "unpaired surrogate in \\u escape");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      used = 12;
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return jfail(s, i, "unpaired surrogate in \\u escape");
    }
    if (cp == 0) return jfail(s, i, "\\u0000 is not allowed");
    o += put_utf8(b + o, cp);
    i += used;
  }
  out->p = b + q0 + 1;
  out->len = o - (q0 + 1);
  s->pos = i + 1;
  return 0;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* A number at s->pos: its span, and whether it has a fraction or an exponent. */
static int jnumber(struct js *s, size_t *p0, size_t *p1, bool *integral) {
  const char *b = s->b;
  size_t i = s->pos;
  *p0 = i;
  *integral = true;
  if (i < s->len && b[i] == '-') i++;
  if (i >= s->len || !is_digit(b[i])) return jfail(s, i, "invalid number: expected a digit");
  if (b[i] == '0') i++;
  else
    while (i < s->len && is_digit(b[i])) i++;
  if (i < s->len && b[i] == '.') {
    *integral = false;
    if (++i >= s->len || !is_digit(b[i]))
      return jfail(s, i, "invalid number: expected a digit after '.'");
    while (i < s->len && is_digit(b[i])) i++;
  }
  if (i < s->len && (b[i] == 'e' || b[i] == 'E')) {
    *integral = false;
    if (++i < s->len && (b[i] == '+' || b[i] == '-')) i++;
    if (i >= s->len || !is_digit(b[i]))
      return jfail(s, i, "invalid number: expected a digit in the exponent");
    while (i < s->len && is_digit(b[i])) i++;
  }
  *p1 = s->pos = i;
  return 0;
}

static bool word(struct js *s, const char *w) {
  size_t n = strlen(w);
  if (s->len - s->pos < n || memcmp(s->b + s->pos, w, n) != 0) return false;
  s->pos += n;
  return true;
}

/* Skips any value (syntax checked), nesting at most MAX_DEPTH. */
static int jskip(struct js *s, int depth) {
  ws(s);
  if (s->pos >= s->len) return jfail(s, s->pos, "unexpected end of input: expected a value");
  char c = s->b[s->pos];
  if (c == '"') {
    struct tsdb_str str;
    return jstring(s, &str);
  }
  if (c == '-' || is_digit(c)) {
    size_t a, z;
    bool in;
    return jnumber(s, &a, &z, &in);
  }
  if (word(s, "true") || word(s, "false") || word(s, "null")) return 0;
  if (c != '{' && c != '[') return jfail(s, s->pos, "unexpected %s: expected a value", byte_at(s, s->pos).s);
  if (depth >= MAX_DEPTH) return jfail(s, s->pos, "nesting deeper than %d", MAX_DEPTH);
  char close = c == '{' ? '}' : ']';
  s->pos++;
  ws(s);
  if (s->pos < s->len && s->b[s->pos] == close) {
    s->pos++;
    return 0;
  }
  for (;;) {
    if (c == '{') {
      struct tsdb_str k;
      ws(s);
      if (s->pos >= s->len || s->b[s->pos] != '"')
        return jfail(s, s->pos, "expected a string key");
      if (jstring(s, &k)) return -1;
      ws(s);
      if (s->pos >= s->len || s->b[s->pos] != ':') return jfail(s, s->pos, "expected ':' after a key");
      s->pos++;
    }
    if (jskip(s, depth + 1)) return -1;
    ws(s);
    if (s->pos >= s->len) return jfail(s, s->pos, "unexpected end of input: expected ',' or '%c'", close);
    if (s->b[s->pos] == close) {
      s->pos++;
      return 0;
    }
    if (s->b[s->pos] != ',') return jfail(s, s->pos, "expected ',' or '%c'", close);
    s->pos++;
  }
}

static bool eq(struct tsdb_str a, const char *b) {
  return b && strlen(b) == a.len && memcmp(a.p, b, a.len) == 0;
}

static bool in_list(struct tsdb_str k, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (eq(k, list[i])) return true;
  return false;
}

static bool same(struct tsdb_str a, struct tsdb_str b) {
  return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

static int cmp_str(struct tsdb_str a, struct tsdb_str b) {
  int c = memcmp(a.p, b.p, a.len < b.len ? a.len : b.len);
  return c ? c : a.len < b.len ? -1 : a.len > b.len;
}

/* One object being mapped: the first mapping problem is kept, parsing goes on. */
struct obj {
  struct js *s;
  const struct ingest_json_map *m;
  struct tsdb_point *out;
  struct tsdb_tag *tags;     /* room for INGEST_MAX_TAGS */
  struct tsdb_field *fields; /* room for INGEST_MAX_FIELDS */
  bool has_ts;
  struct ingest_error schema;
  bool bad;
  size_t start, start_line, start_col; /* the object's '{' */
  size_t val, val_line, val_col;       /* the member value being read */
};

static void schema_fail(struct obj *o, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void schema_fail(struct obj *o, size_t at, const char *fmt, ...) {
  if (o->bad) return;
  char msg[sizeof o->schema.msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  struct ingest_error *keep = o->s->err;
  o->s->err = &o->schema;
  if (at == o->start) o->s->at_line = o->start_line, o->s->at_col = o->start_col;
  else if (at == o->val) o->s->at_line = o->val_line, o->s->at_col = o->val_col;
  jfail(o->s, at, "%s", msg);
  o->s->err = keep;
  o->schema.reason = INGEST_R_SCHEMA;
  o->bad = true;
}

/* Parses b[p0..p1) (a JSON integer) as int64. */
static bool int64_of(const char *b, size_t p0, size_t p1, int64_t *v) {
  bool neg = b[p0] == '-';
  uint64_t x = 0, max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (size_t i = p0 + neg; i < p1; i++) {
    unsigned d = (unsigned)(b[i] - '0');
    if (x > (max - d) / 10) return false;
    x = x * 10 + d;
  }
  *v = neg ? (x == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)x) : (int64_t)x;
  return true;
}

static void add_tag(struct obj *o, size_t at, struct tsdb_str k, struct tsdb_str v) {
  struct tsdb_point *l = o->out;
  if (k.len == 0) return schema_fail(o, at, "empty tag key");
  if (v.len == 0) return schema_fail(o, at, "empty value for tag '%s'", quote(k).s);
  for (size_t i = 0; i < l->n_tags; i++)
    if (same(o->tags[i].key, k)) return schema_fail(o, at, "duplicate tag key '%s'", quote(k).s);
  if (l->n_tags == INGEST_MAX_TAGS) return schema_fail(o, at, "too many tags (max %d)", INGEST_MAX_TAGS);
  o->tags[l->n_tags++] = (struct tsdb_tag){k, v};
}

static void add_field(struct obj *o, size_t at, const struct tsdb_field *f) {
  struct tsdb_point *l = o->out;
  if (f->key.len == 0) return schema_fail(o, at, "empty field key");
  for (size_t i = 0; i < l->n_fields; i++)
    if (same(o->fields[i].key, f->key)) {
      o->fields[i] = *f;
      return;
    }
  if (l->n_fields == INGEST_MAX_FIELDS)
    return schema_fail(o, at, "too many fields (max %d)", INGEST_MAX_FIELDS);
  o->fields[l->n_fields++] = *f;
}

enum role { R_FIELD, R_TAG, R_MEASUREMENT, R_TIME, R_IGNORE };

/* A scalar member value for key k in the given role. */
static int member(struct obj *o, struct tsdb_str k, enum role role, int depth) {
  struct js *s = o->s;
  ws(s);
  if (s->pos >= s->len) return jfail(s, s->pos, "unexpected end of input: expected a value");
  size_t at = s->pos;
  char c = s->b[at];
  o->val = at, o->val_line = s->line, o->val_col = at - s->line_start + 1;
  if (role == R_IGNORE) return jskip(s, depth);
  if (c == '{' || c == '[') {
    if (jskip(s, depth)) return -1;
    schema_fail(o, at, "%s '%s' is %s", role == R_TAG ? "tag" : role == R_FIELD ? "field" : "key",
                quote(k).s, c == '{' ? "an object" : "an array");
    return 0;
  }
  if (word(s, "null")) return 0;
  struct tsdb_field f = {.key = k};
  if (c == '"') {
    if (jstring(s, &f.value.v.s)) return -1;
    f.value.type = TSDB_STRING;
  } else if (word(s, "true")) {
    f.value.type = TSDB_BOOL, f.value.v.b = true;
  } else if (word(s, "false")) {
    f.value.type = TSDB_BOOL, f.value.v.b = false;
  } else if (c == '-' || is_digit(c)) {
    size_t p0, p1;
    bool integral;
    if (jnumber(s, &p0, &p1, &integral)) return -1;
    if (role == R_TAG) {
      add_tag(o, at, k, (struct tsdb_str){s->b + p0, p1 - p0});
      return 0;
    }
    if (role == R_TIME) {
      if (!integral) return schema_fail(o, at, "time '%s' must be an integer", quote(k).s), 0;
      if (!int64_of(s->b, p0, p1, &o->out->ts))
        return schema_fail(o, at, "time out of range (int64)"), 0;
      o->has_ts = true;
      return 0;
    }
    if (role == R_MEASUREMENT) return schema_fail(o, at, "measurement must be a string"), 0;
    if (in_list(k, o->m->int_keys, o->m->n_int_keys)) {
      if (!integral) return schema_fail(o, at, "field '%s' must be an integer", quote(k).s), 0;
      if (!int64_of(s->b, p0, p1, &f.value.v.i))
        return schema_fail(o, at, "integer out of range in field '%s'", quote(k).s), 0;
      f.value.type = TSDB_INT;
    } else {
      char tmp[INGEST_LP_MAX_NUMBER + 1];
      if (p1 - p0 > INGEST_LP_MAX_NUMBER)
        return schema_fail(o, at, "number too long in field '%s' (max %d bytes)", quote(k).s,
                           INGEST_LP_MAX_NUMBER), 0;
      if (!vg_decimal_fast(s->b + p0, p1 - p0, &f.value.v.f)) {
        memcpy(tmp, s->b + p0, p1 - p0);
        tmp[p1 - p0] = '\0';
        f.value.v.f = strtod(tmp, NULL);
      }
      if (isinf(f.value.v.f)) return schema_fail(o, at, "float out of range in field '%s'", quote(k).s), 0;
      f.value.type = TSDB_FLOAT;
    }
  } else {
    return jfail(s, at, "unexpected %s: expected a value", byte_at(s, at).s);
  }
  switch (role) {
  case R_MEASUREMENT:
    if (f.value.type != TSDB_STRING) return schema_fail(o, at, "measurement must be a string"), 0;
    if (f.value.v.s.len == 0) return schema_fail(o, at, "empty measurement"), 0;
    o->out->measurement = f.value.v.s;
    return 0;
  case R_TIME: return schema_fail(o, at, "time '%s' must be an integer", quote(k).s), 0;
  case R_TAG:
    if (f.value.type != TSDB_STRING) return schema_fail(o, at, "tag '%s' must be a string or a number", quote(k).s), 0;
    add_tag(o, at, k, f.value.v.s);
    return 0;
  default: add_field(o, at, &f); return 0;
  }
}

/* Members of an object at s->pos ('{'), each read by role_of. nested: a tags/fields
 * object whose members all have the same role. */
static int members(struct obj *o, int depth, int nested_role) {
  struct js *s = o->s;
  const struct ingest_json_map *m = o->m;
  s->pos++; /* '{' */
  ws(s);
  if (s->pos < s->len && s->b[s->pos] == '}') {
    s->pos++;
    return 0;
  }
  for (;;) {
    struct tsdb_str k;
    ws(s);
    if (s->pos >= s->len || s->b[s->pos] != '"') return jfail(s, s->pos, "expected a string key");
    if (jstring(s, &k)) return -1;
    ws(s);
    if (s->pos >= s->len || s->b[s->pos] != ':') return jfail(s, s->pos, "expected ':' after a key");
    s->pos++;
    ws(s);
    bool obj_next = s->pos < s->len && s->b[s->pos] == '{';
    if (nested_role >= 0) {
      if (member(o, k, (enum role)nested_role, depth + 1)) return -1;
    } else if (eq(k, m->measurement_key ? m->measurement_key : "measurement")) {
      if (member(o, k, R_MEASUREMENT, depth + 1)) return -1;
    } else if (eq(k, m->time_key ? m->time_key : "time")) {
      if (member(o, k, R_TIME, depth + 1)) return -1;
    } else if (obj_next && eq(k, "tags")) {
      if (members(o, depth + 1, R_TAG)) return -1;
    } else if (obj_next && eq(k, "fields")) {
      if (members(o, depth + 1, R_FIELD)) return -1;
    } else if (in_list(k, m->tag_keys, m->n_tag_keys)) {
      if (member(o, k, R_TAG, depth + 1)) return -1;
    } else if (m->n_field_keys == 0 || in_list(k, m->field_keys, m->n_field_keys)) {
      if (member(o, k, R_FIELD, depth + 1)) return -1;
    } else if (member(o, k, R_IGNORE, depth + 1)) {
      return -1;
    }
    ws(s);
    if (s->pos >= s->len) return jfail(s, s->pos, "unexpected end of input: expected ',' or '}'");
    if (s->b[s->pos] == '}') {
      s->pos++;
      return 0;
    }
    if (s->b[s->pos] != ',') return jfail(s, s->pos, "expected ',' or '}'");
    s->pos++;
  }
}

static void sort_tags(struct tsdb_tag *tags, size_t n) {
  for (size_t i = 1; i < n; i++) {
    struct tsdb_tag t = tags[i];
    size_t j = i;
    for (; j > 0 && cmp_str(tags[j - 1].key, t.key) > 0; j--) tags[j] = tags[j - 1];
    tags[j] = t;
  }
}

struct counts {
  size_t ok, bad;
};

/* One object at s->pos, decoded into b's free tail: its point or its mapping problem
 * goes to fn. */
static int object(struct js *s, const struct ingest_json_map *m, struct ingest_batch *b,
                  ingest_point_fn *fn, void *arg, struct counts *n, int depth) {
  VG_ASSERT(!ingest_batch_full(b));
  struct tsdb_point *line = &b->points[b->n];
  size_t at = s->pos;
  struct obj o = {.s = s, .m = m, .out = line, .tags = b->tags + b->n_tags,
                  .fields = b->fields + b->n_fields, .start = at, .start_line = s->line,
                  .start_col = at - s->line_start + 1};
  line->measurement = (struct tsdb_str){NULL, 0};
  line->tags = o.tags;
  line->fields = o.fields;
  line->n_tags = line->n_fields = 0;
  line->ts = 0;
  if (members(&o, depth, -1)) return -1;
  if (!o.bad && !line->measurement.p) {
    if (m->measurement && m->measurement[0])
      line->measurement = (struct tsdb_str){m->measurement, strlen(m->measurement)};
    else
      schema_fail(&o, at, "no measurement (key '%s')", m->measurement_key ? m->measurement_key : "measurement");
  }
  if (!o.bad && line->n_fields == 0) schema_fail(&o, at, "no fields");
  if (!o.bad) {
    sort_tags(o.tags, line->n_tags);
    if (ingest__batch_commit(b, line, o.has_ts, &o.schema) < 0) {
      o.schema.line = o.start_line, o.schema.col = o.start_col;
      o.bad = true;
    }
  }
  if (o.bad) {
    n->bad++;
    fn(arg, b, NULL, &o.schema);
    return 0;
  }
  n->ok++;
  fn(arg, b, line, NULL);
  return 0;
}

size_t ingest_json_parse(char *buf, size_t len, const struct ingest_json_map *map,
                         struct ingest_batch *b, ingest_point_fn *fn, void *arg,
                         size_t *rejected) {
  static const struct ingest_json_map defaults;
  struct ingest_error err;
  struct js s = {.b = buf, .len = len, .err = &err, .line = 1};
  struct counts n = {0, 0};
  const struct ingest_json_map *m = map ? map : &defaults;
  for (;;) {
    ws(&s);
    if (s.pos >= len) break;
    char c = buf[s.pos];
    int rc = 0;
    if (c == '{') {
      rc = object(&s, m, b, fn, arg, &n, 0);
    } else if (c == '[') {
      s.pos++;
      ws(&s);
      if (s.pos < len && buf[s.pos] == ']') {
        s.pos++;
        continue;
      }
      for (;;) {
        ws(&s);
        if (s.pos >= len) {
          rc = jfail(&s, s.pos, "unexpected end of input: expected an object");
          break;
        }
        if (buf[s.pos] != '{') {
          rc = jfail(&s, s.pos, "expected an object, got %s", byte_at(&s, s.pos).s);
          break;
        }
        if ((rc = object(&s, m, b, fn, arg, &n, 1))) break;
        ws(&s);
        if (s.pos >= len) {
          rc = jfail(&s, s.pos, "unexpected end of input: expected ',' or ']'");
          break;
        }
        if (buf[s.pos] == ']') {
          s.pos++;
          break;
        }
        if (buf[s.pos] != ',') {
          rc = jfail(&s, s.pos, "expected ',' or ']'");
          break;
        }
        s.pos++;
      }
    } else {
      rc = jfail(&s, s.pos, "expected an object or an array of objects, got %s", byte_at(&s, s.pos).s);
    }
    if (rc) {
      n.bad++;
      fn(arg, b, NULL, &err);
      break;
    }
  }
  if (rejected) *rejected = n.bad;
  return n.ok;
}
