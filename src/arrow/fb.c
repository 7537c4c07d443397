/*
 * fb.c — a read-only flatbuffers accessor with a bounds check on every read.
 *
 * The wire layout (flatbuffers' binary format): a buffer starts with a uoffset (u32) to
 * its root table. A table starts with an soffset (i32) back to its vtable (vtable =
 * table - soffset); a vtable is u16 vtable size, u16 table size, then one u16 per field:
 * the field's offset from the table start, 0 when absent. Offsets to tables, vectors and
 * strings stored in a field are uoffsets relative to the field's own position. A vector
 * is a u32 count then the elements; a string is a vector of bytes with a NUL after it.
 * All little endian. Nothing here trusts a value before checking it against b->n.
 */
#include "arrow/arrow_int.h"

#include "core/endian.h"

static int bad(struct fb *b, size_t at, const char *why) {
  if (!b->why) {
    b->why = why;
    b->at = at;
  }
  return -1;
}

static bool fits(const struct fb *b, size_t pos, size_t len) {
  return pos <= b->n && len <= b->n - pos;
}

static int table_at(struct fb *b, size_t pos, struct fbt *t) {
  if (!fits(b, pos, 4)) return bad(b, pos, "table outside the metadata");
  int32_t so = (int32_t)vg_get_le32(b->p + pos);
  int64_t vt = (int64_t)pos - so;
  if (vt < 0 || !fits(b, (size_t)vt, 4)) return bad(b, pos, "vtable outside the metadata");
  uint16_t vtsize = vg_get_le16(b->p + vt), objsize = vg_get_le16(b->p + vt + 2);
  if (vtsize < 4 || (vtsize & 1) || !fits(b, (size_t)vt, vtsize))
    return bad(b, (size_t)vt, "bad vtable size");
  if (objsize < 4 || !fits(b, pos, objsize)) return bad(b, pos, "table extends past the metadata");
  t->b = b;
  t->pos = pos;
  t->vt = (size_t)vt;
  t->vtsize = vtsize;
  t->objsize = objsize;
  return 0;
}

int arrow__fb_root(struct fb *b, struct fbt *t) {
  if (!fits(b, 0, 4)) return bad(b, 0, "metadata shorter than its root offset");
  return table_at(b, vg_get_le32(b->p), t);
}

/* Position of field I of size SZ, 0 when absent, or -1. */
static int64_t field_pos(const struct fbt *t, int i, size_t sz) {
  size_t slot = 4 + 2 * (size_t)i;
  if (slot + 2 > t->vtsize) return 0;
  uint16_t off = vg_get_le16(t->b->p + t->vt + slot);
  if (off == 0) return 0;
  if (off < 4 || (size_t)off + sz > t->objsize) return bad(t->b, t->pos, "field outside its table");
  return (int64_t)(t->pos + off);
}

int arrow__fb_has(const struct fbt *t, int i) {
  int64_t p = field_pos(t, i, 1);
  return p < 0 ? -1 : p > 0;
}

int arrow__fb_u8(const struct fbt *t, int i, uint8_t def, uint8_t *out) {
  int64_t p = field_pos(t, i, 1);
  if (p < 0) return -1;
  *out = p ? t->b->p[p] : def;
  return 0;
}

int arrow__fb_i16(const struct fbt *t, int i, int16_t def, int16_t *out) {
  int64_t p = field_pos(t, i, 2);
  if (p < 0) return -1;
  *out = p ? (int16_t)vg_get_le16(t->b->p + p) : def;
  return 0;
}

int arrow__fb_i32(const struct fbt *t, int i, int32_t def, int32_t *out) {
  int64_t p = field_pos(t, i, 4);
  if (p < 0) return -1;
  *out = p ? (int32_t)vg_get_le32(t->b->p + p) : def;
  return 0;
}

int arrow__fb_i64(const struct fbt *t, int i, int64_t def, int64_t *out) {
  int64_t p = field_pos(t, i, 8);
  if (p < 0) return -1;
  *out = p ? (int64_t)vg_get_le64(t->b->p + p) : def;
  return 0;
}

/* Follows the uoffset in field I: 1 absent, 0 with *target, -1. */
static int follow(const struct fbt *t, int i, size_t *target) {
  int64_t p = field_pos(t, i, 4);
  if (p < 0) return -1;
  if (p == 0) return 1;
  uint32_t off = vg_get_le32(t->b->p + p);
  if (off == 0 || !fits(t->b, (size_t)p, off)) return bad(t->b, (size_t)p, "offset outside the metadata");
  *target = (size_t)p + off;
  return 0;
}

int arrow__fb_table(const struct fbt *t, int i, struct fbt *out) {
  size_t target;
  int rc = follow(t, i, &target);
  if (rc != 0) return rc;
  return table_at(t->b, target, out);
}

static int vector_at(struct fb *b, size_t at, size_t elem, size_t *pos, uint32_t *len) {
  if (!fits(b, at, 4)) return bad(b, at, "vector outside the metadata");
  uint32_t n = vg_get_le32(b->p + at);
  if ((uint64_t)n * elem > b->n - at - 4) return bad(b, at, "vector longer than the metadata");
  *pos = at + 4;
  *len = n;
  return 0;
}

int arrow__fb_vector(const struct fbt *t, int i, size_t elem, size_t *pos, uint32_t *len) {
  size_t target;
  int rc = follow(t, i, &target);
  if (rc < 0) return -1;
  if (rc == 1) {
    *pos = 0;
    *len = 0;
    return 0;
  }
  return vector_at(t->b, target, elem, pos, len);
}

int arrow__fb_vec_table(struct fb *b, size_t pos, uint32_t k, struct fbt *out) {
  size_t at = pos + 4 * (size_t)k; /* inside the checked vector */
  uint32_t off = vg_get_le32(b->p + at);
  if (off == 0 || !fits(b, at, off)) return bad(b, at, "offset outside the metadata");
  return table_at(b, at + off, out);
}

int arrow__fb_string(const struct fbt *t, int i, const char **s, uint32_t *len) {
  size_t target, pos;
  int rc = follow(t, i, &target);
  if (rc < 0) return -1;
  if (rc == 1) {
    *s = NULL;
    *len = 0;
    return 0;
  }
  if (vector_at(t->b, target, 1, &pos, len) < 0) return -1;
  if (!fits(t->b, pos, (size_t)*len + 1) || t->b->p[pos + *len] != 0)
    return bad(t->b, target, "string without its terminating NUL");
  if (memchr(t->b->p + pos, 0, *len)) return bad(t->b, target, "string with a NUL inside");
  *s = (const char *)t->b->p + pos;
  return 0;
}
