/*
 * The decision for one cell, shared by plan and run: from the states of its
 * dependencies (same date) and of its own previous dates (history), is it impossible,
 * blocked, dead, up to date, or must it run — and why.
 *
 * A dependency outside the plan (a calculation not selected, or a date before the
 * range) counts with the result the ledger holds for it; a date before the calendar
 * start has no result and counts as an empty one.
 */
#include "compute/cp_int.h"

#include <stdlib.h>
#include <string.h>

struct cp__cell *cp__cells_new(struct cp_engine *e) {
  size_t n = e->n_calcs * e->n_dates;
  struct cp__cell *cells = vg_calloc(n + 1, sizeof *cells);
  for (size_t c = 0; c < e->n_calcs; c++) {
    bool sel = e->calcs[c].selected;
    for (size_t i = 0; i < e->n_dates; i++) {
      struct cp__cell *x = &cells[c * e->n_dates + i];
      const struct cp__row *r = &e->rows[c * e->n_dates + i];
      x->selected = sel;
      x->highmem = r->highmem || e->calcs[c].cfg->highmem;
      x->why = SIZE_MAX;
      x->attempt = r->attempt;
      if (r->status == CP__S_DONE) memcpy(x->result, r->result, CP_HASH);
    }
  }
  return cells;
}

void cp__cells_free(struct cp_engine *e, struct cp__cell *cells) {
  if (!cells) return;
  for (size_t i = 0; i < e->n_calcs * e->n_dates; i++) free(cells[i].missing);
  free(cells);
}

/* State, result and output attempt of a dependency cell. */
struct dep {
  uint8_t state;
  const uint8_t *result;
  int64_t attempt;
  uint8_t buf[CP_HASH];
};

static void dep_of(struct cp_engine *e, struct cp__cell *cells, size_t calc, long date,
                   struct dep *d) {
  static const uint8_t none[CP_HASH];
  d->attempt = 0;
  if (date < e->start) {
    d->state = CP__KNOWN;
    d->result = none;
    return;
  }
  if (date >= e->from && date <= e->to && cells[CP_CELL(e, calc, date)].selected) {
    struct cp__cell *x = &cells[CP_CELL(e, calc, date)];
    d->state = x->state;
    d->result = x->result;
    d->attempt = x->attempt;
    return;
  }
  struct cp__row row;
  const struct cp__row *r = &row;
  if (date >= e->from && date <= e->to) r = &e->rows[CP_CELL(e, calc, date)];
  else if (cp__ledger_get(e, calc, date, &row) < 0) row.status = CP__S_NONE;
  if (r->status == CP__S_DONE || (r->status != CP__S_NONE && r->attempt > 0)) {
    memcpy(d->buf, r->result, CP_HASH);
    d->result = d->buf;
    d->attempt = r->attempt;
    d->state = CP__KNOWN;
  } else {
    d->state = CP__FAILED;
  }
}

char *cp__dep_dir(struct cp_engine *e, struct cp__cell *cells, size_t calc, long date) {
  struct dep d;
  dep_of(e, cells, calc, date, &d);
  return d.attempt > 0 ? cp__out_dir(e, calc, date, d.attempt) : NULL;
}

bool cp__classify(struct cp_engine *e, struct cp__cell *cells, size_t calc, long date,
                  struct cp__key *k) {
  struct cp__calc *c = &e->calcs[calc];
  struct cp__cell *x = &cells[CP_CELL(e, calc, date)];
  const struct cp__row *row = &e->rows[CP_CELL(e, calc, date)];
  size_t nres = c->n_deps + (size_t)c->cfg->history;
  uint8_t(*res)[CP_HASH] = vg_malloc((nres + 1) * CP_HASH);
  bool pending = false, failed = false, impossible = false;
  size_t why = SIZE_MAX;
  for (size_t i = 0; i < nres; i++) {
    size_t dc = i < c->n_deps ? c->deps[i] : calc;
    long dd = i < c->n_deps ? date : date - (long)(i - c->n_deps + 1);
    struct dep d;
    dep_of(e, cells, dc, dd, &d);
    if (d.state == CP__KNOWN) {
      memcpy(res[i], d.result, CP_HASH);
    } else if (d.state == CP__PENDING) {
      pending = true;
    } else {
      VG_ASSERT(d.state == CP__FAILED);
      bool imp = dd >= e->from && dd <= e->to && cells[CP_CELL(e, dc, dd)].selected &&
                 cells[CP_CELL(e, dc, dd)].cls == CP_IMPOSSIBLE;
      if (!failed || (imp && !impossible)) why = dc;
      failed = true;
      impossible |= imp;
    }
  }
  uint8_t inputs[CP_HASH];
  char *missing = NULL;
  bool filled = false;
  x->reason = CP_R_NONE;
  x->why = SIZE_MAX;
  if (cp__inputs_fingerprint(e, calc, date, inputs, &missing) < 0) {
    x->state = CP__FAILED;
    x->cls = CP_IMPOSSIBLE;
    free(x->missing);
    x->missing = missing;
  } else if (failed) {
    x->state = CP__FAILED;
    x->cls = impossible ? CP_IMPOSSIBLE : CP_BLOCKED;
    x->why = why;
  } else if (pending) {
    x->state = CP__PENDING;
    x->cls = row->status == CP__S_NONE ? CP_RUNNABLE : CP_RERUN;
    x->reason = x->cls == CP_RERUN ? CP_R_DEPENDENCY : CP_R_NONE;
  } else {
    cp__key_make(e, calc, (const uint8_t(*)[CP_HASH])res, nres, inputs, k);
    filled = true;
    bool same = memcmp(row->composite, k->composite, CP_HASH) == 0;
    if (row->status == CP__S_DONE && same) {
      x->state = CP__KNOWN;
      x->cls = CP_UPTODATE;
    } else if (row->status == CP__S_DEAD && same) {
      x->state = CP__FAILED;
      x->cls = CP_DEAD;
    } else if (row->status == CP__S_NONE) {
      x->state = CP__PENDING;
      x->cls = CP_RUNNABLE;
    } else {
      x->state = CP__PENDING;
      x->cls = CP_RERUN;
      x->reason = (uint8_t)cp__reason(e, row, k);
      if (x->reason == CP_R_NONE) x->reason = CP_R_DEPENDENCY;
    }
  }
  free(res);
  return filled;
}
