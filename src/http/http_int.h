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

#endif
