/*
 * file — the durable-file primitives every vigil module writes through: a write that
 * finishes or says why, positioned reads and vectored writes that do the same, the
 * atomic replacement of a file (temporary, fsync, rename, fsync of the directory) and
 * the exclusive lock files that keep one process per state directory, store or spool.
 *
 * All functions return 0 (or a descriptor) on success and a negative errno on failure.
 */
#ifndef VIGIL_CORE_FILE_H
#define VIGIL_CORE_FILE_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Writes all n bytes (retrying short writes and EINTR). 0, or -errno; a write that
 * makes no progress is -EIO. Bytes before a failure may have been written. */
int vg_write_all(int fd, const void *p, size_t n);

/* pwrite of all n bytes at off (retrying short writes and EINTR). 0 or -errno. */
int vg_pwrite_all(int fd, const void *p, size_t n, off_t off);

/* pwritev of every byte of iov[0..cnt) at off (retrying short writes and EINTR). iov is
 * consumed (its entries are advanced). 0 or -errno. */
int vg_pwritev_all(int fd, struct iovec *iov, int cnt, off_t off);

/* Reads exactly n bytes at off. 0, -errno, or -EIO when the file ends first. */
int vg_pread_all(int fd, void *p, size_t n, off_t off);

/* fsyncs the directory that holds path (a file or directory name). 0 or -errno;
 * file systems that cannot fsync a directory (EINVAL) count as success. */
int vg_fsync_parent(const char *path);

/* A file being written under a temporary name next to its final path, replaced
 * atomically by vg_tmpfile_commit: readers see the old file or the whole new one, and
 * after a crash the old or the new one, never a mix. The temporary is
 * "PATH.XXXXXX.tmp" (unique; a directory's loader may remove "*.tmp" leftovers). */
struct vg_tmpfile {
  int fd;
  char *tmp, *path;
};

/* Creates the temporary for path with the given mode. 0 or -errno (t is then clear). */
int vg_tmpfile_open(struct vg_tmpfile *t, const char *path, unsigned mode);
/* fdatasyncs and closes the temporary, renames it over the path and fsyncs the
 * directory. On failure the temporary is removed and the old file left as it was.
 * Frees t's names either way. 0 or -errno. */
int vg_tmpfile_commit(struct vg_tmpfile *t);
/* Closes and removes the temporary; frees t's names. */
void vg_tmpfile_abort(struct vg_tmpfile *t);

/* Replaces path atomically by data[0..len) (vg_tmpfile_*). 0 or -errno. */
int vg_replace_file(const char *path, const void *data, size_t len, unsigned mode);
/* The same without any fsync: readers see the old or the new file, never a mix, but
 * after a power cut the old one may be back, or the file empty. For files replaced
 * very often whose loss only repeats work (the spool's head). 0 or -errno. */
int vg_replace_file_nosync(const char *path, const void *data, size_t len, unsigned mode);

/* Opens path (created with mode when mode != 0, else it must exist) and takes an
 * exclusive non-blocking flock on it, held until the descriptor is closed. Returns the
 * descriptor (close-on-exec), -EBUSY when another open file description holds the
 * lock, or -errno. */
int vg_lockfile(const char *path, unsigned mode);
/* The same lock on an open descriptor (a file or a directory). 0, -EBUSY or -errno. */
int vg_lock_fd(int fd);

#endif
