#!/usr/bin/env bash
# bench/monitor/run.sh BUILD_DIR: one evaluation of the monitor's checks (document 001's
# expected and critical keys, a staleness and a range check over every key) over a
# latest-value cache of 100,000 keys, side by side with its floor — the same number of
# bare walks over the cache (cache_each with a callback that does nothing). Target:
# one evaluation < 2 ms. Method and figures: docs/BENCHMARKS.md ("Monitor").
#
# Knobs: BENCH_KEYS (default 100000), BENCH_RUNS (default 50; medians are printed).
set -uo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no build directory $1" >&2; exit 2; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! cmake --build "$build" --target bench_monitor_eval >"$log" 2>&1; then
  cat "$log" >&2
  echo "bench: cannot build bench_monitor_eval in $build" >&2
  exit 1
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
echo "# monitor: $(date -u '+%Y-%m-%d %H:%M UTC'), nproc $(nproc), Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), build type ${build_type:-none}"
"$build/bench_monitor_eval" "${BENCH_KEYS:-100000}" "${BENCH_RUNS:-50}"
