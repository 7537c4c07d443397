/*
 * libFuzzer target for the Arrow IPC reader: any byte string, as a file or a stream,
 * must open and read (every batch, every value rendered, random access in a file)
 * without crashing, reading outside the input or allocating by an unchecked length
 * (a 16 MiB buffer limit), and the reader's promises must hold (VG_ASSERT): an error
 * has a message and a known code and repeats on the next call; every value of a batch
 * it hands out can be read and rendered (ASan checks every byte touched); a second
 * open of the same bytes reads the same rows.
 */
#include "arrow/arrow.h"
#include "core/core.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t read_rows(const uint8_t *data, size_t size, struct vg_buf *out) {
  static const struct arrow_limits lim = {.max_buffer = 16u << 20};
  struct arrow_reader *r = NULL;
  struct arrow_err err = {0};
  int rc = arrow_open_mem(&r, data, size, &lim, &err);
  if (rc < 0) {
    VG_ASSERT(r == NULL && err.msg[0] && err.code == rc);
    VG_ASSERT(rc == -EBADMSG || rc == -ENOTSUP || rc == -ENOMEM);
    return -1;
  }
  int64_t rows = 0;
  const struct arrow_batch *b;
  while ((rc = arrow_next(r, &b, &err)) > 0) {
    for (int64_t i = 0; i < b->length; i++) {
      for (uint32_t k = 0; k < b->n_columns; k++) {
        arrow_format_json(out, &b->columns[k], i);
        arrow_format_text(out, &b->columns[k], i);
      }
      rows++;
    }
    if (out->len > (1u << 20)) vg_buf_reset(out);
  }
  if (rc < 0) {
    VG_ASSERT(err.msg[0] && (rc == -EBADMSG || rc == -ENOTSUP || rc == -ENOMEM));
    struct arrow_err again = {0};
    VG_ASSERT(arrow_next(r, &b, &again) == rc && strcmp(again.msg, err.msg) == 0);
  }
  if (arrow_is_file(r)) {
    for (int64_t i = arrow_batch_count(r) - 1; i >= 0 && i >= arrow_batch_count(r) - 3; i--)
      if (arrow_read_batch(r, i, &b, &err) > 0) VG_ASSERT(b->index == i);
  }
  arrow_close(&r);
  return rows;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* an exact-size copy, so a read one byte past the input is caught */
  uint8_t *copy = malloc(size ? size : 1);
  memcpy(copy, data, size);
  struct vg_buf out;
  vg_buf_init(&out);
  int64_t a = read_rows(copy, size, &out);
  int64_t b = read_rows(copy, size, &out);
  VG_ASSERT(a == b);
  vg_buf_free(&out);
  free(copy);
  return 0;
}
