#!/usr/bin/env bash
# bench/metrics/run.sh BUILD_DIR: how long vigil takes to render a 10,000-series
# registry (the /metrics scrape), in the Prometheus text format and in OpenMetrics,
# with the Python client rendering the same series as the anchor when it is installed.
# Method and figures: docs/BENCHMARKS.md ("Metrics scrape"). Takes a few seconds.
#
# Knobs: BENCH_N (renders per format, default 200), BENCH_N_ANCHOR (default 20).
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no build directory $1" >&2; exit 2; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! cmake --build "$build" --target bench_metrics_scrape >"$log" 2>&1; then
  cat "$log" >&2
  echo "bench: cannot build bench_metrics_scrape in $build" >&2
  exit 1
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")

echo "# metrics scrape: $(date -u '+%Y-%m-%d %H:%M UTC'), nproc $(nproc), Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), build type ${build_type:-none}"
case $build_type in
  Release | RelWithDebInfo) ;;
  *) echo "# note: $build is not an optimised build; configure with -DCMAKE_BUILD_TYPE=RelWithDebInfo" ;;
esac
"$build/bench_metrics_scrape" "${BENCH_N:-200}" || exit 1

py=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import prometheus_client' 2>/dev/null; then
    py=$p
    break
  fi
done
if [ -n "$py" ]; then
  "$py" "$here/anchor.py" "${BENCH_N_ANCHOR:-20}" || exit 1
else
  echo "anchor: prometheus_client not available (Debian: python3-prometheus-client)"
fi
