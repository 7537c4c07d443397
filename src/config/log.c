/*
 * The `log` section of a service: whether its output is captured, echoed into
 * vigil's log and written to a rotated file, and the rotation limits.
 */
#include "config/config_int.h"
#include "core/core.h"

static const char *const keys[] = {"capture", "echo", "file", "max_size", "keep"};
enum { K_CAPTURE, K_ECHO, K_FILE, K_MAX_SIZE, K_KEEP, K_N };

void cfg__log_parse(struct cfg__ctx *c, struct cfg_log *l, const struct cfg__node *n) {
  const struct cfg__pair *f[K_N];
  if (!cfg__fields(c, n, keys, K_N, f)) return;
  if (f[K_CAPTURE]) cfg__bool(c, f[K_CAPTURE]->value, &l->capture);
  if (f[K_ECHO]) cfg__bool(c, f[K_ECHO]->value, &l->echo);
  if (f[K_FILE]) cfg__bool(c, f[K_FILE]->value, &l->file);
  int64_t size;
  if (f[K_MAX_SIZE] && cfg__size(c, f[K_MAX_SIZE]->value, &size)) {
    if (size == 0) cfg_diag_add(c->diags, f[K_MAX_SIZE]->value->pos, "max_size must be more than 0");
    else l->max_bytes = size;
  }
  long long keep;
  if (f[K_KEEP] && cfg__int(c, f[K_KEEP]->value, "keep", 0, 100, &keep)) l->keep = (int)keep;
}
