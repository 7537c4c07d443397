#!/usr/bin/env bash
# The failover example: a Redis lease store and two vigil nodes (a, b) on this host, each
# with its own state_dir and HTTP port. Watch one take over when the other dies:
#
#   examples/failover/run.sh [BUILD_DIR]      (Ctrl-C stops everything)
#
# then, in another terminal, the commands it prints. docs/failover.md explains it all.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
var="$root/var/failover"
mkdir -p "$var"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --dir "$var" --appendonly yes --save '' \
  >"$var/redis.log" 2>&1 &
pids=($!)
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
until redis-cli -p "$rport" ping >/dev/null 2>&1; do sleep 0.1; done
declare -A port
for n in a b; do
  port[$n]=$(free_port)
  NODE=$n PORT=${port[$n]} LEASE=127.0.0.1:$rport VAR=$var \
    "$build/vigil" -c "$here/node.yaml" up >"$var/$n.log" 2>&1 &
  pids+=($!)
  sleep 1
done
v() { echo "NODE=$1 PORT=${port[$1]} LEASE=127.0.0.1:$rport VAR=$var $build/vigil -c $here/node.yaml"; }
cat <<TXT

  vigil failover example: lease on redis 127.0.0.1:$rport, nodes a and b (logs in $var)

  In another terminal:
    $(v a) failover status       who is active, the token, the lease
    $(v b) failover status
    $(v a) failover switchover   hand over gracefully to b (run on the active node)
    kill -9 \$(cat $var/a/vigil.lock)            kill node a: b takes over within ~2.5 s
    tail -f $var/events.log                      the promote/demote hooks
    tail -f $var/a.log $var/b.log                each node's log ("failover: transition")

  Ctrl-C here stops everything.
TXT
wait
