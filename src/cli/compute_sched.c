/*
 * compute.schedule under `vigil up`: a libuv timer that starts `vigil compute run
 * --quiet --notify` at the configured time of day (UTC) or interval. The run is a
 * separate process, so a slow or crashing calculation can never stall the supervisor's
 * loop; its run.lock makes an overlapping start give way, and the supervisor's SIGCHLD
 * handler reaps it like any unknown child. The schedule is read once at start-up.
 *
 * Since the run is another process, the daemon learns its results from the ledger: the
 * vigil_compute_* metrics are read from STATE_DIR/compute/ledger.db by a thread of
 * src/compute/metrics.c, registered whenever the config has a compute section, so a run
 * started by hand shows on /metrics as well.
 */
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "cli/cli.h"
#include "compute/compute.h"
#include "core/core.h"

extern char **environ;

static struct {
  uv_timer_t timer;
  char *exe, *config;
  int at;           /* minute of the day, or -1 */
  int64_t every_ms;
  struct cp_metrics *metrics;
} sched;

/* Milliseconds until the next HH:MM (UTC). */
static uint64_t until_next(int at) {
  int64_t now_ms = vg_wall_ns() / VG_NS_PER_MS;
  int64_t day = 86400000, target = now_ms - now_ms % day + (int64_t)at * 60000;
  if (target <= now_ms) target += day;
  return (uint64_t)(target - now_ms);
}

static void fire(uv_timer_t *t) {
  char *argv[] = {sched.exe, "-c", sched.config, "compute", "run", "--quiet", "--notify", NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, sched.exe, NULL, NULL, argv, environ);
  if (rc != 0) VG_ERROR("compute schedule: cannot start the run", VF_S("error", strerror(rc)));
  else VG_INFO("compute schedule: run started", VF_I("pid", pid));
  if (sched.at >= 0) uv_timer_start(t, fire, until_next(sched.at), 0);
}

int cli_compute_schedule(uv_loop_t *loop, const struct cli *cli, const struct vg_config *cfg,
                         struct mt_registry *reg) {
  const struct cfg_compute *cp = cfg->compute;
  if (cp && reg && !sched.metrics) sched.metrics = cp_metrics_register(reg, cfg->state_dir);
  if (!cp || (cp->schedule_at < 0 && cp->schedule_every_ms == 0)) return 0;
  char *exe = realpath("/proc/self/exe", NULL);
  char *config = realpath(cli->config, NULL);
  if (!exe || !config) {
    free(exe);
    free(config);
    return -1;
  }
  sched.exe = exe;
  sched.config = config;
  sched.at = cp->schedule_at;
  sched.every_ms = cp->schedule_every_ms;
  uv_timer_init(loop, &sched.timer);
  if (sched.at >= 0) uv_timer_start(&sched.timer, fire, until_next(sched.at), 0);
  else uv_timer_start(&sched.timer, fire, (uint64_t)sched.every_ms, (uint64_t)sched.every_ms);
  VG_INFO("compute schedule armed", VF_I("at_minute", sched.at), VF_I("every_ms", sched.every_ms));
  return 0;
}

void cli_compute_schedule_free(void) {
  cp_metrics_free(sched.metrics);
  sched.metrics = NULL;
  vg_freep(&sched.exe);
  vg_freep(&sched.config);
}
