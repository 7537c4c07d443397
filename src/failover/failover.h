/*
 * failover — active/standby across hosts on a fenced lease (docs/failover.md).
 *
 * One lease, on Redis or PostgreSQL, names the node that is active. This node's lease
 * thread acquires it (SET NX PX / an INSERT … ON CONFLICT whose expiry the database
 * judges) or renews it every `renew`, each operation bounded by `timeout`; every
 * acquisition increments a fencing token. The loop side (this API) turns the thread's
 * results into the node's role through promote and demote actions, opens and closes
 * the supervisor's role gate (services with `role: active` run only on the holder,
 * `role: standby` only elsewhere), and fences itself: a holder that has not renewed by
 * ttl − margin stops its active services, SIGKILLs what is left at ttl − margin/2, and a
 * fencer process of its own does the same if vigil itself is stopped or killed.
 *
 * Every function runs on the loop thread.
 */
#ifndef VIGIL_FAILOVER_H
#define VIGIL_FAILOVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "core/core.h"
#include "supervise/supervise.h"

struct fo_failover;
struct mt_registry;

enum fo_role { FO_NONE, FO_STANDBY, FO_PROMOTING, FO_ACTIVE, FO_DEMOTING };
const char *fo_role_name(enum fo_role r);

/* A finished transition, for the log line, the API and the transition callback (the
 * monitor's alert). Strings live until the callback returns. */
struct fo_transition {
  const char *node;
  const char *from, *to;   /* "active", "standby", "none" */
  const char *reason;
  uint64_t token;          /* the fencing token of the term begun or ended */
  double at;               /* unix time the transition finished */
  int64_t duration_ms;     /* from the decision to services started / stopped */
};
typedef void (*fo_transition_fn)(void *arg, const struct fo_transition *t);

/* Creates the failover of cfg (cfg->failover must be set; copied) and installs the role
 * gate on sv. Starts nothing. 0, or -errno with a message in err. */
int fo_create(uv_loop_t *loop, const struct vg_config *cfg, struct sv_supervisor *sv,
              struct fo_failover **out, char *err, size_t errlen);
/* Starts the fencer process and the lease thread. Call before sv_start_all. 0 or -errno. */
int fo_start(struct fo_failover *fo, char *err, size_t errlen);
/* The supervisor's observer calls this for every state change (the fencer's list of
 * active process groups, and the wait for services to stop). */
void fo_service_changed(struct fo_failover *fo, const struct sv_service *svc);
/* Called on every transition (one callback; NULL to remove). */
void fo_set_transition_cb(struct fo_failover *fo, fo_transition_fn fn, void *arg);
/* Stops the lease thread after releasing the lease (for a clean shutdown, after every
 * service has stopped), then the fencer. Blocks at most one lease timeout. */
void fo_stop(struct fo_failover *fo);
void fo_destroy(struct fo_failover *fo);

/* The status as the JSON object of GET /api/v1/failover (docs/api.md). */
void fo_status_json(struct fo_failover *fo, struct vg_buf *out);
/* A graceful handover: the active node stops its active services, runs its demote
 * actions and releases the lease for `to` (NULL: any other node). 0, or -1 with why in
 * err (not active, no such node, already handing over). */
int fo_switchover(struct fo_failover *fo, const char *to, char *err, size_t errlen);

/* Metrics (vigil_failover_*; docs/metrics.md). */
void fo_metrics_register(struct fo_failover *fo, struct mt_registry *r);
void fo_metrics_describe(struct mt_registry *r);

#endif
