/*
 * job — a request's work run on the libuv thread pool (uv_queue_work) and its answer
 * handed back on the loop thread, so a long store operation (compaction, import, a
 * query of millions of values) never stalls the loop that serves `vigil status`,
 * supervises services and runs timers. The transports (control.c, server.c) send the
 * answer when it comes back, or drop it when their client left (http_job_detach).
 */
#include "http/http.h"

#include <stdlib.h>

struct http_job {
  uv_work_t work;
  void (*run)(void *arg, struct http_response *resp);
  void *arg;
  void (*free_arg)(void *arg);
  void (*done)(void *done_arg, struct http_response *resp);
  void *done_arg;
  struct http_response resp;
};

static void work_cb(uv_work_t *w) {
  struct http_job *j = w->data;
  j->run(j->arg, &j->resp);
}

static void after_cb(uv_work_t *w, int status) {
  struct http_job *j = w->data;
  VG_ASSERT(status == 0); /* never cancelled */
  if (j->done) j->done(j->done_arg, &j->resp);
  if (j->free_arg) j->free_arg(j->arg);
  vg_buf_free(&j->resp.body);
  free(j);
}

struct http_job *http_job_submit(uv_loop_t *loop, void (*run)(void *arg, struct http_response *resp),
                                 void *arg, void (*free_arg)(void *arg),
                                 void (*done)(void *done_arg, struct http_response *resp),
                                 void *done_arg) {
  struct http_job *j = vg_calloc(1, sizeof *j);
  j->run = run;
  j->arg = arg;
  j->free_arg = free_arg;
  j->done = done;
  j->done_arg = done_arg;
  j->resp.status = 200;
  j->resp.content_type = "application/json";
  vg_buf_init(&j->resp.body);
  j->work.data = j;
  int rc = uv_queue_work(loop, &j->work, work_cb, after_cb);
  VG_ASSERT(rc == 0); /* fails only for a NULL callback */
  return j;
}

void http_job_detach(struct http_job *j) {
  if (j) j->done = NULL;
}
