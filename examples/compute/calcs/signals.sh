#!/bin/sh
# Momentum signal for crypto instruments: long, short or flat from the day's return.
set -eu
awk '$1 !~ /USD$/ { s = $3 > 0.001 ? "long" : $3 < -0.001 ? "short" : "flat"; print $1, s }' \
  "$1/returns.csv" > "$2/signals.csv"
