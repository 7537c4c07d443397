/* status, start, stop, restart, logs, reload, down: thin clients of the control API. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/core.h"

/* Prints a reply's error for a failed request; returns the exit code to use. */
static int report_failure(const char *verb, const struct cli_reply *r) {
  json_error_t je;
  json_t *j = json_loads(r->body ? r->body : "", 0, &je);
  const char *msg = j ? json_string_value(json_object_get(j, "error")) : NULL;
  fprintf(stderr, "vigil %s: %s\n", verb, msg ? msg : (r->body ? r->body : "failed"));
  json_decref(j);
  return EXIT_FAIL;
}

static int simple_parse(struct cli *cli, int argc, char **argv, const char *usage,
                        const char *help, int want_args) {
  int ix = cli_parse(cli, argc, argv, usage, help, NULL, NULL, NULL, NULL);
  if (ix < 0) return ix == -2 ? -2 : -1;
  if (argc - ix != want_args) {
    fprintf(stderr, "vigil %s: expected %d argument%s\nusage: %s\n", argv[0], want_args,
            want_args == 1 ? "" : "s", usage);
    return -1;
  }
  return ix;
}

static void fmt_duration(double s, char *buf, size_t len) {
  if (s < 0) snprintf(buf, len, "-");
  else if (s < 1) snprintf(buf, len, "%.0fms", s * 1000);
  else if (s < 60) snprintf(buf, len, "%.1fs", s);
  else if (s < 3600) snprintf(buf, len, "%dm%02ds", (int)s / 60, (int)s % 60);
  else if (s < 86400) snprintf(buf, len, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
  else snprintf(buf, len, "%dd%02dh", (int)s / 86400, (int)s % 86400 / 3600);
}

/* Feeds: counters since vigil started, the current rate, sequence gaps. */
static void print_feeds(json_t *feeds) {
  size_t n = json_array_size(feeds);
  if (n == 0) return;
  int w = 4;
  for (size_t i = 0; i < n; i++) {
    int l = (int)strlen(json_string_value(json_object_get(json_array_get(feeds, i), "name")));
    if (l > w) w = l;
  }
  printf("\n%-*s  %-6s  %12s  %12s  %10s  %8s  %6s  %8s  %8s  %s\n", w, "FEED", "FORMAT", "MESSAGES",
         "POINTS", "MSGS/S", "ERRORS", "GAPS", "MISSED", "LAST", "ENDPOINT");
  for (size_t i = 0; i < n; i++) {
    json_t *f = json_array_get(feeds, i), *seq = json_object_get(f, "seq");
    char gaps[24] = "-", missed[24] = "-", last[16] = "-";
    if (json_is_object(seq)) {
      snprintf(gaps, sizeof gaps, "%lld", (long long)json_integer_value(json_object_get(seq, "gaps")));
      snprintf(missed, sizeof missed, "%lld", (long long)json_integer_value(json_object_get(seq, "missed")));
    }
    json_t *age = json_object_get(f, "last_message_age_seconds");
    if (json_is_number(age)) {
      fmt_duration(json_number_value(age), last, sizeof last);
      strncat(last, " ago", sizeof last - strlen(last) - 1);
    }
    json_t *eps = json_object_get(f, "endpoints");
    printf("%-*s  %-6s  %12lld  %12lld  %10.0f  %8lld  %6s  %8s  %8s  %s %s%s\n", w,
           json_string_value(json_object_get(f, "name")), json_string_value(json_object_get(f, "format")),
           (long long)json_integer_value(json_object_get(f, "messages")),
           (long long)json_integer_value(json_object_get(f, "points")),
           json_number_value(json_object_get(f, "message_rate")),
           (long long)json_integer_value(json_object_get(f, "decode_errors")), gaps, missed, last,
           json_is_true(json_object_get(f, "bind")) ? "bind" : "connect",
           json_string_value(json_array_get(eps, 0)), json_array_size(eps) > 1 ? " ..." : "");
  }
}

static void print_bridges(json_t *bridges) {
  size_t n = json_array_size(bridges);
  if (n == 0) return;
  printf("\n%-12s  %8s  %12s  %8s  %8s  %6s  %8s  %s\n", "BRIDGE", "SCANS", "LATEST", "AGE", "ASSETS", "GAPS",
         "ERRORS", "LAST ERROR");
  for (size_t i = 0; i < n; i++) {
    json_t *b = json_array_get(bridges, i), *age = json_object_get(b, "data_age_seconds");
    char a[24] = "-";
    if (json_is_number(age)) fmt_duration(json_number_value(age), a, sizeof a);
    json_t *le = json_object_get(b, "last_error");
    printf("%-12s  %8lld  %12lld  %8s  %8lld  %6lld  %8lld  %s\n", json_string_value(json_object_get(b, "name")),
           (long long)json_integer_value(json_object_get(b, "scans")),
           (long long)json_integer_value(json_object_get(b, "latest_scan")), a,
           (long long)json_integer_value(json_object_get(b, "assets")),
           (long long)json_integer_value(json_object_get(b, "gaps")),
           (long long)json_integer_value(json_object_get(b, "errors")), json_is_string(le) ? json_string_value(le) : "");
  }
}

static void print_table(json_t *root) {
  json_t *me = json_object_get(root, "vigil"), *svcs = json_object_get(root, "services");
  size_t n = json_array_size(svcs), ready = 0;
  for (size_t i = 0; i < n; i++)
    ready += strcmp(json_string_value(json_object_get(json_array_get(svcs, i), "state")), "ready") == 0;
  printf("vigil %s, pid %lld, config %s\n", json_string_value(json_object_get(me, "version")),
         (long long)json_integer_value(json_object_get(me, "pid")),
         json_string_value(json_object_get(me, "config")));
  const char *http = json_string_value(json_object_get(me, "http"));
  if (http) printf("http://%s/metrics, /readyz, /api/v1/status\n", http);
  printf("stack %s: %zu/%zu services ready\n\n",
         json_is_true(json_object_get(root, "stack_ready")) ? "ready" : "not ready", ready, n);
  int w = 7;
  for (size_t i = 0; i < n; i++) {
    int l = (int)strlen(json_string_value(json_object_get(json_array_get(svcs, i), "name")));
    if (l > w) w = l;
  }
  printf("%-*s  %-8s  %7s  %8s  %8s  %-12s  %7s  %s\n", w, "SERVICE", "STATE", "PID", "UPTIME",
         "RESTARTS", "LAST EXIT", "READY", "NOTE");
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_array_get(svcs, i);
    char pid[16] = "-", up[16] = "-", rdy[16] = "-", last[32] = "-";
    json_t *jp = json_object_get(s, "pid");
    if (json_is_integer(jp)) {
      snprintf(pid, sizeof pid, "%lld", (long long)json_integer_value(jp));
      fmt_duration(json_real_value(json_object_get(s, "uptime_seconds")), up, sizeof up);
    }
    json_t *jr = json_object_get(s, "ready_seconds");
    if (json_is_number(jr)) fmt_duration(json_number_value(jr), rdy, sizeof rdy);
    json_t *le = json_object_get(s, "last_exit");
    if (json_is_object(le)) {
      json_t *sig = json_object_get(le, "signal");
      if (json_is_string(sig)) snprintf(last, sizeof last, "SIG%s", json_string_value(sig));
      else snprintf(last, sizeof last, "code %lld", (long long)json_integer_value(json_object_get(le, "code")));
    }
    struct vg_buf note;
    vg_buf_init(&note);
    json_t *wo = json_object_get(s, "waiting_on");
    if (json_array_size(wo)) {
      vg_buf_puts(&note, "waiting on ");
      for (size_t k = 0; k < json_array_size(wo); k++)
        vg_buf_printf(&note, "%s%s", k ? ", " : "", json_string_value(json_array_get(wo, k)));
    }
    json_t *nx = json_object_get(s, "next_start_in");
    if (json_is_number(nx)) vg_buf_printf(&note, "%snext start in %.1fs", note.len ? "; " : "", json_number_value(nx));
    json_t *rs = json_object_get(s, "reason");
    if (json_is_string(rs)) vg_buf_printf(&note, "%s%s", note.len ? "; " : "", json_string_value(rs));
    json_t *st = json_object_get(s, "status_text");
    if (json_is_string(st)) vg_buf_printf(&note, "%s\"%s\"", note.len ? "; " : "", json_string_value(st));
    printf("%-*s  %-8s  %7s  %8s  %8lld  %-12s  %7s  %s\n", w,
           json_string_value(json_object_get(s, "name")),
           json_string_value(json_object_get(s, "state")), pid, up,
           (long long)json_integer_value(json_object_get(s, "restarts")), last, rdy,
           note.data ? note.data : "");
    vg_buf_free(&note);
  }
  print_feeds(json_object_get(root, "feeds"));
  print_bridges(json_object_get(root, "bridges"));
}

struct status_opts {
  bool json, watch;
};

static int status_opt(int c, const char *value, void *arg) {
  struct status_opts *o = arg;
  if (c == 'j') o->json = true;
  if (c == 'w') o->watch = true;
  return 0;
}

/* `vigil status --watch`: the events stream (GET /api/v1/events, docs/api.md) applied to
 * the status document, which is redrawn after each batch of events. */
struct watch {
  struct vg_buf in;
  json_t *root;
  bool json, tty;
};

static void watch_apply(struct watch *w, const char *event, json_t *data) {
  if (strcmp(event, "status") == 0) {
    json_decref(w->root);
    w->root = json_incref(data);
  } else if (w->root && strcmp(event, "service") == 0) {
    json_t *svcs = json_object_get(w->root, "services");
    const char *name = json_string_value(json_object_get(data, "name"));
    size_t i;
    json_t *s;
    json_array_foreach(svcs, i, s) {
      if (name && strcmp(json_string_value(json_object_get(s, "name")), name) == 0) {
        json_array_set(svcs, i, data);
        return;
      }
    }
    json_array_append(svcs, data);
  } else if (w->root && strcmp(event, "feeds") == 0) {
    json_object_set(w->root, "feeds", data);
  }
}

static void watch_draw(struct watch *w) {
  if (!w->root) return;
  if (w->json) {
    char *s = json_dumps(w->root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    puts(s);
    free(s);
  } else {
    fputs(w->tty ? "\033[H\033[2J" : "\n", stdout);
    print_table(w->root);
  }
  fflush(stdout);
}

static int watch_data(void *arg, const char *data, size_t len) {
  struct watch *w = arg;
  vg_buf_append(&w->in, data, len);
  bool changed = false;
  char *end;
  while (w->in.len && (end = strstr(w->in.data, "\n\n"))) {
    *end = '\0';
    char event[32] = "message";
    const char *payload = NULL;
    for (char *line = w->in.data, *next; line; line = next) {
      next = strchr(line, '\n');
      if (next) *next++ = '\0';
      if (strncmp(line, "event: ", 7) == 0) snprintf(event, sizeof event, "%s", line + 7);
      else if (strncmp(line, "data: ", 6) == 0) payload = line + 6;
    }
    json_t *j = payload ? json_loads(payload, 0, NULL) : NULL;
    if (j) {
      watch_apply(w, event, j);
      changed = true;
      json_decref(j);
    }
    size_t used = (size_t)(end - w->in.data) + 2;
    memmove(w->in.data, w->in.data + used, w->in.len - used);
    w->in.len -= used;
    w->in.data[w->in.len] = '\0';
  }
  if (changed) watch_draw(w);
  return 0;
}

static int watch_status(struct cli *cli, bool json) {
  struct watch w = {.json = json, .tty = isatty(STDOUT_FILENO)};
  vg_buf_init(&w.in);
  struct cli_reply r;
  int rc = cli_request_to(cli, "GET", "/api/v1/events", watch_data, &w, &r);
  if (rc == 0 && r.status != 200) rc = report_failure("status", &r);
  else if (rc == 0) {
    fprintf(stderr, "vigil status: the daemon went away\n");
    rc = EXIT_FAIL;
  } else {
    rc = rc == -2 ? EXIT_USAGE : EXIT_FAIL;
  }
  cli_reply_free(&r);
  vg_buf_free(&w.in);
  json_decref(w.root);
  return rc;
}

int cmd_status(struct cli *cli, int argc, char **argv) {
  static const char usage[] = "vigil status [-c FILE] [--json] [--watch]";
  static const char help[] =
      "Shows every service of the running stack: state, pid, uptime, restarts, last exit,\n"
      "readiness latency and, for a service that waits, backs off or gave up, why.\n"
      "\n  --json   print the status document (shape in docs/api.md)\n"
      "  --watch  keep it on screen, redrawn as the daemon's events stream says what changed\n"
      "           (with --json: one status document per line); Ctrl-C to stop\n"
      "\nexit status: 0 when the daemon answered, 1 when none runs, 2 on usage errors.\n";
  static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
                                           {"watch", no_argument, NULL, 'w'}, {0}};
  struct status_opts o = {0};
  int ix = cli_parse(cli, argc, argv, usage, help, NULL, longopts, status_opt, &o);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  if (ix != argc) {
    fprintf(stderr, "vigil status: unexpected argument '%s'\nusage: %s\n", argv[ix], usage);
    return EXIT_USAGE;
  }
  if (o.watch) return watch_status(cli, o.json);
  bool json = o.json;
  struct cli_reply r;
  int rc = cli_request(cli, "GET", "/api/v1/status", -1, &r);
  if (rc < 0) return rc == -2 ? EXIT_USAGE : EXIT_FAIL;
  if (r.status != 200) {
    rc = report_failure("status", &r);
    cli_reply_free(&r);
    return rc;
  }
  if (json) {
    fputs(r.body, stdout);
  } else {
    json_error_t je;
    json_t *root = json_loads(r.body, 0, &je);
    if (!root) {
      fprintf(stderr, "vigil status: bad answer from the daemon: %s\n", je.text);
      cli_reply_free(&r);
      return EXIT_FAIL;
    }
    print_table(root);
    json_decref(root);
  }
  cli_reply_free(&r);
  return EXIT_OK;
}

int cmd_service_action(struct cli *cli, int argc, char **argv) {
  const char *verb = argv[0];
  char usage[96], help[512];
  snprintf(usage, sizeof usage, "vigil %s [-c FILE] SERVICE", verb);
  snprintf(help, sizeof help, "%s",
           strcmp(verb, "start") == 0
               ? "Starts SERVICE once its dependencies are ready. A service that went fatal\n"
                 "(too many restarts) starts afresh, its crash history forgotten.\n"
           : strcmp(verb, "stop") == 0
               ? "Stops SERVICE (stop signal, then SIGKILL to its process group after the stop\n"
                 "timeout) and keeps it down until `vigil start`.\n"
               : "Stops SERVICE, honouring its stop timeout, then starts it again.\n");
  int ix = simple_parse(cli, argc, argv, usage, help, 1);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  char *path = vg_asprintf("/api/v1/services/%s/%s", argv[ix], verb);
  struct cli_reply r;
  int rc = cli_request(cli, "POST", path, -1, &r);
  free(path);
  if (rc < 0) return rc == -2 ? EXIT_USAGE : EXIT_FAIL;
  rc = r.status / 100 == 2 ? EXIT_OK : report_failure(verb, &r);
  cli_reply_free(&r);
  return rc;
}

struct logs_opts {
  bool follow;
  bool raw;
  long n;
  bool bad;
};

/* A service's output may hold terminal control sequences (ESC[2J, OSC titles, a bell, a
 * carriage return that hides what came before): each control byte other than newline
 * and tab is printed as \xNN, unless --raw. Per byte, so chunk boundaries are harmless. */
static int write_escaped(void *arg, const char *data, size_t len) {
  struct vg_buf b;
  vg_buf_init(&b);
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)data[i];
    if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f) vg_buf_printf(&b, "\\x%02x", ch);
    else vg_buf_putc(&b, (char)ch);
  }
  size_t off = 0;
  int rc = 0;
  while (off < b.len) {
    ssize_t w = write(STDOUT_FILENO, b.data + off, b.len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      rc = -1;
      break;
    }
    off += (size_t)w;
  }
  vg_buf_free(&b);
  return rc;
}

static int logs_opt(int c, const char *value, void *arg) {
  struct logs_opts *o = arg;
  if (c == 'f') o->follow = true;
  if (c == 'r') o->raw = true;
  if (c == 'n') {
    char *end;
    o->n = strtol(value, &end, 10);
    if (*end || o->n < 0 || o->n > 100000) {
      fprintf(stderr, "vigil logs: -n needs a number of lines from 0 to 100000, not '%s'\n", value);
      return -1;
    }
  }
  return 0;
}

int cmd_logs(struct cli *cli, int argc, char **argv) {
  static const char usage[] = "vigil logs [-c FILE] SERVICE [-f] [-n N] [--raw]";
  static const char help[] =
      "Prints the last N lines (default 20) of SERVICE's output from its log file\n"
      "(STATE_DIR/logs/SERVICE.log), each line as `TIMESTAMP STREAM TEXT`.\n"
      "\n  -f, --follow   keep printing new lines as they come (Ctrl-C to stop)\n"
      "  -n, --lines N  how many past lines to print\n"
      "  -r, --raw      print the output's control characters as they are (by default\n"
      "                 each one but newline and tab is shown as \\xNN, so a service\n"
      "                 cannot drive your terminal)\n";
  static const struct option longopts[] = {{"follow", no_argument, NULL, 'f'},
                                           {"lines", required_argument, NULL, 'n'},
                                           {"raw", no_argument, NULL, 'r'}, {0}};
  struct logs_opts o = {.n = 20};
  /* permute so SERVICE may come before or after the options */
  int ix = cli_parse(cli, argc, argv, usage, help, "fn:r", longopts, logs_opt, &o);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  const char *svc = NULL;
  if (ix < argc) {
    svc = argv[ix];
    /* options after the service name */
    if (ix + 1 < argc) {
      char **rest = &argv[ix];
      int rc = cli_parse(cli, argc - ix, rest, usage, help, "fn:r", longopts, logs_opt, &o);
      if (rc < 0) return rc == -2 ? EXIT_OK : EXIT_USAGE;
      if (rc < argc - ix) {
        fprintf(stderr, "vigil logs: unexpected argument '%s'\nusage: %s\n", rest[rc], usage);
        return EXIT_USAGE;
      }
    }
  }
  if (!svc) {
    fprintf(stderr, "vigil logs: which service?\nusage: %s\n", usage);
    return EXIT_USAGE;
  }
  char *path = vg_asprintf("/api/v1/services/%s/logs?n=%ld%s", svc, o.n, o.follow ? "&follow=1" : "");
  struct cli_reply r;
  int rc = o.raw ? cli_request(cli, "GET", path, STDOUT_FILENO, &r)
                 : cli_request_to(cli, "GET", path, write_escaped, NULL, &r);
  free(path);
  if (rc < 0) return rc == -2 ? EXIT_USAGE : EXIT_FAIL;
  rc = r.status == 200 ? EXIT_OK : report_failure("logs", &r);
  cli_reply_free(&r);
  return rc;
}

int cmd_reload(struct cli *cli, int argc, char **argv) {
  static const char usage[] = "vigil reload [-c FILE]";
  static const char help[] =
      "Asks the daemon to re-read its config (same as SIGHUP): services whose definition\n"
      "changed restart, added ones start, removed ones stop, the others are not touched.\n"
      "An invalid file is rejected with its errors and the running stack stays as it is.\n"
      "\nexit status: 0 reloaded, 1 no daemon, 2 the new config is invalid.\n";
  int ix = simple_parse(cli, argc, argv, usage, help, 0);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  struct cli_reply r;
  int rc = cli_request(cli, "POST", "/api/v1/reload", -1, &r);
  if (rc < 0) return rc == -2 ? EXIT_USAGE : EXIT_FAIL;
  json_error_t je;
  json_t *j = json_loads(r.body, 0, &je);
  if (r.status == 200 && j) {
    static const char *const keys[] = {"added", "removed", "changed", "unchanged"};
    for (size_t k = 0; k < VG_ARRAY_LEN(keys); k++) {
      json_t *a = json_object_get(j, keys[k]);
      printf("%-10s", keys[k]);
      for (size_t i = 0; i < json_array_size(a); i++)
        printf(" %s", json_string_value(json_array_get(a, i)));
      printf("\n");
    }
    rc = EXIT_OK;
  } else if (r.status == 400 && j) {
    json_t *errs = json_object_get(j, "errors");
    fprintf(stderr, "vigil reload: the config is invalid; the running stack is unchanged\n");
    for (size_t i = 0; i < json_array_size(errs); i++)
      fprintf(stderr, "%s\n", json_string_value(json_array_get(errs, i)));
    rc = EXIT_USAGE;
  } else {
    rc = report_failure("reload", &r);
  }
  json_decref(j);
  cli_reply_free(&r);
  return rc;
}

/* The pid of the daemon answering on the control socket (SO_PEERCRED), as a pidfd that
 * becomes readable when it exits; -1 when it cannot be had (then down cannot wait). */
static int daemon_pidfd(const struct cli *cli, pid_t *pid) {
  char *sock = cli_daemon_socket(cli, false);
  if (!sock) return -1;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
  free(sock);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct ucred cr;
  socklen_t len = sizeof cr;
  int pfd = -1;
  /* the pidfd is taken while the connection holds the daemon's identity, so a pid
   * reused after its exit cannot be mistaken for it */
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && cr.pid > 0) {
    pfd = (int)syscall(SYS_pidfd_open, cr.pid, 0);
    *pid = cr.pid;
  }
  close(fd);
  return pfd;
}

static int64_t down_timeout_ms = 300000;

static int down_opt(int c, const char *value, void *arg) {
  if (cfg_parse_duration(value, &down_timeout_ms) < 0 || down_timeout_ms <= 0) {
    fprintf(stderr, "vigil down: --timeout must be a duration such as 30s, not '%s'\n", value);
    return -1;
  }
  return 0;
}

int cmd_down(struct cli *cli, int argc, char **argv) {
  static const char usage[] = "vigil down [-c FILE] [--timeout DURATION]";
  static const char help[] =
      "Stops every service in reverse dependency order, then the daemon (as SIGTERM does).\n"
      "Returns once the daemon has exited; after --timeout (default 5m) it says the daemon\n"
      "is still stopping and exits 1 (the shutdown goes on).\n";
  static const struct option opts[] = {{"timeout", required_argument, NULL, 't'}, {0}};
  int ix = cli_parse(cli, argc, argv, usage, help, "", opts, down_opt, NULL);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  if (ix != argc) {
    fprintf(stderr, "vigil down: expected 0 arguments\nusage: %s\n", usage);
    return EXIT_USAGE;
  }
  pid_t pid = 0;
  int pfd = daemon_pidfd(cli, &pid);
  struct cli_reply r;
  int rc = cli_request(cli, "POST", "/api/v1/down", -1, &r);
  if (rc < 0) {
    if (pfd >= 0) close(pfd);
    return rc == -2 ? EXIT_USAGE : EXIT_FAIL;
  }
  rc = r.status / 100 == 2 ? EXIT_OK : report_failure("down", &r);
  cli_reply_free(&r);
  if (rc != EXIT_OK || pfd < 0) {
    if (pfd >= 0) close(pfd);
    return rc;
  }
  /* the daemon's answer means it has begun; its exit is the end of the shutdown */
  uint64_t deadline = vg_now_ms() + (uint64_t)down_timeout_ms;
  for (;;) {
    uint64_t now = vg_now_ms();
    int wait_ms = now >= deadline ? 0 : (int)(deadline - now > 1000 ? 1000 : deadline - now);
    int n = poll(&(struct pollfd){.fd = pfd, .events = POLLIN}, 1, wait_ms);
    if (n > 0 || (n < 0 && errno != EINTR)) break;
    if (now >= deadline) {
      fprintf(stderr, "vigil down: the daemon (pid %d) has not exited after %.3gs; it is still "
              "stopping services\n", (int)pid, (double)down_timeout_ms / 1000.0);
      rc = EXIT_FAIL;
      break;
    }
  }
  close(pfd);
  return rc;
}
