/*
 * Output capture: a service's stdout and stderr arrive through pipes on the loop and
 * are split into lines. Each line goes to vigil's own log (prefixed with the service
 * name), to the service's log file (rotated by size), to live followers (vigil logs
 * -f) and to a log readiness probe.
 */
#include "supervise/sv_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Longer lines are cut into pieces of this size, so one runaway line costs bounded memory. */
#define MAX_LINE 16384

static void rotate(struct sv_service *svc) {
  int keep = svc->def->log.keep;
  close(svc->log_fd);
  svc->log_fd = -1;
  if (keep <= 0) {
    unlink(svc->log_path);
  } else {
    for (int i = keep - 1; i >= 1; i--) {
      char *from = vg_asprintf("%s.%d", svc->log_path, i);
      char *to = vg_asprintf("%s.%d", svc->log_path, i + 1);
      rename(from, to);
      free(from);
      free(to);
    }
    char *to = vg_asprintf("%s.1", svc->log_path);
    rename(svc->log_path, to);
    free(to);
  }
  svc->log_fd = open(svc->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  svc->log_size = 0;
}

void sv__logfile_open(struct sv_service *svc) {
  if (!svc->log_path) svc->log_path = vg_asprintf("%s/%s.log", svc->sv->log_dir, svc->name);
  svc->log_fd = open(svc->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (svc->log_fd < 0) {
    VG_ERROR("cannot open service log file", VF_S("service", svc->name),
             VF_S("path", svc->log_path), VF_S("error", strerror(errno)));
    vg_freep(&svc->log_path);
    return;
  }
  struct stat st;
  svc->log_size = fstat(svc->log_fd, &st) == 0 ? st.st_size : 0;
}

void sv__logfile_idle(struct sv_service *svc) {
  /* a service about to restart (backoff, or a relaunch at once) keeps it: reopening at
   * every restart would cost a restart an open() */
  if (svc->streams || svc->pid > 0 || svc->log_fd < 0) return;
  if (svc->fsm != SV_F_STOPPED && svc->fsm != SV_F_FATAL) return;
  close(svc->log_fd);
  svc->log_fd = -1;
}

void sv__logfile_close(struct sv_service *svc) {
  if (svc->log_fd >= 0) close(svc->log_fd);
  svc->log_fd = -1;
  vg_freep(&svc->log_path);
}

static void write_file(struct sv_service *svc, const char *stream, const char *line, size_t len) {
  if (svc->log_fd < 0) return;
  char head[64];
  size_t h = vg_rfc3339_format(vg_wall_ns(), 3, head, sizeof head);
  h += (size_t)snprintf(head + h, sizeof head - h, " %s ", stream);
  struct iovec iov[3] = {{head, h}, {(void *)line, len}, {"\n", 1}};
  ssize_t n = writev(svc->log_fd, iov, 3);
  if (n > 0) svc->log_size += n;
  if (svc->log_size >= svc->def->log.max_bytes) rotate(svc);
}

static void emit_line(struct sv__stream *st, const char *line, size_t len) {
  struct sv_service *svc = st->svc;
  if (len > 0 && line[len - 1] == '\r') len--;
  if (svc->def->log.echo) {
    char *copy = vg_strndup(line, len);
    vg_log(VG_LOG_INFO, copy, VF_S("service", svc->name), VF_S("stream", st->name), VF_END);
    free(copy);
  }
  write_file(svc, st->name, line, len);
  /* a follower may unsubscribe itself from its callback (a slow reader is dropped) */
  for (struct sv__log_sub *s = svc->sv->subs, *next; s; s = next) {
    next = s->next;
    if (strcmp(s->service, svc->name) == 0) s->fn(s->arg, st->name, line, len);
  }
  sv__probe_log_line(svc, line, len);
}

static void stream_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct sv__stream *st = h->data;
  vg_buf_reserve(&st->line, 4096);
  buf->base = st->line.data + st->line.len;
  buf->len = st->line.cap - st->line.len - 1;
}

static void stream_closed(uv_handle_t *h) {
  struct sv__stream *st = h->data;
  vg_buf_free(&st->line);
  free(st);
}

static void stream_close(struct sv__stream *st) {
  if (st->svc) {
    struct sv__stream **pp = &st->svc->streams;
    while (*pp && *pp != st) pp = &(*pp)->next;
    if (*pp) *pp = st->next;
    sv__logfile_idle(st->svc);
  }
  st->svc = NULL;
  uv_close((uv_handle_t *)&st->pipe, stream_closed);
}

static void stream_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  struct sv__stream *st = s->data;
  if (n > 0) {
    st->line.len += (size_t)n;
    st->line.data[st->line.len] = '\0';
    size_t start = 0;
    for (;;) {
      char *nl = memchr(st->line.data + start, '\n', st->line.len - start);
      if (!nl) break;
      size_t len = (size_t)(nl - (st->line.data + start));
      if (st->svc) emit_line(st, st->line.data + start, len);
      start += len + 1;
    }
    if (st->line.len - start >= MAX_LINE) {
      if (st->svc) emit_line(st, st->line.data + start, st->line.len - start);
      start = st->line.len;
    }
    vg_buf_consume(&st->line, start);
    return;
  }
  if (n == 0) return;
  /* EOF or error: flush the unterminated tail, then this stream is done */
  if (st->line.len && st->svc) emit_line(st, st->line.data, st->line.len);
  vg_buf_reset(&st->line);
  stream_close(st);
}

int sv__stream_open(struct sv_service *svc, const char *name) {
  /* A previous run's streams may still be draining: they stay attached until EOF, so
   * the last lines of a crashed run (often the reason it crashed) are not lost. */
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return -1;
  struct sv__stream *st = vg_calloc(1, sizeof *st);
  st->svc = svc;
  st->name = name;
  vg_buf_init(&st->line);
  uv_pipe_init(svc->sv->loop, &st->pipe, 0);
  st->pipe.data = st;
  if (uv_pipe_open(&st->pipe, fds[0]) < 0) {
    close(fds[0]);
    close(fds[1]);
    uv_close((uv_handle_t *)&st->pipe, stream_closed);
    errno = EIO;
    return -1;
  }
  uv_read_start((uv_stream_t *)&st->pipe, stream_alloc, stream_read);
  st->next = svc->streams;
  svc->streams = st;
  return fds[1];
}

void sv__streams_close(struct sv_service *svc) {
  while (svc->streams) stream_close(svc->streams);
}
