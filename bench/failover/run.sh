#!/usr/bin/env bash
# bench/failover/run.sh BUILD_DIR: failover time, from the kill -9 of the active to the
# new active's service running, over BENCH_TRIALS (default 50) trials with ttl 2s, side
# by side in one run with Redis Sentinel configured to detect in 2 s
# (down-after-milliseconds 2000) failing over a Redis primary to its replica; trials
# alternate between the two. Prints median, p99 and max of each, the ratios, and the
# overlap check of vigil's trials (none may overlap). Method and figures:
# docs/BENCHMARKS.md ("Failover"). Takes about 15 minutes (most of it Sentinel settling).
set -uo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no build directory $1" >&2; exit 2; }
for p in redis-server redis-sentinel; do
  command -v $p >/dev/null || { echo "bench: $p is not installed (scripts/deps.sh)" >&2; exit 1; }
done
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
echo "# failover: $(date -u '+%Y-%m-%d %H:%M UTC'), nproc $(nproc), Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), build type ${build_type:-none}, $(redis-server --version | cut -d' ' -f1-3)"
VIGIL_BUILD=$build exec python3 "$here/bench.py"
