/*
 * Readiness probes: is a starting service ready yet?
 *   tcp    — a connect to host:port succeeds
 *   http   — GET url answers 2xx
 *   exec   — a command exits 0
 *   log    — a line of the service's output matches a regex
 *   notify — the service sends READY=1 (notify.c feeds it here)
 *   fresh  — a cache key or document was updated within a time (asked through the
 *            daemon's sv_fresh_fn: the supervisor does not link the cache)
 * tcp, http, exec and fresh are retried every interval until the readiness timeout (a state
 * timer owned by fsm.c) gives up. Each attempt is a small heap object that outlives a
 * cancelled probe until libuv has closed its handle.
 */
#include "supervise/sv_int.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

struct probe_conn {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  struct sv_service *svc; /* NULL once the probe was cancelled */
  char request[512];
  char reply[256];
  size_t reply_len;
};

static void schedule_next(struct sv_service *svc);

/* How long one attempt may take before it counts as failed and the next one starts:
 * ten intervals, at least a second, never more than the readiness timeout. */
static uint64_t attempt_budget_ms(const struct cfg_probe *p) {
  int64_t t = p->interval_ms * 10;
  if (t < 1000) t = 1000;
  if (t > p->timeout_ms) t = p->timeout_ms;
  return (uint64_t)t;
}

static void attempt_expired(uv_timer_t *t);

static void set_error(struct sv_service *svc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_error(struct sv_service *svc, const char *fmt, ...) {
  free(svc->probe.last_error);
  struct vg_buf b;
  vg_buf_init(&b);
  va_list ap;
  va_start(ap, fmt);
  vg_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  svc->probe.last_error = b.data;
}

/* Splits "host:port" / "[v6]:port" and resolves it (numeric or /etc/hosts names). */
static int resolve(const char *host, const char *port, struct sockaddr_storage *ss,
                   char *err, size_t errlen) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
  int rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0) {
    snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
    return -1;
  }
  memcpy(ss, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return 0;
}

/* Parses the probe target into host, port and (for http) path. */
static int target_parts(const struct cfg_probe *p, char *host, size_t hlen, char *port,
                        size_t plen, char *path, size_t pathlen) {
  const char *s = p->target;
  snprintf(path, pathlen, "/");
  if (p->kind == CFG_PROBE_HTTP) {
    if (strncmp(s, "http://", 7) != 0) return -1;
    s += 7;
    const char *slash = strchr(s, '/');
    if (slash) snprintf(path, pathlen, "%s", slash);
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    char hostport[300];
    snprintf(hostport, sizeof hostport, "%.*s", (int)n, s);
    char *colon = strrchr(hostport, ':');
    if (colon && !strchr(colon, ']')) {
      *colon = '\0';
      snprintf(port, plen, "%s", colon + 1);
    } else {
      snprintf(port, plen, "80");
    }
    s = hostport;
    if (*s == '[') {
      snprintf(host, hlen, "%.*s", (int)(strlen(s) - 2), s + 1);
    } else {
      snprintf(host, hlen, "%s", s);
    }
    return 0;
  }
  const char *colon = strrchr(s, ':');
  if (!colon) return -1;
  if (*s == '[' && colon > s + 1 && colon[-1] == ']')
    snprintf(host, hlen, "%.*s", (int)(colon - s - 2), s + 1);
  else
    snprintf(host, hlen, "%.*s", (int)(colon - s), s);
  snprintf(port, plen, "%s", colon + 1);
  return 0;
}

static void conn_closed(uv_handle_t *h) { free(h->data); }

static void conn_finish(struct probe_conn *c, bool ready) {
  struct sv_service *svc = c->svc;
  if (svc) svc->probe.tcp = NULL;
  c->svc = NULL;
  uv_close((uv_handle_t *)&c->tcp, conn_closed);
  if (!svc) return;
  svc->probe.step = SV_PROBE_IDLE;
  if (ready) sv__dispatch(svc, SV_EV_READY);
  else schedule_next(svc);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct probe_conn *c = h->data;
  buf->base = c->reply + c->reply_len;
  buf->len = sizeof c->reply - 1 - c->reply_len;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  struct probe_conn *c = s->data;
  if (!c->svc) return;
  if (n < 0) {
    set_error(c->svc, "no HTTP status line (%s)", uv_strerror((int)n));
    conn_finish(c, false);
    return;
  }
  c->reply_len += (size_t)n;
  c->reply[c->reply_len] = '\0';
  char *eol = strstr(c->reply, "\r\n");
  if (!eol && c->reply_len < sizeof c->reply - 1) return;
  int major, minor, code;
  if (sscanf(c->reply, "HTTP/%d.%d %d", &major, &minor, &code) != 3) {
    set_error(c->svc, "not an HTTP reply");
    conn_finish(c, false);
    return;
  }
  if (code >= 200 && code < 300) {
    conn_finish(c, true);
    return;
  }
  set_error(c->svc, "HTTP %d", code);
  conn_finish(c, false);
}

static void write_cb(uv_write_t *w, int status) {
  struct probe_conn *c = w->data;
  if (!c->svc) return;
  if (status < 0) {
    set_error(c->svc, "write: %s", uv_strerror(status));
    conn_finish(c, false);
  }
}

static void connect_cb(uv_connect_t *req, int status) {
  struct probe_conn *c = req->data;
  if (!c->svc) return; /* cancelled: the close is already under way */
  if (status < 0) {
    set_error(c->svc, "%s", uv_strerror(status));
    conn_finish(c, false);
    return;
  }
  if (c->svc->def->ready.kind == CFG_PROBE_TCP) {
    conn_finish(c, true);
    return;
  }
  c->svc->probe.step = SV_PROBE_WAIT_REPLY;
  uv_buf_t b = uv_buf_init(c->request, (unsigned)strlen(c->request));
  c->write.data = c;
  uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, write_cb);
  uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

static void attempt_connect(struct sv_service *svc) {
  char host[256], port[16], path[256], err[200];
  struct sockaddr_storage ss;
  if (target_parts(&svc->def->ready, host, sizeof host, port, sizeof port, path, sizeof path) < 0) {
    set_error(svc, "bad target");
    schedule_next(svc);
    return;
  }
  if (resolve(host, port, &ss, err, sizeof err) < 0) {
    set_error(svc, "%s", err);
    schedule_next(svc);
    return;
  }
  struct probe_conn *c = vg_calloc(1, sizeof *c);
  c->svc = svc;
  c->tcp.data = c;
  c->connect.data = c;
  snprintf(c->request, sizeof c->request,
           "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: vigil/" VIGIL_VERSION
           "\r\nConnection: close\r\n\r\n",
           path, host, port);
  uv_tcp_init(svc->sv->loop, &c->tcp);
  svc->probe.tcp = &c->tcp;
  svc->probe.step = SV_PROBE_CONNECTING;
  int rc = uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&ss, connect_cb);
  if (rc < 0) {
    set_error(svc, "%s", uv_strerror(rc));
    conn_finish(c, false);
    return;
  }
  uv_timer_start(&svc->probe_timer, attempt_expired, attempt_budget_ms(&svc->def->ready), 0);
}

static void exec_done(void *arg, pid_t pid, int status) {
  struct sv_service *svc = arg;
  svc->probe.exec_pid = 0;
  svc->probe.step = SV_PROBE_IDLE;
  if (svc->state != SV_STARTING) return;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    sv__dispatch(svc, SV_EV_READY);
    return;
  }
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
    set_error(svc, "probe did not finish within %.3gs", (double)attempt_budget_ms(&svc->def->ready) / 1000.0);
  else if (WIFSIGNALED(status)) set_error(svc, "probe killed by SIG%s", sigabbrev_np(WTERMSIG(status)));
  else set_error(svc, "probe exited with code %d", WEXITSTATUS(status));
  schedule_next(svc);
}

static void attempt_exec(struct sv_service *svc) {
  char err[256];
  struct sv__spawn_req req = {.argv = svc->def->ready.argv, .cwd = svc->def->cwd,
                              .stdout_fd = -2, .stderr_fd = -2, .new_session = true};
  if (sv__resolve_ids(svc->def, &req, err, sizeof err) < 0) {
    set_error(svc, "%s", err);
    schedule_next(svc);
    return;
  }
  req.envp = sv__build_env(svc, NULL);
  VG_ASSERT(pthread_equal(pthread_self(), svc->sv->loop_thread));
  pid_t pid = sv__spawn(&req, err, sizeof err);
  vg_strv_free(req.envp);
  if (pid < 0) {
    set_error(svc, "%s", err);
    schedule_next(svc);
    return;
  }
  if (err[0]) set_error(svc, "%s", err);
  svc->probe.exec_pid = pid;
  svc->probe.step = SV_PROBE_EXEC;
  sv__child_watch(svc->sv, pid, exec_done, svc);
  uv_timer_start(&svc->probe_timer, attempt_expired, attempt_budget_ms(&svc->def->ready), 0);
}

/* An attempt that hangs (a server that accepts but never answers, a stuck command)
 * fails after its budget so the next one gets its chance. */
static void attempt_expired(uv_timer_t *t) {
  struct sv_service *svc = t->data;
  double secs = (double)attempt_budget_ms(&svc->def->ready) / 1000.0;
  if (svc->probe.tcp) {
    set_error(svc, "no answer within %.3gs", secs);
    conn_finish(svc->probe.tcp->data, false);
  } else if (svc->probe.exec_pid > 0) {
    /* exec_done sees the kill and schedules the next attempt */
    kill(-svc->probe.exec_pid, SIGKILL);
  }
}

static void attempt_fresh(struct sv_service *svc) {
  const struct cfg_probe *p = &svc->def->ready;
  if (!svc->sv->fresh_fn) {
    set_error(svc, "no cache to ask whether %s is fresh", p->target);
    schedule_next(svc);
    return;
  }
  double age = svc->sv->fresh_fn(svc->sv->fresh_arg, p->target);
  if (age >= 0 && age * 1000.0 <= (double)p->within_ms) {
    sv__dispatch(svc, SV_EV_READY);
    return;
  }
  if (age < 0) set_error(svc, "%s is not in the cache yet", p->target);
  else set_error(svc, "%s is %.3gs old, wants at most %.3gs", p->target, age, (double)p->within_ms / 1000.0);
  schedule_next(svc);
}

static void attempt(uv_timer_t *t) {
  struct sv_service *svc = t->data;
  if (svc->state != SV_STARTING) return;
  svc->probe.attempts++;
  switch (svc->def->ready.kind) {
  case CFG_PROBE_TCP:
  case CFG_PROBE_HTTP: attempt_connect(svc); break;
  case CFG_PROBE_EXEC: attempt_exec(svc); break;
  case CFG_PROBE_FRESH: attempt_fresh(svc); break;
  default: break;
  }
}

static void schedule_next(struct sv_service *svc) {
  if (svc->state != SV_STARTING) return;
  svc->probe_timer.data = svc;
  uv_timer_start(&svc->probe_timer, attempt, (uint64_t)svc->def->ready.interval_ms, 0);
}

void sv__probe_start(struct sv_service *svc) {
  const struct cfg_probe *p = &svc->def->ready;
  svc->probe.attempts = 0;
  vg_freep(&svc->probe.last_error);
  switch (p->kind) {
  case CFG_PROBE_TCP:
  case CFG_PROBE_HTTP:
  case CFG_PROBE_EXEC:
  case CFG_PROBE_FRESH:
    svc->probe_timer.data = svc;
    uv_timer_start(&svc->probe_timer, attempt, 0, 0);
    break;
  case CFG_PROBE_LOG:
    if (!svc->probe.log_re_ok) {
      /* validated by config; compiled once per definition */
      svc->probe.log_re_ok = regcomp(&svc->probe.log_re, p->target, REG_EXTENDED | REG_NOSUB) == 0;
    }
    if (!svc->def->log.capture) set_error(svc, "log probe needs log.capture: true");
    break;
  case CFG_PROBE_NOTIFY:
  case CFG_PROBE_NONE: break;
  }
}

void sv__probe_stop(struct sv_service *svc) {
  uv_timer_stop(&svc->probe_timer);
  if (svc->probe.tcp) {
    struct probe_conn *c = svc->probe.tcp->data;
    c->svc = NULL;
    svc->probe.tcp = NULL;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
  }
  if (svc->probe.exec_pid > 0) {
    /* forget it first: the orphan is reaped anonymously, never calls back */
    sv__child_forget(svc->sv, svc->probe.exec_pid);
    kill(-svc->probe.exec_pid, SIGKILL);
    svc->probe.exec_pid = 0;
  }
  svc->probe.step = SV_PROBE_IDLE;
}

void sv__probe_forget_regex(struct sv_service *svc) {
  if (svc->probe.log_re_ok) regfree(&svc->probe.log_re);
  svc->probe.log_re_ok = false;
}

void sv__probe_log_line(struct sv_service *svc, const char *line, size_t len) {
  if (svc->state != SV_STARTING || svc->def->ready.kind != CFG_PROBE_LOG || !svc->probe.log_re_ok)
    return;
  char buf[4096];
  size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
  memcpy(buf, line, n);
  buf[n] = '\0';
  if (regexec(&svc->probe.log_re, buf, 0, NULL, 0) == 0) sv__dispatch(svc, SV_EV_READY);
}

void sv__probe_notify_ready(struct sv_service *svc) {
  if (svc->state == SV_STARTING && svc->def->ready.kind == CFG_PROBE_NOTIFY)
    sv__dispatch(svc, SV_EV_READY);
}
