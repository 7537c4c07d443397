#!/bin/sh
# Traded notional per instrument: USD price times volume.
set -eu
awk 'NR == FNR { p[$1] = $2; next } { printf "%s %.2f\n", $1, p[$1] * $2 }' \
  "$1/prices.csv" "$2/volumes.csv" > "$3/notional.csv"
