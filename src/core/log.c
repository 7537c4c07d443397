/*
 * Structured logging to stderr: logfmt by default, one JSON object per line with
 * --log-format json. Each record is formatted into one buffer and written with a
 * single write(2), so lines from several threads never interleave.
 */
#include "core/core.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum vg_log_format g_format = VG_LOG_LOGFMT;
static enum vg_log_level g_min = VG_LOG_INFO;
static vg_log_tap_fn g_tap;
static void *g_tap_arg;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void vg_log_setup(enum vg_log_format fmt, enum vg_log_level min_level) {
  g_format = fmt;
  g_min = min_level;
}

enum vg_log_format vg_log_get_format(void) { return g_format; }

void vg_log_set_tap(vg_log_tap_fn fn, void *arg) {
  g_tap = fn;
  g_tap_arg = arg;
}

int vg_log_parse_format(const char *s, enum vg_log_format *out) {
  if (strcmp(s, "logfmt") == 0) *out = VG_LOG_LOGFMT;
  else if (strcmp(s, "json") == 0) *out = VG_LOG_JSON;
  else return -1;
  return 0;
}

int vg_log_parse_level(const char *s, enum vg_log_level *out) {
  for (size_t i = 0; i < VG_ARRAY_LEN(level_names); i++) {
    if (strcmp(s, level_names[i]) == 0) {
      *out = (enum vg_log_level)i;
      return 0;
    }
  }
  return -1;
}

/* logfmt quotes a value when it is empty or holds a space, quote, equals sign or
 * control character. */
static void logfmt_value(struct vg_buf *b, const char *s) {
  bool quote = *s == '\0';
  for (const unsigned char *p = (const unsigned char *)s; *p && !quote; p++)
    quote = *p <= ' ' || *p == '"' || *p == '=' || *p == '\\';
  if (quote) vg_buf_json_str(b, s);
  else vg_buf_puts(b, s);
}

static void put_timestamp(struct vg_buf *b) {
  char ts[VG_TIME_LEN];
  vg_buf_append(b, ts, vg_rfc3339_format(vg_wall_ns(), 3, ts, sizeof ts));
}

static void put_double(struct vg_buf *b, double d) {
  if (!isfinite(d)) vg_buf_puts(b, g_format == VG_LOG_JSON ? "null" : "NaN");
  else vg_buf_printf(b, "%.6g", d);
}

void vg_log(enum vg_log_level level, const char *msg, ...) {
  if (level < g_min) return;
  int saved_errno = errno;
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_reserve(&b, 256);

  bool json = g_format == VG_LOG_JSON;
  if (json) {
    vg_buf_puts(&b, "{\"ts\":\"");
    put_timestamp(&b);
    vg_buf_printf(&b, "\",\"level\":\"%s\",\"msg\":", level_names[level]);
    vg_buf_json_str(&b, msg);
  } else {
    vg_buf_puts(&b, "ts=");
    put_timestamp(&b);
    vg_buf_printf(&b, " level=%s msg=", level_names[level]);
    logfmt_value(&b, msg);
  }

  va_list ap;
  va_start(ap, msg);
  for (;;) {
    struct vg_field f = va_arg(ap, struct vg_field);
    if (f.type == VG_F_END) break;
    if (json) {
      vg_buf_putc(&b, ',');
      vg_buf_json_str(&b, f.key);
      vg_buf_putc(&b, ':');
    } else {
      vg_buf_printf(&b, " %s=", f.key);
    }
    switch (f.type) {
    case VG_F_STR:
      if (json) vg_buf_json_str(&b, f.v.s ? f.v.s : "");
      else logfmt_value(&b, f.v.s ? f.v.s : "");
      break;
    case VG_F_INT: vg_buf_printf(&b, "%lld", f.v.i); break;
    case VG_F_DBL: put_double(&b, f.v.d); break;
    case VG_F_END: break;
    }
  }
  va_end(ap);
  if (json) vg_buf_putc(&b, '}');

  if (g_tap) g_tap(b.data, b.len, g_tap_arg);
  vg_buf_putc(&b, '\n');
  const char *p = b.data;
  size_t left = b.len;
  while (left > 0) {
    ssize_t n = write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break; /* stderr is gone: nothing better to do than drop the line */
    p += n;
    left -= (size_t)n;
  }
  vg_buf_free(&b);
  errno = saved_errno;
}
