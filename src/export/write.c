/* Writing generated files: atomic replacement (core/file.h), and the one YAML quoting rule
 * we need. */
#include "core/file.h"
#include "export/export_int.h"

int ex_write_file(const char *path, const char *data, size_t len) {
  return vg_replace_file(path, data, len, 0644);
}

void ex__yaml_quote(struct vg_buf *b, const char *s) {
  vg_buf_putc(b, '\'');
  for (; *s; s++) {
    VG_ASSERT((unsigned char)*s >= 0x20);
    if (*s == '\'') vg_buf_putc(b, '\'');
    vg_buf_putc(b, *s);
  }
  vg_buf_putc(b, '\'');
}
