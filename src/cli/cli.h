/* The verbs of the vigil command (one file each) and what they share. */
#ifndef VIGIL_CLI_H
#define VIGIL_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "config/config.h"

/* Exit codes: 0 ok, 1 runtime failure, 2 usage or config error. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct cli {
  const char *config;   /* -c FILE; default ./vigil.yaml */
  const char *socket;   /* --socket PATH; default state_dir/vigil.sock */
};

/* Each verb gets argv starting at its own name. */
int cmd_up(struct cli *cli, int argc, char **argv);
int cmd_check(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_service_action(struct cli *cli, int argc, char **argv); /* start|stop|restart */
int cmd_logs(struct cli *cli, int argc, char **argv);
int cmd_reload(struct cli *cli, int argc, char **argv);
int cmd_down(struct cli *cli, int argc, char **argv);
int cmd_export(struct cli *cli, int argc, char **argv);
int cmd_store(struct cli *cli, int argc, char **argv);
int cmd_query(struct cli *cli, int argc, char **argv);
int cmd_validate(struct cli *cli, int argc, char **argv);
int cmd_compute(struct cli *cli, int argc, char **argv); /* plan|run|dead|report|history */
int cmd_cache(struct cli *cli, int argc, char **argv);   /* get|doc|docs|stats */
int cmd_health(struct cli *cli, int argc, char **argv);  /* monitor.c */
int cmd_alerts(struct cli *cli, int argc, char **argv);  /* monitor.c */
int cmd_arrow(struct cli *cli, int argc, char **argv);   /* cat */
int cmd_failover(struct cli *cli, int argc, char **argv); /* status|switchover */

/* vigil up's compute (compute_sched.c): with a compute section, registers the
 * vigil_compute_* metrics in reg (read from the ledger by a thread; reg may be NULL);
 * with a schedule, arms a timer on loop that starts `vigil compute run --quiet
 * --notify`. 0 or -1. The timer is closed with the loop's other handles; then
 * cli_compute_schedule_free (before reg is freed). */
typedef struct uv_loop_s uv_loop_t;
struct mt_registry;
int cli_compute_schedule(uv_loop_t *loop, const struct cli *cli, const struct vg_config *cfg,
                         struct mt_registry *reg);
void cli_compute_schedule_free(void);
/* The http compute_grid hook (compute_grid.c); arg is the daemon's sv_supervisor. */
struct vg_buf;
int cli_compute_grid(void *arg, const char *query, struct vg_buf *out);

/* The config's scan bridges (bridges.c), started on loop with the daemon's cache and
 * pipeline. -1 with err when one cannot start (those started are in *out all the same:
 * stop and free them as usual). Stop on the loop thread before its handles are closed,
 * free after the loop has run dry. */
struct cli_bridges;
struct cache;
struct ingest_target;
struct cli_feeds;
int cli_bridges_start(uv_loop_t *loop, const struct vg_config *cfg, struct cache *cache,
                      const struct ingest_target *target, struct mt_registry *reg, struct cli_feeds *feeds,
                      struct cli_bridges **out, char *err, size_t errlen);
/* The daemon's status hook (arg: the bridges): the feeds' part (cli_feeds_status), then
 * the bridges'. */
void cli_bridges_status(void *arg, void *root);
void cli_bridges_stop(struct cli_bridges *bs);
void cli_bridges_free(struct cli_bridges *bs);
/* The supervisor's freshness check (sv_fresh_fn) over the cache (arg): a document's age,
 * else a key's, else -1. */
double cli_fresh_age(void *arg, const char *name);

/* Loads the config named by cli, printing every problem as file:line:col; NULL on error. */
struct vg_config *cli_load_config(const struct cli *cli);

/* Parses the options shared by every verb (-c, --socket, --log-format, --log-level,
 * -h) plus the verb's own, getopt_long style: options before or after the operands,
 * `--opt value` or `--opt=value`, `--` ends the options. Moves the operands, in their
 * order, to the tail of argv and returns the index of the first (argc when none), or
 * -1 after printing usage (exit 2), or -2 after printing help (exit 0). shortopts
 * starting with '+': stop at the first operand and leave it and all after it as they
 * are (a verb with sub-verbs, which parse their own options).
 * For each verb-specific option, on_opt(c, optarg, arg) is called; it returns 0 or -1. */
struct option;
int cli_parse(struct cli *cli, int argc, char **argv, const char *usage, const char *help,
              const char *shortopts, const struct option *longopts,
              int (*on_opt)(int c, const char *value, void *arg), void *arg);

/* Opens the store of cfg (store_open.c); background runs its maintenance thread.
 * 0, or a negative errno after printing why (-EBUSY: a daemon has it). */
struct tsdb;
int cli_store_open(const struct vg_config *cfg, bool background, struct tsdb **out);
/* The same without the maintenance thread, and silent when the store is busy (-EBUSY:
 * the store's own lock says another process, a daemon, has it). */
int cli_store_try_open(const struct vg_config *cfg, struct tsdb **out);

/* Store inputs of the compute engine (store.c): fingerprints of a selector's points in a
 * time range, read through the daemon or, without one, from the store opened for each
 * call. cli_store_input is a cp_store_input_fn; the session borrows cfg. */
struct cli_store_session;
struct cli_store_session *cli_store_session_new(struct cli *cli, struct vg_config *cfg);
int cli_store_input(void *arg, const char *selector, int64_t from_ns, int64_t to_ns,
                    uint8_t out[16]);
void cli_store_session_free(struct cli_store_session *ss);

/* ---- talking to the daemon (client.c) ---- */
struct cli_reply {
  int status;   /* HTTP status, or 0 when the daemon could not be reached */
  char *body;
  size_t len;
};
/* Sends METHOD PATH to the daemon of cli's config. When stream_fd >= 0 the body is
 * copied there as it arrives (logs -f) instead of being collected. Returns 0, or -1
 * after printing why the daemon cannot be reached. */
int cli_request(const struct cli *cli, const char *method, const char *path, int stream_fd,
                struct cli_reply *reply);
/* The same with a request body; with quiet_absent, returns -3 without a message when
 * no daemon listens (no socket, or nobody accepting on it). */
int cli_request_ex(const struct cli *cli, const char *method, const char *path, const void *body,
                   size_t body_len, int stream_fd, bool quiet_absent, struct cli_reply *reply);
/* The same with a 200's body handed to fn(arg, data, len) as it arrives (fn returns 0,
 * or -1 to stop) instead of written to a file descriptor. */
typedef int (*cli_write_fn)(void *arg, const char *data, size_t len);
int cli_request_to(const struct cli *cli, const char *method, const char *path, cli_write_fn fn,
                   void *arg, struct cli_reply *reply);
void cli_reply_free(struct cli_reply *r);
/* Appends "?key=v" (or "&key=v" once b holds a '?') to the path in b, v percent-encoded;
 * nothing when v is NULL. */
struct vg_buf;
void cli_url_param(struct vg_buf *b, const char *key, const char *v);
/* The control socket of the daemon cli names: --socket, or STATE_DIR/vigil.sock from the
 * config's state_dir alone (a file being edited still finds its daemon). NULL when the
 * config cannot be read (its problems printed when print_errors). Caller frees. */
char *cli_daemon_socket(const struct cli *cli, bool print_errors);
/* The control socket path for cfg. */
char *cli_socket_path(const struct cli *cli, const struct vg_config *cfg);

/* ---- the daemon's feeds (feeds.c) ---- */
/* Where ingested points go (forward.c): the store and the InfluxDB sink, if any, as
 * the ingest pipeline's target. */
struct cli_forward;
struct ingest_target;
struct tsdb;
struct mt_registry;
struct cache;
int cli_forward_open(const struct vg_config *cfg, struct tsdb *store, struct cache *cache,
                     struct mt_registry *reg, struct cli_forward **out, char *err, size_t errlen);
struct ingest_target cli_forward_target(struct cli_forward *f);
void cli_forward_close(struct cli_forward *f);

struct cli_feeds;
struct ingest_target;
struct mt_registry;
/* Starts every feed of cfg, writing through target, and registers their metrics in
 * reg. 0, or -1 with a message in err (then no feed runs). */
int cli_feeds_start(const struct vg_config *cfg, const struct ingest_target *target,
                    struct mt_registry *reg, struct cli_feeds **out, char *err, size_t errlen);
/* Stops every feed (each writes what it has batched) and frees fs; the registry must
 * render no more (its collector reads the feeds). NULL is fine. */
void cli_feeds_stop(struct cli_feeds *fs);
/* The running feeds (borrowed) in *out; returns how many. */
struct ingest_feed;
size_t cli_feeds_list(struct cli_feeds *fs, struct ingest_feed ***out);
/* The monitor of cfg->monitor (monitor.c); *out stays NULL without that section.
 * 0, or -1 with err. */
struct mon;
struct sv_supervisor;
int cli_monitor_open(uv_loop_t *loop, struct sv_supervisor *sv, const struct vg_config *cfg,
                     struct cache *cache, struct cli_feeds *feeds, struct tsdb *store,
                     struct mt_registry *reg, struct mon **out, char *err, size_t errlen);
/* The firing alerts as GET /api/v1/alerts answers them (a json_t *), for the events
 * stream (http_hooks.alerts); arg: the monitor. */
void *cli_monitor_alerts(void *arg);
/* The status hook: adds "feeds" (when there are any) to the status document root (a
 * json_t *). arg is the struct cli_feeds. */
void cli_feeds_status(void *arg, void *root);

#endif
