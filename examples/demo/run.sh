#!/usr/bin/env bash
# Starts the demo stack in the foreground (make run). Ctrl-C stops it all cleanly.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
config=${2:-examples/demo/vigil.yaml}
root=$(cd "$(dirname "$0")/../.." && pwd)
export VIGIL_BUILD="$build"
export VIGIL_STATE_DIR="$root/var/demo"
mkdir -p "$VIGIL_STATE_DIR"
# the bearer token for the API over HTTP (all but /metrics, /healthz, /readyz): made once, readable by its owner only
if [ ! -s "$VIGIL_STATE_DIR/token" ]; then
  (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$VIGIL_STATE_DIR/token")
fi
http="127.0.0.1:${DEMO_HTTP_PORT:-9464}"
v="$build/vigil -c $config"
cat <<TXT

  vigil demo: a market-data pipeline of stand-in processes ($config)

    feed-kraken, feed-oanda  feeds, gated by a tcp and an http readiness probe
    bridge                   starts once both feeds are ready; ready when it logs a line
    strategy                 notify readiness + a 3 s watchdog
    reporter                 exec probe: ready once its log file has content
    flaky                    crashes every 1.5 s, backs off, goes fatal after 3 restarts
    history                  imports two days of ticks into the store, then exits
    redis                    the Redis the latest-value cache is mirrored to

  In another terminal:
    $v status              every service, its state and why
    $v logs feed-kraken -f follow a service's output
    $v restart strategy    restart one service
    $v start flaky         give the fatal one another chance
    $v reload              re-read the config (edit it first)
    curl --unix-socket var/demo/vigil.sock http://vigil/api/v1/status

  The store (a few seconds after start, once history has run):
    $v store stats                                   series, points, bytes per point, policies
    $v query tick --last                             the last tick of every series
    $v query tick,sym=BTC-USD --field price --from -1h --every 5m --agg max
    $v query tick,sym=EUR-USD --field price --from -2d --every 6h --format csv

  The latest-value cache, mirrored to the demo's Redis (port ${DEMO_REDIS_PORT:-16379}):
    $v cache get btc 'fx,*.price'                    latest values, their age and source
    $v cache doc kraken_latest                       a document with ages and a readiness flag
    $v cache stats                                   keys and the Redis mirror
    redis-cli -p ${DEMO_REDIS_PORT:-16379} HGETALL vigil:kraken_ticks

  Over HTTP on $http:
    curl http://$http/metrics             Prometheus metrics
    curl http://$http/readyz              200 when the stack is ready, 503 and why otherwise
    curl -H "Authorization: Bearer \$(cat var/demo/token)" \\
         "http://$http/api/v1/query?q=tick,sym=ETH-USD&field=price&from=-10m"
    curl -X POST -H "Authorization: Bearer \$(cat var/demo/token)" \\
         http://$http/api/v1/services/strategy/restart

  State, logs and the control socket: $VIGIL_STATE_DIR
  Ctrl-C stops everything in reverse dependency order.

TXT
exec "$build/vigil" up -c "$config"
