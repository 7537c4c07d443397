/* vigil failover status|switchover: thin clients of /api/v1/failover (docs/failover.md). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core.h"

enum { F_JSON = 2000, F_TO }; /* above the common options' values (1000...) */

struct fopts {
  bool json;
  const char *to;
};

static int on_opt(int c, const char *v, void *arg) {
  struct fopts *o = arg;
  if (c == F_JSON) o->json = true;
  else if (c == F_TO) o->to = v;
  else return -1;
  return 0;
}

static int fail(const char *verb, const struct cli_reply *r) {
  json_error_t je;
  json_t *j = json_loads(r->body ? r->body : "", 0, &je);
  const char *msg = j ? json_string_value(json_object_get(j, "error")) : NULL;
  fprintf(stderr, "vigil failover %s: %s\n", verb, msg ? msg : (r->body ? r->body : "failed"));
  json_decref(j);
  return EXIT_FAIL;
}

static int status(struct cli *cli, int argc, char **argv) {
  static const char usage[] = "vigil failover status [--json]";
  static const char help[] =
      "This node's failover role (active, standby or none), the lease holder, the fencing\n"
      "token, when the lease expires and the last transition with its duration.\n"
      "  --json   the JSON of GET /api/v1/failover\n"
      "\nexit status: 0 ok, 1 no daemon or no failover section, 2 usage.\n";
  static const struct option longopts[] = {{"json", no_argument, NULL, F_JSON}, {0}};
  struct fopts o = {0};
  int ix = cli_parse(cli, argc, argv, usage, help, NULL, longopts, on_opt, &o);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  if (ix < argc) {
    fprintf(stderr, "vigil failover status: unexpected argument '%s'\nusage: %s\n", argv[ix], usage);
    return EXIT_USAGE;
  }
  struct cli_reply r;
  if (cli_request(cli, "GET", "/api/v1/failover", -1, &r) < 0) return EXIT_FAIL;
  int rc = EXIT_OK;
  if (r.status != 200) {
    rc = fail("status", &r);
  } else if (o.json) {
    fputs(r.body, stdout);
  } else {
    json_error_t je;
    json_t *j = json_loads(r.body, 0, &je);
    json_t *lease = json_object_get(j, "lease"), *last = json_object_get(j, "last_transition");
    json_t *holder = json_object_get(j, "holder"), *exp = json_object_get(lease, "expires_in_ms");
    json_t *err = json_object_get(lease, "error");
    printf("node     %s\nrole     %s (%s)\n", json_string_value(json_object_get(j, "node")),
           json_string_value(json_object_get(j, "role")), json_string_value(json_object_get(j, "state")));
    printf("holder   %s\ntoken    %lld\n", json_is_string(holder) ? json_string_value(holder) : "-",
           (long long)json_integer_value(json_object_get(j, "token")));
    printf("lease    %s %s, ttl %lldms, ", json_string_value(json_object_get(lease, "backend")),
           json_string_value(json_object_get(lease, "key")),
           (long long)json_integer_value(json_object_get(lease, "ttl_ms")));
    if (json_is_integer(exp)) printf("expires in %lldms\n", (long long)json_integer_value(exp));
    else printf("free\n");
    if (json_is_string(err)) printf("error    %s\n", json_string_value(err));
    if (json_is_object(last))
      printf("last     %s -> %s at %s in %lldms (%s)\n", json_string_value(json_object_get(last, "from")),
             json_string_value(json_object_get(last, "to")), json_string_value(json_object_get(last, "at")),
             (long long)json_integer_value(json_object_get(last, "duration_ms")),
             json_string_value(json_object_get(last, "reason")));
    json_decref(j);
  }
  cli_reply_free(&r);
  return rc;
}

static int switchover(struct cli *cli, int argc, char **argv) {
  static const char usage[] = "vigil failover switchover [--to NODE]";
  static const char help[] =
      "A graceful handover, run on the active node: it stops its active services, runs its\n"
      "demote actions and releases the lease for NODE (without --to: any other node), which\n"
      "takes it at its next round. The gap is the stop and start times plus one renew.\n"
      "  --to NODE   the node to hand over to\n"
      "\nexit status: 0 handover begun, 1 no daemon or this node is not active, 2 usage.\n";
  static const struct option longopts[] = {{"to", required_argument, NULL, F_TO}, {0}};
  struct fopts o = {0};
  int ix = cli_parse(cli, argc, argv, usage, help, NULL, longopts, on_opt, &o);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  if (ix < argc) {
    fprintf(stderr, "vigil failover switchover: unexpected argument '%s'\nusage: %s\n", argv[ix], usage);
    return EXIT_USAGE;
  }
  struct vg_buf body;
  vg_buf_init(&body);
  if (o.to) {
    vg_buf_puts(&body, "{\"to\": ");
    vg_buf_json_str(&body, o.to);
    vg_buf_puts(&body, "}");
  }
  struct cli_reply r;
  int rc = cli_request_ex(cli, "POST", "/api/v1/failover/switchover", body.data ? body.data : "",
                          body.len, -1, false, &r);
  vg_buf_free(&body);
  if (rc < 0) return EXIT_FAIL;
  if (r.status == 202) {
    printf("switchover begun: handing over to %s\n", o.to ? o.to : "any other node");
    rc = EXIT_OK;
  } else {
    rc = fail("switchover", &r);
  }
  cli_reply_free(&r);
  return rc;
}

int cmd_failover(struct cli *cli, int argc, char **argv) {
  static const char usage[] = "vigil failover status|switchover [options]";
  static const char help[] =
      "Active/standby across hosts on a fenced lease (docs/failover.md).\n\n"
      "  status       this node's role, the lease holder, the token, the last transition\n"
      "  switchover   hand the active role over gracefully (run on the active node)\n"
      "\n`vigil failover SUB --help` for each.\n";
  int ix = cli_parse(cli, argc, argv, usage, help, "+", NULL, NULL, NULL);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  if (ix >= argc) {
    fprintf(stderr, "vigil failover: expected status or switchover\nusage: %s\n", usage);
    return EXIT_USAGE;
  }
  /* the sub-verb's messages say "vigil failover SUB: ..." */
  static char st_name[] = "failover status", sw_name[] = "failover switchover";
  if (strcmp(argv[ix], "status") == 0) {
    argv[ix] = st_name;
    return status(cli, argc - ix, argv + ix);
  }
  if (strcmp(argv[ix], "switchover") == 0) {
    argv[ix] = sw_name;
    return switchover(cli, argc - ix, argv + ix);
  }
  fprintf(stderr, "vigil failover: unknown sub-command '%s'\nusage: %s\n", argv[ix], usage);
  return EXIT_USAGE;
}
