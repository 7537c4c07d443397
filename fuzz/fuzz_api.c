/* libFuzzer target: the API routes behind both listeners (the route table, 404/405,
 * query values, the Host and bearer-token checks, /metrics negotiation, /readyz, status
 * and service documents), on a real supervisor whose services are never started.
 * Input: a flags byte (bit 0: trusted, bit 1: HTTP/1.1), then method, path, query,
 * Authorization, Accept and Host, one per line, then the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "http/http.h"
#include "metrics/metrics.h"
#include "supervise/supervise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_api api;

static int no_reload(void *arg, struct vg_buf *out) { return 500; }
static void no_down(void *arg) {}

static void setup(void) {
  static const char cfg_text[] =
      "state_dir: /tmp/vigil-fuzz-api\n"
      "services:\n"
      "  feed: {cmd: [/bin/true], ready: {tcp: \"127.0.0.1:1\"}}\n"
      "  bot: {cmd: [/bin/true], depends_on: [feed]}\n";
  struct cfg_diags d;
  cfg_diags_init(&d);
  struct vg_config *cfg = cfg_load_string("/tmp/fuzz.yaml", cfg_text, sizeof cfg_text - 1, &d);
  if (!cfg) abort();
  cfg_diags_free(&d);
  char err[256];
  struct sv_supervisor *sv;
  if (sv_create(uv_default_loop(), cfg, &sv, err, sizeof err) < 0) abort();
  api.sv = sv;
  api.metrics = mt_registry_new();
  mt_register_build_info(api.metrics, "fuzz", "fuzz");
  sv_metrics_register(sv, api.metrics);
  api.hooks = (struct http_hooks){.reload = no_reload, .down = no_down};
  api_init_metrics(&api);
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_ERROR);
}

/* Copies the next line of [*p, end) into out (cut to len-1), advancing *p. */
static void field(const uint8_t **p, const uint8_t *end, char *out, size_t len) {
  const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
  size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
  size_t k = n < len - 1 ? n : len - 1;
  memcpy(out, *p, k);
  out[k] = '\0';
  *p += n + (nl != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!api.sv) setup();
  struct http_request req;
  memset(&req, 0, sizeof req);
  const uint8_t *p = data, *end = data + size;
  if (size == 0) return 0;
  bool trusted = data[0] & 1;
  req.minor = (data[0] >> 1) & 1;
  p++;
  field(&p, end, req.method, sizeof req.method);
  field(&p, end, req.path, sizeof req.path);
  field(&p, end, req.query, sizeof req.query);
  field(&p, end, req.authorization, sizeof req.authorization);
  field(&p, end, req.accept, sizeof req.accept);
  field(&p, end, req.host, sizeof req.host);
  /* what a parser would hand over: an absolute path without traversal */
  if (req.path[0] != '/' || strstr(req.path, "/..") || strstr(req.path, "//")) return 0;
  size_t blen = (size_t)(end - p);
  char *body = malloc(blen + 1);
  memcpy(body, p, blen);
  body[blen] = '\0';
  req.content_length = blen;
  struct http_response resp = {.status = 0};
  vg_buf_init(&resp.body);
  char follow[128];
  /* trusted POSTs would start real processes: they stay untrusted */
  if (strcmp(req.method, "POST") == 0) trusted = false;
  int rc = api_handle(&api, trusted, &req, body, &resp, follow, sizeof follow);
  if (resp.status < 200 || resp.status > 599 || rc < API_ANSWER || rc > API_EVENTS) abort();
  /* the events stream is GET /api/v1/events only, and never unauthenticated over TCP */
  if (rc == API_EVENTS && (strcmp(req.path, "/api/v1/events") || !trusted)) abort();
  if ((resp.status == 405) != (resp.allow != NULL)) abort();
  if (!trusted && resp.status < 400) {
    /* over TCP without a token file only the scrapers' routes answer, for a good Host */
    if (strcmp(req.path, "/healthz") && strcmp(req.path, "/readyz") && strcmp(req.path, "/metrics") &&
        strcmp(req.path, "/") && strncmp(req.path, "/assets/", 8))
      abort();
    if (req.host[0] && strncmp(req.host, "127.0.0.1", 9) && strncasecmp(req.host, "localhost", 9))
      abort();
    if (!req.host[0] && req.minor == 1) abort(); /* 400 */
  }
  api_count(&api, "tcp", resp.status);
  vg_buf_free(&resp.body);
  free(body);
  return 0;
}
