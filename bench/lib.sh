# shellcheck shell=bash
# bench/lib.sh: shell helpers shared by bench/*/run.sh (sourced, not run).
#
# Each run.sh works in one fresh temp dir, runs its python harness in the
# background under `timeout`, and on any exit (normal, error, Ctrl-C, SIGTERM)
# stops the harness, then kills whatever process still refers to the temp dir
# (by its command line or its working directory), then removes the dir. The
# harness cleans up after itself; this is the net for when it cannot (SIGKILL).

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# bench_helpers BUILD_DIR OUT_DIR: prints the directory holding bench_stamp and
# bench_floor. Prefers the CMake targets in BUILD_DIR; if that tree does not
# build (or was never configured), compiles the two files itself into OUT_DIR
# with the project's warning flags, so the anchors can be measured regardless.
bench_helpers() {
  local build=$1 out=$2
  if [ -f "$build/CMakeCache.txt" ] &&
     cmake --build "$build" --target bench_stamp bench_floor >"$out/cmake-build.log" 2>&1 &&
     [ -x "$build/bench_stamp" ] && [ -x "$build/bench_floor" ]; then
    echo "$build"
    return
  fi
  echo "bench: building the helpers outside CMake (see $out/cmake-build.log)" >&2
  local cflags=(-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wshadow -Wformat=2
                -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter -Werror)
  cc "${cflags[@]}" -o "$out/bench_stamp" "$BENCH_SRC/stamp.c" &&
    cc "${cflags[@]}" -o "$out/bench_floor" "$BENCH_SRC/restart-latency/floor.c" || return 1
  echo "$out"
}

# kill_leftovers DIR: SIGKILLs every process whose command line or working
# directory mentions DIR, except this shell.
kill_leftovers() {
  local dir=$1 p pid cwd
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = "$$" ] && continue
    cwd=$(readlink "$p/cwd" 2>/dev/null) || cwd=
    if [[ $cwd == "$dir" || $cwd == "$dir"/* ]] ||
       tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$dir"; then
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
}

# bench_run CMD...: runs CMD in the background under a time limit
# ($BENCH_TIMEOUT seconds, default 1500) and returns its exit status. A signal
# to this shell is passed on to CMD, which then cleans up and exits. (In the
# background because bash runs a trap only once the foreground job is over.)
# $BENCH_NICE (e.g. -10, needs root) runs CMD, and so every supervisor and
# child, at that niceness: on a machine busy with other work, it keeps the
# others' CPU hogs from dominating the numbers, equally for every row.
bench_run() {
  nice -n "${BENCH_NICE:-0}" timeout --signal=TERM --kill-after=15 "${BENCH_TIMEOUT:-1500}" "$@" &
  BENCH_CHILD=$!
  # `wait` returns early when a trapped signal arrives; go on waiting until
  # the harness has really finished its cleanup.
  local rc
  while :; do
    wait "$BENCH_CHILD"
    rc=$?
    kill -0 "$BENCH_CHILD" 2>/dev/null || break
  done
  BENCH_CHILD=
  return "$rc"
}

bench_on_signal() {
  echo "bench: interrupted" >&2
  [ -n "${BENCH_CHILD:-}" ] && kill -TERM "$BENCH_CHILD" 2>/dev/null
  BENCH_INTERRUPTED=1
}

bench_cleanup() {
  local rc=$?
  [ -n "${BENCH_CHILD:-}" ] && kill -TERM "$BENCH_CHILD" 2>/dev/null && sleep 1
  if [ -n "${BENCH_WORKDIR:-}" ] && [ -d "$BENCH_WORKDIR" ]; then
    kill_leftovers "$BENCH_WORKDIR"
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
      echo "bench: files kept in $BENCH_WORKDIR" >&2
    else
      rm -rf -- "$BENCH_WORKDIR"
    fi
  fi
  exit "$rc"
}

# bench_init: makes $BENCH_WORKDIR and sets the traps. Call once, first.
# Afterwards $BENCH_INTERRUPTED is non-empty once a signal has arrived.
# shellcheck disable=SC2034
bench_init() {
  BENCH_WORKDIR=$(mktemp -d /tmp/vigil-bench.XXXXXX)
  BENCH_CHILD=
  BENCH_INTERRUPTED=
  trap bench_cleanup EXIT
  trap bench_on_signal INT TERM HUP
}
