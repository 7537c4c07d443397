/*
 * compute — the engine of daily calculations (docs/compute.md).
 *
 * A calculation runs once per (calc, date) cell. Its composite hash — code (comments and
 * whitespace ignored), argv template, epoch, the result hashes of its dependencies and of
 * its own previous dates, and the fingerprints of its root inputs — decides whether the
 * ledger's result is still good. The ledger (SQLite, WAL, STATE_DIR/compute/ledger.db)
 * records every attempt; outputs live in STATE_DIR/compute/out/CALC/DATE/ATTEMPT.
 *
 * Errors: functions return 0 or a negative errno-style code, with a message in the
 * caller's err buffer.
 */
#ifndef VIGIL_COMPUTE_H
#define VIGIL_COMPUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/core.h"

struct cp_engine;

/* What a plan says of one cell. */
enum cp_class {
  CP_UPTODATE,   /* the ledger's result stands */
  CP_RUNNABLE,   /* never computed */
  CP_RERUN,      /* computed, but something it depends on changed (see cp_reason) */
  CP_BLOCKED,    /* a dependency is dead, behind a tripped breaker or not available */
  CP_IMPOSSIBLE, /* a root input is missing, here or upstream */
  CP_DEAD,       /* in the dead-letter list with these very inputs */
  CP_N_CLASSES
};

enum cp_reason { CP_R_NONE, CP_R_CODE, CP_R_DEPENDENCY, CP_R_EPOCH, CP_R_INPUT, CP_R_REQUEUED };

struct cp_options {
  const char *from, *to; /* YYYY-MM-DD or NULL: calendar start / end (default yesterday) */
  const char *select;    /* "tag:T", "+calc", "calc+", "calc", comma-separated; NULL: all */
  bool json;
  bool quiet;            /* run: no per-cell lines */
};

/* Opens the engine for cfg (which must have a compute section) and its ledger, creating
 * STATE_DIR/compute. The engine borrows cfg. NULL with a message in err. */
struct cp_engine *cp_open(const struct vg_config *cfg, char *err, size_t errlen);
void cp_close(struct cp_engine *e);

/* A root input "store:SELECTOR" (a measurement with tags, as `vigil query` takes it) is
 * available for a date when the store holds points of it that day. The engine asks this
 * hook: 0 with a fingerprint of that day's data in out, -ENOENT when there is none, or
 * another -errno when the store cannot be asked. Without a hook, store inputs are
 * missing. */
typedef int cp_store_input_fn(void *arg, const char *selector, int64_t from_ns, int64_t to_ns,
                              uint8_t out[16]);
void cp_set_store_input(struct cp_engine *e, cp_store_input_fn *fn, void *arg);

/* Restricts the engine to opts' range and selection. 0, or -EINVAL with the reason. */
int cp_configure(struct cp_engine *e, const struct cp_options *opts, char *err, size_t errlen);

/* Classifies every selected cell of the range and writes the plan (text or JSON) to out.
 * counts (may be NULL) receives the totals per class. 0 or negative errno. */
int cp_plan(struct cp_engine *e, bool json, struct vg_buf *out, size_t counts[CP_N_CLASSES]);

/* Totals of a run. */
struct cp_run_stats {
  size_t ran, stable, uptodate, failed, dead, blocked, impossible, retries, breakers;
};
/* Runs every cell of the plan that must run, over the worker slots, until nothing is
 * left. Progress goes to the log; the summary line to out. 0 when every cell is done or
 * up to date, 1 when some failed, died, or were blocked; negative errno when the run
 * could not start (another run holds the lock, the ledger is unusable). */
int cp_run(struct cp_engine *e, const struct cp_options *opts, struct cp_run_stats *st,
           struct vg_buf *out, char *err, size_t errlen);

/* POSTs the run's JSON summary to compute.on_complete (no-op without one). 0, or -1 with
 * the reason in err. */
int cp_notify(const struct cp_engine *e, const struct cp_run_stats *st, int exit_code, char *err,
              size_t errlen);

/* The dead-letter list; with requeue, the listed cells (all when spec is NULL, else
 * "calc" or "calc@date") leave it and run again next time. */
int cp_dead(struct cp_engine *e, bool json, bool requeue, const char *spec, struct vg_buf *out);
/* The build report of the last run, per date, the last `days` dates. */
int cp_report(struct cp_engine *e, int days, bool json, struct vg_buf *out);
/* Every attempt of one calculation, newest first. -ENOENT when unknown. */
int cp_history(struct cp_engine *e, const char *calc, bool json, struct vg_buf *out);
/* The page's date x calculation grid (grid.c; GET /api/v1/compute/grid in docs/api.md)
 * from the ledger under cfg's state_dir, as JSON, for the dates from..to (YYYY-MM-DD or
 * NULL: the last run's range, else the calendar's last 31 days; clipped to the calendar
 * and to 366 days). Needs no engine. 0, -ENOENT without compute, -EINVAL for a bad date
 * (message in err). */
int cp_grid(const struct vg_config *cfg, const char *from, const char *to, struct vg_buf *out,
            char *err, size_t errlen);

const char *cp_class_name(enum cp_class c);
const char *cp_reason_name(enum cp_reason r);

/* Days since 1970-01-01 to YYYY-MM-DD (buf of 11 bytes or more). */
void cp_format_date(long days, char *buf);
/* Today (UTC) as days since 1970-01-01. */
long cp_today(void);

/* Hash of a source file with comments and insignificant whitespace removed for the
 * languages known by extension (.c .h .sh .py .sql .awk); other files are hashed as
 * they are. out receives 16 bytes. 0 or -errno. */
int cp_code_hash_file(const char *path, uint8_t out[16]);
/* The same over a buffer, lang being the file extension without the dot (or ""). */
void cp_code_hash_buf(const char *lang, const char *text, size_t len, uint8_t out[16]);
/* The normalised text whose hash cp_code_hash_buf takes (for tests). */
void cp_code_normalize(const char *lang, const char *text, size_t len, struct vg_buf *out);

/* ---- metrics (metrics.c) ---- */
struct mt_registry;
struct cp_metrics;
/* Registers the vigil_compute_* families (docs/metrics.md) in r and starts a thread that
 * keeps them current from the ledger STATE_DIR/compute/ledger.db: once a second, when a
 * run committed since. The ledger need not exist yet (no series until it does). Free
 * the result with cp_metrics_free (which stops the thread) before the registry. */
struct cp_metrics *cp_metrics_register(struct mt_registry *r, const char *state_dir);
void cp_metrics_free(struct cp_metrics *m);
/* Registers the same families in r: no series, no collector (the list of every metric
 * vigil can expose, src/export/families.c). */
void cp_metrics_describe(struct mt_registry *r);

#endif
