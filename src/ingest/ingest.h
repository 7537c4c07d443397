/*
 * ingest — how market data gets into vigil: decoding the messages that arrive on
 * ZeroMQ and the files `vigil store import` reads. It holds the InfluxDB 1.x
 * line-protocol decoder (lineproto.c), the JSON decoder (json.c), the conversion of
 * decoded lines into store points with their checksum (point.c), sequence-gap tracking
 * (seq.c), the quarantine of bad messages (quarantine.c) and the feeds themselves: one
 * feed thread and one writer thread per ZeroMQ socket (feed.c).
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

#include "tsdb/tsdb.h"

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
  bool mapping; /* JSON: the object does not map to a point (not a syntax error) */
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

/* ---- JSON (json.c) ---- */

/*
 * How JSON objects map to points. An object gives one point:
 *   - the measurement is the string under measurement_key, else the fixed measurement;
 *   - the time is the integer under time_key (in the feed's precision); absent: none;
 *   - tags: the members of an object under "tags", and the top-level keys in tag_keys
 *     (string values, or a number's text);
 *   - fields: the members of an object under "fields", and the top-level keys in
 *     field_keys, or, when field_keys is empty, every other top-level scalar member.
 *     Numbers are floats, except under a key in int_keys (then an integer within int64);
 *     true/false are bools, strings are strings; null is skipped.
 * NULL keys take the defaults "measurement" and "time".
 */
struct ingest_json_map {
  const char *measurement_key;
  const char *measurement;
  const char *time_key;
  const char *const *tag_keys;
  size_t n_tag_keys;
  const char *const *field_keys;
  size_t n_field_keys;
  const char *const *int_keys;
  size_t n_int_keys;
};

/*
 * Decodes buf[0..len): a sequence of JSON values separated by whitespace (one value, or
 * newline-delimited JSON), each an object or an array of objects. fn is called once
 * per object, with the decoded point or with the reason it was refused (a mapping
 * problem: the other objects still count). A JSON syntax error ends the decoding: it
 * is reported once and the rest of the buffer is skipped. Errors carry the 1-based
 * line and byte column in buf. Works in place like the line-protocol decoder (string
 * escapes are removed by rewriting buf); never allocates, never reads outside buf.
 * Returns the number of points accepted; *rejected (when not NULL) the number refused.
 */
size_t ingest_json_parse(char *buf, size_t len, const struct ingest_json_map *map,
                         ingest_lp_fn *fn, void *arg, size_t *rejected);

/* ---- point checksums (point.c); batches of points are in batch.h ---- */

/*
 * The checksum of a point: the sum (mod 2^64) over its fields of a 64-bit hash of the
 * value, built from XXH3-64 (H, with H_s seeded by s) over the parts where they lie:
 *   series seed  s = H(measurement), then for each tag (sorted by key, unescaped)
 *                s = H_s(key), s = H_s(value)
 *   field seed   k = H_s(field name)
 *   value hash   H_(k + type)(ts || v): 16 bytes, both little-endian, with type the
 *                enum tsdb_type and v a float's IEEE-754 bits, an int or uint, 0/1 for
 *                a bool, or H(bytes) of a string.
 * The series is hashed once per point, not once per field. A sum, so the checksum of a set
 * of points does not depend on their order: vigil-feed prints the sum over what it
 * sent, a feed keeps the sum over what it wrote, and a query of the store can
 * recompute it (ingest_value_checksum over every value of every series).
 */
uint64_t ingest_point_checksum(const struct tsdb_point *p);
/* The same for a decoded line, with ts for its timestamp (the caller's precision and
 * clock applied). */
uint64_t ingest_line_checksum(const struct ingest_line *l, int64_t ts);
uint64_t ingest_value_checksum(const char *measurement, size_t mlen, const struct tsdb_tag *tags,
                               size_t n_tags, const char *field, size_t flen, int64_t ts,
                               const struct tsdb_value *v);

/* ---- sequence gaps (seq.c) ---- */

/* One gap: a sequence jumped from `after` to `got`; missed = got - after - 1. */
struct ingest_gap {
  char key[96];     /* the sequence key (measurement and key tags), cut at 95 bytes */
  int64_t after, got;
  int64_t wall_ns;  /* when it was seen */
};

#define INGEST_SEQ_RECENT 32

struct ingest_seq_counts {
  uint64_t gaps, missed, late, resets, keys;
};

struct ingest_seq;
/* Tracks sequence numbers per key: the measurement plus the values of the tags named in
 * key_tags (all tags when n_key_tags is 0). The last INGEST_SEQ_RECENT gaps are kept. */
struct ingest_seq *ingest_seq_new(const char *const *key_tags, size_t n_key_tags);
void ingest_seq_free(struct ingest_seq *s);
/*
 * Records sequence number seq for the decoded line l. The first number of a key starts it; then
 * seq == last+1 is in order; seq > last+1 is a gap of seq-last-1 missed messages;
 * seq <= last is late (a duplicate or out of order) unless seq <= 1 with last > 1,
 * which is a publisher restart (reset). Returns the number missed (0 when none).
 * One thread updates; ingest_seq_read may run on any thread.
 */
uint64_t ingest_seq_note(struct ingest_seq *s, const struct ingest_line *l, int64_t seq,
                         int64_t wall_ns);
/* Copies the counters and up to max recent gaps (newest first); returns how many. */
size_t ingest_seq_read(struct ingest_seq *s, struct ingest_seq_counts *c, struct ingest_gap *gaps,
                       size_t max);

/* ---- quarantine (quarantine.c) ---- */

/* Why a message (or part of it) was refused. */
enum ingest_reason {
  INGEST_R_SYNTAX,    /* the decoder refused a line or the JSON */
  INGEST_R_SCHEMA,    /* JSON that does not map to a point */
  INGEST_R_TIMESTAMP, /* the timestamp leaves int64 nanoseconds at the feed's precision */
  INGEST_R_SEQ,       /* the sequence field is missing or not an integer */
  INGEST_R_FRAMES,    /* a multipart message of more than two frames */
  INGEST_R_TOO_LARGE, /* larger than the feed's batch buffer */
  INGEST_R_STORE,     /* the store refused a value (type conflict) */
  INGEST_R_N
};
const char *ingest_reason_name(enum ingest_reason r);

struct ingest_quarantine;
/* A bounded sample of bad messages in path (created with its directory): the first
 * keep of each reason, then one in every 1000, and nothing once the file holds
 * max_bytes. NULL path: counting only. */
struct ingest_quarantine *ingest_quarantine_open(const char *path, size_t keep, size_t max_bytes);
void ingest_quarantine_close(struct ingest_quarantine *q);
/* Records one refusal: "TIME reason=R error=MSG bytes=N raw=ESCAPED" (raw bytes with
 * \\, \n, \t, \r, \" and \xHH escapes, cut at 4096 bytes). Returns true when written. */
bool ingest_quarantine_add(struct ingest_quarantine *q, enum ingest_reason r, const char *msg,
                           const void *raw, size_t len);
uint64_t ingest_quarantine_written(const struct ingest_quarantine *q);

/* ---- feeds (feed.c) ---- */

enum ingest_socket { INGEST_SUB, INGEST_PULL };
enum ingest_format { INGEST_LINE, INGEST_JSON };

struct ingest_feed_opts {
  const char *name;
  enum ingest_socket socket;
  bool bind;                     /* bind the endpoints instead of connecting */
  const char *const *endpoints;  /* "tcp://host:port", "ipc://path", ... */
  size_t n_endpoints;
  const char *const *topics;     /* SUB prefixes; none: every message */
  size_t n_topics;
  enum ingest_format format;
  int64_t ts_mult;               /* ns per timestamp unit (batch.h ingest_precision); 0: 1 */
  struct ingest_json_map json;
  const char *seq_field;         /* NULL: no sequence tracking */
  const char *const *seq_key;    /* tags that key a sequence; none: the whole series */
  size_t n_seq_key;
  const char *quarantine_path;   /* NULL: count only */
  size_t quarantine_keep;        /* per reason; 0: 100 */
  size_t batch_points;           /* points per tsdb_write; 0: 4096 */
  size_t buffer_bytes;           /* message bytes per batch; 0: 4 MiB */
  int hwm;                       /* ZMQ_RCVHWM; 0: INGEST_HWM_PULL or INGEST_HWM_SUB */
};

/* How many messages ZeroMQ queues for a feed. PULL pushes back on the publisher when
 * the queue is full, so a short queue loses nothing and keeps memory hot; SUB drops
 * past it, so a SUB queue is long enough to ride out a burst of a few seconds. */
#define INGEST_HWM_PULL 10000
#define INGEST_HWM_SUB 1000000

/* Where points go (from the feed's writer thread): the store's write, and the latest-value cache hook (either NULL). */
typedef int ingest_write_fn(void *arg, const struct tsdb_point *pts, size_t n,
                            struct tsdb_write_result *res);
typedef void ingest_cache_fn(void *arg, const struct tsdb_point *pts, size_t n);
struct ingest_sink {
  ingest_write_fn *write;
  void *write_arg;
  ingest_cache_fn *cache;
  void *cache_arg;
};

struct ingest_feed_stats {
  uint64_t messages, points, bytes;
  uint64_t errors[INGEST_R_N];   /* refusals by reason (lines or objects, or messages) */
  uint64_t quarantined;          /* samples written to the quarantine file */
  uint64_t batches, store_failures;
  uint64_t checksum;             /* ingest_point_checksum summed over the points written */
  int64_t last_message_ns;       /* wall clock; 0: none yet */
  double message_rate, point_rate; /* per second, over the last second or so */
  struct ingest_seq_counts seq;
};

struct ingest_feed;
/* Creates the socket (binding or connecting every endpoint) and starts the feed's
 * threads (the feed thread, which receives and decodes, and its writer, which hands
 * batches to the sink). 0, or -1 with a message in err (nothing started). The opts
 * strings are copied. */
int ingest_feed_start(const struct ingest_feed_opts *opts, const struct ingest_sink *sink,
                      struct ingest_feed **out, char *err, size_t errlen);
/* Stops the threads (within ~50 ms), writes what is batched, closes the socket, frees. */
void ingest_feed_stop(struct ingest_feed *f);
const char *ingest_feed_name(const struct ingest_feed *f);
/* A snapshot of the counters; safe from any thread. */
void ingest_feed_stats(struct ingest_feed *f, struct ingest_feed_stats *st);
/* Up to max recent gaps, newest first. */
size_t ingest_feed_gaps(struct ingest_feed *f, struct ingest_gap *gaps, size_t max);

/* ---- metrics (metrics.c) ---- */
struct mt_registry;
struct ingest_metrics;
/* Registers the vigil_feed_* metrics of feeds[0..n) (docs/metrics.md), read from the
 * feeds' counters at each scrape. feeds must outlive the registry's renders; free the
 * result after the registry. */
struct ingest_metrics *ingest_metrics_register(struct mt_registry *r, struct ingest_feed *const *feeds,
                                               size_t n);
void ingest_metrics_free(struct ingest_metrics *m);
/* Sets vigil_feed_expected_messages_per_second of feeds[i] (its expect.rate), once:
 * feeds with no expectation have no series. */
void ingest_metrics_expect(struct ingest_metrics *m, size_t i, double per_second);
/* Registers the same families in r without feeds: no series, no collector (the list of
 * every metric vigil can expose, src/export/families.c). */
void ingest_metrics_describe(struct mt_registry *r);

#endif
