/* Unit tests of the Arrow IPC reader (src/arrow/): the committed fixtures written by
 * apache-arrow JS (tests/arrow/data/, made by tests/arrow/golden.mjs --fixtures) read
 * through the C API — values, dictionaries and a delta, nested types, file and stream,
 * the same data with LZ4_FRAME and ZSTD bodies (tests/helpers/arrow_recompress.c),
 * input at an odd address (buffers copied, not used in place), the buffer limit — and
 * hostile input: the files cut at every byte, a byte flipped at every offset, each read
 * from an exact-size heap copy so ASan sees any read past it; errors are precise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arrow/arrow.h"
#include "core/core.h"
#include "../helpers/test_files.h"
#include "arrow_recompress.h"

#ifndef ARROW_DATA
#error "ARROW_DATA: the fixtures' directory"
#endif

static void load(const char *name, struct vg_buf *b) {
  char *p = vg_asprintf("%s/%s", ARROW_DATA, name);
  test_read_file(p, b);
  assert_true(b->len > 0);
  free(p);
}

/* Reads everything (schema, every batch, every value rendered) from an exact-size heap
 * copy of data[0..n). Returns 0 or the error; *rows counts rows, out gets the text. */
static int read_all(const void *data, size_t n, const struct arrow_limits *lim, struct vg_buf *out, int64_t *rows,
                    struct arrow_err *err) {
  uint8_t *copy = malloc(n ? n : 1);
  memcpy(copy, data, n);
  struct arrow_reader *r = NULL;
  *rows = 0;
  int rc = arrow_open_mem(&r, copy, n, lim, err);
  if (rc == 0) {
    const struct arrow_schema *s = arrow_schema(r);
    for (uint32_t k = 0; k < s->n_fields; k++) {
      vg_buf_printf(out, "%s:", s->fields[k].name);
      arrow_format_type(out, &s->fields[k]);
      vg_buf_putc(out, '\n');
    }
    const struct arrow_batch *b;
    while ((rc = arrow_next(r, &b, err)) > 0) {
      for (int64_t i = 0; i < b->length; i++) {
        for (uint32_t k = 0; k < b->n_columns; k++) {
          arrow_format_json(out, &b->columns[k], i);
          vg_buf_putc(out, k + 1 < b->n_columns ? ',' : '\n');
        }
        (*rows)++;
      }
    }
    arrow_close(&r);
  }
  free(copy);
  return rc;
}

static const struct arrow_array *col(const struct arrow_batch *b, const struct arrow_schema *s, const char *name) {
  for (uint32_t k = 0; k < s->n_fields; k++)
    if (strcmp(s->fields[k].name, name) == 0) return &b->columns[k];
  fail_msg("no column %s", name);
  return NULL;
}

static void test_values(void **state) {
  (void)state;
  struct vg_buf f;
  vg_buf_init(&f);
  load("small.arrow", &f);
  struct arrow_reader *r;
  struct arrow_err err;
  assert_int_equal(arrow_open_mem(&r, f.data, f.len, NULL, &err), 0);
  assert_true(arrow_is_file(r));
  assert_int_equal(arrow_batch_count(r), 2);
  assert_string_equal(arrow_metadata(r, "scan"), "4228");
  assert_null(arrow_metadata(r, "nope"));
  const struct arrow_schema *s = arrow_schema(r);
  assert_int_equal(s->n_fields, 38);
  const struct arrow_batch *b;
  assert_int_equal(arrow_next(r, &b, &err), 1);
  assert_int_equal(b->length, 3);
  assert_int_equal(arrow_get_i64(col(b, s, "i32"), 0), INT32_MIN);
  assert_true(arrow_get_i64(col(b, s, "i64"), 0) == INT64_MIN);
  assert_true(arrow_get_u64(col(b, s, "u64"), 0) == UINT64_MAX);
  assert_true(arrow_get_f64(col(b, s, "f64"), 0) == 0.1);
  assert_true(arrow_get_f64(col(b, s, "f16"), 0) == 1.0); /* 0x3c00 */
  assert_true(arrow_is_null(col(b, s, "i8"), 1));
  const struct arrow_array *ts = col(b, s, "ts_ms_utc");
  assert_int_equal(ts->field->unit, ARROW_MILLI);
  assert_string_equal(ts->field->timezone, "UTC");
  assert_int_equal(arrow_get_i64(ts, 0), -1);
  const struct arrow_array *d = col(b, s, "dict_const");
  assert_true(d->field->dictionary);
  assert_int_equal(d->field->index_type, ARROW_INT8);
  assert_non_null(d->dict);
  assert_int_equal(d->dict->length, 3);
  const struct arrow_array *q = col(b, s, "quote");
  assert_int_equal(q->n_children, 3);
  assert_string_equal(q->children[2].field->name, "c");
  const struct arrow_array *fl = col(b, s, "fixed_list");
  int64_t start;
  assert_int_equal(arrow_get_list(fl, 2, &start), 3);
  assert_int_equal(start, 6);
  struct vg_buf t;
  vg_buf_init(&t);
  arrow_format_json(&t, col(b, s, "dec"), 2);
  assert_string_equal(t.data, "\"0.05\"");
  vg_buf_reset(&t);
  arrow_format_type(&t, &q->field[0]);
  assert_string_equal(t.data, "struct<a: int16, b: utf8, c: list<int32>>");
  /* the delta: batch 1 uses the dictionary's third value, which only the delta holds */
  assert_int_equal(arrow_next(r, &b, &err), 1);
  const struct arrow_array *dd = col(b, s, "dict_delta");
  assert_int_equal(dd->dict->length, 3);
  size_t n;
  const uint8_t *p = arrow_get_bytes(dd->dict, 2, &n);
  assert_int_equal(n, 5);
  assert_memory_equal(p, "gamma", 5);
  for (int64_t i = 0; i < b->length; i++) {
    if (arrow_is_null(dd, i) || arrow_get_i64(dd, i) != 2) continue;
    vg_buf_reset(&t);
    arrow_format_json(&t, dd, i);
    assert_string_equal(t.data, "\"gamma\"");
  }
  assert_int_equal(arrow_next(r, &b, &err), 0);
  assert_int_equal(arrow_next(r, &b, &err), 0);
  /* random access, any order */
  assert_int_equal(arrow_read_batch(r, 1, &b, &err), 1);
  assert_int_equal(b->length, 2);
  assert_int_equal(arrow_read_batch(r, 0, &b, &err), 1);
  assert_int_equal(b->length, 3);
  assert_int_equal(arrow_read_batch(r, 2, &b, &err), -ERANGE);
  arrow_close(&r);
  assert_null(r);
  vg_buf_free(&t);
  vg_buf_free(&f);
}

/* The file, the stream, compressed both ways, and at an odd address read the same. */
static void test_same_everywhere(void **state) {
  (void)state;
  struct vg_buf file, stream, ref, out, z;
  vg_buf_init(&file);
  vg_buf_init(&stream);
  vg_buf_init(&ref);
  vg_buf_init(&out);
  vg_buf_init(&z);
  load("small.arrow", &file);
  load("small.stream", &stream);
  struct arrow_err err;
  int64_t rows;
  assert_int_equal(read_all(file.data, file.len, NULL, &ref, &rows, &err), 0);
  assert_int_equal(rows, 5);
  assert_int_equal(read_all(stream.data, stream.len, NULL, &out, &rows, &err), 0);
  assert_string_equal(out.data, ref.data);
  struct vg_buf *srcs[] = {&file, &stream};
  for (int s = 0; s < 2; s++) {
    for (int codec = 0; codec < 2; codec++) {
      for (int alt = 0; alt < 2; alt++) {
        char e[200];
        vg_buf_reset(&z);
        assert_int_equal(arrow_recompress((const uint8_t *)srcs[s]->data, srcs[s]->len, codec, alt, &z, e, sizeof e), 0);
        vg_buf_reset(&out);
        int rc = read_all(z.data, z.len, NULL, &out, &rows, &err);
        if (rc != 0) fail_msg("codec %d alt %d: %s", codec, alt, err.msg);
        assert_string_equal(out.data, ref.data);
        /* a limit below the largest buffer refuses it, naming the limit */
        struct arrow_limits lim = {.max_buffer = 64};
        vg_buf_reset(&out);
        assert_int_equal(read_all(z.data, z.len, &lim, &out, &rows, &err), -ENOMEM);
        assert_non_null(strstr(err.msg, "over the limit of 64 bytes"));
        assert_non_null(strstr(err.msg, "batch 0") ? err.msg : strstr(err.msg, "byte"));
      }
    }
  }
  /* unaligned: every buffer is copied, the values are the same */
  char *odd = malloc(file.len + 1);
  memcpy(odd + 1, file.data, file.len);
  struct arrow_reader *r;
  assert_int_equal(arrow_open_mem(&r, odd + 1, file.len, NULL, &err), 0);
  const struct arrow_batch *b;
  vg_buf_reset(&out);
  while (arrow_next(r, &b, &err) > 0)
    for (int64_t i = 0; i < b->length; i++)
      for (uint32_t k = 0; k < b->n_columns; k++) {
        const struct arrow_array *a = &b->columns[k];
        enum arrow_type t = a->field->dictionary ? a->field->index_type : a->field->type;
        size_t w = t == ARROW_INT32 || t == ARROW_FLOAT32 || t == ARROW_DATE32 || t == ARROW_TIME32 ? 4
                   : t == ARROW_INT64 || t == ARROW_UINT64 || t == ARROW_FLOAT64 || t == ARROW_TIMESTAMP ? 8
                                                                                                        : 1;
        if (a->values) assert_int_equal((uintptr_t)a->values % w, 0);
        if (a->offsets) assert_int_equal((uintptr_t)a->offsets % 4, 0);
        arrow_format_json(&out, a, i);
      }
  arrow_close(&r);
  free(odd);
  vg_buf_free(&file);
  vg_buf_free(&stream);
  vg_buf_free(&ref);
  vg_buf_free(&out);
  vg_buf_free(&z);
}

static void test_open_errors(void **state) {
  (void)state;
  struct arrow_reader *r = NULL;
  struct arrow_err err;
  assert_int_equal(arrow_open(&r, "/nonexistent/x.arrow", NULL, &err), -ENOENT);
  assert_non_null(strstr(err.msg, "No such file"));
  assert_int_equal(arrow_open(&r, "/", NULL, &err), -EINVAL);
  char *path = vg_asprintf("%s/unsupported.arrow", ARROW_DATA);
  assert_int_equal(arrow_open(&r, path, NULL, &err), -ENOTSUP);
  assert_non_null(strstr(err.msg, "field 'tags'"));
  assert_non_null(strstr(err.msg, "unsupported type Map"));
  assert_null(r);
  free(path);
  path = vg_asprintf("%s/small.arrow", ARROW_DATA);
  assert_int_equal(arrow_open(&r, path, NULL, &err), 0);
  assert_int_equal(arrow_batch_count(r), 2);
  arrow_close(&r);
  free(path);
  assert_int_equal(arrow_open_mem(&r, "", 0, NULL, &err), -EBADMSG);
  assert_non_null(strstr(err.msg, "empty"));
  static const uint8_t eos[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
  assert_int_equal(arrow_open_mem(&r, eos, sizeof eos, NULL, &err), -EBADMSG);
  assert_non_null(strstr(err.msg, "does not start with a schema"));
}

/* Every prefix of the input: an error naming a byte, or (a stream cut at a message
 * boundary) a prefix of the rows; never a crash, never a read past the copy. */
static void cut_everywhere(const struct vg_buf *in, bool file) {
  struct vg_buf ref, out;
  vg_buf_init(&ref);
  vg_buf_init(&out);
  struct arrow_err err;
  int64_t rows, all;
  assert_int_equal(read_all(in->data, in->len, NULL, &ref, &all, &err), 0);
  size_t ok = 0;
  for (size_t n = 0; n < in->len; n++) {
    vg_buf_reset(&out);
    memset(&err, 0, sizeof err);
    int rc = read_all(in->data, n, NULL, &out, &rows, &err);
    if (rc == 0) {
      if (file) fail_msg("a file cut at %zu read without an error", n);
      assert_true(rows <= all);
      assert_true(out.len <= ref.len);
      assert_memory_equal(out.data ? out.data : "", ref.data, out.len); /* a prefix */
      ok++;
      continue;
    }
    assert_int_equal(rc, -EBADMSG);
    assert_true(err.msg[0] != 0);
    if (!strstr(err.msg, "byte") && !strstr(err.msg, "empty")) fail_msg("cut at %zu: no offset in '%s'", n, err.msg);
  }
  if (!file) assert_true(ok > 0 && ok < 20); /* the message boundaries only */
  vg_buf_free(&ref);
  vg_buf_free(&out);
}

static void test_truncation(void **state) {
  (void)state;
  struct vg_buf f, z;
  vg_buf_init(&f);
  vg_buf_init(&z);
  load("small.arrow", &f);
  cut_everywhere(&f, true);
  char e[200];
  assert_int_equal(arrow_recompress((const uint8_t *)f.data, f.len, 0, false, &z, e, sizeof e), 0);
  cut_everywhere(&z, true);
  vg_buf_reset(&f);
  load("small.stream", &f);
  cut_everywhere(&f, false);
  vg_buf_reset(&z);
  assert_int_equal(arrow_recompress((const uint8_t *)f.data, f.len, 1, false, &z, e, sizeof e), 0);
  cut_everywhere(&z, false);
  vg_buf_free(&f);
  vg_buf_free(&z);
}

/* A byte changed at every offset, two ways: read fully or refused with a message. */
static void flip_everywhere(const struct vg_buf *in, const char *what) {
  struct vg_buf out;
  vg_buf_init(&out);
  struct arrow_err err;
  int64_t rows;
  uint8_t *m = malloc(in->len);
  static const uint8_t masks[] = {0x01, 0xff};
  size_t refused = 0, total = 0;
  for (size_t i = 0; i < in->len; i++) {
    for (size_t k = 0; k < sizeof masks; k++) {
      memcpy(m, in->data, in->len);
      m[i] ^= masks[k];
      vg_buf_reset(&out);
      memset(&err, 0, sizeof err);
      int rc = read_all(m, in->len, NULL, &out, &rows, &err);
      total++;
      if (rc != 0) {
        refused++;
        assert_true(rc == -EBADMSG || rc == -ENOTSUP || rc == -ENOMEM);
        assert_true(err.msg[0] != 0);
      }
    }
  }
  print_message("%s: %zu of %zu single-byte corruptions refused, the rest read in bounds\n", what, refused, total);
  assert_true(refused > 0);
  free(m);
  vg_buf_free(&out);
}

static void test_flipped_bytes(void **state) {
  (void)state;
  struct vg_buf f, z;
  vg_buf_init(&f);
  vg_buf_init(&z);
  load("small.arrow", &f);
  flip_everywhere(&f, "small.arrow");
  char e[200];
  assert_int_equal(arrow_recompress((const uint8_t *)f.data, f.len, 1, true, &z, e, sizeof e), 0);
  flip_everywhere(&z, "small.arrow, ZSTD");
  vg_buf_reset(&f);
  load("small.stream", &f);
  flip_everywhere(&f, "small.stream");
  vg_buf_reset(&z);
  assert_int_equal(arrow_recompress((const uint8_t *)f.data, f.len, 0, true, &z, e, sizeof e), 0);
  flip_everywhere(&z, "small.stream, LZ4");
  vg_buf_free(&f);
  vg_buf_free(&z);
}

static void test_large_list(void **state) {
  (void)state;
  struct vg_buf in, out;
  vg_buf_init(&in);
  vg_buf_init(&out);
  arrow_test_large_list(&in);
  struct arrow_err err;
  int64_t rows;
  int rc = read_all(in.data, in.len, NULL, &out, &rows, &err);
  if (rc != 0) fail_msg("%s", err.msg);
  assert_int_equal(rows, 3);
  assert_string_equal(out.data, "ll:large_list<int32>\n[1,2]\nnull\n[3,null,5]\n");
  cut_everywhere(&in, false);
  flip_everywhere(&in, "large_list stream");
  vg_buf_free(&in);
  vg_buf_free(&out);
}

static void test_half(void **state) {
  (void)state;
  assert_true(arrow_half_to_double(0x3c00) == 1.0);
  assert_true(arrow_half_to_double(0xc000) == -2.0);
  assert_true(arrow_half_to_double(0x7bff) == 65504.0);
  assert_true(arrow_half_to_double(0x0001) == ldexp(1, -24));
  assert_true(isinf(arrow_half_to_double(0x7c00)));
  assert_true(isnan(arrow_half_to_double(0x7e00)));
  assert_true(signbit(arrow_half_to_double(0x8000)));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_values),        cmocka_unit_test(test_same_everywhere), cmocka_unit_test(test_open_errors),
      cmocka_unit_test(test_truncation),    cmocka_unit_test(test_flipped_bytes),   cmocka_unit_test(test_half), cmocka_unit_test(test_large_list),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
