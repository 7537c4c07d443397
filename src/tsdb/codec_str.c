/*
 * codec_str — string columns (symbols, venues, order ids) through a per-block
 * dictionary: each distinct string once, then one small integer per value.
 *
 * Format:
 *   count            uvarint
 *   ndict            uvarint, <= count
 *   ndict entries    len: uvarint <= TSDB__STR_MAX, then len bytes (any bytes)
 *   indexes          a codec_int block of count values, each in [0, ndict)
 * Entries are in order of first appearance, so the indexes of a column with few
 * distinct values are small and their deltas pack into a few bits.
 */
#include <stdlib.h>
#include <string.h>

#include "tsdb/codec.h"

static uint64_t fnv1a(const char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 0x100000001b3ull;
  return h;
}

int tsdb__str_encode(struct vg_buf *out, const struct tsdb__str *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i].len > TSDB__STR_MAX) return -1;
  size_t cap = 16;
  while (cap < 2 * n) cap *= 2;
  /* slot -> 1 + dictionary index, 0 = empty; dict -> index into s of its first use */
  size_t *slot = vg_calloc(cap, sizeof *slot);
  size_t *dict = vg_malloc((n ? n : 1) * sizeof *dict);
  int64_t *idx = vg_malloc((n ? n : 1) * sizeof *idx);
  size_t ndict = 0;
  for (size_t i = 0; i < n; i++) {
    size_t h = (size_t)fnv1a(s[i].p, s[i].len) & (cap - 1);
    for (;; h = (h + 1) & (cap - 1)) {
      if (slot[h] == 0) {
        dict[ndict++] = i;
        slot[h] = ndict;
        break;
      }
      const struct tsdb__str *d = &s[dict[slot[h] - 1]];
      if (d->len == s[i].len && (d->len == 0 || memcmp(d->p, s[i].p, d->len) == 0)) break;
    }
    idx[i] = (int64_t)(slot[h] - 1);
  }
  tsdb__put_uvarint(out, n);
  tsdb__put_uvarint(out, ndict);
  for (size_t k = 0; k < ndict; k++) {
    tsdb__put_uvarint(out, s[dict[k]].len);
    vg_buf_append(out, s[dict[k]].p, s[dict[k]].len);
  }
  tsdb__int_encode(out, idx, n);
  free(slot);
  free(dict);
  free(idx);
  return 0;
}

int tsdb__str_decode(const void *p, size_t len, struct tsdb__str *out, size_t cap, size_t *n) {
  const uint8_t *b = p;
  size_t pos = 0, got;
  uint64_t count, ndict, l;
  int rc = -1;
  if (tsdb__get_uvarint(b, len, &pos, &count) < 0 || count > cap) return -1;
  if (tsdb__get_uvarint(b, len, &pos, &ndict) < 0 || ndict > count) return -1;
  if ((count == 0) != (ndict == 0)) return -1;
  struct tsdb__str *dict = vg_malloc((ndict ? ndict : 1) * sizeof *dict);
  int64_t *idx = vg_malloc((count ? count : 1) * sizeof *idx);
  for (size_t k = 0; k < ndict; k++) {
    if (tsdb__get_uvarint(b, len, &pos, &l) < 0 || l > TSDB__STR_MAX || l > len - pos)
      goto out;
    dict[k].p = (const char *)b + pos;
    dict[k].len = (size_t)l;
    pos += (size_t)l;
  }
  if (tsdb__int_decode(b + pos, len - pos, idx, count, &got) < 0 || got != count) goto out;
  for (size_t i = 0; i < count; i++) {
    if (idx[i] < 0 || (uint64_t)idx[i] >= ndict) goto out;
    out[i] = dict[idx[i]];
  }
  *n = (size_t)count;
  rc = 0;
out:
  free(dict);
  free(idx);
  return rc;
}
