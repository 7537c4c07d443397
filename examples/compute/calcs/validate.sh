#!/bin/sh
# Root data check: copies FILE to OUT/NAME when every line is "SYMBOL NUMBER" with a
# positive number; a malformed file is a data error (exit 65: not retried).
set -eu
file=$1 out=$2 name=$3
awk 'NF != 2 || $2 !~ /^[0-9.]+$/ || $2 <= 0 { print "bad line " NR ": " $0 > "/dev/stderr"; bad = 1 }
     END { exit bad ? 65 : 0 }' "$file" || exit $?
cp "$file" "$out/$name"
