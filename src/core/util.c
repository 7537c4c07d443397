/* String vectors, edit distance and directory creation. */
#include "core/core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

size_t vg_strv_len(char *const *v) {
  size_t n = 0;
  while (v && v[n]) n++;
  return n;
}

char **vg_strv_dup(char *const *v) {
  size_t n = vg_strv_len(v);
  char **out = vg_calloc(n + 1, sizeof *out);
  for (size_t i = 0; i < n; i++) out[i] = vg_strdup(v[i]);
  return out;
}

void vg_strv_free(char **v) {
  if (!v) return;
  for (size_t i = 0; v[i]; i++) free(v[i]);
  free(v);
}

bool vg_strv_contains(char *const *v, const char *s) {
  for (size_t i = 0; v && v[i]; i++)
    if (strcmp(v[i], s) == 0) return true;
  return false;
}

size_t vg_edit_distance(const char *a, const char *b, size_t cap) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return cap + 1; /* config keys are short; long ones never match */
  size_t prev[65], cur[65];
  for (size_t j = 0; j <= lb; j++) prev[j] = j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = i;
    size_t row_min = cur[0];
    for (size_t j = 1; j <= lb; j++) {
      size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
      size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
      if (cur[j] < row_min) row_min = cur[j];
    }
    if (row_min > cap) return cap + 1;
    memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
  }
  return prev[lb] > cap ? cap + 1 : prev[lb];
}

int vg_mkdir_p(const char *path, unsigned mode) {
  char *p = vg_strdup(path);
  int rc = 0;
  for (char *s = p + 1;; s++) {
    if (*s == '/' || *s == '\0') {
      char c = *s;
      *s = '\0';
      if (mkdir(p, mode) < 0 && errno != EEXIST) {
        rc = -errno;
        break;
      }
      *s = c;
      if (c == '\0') break;
    }
  }
  free(p);
  return rc;
}
