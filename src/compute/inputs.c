/*
 * Files: the fingerprints of root inputs (document 004's root data index: a date whose
 * data is absent makes its cells impossible), the result hash of an output directory,
 * and removal of output trees.
 *
 * A root input is fingerprinted by path, size and modification time, as make and ninja
 * judge freshness — reading every input of a year on each plan would cost more than the
 * plan itself. A store input ("store:SELECTOR") is fingerprinted by the store itself
 * (the cp_store_input_fn hook; the CLI's answers with tsdb_fingerprint, a hash of the
 * stored points, never of a rendering of them). Outputs are hashed by content: the
 * result hash drives early cutoff.
 */
#include "compute/cp_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

static void digest(XXH3_state_t *st, uint8_t out[CP_HASH]) {
  XXH128_canonical_t cn;
  XXH128_canonicalFromHash(&cn, XXH3_128bits_digest(st));
  memcpy(out, cn.digest, CP_HASH);
}

/* pattern with every {date} replaced, relative patterns joined to dir (unless NULL). */
static char *expand_pattern(const char *dir, const char *pat, const char *date) {
  struct vg_buf b;
  vg_buf_init(&b);
  if (dir && pat[0] != '/') vg_buf_printf(&b, "%s/", dir);
  for (const char *p = pat; *p;) {
    if (strncmp(p, "{date}", 6) == 0) {
      vg_buf_puts(&b, date);
      p += 6;
    } else {
      vg_buf_putc(&b, *p++);
    }
  }
  return b.data;
}

static void add_file(XXH3_state_t *st, const char *path, const struct stat *sb) {
  XXH3_128bits_update(st, path, strlen(path) + 1);
  int64_t v[3] = {(int64_t)sb->st_size, (int64_t)sb->st_mtim.tv_sec, (int64_t)sb->st_mtim.tv_nsec};
  XXH3_128bits_update(st, v, sizeof v);
}

int cp__inputs_fingerprint(const struct cp_engine *e, size_t calc, long date,
                           uint8_t out[CP_HASH], char **missing) {
  char d[16];
  cp_format_date(date, d);
  XXH3_state_t st;
  XXH3_128bits_reset(&st);
  char *const *pats = e->calcs[calc].cfg->inputs;
  int rc = 0;
  for (size_t i = 0; pats && pats[i] && rc == 0; i++) {
    if (strncmp(pats[i], "store:", 6) == 0) { /* points of a measurement that day */
      uint8_t fp[CP_HASH];
      int64_t day = (int64_t)date * 86400 * INT64_C(1000000000);
      rc = e->store_input ? e->store_input(e->store_arg, pats[i] + 6, day,
                                           day + 86400 * INT64_C(1000000000), fp)
                          : -ENOENT;
      if (rc == 0) {
        XXH3_128bits_update(&st, pats[i], strlen(pats[i]) + 1);
        XXH3_128bits_update(&st, fp, sizeof fp);
      } else if (missing) {
        *missing = vg_asprintf("%s on %s", pats[i], d);
      }
      continue;
    }
    char *p = expand_pattern(e->cp->dir, pats[i], d);
    struct stat sb;
    if (!strpbrk(p, "*?[")) { /* a plain path: one stat, no directory scan */
      if (stat(p, &sb) == 0) add_file(&st, p, &sb);
      else rc = -ENOENT;
    } else {
      glob_t g;
      if (glob(p, 0, NULL, &g) == 0) {
        for (size_t j = 0; j < g.gl_pathc; j++)
          if (stat(g.gl_pathv[j], &sb) == 0) add_file(&st, g.gl_pathv[j], &sb);
      } else {
        rc = -ENOENT;
      }
      globfree(&g);
    }
    if (rc < 0 && missing) *missing = expand_pattern(NULL, pats[i], d);
    free(p);
  }
  digest(&st, out);
  return rc;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Hashes dir/rel recursively in name order into st. */
static int hash_dir(XXH3_state_t *st, const char *dir, const char *rel) {
  char *path = rel[0] ? vg_asprintf("%s/%s", dir, rel) : vg_strdup(dir);
  DIR *dp = opendir(path);
  if (!dp) {
    int err = -errno;
    free(path);
    return err;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(dp))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    if (n == cap) names = vg_realloc(names, (cap = cap ? cap * 2 : 16) * sizeof *names);
    names[n++] = vg_strdup(de->d_name);
  }
  closedir(dp);
  if (n) qsort(names, n, sizeof *names, cmp_str);
  int rc = 0;
  char buf[65536];
  for (size_t i = 0; i < n && rc == 0; i++) {
    char *r = rel[0] ? vg_asprintf("%s/%s", rel, names[i]) : vg_strdup(names[i]);
    char *full = vg_asprintf("%s/%s", dir, r);
    struct stat sb;
    if (lstat(full, &sb) < 0) {
      rc = -errno;
    } else if (S_ISDIR(sb.st_mode)) {
      XXH3_128bits_update(st, "d", 1);
      XXH3_128bits_update(st, r, strlen(r) + 1);
      rc = hash_dir(st, dir, r);
    } else {
      XXH3_128bits_update(st, "f", 1);
      XXH3_128bits_update(st, r, strlen(r) + 1);
      int fd = open(full, O_RDONLY | O_CLOEXEC);
      if (fd < 0) rc = -errno;
      ssize_t got;
      while (fd >= 0 && (got = read(fd, buf, sizeof buf)) != 0) {
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
          rc = -errno;
          break;
        }
        XXH3_128bits_update(st, buf, (size_t)got);
      }
      uint64_t size = (uint64_t)sb.st_size;
      XXH3_128bits_update(st, &size, sizeof size);
      if (fd >= 0) close(fd);
    }
    free(r);
    free(full);
  }
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  free(path);
  return rc;
}

int cp__hash_tree(const char *dir, uint8_t out[CP_HASH]) {
  XXH3_state_t st;
  XXH3_128bits_reset(&st);
  int rc = hash_dir(&st, dir, "");
  digest(&st, out);
  return rc;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

void cp__remove_tree(const char *path) { nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

void cp_set_store_input(struct cp_engine *e, cp_store_input_fn *fn, void *arg) {
  e->store_input = fn;
  e->store_arg = arg;
}
