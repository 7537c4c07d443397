#!/bin/sh
# FX moves: the EUR rate and whether it moved more than 0.5% (fx desk only).
set -eu
awk '$1 == "EUR" { print "EUR", $2 }' "$1/fx.csv" > "$2/fx_moves.csv"
