/*
 * Numbers, escaping and name rules of the Prometheus and OpenMetrics text formats.
 *
 * Values are written so that they read back to the same double: integers below 2^53
 * (the common case: counts, bytes, unix seconds) by a plain itoa, anything else as the
 * shortest digits that round-trip (what %.15g, %.16g or %.17g would give, found with
 * one printf at most for the usual magnitudes), laid out as Go's
 * strconv.FormatFloat(v, 'g', -1, 64) does — what client_golang writes, and the
 * canonical rendering OpenMetrics asks for in le labels.
 */
#include "metrics/metrics_int.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t mt__fmt_u64(uint64_t u, char *out) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  out[n] = '\0';
  return n;
}

static const double POW10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

#define SHORT_NEEDS_16 (-1)

/* The fast path, for the values metrics usually hold: a = r / 10^k for an integer r of
 * at most 15 digits (0.25, 0.001234567, 1732345678.123). The first k at which
 * round(a * 10^k) / 10^k gives a back is the shortest form: below 2^50, a * 10^k is
 * within 0.2 of that r (half an ulp of a, scaled, plus the product's rounding), and
 * the division of two exact doubles is correctly rounded. Returns the digit count, or
 * 0 when a lies outside what this covers, or SHORT_NEEDS_16 when it is certain that
 * a needs 16 or 17 digits: every form of at most 15 digits has r < 10^15 < 2^50, so
 * one with k below the k that reached 2^50 would have been found. */
static int short_decimal(double a, char d[18], int *exp10) {
  for (int k = 0; k < (int)VG_ARRAY_LEN(POW10); k++) {
    double p = a * POW10[k];
    if (p >= 1125899906842624.0) return k > 0 ? SHORT_NEEDS_16 : 0; /* 2^50 */
    double r = nearbyint(p);
    if (r == 0 || r / POW10[k] != a) continue;
    char tmp[24];
    int n = (int)mt__fmt_u64((uint64_t)r, tmp);
    *exp10 = n - 1 - k;
    memcpy(d, tmp, (size_t)n);
    return n;
  }
  return 0;
}

/* Parses printf's "D.DDDDe[+-]XX" into digits and the exponent of the first one. */
static int parse_e(const char *buf, char d[18], int *exp10) {
  int n = 0;
  const char *p = buf;
  for (; *p && *p != 'e'; p++)
    if (*p != '.') d[n++] = *p;
  *exp10 = *p == 'e' ? atoi(p + 1) : 0;
  return n;
}

/* The double that the n digits d with first-digit exponent exp10 read back as. */
static double read_back(const char *d, int n, int exp10) {
  char buf[40];
  size_t k = 0;
  buf[k++] = d[0];
  buf[k++] = '.';
  memcpy(buf + k, d + 1, (size_t)n - 1);
  k += (size_t)n - 1;
  buf[k++] = 'e';
  if (exp10 < 0) buf[k++] = '-';
  mt__fmt_u64((uint64_t)(exp10 < 0 ? -exp10 : exp10), buf + k);
  return strtod(buf, NULL);
}

/* a needs 16 or 17 digits. printf's 17 always read back; the 16-digit rounding of a
 * is the first 16 of them or those plus one unit, whichever the 17th digit points to
 * first. Returns the count in d. */
static int digits_16_or_17(double a, char d[18], int *exp10) {
  char buf[40];
  snprintf(buf, sizeof buf, "%.16e", a);
  parse_e(buf, d, exp10);
  char c[2][18];
  int ce[2] = {*exp10, *exp10};
  memcpy(c[0], d, 16); /* cut */
  memcpy(c[1], d, 16); /* cut, plus one in the last place */
  int i = 15;
  while (i >= 0 && c[1][i] == '9') c[1][i--] = '0';
  if (i >= 0) {
    c[1][i]++;
  } else {
    c[1][0] = '1';
    ce[1]++;
  }
  int first = d[16] >= '5';
  for (int t = 0; t < 2; t++) {
    int which = t ? !first : first;
    if (read_back(c[which], 16, ce[which]) == a) {
      memcpy(d, c[which], 16);
      *exp10 = ce[which];
      return 16;
    }
  }
  return 17;
}

/* The shortest decimal digits of finite, nonzero |v| that read back as v: writes them
 * (no sign, no point, no trailing zeros) to d, returns their count and sets *exp10 to
 * the decimal exponent of the first digit. What the fast paths do not settle (very
 * large or small magnitudes) tries %.15g, %.16g, %.17g in turn: every decimal of at
 * most DBL_DIG = 15 digits survives the round trip, so the 15-digit rounding of a value
 * that has a shorter form is that form padded with zeros. That holds for normal
 * doubles only; subnormals, with fewer bits, try every length. */
static int shortest_digits(double v, char d[18], int *exp10) {
  double a = fabs(v);
  int n = short_decimal(a, d, exp10);
  if (n == SHORT_NEEDS_16) {
    n = digits_16_or_17(a, d, exp10);
  } else if (n == 0) {
    char buf[40];
    for (int prec = a < DBL_MIN ? 0 : 14; prec <= 16; prec++) {
      snprintf(buf, sizeof buf, "%.*e", prec, a);
      if (prec == 16 || strtod(buf, NULL) == a) break;
    }
    n = parse_e(buf, d, exp10);
  }
  while (n > 1 && d[n - 1] == '0') n--;
  d[n] = '\0';
  return n;
}

/* Go's strconv.FormatFloat(v, 'g', -1, 64), for finite nonzero v: exponent form when
 * the exponent is below -4 or at least 6 (1e+06, 1.5e-07), fixed otherwise. */
static size_t fmt_go_g(double v, char *out) {
  char d[18];
  int exp10;
  int nd = shortest_digits(v, d, &exp10);
  size_t n = 0;
  if (v < 0) out[n++] = '-';
  if (exp10 < -4 || exp10 >= 6) {
    out[n++] = d[0];
    if (nd > 1) {
      out[n++] = '.';
      memcpy(out + n, d + 1, (size_t)nd - 1);
      n += (size_t)nd - 1;
    }
    out[n++] = 'e';
    out[n++] = exp10 < 0 ? '-' : '+';
    int e = exp10 < 0 ? -exp10 : exp10;
    if (e < 10) out[n++] = '0';
    n += mt__fmt_u64((uint64_t)e, out + n);
  } else if (exp10 >= 0) {
    int ip = exp10 + 1; /* digits before the point */
    for (int i = 0; i < ip; i++) out[n++] = i < nd ? d[i] : '0';
    if (nd > ip) {
      out[n++] = '.';
      memcpy(out + n, d + ip, (size_t)(nd - ip));
      n += (size_t)(nd - ip);
    }
  } else {
    out[n++] = '0';
    out[n++] = '.';
    for (int i = 0; i < -exp10 - 1; i++) out[n++] = '0';
    memcpy(out + n, d, (size_t)nd);
    n += (size_t)nd;
  }
  out[n] = '\0';
  return n;
}

/* +Inf, -Inf, NaN: the spellings Prometheus and OpenMetrics both read. */
static size_t fmt_special(double v, char *out) {
  const char *s = isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
  size_t n = strlen(s);
  memcpy(out, s, n + 1);
  return n;
}

#define TWO_POW_53 9007199254740992.0

size_t mt__fmt_value(double v, char *out) {
  if (!isfinite(v)) return fmt_special(v, out);
  if (v > -TWO_POW_53 && v < TWO_POW_53 && v == (double)(int64_t)v) {
    if (v >= 0) return mt__fmt_u64((uint64_t)v, out);
    out[0] = '-';
    return 1 + mt__fmt_u64((uint64_t)-(int64_t)v, out + 1);
  }
  return fmt_go_g(v, out);
}

size_t mt__fmt_le(double v, bool openmetrics, char *out) {
  if (!isfinite(v)) return fmt_special(v, out);
  if (v == 0) {
    strcpy(out, openmetrics ? "0.0" : "0");
    return strlen(out);
  }
  size_t n = fmt_go_g(v, out);
  if (openmetrics && !memchr(out, '.', n) && !memchr(out, 'e', n)) {
    memcpy(out + n, ".0", 3);
    n += 2;
  }
  return n;
}

/* Appends s with the bytes in `special` escaped; runs without one go in one copy. */
static void escape(struct vg_buf *b, const char *s, const char *special) {
  const char *run = s;
  for (const char *p = s; *p; p++) {
    if (!strchr(special, *p)) continue;
    vg_buf_append(b, run, (size_t)(p - run));
    vg_buf_append(b, *p == '\n' ? "\\n" : *p == '"' ? "\\\"" : "\\\\", 2);
    run = p + 1;
  }
  vg_buf_append(b, run, strlen(run));
}

void mt__escape_label(struct vg_buf *b, const char *s) { escape(b, s, "\\\"\n"); }

void mt__escape_help(struct vg_buf *b, const char *s, bool openmetrics) {
  escape(b, s, openmetrics ? "\\\"\n" : "\\\n");
}

static bool is_alpha_(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool mt__valid_metric_name(const char *s) {
  if (!s || !(is_alpha_(*s) || *s == ':')) return false;
  for (s++; *s; s++)
    if (!(is_alpha_(*s) || is_digit(*s) || *s == ':')) return false;
  return true;
}

bool mt__valid_label_name(const char *s) {
  if (!s || !is_alpha_(*s) || (s[0] == '_' && s[1] == '_')) return false;
  for (s++; *s; s++)
    if (!(is_alpha_(*s) || is_digit(*s))) return false;
  return true;
}
