/*
 * The sd_notify protocol, served to services: each service that asks for it (ready:
 * notify, or a watchdog) gets its own datagram socket, $NOTIFY_SOCKET, in
 * state_dir/run/notify/. A socket per service means no sender credentials need
 * checking: the file's owner and mode (0600) say who may talk.
 * Understood: READY=1, WATCHDOG=1, WATCHDOG=trigger, STATUS=..., STOPPING=1.
 */
#include "supervise/sv_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void handle_line(struct sv_service *svc, const char *line, size_t len) {
  if (len == 7 && memcmp(line, "READY=1", 7) == 0) {
    sv__probe_notify_ready(svc);
  } else if (len == 10 && memcmp(line, "WATCHDOG=1", 10) == 0) {
    sv__watchdog_ping(svc);
  } else if (len == 16 && memcmp(line, "WATCHDOG=trigger", 16) == 0) {
    if (svc->state == SV_STARTING || svc->state == SV_READY) sv__dispatch(svc, SV_EV_WATCHDOG);
  } else if (len >= 7 && memcmp(line, "STATUS=", 7) == 0) {
    free(svc->status_text);
    svc->status_text = vg_strndup(line + 7, len - 7 > 512 ? 512 : len - 7);
  } else if (len == 10 && memcmp(line, "STOPPING=1", 10) == 0) {
    VG_INFO("service says it is stopping", VF_S("service", svc->name));
  }
}

static void on_readable(uv_poll_t *h, int status, int events) {
  struct sv_service *svc = h->data;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(svc->notify_fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) break;
    if (svc->pid <= 0) continue; /* from a run that is over: ignored */
    size_t off = 0;
    while (off < (size_t)n) {
      const char *nl = memchr(buf + off, '\n', (size_t)n - off);
      size_t len = nl ? (size_t)(nl - (buf + off)) : (size_t)n - off;
      handle_line(svc, buf + off, len);
      off += len + 1;
    }
  }
}

bool sv__needs_notify(const struct cfg_service *def) {
  return def->ready.kind == CFG_PROBE_NOTIFY || def->watchdog_ms > 0;
}

/* The socket, once made, lives as long as the service: a reload that drops the need
 * only stops advertising it (sv__build_env), so a later reload can use it again. */
int sv__notify_open(struct sv_service *svc, char *err, size_t errlen) {
  struct sv_supervisor *sv = svc->sv;
  char *dir = vg_asprintf("%s/notify", sv->run_dir);
  vg_mkdir_p(dir, 0711);
  char *path = vg_asprintf("%s/%s", dir, svc->name);
  free(dir);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) {
    snprintf(err, errlen, "notify socket path too long (%zu bytes, limit %zu): shorten state_dir",
             strlen(path), sizeof sa.sun_path - 1);
    free(path);
    return -ENAMETOOLONG;
  }
  memcpy(sa.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    snprintf(err, errlen, "socket: %s", strerror(errno));
    free(path);
    return -errno;
  }
  unlink(path);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    snprintf(err, errlen, "bind %s: %s", path, strerror(e));
    close(fd);
    free(path);
    return -e;
  }
  chmod(path, 0600);
  struct sv__spawn_req ids = {0};
  char ignored[64];
  if (sv__resolve_ids(svc->def, &ids, ignored, sizeof ignored) == 0 && ids.set_ids &&
      chown(path, ids.uid, ids.gid) < 0)
    VG_WARN("cannot hand the notify socket to the service's user", VF_S("service", svc->name),
            VF_S("error", strerror(errno)));
  svc->notify_fd = fd;
  svc->notify_path = path;
  uv_poll_init(sv->loop, &svc->notify_poll, fd);
  svc->notify_poll.data = svc;
  uv_poll_start(&svc->notify_poll, UV_READABLE, on_readable);
  return 0;
}

void sv__notify_drain(struct sv_service *svc) {
  if (svc->notify_fd < 0) return;
  char buf[512];
  while (recv(svc->notify_fd, buf, sizeof buf, MSG_DONTWAIT) >= 0) {
  }
}

static void poll_closed(uv_handle_t *h) {
  struct sv_service *svc = h->data;
  close(svc->notify_fd);
  svc->notify_fd = -1;
  sv__handle_closed(h);
}

void sv__notify_close(struct sv_service *svc) {
  if (svc->notify_fd < 0) return;
  unlink(svc->notify_path);
  vg_freep(&svc->notify_path);
  svc->pending_closes++;
  uv_close((uv_handle_t *)&svc->notify_poll, poll_closed);
}
