/*
 * Notifiers: the alerts that changed (fired, changed severity, resolved) sent to a
 * webhook (POST of a JSON document), an Alertmanager (POST /api/v2/alerts) or an exec
 * hook (the same JSON on its stdin), from one thread of their own so that nothing on
 * the loop or in an evaluation waits for a receiver.
 *
 * Each notifier keeps what it has to send in a pending list and sends it all in one
 * request, at most `rate` requests per second (what arrives meanwhile waits and is sent
 * together). A failed request (no connection, a status outside 2xx, a hook exiting
 * non-zero, a timeout) is retried `retries` times, `backoff` apart and doubling; then it
 * is dropped and counted. The pending list holds at most MAX_PENDING alerts; older ones
 * are dropped first, counted. Alertmanager forgets an alert it has not heard of for
 * its resolve_timeout, so the firing ones are sent again every AM_REFRESH.
 *
 * An exec hook is a child of vigil, whose loop reaps every child: its exit status is
 * known when this thread collects it first; otherwise (reaped by the loop) a hook that
 * read its input and closed its output counts as sent.
 */
#include "monitor/mon_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"
#include "core/vtime.h"
#include "metrics/metrics.h"

#define MAX_PENDING 1000
#define AM_REFRESH_NS (60LL * 1000000000LL)

extern char **environ;

struct list {
  struct mon_alert *v;
  size_t n, cap;
};

struct target {
  const struct cfg_notifier *cfg;
  struct list pending, inflight;
  int attempt;
  int64_t next_at; /* monotonic ns: next send (rate) or retry */
  struct mt_series *sends, *failures, *retries, *dropped;
};

struct mon__notifier {
  struct cfg_monitor *cfg; /* borrowed from the monitor */
  struct target *t;
  size_t n;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop;
  int64_t am_refreshed;
};

static void list_push(struct list *l, const struct mon_alert *a, struct mt_series *dropped) {
  if (l->n == MAX_PENDING) {
    mon_alert_clear(&l->v[0]);
    memmove(l->v, l->v + 1, (l->n - 1) * sizeof *l->v);
    l->n--;
    if (dropped) mt_inc(dropped, 1);
  }
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 8;
    l->v = vg_realloc(l->v, l->cap * sizeof *l->v);
  }
  struct mon_alert *c = &l->v[l->n++];
  *c = *a;
  c->check = vg_strdup(a->check);
  c->key = vg_strdup(a->key);
  c->category = vg_strdup(a->category);
  c->message = vg_strdup(a->message);
  c->details = vg_strdup(a->details);
}

static void list_clear(struct list *l) {
  for (size_t i = 0; i < l->n; i++) mon_alert_clear(&l->v[i]);
  l->n = 0;
}

static int64_t mono_ns(void) { return (int64_t)vg_now_ns(); }

static void time_str(int64_t ns, char *buf, size_t len) { vg_rfc3339_format(ns, 3, buf, len); }

void mon__am_payload(const struct mon_alert *const *alerts, size_t n, struct vg_buf *out) {
  vg_buf_putc(out, '[');
  for (size_t i = 0; i < n; i++) {
    const struct mon_alert *a = alerts[i];
    char t[VG_TIME_LEN];
    if (i) vg_buf_putc(out, ',');
    vg_buf_puts(out, "{\"labels\":{\"alertname\":\"VigilMonitor\",\"check\":");
    vg_buf_json_str(out, a->check);
    vg_buf_puts(out, ",\"key\":");
    vg_buf_json_str(out, a->key);
    vg_buf_printf(out, ",\"severity\":\"%s\",\"category\":", mon_severity_name(a->severity));
    vg_buf_json_str(out, a->category);
    vg_buf_puts(out, "},\"annotations\":{\"summary\":");
    vg_buf_json_str(out, a->message);
    vg_buf_puts(out, ",\"details\":");
    vg_buf_json_str(out, a->details);
    time_str(a->started, t, sizeof t);
    vg_buf_printf(out, "},\"startsAt\":\"%s\"", t);
    if (!a->firing && a->ended) {
      time_str(a->ended, t, sizeof t);
      vg_buf_printf(out, ",\"endsAt\":\"%s\"", t);
    }
    vg_buf_putc(out, '}');
  }
  vg_buf_putc(out, ']');
}

static void webhook_payload(const struct list *l, struct vg_buf *out) {
  vg_buf_puts(out, "{\"source\":\"vigil\",\"version\":1,\"alerts\":[");
  for (size_t i = 0; i < l->n; i++) {
    if (i) vg_buf_putc(out, ',');
    mon_alert_json(&l->v[i], out);
  }
  vg_buf_puts(out, "]}\n");
}

static size_t discard(char *p, size_t size, size_t n, void *arg) { return size * n; }

static int post(const char *url, const struct vg_buf *body, int64_t timeout_ms, char *err, size_t errlen) {
  CURL *c = curl_easy_init();
  VG_ASSERT(c != NULL);
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body->len);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK) {
    snprintf(err, errlen, "%s", curl_easy_strerror(rc));
    return -1;
  }
  if (status < 200 || status > 299) {
    snprintf(err, errlen, "HTTP status %ld", status);
    return -1;
  }
  return 0;
}

/* vigil's environment without what is vigil's own (systemd's notify socket and
 * watchdog): a hook must not speak to systemd as vigil. */
static char **hook_env(void) {
  size_t n = 0;
  for (char **e = environ; *e; e++) n++;
  char **v = vg_calloc(n + 1, sizeof *v);
  size_t k = 0;
  for (char **e = environ; *e; e++)
    if (strncmp(*e, "NOTIFY_SOCKET=", 14) && strncmp(*e, "WATCHDOG_", 9) && strncmp(*e, "LISTEN_", 7))
      v[k++] = *e;
  return v;
}

static int run_hook(char **argv, const struct vg_buf *body, int64_t timeout_ms, char *err, size_t errlen) {
  int in[2];
  if (pipe2(in, O_CLOEXEC) < 0) {
    snprintf(err, errlen, "pipe: %s", strerror(errno));
    return -1;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&at, &none);
  sigset_t dfl;
  sigfillset(&dfl);
  posix_spawnattr_setsigdefault(&at, &dfl);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
  pid_t pid;
  char **env = hook_env();
  int rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, env);
  free(env);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(in[0]);
  if (rc != 0) {
    close(in[1]);
    snprintf(err, errlen, "cannot execute %s: %s", argv[0], strerror(rc));
    return -1;
  }
  /* a hook that does not read its input must not block us: SIGPIPE is ignored by vigil */
  int wr = vg_write_all(in[1], body->data, body->len);
  close(in[1]);
  int64_t deadline = mono_ns() + timeout_ms * 1000000LL;
  for (;;) {
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
      if (WIFEXITED(status)) snprintf(err, errlen, "%s exited with %d", argv[0], WEXITSTATUS(status));
      else snprintf(err, errlen, "%s killed by signal %d", argv[0], WTERMSIG(status));
      return -1;
    }
    if (r < 0 && errno == ECHILD) { /* the loop reaped it first */
      if (wr < 0) snprintf(err, errlen, "%s did not read its input", argv[0]);
      return wr < 0 ? -1 : 0;
    }
    if (mono_ns() > deadline) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      snprintf(err, errlen, "%s took longer than %lldms", argv[0], (long long)timeout_ms);
      return -1;
    }
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
}

/* Sends t's inflight batch once; 0 or -1 with err. Called without the mutex. */
static int send_batch(struct target *t, char *err, size_t errlen) {
  struct vg_buf b;
  vg_buf_init(&b);
  int rc;
  if (t->cfg->kind == CFG_NOTIFY_ALERTMANAGER) {
    const struct mon_alert **v = vg_calloc(t->inflight.n + 1, sizeof *v);
    for (size_t i = 0; i < t->inflight.n; i++) v[i] = &t->inflight.v[i];
    mon__am_payload(v, t->inflight.n, &b);
    free(v);
    char *url = vg_asprintf("%s/api/v2/alerts", t->cfg->url);
    rc = post(url, &b, t->cfg->timeout_ms, err, errlen);
    free(url);
  } else {
    webhook_payload(&t->inflight, &b);
    rc = t->cfg->kind == CFG_NOTIFY_WEBHOOK ? post(t->cfg->url, &b, t->cfg->timeout_ms, err, errlen)
                                            : run_hook(t->cfg->argv, &b, t->cfg->timeout_ms, err, errlen);
  }
  vg_buf_free(&b);
  return rc;
}

static int64_t rate_gap(const struct target *t) { return (int64_t)(1e9 / t->cfg->rate); }

static void *notify_main(void *arg) {
  struct mon__notifier *n = arg;
  pthread_mutex_lock(&n->mu);
  for (;;) {
    int64_t now = mono_ns(), wake = now + 1000000000LL;
    bool work = false;
    for (size_t i = 0; i < n->n; i++) {
      struct target *t = &n->t[i];
      if (!t->inflight.n && t->pending.n && (now >= t->next_at || n->stop)) {
        struct list tmp = t->inflight;
        t->inflight = t->pending;
        t->pending = tmp;
        t->attempt = 0;
      }
      if (t->inflight.n && (now >= t->next_at || n->stop)) {
        work = true;
        pthread_mutex_unlock(&n->mu);
        char err[300] = "";
        int rc = send_batch(t, err, sizeof err);
        pthread_mutex_lock(&n->mu);
        now = mono_ns();
        if (rc == 0) {
          if (t->sends) mt_inc(t->sends, 1);
          VG_DEBUG("alerts sent", VF_S("notifier", t->cfg->name), VF_I("alerts", (long long)t->inflight.n));
          list_clear(&t->inflight);
          t->next_at = now + rate_gap(t);
        } else if (t->attempt < t->cfg->retries && !n->stop) {
          t->attempt++;
          if (t->retries) mt_inc(t->retries, 1);
          t->next_at = now + t->cfg->backoff_ms * 1000000LL * (1LL << (t->attempt - 1 < 20 ? t->attempt - 1 : 20));
          VG_WARN("notifier failed; will retry", VF_S("notifier", t->cfg->name), VF_S("error", err),
                  VF_I("attempt", t->attempt));
        } else {
          if (t->failures) mt_inc(t->failures, 1);
          VG_ERROR("notifier failed; alerts dropped", VF_S("notifier", t->cfg->name),
                   VF_S("error", err), VF_I("alerts", (long long)t->inflight.n));
          list_clear(&t->inflight);
          t->next_at = now + rate_gap(t);
        }
      }
      if ((t->inflight.n || t->pending.n) && t->next_at < wake) wake = t->next_at;
    }
    if (work) continue;
    if (n->stop) break;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t d = wake - now;
    if (d < 1000000) d = 1000000;
    int64_t abs = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + d;
    ts.tv_sec = abs / 1000000000LL;
    ts.tv_nsec = abs % 1000000000LL;
    pthread_cond_timedwait(&n->cv, &n->mu, &ts);
  }
  pthread_mutex_unlock(&n->mu);
  return NULL;
}

/* curl_global_init is not thread-safe: once, before the thread exists. */
static void curl_once(void) { VG_ASSERT(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK); }

struct mon__notifier *mon__notify_start(const struct cfg_monitor *cfg, const struct mon__fams *fams) {
  if (!cfg->n_notifiers) return NULL;
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, curl_once);
  struct mon__notifier *n = vg_calloc(1, sizeof *n);
  n->cfg = (struct cfg_monitor *)cfg;
  n->n = cfg->n_notifiers;
  n->t = vg_calloc(n->n, sizeof *n->t);
  for (size_t i = 0; i < n->n; i++) {
    struct target *t = &n->t[i];
    t->cfg = &cfg->notifiers[i];
    static const char *const kinds[] = {"webhook", "alertmanager", "exec"};
    const char *lv[] = {t->cfg->name, kinds[t->cfg->kind]};
    if (fams) {
      t->sends = mt_get(fams->sends, lv);
      t->failures = mt_get(fams->failures, lv);
      t->retries = mt_get(fams->retries, lv);
      t->dropped = mt_get(fams->dropped, lv);
    }
  }
  pthread_mutex_init(&n->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&n->cv, &ca);
  pthread_condattr_destroy(&ca);
  VG_ASSERT(pthread_create(&n->thread, NULL, notify_main, n) == 0);
  return n;
}

void mon__notify_alert(struct mon__notifier *n, const struct mon_alert *a) {
  if (!n) return;
  pthread_mutex_lock(&n->mu);
  for (size_t i = 0; i < n->n; i++) {
    struct target *t = &n->t[i];
    if (a->severity < t->cfg->min_severity) continue;
    if (!a->firing && !t->cfg->resolved) continue;
    list_push(&t->pending, a, t->dropped);
  }
  pthread_cond_signal(&n->cv);
  pthread_mutex_unlock(&n->mu);
}

void mon__notify_refresh(struct mon__notifier *n, const struct mon_alerts *as) {
  if (!n) return;
  int64_t now = mono_ns();
  pthread_mutex_lock(&n->mu);
  if (now - n->am_refreshed >= AM_REFRESH_NS) {
    n->am_refreshed = now;
    for (size_t i = 0; i < n->n; i++) {
      struct target *t = &n->t[i];
      if (t->cfg->kind != CFG_NOTIFY_ALERTMANAGER) continue;
      for (size_t k = 0; k < mon_alerts_count(as, true); k++) {
        const struct mon_alert *a = mon_alerts_at(as, k);
        if (a->severity >= t->cfg->min_severity) list_push(&t->pending, a, t->dropped);
      }
    }
    pthread_cond_signal(&n->cv);
  }
  pthread_mutex_unlock(&n->mu);
}

void mon__notify_stop(struct mon__notifier **np) {
  struct mon__notifier *n = *np;
  if (!n) return;
  pthread_mutex_lock(&n->mu);
  n->stop = true;
  pthread_cond_signal(&n->cv);
  pthread_mutex_unlock(&n->mu);
  pthread_join(n->thread, NULL);
  for (size_t i = 0; i < n->n; i++) {
    list_clear(&n->t[i].pending);
    list_clear(&n->t[i].inflight);
    free(n->t[i].pending.v);
    free(n->t[i].inflight.v);
  }
  free(n->t);
  pthread_mutex_destroy(&n->mu);
  pthread_cond_destroy(&n->cv);
  free(n);
  *np = NULL;
}

