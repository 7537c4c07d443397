/*
 * The lease thread: every `renew` it renews the lease it holds, or tries to acquire it
 * when the loop allows, each call bounded by `timeout` (the backends' blocking calls);
 * results go to the loop through a small queue and a uv_async. The loop thread never
 * waits on the lease store.
 *
 * After each success it sends the fencer the new hard deadline itself, computed from
 * the moment the request was sent: the store judged the expiry from a later moment, so
 * sent + ttl − margin/2 is before the expiry whatever the network took.
 */
#include "failover/fo_int.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static uint64_t mono_ns(void) { return fo__now_ns(); }

static void push(struct fo__thread *t, const struct fo__ev *ev) {
  pthread_mutex_lock(&t->mu);
  if (t->q_n == FO__QUEUE) { /* the loop is far behind: keep the newest */
    t->q_head = (t->q_head + 1) % FO__QUEUE;
    t->q_n--;
  }
  t->q[(t->q_head + t->q_n) % FO__QUEUE] = *ev;
  t->q_n++;
  pthread_mutex_unlock(&t->mu);
  uv_async_send(t->async);
}

bool fo__thread_pop(struct fo__thread *t, struct fo__ev *ev) {
  pthread_mutex_lock(&t->mu);
  bool any = t->q_n > 0;
  if (any) {
    *ev = t->q[t->q_head];
    t->q_head = (t->q_head + 1) % FO__QUEUE;
    t->q_n--;
  }
  pthread_mutex_unlock(&t->mu);
  return any;
}

static void fence_deadline(struct fo__thread *t, uint64_t sent_ns) {
  if (t->fencer_fd < 0) return;
  uint64_t d = sent_ns + (uint64_t)(t->params.ttl_ms - t->margin_ms / 2) * VG_NS_PER_MS;
  fo__fence_send(t->fencer_fd, FO__FENCE_DEADLINE, 0, d);
}

static void error_ev(struct fo__thread *t, const char *msg) {
  struct fo__ev ev = {.kind = FO__EV_ERROR};
  snprintf(ev.msg, sizeof ev.msg, "%s", msg);
  atomic_fetch_add(&t->failures, 1);
  push(t, &ev);
}

static void do_release(struct fo__thread *t, const char *handover) {
  char err[256] = "";
  if (t->holding) {
    int rc = t->backend.release(&t->backend, &t->params, t->token, handover, err, sizeof err);
    if (rc == FO__ERR) VG_WARN("failover: cannot release the lease", VF_S("error", err));
    else VG_INFO("failover: lease released", VF_I("token", (long long)t->token),
                 VF_S("handover", handover[0] ? handover : "-"));
  }
  t->holding = false;
  struct fo__ev ev = {.kind = FO__EV_RELEASED, .token = t->token};
  push(t, &ev);
}

/* Returns how long to wait before the next round: `renew`, or less when a standby saw
 * the lease (or the cooldown) end sooner — it tries again right after, so a failover
 * does not wait for the next tick on top of the expiry. */
static int64_t round_once(struct fo__thread *t, bool may_acquire) {
  char err[256] = "";
  uint64_t sent = mono_ns();
  if (t->holding) {
    int rc = t->backend.renew(&t->backend, &t->params, t->token, err, sizeof err);
    if (rc == FO__YES) {
      fence_deadline(t, sent);
      atomic_fetch_add(&t->renewals, 1);
      struct fo__ev ev = {.kind = FO__EV_RENEWED, .token = t->token, .sent_ns = sent};
      push(t, &ev);
    } else if (rc == FO__NO) {
      t->holding = false;
      atomic_fetch_add(&t->failures, 1);
      struct fo__ev ev = {.kind = FO__EV_LOST, .token = t->token};
      snprintf(ev.msg, sizeof ev.msg, "the lease is no longer this node's");
      push(t, &ev);
    } else {
      t->backend.disconnect(&t->backend);
      error_ev(t, err);
    }
    return t->renew_ms;
  }
  if (!may_acquire) return t->renew_ms;
  struct fo__view v;
  uint64_t token = 0;
  int rc = t->backend.acquire(&t->backend, &t->params, t->seen_token, &token, &v, err, sizeof err);
  if (rc == FO__YES) {
    t->holding = true;
    t->token = token;
    if (token > t->seen_token) t->seen_token = token;
    fence_deadline(t, sent);
    struct fo__ev ev = {.kind = FO__EV_ACQUIRED, .token = token, .sent_ns = sent, .view = v};
    push(t, &ev);
  } else if (rc == FO__NO) {
    if (v.token > t->seen_token) t->seen_token = v.token;
    struct fo__ev ev = {.kind = FO__EV_VIEW, .view = v};
    push(t, &ev);
    int64_t left = v.holder[0] ? v.expires_in_ms : v.cooldown_ms;
    if (left >= 0 && left < t->renew_ms) return left + 2;
  } else {
    t->backend.disconnect(&t->backend);
    error_ev(t, err);
  }
  return t->renew_ms;
}

static void *thread_main(void *arg) {
  struct fo__thread *t = arg;
  pthread_mutex_lock(&t->mu);
  while (!t->stop) {
    bool may = t->may_acquire;
    bool rel = t->release_pending;
    char handover[sizeof t->handover];
    memcpy(handover, t->handover, sizeof handover);
    t->release_pending = false;
    pthread_mutex_unlock(&t->mu);

    uint64_t started = vg_now_ns(); /* CLOCK_MONOTONIC, the condition variable's clock */
    int64_t wait_ms = t->renew_ms;
    if (rel) do_release(t, handover);
    else wait_ms = round_once(t, may);

    pthread_mutex_lock(&t->mu);
    /* the next round at started + wait (renew, or the expiry a standby saw), or at once
     * for a command */
    uint64_t next = started + (uint64_t)wait_ms * VG_NS_PER_MS;
    struct timespec ts = {.tv_sec = (time_t)(next / VG_NS_PER_SEC),
                          .tv_nsec = (long)(next % VG_NS_PER_SEC)};
    while (!t->stop && !t->release_pending && !(t->may_acquire && !may && !t->holding)) {
      if (pthread_cond_timedwait(&t->cond, &t->mu, &ts) == ETIMEDOUT) break;
    }
  }
  bool rel = t->release_pending;
  char handover[sizeof t->handover];
  memcpy(handover, t->handover, sizeof handover);
  pthread_mutex_unlock(&t->mu);
  if (rel) do_release(t, handover);
  t->backend.disconnect(&t->backend);
  return NULL;
}

int fo__thread_start(struct fo__thread *t) {
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&t->cond, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&t->mu, NULL);
  int rc = pthread_create(&t->tid, NULL, thread_main, t);
  if (rc) return -rc;
  t->started = true;
  return 0;
}

void fo__thread_set_may_acquire(struct fo__thread *t, bool may) {
  pthread_mutex_lock(&t->mu);
  t->may_acquire = may;
  pthread_cond_signal(&t->cond);
  pthread_mutex_unlock(&t->mu);
}

void fo__thread_release(struct fo__thread *t, const char *handover) {
  pthread_mutex_lock(&t->mu);
  t->release_pending = true;
  snprintf(t->handover, sizeof t->handover, "%s", handover ? handover : "");
  pthread_cond_signal(&t->cond);
  pthread_mutex_unlock(&t->mu);
}

void fo__thread_stop(struct fo__thread *t, bool release) {
  if (!t->started) return;
  pthread_mutex_lock(&t->mu);
  t->stop = true;
  t->may_acquire = false;
  if (release && !t->release_pending) {
    t->release_pending = true;
    snprintf(t->handover, sizeof t->handover, "-%s", t->params.node);
  }
  pthread_cond_signal(&t->cond);
  pthread_mutex_unlock(&t->mu);
  pthread_join(t->tid, NULL);
  t->started = false;
  pthread_mutex_destroy(&t->mu);
  pthread_cond_destroy(&t->cond);
}
