/* vigil export: writes the Grafana dashboard, Prometheus rules and scrape job for vigil. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core.h"
#include "export/export.h"
#include "metrics/metrics.h"

enum {
  OPT_UID = 1100,
  OPT_URL,
  OPT_TARGET,
  OPT_LIST_EXPRS,
  OPT_LIST_METRICS,
};

struct export_opts {
  const char *verb; /* "export grafana", for messages */
  const char *out;
  const char *datasource_uid;
  const char *prometheus_url;
  const char *target;
  bool list_exprs, list_metrics;
};

static int export_opt(int c, const char *value, void *arg) {
  struct export_opts *o = arg;
  switch (c) {
  case 'o': o->out = value; break;
  case OPT_LIST_EXPRS: o->list_exprs = true; break;
  case OPT_LIST_METRICS: o->list_metrics = true; break;
  case OPT_UID:
    if (!ex_uid_valid(value)) {
      fprintf(stderr, "vigil %s: --datasource-uid must be 1 to 40 letters, digits, '-' or '_', not '%s'\n",
              o->verb, value);
      return -1;
    }
    o->datasource_uid = value;
    break;
  case OPT_URL:
    if (!ex_url_valid(value)) {
      fprintf(stderr, "vigil %s: --prometheus-url must be an http:// or https:// URL, not '%s'\n",
              o->verb, value);
      return -1;
    }
    o->prometheus_url = value;
    break;
  case OPT_TARGET:
    if (!ex_target_valid(value)) {
      fprintf(stderr, "vigil %s: --target must be HOST:PORT, not '%s'\n", o->verb, value);
      return -1;
    }
    o->target = value;
    break;
  default: return -1;
  }
  return 0;
}

/* Parses a sub-verb's options; -1 usage error, -2 help shown, else 0. */
static int parse_sub(struct cli *cli, int argc, char **argv, const char *usage, const char *help,
                     const struct option *longopts, struct export_opts *o) {
  o->verb = argv[0];
  int ix = cli_parse(cli, argc, argv, usage, help, "o:", longopts, export_opt, o);
  if (ix < 0) return ix;
  if (ix < argc) {
    fprintf(stderr, "vigil %s: unexpected argument '%s'\nusage: %s\n", o->verb, argv[ix], usage);
    return -1;
  }
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints exprs one a line, then (or instead) the metric names they use, sorted. */
static void list_exprs(char **exprs, bool show_exprs, bool show_metrics) {
  char **names = NULL;
  for (size_t i = 0; exprs[i]; i++) {
    if (show_exprs) printf("%s\n", exprs[i]);
    int rc = ex_promql_metrics(exprs[i], &names);
    VG_ASSERT(rc == 0); /* our own expressions are well formed */
  }
  if (show_metrics && names) {
    qsort(names, vg_strv_len(names), sizeof *names, by_name);
    for (size_t i = 0; names[i]; i++) printf("%s\n", names[i]);
  }
  vg_strv_free(names);
}

/* The exports are held to the metric families every module registers: an expression
 * naming anything else is a bug of this vigil, refused rather than written. */
static bool exprs_known(const char *verb, char **(*exprs_fn)(void), bool synthetic_ok) {
  struct mt_registry *families = ex_metric_families();
  char **exprs = exprs_fn();
  char err[512];
  int rc = ex_check_exprs(families, exprs, synthetic_ok, err, sizeof err);
  if (rc < 0) fprintf(stderr, "vigil %s: internal error: %s\n", verb, err);
  vg_strv_free(exprs);
  mt_registry_free(families);
  return rc == 0;
}

static int export_grafana(struct cli *cli, int argc, char **argv) {
  static const char usage[] =
      "vigil export grafana --out DIR [--datasource-uid UID] [--prometheus-url URL]";
  static const char help[] =
      "Writes a Grafana dashboard for vigil and the files that provision it:\n"
      "  DIR/dashboards/vigil-system-health.json\n"
      "  DIR/provisioning/datasources/vigil.yaml   a Prometheus datasource of uid UID\n"
      "  DIR/provisioning/dashboards/vigil.yaml    a provider reading DIR/dashboards\n"
      "Every panel names its datasource by UID, so the dashboard imports as it is.\n"
      "\n  -o, --out DIR             where to write (created if missing)\n"
      "      --datasource-uid UID  the Prometheus datasource's uid (default " EX_DATASOURCE_UID ")\n"
      "      --prometheus-url URL  the datasource's URL (default " EX_PROMETHEUS_URL ")\n"
      "      --list-exprs          print the dashboard's PromQL expressions instead\n"
      "      --list-metrics        print the metric names they use instead\n"
      "\nexit status: 0 written, 1 cannot write, 2 usage error. See docs/observability.md.\n";
  static const struct option longopts[] = {
      {"out", required_argument, NULL, 'o'},
      {"datasource-uid", required_argument, NULL, OPT_UID},
      {"prometheus-url", required_argument, NULL, OPT_URL},
      {"list-exprs", no_argument, NULL, OPT_LIST_EXPRS},
      {"list-metrics", no_argument, NULL, OPT_LIST_METRICS},
      {0}};
  struct export_opts o = {0};
  int rc = parse_sub(cli, argc, argv, usage, help, longopts, &o);
  if (rc < 0) return rc == -2 ? EXIT_OK : EXIT_USAGE;
  if (o.list_exprs || o.list_metrics) {
    char **exprs = ex_grafana_exprs();
    list_exprs(exprs, o.list_exprs, o.list_metrics);
    vg_strv_free(exprs);
    return EXIT_OK;
  }
  if (!o.out) {
    fprintf(stderr, "vigil %s: where to? (--out DIR)\nusage: %s\n", o.verb, usage);
    return EXIT_USAGE;
  }
  if (!exprs_known(o.verb, ex_grafana_exprs, false)) return EXIT_FAIL;
  struct ex_grafana_opts go = {.datasource_uid = o.datasource_uid,
                               .prometheus_url = o.prometheus_url};
  char err[512];
  if (ex_grafana_write(o.out, &go, err, sizeof err) < 0) {
    fprintf(stderr, "vigil %s: %s\n", o.verb, err);
    return EXIT_FAIL;
  }
  printf("%s/dashboards/" EX_DASHBOARD_UID ".json\n"
         "%s/provisioning/datasources/vigil.yaml\n"
         "%s/provisioning/dashboards/vigil.yaml\n",
         o.out, o.out, o.out);
  return EXIT_OK;
}

static int export_rules(struct cli *cli, int argc, char **argv) {
  static const char usage[] = "vigil export prometheus-rules [--out FILE]";
  static const char help[] =
      "Writes Prometheus alerting rules for vigil (group \"vigil\"): the daemon and its\n"
      "services (VigilAbsent, VigilServiceDown, ...), its feeds (VigilFeedSilent, ...), the\n"
      "store, the InfluxDB sink and compute runs; docs/observability.md lists them all.\n"
      "Load the file with rule_files: in prometheus.yml.\n"
      "\n  -o, --out FILE    write to FILE (replaced atomically) instead of stdout\n"
      "      --list-exprs    print the rules' PromQL expressions instead\n"
      "      --list-metrics  print the metric names they use instead\n"
      "\nexit status: 0 written, 1 cannot write, 2 usage error. See docs/observability.md.\n";
  static const struct option longopts[] = {
      {"out", required_argument, NULL, 'o'},
      {"list-exprs", no_argument, NULL, OPT_LIST_EXPRS},
      {"list-metrics", no_argument, NULL, OPT_LIST_METRICS},
      {0}};
  struct export_opts o = {0};
  int rc = parse_sub(cli, argc, argv, usage, help, longopts, &o);
  if (rc < 0) return rc == -2 ? EXIT_OK : EXIT_USAGE;
  if (o.list_exprs || o.list_metrics) {
    char **exprs = ex_rules_exprs();
    list_exprs(exprs, o.list_exprs, o.list_metrics);
    vg_strv_free(exprs);
    return EXIT_OK;
  }
  if (!exprs_known(o.verb, ex_rules_exprs, true)) return EXIT_FAIL;
  char *text = ex_rules_yaml();
  rc = EXIT_OK;
  if (!o.out) {
    fputs(text, stdout);
  } else if ((rc = ex_write_file(o.out, text, strlen(text))) < 0) {
    fprintf(stderr, "vigil %s: cannot write %s: %s\n", o.verb, o.out, strerror(-rc));
    rc = EXIT_FAIL;
  }
  free(text);
  return rc;
}

static int export_scrape(struct cli *cli, int argc, char **argv) {
  static const char usage[] = "vigil export prometheus-scrape [-c FILE] [--target HOST:PORT]";
  static const char help[] =
      "Prints the Prometheus scrape job for vigil's /metrics (job_name: " EX_JOB ", every 15s),\n"
      "a list item to paste under scrape_configs: in prometheus.yml. The target is the\n"
      "config's http.listen (default " EX_LISTEN ").\n"
      "\n      --target HOST:PORT  scrape this address instead (the config is not read)\n"
      "\nexit status: 0 printed, 2 usage or config error. See docs/observability.md.\n";
  static const struct option longopts[] = {{"target", required_argument, NULL, OPT_TARGET}, {0}};
  struct export_opts o = {0};
  int rc = parse_sub(cli, argc, argv, usage, help, longopts, &o);
  if (rc < 0) return rc == -2 ? EXIT_OK : EXIT_USAGE;
  const char *listen = o.target;
  struct vg_config *cfg = NULL;
  if (!listen) {
    cfg = cli_load_config(cli);
    if (!cfg) return EXIT_USAGE;
    listen = cfg->http.listen; /* the config's http.listen; NULL with `listen: off` */
    if (!listen) {
      fprintf(stderr, "vigil %s: %s: http.listen is off, so vigil serves no /metrics; "
                      "use --target HOST:PORT\n", o.verb, cli->config);
      cfg_free(cfg);
      return EXIT_USAGE;
    }
    if (!ex_target_valid(listen)) {
      fprintf(stderr, "vigil %s: %s: http.listen '%s' is not HOST:PORT; use --target\n", o.verb,
              cli->config, listen);
      cfg_free(cfg);
      return EXIT_USAGE;
    }
  }
  char *text = ex_scrape_yaml(listen);
  fputs(text, stdout);
  free(text);
  if (cfg) cfg_free(cfg);
  return EXIT_OK;
}

static int export_metrics(struct cli *cli, int argc, char **argv) {
  static const char usage[] = "vigil export metrics";
  static const char help[] =
      "Prints every metric family vigil can expose on /metrics, one a line in name order:\n"
      "NAME, TYPE (counter, gauge, histogram), LABELS (comma-separated) and HELP, separated\n"
      "by tabs. It is the list the dashboard and the rules are checked against, read from\n"
      "the registry where each module defines its metrics; a family shows on /metrics once\n"
      "its module runs (the store, feeds, the InfluxDB sink, compute). See docs/metrics.md.\n"
      "\nexit status: 0 printed, 2 usage error.\n";
  static const struct option longopts[] = {{0}};
  struct export_opts o = {0};
  int rc = parse_sub(cli, argc, argv, usage, help, longopts, &o);
  if (rc < 0) return rc == -2 ? EXIT_OK : EXIT_USAGE;
  if (o.out) {
    fprintf(stderr, "vigil %s: prints to stdout, takes no --out\nusage: %s\n", o.verb, usage);
    return EXIT_USAGE;
  }
  struct mt_registry *families = ex_metric_families();
  char *text = ex_metric_list(families);
  fputs(text, stdout);
  free(text);
  mt_registry_free(families);
  return EXIT_OK;
}

static const struct sub {
  const char *name;
  int (*fn)(struct cli *, int, char **);
  const char *summary;
} subs[] = {
    {"grafana", export_grafana, "a Grafana dashboard and its provisioning files"},
    {"prometheus-rules", export_rules, "Prometheus alerting rules"},
    {"prometheus-scrape", export_scrape, "the Prometheus scrape job for vigil's /metrics"},
    {"metrics", export_metrics, "the list of every metric family vigil can expose"},
};

int cmd_export(struct cli *cli, int argc, char **argv) {
  static const char usage[] =
      "vigil export grafana|prometheus-rules|prometheus-scrape|metrics [options]";
  struct vg_buf help;
  vg_buf_init(&help);
  vg_buf_puts(&help, "Writes the configuration that wires vigil into Prometheus and Grafana.\n\n");
  for (size_t i = 0; i < VG_ARRAY_LEN(subs); i++)
    vg_buf_printf(&help, "  %-18s %s\n", subs[i].name, subs[i].summary);
  vg_buf_puts(&help, "\n`vigil export NAME --help` for each one's options. See docs/observability.md.\n"
                     "\nexit status: 0 ok, 1 cannot write, 2 usage or config error.\n");
  int ix = cli_parse(cli, argc, argv, usage, help.data, "+", NULL, NULL, NULL);
  vg_buf_free(&help);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  if (ix == argc) {
    fprintf(stderr, "vigil export: what to export?\nusage: %s\n", usage);
    return EXIT_USAGE;
  }
  const struct sub *sub = NULL;
  for (size_t i = 0; i < VG_ARRAY_LEN(subs); i++)
    if (strcmp(argv[ix], subs[i].name) == 0) sub = &subs[i];
  if (!sub) {
    fprintf(stderr, "vigil export: unknown export '%s'", argv[ix]);
    for (size_t i = 0; i < VG_ARRAY_LEN(subs); i++) {
      if (vg_edit_distance(argv[ix], subs[i].name, 3) <= 3) {
        fprintf(stderr, "; did you mean '%s'?", subs[i].name);
        break;
      }
    }
    fprintf(stderr, "\nusage: %s\n", usage);
    return EXIT_USAGE;
  }
  /* the sub-verb parses what follows it, named "export NAME" in its messages */
  int n = argc - ix;
  char **args = vg_calloc((size_t)n + 1, sizeof *args);
  args[0] = vg_asprintf("export %s", sub->name);
  for (int i = 1; i < n; i++) args[i] = argv[ix + i];
  int rc = sub->fn(cli, n, args);
  free(args[0]);
  free(args);
  return rc;
}
