/*
 * watch.c — a bridge's life on the loop: inotify on its directory (IN_CLOSE_WRITE and
 * IN_MOVED_TO only: a file closed after writing, or renamed into place — what libuv's
 * uv_fs_event cannot tell apart from a write in progress, so the inotify descriptor is
 * polled with uv_poll), a rescan timer, and the one job at a time that reads files on
 * libuv's thread pool. Events that come while a job runs wait in `pend`; the job's
 * completion starts the next.
 */
#include "bridge/bridge_int.h"

#include "cache/cache.h"
#include "core/core.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

static char *dup_or_null(const char *s) { return s ? vg_strdup(s) : NULL; }

static void copy_cfg(struct cfg_bridge *d, const struct cfg_bridge *s) {
  *d = *s;
  d->name = vg_strdup(s->name);
  d->dir = vg_strdup(s->dir);
  d->glob = vg_strdup(s->glob);
  d->key = vg_strdup(s->key);
  d->values = s->values ? vg_strv_dup(s->values) : NULL;
  d->scan = vg_strdup(s->scan);
  d->time = dup_or_null(s->time);
  d->document = dup_or_null(s->document);
  d->measurement = vg_strdup(s->measurement);
  d->quarantine = vg_strdup(s->quarantine);
}

static void free_cfg(struct cfg_bridge *c) {
  free(c->name);
  free(c->dir);
  free(c->glob);
  free(c->key);
  vg_strv_free(c->values);
  free(c->scan);
  free(c->time);
  free(c->document);
  free(c->measurement);
  free(c->quarantine);
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- the job, on the pool ---- */

static void do_rescan(struct bridge *b) {
  DIR *d = opendir(b->cfg.dir);
  if (!d) {
    bridge__set_error(b, "cannot read %s: %s", b->cfg.dir, strerror(errno));
    atomic_fetch_add(&b->errors, 1);
    bridge__metrics_update(b, -1);
    return;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || fnmatch(b->cfg.glob, e->d_name, 0) != 0) continue;
    const struct bridge__rec *seen = bridge__record_find(&b->rec, e->d_name);
    if (seen && seen->scan < 0) continue; /* quarantined, and failed to move away */
    if (n == cap) names = vg_realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);
    names[n++] = vg_strdup(e->d_name);
  }
  closedir(d);
  /* in name order: scanners number their files, so this is scan order */
  if (n) qsort(names, n, sizeof *names, cmp_names);
  for (size_t i = 0; i < n; i++) {
    bridge__scan_file(b, names[i], false, 0, false);
    free(names[i]);
  }
  free(names);
}

static void work_cb(uv_work_t *w) {
  struct bridge *b = w->data;
  if (b->job_first && b->rec.latest_name) /* a restart: the cache gets the latest scan again */
    bridge__scan_file(b, b->rec.latest_name, true, 0, true);
  for (size_t i = 0; i < b->n_job; i++) bridge__scan_file(b, b->job[i].name, true, b->job[i].t_event, false);
  if (b->job_rescan) do_rescan(b);
}

static void kick(struct bridge *b);

/* ---- the store jobs: one at a time, in scan order, also while stopping ---- */

static void store_work_cb(uv_work_t *w) {
  struct bridge *b = w->data;
  bridge__store_job_run(b, b->store_cur);
}

static void kick_store(struct bridge *b);

static void after_store_cb(uv_work_t *w, int status) {
  struct bridge *b = w->data;
  (void)status;
  bridge__store_job_free(b->store_cur);
  b->store_cur = NULL;
  b->store_busy = false;
  kick_store(b);
}

static void kick_store(struct bridge *b) {
  if (b->store_busy || !b->store_q) return;
  b->store_cur = b->store_q;
  b->store_q = b->store_q->next;
  if (!b->store_q) b->store_q_tail = &b->store_q;
  b->store_busy = true;
  b->store_work.data = b;
  uv_queue_work(b->loop, &b->store_work, store_work_cb, after_store_cb);
}

static void after_work_cb(uv_work_t *w, int status) {
  struct bridge *b = w->data;
  (void)status;
  if (b->made) { /* the scan job's store writes join the queue */
    *b->store_q_tail = b->made;
    b->store_q_tail = b->made_tail;
    b->made = NULL;
    b->made_tail = &b->made;
    kick_store(b);
  }
  for (size_t i = 0; i < b->n_job; i++) free(b->job[i].name);
  free(b->job);
  b->job = NULL;
  b->n_job = 0;
  b->busy = false;
  if (b->stopping) return;
  kick(b);
}

static void kick(struct bridge *b) {
  if (b->busy || b->stopping || (!b->n_pend && !b->want_rescan && !b->first)) return;
  b->job = b->pend;
  b->n_job = b->n_pend;
  b->pend = NULL;
  b->n_pend = b->cap_pend = 0;
  b->job_rescan = b->want_rescan;
  b->job_first = b->first;
  b->want_rescan = b->first = false;
  b->busy = true;
  b->work.data = b;
  uv_queue_work(b->loop, &b->work, work_cb, after_work_cb);
}

/* ---- the loop side ---- */

static void add_pending(struct bridge *b, const char *name, uint64_t t) {
  for (size_t i = 0; i < b->n_pend; i++)
    if (strcmp(b->pend[i].name, name) == 0) return;
  if (b->n_pend == b->cap_pend) b->pend = vg_realloc(b->pend, (b->cap_pend = b->cap_pend ? 2 * b->cap_pend : 16) * sizeof *b->pend);
  b->pend[b->n_pend++] = (struct bridge__item){vg_strdup(name), t};
}

static void on_inotify(uv_poll_t *h, int status, int events) {
  struct bridge *b = h->data;
  (void)events;
  if (status < 0) return;
  uint64_t now = vg_now_ns();
  char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
  for (;;) {
    ssize_t n = read(b->ifd, buf, sizeof buf);
    if (n <= 0) break;
    for (char *p = buf; p < buf + n;) {
      const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
      p += sizeof *ev + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) b->want_rescan = true; /* events were lost: look at everything */
      if (ev->len && (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) && fnmatch(b->cfg.glob, ev->name, 0) == 0)
        add_pending(b, ev->name, now);
    }
  }
  kick(b);
}

static void on_timer(uv_timer_t *t) {
  struct bridge *b = t->data;
  b->want_rescan = true;
  kick(b);
}

static void on_closed(uv_handle_t *h) {
  struct bridge *b = h->data;
  b->open_handles--;
}

int bridge_start(uv_loop_t *loop, const struct cfg_bridge *cfg, const struct bridge_deps *deps, struct bridge **out,
                 char *err, size_t errlen) {
  struct bridge *b = vg_calloc(1, sizeof *b);
  copy_cfg(&b->cfg, cfg);
  snprintf(b->source, sizeof b->source, "bridge:%s", cfg->name);
  b->loop = loop;
  b->ifd = -1;
  b->made_tail = &b->made;
  b->store_q_tail = &b->store_q;
  b->cache = deps->cache;
  atomic_init(&b->latest_scan, -1);
  pthread_mutex_init(&b->mu, NULL);
  vg_buf_init(&b->doc);
  if (deps->target) {
    b->target = *deps->target;
    b->target.source = b->source;
    if (!cfg->store) {
      b->target.store = NULL;
      b->target.sinks = NULL;
    }
    /* the keys go straight to the cache hook, before the store (scan.c) */
    if (cfg->keys) b->keys_hook = b->target.cache;
    b->target.cache = NULL;
  }
  int rc = vg_mkdir_p(cfg->dir, 0755); /* the scanner may start after vigil */
  if (rc < 0) {
    snprintf(err, errlen, "bridge %s: cannot create %s: %s", cfg->name, cfg->dir, strerror(-rc));
    goto fail;
  }
  char *dir = vg_asprintf("%s/bridge/%s", deps->state_dir, cfg->name);
  rc = bridge__record_open(&b->rec, dir, err, errlen);
  free(dir);
  if (rc < 0) goto fail;
  atomic_store(&b->latest_scan, b->rec.latest_scan);
  b->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (b->ifd < 0 || inotify_add_watch(b->ifd, cfg->dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR) < 0) {
    snprintf(err, errlen, "bridge %s: cannot watch %s: %s", cfg->name, cfg->dir, strerror(errno));
    goto fail;
  }
  if (deps->metrics) bridge__metrics_new(deps->metrics, b);
  bridge__metrics_update(b, -1);
  uv_poll_init(loop, &b->poll, b->ifd);
  b->poll.data = b;
  uv_poll_start(&b->poll, UV_READABLE, on_inotify);
  uv_timer_init(loop, &b->timer);
  b->timer.data = b;
  uv_timer_start(&b->timer, on_timer, (uint64_t)cfg->rescan_ms, (uint64_t)cfg->rescan_ms);
  b->open_handles = 2;
  b->first = true;
  b->want_rescan = true; /* what arrived while vigil was down */
  kick(b);
  VG_INFO("bridge started", VF_S("bridge", cfg->name), VF_S("dir", cfg->dir), VF_S("glob", cfg->glob),
          VF_I("recorded", (long long)b->rec.n), VF_I("latest_scan", b->rec.latest_scan));
  *out = b;
  return 0;
fail:
  if (b->ifd >= 0) close(b->ifd);
  b->ifd = -1;
  bridge__record_close(&b->rec);
  free_cfg(&b->cfg);
  vg_buf_free(&b->doc);
  pthread_mutex_destroy(&b->mu);
  free(b);
  return -1;
}

void bridge_stop(struct bridge *b) {
  if (!b || b->stopping) return;
  b->stopping = true;
  if (b->open_handles) {
    uv_close((uv_handle_t *)&b->poll, on_closed);
    uv_close((uv_handle_t *)&b->timer, on_closed);
  }
}

void bridge_free(struct bridge *b) {
  if (!b) return;
  VG_ASSERT(!b->busy && !b->store_busy && !b->store_q && b->open_handles == 0);
  if (b->ifd >= 0) close(b->ifd);
  for (size_t i = 0; i < b->n_pend; i++) free(b->pend[i].name);
  free(b->pend);
  bridge__record_close(&b->rec);
  free(b->pts);
  free(b->tags);
  free(b->fields);
  vg_buf_free(&b->doc);
  bridge__metrics_free(b->m);
  free_cfg(&b->cfg);
  pthread_mutex_destroy(&b->mu);
  free(b);
}

void bridge_get_stats(struct bridge *b, struct bridge_stats *o) {
  memset(o, 0, sizeof *o);
  o->name = b->cfg.name;
  o->scans = atomic_load(&b->scans);
  o->latest_scan = atomic_load(&b->latest_scan);
  o->latest_ts = atomic_load(&b->latest_ts);
  o->assets = atomic_load(&b->assets);
  o->gaps = atomic_load(&b->gaps);
  o->out_of_order = atomic_load(&b->out_of_order);
  o->quarantined = atomic_load(&b->quarantined);
  o->retries = atomic_load(&b->retries);
  o->errors = atomic_load(&b->errors);
  pthread_mutex_lock(&b->mu);
  snprintf(o->last_error, sizeof o->last_error, "%s", b->last_error);
  pthread_mutex_unlock(&b->mu);
}
