/*
 * vigil-feed: a synthetic market-data publisher for the demo, the tests and the
 * benchmarks. It sends ticks for N symbols — a random walk of price and size, with a
 * sequence number per symbol — as InfluxDB line protocol or JSON over a ZeroMQ PUB or
 * PUSH socket, at a given rate, and injects faults on demand (malformed messages,
 * sequence gaps, pauses, bursts). At exit it prints what it sent:
 *
 *   sent=MESSAGES points=POINTS bad=MALFORMED gaps=GAPS missed=MISSED checksum=0x...
 *
 * The checksum is the sum (mod 2^64) over every field value sent of XXH3-64 of its
 * canonical bytes, seeded with its series' (ingest_point_checksum, defined in
 * src/ingest/ingest.h): vigil-feed decodes each message it builds with vigil's own
 * decoder and adds up the checksums of the points, so the number is the one a feed
 * reports for what it wrote (`vigil status --json`: feeds[].checksum) and the one a
 * query of the store recomputes (every field of every series of the measurement,
 * ingest_value_checksum over its points).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "ingest/ingest.h"

static const char usage[] =
    "usage: vigil-feed (--bind|--connect) ENDPOINT [options]\n"
    "\n"
    "  --bind ENDPOINT       bind the socket (tcp://127.0.0.1:5558, ipc:///tmp/x)\n"
    "  --connect ENDPOINT    connect it instead (repeatable with either)\n"
    "  --socket pub|push     socket type (default push); pub waits for a subscriber\n"
    "  --topic T             send [T, payload] multipart messages (default: one frame)\n"
    "  --rate N              messages per second; 0 = as fast as possible (default 1000)\n"
    "  --count N             messages to send, then exit; 0 = until SIGTERM (default 0)\n"
    "  --duration DUR        stop after DUR (250ms, 10s, 2m) even before --count\n"
    "  --symbols N           symbols, round robin (default 10)\n"
    "  --prefix P            symbol names P0001, P0002, ... (default S)\n"
    "  --names A,B,...       symbol names given instead (sets --symbols; up to 15 bytes each)\n"
    "  --measurement NAME    (default ticks)\n"
    "  --format line|json    payload format (default line); JSON objects are\n"
    "                        {\"measurement\":M,\"sym\":S,\"price\":F,\"size\":I,\"seq\":I,\"time\":NS}\n"
    "                        (a feed maps them with json: {tags: [sym], ints: [size, seq]})\n"
    "  --lines N             points per message (default 1)\n"
    "  --start-ts NS         timestamp of the first point (default: now); each point\n"
    "                        is 1 us after the one before, so no two collide\n"
    "  --seed N              random walk seed (default 1)\n"
    "faults:\n"
    "  --gap-every N         every Nth message skips --gap-size sequence numbers\n"
    "  --gap-size N          (default 1)\n"
    "  --bad-every N         every Nth message is malformed (cycling through kinds)\n"
    "  --pause-every N       after every Nth message, sleep --pause\n"
    "  --pause DUR           (default 1s)\n"
    "  --burst-every N       every Nth message starts a burst of --burst messages\n"
    "  --burst N             sent as fast as possible, whatever --rate (default 1000)\n"
    "  --note-bytes N        every point also has a string field note of N bytes\n"
    "                        (over 4096 the store refuses it)\n"
    "others:\n"
    "  --wait DUR            pub: how long to wait for a subscriber (default 30s)\n"
    "  --no-checksum         skip the checksum (the benchmarks' publishers)\n"
    "  --quiet               no summary line\n"
    "\n"
    "At exit: sent=N points=N bad=N gaps=N missed=N checksum=0x... (see the top of\n"
    "tools/vigil-feed.c for how the checksum is computed and recomputed from the store).\n";

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) { stop_flag = 1; }

static uint64_t now_ns(clockid_t clk) {
  struct timespec ts;
  clock_gettime(clk, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t dur_ns(const char *s) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || v < 0) goto bad;
  if (strcmp(end, "ms") == 0) return (int64_t)(v * 1e6);
  if (strcmp(end, "s") == 0 || *end == '\0') return (int64_t)(v * 1e9);
  if (strcmp(end, "m") == 0) return (int64_t)(v * 60e9);
bad:
  fprintf(stderr, "vigil-feed: bad duration '%s'\n", s);
  exit(2);
}

static long long num(const char *s, const char *opt) {
  char *end;
  long long v = strtoll(s, &end, 10);
  if (end == s || *end || v < 0) {
    fprintf(stderr, "vigil-feed: %s needs a number >= 0, not '%s'\n", opt, s);
    exit(2);
  }
  return v;
}

static uint64_t rng_state = 1;
static uint64_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}

/* Appends v in decimal to p, two digits at a time; returns the end. */
static char *put_u64(char *p, uint64_t v) {
  static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                              "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                              "8081828384858687888990919293949596979899";
  char tmp[24];
  int n = 24;
  while (v >= 100) {
    unsigned d = (unsigned)(v % 100) * 2;
    v /= 100;
    tmp[--n] = pairs[d + 1];
    tmp[--n] = pairs[d];
  }
  if (v >= 10) {
    tmp[--n] = pairs[v * 2 + 1];
    tmp[--n] = pairs[v * 2];
  } else {
    tmp[--n] = (char)('0' + v);
  }
  memcpy(p, tmp + n, (size_t)(24 - n));
  return p + (24 - n);
}

/* Appends v (< 100000) as exactly five digits. */
static char *put_5digits(char *p, uint64_t v) {
  for (int k = 4; k >= 0; k--, v /= 10) p[k] = (char)('0' + v % 10);
  return p + 5;
}

struct sym {
  char name[16];
  size_t len;
  int64_t price; /* in 1e-5 */
  int64_t seq;
};

struct sum {
  uint64_t points, checksum;
};

static void on_point(void *arg, struct ingest_batch *b, const struct tsdb_point *p,
                     const struct ingest_error *err) {
  struct sum *s = arg;
  if (p) {
    s->points++;
    s->checksum += ingest_point_checksum(p);
  }
  if (ingest_batch_full(b)) ingest_batch_reset(b);
}

static const char *const bad_kinds[] = {
    "ticks,sym=BAD price=", "ticks,sym=BAD", "ticks,sym=BAD price=1.2.3", "ticks,sym=BAD s=\"open",
    "ticks,sym=BAD price=1 12x", "\xff\xfe not utf-8",
};
static const char *const bad_json[] = {
    "{\"measurement\":", "{\"sym\":\"BAD\"}", "[1,2]", "{\"measurement\":\"ticks\",\"price\":[1]}",
};

int main(int argc, char **argv) {
  const char *endpoints[16];
  bool binds[16];
  size_t n_eps = 0;
  int socket_type = ZMQ_PUSH;
  const char *topic = NULL, *measurement = "ticks", *prefix = "S", *names = NULL;
  double rate = 1000;
  long long count = 0, symbols = 10, lines = 1, gap_every = 0, gap_size = 1, bad_every = 0,
            pause_every = 0, burst_every = 0, burst = 1000, note_bytes = 0;
  int64_t pause_ns = 1000000000, wait_ns = 30000000000LL, duration_ns = 0, start_ts = -1;
  bool json = false, checksum = true, quiet = false;
  enum {
    O_BIND = 256, O_CONNECT, O_SOCKET, O_TOPIC, O_RATE, O_COUNT, O_DURATION, O_SYMBOLS, O_PREFIX,
    O_MEAS, O_FORMAT, O_LINES, O_START, O_SEED, O_GAP_EVERY, O_GAP_SIZE, O_BAD_EVERY,
    O_PAUSE_EVERY, O_PAUSE, O_BURST_EVERY, O_BURST, O_WAIT, O_NO_SUM, O_QUIET, O_NOTE, O_NAMES, O_HELP
  };
  static const struct option opts[] = {
      {"bind", required_argument, 0, O_BIND},        {"connect", required_argument, 0, O_CONNECT},
      {"socket", required_argument, 0, O_SOCKET},    {"topic", required_argument, 0, O_TOPIC},
      {"rate", required_argument, 0, O_RATE},        {"count", required_argument, 0, O_COUNT},
      {"duration", required_argument, 0, O_DURATION}, {"symbols", required_argument, 0, O_SYMBOLS},
      {"prefix", required_argument, 0, O_PREFIX},    {"measurement", required_argument, 0, O_MEAS},
      {"format", required_argument, 0, O_FORMAT},    {"lines", required_argument, 0, O_LINES},
      {"start-ts", required_argument, 0, O_START},   {"seed", required_argument, 0, O_SEED},
      {"gap-every", required_argument, 0, O_GAP_EVERY}, {"gap-size", required_argument, 0, O_GAP_SIZE},
      {"bad-every", required_argument, 0, O_BAD_EVERY}, {"pause-every", required_argument, 0, O_PAUSE_EVERY},
      {"pause", required_argument, 0, O_PAUSE},      {"burst-every", required_argument, 0, O_BURST_EVERY},
      {"burst", required_argument, 0, O_BURST},      {"wait", required_argument, 0, O_WAIT},
      {"no-checksum", no_argument, 0, O_NO_SUM},     {"quiet", no_argument, 0, O_QUIET},
      {"note-bytes", required_argument, 0, O_NOTE},  {"names", required_argument, 0, O_NAMES},
      {"help", no_argument, 0, O_HELP},              {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case O_BIND:
    case O_CONNECT:
      if (n_eps == 16) {
        fprintf(stderr, "vigil-feed: at most 16 endpoints\n");
        return 2;
      }
      binds[n_eps] = c == O_BIND;
      endpoints[n_eps++] = optarg;
      break;
    case O_SOCKET:
      if (strcmp(optarg, "pub") == 0) socket_type = ZMQ_XPUB;
      else if (strcmp(optarg, "push") == 0) socket_type = ZMQ_PUSH;
      else {
        fprintf(stderr, "vigil-feed: --socket is pub or push, not '%s'\n", optarg);
        return 2;
      }
      break;
    case O_TOPIC: topic = optarg; break;
    case O_RATE: rate = (double)num(optarg, "--rate"); break;
    case O_COUNT: count = num(optarg, "--count"); break;
    case O_DURATION: duration_ns = dur_ns(optarg); break;
    case O_SYMBOLS: symbols = num(optarg, "--symbols"); break;
    case O_NAMES: names = optarg; break;
    case O_PREFIX: prefix = optarg; break;
    case O_MEAS: measurement = optarg; break;
    case O_FORMAT:
      if (strcmp(optarg, "json") == 0) json = true;
      else if (strcmp(optarg, "line") != 0) {
        fprintf(stderr, "vigil-feed: --format is line or json, not '%s'\n", optarg);
        return 2;
      }
      break;
    case O_LINES: lines = num(optarg, "--lines"); break;
    case O_START: start_ts = num(optarg, "--start-ts"); break;
    case O_SEED: rng_state = (uint64_t)num(optarg, "--seed") | 1; break;
    case O_GAP_EVERY: gap_every = num(optarg, "--gap-every"); break;
    case O_GAP_SIZE: gap_size = num(optarg, "--gap-size"); break;
    case O_BAD_EVERY: bad_every = num(optarg, "--bad-every"); break;
    case O_PAUSE_EVERY: pause_every = num(optarg, "--pause-every"); break;
    case O_PAUSE: pause_ns = dur_ns(optarg); break;
    case O_BURST_EVERY: burst_every = num(optarg, "--burst-every"); break;
    case O_BURST: burst = num(optarg, "--burst"); break;
    case O_WAIT: wait_ns = dur_ns(optarg); break;
    case O_NO_SUM: checksum = false; break;
    case O_QUIET: quiet = true; break;
    case O_NOTE: note_bytes = num(optarg, "--note-bytes"); break;
    case O_HELP:
    case 'h': fputs(usage, stdout); return 0;
    default: fputs(usage, stderr); return 2;
    }
  }
  if (n_eps == 0 || optind < argc || symbols < 1 || symbols > 100000 || lines < 1 || lines > 10000 ||
      strlen(prefix) > 8) {
    fputs(usage, stderr);
    return 2;
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);

  void *ctx = zmq_ctx_new();
  void *sock = zmq_socket(ctx, socket_type);
  /* PUSH waits when its queue is full, so a short queue loses nothing and keeps the
   * publisher's memory small and hot; PUB drops past it, so its queue is long */
  int hwm = socket_type == ZMQ_PUSH ? 10000 : 1000000, linger = 10000;
  zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
  for (size_t i = 0; i < n_eps; i++) {
    int rc = binds[i] ? zmq_bind(sock, endpoints[i]) : zmq_connect(sock, endpoints[i]);
    if (rc < 0) {
      fprintf(stderr, "vigil-feed: cannot %s %s: %s\n", binds[i] ? "bind" : "connect", endpoints[i],
              zmq_strerror(zmq_errno()));
      return 1;
    }
  }
  if (socket_type == ZMQ_XPUB) {
    /* a PUB drops what it sends before anyone subscribed: wait for the first one */
    int to = 100;
    char sub[256];
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &to, sizeof to);
    uint64_t until = now_ns(CLOCK_MONOTONIC) + (uint64_t)wait_ns;
    while (!stop_flag && zmq_recv(sock, sub, sizeof sub, 0) < 0) {
      if (now_ns(CLOCK_MONOTONIC) > until) {
        fprintf(stderr, "vigil-feed: no subscriber within the --wait time\n");
        return 1;
      }
    }
  }

  if (names) {
    symbols = 1;
    for (const char *q = names; *q; q++) symbols += *q == ',';
  }
  struct sym *syms = calloc((size_t)symbols, sizeof *syms);
  const char *next_name = names;
  for (long long i = 0; i < symbols; i++) {
    if (names) {
      size_t n = strcspn(next_name, ",");
      if (n == 0 || n >= sizeof syms[i].name) {
        fprintf(stderr, "vigil-feed: --names: each name needs 1 to 15 bytes\n");
        return 2;
      }
      memcpy(syms[i].name, next_name, n);
      syms[i].len = n;
      next_name += n + (next_name[n] == ',');
    } else {
      syms[i].len = (size_t)snprintf(syms[i].name, sizeof syms[i].name, "%s%04lld", prefix, i + 1);
    }
    syms[i].price = 10000000 + (int64_t)(rng() % 1000000);
    syms[i].seq = 0;
  }
  size_t mlen = strlen(measurement), cap = (size_t)lines * (mlen + 128 + (size_t)note_bytes) + 64;
  char *msg = malloc(cap), *copy = malloc(cap);
  int64_t ts = start_ts >= 0 ? start_ts : (int64_t)(now_ns(CLOCK_REALTIME) / 1000 * 1000);
  struct sum sum = {0, 0};
  struct ingest_batch batch; /* what the checksum decodes into; its points are not kept */
  ingest_batch_init(&batch, 0, 0, 1);
  uint64_t sent = 0, bad = 0, gaps = 0, missed = 0, next_sym = 0, burst_left = 0;
  uint64_t start = now_ns(CLOCK_MONOTONIC), t0 = start, paced = 0; /* paced: against the rate */
  struct ingest_json_map map = {.tag_keys = (const char *const[]){"sym"}, .n_tag_keys = 1,
                                .int_keys = (const char *const[]){"size", "seq"}, .n_int_keys = 2};

  while (!stop_flag && (count == 0 || (long long)sent < count)) {
    uint64_t i = sent + 1; /* 1-based message number */
    if (duration_ns && now_ns(CLOCK_MONOTONIC) - start >= (uint64_t)duration_ns) break;
    if (burst_every && i % (uint64_t)burst_every == 0) burst_left = (uint64_t)burst;
    if (burst_left) {
      burst_left--;
    } else if (rate > 0) {
      uint64_t due = t0 + (uint64_t)((double)paced * 1e9 / rate);
      uint64_t now = now_ns(CLOCK_MONOTONIC);
      if (due > now + 200000) {
        struct timespec d = {(time_t)((due - now) / 1000000000u), (long)((due - now) % 1000000000u)};
        nanosleep(&d, NULL);
      }
      paced++;
    }
    size_t len = 0;
    bool is_bad = bad_every && i % (uint64_t)bad_every == 0;
    if (is_bad) {
      const char *b = json ? bad_json[bad % (sizeof bad_json / sizeof bad_json[0])]
                           : bad_kinds[bad % (sizeof bad_kinds / sizeof bad_kinds[0])];
      len = strlen(b);
      memcpy(msg, b, len);
      bad++;
    } else {
      bool gap = gap_every && i % (uint64_t)gap_every == 0;
      for (long long l = 0; l < lines; l++) {
        struct sym *s = &syms[next_sym++ % (uint64_t)symbols];
        int64_t step = (int64_t)(rng() % 201) - 100;
        if (s->price + step > 100) s->price += step;
        uint64_t size = 1 + rng() % 1000;
        if (gap && l == 0) {
          s->seq += gap_size;
          gaps += gap_size > 0;
          missed += (uint64_t)gap_size;
        }
        s->seq++;
        ts += 1000;
        char *p = msg + len;
        if (json) {
          p += sprintf(p, "%s{\"measurement\":\"%s\",\"sym\":\"%s\",\"price\":", l ? "\n" : "", measurement, s->name);
        } else {
          if (l) *p++ = '\n';
          memcpy(p, measurement, mlen), p += mlen;
          memcpy(p, ",sym=", 5), p += 5;
          memcpy(p, s->name, s->len), p += s->len;
          memcpy(p, " price=", 7), p += 7;
        }
        p = put_u64(p, (uint64_t)(s->price / 100000));
        *p++ = '.';
        p = put_5digits(p, (uint64_t)(s->price % 100000));
        memcpy(p, json ? ",\"size\":" : ",size=", json ? 8 : 6), p += json ? 8 : 6;
        p = put_u64(p, size);
        if (json) memcpy(p, ",\"seq\":", 7), p += 7;
        else memcpy(p, "i,seq=", 6), p += 6;
        p = put_u64(p, (uint64_t)s->seq);
        if (!json) *p++ = 'i';
        if (note_bytes) {
          memcpy(p, json ? ",\"note\":\"" : ",note=\"", json ? 9 : 7), p += json ? 9 : 7;
          memset(p, 'n', (size_t)note_bytes), p += note_bytes;
          *p++ = '"';
        }
        if (json) memcpy(p, ",\"time\":", 8), p += 8;
        else *p++ = ' ';
        p = put_u64(p, (uint64_t)ts);
        if (json) *p++ = '}';
        len = (size_t)(p - msg);
      }
      if (checksum) {
        memcpy(copy, msg, len);
        if (json) ingest_json_parse(copy, len, &map, &batch, on_point, &sum, NULL);
        else ingest_lp_parse_batch(copy, len, &batch, on_point, &sum, NULL);
        ingest_batch_reset(&batch);
      } else {
        sum.points += (uint64_t)lines;
      }
    }
    int rc;
    if (topic) {
      rc = zmq_send(sock, topic, strlen(topic), ZMQ_SNDMORE);
      if (rc >= 0) rc = zmq_send(sock, msg, len, 0);
    } else {
      rc = zmq_send(sock, msg, len, 0);
    }
    if (rc < 0) {
      if (zmq_errno() == EINTR) continue;
      fprintf(stderr, "vigil-feed: send: %s\n", zmq_strerror(zmq_errno()));
      break;
    }
    sent++;
    if (pause_every && sent % (uint64_t)pause_every == 0) {
      struct timespec d = {(time_t)(pause_ns / 1000000000), (long)(pause_ns % 1000000000)};
      nanosleep(&d, NULL);
      t0 = now_ns(CLOCK_MONOTONIC), paced = 0; /* a pause is not made up for */
    }
  }
  double secs = (double)(now_ns(CLOCK_MONOTONIC) - start) / 1e9;
  zmq_close(sock); /* waits (up to the linger) until what was sent has left */
  zmq_ctx_term(ctx);
  if (!quiet) {
    printf("sent=%" PRIu64 " points=%" PRIu64 " bad=%" PRIu64 " gaps=%" PRIu64 " missed=%" PRIu64
           " checksum=0x%016" PRIx64 " seconds=%.3f\n",
           sent, sum.points, bad, gaps, missed, checksum ? sum.checksum : 0, secs);
    fflush(stdout);
  }
  free(syms);
  free(msg);
  free(copy);
  ingest_batch_free(&batch);
  return 0;
}
