/*
 * setup.c — `create_database: true`: the database and its retention policies, made to
 * match the config through /query. Every step is idempotent: CREATE DATABASE succeeds
 * when the database exists, and a CREATE RETENTION POLICY refused because a policy of
 * that name exists with other settings becomes an ALTER to the configured ones.
 */
#include "sink/sink_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS INT64_C(86400000)
#define HOUR_MS INT64_C(3600000)

void sink__influxql_duration(int64_t ms, char *buf, size_t len) {
  if (ms <= 0) snprintf(buf, len, "INF");
  else if (ms % DAY_MS == 0) snprintf(buf, len, "%" PRId64 "d", ms / DAY_MS);
  else if (ms % HOUR_MS == 0) snprintf(buf, len, "%" PRId64 "h", ms / HOUR_MS);
  else if (ms % 1000 == 0) snprintf(buf, len, "%" PRId64 "s", ms / 1000);
  else snprintf(buf, len, "%" PRId64 "ms", ms);
}

/* Runs q; logs a refusal. */
static enum sink__outcome run(struct sink__client *c, const char *q, struct sink__reply *r) {
  enum sink__outcome o = sink__client_query(c, q, r);
  VG_DEBUG("influx sink: query", VF_S("q", q), VF_I("status", r->status), VF_S("error", r->msg));
  return o;
}

enum sink__outcome sink__setup(struct sink__client *c, const char *db,
                               const struct cfg_influx_rp *rps, size_t n_rps,
                               struct sink__reply *rep) {
  struct sink__reply r = {0};
  /* Names are limited by the config to [A-Za-z0-9_.-], so quoting needs no escapes. */
  char *q = vg_asprintf("CREATE DATABASE \"%s\"", db);
  enum sink__outcome o = run(c, q, &r);
  if (o == SINK__REJECT)
    VG_ERROR("influx sink: InfluxDB refused to create the database", VF_S("db", db),
             VF_I("status", r.status), VF_S("error", r.msg));
  free(q);
  *rep = r;
  if (o != SINK__OK) return o;
  enum sink__outcome worst = SINK__OK;
  for (size_t i = 0; i < n_rps; i++) {
    char dur[32];
    sink__influxql_duration(rps[i].duration_ms, dur, sizeof dur);
    const char *def = rps[i].is_default ? " DEFAULT" : "";
    q = vg_asprintf("CREATE RETENTION POLICY \"%s\" ON \"%s\" DURATION %s REPLICATION 1%s",
                    rps[i].name, db, dur, def);
    o = run(c, q, &r);
    free(q);
    /* 1.x answers "already exists" for another duration, "conflicts" for another
     * default flag or shard duration; identical settings succeed. */
    if (o == SINK__REJECT && (strstr(r.msg, "already exists") || strstr(r.msg, "conflicts"))) {
      q = vg_asprintf("ALTER RETENTION POLICY \"%s\" ON \"%s\" DURATION %s REPLICATION 1%s",
                      rps[i].name, db, dur, def);
      o = run(c, q, &r);
      free(q);
      if (o == SINK__OK)
        VG_INFO("influx sink: retention policy altered to match the config",
                VF_S("db", db), VF_S("retention_policy", rps[i].name), VF_S("duration", dur));
    }
    *rep = r;
    if (o == SINK__RETRY) return o;
    if (o == SINK__REJECT) {
      VG_ERROR("influx sink: InfluxDB refused a retention policy", VF_S("db", db),
               VF_S("retention_policy", rps[i].name), VF_I("status", r.status),
               VF_S("error", r.msg));
      worst = SINK__REJECT;
    }
  }
  if (worst == SINK__OK)
    VG_INFO("influx sink: database ready", VF_S("db", db), VF_I("retention_policies", n_rps));
  return worst;
}
