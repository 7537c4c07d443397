/*
 * The cache's routes (docs/api.md):
 *   GET /api/v1/cache?match=GLOB&limit=N   entries whose key (or alias) matches
 *   GET /api/v1/cache/stats                keys, updates, the Redis mirror
 *   GET /api/v1/cache/docs                 the documents' names
 *   GET /api/v1/cache/docs/{name}          one document's JSON
 *   GET /api/v1/cache/diff?match=&tolerance=  the cache against Redis (cache_mirror_diff)
 * Matching walks every key, so it runs on the loop's thread pool like the store's
 * routes; the rest reads a few atomics or one document.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"
#include "core/core.h"
#include "http/http.h"
#include "http/cache_api.h"

#define DEFAULT_LIMIT 1000
#define MAX_LIMIT 1000000

static void err_json(struct http_response *resp, int status, const char *msg) {
  resp->status = status;
  vg_buf_reset(&resp->body);
  vg_buf_puts(&resp->body, "{\"error\": ");
  vg_buf_json_str(&resp->body, msg);
  vg_buf_puts(&resp->body, "}\n");
}

void cache_api_entry_json(const struct cache_entry *e, int64_t now, struct vg_buf *b) {
  vg_buf_puts(b, "{\"key\":");
  vg_buf_json_str(b, e->key);
  vg_buf_printf(b, ",\"type\":\"%s\",\"value\":", tsdb_type_name(e->value.type));
  switch (e->value.type) {
  case TSDB_FLOAT:
    if (isfinite(e->value.v.f)) vg_buf_double(b, e->value.v.f);
    else vg_buf_printf(b, "\"%s\"", isnan(e->value.v.f) ? "NaN" : e->value.v.f > 0 ? "+Inf" : "-Inf");
    break;
  case TSDB_INT: vg_buf_printf(b, "%lld", (long long)e->value.v.i); break;
  case TSDB_UINT: vg_buf_printf(b, "%llu", (unsigned long long)e->value.v.u); break;
  case TSDB_BOOL: vg_buf_puts(b, e->value.v.b ? "true" : "false"); break;
  case TSDB_STRING: vg_buf_json_str(b, e->str); break;
  }
  char ts[40], rx[40];
  vg_rfc3339_format(e->ts, 9, ts, sizeof ts);
  vg_rfc3339_format(e->received, 6, rx, sizeof rx);
  double age = (double)(now - e->received) / 1e9;
  vg_buf_printf(b, ",\"time\":\"%s\",\"received\":\"%s\",\"age_s\":%.3f,\"source\":", ts, rx,
                age < 0 ? 0 : age);
  vg_buf_json_str(b, e->source);
  vg_buf_printf(b, ",\"updates\":%llu}", (unsigned long long)e->updates);
}

struct list {
  struct vg_buf *out;
  size_t limit, n;
  int64_t now;
};

static bool list_one(void *arg, const struct cache_entry *e) {
  struct list *l = arg;
  if (l->n == l->limit) {
    l->n++; /* one past: truncated */
    return false;
  }
  vg_buf_puts(l->out, l->n ? ",\n  " : "\n  ");
  cache_api_entry_json(e, l->now, l->out);
  l->n++;
  return true;
}

struct cache_job {
  struct cache *cache;
  char match[1024];
  size_t limit;
};

static void entries_run(void *arg, struct http_response *resp) {
  struct cache_job *j = arg;
  struct list l = {.out = &resp->body, .limit = j->limit, .now = vg_wall_ns()};
  vg_buf_puts(&resp->body, "{\"entries\": [");
  (void)cache_each(j->cache, j->match[0] ? j->match : NULL, list_one, &l);
  bool truncated = l.n > l.limit;
  vg_buf_printf(&resp->body, "%s], \"count\": %zu, \"truncated\": %s, \"keys\": %zu}\n",
                l.n && l.limit ? "\n" : "", truncated ? l.limit : l.n,
                truncated ? "true" : "false", cache_size(j->cache));
}

struct diff_job {
  struct cache *cache;
  char match[1024];
  double tolerance;
  size_t max;
};

static json_t *str_array(char **v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(v[i]));
  return a;
}

static void diff_run(void *arg, struct http_response *resp) {
  struct diff_job *j = arg;
  struct cache_diff d;
  char err[300];
  int rc = cache_mirror_diff(j->cache, j->match[0] ? j->match : NULL, j->tolerance, j->max, &d,
                             err, sizeof err);
  if (rc < 0) {
    err_json(resp, rc == -ENOTCONN ? 503 : 502, err);
    return;
  }
  json_t *o = json_object();
  json_object_set_new(o, "only_cache", json_integer((json_int_t)d.only_cache));
  json_object_set_new(o, "only_redis", json_integer((json_int_t)d.only_redis));
  json_object_set_new(o, "differ", json_integer((json_int_t)d.differ));
  json_object_set_new(o, "only_cache_keys", str_array(d.only_cache_keys, d.n_only_cache_keys));
  json_object_set_new(o, "only_redis_keys", str_array(d.only_redis_keys, d.n_only_redis_keys));
  json_object_set_new(o, "differ_keys", str_array(d.differ_keys, d.n_differ_keys));
  char *s = json_dumps(o, JSON_INDENT(2));
  vg_buf_puts(&resp->body, s);
  vg_buf_putc(&resp->body, '\n');
  free(s);
  json_decref(o);
  cache_diff_free(&d);
}

static void stats(struct cache *c, struct http_response *resp) {
  struct cache_mirror_stats ms;
  cache_mirror_stats(c, &ms);
  json_t *o = json_object();
  json_object_set_new(o, "keys", json_integer((json_int_t)cache_size(c)));
  json_t *m = json_object();
  json_object_set_new(m, "configured", json_boolean(ms.configured));
  json_object_set_new(m, "connected", json_boolean(ms.connected));
  json_object_set_new(m, "written", json_integer((json_int_t)ms.keys_written));
  json_object_set_new(m, "coalesced", json_integer((json_int_t)ms.keys_dropped));
  json_object_set_new(m, "errors", json_integer((json_int_t)ms.write_errors));
  json_object_set_new(m, "reconnects", json_integer((json_int_t)ms.reconnects));
  json_object_set_new(m, "pending", json_integer((json_int_t)ms.pending));
  json_object_set_new(m, "last_error", json_string(ms.last_error));
  json_object_set_new(o, "mirror", m);
  char **names;
  size_t n = cache_doc_names(c, &names);
  json_t *docs = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *d = json_object();
    json_object_set_new(d, "name", json_string(names[i]));
    double age = cache_doc_age(c, names[i]);
    json_object_set_new(d, "age_s", age < 0 ? json_null() : json_real(age));
    json_array_append_new(docs, d);
    free(names[i]);
  }
  free(names);
  json_object_set_new(o, "documents", docs);
  char *s = json_dumps(o, JSON_INDENT(2));
  vg_buf_puts(&resp->body, s);
  vg_buf_putc(&resp->body, '\n');
  free(s);
  json_decref(o);
}

int cache_api_handle(struct cache *c, const struct http_request *req, struct http_response *resp) {
  const char *p = req->path;
  if (strcmp(p, "/api/v1/cache") != 0 && strncmp(p, "/api/v1/cache/", 14) != 0) return 0;
  if (!c) {
    err_json(resp, 503, "the cache is disabled (cache: {enabled: false})");
    return 1;
  }
  if (strcmp(p, "/api/v1/cache/stats") == 0) {
    stats(c, resp);
  } else if (strcmp(p, "/api/v1/cache/docs") == 0) {
    char **names;
    size_t n = cache_doc_names(c, &names);
    vg_buf_puts(&resp->body, "{\"documents\": [");
    for (size_t i = 0; i < n; i++) {
      vg_buf_puts(&resp->body, i ? ", " : "");
      vg_buf_json_str(&resp->body, names[i]);
      free(names[i]);
    }
    free(names);
    vg_buf_puts(&resp->body, "]}\n");
  } else if (strncmp(p, "/api/v1/cache/docs/", 19) == 0) {
    char *json = cache_doc_render(c, p + 19);
    if (!json) {
      char msg[300];
      snprintf(msg, sizeof msg, "no document named '%s'", p + 19);
      err_json(resp, 404, msg);
      return 1;
    }
    vg_buf_puts(&resp->body, json);
    vg_buf_putc(&resp->body, '\n');
    free(json);
  } else if (strcmp(p, "/api/v1/cache/diff") == 0) {
    struct diff_job *j = vg_calloc(1, sizeof *j);
    j->cache = c;
    j->max = 100;
    char v[64];
    if (http_query_get(req->query, "tolerance", v, sizeof v) == 0) {
      char *end;
      j->tolerance = strtod(v, &end);
      if (!v[0] || *end || !(j->tolerance >= 0) || isinf(j->tolerance)) {
        free(j);
        err_json(resp, 400, "tolerance must be a finite number >= 0");
        return 1;
      }
    }
    if (http_query_get(req->query, "match", j->match, sizeof j->match) < 0) j->match[0] = '\0';
    if (!resp->defer_loop) {
      diff_run(j, resp);
      free(j);
    } else {
      resp->job = http_job_submit(resp->defer_loop, diff_run, j, free, resp->defer_done,
                                  resp->defer_arg);
    }
  } else if (strcmp(p, "/api/v1/cache") == 0) {
    struct cache_job *j = vg_calloc(1, sizeof *j);
    j->cache = c;
    j->limit = DEFAULT_LIMIT;
    char v[32];
    if (http_query_get(req->query, "limit", v, sizeof v) == 0) {
      char *end;
      long long x = strtoll(v, &end, 10);
      if (!v[0] || *end || x < 1 || x > MAX_LIMIT) {
        free(j);
        err_json(resp, 400, "limit must be an integer between 1 and 1000000");
        return 1;
      }
      j->limit = (size_t)x;
    }
    if (http_query_get(req->query, "match", j->match, sizeof j->match) < 0) {
      j->match[0] = '\0';
      if ((strncmp(req->query, "match=", 6) == 0 || strstr(req->query, "&match="))) {
        free(j);
        err_json(resp, 400, "match must be a key, an alias or a glob of at most 1023 bytes");
        return 1;
      }
    }
    if (!resp->defer_loop) {
      entries_run(j, resp);
      free(j);
    } else {
      resp->job = http_job_submit(resp->defer_loop, entries_run, j, free, resp->defer_done,
                                  resp->defer_arg);
    }
  } else {
    err_json(resp, 404, "no such route");
  }
  return 1;
}
