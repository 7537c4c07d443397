/*
 * vigil validate: the desk's message validator (document 003's message_validator.py)
 * built on what the daemon already counts. It samples the status document twice,
 * --for apart, and judges each feed over that window: messages arrived at the
 * expected rate, no sequence gap beyond max_gap, no decode error, and the points
 * reached the store. Exits 1 when any feed fails.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/core.h"

struct opts {
  int64_t window_ms;
  bool json;
};

static int validate_opt(int c, const char *value, void *arg) {
  struct opts *o = arg;
  if (c == 'j') o->json = true;
  if (c == 'f' && (cfg_parse_duration(value, &o->window_ms) < 0 || o->window_ms <= 0)) {
    fprintf(stderr, "vigil validate: --for needs a duration such as 10s, not '%s'\n", value);
    return -1;
  }
  return 0;
}

/* The status document, or NULL after printing why. */
static json_t *sample(struct cli *cli) {
  struct cli_reply r;
  if (cli_request(cli, "GET", "/api/v1/status", -1, &r) < 0) return NULL;
  json_error_t je;
  json_t *root = r.status == 200 ? json_loads(r.body, 0, &je) : NULL;
  if (!root) fprintf(stderr, "vigil validate: bad answer from the daemon (HTTP %d)\n", r.status);
  cli_reply_free(&r);
  return root;
}

static json_t *find_feed(json_t *feeds, const char *name) {
  for (size_t i = 0; i < json_array_size(feeds); i++) {
    json_t *f = json_array_get(feeds, i);
    if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0) return f;
  }
  return NULL;
}

static long long num(json_t *o, const char *k) { return (long long)json_integer_value(json_object_get(o, k)); }
static long long seqnum(json_t *o, const char *k) {
  json_t *s = json_object_get(o, "seq");
  return json_is_object(s) ? num(s, k) : 0;
}

int cmd_validate(struct cli *cli, int argc, char **argv) {
  static const char usage[] = "vigil validate [-c FILE] [--for DUR] [--json]";
  static const char help[] =
      "Watches every feed of the running daemon for DUR (default 10s) and checks, for\n"
      "that window: the message rate against `expect: {rate: ...}` (at least 90% of it;\n"
      "without an expectation, at least one message), the sequence gaps against\n"
      "`max_gap` (missed messages; default 0), that no message was refused (decode\n"
      "errors by reason), and that the points reached the store.\n"
      "\n  --for DUR   how long to watch (250ms, 10s, 1m)\n"
      "  --json      print the verdict as JSON\n"
      "\nexit status: 0 every feed passed, 1 a feed failed or no daemon, 2 usage.\n";
  static const struct option longopts[] = {{"for", required_argument, NULL, 'f'},
                                           {"json", no_argument, NULL, 'j'}, {0}};
  struct opts o = {.window_ms = 10000};
  int ix = cli_parse(cli, argc, argv, usage, help, NULL, longopts, validate_opt, &o);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  if (ix != argc) {
    fprintf(stderr, "vigil validate: unexpected argument '%s'\nusage: %s\n", argv[ix], usage);
    return EXIT_USAGE;
  }
  uint64_t t0 = vg_now_ms();
  json_t *a = sample(cli);
  if (!a) return EXIT_FAIL;
  struct timespec d = {(time_t)(o.window_ms / 1000), (long)(o.window_ms % 1000) * 1000000};
  nanosleep(&d, NULL);
  json_t *b = sample(cli);
  if (!b) {
    json_decref(a);
    return EXIT_FAIL;
  }
  double secs = (double)(vg_now_ms() - t0) / 1000.0;
  json_t *feeds = json_object_get(b, "feeds");
  json_t *out = json_array();
  int failed = 0;
  if (json_array_size(feeds) == 0 && !o.json) printf("no feeds in the config\n");
  for (size_t i = 0; i < json_array_size(feeds); i++) {
    json_t *fb = json_array_get(feeds, i);
    const char *name = json_string_value(json_object_get(fb, "name"));
    json_t *fa = find_feed(json_object_get(a, "feeds"), name);
    long long msgs = num(fb, "messages") - (fa ? num(fa, "messages") : 0);
    long long pts = num(fb, "points") - (fa ? num(fa, "points") : 0);
    long long errs = num(fb, "decode_errors") - (fa ? num(fa, "decode_errors") : 0);
    long long gaps = seqnum(fb, "gaps") - (fa ? seqnum(fa, "gaps") : 0);
    long long missed = seqnum(fb, "missed") - (fa ? seqnum(fa, "missed") : 0);
    long long sfail = num(fb, "store_failures") - (fa ? num(fa, "store_failures") : 0);
    double rate = (double)msgs / secs;
    json_t *ex = json_object_get(fb, "expect");
    json_t *jrate = json_object_get(ex, "rate"), *jgap = json_object_get(ex, "max_gap");
    bool has_seq = json_is_object(json_object_get(fb, "seq"));
    json_t *problems = json_array();
    char buf[200];
    if (json_is_number(jrate)) {
      double want = json_number_value(jrate);
      if (rate < 0.9 * want) {
        snprintf(buf, sizeof buf, "rate %.1f/s is below the expected %.1f/s", rate, want);
        json_array_append_new(problems, json_string(buf));
      }
    } else if (msgs == 0) {
      json_array_append_new(problems, json_string("no message in the window"));
    }
    if (has_seq && missed > (json_is_integer(jgap) ? json_integer_value(jgap) : 0)) {
      snprintf(buf, sizeof buf, "%lld gap%s, %lld missed message%s", gaps, gaps == 1 ? "" : "s", missed,
               missed == 1 ? "" : "s");
      json_array_append_new(problems, json_string(buf));
    }
    if (errs > 0) {
      struct vg_buf why;
      vg_buf_init(&why);
      const char *k;
      json_t *v;
      json_t *eb = json_object_get(fb, "errors"), *ea = fa ? json_object_get(fa, "errors") : NULL;
      json_object_foreach(eb, k, v) {
        long long n = (long long)json_integer_value(v) - (ea ? (long long)json_integer_value(json_object_get(ea, k)) : 0);
        if (n > 0) vg_buf_printf(&why, "%s%s %lld", why.len ? ", " : "", k, n);
      }
      snprintf(buf, sizeof buf, "%lld refused (%s); samples in %s", errs, why.data ? why.data : "",
               json_string_value(json_object_get(fb, "quarantine_file")));
      json_array_append_new(problems, json_string(buf));
      vg_buf_free(&why);
    }
    bool store = json_is_true(json_object_get(fb, "store"));
    if (!store) {
      json_array_append_new(problems, json_string("no store: points are not kept"));
    } else if (sfail > 0) {
      snprintf(buf, sizeof buf, "%lld batch%s failed to reach the store", sfail, sfail == 1 ? "" : "es");
      json_array_append_new(problems, json_string(buf));
    } else if (msgs > 0 && pts == 0) {
      json_array_append_new(problems, json_string("messages arrived but no point reached the store"));
    }
    bool ok = json_array_size(problems) == 0;
    failed += !ok;
    json_t *v = json_object();
    json_object_set_new(v, "feed", json_string(name));
    json_object_set_new(v, "ok", json_boolean(ok));
    json_object_set_new(v, "seconds", json_real(secs));
    json_object_set_new(v, "messages", json_integer(msgs));
    json_object_set_new(v, "points", json_integer(pts));
    json_object_set_new(v, "rate", json_real(rate));
    json_object_set_new(v, "expected_rate", json_is_number(jrate) ? json_real(json_number_value(jrate)) : json_null());
    json_object_set_new(v, "gaps", has_seq ? json_integer(gaps) : json_null());
    json_object_set_new(v, "missed", has_seq ? json_integer(missed) : json_null());
    json_object_set_new(v, "decode_errors", json_integer(errs));
    json_object_set_new(v, "stored", json_boolean(store && sfail == 0 && (msgs == 0 || pts > 0)));
    json_object_set_new(v, "problems", problems);
    json_array_append_new(out, v);
    if (!o.json) {
      char exp[32] = "-";
      if (json_is_number(jrate)) snprintf(exp, sizeof exp, "%.0f/s", json_number_value(jrate));
      printf("%-4s %-20s %9.1f/s (expected %s)  msgs %lld  points %lld  gaps %s  errors %lld\n", ok ? "ok" : "FAIL",
             name, rate, exp, msgs, pts, has_seq ? (snprintf(buf, sizeof buf, "%lld (%lld missed)", gaps, missed), buf) : "-",
             errs);
      for (size_t k = 0; k < json_array_size(problems); k++)
        printf("       %s\n", json_string_value(json_array_get(problems, k)));
    }
  }
  if (o.json) {
    json_t *doc = json_object();
    json_object_set_new(doc, "ok", json_boolean(failed == 0));
    json_object_set_new(doc, "seconds", json_real(secs));
    json_object_set_new(doc, "feeds", out);
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    puts(s);
    free(s);
    json_decref(doc);
  } else {
    json_decref(out);
  }
  json_decref(a);
  json_decref(b);
  return failed ? EXIT_FAIL : EXIT_OK;
}
