/* Files and directories for the unit tests that work on disk (the record log, the WAL,
 * the store): a fresh temp dir, its removal, a whole file read or written. Include after
 * cmocka.h and core/core.h. */
#ifndef VIGIL_TEST_FILES_H
#define VIGIL_TEST_FILES_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* $TMPDIR (or /tmp)/vigil-NAME-XXXXXX, made; the caller frees it with test_rm_rf. */
static inline char *test_tmpdir(const char *name) {
  const char *base = getenv("TMPDIR");
  char *t = vg_asprintf("%s/vigil-%s-XXXXXX", base && *base ? base : "/tmp", name);
  assert_non_null(mkdtemp(t));
  return t;
}

static inline int test__rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
  (void)st, (void)flag, (void)f;
  return remove(p);
}

/* Removes the tree at *dir and frees the path. */
static inline void test_rm_rf(char **dir) {
  nftw(*dir, test__rm_one, 16, FTW_DEPTH | FTW_PHYS);
  vg_freep(dir);
}

/* The whole of path into b (reset first). */
static inline void test_read_file(const char *path, struct vg_buf *b) {
  vg_buf_reset(b);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char tmp[4096];
  size_t n;
  while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) vg_buf_append(b, tmp, n);
  fclose(f);
}

/* Replaces path with n bytes of p. */
static inline void test_write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(p, 1, n, f), n);
  fclose(f);
}

#endif
