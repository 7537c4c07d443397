/*
 * The API routes: JSON views of the supervisor and the commands that change it.
 * Transport-free: control.c (and later a TCP server) hand requests in and write
 * responses out. Shapes are documented in docs/api.md; keep them stable.
 */
#include "http/http.h"
#include "http/store_api.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* Splits "/api/v1/services/NAME/ACTION" into its parts; returns the part count after
 * the prefix (0, 1 or 2), or -1 when it does not start with prefix. */
static int service_route(const char *path, char *name, size_t nlen, char *action, size_t alen) {
  static const char prefix[] = "/api/v1/services";
  size_t pl = sizeof prefix - 1;
  if (strncmp(path, prefix, pl) != 0) return -1;
  const char *p = path + pl;
  if (*p == '\0') return 0;
  if (*p != '/') return -1;
  p++;
  const char *slash = strchr(p, '/');
  size_t len = slash ? (size_t)(slash - p) : strlen(p);
  if (len == 0 || len >= nlen) return -1;
  memcpy(name, p, len);
  name[len] = '\0';
  if (!slash) return 1;
  snprintf(action, alen, "%s", slash + 1);
  return action[0] && !strchr(action, '/') ? 2 : -1;
}

void api_init_metrics(struct http_api *api) {
  static const char *const labels[] = {"listener", "code", NULL};
  api->requests = mt_counter(api->metrics, "vigil_http_requests_total",
                             "HTTP requests answered, by listener (tcp or control) and status code.",
                             labels);
}

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

/* May this request change state? Fills resp with the refusal when not. */
static bool authorized(struct http_api *api, bool trusted, const struct http_request *req,
                       struct http_response *resp) {
  if (trusted) return true;
  if (!api->token_file) {
    error_json(resp, 403, "state changes over TCP need http.token_file in the config; "
                          "or use the control socket (the vigil CLI)");
    return false;
  }
  char tok[512], err[256];
  if (read_token(api->token_file, tok, sizeof tok, err, sizeof err) < 0) {
    VG_ERROR("refusing a state change: the token file is unusable", VF_S("error", err));
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
  json_object_set_new(o, "ready", json_boolean(ready));
  json_object_set_new(o, "reasons", reasons);
  dump(o, &resp->body);
}

int api_handle(struct http_api *api, bool trusted, const struct http_request *req,
               const char *body, struct http_response *resp, char *follow_service,
               size_t follow_len) {
  struct sv_supervisor *sv = api->sv;
  const struct http_hooks *hooks = &api->hooks;
  resp->status = 200;
  resp->content_type = "application/json";
  bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
  bool post = strcmp(req->method, "POST") == 0;
  const char *path = req->path;

  if (post && !authorized(api, trusted, req, resp)) return 0;
  if (store_api_handle(api->store, req, body, resp)) return 0;
  if (strcmp(path, "/healthz") == 0 && get) {
    resp->content_type = "text/plain";
    vg_buf_puts(&resp->body, "ok\n");
    return 0;
  }
  if (strcmp(path, "/readyz") == 0 && get) {
    readyz(api, resp);
    return 0;
  }
  if (strcmp(path, "/metrics") == 0 && get) {
    enum mt_format fmt = mt_negotiate(req->accept[0] ? req->accept : NULL);
    resp->content_type = mt_content_type(fmt);
    mt_render(api->metrics, fmt, &resp->body);
    return 0;
  }
  if (strcmp(path, "/api/v1/status") == 0 && get) {
    json_t *root = status_root(sv);
    if (hooks->status) hooks->status(hooks->status_arg, root);
    dump(root, &resp->body);
    return 0;
  }
  if (strcmp(path, "/api/v1/reload") == 0 && post) {
    resp->status = hooks->reload(hooks->arg, &resp->body);
    return 0;
  }
  if (strcmp(path, "/api/v1/down") == 0 && post) {
    hooks->down(hooks->arg);
    resp->status = 202;
    vg_buf_puts(&resp->body, "{\"ok\": true, \"action\": \"down\"}\n");
    return 0;
  }
  char name[128], action[32] = "";
  int parts = service_route(path, name, sizeof name, action, sizeof action);
  if (parts == 0 && get) {
    json_t *arr = json_array();
    for (size_t i = 0; i < sv_count(sv); i++) json_array_append_new(arr, service_json(sv_at(sv, i)));
    dump(arr, &resp->body);
    return 0;
  }
  if (parts >= 1) {
    const struct sv_service *svc = sv_find(sv, name);
    if (!svc) {
      char msg[200];
      snprintf(msg, sizeof msg, "no service named '%s'", name);
      error_json(resp, 404, msg);
      return 0;
    }
    if (parts == 1 && get) {
      dump(service_json(svc), &resp->body);
      return 0;
    }
    if (parts == 2 && post) {
      int rc;
      if (strcmp(action, "start") == 0) rc = sv_start(sv, name);
      else if (strcmp(action, "stop") == 0) rc = sv_stop(sv, name);
      else if (strcmp(action, "restart") == 0) rc = sv_restart(sv, name);
      else {
        error_json(resp, 404, "unknown action (use start, stop or restart)");
        return 0;
      }
      if (rc == -ESHUTDOWN) error_json(resp, 409, "vigil is shutting down");
      else ok_json(resp, action, name);
      return 0;
    }
    if (parts == 2 && get && strcmp(action, "logs") == 0) {
      char v[32];
      size_t n = 20;
      if (http_query_get(req->query, "n", v, sizeof v) == 0) {
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
      bool follow = http_query_get(req->query, "follow", v, sizeof v) == 0 &&
                    (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || v[0] == '\0');
      if (follow) {
        snprintf(follow_service, follow_len, "%s", name);
        return 1;
      }
      return 0;
    }
  }
  bool known = strcmp(path, "/api/v1/status") == 0 || strcmp(path, "/api/v1/reload") == 0 ||
               strcmp(path, "/api/v1/down") == 0 || strcmp(path, "/healthz") == 0 ||
               strcmp(path, "/readyz") == 0 || strcmp(path, "/metrics") == 0 || parts >= 0;
  error_json(resp, known ? 405 : 404, known ? "method not allowed" : "no such route");
  return 0;
}
