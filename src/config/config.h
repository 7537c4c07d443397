/*
 * config — the YAML file that describes a whole vigil stack, parsed into typed structs.
 *
 * Parsing never stops at the first problem: every problem is collected as a diagnostic
 * with the file, line and column it concerns (1-based), so `vigil check` can print them
 * all as `file:line:col: message`. A config with any diagnostic is not usable.
 *
 * Scalars go through ${VAR} / ${VAR:-default} expansion before they are interpreted.
 * Durations are written 250ms, 30s, 5m, 1h (or a plain 0).
 * The full reference is docs/config.md.
 */
#ifndef VIGIL_CONFIG_H
#define VIGIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

struct cfg_pos {
  int line; /* 1-based; 0 when unknown */
  int col;  /* 1-based */
};

struct cfg_diag {
  struct cfg_pos pos;
  char *msg;
};

struct cfg_diags {
  struct cfg_diag *items;
  size_t n, cap;
};

enum cfg_probe_kind {
  CFG_PROBE_NONE,   /* ready as soon as the process has exec'd */
  CFG_PROBE_TCP,    /* a TCP connect to host:port succeeds */
  CFG_PROBE_HTTP,   /* GET url answers 2xx */
  CFG_PROBE_EXEC,   /* argv exits 0 */
  CFG_PROBE_LOG,    /* a line of the service's output matches regex */
  CFG_PROBE_NOTIFY, /* the service sends READY=1 on $NOTIFY_SOCKET */
  CFG_PROBE_FRESH,  /* a cache key or document was updated within `within` */
};

struct cfg_probe {
  enum cfg_probe_kind kind;
  char *target;       /* tcp: "host:port"; http: url; log: regex; else NULL */
  char **argv;        /* exec: NULL-terminated argv; else NULL */
  int64_t timeout_ms; /* give up on readiness after this long; default 30s */
  int64_t interval_ms;/* poll period of tcp/http/exec probes; default 100ms */
  int64_t within_ms;  /* fresh: the key or document (target) is at most this old; 30s */
};

enum cfg_restart_policy { CFG_RESTART_ALWAYS, CFG_RESTART_ON_FAILURE, CFG_RESTART_NEVER };

struct cfg_restart {
  enum cfg_restart_policy policy; /* default always */
  int64_t delay_ms;               /* first restart delay; default 1s */
  int64_t max_delay_ms;           /* backoff cap; default 30s */
  double jitter;                  /* 0..1, fraction of the delay randomised; default 0.1 */
  int64_t reset_after_ms;         /* ready this long resets the backoff; default 60s */
  int max_restarts;               /* 0 = unlimited; default 5 */
  int64_t window_ms;              /* window for max_restarts; default 60s */
};

struct cfg_stop {
  int signal;         /* default SIGTERM */
  int64_t timeout_ms; /* then SIGKILL to the process group; default 10s */
};

struct cfg_log {
  bool capture;       /* pipe stdout/stderr through vigil; default true */
  bool echo;          /* copy captured lines into vigil's own log; default true */
  bool file;          /* write state_dir/logs/<name>.log; default true */
  int64_t max_bytes;  /* rotate the file beyond this size; default 10 MiB */
  int keep;           /* rotated files kept; default 3 */
};

struct cfg_limit {
  bool set;
  rlim_t value; /* RLIM_INFINITY for "unlimited" */
};

struct cfg_limits {
  struct cfg_limit nofile, core, as;
};

struct cfg_service {
  char *name;
  struct cfg_pos pos;   /* where the service's key is in the file */
  char **argv;          /* NULL-terminated; with shell: true, {"/bin/sh","-c",cmd} */
  struct cfg_pos cmd_pos; /* of cmd's value */
  bool shell;
  char **env;           /* NULL-terminated "KEY=VALUE" entries added to the environment */
  bool clear_env;       /* start from an empty environment (PATH kept) */
  char *cwd;            /* NULL: vigil's own cwd */
  char *user, *group;   /* NULL: unchanged; only honoured when vigil runs as root */
  char **depends_on;    /* NULL-terminated service names */
  struct cfg_pos *depends_pos; /* position of each depends_on entry */
  struct cfg_probe ready;
  struct cfg_restart restart;
  int *no_restart_exit_codes;
  size_t n_no_restart_exit_codes;
  struct cfg_stop stop;
  int64_t watchdog_ms;  /* 0: no watchdog */
  /* stale: the cache key or document the service keeps fresh (NULL: none); older than
   * warn it is logged, older than restart the run counts as failed (as a watchdog) and
   * the restart policy applies. Defaults 30s and 60s (document 000's rules). */
  char *stale_key;
  int64_t stale_warn_ms, stale_restart_ms;
  struct cfg_log log;
  struct cfg_limits limits;
  char *role;           /* "active", "standby" or NULL: runs on the lease holder only, on
                           the others only, or everywhere (failover) */
  uint64_t fingerprint; /* hash of the whole definition; reload restarts on change */
};

struct cfg_http {
  char *listen;         /* "host:port" of the HTTP server; NULL when `listen: off` */
  char *host;           /* the parts of listen */
  int port;
  char *token_file;     /* absolute path of the bearer token file, or NULL */
  char **allowed_hosts; /* more names a TCP request's Host may give (NULL-terminated) */
  struct cfg_pos pos;   /* of the http section, for errors found at start-up */
};

/* A ZeroMQ feed whose messages become points in the store (docs/ingest.md). */
enum cfg_feed_socket { CFG_FEED_SUB, CFG_FEED_PULL };
enum cfg_feed_format { CFG_FEED_LINE, CFG_FEED_JSON };

struct cfg_feed {
  char *name;
  struct cfg_pos pos;
  enum cfg_feed_socket socket;  /* default sub */
  bool bind;                    /* bind: instead of connect: */
  char **endpoints;             /* NULL-terminated, at least one */
  char **topics;                /* sub prefixes; NULL: every message */
  enum cfg_feed_format format;  /* default line */
  char *precision;              /* ns (default), us, ms or s */
  char *json_measurement_key, *json_measurement, *json_time_key; /* NULL: defaults */
  char **json_tags, **json_fields, **json_ints;                  /* NULL: none */
  double expect_rate;           /* messages per second; 0: no expectation */
  char *seq_field;              /* NULL: no sequence tracking */
  char **seq_key;               /* tags keying a sequence; NULL: the whole series */
  long long max_gap;            /* missed messages `vigil validate` tolerates; default 0 */
  int quarantine_keep;          /* bad messages kept per reason; default 100 */
  int batch;                    /* points per store write; 0: the default (4096) */
  int hwm;                      /* messages queued in ZeroMQ; 0: the default by socket */
  long long max_series;         /* new series the feed may make; 0: no limit; default 100000 */
};

enum cfg_sync { CFG_SYNC_BATCH, CFG_SYNC_INTERVAL, CFG_SYNC_NEVER };

struct cfg_store_policy {
  char *name;
  int64_t duration_ms;  /* 0 = forever */
  char *measurement;    /* glob, or NULL for every measurement */
  char **tag_keys, **tag_values; /* NULL-terminated, same length; values are globs */
  struct cfg_pos pos;
};

struct cfg_store_rollup {
  char *name, *from, *to; /* from/to: retention policy names */
  int64_t every_ms;
  unsigned aggs;          /* bit (1 << tsdb_agg); 0 = the default set */
  struct cfg_pos pos;
};

struct cfg_store {
  bool enabled;           /* default true */
  char *dir;              /* absolute; default state_dir/store */
  enum cfg_sync sync;     /* default batch */
  int64_t sync_interval_ms; /* default 100ms */
  int64_t block_ms;       /* default 2h */
  uint64_t head_max_points; /* default 8M */
  uint64_t max_series;    /* series the store may hold; 0: no limit; default 1M */
  struct cfg_store_policy *policies;
  size_t n_policies;
  struct cfg_store_rollup *rollups;
  size_t n_rollups;
  struct cfg_pos pos;
};

/* A retention policy the InfluxDB sink creates (or alters) when create_database is on. */
struct cfg_influx_rp {
  char *name;
  int64_t duration_ms;  /* 0: infinite; else at least 1h (InfluxDB's minimum) */
  bool is_default;      /* made the database's default policy */
  struct cfg_pos pos;   /* of the list item */
};

/* sinks.influx: where points go, batching, the spool cap (docs/sinks.md). */
struct cfg_influx_sink {
  bool enabled;             /* the section is present */
  char *url;                /* "http://host:8086" (path kept, no trailing slash) */
  char *db;
  char *retention_policy;   /* rp= of writes; NULL: the database's default policy */
  struct cfg_influx_rp *rps;
  size_t n_rps;
  bool create_database;     /* CREATE DATABASE / RETENTION POLICY at start; default false */
  int64_t batch;            /* points per POST; default 5000 */
  int64_t flush_ms;         /* send a partial batch after this long; default 1s */
  int64_t timeout_ms;       /* per HTTP request; default 10s */
  int64_t spool_max;        /* bytes of on-disk spool; default 1 GiB */
  char *username;           /* NULL: no authentication */
  char *password_file;      /* absolute; set exactly when username is */
  struct cfg_pos pos;       /* of the influx section */
};

struct cfg_sinks {
  struct cfg_influx_sink influx;
};

/* cache.aliases: a short name for a key ("funding_btc: exf.funding_btc"). */
struct cfg_cache_alias {
  char *name, *key;
  struct cfg_pos pos;
};

/* cache.documents.NAME: a named set of keys published as one JSON object (docs/cache.md). */
struct cfg_cache_doc {
  char *name;
  struct cfg_pos pos;
  char **keys;            /* NULL-terminated: keys, aliases or globs */
  char **critical;        /* NULL-terminated: keys or aliases that must be fresh and finite */
  int64_t fresh_ms;       /* a critical key older than this is not ready; default 120s */
  char *ready_flag;       /* the readiness flag's name; default "_ready" */
};

/* The `cache` section: the latest-value cache and its Redis mirror (docs/cache.md). */
struct cfg_cache {
  struct cfg_pos pos;
  bool enabled;           /* default true: every ingested point updates the cache */
  int64_t max_keys;       /* new keys past this are refused (counted); default 1,000,000 */
  struct cfg_cache_alias *aliases;
  size_t n_aliases;
  struct cfg_cache_doc *docs;
  size_t n_docs;
  /* the mirror: NULL redis = none */
  char *redis;            /* as written: "redis://HOST[:PORT][/DB]" or "unix:/PATH[?db=N]" */
  char *redis_host;       /* NULL with a unix socket */
  int redis_port;         /* default 6379 */
  char *redis_unix;       /* the socket's path, or NULL */
  int redis_db;           /* SELECT'ed after connecting; default 0 */
  char *redis_prefix;     /* before every Redis key; default "vigil:" */
  int64_t redis_ttl_ms;   /* EXPIRE on every hash written; 0 (default): none */
  int64_t redis_timeout_ms; /* connect and command timeout; default 2s */
  int64_t redis_batch;    /* keys per pipelined round; default 10000 */
  int64_t redis_interval_ms; /* a round that is not full waits this long after the last; 10ms */
  bool redis_timestamps;  /* also write PREFIX MEAS:ts hashes; default true */
};

/* One calculation of the `compute` section (docs/compute.md). */
struct cfg_calc {
  char *name;
  struct cfg_pos pos;     /* of its key */
  char **argv;            /* NULL-terminated; may hold {date} {out} {prev} {in.NAME} */
  char **deps;            /* NULL-terminated calculation names */
  struct cfg_pos *deps_pos;
  char **inputs;          /* NULL-terminated globs (relative to the config), may hold {date} */
  char **code;            /* NULL-terminated absolute paths hashed as the calculation's code */
  char **tags;            /* NULL-terminated */
  int history;            /* needs its own results of the previous N dates */
  int64_t timeout_ms;     /* per attempt; default 10m */
  int retries;            /* crash retries after the first attempt; default 2 */
  bool highmem;           /* resources: highmem */
  char *fixture;          /* absolute directory of the behavioural fixture, or NULL */
  char *fixture_date;     /* {date} of a fixture run; default 2000-01-01 */
};

struct cfg_compute {
  struct cfg_pos pos;     /* of the section */
  char *dir;              /* the config's directory: cwd of calculations, base of globs */
  char *start;            /* calendar.start, YYYY-MM-DD */
  char *end;              /* calendar.end or NULL (then yesterday, UTC) */
  long long epoch;        /* bump to recompute everything; default 0 */
  int slots[2];           /* worker slots of class standard, highmem; default 2, 1 */
  int64_t memory[2];      /* memory limit of each class (bytes); default 1 GiB, 8 GiB */
  int64_t backoff_ms;     /* first retry delay, doubled each time; default 1s */
  int breaker_min;        /* attempts before the breaker may trip; default 10 */
  double breaker_ratio;   /* share of failing cells that trips it; default 0.1 */
  int schedule_at;        /* `vigil up` catch-up daily at this minute of the day (UTC,
                           * "HH:MM"), or -1 */
  int64_t schedule_every_ms; /* or every this long ("every 10m"); 0: not scheduled */
  char *on_complete;      /* URL POSTed a JSON summary when a scheduled run ends, or NULL */
  struct cfg_calc *calcs;
  size_t n_calcs;
};


/* The `monitor` section (src/config/monitor.c, docs/monitor.md): integrity checks over
 * the latest-value cache, health rules, alert notifiers. */
enum cfg_check_kind {
  CFG_CHECK_EXPECT,     /* keys present and numeric */
  CFG_CHECK_CRITICAL,   /* keys present, numeric and finite */
  CFG_CHECK_STALE,      /* keys (globs) received within warn / critical */
  CFG_CHECK_RANGE,      /* values within [min, max] */
  CFG_CHECK_RATE,       /* a feed's point rate at least min */
  CFG_CHECK_GAPS,       /* a feed's sequence gaps within window */
  CFG_CHECK_SERVICE,    /* a service in one of the states */
  CFG_CHECK_DIVERGENCE, /* the cache against redis or the store */
};
enum cfg_severity { CFG_SEV_INFO, CFG_SEV_WARNING, CFG_SEV_CRITICAL };
struct cfg_check {
  char *name;
  struct cfg_pos pos;
  enum cfg_check_kind kind;
  char **keys;            /* expect/critical/stale/range/divergence: keys, aliases or globs */
  char *target;           /* rate/gaps: feed; service: service; divergence: "redis"|"store" */
  int severity;           /* -1: the kind's default */
  int64_t warn_ms, critical_ms; /* stale; 0: not checked */
  char *restart;          /* stale: the service to restart past critical_ms, or NULL */
  int64_t cooldown_ms;    /* between two restarts; default 5s */
  int max_restarts;       /* then give up; default 3 */
  double min, max;        /* range (NaN: unbounded); rate: min (NaN: the feed's expect) */
  int64_t window_ms;      /* gaps: a gap keeps the alert firing this long; default 5m */
  char **states;          /* service: acceptable states; default ready */
  double tolerance;       /* divergence: absolute; default 0 */
  long long allow;        /* divergence: keys that may differ before it fires; default 3 */
};
enum cfg_notifier_kind { CFG_NOTIFY_WEBHOOK, CFG_NOTIFY_ALERTMANAGER, CFG_NOTIFY_EXEC };
struct cfg_notifier {
  char *name;
  struct cfg_pos pos;
  enum cfg_notifier_kind kind;
  char *url;              /* webhook, alertmanager (base URL) */
  char **argv;            /* exec */
  int min_severity;       /* default warning */
  double rate;            /* sends per second at most; default 1/s */
  int retries;            /* default 3 */
  int64_t timeout_ms;     /* per attempt; default 5s */
  int64_t backoff_ms;     /* first retry delay, doubled; default 500ms */
  bool resolved;          /* also notify resolutions; default true */
};
struct cfg_monitor {
  struct cfg_pos pos;
  int64_t interval_ms;    /* default 60s (document 001) */
  int64_t stalled_ms;     /* no evaluation this long: critical; default 3 intervals */
  int history;            /* evaluations kept; default 100 */
  int alert_history;      /* alerts kept (also on disk); default 1000 */
  bool critical_on_missing_critical; /* default true */
  bool critical_on_backend_lost;     /* default true */
  long long degraded_stale;   /* more stale keys than this: degraded; default 3 */
  long long degraded_missing; /* more missing keys than this: degraded; default 10 */
  struct cfg_check *checks;
  size_t n_checks;
  struct cfg_notifier *notifiers;
  size_t n_notifiers;
};
/* "info", "warning", "critical" */
const char *cfg_severity_name(int s);
/* A deep copy of m (a monitor outlives the config it was opened with), and its free. */
struct cfg_monitor *cfg_monitor_dup(const struct cfg_monitor *m);
void cfg_monitor_free(struct cfg_monitor **m);
/* A bridge from a directory of Arrow IPC scan files to the cache and the store
 * (src/bridge/, docs/bridge.md). */
struct cfg_bridge {
  char *name;
  char *dir;          /* absolute */
  char *glob;         /* default "*.arrow" */
  char *key;          /* the key column */
  char **values;      /* value columns; NULL: every numeric column but scan and time */
  char *scan;         /* the scan-number column */
  char *time;         /* the timestamp column, or NULL (the file's mtime) */
  char *document;     /* the latest scan's cache document, or NULL */
  bool keys;          /* per-asset cache keys */
  bool store;         /* points in the store */
  char *measurement;  /* default: the name */
  int64_t rescan_ms;  /* default 5s */
  int64_t settle_ms;  /* default 2s */
  char *quarantine;   /* absolute; default DIR/quarantine */
};

/* One action of failover.promote / failover.demote (docs/failover.md). */
enum cfg_fo_action_kind { CFG_FO_REDIS_PROMOTE, CFG_FO_REDIS_REPLICATE, CFG_FO_EXEC };

struct cfg_fo_action {
  enum cfg_fo_action_kind kind;
  char *target;          /* redis_*: the replica "host:port" acted on */
  char *primary;         /* redis_replicate: the primary "host:port" to follow */
  char **argv;           /* exec: NULL-terminated */
  int64_t timeout_ms;    /* default 10s */
  struct cfg_pos pos;
};

enum cfg_lease_backend { CFG_LEASE_REDIS, CFG_LEASE_POSTGRES };

/* The `failover` section: a lease on Redis or PostgreSQL decides which node is active. */
struct cfg_failover {
  struct cfg_pos pos;    /* of the section */
  char *node;            /* this node's name */
  enum cfg_lease_backend backend;
  char *address;         /* redis: "host:port" */
  char *redis_host;
  int redis_port;
  char *conninfo;        /* postgres: a libpq connection string */
  char *key;             /* the lease's name (Redis key, row of the lease table); default
                            "vigil:lease" */
  int64_t ttl_ms;        /* default 10s */
  int64_t renew_ms;      /* default ttl/4 */
  int64_t timeout_ms;    /* per lease operation; default renew/2 */
  int64_t margin_ms;     /* safety margin before expiry; default ttl/4 */
  int64_t cooldown_ms;   /* between automatic failovers; default 0 */
  struct cfg_fo_action *promote, *demote;
  size_t n_promote, n_demote;
};

struct vg_config {
  char *path;           /* the file it came from */
  char *state_dir;      /* absolute path; default ./var/vigil */
  struct cfg_http http; /* default listen 127.0.0.1:9464, no token */
  struct cfg_store store; /* the embedded time-series store */
  struct cfg_sinks sinks; /* default: none enabled */
  struct cfg_service *services;
  size_t n_services;
  struct cfg_feed *feeds;
  size_t n_feeds;
  struct cfg_compute *compute; /* NULL without a compute section */
  struct cfg_monitor *monitor; /* NULL without a monitor section */
  struct cfg_cache cache;       /* always there: defaults without a cache section */
  struct cfg_bridge *bridges;
  size_t n_bridges;
  struct cfg_failover *failover; /* NULL without a failover section */
};

/* A deep copy of a failover section (the daemon keeps its own: a reload frees the config
 * it came from); free it with cfg_failover_free. */
struct cfg_failover *cfg_failover_dup(const struct cfg_failover *fo);
void cfg_failover_free(struct cfg_failover *fo);
/* Whether a and b (either may be NULL) describe the same failover, key for key. */
bool cfg_failover_equal(const struct cfg_failover *a, const struct cfg_failover *b);

/* "host:port" into its parts (port 1..65535); 0 or -1. *host is the caller's. */
int cfg_split_hostport(const char *s, char **host, int *port);

/* Loads and validates path. Returns the config, or NULL when the file cannot be read
 * or holds any problem; every problem is appended to diags (which the caller inits
 * with cfg_diags_init and frees with cfg_diags_free). */
struct vg_config *cfg_load(const char *path, struct cfg_diags *diags);

/* Same, from a buffer; name is used in messages and as the config path. */
struct vg_config *cfg_load_string(const char *name, const char *text, size_t len,
                                  struct cfg_diags *diags);

void cfg_free(struct vg_config *cfg);

/* Only the absolute state_dir of the config at path, even when the rest of the file
 * holds problems (the CLI finds a running daemon this way, whatever state the file is
 * in). NULL when the file or its state_dir cannot be read; diags say why. */
char *cfg_load_state_dir(const char *path, struct cfg_diags *diags);

/* A YYYY-MM-DD date from 1970 to 9999 as days since 1970-01-01 (core's vg_date_parse);
 * 0, or -1 when malformed, not a real day or out of that range. */
int cfg_parse_date(const char *s, long *days);

/* Whether the program of s can be executed as vigil would spawn it: a path with a slash
 * against s->cwd (else the current directory), a bare name through the PATH of the
 * service's env (else this process's). 0, or -errno with "cannot execute PROG: why" in
 * msg. A warning, not an error: the program may appear before the service starts. */
int cfg_service_find_cmd(const struct cfg_service *s, char *msg, size_t len);

const struct cfg_service *cfg_find_service(const struct vg_config *cfg, const char *name);
const struct cfg_feed *cfg_find_feed(const struct vg_config *cfg, const char *name);
/* Whether a and b declare the same feeds, key for key, in the same order. */
bool cfg_feeds_equal(const struct vg_config *a, const struct vg_config *b);
const char *cfg_feed_socket_name(enum cfg_feed_socket s);
const char *cfg_feed_format_name(enum cfg_feed_format f);
/* "1000/s", "60/m", "5/h" or a plain number of messages per second. 0 or -1. */
int cfg_parse_rate(const char *s, double *per_sec);

void cfg_diags_init(struct cfg_diags *d);
void cfg_diags_free(struct cfg_diags *d);
void cfg_diag_add(struct cfg_diags *d, struct cfg_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prints each diagnostic as "file:line:col: message\n" to the stream. */
void cfg_diags_print(const struct cfg_diags *d, const char *file, void *stream);

/* A duration in core's grammar ("250ms", "30s", "5m", "1h", "1h30m", "1w", "0") in whole
 * milliseconds (vg_duration_parse); 0 or -1. */
int cfg_parse_duration(const char *s, int64_t *ms);

/* Expands ${VAR} and ${VAR:-default} in s. Returns a new string, or NULL with a
 * message in err (errlen bytes) and the 0-based offset of the problem in *where. */
char *cfg_expand_env(const char *s, char *err, size_t errlen, size_t *where);

/* Signal name ("TERM", "SIGTERM", "15") to number; -1 when unknown. */
int cfg_parse_signal(const char *s);

const char *cfg_probe_kind_name(enum cfg_probe_kind k);
const char *cfg_restart_policy_name(enum cfg_restart_policy p);

#endif
