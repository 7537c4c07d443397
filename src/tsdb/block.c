/*
 * block — the immutable, compressed block files: every point of one retention policy in
 * one time window. Written once (temporary file, fsync, rename, directory fsync), then
 * mapped read-only; never modified, only replaced by compaction or removed by retention.
 *
 * Format (integers little endian; "uv" = unsigned LEB128 varint, "sv" = zig-zag varint):
 *
 *   header, 32 bytes: "VGBLK\n" | u16 version (1) | i64 window start (ns)
 *                     | i64 window length (ns) | u64 sequence
 *   chunks, back to back from offset 32: a time block then a value block (codec.h);
 *                     at most 8192 points each, sorted by time, no duplicate times
 *   index:  uv series count, then per series, sorted by key:
 *             uv key length | key | u8 type | uv chunk count, then per chunk:
 *             sv mint | uv maxt-mint | uv count | uv offset | uv time bytes
 *             | uv value bytes | u64 XXH3 of the chunk's bytes
 *   footer, 32 bytes: u64 index offset | u64 index length
 *                     | u64 XXH3 of header + index | u32 0 | "VGBE"
 *
 * Opening checks the footer, that header + chunks + index + footer is the whole file,
 * the header+index checksum and every bound in the index; reading a chunk checks its
 * own checksum first. A file that fails any check is corrupt (-EBADMSG), never read.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/endian.h"
#include "core/file.h"
#include "tsdb/codec.h"
#include "tsdb/tsdb_int.h"

#define HDR 32
#define FTR 32
#define VERSION 1

static void encode_values(struct vg_buf *b, enum tsdb_type t, const struct tsdb__col *c,
                          size_t from, size_t n) {
  switch (t) {
  case TSDB_FLOAT: tsdb__float_encode_best(b, c->v.f + from, n); break;
  case TSDB_INT: tsdb__int_encode(b, c->v.i + from, n); break;
  case TSDB_UINT: tsdb__uint_encode(b, c->v.u + from, n); break;
  case TSDB_BOOL: tsdb__bool_encode(b, c->v.b + from, n); break;
  case TSDB_STRING:
    /* struct tsdb_str and struct tsdb__str have the same shape; strings are <= 4096
     * bytes by the write path's check, so this cannot fail */
    (void)tsdb__str_encode(b, (const struct tsdb__str *)(const void *)(c->v.s + from), n);
    break;
  }
}

int tsdb__block_write(const char *path, int64_t wstart, int64_t wlen, uint64_t seq,
                      tsdb__block_next_fn next, void *arg, char *err, size_t errlen) {
  struct vg_tmpfile tf;
  int fd = vg_tmpfile_open(&tf, path, 0644);
  if (fd < 0) {
    snprintf(err, errlen, "%s: cannot create its temporary: %s", path, strerror(-fd));
    return fd;
  }
  fd = tf.fd;
  struct vg_buf data, index;
  vg_buf_init(&data);
  vg_buf_init(&index);
  uint8_t h[HDR] = {'V', 'G', 'B', 'L', 'K', '\n', VERSION, 0};
  vg_put_le64(h + 8, (uint64_t)wstart);
  vg_put_le64(h + 16, (uint64_t)wlen);
  vg_put_le64(h + 24, seq);
  vg_buf_append(&data, h, HDR);
  uint64_t off = 0; /* bytes already written to fd */
  int rc = 0;
  struct vg_buf entries; /* the index without its leading series count */
  vg_buf_init(&entries);
  uint64_t nseries = 0;
  struct tsdb__block_input item;
  for (;;) {
    rc = next(arg, &item);
    if (rc <= 0) break;
    rc = 0;
    const struct tsdb__block_input *s = &item;
    if (s->to <= s->from) continue;
    nseries++;
    struct vg_buf *ixb = &entries;
    size_t npts = s->to - s->from;
    size_t nchunks = (npts + TSDB__CHUNK_MAX - 1) / TSDB__CHUNK_MAX;
    tsdb__put_uvarint(ixb, s->keylen);
    vg_buf_append(ixb, s->key, s->keylen);
    vg_buf_putc(ixb, (char)s->type);
    tsdb__put_uvarint(ixb, nchunks);
    for (size_t c = 0; c < nchunks; c++) {
      size_t from = s->from + c * TSDB__CHUNK_MAX;
      size_t cnt = s->to - from < TSDB__CHUNK_MAX ? s->to - from : TSDB__CHUNK_MAX;
      size_t start = data.len;
      tsdb__time_encode(&data, s->col->ts + from, cnt);
      size_t tlen = data.len - start;
      encode_values(&data, s->type, s->col, from, cnt);
      size_t vlen = data.len - start - tlen;
      uint64_t sum = XXH3_64bits(data.data + start, tlen + vlen);
      int64_t mint = s->col->ts[from], maxt = s->col->ts[from + cnt - 1];
      tsdb__put_uvarint(ixb, tsdb__zigzag((uint64_t)mint));
      tsdb__put_uvarint(ixb, (uint64_t)maxt - (uint64_t)mint);
      tsdb__put_uvarint(ixb, cnt);
      tsdb__put_uvarint(ixb, off + start);
      tsdb__put_uvarint(ixb, tlen);
      tsdb__put_uvarint(ixb, vlen);
      uint8_t sb[8];
      vg_put_le64(sb, sum);
      vg_buf_append(ixb, sb, 8);
      if (data.len >= (1u << 20)) {
        rc = vg_write_all(fd, data.data, data.len);
        off += data.len;
        vg_buf_reset(&data);
        if (rc < 0) break;
      }
    }
    if (rc < 0) break;
  }
  tsdb__put_uvarint(&index, nseries);
  vg_buf_append(&index, entries.data, entries.len);
  vg_buf_free(&entries);
  if (rc == 0) {
    uint64_t index_off = off + data.len;
    uint8_t f[FTR] = {0};
    vg_put_le64(f, index_off);
    vg_put_le64(f + 8, index.len);
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    XXH3_64bits_update(st, h, HDR);
    XXH3_64bits_update(st, index.data, index.len);
    vg_put_le64(f + 16, XXH3_64bits_digest(st));
    XXH3_freeState(st);
    memcpy(f + 28, "VGBE", 4);
    vg_buf_append(&data, index.data, index.len);
    vg_buf_append(&data, f, FTR);
    rc = vg_write_all(fd, data.data, data.len);
  }
  /* written to a temporary, synced, renamed, the directory synced */
  if (rc == 0) rc = vg_tmpfile_commit(&tf);
  else vg_tmpfile_abort(&tf);
  if (rc < 0) snprintf(err, errlen, "writing block %s: %s", path, strerror(-rc));
  vg_buf_free(&data);
  vg_buf_free(&index);
  return rc;
}

/* ---- reading ---- */
__attribute__((format(printf, 4, 5))) static int corrupt(char *err, size_t errlen,
                                                          const char *what, const char *fmt, ...) {
  char msg[128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(err, errlen, "corrupt block %s: %s", what ? what : "(memory)", msg);
  return -EBADMSG;
}

static void block_free(struct tsdb__block *b) {
  if (!b) return;
  for (size_t i = 0; i < b->n_series; i++) free(b->series[i].chunks);
  free(b->series);
  free(b->path);
  free(b);
}

static int parse(struct tsdb__block *b, char *err, size_t errlen) {
  const uint8_t *p = b->map;
  size_t len = b->map_len;
  const char *name = b->path;
  if (len < HDR + FTR) return corrupt(err, errlen, name, "%zu bytes: shorter than header+footer", len);
  const uint8_t *f = p + len - FTR;
  if (memcmp(f + 28, "VGBE", 4) != 0) return corrupt(err, errlen, name, "no footer magic (file is %zu bytes)", len);
  if (memcmp(p, "VGBLK\n", 6) != 0) return corrupt(err, errlen, name, "bad header magic");
  uint64_t ioff = vg_get_le64(f), ilen = vg_get_le64(f + 8);
  if (ioff < HDR || ioff > len - FTR || ilen != len - FTR - ioff)
    return corrupt(err, errlen, name, "index offset %llu out of bounds", (unsigned long long)ioff);
  XXH3_state_t *st = XXH3_createState();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, p, HDR);
  XXH3_64bits_update(st, p + ioff, ilen);
  uint64_t sum = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  if (sum != vg_get_le64(f + 16)) return corrupt(err, errlen, name, "header/index checksum mismatch");
  if (p[6] != VERSION || p[7] != 0) return corrupt(err, errlen, name, "unknown version %u", p[6]);
  b->wstart = (int64_t)vg_get_le64(p + 8);
  b->wlen = (int64_t)vg_get_le64(p + 16);
  b->seq = vg_get_le64(p + 24);
  if (b->wlen <= 0) return corrupt(err, errlen, name, "window length %lld", (long long)b->wlen);
  const uint8_t *ix = p + ioff;
  size_t pos = 0;
  uint64_t ns;
  if (tsdb__get_uvarint(ix, ilen, &pos, &ns) < 0 || ns > ilen)
    return corrupt(err, errlen, name, "bad series count");
  b->series = vg_calloc(ns ? ns : 1, sizeof *b->series);
  b->mint = INT64_MAX;
  b->maxt = INT64_MIN;
  for (uint64_t i = 0; i < ns; i++) {
    struct tsdb__block_series *s = &b->series[i];
    uint64_t klen, type, nc;
    if (tsdb__get_uvarint(ix, ilen, &pos, &klen) < 0 || klen > ilen - pos || klen == 0)
      return corrupt(err, errlen, name, "series %llu: bad key", (unsigned long long)i);
    s->key = (const char *)ix + pos;
    s->keylen = klen;
    pos += klen;
    if (pos >= ilen) return corrupt(err, errlen, name, "series %llu: truncated", (unsigned long long)i);
    type = ix[pos++];
    if (type > TSDB_STRING) return corrupt(err, errlen, name, "series %llu: bad type", (unsigned long long)i);
    s->type = (enum tsdb_type)type;
    if (tsdb__get_uvarint(ix, ilen, &pos, &nc) < 0 || nc > ilen - pos || nc == 0)
      return corrupt(err, errlen, name, "series %llu: bad chunk count", (unsigned long long)i);
    if (i > 0) {
      const struct tsdb__block_series *prev = &b->series[i - 1];
      size_t m = prev->keylen < klen ? prev->keylen : klen;
      int c = memcmp(prev->key, s->key, m);
      if (c > 0 || (c == 0 && prev->keylen >= klen))
        return corrupt(err, errlen, name, "series %llu: keys out of order", (unsigned long long)i);
    }
    b->n_series = i + 1;
    s->chunks = vg_calloc(nc, sizeof *s->chunks);
    s->n_chunks = nc;
    for (uint64_t c = 0; c < nc; c++) {
      struct tsdb__chunk_ref *r = &s->chunks[c];
      uint64_t zmint, span, cnt, off, tl, vl;
      if (tsdb__get_uvarint(ix, ilen, &pos, &zmint) < 0 ||
          tsdb__get_uvarint(ix, ilen, &pos, &span) < 0 ||
          tsdb__get_uvarint(ix, ilen, &pos, &cnt) < 0 ||
          tsdb__get_uvarint(ix, ilen, &pos, &off) < 0 ||
          tsdb__get_uvarint(ix, ilen, &pos, &tl) < 0 ||
          tsdb__get_uvarint(ix, ilen, &pos, &vl) < 0 || ilen - pos < 8)
        return corrupt(err, errlen, name, "series %llu: truncated chunk entry", (unsigned long long)i);
      r->mint = (int64_t)tsdb__unzigzag(zmint);
      r->maxt = (int64_t)((uint64_t)r->mint + span);
      r->count = (uint32_t)cnt;
      r->off = off;
      r->tlen = tl;
      r->vlen = vl;
      r->sum = vg_get_le64(ix + pos);
      pos += 8;
      if (cnt == 0 || cnt > TSDB__CHUNK_MAX || r->maxt < r->mint || off < HDR || tl > ioff ||
          vl > ioff || off > ioff - tl - vl || (c > 0 && r->mint <= s->chunks[c - 1].maxt))
        return corrupt(err, errlen, name, "series %llu: chunk out of bounds", (unsigned long long)i);
      s->points += cnt;
      if (r->mint < b->mint) b->mint = r->mint;
      if (r->maxt > b->maxt) b->maxt = r->maxt;
    }
    b->points += s->points;
  }
  if (pos != ilen) return corrupt(err, errlen, name, "%llu trailing index bytes", (unsigned long long)(ilen - pos));
  if (ns == 0) b->mint = b->maxt = b->wstart;
  b->bytes = len;
  return 0;
}

int tsdb__block_parse(const uint8_t *buf, size_t len, struct tsdb__block **out, char *err,
                      size_t errlen) {
  struct tsdb__block *b = vg_calloc(1, sizeof *b);
  atomic_init(&b->refs, 1);
  b->map = buf;
  b->map_len = len;
  int rc = parse(b, err, errlen);
  if (rc < 0) {
    block_free(b);
    return rc;
  }
  *out = b;
  return 0;
}

int tsdb__block_open(const char *path, struct tsdb__block **out, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -errno;
  }
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int e = -errno;
    close(fd);
    snprintf(err, errlen, "%s: %s", path, strerror(-e));
    return e;
  }
  struct tsdb__block *b = vg_calloc(1, sizeof *b);
  atomic_init(&b->refs, 1);
  b->path = vg_strdup(path);
  b->map_len = (size_t)st.st_size;
  if (b->map_len > 0) {
    void *m = mmap(NULL, b->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      int e = -errno;
      close(fd);
      snprintf(err, errlen, "%s: mmap: %s", path, strerror(-e));
      block_free(b);
      return e;
    }
    b->map = m;
  }
  close(fd);
  int rc = parse(b, err, errlen);
  if (rc < 0) {
    if (b->map) munmap((void *)b->map, b->map_len);
    block_free(b);
    return rc;
  }
  *out = b;
  return 0;
}

void tsdb__block_ref(struct tsdb__block *b) { atomic_fetch_add(&b->refs, 1); }

void tsdb__block_unref(struct tsdb__block *b) {
  if (!b || atomic_fetch_sub(&b->refs, 1) != 1) return;
  if (b->path && b->map) munmap((void *)b->map, b->map_len);
  if (b->doomed && b->path) unlink(b->path);
  block_free(b);
}

const struct tsdb__block_series *tsdb__block_find(const struct tsdb__block *b, const char *key,
                                                  size_t keylen) {
  size_t lo = 0, hi = b->n_series;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const struct tsdb__block_series *s = &b->series[mid];
    size_t m = s->keylen < keylen ? s->keylen : keylen;
    int c = memcmp(s->key, key, m);
    if (c == 0) c = s->keylen < keylen ? -1 : s->keylen > keylen ? 1 : 0;
    if (c == 0) return s;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

int tsdb__block_read_chunk(const struct tsdb__block *b, const struct tsdb__block_series *s,
                           size_t chunk, struct tsdb__col *col, char *err, size_t errlen) {
  const struct tsdb__chunk_ref *r = &s->chunks[chunk];
  const uint8_t *p = b->map + r->off;
  const char *name = b->path ? b->path : "(memory)";
  if (XXH3_64bits(p, r->tlen + r->vlen) != r->sum) {
    snprintf(err, errlen, "corrupt block %s: checksum mismatch in a chunk of %.*s", name,
             (int)s->keylen, s->key);
    return -EBADMSG;
  }
  size_t need = col->n + r->count;
  if (need > col->cap) {
    size_t cap = col->cap ? col->cap : 64;
    while (cap < need) cap *= 2;
    col->ts = vg_realloc(col->ts, cap * sizeof *col->ts);
    col->v.any = vg_realloc(col->v.any, cap * tsdb__type_size(s->type));
    col->cap = cap;
  }
  size_t nt = 0, nv = 0;
  int rc = tsdb__time_decode(p, r->tlen, col->ts + col->n, r->count, &nt);
  const uint8_t *vp = p + r->tlen;
  if (rc == 0) {
    switch (s->type) {
    case TSDB_FLOAT: rc = tsdb__float_decode_best(vp, r->vlen, col->v.f + col->n, r->count, &nv); break;
    case TSDB_INT: rc = tsdb__int_decode(vp, r->vlen, col->v.i + col->n, r->count, &nv); break;
    case TSDB_UINT: rc = tsdb__uint_decode(vp, r->vlen, col->v.u + col->n, r->count, &nv); break;
    case TSDB_BOOL: rc = tsdb__bool_decode(vp, r->vlen, col->v.b + col->n, r->count, &nv); break;
    case TSDB_STRING:
      rc = tsdb__str_decode(vp, r->vlen, (struct tsdb__str *)(void *)(col->v.s + col->n), r->count, &nv);
      break;
    }
  }
  if (rc < 0 || nt != r->count || nv != r->count) {
    snprintf(err, errlen, "corrupt block %s: a chunk of %.*s does not decode", name,
             (int)s->keylen, s->key);
    return -EBADMSG;
  }
  col->n = need;
  return 0;
}

/* ---- block sets ---- */
struct tsdb__blockset *tsdb__blockset_new(struct tsdb__block **b, size_t n) {
  struct tsdb__blockset *s = vg_calloc(1, sizeof *s);
  atomic_init(&s->refs, 1);
  s->b = vg_malloc((n ? n : 1) * sizeof *s->b);
  if (n) memcpy(s->b, b, n * sizeof *b);
  s->n = n;
  return s;
}

void tsdb__blockset_unref(struct tsdb__blockset *s) {
  if (!s || atomic_fetch_sub(&s->refs, 1) != 1) return;
  for (size_t i = 0; i < s->n; i++) tsdb__block_unref(s->b[i]);
  free(s->b);
  free(s);
}
