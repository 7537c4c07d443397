#!/bin/sh
# Prices in USD: every instrument is quoted in USD today, so this multiplies by the USD
# rate (1.0) — its output is stable when fx moves, which stops the cascade (early cutoff).
set -eu
awk 'NR == FNR { rate[$1] = $2; next } { printf "%s %.6f\n", $1, $2 * rate["USD"] }' \
  "$2/fx.csv" "$1/prices.csv" > "$3/prices.csv"
