/*
 * The store verbs: `vigil query` and `vigil store import|stats|compact|retention`, and the
 * store inputs of the compute engine. When `vigil up` runs on this state_dir they ask its
 * routes over the control socket; otherwise they open the store themselves and call its
 * functions (tsdb.h), rendering with the routes' own renderers (store_api.h), so the
 * answers are identical either way. Whether a daemon has the store is the store's to say
 * (tsdb_open's -EBUSY) and the daemon's (its control socket).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "core/core.h"
#include "ingest/ingest.h"
#include "core/file.h"
#include "http/store_api.h"
#include "tsdb/tsdb.h"

struct session {
  struct cli *cli;
  struct vg_config *cfg;
  struct tsdb *local; /* opened when no daemon answers */
  bool checked;
  bool use_daemon;
  bool borrowed_cfg;  /* cfg belongs to the caller */
};

static void session_end(struct session *s) {
  tsdb_close(s->local);
  s->local = NULL;
  if (!s->borrowed_cfg) cfg_free(s->cfg);
}

/* Finds the store: asks the daemon (1: it answered into reply), or opens the store here
 * (0: s->local); -1 after printing why neither can be done. */
static int reach(struct session *s, const char *method, const char *target, const void *body,
                 size_t len, struct cli_reply *reply) {
  if (s->local) return 0;
  if (!s->checked || s->use_daemon) {
    int rc = cli_request_ex(s->cli, method, target, body, len, -1, true, reply);
    s->checked = true;
    if (rc == 0) {
      s->use_daemon = true;
      return 1;
    }
    if (rc != -3) return -1;
  }
  if (!s->cfg->store.enabled) {
    fprintf(stderr, "vigil: the store is disabled in %s (store: {enabled: false})\n", s->cfg->path);
    return -1;
  }
  int rc = cli_store_try_open(s->cfg, &s->local);
  /* held by a daemon that is still starting (its socket not bound yet): wait for it */
  for (int i = 0; rc == -EBUSY && i < 100; i++) {
    usleep(50 * 1000);
    int r = cli_request_ex(s->cli, method, target, body, len, -1, true, reply);
    if (r == 0) {
      s->use_daemon = true;
      return 1;
    }
    if (r != -3) return -1;
    rc = cli_store_try_open(s->cfg, &s->local);
  }
  if (rc == -EBUSY)
    fprintf(stderr, "vigil: another process holds the store %s, but no daemon answers on "
                    "the control socket\n", s->cfg->store.dir);
  return rc < 0 ? -1 : 0;
}

/* Prints the body (or the error of a JSON error body); returns the exit code. */
static int finish(struct cli_reply *r) {
  int code = r->status >= 200 && r->status < 300 ? EXIT_OK : r->status == 400 ? EXIT_USAGE : EXIT_FAIL;
  if (code == EXIT_OK) {
    fwrite(r->body, 1, r->len, stdout);
  } else {
    json_t *j = json_loadb(r->body, r->len, 0, NULL);
    const char *e = j ? json_string_value(json_object_get(j, "error")) : NULL;
    fprintf(stderr, "vigil: %s\n", e ? e : r->body);
    json_decref(j);
  }
  cli_reply_free(r);
  return code;
}

/* Prints what was rendered here; returns EXIT_OK. */
static int print_buf(struct vg_buf *b) {
  fwrite(b->data ? b->data : "", 1, b->len, stdout);
  vg_buf_free(b);
  return EXIT_OK;
}

static int start(struct session *s) {
  s->cfg = cli_load_config(s->cli);
  return s->cfg ? 0 : -1;
}

/* ---- vigil query ---- */
static const char query_usage[] =
    "vigil query 'MEASUREMENT[,TAG=VALUE...]' [--field F] [--from T] [--to T]\n"
    "            [--every D --agg A] [--limit N] [--last] [--format table|csv|json]";
static const char query_help[] =
    "Reads the store. A measurement alone selects every series of it; TAG=VALUE pairs\n"
    "narrow the selection (all must match exactly).\n"
    "\n"
    "  --field F        only this field (default: every field)\n"
    "  --from T, --to T the range [from, to); default the last hour. T is RFC 3339\n"
    "                   (2026-11-23T06:00:00Z, 2026-11-23), epoch seconds, now, or\n"
    "                   relative: -1h, now-15m, -7d\n"
    "  --every D        one point per bucket of width D (1m, 5m, 1h ...)\n"
    "  --agg A          first, last, min, max, sum, count or mean (default mean)\n"
    "  --limit N        at most N points per series (the newest)\n"
    "  --last           the last value of each series instead of a range\n"
    "  --format F       table (default), csv or json\n"
    "\nWhere raw data has expired but rollups exist, older buckets come from the rollups\n"
    "(marked '(rollup)' in tables; raw_from in JSON).\n"
    "Works with or without a running daemon on the config's state_dir.\n"
    "\nexit status: 0 ok, 1 store failure, 2 bad query or config.\n";

enum { Q_FIELD = 2000, Q_FROM, Q_TO, Q_EVERY, Q_AGG, Q_LIMIT, Q_LAST, Q_FORMAT, Q_JSON };

struct qopts {
  const char *field, *from, *to, *every, *agg, *limit, *format;
  bool last;
};

static int query_opt(int c, const char *v, void *arg) {
  struct qopts *o = arg;
  switch (c) {
  case Q_FIELD: o->field = v; break;
  case Q_FROM: o->from = v; break;
  case Q_TO: o->to = v; break;
  case Q_EVERY: o->every = v; break;
  case Q_AGG: o->agg = v; break;
  case Q_LIMIT: o->limit = v; break;
  case Q_LAST: o->last = true; break;
  case Q_FORMAT: o->format = v; break;
  case Q_JSON: o->format = "json"; break;
  default: return -1;
  }
  return 0;
}

int cmd_query(struct cli *cli, int argc, char **argv) {
  static const struct option longopts[] = {
      {"field", required_argument, NULL, Q_FIELD}, {"from", required_argument, NULL, Q_FROM},
      {"to", required_argument, NULL, Q_TO},       {"every", required_argument, NULL, Q_EVERY},
      {"agg", required_argument, NULL, Q_AGG},     {"limit", required_argument, NULL, Q_LIMIT},
      {"last", no_argument, NULL, Q_LAST},         {"format", required_argument, NULL, Q_FORMAT},
      {"json", no_argument, NULL, Q_JSON},         {0}};
  struct qopts o = {.format = "table"};
  int ix = cli_parse(cli, argc, argv, query_usage, query_help, NULL, longopts, query_opt, &o);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  if (ix >= argc) {
    fprintf(stderr, "vigil query: which measurement?\nusage: %s\n", query_usage);
    return EXIT_USAGE;
  }
  const char *selector = argv[ix];
  if (ix + 1 < argc) {
    fprintf(stderr, "vigil query: unexpected argument '%s'\nusage: %s\n", argv[ix + 1], query_usage);
    return EXIT_USAGE;
  }
  enum store_format fmt;
  if (store_format_parse(o.format, &fmt) < 0) {
    fprintf(stderr, "vigil query: --format must be table, csv or json, not '%s'\n", o.format);
    return EXIT_USAGE;
  }
  if (o.agg && !o.every) {
    fprintf(stderr, "vigil query: --agg needs --every (the bucket width)\n");
    return EXIT_USAGE;
  }
  /* checked here, with the very parser the route uses: a bad query is exit 2 either way */
  struct store_query_args qa = {.q = selector, .field = o.field, .from = o.from, .to = o.to,
                                .every = o.every, .agg = o.agg, .limit = o.limit,
                                .last = o.last};
  struct store_query sq;
  char msg[512];
  if (store_query_parse(&qa, &sq, msg, sizeof msg) < 0) {
    fprintf(stderr, "vigil: %s\n", msg);
    return EXIT_USAGE;
  }
  struct session s = {.cli = cli};
  if (start(&s) < 0) return EXIT_USAGE;
  struct vg_buf t;
  vg_buf_init(&t);
  vg_buf_puts(&t, o.last ? "/api/v1/query/last" : "/api/v1/query");
  cli_url_param(&t, "q", selector);
  cli_url_param(&t, "field", o.field);
  cli_url_param(&t, "from", o.from);
  cli_url_param(&t, "to", o.to);
  cli_url_param(&t, "every", o.every);
  cli_url_param(&t, "agg", o.agg);
  cli_url_param(&t, "limit", o.limit);
  cli_url_param(&t, "format", o.format);
  struct cli_reply r;
  int code = EXIT_FAIL;
  int where = reach(&s, "GET", (char *)t.data, NULL, 0, &r);
  vg_buf_free(&t);
  if (where == 1) {
    code = finish(&r);
  } else if (where == 0) {
    struct tsdb_result res;
    uint64_t t0 = vg_now_ns();
    int rc = o.last ? tsdb_last(s.local, &sq.q, &res, msg, sizeof msg)
                    : tsdb_query(s.local, &sq.q, &res, msg, sizeof msg);
    if (rc < 0) {
      fprintf(stderr, "vigil: %s\n", msg);
      code = rc == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
    } else {
      struct vg_buf out;
      vg_buf_init(&out);
      store_render_result(&res, fmt, vg_now_ns() - t0, &out);
      tsdb_result_free(&res);
      code = print_buf(&out);
    }
  }
  session_end(&s);
  return code;
}

/* ---- vigil store ---- */
static const char store_usage[] =
    "vigil store import FILE|- [--precision ns|us|ms|s]\n"
    "       vigil store stats [--json]\n"
    "       vigil store compact\n"
    "       vigil store retention [--json]";
static const char store_help[] =
    "The embedded time-series store (docs/store.md).\n"
    "\n"
    "  import FILE|-   write InfluxDB line protocol from FILE or stdin; lines without a\n"
    "                  timestamp get the import time; bad lines are reported as\n"
    "                  FILE:LINE:COL and skipped (exit 1 if any)\n"
    "  stats           series, points, blocks, bytes on disk and bytes per point, in\n"
    "                  total and per retention policy\n"
    "  compact         flush the in-memory head to blocks, compute rollups, apply\n"
    "                  retention and merge blocks now\n"
    "  retention       apply every retention policy now, then show the policies\n"
    "\nWorks with or without a running daemon on the config's state_dir.\n"
    "\nexit status: 0 ok, 1 failure or rejected lines, 2 usage or config error.\n";

enum { S_PRECISION = 3000, S_JSON };
struct sopts {
  const char *precision;
  bool json;
  unsigned seen; /* bit (1 << (c - S_PRECISION)) of each option given */
};
static int store_opt(int c, const char *v, void *arg) {
  struct sopts *o = arg;
  if (c == S_PRECISION) o->precision = v;
  else if (c == S_JSON) o->json = true;
  else return -1;
  o->seen |= 1u << (c - S_PRECISION);
  return 0;
}
/* every action's options, for those given before the action */
static const struct option store_all_opts[] = {{"precision", required_argument, NULL, S_PRECISION},
                                               {"json", no_argument, NULL, S_JSON},
                                               {0}};

/* Sends FILE in bodies of at most 1 MiB cut at line ends. */
static int do_import(struct session *s, const char *file, const char *precision) {
  FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "re");
  const char *name = strcmp(file, "-") == 0 ? "<stdin>" : file;
  struct stat sb;
  if (f && fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
    fclose(f);
    f = NULL;
    errno = EISDIR;
  }
  if (!f) {
    fprintf(stderr, "vigil store import: %s: %s\n", file, strerror(errno));
    return EXIT_FAIL;
  }
  enum { CHUNK = 1 << 20 };
  char *buf = vg_malloc(CHUNK);
  size_t have = 0, first_line = 1;
  size_t lines = 0, points = 0, rejected = 0, refused = 0;
  int code = EXIT_OK;
  uint64_t t0 = vg_now_ns();
  bool eof = false;
  while (!eof || have) {
    if (!eof) {
      size_t n = fread(buf + have, 1, CHUNK - have, f);
      have += n;
      if (n == 0 && ferror(f)) {
        fprintf(stderr, "vigil store import: %s: %s\n", name, strerror(errno));
        code = EXIT_FAIL;
        break;
      }
      if (n == 0) eof = true;
    }
    size_t cut = have;
    if (!eof) {
      while (cut > 0 && buf[cut - 1] != '\n') cut--;
      if (cut == 0) {
        if (have < CHUNK) continue;
        fprintf(stderr, "%s:%zu: a line longer than 1 MiB; import stopped\n", name, first_line);
        code = EXIT_FAIL;
        break;
      }
    }
    struct vg_buf t;
    vg_buf_init(&t);
    vg_buf_puts(&t, "/api/v1/store/import");
    cli_url_param(&t, "precision", precision);
    char fl[24];
    snprintf(fl, sizeof fl, "%zu", first_line);
    cli_url_param(&t, "first_line", fl);
    struct cli_reply r;
    int rc = reach(s, "POST", (char *)t.data, buf, cut, &r);
    vg_buf_free(&t);
    if (rc < 0) {
      code = EXIT_FAIL;
      break;
    }
    if (rc == 0) { /* no daemon: the route's own function, on the store opened here */
      struct http_response resp = {.status = 200};
      vg_buf_init(&resp.body);
      struct ingest_target to_store = {.store = s->local};
      store_import(&to_store, precision, first_line, buf, cut, false, &resp);
      vg_buf_putc(&resp.body, 0);
      r = (struct cli_reply){.status = resp.status, .body = (char *)resp.body.data,
                             .len = resp.body.len - 1};
    }
    if (r.status != 200) {
      code = finish(&r);
      break;
    }
    json_t *j = json_loadb(r.body, r.len, 0, NULL);
    lines += (size_t)json_integer_value(json_object_get(j, "lines"));
    points += (size_t)json_integer_value(json_object_get(j, "points"));
    rejected += (size_t)json_integer_value(json_object_get(j, "rejected_lines"));
    refused += (size_t)json_integer_value(json_object_get(j, "refused_values"));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "errors"), i, e) {
      const char *m = json_string_value(e);
      if (m && strncmp(m, "line ", 5) == 0) fprintf(stderr, "%s:%s\n", name, m + 5);
      else fprintf(stderr, "%s: %s\n", name, m ? m : "?");
    }
    json_decref(j);
    cli_reply_free(&r);
    for (size_t k = 0; k < cut; k++) first_line += buf[k] == '\n';
    memmove(buf, buf + cut, have - cut);
    have -= cut;
  }
  if (f != stdin) fclose(f);
  free(buf);
  if (code == EXIT_OK && s->local) {
    char err[512];
    if (tsdb_compact(s->local, err, sizeof err) < 0) {
      fprintf(stderr, "vigil store import: %s\n", err);
      code = EXIT_FAIL;
    }
  }
  double secs = (double)(vg_now_ns() - t0) / 1e9;
  printf("imported %zu points from %zu lines in %.2f s (%.0f points/s)", points, lines, secs,
         secs > 0 ? (double)points / secs : 0.0);
  if (rejected || refused) printf("; %zu lines rejected, %zu values refused", rejected, refused);
  printf("\n");
  if (code == EXIT_OK && (rejected || refused)) code = EXIT_FAIL;
  return code;
}

static int do_stats(struct session *s, const char *target, bool json) {
  struct cli_reply r;
  int where = reach(s, "GET", target, NULL, 0, &r);
  if (where != 0) return where == 1 ? finish(&r) : EXIT_FAIL;
  struct tsdb_stats st;
  struct vg_buf out;
  vg_buf_init(&out);
  tsdb_stats(s->local, &st);
  store_render_stats(&st, json ? STORE_JSON : STORE_TABLE, &out);
  tsdb_stats_free(&st);
  return print_buf(&out);
}

static int do_compact(struct session *s) {
  struct cli_reply r;
  int where = reach(s, "POST", "/api/v1/store/compact", NULL, 0, &r);
  if (where != 0) return where == 1 ? finish(&r) : EXIT_FAIL;
  char err[512];
  uint64_t t0 = vg_now_ns();
  if (tsdb_compact(s->local, err, sizeof err) < 0) {
    fprintf(stderr, "vigil: %s\n", err);
    return EXIT_FAIL;
  }
  struct vg_buf out;
  vg_buf_init(&out);
  store_render_compact(vg_now_ns() - t0, &out);
  return print_buf(&out);
}

static int do_retention(struct session *s) {
  struct cli_reply r;
  int where = reach(s, "POST", "/api/v1/store/retention", NULL, 0, &r);
  if (where != 0) return where == 1 ? finish(&r) : EXIT_FAIL;
  struct vg_buf out;
  vg_buf_init(&out);
  store_render_retention(tsdb_apply_retention(s->local), &out);
  return print_buf(&out);
}

/* The options of each action; an action refuses the options of another. */
static const struct store_action {
  const char *name;
  const char *usage;
  struct option opts[2];
  int n_operands;
} store_actions[] = {
    {"import", "vigil store import FILE|- [--precision ns|us|ms|s]",
     {{"precision", required_argument, NULL, S_PRECISION}, {0}}, 1},
    {"stats", "vigil store stats [--json]", {{"json", no_argument, NULL, S_JSON}, {0}}, 0},
    {"compact", "vigil store compact", {{0}}, 0},
    {"retention", "vigil store retention [--json]", {{"json", no_argument, NULL, S_JSON}, {0}}, 0},
};

int cmd_store(struct cli *cli, int argc, char **argv) {
  struct sopts o = {.precision = "ns"};
  int ix = cli_parse(cli, argc, argv, store_usage, store_help, "+", store_all_opts, store_opt, &o);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  if (ix >= argc) {
    fprintf(stderr, "vigil store: which action? (import, stats, compact, retention)\nusage: %s\n",
            store_usage);
    return EXIT_USAGE;
  }
  const struct store_action *a = NULL;
  for (size_t i = 0; i < VG_ARRAY_LEN(store_actions); i++)
    if (strcmp(argv[ix], store_actions[i].name) == 0) a = &store_actions[i];
  if (!a) {
    fprintf(stderr, "vigil store: unknown action '%s' (import, stats, compact, retention)\n", argv[ix]);
    return EXIT_USAGE;
  }
  /* the action parses what follows it, named "store ACTION" in messages */
  int n = argc - ix;
  char **args = vg_calloc((size_t)n + 1, sizeof *args);
  char *name = vg_asprintf("store %s", a->name);
  args[0] = name;
  for (int i = 1; i < n; i++) args[i] = argv[ix + i];
  int code = EXIT_USAGE;
  int ix2 = cli_parse(cli, n, args, a->usage, store_help, NULL, a->opts, store_opt, &o);
  if (ix2 < 0) {
    code = ix2 == -2 ? EXIT_OK : EXIT_USAGE;
    goto out;
  }
  for (size_t i = 0; i < VG_ARRAY_LEN(store_all_opts) - 1; i++) {
    const struct option *op = &store_all_opts[i];
    bool mine = false;
    for (const struct option *m = a->opts; m->name && !mine; m++) mine = m->val == op->val;
    if (!mine && (o.seen & (1u << (op->val - S_PRECISION)))) {
      fprintf(stderr, "vigil store %s: --%s is not an option of %s\nusage: %s\n", a->name,
              op->name, a->name, a->usage);
      goto out;
    }
  }
  if (n - ix2 > a->n_operands) {
    fprintf(stderr, "vigil store %s: unexpected argument '%s'\nusage: %s\n", a->name,
            args[ix2 + a->n_operands], a->usage);
    goto out;
  }
  if (n - ix2 < a->n_operands) {
    fprintf(stderr, "vigil store %s: which file? (- for stdin)\nusage: %s\n", a->name, a->usage);
    goto out;
  }
  struct session s = {.cli = cli};
  if (start(&s) < 0) goto out;
  const char *stats = o.json ? "/api/v1/store/stats?format=json" : "/api/v1/store/stats?format=table";
  if (strcmp(a->name, "import") == 0) code = do_import(&s, args[ix2], o.precision);
  else if (strcmp(a->name, "stats") == 0) code = do_stats(&s, stats, o.json);
  else if (strcmp(a->name, "compact") == 0) code = do_compact(&s);
  else if ((code = do_retention(&s)) == EXIT_OK) code = do_stats(&s, stats, o.json);
  session_end(&s);
out:
  free(name);
  free(args);
  return code;
}

/* ---- store inputs of the compute engine ---- */
struct cli_store_session {
  struct session s;
};

struct cli_store_session *cli_store_session_new(struct cli *cli, struct vg_config *cfg) {
  struct cli_store_session *ss = vg_calloc(1, sizeof *ss);
  ss->s = (struct session){.cli = cli, .cfg = cfg, .borrowed_cfg = true};
  return ss;
}

void cli_store_session_free(struct cli_store_session *ss) {
  if (!ss) return;
  session_end(&ss->s);
  free(ss);
}

/* Epoch seconds with the nanoseconds as a fraction: exact (vg_time_parse). */
static void epoch_text(int64_t ns, char *buf, size_t len) {
  int64_t sec = ns / TSDB_NS_PER_SEC, frac = ns % TSDB_NS_PER_SEC;
  if (frac < 0) sec--, frac += TSDB_NS_PER_SEC;
  if (frac) snprintf(buf, len, "%lld.%09lld", (long long)sec, (long long)frac);
  else snprintf(buf, len, "%lld", (long long)sec);
}

/* The fingerprint of the stored points (tsdb_fingerprint), through the daemon's
 * /api/v1/store/fingerprint or from the store opened here. */
int cli_store_input(void *arg, const char *selector, int64_t from_ns, int64_t to_ns,
                    uint8_t out[16]) {
  struct cli_store_session *ss = arg;
  char a[48], b[48], msg[512];
  epoch_text(from_ns, a, sizeof a);
  epoch_text(to_ns, b, sizeof b);
  struct store_query_args qa = {.q = selector, .from = a, .to = b};
  struct store_query sq;
  if (store_query_parse(&qa, &sq, msg, sizeof msg) < 0) {
    fprintf(stderr, "vigil: store input %s: %s\n", selector, msg);
    return -EINVAL;
  }
  struct vg_buf t;
  vg_buf_init(&t);
  vg_buf_puts(&t, "/api/v1/store/fingerprint");
  cli_url_param(&t, "q", selector);
  cli_url_param(&t, "from", a);
  cli_url_param(&t, "to", b);
  struct cli_reply r;
  int where = reach(&ss->s, "GET", (char *)t.data, NULL, 0, &r);
  vg_buf_free(&t);
  if (where < 0) return -EIO;
  size_t points = 0;
  int rc = 0;
  if (where == 0) {
    rc = tsdb_fingerprint(ss->s.local, &sq.q, out, &points, msg, sizeof msg);
    /* without a daemon, do not keep the store: a calculation may want to read it too */
    tsdb_close(ss->s.local);
    ss->s.local = NULL;
    if (rc < 0) {
      fprintf(stderr, "vigil: store input %s: %s\n", selector, msg);
      return -EIO;
    }
  } else {
    json_t *j = r.status == 200 ? json_loadb(r.body, r.len, 0, NULL) : NULL;
    const char *hex = j ? json_string_value(json_object_get(j, "fingerprint")) : NULL;
    if (!hex || strlen(hex) != 32) {
      fprintf(stderr, "vigil: store input %s: %.*s\n", selector, (int)r.len, r.body);
      rc = -EIO;
    } else {
      for (int i = 0; i < 16; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
      }
      points = (size_t)json_integer_value(json_object_get(j, "points"));
    }
    json_decref(j);
    cli_reply_free(&r);
    if (rc < 0) return rc;
  }
  return points ? 0 : -ENOENT;
}
