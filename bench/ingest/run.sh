#!/usr/bin/env bash
# bench/ingest/run.sh BUILD_DIR: end-to-end points per second from vigil-feed publishers
# into vigil's store, side by side with a bare ZeroMQ sink (the limit) and with
# InfluxDB (influxd) ingesting the same lines, with 1 and 4 publishers.
# Method and figures: docs/BENCHMARKS.md ("Ingest"). Takes a minute or two.
#
# Knobs: BENCH_MESSAGES (default 2000000), BENCH_LINES (points per message, default 1),
# BENCH_INFLUX_POINTS (default 1000000), BENCH_SYNC (store sync policy, default interval).
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no build directory $1" >&2; exit 2; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! cmake --build "$build" --target vigil vigil-feed bench_zmq_sink >"$log" 2>&1; then
  cat "$log" >&2
  echo "bench: cannot build vigil, vigil-feed and bench_zmq_sink in $build" >&2
  exit 1
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
case $build_type in
  Release | RelWithDebInfo) ;;
  *) echo "# note: $build is not an optimised build; configure with -DCMAKE_BUILD_TYPE=RelWithDebInfo" ;;
esac
exec python3 "$here/ingest.py" "$build"
