/*
 * common — clock, latency summaries and scratch directories for bench/tsdb (see common.h).
 */
#include "common.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"

uint64_t bench_now_ns(void) { return vg_now_ns(); }

uint64_t bench_cpu_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

void bench_summary(uint64_t *ns, size_t n, double *median, double *p99) {
  VG_ASSERT(n > 0);
  qsort(ns, n, sizeof *ns, cmp_u64);
  *median = n % 2 ? (double)ns[n / 2] : ((double)ns[n / 2 - 1] + (double)ns[n / 2]) / 2;
  size_t rank = (n * 99 + 99) / 100; /* nearest rank: ceil(0.99 n) */
  *p99 = (double)ns[rank - 1];
}

/* nftw has no user pointer: the walks below are single-threaded and not reentrant. */
static uint64_t walk_total;

static int add_size(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  if (type == FTW_F) walk_total += (uint64_t)st->st_size;
  return 0;
}

uint64_t bench_dir_bytes(const char *dir) {
  walk_total = 0;
  VG_ASSERT(nftw(dir, add_size, 16, FTW_PHYS) == 0);
  return walk_total;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  return remove(path);
}

void bench_rm_rf(const char *dir) {
  if (access(dir, F_OK) != 0) return;
  if (nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
    fprintf(stderr, "bench: cannot remove %s\n", dir);
    abort();
  }
}

char *bench_mkdtemp(const char *base, const char *prefix) {
  if (!base) base = getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  char *path = vg_asprintf("%s/%s.XXXXXX", base, prefix);
  if (!mkdtemp(path)) {
    perror(path);
    exit(1);
  }
  return path;
}
