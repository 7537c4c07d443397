/*
 * libFuzzer target for the write-ahead log reader: any byte string, taken as a
 * segment image, must scan without crashing, reading out of bounds or allocating
 * by a length field, and the result must hold the scanner's invariants (checked
 * with VG_ASSERT): the good prefix rescans cleanly to the same records, every
 * record delivered lies inside it, and recovery through a real directory (open
 * truncates the torn tail) agrees with the in-memory scan.
 */
#include "core/core.h"
#include "tsdb/wal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
  size_t size;
  uint64_t n;
  uint64_t sum; /* of lsn, type and len: compares two replays cheaply */
  uint64_t prev_lsn;
};

static int count(void *arg, uint64_t lsn, uint32_t type, const void *payload, uint32_t len) {
  struct tally *t = arg;
  uint32_t off = TSDB__WAL_LSN_OFF(lsn);
  VG_ASSERT(off >= TSDB__WAL_HEADER_SIZE);
  VG_ASSERT((size_t)off + TSDB__WAL_RECORD_OVERHEAD + len <= t->size);
  VG_ASSERT(t->n == 0 || lsn > t->prev_lsn);
  const uint8_t *p = payload;
  for (uint32_t i = 0; i < len; i++) t->sum += p[i]; /* ASan checks every byte read */
  t->prev_lsn = lsn;
  t->n++;
  t->sum += lsn * 31 + type * 7 + len;
  return 0;
}

static char *dir;

/* Rewrites the header and record checksums so that mutations reach the parsing of
 * lengths, types and record boundaries instead of stopping at a checksum. */
static void fix_checksums(uint8_t *p, size_t size) {
  if (size < TSDB__WAL_HEADER_SIZE) return;
  uint32_t h = XXH32(p, 12, 0);
  for (int i = 0; i < 4; i++) p[12 + i] = (uint8_t)(h >> (8 * i));
  size_t off = TSDB__WAL_HEADER_SIZE;
  while (size - off >= TSDB__WAL_RECORD_OVERHEAD) {
    uint32_t len = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 | (uint32_t)p[off + 2] << 16 |
                   (uint32_t)p[off + 3] << 24;
    if (len > size - off - TSDB__WAL_RECORD_OVERHEAD) return;
    uint64_t c = XXH3_64bits(p + off, 8 + (size_t)len);
    for (int i = 0; i < 8; i++) p[off + 8 + len + i] = (uint8_t)(c >> (8 * i));
    off += TSDB__WAL_RECORD_OVERHEAD + (size_t)len;
  }
}

static void check_image(uint8_t *img, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* An exact-size copy, so ASan sees any read past the end. */
  uint8_t *img = vg_malloc(size ? size : 1);
  memcpy(img, data, size);
  check_image(img, size);
  fix_checksums(img, size);
  check_image(img, size);
  free(img);
  return 0;
}

static void check_image(uint8_t *img, size_t size) {
  if (!dir) {
    vg_log_setup(VG_LOG_LOGFMT, VG_LOG_ERROR); /* no torn-tail warnings */
    /* TMPDIR=/dev/shm makes the fsyncs of open cheap. */
    const char *base = getenv("TMPDIR");
    dir = vg_asprintf("%s/vigil-fuzz-wal-XXXXXX", base && *base ? base : "/tmp");
    VG_ASSERT(mkdtemp(dir) != NULL);
  }
  struct tally a = {.size = size};
  struct tsdb__wal_scan_result r;
  VG_ASSERT(tsdb__wal_scan(img, size, 0, count, &a, &r) == 0);
  VG_ASSERT(r.records == a.n);
  VG_ASSERT(r.good_len <= size);
  if (r.status == TSDB__WAL_SCAN_BAD_HDR) {
    VG_ASSERT(r.good_len == 0 && r.records == 0 && r.why[0] != '\0');
  } else {
    VG_ASSERT(r.good_len >= TSDB__WAL_HEADER_SIZE);
    VG_ASSERT((r.status == TSDB__WAL_SCAN_OK) == (r.good_len == size));
    struct tally b = {.size = r.good_len};
    struct tsdb__wal_scan_result r2;
    VG_ASSERT(tsdb__wal_scan(img, r.good_len, 0, count, &b, &r2) == 0);
    VG_ASSERT(r2.status == TSDB__WAL_SCAN_OK && b.n == a.n && b.sum == a.sum);
  }

  /* The same image as the only segment of a log: open must recover it. The
   * segment number in the header must match the name, so use the one it claims. */
  uint32_t seg = 1;
  if (r.status != TSDB__WAL_SCAN_BAD_HDR)
    seg = (uint32_t)img[8] | (uint32_t)img[9] << 8 | (uint32_t)img[10] << 16 |
          (uint32_t)img[11] << 24;
  if (seg != 0) {
    char path[256];
    snprintf(path, sizeof path, "%s/%08x.wal", dir, seg);
    FILE *f = fopen(path, "wb");
    VG_ASSERT(f != NULL);
    VG_ASSERT(fwrite(img, 1, size, f) == size);
    fclose(f);
    struct tally c = {.size = size};
    struct tsdb__wal *w;
    char err[256];
    int rc = tsdb__wal_open(&w, dir, NULL, count, &c, err, sizeof err);
    VG_ASSERT(rc == 0);
    VG_ASSERT(c.n == a.n && c.sum == a.sum);
    VG_ASSERT(tsdb__wal_next_lsn(w) ==
              TSDB__WAL_LSN(seg, r.good_len ? r.good_len : TSDB__WAL_HEADER_SIZE));
    VG_ASSERT(tsdb__wal_close(&w) == 0);
    VG_ASSERT(unlink(path) == 0);
  }
}
