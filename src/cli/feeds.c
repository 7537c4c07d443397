/*
 * The daemon's feeds: the `feeds` of the config started as ingest feeds (one thread
 * each, src/ingest/feed.c), their metrics, and their part of the status document
 * (/api/v1/status "feeds", which `vigil status` and `vigil validate` read). Feeds are
 * read once at start-up: up.c refuses a reload that changes them.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/core.h"
#include "ingest/ingest.h"

struct cli_feeds {
  struct ingest_feed **v;
  size_t n;
  struct ingest_metrics *metrics;
  /* what the status shows of each feed's config (the config may be reloaded away) */
  struct feed_info {
    char *socket, *format, *seq_field, **endpoints;
    bool bind;
    double expect_rate;
    long long max_gap, max_series;
    char *quarantine;
  } *info;
  bool store;
};

static size_t strv_len(char **v) { return v ? vg_strv_len(v) : 0; }

int cli_feeds_start(const struct vg_config *cfg, const struct ingest_target *target,
                    struct mt_registry *reg, struct cli_feeds **out, char *err, size_t errlen) {
  struct cli_feeds *fs = vg_calloc(1, sizeof *fs);
  fs->v = vg_calloc(cfg->n_feeds + 1, sizeof *fs->v);
  fs->info = vg_calloc(cfg->n_feeds + 1, sizeof *fs->info);
  fs->store = target && target->store;
  for (size_t i = 0; i < cfg->n_feeds; i++) {
    const struct cfg_feed *c = &cfg->feeds[i];
    char *qpath = vg_asprintf("%s/quarantine/%s.log", cfg->state_dir, c->name);
    struct ingest_feed_opts o = {
        .name = c->name,
        .socket = c->socket == CFG_FEED_PULL ? INGEST_PULL : INGEST_SUB,
        .bind = c->bind,
        .endpoints = (const char *const *)c->endpoints,
        .n_endpoints = strv_len(c->endpoints),
        .topics = (const char *const *)c->topics,
        .n_topics = strv_len(c->topics),
        .format = c->format == CFG_FEED_JSON ? INGEST_JSON : INGEST_LINE,
        .json = {.measurement_key = c->json_measurement_key,
                 .measurement = c->json_measurement,
                 .time_key = c->json_time_key,
                 .tag_keys = (const char *const *)c->json_tags,
                 .n_tag_keys = strv_len(c->json_tags),
                 .field_keys = (const char *const *)c->json_fields,
                 .n_field_keys = strv_len(c->json_fields),
                 .int_keys = (const char *const *)c->json_ints,
                 .n_int_keys = strv_len(c->json_ints)},
        .seq_field = c->seq_field,
        .seq_key = (const char *const *)c->seq_key,
        .n_seq_key = strv_len(c->seq_key),
        .quarantine_path = qpath,
        .quarantine_keep = (size_t)c->quarantine_keep,
        .batch_points = (size_t)c->batch,
        .max_series = (size_t)c->max_series,
        .hwm = c->hwm,
    };
    o.ts_mult = ingest_precision(c->precision ? c->precision : "ns");
    int rc = ingest_feed_start(&o, target, &fs->v[fs->n], err, errlen);
    if (rc < 0) {
      free(qpath);
      cli_feeds_stop(fs);
      return -1;
    }
    struct feed_info *in = &fs->info[fs->n++];
    in->socket = vg_strdup(cfg_feed_socket_name(c->socket));
    in->format = vg_strdup(cfg_feed_format_name(c->format));
    in->seq_field = c->seq_field ? vg_strdup(c->seq_field) : NULL;
    in->endpoints = vg_strv_dup(c->endpoints);
    in->bind = c->bind;
    in->expect_rate = c->expect_rate;
    in->max_gap = c->max_gap;
    in->max_series = c->max_series;
    in->quarantine = qpath;
    VG_INFO("feed started", VF_S("feed", c->name), VF_S("socket", in->socket),
            VF_S(c->bind ? "bind" : "connect", c->endpoints[0]), VF_S("format", in->format));
  }
  if (reg && fs->n) {
    fs->metrics = ingest_metrics_register(reg, fs->v, fs->n);
    for (size_t i = 0; i < fs->n; i++)
      if (fs->info[i].expect_rate > 0) ingest_metrics_expect(fs->metrics, i, fs->info[i].expect_rate);
  }
  *out = fs;
  return 0;
}

void cli_feeds_stop(struct cli_feeds *fs) {
  if (!fs) return;
  for (size_t i = 0; i < fs->n; i++) {
    ingest_feed_stop(fs->v[i]);
    free(fs->info[i].socket);
    free(fs->info[i].format);
    free(fs->info[i].seq_field);
    free(fs->info[i].quarantine);
    vg_strv_free(fs->info[i].endpoints);
  }
  ingest_metrics_free(fs->metrics);
  free(fs->v);
  free(fs->info);
  free(fs);
}

/* RFC 3339 UTC with milliseconds, as the quarantine file writes it. */
static json_t *iso_time(int64_t ns) {
  char out[VG_TIME_LEN];
  vg_rfc3339_format(ns, 3, out, sizeof out);
  return json_string(out);
}

static json_t *feed_json(struct ingest_feed *f, const struct feed_info *in, bool store) {
  struct ingest_feed_stats st;
  ingest_feed_stats(f, &st);
  json_t *o = json_object();
  json_object_set_new(o, "name", json_string(ingest_feed_name(f)));
  json_object_set_new(o, "socket", json_string(in->socket));
  json_t *eps = json_array();
  for (size_t i = 0; in->endpoints && in->endpoints[i]; i++) json_array_append_new(eps, json_string(in->endpoints[i]));
  json_object_set_new(o, "endpoints", eps);
  json_object_set_new(o, "bind", json_boolean(in->bind));
  json_object_set_new(o, "format", json_string(in->format));
  json_object_set_new(o, "messages", json_integer((json_int_t)st.messages));
  json_object_set_new(o, "points", json_integer((json_int_t)st.points));
  json_object_set_new(o, "values", json_integer((json_int_t)st.values));
  json_object_set_new(o, "series", json_integer((json_int_t)st.series));
  json_object_set_new(o, "max_series", in->max_series ? json_integer(in->max_series) : json_null());
  json_object_set_new(o, "bytes", json_integer((json_int_t)st.bytes));
  json_t *errs = json_object();
  uint64_t total = 0;
  for (int k = 0; k < INGEST_R_N; k++) {
    json_object_set_new(errs, ingest_reason_name((enum ingest_reason)k), json_integer((json_int_t)st.errors[k]));
    total += st.errors[k];
  }
  json_object_set_new(o, "decode_errors", json_integer((json_int_t)total));
  json_object_set_new(o, "errors", errs);
  json_object_set_new(o, "quarantined", json_integer((json_int_t)st.quarantined));
  json_object_set_new(o, "quarantine_file", json_string(in->quarantine));
  json_object_set_new(o, "message_rate", json_real(st.message_rate));
  json_object_set_new(o, "point_rate", json_real(st.point_rate));
  json_object_set_new(o, "last_message", st.last_message_ns ? iso_time(st.last_message_ns) : json_null());
  json_object_set_new(o, "last_message_age_seconds",
                      st.last_message_ns ? json_real(vg_wall_seconds() - (double)st.last_message_ns / 1e9) : json_null());
  char sum[24];
  snprintf(sum, sizeof sum, "0x%016" PRIx64, st.checksum);
  json_object_set_new(o, "checksum", json_string(sum));
  json_object_set_new(o, "store", json_boolean(store));
  json_object_set_new(o, "batches", json_integer((json_int_t)st.batches));
  json_object_set_new(o, "store_failures", json_integer((json_int_t)st.store_failures));
  json_t *seq = json_null();
  if (in->seq_field) {
    seq = json_object();
    json_object_set_new(seq, "field", json_string(in->seq_field));
    json_object_set_new(seq, "keys", json_integer((json_int_t)st.seq.keys));
    json_object_set_new(seq, "gaps", json_integer((json_int_t)st.seq.gaps));
    json_object_set_new(seq, "missed", json_integer((json_int_t)st.seq.missed));
    json_object_set_new(seq, "late", json_integer((json_int_t)st.seq.late));
    json_object_set_new(seq, "resets", json_integer((json_int_t)st.seq.resets));
    struct ingest_gap g[INGEST_SEQ_RECENT];
    size_t n = ingest_feed_gaps(f, g, INGEST_SEQ_RECENT);
    json_t *rec = json_array();
    for (size_t i = 0; i < n; i++) {
      json_t *x = json_object();
      json_object_set_new(x, "key", json_string(g[i].key));
      json_object_set_new(x, "after", json_integer(g[i].after));
      json_object_set_new(x, "got", json_integer(g[i].got));
      json_object_set_new(x, "missed", json_integer(g[i].got - g[i].after - 1));
      json_object_set_new(x, "time", iso_time(g[i].wall_ns));
      json_array_append_new(rec, x);
    }
    json_object_set_new(seq, "recent", rec);
  }
  json_object_set_new(o, "seq", seq);
  json_t *ex = json_object();
  json_object_set_new(ex, "rate", in->expect_rate > 0 ? json_real(in->expect_rate) : json_null());
  json_object_set_new(ex, "max_gap", in->seq_field ? json_integer(in->max_gap) : json_null());
  json_object_set_new(o, "expect", ex);
  return o;
}

void cli_feeds_status(void *arg, void *root) {
  struct cli_feeds *fs = arg;
  if (!fs || fs->n == 0) return;
  json_t *arr = json_array();
  for (size_t i = 0; i < fs->n; i++) json_array_append_new(arr, feed_json(fs->v[i], &fs->info[i], fs->store));
  json_object_set_new(root, "feeds", arr);
}

size_t cli_feeds_list(struct cli_feeds *fs, struct ingest_feed ***out) {
  *out = fs ? fs->v : NULL;
  return fs ? fs->n : 0;
}
