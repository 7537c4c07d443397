/* Option parsing shared by every verb, and config loading with printed diagnostics. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core.h"

enum { OPT_SOCKET = 1000, OPT_LOG_FORMAT, OPT_LOG_LEVEL };

static const struct option common_long[] = {
    {"config", required_argument, NULL, 'c'},
    {"socket", required_argument, NULL, OPT_SOCKET},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},
};

int cli_parse(struct cli *cli, int argc, char **argv, const char *usage, const char *help,
              const char *shortopts, const struct option *longopts,
              int (*on_opt)(int c, const char *value, void *arg), void *arg) {
  /* a leading '+': stop at the first operand (a sub-verb, which parses the rest) */
  bool stop_at_operand = shortopts && shortopts[0] == '+';
  if (stop_at_operand) shortopts++;
  size_t n_own = 0;
  while (longopts && longopts[n_own].name) n_own++;
  size_t n_common = VG_ARRAY_LEN(common_long);
  struct option *all = vg_calloc(n_own + n_common + 1, sizeof *all);
  memcpy(all, common_long, sizeof common_long);
  if (n_own) memcpy(all + n_common, longopts, n_own * sizeof *all);
  /* '-': operands come back as option 1 in their place, so the order is ours to keep
   * whatever POSIXLY_CORRECT says; ':': a missing value is reported as such */
  char *shorts = vg_asprintf("-:c:h%s", shortopts ? shortopts : "");
  char **operands = vg_calloc((size_t)argc + 1, sizeof *operands);
  int n_ops = 0;

  enum vg_log_format fmt = vg_log_get_format();
  enum vg_log_level lvl = VG_LOG_INFO;
  int rc = 0;
  optind = 0; /* 0, not 1: a full reset of getopt's state between calls */
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, shorts, all, NULL)) != -1) {
    switch (c) {
    case 1:
      if (stop_at_operand) {
        optind--; /* leave it, and everything after it, to the sub-verb */
        goto done;
      }
      operands[n_ops++] = optarg;
      break;
    case 'c': cli->config = optarg; break;
    case OPT_SOCKET: cli->socket = optarg; break;
    case OPT_LOG_FORMAT:
      if (vg_log_parse_format(optarg, &fmt) < 0) {
        fprintf(stderr, "vigil %s: --log-format must be logfmt or json, not '%s'\n", argv[0], optarg);
        rc = -1;
      }
      break;
    case OPT_LOG_LEVEL:
      if (vg_log_parse_level(optarg, &lvl) < 0) {
        fprintf(stderr, "vigil %s: --log-level must be debug, info, warn or error, not '%s'\n",
                argv[0], optarg);
        rc = -1;
      }
      break;
    case 'h':
      printf("usage: %s\n\n%s", usage, help);
      rc = -2;
      break;
    case ':':
      fprintf(stderr, "vigil %s: option '%s' needs a value\n", argv[0], argv[optind - 1]);
      rc = -1;
      break;
    case '?':
      if (optopt && strchr(argv[optind - 1], '=') && strncmp(argv[optind - 1], "--", 2) == 0)
        fprintf(stderr, "vigil %s: option '%.*s' takes no value\n", argv[0],
                (int)(strchr(argv[optind - 1], '=') - argv[optind - 1]), argv[optind - 1]);
      else
        fprintf(stderr, "vigil %s: unknown option '%s'\n", argv[0], argv[optind - 1]);
      rc = -1;
      break;
    default:
      if (!on_opt || on_opt(c, optarg, arg) < 0) rc = -1;
    }
    if (rc < 0) break;
  }
  /* after "--" (or the end): what is left are operands, in order */
  while (rc == 0 && optind < argc) operands[n_ops++] = argv[optind++];
  /* the operands go to the tail of argv, in their order; the caller reads argv[ix..argc) */
  if (rc == 0) {
    for (int i = 0; i < n_ops; i++) argv[argc - n_ops + i] = operands[i];
    optind = argc - n_ops;
  }
done:
  free(operands);
  free(all);
  free(shorts);
  if (rc == -1) fprintf(stderr, "usage: %s\n", usage);
  if (rc < 0) return rc;
  vg_log_setup(fmt, lvl);
  return optind;
}

struct vg_config *cli_load_config(const struct cli *cli) {
  struct cfg_diags d;
  cfg_diags_init(&d);
  struct vg_config *cfg = cfg_load(cli->config, &d);
  if (!cfg) cfg_diags_print(&d, cli->config, stderr);
  cfg_diags_free(&d);
  return cfg;
}
