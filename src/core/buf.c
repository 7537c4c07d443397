/* A growable, always NUL-terminated byte buffer. */
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vg_buf_init(struct vg_buf *b) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

void vg_buf_free(struct vg_buf *b) {
  vg_freep(&b->data);
  b->len = b->cap = 0;
}

void vg_buf_reset(struct vg_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

void vg_buf_reserve(struct vg_buf *b, size_t extra) {
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap *= 2;
  b->data = vg_realloc(b->data, cap);
  b->cap = cap;
}

void vg_buf_append(struct vg_buf *b, const void *p, size_t n) {
  vg_buf_reserve(b, n);
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void vg_buf_puts(struct vg_buf *b, const char *s) { vg_buf_append(b, s, strlen(s)); }

void vg_buf_putc(struct vg_buf *b, char c) { vg_buf_append(b, &c, 1); }

void vg_buf_vprintf(struct vg_buf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  VG_ASSERT(n >= 0);
  vg_buf_reserve(b, (size_t)n);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
}

void vg_buf_printf(struct vg_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vg_buf_vprintf(b, fmt, ap);
  va_end(ap);
}

void vg_buf_json_str(struct vg_buf *b, const char *s) {
  vg_buf_putc(b, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"': vg_buf_puts(b, "\\\""); break;
    case '\\': vg_buf_puts(b, "\\\\"); break;
    case '\n': vg_buf_puts(b, "\\n"); break;
    case '\r': vg_buf_puts(b, "\\r"); break;
    case '\t': vg_buf_puts(b, "\\t"); break;
    default:
      if (*p < 0x20) vg_buf_printf(b, "\\u%04x", *p);
      else vg_buf_putc(b, (char)*p);
    }
  }
  vg_buf_putc(b, '"');
}

void vg_buf_consume(struct vg_buf *b, size_t n) {
  if (n >= b->len) {
    vg_buf_reset(b);
    return;
  }
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
  b->data[b->len] = '\0';
}

void vg_buf_double(struct vg_buf *b, double v) {
  char s[40];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(s, sizeof s, "%.*g", prec, v);
    if (strtod(s, NULL) == v) break;
  }
  vg_buf_puts(b, s);
}
