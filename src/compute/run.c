/*
 * vigil compute run: a ready-queue scheduler over the worker slots.
 *
 * Every selected cell of the range counts the dependencies it waits for (same-date
 * dependencies and its own previous dates). A cell whose count reaches zero is decided
 * (cells.c): up to date cells settle at once — early cutoff falls out of this, since a
 * dependency that re-ran with the same result leaves its dependents' composite hashes
 * unchanged — and cells that must run join the queue of their slot class. There is no
 * barrier between passes: a cell starts as soon as its own dependencies are settled.
 *
 * One thread. Children are reaped with wait4 (its rusage gives each attempt's peak
 * RSS) after sigtimedwait on a blocked SIGCHLD, whose timeout is the nearest attempt
 * deadline or retry time. SIGINT/SIGTERM stop the run: running attempts are killed and
 * recorded as interrupted.
 *
 * Failures: exit 65 (EX_DATAERR) is deterministic and goes straight to the dead-letter
 * list; other failures (exit status, signal, timeout) retry after backoff·2^(n-1) until
 * `retries` is spent, then the cell is dead. A calculation whose failing cells pass
 * breaker_ratio of its attempted cells, after breaker_min attempts, trips its circuit
 * breaker: none of its cells is dispatched any more in this run. An attempt killed by
 * SIGKILL that vigil did not send (the kernel's OOM killer) is retried on a highmem slot
 * at once; one that succeeded above its slot's memory limit keeps its result and is
 * routed to highmem for its next run.
 */
#include "compute/cp_int.h"
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define EX_DATAERR_CODE 65

struct job {
  size_t cell;
  int pid;
  int cls;            /* 0 standard, 1 highmem */
  int64_t attempt_id;
  uint64_t start_ns, deadline_ns;
  bool killed;        /* vigil sent the SIGKILL (timeout or stop) */
  bool used;
  int spawn_errno;    /* why it never started (pid < 0) */
  char *out, *log;
  struct cp__key key;
};

struct fifo {
  size_t *v;
  size_t cap, head, n;
};

struct wait_retry {
  size_t cell;
  uint64_t due_ns;
};

struct calc_stats {
  size_t attempts, cells_tried, cells_failed;
  bool tripped;
};

struct run {
  struct cp_engine *e;
  const struct cp_options *o;
  struct cp__cell *cells;
  size_t n_cells;
  int64_t id;
  struct fifo ready, queue[2];
  struct job *jobs;
  size_t n_jobs, running[2];
  struct wait_retry *waits;
  size_t n_waits;
  struct calc_stats *cs;
  uint8_t *failed_once; /* per cell: counted in cells_failed */
  uint8_t *cst;         /* per cell: enum cst */
  struct cp_run_stats st;
  bool stop;
};

static void fifo_init(struct fifo *f, size_t cap) {
  f->v = vg_calloc(cap + 1, sizeof *f->v);
  f->cap = cap + 1;
  f->head = f->n = 0;
}

static void fifo_push(struct fifo *f, size_t x) {
  VG_ASSERT(f->n < f->cap);
  f->v[(f->head + f->n++) % f->cap] = x;
}

static size_t fifo_pop(struct fifo *f) {
  size_t x = f->v[f->head];
  f->head = (f->head + 1) % f->cap;
  f->n--;
  return x;
}

static size_t cell_calc(const struct run *r, size_t cell) { return cell / r->e->n_dates; }
static long cell_date(const struct run *r, size_t cell) {
  return r->e->from + (long)(cell % r->e->n_dates);
}

/* A settled cell frees its dependents: same date in calcs that depend on it, and the
 * next `history` dates of its own calc. */
static void release(struct run *r, size_t cell) {
  struct cp_engine *e = r->e;
  size_t c = cell_calc(r, cell);
  long d = cell_date(r, cell);
  for (size_t j = 0; j < e->calcs[c].n_rdeps; j++) {
    size_t rc = e->calcs[c].rdeps[j];
    if (!e->calcs[rc].selected) continue;
    size_t x = CP_CELL(e, rc, d);
    if (--r->cells[x].left == 0) fifo_push(&r->ready, x);
  }
  for (int k = 1; k <= e->calcs[c].cfg->history && d + k <= e->to; k++) {
    size_t x = CP_CELL(e, c, d + k);
    if (--r->cells[x].left == 0) fifo_push(&r->ready, x);
  }
}

static void log_cell(struct run *r, size_t cell, const char *msg, const char *outcome,
                     const char *detail) {
  if (r->o && r->o->quiet) return;
  char d[16];
  cp_format_date(cell_date(r, cell), d);
  vg_log(VG_LOG_INFO, msg, VF_S("calc", r->e->calcs[cell_calc(r, cell)].cfg->name),
         VF_S("date", d), VF_S("outcome", outcome), VF_S("detail", detail ? detail : ""), VF_END);
}


/* ---- a cell's life in a run: a table of state x event -> action ----
 *
 * state \ event  SETTLED  SLOT    OK       DATAERR  CRASH          OOM        RETRY_DUE  BREAKER  STOP
 * wait           decide
 * queued                  start                                                         hold
 * running                         succeed  bury     fail           to_highmem                    interrupt
 * retry                                                                       requeue    hold
 * done, dead, blocked: final (blocked also covers impossible)
 *
 * decide: up to date -> done; blocked/impossible/dead -> final; else -> queued.
 * fail: -> retry after backoff while retries last, else -> dead.
 * A NULL entry means the event is ignored in that state. */
enum cst { S_WAIT, S_QUEUED, S_RUNNING, S_RETRY, S_DONE, S_DEAD, S_BLOCKED, S_N };
enum cev { E_SETTLED, E_SLOT, E_OK, E_DATAERR, E_CRASH, E_OOM, E_RETRY_DUE, E_BREAKER, E_STOP,
           E_N };

/* What an event carries: the slot class for SLOT, the ended attempt for the others. */
struct ev {
  int cls;
  struct job *j;
  double dur;
  int64_t peak;
  int exit_status;
  const char *what; /* attempt status: crashed, timeout, memory, dataerr, spawn, interrupted */
  uint8_t result[CP_HASH];
};

typedef void action_fn(struct run *r, size_t cell, struct ev *ev);

/* Records a cell that cannot run (blocked, impossible, dead) and frees its dependents. */
static void settle_failed(struct run *r, size_t cell, const char *detail_override) {
  struct cp__cell *x = &r->cells[cell];
  struct cp_engine *e = r->e;
  x->state = CP__FAILED;
  r->cst[cell] = x->cls == CP_DEAD ? S_DEAD : S_BLOCKED;
  const char *outcome = x->cls == CP_IMPOSSIBLE ? "impossible" : x->cls == CP_DEAD ? "dead"
                                                                                   : "blocked";
  const char *detail = detail_override ? detail_override
                       : x->missing    ? x->missing
                       : x->why != SIZE_MAX ? e->calcs[x->why].cfg->name
                                            : NULL;
  if (x->cls == CP_IMPOSSIBLE) r->st.impossible++;
  else if (x->cls == CP_DEAD) r->st.dead++;
  else r->st.blocked++;
  cp__ledger_outcome(e, r->id, cell_calc(r, cell), cell_date(r, cell), outcome, detail);
  log_cell(r, cell, "compute cell not run", outcome, detail);
  release(r, cell);
}

static void enqueue(struct run *r, size_t cell) {
  r->cst[cell] = S_QUEUED;
  fifo_push(&r->queue[r->cells[cell].highmem ? 1 : 0], cell);
}

static void a_decide(struct run *r, size_t cell, struct ev *ev) {
  struct cp__key k;
  size_t c = cell_calc(r, cell);
  cp__classify(r->e, r->cells, c, cell_date(r, cell), &k);
  struct cp__cell *x = &r->cells[cell];
  if (x->state == CP__KNOWN) {
    r->cst[cell] = S_DONE;
    r->st.uptodate++;
    release(r, cell);
  } else if (x->state == CP__FAILED) {
    settle_failed(r, cell, NULL);
  } else if (r->cs[c].tripped) {
    x->cls = CP_BLOCKED;
    settle_failed(r, cell, "circuit breaker");
  } else {
    VG_ASSERT(x->state == CP__PENDING);
    enqueue(r, cell);
  }
}

/* Starts one attempt of cell on a slot of class ev->cls. */
static void a_start(struct run *r, size_t cell, struct ev *ev) {
  int cls = ev->cls;
  r->cst[cell] = S_RUNNING;
  struct cp_engine *e = r->e;
  size_t c = cell_calc(r, cell);
  long d = cell_date(r, cell);
  struct cp__cell *x = &r->cells[cell];
  struct cp__key key;
  /* decided before, but a root input may have vanished since (or a retry finds it back) */
  if (!cp__classify(e, r->cells, c, d, &key)) {
    settle_failed(r, cell, NULL);
    return;
  }
  struct job *j = NULL;
  for (size_t i = 0; i < r->n_jobs && !j; i++)
    if (!r->jobs[i].used) j = &r->jobs[i];
  VG_ASSERT(j);
  memset(j, 0, sizeof *j);
  j->key = key;
  j->used = true;
  j->cell = cell;
  j->cls = cls;
  x->attempts++;
  if (x->attempts == 1) r->cs[c].cells_tried++;
  r->cs[c].attempts++;
  j->attempt_id = cp__ledger_attempt_begin(e, c, d, x->attempts, cls == 1, &j->key, r->id);
  j->out = cp__out_dir(e, c, d, j->attempt_id);
  j->log = cp__log_path(e, c, d, j->attempt_id);
  char *logdir = vg_strdup(j->log);
  *strrchr(logdir, '/') = '\0';
  vg_mkdir_p(logdir, 0755);
  free(logdir);
  int rc = vg_mkdir_p(j->out, 0755), mk = rc;
  const struct cp__calc *k = &e->calcs[c];
  char **in = vg_calloc(k->n_deps + 1, sizeof *in);
  for (size_t i = 0; i < k->n_deps; i++) in[i] = cp__dep_dir(e, r->cells, k->deps[i], d);
  char *prev = k->cfg->history > 0 ? cp__dep_dir(e, r->cells, c, d - 1) : NULL;
  char ds[16];
  cp_format_date(d, ds);
  char **argv = cp__argv(e, c, ds, j->out, in, prev);
  struct cp__proc p = {0};
  if (rc == 0) rc = cp__spawn(argv, e->cp->dir, j->log, &p);
  vg_strv_free(argv);
  for (size_t i = 0; i < k->n_deps; i++) free(in[i]);
  free(in);
  free(prev);
  j->start_ns = vg_now_ns();
  j->deadline_ns = j->start_ns + (uint64_t)k->cfg->timeout_ms * 1000000ull;
  r->running[cls]++;
  if (rc < 0) {
    /* cannot exec: as deterministic as a data error, recorded as a spawn failure */
    FILE *f = fopen(j->log, "w");
    if (f) {
      if (mk < 0)
        fprintf(f, "vigil: cannot create %s: %s\n", j->out, strerror(-rc));
      else
        fprintf(f, "vigil: cannot execute %s: %s\n", k->cfg->argv[0], strerror(-rc));
      fclose(f);
    }
    j->pid = -1;
    j->spawn_errno = -rc;
    return;
  }
  j->pid = p.pid;
  cp__ledger_attempt_pid(e, j->attempt_id, p.pid);
}

static void a_hold(struct run *r, size_t cell, struct ev *ev) {
  r->cells[cell].cls = CP_BLOCKED;
  settle_failed(r, cell, "circuit breaker");
}

static void route_highmem(struct run *r, size_t cell) {
  r->cells[cell].highmem = true;
  cp__ledger_route_highmem(r->e, cell_calc(r, cell), cell_date(r, cell));
}

static void breaker_check(struct run *r, size_t c) {
  struct calc_stats *s = &r->cs[c];
  const struct cfg_compute *cp = r->e->cp;
  if (s->tripped || s->attempts < (size_t)cp->breaker_min) return;
  if ((double)s->cells_failed <= cp->breaker_ratio * (double)s->cells_tried) return;
  s->tripped = true;
  r->st.breakers++;
  cp__metrics_breaker(r->e, r->id, c);
  VG_ERROR("compute circuit breaker tripped: calculation no longer dispatched",
           VF_S("calc", r->e->calcs[c].cfg->name), VF_I("attempts", s->attempts),
           VF_I("failing_cells", s->cells_failed), VF_I("cells", s->cells_tried));
}

static void a_succeed(struct run *r, size_t cell, struct ev *ev) {
  struct cp_engine *e = r->e;
  size_t c = cell_calc(r, cell);
  long d = cell_date(r, cell);
  struct cp__cell *x = &r->cells[cell];
  struct job *j = ev->j;
  const struct cp__row *row = &e->rows[cell];
  bool had = row->status != CP__S_NONE && row->attempt > 0;
  bool stable = had && memcmp(row->result, ev->result, CP_HASH) == 0;
  const char *outcome = stable ? "stable" : had ? "rerun" : "ran";
  cp__ledger_begin(e);
  cp__ledger_attempt_end(e, j->attempt_id, "done", ev->dur, ev->peak, 0, ev->result, j->log);
  cp__ledger_cell_done(e, c, d, &j->key, ev->result, j->attempt_id, x->highmem);
  cp__ledger_outcome(e, r->id, c, d, outcome, NULL);
  if (j->cls == 0 && ev->peak > e->cp->memory[0]) {
    route_highmem(r, cell);
    VG_WARN("compute: cell above its slot's memory limit, routed to highmem",
            VF_S("calc", e->calcs[c].cfg->name), VF_I("peak_rss", ev->peak),
            VF_I("limit", e->cp->memory[0]));
  }
  cp__ledger_commit(e);
  /* the new output is current: the previous one can go */
  if (x->attempt > 0 && x->attempt != j->attempt_id) {
    char *od = cp__out_dir(e, c, d, x->attempt);
    cp__remove_tree(od);
    free(od);
  }
  x->attempt = j->attempt_id;
  memcpy(x->result, ev->result, CP_HASH);
  x->state = CP__KNOWN;
  r->cst[cell] = S_DONE;
  r->st.ran++;
  if (stable) r->st.stable++;
  log_cell(r, cell, "compute cell done", outcome, NULL);
  release(r, cell);
}

/* Ends a failed attempt in the ledger (its partial output removed). */
static void end_failed(struct run *r, size_t cell, struct ev *ev) {
  cp__remove_tree(ev->j->out);
  cp__ledger_attempt_end(r->e, ev->j->attempt_id, ev->what, ev->dur, ev->peak, ev->exit_status,
                         NULL, ev->j->log);
}

static void count_failure(struct run *r, size_t cell) {
  size_t c = cell_calc(r, cell);
  if (!r->failed_once[cell]) {
    r->failed_once[cell] = 1;
    r->cs[c].cells_failed++;
  }
  r->st.failed++;
}

static void dead(struct run *r, size_t cell, struct ev *ev, const char *reason) {
  struct cp_engine *e = r->e;
  size_t c = cell_calc(r, cell);
  struct cp__cell *x = &r->cells[cell];
  cp__ledger_begin(e);
  end_failed(r, cell, ev);
  cp__ledger_cell_dead(e, c, cell_date(r, cell), &ev->j->key, reason, x->attempt, x->highmem);
  x->cls = CP_DEAD;
  settle_failed(r, cell, reason);
  cp__ledger_commit(e);
  breaker_check(r, c);
}

static void a_bury(struct run *r, size_t cell, struct ev *ev) {
  char reason[256];
  count_failure(r, cell);
  if (ev->j && ev->j->pid < 0)
    snprintf(reason, sizeof reason, "cannot start %s: %s",
             r->e->calcs[cell_calc(r, cell)].cfg->argv[0], strerror(ev->j->spawn_errno));
  else
    snprintf(reason, sizeof reason, "data error (exit %d)", ev->exit_status);
  dead(r, cell, ev, reason);
}

static void a_fail(struct run *r, size_t cell, struct ev *ev) {
  struct cp__cell *x = &r->cells[cell];
  count_failure(r, cell);
  if (x->attempts > r->e->calcs[cell_calc(r, cell)].cfg->retries) {
    char reason[96];
    snprintf(reason, sizeof reason, "%s %d times (last exit status %d)", ev->what, x->attempts,
             ev->exit_status);
    dead(r, cell, ev, reason);
    return;
  }
  cp__ledger_begin(r->e);
  end_failed(r, cell, ev);
  cp__ledger_commit(r->e);
  unsigned shift = x->attempts - 1 < 20 ? x->attempts - 1 : 20;
  uint64_t delay = ((uint64_t)r->e->cp->backoff_ms * 1000000ull) << shift;
  r->waits[r->n_waits++] = (struct wait_retry){cell, vg_now_ns() + delay};
  r->cst[cell] = S_RETRY;
  r->st.retries++;
  log_cell(r, cell, "compute cell failed, will retry", ev->what, ev->j->log);
  breaker_check(r, cell_calc(r, cell));
}

/* Killed by a SIGKILL vigil did not send: the kernel's OOM killer. Not the calculation's
 * fault, so it moves to a bigger slot without spending a retry. */
static void a_to_highmem(struct run *r, size_t cell, struct ev *ev) {
  cp__ledger_begin(r->e);
  end_failed(r, cell, ev);
  route_highmem(r, cell);
  cp__ledger_commit(r->e);
  r->cells[cell].attempts--;
  VG_WARN("compute: cell killed for memory, retried on highmem",
          VF_S("calc", r->e->calcs[cell_calc(r, cell)].cfg->name), VF_I("peak_rss", ev->peak));
  enqueue(r, cell);
}

static void a_interrupt(struct run *r, size_t cell, struct ev *ev) {
  cp__ledger_begin(r->e);
  end_failed(r, cell, ev);
  cp__ledger_commit(r->e);
  r->cst[cell] = S_WAIT; /* picked up by the next run */
}

static void a_requeue(struct run *r, size_t cell, struct ev *ev) { enqueue(r, cell); }

static action_fn *const actions[S_N][E_N] = {
    [S_WAIT] = {[E_SETTLED] = a_decide},
    [S_QUEUED] = {[E_SLOT] = a_start, [E_BREAKER] = a_hold},
    [S_RUNNING] = {[E_OK] = a_succeed, [E_DATAERR] = a_bury, [E_CRASH] = a_fail,
                   [E_OOM] = a_to_highmem, [E_STOP] = a_interrupt},
    [S_RETRY] = {[E_RETRY_DUE] = a_requeue, [E_BREAKER] = a_hold},
};

static void fire(struct run *r, size_t cell, enum cev e, struct ev *ev) {
  action_fn *a = actions[r->cst[cell]][e];
  if (a) a(r, cell, ev);
}

/* An attempt ended (status from wait4; j->pid < 0: it never started): turn it into an
 * event for its cell. */
static void ended(struct run *r, struct job *j, int status, const struct rusage *ru) {
  size_t cell = j->cell;
  struct ev ev = {.j = j, .cls = j->cls};
  ev.dur = (double)(vg_now_ns() - j->start_ns) / 1e9;
  ev.peak = ru ? (int64_t)ru->ru_maxrss * 1024 : 0;
  r->running[j->cls]--;
  j->used = false;
  bool started = j->pid > 0;
  bool ok = started && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
            cp__hash_tree(j->out, ev.result) == 0;
  ev.exit_status = !started ? 127 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  bool oom = started && !j->killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  bool dataerr = !started || (WIFEXITED(status) && WEXITSTATUS(status) == EX_DATAERR_CODE);
  enum cev e;
  if (ok) e = E_OK, ev.what = "done";
  else if (r->stop) e = E_STOP, ev.what = "interrupted";
  else if (j->killed) e = E_CRASH, ev.what = "timeout";
  else if (oom && j->cls == 0) e = E_OOM, ev.what = "memory";
  else if (!started) e = E_DATAERR, ev.what = "spawn"; /* buried: retrying cannot help */
  else if (dataerr) e = E_DATAERR, ev.what = "dataerr";
  else e = E_CRASH, ev.what = oom ? "memory" : "crashed";
  fire(r, cell, e, &ev);
  vg_freep(&j->out);
  vg_freep(&j->log);
}

static struct job *job_of(struct run *r, int pid) {
  for (size_t i = 0; i < r->n_jobs; i++)
    if (r->jobs[i].used && r->jobs[i].pid == pid) return &r->jobs[i];
  return NULL;
}

static void reap(struct run *r) {
  int status;
  struct rusage ru;
  pid_t pid;
  while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0) {
    struct job *j = job_of(r, pid);
    if (j) ended(r, j, status, &ru);
  }
  /* attempts that could not even start end here */
  for (size_t i = 0; i < r->n_jobs; i++)
    if (r->jobs[i].used && r->jobs[i].pid < 0) ended(r, &r->jobs[i], 0, NULL);
}

static void dispatch(struct run *r) {
  const struct cfg_compute *cp = r->e->cp;
  for (int cls = 0; cls < 2; cls++) {
    while (r->queue[cls].n && r->running[cls] < (size_t)cp->slots[cls]) {
      size_t cell = fifo_pop(&r->queue[cls]);
      struct ev ev = {.cls = cls};
      if (r->cs[cell_calc(r, cell)].tripped) {
        cp__ledger_begin(r->e);
        fire(r, cell, E_BREAKER, &ev);
        cp__ledger_commit(r->e);
      } else {
        fire(r, cell, E_SLOT, &ev);
      }
    }
  }
}

/* Waits for a child, a signal, the next deadline or retry. */
static void wait_events(struct run *r, const sigset_t *set) {
  uint64_t now = vg_now_ns(), next = now + 1000000000ull;
  for (size_t i = 0; i < r->n_jobs; i++)
    if (r->jobs[i].used && r->jobs[i].pid > 0 && !r->jobs[i].killed &&
        r->jobs[i].deadline_ns < next)
      next = r->jobs[i].deadline_ns;
  for (size_t i = 0; i < r->n_waits; i++)
    if (r->waits[i].due_ns < next) next = r->waits[i].due_ns;
  bool pending_spawn_fail = false;
  for (size_t i = 0; i < r->n_jobs; i++) pending_spawn_fail |= r->jobs[i].used && r->jobs[i].pid < 0;
  uint64_t wait = next > now && !pending_spawn_fail ? next - now : 0;
  struct timespec ts = {(time_t)(wait / 1000000000ull), (long)(wait % 1000000000ull)};
  int sig = sigtimedwait(set, NULL, &ts);
  if (sig == SIGINT || sig == SIGTERM) {
    VG_WARN("compute run interrupted: stopping running cells", VF_S("signal", strsignal(sig)));
    r->stop = true;
    for (size_t i = 0; i < r->n_jobs; i++)
      if (r->jobs[i].used && r->jobs[i].pid > 0) {
        r->jobs[i].killed = true;
        kill(-r->jobs[i].pid, SIGKILL);
      }
  }
  reap(r);
  now = vg_now_ns();
  for (size_t i = 0; i < r->n_jobs; i++) {
    struct job *j = &r->jobs[i];
    if (j->used && j->pid > 0 && !j->killed && j->deadline_ns <= now) {
      j->killed = true;
      kill(-j->pid, SIGKILL);
    }
  }
  for (size_t i = 0; i < r->n_waits;) {
    if (r->waits[i].due_ns > now || r->stop) {
      i++;
      continue;
    }
    size_t cell = r->waits[i].cell;
    r->waits[i] = r->waits[--r->n_waits];
    fire(r, cell, E_RETRY_DUE, NULL);
  }
}

static int take_lock(struct cp_engine *e, char *err, size_t errlen) {
  char *path = vg_asprintf("%s/run.lock", e->root);
  int fd = vg_lockfile(path, 0644);
  free(path);
  if (fd < 0) {
    int rc = fd;
    snprintf(err, errlen, rc == -EBUSY ? "another compute run holds %s/run.lock"
                                       : "cannot lock %s/run.lock: %s",
             e->root, strerror(-rc));
    return rc;
  }
  e->lock_fd = fd;
  return 0;
}

static void init_counts(struct run *r) {
  struct cp_engine *e = r->e;
  for (size_t oi = 0; oi < e->n_calcs; oi++) {
    size_t c = e->order[oi];
    if (!e->calcs[c].selected) continue;
    for (long d = e->from; d <= e->to; d++) {
      uint32_t left = 0;
      for (size_t j = 0; j < e->calcs[c].n_deps; j++) left += e->calcs[e->calcs[c].deps[j]].selected;
      for (int k = 1; k <= e->calcs[c].cfg->history; k++) left += d - k >= e->from;
      size_t x = CP_CELL(e, c, d);
      r->cells[x].left = left;
      if (!left) fifo_push(&r->ready, x);
    }
  }
}

int cp_run(struct cp_engine *e, const struct cp_options *o, struct cp_run_stats *st,
           struct vg_buf *out, char *err, size_t errlen) {
  int rc = take_lock(e, err, errlen);
  if (rc < 0) return rc;
  cp__ledger_recover(e);
  cp__code_resolve(e, true);
  if (cp__ledger_load(e) < 0) {
    snprintf(err, errlen, "cannot read the ledger: %s", sqlite3_errmsg(e->db));
    return -EIO;
  }
  struct run r = {.e = e, .o = o};
  r.n_cells = e->n_calcs * e->n_dates;
  r.cells = cp__cells_new(e);
  fifo_init(&r.ready, r.n_cells);
  fifo_init(&r.queue[0], r.n_cells);
  fifo_init(&r.queue[1], r.n_cells);
  r.n_jobs = (size_t)(e->cp->slots[0] + e->cp->slots[1]);
  r.jobs = vg_calloc(r.n_jobs + 1, sizeof *r.jobs);
  r.waits = vg_calloc(r.n_cells + 1, sizeof *r.waits);
  r.cs = vg_calloc(e->n_calcs + 1, sizeof *r.cs);
  r.failed_once = vg_calloc(r.n_cells + 1, 1);
  r.cst = vg_calloc(r.n_cells + 1, 1); /* S_WAIT */
  r.id = cp__ledger_run_begin(e, o);
  init_counts(&r);

  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, &old);
  for (;;) {
    if (r.ready.n && !r.stop) {
      cp__ledger_begin(e); /* the outcomes of many settled cells in one transaction */
      while (r.ready.n) fire(&r, fifo_pop(&r.ready), E_SETTLED, NULL);
      cp__ledger_commit(e);
    }
    if (!r.stop) dispatch(&r);
    if (r.running[0] + r.running[1] == 0 &&
        (r.stop || (!r.ready.n && !r.queue[0].n && !r.queue[1].n && !r.n_waits)))
      break;
    wait_events(&r, &set);
  }
  sigprocmask(SIG_SETMASK, &old, NULL);

  cp__ledger_run_end(e, r.id, &r.st);
  cp__metrics_write(e);
  *st = r.st;
  vg_buf_printf(out, "%s: %zu ran (%zu stable), %zu up to date, %zu failed attempts (%zu retried), "
                     "%zu dead, %zu blocked, %zu impossible%s\n",
                r.stop ? "interrupted" : "done", r.st.ran, r.st.stable, r.st.uptodate, r.st.failed,
                r.st.retries, r.st.dead, r.st.blocked, r.st.impossible,
                r.st.breakers ? ", circuit breaker tripped" : "");
  cp__cells_free(e, r.cells);
  free(r.ready.v);
  free(r.queue[0].v);
  free(r.queue[1].v);
  free(r.jobs);
  free(r.waits);
  free(r.cs);
  free(r.failed_once);
  free(r.cst);
  close(e->lock_fd);
  e->lock_fd = -1;
  if (r.stop) return 1;
  return r.st.dead || r.st.breakers ? 1 : 0;
}
