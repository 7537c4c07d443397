#!/bin/sh
# One-day parametric 95% value at risk per unit held: 1.645 sigma times price.
set -eu
awk 'NR == FNR { p[$1] = $2; next } { printf "%s %.4f\n", $1, 1.645 * $2 * p[$1] }' \
  "$2/prices.csv" "$1/vol.csv" > "$3/var95.csv"
