/*
 * Code hashes that ignore comments and formatting (document 004's "cleaned source"), so
 * that a reformat or a new comment does not recompute years of history.
 *
 * A small lexer per language family keeps string literals intact, drops comments, and
 * rewrites whitespace: for C-like code every run of blanks becomes nothing between two
 * punctuation characters and one space between two word characters; for line-oriented
 * languages (shell, Python, awk, SQL) line breaks stay (they separate commands), blank
 * lines go, runs of blanks inside a line become one space, and leading indentation is
 * kept only for Python, where it is syntax.
 */
#include "compute/compute.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

enum lang { L_RAW, L_C, L_HASH, L_PY, L_SQL };

static enum lang lang_of(const char *ext) {
  if (!strcmp(ext, "c") || !strcmp(ext, "h") || !strcmp(ext, "js") || !strcmp(ext, "go"))
    return L_C;
  if (!strcmp(ext, "sh") || !strcmp(ext, "bash") || !strcmp(ext, "awk")) return L_HASH;
  if (!strcmp(ext, "py")) return L_PY;
  if (!strcmp(ext, "sql")) return L_SQL;
  return L_RAW;
}

static bool is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         (unsigned char)c >= 0x80;
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

/* Appends a separator owed before the next significant character c. */
static void flush_space(struct vg_buf *o, bool *pending, char c, enum lang l) {
  if (!*pending) return;
  *pending = false;
  if (o->len == 0 || o->data[o->len - 1] == '\n') return;
  if (l == L_C && !(is_word(o->data[o->len - 1]) && is_word(c))) return;
  vg_buf_putc(o, ' ');
}

void cp_code_normalize(const char *ext, const char *s, size_t n, struct vg_buf *o) {
  enum lang l = lang_of(ext ? ext : "");
  vg_buf_reset(o);
  if (l == L_RAW) {
    vg_buf_append(o, s, n);
    return;
  }
  bool space = false, line_start = true;
  size_t i = 0;
  /* a shebang is the interpreter, not a comment */
  if (n >= 2 && s[0] == '#' && s[1] == '!') {
    while (i < n && s[i] != '\n') vg_buf_putc(o, s[i++]);
  }
  while (i < n) {
    char c = s[i];
    if (c == '\n') {
      if (l == L_C) space = true;
      else if (o->len && o->data[o->len - 1] != '\n') vg_buf_putc(o, '\n'), space = false;
      else space = false;
      line_start = true;
      i++;
      continue;
    }
    if (is_blank(c)) {
      if (l == L_PY && line_start) { /* indentation is syntax */
        while (i < n && is_blank(s[i])) vg_buf_putc(o, s[i++]);
        continue;
      }
      space = true;
      i++;
      continue;
    }
    /* comments */
    if (l == L_C && c == '/' && i + 1 < n && s[i + 1] == '/') {
      while (i < n && s[i] != '\n') i++;
      continue;
    }
    if (l == L_C && c == '/' && i + 1 < n && s[i + 1] == '*') {
      const char *e = NULL;
      for (size_t j = i + 2; j + 1 < n && !e; j++)
        if (s[j] == '*' && s[j + 1] == '/') e = s + j;
      i = e ? (size_t)(e - s) + 2 : n;
      space = true;
      continue;
    }
    /* '#' starts a comment only where a word could start ($#, ${#x}, a#b are not) */
    if ((l == L_HASH || l == L_PY) && c == '#' &&
        (line_start || space || l == L_PY || (o->len && strchr(";&|()", o->data[o->len - 1])))) {
      while (i < n && s[i] != '\n') i++;
      continue;
    }
    if (l == L_SQL && c == '-' && i + 1 < n && s[i + 1] == '-') {
      while (i < n && s[i] != '\n') i++;
      continue;
    }
    line_start = false;
    flush_space(o, &space, c, l);
    if (c == '"' || c == '\'' || (c == '`' && l != L_PY)) {
      char q = c;
      vg_buf_putc(o, s[i++]);
      while (i < n && s[i] != q) {
        if (s[i] == '\\' && q != '\'' && i + 1 < n) vg_buf_putc(o, s[i++]);
        if (s[i] == '\\' && q == '\'' && l != L_HASH && i + 1 < n) vg_buf_putc(o, s[i++]);
        vg_buf_putc(o, s[i++]);
      }
      if (i < n) vg_buf_putc(o, s[i++]);
      continue;
    }
    vg_buf_putc(o, s[i++]);
  }
  /* drop lines that hold only indentation (Python after a removed comment) */
  /* Python's indentation is copied before a comment that is then dropped: remove the
   * lines left holding only indentation */
  if (l == L_PY && o->data) {
    size_t w = 0, ls = 0;
    for (size_t r = 0; r <= o->len; r++) {
      if (r < o->len && o->data[r] != '\n') continue;
      bool blank = true;
      for (size_t k = ls; k < r; k++) blank &= is_blank(o->data[k]);
      if (!blank) {
        memmove(o->data + w, o->data + ls, r - ls);
        w += r - ls;
        if (r < o->len) o->data[w++] = '\n';
      }
      ls = r + 1;
    }
    o->len = w;
    o->data[w] = '\0';
  }
  while (o->len && (o->data[o->len - 1] == '\n' || o->data[o->len - 1] == ' ')) o->data[--o->len] = 0;
}

void cp_code_hash_buf(const char *ext, const char *text, size_t len, uint8_t out[16]) {
  struct vg_buf b;
  vg_buf_init(&b);
  cp_code_normalize(ext, text, len, &b);
  XXH128_hash_t h = XXH3_128bits(b.data ? b.data : "", b.len);
  XXH128_canonical_t cn;
  XXH128_canonicalFromHash(&cn, h);
  memcpy(out, cn.digest, 16);
  vg_buf_free(&b);
}

int cp_code_hash_file(const char *path, uint8_t out[16]) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct vg_buf b;
  vg_buf_init(&b);
  for (;;) {
    vg_buf_reserve(&b, 65536);
    ssize_t r = read(fd, b.data + b.len, b.cap - b.len - 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = -errno;
      close(fd);
      vg_buf_free(&b);
      return e;
    }
    if (r == 0) break;
    b.len += (size_t)r;
  }
  close(fd);
  const char *slash = strrchr(path, '/');
  const char *dot = strrchr(slash ? slash : path, '.');
  cp_code_hash_buf(dot ? dot + 1 : "", b.data ? b.data : "", b.len, out);
  vg_buf_free(&b);
  return 0;
}
