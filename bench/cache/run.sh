#!/usr/bin/env bash
# bench/cache/run.sh BUILD_DIR: the latest-value cache's cost per point, end-to-end
# ingest with the cache off / on / mirrored to Redis, and the mirror's keys per second
# against redis-benchmark, in one run. Figures: docs/BENCHMARKS.md ("Cache").
set -uo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no build directory $1" >&2; exit 2; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! cmake --build "$build" --target vigil vigil-feed bench_cache >"$log" 2>&1; then
  cat "$log" >&2
  echo "bench: cannot build vigil, vigil-feed and bench_cache in $build" >&2
  exit 1
fi
for tool in redis-server redis-cli redis-benchmark; do
  command -v $tool >/dev/null || { echo "bench: $tool is missing (scripts/deps.sh)" >&2; exit 1; }
done
exec python3 "$here/cache.py" "$build"
