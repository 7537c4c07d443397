/*
 * The API over TCP on http.listen: the same server as the control socket (listener.c)
 * on a TCP socket, on the loop thread. Over TCP, api.c asks for the bearer token on
 * every route but /healthz, /readyz and /metrics, and refuses a Host that is not this
 * server's (DNS rebinding). Log following is served on the control socket only.
 */
#include "http/http_int.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct http_server {
  struct http__listener *l;
};

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
  struct http__listener *l = http__listener_new(loop, api, true);
  int rc = uv_tcp_bind((uv_tcp_t *)http__listener_stream(l), res->ai_addr, 0);
  freeaddrinfo(res);
  if (rc == 0) rc = http__listener_listen(l);
  if (rc < 0) {
    snprintf(err, errlen, "cannot listen on %s:%d: %s%s", host, port, uv_strerror(rc),
             rc == UV_EADDRNOTAVAIL ? " (not an address of this host)" : "");
    http__listener_close(l);
    uv_run(loop, UV_RUN_NOWAIT);
    return rc;
  }
  struct http_server *s = vg_calloc(1, sizeof *s);
  s->l = l;
  *out = s;
  return 0;
}

void http_server_close(struct http_server *s) {
  http__listener_close(s->l);
  free(s);
}
