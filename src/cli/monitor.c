/*
 * The monitor in the CLI (docs/monitor.md): `vigil health` and `vigil alerts`, which
 * read the running daemon's /api/v1/health and /api/v1/alerts, and the daemon's side:
 * cli_monitor_open builds the monitor of the config's `monitor:` section over the
 * cache, the feeds and the store.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core.h"
#include "monitor/monitor.h"

int cli_monitor_open(uv_loop_t *loop, struct sv_supervisor *sv, const struct vg_config *cfg,
                     struct cache *cache, struct cli_feeds *feeds, struct tsdb *store,
                     struct mt_registry *reg, struct mon **out, char *err, size_t errlen) {
  *out = NULL;
  if (!cfg->monitor) return 0;
  struct ingest_feed **fv = NULL;
  size_t nf = cli_feeds_list(feeds, &fv);
  struct mon_deps deps = {.loop = loop, .sv = sv, .metrics = reg, .state_dir = cfg->state_dir};
  mon_source_cache(&deps.src, cache, fv, nf, store);
  if (mon_open(cfg->monitor, &deps, out, err, errlen) < 0) {
    deps.src.free_arg(deps.src.arg);
    return -1;
  }
  return 0;
}

void *cli_monitor_alerts(void *arg) {
  struct vg_buf b;
  vg_buf_init(&b);
  mon_alerts_json(arg, false, -1, &b);
  json_error_t je;
  json_t *j = b.data ? json_loads(b.data, 0, &je) : NULL;
  vg_buf_free(&b);
  return j;
}

static int fail_reply(const char *verb, const struct cli_reply *r) {
  json_error_t je;
  json_t *j = json_loads(r->body ? r->body : "", 0, &je);
  const char *msg = j ? json_string_value(json_object_get(j, "error")) : NULL;
  fprintf(stderr, "vigil %s: %s\n", verb, msg ? msg : (r->body ? r->body : "failed"));
  json_decref(j);
  return EXIT_FAIL;
}

/* ---- vigil health ---- */

static const char health_usage[] = "vigil health [--json] [--now]";
static const char health_help[] =
    "Whether the latest values can be trusted: the monitor's status (healthy, degraded or\n"
    "critical) with every reason, the counts of expected, present, missing and stale keys,\n"
    "and the restarts of producers of stale data. --now evaluates the checks first instead\n"
    "of showing the last evaluation; --json prints the API's document (/api/v1/health).\n"
    "\nexit status: 0 when healthy, 1 when degraded or critical or when the daemon cannot\n"
    "be reached (404 without a monitor section), 2 on a usage error.\n";

enum { O_JSON = 256, O_NOW, O_SEVERITY, O_ALL };

struct hopts {
  bool json, now, all;
  const char *severity;
};

static int h_opt(int c, const char *v, void *arg) {
  struct hopts *o = arg;
  if (c == O_JSON) o->json = true;
  else if (c == O_NOW) o->now = true;
  else if (c == O_ALL) o->all = true;
  else if (c == O_SEVERITY) o->severity = v;
  else return -1;
  return 0;
}

static void print_reasons(json_t *reasons, const char *indent) {
  size_t i;
  json_t *r;
  json_array_foreach(reasons, i, r) {
    printf("%s%-8s %-16s %s\n", indent, json_string_value(json_object_get(r, "severity")),
           json_string_value(json_object_get(r, "category")),
           json_string_value(json_object_get(r, "message")));
  }
}

int cmd_health(struct cli *cli, int argc, char **argv) {
  static const struct option opts[] = {{"json", no_argument, NULL, O_JSON},
                                       {"now", no_argument, NULL, O_NOW},
                                       {0}};
  struct hopts o = {0};
  int ix = cli_parse(cli, argc, argv, health_usage, health_help, NULL, opts, h_opt, &o);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  if (ix < argc) {
    fprintf(stderr, "vigil health: unexpected argument '%s'\nusage: %s\n", argv[ix], health_usage);
    return EXIT_USAGE;
  }
  struct cli_reply r;
  if (cli_request(cli, "GET", o.now ? "/api/v1/health?evaluate=1" : "/api/v1/health", -1, &r) < 0)
    return EXIT_FAIL;
  if (r.status != 200) {
    int code = fail_reply("health", &r);
    cli_reply_free(&r);
    return code;
  }
  json_error_t je;
  json_t *j = json_loads(r.body, 0, &je);
  if (o.json) fwrite(r.body, 1, r.len, stdout);
  cli_reply_free(&r);
  if (!j) {
    fprintf(stderr, "vigil health: the daemon's answer is not JSON: %s\n", je.text);
    return EXIT_FAIL;
  }
  const char *status = json_string_value(json_object_get(j, "status"));
  int code = status && strcmp(status, "healthy") == 0 ? EXIT_OK : EXIT_FAIL;
  if (!o.json) {
    json_t *c = json_object_get(j, "counts"), *at = json_object_get(j, "evaluated_at");
    printf("%s (evaluated %s)\n", status ? status : "?", json_is_string(at) ? json_string_value(at) : "never");
    printf("keys: %lld of %lld expected present, %lld missing (%lld critical), %lld stale; %lld "
           "alerts firing\n",
           (long long)json_integer_value(json_object_get(c, "present")),
           (long long)json_integer_value(json_object_get(c, "expected")),
           (long long)json_integer_value(json_object_get(c, "missing")),
           (long long)json_integer_value(json_object_get(c, "missing_critical")),
           (long long)json_integer_value(json_object_get(c, "stale")),
           (long long)json_integer_value(json_object_get(c, "firing")));
    size_t i;
    json_t *rs;
    json_array_foreach(json_object_get(j, "restarts"), i, rs) {
      printf("restarts of %s (check %s): %lld of %lld%s\n",
             json_string_value(json_object_get(rs, "service")),
             json_string_value(json_object_get(rs, "check")),
             (long long)json_integer_value(json_object_get(rs, "restarts")),
             (long long)json_integer_value(json_object_get(rs, "max_restarts")),
             json_is_true(json_object_get(rs, "gave_up")) ? ", gave up" : "");
    }
    json_t *reasons = json_object_get(j, "reasons");
    if (json_array_size(reasons)) {
      printf("reasons:\n");
      print_reasons(reasons, "  ");
    }
  }
  json_decref(j);
  return code;
}

/* ---- vigil alerts ---- */

static const char alerts_usage[] = "vigil alerts [--json] [--severity info|warning|critical] [--all]";
static const char alerts_help[] =
    "The monitor's alerts: those firing now, or with --all the resolved ones of the bounded\n"
    "history too (it survives a restart of vigil), newest first. --severity keeps one\n"
    "severity; --json prints the API's document (/api/v1/alerts).\n"
    "\nexit status: 0, 1 when the daemon cannot be reached, 2 on a usage error.\n";

int cmd_alerts(struct cli *cli, int argc, char **argv) {
  static const struct option opts[] = {{"json", no_argument, NULL, O_JSON},
                                       {"severity", required_argument, NULL, O_SEVERITY},
                                       {"all", no_argument, NULL, O_ALL},
                                       {0}};
  struct hopts o = {0};
  int ix = cli_parse(cli, argc, argv, alerts_usage, alerts_help, NULL, opts, h_opt, &o);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  if (ix < argc) {
    fprintf(stderr, "vigil alerts: unexpected argument '%s'\nusage: %s\n", argv[ix], alerts_usage);
    return EXIT_USAGE;
  }
  if (o.severity && mon_severity_parse(o.severity) < 0) {
    fprintf(stderr, "vigil alerts: bad severity '%s': expected info, warning or critical\n", o.severity);
    return EXIT_USAGE;
  }
  struct vg_buf path;
  vg_buf_init(&path);
  vg_buf_puts(&path, "/api/v1/alerts");
  if (o.all) cli_url_param(&path, "all", "1");
  if (o.severity) cli_url_param(&path, "severity", o.severity);
  struct cli_reply r;
  int rc = cli_request(cli, "GET", path.data, -1, &r);
  vg_buf_free(&path);
  if (rc < 0) return EXIT_FAIL;
  if (r.status != 200) {
    int code = fail_reply("alerts", &r);
    cli_reply_free(&r);
    return code;
  }
  if (o.json) {
    fwrite(r.body, 1, r.len, stdout);
    cli_reply_free(&r);
    return EXIT_OK;
  }
  json_error_t je;
  json_t *j = json_loads(r.body, 0, &je);
  cli_reply_free(&r);
  json_t *alerts = json_object_get(j, "alerts");
  if (!json_array_size(alerts)) printf("no %salerts\n", o.all ? "" : "firing ");
  else
    printf("%-8s  %-8s  %-24s  %-16s  %-24s  %s\n", "STATE", "SEVERITY", "STARTED", "CHECK", "KEY",
           "MESSAGE");
  size_t i;
  json_t *a;
  json_array_foreach(alerts, i, a) {
    printf("%-8s  %-8s  %-24s  %-16s  %-24s  %s\n", json_string_value(json_object_get(a, "state")),
           json_string_value(json_object_get(a, "severity")),
           json_string_value(json_object_get(a, "started_at")),
           json_string_value(json_object_get(a, "check")), json_string_value(json_object_get(a, "key")),
           json_string_value(json_object_get(a, "message")));
  }
  json_decref(j);
  return EXIT_OK;
}
