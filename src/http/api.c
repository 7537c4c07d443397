/*
 * The API routes: JSON views of the supervisor and the commands that change it.
 * Transport-free: listener.c hands requests in for both listeners and writes the
 * responses out. Shapes are documented in docs/api.md; keep them stable.
 *
 * Every route is one row of `routes` (method, path pattern, who may call it over TCP,
 * handler); 404 and 405 (with Allow) follow from the table. Over TCP a request must
 * name this server in Host, and every route but the scrapers' (/healthz, /readyz,
 * /metrics) needs the bearer token.
 */
#include "http/http_int.h"
#include "http/store_api.h"
#include "http/cache_api.h"
#include "http/monitor_api.h"
#include "monitor/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <unistd.h>

static double g_started_wall;

static json_t *service_json(const struct sv_service *svc) {
  struct sv_info in;
  sv_info_get(svc, &in);
  json_t *o = json_object();
  json_object_set_new(o, "name", json_string(in.name));
  json_object_set_new(o, "state", json_string(sv_state_name(in.state)));
  json_object_set_new(o, "pid", in.pid > 0 ? json_integer(in.pid) : json_null());
  json_object_set_new(o, "uptime_seconds", json_real(in.uptime_seconds));
  json_object_set_new(o, "restarts", json_integer(in.restarts));
  json_object_set_new(o, "admin_restarts", json_integer(in.admin_restarts));
  json_t *last = json_null();
  if (in.has_exited) {
    last = json_object();
    json_object_set_new(last, "code", in.last_exit_signal ? json_null() : json_integer(in.last_exit_code));
    json_object_set_new(last, "signal",
                        in.last_exit_signal ? json_string(sigabbrev_np(in.last_exit_signal)) : json_null());
  }
  json_object_set_new(o, "last_exit", last);
  json_object_set_new(o, "ready_seconds", in.ready_seconds >= 0 ? json_real(in.ready_seconds) : json_null());
  const char *deps[64];
  size_t n = sv_waiting_on(svc, deps, VG_ARRAY_LEN(deps));
  json_t *w = json_array();
  if (in.state == SV_WAITING)
    for (size_t i = 0; i < n && i < VG_ARRAY_LEN(deps); i++) json_array_append_new(w, json_string(deps[i]));
  json_object_set_new(o, "waiting_on", w);
  json_object_set_new(o, "reason", in.reason ? json_string(in.reason) : json_null());
  json_object_set_new(o, "next_start_in", in.state == SV_BACKOFF ? json_real(in.next_start_in) : json_null());
  json_object_set_new(o, "watchdog_pings", json_integer((json_int_t)in.watchdog_pings));
  json_object_set_new(o, "status_text", in.status_text ? json_string(in.status_text) : json_null());
  json_object_set_new(o, "log_file", in.log_path ? json_string(in.log_path) : json_null());
  return o;
}

static void dump(json_t *j, struct vg_buf *out) {
  char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
  vg_buf_puts(out, s);
  vg_buf_putc(out, '\n');
  free(s);
  json_decref(j);
}

static json_t *status_root(struct sv_supervisor *sv) {
  if (g_started_wall == 0) g_started_wall = vg_wall_seconds();
  const struct vg_config *cfg = sv_config(sv);
  json_t *root = json_object();
  json_t *me = json_object();
  json_object_set_new(me, "version", json_string(VIGIL_VERSION));
  json_object_set_new(me, "commit", json_string(vg_commit()));
  json_object_set_new(me, "pid", json_integer(getpid()));
  json_object_set_new(me, "config", json_string(cfg->path));
  json_object_set_new(me, "state_dir", json_string(cfg->state_dir));
  json_object_set_new(me, "http", cfg->http.listen ? json_string(cfg->http.listen) : json_null());
  json_object_set_new(me, "uptime_seconds", json_real(vg_wall_seconds() - g_started_wall));
  json_object_set_new(root, "vigil", me);
  json_object_set_new(root, "stack_ready", json_boolean(sv_stack_ready(sv)));
  json_t *arr = json_array();
  for (size_t i = 0; i < sv_count(sv); i++) json_array_append_new(arr, service_json(sv_at(sv, i)));
  json_object_set_new(root, "services", arr);
  return root;
}

void api_status_json(struct sv_supervisor *sv, struct vg_buf *out) { dump(status_root(sv), out); }

void *api__service_json(const struct sv_service *svc) { return service_json(svc); }

void *api__status_doc(struct http_api *api) {
  json_t *root = status_root(api->sv);
  if (api->hooks.status) api->hooks.status(api->hooks.status_arg, root);
  return root;
}

static void error_json(struct http_response *resp, int status, const char *msg) {
  resp->status = status;
  json_t *o = json_object();
  json_object_set_new(o, "error", json_string(msg));
  dump(o, &resp->body);
}

static void ok_json(struct http_response *resp, const char *action, const char *name) {
  resp->status = 202;
  json_t *o = json_object();
  json_object_set_new(o, "ok", json_true());
  json_object_set_new(o, "action", json_string(action));
  json_object_set_new(o, "service", json_string(name));
  dump(o, &resp->body);
}

/* The family, defined once for the API and for api_metrics_describe. */
static struct mt_family *requests_family(struct mt_registry *r) {
  static const char *const labels[] = {"listener", "code", NULL};
  return mt_counter(r, "vigil_http_requests_total",
                    "HTTP requests answered, by listener (tcp or control) and status code.", labels);
}

void api_init_metrics(struct http_api *api) { api->requests = requests_family(api->metrics); }

void api_metrics_describe(struct mt_registry *r) { (void)requests_family(r); }

void api_count(struct http_api *api, const char *listener, int status) {
  if (!api->requests) return;
  char code[8];
  snprintf(code, sizeof code, "%d", status);
  const char *values[] = {listener, code};
  mt_inc(mt_get(api->requests, values), 1);
}

/* Reads the whole token file (trailing whitespace dropped) into buf. 0 or -1. */
static int read_token(const char *path, char *buf, size_t len, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    snprintf(err, errlen, "cannot read token file %s: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
    snprintf(err, errlen, "token file %s must be a regular file of mode 0600 (it is %04o)", path,
             (unsigned)(st.st_mode & 07777));
    close(fd);
    return -1;
  }
  ssize_t n = read(fd, buf, len - 1);
  close(fd);
  if (n < 0) n = 0;
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t')) n--;
  buf[n] = '\0';
  if (n < 16) {
    snprintf(err, errlen, "token file %s holds no token of at least 16 characters", path);
    return -1;
  }
  return 0;
}

int api_check_token_file(const char *path, char *err, size_t errlen) {
  char tok[512];
  return read_token(path, tok, sizeof tok, err, errlen);
}

/* Constant time in the length of the expected token, so timing tells nothing. */
static bool token_matches(const char *given, const char *want) {
  size_t gl = strlen(given), wl = strlen(want);
  unsigned char diff = (unsigned char)(gl != wl);
  for (size_t i = 0; i < wl; i++) diff |= (unsigned char)(want[i] ^ (i < gl ? given[i] : 0));
  return diff == 0;
}

/* Is the token presented? Fills resp with the refusal when not. */
static bool authorized(struct http_api *api, const struct http_request *req,
                       struct http_response *resp) {
  if (!api->token_file) {
    error_json(resp, 403, "this route over TCP needs http.token_file in the config; "
                          "or use the control socket (the vigil CLI)");
    return false;
  }
  char tok[512], err[256];
  if (read_token(api->token_file, tok, sizeof tok, err, sizeof err) < 0) {
    VG_ERROR("refusing a request: the token file is unusable", VF_S("error", err));
    error_json(resp, 403, "the token file is unusable; see vigil's log");
    return false;
  }
  const char *auth = req->authorization;
  if (strncasecmp(auth, "Bearer ", 7) != 0 || !token_matches(auth + 7, tok)) {
    resp->www_authenticate = true;
    error_json(resp, 401, auth[0] ? "bad bearer token" : "a bearer token is required");
    return false;
  }
  return true;
}

/* The host part of a Host header value ("name", "name:port", "[v6]:port") into out. */
static bool host_part(const char *h, char *out, size_t len) {
  const char *end;
  if (*h == '[') {
    h++;
    end = strchr(h, ']');
    if (!end || (end[1] && end[1] != ':') || !memchr(h, ':', (size_t)(end - h))) return false;
  } else {
    end = strchr(h, ':');
    if (!end) end = h + strlen(h);
    else if (strchr(end + 1, ':')) return false;
  }
  size_t n = (size_t)(end - h);
  if (n == 0 || n >= len) return false;
  memcpy(out, h, n);
  out[n] = '\0';
  for (const char *p = end[0] == ']' ? end + 1 : end; *p; p++)
    if (*p != ':' && (*p < '0' || *p > '9')) return false;
  return true;
}

static bool is_ip_literal(const char *s) {
  unsigned char a[16];
  return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* Does Host name this server? Its listen address, localhost, a name in
 * http.allowed_hosts, or — when listening on every address — any IP literal. A request
 * without Host (HTTP/1.0; browsers always send one) passes. */
static bool host_allowed(const struct http_api *api, const struct http_request *req) {
  if (!req->host[0]) return true;
  char h[256];
  if (!host_part(req->host, h, sizeof h)) return false;
  if (strcasecmp(h, "localhost") == 0) return true;
  const struct cfg_http *cfg = &sv_config(api->sv)->http;
  if (cfg->host) {
    if (strcasecmp(h, cfg->host) == 0) return true;
    if ((strcmp(cfg->host, "0.0.0.0") == 0 || strcmp(cfg->host, "::") == 0) && is_ip_literal(h))
      return true;
  }
  for (char **a = cfg->allowed_hosts; a && *a; a++)
    if (strcasecmp(h, *a) == 0) return true;
  return false;
}

static void readyz(struct http_api *api, struct http_response *resp) {
  bool ready = sv_stack_ready(api->sv);
  char store_why[160] = "";
  if (api->store && tsdb_health(api->store, store_why, sizeof store_why) != 0) ready = false;
  resp->status = ready ? 200 : 503;
  json_t *o = json_object(), *reasons = json_array();
  if (store_why[0]) json_array_append_new(reasons, json_pack("s+", "store: ", store_why));
  for (size_t i = 0; i < sv_count(api->sv); i++) {
    const struct sv_service *svc = sv_at(api->sv, i);
    struct sv_info in;
    sv_info_get(svc, &in);
    if (in.state == SV_READY || in.state == SV_STOPPED) continue;
    struct vg_buf b;
    vg_buf_init(&b);
    vg_buf_printf(&b, "%s: %s", in.name, sv_state_name(in.state));
    const char *deps[16];
    size_t n = sv_waiting_on(svc, deps, VG_ARRAY_LEN(deps));
    if (in.state == SV_WAITING && n) {
      vg_buf_puts(&b, ", waiting on ");
      for (size_t k = 0; k < n && k < VG_ARRAY_LEN(deps); k++) vg_buf_printf(&b, "%s%s", k ? ", " : "", deps[k]);
    }
    if (in.reason) vg_buf_printf(&b, " (%s)", in.reason);
    json_array_append_new(reasons, json_string(b.data));
    vg_buf_free(&b);
  }
  if (api->monitor) { /* the data's health: critical is not ready */
    char **why;
    enum mon_health h = mon_health_get(api->monitor, &why);
    if (h == MON_CRITICAL_HEALTH) ready = false;
    for (size_t i = 0; why[i]; i++) json_array_append_new(reasons, json_string(why[i]));
    vg_strv_free(why);
    json_object_set_new(o, "health", json_string(mon_health_name(h)));
    resp->status = ready ? 200 : 503;
  }
  json_object_set_new(o, "ready", json_boolean(ready));
  json_object_set_new(o, "reasons", reasons);
  dump(o, &resp->body);
}

/* ---- the routes ---- */

enum {
  M_GET = 1,  /* also HEAD */
  M_POST = 2,
};

/* What a handler gets: the request, its body, and the {name} of the path if any. */
struct call {
  struct http_api *api;
  const struct http_request *req;
  const char *body;
  const char *name;
  char *follow;
  size_t follow_len;
};

/* A handler fills resp; returns 1 when the request asks to follow logs, else 0. */
typedef int (*route_fn)(const struct call *k, struct http_response *resp);

struct route {
  unsigned methods;
  const char *pattern; /* "{name}" matches one path segment */
  bool open;           /* over TCP without the token (scrapers) */
  route_fn fn;
};

static int r_healthz(const struct call *k, struct http_response *resp) {
  resp->content_type = "text/plain";
  vg_buf_puts(&resp->body, "ok\n");
  return 0;
}

static int r_readyz(const struct call *k, struct http_response *resp) {
  readyz(k->api, resp);
  return 0;
}

static int r_metrics(const struct call *k, struct http_response *resp) {
  enum mt_format fmt = mt_negotiate(k->req->accept[0] ? k->req->accept : NULL);
  resp->content_type = mt_content_type(fmt);
  mt_render(k->api->metrics, fmt, &resp->body);
  return 0;
}

static int r_status(const struct call *k, struct http_response *resp) {
  dump(api__status_doc(k->api), &resp->body);
  return 0;
}

/* The page and its assets (web.c), open: they hold no data; the API behind them asks
 * for the token. */
static int r_page(const struct call *k, struct http_response *resp) {
  if (!http__web_serve(k->req->path, resp)) error_json(resp, 404, "no such asset");
  return API_ANSWER;
}

/* The events stream: the listener sends the head and subscribes (events.c). */
static int r_events(const struct call *k, struct http_response *resp) {
  resp->content_type = "text/event-stream";
  resp->headers = "Cache-Control: no-store\r\n";
  return strcmp(k->req->method, "HEAD") == 0 ? API_ANSWER : API_EVENTS;
}

static int r_compute_grid(const struct call *k, struct http_response *resp) {
  const struct http_hooks *hooks = &k->api->hooks;
  if (!hooks->compute_grid) {
    error_json(resp, 404, "this config has no compute section");
    return API_ANSWER;
  }
  resp->status = hooks->compute_grid(hooks->compute_arg, k->req->query, &resp->body);
  return API_ANSWER;
}

static int r_reload(const struct call *k, struct http_response *resp) {
  resp->status = k->api->hooks.reload(k->api->hooks.arg, &resp->body);
  return 0;
}

static int r_down(const struct call *k, struct http_response *resp) {
  k->api->hooks.down(k->api->hooks.arg);
  resp->status = 202;
  vg_buf_puts(&resp->body, "{\"ok\": true, \"action\": \"down\"}\n");
  return 0;
}

static int r_services(const struct call *k, struct http_response *resp) {
  struct sv_supervisor *sv = k->api->sv;
  json_t *arr = json_array();
  for (size_t i = 0; i < sv_count(sv); i++) json_array_append_new(arr, service_json(sv_at(sv, i)));
  dump(arr, &resp->body);
  return 0;
}

/* The named service, or NULL after a 404. */
static const struct sv_service *find_service(const struct call *k, struct http_response *resp) {
  const struct sv_service *svc = sv_find(k->api->sv, k->name);
  if (!svc) {
    char msg[200];
    snprintf(msg, sizeof msg, "no service named '%s'", k->name);
    error_json(resp, 404, msg);
  }
  return svc;
}

static int r_service(const struct call *k, struct http_response *resp) {
  const struct sv_service *svc = find_service(k, resp);
  if (svc) dump(service_json(svc), &resp->body);
  return 0;
}

static int service_action(const struct call *k, struct http_response *resp, const char *action,
                          int (*fn)(struct sv_supervisor *, const char *)) {
  if (!find_service(k, resp)) return 0;
  int rc = fn(k->api->sv, k->name);
  if (rc == -ESHUTDOWN) error_json(resp, 409, "vigil is shutting down");
  else if (rc == -EPERM) error_json(resp, 409, "the service's failover role is not this node's now");
  else ok_json(resp, action, k->name);
  return 0;
}

static int r_start(const struct call *k, struct http_response *resp) {
  return service_action(k, resp, "start", sv_start);
}
static int r_stop(const struct call *k, struct http_response *resp) {
  return service_action(k, resp, "stop", sv_stop);
}
static int r_restart(const struct call *k, struct http_response *resp) {
  return service_action(k, resp, "restart", sv_restart);
}

static int r_logs(const struct call *k, struct http_response *resp) {
  const struct sv_service *svc = find_service(k, resp);
  if (!svc) return 0;
  char v[32];
  size_t n = 20;
  if (http_query_get(k->req->query, "n", v, sizeof v) == 0) {
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < 0 || x > 100000) {
      error_json(resp, 400, "n must be an integer between 0 and 100000");
      return 0;
    }
    n = (size_t)x;
  }
  resp->content_type = "text/plain";
  struct sv_info in;
  sv_info_get(svc, &in);
  if (in.log_path) api_tail_file(in.log_path, n, &resp->body);
  bool follow = http_query_get(k->req->query, "follow", v, sizeof v) == 0 &&
                (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || v[0] == '\0');
  if (!follow) return 0;
  snprintf(k->follow, k->follow_len, "%s", k->name);
  return API_FOLLOW_LOGS;
}

/* Failover's routes: the daemon's hook answers (404 without a failover section). */
static int r_failover(const struct call *k, struct http_response *resp) {
  const struct http_hooks *h = &k->api->hooks;
  if (!h->failover) {
    error_json(resp, 404, "failover is not configured");
    return 0;
  }
  bool post = strcmp(k->req->method, "POST") == 0;
  char *body = vg_strndup(k->body ? k->body : "", k->body ? k->req->content_length : 0);
  resp->status = h->failover(h->failover_arg, post ? "switchover" : "status", body, &resp->body);
  free(body);
  return 0;
}

/* The store's routes are served by store_api.c; the table only places them. */
static int r_store(const struct call *k, struct http_response *resp) {
  store_api_handle(k->api->store, k->api->ingest, k->req, k->body, resp);
  return 0;
}

static int r_cache(const struct call *k, struct http_response *resp) {
  (void)cache_api_handle(k->api->cache, k->req, resp);
  return 0;
}

static int r_monitor(const struct call *k, struct http_response *resp) {
  monitor_api_handle(k->api->monitor, k->req, resp);
  return 0;
}

static const struct route routes[] = {
    {M_GET, "/", true, r_page},
    {M_GET, "/assets/{name}", true, r_page},
    {M_GET, "/api/v1/events", false, r_events},
    {M_GET, "/api/v1/compute/grid", false, r_compute_grid},
    {M_GET, "/healthz", true, r_healthz},
    {M_GET, "/readyz", true, r_readyz},
    {M_GET, "/metrics", true, r_metrics},
    {M_GET, "/api/v1/status", false, r_status},
    {M_POST, "/api/v1/reload", false, r_reload},
    {M_POST, "/api/v1/down", false, r_down},
    {M_GET, "/api/v1/services", false, r_services},
    {M_GET, "/api/v1/services/{name}", false, r_service},
    {M_POST, "/api/v1/services/{name}/start", false, r_start},
    {M_POST, "/api/v1/services/{name}/stop", false, r_stop},
    {M_POST, "/api/v1/services/{name}/restart", false, r_restart},
    {M_GET, "/api/v1/services/{name}/logs", false, r_logs},
    {M_GET, "/api/v1/failover", false, r_failover},
    {M_POST, "/api/v1/failover/switchover", false, r_failover},
    {M_GET, "/api/v1/query", false, r_store},
    {M_GET, "/api/v1/query/last", false, r_store},
    {M_GET, "/api/v1/store/stats", false, r_store},
    {M_GET, "/api/v1/store/fingerprint", false, r_store},
    {M_POST, "/api/v1/store/compact", false, r_store},
    {M_POST, "/api/v1/store/retention", false, r_store},
    {M_POST, "/api/v1/store/import", false, r_store},
    {M_POST, "/write", false, r_store},
    {M_GET, "/api/v1/cache", false, r_cache},
    {M_GET, "/api/v1/cache/stats", false, r_cache},
    {M_GET, "/api/v1/cache/docs", false, r_cache},
    {M_GET, "/api/v1/cache/diff", false, r_cache},
    {M_GET, "/api/v1/cache/docs/{name}", false, r_cache},
    {M_GET, "/api/v1/health", false, r_monitor},
    {M_GET, "/api/v1/alerts", false, r_monitor},
};

/* Matches path against pattern; a "{...}" segment (at most one) is copied into name. */
static bool match(const char *pattern, const char *path, char *name, size_t nlen) {
  while (*pattern) {
    if (*pattern == '{') {
      pattern = strchr(pattern, '}') + 1;
      size_t n = strcspn(path, "/");
      if (n == 0 || n >= nlen) return false;
      memcpy(name, path, n);
      name[n] = '\0';
      path += n;
      continue;
    }
    if (*pattern++ != *path++) return false;
  }
  return *path == '\0';
}

static unsigned method_bit(const char *m) {
  if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) return M_GET;
  if (strcmp(m, "POST") == 0) return M_POST;
  return 0;
}

int api_handle(struct http_api *api, bool trusted, const struct http_request *req,
               const char *body, struct http_response *resp, char *follow_service,
               size_t follow_len) {
  resp->status = 200;
  resp->content_type = "application/json";
  resp->allow = NULL;
  if (!trusted && !req->host[0] && req->minor == 1) {
    error_json(resp, 400, "HTTP/1.1 needs a Host header");
    return 0;
  }
  if (!trusted && !host_allowed(api, req)) {
    error_json(resp, 421, "this server does not answer for that Host; "
                          "add the name to http.allowed_hosts");
    return 0;
  }
  char name[128] = "";
  unsigned m = method_bit(req->method), allowed = 0;
  const struct route *hit = NULL;
  for (size_t i = 0; i < VG_ARRAY_LEN(routes) && !hit; i++) {
    if (!match(routes[i].pattern, req->path, name, sizeof name)) continue;
    allowed |= routes[i].methods;
    if (m & routes[i].methods) hit = &routes[i];
  }
  if (!hit) {
    if (!allowed) {
      error_json(resp, 404, "no such route");
      return 0;
    }
    resp->allow = allowed == M_GET ? "GET, HEAD" : allowed == M_POST ? "POST" : "GET, HEAD, POST";
    error_json(resp, 405, "method not allowed");
    return 0;
  }
  if (!trusted && !hit->open && !authorized(api, req, resp)) return 0;
  struct call k = {.api = api, .req = req, .body = body, .name = name,
                   .follow = follow_service, .follow_len = follow_len};
  return hit->fn(&k, resp);
}
