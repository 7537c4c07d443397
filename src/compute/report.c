/*
 * The read-only views of the ledger: the dead-letter list (and requeueing from it),
 * the build report of the last run (document 004's: per date, what ran, re-ran, was
 * stable, blocked, impossible or up to date), and the attempts of one calculation.
 */
#include "compute/cp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void jstr(struct vg_buf *b, const char *key, const char *v, bool comma) {
  vg_buf_printf(b, "%s\"%s\":", comma ? "," : "", key);
  if (v) vg_buf_json_str(b, v);
  else vg_buf_puts(b, "null");
}

/* Binds the optional "calc" / "calc@date" filter to parameters 1 and 2. */
static int bind_spec(sqlite3_stmt *s, const char *spec, char **calc) {
  *calc = NULL;
  long day = -1;
  if (spec) {
    *calc = vg_strdup(spec);
    char *at = strchr(*calc, '@');
    if (at) {
      *at = '\0';
      if (cfg_parse_date(at + 1, &day) < 0) return -EINVAL;
    }
  }
  if (*calc) sqlite3_bind_text(s, 1, *calc, -1, SQLITE_STATIC);
  else sqlite3_bind_null(s, 1);
  sqlite3_bind_int64(s, 2, day);
  return 0;
}

int cp_dead(struct cp_engine *e, bool json, bool requeue, const char *spec, struct vg_buf *out) {
  static const char q[] =
      "SELECT c.calc, c.day, c.reason, (SELECT log FROM attempts a WHERE a.calc = c.calc AND"
      " a.day = c.day ORDER BY a.id DESC LIMIT 1) FROM cells c WHERE c.status = 2"
      " AND (?1 IS NULL OR c.calc = ?1) AND (?2 < 0 OR c.day = ?2) ORDER BY c.day, c.calc";
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(e->db, q, -1, &s, NULL) != SQLITE_OK) return -EIO;
  char *calc;
  if (bind_spec(s, spec, &calc) < 0) {
    free(calc);
    sqlite3_finalize(s);
    return -EINVAL;
  }
  size_t n = 0;
  if (json) vg_buf_puts(out, "{\"dead\":[");
  while (sqlite3_step(s) == SQLITE_ROW) {
    char d[16];
    cp_format_date((long)sqlite3_column_int64(s, 1), d);
    const char *name = (const char *)sqlite3_column_text(s, 0);
    const char *reason = (const char *)sqlite3_column_text(s, 2);
    const char *log = (const char *)sqlite3_column_text(s, 3);
    if (json) {
      vg_buf_puts(out, n ? ",{" : "{");
      jstr(out, "calc", name, false);
      jstr(out, "date", d, true);
      jstr(out, "reason", reason, true);
      jstr(out, "log", log, true);
      vg_buf_putc(out, '}');
    } else {
      vg_buf_printf(out, "%s  %-24s %s  %s\n", d, name, reason ? reason : "", log ? log : "");
    }
    n++;
  }
  sqlite3_finalize(s);
  if (requeue) {
    if (sqlite3_prepare_v2(e->db, "UPDATE cells SET status = 3 WHERE status = 2 AND"
                                  " (?1 IS NULL OR calc = ?1) AND (?2 < 0 OR day = ?2)",
                           -1, &s, NULL) != SQLITE_OK) {
      free(calc);
      return -EIO;
    }
    free(calc);
    bind_spec(s, spec, &calc);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
      free(calc);
      return -EIO;
    }
  }
  free(calc);
  if (json) vg_buf_printf(out, "],\"count\":%zu,\"requeued\":%s}\n", n, requeue ? "true" : "false");
  else if (requeue) vg_buf_printf(out, "%zu cell%s requeued: the next run retries them\n", n, n == 1 ? "" : "s");
  else vg_buf_printf(out, "%zu dead cell%s\n", n, n == 1 ? "" : "s");
  return 0;
}

static const char *const outcomes[] = {"ran", "rerun", "stable", "dead", "blocked", "impossible"};
#define N_OUT 6

int cp_report(struct cp_engine *e, int days, bool json, struct vg_buf *out) {
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(e->db, "SELECT id, day_from, day_to, calcs, start FROM runs WHERE end IS"
                                " NOT NULL ORDER BY id DESC LIMIT 1", -1, &s, NULL) != SQLITE_OK)
    return -EIO;
  if (sqlite3_step(s) != SQLITE_ROW) {
    sqlite3_finalize(s);
    vg_buf_puts(out, json ? "{\"run\":null,\"dates\":[]}\n" : "no compute run yet\n");
    return 0;
  }
  int64_t run = sqlite3_column_int64(s, 0);
  long from = (long)sqlite3_column_int64(s, 1), to = (long)sqlite3_column_int64(s, 2);
  int64_t calcs = sqlite3_column_int64(s, 3);
  sqlite3_finalize(s);
  if (days > 0 && to - days + 1 > from) from = to - days + 1;
  size_t nd = to >= from ? (size_t)(to - from + 1) : 0;
  struct vg_buf *names = vg_calloc(nd * N_OUT + 1, sizeof *names);
  size_t *cnt = vg_calloc(nd * N_OUT + 1, sizeof *cnt);
  if (sqlite3_prepare_v2(e->db, "SELECT day, outcome, calc FROM outcomes WHERE run = ?1 AND day"
                                " BETWEEN ?2 AND ?3 ORDER BY day, calc", -1, &s, NULL) != SQLITE_OK) {
    free(names);
    free(cnt);
    return -EIO;
  }
  sqlite3_bind_int64(s, 1, run);
  sqlite3_bind_int64(s, 2, from);
  sqlite3_bind_int64(s, 3, to);
  while (sqlite3_step(s) == SQLITE_ROW) {
    long d = (long)sqlite3_column_int64(s, 0);
    const char *o = (const char *)sqlite3_column_text(s, 1);
    size_t k = 0;
    while (k < N_OUT && strcmp(outcomes[k], o) != 0) k++;
    if (k == N_OUT) continue;
    size_t i = (size_t)(d - from) * N_OUT + k;
    struct vg_buf *b = &names[i];
    if (json) {
      vg_buf_puts(b, cnt[i] ? "," : "");
      vg_buf_json_str(b, (const char *)sqlite3_column_text(s, 2));
    } else {
      vg_buf_printf(b, "%s%s", cnt[i] ? " " : "", (const char *)sqlite3_column_text(s, 2));
    }
    cnt[i]++;
  }
  sqlite3_finalize(s);
  if (json) vg_buf_printf(out, "{\"run\":%lld,\"dates\":[", (long long)run);
  for (size_t i = 0; i < nd; i++) {
    char ds[16];
    cp_format_date(from + (long)i, ds);
    size_t listed = 0;
    for (int k = 0; k < N_OUT; k++) listed += cnt[i * N_OUT + k];
    long long up = calcs - (long long)listed;
    if (up < 0) up = 0;
    if (json) {
      vg_buf_printf(out, "%s{\"date\":\"%s\",\"uptodate\":%lld", i ? "," : "", ds, up);
      for (int k = 0; k < N_OUT; k++) {
        struct vg_buf *b = &names[i * N_OUT + k];
        vg_buf_printf(out, ",\"%s\":[%s]", outcomes[k], b->data ? b->data : "");
      }
      vg_buf_putc(out, '}');
    } else {
      vg_buf_printf(out, "%s  %lld up to date", ds, up);
      for (int k = 0; k < N_OUT; k++) {
        struct vg_buf *b = &names[i * N_OUT + k];
        if (cnt[i * N_OUT + k]) vg_buf_printf(out, "; %s: %s", outcomes[k], b->data);
      }
      vg_buf_putc(out, '\n');
    }
  }
  if (json) vg_buf_puts(out, "]}\n");
  for (size_t i = 0; i < nd * N_OUT; i++) vg_buf_free(&names[i]);
  free(names);
  free(cnt);
  return 0;
}

int cp_history(struct cp_engine *e, const char *calc, bool json, struct vg_buf *out) {
  if (cp__find_calc(e, calc) == SIZE_MAX) return -ENOENT;
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(e->db, "SELECT day, n, status, slot, start, duration, peak_rss,"
                                " exit_status, log FROM attempts WHERE calc = ?1 ORDER BY id DESC"
                                " LIMIT 500", -1, &s, NULL) != SQLITE_OK)
    return -EIO;
  sqlite3_bind_text(s, 1, calc, -1, SQLITE_STATIC);
  if (json) vg_buf_puts(out, "{\"attempts\":[");
  else vg_buf_printf(out, "%-10s  %3s  %-11s  %-8s  %9s  %10s  %4s  %s\n", "DATE", "N", "STATUS",
                     "SLOT", "DURATION", "PEAK_RSS", "EXIT", "LOG");
  size_t n = 0;
  while (sqlite3_step(s) == SQLITE_ROW) {
    char d[16];
    cp_format_date((long)sqlite3_column_int64(s, 0), d);
    const char *status = (const char *)sqlite3_column_text(s, 2);
    const char *slot = (const char *)sqlite3_column_text(s, 3);
    const char *log = (const char *)sqlite3_column_text(s, 8);
    double dur = sqlite3_column_double(s, 5);
    long long rss = sqlite3_column_int64(s, 6);
    int ex = sqlite3_column_int(s, 7);
    if (json) {
      vg_buf_printf(out, "%s{\"date\":\"%s\",\"attempt\":%d", n ? "," : "", d, sqlite3_column_int(s, 1));
      jstr(out, "status", status, true);
      jstr(out, "slot", slot, true);
      vg_buf_printf(out, ",\"start\":%.3f,\"duration\":%.6f,\"peak_rss\":%lld,\"exit_status\":%d",
                    sqlite3_column_double(s, 4), dur, rss, ex);
      jstr(out, "log", log, true);
      vg_buf_putc(out, '}');
    } else {
      vg_buf_printf(out, "%-10s  %3d  %-11s  %-8s  %8.3fs  %10lld  %4d  %s\n", d,
                    sqlite3_column_int(s, 1), status ? status : "", slot ? slot : "", dur, rss, ex,
                    log ? log : "");
    }
    n++;
  }
  sqlite3_finalize(s);
  if (json) vg_buf_puts(out, "]}\n");
  return 0;
}
