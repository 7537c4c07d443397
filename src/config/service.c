/*
 * One service of the `services` mapping: its defaults, the keys that describe how
 * to run it (cmd, shell, env, cwd, user, ...) and the hand-off of the sections
 * (ready, restart, stop, log, limits) to their own files. Frees a service too.
 */
#include "config/config_int.h"
#include "core/core.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const keys[] = {
    "cmd",      "shell", "env",   "clear_env", "cwd",     "user",
    "group",    "role",  "depends_on", "ready", "restart", "no_restart_exit_codes",
    "stop",     "watchdog", "log", "limits", "stale",
};
enum {
  K_CMD, K_SHELL, K_ENV, K_CLEAR_ENV, K_CWD, K_USER, K_GROUP, K_ROLE, K_DEPENDS_ON,
  K_READY, K_RESTART, K_EXIT_CODES, K_STOP, K_WATCHDOG, K_LOG, K_LIMITS, K_STALE, K_N
};

/* stale: {fresh: KEY_OR_DOC, warn: 30s, restart: 60s} */
static void parse_stale(struct cfg__ctx *c, struct cfg_service *s, const struct cfg__node *n) {
  static const char *const skeys[] = {"fresh", "warn", "restart"};
  const struct cfg__pair *f[3];
  if (!cfg__fields(c, n, skeys, 3, f)) return;
  if (!f[0]) {
    cfg_diag_add(c->diags, n->pos, "stale needs fresh: the cache key or document the service keeps fresh");
  } else {
    s->stale_key = cfg__string(c, f[0]->value);
    if (s->stale_key && !s->stale_key[0]) {
      cfg_diag_add(c->diags, f[0]->value->pos, "fresh is empty");
      vg_freep(&s->stale_key);
    }
  }
  if (f[1]) cfg__duration(c, f[1]->value, &s->stale_warn_ms);
  if (f[2]) cfg__duration(c, f[2]->value, &s->stale_restart_ms);
  if (s->stale_restart_ms && s->stale_warn_ms > s->stale_restart_ms)
    cfg_diag_add(c->diags, n->pos, "stale: warn after restart makes no sense");
}

void cfg__service_defaults(struct cfg_service *s) {
  memset(s, 0, sizeof *s);
  s->ready = (struct cfg_probe){.kind = CFG_PROBE_NONE, .timeout_ms = 30000, .interval_ms = 100,
                              .within_ms = 30000};
  s->stale_warn_ms = 30000;
  s->stale_restart_ms = 60000;
  s->restart = (struct cfg_restart){.policy = CFG_RESTART_ALWAYS,
                                    .delay_ms = 1000,
                                    .max_delay_ms = 30000,
                                    .jitter = 0.1,
                                    .reset_after_ms = 60000,
                                    .max_restarts = 5,
                                    .window_ms = 60000};
  s->stop = (struct cfg_stop){.signal = SIGTERM, .timeout_ms = 10000};
  s->log = (struct cfg_log){
      .capture = true, .echo = true, .file = true, .max_bytes = 10 * 1024 * 1024, .keep = 3};
}

/* cmd as argv. shell_known is false when `shell` itself was bad, in which case the
 * shape of cmd cannot be judged and only its contents are checked. */
static void parse_cmd(struct cfg__ctx *c, struct cfg_service *s, const struct cfg__node *n,
                      bool shell_known) {
  if (n->type == CFG__SEQ && s->shell) {
    cfg_diag_add(c->diags, n->pos, "shell: true needs cmd as one string");
  } else if (s->shell || (n->type == CFG__SCALAR && !shell_known)) {
    char *cmd = cfg__string(c, n);
    if (cmd && !cmd[0]) cfg_diag_add(c->diags, n->pos, "cmd is empty");
    if (cmd && cmd[0] && s->shell) {
      s->argv = vg_calloc(4, sizeof *s->argv);
      s->argv[0] = vg_strdup("/bin/sh");
      s->argv[1] = vg_strdup("-c");
      s->argv[2] = cmd;
      return;
    }
    free(cmd);
  } else if (n->type == CFG__SCALAR) {
    cfg_diag_add(c->diags, n->pos,
                 "cmd is a string: write it as a list [program, args...] or set shell: true");
  } else {
    char **argv = cfg__strv(c, n, "a list of strings");
    if (!argv) return;
    if (!argv[0]) cfg_diag_add(c->diags, n->pos, "cmd is empty");
    else if (!argv[0][0]) cfg_diag_add(c->diags, n->items[0]->pos, "the program name is empty");
    s->argv = argv;
  }
}

static bool valid_env_name(const char *s) {
  if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_')) return false;
  for (s++; *s; s++)
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
          *s == '_'))
      return false;
  return true;
}

static void parse_env(struct cfg__ctx *c, struct cfg_service *s, const struct cfg__node *n) {
  if (n->type != CFG__MAP) {
    cfg__expected(c, n, "a mapping of NAME: value");
    return;
  }
  s->env = vg_calloc(n->n + 1, sizeof *s->env);
  size_t k = 0;
  for (size_t i = 0; i < n->n; i++) {
    const struct cfg__pair *p = &n->pairs[i];
    if (p->duplicate) continue;
    if (p->key->type != CFG__SCALAR) {
      cfg__expected(c, p->key, "a variable name");
      continue;
    }
    if (!valid_env_name(p->key->text)) {
      cfg_diag_add(c->diags, p->key->pos,
                   "bad environment variable name '%s': use letters, digits and '_', not "
                   "starting with a digit",
                   p->key->text);
      continue;
    }
    char *v = cfg__string(c, p->value);
    if (!v) continue;
    s->env[k++] = vg_asprintf("%s=%s", p->key->text, v);
    free(v);
  }
}

/* A string that must not be empty when given (cwd, user, group). */
static char *nonempty(struct cfg__ctx *c, const struct cfg__node *n, const char *key) {
  char *v = cfg__string(c, n);
  if (v && !v[0]) {
    cfg_diag_add(c->diags, n->pos, "%s is empty", key);
    vg_freep(&v);
  }
  return v;
}

static void parse_depends(struct cfg__ctx *c, struct cfg_service *s, const struct cfg__node *n) {
  if (n->type != CFG__SEQ) {
    cfg__expected(c, n, "a list of service names");
    return;
  }
  s->depends_on = vg_calloc(n->n + 1, sizeof *s->depends_on);
  s->depends_pos = vg_calloc(n->n + 1, sizeof *s->depends_pos);
  size_t k = 0;
  for (size_t i = 0; i < n->n; i++) {
    char *name = cfg__string(c, n->items[i]);
    if (!name) continue;
    s->depends_pos[k] = n->items[i]->pos;
    s->depends_on[k++] = name;
  }
}

void cfg__service_parse(struct cfg__ctx *c, struct cfg_service *s, const struct cfg__node *n) {
  const struct cfg__pair *f[K_N];
  if (!cfg__fields(c, n, keys, K_N, f)) return;

  bool shell_known = !f[K_SHELL] || cfg__bool(c, f[K_SHELL]->value, &s->shell);
  if (f[K_CMD]) {
    s->cmd_pos = f[K_CMD]->value->pos;
    parse_cmd(c, s, f[K_CMD]->value, shell_known);
  }
  else cfg_diag_add(c->diags, s->pos, "service '%s' has no cmd", s->name);
  if (f[K_ENV]) parse_env(c, s, f[K_ENV]->value);
  if (f[K_CLEAR_ENV]) cfg__bool(c, f[K_CLEAR_ENV]->value, &s->clear_env);
  if (f[K_CWD]) s->cwd = nonempty(c, f[K_CWD]->value, "cwd");
  if (f[K_USER]) s->user = nonempty(c, f[K_USER]->value, "user");
  if (f[K_GROUP]) s->group = nonempty(c, f[K_GROUP]->value, "group");
  if (f[K_ROLE]) {
    char *role = cfg__string(c, f[K_ROLE]->value);
    if (role && strcmp(role, "active") != 0 && strcmp(role, "standby") != 0) {
      cfg_diag_add(c->diags, f[K_ROLE]->value->pos,
                   "bad role '%s': expected active or standby", role);
      vg_freep(&role);
    }
    s->role = role;
  }
  if (f[K_DEPENDS_ON]) parse_depends(c, s, f[K_DEPENDS_ON]->value);
  if (f[K_READY]) cfg__ready_parse(c, &s->ready, f[K_READY]->value);
  if (f[K_RESTART]) cfg__restart_parse(c, &s->restart, f[K_RESTART]->value);
  if (f[K_EXIT_CODES]) cfg__exit_codes_parse(c, s, f[K_EXIT_CODES]->value);
  if (f[K_STOP]) cfg__stop_parse(c, &s->stop, f[K_STOP]->value);
  if (f[K_WATCHDOG]) cfg__duration(c, f[K_WATCHDOG]->value, &s->watchdog_ms);
  if (f[K_LOG]) cfg__log_parse(c, &s->log, f[K_LOG]->value);
  if (f[K_LIMITS]) cfg__limits_parse(c, &s->limits, f[K_LIMITS]->value);
  if (f[K_STALE]) parse_stale(c, s, f[K_STALE]->value);
}

void cfg__service_free(struct cfg_service *s) {
  free(s->name);
  free(s->stale_key);
  vg_strv_free(s->argv);
  vg_strv_free(s->env);
  free(s->cwd);
  free(s->user);
  free(s->group);
  vg_strv_free(s->depends_on);
  free(s->depends_pos);
  free(s->ready.target);
  vg_strv_free(s->ready.argv);
  free(s->no_restart_exit_codes);
  free(s->role);
  memset(s, 0, sizeof *s);
}

/* 0 when path is a regular file this process may execute, else an errno. */
static int executable(const char *path) {
  struct stat st;
  if (stat(path, &st) < 0) return errno;
  if (!S_ISREG(st.st_mode)) return EACCES;
  return access(path, X_OK) < 0 ? errno : 0;
}

int cfg_service_find_cmd(const struct cfg_service *s, char *msg, size_t len) {
  if (!s->argv || !s->argv[0] || !s->argv[0][0]) return 0;
  const char *prog = s->argv[0];
  if (strchr(prog, '/')) {
    char *cwd = s->cwd ? NULL : getcwd(NULL, 0);
    char *path = prog[0] == '/' ? vg_strdup(prog) : cfg__join_path(s->cwd ? s->cwd : cwd ? cwd : "/", prog);
    int e = executable(path);
    if (e) snprintf(msg, len, "cannot execute %s: %s", path, strerror(e));
    free(path);
    free(cwd);
    return e ? -e : 0;
  }
  /* a bare name is looked up in the PATH the service gets: its own env's, else vigil's */
  const char *search = getenv("PATH");
  for (size_t i = 0; s->env && s->env[i]; i++)
    if (strncmp(s->env[i], "PATH=", 5) == 0) search = s->env[i] + 5;
  if (!search) search = "/usr/local/bin:/usr/bin:/bin";
  int last = ENOENT;
  for (const char *p = search;;) {
    const char *end = strchr(p, ':');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    char *dir = n ? vg_strndup(p, n) : vg_strdup(".");
    char *path = vg_asprintf("%s/%s", dir, prog);
    int e = executable(path);
    free(dir);
    free(path);
    if (!e) return 0;
    if (e != ENOENT && e != ENOTDIR) last = e;
    if (!end) break;
    p = end + 1;
  }
  snprintf(msg, len, "cannot execute %s: %s (searched PATH=%s)", prog, strerror(last), search);
  return -last;
}
