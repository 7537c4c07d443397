/*
 * The monitor's routes. /api/v1/health answers from the last evaluation; with
 * ?evaluate=1 it evaluates first, on the loop's thread pool (an evaluation reads Redis
 * and the store), and answers when done.
 */
#include "http/monitor_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/monitor.h"

static void error(struct http_response *resp, int status, const char *msg) {
  resp->status = status;
  vg_buf_reset(&resp->body);
  vg_buf_puts(&resp->body, "{\"error\":");
  vg_buf_json_str(&resp->body, msg);
  vg_buf_puts(&resp->body, "}\n");
}

static void job_run(void *arg, struct http_response *resp) {
  mon_evaluate_now(arg);
  mon_health_json(arg, &resp->body);
}

static void job_free(void *arg) { mon_release(arg); }

static bool flag(const char *query, const char *name) {
  char v[16];
  return http_query_get(query, name, v, sizeof v) == 0 &&
         (!strcmp(v, "1") || !strcmp(v, "true") || !v[0]);
}

void monitor_api_handle(struct mon *m, const struct http_request *req, struct http_response *resp) {
  if (!m) {
    error(resp, 404, "no monitor: the config has no monitor section");
    return;
  }
  if (!strcmp(req->path, "/api/v1/health")) {
    if (flag(req->query, "evaluate")) {
      if (!resp->defer_loop) {
        mon_sample_services(m);
        mon_evaluate_now(m);
      } else {
        mon_sample_services(m); /* here, on the loop thread, which owns the services */
        mon_hold(m);            /* released when the job is done, on the loop */
        resp->job = http_job_submit(resp->defer_loop, job_run, m, job_free, resp->defer_done,
                                    resp->defer_arg);
        return;
      }
    }
    mon_health_json(m, &resp->body);
    return;
  }
  char sev[32];
  int s = -1;
  if (http_query_get(req->query, "severity", sev, sizeof sev) == 0) {
    s = mon_severity_parse(sev);
    if (s < 0) {
      error(resp, 400, "severity must be info, warning or critical");
      return;
    }
  }
  mon_alerts_json(m, flag(req->query, "all"), s, &resp->body);
}
