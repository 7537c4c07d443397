/* vigil check: validates a config and prints every problem as file:line:col: message. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "cli/cli.h"
#include "supervise/supervise.h"

int cmd_check(struct cli *cli, int argc, char **argv) {
  static const char usage[] = "vigil check [-c FILE] [FILE]";
  static const char help[] =
      "Validates a config without running anything: YAML syntax, unknown keys (with a\n"
      "suggestion for misspellings), types, durations, probes, unknown dependencies and\n"
      "dependency cycles. Every problem is printed as file:line:col: message.\n"
      "\nexit status: 0 valid, 2 invalid or unreadable.\n";
  int ix = cli_parse(cli, argc, argv, usage, help, NULL, NULL, NULL, NULL);
  if (ix < 0) return ix == -2 ? EXIT_OK : EXIT_USAGE;
  if (argc - ix > 1) {
    fprintf(stderr, "vigil check: expected at most one file\nusage: %s\n", usage);
    return EXIT_USAGE;
  }
  if (ix < argc) cli->config = argv[ix];
  struct vg_config *cfg = cli_load_config(cli);
  if (!cfg) return EXIT_USAGE;
  /* a missing program is a warning: it may be built or installed before `vigil up` */
  for (size_t i = 0; i < cfg->n_services; i++) {
    char msg[1024];
    const struct cfg_service *s = &cfg->services[i];
    if (cfg_service_find_cmd(s, msg, sizeof msg) < 0)
      fprintf(stderr, "%s:%d:%d: warning: service '%s': %s\n", cli->config, s->cmd_pos.line,
              s->cmd_pos.col, s->name, msg);
  }
  /* an active service that takes longer to stop than the fencing leaves is SIGKILLed */
  for (size_t i = 0; cfg->failover && i < cfg->n_services; i++) {
    const struct cfg_service *s = &cfg->services[i];
    int64_t room = cfg->failover->margin_ms / 2;
    if (s->role && strcmp(s->role, "active") == 0 && s->stop.timeout_ms > room)
      fprintf(stderr,
              "%s:%d:%d: warning: service '%s': when this node fences itself it has %lldms "
              "(margin/2) to stop, less than its stop timeout of %lldms: past that it gets "
              "SIGKILL\n",
              cli->config, s->pos.line, s->pos.col, s->name, (long long)room,
              (long long)s->stop.timeout_ms);
  }
  struct rlimit rl;
  size_t need = sv_fd_budget(cfg);
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && need > rl.rlim_max)
    fprintf(stderr,
            "%s: warning: the services need about %zu file descriptors (pipes, log files, "
            "notify sockets, and a reserve for the control socket), more than the limit of "
            "%llu here (ulimit -Hn; LimitNOFILE= under systemd)\n",
            cli->config, need, (unsigned long long)rl.rlim_max);
  printf("%s: ok (%zu service%s)\n", cli->config, cfg->n_services, cfg->n_services == 1 ? "" : "s");
  cfg_free(cfg);
  return EXIT_OK;
}
