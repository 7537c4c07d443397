/*
 * codec_bool — bools, one bit each.
 *
 * Format:
 *   count            uvarint
 *   bits             count bits, MSB first, 1 = true; zero padding to the next byte
 */
#include "tsdb/codec.h"

void tsdb__bool_encode(struct vg_buf *out, const uint8_t *v, size_t n) {
  struct tsdb__bitw w;
  tsdb__put_uvarint(out, n);
  tsdb__bitw_init(&w, out);
  for (size_t i = 0; i < n; i++) tsdb__bitw_put(&w, v[i] != 0, 1);
  tsdb__bitw_flush(&w);
}

int tsdb__bool_decode(const void *p, size_t len, uint8_t *out, size_t cap, size_t *n) {
  struct tsdb__bitr r;
  size_t count;
  uint64_t x;
  if (tsdb__block_begin(p, len, cap, &count, &r) < 0) return -1;
  for (size_t i = 0; i < count; i++) {
    if (tsdb__bitr_get(&r, 1, &x) < 0) return -1;
    out[i] = (uint8_t)x;
  }
  if (tsdb__bitr_finish(&r) < 0) return -1;
  *n = count;
  return 0;
}
