/*
 * Tests of the config module: a full config with every key, the defaults, one test
 * per kind of problem (exact message at exact line:col), several problems in one
 * file, env expansion, durations, signals and fingerprints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config/config.h"
#include "core/core.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---- */

static struct vg_config *load(const char *yaml, struct cfg_diags *d) {
  cfg_diags_init(d);
  return cfg_load_string("test.yaml", yaml, strlen(yaml), d);
}

/* Loads yaml, which must be valid, and returns the config (caller frees). */
static struct vg_config *load_ok(const char *yaml) {
  struct cfg_diags d;
  struct vg_config *cfg = load(yaml, &d);
  for (size_t i = 0; i < d.n; i++)
    print_error("unexpected: %d:%d: %s\n", d.items[i].pos.line, d.items[i].pos.col,
                d.items[i].msg);
  assert_int_equal(d.n, 0);
  assert_non_null(cfg);
  cfg_diags_free(&d);
  return cfg;
}

struct want {
  int line, col;
  const char *msg;
};

/* Loads yaml and checks that it fails with exactly the diagnostics in w, in order;
 * prints the difference and returns false otherwise. */
static bool check_diags(const char *yaml, const struct want *w, size_t n) {
  struct cfg_diags d;
  struct vg_config *cfg = load(yaml, &d);
  assert_null(cfg);
  bool same = d.n == n;
  for (size_t i = 0; same && i < n; i++)
    same = d.items[i].pos.line == w[i].line && d.items[i].pos.col == w[i].col &&
           strcmp(d.items[i].msg, w[i].msg) == 0;
  if (!same) {
    print_error("for:\n%s\ngot:\n", yaml);
    for (size_t i = 0; i < d.n; i++)
      print_error("  %d:%d: %s\n", d.items[i].pos.line, d.items[i].pos.col, d.items[i].msg);
    print_error("want:\n");
    for (size_t i = 0; i < n; i++) print_error("  %d:%d: %s\n", w[i].line, w[i].col, w[i].msg);
  }
  cfg_diags_free(&d);
  return same;
}

static void expect_diags(const char *yaml, const struct want *w, size_t n) {
  assert_true(check_diags(yaml, w, n));
}

/* A service "a" with cmd [x] followed by the given lines (indented 4). */
#define SVC(lines) "services:\n  a:\n    cmd: [x]\n" lines

/* ---- valid configs ---- */

static const char full_yaml[] =
    "state_dir: /srv/vigil/../vigil/./state/\n"
    "services:\n"
    "  db:\n"
    "    cmd: [postgres, -D, /var/lib/pg]\n"
    "    ready: {tcp: \"localhost:5432\"}\n"
    "  feed.v2:\n"
    "    cmd: [\"./feed\", \"--port\", \"9000\"]\n"
    "    env:\n"
    "      FEED_MODE: live\n"
    "      _LEVEL: 3\n"
    "    clear_env: true\n"
    "    cwd: /opt/feed\n"
    "    user: feed\n"
    "    group: market\n"
    "    role: active\n"
    "    depends_on: [db]\n"
    "    ready:\n"
    "      http: http://127.0.0.1:9000/healthz\n"
    "      timeout: 1m30s\n"
    "      interval: 250ms\n"
    "    restart:\n"
    "      policy: on-failure\n"
    "      delay: 2s\n"
    "      max_delay: 1m\n"
    "      jitter: 0.25\n"
    "      reset_after: 5m\n"
    "      max_restarts: 0\n"
    "      window: 1h\n"
    "    no_restart_exit_codes: [0, 2, 255]\n"
    "    stop:\n"
    "      signal: SIGINT\n"
    "      timeout: 20s\n"
    "    watchdog: 15s\n"
    "    log:\n"
    "      capture: true\n"
    "      echo: false\n"
    "      file: false\n"
    "      max_size: 5MiB\n"
    "      keep: 7\n"
    "    limits:\n"
    "      nofile: 65536\n"
    "      core: unlimited\n"
    "      as: 2GiB\n"
    "  sh-job_1:\n"
    "    shell: true\n"
    "    cmd: \"echo hi | tee /tmp/x\"\n"
    "    ready:\n"
    "      exec: [pg_isready, -q]\n"
    "    restart: never\n"
    "    stop: {signal: 1}\n"
    "  logger:\n"
    "    cmd: [tail, -f, x]\n"
    "    ready: {log: \"^listening on [0-9]+$\"}\n"
    "    limits: {core: 0, as: 1000}\n"
    "  notifier:\n"
    "    cmd: [n]\n"
    "    ready: {notify: true}\n"
    "failover: {node: n1, lease: {redis: \"127.0.0.1:6379\"}}\n";

static void test_full_config(void **state) {
  struct vg_config *cfg = load_ok(full_yaml);
  assert_string_equal(cfg->path, "test.yaml");
  assert_string_equal(cfg->state_dir, "/srv/vigil/state");
  assert_int_equal(cfg->n_services, 5);

  const struct cfg_service *db = cfg_find_service(cfg, "db");
  assert_non_null(db);
  assert_int_equal(db->pos.line, 3);
  assert_int_equal(db->pos.col, 3);
  assert_int_equal(db->ready.kind, CFG_PROBE_TCP);
  assert_string_equal(db->ready.target, "localhost:5432");

  const struct cfg_service *f = cfg_find_service(cfg, "feed.v2");
  assert_non_null(f);
  assert_ptr_equal(f, &cfg->services[1]);
  assert_int_equal(f->pos.line, 6);
  assert_int_equal(vg_strv_len(f->argv), 3);
  assert_string_equal(f->argv[0], "./feed");
  assert_string_equal(f->argv[1], "--port");
  assert_string_equal(f->argv[2], "9000");
  assert_false(f->shell);
  assert_int_equal(vg_strv_len(f->env), 2);
  assert_string_equal(f->env[0], "FEED_MODE=live");
  assert_string_equal(f->env[1], "_LEVEL=3");
  assert_true(f->clear_env);
  assert_string_equal(f->cwd, "/opt/feed");
  assert_string_equal(f->user, "feed");
  assert_string_equal(f->group, "market");
  assert_string_equal(f->role, "active");
  assert_int_equal(vg_strv_len(f->depends_on), 1);
  assert_string_equal(f->depends_on[0], "db");
  assert_int_equal(f->depends_pos[0].line, 16);
  assert_int_equal(f->depends_pos[0].col, 18);
  assert_int_equal(f->ready.kind, CFG_PROBE_HTTP);
  assert_string_equal(f->ready.target, "http://127.0.0.1:9000/healthz");
  assert_null(f->ready.argv);
  assert_int_equal(f->ready.timeout_ms, 90000);
  assert_int_equal(f->ready.interval_ms, 250);
  assert_int_equal(f->restart.policy, CFG_RESTART_ON_FAILURE);
  assert_int_equal(f->restart.delay_ms, 2000);
  assert_int_equal(f->restart.max_delay_ms, 60000);
  assert_true(f->restart.jitter == 0.25);
  assert_int_equal(f->restart.reset_after_ms, 300000);
  assert_int_equal(f->restart.max_restarts, 0);
  assert_int_equal(f->restart.window_ms, 3600000);
  assert_int_equal(f->n_no_restart_exit_codes, 3);
  assert_int_equal(f->no_restart_exit_codes[0], 0);
  assert_int_equal(f->no_restart_exit_codes[1], 2);
  assert_int_equal(f->no_restart_exit_codes[2], 255);
  assert_int_equal(f->stop.signal, SIGINT);
  assert_int_equal(f->stop.timeout_ms, 20000);
  assert_int_equal(f->watchdog_ms, 15000);
  assert_true(f->log.capture);
  assert_false(f->log.echo);
  assert_false(f->log.file);
  assert_int_equal(f->log.max_bytes, 5 * 1024 * 1024);
  assert_int_equal(f->log.keep, 7);
  assert_true(f->limits.nofile.set);
  assert_int_equal(f->limits.nofile.value, 65536);
  assert_true(f->limits.core.set);
  assert_true(f->limits.core.value == RLIM_INFINITY);
  assert_true(f->limits.as.set);
  assert_int_equal(f->limits.as.value, 2LL * 1024 * 1024 * 1024);

  const struct cfg_service *sh = cfg_find_service(cfg, "sh-job_1");
  assert_non_null(sh);
  assert_true(sh->shell);
  assert_int_equal(vg_strv_len(sh->argv), 3);
  assert_string_equal(sh->argv[0], "/bin/sh");
  assert_string_equal(sh->argv[1], "-c");
  assert_string_equal(sh->argv[2], "echo hi | tee /tmp/x");
  assert_int_equal(sh->ready.kind, CFG_PROBE_EXEC);
  assert_null(sh->ready.target);
  assert_int_equal(vg_strv_len(sh->ready.argv), 2);
  assert_string_equal(sh->ready.argv[0], "pg_isready");
  assert_string_equal(sh->ready.argv[1], "-q");
  assert_int_equal(sh->restart.policy, CFG_RESTART_NEVER);
  assert_int_equal(sh->restart.delay_ms, 1000); /* the scalar form keeps the defaults */
  assert_int_equal(sh->stop.signal, SIGHUP);
  assert_int_equal(sh->stop.timeout_ms, 10000);

  const struct cfg_service *lg = cfg_find_service(cfg, "logger");
  assert_int_equal(lg->ready.kind, CFG_PROBE_LOG);
  assert_string_equal(lg->ready.target, "^listening on [0-9]+$");
  assert_false(lg->limits.nofile.set);
  assert_true(lg->limits.core.set);
  assert_int_equal(lg->limits.core.value, 0);
  assert_int_equal(lg->limits.as.value, 1000);

  const struct cfg_service *nt = cfg_find_service(cfg, "notifier");
  assert_int_equal(nt->ready.kind, CFG_PROBE_NOTIFY);
  assert_null(nt->ready.target);

  assert_null(cfg_find_service(cfg, "nope"));
  cfg_free(cfg);
}

static void test_defaults(void **state) {
  struct vg_config *cfg = load_ok("services:\n  a:\n    cmd: [x]\n");
  char *cwd = getcwd(NULL, 0);
  char *want = vg_asprintf("%s/var/vigil", strcmp(cwd, "/") == 0 ? "" : cwd);
  assert_string_equal(cfg->state_dir, want);
  free(want);
  free(cwd);

  const struct cfg_service *s = &cfg->services[0];
  assert_string_equal(s->name, "a");
  assert_int_equal(vg_strv_len(s->argv), 1);
  assert_false(s->shell);
  assert_null(s->env);
  assert_false(s->clear_env);
  assert_null(s->cwd);
  assert_null(s->user);
  assert_null(s->group);
  assert_null(s->role);
  assert_null(s->depends_on);
  assert_int_equal(s->ready.kind, CFG_PROBE_NONE);
  assert_null(s->ready.target);
  assert_null(s->ready.argv);
  assert_int_equal(s->ready.timeout_ms, 30000);
  assert_int_equal(s->ready.interval_ms, 100);
  assert_int_equal(s->restart.policy, CFG_RESTART_ALWAYS);
  assert_int_equal(s->restart.delay_ms, 1000);
  assert_int_equal(s->restart.max_delay_ms, 30000);
  assert_true(s->restart.jitter == 0.1);
  assert_int_equal(s->restart.reset_after_ms, 60000);
  assert_int_equal(s->restart.max_restarts, 5);
  assert_int_equal(s->restart.window_ms, 60000);
  assert_int_equal(s->n_no_restart_exit_codes, 0);
  assert_int_equal(s->stop.signal, SIGTERM);
  assert_int_equal(s->stop.timeout_ms, 10000);
  assert_int_equal(s->watchdog_ms, 0);
  assert_true(s->log.capture);
  assert_true(s->log.echo);
  assert_true(s->log.file);
  assert_int_equal(s->log.max_bytes, 10 * 1024 * 1024);
  assert_int_equal(s->log.keep, 3);
  assert_false(s->limits.nofile.set);
  assert_false(s->limits.core.set);
  assert_false(s->limits.as.set);
  cfg_free(cfg);
}

static void test_no_services(void **state) {
  struct vg_config *cfg = load_ok("state_dir: /x\n");
  assert_int_equal(cfg->n_services, 0);
  assert_null(cfg_find_service(cfg, "a"));
  cfg_free(cfg);
}

/* Writes text to dir/name and returns the path (caller frees). */
static char *write_file(const char *dir, const char *name, const char *text) {
  char *path = vg_asprintf("%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
  assert_int_equal(fclose(f), 0);
  return path;
}

static void test_load_file_state_dir(void **state) {
  char tmpl[] = "/tmp/vigil-test-config-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  char *real = realpath(tmpl, NULL);
  char *sub = vg_asprintf("%s/etc", tmpl);
  assert_int_equal(mkdir(sub, 0700), 0);
  char *path = write_file(sub, "vigil.yaml", "state_dir: ../run/./x//y/\nservices: {}\n");

  struct cfg_diags d;
  cfg_diags_init(&d);
  struct vg_config *cfg = cfg_load(path, &d);
  assert_int_equal(d.n, 0);
  assert_non_null(cfg);
  assert_string_equal(cfg->path, path);
  char *want = vg_asprintf("%s/run/x/y", real);
  assert_string_equal(cfg->state_dir, want);
  free(want);
  cfg_free(cfg);

  /* The default is relative to the file too. */
  char *path2 = write_file(sub, "b.yaml", "services:\n  a: {cmd: [x]}\n");
  cfg = cfg_load(path2, &d);
  assert_non_null(cfg);
  want = vg_asprintf("%s/etc/var/vigil", real);
  assert_string_equal(cfg->state_dir, want);
  free(want);
  cfg_free(cfg);

  /* Problems in a file carry its positions. */
  char *path3 = write_file(sub, "c.yaml", "services:\n  a: {cmd: [x], shel: true}\n");
  cfg = cfg_load(path3, &d);
  assert_null(cfg);
  assert_int_equal(d.n, 1);
  assert_int_equal(d.items[0].pos.line, 2);
  assert_int_equal(d.items[0].pos.col, 17);
  assert_string_equal(d.items[0].msg, "unknown key 'shel' (did you mean 'shell'?)");
  cfg_diags_free(&d);

  /* The state_dir alone is found even in a file with problems elsewhere... */
  char *path4 = write_file(sub, "d.yaml", "state_dir: ../s\nservices:\n  a: {cmd: x, bogus: 1}\n");
  cfg_diags_init(&d);
  char *sd = cfg_load_state_dir(path4, &d);
  want = vg_asprintf("%s/s", real);
  assert_non_null(sd);
  assert_string_equal(sd, want);
  assert_int_equal(d.n, 0);
  free(sd);
  free(want);
  /* ...but not in one that is not YAML, nor when state_dir itself is bad. */
  char *path5 = write_file(sub, "e.yaml", "state_dir: [\n");
  assert_null(cfg_load_state_dir(path5, &d));
  assert_true(d.n > 0);
  cfg_diags_free(&d);
  cfg_diags_init(&d);
  char *path6 = write_file(sub, "f.yaml", "state_dir: ''\n");
  assert_null(cfg_load_state_dir(path6, &d));
  assert_int_equal(d.n, 1);
  cfg_diags_free(&d);
  unlink(path4);
  unlink(path5);
  unlink(path6);
  free(path4);
  free(path5);
  free(path6);

  unlink(path);
  unlink(path2);
  unlink(path3);
  rmdir(sub);
  rmdir(tmpl);
  free(path);
  free(path2);
  free(path3);
  free(sub);
  free(real);
}

static void test_load_missing_file(void **state) {
  struct cfg_diags d;
  cfg_diags_init(&d);
  assert_null(cfg_load("/nonexistent/vigil.yaml", &d));
  assert_int_equal(d.n, 1);
  assert_int_equal(d.items[0].pos.line, 0);
  assert_string_equal(d.items[0].msg,
                      "cannot open /nonexistent/vigil.yaml: No such file or directory");
  cfg_diags_free(&d);
}

static void test_load_not_a_config(void **state) {
  struct cfg_diags d;
  cfg_diags_init(&d);
  assert_null(cfg_load("/dev/zero", &d));
  assert_int_equal(d.n, 1);
  assert_string_equal(d.items[0].msg, "cannot read /dev/zero: larger than 16 MiB");
  cfg_diags_free(&d);

  cfg_diags_init(&d);
  assert_null(cfg_load("/", &d));
  assert_int_equal(d.n, 1);
  assert_string_equal(d.items[0].msg, "cannot read /: Is a directory");
  cfg_diags_free(&d);
}

static void test_http_section(void **state) {
  struct cfg_diags d;
  cfg_diags_init(&d);
  const char *def = "services: {}\n";
  struct vg_config *cfg = cfg_load_string("/etc/vigil/x.yaml", def, strlen(def), &d);
  assert_non_null(cfg);
  assert_string_equal(cfg->http.listen, "127.0.0.1:9464");
  assert_string_equal(cfg->http.host, "127.0.0.1");
  assert_int_equal(cfg->http.port, 9464);
  assert_null(cfg->http.token_file);
  cfg_free(cfg);

  const char *v6 = "http: {listen: \"[::1]:9000\", token_file: /run/tok}\n";
  cfg = cfg_load_string("/x.yaml", v6, strlen(v6), &d);
  assert_non_null(cfg);
  assert_string_equal(cfg->http.host, "::1");
  assert_int_equal(cfg->http.port, 9000);
  assert_string_equal(cfg->http.token_file, "/run/tok");
  cfg_free(cfg);

  const char *off = "http: {listen: off}\n";
  cfg = cfg_load_string("/x.yaml", off, strlen(off), &d);
  assert_non_null(cfg);
  assert_null(cfg->http.listen);
  cfg_free(cfg);

  const char *bad = "http:\n  listen: \"127.0.0.1:70000\"\n  tokenfile: x\n";
  cfg = cfg_load_string("/x.yaml", bad, strlen(bad), &d);
  assert_null(cfg);
  assert_int_equal(d.n, 2);
  assert_int_equal(d.items[0].pos.line, 2);
  assert_int_equal(d.items[0].pos.col, 11);
  assert_non_null(strstr(d.items[0].msg, "bad listen address '127.0.0.1:70000'"));
  assert_string_equal(d.items[1].msg, "unknown key 'tokenfile' (did you mean 'token_file'?)");
  cfg_diags_free(&d);

  const char *hosts = "http: {allowed_hosts: [vigil.lan, 10.0.0.7, \"fe80::1\"]}\n";
  cfg_diags_init(&d);
  cfg = cfg_load_string("/x.yaml", hosts, strlen(hosts), &d);
  assert_non_null(cfg);
  assert_int_equal(vg_strv_len(cfg->http.allowed_hosts), 3);
  assert_string_equal(cfg->http.allowed_hosts[0], "vigil.lan");
  assert_string_equal(cfg->http.allowed_hosts[2], "fe80::1");
  cfg_free(cfg);
  const char *bad_hosts = "http:\n  allowed_hosts: [ok.lan, \"evil.lan:80\", \"a b\"]\n";
  cfg = cfg_load_string("/x.yaml", bad_hosts, strlen(bad_hosts), &d);
  assert_null(cfg);
  assert_int_equal(d.n, 2);
  assert_int_equal(d.items[0].pos.line, 2);
  assert_int_equal(d.items[0].pos.col, 27);
  assert_string_equal(d.items[0].msg, "bad host name 'evil.lan:80' in allowed_hosts: letters, digits, "
                                      "'-' and '.', or an IP address, without a port");
  assert_non_null(strstr(d.items[1].msg, "bad host name 'a b'"));
  cfg_diags_free(&d);
}

static void test_state_dir_absolute(void **state) {
  struct vg_config *cfg = load_ok("state_dir: /a/b/../../..//c/.\n");
  assert_string_equal(cfg->state_dir, "/c");
  cfg_free(cfg);
  cfg = load_ok("state_dir: /\n");
  assert_string_equal(cfg->state_dir, "/");
  cfg_free(cfg);
}

static void test_aliases(void **state) {
  struct vg_config *cfg = load_ok("services:\n"
                                  "  a: &svc\n"
                                  "    cmd: &argv [run, --fast]\n"
                                  "  b: *svc\n"
                                  "  c:\n"
                                  "    cmd: *argv\n");
  assert_int_equal(cfg->n_services, 3);
  assert_string_equal(cfg->services[1].argv[1], "--fast");
  assert_string_equal(cfg->services[2].argv[0], "run");
  assert_true(cfg->services[0].fingerprint == cfg->services[1].fingerprint);
  assert_true(cfg->services[0].fingerprint == cfg->services[2].fingerprint);
  cfg_free(cfg);
}

/* Scalars in every YAML style reach the config decoded. The single-quoted cases
 * are decoded by vigil itself (libfyaml 0.7.12 gets consecutive '' wrong). */
static void test_quoting(void **state) {
  struct vg_config *cfg = load_ok("services:\n"
                                  "  a:\n"
                                  "    cmd:\n"
                                  "      - 'x''y'\n"
                                  "      - 'x''''y'\n"
                                  "      - ''''''''''''\n"
                                  "      - 'a\n"
                                  "         b  \n"
                                  "\n"
                                  "        c '\n"
                                  "      - \"q\\\"\\\"\\\"\\t\\u00e9\"\n"
                                  "      - |\n"
                                  "        lit\n"
                                  "        eral\n"
                                  "      - >-\n"
                                  "        fol\n"
                                  "        ded\n"
                                  "      - plain\n"
                                  "        two lines\n"
                                  "      - ''\n");
  char **v = cfg->services[0].argv;
  assert_int_equal(vg_strv_len(v), 9);
  assert_string_equal(v[0], "x'y");
  assert_string_equal(v[1], "x''y");
  assert_string_equal(v[2], "'''''");
  assert_string_equal(v[3], "a b\nc ");
  assert_string_equal(v[4], "q\"\"\"\t\xc3\xa9");
  assert_string_equal(v[5], "lit\neral\n");
  assert_string_equal(v[6], "fol ded");
  assert_string_equal(v[7], "plain two lines");
  assert_string_equal(v[8], "");
  cfg_free(cfg);
}

/* ---- one problem each ---- */

struct bad {
  const char *yaml;
  int line, col;
  const char *msg;
};

static const struct bad bad_configs[] = {
    {"servces: {}\n", 1, 1, "unknown key 'servces' (did you mean 'services'?)"},
    {"state_dri: /x\n", 1, 1, "unknown key 'state_dri' (did you mean 'state_dir'?)"},
    {"colour: red\n", 1, 1, "unknown key 'colour'"},
    {SVC("    dependson: []\n"), 4, 5, "unknown key 'dependson' (did you mean 'depends_on'?)"},
    {SVC("    restart: {dealy: 1s}\n"), 4, 15, "unknown key 'dealy' (did you mean 'delay'?)"},
    {SVC("    ready: {log: x, tmeout: 1s}\n"), 4, 21,
     "unknown key 'tmeout' (did you mean 'timeout'?)"},
    {SVC("    stop: {sig: TERM}\n"), 4, 12, "unknown key 'sig'"},
    {SVC("    log: {kep: 3}\n"), 4, 11, "unknown key 'kep' (did you mean 'keep'?)"},
    {SVC("    limits: {nofiles: 3}\n"), 4, 14, "unknown key 'nofiles' (did you mean 'nofile'?)"},
    {"services:\n  a:\n    cmd: {x: 1}\n", 3, 10, "expected a list of strings, got a mapping"},
    {"services:\n  a:\n    cmd: [x, [y]]\n", 3, 14, "expected a string, got a list"},
    {SVC("    env: [A=1]\n"), 4, 10, "expected a mapping of NAME: value, got a list"},
    {SVC("    ready: notify\n"), 4, 12, "expected a mapping, got 'notify'"},
    {SVC("    cwd:\n"), 4, 8, "expected a string, got null"},
    {"services: [a]\n", 1, 11, "expected a mapping of services, got a list"},
    {"services:\n  a: run\n", 2, 6, "expected a mapping, got 'run'"},
    {SVC("    watchdog: 30x\n"), 4, 15,
     "bad duration '30x': expected a number followed by ms, s, m, h or d"},
    {SVC("    stop: {timeout: 30}\n"), 4, 21,
     "bad duration '30': expected a number followed by ms, s, m, h or d"},
    {"services:\n"
     "  a: {cmd: [x], depends_on: [b]}\n"
     "  b: {cmd: [x], depends_on: [a]}\n",
     2, 3, "dependency cycle: a -> b -> a"},
    {"services:\n"
     "  x: {cmd: [x], depends_on: [c]}\n"
     "  a: {cmd: [x], depends_on: [b]}\n"
     "  b: {cmd: [x], depends_on: [c]}\n"
     "  c: {cmd: [x], depends_on: [a]}\n",
     3, 3, "dependency cycle: a -> b -> c -> a"},
    {"services:\n  feed: {cmd: [x]}\n  web: {cmd: [x], depends_on: [fed]}\n", 3, 32,
     "unknown service 'fed' in depends_on (did you mean 'feed'?)"},
    {"services:\n  feed: {cmd: [x]}\n  web: {cmd: [x], depends_on: [database]}\n", 3, 32,
     "unknown service 'database' in depends_on"},
    {"services:\n  web: {cmd: [x], depends_on: [web]}\n", 2, 32, "service 'web' depends on itself"},
    {"services:\n  a: {cmd: [x]}\n  b: {cmd: [x], depends_on: [a, a]}\n", 3, 33,
     "'a' is listed twice in depends_on"},
    {"services:\n  web:\n    env: {A: b}\n", 2, 3, "service 'web' has no cmd"},
    {"services:\n  web:\n    cmd: ./web --port 80\n", 3, 10,
     "cmd is a string: write it as a list [program, args...] or set shell: true"},
    {"services:\n  web:\n    shell: true\n    cmd: [./web]\n", 4, 10,
     "shell: true needs cmd as one string"},
    {"services:\n  web:\n    cmd: []\n", 3, 10, "cmd is empty"},
    {"services:\n  web:\n    cmd: [\"\"]\n", 3, 11, "the program name is empty"},
    {"services:\n  web:\n    shell: yes\n    cmd: \"x\"\n", 3, 12,
     "expected true or false, got 'yes'"},
    {SVC("    ready: {tcp: \"h:1\", http: \"http://h/\"}\n"), 4, 25,
     "ready has more than one probe (tcp and http): keep one"},
    {SVC("    ready: {log: x, exec: [y], notify: true}\n"), 4, 21,
     "ready has more than one probe (log, exec and notify): keep one"},
    {SVC("    ready: {timeout: 5s}\n"), 4, 12,
     "ready needs one probe: tcp, http, exec, log, notify or fresh"},
    {SVC("    ready: {log: \"a(\"}\n"), 4, 18, "bad regex 'a(': Unmatched ( or \\("},
    {SVC("    ready: {tcp: \"localhost:0\"}\n"), 4, 18,
     "bad port '0' in 'localhost:0': expected 1..65535"},
    {SVC("    ready: {tcp: \"localhost:65536\"}\n"), 4, 18,
     "bad port '65536' in 'localhost:65536': expected 1..65535"},
    {SVC("    ready: {tcp: \"9000\"}\n"), 4, 18, "bad tcp address '9000': expected host:port"},
    {SVC("    ready: {tcp: \":9000\"}\n"), 4, 18, "bad tcp address ':9000': expected host:port"},
    {SVC("    ready: {http: \"https://h/\"}\n"), 4, 19,
     "https is not supported by the http probe: use http://"},
    {SVC("    ready: {http: \"h:80/x\"}\n"), 4, 19,
     "bad url 'h:80/x': expected http://host[:port]/path"},
    {SVC("    ready: {http: \"http://h:x/\"}\n"), 4, 19,
     "bad port 'x' in 'http://h:x/': expected 1..65535"},
    {SVC("    ready: {exec: []}\n"), 4, 19, "exec is empty"},
    {SVC("    ready: {notify: false}\n"), 4, 21,
     "notify must be true (leave out ready for no probe)"},
    {SVC("    ready: {log: x, interval: 0}\n"), 4, 31, "interval must be more than 0"},
    {SVC("    stop: {signal: TREM}\n"), 4, 20,
     "bad signal 'TREM': expected a name like TERM or SIGTERM, or a number 1..64"},
    {SVC("    stop: {signal: 65}\n"), 4, 20,
     "bad signal '65': expected a name like TERM or SIGTERM, or a number 1..64"},
    {SVC("    no_restart_exit_codes: [1, 300]\n"), 4, 32,
     "exit code must be between 0 and 255, got '300'"},
    {SVC("    no_restart_exit_codes: [one]\n"), 4, 29, "expected an integer, got 'one'"},
    {SVC("    no_restart_exit_codes: 1\n"), 4, 28, "expected a list of exit codes, got '1'"},
    {SVC("    restart: {delay: 5s, max_delay: 1s}\n"), 4, 37,
     "max_delay (1s) is less than delay (5s)"},
    {SVC("    restart: {delay: 1m}\n"), 4, 22,
     "delay (1m) is more than the default max_delay (30s): set max_delay too"},
    {SVC("    restart: sometimes\n"), 4, 14,
     "bad restart policy 'sometimes': expected always, on-failure or never"},
    {SVC("    restart: {jitter: 1.5}\n"), 4, 23, "jitter must be between 0 and 1, got '1.5'"},
    {SVC("    restart: {jitter: lots}\n"), 4, 23, "expected a number, got 'lots'"},
    {SVC("    restart: {max_restarts: -1}\n"), 4, 29,
     "max_restarts must be between 0 and 2147483647, got '-1'"},
    {SVC("    restart: [always]\n"), 4, 14, "expected a policy or a mapping, got a list"},
    {SVC("    log: {max_size: 10XB}\n"), 4, 21,
     "bad size '10XB': expected a number of bytes, optionally followed by B, KB, MB, GB, KiB, "
     "MiB or GiB"},
    {SVC("    log: {max_size: 0}\n"), 4, 21, "max_size must be more than 0"},
    {SVC("    log: {keep: 101}\n"), 4, 17, "keep must be between 0 and 100, got '101'"},
    {SVC("    log: {echo: no}\n"), 4, 17, "expected true or false, got 'no'"},
    {SVC("    limits: {nofile: -1}\n"), 4, 22,
     "bad limit '-1': expected a number 0 or more, or unlimited"},
    {SVC("    limits: {as: 1GB2}\n"), 4, 18,
     "bad limit '1GB2': expected a size (like 512MiB) or unlimited"},
    {SVC("    role: primary\n"), 4, 11, "bad role 'primary': expected active or standby"},
    {SVC("    cwd: \"\"\n"), 4, 10, "cwd is empty"},
    {SVC("    env:\n      A-B: x\n"), 5, 7,
     "bad environment variable name 'A-B': use letters, digits and '_', not starting with a "
     "digit"},
    {SVC("    user: ${VIGIL_TEST_UNSET}\n"), 4, 11,
     "environment variable 'VIGIL_TEST_UNSET' is not set"},
    {SVC("    user: x-${VIGIL_TEST_UNSET}-y\n"), 4, 13,
     "environment variable 'VIGIL_TEST_UNSET' is not set"},
    {SVC("    user: \"x-${VIGIL_TEST_UNSET}\"\n"), 4, 11,
     "environment variable 'VIGIL_TEST_UNSET' is not set"},
    {SVC("    user: x${NO\n"), 4, 12, "unterminated '${' (missing '}')"},
    {SVC("    user: ${A-b}\n"), 4, 11,
     "bad variable reference '${A-b}': use ${NAME} or ${NAME:-default} where NAME is letters, "
     "digits and '_'"},
    {"services:\n  a b: {cmd: [x]}\n", 2, 3,
     "bad service name 'a b': use up to 64 letters, digits, '_', '.' or '-', starting with a "
     "letter or digit"},
    {"services:\n  -a: {cmd: [x]}\n", 2, 3,
     "bad service name '-a': use up to 64 letters, digits, '_', '.' or '-', starting with a "
     "letter or digit"},
    {"services:\n  a:\n    cmd: [x]\n  a:\n    cmd: [y]\n", 4, 3, "duplicate key 'a' (first at line 2)"},
    {SVC("    cmd: [y]\n"), 4, 5, "duplicate key 'cmd' (first at line 3)"},
    {"services:\n  a:\n    cmd: [x\n", 4, 1,
     "YAML syntax error: flow sequence without a closing bracket"},
    {"services: a: b\n", 1, 12, "YAML syntax error: invalid nested block mapping on the same line"},
    {"services:\n  a:\n\tcmd: [x]\n", 3, 1,
     "YAML syntax error: tab character may not be used as indentation"},
    {"", 1, 1, "the config is empty: expected a mapping with services"},
    {"# nothing\n\n", 1, 1, "the config is empty: expected a mapping with services"},
    {"- a\n- b\n", 1, 1, "expected a mapping, got a list"},
    {"just text\n", 1, 1, "expected a mapping, got 'just text'"},
    {"services: {}\n---\nservices: {}\n", 2, 1, "the config must be a single YAML document"},
    {"services: *nope\n", 1, 12, "unknown alias '*nope'"},
    {SVC("    <<: {cwd: /}\n"), 4, 5, "merge keys (<<) are not supported"},
    {"services:\n  a:\n    cmd: [\"\\0\"]\n", 3, 11, "a value cannot hold a NUL character"},
    {"services: {}\nx: \xff\n", 2, 4, "invalid UTF-8 byte 0xff"},
    {"services: {}\nx: a\x01\n", 2, 5, "control character 0x01 is not allowed"},
};

static void test_bad_configs(void **state) {
  unsetenv("VIGIL_TEST_UNSET");
  size_t failed = 0;
  for (size_t i = 0; i < VG_ARRAY_LEN(bad_configs); i++) {
    struct want w = {bad_configs[i].line, bad_configs[i].col, bad_configs[i].msg};
    failed += !check_diags(bad_configs[i].yaml, &w, 1);
  }
  assert_int_equal(failed, 0);
}

static void test_many_problems(void **state) {
  unsetenv("VIGIL_TEST_UNSET");
  static const char yaml[] = "servces: 1\n"
                             "services:\n"
                             "  feed:\n"
                             "    cmd: ./feed\n"
                             "    ready: {tcp: \"h:0\", timeout: 30x}\n"
                             "  web:\n"
                             "    cmd: [web, \"${VIGIL_TEST_UNSET}\"]\n"
                             "    depends_on: [fed, web]\n"
                             "    stop: {signal: NOPE}\n"
                             "    restart: {policy: always, policy: never}\n"
                             "  a: {cmd: [x], depends_on: [b]}\n"
                             "  b: {cmd: [x], depends_on: [a]}\n";
  static const struct want w[] = {
      {1, 1, "unknown key 'servces' (did you mean 'services'?)"},
      {4, 10, "cmd is a string: write it as a list [program, args...] or set shell: true"},
      {5, 18, "bad port '0' in 'h:0': expected 1..65535"},
      {5, 34, "bad duration '30x': expected a number followed by ms, s, m, h or d"},
      {7, 16, "environment variable 'VIGIL_TEST_UNSET' is not set"},
      {8, 18, "unknown service 'fed' in depends_on (did you mean 'feed'?)"},
      {8, 23, "service 'web' depends on itself"},
      {9, 20, "bad signal 'NOPE': expected a name like TERM or SIGTERM, or a number 1..64"},
      {10, 31, "duplicate key 'policy' (first at line 10)"},
      {11, 3, "dependency cycle: a -> b -> a"},
  };
  expect_diags(yaml, w, VG_ARRAY_LEN(w));
}

static void test_diags_print(void **state) {
  struct cfg_diags d;
  struct vg_config *cfg = load("services:\n  a: {cmdd: [x]}\n", &d);
  assert_null(cfg);
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  cfg_diags_print(&d, "conf/vigil.yaml", f);
  fclose(f);
  assert_string_equal(out, "conf/vigil.yaml:2:3: service 'a' has no cmd\n"
                           "conf/vigil.yaml:2:7: unknown key 'cmdd' (did you mean 'cmd'?)\n");
  free(out);
  cfg_diags_free(&d);

  cfg_diags_init(&d);
  cfg_diag_add(&d, (struct cfg_pos){0, 0}, "cannot open %s", "x");
  cfg_diag_add(&d, (struct cfg_pos){3, 4}, "two\nlines");
  f = open_memstream(&out, &len);
  cfg_diags_print(&d, "x", f);
  fclose(f);
  assert_string_equal(out, "x: cannot open x\nx:3:4: two\\nlines\n");
  free(out);
  cfg_diags_free(&d);
}

/* ---- env expansion ---- */

static void test_expand_env(void **state) {
  setenv("VIGIL_T_A", "alpha", 1);
  setenv("VIGIL_T_EMPTY", "", 1);
  unsetenv("VIGIL_T_UNSET");
  static const struct {
    const char *in, *out;
  } ok[] = {
      {"plain", "plain"},
      {"", ""},
      {"${VIGIL_T_A}", "alpha"},
      {"x${VIGIL_T_A}y${VIGIL_T_A}", "xalphayalpha"},
      {"${VIGIL_T_UNSET:-dflt}", "dflt"},
      {"${VIGIL_T_EMPTY:-dflt}", "dflt"},
      {"${VIGIL_T_A:-dflt}", "alpha"},
      {"${VIGIL_T_UNSET:-}", ""},
      {"${VIGIL_T_EMPTY}", ""},
      {"${VIGIL_T_UNSET:-a b:c}", "a b:c"},
      {"$$", "$"},
      {"$${VIGIL_T_A}", "${VIGIL_T_A}"},
      {"cost: 5$", "cost: 5$"},
      {"$VIGIL_T_A", "$VIGIL_T_A"},
      {"a$b$", "a$b$"},
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(ok); i++) {
    char err[128] = "";
    size_t where = 99;
    char *s = cfg_expand_env(ok[i].in, err, sizeof err, &where);
    if (!s) print_error("%s: %s\n", ok[i].in, err);
    assert_non_null(s);
    assert_string_equal(s, ok[i].out);
    free(s);
  }
  static const struct {
    const char *in;
    size_t where;
    const char *err;
  } bad[] = {
      {"${VIGIL_T_UNSET}", 0, "environment variable 'VIGIL_T_UNSET' is not set"},
      {"ab${VIGIL_T_UNSET}", 2, "environment variable 'VIGIL_T_UNSET' is not set"},
      {"x ${VIGIL_T_A", 2, "unterminated '${' (missing '}')"},
      {"${}", 0,
       "bad variable reference '${}': use ${NAME} or ${NAME:-default} where NAME is letters, "
       "digits and '_'"},
      {"${1A}", 0,
       "bad variable reference '${1A}': use ${NAME} or ${NAME:-default} where NAME is letters, "
       "digits and '_'"},
      {"$$${A B}", 2,
       "bad variable reference '${A B}': use ${NAME} or ${NAME:-default} where NAME is letters, "
       "digits and '_'"},
      {"${A:=x}", 0,
       "bad variable reference '${A:=x}': use ${NAME} or ${NAME:-default} where NAME is "
       "letters, digits and '_'"},
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
    char err[256] = "";
    size_t where = 99;
    assert_null(cfg_expand_env(bad[i].in, err, sizeof err, &where));
    assert_string_equal(err, bad[i].err);
    assert_int_equal(where, bad[i].where);
  }
  unsetenv("VIGIL_T_A");
  unsetenv("VIGIL_T_EMPTY");
}

static void test_expand_in_config(void **state) {
  setenv("VIGIL_T_PORT", "9100", 1);
  setenv("VIGIL_T_DIR", "/data", 1);
  unsetenv("VIGIL_T_UNSET");
  struct vg_config *cfg = load_ok("state_dir: ${VIGIL_T_DIR}/state\n"
                                  "services:\n"
                                  "  a:\n"
                                  "    cmd: [srv, \"--port=${VIGIL_T_PORT}\"]\n"
                                  "    env: {COST: 5$$, MODE: \"${VIGIL_T_UNSET:-dev}\"}\n"
                                  "    ready: {tcp: \"localhost:${VIGIL_T_PORT}\"}\n"
                                  "    watchdog: ${VIGIL_T_UNSET:-2s}\n");
  assert_string_equal(cfg->state_dir, "/data/state");
  const struct cfg_service *s = &cfg->services[0];
  assert_string_equal(s->argv[1], "--port=9100");
  assert_string_equal(s->env[0], "COST=5$");
  assert_string_equal(s->env[1], "MODE=dev");
  assert_string_equal(s->ready.target, "localhost:9100");
  assert_int_equal(s->watchdog_ms, 2000);
  cfg_free(cfg);
  unsetenv("VIGIL_T_PORT");
  unsetenv("VIGIL_T_DIR");
}

/* ---- scalars ---- */

static void test_durations(void **state) {
  static const struct {
    const char *s;
    int64_t ms;
  } ok[] = {
      {"0", 0},           {"0s", 0},           {"250ms", 250},        {"30s", 30000},
      {"5m", 300000},     {"1h", 3600000},     {"1d", 86400000},      {"1h30m", 5400000},
      {"1m30s", 90000},   {"2s500ms", 2500},   {"1d1h1m1s1ms", 90061001},
      {"9223372036854775807ms", INT64_MAX},
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(ok); i++) {
    int64_t ms = -1;
    assert_int_equal(cfg_parse_duration(ok[i].s, &ms), 0);
    assert_int_equal(ms, ok[i].ms);
  }
  static const char *const bad[] = {
      "",     "30",   "30x",  "-1s",  "+1s",   "1.5s", " 1s",  "1s ", "s",  "1 s", "1S", "1sec",
      "00",   "1h30", "ms",   "1hm",  "9223372036854775808ms", "9223372036854775807s",
      "106751991167301d",
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
    int64_t ms = 42;
    if (cfg_parse_duration(bad[i], &ms) == 0) print_error("accepted '%s'\n", bad[i]);
    assert_int_equal(cfg_parse_duration(bad[i], &ms), -1);
    assert_int_equal(ms, 42);
  }
}

static void test_signals(void **state) {
  assert_int_equal(cfg_parse_signal("TERM"), SIGTERM);
  assert_int_equal(cfg_parse_signal("SIGTERM"), SIGTERM);
  assert_int_equal(cfg_parse_signal("sigterm"), SIGTERM);
  assert_int_equal(cfg_parse_signal("INT"), SIGINT);
  assert_int_equal(cfg_parse_signal("HUP"), SIGHUP);
  assert_int_equal(cfg_parse_signal("QUIT"), SIGQUIT);
  assert_int_equal(cfg_parse_signal("KILL"), SIGKILL);
  assert_int_equal(cfg_parse_signal("USR1"), SIGUSR1);
  assert_int_equal(cfg_parse_signal("SIGUSR2"), SIGUSR2);
  assert_int_equal(cfg_parse_signal("15"), 15);
  assert_int_equal(cfg_parse_signal("1"), 1);
  assert_int_equal(cfg_parse_signal("64"), 64);
  assert_int_equal(cfg_parse_signal("0"), -1);
  assert_int_equal(cfg_parse_signal("65"), -1);
  assert_int_equal(cfg_parse_signal("-9"), -1);
  assert_int_equal(cfg_parse_signal("SIG"), -1);
  assert_int_equal(cfg_parse_signal(""), -1);
  assert_int_equal(cfg_parse_signal("TERMS"), -1);
}

static void test_names(void **state) {
  assert_string_equal(cfg_probe_kind_name(CFG_PROBE_NONE), "none");
  assert_string_equal(cfg_probe_kind_name(CFG_PROBE_TCP), "tcp");
  assert_string_equal(cfg_probe_kind_name(CFG_PROBE_HTTP), "http");
  assert_string_equal(cfg_probe_kind_name(CFG_PROBE_EXEC), "exec");
  assert_string_equal(cfg_probe_kind_name(CFG_PROBE_LOG), "log");
  assert_string_equal(cfg_probe_kind_name(CFG_PROBE_NOTIFY), "notify");
  assert_string_equal(cfg_restart_policy_name(CFG_RESTART_ALWAYS), "always");
  assert_string_equal(cfg_restart_policy_name(CFG_RESTART_ON_FAILURE), "on-failure");
  assert_string_equal(cfg_restart_policy_name(CFG_RESTART_NEVER), "never");
}

static void test_sizes_and_limits(void **state) {
  struct vg_config *cfg = load_ok(SVC("    log: {max_size: 1KB}\n"
                                      "    limits: {nofile: unlimited, core: 3MB, as: 1KiB}\n"));
  const struct cfg_service *s = &cfg->services[0];
  assert_int_equal(s->log.max_bytes, 1000);
  assert_true(s->limits.nofile.value == RLIM_INFINITY);
  assert_int_equal(s->limits.core.value, 3000000);
  assert_int_equal(s->limits.as.value, 1024);
  cfg_free(cfg);
  cfg = load_ok(SVC("    log: {max_size: 7B}\n    limits: {as: 3GB}\n"));
  assert_int_equal(cfg->services[0].log.max_bytes, 7);
  assert_int_equal(cfg->services[0].limits.as.value, 3000000000LL);
  cfg_free(cfg);
}

/* The log probe's regex: regcomp judges syntax, and patterns whose repetitions
 * would make glibc's regcomp explode are refused before it sees them. */
static void test_log_regex(void **state) {
  static const char *const ok[] = {
      "^ready$", "listening on [0-9]{1,5}", "(ab|cd){2,3}x", "[]{}]{3}", "a{1000}",
      "(a{10}){100}", "[[:digit:]]+ ok", "\\{9999999}", "a{1,}", "a*b+c?(d*)*",
      "x(((((((((a*)*)*)*)*)*)*)*)*)",
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(ok); i++) {
    char *yaml = vg_asprintf(SVC("    ready: {log: '%s'}\n"), ok[i]);
    struct vg_config *cfg = load_ok(yaml);
    assert_string_equal(cfg->services[0].ready.target, ok[i]);
    cfg_free(cfg);
    free(yaml);
  }
  static const char *const big[] = {
      "a{1001}", "a{1000}{1000}", "((a{10}){10}){11}", "(x|y{2000})", "a{9999999999999}",
      "(a+){501}", "x++++++++++++++++++++", "x(((((((((((a*)*)*)*)*)*)*)*)*)*)*)",
      "^l**************************************************************************$",
  };
  for (size_t i = 0; i < VG_ARRAY_LEN(big); i++) {
    char *yaml = vg_asprintf(SVC("    ready: {log: '%s'}\n"), big[i]);
    char *msg = vg_asprintf(
        "bad regex '%s': too large once its repetitions are expanded (limit 1000 elements)",
        big[i]);
    struct want w = {4, 18, msg};
    expect_diags(yaml, &w, 1);
    free(msg);
    free(yaml);
  }

  /* Deep nesting is refused without deep recursion. */
  struct vg_buf re;
  vg_buf_init(&re);
  for (int i = 0; i < 5000; i++) vg_buf_putc(&re, '(');
  vg_buf_putc(&re, 'a');
  for (int i = 0; i < 5000; i++) vg_buf_putc(&re, ')');
  char *yaml = vg_asprintf(SVC("    ready: {log: '%s'}\n"), re.data);
  struct cfg_diags d;
  assert_null(load(yaml, &d));
  assert_int_equal(d.n, 1);
  assert_int_equal(strncmp(d.items[0].msg, "bad regex '((((", 15), 0);
  cfg_diags_free(&d);
  free(yaml);
  vg_buf_free(&re);
}

/* ---- fingerprints ---- */

static uint64_t fingerprint_of(const char *service_lines) {
  char *yaml = vg_asprintf("failover: {node: n, lease: {redis: \"h:1\"}}\nservices:\n  s:\n%s",
                           service_lines);
  struct vg_config *cfg = load_ok(yaml);
  uint64_t h = cfg->services[0].fingerprint;
  cfg_free(cfg);
  free(yaml);
  return h;
}

static void test_failover(void **state) {
  struct vg_config *cfg = load_ok(
      "failover:\n"
      "  node: host-a\n"
      "  lease: {redis: \"10.0.0.9:6379\", key: \"trading:lease\"}\n"
      "  ttl: 2s\n"
      "  cooldown: 5m\n"
      "  promote:\n"
      "    - redis_promote: \"127.0.0.1:6380\"\n"
      "    - {exec: [notify, up], timeout: 3s}\n"
      "  demote:\n"
      "    - redis_replicate: {replica: \"127.0.0.1:6380\", primary: \"10.0.0.2:6380\"}\n"
      "services:\n"
      "  bot: {cmd: [bot], role: active}\n"
      "  replica: {cmd: [r], role: standby}\n"
      "  any: {cmd: [x]}\n");
  const struct cfg_failover *fo = cfg->failover;
  assert_non_null(fo);
  assert_string_equal(fo->node, "host-a");
  assert_int_equal(fo->backend, CFG_LEASE_REDIS);
  assert_string_equal(fo->redis_host, "10.0.0.9");
  assert_int_equal(fo->redis_port, 6379);
  assert_string_equal(fo->key, "trading:lease");
  assert_int_equal(fo->ttl_ms, 2000);
  assert_int_equal(fo->renew_ms, 500);   /* ttl/4 */
  assert_int_equal(fo->timeout_ms, 250); /* renew/2 */
  assert_int_equal(fo->margin_ms, 500);  /* ttl/4 */
  assert_int_equal(fo->cooldown_ms, 300000);
  assert_int_equal(fo->n_promote, 2);
  assert_int_equal(fo->promote[0].kind, CFG_FO_REDIS_PROMOTE);
  assert_string_equal(fo->promote[0].target, "127.0.0.1:6380");
  assert_int_equal(fo->promote[1].kind, CFG_FO_EXEC);
  assert_string_equal(fo->promote[1].argv[1], "up");
  assert_int_equal(fo->promote[1].timeout_ms, 3000);
  assert_int_equal(fo->n_demote, 1);
  assert_string_equal(fo->demote[0].primary, "10.0.0.2:6380");
  assert_string_equal(cfg->services[1].role, "standby");
  /* the daemon's copy outlives the config; equal key for key until one changes */
  struct cfg_failover *copy = cfg_failover_dup(fo);
  assert_true(cfg_failover_equal(copy, fo));
  assert_true(copy->promote[1].argv != fo->promote[1].argv);
  copy->promote[1].timeout_ms++;
  assert_false(cfg_failover_equal(copy, fo));
  assert_false(cfg_failover_equal(NULL, fo));
  assert_true(cfg_failover_equal(NULL, NULL));
  cfg_free(cfg);
  assert_string_equal(copy->demote[0].primary, "10.0.0.2:6380");
  cfg_failover_free(copy);

  cfg = load_ok("failover: {node: b, lease: {postgres: \"host=/tmp dbname=x\"}}\n");
  assert_int_equal(cfg->failover->backend, CFG_LEASE_POSTGRES);
  assert_string_equal(cfg->failover->conninfo, "host=/tmp dbname=x");
  assert_string_equal(cfg->failover->key, "vigil:lease");
  assert_int_equal(cfg->failover->ttl_ms, 10000);
  cfg_free(cfg);
}

static void test_failover_errors(void **state) {
  static const struct want timing[] = {
      {2, 49, "failover timing: renew + 2 x timeout + margin must not exceed ttl (1s + 2 x 500ms "
              "+ 500ms > 2s): a holder must be able to renew and retry once before it fences "
              "itself"}};
  expect_diags("services: {}\nfailover: {node: a, lease: {redis: \"h:1\"}, ttl: 2s, renew: 1s, "
               "timeout: 500ms, margin: 500ms}\n", timing, 1);
  static const struct want missing[] = {{1, 11, "failover needs node: (this host's name)"},
                                        {1, 11, "failover needs a lease: {redis: HOST:PORT} or "
                                                "{postgres: CONNINFO}"}};
  expect_diags("failover: {ttl: 1s}\n", missing, 2);
  static const struct want both[] = {{1, 43, "a lease is on redis or on postgres, not both"}};
  expect_diags("failover: {node: a, lease: {redis: \"h:1\", postgres: x}}\n", both, 1);
  static const struct want addr[] = {
      {1, 36, "bad redis address 'nohost': expected host:port (port 1..65535)"}};
  expect_diags("failover: {node: a, lease: {redis: nohost}}\n", addr, 1);
  static const struct want action[] = {
      {1, 54, "an action is exactly one of redis_promote, redis_replicate or exec"},
      {1, 87, "redis_replicate needs replica: and primary:"}};
  expect_diags("failover: {node: a, lease: {redis: \"h:1\"}, promote: [{timeout: 1s}, "
               "{redis_replicate: {replica: \"h:2\"}}]}\n", action, 2);
  static const struct want norole[] = {
      {2, 3, "service 'a' has role: active but there is no failover section"}};
  expect_diags("services:\n  a: {cmd: [x], role: active}\n", norole, 1);
  static const struct want cross[] = {
      {4, 44, "service 'b' (role active) cannot depend on 'a' (role standby): they never run "
              "on the same node at the same time"}};
  expect_diags("failover: {node: n, lease: {redis: \"h:1\"}}\nservices:\n"
               "  a: {cmd: [x], role: standby}\n  b: {cmd: [x], role: active, depends_on: [a]}\n",
               cross, 1);
}

static void test_fingerprint(void **state) {
  /* Same definition under two names, in two styles: equal. */
  struct vg_config *cfg = load_ok("services:\n"
                                  "  one:\n"
                                  "    cmd: [a, b]\n"
                                  "    env: {X: 1}\n"
                                  "  two: {cmd: [\"a\", 'b'], env: {X: \"1\"}, restart: always}\n");
  assert_true(cfg->services[0].fingerprint == cfg->services[1].fingerprint);
  cfg_free(cfg);

  /* Spelling a default out does not change the definition. */
  assert_true(fingerprint_of("    cmd: [a]\n") ==
              fingerprint_of("    cmd: [a]\n    stop: {signal: TERM, timeout: 10s}\n"));

  /* Each of these differs from every other. */
  static const char *const variants[] = {
      "    cmd: [a]\n",
      "    cmd: [a, b]\n",
      "    cmd: [ab]\n",
      "    cmd: [b, a]\n",
      "    cmd: [a]\n    env: {X: 1}\n",
      "    cmd: [a]\n    env: {X: 2}\n",
      "    cmd: [a]\n    env: {Y: 1}\n",
      "    cmd: [a]\n    clear_env: true\n",
      "    cmd: [a]\n    cwd: /\n",
      "    cmd: [a]\n    user: u\n",
      "    cmd: [a]\n    group: u\n",
      "    cmd: [a]\n    role: active\n",
      "    cmd: \"a\"\n    shell: true\n",
      "    cmd: [a]\n    depends_on: [a2]\n",
      "    cmd: [a]\n    depends_on: [a3]\n",
      "    cmd: [a]\n    ready: {tcp: \"h:1\"}\n",
      "    cmd: [a]\n    ready: {tcp: \"h:2\"}\n",
      "    cmd: [a]\n    ready: {http: \"http://h:1\"}\n",
      "    cmd: [a]\n    ready: {exec: [h]}\n",
      "    cmd: [a]\n    ready: {log: h}\n",
      "    cmd: [a]\n    ready: {notify: true}\n",
      "    cmd: [a]\n    ready: {notify: true, timeout: 1s}\n",
      "    cmd: [a]\n    ready: {notify: true, interval: 1s}\n",
      "    cmd: [a]\n    restart: never\n",
      "    cmd: [a]\n    restart: on-failure\n",
      "    cmd: [a]\n    restart: {delay: 2s}\n",
      "    cmd: [a]\n    restart: {max_delay: 2m}\n",
      "    cmd: [a]\n    restart: {jitter: 0.5}\n",
      "    cmd: [a]\n    restart: {jitter: 0}\n",
      "    cmd: [a]\n    restart: {reset_after: 1s}\n",
      "    cmd: [a]\n    restart: {max_restarts: 1}\n",
      "    cmd: [a]\n    restart: {window: 1s}\n",
      "    cmd: [a]\n    no_restart_exit_codes: [1]\n",
      "    cmd: [a]\n    no_restart_exit_codes: [1, 2]\n",
      "    cmd: [a]\n    stop: {signal: INT}\n",
      "    cmd: [a]\n    stop: {timeout: 1s}\n",
      "    cmd: [a]\n    watchdog: 1s\n",
      "    cmd: [a]\n    log: {capture: false}\n",
      "    cmd: [a]\n    log: {echo: false}\n",
      "    cmd: [a]\n    log: {file: false}\n",
      "    cmd: [a]\n    log: {max_size: 1}\n",
      "    cmd: [a]\n    log: {keep: 0}\n",
      "    cmd: [a]\n    limits: {nofile: 1}\n",
      "    cmd: [a]\n    limits: {nofile: 2}\n",
      "    cmd: [a]\n    limits: {nofile: unlimited}\n",
      "    cmd: [a]\n    limits: {core: 1}\n",
      "    cmd: [a]\n    limits: {as: 1}\n",
  };
  size_t n = VG_ARRAY_LEN(variants);
  uint64_t h[VG_ARRAY_LEN(variants)];
  for (size_t i = 0; i < n; i++) {
    /* depends_on needs its targets to exist. */
    char *lines = vg_asprintf("%s  a2: {cmd: [z]}\n  a3: {cmd: [z]}\n", variants[i]);
    h[i] = fingerprint_of(lines);
    free(lines);
  }
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) {
      if (h[i] == h[j]) print_error("same fingerprint:\n%s%s", variants[i], variants[j]);
      assert_true(h[i] != h[j]);
    }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_config),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_no_services),
      cmocka_unit_test(test_load_file_state_dir),
      cmocka_unit_test(test_load_missing_file),
      cmocka_unit_test(test_load_not_a_config),
      cmocka_unit_test(test_state_dir_absolute),
      cmocka_unit_test(test_http_section),
      cmocka_unit_test(test_aliases),
      cmocka_unit_test(test_quoting),
      cmocka_unit_test(test_bad_configs),
      cmocka_unit_test(test_many_problems),
      cmocka_unit_test(test_diags_print),
      cmocka_unit_test(test_expand_env),
      cmocka_unit_test(test_expand_in_config),
      cmocka_unit_test(test_durations),
      cmocka_unit_test(test_signals),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_sizes_and_limits),
      cmocka_unit_test(test_log_regex),
      cmocka_unit_test(test_fingerprint),
      cmocka_unit_test(test_failover),
      cmocka_unit_test(test_failover_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
