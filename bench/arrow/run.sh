#!/usr/bin/env bash
# bench/arrow/run.sh BUILD_DIR: decoding a 500-asset x 50-column eigenvalue scan (one
# Arrow IPC file written by apache-arrow JS, bench/arrow/gen.mjs) with vigil's reader
# (bench_arrow_decode) and with the official JS implementation in Node (decode.mjs),
# side by side in one run, both from memory; prints both and the ratios. Method and
# figures: docs/BENCHMARKS.md ("Arrow scan decoding"). Knobs: BENCH_N (default 2000),
# BENCH_ASSETS (500), BENCH_COLUMNS (50).
set -uo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "$1" 2>/dev/null && pwd) || { echo "bench: no build directory $1" >&2; exit 2; }
command -v node >/dev/null || { echo "bench: node is not installed (scripts/deps.sh)" >&2; exit 1; }
[ -d "$root/node_modules/apache-arrow" ] || { echo "bench: node_modules/apache-arrow missing (scripts/deps.sh)" >&2; exit 1; }
cmake --build "$build" --target bench_arrow_decode >/dev/null || exit 1
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=${BENCH_N:-2000}
echo "# arrow decode: $(date -u '+%Y-%m-%d %H:%M UTC'), nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg), build type ${build_type:-none}, node $(node --version), apache-arrow $(node -p "require('$root/node_modules/apache-arrow/package.json').version")"
(cd "$root" && node "$here/gen.mjs" "$tmp/scan.arrow" --assets "${BENCH_ASSETS:-500}" --columns "${BENCH_COLUMNS:-50}") || exit 1
vigil=$("$build/bench_arrow_decode" "$tmp/scan.arrow" "$n") || exit 1
js=$(cd "$root" && node "$here/decode.mjs" "$tmp/scan.arrow" "$n") || exit 1
python3 - "$vigil" "$js" <<'PY'
import json, sys
v, j = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{'':24}{'vigil (C)':>14}{'apache-arrow JS':>18}{'JS / vigil':>12}")
for k, what in (("decode", "decode (open+batches)"), ("read_all", "decode + read values")):
    for s in ("median", "p99"):
        print(f"{what + ' ' + s:24}{v[k][s]:>11.1f} us{j[k][s]:>15.1f} us{j[k][s] / v[k][s]:>11.1f}x")
PY
