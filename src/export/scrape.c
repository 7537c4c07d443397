/* The Prometheus scrape job for vigil's /metrics. */
#include <stdlib.h>
#include <string.h>

#include "export/export_int.h"

/* Splits HOST:PORT at its last colon; the host keeps IPv6 brackets. */
static bool split_target(const char *t, size_t *host_len, long *port) {
  const char *colon = strrchr(t, ':');
  if (!colon) return false;
  *host_len = (size_t)(colon - t);
  if (*host_len > 0 && t[0] == '[' && t[*host_len - 1] != ']') return false;
  if (*host_len > 0 && t[0] != '[' && memchr(t, ':', *host_len)) return false;
  const char *ps = colon + 1;
  if (*ps == '\0' || strspn(ps, "0123456789") != strlen(ps) || strlen(ps) > 5) return false;
  *port = strtol(ps, NULL, 10);
  return *port >= 1 && *port <= 65535;
}

bool ex_target_valid(const char *target) {
  size_t host_len;
  long port;
  if (!split_target(target, &host_len, &port)) return false;
  if (host_len > 0 && target[0] == '[') {
    /* [IPv6] */
    if (host_len < 3) return false;
    for (size_t i = 1; i + 1 < host_len; i++)
      if (!strchr("0123456789abcdefABCDEF:.", target[i])) return false;
    return true;
  }
  for (size_t i = 0; i < host_len; i++) {
    char c = target[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

char *ex_scrape_yaml(const char *listen) {
  size_t host_len;
  long port;
  bool ok = ex_target_valid(listen) && split_target(listen, &host_len, &port);
  VG_ASSERT(ok);
  static const char *const wildcards[] = {"0.0.0.0", "[::]"};
  bool wildcard = host_len == 0;
  for (size_t i = 0; i < VG_ARRAY_LEN(wildcards); i++)
    if (strlen(wildcards[i]) == host_len && strncmp(listen, wildcards[i], host_len) == 0)
      wildcard = true;
  char *target = wildcard ? vg_asprintf("127.0.0.1:%ld", port) : vg_strdup(listen);

  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_puts(&b, "# vigil's metrics, written by `vigil export prometheus-scrape`.\n"
                  "# Goes under scrape_configs: in prometheus.yml.\n");
  if (wildcard)
    vg_buf_printf(&b, "# vigil listens on every interface (%s); 127.0.0.1 assumes Prometheus runs\n"
                      "# on the same host (else: vigil export prometheus-scrape --target HOST:%ld).\n",
                  listen, port);
  vg_buf_puts(&b, "- job_name: " EX_JOB "\n"
                  "  scrape_interval: 15s\n"
                  "  metrics_path: /metrics\n"
                  "  static_configs:\n"
                  "    - targets: [");
  ex__yaml_quote(&b, target);
  vg_buf_puts(&b, "]\n");
  free(target);
  return b.data;
}
