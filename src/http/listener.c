/*
 * One HTTP/1.x server for both listeners — the control socket (unix, trusted) and TCP —
 * on vigil's libuv loop: one request per connection (answered with Connection: close),
 * heads parsed by request.c, bodies by Content-Length, answers from api.c, errors as
 * JSON {"error": ...}; a logs follow streams until the client leaves.
 *
 * Nothing a client does can keep the listener from serving others:
 *  - deadlines per connection, absolute (trickling bytes does not extend them): the
 *    head within HTTP__HEAD_TIMEOUT_MS of the accept, the body within
 *    HTTP__BODY_TIMEOUT_MS of the head, the answer written within
 *    HTTP__WRITE_TIMEOUT_MS; a late head or body gets 408;
 *  - every connection is accepted at once (the kernel's accept queue never fills); when
 *    the new one would put its client (peer address, TCP) over HTTP__CLIENT_SHARE or
 *    the listener over HTTP__MAX_CONNS, the oldest connection still sending its request
 *    (of that client, or of the client holding the most) is answered 503 and closed.
 *    When none is, the new connection is the one answered 503;
 *  - after an answer the write side is shut and what the client still sends is read and
 *    dropped for up to HTTP__LINGER_MS, so an early error reaches it intact;
 *  - the events stream (GET /api/v1/events, events.c) is long-lived: it needs the token
 *    over TCP, at most HTTP__MAX_EVENT_STREAMS are open per listener (more answer 503),
 *    so followers always leave room for requests, and a subscriber with more than
 *    HTTP__MAX_PENDING_EVENTS unsent is dropped. One timer per listener, running while
 *    someone follows, sends every subscriber the same events.
 */
#include "http/http_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum phase {
  P_HEAD,   /* reading the request head */
  P_BODY,   /* reading the body */
  P_ANSWER, /* answer being written */
  P_LINGER, /* answer written, write side shut, dropping input until EOF */
  P_STREAM, /* following a service's logs */
  P_WORK,   /* a store route runs off the loop (job.c); its answer is sent when done */
  P_EVENTS, /* following the events stream */
};

union stream {
  uv_handle_t handle;
  uv_stream_t stream;
  uv_tcp_t tcp;
  uv_pipe_t pipe;
};

struct conn {
  union stream h;
  uv_timer_t timer;
  uv_shutdown_t shut;
  struct http__listener *l;
  struct vg_buf in;
  size_t head_len;
  struct http_request req;
  enum phase phase;
  bool closing;
  long sub_id;
  size_t pending;
  struct http_job *job; /* P_WORK: the job whose answer this connection waits for */
  char peer[64]; /* the client's address over TCP; "" on the control socket */
  struct conn *prev, *next; /* in accept order, oldest first */
};

struct http__listener {
  union stream h;
  uv_loop_t *loop;
  struct http_api *api;
  bool tcp;
  struct conn *first, *last;
  int n_conns;
  uv_timer_t ev_timer; /* runs while n_events > 0 */
  struct http__events *events;
  int n_events;
  int open_handles;    /* the listening handle and the timer, until both are closed */
};

struct wreq {
  uv_write_t w;
  struct conn *c;
  size_t len;
  bool finish; /* the answer is complete: shut the write side after it */
  char data[];
};

const char *http__reason(int status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 413: return "Payload Too Large";
  case 414: return "URI Too Long";
  case 417: return "Expectation Failed";
  case 421: return "Misdirected Request";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 503: return "Service Unavailable";
  case 505: return "HTTP Version Not Supported";
  default: return "Error";
  }
}

static const char *listener_name(const struct http__listener *l) { return l->tcp ? "tcp" : "control"; }

static void conn_free_cb(uv_handle_t *h) {
  struct conn *c = h->data;
  if (h == &c->h.handle) {
    uv_close((uv_handle_t *)&c->timer, conn_free_cb);
    return;
  }
  vg_buf_free(&c->in);
  free(c);
}

static void conn_close(struct conn *c) {
  if (c->closing) return;
  c->closing = true;
  struct http__listener *l = c->l;
  if (c->sub_id > 0) sv_log_unsubscribe(l->api->sv, c->sub_id);
  c->sub_id = 0;
  if (c->phase == P_EVENTS && --l->n_events == 0) uv_timer_stop(&l->ev_timer);
  http_job_detach(c->job); /* the job finishes; its answer is dropped */
  c->job = NULL;
  if (c->prev) c->prev->next = c->next;
  else l->first = c->next;
  if (c->next) c->next->prev = c->prev;
  else l->last = c->prev;
  l->n_conns--;
  uv_timer_stop(&c->timer);
  uv_close(&c->h.handle, conn_free_cb);
}

static void timeout_cb(uv_timer_t *t);

static void arm(struct conn *c, enum phase phase, uint64_t ms) {
  c->phase = phase;
  if (ms) uv_timer_start(&c->timer, timeout_cb, ms, 0);
  else uv_timer_stop(&c->timer);
}

static void shutdown_done(uv_shutdown_t *s, int status) {
  struct conn *c = s->data;
  if (status < 0 && !c->closing) conn_close(c);
}

static void write_done(uv_write_t *w, int status) {
  struct wreq *r = (struct wreq *)w;
  struct conn *c = r->c;
  c->pending -= r->len;
  if (!c->closing) {
    if (status < 0) {
      conn_close(c);
    } else if (r->finish) {
      /* FIN, then drop what the client still sends until it closes */
      arm(c, P_LINGER, HTTP__LINGER_MS);
      c->shut.data = c;
      if (uv_shutdown(&c->shut, &c->h.stream, shutdown_done) < 0) conn_close(c);
    }
  }
  free(r);
}

static void conn_write(struct conn *c, const char *data, size_t len, bool finish) {
  if (c->closing) return;
  struct wreq *r = vg_malloc(sizeof *r + len);
  memcpy(r->data, data, len);
  r->c = c;
  r->len = len;
  r->finish = finish;
  c->pending += len;
  uv_buf_t b = uv_buf_init(r->data, (unsigned)len);
  if (uv_write(&r->w, &c->h.stream, &b, 1, write_done) < 0) {
    c->pending -= len;
    free(r);
    conn_close(c);
  }
}

/* The status line and headers; the body follows unless the request was HEAD. */
static void format_response(struct conn *c, const struct http_response *resp, bool stream,
                            struct vg_buf *out) {
  vg_buf_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n", resp->status,
                http__reason(resp->status), resp->content_type ? resp->content_type : "text/plain");
  if (!stream) vg_buf_printf(out, "Content-Length: %zu\r\n", resp->body.len);
  if (resp->allow) vg_buf_printf(out, "Allow: %s\r\n", resp->allow);
  if (resp->headers) vg_buf_puts(out, resp->headers);
  if (resp->www_authenticate) vg_buf_puts(out, "WWW-Authenticate: Bearer realm=\"vigil\"\r\n");
  vg_buf_puts(out, "Connection: close\r\n\r\n");
  if (strcmp(c->req.method, "HEAD") != 0)
    vg_buf_append(out, resp->body.data ? resp->body.data : "", resp->body.len);
}

static void send_response(struct conn *c, const struct http_response *resp, bool stream) {
  api_count(c->l->api, listener_name(c->l), resp->status);
  struct vg_buf out;
  vg_buf_init(&out);
  format_response(c, resp, stream, &out);
  if (stream) arm(c, P_STREAM, 0);
  else arm(c, P_ANSWER, HTTP__WRITE_TIMEOUT_MS);
  conn_write(c, out.data, out.len, !stream);
  vg_buf_free(&out);
}

static void error_body(struct http_response *resp, int status, const char *msg) {
  resp->status = status;
  resp->content_type = "application/json";
  vg_buf_puts(&resp->body, "{\"error\": ");
  vg_buf_json_str(&resp->body, msg);
  vg_buf_puts(&resp->body, "}\n");
}

static void send_error(struct conn *c, int status, const char *msg) {
  struct http_response resp = {0};
  vg_buf_init(&resp.body);
  error_body(&resp, status, msg);
  send_response(c, &resp, false);
  vg_buf_free(&resp.body);
}

/* Answers 503 without waiting for the client to read (it is being shed), then closes;
 * a lingering connection has had its answer and is just closed. */
static void shed(struct conn *c, const char *msg) {
  if (c->phase == P_HEAD || c->phase == P_BODY) {
    struct http_response resp = {0};
    vg_buf_init(&resp.body);
    error_body(&resp, 503, msg);
    api_count(c->l->api, listener_name(c->l), 503);
    struct vg_buf out;
    vg_buf_init(&out);
    format_response(c, &resp, false, &out);
    uv_buf_t b = uv_buf_init(out.data, (unsigned)out.len);
    uv_try_write(&c->h.stream, &b, 1);
    vg_buf_free(&out);
    vg_buf_free(&resp.body);
  }
  conn_close(c);
}

static void on_line(void *arg, const char *stream, const char *line, size_t len) {
  struct conn *c = arg;
  if (c->pending > HTTP__MAX_PENDING_STREAM) {
    /* a follower that does not read must not make vigil hold its output */
    conn_close(c);
    return;
  }
  struct vg_buf b;
  vg_buf_init(&b);
  char ts[VG_TIME_LEN];
  vg_rfc3339_format(vg_wall_ns(), 3, ts, sizeof ts);
  vg_buf_printf(&b, "%s %s ", ts, stream);
  vg_buf_append(&b, line, len);
  vg_buf_putc(&b, '\n');
  conn_write(c, b.data, b.len, false);
  vg_buf_free(&b);
}

/* Sends what changed to every subscriber of the events stream. */
static void events_cb(uv_timer_t *t) {
  struct http__listener *l = t->data;
  struct vg_buf out;
  vg_buf_init(&out);
  http__events_tick(l->events, &out);
  if (out.len) {
    struct conn *next;
    for (struct conn *c = l->first; c; c = next) {
      next = c->next; /* c may be closed below */
      if (c->phase != P_EVENTS || c->closing) continue;
      if (c->pending > HTTP__MAX_PENDING_EVENTS) conn_close(c); /* it does not read */
      else conn_write(c, out.data, out.len, false);
    }
  }
  vg_buf_free(&out);
}

/* Subscribes c to the events stream once its head is sent; 503 when the listener has
 * its share of subscribers already. */
static void events_subscribe(struct conn *c, struct http_response *resp) {
  struct http__listener *l = c->l;
  if (l->n_events >= HTTP__MAX_EVENT_STREAMS) {
    vg_buf_reset(&resp->body);
    resp->headers = NULL;
    error_body(resp, 503, "too many event streams open on this listener; poll instead");
    send_response(c, resp, false);
    return;
  }
  send_response(c, resp, true);
  if (c->closing) return;
  arm(c, P_EVENTS, 0);
  if (l->n_events++ == 0) {
    if (!l->events) l->events = http__events_new(l->api);
    uv_timer_start(&l->ev_timer, events_cb, HTTP__EVENTS_TICK_MS, HTTP__EVENTS_TICK_MS);
  }
  struct vg_buf out;
  vg_buf_init(&out);
  http__events_hello(l->api, &out);
  conn_write(c, out.data, out.len, false);
  vg_buf_free(&out);
}

/* A deferred answer (job.c), back on the loop thread. */
static void job_done(void *arg, struct http_response *resp) {
  struct conn *c = arg;
  c->job = NULL;
  send_response(c, resp, false);
}

static void handle(struct conn *c) {
  struct http__listener *l = c->l;
  struct http_response resp = {.status = 200, .defer_loop = l->loop, .defer_done = job_done,
                               .defer_arg = c};
  vg_buf_init(&resp.body);
  char follow[128] = "";
  const char *body = c->in.data + c->head_len;
  int stream = api_handle(l->api, !l->tcp, &c->req, body, &resp, follow, sizeof follow);
  if (resp.job) { /* answered by job_done; no deadline: the work is ours, not the client's */
    c->job = resp.job;
    arm(c, P_WORK, 0);
    vg_buf_free(&resp.body);
    return;
  }
  if (stream == API_EVENTS) {
    events_subscribe(c, &resp);
    vg_buf_free(&resp.body);
    return;
  }
  if (stream == 1 && strcmp(c->req.method, "HEAD") == 0) stream = 0; /* nothing to follow */
  if (stream == 1 && l->tcp) {
    vg_buf_reset(&resp.body);
    resp.allow = NULL;
    error_body(&resp, 501, "follow is served on the control socket only (vigil logs -f)");
    stream = 0;
  }
  send_response(c, &resp, stream == 1);
  vg_buf_free(&resp.body);
  if (stream == 1 && !c->closing) {
    long id = sv_log_subscribe(l->api->sv, follow, on_line, c);
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
  if (c->phase != P_HEAD && c->phase != P_BODY) {
    c->in.len = 0; /* after the request: dropped */
    return;
  }
  c->in.len += (size_t)n;
  c->in.data[c->in.len] = '\0';
  char err[160];
  size_t head_len;
  int rc = http_frame_request(c->in.data, c->in.len, &c->req, &head_len, err, sizeof err);
  if (rc < 0) {
    send_error(c, -rc, err);
    return;
  }
  c->head_len = head_len;
  if (rc > 0) {
    handle(c);
  } else if (head_len && c->phase == P_HEAD) {
    arm(c, P_BODY, HTTP__BODY_TIMEOUT_MS);
    if (c->req.expect_continue && c->req.minor == 1)
      conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25, false);
  }
}

static void timeout_cb(uv_timer_t *t) {
  struct conn *c = t->data;
  switch (c->phase) {
  case P_HEAD:
    send_error(c, 408, "request head not received within 5 s");
    break;
  case P_BODY:
    send_error(c, 408, "request body not received within 10 s");
    break;
  default:
    conn_close(c); /* the answer was not read in time, or the linger is over */
  }
}

static bool sheddable(const struct conn *c) {
  return c->phase == P_HEAD || c->phase == P_BODY || c->phase == P_LINGER;
}

static int client_count(const struct http__listener *l, const char *peer) {
  int n = 0;
  for (const struct conn *c = l->first; c; c = c->next) n += strcmp(c->peer, peer) == 0;
  return n;
}

/* The connection to drop for room: the oldest still sending its request (or lingering)
 * of peer when given, else of the client holding the most connections. */
static struct conn *victim(struct http__listener *l, const char *peer) {
  struct conn *best = NULL;
  int best_n = 0;
  for (struct conn *c = l->first; c; c = c->next) {
    if (!sheddable(c)) continue;
    if (peer) {
      if (strcmp(c->peer, peer) == 0) return c;
      continue;
    }
    int n = client_count(l, c->peer);
    if (n > best_n) best = c, best_n = n;
  }
  return best;
}

static void peer_name(struct conn *c) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&ss, &len) < 0) return;
  if (ss.ss_family == AF_INET6) uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer, sizeof c->peer);
  else if (ss.ss_family == AF_INET) uv_ip4_name((struct sockaddr_in *)&ss, c->peer, sizeof c->peer);
}

static void on_connection(uv_stream_t *server, int status) {
  struct http__listener *l = server->data;
  if (status < 0) return;
  struct conn *c = vg_calloc(1, sizeof *c);
  c->l = l;
  vg_buf_init(&c->in);
  if (l->tcp) uv_tcp_init(l->loop, &c->h.tcp);
  else uv_pipe_init(l->loop, &c->h.pipe, 0);
  uv_timer_init(l->loop, &c->timer);
  c->h.handle.data = c->timer.data = c;
  if (uv_accept(server, &c->h.stream) < 0) {
    c->closing = true;
    uv_close(&c->h.handle, conn_free_cb);
    return;
  }
  if (l->tcp) peer_name(c);
  /* make room before counting the newcomer in */
  if (l->tcp && client_count(l, c->peer) >= HTTP__CLIENT_SHARE) {
    struct conn *v = victim(l, c->peer);
    if (v) shed(v, "too many connections from this client; this one was the oldest waiting");
  }
  if (l->n_conns >= HTTP__MAX_CONNS) {
    struct conn *v = victim(l, NULL);
    if (v) shed(v, "too many connections; this one was the oldest waiting");
  }
  c->prev = l->last;
  if (l->last) l->last->next = c;
  else l->first = c;
  l->last = c;
  l->n_conns++;
  if (l->n_conns > HTTP__MAX_CONNS ||
      (l->tcp && client_count(l, c->peer) > HTTP__CLIENT_SHARE)) {
    shed(c, "too many connections");
    return;
  }
  arm(c, P_HEAD, HTTP__HEAD_TIMEOUT_MS);
  if (uv_read_start(&c->h.stream, alloc_cb, read_cb) < 0) conn_close(c);
}

struct http__listener *http__listener_new(uv_loop_t *loop, struct http_api *api, bool tcp) {
  struct http__listener *l = vg_calloc(1, sizeof *l);
  l->loop = loop;
  l->api = api;
  l->tcp = tcp;
  if (tcp) uv_tcp_init(loop, &l->h.tcp);
  else uv_pipe_init(loop, &l->h.pipe, 0);
  l->h.handle.data = l;
  uv_timer_init(loop, &l->ev_timer);
  l->ev_timer.data = l;
  l->open_handles = 2;
  return l;
}

uv_stream_t *http__listener_stream(struct http__listener *l) { return &l->h.stream; }

int http__listener_listen(struct http__listener *l) {
  return uv_listen(&l->h.stream, HTTP__BACKLOG, on_connection);
}

static void listener_closed(uv_handle_t *h) {
  struct http__listener *l = h->data;
  if (--l->open_handles > 0) return;
  http__events_free(l->events);
  free(l);
}

void http__listener_close(struct http__listener *l) {
  while (l->first) conn_close(l->first);
  uv_close((uv_handle_t *)&l->ev_timer, listener_closed);
  uv_close(&l->h.handle, listener_closed);
}
