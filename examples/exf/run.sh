#!/usr/bin/env bash
# Document 001's indicator set under the monitor (make run-exf). Starts a Redis for the
# cache's mirror when redis-server is installed (said plainly when it is not: the stack
# then runs without the mirror and its divergence check), then the stack in the
# foreground. Ctrl-C stops both.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export VIGIL_BUILD="$build"
export VIGIL_STATE_DIR="$root/var/exf"
mkdir -p "$VIGIL_STATE_DIR"
config="$here/vigil.yaml"
redis_pid=
if command -v redis-server >/dev/null; then
  port=${EXF_REDIS_PORT:-6399}
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$VIGIL_STATE_DIR" --logfile "$VIGIL_STATE_DIR/redis.log" &
  redis_pid=$!
  trap '[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null' EXIT
  export EXF_REDIS="redis://127.0.0.1:$port/0"
  echo "exf: Redis for the cache's mirror on 127.0.0.1:$port (pid $redis_pid)"
else
  echo "exf: redis-server is not installed: running WITHOUT the Redis mirror and its divergence check"
  grep -v '# redis$' "$config" >"$VIGIL_STATE_DIR/vigil-noredis.yaml"
  config="$VIGIL_STATE_DIR/vigil-noredis.yaml"
fi
v="$build/vigil -c $config"
cat <<TXT

  exf: document 001's 28 indicators published by vigil-feed, cached, mirrored, monitored

  In another terminal:
    $v health                    healthy / degraded / critical, with every reason
    $v alerts --all              alerts, firing and resolved (they survive a restart)
    $v cache doc exf_latest      the latest values, _staleness_s and _acb_ready
    $v cache get funding_btc vix
    $v stop publisher            stop the data: warning at 30 s, critical at 60 s; the
                                 monitor restarts it (3 attempts, 5 s apart)
    redis-cli -p ${EXF_REDIS_PORT:-6399} hgetall vigil:exf
    cat var/exf/alerts.jsonl     what the exec notifier received

TXT
"$build/vigil" up -c "$config"
