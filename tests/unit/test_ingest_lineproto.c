/*
 * Unit tests of the line-protocol decoder (src/ingest/lineproto.c): a table of valid
 * lines covering every feature, a table of invalid lines with the exact column and
 * message, the limits, batches with comments, blank lines and CRLF, a property test
 * that formats random points with a reference formatter and parses them back, and
 * every truncation and random byte flips of the valid lines in exact-size buffers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

#include "../helpers/test_line.h"

/* ---- helpers ---- */

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t rng_state;
static void rng_seed(uint64_t s) { rng_state = s ? s : 1; }
static uint64_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}
static uint64_t rng_below(uint64_t n) { return n ? rng() % n : 0; }

struct text {
  char s[1 << 17];
  size_t n;
};

static void put(struct text *t, const char *p, size_t n) {
  assert_true(t->n + n < sizeof t->s);
  memcpy(t->s + t->n, p, n);
  t->n += n;
  t->s[t->n] = '\0';
}
static void puts_(struct text *t, const char *s) { put(t, s, strlen(s)); }
static void printf_(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void printf_(struct text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(t->s + t->n, sizeof t->s - t->n, fmt, ap);
  va_end(ap);
  assert_true(n >= 0 && t->n + (size_t)n < sizeof t->s);
  t->n += (size_t)n;
}
static void put_str(struct text *t, struct tsdb_str s) {
  puts_(t, "[");
  put(t, s.p, s.len);
  puts_(t, "]");
}

/* A canonical dump of a decoded line: every byte of every string in brackets. */
static void dump(struct text *t, const struct test_line *l) {
  t->n = 0;
  t->s[0] = '\0';
  put_str(t, l->measurement);
  for (size_t i = 0; i < l->n_tags; i++) {
    puts_(t, " ");
    put_str(t, l->tags[i].key);
    puts_(t, "=");
    put_str(t, l->tags[i].value);
  }
  for (size_t i = 0; i < l->n_fields; i++) {
    const struct tsdb_field *f = &l->fields[i];
    puts_(t, " ");
    put_str(t, f->key);
    switch (f->value.type) {
    case TSDB_FLOAT: printf_(t, "=F%.17g", f->value.v.f); break;
    case TSDB_INT: printf_(t, "=I%" PRId64, f->value.v.i); break;
    case TSDB_UINT: printf_(t, "=U%" PRIu64, f->value.v.u); break;
    case TSDB_BOOL: printf_(t, "=B%d", f->value.v.b); break;
    case TSDB_STRING: puts_(t, "=S"); put_str(t, f->value.v.s); break;
    }
  }
  if (l->has_ts) printf_(t, " @%" PRId64, l->ts);
}

/* Parses s (length n) from an exact-size heap copy, so ASan sees any over-read. */
static int parse_copy(const char *s, size_t n, struct test_line *out, struct ingest_error *err,
                      char **keep) {
  char *b = malloc(n ? n : 1);
  memcpy(b, s, n);
  int rc = test_parse_line(b, n, out, err);
  *keep = b;
  return rc;
}

/* ---- valid lines ---- */

struct valid {
  const char *line;
  const char *want;
};

static const struct valid valid_lines[] = {
    {"cpu value=1", "[cpu] [value]=F1"},
    {"cpu,host=a,region=eu value=1.5 1700000000000000000",
     "[cpu] [host]=[a] [region]=[eu] [value]=F1.5 @1700000000000000000"},
    {"m,z=1,a=2,m=3 f=1i", "[m] [a]=[2] [m]=[3] [z]=[1] [f]=I1"},
    {"m,b=1,a=2,ab=3,aa=4 f=1", "[m] [a]=[2] [aa]=[4] [ab]=[3] [b]=[1] [f]=F1"},
    /* escapes everywhere */
    {"my\\ meas\\,x,t\\ k\\=\\,=v\\ a\\=\\,l f\\ k\\=\\,=\"s \\\"q\\\" \\\\ b\" 1",
     "[my meas,x] [t k=,]=[v a=,l] [f k=,]=S[s \"q\" \\ b] @1"},
    {"a=b f=1", "[a=b] [f]=F1"},
    {"m\\=x f=1", "[m\\=x] [f]=F1"},
    {"m\\x,t=a\\\\ f=1", "[m\\x] [t]=[a\\\\] [f]=F1"},
    {"m\\\\,t=v f=1", "[m\\\\] [t]=[v] [f]=F1"},
    {"m s=\"a\\nb\"", "[m] [s]=S[a\\nb]"},
    {"m s=\"a, b=c\",t=1", "[m] [s]=S[a, b=c] [t]=F1"},
    {"m s=\"\"", "[m] [s]=S[]"},
    {"m s=\"\\\\\"", "[m] [s]=S[\\]"},
    {"m s=\"#x\" 5", "[m] [s]=S[#x] @5"},
    {"m f=1.5,i=-12i,u=12u,b=t,s=\"x\"", "[m] [f]=F1.5 [i]=I-12 [u]=U12 [b]=B1 [s]=S[x]"},
    {"m a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE",
     "[m] [a]=B1 [b]=B1 [c]=B1 [d]=B1 [e]=B1 [f]=B0 [g]=B0 [h]=B0 [i]=B0 [j]=B0"},
    {"m f=1 -1", "[m] [f]=F1 @-1"},
    {"m f=1 0", "[m] [f]=F1 @0"},
    {"m a=9223372036854775807i,b=-9223372036854775808i,c=18446744073709551615u,d=0u,e=-0i",
     "[m] [a]=I9223372036854775807 [b]=I-9223372036854775808 [c]=U18446744073709551615 "
     "[d]=U0 [e]=I0"},
    {"m f=1 9223372036854775807", "[m] [f]=F1 @9223372036854775807"},
    {"m f=1 -9223372036854775808", "[m] [f]=F1 @-9223372036854775808"},
    {"m a=1e308,b=-1e308,c=-0.0,d=1.7976931348623157e308,e=4.9e-324,g=1e-400",
     "[m] [a]=F1e+308 [b]=F-1e+308 [c]=F-0 [d]=F1.7976931348623157e+308 "
     "[e]=F4.9406564584124654e-324 [g]=F0"},
    {"m a=.5,b=1.,c=1E3,d=1e+3,e=1e-3,f=007,g=-.25,h=0,i=-0",
     "[m] [a]=F0.5 [b]=F1 [c]=F1000 [d]=F1000 [e]=F0.001 [f]=F7 [g]=F-0.25 [h]=F0 [i]=F-0"},
    {"m i=000012i,u=00u", "[m] [i]=I12 [u]=U0"},
    /* duplicate field keys: first position, last value */
    {"m a=1,b=2,a=\"x\"", "[m] [a]=S[x] [b]=F2"},
    {"m a=1,a=2i,a=3u", "[m] [a]=U3"},
    {"  \tm f=1", "[m] [f]=F1"},
    {"m,t=v   f=1   5   ", "[m] [t]=[v] [f]=F1 @5"},
    {"m f=1 ", "[m] [f]=F1"},
    {"\xe6\xb8\xa9\xe5\xba\xa6,\xe5\x9f\x8e=\xe6\x9d\xb1 \xe5\x80\xa4=1.5",
     "[\xe6\xb8\xa9\xe5\xba\xa6] [\xe5\x9f\x8e]=[\xe6\x9d\xb1] [\xe5\x80\xa4]=F1.5"},
    {"m s=\"\xf0\x9f\x98\x80\"", "[m] [s]=S[\xf0\x9f\x98\x80]"},
    {"m\tx f=1", "[m\tx] [f]=F1"},
    {"m#x f=1", "[m#x] [f]=F1"},
    {"m,t=\"v\" f=1", "[m] [t]=[\"v\"] [f]=F1"},
};

static void valid_table(void **state) {
  struct test_line l;
  struct ingest_error e;
  struct text *t = malloc(sizeof *t);
  for (size_t i = 0; i < sizeof valid_lines / sizeof valid_lines[0]; i++) {
    char *b;
    int rc = parse_copy(valid_lines[i].line, strlen(valid_lines[i].line), &l, &e, &b);
    if (rc != 0)
      fail_msg("line %zu %s: rc %d col %zu %s", i, valid_lines[i].line, rc, e.col, e.msg);
    dump(t, &l);
    if (strcmp(t->s, valid_lines[i].want) != 0)
      fail_msg("line %zu %s:\n got %s\nwant %s", i, valid_lines[i].line, t->s, valid_lines[i].want);
    free(b);
  }
  free(t);
}

static void skipped_lines(void **state) {
  static const char *const skip[] = {"", " ", "\t \t", "#", "# comment, f=1", "  # x", "\t#"};
  struct test_line l;
  struct ingest_error e;
  for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++) {
    char *b;
    assert_int_equal(parse_copy(skip[i], strlen(skip[i]), &l, &e, &b), 1);
    assert_int_equal(l.n_fields, 0);
    free(b);
  }
}

/* ---- invalid lines ---- */

struct invalid {
  const char *line;
  size_t len; /* 0: strlen */
  size_t col;
  const char *msg;
};

static const struct invalid invalid_lines[] = {
    {"m", 0, 2, "missing field set"},
    {"m,t=v", 0, 6, "missing field set"},
    {"m ", 0, 3, "missing field set"},
    {"m f", 0, 4, "expected '=' after field key 'f'"},
    {"m px 1", 0, 5, "expected '=' after field key 'px'"},
    {"m f=", 0, 5, "missing value for field 'f'"},
    {"m f=,g=1", 0, 5, "missing value for field 'f'"},
    {"m f=1,", 0, 7, "empty field key"},
    {"m =1", 0, 3, "empty field key"},
    {"m f=1,g", 0, 8, "expected '=' after field key 'g'"},
    {"m\\", 0, 2, "backslash at end of line"},
    {"m,t=v\\", 0, 6, "backslash at end of line"},
    {"m f\\", 0, 4, "backslash at end of line"},
    {"m,t\\", 0, 4, "backslash at end of line"},
    {"m s=\"abc", 0, 5, "unterminated string in field 's'"},
    {"m s=\"abc\\\"", 0, 5, "unterminated string in field 's'"},
    {"m s=\"abc\\", 0, 5, "unterminated string in field 's'"},
    {"m s=\"a\"x", 0, 8, "expected ',' or ' ' after the string in field 's'"},
    {"m f=12i3", 0, 8, "invalid number in field 'f': unexpected '3' after 'i'"},
    {"m f=12uu", 0, 8, "invalid number in field 'f': unexpected 'u' after 'u'"},
    {"m f=1.2.3", 0, 8, "invalid number in field 'f': unexpected '.'"},
    {"m f=9223372036854775808i", 0, 5, "integer out of range in field 'f'"},
    {"m f=-9223372036854775809i", 0, 5, "integer out of range in field 'f'"},
    {"m f=99999999999999999999999i", 0, 5, "integer out of range in field 'f'"},
    {"m f=18446744073709551616u", 0, 5, "unsigned integer out of range in field 'f'"},
    {"m f=-1u", 0, 5, "negative unsigned integer in field 'f'"},
    {"m f=-0u", 0, 5, "negative unsigned integer in field 'f'"},
    {"m f=1.5i", 0, 8, "invalid number in field 'f': 'i' suffix after a fraction or exponent"},
    {"m f=1e5u", 0, 8, "invalid number in field 'f': 'u' suffix after a fraction or exponent"},
    {"m f=i", 0, 5, "invalid value 'i' in field 'f' (expected a number, bool or string)"},
    {"m f=-i", 0, 6, "invalid number in field 'f': expected a digit"},
    {"m f=1e", 0, 7, "invalid number in field 'f': expected a digit in the exponent"},
    {"m f=1e+", 0, 8, "invalid number in field 'f': expected a digit in the exponent"},
    {"m f=1ex", 0, 7, "invalid number in field 'f': expected a digit in the exponent"},
    {"m f=0x10", 0, 6, "invalid number in field 'f': unexpected 'x'"},
    {"m f=0x1p3", 0, 6, "invalid number in field 'f': unexpected 'x'"},
    {"m f=1,5", 0, 8, "expected '=' after field key '5'"},
    {"m f=inf", 0, 5, "invalid value 'inf' in field 'f' (expected a number, bool or string)"},
    {"m f=NaN", 0, 5, "invalid value 'NaN' in field 'f' (expected a number, bool or string)"},
    {"m f=-inf", 0, 6, "invalid number in field 'f': expected a digit"},
    {"m f=1nan", 0, 6, "invalid number in field 'f': unexpected 'n'"},
    {"m f=+1", 0, 5, "leading '+' not allowed in field 'f'"},
    {"m f=1e309", 0, 5, "float out of range in field 'f'"},
    {"m f=-1e309", 0, 5, "float out of range in field 'f'"},
    {"m f=-", 0, 6, "invalid number in field 'f': expected a digit"},
    {"m f=.", 0, 6, "invalid number in field 'f': expected a digit"},
    {"m f=--1", 0, 6, "invalid number in field 'f': expected a digit"},
    {"m f=yes", 0, 5, "invalid value 'yes' in field 'f' (expected a number, bool or string)"},
    {"m f=tru", 0, 5, "invalid value 'tru' in field 'f' (expected a number, bool or string)"},
    {"m f=tRUE", 0, 5, "invalid value 'tRUE' in field 'f' (expected a number, bool or string)"},
    {"m f=1 12a", 0, 9, "invalid timestamp: unexpected 'a'"},
    {"m f=1 1.5", 0, 8, "invalid timestamp: unexpected '.'"},
    {"m f=1 -", 0, 8, "invalid timestamp: expected a digit"},
    {"m f=1 +5", 0, 7, "invalid timestamp: expected a digit"},
    {"m f=1 abc", 0, 7, "invalid timestamp: expected a digit"},
    {"m f=1 9223372036854775808", 0, 7, "timestamp out of range (int64 nanoseconds)"},
    {"m f=1 -9223372036854775809", 0, 7, "timestamp out of range (int64 nanoseconds)"},
    {"m f=1 123 xyz", 0, 11, "unexpected 'xyz' after the timestamp"},
    {"m f=1 2 3", 0, 9, "unexpected '3' after the timestamp"},
    {"m f=1 1\xc3\xa9", 0, 8, "invalid timestamp: unexpected '\xc3\xa9'"},
    {"m,t=a,t=b f=1", 0, 7, "duplicate tag key 't'"},
    {"m,t\\ x=a,u=1,t\\ x=b f=1", 0, 14, "duplicate tag key 't x'"},
    {",t=v f=1", 0, 1, "empty measurement"},
    {" ,t=v f=1", 0, 2, "empty measurement"},
    {" f=1", 0, 5, "missing field set"},
    {"m,=v f=1", 0, 3, "empty tag key"},
    {"m,t= f=1", 0, 5, "empty value for tag 't'"},
    {"m,t=v, f=1", 0, 7, "empty tag key"},
    {"m,t f=1", 0, 4, "expected '=' after tag key 't'"},
    {"m,t=a=b f=1", 0, 6, "unescaped '=' in value of tag 't'"},
    {"m f=\"\xff\"", 0, 6, "invalid UTF-8"},
    {"m f=\"\xc0\xaf\"", 0, 6, "invalid UTF-8"},
    {"m f=\"\xed\xa0\x80\"", 0, 6, "invalid UTF-8"},
    {"m f=\"\xf4\x90\x80\x80\"", 0, 6, "invalid UTF-8"},
    {"m f=\"\xe2\x82\"", 0, 6, "invalid UTF-8"},
    {"m f=1 \xe2\x82", 0, 7, "invalid UTF-8"},
    {"m f=\"a\0b\"", 10, 7, "NUL byte in line"},
    {"m f=1\rx", 0, 6, "carriage return inside a line"},
    {"m f=1\n", 0, 6, "newline inside a line"},
    {"m kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk 1", 0, 43,
     "expected '=' after field key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...'"},
    {"m \xe6\x9d\xb1\xe6\x9d\xb1\xe6\x9d\xb1\xe6\x9d\xb1\xe6\x9d\xb1\xe6\x9d\xb1\xe6\x9d\xb1"
     "\xe6\x9d\xb1\xe6\x9d\xb1\xe6\x9d\xb1\xe6\x9d\xb1 1",
     0, 36,
     "expected '=' after field key '\xe6\x9d\xb1\xe6\x9d\xb1\xe6\x9d\xb1\xe6\x9d\xb1\xe6\x9d\xb1"
     "\xe6\x9d\xb1\xe6\x9d\xb1\xe6\x9d\xb1\xe6\x9d\xb1\xe6\x9d\xb1...'"},
    {"m f=\"a\tb\"x", 0, 10, "expected ',' or ' ' after the string in field 'f'"},
    {"m f=a\tb", 0, 5, "invalid value 'a?b' in field 'f' (expected a number, bool or string)"},
};

static void check_invalid(const char *line, size_t len, size_t col, const char *msg) {
  struct test_line *l = malloc(sizeof *l);
  struct ingest_error e;
  char *b;
  memset(&e, 0, sizeof e);
  int rc = parse_copy(line, len, l, &e, &b);
  if (rc != -1) fail_msg("%.60s: rc %d, want -1", line, rc);
  if (e.line != 1 || e.col != col || strcmp(e.msg, msg) != 0)
    fail_msg("%.60s:\n got %zu:%zu: %s\nwant 1:%zu: %s", line, e.line, e.col, e.msg, col, msg);
  free(b);
  free(l);
}

static void invalid_table(void **state) {
  for (size_t i = 0; i < sizeof invalid_lines / sizeof invalid_lines[0]; i++) {
    const struct invalid *c = &invalid_lines[i];
    check_invalid(c->line, c->len ? c->len : strlen(c->line), c->col, c->msg);
  }
}

/* ---- limits ---- */

static void limits(void **state) {
  struct text *t = malloc(sizeof *t);
  struct test_line *l = malloc(sizeof *l);
  struct ingest_error e;
  char *b;

  /* 64 tags and 64 fields are fine; the 65th of each is not */
  t->n = 0;
  puts_(t, "m");
  for (int i = 0; i < INGEST_MAX_TAGS; i++) printf_(t, ",t%02d=v", INGEST_MAX_TAGS - 1 - i);
  size_t tags_end = t->n;
  puts_(t, " ");
  for (int i = 0; i < INGEST_MAX_FIELDS; i++) printf_(t, "%sf%d=%di", i ? "," : "", i, i);
  assert_int_equal(parse_copy(t->s, t->n, l, &e, &b), 0);
  assert_int_equal(l->n_tags, INGEST_MAX_TAGS);
  assert_int_equal(l->n_fields, INGEST_MAX_FIELDS);
  for (size_t i = 0; i < l->n_tags; i++) {
    char want[8];
    snprintf(want, sizeof want, "t%02zu", i);
    assert_int_equal(l->tags[i].key.len, 3);
    assert_memory_equal(l->tags[i].key.p, want, 3);
  }
  free(b);
  /* a duplicate field key does not count against the limit */
  size_t n = t->n;
  puts_(t, ",f0=1u");
  assert_int_equal(parse_copy(t->s, t->n, l, &e, &b), 0);
  assert_int_equal(l->n_fields, INGEST_MAX_FIELDS);
  assert_int_equal(l->fields[0].value.type, TSDB_UINT);
  free(b);
  t->n = n;
  puts_(t, ",g=1");
  check_invalid(t->s, t->n, n + 2, "too many fields (max 64)");

  t->n = tags_end;
  puts_(t, ",x=1 f=1");
  check_invalid(t->s, t->n, tags_end + 2, "too many tags (max 64)");

  /* line length: 64 KiB exactly is accepted, one byte more is not */
  t->n = 0;
  puts_(t, "m s=\"");
  while (t->n < INGEST_LP_MAX_LINE - 1) puts_(t, "x");
  puts_(t, "\"");
  assert_int_equal(t->n, INGEST_LP_MAX_LINE);
  assert_int_equal(parse_copy(t->s, t->n, l, &e, &b), 0);
  assert_int_equal(l->fields[0].value.v.s.len, INGEST_LP_MAX_LINE - 6);
  free(b);
  t->s[t->n - 1] = 'x';
  puts_(t, "\"");
  check_invalid(t->s, t->n, INGEST_LP_MAX_LINE + 1, "line too long (65537 bytes, max 65536)");
  t->s[0] = '#'; /* even a comment */
  check_invalid(t->s, t->n, INGEST_LP_MAX_LINE + 1, "line too long (65537 bytes, max 65536)");

  /* numbers: 127 bytes is the longest float */
  t->n = 0;
  puts_(t, "m f=0.");
  while (t->n < 4 + INGEST_LP_MAX_NUMBER) puts_(t, "0");
  assert_int_equal(parse_copy(t->s, t->n, l, &e, &b), 0);
  free(b);
  puts_(t, "1");
  check_invalid(t->s, t->n, 5, "number too long in field 'f' (max 127 bytes)");
  /* but integers are not limited */
  t->n = 0;
  puts_(t, "m f=");
  for (int i = 0; i < 300; i++) puts_(t, "0");
  puts_(t, "42i");
  assert_int_equal(parse_copy(t->s, t->n, l, &e, &b), 0);
  assert_int_equal(l->fields[0].value.v.i, 42);
  free(b);

  free(l);
  free(t);
}

/* ---- batches ---- */

struct collect {
  struct text *out;
  size_t n_ok, n_err;
};

static void collect_fn(void *arg, struct ingest_batch *bt, const struct tsdb_point *p,
                       const struct ingest_error *err) {
  struct collect *c = arg;
  struct text t;
  assert_true((p == NULL) != (err == NULL));
  if (p) {
    struct test_line line;
    test_line_of(&line, p);
    dump(&t, &line);
    c->n_ok++;
    put(c->out, t.s, t.n);
  } else {
    c->n_err++;
    printf_(c->out, "%zu:%zu: %s", err->line, err->col, err->msg);
  }
  puts_(c->out, "\n");
  if (ingest_batch_full(bt)) ingest_batch_reset(bt);
}

static void batch(void **state) {
  static const char in[] = "# header\n"
                           "\n"
                           "cpu,host=a v=1 10\r\n"
                           "   \r\n"
                           "cpu,host=b v=2i 20\n"
                           "cpu v=\n"
                           "\r\n"
                           "  # indented comment\n"
                           "cpu,host=a,host=b v=1\r\n"
                           "mem free=3u";
  static const char want[] = "[cpu] [host]=[a] [v]=F1 @10\n"
                             "[cpu] [host]=[b] [v]=I2 @20\n"
                             "6:7: missing value for field 'v'\n"
                             "9:12: duplicate tag key 'host'\n"
                             "[mem] [free]=U3\n";
  struct collect c = {malloc(sizeof *c.out), 0, 0};
  struct ingest_batch bt;
  ingest_batch_init(&bt, 2, TEST_NO_TS, 1); /* full after two points: reset by collect_fn */
  char *b = malloc(sizeof in - 1);
  size_t rejected = 99;
  c.out->n = 0;
  memcpy(b, in, sizeof in - 1);
  assert_int_equal(ingest_lp_parse_batch(b, sizeof in - 1, &bt, collect_fn, &c, &rejected), 3);
  assert_int_equal(rejected, 2);
  assert_int_equal(c.n_ok, 3);
  assert_int_equal(c.n_err, 2);
  assert_string_equal(c.out->s, want);

  /* a final newline adds no line; an empty batch has none; rejected may be NULL */
  c.out->n = 0;
  c.n_ok = c.n_err = 0;
  memcpy(b, "a f=1\n", 6);
  assert_int_equal(ingest_lp_parse_batch(b, 6, &bt, collect_fn, &c, NULL), 1);
  assert_int_equal(ingest_lp_parse_batch(b, 0, &bt, collect_fn, &c, &rejected), 0);
  assert_int_equal(rejected, 0);
  assert_int_equal(c.n_ok + c.n_err, 1);
  free(b);

  /* a lone "\r" line ending is not a line ending; "\r" inside a line is an error */
  char cr[] = "a f=1\rb f=2\n";
  c.out->n = 0;
  assert_int_equal(ingest_lp_parse_batch(cr, strlen(cr), &bt, collect_fn, &c, &rejected), 0);
  assert_int_equal(rejected, 1);
  assert_string_equal(c.out->s, "1:6: carriage return inside a line\n");
  free(c.out);
  ingest_batch_free(&bt);
}

/* ---- property test: reference formatter, parse back, compare ---- */

static const char *const alphabet[] = {"a", "b", "Z", "0", "9", "_", "-", ".", ",", "=", " ",
                                       "\"", "#", "\t", "'", "\xc3\xa9", "\xe6\x9d\xb1",
                                       "\xf0\x9f\x98\x80"};

/* A random name of 1..10 characters, no backslash (see docs/ingest.md). */
static size_t rand_name(char *out, bool measurement) {
  size_t n = 1 + rng_below(10), o = 0;
  for (size_t i = 0; i < n; i++) {
    const char *a = alphabet[rng_below(ARRAY_LEN(alphabet))];
    /* a leading '#' would make a comment and a leading tab would be skipped */
    if (measurement && i == 0 && (a[0] == '#' || a[0] == '\t')) a = "m";
    memcpy(out + o, a, strlen(a));
    o += strlen(a);
  }
  return o;
}

static void put_escaped(struct text *t, const char *p, size_t n, const char *esc) {
  for (size_t i = 0; i < n; i++) {
    if (strchr(esc, p[i]) && p[i] != '\0') puts_(t, "\\");
    put(t, p + i, 1);
  }
}

struct point {
  char meas[64];
  size_t meas_len;
  char tkey[INGEST_MAX_TAGS][64], tval[INGEST_MAX_TAGS][64];
  size_t tkey_len[INGEST_MAX_TAGS], tval_len[INGEST_MAX_TAGS], n_tags;
  char fkey[INGEST_MAX_FIELDS][64];
  size_t fkey_len[INGEST_MAX_FIELDS], n_fields;
  struct tsdb_field f[INGEST_MAX_FIELDS]; /* key unused; strings in sval */
  char sval[INGEST_MAX_FIELDS][64];
  int64_t ts;
  bool has_ts;
};

static bool key_taken(char keys[][64], const size_t *lens, size_t n, const char *k, size_t kl) {
  for (size_t i = 0; i < n; i++)
    if (lens[i] == kl && memcmp(keys[i], k, kl) == 0) return true;
  return false;
}

static void rand_point(struct point *p) {
  p->meas_len = rand_name(p->meas, true);
  p->n_tags = rng_below(20) == 0 ? INGEST_MAX_TAGS : rng_below(6);
  for (size_t i = 0; i < p->n_tags; i++) {
    do p->tkey_len[i] = rand_name(p->tkey[i], false);
    while (key_taken(p->tkey, p->tkey_len, i, p->tkey[i], p->tkey_len[i]));
    p->tval_len[i] = rand_name(p->tval[i], false);
  }
  p->n_fields = rng_below(20) == 0 ? INGEST_MAX_FIELDS : 1 + rng_below(6);
  for (size_t i = 0; i < p->n_fields; i++) {
    struct tsdb_field *f = &p->f[i];
    do p->fkey_len[i] = rand_name(p->fkey[i], false);
    while (key_taken(p->fkey, p->fkey_len, i, p->fkey[i], p->fkey_len[i]));
    f->value.type = (enum tsdb_type)rng_below(5);
    switch (f->value.type) {
    case TSDB_FLOAT: {
      uint64_t bits = rng();
      switch (rng_below(4)) {
      case 0: f->value.v.f = (double)(int64_t)rng_below(2000000) / 100.0 - 10000; break;
      case 1: f->value.v.f = bits & 1 ? -0.0 : 0.0; break;
      default:
        memcpy(&f->value.v.f, &bits, 8);
        if (!isfinite(f->value.v.f)) f->value.v.f = 1e308;
      }
      break;
    }
    case TSDB_INT:
      f->value.v.i = rng_below(4) == 0 ? (rng() & 1 ? INT64_MIN : INT64_MAX) : (int64_t)rng();
      break;
    case TSDB_UINT: f->value.v.u = rng_below(4) == 0 ? UINT64_MAX : rng() >> rng_below(64); break;
    case TSDB_BOOL: f->value.v.b = rng() & 1; break;
    case TSDB_STRING: {
      size_t n = rng_below(12), o = 0;
      static const char *const extra[] = {"\\", "\"", "\\\"", ",", " ", "=", "\\n", "x"};
      for (size_t k = 0; k < n; k++) {
        const char *a = rng() & 1 ? alphabet[rng_below(ARRAY_LEN(alphabet))]
                                  : extra[rng_below(ARRAY_LEN(extra))];
        memcpy(p->sval[i] + o, a, strlen(a));
        o += strlen(a);
      }
      f->value.v.s.p = p->sval[i];
      f->value.v.s.len = o;
      break;
    }
    }
  }
  p->has_ts = rng() & 1;
  p->ts = rng_below(4) == 0 ? (rng() & 1 ? INT64_MIN : INT64_MAX) : (int64_t)rng();
}

static void spaces(struct text *t) {
  puts_(t, " ");
  if (rng_below(8) == 0) puts_(t, "  ");
}

/* The reference formatter. */
static void format_point(struct text *t, const struct point *p) {
  static const char *const yes[] = {"t", "T", "true", "True", "TRUE"};
  static const char *const no[] = {"f", "F", "false", "False", "FALSE"};
  if (rng_below(8) == 0) puts_(t, rng() & 1 ? " " : "\t");
  put_escaped(t, p->meas, p->meas_len, ", ");
  for (size_t i = 0; i < p->n_tags; i++) {
    puts_(t, ",");
    put_escaped(t, p->tkey[i], p->tkey_len[i], ",= ");
    puts_(t, "=");
    put_escaped(t, p->tval[i], p->tval_len[i], ",= ");
  }
  spaces(t);
  for (size_t i = 0; i < p->n_fields; i++) {
    const struct tsdb_field *f = &p->f[i];
    if (i) puts_(t, ",");
    put_escaped(t, p->fkey[i], p->fkey_len[i], ",= ");
    puts_(t, "=");
    switch (f->value.type) {
    case TSDB_FLOAT: printf_(t, "%.17g", f->value.v.f); break;
    case TSDB_INT: printf_(t, "%" PRId64 "i", f->value.v.i); break;
    case TSDB_UINT: printf_(t, "%" PRIu64 "u", f->value.v.u); break;
    case TSDB_BOOL: puts_(t, (f->value.v.b ? yes : no)[rng_below(5)]); break;
    case TSDB_STRING:
      puts_(t, "\"");
      put_escaped(t, f->value.v.s.p, f->value.v.s.len, "\"\\");
      puts_(t, "\"");
      break;
    }
  }
  if (p->has_ts) {
    spaces(t);
    printf_(t, "%" PRId64, p->ts);
  }
  if (rng_below(8) == 0) puts_(t, " ");
}

static bool str_is(struct tsdb_str s, const char *p, size_t n) {
  return s.len == n && memcmp(s.p, p, n) == 0;
}

static void check_point(const struct point *p, const struct test_line *l) {
  assert_true(str_is(l->measurement, p->meas, p->meas_len));
  assert_int_equal(l->n_tags, p->n_tags);
  for (size_t i = 0; i < l->n_tags; i++) {
    /* sorted: each key is above the one before it */
    if (i) {
      const struct tsdb_str *a = &l->tags[i - 1].key, *b = &l->tags[i].key;
      int c = memcmp(a->p, b->p, a->len < b->len ? a->len : b->len);
      assert_true(c < 0 || (c == 0 && a->len < b->len));
    }
    size_t k = 0;
    while (k < p->n_tags && !str_is(l->tags[i].key, p->tkey[k], p->tkey_len[k])) k++;
    assert_true(k < p->n_tags);
    assert_true(str_is(l->tags[i].value, p->tval[k], p->tval_len[k]));
  }
  assert_int_equal(l->n_fields, p->n_fields);
  for (size_t i = 0; i < l->n_fields; i++) {
    const struct tsdb_field *g = &l->fields[i], *w = &p->f[i];
    assert_true(str_is(g->key, p->fkey[i], p->fkey_len[i]));
    assert_int_equal(g->value.type, w->value.type);
    switch (w->value.type) {
    case TSDB_FLOAT: assert_memory_equal(&g->value.v.f, &w->value.v.f, sizeof(double)); break;
    case TSDB_INT: assert_true(g->value.v.i == w->value.v.i); break;
    case TSDB_UINT: assert_true(g->value.v.u == w->value.v.u); break;
    case TSDB_BOOL: assert_int_equal(g->value.v.b, w->value.v.b); break;
    case TSDB_STRING: assert_true(str_is(g->value.v.s, w->value.v.s.p, w->value.v.s.len)); break;
    }
  }
  assert_int_equal(l->has_ts, p->has_ts);
  if (p->has_ts) assert_true(l->ts == p->ts);
}

static void roundtrip_property(void **state) {
  struct text *t = malloc(sizeof *t);
  struct point *p = malloc(sizeof *p);
  struct test_line *l = malloc(sizeof *l);
  struct ingest_error e;
  rng_seed(0x11e9a07);
  for (int iter = 0; iter < 20000; iter++) {
    char *b;
    t->n = 0;
    rand_point(p);
    format_point(t, p);
    int rc = parse_copy(t->s, t->n, l, &e, &b);
    if (rc != 0) fail_msg("iter %d: %s\n-> rc %d col %zu: %s", iter, t->s, rc, e.col, e.msg);
    check_point(p, l);
    free(b);
  }
  free(l);
  free(p);
  free(t);
}

struct batch_check {
  struct point *pts;
  size_t next;
};

static void batch_check_fn(void *arg, struct ingest_batch *bt, const struct tsdb_point *p,
                           const struct ingest_error *err) {
  struct batch_check *c = arg;
  if (err) fail_msg("batch line %zu:%zu: %s", err->line, err->col, err->msg);
  struct test_line *line = malloc(sizeof *line);
  test_line_of(line, p);
  check_point(&c->pts[c->next++], line);
  free(line);
  if (ingest_batch_full(bt)) ingest_batch_reset(bt);
}

static void batch_property(void **state) {
  enum { N = 40 };
  struct text *t = malloc(sizeof *t);
  struct batch_check c = {malloc(N * sizeof(struct point)), 0};
  rng_seed(0xba7c4);
  for (int iter = 0; iter < 200; iter++) {
    t->n = 0;
    for (size_t i = 0; i < N; i++) {
      if (rng_below(4) == 0) puts_(t, rng() & 1 ? "# a comment, x=1 2\n" : "\r\n");
      rand_point(&c.pts[i]);
      format_point(t, &c.pts[i]);
      if (i + 1 < N || rng() & 1) puts_(t, rng() & 1 ? "\n" : "\r\n");
    }
    char *b = malloc(t->n);
    size_t rejected;
    memcpy(b, t->s, t->n);
    c.next = 0;
    struct ingest_batch bt;
    ingest_batch_init(&bt, 7, TEST_NO_TS, 1);
    assert_int_equal(ingest_lp_parse_batch(b, t->n, &bt, batch_check_fn, &c, &rejected), N);
    ingest_batch_free(&bt);
    assert_int_equal(rejected, 0);
    assert_int_equal(c.next, N);
    free(b);
  }
  free(c.pts);
  free(t);
}

/* ---- hostile input: truncations and byte flips never crash or over-read ---- */

static void check_outcome(int rc, const struct test_line *l, const struct ingest_error *e,
                          const char *b, size_t n) {
  assert_true(rc >= -1 && rc <= 1);
  if (rc == -1) {
    assert_true(e->col >= 1 && e->col <= n + 1);
    assert_true(strlen(e->msg) > 0 && strlen(e->msg) < sizeof e->msg);
  } else if (rc == 0) {
    assert_true(l->n_fields >= 1 && l->n_fields <= INGEST_MAX_FIELDS);
    assert_true(l->n_tags <= INGEST_MAX_TAGS);
    assert_true(l->measurement.len > 0);
    assert_true(l->measurement.p >= b && l->measurement.p + l->measurement.len <= b + n);
  }
}

static void hostile(void **state) {
  struct test_line *l = malloc(sizeof *l);
  struct ingest_error e;
  rng_seed(0x4057);
  for (size_t i = 0; i < sizeof valid_lines / sizeof valid_lines[0]; i++) {
    const char *s = valid_lines[i].line;
    size_t n = strlen(s);
    for (size_t cut = 0; cut <= n; cut++) {
      char *b;
      int rc = parse_copy(s, cut, l, &e, &b);
      check_outcome(rc, l, &e, b, cut);
      free(b);
    }
    for (int k = 0; k < 300; k++) {
      char *m = malloc(n), *b;
      memcpy(m, s, n);
      for (int f = 0; f < 1 + (int)rng_below(3); f++) {
        static const char pick[] = "\\\", =.-+ie0u#\t\xff\xc3";
        m[rng_below(n)] = rng() & 1 ? (char)rng() : pick[rng_below(sizeof pick - 1)];
      }
      int rc = parse_copy(m, n, l, &e, &b);
      check_outcome(rc, l, &e, b, n);
      free(b);
      free(m);
    }
  }
  free(l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(valid_table),   cmocka_unit_test(skipped_lines),
      cmocka_unit_test(invalid_table), cmocka_unit_test(limits),
      cmocka_unit_test(batch),         cmocka_unit_test(roundtrip_property),
      cmocka_unit_test(batch_property), cmocka_unit_test(hostile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
