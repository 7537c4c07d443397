/* http_int — what the two listeners share inside src/http/: one HTTP/1.x server
 * (listener.c) over a libuv stream, a unix socket for the control socket (control.c)
 * or TCP (server.c). */
#ifndef VIGIL_HTTP_INT_H
#define VIGIL_HTTP_INT_H

#include "http/http.h"

/* Limits of every listener (docs/api.md). */
#define HTTP__MAX_CONNS 64          /* connections at once */
#define HTTP__CLIENT_SHARE 48       /* of them, from one client address (TCP) */
#define HTTP__HEAD_TIMEOUT_MS 5000  /* accept -> whole request head */
#define HTTP__BODY_TIMEOUT_MS 10000 /* head -> whole body */
#define HTTP__WRITE_TIMEOUT_MS 10000 /* answer -> written (else the client is dropped) */
#define HTTP__LINGER_MS 2000        /* after the answer, before closing anyway */
#define HTTP__MAX_PENDING_STREAM (1 << 20) /* unsent log-follow output */
#define HTTP__BACKLOG 511

struct http__listener;

/* A listener for api over a unix socket (tcp false: trusted, every route open) or TCP
 * (tcp true: token and Host checks apply, api.c). The caller binds the returned stream
 * (http__listener_stream) and then calls http__listener_listen. */
struct http__listener *http__listener_new(uv_loop_t *loop, struct http_api *api, bool tcp);
uv_stream_t *http__listener_stream(struct http__listener *l);
/* Starts accepting. 0 or a negative libuv error. */
int http__listener_listen(struct http__listener *l);
/* Drops every connection and closes the listening handle; frees l once libuv lets go. */
void http__listener_close(struct http__listener *l);

/* The reason phrase of an HTTP status. */
const char *http__reason(int status);

/* ---- the events stream (events.c; GET /api/v1/events) ---- */
#define HTTP__MAX_EVENT_STREAMS 16      /* per listener; more answer 503 */
#define HTTP__EVENTS_TICK_MS 250        /* how often changes are looked for */
#define HTTP__MAX_PENDING_EVENTS (256 << 10) /* unsent events: the subscriber is dropped */
struct http__events;
struct http__events *http__events_new(struct http_api *api);
void http__events_free(struct http__events *ev);
/* The first event a new subscriber gets: the whole status document. */
void http__events_hello(struct http_api *api, struct vg_buf *out);
/* Appends to out what changed since the last tick (nothing when nothing did). */
void http__events_tick(struct http__events *ev, struct vg_buf *out);

/* ---- shared by api.c and events.c (json_t * as void *) ---- */
void *api__service_json(const struct sv_service *svc);
/* The status document with the hooks' additions (the feeds). */
void *api__status_doc(struct http_api *api);

/* ---- the page's assets, embedded at build time (web.c, web_assets.c) ---- */
struct http__asset {
  const char *path; /* "/assets/app.js" */
  const unsigned char *data;
  size_t len;
};
extern const struct http__asset http__assets[];
extern const size_t http__n_assets;
/* Serves GET / and /assets/NAME (resp untouched: returns 0 when path is none of them). */
int http__web_serve(const char *path, struct http_response *resp);

#endif
