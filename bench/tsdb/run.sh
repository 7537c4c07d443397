#!/usr/bin/env bash
# bench/tsdb/run.sh [--quick] BUILD_DIR: vigil's embedded store side by side with
# InfluxDB 1.x and SQLite on the same generated data, in one run: write throughput (one
# and two writers), bytes per point (random-walk ticks, multi-field feed), last-value
# and one-day range latency. Prints each program's lines, then the table with the
# ratios and the issue's targets (bench/tsdb/report.py). Method, figures and caveats:
# docs/BENCHMARKS.md ("Store"). Takes about 4 minutes; --quick is a smoke run of
# a few seconds per store.
#
# Knobs: BENCH_TSDB_ARGS (extra size flags for all three, e.g. "--per-symbol=100000"),
# BENCH_ONLY (comma-separated: vigil,sqlite,influxdb), BENCH_KEEP=1 (keep the temp dir).
set -uo pipefail

quick=
if [ "${1:-}" = "--quick" ]; then
  quick=1
  shift
fi
if [ $# -ne 1 ]; then
  echo "usage: $0 [--quick] BUILD_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no build directory $1" >&2; exit 2; }
# shellcheck source=bench/lib.sh
. "$here/../lib.sh"

bench_init
log=$BENCH_WORKDIR/cmake-build.log
if ! cmake --build "$build" --target bench_tsdb_gen bench_tsdb_sqlite >"$log" 2>&1; then
  cat "$log" >&2
  echo "bench: cannot build bench_tsdb_gen and bench_tsdb_sqlite in $build" >&2
  exit 1
fi
# bench_tsdb_store links the store engine; a tree without it still measures the anchors.
cmake --build "$build" --target bench_tsdb_store >>"$log" 2>&1 || true

# The same size flags go to every program, so that they all generate the same points.
if [ -n "$quick" ]; then
  sizes=(--per-symbol=5000 --feed=20000 --dense-hz=2)
  reps=(--last-n=200 --range-n=4)
  influx_reps=(--last-n=50 --range-n=2)
else
  sizes=()
  reps=(--last-n=10000 --range-n=20)
  # Python answers a query far slower than C calls a function: fewer repetitions.
  influx_reps=(--last-n=1000 --range-n=10)
fi
# shellcheck disable=SC2206
sizes+=(${BENCH_TSDB_ARGS:-})
only=${BENCH_ONLY:-vigil,sqlite,influxdb}
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")

echo "# store: $(date -u '+%Y-%m-%d %H:%M UTC'), nproc $(nproc), Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), build type ${build_type:-none}, sizes: ${sizes[*]:-defaults}"
case $build_type in
  Release | RelWithDebInfo) ;;
  *) echo "# note: $build is not an optimised build; configure with -DCMAKE_BUILD_TYPE=RelWithDebInfo" ;;
esac

out=$BENCH_WORKDIR/results.txt
: >"$out"
rc=0
# part CMD...: runs one program under bench_run (not in a pipeline, so that the traps
# reach it), then shows its lines and adds them to $out.
part() {
  local p=$BENCH_WORKDIR/part.txt
  bench_run "$@" >"$p" || rc=1
  cat "$p"
  cat "$p" >>"$out"
}
# Each store runs alone, one after the other, on its own scratch dir in the temp dir.
if [[ ,$only, == *,vigil,* ]]; then
  if [ -x "$build/bench_tsdb_store" ]; then
    part "$build/bench_tsdb_store" --dir="$BENCH_WORKDIR" "${sizes[@]}" "${reps[@]}"
  else
    echo "# vigil: not measured: no $build/bench_tsdb_store (the store engine is not in this tree)" | tee -a "$out"
  fi
fi
[ -n "$BENCH_INTERRUPTED" ] && exit 130
if [[ ,$only, == *,sqlite,* ]]; then
  for layout in index clustered; do
    part "$build/bench_tsdb_sqlite" --dir="$BENCH_WORKDIR" --layout=$layout \
      "${sizes[@]}" "${reps[@]}"
    [ -n "$BENCH_INTERRUPTED" ] && exit 130
  done
fi
if [[ ,$only, == *,influxdb,* ]]; then
  part python3 "$here/influx.py" --gen="$build/bench_tsdb_gen" --dir="$BENCH_WORKDIR" \
    "${sizes[@]}" "${influx_reps[@]}"
fi
[ -n "$BENCH_INTERRUPTED" ] && exit 130

echo
python3 "$here/report.py" "$out" || rc=1
echo "# load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$rc"
