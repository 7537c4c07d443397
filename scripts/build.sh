#!/usr/bin/env bash
# Configures and builds vigil quietly: one line when it worked; on failure, the whole
# build output without make's directory and progress chatter, so errors show in full.
# Usage: scripts/build.sh BUILD_DIR BUILD_TYPE [cmake -D options...]   (V=1: everything;
# SRC=DIR: another source tree, for the test of this script)
set -uo pipefail
dir=$1 type=$2
shift 2
jobs=${JOBS:-$(nproc)}
src=${SRC:-.}
if [ "${V:-0}" = 1 ]; then
  cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE="$type" "$@" && cmake --build "$dir" -j "$jobs"
  exit
fi
mkdir -p "$dir"
log="$dir/build.log"
start=$(date +%s)
if { cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE="$type" "$@" &&
     MAKEFLAGS= cmake --build "$dir" -j "$jobs" -- --no-print-directory; } >"$log" 2>&1; then
  echo "build: $dir ($type) ready in $(( $(date +%s) - start )) s; output in $log"
  exit 0
fi
grep -vE '^(g?make(\[[0-9]+\])?: (Entering|Leaving) directory|\[ *[0-9]+%\] (Building|Linking|Built) )' "$log" >&2
echo "build: $dir ($type) FAILED; full output in $log" >&2
exit 1
