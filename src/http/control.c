/*
 * The control socket: a unix stream socket (mode 0600) in state_dir serving the API
 * as HTTP/1.0 — one request per connection, answered and closed, except a logs
 * follow, which stays open and streams lines until the client goes away.
 * Limits: a head of HTTP_MAX_HEAD bytes, a body of HTTP_MAX_BODY, 10 s to send the
 * request, 64 connections, 1 MiB of unsent stream before a slow follower is dropped.
 */
#include "http/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64
#define REQUEST_TIMEOUT_MS 10000
#define MAX_PENDING_STREAM (1 << 20)

struct http_control {
  uv_pipe_t server;
  uv_loop_t *loop;
  struct http_api *api;
  char *path;
  struct conn *conns;
  int n_conns;
};

struct conn {
  uv_pipe_t pipe;
  uv_timer_t timer;
  struct http_control *ctl;
  struct vg_buf in;
  size_t head_len;
  struct http_request req;
  bool handled;
  bool closing;
  long sub_id;
  size_t pending;
  struct http_job *job; /* a store route running off the loop; its answer is sent later */
  struct conn *next;
};

struct wreq {
  uv_write_t w;
  struct conn *c;
  size_t len;
  bool close_after;
  char data[];
};

static const char *reason_phrase(int status) {
  switch (status) {
  case 200: return "OK";
  case 202: return "Accepted";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 413: return "Payload Too Large";
  case 414: return "URI Too Long";
  case 431: return "Request Header Fields Too Large";
  case 501: return "Not Implemented";
  case 503: return "Service Unavailable";
  case 505: return "HTTP Version Not Supported";
  default: return "Error";
  }
}

static void conn_free_cb(uv_handle_t *h) {
  struct conn *c = h->data;
  if (h == (uv_handle_t *)&c->pipe) {
    uv_close((uv_handle_t *)&c->timer, conn_free_cb);
    return;
  }
  vg_buf_free(&c->in);
  free(c);
}

static void conn_close(struct conn *c) {
  if (c->closing) return;
  c->closing = true;
  struct http_control *ctl = c->ctl;
  if (c->sub_id > 0) sv_log_unsubscribe(ctl->api->sv, c->sub_id);
  c->sub_id = 0;
  http_job_detach(c->job);
  c->job = NULL;
  for (struct conn **pp = &ctl->conns; *pp; pp = &(*pp)->next) {
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  }
  ctl->n_conns--;
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->pipe, conn_free_cb);
}

static void write_done(uv_write_t *w, int status) {
  struct wreq *r = (struct wreq *)w;
  struct conn *c = r->c;
  c->pending -= r->len;
  if ((status < 0 || r->close_after) && !c->closing) conn_close(c);
  free(r);
}

static void conn_write(struct conn *c, const char *data, size_t len, bool close_after) {
  if (c->closing) return;
  struct wreq *r = vg_malloc(sizeof *r + len);
  memcpy(r->data, data, len);
  r->c = c;
  r->len = len;
  r->close_after = close_after;
  c->pending += len;
  uv_buf_t b = uv_buf_init(r->data, (unsigned)len);
  if (uv_write(&r->w, (uv_stream_t *)&c->pipe, &b, 1, write_done) < 0) {
    c->pending -= len;
    free(r);
    conn_close(c);
  }
}

static void send_response(struct conn *c, const struct http_response *resp, bool stream) {
  api_count(c->ctl->api, "control", resp->status);
  struct vg_buf out;
  vg_buf_init(&out);
  vg_buf_printf(&out, "HTTP/1.0 %d %s\r\nContent-Type: %s\r\n", resp->status,
                reason_phrase(resp->status), resp->content_type ? resp->content_type : "text/plain");
  if (!stream) vg_buf_printf(&out, "Content-Length: %zu\r\n", resp->body.len);
  vg_buf_puts(&out, "Connection: close\r\n\r\n");
  vg_buf_append(&out, resp->body.data ? resp->body.data : "", resp->body.len);
  conn_write(c, out.data, out.len, !stream);
  vg_buf_free(&out);
}

static void send_error(struct conn *c, int status, const char *msg) {
  struct http_response resp = {.status = status, .content_type = "application/json"};
  vg_buf_init(&resp.body);
  vg_buf_puts(&resp.body, "{\"error\": ");
  vg_buf_json_str(&resp.body, msg);
  vg_buf_puts(&resp.body, "}\n");
  send_response(c, &resp, false);
  vg_buf_free(&resp.body);
}

static void on_line(void *arg, const char *stream, const char *line, size_t len) {
  struct conn *c = arg;
  if (c->pending > MAX_PENDING_STREAM) {
    /* a follower that does not read must not make vigil hold its output */
    conn_close(c);
    return;
  }
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  struct vg_buf b;
  vg_buf_init(&b);
  char ts[32];
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  vg_buf_printf(&b, "%s.%03dZ %s ", ts, (int)(tv.tv_usec / 1000), stream);
  vg_buf_append(&b, line, len);
  vg_buf_putc(&b, '\n');
  conn_write(c, b.data, b.len, false);
  vg_buf_free(&b);
}

/* A deferred answer (job.c), back on the loop thread. */
static void job_done(void *arg, struct http_response *resp) {
  struct conn *c = arg;
  c->job = NULL;
  send_response(c, resp, false);
}

static void handle(struct conn *c) {
  c->handled = true;
  uv_timer_stop(&c->timer);
  struct http_control *ctl = c->ctl;
  struct http_response resp = {.status = 200, .defer_loop = ctl->loop, .defer_done = job_done,
                               .defer_arg = c};
  vg_buf_init(&resp.body);
  char follow[128] = "";
  const char *body = c->in.data + c->head_len;
  int stream = api_handle(ctl->api, true, &c->req, body, &resp, follow, sizeof follow);
  if (resp.job) { /* answered by job_done */
    c->job = resp.job;
    vg_buf_free(&resp.body);
    return;
  }
  send_response(c, &resp, stream == 1);
  vg_buf_free(&resp.body);
  if (stream == 1 && !c->closing) {
    long id = sv_log_subscribe(ctl->api->sv, follow, on_line, c);
    if (id > 0) c->sub_id = id;
    else conn_close(c);
  }
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct conn *c = h->data;
  vg_buf_reserve(&c->in, 4096);
  buf->base = c->in.data + c->in.len;
  buf->len = c->in.cap - c->in.len - 1;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  struct conn *c = s->data;
  if (n == UV_EOF && c->job) { /* a client that half-closed still gets its answer */
    uv_read_stop(s);
    return;
  }
  if (n < 0) {
    conn_close(c); /* EOF or error; for a follower this is how it leaves */
    return;
  }
  if (c->handled) {
    c->in.len = 0; /* whatever a follower sends is ignored */
    return;
  }
  c->in.len += (size_t)n;
  c->in.data[c->in.len] = '\0';
  if (c->head_len == 0) {
    char err[128];
    int rc = http_parse_request(c->in.data, c->in.len, &c->req, err, sizeof err);
    if (rc < 0) {
      c->handled = true;
      send_error(c, -rc, err);
      return;
    }
    if (rc == 0) return;
    c->head_len = (size_t)rc;
  }
  if (c->in.len - c->head_len >= c->req.content_length) handle(c);
}

static void timeout_cb(uv_timer_t *t) {
  struct conn *c = t->data;
  if (c->handled) return;
  c->handled = true;
  send_error(c, 408, "request not received in time");
}

static void on_connection(uv_stream_t *server, int status) {
  struct http_control *ctl = server->data;
  if (status < 0) return;
  struct conn *c = vg_calloc(1, sizeof *c);
  c->ctl = ctl;
  vg_buf_init(&c->in);
  uv_pipe_init(ctl->loop, &c->pipe, 0);
  uv_timer_init(ctl->loop, &c->timer);
  c->pipe.data = c->timer.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
    c->closing = true;
    uv_close((uv_handle_t *)&c->pipe, conn_free_cb);
    return;
  }
  c->next = ctl->conns;
  ctl->conns = c;
  ctl->n_conns++;
  if (ctl->n_conns > MAX_CONNS) {
    c->handled = true;
    send_error(c, 503, "too many connections");
    return;
  }
  uv_timer_start(&c->timer, timeout_cb, REQUEST_TIMEOUT_MS, 0);
  uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
}

int http_control_start(uv_loop_t *loop, const char *path, struct http_api *api,
                       struct http_control **out, char *err, size_t errlen) {
  struct sockaddr_un sa;
  /* room for the temporary ".new" name too */
  if (strlen(path) + 4 >= sizeof sa.sun_path) {
    snprintf(err, errlen, "control socket path too long (%zu bytes, limit %zu): %s",
             strlen(path), sizeof sa.sun_path - 5, path);
    return -ENAMETOOLONG;
  }
  struct http_control *ctl = vg_calloc(1, sizeof *ctl);
  ctl->loop = loop;
  ctl->api = api;
  ctl->path = vg_strdup(path);
  uv_pipe_init(loop, &ctl->server, 0);
  ctl->server.data = ctl;
  /* Bound and listening under a temporary name, then renamed into place: whoever sees
   * the socket file can connect at once. The caller holds the state_dir lock, so files
   * left here are stale. */
  char *tmp = vg_asprintf("%s.new", path);
  unlink(tmp);
  mode_t old = umask(0177);
  int rc = uv_pipe_bind(&ctl->server, tmp);
  umask(old);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&ctl->server, 64, on_connection);
  if (rc == 0 && (chmod(tmp, 0600) < 0 || rename(tmp, path) < 0)) rc = -errno;
  if (rc < 0) {
    snprintf(err, errlen, "cannot listen on %s: %s", path, uv_strerror(rc));
    unlink(tmp);
    free(tmp);
    uv_close((uv_handle_t *)&ctl->server, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    free(ctl->path);
    free(ctl);
    return rc;
  }
  free(tmp);
  *out = ctl;
  return 0;
}

static void server_closed(uv_handle_t *h) {
  struct http_control *ctl = h->data;
  free(ctl->path);
  free(ctl);
}

void http_control_close(struct http_control *ctl) {
  while (ctl->conns) conn_close(ctl->conns);
  unlink(ctl->path);
  uv_close((uv_handle_t *)&ctl->server, server_closed);
}
