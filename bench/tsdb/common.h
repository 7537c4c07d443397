/*
 * common — what the C programs of the store benchmark share besides the data: the clock,
 * latency summaries, the size of a directory on disk, removing a scratch directory, and
 * the shape of their output.
 *
 * Output: one line per figure, "result sys=NAME what=KIND key=value ...", values without
 * spaces, so that bench/tsdb/report.py (and the smoke test) can read all three stores'
 * figures the same way. Anything else a program prints starts with '#'.
 */
#ifndef VIGIL_BENCH_TSDB_COMMON_H
#define VIGIL_BENCH_TSDB_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_BATCH 5000 /* points per write call / transaction / HTTP request */

uint64_t bench_now_ns(void);
/* CPU time of the whole process (every thread), in ns: on a machine shared with other
 * work, CPU per point is steadier than points per wall-clock second. */
uint64_t bench_cpu_ns(void);

/* Median and 99th percentile (nearest rank) of n samples, in ns; sorts ns in place. */
void bench_summary(uint64_t *ns, size_t n, double *median, double *p99);

/* Sum of the apparent sizes (st_size) of the regular files below dir. */
uint64_t bench_dir_bytes(const char *dir);

/* rm -rf dir; aborts on failure (a benchmark must not leave its scratch behind). */
void bench_rm_rf(const char *dir);

/* A fresh directory below base (or below $TMPDIR or /tmp when base is NULL), named
 * prefix.XXXXXX; the caller frees the returned path. */
char *bench_mkdtemp(const char *base, const char *prefix);

#endif
