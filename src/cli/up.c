/*
 * vigil up: the daemon. Holds the state_dir lock, runs the supervisor and the control
 * socket on one libuv loop, turns signals into actions (TERM/INT: ordered shutdown,
 * a second one: kill everything now; HUP: reload) and speaks sd_notify to systemd.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>
#include <uv.h>

#include "cli/cli.h"
#include "tsdb/tsdb.h"
#include "core/core.h"
#include "core/file.h"
#include "failover/failover.h"
#include "http/http.h"
#include "cache/cache.h"
#include "monitor/monitor.h"
#include "ingest/ingest.h"
#include "metrics/metrics.h"
#include "supervise/supervise.h"

struct daemon {
  uv_loop_t *loop;
  struct cli *cli;
  struct sv_supervisor *sv;
  struct http_control *ctl;
  struct http_server *server;
  struct mt_registry *metrics;
  struct http_api api;
  struct cli_feeds *feeds;
  struct fo_failover *fo; /* NULL without a failover section */
  uv_signal_t sigterm, sigint, sighup;
  uv_timer_t watchdog;
  bool shutting_down;
  bool announced_ready;
  int exit_code;
};

static void update_status(struct daemon *d) {
  size_t n = sv_count(d->sv), ready = 0;
  for (size_t i = 0; i < n; i++) {
    struct sv_info in;
    sv_info_get(sv_at(d->sv, i), &in);
    ready += in.state == SV_READY;
  }
  sd_notifyf(0, "STATUS=%zu/%zu services ready%s", ready, n, d->shutting_down ? ", stopping" : "");
}

/* At shutdown, once no service has a process left, the lease goes (to the others) and
 * the fencer exits, before the supervisor kills whatever child of vigil remains. */
static void failover_stop_when_idle(struct daemon *d) {
  for (size_t i = 0; i < sv_count(d->sv); i++) {
    struct sv_info in;
    sv_info_get(sv_at(d->sv, i), &in);
    if (in.pid > 0) return;
  }
  fo_stop(d->fo);
}

static void on_state(void *arg, const struct sv_service *svc, enum sv_state from, enum sv_state to) {
  struct daemon *d = arg;
  if (d->fo && svc) fo_service_changed(d->fo, svc);
  if (d->fo && d->shutting_down) failover_stop_when_idle(d);
  if (!d->announced_ready && !d->shutting_down && sv_stack_ready(d->sv)) {
    d->announced_ready = true;
    VG_INFO("stack ready", VF_I("services", sv_count(d->sv)));
    sd_notify(0, "READY=1");
  }
  update_status(d);
}

static void close_walk(uv_handle_t *h, void *arg) {
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void shutdown_done(struct sv_supervisor *sv, void *arg) {
  struct daemon *d = arg;
  if (d->fo) fo_stop(d->fo); /* every service is down: the lease goes to the others */
  VG_INFO("all services stopped; vigil exits");
  uv_stop(d->loop);
}

static void begin_shutdown(struct daemon *d, const char *why) {
  if (d->shutting_down) return;
  d->shutting_down = true;
  VG_INFO("shutting down", VF_S("reason", why));
  sd_notify(0, "STOPPING=1");
  if (d->fo) failover_stop_when_idle(d);
  sv_shutdown(d->sv, shutdown_done, d);
}

static void on_stop_signal(uv_signal_t *h, int signum) {
  struct daemon *d = h->data;
  if (d->shutting_down) {
    /* a second Ctrl-C: the operator does not want to wait for stop timeouts */
    VG_WARN("second signal: killing every service now");
    for (size_t i = 0; i < sv_count(d->sv); i++) {
      struct sv_info in;
      sv_info_get(sv_at(d->sv, i), &in);
      if (in.pid > 0) kill(-in.pid, SIGKILL);
    }
    return;
  }
  begin_shutdown(d, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static void json_strv(struct vg_buf *b, const char *key, char **v, bool last) {
  vg_buf_printf(b, "  \"%s\": [", key);
  for (size_t i = 0; v && v[i]; i++) {
    if (i) vg_buf_puts(b, ", ");
    vg_buf_json_str(b, v[i]);
  }
  vg_buf_puts(b, last ? "]\n" : "],\n");
}

/* Re-reads the config. An invalid file leaves the running stack untouched. */
static int do_reload(void *arg, struct vg_buf *out) {
  struct daemon *d = arg;
  const char *path = d->cli->config;
  struct cfg_diags diags;
  cfg_diags_init(&diags);
  struct vg_config *cfg = cfg_load(path, &diags);
  const struct vg_config *cur = sv_config(d->sv);
  if (cfg && strcmp(cfg->state_dir, cur->state_dir) != 0) {
    cfg_diag_add(&diags, (struct cfg_pos){0, 0},
                 "state_dir cannot change on reload (running with %s); restart vigil instead",
                 cur->state_dir);
  } else if (cfg && (!cfg->http.listen != !cur->http.listen ||
                     (cfg->http.listen && strcmp(cfg->http.listen, cur->http.listen) != 0))) {
    cfg_diag_add(&diags, cfg->http.pos,
                 "http.listen cannot change on reload (listening on %s); restart vigil instead",
                 cur->http.listen ? cur->http.listen : "off");
  } else if (cfg && (!cfg->http.token_file != !cur->http.token_file ||
                     (cfg->http.token_file && strcmp(cfg->http.token_file, cur->http.token_file) != 0))) {
    cfg_diag_add(&diags, cfg->http.pos,
                 "http.token_file cannot change on reload; rewrite the file's content instead "
                 "(it is read at every request)");
  } else if (cfg && !cfg_failover_equal(cfg->failover, cur->failover)) {
    /* the lease thread and the fencer run from start-up: changing them means a restart */
    cfg_diag_add(&diags, cfg->failover ? cfg->failover->pos : (struct cfg_pos){0, 0},
                 "failover cannot change on reload; restart vigil to change it");
  } else if (cfg && !cfg_feeds_equal(cfg, cur)) {
    /* feed threads own their sockets from start-up: changing them means a restart */
    const struct cfg_feed *f = cfg->n_feeds ? &cfg->feeds[0] : NULL;
    cfg_diag_add(&diags, f ? f->pos : (struct cfg_pos){0, 0},
                 "feeds cannot change on reload; restart vigil to change them");
  }
  if (cfg && diags.n) {
    cfg_free(cfg);
    cfg = NULL;
  }
  if (!cfg) {
    vg_buf_puts(out, "{\n  \"ok\": false,\n  \"errors\": [");
    for (size_t i = 0; i < diags.n; i++) {
      const struct cfg_diag *g = &diags.items[i];
      char *line = vg_asprintf("%s:%d:%d: %s", path, g->pos.line, g->pos.col, g->msg);
      VG_ERROR("reload rejected", VF_S("error", line));
      vg_buf_puts(out, i ? ",\n    " : "\n    ");
      vg_buf_json_str(out, line);
      free(line);
    }
    vg_buf_puts(out, "\n  ]\n}\n");
    cfg_diags_free(&diags);
    return 400;
  }
  cfg_diags_free(&diags);
  struct sv_reload_report rep;
  sv_reload(d->sv, cfg, &rep);
  VG_INFO("config reloaded", VF_I("added", vg_strv_len(rep.added)),
          VF_I("removed", vg_strv_len(rep.removed)), VF_I("changed", vg_strv_len(rep.changed)),
          VF_I("unchanged", vg_strv_len(rep.unchanged)));
  vg_buf_puts(out, "{\n  \"ok\": true,\n");
  json_strv(out, "added", rep.added, false);
  json_strv(out, "removed", rep.removed, false);
  json_strv(out, "changed", rep.changed, false);
  json_strv(out, "unchanged", rep.unchanged, true);
  vg_buf_puts(out, "}\n");
  sv_reload_report_free(&rep);
  d->announced_ready = d->announced_ready && sv_stack_ready(d->sv);
  update_status(d);
  return 200;
}

static void on_hup(uv_signal_t *h, int signum) {
  struct daemon *d = h->data;
  VG_INFO("SIGHUP: reloading", VF_S("config", d->cli->config));
  struct vg_buf out;
  vg_buf_init(&out);
  do_reload(d, &out);
  vg_buf_free(&out);
}

static void do_down(void *arg) { begin_shutdown(arg, "vigil down"); }

/* GET /api/v1/failover and POST /api/v1/failover/switchover. */
/* Every failover transition is an event of the monitor's (document 002: a critical
 * alert on failover), with its duration, beside the failover's own log line. */
static void failover_event(void *arg, const struct fo_transition *t) {
  bool up = strcmp(t->to, "active") == 0;
  char msg[512], details[512];
  snprintf(msg, sizeof msg, "%s: %s -> %s (token %llu) in %lld ms: %s", t->node, t->from, t->to,
           (unsigned long long)t->token, (long long)t->duration_ms, t->reason);
  snprintf(details, sizeof details,
           "{\"node\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"token\":%llu,\"duration_ms\":%lld}",
           t->node, t->from, t->to, (unsigned long long)t->token, (long long)t->duration_ms);
  mon_event(arg, up ? MON_CRITICAL : MON_WARNING, "failover", "failover", t->node, msg, details);
}

static int do_failover(void *arg, const char *action, const char *body, struct vg_buf *out) {
  struct daemon *d = arg;
  if (strcmp(action, "status") == 0) {
    fo_status_json(d->fo, out);
    return 200;
  }
  char to[130] = "", err[300];
  if (body && body[strspn(body, " \t\r\n")]) {
    json_error_t je;
    json_t *j = json_loads(body, 0, &je);
    json_t *t = j ? json_object_get(j, "to") : NULL;
    bool ok = json_is_object(j) && (!t || json_is_null(t) ||
                                    (json_is_string(t) && json_string_length(t) > 0 &&
                                     json_string_length(t) < sizeof to));
    if (ok && json_is_string(t)) snprintf(to, sizeof to, "%s", json_string_value(t));
    json_decref(j);
    if (!ok) {
      vg_buf_puts(out, "{\"error\": \"bad body: expected {\\\"to\\\": \\\"NODE\\\"} or nothing\"}\n");
      return 400;
    }
  }
  if (fo_switchover(d->fo, to[0] ? to : NULL, err, sizeof err) < 0) {
    vg_buf_puts(out, "{\"error\": ");
    vg_buf_json_str(out, err);
    vg_buf_puts(out, "}\n");
    return 409;
  }
  vg_buf_puts(out, "{\"ok\": true, \"action\": \"switchover\", \"to\": ");
  if (to[0]) vg_buf_json_str(out, to);
  else vg_buf_puts(out, "null");
  vg_buf_puts(out, "}\n");
  return 202;
}

static void watchdog_cb(uv_timer_t *t) { sd_notify(0, "WATCHDOG=1"); }

/* Only one vigil per state_dir: an exclusive flock held for the daemon's life. */
static int take_lock(const char *state_dir) {
  char *path = vg_asprintf("%s/vigil.lock", state_dir);
  int fd = vg_lockfile(path, 0600);
  if (fd == -EBUSY) {
    char pid[32] = "";
    int pfd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = pfd >= 0 ? pread(pfd, pid, sizeof pid - 1, 0) : -1;
    if (pfd >= 0) close(pfd);
    if (n > 0) pid[strcspn(pid, "\n")] = '\0';
    fprintf(stderr, "vigil: another vigil (pid %s) is already running with state_dir %s\n",
            n > 0 ? pid : "?", state_dir);
    free(path);
    return -1;
  }
  if (fd < 0) {
    fprintf(stderr, "vigil: cannot open %s: %s\n", path, strerror(-fd));
    free(path);
    return -1;
  }
  char buf[32];
  int len = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
  if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)len, 0) != len)
    VG_WARN("cannot write pid into the lock file", VF_S("path", path));
  free(path);
  return fd;
}

/* Raises the soft limit on open files to the hard one (services hold pipes, log files
 * and sockets in vigil), and says when even that is below the stack's budget. */
static void raise_fd_limit(const struct vg_config *cfg) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
      VG_DEBUG("raised the open files limit", VF_I("from", (long long)was),
               VF_I("to", (long long)rl.rlim_cur));
  }
  size_t need = sv_fd_budget(cfg);
  if (rl.rlim_cur != RLIM_INFINITY && need > rl.rlim_cur)
    VG_WARN("the stack needs more file descriptors than the limit; some services will not "
            "start (raise ulimit -Hn or LimitNOFILE=)",
            VF_I("needed", (long long)need), VF_I("limit", (long long)rl.rlim_cur));
}

static const char up_usage[] = "vigil up [-c FILE] [--log-format logfmt|json] [--log-level LVL]";
static const char up_help[] =
    "Runs the stack described by the config in the foreground: starts every service once\n"
    "its dependencies are ready, restarts failed ones with backoff, and serves the control\n"
    "socket STATE_DIR/vigil.sock that the other verbs use. SIGTERM or SIGINT stops the\n"
    "services in reverse dependency order (a second one kills them at once); SIGHUP\n"
    "reloads the config. Under systemd (Type=notify) it reports READY=1 once every service\n"
    "is ready, and pings the watchdog when WatchdogSec= is set.\n"
    "\nOnly one vigil runs per state_dir.\n"
    "\nexit status: 0 after a clean shutdown, 1 on a runtime failure, 2 on a config error.\n";

int cmd_up(struct cli *cli, int argc, char **argv) {
  int ix = cli_parse(cli, argc, argv, up_usage, up_help, NULL, NULL, NULL, NULL);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  if (ix < argc) {
    fprintf(stderr, "vigil up: unexpected argument '%s'\nusage: %s\n", argv[ix], up_usage);
    return EXIT_USAGE;
  }
  struct vg_config *cfg = cli_load_config(cli);
  if (!cfg) return EXIT_USAGE;

  int rc = vg_mkdir_p(cfg->state_dir, 0750);
  if (rc < 0) {
    fprintf(stderr, "vigil: cannot create state_dir %s: %s\n", cfg->state_dir, strerror(-rc));
    cfg_free(cfg);
    return EXIT_FAIL;
  }
  raise_fd_limit(cfg);
  int lock_fd = take_lock(cfg->state_dir);
  if (lock_fd < 0) {
    cfg_free(cfg);
    return EXIT_FAIL;
  }
  signal(SIGPIPE, SIG_IGN);

  struct daemon d = {.cli = cli, .loop = uv_default_loop()};
  char err[512];
  char *sock = cli_socket_path(cli, cfg);
  if (sv_create(d.loop, cfg, &d.sv, err, sizeof err) < 0) {
    fprintf(stderr, "vigil: %s\n", err);
    free(sock);
    close(lock_fd);
    return EXIT_FAIL;
  }
  sv_set_observer(d.sv, on_state, &d);
  d.metrics = mt_registry_new();
  mt_register_process(d.metrics);
  mt_register_build_info(d.metrics, VIGIL_VERSION, vg_commit());
  sv_metrics_register(d.sv, d.metrics);
  struct tsdb *store = NULL;
  if (cfg->store.enabled && cli_store_open(cfg, true, &store) < 0) {
    sv_destroy(d.sv);
    mt_registry_free(d.metrics);
    free(sock);
    close(lock_fd);
    return EXIT_FAIL;
  }
  if (store) tsdb_register_metrics(store, d.metrics);
  /* a copy: a reload frees the config the daemon started with */
  char *token_file = cfg->http.token_file ? vg_strdup(cfg->http.token_file) : NULL;
  d.api = (struct http_api){.sv = d.sv, .store = store, .metrics = d.metrics, .token_file = token_file,
                            .hooks = {.reload = do_reload, .down = do_down, .arg = &d}};
  api_init_metrics(&d.api);
  /* feeds before the listeners: a status or scrape sees them from the first request */
  struct cli_forward *fwd = NULL;
  struct ingest_target target = {0};
  struct cache *cache = NULL;
  int frc = cfg->cache.enabled ? cache_open(&cfg->cache, d.metrics, &cache, err, sizeof err) : 0;
  d.api.cache = cache;
  if (frc == 0) frc = cli_forward_open(cfg, store, cache, d.metrics, &fwd, err, sizeof err);
  if (frc == 0) {
    target = cli_forward_target(fwd);
    d.api.ingest = &target; /* HTTP /write and import: the same pipeline as the feeds */
    frc = cli_feeds_start(cfg, &target, d.metrics, &d.feeds, err, sizeof err);
  }
  /* the monitor (docs/monitor.md) reads the cache, the feeds and the store */
  struct mon *mon = NULL;
  if (frc == 0 && cli_monitor_open(d.loop, d.sv, cfg, cache, d.feeds, store, d.metrics, &mon, err,
                                   sizeof err) < 0) {
    cli_feeds_stop(d.feeds);
    frc = -1;
  }
  d.api.monitor = mon;
  if (mon) { /* the events stream sends the alerts when they change */
    d.api.hooks.alerts = cli_monitor_alerts;
    d.api.hooks.alerts_arg = mon;
  }
  if (frc < 0) {
    fprintf(stderr, "vigil: %s\n", err);
    cli_forward_close(fwd);
    cache_close(&cache);
    sv_destroy(d.sv);
    tsdb_close(store);
    mt_registry_free(d.metrics);
    free(token_file);
    free(sock);
    close(lock_fd);
    return EXIT_FAIL;
  }
  sv_set_fresh_check(d.sv, cli_fresh_age, cache); /* ready: {fresh: KEY_OR_DOC} */
  d.api.hooks.status = cli_feeds_status;
  d.api.hooks.status_arg = d.feeds;
  d.api.hooks.compute_grid = cli_compute_grid; /* 404 without a compute section */
  d.api.hooks.compute_arg = d.sv;
  if (cfg->failover) {
    if (fo_create(d.loop, cfg, d.sv, &d.fo, err, sizeof err) < 0 || fo_start(d.fo, err, sizeof err) < 0) {
      fprintf(stderr, "vigil: %s\n", err);
      fo_destroy(d.fo);
      mon_close(&mon);
      cli_feeds_stop(d.feeds);
      cli_forward_close(fwd);
      cache_close(&cache);
      sv_destroy(d.sv);
      tsdb_close(store);
      mt_registry_free(d.metrics);
      free(token_file);
      free(sock);
      close(lock_fd);
      return EXIT_FAIL;
    }
    fo_metrics_register(d.fo, d.metrics);
    if (mon) fo_set_transition_cb(d.fo, failover_event, mon);
    d.api.hooks.failover = do_failover;
    d.api.hooks.failover_arg = &d;
  }
  /* TCP first: once the control socket exists (what scripts wait for), both listen */
  int failed = 0;
  if (cfg->http.token_file && api_check_token_file(cfg->http.token_file, err, sizeof err) < 0)
    failed = 1;
  else if (cfg->http.listen &&
           http_server_start(d.loop, cfg->http.host, cfg->http.port, &d.api, &d.server, err,
                             sizeof err) < 0)
    failed = 1;
  else if (http_control_start(d.loop, sock, &d.api, &d.ctl, err, sizeof err) < 0)
    failed = 2;
  if (failed) {
    fprintf(stderr, "vigil: %s\n", err);
    if (failed == 2 && d.server) http_server_close(d.server);
    mon_close(&mon);
    fo_destroy(d.fo); /* releases the lease if it was taken meanwhile */
    cli_feeds_stop(d.feeds);
    cli_forward_close(fwd);
    cache_close(&cache);
    sv_destroy(d.sv);
    tsdb_close(store);
    mt_registry_free(d.metrics);
    free(token_file);
    free(sock);
    close(lock_fd);
    return EXIT_FAIL;
  }
  uv_signal_init(d.loop, &d.sigterm);
  uv_signal_init(d.loop, &d.sigint);
  uv_signal_init(d.loop, &d.sighup);
  d.sigterm.data = d.sigint.data = d.sighup.data = &d;
  uv_signal_start(&d.sigterm, on_stop_signal, SIGTERM);
  uv_signal_start(&d.sigint, on_stop_signal, SIGINT);
  uv_signal_start(&d.sighup, on_hup, SIGHUP);
  uv_timer_init(d.loop, &d.watchdog);
  uint64_t wd_usec = 0;
  if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0)
    uv_timer_start(&d.watchdog, watchdog_cb, wd_usec / 2000, wd_usec / 2000);

  VG_INFO("vigil up", VF_S("version", VIGIL_VERSION), VF_I("pid", getpid()),
          VF_S("config", cfg->path), VF_S("state_dir", cfg->state_dir), VF_S("control", sock),
          VF_S("http", cfg->http.listen ? cfg->http.listen : "off"),
          VF_S("store", store ? cfg->store.dir : "off"),
          VF_I("services", cfg->n_services));
  for (size_t i = 0; i < cfg->n_services; i++) {
    char msg[1024];
    if (cfg_service_find_cmd(&cfg->services[i], msg, sizeof msg) < 0)
      VG_WARN("service program not found", VF_S("service", cfg->services[i].name),
              VF_S("error", msg));
  }
  if (cli_compute_schedule(d.loop, cli, cfg, d.metrics) < 0) VG_WARN("compute schedule not armed");
  struct cli_bridges *bridges = NULL;
  if (cli_bridges_start(d.loop, cfg, cache, &target, d.metrics, d.feeds, &bridges, err, sizeof err) < 0) {
    VG_ERROR("bridge not started", VF_S("error", err)); /* the services run all the same */
  }
  d.api.hooks.status = cli_bridges_status; /* the feeds' and the bridges' */
  d.api.hooks.status_arg = bridges;
  sv_start_all(d.sv);
  if (mon) mon_start(mon);
  if (sv_count(d.sv) == 0) on_state(&d, NULL, SV_STOPPED, SV_STOPPED);
  uv_run(d.loop, UV_RUN_DEFAULT);

  http_control_close(d.ctl);
  if (d.server) http_server_close(d.server);
  mon_close(&mon);         /* its last evaluation done, its notifiers flushed, its history saved */
  cli_feeds_stop(d.feeds); /* each writes what it has batched */
  cli_bridges_stop(bridges);
  fo_destroy(d.fo);
  sv_destroy(d.sv);
  uv_walk(d.loop, close_walk, NULL);
  uv_run(d.loop, UV_RUN_DEFAULT); /* also until every store job (/write, import) is done */
  cli_bridges_free(bridges); /* the file a bridge was reading is done too */
  cli_forward_close(fwd);   /* then the InfluxDB sink sends or spools what it holds */
  cache_close(&cache);      /* and the mirror writes what changed last */
  uv_loop_close(d.loop);
  cli_compute_schedule_free();
  tsdb_close(store); /* after the listeners: no request can still use it */
  mt_registry_free(d.metrics);
  free(token_file);
  free(sock);
  close(lock_fd);
  return d.exit_code;
}
