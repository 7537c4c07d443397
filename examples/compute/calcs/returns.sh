#!/bin/sh
# Log returns against the previous date's prices (kept in our own previous output).
set -eu
prev=$2/returns.csv
[ -f "$prev" ] || prev=/dev/null
awk 'FILENAME == ARGV[1] { last[$1] = $2; next }
     { r = ($1 in last) ? log($2 / last[$1]) : 0; printf "%s %.6f %.8f\n", $1, $2, r }' \
  "$prev" "$1/prices.csv" > "$3/returns.csv"
