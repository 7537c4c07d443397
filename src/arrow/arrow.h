/*
 * arrow — a reader of the Apache Arrow IPC formats (the file format, "ARROW1" ... footer,
 * and the stream format), written for vigil: no Arrow or flatbuffers library; the
 * flatbuffer metadata is read by our own strictly bounds-checked code (fb.c).
 *
 * What it reads: int8-64, uint8-64, float16/32/64, bool, utf8 and large_utf8, binary and
 * large_binary, fixed_size_binary, decimal128, timestamp (every unit, with or without a
 * time zone), date32/64, time32/64, duration, null, dictionary-encoded fields (any of
 * these value types; dictionary batches, replacements in streams and deltas), variable,
 * large and fixed-size lists and structs of all of these; validity bitmaps; bodies
 * compressed with LZ4_FRAME or ZSTD. Little-endian files only.
 *
 * Safety: the whole input is one memory image (a read-only map of the file, or the
 * caller's bytes). Every offset and length of the metadata is checked against the image
 * before it is used; every array is validated before it is handed out (buffer sizes,
 * null counts, offsets in order and inside their data, UTF-8, dictionary indices inside
 * the dictionary, children long enough), so the accessors below need no checks. Nothing
 * is allocated in proportion to a length field before it has been checked against the
 * bytes that back it; a decompressed buffer is allocated at its declared size only after
 * that size has been checked against what the array needs and the reader's limit.
 * Buffers are used in place where the map aligns them to their element size; otherwise
 * (or when compressed) they are copied into memory owned by the current batch.
 *
 * Errors: functions return 0 (or 1, see arrow_next) or a negative errno: -EBADMSG for a
 * malformed file, -ENOTSUP for something valid that vigil does not read (a type, big
 * endian, a compression codec), -ENOMEM for a buffer over the limit, or the open/mmap
 * errno. err->msg then names the batch, the field and the byte offset, e.g.
 * "batch 2, field 'quote.px', byte 1184: offsets decrease at index 7".
 */
#ifndef VIGIL_ARROW_ARROW_H
#define VIGIL_ARROW_ARROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum arrow_type {
  ARROW_NULL,
  ARROW_BOOL,
  ARROW_INT8,
  ARROW_INT16,
  ARROW_INT32,
  ARROW_INT64,
  ARROW_UINT8,
  ARROW_UINT16,
  ARROW_UINT32,
  ARROW_UINT64,
  ARROW_FLOAT16,
  ARROW_FLOAT32,
  ARROW_FLOAT64,
  ARROW_UTF8,
  ARROW_LARGE_UTF8,
  ARROW_BINARY,
  ARROW_LARGE_BINARY,
  ARROW_FIXED_BINARY,
  ARROW_DECIMAL128,
  ARROW_TIMESTAMP,
  ARROW_DATE32,
  ARROW_DATE64,
  ARROW_TIME32,
  ARROW_TIME64,
  ARROW_DURATION,
  ARROW_LIST,
  ARROW_LARGE_LIST,
  ARROW_FIXED_LIST,
  ARROW_STRUCT,
};

enum arrow_unit { ARROW_SECOND, ARROW_MILLI, ARROW_MICRO, ARROW_NANO };

struct arrow_field {
  const char *name;   /* "" when the file has none */
  enum arrow_type type; /* for a dictionary-encoded field: the dictionary's value type */
  bool nullable;
  enum arrow_unit unit; /* timestamp, time32/64, duration */
  const char *timezone; /* timestamp: the zone as written ("UTC", "+01:00"), or NULL */
  int32_t width;        /* fixed_binary: bytes per value; fixed_list: values per list */
  int32_t precision, scale; /* decimal128 */
  uint32_t n_children;      /* list: 1, fixed_list: 1, struct: its fields */
  const struct arrow_field *children;
  bool dictionary;          /* dictionary-encoded: the array holds indices */
  bool dict_ordered;
  int64_t dict_id;
  enum arrow_type index_type; /* ARROW_INT8..ARROW_UINT64 */
};

struct arrow_schema {
  uint32_t n_fields;
  const struct arrow_field *fields;
};

/* One column (or child) of a batch. Offsets are 0: element i is at index i. */
struct arrow_array {
  const struct arrow_field *field;
  int64_t length;
  int64_t null_count;
  const uint8_t *validity; /* bit i set = valid; NULL when there are no nulls */
  const uint8_t *values;   /* fixed-width values, bool bits, or dictionary indices */
  const uint8_t *offsets;  /* int32 (utf8, binary, list) or int64 (large_*) offsets */
  const uint8_t *data;     /* bytes of utf8/binary values */
  uint32_t n_children;
  struct arrow_array *children;
  const struct arrow_array *dict; /* dictionary-encoded: the dictionary's values */
};

struct arrow_batch {
  int64_t index;  /* 0-based, in file order */
  int64_t length; /* rows */
  uint32_t n_columns;
  const struct arrow_array *columns;
};

struct arrow_err {
  int code;       /* as returned */
  int64_t batch;  /* -1: not in a batch (schema, footer, dictionary) */
  int64_t offset; /* byte offset in the input, -1 when none */
  char msg[384];
};

struct arrow_reader;

/* Limits against hostile input; zeros take the defaults. */
struct arrow_limits {
  uint64_t max_buffer; /* largest decompressed buffer, default 1 GiB */
};

/* Maps PATH read-only and reads its schema (and, for the file format, its footer and
 * dictionaries). *out is set on success only; the caller closes it. */
int arrow_open(struct arrow_reader **out, const char *path, const struct arrow_limits *lim,
               struct arrow_err *err);
/* The same over the caller's bytes, which must outlive the reader (not copied). */
int arrow_open_mem(struct arrow_reader **out, const void *data, size_t size,
                   const struct arrow_limits *lim, struct arrow_err *err);
void arrow_close(struct arrow_reader **r);

const struct arrow_schema *arrow_schema(const struct arrow_reader *r);
/* true for the file format, false for a stream. */
bool arrow_is_file(const struct arrow_reader *r);
/* File format: the number of record batches in the footer; stream: -1. */
int64_t arrow_batch_count(const struct arrow_reader *r);
/* The schema's custom metadata value of KEY, or NULL. */
const char *arrow_metadata(const struct arrow_reader *r, const char *key);

/* Reads the next record batch (applying the dictionary batches before it): 1 and *out
 * set, 0 at the end, or a negative error. The batch and every pointer in it stay valid
 * until the next call to arrow_next/arrow_read_batch or arrow_close. After an error the
 * reader stays at the failed batch: later calls return the same error. */
int arrow_next(struct arrow_reader *r, const struct arrow_batch **out, struct arrow_err *err);
/* File format only: batch INDEX, in any order (-ERANGE past the end). */
int arrow_read_batch(struct arrow_reader *r, int64_t index, const struct arrow_batch **out,
                     struct arrow_err *err);

/* ---- values (no checks: the reader validated the array; i < length) ---- */

static inline bool arrow_is_null(const struct arrow_array *a, int64_t i) {
  if (a->field->type == ARROW_NULL) return true;
  return a->validity && !((a->validity[i >> 3] >> (i & 7)) & 1);
}
/* Element i of an int8-64/uint8-32, date, time, timestamp, duration or dictionary-index
 * array (dictionary-encoded: the index), as int64. uint64 above INT64_MAX wraps; use
 * arrow_get_u64. */
int64_t arrow_get_i64(const struct arrow_array *a, int64_t i);
uint64_t arrow_get_u64(const struct arrow_array *a, int64_t i);
/* Any number (ints, floats incl. float16, bool) as a double. */
double arrow_get_f64(const struct arrow_array *a, int64_t i);
bool arrow_get_bool(const struct arrow_array *a, int64_t i);
/* utf8, binary (large too) and fixed_binary/decimal128 bytes of element i. */
const uint8_t *arrow_get_bytes(const struct arrow_array *a, int64_t i, size_t *len);
/* list/large_list/fixed_list: the range of element i in children[0]; returns the count. */
int64_t arrow_get_list(const struct arrow_array *a, int64_t i, int64_t *start);
double arrow_half_to_double(uint16_t h);

/* Renders element i as JSON (null, numbers, strings; binary as hex; decimal as a
 * string with its scale; timestamps as RFC 3339 UTC with the unit's fraction digits;
 * date32/64 "YYYY-MM-DD"; time32/64 "HH:MM:SS[.fff]"; duration as its integer count;
 * NaN/Inf as strings; lists as arrays, structs as objects; dictionary values
 * resolved). */
struct vg_buf;
void arrow_format_json(struct vg_buf *b, const struct arrow_array *a, int64_t i);
/* The same as plain text (strings unquoted, null empty, nested values as JSON). */
void arrow_format_text(struct vg_buf *b, const struct arrow_array *a, int64_t i);
/* A type as text: "int32", "timestamp[ms, tz=UTC]", "dictionary<int8, utf8>",
 * "list<float64>", "struct<a: int8, b: utf8>". */
void arrow_format_type(struct vg_buf *b, const struct arrow_field *f);
const char *arrow_type_name(enum arrow_type t);

#endif
