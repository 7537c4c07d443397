/*
 * libFuzzer target for the InfluxDB sink's spool segment reader: any byte string, taken
 * as a segment image, must scan without crashing, reading out of bounds or allocating
 * by a length field, and the result must hold the scanner's invariants (checked with
 * VG_ASSERT): the good prefix rescans cleanly to the same records, every record lies
 * inside it, and recovery through a real directory (open truncates the torn tail, the
 * records are then read back one by one and acknowledged) agrees with the scan.
 */
#include "core/core.h"
#include "sink/spool.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
  size_t size;
  uint64_t n, points;
  uint64_t sum; /* of offsets, points, lengths and bytes: compares two reads cheaply */
  uint32_t prev_off;
};

static void add(struct tally *t, uint32_t points, const void *payload, uint32_t len) {
  const uint8_t *p = payload;
  for (uint32_t i = 0; i < len; i++) t->sum += p[i]; /* ASan checks every byte read */
  t->n++;
  t->points += points;
  t->sum += points * 7ull + len;
}

static int count(void *arg, uint32_t off, uint32_t points, const void *payload, uint32_t len) {
  struct tally *t = arg;
  VG_ASSERT(off >= SINK__SPOOL_HEADER_SIZE);
  VG_ASSERT((size_t)off + SINK__SPOOL_RECORD_OVERHEAD + len <= t->size);
  VG_ASSERT(t->n == 0 || off > t->prev_off);
  t->prev_off = off;
  add(t, points, payload, len);
  return 0;
}

static char *dir;

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Rewrites the header and record checksums so that mutations reach the parsing of
 * lengths, point counts and record boundaries instead of stopping at a checksum. */
static void fix_checksums(uint8_t *p, size_t size) {
  if (size < SINK__SPOOL_HEADER_SIZE) return;
  uint32_t h = XXH32(p, 12, 0);
  for (int i = 0; i < 4; i++) p[12 + i] = (uint8_t)(h >> (8 * i));
  size_t off = SINK__SPOOL_HEADER_SIZE;
  while (size - off >= SINK__SPOOL_RECORD_OVERHEAD) {
    uint32_t len = get_u32(p + off);
    if (len > size - off - SINK__SPOOL_RECORD_OVERHEAD) return;
    uint64_t c = XXH3_64bits(p + off, 8 + (size_t)len);
    for (int i = 0; i < 8; i++) p[off + 8 + len + i] = (uint8_t)(c >> (8 * i));
    off += SINK__SPOOL_RECORD_OVERHEAD + (size_t)len;
  }
}

/* Removes every file of the spool dir but the lock. */
static void clean_dir(void) {
  DIR *d = opendir(dir);
  VG_ASSERT(d != NULL);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.' || strcmp(de->d_name, "lock") == 0) continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    VG_ASSERT(unlink(path) == 0);
  }
  closedir(d);
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
    dir = vg_asprintf("%s/vigil-fuzz-spool-XXXXXX", base && *base ? base : "/tmp");
    VG_ASSERT(mkdtemp(dir) != NULL);
  }
  struct tally a = {.size = size};
  struct sink__spool_scan_result r;
  VG_ASSERT(sink__spool_scan(img, size, 0, count, &a, &r) == 0);
  VG_ASSERT(r.records == a.n && r.points == a.points);
  VG_ASSERT(r.good_len <= size);
  if (r.status == SINK__SPOOL_SCAN_BAD_HDR) {
    VG_ASSERT(r.good_len == 0 && r.records == 0 && r.why[0] != '\0');
  } else {
    VG_ASSERT(r.good_len >= SINK__SPOOL_HEADER_SIZE);
    VG_ASSERT((r.status == SINK__SPOOL_SCAN_OK) == (r.good_len == size));
    struct tally b = {.size = r.good_len};
    struct sink__spool_scan_result r2;
    VG_ASSERT(sink__spool_scan(img, r.good_len, 0, count, &b, &r2) == 0);
    VG_ASSERT(r2.status == SINK__SPOOL_SCAN_OK && b.n == a.n && b.sum == a.sum);
  }

  /* The same image as the only segment of a spool: open must recover it and hand back
   * exactly the records of the scan. The name must match the number in the header. */
  uint32_t seg = r.status == SINK__SPOOL_SCAN_BAD_HDR ? 1 : get_u32(img + 8);
  if (seg == 0) return;
  char path[512];
  snprintf(path, sizeof path, "%s/%08x.spool", dir, seg);
  FILE *f = fopen(path, "wb");
  VG_ASSERT(f != NULL);
  VG_ASSERT(fwrite(img, 1, size, f) == size);
  fclose(f);
  struct sink__spool *sp;
  char err[256];
  VG_ASSERT(sink__spool_open(&sp, dir, 1ull << 30, err, sizeof err) == 0);
  VG_ASSERT(sink__spool_points(sp) == a.points);
  struct tally c = {.size = size};
  struct vg_buf rec;
  vg_buf_init(&rec);
  uint32_t points;
  uint64_t id;
  while (sink__spool_peek(sp, &rec, &points, &id) == 1) {
    add(&c, points, rec.data, (uint32_t)rec.len);
    VG_ASSERT(sink__spool_pop(sp, id) == 0);
  }
  vg_buf_free(&rec);
  VG_ASSERT(c.n == a.n && c.points == a.points && c.sum == a.sum);
  VG_ASSERT(sink__spool_points(sp) == 0 && sink__spool_bytes(sp) == 0);
  VG_ASSERT(sink__spool_dropped(sp) == 0);
  sink__spool_close(&sp);
  clean_dir();
}
