/*
 * Pure parsers for the scalar types of the config — durations (core's grammar, in
 * milliseconds), sizes, integers, numbers and signal names — and the names of the config's enums. They see only
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
  return vg_duration_parse(s, VG_NS_PER_MS, ms, NULL);
}

void cfg__format_duration(int64_t ms, char *buf, size_t len) {
  if (ms > INT64_MAX / VG_NS_PER_MS) snprintf(buf, len, "%lldms", (long long)ms);
  else vg_duration_format(ms < 0 ? 0 : ms * VG_NS_PER_MS, buf, len);
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
  case CFG_PROBE_FRESH: return "fresh";
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
