/*
 * export — the configuration that wires vigil into the tools around it: a Grafana
 * dashboard with its provisioning files, Prometheus alerting rules and the Prometheus
 * scrape job. Everything is generated from tables (one entry per panel, per alert, per
 * metric), so a module that adds metrics adds rows, not code.
 *
 * The dashboard's panels name their datasource by a fixed uid (default
 * EX_DATASOURCE_UID) that the datasource provisioning file gives the Prometheus
 * datasource, so an import needs no ${DS_PROMETHEUS} substitution.
 *
 * Generated text is returned as malloc'd strings the caller frees. Functions that
 * touch the file system return 0 or a negative errno and put a message naming the
 * path into a caller-supplied buffer. Out of memory aborts, as everywhere in vigil.
 * The user-facing description is docs/observability.md.
 */
#ifndef VIGIL_EXPORT_H
#define VIGIL_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

#define EX_DATASOURCE_UID "vigil-prometheus"
#define EX_PROMETHEUS_URL "http://127.0.0.1:9090"
#define EX_LISTEN "127.0.0.1:9464" /* vigil's default http.listen */
#define EX_JOB "vigil"             /* the Prometheus job name the exports agree on */
#define EX_DASHBOARD_UID "vigil-system-health"

/* ---- the metrics vigil exposes (families.c) ---- */
struct mt_registry;

/* A new registry holding every metric family vigil can expose, registered by each
 * module's own describe function (no series, except vigil_build_info; nothing that
 * needs a running daemon). The one list the exports are held to. Free it with
 * mt_registry_free. */
struct mt_registry *ex_metric_families(void);

enum ex_metric_origin {
  EX_METRIC_UNKNOWN,
  EX_METRIC_EXPOSED,   /* a sample name of a family in families (histograms: _bucket/_sum/_count) */
  EX_METRIC_SYNTHETIC, /* added by Prometheus at scrape time (up, scrape_*), not in /metrics */
};
/* Where a sample name comes from, families being ex_metric_families(). */
enum ex_metric_origin ex_metric_origin(struct mt_registry *families, const char *name);

/* Every family of families, one a line in name order: NAME TAB TYPE TAB LABELS
 * (comma-separated, may be empty) TAB HELP. */
char *ex_metric_list(struct mt_registry *families);

/* 0 when every expression of exprs (NULL-terminated) is well formed and selects only
 * samples of families (or, when synthetic_ok, ones Prometheus adds); else -1 with the
 * first culprit named in err. */
int ex_check_exprs(struct mt_registry *families, char **exprs, bool synthetic_ok, char *err,
                   size_t errlen);

/* ---- PromQL (promql.c) ---- */
/* Appends to *names (a NULL-terminated vector, NULL to start with; free it with
 * vg_strv_free) every metric name expr selects that is not there yet, in order of
 * appearance. A name is an identifier that is not followed by '(' (a function or an
 * aggregation), not a keyword (by, on, and, bool, offset, ...), not inside a label
 * matcher, a range or a string, and not a Grafana $variable. Returns 0, or -1 when
 * expr is malformed (an unterminated string or unbalanced brackets); the names found
 * before the problem are kept. */
int ex_promql_metrics(const char *expr, char ***names);

/* ---- Grafana (grafana.c) ---- */
struct ex_grafana_opts {
  const char *datasource_uid; /* NULL: EX_DATASOURCE_UID */
  const char *prometheus_url; /* NULL: EX_PROMETHEUS_URL */
};

/* A Grafana uid: 1 to 40 of [A-Za-z0-9_-]. */
bool ex_uid_valid(const char *uid);
/* An http:// or https:// URL with a host and no whitespace or quotes. */
bool ex_url_valid(const char *url);

/* The dashboard "vigil — system health" as JSON, every panel and target using the
 * Prometheus datasource of that uid. */
char *ex_grafana_dashboard(const char *datasource_uid);
/* provisioning/datasources/vigil.yaml: a Prometheus datasource of that uid and URL. */
char *ex_grafana_datasource_yaml(const char *datasource_uid, const char *prometheus_url);
/* provisioning/dashboards/vigil.yaml: a file provider reading dashboards_dir. */
char *ex_grafana_provider_yaml(const char *dashboards_dir);

/* Creates dir if needed and writes, each atomically (temp file, fsync, rename):
 *   DIR/dashboards/vigil-system-health.json
 *   DIR/provisioning/datasources/vigil.yaml
 *   DIR/provisioning/dashboards/vigil.yaml  (pointing at the absolute DIR/dashboards)
 * Invalid options are a programming error (check them with ex_uid_valid/ex_url_valid
 * first). Returns 0, or -errno with "cannot ...: path: reason" in err. */
int ex_grafana_write(const char *dir, const struct ex_grafana_opts *opts, char *err,
                     size_t errlen);

/* Every PromQL expression of the dashboard's panels, in panel order: a new
 * NULL-terminated vector (vg_strv_free). The templating query label_values() is not
 * PromQL and not listed. */
char **ex_grafana_exprs(void);

/* ---- Prometheus (rules.c, scrape.c) ---- */
/* The alerting rules file: one group "vigil", checked by `promtool check rules`. */
char *ex_rules_yaml(void);
/* Every alert's expression, in file order (vg_strv_free). */
char **ex_rules_exprs(void);

/* A scrape target HOST:PORT (host a name, an IPv4 address or a bracketed IPv6 one,
 * port 1-65535); an empty host means every interface. */
bool ex_target_valid(const char *target);
/* The scrape_configs entry (a YAML list item, to go under scrape_configs:) for a vigil
 * listening on listen (HOST:PORT, valid). A wildcard host (empty, 0.0.0.0, [::]) is
 * scraped on the loopback address, with a comment saying so. */
char *ex_scrape_yaml(const char *listen);

/* ---- files (write.c) ---- */
/* Replaces path with data atomically: path.tmp.PID, fsync, rename, fsync the
 * directory. Returns 0 or -errno (the temp file removed). */
int ex_write_file(const char *path, const char *data, size_t len);

#endif
