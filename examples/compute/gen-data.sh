#!/bin/sh
# Writes 60 days of stand-in market data (prices, volumes, fx) under DIR (default
# ./data), one directory per date, deterministic: the real feed data arrives later.
#   gen-data.sh [DIR] [START] [DAYS]
set -eu
dir=${1:-$(dirname "$0")/data}
start=${2:-2026-01-01}
days=${3:-60}
mkdir -p "$dir"
i=0
while [ "$i" -lt "$days" ]; do
  d=$(date -u -d "$start + $i days" +%F)
  mkdir -p "$dir/$d"
  awk -v i="$i" 'BEGIN {
    srand(1000 + i); n = split("BTC ETH SOL EURUSD GBPUSD", inst, " ")
    base["BTC"] = 60000; base["ETH"] = 3000; base["SOL"] = 150; base["EURUSD"] = 1.08; base["GBPUSD"] = 1.27
    for (k = 1; k <= n; k++) {
      s = inst[k]; p = base[s] * (1 + 0.05 * sin(i / 7 + k) + 0.01 * (rand() - 0.5))
      printf "%s %.6f\n", s, p > "'"$dir/$d"'/prices.csv"
      printf "%s %d\n", s, 1000 + int(rand() * 9000) > "'"$dir/$d"'/volumes.csv"
    }
    printf "USD 1.0\nEUR %.4f\n", 1.08 + 0.01 * sin(i / 5) > "'"$dir/$d"'/fx.csv"
  }'
  i=$((i + 1))
done
echo "wrote $days days of data from $start under $dir"
