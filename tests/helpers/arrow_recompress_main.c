/* arrow_recompress IN OUT lz4|zstd [--alt-raw]: the golden test's compressed files. */
#include "arrow_recompress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc < 4 || (strcmp(argv[3], "lz4") != 0 && strcmp(argv[3], "zstd") != 0)) {
    fprintf(stderr, "usage: arrow_recompress IN OUT lz4|zstd [--alt-raw]\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  struct vg_buf in, out;
  vg_buf_init(&in);
  vg_buf_init(&out);
  char tmp[65536];
  size_t n;
  while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) vg_buf_append(&in, tmp, n);
  fclose(f);
  char err[200];
  if (arrow_recompress((const uint8_t *)in.data, in.len, strcmp(argv[3], "zstd") == 0, argc > 4 && strcmp(argv[4], "--alt-raw") == 0, &out, err, sizeof err) < 0) {
    fprintf(stderr, "arrow_recompress: %s: %s\n", argv[1], err);
    return 1;
  }
  f = fopen(argv[2], "wb");
  if (!f || fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0) {
    perror(argv[2]);
    return 1;
  }
  vg_buf_free(&in);
  vg_buf_free(&out);
  return 0;
}
