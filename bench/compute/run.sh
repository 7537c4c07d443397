#!/usr/bin/env bash
# bench/compute/run.sh BUILD_DIR: vigil's compute engine against ninja on equivalent
# graphs — plan with everything up to date vs `ninja -n`, and the scheduling overhead of
# 10,000 trivial cells vs `ninja -j2`. Method and figures: docs/BENCHMARKS.md
# ("Compute engine"). The full-size plan benchmark builds 365,000 cells once with each
# tool first: it takes several minutes. Knobs: see bench.py.
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no build directory $1" >&2; exit 2; }
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
echo "# compute engine: $(date -u '+%Y-%m-%d %H:%M UTC'), nproc $(nproc), Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), build type ${build_type:-none}, ninja $(ninja --version 2>/dev/null || echo none)"
exec python3 "$(dirname "$0")/bench.py" "$build"
