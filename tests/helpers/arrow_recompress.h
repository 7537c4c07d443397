/* arrow_recompress: an Arrow IPC file or stream rewritten with LZ4_FRAME (codec 0) or
 * ZSTD (1) bodies, for the tests (see arrow_recompress.c). 0, or -1 with err. */
#ifndef VIGIL_TESTS_ARROW_RECOMPRESS_H
#define VIGIL_TESTS_ARROW_RECOMPRESS_H

#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int arrow_recompress(const uint8_t *in, size_t n, int codec, bool alt_raw, struct vg_buf *out, char *err,
                     size_t errlen);

/* A stream of one column ll: large_list<item: int32> and one batch
 * [[1, 2], null, [3, null, 5]], built with the rewriter's flatbuffer builder: apache-arrow
 * JS 18 has no large_list. */
void arrow_test_large_list(struct vg_buf *out);

#endif
