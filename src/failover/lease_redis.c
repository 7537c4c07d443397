/*
 * The lease on Redis (hiredis, blocking calls with a socket timeout). Keys, for a lease
 * key K:
 *   K            "NODE TOKEN", set with SET NX PX ttl: the holder; expiry is Redis's
 *   K:token      the last fencing token handed out (no expiry)
 *   K:last       "MS NODE": Redis's time and node of the last acquisition (cooldown)
 *   K:handover   "+NODE" (only NODE may acquire) or "-NODE" (anyone but NODE), left by
 *                a graceful release for 3 × ttl
 * Acquire, renew and release are Lua scripts, so each check-and-set is atomic: renew
 * and release act only while K still holds this node's value (compare-and-set). The
 * store must keep K:token across restarts (appendonly); a node also passes the highest
 * token it has seen, and the next token is above both.
 */
#include "failover/fo_int.h"

#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char acquire_lua[] =
    "local h = redis.call('GET', KEYS[3])\n"
    "local now = redis.call('TIME')\n"
    "local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)\n"
    "local function view(cool)\n"
    "  local cur = redis.call('GET', KEYS[1])\n"
    "  local t = redis.call('GET', KEYS[2]) or '0'\n"
    "  return {0, cur or '', redis.call('PTTL', KEYS[1]), t, cool}\n"
    "end\n"
    "if h then\n"
    "  local mode, who = string.sub(h, 1, 1), string.sub(h, 2)\n"
    "  if (mode == '+' and who ~= ARGV[1]) or (mode == '-' and who == ARGV[1]) then\n"
    "    return view(0)\n"
    "  end\n"
    "elseif redis.call('EXISTS', KEYS[1]) == 0 then\n"
    "  local last = redis.call('GET', KEYS[4])\n"
    "  if last then\n"
    "    local sp = string.find(last, ' ')\n"
    "    local at, who = tonumber(string.sub(last, 1, sp - 1)), string.sub(last, sp + 1)\n"
    "    local left = at + tonumber(ARGV[4]) - ms\n"
    "    if who ~= ARGV[1] and left > 0 then return view(left) end\n"
    "  end\n"
    "end\n"
    "local t = tonumber(redis.call('GET', KEYS[2]) or '0')\n"
    "if tonumber(ARGV[3]) > t then t = tonumber(ARGV[3]) end\n"
    "t = t + 1\n"
    "local v = ARGV[1] .. ' ' .. t\n"
    "if redis.call('SET', KEYS[1], v, 'NX', 'PX', ARGV[2]) then\n"
    "  redis.call('SET', KEYS[2], t)\n"
    "  redis.call('SET', KEYS[4], ms .. ' ' .. ARGV[1])\n"
    "  redis.call('DEL', KEYS[3])\n"
    "  return {t, v, tonumber(ARGV[2]), tostring(t), 0}\n"
    "end\n"
    "return view(0)\n";

static const char renew_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "end\n"
    "return 0\n";

static const char release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  redis.call('DEL', KEYS[1])\n"
    "  if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

/* A connection with connect and read/write timeouts of timeout_ms; NULL with err. */
static redisContext *connect_to(const char *host, int port, int64_t timeout_ms, char *err,
                                size_t errlen) {
  struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  redisContext *c = redisConnectWithTimeout(host, port, tv);
  if (!c || c->err) {
    snprintf(err, errlen, "cannot connect to redis %s:%d: %s", host, port,
             c ? c->errstr : "out of memory");
    if (c) redisFree(c);
    return NULL;
  }
  redisSetTimeout(c, tv);
  return c;
}

static redisContext *conn(struct fo__backend *b, int64_t timeout_ms, char *err, size_t errlen) {
  if (!b->conn) b->conn = connect_to(b->cfg->redis_host, b->cfg->redis_port, timeout_ms, err, errlen);
  return b->conn;
}

static void rdisconnect(struct fo__backend *b) {
  if (b->conn) redisFree(b->conn);
  b->conn = NULL;
}

/* Runs an EVAL; returns the reply or NULL with err (the connection dropped). */
static redisReply *eval(struct fo__backend *b, const struct fo__lease_params *p, const char *script,
                        int nkeys, const char **args, int nargs, char *err, size_t errlen) {
  redisContext *c = conn(b, p->timeout_ms, err, errlen);
  if (!c) return NULL;
  const char *argv[16];
  char nk[8];
  snprintf(nk, sizeof nk, "%d", nkeys);
  int n = 0;
  argv[n++] = "EVAL";
  argv[n++] = script;
  argv[n++] = nk;
  for (int i = 0; i < nargs; i++) argv[n++] = args[i];
  redisReply *r = redisCommandArgv(c, n, argv, NULL);
  if (!r) {
    snprintf(err, errlen, "redis %s: %s", b->cfg->address, c->errstr[0] ? c->errstr : "no reply");
    rdisconnect(b);
    return NULL;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    snprintf(err, errlen, "redis %s: %s", b->cfg->address, r->str);
    freeReplyObject(r);
    return NULL;
  }
  return r;
}

static int64_t reply_int(const redisReply *r) {
  if (r->type == REDIS_REPLY_INTEGER) return r->integer;
  if (r->type == REDIS_REPLY_STRING) return strtoll(r->str, NULL, 10);
  return 0;
}

static int racquire(struct fo__backend *b, const struct fo__lease_params *p, uint64_t seen_token,
                    uint64_t *token, struct fo__view *v, char *err, size_t errlen) {
  char k_token[256], k_hand[256], k_last[256], ttl[32], seen[32], cool[32];
  snprintf(k_token, sizeof k_token, "%s:token", p->key);
  snprintf(k_hand, sizeof k_hand, "%s:handover", p->key);
  snprintf(k_last, sizeof k_last, "%s:last", p->key);
  snprintf(ttl, sizeof ttl, "%lld", (long long)p->ttl_ms);
  snprintf(seen, sizeof seen, "%llu", (unsigned long long)seen_token);
  snprintf(cool, sizeof cool, "%lld", (long long)p->cooldown_ms);
  const char *args[] = {p->key, k_token, k_hand, k_last, p->node, ttl, seen, cool};
  redisReply *r = eval(b, p, acquire_lua, 4, args, 8, err, errlen);
  if (!r) return FO__ERR;
  int rc = FO__ERR;
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 5) {
    snprintf(err, errlen, "redis %s: unexpected reply to the acquire script", b->cfg->address);
    goto out;
  }
  memset(v, 0, sizeof *v);
  const redisReply *cur = r->element[1];
  if (cur->type == REDIS_REPLY_STRING && cur->len > 0) {
    snprintf(v->holder, sizeof v->holder, "%.*s", (int)strcspn(cur->str, " "), cur->str);
    const char *sp = strchr(cur->str, ' ');
    v->token = sp ? strtoull(sp + 1, NULL, 10) : 0;
  } else {
    v->token = (uint64_t)reply_int(r->element[3]);
  }
  v->expires_in_ms = reply_int(r->element[2]);
  if (v->expires_in_ms < 0) v->expires_in_ms = -1;
  v->cooldown_ms = reply_int(r->element[4]);
  int64_t t = reply_int(r->element[0]);
  if (t > 0) {
    *token = (uint64_t)t;
    rc = FO__YES;
  } else {
    rc = FO__NO;
  }
out:
  freeReplyObject(r);
  return rc;
}

static void value_of(const struct fo__lease_params *p, uint64_t token, char *buf, size_t len) {
  snprintf(buf, len, "%s %llu", p->node, (unsigned long long)token);
}

static int rrenew(struct fo__backend *b, const struct fo__lease_params *p, uint64_t token, char *err,
                  size_t errlen) {
  char val[200], ttl[32];
  value_of(p, token, val, sizeof val);
  snprintf(ttl, sizeof ttl, "%lld", (long long)p->ttl_ms);
  const char *args[] = {p->key, val, ttl};
  redisReply *r = eval(b, p, renew_lua, 1, args, 3, err, errlen);
  if (!r) return FO__ERR;
  int rc = reply_int(r) == 1 ? FO__YES : FO__NO;
  freeReplyObject(r);
  return rc;
}

static int rrelease(struct fo__backend *b, const struct fo__lease_params *p, uint64_t token,
                    const char *handover, char *err, size_t errlen) {
  char val[200], keep[32], k_hand[256];
  value_of(p, token, val, sizeof val);
  snprintf(keep, sizeof keep, "%lld", (long long)p->ttl_ms * 3);
  snprintf(k_hand, sizeof k_hand, "%s:handover", p->key);
  const char *args[] = {p->key, k_hand, val, handover ? handover : "", keep};
  redisReply *r = eval(b, p, release_lua, 2, args, 5, err, errlen);
  if (!r) return FO__ERR;
  int rc = reply_int(r) == 1 ? FO__YES : FO__NO;
  freeReplyObject(r);
  return rc;
}

void fo__redis_backend(struct fo__backend *b, const struct cfg_failover *cfg) {
  memset(b, 0, sizeof *b);
  b->name = "redis";
  b->cfg = cfg;
  b->acquire = racquire;
  b->renew = rrenew;
  b->release = rrelease;
  b->disconnect = rdisconnect;
}

int fo__redis_replicaof(const char *target, const char *primary, int64_t timeout_ms, char *err,
                        size_t errlen) {
  char *host = NULL, *phost = NULL;
  int port, pport = 0;
  if (cfg_split_hostport(target, &host, &port) < 0 ||
      (primary && cfg_split_hostport(primary, &phost, &pport) < 0)) {
    snprintf(err, errlen, "bad address");
    free(host);
    return -1;
  }
  int rc = -1;
  redisContext *c = connect_to(host, port, timeout_ms, err, errlen);
  if (!c) goto out;
  char ps[16];
  snprintf(ps, sizeof ps, "%d", pport);
  redisReply *r = primary ? redisCommand(c, "REPLICAOF %s %s", phost, ps)
                          : redisCommand(c, "REPLICAOF NO ONE");
  if (!r) snprintf(err, errlen, "redis %s: %s", target, c->errstr);
  else if (r->type == REDIS_REPLY_ERROR) snprintf(err, errlen, "redis %s: %s", target, r->str);
  else rc = 0;
  if (r) freeReplyObject(r);
  redisFree(c);
out:
  free(host);
  free(phost);
  return rc;
}
