/*
 * The compute metrics (vigil_compute_*, docs/metrics.md), read from the ledger. A run is
 * its own process, so the daemon cannot count its events: what /metrics shows of
 * compute is what the ledger says. In the daemon a thread of its own reads it, once a
 * second when another connection committed since (PRAGMA data_version), so a large
 * ledger never stalls the loop that renders /metrics; the series are at most a second
 * behind the ledger. Attempts are read incrementally (by id, up to the first one still
 * running), so a read costs what the runs added, not the ledger's size; the runs and
 * breakers tables are small and read whole. The run's STATE_DIR/compute/metrics.prom is
 * the same reading done once at the end of the run, so the file and /metrics cannot
 * disagree.
 *
 * Circuit-breaker trips are the one fact the ledger's tables do not keep (a breaker
 * that trips on a calculation's last cell holds nothing back): the run records each
 * one in the table `breakers(run, calc)`, created here when first needed.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compute/cp_int.h"
#include "core/file.h"
#include "metrics/metrics.h"

struct cp_metrics {
  char *path;
  sqlite3 *db;
  bool loaded;
  int64_t data_version;
  int64_t seen; /* attempts up to this id are counted */
  struct mt_family *runs, *cells, *last_cells, *last_end, *last_duration, *last_trips, *attempts,
      *duration, *rss, *trips;
  /* the daemon's reader thread */
  bool daemon;   /* mu and cv exist */
  bool threaded; /* the thread runs */
  bool stop;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
};

/* The states a run's cells settle in: the columns of the ledger's runs table, with
 * ran split into new results (ran - stable) and stable ones. */
static const char *const cell_states[] = {"ran", "stable", "uptodate", "dead", "blocked",
                                          "impossible"};

static const double duration_buckets[] = {0.01, 0.1, 1, 10, 60, 600, 3600};

static void families(struct mt_registry *r, struct cp_metrics *m) {
  static const char *const state[] = {"state", NULL};
  static const char *const calc[] = {"calc", NULL};
  static const char *const calc_status[] = {"calc", "status", NULL};
  m->runs = mt_counter(r, "vigil_compute_runs_total", "Compute runs finished, from the ledger.", NULL);
  m->cells = mt_counter(r, "vigil_compute_cells_total",
                        "Cells settled by finished compute runs, by state (ran: a new result).",
                        state);
  m->last_cells = mt_gauge(r, "vigil_compute_last_run_cells",
                           "Cells settled by the last finished compute run, by state.", state);
  m->last_end = mt_gauge(r, "vigil_compute_last_run_timestamp_seconds",
                         "Unix time the last compute run finished.", NULL);
  m->last_duration = mt_gauge(r, "vigil_compute_last_run_duration_seconds",
                              "How long the last finished compute run took.", NULL);
  m->last_trips = mt_gauge(r, "vigil_compute_last_run_breaker_trips",
                           "Circuit breakers the last finished compute run tripped.", NULL);
  m->attempts = mt_counter(r, "vigil_compute_attempts_total",
                           "Finished attempts of each calculation, by status (done, crashed, "
                           "timeout, dataerr, memory, interrupted, abandoned).",
                           calc_status);
  m->duration = mt_histogram(r, "vigil_compute_attempt_duration_seconds",
                             "Duration of finished compute attempts.", calc, duration_buckets,
                             VG_ARRAY_LEN(duration_buckets));
  m->rss = mt_gauge(r, "vigil_compute_peak_rss_bytes",
                    "Peak RSS of the last finished attempt of each calculation.", calc);
  m->trips = mt_counter(r, "vigil_compute_breaker_trips_total",
                        "Circuit breakers tripped on the calculation, over every run.", calc);
}

void cp_metrics_describe(struct mt_registry *r) {
  struct cp_metrics m;
  families(r, &m);
}

/* Runs sql (no parameters) and calls row() on each result row; false when the
 * statement cannot be prepared (a table an older ledger lacks). */
static bool each_row(sqlite3 *db, const char *sql, void (*row)(struct cp_metrics *, sqlite3_stmt *),
                     struct cp_metrics *m) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) return false;
  while (sqlite3_step(s) == SQLITE_ROW) row(m, s);
  sqlite3_finalize(s);
  return true;
}

static const char *col_text(sqlite3_stmt *s, int i) {
  const char *t = (const char *)sqlite3_column_text(s, i);
  return t ? t : "";
}

static void set_cells(struct mt_family *f, sqlite3_stmt *s, int first) {
  double v[VG_ARRAY_LEN(cell_states)];
  for (size_t i = 0; i < VG_ARRAY_LEN(cell_states); i++)
    v[i] = sqlite3_column_double(s, first + (int)i);
  v[0] -= v[1]; /* the runs table's ran includes the stable ones */
  for (size_t i = 0; i < VG_ARRAY_LEN(cell_states); i++) {
    const char *l[] = {cell_states[i]};
    mt_set(mt_get(f, l), v[i]);
  }
}

static void row_totals(struct cp_metrics *m, sqlite3_stmt *s) {
  mt_set(mt_get(m->runs, NULL), sqlite3_column_double(s, 0));
  set_cells(m->cells, s, 1);
}

static void row_last(struct cp_metrics *m, sqlite3_stmt *s) {
  double start = sqlite3_column_double(s, 0), end = sqlite3_column_double(s, 1);
  mt_set(mt_get(m->last_end, NULL), end);
  mt_set(mt_get(m->last_duration, NULL), end - start);
  mt_set(mt_get(m->last_trips, NULL), 0); /* until the breakers table says otherwise */
  set_cells(m->last_cells, s, 2);
}

static void row_trips(struct cp_metrics *m, sqlite3_stmt *s) {
  const char *l[] = {col_text(s, 0)};
  mt_set(mt_get(m->trips, l), sqlite3_column_double(s, 1));
}

static void row_last_trips(struct cp_metrics *m, sqlite3_stmt *s) {
  mt_set(mt_get(m->last_trips, NULL), sqlite3_column_double(s, 0));
}

/* Counts the attempts after m->seen, in id order, up to the first one still running
 * (counted once it ends: its row is read again next time). */
static void read_attempts(struct cp_metrics *m) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(m->db,
                         "SELECT id, calc, status, duration, peak_rss FROM attempts WHERE id > ?1"
                         " ORDER BY id",
                         -1, &s, NULL) != SQLITE_OK)
    return;
  sqlite3_bind_int64(s, 1, m->seen);
  while (sqlite3_step(s) == SQLITE_ROW) {
    const char *status = (const char *)sqlite3_column_text(s, 2);
    if (!status || strcmp(status, "running") == 0) break;
    const char *calc[] = {col_text(s, 1)};
    const char *calc_status[] = {calc[0], status};
    mt_inc(mt_get(m->attempts, calc_status), 1);
    double d = sqlite3_column_double(s, 3);
    if (isfinite(d) && d >= 0) mt_observe(mt_get(m->duration, calc), d);
    mt_set(mt_get(m->rss, calc), sqlite3_column_double(s, 4));
    /* every calculation that has run has a breaker series, so "no trip" reads 0 */
    (void)mt_get(m->trips, calc);
    m->seen = sqlite3_column_int64(s, 0);
  }
  sqlite3_finalize(s);
}

#define CELL_COLUMNS "ran, stable, uptodate, dead, blocked, impossible"

/* What the ledger added since the last read; false when it could not be read. */
static bool load(struct cp_metrics *m) {
  /* one read transaction: every family from the same state of the ledger */
  if (sqlite3_exec(m->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) return false;
  each_row(m->db,
           "SELECT count(*), total(ran), total(stable), total(uptodate), total(dead),"
           " total(blocked), total(impossible) FROM runs WHERE end IS NOT NULL",
           row_totals, m);
  each_row(m->db,
           "SELECT start, end, " CELL_COLUMNS " FROM runs WHERE end IS NOT NULL"
           " ORDER BY id DESC LIMIT 1",
           row_last, m);
  read_attempts(m);
  each_row(m->db, "SELECT calc, count(*) FROM breakers GROUP BY calc", row_trips, m);
  each_row(m->db,
           "SELECT count(*) FROM breakers WHERE run ="
           " (SELECT id FROM runs WHERE end IS NOT NULL ORDER BY id DESC LIMIT 1)",
           row_last_trips, m);
  sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL);
  return true;
}

static int64_t data_version(sqlite3 *db) {
  sqlite3_stmt *s;
  int64_t v = -1;
  if (sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &s, NULL) != SQLITE_OK) return -1;
  if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

/* Reads what changed since the last call. No ledger before the first run: no series,
 * and another look next time. */
static void refresh(struct cp_metrics *m) {
  if (!m->db) {
    if (sqlite3_open_v2(m->path, &m->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
      sqlite3_close(m->db);
      m->db = NULL;
      return;
    }
    sqlite3_busy_timeout(m->db, 1000);
  }
  int64_t v = data_version(m->db);
  if (m->loaded && v == m->data_version) return;
  m->loaded = load(m);
  m->data_version = v;
}

static void *reader(void *arg) {
  struct cp_metrics *m = arg;
  pthread_mutex_lock(&m->mu);
  while (!m->stop) {
    pthread_mutex_unlock(&m->mu);
    refresh(m);
    pthread_mutex_lock(&m->mu);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    if (!m->stop) pthread_cond_timedwait(&m->cv, &m->mu, &until);
  }
  pthread_mutex_unlock(&m->mu);
  return NULL;
}

/* Takes path. */
static struct cp_metrics *metrics_new(struct mt_registry *r, char *path) {
  struct cp_metrics *m = vg_calloc(1, sizeof *m);
  m->path = path;
  families(r, m);
  return m;
}

struct cp_metrics *cp_metrics_register(struct mt_registry *r, const char *state_dir) {
  struct cp_metrics *m = metrics_new(r, vg_asprintf("%s/compute/ledger.db", state_dir));
  VG_ASSERT(pthread_mutex_init(&m->mu, NULL) == 0);
  VG_ASSERT(pthread_cond_init(&m->cv, NULL) == 0);
  m->daemon = true;
  int rc = pthread_create(&m->thread, NULL, reader, m);
  if (rc != 0) VG_WARN("compute metrics: cannot start the ledger reader", VF_S("error", strerror(rc)));
  m->threaded = rc == 0;
  return m;
}

void cp_metrics_free(struct cp_metrics *m) {
  if (!m) return;
  if (m->threaded) {
    pthread_mutex_lock(&m->mu);
    m->stop = true;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
  }
  if (m->daemon) {
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
  }
  sqlite3_close(m->db);
  free(m->path);
  free(m);
}

void cp__metrics_breaker(struct cp_engine *e, int64_t run, size_t calc) {
  sqlite3_stmt *s;
  if (sqlite3_exec(e->db, "CREATE TABLE IF NOT EXISTS breakers(run INTEGER, calc TEXT)", NULL,
                   NULL, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(e->db, "INSERT INTO breakers(run, calc) VALUES(?1, ?2)", -1, &s, NULL) !=
          SQLITE_OK) {
    VG_WARN("compute: cannot record a breaker trip in the ledger",
            VF_S("error", sqlite3_errmsg(e->db)));
    return;
  }
  sqlite3_bind_int64(s, 1, run);
  sqlite3_bind_text(s, 2, e->calcs[calc].cfg->name, -1, SQLITE_STATIC);
  if (sqlite3_step(s) != SQLITE_DONE)
    VG_WARN("compute: cannot record a breaker trip in the ledger",
            VF_S("error", sqlite3_errmsg(e->db)));
  sqlite3_finalize(s);
}

void cp__metrics_write(struct cp_engine *e) {
  struct mt_registry *reg = mt_registry_new();
  struct cp_metrics *m = metrics_new(reg, vg_asprintf("%s/ledger.db", e->root));
  refresh(m);
  struct vg_buf b;
  vg_buf_init(&b);
  mt_render(reg, MT_FORMAT_TEXT, &b);
  mt_registry_free(reg);
  cp_metrics_free(m);
  char *path = vg_asprintf("%s/metrics.prom", e->root);
  /* replaced atomically (a textfile collector reads it) */
  int rc = vg_replace_file(path, b.data ? b.data : "", b.len, 0644);
  if (rc < 0)
    VG_WARN("compute: cannot write metrics.prom", VF_S("path", path), VF_S("error", strerror(-rc)));
  free(path);
  vg_buf_free(&b);
}
