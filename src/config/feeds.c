/*
 * The `feeds` section: each feed is one ZeroMQ socket whose messages become points in
 * the store (src/ingest/). Only the shape is checked here: endpoints look like
 * transport://address, the socket, format and precision are known words, the
 * expectations are sane. Whether an endpoint can be bound is found at start-up.
 *
 *   feeds:
 *     kraken-ticks:
 *       connect: [tcp://127.0.0.1:5558]      # or bind: ...; a string or a list
 *       socket: sub                         # sub (default) or pull
 *       topics: [ticks]                     # sub only; default: everything
 *       format: line                        # line (default) or json
 *       precision: ns                       # ns (default), us, ms, s
 *       json: {measurement: ticks, tags: [sym], ints: [seq]}
 *       expect: {rate: 1000/s, seq_field: seq, seq_key: [sym], max_gap: 0}
 *       quarantine: {keep: 100}
 *       max_series: 100000                  # new series it may make; 0: no limit
 */
#include "config/config_int.h"
#include "core/core.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[] = {"connect", "bind",   "socket", "topics",     "format",
                                   "precision", "json", "expect", "quarantine", "batch",
                                   "hwm", "max_series"};
enum { K_CONNECT, K_BIND, K_SOCKET, K_TOPICS, K_FORMAT, K_PRECISION, K_JSON, K_EXPECT,
       K_QUARANTINE, K_BATCH, K_HWM, K_MAX_SERIES, K_N };

static const char *const json_keys[] = {"measurement_key", "measurement", "time_key",
                                        "tags", "fields", "ints"};
enum { J_MKEY, J_MEAS, J_TIME, J_TAGS, J_FIELDS, J_INTS, J_N };

static const char *const expect_keys[] = {"rate", "seq_field", "seq_key", "max_gap"};
enum { E_RATE, E_SEQ_FIELD, E_SEQ_KEY, E_MAX_GAP, E_N };

static const char *const quarantine_keys[] = {"keep"};

const char *cfg_feed_socket_name(enum cfg_feed_socket s) { return s == CFG_FEED_PULL ? "pull" : "sub"; }
const char *cfg_feed_format_name(enum cfg_feed_format f) { return f == CFG_FEED_JSON ? "json" : "line"; }

/* A string or a list of strings, as a NULL-terminated vector; NULL after reporting. */
static char **one_or_many(struct cfg__ctx *c, const struct cfg__node *n, const char *what) {
  if (n->type == CFG__SCALAR) {
    char *s = cfg__string(c, n);
    if (!s) return NULL;
    char **v = vg_calloc(2, sizeof *v);
    v[0] = s;
    return v;
  }
  return cfg__strv(c, n, what);
}

static void check_endpoints(struct cfg__ctx *c, const struct cfg__node *n, char **eps) {
  static const char *const transports[] = {"tcp://", "ipc://", "inproc://", "pgm://", "epgm://"};
  if (!eps) return;
  if (!eps[0]) cfg_diag_add(c->diags, n->pos, "no endpoint: give one or more, e.g. tcp://127.0.0.1:5558");
  for (size_t i = 0; eps[i]; i++) {
    const struct cfg__node *at = n->type == CFG__SEQ ? n->items[i] : n;
    size_t t = 0;
    while (t < VG_ARRAY_LEN(transports) && strncmp(eps[i], transports[t], strlen(transports[t])) != 0) t++;
    if (t == VG_ARRAY_LEN(transports) || !eps[i][strlen(transports[t])])
      cfg_diag_add(c->diags, at->pos,
                   "bad endpoint '%s': expected tcp://host:port, ipc://path or inproc://name", eps[i]);
  }
}

static bool word_of(struct cfg__ctx *c, const struct cfg__node *n, const char *const *words,
                    size_t nw, const char *what, int *out) {
  char *s = cfg__string(c, n);
  if (!s) return false;
  for (size_t i = 0; i < nw; i++)
    if (strcmp(s, words[i]) == 0) {
      *out = (int)i;
      free(s);
      return true;
    }
  char list[128] = "";
  for (size_t i = 0; i < nw; i++) {
    strncat(list, i ? (i + 1 == nw ? " or " : ", ") : "", sizeof list - strlen(list) - 1);
    strncat(list, words[i], sizeof list - strlen(list) - 1);
  }
  cfg_diag_add(c->diags, n->pos, "unknown %s '%s': expected %s", what, s, list);
  free(s);
  return false;
}

/* "1000/s", "60/m", "5/h" or a plain number (per second). 0 or -1. */
int cfg_parse_rate(const char *s, double *per_sec) {
  char num[64];
  const char *slash = strchr(s, '/');
  size_t n = slash ? (size_t)(slash - s) : strlen(s);
  double div = 1;
  if (n == 0 || n >= sizeof num) return -1;
  memcpy(num, s, n);
  num[n] = '\0';
  if (slash) {
    if (strcmp(slash + 1, "s") == 0) div = 1;
    else if (strcmp(slash + 1, "m") == 0) div = 60;
    else if (strcmp(slash + 1, "h") == 0) div = 3600;
    else return -1;
  }
  double v;
  if (cfg__parse_number(num, &v) < 0 || v < 0) return -1;
  *per_sec = v / div;
  return 0;
}

static void parse_json(struct cfg__ctx *c, struct cfg_feed *f, const struct cfg__node *n) {
  const struct cfg__pair *j[J_N];
  if (!cfg__fields(c, n, json_keys, J_N, j)) return;
  if (j[J_MKEY]) f->json_measurement_key = cfg__string(c, j[J_MKEY]->value);
  if (j[J_MEAS]) f->json_measurement = cfg__string(c, j[J_MEAS]->value);
  if (j[J_TIME]) f->json_time_key = cfg__string(c, j[J_TIME]->value);
  if (j[J_TAGS]) f->json_tags = cfg__strv(c, j[J_TAGS]->value, "a list of keys");
  if (j[J_FIELDS]) f->json_fields = cfg__strv(c, j[J_FIELDS]->value, "a list of keys");
  if (j[J_INTS]) f->json_ints = cfg__strv(c, j[J_INTS]->value, "a list of keys");
}

static void parse_expect(struct cfg__ctx *c, struct cfg_feed *f, const struct cfg__node *n) {
  const struct cfg__pair *e[E_N];
  if (!cfg__fields(c, n, expect_keys, E_N, e)) return;
  if (e[E_RATE]) {
    char *s = cfg__string(c, e[E_RATE]->value);
    if (s && cfg_parse_rate(s, &f->expect_rate) < 0)
      cfg_diag_add(c->diags, e[E_RATE]->value->pos,
                   "bad rate '%s': expected messages per second, minute or hour, e.g. 1000/s", s);
    free(s);
  }
  if (e[E_SEQ_FIELD]) {
    f->seq_field = cfg__string(c, e[E_SEQ_FIELD]->value);
    if (f->seq_field && !f->seq_field[0]) cfg_diag_add(c->diags, e[E_SEQ_FIELD]->value->pos, "seq_field is empty");
  }
  if (e[E_SEQ_KEY]) {
    f->seq_key = one_or_many(c, e[E_SEQ_KEY]->value, "a tag name or a list of tag names");
    if (!f->seq_field)
      cfg_diag_add(c->diags, e[E_SEQ_KEY]->key->pos, "seq_key needs seq_field");
  }
  if (e[E_MAX_GAP]) {
    long long v;
    if (cfg__int(c, e[E_MAX_GAP]->value, "max_gap", 0, LLONG_MAX, &v)) f->max_gap = v;
    if (!f->seq_field) cfg_diag_add(c->diags, e[E_MAX_GAP]->key->pos, "max_gap needs seq_field");
  }
}

static void parse_feed(struct cfg__ctx *c, struct cfg_feed *f, const struct cfg__node *n) {
  const struct cfg__pair *k[K_N];
  if (!cfg__fields(c, n, keys, K_N, k)) return;
  if (k[K_CONNECT] && k[K_BIND]) {
    cfg_diag_add(c->diags, k[K_BIND]->key->pos, "a feed either connects or binds, not both");
  } else if (!k[K_CONNECT] && !k[K_BIND]) {
    cfg_diag_add(c->diags, n->pos, "feed '%s' needs connect: or bind: with its endpoints", f->name);
  } else {
    const struct cfg__pair *p = k[K_CONNECT] ? k[K_CONNECT] : k[K_BIND];
    f->bind = k[K_BIND] != NULL;
    f->endpoints = one_or_many(c, p->value, "an endpoint or a list of endpoints");
    check_endpoints(c, p->value, f->endpoints);
  }
  int w;
  static const char *const sockets[] = {"sub", "pull"};
  static const char *const formats[] = {"line", "json"};
  static const char *const precisions[] = {"ns", "us", "ms", "s"};
  if (k[K_SOCKET] && word_of(c, k[K_SOCKET]->value, sockets, 2, "socket", &w))
    f->socket = (enum cfg_feed_socket)w;
  if (k[K_TOPICS]) {
    f->topics = one_or_many(c, k[K_TOPICS]->value, "a topic or a list of topics");
    if (f->socket != CFG_FEED_SUB)
      cfg_diag_add(c->diags, k[K_TOPICS]->key->pos, "topics need socket: sub");
  }
  if (k[K_FORMAT] && word_of(c, k[K_FORMAT]->value, formats, 2, "format", &w))
    f->format = (enum cfg_feed_format)w;
  if (k[K_PRECISION] && word_of(c, k[K_PRECISION]->value, precisions, 4, "precision", &w)) {
    free(f->precision);
    f->precision = vg_strdup(precisions[w]);
  }
  if (k[K_JSON]) {
    parse_json(c, f, k[K_JSON]->value);
    if (f->format != CFG_FEED_JSON) cfg_diag_add(c->diags, k[K_JSON]->key->pos, "json: needs format: json");
  }
  if (k[K_EXPECT]) parse_expect(c, f, k[K_EXPECT]->value);
  if (k[K_QUARANTINE]) {
    const struct cfg__pair *q[1];
    long long v;
    if (cfg__fields(c, k[K_QUARANTINE]->value, quarantine_keys, 1, q) && q[0] &&
        cfg__int(c, q[0]->value, "keep", 0, 1000000, &v))
      f->quarantine_keep = (int)v;
  }
  if (k[K_BATCH]) {
    long long v;
    if (cfg__int(c, k[K_BATCH]->value, "batch", 1, 1000000, &v)) f->batch = (int)v;
  }
  if (k[K_HWM]) {
    long long v;
    if (cfg__int(c, k[K_HWM]->value, "hwm", 1, 100000000, &v)) f->hwm = (int)v;
  }
  if (k[K_MAX_SERIES]) {
    long long v;
    if (cfg__int(c, k[K_MAX_SERIES]->value, "max_series", 0, 1000000000LL, &v)) f->max_series = v;
  }
}

void cfg__feeds_parse(struct cfg__ctx *c, struct vg_config *cfg, const struct cfg__node *n) {
  if (n->type != CFG__MAP) {
    cfg__expected(c, n, "a mapping of feeds");
    return;
  }
  cfg->feeds = vg_calloc(n->n ? n->n : 1, sizeof *cfg->feeds);
  for (size_t i = 0; i < n->n; i++) {
    const struct cfg__pair *p = &n->pairs[i];
    if (p->duplicate) continue;
    if (!cfg__entry_name(c, p, "feed", true)) continue;
    struct cfg_feed *f = &cfg->feeds[cfg->n_feeds++];
    memset(f, 0, sizeof *f);
    f->name = vg_strdup(p->key->text);
    f->pos = p->key->pos;
    f->precision = vg_strdup("ns");
    f->quarantine_keep = 100;
    f->max_series = 100000;
    parse_feed(c, f, p->value);
  }
}

void cfg__feed_free(struct cfg_feed *f) {
  free(f->name);
  vg_strv_free(f->endpoints);
  vg_strv_free(f->topics);
  free(f->precision);
  free(f->json_measurement_key);
  free(f->json_measurement);
  free(f->json_time_key);
  vg_strv_free(f->json_tags);
  vg_strv_free(f->json_fields);
  vg_strv_free(f->json_ints);
  free(f->seq_field);
  vg_strv_free(f->seq_key);
}

static bool str_eq(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

static bool strv_eq(char **a, char **b) {
  size_t i = 0;
  if (!a || !b) return vg_strv_len(a) == vg_strv_len(b);
  for (; a[i] && b[i]; i++)
    if (strcmp(a[i], b[i]) != 0) return false;
  return !a[i] && !b[i];
}

bool cfg_feeds_equal(const struct vg_config *a, const struct vg_config *b) {
  if (a->n_feeds != b->n_feeds) return false;
  for (size_t i = 0; i < a->n_feeds; i++) {
    const struct cfg_feed *x = &a->feeds[i], *y = &b->feeds[i];
    if (!str_eq(x->name, y->name) || x->socket != y->socket || x->bind != y->bind ||
        !strv_eq(x->endpoints, y->endpoints) || !strv_eq(x->topics, y->topics) ||
        x->format != y->format || !str_eq(x->precision, y->precision) ||
        !str_eq(x->json_measurement_key, y->json_measurement_key) ||
        !str_eq(x->json_measurement, y->json_measurement) || !str_eq(x->json_time_key, y->json_time_key) ||
        !strv_eq(x->json_tags, y->json_tags) || !strv_eq(x->json_fields, y->json_fields) ||
        !strv_eq(x->json_ints, y->json_ints) || x->expect_rate != y->expect_rate ||
        !str_eq(x->seq_field, y->seq_field) || !strv_eq(x->seq_key, y->seq_key) ||
        x->max_gap != y->max_gap || x->quarantine_keep != y->quarantine_keep || x->batch != y->batch ||
        x->hwm != y->hwm || x->max_series != y->max_series)
      return false;
  }
  return true;
}

const struct cfg_feed *cfg_find_feed(const struct vg_config *cfg, const char *name) {
  for (size_t i = 0; i < cfg->n_feeds; i++)
    if (strcmp(cfg->feeds[i].name, name) == 0) return &cfg->feeds[i];
  return NULL;
}
