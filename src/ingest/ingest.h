/*
 * ingest — how market data gets into vigil: decoding the messages that arrive on
 * ZeroMQ and the files `vigil store import` reads. This is the start of the module;
 * for now it holds only the InfluxDB 1.x line-protocol decoder (lineproto.c).
 *
 * Line protocol, one point per line:
 *
 *     measurement[,tag=value...] field=value[,field=value...] [timestamp]
 *
 * The decoder works in place and never allocates: escapes are removed by rewriting
 * the caller's buffer, and every string in a decoded line points into that buffer.
 * What is accepted, the error messages and the limits are in docs/ingest.md.
 */
#ifndef VIGIL_INGEST_H
#define VIGIL_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits: a longer line, or one with more tags or (distinct) fields, is rejected. */
#define INGEST_LP_MAX_LINE 65536 /* bytes, without the line terminator */
#define INGEST_MAX_TAGS 64
#define INGEST_MAX_FIELDS 64
#define INGEST_LP_MAX_NUMBER 127 /* bytes in one numeric field value */

enum ingest_type { INGEST_FLOAT, INGEST_INT, INGEST_UINT, INGEST_BOOL, INGEST_STRING };

/* A byte span inside the caller's buffer; not NUL-terminated. Always valid UTF-8. */
struct ingest_str {
  const char *p;
  size_t len;
};

struct ingest_field {
  struct ingest_str key;
  enum ingest_type type;
  union {
    double f;
    int64_t i;
    uint64_t u;
    bool b;
    struct ingest_str s;
  } v;
};

struct ingest_tag {
  struct ingest_str key, value;
};

struct ingest_line {
  struct ingest_str measurement;
  struct ingest_tag tags[INGEST_MAX_TAGS]; /* sorted by key (bytewise) */
  size_t n_tags;
  struct ingest_field fields[INGEST_MAX_FIELDS]; /* in order of first appearance */
  size_t n_fields; /* >= 1 */
  int64_t ts; /* nanoseconds since the epoch; 0 when !has_ts */
  bool has_ts;
};

/* Where and why a line was rejected. line and col are 1-based; col counts bytes from
 * the start of the line and is len+1 when the problem is the end of the line. */
struct ingest_error {
  size_t line, col;
  char msg[160];
};

/*
 * Decodes the line buf[0..len) (no terminator: a '\n' or '\r' inside is an error).
 * Returns 0 with *out filled; 1 when the line is blank or a '#' comment (*out then
 * holds no fields); -1 with *err filled (err->line is 1). Escapes are removed by
 * rewriting buf in place, also when the line is rejected, so strings in *out point into
 * buf and live as long as it does. Tags come out sorted by key (measurement plus sorted
 * tags is the series key). A field key given twice keeps its first position and the
 * last value, as InfluxDB does. Never reads outside buf[0..len).
 */
int ingest_lp_parse_line(char *buf, size_t len, struct ingest_line *out,
                         struct ingest_error *err);

/* Called once per decoded line (err NULL) or rejected line (line NULL). */
typedef void ingest_lp_fn(void *arg, const struct ingest_line *line,
                          const struct ingest_error *err);

/*
 * Decodes every line of buf[0..len): lines end at '\n' ("\r\n" too), and the last one
 * need not have a terminator. Blank and comment lines are skipped silently; a bad line
 * is reported to fn with its 1-based line number and skipped, and the batch goes on.
 * Rewrites buf in place as ingest_lp_parse_line does. Returns the number of lines
 * accepted; when rejected is not NULL, *rejected is set to the number rejected.
 */
size_t ingest_lp_parse_batch(char *buf, size_t len, ingest_lp_fn *fn, void *arg,
                             size_t *rejected);

#endif
