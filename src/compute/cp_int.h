/*
 * compute internals shared by the files of src/compute/ (not part of the contract).
 *
 * graph.c indexes the calculations and sorts them into passes; ledger.c is the SQLite
 * ledger; inputs.c fingerprints root inputs and hashes outputs; analyze.c decides what
 * a cell needs; plan.c prints that; run.c schedules the cells over the slots that
 * worker.c spawns; fixture.c is the behavioural hash; report.c the read-only verbs.
 */
#ifndef VIGIL_CP_INT_H
#define VIGIL_CP_INT_H

#include <sqlite3.h>

#include "compute/compute.h"

#define CP_HASH 16

/* Ledger status of a cell. */
enum cp__status { CP__S_NONE, CP__S_DONE, CP__S_DEAD, CP__S_REQUEUED };

/* What the ledger holds for one cell (absent: status NONE). */
struct cp__row {
  uint8_t composite[CP_HASH], result[CP_HASH], code[CP_HASH], deps[CP_HASH], inputs[CP_HASH];
  int64_t epoch;
  int64_t attempt; /* the attempt whose output is current */
  uint8_t status;  /* enum cp__status */
  bool highmem;    /* routed to highmem after a memory failure */
};

/* The hashes a cell would have now. */
struct cp__key {
  uint8_t composite[CP_HASH], code[CP_HASH], deps[CP_HASH], inputs[CP_HASH];
};

struct cp__calc {
  const struct cfg_calc *cfg;
  size_t *deps, n_deps;   /* indices, in the order of cfg->deps */
  size_t *rdeps, n_rdeps; /* calculations that depend on this one */
  int pass;               /* 0 for roots */
  bool selected;
  bool code_ok;
  uint8_t code[CP_HASH];  /* effective code hash: source hash + argv template, or the
                           * code it was found behaviourally equal to (fixture.c) */
  uint8_t source[CP_HASH];/* hash of the cleaned sources and argv template */
  bool code_pending;      /* a fixture check is owed for this source hash */
  char code_err[160];
};

struct cp_engine {
  const struct vg_config *cfg;
  const struct cfg_compute *cp;
  char *root;             /* STATE_DIR/compute */
  sqlite3 *db;
  sqlite3_stmt *stmt[16]; /* prepared once by ledger.c */
  int lock_fd;            /* STATE_DIR/compute/run.lock while a run holds it, else -1 */
  struct cp__calc *calcs;
  size_t n_calcs;
  size_t *order;          /* calculations in topological order */
  long start;             /* calendar start (days) */
  long from, to;          /* the range (days), from >= start */
  size_t n_dates;         /* to - from + 1 */
  struct cp__row *rows;   /* n_calcs * n_dates, loaded by cp__ledger_load */
  cp_store_input_fn *store_input; /* for "store:SELECTOR" inputs, or NULL */
  void *store_arg;
};

#define CP_CELL(e, c, d) ((c) * (e)->n_dates + (size_t)((d) - (e)->from))

/* A cell during a plan or run. */
enum cp__state {
  CP__WAIT,    /* dependencies not settled yet */
  CP__PENDING, /* will run (plan) / queued or running (run) */
  CP__KNOWN,   /* has a result: up to date, or done in this run */
  CP__FAILED,  /* blocked, impossible or dead: dependents cannot run */
};

struct cp__cell {
  uint8_t state;    /* enum cp__state */
  uint8_t cls;      /* enum cp_class */
  uint8_t reason;   /* enum cp_reason */
  uint8_t attempts; /* this run */
  bool highmem;
  bool selected;    /* part of this plan or run */
  uint32_t left;    /* run: dependencies not settled */
  int64_t attempt;  /* the ledger attempt holding the current output */
  uint8_t result[CP_HASH];
  size_t why;       /* blocked/impossible through this calculation (SIZE_MAX: itself) */
  char *missing;    /* impossible: the root input that is missing (owned) */
};

/* ---- cells.c ---- */
/* Cells of the range for the selected calculations, from the ledger rows. */
struct cp__cell *cp__cells_new(struct cp_engine *e);
void cp__cells_free(struct cp_engine *e, struct cp__cell *cells);
/* Decides one cell from its dependencies' states (each must be settled or PENDING):
 * sets state, cls, reason, why, missing; fills k when every dependency is known. Returns
 * true when k was filled. */
bool cp__classify(struct cp_engine *e, struct cp__cell *cells, size_t calc, long date,
                  struct cp__key *k);
/* Output directory of a dependency cell, or NULL when it has none. */
char *cp__dep_dir(struct cp_engine *e, struct cp__cell *cells, size_t calc, long date);

/* ---- graph.c ---- */
int cp__graph_build(struct cp_engine *e, char *err, size_t errlen);
int cp__select(struct cp_engine *e, const char *spec, char *err, size_t errlen);
size_t cp__find_calc(const struct cp_engine *e, const char *name);

/* ---- ledger.c ---- */
int cp__ledger_open(struct cp_engine *e, char *err, size_t errlen);
void cp__ledger_close(struct cp_engine *e);
/* Loads every cell of the range into e->rows. */
int cp__ledger_load(struct cp_engine *e);
/* One cell outside the range (history before `from`): 0 and *row, or -ENOENT. */
int cp__ledger_get(struct cp_engine *e, size_t calc, long date, struct cp__row *row);
/* Marks attempts left 'running' by a vigil that died as 'abandoned', killing what is
 * left of their process groups and removing their output directories. Returns how many. */
int cp__ledger_recover(struct cp_engine *e);
/* Records the pid of a started attempt (for cp__ledger_recover). */
void cp__ledger_attempt_pid(struct cp_engine *e, int64_t id, long pid);
int64_t cp__ledger_attempt_begin(struct cp_engine *e, size_t calc, long date, int attempt,
                                 bool highmem, const struct cp__key *k, int64_t run_id);
/* Ends an attempt; for status "done" also makes it the cell's current result, in the
 * same transaction. */
void cp__ledger_attempt_end(struct cp_engine *e, int64_t id, const char *status, double duration,
                            int64_t peak_rss, int exit_status, const uint8_t *result,
                            const char *log);
void cp__ledger_cell_done(struct cp_engine *e, size_t calc, long date, const struct cp__key *k,
                          const uint8_t result[CP_HASH], int64_t attempt, bool highmem);
void cp__ledger_cell_dead(struct cp_engine *e, size_t calc, long date, const struct cp__key *k,
                          const char *reason, int64_t attempt, bool highmem);
void cp__ledger_route_highmem(struct cp_engine *e, size_t calc, long date);
int64_t cp__ledger_run_begin(struct cp_engine *e, const struct cp_options *o);
void cp__ledger_run_end(struct cp_engine *e, int64_t run, const struct cp_run_stats *st);
/* One line of the last run's build report. */
void cp__ledger_outcome(struct cp_engine *e, int64_t run, size_t calc, long date,
                        const char *outcome, const char *detail);
void cp__ledger_begin(struct cp_engine *e);
/* metrics.c: records a circuit-breaker trip of calc in run (table breakers); and
 * writes STATE_DIR/compute/metrics.prom, the ledger's vigil_compute_* metrics as
 * /metrics shows them, replaced atomically (a warning when it cannot). */
void cp__metrics_breaker(struct cp_engine *e, int64_t run, size_t calc);
void cp__metrics_write(struct cp_engine *e);
void cp__ledger_commit(struct cp_engine *e);
/* Fixture records: sim hash and effective code of (calc, source hash). 0 or -ENOENT. */
int cp__ledger_code_get(struct cp_engine *e, size_t calc, const uint8_t source[CP_HASH],
                        uint8_t sim[CP_HASH], uint8_t effective[CP_HASH]);
void cp__ledger_code_put(struct cp_engine *e, size_t calc, const uint8_t source[CP_HASH],
                         const uint8_t sim[CP_HASH], const uint8_t effective[CP_HASH]);
/* The effective code hash of the calculation's newest done cell; -ENOENT without one. */
int cp__ledger_last_code(struct cp_engine *e, size_t calc, uint8_t code[CP_HASH]);
char *cp__out_dir(const struct cp_engine *e, size_t calc, long date, int64_t attempt);
char *cp__log_path(const struct cp_engine *e, size_t calc, long date, int64_t attempt);

/* ---- inputs.c ---- */
/* Fingerprint of the root inputs of (calc, date): path, size and mtime of every match.
 * -ENOENT when a pattern matches nothing; *missing then names it (owned by caller). */
int cp__inputs_fingerprint(const struct cp_engine *e, size_t calc, long date,
                           uint8_t out[CP_HASH], char **missing);
/* Hash of a directory tree's names and contents. 0 or -errno. */
int cp__hash_tree(const char *dir, uint8_t out[CP_HASH]);
/* rm -rf; errors ignored (best effort cleanup). */
void cp__remove_tree(const char *path);

/* ---- analyze.c ---- */
/* The key of a cell from its calculation's code, the epoch, the given dependency
 * results (one per dep, then one per history date) and the input fingerprint. */
void cp__key_make(const struct cp_engine *e, size_t calc, const uint8_t (*dep_results)[CP_HASH],
                  size_t n_results, const uint8_t inputs[CP_HASH], struct cp__key *k);
/* Why row no longer matches k. */
enum cp_reason cp__reason(const struct cp_engine *e, const struct cp__row *row,
                          const struct cp__key *k);

/* ---- fixture.c ---- */
/* Computes the effective code hash of every selected calculation. With run, a
 * calculation with a fixture whose source hash is new runs on its fixture first. */
void cp__code_resolve(struct cp_engine *e, bool run);

/* ---- worker.c ---- */
struct cp__proc {
  int pid;
  int64_t started_ns;
};
/* Spawns argv in its own session, cwd dir, stdout+stderr into log. 0 or -errno. */
int cp__spawn(char *const *argv, const char *cwd, const char *log, struct cp__proc *p);
/* Expands the placeholders of calc's argv for one cell. in[i] is the output directory of
 * dep i, prev the one of the previous date (or NULL). */
char **cp__argv(const struct cp_engine *e, size_t calc, const char *date, const char *out,
                char *const *in, const char *prev);

#endif
