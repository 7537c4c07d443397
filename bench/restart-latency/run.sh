#!/usr/bin/env bash
# bench/restart-latency/run.sh BUILD_DIR: time from SIGKILL of a supervised child
# to its replacement's exec, for vigil, supervisord, monit, runit, s6 and a bare
# fork/exec loop. Method and knobs: docs/BENCHMARKS.md. Called by `make bench`.
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no build directory $1" >&2; exit 2; }
# shellcheck source=bench/lib.sh
. "$here/../lib.sh"

bench_init
bin=$(bench_helpers "$build" "$BENCH_WORKDIR") || { echo "bench: cannot build the helpers" >&2; exit 1; }

echo "# restart latency: $(date -u '+%Y-%m-%d %H:%M UTC'), nproc $(nproc), Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), nice ${BENCH_NICE:-0}"
for p in supervisor monit runit s6; do
  printf '# %s %s\n' "$p" "$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo 'not installed')"
done

if [ -x "$build/vigil" ]; then
  echo "# $("$build/vigil" --version 2>&1 | head -1)"
else
  echo "# vigil: not built ($build/vigil)"
fi

mkdir "$BENCH_WORKDIR/run"
bench_run python3 "$here/restart_latency.py" \
  --workdir "$BENCH_WORKDIR/run" --stamp "$bin/bench_stamp" --floor "$bin/bench_floor" \
  --vigil "$build/vigil" ${BENCH_ONLY:+--only "$BENCH_ONLY"}
rc=$?
# Other work on the machine skews every row; say how busy it was.
echo "# load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "$BENCH_INTERRUPTED" ] && exit 130
exit "$rc"
