/*
 * Pure parsers for the scalar types of the config — durations, sizes, integers,
 * numbers and signal names — and the names of the config's enums. They see only
 * the (already expanded) text and report failure by return value; value.c turns a
 * failure into a diagnostic.
 */
#include "config/config_int.h"
#include "core/core.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Reads the decimal digits at *p into *v; false when there are none or they do not
 * fit in an int64_t. */
static bool digits(const char **p, int64_t *v) {
  const char *s = *p;
  int64_t x = 0;
  if (!isdigit((unsigned char)*s)) return false;
  for (; isdigit((unsigned char)*s); s++) {
    int d = *s - '0';
    if (x > (INT64_MAX - d) / 10) return false;
    x = x * 10 + d;
  }
  *p = s;
  *v = x;
  return true;
}

static bool mul_add(int64_t *total, int64_t v, int64_t mult) {
  if (v > INT64_MAX / mult) return false;
  v *= mult;
  if (*total > INT64_MAX - v) return false;
  *total += v;
  return true;
}

int cfg_parse_duration(const char *s, int64_t *ms) {
  static const struct {
    const char *unit;
    int64_t ms;
  } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
  if (strcmp(s, "0") == 0) {
    *ms = 0;
    return 0;
  }
  int64_t total = 0;
  const char *p = s;
  if (!*p) return -1;
  while (*p) {
    int64_t v;
    if (!digits(&p, &v)) return -1;
    size_t u = 0;
    /* "ms" comes before "m" in the table, so the longest unit wins. */
    while (u < VG_ARRAY_LEN(units) && strncmp(p, units[u].unit, strlen(units[u].unit)) != 0)
      u++;
    if (u == VG_ARRAY_LEN(units)) return -1;
    if (!mul_add(&total, v, units[u].ms)) return -1;
    p += strlen(units[u].unit);
  }
  *ms = total;
  return 0;
}

void cfg__format_duration(int64_t ms, char *buf, size_t len) {
  static const struct {
    const char *unit;
    int64_t ms;
  } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
  if (ms <= 0) {
    snprintf(buf, len, "0");
    return;
  }
  size_t off = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < VG_ARRAY_LEN(units) && off < len; i++) {
    int64_t n = ms / units[i].ms;
    ms %= units[i].ms;
    if (n == 0) continue;
    int w = snprintf(buf + off, len - off, "%lld%s", (long long)n, units[i].unit);
    if (w < 0) break;
    off += (size_t)w;
  }
}

int cfg__parse_int(const char *s, long long *out) {
  bool neg = *s == '-';
  const char *p = s + neg;
  int64_t v;
  if (!digits(&p, &v) || *p) {
    /* -9223372036854775808 does not fit the positive accumulator; it is never a
     * sensible config value, so it is simply refused. */
    return -1;
  }
  *out = neg ? -(long long)v : (long long)v;
  return 0;
}

int cfg__parse_size(const char *s, int64_t *bytes) {
  static const struct {
    const char *unit;
    int64_t mult;
  } units[] = {{"", 1},
               {"B", 1},
               {"KB", 1000},
               {"MB", 1000 * 1000},
               {"GB", 1000 * 1000 * 1000},
               {"KiB", 1024},
               {"MiB", 1024 * 1024},
               {"GiB", 1024 * 1024 * 1024}};
  const char *p = s;
  int64_t v;
  if (!digits(&p, &v)) return -1;
  for (size_t i = 0; i < VG_ARRAY_LEN(units); i++) {
    if (strcmp(p, units[i].unit) != 0) continue;
    int64_t total = 0;
    if (!mul_add(&total, v, units[i].mult)) return -1;
    *bytes = total;
    return 0;
  }
  return -1;
}

int cfg__parse_number(const char *s, double *out) {
  const char *p = s + (*s == '-');
  if (!isdigit((unsigned char)*p)) return -1;
  while (isdigit((unsigned char)*p)) p++;
  if (*p == '.') {
    p++;
    if (!isdigit((unsigned char)*p)) return -1;
    while (isdigit((unsigned char)*p)) p++;
  }
  if (*p) return -1;
  *out = strtod(s, NULL);
  return 0;
}

static const struct {
  const char *name;
  int num;
} signals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},   {"ABRT", SIGABRT},     {"BUS", SIGBUS},     {"FPE", SIGFPE},
    {"KILL", SIGKILL},   {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},     {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
    {"CONT", SIGCONT},   {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU},   {"URG", SIGURG},       {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},   {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"PWR", SIGPWR},     {"SYS", SIGSYS},
};

int cfg_parse_signal(const char *s) {
  long long n;
  if (cfg__parse_int(s, &n) == 0) return n >= 1 && n <= 64 ? (int)n : -1;
  const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
  for (size_t i = 0; i < VG_ARRAY_LEN(signals); i++)
    if (strcasecmp(name, signals[i].name) == 0) return signals[i].num;
  return -1;
}

const char *cfg_probe_kind_name(enum cfg_probe_kind k) {
  switch (k) {
  case CFG_PROBE_NONE: return "none";
  case CFG_PROBE_TCP: return "tcp";
  case CFG_PROBE_HTTP: return "http";
  case CFG_PROBE_EXEC: return "exec";
  case CFG_PROBE_LOG: return "log";
  case CFG_PROBE_NOTIFY: return "notify";
  }
  return "unknown";
}

const char *cfg_restart_policy_name(enum cfg_restart_policy p) {
  switch (p) {
  case CFG_RESTART_ALWAYS: return "always";
  case CFG_RESTART_ON_FAILURE: return "on-failure";
  case CFG_RESTART_NEVER: return "never";
  }
  return "unknown";
}
