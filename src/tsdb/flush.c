/*
 * flush — moving data from the head into blocks and keeping the block set tidy:
 *   flush       freezes every head, writes one block per (policy, window) from the
 *               frozen heads, publishes them, then advances the log checkpoint
 *   compaction  merges the blocks of a finished day into one day block, and several
 *               blocks of one window (late or repeated flushes) into one
 *   retention   drops whole blocks whose window ended before now - the policy duration
 * and the small state file (checkpoint, sequence, retention and rollup watermarks).
 * A crash between any two steps leaves either the old or the new files, and data that
 * is in both is deduplicated on read (equal timestamps), so no step can lose a point.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "tsdb/tsdb_int.h"

int64_t tsdb__floor(int64_t t, int64_t step) {
  int64_t r = t % step;
  if (r >= 0) return t - r;
  int64_t out;
  /* the window below the earliest time: saturate (queries may ask from there) */
  return __builtin_sub_overflow(t - r, step, &out) ? TSDB_TIME_MIN : out;
}

char *tsdb__block_path(const struct tsdb *db, uint16_t policy, int64_t wstart, int64_t wlen,
                       uint64_t seq) {
  return vg_asprintf("%s/blocks/%s/%lld-%lld-%06llu.blk", db->dir, db->policies[policy].name,
                     (long long)(wstart / TSDB_NS_PER_SEC), (long long)(wlen / TSDB_NS_PER_SEC),
                     (unsigned long long)seq);
}

/* ---- the state file: replaced atomically (vg_replace_file) ---- */
int tsdb__write_state(struct tsdb *db) {
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_printf(&b, "checkpoint %llu\nseq %llu\n", (unsigned long long)db->checkpoint_lsn,
                (unsigned long long)db->next_seq);
  for (size_t i = 0; i < db->n_policies; i++)
    if (db->policies[i].dropped_until != TSDB_TIME_MIN)
      vg_buf_printf(&b, "dropped %s %lld\n", db->policies[i].name,
                    (long long)db->policies[i].dropped_until);
  for (size_t i = 0; i < db->n_rollups; i++)
    vg_buf_printf(&b, "rollup %s %lld %lld\n", db->rollups[i].name,
                  (long long)db->rollups[i].done_until, (long long)db->rollups[i].dirty_from);
  char *path = vg_asprintf("%s/state", db->dir);
  int rc = vg_replace_file(path, b.data, b.len, 0644);
  if (rc < 0) VG_WARN("store: cannot write the state file", VF_S("error", strerror(-rc)));
  free(path);
  vg_buf_free(&b);
  return rc;
}

/* Under flush_mu: whether a failed flush or compaction is logged. A full disk makes them
 * fail at every pass (once a second): one line a minute says so. */
static bool error_due(struct tsdb *db) {
  uint64_t now = vg_now_ms();
  if (db->flush_err_logged_ms && now - db->flush_err_logged_ms < 60 * 1000) return false;
  db->flush_err_logged_ms = now;
  return true;
}

/* ---- publishing ---- */
static int cmp_block_seq(const void *a, const void *b) {
  const struct tsdb__block *x = *(struct tsdb__block *const *)a, *y = *(struct tsdb__block *const *)b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Replaces the block set by (old - drop) + add. Under head_lock (write). Takes the
 * references of add; marks dropped blocks doomed when unlink is set. */
static void publish(struct tsdb *db, struct tsdb__block **add, size_t n_add,
                    struct tsdb__block *const *drop, size_t n_drop, bool unlink_dropped) {
  struct tsdb__blockset *old = db->blocks;
  struct tsdb__block **v = vg_malloc((old->n + n_add + 1) * sizeof *v);
  size_t n = 0;
  for (size_t i = 0; i < old->n; i++) {
    bool dropped = false;
    for (size_t j = 0; j < n_drop && !dropped; j++) dropped = old->b[i] == drop[j];
    if (dropped) {
      if (unlink_dropped) old->b[i]->doomed = true;
      continue;
    }
    tsdb__block_ref(old->b[i]);
    v[n++] = old->b[i];
  }
  for (size_t i = 0; i < n_add; i++) v[n++] = add[i];
  qsort(v, n, sizeof *v, cmp_block_seq);
  db->blocks = tsdb__blockset_new(v, n);
  free(v);
  tsdb__blockset_unref(old);
}

/* ---- flush ----
 * The frozen heads are written one series at a time, in key order, each copied into
 * the store's scratch column of its type, sorted and deduplicated there, and encoded
 * before the next one is copied: the flush needs memory for its largest series, not a
 * second copy of the whole head. A series whose values fall in several windows (late
 * data, or a flush across a window's end) is visited once per window. */
struct frozen_series {
  struct tsdb__series *s;
  int64_t wstart; /* the window of its next values to write; TSDB_TIME_MAX when done */
};

static int cmp_frozen_key(const void *a, const void *b) {
  const struct frozen_series *x = a, *y = b;
  size_t m = x->s->keylen < y->s->keylen ? x->s->keylen : y->s->keylen;
  int c = memcmp(x->s->key, y->s->key, m);
  return c ? c : (x->s->keylen < y->s->keylen ? -1 : x->s->keylen > y->s->keylen);
}

struct flush_iter {
  struct tsdb *db;
  struct frozen_series *fs;
  size_t n, i;
  int64_t wstart, wend;
  size_t most[TSDB_STRING + 1]; /* the largest series of each type, for the shrink */
};

static int flush_next(void *arg, struct tsdb__block_input *in) {
  struct flush_iter *it = arg;
  while (it->i < it->n) {
    struct frozen_series *f = &it->fs[it->i++];
    if (f->wstart != it->wstart) continue;
    const struct tsdb__head *h = &f->s->frozen;
    enum tsdb_type t = f->s->type;
    struct tsdb__col *col = &it->db->flush_cols[t];
    tsdb__col_clear(col, t);
    if (h->min >= it->wstart && h->max < it->wend) {
      tsdb__head_to_col(col, h, t); /* all of it: bulk copies */
      f->wstart = TSDB_TIME_MAX;
    } else {
      tsdb__head_copy_range(col, h, t, it->wstart, it->wend);
      int64_t next = h->max < it->wend ? TSDB_TIME_MAX : tsdb__head_next_ts(h, it->wend);
      f->wstart = next == TSDB_TIME_MAX ? next : tsdb__floor(next, it->db->opts.block_ns);
    }
    tsdb__sort_dedupe(col, t);
    if (col->n > it->most[t]) it->most[t] = col->n;
    *in = (struct tsdb__block_input){f->s->key, f->s->keylen, t, col, 0, col->n};
    return 1;
  }
  return 0;
}

static int write_policy_blocks(struct tsdb *db, uint16_t policy, struct frozen_series *fs,
                               size_t n, size_t most[], struct tsdb__block ***out,
                               size_t *n_out, char *err, size_t errlen) {
  if (!n) return 0;
  qsort(fs, n, sizeof *fs, cmp_frozen_key);
  int rc = 0;
  for (;;) {
    int64_t wstart = TSDB_TIME_MAX; /* the earliest window any series still has data in */
    for (size_t i = 0; i < n; i++)
      if (fs[i].wstart < wstart) wstart = fs[i].wstart;
    if (wstart == TSDB_TIME_MAX) break;
    struct flush_iter it = {db, fs, n, 0, wstart, wstart + db->opts.block_ns, {0}};
    uint64_t seq = db->next_seq++;
    char *path = tsdb__block_path(db, policy, wstart, db->opts.block_ns, seq);
    rc = tsdb__block_write(path, wstart, db->opts.block_ns, seq, flush_next, &it, err, errlen);
    for (int t = 0; t <= TSDB_STRING; t++)
      if (it.most[t] > most[t]) most[t] = it.most[t];
    struct tsdb__block *b = NULL;
    if (rc == 0) rc = tsdb__block_open(path, &b, err, errlen);
    free(path);
    if (rc < 0) break;
    b->policy = policy;
    *out = vg_realloc(*out, (*n_out + 1) * sizeof **out);
    (*out)[(*n_out)++] = b;
  }
  return rc;
}

int tsdb__flush(struct tsdb *db, char *err, size_t errlen) {
  pthread_mutex_lock(&db->flush_mu);
  /* Every point logged so far goes into this flush's blocks: a new log segment starts
   * here, so that once they are written the segments before it can all go. (Should the
   * rotation fail, the segment is kept until a later flush, as before.) The rotation
   * syncs the segment it finishes; most of that sync is done first, without write_mu,
   * so writers wait only for what they logged meanwhile. */
  pthread_mutex_lock(&db->write_mu);
  int dfd = tsdb__wal_dup_fd(db->wal);
  pthread_mutex_unlock(&db->write_mu);
  if (dfd >= 0) {
    (void)fdatasync(dfd);
    close(dfd);
  }
  pthread_mutex_lock(&db->write_mu);
  (void)tsdb__wal_rotate(db->wal);
  pthread_rwlock_wrlock(&db->head_lock);
  size_t nf = 0;
  struct frozen_series *fs = NULL;
  size_t cap = 0;
  for (size_t i = 0; i < db->map.cap; i++) {
    struct tsdb__series *s = db->map.slots[i];
    if (!s || s->head.n == 0) continue;
    /* frozen is empty here: flushes are serialised and each ends by clearing it */
    s->frozen = s->head;
    memset(&s->head, 0, sizeof s->head);
    if (nf == cap) {
      cap = cap ? cap * 2 : 256;
      fs = vg_realloc(fs, cap * sizeof *fs);
    }
    fs[nf++] = (struct frozen_series){s, tsdb__floor(s->frozen.min, db->opts.block_ns)};
  }
  uint64_t ckpt = tsdb__wal_next_lsn(db->wal);
  db->head_points = 0;
  pthread_rwlock_unlock(&db->head_lock);
  pthread_mutex_unlock(&db->write_mu);

  int rc = 0;
  struct tsdb__block **made = NULL;
  size_t n_made = 0;
  size_t most[TSDB_STRING + 1] = {0};
  if (nf) {
    /* queries read the frozen heads concurrently: the flush sorts copies (whose
     * strings point into the frozen heads, which outlive them) */
    struct frozen_series *byp = vg_malloc(nf * sizeof *byp);
    for (uint16_t p = 0; p < db->n_policies && rc == 0; p++) {
      size_t m = 0;
      for (size_t i = 0; i < nf; i++)
        if (fs[i].s->policy == p) byp[m++] = fs[i];
      rc = write_policy_blocks(db, p, byp, m, most, &made, &n_made, err, errlen);
    }
    free(byp);
  }
  for (int t = 0; t <= TSDB_STRING; t++) {
    struct tsdb__col *col = &db->flush_cols[t];
    tsdb__col_clear(col, (enum tsdb_type)t);
    /* keep the arrays for the next flush unless they are far larger than needed */
    if (col->cap > 4 * most[t] + 1024) tsdb__col_free(col, (enum tsdb_type)t);
  }
  pthread_rwlock_wrlock(&db->head_lock);
  if (rc == 0) {
    publish(db, made, n_made, NULL, 0, false);
    for (size_t i = 0; i < nf; i++) tsdb__head_free(&db->segs, &fs[i].s->frozen, fs[i].s->type);
  } else {
    /* keep the data: put the frozen points back in front of the head */
    for (size_t i = 0; i < n_made; i++) {
      made[i]->doomed = true;
      tsdb__block_unref(made[i]);
    }
    for (size_t i = 0; i < nf; i++) {
      struct tsdb__series *s = fs[i].s;
      db->head_points += s->frozen.n;
      tsdb__head_prepend(&s->head, &s->frozen);
    }
  }
  pthread_rwlock_unlock(&db->head_lock);
  free(fs);
  free(made);
  /* With nothing in the heads, every logged point is in blocks as well. */
  if (rc == 0 && (nf || ckpt > db->checkpoint_lsn)) {
    db->checkpoint_lsn = ckpt;
    if (tsdb__write_state(db) == 0) {
      pthread_mutex_lock(&db->write_mu);
      (void)tsdb__wal_truncate_before(db->wal, TSDB__WAL_LSN_SEG(ckpt));
      pthread_mutex_unlock(&db->write_mu);
    }
    if (nf) atomic_fetch_add(&db->flushes, 1);
  }
  db->last_flush_ms = vg_now_ms();
  bool say = rc < 0 && error_due(db);
  pthread_mutex_unlock(&db->flush_mu);
  if (say) VG_ERROR("store: flush failed; the head is kept", VF_S("error", err));
  return rc;
}

/* ---- compaction ---- */
struct merge_iter {
  struct tsdb *db;
  struct tsdb__block **b; /* by seq */
  size_t n;
  size_t *pos;            /* next series index in each block */
  struct tsdb__col col;
  enum tsdb_type type;
  struct vg_buf key;
  char *err;
  size_t errlen;
};

static int key_cmp(const char *a, size_t al, const char *b, size_t bl) {
  size_t m = al < bl ? al : bl;
  int c = memcmp(a, b, m);
  return c ? c : (al < bl ? -1 : al > bl);
}

static int merge_next(void *arg, struct tsdb__block_input *in) {
  struct merge_iter *it = arg;
  for (;;) {
    const struct tsdb__block_series *least = NULL;
    for (size_t i = 0; i < it->n; i++) {
      if (it->pos[i] >= it->b[i]->n_series) continue;
      const struct tsdb__block_series *s = &it->b[i]->series[it->pos[i]];
      if (!least || key_cmp(s->key, s->keylen, least->key, least->keylen) < 0) least = s;
    }
    if (!least) return 0;
    size_t klen = least->keylen;
    vg_buf_reset(&it->key);
    vg_buf_append(&it->key, least->key, klen);
    enum tsdb_type type = least->type;
    if (type == it->type) { /* the same arrays serve the next series of a type */
      tsdb__col_clear(&it->col, type);
    } else {
      tsdb__col_free(&it->col, it->type);
      tsdb__col_init(&it->col, false);
      it->type = type;
    }
    for (size_t i = 0; i < it->n; i++) {
      if (it->pos[i] >= it->b[i]->n_series) continue;
      const struct tsdb__block_series *s = &it->b[i]->series[it->pos[i]];
      if (key_cmp(s->key, s->keylen, (const char *)it->key.data, klen) != 0) continue;
      it->pos[i]++;
      if (s->type != type) continue; /* cannot happen through the write path */
      for (size_t c = 0; c < s->n_chunks; c++) {
        int rc = tsdb__block_read_chunk(it->b[i], s, c, &it->col, it->err, it->errlen);
        if (rc < 0) return rc;
      }
    }
    tsdb__sort_dedupe(&it->col, type);
    if (!it->col.n) continue;
    *in = (struct tsdb__block_input){(const char *)it->key.data, klen, type, &it->col, 0, it->col.n};
    return 1;
  }
}

static int merge_group(struct tsdb *db, struct tsdb__block **g, size_t n, int64_t wstart,
                       int64_t wlen, char *err, size_t errlen) {
  uint16_t policy = g[0]->policy;
  struct merge_iter it = {.db = db, .b = g, .n = n, .err = err, .errlen = errlen};
  it.pos = vg_calloc(n, sizeof *it.pos);
  vg_buf_init(&it.key);
  tsdb__col_init(&it.col, false);
  uint64_t seq = db->next_seq++;
  char *path = tsdb__block_path(db, policy, wstart, wlen, seq);
  int rc = tsdb__block_write(path, wstart, wlen, seq, merge_next, &it, err, errlen);
  tsdb__col_free(&it.col, it.type);
  vg_buf_free(&it.key);
  free(it.pos);
  struct tsdb__block *b = NULL;
  if (rc == 0) rc = tsdb__block_open(path, &b, err, errlen);
  free(path);
  if (rc < 0) return rc;
  b->policy = policy;
  pthread_rwlock_wrlock(&db->head_lock);
  publish(db, &b, 1, g, n, true);
  pthread_rwlock_unlock(&db->head_lock);
  (void)tsdb__write_state(db);
  atomic_fetch_add(&db->compactions, 1);
  return 0;
}

/* Where compaction puts a block: its finished day, or its own window until then. */
struct target {
  struct tsdb__block *b;
  uint16_t policy;
  int64_t wstart, wlen;
};

static int cmp_target(const void *a, const void *b) {
  const struct target *x = a, *y = b;
  if (x->policy != y->policy) return x->policy < y->policy ? -1 : 1;
  if (x->wstart != y->wstart) return x->wstart < y->wstart ? -1 : 1;
  if (x->wlen != y->wlen) return x->wlen < y->wlen ? -1 : 1;
  return x->b->seq < y->b->seq ? -1 : x->b->seq > y->b->seq;
}

int tsdb__compact_blocks(struct tsdb *db, bool force, char *err, size_t errlen) {
  pthread_mutex_lock(&db->flush_mu);
  int64_t horizon = tsdb__floor(tsdb__now(), db->opts.block_ns) - db->opts.block_ns;
  struct tsdb__blockset *bs = tsdb__blocks_get(db);
  struct target *t = vg_malloc((bs->n + 1) * sizeof *t);
  for (size_t i = 0; i < bs->n; i++) {
    struct tsdb__block *b = bs->b[i];
    int64_t day = tsdb__floor(b->wstart, TSDB__DAY_NS);
    bool day_done = day + TSDB__DAY_NS <= horizon && b->wlen <= TSDB__DAY_NS;
    /* blocks of a window still being written stay apart until it closes: merging them
     * at every flush would rewrite the window again and again */
    bool held = !force && b->wstart + b->wlen > horizon;
    t[i] = (struct target){b, b->policy, day_done ? day : b->wstart,
                           held ? 0 : day_done ? TSDB__DAY_NS : b->wlen};
  }
  qsort(t, bs->n, sizeof *t, cmp_target);
  struct tsdb__block **g = vg_malloc((bs->n + 1) * sizeof *g);
  int rc = 0;
  for (size_t i = 0; i < bs->n && rc == 0;) {
    size_t j = i, n = 0;
    while (j < bs->n && t[j].policy == t[i].policy && t[j].wstart == t[i].wstart &&
           t[j].wlen == t[i].wlen)
      g[n++] = t[j++].b; /* by seq within the group: later blocks win */
    if (t[i].wlen && (n > 1 || g[0]->wlen != t[i].wlen || g[0]->wstart != t[i].wstart))
      rc = merge_group(db, g, n, t[i].wstart, t[i].wlen, err, errlen);
    i = j;
  }
  free(g);
  free(t);
  tsdb__blockset_unref(bs);
  bool say = rc < 0 && error_due(db);
  pthread_mutex_unlock(&db->flush_mu);
  if (say) VG_ERROR("store: compaction failed", VF_S("error", err));
  return rc;
}

/* ---- retention ---- */
int tsdb__retention(struct tsdb *db, int64_t now) {
  pthread_mutex_lock(&db->flush_mu);
  struct tsdb__blockset *bs = tsdb__blocks_get(db);
  struct tsdb__block **drop = vg_malloc((bs->n + 1) * sizeof *drop);
  size_t n = 0;
  for (size_t i = 0; i < bs->n; i++) {
    struct tsdb__block *b = bs->b[i];
    struct tsdb__policy *p = &db->policies[b->policy];
    if (!p->duration_ns || b->wstart + b->wlen > now - p->duration_ns) continue;
    drop[n++] = b;
    if (b->wstart + b->wlen > p->dropped_until) p->dropped_until = b->wstart + b->wlen;
  }
  for (size_t i = 0; i < db->n_policies; i++) {
    size_t k = 0;
    for (size_t j = 0; j < n; j++) k += drop[j]->policy == i;
    if (!k) continue;
    char until[48];
    vg_rfc3339_format(db->policies[i].dropped_until, VG_FRAC_AUTO, until, sizeof until);
    VG_INFO("store: retention dropped expired blocks", VF_S("policy", db->policies[i].name),
            VF_I("blocks", k), VF_S("raw_data_from", until));
  }
  if (n) {
    pthread_rwlock_wrlock(&db->head_lock);
    publish(db, NULL, 0, drop, n, true);
    pthread_rwlock_unlock(&db->head_lock);
    atomic_fetch_add(&db->retention_drops, n);
    (void)tsdb__write_state(db);
  }
  free(drop);
  tsdb__blockset_unref(bs);
  pthread_mutex_unlock(&db->flush_mu);
  return (int)n;
}

/* ---- loading at open ---- */
static int policy_index(const struct tsdb *db, const char *name) {
  for (size_t i = 0; i < db->n_policies; i++)
    if (strcmp(db->policies[i].name, name) == 0) return (int)i;
  return -1;
}

int tsdb__load_blocks(struct tsdb *db, char *err, size_t errlen) {
  char *root = vg_asprintf("%s/blocks", db->dir);
  vg_mkdir_p(root, 0755);
  for (size_t i = 0; i < db->n_policies; i++) {
    char *d = vg_asprintf("%s/%s", root, db->policies[i].name);
    vg_mkdir_p(d, 0755);
    free(d);
  }
  struct tsdb__block **v = NULL;
  size_t n = 0;
  DIR *rd = opendir(root);
  struct dirent *pe;
  while (rd && (pe = readdir(rd))) {
    if (pe->d_name[0] == '.') continue;
    int pi = policy_index(db, pe->d_name);
    char *pdir = vg_asprintf("%s/%s", root, pe->d_name);
    if (pi < 0)
      VG_WARN("store: blocks of a policy no longer configured are kept under the default policy",
              VF_S("dir", pdir));
    DIR *d = opendir(pdir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      size_t l = strlen(e->d_name);
      char *path = vg_asprintf("%s/%s", pdir, e->d_name);
      if (l > 4 && strcmp(e->d_name + l - 4, ".tmp") == 0) {
        unlink(path); /* a write that never finished */
      } else if (l > 4 && strcmp(e->d_name + l - 4, ".blk") == 0) {
        struct tsdb__block *b = NULL;
        char why[512];
        int rc = tsdb__block_open(path, &b, why, sizeof why);
        if (rc == -EBADMSG) {
          char *bad = vg_asprintf("%s.corrupt", path);
          VG_ERROR("store: corrupt block set aside, not read", VF_S("error", why),
                   VF_S("moved_to", bad));
          rename(path, bad);
          free(bad);
          atomic_fetch_add(&db->corrupt_blocks, 1);
        } else if (rc < 0) {
          snprintf(err, errlen, "%s", why);
          free(path);
          closedir(d);
          free(pdir);
          closedir(rd);
          free(root);
          for (size_t i = 0; i < n; i++) tsdb__block_unref(v[i]);
          free(v);
          return rc;
        } else {
          b->policy = (uint16_t)(pi < 0 ? 0 : pi);
          v = vg_realloc(v, (n + 1) * sizeof *v);
          v[n++] = b;
          if (b->seq >= db->next_seq) db->next_seq = b->seq + 1;
        }
      }
      free(path);
    }
    if (d) closedir(d);
    free(pdir);
  }
  if (rd) closedir(rd);
  free(root);
  if (n) qsort(v, n, sizeof *v, cmp_block_seq);
  /* series named by blocks: raw ones first, so rollup series find their base */
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < v[i]->n_series; j++) {
        const struct tsdb__block_series *s = &v[i]->series[j];
        bool rollup = memchr(s->key, 0x1f, s->keylen) != NULL;
        if (rollup == (pass == 1))
          (void)tsdb__series_get_or_create(db, s->key, s->keylen, s->type, true);
      }
  db->blocks = tsdb__blockset_new(v, n);
  free(v);
  return 0;
}
