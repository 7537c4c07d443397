#!/bin/sh
# EWMA volatility (RiskMetrics, lambda 0.94), carried from the previous date.
set -eu
prev=$2/vol.csv
[ -f "$prev" ] || prev=/dev/null
awk 'FILENAME == ARGV[1] { var[$1] = $2 * $2; next }
     { v = ($1 in var) ? 0.94 * var[$1] + 0.06 * $3 * $3 : $3 * $3; printf "%s %.8f\n", $1, sqrt(v) }' \
  "$prev" "$1/returns.csv" > "$3/vol.csv"
