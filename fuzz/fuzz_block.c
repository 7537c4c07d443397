/*
 * libFuzzer target for the store's block reader (src/tsdb/block.c): the input is a
 * block file image. Opening must refuse it (-EBADMSG) or accept it with every bound
 * checked; then every chunk of every series is read back (checksum, then decoders),
 * which must succeed or fail cleanly, never read outside the image.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/tsdb_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  /* a private copy: the reader keeps pointers into the image */
  uint8_t *img = malloc(len ? len : 1);
  memcpy(img, data, len);
  struct tsdb__block *b = NULL;
  char err[256];
  if (tsdb__block_parse(img, len, &b, err, sizeof err) == 0) {
    for (size_t i = 0; i < b->n_series; i++) {
      const struct tsdb__block_series *s = &b->series[i];
      if (tsdb__block_find(b, s->key, s->keylen) != s) abort();
      struct tsdb__col col;
      tsdb__col_init(&col, false);
      for (size_t c = 0; c < s->n_chunks; c++) {
        col.n = 0;
        if (tsdb__block_read_chunk(b, s, c, &col, err, sizeof err) == 0 && col.n != s->chunks[c].count)
          abort();
      }
      tsdb__col_free(&col, s->type);
    }
    tsdb__block_unref(b);
  }
  free(img);
  return 0;
}
