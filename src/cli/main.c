/* vigil: the command line. Dispatches to a verb; each verb has its own --help. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core.h"

static const struct verb {
  const char *name;
  int (*fn)(struct cli *, int, char **);
  const char *summary;
} verbs[] = {
    {"up", cmd_up, "run the stack in the foreground until stopped"},
    {"check", cmd_check, "validate a config file; print every problem as file:line:col"},
    {"status", cmd_status, "show every service of the running stack"},
    {"start", cmd_service_action, "start a service (also clears a fatal state)"},
    {"stop", cmd_service_action, "stop a service and keep it down"},
    {"restart", cmd_service_action, "stop then start a service"},
    {"logs", cmd_logs, "print a service's output; -f follows it"},
    {"reload", cmd_reload, "re-read the config; restart only what changed"},
    {"down", cmd_down, "stop the whole stack and the daemon"},
    {"compute", cmd_compute, "plan and run the daily calculations; dead, report, history"},
    {"export", cmd_export, "write Grafana dashboards, Prometheus alert rules and scrape config"},
    {"query", cmd_query, "read the store: a range, bucketed aggregates, or last values"},
    {"store", cmd_store, "the store: import line protocol, stats, compact, retention"},
    {"cache", cmd_cache, "the latest value of every key, documents, the Redis mirror"},
    {"health", cmd_health, "whether the latest values can be trusted, with every reason"},
    {"alerts", cmd_alerts, "the monitor's alerts, firing and (--all) resolved"},
    {"failover", cmd_failover, "active/standby: the lease, this node's role, switchover"},
    {"validate", cmd_validate, "check every feed's rate, gaps, errors and store writes"},
    {"arrow", cmd_arrow, "print an Arrow IPC file or stream: schema, rows as text, JSON or CSV"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: vigil [-c FILE] VERB [options] [args]\n\n"
             "vigil runs, guards and stops a market-data pipeline described in one YAML file.\n\n"
             "verbs:\n");
  for (size_t i = 0; i < VG_ARRAY_LEN(verbs); i++)
    fprintf(f, "  %-8s %s\n", verbs[i].name, verbs[i].summary);
  fprintf(f, "\ncommon options (before or after the verb):\n"
             "  -c, --config FILE     the stack's config (default ./vigil.yaml)\n"
             "      --socket PATH     control socket (default STATE_DIR/vigil.sock)\n"
             "      --log-format FMT  logfmt (default) or json\n"
             "      --log-level LVL   debug, info (default), warn or error\n"
             "  -h, --help            help; `vigil VERB --help` for a verb's\n"
             "      --version         print the version\n"
             "\nexit status: 0 ok, 1 failure, 2 usage or config error.\n"
             "See docs/cli.md.\n");
}

int main(int argc, char **argv) {
  vg_malloc_tune();
  struct cli cli = {.config = "vigil.yaml"};
  const char *env_cfg = getenv("VIGIL_CONFIG");
  if (env_cfg && *env_cfg) cli.config = env_cfg;
  int i = 1;
  /* common options may come before the verb; the verb re-parses what follows it */
  while (i < argc && argv[i][0] == '-') {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return EXIT_OK;
    }
    if (strcmp(a, "--version") == 0) {
      printf("vigil %s (%s)\n", VIGIL_VERSION, vg_commit());
      return EXIT_OK;
    }
    bool takes = strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 || strcmp(a, "--socket") == 0 ||
                 strcmp(a, "--log-format") == 0 || strcmp(a, "--log-level") == 0;
    if (!takes) {
      fprintf(stderr, "vigil: unknown option '%s'\n", a);
      usage(stderr);
      return EXIT_USAGE;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "vigil: option '%s' needs a value\n", a);
      return EXIT_USAGE;
    }
    i += 2; /* the option and its value */
  }
  if (i >= argc) {
    usage(stderr);
    return EXIT_USAGE;
  }
  for (size_t v = 0; v < VG_ARRAY_LEN(verbs); v++) {
    if (strcmp(argv[i], verbs[v].name) != 0) continue;
    /* hand the verb the whole command line with its name moved to the front, so the
     * common options before it are parsed too */
    char **args = vg_calloc((size_t)argc + 1, sizeof *args);
    int k = 0;
    args[k++] = argv[i];
    for (int j = 1; j < argc; j++)
      if (j != i) args[k++] = argv[j];
    int rc = verbs[v].fn(&cli, k, args);
    free(args);
    return rc;
  }
  fprintf(stderr, "vigil: unknown verb '%s'\n", argv[i]);
  usage(stderr);
  return EXIT_USAGE;
}
