/*
 * The control socket: a unix stream socket (mode 0600) in state_dir serving the API
 * (listener.c) to whoever may open it — its file mode is the gate, so every route is
 * open there. Limits and deadlines are the listener's (docs/api.md).
 */
#include "http/http_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct http_control {
  struct http__listener *l;
  char *path;
};

int http_control_start(uv_loop_t *loop, const char *path, struct http_api *api,
                       struct http_control **out, char *err, size_t errlen) {
  struct sockaddr_un sa;
  /* room for the temporary ".new" name too */
  if (strlen(path) + 4 >= sizeof sa.sun_path) {
    snprintf(err, errlen, "control socket path too long (%zu bytes, limit %zu): %s",
             strlen(path), sizeof sa.sun_path - 5, path);
    return -ENAMETOOLONG;
  }
  struct http__listener *l = http__listener_new(loop, api, false);
  /* Bound and listening under a temporary name, then renamed into place: whoever sees
   * the socket file can connect at once. The caller holds the state_dir lock, so files
   * left here are stale. */
  char *tmp = vg_asprintf("%s.new", path);
  unlink(tmp);
  mode_t old = umask(0177);
  int rc = uv_pipe_bind((uv_pipe_t *)http__listener_stream(l), tmp);
  umask(old);
  if (rc == 0) rc = http__listener_listen(l);
  if (rc == 0 && (chmod(tmp, 0600) < 0 || rename(tmp, path) < 0)) rc = -errno;
  if (rc < 0) {
    snprintf(err, errlen, "cannot listen on %s: %s", path, uv_strerror(rc));
    unlink(tmp);
    free(tmp);
    http__listener_close(l);
    uv_run(loop, UV_RUN_NOWAIT);
    return rc;
  }
  free(tmp);
  struct http_control *c = vg_calloc(1, sizeof *c);
  c->l = l;
  c->path = vg_strdup(path);
  *out = c;
  return 0;
}

void http_control_close(struct http_control *c) {
  http__listener_close(c->l);
  unlink(c->path);
  free(c->path);
  free(c);
}
