/*
 * bench_zmq_sink: the limit of bench/ingest — a bare ZeroMQ PULL (or SUB) socket that
 * receives COUNT messages and does nothing with them, then prints how fast they came:
 *
 *   bench_zmq_sink pull|sub ENDPOINT COUNT     (binds ENDPOINT)
 *   -> messages=N bytes=N seconds=S rate=N rate1=N rate2=N
 *
 * The clock starts at the first message, so start-up does not count; rate1 and rate2
 * are the rates of the first and the second half of the messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 4 || (strcmp(argv[1], "pull") != 0 && strcmp(argv[1], "sub") != 0)) {
    fprintf(stderr, "usage: bench_zmq_sink pull|sub ENDPOINT COUNT\n");
    return 2;
  }
  long long count = atoll(argv[3]);
  void *ctx = zmq_ctx_new();
  void *s = zmq_socket(ctx, strcmp(argv[1], "sub") == 0 ? ZMQ_SUB : ZMQ_PULL);
  int hwm = 1000000, rcvbuf = 4 << 20;
  zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
  zmq_setsockopt(s, ZMQ_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (strcmp(argv[1], "sub") == 0) zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
  if (zmq_bind(s, argv[2]) < 0) {
    fprintf(stderr, "bench_zmq_sink: cannot bind %s: %s\n", argv[2], zmq_strerror(zmq_errno()));
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  static char buf[1 << 20];
  long long n = 0, bytes = 0, half = count / 2;
  double t0 = 0, th = 0;
  while (n < count) {
    int r = zmq_recv(s, buf, sizeof buf, 0);
    if (r < 0) continue;
    if (n == 0) t0 = now();
    n++;
    if (n == half) th = now();
    bytes += r;
  }
  double t1 = now(), secs = t1 - t0;
  printf("messages=%lld bytes=%lld seconds=%.3f rate=%.0f rate1=%.0f rate2=%.0f\n", n, bytes,
         secs, (double)(n - 1) / secs, (double)(half - 1) / (th - t0),
         (double)(n - half) / (t1 - th));
  zmq_close(s);
  zmq_ctx_term(ctx);
  return 0;
}
