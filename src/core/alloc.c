/* Allocation wrappers: vigil aborts with a message when memory runs out, so no caller
 * checks for NULL (the Redis zmalloc policy). */
#include "core/core.h"

#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

static _Noreturn void oom(size_t n) {
  fprintf(stderr, "vigil: out of memory allocating %zu bytes\n", n);
  abort();
}

void *vg_malloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) oom(n);
  return p;
}

void *vg_calloc(size_t count, size_t size) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) oom(count * size);
  return p;
}

void *vg_realloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) oom(n);
  return q;
}

char *vg_strdup(const char *s) { return vg_strndup(s, strlen(s)); }

char *vg_strndup(const char *s, size_t n) {
  size_t len = strnlen(s, n);
  char *p = vg_malloc(len + 1);
  memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

char *vg_asprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  VG_ASSERT(n >= 0);
  char *p = vg_malloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}

void vg_freep(void *pp) {
  void **p = pp;
  free(*p);
  *p = NULL;
}

void vg__assert_fail(const char *expr, const char *file, int line) {
  fprintf(stderr, "vigil: assertion failed: %s (%s:%d)\n", expr, file, line);
  abort();
}

void vg_malloc_tune(void) {
  mallopt(M_MMAP_THRESHOLD, 64 << 20); /* below 64 MiB: from the heap, reused */
  mallopt(M_TRIM_THRESHOLD, 256 << 20); /* give memory back only past 256 MiB free */
}
