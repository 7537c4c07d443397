/* GET /api/v1/compute/grid under `vigil up`: the http module's compute_grid hook, on the
 * compute engine's grid (src/compute/grid.c) for the config the daemon runs now. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "compute/compute.h"
#include "http/http.h"

int cli_compute_grid(void *arg, const char *query, struct vg_buf *out) {
  const struct vg_config *cfg = sv_config(arg);
  char from[32] = "", to[32] = "", err[160];
  (void)http_query_get(query, "from", from, sizeof from);
  (void)http_query_get(query, "to", to, sizeof to);
  int rc = cp_grid(cfg, from, to, out, err, sizeof err);
  if (rc == 0) return 200;
  vg_buf_reset(out);
  json_t *o = json_pack("{ss}", "error", err);
  char *s = json_dumps(o, 0);
  vg_buf_puts(out, s);
  vg_buf_putc(out, '\n');
  free(s);
  json_decref(o);
  return rc == -ENOENT ? 404 : 400;
}
