#!/bin/sh
# Risk score: volatility in basis points per unit of liquidity score.
set -eu
awk 'NR == FNR { liq[$1] = $2; next } { printf "%s %.2f\n", $1, $2 * 10000 / (liq[$1] > 0 ? liq[$1] : 1) }' \
  "$2/liquidity.csv" "$1/vol.csv" > "$3/risk.csv"
