#!/bin/sh
# Liquidity score: orders of magnitude of notional, rounded (moves rarely).
set -eu
awk '{ printf "%s %d\n", $1, int(log($2) / log(10)) }' "$1/notional.csv" > "$2/liquidity.csv"
