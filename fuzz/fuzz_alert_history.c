/*
 * libFuzzer target for the monitor's alert history file (src/monitor/history.c): any
 * byte string, read as the file, must decode without crashing or reading past its end,
 * and what was decoded must re-encode into a file that decodes cleanly (no error) to
 * the same alerts and the same bytes: the reader keeps only whole, valid records.
 * Inputs whose header's reserved count field is odd get their records' checksums
 * recomputed first, so the fuzzer reaches the JSON decoding behind them.
 */
#include "core/core.h"
#include "monitor/monitor.h"

#include <stdint.h>
#include <xxhash.h>

#include "core/endian.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *copy = vg_malloc(size ? size : 1); /* exactly size bytes: ASan sees an overread */
  memcpy(copy, data, size);
  if (size >= 16 && (copy[12] & 1)) {
    for (size_t off = 16; size - off >= 8;) {
      uint32_t len = vg_get_le32(copy + off);
      if (len == 0 || len > size - off - 8) break;
      vg_put_le32(copy + off + 4, (uint32_t)XXH3_64bits(copy + off + 8, len));
      off += 8 + (size_t)len;
    }
  }
  struct mon_alerts *as = mon_alerts_new(100000);
  char why[300];
  /* 16 KiB inputs (fuzz.sh) hold far fewer than 100000 records: none is pushed out */
  size_t n = mon_history_decode(copy, size, as, why, sizeof why);
  VG_ASSERT(n == mon_alerts_count(as, false));
  VG_ASSERT(n == 0 || size > 16);
  struct vg_buf a, b;
  vg_buf_init(&a);
  vg_buf_init(&b);
  mon_history_encode(as, &a);
  struct mon_alerts *back = mon_alerts_new(100000);
  size_t n2 = mon_history_decode((const uint8_t *)a.data, a.len, back, why, sizeof why);
  VG_ASSERT(why[0] == '\0');
  VG_ASSERT(n2 == n);
  mon_history_encode(back, &b);
  VG_ASSERT(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
  vg_buf_free(&a);
  vg_buf_free(&b);
  mon_alerts_free(&as);
  mon_alerts_free(&back);
  free(copy);
  return 0;
}
