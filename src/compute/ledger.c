/*
 * The ledger: STATE_DIR/compute/ledger.db (SQLite in WAL mode).
 *
 *   cells     the current state of each (calc, day): done with its hashes and the attempt
 *             whose output is current, dead (with the hashes it died with), requeued,
 *             and whether memory failures routed it to highmem
 *   attempts  every attempt: status, slot, hashes, start, duration, peak RSS, exit status,
 *             log path, pid; 'running' until it ends, so one left 'running' belonged to a
 *             vigil that died and is marked 'abandoned' by the next run, which also kills
 *             what is left of its process group
 *   runs, outcomes   each run and what it did per cell (the build report)
 *   code      per (calc, source hash): the fixture's output hash and the effective code
 *
 * A cell becomes done in the same transaction that ends its attempt, after its output
 * directory is complete: a crash at any point leaves either the old result or the new
 * one, never a done cell without its output. synchronous=NORMAL: a power loss may
 * forget the last transactions, which only makes them run again.
 */
#include "compute/cp_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS cells(calc TEXT NOT NULL, day INTEGER NOT NULL,"
    " status INTEGER NOT NULL, composite BLOB, result BLOB, code BLOB, deps BLOB, inputs BLOB,"
    " epoch INTEGER, attempt INTEGER, highmem INTEGER NOT NULL DEFAULT 0, reason TEXT,"
    " PRIMARY KEY(calc, day)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS attempts(id INTEGER PRIMARY KEY, run INTEGER, calc TEXT,"
    " day INTEGER, n INTEGER, status TEXT, slot TEXT, composite BLOB, result BLOB,"
    " start REAL, duration REAL, peak_rss INTEGER, exit_status INTEGER, log TEXT, pid INTEGER);"
    "CREATE INDEX IF NOT EXISTS attempts_calc ON attempts(calc, id);"
    "CREATE INDEX IF NOT EXISTS attempts_running ON attempts(status) WHERE status='running';"
    "CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, start REAL, end REAL,"
    " day_from INTEGER, day_to INTEGER, selection TEXT, calcs INTEGER, ran INTEGER, stable INTEGER,"
    " uptodate INTEGER, failed INTEGER, dead INTEGER, blocked INTEGER, impossible INTEGER);"
    "CREATE TABLE IF NOT EXISTS outcomes(run INTEGER, calc TEXT, day INTEGER, outcome TEXT,"
    " detail TEXT);"
    "CREATE INDEX IF NOT EXISTS outcomes_run ON outcomes(run, day);"
    "CREATE TABLE IF NOT EXISTS code(calc TEXT NOT NULL, source BLOB NOT NULL, sim BLOB,"
    " effective BLOB, PRIMARY KEY(calc, source)) WITHOUT ROWID;";

enum {
  S_LOAD, S_GET, S_ATT_BEGIN, S_ATT_END, S_CELL_DONE, S_CELL_DEAD, S_ROUTE, S_OUTCOME,
  S_CODE_GET, S_CODE_PUT, S_LAST_CODE, S_ATT_PID, S_N
};

static const char *const sql[S_N] = {
    [S_LOAD] = "SELECT calc, day, status, composite, result, code, deps, inputs, epoch, attempt,"
               " highmem FROM cells WHERE day BETWEEN ?1 AND ?2",
    [S_GET] = "SELECT calc, day, status, composite, result, code, deps, inputs, epoch, attempt,"
              " highmem FROM cells WHERE calc = ?1 AND day = ?2",
    [S_ATT_BEGIN] = "INSERT INTO attempts(run, calc, day, n, status, slot, composite, start)"
                    " VALUES(?1, ?2, ?3, ?4, 'running', ?5, ?6, ?7)",
    [S_ATT_END] = "UPDATE attempts SET status = ?2, duration = ?3, peak_rss = ?4,"
                  " exit_status = ?5, result = ?6, log = ?7 WHERE id = ?1",
    [S_CELL_DONE] = "INSERT INTO cells(calc, day, status, composite, result, code, deps, inputs,"
                    " epoch, attempt, highmem, reason) VALUES(?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8,"
                    " ?9, ?10, NULL) ON CONFLICT(calc, day) DO UPDATE SET status = 1,"
                    " composite = ?3, result = ?4, code = ?5, deps = ?6, inputs = ?7, epoch = ?8,"
                    " attempt = ?9, highmem = ?10, reason = NULL",
    /* a dead cell keeps the result and attempt it had: dependents of an older good
     * result are not disturbed by its failure to recompute */
    [S_CELL_DEAD] = "INSERT INTO cells(calc, day, status, composite, code, deps, inputs, epoch,"
                    " highmem, reason, attempt) VALUES(?1, ?2, 2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                    " ON CONFLICT(calc, day) DO UPDATE SET status = 2, composite = ?3, code = ?4,"
                    " deps = ?5, inputs = ?6, epoch = ?7, highmem = ?8, reason = ?9",
    [S_ROUTE] = "INSERT INTO cells(calc, day, status, highmem) VALUES(?1, ?2, 0, 1)"
                " ON CONFLICT(calc, day) DO UPDATE SET highmem = 1",
    [S_OUTCOME] = "INSERT INTO outcomes(run, calc, day, outcome, detail) VALUES(?1,?2,?3,?4,?5)",
    [S_CODE_GET] = "SELECT sim, effective FROM code WHERE calc = ?1 AND source = ?2",
    [S_CODE_PUT] = "INSERT OR REPLACE INTO code(calc, source, sim, effective) VALUES(?1,?2,?3,?4)",
    [S_ATT_PID] = "UPDATE attempts SET pid = ?2 WHERE id = ?1",
    [S_LAST_CODE] = "SELECT c.code FROM cells c JOIN attempts a ON a.id = c.attempt"
                    " WHERE c.calc = ?1 AND c.status = 1 ORDER BY a.id DESC LIMIT 1",
};

static void check(struct cp_engine *e, int rc, const char *what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return;
  /* the ledger is the engine's memory: carrying on after a failed write could mark
   * work done that is not, so stop loudly */
  VG_ERROR("compute ledger failure", VF_S("op", what), VF_S("error", sqlite3_errmsg(e->db)));
  VG_ASSERT(!"ledger write failed");
}

int cp__ledger_open(struct cp_engine *e, char *err, size_t errlen) {
  char *path = vg_asprintf("%s/ledger.db", e->root);
  int rc = sqlite3_open_v2(path, &e->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  free(path);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "cannot open the ledger: %s", sqlite3_errstr(rc));
    sqlite3_close(e->db);
    e->db = NULL;
    return -EIO;
  }
  sqlite3_busy_timeout(e->db, 10000);
  char *msg = NULL;
  rc = sqlite3_exec(e->db,
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;",
                    NULL, NULL, &msg);
  if (rc == SQLITE_OK) rc = sqlite3_exec(e->db, schema, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "cannot set up the ledger: %s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return -EIO;
  }
  for (int i = 0; i < S_N; i++) {
    rc = sqlite3_prepare_v3(e->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &e->stmt[i], NULL);
    if (rc != SQLITE_OK) {
      snprintf(err, errlen, "ledger: %s", sqlite3_errmsg(e->db));
      return -EIO;
    }
  }
  return 0;
}

void cp__ledger_close(struct cp_engine *e) {
  for (int i = 0; i < S_N; i++) sqlite3_finalize(e->stmt[i]);
  if (e->db) sqlite3_close(e->db);
  e->db = NULL;
}

void cp__ledger_begin(struct cp_engine *e) {
  check(e, sqlite3_exec(e->db, "BEGIN IMMEDIATE", NULL, NULL, NULL), "begin");
}

void cp__ledger_commit(struct cp_engine *e) {
  check(e, sqlite3_exec(e->db, "COMMIT", NULL, NULL, NULL), "commit");
}

static void blob(sqlite3_stmt *s, int col, uint8_t out[CP_HASH]) {
  const void *p = sqlite3_column_blob(s, col);
  if (p && sqlite3_column_bytes(s, col) == CP_HASH) memcpy(out, p, CP_HASH);
  else memset(out, 0, CP_HASH);
}

static void read_row(sqlite3_stmt *s, struct cp__row *r) {
  r->status = (uint8_t)sqlite3_column_int(s, 2);
  blob(s, 3, r->composite);
  blob(s, 4, r->result);
  blob(s, 5, r->code);
  blob(s, 6, r->deps);
  blob(s, 7, r->inputs);
  r->epoch = sqlite3_column_int64(s, 8);
  r->attempt = sqlite3_column_int64(s, 9);
  r->highmem = sqlite3_column_int(s, 10) != 0;
}

struct name_ix {
  const char *name;
  size_t i;
};

static int cmp_name(const void *a, const void *b) {
  return strcmp(((const struct name_ix *)a)->name, ((const struct name_ix *)b)->name);
}

int cp__ledger_load(struct cp_engine *e) {
  free(e->rows);
  e->rows = vg_calloc(e->n_calcs * e->n_dates + 1, sizeof *e->rows);
  struct name_ix *ix = vg_calloc(e->n_calcs + 1, sizeof *ix);
  for (size_t i = 0; i < e->n_calcs; i++) ix[i] = (struct name_ix){e->calcs[i].cfg->name, i};
  qsort(ix, e->n_calcs, sizeof *ix, cmp_name);
  sqlite3_stmt *s = e->stmt[S_LOAD];
  sqlite3_bind_int64(s, 1, e->from);
  sqlite3_bind_int64(s, 2, e->to);
  char last[80] = "";
  size_t calc = SIZE_MAX;
  int rc;
  /* rows come in primary-key order, so the name lookup happens once per calculation */
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(s, 0);
    if (strcmp(name, last) != 0) {
      snprintf(last, sizeof last, "%s", name);
      struct name_ix key = {.name = name}, *hit;
      hit = bsearch(&key, ix, e->n_calcs, sizeof *ix, cmp_name);
      calc = hit ? hit->i : SIZE_MAX;
    }
    if (calc == SIZE_MAX) continue; /* a calculation removed from the config */
    read_row(s, &e->rows[CP_CELL(e, calc, sqlite3_column_int64(s, 1))]);
  }
  sqlite3_reset(s);
  free(ix);
  return rc == SQLITE_DONE ? 0 : -EIO;
}

int cp__ledger_get(struct cp_engine *e, size_t calc, long date, struct cp__row *row) {
  sqlite3_stmt *s = e->stmt[S_GET];
  sqlite3_bind_text(s, 1, e->calcs[calc].cfg->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, date);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) read_row(s, row);
  sqlite3_reset(s);
  return rc == SQLITE_ROW ? 0 : -ENOENT;
}

char *cp__out_dir(const struct cp_engine *e, size_t calc, long date, int64_t attempt) {
  char d[16];
  cp_format_date(date, d);
  return vg_asprintf("%s/out/%s/%s/%lld", e->root, e->calcs[calc].cfg->name, d,
                     (long long)attempt);
}

char *cp__log_path(const struct cp_engine *e, size_t calc, long date, int64_t attempt) {
  char d[16];
  cp_format_date(date, d);
  return vg_asprintf("%s/logs/%s/%s.%lld.log", e->root, e->calcs[calc].cfg->name, d,
                     (long long)attempt);
}

/* The session of pid from /proc/PID/stat, or -1. An attempt is a session leader
 * (setsid), so a live pid whose session is itself is still that attempt, not a reused pid
 * (a recycled pid would have to be a session leader too). */
static long session_of(long pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  char state;
  long ppid, pgrp, sid;
  if (!p || sscanf(p + 1, " %c %ld %ld %ld", &state, &ppid, &pgrp, &sid) != 4) return -1;
  return state == 'Z' ? -1 : sid;
}

int cp__ledger_recover(struct cp_engine *e) {
  sqlite3_stmt *s;
  check(e, sqlite3_prepare_v2(e->db, "SELECT id, calc, day, pid FROM attempts WHERE status = 'running'",
                              -1, &s, NULL), "recover");
  int n = 0;
  while (sqlite3_step(s) == SQLITE_ROW) {
    long pid = (long)sqlite3_column_int64(s, 3);
    if (pid > 0 && session_of(pid) == pid) kill((pid_t)-pid, SIGKILL);
    char d[16];
    cp_format_date((long)sqlite3_column_int64(s, 2), d);
    char *dir = vg_asprintf("%s/out/%s/%s/%lld", e->root, (const char *)sqlite3_column_text(s, 1),
                            d, (long long)sqlite3_column_int64(s, 0));
    cp__remove_tree(dir);
    free(dir);
    n++;
  }
  sqlite3_finalize(s);
  if (n) {
    check(e, sqlite3_exec(e->db, "UPDATE attempts SET status = 'abandoned' WHERE status = 'running'",
                          NULL, NULL, NULL), "recover");
    VG_WARN("compute: attempts of an interrupted run abandoned", VF_I("attempts", n));
  }
  return n;
}

void cp__ledger_attempt_pid(struct cp_engine *e, int64_t id, long pid) {
  sqlite3_stmt *s = e->stmt[S_ATT_PID];
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, pid);
  check(e, sqlite3_step(s), "attempt pid");
  sqlite3_reset(s);
}

static void bind_hash(sqlite3_stmt *s, int i, const uint8_t *h) {
  if (h) sqlite3_bind_blob(s, i, h, CP_HASH, SQLITE_STATIC);
  else sqlite3_bind_null(s, i);
}

int64_t cp__ledger_attempt_begin(struct cp_engine *e, size_t calc, long date, int attempt,
                                 bool highmem, const struct cp__key *k, int64_t run_id) {
  sqlite3_stmt *s = e->stmt[S_ATT_BEGIN];
  sqlite3_bind_int64(s, 1, run_id);
  sqlite3_bind_text(s, 2, e->calcs[calc].cfg->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, date);
  sqlite3_bind_int(s, 4, attempt);
  sqlite3_bind_text(s, 5, highmem ? "highmem" : "standard", -1, SQLITE_STATIC);
  bind_hash(s, 6, k->composite);
  sqlite3_bind_double(s, 7, vg_wall_seconds());
  check(e, sqlite3_step(s), "attempt begin");
  sqlite3_reset(s);
  return sqlite3_last_insert_rowid(e->db);
}

void cp__ledger_attempt_end(struct cp_engine *e, int64_t id, const char *status, double duration,
                            int64_t peak_rss, int exit_status, const uint8_t *result,
                            const char *log) {
  sqlite3_stmt *s = e->stmt[S_ATT_END];
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
  sqlite3_bind_double(s, 3, duration);
  sqlite3_bind_int64(s, 4, peak_rss);
  sqlite3_bind_int(s, 5, exit_status);
  bind_hash(s, 6, result);
  sqlite3_bind_text(s, 7, log, -1, SQLITE_STATIC);
  check(e, sqlite3_step(s), "attempt end");
  sqlite3_reset(s);
}

void cp__ledger_cell_done(struct cp_engine *e, size_t calc, long date, const struct cp__key *k,
                          const uint8_t result[CP_HASH], int64_t attempt, bool highmem) {
  sqlite3_stmt *s = e->stmt[S_CELL_DONE];
  sqlite3_bind_text(s, 1, e->calcs[calc].cfg->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, date);
  bind_hash(s, 3, k->composite);
  bind_hash(s, 4, result);
  bind_hash(s, 5, k->code);
  bind_hash(s, 6, k->deps);
  bind_hash(s, 7, k->inputs);
  sqlite3_bind_int64(s, 8, e->cp->epoch);
  sqlite3_bind_int64(s, 9, attempt);
  sqlite3_bind_int(s, 10, highmem);
  check(e, sqlite3_step(s), "cell done");
  sqlite3_reset(s);
}

void cp__ledger_cell_dead(struct cp_engine *e, size_t calc, long date, const struct cp__key *k,
                          const char *reason, int64_t attempt, bool highmem) {
  sqlite3_stmt *s = e->stmt[S_CELL_DEAD];
  sqlite3_bind_text(s, 1, e->calcs[calc].cfg->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, date);
  bind_hash(s, 3, k->composite);
  bind_hash(s, 4, k->code);
  bind_hash(s, 5, k->deps);
  bind_hash(s, 6, k->inputs);
  sqlite3_bind_int64(s, 7, e->cp->epoch);
  sqlite3_bind_int(s, 8, highmem);
  sqlite3_bind_text(s, 9, reason, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 10, attempt);
  check(e, sqlite3_step(s), "cell dead");
  sqlite3_reset(s);
}

void cp__ledger_route_highmem(struct cp_engine *e, size_t calc, long date) {
  sqlite3_stmt *s = e->stmt[S_ROUTE];
  sqlite3_bind_text(s, 1, e->calcs[calc].cfg->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, date);
  check(e, sqlite3_step(s), "route");
  sqlite3_reset(s);
}

int64_t cp__ledger_run_begin(struct cp_engine *e, const struct cp_options *o) {
  sqlite3_stmt *s;
  check(e, sqlite3_prepare_v2(e->db, "INSERT INTO runs(start, day_from, day_to, selection, calcs)"
                                     " VALUES(?1, ?2, ?3, ?4, ?5)", -1, &s, NULL), "run");
  sqlite3_bind_double(s, 1, vg_wall_seconds());
  sqlite3_bind_int64(s, 2, e->from);
  sqlite3_bind_int64(s, 3, e->to);
  sqlite3_bind_text(s, 4, o && o->select ? o->select : "", -1, SQLITE_TRANSIENT);
  int64_t n = 0;
  for (size_t i = 0; i < e->n_calcs; i++) n += e->calcs[i].selected;
  sqlite3_bind_int64(s, 5, n);
  check(e, sqlite3_step(s), "run begin");
  sqlite3_finalize(s);
  return sqlite3_last_insert_rowid(e->db);
}

void cp__ledger_run_end(struct cp_engine *e, int64_t run, const struct cp_run_stats *st) {
  sqlite3_stmt *s;
  check(e, sqlite3_prepare_v2(e->db, "UPDATE runs SET end = ?2, ran = ?3, stable = ?4,"
                                     " uptodate = ?5, failed = ?6, dead = ?7, blocked = ?8,"
                                     " impossible = ?9 WHERE id = ?1", -1, &s, NULL), "run");
  sqlite3_bind_int64(s, 1, run);
  sqlite3_bind_double(s, 2, vg_wall_seconds());
  sqlite3_bind_int64(s, 3, (int64_t)st->ran);
  sqlite3_bind_int64(s, 4, (int64_t)st->stable);
  sqlite3_bind_int64(s, 5, (int64_t)st->uptodate);
  sqlite3_bind_int64(s, 6, (int64_t)st->failed);
  sqlite3_bind_int64(s, 7, (int64_t)st->dead);
  sqlite3_bind_int64(s, 8, (int64_t)st->blocked);
  sqlite3_bind_int64(s, 9, (int64_t)st->impossible);
  check(e, sqlite3_step(s), "run end");
  sqlite3_finalize(s);
}

void cp__ledger_outcome(struct cp_engine *e, int64_t run, size_t calc, long date,
                        const char *outcome, const char *detail) {
  sqlite3_stmt *s = e->stmt[S_OUTCOME];
  sqlite3_bind_int64(s, 1, run);
  sqlite3_bind_text(s, 2, e->calcs[calc].cfg->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, date);
  sqlite3_bind_text(s, 4, outcome, -1, SQLITE_STATIC);
  if (detail) sqlite3_bind_text(s, 5, detail, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(s, 5);
  check(e, sqlite3_step(s), "outcome");
  sqlite3_reset(s);
}

int cp__ledger_code_get(struct cp_engine *e, size_t calc, const uint8_t source[CP_HASH],
                        uint8_t sim[CP_HASH], uint8_t effective[CP_HASH]) {
  sqlite3_stmt *s = e->stmt[S_CODE_GET];
  sqlite3_bind_text(s, 1, e->calcs[calc].cfg->name, -1, SQLITE_STATIC);
  sqlite3_bind_blob(s, 2, source, CP_HASH, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    blob(s, 0, sim);
    blob(s, 1, effective);
  }
  sqlite3_reset(s);
  return rc == SQLITE_ROW ? 0 : -ENOENT;
}

void cp__ledger_code_put(struct cp_engine *e, size_t calc, const uint8_t source[CP_HASH],
                         const uint8_t sim[CP_HASH], const uint8_t effective[CP_HASH]) {
  sqlite3_stmt *s = e->stmt[S_CODE_PUT];
  sqlite3_bind_text(s, 1, e->calcs[calc].cfg->name, -1, SQLITE_STATIC);
  sqlite3_bind_blob(s, 2, source, CP_HASH, SQLITE_STATIC);
  sqlite3_bind_blob(s, 3, sim, CP_HASH, SQLITE_STATIC);
  sqlite3_bind_blob(s, 4, effective, CP_HASH, SQLITE_STATIC);
  check(e, sqlite3_step(s), "code");
  sqlite3_reset(s);
}

int cp__ledger_last_code(struct cp_engine *e, size_t calc, uint8_t code[CP_HASH]) {
  sqlite3_stmt *s = e->stmt[S_LAST_CODE];
  sqlite3_bind_text(s, 1, e->calcs[calc].cfg->name, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) blob(s, 0, code);
  sqlite3_reset(s);
  return rc == SQLITE_ROW ? 0 : -ENOENT;
}
