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

/*
 * Words used in every counter: a *point* is one line of line protocol or one JSON
 * object (a measurement, tags, fields and a time: a struct tsdb_point); a *value* is
 * one field of a point (what a store series holds). A point is *written* when the
 * store took every one of its values; a point the decoder refused, or with a value
 * the store refused, is *refused* (once, under its first reason) and never counted
 * as written. docs/ingest.md and docs/metrics.md say the same.
 */

/* Why a message or a point was refused. */
enum ingest_reason {
  INGEST_R_SYNTAX,      /* the decoder refused a line or the JSON */
  INGEST_R_SCHEMA,      /* JSON that does not map to a point */
  INGEST_R_TIMESTAMP,   /* the timestamp leaves int64 nanoseconds at the precision */
  INGEST_R_SEQ,         /* the sequence field is missing or not an integer (still written) */
  INGEST_R_FRAMES,      /* a multipart message of more than two frames */
  INGEST_R_TOO_LARGE,   /* larger than the feed's batch buffer */
  INGEST_R_STORE,       /* the store refused a value (type conflict, string over 4 KiB) */
  INGEST_R_CARDINALITY, /* a value would make a new series past a max_series limit */
  INGEST_R_N
};
const char *ingest_reason_name(enum ingest_reason r);

/* Where and why a point was refused. line and col are 1-based; col counts bytes from
 * the start of the line and is len+1 when the problem is the end of the line. */
struct ingest_error {
  size_t line, col;
  char msg[160];
  enum ingest_reason reason; /* syntax, schema (JSON mapping) or timestamp */
};

/* ---- batches of points (batch.c) ---- */

/*
 * Points decoded straight into their place: the decoders write each point, its tags
 * and its fields into the free tail of the batch's three arrays, which are allocated
 * once at their full size and never move, so every point's tag and field pointers
 * stay valid until the batch is reset. Strings point into the decoded buffer (nothing
 * is copied): a batch is written before that buffer is reused.
 */
struct ingest_batch {
  struct tsdb_point *points;
  size_t n, cap;
  struct tsdb_tag *tags;     /* every point's tags, back to back */
  size_t n_tags, cap_tags;
  struct tsdb_field *fields; /* every point's fields, back to back */
  size_t n_fields, cap_fields;
  int64_t default_ts;        /* for points without a timestamp, or INGEST_TS_CLOCK */
  int64_t ts_mult;           /* precision: 1 (ns), 1000 (us), 1e6 (ms), 1e9 (s) */
  uint64_t checksum;         /* the caller's: a feed sums ingest_point_checksum here */
};

/* default_ts: read the wall clock when the first point without a timestamp needs it
 * (and keep that time for the next ones), so a feed whose lines carry timestamps
 * never reads the clock per message. */
#define INGEST_TS_CLOCK INT64_MIN

/* A batch of room for `points` points (0: 4096) and, on average, 4 tags and 4 fields
 * each; ts_mult 0 is 1. */
void ingest_batch_init(struct ingest_batch *b, size_t points, int64_t default_ts, int64_t ts_mult);
void ingest_batch_reset(struct ingest_batch *b); /* empties it (keeps default_ts, ts_mult) */
void ingest_batch_free(struct ingest_batch *b);
/* Whether the batch may lack room for one more point of the largest size: write it
 * (or reset it) before decoding into it again. */
static inline bool ingest_batch_full(const struct ingest_batch *b) {
  return b->n == b->cap || b->cap_tags - b->n_tags < INGEST_MAX_TAGS ||
         b->cap_fields - b->n_fields < INGEST_MAX_FIELDS;
}
/* "ns", "u"/"us", "ms", "s" (InfluxDB's names) to a multiplier; 0 when unknown. */
int64_t ingest_precision(const char *s);

/*
 * Called once per decoded point (err NULL: the point is the batch's last, already
 * counted in b->n; its time has the precision and default applied) or refused one
 * (p NULL). Before it returns, fn must leave room for the next point: when
 * ingest_batch_full(b), it writes the batch or resets it (it may also swap the
 * batch's contents for an empty batch's).
 */
typedef void ingest_point_fn(void *arg, struct ingest_batch *b, const struct tsdb_point *p,
                             const struct ingest_error *err);

/* ---- line protocol (lineproto.c) ---- */

/*
 * Decodes the line buf[0..len) (no terminator: a '\n' or '\r' inside is an error) into
 * *out, its tags into tags[0..INGEST_MAX_TAGS) and its fields into
 * fields[0..INGEST_MAX_FIELDS) (out->tags and out->fields are set to them). Returns 0
 * with *out filled and *has_ts saying whether the line had a timestamp (out->ts is 0
 * without; with one it is the number as written, in the line's precision); 1 when the
 * line is blank or a '#' comment; -1 with *err filled (err->line is 1). Escapes are
 * removed by rewriting buf in place, also when the line is rejected, so strings in
 * *out point into buf and live as long as it does. Tags come out sorted by key
 * (measurement plus sorted tags is the series key). A field key given twice keeps its
 * first position and the last value, as InfluxDB does. Never reads outside buf[0..len).
 */
int ingest_lp_parse_line(char *buf, size_t len, struct tsdb_point *out, struct tsdb_tag *tags,
                         struct tsdb_field *fields, bool *has_ts, struct ingest_error *err);

/*
 * Decodes every line of buf[0..len) into b: lines end at '\n' ("\r\n" too), and the
 * last one need not have a terminator. Blank and comment lines are skipped silently;
 * each point is added to b with its time at b's precision (b->default_ts without one)
 * and given to fn; a bad line (or a time that leaves int64 nanoseconds at the
 * precision: reason timestamp) is reported to fn with its 1-based line number and
 * skipped, and the batch goes on. Rewrites buf in place as ingest_lp_parse_line does.
 * Returns the number of points decoded; when rejected is not NULL, *rejected is set to
 * the number refused.
 */
size_t ingest_lp_parse_batch(char *buf, size_t len, struct ingest_batch *b, ingest_point_fn *fn,
                             void *arg, size_t *rejected);

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
 * Decodes buf[0..len) into b: a sequence of JSON values separated by whitespace (one
 * value, or newline-delimited JSON), each an object or an array of objects. Each
 * object's point is added to b (its time at b's precision, b->default_ts without one)
 * and given to fn, or fn is told why it was refused (a mapping problem or a time out
 * of range: the other objects still count). A JSON syntax error ends the decoding: it
 * is reported once and the rest of the buffer is skipped. Errors carry the 1-based
 * line and byte column in buf. Works in place like the line-protocol decoder (string
 * escapes are removed by rewriting buf); never allocates, never reads outside buf.
 * Returns the number of points decoded; *rejected (when not NULL) the number refused.
 */
size_t ingest_json_parse(char *buf, size_t len, const struct ingest_json_map *map,
                         struct ingest_batch *b, ingest_point_fn *fn, void *arg,
                         size_t *rejected);

/* ---- point checksums (point.c) ---- */

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
 * Records sequence number seq for the point p. The first number of a key starts it; then
 * seq == last+1 is in order; seq > last+1 is a gap of seq-last-1 missed messages;
 * seq <= last is late (a duplicate or out of order) unless seq <= 1 with last > 1,
 * which is a publisher restart (reset). Returns the number missed (0 when none).
 * One thread updates; ingest_seq_read may run on any thread.
 */
uint64_t ingest_seq_note(struct ingest_seq *s, const struct tsdb_point *p, int64_t seq,
                         int64_t wall_ns);
/* Copies the counters and up to max recent gaps (newest first); returns how many. */
size_t ingest_seq_read(struct ingest_seq *s, struct ingest_seq_counts *c, struct ingest_gap *gaps,
                       size_t max);

/* ---- quarantine (quarantine.c) ---- */

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

/* ---- the way into the store and the sinks (pipeline.c) ---- */

/* Given points the store took (any thread; pts live only for the call). */
typedef void ingest_points_fn(void *arg, const struct tsdb_point *pts, size_t n);
/* The same, with the name of where they came from (the latest-value cache's source). */
typedef void ingest_latest_fn(void *arg, const char *source, const struct tsdb_point *pts,
                              size_t n);

/*
 * Where every source's points go once decoded: into the store, then to the sinks
 * (InfluxDB) and the latest-value hook, which are given only the values the store took
 * (with no store: everything). Any part may be NULL. Feeds, HTTP /write and `vigil
 * store import` all write through one (ingest_write).
 */
struct ingest_target {
  struct tsdb *store;
  ingest_points_fn *sinks;
  void *sinks_arg;
  ingest_latest_fn *cache;
  void *cache_arg;
  const char *source; /* given to the cache: "http", "import"; a feed's copy names the
                       * feed ("feed:NAME"), a bridge's the bridge */
};

/* What one ingest_write did, in points and values (see the words at the top). */
struct ingest_written {
  size_t points;                /* points written: the store took every value */
  size_t values;                /* values written */
  size_t refused[INGEST_R_N];   /* points refused by the store, under INGEST_R_STORE or
                                 * INGEST_R_CARDINALITY (a point once, by its first) */
  size_t refused_values;        /* values refused */
  size_t series_created;        /* new series in the store */
  uint64_t checksum;            /* b->checksum less the refused values' checksums */
  char why[160];                /* the store's first refusal, or its error */
};

/*
 * Writes the points of b through t: the store (creating at most max_new_series new
 * series; TSDB_NO_LIMIT for any), then the sinks and the cache hook with what the
 * store took (a refused value is left out of its point, and a point left with none is
 * left out). Fills *w, resets b. Returns 0, or the store's -errno (nothing of the
 * batch was written: every point is counted refused under INGEST_R_STORE, and the
 * sinks are not called). Allocates nothing unless the store refuses a value.
 */
int ingest_write(const struct ingest_target *t, struct ingest_batch *b, size_t max_new_series,
                 struct ingest_written *w);

/* What ingest_load_lp did. */
struct ingest_loaded {
  size_t decoded;           /* points decoded */
  size_t rejected;          /* lines the decoder refused (any reason) */
  struct ingest_written w;  /* summed over the batches written */
  int rc;                   /* 0, or the first store error */
};

/*
 * A buffer of line protocol from one source (HTTP /write, `vigil store import`) through
 * the pipeline: decoded in place into batches of 5000 points (ts_mult: the precision;
 * default_ts for lines without a time), each written with ingest_write. on_error (may
 * be NULL) is told of each rejected line. Fills *out.
 */
void ingest_load_lp(const struct ingest_target *t, char *buf, size_t len, int64_t ts_mult,
                    int64_t default_ts,
                    void (*on_error)(void *arg, const struct ingest_error *e), void *arg,
                    struct ingest_loaded *out);

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
  int64_t ts_mult;               /* ns per timestamp unit (ingest_precision); 0: 1 */
  struct ingest_json_map json;
  const char *seq_field;         /* NULL: no sequence tracking */
  const char *const *seq_key;    /* tags that key a sequence; none: the whole series */
  size_t n_seq_key;
  const char *quarantine_path;   /* NULL: count only */
  size_t quarantine_keep;        /* per reason; 0: 100 */
  size_t batch_points;           /* points per store write; 0: 4096 */
  size_t max_series;             /* new series the feed may make in the store; 0: any */
  size_t buffer_bytes;           /* message bytes per batch; 0: 4 MiB */
  int hwm;                       /* ZMQ_RCVHWM; 0: INGEST_HWM_PULL or INGEST_HWM_SUB */
};

/* How many messages ZeroMQ queues for a feed. PULL pushes back on the publisher when
 * the queue is full, so a short queue loses nothing and keeps memory hot; SUB drops
 * past it, so a SUB queue is long enough to ride out a burst of a few seconds. */
#define INGEST_HWM_PULL 10000
#define INGEST_HWM_SUB 1000000

struct ingest_feed_stats {
  uint64_t messages, bytes;
  uint64_t points;               /* points written (the store took every value) */
  uint64_t values;               /* values written */
  uint64_t errors[INGEST_R_N];   /* refusals by reason: points, except frames and too_large
                                  * (messages) and seq (points still written) */
  uint64_t series;               /* series the feed created in the store */
  uint64_t quarantined;          /* samples written to the quarantine file */
  uint64_t batches, store_failures;
  uint64_t checksum;             /* the value checksums (ingest.h) summed over the values
                                  * written */
  int64_t last_message_ns;       /* wall clock; 0: none yet */
  double message_rate, point_rate; /* per second, over the last second or so */
  struct ingest_seq_counts seq;
};

struct ingest_feed;
/* Creates the socket (binding or connecting every endpoint) and starts the feed's
 * threads (the feed thread, which receives and decodes, and its writer, which writes
 * batches through the target with ingest_write). 0, or -1 with a message in err
 * (nothing started). The opts strings are copied; target (may be NULL: points are
 * counted and dropped) is copied and its parts must outlive the feed. */
int ingest_feed_start(const struct ingest_feed_opts *opts, const struct ingest_target *target,
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
