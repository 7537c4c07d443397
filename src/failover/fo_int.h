/* Private to src/failover/: the lease backends, the lease thread and the fencer. */
#ifndef VIGIL_FO_INT_H
#define VIGIL_FO_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "failover/failover.h"

/* The clock of every lease deadline (fencer.c): CLOCK_BOOTTIME, which, unlike
 * CLOCK_MONOTONIC, keeps counting while the machine is suspended, as the store's
 * clock does. */
uint64_t fo__now_ns(void);

/* ---- lease backends (lease_redis.c, lease_pg.c): blocking, each call bounded ---- */

/* What the store says about the lease. */
struct fo__view {
  char holder[128];        /* "" when free */
  uint64_t token;          /* the holder's token (or the last one handed out) */
  int64_t expires_in_ms;   /* -1 when free */
  int64_t cooldown_ms;     /* > 0: free but held back by the cooldown this long */
};

struct fo__lease_params {
  const char *node, *key;
  int64_t ttl_ms, timeout_ms, cooldown_ms;
};

enum { FO__ERR = -1, FO__NO = 0, FO__YES = 1 };

struct fo__backend {
  const char *name; /* "redis" or "postgres" */
  void *conn;
  const struct cfg_failover *cfg;
  /* Each returns FO__YES, FO__NO (refused: held by another, not ours) or FO__ERR with
   * err filled (the connection is then dropped and made again next time). */
  int (*acquire)(struct fo__backend *b, const struct fo__lease_params *p, uint64_t seen_token,
                 uint64_t *token, struct fo__view *v, char *err, size_t errlen);
  int (*renew)(struct fo__backend *b, const struct fo__lease_params *p, uint64_t token,
               char *err, size_t errlen);
  /* Releases the lease if still ours; handover "+NODE", "-NODE" or "" is left for the
   * next acquisition (kept 3 × ttl). */
  int (*release)(struct fo__backend *b, const struct fo__lease_params *p, uint64_t token,
                 const char *handover, char *err, size_t errlen);
  void (*disconnect)(struct fo__backend *b);
};

void fo__redis_backend(struct fo__backend *b, const struct cfg_failover *cfg);
void fo__pg_backend(struct fo__backend *b, const struct cfg_failover *cfg);

/* Redis actions (lease_redis.c, run on libuv's thread pool): REPLICAOF NO ONE / REPLICAOF H P. */
int fo__redis_replicaof(const char *target, const char *primary, int64_t timeout_ms, char *err,
                        size_t errlen);

/* ---- the lease thread (thread.c) ---- */

enum fo__ev_kind {
  FO__EV_ACQUIRED, /* token, sent_ns */
  FO__EV_RENEWED,  /* sent_ns */
  FO__EV_LOST,     /* renew refused: the lease is someone else's or gone */
  FO__EV_ERROR,    /* msg; the store could not be reached or answered badly */
  FO__EV_VIEW,     /* view: who holds it (as a standby sees it) */
  FO__EV_RELEASED,
};

struct fo__ev {
  enum fo__ev_kind kind;
  uint64_t token;
  uint64_t sent_ns;        /* fo__now_ns when the successful request was sent */
  struct fo__view view;
  char msg[200];
};

#define FO__QUEUE 64

struct fo__thread {
  pthread_t tid;
  bool started;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  /* under mu */
  bool stop;
  bool may_acquire;        /* the loop is ready for a term (standby, services stopped) */
  bool release_pending;
  char handover[140];
  struct fo__ev q[FO__QUEUE];
  size_t q_head, q_n;
  uv_async_t *async;       /* woken for each event */
  /* the thread's own */
  struct fo__backend backend;
  struct fo__lease_params params;
  int64_t renew_ms;
  bool holding;
  uint64_t token, seen_token;
  int fencer_fd;           /* deadlines go straight to the fencer, -1: none */
  int64_t margin_ms;
  _Atomic uint64_t renewals, failures;
};

int fo__thread_start(struct fo__thread *t);
/* Sets stop, releases if asked, joins. */
void fo__thread_stop(struct fo__thread *t, bool release);
void fo__thread_set_may_acquire(struct fo__thread *t, bool may);
void fo__thread_release(struct fo__thread *t, const char *handover);
/* Takes the next event; false when none. */
bool fo__thread_pop(struct fo__thread *t, struct fo__ev *ev);

/* ---- the fencer process (fencer.c) ---- */

/* Messages on the fencer's pipe: fixed size, one write each (atomic, < PIPE_BUF). */
enum { FO__FENCE_DEADLINE = 1, FO__FENCE_ADD, FO__FENCE_DEL, FO__FENCE_CLEAR };
struct fo__fence_msg {
  int32_t op;
  int32_t pid;             /* ADD/DEL: a process group (an active service's pid) */
  uint64_t deadline_ns;    /* DEADLINE: fo__now_ns (CLOCK_BOOTTIME); 0: no deadline */
};

/* Forks the fencer; returns the write end of its pipe (close-on-exec) or -errno. The
 * fencer SIGKILLs every registered group when the deadline passes or when the pipe
 * reaches EOF (vigil gone), then exits on EOF. */
int fo__fencer_start(pid_t *pid);
void fo__fence_send(int fd, int op, pid_t pid, uint64_t deadline_ns);

#endif
