/*
 * http — vigil's API over HTTP/1.x, served by one small server (listener.c) on two
 * listeners: the control socket (a unix socket, mode 0600, in state_dir) that the CLI
 * verbs talk to, and TCP on http.listen, where the Host must name this server and every
 * route but /healthz, /readyz, /metrics and the page (/, /assets/...) needs the bearer
 * token. Every route returns JSON except /healthz, /metrics, the logs, the events stream
 * and the page. docs/api.md documents the routes, the limits and the JSON shapes.
 */
#ifndef VIGIL_HTTP_H
#define VIGIL_HTTP_H

#include <stddef.h>
#include <uv.h>

#include "core/core.h"
#include "metrics/metrics.h"
#include "supervise/supervise.h"

/* ---- request parsing (request.c) ---- */
#define HTTP_MAX_HEAD 8192
#define HTTP_MAX_BODY (1 << 20)
#define HTTP_MAX_HEADERS 64

struct http_request {
  char method[16];
  char path[512];  /* decoded path, without the query */
  char query[512]; /* raw query string, without '?' */
  int minor;       /* HTTP/1.minor */
  size_t content_length;
  char authorization[256];
  char accept[256];
  char host[256];       /* the Host header as sent, "" when absent */
  bool expect_continue; /* Expect: 100-continue */
};

/* Parses a request head from buf[0..len). Returns the length of the head (> 0) once
 * complete, 0 when more bytes are needed, or a negative HTTP status (-400, -413, -414,
 * -431, -501, -505) with a reason in err. A request line that is already wrong is
 * refused as soon as it arrives, before the rest of the head. Never reads past len. */
int http_parse_request(const char *buf, size_t len, struct http_request *req, char *err,
                       size_t errlen);

/* Frames one request (head and Content-Length body) in buf[0..len): returns its whole
 * length (> 0) once all of it is in, 0 when more bytes are needed, or a negative status
 * as http_parse_request does. *head_len is set (else 0) once the head is in; req is
 * filled from the head. Bytes past the request are not looked at. */
int http_frame_request(const char *buf, size_t len, struct http_request *req, size_t *head_len,
                       char *err, size_t errlen);

/* Finds name in a query string (a=1&b=2) and copies its decoded value. 0 or -1. */
int http_query_get(const char *query, const char *name, char *out, size_t outlen);

/* ---- what the daemon lends the API ---- */
struct http_hooks {
  /* Re-reads the config; fills out with the JSON answer; returns an HTTP status. */
  int (*reload)(void *arg, struct vg_buf *out);
  /* Begins the shutdown of the whole stack. */
  void (*down)(void *arg);
  void *arg;
  /* Optional: adds to the status document root (a json_t *), e.g. the feeds. */
  void (*status)(void *arg, void *root);
  void *status_arg;
  /* Optional: the alerts for the events stream, as GET /api/v1/alerts answers them (a
   * new json_t * the caller frees), or NULL. */
  void *(*alerts)(void *arg);
  void *alerts_arg;
  /* Optional: GET /api/v1/compute/grid (docs/api.md): fills out with the JSON answer
   * for the query string; returns an HTTP status. Without it the route answers 404. */
  int (*compute_grid)(void *arg, const char *query, struct vg_buf *out);
  void *compute_arg;
  /* Optional (failover): action "status" (GET /api/v1/failover) or "switchover" (POST
   * /api/v1/failover/switchover, body: {"to": NODE} or empty); fills out with JSON and
   * returns an HTTP status. NULL: the routes answer 404. */
  int (*failover)(void *arg, const char *action, const char *body, struct vg_buf *out);
  void *failover_arg;
};

/* ---- routes (api.c) ---- */
struct http_job;
struct http_response {
  int status;
  const char *content_type;
  struct vg_buf body;
  bool www_authenticate; /* a 401: ask for a bearer token */
  const char *allow;     /* a 405: the methods the path takes (static), else NULL */
  const char *headers;   /* more header lines, each ending in CRLF (static), or NULL */
  /* Answers given later (job.c): a transport that can wait sets defer_loop, defer_done
   * and defer_arg; a route with long work (the store's) then runs it on the loop's
   * thread pool, sets job and leaves the rest alone; the answer reaches defer_done on
   * the loop thread. A transport whose requester leaves calls http_job_detach(job). */
  uv_loop_t *defer_loop;
  void (*defer_done)(void *arg, struct http_response *resp);
  void *defer_arg;
  struct http_job *job;
};

/* ---- work off the loop thread (job.c) ---- */
/* Runs run(arg, resp) on loop's thread pool (resp: status 200, JSON, empty body), then,
 * on the loop thread, done(done_arg, resp) — done may take resp->body (leaving it
 * initialised) — and free_arg(arg). Returns the job, for http_job_detach. */
struct http_job *http_job_submit(uv_loop_t *loop, void (*run)(void *arg, struct http_response *resp),
                                 void *arg, void (*free_arg)(void *arg),
                                 void (*done)(void *done_arg, struct http_response *resp),
                                 void *done_arg);
/* The requester went away: the job finishes, its answer is dropped. */
void http_job_detach(struct http_job *j);

/* Everything the routes read or act on; shared by every transport. */
struct tsdb;
struct ingest_target;
struct cache;
struct mon;
struct http_api {
  struct sv_supervisor *sv;
  struct tsdb *store;     /* NULL when the store is disabled */
  /* the daemon's ingest pipeline (the store, the sinks, the latest-value hook), through
   * which /write and import go; NULL: the store alone */
  const struct ingest_target *ingest;
  struct cache *cache;    /* the latest-value cache; NULL: its routes answer 503 */
  struct mon *monitor;    /* the monitor; NULL: its routes answer 404, /readyz ignores it */
  struct http_hooks hooks;
  struct mt_registry *metrics;
  const char *token_file; /* bearer token for TCP calls (all but the scrapers'); NULL: refused */
  struct mt_family *requests; /* vigil_http_requests_total{listener,code} */
};

/* Registers the API's own metrics in api->metrics. */
void api_init_metrics(struct http_api *api);
/* Registers the same family in r without an API: no series (the list of every metric
 * vigil can expose, src/export/families.c). */
void api_metrics_describe(struct mt_registry *r);

/* What api_handle asks of the transport besides sending resp. */
enum { API_ANSWER = 0, API_FOLLOW_LOGS = 1, API_EVENTS = 2 };

/* Serves one request: finds its route in the table (404, or 405 with resp->allow).
 * trusted: it came on the control socket, whose file mode already decides who may
 * connect; otherwise (TCP) the Host must name this server (421) and every route but
 * /healthz, /readyz, /metrics and the page's (/, /assets/...) needs the bearer token
 * (401/403). Returns API_FOLLOW_LOGS when the request asks to follow a service's logs
 * (GET /api/v1/services/{name}/logs?follow=1): the caller streams; the head and the
 * backlog are already in resp. API_EVENTS when it opens the events stream (GET
 * /api/v1/events, events.c): the caller sends resp's head and subscribes the
 * connection. Otherwise API_ANSWER. */
int api_handle(struct http_api *api, bool trusted, const struct http_request *req,
               const char *body, struct http_response *resp, char *follow_service,
               size_t follow_len);
/* Counts a finished request for vigil_http_requests_total. */
void api_count(struct http_api *api, const char *listener, int status);

/* Checks that a token file exists, is a regular file no one else may read, and holds
 * a token. 0, or -1 with a message in err. */
int api_check_token_file(const char *path, char *err, size_t errlen);

/* The status document shared by /api/v1/status and `vigil status --json`. */
void api_status_json(struct sv_supervisor *sv, struct vg_buf *out);

/* Appends the last n lines of path (and its rotated predecessor path.1) to out. */
void api_tail_file(const char *path, size_t n, struct vg_buf *out);

/* ---- control socket (control.c): every route, no token ---- */
struct http_control;
int http_control_start(uv_loop_t *loop, const char *path, struct http_api *api,
                       struct http_control **out, char *err, size_t errlen);
/* Stops listening, drops every connection, unlinks the socket. */
void http_control_close(struct http_control *c);

/* ---- HTTP over TCP (server.c): the same server on a TCP socket ---- */
struct http_server;
/* Listens on host:port. The server holds a pointer to api. 0, or -errno with a
 * message in err. */
int http_server_start(uv_loop_t *loop, const char *host, int port, struct http_api *api,
                      struct http_server **out, char *err, size_t errlen);
void http_server_close(struct http_server *s);

#endif
