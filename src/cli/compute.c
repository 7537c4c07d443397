/* vigil compute plan|run|dead|report|history: the compute engine's verbs (docs/compute.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "compute/compute.h"
#include "core/core.h"

enum { O_FROM = 2000, O_TO, O_SELECT, O_JSON, O_QUIET, O_RETRY, O_DAYS, O_NOTIFY };

struct opts {
  struct cp_options cp;
  bool retry;
  bool notify;
  int days;
};

static int on_opt(int c, const char *v, void *arg) {
  struct opts *o = arg;
  switch (c) {
  case O_FROM: o->cp.from = v; return 0;
  case O_TO: o->cp.to = v; return 0;
  case O_SELECT: o->cp.select = v; return 0;
  case O_JSON: o->cp.json = true; return 0;
  case O_QUIET: o->cp.quiet = true; return 0;
  case O_RETRY: o->retry = true; return 0;
  case O_NOTIFY: o->notify = true; return 0;
  case O_DAYS: {
    char *end;
    long d = strtol(v, &end, 10);
    if (*end || d < 1 || d > 100000) {
      fprintf(stderr, "vigil compute report: --days must be a positive number, not '%s'\n", v);
      return -1;
    }
    o->days = (int)d;
    return 0;
  }
  }
  return -1;
}

static const struct option range_opts[] = {
    {"from", required_argument, NULL, O_FROM},   {"to", required_argument, NULL, O_TO},
    {"select", required_argument, NULL, O_SELECT}, {"json", no_argument, NULL, O_JSON},
    {"quiet", no_argument, NULL, O_QUIET},       {NULL, 0, NULL, 0}};
static const struct option run_opts[] = {
    {"from", required_argument, NULL, O_FROM},   {"to", required_argument, NULL, O_TO},
    {"select", required_argument, NULL, O_SELECT}, {"quiet", no_argument, NULL, O_QUIET},
    {"notify", no_argument, NULL, O_NOTIFY},     {NULL, 0, NULL, 0}};
static const struct option dead_opts[] = {{"retry", no_argument, NULL, O_RETRY},
                                          {"json", no_argument, NULL, O_JSON},
                                          {NULL, 0, NULL, 0}};
static const struct option report_opts[] = {{"days", required_argument, NULL, O_DAYS},
                                            {"json", no_argument, NULL, O_JSON},
                                            {NULL, 0, NULL, 0}};
static const struct option json_opts[] = {{"json", no_argument, NULL, O_JSON}, {NULL, 0, NULL, 0}};

#define RANGE_HELP                                                                             \
  "  --from DATE       first date (default: the calendar start)\n"                           \
  "  --to DATE         last date (default: calendar end, else yesterday UTC)\n"              \
  "  --select SPEC     calculations: tag:T, NAME, +NAME (with upstream), NAME+ (with\n"      \
  "                    downstream); comma-separated\n"                                        \
  "  --json            machine-readable output\n"

static const struct sub {
  const char *name, *usage, *help;
  const struct option *opts;
  int min_args, max_args;
} subs[] = {
    {"plan", "vigil compute plan [--from D] [--to D] [--select S] [--json]",
     "Classifies every (calculation, date) cell without running anything: runnable, rerun\n"
     "(with the reason: code, dependency, epoch, input, requeued), up to date, blocked (by\n"
     "which dependency), impossible (which root input is missing), dead. Up-to-date cells\n"
     "are counted, not listed.\n\n" RANGE_HELP "\nexit status: 0, or 2 for a bad config or option.\n",
     range_opts, 0, 0},
    {"run", "vigil compute run [--from D] [--to D] [--select S] [--quiet] [--notify]",
     "Runs every cell that is not up to date over the worker slots, recording each attempt\n"
     "in the ledger (STATE_DIR/compute/ledger.db). Crashes are retried with backoff; exit 65\n"
     "is a data error and is not retried; cells past their retries are dead (see `vigil\n"
     "compute dead`).\n\n"
     "  --from DATE       first date (default: the calendar start)\n"
     "  --to DATE         last date (default: calendar end, else yesterday UTC)\n"
     "  --select SPEC     calculations: tag:T, NAME, +NAME, NAME+ (see plan --help)\n"
     "  --quiet           no line per cell\n"
     "  --notify          POST the summary to compute.on_complete when done (vigil up's\n"
     "                    schedule uses it)\n"
     "\nexit status: 0 all done, 1 some cell dead, a breaker tripped, or the run was stopped\n"
     "or could not start, 2 bad config or option.\n",
     run_opts, 0, 0},
    {"dead", "vigil compute dead [--retry] [--json] [CALC | CALC@DATE]",
     "Lists the dead-letter cells (their reason and last log). With --retry they leave the\n"
     "list and the next run tries them again.\n\n"
     "  --retry           requeue the listed cells\n  --json            machine-readable output\n",
     dead_opts, 0, 1},
    {"report", "vigil compute report [--days N] [--json]",
     "The build report of the last run: per date, which calculations ran, re-ran, were\n"
     "stable (re-ran with the same result), dead, blocked or impossible, and how many were\n"
     "up to date.\n\n  --days N          the last N dates of the run's range (default 90)\n"
     "  --json            machine-readable output\n",
     report_opts, 0, 0},
    {"history", "vigil compute history [--json] CALC",
     "Every recorded attempt of one calculation, newest first: date, attempt, status, slot,\n"
     "duration, peak RSS, exit status, log.\n\n  --json            machine-readable output\n",
     json_opts, 1, 1},
};

static int run_sub(struct cli *cli, const struct sub *sb, int argc, char **argv) {
  struct opts o = {.days = 90};
  int ix = cli_parse(cli, argc, argv, sb->usage, sb->help, NULL, sb->opts, on_opt, &o);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  int nargs = argc - ix;
  if (nargs < sb->min_args || nargs > sb->max_args) {
    fprintf(stderr, "vigil compute %s: wrong number of arguments\nusage: %s\n", sb->name, sb->usage);
    return EXIT_USAGE;
  }
  struct vg_config *cfg = cli_load_config(cli);
  if (!cfg) return EXIT_USAGE;
  char err[512] = "";
  int rc = EXIT_OK;
  struct cp_engine *e = cp_open(cfg, err, sizeof err);
  if (!e) {
    fprintf(stderr, "vigil compute %s: %s\n", sb->name, err);
    rc = cfg->compute ? EXIT_FAIL : EXIT_USAGE;
    cfg_free(cfg);
    return rc;
  }
  struct cli_store_session *store_inputs = cli_store_session_new(cli, cfg);
  cp_set_store_input(e, cli_store_input, store_inputs);
  if (cp_configure(e, &o.cp, err, sizeof err) < 0) {
    fprintf(stderr, "vigil compute %s: %s\n", sb->name, err);
    cp_close(e);
    cli_store_session_free(store_inputs);
    cfg_free(cfg);
    return EXIT_USAGE;
  }
  struct vg_buf out;
  vg_buf_init(&out);
  int r = 0;
  if (strcmp(sb->name, "plan") == 0) {
    r = cp_plan(e, o.cp.json, &out, NULL);
  } else if (strcmp(sb->name, "run") == 0) {
    struct cp_run_stats st = {0};
    r = cp_run(e, &o.cp, &st, &out, err, sizeof err);
    if (r > 0) rc = EXIT_FAIL, r = 0;
    char nerr[512];
    if (r == 0 && o.notify && cp_notify(e, &st, rc, nerr, sizeof nerr) < 0)
      VG_WARN("compute: on_complete webhook failed", VF_S("error", nerr));
  } else if (strcmp(sb->name, "dead") == 0) {
    r = cp_dead(e, o.cp.json, o.retry, nargs ? argv[ix] : NULL, &out);
    if (r < 0) snprintf(err, sizeof err, "bad cell '%s': expected CALC or CALC@YYYY-MM-DD", argv[ix]);
  } else if (strcmp(sb->name, "report") == 0) {
    r = cp_report(e, o.days, o.cp.json, &out);
  } else {
    r = cp_history(e, argv[ix], o.cp.json, &out);
    if (r < 0) snprintf(err, sizeof err, "unknown calculation '%s'", argv[ix]);
  }
  fwrite(out.data ? out.data : "", 1, out.len, stdout);
  fflush(stdout);
  if (r < 0) {
    fprintf(stderr, "vigil compute %s: %s\n", sb->name, err[0] ? err : "ledger error");
    rc = EXIT_FAIL;
  }
  vg_buf_free(&out);
  cp_close(e);
  cli_store_session_free(store_inputs);
  cfg_free(cfg);
  return rc;
}

int cmd_compute(struct cli *cli, int argc, char **argv) {
  static const char usage[] = "vigil compute plan|run|dead|report|history [options]";
  static const char help[] =
      "The compute engine: daily calculations over a DAG, with a ledger that skips what is\n"
      "up to date (docs/compute.md).\n\n"
      "  plan      what would run for each (calculation, date), and why\n"
      "  run       run what is not up to date\n"
      "  dead      the dead-letter list; --retry requeues\n"
      "  report    the last run's build report per date\n"
      "  history   the attempts of one calculation\n"
      "\n`vigil compute SUB --help` for each.\n";
  int ix = cli_parse(cli, argc, argv, usage, help, "+", NULL, NULL, NULL);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  if (ix >= argc) {
    fprintf(stderr, "vigil compute: expected plan, run, dead, report or history\nusage: %s\n", usage);
    return EXIT_USAGE;
  }
  for (size_t i = 0; i < VG_ARRAY_LEN(subs); i++)
    if (strcmp(argv[ix], subs[i].name) == 0) return run_sub(cli, &subs[i], argc - ix, argv + ix);
  fprintf(stderr, "vigil compute: unknown sub-command '%s'\nusage: %s\n", argv[ix], usage);
  return EXIT_USAGE;
}
