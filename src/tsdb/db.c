/*
 * db — opening and closing the store, its options, the background thread that flushes,
 * compacts, applies retention and computes rollups, and the statistics and metrics.
 *
 * Directory layout:
 *   LOCK            flock'ed while open: one process per store
 *   series/         series log (a tsdb__wal): every series key ever created, with its id
 *   wal/            data log: batches of samples by series id
 *   blocks/POLICY/  block files, WSTART-WLEN-SEQ.blk (seconds; the header is authoritative)
 *   state           checkpoint LSN, next block sequence, retention and rollup watermarks
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"
#include "metrics/metrics.h"
#include "tsdb/tsdb_int.h"

#define FLUSH_AGE_MS (5 * 60 * 1000) /* a head older than this is flushed */
#define MAINTAIN_MS 1000

int64_t tsdb_now(void) { return tsdb__now(); }

int64_t tsdb__now(void) { return vg_wall_ns(); }

static bool valid_name(const char *s) {
  if (!s || !*s || strlen(s) > 60) return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_' || *s == '-'))
      return false;
  return true;
}

static int find_policy(const struct tsdb *db, const char *name) {
  for (size_t i = 0; i < db->n_policies; i++)
    if (strcmp(db->policies[i].name, name) == 0) return (int)i;
  return -1;
}

static int setup_policies(struct tsdb *db, const struct tsdb_opts *o, char *err, size_t errlen) {
  db->policies = vg_calloc(o->n_policies + 1, sizeof *db->policies);
  db->policies[0] = (struct tsdb__policy){.name = vg_strdup("default"),
                                          .dropped_until = TSDB_TIME_MIN};
  db->n_policies = 1;
  for (size_t i = 0; i < o->n_policies; i++) {
    const struct tsdb_policy *p = &o->policies[i];
    if (!valid_name(p->name)) {
      snprintf(err, errlen, "retention policy %zu: name must be 1-60 of [A-Za-z0-9_-]", i + 1);
      return -EINVAL;
    }
    if (p->duration_ns < 0) {
      snprintf(err, errlen, "retention policy %s: negative duration", p->name);
      return -EINVAL;
    }
    struct tsdb__policy *d;
    if (strcmp(p->name, "default") == 0) {
      d = &db->policies[0]; /* configures the catch-all */
    } else if (find_policy(db, p->name) >= 0) {
      snprintf(err, errlen, "retention policy %s is defined twice", p->name);
      return -EINVAL;
    } else {
      d = &db->policies[db->n_policies++];
      d->name = vg_strdup(p->name);
      d->dropped_until = TSDB_TIME_MIN;
    }
    d->duration_ns = p->duration_ns;
    d->measurement = p->measurement ? vg_strdup(p->measurement) : NULL;
    d->n_tags = p->n_tags;
    d->tags = vg_calloc(p->n_tags ? p->n_tags : 1, sizeof *d->tags);
    for (size_t k = 0; k < p->n_tags; k++) {
      d->tags[k].key = (struct tsdb_str){vg_strndup(p->tags[k].key.p, p->tags[k].key.len),
                                         p->tags[k].key.len};
      d->tags[k].value = (struct tsdb_str){vg_strndup(p->tags[k].value.p, p->tags[k].value.len),
                                           p->tags[k].value.len};
    }
  }
  db->rollups = vg_calloc(o->n_rollups + 1, sizeof *db->rollups);
  for (size_t i = 0; i < o->n_rollups; i++) {
    const struct tsdb_rollup *r = &o->rollups[i];
    if (!valid_name(r->name)) {
      snprintf(err, errlen, "rollup %zu: name must be 1-60 of [A-Za-z0-9_-]", i + 1);
      return -EINVAL;
    }
    int src = r->source ? find_policy(db, r->source) : 0, dst = r->target ? find_policy(db, r->target) : -1;
    if (src < 0 || dst < 0) {
      snprintf(err, errlen, "rollup %s: unknown %s policy '%s'", r->name, src < 0 ? "source" : "target",
               src < 0 ? r->source : r->target ? r->target : "");
      return -EINVAL;
    }
    if (src == dst) {
      snprintf(err, errlen, "rollup %s: source and target must be different policies", r->name);
      return -EINVAL;
    }
    if (r->interval_ns <= 0 || TSDB__DAY_NS % r->interval_ns != 0) {
      snprintf(err, errlen, "rollup %s: the interval must divide a day", r->name);
      return -EINVAL;
    }
    unsigned aggs = r->aggs ? r->aggs : (1u << TSDB_AGG_MEAN) | (1u << TSDB_AGG_MIN) |
                                            (1u << TSDB_AGG_MAX) | (1u << TSDB_AGG_FIRST) |
                                            (1u << TSDB_AGG_LAST);
    if (aggs & (1u << TSDB_AGG_MEAN)) aggs |= (1u << TSDB_AGG_SUM) | (1u << TSDB_AGG_COUNT);
    aggs &= ~((1u << TSDB_AGG_MEAN) | 1u);
    db->rollups[i] = (struct tsdb__rollup){vg_strdup(r->name), (uint16_t)src, (uint16_t)dst,
                                           r->interval_ns, aggs, TSDB_TIME_MIN, TSDB_TIME_MAX};
    db->n_rollups = i + 1;
  }
  return 0;
}

/* The state file is advisory for watermarks; a missing or odd line keeps the default. */
static void read_state(struct tsdb *db) {
  char *path = vg_asprintf("%s/state", db->dir);
  FILE *f = fopen(path, "re");
  free(path);
  if (!f) return;
  char line[512], name[128];
  unsigned long long u;
  long long a, b;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "checkpoint %llu", &u) == 1) db->checkpoint_lsn = u;
    else if (sscanf(line, "seq %llu", &u) == 1 && u > db->next_seq) db->next_seq = u;
    else if (sscanf(line, "dropped %127s %lld", name, &a) == 2) {
      int p = find_policy(db, name);
      if (p >= 0) db->policies[p].dropped_until = a;
    } else if (sscanf(line, "rollup %127s %lld %lld", name, &a, &b) == 3) {
      for (size_t i = 0; i < db->n_rollups; i++)
        if (strcmp(db->rollups[i].name, name) == 0) {
          db->rollups[i].done_until = a;
          db->rollups[i].dirty_from = b;
        }
    }
  }
  fclose(f);
}

/* Under write_mu: mirrors the logs' state into the atomics tsdb_health reads, after
 * letting a failed log try to recover (each does so at most once a second). Returns true
 * when a log recovered since the last call: its unsynced tail may not have been kept, so
 * the caller flushes the heads into blocks. */
static bool logs_checked(struct tsdb *db) {
  if (tsdb__wal_error(db->series_log, NULL)) (void)tsdb__wal_recover(db->series_log);
  if (tsdb__wal_error(db->wal, NULL)) (void)tsdb__wal_recover(db->wal);
  uint64_t since = 0;
  int err = tsdb__wal_error(db->series_log, &since);
  if (!err) err = tsdb__wal_error(db->wal, &since);
  atomic_store(&db->log_err, err);
  atomic_store(&db->log_err_since, since);
  uint64_t rec = tsdb__wal_recoveries(db->series_log) + tsdb__wal_recoveries(db->wal);
  atomic_store(&db->log_recoveries, rec);
  bool recovered = rec != db->recoveries_flushed;
  db->recoveries_flushed = rec;
  return recovered;
}

int tsdb_health(struct tsdb *db, char *why, size_t len) {
  /* never waits for a commit: a busy writer means the mirror is at most a second old */
  if (pthread_mutex_trylock(&db->write_mu) == 0) {
    uint64_t since = 0;
    int err = tsdb__wal_error(db->series_log, &since);
    if (!err) err = tsdb__wal_error(db->wal, &since);
    atomic_store(&db->log_err, err);
    atomic_store(&db->log_err_since, since);
    atomic_store(&db->log_recoveries,
                 tsdb__wal_recoveries(db->series_log) + tsdb__wal_recoveries(db->wal));
    pthread_mutex_unlock(&db->write_mu);
  }
  int err = atomic_load(&db->log_err);
  if (len) why[0] = '\0';
  if (err && len) {
    uint64_t since = atomic_load(&db->log_err_since), now = vg_now_ms();
    snprintf(why, len, "write-ahead log: %s for %llus", strerror(-err),
             (unsigned long long)(now > since ? (now - since) / 1000 : 0));
  }
  return err;
}

/* A state file being replaced when the process died ("state.XXXXXX.tmp"). */
static void remove_leftovers(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (strncmp(e->d_name, "state.", 6) == 0 && l > 10 && strcmp(e->d_name + l - 4, ".tmp") == 0) {
      char *p = vg_asprintf("%s/%s", dir, e->d_name);
      unlink(p);
      free(p);
    }
  }
  if (d) closedir(d);
}

static void maintain(struct tsdb *db, bool force) {
  char err[512];
  int64_t now = tsdb__now();
  if (db->head_points && (force || db->head_points >= db->opts.head_max_points ||
                          vg_now_ms() - db->last_flush_ms >= FLUSH_AGE_MS))
    (void)tsdb__flush(db, err, sizeof err);
  (void)tsdb__rollups_run(db, now);
  (void)tsdb__retention(db, now);
  (void)tsdb__compact_blocks(db, force, err, sizeof err);
}

static void *background(void *arg) {
  struct tsdb *db = arg;
  uint64_t last = vg_now_ms();
  pthread_mutex_lock(&db->cond_mu);
  while (!db->stopping) {
    uint32_t wait_ms = MAINTAIN_MS;
    if (db->opts.sync == TSDB_SYNC_INTERVAL && db->opts.sync_interval_ms < wait_ms)
      wait_ms = db->opts.sync_interval_ms;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += wait_ms / 1000;
    ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    if (!db->kick) pthread_cond_timedwait(&db->cond, &db->cond_mu, &ts);
    bool kicked = db->kick;
    db->kick = false;
    if (db->stopping) break;
    pthread_mutex_unlock(&db->cond_mu);
    pthread_mutex_lock(&db->write_mu);
    bool recovered = logs_checked(db);
    pthread_mutex_unlock(&db->write_mu);
    if (recovered && db->head_points) {
      char err[512];
      (void)tsdb__flush(db, err, sizeof err);
    }
    if (db->opts.sync == TSDB_SYNC_INTERVAL) {
      pthread_mutex_lock(&db->write_mu);
      uint64_t before = tsdb__wal_synced_lsn(db->wal);
      (void)tsdb__wal_maybe_sync(db->series_log, vg_now_ms());
      (void)tsdb__wal_maybe_sync(db->wal, vg_now_ms());
      if (tsdb__wal_synced_lsn(db->wal) != before) atomic_fetch_add(&db->wal_syncs, 1);
      pthread_mutex_unlock(&db->write_mu);
    }
    if (kicked || vg_now_ms() - last >= MAINTAIN_MS) {
      maintain(db, false);
      last = vg_now_ms();
    }
    pthread_mutex_lock(&db->cond_mu);
  }
  pthread_mutex_unlock(&db->cond_mu);
  return NULL;
}

int tsdb_open(struct tsdb **out, const char *dir, const struct tsdb_opts *opts, char *err,
              size_t errlen) {
  *out = NULL;
  struct tsdb_opts o = opts ? *opts : (struct tsdb_opts){0};
  if (!o.sync_interval_ms) o.sync_interval_ms = 100;
  if (!o.block_ns) o.block_ns = 2 * 3600 * TSDB_NS_PER_SEC;
  if (!o.head_max_points) o.head_max_points = 8u << 20;
  if (o.block_ns < 0 || TSDB__DAY_NS % o.block_ns != 0) {
    snprintf(err, errlen, "the block window must divide a day");
    return -EINVAL;
  }
  if (vg_mkdir_p(dir, 0755) < 0) {
    snprintf(err, errlen, "%s: %s", dir, strerror(errno));
    return -errno;
  }
  struct tsdb *db = vg_calloc(1, sizeof *db);
  db->dir = vg_strdup(dir);
  db->opts = o;
  db->opts.policies = NULL;
  db->opts.rollups = NULL;
  db->next_seq = 1;
  db->lock_fd = -1;
  pthread_mutex_init(&db->write_mu, NULL);
  pthread_mutex_init(&db->flush_mu, NULL);
  pthread_mutex_init(&db->cond_mu, NULL);
  pthread_cond_init(&db->cond, NULL);
  /* glibc's rwlocks prefer readers by default: a steady stream of queries would starve
   * the writers. Writers first: a query waits at most for one batch to be applied. */
  pthread_rwlockattr_t ra;
  pthread_rwlockattr_init(&ra);
  pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&db->map_lock, &ra);
  pthread_rwlock_init(&db->head_lock, &ra);
  tsdb__segpool_init(&db->segs);
  pthread_rwlockattr_destroy(&ra);
  tsdb__map_init(&db->map);
  vg_buf_init(&db->wal_buf);
  vg_buf_init(&db->key_buf);
  db->blocks = tsdb__blockset_new(NULL, 0);
  int rc = setup_policies(db, &o, err, errlen);
  if (rc == 0) {
    char *lock = vg_asprintf("%s/LOCK", dir);
    db->lock_fd = vg_lockfile(lock, 0644);
    free(lock);
    if (db->lock_fd < 0) {
      rc = db->lock_fd;
      if (rc == -EBUSY) snprintf(err, errlen, "%s is in use by another process", dir);
      else snprintf(err, errlen, "%s/LOCK: %s", dir, strerror(-rc));
    } else {
      remove_leftovers(dir);
    }
  }
  if (rc == 0) {
    read_state(db);
    tsdb__blockset_unref(db->blocks);
    db->blocks = NULL;
    rc = tsdb__replay(db, err, errlen);
    if (!db->blocks) db->blocks = tsdb__blockset_new(NULL, 0);
  }
  if (rc < 0) {
    tsdb_close(db);
    return rc;
  }
  db->last_flush_ms = vg_now_ms();
  if (o.background) {
    if (pthread_create(&db->thread, NULL, background, db) == 0) db->thread_started = true;
  }
  *out = db;
  return 0;
}

void tsdb_close(struct tsdb *db) {
  if (!db) return;
  if (db->thread_started) {
    pthread_mutex_lock(&db->cond_mu);
    db->stopping = true;
    pthread_cond_signal(&db->cond);
    pthread_mutex_unlock(&db->cond_mu);
    pthread_join(db->thread, NULL);
  }
  if (db->series_log) (void)tsdb__wal_close(&db->series_log);
  if (db->wal) (void)tsdb__wal_close(&db->wal);
  tsdb__blockset_unref(db->blocks);
  tsdb__groups_free(&db->groups);
  tsdb__map_free(&db->map);
  tsdb__segpool_destroy(&db->segs);
  for (int t = 0; t <= TSDB_STRING; t++) tsdb__col_free(&db->flush_cols[t], (enum tsdb_type)t);
  for (size_t i = 0; i < db->n_policies; i++) {
    struct tsdb__policy *p = &db->policies[i];
    free(p->name);
    free(p->measurement);
    for (size_t k = 0; k < p->n_tags; k++) {
      free((void *)p->tags[k].key.p);
      free((void *)p->tags[k].value.p);
    }
    free(p->tags);
  }
  free(db->policies);
  for (size_t i = 0; i < db->n_rollups; i++) free(db->rollups[i].name);
  free(db->rollups);
  vg_buf_free(&db->wal_buf);
  vg_buf_free(&db->key_buf);
  free(db->pending);
  free(db->metrics_state);
  if (db->lock_fd >= 0) close(db->lock_fd);
  pthread_mutex_destroy(&db->write_mu);
  pthread_mutex_destroy(&db->flush_mu);
  pthread_mutex_destroy(&db->cond_mu);
  pthread_cond_destroy(&db->cond);
  pthread_rwlock_destroy(&db->map_lock);
  pthread_rwlock_destroy(&db->head_lock);
  free(db->dir);
  free(db);
}

int tsdb_sync(struct tsdb *db) {
  pthread_mutex_lock(&db->write_mu);
  int rc = tsdb__wal_sync(db->series_log);
  if (rc == 0) rc = tsdb__wal_sync(db->wal);
  if (rc == 0) atomic_fetch_add(&db->wal_syncs, 1);
  pthread_mutex_unlock(&db->write_mu);
  return rc;
}

int tsdb_compact(struct tsdb *db, char *err, size_t errlen) {
  int64_t now = tsdb__now();
  int rc = tsdb__flush(db, err, errlen);
  if (rc == 0) rc = tsdb__rollups_run(db, now) < 0 ? -EIO : 0;
  if (rc == 0) rc = tsdb__flush(db, err, errlen); /* the rollup points just written */
  if (rc == 0) (void)tsdb__retention(db, now);
  if (rc == 0) rc = tsdb__compact_blocks(db, true, err, errlen);
  if (rc == -EIO) snprintf(err, errlen, "a rollup failed; see the log");
  return rc;
}

int tsdb_apply_retention(struct tsdb *db) { return tsdb__retention(db, tsdb__now()); }

/* ---- statistics ---- */
static uint64_t dir_bytes(const char *path) {
  uint64_t n = 0;
  DIR *d = opendir(path);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char *p = vg_asprintf("%s/%s", path, e->d_name);
    struct stat st;
    if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) n += (uint64_t)st.st_size;
    free(p);
  }
  if (d) closedir(d);
  return n;
}

void tsdb_stats(struct tsdb *db, struct tsdb_stats *st) {
  memset(st, 0, sizeof *st);
  st->policies = vg_calloc(db->n_policies, sizeof *st->policies);
  st->n_policies = db->n_policies;
  for (size_t i = 0; i < db->n_policies; i++) {
    snprintf(st->policies[i].name, sizeof st->policies[i].name, "%s", db->policies[i].name);
    st->policies[i].duration_ns = db->policies[i].duration_ns;
  }
  pthread_rwlock_rdlock(&db->map_lock);
  for (size_t i = 0; i < db->map.cap; i++) {
    struct tsdb__series *s = db->map.slots[i];
    if (!s) continue;
    st->series++;
    st->policies[s->policy].series++;
  }
  pthread_rwlock_unlock(&db->map_lock);
  struct tsdb__blockset *bs = tsdb__blocks_get(db);
  pthread_rwlock_rdlock(&db->head_lock);
  st->head_points = db->head_points;
  for (size_t i = 0; i < db->map.cap; i++)
    if (db->map.slots[i]) st->head_points += db->map.slots[i]->frozen.n;
  pthread_rwlock_unlock(&db->head_lock);
  for (size_t i = 0; i < bs->n; i++) {
    const struct tsdb__block *b = bs->b[i];
    struct tsdb_policy_stats *p = &st->policies[b->policy];
    st->blocks++;
    st->block_points += b->points;
    st->block_bytes += b->bytes;
    p->blocks++;
    p->points += b->points;
    p->bytes += b->bytes;
    if (b->n_series && (!p->mint || b->mint < p->mint)) p->mint = b->mint;
    if (b->n_series && (!p->maxt || b->maxt > p->maxt)) p->maxt = b->maxt;
  }
  tsdb__blockset_unref(bs);
  char *w = vg_asprintf("%s/wal", db->dir), *s = vg_asprintf("%s/series", db->dir);
  st->wal_bytes = dir_bytes(w) + dir_bytes(s);
  free(w);
  free(s);
  st->points_written = atomic_load(&db->points_written);
  st->points_rejected = atomic_load(&db->points_rejected);
  st->wal_syncs = atomic_load(&db->wal_syncs);
  st->flushes = atomic_load(&db->flushes);
  st->compactions = atomic_load(&db->compactions);
  st->retention_drops = atomic_load(&db->retention_drops);
  st->rollup_points = atomic_load(&db->rollup_points);
  st->queries = atomic_load(&db->queries);
  st->query_ns_total = atomic_load(&db->query_ns);
  st->writable = tsdb_health(db, NULL, 0) == 0;
  st->wal_recoveries = atomic_load(&db->log_recoveries);
}

void tsdb_stats_free(struct tsdb_stats *st) {
  free(st->policies);
  st->policies = NULL;
}
