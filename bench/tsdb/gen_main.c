/*
 * bench_tsdb_gen — writes the store benchmark's data sets as line protocol, for the
 * InfluxDB harness (bench/tsdb/influx.py) and for loading into any store by hand:
 *   DIR/ticks.lp  the random-walk ticks (throughput and bytes per point)
 *   DIR/feed.lp   the multi-field feed
 *   DIR/day.lp    the two queried days (1 Hz and dense), measurement `day`
 * Usage: bench_tsdb_gen DIR [size flags]; the same flags give the same points as
 * bench_tsdb_store and bench_tsdb_sqlite hold in memory.
 */
#include <stdio.h>
#include <stdlib.h>

#include "gen.h"

static int write_file(const char *dir, const char *name, const struct gen_sizes *s) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    return -1;
  }
  /* Line-buffering is off for a file; a large buffer keeps fprintf cheap. */
  static char iobuf[1 << 20];
  setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
  switch (name[0]) {
  case 't': {
    struct gen_walk d;
    gen_ticks(&d, s);
    gen_walk_lp(f, &d, "ticks", GEN_TICKS_PREFIX);
    gen_walk_free(&d);
    break;
  }
  case 'f': {
    struct gen_feed d;
    gen_feed(&d, s);
    gen_feed_lp(f, &d);
    gen_feed_free(&d);
    break;
  }
  default:
    for (int dense = 0; dense <= 1; dense++) {
      struct gen_walk d;
      gen_day(&d, s, dense);
      gen_walk_lp(f, &d, "day", gen_day_prefix(dense));
      gen_walk_free(&d);
    }
  }
  if (fclose(f) != 0) {
    perror(path);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  struct gen_sizes s;
  gen_sizes_default(&s);
  const char *dir = NULL;
  for (int i = 1; i < argc; i++) {
    int rc = gen_sizes_arg(&s, argv[i]);
    if (rc == 0 && argv[i][0] != '-' && !dir) {
      dir = argv[i];
    } else if (rc <= 0) {
      fprintf(stderr, "usage: bench_tsdb_gen DIR [flags]\n%s", gen_sizes_usage);
      return 2;
    }
  }
  if (!dir) {
    fprintf(stderr, "usage: bench_tsdb_gen DIR [flags]\n%s", gen_sizes_usage);
    return 2;
  }
  static const char *const files[] = {"ticks.lp", "feed.lp", "day.lp"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    if (write_file(dir, files[i], &s) != 0) return 1;
  return 0;
}
