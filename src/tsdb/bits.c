/*
 * bits — the byte and bit plumbing the codecs share: LEB128 varints and an MSB-first
 * bit writer (onto a vg_buf) and bounds-checked bit reader (over a byte span).
 *
 * Varint: 7 bits per byte, least significant group first, high bit set on every byte
 * but the last; at most 10 bytes, and a 10th byte above 1 (which would overflow 64
 * bits) is rejected. Bit streams: the first bit written is the top bit of the first
 * byte; the last byte is padded with zero bits.
 */
#include "tsdb/codec.h"

void tsdb__put_uvarint(struct vg_buf *b, uint64_t v) {
  uint8_t tmp[10];
  size_t n = 0;
  while (v >= 0x80) {
    tmp[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  tmp[n++] = (uint8_t)v;
  vg_buf_append(b, tmp, n);
}

int tsdb__get_uvarint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v) {
  uint64_t x = 0;
  for (unsigned i = 0; i < 10; i++) {
    if (*pos >= len) return -1;
    uint8_t c = p[(*pos)++];
    if (i == 9 && c > 1) return -1;
    x |= (uint64_t)(c & 0x7f) << (7 * i);
    if (!(c & 0x80)) {
      *v = x;
      return 0;
    }
  }
  return -1;
}

void tsdb__bitw_init(struct tsdb__bitw *w, struct vg_buf *b) {
  w->b = b;
  w->acc = 0;
  w->nacc = 0;
}

/* Writes out the whole bytes held in acc. */
static void bitw_drain(struct tsdb__bitw *w) {
  uint8_t tmp[8];
  size_t k = 0;
  while (w->nacc >= 8) {
    w->nacc -= 8;
    tmp[k++] = (uint8_t)(w->acc >> w->nacc);
  }
  w->acc &= (1ull << w->nacc) - 1;
  vg_buf_append(w->b, tmp, k);
}

void tsdb__bitw_spill_grow(struct tsdb__bitw *w) {
  vg_buf_reserve(w->b, 4096);
  tsdb__bitw_spill(w);
}

void tsdb__bitw_flush(struct tsdb__bitw *w) {
  bitw_drain(w);
  if (w->nacc > 0) {
    w->acc <<= 8 - w->nacc;
    w->nacc = 8;
    bitw_drain(w);
  }
}

void tsdb__bitr_init(struct tsdb__bitr *r, const uint8_t *p, size_t len) {
  r->p = p;
  r->len = len;
  r->pos = 0;
}

int tsdb__bitr_get(struct tsdb__bitr *r, unsigned nbits, uint64_t *v) {
  VG_ASSERT(nbits <= 64);
  /* len * 8 cannot overflow: the span is in memory. */
  if (nbits > r->len * 8 - r->pos) return -1;
  uint64_t x = 0;
  while (nbits > 0) {
    unsigned used = (unsigned)(r->pos & 7);
    unsigned avail = 8 - used;
    unsigned take = nbits < avail ? nbits : avail;
    unsigned byte = r->p[r->pos >> 3];
    unsigned chunk = (byte >> (avail - take)) & ((1u << take) - 1);
    x = (x << take) | chunk;
    r->pos += take;
    nbits -= take;
  }
  *v = x;
  return 0;
}

int tsdb__bitr_finish(const struct tsdb__bitr *r) {
  size_t left = r->len * 8 - r->pos;
  if (left >= 8) return -1;
  if (left == 0) return 0;
  unsigned byte = r->p[r->len - 1];
  return (byte & ((1u << left) - 1)) == 0 ? 0 : -1;
}

int tsdb__block_count(const void *p, size_t len, size_t *n) {
  size_t pos = 0;
  uint64_t v;
  if (tsdb__get_uvarint(p, len, &pos, &v) < 0) return -1;
  if (v > SIZE_MAX) return -1;
  *n = (size_t)v;
  return 0;
}

int tsdb__block_begin(const void *p, size_t len, size_t cap, size_t *n, struct tsdb__bitr *r) {
  size_t pos = 0;
  uint64_t v;
  if (tsdb__get_uvarint(p, len, &pos, &v) < 0) return -1;
  if (v > cap) return -1;
  *n = (size_t)v;
  tsdb__bitr_init(r, (const uint8_t *)p + pos, len - pos);
  return 0;
}
