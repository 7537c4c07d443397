/*
 * arrow_recompress — rewrites an Arrow IPC file or stream with compressed bodies
 * (LZ4_FRAME or ZSTD), for the tests: the official JS implementation (apache-arrow 18)
 * neither writes nor reads compressed bodies, so the golden compressed files are made
 * from the files it wrote, buffer by buffer, as Arrow C++ does: each non-empty buffer
 * becomes an int64 uncompressed length and the compressed bytes (always, even where
 * that does not pay, so every buffer goes through the decompressor), or with ALT_RAW
 * every other buffer -1 and the raw bytes (what a writer does where compression does
 * not pay), so both paths are read. Schema messages are copied as they are; record and
 * dictionary batch messages get new metadata (a small flatbuffer builder below: every
 * table as soffset, padding and 8-byte field slots, vtable first). A file's new footer
 * points at the original footer's schema table, copied whole after it (flatbuffer
 * offsets are relative, so a copy keeps them valid).
 */
#include "arrow_recompress.h"

#include "arrow/arrow_int.h"
#include "core/endian.h"

#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <zstd.h>

static void pad_to(struct vg_buf *b, size_t base, size_t align, size_t extra) {
  static const uint8_t z[8];
  while ((b->len - base + extra) % align) vg_buf_append(b, z, 1);
}

static void put32(struct vg_buf *b, uint32_t v) {
  uint8_t t[4];
  vg_put_le32(t, v);
  vg_buf_append(b, t, 4);
}

static void put64(struct vg_buf *b, uint64_t v) {
  uint8_t t[8];
  vg_put_le64(t, v);
  vg_buf_append(b, t, 8);
}

/* A table of N slots (0..n-1), each 8 bytes: value little endian, or a uoffset to patch.
 * Returns the table position; slot k's field is at pos + 8 + 8k. */
struct slot {
  bool present;
  int size; /* 1, 2, 4 or 8 bytes */
  uint64_t v;
};
static size_t put_table(struct vg_buf *b, size_t base, const struct slot *s, int n) {
  pad_to(b, base, 2, 0);
  size_t vt = b->len;
  uint8_t t[2];
  vg_put_le16(t, (uint16_t)(4 + 2 * n));
  vg_buf_append(b, t, 2);
  vg_put_le16(t, (uint16_t)(8 + 8 * n));
  vg_buf_append(b, t, 2);
  for (int k = 0; k < n; k++) {
    vg_put_le16(t, s[k].present ? (uint16_t)(8 + 8 * k) : 0);
    vg_buf_append(b, t, 2);
  }
  pad_to(b, base, 8, 0);
  size_t pos = b->len;
  put32(b, (uint32_t)(pos - vt)); /* soffset: vtable = table - soffset */
  put32(b, 0);
  for (int k = 0; k < n; k++) put64(b, s[k].present ? s[k].v : 0);
  return pos - base;
}

static void patch_off(struct vg_buf *b, size_t base, size_t field, size_t target) {
  vg_put_le32((uint8_t *)b->data + base + field, (uint32_t)(target - field));
}

static size_t put_vector(struct vg_buf *b, size_t base, const void *elems, uint32_t n, size_t elem) {
  pad_to(b, base, 8, 4);
  size_t pos = b->len - base;
  put32(b, n);
  if (n) vg_buf_append(b, elems, (size_t)n * elem);
  return pos;
}

static int compress(int codec, const uint8_t *src, size_t n, struct vg_buf *out) {
  size_t cap = codec == 0 ? LZ4F_compressFrameBound(n, NULL) : ZSTD_compressBound(n);
  uint8_t *dst = malloc(cap);
  size_t m = codec == 0 ? LZ4F_compressFrame(dst, cap, src, n, NULL) : ZSTD_compress(dst, cap, src, n, 3);
  if (codec == 0 ? LZ4F_isError(m) : ZSTD_isError(m)) {
    free(dst);
    return -1;
  }
  vg_buf_append(out, dst, m);
  free(dst);
  return 0;
}

/* Rewrites one batch message (TYPE 2 or 3; HDR its header table) into OUT. */
static int rewrite_batch(const uint8_t *body, uint8_t type, struct fbt *hdr, int codec, bool alt_raw, struct vg_buf *out,
                         size_t *meta_len, uint64_t *body_len, char *err, size_t errlen) {
  struct fbt rb = *hdr;
  int64_t dict_id = 0;
  uint8_t delta = 0;
  if (type == FB_HDR_DICT) {
    if (arrow__fb_i64(hdr, 0, 0, &dict_id) < 0 || arrow__fb_u8(hdr, 2, 0, &delta) < 0 || arrow__fb_table(hdr, 1, &rb) != 0) {
      snprintf(err, errlen, "bad dictionary batch");
      return -1;
    }
  }
  int64_t rows;
  size_t npos, bpos;
  uint32_t nn, nb;
  if (arrow__fb_i64(&rb, 0, 0, &rows) < 0 || arrow__fb_vector(&rb, 1, 16, &npos, &nn) < 0 ||
      arrow__fb_vector(&rb, 2, 16, &bpos, &nb) < 0 || arrow__fb_has(&rb, 3) != 0) {
    snprintf(err, errlen, "bad or already compressed record batch");
    return -1;
  }
  /* the new body */
  struct vg_buf nbody;
  vg_buf_init(&nbody);
  uint8_t *bufs = calloc(nb ? nb : 1, 16);
  for (uint32_t i = 0; i < nb; i++) {
    const uint8_t *e = rb.b->p + bpos + 16 * (size_t)i;
    uint64_t off = vg_get_le64(e), len = vg_get_le64(e + 8);
    size_t start = nbody.len;
    if (len) {
      put64(&nbody, len);
      bool raw = alt_raw && (i % 2 == 1);
      if (!raw && compress(codec, body + off, (size_t)len, &nbody) < 0) {
        snprintf(err, errlen, "compression failed");
        free(bufs);
        vg_buf_free(&nbody);
        return -1;
      }
      if (raw) { /* -1 and the raw bytes, as a writer does where compression does not pay */
        nbody.len = start;
        put64(&nbody, UINT64_MAX);
        vg_buf_append(&nbody, body + off, (size_t)len);
      }
    }
    vg_put_le64(bufs + 16 * (size_t)i, start);
    vg_put_le64(bufs + 16 * (size_t)i + 8, nbody.len - start);
    pad_to(&nbody, 0, 8, 0);
  }
  /* the new metadata */
  struct vg_buf m;
  vg_buf_init(&m);
  put32(&m, 0); /* root */
  struct slot ms[4] = {{true, 2, 4}, {true, 1, type}, {true, 4, 0}, {true, 8, nbody.len}};
  size_t msg = put_table(&m, 0, ms, 4);
  vg_put_le32((uint8_t *)m.data, (uint32_t)msg);
  size_t rb_field = msg + 8 + 16;
  if (type == FB_HDR_DICT) {
    struct slot ds[3] = {{true, 8, (uint64_t)dict_id}, {true, 4, 0}, {true, 1, delta}};
    size_t db = put_table(&m, 0, ds, 3);
    patch_off(&m, 0, msg + 8 + 16, db);
    rb_field = db + 8 + 8;
  }
  struct slot rs[4] = {{true, 8, (uint64_t)rows}, {true, 4, 0}, {true, 4, 0}, {true, 4, 0}};
  size_t rbt = put_table(&m, 0, rs, 4);
  patch_off(&m, 0, rb_field, rbt);
  struct slot cs[2] = {{true, 1, (uint64_t)codec}, {true, 1, 0}};
  size_t ct = put_table(&m, 0, cs, 2);
  patch_off(&m, 0, rbt + 8 + 24, ct);
  size_t nv = put_vector(&m, 0, rb.b->p + npos, nn, 16);
  patch_off(&m, 0, rbt + 8 + 8, nv);
  size_t bv = put_vector(&m, 0, bufs, nb, 16);
  patch_off(&m, 0, rbt + 8 + 16, bv);
  pad_to(&m, 0, 8, 0);
  put32(out, 0xFFFFFFFFu);
  put32(out, (uint32_t)m.len);
  vg_buf_append(out, m.data, m.len);
  vg_buf_append(out, nbody.data, nbody.len);
  *meta_len = 8 + m.len;
  *body_len = nbody.len;
  free(bufs);
  vg_buf_free(&m);
  vg_buf_free(&nbody);
  return 0;
}

int arrow_recompress(const uint8_t *in, size_t n, int codec, bool alt_raw, struct vg_buf *out, char *err, size_t errlen) {
  bool file = n >= 8 && memcmp(in, "ARROW1\0\0", 8) == 0;
  size_t pos = 0, end = n;
  struct fb footer = {0};
  struct fbt froot, fschema;
  if (file) {
    int32_t flen = (int32_t)vg_get_le32(in + n - 10);
    end = n - 10 - (size_t)flen;
    footer.p = in + end;
    footer.n = (size_t)flen;
    if (arrow__fb_root(&footer, &froot) < 0 || arrow__fb_table(&froot, 1, &fschema) != 0) {
      snprintf(err, errlen, "bad footer");
      return -1;
    }
    pos = 8;
    vg_buf_append(out, "ARROW1\0\0", 8);
  }
  struct vg_buf dblocks, bblocks;
  vg_buf_init(&dblocks);
  vg_buf_init(&bblocks);
  uint32_t nd = 0, nbk = 0;
  int rc = -1;
  while (pos + 8 <= end) {
    uint32_t len = vg_get_le32(in + pos + 4);
    if (vg_get_le32(in + pos) != 0xFFFFFFFFu) {
      snprintf(err, errlen, "legacy framing not handled");
      goto done;
    }
    if (len == 0) break;
    struct fb b = {.p = in + pos + 8, .n = len};
    struct fbt root, hdr;
    uint8_t type;
    int64_t body_len;
    if (arrow__fb_root(&b, &root) < 0 || arrow__fb_u8(&root, 1, 0, &type) < 0 || arrow__fb_table(&root, 2, &hdr) != 0 ||
        arrow__fb_i64(&root, 3, 0, &body_len) < 0) {
      snprintf(err, errlen, "bad message at %zu", pos);
      goto done;
    }
    size_t msg_end = pos + 8 + len + (size_t)body_len;
    size_t at = out->len;
    if (type == FB_HDR_SCHEMA) {
      vg_buf_append(out, in + pos, msg_end - pos);
    } else {
      size_t meta_len;
      uint64_t blen;
      if (rewrite_batch(in + pos + 8 + len, type, &hdr, codec, alt_raw, out, &meta_len, &blen, err, errlen) < 0) goto done;
      uint8_t blk[24] = {0};
      vg_put_le64(blk, at);
      vg_put_le32(blk + 8, (uint32_t)meta_len);
      vg_put_le64(blk + 16, blen);
      if (type == FB_HDR_DICT) vg_buf_append(&dblocks, blk, 24), nd++;
      else vg_buf_append(&bblocks, blk, 24), nbk++;
    }
    pos = msg_end;
  }
  put32(out, 0xFFFFFFFFu);
  put32(out, 0);
  if (file) {
    size_t fstart = out->len;
    put32(out, 0);
    struct slot fs[4] = {{true, 2, 4}, {true, 4, 0}, {true, 4, 0}, {true, 4, 0}};
    size_t ft = put_table(out, fstart, fs, 4);
    vg_put_le32((uint8_t *)out->data + fstart, (uint32_t)ft);
    size_t dv = put_vector(out, fstart, dblocks.data, nd, 24);
    patch_off(out, fstart, ft + 8 + 16, dv);
    size_t bv = put_vector(out, fstart, bblocks.data, nbk, 24);
    patch_off(out, fstart, ft + 8 + 24, bv);
    pad_to(out, fstart, 8, 0);
    size_t copy = out->len - fstart;
    vg_buf_append(out, footer.p, footer.n);
    patch_off(out, fstart, ft + 8 + 8, copy + fschema.pos);
    pad_to(out, fstart, 8, 0);
    put32(out, (uint32_t)(out->len - fstart));
    vg_buf_append(out, "ARROW1", 6);
  }
  rc = 0;
done:
  vg_buf_free(&dblocks);
  vg_buf_free(&bblocks);
  return rc;
}

/* ---- a large_list stream, which apache-arrow JS 18 cannot write ---- */

static size_t put_string(struct vg_buf *b, size_t base, const char *s) {
  pad_to(b, base, 4, 0);
  size_t pos = b->len - base;
  put32(b, (uint32_t)strlen(s));
  vg_buf_append(b, s, strlen(s) + 1);
  return pos;
}

static void frame(struct vg_buf *out, struct vg_buf *m, const void *body, size_t body_len) {
  pad_to(m, 0, 8, 0);
  put32(out, 0xFFFFFFFFu);
  put32(out, (uint32_t)m->len);
  vg_buf_append(out, m->data, m->len);
  if (body_len) vg_buf_append(out, body, body_len);
}

void arrow_test_large_list(struct vg_buf *out) {
  struct vg_buf m;
  vg_buf_init(&m);
  /* the schema: ll: large_list<item: int32> */
  put32(&m, 0);
  struct slot ms[4] = {{true, 2, 4}, {true, 1, 1}, {true, 4, 0}, {true, 8, 0}};
  size_t msg = put_table(&m, 0, ms, 4);
  vg_put_le32((uint8_t *)m.data, (uint32_t)msg);
  struct slot ss[2] = {{false, 2, 0}, {true, 4, 0}};
  size_t schema = put_table(&m, 0, ss, 2);
  patch_off(&m, 0, msg + 8 + 16, schema);
  uint32_t zero = 0;
  size_t fields = put_vector(&m, 0, &zero, 1, 4);
  patch_off(&m, 0, schema + 8 + 8, fields);
  struct slot fs[6] = {{true, 4, 0}, {true, 1, 1}, {true, 1, 21}, {true, 4, 0}, {false, 4, 0}, {true, 4, 0}};
  size_t ll = put_table(&m, 0, fs, 6);
  patch_off(&m, 0, fields + 4, ll);
  size_t lt = put_table(&m, 0, NULL, 0);
  patch_off(&m, 0, ll + 8 + 24, lt);
  size_t name = put_string(&m, 0, "ll");
  patch_off(&m, 0, ll + 8, name);
  size_t kids = put_vector(&m, 0, &zero, 1, 4);
  patch_off(&m, 0, ll + 8 + 40, kids);
  struct slot is[4] = {{true, 4, 0}, {true, 1, 1}, {true, 1, 2}, {true, 4, 0}};
  size_t item = put_table(&m, 0, is, 4);
  patch_off(&m, 0, kids + 4, item);
  struct slot ints[2] = {{true, 4, 32}, {true, 1, 1}};
  size_t it = put_table(&m, 0, ints, 2);
  patch_off(&m, 0, item + 8 + 24, it);
  name = put_string(&m, 0, "item");
  patch_off(&m, 0, item + 8, name);
  frame(out, &m, NULL, 0);

  /* one batch: [[1, 2], null, [3, null, 5]] */
  uint8_t body[72] = {0};
  body[0] = 0x05;
  const int64_t offs[4] = {0, 2, 2, 5};
  for (int i = 0; i < 4; i++) vg_put_le64(body + 8 + 8 * i, (uint64_t)offs[i]);
  body[40] = 0x17;
  const int32_t vals[5] = {1, 2, 3, 0, 5};
  for (int i = 0; i < 5; i++) vg_put_le32(body + 48 + 4 * i, (uint32_t)vals[i]);
  uint8_t nodes[32], bufs[64];
  const uint64_t nv[4] = {3, 1, 5, 1}, bv[8] = {0, 1, 8, 32, 40, 1, 48, 20};
  for (int i = 0; i < 4; i++) vg_put_le64(nodes + 8 * i, nv[i]);
  for (int i = 0; i < 8; i++) vg_put_le64(bufs + 8 * i, bv[i]);
  vg_buf_reset(&m);
  put32(&m, 0);
  struct slot bm[4] = {{true, 2, 4}, {true, 1, 3}, {true, 4, 0}, {true, 8, sizeof body}};
  msg = put_table(&m, 0, bm, 4);
  vg_put_le32((uint8_t *)m.data, (uint32_t)msg);
  struct slot rs[3] = {{true, 8, 3}, {true, 4, 0}, {true, 4, 0}};
  size_t rb = put_table(&m, 0, rs, 3);
  patch_off(&m, 0, msg + 8 + 16, rb);
  size_t nvec = put_vector(&m, 0, nodes, 2, 16);
  patch_off(&m, 0, rb + 8 + 8, nvec);
  size_t bvec = put_vector(&m, 0, bufs, 4, 16);
  patch_off(&m, 0, rb + 8 + 16, bvec);
  frame(out, &m, body, sizeof body);
  put32(out, 0xFFFFFFFFu);
  put32(out, 0);
  vg_buf_free(&m);
}
