/*
 * value.c — reading elements of validated arrays, and rendering them as JSON or text
 * (for `vigil arrow cat`, and for whoever turns Arrow data into documents).
 */
#include "arrow/arrow_int.h"

#include "core/core.h"

#include <math.h>
#include <stdio.h>

/* The array is a dictionary's values when it is the tree of a dictionary (no dict
 * pointer, and not decoded as indices): the reader sets dict on every index array. */
static bool is_indices(const struct arrow_array *a) { return a->field->dictionary && a->dict; }

static enum arrow_type value_type(const struct arrow_array *a) {
  return is_indices(a) ? a->field->index_type : a->field->type;
}

#define LOAD(T, a, i) \
  ({                  \
    T v_;             \
    memcpy(&v_, (a)->values + sizeof(T) * (size_t)(i), sizeof(T)); \
    v_;               \
  })

int64_t arrow_get_i64(const struct arrow_array *a, int64_t i) {
  switch (value_type(a)) {
  case ARROW_INT8: return LOAD(int8_t, a, i);
  case ARROW_UINT8: return LOAD(uint8_t, a, i);
  case ARROW_INT16: return LOAD(int16_t, a, i);
  case ARROW_UINT16: return LOAD(uint16_t, a, i);
  case ARROW_INT32: case ARROW_DATE32: case ARROW_TIME32: return LOAD(int32_t, a, i);
  case ARROW_UINT32: return LOAD(uint32_t, a, i);
  case ARROW_INT64: case ARROW_UINT64: case ARROW_DATE64: case ARROW_TIME64: case ARROW_TIMESTAMP:
  case ARROW_DURATION: return LOAD(int64_t, a, i);
  case ARROW_BOOL: return arrow_get_bool(a, i);
  default: return 0;
  }
}

uint64_t arrow_get_u64(const struct arrow_array *a, int64_t i) {
  if (value_type(a) == ARROW_UINT64) return LOAD(uint64_t, a, i);
  return (uint64_t)arrow_get_i64(a, i);
}

bool arrow_get_bool(const struct arrow_array *a, int64_t i) { return (a->values[i >> 3] >> (i & 7)) & 1; }

double arrow_half_to_double(uint16_t h) {
  int e = (h >> 10) & 0x1f;
  int m = h & 0x3ff;
  double v;
  if (e == 0) v = ldexp(m, -24);
  else if (e == 31) v = m ? NAN : INFINITY;
  else v = ldexp(m + 1024, e - 25);
  return (h & 0x8000) ? -v : v;
}

double arrow_get_f64(const struct arrow_array *a, int64_t i) {
  switch (value_type(a)) {
  case ARROW_FLOAT16: return arrow_half_to_double(LOAD(uint16_t, a, i));
  case ARROW_FLOAT32: return LOAD(float, a, i);
  case ARROW_FLOAT64: return LOAD(double, a, i);
  case ARROW_UINT64: return (double)LOAD(uint64_t, a, i);
  default: return (double)arrow_get_i64(a, i);
  }
}

const uint8_t *arrow_get_bytes(const struct arrow_array *a, int64_t i, size_t *len) {
  switch (a->field->type) {
  case ARROW_UTF8: case ARROW_BINARY: {
    int32_t s, e;
    memcpy(&s, a->offsets + 4 * i, 4);
    memcpy(&e, a->offsets + 4 * i + 4, 4);
    *len = (size_t)(e - s);
    return a->data + s;
  }
  case ARROW_LARGE_UTF8: case ARROW_LARGE_BINARY: {
    int64_t s, e;
    memcpy(&s, a->offsets + 8 * i, 8);
    memcpy(&e, a->offsets + 8 * i + 8, 8);
    *len = (size_t)(e - s);
    return a->data + s;
  }
  case ARROW_FIXED_BINARY: case ARROW_DECIMAL128:
    *len = (size_t)a->field->width;
    return a->values + (size_t)a->field->width * (size_t)i;
  default:
    *len = 0;
    return NULL;
  }
}

int64_t arrow_get_list(const struct arrow_array *a, int64_t i, int64_t *start) {
  switch (a->field->type) {
  case ARROW_LIST: {
    int32_t s, e;
    memcpy(&s, a->offsets + 4 * i, 4);
    memcpy(&e, a->offsets + 4 * i + 4, 4);
    *start = s;
    return e - s;
  }
  case ARROW_LARGE_LIST: {
    int64_t s, e;
    memcpy(&s, a->offsets + 8 * i, 8);
    memcpy(&e, a->offsets + 8 * i + 8, 8);
    *start = s;
    return e - s;
  }
  case ARROW_FIXED_LIST:
    *start = i * a->field->width;
    return a->field->width;
  default:
    *start = 0;
    return 0;
  }
}

/* ---- rendering ---- */

const char *arrow_type_name(enum arrow_type t) {
  static const char *const names[] = {
      [ARROW_NULL] = "null", [ARROW_BOOL] = "bool", [ARROW_INT8] = "int8", [ARROW_INT16] = "int16",
      [ARROW_INT32] = "int32", [ARROW_INT64] = "int64", [ARROW_UINT8] = "uint8", [ARROW_UINT16] = "uint16",
      [ARROW_UINT32] = "uint32", [ARROW_UINT64] = "uint64", [ARROW_FLOAT16] = "float16",
      [ARROW_FLOAT32] = "float32", [ARROW_FLOAT64] = "float64", [ARROW_UTF8] = "utf8",
      [ARROW_LARGE_UTF8] = "large_utf8", [ARROW_BINARY] = "binary", [ARROW_LARGE_BINARY] = "large_binary",
      [ARROW_FIXED_BINARY] = "fixed_size_binary", [ARROW_DECIMAL128] = "decimal128",
      [ARROW_TIMESTAMP] = "timestamp", [ARROW_DATE32] = "date32", [ARROW_DATE64] = "date64",
      [ARROW_TIME32] = "time32", [ARROW_TIME64] = "time64", [ARROW_DURATION] = "duration",
      [ARROW_LIST] = "list", [ARROW_LARGE_LIST] = "large_list", [ARROW_FIXED_LIST] = "fixed_size_list",
      [ARROW_STRUCT] = "struct"};
  return (unsigned)t < sizeof names / sizeof *names ? names[t] : "?";
}

static const char *unit_name(enum arrow_unit u) {
  static const char *const n[] = {"s", "ms", "us", "ns"};
  return n[u & 3];
}

void arrow_format_type(struct vg_buf *b, const struct arrow_field *f) {
  if (f->dictionary) vg_buf_printf(b, "dictionary<%s, ", arrow_type_name(f->index_type));
  vg_buf_puts(b, arrow_type_name(f->type));
  switch (f->type) {
  case ARROW_TIMESTAMP:
    vg_buf_printf(b, "[%s", unit_name(f->unit));
    if (f->timezone) vg_buf_printf(b, ", tz=%s", f->timezone);
    vg_buf_putc(b, ']');
    break;
  case ARROW_TIME32: case ARROW_TIME64: case ARROW_DURATION: vg_buf_printf(b, "[%s]", unit_name(f->unit)); break;
  case ARROW_DECIMAL128: vg_buf_printf(b, "(%d, %d)", (int)f->precision, (int)f->scale); break;
  case ARROW_FIXED_BINARY: vg_buf_printf(b, "(%d)", (int)f->width); break;
  case ARROW_LIST: case ARROW_LARGE_LIST: case ARROW_FIXED_LIST:
    vg_buf_putc(b, '<');
    arrow_format_type(b, &f->children[0]);
    if (f->type == ARROW_FIXED_LIST) vg_buf_printf(b, ", %d", (int)f->width);
    vg_buf_putc(b, '>');
    break;
  case ARROW_STRUCT:
    vg_buf_putc(b, '<');
    for (uint32_t k = 0; k < f->n_children; k++) {
      vg_buf_printf(b, "%s%s: ", k ? ", " : "", f->children[k].name);
      arrow_format_type(b, &f->children[k]);
    }
    vg_buf_putc(b, '>');
    break;
  default: break;
  }
  if (f->dictionary) vg_buf_putc(b, '>');
}

static const int64_t per_sec[] = {1, 1000, 1000000, 1000000000};
static const int frac_digits[] = {0, 3, 6, 9};

static int64_t floordiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/* v units since the epoch as "YYYY-MM-DDTHH:MM:SS[.fff]Z" */
static void put_timestamp(struct vg_buf *b, int64_t v, enum arrow_unit u, bool date_only_if_midnight) {
  int64_t ps = per_sec[u];
  int64_t secs = floordiv(v, ps), frac = v - secs * ps;
  int64_t days = floordiv(secs, 86400), sod = secs - days * 86400;
  int64_t y;
  int m, d;
  vg_civil_from_days(days, &y, &m, &d);
  vg_buf_printf(b, "%04lld-%02d-%02d", (long long)y, m, d);
  if (date_only_if_midnight && sod == 0 && frac == 0) return;
  vg_buf_printf(b, "T%02d:%02d:%02d", (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
  if (frac_digits[u]) vg_buf_printf(b, ".%0*lld", frac_digits[u], (long long)frac);
  vg_buf_putc(b, 'Z');
}

static void put_time_of_day(struct vg_buf *b, int64_t v, enum arrow_unit u) {
  int64_t ps = per_sec[u];
  int64_t secs = floordiv(v, ps), frac = v - secs * ps;
  if (secs < 0 || secs >= 86400) { /* out of a day: the raw count, so nothing is hidden */
    vg_buf_printf(b, "%lld", (long long)v);
    return;
  }
  vg_buf_printf(b, "%02d:%02d:%02d", (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
  if (frac_digits[u]) vg_buf_printf(b, ".%0*lld", frac_digits[u], (long long)frac);
}

/* A 128-bit two's complement little-endian integer with SCALE as a decimal string. */
static void put_decimal(struct vg_buf *b, const uint8_t *p, int scale) {
  uint64_t lo, hi;
  memcpy(&lo, p, 8);
  memcpy(&hi, p + 8, 8);
  unsigned __int128 v = ((unsigned __int128)hi << 64) | lo;
  bool neg = hi >> 63;
  if (neg) v = ~v + 1;
  char digits[48];
  int n = 0;
  do {
    digits[n++] = (char)('0' + (int)(v % 10));
    v /= 10;
  } while (v);
  if (neg) vg_buf_putc(b, '-');
  if (scale <= 0) {
    for (int k = n - 1; k >= 0; k--) vg_buf_putc(b, digits[k]);
    if (!(n == 1 && digits[0] == '0'))
      for (int k = 0; k < -scale; k++) vg_buf_putc(b, '0');
    return;
  }
  if (n <= scale) {
    vg_buf_puts(b, "0.");
    for (int k = 0; k < scale - n; k++) vg_buf_putc(b, '0');
    for (int k = n - 1; k >= 0; k--) vg_buf_putc(b, digits[k]);
    return;
  }
  for (int k = n - 1; k >= 0; k--) {
    vg_buf_putc(b, digits[k]);
    if (k == scale) vg_buf_putc(b, '.');
  }
}

static void put_json_bytes(struct vg_buf *b, const uint8_t *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  vg_buf_putc(b, '"');
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s[i];
    if (c == '"' || c == '\\') {
      vg_buf_putc(b, '\\');
      vg_buf_putc(b, (char)c);
    } else if (c < 0x20) {
      switch (c) {
      case '\n': vg_buf_puts(b, "\\n"); break;
      case '\t': vg_buf_puts(b, "\\t"); break;
      case '\r': vg_buf_puts(b, "\\r"); break;
      default: vg_buf_printf(b, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
      }
    } else {
      vg_buf_putc(b, (char)c);
    }
  }
  vg_buf_putc(b, '"');
}

static void put_hex(struct vg_buf *b, const uint8_t *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    vg_buf_putc(b, hex[s[i] >> 4]);
    vg_buf_putc(b, hex[s[i] & 15]);
  }
}

static void put_double(struct vg_buf *b, double v, bool json) {
  if (isnan(v)) vg_buf_puts(b, json ? "\"NaN\"" : "NaN");
  else if (isinf(v)) vg_buf_puts(b, v > 0 ? (json ? "\"Infinity\"" : "Infinity") : (json ? "\"-Infinity\"" : "-Infinity"));
  else vg_buf_double(b, v);
}

static void format(struct vg_buf *b, const struct arrow_array *a, int64_t i, bool json) {
  if (arrow_is_null(a, i)) {
    if (json) vg_buf_puts(b, "null");
    return;
  }
  if (is_indices(a)) {
    format(b, a->dict, arrow_get_i64(a, i), json);
    return;
  }
  const struct arrow_field *f = a->field;
  size_t n;
  const uint8_t *s;
  switch (f->type) {
  case ARROW_NULL: break;
  case ARROW_BOOL: vg_buf_puts(b, arrow_get_bool(a, i) ? "true" : "false"); break;
  case ARROW_INT8: case ARROW_INT16: case ARROW_INT32: case ARROW_INT64: case ARROW_UINT8: case ARROW_UINT16:
  case ARROW_UINT32: case ARROW_DURATION:
    vg_buf_printf(b, "%lld", (long long)arrow_get_i64(a, i));
    break;
  case ARROW_UINT64: vg_buf_printf(b, "%llu", (unsigned long long)arrow_get_u64(a, i)); break;
  case ARROW_FLOAT16: case ARROW_FLOAT32: case ARROW_FLOAT64: put_double(b, arrow_get_f64(a, i), json); break;
  case ARROW_UTF8: case ARROW_LARGE_UTF8:
    s = arrow_get_bytes(a, i, &n);
    if (json) put_json_bytes(b, s, n);
    else vg_buf_append(b, s, n);
    break;
  case ARROW_BINARY: case ARROW_LARGE_BINARY: case ARROW_FIXED_BINARY:
    s = arrow_get_bytes(a, i, &n);
    if (json) vg_buf_putc(b, '"');
    put_hex(b, s, n);
    if (json) vg_buf_putc(b, '"');
    break;
  case ARROW_DECIMAL128:
    s = arrow_get_bytes(a, i, &n);
    if (json) vg_buf_putc(b, '"');
    put_decimal(b, s, f->scale);
    if (json) vg_buf_putc(b, '"');
    break;
  case ARROW_TIMESTAMP: case ARROW_DATE32: case ARROW_DATE64: case ARROW_TIME32: case ARROW_TIME64:
    if (json) vg_buf_putc(b, '"');
    if (f->type == ARROW_TIMESTAMP) put_timestamp(b, arrow_get_i64(a, i), f->unit, false);
    else if (f->type == ARROW_DATE32) put_timestamp(b, arrow_get_i64(a, i) * 86400, ARROW_SECOND, true);
    else if (f->type == ARROW_DATE64) put_timestamp(b, arrow_get_i64(a, i), ARROW_MILLI, true);
    else put_time_of_day(b, arrow_get_i64(a, i), f->unit);
    if (json) vg_buf_putc(b, '"');
    break;
  case ARROW_LIST: case ARROW_LARGE_LIST: case ARROW_FIXED_LIST: {
    int64_t start, cnt = arrow_get_list(a, i, &start);
    vg_buf_putc(b, '[');
    for (int64_t k = 0; k < cnt; k++) {
      if (k) vg_buf_putc(b, ',');
      format(b, &a->children[0], start + k, true);
    }
    vg_buf_putc(b, ']');
    break;
  }
  case ARROW_STRUCT:
    vg_buf_putc(b, '{');
    for (uint32_t k = 0; k < a->n_children; k++) {
      if (k) vg_buf_putc(b, ',');
      put_json_bytes(b, (const uint8_t *)f->children[k].name, strlen(f->children[k].name));
      vg_buf_putc(b, ':');
      format(b, &a->children[k], i, true);
    }
    vg_buf_putc(b, '}');
    break;
  }
}

void arrow_format_json(struct vg_buf *b, const struct arrow_array *a, int64_t i) { format(b, a, i, true); }
void arrow_format_text(struct vg_buf *b, const struct arrow_array *a, int64_t i) { format(b, a, i, false); }
