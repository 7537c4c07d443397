/*
 * The API over TCP: libmicrohttpd without threads of its own, driven from vigil's
 * libuv loop through its epoll fd (uv_poll) and its timeout (uv_timer), so every route
 * runs on the loop thread and touches supervisor state without locks.
 *
 * Limits: 64 connections, 10 s idle timeout, 32 KiB of memory per connection (a larger
 * request head gets 431 from libmicrohttpd), 64 headers, a 1 MiB body (413). State
 * changes need the bearer token (api.c). Log following is served on the control
 * socket only.
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct http_server {
  uv_loop_t *loop;
  struct MHD_Daemon *mhd;
  uv_poll_t poll;
  uv_timer_t timer;
  struct http_api *api;
  int closing;
  struct req_state *suspended; /* requests whose answer a job (job.c) will give */
};

/* Per-request state, kept by libmicrohttpd between the calls of one request. */
struct req_state {
  struct vg_buf body;
  bool too_large;
  /* a deferred answer: the connection is suspended until the job is done */
  struct http_server *s;
  struct MHD_Connection *conn;
  struct http_job *job;
  bool answered;
  struct http_response answer;
  struct req_state *next_suspended;
};

static void schedule(struct http_server *s);

static void run_mhd(struct http_server *s) {
  MHD_run(s->mhd);
  schedule(s);
}

static void on_poll(uv_poll_t *h, int status, int events) { run_mhd(h->data); }
static void on_timer(uv_timer_t *t) { run_mhd(t->data); }

/* libmicrohttpd says when it next needs to run even without I/O (timeouts). */
static void schedule(struct http_server *s) {
  MHD_UNSIGNED_LONG_LONG ms;
  if (MHD_get_timeout(s->mhd, &ms) == MHD_YES) uv_timer_start(&s->timer, on_timer, ms, 0);
  else uv_timer_stop(&s->timer);
}

static enum MHD_Result queue(struct MHD_Connection *conn, struct http_server *s,
                             struct http_response *resp) {
  struct MHD_Response *r = MHD_create_response_from_buffer(
      resp->body.len, resp->body.data ? resp->body.data : "", MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                          resp->content_type ? resp->content_type : "text/plain");
  if (resp->www_authenticate)
    MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"vigil\"");
  enum MHD_Result rc = MHD_queue_response(conn, (unsigned)resp->status, r);
  MHD_destroy_response(r);
  api_count(s->api, "tcp", resp->status);
  return rc;
}

static enum MHD_Result queue_error(struct MHD_Connection *conn, struct http_server *s,
                                   int status, const char *msg) {
  struct http_response resp = {.status = status, .content_type = "application/json"};
  vg_buf_init(&resp.body);
  vg_buf_puts(&resp.body, "{\"error\": ");
  vg_buf_json_str(&resp.body, msg);
  vg_buf_puts(&resp.body, "}\n");
  enum MHD_Result rc = queue(conn, s, &resp);
  vg_buf_free(&resp.body);
  return rc;
}

struct query_builder {
  struct vg_buf *b;
};

static void put_encoded(struct vg_buf *b, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        *p == '-' || *p == '_' || *p == '.' || *p == '~')
      vg_buf_putc(b, (char)*p);
    else
      vg_buf_printf(b, "%%%02X", *p);
  }
}

/* libmicrohttpd hands the query decoded, key by key; the routes read a query string. */
static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value) {
  struct vg_buf *b = cls;
  if (b->len) vg_buf_putc(b, '&');
  put_encoded(b, key);
  if (value) {
    vg_buf_putc(b, '=');
    put_encoded(b, value);
  }
  return MHD_YES;
}

static void unlist_suspended(struct req_state *st) {
  for (struct req_state **pp = &st->s->suspended; *pp; pp = &(*pp)->next_suspended)
    if (*pp == st) {
      *pp = st->next_suspended;
      break;
    }
}

/* Gives a suspended request its answer and lets libmicrohttpd call the handler again. */
static void resume_with(struct req_state *st, struct http_response *resp) {
  st->job = NULL;
  st->answered = true;
  st->answer = *resp;
  vg_buf_init(&resp->body); /* the body is ours now */
  unlist_suspended(st);
  MHD_resume_connection(st->conn);
}

/* A deferred answer (job.c), back on the loop thread. */
static void job_done(void *arg, struct http_response *resp) {
  struct req_state *st = arg;
  struct http_server *s = st->s;
  resume_with(st, resp);
  run_mhd(s);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version,
                               const char *upload_data, size_t *upload_size, void **con_cls) {
  struct http_server *s = cls;
  struct req_state *st = *con_cls;
  if (!st) {
    /* first call: the head is in; refuse early what breaks a limit */
    st = vg_calloc(1, sizeof *st);
    vg_buf_init(&st->body);
    *con_cls = st;
    if (MHD_get_connection_values(conn, MHD_HEADER_KIND, NULL, NULL) > HTTP_MAX_HEADERS)
      return queue_error(conn, s, 431, "too many headers");
    return MHD_YES;
  }
  if (*upload_size) {
    if (st->body.len + *upload_size > HTTP_MAX_BODY) st->too_large = true;
    else vg_buf_append(&st->body, upload_data, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  if (st->too_large) return queue_error(conn, s, 413, "request body too large");
  if (st->answered) return queue(conn, s, &st->answer); /* resumed: the job's answer */

  struct http_request req;
  memset(&req, 0, sizeof req);
  if (strlen(method) >= sizeof req.method) return queue_error(conn, s, 501, "unknown method");
  snprintf(req.method, sizeof req.method, "%s", method);
  if (url[0] != '/' || strlen(url) >= sizeof req.path)
    return queue_error(conn, s, strlen(url) >= sizeof req.path ? 414 : 400, "bad path");
  snprintf(req.path, sizeof req.path, "%s", url);
  if (strstr(req.path, "/..") || strstr(req.path, "//"))
    return queue_error(conn, s, 400, "path must not contain '..' or '//'");
  struct vg_buf q;
  vg_buf_init(&q);
  MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_arg, &q);
  if (q.len >= sizeof req.query) {
    vg_buf_free(&q);
    return queue_error(conn, s, 414, "query too long");
  }
  if (q.len) memcpy(req.query, q.data, q.len + 1);
  vg_buf_free(&q);
  const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  if (h) snprintf(req.authorization, sizeof req.authorization, "%s", h);
  h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
  if (h) snprintf(req.accept, sizeof req.accept, "%s", h);
  req.content_length = st->body.len;

  struct http_response resp = {.status = 200, .defer_loop = s->loop, .defer_done = job_done,
                               .defer_arg = st};
  vg_buf_init(&resp.body);
  char follow[128];
  st->s = s;
  st->conn = conn;
  int rc = api_handle(s->api, false, &req, st->body.data ? st->body.data : "", &resp, follow,
                      sizeof follow);
  if (resp.job) { /* answered once job_done resumes the connection */
    st->job = resp.job;
    st->next_suspended = s->suspended;
    s->suspended = st;
    MHD_suspend_connection(conn);
    vg_buf_free(&resp.body);
    return MHD_YES;
  }
  enum MHD_Result out;
  if (rc == 1) out = queue_error(conn, s, 501, "follow is served on the control socket only (vigil logs -f)");
  else out = queue(conn, s, &resp);
  vg_buf_free(&resp.body);
  return out;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
  struct req_state *st = *con_cls;
  if (!st) return;
  http_job_detach(st->job);
  vg_buf_free(&st->body);
  vg_buf_free(&st->answer.body);
  free(st);
  *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap) {
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_vprintf(&b, fmt, ap);
  while (b.len && b.data[b.len - 1] == '\n') b.data[--b.len] = '\0';
  VG_DEBUG("http server", VF_S("detail", b.data));
  vg_buf_free(&b);
}

int http_server_start(uv_loop_t *loop, const char *host, int port, struct http_api *api,
                      struct http_server **out, char *err, size_t errlen) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_NUMERICSERV}, *res;
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", port);
  int gai = getaddrinfo(host, portstr, &hints, &res);
  if (gai != 0) {
    snprintf(err, errlen, "cannot resolve listen address %s: %s", host, gai_strerror(gai));
    return -EINVAL;
  }
  struct http_server *s = vg_calloc(1, sizeof *s);
  s->loop = loop;
  s->api = api;
  unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
  if (res->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
  s->mhd = MHD_start_daemon(
      flags, (uint16_t)port, NULL, NULL, handler, s,
      MHD_OPTION_SOCK_ADDR, res->ai_addr,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
      MHD_OPTION_NOTIFY_COMPLETED, completed, s,
      MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
      MHD_OPTION_END);
  freeaddrinfo(res);
  if (!s->mhd) {
    snprintf(err, errlen, "cannot listen on %s:%d (address in use, or not an address of this host)",
             host, port);
    free(s);
    return -EADDRINUSE;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
  uv_poll_init(loop, &s->poll, info->epoll_fd);
  uv_timer_init(loop, &s->timer);
  s->poll.data = s->timer.data = s;
  uv_poll_start(&s->poll, UV_READABLE, on_poll);
  schedule(s);
  *out = s;
  return 0;
}

static void closed(uv_handle_t *h) {
  struct http_server *s = h->data;
  if (--s->closing == 0) free(s);
}

void http_server_close(struct http_server *s) {
  uv_poll_stop(&s->poll);
  uv_timer_stop(&s->timer);
  /* libmicrohttpd must not stop with suspended connections: answer them, drop the jobs */
  while (s->suspended) {
    struct req_state *st = s->suspended;
    http_job_detach(st->job);
    struct http_response r = {.status = 503, .content_type = "application/json"};
    vg_buf_init(&r.body);
    vg_buf_puts(&r.body, "{\"error\": \"vigil is shutting down\"}\n");
    resume_with(st, &r);
  }
  /* stop libmicrohttpd (closing its epoll fd) only after libuv lets go of the fd */
  MHD_stop_daemon(s->mhd);
  s->mhd = NULL;
  s->closing = 2;
  uv_close((uv_handle_t *)&s->poll, closed);
  uv_close((uv_handle_t *)&s->timer, closed);
}
