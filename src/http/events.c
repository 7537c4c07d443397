/*
 * The events stream (GET /api/v1/events, docs/api.md): what the page and `vigil status
 * --watch` follow instead of polling. The listener (listener.c) keeps the subscribed
 * connections and calls http__events_tick on a timer; this file decides what to send:
 *
 *   event: status   the whole status document, once, to a new subscriber
 *   event: service  one service object, whenever its state, pid, restarts, reason,
 *                   readiness or status text changed (checked every tick)
 *   event: feeds    the feeds' objects (rates, counters, ages), once a second
 *   event: alerts   the alerts (hooks.alerts), whenever they changed
 *   ": keep-alive"  a comment after 15 s without anything else
 *
 * Every data line is one compact JSON document. Runs on the loop thread.
 */
#include "http/http_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct http__events {
  struct http_api *api;
  char **names, **sigs; /* the services' last signatures, by name */
  size_t n, cap;
  char *alerts;         /* the last alerts document sent */
  unsigned ticks, quiet_ticks;
};

struct http__events *http__events_new(struct http_api *api) {
  struct http__events *ev = vg_calloc(1, sizeof *ev);
  ev->api = api;
  return ev;
}

static void forget(struct http__events *ev) {
  for (size_t i = 0; i < ev->n; i++) {
    free(ev->names[i]);
    free(ev->sigs[i]);
  }
  ev->n = 0;
}

void http__events_free(struct http__events *ev) {
  if (!ev) return;
  forget(ev);
  free(ev->names);
  free(ev->sigs);
  free(ev->alerts);
  free(ev);
}

static void emit(struct vg_buf *out, const char *event, json_t *j) {
  char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
  vg_buf_printf(out, "event: %s\ndata: %s\n\n", event, s);
  free(s);
}

void http__events_hello(struct http_api *api, struct vg_buf *out) {
  json_t *root = api__status_doc(api);
  emit(out, "status", root);
  json_decref(root);
}

/* What a service's "service" event is about: the object without its clocks. */
static char *signature(json_t *svc) {
  json_t *c = json_copy(svc);
  json_object_del(c, "uptime_seconds");
  json_object_del(c, "next_start_in");
  json_object_del(c, "watchdog_pings");
  char *s = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(c);
  return s;
}

static char **slot(struct http__events *ev, size_t hint, const char *name) {
  if (hint < ev->n && strcmp(ev->names[hint], name) == 0) return &ev->sigs[hint];
  for (size_t i = 0; i < ev->n; i++)
    if (strcmp(ev->names[i], name) == 0) return &ev->sigs[i];
  if (ev->n == ev->cap) {
    ev->cap = ev->cap ? ev->cap * 2 : 16;
    ev->names = vg_realloc(ev->names, ev->cap * sizeof *ev->names);
    ev->sigs = vg_realloc(ev->sigs, ev->cap * sizeof *ev->sigs);
  }
  ev->names[ev->n] = vg_strdup(name);
  ev->sigs[ev->n] = NULL;
  return &ev->sigs[ev->n++];
}

void http__events_tick(struct http__events *ev, struct vg_buf *out) {
  struct http_api *api = ev->api;
  size_t before = out->len;
  for (size_t i = 0; i < sv_count(api->sv); i++) {
    const struct sv_service *svc = sv_at(api->sv, i);
    json_t *j = api__service_json(svc);
    char *sig = signature(j);
    char **prev = slot(ev, i, json_string_value(json_object_get(j, "name")));
    if (!*prev || strcmp(*prev, sig) != 0) {
      emit(out, "service", j);
      free(*prev);
      *prev = sig;
    } else {
      free(sig);
    }
    json_decref(j);
  }
  if (ev->n > 4 * sv_count(api->sv) + 16) forget(ev); /* reloads removed many: start afresh */
  ev->ticks++;
  if (ev->ticks % (1000 / HTTP__EVENTS_TICK_MS) == 0 && api->hooks.status) {
    json_t *root = json_object();
    api->hooks.status(api->hooks.status_arg, root);
    json_t *feeds = json_object_get(root, "feeds");
    if (feeds) emit(out, "feeds", feeds);
    json_decref(root);
  }
  if (api->hooks.alerts) {
    json_t *a = api->hooks.alerts(api->hooks.alerts_arg);
    if (a) {
      char *s = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
      if (!ev->alerts || strcmp(ev->alerts, s) != 0) {
        vg_buf_printf(out, "event: alerts\ndata: %s\n\n", s);
        free(ev->alerts);
        ev->alerts = s;
      } else {
        free(s);
      }
      json_decref(a);
    }
  }
  if (out->len != before) {
    ev->quiet_ticks = 0;
  } else if (++ev->quiet_ticks >= 15000 / HTTP__EVENTS_TICK_MS) {
    vg_buf_puts(out, ": keep-alive\n\n");
    ev->quiet_ticks = 0;
  }
}
