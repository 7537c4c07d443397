/*
 * timefmt — the times users type and read: RFC 3339 (with or without fraction and
 * offset, or a bare date), epoch seconds (with a fraction), `now`, and relative times
 * `-1h`, `now-15m`, `+30s`; durations for bucket widths. Output is RFC 3339 in UTC with
 * as many fraction digits as needed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tsdb/tsdb.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)**p)) return -1;
    v = v * 10 + (*(*p)++ - '0');
  }
  *out = v;
  return 0;
}

int tsdb_parse_duration(const char *s, int64_t *ns) {
  static const struct {
    const char *u;
    int64_t ns;
  } units[] = {{"ns", 1},           {"us", 1000},           {"ms", 1000000},
               {"s", TSDB_NS_PER_SEC}, {"m", 60 * TSDB_NS_PER_SEC}, {"h", 3600 * TSDB_NS_PER_SEC},
               {"d", 86400 * TSDB_NS_PER_SEC}, {"w", 7 * 86400 * TSDB_NS_PER_SEC}};
  if (!*s) return -1;
  int64_t total = 0;
  while (*s) {
    if (!isdigit((unsigned char)*s)) return -1;
    int64_t v = 0;
    while (isdigit((unsigned char)*s)) {
      if (v > INT64_MAX / 10 - 10) return -1;
      v = v * 10 + (*s++ - '0');
    }
    size_t i = 0, best = SIZE_MAX, blen = 0;
    for (; i < sizeof units / sizeof *units; i++) {
      size_t l = strlen(units[i].u);
      if (strncmp(s, units[i].u, l) == 0 && l > blen) {
        best = i;
        blen = l;
      }
    }
    if (best == SIZE_MAX) return -1;
    if (v > INT64_MAX / units[best].ns || total > INT64_MAX - v * units[best].ns) return -1;
    total += v * units[best].ns;
    s += blen;
  }
  *ns = total;
  return 0;
}

static int parse_rfc3339(const char *s, int64_t *out) {
  const char *p = s;
  int y, mo, d, h = 0, mi = 0, se = 0;
  if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
    return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return -1;
  int64_t frac = 0, off = 0;
  if (*p == 'T' || *p == 't' || *p == ' ') {
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi)) return -1;
    if (*p == ':') {
      p++;
      if (digits(&p, 2, &se)) return -1;
    }
    if (h > 23 || mi > 59 || se > 60) return -1;
    if (*p == '.') {
      p++;
      int n = 0;
      while (isdigit((unsigned char)*p)) {
        if (n < 9) frac = frac * 10 + (*p - '0'), n++;
        p++;
      }
      if (n == 0) return -1;
      while (n++ < 9) frac *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
      p++;
    } else if (*p == '+' || *p == '-') {
      int sign = *p++ == '-' ? -1 : 1, oh, om;
      if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59) return -1;
      off = sign * ((int64_t)oh * 3600 + om * 60);
    } else if (*p) {
      return -1;
    }
  }
  if (*p) return -1;
  int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se - off;
  /* int64 nanoseconds reach from 1677 to 2262 */
  if (__builtin_mul_overflow(secs, TSDB_NS_PER_SEC, out) || __builtin_add_overflow(*out, frac, out))
    return -1;
  return 0;
}

int tsdb_parse_time(const char *s, int64_t now, int64_t *out) {
  if (!s || !*s) return -1;
  if (strcmp(s, "now") == 0) {
    *out = now;
    return 0;
  }
  const char *rel = NULL;
  int sign = 0;
  if (strncmp(s, "now", 3) == 0 && (s[3] == '-' || s[3] == '+')) rel = s + 3;
  else if (s[0] == '-' || s[0] == '+') rel = s;
  if (rel) {
    sign = rel[0] == '-' ? -1 : 1;
    int64_t d;
    if (tsdb_parse_duration(rel + 1, &d) < 0) return -1;
    return __builtin_add_overflow(now, sign * d, out) ? -1 : 0;
  }
  if (strchr(s, '-') && parse_rfc3339(s, out) == 0) return 0;
  /* epoch seconds, maybe with a fraction */
  const char *p = s;
  int64_t secs = 0, frac = 0;
  int n = 0;
  if (!isdigit((unsigned char)*p)) return -1;
  while (isdigit((unsigned char)*p)) {
    if (secs > INT64_MAX / TSDB_NS_PER_SEC / 10) return -1;
    secs = secs * 10 + (*p++ - '0');
  }
  if (*p == '.') {
    p++;
    while (isdigit((unsigned char)*p)) {
      if (n < 9) frac = frac * 10 + (*p - '0'), n++;
      p++;
    }
    while (n++ < 9) frac *= 10;
  }
  if (*p) return -1;
  *out = secs * TSDB_NS_PER_SEC + frac;
  return 0;
}

void tsdb_format_time(int64_t ns, char *buf, size_t len) {
  int64_t secs = ns / TSDB_NS_PER_SEC, frac = ns % TSDB_NS_PER_SEC;
  if (frac < 0) {
    frac += TSDB_NS_PER_SEC;
    secs--;
  }
  time_t t = (time_t)secs;
  struct tm tm;
  if (!gmtime_r(&t, &tm)) {
    snprintf(buf, len, "%lld", (long long)ns);
    return;
  }
  char date[40];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!frac) {
    snprintf(buf, len, "%sZ", date);
    return;
  }
  char f[16];
  snprintf(f, sizeof f, "%09lld", (long long)frac);
  for (int i = 8; i > 0 && f[i] == '0'; i--) f[i] = 0;
  snprintf(buf, len, "%s.%sZ", date, f);
}
