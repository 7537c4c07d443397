/*
 * codec — the column codecs a chunk of points is stored with (module-private).
 *
 * Every encoder appends one self-contained block to a vg_buf; every decoder reads a
 * whole block back from a byte span. Blocks start with the value count as an unsigned
 * LEB128 varint (tsdb__float_best blocks start with a 1-byte tag first) and, where they
 * hold a bit stream, end with zero padding to the next byte: a decoder accepts exactly
 * one block and nothing after it. The byte format of each codec is documented at the
 * top of its file; bit streams are written most significant bit first.
 *
 * Decoders treat their input as hostile: on any malformed, truncated or over-long
 * input, or when the block holds more than `cap` values, they return -1 and the
 * contents of `out` are unspecified. They never read outside [p, p+len) and never
 * allocate more than O(cap) or O(len) bytes. On success they return 0 and set *n.
 */
#ifndef VIGIL_TSDB_CODEC_H
#define VIGIL_TSDB_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* ---- bits.c: varints and a bit writer/reader (MSB first) ---- */
void tsdb__put_uvarint(struct vg_buf *b, uint64_t v);
/* Reads a varint at p[*pos..len); advances *pos. -1 on truncation or overflow. */
int tsdb__get_uvarint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v);

static inline uint64_t tsdb__zigzag(uint64_t d) { return (d << 1) ^ (0 - (d >> 63)); }
static inline uint64_t tsdb__unzigzag(uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }

struct tsdb__bitw {
  struct vg_buf *b;
  uint64_t acc; /* bits not yet written, in the low nacc bits */
  unsigned nacc; /* 0..31 between calls */
};
void tsdb__bitw_init(struct tsdb__bitw *w, struct vg_buf *b);
/* Writes out the top 32 of the nacc (32..63) bits held; inline while the buffer has
 * room, bits.c grows it. */
void tsdb__bitw_spill_grow(struct tsdb__bitw *w);
static inline void tsdb__bitw_spill(struct tsdb__bitw *w) {
  struct vg_buf *b = w->b;
  if (b->cap - b->len < 5) { /* 4 bytes and vg_buf's terminating NUL */
    tsdb__bitw_spill_grow(w);
    return;
  }
  w->nacc -= 32;
  uint32_t x = (uint32_t)(w->acc >> w->nacc);
  uint8_t *o = (uint8_t *)b->data + b->len;
  o[0] = (uint8_t)(x >> 24), o[1] = (uint8_t)(x >> 16), o[2] = (uint8_t)(x >> 8), o[3] = (uint8_t)x;
  o[4] = 0;
  b->len += 4;
  w->acc &= (1ull << w->nacc) - 1;
}
/* Appends the low nbits (0..64) of v. Inline: the encoders call it once or twice per
 * value, and a call cost as much as the work. */
static inline void tsdb__bitw_put(struct tsdb__bitw *w, uint64_t v, unsigned nbits) {
  VG_ASSERT(nbits <= 64);
  if (nbits > 32) {
    uint64_t hi = v >> 32;
    unsigned n = nbits - 32;
    /* nacc <= 31 on entry, so acc never holds more than 63 bits */
    w->acc = (w->acc << n) | (hi & ((1ull << n) - 1));
    w->nacc += n;
    if (w->nacc >= 32) tsdb__bitw_spill(w);
    nbits = 32;
  }
  v &= (1ull << nbits) - 1; /* nbits <= 32 here, so the shift is defined */
  w->acc = (w->acc << nbits) | v;
  w->nacc += nbits;
  if (w->nacc >= 32) tsdb__bitw_spill(w);
}
/* Pads the last byte with zero bits and writes it. */
void tsdb__bitw_flush(struct tsdb__bitw *w);

struct tsdb__bitr {
  const uint8_t *p;
  size_t len; /* bytes */
  size_t pos; /* bits consumed */
};
void tsdb__bitr_init(struct tsdb__bitr *r, const uint8_t *p, size_t len);
/* Reads nbits (0..64) into *v; -1 when fewer remain. */
int tsdb__bitr_get(struct tsdb__bitr *r, unsigned nbits, uint64_t *v);
/* 0 if only zero padding (< 8 bits) is left, else -1. */
int tsdb__bitr_finish(const struct tsdb__bitr *r);

/* Reads the leading count of a block (not of a tsdb__float_best block). */
int tsdb__block_count(const void *p, size_t len, size_t *n);
/* Reads the count (-1 if above cap) and sets r to the bit stream that follows it. */
int tsdb__block_begin(const void *p, size_t len, size_t cap, size_t *n, struct tsdb__bitr *r);

/* ---- codec_int.c: int64/uint64, delta + zig-zag + bit packing per 64 values ---- */
void tsdb__int_encode(struct vg_buf *out, const int64_t *v, size_t n);
int tsdb__int_decode(const void *p, size_t len, int64_t *out, size_t cap, size_t *n);
void tsdb__uint_encode(struct vg_buf *out, const uint64_t *v, size_t n);
int tsdb__uint_decode(const void *p, size_t len, uint64_t *out, size_t cap, size_t *n);

/* ---- codec_time.c: int64 ns timestamps, Gorilla delta-of-delta ---- */
void tsdb__time_encode(struct vg_buf *out, const int64_t *t, size_t n);
int tsdb__time_decode(const void *p, size_t len, int64_t *out, size_t cap, size_t *n);

/* ---- codec_float.c: doubles, Gorilla XOR (bit-exact) ---- */
void tsdb__float_encode(struct vg_buf *out, const double *v, size_t n);
int tsdb__float_decode(const void *p, size_t len, double *out, size_t cap, size_t *n);

/* ---- codec_decimal.c: doubles that are decimals with 0..9 fraction digits ---- */
#define TSDB__DECIMAL_MAX_SCALE 9
/* Smallest scale s (0..9) at which every value is exactly llround(v*10^s)/10^s, or
 * -1 if there is none (NaN, ±Inf, -0.0, too large for int64, or too many digits). */
int tsdb__decimal_scale(const double *v, size_t n);
/* Encodes at the scale tsdb__decimal_scale found; -1 (nothing appended) if none. */
int tsdb__decimal_encode(struct vg_buf *out, const double *v, size_t n);
int tsdb__decimal_decode(const void *p, size_t len, double *out, size_t cap, size_t *n);

enum { TSDB__FLOAT_TAG_XOR = 0, TSDB__FLOAT_TAG_DECIMAL = 1 };
/* A 1-byte tag then the smaller of the decimal and the XOR block. */
void tsdb__float_encode_best(struct vg_buf *out, const double *v, size_t n);
int tsdb__float_decode_best(const void *p, size_t len, double *out, size_t cap, size_t *n);

/* ---- codec_str.c: strings through a dictionary ---- */
#define TSDB__STR_MAX 4096 /* longest string, in bytes */
struct tsdb__str {
  const char *p; /* not NUL-terminated */
  size_t len;
};
/* -1 (nothing appended) if a string is longer than TSDB__STR_MAX. */
int tsdb__str_encode(struct vg_buf *out, const struct tsdb__str *s, size_t n);
/* The decoded strings point into p: they live as long as the input does. */
int tsdb__str_decode(const void *p, size_t len, struct tsdb__str *out, size_t cap, size_t *n);

/* ---- codec_bool.c: bools, one bit each ---- */
void tsdb__bool_encode(struct vg_buf *out, const uint8_t *v, size_t n); /* v[i] != 0 */
int tsdb__bool_decode(const void *p, size_t len, uint8_t *out, size_t cap, size_t *n);

#endif
