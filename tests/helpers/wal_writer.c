/*
 * wal_writer — drives the tsdb write-ahead log for the crash test and for a
 * throughput measurement.
 *
 *   wal_writer append DIR       replay DIR, then append numbered 64-byte records
 *                               forever in batches (policy every), printing the
 *                               last sequence number of each batch after its sync
 *   wal_writer replay DIR       print the sequence number of every record
 *   wal_writer bench DIR POLICY N BATCH
 *                               append N records, commit every BATCH, print rate
 *
 * Record payload: u64 sequence number (little endian) then 56 bytes derived from
 * it, so a record that passes the checksum but holds the wrong bytes is caught.
 * Exit: 0 ok, 1 the log failed to open or a record was wrong, 2 usage.
 */
#include "core/core.h"
#include "tsdb/wal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAYLOAD 64
#define SEGMENT_SIZE (64u * 1024) /* small, so the crash test crosses segments */

static void fill(uint64_t seq, uint8_t p[PAYLOAD]) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(seq >> (8 * i));
  for (int i = 8; i < PAYLOAD; i++) p[i] = (uint8_t)(seq * 131 + (uint64_t)i);
}

struct replay {
  uint64_t last;
  bool print;
};

static int on_record(void *arg, uint64_t lsn, uint32_t type, const void *payload,
                     uint32_t len) {
  struct replay *r = arg;
  uint8_t want[PAYLOAD];
  uint64_t seq = 0;
  if (len != PAYLOAD || type != 1) {
    fprintf(stderr, "wal_writer: record at %08x:%u has type %u length %u\n",
            TSDB__WAL_LSN_SEG(lsn), TSDB__WAL_LSN_OFF(lsn), type, len);
    return 1;
  }
  memcpy(want, payload, 8);
  for (int i = 7; i >= 0; i--) seq = (seq << 8) | want[i];
  fill(seq, want);
  if (memcmp(want, payload, PAYLOAD) != 0) {
    fprintf(stderr, "wal_writer: record %" PRIu64 " has wrong content\n", seq);
    return 1;
  }
  if (r->print) printf("%" PRIu64 "\n", seq);
  r->last = seq;
  return 0;
}

static struct tsdb__wal *open_log(const char *dir, enum tsdb__wal_policy policy,
                                  uint64_t segment_size, struct replay *r) {
  struct tsdb__wal_opts o = {.policy = policy, .segment_size = segment_size};
  struct tsdb__wal *w;
  char err[512];
  int rc = tsdb__wal_open(&w, dir, &o, r ? on_record : NULL, r, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "wal_writer: %s (%d)\n", err, rc);
    exit(1);
  }
  return w;
}

static int cmd_append(const char *dir) {
  struct replay r = {0};
  struct tsdb__wal *w = open_log(dir, TSDB__WAL_SYNC_EVERY, SEGMENT_SIZE, &r);
  uint64_t seq = r.last;
  uint32_t rnd = (uint32_t)seq * 2654435761u + 1;
  uint8_t p[PAYLOAD];
  for (;;) {
    rnd = rnd * 1103515245u + 12345u;
    unsigned batch = 1 + (rnd >> 16) % 64;
    for (unsigned i = 0; i < batch; i++) {
      fill(++seq, p);
      int rc = tsdb__wal_append(w, 1, p, PAYLOAD, NULL);
      if (rc != 0) {
        fprintf(stderr, "wal_writer: append: %s\n", strerror(-rc));
        return 1;
      }
    }
    int rc = tsdb__wal_commit(w);
    if (rc != 0) {
      fprintf(stderr, "wal_writer: commit: %s\n", strerror(-rc));
      return 1;
    }
    printf("%" PRIu64 "\n", seq);
    fflush(stdout);
  }
}

static int cmd_bench(const char *dir, const char *policy, long n, long batch) {
  enum tsdb__wal_policy pol;
  if (strcmp(policy, "never") == 0)
    pol = TSDB__WAL_SYNC_NEVER;
  else if (strcmp(policy, "every") == 0)
    pol = TSDB__WAL_SYNC_EVERY;
  else
    return 2;
  struct tsdb__wal *w = open_log(dir, pol, 0, NULL) /* default segment size */;
  uint8_t p[PAYLOAD];
  uint64_t t0 = vg_now_ns();
  for (long i = 1; i <= n; i++) {
    fill((uint64_t)i, p);
    VG_ASSERT(tsdb__wal_append(w, 1, p, PAYLOAD, NULL) == 0);
    if (i % batch == 0) VG_ASSERT(tsdb__wal_commit(w) == 0);
  }
  VG_ASSERT(tsdb__wal_sync(w) == 0);
  double secs = (double)(vg_now_ns() - t0) / 1e9;
  printf("policy=%s records=%ld batch=%ld seconds=%.3f records_per_sec=%.0f\n", policy, n,
         batch, secs, (double)n / secs);
  return tsdb__wal_close(&w) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  vg_log_setup(VG_LOG_LOGFMT, VG_LOG_INFO);
  if (argc == 3 && strcmp(argv[1], "append") == 0) return cmd_append(argv[2]);
  if (argc == 3 && strcmp(argv[1], "replay") == 0) {
    struct replay r = {.print = true};
    struct tsdb__wal *w = open_log(argv[2], TSDB__WAL_SYNC_NEVER, SEGMENT_SIZE, &r);
    fflush(stdout);
    return tsdb__wal_close(&w) == 0 ? 0 : 1;
  }
  if (argc == 6 && strcmp(argv[1], "bench") == 0) {
    long n = atol(argv[4]), batch = atol(argv[5]);
    if (n > 0 && batch > 0) {
      int rc = cmd_bench(argv[2], argv[3], n, batch);
      if (rc != 2) return rc;
    }
  }
  fprintf(stderr, "usage: wal_writer append|replay DIR | bench DIR never|every N BATCH\n");
  return 2;
}
