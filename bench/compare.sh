#!/usr/bin/env bash
# bench/compare.sh BEFORE_BUILD AFTER_BUILD: the same benchmarks on two builds of vigil
# (say, the commit before a refactor and after it), in one run, interleaved round by
# round (before, after, before, after), so that both see the same machine: restart
# latency (vigil's rows of bench/restart-latency), store write throughput and size
# (vigil's rows of bench/tsdb), and ingest end to end (bench/ingest: points/s into the
# store, and CPU per point per thread from threads.py, which varies far less than
# the rates on a shared machine). Prints each program's own lines under a heading.
#
# Knobs: ROUNDS (default 2), MESSAGES (ingest, per run, default 2000000).
set -uo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BEFORE_BUILD AFTER_BUILD" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
before=$(cd "$1" && pwd) || exit 2
after=$(cd "$2" && pwd) || exit 2
rounds=${ROUNDS:-2}
messages=${MESSAGES:-2000000}

echo "# compare: $(date -u '+%Y-%m-%d %H:%M UTC'), nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# before: $before ($("$before/vigil" --version 2>&1 | head -1))"
echo "# after:  $after ($("$after/vigil" --version 2>&1 | head -1))"
for round in $(seq "$rounds"); do
  for side in before after; do
    build=$before
    [ "$side" = after ] && build=$after
    echo
    echo "## round $round, $side: restart latency"
    BENCH_ONLY=vigil "$here/restart-latency/run.sh" "$build" 2>&1 | grep -E '^\||median'
    echo "## round $round, $side: store"
    BENCH_ONLY=vigil "$here/tsdb/run.sh" "$build" 2>&1 | grep -vE '^bench:|^$'
    echo "## round $round, $side: ingest, CPU per point per thread (1 publisher, 1 point/message)"
    python3 "$here/ingest/threads.py" "$build" "$messages" 1 2>&1 | tail -n +1
    echo "## round $round, $side: ingest end to end"
    BENCH_MESSAGES=$messages BENCH_REPEAT=3 BENCH_INFLUX_POINTS=0 python3 "$here/ingest/ingest.py" "$build" 2>&1 |
      grep -E 'vigil|zeromq|^#'
  done
done
