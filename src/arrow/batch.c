/*
 * batch.c — a RecordBatch (Message.fbs: {length 0, nodes 1, buffers 2, compression 3,
 * variadicBufferCounts 4}) into validated arrays.
 *
 * Field nodes (FieldNode {length, null_count}, 16 bytes) and buffers (Buffer {offset,
 * length}, 16 bytes, relative to the body) come in a depth-first walk of the fields;
 * per field: null none; bool and fixed-width (and dictionary indices) validity + values;
 * utf8/binary validity + offsets + data; list validity + offsets, then the child; fixed
 * list and struct validity, then the children. With a BodyCompression each non-empty
 * buffer is an int64 uncompressed length then the compressed bytes (-1: not compressed).
 *
 * Every buffer is checked against what its array needs before it is used: sizes from the
 * node's length, null counts recounted from the bitmap, offsets non-decreasing and inside
 * their data (or their child), UTF-8, dictionary indices inside the dictionary, children
 * as long as their parent needs.
 */
#include "arrow/arrow_int.h"

#include "core/core.h"
#include "core/endian.h"

#include <errno.h>
#include <stdio.h>

#define MAX_DEPTH 64

struct dctx {
  struct arrow_reader *r;
  struct fb *b;
  const struct arrow__body *body;
  size_t nodes_pos, bufs_pos;
  uint32_t n_nodes, n_bufs, ni, bi;
  int codec; /* -1 none */
  struct arrow__own *own;
  struct arrow_err *err;
  char path[512];
};

/* Keeps empty buffers non-NULL and aligned for any element. */
static const uint64_t empty_buf[2];

static int fail(struct dctx *c, int code, int64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct dctx *c, int code, int64_t off, const char *fmt, ...) {
  char m[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m, sizeof m, fmt, ap);
  va_end(ap);
  return arrow__fail(c->err, code, c->body->batch, off, c->path[0] ? c->path : NULL, "%s%s",
                     c->body->batch < 0 ? "dictionary batch: " : "", m);
}

static int next_node(struct dctx *c, int64_t *len, int64_t *nulls) {
  if (c->ni >= c->n_nodes)
    return fail(c, -EBADMSG, (int64_t)c->body->meta_off, "%u field nodes for more fields", c->n_nodes);
  size_t at = c->nodes_pos + 16 * (size_t)c->ni++;
  *len = (int64_t)vg_get_le64(c->b->p + at);
  *nulls = (int64_t)vg_get_le64(c->b->p + at + 8);
  if (*len < 0 || *nulls < 0 || *nulls > *len)
    return fail(c, -EBADMSG, (int64_t)(c->body->meta_off + at), "bad field node (length %lld, null count %lld)",
                (long long)*len, (long long)*nulls);
  return 0;
}

/* The next buffer, at least NEED bytes, aligned to ALIGN. *abs: its offset in the input. */
static int next_buffer(struct dctx *c, size_t align, uint64_t need, const uint8_t **out, uint64_t *size,
                       int64_t *abs) {
  if (c->bi >= c->n_bufs)
    return fail(c, -EBADMSG, (int64_t)c->body->meta_off, "%u buffers for more buffers", c->n_bufs);
  size_t at = c->bufs_pos + 16 * (size_t)c->bi++;
  int64_t off = (int64_t)vg_get_le64(c->b->p + at), len = (int64_t)vg_get_le64(c->b->p + at + 8);
  *abs = (int64_t)(c->body->body_off + (uint64_t)(off < 0 ? 0 : off));
  if (off < 0 || len < 0 || (uint64_t)off > c->body->body_len || (uint64_t)len > c->body->body_len - (uint64_t)off)
    return fail(c, -EBADMSG, (int64_t)(c->body->meta_off + at), "buffer %u (offset %lld, length %lld) outside the body of %llu bytes",
                c->bi - 1, (long long)off, (long long)len, (unsigned long long)c->body->body_len);
  const uint8_t *p = c->body->body + off;
  uint64_t n = (uint64_t)len;
  if (c->codec >= 0 && n > 0) {
    if (n < 8) return fail(c, -EBADMSG, *abs, "compressed buffer of %llu bytes, shorter than its length prefix", (unsigned long long)n);
    int64_t ulen = (int64_t)vg_get_le64(p);
    p += 8;
    n -= 8;
    if (ulen != -1) {
      if (ulen < 0) return fail(c, -EBADMSG, *abs, "negative uncompressed length %lld", (long long)ulen);
      if ((uint64_t)ulen < need)
        return fail(c, -EBADMSG, *abs, "buffer of %lld bytes, the array needs %llu", (long long)ulen, (unsigned long long)need);
      if ((uint64_t)ulen > c->r->lim.max_buffer)
        return fail(c, -ENOMEM, *abs, "uncompressed length %lld over the limit of %llu bytes", (long long)ulen,
                    (unsigned long long)c->r->lim.max_buffer);
      /* an LZ4 frame cannot expand more than 255 times (plus its block headers) */
      if (c->codec == 0 && (uint64_t)ulen > n * 255 + 65536)
        return fail(c, -EBADMSG, *abs, "uncompressed length %lld impossible for %llu bytes of LZ4", (long long)ulen,
                    (unsigned long long)n);
      uint8_t *dst = ulen ? arrow__own_alloc(c->own, (size_t)ulen) : (uint8_t *)empty_buf;
      const char *why = NULL;
      if (ulen && arrow__decompress(c->codec, p, n, dst, (size_t)ulen, &why) < 0)
        return fail(c, -EBADMSG, *abs, "cannot decompress (%s): %s", c->codec ? "ZSTD" : "LZ4_FRAME", why);
      *out = dst;
      *size = (uint64_t)ulen;
      return 0;
    }
  }
  if (n < need)
    return fail(c, -EBADMSG, *abs, "buffer of %llu bytes, the array needs %llu", (unsigned long long)n, (unsigned long long)need);
  if (n == 0) {
    p = (const uint8_t *)empty_buf;
  } else if ((uintptr_t)p % align) {
    uint8_t *cp = arrow__own_alloc(c->own, (size_t)n);
    memcpy(cp, p, (size_t)n);
    p = cp;
  }
  *out = p;
  *size = n;
  return 0;
}

static int64_t count_nulls(const uint8_t *bits, int64_t len) {
  int64_t valid = 0, full = len >> 3;
  int64_t i = 0;
  for (; i + 8 <= full; i += 8) {
    uint64_t w;
    memcpy(&w, bits + i, 8);
    valid += __builtin_popcountll(w);
  }
  for (; i < full; i++) valid += __builtin_popcount(bits[i]);
  if (len & 7) valid += __builtin_popcount(bits[full] & ((1u << (len & 7)) - 1));
  return len - valid;
}

/* 0 when s[0..n) is valid UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
static int64_t utf8_bad(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (!(w & 0x8080808080808080ull)) {
        i += 8;
        continue;
      }
    }
    uint8_t b = s[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    size_t k;
    uint32_t cp, min;
    if ((b & 0xe0) == 0xc0) k = 1, cp = b & 0x1f, min = 0x80;
    else if ((b & 0xf0) == 0xe0) k = 2, cp = b & 0x0f, min = 0x800;
    else if ((b & 0xf8) == 0xf0) k = 3, cp = b & 0x07, min = 0x10000;
    else return (int64_t)i + 1;
    if (n - i <= k) return (int64_t)i + 1;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xc0) != 0x80) return (int64_t)i + 1;
      cp = (cp << 6) | (s[i + j] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return (int64_t)i + 1;
    i += k + 1;
  }
  return 0;
}

static int64_t get_off(const uint8_t *offs, bool large, int64_t i) {
  if (large) {
    int64_t v;
    memcpy(&v, offs + 8 * i, 8);
    return v;
  }
  int32_t v;
  memcpy(&v, offs + 4 * i, 4);
  return v;
}

/* Offsets of LEN elements: non-decreasing, from >= 0, last <= LIMIT (-1: returns it). */
static int check_offsets(struct dctx *c, const struct arrow_array *a, bool large, int64_t abs, int64_t *last) {
  if (a->length == 0) {
    *last = 0;
    return 0;
  }
  int64_t prev = get_off(a->offsets, large, 0);
  if (prev < 0) return fail(c, -EBADMSG, abs, "negative first offset %lld", (long long)prev);
  for (int64_t i = 1; i <= a->length; i++) {
    int64_t v = get_off(a->offsets, large, i);
    if (v < prev) return fail(c, -EBADMSG, abs, "offsets decrease at index %lld", (long long)i);
    prev = v;
  }
  *last = prev;
  return 0;
}

static int decode(struct dctx *c, const struct arrow_field *f, bool as_values, struct arrow_array *a, int depth);

static int decode_children(struct dctx *c, const struct arrow_field *f, struct arrow_array *a, int depth) {
  for (uint32_t k = 0; k < f->n_children; k++)
    if (decode(c, &f->children[k], false, &a->children[k], depth + 1) < 0) return -1;
  return 0;
}

static int check_dict(struct dctx *c, const struct arrow_field *f, struct arrow_array *a, int bytes, bool is_signed,
                      int64_t abs) {
  struct arrow__dict *d = NULL;
  for (uint32_t k = 0; k < c->r->n_dicts; k++)
    if (c->r->dicts[k].field == f) d = &c->r->dicts[k];
  if (!d || !d->defined)
    return fail(c, -EBADMSG, abs, "dictionary %lld used before any dictionary batch defined it", (long long)f->dict_id);
  a->dict = &d->values;
  int64_t n = d->values.length;
  for (int64_t i = 0; i < a->length; i++) {
    if (a->validity && !((a->validity[i >> 3] >> (i & 7)) & 1)) continue;
    int64_t v;
    switch (bytes) {
    case 1: v = is_signed ? (int8_t)a->values[i] : a->values[i]; break;
    case 2: {
      uint16_t u;
      memcpy(&u, a->values + 2 * i, 2);
      v = is_signed ? (int16_t)u : u;
      break;
    }
    case 4: {
      uint32_t u;
      memcpy(&u, a->values + 4 * i, 4);
      v = is_signed ? (int32_t)u : (int64_t)u;
      break;
    }
    default: {
      uint64_t u;
      memcpy(&u, a->values + 8 * i, 8);
      if (!is_signed && u > INT64_MAX) v = -1;
      else v = (int64_t)u;
    }
    }
    if (v < 0 || v >= n)
      return fail(c, -EBADMSG, abs, "dictionary index %lld at row %lld outside the dictionary of %lld values", (long long)v,
                  (long long)i, (long long)n);
  }
  return 0;
}

int arrow__width(const struct arrow_field *f, bool as_values) {
  enum arrow_type t = f->dictionary && !as_values ? f->index_type : f->type;
  switch (t) {
  case ARROW_INT8: case ARROW_UINT8: return 1;
  case ARROW_INT16: case ARROW_UINT16: case ARROW_FLOAT16: return 2;
  case ARROW_INT32: case ARROW_UINT32: case ARROW_FLOAT32: case ARROW_DATE32: case ARROW_TIME32: return 4;
  case ARROW_INT64: case ARROW_UINT64: case ARROW_FLOAT64: case ARROW_DATE64: case ARROW_TIME64:
  case ARROW_TIMESTAMP: case ARROW_DURATION: return 8;
  case ARROW_DECIMAL128: return 16;
  case ARROW_FIXED_BINARY: return f->width;
  default: return 0;
  }
}

static int decode(struct dctx *c, const struct arrow_field *f, bool as_values, struct arrow_array *a, int depth) {
  size_t plen = strlen(c->path);
  snprintf(c->path + plen, sizeof c->path - plen, "%s%s", plen ? "." : "", f->name);
  int64_t len = 0, nulls = 0, abs = 0;
  const uint8_t *p;
  uint64_t size;
  a->validity = a->values = a->offsets = a->data = NULL;
  a->dict = NULL;
  if (next_node(c, &len, &nulls) < 0) return -1;
  a->length = len;
  a->null_count = nulls;
  bool dict = f->dictionary && !as_values;
  enum arrow_type t = dict ? f->index_type : f->type;
  if (t == ARROW_NULL) {
    a->null_count = len;
    c->path[plen] = 0;
    return 0;
  }
  uint64_t bitmap = (uint64_t)len / 8 + ((len & 7) != 0);
  if (next_buffer(c, 1, nulls ? bitmap : 0, &p, &size, &abs) < 0) return -1;
  if (nulls) {
    int64_t counted = count_nulls(p, len);
    if (counted != nulls)
      return fail(c, -EBADMSG, abs, "null count %lld, but the validity bitmap has %lld", (long long)nulls, (long long)counted);
    a->validity = p;
  }
  int w = arrow__width(f, as_values);
  switch (t) {
  case ARROW_BOOL:
    if (next_buffer(c, 1, bitmap, &p, &size, &abs) < 0) return -1;
    a->values = p;
    break;
  case ARROW_UTF8: case ARROW_LARGE_UTF8: case ARROW_BINARY: case ARROW_LARGE_BINARY:
  case ARROW_LIST: case ARROW_LARGE_LIST: {
    bool large = t == ARROW_LARGE_UTF8 || t == ARROW_LARGE_BINARY || t == ARROW_LARGE_LIST;
    uint64_t ow = large ? 8 : 4;
    if (!large && len >= INT32_MAX) return fail(c, -EBADMSG, abs, "length %lld too long for 32-bit offsets", (long long)len);
    if ((uint64_t)len >= UINT64_MAX / 8 - 1) return fail(c, -EBADMSG, abs, "length %lld", (long long)len);
    if (next_buffer(c, ow, len ? ((uint64_t)len + 1) * ow : 0, &p, &size, &abs) < 0) return -1;
    a->offsets = p;
    int64_t last = 0;
    if (check_offsets(c, a, large, abs, &last) < 0) return -1;
    if (t == ARROW_LIST || t == ARROW_LARGE_LIST) {
      if (decode_children(c, f, a, depth) < 0) return -1;
      if (a->children[0].length < last)
        return fail(c, -EBADMSG, abs, "last offset %lld past the child's %lld values", (long long)last,
                    (long long)a->children[0].length);
      break;
    }
    if (next_buffer(c, 1, (uint64_t)last, &p, &size, &abs) < 0) return -1;
    a->data = p;
    if (t == ARROW_UTF8 || t == ARROW_LARGE_UTF8) {
      for (int64_t i = 0; i < len; i++) {
        if (a->validity && !((a->validity[i >> 3] >> (i & 7)) & 1)) continue;
        int64_t s = get_off(a->offsets, large, i), e = get_off(a->offsets, large, i + 1);
        int64_t bad = utf8_bad(p + s, (size_t)(e - s));
        if (bad) return fail(c, -EBADMSG, abs + s + bad - 1, "invalid UTF-8 in row %lld", (long long)i);
      }
    }
    break;
  }
  case ARROW_FIXED_LIST: {
    if (decode_children(c, f, a, depth) < 0) return -1;
    if (f->width && len > INT64_MAX / f->width) return fail(c, -EBADMSG, abs, "length %lld", (long long)len);
    if (a->children[0].length < len * f->width)
      return fail(c, -EBADMSG, abs, "child of %lld values for %lld lists of %d", (long long)a->children[0].length,
                  (long long)len, (int)f->width);
    break;
  }
  case ARROW_STRUCT:
    if (decode_children(c, f, a, depth) < 0) return -1;
    for (uint32_t k = 0; k < a->n_children; k++)
      if (a->children[k].length < len)
        return fail(c, -EBADMSG, abs, "struct of %lld rows with a child '%s' of %lld", (long long)len,
                    f->children[k].name, (long long)a->children[k].length);
    break;
  default:
    VG_ASSERT(w > 0);
    if ((uint64_t)len > UINT64_MAX / (uint64_t)w) return fail(c, -EBADMSG, abs, "length %lld", (long long)len);
    if (next_buffer(c, w > 8 ? 8 : (size_t)w, (uint64_t)len * (uint64_t)w, &p, &size, &abs) < 0) return -1;
    a->values = p;
    if (dict) {
      bool sgn = t == ARROW_INT8 || t == ARROW_INT16 || t == ARROW_INT32 || t == ARROW_INT64;
      if (check_dict(c, f, a, w, sgn, abs) < 0) return -1;
    }
  }
  c->path[plen] = 0;
  (void)depth;
  return 0;
}

int arrow__decode_batch(struct arrow_reader *r, struct fbt *rb, const struct arrow__body *body,
                        const struct arrow_field *fields, struct arrow_array *arrays, uint32_t n, bool as_dict,
                        struct arrow__own *own, int64_t *length, struct arrow_err *err) {
  struct dctx c = {.r = r, .b = rb->b, .body = body, .own = own, .err = err, .codec = -1};
  int64_t rows;
  struct fbt comp;
  int hc = arrow__fb_table(rb, 3, &comp);
  size_t vpos;
  uint32_t nv;
  if (arrow__fb_i64(rb, 0, 0, &rows) < 0 || arrow__fb_vector(rb, 1, 16, &c.nodes_pos, &c.n_nodes) < 0 ||
      arrow__fb_vector(rb, 2, 16, &c.bufs_pos, &c.n_bufs) < 0 || hc < 0 || arrow__fb_vector(rb, 4, 8, &vpos, &nv) < 0)
    return arrow__fail(err, -EBADMSG, body->batch, (int64_t)(body->meta_off + rb->b->at), NULL, "%s: %s",
                       body->batch < 0 ? "dictionary batch" : "record batch", rb->b->why ? rb->b->why : "malformed");
  if (rows < 0) return fail(&c, -EBADMSG, (int64_t)body->meta_off, "negative length %lld", (long long)rows);
  if (nv) return fail(&c, -ENOTSUP, (int64_t)body->meta_off, "variadic buffers (view types) are not supported");
  if (hc == 0) {
    uint8_t codec, method;
    if (arrow__fb_u8(&comp, 0, 0, &codec) < 0 || arrow__fb_u8(&comp, 1, 0, &method) < 0)
      return fail(&c, -EBADMSG, (int64_t)(body->meta_off + rb->b->at), "body compression: %s", rb->b->why);
    if (codec > 1) return fail(&c, -ENOTSUP, (int64_t)body->meta_off, "unknown compression codec %u", codec);
    if (method != 0) return fail(&c, -ENOTSUP, (int64_t)body->meta_off, "unknown compression method %u", method);
    c.codec = codec;
  }
  for (uint32_t k = 0; k < n; k++) {
    c.path[0] = 0;
    if (decode(&c, &fields[k], as_dict, &arrays[k], 1) < 0) return err->code;
    if (arrays[k].length != rows) {
      snprintf(c.path, sizeof c.path, "%s", fields[k].name);
      return fail(&c, -EBADMSG, (int64_t)body->meta_off, "column of %lld rows in a batch of %lld", (long long)arrays[k].length,
                  (long long)rows);
    }
  }
  c.path[0] = 0;
  if (c.ni != c.n_nodes || c.bi != c.n_bufs)
    return fail(&c, -EBADMSG, (int64_t)body->meta_off, "%u field nodes and %u buffers where the schema has %u and %u",
                c.n_nodes, c.n_bufs, c.ni, c.bi);
  *length = rows;
  return 0;
}

/* ---- dictionary deltas ---- */

static void copy_bits(uint8_t *dst, int64_t at, const uint8_t *src, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    int64_t j = at + i;
    bool v = !src || ((src[i >> 3] >> (i & 7)) & 1);
    if (v) dst[j >> 3] |= (uint8_t)(1u << (j & 7));
    else dst[j >> 3] &= (uint8_t)~(1u << (j & 7));
  }
}

int arrow__dict_append(struct arrow__dict *d, const struct arrow_array *b, struct arrow_err *err, size_t off) {
  struct arrow_array *a = &d->values;
  const struct arrow_field *f = a->field;
  int64_t na = a->length, nb = b->length, n = na + nb;
  struct arrow__own own = {0};
  if (f->type == ARROW_NULL) {
    a->length = n;
    a->null_count = n;
    return 0;
  }
  uint8_t *validity = NULL;
  if (a->validity || b->validity) {
    validity = arrow__own_alloc(&own, (size_t)(n / 8 + 1));
    copy_bits(validity, 0, a->validity, na);
    copy_bits(validity, na, b->validity, nb);
  }
  int w = arrow__width(f, true);
  const uint8_t *values = NULL, *offsets = NULL, *data = NULL;
  switch (f->type) {
  case ARROW_BOOL: {
    uint8_t *v = arrow__own_alloc(&own, (size_t)(n / 8 + 1));
    copy_bits(v, 0, a->values, na);
    copy_bits(v, na, b->values, nb);
    values = v;
    break;
  }
  case ARROW_UTF8: case ARROW_LARGE_UTF8: case ARROW_BINARY: case ARROW_LARGE_BINARY: {
    bool large = f->type == ARROW_LARGE_UTF8 || f->type == ARROW_LARGE_BINARY;
    int64_t a0 = na ? get_off(a->offsets, large, 0) : 0, a1 = na ? get_off(a->offsets, large, na) : 0;
    int64_t b0 = nb ? get_off(b->offsets, large, 0) : 0, b1 = nb ? get_off(b->offsets, large, nb) : 0;
    int64_t total = (a1 - a0) + (b1 - b0);
    if (!large && (total > INT32_MAX || n >= INT32_MAX)) {
      arrow__own_free(&own);
      return arrow__fail(err, -EBADMSG, -1, (int64_t)off, f->name, "dictionary delta makes the dictionary too large for 32-bit offsets");
    }
    uint8_t *o = arrow__own_alloc(&own, (size_t)(n + 1) * (large ? 8 : 4));
    uint8_t *dd = arrow__own_alloc(&own, (size_t)total + 1);
    if (a1 > a0) memcpy(dd, a->data + a0, (size_t)(a1 - a0));
    if (b1 > b0) memcpy(dd + (a1 - a0), b->data + b0, (size_t)(b1 - b0));
    for (int64_t i = 0; i <= n; i++) {
      int64_t v = i <= na ? (na ? get_off(a->offsets, large, i) - a0 : 0)
                          : (a1 - a0) + get_off(b->offsets, large, i - na) - b0;
      if (large) memcpy(o + 8 * i, &v, 8);
      else {
        int32_t v32 = (int32_t)v;
        memcpy(o + 4 * i, &v32, 4);
      }
    }
    offsets = o;
    data = dd;
    break;
  }
  default:
    if (w <= 0) {
      arrow__own_free(&own);
      return arrow__fail(err, -ENOTSUP, -1, (int64_t)off, f->name, "dictionary delta of a %s dictionary is not supported",
                         arrow_type_name(f->type));
    }
    uint8_t *v = arrow__own_alloc(&own, (size_t)n * (size_t)w + 1);
    if (na) memcpy(v, a->values, (size_t)na * (size_t)w);
    if (nb) memcpy(v + (size_t)na * (size_t)w, b->values, (size_t)nb * (size_t)w);
    values = v;
  }
  arrow__own_free(&d->own);
  d->own = own;
  a->length = n;
  a->null_count = a->null_count + b->null_count;
  a->validity = validity;
  a->values = values;
  a->offsets = offsets;
  a->data = data;
  return 0;
}
