/* vigil_build_info: the constant-1 gauge that carries the version and commit as
 * labels, the Prometheus convention for joining build data onto other series. */
#include "metrics/metrics_int.h"

void mt_register_build_info(struct mt_registry *r, const char *version, const char *commit) {
  static const char *const labels[] = {"version", "commit", NULL};
  struct mt_family *f =
      mt_gauge(r, "vigil_build_info",
               "A metric with a constant '1' value labeled by version and commit from which "
               "vigil was built.",
               labels);
  const char *values[] = {version ? version : "", commit ? commit : ""};
  mt_set(mt_get(f, values), 1);
}
