#!/bin/sh
# The desk's daily risk report: risk score, VaR and signal per instrument.
set -eu
date=$1 risk=$2 var=$3 sig=$4 out=$5
{
  echo "risk report $date"
  awk 'FILENAME == ARGV[1] { v[$1] = $2; next } FILENAME == ARGV[2] { s[$1] = $2; next }
       { printf "%-7s risk %8s  var95 %12s  %s\n", $1, $2, v[$1], ($1 in s) ? s[$1] : "-" }' \
    "$var/var95.csv" "$sig/signals.csv" "$risk/risk.csv"
} > "$out/report.txt"
