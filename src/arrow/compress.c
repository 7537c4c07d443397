/*
 * compress.c — body buffer decompression: LZ4 frames (liblz4's lz4frame) and ZSTD
 * (libzstd). The destination is allocated by the caller at the declared uncompressed
 * size (checked before); the data must fill it exactly and use all of the source.
 */
#include "arrow/arrow_int.h"

#include <lz4frame.h>
#include <zstd.h>

static int lz4(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len, const char **why) {
  LZ4F_dctx *dc;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dc, LZ4F_VERSION))) {
    *why = "cannot create an LZ4 context";
    return -1;
  }
  size_t in = 0, out = 0, hint = 1;
  int rc = 0;
  while (hint != 0) {
    size_t sn = src_len - in, dn = dst_len - out;
    if (sn == 0) {
      *why = "LZ4 frame ends early";
      rc = -1;
      break;
    }
    hint = LZ4F_decompress(dc, dst + out, &dn, src + in, &sn, NULL);
    if (LZ4F_isError(hint)) {
      *why = LZ4F_getErrorName(hint);
      rc = -1;
      break;
    }
    in += sn;
    out += dn;
    if (sn == 0 && dn == 0 && hint != 0) {
      /* no progress: the output is full and the frame wants to write more */
      *why = "LZ4 data longer than its declared length";
      rc = -1;
      break;
    }
  }
  LZ4F_freeDecompressionContext(dc);
  if (rc == 0 && out != dst_len) {
    *why = "LZ4 data shorter than its declared length";
    rc = -1;
  }
  if (rc == 0 && in != src_len) {
    *why = "bytes after the LZ4 frame";
    rc = -1;
  }
  return rc;
}

static int zstd(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len, const char **why) {
  unsigned long long fcs = ZSTD_getFrameContentSize(src, src_len);
  if (fcs == ZSTD_CONTENTSIZE_ERROR) {
    *why = "not a ZSTD frame";
    return -1;
  }
  if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs > dst_len) {
    *why = "ZSTD frame larger than the declared length";
    return -1;
  }
  size_t n = ZSTD_decompress(dst, dst_len, src, src_len);
  if (ZSTD_isError(n)) {
    *why = ZSTD_getErrorName(n);
    return -1;
  }
  if (n != dst_len) {
    *why = "ZSTD data shorter than its declared length";
    return -1;
  }
  return 0;
}

int arrow__decompress(int codec, const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len,
                      const char **why) {
  return codec == 0 ? lz4(src, src_len, dst, dst_len, why) : zstd(src, src_len, dst, dst_len, why);
}
