/*
 * lineproto — the InfluxDB 1.x line-protocol decoder: one line into a store point
 * (struct tsdb_point), in place, without allocating; and a batch splitter on top that
 * decodes each line straight into its place in a batch (batch.c).
 *
 * The grammar follows InfluxDB 1.x (models/points.go): a backslash escapes only the
 * bytes listed for each part (measurement: ',' ' '; tag keys, tag values, field keys:
 * ',' '=' ' '; string values: '"' '\'); before any other byte it is kept, together with
 * that byte. Numbers are checked against a strict grammar before strtod sees them, so
 * hex floats, inf/nan and a leading '+' never get through. vigil never calls
 * setlocale, so strtod reads '.' as the decimal point.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "ingest/ingest_int.h"

/* Byte classes of the separators, for the escape and stop sets of scan_name, and of the
 * backslash, which ends scan_name's fast path. */
enum { C_COMMA = 1, C_EQ = 2, C_SPACE = 4, C_ALL = 7, C_BSLASH = 8 };
static const uint8_t byte_class[256] = {[','] = C_COMMA, ['='] = C_EQ, [' '] = C_SPACE,
                                        ['\\'] = C_BSLASH};

static unsigned cls(char c) { return byte_class[(unsigned char)c] & C_ALL; }

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

struct lp {
  char *b; /* the line; b[0] is column 1 */
  size_t len;
  size_t pos; /* next byte to read */
  struct ingest_error *err;
  struct tsdb_tag *tags;     /* room for INGEST_MAX_TAGS */
  struct tsdb_field *fields; /* room for INGEST_MAX_FIELDS */
  size_t n_tags, n_fields;
};

static int fail(struct lp *s, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct lp *s, size_t at, const char *fmt, ...) {
  va_list ap;
  s->err->line = 1;
  s->err->col = at + 1;
  s->err->reason = INGEST_R_SYNTAX;
  va_start(ap, fmt);
  vsnprintf(s->err->msg, sizeof s->err->msg, fmt, ap);
  va_end(ap);
  return -1;
}

/* A printable excerpt of a (valid UTF-8) span for error messages: at most 32 bytes,
 * cut on a character boundary, control bytes shown as '?'. */
struct quoted {
  char s[40];
};
static struct quoted quote(const char *p, size_t n) {
  struct quoted q;
  size_t take = n, o = 0;
  if (take > 32) {
    take = 32;
    while (take > 0 && ((unsigned char)p[take] & 0xC0) == 0x80) take--;
  }
  for (size_t i = 0; i < take; i++) {
    unsigned char c = (unsigned char)p[i];
    q.s[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
  }
  if (take < n) {
    memcpy(q.s + o, "...", 3);
    o += 3;
  }
  q.s[o] = '\0';
  return q;
}
#define Q(str) (quote((str).p, (str).len).s)

/* The one character starting at b[i] (the line is valid UTF-8 when this is used). */
static struct quoted char_at(const struct lp *s, size_t i) {
  unsigned char c = (unsigned char)s->b[i];
  size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  return quote(s->b + i, n);
}

/* Offset of the first byte in p[0..n) that is not valid UTF-8 or is NUL, CR or LF;
 * n when there is none. *why says which. */
static size_t check_bytes(const unsigned char *p, size_t n, const char **why) {
  size_t i = 0;
  while (i < n) {
    /* eight bytes at a time while all are printable ASCII: a byte below 0x20 borrows
     * into its top bit, a byte from 0x80 has it set (either ends the fast path) */
    for (uint64_t w; n - i >= 8; i += 8) {
      memcpy(&w, p + i, 8);
      if (((w - 0x2020202020202020u) | w) & 0x8080808080808080u) break;
    }
    if (i == n) break;
    unsigned c = p[i], lo = 0x80, hi = 0xBF;
    size_t k;
    if (c < 0x80) {
      if (c == 0 || c == '\n' || c == '\r') {
        *why = c == 0 ? "NUL byte in line" : c == '\n' ? "newline inside a line"
                                                       : "carriage return inside a line";
        return i;
      }
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF)
      k = 1;
    else if (c == 0xE0)
      k = 2, lo = 0xA0; /* no overlong forms */
    else if (c == 0xED)
      k = 2, hi = 0x9F; /* no surrogates */
    else if (c >= 0xE1 && c <= 0xEF)
      k = 2;
    else if (c == 0xF0)
      k = 3, lo = 0x90;
    else if (c == 0xF4)
      k = 3, hi = 0x8F; /* nothing above U+10FFFF */
    else if (c >= 0xF1 && c <= 0xF3)
      k = 3;
    else
      goto bad;
    if (n - i - 1 < k || p[i + 1] < lo || p[i + 1] > hi) goto bad;
    for (size_t j = 2; j <= k; j++)
      if ((p[i + j] & 0xC0) != 0x80) goto bad;
    i += k + 1;
  }
  return n;
bad:
  *why = "invalid UTF-8";
  return i;
}

/* Reads a name (measurement, tag key or value, field key) from s->pos up to the first
 * unescaped byte of class stop or the end of the line, dropping the backslash of each
 * escape of a class in esc by moving the bytes down in place. Leaves s->pos on the
 * stop byte. -1 on a backslash that ends the line. */
static int scan_name(struct lp *s, unsigned esc, unsigned stop, struct tsdb_str *out) {
  char *b = s->b;
  size_t i = s->pos;
  /* up to the first stop byte or backslash nothing moves */
  while (i < s->len && !(byte_class[(unsigned char)b[i]] & (stop | C_BSLASH))) i++;
  size_t o = i;
  while (i < s->len) {
    if (b[i] == '\\') {
      if (i + 1 == s->len) return fail(s, i, "backslash at end of line");
      if (cls(b[i + 1]) & esc) {
        b[o++] = b[i + 1];
        i += 2;
        continue;
      }
      /* not an escape: both bytes are literal, and the second cannot end the name */
      b[o++] = b[i++];
      b[o++] = b[i++];
      continue;
    }
    if (cls(b[i]) & stop) break;
    b[o++] = b[i++];
  }
  out->p = b + s->pos;
  out->len = o - s->pos;
  s->pos = i;
  return 0;
}

static bool same(struct tsdb_str a, struct tsdb_str b) {
  return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

static int cmp_str(struct tsdb_str a, struct tsdb_str b) {
  int c = memcmp(a.p, b.p, a.len < b.len ? a.len : b.len);
  return c ? c : a.len < b.len ? -1 : a.len > b.len;
}

static int parse_tag(struct lp *s) {
  size_t k0 = s->pos, v0;
  /* decoded straight into the next slot, as fields are (see parse_field) */
  struct tsdb_tag spare, *t = s->n_tags < INGEST_MAX_TAGS ? &s->tags[s->n_tags] : &spare;
  if (scan_name(s, C_ALL, C_ALL, &t->key)) return -1;
  if (t->key.len == 0) return fail(s, k0, "empty tag key");
  if (s->pos == s->len || s->b[s->pos] != '=')
    return fail(s, s->pos, "expected '=' after tag key '%s'", Q(t->key));
  v0 = ++s->pos;
  if (scan_name(s, C_ALL, C_ALL, &t->value)) return -1;
  if (s->pos < s->len && s->b[s->pos] == '=')
    return fail(s, s->pos, "unescaped '=' in value of tag '%s'", Q(t->key));
  if (t->value.len == 0) return fail(s, v0, "empty value for tag '%s'", Q(t->key));
  for (size_t i = 0; i < s->n_tags; i++)
    if (same(s->tags[i].key, t->key)) return fail(s, k0, "duplicate tag key '%s'", Q(t->key));
  if (t == &spare) return fail(s, k0, "too many tags (max %d)", INGEST_MAX_TAGS);
  s->n_tags++;
  return 0;
}

/* Whether the 8 bytes at p are all ASCII digits; *w gets them (first byte lowest).
 * A digit has high nibble 3, and adding 6 to it does not carry into that nibble. */
static bool eight_digits(const char *p, uint64_t *w) {
  memcpy(w, p, 8);
  return ((*w & 0xF0F0F0F0F0F0F0F0u) |
          (((*w + 0x0606060606060606u) & 0xF0F0F0F0F0F0F0F0u) >> 4)) == 0x3333333333333333u;
}

/* The value of eight ASCII digits read by eight_digits, in three multiplications: each
 * byte k becomes 10*d[k] + d[k+1] (the even ones are the four pairs), then the pairs
 * at bytes 0 and 4, and at 2 and 6, are scaled and summed in the upper 32 bits. */
static uint64_t eight_value(uint64_t w) {
  w -= 0x3030303030303030u;
  w = w * 10 + (w >> 8);
  return (((w & 0x000000FF000000FFu) * (100 + (1000000ull << 32))) +
          (((w >> 16) & 0x000000FF000000FFu) * (1 + (10000ull << 32)))) >> 32;
}

/* The end of the run of digits that starts at b[i], at most n. */
static size_t digits_end(const char *b, size_t i, size_t n) {
  uint64_t w;
  while (n - i >= 8 && eight_digits(b + i, &w)) i += 8;
  while (i < n && is_digit(b[i])) i++;
  return i;
}

/* Digits b[p..q) (at least one) as a magnitude; -1 above max. */
static int parse_mag(const char *b, size_t p, size_t q, uint64_t max, uint64_t *v) {
  uint64_t x = 0, w;
  if (q - p <= 19) { /* below 10^19 < 2^64: no overflow on the way */
    for (; q - p >= 8; p += 8) {
      memcpy(&w, b + p, 8);
      x = x * 100000000 + eight_value(w);
    }
    for (; p < q; p++) x = x * 10 + (uint64_t)(b[p] - '0');
    if (x > max) return -1;
    *v = x;
    return 0;
  }
  for (; p < q; p++) {
    unsigned d = (unsigned)(b[p] - '0');
    if (x > (max - d) / 10) return -1;
    x = x * 10 + d;
  }
  *v = x;
  return 0;
}

/* -?[0-9]+ in range of int64: 0, or -1 when out of range. */
static int signed_value(const char *b, size_t d0, size_t d1, bool neg, int64_t *v) {
  uint64_t m;
  if (parse_mag(b, d0, d1, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &m)) return -1;
  *v = neg ? (m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m) : (int64_t)m;
  return 0;
}

/* A float, integer (i) or unsigned (u) in b[p0..p1), which starts with '-', '.' or a digit. */
static int parse_number(struct lp *s, size_t p0, size_t p1, struct tsdb_field *f) {
  const char *b = s->b;
  size_t i = p0, d0, nint, nfrac = 0;
  bool neg = false, frac = false, exp = false;
  if (b[i] == '-') neg = true, i++;
  for (d0 = i; i < p1 && is_digit(b[i]);) i++;
  nint = i - d0;
  if (i < p1 && b[i] == '.') {
    size_t f0 = ++i;
    frac = true;
    while (i < p1 && is_digit(b[i])) i++;
    nfrac = i - f0;
  }
  if (nint + nfrac == 0)
    return fail(s, i, "invalid number in field '%s': expected a digit", Q(f->key));
  if (i < p1 && (b[i] == 'e' || b[i] == 'E')) {
    size_t e0;
    exp = true;
    if (++i < p1 && (b[i] == '+' || b[i] == '-')) i++;
    for (e0 = i; i < p1 && is_digit(b[i]);) i++;
    if (i == e0)
      return fail(s, i, "invalid number in field '%s': expected a digit in the exponent",
                  Q(f->key));
  }
  if (i < p1 && (b[i] == 'i' || b[i] == 'u')) {
    char suffix = b[i];
    if (frac || exp)
      return fail(s, i, "invalid number in field '%s': '%c' suffix after a fraction or exponent",
                  Q(f->key), suffix);
    if (i + 1 < p1)
      return fail(s, i + 1, "invalid number in field '%s': unexpected '%s' after '%c'",
                  Q(f->key), char_at(s, i + 1).s, suffix);
    if (suffix == 'u') {
      if (neg) return fail(s, p0, "negative unsigned integer in field '%s'", Q(f->key));
      if (parse_mag(b, d0, d0 + nint, UINT64_MAX, &f->value.v.u))
        return fail(s, p0, "unsigned integer out of range in field '%s'", Q(f->key));
      f->value.type = TSDB_UINT;
    } else {
      if (signed_value(b, d0, d0 + nint, neg, &f->value.v.i))
        return fail(s, p0, "integer out of range in field '%s'", Q(f->key));
      f->value.type = TSDB_INT;
    }
    return 0;
  }
  if (i < p1)
    return fail(s, i, "invalid number in field '%s': unexpected '%s'", Q(f->key),
                char_at(s, i).s);
  if (p1 - p0 > INGEST_LP_MAX_NUMBER)
    return fail(s, p0, "number too long in field '%s' (max %d bytes)", Q(f->key),
                INGEST_LP_MAX_NUMBER);
  f->value.type = TSDB_FLOAT;
  if (vg_decimal_fast(b + p0, p1 - p0, &f->value.v.f)) return 0;
  char tmp[INGEST_LP_MAX_NUMBER + 1];
  memcpy(tmp, b + p0, p1 - p0);
  tmp[p1 - p0] = '\0';
  f->value.v.f = strtod(tmp, NULL);
  /* underflow to zero or a subnormal is accepted, as Go's ParseFloat does */
  if (isinf(f->value.v.f)) return fail(s, p0, "float out of range in field '%s'", Q(f->key));
  f->value.type = TSDB_FLOAT;
  return 0;
}

static bool token_is(const char *p, size_t n, const char *word) {
  return strlen(word) == n && memcmp(p, word, n) == 0;
}

static int parse_bool(const char *p, size_t n, bool *v) {
  static const char *const yes[] = {"t", "T", "true", "True", "TRUE"};
  static const char *const no[] = {"f", "F", "false", "False", "FALSE"};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
    if (token_is(p, n, yes[i])) return *v = true, 0;
    if (token_is(p, n, no[i])) return *v = false, 0;
  }
  return -1;
}

/* A string value starting at the '"' at s->pos; "\"" and "\\" are its only escapes. */
static int parse_string(struct lp *s, struct tsdb_field *f) {
  char *b = s->b;
  size_t q0 = s->pos, i = q0 + 1, o = q0 + 1;
  while (i < s->len && b[i] != '"') {
    if (b[i] == '\\' && i + 1 < s->len && (b[i + 1] == '"' || b[i + 1] == '\\')) i++;
    b[o++] = b[i++];
  }
  if (i == s->len) return fail(s, q0, "unterminated string in field '%s'", Q(f->key));
  f->value.type = TSDB_STRING;
  f->value.v.s.p = b + q0 + 1;
  f->value.v.s.len = o - (q0 + 1);
  s->pos = i + 1;
  if (s->pos < s->len && b[s->pos] != ',' && b[s->pos] != ' ')
    return fail(s, s->pos, "expected ',' or ' ' after the string in field '%s'", Q(f->key));
  return 0;
}

static int parse_field(struct lp *s) {
  size_t k0 = s->pos, v0, v1;
  /* decoded straight into the next slot, or into a spare when the line has all its
   * fields already: copying a local whose parts were just stored one by one makes the
   * copy's wide loads wait for those stores (store forwarding fails) */
  struct tsdb_field spare,
      *f = s->n_fields < INGEST_MAX_FIELDS ? &s->fields[s->n_fields] : &spare;
  if (scan_name(s, C_ALL, C_ALL, &f->key)) return -1;
  if (f->key.len == 0) return fail(s, k0, "empty field key");
  if (s->pos == s->len || s->b[s->pos] != '=')
    return fail(s, s->pos, "expected '=' after field key '%s'", Q(f->key));
  v0 = ++s->pos;
  if (v0 == s->len || s->b[v0] == ',' || s->b[v0] == ' ')
    return fail(s, v0, "missing value for field '%s'", Q(f->key));
  if (s->b[v0] == '"') {
    if (parse_string(s, f)) return -1;
  } else {
    char c = s->b[v0];
    for (v1 = v0; v1 < s->len && s->b[v1] != ',' && s->b[v1] != ' ';) v1++;
    s->pos = v1;
    if (c == '-' || c == '.' || is_digit(c)) {
      if (parse_number(s, v0, v1, f)) return -1;
    } else if (parse_bool(s->b + v0, v1 - v0, &f->value.v.b) == 0) {
      f->value.type = TSDB_BOOL;
    } else if (c == '+') {
      return fail(s, v0, "leading '+' not allowed in field '%s'", Q(f->key));
    } else {
      return fail(s, v0, "invalid value '%s' in field '%s' (expected a number, bool or string)",
                  quote(s->b + v0, v1 - v0).s, Q(f->key));
    }
  }
  for (size_t i = 0; i < s->n_fields; i++)
    if (same(s->fields[i].key, f->key)) {
      s->fields[i] = *f; /* the last value wins, as in InfluxDB */
      return 0;
    }
  if (f == &spare) return fail(s, k0, "too many fields (max %d)", INGEST_MAX_FIELDS);
  s->n_fields++;
  return 0;
}

static int parse_timestamp(struct lp *s, struct tsdb_point *out) {
  const char *b = s->b;
  size_t t0 = s->pos, i = t0, d0;
  bool neg = false;
  if (b[i] == '-') neg = true, i++;
  i = digits_end(b, d0 = i, s->len);
  if (i == d0) return fail(s, i, "invalid timestamp: expected a digit");
  if (i < s->len && b[i] != ' ')
    return fail(s, i, "invalid timestamp: unexpected '%s'", char_at(s, i).s);
  if (signed_value(b, d0, i, neg, &out->ts))
    return fail(s, t0, "timestamp out of range (int64 nanoseconds)");
  s->pos = i;
  return 0;
}

static void skip_spaces(struct lp *s) {
  while (s->pos < s->len && s->b[s->pos] == ' ') s->pos++;
}

static void sort_tags(struct tsdb_tag *tags, size_t n) {
  for (size_t i = 1; i < n; i++) {
    struct tsdb_tag t = tags[i];
    size_t j = i;
    for (; j > 0 && cmp_str(tags[j - 1].key, t.key) > 0; j--) tags[j] = tags[j - 1];
    tags[j] = t;
  }
}

int ingest_lp_parse_line(char *buf, size_t len, struct tsdb_point *out, struct tsdb_tag *tags,
                         struct tsdb_field *fields, bool *has_ts, struct ingest_error *err) {
  struct lp s = {buf, len, 0, err, tags, fields, 0, 0};
  const char *why = NULL;
  size_t m0, bad;

  out->measurement.p = buf;
  out->measurement.len = 0;
  out->tags = tags;
  out->fields = fields;
  out->n_tags = out->n_fields = 0;
  out->ts = 0;
  *has_ts = false;
  if (len > INGEST_LP_MAX_LINE)
    return fail(&s, INGEST_LP_MAX_LINE, "line too long (%zu bytes, max %d)", len,
                INGEST_LP_MAX_LINE);
  while (s.pos < len && (buf[s.pos] == ' ' || buf[s.pos] == '\t')) s.pos++;
  if (s.pos == len || buf[s.pos] == '#') return 1;
  bad = check_bytes((const unsigned char *)buf + s.pos, len - s.pos, &why);
  if (bad < len - s.pos) return fail(&s, s.pos + bad, "%s", why);

  m0 = s.pos;
  if (scan_name(&s, C_COMMA | C_SPACE, C_COMMA | C_SPACE, &out->measurement)) return -1;
  if (out->measurement.len == 0) return fail(&s, m0, "empty measurement");
  while (s.pos < len && buf[s.pos] == ',') {
    s.pos++;
    if (parse_tag(&s)) return -1;
  }
  skip_spaces(&s);
  if (s.pos == len) return fail(&s, len, "missing field set");
  for (;;) {
    if (parse_field(&s)) return -1;
    if (s.pos == len || buf[s.pos] != ',') break;
    s.pos++;
  }
  skip_spaces(&s);
  if (s.pos < len) {
    if (parse_timestamp(&s, out)) return -1;
    *has_ts = true;
    skip_spaces(&s);
    if (s.pos < len)
      return fail(&s, s.pos, "unexpected '%s' after the timestamp",
                  quote(buf + s.pos, len - s.pos).s);
  }
  sort_tags(tags, s.n_tags);
  out->n_tags = s.n_tags;
  out->n_fields = s.n_fields;
  return 0;
}

size_t ingest_lp_parse_batch(char *buf, size_t len, struct ingest_batch *b, ingest_point_fn *fn,
                             void *arg, size_t *rejected) {
  struct ingest_error err;
  size_t ok = 0, nbad = 0, lineno = 0, start = 0;
  while (start < len) {
    char *nl = memchr(buf + start, '\n', len - start);
    size_t end = nl ? (size_t)(nl - buf) : len, n = end - start;
    bool has_ts;
    lineno++;
    if (n > 0 && buf[start + n - 1] == '\r') n--;
    VG_ASSERT(!ingest_batch_full(b));
    struct tsdb_point *p = &b->points[b->n];
    int rc = ingest_lp_parse_line(buf + start, n, p, b->tags + b->n_tags, b->fields + b->n_fields,
                                  &has_ts, &err);
    if (rc == 0 && ingest__batch_commit(b, p, has_ts, &err) == 0) {
      ok++;
      fn(arg, b, p, NULL);
    } else if (rc != 1) {
      nbad++;
      err.line = lineno;
      fn(arg, b, NULL, &err);
    }
    start = end + 1;
  }
  if (rejected) *rejected = nbad;
  return ok;
}
