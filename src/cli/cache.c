/*
 * vigil cache — the latest-value cache of the running daemon (docs/cache.md):
 *   get KEY|GLOB…   the latest value of each key (an alias or a glob matches many)
 *   doc NAME        one document's JSON
 *   docs            the documents' names
 *   stats           keys, updates and the Redis mirror
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core.h"

static const char cache_usage[] =
    "vigil cache get KEY|GLOB... [--json] [--limit N] | doc NAME | docs | stats [--json]";
static const char cache_help[] =
    "Reads the latest-value cache of the running daemon: the last value of every key\n"
    "(measurement[,tag=value...].field), when it was taken and where it came from.\n"
    "\n"
    "  get KEY|GLOB...  the entries of each key, alias or glob ('exf.*'), as a table;\n"
    "                   --json prints the API's objects; --limit N per glob (default 1000)\n"
    "  doc NAME         a document (cache.documents, or one a bridge publishes) as JSON\n"
    "  docs             the documents' names\n"
    "  stats            keys, updates, and the Redis mirror's state\n"
    "\nexit status: 0 when every key asked for was found, 1 otherwise or when the daemon\n"
    "cannot be reached, 2 on a usage error.\n";

enum { O_JSON = 256, O_LIMIT };
static const struct option cache_opts[] = {{"json", no_argument, NULL, O_JSON},
                                           {"limit", required_argument, NULL, O_LIMIT},
                                           {0}};

struct copts {
  bool json;
  const char *limit;
};

static int cache_opt(int c, const char *v, void *arg) {
  struct copts *o = arg;
  if (c == O_JSON) o->json = true;
  else if (c == O_LIMIT) o->limit = v;
  else return -1;
  return 0;
}

static int fail_reply(const char *what, const struct cli_reply *r) {
  json_error_t je;
  json_t *j = json_loads(r->body ? r->body : "", 0, &je);
  const char *msg = j ? json_string_value(json_object_get(j, "error")) : NULL;
  fprintf(stderr, "vigil cache %s: %s\n", what, msg ? msg : (r->body ? r->body : "failed"));
  json_decref(j);
  return EXIT_FAIL;
}

static void print_value(json_t *v, char *buf, size_t len) {
  if (json_is_string(v)) snprintf(buf, len, "%s", json_string_value(v));
  else if (json_is_integer(v)) snprintf(buf, len, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v)) snprintf(buf, len, "%.17g", json_real_value(v));
  else if (json_is_boolean(v)) snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
  else snprintf(buf, len, "-");
}

static int get(struct cli *cli, char **keys, int n, const struct copts *o) {
  int code = EXIT_OK;
  bool header = false;
  json_t *all = json_array();
  for (int i = 0; i < n; i++) {
    struct vg_buf path;
    vg_buf_init(&path);
    vg_buf_puts(&path, "/api/v1/cache");
    cli_url_param(&path, "match", keys[i]);
    cli_url_param(&path, "limit", o->limit);
    struct cli_reply r;
    int rc = cli_request(cli, "GET", path.data, -1, &r);
    vg_buf_free(&path);
    if (rc < 0) {
      json_decref(all);
      return EXIT_FAIL;
    }
    if (r.status != 200) {
      code = fail_reply("get", &r);
      cli_reply_free(&r);
      continue;
    }
    json_error_t je;
    json_t *j = json_loads(r.body, 0, &je);
    cli_reply_free(&r);
    json_t *entries = json_object_get(j, "entries");
    if (json_array_size(entries) == 0) {
      fprintf(stderr, "vigil cache get: no key matches '%s'\n", keys[i]);
      code = EXIT_FAIL;
    }
    size_t k;
    json_t *e;
    json_array_foreach(entries, k, e) {
      if (o->json) {
        json_array_append(all, e);
        continue;
      }
      if (!header) {
        printf("%-40s  %20s  %9s  %-30s  %s\n", "KEY", "VALUE", "AGE", "TIME", "SOURCE");
        header = true;
      }
      char val[64];
      print_value(json_object_get(e, "value"), val, sizeof val);
      printf("%-40s  %20s  %8.1fs  %-30s  %s\n", json_string_value(json_object_get(e, "key")), val,
             json_number_value(json_object_get(e, "age_s")),
             json_string_value(json_object_get(e, "time")),
             json_string_value(json_object_get(e, "source")));
    }
    if (json_is_true(json_object_get(j, "truncated")))
      fprintf(stderr, "vigil cache get: '%s' matches more than %lld keys; --limit shows more\n",
              keys[i], (long long)json_integer_value(json_object_get(j, "count")));
    json_decref(j);
  }
  if (o->json) {
    char *s = json_dumps(all, JSON_INDENT(2));
    printf("%s\n", s);
    free(s);
  }
  json_decref(all);
  return code;
}

/* GET path and print the body as it is. */
static int print_route(struct cli *cli, const char *what, const char *path) {
  struct cli_reply r;
  if (cli_request(cli, "GET", path, -1, &r) < 0) return EXIT_FAIL;
  int code = EXIT_OK;
  if (r.status != 200) code = fail_reply(what, &r);
  else fwrite(r.body, 1, r.len, stdout);
  cli_reply_free(&r);
  return code;
}

static int stats(struct cli *cli, const struct copts *o) {
  if (o->json) return print_route(cli, "stats", "/api/v1/cache/stats");
  struct cli_reply r;
  if (cli_request(cli, "GET", "/api/v1/cache/stats", -1, &r) < 0) return EXIT_FAIL;
  if (r.status != 200) {
    int code = fail_reply("stats", &r);
    cli_reply_free(&r);
    return code;
  }
  json_error_t je;
  json_t *j = json_loads(r.body, 0, &je);
  cli_reply_free(&r);
  json_t *m = json_object_get(j, "mirror");
  printf("keys: %lld\n", (long long)json_integer_value(json_object_get(j, "keys")));
  if (json_is_true(json_object_get(m, "configured"))) {
    printf("redis mirror: %s, %lld written, %lld pending, %lld coalesced, %lld errors, "
           "%lld reconnects\n",
           json_is_true(json_object_get(m, "connected")) ? "connected" : "DOWN",
           (long long)json_integer_value(json_object_get(m, "written")),
           (long long)json_integer_value(json_object_get(m, "pending")),
           (long long)json_integer_value(json_object_get(m, "coalesced")),
           (long long)json_integer_value(json_object_get(m, "errors")),
           (long long)json_integer_value(json_object_get(m, "reconnects")));
    const char *le = json_string_value(json_object_get(m, "last_error"));
    if (le && *le) printf("last error: %s\n", le);
  } else {
    printf("redis mirror: not configured (cache.redis)\n");
  }
  size_t i;
  json_t *d;
  json_array_foreach(json_object_get(j, "documents"), i, d) {
    json_t *age = json_object_get(d, "age_s");
    if (json_is_number(age))
      printf("document %s: %.1fs old\n", json_string_value(json_object_get(d, "name")),
             json_number_value(age));
    else printf("document %s: no data\n", json_string_value(json_object_get(d, "name")));
  }
  json_decref(j);
  return EXIT_OK;
}

int cmd_cache(struct cli *cli, int argc, char **argv) {
  struct copts o = {0};
  int ix = cli_parse(cli, argc, argv, cache_usage, cache_help, NULL, cache_opts, cache_opt, &o);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  if (ix >= argc) {
    fprintf(stderr, "vigil cache: which action? (get, doc, docs, stats)\nusage: %s\n",
            cache_usage);
    return EXIT_USAGE;
  }
  const char *a = argv[ix];
  int n = argc - ix - 1;
  char **ops = argv + ix + 1;
  bool ok_limit = strcmp(a, "get") == 0, ok_json = strcmp(a, "doc") != 0 && strcmp(a, "docs") != 0;
  if ((o.limit && !ok_limit) || (o.json && !ok_json)) {
    fprintf(stderr, "vigil cache %s: --%s is not an option of %s\nusage: %s\n", a,
            o.limit && !ok_limit ? "limit" : "json", a, cache_usage);
    return EXIT_USAGE;
  }
  if (o.limit) {
    char *end;
    long long x = strtoll(o.limit, &end, 10);
    if (!*o.limit || *end || x < 1 || x > 1000000) {
      fprintf(stderr, "vigil cache get: --limit takes 1 to 1000000, not '%s'\n", o.limit);
      return EXIT_USAGE;
    }
  }
  if (strcmp(a, "get") == 0) {
    if (n < 1) {
      fprintf(stderr, "vigil cache get: which keys?\nusage: %s\n", cache_usage);
      return EXIT_USAGE;
    }
    return get(cli, ops, n, &o);
  }
  int want = strcmp(a, "doc") == 0 ? 1 : 0;
  if (strcmp(a, "doc") && strcmp(a, "docs") && strcmp(a, "stats")) {
    fprintf(stderr, "vigil cache: unknown action '%s' (get, doc, docs, stats)\n", a);
    return EXIT_USAGE;
  }
  if (n != want) {
    fprintf(stderr, "vigil cache %s: %s\nusage: %s\n", a,
            n < want ? "which document?" : "unexpected argument", cache_usage);
    return EXIT_USAGE;
  }
  if (strcmp(a, "stats") == 0) return stats(cli, &o);
  if (strcmp(a, "docs") == 0) return print_route(cli, "docs", "/api/v1/cache/docs");
  if (strchr(ops[0], '/') || !ops[0][0]) {
    fprintf(stderr, "vigil cache doc: bad document name '%s'\n", ops[0]);
    return EXIT_USAGE;
  }
  char *path = vg_asprintf("/api/v1/cache/docs/%s", ops[0]);
  int code = print_route(cli, "doc", path);
  free(path);
  return code;
}
