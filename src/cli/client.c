/* The verbs that talk to a running daemon over its control socket (HTTP/1.0 over a
 * unix socket; `curl --unix-socket STATE_DIR/vigil.sock http://vigil/api/v1/status`
 * speaks the same). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/core.h"
#include "core/file.h"

char *cli_socket_path(const struct cli *cli, const struct vg_config *cfg) {
  if (cli->socket) return vg_strdup(cli->socket);
  return vg_asprintf("%s/vigil.sock", cfg->state_dir);
}

/* Where a 200's body streams to: a file descriptor, or a function. */
struct sink {
  int fd;
  cli_write_fn fn;
  void *arg;
};

static bool streams(const struct sink *out) { return out->fd >= 0 || out->fn; }

static int emit(const struct sink *out, const char *p, size_t n) {
  return out->fn ? out->fn(out->arg, p, n) : vg_write_all(out->fd, p, n);
}

static int request(const struct cli *cli, const char *method, const char *path, const void *body,
                   size_t body_len, const struct sink *out, bool quiet_absent,
                   struct cli_reply *reply);

int cli_request(const struct cli *cli, const char *method, const char *path, int stream_fd,
                struct cli_reply *reply) {
  return cli_request_ex(cli, method, path, NULL, 0, stream_fd, false, reply);
}

int cli_request_to(const struct cli *cli, const char *method, const char *path, cli_write_fn fn,
                   void *arg, struct cli_reply *reply) {
  struct sink out = {.fd = -1, .fn = fn, .arg = arg};
  return request(cli, method, path, NULL, 0, &out, false, reply);
}

int cli_request_ex(const struct cli *cli, const char *method, const char *path, const void *body,
                   size_t body_len, int stream_fd, bool quiet_absent, struct cli_reply *reply) {
  struct sink out = {.fd = stream_fd};
  return request(cli, method, path, body, body_len, &out, quiet_absent, reply);
}

char *cli_daemon_socket(const struct cli *cli, bool print_errors) {
  if (cli->socket) return vg_strdup(cli->socket);
  /* lenient on purpose: a daemon must stay reachable while its file is being edited */
  struct cfg_diags d;
  cfg_diags_init(&d);
  char *state_dir = cfg_load_state_dir(cli->config, &d);
  if (!state_dir && print_errors) cfg_diags_print(&d, cli->config, stderr);
  cfg_diags_free(&d);
  if (!state_dir) return NULL;
  char *sock = vg_asprintf("%s/vigil.sock", state_dir);
  free(state_dir);
  return sock;
}

static int request(const struct cli *cli, const char *method, const char *path, const void *body,
                   size_t body_len, const struct sink *out, bool quiet_absent,
                   struct cli_reply *reply) {
  memset(reply, 0, sizeof *reply);
  char *sock = cli_daemon_socket(cli, true);
  if (!sock) return -2;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (quiet_absent && fd >= 0 && (errno == ENOENT || errno == ECONNREFUSED)) {
      close(fd);
      free(sock);
      return -3;
    }
    fprintf(stderr, "vigil: no daemon answers on %s: %s (is `vigil up` running?)\n", sock,
            strerror(errno));
    if (fd >= 0) close(fd);
    free(sock);
    return -1;
  }
  free(sock);
  char *req = vg_asprintf("%s %s HTTP/1.0\r\nHost: vigil\r\nContent-Length: %zu\r\n\r\n",
                          method, path, body_len);
  int rc = vg_write_all(fd, req, strlen(req));
  free(req);
  if (rc == 0 && body_len) rc = vg_write_all(fd, body, body_len);
  if (rc < 0) {
    fprintf(stderr, "vigil: cannot send request: %s\n", strerror(errno));
    close(fd);
    return -1;
  }
  struct vg_buf b;
  vg_buf_init(&b);
  size_t head = 0;
  char chunk[8192];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    vg_buf_append(&b, chunk, (size_t)n);
    if (!head) {
      char *end = strstr(b.data, "\r\n\r\n");
      if (!end) continue;
      head = (size_t)(end - b.data) + 4;
      sscanf(b.data, "HTTP/1.%*d %d", &reply->status);
      if (streams(out) && reply->status == 200) {
        if (emit(out, b.data + head, b.len - head) < 0) break;
        vg_buf_consume(&b, b.len);
        head = 1; /* head seen; everything further is body */
      }
    } else if (streams(out) && reply->status == 200) {
      if (emit(out, b.data, b.len) < 0) break;
      vg_buf_consume(&b, b.len);
    }
  }
  close(fd);
  if (!reply->status) {
    fprintf(stderr, "vigil: the daemon closed the connection without an answer\n");
    vg_buf_free(&b);
    return -1;
  }
  if (streams(out) && reply->status == 200) {
    vg_buf_free(&b);
    return 0;
  }
  vg_buf_consume(&b, head);
  reply->body = b.data ? b.data : vg_strdup("");
  reply->len = b.len;
  return 0;
}

void cli_reply_free(struct cli_reply *r) { vg_freep(&r->body); }

void cli_url_param(struct vg_buf *b, const char *key, const char *v) {
  if (!v) return;
  vg_buf_printf(b, "%c%s=", strchr((char *)b->data, '?') ? '&' : '?', key);
  for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        strchr("-_.~", *p))
      vg_buf_putc(b, (char)*p);
    else
      vg_buf_printf(b, "%%%02X", *p);
  }
}
