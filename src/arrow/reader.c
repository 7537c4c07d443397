/*
 * reader.c — opening an Arrow IPC input (a read-only map of the file, or the caller's
 * bytes), the message framing of both formats, dictionaries, and batch iteration.
 *
 * Stream format: messages, each 0xFFFFFFFF, an int32 metadata length L (a multiple of 8,
 * padding included; older writers omit the 0xFFFFFFFF), L bytes of a flatbuffer Message
 * {version 0, header_type 1, header 2, bodyLength 3}, then bodyLength bytes of body. A
 * length of 0 ends the stream (so does the end of the input at a message boundary).
 * The first message is the Schema; DictionaryBatch messages come before the batches
 * that use them.
 *
 * File format: "ARROW1\0\0", a stream, then a flatbuffer Footer {version 0, schema 1,
 * dictionaries 2, recordBatches 3} whose Block structs {int64 offset, int32
 * metaDataLength, pad, int64 bodyLength} (24 bytes) locate each message, an int32 footer
 * length and "ARROW1". The footer is what is read: its schema, its dictionaries (in
 * order, deltas appended; a replacement is refused in a file, as the format says), and
 * its record batches by index.
 */
#include "arrow/arrow_int.h"

#include "core/core.h"
#include "core/endian.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MAX_BUFFER (1ull << 30)

void *arrow__own_alloc(struct arrow__own *o, size_t n) {
  if (o->n == o->cap) {
    o->cap = o->cap ? 2 * o->cap : 8;
    o->p = vg_realloc(o->p, o->cap * sizeof *o->p);
  }
  void *p = vg_malloc(n ? n : 1);
  o->p[o->n++] = p;
  return p;
}

void arrow__own_free(struct arrow__own *o) {
  for (size_t i = 0; i < o->n; i++) free(o->p[i]);
  free(o->p);
  memset(o, 0, sizeof *o);
}

int arrow__fail(struct arrow_err *err, int code, int64_t batch, int64_t offset, const char *field,
                const char *fmt, ...) {
  if (!err) return code;
  char m[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m, sizeof m, fmt, ap);
  va_end(ap);
  char where[224] = "";
  size_t n = 0;
  if (batch >= 0) n += (size_t)snprintf(where + n, sizeof where - n, "batch %lld", (long long)batch);
  if (field && n < sizeof where)
    n += (size_t)snprintf(where + n, sizeof where - n, "%sfield '%s'", n ? ", " : "", field);
  if (offset >= 0 && n < sizeof where)
    n += (size_t)snprintf(where + n, sizeof where - n, "%sbyte %lld", n ? ", " : "", (long long)offset);
  snprintf(err->msg, sizeof err->msg, "%s%s%s", where, where[0] ? ": " : "", m);
  err->code = code;
  err->batch = batch;
  err->offset = offset;
  return code;
}

struct msg {
  struct fb b;
  struct fbt root, hdr;
  uint8_t type;
  size_t start, frame_len, meta_off;
  size_t body_off;
  uint64_t body_len;
  size_t end;
  bool eos;
};

/* The message at POS (which must lie before LIMIT). */
static int read_msg(struct arrow_reader *r, size_t pos, size_t limit, int64_t batch, struct msg *m,
                    struct arrow_err *err) {
  memset(m, 0, sizeof *m);
  m->start = pos;
  if (pos > limit || limit - pos < 4)
    return arrow__fail(err, -EBADMSG, batch, (int64_t)pos, NULL, "truncated: %zu bytes where a message length was expected",
                       pos > limit ? 0 : limit - pos);
  uint32_t first = vg_get_le32(r->data + pos);
  size_t hdr = 4;
  int32_t len = (int32_t)first;
  if (first == 0xFFFFFFFFu) {
    if (limit - pos < 8)
      return arrow__fail(err, -EBADMSG, batch, (int64_t)pos, NULL, "truncated: message length cut off");
    len = (int32_t)vg_get_le32(r->data + pos + 4);
    hdr = 8;
  }
  if (len == 0) {
    m->eos = true;
    m->end = pos + hdr;
    return 0;
  }
  if (len < 0 || (size_t)len > limit - pos - hdr)
    return arrow__fail(err, -EBADMSG, batch, (int64_t)pos, NULL, "metadata length %d past the end (%zu bytes left)", (int)len,
                       limit - pos - hdr);
  m->frame_len = hdr + (size_t)len;
  m->meta_off = pos + hdr;
  m->b.p = r->data + m->meta_off;
  m->b.n = (size_t)len;
  int16_t version;
  int64_t body_len;
  int hh;
  if (arrow__fb_root(&m->b, &m->root) < 0 || arrow__fb_i16(&m->root, 0, 0, &version) < 0 ||
      arrow__fb_u8(&m->root, 1, 0, &m->type) < 0 || (hh = arrow__fb_table(&m->root, 2, &m->hdr)) < 0 ||
      arrow__fb_i64(&m->root, 3, 0, &body_len) < 0)
    return arrow__fail(err, -EBADMSG, batch, (int64_t)(m->meta_off + m->b.at), NULL, "message: %s", m->b.why);
  if (version < 3)
    return arrow__fail(err, -ENOTSUP, batch, (int64_t)m->meta_off, NULL, "metadata version V%d (V4 or later is read)", version + 1);
  if (hh == 1 || m->type < 1 || m->type > 3)
    return arrow__fail(err, m->type == 4 || m->type == 5 ? -ENOTSUP : -EBADMSG, batch, (int64_t)m->meta_off, NULL,
                       "message of type %u (%s)", m->type, m->type == 4 || m->type == 5 ? "a tensor" : hh == 1 ? "no header" : "unknown");
  size_t body_off = m->meta_off + (size_t)len;
  if (body_len < 0 || (uint64_t)body_len > limit - body_off)
    return arrow__fail(err, -EBADMSG, batch, (int64_t)m->meta_off, NULL, "body of %lld bytes past the end (%zu bytes left)",
                       (long long)body_len, limit - body_off);
  m->body_off = body_off;
  m->body_len = (uint64_t)body_len;
  m->end = body_off + (size_t)body_len;
  return 0;
}

static struct arrow__body body_of(const struct arrow_reader *r, const struct msg *m, int64_t batch) {
  struct arrow__body b = {.body = r->data + m->body_off, .body_len = m->body_len, .body_off = m->body_off,
                          .meta_off = m->meta_off, .batch = batch};
  return b;
}

static int apply_dict(struct arrow_reader *r, struct msg *m, struct arrow_err *err) {
  int64_t id;
  uint8_t delta;
  struct fbt data;
  int hd = arrow__fb_table(&m->hdr, 1, &data);
  if (arrow__fb_i64(&m->hdr, 0, 0, &id) < 0 || hd < 0 || arrow__fb_u8(&m->hdr, 2, 0, &delta) < 0)
    return arrow__fail(err, -EBADMSG, -1, (int64_t)(m->meta_off + m->b.at), NULL, "dictionary batch: %s", m->b.why);
  if (hd == 1) return arrow__fail(err, -EBADMSG, -1, (int64_t)m->meta_off, NULL, "dictionary batch without data");
  struct arrow__dict *d = NULL;
  for (uint32_t k = 0; k < r->n_dicts; k++)
    if (r->dicts[k].id == id) d = &r->dicts[k];
  if (!d)
    return arrow__fail(err, -EBADMSG, -1, (int64_t)m->meta_off, NULL, "dictionary batch for id %lld, which no field uses",
                       (long long)id);
  if (!delta && d->defined && r->file)
    return arrow__fail(err, -EBADMSG, -1, (int64_t)m->meta_off, d->field->name,
                       "a second dictionary for id %lld in a file (only deltas may follow)", (long long)id);
  if (delta && !d->defined)
    return arrow__fail(err, -EBADMSG, -1, (int64_t)m->meta_off, d->field->name, "dictionary delta before the dictionary");
  struct arrow__own own = {0};
  struct arrow_array tmp;
  arrow__arrays_init(&tmp, d->field);
  struct arrow__body body = body_of(r, m, -1);
  int64_t len;
  int rc = arrow__decode_batch(r, &data, &body, d->field, &tmp, 1, true, &own, &len, err);
  if (rc == 0 && delta) rc = arrow__dict_append(d, &tmp, err, m->start);
  if (rc < 0 || delta) {
    arrow__arrays_free(&tmp);
    arrow__own_free(&own);
    return rc;
  }
  arrow__arrays_free(&d->values);
  arrow__own_free(&d->own);
  d->values = tmp;
  d->own = own;
  d->defined = true;
  return 0;
}

static int load_batch(struct arrow_reader *r, struct msg *m, int64_t index, const struct arrow_batch **out,
                      struct arrow_err *err) {
  arrow__own_free(&r->batch_own);
  struct arrow__body body = body_of(r, m, index);
  int64_t len;
  int rc = arrow__decode_batch(r, &m->hdr, &body, r->fields, r->columns, r->schema.n_fields, false, &r->batch_own,
                               &len, err);
  if (rc < 0) return rc;
  r->batch.index = index;
  r->batch.length = len;
  r->batch.n_columns = r->schema.n_fields;
  r->batch.columns = r->columns;
  *out = &r->batch;
  return 1;
}

static void setup_columns(struct arrow_reader *r) {
  uint32_t n = r->schema.n_fields;
  r->columns = vg_calloc(n ? n : 1, sizeof *r->columns);
  for (uint32_t k = 0; k < n; k++) arrow__arrays_init(&r->columns[k], &r->fields[k]);
}

struct block {
  int64_t offset, body;
  int32_t meta;
};

static struct block get_block(const struct arrow_reader *r, size_t vec, uint32_t i) {
  const uint8_t *p = r->data + vec + 24 * (size_t)i;
  struct block b = {(int64_t)vg_get_le64(p), (int64_t)vg_get_le64(p + 16), (int32_t)vg_get_le32(p + 8)};
  return b;
}

/* The message of footer block I of vector VEC, checked against the block. */
static int block_msg(struct arrow_reader *r, size_t vec, uint32_t i, int64_t batch, uint8_t want, struct msg *m,
                     struct arrow_err *err) {
  struct block b = get_block(r, vec, i);
  size_t limit = r->footer_pos;
  int64_t at = (int64_t)(vec + 24 * (size_t)i);
  if (b.offset < 8 || (uint64_t)b.offset >= limit || b.meta < 8 || b.body < 0 ||
      (uint64_t)b.meta > limit - (uint64_t)b.offset || (uint64_t)b.body > limit - (uint64_t)b.offset - (uint64_t)b.meta)
    return arrow__fail(err, -EBADMSG, batch, at, NULL, "footer block (offset %lld, metadata %d, body %lld) outside the file",
                       (long long)b.offset, (int)b.meta, (long long)b.body);
  int rc = read_msg(r, (size_t)b.offset, limit, batch, m, err);
  if (rc < 0) return rc;
  if (m->eos || m->type != want)
    return arrow__fail(err, -EBADMSG, batch, b.offset, NULL, "footer block points at a %s, not a %s",
                       m->eos ? "stream end" : m->type == FB_HDR_SCHEMA ? "schema" : m->type == FB_HDR_DICT ? "dictionary batch" : "record batch",
                       want == FB_HDR_DICT ? "dictionary batch" : "record batch");
  if (m->frame_len != (size_t)b.meta || m->body_len != (uint64_t)b.body)
    return arrow__fail(err, -EBADMSG, batch, b.offset, NULL,
                       "footer block says %d + %lld bytes, the message has %zu + %llu", (int)b.meta, (long long)b.body,
                       m->frame_len, (unsigned long long)m->body_len);
  return 0;
}

static int open_file(struct arrow_reader *r, struct arrow_err *err) {
  size_t n = r->size;
  if (n < 8 + 4 + 6 || memcmp(r->data + n - 6, "ARROW1", 6) != 0)
    return arrow__fail(err, -EBADMSG, -1, (int64_t)(n < 6 ? 0 : n - 6), NULL,
                       "truncated: an Arrow file ends with its footer and \"ARROW1\"");
  int32_t flen = (int32_t)vg_get_le32(r->data + n - 10);
  if (flen <= 0 || (size_t)flen > n - 10 - 8)
    return arrow__fail(err, -EBADMSG, -1, (int64_t)(n - 10), NULL, "footer length %d does not fit the file", (int)flen);
  r->footer_pos = n - 10 - (size_t)flen;
  struct fb b = {.p = r->data + r->footer_pos, .n = (size_t)flen};
  struct fbt root, schema;
  int16_t version;
  int hs = -1;
  if (arrow__fb_root(&b, &root) < 0 || arrow__fb_i16(&root, 0, 0, &version) < 0 ||
      (hs = arrow__fb_table(&root, 1, &schema)) < 0 ||
      arrow__fb_vector(&root, 2, 24, &r->dict_blocks, &r->n_dict_blocks) < 0 ||
      arrow__fb_vector(&root, 3, 24, &r->batch_blocks, &r->n_batch_blocks) < 0)
    return arrow__fail(err, -EBADMSG, -1, (int64_t)(r->footer_pos + b.at), NULL, "footer: %s", b.why);
  if (hs == 1) return arrow__fail(err, -EBADMSG, -1, (int64_t)r->footer_pos, NULL, "footer without a schema");
  if (version < 3)
    return arrow__fail(err, -ENOTSUP, -1, (int64_t)r->footer_pos, NULL, "metadata version V%d (V4 or later is read)", version + 1);
  r->dict_blocks += r->footer_pos;
  r->batch_blocks += r->footer_pos;
  int rc = arrow__parse_schema(r, &schema, r->footer_pos, err);
  if (rc < 0) return rc;
  setup_columns(r);
  for (uint32_t i = 0; i < r->n_dict_blocks; i++) {
    struct msg m;
    rc = block_msg(r, r->dict_blocks, i, -1, FB_HDR_DICT, &m, err);
    if (rc < 0) return rc;
    rc = apply_dict(r, &m, err);
    if (rc < 0) return rc;
  }
  return 0;
}

static int open_stream(struct arrow_reader *r, struct arrow_err *err) {
  struct msg m;
  int rc = read_msg(r, 0, r->size, -1, &m, err);
  if (rc < 0) return rc;
  if (m.eos || m.type != FB_HDR_SCHEMA)
    return arrow__fail(err, -EBADMSG, -1, 0, NULL, "the stream does not start with a schema");
  rc = arrow__parse_schema(r, &m.hdr, m.meta_off, err);
  if (rc < 0) return rc;
  setup_columns(r);
  r->pos = m.end;
  return 0;
}

static int open_common(struct arrow_reader *r, const struct arrow_limits *lim, struct arrow_err *err) {
  r->lim.max_buffer = lim && lim->max_buffer ? lim->max_buffer : DEFAULT_MAX_BUFFER;
  r->file = r->size >= 8 && memcmp(r->data, "ARROW1\0\0", 8) == 0;
  if (r->size >= 6 && r->size < 8 && memcmp(r->data, "ARROW1", 6) == 0)
    return arrow__fail(err, -EBADMSG, -1, 6, NULL, "truncated: an Arrow file ends with its footer and \"ARROW1\"");
  if (r->size == 0) return arrow__fail(err, -EBADMSG, -1, 0, NULL, "empty input");
  return r->file ? open_file(r, err) : open_stream(r, err);
}

int arrow_open_mem(struct arrow_reader **out, const void *data, size_t size, const struct arrow_limits *lim,
                   struct arrow_err *err) {
  struct arrow_err local;
  if (!err) err = &local;
  struct arrow_reader *r = vg_calloc(1, sizeof *r);
  r->data = data;
  r->size = size;
  int rc = open_common(r, lim, err);
  if (rc < 0) {
    arrow_close(&r);
    return rc;
  }
  *out = r;
  return 0;
}

int arrow_open(struct arrow_reader **out, const char *path, const struct arrow_limits *lim, struct arrow_err *err) {
  struct arrow_err local;
  if (!err) err = &local;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return arrow__fail(err, -errno, -1, -1, NULL, "cannot open %s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    int e = S_ISREG(st.st_mode) ? errno : EINVAL;
    close(fd);
    return arrow__fail(err, -e, -1, -1, NULL, "cannot read %s: %s", path, e == EINVAL ? "not a regular file" : strerror(e));
  }
  struct arrow_reader *r = vg_calloc(1, sizeof *r);
  if (st.st_size > 0) {
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      close(fd);
      free(r);
      return arrow__fail(err, -e, -1, -1, NULL, "cannot map %s: %s", path, strerror(e));
    }
    r->data = p;
    r->size = (size_t)st.st_size;
    r->mapped = true;
  }
  close(fd);
  int rc = open_common(r, lim, err);
  if (rc < 0) {
    arrow_close(&r);
    return rc;
  }
  *out = r;
  return 0;
}

void arrow_close(struct arrow_reader **rp) {
  struct arrow_reader *r = *rp;
  if (!r) return;
  if (r->columns) {
    for (uint32_t k = 0; k < r->schema.n_fields; k++) arrow__arrays_free(&r->columns[k]);
    free(r->columns);
  }
  for (uint32_t k = 0; k < r->n_dicts; k++) {
    arrow__arrays_free(&r->dicts[k].values);
    arrow__own_free(&r->dicts[k].own);
  }
  free(r->dicts);
  arrow__own_free(&r->batch_own);
  arrow__own_free(&r->schema_own);
  if (r->mapped) munmap((void *)r->data, r->size);
  free(r);
  *rp = NULL;
}

const struct arrow_schema *arrow_schema(const struct arrow_reader *r) { return &r->schema; }
bool arrow_is_file(const struct arrow_reader *r) { return r->file; }
int64_t arrow_batch_count(const struct arrow_reader *r) { return r->file ? (int64_t)r->n_batch_blocks : -1; }

const char *arrow_metadata(const struct arrow_reader *r, const char *key) {
  for (uint32_t k = 0; k < r->n_kv; k++)
    if (strcmp(r->kv[2 * k], key) == 0) return r->kv[2 * k + 1];
  return NULL;
}

static int sticky(struct arrow_reader *r, int rc, struct arrow_err *err) {
  if (rc < 0) {
    r->failed = true;
    if (err) r->sticky = *err;
  }
  return rc;
}

int arrow_read_batch(struct arrow_reader *r, int64_t index, const struct arrow_batch **out, struct arrow_err *err) {
  struct arrow_err local;
  if (!err) err = &local;
  if (!r->file) return arrow__fail(err, -EINVAL, -1, -1, NULL, "random access needs the file format, not a stream");
  if (index < 0 || index >= (int64_t)r->n_batch_blocks)
    return arrow__fail(err, -ERANGE, index, -1, NULL, "no such batch (the file has %u)", r->n_batch_blocks);
  struct msg m;
  int rc = block_msg(r, r->batch_blocks, (uint32_t)index, index, FB_HDR_BATCH, &m, err);
  if (rc < 0) return rc;
  return load_batch(r, &m, index, out, err);
}

int arrow_next(struct arrow_reader *r, const struct arrow_batch **out, struct arrow_err *err) {
  struct arrow_err local;
  if (!err) err = &local;
  if (r->failed) {
    if (err) *err = r->sticky;
    return r->sticky.code;
  }
  if (r->done) return 0;
  if (r->file) {
    if (r->next_index >= (int64_t)r->n_batch_blocks) {
      r->done = true;
      return 0;
    }
    int rc = arrow_read_batch(r, r->next_index, out, err);
    if (rc > 0) r->next_index++;
    return sticky(r, rc, err);
  }
  for (;;) {
    if (r->pos == r->size) {
      r->done = true;
      return 0;
    }
    struct msg m;
    int rc = read_msg(r, r->pos, r->size, r->next_index, &m, err);
    if (rc < 0) return sticky(r, rc, err);
    if (m.eos) {
      r->done = true;
      return 0;
    }
    if (m.type == FB_HDR_SCHEMA)
      return sticky(r, arrow__fail(err, -EBADMSG, r->next_index, (int64_t)m.start, NULL, "a second schema in the stream"), err);
    if (m.type == FB_HDR_DICT) {
      rc = apply_dict(r, &m, err);
      if (rc < 0) return sticky(r, rc, err);
      r->pos = m.end;
      continue;
    }
    rc = load_batch(r, &m, r->next_index, out, err);
    if (rc < 0) return sticky(r, rc, err);
    r->pos = m.end;
    r->next_index++;
    return 1;
  }
}
