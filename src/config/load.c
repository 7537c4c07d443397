/*
 * The entry points: read the file, build the YAML tree, interpret the top level
 * (state_dir, services), then the checks across services. Also the lifetime of a
 * struct vg_config (cfg_free) and lookups in it.
 */
#include "config/config_int.h"
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_STATE_DIR "./var/vigil"
/* A config is a few KiB; the cap keeps `vigil check /dev/zero` from eating memory. */
#define MAX_FILE_SIZE (16 << 20)

static const char *const top_keys[] = {"state_dir", "http",  "services", "store",
                                       "sinks",     "feeds", "compute",
                                       "cache",     "monitor",  "bridges", "failover"};
enum { K_STATE_DIR, K_HTTP, K_SERVICES, K_STORE, K_SINKS, K_FEEDS, K_COMPUTE, K_CACHE, K_MONITOR,
       K_BRIDGES, K_FAILOVER, K_N };

char *cfg__join_path(const char *dir, const char *rel) {
  char *path = rel[0] == '/' ? vg_strdup(rel) : vg_asprintf("%s/%s", dir, rel);
  size_t len = strlen(path);
  char *out = vg_malloc(len + 2);
  size_t o = 0;
  for (char *seg = path; *seg;) {
    char *end = strchr(seg, '/');
    size_t n = end ? (size_t)(end - seg) : strlen(seg);
    if (n == 2 && seg[0] == '.' && seg[1] == '.') {
      while (o > 0 && out[o - 1] != '/') o--;
      if (o > 0) o--;
    } else if (n > 0 && !(n == 1 && seg[0] == '.')) {
      out[o++] = '/';
      memcpy(out + o, seg, n);
      o += n;
    }
    seg += n + (end != NULL);
  }
  if (o == 0) out[o++] = '/';
  out[o] = '\0';
  free(path);
  return out;
}

static void parse_services(struct cfg__ctx *c, struct vg_config *cfg, const struct cfg__node *n) {
  if (n->type != CFG__MAP) {
    cfg__expected(c, n, "a mapping of services");
    return;
  }
  cfg->services = vg_calloc(n->n ? n->n : 1, sizeof *cfg->services);
  for (size_t i = 0; i < n->n; i++) {
    const struct cfg__pair *p = &n->pairs[i];
    if (p->duplicate) continue; /* reported by the YAML reader */
    if (!cfg__entry_name(c, p, "service", true)) continue;
    struct cfg_service *s = &cfg->services[cfg->n_services++];
    cfg__service_defaults(s);
    s->name = vg_strdup(p->key->text);
    s->pos = p->key->pos;
    cfg__service_parse(c, s, p->value);
  }
}

/* The absolute state_dir named by pair (NULL: the default), or NULL after reporting. */
static char *resolve_state_dir(struct cfg__ctx *c, const struct cfg__pair *pair, const char *dir) {
  char *state = pair ? cfg__string(c, pair->value) : vg_strdup(DEFAULT_STATE_DIR);
  char *out = NULL;
  if (state && !state[0]) {
    cfg_diag_add(c->diags, pair->value->pos, "state_dir is empty");
  } else if (state && state[0] != '/' && !dir) {
    cfg_diag_add(c->diags, pair ? pair->value->pos : (struct cfg_pos){0, 0},
                 "cannot resolve the relative state_dir '%s': the config's directory is unknown",
                 state);
  } else if (state) {
    out = cfg__join_path(dir ? dir : "/", state);
  }
  free(state);
  return out;
}

static void parse_top(struct cfg__ctx *c, struct vg_config *cfg, const struct cfg__node *root,
                      const char *dir) {
  if (!root || root->type == CFG__NULL) {
    cfg_diag_add(c->diags, root ? root->pos : (struct cfg_pos){1, 1},
                 "the config is empty: expected a mapping with services");
    return;
  }
  const struct cfg__pair *f[K_N];
  if (!cfg__fields(c, root, top_keys, K_N, f)) return;

  cfg->state_dir = resolve_state_dir(c, f[K_STATE_DIR], dir);
  cfg__http_defaults(&cfg->http);
  if (f[K_HTTP]) cfg__http_parse(c, &cfg->http, f[K_HTTP]->value, dir);
  cfg__store_defaults(&cfg->store, cfg->state_dir);
  if (f[K_STORE]) cfg__store_parse(c, &cfg->store, f[K_STORE]->value, cfg->state_dir);
  cfg__sinks_defaults(&cfg->sinks);
  if (f[K_SINKS]) cfg__sinks_parse(c, &cfg->sinks, f[K_SINKS]->value, dir);
  cfg__cache_defaults(&cfg->cache);
  if (f[K_CACHE]) cfg__cache_parse(c, &cfg->cache, f[K_CACHE]->value);

  if (f[K_SERVICES]) parse_services(c, cfg, f[K_SERVICES]->value);
  else cfg->services = vg_calloc(1, sizeof *cfg->services);
  if (f[K_FEEDS]) cfg__feeds_parse(c, cfg, f[K_FEEDS]->value);
  if (f[K_BRIDGES]) cfg__bridges_parse(c, cfg, f[K_BRIDGES]->value, dir);
  cfg__graph_check(c, cfg);
  if (f[K_COMPUTE]) {
    cfg->compute = vg_calloc(1, sizeof *cfg->compute);
    cfg__compute_parse(c, cfg->compute, f[K_COMPUTE]->value, dir ? dir : "/");
  }
  if (f[K_MONITOR]) {
    cfg->monitor = vg_calloc(1, sizeof *cfg->monitor);
    cfg__monitor_parse(c, cfg, cfg->monitor, f[K_MONITOR]->value);
  }
  if (f[K_FAILOVER]) cfg__failover_parse(c, cfg, f[K_FAILOVER]->value, dir ? dir : "/");
  cfg__roles_check(c, cfg);
  for (size_t i = 0; i < cfg->n_services; i++)
    cfg->services[i].fingerprint = cfg__fingerprint(&cfg->services[i]);
}

/* dir is the absolute directory relative paths are resolved against, or NULL. */
static struct vg_config *load_text(const char *name, const char *text, size_t len,
                                   const char *dir, struct cfg_diags *diags) {
  size_t first = diags->n;
  struct cfg__ctx c = {.diags = diags};
  struct vg_config *cfg = vg_calloc(1, sizeof *cfg);
  cfg->path = vg_strdup(name);
  struct cfg__doc doc;
  if (cfg__yaml_parse(text, len, diags, &doc) == 0) parse_top(&c, cfg, doc.root, dir);
  cfg__yaml_free(&doc);
  if (diags->n > first) {
    cfg__diags_sort(diags, first);
    cfg_free(cfg);
    return NULL;
  }
  return cfg;
}

/* realpath of the directory holding path, or NULL. */
static char *dir_of(const char *path) {
  char *copy = vg_strdup(path);
  char *dir = realpath(dirname(copy), NULL);
  free(copy);
  return dir;
}

struct vg_config *cfg_load_string(const char *name, const char *text, size_t len,
                                  struct cfg_diags *diags) {
  char *dir = dir_of(name);
  if (!dir) dir = getcwd(NULL, 0);
  struct vg_config *cfg = load_text(name, text, len, dir, diags);
  free(dir);
  return cfg;
}

/* Reads the whole file into b (NUL-terminated). 0, or -1 after reporting. */
static int read_file(const char *path, struct vg_buf *b, struct cfg_diags *diags) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    cfg_diag_add(diags, (struct cfg_pos){0, 0}, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  for (;;) {
    vg_buf_reserve(b, 65536);
    ssize_t n = read(fd, b->data + b->len, b->cap - b->len - 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      cfg_diag_add(diags, (struct cfg_pos){0, 0}, "cannot read %s: %s", path, strerror(errno));
      close(fd);
      return -1;
    }
    if (n == 0) break;
    if (b->len + (size_t)n > MAX_FILE_SIZE) {
      cfg_diag_add(diags, (struct cfg_pos){0, 0}, "cannot read %s: larger than %d MiB", path,
                   MAX_FILE_SIZE >> 20);
      close(fd);
      return -1;
    }
    b->len += (size_t)n;
    b->data[b->len] = '\0';
  }
  close(fd);
  return 0;
}

struct vg_config *cfg_load(const char *path, struct cfg_diags *diags) {
  struct vg_buf b;
  vg_buf_init(&b);
  struct vg_config *cfg = NULL;
  if (read_file(path, &b, diags) == 0) {
    char *dir = dir_of(path);
    if (!dir)
      cfg_diag_add(diags, (struct cfg_pos){0, 0}, "cannot resolve the directory of %s: %s", path,
                   strerror(errno));
    else
      cfg = load_text(path, b.data ? b.data : "", b.len, dir, diags);
    free(dir);
  }
  vg_buf_free(&b);
  return cfg;
}

char *cfg_load_state_dir(const char *path, struct cfg_diags *diags) {
  struct vg_buf b;
  vg_buf_init(&b);
  char *out = NULL;
  struct cfg__doc doc = {0};
  struct cfg__ctx c = {.diags = diags};
  char *dir = NULL;
  if (read_file(path, &b, diags) < 0) goto done;
  if (!(dir = dir_of(path))) {
    cfg_diag_add(diags, (struct cfg_pos){0, 0}, "cannot resolve the directory of %s: %s", path,
                 strerror(errno));
    goto done;
  }
  if (cfg__yaml_parse(b.data ? b.data : "", b.len, diags, &doc) < 0) goto done;
  if (!doc.root || doc.root->type != CFG__MAP) {
    cfg_diag_add(diags, doc.root ? doc.root->pos : (struct cfg_pos){1, 1},
                 "the config is not a mapping");
    goto done;
  }
  const struct cfg__pair *pair = NULL;
  for (size_t i = 0; i < doc.root->n; i++) {
    const struct cfg__pair *p = &doc.root->pairs[i];
    if (p->key->type == CFG__SCALAR && strcmp(p->key->text, "state_dir") == 0 && !pair) pair = p;
  }
  out = resolve_state_dir(&c, pair, dir);
done:
  cfg__yaml_free(&doc);
  free(dir);
  vg_buf_free(&b);
  return out;
}

void cfg_free(struct vg_config *cfg) {
  if (!cfg) return;
  for (size_t i = 0; i < cfg->n_services; i++) cfg__service_free(&cfg->services[i]);
  free(cfg->services);
  for (size_t i = 0; i < cfg->n_feeds; i++) cfg__feed_free(&cfg->feeds[i]);
  free(cfg->feeds);
  for (size_t i = 0; i < cfg->n_bridges; i++) cfg__bridge_free(&cfg->bridges[i]);
  free(cfg->bridges);
  cfg__store_free(&cfg->store);
  free(cfg->state_dir);
  cfg__http_free(&cfg->http);
  cfg__sinks_free(&cfg->sinks);
  cfg__cache_free(&cfg->cache);
  if (cfg->compute) cfg__compute_free(cfg->compute);
  if (cfg->failover) cfg__failover_free(cfg->failover);
  free(cfg->failover);
  free(cfg->compute);
  if (cfg->monitor) cfg__monitor_free(cfg->monitor);
  free(cfg->monitor);
  free(cfg->path);
  free(cfg);
}

const struct cfg_service *cfg_find_service(const struct vg_config *cfg, const char *name) {
  for (size_t i = 0; i < cfg->n_services; i++)
    if (strcmp(cfg->services[i].name, name) == 0) return &cfg->services[i];
  return NULL;
}
