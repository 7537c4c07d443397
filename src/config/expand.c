/*
 * Environment expansion of config scalars: ${VAR}, ${VAR:-default} and $$.
 *
 * Deliberately smaller than the shell's: no $VAR without braces (a lone '$' stays
 * as it is, so "cost: 5$" needs no escaping), no nesting in defaults, no other
 * operators — a config should not need a shell to be read.
 */
#include "config/config_int.h"
#include "core/core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

static char *fail(struct vg_buf *b, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static char *fail(struct vg_buf *b, char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (errlen) vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  vg_buf_free(b);
  return NULL;
}

char *cfg_expand_env(const char *s, char *err, size_t errlen, size_t *where) {
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_reserve(&b, strlen(s));
  const char *p = s;
  while (*p) {
    if (p[0] != '$' || (p[1] != '$' && p[1] != '{')) {
      vg_buf_putc(&b, *p++);
      continue;
    }
    if (p[1] == '$') {
      vg_buf_putc(&b, '$');
      p += 2;
      continue;
    }
    if (where) *where = (size_t)(p - s);
    const char *name = p + 2;
    const char *close = strchr(name, '}');
    if (!close) return fail(&b, err, errlen, "unterminated '${' (missing '}')");
    const char *q = name;
    if (name_start(*q))
      while (name_char(*q)) q++;
    int name_len = (int)(q - name);
    bool has_default = strncmp(q, ":-", 2) == 0;
    if (name_len == 0 || (q != close && !has_default)) {
      int ref_len = (int)(close - p + 1);
      return fail(&b, err, errlen,
                  "bad variable reference '%.*s': use ${NAME} or ${NAME:-default} where "
                  "NAME is letters, digits and '_'",
                  ref_len, p);
    }
    char *var = vg_strndup(name, (size_t)name_len);
    const char *val = getenv(var);
    if (val && *val) {
      vg_buf_puts(&b, val);
    } else if (has_default) {
      vg_buf_append(&b, q + 2, (size_t)(close - (q + 2)));
    } else if (!val) {
      char *r = fail(&b, err, errlen, "environment variable '%s' is not set", var);
      free(var);
      return r;
    }
    free(var);
    p = close + 1;
  }
  vg_buf_append(&b, "", 0); /* terminates the buffer even when nothing was added */
  return b.data;
}
