/*
 * arrow_int.h — what the files of src/arrow/ share: the bounds-checked flatbuffer
 * reader (fb.c), the reader's state, schema parsing (schema.c), array decoding and
 * validation (batch.c), body decompression (compress.c).
 */
#ifndef VIGIL_ARROW_INT_H
#define VIGIL_ARROW_INT_H

#include "arrow/arrow.h"

#include <stdarg.h>

/* ---- flatbuffers, read-only and bounds-checked ----
 * A buffer is [p, p+n). Every accessor checks that what it reads lies inside it; on a
 * failure it returns -1 and records why and where (relative to p) in the buffer. */
struct fb {
  const uint8_t *p;
  size_t n;
  const char *why; /* first failure */
  size_t at;
};
struct fbt {          /* a table */
  struct fb *b;
  size_t pos;         /* the table's start */
  size_t vt;          /* its vtable */
  uint16_t vtsize, objsize;
};

int arrow__fb_root(struct fb *b, struct fbt *t);
/* Field slot I present? (0: absent, 1: present, -1: malformed) */
int arrow__fb_has(const struct fbt *t, int i);
int arrow__fb_u8(const struct fbt *t, int i, uint8_t def, uint8_t *out);
int arrow__fb_i16(const struct fbt *t, int i, int16_t def, int16_t *out);
int arrow__fb_i32(const struct fbt *t, int i, int32_t def, int32_t *out);
int arrow__fb_i64(const struct fbt *t, int i, int64_t def, int64_t *out);
/* A sub-table: 0 and *out, 1 when absent, -1 malformed. */
int arrow__fb_table(const struct fbt *t, int i, struct fbt *out);
/* A vector of ELEM-byte elements: 0 with *pos (first element) and *len; absent: 0 with
 * *len 0. Its whole extent is checked. */
int arrow__fb_vector(const struct fbt *t, int i, size_t elem, size_t *pos, uint32_t *len);
/* Table element K of a vector of tables at POS. */
int arrow__fb_vec_table(struct fb *b, size_t pos, uint32_t k, struct fbt *out);
/* A string: NUL-terminated inside the buffer; absent: *s NULL. */
int arrow__fb_string(const struct fbt *t, int i, const char **s, uint32_t *len);

/* Message header types and the Type union, as in Message.fbs and Schema.fbs. */
enum {
  FB_HDR_SCHEMA = 1,
  FB_HDR_DICT = 2,
  FB_HDR_BATCH = 3,
};

/* ---- the reader ---- */

/* Memory owned by a batch or a dictionary. */
struct arrow__own {
  void **p;
  size_t n, cap;
};
void *arrow__own_alloc(struct arrow__own *o, size_t n);
void arrow__own_free(struct arrow__own *o);

struct arrow__dict {
  int64_t id;
  const struct arrow_field *field; /* the dictionary-encoded field (its value type) */
  bool defined;
  struct arrow_array values;       /* a tree for the value type */
  struct arrow__own own;           /* its copies, decompressed and concatenated buffers */
};

struct arrow_reader {
  const uint8_t *data;
  size_t size;
  bool mapped;
  bool file;
  struct arrow_limits lim;

  /* schema */
  struct arrow_schema schema;
  struct arrow_field *fields;
  uint32_t n_total_fields;  /* with all children: the nodes of a batch */
  uint32_t n_kv;
  const char **kv;          /* custom metadata key, value, key, value ... */
  struct arrow__own schema_own;

  struct arrow__dict *dicts;
  uint32_t n_dicts;

  /* the current batch */
  struct arrow_batch batch;
  struct arrow_array *columns;
  struct arrow__own batch_own;

  /* iteration: stream position, or the footer's block vectors */
  size_t pos;
  int64_t next_index;
  size_t footer_pos;             /* absolute offset of the footer flatbuffer */
  size_t dict_blocks, batch_blocks; /* positions (absolute) of the Block vectors */
  uint32_t n_dict_blocks, n_batch_blocks;
  bool done;
  struct arrow_err sticky;
  bool failed;
};

/* err helpers: formats "<where>: <msg>" into err and returns code. */
int arrow__fail(struct arrow_err *err, int code, int64_t batch, int64_t offset, const char *field,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* schema.c: parses a Schema table into r->schema. BASE: absolute offset of the buffer. */
int arrow__parse_schema(struct arrow_reader *r, struct fbt *schema, size_t base,
                        struct arrow_err *err);
void arrow__free_schema(struct arrow_reader *r);
/* A tree of arrays mirroring F (its value type when AS_VALUES), allocated with vg_. */
void arrow__arrays_init(struct arrow_array *a, const struct arrow_field *f);
void arrow__arrays_free(struct arrow_array *a);

/* batch.c: decodes a RecordBatch table into the arrays of FIELDS (n of them) with
 * the body at [body, body+body_len) (absolute offset BODY_OFF). AS_DICT: the one column
 * is the dictionary's values of field fields[0]. */
struct arrow__body {
  const uint8_t *body;
  uint64_t body_len;
  size_t body_off;
  size_t meta_off; /* absolute offset of the metadata flatbuffer */
  int64_t batch;   /* for messages; -1 for a dictionary */
};
int arrow__decode_batch(struct arrow_reader *r, struct fbt *rb, const struct arrow__body *body,
                        const struct arrow_field *fields, struct arrow_array *arrays, uint32_t n,
                        bool as_dict, struct arrow__own *own, int64_t *length,
                        struct arrow_err *err);
/* Appends DELTA's values to D's (same value type). */
int arrow__dict_append(struct arrow__dict *d, const struct arrow_array *delta,
                       struct arrow_err *err, size_t off);

/* compress.c: decompresses SRC into DST of exactly DST_LEN bytes. codec 0 LZ4_FRAME,
 * 1 ZSTD. 0, or -1 with a reason. */
int arrow__decompress(int codec, const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len,
                      const char **why);

/* Fixed byte width of a type's values (0 for var-length/nested/bool/null). */
int arrow__width(const struct arrow_field *f, bool as_values);

#endif
