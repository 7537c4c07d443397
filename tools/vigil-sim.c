/*
 * vigil-sim: a stand-in for a pipeline process, used by the demo and the tests.
 * Each option adds one behaviour, so a config can build a feed handler that becomes
 * ready after a while, a bot that pings a watchdog, or a process that crashes,
 * hangs, ignores SIGTERM or leaves grandchildren behind.
 *
 *   --ready-after DUR     wait before becoming "ready" (listening, notifying, printing)
 *   --listen PORT         accept TCP connections on 127.0.0.1:PORT once ready
 *   --http PORT           serve HTTP on 127.0.0.1:PORT once ready (status --http-status)
 *   --http-status N       status code the HTTP server answers (default 200)
 *   --notify              send READY=1 on $NOTIFY_SOCKET once ready
 *   --say TEXT            print TEXT on stdout once ready
 *   --watchdog DUR        send WATCHDOG=1 every DUR
 *   --hang-after DUR      stop everything (pings, output) after DUR, as a hung process
 *   --exit-after DUR      exit after DUR with --exit-code (default 1)
 *   --crash-after DUR     abort() after DUR
 *   --ignore-term         ignore SIGTERM
 *   --grandchildren N     fork N children that sleep forever
 *   --escape              grandchildren leave the process group (setsid)
 *   --tick DUR            print a heartbeat line every DUR
 *   --stamp FILE          append "PID MONOTONIC_NS" to FILE at start
 * DUR: 250ms, 2s, 1m.
 */
#include <stddef.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long dur(const char *s) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || v < 0) goto bad;
  if (strcmp(end, "ms") == 0) return (long long)v;
  if (strcmp(end, "s") == 0 || *end == '\0') return (long long)(v * 1000);
  if (strcmp(end, "m") == 0) return (long long)(v * 60000);
bad:
  fprintf(stderr, "vigil-sim: bad duration '%s'\n", s);
  exit(2);
}

static void sd_send(const char *msg) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (!path || !*path) return;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  size_t len = strlen(path);
  if (len >= sizeof sa.sun_path) return;
  memcpy(sa.sun_path, path, len);
  if (sa.sun_path[0] == '@') sa.sun_path[0] = '\0';
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa,
             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
    fprintf(stderr, "vigil-sim: notify: %s\n", strerror(errno));
  close(fd);
}

static int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0) {
    fprintf(stderr, "vigil-sim: cannot listen on port %d: %s\n", port, strerror(errno));
    exit(1);
  }
  return fd;
}

int main(int argc, char **argv) {
  long long ready_after = 0, watchdog = 0, hang_after = -1, exit_after = -1, crash_after = -1;
  long long tick = 0;
  int listen_port = 0, http_port = 0, http_status = 200, exit_code = 1, grandchildren = 0;
  int notify = 0, ignore_term = 0, escape = 0;
  const char *say = NULL, *stamp = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && (v || (fprintf(stderr, "vigil-sim: %s needs a value\n", name), exit(2), 0)) && ++i)
    if (OPT("--ready-after")) ready_after = dur(v);
    else if (OPT("--listen")) listen_port = atoi(v);
    else if (OPT("--http")) http_port = atoi(v);
    else if (OPT("--http-status")) http_status = atoi(v);
    else if (strcmp(a, "--notify") == 0) notify = 1;
    else if (OPT("--say")) say = v;
    else if (OPT("--watchdog")) watchdog = dur(v);
    else if (OPT("--hang-after")) hang_after = dur(v);
    else if (OPT("--exit-after")) exit_after = dur(v);
    else if (OPT("--exit-code")) exit_code = atoi(v);
    else if (OPT("--crash-after")) crash_after = dur(v);
    else if (strcmp(a, "--ignore-term") == 0) ignore_term = 1;
    else if (OPT("--grandchildren")) grandchildren = atoi(v);
    else if (strcmp(a, "--escape") == 0) escape = 1;
    else if (OPT("--tick")) tick = dur(v);
    else if (OPT("--stamp")) stamp = v;
    else {
      fprintf(stderr, "vigil-sim: unknown option '%s' (see the comment at the top of tools/vigil-sim.c)\n", a);
      return 2;
    }
#undef OPT
  }
  if (stamp) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char line[64];
    int n = snprintf(line, sizeof line, "%d %lld\n", (int)getpid(),
                     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    int fd = open(stamp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      if (write(fd, line, (size_t)n) < 0) perror("vigil-sim: stamp");
      close(fd);
    }
  }
  if (ignore_term) signal(SIGTERM, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 0; i < grandchildren; i++) {
    pid_t p = fork();
    if (p == 0) {
      if (escape) setsid();
      signal(SIGTERM, SIG_IGN); /* only a SIGKILL gets rid of them */
      for (;;) pause();
    }
  }
  long long start = now_ms(), ready_at = start + ready_after, next_ping = start, next_tick = start + tick;
  int ready = 0, lfd = -1, hfd = -1;
  for (;;) {
    long long t = now_ms();
    int hung = hang_after >= 0 && t - start >= hang_after;
    if (exit_after >= 0 && t - start >= exit_after) {
      printf("vigil-sim: exiting with code %d\n", exit_code);
      return exit_code;
    }
    if (crash_after >= 0 && t - start >= crash_after) {
      fprintf(stderr, "vigil-sim: crashing on purpose\n");
      abort();
    }
    if (!ready && t >= ready_at) {
      ready = 1;
      if (listen_port) lfd = listen_on(listen_port);
      if (http_port) hfd = listen_on(http_port);
      if (notify) sd_send("READY=1\nSTATUS=serving");
      if (say) printf("%s\n", say);
    }
    if (watchdog && !hung && t >= next_ping) {
      sd_send("WATCHDOG=1");
      next_ping = t + watchdog;
    }
    if (tick && !hung && t >= next_tick) {
      printf("tick %lld ms\n", t - start);
      next_tick = t + tick;
    }
    struct pollfd pfd[2] = {{lfd, POLLIN, 0}, {hfd, POLLIN, 0}};
    if (poll(pfd, 2, 20) > 0) {
      if (lfd >= 0 && (pfd[0].revents & POLLIN)) {
        int c = accept(lfd, NULL, NULL);
        if (c >= 0) close(c);
      }
      if (hfd >= 0 && (pfd[1].revents & POLLIN)) {
        int c = accept(hfd, NULL, NULL);
        if (c >= 0) {
          char buf[1024];
          if (read(c, buf, sizeof buf) >= 0) {
            char resp[128];
            int n = snprintf(resp, sizeof resp, "HTTP/1.0 %d X\r\nContent-Length: 3\r\n\r\nok\n", http_status);
            if (write(c, resp, (size_t)n) < 0) perror("vigil-sim: http");
          }
          close(c);
        }
      }
    }
  }
}
