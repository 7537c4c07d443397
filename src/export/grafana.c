/*
 * The Grafana side: the dashboard JSON built from the panel table (panels.c), the
 * datasource and dashboard provisioning files, and writing the three into a directory
 * Grafana can be pointed at.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/export_int.h"

enum { GRID_COLUMNS = 24 };

/* jansson returns NULL or -1 only when out of memory (every string here is UTF-8);
 * vigil's policy for that is to abort. */
static void jset(json_t *obj, const char *key, json_t *v) {
  VG_ASSERT(v != NULL);
  int rc = json_object_set_new(obj, key, v);
  VG_ASSERT(rc == 0);
}

static void jpush(json_t *arr, json_t *v) {
  VG_ASSERT(v != NULL);
  int rc = json_array_append_new(arr, v);
  VG_ASSERT(rc == 0);
}

static json_t *jobj(void) {
  json_t *o = json_object();
  VG_ASSERT(o != NULL);
  return o;
}

static json_t *jarr(void) {
  json_t *a = json_array();
  VG_ASSERT(a != NULL);
  return a;
}

static json_t *datasource(const char *uid) {
  json_t *ds = jobj();
  jset(ds, "type", json_string("prometheus"));
  jset(ds, "uid", json_string(uid));
  return ds;
}

static json_t *grid_pos(int x, int y, int w, int h) {
  json_t *g = jobj();
  jset(g, "h", json_integer(h));
  jset(g, "w", json_integer(w));
  jset(g, "x", json_integer(x));
  jset(g, "y", json_integer(y));
  return g;
}

static json_t *threshold_step(const char *color, const double *value) {
  json_t *s = jobj();
  jset(s, "color", json_string(color));
  jset(s, "value", value ? json_real(*value) : json_null());
  return s;
}

/* Absolute thresholds: base colour, then optionally `above` from value `at` on. */
static json_t *thresholds(const char *base, const char *above, double at) {
  json_t *t = jobj(), *steps = jarr();
  jset(t, "mode", json_string("absolute"));
  jpush(steps, threshold_step(base, NULL));
  if (above) jpush(steps, threshold_step(above, &at));
  jset(t, "steps", steps);
  return t;
}

static void add_mapping(json_t *options, const char *key, const char *text, const char *color,
                        int index) {
  json_t *m = jobj();
  jset(m, "color", json_string(color));
  jset(m, "index", json_integer(index));
  jset(m, "text", json_string(text));
  jset(options, key, m);
}

/* Value mappings of the states: by code (0..6) or by name. */
static json_t *state_mappings(bool by_code) {
  json_t *options = jobj();
  for (size_t i = 0; i < ex__n_states; i++) {
    char code[8];
    snprintf(code, sizeof code, "%zu", i);
    add_mapping(options, by_code ? code : ex__states[i].name, ex__states[i].name,
                ex__states[i].color, (int)i);
  }
  json_t *m = jobj(), *list = jarr();
  jset(m, "type", json_string("value"));
  jset(m, "options", options);
  jpush(list, m);
  return list;
}

static json_t *ready_mappings(const char *off, const char *on) {
  json_t *options = jobj();
  add_mapping(options, "0", off, "red", 0);
  add_mapping(options, "1", on, "green", 1);
  json_t *m = jobj(), *list = jarr();
  jset(m, "type", json_string("value"));
  jset(m, "options", options);
  jpush(list, m);
  return list;
}

static json_t *targets(const struct ex__panel *p, const char *uid) {
  json_t *list = jarr();
  bool table = p->look == EX__LOOK_STATE_TABLE;
  for (size_t i = 0; i < EX__MAX_QUERIES && p->q[i].expr; i++) {
    char ref[2] = {(char)('A' + i), '\0'};
    json_t *t = jobj();
    jset(t, "datasource", datasource(uid));
    jset(t, "refId", json_string(ref));
    jset(t, "expr", json_string(p->q[i].expr));
    jset(t, "legendFormat", json_string(p->q[i].legend ? p->q[i].legend : "__auto"));
    jset(t, "editorMode", json_string("code"));
    jset(t, "range", json_boolean(!table));
    jset(t, "instant", json_boolean(table));
    jset(t, "format", json_string(table ? "table" : "time_series"));
    jpush(list, t);
  }
  return list;
}

static json_t *legend_tooltip_options(void) {
  json_t *o = jobj(), *legend = jobj(), *tooltip = jobj();
  jset(legend, "showLegend", json_true());
  jset(legend, "displayMode", json_string("list"));
  jset(legend, "placement", json_string("bottom"));
  jset(legend, "calcs", jarr());
  jset(tooltip, "mode", json_string("multi"));
  jset(tooltip, "sort", json_string("desc"));
  jset(o, "legend", legend);
  jset(o, "tooltip", tooltip);
  return o;
}

static json_t *stat_options(enum ex__look look) {
  json_t *o = jobj(), *reduce = jobj(), *calcs = jarr();
  jpush(calcs, json_string("lastNotNull"));
  jset(reduce, "calcs", calcs);
  jset(reduce, "fields", json_string(""));
  jset(reduce, "values", json_false());
  jset(o, "reduceOptions", reduce);
  jset(o, "colorMode", json_string(look == EX__LOOK_NAME    ? "none"
                                   : look == EX__LOOK_PLAIN ? "value"
                                                            : "background"));
  jset(o, "graphMode", json_string("none"));
  jset(o, "justifyMode", json_string("auto"));
  jset(o, "orientation", json_string("auto"));
  jset(o, "textMode", json_string(look == EX__LOOK_NAME ? "name" : "auto"));
  return o;
}

/* Shows only service, state and (with several vigils) instance, state coloured. */
static void state_table(json_t *panel, json_t *field_config) {
  json_t *opts = jobj(), *exclude = jobj(), *index = jobj(), *organize = jobj(),
         *transforms = jarr();
  static const char *const hidden[] = {"Time", "Value", "__name__", "job"};
  for (size_t i = 0; i < VG_ARRAY_LEN(hidden); i++) jset(exclude, hidden[i], json_true());
  jset(index, "service", json_integer(0));
  jset(index, "state", json_integer(1));
  jset(index, "instance", json_integer(2));
  jset(opts, "excludeByName", exclude);
  jset(opts, "indexByName", index);
  jset(opts, "renameByName", jobj());
  jset(organize, "id", json_string("organize"));
  jset(organize, "options", opts);
  jpush(transforms, organize);
  jset(panel, "transformations", transforms);

  json_t *override = jobj(), *matcher = jobj(), *props = jarr(), *cell = jobj(),
         *cell_prop = jobj(), *map_prop = jobj();
  jset(matcher, "id", json_string("byName"));
  jset(matcher, "options", json_string("state"));
  jset(cell, "type", json_string("color-background"));
  jset(cell_prop, "id", json_string("custom.cellOptions"));
  jset(cell_prop, "value", cell);
  jset(map_prop, "id", json_string("mappings"));
  jset(map_prop, "value", state_mappings(false));
  jpush(props, cell_prop);
  jpush(props, map_prop);
  jset(override, "matcher", matcher);
  jset(override, "properties", props);
  jpush(json_object_get(field_config, "overrides"), override);

  json_t *o = jobj(), *footer = jobj();
  jset(footer, "show", json_false());
  jset(o, "showHeader", json_true());
  jset(o, "cellHeight", json_string("sm"));
  jset(o, "footer", footer);
  jset(panel, "options", o);
}

static json_t *panel_json(const struct ex__panel *p, int id, int x, int y, const char *uid) {
  json_t *j = jobj();
  jset(j, "id", json_integer(id));
  jset(j, "type", json_string(p->type));
  jset(j, "title", json_string(p->title));
  if (strcmp(p->type, "row") == 0) {
    jset(j, "collapsed", json_false());
    jset(j, "gridPos", grid_pos(0, y, GRID_COLUMNS, 1));
    jset(j, "panels", jarr());
    return j;
  }
  if (p->description) jset(j, "description", json_string(p->description));
  jset(j, "datasource", datasource(uid));
  jset(j, "gridPos", grid_pos(x, y, p->w, p->h));
  jset(j, "targets", targets(p, uid));

  json_t *fc = jobj(), *defaults = jobj(), *color = jobj();
  jset(fc, "defaults", defaults);
  jset(fc, "overrides", jarr());
  if (p->unit) jset(defaults, "unit", json_string(p->unit));
  bool series = strcmp(p->type, "timeseries") == 0;
  jset(color, "mode", json_string(series ? "palette-classic" : "thresholds"));
  jset(defaults, "color", color);
  jset(defaults, "thresholds", p->look == EX__LOOK_RATIO ? thresholds("red", "green", 1)
                                                         : thresholds("green", NULL, 0));
  if (p->look == EX__LOOK_READY) jset(defaults, "mappings", ready_mappings("not ready", "ready"));
  if (p->look == EX__LOOK_UP) jset(defaults, "mappings", ready_mappings("down", "up"));
  if (p->look == EX__LOOK_STATE_CODE) jset(defaults, "mappings", state_mappings(true));
  if (series) {
    json_t *custom = jobj();
    jset(custom, "drawStyle", json_string("line"));
    jset(custom, "lineWidth", json_integer(1));
    jset(custom, "fillOpacity", json_integer(10));
    jset(custom, "showPoints", json_string("never"));
    jset(custom, "spanNulls", json_false());
    jset(defaults, "custom", custom);
    jset(defaults, "min", json_integer(0));
    jset(j, "options", legend_tooltip_options());
  } else if (strcmp(p->type, "stat") == 0) {
    jset(j, "options", stat_options(p->look));
  } else if (strcmp(p->type, "state-timeline") == 0) {
    json_t *custom = jobj(), *o = legend_tooltip_options();
    jset(custom, "fillOpacity", json_integer(80));
    jset(custom, "lineWidth", json_integer(0));
    jset(defaults, "custom", custom);
    jset(o, "mergeValues", json_true());
    jset(o, "showValue", json_string("auto"));
    jset(o, "alignValue", json_string("left"));
    jset(o, "rowHeight", json_real(0.9));
    jset(j, "options", o);
  }
  if (p->look == EX__LOOK_STATE_TABLE) state_table(j, fc);
  jset(j, "fieldConfig", fc);
  return j;
}

/* Lays the panels out left to right, wrapping at the grid's width; a row starts a new
 * line of its own. */
static json_t *panels_json(const char *uid) {
  json_t *list = jarr();
  int x = 0, y = 0, line_h = 0;
  for (size_t i = 0; i < ex__n_panels; i++) {
    const struct ex__panel *p = &ex__panels[i];
    bool row = strcmp(p->type, "row") == 0;
    VG_ASSERT(row || (p->w > 0 && p->w <= GRID_COLUMNS && p->h > 0));
    if (x > 0 && (row || x + p->w > GRID_COLUMNS)) {
      y += line_h;
      x = 0;
      line_h = 0;
    }
    jpush(list, panel_json(p, (int)i + 1, x, y, uid));
    if (row) {
      y += 1;
    } else {
      x += p->w;
      if (p->h > line_h) line_h = p->h;
    }
  }
  return list;
}

static json_t *templating(const char *uid) {
  static const char query[] = "label_values(vigil_service_up, service)";
  json_t *v = jobj(), *current = jobj(), *text = jarr(), *value = jarr();
  jset(v, "name", json_string("service"));
  jset(v, "label", json_string("Service"));
  jset(v, "type", json_string("query"));
  jset(v, "datasource", datasource(uid));
  jset(v, "definition", json_string(query));
  jset(v, "query", json_string(query));
  jset(v, "refresh", json_integer(2)); /* on time range change: new services appear */
  jset(v, "multi", json_true());
  jset(v, "includeAll", json_true());
  jset(v, "allValue", json_string(".*"));
  jpush(text, json_string("All"));
  jpush(value, json_string("$__all"));
  jset(current, "selected", json_true());
  jset(current, "text", text);
  jset(current, "value", value);
  jset(v, "current", current);
  jset(v, "options", jarr());
  jset(v, "regex", json_string(""));
  jset(v, "sort", json_integer(1));
  jset(v, "hide", json_integer(0));
  jset(v, "skipUrlSync", json_false());
  json_t *t = jobj(), *list = jarr();
  jpush(list, v);
  jset(t, "list", list);
  return t;
}

char *ex_grafana_dashboard(const char *datasource_uid) {
  const char *uid = datasource_uid ? datasource_uid : EX_DATASOURCE_UID;
  VG_ASSERT(ex_uid_valid(uid));
  json_t *d = jobj(), *tags = jarr(), *time = jobj(), *annotations = jobj();
  jset(d, "id", json_null());
  jset(d, "uid", json_string(EX_DASHBOARD_UID));
  jset(d, "title", json_string("vigil \xe2\x80\x94 system health"));
  jset(d, "description",
       json_string("Services supervised by vigil, its feeds, store, InfluxDB sink and compute "
                   "runs, and the vigil daemon itself. Written by "
                   "`vigil export grafana`; see docs/observability.md."));
  jpush(tags, json_string("vigil"));
  jset(d, "tags", tags);
  jset(d, "timezone", json_string("browser"));
  jset(d, "editable", json_true());
  jset(d, "graphTooltip", json_integer(1));
  jset(d, "schemaVersion", json_integer(38));
  jset(d, "version", json_integer(1));
  jset(d, "refresh", json_string("10s"));
  jset(time, "from", json_string("now-1h"));
  jset(time, "to", json_string("now"));
  jset(d, "time", time);
  jset(d, "timepicker", jobj());
  jset(d, "fiscalYearStartMonth", json_integer(0));
  jset(d, "liveNow", json_false());
  jset(d, "links", jarr());
  jset(annotations, "list", jarr());
  jset(d, "annotations", annotations);
  jset(d, "templating", templating(uid));
  jset(d, "panels", panels_json(uid));
  /* jansson keeps insertion order, so the file reads in the order written here */
  char *text = json_dumps(d, JSON_INDENT(2));
  VG_ASSERT(text != NULL);
  json_decref(d);
  char *out = vg_asprintf("%s\n", text);
  free(text);
  return out;
}

char **ex_grafana_exprs(void) {
  char **v = vg_calloc(1, sizeof *v);
  size_t n = 0;
  for (size_t i = 0; i < ex__n_panels; i++) {
    for (size_t k = 0; k < EX__MAX_QUERIES && ex__panels[i].q[k].expr; k++) {
      v = vg_realloc(v, (n + 2) * sizeof *v);
      v[n++] = vg_strdup(ex__panels[i].q[k].expr);
      v[n] = NULL;
    }
  }
  return v;
}

bool ex_uid_valid(const char *uid) {
  size_t n = strlen(uid);
  if (n == 0 || n > 40) return false;
  return strspn(uid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

bool ex_url_valid(const char *url) {
  const char *rest;
  if (strncmp(url, "http://", 7) == 0) rest = url + 7;
  else if (strncmp(url, "https://", 8) == 0) rest = url + 8;
  else return false;
  if (*rest == '\0' || *rest == '/') return false;
  for (const char *p = url; *p; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f || strchr("\"'\\`<>", *p)) return false;
  return true;
}

char *ex_grafana_datasource_yaml(const char *datasource_uid, const char *prometheus_url) {
  const char *uid = datasource_uid ? datasource_uid : EX_DATASOURCE_UID;
  const char *url = prometheus_url ? prometheus_url : EX_PROMETHEUS_URL;
  VG_ASSERT(ex_uid_valid(uid) && ex_url_valid(url));
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_puts(&b,
              "# Grafana datasource for vigil, written by `vigil export grafana`.\n"
              "# The vigil dashboard's panels name this datasource by its uid.\n"
              "apiVersion: 1\n"
              "datasources:\n"
              "  - name: 'Prometheus (vigil)'\n"
              "    type: prometheus\n"
              "    uid: ");
  ex__yaml_quote(&b, uid);
  vg_buf_puts(&b, "\n    access: proxy\n    url: ");
  ex__yaml_quote(&b, url);
  vg_buf_puts(&b, "\n    isDefault: false\n"
                  "    jsonData:\n"
                  "      # the scrape interval of the vigil job, so $__rate_interval fits it\n"
                  "      timeInterval: 15s\n");
  return b.data;
}

char *ex_grafana_provider_yaml(const char *dashboards_dir) {
  struct vg_buf b;
  vg_buf_init(&b);
  vg_buf_puts(&b,
              "# Grafana dashboard provider for vigil, written by `vigil export grafana`.\n"
              "apiVersion: 1\n"
              "providers:\n"
              "  - name: vigil\n"
              "    orgId: 1\n"
              "    folder: vigil\n"
              "    type: file\n"
              "    disableDeletion: false\n"
              "    allowUiUpdates: false\n"
              "    updateIntervalSeconds: 30\n"
              "    options:\n"
              "      path: ");
  ex__yaml_quote(&b, dashboards_dir);
  vg_buf_puts(&b, "\n      foldersFromFilesStructure: false\n");
  return b.data;
}

/* Creates DIR/sub; the new path is returned through *out (caller frees). */
static int make_dir(const char *dir, const char *sub, char **out, char *err, size_t errlen) {
  *out = vg_asprintf("%s/%s", dir, sub);
  int rc = vg_mkdir_p(*out, 0755);
  if (rc < 0) snprintf(err, errlen, "cannot create directory %s: %s", *out, strerror(-rc));
  return rc;
}

static int write_text(const char *dir, const char *name, char *text, char *err,
                      size_t errlen) {
  char *path = vg_asprintf("%s/%s", dir, name);
  int rc = ex_write_file(path, text, strlen(text));
  if (rc < 0) snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
  free(path);
  free(text);
  return rc;
}

int ex_grafana_write(const char *dir, const struct ex_grafana_opts *opts, char *err,
                     size_t errlen) {
  char *abs = NULL, *dash_dir = NULL, *ds_dir = NULL, *prov_dir = NULL;
  int rc = vg_mkdir_p(dir, 0755);
  if (rc < 0) {
    snprintf(err, errlen, "cannot create directory %s: %s", dir, strerror(-rc));
    return rc;
  }
  /* the provider names the dashboards by absolute path: Grafana's cwd is not ours */
  char resolved[PATH_MAX];
  if (!realpath(dir, resolved)) {
    rc = -errno;
    snprintf(err, errlen, "cannot resolve %s: %s", dir, strerror(errno));
    return rc;
  }
  for (const char *p = resolved; *p; p++) {
    if ((unsigned char)*p < 0x20) {
      snprintf(err, errlen, "cannot use %s: the path holds a control character", dir);
      return -EINVAL;
    }
  }
  abs = vg_strdup(resolved);
  if ((rc = make_dir(abs, "dashboards", &dash_dir, err, errlen)) < 0) goto out;
  if ((rc = make_dir(abs, "provisioning/datasources", &ds_dir, err, errlen)) < 0) goto out;
  if ((rc = make_dir(abs, "provisioning/dashboards", &prov_dir, err, errlen)) < 0) goto out;
  rc = write_text(dash_dir, EX_DASHBOARD_UID ".json", ex_grafana_dashboard(opts->datasource_uid),
                  err, errlen);
  if (rc < 0) goto out;
  rc = write_text(ds_dir, "vigil.yaml",
                  ex_grafana_datasource_yaml(opts->datasource_uid, opts->prometheus_url), err,
                  errlen);
  if (rc < 0) goto out;
  rc = write_text(prov_dir, "vigil.yaml", ex_grafana_provider_yaml(dash_dir), err, errlen);
out:
  free(prov_dir);
  free(ds_dir);
  free(dash_dir);
  free(abs);
  return rc;
}
