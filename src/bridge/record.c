/*
 * record.c — the record of the files a bridge has read (or quarantined), so a restart
 * does not read them again. Format in bridge_int.h. Loaded whole at start (it grows by
 * one short line per scan); a malformed line is skipped with a warning, a torn last
 * line (a crash while appending) is cut off the file.
 */
#include "bridge/bridge_int.h"

#include "core/core.h"
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

static size_t slot_of(const struct bridge__record *r, const char *name) {
  size_t i = (size_t)XXH3_64bits(name, strlen(name)) & (r->cap - 1);
  while (r->slots[i].name && strcmp(r->slots[i].name, name) != 0) i = (i + 1) & (r->cap - 1);
  return i;
}

static void grow(struct bridge__record *r) {
  struct bridge__rec *old = r->slots;
  size_t ocap = r->cap;
  r->cap = ocap ? 2 * ocap : 64;
  r->slots = vg_calloc(r->cap, sizeof *r->slots);
  for (size_t i = 0; i < ocap; i++)
    if (old[i].name) r->slots[slot_of(r, old[i].name)] = old[i];
  free(old);
}

static void put(struct bridge__record *r, const char *name, int64_t size, int64_t mtime, int64_t scan) {
  if (2 * (r->n + 1) > r->cap) grow(r);
  size_t i = slot_of(r, name);
  if (!r->slots[i].name) {
    r->slots[i].name = vg_strdup(name);
    r->n++;
  }
  r->slots[i].size = size;
  r->slots[i].mtime = mtime;
  r->slots[i].scan = scan;
  if (scan > r->latest_scan) {
    r->latest_scan = scan;
    free(r->latest_name);
    r->latest_name = vg_strdup(name);
  }
}

const struct bridge__rec *bridge__record_find(const struct bridge__record *r, const char *name) {
  if (!r->cap) return NULL;
  size_t i = slot_of(r, name);
  return r->slots[i].name ? &r->slots[i] : NULL;
}

int bridge__record_open(struct bridge__record *r, const char *dir, char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  r->latest_scan = -1;
  r->fd = -1;
  int rc = vg_mkdir_p(dir, 0750);
  if (rc < 0) {
    snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-rc));
    return -1;
  }
  char *path = vg_asprintf("%s/processed", dir);
  FILE *f = fopen(path, "r");
  long good = 0; /* bytes up to the last whole line */
  if (f) {
    char line[4200];
    size_t bad = 0;
    long at = 0;
    while (fgets(line, sizeof line, f)) {
      size_t len = strlen(line);
      at += (long)len;
      if (len == 0 || line[len - 1] != '\n') { /* a torn last line, or one too long */
        bad++;
        continue;
      }
      good = at;
      line[len - 1] = 0;
      char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL, *t3 = t2 ? strchr(t2 + 1, '\t') : NULL;
      if (!t3 || t1 == line) {
        bad++;
        continue;
      }
      *t1 = *t2 = *t3 = 0;
      put(r, line, strtoll(t1 + 1, NULL, 10), strtoll(t2 + 1, NULL, 10), strtoll(t3 + 1, NULL, 10));
    }
    fclose(f);
    if (bad) VG_WARN("bridge record: skipped malformed lines", VF_S("file", path), VF_I("lines", (long long)bad));
    /* a torn tail (a crash while appending) is cut, so the next line starts clean */
    if (at > good && truncate(path, good) == 0)
      VG_WARN("bridge record: cut a torn last line", VF_S("file", path), VF_I("bytes", at - good));
  }
  r->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (r->fd < 0) {
    snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
    free(path);
    bridge__record_close(r);
    return -1;
  }
  free(path);
  return 0;
}

void bridge__record_note(struct bridge__record *r, const char *name, int64_t size, int64_t mtime, int64_t scan) {
  put(r, name, size, mtime, scan);
}

int bridge__record_append(const struct bridge__record *r, const char *name, int64_t size, int64_t mtime, int64_t scan) {
  char *line = vg_asprintf("%s\t%lld\t%lld\t%lld\n", name, (long long)size, (long long)mtime, (long long)scan);
  int rc = vg_write_all(r->fd, line, strlen(line)); /* O_APPEND: one line, one write */
  free(line);
  return rc;
}

int bridge__record_add(struct bridge__record *r, const char *name, int64_t size, int64_t mtime, int64_t scan) {
  bridge__record_note(r, name, size, mtime, scan);
  return bridge__record_append(r, name, size, mtime, scan);
}

void bridge__record_close(struct bridge__record *r) {
  for (size_t i = 0; i < r->cap; i++) free(r->slots[i].name);
  free(r->slots);
  free(r->latest_name);
  if (r->fd >= 0) close(r->fd);
  memset(r, 0, sizeof *r);
  r->fd = -1;
}
