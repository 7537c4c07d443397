/*
 * The lease on PostgreSQL (libpq). One row per lease in vigil_lease, created if absent:
 *
 *   name text primary key, holder text, token bigint, expires_at timestamptz,
 *   acquired_at timestamptz, last_holder text, handover text, handover_until timestamptz
 *
 * Every expiry is judged by the database's clock (now()), never by a node's: acquiring
 * is one INSERT … ON CONFLICT DO UPDATE … WHERE expires_at <= now() (so two nodes can
 * never both succeed: the row lock orders them); renewing and releasing are UPDATEs
 * that match the node and its token and, for a renewal, an unexpired lease. The token
 * is the row's, incremented by every acquisition.
 *
 * Each statement is sent asynchronously and awaited with poll() for at most `timeout`
 * (connecting too): a database that hangs cannot hold the lease thread past it.
 */
#include "failover/fo_int.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS vigil_lease (name text PRIMARY KEY, holder text, "
    "token bigint NOT NULL DEFAULT 0, expires_at timestamptz, acquired_at timestamptz, "
    "last_holder text, handover text, handover_until timestamptz)";

/* $1 name, $2 node, $3 ttl ms, $4 seen token, $5 cooldown ms */
static const char acquire_sql[] =
    "INSERT INTO vigil_lease AS l (name, holder, token, expires_at, acquired_at, last_holder) "
    "VALUES ($1, $2, $4::bigint + 1, now() + $3::bigint * interval '1 millisecond', now(), $2) "
    "ON CONFLICT (name) DO UPDATE SET holder = $2, "
    "token = greatest(l.token, $4::bigint) + 1, "
    "expires_at = now() + $3::bigint * interval '1 millisecond', acquired_at = now(), "
    "last_holder = $2, handover = NULL, handover_until = NULL "
    "WHERE (l.holder IS NULL OR l.expires_at <= now()) "
    "AND (CASE WHEN l.handover IS NOT NULL AND l.handover_until > now() THEN "
    "       (left(l.handover, 1) = '+' AND substr(l.handover, 2) = $2) OR "
    "       (left(l.handover, 1) = '-' AND substr(l.handover, 2) <> $2) "
    "     ELSE l.last_holder IS NULL OR l.last_holder = $2 OR l.acquired_at IS NULL OR "
    "       l.acquired_at + $5::bigint * interval '1 millisecond' <= now() END) "
    "RETURNING token";

/* $1 name, $2 cooldown ms */
static const char view_sql[] =
    "SELECT CASE WHEN holder IS NOT NULL AND expires_at > now() THEN holder ELSE '' END, token, "
    "CASE WHEN holder IS NOT NULL AND expires_at > now() THEN "
    "  (extract(epoch from expires_at - now()) * 1000)::bigint ELSE -1 END, "
    "CASE WHEN acquired_at IS NULL THEN 0 ELSE greatest(0, (extract(epoch from acquired_at + "
    "  $2::bigint * interval '1 millisecond' - now()) * 1000)::bigint) END "
    "FROM vigil_lease WHERE name = $1";

/* $1 name, $2 node, $3 token, $4 ttl ms */
static const char renew_sql[] =
    "UPDATE vigil_lease SET expires_at = now() + $4::bigint * interval '1 millisecond' "
    "WHERE name = $1 AND holder = $2 AND token = $3::bigint AND expires_at > now() RETURNING 1";

/* $1 name, $2 node, $3 token, $4 handover ('' none), $5 keep ms */
static const char release_sql[] =
    "UPDATE vigil_lease SET holder = NULL, expires_at = now(), "
    "handover = nullif($4, ''), "
    "handover_until = CASE WHEN $4 = '' THEN NULL ELSE now() + $5::bigint * interval '1 millisecond' END "
    "WHERE name = $1 AND holder = $2 AND token = $3::bigint RETURNING 1";

struct pg {
  PGconn *c;
};

static void pdisconnect(struct fo__backend *b) {
  struct pg *p = b->conn;
  if (!p) return;
  if (p->c) PQfinish(p->c);
  free(p);
  b->conn = NULL;
}

/* Waits until the socket is ready for ev or the deadline; 0, or -1 on timeout. */
static int wait_sock(PGconn *c, short ev, uint64_t deadline) {
  uint64_t now = fo__now_ns();
  if (now >= deadline) return -1;
  struct pollfd p = {.fd = PQsocket(c), .events = ev};
  int r;
  do r = poll(&p, 1, (int)((deadline - now) / VG_NS_PER_MS) + 1);
  while (r < 0 && errno == EINTR);
  return r > 0 ? 0 : -1;
}

static PGconn *pconn(struct fo__backend *b, int64_t timeout_ms, char *err, size_t errlen) {
  struct pg *p = b->conn;
  if (p && p->c && PQstatus(p->c) == CONNECTION_OK) return p->c;
  pdisconnect(b);
  uint64_t deadline = fo__now_ns() + (uint64_t)timeout_ms * VG_NS_PER_MS;
  PGconn *c = PQconnectStart(b->cfg->conninfo);
  if (!c) {
    snprintf(err, errlen, "postgres: out of memory");
    return NULL;
  }
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (PQstatus(c) != CONNECTION_BAD) {
    if (st == PGRES_POLLING_OK) break;
    if (wait_sock(c, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline) < 0) {
      snprintf(err, errlen, "postgres: no connection within %lldms", (long long)timeout_ms);
      PQfinish(c);
      return NULL;
    }
    st = PQconnectPoll(c);
    if (st == PGRES_POLLING_FAILED) break;
  }
  if (PQstatus(c) != CONNECTION_OK) {
    snprintf(err, errlen, "postgres: cannot connect: %s", PQerrorMessage(c));
    err[strcspn(err, "\n")] = '\0';
    PQfinish(c);
    return NULL;
  }
  PQsetnonblocking(c, 1);
  p = vg_calloc(1, sizeof *p);
  p->c = c;
  b->conn = p;
  return c;
}

/* Runs one statement with a deadline; the result (PGRES_TUPLES_OK or COMMAND_OK) or NULL
 * with err (the connection is then dropped by the caller). */
static PGresult *run(struct fo__backend *b, int64_t timeout_ms, const char *sql, int n,
                     const char *const *args, char *err, size_t errlen) {
  uint64_t deadline = fo__now_ns() + (uint64_t)timeout_ms * VG_NS_PER_MS;
  PGconn *c = pconn(b, timeout_ms, err, errlen);
  if (!c) return NULL;
  if (!PQsendQueryParams(c, sql, n, NULL, args, NULL, NULL, 0)) goto fail;
  for (;;) {
    int f = PQflush(c);
    if (f < 0) goto fail;
    if (f == 0) break;
    if (wait_sock(c, POLLOUT, deadline) < 0) goto timeout;
  }
  PGresult *res = NULL, *r;
  for (;;) {
    if (!PQconsumeInput(c)) goto fail;
    while (!PQisBusy(c)) {
      r = PQgetResult(c);
      if (!r) goto done;
      if (res) PQclear(res);
      res = r;
    }
    if (wait_sock(c, POLLIN, deadline) < 0) {
      if (res) PQclear(res);
      goto timeout;
    }
  }
done:
  if (!res) goto fail;
  if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
    snprintf(err, errlen, "postgres: %s", PQresultErrorMessage(res));
    err[strcspn(err, "\n")] = '\0';
    PQclear(res);
    return NULL;
  }
  return res;
timeout:
  snprintf(err, errlen, "postgres: no answer within %lldms", (long long)timeout_ms);
  pdisconnect(b);
  return NULL;
fail:
  snprintf(err, errlen, "postgres: %s", PQerrorMessage(c));
  err[strcspn(err, "\n")] = '\0';
  pdisconnect(b);
  return NULL;
}

static bool ensured; /* the table exists (checked once per process) */

static int pacquire(struct fo__backend *b, const struct fo__lease_params *p, uint64_t seen_token,
                    uint64_t *token, struct fo__view *v, char *err, size_t errlen) {
  if (!ensured) {
    PGresult *r = run(b, p->timeout_ms, schema_sql, 0, NULL, err, errlen);
    if (!r) return FO__ERR;
    PQclear(r);
    ensured = true;
  }
  char ttl[32], seen[32], cool[32];
  snprintf(ttl, sizeof ttl, "%lld", (long long)p->ttl_ms);
  snprintf(seen, sizeof seen, "%llu", (unsigned long long)seen_token);
  snprintf(cool, sizeof cool, "%lld", (long long)p->cooldown_ms);
  const char *args[] = {p->key, p->node, ttl, seen, cool};
  PGresult *r = run(b, p->timeout_ms, acquire_sql, 5, args, err, errlen);
  if (!r) return FO__ERR;
  memset(v, 0, sizeof *v);
  if (PQntuples(r) == 1) {
    *token = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    snprintf(v->holder, sizeof v->holder, "%s", p->node);
    v->token = *token;
    v->expires_in_ms = p->ttl_ms;
    return FO__YES;
  }
  PQclear(r);
  const char *vargs[] = {p->key, cool};
  r = run(b, p->timeout_ms, view_sql, 2, vargs, err, errlen);
  if (!r) return FO__ERR;
  if (PQntuples(r) == 1) {
    snprintf(v->holder, sizeof v->holder, "%s", PQgetvalue(r, 0, 0));
    v->token = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
    v->expires_in_ms = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    v->cooldown_ms = v->holder[0] ? 0 : strtoll(PQgetvalue(r, 0, 3), NULL, 10);
  }
  PQclear(r);
  return FO__NO;
}

static int prenew(struct fo__backend *b, const struct fo__lease_params *p, uint64_t token, char *err,
                  size_t errlen) {
  char tok[32], ttl[32];
  snprintf(tok, sizeof tok, "%llu", (unsigned long long)token);
  snprintf(ttl, sizeof ttl, "%lld", (long long)p->ttl_ms);
  const char *args[] = {p->key, p->node, tok, ttl};
  PGresult *r = run(b, p->timeout_ms, renew_sql, 4, args, err, errlen);
  if (!r) return FO__ERR;
  int rc = PQntuples(r) == 1 ? FO__YES : FO__NO;
  PQclear(r);
  return rc;
}

static int prelease(struct fo__backend *b, const struct fo__lease_params *p, uint64_t token,
                    const char *handover, char *err, size_t errlen) {
  char tok[32], keep[32];
  snprintf(tok, sizeof tok, "%llu", (unsigned long long)token);
  snprintf(keep, sizeof keep, "%lld", (long long)p->ttl_ms * 3);
  const char *args[] = {p->key, p->node, tok, handover ? handover : "", keep};
  PGresult *r = run(b, p->timeout_ms, release_sql, 5, args, err, errlen);
  if (!r) return FO__ERR;
  int rc = PQntuples(r) == 1 ? FO__YES : FO__NO;
  PQclear(r);
  return rc;
}

void fo__pg_backend(struct fo__backend *b, const struct cfg_failover *cfg) {
  memset(b, 0, sizeof *b);
  b->name = "postgres";
  b->cfg = cfg;
  b->acquire = pacquire;
  b->renew = prenew;
  b->release = prelease;
  b->disconnect = pdisconnect;
}
