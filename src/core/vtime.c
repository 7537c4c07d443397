/*
 * vtime — clocks, durations, civil dates, RFC 3339 and the query time grammar: the
 * one implementation every module uses (contracts in vtime.h). Arithmetic that may
 * leave int64 is done in 128 bits and checked, so no input can overflow.
 */
#include "core/vtime.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef __int128 i128;

/* ---- clocks ---- */

uint64_t vg_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t vg_now_coarse_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t vg_wall_coarse_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return (int64_t)ts.tv_sec * VG_NS_PER_SEC + ts.tv_nsec;
}

int64_t vg_wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * VG_NS_PER_SEC + ts.tv_nsec;
}

uint64_t vg_now_ms(void) { return vg_now_ns() / 1000000u; }

double vg_wall_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- errors ---- */

/* Fills *e (when not NULL) with the column of at in start and the message; -1. */
static int fail(struct vg_time_error *e, const char *start, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct vg_time_error *e, const char *start, const char *at, const char *fmt, ...) {
  if (!e) return -1;
  e->col = (size_t)(at - start) + 1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return -1;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* What is at p, for messages: "end of input" or the character quoted. */
static const char *what(const char *p, char buf[8]) {
  if (!*p) return "the end";
  if ((unsigned char)*p < ' ' || (unsigned char)*p >= 0x7f) snprintf(buf, 8, "0x%02x", (unsigned char)*p);
  else snprintf(buf, 8, "'%c'", *p);
  return buf;
}

/* ---- durations ---- */

static const struct {
  const char *name;
  int64_t ns;
} units[] = {
    /* two-letter units first, so "ms" is not read as "m" then "s" */
    {"ns", 1},
    {"us", VG_NS_PER_US},
    {"ms", VG_NS_PER_MS},
    {"s", VG_NS_PER_SEC},
    {"m", 60 * VG_NS_PER_SEC},
    {"h", 3600 * VG_NS_PER_SEC},
    {"d", VG_NS_PER_DAY},
    {"w", 7 * VG_NS_PER_DAY},
};

static const char *unit_name(int64_t unit_ns) {
  for (size_t i = 0; i < sizeof units / sizeof *units; i++)
    if (units[i].ns == unit_ns) return units[i].name;
  return NULL;
}

int vg_duration_parse(const char *s, int64_t unit_ns, int64_t *out, struct vg_time_error *err) {
  char wb[8];
  if (unit_ns <= 0) return fail(err, s, s, "bad unit");
  if (!*s) return fail(err, s, s, "expected a duration such as 30s or 1h30m");
  if (strcmp(s, "0") == 0) {
    *out = 0;
    return 0;
  }
  const i128 max = (i128)INT64_MAX * unit_ns;
  i128 total = 0;
  const char *p = s;
  while (*p) {
    const char *num = p;
    if (!is_digit(*p))
      return fail(err, s, p, "expected a number, got %s", what(p, wb));
    int64_t v = 0;
    for (; is_digit(*p); p++) {
      if (v > (INT64_MAX - (*p - '0')) / 10) return fail(err, s, num, "number too large");
      v = v * 10 + (*p - '0');
    }
    size_t u = 0, ulen = 0;
    for (; u < sizeof units / sizeof *units; u++) {
      ulen = strlen(units[u].name);
      if (strncmp(p, units[u].name, ulen) == 0) break;
    }
    if (u == sizeof units / sizeof *units)
      return fail(err, s, p, "expected a unit (ns, us, ms, s, m, h, d or w) after the number, got %s",
                  what(p, wb));
    total += (i128)v * units[u].ns;
    if (total > max) {
      const char *n = unit_name(unit_ns);
      return fail(err, s, num, "too long: the total must fit in 64-bit %s",
                  unit_ns == 1 ? "nanoseconds" : unit_ns == VG_NS_PER_MS ? "milliseconds" : n ? n : "units");
    }
    p += ulen;
  }
  if (total % unit_ns) {
    const char *n = unit_name(unit_ns);
    return fail(err, s, s, "not a whole number of %s", unit_ns == VG_NS_PER_MS ? "milliseconds" : n ? n : "units");
  }
  *out = (int64_t)(total / unit_ns);
  return 0;
}

size_t vg_duration_format(int64_t ns, char *buf, size_t len) {
  static const int order[] = {6, 5, 4, 3, 2, 1, 0}; /* d h m s ms us ns */
  char tmp[64];
  size_t o = 0;
  uint64_t left = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
  if (ns < 0) tmp[o++] = '-';
  if (left == 0) tmp[o++] = '0';
  for (size_t i = 0; i < sizeof order / sizeof *order && left; i++) {
    uint64_t u = (uint64_t)units[order[i]].ns, n = left / u;
    left %= u;
    if (n) o += (size_t)snprintf(tmp + o, sizeof tmp - o, "%llu%s", (unsigned long long)n, units[order[i]].name);
  }
  tmp[o] = 0;
  return (size_t)snprintf(buf, len, "%s", tmp);
}

/* ---- civil dates (Howard Hinnant's days_from_civil / civil_from_days) ---- */

bool vg_leap_year(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int vg_days_in_month(int64_t y, int m) {
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12) return 0;
  return mdays[m - 1] + (m == 2 && vg_leap_year(y));
}

int64_t vg_days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                                    /* [0, 399] */
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;   /* [0, 365] */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            /* [0, 146096] */
  return era * 146097 + doe - 719468;
}

void vg_civil_from_days(int64_t days, int64_t *y, int *m, int *d) {
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

/* n digits at *p into *v; on failure the column of the first non-digit. */
static int fixed_digits(const char *s, const char **p, int n, int *v, const char *name,
                        struct vg_time_error *err) {
  char wb[8];
  int x = 0;
  for (int i = 0; i < n; i++, (*p)++) {
    if (!is_digit(**p))
      return fail(err, s, *p, "expected %d digits of the %s, got %s", n, name, what(*p, wb));
    x = x * 10 + (**p - '0');
  }
  *v = x;
  return 0;
}

static int expect_char(const char *s, const char **p, char c, const char *after,
                       struct vg_time_error *err) {
  char wb[8];
  if (**p != c) return fail(err, s, *p, "expected '%c' after the %s, got %s", c, after, what(*p, wb));
  (*p)++;
  return 0;
}

/* YYYY-MM-DD at *p, checked; advances *p past it. */
static int date_part(const char *s, const char **p, int64_t *days, struct vg_time_error *err) {
  int y = 0, m = 0, d = 0;
  if (fixed_digits(s, p, 4, &y, "year", err) || expect_char(s, p, '-', "year", err)) return -1;
  const char *mp = *p;
  if (fixed_digits(s, p, 2, &m, "month", err)) return -1;
  if (m < 1 || m > 12) return fail(err, s, mp, "month %02d is not 01 to 12", m);
  if (expect_char(s, p, '-', "month", err)) return -1;
  const char *dp = *p;
  if (fixed_digits(s, p, 2, &d, "day", err)) return -1;
  int dim = vg_days_in_month(y, m);
  if (d < 1 || d > dim)
    return fail(err, s, dp, "day %02d is not 01 to %d in %04d-%02d", d, dim, y, m);
  *days = vg_days_from_civil(y, m, d);
  return 0;
}

int vg_date_parse(const char *s, int64_t *days, struct vg_time_error *err) {
  char wb[8];
  const char *p = s;
  int64_t v;
  if (date_part(s, &p, &v, err)) return -1;
  if (*p) return fail(err, s, p, "expected the end of the date (YYYY-MM-DD), got %s", what(p, wb));
  *days = v;
  return 0;
}

size_t vg_date_format(int64_t days, char *buf, size_t len) {
  int64_t y;
  int m, d;
  vg_civil_from_days(days, &y, &m, &d);
  return (size_t)snprintf(buf, len, "%04lld-%02d-%02d", (long long)y, m, d);
}

/* ---- RFC 3339 ---- */

static int out_of_range(const char *s, struct vg_time_error *err) {
  return fail(err, s, s,
              "out of range: times run from 1677-09-21T00:12:43.145224192Z to "
              "2262-04-11T23:47:16.854775807Z");
}

/* secs + frac (ns, [0, 1e9)) into int64 ns, or -1. */
static int to_ns(i128 secs, int64_t frac, int64_t *ns) {
  i128 v = secs * VG_NS_PER_SEC + frac;
  if (v < INT64_MIN || v > INT64_MAX) return -1;
  *ns = (int64_t)v;
  return 0;
}

/* '.' and 1 to 9 digits at *p (when there is a '.') as ns. */
static int fraction(const char *s, const char **p, int64_t *frac, struct vg_time_error *err) {
  char wb[8];
  *frac = 0;
  if (**p != '.') return 0;
  (*p)++;
  int n = 0;
  for (; is_digit(**p); (*p)++, n++) {
    if (n == 9) return fail(err, s, *p, "more than 9 fraction digits (nanoseconds)");
    *frac = *frac * 10 + (**p - '0');
  }
  if (n == 0) return fail(err, s, *p, "expected digits after '.', got %s", what(*p, wb));
  while (n++ < 9) *frac *= 10;
  return 0;
}

int vg_rfc3339_parse(const char *s, int64_t *ns, struct vg_time_error *err) {
  char wb[8];
  const char *p = s;
  int64_t days, frac = 0, off = 0;
  int h = 0, mi = 0, se = 0;
  if (date_part(s, &p, &days, err)) return -1;
  if (*p == 'T' || *p == 't' || *p == ' ') {
    p++;
    const char *hp = p;
    if (fixed_digits(s, &p, 2, &h, "hour", err)) return -1;
    if (h > 23) return fail(err, s, hp, "hour %02d is not 00 to 23", h);
    if (expect_char(s, &p, ':', "hour", err)) return -1;
    const char *mp = p;
    if (fixed_digits(s, &p, 2, &mi, "minute", err)) return -1;
    if (mi > 59) return fail(err, s, mp, "minute %02d is not 00 to 59", mi);
    if (expect_char(s, &p, ':', "minute", err)) return -1;
    const char *sp = p;
    if (fixed_digits(s, &p, 2, &se, "second", err)) return -1;
    if (se == 60) return fail(err, s, sp, "second 60: leap seconds cannot be represented");
    if (se > 59) return fail(err, s, sp, "second %02d is not 00 to 59", se);
    if (fraction(s, &p, &frac, err)) return -1;
    if (*p == 'Z' || *p == 'z') {
      p++;
    } else if (*p == '+' || *p == '-') {
      int sign = *p++ == '-' ? -1 : 1, oh, om;
      const char *op = p;
      if (fixed_digits(s, &p, 2, &oh, "offset hour", err)) return -1;
      if (oh > 23) return fail(err, s, op, "offset hour %02d is not 00 to 23", oh);
      if (expect_char(s, &p, ':', "offset hour", err)) return -1;
      op = p;
      if (fixed_digits(s, &p, 2, &om, "offset minute", err)) return -1;
      if (om > 59) return fail(err, s, op, "offset minute %02d is not 00 to 59", om);
      off = sign * ((int64_t)oh * 3600 + om * 60);
    } else {
      return fail(err, s, p, "expected 'Z' or an offset such as +01:00 after the time, got %s",
                  what(p, wb));
    }
  } else if (*p) {
    return fail(err, s, p, "expected 'T' and a time of day after the date, got %s", what(p, wb));
  }
  if (*p) return fail(err, s, p, "expected the end of the time, got %s", what(p, wb));
  i128 secs = (i128)days * 86400 + h * 3600 + mi * 60 + se - off;
  if (to_ns(secs, frac, ns) < 0) return out_of_range(s, err);
  return 0;
}

size_t vg_rfc3339_format(int64_t ns, int frac_digits, char *buf, size_t len) {
  int64_t secs = ns / VG_NS_PER_SEC, frac = ns % VG_NS_PER_SEC;
  if (frac < 0) {
    frac += VG_NS_PER_SEC;
    secs--;
  }
  int64_t days = secs / 86400, sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    days--;
  }
  int64_t y;
  int m, d;
  vg_civil_from_days(days, &y, &m, &d);
  char tmp[64];
  int o = snprintf(tmp, sizeof tmp, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)y, m, d,
                   (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
  if (frac_digits == VG_FRAC_AUTO) {
    if (frac) {
      o += snprintf(tmp + o, sizeof tmp - (size_t)o, ".%09lld", (long long)frac);
      while (tmp[o - 1] == '0') o--;
    }
  } else if (frac_digits > 0) {
    int n = frac_digits > 9 ? 9 : frac_digits;
    int64_t div = 1;
    for (int i = n; i < 9; i++) div *= 10;
    o += snprintf(tmp + o, sizeof tmp - (size_t)o, ".%0*lld", n, (long long)(frac / div));
  }
  tmp[o++] = 'Z';
  tmp[o] = 0;
  return (size_t)snprintf(buf, len, "%s", tmp);
}

/* ---- the time grammar of queries ---- */

static int epoch_seconds(const char *s, int64_t *ns, struct vg_time_error *err) {
  char wb[8];
  const char *p = s;
  i128 secs = 0;
  int n = 0;
  for (; is_digit(*p); p++, n++) {
    if (n == 19) return out_of_range(s, err);
    secs = secs * 10 + (*p - '0');
  }
  int64_t frac;
  if (fraction(s, &p, &frac, err)) return -1;
  if (*p)
    return fail(err, s, p, "expected epoch seconds (digits, then '.' and up to 9 digits), got %s",
                what(p, wb));
  if (to_ns(secs, frac, ns) < 0) return out_of_range(s, err);
  return 0;
}

int vg_time_parse(const char *s, int64_t now, int64_t *ns, struct vg_time_error *err) {
  char wb[8];
  const char *rel = NULL;
  if (strncmp(s, "now", 3) == 0) {
    if (!s[3]) {
      *ns = now;
      return 0;
    }
    if (s[3] != '-' && s[3] != '+')
      return fail(err, s, s + 3, "expected '-' or '+' and a duration after now, got %s", what(s + 3, wb));
    rel = s + 3;
  } else if (s[0] == '-' || s[0] == '+') {
    rel = s;
  }
  if (rel) {
    int64_t d;
    if (vg_duration_parse(rel + 1, 1, &d, err) < 0) {
      if (err) err->col += (size_t)(rel + 1 - s);
      return -1;
    }
    i128 v = (i128)now + (rel[0] == '-' ? -(i128)d : (i128)d);
    if (v < INT64_MIN || v > INT64_MAX) return out_of_range(s, err);
    *ns = (int64_t)v;
    return 0;
  }
  if (!is_digit(s[0]))
    return fail(err, s, s,
                "expected a time: RFC 3339 (2026-11-23T06:00:00Z or 2026-11-23), epoch "
                "seconds, now, or -1h style");
  size_t n = 0;
  while (is_digit(s[n])) n++;
  if (n == 4 && s[4] == '-') return vg_rfc3339_parse(s, ns, err);
  return epoch_seconds(s, ns, err);
}
