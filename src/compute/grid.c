/*
 * The date x calculation grid of the page's compute view (GET /api/v1/compute/grid,
 * docs/api.md): for each cell of a date range, its state — the last run's outcome for
 * it, else what the ledger holds — its reason, and its last attempt. Reads the ledger
 * (STATE_DIR/compute/ledger.db) on a connection of its own, without the engine: the
 * daemon never runs calculations itself (`vigil compute run` is another process), and a
 * read never waits for a run (WAL).
 */
#include "compute/cp_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRID_MAX_DAYS 366

/* The last finished run: its id and range (0 when none). */
static int64_t last_run(sqlite3 *db, long *from, long *to) {
  sqlite3_stmt *s;
  int64_t id = 0;
  if (sqlite3_prepare_v2(db, "SELECT id, day_from, day_to FROM runs WHERE end IS NOT NULL"
                             " ORDER BY id DESC LIMIT 1", -1, &s, NULL) != SQLITE_OK)
    return 0;
  if (sqlite3_step(s) == SQLITE_ROW) {
    id = sqlite3_column_int64(s, 0);
    *from = (long)sqlite3_column_int64(s, 1);
    *to = (long)sqlite3_column_int64(s, 2);
  }
  sqlite3_finalize(s);
  return id;
}

static void jstr(struct vg_buf *b, const char *key, const char *v) {
  vg_buf_printf(b, ",\"%s\":", key);
  if (v) vg_buf_json_str(b, v);
  else vg_buf_puts(b, "null");
}

static const char *ledger_state(int status) {
  switch (status) {
  case CP__S_DONE: return "uptodate";
  case CP__S_DEAD: return "dead";
  case CP__S_REQUEUED: return "requeued";
  default: return "pending";
  }
}

/* One cell's object. */
static void cell(sqlite3 *db, int64_t run, const char *calc, long day, struct vg_buf *out) {
  char d[16];
  cp_format_date(day, d);
  const char *state = "pending";
  char *reason = NULL;
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(db, "SELECT status, reason FROM cells WHERE calc = ?1 AND day = ?2",
                         -1, &s, NULL) == SQLITE_OK) {
    sqlite3_bind_text(s, 1, calc, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, day);
    if (sqlite3_step(s) == SQLITE_ROW) {
      state = ledger_state(sqlite3_column_int(s, 0));
      if (sqlite3_column_text(s, 1)) reason = vg_strdup((const char *)sqlite3_column_text(s, 1));
    }
    sqlite3_finalize(s);
  }
  char outcome[16];
  if (run && sqlite3_prepare_v2(db, "SELECT outcome, detail FROM outcomes WHERE run = ?1 AND"
                                    " calc = ?2 AND day = ?3 LIMIT 1", -1, &s, NULL) == SQLITE_OK) {
    sqlite3_bind_int64(s, 1, run);
    sqlite3_bind_text(s, 2, calc, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, day);
    if (sqlite3_step(s) == SQLITE_ROW) {
      snprintf(outcome, sizeof outcome, "%s", (const char *)sqlite3_column_text(s, 0));
      state = outcome;
      const unsigned char *det = sqlite3_column_text(s, 1);
      if (det && *det) {
        free(reason);
        reason = vg_strdup((const char *)det);
      }
    }
    sqlite3_finalize(s);
  }
  vg_buf_puts(out, "{");
  vg_buf_puts(out, "\"calc\":");
  vg_buf_json_str(out, calc);
  jstr(out, "date", d);
  jstr(out, "state", state);
  jstr(out, "reason", reason);
  free(reason);
  vg_buf_puts(out, ",\"last_attempt\":");
  if (sqlite3_prepare_v2(db, "SELECT n, status, start, duration, exit_status, (SELECT count(*)"
                             " FROM attempts b WHERE b.calc = ?1 AND b.day = ?2) FROM attempts"
                             " WHERE calc = ?1 AND day = ?2 ORDER BY id DESC LIMIT 1",
                         -1, &s, NULL) == SQLITE_OK) {
    sqlite3_bind_text(s, 1, calc, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, day);
    if (sqlite3_step(s) == SQLITE_ROW) {
      char at[VG_TIME_LEN];
      vg_rfc3339_format((int64_t)(sqlite3_column_double(s, 2) * 1e9), 3, at, sizeof at);
      vg_buf_printf(out, "{\"attempt\":%d", sqlite3_column_int(s, 0));
      jstr(out, "status", (const char *)sqlite3_column_text(s, 1));
      jstr(out, "at", at);
      vg_buf_printf(out, ",\"duration_seconds\":%.3f,\"exit_status\":%d,\"attempts\":%d}",
                    sqlite3_column_double(s, 3), sqlite3_column_int(s, 4), sqlite3_column_int(s, 5));
    } else {
      vg_buf_puts(out, "null");
    }
    sqlite3_finalize(s);
  } else {
    vg_buf_puts(out, "null");
  }
  vg_buf_puts(out, "}");
}

int cp_grid(const struct vg_config *cfg, const char *from, const char *to, struct vg_buf *out,
            char *err, size_t errlen) {
  const struct cfg_compute *cp = cfg->compute;
  if (!cp) {
    snprintf(err, errlen, "this config has no compute section");
    return -ENOENT;
  }
  long start, end, f, t;
  VG_ASSERT(cfg_parse_date(cp->start, &start) == 0);
  if (cp->end) VG_ASSERT(cfg_parse_date(cp->end, &end) == 0);
  else end = cp_today() - 1;
  char *path = vg_asprintf("%s/compute/ledger.db", cfg->state_dir);
  sqlite3 *db = NULL;
  int64_t run = 0;
  long run_from = 0, run_to = -1;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 200);
    run = last_run(db, &run_from, &run_to);
  } else {
    sqlite3_close(db); /* no ledger yet: every cell is pending */
    db = NULL;
  }
  free(path);
  /* by default the last run's range, else the calendar's last 31 days */
  t = run ? run_to : end;
  f = run ? run_from : t - 30;
  if (to && *to && cfg_parse_date(to, &t) < 0) {
    snprintf(err, errlen, "bad to date '%s': expected YYYY-MM-DD", to);
    goto bad;
  }
  if (from && *from && cfg_parse_date(from, &f) < 0) {
    snprintf(err, errlen, "bad from date '%s': expected YYYY-MM-DD", from);
    goto bad;
  }
  if (f < start) f = start;
  if (t > end) t = end;
  if (t - f + 1 > GRID_MAX_DAYS) f = t - GRID_MAX_DAYS + 1;
  char d[16];
  vg_buf_puts(out, "{\"calendar\":{\"start\":");
  vg_buf_json_str(out, cp->start);
  cp_format_date(end, d);
  jstr(out, "end", d);
  vg_buf_puts(out, "}");
  cp_format_date(f, d);
  jstr(out, "from", d);
  cp_format_date(t, d);
  jstr(out, "to", d);
  vg_buf_puts(out, ",\"run\":");
  if (run) vg_buf_printf(out, "%lld", (long long)run);
  else vg_buf_puts(out, "null");
  vg_buf_puts(out, ",\"calcs\":[");
  for (size_t i = 0; i < cp->n_calcs; i++) {
    if (i) vg_buf_putc(out, ',');
    vg_buf_json_str(out, cp->calcs[i].name);
  }
  vg_buf_puts(out, "],\"dates\":[");
  for (long day = f; day <= t; day++) {
    cp_format_date(day, d);
    vg_buf_printf(out, "%s\"%s\"", day > f ? "," : "", d);
  }
  vg_buf_puts(out, "],\"cells\":[");
  bool first = true;
  for (long day = f; day <= t; day++)
    for (size_t i = 0; i < cp->n_calcs; i++) {
      if (!first) vg_buf_puts(out, ",\n");
      first = false;
      if (db) {
        cell(db, run, cp->calcs[i].name, day, out);
      } else {
        cp_format_date(day, d);
        vg_buf_puts(out, "{\"calc\":");
        vg_buf_json_str(out, cp->calcs[i].name);
        vg_buf_printf(out, ",\"date\":\"%s\",\"state\":\"pending\",\"reason\":null,"
                           "\"last_attempt\":null}", d);
      }
    }
  vg_buf_puts(out, "]}\n");
  sqlite3_close(db);
  return 0;
bad:
  sqlite3_close(db);
  return -EINVAL;
}
